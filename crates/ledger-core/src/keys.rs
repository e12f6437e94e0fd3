//! ed25519 keys, fingerprints and domain-separated signatures.
//!
//! Every signature in the format is plain ed25519 (RFC 8032, not the `ph` or
//! `ctx` variants) over `context || message`, where `context` is one of the
//! NUL-terminated [`Purpose`] strings. A signature made for one purpose
//! therefore never verifies for another, and none can be mistaken for a
//! signed note (whose text holds no NUL). Verification is always
//! `verify_strict`, and weak (small-order) keys are refused.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::error::{Error, Result};
use crate::types::{Hash, Signature};

/// How many decoded keys a thread keeps ([`DECODED`]); past it the cache
/// starts again. A ledger's members hold a few keys each.
const DECODED_KEYS: usize = 1024;

thread_local! {
    /// Valid keys decoded on this thread, by their bytes. Decoding a key
    /// (decompressing its point, checking that the encoding is canonical
    /// and the point not of small order) takes two field exponentiations,
    /// as much again as the rest of a signature check besides its scalar
    /// multiplication; a ledger's entries are signed by few keys. Only keys
    /// that decoded are kept: what is refused is refused each time.
    static DECODED: RefCell<HashMap<[u8; 32], VerifyingKey>> = RefCell::new(HashMap::new());
}

/// The blake3 `derive_key` context of key fingerprints.
pub const FINGERPRINT_CONTEXT: &str = "review-ledger/v1 key fingerprint";

/// What a signature is for. Each has its own context string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// An author signing the canonical bytes of an event.
    Event,
    /// A new key accepting a rotation (see `review`'s roster).
    KeyRotation,
    /// A member proving to the web console that they hold an enrolled key,
    /// to open a session. Never valid as an event signature.
    ConsoleSignIn,
}

impl Purpose {
    /// Every purpose.
    pub const ALL: [Purpose; 3] = [Purpose::Event, Purpose::KeyRotation, Purpose::ConsoleSignIn];

    /// The context string prefixed to the signed message.
    pub fn context(self) -> &'static [u8] {
        match self {
            Purpose::Event => b"review-ledger/v1 event\0",
            Purpose::KeyRotation => b"review-ledger/v1 key rotation\0",
            Purpose::ConsoleSignIn => b"review-ledger/v1 console sign-in\0",
        }
    }

    /// The purpose in words, for errors.
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Event => "event",
            Purpose::KeyRotation => "key rotation",
            Purpose::ConsoleSignIn => "console sign-in",
        }
    }
}

/// An ed25519 public key as its 32 bytes. Validity (a canonical point that
/// is not of small order) is checked where a key is used or enrolled. In
/// JSON it is 64 hex digits.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey(pub [u8; 32]);

crate::types::hex_serde!(PublicKey, 32, "PublicKey");

impl PublicKey {
    /// The prefix of the text form of a public key.
    pub const TEXT_PREFIX: &'static str = "ed25519:";

    /// The dalek key, refusing non-points and weak keys. Decoded keys are
    /// kept per thread ([`DECODED`]), so that checking a ledger's many
    /// signatures by its few keys decodes each key once.
    pub fn verifying_key(&self) -> Result<VerifyingKey> {
        if let Some(key) = DECODED.with(|d| d.borrow().get(&self.0).copied()) {
            return Ok(key);
        }
        let key = self.decode_key()?;
        DECODED.with(|d| {
            let mut d = d.borrow_mut();
            if d.len() >= DECODED_KEYS {
                d.clear();
            }
            d.insert(self.0, key);
        });
        Ok(key)
    }

