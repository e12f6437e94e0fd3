//! The review events `rebuild` and `check` are made of: story-like
//! management reviews, many of them.
//!
//! The organisation is `review::story`'s (its five people, the chief
//! executive and the operations director being top management), grown into
//! a group of *units*, each holding a chain of annual reviews, 364 days
//! apart, each naming the one before. Every review follows the story's
//! current review: it is scheduled, its agenda pack of six documents goes
//! out seven working days ahead, the meeting opens (four present, one
//! apology), the previous review's three actions get a status (two
//! completed, one overdue with a revised date), all ten inputs are recorded
//! with a summary and evidence, five of them as a draft that is then
//! recorded again, the previous review's two objectives are assessed, two
//! objectives are set, two decisions made, three actions assigned, the
//! meeting closes with the next review's date and both top managers sign.
//! One review in eight is then amended (an input corrected, with a reason)
//! and signed again by both. Between reviews the owners update two of the
//! new actions, and the overdue one of the review before is completed.
//!
//! That is 33 events a review (28 for a unit's first, which has no
//! previous review), 36 with an amendment, and three updates after it
//! (two after the first), so about 36 events a review in all, some 42% of
//! them input recordings.
//! Every step is admissible in order, and every review passes the
//! conformance check clean when its events are received on the meeting day.

use ledger_core::Hash;
use review::story::{PEOPLE, Step, circulation, content, step};
use review::vocab::{
    Act, ActionState, ActionStatus, ActionUpdate, Assess, Close, Decision, DecisionKind, Evidence,
    Input, Objective, Open, Schedule,
};
use review::{ActionId, Date, InputKey, MemberId, ObjectiveId, Payload, ReviewId};

/// Days between a unit's reviews.
pub const INTERVAL_DAYS: i64 = 364;

/// Events in a unit's first review and its updates: the fewest any review has.
pub const MIN_EVENTS_PER_REVIEW: u64 = 30;

/// The inputs first recorded as a draft and then recorded again.
const REDRAFTED: [InputKey; 5] = [
    InputKey::Nonconformities,
    InputKey::Monitoring,
    InputKey::AuditResults,
    InputKey::Objectives,
    InputKey::Risk,
];

/// Every how many reviews one is amended after signing.
const AMEND_EVERY: u64 = 8;

/// Review `j` of unit `unit`.
pub fn review_id(unit: usize, j: u64) -> ReviewId {
    ReviewId::new(format!("u{unit}-r{j}")).expect("generated review ids are valid")
}

fn action(unit: usize, j: u64, k: u8) -> ActionId {
    ActionId::new(format!("u{unit}-r{j}-a{k}")).expect("generated action ids are valid")
}

fn objective(unit: usize, j: u64, k: u8) -> ObjectiveId {
    ObjectiveId::new(format!("u{unit}-r{j}-o{k}")).expect("generated objective ids are valid")
}

fn m(handle: &str) -> MemberId {
    MemberId::new(handle).expect("story handles are valid")
}

/// A stand-in for the blake3 digest of a document the bench does not have:
/// a blake3 hash of its name (under the entry-hash context, since the bench
/// reaches blake3 through `ledger_core`).
fn digest(text: &str) -> Hash {
    ledger_core::hash_entry_bytes(text.as_bytes())
}

/// The date review `j` of every unit is held, the first on `first`.
pub fn held(first: Date, j: u64) -> Date {
    first.plus_days(INTERVAL_DAYS * j as i64)
}

/// The story's summary of each input, with the year it covers.
fn summary(key: InputKey, year: &str) -> String {
    let text = |what: &str| {
        format!(
            "{what} for {year} were presented by the ISMS lead with trends against the previous period, questioned by the chair, and accepted with the follow-up recorded below."
        )
    };
    match key {
        InputKey::PreviousActions => text("The status of every action from the previous review"),
        InputKey::ContextChanges => format!(
            "The new data protection regulation in two customer markets and the move of the payroll service to a cloud provider change our external and internal issues for {year}; the context register was updated."
        ),
        InputKey::InterestedPartyNeeds => format!(
            "Two enterprise customers now require annual penetration test reports and a shorter breach notification window from {year}; the requirements register records both with owners."
        ),
        InputKey::Nonconformities => {
            text("Nonconformities, corrective actions and the security incident trend")
        }
        InputKey::Monitoring => text(
            "Monitoring and measurement results, including patch latency and phishing click rates,",
        ),
        InputKey::AuditResults => {
            text("Internal audit results and the surveillance audit findings")
        }
        InputKey::Objectives => text("The fulfilment of each information security objective"),
        InputKey::InterestedPartyFeedback => format!(
            "Customer security questionnaires raised no new concerns in {year}; one supplier asked for our incident contact details, which were sent; staff survey feedback on training was positive."
        ),
        InputKey::Risk => {
            text("The risk assessment results and the status of the risk treatment plan")
        }
        InputKey::Improvement => format!(
            "Automating access reviews and consolidating logging into one platform were identified as the main opportunities for continual improvement in {year}."
        ),
    }
}

