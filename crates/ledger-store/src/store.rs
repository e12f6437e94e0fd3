//! The `Store` trait and its sled implementation.
//!
//! One sled tree holds everything, so that a batch is one atomic
//! `apply_batch`. Keys (all integers big-endian, so that sled's order is
//! sequence order):
//!
//! | key | value |
//! | --- | --- |
//! | `e` + seq (8) | the canonical entry bytes |
//! | `i` + event id (16) | seq (8) |
//! | `n` + level (1) + index (8) | the 32-byte Merkle node |
//! | `mhead` | the [`Head`] in the canonical codec |
//! | `mcheckpoint` | the latest signed checkpoint note, UTF-8 |
//!
//! Beside the database, `checkpoint.witness` holds a copy of the latest
//! checkpoint note, replaced (write, fsync, rename) after each batch is
//! durable in sled. sled recovers from a damaged log by going back to an
//! earlier consistent state, silently; the witness makes that visible: a
//! witness ahead of the database means acknowledged entries were lost, and
//! the ledger refuses to append (which would fork its history). A witness
//! behind the database (a crash between the two writes) is harmless.
//!
//! sled keeps the first write error it meets and returns it from every
//! later operation of that handle, and its memory may then hold a batch
//! that never reached the disk. After a failed write the store lets go of
//! the handle; the next operation opens the database again, which recovers
//! exactly what is on disk, so that a full disk, once space is freed, needs
//! no restart.
//!
//! A directory this process cannot write (an auditor's copy, a read-only
//! mount) is opened from a private copy of its `db/` in the temporary
//! directory, because sled cannot open a database it cannot write. The copy
//! is deleted when the store is dropped; appending to it is refused.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use ledger_core::merkle::NewNode;
use ledger_core::{
    Checkpoint, EntryHash, EventId, Frontier, Hash, KeyPair, Seq, UnixMicros, codec,
};
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::keyfile;
use crate::lock::DirLock;

/// What the ledger knows about its end, updated in the same batch as the entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The number of entries.
    pub size: u64,
    /// The hash of the last entry (zeros when empty).
    pub hash: EntryHash,
    /// The receive time of the last entry.
    pub received: UnixMicros,
    /// The right edge of the Merkle tree.
    pub frontier: Frontier,
}

/// One group commit: entries with their event ids, the Merkle nodes they
/// complete, the new head and the checkpoint that states it.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// `(seq, event id, canonical entry bytes)`, in order.
    pub entries: Vec<(Seq, EventId, Vec<u8>)>,
    /// Merkle nodes completed by these entries.
    pub nodes: Vec<NewNode>,
    /// The head after the batch.
    pub head: Head,
    /// The signed checkpoint note for the new head.
    pub checkpoint: String,
    /// A state snapshot record at the new head ([`crate::snapshot`]), when
    /// the writer takes one with this batch. A store whose engine can,
    /// commits it with the batch (PostgreSQL); sled writes it to its file
    /// once the batch is durable.
    pub snapshot: Option<Vec<u8>>,
}

impl Batch {
    /// The sequence number of the batch's first entry.
    pub fn start(&self) -> u64 {
        self.head.size.saturating_sub(self.entries.len() as u64)
    }

    /// Refuses the batch unless it starts where the stored log of `stored`
    /// entries ends: every store checks it before it writes, so that two
    /// writers can never interleave their entries, nor one rewrite another's.
    pub fn check_start(&self, stored: u64) -> Result<()> {
        let start = self.start();
        if stored == start {
            return Ok(());
        }
        Err(StoreError::Derived {
            record: "head".into(),
            reason: format!(
                "the log holds {stored} entries but this batch starts at #{start}: another writer appended to the ledger"
            ),
        })
    }
}

