//! Passkeys: WebAuthn credentials as event authors, and their assertions as
//! signatures.
//!
//! A passkey never signs our message directly. The authenticator signs
//! `authenticator_data || SHA-256(client_data_json)`, where the client data
//! is JSON the browser writes around a challenge we choose. The challenge is
//! [`challenge`]: SHA-256 over a context of its own, the purpose's context
//! and the message. So, as with ed25519 keys, a passkey signature made for
//! one purpose or one event never verifies for another.
//!
//! [`Credential::verify`] checks everything an outsider can check from the
//! bytes alone (`docs/FORMAT.md`, "Passkeys"): the signature, the client
//! data's type, challenge and origin, the relying party id hash, and that
//! the user was present. Whether the user was *verified* (biometric or PIN)
//! is returned, not required: the roster's key policy decides where it is
//! needed, and the review rules judge it.
//!
//! The signature counter is read and returned but never compared: synced
//! passkeys report zero, one credential may sign from several devices, and
//! the ledger's order, not the counter, says which signature came first.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Verifier;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::keys::{PublicKey, Purpose};

/// The prefix of the SHA-256 input that makes a passkey challenge.
pub const CHALLENGE_CONTEXT: &[u8] = b"review-ledger/v2 passkey challenge\0";

/// The blake3 `derive_key` context of a passkey's key id.
pub const KEY_ID_CONTEXT: &str = "review-ledger/v2 passkey key id";

/// COSE algorithm ES256: ECDSA on P-256 with SHA-256.
pub const ES256: i32 = -7;
/// COSE algorithm EdDSA (here: Ed25519).
pub const EDDSA: i32 = -8;

/// The longest relying party id, in bytes (a DNS name).
pub const MAX_RP_ID: usize = 253;
/// The longest credential id, in bytes (WebAuthn's own limit).
pub const MAX_CREDENTIAL_ID: usize = 1023;
/// The longest authenticator data, in bytes.
pub const MAX_AUTHENTICATOR_DATA: usize = 1024;
/// The longest client data JSON, in bytes.
pub const MAX_CLIENT_DATA: usize = 2048;
/// The longest signature in an assertion, in bytes (a DER ECDSA signature
/// on P-256 is at most 72).
pub const MAX_ASSERTION_SIGNATURE: usize = 128;

/// Authenticator data flag: the user was present.
pub const FLAG_USER_PRESENT: u8 = 0x01;
/// Authenticator data flag: the user was verified (biometric or PIN).
pub const FLAG_USER_VERIFIED: u8 = 0x04;

/// A WebAuthn credential enrolled as a member's key. Field order is the
/// encoding order.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Credential {
    /// The relying party id the credential is bound to (a domain such as
    /// `review.example.org`, or `localhost`).
    pub rp_id: String,
    /// The credential id the authenticator gave at registration.
    #[serde(with = "serde_bytes")]
    pub credential_id: Vec<u8>,
    /// The COSE algorithm: [`ES256`] or [`EDDSA`].
    pub algorithm: i32,
    /// The public key: for ES256 the 65-byte uncompressed SEC1 point
    /// (`0x04 || x || y`), for EdDSA the 32-byte Ed25519 key.
    #[serde(with = "serde_bytes")]
    pub public_key: Vec<u8>,
}

/// A WebAuthn assertion, stored exactly as the authenticator and the browser
/// produced it. Field order is the encoding order.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Assertion {
    /// The authenticator data: RP id hash (32), flags (1), counter (4, big
    /// endian), then any extensions.
    #[serde(with = "serde_bytes")]
    pub authenticator_data: Vec<u8>,
    /// The client data JSON the browser wrote, byte for byte.
    #[serde(with = "serde_bytes")]
    pub client_data_json: Vec<u8>,
    /// The signature: DER for ES256, 64 raw bytes for EdDSA.
    #[serde(with = "serde_bytes")]
    pub signature: Vec<u8>,
}

/// What a verified assertion says about the person behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasskeyUse {
    /// The authenticator verified the user (flag UV).
    pub user_verified: bool,
    /// The signature counter (informative only; see the module overview).
    pub counter: u32,
}

