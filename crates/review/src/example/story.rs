//! The example organisation's story: a previous review with actions, their
//! progress between reviews, and a complete review run along the agenda
//! template. The `demo` command appends it with real keys; tests replay it
//! through [`crate::rehearsal`] and then break one thing at a time.

use ledger_core::Hash;

use crate::ids::{ActionId, Date, ObjectiveId, ReviewId};
use crate::inputs::InputKey;
use crate::member::MemberId;
use crate::payload::Payload;
use crate::vocab::{
    Act, ActionState, ActionStatus, ActionUpdate, Assess, Circulate, Close, Content, Decision,
    DecisionKind, Document, Evidence, Input, Objective, Open, Schedule,
};

/// A member of the example organisation: handle, name, role, top management.
pub const PEOPLE: [(&str, &str, &str, bool); 5] = [
    ("ceo", "Ada Okafor", "Chief Executive", true),
    ("ops", "Ben Marsh", "Operations Director", true),
    ("isms", "Chloe Varga", "ISMS Lead", false),
    ("it", "Dev Patel", "Head of IT", false),
    ("hr", "Erin Walsh", "Head of HR", false),
];

/// The organisation's name.
pub const ORGANISATION: &str = "Northwind Analytics Ltd";

/// One step of the story.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `by` signs and appends `payload`.
    Append {
        /// The author's handle.
        by: &'static str,
        /// The event.
        payload: Payload,
    },
    /// `by` signs the current minutes of `review`.
    Sign {
        /// The signer's handle.
        by: &'static str,
        /// The review.
        review: ReviewId,
    },
}

/// The previous review's id.
pub fn previous_id() -> ReviewId {
    ReviewId::new("mr-prev").expect("valid")
}

/// The current review's id.
pub fn current_id() -> ReviewId {
    ReviewId::new("mr-current").expect("valid")
}

fn m(h: &str) -> MemberId {
    MemberId::new(h).expect("story handles are valid")
}

fn a(id: &str) -> ActionId {
    ActionId::new(id).expect("story ids are valid")
}

fn o(id: &str) -> ObjectiveId {
    ObjectiveId::new(id).expect("story ids are valid")
}

fn digest(text: &str) -> Hash {
    Hash(*blake3::hash(text.as_bytes()).as_bytes())
}

/// `body` as an unamended event of `review`.
pub fn content<T>(review: &ReviewId, body: T) -> Content<T> {
    Content {
        review: review.clone(),
        amendment: None,
        body,
    }
}

/// `payload` appended by the member `by`.
pub fn step(by: &'static str, payload: Payload) -> Step {
    Step::Append { by, payload }
}

/// The ISMS lead circulating the agenda pack of `review` on `circulated`:
/// the six documents the guide lists, each with the digest `digest` gives
/// its title.
pub fn circulation(review: &ReviewId, circulated: Date, digest: impl Fn(&str) -> Hash) -> Step {
    let documents = [
        "Previous action log",
        "ISMS performance report and metrics",
        "Internal audit summary",
        "Risk register status",
        "Draft objectives",
        "Security incident summary",
    ]
    .iter()
    .map(|t| Document {
        title: (*t).into(),
        location: format!(
            "https://docs.northwind.example/mr/{review}/{}",
            t.to_lowercase().replace(' ', "-")
        ),
        digest: digest(t),
    })
    .collect();
    step(
        "isms",
        Payload::Circulate(content(
            review,
            Circulate {
                circulated,
                documents,
            },
        )),
    )
}

/// What the meeting said about each input, with an evidence reference.
fn input(review: &ReviewId, key: InputKey, summary: &str) -> Step {
    step(
        "isms",
        Payload::Input(content(
            review,
            Input {
                input: key,
                summary: summary.into(),
                evidence: vec![Evidence {
                    title: format!("{} evidence", key.title()),
                    location: format!("https://docs.northwind.example/isms/{}", key.key()),
                    digest: Some(digest(key.key())),
                }],
                nothing_to_report: false,
            },
        )),
    )
}

/// The meeting steps common to both reviews: schedule, pack, open.
/// Days between the previous review's meeting and the current one's.
const BETWEEN_MEETINGS: i64 = 357;

/// Scheduling, the pack and the meeting of `review`, held on `held`,
/// covering the period from `period_start` to the day before the meeting.
fn opening(
    review: &ReviewId,
    title: &str,
    held: Date,
    period_start: Date,
    previous: Option<ReviewId>,
) -> Vec<Step> {
    vec![
        step(
            "isms",
            Payload::Schedule(content(
                review,
                Schedule {
                    title: title.into(),
                    planned: held,
                    period_start,
                    period_end: held.plus_days(-1),
                    chair: m("ceo"),
                    expected: PEOPLE.iter().map(|p| m(p.0)).collect(),
                    previous,
                    part_of: None,
                },
            )),
        ),
        circulation(review, held.working_days_before(7), digest),
        step(
            "isms",
            Payload::Open(content(
                review,
                Open {
                    held,
                    chair: m("ceo"),
                    present: vec![m("ceo"), m("ops"), m("isms"), m("it")],
                    apologies: vec![m("hr")],
                },
            )),
        ),
    ]
}

