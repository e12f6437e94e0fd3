//! Reviews, actions and objectives: the rules that admit review events and
//! the projections they build.
//!
//! Refused, because it cannot be true: an event for an unknown review; an
//! owner, chair or attendee who is not an enrolled member; an owner who has
//! left (removed, or holding no active key); a date that does
//! not parse; a meeting dated after the ledger received it; a minutes
//! signature whose digest is not that of the minutes at the entry it names,
//! or by someone who did not attend, or before the meeting closed; content
//! added to signed minutes without being marked as an amendment. Accepted,
//! and left to the conformance check: whatever is merely poor.

use ledger_core::{Hash, PublicKey, Seq, SignedBy, UnixMicros};
use serde::{Deserialize, Serialize};

use crate::error::Rejection;
use crate::ids::{ActionId, Date, ObjectiveId, ReviewId};
use crate::member::{MemberId, check_text};
use crate::minutes::{Minutes, Recorded};
use crate::roster::{Member, Roster};
use crate::rules::lazy::{LazyMap, Summarised};
use crate::vocab::{
    Act, ActionState, ActionStatus, ActionUpdate, Assess, Circulate, Close, Content, Decision,
    Input, MeetingTimes, Objective, Open, Schedule, Sign,
};

/// The longest free text (a summary, a decision), in bytes.
pub const MAX_LONG_TEXT: usize = 16 * 1024;

/// One signature on a review's minutes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinutesSignature {
    /// The signer.
    pub member: MemberId,
    /// The key that signed.
    pub key: PublicKey,
    /// The signing entry.
    pub seq: Seq,
    /// When the ledger received it.
    pub received: UnixMicros,
    /// The digest signed.
    pub digest: Hash,
    /// The last entry of the minutes it covers.
    pub covers: Seq,
    /// How the signature was made (a passkey's user verification included).
    pub signed_by: SignedBy,
}

/// One event that changed a review's minutes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The entry.
    pub seq: Seq,
    /// Its author.
    pub by: MemberId,
    /// When the ledger received it.
    pub received: UnixMicros,
    /// What it changed, in a few words (e.g. `input risk`).
    pub what: String,
    /// The amendment reason, for changes after signing.
    pub amendment: Option<String>,
    /// The minutes digest after it, kept once the minutes have been signed
    /// (before that no one has signed a version it could differ from, and
    /// digesting every change would dominate a replay).
    pub digest: Option<Hash>,
}

/// Everything the ledger knows about one review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRecord {
    /// The current minutes.
    #[serde(with = "crate::rules::snapshot::minutes")]
    pub minutes: Minutes,
    /// The review before this one.
    pub previous: Option<ReviewId>,
    /// Every change to the minutes, in order.
    pub changes: Vec<Change>,
    /// Every signature, in order.
    pub signatures: Vec<MinutesSignature>,
}

impl ReviewRecord {
    /// The last entry that changed the minutes.
    pub fn content_head(&self) -> Seq {
        self.changes.last().map(|c| c.seq).unwrap_or_default()
    }

    /// When the ledger received the entry `seq` that changed the minutes.
    pub fn received(&self, seq: Seq) -> Option<UnixMicros> {
        let i = self.changes.binary_search_by_key(&seq, |c| c.seq).ok()?;
        Some(self.changes[i].received)
    }

    /// Whether anyone has signed the minutes.
    pub fn signed(&self) -> bool {
        !self.signatures.is_empty()
    }

    /// The signature the current minutes ask for: their digest and the
    /// last entry that changed them.
    pub fn sign_request(&self) -> Sign {
        Sign {
            review: self.minutes.review.clone(),
            digest: self.minutes.digest(),
            covers: self.content_head(),
        }
    }

    /// Signatures on the current minutes.
    pub fn current_signatures(&self) -> impl Iterator<Item = &MinutesSignature> {
        let head = self.content_head();
        self.signatures.iter().filter(move |s| s.covers == head)
    }
}

/// One event in an action's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionEvent {
    /// The entry.
    pub seq: Seq,
    /// When the ledger received it.
    pub received: UnixMicros,
    /// The review that recorded it, or `None` for an update between reviews.
    pub review: Option<ReviewId>,
    /// Who recorded it.
    pub by: MemberId,
    /// The status after it.
    pub status: ActionState,
    /// What was said.
    pub note: String,
}

