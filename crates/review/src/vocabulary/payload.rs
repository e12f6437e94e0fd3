//! The typed payloads of events, and their kinds.

use ledger_core::{Credential, EventId, EventKind, PublicKey, Signature, codec};
use serde::{Deserialize, Serialize};

use crate::error::Rejection;
use crate::member::{MemberId, MemberRecord};
use crate::policy::{KeyPolicy, Policy, Thresholds};
use crate::vocab::{
    Act, ActionStatus, ActionUpdate, Assess, Circulate, Close, Content, Decision, Input,
    MeetingTimes, Objective, Open, Schedule, Sign,
};

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
    /// Revoke every key a member holds. Proposed by the member themselves,
    /// it takes effect at once (a member can always disown their keys).
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
    /// Set the conformance thresholds from this entry on (added after the
    /// first ledgers were written, which keep their bytes).
    SetThresholds(Thresholds),
    /// Enrol one more key for a member (a browser on another device, a key
    /// file): it signs for them beside their other keys.
    AddKey {
        /// The member.
        handle: MemberId,
        /// The key.
        key: PublicKey,
    },
    /// Retire one of a member's keys; their other keys go on signing.
    /// Proposed by the member themselves, it takes effect at once (a member
    /// can always disown a key).
    RetireKey {
        /// The member.
        handle: MemberId,
        /// The key.
        key: PublicKey,
    },
    /// Enrol a passkey for a member. Roster payloads name it afterwards by
    /// its key id (`Credential::key_id`), as they name an ed25519 key by
    /// its bytes: it is retired, rotated or revoked like any key.
    AddPasskey {
        /// The member.
        handle: MemberId,
        /// The passkey, as registered in the member's browser.
        credential: Credential,
    },
    /// Enrol an ed25519 key that a browser made and keeps (the web
    /// console's device key). It signs as [`RosterChange::AddKey`] does;
    /// reports call its signatures "device key" rather than "key file".
    AddDeviceKey {
        /// The member.
        handle: MemberId,
        /// The key.
        key: PublicKey,
    },
    /// Set which keys may sign what, from this entry on.
    SetKeyPolicy(KeyPolicy),
    /// Enrol a new member whose key a browser made and keeps (the web
    /// console's device key): as [`RosterChange::Enrol`], and reports call
    /// their signatures "device key".
    EnrolDevice(MemberRecord),
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
    /// `review.schedule`
    Schedule(Content<Schedule>),
    /// `review.circulate`
    Circulate(Content<Circulate>),
    /// `review.open`
    Open(Content<Open>),
    /// `review.input`
    Input(Content<Input>),
    /// `review.action-status`
    ActionStatus(Content<ActionStatus>),
    /// `review.decide`
    Decide(Content<Decision>),
    /// `review.act`
    Act(Content<Act>),
    /// `review.objective-assess`
    Assess(Content<Assess>),
    /// `review.objective-set`
    Objective(Content<Objective>),
    /// `review.close`
    Close(Content<Close>),
    /// `minutes.sign`
    Sign(Sign),
    /// `action.update`
    ActionUpdate(ActionUpdate),
    /// `review.meeting-times`
    MeetingTimes(Content<MeetingTimes>),
}

/// Applies `$f` to the inner value of every variant.
macro_rules! each {
    ($p:expr, $v:ident => $f:expr) => {
        match $p {
            Payload::Genesis($v) => $f,
            Payload::Propose($v) => $f,
            Payload::Approve($v) => $f,
            Payload::Rotate($v) => $f,
            Payload::Schedule($v) => $f,
            Payload::Circulate($v) => $f,
            Payload::Open($v) => $f,
            Payload::Input($v) => $f,
            Payload::ActionStatus($v) => $f,
            Payload::Decide($v) => $f,
            Payload::Act($v) => $f,
            Payload::Assess($v) => $f,
            Payload::Objective($v) => $f,
            Payload::Close($v) => $f,
            Payload::Sign($v) => $f,
            Payload::ActionUpdate($v) => $f,
            Payload::MeetingTimes($v) => $f,
        }
    };
}

impl Payload {
    /// Every kind this version knows.
    pub const KINDS: [&'static str; 17] = [
        "genesis",
        "roster.propose",
        "roster.approve",
        "roster.rotate",
        "review.schedule",
        "review.circulate",
        "review.open",
        "review.input",
        "review.action-status",
        "review.decide",
        "review.act",
        "review.objective-assess",
        "review.objective-set",
        "review.close",
        "minutes.sign",
        "action.update",
        "review.meeting-times",
    ];