/// The 32-byte challenge a passkey signs for `message` under `purpose`:
/// `SHA-256(CHALLENGE_CONTEXT || context(purpose) || message)`.
pub fn challenge(purpose: Purpose, message: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(CHALLENGE_CONTEXT);
    h.update(purpose.context());
    h.update(message);
    h.finalize().into()
}

fn field(field: &'static str, reason: impl Into<String>) -> Error {
    Error::Field {
        field,
        reason: reason.into(),
    }
}

fn too_large(what: &'static str, len: usize, limit: usize) -> Result<()> {
    if len > limit {
        return Err(Error::TooLarge { what, len, limit });
    }
    Ok(())
}

impl Credential {
    /// Checks the credential's shape: a plausible relying party id, a
    /// credential id, a supported algorithm and a valid public key for it.
    pub fn check(&self) -> Result<()> {
        let rp = &self.rp_id;
        too_large("passkey.rp_id", rp.len(), MAX_RP_ID)?;
        let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
        if rp.is_empty() || !rp.chars().all(ok) || rp.starts_with('.') || rp.ends_with('.') {
            return Err(field(
                "passkey.rp_id",
                format!("{rp:?} is not a lowercase domain name"),
            ));
        }
        if self.credential_id.is_empty() {
            return Err(field("passkey.credential_id", "must not be empty"));
        }
        too_large(
            "passkey.credential_id",
            self.credential_id.len(),
            MAX_CREDENTIAL_ID,
        )?;
        match self.algorithm {
            ES256 => {
                if self.public_key.len() != 65 || self.public_key[0] != 4 {
                    return Err(field(
                        "passkey.public_key",
                        format!(
                            "{} bytes; an ES256 key is the 65-byte uncompressed point 04 || x || y",
                            self.public_key.len()
                        ),
                    ));
                }
                p256_key(&self.public_key)?;
            }
            EDDSA => {
                ed25519_key(&self.public_key)?;
            }
            other => {
                return Err(field(
                    "passkey.algorithm",
                    format!("COSE algorithm {other} is not ES256 (-7) or EdDSA (-8)"),
                ));
            }
        }
        Ok(())
    }

    /// The credential a browser registered: `public_key_der` is what
    /// `AuthenticatorAttestationResponse.getPublicKey()` returns, a DER
    /// SubjectPublicKeyInfo, which is stored here as the raw key its
    /// algorithm uses. The result is [`Credential::check`]ed.
    pub fn from_registration(
        rp_id: &str,
        credential_id: Vec<u8>,
        algorithm: i32,
        public_key_der: &[u8],
    ) -> Result<Credential> {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        use p256::pkcs8::DecodePublicKey;
        let bad = |what: &str| field("passkey.public_key", format!("not a DER {what} public key"));
        let public_key = match algorithm {
            ES256 => p256::PublicKey::from_public_key_der(public_key_der)
                .map_err(|_| bad("P-256"))?
                .to_encoded_point(false)
                .as_bytes()
                .to_vec(),
            EDDSA => ed25519_dalek::VerifyingKey::from_public_key_der(public_key_der)
                .map_err(|_| bad("Ed25519"))?
                .to_bytes()
                .to_vec(),
            other => {
                return Err(field(
                    "passkey.algorithm",
                    format!("COSE algorithm {other} is not ES256 (-7) or EdDSA (-8)"),
                ));
            }
        };
        let c = Credential {
            rp_id: rp_id.to_owned(),
            credential_id,
            algorithm,
            public_key,
        };
        c.check()?;
        Ok(c)
    }

    /// The 32 bytes the roster names this credential by:
    /// `blake3::derive_key(KEY_ID_CONTEXT, encode(credential))`. It takes
    /// the place an ed25519 key has in roster payloads and fingerprints.
    pub fn key_id(&self) -> PublicKey {
        PublicKey(blake3::derive_key(
            KEY_ID_CONTEXT,
            &crate::codec::encode(self),
        ))
    }