fn input(review: &ReviewId, key: InputKey, summary: String) -> Input {
    Input {
        input: key,
        summary,
        evidence: vec![Evidence {
            title: format!("{} evidence", key.title()),
            location: format!("https://docs.northwind.example/isms/{review}/{}", key.key()),
            digest: Some(digest(&format!("{review} {}", key.key()))),
        }],
        nothing_to_report: false,
    }
}

/// The meeting of unit `unit`'s review `j`, held on `held`, from its
/// scheduling to its signatures (and, one in [`AMEND_EVERY`], an amendment
/// signed again).
pub fn meeting(unit: usize, j: u64, held: Date) -> Vec<Step> {
    let r = review_id(unit, j);
    let prev = j.checked_sub(1);
    let year = held.civil().year().to_string();
    let mut steps = vec![
        step(
            "isms",
            Payload::Schedule(content(
                &r,
                Schedule {
                    title: format!("Annual ISMS management review {year}, unit {unit}"),
                    planned: held,
                    period_start: held.plus_days(-INTERVAL_DAYS),
                    period_end: held.plus_days(-1),
                    chair: m("ceo"),
                    expected: PEOPLE.iter().map(|p| m(p.0)).collect(),
                    previous: prev.map(|p| review_id(unit, p)),
                    part_of: None,
                },
            )),
        ),
        circulation(&r, held.working_days_before(7), |t| {
            digest(&format!("{r} {t}"))
        }),
        step(
            "isms",
            Payload::Open(content(
                &r,
                Open {
                    held,
                    chair: m("ceo"),
                    present: vec![m("ceo"), m("ops"), m("isms"), m("it")],
                    apologies: vec![m("hr")],
                },
            )),
        ),
    ];
    if let Some(p) = prev {
        steps.extend([
            step("isms", Payload::ActionStatus(content(&r, ActionStatus {
                action: action(unit, p, 1), status: ActionState::Completed,
                note: "Engineer in post since the spring.".into(),
            }))),
            step("isms", Payload::ActionStatus(content(&r, ActionStatus {
                action: action(unit, p, 2), status: ActionState::Completed,
                note: "All 20 production systems reviewed; the process is now quarterly.".into(),
            }))),
            step("isms", Payload::ActionStatus(content(&r, ActionStatus {
                action: action(unit, p, 3),
                status: ActionState::Overdue { revised_due: held.plus_months(3), owner: m("it") },
                note: "Vendor selection took longer than planned; the owner confirmed the revised date.".into(),
            }))),
        ]);
    }
    for key in InputKey::ALL {
        let text = match REDRAFTED.contains(&key) {
            true => format!("Draft for the meeting: {}", summary(key, &year)),
            false => summary(key, &year),
        };
        steps.push(step(
            "isms",
            Payload::Input(content(&r, input(&r, key, text))),
        ));
    }
    for key in REDRAFTED {
        let text = format!(
            "{} The chair asked for the figures behind the trend, which were added.",
            summary(key, &year)
        );
        steps.push(step(
            "isms",
            Payload::Input(content(&r, input(&r, key, text))),
        ));
    }
    if let Some(p) = prev {
        steps.extend([
            step("isms", Payload::Assess(content(&r, Assess {
                objective: objective(unit, p, 1), met: true,
                why: "The median was 5 days across the year; the target of 7 was met each quarter.".into(),
            }))),
            step("isms", Payload::Assess(content(&r, Assess {
                objective: objective(unit, p, 2), met: false,
                why: "The click rate fell from 11 to 6 percent but stayed above the 5 percent target.".into(),
            }))),
        ]);
    }
    steps.extend([
        step("isms", Payload::Objective(content(&r, Objective {
            objective: objective(unit, j, 1), text: "Patch critical vulnerabilities quickly".into(), owner: m("it"),
            measure: "Median days from vendor fix to deployment for critical CVEs".into(), target: "7 days or fewer".into(),
            due: held.plus_months(12),
        }))),
        step("isms", Payload::Objective(content(&r, Objective {
            objective: objective(unit, j, 2), text: "Reduce phishing susceptibility".into(), owner: m("hr"),
            measure: "Click rate in quarterly phishing simulations".into(), target: "Below 5 percent".into(),
            due: held.plus_months(12),
        }))),
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
        step("isms", Payload::Act(content(&r, Act {
            action: action(unit, j, 1), owner: m("isms"), due: held.plus_months(2),
            text: "Update the ISMS scope and statement of applicability for the payroll cloud service.".into(),
            decision: Some(2),
        }))),
        step("isms", Payload::Act(content(&r, Act {
            action: action(unit, j, 2), owner: m("it"), due: held.plus_months(4),
            text: "Run the quarterly access review on all production systems.".into(),
            decision: Some(1),
        }))),
        step("isms", Payload::Act(content(&r, Act {
            action: action(unit, j, 3), owner: m("it"), due: held.plus_months(9),
            text: "Consolidate security logging into one platform.".into(),
            decision: None,
        }))),
        step("isms", Payload::Close(content(&r, Close { next_review: held.plus_months(12) }))),
        Step::Sign { by: "ceo", review: r.clone() },
        Step::Sign { by: "ops", review: r.clone() },
    ]);
    if j % AMEND_EVERY == AMEND_EVERY / 2 {
        let mut amended = content(
            &r,
            input(
                &r,
                InputKey::Risk,
                format!(
                    "{} Corrected: two treatments recorded as complete were still in progress at the meeting.",
                    summary(InputKey::Risk, &year)
                ),
            ),
        );
        amended.amendment = Some("the risk treatment status was misstated in the draft".into());
        steps.extend([
            step("isms", Payload::Input(amended)),
            Step::Sign {
                by: "ceo",
                review: r.clone(),
            },
            Step::Sign {
                by: "ops",
                review: r,
            },
        ]);
    }
    steps
}

