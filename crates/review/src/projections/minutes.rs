//! The minutes of one review: the projection that attendees sign.
//!
//! The minutes digest is `blake3::derive_key("review-ledger/v1 minutes",
//! encode(minutes))` over the canonical encoding of [`Minutes`]. Every item
//! carries the entry that recorded it and its author, so the digest also
//! commits to where each statement came from. Signatures are not part of
//! the minutes; they sign the digest.

use std::collections::BTreeMap;

use ledger_core::{Hash, Seq, codec};
use serde::{Deserialize, Serialize};

use crate::ids::{ActionId, ObjectiveId, ReviewId};
use crate::inputs::InputKey;
use crate::member::MemberId;
use crate::vocab::{
    Act, ActionStatus, Assess, Circulate, Close, Decision, Input, MeetingTimes, Objective, Open,
    Schedule,
};

/// The blake3 `derive_key` context of the minutes digest.
pub const MINUTES_CONTEXT: &str = "review-ledger/v1 minutes";

/// An item of the minutes with the entry that recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded<T> {
    /// The entry.
    pub seq: Seq,
    /// Its author.
    pub by: MemberId,
    /// The item.
    pub item: T,
}

/// The current minutes of a review. Keyed items (inputs, statuses, actions,
/// objectives) hold the latest record for their key; recording one again
/// replaces it here and stays in the ledger's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Minutes {
    /// The review.
    pub review: ReviewId,
    /// The plan.
    pub schedule: Recorded<Schedule>,
    /// The agenda pack.
    pub pack: Option<Recorded<Circulate>>,
    /// The meeting.
    pub meeting: Option<Recorded<Open>>,
    /// What was considered for each required input.
    pub inputs: BTreeMap<InputKey, Recorded<Input>>,
    /// Status of earlier reviews' actions.
    pub action_statuses: BTreeMap<ActionId, Recorded<ActionStatus>>,
    /// Decisions, numbered from 1 in this order.
    pub decisions: Vec<Recorded<Decision>>,
    /// Actions assigned by this review.
    pub actions: BTreeMap<ActionId, Recorded<Act>>,
    /// Last period's objectives, assessed.
    pub assessments: BTreeMap<ObjectiveId, Recorded<Assess>>,
    /// Objectives for the next period.
    pub objectives: BTreeMap<ObjectiveId, Recorded<Objective>>,
    /// The close, with the next review's date.
    pub close: Option<Recorded<Close>>,
    /// When the meeting started and ended. Last, and left out of the
    /// encoding while absent, so that the digest of minutes without it is
    /// what it was before the field existed. Minutes are encoded to be
    /// digested, never decoded from the ledger: decoding reads the fields
    /// before it only.
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub times: Option<Recorded<MeetingTimes>>,
}

impl Minutes {
    /// Fresh minutes of a scheduled review.
    pub fn new(review: ReviewId, schedule: Recorded<Schedule>) -> Minutes {
        Minutes {
            review,
            schedule,
            pack: None,
            meeting: None,
            inputs: BTreeMap::new(),
            action_statuses: BTreeMap::new(),
            decisions: Vec::new(),
            actions: BTreeMap::new(),
            assessments: BTreeMap::new(),
            objectives: BTreeMap::new(),
            close: None,
            times: None,
        }
    }

    /// The minutes digest that signatures sign.
    pub fn digest(&self) -> Hash {
        let mut h = blake3::Hasher::new_derive_key(MINUTES_CONTEXT);
        h.update(&codec::encode(self));
        Hash(*h.finalize().as_bytes())
    }

    /// Whether `member` was present at the meeting.
    pub fn attended(&self, member: &MemberId) -> bool {
        self.meeting
            .as_ref()
            .is_some_and(|m| m.item.present.contains(member))
    }
}
