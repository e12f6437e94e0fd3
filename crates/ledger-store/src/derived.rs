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

use ledger_core::{Checkpoint, Entry, Frontier, Hash, PublicKey, Seq};

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
