//! One hosted ledger: its writer, the projection state that follows its
//! durable entries, and the signal that wakes the feeds.
//!
//! Everything here is blocking (sled and the writer block); the gRPC
//! handlers call it through `tokio::task::spawn_blocking`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use ledger_core::{Admission, Entry, Event, LedgerId, Seq, SignedEvent};
use ledger_store::{
    AppendError, Head, Ledger, Receipt, SledStore, Store, StoreError, system_clock,
};
use review::{LedgerState, Rejection};
use tokio::sync::watch;

use crate::error::ServiceError;

/// A ledger directory opened by the server.
pub struct Hosted {
    /// The ledger id (the genesis entry hash).
    pub id: LedgerId,
    /// The directory it was opened from.
    pub dir: PathBuf,
    ledger: Ledger<SledStore, LedgerState>,
    /// Appends hold this shared while they are in the writer; a snapshot
    /// takes it exclusively for the instant it reads the head, so that it
    /// never sees a batch that is written but not yet flushed.
    gate: RwLock<()>,
    /// The projection state after the first `state.size` entries, which are
    /// all durable. It is rebuilt by the same fold as the writer's own
    /// private state, from the stored entries, never shared with it.
    state: RwLock<LedgerState>,
    /// Entries acknowledged durable (the largest receipt seq plus one).
    durable: AtomicU64,
    /// The checkpoint note of the latest acknowledged batch, beside the
    /// largest acknowledged size it was taken for.
    checkpoint: Mutex<(u64, String)>,
    /// The size the state has applied: the feeds' wake-up signal and the
    /// bound of everything the server shows.
    applied: watch::Sender<u64>,
}

/// A hosted ledger's stored end as of one instant, for a full verification
/// that must not see appends made while it runs.
pub struct Snapshot {
    inner: Arc<SledStore>,
    head: Head,
    checkpoint: Option<String>,
    witness: Option<String>,
}

impl Hosted {
    /// Opens `dir` with a sled cache of `cache_bytes`, replays it and
    /// starts its writer.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Hosted, ServiceError> {
        let err = |source: StoreError| ServiceError::Open {
            dir: dir.to_owned(),
            source,
        };
        let store = SledStore::open_with_cache(dir, cache_bytes).map_err(err)?;
        let key = store.checkpoint_key().map_err(err)?;
        let mut state = LedgerState::new();
        let loaded = ledger_store::load(&store, &mut state).map_err(err)?;
        if let Some(why) = &loaded.ignored {
            eprintln!(
                "warning: {}: {why}; every entry was replayed instead",
                dir.display()
            );
        }

