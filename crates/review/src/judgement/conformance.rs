//! The conformance check: what an auditor checks in one review's minutes,
//! rule by rule, with thresholds from the ledger's [`Policy`].
//!
//! [`check`] runs every rule of `docs/domain.md` ("What an auditor checks")
//! over the ledger state and returns a [`Report`] of [`Finding`]s. Each
//! finding names its rule by a stable id, carries a [`Severity`], and says
//! which entry (`#N`) or field is at fault. A report with no nonconformity
//! [`passed`](Report::passed); warnings and observations do not fail it.
//!
//! | # | id | severity | what it checks |
//! | --- | --- | --- | --- |
//! | 1 | `inputs-addressed` | nonconformity | each of the ten Clause 9.3.2 inputs has a summary or an explicit "nothing to report" |
//! | 2 | `top-management-attended` | nonconformity | a meeting is recorded, top management was present, and the chair is top management |
//! | 3 | `minutes-signed` | nonconformity | the top-management attendees signed the current minutes (all, or the policy's `minutes_quorum`); every signature's key was enrolled for its signer and neither rotated nor revoked before it signed, and its digest is that of the minutes at the entry it covers. Observation: the quorum is met but some top-management attendees have not signed |
//! | 4 | `actions-owned-and-dated` | nonconformity | each action of this review has an enrolled owner and a due date after the meeting |
//! | 5 | `previous-actions-reported` | nonconformity | each action of an earlier review still open at this meeting has a status in this review; one past its due date is recorded overdue with a revised due date after the meeting (and a confirmed owner), or completed |
//! | 6 | `decisions-recorded` | nonconformity | at least one decision is recorded |
//! | 7 | `resources-considered` | warning | a decision about resources, or the statement that the ISMS is adequately resourced (a `resources` decision) |
//! | 8 | `objectives-assessed-and-set` | nonconformity | each objective set by the previous review is assessed here; each objective set here has an enrolled owner and a measure. Observation: no objective is set for the next period |
//! | 9 | `review-interval` | nonconformity | the meeting was held within `review_interval_months` of the previous review's meeting (or, not yet held, the interval has not passed by the day of the check). Observation: the previous review has no meeting recorded |
//! | 10 | `agenda-pack-lead-time` | warning | the agenda pack was circulated at least `agenda_lead_working_days` working days before the meeting (counted by [`Date::working_days_until`], the function the agenda's deadline is defined by). Observation: the pack was recorded by the ledger after the meeting day, so its circulation date is only declared |
//! | 11 | `thin-minutes` | warning | per input: the summary is not boilerplate ("discussed and noted", "noted", ...) and has at least `thin_summary_words` words; explicit "nothing to report" statements are exempt |
//! | 12 | `next-review-scheduled` | nonconformity | the meeting closed with the next review's date. Warning: that date is more than `review_interval_months` after the meeting |
//! | 13 | `unsigned-changes` | nonconformity | every change to the minutes after their first signature is covered by a later top-management signature |
//! | 14 | `signed-promptly` | warning | each top-management attendee first signed within `signing_deadline_days` of the meeting (or, unsigned, that many days have not yet passed) |
//! | 15 | `meeting-length` | observation | the meeting, where its start and end are recorded (`review.meeting-times`), ran no longer than the thresholds' `meeting_limit_minutes` (default 240). Warning: it and the `long_meetings_in_a_row` - 1 (default 2) reviews held before it all ran past it |
//!
//! Rules that need the meeting (3, 4, 5, 9, 10, 14) say nothing about it
//! when no meeting is recorded or no top management attended: rule 2
//! reports that once. Rules 3 and 13 are judged from the same [`audit`]
//! view the auditor reads: a change counts as signed again once a later
//! top-management signature covers it, and the current minutes still need
//! the quorum under rule 3. Every role is judged by the roster as it was
//! ([`Roster::as_at`]): attendance and the chair by the roster at the
//! meeting's entry, a signature by the roster at its entry, an owner by the
//! roster at the entry that named them. A member who left (removed, or
//! holding no active key) before the meeting and still owns an open action
//! or an objective of the previous review is a warning under rules 5 and 8. That each event's ed25519 signature verifies is the ledger
//! replay's job (`verify`); rule 3 checks the key that each minutes
//! signature names against the roster's key history.

use std::collections::BTreeSet;

use ledger_core::Seq;
use serde::Serialize;

use crate::audit::{self, ReviewAudit};
use crate::error::Rejection;
use crate::ids::{Date, ReviewId};
use crate::inputs::InputKey;
use crate::member::MemberId;
use crate::minutes::Recorded;
use crate::policy::{Policy, Thresholds};
use crate::reviews::{ActionRecord, ReviewRecord};
use crate::roster::{KeyState, Roster};
use crate::state::LedgerState;
use crate::vocab::{Act, ActionState, DecisionKind};
use crate::wording;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A requirement of the standard is not met: the review fails.
    Nonconformity,
    /// Poor practice an auditor will question.
    Warning,
    /// Worth noting; nothing is wrong yet.
    Observation,
}

impl Severity {
    /// The word used in reports and JSON.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Nonconformity => "nonconformity",
            Severity::Warning => "warning",
            Severity::Observation => "observation",
        }
    }
}

/// One conformance rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// The stable id, e.g. `inputs-addressed`.
    pub id: &'static str,
    /// The severity of its main finding.
    pub severity: Severity,
    /// What it checks, in a few words.
    pub checks: &'static str,
}

/// Every rule, in the order of `docs/domain.md`.
pub const RULES: [Rule; 15] = [
    Rule {
        id: INPUTS,
        severity: Severity::Nonconformity,
        checks: "every required input is addressed",
    },
    Rule {
        id: ATTENDED,
        severity: Severity::Nonconformity,
        checks: "top management attended and chaired",
    },
    Rule {
        id: SIGNED,
        severity: Severity::Nonconformity,
        checks: "top management signed the current minutes with valid keys",
    },
    Rule {
        id: ACTIONS,
        severity: Severity::Nonconformity,
        checks: "every action has an enrolled owner and a due date after the meeting",
    },
    Rule {
        id: PREVIOUS_ACTIONS,
        severity: Severity::Nonconformity,
        checks: "every action left open has a status; overdue ones a revised date",
    },
    Rule {
        id: DECISIONS,
        severity: Severity::Nonconformity,
        checks: "at least one decision is recorded",
    },
    Rule {
        id: RESOURCES,
        severity: Severity::Warning,
        checks: "resources were considered",
    },
    Rule {
        id: OBJECTIVES,
        severity: Severity::Nonconformity,
        checks: "last period's objectives assessed; new ones have owner and measure",
    },
    Rule {
        id: INTERVAL,
        severity: Severity::Nonconformity,
        checks: "held within the planned interval of the previous review",
    },
    Rule {
        id: PACK,
        severity: Severity::Warning,
        checks: "the agenda pack went out in time",
    },
    Rule {
        id: THIN,
        severity: Severity::Warning,
        checks: "input summaries are not thin or boilerplate",
    },
    Rule {
        id: NEXT,
        severity: Severity::Nonconformity,
        checks: "the next review is scheduled",
    },
    Rule {
        id: UNSIGNED,
        severity: Severity::Nonconformity,
        checks: "nothing changed after signing without new signatures",
    },
    Rule {
        id: PROMPT,
        severity: Severity::Warning,
        checks: "the minutes were signed soon after the meeting",
    },
    Rule {
        id: LENGTH,
        severity: Severity::Observation,
        checks: "the meeting ran no longer than a review needs",
    },
];

const INPUTS: &str = "inputs-addressed";
const ATTENDED: &str = "top-management-attended";
const SIGNED: &str = "minutes-signed";
const ACTIONS: &str = "actions-owned-and-dated";
const PREVIOUS_ACTIONS: &str = "previous-actions-reported";
const DECISIONS: &str = "decisions-recorded";
const RESOURCES: &str = "resources-considered";
const OBJECTIVES: &str = "objectives-assessed-and-set";
const INTERVAL: &str = "review-interval";
const PACK: &str = "agenda-pack-lead-time";
const THIN: &str = "thin-minutes";
const NEXT: &str = "next-review-scheduled";
const UNSIGNED: &str = "unsigned-changes";
const PROMPT: &str = "signed-promptly";
const LENGTH: &str = "meeting-length";

/// One thing the check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's id, e.g. `thin-minutes`.
    pub rule: &'static str,
    /// How serious it is.
    pub severity: Severity,
    /// What is wrong, naming the entry or field at fault.
    pub message: String,
    /// The entry at fault, when there is one.
    pub seq: Option<Seq>,
}

/// The conformance of one review. Its JSON also carries `passed`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The review.
    pub review: ReviewId,
    /// The day the check was run for (rules 9 and 14 count up to it).
    pub as_of: Date,
    /// What was found, in rule order.
    pub findings: Vec<Finding>,
}

impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shape<'a> {
            review: &'a ReviewId,
            as_of: Date,
            passed: bool,
            findings: &'a [Finding],
        }
        Shape {
            review: &self.review,
            as_of: self.as_of,
            passed: self.passed(),
            findings: &self.findings,
        }
        .serialize(s)
    }
}

impl Report {
    /// Whether the review has no nonconformity.
    pub fn passed(&self) -> bool {
        !self
            .findings
            .iter()
            .any(|f| f.severity == Severity::Nonconformity)
    }

    /// The findings of one rule.
    pub fn of_rule<'a>(&'a self, rule: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings.iter().filter(move |f| f.rule == rule)
    }

    /// How many findings have `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// The findings collected so far.
#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn add(&mut self, rule: &'static str, severity: Severity, seq: Option<Seq>, message: String) {
        self.0.push(Finding {
            rule,
            severity,
            message,
            seq,
        });
    }
}

/// What every rule reads.
struct Ctx<'a> {
    state: &'a LedgerState,
    id: &'a ReviewId,
    record: &'a ReviewRecord,
    roster: &'a Roster,
    policy: &'a Policy,
    /// The thresholds in force at the meeting's entry.
    thresholds: Thresholds,
    audit: ReviewAudit,
    today: Date,
}

impl Ctx<'_> {
    /// The meeting's date and entry, if a meeting is recorded.
    fn held(&self) -> Option<(Date, Seq)> {
        self.record
            .minutes
            .meeting
            .as_ref()
            .map(|m| (m.item.held, m.seq))
    }

    /// Why `handle` could not act when entry `seq` was admitted (not
    /// enrolled, removed, or holding no active key), or `None` if they could.
    fn unable(&self, handle: &MemberId, seq: Seq) -> Option<String> {
        self.roster.as_at(seq).why_not_able(handle)
    }

    /// The entry at which `handle` had left by this review's meeting.
    fn left_by_meeting(&self, handle: &MemberId) -> Option<Seq> {
        let (_, meeting) = self.held()?;
        self.roster.as_at(meeting).left_at(handle)
    }

    /// The previous review's record, if there is one.
    fn previous(&self) -> Option<(&ReviewId, &ReviewRecord)> {
        let p = self.record.previous.as_ref()?;
        self.state.reviews.reviews.get(p).map(|r| (p, r))
    }

    /// The reviews held before this one: another review whose meeting was
    /// recorded before this review's meeting entry (or, not yet held, at
    /// all) and dated before this meeting (or its planned date). Recorded
    /// before, so that a meeting back-dated later changes no verdict.
    fn held_before(&self) -> impl Iterator<Item = (&ReviewId, &ReviewRecord)> {
        let (date, cutoff) = match self.held() {
            Some((held, seq)) => (held, seq),
            None => (self.record.minutes.schedule.item.planned, Seq(u64::MAX)),
        };
        // By the reviews' summaries: only the reviews held before are read.
        let reviews = &self.state.reviews.reviews;
        reviews
            .summaries()
            .filter(move |(id, r)| {
                *id != self.id
                    && r.meeting
                        .is_some_and(|(seq, held)| seq < cutoff && held < date)
            })
            .filter_map(|(id, _)| reviews.get(id).map(|r| (id, r)))
    }

    /// The previous review as judged: the latest review held before this
    /// one (by meeting date, then entry), whatever `schedule.previous` says.
    fn last_held(&self) -> Option<(&ReviewId, &ReviewRecord)> {
        self.held_before().max_by_key(|(_, r)| {
            let m = r.minutes.meeting.as_ref().expect("held");
            (m.item.held, m.seq)
        })
    }
}

/// Runs every conformance rule on `review` as of `today`.
pub fn check(state: &LedgerState, review: &ReviewId, today: Date) -> Result<Report, Rejection> {
    let record = state.reviews.review(review)?;
    let ctx = Ctx {
        state,
        id: review,
        record,
        roster: &state.roster,
        policy: &state.roster.policy,
        thresholds: audit::meeting_roster(&state.roster, record).thresholds(),
        audit: audit::audit(state, review)?,
        today,
    };
    let mut f = Findings::default();
    inputs_addressed(&ctx, &mut f);
    top_management_attended(&ctx, &mut f);
    minutes_signed(&ctx, &mut f);
    actions_owned_and_dated(&ctx, &mut f);
    previous_actions_reported(&ctx, &mut f);
    decisions_recorded(&ctx, &mut f);
    resources_considered(&ctx, &mut f);
    objectives_assessed_and_set(&ctx, &mut f);
    review_interval(&ctx, &mut f);
    agenda_pack_lead_time(&ctx, &mut f);
    thin_minutes(&ctx, &mut f);
    next_review_scheduled(&ctx, &mut f);
    unsigned_changes(&ctx, &mut f);
    signed_promptly(&ctx, &mut f);
    meeting_length(&ctx, &mut f);
    Ok(Report {
        review: review.clone(),
        as_of: today,
        findings: f.0,
    })
}

