//! The store checks what it derives.
//!
//! The entries are the evidence; the head, the Merkle nodes and the
//! checkpoint are derived from them and kept so that an append and a proof
//! need not read the whole log. None of them is trusted unchecked:
//! [`check_end`] checks, in O(log n) reads, everything an append builds on
//! (the head against the last entry, the frontier against the stored nodes
//! and the signed checkpoint, the checkpoint key against genesis), and
//! [`crate::verify`] recomputes every node. A damaged record is named, and
//! nothing is appended on top of it.

use std::collections::HashMap;

use ledger_core::{
    Admission, Chain, Checkpoint, Entry, EventId, Frontier, Hash, PublicKey, Seq, UnixMicros,
};
use serde::Serialize;

use crate::error::StoreError;
use crate::store::{Head, Store};

/// The `(level, index)` of each peak of a tree of `size` leaves, from the
/// leftmost (largest) to the rightmost, as [`Frontier::peaks`] lists them.
pub fn peak_positions(size: u64) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for level in (0..64).rev() {
        let width = 1u64 << level;
        if size & width != 0 {
            out.push((level, start >> level));
            start += width;
        }
    }
    out
}

fn damaged(record: &str, reason: String) -> StoreError {
    StoreError::Derived {
        record: record.to_owned(),
        reason,
    }
}

/// Checks the stored frontier's peaks against the stored Merkle nodes.
pub fn check_frontier<S: Store + ?Sized>(store: &S, frontier: &Frontier) -> Result<(), StoreError> {
    let positions = peak_positions(frontier.size);
    if positions.len() != frontier.peaks.len() {
        return Err(damaged(
            "head",
            format!(
                "its frontier holds {} peaks, but a tree of {} entries has {}",
                frontier.peaks.len(),
                frontier.size,
                positions.len()
            ),
        ));
    }
    for ((level, index), peak) in positions.into_iter().zip(&frontier.peaks) {
        match store.node(level, index)? {
            Some(node) if node == *peak => {}
            Some(node) => {
                return Err(damaged(
                    &format!("Merkle node ({level}, {index})"),
                    format!("it is {node}, but the head's frontier says {peak}"),
                ));
            }
            None => {
                return Err(damaged(
                    &format!("Merkle node ({level}, {index})"),
                    "it is missing".into(),
                ));
            }
        }
    }
    Ok(())
}

/// Checks, in O(log n) reads, that the stored head describes the last
/// entry, that its frontier agrees with the stored Merkle nodes, and that
/// the stored checkpoint is signed by `key` (the checkpoint key genesis
/// names) and states this head. What an append builds on, checked before
/// it builds.
pub fn check_end<S: Store + ?Sized>(store: &S, key: &PublicKey) -> Result<Head, StoreError> {
    let head = store.head()?;
    if head.frontier.size != head.size {
        return Err(damaged(
            "head",
            format!(
                "it records {} entries but its frontier {}",
                head.size, head.frontier.size
            ),
        ));
    }
    if head.size == 0 {
        return Ok(head);
    }
    if store.entry(Seq(head.size))?.is_some() {
        return Err(damaged(
            "head",
            format!(
                "it records {} entries but entry #{} is stored",
                head.size, head.size
            ),
        ));
    }
    let last = Seq(head.size - 1);
    let bytes = store
        .entry(last)?
        .ok_or_else(|| damaged("head", format!("its last entry {last} is missing")))?;
    let hash = ledger_core::hash_entry_bytes(&bytes);
    if hash != head.hash {
        return Err(damaged(
            "head",
            format!("it records {} but entry {last} hashes to {hash}", head.hash),
        ));
    }
    let entry = Entry::decode(&bytes).map_err(|e| StoreError::Damaged {
        what: format!("entry {last}"),
        reason: e.to_string(),
    })?;
    if entry.received != head.received {
        return Err(damaged(
            "head",
            format!(
                "it records receive time {} but entry {last} was received at {}",
                head.received.0, entry.received.0
            ),
        ));
    }
    check_frontier(store, &head.frontier)?;
    let ledger_id: Hash = match store.entry(Seq(0))? {
        Some(genesis) => ledger_core::hash_entry_bytes(&genesis),
        None => return Err(damaged("head", "entry #0 is missing".into())),
    };
    let note = store
        .checkpoint()?
        .ok_or_else(|| damaged("checkpoint", "it is missing".into()))?;
    let cp = Checkpoint::verify(&note, key).map_err(|e| damaged("checkpoint", e.to_string()))?;
    let states = |what: &str, got: String, want: String| {
        damaged(
            "checkpoint",
            format!("it states {what} {got}, but the head gives {want}"),
        )
    };
    if cp.ledger_id != ledger_id {
        return Err(states(
            "ledger",
            cp.ledger_id.to_string(),
            ledger_id.to_string(),
        ));
    }
    if cp.size != head.size {
        return Err(states("size", cp.size.to_string(), head.size.to_string()));
    }
    if cp.head != head.hash {
        return Err(states("head", cp.head.to_string(), head.hash.to_string()));
    }
    let root = head.frontier.root();
    if cp.root != root {
        return Err(states("root", cp.root.to_string(), root.to_string()));
    }
    Ok(head)
}