/// Every input, considered with a real summary.
fn all_inputs(review: &ReviewId, year: &str) -> Vec<Step> {
    let text = |what: &str| {
        format!(
            "{what} for {year} were presented by the ISMS lead with trends against the previous period, questioned by the chair, and accepted with the follow-up recorded below."
        )
    };
    vec![
        input(
            review,
            InputKey::PreviousActions,
            &text("The status of every action from the previous review"),
        ),
        input(
            review,
            InputKey::ContextChanges,
            "The new data protection regulation in two customer markets and the move of the payroll service to a cloud provider change our external and internal issues; the context register was updated.",
        ),
        input(
            review,
            InputKey::InterestedPartyNeeds,
            "Two enterprise customers now require annual penetration test reports and a shorter breach notification window; the requirements register records both with owners.",
        ),
        input(
            review,
            InputKey::Nonconformities,
            &text("Nonconformities, corrective actions and the security incident trend"),
        ),
        input(
            review,
            InputKey::Monitoring,
            &text(
                "Monitoring and measurement results, including patch latency and phishing click rates,",
            ),
        ),
        input(
            review,
            InputKey::AuditResults,
            &text("Internal audit results and the surveillance audit findings"),
        ),
        input(
            review,
            InputKey::Objectives,
            &text("The fulfilment of each information security objective"),
        ),
        input(
            review,
            InputKey::InterestedPartyFeedback,
            "Customer security questionnaires raised no new concerns; one supplier asked for our incident contact details, which were sent; staff survey feedback on training was positive.",
        ),
        input(
            review,
            InputKey::Risk,
            &text("The risk assessment results and the status of the risk treatment plan"),
        ),
        input(
            review,
            InputKey::Improvement,
            "Automating access reviews and consolidating logging into one platform were identified as the main opportunities for continual improvement this year.",
        ),
    ]
}

/// The previous review, held about a year before `held`: three actions, two objectives.
pub fn previous_review(held: Date) -> Vec<Step> {
    let r = previous_id();
    let mut steps = opening(
        &r,
        "Annual ISMS management review (previous)",
        held,
        held.plus_days(-364),
        None,
    );
    steps.extend(all_inputs(&r, "the previous period"));
    steps.extend([
        step("isms", Payload::Decide(content(&r, Decision {
            kind: DecisionKind::Resources,
            text: "Fund a second security engineer from the next quarter; otherwise the ISMS is adequately resourced.".into(),
            inputs: vec![InputKey::Monitoring, InputKey::Risk],
        }))),
        step("isms", Payload::Decide(content(&r, Decision {
            kind: DecisionKind::ContinualImprovement,
            text: "Adopt quarterly access reviews for every production system.".into(),
            inputs: vec![InputKey::Improvement, InputKey::AuditResults],
        }))),
        step("isms", Payload::Act(content(&r, Act {
            action: a("prev-a1"), owner: m("hr"), due: held.plus_months(4),
            text: "Recruit a second security engineer.".into(), decision: Some(1),
        }))),
        step("isms", Payload::Act(content(&r, Act {
            action: a("prev-a2"), owner: m("it"), due: held.plus_months(6),
            text: "Run the first quarterly access review on all production systems.".into(), decision: Some(2),
        }))),
        step("isms", Payload::Act(content(&r, Act {
            action: a("prev-a3"), owner: m("it"), due: held.plus_months(9),
            text: "Consolidate security logging into one platform.".into(), decision: Some(2),
        }))),
        step("isms", Payload::Objective(content(&r, Objective {
            objective: o("obj-patch"), text: "Patch critical vulnerabilities quickly".into(), owner: m("it"),
            measure: "Median days from vendor fix to deployment for critical CVEs".into(), target: "7 days or fewer".into(),
            due: held.plus_months(12),
        }))),
        step("isms", Payload::Objective(content(&r, Objective {
            objective: o("obj-phish"), text: "Reduce phishing susceptibility".into(), owner: m("hr"),
            measure: "Click rate in quarterly phishing simulations".into(), target: "Below 5 percent".into(),
            due: held.plus_months(12),
        }))),
        step("isms", Payload::Close(content(&r, Close { next_review: held.plus_months(12) }))),
        Step::Sign { by: "ceo", review: r.clone() },
        Step::Sign { by: "ops", review: r },
    ]);
    steps
}

