//! `ledger-core`: the review-ledger evidence format, pure and synchronous.
//!
//! An [`Event`] is what an author signs; a [`SignedEvent`] carries it with
//! the author's signature over a domain-separated message: ed25519, or a
//! passkey's WebAuthn assertion ([`passkey`]). The
//! ledger stores each as an [`Entry`], which links to the one before by its
//! blake3 [`Hash`]. A Merkle tree over entry hashes ([`merkle`]) gives
//! inclusion and consistency proofs, and a [`Checkpoint`] is the ledger's
//! signed statement of its size, root and head. [`codec`] is the one place
//! that knows the canonical byte encoding; `docs/FORMAT.md` writes it out.
//!
//! Nothing here touches a file, a socket or a clock: times, randomness and
//! keys come in as arguments. The domain plugs in through [`Admission`].
//!
//! ```
//! use ledger_core::{Author, Chain, Entry, Event, EventId, EventKind, Hash, KeyPair, Seq, UnixMicros,
//!     VerifiedEntry, FORMAT_VERSION};
//!
//! let author = KeyPair::from_seed([1; 32]);
//! let event = Event {
//!     version: FORMAT_VERSION,
//!     ledger: Hash::ZERO,
//!     id: EventId([2; 16]),
//!     author: Author::Ed25519(author.public()),
//!     time: UnixMicros(1_764_547_200_000_000),
//!     kind: EventKind::new("genesis").unwrap(),
//!     payload: vec![],
//! };
//! let signed = event.sign(&author);
//! let entry = Entry {
//!     seq: Seq(0),
//!     prev: Hash::ZERO,
//!     received: UnixMicros(1_764_547_200_000_001),
//!     event: signed.event,
//!     signature: signed.signature,
//! };
//! let verified = VerifiedEntry::from_bytes(&entry.encode()).unwrap();
//! let mut chain = Chain::default();
//! chain.link(&verified).unwrap();
//! assert_eq!(chain.ledger_id, Some(entry.hash()));
//! ```

pub mod admission;
pub mod checkpoint;
pub mod codec;
pub mod entry;
pub mod error;
pub mod event;
pub mod keys;
pub mod merkle;
pub mod passkey;
pub mod types;

pub use admission::Admission;
pub use checkpoint::Checkpoint;
pub use entry::{Chain, Entry, VerifiedEntry, hash_entry_bytes, verify_entries};
pub use error::{Error, Result};
pub use event::{
    Author, Event, EventSignature, FORMAT_VERSION, MAX_PAYLOAD, PASSKEY_FORMAT_VERSION, SignedBy,
    SignedEvent,
};
pub use keys::{KeyPair, PublicKey, Purpose};
pub use merkle::{ConsistencyProof, Frontier, InclusionProof, MemoryTree, Nodes};
pub use passkey::{Assertion, Credential};
pub use types::{EntryHash, EventId, EventKind, Hash, LedgerId, Seq, Signature, UnixMicros};
