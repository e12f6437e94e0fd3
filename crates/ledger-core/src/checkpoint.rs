//! Checkpoints: the ledger's signed statement of its state, as a C2SP
//! signed note (<https://c2sp.org/signed-note>, <https://c2sp.org/tlog-checkpoint>).
//!
//! ```text
//! review-ledger.v1/<ledger id, 64 hex>\n
//! <size, decimal>\n
//! <Merkle root, base64>\n
//! head <hash of the last entry, 64 hex>\n
//! time <ledger clock, microseconds since the Unix epoch, decimal>\n
//! [subjects <root of the subject map, 64 hex>\n]
//! \n
//! — <key name> <base64(key id (4 bytes) || ed25519 signature (64 bytes))>\n
//! ```
//!
//! The key name is the origin line. The key id is the first four bytes of
//! `SHA-256(name || 0x0A || 0x01 || public key)`, as C2SP specifies for
//! ed25519. The signature is plain ed25519 over the note text: every byte
//! before the blank line, including the body's final newline.

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::keys::{KeyPair, PublicKey};
use crate::types::{Hash, LedgerId, Signature, UnixMicros};

/// The first line's prefix; the ledger id follows.
pub const ORIGIN_PREFIX: &str = "review-ledger.v1/";

/// The longest note accepted, in bytes.
pub const MAX_NOTE_LEN: usize = 4096;

/// What a checkpoint states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The ledger's identity.
    pub ledger_id: LedgerId,
    /// The number of entries.
    pub size: u64,
    /// The Merkle root over those entries.
    pub root: Hash,
    /// The hash of the last entry (zeros for an empty ledger).
    pub head: Hash,
    /// The ledger's clock when it signed.
    pub time: UnixMicros,
    /// The root of the domain's subject map (each review's and the roster's
    /// latest entry, see `docs/FORMAT.md`), when the domain keeps one.
    pub subjects: Option<Hash>,
}

/// The C2SP key id of an ed25519 note key.
pub fn key_id(name: &str, key: &PublicKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0A, 0x01]);
    h.update(key.0);
    let digest = h.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

impl Checkpoint {
    /// The origin line, which is also the key name.
    pub fn origin(&self) -> String {
        format!("{ORIGIN_PREFIX}{}", self.ledger_id)
    }

