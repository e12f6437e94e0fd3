//! The domain's values as the contract's typed messages (`events.proto` and
//! the projections of `review.proto`): one function per domain type, so that
//! every answer that carries a payload, minutes, an action, an objective or
//! an audit spells it the same way.

use ledger_core::{Credential, Hash};
use review::audit::{ChangeAfterSigning, QuorumCheck};
use review::minutes::Recorded;
use review::payload::{Payload, RosterChange, Rotation};
use review::policy::{KeyPolicy, Policy, Quorum, Thresholds};
use review::reviews::{ActionEvent, ActionRecord, Change, ObjectiveRecord};
use review::view::{Person, SignatureLine};
use review::vocab::{self, ActionState, Content};
use review::{Genesis, MemberRecord, Minutes, Report, ReviewAudit};

use crate::convert::rfc3339;
use crate::pb;

fn strings<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

fn hex(h: &Hash) -> String {
    h.to_hex()
}

/// The typed payload of an event.
pub fn payload(p: &Payload) -> pb::EventPayload {
    use pb::event_payload::Body;
    fn content<T>(c: &Content<T>, body: impl FnOnce(&T) -> Body) -> pb::EventPayload {
        pb::EventPayload {
            amendment: c.amendment.clone(),
            body: Some(body(&c.body)),
        }
    }
    let plain = |body| pb::EventPayload {
        amendment: None,
        body: Some(body),
    };
    match p {
        Payload::Genesis(g) => plain(Body::Genesis(genesis(g))),
        Payload::Propose(c) => plain(Body::Propose(roster_change(c))),
        Payload::Approve(id) => plain(Body::Approve(pb::Approval {
            proposal: id.to_hex(),
        })),
        Payload::Rotate(r) => plain(Body::Rotate(rotation(r))),
        Payload::Schedule(c) => content(c, |s| Body::Schedule(schedule(s))),
        Payload::Circulate(c) => content(c, |s| Body::Circulate(circulate(s))),
        Payload::Open(c) => content(c, |s| Body::Open(meeting(s))),
        Payload::Input(c) => content(c, |s| Body::Input(input(s))),
        Payload::ActionStatus(c) => content(c, |s| Body::ActionStatus(action_status(s))),
        Payload::Decide(c) => content(c, |s| Body::Decide(decision(s))),
        Payload::Act(c) => content(c, |s| Body::Act(act(s))),
        Payload::Assess(c) => content(c, |s| Body::ObjectiveAssess(assessment(s))),
        Payload::Objective(c) => content(c, |s| Body::ObjectiveSet(objective_set(s))),
        Payload::Close(c) => content(c, |s| Body::Close(close(s))),
        Payload::Sign(s) => plain(Body::Sign(pb::MinutesSign {
            review: s.review.to_string(),
            digest: hex(&s.digest),
            covers: s.covers.0,
        })),
        Payload::ActionUpdate(u) => plain(Body::ActionUpdate(pb::ActionUpdate {
            action: u.action.to_string(),
            status: Some(action_state(&u.status)),
            note: u.note.clone(),
        })),
        Payload::MeetingTimes(c) => content(c, |s| Body::MeetingTimes(meeting_times(s))),
    }
}

fn member_record(m: &MemberRecord) -> pb::MemberRecord {
    pb::MemberRecord {
        handle: m.handle.to_string(),
        name: m.name.clone(),
        role: m.role.clone(),
        top_management: m.top_management,
        key: m.key.to_hex(),
    }
}

fn quorum(q: Quorum) -> pb::Quorum {
    use pb::quorum::Kind;
    let (kind, at_least) = match q {
        Quorum::Default => (Kind::Default, 0),
        Quorum::AtLeast(n) => (Kind::AtLeast, u32::from(n)),
        Quorum::All => (Kind::All, 0),
    };
    pb::Quorum {
        kind: kind.into(),
        at_least,
        description: q.describe(),
    }
}

fn policy(p: &Policy) -> pb::Policy {
    pb::Policy {
        roster_quorum: Some(quorum(p.roster_quorum)),
        minutes_quorum: Some(quorum(p.minutes_quorum)),
        review_interval_months: p.review_interval_months.into(),
        agenda_lead_working_days: p.agenda_lead_working_days.into(),
        thin_summary_words: p.thin_summary_words.into(),
        signing_deadline_days: p.signing_deadline_days.into(),
    }
}

fn thresholds(t: &Thresholds) -> pb::Thresholds {
    pb::Thresholds {
        meeting_limit_minutes: t.meeting_limit_minutes.into(),
        long_meetings_in_a_row: t.long_meetings_in_a_row.into(),
        boilerplate_share_percent: t.boilerplate_share_percent.into(),
        boilerplate: t.boilerplate.clone(),
        placeholders: t.placeholders.clone(),
    }
}

