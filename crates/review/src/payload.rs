//! The typed payloads of events, and their kinds.

use ledger_core::{EventId, EventKind, PublicKey, Signature, codec};
use serde::{Deserialize, Serialize};

use crate::error::Rejection;
use crate::member::{MemberId, MemberRecord};
use crate::policy::Policy;

/// The founding entry: who the organisation is and who may act first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// The organisation's name.
    pub organisation: String,
    /// The founding member; always top management. Genesis is signed by their key.
    pub founder: MemberRecord,
    /// The key that signs the ledger's checkpoints.
    pub checkpoint_key: PublicKey,
    /// Quorums and thresholds.
    pub policy: Policy,
}

/// A change to the roster, which takes effect when a quorum of top management has signed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RosterChange {
    /// Enrol a new member with their key.
    Enrol(MemberRecord),
    /// Make a member top management, or stop them being so.
    SetTopManagement {
        /// The member.
        handle: MemberId,
        /// The new status.
        top_management: bool,
    },
    /// Revoke a member's current key. Proposed by the key's own member, it
    /// takes effect at once (a member can always disown a key).
    Revoke {
        /// The member whose key is revoked.
        handle: MemberId,
    },
    /// Give a member whose key was revoked a new one.
    Rekey {
        /// The member.
        handle: MemberId,
        /// The new key.
        key: PublicKey,
    },
    /// Remove a member; their key signs nothing afterwards.
    Remove {
        /// The member.
        handle: MemberId,
    },
}

/// A member replacing their key: signed as an event by the old key, and
/// the statement inside signed by the new key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    /// The new key.
    pub new_key: PublicKey,
    /// The new key's signature, purpose `KeyRotation`, over the canonical
    /// bytes of [`RotationStatement`].
    pub proof: Signature,
}

/// What the new key signs when a key is rotated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationStatement {
    /// The ledger.
    pub ledger: ledger_core::LedgerId,
    /// The member rotating.
    pub handle: MemberId,
    /// The key being replaced.
    pub old_key: PublicKey,
    /// The key replacing it.
    pub new_key: PublicKey,
}

/// Every payload this version knows, one per event kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// `genesis`
    Genesis(Genesis),
    /// `roster.propose`
    Propose(RosterChange),
    /// `roster.approve`: approve the pending change proposed in event `0`.
    Approve(EventId),
    /// `roster.rotate`
    Rotate(Rotation),
}

impl Payload {
    /// The event kind of this payload.
    pub fn kind(&self) -> EventKind {
        let kind = match self {
            Payload::Genesis(_) => "genesis",
            Payload::Propose(_) => "roster.propose",
            Payload::Approve(_) => "roster.approve",
            Payload::Rotate(_) => "roster.rotate",
        };
        EventKind::new(kind).expect("built-in kinds are valid")
    }

    /// The payload's canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Payload::Genesis(p) => codec::encode(p),
            Payload::Propose(p) => codec::encode(p),
            Payload::Approve(p) => codec::encode(p),
            Payload::Rotate(p) => codec::encode(p),
        }
    }

    /// Decodes the payload of an event of `kind`.
    pub fn decode(kind: &EventKind, bytes: &[u8]) -> Result<Payload, Rejection> {
        let bad = |e: ledger_core::Error| Rejection::Payload {
            kind: kind.to_string(),
            reason: e.to_string(),
        };
        Ok(match kind.as_str() {
            "genesis" => Payload::Genesis(codec::decode("genesis", bytes).map_err(bad)?),
            "roster.propose" => {
                Payload::Propose(codec::decode("roster change", bytes).map_err(bad)?)
            }
            "roster.approve" => Payload::Approve(codec::decode("approval", bytes).map_err(bad)?),
            "roster.rotate" => Payload::Rotate(codec::decode("rotation", bytes).map_err(bad)?),
            other => return Err(Rejection::UnknownKind(other.to_owned())),
        })
    }
}
