//! The verified cache of remote mode: per server and ledger, what this
//! machine last verified of it (the size, the chain's head, the Merkle
//! frontier, the checkpoint note, every event id, and the admission state
//! as a snapshot), so that the next command fetches and verifies only the
//! entries after it instead of the whole ledger.
//!
//! It lives in `$REVIEW_LEDGER_CACHE`, else `$XDG_CACHE_HOME/review-ledger`,
//! else `~/.cache/review-ledger`, a state file per server and ledger (and
//! its `.seen` file, below), each written whole and renamed into place. A file that does not decode, whose hash
//! does not match, or that names another server or ledger is ignored (and
//! replaced after the next full verification). It is as trusted as the
//! auditor's state file: it holds only what this machine verified itself,
//! and anyone who can change it can change this machine's verdicts.
//!
//! The state grows with the ledger, so the file is written again only once
//! [`REWRITE_AFTER`] entries or more were verified since it was; in between
//! a small [`Seen`] file beside it records the last entry verified (its
//! number and hash), so that a server that later shows another history
//! after the cached state, or fewer entries, is still reported.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use ledger_core::codec::{self, Shared};
use ledger_core::merkle::Frontier;
use ledger_core::{Chain, EventId, Hash, LedgerId, UnixMicros};
use ledger_store::Start;
use review::LedgerState;
use serde::{Deserialize, Serialize};

/// The version of the cache file; another is ignored.
const VERSION: u32 = 2;

/// The cache file is written again once this many entries or more were
/// verified after the state it holds.
pub const REWRITE_AFTER: u64 = 1_000;

/// What this machine verified of one ledger on one server.
#[derive(Clone, Serialize, Deserialize)]
pub struct Verified {
    version: u32,
    server: String,
    ledger_id: LedgerId,
    /// The entries verified.
    size: u64,
    head: Hash,
    last_received: UnixMicros,
    /// Their Merkle frontier.
    frontier: Frontier,
    /// The checkpoint note they were verified against.
    checkpoint: String,
    /// Every event id with its entry, in id order ([`Ids`]).
    ids: Shared,
    state: Shared,
}

impl Verified {
    /// The record of `state` after `chain` and `frontier`, verified against
    /// `checkpoint` on `server`.
    pub fn new(
        server: &str,
        chain: &Chain,
        frontier: Frontier,
        checkpoint: String,
        ids: Ids,
        state: &LedgerState,
    ) -> Option<Verified> {
        Some(Verified {
            version: VERSION,
            server: server.to_owned(),
            ledger_id: chain.ledger_id?,
            size: chain.size,
            head: chain.head,
            last_received: chain.last_received,
            frontier,
            checkpoint,
            ids: Shared(ids.0),
            state: Shared(review::rules::snapshot::encode(state)?.into()),
        })
    }

    /// Where a verification goes on from: the chain and frontier after the
    /// verified entries, the admission state there (its records read from
    /// the file's bytes when first needed) and every event id with its
    /// entry; `None` if this version cannot read the state.
    pub fn resume(self) -> Option<(Start, LedgerState, Ids)> {
        let state = review::rules::snapshot::decode(&self.state.0, self.size)?;
        let start = Start {
            chain: Chain {
                size: self.size,
                head: self.head,
                ledger_id: Some(self.ledger_id),
                last_received: self.last_received,
            },
            frontier: self.frontier,
        };
        Some((start, state, Ids(self.ids.0)))
    }
}

/// Event ids with their entries, sorted by id: 16 bytes of id and the
/// entry's number as 8 bytes little-endian each, looked up by binary search
/// (read from the cache file in one copy, where a map of a ledger's every
/// id would be built anew by each command).
#[derive(Clone, Default)]
pub struct Ids(Bytes);

const ID_RECORD: usize = 24;

impl Ids {
    /// The ids of `ids`, sorted.
    pub fn new(mut ids: Vec<(EventId, u64)>) -> Ids {
        ids.sort_unstable_by_key(|(id, _)| id.0);
        let mut bytes = Vec::with_capacity(ids.len() * ID_RECORD);
        for (id, seq) in ids {
            bytes.extend_from_slice(&id.0);
            bytes.extend_from_slice(&seq.to_le_bytes());
        }
        Ids(bytes.into())
    }

    /// The records, one an id.
    fn records(&self) -> &[[u8; ID_RECORD]] {
        self.0.as_chunks().0
    }

