//! The one writer that owns the head, with group commit.
//!
//! [`Ledger::append`] queues a signed event and blocks until it is durable
//! or refused. The writer thread takes everything queued (up to
//! [`MAX_BATCH`]), verifies the signatures on all cores, then, in order,
//! refuses duplicates (stored, in this batch, or in a batch still being
//! written) and events for another ledger, runs the admission rules, and
//! chains the survivors. The committer thread writes each prepared batch
//! with its Merkle nodes, head and a fresh checkpoint in one atomic sled
//! batch, flushes, and only then answers every caller in it. The two
//! threads form a pipeline: batch N is flushed while batch N + 1 is verified.
//!
//! The admission state is private to the writer: nothing outside it can
//! see an effect before it is durable. If a write fails (a full disk), the
//! batches prepared on top of it are refused too, and the writer's state,
//! now ahead of the disk, is dropped: before the next batch the writer
//! rebuilds it from what the store holds (the store opens its database
//! again and the entries are replayed, the derived records at the end
//! checked), so that appends work again once the cause is gone, without
//! reopening the ledger. Until the store can be read, every append is
//! refused with the reason.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use ledger_core::merkle::NewNode;
use ledger_core::{
    Admission, Chain, Checkpoint, Entry, EntryHash, Event, EventId, Hash, KeyPair, Seq,
    SignedEvent, UnixMicros,
};
use rayon::prelude::*;

use crate::error::StoreError;
use crate::store::{Batch, Head, Store};

/// The most events committed in one batch.
pub const MAX_BATCH: usize = 4096;

/// Batches up to this size have their signatures checked on the writer's
/// own thread; larger ones on all cores.
const INLINE_VERIFY: usize = 8;

/// How many prepared batches may wait for the committer, which writes
/// everything waiting with one flush.
const PIPELINE: usize = 64;

// Appends wait for the writer in an unbounded queue: each caller waits
// for its answer before it can send another, so the queue holds at most one
// append per calling thread, and the server bounds those (connections,
// streams, blocking threads). A bounded channel allocates and touches all
// its slots up front: 16,384 of them took 2.6 MB of every hosted ledger,
// most of what a small one costs (docs/SERVICE.md, "Limits").

/// What a caller gets once its event is durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The entry's sequence number.
    pub seq: Seq,
    /// The entry's hash.
    pub hash: EntryHash,
    /// The ledger's receive time of the entry.
    pub received: UnixMicros,
    /// The signed checkpoint of the batch that holds the entry.
    pub checkpoint: String,
}

/// Why an append was refused. Nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum AppendError<R: std::error::Error + 'static> {
    /// The bytes are malformed, oversized or the signature does not verify.
    #[error("event refused: {0}")]
    Invalid(ledger_core::Error),
    /// The event is signed for another ledger.
    #[error("event {event} is for ledger {found}, this ledger is {expected}")]
    WrongLedger {
        /// The event.
        event: EventId,
        /// The ledger it names.
        found: Hash,
        /// This ledger's id (zeros before genesis).
        expected: Hash,
    },
    /// An entry with this event id exists already.
    #[error("event {event} is already in the ledger{}", match seq {
        Some(seq) => format!(" at {seq}"),
        None => " (appended moments ago, not yet durable)".to_owned(),
    })]
    Duplicate {
        /// The event.
        event: EventId,
        /// Where the stored copy is, or `None` when the copy is still being written.
        seq: Option<Seq>,
    },
    /// The admission rules refused it.
    #[error("event {event} refused: {source}")]
    Rejected {
        /// The event.
        event: EventId,
        /// The rule it breaks.
        source: R,
    },
    /// The store failed (a full disk, a damaged database). The event is
    /// not acknowledged. When the write itself failed part way, whether it
    /// reached the disk is known once the database is read again: look the
    /// event id up, or send the same event again, which is refused as a
    /// duplicate naming its entry if it was stored.
    #[error("ledger storage failed: {0}")]
    Store(String),
    /// Another process writes this ledger: this one serves its reads. The
    /// event was not appended; send it to the writer, or again once this
    /// one has taken over.
    #[error("{0}")]
    NotWriter(String),
}

