//! Events: what an author signs, and the signatures that go with them.
//!
//! An event's version says who can sign it: version 1 is signed by an
//! ed25519 key, version 2 by a passkey ([`crate::passkey`]). The two
//! encodings differ only in the author field, and the signature that goes
//! with a version-2 event is a WebAuthn [`Assertion`] rather than 64 bytes.
//! Ed25519 authors keep writing version 1, so every ledger readable before
//! passkeys stays readable by the same verifiers.

use serde::{Deserialize, Serialize, Serializer};

use crate::codec;
use crate::error::{Error, Result};
use crate::keys::{KeyPair, PublicKey, Purpose};
use crate::passkey::{Assertion, Credential, PasskeyUse};
use crate::types::{EventId, EventKind, LedgerId, Signature, UnixMicros};

/// The version of events signed by an ed25519 key.
pub const FORMAT_VERSION: u16 = 1;

/// The version of events signed by a passkey.
pub const PASSKEY_FORMAT_VERSION: u16 = 2;

/// The largest payload an event may carry, in bytes. Larger events are
/// refused before anything is verified or stored.
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// Who signs an event. Encoded without a tag: the event's version says
/// which it is (32 key bytes in version 1, a [`Credential`] in version 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Author {
    /// An ed25519 key (a key file or a browser's device key).
    Ed25519(PublicKey),
    /// A passkey.
    Passkey(Credential),
}

impl Author {
    /// The 32 bytes the roster names this author by: the ed25519 key
    /// itself, or the passkey's [`Credential::key_id`].
    pub fn key(&self) -> PublicKey {
        match self {
            Author::Ed25519(key) => *key,
            Author::Passkey(c) => c.key_id(),
        }
    }

    /// The event version this author signs.
    pub fn version(&self) -> u16 {
        match self {
            Author::Ed25519(_) => FORMAT_VERSION,
            Author::Passkey(_) => PASSKEY_FORMAT_VERSION,
        }
    }

    /// The text form: `ed25519:<hex>` for a key, `passkey:<hex of its key id>`
    /// for a passkey.
    pub fn to_text(&self) -> String {
        match self {
            Author::Ed25519(key) => key.to_text(),
            Author::Passkey(c) => format!("passkey:{}", c.key_id().to_hex()),
        }
    }

    /// The passkey, if this author is one.
    pub fn passkey(&self) -> Option<&Credential> {
        match self {
            Author::Passkey(c) => Some(c),
            Author::Ed25519(_) => None,
        }
    }
}

impl Serialize for Author {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Author::Ed25519(key) => key.serialize(s),
            Author::Passkey(c) => c.serialize(s),
        }
    }
}

/// What an author signs. Field order is the encoding order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// [`FORMAT_VERSION`] or [`PASSKEY_FORMAT_VERSION`], matching `author`.
    pub version: u16,
    /// The ledger this event is for: its genesis hash, or zeros in genesis itself.
    pub ledger: LedgerId,
    /// A random id, unique within the ledger.
    pub id: EventId,
    /// The author; the signature must verify under it.
    pub author: Author,
    /// The author's clock when signing. Informative: order comes from the chain.
    pub time: UnixMicros,
    /// What kind of event this is; it selects how `payload` is decoded.
    pub kind: EventKind,
    /// The typed payload, in the canonical codec.
    #[serde(with = "serde_bytes")]
    pub payload: Vec<u8>,
}

/// The wire shape of an event of either version, generic in its author.
#[derive(Serialize, Deserialize)]
struct Wire<A> {
    version: u16,
    ledger: LedgerId,
    id: EventId,
    author: A,
    time: UnixMicros,
    kind: EventKind,
    #[serde(with = "serde_bytes")]
    payload: Vec<u8>,
}

impl<A> Wire<A> {
    fn into_event(self, author: impl FnOnce(A) -> Author) -> Event {
        Event {
            version: self.version,
            ledger: self.ledger,
            id: self.id,
            author: author(self.author),
            time: self.time,
            kind: self.kind,
            payload: self.payload,
        }
    }
}

/// The version an encoded event claims: its first two bytes, little endian
/// (`None` when there are fewer).
pub fn version_of(event_bytes: &[u8]) -> Option<u16> {
    Some(u16::from_le_bytes(event_bytes.get(..2)?.try_into().ok()?))
}

impl Event {
    /// The canonical bytes, which is what gets signed.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes canonical event bytes and checks the version, the author and
    /// the payload size.
    pub fn decode(bytes: &[u8]) -> Result<Event> {
        let event = match version_of(bytes) {
            Some(FORMAT_VERSION) => {
                codec::decode::<Wire<PublicKey>>("event", bytes)?.into_event(Author::Ed25519)
            }
            Some(PASSKEY_FORMAT_VERSION) => {
                let wire = codec::decode::<Wire<Credential>>("event", bytes)?;
                wire.author.check()?;
                wire.into_event(Author::Passkey)
            }
            Some(other) => {
                return Err(Error::Field {
                    field: "event.version",
                    reason: format!(
                        "version {other} is not one of the supported {FORMAT_VERSION} and {PASSKEY_FORMAT_VERSION}"
                    ),
                });
            }
            None => {
                return Err(Error::Decode {
                    what: "event",
                    reason: format!("{} bytes cannot hold a version", bytes.len()),
                });
            }
        };
        if event.payload.len() > MAX_PAYLOAD {
            return Err(Error::TooLarge {
                what: "event.payload",
                len: event.payload.len(),
                limit: MAX_PAYLOAD,
            });
        }
        Ok(event)
    }