/// The append-only log: everything the ledger keeps on disk.
pub trait Store: Send + Sync + 'static {
    /// The stored head.
    fn head(&self) -> Result<Head>;
    /// The entry bytes stored under `seq`.
    fn entry(&self, seq: Seq) -> Result<Option<Vec<u8>>>;
    /// Up to `limit` stored entries from `start` on, with the sequence
    /// number each is stored under (a gap shows as a missing number).
    fn range(&self, start: Seq, limit: usize) -> Result<Vec<(Seq, Vec<u8>)>>;
    /// The sequence number of the entry carrying event `id`.
    fn seq_of(&self, id: &EventId) -> Result<Option<Seq>>;
    /// The perfect-subtree root `(level, index)` of the Merkle tree.
    fn node(&self, level: u32, index: u64) -> Result<Option<Hash>>;
    /// [`Store::seq_of`] of many events at once, in order: a store whose
    /// every read is a round trip (a database server) answers in one.
    fn seqs_of(&self, ids: &[EventId]) -> Result<Vec<Option<Seq>>> {
        use rayon::prelude::*;
        ids.par_iter().map(|id| self.seq_of(id)).collect()
    }
    /// [`Store::node`] of many nodes `(level, index)` at once, in order.
    fn nodes(&self, keys: &[(u32, u64)]) -> Result<Vec<Option<Hash>>> {
        use rayon::prelude::*;
        keys.par_iter().map(|&(l, i)| self.node(l, i)).collect()
    }
    /// Whether this store keeps Merkle nodes ([`Store::node`]), so that
    /// verification checks each against the entries. Entries fetched from a
    /// server come without them.
    fn keeps_nodes(&self) -> bool {
        true
    }
    /// How many event-id index records and Merkle node records are stored,
    /// so that a verification finds records that belong to no entry (a
    /// stray index record would refuse a new event as a duplicate, a stray
    /// node would be served in a proof). `None` where the store cannot
    /// count them against its entries (a snapshot of a growing ledger,
    /// entries fetched from a server).
    fn derived_counts(&self) -> Result<Option<(u64, u64)>> {
        Ok(None)
    }
    /// The latest signed checkpoint note.
    fn checkpoint(&self) -> Result<Option<String>>;
    /// The head and the checkpoint note as of one instant: a store that
    /// another process writes (a shared database) reads both in one go, so
    /// that they describe the same batch.
    fn end(&self) -> Result<(Head, Option<String>)> {
        Ok((self.head()?, self.checkpoint()?))
    }
    /// The checkpoint witness kept beside the database, if any.
    fn witness(&self) -> Result<Option<String>>;
    /// Writes a batch atomically and returns only once it is durable.
    fn append(&self, batch: &Batch) -> Result<()>;
    /// The stored snapshot record ([`crate::snapshot`]), if any.
    fn snapshot(&self) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
    /// Stores a snapshot record in place of the last one, durably.
    fn put_snapshot(&self, record: &[u8]) -> Result<()> {
        let _ = record;
        Ok(())
    }
    /// Whether [`Store::append`] can work: `Err` names why not (a
    /// read-only directory), so that a writer refuses before it starts.
    fn check_writable(&self) -> Result<()> {
        Ok(())
    }
    /// Whether this store still holds the ledger's writer lock, for a
    /// store that other processes share (a database whose session may end
    /// under it); a store that only this process writes always does.
    fn holds_writer_lock(&self) -> Result<bool> {
        Ok(true)
    }
    /// Who holds the ledger's writer lock now, if anyone, for a store that
    /// other processes share: a standby asks before it tries to take it.
    /// A store that only this process writes names no one.
    fn writer_lock_holder(&self) -> Result<Option<String>> {
        Ok(None)
    }
}

