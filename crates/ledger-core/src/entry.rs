//! Entries: what the ledger stores, chained by the hash of the one before.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::error::{Error, Result};
use crate::event::{Bytes, Event, EventSignature, SignedBy, SignedEvent};
use crate::types::{EntryHash, Hash, LedgerId, Seq, UnixMicros};

/// The blake3 `derive_key` context of entry hashes.
pub const ENTRY_HASH_CONTEXT: &str = "review-ledger/v1 entry";

/// One stored entry. Field order is the encoding order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Position in the ledger, from 0.
    pub seq: Seq,
    /// Hash of entry `seq - 1`; zeros for genesis.
    pub prev: EntryHash,
    /// The ledger's clock when it admitted the entry; never decreases.
    pub received: UnixMicros,
    /// The canonical event bytes exactly as the author signed them.
    #[serde(with = "serde_bytes")]
    pub event: Vec<u8>,
    /// The author's signature over the event, in the shape the event's
    /// version calls for.
    pub signature: EventSignature,
}

/// The fields of an entry before its signature.
#[derive(Serialize, Deserialize)]
struct Head {
    seq: Seq,
    prev: EntryHash,
    received: UnixMicros,
    event: Bytes,
}

impl Entry {
    /// The largest encoded entry, in bytes.
    pub const MAX_LEN: usize = SignedEvent::MAX_LEN + 128;

    /// Canonical bytes, as stored and as hashed.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes canonical entry bytes.
    pub fn decode(bytes: &[u8]) -> Result<Entry> {
        if bytes.len() > Self::MAX_LEN {
            return Err(Error::TooLarge {
                what: "entry",
                len: bytes.len(),
                limit: Self::MAX_LEN,
            });
        }
        let (head, used) = codec::decode_prefix::<Head>("entry", bytes)?;
        let signature = EventSignature::decode_for("entry", &head.event.0, &bytes[used..])?;
        Ok(Entry {
            seq: head.seq,
            prev: head.prev,
            received: head.received,
            event: head.event.0,
            signature,
        })
    }

    /// `blake3::derive_key("review-ledger/v1 entry", encode(entry))`.
    pub fn hash(&self) -> EntryHash {
        hash_entry_bytes(&self.encode())
    }

    /// The signed event this entry carries.
    pub fn signed_event(&self) -> SignedEvent {
        SignedEvent {
            event: self.event.clone(),
            signature: self.signature.clone(),
        }
    }
}

/// The entry hash of already-encoded entry bytes.
pub fn hash_entry_bytes(bytes: &[u8]) -> EntryHash {
    let mut hasher = blake3::Hasher::new_derive_key(ENTRY_HASH_CONTEXT);
    hasher.update(bytes);
    Hash(*hasher.finalize().as_bytes())
}

/// An entry whose bytes decoded canonically and whose signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEntry {
    /// The entry.
    pub entry: Entry,
    /// Its hash.
    pub hash: EntryHash,
    /// Its decoded event.
    pub event: Event,
    /// How its signature was made.
    pub signed_by: SignedBy,
}

impl VerifiedEntry {
    /// Decodes an entry, hashes it and verifies its author's signature.
    pub fn from_bytes(bytes: &[u8]) -> Result<VerifiedEntry> {
        let entry = Entry::decode(bytes)?;
        let (event, signed_by) = entry
            .signed_event()
            .verify_signer()
            .map_err(|e| e.at(entry.seq.0))?;
        Ok(VerifiedEntry {
            hash: hash_entry_bytes(bytes),
            entry,
            event,
            signed_by,
        })
    }
}

/// Decodes and verifies many stored entries on all cores. `first` is the
/// sequence number the first one should have, used to name a fault in an
/// entry too damaged to say its own.
pub fn verify_entries(first: Seq, entries: &[Vec<u8>]) -> Vec<Result<VerifiedEntry>> {
    entries
        .par_iter()
        .enumerate()
        .map(|(i, bytes)| VerifiedEntry::from_bytes(bytes).map_err(|e| e.at(first.0 + i as u64)))
        .collect()
}

/// The running state of a hash chain: checks that each entry follows the
/// previous one, and knows the ledger id once genesis is seen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chain {
    /// The number of entries linked so far, which is the next sequence number.
    pub size: u64,
    /// The hash of the last linked entry (zeros before genesis).
    pub head: EntryHash,
    /// The ledger id, once genesis has been linked.
    pub ledger_id: Option<LedgerId>,
    /// The receive time of the last linked entry.
    pub last_received: UnixMicros,
}

impl Chain {
    /// Checks that `v` is the next entry of this chain, without linking it.
    pub fn check(&self, v: &VerifiedEntry) -> Result<()> {
        let seq = v.entry.seq.0;
        let fail = |reason: String| Err(Error::Chain { reason }.at(seq));
        if seq != self.size {
            return fail(format!("expected entry #{} here, found #{seq}", self.size));
        }
        if v.entry.prev != self.head {
            return fail(match seq {
                0 => format!("genesis must have a zero prev, not {}", v.entry.prev),
                _ => format!(
                    "prev is {} but the hash of entry #{} is {}",
                    v.entry.prev,
                    seq - 1,
                    self.head
                ),
            });
        }
        let expected_ledger = self.ledger_id.unwrap_or(Hash::ZERO);
        if v.event.ledger != expected_ledger {
            return fail(format!(
                "event {} is for ledger {}, not {}",
                v.event.id, v.event.ledger, expected_ledger
            ));
        }
        if v.entry.received < self.last_received {
            return fail(format!(
                "received time {} is before the previous entry's {}",
                v.entry.received.0, self.last_received.0
            ));
        }
        Ok(())
    }

    /// Checks and links `v`.
    pub fn link(&mut self, v: &VerifiedEntry) -> Result<()> {
        self.check(v)?;
        self.push(v.hash, v.entry.received);
        Ok(())
    }

    /// Links an entry already known to follow (used by the writer after building it).
    pub fn push(&mut self, hash: EntryHash, received: UnixMicros) {
        if self.size == 0 {
            self.ledger_id = Some(hash);
        }
        self.size += 1;
        self.head = hash;
        self.last_received = received;
    }
}
