//! `--store URL`: a ledger in a PostgreSQL database rather than a directory.
//!
//! The binary is built with the `postgres` feature (the default, and what
//! the release build and CI use); without it, a `--store` is refused with
//! a message saying so.

use anyhow::Result;

#[cfg(feature = "postgres")]
pub use ledger_pg::PgStore;

/// Opens the ledger `ledger_id` (or the database's only ledger) at `url`
/// for reading.
#[cfg(feature = "postgres")]
pub fn open_postgres(url: &str, ledger_id: Option<&str>) -> Result<PgStore> {
    let url = parse(url)?;
    let id = ledger_id
        .map(|id| ledger_core::Hash::from_hex("--ledger-id", id))
        .transpose()?;
    Ok(PgStore::open(&url, id, ledger_pg::Access::Read)?)
}

/// A `--store` or `--to` address.
#[cfg(feature = "postgres")]
pub fn parse(url: &str) -> Result<ledger_pg::StoreUrl> {
    Ok(url.parse()?)
}

/// Refuses: this binary has no PostgreSQL store.
#[cfg(not(feature = "postgres"))]
pub fn open_postgres(_url: &str, _ledger_id: Option<&str>) -> Result<ledger_store::SledStore> {
    anyhow::bail!("this review-ledger was built without PostgreSQL (cargo feature `postgres`)")
}