    /// The algorithm's name, for people.
    pub fn algorithm_name(&self) -> &'static str {
        match self.algorithm {
            ES256 => "ES256",
            EDDSA => "EdDSA",
            _ => "unsupported",
        }
    }

    /// Whether `origin` (from client data) belongs to this credential's
    /// relying party: `https://` and the RP id or a subdomain of it, with an
    /// optional port; or `http://localhost` with an optional port when the
    /// RP id is `localhost`.
    pub fn origin_belongs(&self, origin: &str) -> bool {
        let (host_port, secure) = match origin.split_once("://") {
            Some(("https", rest)) => (rest, true),
            Some(("http", rest)) => (rest, false),
            _ => return false,
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        };
        let host_char =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-';
        if host.is_empty() || !host.chars().all(host_char) {
            return false;
        }
        if let Some(p) = port
            && (p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
        {
            return false;
        }
        let rp = self.rp_id.as_str();
        let same_site = host == rp || host.strip_suffix(rp).is_some_and(|s| s.ends_with('.'));
        same_site && (secure || (rp == "localhost" && host == "localhost"))
    }

    /// Verifies `assertion` as this credential's signature of `message`
    /// under `purpose`, and says whether the user was verified.
    pub fn verify(
        &self,
        purpose: Purpose,
        message: &[u8],
        assertion: &Assertion,
    ) -> Result<PasskeyUse> {
        self.check()?;
        assertion.check()?;
        let bad = |reason: String| Error::BadPasskey {
            key: self.key_id().fingerprint(),
            reason,
        };
        let data = &assertion.authenticator_data;
        if data.len() < 37 {
            return Err(bad(format!(
                "authenticator data is {} bytes, fewer than the 37 it must have",
                data.len()
            )));
        }
        let rp_hash: [u8; 32] = Sha256::digest(self.rp_id.as_bytes()).into();
        if data[..32] != rp_hash {
            return Err(bad(format!(
                "authenticator data is for another relying party than {}",
                self.rp_id
            )));
        }
        let flags = data[32];
        if flags & FLAG_USER_PRESENT == 0 {
            return Err(bad("the user-present flag is not set".into()));
        }
        let client = ClientData::parse(&assertion.client_data_json).map_err(bad)?;
        if client.kind != "webauthn.get" {
            return Err(bad(format!(
                "client data type is {:?}, not \"webauthn.get\"",
                client.kind
            )));
        }
        let expected = URL_SAFE_NO_PAD.encode(challenge(purpose, message));
        if client.challenge != expected {
            return Err(bad(format!(
                "client data challenge {} is not this {}'s {expected}",
                client.challenge,
                purpose.name()
            )));
        }
        if !self.origin_belongs(&client.origin) {
            return Err(bad(format!(
                "origin {} does not belong to relying party {}",
                client.origin, self.rp_id
            )));
        }
        if client.cross_origin {
            return Err(bad("the assertion was made in a cross-origin frame".into()));
        }
        let signed = [
            data.as_slice(),
            &Sha256::digest(&assertion.client_data_json),
        ]
        .concat();
        let verified = match self.algorithm {
            ES256 => {
                let key = p256_key(&self.public_key)?;
                p256::ecdsa::Signature::from_der(&assertion.signature)
                    .ok()
                    .is_some_and(|sig| key.verify(&signed, &sig).is_ok())
            }
            EDDSA => {
                let key = ed25519_key(&self.public_key)?;
                <[u8; 64]>::try_from(assertion.signature.as_slice())
                    .ok()
                    .is_some_and(|sig| {
                        key.verify_strict(&signed, &ed25519_dalek::Signature::from_bytes(&sig))
                            .is_ok()
                    })
            }
            _ => false,
        };
        if !verified {
            return Err(bad(format!(
                "the {} signature does not verify over the authenticator data and client data",
                self.algorithm_name()
            )));
        }
        Ok(PasskeyUse {
            user_verified: flags & FLAG_USER_VERIFIED != 0,
            counter: u32::from_be_bytes([data[33], data[34], data[35], data[36]]),
        })
    }
}

fn p256_key(bytes: &[u8]) -> Result<p256::ecdsa::VerifyingKey> {
    p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).map_err(|_| Error::BadKey {
        key: hex::encode(bytes),
        reason: "not a point on P-256",
    })
}