/// An action across its whole life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// Its id.
    pub id: ActionId,
    /// The review that raised it.
    pub review: ReviewId,
    /// Its owner now.
    pub owner: MemberId,
    /// Its due date now (the revised one when overdue).
    pub due: Date,
    /// What is to be done.
    pub text: String,
    /// The decision it serves, by number.
    pub decision: Option<u16>,
    /// Where it stands.
    pub status: ActionState,
    /// Assignment and every status since.
    pub history: Vec<ActionEvent>,
}

impl ActionRecord {
    /// Whether it is past due and not completed on `date`.
    pub fn overdue_on(&self, date: Date) -> bool {
        self.status != ActionState::Completed && self.due < date
    }
}

/// An objective and its assessments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectiveRecord {
    /// The review that set it.
    pub review: ReviewId,
    /// The objective as set.
    pub objective: Objective,
    /// `(review, met, why, entry)` for each assessment.
    pub assessments: Vec<(ReviewId, bool, String, Seq)>,
}

/// What a review event changes, as its check decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReviewOp {
    /// A new review.
    Schedule {
        /// Its id.
        review: ReviewId,
        /// The plan.
        schedule: Schedule,
        /// The review before it.
        previous: Option<ReviewId>,
        /// Who scheduled it.
        by: MemberId,
    },
    /// A change to a review's minutes.
    Content {
        /// The review.
        review: ReviewId,
        /// The author.
        by: MemberId,
        /// The amendment reason.
        amendment: Option<String>,
        /// The change.
        item: Item,
    },
    /// A signature on minutes.
    Sign {
        /// The review.
        review: ReviewId,
        /// The signature.
        signature: MinutesSignature,
    },
    /// An action's progress between reviews.
    Update {
        /// The update.
        update: ActionUpdate,
        /// Its author.
        by: MemberId,
    },
}

/// A change to the minutes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// The agenda pack.
    Circulate(Circulate),
    /// The meeting.
    Open(Open),
    /// An input.
    Input(Input),
    /// An earlier action's status.
    ActionStatus(ActionStatus),
    /// A decision.
    Decision(Decision),
    /// An action.
    Act(Act),
    /// An assessment of an objective.
    Assess(Assess),
    /// A new objective.
    Objective(Objective),
    /// The close.
    Close(Close),
    /// When the meeting started and ended.
    Times(MeetingTimes),
}

impl Item {
    fn describe(&self) -> String {
        match self {
            Item::Circulate(c) => format!("agenda pack ({} documents)", c.documents.len()),
            Item::Open(o) => format!("meeting held {}", o.held),
            Item::Input(i) => format!("input {}", i.input),
            Item::ActionStatus(s) => format!("status of action {}", s.action),
            Item::Decision(d) => format!("decision ({})", d.kind.key()),
            Item::Act(a) => format!("action {}", a.action),
            Item::Assess(a) => format!("assessment of objective {}", a.objective),
            Item::Objective(o) => format!("objective {}", o.objective),
            Item::Close(c) => format!("close, next review {}", c.next_review),
            Item::Times(t) => format!("meeting times {} to {}", t.started, t.ended),
        }
    }
}

/// All reviews of a ledger, the action log and the objectives. A snapshot
/// restores each record undecoded until it is read ([`LazyMap`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reviews {
    /// Reviews by id.
    pub reviews: LazyMap<ReviewId, ReviewRecord>,
    /// Review ids in the order they were scheduled.
    pub order: Vec<ReviewId>,
    /// Every action of every review.
    pub actions: LazyMap<ActionId, ActionRecord>,
    /// Every objective of every review.
    pub objectives: LazyMap<ObjectiveId, ObjectiveRecord>,
}

/// What the rules scan across every review: when it was planned, and its
/// meeting's entry and date once held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewSummary {
    /// The planned date of the schedule.
    pub planned: Date,
    /// The meeting's entry and the date it was held.
    pub meeting: Option<(Seq, Date)>,
}