/// What the files beside the database say: a fault (the checkpoint key
/// file is damaged or is not the key genesis names) and warnings (no
/// witness; no key file, so the copy can be read but not appended to).
pub fn check_directory(
    store: &crate::SledStore,
    genesis_key: Option<PublicKey>,
) -> (Option<String>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut fault = None;
    if let Some((reason, copy)) = store.read_only() {
        warnings.push(format!(
            "the ledger directory cannot be written ({reason}): read from a private copy of its database in {}, deleted on exit",
            copy.display()
        ));
    }
    let discarded = match store.read_only() {
        Some(_) => "was left out of the copy",
        None => "was deleted",
    };
    for path in store.discarded_snapshots() {
        warnings.push(format!(
            "{} is an incomplete sled snapshot (a full disk or a crash interrupted its writing) and {discarded}; sled recovered from the snapshot before it and its log",
            path.display()
        ));
    }
    let size = store.head().map(|h| h.size).unwrap_or(0);
    if size > 0 && matches!(store.witness(), Ok(None)) {
        warnings.push(
            "checkpoint.witness is missing: a database that rolled back to an earlier state could not be told from this one"
                .to_owned(),
        );
    }
    let key_file = store.dir().join("checkpoint.pem");
    if !key_file.exists() {
        warnings.push(
            "checkpoint.pem is missing: this copy can be verified and read, not appended to"
                .to_owned(),
        );
    } else {
        match (store.checkpoint_key(), genesis_key) {
            // An auditor reading someone else's directory may not read the
            // key (it is 0600): that says nothing about the ledger.
            (Err(StoreError::Io { source, .. }), _)
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                warnings.push(
                    "checkpoint.pem cannot be read by this user: it was not checked against genesis"
                        .to_owned(),
                )
            }
            (Err(e), _) => fault = Some(format!("checkpoint.pem is damaged: {e}")),
            (Ok(key), Some(named)) if key.public() != named => {
                fault = Some(format!(
                    "checkpoint.pem holds key {}, not the checkpoint key {} that genesis names",
                    key.public().fingerprint(),
                    named.fingerprint()
                ))
            }
            _ => {}
        }
    }
    (fault, warnings)
}

/// What [`repair`] rewrote: one derived record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rewrite {
    /// The record (`head`, `checkpoint`, `checkpoint.witness`, `Merkle
    /// node (2, 2)`, `event-id index of event …`).
    pub record: String,
    /// `rewritten` (it differed), `written` (it was missing) or `removed`
    /// (it belongs to no entry).
    pub action: &'static str,
    /// What was wrong with it.
    pub reason: String,
}