    /// [`PublicKey::verifying_key`], decoded now.
    fn decode_key(&self) -> Result<VerifyingKey> {
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| Error::BadKey {
            key: self.to_hex(),
            reason: "not a valid ed25519 point",
        })?;
        // Some points have a second, non-reduced 32-byte spelling; accept only the canonical one.
        if key.to_edwards().compress().to_bytes() != self.0 {
            return Err(Error::BadKey {
                key: self.to_hex(),
                reason: "not the canonical encoding of its point",
            });
        }
        if key.is_weak() {
            return Err(Error::BadKey {
                key: self.to_hex(),
                reason: "weak (small-order) key",
            });
        }
        Ok(key)
    }

    /// Lowercase hex of the 32 bytes.
    pub fn to_hex(&self) -> String {
        crate::types::to_hex(&self.0)
    }

    /// The text form `ed25519:<64 hex digits>`, as written to `.pub` files.
    pub fn to_text(&self) -> String {
        format!("{}{}", Self::TEXT_PREFIX, self.to_hex())
    }

    /// Parses 64 hex digits (a key, or a passkey's key id).
    pub fn from_hex(text: &str) -> Result<PublicKey> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut out).map_err(|e| Error::Field {
            field: "key",
            reason: format!("expected 64 hex digits: {e}"),
        })?;
        Ok(PublicKey(out))
    }

    /// Parses the text form (the `ed25519:` prefix is optional; anything
    /// after the first space, such as a name in a `.pub` file, is ignored)
    /// and checks the key is a valid, non-weak point.
    pub fn from_text(text: &str) -> Result<PublicKey> {
        let text = text.split_whitespace().next().unwrap_or("");
        let digits = text.strip_prefix(Self::TEXT_PREFIX).unwrap_or(text);
        let mut out = [0u8; 32];
        hex::decode_to_slice(digits, &mut out).map_err(|e| Error::Field {
            field: "public key",
            reason: format!("expected ed25519:<64 hex digits>: {e}"),
        })?;
        let key = PublicKey(out);
        key.verifying_key()?;
        Ok(key)
    }

    /// The digest a fingerprint is cut from:
    /// `blake3::derive_key(FINGERPRINT_CONTEXT, key)`.
    pub fn fingerprint_digest(&self) -> Hash {
        Hash(blake3::derive_key(FINGERPRINT_CONTEXT, &self.0))
    }

    /// A short, stable fingerprint for people to compare: the first 8 bytes
    /// of [`PublicKey::fingerprint_digest`], as four colon-separated groups
    /// of four hex digits.
    pub fn fingerprint(&self) -> String {
        self.fingerprint_digest().0[..8]
            .chunks(2)
            .map(hex::encode)
            .collect::<Vec<_>>()
            .join(":")
    }

    /// Checks `signature` over `context(purpose) || message` with `verify_strict`.
    pub fn verify(&self, purpose: Purpose, message: &[u8], signature: &Signature) -> Result<()> {
        let key = self.verifying_key()?;
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        key.verify_strict(&signed_message(purpose, message), &sig)
            .map_err(|_| Error::BadSignature {
                key: self.fingerprint(),
                purpose: purpose.name(),
            })
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

fn signed_message(purpose: Purpose, message: &[u8]) -> Vec<u8> {
    [purpose.context(), message].concat()
}

/// A private signing key. It lives only on its owner's machine.
#[derive(Clone)]
pub struct KeyPair(SigningKey);

impl KeyPair {
    /// A key from 32 secret bytes (tests and golden vectors use fixed seeds).
    pub fn from_seed(seed: [u8; 32]) -> KeyPair {
        KeyPair(SigningKey::from_bytes(&seed))
    }

    /// Wraps a dalek signing key.
    pub fn from_signing_key(key: SigningKey) -> KeyPair {
        KeyPair(key)
    }

    /// The dalek signing key, for PEM encoding.
    pub fn signing_key(&self) -> &SigningKey {
        &self.0
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs `context(purpose) || message`.
    pub fn sign(&self, purpose: Purpose, message: &[u8]) -> Signature {
        Signature(self.0.sign(&signed_message(purpose, message)).to_bytes())
    }

    /// Signs raw bytes with no context: only for signed notes (checkpoints),
    /// whose own format fixes what the bytes are.
    pub fn sign_note(&self, text: &[u8]) -> Signature {
        Signature(self.0.sign(text).to_bytes())
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPair({})", self.public().fingerprint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_for_one_purpose_fails_for_another() {
        let key = KeyPair::from_seed([7; 32]);
        let sig = key.sign(Purpose::Event, b"message");
        key.public()
            .verify(Purpose::Event, b"message", &sig)
            .unwrap();
        assert!(
            key.public()
                .verify(Purpose::KeyRotation, b"message", &sig)
                .is_err()
        );
        assert!(
            key.public()
                .verify(Purpose::Event, b"messagf", &sig)
                .is_err()
        );
    }

    #[test]
    fn weak_and_invalid_keys_are_refused() {
        // The identity point (small order) and a y coordinate that is no point.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let err = PublicKey(identity).verifying_key().unwrap_err().to_string();
        assert!(err.contains("weak"), "{err}");
        let text = format!("ed25519:{}", hex::encode(identity));
        assert!(PublicKey::from_text(&text).is_err());
        assert!(PublicKey::from_text("ed25519:zz").is_err());
    }

    /// A key decodes to the same key, or the same refusal, whether this
    /// thread kept it or not, and a kept key checks only its own
    /// signatures.
    #[test]
    fn a_key_decodes_the_same_whether_kept_or_not() {
        let (a, b) = (KeyPair::from_seed([3; 32]), KeyPair::from_seed([4; 32]));
        let mut identity = [0u8; 32];
        identity[0] = 1;
        // p + 1, a second spelling of y = 1.
        let mut non_canonical = [0xff; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        let keys = [
            a.public(),
            b.public(),
            PublicKey(identity),
            PublicKey(non_canonical),
        ];
        let outcome = |r: Result<VerifyingKey>| r.map(|k| k.to_bytes()).map_err(|e| e.to_string());
        for key in keys {
            let fresh = outcome(key.decode_key());
            for _ in 0..3 {
                assert_eq!(outcome(key.verifying_key()), fresh, "{key:?}");
            }
        }
        let sig = a.sign(Purpose::Event, b"minutes");
        for _ in 0..3 {
            a.public().verify(Purpose::Event, b"minutes", &sig).unwrap();
            assert!(b.public().verify(Purpose::Event, b"minutes", &sig).is_err());
            assert!(
                PublicKey(identity)
                    .verify(Purpose::Event, b"minutes", &sig)
                    .is_err()
            );
        }
    }

    #[test]
    fn text_form_round_trips() {
        let key = KeyPair::from_seed([1; 32]).public();
        assert_eq!(PublicKey::from_text(&key.to_text()).unwrap(), key);
        assert_eq!(key.fingerprint().len(), 19);
    }
}
