//! `key new`, `key show`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use ed25519_dalek::SigningKey;
use ledger_core::KeyPair;
use ledger_store::keyfile;
use rand_core::OsRng;
use serde_json::json;

use crate::Verdict;
use crate::out::Out;

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Create a key: FILE (PKCS#8 PEM, mode 0600) and FILE.pub.
    New {
        /// Where to write the private key.
        #[arg(long)]
        out: PathBuf,
        /// The owner's name, written into FILE.pub.
        #[arg(long)]
        name: Option<String>,
    },
    /// Show the public key and fingerprint of a private or `.pub` key file.
    Show {
        /// The key file.
        file: PathBuf,
    },
}

pub fn run(cmd: KeyCommand, out: &Out) -> Result<Verdict> {
    match cmd {
        KeyCommand::New { out: path, name } => {
            let key = KeyPair::from_signing_key(SigningKey::generate(&mut OsRng));
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            keyfile::write_private(&path, &key)?;
            let pub_path = keyfile::public_path(&path);
            if let Some(name) = &name {
                // The name follows the key on the same line, as in ssh's .pub files.
                let line = format!("{} {}\n", key.public().to_text(), name.replace('\n', " "));
                std::fs::write(&pub_path, line)
                    .with_context(|| format!("cannot write {}", pub_path.display()))?;
            }
            let public = key.public();
            out.emit(
                &json!({
                    "private_key": path,
                    "public_key_file": pub_path,
                    "public_key": public.to_text(),
                    "fingerprint": public.fingerprint(),
                    "name": name,
                }),
                || {
                    format!(
                        "{}\nfingerprint {}\nwrote {} (private, 0600) and {}",
                        public.to_text(),
                        public.fingerprint(),
                        path.display(),
                        pub_path.display()
                    )
                },
            );
        }
        KeyCommand::Show { file } => {
            let spec = file.to_string_lossy();
            let public = keyfile::read_public(&spec)?;
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let name = if text.contains("PRIVATE KEY") {
                None
            } else {
                text.trim().split_once(' ').map(|(_, n)| n.to_owned())
            };
            out.emit(
                &json!({
                    "public_key": public.to_text(),
                    "fingerprint": public.fingerprint(),
                    "name": name,
                }),
                || {
                    let mut s =
                        format!("{}\nfingerprint {}", public.to_text(), public.fingerprint());
                    if let Some(n) = &name {
                        s.push_str(&format!("\nname {n}"));
                    }
                    s
                },
            );
        }
    }
    Ok(Verdict::Ok)
}