        let id = state
            .roster
            .ledger_id
            .ok_or_else(|| ServiceError::NoGenesis(dir.to_owned()))?;
        let note = store.checkpoint().map_err(err)?.unwrap_or_default();
        let size = loaded.chain.size;
        let ledger =
            Ledger::start_loaded(store, state.clone(), loaded, key, system_clock()).map_err(err)?;
        let (applied, _) = watch::channel(size);
        Ok(Hosted {
            id,
            dir: dir.to_owned(),
            ledger,
            gate: RwLock::new(()),
            state: RwLock::new(state),
            durable: AtomicU64::new(size),
            checkpoint: Mutex::new((size, note)),
            applied,
        })
    }

    /// The store, for reads. Read only below [`Hosted::size`].
    pub fn store(&self) -> &SledStore {
        self.ledger.store()
    }

    /// Entries that are durable and applied: what the server shows.
    pub fn size(&self) -> u64 {
        *self.applied.borrow()
    }

    /// A receiver of the applied size, which wakes feeds.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    /// The projection state, read-locked. Hold it briefly.
    pub fn state(&self) -> RwLockReadGuard<'_, LedgerState> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The latest acknowledged checkpoint note: nothing it states can be
    /// lost, unlike a stored note whose batch may not be flushed yet.
    pub fn checkpoint(&self) -> String {
        self.checkpoint
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clone()
    }

    /// Appends one signed event and returns once it is durable and applied
    /// to the projection state.
    pub fn append(&self, signed: SignedEvent) -> Result<Receipt, AppendError<Rejection>> {
        let receipt = {
            let _shared = self.gate.read().unwrap_or_else(|p| p.into_inner());
            self.ledger.append(signed)?
        };
        let size = receipt.seq.0 + 1;
        self.durable.fetch_max(size, Ordering::SeqCst);
        {
            let mut cp = self.checkpoint.lock().unwrap_or_else(|p| p.into_inner());
            // Every receipt of one batch carries the same checkpoint; a later
            // batch has larger sequence numbers.
            if size > cp.0 {
                *cp = (size, receipt.checkpoint.clone());
            }
        }
        self.catch_up()
            .map_err(|e| AppendError::Store(format!("projection of {}: {e}", self.id)))?;
        Ok(receipt)
    }

    /// Applies the durable entries the state has not seen yet, then wakes
    /// the feeds.
    fn catch_up(&self) -> Result<(), StoreError> {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let target = self.durable.load(Ordering::SeqCst);
        while state.size < target {
            let want = (target - state.size).min(1024) as usize;
            let chunk = self.store().range(Seq(state.size), want)?;
            if chunk.is_empty() {
                break;
            }
            for (seq, bytes) in chunk {
                if seq.0 >= target {
                    break;
                }
                apply(&mut state, seq, &bytes)?;
            }
        }
        let size = state.size;
        drop(state);
        self.applied.send_if_modified(|s| {
            let grew = size > *s;
            *s = (*s).max(size);
            grew
        });
        Ok(())
    }

    /// A snapshot of the stored end: no append is between its head and
    /// its checkpoint.
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let _exclusive = self.gate.write().unwrap_or_else(|p| p.into_inner());
        let inner = self.ledger.store().clone();
        Ok(Snapshot {
            head: inner.head()?,
            checkpoint: inner.checkpoint()?,
            witness: inner.witness()?,
            inner,
        })
    }

    /// Stops taking appends, lets queued ones finish, and waits for the writer.
    pub fn close(&self) {
        self.ledger.close();
    }
}

/// Folds one stored entry into `state`. The entry was admitted by the
/// writer; the same rules must admit it here.
fn apply(state: &mut LedgerState, seq: Seq, bytes: &[u8]) -> Result<(), StoreError> {
    let damaged = |e: ledger_core::Error| StoreError::Damaged {
        what: format!("entry {seq}"),
        reason: e.to_string(),
    };
    let entry = Entry::decode(bytes).map_err(damaged)?;
    let event = Event::decode(&entry.event).map_err(damaged)?;
    let hash = ledger_core::hash_entry_bytes(bytes);
    let effect = state
        .check(seq, entry.received, &event, entry.signature.claims())
        .map_err(|e| StoreError::Replay {
            seq,
            reason: e.to_string(),
        })?;
    state.apply(seq, hash, entry.received, effect);
    Ok(())
}

impl Store for Snapshot {
    fn head(&self) -> ledger_store::Result<Head> {
        Ok(self.head.clone())
    }

    fn entry(&self, seq: Seq) -> ledger_store::Result<Option<Vec<u8>>> {
        if seq.0 >= self.head.size {
            return Ok(None);
        }
        self.inner.entry(seq)
    }

    fn range(&self, start: Seq, limit: usize) -> ledger_store::Result<Vec<(Seq, Vec<u8>)>> {
        if start.0 >= self.head.size {
            return Ok(Vec::new());
        }
        let left = (self.head.size - start.0).min(limit as u64) as usize;
        self.inner.range(start, left)
    }

    fn seq_of(&self, id: &ledger_core::EventId) -> ledger_store::Result<Option<Seq>> {
        Ok(self.inner.seq_of(id)?.filter(|s| s.0 < self.head.size))
    }

    fn node(&self, level: u32, index: u64) -> ledger_store::Result<Option<ledger_core::Hash>> {
        self.inner.node(level, index)
    }

    fn checkpoint(&self) -> ledger_store::Result<Option<String>> {
        Ok(self.checkpoint.clone())
    }

    // A state snapshot past the head is refused by `ledger_store::load`,
    // which then folds every entry up to the head.
    fn snapshot(&self) -> ledger_store::Result<Option<Vec<u8>>> {
        self.inner.snapshot()
    }

    fn witness(&self) -> ledger_store::Result<Option<String>> {
        Ok(self.witness.clone())
    }

    fn append(&self, _batch: &ledger_store::Batch) -> ledger_store::Result<()> {
        Err(StoreError::Database {
            path: self.inner.dir().to_owned(),
            message: "a verification snapshot is read-only".into(),
        })
    }
}
