//! Protobuf requests to domain values, and entries to protobuf; the
//! domain's values as typed messages are [`crate::messages`].

use ledger_core::{Entry, Event, EventId, EventSignature, Hash, Seq, SignedEvent, UnixMicros};
use review::{Payload, ReviewId};
use tonic::Status;

use crate::pb;

/// Parses a ledger id in hex.
pub fn ledger_id(text: &str) -> Result<Hash, Status> {
    Hash::from_hex("ledger_id", text).map_err(|e| Status::invalid_argument(e.to_string()))
}

/// Parses an event id in hex.
pub fn event_id(text: &str) -> Result<EventId, Status> {
    EventId::from_hex(text).map_err(|e| Status::invalid_argument(format!("event_id: {e}")))
}

/// Parses a review id.
pub fn review_id(text: &str) -> Result<ReviewId, Status> {
    ReviewId::new(text).map_err(|e| Status::invalid_argument(format!("review: {e}")))
}

/// Parses an optional `YYYY-MM-DD`, defaulting to today (UTC) by the server's clock.
pub fn date(field: &str, text: &str) -> Result<review::Date, Status> {
    if text.is_empty() {
        let now = (ledger_store::system_clock())();
        return review::Date::of_micros(now)
            .ok_or_else(|| Status::internal("the server clock is out of range"));
    }
    review::Date::parse(field, text).map_err(|e| Status::invalid_argument(e.to_string()))
}

/// The domain signed event from its protobuf form, refusing bad lengths.
pub fn signed_event(e: Option<pb::SignedEvent>) -> Result<SignedEvent, Status> {
    let e = e.ok_or_else(|| Status::invalid_argument("event: missing"))?;
    if e.event.len() > SignedEvent::MAX_LEN {
        return Err(Status::invalid_argument(format!(
            "event.event: {} bytes is over the limit of {} bytes",
            e.event.len(),
            SignedEvent::MAX_LEN
        )));
    }
    let signature = EventSignature::decode(&e.event, &e.signature).map_err(|err| {
        Status::invalid_argument(format!(
            "event.signature: {} bytes are not the signature this event's version takes (64 ed25519 bytes for version 1, a passkey assertion for version 2): {err}",
            e.signature.len()
        ))
    })?;
    Ok(SignedEvent {
        event: e.event,
        signature,
    })
}

/// The protobuf form of a signed event, for clients.
pub fn signed_event_pb(s: &SignedEvent) -> pb::SignedEvent {
    pb::SignedEvent {
        event: s.event.clone(),
        signature: s.signature.encode(),
    }
}

/// A receipt as returned to the client.
pub fn receipt(r: &ledger_store::Receipt) -> pb::AppendResponse {
    pb::AppendResponse {
        seq: r.seq.0,
        entry_hash: r.hash.0.to_vec(),
        received_micros: r.received.0,
        checkpoint: r.checkpoint.clone(),
    }
}

/// An RFC 3339 UTC time with microseconds.
pub fn rfc3339(t: UnixMicros) -> String {
    jiff::Timestamp::from_microsecond(t.0)
        .map(|ts| ts.to_string())
        .unwrap_or_else(|_| format!("{}us", t.0))
}

/// The payload as JSON text, in the domain's own field names and order.
pub fn payload_json(p: &Payload) -> String {
    let text = match p {
        Payload::Genesis(x) => serde_json::to_string(x),
        Payload::Propose(x) => serde_json::to_string(x),
        Payload::Approve(x) => serde_json::to_string(x),
        Payload::Rotate(x) => serde_json::to_string(x),
        Payload::Schedule(x) => serde_json::to_string(x),
        Payload::Circulate(x) => serde_json::to_string(x),
        Payload::Open(x) => serde_json::to_string(x),
        Payload::Input(x) => serde_json::to_string(x),
        Payload::ActionStatus(x) => serde_json::to_string(x),
        Payload::Decide(x) => serde_json::to_string(x),
        Payload::Act(x) => serde_json::to_string(x),
        Payload::Assess(x) => serde_json::to_string(x),
        Payload::Objective(x) => serde_json::to_string(x),
        Payload::Close(x) => serde_json::to_string(x),
        Payload::Sign(x) => serde_json::to_string(x),
        Payload::ActionUpdate(x) => serde_json::to_string(x),
        Payload::MeetingTimes(x) => serde_json::to_string(x),
    };
    text.unwrap_or_else(|_| "null".into())
}

/// The payload of a stored entry's event as JSON, as [`payload_json`]
/// writes it; null when the entry, its event or its payload does not decode.
pub fn entry_payload_json(entry: &[u8]) -> serde_json::Value {
    let payload = Entry::decode(entry)
        .and_then(|e| Event::decode(&e.event))
        .ok()
        .and_then(|ev| Payload::decode(&ev.kind, &ev.payload).ok());
    payload
        .and_then(|p| serde_json::from_str(&payload_json(&p)).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// A stored entry, raw and decoded. The bytes come from the store, which
/// checked them when they were admitted; a decode failure here is damage.
pub fn stored_entry(seq: Seq, bytes: Vec<u8>) -> Result<pb::StoredEntry, Status> {
    let damaged = |e: ledger_core::Error| Status::data_loss(format!("stored entry {seq}: {e}"));
    let entry = Entry::decode(&bytes).map_err(damaged)?;
    let event = Event::decode(&entry.event).map_err(damaged)?;
    let hash = ledger_core::hash_entry_bytes(&bytes);
    let (review, payload_json, summary, payload) =
        match Payload::decode(&event.kind, &event.payload) {
            Ok(p) => (
                p.review()
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_default(),
                payload_json(&p),
                review::describe::payload(&p),
                Some(crate::messages::payload(&p)),
            ),
            // A kind this version does not know still travels, undecoded.
            Err(e) => (String::new(), "null".into(), e.to_string(), None),
        };
    #[allow(deprecated)] // `payload_json`, for the clients that still read it
    let stored = pb::StoredEntry {
        seq: seq.0,
        entry_hash: hash.0.to_vec(),
        received_micros: entry.received.0,
        prev_hash: entry.prev.0.to_vec(),
        event: Some(pb::DecodedEvent {
            version: u32::from(event.version),
            ledger_id: event.ledger.to_hex(),
            event_id: event.id.to_hex(),
            author: event.author.to_text(),
            time_micros: event.time.0,
            kind: event.kind.as_str().to_owned(),
            review,
            payload_json,
            summary,
            payload,
        }),
        entry: bytes,
    };
    Ok(stored)
}

/// The CloudEvents `source` of every feed message of `ledger`.
pub fn feed_source(ledger: &Hash) -> String {
    format!("review-ledger:{}", ledger.to_hex())
}

/// The feed message of a stored entry, with CloudEvents-style attributes;
/// `source` is [`feed_source`] of its ledger.
pub fn feed_message(source: &str, e: pb::StoredEntry) -> pb::FeedMessage {
    let (id, kind, time, subject) = match &e.event {
        Some(ev) => (
            ev.event_id.clone(),
            ev.kind.as_str(),
            ev.time_micros,
            ev.review.clone(),
        ),
        None => (String::new(), "", 0, String::new()),
    };
    pb::FeedMessage {
        id,
        source: source.to_owned(),
        r#type: format!("org.reviewledger.v1.{kind}"),
        time: rfc3339(UnixMicros(time)),
        recordedtime: rfc3339(UnixMicros(e.received_micros)),
        sequence: e.seq.to_string(),
        subject,
        entry: Some(e),
    }
}