/// Unit `unit`'s review `j`, held on `held`, as [`meeting`] writes it but
/// with inputs recorded again and again before the meeting closes (each
/// time with the figures re-checked), until the review has `entries`
/// events in all: a long meeting, or one whose inputs were revised many
/// times. No fewer events than [`meeting`]'s.
pub fn long_meeting(unit: usize, j: u64, held: Date, entries: usize) -> Vec<Step> {
    let mut steps = meeting(unit, j, held);
    let extra = entries.saturating_sub(steps.len());
    // After the last input recording, before the assessments and objectives.
    let at = steps
        .iter()
        .position(|s| {
            matches!(
                s,
                Step::Append {
                    payload: Payload::Assess(_) | Payload::Objective(_),
                    ..
                }
            )
        })
        .expect("every meeting sets objectives");
    let r = review_id(unit, j);
    let year = held.civil().year().to_string();
    let revisions = (0..extra).map(|n| {
        let key = InputKey::ALL[n % InputKey::ALL.len()];
        let text = format!(
            "{} Revision {}: the figures were checked again after the discussion.",
            summary(key, &year),
            n / InputKey::ALL.len() + 1
        );
        step("isms", Payload::Input(content(&r, input(&r, key, text))))
    });
    steps.splice(at..at, revisions.collect::<Vec<_>>());
    steps
}

/// Progress between unit `unit`'s review `j` and the next: two of its
/// actions updated by their owners, and the action the review found
/// overdue completed.
pub fn between(unit: usize, j: u64) -> Vec<Step> {
    let mut steps = vec![
        step(
            "isms",
            Payload::ActionUpdate(ActionUpdate {
                action: action(unit, j, 1),
                status: ActionState::Completed,
                note: "The scope statement and the statement of applicability were updated and approved.".into(),
            }),
        ),
        step(
            "it",
            Payload::ActionUpdate(ActionUpdate {
                action: action(unit, j, 2),
                status: ActionState::InProgress,
                note: "Access reviews done for 14 of 20 production systems.".into(),
            }),
        ),
    ];
    if let Some(p) = j.checked_sub(1) {
        steps.push(step(
            "it",
            Payload::ActionUpdate(ActionUpdate {
                action: action(unit, p, 3),
                status: ActionState::Completed,
                note: "The logging platform is live and every production system sends to it."
                    .into(),
            }),
        ));
    }
    steps
}

/// One unit's steps, review after review, without end: each review's
/// meeting and then the updates between it and the next.
pub struct UnitSteps {
    unit: usize,
    first: Date,
    next_review: u64,
    queue: std::collections::VecDeque<Step>,
}

impl UnitSteps {
    /// Unit `unit`'s steps, its first review held on `first`.
    pub fn new(unit: usize, first: Date) -> UnitSteps {
        UnitSteps {
            unit,
            first,
            next_review: 0,
            queue: Default::default(),
        }
    }

    /// Reviews scheduled so far (counting one whose steps are still queued).
    pub fn reviews(&self) -> u64 {
        self.next_review
    }
}

impl Iterator for UnitSteps {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        if self.queue.is_empty() {
            let j = self.next_review;
            self.queue
                .extend(meeting(self.unit, j, held(self.first, j)));
            self.queue.extend(between(self.unit, j));
            self.next_review += 1;
        }
        self.queue.pop_front()
    }
}
