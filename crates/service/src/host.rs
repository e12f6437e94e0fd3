//! One hosted ledger: its writer, the projection state that follows its
//! durable entries, and the signal that wakes the feeds.
//!
//! A ledger in a database that several servers share has one writer at a
//! time. The others host it on *standby* ([`Hosted::shared`]): they follow
//! the database (every [`FOLLOW_EVERY`]), serve its reads and feeds, refuse
//! appends with the reason, and try to take the writer's lock each time;
//! the one that takes it starts a writer on what is stored and goes on.
//!
//! Everything here is blocking (sled and the writer block); the gRPC
//! handlers call it through `tokio::task::spawn_blocking`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use std::time::Duration;

use ledger_core::{Admission, Entry, Event, KeyPair, LedgerId, Seq, SignedEvent};
use ledger_store::{AppendError, Ledger, Receipt, SledStore, Store, StoreError, system_clock};
use review::{LedgerState, Rejection};
use tokio::sync::watch;

use crate::error::ServiceError;
use crate::repeated::Repeated;

/// A hosted ledger's store: a directory's sled or a database's ledger.
pub type AnyStore = Box<dyn Store>;

/// How a standby takes over: it tries to open the ledger for writing and
/// gets its store and checkpoint key, or `Ok(Err(why))` while another
/// process holds it.
pub type Takeover =
    Box<dyn Fn() -> Result<Result<(AnyStore, KeyPair), String>, StoreError> + Send + Sync>;

/// How often a standby reads the database's end and tries to take over.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(200);

/// Follow steps a standby waits after a failed try to take over (one that
/// found the lock free but could not start a writer), so that a lasting
/// fault is tried, and reported, every few seconds rather than five times
/// a second.
const PAUSE_AFTER_FAILURE: u32 = 25;

/// Follow steps in a row at which a writer's connected session fails to
/// say whether it holds the lock before the writer is let go.
const UNANSWERED: u32 = 3;

/// A ledger opened by the server.
pub struct Hosted {
    /// The ledger id (the genesis entry hash).
    pub id: LedgerId,
    /// Where it was opened from: its directory, or the address of its
    /// database (without a password).
    pub dir: PathBuf,
    /// The writer; `None` while another process writes the ledger.
    writer: RwLock<Option<Ledger<AnyStore, LedgerState>>>,
    /// The store reads go to: the writer's own, or on standby a store
    /// opened for reading.
    reads: Arc<AnyStore>,
    /// On standby: how to take over, and why appends are refused until then.
    standby: Option<(Takeover, Mutex<String>)>,
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
    /// Set by [`Hosted::close`]: a standby no longer takes over.
    closed: AtomicBool,
    /// Held while entries are read and folded into `state`.
    folding: Mutex<()>,
    /// Follow steps left before the next try to take over, after one failed.
    pause: AtomicU32,
    /// Follow steps in a row at which the writer's session did not answer
    /// whether it holds the lock.
    unanswered: AtomicU32,
    /// Set when a write of a shared database's ledger failed: the
    /// following thread lets the writer go and stands by.
    lost: AtomicBool,
    /// The following thread's warnings that repeat while the database is
    /// away: reading it, and asking it who writes.
    following: Mutex<Repeated>,
    asking: Mutex<Repeated>,
}