/// Where a review stands, as a listing of reviews shows it: the furthest
/// step its minutes record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewStatus {
    /// Scheduled; no pack circulated yet.
    Scheduled,
    /// Its pack circulated; not yet held.
    Circulated,
    /// Its meeting recorded; not yet closed.
    Held,
    /// Closed; no one has signed its minutes yet.
    Closed,
    /// Someone has signed its minutes (this version or an earlier one:
    /// the row's `signatures` counts those on the current version).
    Signed,
}

impl ReviewStatus {
    /// The status of `record`.
    pub fn of(record: &ReviewRecord) -> ReviewStatus {
        let m = &record.minutes;
        if record.signed() {
            ReviewStatus::Signed
        } else if m.close.is_some() {
            ReviewStatus::Closed
        } else if m.meeting.is_some() {
            ReviewStatus::Held
        } else if m.pack.is_some() {
            ReviewStatus::Circulated
        } else {
            ReviewStatus::Scheduled
        }
    }

    /// The status as listings and the service write it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Scheduled => "scheduled",
            ReviewStatus::Circulated => "circulated",
            ReviewStatus::Held => "held",
            ReviewStatus::Closed => "closed",
            ReviewStatus::Signed => "signed",
        }
    }
}

/// What a listing of every review prints of one, beside its summary's
/// dates: kept with the review's stored record, so that listing the
/// reviews of a restored ledger decodes none of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRow {
    /// The schedule's title.
    pub title: String,
    /// Where the review stands.
    pub status: ReviewStatus,
    /// How many inputs, decisions and actions its minutes record.
    pub inputs: u32,
    /// See `inputs`.
    pub decisions: u32,
    /// See `inputs`.
    pub actions: u32,
    /// How many signatures its current minutes carry.
    pub signatures: u32,
    /// Its current minutes' digest.
    pub digest: Hash,
}

/// A count for a row: records of a review are far fewer than `u32::MAX`.
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Summarised for ReviewRecord {
    type Summary = ReviewSummary;
    type Row = ReviewRow;
    fn summary(&self) -> ReviewSummary {
        ReviewSummary {
            planned: self.minutes.schedule.item.planned,
            meeting: self.minutes.meeting.as_ref().map(|m| (m.seq, m.item.held)),
        }
    }
    fn row(&self) -> ReviewRow {
        let m = &self.minutes;
        ReviewRow {
            title: m.schedule.item.title.clone(),
            status: ReviewStatus::of(self),
            inputs: count(m.inputs.len()),
            decisions: count(m.decisions.len()),
            actions: count(m.actions.len()),
            signatures: count(self.current_signatures().count()),
            digest: m.digest(),
        }
    }
}

impl Summarised for ActionRecord {
    type Summary = ();
    type Row = ();
    fn summary(&self) {}
    fn row(&self) {}
}

impl Summarised for ObjectiveRecord {
    type Summary = ();
    type Row = ();
    fn summary(&self) {}
    fn row(&self) {}
}

fn field(field: &str, reason: impl Into<String>) -> Rejection {
    Rejection::Field {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

fn malformed(field: &str, reason: impl Into<String>) -> Rejection {
    Rejection::Malformed {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

fn check_long(name: &str, text: &str) -> Result<(), Rejection> {
    if text.trim().is_empty() {
        return Err(malformed(name, "must not be empty"));
    }
    if text.len() > MAX_LONG_TEXT {
        return Err(malformed(
            name,
            format!("{} bytes is over the limit of {MAX_LONG_TEXT}", text.len()),
        ));
    }
    Ok(())
}

/// An enrolled, not removed member, or why not.
fn enrolled<'r>(
    roster: &'r Roster,
    name: &str,
    handle: &MemberId,
) -> Result<&'r Member, Rejection> {
    match roster.members.get(handle) {
        Some(m) if !m.removed => Ok(m),
        _ => Err(field(name, format!("{handle} is not an enrolled member"))),
    }
}

/// A member who can own an action or objective: enrolled, not removed, and
/// holding an active key (a member whose key was revoked with no
/// replacement has left, and could never report on it).
fn able<'r>(roster: &'r Roster, name: &str, handle: &MemberId) -> Result<&'r Member, Rejection> {
    let m = enrolled(roster, name, handle)?;
    if m.keys.is_empty() {
        return Err(field(
            name,
            format!("{handle} holds no active key (revoked with no replacement) and cannot own it"),
        ));
    }
    Ok(m)
}

