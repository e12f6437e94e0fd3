//! The ledger itself: entries a page at a time, the signed checkpoint, and
//! one entry with its inclusion proof against it.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use ledger_core::merkle::{prove_inclusion, range_root};
use ledger_core::{Checkpoint, Entry, Event, Seq};
use ledger_store::StoreNodes;
use maud::html;
use review::Payload;
use serde::Deserialize;
use service::Role;

use super::viewer;
use crate::Console;
use crate::error::WebError;

/// Entries on one page of the log.
pub const PAGE: u64 = 50;

/// The log's paging.
#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    /// The first entry shown; the latest page when absent.
    pub from: Option<u64>,
}

/// One stored entry, decoded for a person.
struct Row {
    seq: Seq,
    received: String,
    kind: String,
    author: String,
    what: String,
    hash: String,
}

fn row(state: &review::LedgerState, seq: Seq, bytes: &[u8]) -> Row {
    let hash = ledger_core::hash_entry_bytes(bytes).to_hex();
    let Ok(entry) = Entry::decode(bytes) else {
        return Row {
            seq,
            received: String::new(),
            kind: "?".into(),
            author: String::new(),
            what: "this stored entry does not decode".into(),
            hash,
        };
    };
    let event = Event::decode(&entry.event).ok();
    let author = event
        .as_ref()
        .map(|e| match state.roster.keys.get(&e.author.key()) {
            Some(k) => k.member.to_string(),
            None => e.author.key().fingerprint(),
        })
        .unwrap_or_default();
    let what = event
        .as_ref()
        .and_then(|e| Payload::decode(&e.kind, &e.payload).ok())
        .map(|p| review::describe::payload(&p))
        .unwrap_or_default();
    Row {
        seq,
        received: review::render::rfc3339(entry.received),
        kind: event.map(|e| e.kind.to_string()).unwrap_or_default(),
        author,
        what,
        hash,
    }
}

/// `/l/<id>/log?from=N`: the signed checkpoint, then entries a page at a time.
pub async fn log(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
    Query(q): Query<LogQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = viewer(&console, &ledger, &headers, Role::Reader)?;
    let size = v.host.size();
    let from = q.from.unwrap_or(size.saturating_sub(PAGE)).min(size);
    let host = v.host.clone();
    let chunk = tokio::task::spawn_blocking(move || host.store().range(Seq(from), PAGE as usize))
        .await
        .map_err(|e| WebError::internal(e.to_string()))?
        .map_err(|e| WebError::internal(e.to_string()))?;
    let note = v.host.checkpoint();
    let state = v.host.state();
    let rows: Vec<Row> = chunk
        .iter()
        .filter(|(s, _)| s.0 < size)
        .map(|(s, b)| row(&state, *s, b))
        .collect();
    let base = format!("/l/{}/log", v.ledger_hex());
    let body = html! {
        h1 { "The ledger" }
        p { (size) " entries, each chained to the one before by its hash and signed by its author." }
        h2 { "Latest checkpoint" }
        p { "Signed by the ledger's checkpoint key (a C2SP signed note); " code { "review-ledger verify" } " checks it offline." }
        pre #checkpoint { (note) }
        h2 { "Entries " (from) " to " ((from + rows.len() as u64).saturating_sub(1)) }
        nav.pager aria-label="Pages" {
            @if from > 0 { a href={ (base) "?from=" (from.saturating_sub(PAGE)) } { "Earlier" } }
            @if from + PAGE < size { a href={ (base) "?from=" (from + PAGE) } { "Later" } }
            a href=(base) { "Latest" }
        }
        table {
            thead { tr { th scope="col" { "#" } th scope="col" { "Received" } th scope="col" { "Author" } th scope="col" { "Event" } } }
            tbody {
                @for r in rows.iter().rev() {
                    tr {
                        td.nw { a href={ (base) "/" (r.seq.0) } { (r.seq.0) } }
                        td.nw { (r.received) }
                        td { (r.author) }
                        td { code { (r.kind) } " " (r.what) }
                    }
                }
            }
        }
    };
    Ok(v.page(&state, "log", "Ledger", true, body))
}

/// `/l/<id>/log/<seq>`: one entry, its hash, and its inclusion proof
/// against the latest checkpoint.
pub async fn entry(
    State(console): State<Arc<Console>>,
    Path((ledger, seq)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = viewer(&console, &ledger, &headers, Role::Reader)?;
    let seq: u64 = seq.parse().map_err(|_| {
        WebError::bad(format!(
            "{} is not an entry number",
            review::ids::quoted(&seq)
        ))
    })?;
    let note = v.host.checkpoint();
    let key = v
        .host
        .state()
        .roster
        .checkpoint_key
        .ok_or_else(|| WebError::not_found("this ledger names no checkpoint key"))?;
    let cp = Checkpoint::verify(&note, &key)
        .map_err(|e| WebError::internal(format!("the stored checkpoint does not verify: {e}")))?;
    if seq >= cp.size {
        return Err(WebError::not_found(format!(
            "entry #{seq} is not in the latest checkpoint's {} entries",
            cp.size
        )));
    }
    let host = v.host.clone();
    let size = cp.size;
    let (bytes, path, root) = tokio::task::spawn_blocking(move || {
        let store = host.store();
        let bytes = store.entry(Seq(seq))?.unwrap_or_default();
        let nodes = StoreNodes(store);
        let proof = prove_inclusion(&nodes, seq, size)?;
        let root = range_root(&nodes, 0, size)?;
        Ok::<_, ledger_store::StoreError>((bytes, proof.path, root))
    })
    .await
    .map_err(|e| WebError::internal(e.to_string()))?
    .map_err(|e| WebError::internal(e.to_string()))?;
    let state = v.host.state();
    let r = row(&state, Seq(seq), &bytes);
    let body = html! {
        h1 { "Entry " (seq) }
        dl {
            dt { "Received" } dd { (r.received) }
            dt { "Author" } dd { (r.author) }
            dt { "Event" } dd { code { (r.kind) } " " (r.what) }
            dt { "Entry hash" } dd { code #entry-hash { (r.hash) } }
        }
        h2 { "Inclusion proof" }
        p { "The entry hash, combined in order with the hashes below (RFC 6962, blake3), gives the root that the checkpoint of "
            (size) " entries signs. " code { "review-ledger prove --seq " (seq) } " gives the same proof." }
        dl {
            dt { "Tree size" } dd { (size) }
            dt { "Root" } dd { code #root { (root) } }
        }
        ol.proof {
            @for h in &path { li { code { (h) } } }
        }
    };
    Ok(v.page(&state, "entry", &format!("Entry {seq}"), false, body))
}
