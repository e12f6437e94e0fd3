//! Snapshots of the admission state, so that opening a ledger costs what
//! was appended since the last one, not the ledger's whole history.
//!
//! The writer stores one every [`SNAPSHOT_EVERY`] entries, after the batch
//! that reaches it is durable, and one when it is closed cleanly after
//! [`SNAPSHOT_ON_CLOSE_AFTER`] entries or more since the last, in the
//! file `state.snapshot` beside the database (replaced whole: written,
//! synced, renamed). A snapshot record holds the state's bytes (the domain's
//! [`Admission::snapshot`]), their blake3 hash, the size they cover and the
//! Merkle root at that size. [`load`] uses it only when all of them agree
//! with the log (the hash with the bytes, the size with the head, the root
//! with the stored tree, the bytes with this version of the domain);
//! otherwise it says why, and replays from the start. A snapshot is derived
//! data, like the Merkle nodes: it is never evidence, `verify` never uses
//! it (it replays everything), and `repair` removes one that does not
//! match the entries.

use bytes::Bytes;
use ledger_core::codec::{self, Shared};
use ledger_core::merkle::range_root;
use ledger_core::{Admission, Chain, Entry, Hash, Seq};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::store::{Store, StoreNodes};
use crate::writer::fold;

/// The writer stores a snapshot each time the ledger grows past a multiple
/// of this many entries.
pub const SNAPSHOT_EVERY: u64 = 10_000;

/// A clean close stores a snapshot only when the ledger has grown by at
/// least this many entries since the last one: a command that appends one
/// event does not rewrite the whole state for it (the next open folds the
/// few entries since, in milliseconds).
pub const SNAPSHOT_ON_CLOSE_AFTER: u64 = 1_000;

/// A stored snapshot.
#[derive(Serialize, Deserialize)]
struct Record {
    /// The entries it covers.
    size: u64,
    /// The Merkle root of those entries.
    root: Hash,
    /// The blake3 hash of `state`.
    state_hash: Hash,
    /// The domain's state after `size` entries, a slice of the record's
    /// bytes once read.
    state: Shared,
}

/// The snapshot record of `state` after `size` entries whose Merkle root is
/// `root`; `None` when the domain keeps none or it is too large.
pub fn record<A: Admission>(state: &A, size: u64, root: Hash) -> Option<Vec<u8>> {
    let state = state.snapshot()?;
    let state_hash = Hash(codec::hash_large(&state));
    codec::encode_snapshot(&Record {
        size,
        root,
        state_hash,
        state: Shared(state.into()),
    })
}

/// What [`load`] did.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The chain after the last stored entry.
    pub chain: Chain,
    /// The size of the snapshot it started from, if it used one.
    pub from: Option<u64>,
    /// Why a stored snapshot was not used, if one was stored.
    pub ignored: Option<String>,
}

/// Rebuilds `state` (which must be the state before genesis) and the chain
/// from the newest snapshot that matches the log and the entries after it,
/// or from every entry when there is none.
pub fn load<S: Store + ?Sized, A: Admission>(
    store: &S,
    state: &mut A,
) -> Result<Loaded, StoreError> {
    let head = store.head()?;
    let mut loaded = Loaded::default();
    if let Some(bytes) = store.snapshot()? {
        match restore::<S, A>(store, &Bytes::from(bytes), head.size) {
            Ok((restored, chain)) => {
                *state = restored;
                loaded.from = Some(chain.size);
                loaded.chain = chain;
            }
            Err(why) => loaded.ignored = Some(why),
        }
    }
    fold(store, state, &mut loaded.chain, head.size)?;
    Ok(loaded)
}