const HEAD_KEY: &[u8] = b"mhead";
const CHECKPOINT_KEY: &[u8] = b"mcheckpoint";
/// A store chosen at run time (a ledger directory or a database), for code
/// that hosts ledgers of either kind: every call goes to the boxed store.
impl Store for Box<dyn Store> {
    fn head(&self) -> Result<Head> {
        (**self).head()
    }
    fn entry(&self, seq: Seq) -> Result<Option<Vec<u8>>> {
        (**self).entry(seq)
    }
    fn range(&self, start: Seq, limit: usize) -> Result<Vec<(Seq, Vec<u8>)>> {
        (**self).range(start, limit)
    }
    fn seq_of(&self, id: &EventId) -> Result<Option<Seq>> {
        (**self).seq_of(id)
    }
    fn node(&self, level: u32, index: u64) -> Result<Option<Hash>> {
        (**self).node(level, index)
    }
    fn seqs_of(&self, ids: &[EventId]) -> Result<Vec<Option<Seq>>> {
        (**self).seqs_of(ids)
    }
    fn nodes(&self, keys: &[(u32, u64)]) -> Result<Vec<Option<Hash>>> {
        (**self).nodes(keys)
    }
    fn keeps_nodes(&self) -> bool {
        (**self).keeps_nodes()
    }
    fn derived_counts(&self) -> Result<Option<(u64, u64)>> {
        (**self).derived_counts()
    }
    fn checkpoint(&self) -> Result<Option<String>> {
        (**self).checkpoint()
    }
    fn end(&self) -> Result<(Head, Option<String>)> {
        (**self).end()
    }
    fn witness(&self) -> Result<Option<String>> {
        (**self).witness()
    }
    fn append(&self, batch: &Batch) -> Result<()> {
        (**self).append(batch)
    }
    fn snapshot(&self) -> Result<Option<Vec<u8>>> {
        (**self).snapshot()
    }
    fn put_snapshot(&self, record: &[u8]) -> Result<()> {
        (**self).put_snapshot(record)
    }
    fn check_writable(&self) -> Result<()> {
        (**self).check_writable()
    }
    fn holds_writer_lock(&self) -> Result<bool> {
        (**self).holds_writer_lock()
    }
    fn writer_lock_holder(&self) -> Result<Option<String>> {
        (**self).writer_lock_holder()
    }
}

/// The state snapshot's file beside the database: a large value rewritten
/// whole, which sled would keep as blob files it frees only lazily.
pub const SNAPSHOT_FILE: &str = "state.snapshot";
const CHECKPOINT_KEY_FILE: &str = "checkpoint.pem";
const DB_DIR: &str = "db";
const WITNESS_FILE: &str = "checkpoint.witness";

/// The sled cache of [`SledStore::open`] and [`SledStore::create`], bounded
/// so that an auditor's `verify` stays small. Sled counts a page's size on
/// disk, and holds its decoded keys and values in three to four times that:
/// a cache of 32 MiB made `verify` of 200,000 entries peak at 213 MB, one of
/// 8 MiB at 138 MB, and no slower (ARCHITECTURE.md, "Server cache"). A
/// long-lived server that serves reads and feeds passes a larger one to
/// [`SledStore::open_with_cache`].
pub const DEFAULT_CACHE_BYTES: u64 = 8 * 1024 * 1024;

pub(crate) const INDEX_PREFIX: &[u8] = b"i";
pub(crate) const NODE_PREFIX: &[u8] = b"n";
pub(crate) const HEAD: &[u8] = HEAD_KEY;
pub(crate) const CHECKPOINT: &[u8] = CHECKPOINT_KEY;

fn entry_key(seq: Seq) -> [u8; 9] {
    let mut k = [b'e'; 9];
    k[1..].copy_from_slice(&seq.0.to_be_bytes());
    k
}

pub(crate) fn index_key(id: &EventId) -> [u8; 17] {
    let mut k = [b'i'; 17];
    k[1..].copy_from_slice(&id.0);
    k
}

pub(crate) fn node_key(level: u32, index: u64) -> [u8; 10] {
    let mut k = [b'n'; 10];
    k[1] = level as u8;
    k[2..].copy_from_slice(&index.to_be_bytes());
    k
}

/// The sled handles of an open database (each a reference-counted handle).
#[derive(Clone)]
struct Handles {
    db: sled::Db,
    tree: sled::Tree,
}

/// How this process holds its ledger directory.
enum Access {
    /// It holds the directory's `LOCK` and works on `db/` in place.
    Writable {
        /// Held until the store is dropped.
        _lock: DirLock,
    },
    /// It cannot write the directory: it reads a private copy of `db/`.
    ReadOnly {
        /// The copy, deleted when the store is dropped.
        copy: tempfile::TempDir,
        /// Why the directory cannot be written.
        reason: String,
    },
}

/// A ledger directory: `LOCK`, `checkpoint.pem` (the ledger's checkpoint
/// key), `checkpoint.witness` and `db/` (sled).
pub struct SledStore {
    dir: PathBuf,
    cache_bytes: u64,
    /// `None` after a failed write, until the next operation opens the
    /// database again. Declared before `access`: fields drop in order, and
    /// sled must let go of its files before a private copy is deleted.
    handles: RwLock<Option<Handles>>,
    access: Access,
    /// Incomplete sled snapshots found and discarded before sled opened.
    discarded: Mutex<Vec<PathBuf>>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").field("dir", &self.dir).finish()
    }
}