fn ed25519_key(bytes: &[u8]) -> Result<ed25519_dalek::VerifyingKey> {
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
        field(
            "passkey.public_key",
            format!("{} bytes; an EdDSA key is 32", bytes.len()),
        )
    })?;
    PublicKey(bytes).verifying_key()
}

impl Assertion {
    /// Checks the fields' lengths against their limits.
    pub fn check(&self) -> Result<()> {
        too_large(
            "passkey.authenticator_data",
            self.authenticator_data.len(),
            MAX_AUTHENTICATOR_DATA,
        )?;
        too_large(
            "passkey.client_data_json",
            self.client_data_json.len(),
            MAX_CLIENT_DATA,
        )?;
        too_large(
            "passkey.signature",
            self.signature.len(),
            MAX_ASSERTION_SIGNATURE,
        )
    }

    /// The authenticator's flags byte, if the data is long enough to hold it.
    pub fn flags(&self) -> Option<u8> {
        self.authenticator_data.get(32).copied()
    }
}

/// The client data fields verification reads. Others (`topOrigin`, ...)
/// are ignored; a member named twice is refused (by the derived
/// deserializer).
#[derive(Deserialize)]
struct ClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: bool,
}

impl ClientData {
    /// A JSON object (not an array), with no member named twice.
    fn parse(bytes: &[u8]) -> std::result::Result<ClientData, String> {
        let bad =
            |e: serde_json::Error| format!("client data is not the JSON WebAuthn writes: {e}");
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(bytes).map_err(bad)?;
        serde_json::from_slice(bytes).map_err(bad)
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credential({} {} on {})",
            self.algorithm_name(),
            self.key_id().fingerprint(),
            self.rp_id
        )
    }
}

impl fmt::Debug for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Assertion(flags {:?}, {} bytes of client data)",
            self.flags(),
            self.client_data_json.len()
        )
    }
}

enum SoftKey {
    P256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

/// A software authenticator with a fixed key: it makes the golden
/// vectors, the bundle suite's cases and the tests' signatures. A real
/// passkey lives in an authenticator; nothing in the product signs with
/// this.
pub struct SoftAuthenticator {
    key: SoftKey,
    /// The credential it holds.
    pub credential: Credential,
    /// The origin it writes into client data.
    pub origin: String,
    /// The flags it sets (user present and verified by default).
    pub flags: u8,
    /// The counter it reports.
    pub counter: u32,
}

impl SoftAuthenticator {
    /// An ES256 authenticator whose key is derived from `seed`, bound to
    /// `rp_id` and writing `origin`.
    pub fn new(seed: [u8; 32], rp_id: &str, origin: &str) -> SoftAuthenticator {
        let scalar: [u8; 32] = Sha256::digest(seed).into();
        let key = p256::ecdsa::SigningKey::from_bytes(&scalar.into())
            .expect("a SHA-256 output is a valid P-256 scalar but with negligible odds");
        let point = key.verifying_key().to_encoded_point(false);
        Self::holding(
            SoftKey::P256(key),
            ES256,
            point.as_bytes().to_vec(),
            seed,
            rp_id,
            origin,
        )
    }

    /// An EdDSA (Ed25519) authenticator whose key is `seed`.
    pub fn ed25519(seed: [u8; 32], rp_id: &str, origin: &str) -> SoftAuthenticator {
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let public = key.verifying_key().to_bytes().to_vec();
        Self::holding(SoftKey::Ed25519(key), EDDSA, public, seed, rp_id, origin)
    }

    fn holding(
        key: SoftKey,
        algorithm: i32,
        public_key: Vec<u8>,
        seed: [u8; 32],
        rp_id: &str,
        origin: &str,
    ) -> SoftAuthenticator {
        SoftAuthenticator {
            credential: Credential {
                rp_id: rp_id.to_owned(),
                credential_id: seed[..16].to_vec(),
                algorithm,
                public_key,
            },
            key,
            origin: origin.to_owned(),
            flags: FLAG_USER_PRESENT | FLAG_USER_VERIFIED,
            counter: 0,
        }
    }