    /// The note text that is signed.
    pub fn body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\nhead {}\ntime {}\n",
            self.origin(),
            self.size,
            B64.encode(self.root.0),
            self.head,
            self.time.0
        );
        if let Some(subjects) = self.subjects {
            body.push_str(&format!("subjects {subjects}\n"));
        }
        body
    }

    /// The signed note.
    pub fn sign(&self, key: &KeyPair) -> String {
        let body = self.body();
        let name = self.origin();
        let sig = key.sign_note(body.as_bytes());
        let mut blob = key_id(&name, &key.public()).to_vec();
        blob.extend_from_slice(&sig.0);
        format!("{body}\n\u{2014} {name} {}\n", B64.encode(blob))
    }

    /// Parses a signed note and checks its signature by `key`.
    pub fn verify(note: &str, key: &PublicKey) -> Result<Checkpoint> {
        let bad = |m: String| Err(Error::Checkpoint(m));
        if note.len() > MAX_NOTE_LEN {
            return bad(format!(
                "note of {} bytes is over {MAX_NOTE_LEN}",
                note.len()
            ));
        }
        let Some(split) = note.find("\n\n") else {
            return bad("no blank line between text and signatures".into());
        };
        let (body, sigs) = (&note[..split + 1], &note[split + 2..]);
        let checkpoint = Checkpoint::parse_body(body)?;
        let name = checkpoint.origin();
        let want_id = key_id(&name, key);
        let vk = key.verifying_key()?;
        if !sigs.ends_with('\n') {
            return bad("signature lines must end with a newline".into());
        }
        // Every line must be well formed; the note verifies if any line by
        // this key (name and key id) carries a good signature.
        let mut found = false;
        for line in sigs[..sigs.len() - 1].split('\n') {
            let Some(rest) = line.strip_prefix("\u{2014} ") else {
                return bad(format!(
                    "signature line {line:?} does not start with an em dash"
                ));
            };
            let Some((line_name, b64)) = rest.split_once(' ') else {
                return bad(format!("signature line {line:?} has no signature"));
            };
            let blob = match B64.decode(b64) {
                Ok(b) if b.len() >= 5 => b,
                _ => {
                    return bad(format!(
                        "signature line for {line_name} is not base64 of a key id and signature"
                    ));
                }
            };
            if line_name != name || blob.len() != 68 || blob[..4] != want_id {
                continue;
            }
            found = true;
            let mut sig = [0u8; 64];
            sig.copy_from_slice(&blob[4..]);
            let sig = ed25519_dalek::Signature::from_bytes(&Signature(sig).0);
            if vk.verify_strict(body.as_bytes(), &sig).is_ok() {
                return Ok(checkpoint);
            }
        }
        if found {
            return bad(format!(
                "signature by checkpoint key {} does not verify",
                key.fingerprint()
            ));
        }
        bad(format!(
            "no signature by checkpoint key {} ({name})",
            key.fingerprint()
        ))
    }

    /// Parses the text of a note without checking any signature.
    pub fn parse_body(body: &str) -> Result<Checkpoint> {
        let bad = |m: String| Err(Error::Checkpoint(m));
        let lines: Vec<&str> = body
            .strip_suffix('\n')
            .unwrap_or(body)
            .split('\n')
            .collect();
        let (origin, size, root, head, time, subjects) = match lines[..] {
            [origin, size, root, head, time] => (origin, size, root, head, time, None),
            [origin, size, root, head, time, subjects] => {
                (origin, size, root, head, time, Some(subjects))
            }
            _ => return bad(format!("expected 5 or 6 text lines, found {}", lines.len())),
        };
        let subjects = match subjects.map(|l| l.strip_prefix("subjects ")) {
            None => None,
            Some(Some(hex)) => Some(Hash::from_hex("checkpoint subjects", hex)?),
            Some(None) => return bad("the sixth line should be `subjects <hex>`".into()),
        };
        let Some(id) = origin.strip_prefix(ORIGIN_PREFIX) else {
            return bad(format!(
                "origin {origin:?} does not start with {ORIGIN_PREFIX}"
            ));
        };
        let ledger_id = Hash::from_hex("checkpoint origin", id)?;
        let size: u64 = match size.parse::<u64>() {
            Ok(n) if size == n.to_string() => n,
            _ => return bad(format!("size {size:?} is not a decimal number")),
        };
        let root = match B64.decode(root) {
            Ok(b) if b.len() == 32 => Hash(b.try_into().expect("32 bytes")),
            _ => return bad(format!("root {root:?} is not 32 bytes of base64")),
        };
        let Some(head) = head.strip_prefix("head ") else {
            return bad(format!("line {head:?} should be `head <hex>`"));
        };
        let head = Hash::from_hex("checkpoint head", head)?;
        let time = match time.strip_prefix("time ").map(str::parse::<i64>) {
            Some(Ok(t)) => UnixMicros(t),
            _ => return bad(format!("line {time:?} should be `time <microseconds>`")),
        };
        let cp = Checkpoint {
            ledger_id,
            size,
            root,
            head,
            time,
            subjects,
        };
        if cp.body() != body {
            return bad("text is not in canonical form".into());
        }
        Ok(cp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        Checkpoint {
            ledger_id: Hash([3; 32]),
            size: 12,
            root: Hash([4; 32]),
            head: Hash([5; 32]),
            time: UnixMicros(1_700_000_000_000_000),
            subjects: None,
        }
    }

    #[test]
    fn signed_note_round_trips_and_binds() {
        let key = KeyPair::from_seed([9; 32]);
        let note = sample().sign(&key);
        assert_eq!(Checkpoint::verify(&note, &key.public()).unwrap(), sample());
        let other = KeyPair::from_seed([8; 32]).public();
        let err = Checkpoint::verify(&note, &other).unwrap_err().to_string();
        assert!(err.contains("no signature by checkpoint key"), "{err}");
        let forged = note.replacen("\n12\n", "\n13\n", 1);
        let err = Checkpoint::verify(&forged, &key.public())
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not verify"), "{err}");
        let with = Checkpoint {
            subjects: Some(Hash([6; 32])),
            ..sample()
        };
        let note = with.sign(&key);
        assert!(note.contains("\nsubjects 0606"));
        assert_eq!(Checkpoint::verify(&note, &key.public()).unwrap(), with);
        let note = sample().sign(&key);
        for broken in [
            "",
            "x\n\n",
            &note.replace("head ", "hed "),
            &note[..note.len() - 1],
        ] {
            assert!(
                Checkpoint::verify(broken, &key.public()).is_err(),
                "{broken:?}"
            );
        }
    }
}
