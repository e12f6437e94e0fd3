//! The review-ledger log on PostgreSQL.
//!
//! [`PgStore`] implements `ledger_store::Store`, the trait the writer,
//! `verify` and every projection read through, so that a GRC platform can
//! keep its organisations' ledgers in the database it already backs up and
//! replicates, several ledgers to a database, keyed by ledger id. sled
//! stays the embedded default; this crate is compiled only by those who ask
//! for it (the CLI's `postgres` feature).
//!
//! - [`url`]: `postgres://` addresses, with the password kept out of every
//!   message.
//! - [`schema`]: the tables, created and migrated by the program, one
//!   numbered migration at a time (docs/POSTGRES.md).
//! - [`store`]: the store: a batch is one transaction, acknowledged only
//!   once its commit returned with `synchronous_commit` on; entries and
//!   what is derived from them are never updated in place (triggers refuse
//!   it); one writer per ledger, by an advisory lock held for as long as it
//!   writes; [`PgStore::import`] copies a ledger from another store.
//! - [`cluster`]: a throwaway server for the tests and benchmarks, from the
//!   `postgresql` package's binaries.
//!
//! The calls are synchronous (the `postgres` crate drives its own runtime),
//! like sled's: call them from a blocking thread, never from async code.

pub mod cluster;
pub mod schema;
pub mod store;
mod tls;
pub mod url;

pub use store::{Access, PgStore};
pub use url::StoreUrl;