type Reply<R> = SyncSender<Result<Receipt, AppendError<R>>>;

struct Request<R: std::error::Error + 'static> {
    signed: SignedEvent,
    reply: Reply<R>,
}

/// A clock for the ledger's receive times.
pub type Clock = Box<dyn Fn() -> UnixMicros + Send>;

/// The system clock in microseconds.
pub fn system_clock() -> Clock {
    Box::new(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        UnixMicros(now.as_micros() as i64)
    })
}

/// Whether the store's writes are failing, shared by the writer and the
/// committer.
#[derive(Default)]
struct Health {
    /// Bumped each time the writer rebuilds its state from the store: a
    /// batch prepared in an older epoch built on a write that failed.
    epoch: u64,
    /// Why the last write failed, until the writer has rebuilt its state.
    failed: Option<String>,
}

/// An open ledger that accepts appends.
pub struct Ledger<S: Store, A: Admission> {
    store: Arc<S>,
    queue: Mutex<Option<Sender<Request<A::Rejection>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl<S: Store, A: Admission + Default + 'static> Ledger<S, A> {
    /// Starts the writer on `store`, first replaying every stored entry
    /// through `state` to rebuild the admission state. `A::default()` is
    /// the state of an empty ledger, which the writer replays into again
    /// after a failed write.
    pub fn start(
        store: S,
        mut state: A,
        checkpoint_key: KeyPair,
        clock: Clock,
    ) -> Result<Self, StoreError> {
        let loaded = crate::snapshot::load(&store, &mut state)?;
        Self::start_loaded(store, state, loaded, checkpoint_key, clock)
    }

    /// Starts the writer with a state and chain that
    /// [`crate::snapshot::load`] has already rebuilt from this store.
    pub fn start_loaded(
        store: S,
        state: A,
        loaded: crate::snapshot::Loaded,
        checkpoint_key: KeyPair,
        clock: Clock,
    ) -> Result<Self, StoreError> {
        let snapshot_at = loaded.from.unwrap_or(0);
        Self::begin(
            store,
            state,
            loaded.chain,
            snapshot_at,
            checkpoint_key,
            clock,
        )
    }

    /// Starts the writer with a state and chain that [`replay`] has already
    /// rebuilt from this store.
    pub fn start_replayed(
        store: S,
        state: A,
        chain: Chain,
        checkpoint_key: KeyPair,
        clock: Clock,
    ) -> Result<Self, StoreError> {
        Self::begin(store, state, chain, 0, checkpoint_key, clock)
    }