fn key_policy(k: KeyPolicy) -> pb::KeyPolicy {
    match k {
        KeyPolicy::AnyKey => pb::KeyPolicy::AnyKey,
        KeyPolicy::VerifiedPasskeyForMinutes => pb::KeyPolicy::VerifiedPasskeyForMinutes,
        KeyPolicy::VerifiedPasskeyForTopManagement => {
            pb::KeyPolicy::VerifiedPasskeyForTopManagement
        }
    }
}

fn passkey(c: &Credential) -> pb::Passkey {
    pb::Passkey {
        rp_id: c.rp_id.clone(),
        credential_id: c.credential_id.clone(),
        algorithm: c.algorithm,
        public_key: c.public_key.clone(),
        key_id: c.key_id().to_hex(),
    }
}

fn genesis(g: &Genesis) -> pb::Genesis {
    pb::Genesis {
        organisation: g.organisation.clone(),
        founder: Some(member_record(&g.founder)),
        checkpoint_key: g.checkpoint_key.to_hex(),
        policy: Some(policy(&g.policy)),
    }
}

fn roster_change(c: &RosterChange) -> pb::RosterChange {
    use pb::roster_change::Change as C;
    let who = |handle: &review::MemberId| pb::MemberRef {
        handle: handle.to_string(),
    };
    let with_key = |handle: &review::MemberId, key: &ledger_core::PublicKey| pb::MemberKey {
        handle: handle.to_string(),
        key: key.to_hex(),
    };
    let change = match c {
        RosterChange::Enrol(m) => C::Enrol(member_record(m)),
        RosterChange::SetTopManagement {
            handle,
            top_management,
        } => C::SetTopManagement(pb::SetTopManagement {
            handle: handle.to_string(),
            top_management: *top_management,
        }),
        RosterChange::Revoke { handle } => C::Revoke(who(handle)),
        RosterChange::Rekey { handle, key } => C::Rekey(with_key(handle, key)),
        RosterChange::Remove { handle } => C::Remove(who(handle)),
        RosterChange::SetThresholds(t) => C::SetThresholds(thresholds(t)),
        RosterChange::AddKey { handle, key } => C::AddKey(with_key(handle, key)),
        RosterChange::RetireKey { handle, key } => C::RetireKey(with_key(handle, key)),
        RosterChange::AddPasskey { handle, credential } => C::AddPasskey(pb::AddPasskey {
            handle: handle.to_string(),
            credential: Some(passkey(credential)),
        }),
        RosterChange::AddDeviceKey { handle, key } => C::AddDeviceKey(with_key(handle, key)),
        RosterChange::SetKeyPolicy(k) => C::SetKeyPolicy(key_policy(*k).into()),
        RosterChange::EnrolDevice(m) => C::EnrolDevice(member_record(m)),
    };
    pb::RosterChange {
        change: Some(change),
    }
}

fn rotation(r: &Rotation) -> pb::Rotation {
    pb::Rotation {
        new_key: r.new_key.to_hex(),
        proof: r.proof.0.to_vec(),
    }
}

fn schedule(s: &vocab::Schedule) -> pb::Schedule {
    pb::Schedule {
        title: s.title.clone(),
        planned: s.planned.to_string(),
        period_start: s.period_start.to_string(),
        period_end: s.period_end.to_string(),
        chair: s.chair.to_string(),
        expected: strings(&s.expected),
        previous: s.previous.as_ref().map(ToString::to_string),
        part_of: s.part_of.clone(),
    }
}

fn circulate(c: &vocab::Circulate) -> pb::Circulate {
    pb::Circulate {
        circulated: c.circulated.to_string(),
        documents: c
            .documents
            .iter()
            .map(|d| pb::Document {
                title: d.title.clone(),
                location: d.location.clone(),
                digest: hex(&d.digest),
            })
            .collect(),
    }
}

fn meeting(o: &vocab::Open) -> pb::Meeting {
    pb::Meeting {
        held: o.held.to_string(),
        chair: o.chair.to_string(),
        present: strings(&o.present),
        apologies: strings(&o.apologies),
    }
}

fn meeting_times(t: &vocab::MeetingTimes) -> pb::MeetingTimes {
    pb::MeetingTimes {
        started: t.started.to_string(),
        ended: t.ended.to_string(),
    }
}

fn input(i: &vocab::Input) -> pb::Input {
    pb::Input {
        input: i.input.key().to_owned(),
        clause: i.input.clause().to_owned(),
        summary: i.summary.clone(),
        evidence: i
            .evidence
            .iter()
            .map(|e| pb::Evidence {
                title: e.title.clone(),
                location: e.location.clone(),
                digest: e.digest.as_ref().map(hex),
            })
            .collect(),
        nothing_to_report: i.nothing_to_report,
    }
}