/// Progress on the previous review's actions between the two reviews.
pub fn between_reviews() -> Vec<Step> {
    vec![
        step(
            "hr",
            Payload::ActionUpdate(ActionUpdate {
                action: a("prev-a1"),
                status: ActionState::Completed,
                note: "Second security engineer started; onboarding complete.".into(),
            }),
        ),
        step(
            "it",
            Payload::ActionUpdate(ActionUpdate {
                action: a("prev-a2"),
                status: ActionState::InProgress,
                note: "Access reviews done for 14 of 20 production systems.".into(),
            }),
        ),
    ]
}

/// The current review, held on `held`, run along the nine-item agenda template.
pub fn current_review(held: Date) -> Vec<Step> {
    let r = current_id();
    // The period runs on from the previous review's, which ended the day
    // before its meeting.
    let mut steps = opening(
        &r,
        "Annual ISMS management review",
        held,
        held.plus_days(-BETWEEN_MEETINGS),
        Some(previous_id()),
    );
    // Item 2: actions from the previous review.
    steps.extend([
        step("isms", Payload::ActionStatus(content(&r, ActionStatus {
            action: a("prev-a1"), status: ActionState::Completed, note: "Engineer in post since the spring.".into(),
        }))),
        step("isms", Payload::ActionStatus(content(&r, ActionStatus {
            action: a("prev-a2"), status: ActionState::Completed, note: "All 20 production systems reviewed; process is now quarterly.".into(),
        }))),
        step("isms", Payload::ActionStatus(content(&r, ActionStatus {
            action: a("prev-a3"),
            status: ActionState::Overdue { revised_due: held.plus_months(3), owner: m("it") },
            note: "Vendor selection took longer than planned; owner confirmed the revised date.".into(),
        }))),
    ]);
    // Items 3 to 7: context, performance, risk, feedback, objectives.
    steps.extend(all_inputs(&r, "this period"));
    steps.extend([
        step("isms", Payload::Assess(content(&r, Assess {
            objective: o("obj-patch"), met: true, why: "Median was 5 days across the year; the target of 7 was met each quarter.".into(),
        }))),
        step("isms", Payload::Assess(content(&r, Assess {
            objective: o("obj-phish"), met: false, why: "Click rate fell from 11 to 6 percent but stayed above the 5 percent target.".into(),
        }))),
        step("isms", Payload::Objective(content(&r, Objective {
            objective: o("obj-phish-2"), text: "Bring phishing susceptibility below target".into(), owner: m("hr"),
            measure: "Click rate in quarterly phishing simulations".into(), target: "Below 5 percent for two quarters".into(),
            due: held.plus_months(12),
        }))),
        step("isms", Payload::Objective(content(&r, Objective {
            objective: o("obj-access"), text: "Keep access rights current".into(), owner: m("it"),
            measure: "Share of production systems with a completed quarterly access review".into(), target: "100 percent each quarter".into(),
            due: held.plus_months(12),
        }))),
        // Item 8: resources and decisions.
        step("isms", Payload::Decide(content(&r, Decision {
            kind: DecisionKind::Resources,
            text: "The ISMS is adequately resourced for the coming year; the logging platform budget is confirmed.".into(),
            inputs: vec![InputKey::Monitoring, InputKey::Risk],
        }))),
        step("isms", Payload::Decide(content(&r, Decision {
            kind: DecisionKind::IsmsChange,
            text: "Extend the ISMS scope to the new payroll cloud service and update the statement of applicability.".into(),
            inputs: vec![InputKey::ContextChanges, InputKey::InterestedPartyNeeds],
        }))),
        // Item 9: actions and close.
        step("isms", Payload::Act(content(&r, Act {
            action: a("cur-a1"), owner: m("isms"), due: held.plus_months(2),
            text: "Update the ISMS scope and statement of applicability for the payroll cloud service.".into(), decision: Some(2),
        }))),
        step("isms", Payload::Act(content(&r, Act {
            action: a("cur-a2"), owner: m("hr"), due: held.plus_months(3),
            text: "Run targeted phishing training for the two departments above the click-rate target.".into(), decision: None,
        }))),
        step("isms", Payload::Close(content(&r, Close { next_review: held.plus_months(12) }))),
        Step::Sign { by: "ceo", review: r.clone() },
        Step::Sign { by: "ops", review: r },
    ]);
    steps
}

/// The whole story for a current meeting held on `held`.
pub fn story(held: Date) -> Vec<Step> {
    let mut steps = previous_review(held.plus_days(-BETWEEN_MEETINGS));
    steps.extend(between_reviews());
    steps.extend(current_review(held));
    steps
}