    fn index(&self) -> usize {
        match self {
            Payload::Genesis(_) => 0,
            Payload::Propose(_) => 1,
            Payload::Approve(_) => 2,
            Payload::Rotate(_) => 3,
            Payload::Schedule(_) => 4,
            Payload::Circulate(_) => 5,
            Payload::Open(_) => 6,
            Payload::Input(_) => 7,
            Payload::ActionStatus(_) => 8,
            Payload::Decide(_) => 9,
            Payload::Act(_) => 10,
            Payload::Assess(_) => 11,
            Payload::Objective(_) => 12,
            Payload::Close(_) => 13,
            Payload::Sign(_) => 14,
            Payload::ActionUpdate(_) => 15,
            Payload::MeetingTimes(_) => 16,
        }
    }

    /// The event kind of this payload.
    pub fn kind(&self) -> EventKind {
        EventKind::new(Self::KINDS[self.index()]).expect("built-in kinds are valid")
    }

    /// The payload's canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        each!(self, p => codec::encode(p))
    }

    /// The review this event belongs to, if any (the feed's `subject`).
    pub fn review(&self) -> Option<&crate::ids::ReviewId> {
        match self {
            Payload::Schedule(c) => Some(&c.review),
            Payload::Circulate(c) => Some(&c.review),
            Payload::Open(c) => Some(&c.review),
            Payload::Input(c) => Some(&c.review),
            Payload::ActionStatus(c) => Some(&c.review),
            Payload::Decide(c) => Some(&c.review),
            Payload::Act(c) => Some(&c.review),
            Payload::Assess(c) => Some(&c.review),
            Payload::Objective(c) => Some(&c.review),
            Payload::Close(c) => Some(&c.review),
            Payload::Sign(s) => Some(&s.review),
            Payload::MeetingTimes(c) => Some(&c.review),
            _ => None,
        }
    }

    /// Decodes the payload of an event of `kind`.
    pub fn decode(kind: &EventKind, bytes: &[u8]) -> Result<Payload, Rejection> {
        let bad = |e: ledger_core::Error| Rejection::Payload {
            kind: kind.to_string(),
            reason: e.to_string(),
        };
        let k: &'static str = Self::KINDS
            .into_iter()
            .find(|k| *k == kind.as_str())
            .ok_or_else(|| Rejection::UnknownKind(kind.to_string()))?;
        Ok(match k {
            "genesis" => Payload::Genesis(codec::decode(k, bytes).map_err(bad)?),
            "roster.propose" => Payload::Propose(codec::decode(k, bytes).map_err(bad)?),
            "roster.approve" => Payload::Approve(codec::decode(k, bytes).map_err(bad)?),
            "roster.rotate" => Payload::Rotate(codec::decode(k, bytes).map_err(bad)?),
            "review.schedule" => Payload::Schedule(codec::decode(k, bytes).map_err(bad)?),
            "review.circulate" => Payload::Circulate(codec::decode(k, bytes).map_err(bad)?),
            "review.open" => Payload::Open(codec::decode(k, bytes).map_err(bad)?),
            "review.input" => Payload::Input(codec::decode(k, bytes).map_err(bad)?),
            "review.action-status" => Payload::ActionStatus(codec::decode(k, bytes).map_err(bad)?),
            "review.decide" => Payload::Decide(codec::decode(k, bytes).map_err(bad)?),
            "review.act" => Payload::Act(codec::decode(k, bytes).map_err(bad)?),
            "review.objective-assess" => Payload::Assess(codec::decode(k, bytes).map_err(bad)?),
            "review.objective-set" => Payload::Objective(codec::decode(k, bytes).map_err(bad)?),
            "review.close" => Payload::Close(codec::decode(k, bytes).map_err(bad)?),
            "minutes.sign" => Payload::Sign(codec::decode(k, bytes).map_err(bad)?),
            "action.update" => Payload::ActionUpdate(codec::decode(k, bytes).map_err(bad)?),
            "review.meeting-times" => Payload::MeetingTimes(codec::decode(k, bytes).map_err(bad)?),
            other => return Err(Rejection::UnknownKind(other.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_valid_and_distinct() {
        let mut seen = std::collections::BTreeSet::new();
        for k in Payload::KINDS {
            EventKind::new(k).unwrap();
            assert!(seen.insert(k), "{k} twice");
        }
    }
}
