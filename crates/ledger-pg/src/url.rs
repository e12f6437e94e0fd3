//! `postgres://` store addresses.
//!
//! A store address is a libpq connection URL
//! (`postgres://user:password@host:port/database`). The password may be
//! in the URL or in `PGPASSWORD`; it is never printed: every message names
//! the store by [`StoreUrl`]'s display, which leaves it out. `sslmode` and
//! `sslrootcert` name TLS to the database ([`crate::tls`]).

use std::fmt;
use std::str::FromStr;

use percent_encoding::percent_decode_str;
use postgres::config::{Host, SslMode};

use crate::tls::{Asked, Tls};

/// A parsed `postgres://` (or `postgresql://`) address.
#[derive(Clone)]
pub struct StoreUrl {
    config: postgres::Config,
    shown: String,
    /// Whether the address itself carries the password.
    password_in_address: bool,
    tls: Tls,
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

    /// Whether the password was given in the address itself, where other
    /// users of the machine can read it in a long-running process's
    /// command line.
    pub fn password_in_address(&self) -> bool {
        self.password_in_address
    }

    /// The driver's configuration, password included.
    pub(crate) fn config(&self) -> &postgres::Config {
        &self.config
    }

    /// How to connect: with TLS or without.
    pub(crate) fn tls(&self) -> &Tls {
        &self.tls
    }

    /// Whether connections are encrypted and the server verified.
    pub fn encrypted(&self) -> bool {
        matches!(self.tls, Tls::Verified(_))
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
        let (text, asked) = take_tls(text)?;
        // The driver's message may quote the address, password and all.
        let mut config = postgres::Config::from_str(&text).map_err(|_| {
            BadUrl("not a valid postgres:// address (postgres://USER@HOST:PORT/DATABASE)".into())
        })?;
        if config.get_ssl_mode() != SslMode::Prefer {
            // An sslmode this program did not see: the address was not
            // split as the driver splits it.
            return Err(BadUrl(
                "the address's sslmode cannot be told apart from its other parts: percent-encode any '@', '?' or '&' in the user name and password".into(),
            ));
        }
        // As libpq, no TLS through a Unix socket.
        let sockets_only = config
            .get_hosts()
            .iter()
            .all(|h| !matches!(h, Host::Tcp(_)));
        let tls = match sockets_only && !config.get_hosts().is_empty() {
            true => Tls::Off,
            false => Tls::from_asked(asked).map_err(BadUrl)?,
        };
        config.ssl_mode(match tls {
            Tls::Off => SslMode::Disable,
            Tls::Verified(_) => SslMode::Require,
        });
        if config.get_hosts().is_empty() {
            config.host("localhost");
        }
        let password_in_address = config.get_password().is_some();
        if !password_in_address {
            if let Ok(password) = std::env::var("PGPASSWORD") {
                config.password(password);
            } else if let Some(password) = password_file(&config) {
                config.password(password);
            }
        }
        let shown = shown(&config);
        Ok(StoreUrl {
            config,
            shown,
            password_in_address,
            tls,
        })
    }
}

/// The address without its `sslmode` and `sslrootcert` parameters, which
/// this program reads itself (the driver knows only some of libpq's
/// modes, and no root file), and those parameters. The query is looked
/// for as the driver looks for it: after the user name and password, which
/// end at the first `@`.
fn take_tls(text: &str) -> Result<(String, Asked), BadUrl> {
    let mut asked = Asked {
        mode: None,
        root: None,
    };
    let after_credentials = text.find('@').map_or(0, |at| at + 1);
    if text[..after_credentials].contains("sslmode=") {
        // An '@' later in the address (in a parameter's value) made the
        // driver read the parameters before it as a user name and password.
        return Err(BadUrl(
            "the address's sslmode cannot be told apart from its other parts: percent-encode any '@' in the address's parameters".into(),
        ));
    }
    let Some(mark) = text[after_credentials..].find('?') else {
        return Ok((text.to_owned(), asked));
    };
    let (base, query) = text.split_at(after_credentials + mark);
    let query = &query[1..];
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match decode(key).as_str() {
            "sslmode" => asked.mode = Some(decode(value)),
            "sslrootcert" => asked.root = Some(decode(value)),
            key @ ("sslcert" | "sslkey" | "sslpassword") => {
                return Err(BadUrl(format!(
                    "{key}: client certificates for the database are not supported yet (docs/POSTGRES.md)"
                )));
            }
            _ => kept.push(pair),
        }
    }
    let text = match kept.is_empty() {
        true => base.to_owned(),
        false => format!("{base}?{}", kept.join("&")),
    };
    Ok((text, asked))
}