    /// The client data JSON for a raw challenge, in the key order browsers write.
    pub fn client_data(&self, challenge: &[u8; 32]) -> Vec<u8> {
        format!(
            r#"{{"type":"webauthn.get","challenge":"{}","origin":"{}","crossOrigin":false}}"#,
            URL_SAFE_NO_PAD.encode(challenge),
            self.origin
        )
        .into_bytes()
    }

    /// Authenticator data for this credential's RP id, flags and counter.
    pub fn authenticator_data(&self) -> Vec<u8> {
        let mut data = Sha256::digest(self.credential.rp_id.as_bytes()).to_vec();
        data.push(self.flags);
        data.extend_from_slice(&self.counter.to_be_bytes());
        data
    }

    /// Signs authenticator data and client data as an authenticator does.
    pub fn assert_raw(&self, authenticator_data: Vec<u8>, client_data_json: Vec<u8>) -> Assertion {
        use p256::ecdsa::signature::Signer;
        let signed = [
            authenticator_data.as_slice(),
            &Sha256::digest(&client_data_json),
        ]
        .concat();
        let signature = match &self.key {
            SoftKey::P256(key) => {
                let sig: p256::ecdsa::Signature = key.sign(&signed);
                sig.to_der().as_bytes().to_vec()
            }
            SoftKey::Ed25519(key) => key.sign(&signed).to_bytes().to_vec(),
        };
        Assertion {
            authenticator_data,
            client_data_json,
            signature,
        }
    }

