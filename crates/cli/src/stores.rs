//! Where a local command's ledger lives: a directory (sled), or with
//! `--store URL` a ledger in a PostgreSQL database (docs/POSTGRES.md).
//!
//! The binary is built with the `postgres` feature (the default, and what
//! the release build and CI use); without it, `--store` is refused with a
//! message saying so.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Result;
use ledger_core::KeyPair;
use ledger_store::{SledStore, Store};

/// A store of either kind, chosen at run time.
pub type AnyStore = Box<dyn Store>;

/// Where a ledger lives.
#[derive(Clone, Debug)]
pub enum Where {
    /// A ledger directory.
    Dir(PathBuf),
    /// A ledger in a database: its address, the address as shown (without
    /// a password), and the ledger's id when the database holds several.
    Database {
        /// The address as given.
        url: String,
        /// The address without its password.
        shown: String,
        /// `--ledger-id`, if given.
        ledger_id: Option<String>,
    },
}

impl Where {
    /// `--ledger DIR`, unless `--store URL` (with `--ledger-id`) is given.
    pub fn of(dir: &Path, store: Option<&str>, ledger_id: Option<&str>) -> Where {
        match store {
            None => Where::Dir(dir.to_owned()),
            Some(url) => Where::Database {
                url: url.to_owned(),
                shown: shown(url),
                ledger_id: ledger_id.map(str::to_owned),
            },
        }
    }

    /// The options that name it, for messages: `--ledger DIR` or
    /// `--store URL [--ledger-id ID]` (without a password).
    pub fn flags(&self) -> String {
        match self {
            Where::Dir(dir) => format!("--ledger {}", dir.display()),
            Where::Database {
                shown, ledger_id, ..
            } => match ledger_id {
                Some(id) => format!("--store {shown} --ledger-id {id}"),
                None => format!("--store {shown}"),
            },
        }
    }

    /// Opens the ledger for reading. A directory this process cannot write
    /// (an auditor's copy, a read-only mount) is read from a private copy
    /// of its database, which it says on stderr.
    pub fn open_for_reading(&self) -> Result<AnyStore> {
        match self {
            Where::Dir(dir) => {
                let store = SledStore::open(dir)?;
                if let Some((reason, copy)) = store.read_only() {
                    eprintln!(
                        "warning: {} cannot be written ({reason}): reading a private copy of its database in {}, deleted on exit",
                        dir.display(),
                        copy.display()
                    );
                }
                Ok(Box::new(store))
            }
            Where::Database { url, ledger_id, .. } => database::read(url, ledger_id.as_deref()),
        }
    }

    /// Opens the ledger for appending (its lock taken), with its
    /// checkpoint key.
    pub fn open_for_append(&self) -> Result<(AnyStore, KeyPair)> {
        match self {
            Where::Dir(dir) => {
                let store = SledStore::open(dir)?;
                let key = store.checkpoint_key()?;
                Ok((Box::new(store), key))
            }
            Where::Database { url, ledger_id, .. } => database::write(url, ledger_id.as_deref()),
        }
    }

    /// Creates a new, empty ledger with `checkpoint_key`, open for appending.
    pub fn create(&self, checkpoint_key: &KeyPair) -> Result<AnyStore> {
        match self {
            Where::Dir(dir) => Ok(Box::new(SledStore::create(dir, checkpoint_key)?)),
            Where::Database { url, .. } => database::create(url, checkpoint_key),
        }
    }
}

impl fmt::Display for Where {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Where::Dir(dir) => write!(f, "{}", dir.display()),
            Where::Database { shown, .. } => f.write_str(shown),
        }
    }
}

#[cfg(feature = "postgres")]
fn shown(url: &str) -> String {
    url.parse::<ledger_pg::StoreUrl>()
        .map(|u| u.to_string())
        .unwrap_or_else(|_| "the --store address".into())
}

#[cfg(not(feature = "postgres"))]
fn shown(_url: &str) -> String {
    "the --store address".into()
}

#[cfg(feature = "postgres")]
mod database {
    use super::*;
    use ledger_pg::{Access, PgStore};

    fn open(url: &str, ledger_id: Option<&str>, access: Access) -> Result<PgStore> {
        let url = parse(url)?;
        let id = ledger_id
            .map(|id| ledger_core::Hash::from_hex("--ledger-id", id))
            .transpose()?;
        Ok(PgStore::open(&url, id, access)?)
    }

    pub fn read(url: &str, ledger_id: Option<&str>) -> Result<AnyStore> {
        Ok(Box::new(open(url, ledger_id, Access::Read)?))
    }

    pub fn write(url: &str, ledger_id: Option<&str>) -> Result<(AnyStore, KeyPair)> {
        let store = open(url, ledger_id, Access::Write)?;
        let key = store.checkpoint_key()?;
        Ok((Box::new(store), key))
    }

    pub fn create(url: &str, key: &KeyPair) -> Result<AnyStore> {
        Ok(Box::new(PgStore::create(&parse(url)?, key)?))
    }

    pub fn parse(url: &str) -> Result<ledger_pg::StoreUrl> {
        Ok(url.parse()?)
    }
}

#[cfg(not(feature = "postgres"))]
mod database {
    use super::*;

    const WITHOUT: &str =
        "this review-ledger was built without PostgreSQL (cargo feature `postgres`)";

    pub fn read(_url: &str, _id: Option<&str>) -> Result<AnyStore> {
        anyhow::bail!(WITHOUT)
    }

    pub fn write(_url: &str, _id: Option<&str>) -> Result<(AnyStore, KeyPair)> {
        anyhow::bail!(WITHOUT)
    }

    pub fn create(_url: &str, _key: &KeyPair) -> Result<AnyStore> {
        anyhow::bail!(WITHOUT)
    }
}

#[cfg(feature = "postgres")]
pub use database::parse;
#[cfg(feature = "postgres")]
pub use ledger_pg::PgStore;