/// The state and chain a stored snapshot gives, or why it cannot be used.
fn restore<S: Store + ?Sized, A: Admission>(
    store: &S,
    bytes: &Bytes,
    stored: u64,
) -> Result<(A, Chain), String> {
    let r: Record = codec::decode_snapshot_shared("snapshot", bytes)
        .map_err(|e| format!("the stored snapshot does not decode: {e}"))?;
    if r.size == 0 || r.size > stored {
        return Err(format!(
            "the stored snapshot covers {} entries, but {stored} are stored",
            r.size
        ));
    }
    if Hash(codec::hash_large(&r.state.0)) != r.state_hash {
        return Err("the stored snapshot is damaged: its hash does not match its bytes".into());
    }
    let root = range_root(&StoreNodes(store), 0, r.size)
        .map_err(|e| format!("the Merkle root at the snapshot's size cannot be read: {e}"))?;
    if root != r.root {
        return Err(format!(
            "the stored snapshot is of another history: its root at {} entries is {}, the log's {root}",
            r.size, r.root
        ));
    }
    let state = A::restore(&r.state.0, r.size).ok_or_else(|| {
        "the stored snapshot is of another version of the ledger's rules".to_owned()
    })?;
    let entry = |seq: u64| -> Result<(Hash, Entry), String> {
        let bytes = store
            .entry(Seq(seq))
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("entry #{seq} is missing"))?;
        let entry = Entry::decode(&bytes).map_err(|e| format!("entry #{seq}: {e}"))?;
        Ok((ledger_core::hash_entry_bytes(&bytes), entry))
    };
    let (ledger_id, _) = entry(0)?;
    let (head, last) = entry(r.size - 1)?;
    let chain = Chain {
        size: r.size,
        head,
        ledger_id: Some(ledger_id),
        last_received: last.received,
    };
    Ok((state, chain))
}

/// What an [`Audit`] keeps of the stored record: not its state's bytes,
/// which would stay in memory for the whole pass, but their hash and the
/// version they start with.
struct Audited {
    size: u64,
    root: Hash,
    state_hash: Hash,
    version: Option<[u8; 4]>,
}

/// A stored snapshot record checked against the entries as a pass over
/// them goes (by `verify` and `repair`): [`Audit::at`] is told each size
/// and the state and Merkle root there, and compares the record once the
/// pass reaches its size.
pub(crate) struct Audit {
    record: Option<Audited>,
    /// What is wrong with the record, once known.
    pub fault: Option<String>,
    /// Whether the pass reached the record's size.
    reached: bool,
}

impl Audit {
    /// Starts checking the stored snapshot record `bytes`, if any.
    pub fn new(bytes: Option<Vec<u8>>) -> Audit {
        let mut audit = Audit {
            record: None,
            fault: None,
            reached: false,
        };
        let Some(bytes) = bytes else {
            audit.reached = true;
            return audit;
        };
        match codec::decode_snapshot_shared::<Record>("snapshot", &Bytes::from(bytes)) {
            Err(e) => audit.fault = Some(format!("the stored snapshot does not decode: {e}")),
            Ok(r) if Hash(codec::hash_large(&r.state.0)) != r.state_hash => {
                audit.fault =
                    Some("the stored snapshot is damaged: its hash does not match its bytes".into())
            }
            Ok(r) => {
                audit.record = Some(Audited {
                    size: r.size,
                    root: r.root,
                    state_hash: r.state_hash,
                    version: r.state.0.get(..4).and_then(|v| v.try_into().ok()),
                })
            }
        }
        if audit.fault.is_some() {
            audit.reached = true;
        }
        audit
    }

    /// The pass has applied `size` entries, giving `state` and `root`.
    pub fn at<A: Admission>(&mut self, size: u64, state: &A, root: Hash) {
        let Some(r) = &self.record else { return };
        if r.size != size {
            return;
        }
        self.reached = true;
        if r.root != root {
            self.fault = Some(format!(
                "the stored snapshot is of another history: its root at {size} entries is {}, the entries give {root}",
                r.root
            ));
            return;
        }
        // Compared only when written by this version of the domain: one of
        // another version is ignored when the ledger opens, and replaced.
        if let Some(ours) = state.snapshot()
            && ours.get(..4) == r.version.as_ref().map(|v| &v[..])
            && Hash(codec::hash_large(&ours)) != r.state_hash
        {
            self.fault = Some(format!(
                "the stored snapshot of the first {size} entries is not the state they give"
            ));
        }
    }

    /// What is wrong with the record once the pass is over `size` entries.
    pub fn finish(mut self, size: u64) -> Option<String> {
        if !self.reached
            && let Some(r) = &self.record
        {
            self.fault = Some(format!(
                "the stored snapshot covers {} entries, but {size} are stored",
                r.size
            ));
        }
        self.fault
    }
}