impl Reviews {
    /// The next free action id of `review`, `<review>-a<n>`, counting its
    /// actions so far.
    pub fn next_action_id(&self, review: &ReviewId) -> Result<ActionId, Rejection> {
        // Its minutes list every action it raised (an action id belongs to
        // the one review that raised it).
        let mut n = self
            .reviews
            .get(review)
            .map_or(0, |r| r.minutes.actions.len())
            + 1;
        loop {
            let id = ActionId::new(format!("{review}-a{n}"))?;
            if !self.actions.contains_key(&id) {
                return Ok(id);
            }
            n += 1;
        }
    }

    /// The review `id`, or a refusal that names it.
    pub fn review(&self, id: &ReviewId) -> Result<&ReviewRecord, Rejection> {
        self.reviews
            .get(id)
            .ok_or_else(|| field("review", format!("no review {id} has been scheduled")))
    }

    /// Checks a new review.
    pub fn check_schedule(
        &self,
        roster: &Roster,
        by: &Member,
        c: &Content<Schedule>,
    ) -> Result<ReviewOp, Rejection> {
        let s = &c.body;
        if self.reviews.contains_key(&c.review) {
            return Err(field(
                "review",
                format!("review {} is already scheduled", c.review),
            ));
        }
        if c.amendment.is_some() {
            return Err(field("amendment", "a new review has nothing to amend"));
        }
        check_text("schedule.title", &s.title)?;
        if s.period_start > s.period_end {
            return Err(field(
                "schedule.period_end",
                format!(
                    "{} is before the period's start {}",
                    s.period_end, s.period_start
                ),
            ));
        }
        enrolled(roster, "schedule.chair", &s.chair)?;
        for m in &s.expected {
            enrolled(roster, "schedule.expected", m)?;
        }
        if let Some(p) = &s.part_of {
            check_text("schedule.part_of", p)?;
        }
        let previous = match &s.previous {
            Some(p) => {
                let prev = self.review(p).map_err(|_| {
                    field(
                        "schedule.previous",
                        format!("no review {p} has been scheduled"),
                    )
                })?;
                if prev.minutes.schedule.item.planned >= s.planned {
                    return Err(field(
                        "schedule.previous",
                        format!(
                            "{p} is planned for {}, not before {}",
                            prev.minutes.schedule.item.planned, s.planned
                        ),
                    ));
                }
                Some(p.clone())
            }
            None => self
                .order
                .iter()
                .rev()
                .find(|id| {
                    self.reviews
                        .summary_of(id)
                        .is_some_and(|r| r.planned < s.planned)
                })
                .cloned(),
        };
        Ok(ReviewOp::Schedule {
            review: c.review.clone(),
            schedule: s.clone(),
            previous,
            by: by.handle.clone(),
        })
    }

