//! Full verification of a stored ledger, as an auditor runs it.
//!
//! Every entry is decoded canonically, its signature checked with
//! `verify_strict` (on all cores, a chunk at a time), its link to the one
//! before checked, and its event run through the same admission rules the
//! writer used. At the end the recomputed Merkle root and head must match
//! the stored checkpoint, whose signature must verify under the checkpoint
//! key that genesis names. Memory stays bounded by the chunk size.

use std::sync::mpsc;

use ledger_core::merkle::NewNode;
use ledger_core::{
    Admission, Chain, Checkpoint, EventId, Frontier, Hash, LedgerId, Seq, VerifiedEntry,
};
use rayon::prelude::*;
use serde::Serialize;

use crate::error::StoreError;
use crate::store::Store;

/// Entries read and verified together.
pub const CHUNK: usize = 2048;

/// The first thing found wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// The entry at fault, when the fault is in one entry.
    pub seq: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

/// What a verification found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The ledger id (hash of entry #0), if genesis could be read.
    pub ledger_id: Option<LedgerId>,
    /// Entries verified before the first fault (all of them when valid).
    pub entries: u64,
    /// The recomputed Merkle root over those entries.
    pub root: Hash,
    /// The hash of the last verified entry.
    pub head: Hash,
    /// The stored checkpoint, when it verified.
    pub checkpoint_size: Option<u64>,
    /// The first fault, if any.
    pub fault: Option<Fault>,
}

impl Report {
    /// Whether the ledger verified.
    pub fn valid(&self) -> bool {
        self.fault.is_none()
    }
}

