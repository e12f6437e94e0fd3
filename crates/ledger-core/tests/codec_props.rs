//! Properties of the canonical codec, over arbitrary events and entries.
//!
//! Round trips, refusal of trailing and missing bytes, no panics on hostile
//! input, and canonicality: one value has one byte string, so a mutated
//! encoding either fails to decode or decodes to a different value whose
//! encoding is exactly the mutated bytes. A hand-written encoder that follows
//! docs/FORMAT.md checks the layout on every generated value.

use ledger_core::{
    Author, Checkpoint, Entry, Error, Event, EventId, EventKind, EventSignature, FORMAT_VERSION,
    Hash, KeyPair, MAX_PAYLOAD, PASSKEY_FORMAT_VERSION, PublicKey, Seq, Signature, SignedEvent,
    UnixMicros, VerifiedEntry, codec,
};
use proptest::prelude::*;
use proptest::sample::Index;
use serde::{Deserialize, Serialize};

const KIND_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789.-";

// ---------------------------------------------------------------------------
// Strategies.

fn kind_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(KIND_ALPHABET), 1..=EventKind::MAX_LEN)
        .prop_map(|b| String::from_utf8(b).unwrap())
}

fn kind() -> impl Strategy<Value = EventKind> {
    kind_text().prop_map(|k| EventKind::new(k).unwrap())
}

fn hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}

fn signature() -> impl Strategy<Value = Signature> {
    (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(a, b)| {
        let mut s = [0; 64];
        s[..32].copy_from_slice(&a);
        s[32..].copy_from_slice(&b);
        Signature(s)
    })
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..200)
}

fn event_with_version(version: impl Strategy<Value = u16>) -> impl Strategy<Value = Event> {
    (
        version,
        hash(),
        any::<[u8; 16]>(),
        any::<[u8; 32]>(),
        any::<i64>(),
        kind(),
        payload(),
    )
        .prop_map(|(version, ledger, id, author, time, kind, payload)| Event {
            version,
            ledger,
            id: EventId(id),
            author: Author::Ed25519(PublicKey(author)),
            time: UnixMicros(time),
            kind,
            payload,
        })
}

fn event() -> impl Strategy<Value = Event> {
    event_with_version(Just(FORMAT_VERSION))
}

/// Event bytes as stored: usually a real event, sometimes arbitrary bytes
/// (an entry does not decode its event; verification does).
fn event_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => event().prop_map(|e| e.encode()),
        // Arbitrary bytes, except those claiming version 2: a passkey
        // signature, not 64 bytes, follows those (tested in `passkeys`).
        1 => prop::collection::vec(any::<u8>(), 0..200)
            .prop_filter("claims version 2", |b| !b.starts_with(&[2, 0])),
    ]
}

fn signed_event() -> impl Strategy<Value = SignedEvent> {
    (event_bytes(), signature()).prop_map(|(event, signature)| SignedEvent {
        event,
        signature: EventSignature::Ed25519(signature),
    })
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        any::<u64>(),
        hash(),
        any::<i64>(),
        event_bytes(),
        signature(),
    )
        .prop_map(|(seq, prev, received, event, signature)| Entry {
            seq: Seq(seq),
            prev,
            received: UnixMicros(received),
            event,
            signature: EventSignature::Ed25519(signature),
        })
}

// ---------------------------------------------------------------------------
// The layout of docs/FORMAT.md, written out by hand.

fn bytes_field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn manual_event(e: &Event) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&e.version.to_le_bytes());
    out.extend_from_slice(&e.ledger.0);
    out.extend_from_slice(&e.id.0);
    out.extend_from_slice(&e.author.key().0);
    out.extend_from_slice(&e.time.0.to_le_bytes());
    bytes_field(&mut out, e.kind.as_str().as_bytes());
    bytes_field(&mut out, &e.payload);
    out
}

fn manual_signed_event(s: &SignedEvent) -> Vec<u8> {
    let mut out = Vec::new();
    bytes_field(&mut out, &s.event);
    out.extend_from_slice(&s.signature.ed25519().unwrap().0);
    out
}

fn manual_entry(e: &Entry) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&e.seq.0.to_le_bytes());
    out.extend_from_slice(&e.prev.0);
    out.extend_from_slice(&e.received.0.to_le_bytes());
    bytes_field(&mut out, &e.event);
    out.extend_from_slice(&e.signature.ed25519().unwrap().0);
    out
}

/// An event with an unchecked kind, to produce encodings the real type refuses.
#[derive(Serialize, Deserialize)]
struct RawEvent {
    version: u16,
    ledger: [u8; 32],
    id: [u8; 16],
    author: [u8; 32],
    time: i64,
    kind: String,
    payload: Vec<u8>,
}

fn raw(e: &Event, kind: String) -> RawEvent {
    RawEvent {
        version: e.version,
        ledger: e.ledger.0,
        id: e.id.0,
        author: e.author.key().0,
        time: e.time.0,
        kind,
        payload: e.payload.clone(),
    }
}

