//! The auditor's view of one review: who signed the minutes, whether the
//! top management that attended signed them as they are now, and whether
//! anything changed after signing.
//!
//! [`audit`] answers three questions from the ledger state alone:
//! - the signatures, as [`SignatureLine`]s: signer, role, top management or
//!   not, key fingerprint, time, entry, and whether each covers the current
//!   minutes;
//! - the [`QuorumCheck`]: the top-management attendees, how many of them the
//!   policy's `minutes_quorum` requires, who signed the current minutes and
//!   who has not;
//! - every [`ChangeAfterSigning`]: what changed after the first signature,
//!   at which entry, by whom, with which amendment reason, and whether top
//!   management signed again (a later top-management signature covering a
//!   content head at or after the change).
//!
//! [`ReviewAudit::holds`] is the one-word verdict: the quorum signed the
//! current minutes and no change is left unsigned. The conformance rules
//! `minutes-signed` and `unsigned-changes` are judged from this same view,
//! so the auditor's report and the check cannot disagree.
//!
//! Every role is judged by the roster as it was ([`Roster::as_at`]): the
//! top-management attendees (and so the signers required) by the roster at
//! the meeting's entry; whether a signature counts toward the quorum, or
//! signs a change again, by the roster at the signature's entry. No later
//! roster event changes the verdict, in either direction.

use ledger_core::{Hash, Seq, UnixMicros};
use serde::Serialize;

use crate::error::Rejection;
use crate::ids::ReviewId;
use crate::member::MemberId;
use crate::policy::Quorum;
use crate::reviews::{MinutesSignature, ReviewRecord};
use crate::roster::{Roster, RosterAsAt};
use crate::state::LedgerState;
use crate::view::{MinutesView, Person, SignatureLine};

/// The auditor's view of one review's signatures and changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReviewAudit {
    /// The review.
    pub review: ReviewId,
    /// The ledger the review is in.
    pub ledger_id: Hash,
    /// The digest of the current minutes.
    pub digest: Hash,
    /// The last entry that changed the minutes.
    pub content_head: Seq,
    /// Every signature on the minutes, in order.
    pub signatures: Vec<SignatureLine>,
    /// Whether top management signed the current minutes.
    pub quorum: QuorumCheck,
    /// Every change after the first signature, in order.
    pub changes_after_signing: Vec<ChangeAfterSigning>,
}

/// The top-management signatures the current minutes have and need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuorumCheck {
    /// The policy's `minutes_quorum`.
    pub policy: Quorum,
    /// The meeting's entry, whose roster decided who attended as top
    /// management (none when no meeting is recorded).
    pub roster_at: Option<Seq>,
    /// The members recorded present at the meeting who were top management
    /// by the roster at the meeting's entry.
    pub attended: Vec<Person>,
    /// How many of them must sign.
    pub required: usize,
    /// Those who signed the current minutes.
    pub signed: Vec<Person>,
    /// Those who have not signed the current minutes.
    pub missing: Vec<Person>,
    /// Whether enough top management signed the current minutes.
    pub met: bool,
}

/// A change to the minutes made after they were first signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChangeAfterSigning {
    /// The entry that made it.
    pub seq: Seq,
    /// Who made it.
    pub by: Person,
    /// When the ledger received it.
    pub received: UnixMicros,
    /// What changed, e.g. `input risk`.
    pub what: String,
    /// The amendment reason given.
    pub amendment: Option<String>,
    /// The minutes digest after it.
    pub digest: Option<Hash>,
    /// The later top-management signatures that cover it, by entry.
    pub signed_again_at: Vec<Seq>,
    /// Whether top management signed the minutes again since.
    pub signed_again: bool,
}

impl ReviewAudit {
    /// Whether the minutes stand: the quorum signed them as they are now and
    /// every change after signing was signed again.
    pub fn holds(&self) -> bool {
        self.quorum.met && self.changes_after_signing.iter().all(|c| c.signed_again)
    }

