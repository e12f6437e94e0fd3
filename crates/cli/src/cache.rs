//! The verified cache of remote mode: per server and ledger, what this
//! machine last verified of it (the size, the chain's head, the Merkle
//! frontier, the checkpoint note, every event id, and the admission state
//! as a snapshot), so that the next command fetches and verifies only the
//! entries after it instead of the whole ledger.
//!
//! It lives in `$REVIEW_LEDGER_CACHE`, else `$XDG_CACHE_HOME/review-ledger`,
//! else `~/.cache/review-ledger`, one file per server and ledger, written
//! whole and renamed into place. A file that does not decode, whose hash
//! does not match, or that names another server or ledger is ignored (and
//! replaced after the next full verification). It is as trusted as the
//! auditor's state file: it holds only what this machine verified itself,
//! and anyone who can change it can change this machine's verdicts.

use std::path::{Path, PathBuf};

use ledger_core::merkle::Frontier;
use ledger_core::{Chain, EventId, Hash, LedgerId, UnixMicros, codec};
use review::LedgerState;
use serde::{Deserialize, Serialize};

/// The version of the cache file; another is ignored.
const VERSION: u32 = 1;

/// What this machine verified of one ledger on one server.
#[derive(Clone, Serialize, Deserialize)]
pub struct Verified {
    version: u32,
    server: String,
    ledger_id: LedgerId,
    /// The entries verified.
    pub size: u64,
    head: Hash,
    last_received: UnixMicros,
    /// Their Merkle frontier.
    pub frontier: Frontier,
    /// The checkpoint note they were verified against.
    pub checkpoint: String,
    /// Every event id, with its entry.
    pub ids: Vec<(EventId, u64)>,
    #[serde(with = "serde_bytes")]
    state: Vec<u8>,
}

impl Verified {
    /// The record of `state` after `chain` and `frontier`, verified against
    /// `checkpoint` on `server`.
    pub fn new(
        server: &str,
        chain: &Chain,
        frontier: Frontier,
        checkpoint: String,
        ids: Vec<(EventId, u64)>,
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
            ids,
            state: review::rules::snapshot::encode(state)?,
        })
    }

    /// The chain after the verified entries.
    pub fn chain(&self) -> Chain {
        Chain {
            size: self.size,
            head: self.head,
            ledger_id: Some(self.ledger_id),
            last_received: self.last_received,
        }
    }

    /// The admission state after them, if this version can read it.
    pub fn state(&self) -> Option<LedgerState> {
        review::rules::snapshot::decode(&self.state, self.size)
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

/// What this machine verified of `ledger` on `server`, if it kept it.
pub fn load(server: &str, ledger: &LedgerId) -> Option<Verified> {
    let bytes = std::fs::read(path(server, ledger)?).ok()?;
    let (body, hash) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    if blake3::hash(body).as_bytes() != hash {
        return None;
    }
    let v: Verified = codec::decode_snapshot("verified cache", body).ok()?;
    (v.version == VERSION && v.server == server && &v.ledger_id == ledger).then_some(v)
}

/// Keeps `v` for the next command; best effort (a cache that cannot be
/// written only costs the next command a full verification).
pub fn store(v: &Verified) {
    let Some(path) = path(&v.server, &v.ledger_id) else {
        return;
    };
    let Some(mut bytes) = codec::encode_snapshot(v) else {
        return;
    };
    let hash = *blake3::hash(&bytes).as_bytes();
    bytes.extend_from_slice(&hash);
    let _ = write_atomically(&path, &bytes);
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