/// A hosted ledger's stored end as of one instant, for a full verification
/// that must not see appends made while it runs.
pub type Snapshot = ledger_store::AsOf<AnyStore>;

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
        Hosted::start(Box::new(store), key, dir)
    }

    /// Hosts the ledger in `store`, whose checkpoint key is `key`, opened
    /// from `place` (a directory, or a database's address): loads its state
    /// and starts its writer.
    pub fn start(store: AnyStore, key: KeyPair, place: &Path) -> Result<Hosted, ServiceError> {
        let dir = place;
        let err = |source: StoreError| ServiceError::Open {
            dir: dir.to_owned(),
            source,
        };
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
            reads: ledger.store().clone(),
            writer: RwLock::new(Some(ledger)),
            standby: None,
            gate: RwLock::new(()),
            state: RwLock::new(state),
            durable: AtomicU64::new(size),
            checkpoint: Mutex::new((size, note)),
            applied,
            closed: AtomicBool::new(false),
            lost: AtomicBool::new(false),
            folding: Mutex::new(()),
            pause: AtomicU32::new(0),
            unanswered: AtomicU32::new(0),
            following: Mutex::default(),
            asking: Mutex::default(),
        })
    }

    /// Hosts a ledger of a database that other servers share: `reads` is
    /// a store opened for reading, `takeover` opens it for writing when its
    /// lock is free. It writes the ledger at once if it can, and otherwise
    /// stands by; [`Hosted::follow`] then keeps it up with the stored
    /// entries and takes over when the writer stops, and a writer whose
    /// write fails lets go of the ledger and stands by again.
    pub fn shared(
        reads: AnyStore,
        place: &Path,
        takeover: Takeover,
    ) -> Result<Hosted, ServiceError> {
        let err = |source: StoreError| ServiceError::Open {
            dir: place.to_owned(),
            source,
        };
        let mut state = LedgerState::new();
        // The end first: the checkpoint shown is then never ahead of the
        // entries loaded.
        let (end, note) = reads.end().map_err(err)?;
        let loaded = ledger_store::load(&reads, &mut state).map_err(err)?;
        let id = state
            .roster
            .ledger_id
            .ok_or_else(|| ServiceError::NoGenesis(place.to_owned()))?;
        let note = note.unwrap_or_default();
        let size = loaded.chain.size;
        let (applied, _) = watch::channel(size);
        Ok(Hosted {
            id,
            dir: place.to_owned(),
            reads: Arc::new(reads),
            writer: RwLock::new(None),
            standby: Some((takeover, Mutex::new(String::new()))),
            gate: RwLock::new(()),
            state: RwLock::new(state),
            durable: AtomicU64::new(size),
            checkpoint: Mutex::new((end.size, note)),
            applied,
            closed: AtomicBool::new(false),
            lost: AtomicBool::new(false),
            folding: Mutex::new(()),
            pause: AtomicU32::new(0),
            unanswered: AtomicU32::new(0),
            following: Mutex::default(),
            asking: Mutex::default(),
        })
        .and_then(|hosted| {
            // A first attempt that fails (a role that may not write, a
            // checkpoint key or a stored end that does not check) stops
            // the server here, rather than leaving it on standby forever.
            hosted
                .try_take_over()
                .and_then(|taken| taken)
                .map_err(err)?;
            Ok(hosted)
        })
    }

    /// Why this server does not write the ledger: who does, as the
    /// database said at the last attempt; `None` while it writes.
    pub fn standing_by(&self) -> Option<String> {
        match self.writes() {
            true => None,
            false => self
                .standby
                .as_ref()
                .map(|(_, why)| why.lock().unwrap_or_else(|p| p.into_inner()).clone()),
        }
    }

    /// Whether this server writes the ledger (rather than standing by).
    pub fn writes(&self) -> bool {
        self.writer
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// For a ledger of a shared database, a thread that every
    /// [`FOLLOW_EVERY`], while this server stands by, follows the stored
    /// entries and tries to take over, and while it writes, watches for a
    /// failed write; until the ledger is closed or no longer hosted. Does
    /// nothing for a ledger directory.
    pub fn follow(self: &Arc<Self>) {
        if self.standby.is_none() {
            return;
        }
        let weak = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("ledger-standby".into())
            .spawn(move || {
                while let Some(hosted) = weak.upgrade() {
                    if hosted.follow_once() {
                        return;
                    }
                    drop(hosted);
                    std::thread::sleep(FOLLOW_EVERY);
                }
            });
        if let Err(e) = spawned {
            eprintln!("warning: ledger {}: cannot follow it: {e}", self.id);
        }
    }

    /// Warns of `failure` of what the following thread was `doing`, or
    /// that it works again, as `repeated` lets it (see [`Repeated`]).
    fn say(
        &self,
        repeated: &Mutex<Repeated>,
        doing: &str,
        failure: Option<impl std::fmt::Display>,
    ) {
        let mut repeated = repeated.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        let said = match failure {
            Some(e) => repeated.failed(now, &format!("{doing}: {e}")),
            None => repeated.cleared(now).map(|s| format!("{doing} {s}")),
        };
        if let Some(said) = said {
            eprintln!("warning: ledger {}: {said}", self.id);
        }
    }

    /// One step of [`Hosted::follow`]; true once it is to stop.
    fn follow_once(&self) -> bool {
        let Some((_, why)) = &self.standby else {
            return true;
        };
        if self.closed.load(Ordering::SeqCst) {
            return true;
        }
        if self.writes() {
            // The lock goes with the writer's session: ended under it (a
            // restart, an administrator, a cut network), another server
            // may write now, and this one would show a ledger that no
            // longer grows.
            let held = self
                .writer
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .map(|ledger| ledger.store().holds_writer_lock());
            let why = match held {
                Some(Ok(true)) | None => None,
                Some(Ok(false)) => Some("its database session no longer holds the writer lock"),
                // A session that is still connected but failed to answer
                // (a cancelled or timed-out statement) is asked again; it
                // is let go only after several failures in a row.
                Some(Err(_)) if self.unanswered.fetch_add(1, Ordering::SeqCst) + 1 < UNANSWERED => {
                    None
                }
                Some(Err(_)) => Some("its database session does not answer"),
            };
            if matches!(held, Some(Ok(_)) | None) {
                self.unanswered.store(0, Ordering::SeqCst);
            }
            if why.is_none() && !self.lost.load(Ordering::SeqCst) {
                // Nothing to do: appends go on without waiting for this step.
                return false;
            }
            let mut writer = self.writer.write().unwrap_or_else(|p| p.into_inner());
            // Cleared under the writer's lock: no append of the writer let
            // go here can set it again afterwards.
            let failed = self.lost.swap(false, Ordering::SeqCst);
            let why = match (failed, why) {
                (_, Some(why)) => why,
                (true, None) => "a write failed",
                (false, None) => return false,
            };
            // Let the writer go, which frees the lock if this server still
            // held it, and see who writes now.
            if let Some(ledger) = writer.take() {
                drop(writer);
                ledger.close();
            }
            eprintln!(
                "ledger {} at {}: {why}; this server stops writing it and stands by",
                self.id,
                self.dir.display()
            );
        }
        let followed = self.follow_store();
        self.say(&self.following, "following the database", followed.err());
        if self.pause.load(Ordering::SeqCst) > 0 {
            self.pause.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        let taken = self.try_take_over();
        // The database did not say who holds the lock (it restarts, the
        // network is cut): asked again at the next step.
        self.say(&self.asking, "asking who writes it", taken.as_ref().err());
        match taken {
            Ok(Ok(())) | Err(_) => {}
            // The lock looked free but no writer started here.
            Ok(Err(e)) => {
                eprintln!(
                    "warning: ledger {}: cannot take over (trying again in {} s): {e}",
                    self.id,
                    (FOLLOW_EVERY * PAUSE_AFTER_FAILURE).as_secs()
                );
                *why.lock().unwrap_or_else(|p| p.into_inner()) =
                    format!("no server, this one failing to take it over: {e}");
                self.pause.store(PAUSE_AFTER_FAILURE, Ordering::SeqCst);
            }
        }
        false
    }

    /// Takes the writer lock if it is free and starts writing, or notes
    /// who holds it. The outer error: the database did not say whether
    /// the lock is free; the inner one: it was, and no writer started.
    fn try_take_over(&self) -> Result<Result<(), StoreError>, StoreError> {
        let Some((takeover, why)) = &self.standby else {
            return Ok(Ok(()));
        };
        // Asked on the reads' session first: a standby connects to try the
        // lock only when no one holds it.
        let note = |holder: String| {
            *why.lock().unwrap_or_else(|p| p.into_inner()) = format!("another server ({holder})")
        };
        if let Some(holder) = self.reads.writer_lock_holder()? {
            note(holder);
            return Ok(Ok(()));
        }
        let taken = takeover().and_then(|taken| match taken {
            Ok((store, key)) => self.take_over(store, key),
            Err(holder) => {
                note(holder);
                Ok(())
            }
        });
        if taken.is_ok() && self.writes() {
            eprintln!(
                "ledger {} at {}: this server now writes it",
                self.id,
                self.dir.display()
            );
        }
        Ok(taken)
    }

    /// Takes in what the writer elsewhere has committed: everything stored
    /// is durable. The head and checkpoint are read as of one instant.
    fn follow_store(&self) -> Result<(), StoreError> {
        let (head, note) = self.reads.end()?;
        if let Some(note) = note {
            let mut cp = self.checkpoint.lock().unwrap_or_else(|p| p.into_inner());
            if head.size > cp.0 {
                *cp = (head.size, note);
            }
        }
        self.durable.fetch_max(head.size, Ordering::SeqCst);
        self.catch_up()
    }

    /// Starts this server's writer on `store`, which holds the ledger's
    /// lock: it checks the stored end and builds on it.
    fn take_over(&self, store: AnyStore, key: KeyPair) -> Result<(), StoreError> {
        let ledger = Ledger::start(store, LedgerState::new(), key, system_clock())?;
        let size = ledger.store().head()?.size;
        let mut writer = self.writer.write().unwrap_or_else(|p| p.into_inner());
        if self.closed.load(Ordering::SeqCst) {
            // Closed while the writer started: it writes nothing, and its
            // lock goes with it.
            drop(writer);
            ledger.close();
            return Ok(());
        }
        *writer = Some(ledger);
        drop(writer);
        self.durable.fetch_max(size, Ordering::SeqCst);
        self.catch_up()
    }

    /// The store, for reads. Read only below [`Hosted::size`].
    pub fn store(&self) -> &dyn Store {
        &**self.reads
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
            let writer = self.writer.read().unwrap_or_else(|p| p.into_inner());
            let Some(ledger) = writer.as_ref() else {
                let why = self.standby.as_ref().map_or_else(String::new, |(_, why)| {
                    why.lock().unwrap_or_else(|p| p.into_inner()).clone()
                });
                return Err(AppendError::NotWriter(format!(
                    "ledger {} is written by {why}; this server serves its reads and takes over when it can: append to the writer, or here again shortly",
                    self.id
                )));
            };
            let _shared = self.gate.read().unwrap_or_else(|p| p.into_inner());
            match ledger.append(signed) {
                Ok(receipt) => receipt,
                Err(e @ AppendError::Store(_)) => {
                    if self.standby.is_some() {
                        self.lost.store(true, Ordering::SeqCst);
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
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
        // One caller reads and folds at a time; the entries are read
        // without the state's lock, so that readers wait only for the fold,
        // not for a database's answer.
        let _folding = self.folding.lock().unwrap_or_else(|p| p.into_inner());
        let target = self.durable.load(Ordering::SeqCst);
        let mut size = self.state().size;
        while size < target {
            let want = (target - size).min(1024) as usize;
            let chunk = self.store().range(Seq(size), want)?;
            if chunk.is_empty() {
                break;
            }
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            for (seq, bytes) in chunk {
                if seq.0 >= target {
                    break;
                }
                apply(&mut state, seq, &bytes)?;
            }
            if state.size == size {
                break;
            }
            size = state.size;
        }
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
        ledger_store::AsOf::new(self.reads.clone())
    }

    /// Stops taking appends, lets queued ones finish, and waits for the writer.
    pub fn close(&self) {
        // A standby stops trying to take over.
        self.closed.store(true, Ordering::SeqCst);
        if let Some(ledger) = self
            .writer
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            ledger.close();
        }
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
    // A hosted ledger holds its history compactly, as a verification does.
    if (seq.0 + 1).is_multiple_of(ledger_store::COMPACT_EVERY) {
        state.compact();
    }
    Ok(())
}
