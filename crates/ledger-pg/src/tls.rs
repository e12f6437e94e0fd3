//! TLS to the database, named in the address as libpq names it.
//!
//! `sslmode=require`, `verify-ca` or `verify-full` (in the address or in
//! `PGSSLMODE`) encrypts the connection and verifies the server's
//! certificate chain and its name against the address's host, whichever of
//! the three is named: a connection that says it wants TLS gets the whole
//! of it, as libpq's `verify-full`. The roots are `sslrootcert` (in the
//! address), else `PGSSLROOTCERT`, else `~/.postgresql/root.crt` where it
//! exists, else Mozilla's public roots (`webpki-roots`, built in; also what
//! `sslrootcert=system` names). `disable`, `allow` and `prefer` (the
//! default) connect without TLS. Client certificates are not supported.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// How connections to one address are made.
#[derive(Clone)]
pub(crate) enum Tls {
    /// Plain TCP (or a Unix socket).
    Off,
    /// TLS, the server verified against these roots.
    Verified(Arc<ClientConfig>),
}

/// What the address (or the environment) asked for.
pub(crate) struct Asked {
    /// `sslmode`, if named.
    pub mode: Option<String>,
    /// `sslrootcert`, if named.
    pub root: Option<String>,
}

impl Tls {
    /// The TLS that `asked` names, its roots read now, or why not.
    pub(crate) fn from_asked(asked: Asked) -> Result<Tls, String> {
        let mode = asked.mode.or_else(|| std::env::var("PGSSLMODE").ok());
        match mode.as_deref().unwrap_or("prefer") {
            "disable" | "allow" | "prefer" => Ok(Tls::Off),
            "require" | "verify-ca" | "verify-full" => {
                let root = asked.root.or_else(|| std::env::var("PGSSLROOTCERT").ok());
                Ok(Tls::Verified(Arc::new(client_config(roots(root)?)?)))
            }
            other => Err(format!(
                "sslmode {other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            )),
        }
    }
}

/// The roots that `named` (a file, or `system`) names, else the default
/// file, else the built-in public roots.
fn roots(named: Option<String>) -> Result<RootCertStore, String> {
    let file = match named.as_deref() {
        Some("system") => None,
        Some(path) => Some(PathBuf::from(path)),
        None => default_root_file(),
    };
    let Some(file) = file else {
        return Ok(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
    };
    read_roots(&file)
}

/// `~/.postgresql/root.crt`, where it exists.
fn default_root_file() -> Option<PathBuf> {
    let file = PathBuf::from(std::env::var_os("HOME")?)
        .join(".postgresql")
        .join("root.crt");
    file.exists().then_some(file)
}

/// The certificates of a PEM file, as roots.
fn read_roots(file: &Path) -> Result<RootCertStore, String> {
    let shown = file.display();
    let certs = CertificateDer::pem_file_iter(file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("root certificates {shown}: {e}"))?;
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!(
            "root certificates {shown}: no certificate in it can be used"
        ));
    }
    Ok(store)
}

fn client_config(roots: RootCertStore) -> Result<ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
