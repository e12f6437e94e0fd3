//! The ledger's policy, fixed in genesis.

use serde::{Deserialize, Serialize};

use crate::error::Rejection;

/// How many top-management signatures something needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Quorum {
    /// One while only one top-management member exists, otherwise two.
    Default,
    /// At least this many, capped at the number of top-management members.
    AtLeast(u16),
    /// Every top-management member.
    All,
}

impl Quorum {
    /// The policy in words, e.g. `all who attended`.
    pub fn describe(self) -> String {
        match self {
            Quorum::Default => "one while only one is top management, else two".to_owned(),
            Quorum::AtLeast(n) => format!("at least {n}"),
            Quorum::All => "all who attended".to_owned(),
        }
    }

    /// The number of signatures needed when `top` members are top management.
    pub fn required(self, top: usize) -> usize {
        let top = top.max(1);
        match self {
            Quorum::Default => top.min(2),
            Quorum::AtLeast(n) => (n as usize).clamp(1, top),
            Quorum::All => top,
        }
    }
}

/// Quorums and the auditor's thresholds. The defaults follow `docs/domain`:
/// ISO 27001 Clause 9.3 practice as the guide describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Signatures needed to change the roster.
    pub roster_quorum: Quorum,
    /// Top-management signatures the minutes need (default: all who attended).
    pub minutes_quorum: Quorum,
    /// The longest gap between reviews, in months.
    pub review_interval_months: u16,
    /// Working days between circulating the agenda pack and the meeting.
    pub agenda_lead_working_days: u16,
    /// Input summaries shorter than this many words are thin.
    pub thin_summary_words: u16,
    /// Days after the meeting by which the minutes should be signed.
    pub signing_deadline_days: u16,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            roster_quorum: Quorum::Default,
            minutes_quorum: Quorum::All,
            review_interval_months: 12,
            agenda_lead_working_days: 5,
            thin_summary_words: 15,
            signing_deadline_days: 30,
        }
    }
}

impl Policy {
    /// Refuses a policy that could never be met or makes no sense.
    pub fn check(&self) -> Result<(), Rejection> {
        let bad = |field: &str, reason: &str| {
            Err(Rejection::Malformed {
                field: format!("policy.{field}"),
                reason: reason.into(),
            })
        };
        for (field, q) in [
            ("roster_quorum", self.roster_quorum),
            ("minutes_quorum", self.minutes_quorum),
        ] {
            if q == Quorum::AtLeast(0) {
                return bad(field, "a quorum of zero would let anyone act alone");
            }
        }
        if self.review_interval_months == 0 || self.review_interval_months > 36 {
            return bad("review_interval_months", "must be 1 to 36");
        }
        if self.signing_deadline_days == 0 {
            return bad("signing_deadline_days", "must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_counts() {
        let check = |q: Quorum, top: usize, expected: usize| {
            assert_eq!(q.required(top), expected, "{q:?} with {top} top management");
        };
        check(Quorum::Default, 1, 1);
        check(Quorum::Default, 2, 2);
        check(Quorum::Default, 5, 2);
        check(Quorum::AtLeast(3), 5, 3);
        check(Quorum::AtLeast(3), 2, 2);
        check(Quorum::All, 4, 4);
        check(Quorum::All, 0, 1);
    }
}