    /// Checks a change to a review's minutes.
    pub fn check_content(
        &self,
        roster: &Roster,
        by: &Member,
        received: UnixMicros,
        review: &ReviewId,
        amendment: &Option<String>,
        item: Item,
    ) -> Result<ReviewOp, Rejection> {
        let r = self.review(review)?;
        match (r.signed(), amendment) {
            (true, None) => {
                let first = r.signatures[0].seq;
                return Err(field(
                    "amendment",
                    format!(
                        "the minutes of {review} were signed at {first}; a change now must be marked as an amendment, with a reason"
                    ),
                ));
            }
            (false, Some(_)) => {
                return Err(field(
                    "amendment",
                    format!(
                        "the minutes of {review} are not signed yet: there is nothing to amend"
                    ),
                ));
            }
            (_, Some(reason)) => check_text("amendment", reason)?,
            _ => {}
        }
        let m = &r.minutes;
        let opened = || match &m.meeting {
            Some(meeting) => Ok(meeting),
            None => Err(field(
                "review",
                format!(
                    "the meeting of {review} has not been opened: record it with `review open` first"
                ),
            )),
        };
        match &item {
            Item::Circulate(c) => {
                for d in &c.documents {
                    check_text("document.title", &d.title)?;
                    check_text("document.location", &d.location)?;
                }
            }
            Item::Open(o) => {
                enrolled(roster, "open.chair", &o.chair)?;
                if o.present.is_empty() {
                    return Err(field("open.present", "nobody is recorded as present"));
                }
                for p in &o.present {
                    enrolled(roster, "open.present", p)?;
                }
                for p in &o.apologies {
                    enrolled(roster, "open.apologies", p)?;
                    if o.present.contains(p) {
                        return Err(field(
                            "open.apologies",
                            format!("{p} is recorded both present and absent"),
                        ));
                    }
                }
                if !o.present.contains(&o.chair) {
                    return Err(field(
                        "open.chair",
                        format!("the chair {} is not among those present", o.chair),
                    ));
                }
                if let Some(today) = Date::of_micros(received)
                    && o.held > today.plus_days(1)
                {
                    return Err(field(
                        "open.held",
                        format!(
                            "{} is after the ledger's date {today}: a meeting is recorded once held",
                            o.held
                        ),
                    ));
                }
            }
            Item::Input(i) => {
                opened()?;
                check_long("input.summary", &i.summary)?;
                for e in &i.evidence {
                    check_text("evidence.title", &e.title)?;
                    check_text("evidence.location", &e.location)?;
                }
            }
            Item::ActionStatus(s) => {
                opened()?;
                let a = self.actions.get(&s.action).ok_or_else(|| {
                    field(
                        "action",
                        format!("no action {} has been assigned", s.action),
                    )
                })?;
                if &a.review == review {
                    return Err(field(
                        "action",
                        format!(
                            "{} was raised by this review; record its progress with `action update`",
                            s.action
                        ),
                    ));
                }
                if let ActionState::Overdue { owner, .. } = &s.status {
                    able(roster, "status.owner", owner)?;
                }
            }
            Item::Decision(d) => {
                opened()?;
                check_long("decision.text", &d.text)?;
            }
            Item::Act(a) => {
                opened()?;
                check_long("action.text", &a.text)?;
                able(roster, "action.owner", &a.owner)?;
                if let Some(existing) = self.actions.get(&a.action)
                    && &existing.review != review
                {
                    return Err(field(
                        "action",
                        format!(
                            "action id {} belongs to review {}",
                            a.action, existing.review
                        ),
                    ));
                }
                if let Some(n) = a.decision
                    && (n == 0 || n as usize > m.decisions.len())
                {
                    return Err(field(
                        "action.decision",
                        format!("review {review} has no decision {n}"),
                    ));
                }
            }
            Item::Assess(a) => {
                opened()?;
                check_long("assessment.why", &a.why)?;
                let o = self.objectives.get(&a.objective).ok_or_else(|| {
                    field(
                        "objective",
                        format!("no objective {} has been set", a.objective),
                    )
                })?;
                if &o.review == review {
                    return Err(field(
                        "objective",
                        format!("{} was set by this review, not an earlier one", a.objective),
                    ));
                }
            }
            Item::Objective(o) => {
                opened()?;
                check_text("objective.text", &o.text)?;
                check_text("objective.measure", &o.measure)?;
                check_text("objective.target", &o.target)?;
                able(roster, "objective.owner", &o.owner)?;
                if let Some(existing) = self.objectives.get(&o.objective)
                    && &existing.review != review
                {
                    return Err(field(
                        "objective",
                        format!(
                            "objective id {} belongs to review {}",
                            o.objective, existing.review
                        ),
                    ));
                }
            }
            Item::Times(t) => {
                opened()?;
                if t.ended <= t.started {
                    return Err(field(
                        "times.ended",
                        format!(
                            "{} is not after the start {}: record a meeting that ends on the day it starts",
                            t.ended, t.started
                        ),
                    ));
                }
            }
            Item::Close(c) => {
                let meeting = opened()?;
                if c.next_review <= meeting.item.held {
                    return Err(field(
                        "close.next_review",
                        format!(
                            "{} is not after the meeting on {}",
                            c.next_review, meeting.item.held
                        ),
                    ));
                }
            }
        }
        Ok(ReviewOp::Content {
            review: review.clone(),
            by: by.handle.clone(),
            amendment: amendment.clone(),
            item,
        })
    }

