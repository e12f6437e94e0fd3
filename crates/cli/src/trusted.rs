//! The auditor's trusted state: per ledger, the last checkpoint verified.
//!
//! Kept in a JSON file (`--state`, default `$XDG_CONFIG_HOME/review-ledger/trusted.json`,
//! else `~/.config/review-ledger/trusted.json`), replaced atomically (write
//! a temporary file, fsync, rename). On each verification the new
//! checkpoint must extend the one kept: a consistency proof from the old
//! size to the new must link the two roots. A ledger that shrank, or whose
//! first entries now have another root, has rewritten or forked its history.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ledger_core::merkle::{ConsistencyProof, verify_consistency};
use ledger_core::{Checkpoint, Hash};
use serde::{Deserialize, Serialize};

/// One ledger's last verified checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trusted {
    /// Entries then.
    pub size: u64,
    /// Merkle root then.
    pub root: Hash,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

/// The whole state file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedState {
    /// By ledger id (hex).
    pub ledgers: BTreeMap<String, Trusted>,
}

/// The default state file.
pub fn default_path() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("review-ledger").join("trusted.json")
}

impl TrustedState {
    /// Reads the state file; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<TrustedState> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("trusted state {} is damaged", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TrustedState::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Writes the state file atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let tmp = path.with_extension("json.tmp");
        let mut file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        file.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
        Ok(())
    }
}

/// How a new checkpoint relates to the one kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// No checkpoint was kept for this ledger: this one is now trusted.
    First,
    /// The new checkpoint extends the kept one (the proof checked).
    Extends {
        /// The kept size.
        from: u64,
    },
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::First => f.write_str(
                "the first checkpoint of this ledger you verified: it is trusted from now on",
            ),
            Outcome::Extends { from } => {
                write!(f, "it extends the {from} entries you verified before")
            }
        }
    }
}

/// Checks `new` against what `state` keeps for its ledger, using `prove` for
/// a consistency proof from an old size to `new.size`; on success records
/// `new`. On a rewrite or fork returns the reason, naming sizes and roots.
pub fn advance(
    state: &mut TrustedState,
    note: &str,
    new: &Checkpoint,
    prove: impl FnOnce(u64) -> Result<ConsistencyProof>,
) -> Result<Result<Outcome, String>> {
    let id = new.ledger_id.to_hex();
    let outcome = match state.ledgers.get(&id) {
        None => Outcome::First,
        Some(old) if old.size > new.size => {
            return Ok(Err(format!(
                "history was truncated or rewritten: you verified {} entries (root {}) before, the ledger now states {} (root {})",
                old.size, old.root, new.size, new.root
            )));
        }
        Some(old) => {
            let proof = prove(old.size)?;
            if let Err(e) = verify_consistency(&proof, &old.root, &new.root) {
                return Ok(Err(format!(
                    "history was rewritten (a fork): the {} entries you verified had root {}, which the ledger of {} entries (root {}) does not extend: {e}",
                    old.size, old.root, new.size, new.root
                )));
            }
            Outcome::Extends { from: old.size }
        }
    };
    state.ledgers.insert(
        id,
        Trusted {
            size: new.size,
            root: new.root,
            checkpoint: note.to_owned(),
        },
    );
    Ok(Ok(outcome))
}