/// Rule 1.
fn inputs_addressed(c: &Ctx, f: &mut Findings) {
    for key in InputKey::ALL {
        let Some(i) = c.record.minutes.inputs.get(&key) else {
            f.add(
                INPUTS,
                Severity::Nonconformity,
                None,
                format!(
                    "input {key} (clause 9.3.2 {}, the guide's #{}: {}) is not addressed: record a summary or an explicit nothing-to-report statement",
                    key.clause(),
                    key.guide_number(),
                    key.title().to_lowercase()
                ),
            );
            continue;
        };
        if wording::is_placeholder(&i.item.summary, &c.thresholds) {
            f.add(
                INPUTS,
                Severity::Nonconformity,
                Some(i.seq),
                format!(
                    "input {key} (at {}): {:?} is a placeholder, not a summary or a statement that there is nothing to report (input.summary)",
                    i.seq, i.item.summary
                ),
            );
        }
        if !i.item.nothing_to_report {
            continue;
        }
        // "Nothing to report" where the ledger shows there is something.
        let something = match key {
            InputKey::PreviousActions => {
                let open = open_at_meeting(c);
                (!open.is_empty()).then(|| {
                    format!(
                        "{} actions of earlier reviews were open at the meeting ({})",
                        open.len(),
                        open.iter()
                            .map(|a| a.record.id.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            }
            InputKey::Objectives => c.last_held().and_then(|(id, r)| {
                (!r.minutes.objectives.is_empty()).then(|| {
                    format!(
                        "review {id} set {} objectives for this period",
                        r.minutes.objectives.len()
                    )
                })
            }),
            _ => None,
        };
        if let Some(something) = something {
            f.add(
                INPUTS,
                Severity::Nonconformity,
                Some(i.seq),
                format!(
                    "input {key} (at {}) says there is nothing to report, but {something} (input.nothing_to_report)",
                    i.seq
                ),
            );
        }
    }
}

/// Rule 2.
fn top_management_attended(c: &Ctx, f: &mut Findings) {
    let Some(meeting) = &c.record.minutes.meeting else {
        f.add(
            ATTENDED,
            Severity::Nonconformity,
            None,
            format!(
                "no meeting of {} is recorded (review.open): without one nothing shows that top management reviewed the ISMS",
                c.id
            ),
        );
        return;
    };
    if c.audit.quorum.attended.is_empty() {
        f.add(
            ATTENDED,
            Severity::Nonconformity,
            Some(meeting.seq),
            format!(
                "the meeting at {} records no top management present (open.present: {}; roster as at {}): a review without top management is no review",
                meeting.seq,
                handles(&meeting.item.present),
                meeting.seq
            ),
        );
    }
    if !c
        .roster
        .as_at(meeting.seq)
        .is_top_management(&meeting.item.chair)
    {
        f.add(
            ATTENDED,
            Severity::Nonconformity,
            Some(meeting.seq),
            format!(
                "the meeting at {} was chaired by {}, who was not top management (open.chair; roster as at {})",
                meeting.seq, meeting.item.chair, meeting.seq
            ),
        );
    }
}

/// Rule 3.
fn minutes_signed(c: &Ctx, f: &mut Findings) {
    let q = &c.audit.quorum;
    let missing = q
        .missing
        .iter()
        .map(|p| p.handle.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if !q.attended.is_empty() && !q.met {
        f.add(
            SIGNED,
            Severity::Nonconformity,
            Some(c.audit.content_head),
            format!(
                "the current minutes (last changed at {}) are signed by {} of the {} top-management attendees the policy requires; not signed by {missing}",
                c.audit.content_head,
                q.signed.len(),
                q.required
            ),
        );
    } else if q.met && !q.missing.is_empty() {
        f.add(
            SIGNED,
            Severity::Observation,
            Some(c.audit.content_head),
            format!(
                "the quorum of {} signed the current minutes (last changed at {}); top-management attendees not signed: {missing}",
                q.required, c.audit.content_head
            ),
        );
    }
    for s in &c.record.signatures {
        let fp = s.key.fingerprint();
        let fault = match c.roster.keys.get(&s.key) {
            None => Some(format!("key {fp} is not enrolled in this ledger")),
            Some(k) if k.member != s.member => {
                Some(format!("key {fp} is enrolled for {}", k.member))
            }
            Some(k) if k.since > s.seq => Some(format!(
                "key {fp} was enrolled at {}, after it signed",
                k.since
            )),
            Some(k) => match k.state {
                KeyState::Rotated(at) if at <= s.seq => Some(format!(
                    "key {fp} was rotated away at {at}, before it signed"
                )),
                KeyState::Revoked(at) if at <= s.seq => {
                    Some(format!("key {fp} was revoked at {at}, before it signed"))
                }
                _ => None,
            },
        };
        let digest_fault = match c.record.changes.iter().find(|ch| ch.seq == s.covers) {
            Some(ch) if ch.digest == Some(s.digest) => None,
            Some(_) => Some(format!(
                "its digest {} is not that of the minutes at {}",
                s.digest, s.covers
            )),
            None => Some(format!("{} did not change these minutes", s.covers)),
        };
        // A signature the key policy does not count is a fault until the
        // same member signs these minutes, or a later version of them,
        // again in a way it counts.
        let replaced = c.record.signatures.iter().any(|x| {
            x.member == s.member
                && x.seq > s.seq
                && x.covers >= s.covers
                && crate::audit::counts(c.roster, x)
        });
        let policy_fault = (!replaced)
            .then(|| {
                c.roster
                    .as_at(s.seq)
                    .minutes_key_policy_unmet(&s.key, s.signed_by)
            })
            .flatten()
            .map(|(policy, set_at)| {
                let with = c
                    .roster
                    .keys
                    .get(&s.key)
                    .map(|k| k.kind.signed_with(s.signed_by).to_string())
                    .unwrap_or_else(|| "an unknown key".into());
                let set = set_at.map(|at| format!(", set at {at},")).unwrap_or_default();
                format!(
                    "made with a {with}, but the key policy{set} requires that {}: it does not count",
                    policy.describe()
                )
            });
        for reason in fault.into_iter().chain(digest_fault).chain(policy_fault) {
            f.add(
                SIGNED,
                Severity::Nonconformity,
                Some(s.seq),
                format!("the signature at {} by {}: {reason}", s.seq, s.member),
            );
        }
    }
}

/// Rule 4.
fn actions_owned_and_dated(c: &Ctx, f: &mut Findings) {
    let held = c.held();
    for (id, a) in &c.record.minutes.actions {
        if let Some(why) = c.unable(&a.item.owner, a.seq) {
            f.add(
                ACTIONS,
                Severity::Nonconformity,
                Some(a.seq),
                format!(
                    "action {id} (at {}) is owned by {}, who could not act when assigned: {why} (action.owner)",
                    a.seq, a.item.owner
                ),
            );
        }
        if let Some((held, _)) = held
            && a.item.due <= held
        {
            f.add(
                ACTIONS,
                Severity::Nonconformity,
                Some(a.seq),
                format!(
                    "action {id} (at {}) is due {}, not after the meeting on {held} (action.due)",
                    a.seq, a.item.due
                ),
            );
        }
    }
}

/// The reviews before `c`'s: those its `previous` chain names, and every
/// review held before it (so that naming an older review as previous, or
/// none, hides no open action).
fn earlier_reviews(c: &Ctx) -> BTreeSet<ReviewId> {
    let mut seen: BTreeSet<ReviewId> = c.held_before().map(|(id, _)| id.clone()).collect();
    let mut next = c.record.previous.clone();
    let mut walked = BTreeSet::new();
    while let Some(id) = next {
        if &id == c.id || !walked.insert(id.clone()) {
            break;
        }
        seen.insert(id.clone());
        next = c
            .state
            .reviews
            .reviews
            .get(&id)
            .and_then(|r| r.previous.clone());
    }
    seen
}

/// An earlier review's action as it stood at this review's meeting.
struct OpenAction<'a> {
    record: &'a ActionRecord,
    assigned: Option<&'a Recorded<Act>>,
    due: Date,
    owner: &'a MemberId,
    status: ActionState,
}

/// The actions of earlier reviews still open at this review's meeting: their
/// assignment recorded before the meeting's entry, and their status, due
/// date and owner those of their history up to it, leaving out what this
/// review recorded.
fn open_at_meeting<'a>(c: &'a Ctx) -> Vec<OpenAction<'a>> {
    let Some((_, meeting_seq)) = c.held() else {
        return Vec::new();
    };
    // The actions each earlier review raised, rather than every action of the ledger.
    let earlier = earlier_reviews(c);
    let actions = earlier
        .iter()
        .filter_map(|r| c.state.reviews.reviews.get(r))
        .flat_map(|r| r.minutes.actions.keys())
        .filter_map(|id| c.state.reviews.actions.get(id));
    let mut open = Vec::new();
    for a in actions {
        let assigned = c
            .state
            .reviews
            .reviews
            .get(&a.review)
            .and_then(|r| r.minutes.actions.get(&a.id));
        if assigned.is_some_and(|x| x.seq >= meeting_seq) {
            continue;
        }
        let mut due = assigned.map(|x| x.item.due).unwrap_or(a.due);
        let mut owner = assigned.map(|x| &x.item.owner).unwrap_or(&a.owner);
        let mut status = ActionState::Open;
        for e in &a.history {
            if e.seq >= meeting_seq || e.review.as_ref() == Some(c.id) {
                continue;
            }
            if let ActionState::Overdue {
                revised_due,
                owner: o,
            } = &e.status
            {
                due = *revised_due;
                owner = o;
            }
            status = e.status.clone();
        }
        if status != ActionState::Completed {
            open.push(OpenAction {
                record: a,
                assigned,
                due,
                owner,
                status,
            });
        }
    }
    open
}

/// Rule 5.
fn previous_actions_reported(c: &Ctx, f: &mut Findings) {
    let Some((held, meeting_seq)) = c.held() else {
        return;
    };
    for OpenAction {
        record: a,
        assigned,
        due,
        owner,
        status,
    } in open_at_meeting(c)
    {
        let recorded = c.record.minutes.action_statuses.get(&a.id);
        let reassigned = recorded.is_some_and(|r| match &r.item.status {
            ActionState::Completed => true,
            ActionState::Overdue { owner: o, .. } => o != owner,
            _ => false,
        });
        if let Some(left) = c.left_by_meeting(owner)
            && !reassigned
        {
            f.add(
                PREVIOUS_ACTIONS,
                Severity::Warning,
                assigned.map(|x| x.seq),
                format!(
                    "action {} of review {} is still {} and owned by {owner}, who left at {left} (removed, or no active key) and was not reassigned by the meeting at {meeting_seq}",
                    a.id,
                    a.review,
                    status.label()
                ),
            );
        }
        let Some(recorded) = recorded else {
            f.add(
                PREVIOUS_ACTIONS,
                Severity::Nonconformity,
                assigned.map(|x| x.seq),
                format!(
                    "action {} of review {}{} was {} at the meeting, but this review records no status for it (review.action-status)",
                    a.id,
                    a.review,
                    assigned
                        .map(|x| format!(" (assigned at {})", x.seq))
                        .unwrap_or_default(),
                    status.label()
                ),
            );
            continue;
        };
        match &recorded.item.status {
            ActionState::Completed => {}
            ActionState::Overdue { revised_due, owner } => {
                if *revised_due <= held {
                    f.add(
                        PREVIOUS_ACTIONS,
                        Severity::Nonconformity,
                        Some(recorded.seq),
                        format!(
                            "the status at {} records action {} overdue with a revised due date {revised_due}, not after the meeting on {held} (status.revised_due)",
                            recorded.seq, a.id
                        ),
                    );
                }
                if let Some(why) = c.unable(owner, recorded.seq) {
                    f.add(
                        PREVIOUS_ACTIONS,
                        Severity::Nonconformity,
                        Some(recorded.seq),
                        format!(
                            "the status at {} confirms {owner} as owner of overdue action {}, who could not act: {why} (status.owner)",
                            recorded.seq, a.id
                        ),
                    );
                }
            }
            other => {
                if due < held {
                    f.add(
                        PREVIOUS_ACTIONS,
                        Severity::Nonconformity,
                        Some(recorded.seq),
                        format!(
                            "the status at {} records action {} as {}, but it was due {due}, before the meeting on {held}: an overdue action needs a revised due date and a confirmed owner",
                            recorded.seq,
                            a.id,
                            other.label()
                        ),
                    );
                }
            }
        }
    }
}

/// Rule 6.
fn decisions_recorded(c: &Ctx, f: &mut Findings) {
    let m = &c.record.minutes;
    if !m.decisions.is_empty() {
        return;
    }
    let message = if m.actions.is_empty() {
        "the minutes record no decision and no action (review.decide, review.act): a review with no outputs is implausible".to_owned()
    } else {
        format!(
            "the minutes record {} actions but no decision (review.decide)",
            m.actions.len()
        )
    };
    f.add(DECISIONS, Severity::Nonconformity, None, message);
}

/// Rule 7.
fn resources_considered(c: &Ctx, f: &mut Findings) {
    let m = &c.record.minutes;
    let resources: Vec<_> = m
        .decisions
        .iter()
        .filter(|d| d.item.kind == DecisionKind::Resources)
        .collect();
    for d in resources
        .iter()
        .filter(|d| wording::is_placeholder(&d.item.text, &c.thresholds))
    {
        f.add(
            RESOURCES,
            Severity::Warning,
            Some(d.seq),
            format!(
                "the resources decision at {}, {:?}, is a placeholder (decision.text)",
                d.seq, d.item.text
            ),
        );
    }
    if resources
        .iter()
        .any(|d| !wording::is_placeholder(&d.item.text, &c.thresholds))
    {
        return;
    }
    f.add(
        RESOURCES,
        Severity::Warning,
        None,
        format!(
            "none of the {} decisions is about resources (decision.kind {}): record the resource needs, or that the ISMS is adequately resourced",
            m.decisions.len(),
            DecisionKind::Resources.key()
        ),
    );
}

/// Rule 8.
fn objectives_assessed_and_set(c: &Ctx, f: &mut Findings) {
    let m = &c.record.minutes;
    let cutoff = c.held().map_or(Seq(u64::MAX), |(_, seq)| seq);
    let last = c.last_held().map(|(id, _)| id);
    // Last period's objectives, and any older one no review has assessed.
    let earlier = earlier_reviews(c);
    for prev_id in &earlier {
        let Some(prev) = c.state.reviews.reviews.get(prev_id) else {
            continue;
        };
        for (id, o) in &prev.minutes.objectives {
            if m.assessments.contains_key(id) {
                continue;
            }
            let assessed_before = c.state.reviews.objectives.get(id).is_some_and(|r| {
                r.assessments
                    .iter()
                    .any(|(by, _, _, seq)| by != c.id && *seq < cutoff)
            });
            if Some(prev_id) != last && assessed_before {
                continue;
            }
            if let Some(left) = c.left_by_meeting(&o.item.owner) {
                f.add(
                    OBJECTIVES,
                    Severity::Warning,
                    Some(o.seq),
                    format!(
                        "objective {id}, set by review {prev_id} at {}, is owned by {}, who left at {left} (removed, or no active key) before this review's meeting and was not reassigned",
                        o.seq, o.item.owner
                    ),
                );
            }
            f.add(
                OBJECTIVES,
                Severity::Nonconformity,
                Some(o.seq),
                format!(
                    "objective {id}, set by review {prev_id} at {}, is not assessed: record whether it was met, and why (review.objective-assess)",
                    o.seq
                ),
            );
        }
    }
    for (id, a) in &m.assessments {
        if wording::is_placeholder(&a.item.why, &c.thresholds) {
            f.add(
                OBJECTIVES,
                Severity::Nonconformity,
                Some(a.seq),
                format!(
                    "the assessment of objective {id} (at {}) gives no reason: {:?} is a placeholder (assessment.why)",
                    a.seq, a.item.why
                ),
            );
        }
    }
    for (id, o) in &m.objectives {
        if let Some(why) = c.unable(&o.item.owner, o.seq) {
            f.add(
                OBJECTIVES,
                Severity::Nonconformity,
                Some(o.seq),
                format!(
                    "objective {id} (at {}) is owned by {}, who could not act when it was set: {why} (objective.owner)",
                    o.seq, o.item.owner
                ),
            );
        }
        if wording::is_placeholder(&o.item.measure, &c.thresholds) {
            f.add(
                OBJECTIVES,
                Severity::Nonconformity,
                Some(o.seq),
                format!(
                    "objective {id} (at {}) has no measure: {:?} is a placeholder (objective.measure)",
                    o.seq, o.item.measure
                ),
            );
        }
    }
    if m.objectives.is_empty() {
        f.add(
            OBJECTIVES,
            Severity::Observation,
            None,
            "no objective is set for the next period (review.objective-set)".to_owned(),
        );
    }
}

/// Rule 9.
fn review_interval(c: &Ctx, f: &mut Findings) {
    let months = c.policy.review_interval_months;
    let schedule = &c.record.minutes.schedule;
    let last = c.last_held();
    // The review named as previous when this one was scheduled, if it is
    // not the last one held: what the skipped review left open is
    // reported here (rules 5 and 8), and the interval runs from it.
    match (c.previous(), last) {
        (Some((named, _)), Some((held_id, held))) if named != held_id => f.add(
            INTERVAL,
            Severity::Warning,
            Some(schedule.seq),
            format!(
                "review {} was scheduled (at {}) with {named} as its previous review, but {held_id} was held since (meeting at {}): the interval, actions and objectives are judged from {held_id}",
                c.id,
                schedule.seq,
                held.minutes.meeting.as_ref().map_or(Seq(0), |m| m.seq)
            ),
        ),
        (None, Some((held_id, held))) => f.add(
            INTERVAL,
            Severity::Warning,
            Some(schedule.seq),
            format!(
                "review {} was scheduled (at {}) with no previous review, but {held_id} was held before it (meeting at {}): the interval, actions and objectives are judged from {held_id}",
                c.id,
                schedule.seq,
                held.minutes.meeting.as_ref().map_or(Seq(0), |m| m.seq)
            ),
        ),
        (Some((named, _)), None) => f.add(
            INTERVAL,
            Severity::Observation,
            None,
            format!(
                "the previous review {named} has no meeting recorded, and no other review was held before this one, so the interval cannot be checked"
            ),
        ),
        _ => {}
    }
    let Some((prev_id, prev)) = last else {
        return;
    };
    let prev_meeting = prev.minutes.meeting.as_ref().expect("held");
    // The periods covered follow on from each other.
    let prev_end = prev.minutes.schedule.item.period_end;
    let start = schedule.item.period_start;
    let expected = prev_end.plus_days(1);
    if start != expected {
        let what = if start <= prev_end {
            "overlaps"
        } else {
            "leaves a gap after"
        };
        f.add(
            INTERVAL,
            Severity::Warning,
            Some(schedule.seq),
            format!(
                "the period covered (scheduled at {}) from {start} {what} the period of the previous review {prev_id}, which ended {prev_end}: it should start {expected} (schedule.period_start)",
                schedule.seq
            ),
        );
    }
    let prev_held = prev_meeting.item.held;
    let limit = prev_held.plus_months(months);
    match c.held() {
        Some((held, seq)) if held > limit => f.add(
            INTERVAL,
            Severity::Nonconformity,
            Some(seq),
            format!(
                "the meeting at {seq} was held {held}, more than {months} months after the previous review {prev_id} held {prev_held} (at {}); it was due by {limit}",
                prev_meeting.seq
            ),
        ),
        Some(_) => {}
        None if c.today > limit => f.add(
            INTERVAL,
            Severity::Nonconformity,
            None,
            format!(
                "review {} has not been held and it is {}, more than {months} months after the previous review {prev_id} held {prev_held}; it was due by {limit}",
                c.id, c.today
            ),
        ),
        None => {}
    }
}

/// Rule 10.
fn agenda_pack_lead_time(c: &Ctx, f: &mut Findings) {
    let Some((held, _)) = c.held() else {
        return;
    };
    let lead = i64::from(c.policy.agenda_lead_working_days);
    let Some(pack) = &c.record.minutes.pack else {
        f.add(
            PACK,
            Severity::Warning,
            None,
            "no agenda pack is recorded as circulated (review.circulate)".to_owned(),
        );
        return;
    };
    let circulated = pack.item.circulated;
    if let Some(on) = c.record.received(pack.seq).and_then(Date::of_micros)
        && on > held
    {
        f.add(
            PACK,
            Severity::Observation,
            Some(pack.seq),
            format!(
                "the agenda pack was recorded at {} on {on}, after the meeting on {held}: its circulation date {circulated} is only declared",
                pack.seq
            ),
        );
    }
    let days = circulated.working_days_until(held);
    if days < lead {
        let when = crate::render::working_days_apart(days);
        f.add(
            PACK,
            Severity::Warning,
            Some(pack.seq),
            format!(
                "the agenda pack (at {}) was circulated {circulated}, {when} the meeting on {held}; the policy asks for {lead} (circulate.circulated)",
                pack.seq
            ),
        );
    }
}

/// Rule 11.
fn thin_minutes(c: &Ctx, f: &mut Findings) {
    let least = usize::from(c.policy.thin_summary_words);
    let inputs = &c.record.minutes.inputs;
    for (key, i) in inputs {
        let summary = &i.item.summary;
        if i.item.nothing_to_report || wording::is_placeholder(summary, &c.thresholds) {
            continue;
        }
        let words = summary.split_whitespace().count();
        let message = if wording::is_boilerplate(summary, &c.thresholds) {
            format!(
                "input {key} (at {}): {summary:?} is mostly boilerplate, not a summary of what was discussed (input.summary)",
                i.seq
            )
        } else if words < least {
            format!(
                "input {key} (at {}): the summary has {}, under the policy's {least} (input.summary)",
                i.seq,
                crate::render::count(words as i64, "word", "words")
            )
        } else {
            continue;
        };
        f.add(THIN, Severity::Warning, Some(i.seq), message);
    }
    // The same summary pasted into several inputs.
    let mut by_text: std::collections::BTreeMap<String, Vec<(&InputKey, Seq)>> =
        std::collections::BTreeMap::new();
    for (key, i) in inputs {
        if !i.item.nothing_to_report && !wording::is_placeholder(&i.item.summary, &c.thresholds) {
            by_text
                .entry(wording::same_text_key(&i.item.summary))
                .or_default()
                .push((key, i.seq));
        }
    }
    for same in by_text.values().filter(|v| v.len() > 1) {
        let (_, first) = same[0];
        f.add(
            THIN,
            Severity::Warning,
            Some(first),
            format!(
                "inputs {} have the same summary (at {}): each input needs its own account of what was discussed (input.summary)",
                same.iter()
                    .map(|(k, _)| k.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                same.iter()
                    .map(|(_, s)| s.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
}

/// Rule 12.
fn next_review_scheduled(c: &Ctx, f: &mut Findings) {
    let Some(close) = &c.record.minutes.close else {
        f.add(
            NEXT,
            Severity::Nonconformity,
            None,
            "the minutes record no close with the next review's date (review.close)".to_owned(),
        );
        return;
    };
    let months = c.policy.review_interval_months;
    if let Some((held, _)) = c.held() {
        let next = close.item.next_review;
        if next > held.plus_months(months) {
            f.add(
                NEXT,
                Severity::Warning,
                Some(close.seq),
                format!(
                    "the next review (at {}) is planned for {next}, more than {months} months after the meeting on {held} (close.next_review)",
                    close.seq
                ),
            );
        }
    }
}

/// Rule 13.
fn unsigned_changes(c: &Ctx, f: &mut Findings) {
    for ch in &c.audit.changes_after_signing {
        if ch.signed_again {
            continue;
        }
        f.add(
            UNSIGNED,
            Severity::Nonconformity,
            Some(ch.seq),
            format!(
                "the minutes changed at {}, after they were signed ({}, by {}, amendment: {}), and top management has not signed them since",
                ch.seq,
                ch.what,
                ch.by.handle,
                ch.amendment.as_deref().unwrap_or("(no reason given)")
            ),
        );
    }
}

/// Rule 14.
fn signed_promptly(c: &Ctx, f: &mut Findings) {
    let Some((held, _)) = c.held() else {
        return;
    };
    let deadline = i64::from(c.policy.signing_deadline_days);
    for p in &c.audit.quorum.attended {
        // The first signature that counts for top management.
        let first = c
            .record
            .signatures
            .iter()
            .find(|s| s.member == p.handle && audit::counts(c.roster, s));
        match first {
            Some(s) => {
                let Some(on) = Date::of_micros(s.received) else {
                    continue;
                };
                let days = held.days_until(on);
                if days > deadline {
                    f.add(
                        PROMPT,
                        Severity::Warning,
                        Some(s.seq),
                        format!(
                            "{} first signed at {} on {on}, {days} days after the meeting on {held}; the policy asks for {deadline}",
                            p.handle, s.seq
                        ),
                    );
                }
            }
            None => {
                let days = held.days_until(c.today);
                if days > deadline {
                    f.add(
                        PROMPT,
                        Severity::Warning,
                        None,
                        format!(
                            "{} has not signed, {days} days after the meeting on {held}; the policy asks for {deadline}",
                            p.handle
                        ),
                    );
                }
            }
        }
    }
}

/// Rule 15.
fn meeting_length(c: &Ctx, f: &mut Findings) {
    let Some(times) = &c.record.minutes.times else {
        return;
    };
    let limit = c.thresholds.meeting_limit_minutes;
    let in_a_row = usize::from(c.thresholds.long_meetings_in_a_row);
    let length = times.item.minutes();
    if length <= limit {
        return;
    }
    f.add(
        LENGTH,
        Severity::Observation,
        Some(times.seq),
        format!(
            "the meeting ran {} (at {}, {} to {}), past {}: a review that regularly runs this long needs a simpler format",
            duration(length),
            times.seq,
            times.item.started,
            times.item.ended,
            duration(limit)
        ),
    );
    // The reviews held before this one, latest first.
    let mut before: Vec<_> = c.held_before().collect();
    before.sort_by_key(|(_, r)| {
        let m = r.minutes.meeting.as_ref().expect("held");
        std::cmp::Reverse((m.item.held, m.seq))
    });
    let earlier = &before[..before.len().min(in_a_row - 1)];
    let all_long = earlier.len() == in_a_row - 1
        && earlier.iter().all(|(_, r)| {
            r.minutes
                .times
                .as_ref()
                .is_some_and(|t| t.item.minutes() > limit)
        });
    if all_long {
        f.add(
            LENGTH,
            Severity::Warning,
            Some(times.seq),
            format!(
                "this meeting (at {}) and the {} reviews before it ({}) all ran past {}: simplify the review's format",
                times.seq,
                earlier.len(),
                earlier
                    .iter()
                    .map(|(id, _)| id.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                duration(limit)
            ),
        );
    }
}

/// `1 h 30 min`.
pub fn duration(minutes: u16) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

fn handles(members: &[MemberId]) -> String {
    members
        .iter()
        .map(MemberId::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
pub(crate) mod tests {
    //! Each rule, failing and passing, by editing the example story.

    use super::*;
    use crate::payload::Payload;
    use crate::rehearsal::{Rehearsal, noon};
    use crate::story::{self, Step, current_id};
    use crate::vocab::{Content, Input};

    /// The day the checks run: five days after the current meeting.
    pub(crate) fn today() -> Date {
        Date::parse("today", "2026-12-01").expect("valid")
    }

    /// The current meeting's date.
    pub(crate) fn held() -> Date {
        today().plus_days(-5)
    }

    /// A summary long enough not to be thin.
    pub(crate) const RESTATED: &str = "The risk treatment plan status was restated: two treatments are complete and one is delayed to the next quarter with its owner confirmed.";

    /// The story's steps, clock settings and the day of the check.
    pub(crate) struct Script {
        pub(crate) steps: Vec<Step>,
        /// Before step `i`, the ledger clock is set to noon on the date.
        pub(crate) clocks: Vec<(usize, Date)>,
        pub(crate) today: Date,
    }

    fn is_current(step: &Step) -> bool {
        match step {
            Step::Append { payload, .. } => payload.review() == Some(&current_id()),
            Step::Sign { review, .. } => *review == current_id(),
        }
    }

    impl Script {
        /// The clean story.
        /// The clean story.
        pub(crate) fn story() -> Script {
            Script {
                steps: story::story(held()),
                clocks: Vec::new(),
                today: today(),
            }
        }

        /// Runs the script on a fresh rehearsal; every step must be admitted.
        pub(crate) fn run(&self) -> Rehearsal {
            let mut r = Rehearsal::founded(today());
            for (i, step) in self.steps.iter().enumerate() {
                // The current review's pack is recorded on the day it was
                // circulated, and its meeting on the day it was held.
                match step {
                    Step::Append {
                        payload: Payload::Circulate(c),
                        ..
                    } if c.review == current_id() => r.set_clock(noon(c.body.circulated)),
                    Step::Append {
                        payload: Payload::Open(o),
                        ..
                    } if o.review == current_id() => r.set_clock(noon(o.body.held)),
                    _ => {}
                }
                if let Some((_, d)) = self.clocks.iter().find(|(at, _)| *at == i) {
                    r.set_clock(noon(*d));
                }
                r.run(std::slice::from_ref(step))
                    .unwrap_or_else(|(_, e)| panic!("step {i} refused: {e}"));
            }
            r
        }

        /// Removes the current review's events that `pred` picks.
        pub(crate) fn drop(&mut self, pred: impl Fn(&Payload) -> bool) {
            let before = self.steps.len();
            self.steps.retain(|s| {
                !(is_current(s) && matches!(s, Step::Append { payload, .. } if pred(payload)))
            });
            assert!(self.steps.len() < before, "nothing matched to drop");
        }

        /// Edits the current review's events; `f` says whether it changed one.
        pub(crate) fn edit(&mut self, mut f: impl FnMut(&mut Payload) -> bool) {
            let mut n = 0;
            for s in &mut self.steps {
                if is_current(s)
                    && let Step::Append { payload, .. } = s
                    && f(payload)
                {
                    n += 1;
                }
            }
            assert!(n > 0, "nothing matched to edit");
        }

        /// Edits the current review's record of `key`.
        pub(crate) fn input(&mut self, key: InputKey, f: impl Fn(&mut Input)) {
            self.edit(|p| match p {
                Payload::Input(c) if c.body.input == key => {
                    f(&mut c.body);
                    true
                }
                _ => false,
            });
        }

        /// Removes `by`'s signature on the current review.
        pub(crate) fn unsign(&mut self, by: &str) {
            self.steps
                .retain(|s| !(is_current(s) && matches!(s, Step::Sign { by: b, .. } if *b == by)));
        }

        /// The current review's signatures are received on `date`.
        pub(crate) fn sign_on(&mut self, date: Date) {
            let first = self
                .steps
                .iter()
                .position(|s| is_current(s) && matches!(s, Step::Sign { .. }))
                .expect("the story signs the current review");
            self.clocks.push((first, date));
            self.today = self.today.max(date);
        }

        /// Appends steps after the story.
        pub(crate) fn then(&mut self, steps: impl IntoIterator<Item = Step>) {
            self.steps.extend(steps);
        }
    }

    /// An amendment of the current review's risk input, by the ISMS lead.
    pub(crate) fn amend() -> Step {
        Step::Append {
            by: "isms",
            payload: Payload::Input(Content {
                review: current_id(),
                amendment: Some("the risk treatment status was misstated in the draft".into()),
                body: Input {
                    input: InputKey::Risk,
                    summary: RESTATED.into(),
                    evidence: Vec::new(),
                    nothing_to_report: false,
                },
            }),
        }
    }

    /// `by` signs the current minutes.
    pub(crate) fn sign(by: &'static str) -> Step {
        Step::Sign {
            by,
            review: current_id(),
        }
    }

    /// Runs the story as `edit` leaves it and checks the current review:
    /// `rule` has a finding exactly when `expect_finding`. Every finding
    /// that names an entry says its number in the message.
    fn check_rule(rule: &str, edit: impl FnOnce(&mut Script), expect_finding: bool) -> Report {
        assert!(RULES.iter().any(|r| r.id == rule), "no rule {rule}");
        let mut script = Script::story();
        edit(&mut script);
        let r = script.run();
        let report = check(&r.state, &current_id(), script.today).expect("the review exists");
        let found: Vec<&Finding> = report.of_rule(rule).collect();
        assert_eq!(
            !found.is_empty(),
            expect_finding,
            "{rule}: expected {}a finding, got {:#?}",
            if expect_finding { "" } else { "no " },
            report.findings
        );
        for f in &report.findings {
            if let Some(seq) = f.seq {
                assert!(f.message.contains(&seq.to_string()), "{f:?}");
            }
        }
        report
    }

    fn severities(report: &Report, rule: &str) -> Vec<Severity> {
        report.of_rule(rule).map(|f| f.severity).collect()
    }

    fn clean(_: &mut Script) {}

    #[test]
    fn the_clean_story_passes_every_rule() {
        let r = Script::story().run();
        let report = check(&r.state, &current_id(), today()).unwrap();
        assert!(report.findings.is_empty(), "{:#?}", report.findings);
        assert!(report.passed());
        for rule in RULES {
            check_rule(rule.id, clean, false);
        }
    }

    #[test]
    fn rules_have_distinct_kebab_case_ids() {
        let mut seen = BTreeSet::new();
        for rule in RULES {
            assert!(seen.insert(rule.id), "{} twice", rule.id);
            assert!(
                rule.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                rule.id
            );
        }
        assert_eq!(Severity::Nonconformity.label(), "nonconformity");
        assert_eq!(Severity::Warning.label(), "warning");
        assert_eq!(Severity::Observation.label(), "observation");
    }

    #[test]
    fn an_unknown_review_is_refused() {
        let r = Script::story().run();
        let e = check(&r.state, &ReviewId::new("nope").unwrap(), today()).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }

    #[test]
    fn inputs_addressed() {
        let report = check_rule(
            INPUTS,
            |s| s.drop(|p| matches!(p, Payload::Input(c) if c.body.input == InputKey::Risk)),
            true,
        );
        assert!(!report.passed());
        let f: Vec<_> = report.of_rule(INPUTS).collect();
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("input risk (clause 9.3.2 f"),
            "{}",
            f[0].message
        );
        check_rule(
            INPUTS,
            |s| {
                s.input(InputKey::Risk, |i| {
                    i.summary = "Nothing to report: no risk changed this period.".into();
                    i.nothing_to_report = true;
                })
            },
            false,
        );
    }

    #[test]
    fn top_management_attended() {
        // Run by the ISMS lead with the head of IT; the ISMS lead signs.
        let report = check_rule(
            ATTENDED,
            |s| {
                s.edit(|p| match p {
                    Payload::Open(c) => {
                        c.body.chair = MemberId::new("isms").unwrap();
                        c.body.present = ["isms", "it"].map(|h| MemberId::new(h).unwrap()).into();
                        c.body.apologies = ["ceo", "ops", "hr"]
                            .map(|h| MemberId::new(h).unwrap())
                            .into();
                        true
                    }
                    _ => false,
                });
                s.unsign("ceo");
                s.unsign("ops");
                s.then([sign("isms")]);
            },
            true,
        );
        assert_eq!(
            report.of_rule(ATTENDED).count(),
            2,
            "{:#?}",
            report.findings
        );
        // Top management present, but the ISMS lead chairs.
        let report = check_rule(
            ATTENDED,
            |s| {
                s.edit(|p| match p {
                    Payload::Open(c) => {
                        c.body.chair = MemberId::new("isms").unwrap();
                        true
                    }
                    _ => false,
                })
            },
            true,
        );
        assert!(report.findings[0].message.contains("chaired by isms"));
        check_rule(ATTENDED, clean, false);
    }

    #[test]
    fn minutes_signed() {
        let report = check_rule(SIGNED, |s| s.unsign("ops"), true);
        assert!(
            report.findings[0].message.contains("not signed by ops"),
            "{}",
            report.findings[0].message
        );
        check_rule(SIGNED, |s| s.unsign("ceo"), true);
        // Re-signed after an amendment by one top manager only.
        check_rule(SIGNED, |s| s.then([amend(), sign("ceo")]), true);
        check_rule(
            SIGNED,
            |s| s.then([amend(), sign("ceo"), sign("ops")]),
            false,
        );
        check_rule(SIGNED, clean, false);
    }

    #[test]
    fn actions_owned_and_dated() {
        let on_the_day = |s: &mut Script| {
            s.edit(|p| match p {
                Payload::Act(c) if c.body.action.as_str() == "cur-a2" => {
                    c.body.due = held();
                    true
                }
                _ => false,
            })
        };
        let report = check_rule(ACTIONS, on_the_day, true);
        assert!(report.findings[0].message.contains("action cur-a2"));
        check_rule(
            ACTIONS,
            |s| {
                s.edit(|p| match p {
                    Payload::Act(c) if c.body.action.as_str() == "cur-a2" => {
                        c.body.due = held().plus_days(1);
                        true
                    }
                    _ => false,
                })
            },
            false,
        );
        check_rule(ACTIONS, clean, false);
    }

    fn status_of(action: &'static str) -> impl Fn(&Payload) -> bool {
        move |p| matches!(p, Payload::ActionStatus(c) if c.body.action.as_str() == action)
    }

    fn restate(s: &mut Script, action: &'static str, status: ActionState) {
        s.edit(|p| match p {
            Payload::ActionStatus(c) if c.body.action.as_str() == action => {
                c.body.status = status.clone();
                true
            }
            _ => false,
        })
    }

    #[test]
    fn previous_actions_reported() {
        // prev-a3 had no update: open at the meeting.
        let report = check_rule(PREVIOUS_ACTIONS, |s| s.drop(status_of("prev-a3")), true);
        assert!(
            report.findings[0]
                .message
                .contains("action prev-a3 of review mr-prev")
        );
        // prev-a2 was in progress at the meeting.
        check_rule(PREVIOUS_ACTIONS, |s| s.drop(status_of("prev-a2")), true);
        // prev-a3 was due months ago but is reported in progress, with no revised date.
        check_rule(
            PREVIOUS_ACTIONS,
            |s| restate(s, "prev-a3", ActionState::InProgress),
            true,
        );
        // Overdue, but the revised date is already past.
        check_rule(
            PREVIOUS_ACTIONS,
            |s| {
                restate(
                    s,
                    "prev-a3",
                    ActionState::Overdue {
                        revised_due: held(),
                        owner: MemberId::new("it").unwrap(),
                    },
                )
            },
            true,
        );
        // prev-a1 was completed between the reviews: its status may go unsaid.
        check_rule(PREVIOUS_ACTIONS, |s| s.drop(status_of("prev-a1")), false);
        check_rule(PREVIOUS_ACTIONS, clean, false);
    }

    #[test]
    fn decisions_recorded() {
        let report = check_rule(
            DECISIONS,
            |s| {
                s.drop(|p| matches!(p, Payload::Decide(_)));
                s.edit(|p| match p {
                    Payload::Act(c) => {
                        c.body.decision = None;
                        true
                    }
                    _ => false,
                });
            },
            true,
        );
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.message.contains("2 actions but no decision"))
        );
        let report = check_rule(
            DECISIONS,
            |s| s.drop(|p| matches!(p, Payload::Decide(_) | Payload::Act(_))),
            true,
        );
        assert!(
            report
                .findings
                .iter()
                .any(|f| f.message.contains("implausible"))
        );
        check_rule(DECISIONS, clean, false);
    }

    #[test]
    fn resources_considered() {
        let report = check_rule(
            RESOURCES,
            |s| {
                s.edit(|p| match p {
                    Payload::Decide(c) if c.body.kind == DecisionKind::Resources => {
                        c.body.kind = DecisionKind::Other;
                        true
                    }
                    _ => false,
                })
            },
            true,
        );
        assert_eq!(severities(&report, RESOURCES), [Severity::Warning]);
        assert!(report.passed());
        check_rule(RESOURCES, clean, false);
    }

    #[test]
    fn objectives_assessed_and_set() {
        let report = check_rule(
            OBJECTIVES,
            |s| {
                s.drop(
                    |p| matches!(p, Payload::Assess(c) if c.body.objective.as_str() == "obj-phish"),
                )
            },
            true,
        );
        assert!(
            report.findings[0]
                .message
                .contains("objective obj-phish, set by review mr-prev")
        );
        assert_eq!(severities(&report, OBJECTIVES), [Severity::Nonconformity]);
        let report = check_rule(
            OBJECTIVES,
            |s| s.drop(|p| matches!(p, Payload::Objective(_))),
            true,
        );
        assert_eq!(severities(&report, OBJECTIVES), [Severity::Observation]);
        check_rule(OBJECTIVES, clean, false);
    }

    /// The previous review held `days` before the current one.
    fn previous_held(days: i64) -> impl FnOnce(&mut Script) {
        move |s| {
            s.steps = story::previous_review(held().plus_days(-days));
            s.steps.extend(story::between_reviews());
            s.steps.extend(story::current_review(held()));
            // The period still runs on from the previous review's.
            period_starts(s, held().plus_days(-days));
        }
    }

    fn period_starts(s: &mut Script, start: Date) {
        s.edit(|p| match p {
            Payload::Schedule(c) => {
                c.body.period_start = start;
                true
            }
            _ => false,
        });
    }

    /// A review held between the previous and the current one, which the
    /// current one's schedule skips: it raises action `mid-a1`.
    fn middle_review_skipped(s: &mut Script) {
        middle_review(s, true);
    }

    /// A review `mr-mid` planned between the previous and the current one,
    /// held (raising action `mid-a1`) or only scheduled.
    fn middle_review(s: &mut Script, held_too: bool) {
        use crate::ids::ActionId;
        use crate::vocab::{Act, Open, Schedule};
        let mid = ReviewId::new("mr-mid").unwrap();
        let first = s.steps.iter().position(is_current).unwrap();
        let m = |h: &str| MemberId::new(h).unwrap();
        let steps = vec![
            story::step(
                "isms",
                Payload::Schedule(story::content(
                    &mid,
                    Schedule {
                        title: "Interim ISMS review".into(),
                        planned: held().plus_days(-120),
                        period_start: held().plus_days(-357),
                        period_end: held().plus_days(-121),
                        chair: m("ceo"),
                        expected: vec![m("ceo"), m("ops"), m("isms")],
                        previous: Some(story::previous_id()),
                        part_of: None,
                    },
                )),
            ),
            story::step(
                "isms",
                Payload::Open(story::content(
                    &mid,
                    Open {
                        held: held().plus_days(-120),
                        chair: m("ceo"),
                        present: vec![m("ceo"), m("ops"), m("isms")],
                        apologies: vec![],
                    },
                )),
            ),
            story::step(
                "isms",
                Payload::Act(story::content(
                    &mid,
                    Act {
                        action: ActionId::new("mid-a1").unwrap(),
                        owner: m("isms"),
                        due: held().plus_days(60),
                        text: "Review supplier security clauses before renewals.".into(),
                        decision: None,
                    },
                )),
            ),
        ];
        let n = if held_too { steps.len() } else { 1 };
        s.steps.splice(first..first, steps.into_iter().take(n));
    }

    #[test]
    fn review_interval() {
        // 2025-11-25 to 2026-11-26 is a day over twelve months.
        let report = check_rule(INTERVAL, previous_held(366), true);
        assert!(report.findings[0].message.contains("more than 12 months"));
        check_rule(INTERVAL, previous_held(430), true);
        check_rule(INTERVAL, previous_held(365), false);
        // Scheduled, not held, and the interval has run out by the day of the check.
        let scheduled_only = |today: Date| {
            move |s: &mut Script| {
                let first = s.steps.iter().position(is_current).unwrap();
                s.steps.truncate(first + 1);
                s.today = today;
            }
        };
        check_rule(INTERVAL, scheduled_only(held().plus_days(30)), true);
        check_rule(INTERVAL, scheduled_only(held()), false);
        check_rule(INTERVAL, clean, false);
        // Periods covered follow on from the previous review's, which ended
        // the day before its meeting.
        let prev_end = held().plus_days(-358);
        for (start, gap) in [
            (prev_end, "overlaps"),
            (prev_end.plus_days(2), "leaves a gap"),
        ] {
            let report = check_rule(INTERVAL, |s| period_starts(s, start), true);
            assert_eq!(severities(&report, INTERVAL), [Severity::Warning]);
            assert!(
                report.findings[0].message.contains(gap),
                "{:?}",
                report.findings
            );
        }
        // A review held in between but skipped by `schedule.previous`: the
        // interval runs from it, and what it left open is reported here.
        let report = check_rule(INTERVAL, middle_review_skipped, true);
        let interval: Vec<_> = report
            .of_rule(INTERVAL)
            .map(|f| (f.severity, f.message.clone()))
            .collect();
        assert_eq!(interval.len(), 2, "{interval:?}");
        assert!(
            interval[0].1.contains("mr-mid was held since"),
            "{interval:?}"
        );
        assert!(interval[1].1.contains("mr-mid"), "{interval:?}");
        assert!(
            report
                .of_rule(PREVIOUS_ACTIONS)
                .any(|f| f.severity == Severity::Nonconformity && f.message.contains("mid-a1")),
            "{:?}",
            report.findings
        );
        // A review scheduled in between and never held does not reset the
        // interval: it still runs from the last review held.
        let report = check_rule(
            INTERVAL,
            |s| {
                previous_held(400)(s);
                middle_review(s, false);
                s.edit(|p| match p {
                    Payload::Schedule(c) if c.review == current_id() => {
                        c.body.previous = Some(ReviewId::new("mr-mid").unwrap());
                        true
                    }
                    _ => false,
                });
            },
            true,
        );
        let interval: Vec<_> = report
            .of_rule(INTERVAL)
            .map(|f| (f.severity, f.message.clone()))
            .collect();
        assert!(
            interval
                .iter()
                .any(|(sev, m)| *sev == Severity::Nonconformity
                    && m.contains("more than 12 months after the previous review mr-prev")),
            "{interval:?}"
        );
    }

    fn circulate(s: &mut Script, circulated: Date) {
        s.edit(|p| match p {
            Payload::Circulate(c) => {
                c.body.circulated = circulated;
                true
            }
            _ => false,
        })
    }

    #[test]
    fn agenda_pack_lead_time() {
        let report = check_rule(PACK, |s| circulate(s, held().working_days_before(4)), true);
        assert_eq!(severities(&report, PACK), [Severity::Warning]);
        assert!(report.findings[0].message.contains("4 working days before"));
        check_rule(PACK, |s| circulate(s, held().plus_days(1)), true);
        check_rule(
            PACK,
            |s| s.drop(|p| matches!(p, Payload::Circulate(_))),
            true,
        );
        check_rule(PACK, |s| circulate(s, held().working_days_before(5)), false);
        check_rule(PACK, clean, false);
        // Recorded by the ledger after the meeting: the date is only declared.
        let report = check_rule(
            PACK,
            |s| {
                let at = s
                    .steps
                    .iter()
                    .position(|st| matches!(st, Step::Append { payload: Payload::Circulate(c), .. } if c.review == current_id()))
                    .expect("the story circulates a pack");
                s.steps.swap(at, at + 1);
                s.clocks.push((at + 1, held().plus_days(1)));
            },
            true,
        );
        assert_eq!(severities(&report, PACK), [Severity::Observation]);
        assert!(report.findings[0].message.contains("only declared"));
    }

    fn summary(s: &mut Script, text: &'static str) {
        s.input(InputKey::Risk, |i| i.summary = text.into());
    }

    #[test]
    fn thin_minutes() {
        for boilerplate in [
            "Discussed and noted.",
            "Reviewed and found satisfactory",
            "Noted",
            "No issues.",
        ] {
            let report = check_rule(THIN, |s| summary(s, boilerplate), true);
            assert!(
                report.findings[0].message.contains("boilerplate"),
                "{boilerplate}"
            );
            assert!(report.passed());
        }
        let report = check_rule(
            THIN,
            |s| {
                summary(
                    s,
                    "Risk register reviewed; two treatments complete, one delayed to next quarter.",
                )
            },
            true,
        );
        assert!(
            report.findings[0]
                .message
                .contains("11 words, under the policy's 15")
        );
        check_rule(
            THIN,
            |s| {
                s.input(InputKey::Risk, |i| {
                    i.summary = "No issues.".into();
                    i.nothing_to_report = true;
                })
            },
            false,
        );
        check_rule(THIN, |s| summary(s, RESTATED), false);
        check_rule(THIN, clean, false);
    }

    /// Records the current meeting's times, before its close.
    fn times(s: &mut Script, review: &str, started: &str, ended: &str) {
        use crate::ids::TimeOfDay;
        use crate::vocab::MeetingTimes;
        let review = ReviewId::new(review).unwrap();
        let at = s
            .steps
            .iter()
            .position(|st| matches!(st, Step::Append { payload: Payload::Close(c), .. } if c.review == review))
            .or_else(|| {
                s.steps.iter().rposition(
                    |st| matches!(st, Step::Append { payload, .. } if payload.review() == Some(&review)),
                ).map(|i| i + 1)
            })
            .expect("the review has events");
        s.steps.insert(
            at,
            story::step(
                "isms",
                Payload::MeetingTimes(story::content(
                    &review,
                    MeetingTimes {
                        started: TimeOfDay::parse("started", started).unwrap(),
                        ended: TimeOfDay::parse("ended", ended).unwrap(),
                    },
                )),
            ),
        );
    }

    #[test]
    fn meeting_length() {
        check_rule(LENGTH, |s| times(s, "mr-current", "10:00", "11:30"), false);
        check_rule(LENGTH, |s| times(s, "mr-current", "10:00", "14:00"), false);
        let report = check_rule(LENGTH, |s| times(s, "mr-current", "09:00", "14:30"), true);
        assert_eq!(severities(&report, LENGTH), [Severity::Observation]);
        assert!(
            report.findings[0].message.contains("5 h 30 min"),
            "{:?}",
            report.findings
        );
        // The last three reviews all ran long.
        let report = check_rule(
            LENGTH,
            |s| {
                middle_review_skipped(s);
                times(s, "mr-prev", "09:00", "13:05");
                times(s, "mr-mid", "09:00", "13:30");
                times(s, "mr-current", "09:00", "14:30");
            },
            true,
        );
        assert_eq!(
            severities(&report, LENGTH),
            [Severity::Observation, Severity::Warning]
        );
        // One of them did not.
        let report = check_rule(
            LENGTH,
            |s| {
                middle_review_skipped(s);
                times(s, "mr-prev", "09:00", "11:00");
                times(s, "mr-mid", "09:00", "13:30");
                times(s, "mr-current", "09:00", "14:30");
            },
            true,
        );
        assert_eq!(severities(&report, LENGTH), [Severity::Observation]);
        check_rule(LENGTH, clean, false);
    }

    #[test]
    fn minutes_that_say_something() {
        // (rule, edit, severity expected of that rule, words the finding names).
        type Case = (
            &'static str,
            fn(&mut Script),
            Option<Severity>,
            &'static str,
        );
        let long_boilerplate: fn(&mut Script) = |s| {
            summary(
                s,
                "Discussed and noted. Reviewed and agreed by all present; no issues raised, no concerns, as per report.",
            )
        };
        let pasted: fn(&mut Script) = |s| {
            for key in [InputKey::Risk, InputKey::Monitoring] {
                s.input(key, |i| i.summary = RESTATED.into());
            }
        };
        let cases: Vec<Case> = vec![
            (
                THIN,
                long_boilerplate,
                Some(Severity::Warning),
                "mostly boilerplate",
            ),
            (THIN, pasted, Some(Severity::Warning), "same summary"),
            (
                INPUTS,
                |s| summary(s, "TBD"),
                Some(Severity::Nonconformity),
                "placeholder",
            ),
            (
                INPUTS,
                |s| summary(s, " n/a. "),
                Some(Severity::Nonconformity),
                "placeholder",
            ),
            (
                INPUTS,
                |s| {
                    s.input(InputKey::PreviousActions, |i| {
                        i.summary = "Nothing to report on earlier actions.".into();
                        i.nothing_to_report = true;
                    })
                },
                Some(Severity::Nonconformity),
                "were open at the meeting",
            ),
            (
                INPUTS,
                |s| {
                    s.input(InputKey::Objectives, |i| {
                        i.summary = "Nothing to report on objectives.".into();
                        i.nothing_to_report = true;
                    })
                },
                Some(Severity::Nonconformity),
                "set 2 objectives",
            ),
            (
                INPUTS,
                |s| {
                    s.input(InputKey::Risk, |i| {
                        i.summary = "Nothing to report: no risk changed this period.".into();
                        i.nothing_to_report = true;
                    })
                },
                None,
                "",
            ),
            (
                RESOURCES,
                |s| {
                    s.edit(|p| match p {
                        Payload::Decide(d) if d.body.kind == DecisionKind::Resources => {
                            d.body.text = "TBC".into();
                            true
                        }
                        _ => false,
                    })
                },
                Some(Severity::Warning),
                "placeholder",
            ),
            (
                OBJECTIVES,
                |s| {
                    s.edit(|p| match p {
                        Payload::Objective(o) if o.body.objective.as_str() == "obj-access" => {
                            o.body.measure = "TBD".into();
                            true
                        }
                        _ => false,
                    })
                },
                Some(Severity::Nonconformity),
                "has no measure",
            ),
            (
                OBJECTIVES,
                |s| {
                    s.edit(|p| match p {
                        Payload::Assess(a) if a.body.objective.as_str() == "obj-patch" => {
                            a.body.why = "-".into();
                            true
                        }
                        _ => false,
                    })
                },
                Some(Severity::Nonconformity),
                "gives no reason",
            ),
        ];
        for (i, (rule, edit, severity, names)) in cases.into_iter().enumerate() {
            let report = check_rule(rule, edit, severity.is_some());
            let found: Vec<_> = report.of_rule(rule).collect();
            if let Some(sev) = severity {
                assert!(
                    found
                        .iter()
                        .any(|f| f.severity == sev && f.message.contains(names)),
                    "case {i}: {found:#?}"
                );
            }
        }
    }

    #[test]
    fn next_review_scheduled() {
        let report = check_rule(
            NEXT,
            |s| {
                s.drop(|p| matches!(p, Payload::Close(_)));
                s.unsign("ceo");
                s.unsign("ops");
            },
            true,
        );
        assert_eq!(severities(&report, NEXT), [Severity::Nonconformity]);
        let report = check_rule(
            NEXT,
            |s| {
                s.edit(|p| match p {
                    Payload::Close(c) => {
                        c.body.next_review = held().plus_months(14);
                        true
                    }
                    _ => false,
                })
            },
            true,
        );
        assert_eq!(severities(&report, NEXT), [Severity::Warning]);
        check_rule(NEXT, clean, false);
    }

    #[test]
    fn unsigned_changes() {
        let report = check_rule(UNSIGNED, |s| s.then([amend()]), true);
        let f = &report.findings.iter().find(|f| f.rule == UNSIGNED).unwrap();
        assert!(
            f.message
                .contains("input risk, by isms, amendment: the risk treatment status"),
            "{}",
            f.message
        );
        // Signed again, then amended again: only the last change is unsigned.
        let report = check_rule(
            UNSIGNED,
            |s| s.then([amend(), sign("ceo"), sign("ops"), amend()]),
            true,
        );
        assert_eq!(report.of_rule(UNSIGNED).count(), 1);
        // The ISMS lead's signature is not top management's.
        check_rule(UNSIGNED, |s| s.then([amend(), sign("isms")]), true);
        check_rule(
            UNSIGNED,
            |s| s.then([amend(), sign("ceo"), sign("ops")]),
            false,
        );
        check_rule(UNSIGNED, |s| s.then([amend(), sign("ceo")]), false);
        check_rule(UNSIGNED, clean, false);
    }

    #[test]
    fn signed_promptly() {
        let report = check_rule(PROMPT, |s| s.sign_on(held().plus_days(31)), true);
        assert_eq!(
            severities(&report, PROMPT),
            [Severity::Warning, Severity::Warning]
        );
        assert!(report.passed());
        check_rule(
            PROMPT,
            |s| {
                s.unsign("ops");
                s.today = held().plus_days(31);
            },
            true,
        );
        check_rule(
            PROMPT,
            |s| {
                s.unsign("ops");
                s.today = held().plus_days(30);
            },
            false,
        );
        check_rule(PROMPT, |s| s.sign_on(held().plus_days(30)), false);
        check_rule(PROMPT, clean, false);
    }
}
