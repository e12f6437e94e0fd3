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

/// The conformance thresholds a ledger may change after genesis, by a
/// roster change (`RosterChange::SetThresholds`, signed by the roster
/// quorum). A review is judged by the thresholds in force at its meeting's
/// entry; until a ledger sets them, [`Thresholds::default`] applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Rule 15: a meeting longer than this, in minutes, is an observation.
    pub meeting_limit_minutes: u16,
    /// Rule 15: this many reviews in a row past the limit is a warning.
    pub long_meetings_in_a_row: u16,
    /// Rule 11: a summary is boilerplate when boilerplate phrases cover at
    /// least this percentage of its counted words.
    pub boilerplate_share_percent: u8,
    /// Rule 11: phrases that say nothing about what was discussed, as
    /// lowercase words separated by single spaces.
    pub boilerplate: Vec<String>,
    /// Rules 1, 7 and 8: whole texts that stand in for content not written
    /// yet, as lowercase words separated by single spaces.
    pub placeholders: Vec<String>,
}

impl Default for Thresholds {
    fn default() -> Self {
        let list = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        Thresholds {
            meeting_limit_minutes: 240,
            long_meetings_in_a_row: 3,
            boilerplate_share_percent: 50,
            boilerplate: list(&crate::wording::BOILERPLATE),
            placeholders: list(&crate::wording::PLACEHOLDERS),
        }
    }
}

/// Which keys may sign what, set under the roster quorum from an entry on
/// (`RosterChange::SetKeyPolicy`); until a ledger sets one, [`KeyPolicy::AnyKey`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyPolicy {
    /// Any enrolled key signs anything its member may sign.
    #[default]
    AnyKey,
    /// Minutes signatures must be passkey assertions in which the
    /// authenticator verified the user (biometric or PIN). Rule 3 reports
    /// one that is not.
    VerifiedPasskeyForMinutes,
    /// As `VerifiedPasskeyForMinutes`, and every event a top manager signs
    /// must be such an assertion too: admission refuses one that is not,
    /// except the steps that enrol a passkey (proposing or approving an
    /// `AddPasskey`) and disowning one's own keys.
    VerifiedPasskeyForTopManagement,
}

impl KeyPolicy {
    /// The policy in words.
    pub fn describe(self) -> &'static str {
        match self {
            KeyPolicy::AnyKey => "any enrolled key signs",
            KeyPolicy::VerifiedPasskeyForMinutes => {
                "minutes are signed with a passkey that verified the user"
            }
            KeyPolicy::VerifiedPasskeyForTopManagement => {
                "top management signs everything, the minutes included, with a passkey that verified them"
            }
        }
    }

    /// Whether a minutes signature made with `with` meets the policy.
    pub fn met_by_minutes_signature(self, with: crate::roster::SignedWith) -> bool {
        match self {
            KeyPolicy::AnyKey => true,
            KeyPolicy::VerifiedPasskeyForMinutes | KeyPolicy::VerifiedPasskeyForTopManagement => {
                matches!(
                    with,
                    crate::roster::SignedWith::Passkey {
                        user_verified: true
                    }
                )
            }
        }
    }

    /// Parses the name the CLI and console use: `any-key`,
    /// `verified-passkey-for-minutes` or `verified-passkey-for-top-management`.
    pub fn parse(text: &str) -> Result<KeyPolicy, Rejection> {
        match text {
            "any-key" => Ok(KeyPolicy::AnyKey),
            "verified-passkey-for-minutes" => Ok(KeyPolicy::VerifiedPasskeyForMinutes),
            "verified-passkey-for-top-management" => Ok(KeyPolicy::VerifiedPasskeyForTopManagement),
            other => Err(Rejection::Malformed {
                field: "key policy".into(),
                reason: format!(
                    "{other:?} is not any-key, verified-passkey-for-minutes or verified-passkey-for-top-management"
                ),
            }),
        }
    }
}

/// The most phrases a list of [`Thresholds`] may hold.
pub const MAX_PHRASES: usize = 200;

impl Thresholds {
    /// Refuses thresholds that make no sense, naming the field.
    pub fn check(&self) -> Result<(), Rejection> {
        let bad = |field: &str, reason: String| {
            Err(Rejection::Malformed {
                field: format!("thresholds.{field}"),
                reason,
            })
        };
        if !(1..=1440).contains(&self.meeting_limit_minutes) {
            return bad("meeting_limit_minutes", "must be 1 to 1440".into());
        }
        if !(2..=12).contains(&self.long_meetings_in_a_row) {
            return bad("long_meetings_in_a_row", "must be 2 to 12".into());
        }
        if !(1..=100).contains(&self.boilerplate_share_percent) {
            return bad("boilerplate_share_percent", "must be 1 to 100".into());
        }
        for (field, list) in [
            ("boilerplate", &self.boilerplate),
            ("placeholders", &self.placeholders),
        ] {
            if list.len() > MAX_PHRASES {
                return bad(
                    field,
                    format!("{} phrases is over {MAX_PHRASES}", list.len()),
                );
            }
            for phrase in list {
                // A phrase is compared as words: it must be spelled as
                // `wording::words` would split it.
                if phrase.is_empty() || crate::wording::words(phrase).join(" ") != *phrase {
                    return bad(
                        field,
                        format!("{phrase:?} is not lowercase words separated by single spaces"),
                    );
                }
            }
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