/// Whether an error opening a file for writing means the directory cannot
/// be written (as opposed to missing or broken).
fn cannot_write(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
}

/// Whether `name` is a snapshot sled was still writing: sled writes
/// `snap.<lsn>.generating`, syncs it and only then renames it to
/// `snap.<lsn>`, so a file still named so is incomplete (a full disk or a
/// crash interrupted it). sled 0.34 would read it as the newest snapshot
/// and refuse to open ("Read corrupted data"); the snapshot before it is
/// still there, and sled rebuilds from it and the log.
fn is_incomplete_snapshot(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.starts_with("snap.") && n.ends_with(".generating"))
}

/// Removes every incomplete snapshot from sled's directory `db`.
fn discard_incomplete_snapshots(db: &Path) -> Result<Vec<PathBuf>> {
    let io = |path: &Path, source| StoreError::Io {
        path: path.to_owned(),
        source,
    };
    let mut discarded = Vec::new();
    let items = match std::fs::read_dir(db) {
        Ok(items) => items,
        // A ledger being created: sled makes the directory.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(discarded),
        Err(e) => return Err(io(db, e)),
    };
    for item in items {
        let item = item.map_err(|e| io(db, e))?;
        if is_incomplete_snapshot(&item.file_name()) {
            let path = item.path();
            std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
            discarded.push(path);
        }
    }
    Ok(discarded)
}

/// Copies sled's directory `from` to `to` (which must not exist), leaving
/// out incomplete snapshots (listed in `skipped`), with files this process
/// can write: sled opens its files for writing even to read them.
fn copy_db(from: &Path, to: &Path, skipped: &mut Vec<PathBuf>, depth: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let io = |path: &Path, source| StoreError::Io {
        path: path.to_owned(),
        source,
    };
    // sled's layout is `db/` and `db/blobs/`; anything deeper is not sled's.
    if depth > 4 {
        return Ok(());
    }
    std::fs::create_dir(to).map_err(|e| io(to, e))?;
    for item in std::fs::read_dir(from).map_err(|e| io(from, e))? {
        let item = item.map_err(|e| io(from, e))?;
        let source = item.path();
        let target = to.join(item.file_name());
        let kind = item.file_type().map_err(|e| io(&source, e))?;
        if kind.is_dir() {
            copy_db(&source, &target, skipped, depth + 1)?;
        } else if is_incomplete_snapshot(&item.file_name()) {
            skipped.push(source);
        } else if kind.is_file() {
            std::fs::copy(&source, &target).map_err(|e| io(&source, e))?;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| io(&target, e))?;
        }
    }
    Ok(())
}