/// Where an action stands.
pub fn action_state(s: &ActionState) -> pb::ActionState {
    use pb::action_state::Status;
    let (status, revised_due, confirmed_by) = match s {
        ActionState::Open => (Status::Open, String::new(), String::new()),
        ActionState::InProgress => (Status::InProgress, String::new(), String::new()),
        ActionState::Completed => (Status::Completed, String::new(), String::new()),
        ActionState::Overdue { revised_due, owner } => {
            (Status::Overdue, revised_due.to_string(), owner.to_string())
        }
    };
    pb::ActionState {
        status: status.into(),
        revised_due,
        confirmed_by,
        description: review::describe::action_state(s),
    }
}

fn action_status(a: &vocab::ActionStatus) -> pb::ActionStatus {
    pb::ActionStatus {
        action: a.action.to_string(),
        status: Some(action_state(&a.status)),
        note: a.note.clone(),
    }
}

fn decision(d: &vocab::Decision) -> pb::Decision {
    pb::Decision {
        kind: d.kind.key().to_owned(),
        text: d.text.clone(),
        inputs: d.inputs.iter().map(|k| k.key().to_owned()).collect(),
    }
}

fn act(a: &vocab::Act) -> pb::Act {
    pb::Act {
        action: a.action.to_string(),
        owner: a.owner.to_string(),
        due: a.due.to_string(),
        text: a.text.clone(),
        decision: a.decision.map(u32::from),
    }
}

fn assessment(a: &vocab::Assess) -> pb::Assessment {
    pb::Assessment {
        objective: a.objective.to_string(),
        met: a.met,
        why: a.why.clone(),
    }
}

fn objective_set(o: &vocab::Objective) -> pb::ObjectiveSet {
    pb::ObjectiveSet {
        objective: o.objective.to_string(),
        text: o.text.clone(),
        owner: o.owner.to_string(),
        measure: o.measure.clone(),
        target: o.target.clone(),
        due: o.due.to_string(),
    }
}

fn close(c: &vocab::Close) -> pb::Close {
    pb::Close {
        next_review: c.next_review.to_string(),
    }
}

fn provenance<T>(r: &Recorded<T>) -> Option<pb::Provenance> {
    Some(pb::Provenance {
        seq: r.seq.0,
        by: r.by.to_string(),
    })
}

/// The structured minutes.
pub fn minutes(m: &Minutes) -> pb::Minutes {
    macro_rules! recorded {
        ($ty:ident, $r:expr, $f:expr) => {{
            let r = $r;
            pb::$ty {
                recorded: provenance(r),
                item: Some($f(&r.item)),
            }
        }};
    }
    pb::Minutes {
        review: m.review.to_string(),
        schedule: Some(recorded!(RecordedSchedule, &m.schedule, schedule)),
        pack: m
            .pack
            .as_ref()
            .map(|r| recorded!(RecordedCirculate, r, circulate)),
        meeting: m
            .meeting
            .as_ref()
            .map(|r| recorded!(RecordedMeeting, r, meeting)),
        inputs: m
            .inputs
            .values()
            .map(|r| recorded!(RecordedInput, r, input))
            .collect(),
        action_statuses: m
            .action_statuses
            .values()
            .map(|r| recorded!(RecordedActionStatus, r, action_status))
            .collect(),
        decisions: m
            .decisions
            .iter()
            .zip(1..)
            .map(|(r, number)| pb::RecordedDecision {
                recorded: provenance(r),
                number,
                item: Some(decision(&r.item)),
            })
            .collect(),
        actions: m
            .actions
            .values()
            .map(|r| recorded!(RecordedAct, r, act))
            .collect(),
        assessments: m
            .assessments
            .values()
            .map(|r| recorded!(RecordedAssessment, r, assessment))
            .collect(),
        objectives: m
            .objectives
            .values()
            .map(|r| recorded!(RecordedObjective, r, objective_set))
            .collect(),
        close: m.close.as_ref().map(|r| recorded!(RecordedClose, r, close)),
        times: m
            .times
            .as_ref()
            .map(|r| recorded!(RecordedMeetingTimes, r, meeting_times)),
    }
}

/// One change to the minutes.
pub fn minutes_change(c: &Change) -> pb::MinutesChange {
    pb::MinutesChange {
        seq: c.seq.0,
        by: c.by.to_string(),
        received: rfc3339(c.received),
        what: c.what.clone(),
        amendment: c.amendment.clone(),
        digest: c.digest.as_ref().map(hex),
    }
}