/// What [`repair`] found and did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Repaired {
    /// The ledger id (the hash of entry #0).
    pub ledger_id: Hash,
    /// The entries verified, from which every record was derived again.
    pub entries: u64,
    /// Each record that differed from what the entries give, in the order
    /// found; empty when there was nothing to repair.
    pub rewritten: Vec<Rewrite>,
}

fn refused(seq: Option<u64>, reason: String) -> StoreError {
    StoreError::Unrepairable { seq, reason }
}

/// What a signed checkpoint (the stored one or the witness) must agree
/// with at its size: the root and head the entries give there.
#[derive(Clone, Copy)]
struct At {
    root: Hash,
    head: Hash,
}

/// A signed note's verdict against the entries: keep it, replace it
/// (damaged, with the action and why), or note that it is behind (valid
/// for fewer entries, with why); refusing (it is signed evidence that the
/// entries differ from what the ledger once stated) is an error.
enum Note {
    Keep,
    Replace(&'static str, String),
    Behind(String),
}

fn judge_note(
    what: &str,
    note: Option<&str>,
    key: &PublicKey,
    ledger_id: Hash,
    size: u64,
    at: Option<At>,
) -> Result<(Note, Option<Checkpoint>), StoreError> {
    let Some(note) = note else {
        return Ok((Note::Replace("written", "it is missing".into()), None));
    };
    let cp = match Checkpoint::verify(note, key) {
        Ok(cp) => cp,
        Err(e) => {
            return Ok((
                Note::Replace("rewritten", format!("it does not verify: {e}")),
                None,
            ));
        }
    };
    if cp.ledger_id != ledger_id {
        return Ok((
            Note::Replace(
                "rewritten",
                format!("it is for ledger {}, not {ledger_id}", cp.ledger_id),
            ),
            None,
        ));
    }
    if cp.size > size {
        return Err(refused(
            Some(size),
            format!(
                "the {what}, signed by the checkpoint key, states {} entries but {size} are stored: entries #{size} to #{} were acknowledged and are lost, which no derived record can mend",
                cp.size,
                cp.size - 1
            ),
        ));
    }
    let Some(at) = at else {
        return Err(refused(
            None,
            format!(
                "the {what} states size {}, which the entries never reached",
                cp.size
            ),
        ));
    };
    if cp.root != at.root || cp.head != at.head {
        return Err(refused(
            None,
            format!(
                "the {what}, signed by the checkpoint key, states root {} and head {} for {} entries, but the stored entries give root {} and head {}: they are not the entries the ledger acknowledged",
                cp.root, cp.head, cp.size, at.root, at.head
            ),
        ));
    }
    if cp.size < size {
        return Ok((
            Note::Behind(format!(
                "it states {} entries, not the {size} stored",
                cp.size
            )),
            Some(cp),
        ));
    }
    Ok((Note::Keep, Some(cp)))
}

/// Derives every derived record again from the entries and rewrites those
/// that differ: the event-id index, the Merkle nodes, the head, the latest
/// checkpoint (signed again with the key in `checkpoint.pem`, at time `now`
/// or the last entry's receive time, whichever is later) and
/// `checkpoint.witness`; index records and nodes
/// that belong to no entry are removed. Nothing is written unless every
/// entry verifies first, with the checks of [`crate::verify`]: decoding,
/// signatures, the chain and the admission rules replayed through `state`
/// (an empty ledger's state). Entries are never written.
///
/// Refused ([`StoreError::Unrepairable`]) when an entry does not verify,
/// when two entries carry one event id, when a checkpoint signed by the
/// ledger's key (stored or witness) states entries that are missing or
/// differ (faults in the evidence, not in what is derived from it), or
/// when `checkpoint.pem` is missing, damaged or not the key genesis names
/// (a secret no entry can give back). A ledger with nothing to repair is left untouched, byte for byte.
/// Holds every event id in memory (16 bytes and a sequence number each).
pub fn repair<A: Admission>(
    store: &crate::SledStore,
    mut state: A,
    now: UnixMicros,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Repaired, StoreError> {
    use crate::store::{CHECKPOINT, HEAD, INDEX_PREFIX, NODE_PREFIX, index_key, node_key};

    store.check_writable()?;
    let mut rewritten = Vec::new();
    let mut put: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut remove: Vec<Vec<u8>> = Vec::new();
    let mut ids: HashMap<EventId, Seq> = HashMap::new();
    let mut chain = Chain::default();
    let mut frontier = Frontier::default();
    let stored_head = store.head();
    let total = stored_head.as_ref().map(|h| h.size).unwrap_or(0);
    let witness = store.witness()?;
    let stored_checkpoint = store.checkpoint();
    let size_of = |note: &str| {
        note.split_once("\n\n")
            .and_then(|(body, _)| Checkpoint::parse_body(&format!("{body}\n")).ok())
            .map(|cp| cp.size)
    };
    let witness_size = witness.as_deref().and_then(size_of);
    let checkpoint_size = match &stored_checkpoint {
        Ok(Some(note)) => size_of(note),
        _ => None,
    };
    let mut witness_at = None;
    let mut checkpoint_at = None;

    let mut snapshot = crate::snapshot::Audit::new(store.snapshot()?);
    let mut next = Seq(0);
    loop {
        let chunk = store.range(next, crate::verify::CHUNK)?;
        let Some(last) = chunk.last() else { break };
        next = last.0.next();
        for checked in crate::verify::check_chunk(store, chunk) {
            let key = checked.key;
            let expected = chain.size;
            let duplicate = |v: &ledger_core::VerifiedEntry| {
                ids.get(&v.event.id).map(|first| {
                    format!(
                        "entry #{}: event {} is also entry #{}",
                        key.0, v.event.id, first.0
                    )
                })
            };
            let v = crate::verify::check_in_order(
                &mut chain,
                &mut state,
                key,
                checked.entry,
                duplicate,
            )
            .map_err(|reason| refused(Some(expected), reason))?;
            let id = v.event.id;
            ids.insert(id, key);
            let index_wrong = match checked.index {
                Ok(Some(at)) if at == key => None,
                Ok(Some(at)) => Some(("rewritten", format!("it points at #{}", at.0))),
                Ok(None) => Some(("written", "it is missing".to_owned())),
                Err(e) => Some(("rewritten", e)),
            };
            if let Some((action, reason)) = index_wrong {
                rewritten.push(Rewrite {
                    record: format!("event-id index of event {id} (entry #{})", key.0),
                    action,
                    reason,
                });
                put.push((index_key(&id).to_vec(), key.0.to_be_bytes().to_vec()));
            }
            let computed = frontier.push(&v.hash);
            for (i, node) in computed.iter().enumerate() {
                let stored = checked.nodes.get(i).cloned().unwrap_or(Ok(Some(node.hash)));
                let wrong = match stored {
                    Ok(Some(h)) if h == node.hash => None,
                    Ok(Some(h)) => Some((
                        "rewritten",
                        format!("it is {h}, but entry #{} gives {}", key.0, node.hash),
                    )),
                    Ok(None) => Some(("written", "it is missing".to_owned())),
                    Err(e) => Some(("rewritten", e)),
                };
                if let Some((action, reason)) = wrong {
                    rewritten.push(Rewrite {
                        record: format!("Merkle node ({}, {})", node.level, node.index),
                        action,
                        reason,
                    });
                    put.push((
                        node_key(node.level, node.index).to_vec(),
                        node.hash.0.to_vec(),
                    ));
                }
            }
            let at = At {
                root: frontier.root(),
                head: chain.head,
            };
            snapshot.at(chain.size, &state, frontier.root());
            if Some(chain.size) == witness_size {
                witness_at = Some(at);
            }
            if Some(chain.size) == checkpoint_size {
                checkpoint_at = Some(at);
            }
        }
        progress(chain.size, total.max(chain.size));
    }
    let size = chain.size;
    let Some(ledger_id) = chain.ledger_id else {
        return Err(refused(None, "the ledger has no entries".into()));
    };
    let genesis_key = state
        .checkpoint_key()
        .ok_or_else(|| refused(Some(0), "genesis names no checkpoint key".into()))?;
    // The key is no derived record: it cannot be made again, and a ledger
    // repaired without it could still not be appended to.
    let key = store.checkpoint_key().map_err(|e| {
        refused(
            None,
            format!(
                "{e}: restore the ledger's own {CHECKPOINT_KEY_FILE}, which repair cannot derive"
            ),
        )
    })?;
    if key.public() != genesis_key {
        return Err(refused(
            None,
            format!(
                "{CHECKPOINT_KEY_FILE} holds key {}, not the checkpoint key {} that genesis names: restore the ledger's own, which repair cannot derive",
                key.public().fingerprint(),
                genesis_key.fingerprint()
            ),
        ));
    }

    // Index records and nodes that belong to no entry: a stray index record
    // would refuse a new event as a duplicate, a stray node would be served.
    store.visit_prefix(INDEX_PREFIX, |k, _| {
        let id = <[u8; 16]>::try_from(&k[1..]).ok().map(EventId);
        // A record of an entry's event was checked with the entry.
        if !id.is_some_and(|id| ids.contains_key(&id)) {
            rewritten.push(Rewrite {
                record: match id {
                    Some(id) => format!("event-id index of event {id}"),
                    None => format!("index record {}", hex(k)),
                },
                action: "removed",
                reason: "no entry carries this event id".into(),
            });
            remove.push(k.to_vec());
        }
        Ok(())
    })?;
    store.visit_prefix(NODE_PREFIX, |k, _| {
        let position = match k {
            [_, level, index @ ..] => <[u8; 8]>::try_from(index)
                .ok()
                .map(|i| (u32::from(*level), u64::from_be_bytes(i))),
            _ => None,
        };
        let in_tree = position.is_some_and(|(level, index)| {
            level < 64
                && index
                    .checked_add(1)
                    .and_then(|n| n.checked_mul(1u64 << level))
                    .is_some_and(|end| end <= size)
        });
        if !in_tree {
            rewritten.push(Rewrite {
                record: match position {
                    Some((level, index)) => format!("Merkle node ({level}, {index})"),
                    None => format!("node record {}", hex(k)),
                },
                action: "removed",
                reason: format!("it is no node of the tree of {size} entries"),
            });
            remove.push(k.to_vec());
        }
        Ok(())
    })?;

    let head = Head {
        size,
        hash: chain.head,
        received: chain.last_received,
        frontier: frontier.clone(),
    };
    let head_wrong = match stored_head {
        Ok(h) if h == head => None,
        Ok(h) if h.size != size => Some(format!(
            "it records {} entries, the entries are {size}",
            h.size
        )),
        Ok(h) if h.hash != head.hash => Some(format!(
            "it records {}, but entry #{} hashes to {}",
            h.hash,
            size - 1,
            head.hash
        )),
        Ok(_) => Some("its receive time or Merkle frontier is not the entries'".into()),
        Err(StoreError::Damaged { reason, .. }) => Some(reason),
        Err(e) => return Err(e),
    };
    if let Some(reason) = head_wrong {
        rewritten.push(Rewrite {
            record: "head".into(),
            action: "rewritten",
            reason,
        });
        put.push((HEAD.to_vec(), ledger_core::codec::encode(&head)));
    }

    // A snapshot that opening would not use, or that is not the entries'
    // state, is replaced by one of the end.
    let new_snapshot = snapshot.finish(size).and_then(|reason| {
        Some((
            reason,
            crate::snapshot::record(&state, size, frontier.root())?,
        ))
    });
    if let Some((reason, _)) = &new_snapshot {
        rewritten.push(Rewrite {
            record: crate::store::SNAPSHOT_FILE.into(),
            action: "rewritten",
            reason: reason.clone(),
        });
    }

    let subjects = state.subjects();
    let (stored_note, checkpoint_damage) = match stored_checkpoint {
        Ok(note) => (note, None),
        Err(StoreError::Damaged { reason, .. }) => (None, Some(reason)),
        Err(e) => return Err(e),
    };
    let end = At {
        root: frontier.root(),
        head: chain.head,
    };
    let (verdict, cp) = judge_note(
        "checkpoint",
        stored_note.as_deref(),
        &genesis_key,
        ledger_id,
        size,
        checkpoint_at,
    )?;
    let verdict = match (checkpoint_damage, verdict, cp) {
        (Some(reason), _, _) | (None, Note::Behind(reason), _) => {
            Note::Replace("rewritten", reason)
        }
        (None, Note::Keep, Some(cp)) if cp.subjects != subjects => Note::Replace(
            "rewritten",
            format!(
                "it commits to subject map {}, but the entries give {}",
                cp.subjects.map_or_else(|| "none".into(), |h| h.to_hex()),
                subjects.map_or_else(|| "none".into(), |h| h.to_hex())
            ),
        ),
        (None, v, _) => v,
    };
    let (witness_verdict, _) = judge_note(
        "checkpoint witness",
        witness.as_deref(),
        &genesis_key,
        ledger_id,
        size,
        witness_at,
    )?;
    // A witness behind the entries is as the writer leaves it after a
    // crash between its two writes: harmless, and kept.
    let witness_verdict = match witness_verdict {
        Note::Behind(_) => Note::Keep,
        v => v,
    };

    let mut note = stored_note.unwrap_or_default();
    let mut new_witness = None;
    if matches!(verdict, Note::Replace(..)) || matches!(witness_verdict, Note::Replace(..)) {
        if let Note::Replace(action, reason) = verdict {
            note = Checkpoint {
                ledger_id,
                size,
                root: end.root,
                head: end.head,
                time: now.max(chain.last_received),
                subjects,
            }
            .sign(&key);
            rewritten.push(Rewrite {
                record: "checkpoint".into(),
                action,
                reason,
            });
            put.push((CHECKPOINT.to_vec(), note.as_bytes().to_vec()));
        }
        // A witness that is sound is kept, even behind a new checkpoint.
        if let Note::Replace(action, reason) = witness_verdict {
            rewritten.push(Rewrite {
                record: WITNESS_FILE.into(),
                action,
                reason,
            });
            new_witness = Some(note);
        }
    }
    if !put.is_empty() || !remove.is_empty() || new_witness.is_some() {
        store.rewrite_derived(&put, &remove, new_witness.as_deref())?;
    }
    // After the records it was checked against.
    if let Some((_, record)) = new_snapshot {
        store.put_snapshot(&record)?;
    }
    Ok(Repaired {
        ledger_id,
        entries: size,
        rewritten,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const CHECKPOINT_KEY_FILE: &str = "checkpoint.pem";
const WITNESS_FILE: &str = "checkpoint.witness";

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::EntryHash;

    #[test]
    fn peak_positions_match_the_frontier() {
        for size in 0..300u64 {
            let mut f = Frontier::default();
            let mut nodes = std::collections::HashMap::new();
            for i in 0..size {
                let leaf: EntryHash = ledger_core::hash_entry_bytes(&i.to_le_bytes());
                for n in f.push(&leaf) {
                    nodes.insert((n.level, n.index), n.hash);
                }
            }
            let positions = peak_positions(size);
            assert_eq!(positions.len(), f.peaks.len(), "size {size}");
            for (p, peak) in positions.iter().zip(&f.peaks) {
                assert_eq!(nodes.get(p), Some(peak), "size {size}, peak {p:?}");
            }
        }
    }
}