/// The password for `config` from the password file libpq reads:
/// `$PGPASSFILE`, or `~/.pgpass`. It is used only when only its owner can
/// read it, as libpq does.
fn password_file(config: &postgres::Config) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let path = match std::env::var_os("PGPASSFILE") {
        Some(p) => std::path::PathBuf::from(p),
        None => std::path::PathBuf::from(std::env::var_os("HOME")?).join(".pgpass"),
    };
    let meta = std::fs::metadata(&path).ok()?;
    if meta.permissions().mode() & 0o077 != 0 {
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(_)) | None => "localhost".into(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let db = config.get_dbname().unwrap_or_default();
    let user = config.get_user().unwrap_or_default();
    matching_password(&text, [&host, &port, db, user])
}

/// The password of the first line of a password file
/// (`host:port:database:user:password`, `*` matching anything, `\:` and
/// `\\` escaped, `#` starting a comment) that matches `wanted`.
fn matching_password(text: &str, wanted: [&str; 4]) -> Option<String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|line| {
            let fields = split_fields(line);
            let [host, port, db, user, password] = fields.as_slice() else {
                return None;
            };
            [host, port, db, user]
                .iter()
                .zip(wanted)
                .all(|(field, want)| field.as_str() == "*" || field.as_str() == want)
                .then(|| password.clone())
        })
}

/// A password file line's fields, unescaped.
fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("one field").push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
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
    fn a_password_file_line_matches_as_libpq_matches_it() {
        let file = "# a comment\n\
                    db.example:5432:grc:auditor:not-this-one\n\
                    db.example:*:grc:ledger:pa\\:ss\n\
                    *:*:*:*:fallback\n";
        for (wanted, password) in [
            (["db.example", "5433", "grc", "ledger"], Some("pa:ss")),
            (
                ["db.example", "5432", "grc", "auditor"],
                Some("not-this-one"),
            ),
            (["other", "5432", "grc", "ledger"], Some("fallback")),
        ] {
            assert_eq!(
                matching_password(file, wanted).as_deref(),
                password,
                "{wanted:?}"
            );
        }
        assert_eq!(matching_password("h:1:d:u:p\n", ["h", "2", "d", "u"]), None);
        assert_eq!(
            matching_password("too:few:fields\n", ["too", "few", "fields", "x"]),
            None
        );
    }

    #[test]
    fn tls_parameters_are_read_here_and_the_rest_reach_the_driver() {
        for (text, driver, mode, root) in [
            ("postgres://h/db", "postgres://h/db", None, None),
            (
                "postgres://h/db?sslmode=verify-full",
                "postgres://h/db",
                Some("verify-full"),
                None,
            ),
            (
                "postgres://h/db?application_name=a%20b&sslrootcert=%2Fetc%2Fca.pem&sslmode=require&connect_timeout=3",
                "postgres://h/db?application_name=a%20b&connect_timeout=3",
                Some("require"),
                Some("/etc/ca.pem"),
            ),
            (
                "postgres://u:p?x@h/db?sslmode=require",
                "postgres://u:p?x@h/db",
                Some("require"),
                None,
            ),
        ] {
            let (kept, asked) = take_tls(text).unwrap();
            assert_eq!(
                (kept.as_str(), asked.mode.as_deref(), asked.root.as_deref()),
                (driver, mode, root),
                "{text}"
            );
        }
        // A '?' in the password does not hide the mode that follows.
        let url: StoreUrl = "postgres://u:p?x@h/db?sslmode=require".parse().unwrap();
        assert!(url.encrypted());
    }

    #[test]
    fn plain_modes_do_not_read_a_root_file() {
        for mode in ["disable", "allow", "prefer"] {
            let text = format!("postgres://h/db?sslmode={mode}&sslrootcert=/nonexistent/ca.pem");
            let url: StoreUrl = text.parse().unwrap();
            assert!(!url.encrypted(), "{mode}");
        }
        let url: StoreUrl = "postgres://h/db?sslmode=verify-ca&sslrootcert=system"
            .parse()
            .unwrap();
        assert!(url.encrypted());
        // As libpq, no TLS through a Unix socket.
        let url: StoreUrl = "postgres://%2Frun%2Fpostgresql/db?sslmode=require"
            .parse()
            .unwrap();
        assert!(!url.encrypted());
    }

    #[test]
    fn an_sslmode_the_driver_would_read_as_a_password_is_refused() {
        let err = "postgres://h/db?sslmode=require&application_name=a@b"
            .parse::<StoreUrl>()
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("sslmode cannot be told apart"), "{err}");
    }

    #[test]
    fn client_certificates_are_refused_by_name() {
        for key in ["sslcert", "sslkey", "sslpassword"] {
            let text = format!("postgres://h/db?sslmode=require&{key}=x");
            let err = text.parse::<StoreUrl>().err().unwrap().to_string();
            assert!(
                err.starts_with(&format!("{key}: client certificates")),
                "{err}"
            );
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
