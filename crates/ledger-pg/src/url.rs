//! `postgres://` store addresses.
//!
//! A store address is a libpq connection URL
//! (`postgres://user:password@host:port/database`). The password may be
//! in the URL or in `PGPASSWORD`; it is never printed: every message names
//! the store by [`StoreUrl`]'s display, which leaves it out.

use std::fmt;
use std::str::FromStr;

use postgres::config::Host;

/// A parsed `postgres://` (or `postgresql://`) address.
#[derive(Clone)]
pub struct StoreUrl {
    config: postgres::Config,
    shown: String,
}

/// Why an address is not a PostgreSQL store address.
#[derive(Debug)]
pub struct BadUrl(String);

impl fmt::Display for BadUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadUrl {}

impl StoreUrl {
    /// Whether `text` names a PostgreSQL store rather than a directory.
    pub fn is_postgres(text: &str) -> bool {
        text.starts_with("postgres://") || text.starts_with("postgresql://")
    }

    /// The driver's configuration, password included.
    pub(crate) fn config(&self) -> &postgres::Config {
        &self.config
    }
}

impl FromStr for StoreUrl {
    type Err = BadUrl;

    fn from_str(text: &str) -> Result<StoreUrl, BadUrl> {
        if !StoreUrl::is_postgres(text) {
            return Err(BadUrl(
                "a PostgreSQL store address starts with postgres:// or postgresql://".into(),
            ));
        }
        // The driver's message may quote the address, password and all.
        let mut config = postgres::Config::from_str(text).map_err(|_| {
            BadUrl("not a valid postgres:// address (postgres://USER@HOST:PORT/DATABASE)".into())
        })?;
        if config.get_password().is_none()
            && let Ok(password) = std::env::var("PGPASSWORD")
        {
            config.password(password);
        }
        if config.get_hosts().is_empty() {
            config.host("localhost");
        }
        let shown = shown(&config);
        Ok(StoreUrl { config, shown })
    }
}

/// The address without its password.
fn shown(config: &postgres::Config) -> String {
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config
        .get_ports()
        .first()
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let db = config.get_dbname().unwrap_or_default();
    format!("postgres://{user}{host}{port}/{db}")
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_never_shown() {
        for (text, shown) in [
            (
                "postgres://ledger:s3cret@db.example:5433/grc",
                "postgres://ledger@db.example:5433/grc",
            ),
            (
                "postgresql://ledger:s3cret@127.0.0.1/grc?sslmode=disable",
                "postgres://ledger@127.0.0.1:5432/grc",
            ),
        ] {
            let url: StoreUrl = text.parse().unwrap();
            assert_eq!(url.to_string(), shown);
            assert_eq!(format!("{url:?}"), shown);
            assert!(!url.to_string().contains("s3cret"));
        }
    }

    #[test]
    fn other_addresses_are_refused_without_quoting_them() {
        for text in [
            "ledger",
            "/var/lib/ledger",
            "mysql://a:s3cret@b/c",
            "postgres://a:s3cret@b:notaport/c",
        ] {
            let err = text.parse::<StoreUrl>().err().unwrap().to_string();
            assert!(!err.contains("s3cret"), "{err}");
        }
    }
}
