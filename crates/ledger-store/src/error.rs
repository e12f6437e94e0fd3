//! Errors of the storage layer.

use std::path::PathBuf;

use ledger_core::Seq;

/// What can go wrong opening, reading or writing a ledger directory.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file of the ledger directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Another process holds the ledger directory.
    #[error(
        "ledger {path} is in use by another process ({holder}); if that is `review-ledger serve`, reach the ledger through it with --server URL --ledger-id ID"
    )]
    Locked {
        /// The ledger directory.
        path: PathBuf,
        /// What the holder wrote into the lock file (its process id).
        holder: String,
    },
    /// A ledger's writer lock in a shared database is held by another
    /// process.
    #[error("ledger {ledger} in {store} is being written by another process ({holder})")]
    Busy {
        /// The database, without its password.
        store: String,
        /// The ledger.
        ledger: String,
        /// Who holds the lock, as the database reports it.
        holder: String,
    },
    /// A database server refused an operation or could not be reached.
    #[error("ledger store {store}: {message}")]
    Engine {
        /// The database, without its password.
        store: String,
        /// The server's or the driver's message.
        message: String,
    },
    /// The directory holds no ledger.
    #[error(
        "no ledger at {0} (create one with `review-ledger init`, or name another with --ledger DIR or REVIEW_LEDGER_DIR)"
    )]
    NotALedger(PathBuf),
    /// The directory already holds a ledger.
    #[error("a ledger already exists at {0}")]
    AlreadyExists(PathBuf),
    /// sled refused an operation; its files may be damaged.
    #[error("ledger database {path}: {message}")]
    Database {
        /// The database directory.
        path: PathBuf,
        /// sled's message.
        message: String,
    },
    /// A stored record could not be decoded.
    #[error("stored {what} is damaged: {reason}")]
    Damaged {
        /// Which record (`head`, `entry #5`, ...).
        what: String,
        /// Why it does not decode.
        reason: String,
    },
    /// A record the store derives from the entries (the head, a Merkle
    /// node, the checkpoint, the checkpoint key) does not agree with them.
    #[error(
        "the stored {record} is damaged: {reason} (the entries are not affected; `review-ledger verify` checks them all)"
    )]
    Derived {
        /// Which record.
        record: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The stored head does not describe the last stored entry.
    #[error("stored head says {head_size} entries ending in {head_hash}, but {found}")]
    HeadMismatch {
        /// The size the head records.
        head_size: u64,
        /// The hash the head records.
        head_hash: String,
        /// What the entries say instead.
        found: String,
    },
    /// The database holds fewer entries than the ledger once acknowledged.
    #[error(
        "the database holds {stored} entries but the checkpoint witness records {witnessed}: \
         entries #{stored} to #{last} were acknowledged and are lost (the database rolled back)",
        last = witnessed - 1
    )]
    RolledBack {
        /// Entries in the database.
        stored: u64,
        /// Entries the witness checkpoint states.
        witnessed: u64,
    },
    /// The ledger directory cannot be written (a read-only copy or mount):
    /// it can be verified and read, not appended to or repaired.
    #[error("ledger {path} is read-only ({reason}): it can be verified and read, not written")]
    ReadOnly {
        /// The ledger directory.
        path: PathBuf,
        /// Why it cannot be written.
        reason: String,
    },
    /// Repair refused: the fault is not in a derived record, or the
    /// records cannot be derived again (see [`crate::derived::repair`]).
    #[error("repair refused{}: {reason}", seq.map(|s| format!(" at entry #{s}")).unwrap_or_default())]
    Unrepairable {
        /// The entry at fault, when the fault is in one entry.
        seq: Option<u64>,
        /// What is wrong, and why repair cannot mend it.
        reason: String,
    },
    /// Replaying the stored entries through the admission rules failed.
    #[error("stored entry {seq} is not admissible on replay: {reason}")]
    Replay {
        /// The entry at fault.
        seq: Seq,
        /// The rule it breaks.
        reason: String,
    },
    /// An evidence-format error, such as a proof asked for a leaf beyond the tree.
    #[error(transparent)]
    Format(#[from] ledger_core::Error),
    /// A key file could not be read.
    #[error("key file {path}: {reason}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A long read was stopped by its caller (a client that went away, a
    /// deadline that passed, a server that is stopping).
    #[error("stopped: {0}")]
    Cancelled(&'static str),
}

/// Shorthand for results in this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
