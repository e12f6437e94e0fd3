//! Events: what an author signs.

use serde::{Deserialize, Serialize};

use crate::codec;
use crate::error::{Error, Result};
use crate::keys::{KeyPair, PublicKey, Purpose};
use crate::types::{EventId, EventKind, LedgerId, Signature, UnixMicros};

/// The version of the evidence format written in every event.
pub const FORMAT_VERSION: u16 = 1;

/// The largest payload an event may carry, in bytes. Larger events are
/// refused before anything is verified or stored.
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// What an author signs. Field order is the encoding order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// [`FORMAT_VERSION`].
    pub version: u16,
    /// The ledger this event is for: its genesis hash, or zeros in genesis itself.
    pub ledger: LedgerId,
    /// A random id, unique within the ledger.
    pub id: EventId,
    /// The author's public key; the signature must verify under it.
    pub author: PublicKey,
    /// The author's clock when signing. Informative: order comes from the chain.
    pub time: UnixMicros,
    /// What kind of event this is; it selects how `payload` is decoded.
    pub kind: EventKind,
    /// The typed payload, in the canonical codec.
    #[serde(with = "serde_bytes")]
    pub payload: Vec<u8>,
}

impl Event {
    /// The canonical bytes, which is what gets signed.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes canonical event bytes and checks the version and payload size.
    pub fn decode(bytes: &[u8]) -> Result<Event> {
        let event: Event = codec::decode("event", bytes)?;
        if event.version != FORMAT_VERSION {
            return Err(Error::Field {
                field: "event.version",
                reason: format!(
                    "version {} is not the supported {FORMAT_VERSION}",
                    event.version
                ),
            });
        }
        if event.payload.len() > MAX_PAYLOAD {
            return Err(Error::TooLarge {
                what: "event.payload",
                len: event.payload.len(),
                limit: MAX_PAYLOAD,
            });
        }
        Ok(event)
    }

    /// Signs the event with the author's key.
    pub fn sign(&self, key: &KeyPair) -> SignedEvent {
        let bytes = self.encode();
        let signature = key.sign(Purpose::Event, &bytes);
        SignedEvent {
            event: bytes,
            signature,
        }
    }
}

/// An event as submitted for appending: its canonical bytes and the author's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedEvent {
    /// The canonical bytes of an [`Event`].
    #[serde(with = "serde_bytes")]
    pub event: Vec<u8>,
    /// ed25519 over `"review-ledger/v1 event\0" || event`.
    pub signature: Signature,
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
        codec::decode("signed event", bytes)
    }

    /// Decodes the event and checks the author's signature with `verify_strict`.
    pub fn verify(&self) -> Result<Event> {
        if self.event.len() > Self::MAX_LEN {
            return Err(Error::TooLarge {
                what: "event",
                len: self.event.len(),
                limit: Self::MAX_LEN,
            });
        }
        let event = Event::decode(&self.event)?;
        event
            .author
            .verify(Purpose::Event, &self.event, &self.signature)?;
        Ok(event)
    }
}