/// Opens sled at `path` (after discarding incomplete snapshots), and its tree.
fn open_db(path: &Path, cache_bytes: u64) -> Result<(Handles, Vec<PathBuf>)> {
    let discarded = discard_incomplete_snapshots(path)?;
    let config = sled::Config::new().path(path).cache_capacity(cache_bytes);
    let err = |e: sled::Error| StoreError::Database {
        path: path.to_owned(),
        message: e.to_string(),
    };
    // This process holds the directory's LOCK, so sled's own file lock
    // can only be held by a handle of ours that was just dropped and
    // whose background thread has not yet let go: wait for it a while.
    let mut tries = 0;
    let db = loop {
        match config.open() {
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.to_string().contains("could not acquire lock") =>
            {
                if tries == 100 {
                    return Err(StoreError::Database {
                        path: path.to_owned(),
                        message: e.to_string(),
                    });
                }
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.map_err(err)?,
        }
    };
    let tree = db.open_tree(b"ledger").map_err(err)?;
    Ok((Handles { db, tree }, discarded))
}

impl SledStore {
    /// Creates a new, empty ledger directory with its checkpoint key.
    pub fn create(dir: &Path, checkpoint_key: &KeyPair) -> Result<SledStore> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let lock = DirLock::acquire(dir).map_err(|e| match e {
            StoreError::Io { source, .. } if cannot_write(&source) => StoreError::ReadOnly {
                path: dir.to_owned(),
                reason: source.to_string(),
            },
            e => e,
        })?;
        if dir.join(DB_DIR).exists() || dir.join(CHECKPOINT_KEY_FILE).exists() {
            return Err(StoreError::AlreadyExists(dir.to_owned()));
        }
        keyfile::write_private(&dir.join(CHECKPOINT_KEY_FILE), checkpoint_key)?;
        Self::open_in_place(dir, lock, DEFAULT_CACHE_BYTES)
    }

    /// Opens an existing ledger directory and checks that its stored head
    /// describes its last entry. A directory this process cannot write is
    /// opened read-only from a private copy (see [`SledStore::read_only`]).
    pub fn open(dir: &Path) -> Result<SledStore> {
        Self::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// [`SledStore::open`] with a sled cache of `cache_bytes`: the entries
    /// and Merkle nodes kept decoded in memory. Reads beyond it go back to
    /// the log on disk and cost several times more.
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<SledStore> {
        let store = Self::open_existing(dir, cache_bytes)?;
        store.check_head()?;
        Ok(store)
    }

    /// Opens an existing ledger directory without checking the head, for an
    /// auditor who wants to report damage rather than refuse to look.
    pub fn open_unchecked(dir: &Path) -> Result<SledStore> {
        Self::open_existing(dir, DEFAULT_CACHE_BYTES)
    }

    fn open_existing(dir: &Path, cache_bytes: u64) -> Result<SledStore> {
        let lock = match DirLock::acquire(dir) {
            Ok(lock) => lock,
            Err(StoreError::Io { path, source }) if cannot_write(&source) => {
                let reason = format!("{}: {source}", path.display());
                return Self::open_copy(dir, cache_bytes, reason);
            }
            Err(e) => return Err(e),
        };
        if !dir.join(DB_DIR).is_dir() {
            return Err(StoreError::NotALedger(dir.to_owned()));
        }
        Self::open_in_place(dir, lock, cache_bytes)
    }

    fn open_in_place(dir: &Path, lock: DirLock, cache_bytes: u64) -> Result<SledStore> {
        let (handles, discarded) = open_db(&dir.join(DB_DIR), cache_bytes)?;
        Ok(SledStore {
            dir: dir.to_owned(),
            cache_bytes,
            handles: RwLock::new(Some(handles)),
            access: Access::Writable { _lock: lock },
            discarded: Mutex::new(discarded),
        })
    }

    /// Opens a private copy of a directory this process cannot write.
    fn open_copy(dir: &Path, cache_bytes: u64, reason: String) -> Result<SledStore> {
        let source = dir.join(DB_DIR);
        if !source.is_dir() {
            return Err(StoreError::NotALedger(dir.to_owned()));
        }
        // A process that can write the directory may be appending to it: a
        // copy taken now could be torn. Its lock says so (flock needs no
        // write access), and is held shared while the files are copied.
        let shared = DirLock::acquire_shared(dir)?;
        let copy = tempfile::Builder::new()
            .prefix("review-ledger-copy-")
            .tempdir()
            .map_err(|source| StoreError::Io {
                path: std::env::temp_dir(),
                source,
            })?;
        let mut skipped = Vec::new();
        copy_db(&source, &copy.path().join(DB_DIR), &mut skipped, 0)?;
        drop(shared);
        let (handles, _) = open_db(&copy.path().join(DB_DIR), cache_bytes)?;
        Ok(SledStore {
            dir: dir.to_owned(),
            cache_bytes,
            handles: RwLock::new(Some(handles)),
            access: Access::ReadOnly { copy, reason },
            discarded: Mutex::new(skipped),
        })
    }

    /// Where sled's files are: `db/` in the directory, or the private copy.
    fn db_path(&self) -> PathBuf {
        match &self.access {
            Access::Writable { .. } => self.dir.join(DB_DIR),
            Access::ReadOnly { copy, .. } => copy.path().join(DB_DIR),
        }
    }

    /// When the directory cannot be written: why, and where the private
    /// copy of its database that this store reads is.
    pub fn read_only(&self) -> Option<(&str, &Path)> {
        match &self.access {
            Access::Writable { .. } => None,
            Access::ReadOnly { copy, reason } => Some((reason.as_str(), copy.path())),
        }
    }

    /// Incomplete sled snapshots (`db/snap.*.generating`, left by a full
    /// disk or a crash) that were discarded before sled opened the
    /// database, or left out of a read-only copy.
    pub fn discarded_snapshots(&self) -> Vec<PathBuf> {
        self.discarded.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// The open sled handles, opening the database again after a failed write.
    fn handles(&self) -> Result<Handles> {
        let poisoned = || StoreError::Database {
            path: self.db_path(),
            message: "a thread panicked while holding the database handle".into(),
        };
        if let Some(h) = self.handles.read().map_err(|_| poisoned())?.as_ref() {
            return Ok(h.clone());
        }
        let mut slot = self.handles.write().map_err(|_| poisoned())?;
        if let Some(h) = slot.as_ref() {
            return Ok(h.clone());
        }
        let (handles, discarded) = open_db(&self.db_path(), self.cache_bytes)?;
        if let Ok(mut d) = self.discarded.lock() {
            d.extend(discarded);
        }
        *slot = Some(handles.clone());
        Ok(handles)
    }

    fn tree(&self) -> Result<sled::Tree> {
        self.handles().map(|h| h.tree)
    }

    /// Lets go of sled after a failed write: that handle returns the error
    /// from every later operation, and its memory may hold what never
    /// reached the disk. The next operation opens the database again.
    fn close_after_failure(&self) {
        if let Ok(mut slot) = self.handles.write() {
            slot.take();
        }
    }

    /// The ledger directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The ledger's checkpoint signing key.
    pub fn checkpoint_key(&self) -> Result<KeyPair> {
        keyfile::read_private(&self.dir.join(CHECKPOINT_KEY_FILE))
    }

    fn db_err(&self, e: sled::Error) -> StoreError {
        StoreError::Database {
            path: self.dir.join(DB_DIR),
            message: e.to_string(),
        }
    }

    /// Writes derived records (never an entry: a key under `e` is refused)
    /// in one atomic batch, removes `remove`, flushes, and then replaces the
    /// witness with `witness`. Only [`crate::derived::repair`] calls it.
    pub(crate) fn rewrite_derived(
        &self,
        put: &[(Vec<u8>, Vec<u8>)],
        remove: &[Vec<u8>],
        witness: Option<&str>,
    ) -> Result<()> {
        self.check_writable()?;
        let mut b = sled::Batch::default();
        for (k, v) in put {
            if k.first() == Some(&b'e') {
                return Err(StoreError::Damaged {
                    what: "repair plan".into(),
                    reason: "it would rewrite an entry".into(),
                });
            }
            b.insert(k.as_slice(), v.as_slice());
        }
        for k in remove {
            if k.first() == Some(&b'e') {
                return Err(StoreError::Damaged {
                    what: "repair plan".into(),
                    reason: "it would remove an entry".into(),
                });
            }
            b.remove(k.as_slice());
        }
        self.write_batch(b)?;
        match witness {
            Some(note) => self.write_witness(note),
            None => Ok(()),
        }
    }

    /// Calls `f` with every key and value under `prefix`, in key order.
    pub(crate) fn visit_prefix(
        &self,
        prefix: &[u8],
        mut f: impl FnMut(&[u8], &[u8]) -> Result<()>,
    ) -> Result<()> {
        for item in self.tree()?.scan_prefix(prefix) {
            let (k, v) = item.map_err(|e| self.db_err(e))?;
            f(&k, &v)?;
        }
        Ok(())
    }

    /// Applies a sled batch and flushes; after a failure the handle is let go.
    fn write_batch(&self, b: sled::Batch) -> Result<()> {
        let result = {
            let h = self.handles()?;
            h.tree.apply_batch(b).and_then(|()| h.db.flush().map(drop))
        };
        result.map_err(|e| {
            self.close_after_failure();
            self.db_err(e)
        })
    }

    /// The highest sequence number stored under an entry key, and its bytes.
    pub fn last_entry(&self) -> Result<Option<(Seq, Vec<u8>)>> {
        match self.tree()?.scan_prefix(b"e").next_back() {
            None => Ok(None),
            Some(Err(e)) => Err(self.db_err(e)),
            Some(Ok((k, v))) => Ok(Some((decode_entry_key(&k)?, v.to_vec()))),
        }
    }

    /// Checks that the database has not rolled back behind the witness.
    pub fn check_witness(&self) -> Result<()> {
        let Some(note) = self.witness()? else {
            return Ok(());
        };
        let key = self.checkpoint_key()?.public();
        let witness = Checkpoint::verify(&note, &key).map_err(|e| StoreError::Derived {
            record: format!("{WITNESS_FILE} or {CHECKPOINT_KEY_FILE}"),
            reason: format!(
                "the witness does not verify under the key file's key {} ({e}): the key file is another ledger's, or the witness is damaged",
                key.fingerprint()
            ),
        })?;
        let stored = self.head()?.size;
        if witness.size > stored {
            return Err(StoreError::RolledBack {
                stored,
                witnessed: witness.size,
            });
        }
        Ok(())
    }

    fn write_witness(&self, note: &str) -> Result<()> {
        self.replace_file(WITNESS_FILE, note.as_bytes())
    }

    /// Replaces the file `name` in the ledger directory with `bytes`
    /// durably: written beside it, synced, then renamed over it.
    fn replace_file(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!("{name}.tmp"));
        let io = |source| StoreError::Io {
            path: tmp.clone(),
            source,
        };
        let written = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut file, bytes)?;
            file.sync_all()?;
            // A lost rename leaves the older file: a witness never ahead of
            // the database, a snapshot of fewer entries.
            std::fs::rename(&tmp, &path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map_err(io)
    }

    /// Checks that the head's size and hash match the last stored entry,
    /// and that the database has not rolled back behind the witness.
    pub fn check_head(&self) -> Result<()> {
        self.check_witness()?;
        let head = self.head()?;
        let last = self.last_entry()?;
        let mismatch = |found: String| StoreError::HeadMismatch {
            head_size: head.size,
            head_hash: head.hash.to_hex(),
            found,
        };
        match last {
            None if head.size == 0 => Ok(()),
            None => Err(mismatch("no entry is stored".into())),
            Some((seq, bytes)) => {
                if seq.0 + 1 != head.size {
                    return Err(mismatch(format!("the last stored entry is #{}", seq.0)));
                }
                let hash = ledger_core::hash_entry_bytes(&bytes);
                if hash != head.hash {
                    return Err(mismatch(format!("entry #{} hashes to {hash}", seq.0)));
                }
                Ok(())
            }
        }
    }
}

fn decode_entry_key(k: &[u8]) -> Result<Seq> {
    let bytes: [u8; 8] = k[1..].try_into().map_err(|_| StoreError::Damaged {
        what: "entry key".into(),
        reason: format!("{} bytes instead of 9", k.len()),
    })?;
    Ok(Seq(u64::from_be_bytes(bytes)))
}

impl Store for SledStore {
    fn snapshot(&self) -> Result<Option<Vec<u8>>> {
        let path = self.dir.join(SNAPSHOT_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }

    fn put_snapshot(&self, record: &[u8]) -> Result<()> {
        self.check_writable()?;
        self.replace_file(SNAPSHOT_FILE, record)
    }

    fn derived_counts(&self) -> Result<Option<(u64, u64)>> {
        let (mut index, mut nodes) = (0u64, 0u64);
        self.visit_prefix(INDEX_PREFIX, |_, _| {
            index += 1;
            Ok(())
        })?;
        self.visit_prefix(NODE_PREFIX, |_, _| {
            nodes += 1;
            Ok(())
        })?;
        Ok(Some((index, nodes)))
    }

    fn head(&self) -> Result<Head> {
        match self.tree()?.get(HEAD_KEY).map_err(|e| self.db_err(e))? {
            None => Ok(Head::default()),
            Some(bytes) => codec::decode("head", &bytes).map_err(|e| StoreError::Damaged {
                what: "head".into(),
                reason: e.to_string(),
            }),
        }
    }

    fn entry(&self, seq: Seq) -> Result<Option<Vec<u8>>> {
        let v = self
            .tree()?
            .get(entry_key(seq))
            .map_err(|e| self.db_err(e))?;
        Ok(v.map(|v| v.to_vec()))
    }

    fn range(&self, start: Seq, limit: usize) -> Result<Vec<(Seq, Vec<u8>)>> {
        let mut out = Vec::with_capacity(limit.min(4096));
        for item in self
            .tree()?
            .range(entry_key(start)..=entry_key(Seq(u64::MAX)))
            .take(limit)
        {
            let (k, v) = item.map_err(|e| self.db_err(e))?;
            out.push((decode_entry_key(&k)?, v.to_vec()));
        }
        Ok(out)
    }

    fn seq_of(&self, id: &EventId) -> Result<Option<Seq>> {
        match self
            .tree()?
            .get(index_key(id))
            .map_err(|e| self.db_err(e))?
        {
            None => Ok(None),
            Some(v) => {
                let bytes: [u8; 8] = v.as_ref().try_into().map_err(|_| StoreError::Damaged {
                    what: format!("index of event {id}"),
                    reason: format!("{} bytes instead of 8", v.len()),
                })?;
                Ok(Some(Seq(u64::from_be_bytes(bytes))))
            }
        }
    }

    fn node(&self, level: u32, index: u64) -> Result<Option<Hash>> {
        match self
            .tree()?
            .get(node_key(level, index))
            .map_err(|e| self.db_err(e))?
        {
            None => Ok(None),
            Some(v) => {
                let bytes: [u8; 32] = v.as_ref().try_into().map_err(|_| StoreError::Damaged {
                    what: format!("Merkle node {level}/{index}"),
                    reason: format!("{} bytes instead of 32", v.len()),
                })?;
                Ok(Some(Hash(bytes)))
            }
        }
    }

    fn checkpoint(&self) -> Result<Option<String>> {
        match self
            .tree()?
            .get(CHECKPOINT_KEY)
            .map_err(|e| self.db_err(e))?
        {
            None => Ok(None),
            Some(v) => String::from_utf8(v.to_vec())
                .map(Some)
                .map_err(|_| StoreError::Damaged {
                    what: "checkpoint".into(),
                    reason: "not UTF-8".into(),
                }),
        }
    }

    fn append(&self, batch: &Batch) -> Result<()> {
        let mut b = sled::Batch::default();
        for (seq, id, bytes) in &batch.entries {
            b.insert(&entry_key(*seq)[..], bytes.as_slice());
            b.insert(&index_key(id)[..], &seq.0.to_be_bytes()[..]);
        }
        for node in &batch.nodes {
            b.insert(&node_key(node.level, node.index)[..], &node.hash.0[..]);
        }
        b.insert(HEAD_KEY, codec::encode(&batch.head));
        b.insert(CHECKPOINT_KEY, batch.checkpoint.as_bytes());
        self.check_writable()?;
        batch.check_start(self.head()?.size)?;
        self.write_batch(b)?;
        // The batch is durable. A witness that cannot be written (a full
        // disk) stays behind the database, as after a crash between the two
        // writes, which is harmless; the next batch writes it again. So is a
        // snapshot: one that is lost leaves the last one in use.
        let _ = self.write_witness(&batch.checkpoint);
        if let Some(record) = &batch.snapshot {
            let _ = self.replace_file(SNAPSHOT_FILE, record);
        }
        Ok(())
    }

    fn check_writable(&self) -> Result<()> {
        match &self.access {
            Access::Writable { .. } => Ok(()),
            Access::ReadOnly { reason, .. } => Err(StoreError::ReadOnly {
                path: self.dir.clone(),
                reason: reason.clone(),
            }),
        }
    }

    fn witness(&self) -> Result<Option<String>> {
        let path = self.dir.join(WITNESS_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| StoreError::Damaged {
                    what: WITNESS_FILE.into(),
                    reason: "not UTF-8".into(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }
}

/// Merkle nodes read from a store, for proofs.
pub struct StoreNodes<'a, S: Store + ?Sized>(pub &'a S);

impl<S: Store + ?Sized> ledger_core::Nodes for StoreNodes<'_, S> {
    type Error = StoreError;
    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        self.0
            .node(level, index)?
            .ok_or_else(|| StoreError::Damaged {
                what: format!("Merkle node {level}/{index}"),
                reason: "missing".into(),
            })
    }
}