/// One signature on the minutes, as a reader sees it.
pub fn signature(s: &SignatureLine) -> pb::MinutesSignature {
    pb::MinutesSignature {
        member: s.signer.handle.to_string(),
        name: s.signer.name.clone(),
        fingerprint: s.fingerprint.clone(),
        seq: s.seq.0,
        digest: hex(&s.digest),
        covers: s.covers.0,
        current: s.current,
        role: s.signer.role.clone(),
        top_management: s.signer.top_management,
        signed_with: s.signed_with.to_string(),
        received: rfc3339(s.received),
    }
}

fn person(p: &Person) -> pb::Person {
    pb::Person {
        handle: p.handle.to_string(),
        name: p.name.clone(),
        role: p.role.clone(),
        top_management: p.top_management,
    }
}

fn people(p: &[Person]) -> Vec<pb::Person> {
    p.iter().map(person).collect()
}

fn quorum_check(q: &QuorumCheck) -> pb::QuorumCheck {
    pb::QuorumCheck {
        policy: Some(quorum(q.policy)),
        roster_at: q.roster_at.map(|s| s.0),
        attended: people(&q.attended),
        required: u32::try_from(q.required).unwrap_or(u32::MAX),
        signed: people(&q.signed),
        missing: people(&q.missing),
        met: q.met,
    }
}

fn change_after_signing(c: &ChangeAfterSigning) -> pb::ChangeAfterSigning {
    pb::ChangeAfterSigning {
        seq: c.seq.0,
        by: Some(person(&c.by)),
        received: rfc3339(c.received),
        what: c.what.clone(),
        amendment: c.amendment.clone(),
        digest: c.digest.as_ref().map(hex),
        signed_again_at: c.signed_again_at.iter().map(|s| s.0).collect(),
        signed_again: c.signed_again,
    }
}

/// The auditor's view of one review.
pub fn audit(a: &ReviewAudit) -> pb::ReviewAudit {
    pb::ReviewAudit {
        review: a.review.to_string(),
        digest: hex(&a.digest),
        content_head: a.content_head.0,
        signatures: a.signatures.iter().map(signature).collect(),
        quorum: Some(quorum_check(&a.quorum)),
        changes_after_signing: a
            .changes_after_signing
            .iter()
            .map(change_after_signing)
            .collect(),
    }
}

/// The conformance of one review.
pub fn conformance(report: &Report) -> pb::CheckResponse {
    pb::CheckResponse {
        review: report.review.to_string(),
        as_of: report.as_of.to_string(),
        passed: report.passed(),
        findings: report
            .findings
            .iter()
            .map(|f| pb::Finding {
                rule: f.rule.to_owned(),
                severity: f.severity.label().to_owned(),
                message: f.message.clone(),
                seq: f.seq.map(|s| s.0),
            })
            .collect(),
    }
}

fn action_event(e: &ActionEvent) -> pb::ActionEvent {
    pb::ActionEvent {
        seq: e.seq.0,
        received: rfc3339(e.received),
        review: e.review.as_ref().map(ToString::to_string),
        by: e.by.to_string(),
        status: Some(action_state(&e.status)),
        note: e.note.clone(),
    }
}

/// An action across its life; `owner_name` and `overdue` come from the
/// roster and the date the caller judges by.
#[allow(deprecated)] // fills `record_json` for the clients that still read it
pub fn action(a: &ActionRecord, owner_name: String, overdue: bool) -> pb::Action {
    pb::Action {
        id: a.id.to_string(),
        review: a.review.to_string(),
        owner: a.owner.to_string(),
        owner_name,
        due: a.due.to_string(),
        status: review::describe::action_state(&a.status),
        overdue,
        text: a.text.clone(),
        record_json: json_text(a),
        decision: a.decision.map(u32::from),
        state: Some(action_state(&a.status)),
        history: a.history.iter().map(action_event).collect(),
    }
}

/// An objective and its assessments.
#[allow(deprecated)] // fills `record_json` for the clients that still read it
pub fn objective(id: &review::ObjectiveId, o: &ObjectiveRecord) -> pb::Objective {
    pb::Objective {
        id: id.to_string(),
        review: o.review.to_string(),
        text: o.objective.text.clone(),
        owner: o.objective.owner.to_string(),
        due: o.objective.due.to_string(),
        record_json: json_text(o),
        measure: o.objective.measure.clone(),
        target: o.objective.target.clone(),
        assessments: o
            .assessments
            .iter()
            .map(|(review, met, why, seq)| pb::ObjectiveAssessment {
                review: review.to_string(),
                met: *met,
                why: why.clone(),
                seq: seq.0,
            })
            .collect(),
    }
}

/// A value as JSON text, for the deprecated `*_json` fields.
pub fn json_text(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