    /// The audit for people, one fact a line.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "review {}: minutes digest {}, last changed at {}\n",
            self.review, self.digest, self.content_head
        );
        if self.signatures.is_empty() {
            s.push_str("signatures: none\n");
        } else {
            s.push_str("signatures:\n");
        }
        for line in &self.signatures {
            s.push_str(&format!(
                "  {} {} ({}{}) key {} ({}) at {}, covers {}{}\n",
                line.seq,
                line.signer.name,
                line.signer.role,
                if line.signer.top_management {
                    ", top management"
                } else {
                    ""
                },
                line.fingerprint,
                line.signed_with,
                time(line.received),
                line.covers,
                if line.current {
                    ", current minutes"
                } else {
                    ", earlier minutes"
                }
            ));
        }
        let q = &self.quorum;
        let roster = q
            .roster_at
            .map(|at| format!(" (roster as at {at})"))
            .unwrap_or_default();
        s.push_str(&format!(
            "top management present{roster}: {}; required to sign: {}; signed the current minutes: {}; missing: {}\n",
            names(&q.attended),
            q.required,
            names(&q.signed),
            names(&q.missing)
        ));
        if self.changes_after_signing.is_empty() {
            s.push_str("changes after signing: none\n");
        } else {
            s.push_str("changes after signing:\n");
        }
        for c in &self.changes_after_signing {
            let again = if c.signed_again {
                format!(
                    "signed again at {}",
                    c.signed_again_at
                        .iter()
                        .map(Seq::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                "NOT signed again".to_owned()
            };
            s.push_str(&format!(
                "  {} {} by {}, amendment: {}; {again}\n",
                c.seq,
                c.what,
                c.by.name,
                c.amendment.as_deref().unwrap_or("(no reason given)")
            ));
        }
        s.push_str(if self.holds() {
            "the minutes hold: signed by top management, nothing changed unsigned\n"
        } else {
            "the minutes DO NOT hold\n"
        });
        s
    }
}

fn names(people: &[Person]) -> String {
    if people.is_empty() {
        return "none".to_owned();
    }
    people
        .iter()
        .map(|p| format!("{} ({})", p.name, p.handle))
        .collect::<Vec<_>>()
        .join(", ")
}

fn time(t: UnixMicros) -> String {
    jiff::Timestamp::from_microsecond(t.0)
        .map(|ts| ts.to_string())
        .unwrap_or_else(|_| format!("{} µs", t.0))
}

/// The entry whose roster judges who attended as top management: the
/// meeting's, or, with no meeting recorded, the review's last entry so far.
pub(crate) fn meeting_roster<'r>(roster: &'r Roster, record: &ReviewRecord) -> RosterAsAt<'r> {
    match &record.minutes.meeting {
        Some(m) => roster.as_at(m.seq),
        None => roster.as_at(Seq(record.content_head().0.saturating_add(1))),
    }
}

