//! `ledger-store`: the durable, append-only log of a review ledger.
//!
//! [`SledStore`] keeps a ledger directory on sled behind the small [`Store`]
//! trait; sled types never leave this crate. [`Ledger`] is the one writer
//! that owns the head: it batches concurrent appends (group commit),
//! verifies their signatures on all cores, runs the domain's
//! [`ledger_core::Admission`] rules, writes the batch atomically, flushes,
//! and only then acknowledges. [`keyfile`] reads and writes key files.
//!
//! ```no_run
//! # fn demo<A: ledger_core::Admission + Default + 'static>(state: A, signed: ledger_core::SignedEvent) {
//! use ledger_store::{Ledger, SledStore, system_clock};
//! let store = SledStore::open("ledger".as_ref()).unwrap();
//! let key = store.checkpoint_key().unwrap();
//! let ledger = Ledger::start(store, state, key, system_clock()).unwrap();
//! let receipt = ledger.append(signed).unwrap();
//! println!("stored as {}", receipt.seq);
//! # }
//! ```

pub mod as_of;
pub mod derived;
pub mod error;
pub mod keyfile;
mod lock;
pub mod snapshot;
pub mod store;
pub mod verify;
pub mod writer;

pub use as_of::AsOf;
pub use error::{Result, StoreError};
pub use snapshot::{Loaded, load};
pub use store::{Batch, DEFAULT_CACHE_BYTES, Head, SledStore, Store, StoreNodes};
pub use verify::{COMPACT_EVERY, Fault, Report, Start, verify, verify_from, verify_into};
pub use writer::{AppendError, Clock, Ledger, MAX_BATCH, Receipt, replay, system_clock};