fn invalid_kind() -> impl Strategy<Value = String> {
    let bad_char = any::<char>().prop_filter("outside the kind alphabet", |c| {
        !(c.is_ascii() && KIND_ALPHABET.contains(&(*c as u8)))
    });
    prop_oneof![
        Just(String::new()),
        prop::collection::vec(prop::sample::select(KIND_ALPHABET), 65..100)
            .prop_map(|b| String::from_utf8(b).unwrap()),
        (
            prop::collection::vec(prop::sample::select(KIND_ALPHABET), 0..20),
            bad_char,
            prop::collection::vec(prop::sample::select(KIND_ALPHABET), 0..20),
        )
            .prop_map(|(a, c, b)| format!(
                "{}{c}{}",
                String::from_utf8(a).unwrap(),
                String::from_utf8(b).unwrap()
            )),
    ]
}

fn mutate(bytes: &[u8], at: Index, xor: u8) -> (usize, Vec<u8>) {
    let i = at.index(bytes.len());
    let mut out = bytes.to_vec();
    out[i] ^= xor;
    (i, out)
}

/// Every decoder of the crate that takes bytes from outside.
fn decode_everything(bytes: &[u8]) {
    let _ = Event::decode(bytes);
    let _ = SignedEvent::decode(bytes);
    let _ = Entry::decode(bytes);
    let _ = VerifiedEntry::from_bytes(bytes);
    let _ = SignedEvent {
        event: bytes.to_vec(),
        signature: EventSignature::Ed25519(Signature([0; 64])),
    }
    .verify();
    let _ = codec::decode::<Hash>("hash", bytes);
    let text = String::from_utf8_lossy(bytes);
    let _ = Checkpoint::parse_body(&text);
    let _ = Checkpoint::verify(&text, &KeyPair::from_seed([1; 32]).public());
    let _ = PublicKey::from_text(&text);
}

// ---------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn events_round_trip_in_the_documented_layout(e in event()) {
        let bytes = e.encode();
        prop_assert_eq!(&bytes, &manual_event(&e));
        prop_assert_eq!(Event::decode(&bytes).unwrap(), e);
    }

    #[test]
    fn other_versions_encode_but_are_refused(e in event_with_version(any::<u16>())) {
        let bytes = e.encode();
        prop_assert_eq!(&bytes, &manual_event(&e));
        let decoded = Event::decode(&bytes);
        if e.version == FORMAT_VERSION {
            prop_assert_eq!(decoded.unwrap(), e);
        } else if e.version == PASSKEY_FORMAT_VERSION {
            // Version 2 is signed by a passkey: 32 key bytes where its
            // credential belongs do not decode as one.
            prop_assert!(decoded.is_err());
        } else {
            let is_version_error =
                matches!(decoded, Err(Error::Field { field: "event.version", .. }));
            prop_assert!(is_version_error);
        }
    }

    #[test]
    fn signed_events_round_trip_in_the_documented_layout(s in signed_event()) {
        let bytes = s.encode();
        prop_assert_eq!(&bytes, &manual_signed_event(&s));
        prop_assert_eq!(SignedEvent::decode(&bytes).unwrap(), s);
    }

    #[test]
    fn entries_round_trip_in_the_documented_layout(e in entry()) {
        let bytes = e.encode();
        prop_assert_eq!(&bytes, &manual_entry(&e));
        prop_assert_eq!(Entry::decode(&bytes).unwrap(), e.clone());
        prop_assert_eq!(
            e.hash().0,
            blake3::derive_key("review-ledger/v1 entry", &bytes)
        );
    }

    #[test]
    fn one_trailing_byte_is_refused(e in entry(), ev in event(), extra in any::<u8>()) {
        let entry_bytes = [e.encode(), vec![extra]].concat();
        let refused = matches!(
            Entry::decode(&entry_bytes),
            Err(Error::TrailingBytes { what: "entry", extra: 1 })
        );
        prop_assert!(refused);
        let event_bytes = [ev.encode(), vec![extra]].concat();
        let refused = matches!(
            Event::decode(&event_bytes),
            Err(Error::TrailingBytes { what: "event", extra: 1 })
        );
        prop_assert!(refused);
        let signed_bytes = [e.signed_event().encode(), vec![extra]].concat();
        let refused = matches!(
            SignedEvent::decode(&signed_bytes),
            Err(Error::TrailingBytes { what: "signed event", extra: 1 })
        );
        prop_assert!(refused);
    }

    #[test]
    fn every_truncation_is_refused(e in entry(), ev in event(), cut in any::<Index>()) {
        let bytes = e.encode();
        prop_assert!(Entry::decode(&bytes[..cut.index(bytes.len())]).is_err());
        let bytes = ev.encode();
        prop_assert!(Event::decode(&bytes[..cut.index(bytes.len())]).is_err());
    }

    #[test]
    fn kinds_outside_the_alphabet_are_refused(e in event(), bad in invalid_kind()) {
        // With a valid kind the unchecked mirror encodes exactly as an event.
        prop_assert_eq!(codec::encode(&raw(&e, e.kind.as_str().to_owned())), e.encode());
        let bytes = codec::encode(&raw(&e, bad.clone()));
        prop_assert!(Event::decode(&bytes).is_err(), "kind {:?} was accepted", bad);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(&bytes);
    }

    #[test]
    fn damaged_encodings_never_panic(
        e in entry(),
        at in any::<Index>(),
        junk in prop::collection::vec(any::<u8>(), 1..16),
    ) {
        // Overwrite a stretch of a real encoding, so that decoding gets far.
        let mut bytes = e.encode();
        let i = at.index(bytes.len());
        let end = (i + junk.len()).min(bytes.len());
        bytes[i..end].copy_from_slice(&junk[..end - i]);
        decode_everything(&bytes);
        decode_everything(&e.event);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn a_mutated_entry_is_refused_or_is_another_canonical_entry(
        e in entry(),
        at in any::<Index>(),
        xor in 1u8..,
    ) {
        let good = e.encode();
        let (i, bad) = mutate(&good, at, xor);
        if let Ok(v) = Entry::decode(&bad) {
            prop_assert_eq!(v.encode(), bad, "byte {} decoded non-canonically", i);
            prop_assert_ne!(v, e);
        }
    }

    #[test]
    fn a_mutated_event_is_refused_or_is_another_canonical_event(
        e in event(),
        at in any::<Index>(),
        xor in 1u8..,
    ) {
        let good = e.encode();
        let (i, bad) = mutate(&good, at, xor);
        if let Ok(v) = Event::decode(&bad) {
            prop_assert_eq!(v.encode(), bad, "byte {} decoded non-canonically", i);
            prop_assert_ne!(v, e);
        }
    }
}