    /// Every id with its entry.
    pub fn all(&self) -> impl Iterator<Item = (EventId, u64)> + '_ {
        self.records().iter().map(|r| {
            let (id, seq) = r.split_at(16);
            (
                EventId(id.try_into().expect("16 bytes")),
                u64::from_le_bytes(seq.try_into().expect("8 bytes")),
            )
        })
    }

    /// The entry holding `id`, if any.
    pub fn get(&self, id: &EventId) -> Option<u64> {
        let records = self.records();
        let i = records.binary_search_by(|r| r[..16].cmp(&id.0[..])).ok()?;
        Some(u64::from_le_bytes(
            records[i][16..].try_into().expect("8 bytes"),
        ))
    }
}

/// The last entry this machine verified of a ledger on a server, when the
/// cache file holds an earlier state: written after every verification.
#[derive(Clone, Serialize, Deserialize)]
pub struct Seen {
    version: u32,
    server: String,
    ledger_id: LedgerId,
    /// The entries verified.
    pub size: u64,
    /// The hash of the last of them.
    pub head: Hash,
}

impl Seen {
    /// The record of `size` entries verified on `server`, the last hashing to `head`.
    pub fn new(server: &str, ledger_id: LedgerId, size: u64, head: Hash) -> Seen {
        Seen {
            version: VERSION,
            server: server.to_owned(),
            ledger_id,
            size,
            head,
        }
    }
}

/// The directory of cache files, if one can be named.
fn dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("REVIEW_LEDGER_CACHE") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("review-ledger"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("review-ledger"))
}

/// The cache file of `ledger` on `server`.
pub fn path(server: &str, ledger: &LedgerId) -> Option<PathBuf> {
    let tag = blake3::hash(server.as_bytes()).to_hex();
    Some(dir()?.join(format!("{}-{}.verified", ledger.to_hex(), &tag[..16])))
}

/// What to remove to verify `ledger` on `server` from the start: the
/// advice a refusal ends with.
pub fn start_over(server: &str, ledger: &LedgerId) -> String {
    let files: Vec<String> = [path(server, ledger), seen_path(server, ledger)]
        .into_iter()
        .flatten()
        .map(|p| p.display().to_string())
        .collect();
    format!("remove {} to verify it from the start", files.join(" and "))
}

/// The file of the last entry verified of `ledger` on `server`.
fn seen_path(server: &str, ledger: &LedgerId) -> Option<PathBuf> {
    Some(path(server, ledger)?.with_extension("seen"))
}

/// What this machine verified of `ledger` on `server`, if it kept it.
pub fn load(server: &str, ledger: &LedgerId) -> Option<Verified> {
    let v: Verified = read(&path(server, ledger)?, "verified cache")?;
    (v.version == VERSION && v.server == server && &v.ledger_id == ledger).then_some(v)
}

/// The last entry this machine verified of `ledger` on `server`, if it kept it.
pub fn load_seen(server: &str, ledger: &LedgerId) -> Option<Seen> {
    let s: Seen = read(&seen_path(server, ledger)?, "verified entry")?;
    (s.version == VERSION && s.server == server && &s.ledger_id == ledger).then_some(s)
}

/// Keeps `v` for the next command; best effort (a cache that cannot be
/// written only costs the next command a full verification).
pub fn store(v: &Verified) {
    if let Some(path) = path(&v.server, &v.ledger_id) {
        write(&path, v);
    }
}

/// Keeps `s` for the next command; best effort, as [`store`].
pub fn store_seen(s: &Seen) {
    if let Some(path) = seen_path(&s.server, &s.ledger_id) {
        write(&path, s);
    }
}

/// The value the file at `path` holds, if its hash matches and it decodes
/// (its byte strings slices of the file's bytes, not copies).
fn read<T: serde::de::DeserializeOwned>(path: &Path, what: &'static str) -> Option<T> {
    let bytes = Bytes::from(std::fs::read(path).ok()?);
    let body = bytes.slice(..bytes.len().checked_sub(32)?);
    if codec::hash_large(&body) != bytes[body.len()..] {
        return None;
    }
    codec::decode_snapshot_shared(what, &body).ok()
}

/// Writes `value` and its hash to `path`; best effort.
fn write<T: Serialize>(path: &Path, value: &T) {
    let Some(mut bytes) = codec::encode_snapshot(value) else {
        return;
    };
    let hash = codec::hash_large(&bytes);
    bytes.extend_from_slice(&hash);
    let _ = write_atomically(path, &bytes);
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