    /// Signs the event with the author's ed25519 key.
    pub fn sign(&self, key: &KeyPair) -> SignedEvent {
        let bytes = self.encode();
        let signature = key.sign(Purpose::Event, &bytes);
        SignedEvent {
            event: bytes,
            signature: EventSignature::Ed25519(signature),
        }
    }
}

/// The signature that goes with an event: 64 ed25519 bytes for version 1,
/// a WebAuthn assertion for version 2. Encoded without a tag, like
/// [`Author`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventSignature {
    /// ed25519 over `"review-ledger/v1 event\0" || event`.
    Ed25519(Signature),
    /// A passkey's assertion whose challenge is
    /// [`crate::passkey::challenge`]`(Event, event)`.
    Passkey(Assertion),
}

impl Serialize for EventSignature {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            EventSignature::Ed25519(sig) => sig.serialize(s),
            EventSignature::Passkey(a) => a.serialize(s),
        }
    }
}

impl EventSignature {
    /// How the signature says it was made, without checking it: for a
    /// ledger's own entries, which were verified when admitted.
    pub fn claims(&self) -> SignedBy {
        match self {
            EventSignature::Ed25519(_) => SignedBy::Ed25519,
            EventSignature::Passkey(a) => SignedBy::Passkey {
                user_verified: a
                    .flags()
                    .is_some_and(|f| f & crate::passkey::FLAG_USER_VERIFIED != 0),
            },
        }
    }

    /// The ed25519 signature, if this is one.
    pub fn ed25519(&self) -> Option<&Signature> {
        match self {
            EventSignature::Ed25519(sig) => Some(sig),
            EventSignature::Passkey(_) => None,
        }
    }

    /// Decodes the signature that follows an event's bytes, in the shape
    /// its version calls for.
    /// The signature's own bytes (as carried apart from the event, in the
    /// service's `SignedEvent.signature`).
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a signature carried apart from its event's bytes.
    pub fn decode(event: &[u8], bytes: &[u8]) -> Result<EventSignature> {
        Self::decode_for("event signature", event, bytes)
    }

    /// `what` names the value being decoded in errors.
    pub(crate) fn decode_for(
        what: &'static str,
        event: &[u8],
        bytes: &[u8],
    ) -> Result<EventSignature> {
        match version_of(event) {
            Some(PASSKEY_FORMAT_VERSION) => {
                let a: Assertion = codec::decode(what, bytes)?;
                a.check()?;
                Ok(EventSignature::Passkey(a))
            }
            _ => Ok(EventSignature::Ed25519(codec::decode(what, bytes)?)),
        }
    }
}

/// How an event's signature was made, once verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignedBy {
    /// An ed25519 key.
    Ed25519,
    /// A passkey; `user_verified` is the authenticator's UV flag.
    Passkey {
        /// The authenticator verified the user (biometric or PIN).
        user_verified: bool,
    },
}

/// An event as submitted for appending: its canonical bytes and the author's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignedEvent {
    /// The canonical bytes of an [`Event`].
    #[serde(with = "serde_bytes")]
    pub event: Vec<u8>,
    /// The author's signature over them.
    pub signature: EventSignature,
}

impl SignedEvent {
    /// The largest encoded signed event accepted, in bytes.
    pub const MAX_LEN: usize = MAX_PAYLOAD + 1024;

    /// Canonical bytes, for transport.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a submitted signed event, refusing oversized input first.
    pub fn decode(bytes: &[u8]) -> Result<SignedEvent> {
        if bytes.len() > Self::MAX_LEN {
            return Err(Error::TooLarge {
                what: "signed event",
                len: bytes.len(),
                limit: Self::MAX_LEN,
            });
        }
        let (event, used) = codec::decode_prefix::<Bytes>("signed event", bytes)?;
        Ok(SignedEvent {
            signature: EventSignature::decode_for("signed event", &event.0, &bytes[used..])?,
            event: event.0,
        })
    }

    /// Decodes the event and checks the author's signature.
    pub fn verify(&self) -> Result<Event> {
        Ok(self.verify_signer()?.0)
    }

    /// Decodes the event, checks the author's signature (`verify_strict`
    /// for ed25519, [`Credential::verify`] for a passkey) and says how it
    /// was made.
    pub fn verify_signer(&self) -> Result<(Event, SignedBy)> {
        if self.event.len() > Self::MAX_LEN {
            return Err(Error::TooLarge {
                what: "event",
                len: self.event.len(),
                limit: Self::MAX_LEN,
            });
        }
        // The whole signed event, signature included, is held to the limit
        // (a passkey's assertion is larger than 64 bytes): what is admitted
        // must decode again as an entry.
        let len = 8 + self.event.len() + self.signature.encode().len();
        if len > Self::MAX_LEN {
            return Err(Error::TooLarge {
                what: "signed event",
                len,
                limit: Self::MAX_LEN,
            });
        }
        let event = Event::decode(&self.event)?;
        let signed_by = match (&event.author, &self.signature) {
            (Author::Ed25519(key), EventSignature::Ed25519(sig)) => {
                key.verify(Purpose::Event, &self.event, sig)?;
                SignedBy::Ed25519
            }
            (Author::Passkey(c), EventSignature::Passkey(a)) => {
                let PasskeyUse { user_verified, .. } = c.verify(Purpose::Event, &self.event, a)?;
                SignedBy::Passkey { user_verified }
            }
            _ => {
                return Err(Error::Field {
                    field: "event signature",
                    reason: "its kind does not match the event's version".into(),
                });
            }
        };
        Ok((event, signed_by))
    }
}

/// A length-prefixed byte string, to decode the event bytes that lead a
/// signed event or an entry.
#[derive(Serialize, Deserialize)]
pub(crate) struct Bytes(#[serde(with = "serde_bytes")] pub(crate) Vec<u8>);