/// Verifies every entry of `store` through `state`, calling `progress`
/// with the entries done and the total after each chunk. `trust` pins the
/// ledger id the auditor expects.
pub fn verify<S: Store + ?Sized, A: Admission>(
    store: &S,
    mut state: A,
    trust: Option<LedgerId>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, StoreError> {
    verify_into(store, &mut state, trust, progress)
}

/// A verification compacts its state ([`Admission::compact`]) each time
/// it has applied a multiple of this many entries, so that it holds the
/// ledger's history compactly rather than decoded.
pub const COMPACT_EVERY: u64 = 20_000;

/// [`verify`], leaving in `state` the admission state after the last entry
/// that verified, for reports built on the verified entries.
pub fn verify_into<S: Store + ?Sized, A: Admission>(
    store: &S,
    state: &mut A,
    trust: Option<LedgerId>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, StoreError> {
    verify_from(store, state, Start::default(), trust, progress)
}

/// Where a verification starts: at genesis, or after entries this
/// machine verified before, given by their chain and Merkle frontier (and
/// `state`, the admission state after them).
#[derive(Clone, Debug, Default)]
pub struct Start {
    /// The chain after the entries verified before.
    pub chain: Chain,
    /// Their Merkle frontier.
    pub frontier: Frontier,
}

/// [`verify_into`] of the entries after `start`: every check, on the entries
/// from `start.chain.size` on, with the chain, the tree and `state`
/// carried on from those verified before. The stored head and checkpoint
/// must cover them all.
pub fn verify_from<S: Store + ?Sized, A: Admission>(
    store: &S,
    state: &mut A,
    start: Start,
    trust: Option<LedgerId>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Report, StoreError> {
    // A head that does not decode is a damaged record, reported like any
    // other fault once the entries are verified.
    let (head, head_fault) = match store.head() {
        Ok(head) => (head, None),
        Err(StoreError::Damaged { what, reason }) => (
            crate::store::Head::default(),
            Some(Fault {
                seq: None,
                reason: format!("the stored {what} is damaged: {reason}"),
            }),
        ),
        Err(e) => return Err(e),
    };
    let witness = store.witness()?;
    let witness_size = witness
        .as_deref()
        .and_then(|n| n.split_once("\n\n"))
        .and_then(|(body, _)| Checkpoint::parse_body(&format!("{body}\n")).ok())
        .map(|cp| cp.size);
    let mut witness_point = None;
    let Start {
        mut chain,
        mut frontier,
    } = start;
    let first = Seq(chain.size);
    let mut pending: Vec<(NewNode, Option<Hash>)> = Vec::new();
    let mut fault = None;
    let mut snapshot = crate::snapshot::Audit::new(store.snapshot()?);

    // A second thread reads each chunk and checks its entries on all cores
    // (decoding, signatures, hashes, the event-id index), while this thread
    // runs the checks that need order: the chain, the rules, the tree.
    let fault_found = std::thread::scope(|scope| -> Result<Option<Fault>, StoreError> {
        let (tx, rx) = mpsc::sync_channel::<Result<Vec<Checked>, StoreError>>(2);
        scope.spawn(move || {
            let mut next = first;
            loop {
                let chunk = store.range(next, CHUNK).map(|c| check_chunk(store, c));
                let done = match &chunk {
                    Ok(c) => match c.last() {
                        Some(last) => {
                            next = last.key.next();
                            false
                        }
                        None => true,
                    },
                    Err(_) => true,
                };
                if tx.send(chunk).is_err() || done {
                    return;
                }
            }
        });
        for chunk in rx {
            let chunk = chunk?;
            if chunk.is_empty() {
                break;
            }
            for checked in chunk {
                if let Some(f) = step(&mut chain, &mut frontier, &mut pending, state, checked) {
                    return Ok(Some(f));
                }
                snapshot.at(chain.size, state, frontier.root());
                if chain.size.is_multiple_of(COMPACT_EVERY) {
                    state.compact();
                }
                if Some(chain.size) == witness_size {
                    witness_point = Some((frontier.root(), chain.head));
                }
            }
            progress(chain.size, head.size.max(chain.size));
        }
        Ok(None)
    })?;
    if let Some(f) = fault_found {
        fault = Some(f);
    }

    let at_end = |reason: String| Some(Fault { seq: None, reason });
    if fault.is_none() && chain.size == 0 {
        fault = at_end("the ledger has no entries".into());
    }
    if fault.is_none() && head_fault.is_some() {
        fault = head_fault;
    }
    if fault.is_none() && chain.size != head.size {
        fault = Some(Fault {
            seq: Some(chain.size.min(head.size)),
            reason: format!(
                "the stored head records {} entries but {} are stored",
                head.size, chain.size
            ),
        });
    }
    if fault.is_none()
        && let Some(note) = &witness
    {
        fault = check_witness(note, state, &chain, witness_point).err();
    }
    let mut checkpoint_size = None;
    if fault.is_none() {
        match check_checkpoint(store, state, &chain, &frontier) {
            Ok(cp) => checkpoint_size = Some(cp.size),
            Err(f) => fault = Some(f),
        }
    }
    // The derived records, once the entries are known good: the head, and
    // the last entry's nodes.
    if fault.is_none() {
        fault = check_head(&head, &chain, &frontier).err();
    }
    if fault.is_none() {
        fault = check_nodes(&mut pending, chain.size.saturating_sub(1));
    }
    if fault.is_none() {
        fault = check_counts(store, chain.size)?;
    }
    if fault.is_none()
        && let Some(reason) = snapshot.finish(chain.size)
    {
        fault = at_end(format!("{reason} (`review-ledger repair` replaces it)"));
    }
    if fault.is_none()
        && let (Some(want), Some(got)) = (trust, chain.ledger_id)
        && want != got
    {
        fault = at_end(format!("ledger id is {got}, not the trusted {want}"));
    }
    Ok(Report {
        ledger_id: chain.ledger_id,
        entries: chain.size,
        root: frontier.root(),
        head: chain.head,
        checkpoint_size,
        fault,
    })
}

/// Checks the stored head against what the entries give.
fn check_head(head: &crate::store::Head, chain: &Chain, frontier: &Frontier) -> Result<(), Fault> {
    let damaged = |reason: String| Fault {
        seq: None,
        reason: format!("the stored head is damaged: {reason}"),
    };
    if head.hash != chain.head {
        return Err(damaged(format!(
            "it records {} but the last entry hashes to {}",
            head.hash, chain.head
        )));
    }
    if head.received != chain.last_received {
        return Err(damaged(format!(
            "it records receive time {} but the last entry was received at {}",
            head.received.0, chain.last_received.0
        )));
    }
    if head.frontier != *frontier {
        return Err(damaged(
            "its Merkle frontier is not the one the entries give".into(),
        ));
    }
    Ok(())
}

/// Checks the witness kept beside the database: signed by the checkpoint
/// key, not ahead of the entries, and with the root they give at its size.
fn check_witness<A: Admission>(
    note: &str,
    state: &A,
    chain: &Chain,
    at_size: Option<(Hash, Hash)>,
) -> Result<(), Fault> {
    let whole = |reason: String| Fault { seq: None, reason };
    let key = state
        .checkpoint_key()
        .ok_or_else(|| whole("genesis names no checkpoint key".into()))?;
    let w =
        Checkpoint::verify(note, &key).map_err(|e| whole(format!("checkpoint witness: {e}")))?;
    if w.size > chain.size {
        return Err(Fault {
            seq: Some(chain.size),
            reason: format!(
                "the checkpoint witness records {} entries but only {} are stored: \
                 entries #{} to #{} were acknowledged and are lost",
                w.size,
                chain.size,
                chain.size,
                w.size - 1
            ),
        });
    }
    if w.size == 0 {
        return Ok(());
    }
    let (root, head) = at_size.unwrap_or_default();
    if w.head != head {
        let last = w.size - 1;
        return Err(Fault {
            seq: Some(last),
            reason: format!(
                "entry #{last} hashes to {head} but the checkpoint witness's head is {}",
                w.head
            ),
        });
    }
    if w.root != root {
        return Err(whole(format!(
            "the checkpoint witness for {} entries has root {}, which the entries do not give",
            w.size, w.root
        )));
    }
    Ok(())
}

/// One stored entry after the checks that need no order.
pub(crate) struct Checked {
    /// The key it is stored under.
    pub(crate) key: Seq,
    /// The decoded, signature-checked entry, or why not.
    pub(crate) entry: Result<VerifiedEntry, String>,
    /// Where the event-id index points for this entry's event (`Ok(None)`
    /// when the entry did not decode), or why it cannot be read.
    pub(crate) index: Result<Option<Seq>, String>,
    /// The stored Merkle nodes this entry completes, in the order
    /// [`Frontier::push`] returns them (empty when the store keeps none).
    pub(crate) nodes: Vec<Result<Option<Hash>, String>>,
}

/// The `(level, index)` of each node that leaf `index` completes, leaf
/// first, as [`Frontier::push`] lists them: one more for each trailing one
/// bit of `index`.
fn completed_by(index: u64) -> impl Iterator<Item = (u32, u64)> {
    (0..=index.trailing_ones()).map(move |level| (level, index >> level))
}

/// Decodes, verifies and looks up a chunk of stored entries on all cores.
pub(crate) fn check_chunk<S: Store + ?Sized>(
    store: &S,
    chunk: Vec<(Seq, Vec<u8>)>,
) -> Vec<Checked> {
    let entries: Vec<(Seq, Result<VerifiedEntry, String>)> = chunk
        .into_par_iter()
        .map(|(key, bytes)| {
            let entry = VerifiedEntry::from_bytes(&bytes).map_err(|e| e.at(key.0).to_string());
            (key, entry)
        })
        .collect();
    // Read here, a chunk at a time, so that the ordering thread only
    // compares: the index record of each event that decoded, and the nodes
    // each entry completes.
    let ids: Vec<EventId> = entries
        .iter()
        .filter_map(|(_, e)| e.as_ref().ok().map(|v| v.event.id))
        .collect();
    let mut seqs = spread(store.seqs_of(&ids), ids.len()).into_iter();
    let keeps_nodes = store.keeps_nodes();
    let wanted: Vec<(u32, u64)> = match keeps_nodes {
        true => entries
            .iter()
            .flat_map(|(k, _)| completed_by(k.0))
            .collect(),
        false => Vec::new(),
    };
    let mut nodes = spread(store.nodes(&wanted), wanted.len()).into_iter();
    entries
        .into_iter()
        .map(|(key, entry)| {
            let index = match &entry {
                Ok(_) => seqs.next().unwrap_or(Ok(None)),
                Err(_) => Ok(None),
            };
            let nodes = match keeps_nodes {
                true => completed_by(key.0)
                    .map(|_| nodes.next().unwrap_or(Ok(None)))
                    .collect(),
                false => Vec::new(),
            };
            Checked {
                key,
                entry,
                index,
                nodes,
            }
        })
        .collect()
}

/// The `n` answers of a batched read, or its error given to each.
fn spread<T: Clone>(
    read: Result<Vec<Option<T>>, StoreError>,
    n: usize,
) -> Vec<Result<Option<T>, String>> {
    match read {
        Ok(all) => all.into_iter().map(Ok).collect(),
        Err(e) => vec![Err(e.to_string()); n],
    }
}

/// The checks of one stored entry that concern the evidence itself, in
/// ledger order: it is the next entry, stored under the number it states,
/// linked to the entry before, and admitted by the rules; it is then
/// applied to `state` and pushed on `chain`. `beside` is a fault found
/// beside the entry (the event-id index), reported before the rules run.
/// `verify` and `repair` both judge entries with it.
pub(crate) fn check_in_order<A: Admission>(
    chain: &mut Chain,
    state: &mut A,
    key: Seq,
    entry: Result<VerifiedEntry, String>,
    beside: impl FnOnce(&VerifiedEntry) -> Option<String>,
) -> Result<VerifiedEntry, String> {
    let expected = chain.size;
    if key.0 != expected {
        return Err(format!(
            "entry #{expected} is missing (next stored is #{})",
            key.0
        ));
    }
    let v = entry?;
    if v.entry.seq != key {
        return Err(format!(
            "entry stored as #{} says it is #{}",
            key.0, v.entry.seq.0
        ));
    }
    chain.check(&v).map_err(|e| e.to_string())?;
    if let Some(reason) = beside(&v) {
        return Err(reason);
    }
    match state.check(key, v.entry.received, &v.event, v.signed_by) {
        Ok(effect) => state.apply(key, v.hash, v.entry.received, effect),
        Err(e) => {
            return Err(format!(
                "entry #{expected}: event {} is not admissible: {e}",
                v.event.id
            ));
        }
    }
    chain.push(v.hash, v.entry.received);
    Ok(v)
}

/// Checks one stored entry in order, and the Merkle nodes the entry
/// before it completed; returns the fault if it has one.
fn step<A: Admission>(
    chain: &mut Chain,
    frontier: &mut Frontier,
    pending: &mut Vec<(NewNode, Option<Hash>)>,
    state: &mut A,
    checked: Checked,
) -> Option<Fault> {
    let expected = chain.size;
    let key = checked.key;
    let fault = |reason: String| {
        Some(Fault {
            seq: Some(expected),
            reason,
        })
    };
    // Event ids are unique: the index must point at this very entry.
    let index = checked.index;
    let index_fault = |v: &VerifiedEntry| {
        let id = v.event.id;
        match index {
            Ok(Some(at)) if at == key => None,
            Ok(Some(at)) => Some(format!("entry #{}: event {id} is also at #{}", key.0, at.0)),
            Ok(None) => Some(format!("entry #{}: event {id} is not in the index", key.0)),
            Err(e) => Some(e),
        }
    };
    let v = match check_in_order(chain, state, key, checked.entry, index_fault) {
        Ok(v) => v,
        Err(reason) => return fault(reason),
    };
    // The nodes the previous entry completed are checked now that this
    // entry links to it: a changed entry is reported as such, not as the
    // stored node that no longer matches it.
    if let Some(f) = check_nodes(pending, expected.saturating_sub(1)) {
        return Some(f);
    }
    let computed = frontier.push(&v.hash);
    match checked
        .nodes
        .into_iter()
        .collect::<Result<Vec<_>, String>>()
    {
        Ok(stored) if stored.is_empty() => {}
        Ok(stored) => pending.extend(computed.into_iter().zip(stored)),
        Err(e) => return fault(e),
    }
    None
}

/// Checks that every computed node in `nodes` (completed by entry `seq`) is
/// stored as computed: proofs are served from them.
fn check_nodes(nodes: &mut Vec<(NewNode, Option<Hash>)>, seq: u64) -> Option<Fault> {
    for (node, stored) in nodes.drain(..) {
        if stored != Some(node.hash) {
            return Some(Fault {
                seq: Some(seq),
                reason: format!(
                    "the stored Merkle node ({}, {}) is {}, but entry #{seq} gives {}",
                    node.level,
                    node.index,
                    stored.map_or_else(|| "missing".to_owned(), |h| h.to_string()),
                    node.hash
                ),
            });
        }
    }
    None
}

/// Checks that the store holds no index record or Merkle node beyond those
/// of its entries, each of which was checked with its entry: one index
/// record an entry, and `size >> level` nodes at each level.
fn check_counts<S: Store + ?Sized>(store: &S, size: u64) -> Result<Option<Fault>, StoreError> {
    let Some((index, nodes)) = store.derived_counts()? else {
        return Ok(None);
    };
    let tree: u64 = (0..64).map(|level| size >> level).sum();
    let stray = |what: &str, stored: u64, want: u64| Fault {
        seq: None,
        reason: format!(
            "{stored} {what} records are stored where the {size} entries give {want}: \
             {} belong to no entry (`review-ledger repair` removes them)",
            stored.abs_diff(want)
        ),
    };
    Ok(if index != size {
        Some(stray("event-id index", index, size))
    } else if store.keeps_nodes() && nodes != tree {
        Some(stray("Merkle node", nodes, tree))
    } else {
        None
    })
}

fn check_checkpoint<S: Store + ?Sized, A: Admission>(
    store: &S,
    state: &A,
    chain: &Chain,
    frontier: &Frontier,
) -> Result<Checkpoint, Fault> {
    let whole = |reason: String| Fault { seq: None, reason };
    let note = store
        .checkpoint()
        .map_err(|e| whole(e.to_string()))?
        .ok_or_else(|| whole("no checkpoint is stored".into()))?;
    let key = state
        .checkpoint_key()
        .ok_or_else(|| whole("genesis names no checkpoint key".into()))?;
    let cp = Checkpoint::verify(&note, &key).map_err(|e| whole(e.to_string()))?;
    let ledger_id = chain.ledger_id.unwrap_or(Hash::ZERO);
    if cp.ledger_id != ledger_id {
        return Err(whole(format!(
            "checkpoint is for ledger {}, not {ledger_id}",
            cp.ledger_id
        )));
    }
    if cp.size != chain.size {
        return Err(whole(format!(
            "checkpoint states {} entries but {} verified",
            cp.size, chain.size
        )));
    }
    if cp.head != chain.head {
        let last = chain.size - 1;
        return Err(Fault {
            seq: Some(last),
            reason: format!(
                "entry #{last} hashes to {} but the checkpoint's head is {}",
                chain.head, cp.head
            ),
        });
    }
    if cp.root != frontier.root() {
        return Err(whole(format!(
            "checkpoint root {} differs from the recomputed root {}",
            cp.root,
            frontier.root()
        )));
    }
    if cp.subjects != state.subjects() {
        return Err(whole(format!(
            "checkpoint commits to subject map {} but the entries give {}",
            cp.subjects
                .map(|h| h.to_hex())
                .unwrap_or_else(|| "none".into()),
            state
                .subjects()
                .map(|h| h.to_hex())
                .unwrap_or_else(|| "none".into())
        )));
    }
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nodes_read_for_an_entry_are_those_it_completes() {
        let mut f = Frontier::default();
        for i in 0..300u64 {
            let computed: Vec<(u32, u64)> = f
                .push(&ledger_core::hash_entry_bytes(&i.to_le_bytes()))
                .iter()
                .map(|n| (n.level, n.index))
                .collect();
            assert_eq!(completed_by(i).collect::<Vec<_>>(), computed, "leaf {i}");
        }
    }
}