    /// Checks a signature on minutes by `by`, made with `key` as
    /// `signed_by` says, offered as entry `seq`.
    pub fn check_sign(
        &self,
        roster: &Roster,
        by: &Member,
        (key, signed_by): (&PublicKey, SignedBy),
        (seq, received): (Seq, UnixMicros),
        s: &Sign,
    ) -> Result<ReviewOp, Rejection> {
        let r = self.review(&s.review)?;
        let m = &r.minutes;
        if m.close.is_none() {
            return Err(field(
                "review",
                format!(
                    "the meeting of {} is not closed: minutes are signed once complete",
                    s.review
                ),
            ));
        }
        if !m.attended(&by.handle) {
            return Err(field(
                "signer",
                format!(
                    "{} did not attend review {} and cannot sign its minutes",
                    by.handle, s.review
                ),
            ));
        }
        let head = r.content_head();
        if s.covers != head {
            return Err(field(
                "covers",
                format!(
                    "the minutes of {} last changed at {head}, not {}: fetch them again and re-check before signing",
                    s.review, s.covers
                ),
            ));
        }
        let digest = m.digest();
        if s.digest != digest {
            return Err(field(
                "digest",
                format!(
                    "{} is not the digest of the minutes of {} at {head} ({digest})",
                    s.digest, s.review
                ),
            ));
        }
        // A member signs the same minutes once; again only if their earlier
        // signature did not meet the key policy in force when it was made
        // (the test `audit::counts` makes).
        if r.current_signatures().any(|x| {
            x.member == by.handle
                && roster
                    .as_at(x.seq)
                    .minutes_key_policy_unmet(&x.key, x.signed_by)
                    .is_none()
        }) {
            return Err(field(
                "signer",
                format!("{} has already signed these minutes", by.handle),
            ));
        }
        Ok(ReviewOp::Sign {
            review: s.review.clone(),
            signature: MinutesSignature {
                member: by.handle.clone(),
                key: *key,
                seq,
                received,
                digest,
                covers: s.covers,
                signed_by,
            },
        })
    }

    /// Checks an action update between reviews.
    pub fn check_update(
        &self,
        roster: &Roster,
        by: &Member,
        u: &ActionUpdate,
    ) -> Result<ReviewOp, Rejection> {
        if !self.actions.contains_key(&u.action) {
            return Err(field(
                "action",
                format!("no action {} has been assigned", u.action),
            ));
        }
        check_long("update.note", &u.note)?;
        if let ActionState::Overdue { owner, .. } = &u.status {
            able(roster, "update.owner", owner)?;
        }
        Ok(ReviewOp::Update {
            update: u.clone(),
            by: by.handle.clone(),
        })
    }

    /// Applies what a check decided, for the event stored at `seq`.
    pub fn apply(&mut self, seq: Seq, received: UnixMicros, op: ReviewOp) {
        match op {
            ReviewOp::Schedule {
                review,
                schedule,
                previous,
                by,
            } => {
                let minutes = Minutes::new(
                    review.clone(),
                    Recorded {
                        seq,
                        by: by.clone(),
                        item: schedule,
                    },
                );
                self.order.push(review.clone());
                self.reviews.insert(
                    review,
                    ReviewRecord {
                        minutes,
                        previous,
                        changes: vec![Change {
                            seq,
                            by,
                            received,
                            what: "scheduled".into(),
                            amendment: None,
                            digest: None,
                        }],
                        signatures: Vec::new(),
                    },
                );
            }
            ReviewOp::Content {
                review,
                by,
                amendment,
                item,
            } => {
                let what = item.describe();
                self.apply_item(seq, received, &review, &by, item);
                if let Some(r) = self.reviews.get_mut(&review) {
                    let digest = r.signed().then(|| r.minutes.digest());
                    r.changes.push(Change {
                        seq,
                        by,
                        received,
                        what,
                        amendment,
                        digest,
                    });
                }
            }
            ReviewOp::Sign {
                review,
                mut signature,
            } => {
                // The entry and the ledger's time are those of the stored entry,
                // whatever the check was told.
                signature.seq = seq;
                signature.received = received;
                if let Some(r) = self.reviews.get_mut(&review) {
                    // The check proved the digest of the version it covers.
                    if let Some(c) = r
                        .changes
                        .iter_mut()
                        .rev()
                        .find(|c| c.seq == signature.covers)
                    {
                        c.digest.get_or_insert(signature.digest);
                    }
                    r.signatures.push(signature);
                }
            }
            ReviewOp::Update { update, by } => {
                if let Some(a) = self.actions.get_mut(&update.action) {
                    set_status(a, &update.status);
                    a.history.push(ActionEvent {
                        seq,
                        received,
                        review: None,
                        by,
                        status: update.status,
                        note: update.note,
                    });
                }
            }
        }
    }