proptest! {
    // Each case signs and verifies, which is slower in a debug build.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_change_to_a_signed_event_breaks_it(
        seed in any::<[u8; 32]>(),
        e in event(),
        at in any::<Index>(),
        xor in 1u8..,
    ) {
        let key = KeyPair::from_seed(seed);
        let e = Event { author: Author::Ed25519(key.public()), ..e };
        let signed = e.sign(&key);
        prop_assert_eq!(signed.verify().unwrap(), e);
        let (_, bad) = mutate(&signed.encode(), at, xor);
        let verdict = SignedEvent::decode(&bad).and_then(|s| s.verify());
        prop_assert!(verdict.is_err());
    }
}

// ---------------------------------------------------------------------------
// Size limits, at their edges.

fn event_with_payload(len: usize) -> Event {
    Event {
        version: FORMAT_VERSION,
        ledger: Hash::ZERO,
        id: EventId([0x11; 16]),
        author: Author::Ed25519(KeyPair::from_seed([1; 32]).public()),
        time: UnixMicros(1_764_547_200_000_000),
        kind: EventKind::new("a".repeat(EventKind::MAX_LEN)).unwrap(),
        payload: vec![0xab; len],
    }
}

#[test]
fn the_largest_event_fits_every_limit() {
    let key = KeyPair::from_seed([1; 32]);
    let e = event_with_payload(MAX_PAYLOAD);
    let signed = e.sign(&key);
    assert_eq!(signed.verify().unwrap(), e);
    let signed_bytes = signed.encode();
    assert!(signed_bytes.len() <= SignedEvent::MAX_LEN);
    assert_eq!(SignedEvent::decode(&signed_bytes).unwrap(), signed);
    let entry = Entry {
        seq: Seq(u64::MAX),
        prev: Hash([0xff; 32]),
        received: UnixMicros(i64::MAX),
        event: signed.event,
        signature: signed.signature,
    };
    let bytes = entry.encode();
    assert!(bytes.len() <= Entry::MAX_LEN);
    VerifiedEntry::from_bytes(&bytes).unwrap();
}

#[test]
fn oversized_values_are_refused() {
    let key = KeyPair::from_seed([1; 32]);
    let e = event_with_payload(MAX_PAYLOAD + 1);
    let err = Event::decode(&e.encode()).unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { what: "event.payload", len, limit: MAX_PAYLOAD } if len == MAX_PAYLOAD + 1),
        "{err}"
    );
    // A correctly signed oversized event is still refused.
    assert!(e.sign(&key).verify().is_err());
    for len in [SignedEvent::MAX_LEN + 1, Entry::MAX_LEN + 1] {
        let junk = vec![0; len];
        let err = SignedEvent::decode(&junk).unwrap_err();
        assert!(
            matches!(err, Error::TooLarge { .. }) == (len > SignedEvent::MAX_LEN),
            "{err}"
        );
        let err = Entry::decode(&junk).unwrap_err();
        assert!(
            matches!(err, Error::TooLarge { .. }) == (len > Entry::MAX_LEN),
            "{err}"
        );
    }
    let err = codec::decode::<Hash>("hash", &vec![0; codec::DECODE_LIMIT + 1]).unwrap_err();
    assert!(matches!(err, Error::TooLarge { what: "hash", .. }), "{err}");
}