    /// An assertion over `message` for `purpose`.
    pub fn assert(&self, purpose: Purpose, message: &[u8]) -> Assertion {
        self.assert_raw(
            self.authenticator_data(),
            self.client_data(&challenge(purpose, message)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn es256_signatures_verify_with_either_s() {
        // Authenticators do not normalise s; a verifier accepts both. (A
        // second spelling of one assertion gains nothing: the event id it
        // carries is admitted once.)
        let a = soft();
        let mut assertion = a.assert(Purpose::Event, b"event");
        let sig = p256::ecdsa::Signature::from_der(&assertion.signature).unwrap();
        let other = match sig.normalize_s() {
            Some(low) => low,
            None => {
                let (r, s) = sig.split_scalars();
                p256::ecdsa::Signature::from_scalars(r, -*s).unwrap()
            }
        };
        assert_ne!(other, sig);
        assert_eq!(
            p256::ecdsa::Signature::from_der(&assertion.signature).unwrap(),
            sig
        );
        assertion.signature = other.to_der().as_bytes().to_vec();
        a.credential
            .verify(Purpose::Event, b"event", &assertion)
            .expect("the other s verifies too");
    }

    #[test]
    fn eddsa_passkeys_verify_too() {
        let a = SoftAuthenticator::ed25519([9; 32], "localhost", "http://localhost:8080");
        let used = a
            .credential
            .verify(Purpose::Event, b"e", &a.assert(Purpose::Event, b"e"))
            .unwrap();
        assert!(used.user_verified);
        let other = a.assert(Purpose::Event, b"f");
        assert!(a.credential.verify(Purpose::Event, b"e", &other).is_err());
    }

    fn soft() -> SoftAuthenticator {
        SoftAuthenticator::new([5; 32], "review.example.org", "https://review.example.org")
    }

    #[test]
    fn a_valid_assertion_verifies_and_reports_user_verification() {
        let mut a = soft();
        let used = a
            .credential
            .verify(
                Purpose::Event,
                b"event",
                &a.assert(Purpose::Event, b"event"),
            )
            .unwrap();
        assert!(used.user_verified);
        a.flags = FLAG_USER_PRESENT;
        a.counter = 7;
        let used = a
            .credential
            .verify(
                Purpose::Event,
                b"event",
                &a.assert(Purpose::Event, b"event"),
            )
            .unwrap();
        assert_eq!(
            used,
            PasskeyUse {
                user_verified: false,
                counter: 7
            }
        );
    }

    #[test]
    fn every_check_refuses_what_it_guards() {
        let a = soft();
        let c = &a.credential;
        let good = a.assert(Purpose::Event, b"event");
        let refuse = |assertion: &Assertion, purpose: Purpose, message: &[u8], expected: &str| {
            let err = c
                .verify(purpose, message, assertion)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        };
        // Another message, another purpose.
        refuse(&good, Purpose::Event, b"other", "challenge");
        refuse(&good, Purpose::ConsoleSignIn, b"event", "challenge");
        // Signature over other client data.
        let mut other = good.clone();
        other.client_data_json = a.client_data(&challenge(Purpose::Event, b"event"));
        other.client_data_json.push(b' ');
        refuse(&other, Purpose::Event, b"event", "does not verify");
        // Another relying party.
        let site = SoftAuthenticator::new([5; 32], "evil.example", "https://review.example.org");
        let elsewhere = a.assert_raw(
            site.authenticator_data(),
            a.client_data(&challenge(Purpose::Event, b"event")),
        );
        refuse(
            &elsewhere,
            Purpose::Event,
            b"event",
            "another relying party",
        );
        // An origin of another site, with the right RP hash.
        let mut origin = soft();
        origin.origin = "https://review.example.org.evil.example".into();
        refuse(
            &origin.assert(Purpose::Event, b"event"),
            Purpose::Event,
            b"event",
            "does not belong",
        );
        // A registration's client data type.
        let create = a.assert_raw(
            a.authenticator_data(),
            String::from_utf8(a.client_data(&challenge(Purpose::Event, b"event")))
                .unwrap()
                .replace("webauthn.get", "webauthn.create")
                .into_bytes(),
        );
        refuse(&create, Purpose::Event, b"event", "webauthn.create");
        // User not present.
        let mut absent = soft();
        absent.flags = FLAG_USER_VERIFIED;
        refuse(
            &absent.assert(Purpose::Event, b"event"),
            Purpose::Event,
            b"event",
            "user-present",
        );
        // Client data that is an array, or names a member twice.
        let challenge_text = URL_SAFE_NO_PAD.encode(challenge(Purpose::Event, b"event"));
        for json in [
            format!(r#"["webauthn.get","{challenge_text}","https://review.example.org"]"#),
            format!(
                r#"{{"type":"webauthn.get","challenge":"{challenge_text}","challenge":"{challenge_text}","origin":"https://review.example.org"}}"#
            ),
        ] {
            let odd = a.assert_raw(a.authenticator_data(), json.into_bytes());
            refuse(
                &odd,
                Purpose::Event,
                b"event",
                "not the JSON WebAuthn writes",
            );
        }
        // Truncated authenticator data.
        let mut short = good.clone();
        short.authenticator_data.truncate(36);
        refuse(&short, Purpose::Event, b"event", "37");
    }

    #[test]
    fn origins_belong_only_to_their_relying_party() {
        let c = soft().credential;
        for (origin, ok) in [
            ("https://review.example.org", true),
            ("https://review.example.org:8443", true),
            ("https://eu.review.example.org", true),
            ("http://review.example.org", false),
            ("https://xreview.example.org", false),
            ("https://review.example.org.evil", false),
            ("https://review.example.org:", false),
            ("https://evil.com/x.review.example.org", false),
            ("https://x@.review.example.org", false),
            ("review.example.org", false),
        ] {
            assert_eq!(c.origin_belongs(origin), ok, "{origin}");
        }
        let local =
            SoftAuthenticator::new([1; 32], "localhost", "http://localhost:8080").credential;
        assert!(local.origin_belongs("http://localhost:8080"));
        assert!(!local.origin_belongs("http://127.0.0.1:8080"));
    }

    #[test]
    fn credentials_are_checked_before_use() {
        let good = soft().credential;
        good.check().unwrap();
        type Spoil = fn(&mut Credential);
        let cases: [(Spoil, &str); 4] = [
            (|c| c.algorithm = -257, "COSE algorithm -257"),
            (|c| c.public_key[10] ^= 1, "P-256"),
            (|c| c.rp_id = "Review.Example".into(), "lowercase domain"),
            (|c| c.credential_id.clear(), "must not be empty"),
        ];
        for (spoil, expected) in cases {
            let mut c = good.clone();
            spoil(&mut c);
            let err = c.check().unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        }
    }
}