    fn apply_item(
        &mut self,
        seq: Seq,
        received: UnixMicros,
        review: &ReviewId,
        by: &MemberId,
        item: Item,
    ) {
        let Some(r) = self.reviews.get_mut(review) else {
            return;
        };
        let m = &mut r.minutes;
        match item {
            Item::Circulate(c) => m.pack = Some(recorded(seq, by, c)),
            Item::Open(o) => m.meeting = Some(recorded(seq, by, o)),
            Item::Input(i) => {
                m.inputs.insert(i.input, recorded(seq, by, i));
            }
            Item::ActionStatus(s) => {
                if let Some(a) = self.actions.get_mut(&s.action) {
                    set_status(a, &s.status);
                    a.history.push(ActionEvent {
                        seq,
                        received,
                        review: Some(review.clone()),
                        by: by.clone(),
                        status: s.status.clone(),
                        note: s.note.clone(),
                    });
                }
                m.action_statuses
                    .insert(s.action.clone(), recorded(seq, by, s));
            }
            Item::Decision(d) => m.decisions.push(recorded(seq, by, d)),
            Item::Act(a) => {
                let history = ActionEvent {
                    seq,
                    received,
                    review: Some(review.clone()),
                    by: by.clone(),
                    status: ActionState::Open,
                    note: format!("assigned: {}", a.text),
                };
                let record = self
                    .actions
                    .get_or_insert_with(a.action.clone(), || ActionRecord {
                        id: a.action.clone(),
                        review: review.clone(),
                        owner: a.owner.clone(),
                        due: a.due,
                        text: a.text.clone(),
                        decision: a.decision,
                        status: ActionState::Open,
                        history: Vec::new(),
                    });
                record.owner = a.owner.clone();
                record.due = a.due;
                record.text = a.text.clone();
                record.decision = a.decision;
                record.history.push(history);
                m.actions.insert(a.action.clone(), recorded(seq, by, a));
            }
            Item::Assess(a) => {
                if let Some(o) = self.objectives.get_mut(&a.objective) {
                    o.assessments
                        .push((review.clone(), a.met, a.why.clone(), seq));
                }
                m.assessments
                    .insert(a.objective.clone(), recorded(seq, by, a));
            }
            Item::Objective(o) => {
                self.objectives.insert(
                    o.objective.clone(),
                    ObjectiveRecord {
                        review: review.clone(),
                        objective: o.clone(),
                        assessments: Vec::new(),
                    },
                );
                m.objectives
                    .insert(o.objective.clone(), recorded(seq, by, o));
            }
            Item::Close(c) => m.close = Some(recorded(seq, by, c)),
            Item::Times(t) => m.times = Some(recorded(seq, by, t)),
        }
    }
}

fn recorded<T>(seq: Seq, by: &MemberId, item: T) -> Recorded<T> {
    Recorded {
        seq,
        by: by.clone(),
        item,
    }
}

fn set_status(a: &mut ActionRecord, status: &ActionState) {
    if let ActionState::Overdue { revised_due, owner } = status {
        a.due = *revised_due;
        a.owner = owner.clone();
    }
    a.status = status.clone();
}