    /// Starts the writer; `snapshot_at` is the size of the stored snapshot
    /// the state was loaded from (0 for none), so that a clean close stores
    /// one only when the ledger has grown since.
    fn begin(
        store: S,
        state: A,
        chain: Chain,
        snapshot_at: u64,
        checkpoint_key: KeyPair,
        clock: Clock,
    ) -> Result<Self, StoreError> {
        store.check_writable()?;
        if let Some(named) = state.checkpoint_key()
            && named != checkpoint_key.public()
        {
            return Err(StoreError::Derived {
                record: "checkpoint key file".into(),
                reason: format!(
                    "its key {} is not the checkpoint key {} that genesis names",
                    checkpoint_key.public().fingerprint(),
                    named.fingerprint()
                ),
            });
        }
        let head = checked_end(&store, &state, &chain)?;
        let store = Arc::new(store);
        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            store: store.clone(),
            state,
            chain,
            frontier: head.frontier,
            key: checkpoint_key,
            clock,
            in_flight: Arc::default(),
            health: Arc::default(),
            snapshot_at,
        };
        let thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|source| StoreError::Io {
                path: "ledger-writer thread".into(),
                source,
            })?;
        Ok(Ledger {
            store,
            queue: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The store, for reads.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    /// Appends one signed event; returns once it is durable, or why it was refused.
    pub fn append(&self, signed: SignedEvent) -> Result<Receipt, AppendError<A::Rejection>> {
        let (reply, answer) = mpsc::sync_channel(1);
        let queue = self
            .queue
            .lock()
            .map_err(|_| AppendError::Store("writer lock poisoned".into()))?
            .clone()
            .ok_or_else(|| AppendError::Store("ledger is closed".into()))?;
        queue
            .send(Request { signed, reply })
            .map_err(|_| AppendError::Store("ledger writer has stopped".into()))?;
        answer
            .recv()
            .map_err(|_| AppendError::Store("ledger writer has stopped".into()))?
    }

    /// Stops taking appends, lets queued ones finish durably, and waits for the writer.
    pub fn close(&self) {
        if let Ok(mut q) = self.queue.lock() {
            q.take();
        }
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

impl<S: Store, A: Admission> Drop for Ledger<S, A> {
    fn drop(&mut self) {
        if let Ok(mut q) = self.queue.lock() {
            q.take();
        }
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

/// Checks, before anything is appended on them, the derived records at the
/// end of the store (see [`crate::derived::check_end`]) and that they
/// describe the end of the replayed `chain`.
fn checked_end<S: Store + ?Sized, A: Admission>(
    store: &S,
    state: &A,
    chain: &Chain,
) -> Result<Head, StoreError> {
    let head = match state.checkpoint_key() {
        Some(key) => crate::derived::check_end(store, &key)?,
        None => store.head()?,
    };
    if chain.head != head.hash || chain.size != head.size {
        return Err(StoreError::HeadMismatch {
            head_size: head.size,
            head_hash: head.hash.to_hex(),
            found: format!(
                "the entries chain to {} entries ending in {}",
                chain.size, chain.head
            ),
        });
    }
    Ok(head)
}

/// Rebuilds the admission state and the chain from every stored entry.
/// The signatures were verified when the entries were admitted;
/// [`crate::verify`] checks them again. Opening a ledger uses
/// [`crate::snapshot::load`] instead, which starts from a snapshot.
pub fn replay<S: Store + ?Sized, A: Admission>(
    store: &S,
    state: &mut A,
) -> Result<Chain, StoreError> {
    let size = store.head()?.size;
    let mut chain = Chain::default();
    fold(store, state, &mut chain, size)?;
    Ok(chain)
}

/// Folds the stored entries from `chain.size` up to `size` into `state`
/// and `chain`.
pub(crate) fn fold<S: Store + ?Sized, A: Admission>(
    store: &S,
    state: &mut A,
    chain: &mut Chain,
    size: u64,
) -> Result<(), StoreError> {
    while chain.size < size {
        let chunk = store.range(Seq(chain.size), 4096)?;
        if chunk.is_empty() {
            break;
        }
        for (seq, bytes) in chunk {
            let damaged = |e: ledger_core::Error| StoreError::Damaged {
                what: format!("entry {seq}"),
                reason: e.to_string(),
            };
            let entry = Entry::decode(&bytes).map_err(damaged)?;
            let event = Event::decode(&entry.event).map_err(damaged)?;
            let v = ledger_core::VerifiedEntry {
                hash: ledger_core::hash_entry_bytes(&bytes),
                signed_by: entry.signature.claims(),
                entry,
                event,
            };
            chain.link(&v).map_err(damaged)?;
            let effect = state
                .check(seq, v.entry.received, &v.event, v.signed_by)
                .map_err(|e| StoreError::Replay {
                    seq,
                    reason: e.to_string(),
                })?;
            state.apply(seq, v.hash, v.entry.received, effect);
        }
    }
    Ok(())
}

struct Writer<S: Store, A: Admission> {
    store: Arc<S>,
    state: A,
    chain: Chain,
    frontier: ledger_core::Frontier,
    key: KeyPair,
    clock: Clock,
    /// Event ids of batches handed to the committer and not yet durable,
    /// with the epoch they were prepared in.
    in_flight: Arc<Mutex<HashMap<EventId, u64>>>,
    /// Whether a write failed: the writer's state is then ahead of the disk.
    health: Arc<Mutex<Health>>,
    /// The size of the last snapshot prepared or found stored.
    snapshot_at: u64,
}

/// A batch ready to write, with the callers to answer once it is durable.
struct Prepared<R: std::error::Error + 'static> {
    batch: Batch,
    accepted: Vec<(Reply<R>, Seq, EntryHash)>,
    received: UnixMicros,
    /// The [`Health::epoch`] it was prepared in.
    epoch: u64,
    /// A snapshot record of the state after it, to store once it is durable.
    snapshot: Option<Vec<u8>>,
}

/// Writes prepared batches in order, flushes, and only then answers.
struct Committer<S: Store> {
    store: Arc<S>,
    in_flight: Arc<Mutex<HashMap<EventId, u64>>>,
    health: Arc<Mutex<Health>>,
}

impl<S: Store> Committer<S> {
    fn run<R: std::error::Error + 'static>(self, rx: Receiver<Prepared<R>>) {
        while let Ok(first) = rx.recv() {
            // Everything prepared while the last flush ran goes out in one write and one flush.
            let mut group = vec![first];
            while let Ok(p) = rx.try_recv() {
                group.push(p);
            }
            self.commit(group);
        }
    }

    fn commit<R: std::error::Error + 'static>(&self, group: Vec<Prepared<R>>) {
        // A batch prepared before the last failed write was rebuilt from
        // builds on that write, and is never written; nor is anything while
        // a failure stands.
        let (epoch, failure) = match self.health.lock() {
            Ok(h) => (Some(h.epoch), h.failed.clone()),
            Err(_) => (None, Some("the ledger's state lock is poisoned".to_owned())),
        };
        let (group, stale): (Vec<_>, Vec<_>) = match (&failure, epoch) {
            (None, Some(epoch)) => group.into_iter().partition(|p| p.epoch == epoch),
            _ => (Vec::new(), group),
        };
        self.refuse(
            stale,
            failure.as_deref().unwrap_or(
                "a write before it failed and the ledger has recovered since: send the event again",
            ),
        );
        if group.is_empty() {
            return;
        }
        let last = group.len() - 1;
        let mut merged = Batch::default();
        for (i, p) in group.iter().enumerate() {
            merged.entries.extend(p.batch.entries.iter().cloned());
            merged.nodes.extend(p.batch.nodes.iter().copied());
            if i == last {
                merged.head = p.batch.head.clone();
                merged.checkpoint = p.batch.checkpoint.clone();
            }
        }
        // A snapshot goes with the batch that reaches it: committed with it
        // where the store can, else written once it is durable.
        merged.snapshot = group.iter().rev().find_map(|p| p.snapshot.clone());
        let result = self
            .store
            .append(&merged)
            .map_err(|e| format!("{e}; the append is not acknowledged"));
        self.landed(&merged.entries, group[0].epoch);
        if let Err(why) = &result
            && let Ok(mut h) = self.health.lock()
        {
            h.failed.get_or_insert(why.clone());
        }
        for p in group {
            for (reply, seq, hash) in p.accepted {
                let _ = reply.send(match &result {
                    Ok(()) => Ok(Receipt {
                        seq,
                        hash,
                        received: p.received,
                        checkpoint: merged.checkpoint.clone(),
                    }),
                    Err(why) => Err(AppendError::Store(why.clone())),
                });
            }
        }
    }

    /// Forgets the in-flight event ids of a batch of `epoch` that was
    /// written or refused (not those of a later epoch, which a caller sent
    /// again after a failure).
    fn landed(&self, entries: &[(Seq, EventId, Vec<u8>)], epoch: u64) {
        if let Ok(mut f) = self.in_flight.lock() {
            for (_, id, _) in entries {
                if f.get(id) == Some(&epoch) {
                    f.remove(id);
                }
            }
        }
    }

    /// Answers every caller in `batches` with `why`; nothing of them is written.
    fn refuse<R: std::error::Error + 'static>(&self, batches: Vec<Prepared<R>>, why: &str) {
        for p in batches {
            self.landed(&p.batch.entries, p.epoch);
            for (reply, _, _) in p.accepted {
                let _ = reply.send(Err(AppendError::Store(why.to_owned())));
            }
        }
    }
}

impl<S: Store, A: Admission + Default> Writer<S, A> {
    fn run(mut self, rx: Receiver<Request<A::Rejection>>) {
        // Batch N is written and flushed on the committer thread while this
        // thread verifies and admits batch N + 1.
        let (to_committer, from_writer) = mpsc::sync_channel::<Prepared<A::Rejection>>(PIPELINE);
        let committer = Committer {
            store: self.store.clone(),
            in_flight: self.in_flight.clone(),
            health: self.health.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("ledger-committer".into())
            .spawn(move || committer.run(from_writer));
        let Ok(handle) = handle else {
            self.fail("cannot start the committer thread".into());
            for r in rx {
                let _ = r.reply.send(Err(AppendError::Store(
                    "cannot start the committer thread".into(),
                )));
            }
            return;
        };
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            if let Some(prepared) = self.prepare(batch)
                && let Err(mpsc::SendError(p)) = to_committer.send(prepared)
            {
                for (reply, _, _) in p.accepted {
                    let _ = reply.send(Err(AppendError::Store(
                        "ledger committer has stopped".into(),
                    )));
                }
            }
        }
        drop(to_committer);
        let _ = handle.join();
        // Closed cleanly: a snapshot of the end when the ledger grew enough
        // since the last one (or has none), so that the next open folds
        // little.
        let healthy = self.health.lock().is_ok_and(|h| h.failed.is_none());
        if healthy
            && (self.chain.size >= self.snapshot_at + crate::snapshot::SNAPSHOT_ON_CLOSE_AFTER
                || (self.snapshot_at == 0 && self.chain.size > 0))
            && let Some(record) =
                crate::snapshot::record(&self.state, self.chain.size, self.frontier.root())
        {
            let _ = self.store.put_snapshot(&record);
        }
    }

    fn fail(&self, why: String) {
        if let Ok(mut h) = self.health.lock() {
            h.failed.get_or_insert(why);
        }
    }

    /// After a failed write, replaces this writer's state (ahead of the
    /// disk) with one rebuilt from what the store holds, and starts a new
    /// epoch; returns the epoch to prepare in, or why the store cannot be
    /// read yet.
    fn recover(&mut self) -> Result<u64, String> {
        let (epoch, why) = {
            let h = self
                .health
                .lock()
                .map_err(|_| "the ledger's state lock is poisoned".to_owned())?;
            match &h.failed {
                None => return Ok(h.epoch),
                Some(why) => (h.epoch, why.clone()),
            }
        };
        let mut state = A::default();
        let rebuilt = crate::snapshot::load(self.store.as_ref(), &mut state).and_then(|loaded| {
            checked_end(self.store.as_ref(), &state, &loaded.chain).map(|head| (loaded.chain, head))
        });
        let (chain, head) = rebuilt.map_err(|e| format!("{why}; still failing: {e}"))?;
        self.state = state;
        self.chain = chain;
        self.frontier = head.frontier;
        let mut h = self
            .health
            .lock()
            .map_err(|_| "the ledger's state lock is poisoned".to_owned())?;
        h.failed = None;
        h.epoch = epoch + 1;
        Ok(h.epoch)
    }

    /// Verifies, admits and chains a batch; `None` when nothing in it was admitted.
    fn prepare(&mut self, requests: Vec<Request<A::Rejection>>) -> Option<Prepared<A::Rejection>> {
        let epoch = match self.recover() {
            Ok(epoch) => epoch,
            Err(why) => {
                for r in requests {
                    let _ = r.reply.send(Err(AppendError::Store(why.clone())));
                }
                return None;
            }
        };
        // A few signatures are checked here: handing them to the shared
        // rayon pool would queue them behind whatever else it runs (an
        // auditor's whole-ledger verification, on a server).
        let verified: Vec<_> = if requests.len() <= INLINE_VERIFY {
            requests.iter().map(|r| r.signed.verify_signer()).collect()
        } else {
            requests
                .par_iter()
                .map(|r| r.signed.verify_signer())
                .collect()
        };
        let mut batch = Batch::default();
        let mut accepted: Vec<(Reply<A::Rejection>, Seq, EntryHash)> = Vec::new();
        let mut ids: HashSet<EventId> = HashSet::new();
        let now = (self.clock)().max(self.chain.last_received);
        for (request, verified) in requests.into_iter().zip(verified) {
            let outcome = self.admit(&request.signed, verified, now, epoch, &mut ids, &mut batch);
            match outcome {
                Ok((seq, hash)) => accepted.push((request.reply, seq, hash)),
                Err(e) => {
                    let _ = request.reply.send(Err(e));
                }
            }
        }
        if accepted.is_empty() {
            return None;
        }
        let checkpoint = Checkpoint {
            ledger_id: self.chain.ledger_id.unwrap_or(Hash::ZERO),
            size: self.chain.size,
            root: self.frontier.root(),
            head: self.chain.head,
            time: now,
            subjects: self.state.subjects(),
        };
        batch.checkpoint = checkpoint.sign(&self.key);
        batch.head = Head {
            size: self.chain.size,
            hash: self.chain.head,
            received: now,
            frontier: self.frontier.clone(),
        };
        if let Ok(mut f) = self.in_flight.lock() {
            f.extend(ids.into_iter().map(|id| (id, epoch)));
        }
        let size = self.chain.size;
        let snapshot = if size / crate::snapshot::SNAPSHOT_EVERY
            > self.snapshot_at / crate::snapshot::SNAPSHOT_EVERY
        {
            self.snapshot_at = size;
            // The writer's state, like a verification's, holds its history
            // compactly; the snapshot then copies the compact records.
            self.state.compact();
            crate::snapshot::record(&self.state, size, self.frontier.root())
        } else {
            None
        };
        Some(Prepared {
            batch,
            accepted,
            received: now,
            epoch,
            snapshot,
        })
    }

    /// Admits one event into the batch being built, or says why not.
    fn admit(
        &mut self,
        signed: &SignedEvent,
        verified: ledger_core::Result<(Event, ledger_core::SignedBy)>,
        now: UnixMicros,
        epoch: u64,
        ids: &mut HashSet<EventId>,
        batch: &mut Batch,
    ) -> Result<(Seq, EntryHash), AppendError<A::Rejection>> {
        let (event, signed_by) = verified.map_err(AppendError::Invalid)?;
        let expected = self.chain.ledger_id.unwrap_or(Hash::ZERO);
        if event.ledger != expected {
            return Err(AppendError::WrongLedger {
                event: event.id,
                found: event.ledger,
                expected,
            });
        }
        let seq = Seq(self.chain.size);
        let stored = self
            .store
            .seq_of(&event.id)
            .map_err(|e| AppendError::Store(e.to_string()))?;
        if let Some(first) = stored {
            return Err(AppendError::Duplicate {
                event: event.id,
                seq: Some(first),
            });
        }
        let in_flight = self
            .in_flight
            .lock()
            .map(|f| f.get(&event.id) == Some(&epoch))
            .unwrap_or(false);
        if ids.contains(&event.id) || in_flight {
            return Err(AppendError::Duplicate {
                event: event.id,
                seq: None,
            });
        }
        let effect = self
            .state
            .check(seq, now, &event, signed_by)
            .map_err(|source| AppendError::Rejected {
                event: event.id,
                source,
            })?;
        let entry = Entry {
            seq,
            prev: self.chain.head,
            received: now,
            event: signed.event.clone(),
            signature: signed.signature.clone(),
        };
        let bytes = entry.encode();
        let hash = ledger_core::hash_entry_bytes(&bytes);
        self.state.apply(seq, hash, now, effect);
        self.chain.push(hash, now);
        let nodes: Vec<NewNode> = self.frontier.push(&hash);
        batch.nodes.extend(nodes);
        batch.entries.push((seq, event.id, bytes));
        ids.insert(event.id);
        Ok((seq, hash))
    }
}