/// The members recorded present at the meeting of `record` who were top
/// management by the roster at the meeting's entry.
pub(crate) fn top_management_present(roster: &Roster, record: &ReviewRecord) -> Vec<MemberId> {
    let at = meeting_roster(roster, record);
    record
        .minutes
        .meeting
        .as_ref()
        .map(|m| {
            // A handle listed twice is one person: one place to sign.
            let mut seen = std::collections::BTreeSet::new();
            m.item
                .present
                .iter()
                .filter(|h| at.is_top_management(h) && seen.insert(*h))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the signature `s` counts for top management: its signer was top
/// management by the roster at the signature's entry, and it meets the key
/// policy in force there (a user-verified passkey, where one is required).
pub(crate) fn counts(roster: &Roster, s: &MinutesSignature) -> bool {
    let at = roster.as_at(s.seq);
    at.is_top_management(&s.member) && at.minutes_key_policy_unmet(&s.key, s.signed_by).is_none()
}

/// The auditor's view of `review` in `state`.
pub fn audit(state: &LedgerState, review: &ReviewId) -> Result<ReviewAudit, Rejection> {
    let view = MinutesView::of(state, review, None)?;
    let record = view.record;
    let roster = &state.roster;
    let head = record.content_head();
    let policy = roster.policy.minutes_quorum;
    let at_meeting = meeting_roster(roster, record);

    let present = top_management_present(roster, record);
    let signed_current = |h: &MemberId| {
        record
            .current_signatures()
            .find(|s| &s.member == h && counts(roster, s))
    };
    let mut signed = Vec::new();
    let mut missing = Vec::new();
    for h in &present {
        match signed_current(h) {
            Some(s) => signed.push(Person::as_at(roster, h, s.seq)),
            None => missing.push(Person::as_at(roster, h, at_meeting.seq)),
        }
    }
    let required = policy.required(present.len());
    let quorum = QuorumCheck {
        policy,
        roster_at: record.minutes.meeting.as_ref().map(|m| m.seq),
        attended: present
            .iter()
            .map(|h| Person::as_at(roster, h, at_meeting.seq))
            .collect(),
        required,
        met: !present.is_empty() && signed.len() >= required,
        signed,
        missing,
    };

    let first_signature = record.signatures.first().map(|s| s.seq);
    let changes_after_signing = match first_signature {
        None => Vec::new(),
        Some(first) => record
            .changes
            .iter()
            .filter(|c| c.seq > first)
            .map(|c| {
                let signed_again_at: Vec<Seq> = record
                    .signatures
                    .iter()
                    .filter(|s| s.covers >= c.seq && counts(roster, s))
                    .map(|s| s.seq)
                    .collect();
                ChangeAfterSigning {
                    seq: c.seq,
                    by: Person::as_at(roster, &c.by, c.seq),
                    received: c.received,
                    what: c.what.clone(),
                    amendment: c.amendment.clone(),
                    digest: c.digest,
                    signed_again: !signed_again_at.is_empty(),
                    signed_again_at,
                }
            })
            .collect(),
    };

    Ok(ReviewAudit {
        review: review.clone(),
        ledger_id: view.ledger_id,
        digest: view.digest,
        content_head: head,
        signatures: view.signatures,
        quorum,
        changes_after_signing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::tests::{Script, amend, sign};
    use crate::story::{Step, current_id};

    /// The audit of the current review after `edit`.
    fn audited(edit: impl FnOnce(&mut Script)) -> ReviewAudit {
        let mut script = Script::story();
        edit(&mut script);
        let r = script.run();
        audit(&r.state, &current_id()).expect("the review exists")
    }

    /// Steps after the story, top-management signatures since the change,
    /// quorum met, who is missing, holds.
    type Case = (Vec<Step>, usize, bool, &'static [&'static str], bool);

    fn handles(people: &[Person]) -> Vec<&str> {
        people.iter().map(|p| p.handle.as_str()).collect()
    }

    #[test]
    fn the_clean_story_holds_with_both_top_managers() {
        let r = Script::story().run();
        let a = audit(&r.state, &current_id()).unwrap();
        let record = &r.state.reviews.reviews[&current_id()];
        assert!(a.holds(), "{}", a.to_text());
        assert_eq!(a.digest, record.minutes.digest());
        assert_eq!(a.content_head, record.content_head());
        assert_eq!(a.quorum.policy, Quorum::All);
        assert_eq!(a.quorum.required, 2);
        assert_eq!(handles(&a.quorum.attended), ["ceo", "ops"]);
        assert_eq!(handles(&a.quorum.signed), ["ceo", "ops"]);
        assert!(a.quorum.missing.is_empty());
        assert!(a.changes_after_signing.is_empty());
        assert_eq!(a.signatures.len(), 2);
        for (line, name) in a.signatures.iter().zip(["Ada Okafor", "Ben Marsh"]) {
            assert!(line.current && line.signer.top_management);
            assert_eq!(line.signer.name, name);
            assert_eq!(line.covers, a.content_head);
        }
        assert_eq!(
            a.signatures[0].fingerprint,
            r.keys["ceo"].public().fingerprint()
        );
        assert!(a.to_text().contains("the minutes hold"), "{}", a.to_text());
    }

    #[test]
    fn a_change_after_signing_shows_until_top_management_signs_again() {
        // The ISMS lead is not top management: their signature does not
        // sign the change again.
        let cases: [Case; 5] = [
            (vec![amend()], 0, false, &["ceo", "ops"], false),
            (
                vec![amend(), sign("isms")],
                0,
                false,
                &["ceo", "ops"],
                false,
            ),
            (vec![amend(), sign("ceo")], 1, false, &["ops"], false),
            (vec![amend(), sign("ops"), sign("ceo")], 2, true, &[], true),
            (vec![amend(), sign("ceo"), sign("ops")], 2, true, &[], true),
        ];
        for (i, (steps, again_by, met, missing, holds)) in cases.into_iter().enumerate() {
            let again = again_by > 0;
            let n = steps.len();
            let a = audited(|s| s.then(steps));
            let text = a.to_text();
            assert_eq!(a.changes_after_signing.len(), 1, "case {i}: {text}");
            let c = &a.changes_after_signing[0];
            assert_eq!(c.what, "input risk", "case {i}");
            assert_eq!(c.by.handle.as_str(), "isms", "case {i}");
            assert_eq!(
                c.amendment.as_deref(),
                Some("the risk treatment status was misstated in the draft")
            );
            assert_eq!(c.seq, a.content_head, "case {i}");
            assert_eq!(c.signed_again, again, "case {i}: {text}");
            assert_eq!(c.signed_again_at.len(), again_by, "case {i}");
            assert_eq!(a.quorum.met, met, "case {i}: {text}");
            assert_eq!(handles(&a.quorum.missing), missing, "case {i}");
            assert_eq!(a.holds(), holds, "case {i}: {text}");
            assert_eq!(a.signatures.len(), 2 + n - 1, "case {i}");
            assert_eq!(
                a.signatures.iter().filter(|l| l.current).count(),
                n - 1,
                "case {i}"
            );
            assert_eq!(
                text.contains("NOT signed again"),
                !again,
                "case {i}: {text}"
            );
        }
    }

    #[test]
    fn an_unknown_review_is_refused() {
        let r = Script::story().run();
        assert!(audit(&r.state, &ReviewId::new("nope").unwrap()).is_err());
    }
}
