//! Key files: PKCS#8 PEM private keys (mode 0600) and `.pub` text files.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ledger_core::{KeyPair, PublicKey};

use crate::error::{Result, StoreError};

fn key_error(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::KeyFile {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// The `.pub` file beside a private key file: `FILE.pub`.
pub fn public_path(private: &Path) -> PathBuf {
    let mut name = private.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Writes `key` as a PKCS#8 PEM file readable only by its owner, and its
/// public key to `FILE.pub`. Refuses to overwrite an existing file.
pub fn write_private(path: &Path, key: &KeyPair) -> Result<()> {
    let pem = key
        .signing_key()
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| key_error(path, format!("cannot encode PKCS#8: {e}")))?;
    write_new(path, pem.as_bytes(), 0o600)?;
    write_new(
        &public_path(path),
        format!("{}\n", key.public().to_text()).as_bytes(),
        0o644,
    )
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let io = |source| StoreError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Reads a PKCS#8 PEM private key.
pub fn read_private(path: &Path) -> Result<KeyPair> {
    let text = std::fs::read_to_string(path).map_err(|source| StoreError::Io {
        path: path.to_owned(),
        source,
    })?;
    let key = SigningKey::from_pkcs8_pem(&text)
        .map_err(|e| key_error(path, format!("not a PKCS#8 PEM ed25519 private key: {e}")))?;
    Ok(KeyPair::from_signing_key(key))
}

/// Reads a public key given as a `.pub` file, a private key file, or the
/// key's text (`ed25519:<hex>`).
pub fn read_public(spec: &str) -> Result<PublicKey> {
    let path = Path::new(spec);
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|source| StoreError::Io {
            path: path.to_owned(),
            source,
        })?;
        if text.contains("PRIVATE KEY") {
            return Ok(read_private(path)?.public());
        }
        return PublicKey::from_text(&text).map_err(|e| key_error(path, e.to_string()));
    }
    PublicKey::from_text(spec).map_err(|e| key_error(path, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_key_round_trips_with_owner_only_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alice.pem");
        let key = KeyPair::from_seed([4; 32]);
        write_private(&path, &key).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read_private(&path).unwrap().public(), key.public());
        let pubfile = public_path(&path);
        assert_eq!(
            read_public(pubfile.to_str().unwrap()).unwrap(),
            key.public()
        );
        assert_eq!(read_public(&key.public().to_text()).unwrap(), key.public());
        let err = write_private(&path, &key).unwrap_err().to_string();
        assert!(err.contains("alice.pem"), "{err}");
        std::fs::write(dir.path().join("junk.pem"), "junk").unwrap();
        let err = read_private(&dir.path().join("junk.pem"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a PKCS#8"), "{err}");
    }
}
