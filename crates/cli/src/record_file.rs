//! A whole review as one TOML file, as the ISMS lead writes it after the
//! meeting: `review record --from FILE` appends it, and `minutes show
//! --format toml` writes a recorded review in the same shape, so the next
//! one can be drafted from it. The schema is in `docs/RECORD.md`, with an
//! example in `docs/review-example.toml`.
//!
//! Recording checks the whole file before anything is appended: the TOML,
//! every field (with the CLI's own parsers), then every event against the
//! ledger's rules in order, on a copy of the state. Every problem is named
//! with its line. Each event then gets an id derived from the ledger, the
//! review and its content, so a second run after a failure appends only
//! what is missing.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ledger_core::{Admission, EventId, Hash, KeyPair, Seq, SignedBy};
use review::ids::TimeOfDay;
use review::vocab::{
    Act, ActionState, ActionStatus, Assess, Circulate, Close, Content, Decision, DecisionKind,
    Input, MeetingTimes, Objective, Open, Schedule,
};
use review::{ActionId, Date, InputKey, LedgerState, MemberId, ObjectiveId, Payload, ReviewId};
use serde::{Deserialize, Serialize};

use crate::doc_ref::{self, Digest};

/// The blake3 `derive_key` context of the event ids a record file's events get.
const EVENT_ID_CONTEXT: &str = "review-ledger/v1 recorded event id";

/// The file. Field names are the file's keys.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewFile {
    /// The review's id.
    pub review: String,
    /// Its title.
    pub title: String,
    /// The planned date.
    pub planned: String,
    /// The period covered.
    pub period: Period,
    /// Who chairs.
    pub chair: String,
    /// Who is expected.
    pub expected: Vec<String>,
    /// The review before this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// The agenda pack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack: Option<Pack>,
    /// The meeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting: Option<Meeting>,
    /// The inputs considered.
    #[serde(default, rename = "input", skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<toml::Spanned<InputItem>>,
    /// The status of earlier reviews' actions.
    #[serde(
        default,
        rename = "action_status",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub action_statuses: Vec<toml::Spanned<StatusItem>>,
    /// Decisions, numbered from 1 in this order.
    #[serde(default, rename = "decision", skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<toml::Spanned<DecisionItem>>,
    /// Actions.
    #[serde(default, rename = "action", skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<toml::Spanned<ActionItem>>,
    /// Earlier objectives assessed.
    #[serde(default, rename = "assessment", skip_serializing_if = "Vec::is_empty")]
    pub assessments: Vec<toml::Spanned<AssessmentItem>>,
    /// Objectives set for the next period.
    #[serde(default, rename = "objective", skip_serializing_if = "Vec::is_empty")]
    pub objectives: Vec<toml::Spanned<ObjectiveItem>>,
    /// The close.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close: Option<CloseItem>,
}

/// The period a review covers.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// Its first day.
    pub start: String,
    /// Its last day.
    pub end: String,
}

/// The agenda pack.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    /// When it went out.
    pub circulated: String,
    /// Each document as `TITLE=LOCATION=@FILE` (the file is digested, a
    /// relative path read from the record file's directory).
    pub documents: Vec<String>,
}

/// The meeting.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Meeting {
    /// The date it was held.
    pub held: String,
    /// Who chaired.
    pub chair: String,
    /// Who was there.
    pub present: Vec<String>,
    /// Who sent apologies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apologies: Vec<String>,
    /// When it started, `HH:MM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// When it ended, `HH:MM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
}

/// One input.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InputItem {
    /// Which of the ten (`risk`, `audit-results`, ...).
    pub input: String,
    /// What was presented and discussed.
    pub summary: String,
    /// Each as `TITLE=LOCATION` or `TITLE=LOCATION=@FILE`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// Nothing to report this period.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nothing_to_report: bool,
}

/// The status of an earlier action.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StatusItem {
    /// The action's id.
    pub action: String,
    /// `completed`, `in-progress`, `open` or `overdue`.
    pub status: String,
    /// What was said.
    pub note: String,
    /// For `overdue`: the revised due date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revised_due: Option<String>,
    /// For `overdue`: the owner who confirmed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// A decision.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionItem {
    /// `improvement`, `isms-change` or `resources`.
    pub kind: String,
    /// What was decided.
    pub text: String,
    /// The inputs it answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
}

/// An action.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActionItem {
    /// Its id, e.g. `2026-a1` (needed, so that a second run finds it).
    pub id: String,
    /// Who owns it.
    pub owner: String,
    /// When it is due.
    pub due: String,
    /// What is to be done.
    pub text: String,
    /// The number of the decision it serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<u16>,
}

/// An earlier objective, assessed.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentItem {
    /// The objective's id.
    pub objective: String,
    /// Whether it was met.
    pub met: bool,
    /// Why.
    pub why: String,
}

/// An objective for the next period.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveItem {
    /// Its id.
    pub id: String,
    /// What it is.
    pub text: String,
    /// Who owns it.
    pub owner: String,
    /// How it is measured.
    pub measure: String,
    /// The target.
    pub target: String,
    /// When it is due.
    pub due: String,
}

/// The close.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CloseItem {
    /// The next review's date.
    pub next_review: String,
}

/// One problem in a record file.
#[derive(Debug)]
pub struct Problem {
    /// The line (from 1) of the item at fault, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// The events a file records, each with the line it comes from.
pub struct Plan {
    /// The review.
    pub review: ReviewId,
    /// `(line, payload)` in the order they are appended.
    pub events: Vec<(usize, Payload)>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Reads and parses `path`; a TOML error names its line.
pub fn read(path: &Path) -> Result<(String, ReviewFile)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    match toml::from_str::<ReviewFile>(&text) {
        Ok(file) => Ok((text, file)),
        Err(e) => {
            let line = e.span().map(|s| line_of(&text, s.start));
            bail!(
                "{}{}: {}",
                path.display(),
                line.map(|l| format!(" line {l}")).unwrap_or_default(),
                e.message()
            )
        }
    }
}

/// Turns the file into events, with the CLI's parsers; collects every
/// problem rather than stopping at the first.
pub fn plan(text: &str, file: &ReviewFile, base: &Path) -> (Option<Plan>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut events = Vec::new();
    let line = |key: &str| {
        text.lines()
            .position(|l| l.trim_start().starts_with(key))
            .map(|i| i + 1)
    };
    let review = match ReviewId::new(file.review.as_str()) {
        Ok(r) => r,
        Err(e) => {
            problems.push(Problem {
                line: line("review"),
                message: e.to_string(),
            });
            return (None, problems);
        }
    };
    fn within<T>(review: &ReviewId, body: T) -> Content<T> {
        Content {
            review: review.clone(),
            amendment: None,
            body,
        }
    }
    let mut add = |at: Option<usize>, built: Result<Payload>| match built {
        Ok(p) => events.push((at.unwrap_or(1), p)),
        Err(e) => problems.push(Problem {
            line: at,
            message: format!("{e:#}"),
        }),
    };
    let date = |field: &str, t: &str| -> Result<Date> { Ok(Date::parse(field, t)?) };
    let member = |h: &str| -> Result<MemberId> { Ok(MemberId::new(h)?) };
    let members =
        |hs: &[String]| -> Result<Vec<MemberId>> { hs.iter().map(|h| member(h)).collect() };
    let doc = |flag: &'static str, text: &str, digest: Digest| -> Result<doc_ref::DocRef> {
        let mut d = doc_ref::parse(flag, text, digest)?;
        if let Some(f) = &d.file
            && f.is_relative()
        {
            d.file = Some(base.join(f));
        }
        Ok(d)
    };
    add(
        line("review"),
        (|| {
            Ok(Payload::Schedule(within(
                &review,
                Schedule {
                    title: file.title.clone(),
                    planned: date("planned", &file.planned)?,
                    period_start: date("period.start", &file.period.start)?,
                    period_end: date("period.end", &file.period.end)?,
                    chair: member(&file.chair)?,
                    expected: members(&file.expected)?,
                    previous: file.previous.as_deref().map(ReviewId::new).transpose()?,
                    part_of: None,
                },
            )))
        })(),
    );
    if let Some(p) = &file.pack {
        add(
            line("[pack]"),
            (|| {
                let documents = p
                    .documents
                    .iter()
                    .map(|d| doc("pack.documents", d, Digest::Required)?.document())
                    .collect::<Result<Vec<_>>>()?;
                Ok(Payload::Circulate(within(
                    &review,
                    Circulate {
                        circulated: date("pack.circulated", &p.circulated)?,
                        documents,
                    },
                )))
            })(),
        );
    }
    if let Some(m) = &file.meeting {
        let at = line("[meeting]");
        add(
            at,
            (|| {
                Ok(Payload::Open(within(
                    &review,
                    Open {
                        held: date("meeting.held", &m.held)?,
                        chair: member(&m.chair)?,
                        present: members(&m.present)?,
                        apologies: members(&m.apologies)?,
                    },
                )))
            })(),
        );
        match (&m.started, &m.ended) {
            (Some(s), Some(e)) => add(
                at,
                (|| {
                    Ok(Payload::MeetingTimes(within(
                        &review,
                        MeetingTimes {
                            started: TimeOfDay::parse("meeting.started", s)?,
                            ended: TimeOfDay::parse("meeting.ended", e)?,
                        },
                    )))
                })(),
            ),
            (None, None) => {}
            _ => add(
                at,
                Err(anyhow::anyhow!(
                    "meeting: give both started and ended, or neither"
                )),
            ),
        }
    }
    for s in &file.action_statuses {
        let at = Some(line_of(text, s.span().start));
        let s = s.get_ref();
        add(
            at,
            (|| {
                Ok(Payload::ActionStatus(within(
                    &review,
                    ActionStatus {
                        action: ActionId::new(s.action.as_str())?,
                        status: ActionState::parse(
                            &s.status,
                            s.revised_due.as_deref(),
                            s.owner.as_deref(),
                        )?,
                        note: s.note.clone(),
                    },
                )))
            })(),
        );
    }
    for i in &file.inputs {
        let at = Some(line_of(text, i.span().start));
        let i = i.get_ref();
        add(
            at,
            (|| {
                let evidence = i
                    .evidence
                    .iter()
                    .map(|e| doc("input.evidence", e, Digest::Optional)?.evidence())
                    .collect::<Result<Vec<_>>>()?;
                Ok(Payload::Input(within(
                    &review,
                    Input {
                        input: InputKey::parse(&i.input)?,
                        summary: i.summary.clone(),
                        evidence,
                        nothing_to_report: i.nothing_to_report,
                    },
                )))
            })(),
        );
    }
    for a in &file.assessments {
        let at = Some(line_of(text, a.span().start));
        let a = a.get_ref();
        add(
            at,
            (|| {
                Ok(Payload::Assess(within(
                    &review,
                    Assess {
                        objective: ObjectiveId::new(a.objective.as_str())?,
                        met: a.met,
                        why: a.why.clone(),
                    },
                )))
            })(),
        );
    }
    for d in &file.decisions {
        let at = Some(line_of(text, d.span().start));
        let d = d.get_ref();
        add(
            at,
            (|| {
                Ok(Payload::Decide(within(
                    &review,
                    Decision {
                        kind: DecisionKind::parse(&d.kind)?,
                        text: d.text.clone(),
                        inputs: d
                            .inputs
                            .iter()
                            .map(|k| InputKey::parse(k))
                            .collect::<Result<Vec<_>, _>>()?,
                    },
                )))
            })(),
        );
    }
    for a in &file.actions {
        let at = Some(line_of(text, a.span().start));
        let a = a.get_ref();
        add(
            at,
            (|| {
                Ok(Payload::Act(within(
                    &review,
                    Act {
                        action: ActionId::new(a.id.as_str())?,
                        owner: member(&a.owner)?,
                        due: date("action.due", &a.due)?,
                        text: a.text.clone(),
                        decision: a.decision,
                    },
                )))
            })(),
        );
    }
    for o in &file.objectives {
        let at = Some(line_of(text, o.span().start));
        let o = o.get_ref();
        add(
            at,
            (|| {
                Ok(Payload::Objective(within(
                    &review,
                    Objective {
                        objective: ObjectiveId::new(o.id.as_str())?,
                        text: o.text.clone(),
                        owner: member(&o.owner)?,
                        measure: o.measure.clone(),
                        target: o.target.clone(),
                        due: date("objective.due", &o.due)?,
                    },
                )))
            })(),
        );
    }
    if let Some(c) = &file.close {
        add(
            line("[close]"),
            (|| {
                Ok(Payload::Close(within(
                    &review,
                    Close {
                        next_review: date("close.next_review", &c.next_review)?,
                    },
                )))
            })(),
        );
    }
    (Some(Plan { review, events }), problems)
}

/// The id of the event carrying `payload`, the `n`th of its review's record:
/// the same file gives the same ids, run after run.
pub fn event_id(ledger: Hash, author: &KeyPair, payload: &Payload) -> EventId {
    let mut h = blake3::Hasher::new_derive_key(EVENT_ID_CONTEXT);
    h.update(&ledger.0);
    h.update(&author.public().0);
    h.update(payload.kind().as_str().as_bytes());
    h.update(&[0]);
    h.update(&payload.encode());
    let mut id = [0u8; 16];
    id.copy_from_slice(&h.finalize().as_bytes()[..16]);
    EventId(id)
}

/// Checks every event not yet in the ledger (`held` says which are) against
/// the rules, in order, on a copy of `state`; returns the problems.
pub fn dry_run(
    state: &LedgerState,
    author: &KeyPair,
    plan: &Plan,
    held: &dyn Fn(EventId) -> bool,
) -> Vec<Problem> {
    let mut state = state.clone();
    let ledger = state.roster.ledger_id.unwrap_or(Hash::ZERO);
    let now = crate::local::now();
    let mut problems = Vec::new();
    let mut repeated: Vec<(String, usize, usize)> = Vec::new();
    for (line, payload) in &plan.events {
        let id = event_id(ledger, author, payload);
        if held(id) {
            continue;
        }
        let event = review::compose(ledger, id, author, now, payload);
        let seq = Seq(state.size);
        match state.check(seq, now, &event, SignedBy::Ed25519) {
            Ok(effect) => {
                let stand_in = Hash(*blake3::hash(&event.encode()).as_bytes());
                state.apply(seq, stand_in, now, effect);
            }
            Err(e) => {
                // A refusal that only follows from an earlier one (nothing
                // scheduled, so nothing after it can be recorded) is
                // counted on the first, not listed again.
                let reason = e.to_string();
                if let Some((_, _, more)) = repeated.iter_mut().find(|(r, _, _)| *r == reason) {
                    *more += 1;
                    continue;
                }
                repeated.push((reason, problems.len(), 0));
                problems.push(Problem {
                    line: Some(*line),
                    message: format!("{}: refused: {e}", review::describe::payload(payload)),
                });
            }
        }
    }
    for (_, at, more) in repeated {
        if more > 0 {
            problems[at].message.push_str(&format!(
                " (and {more} later item(s) refused for the same reason)"
            ));
        }
    }
    problems
}

/// The file's directory, for relative `=@FILE` paths.
pub fn base_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The recorded review `id` in the file's shape: what `minutes show
/// --format toml` writes. Documents and evidence come without files (the
/// ledger keeps their digests, not their copies).
pub fn from_state(state: &LedgerState, id: &ReviewId) -> Result<ReviewFile> {
    let r = state.reviews.review(id)?;
    let m = &r.minutes;
    let s = &m.schedule.item;
    fn spanned<T>(v: T) -> toml::Spanned<T> {
        toml::Spanned::new(0..0, v)
    }
    let doc = |title: &str, location: &str| format!("{title}={location}");
    Ok(ReviewFile {
        review: id.to_string(),
        title: s.title.clone(),
        planned: s.planned.to_string(),
        period: Period {
            start: s.period_start.to_string(),
            end: s.period_end.to_string(),
        },
        chair: s.chair.to_string(),
        expected: s.expected.iter().map(ToString::to_string).collect(),
        previous: s.previous.as_ref().map(ToString::to_string),
        pack: m.pack.as_ref().map(|p| Pack {
            circulated: p.item.circulated.to_string(),
            documents: p
                .item
                .documents
                .iter()
                .map(|d| doc(&d.title, &d.location))
                .collect(),
        }),
        meeting: m.meeting.as_ref().map(|o| Meeting {
            held: o.item.held.to_string(),
            chair: o.item.chair.to_string(),
            present: o.item.present.iter().map(ToString::to_string).collect(),
            apologies: o.item.apologies.iter().map(ToString::to_string).collect(),
            started: m.times.as_ref().map(|t| t.item.started.to_string()),
            ended: m.times.as_ref().map(|t| t.item.ended.to_string()),
        }),
        inputs: m
            .inputs
            .values()
            .map(|i| {
                spanned(InputItem {
                    input: i.item.input.key().to_owned(),
                    summary: i.item.summary.clone(),
                    evidence: i
                        .item
                        .evidence
                        .iter()
                        .map(|e| doc(&e.title, &e.location))
                        .collect(),
                    nothing_to_report: i.item.nothing_to_report,
                })
            })
            .collect(),
        action_statuses: m
            .action_statuses
            .values()
            .map(|a| {
                let (revised_due, owner) = match &a.item.status {
                    ActionState::Overdue { revised_due, owner } => {
                        (Some(revised_due.to_string()), Some(owner.to_string()))
                    }
                    _ => (None, None),
                };
                spanned(StatusItem {
                    action: a.item.action.to_string(),
                    status: a.item.status.label().to_owned(),
                    note: a.item.note.clone(),
                    revised_due,
                    owner,
                })
            })
            .collect(),
        decisions: m
            .decisions
            .iter()
            .map(|d| {
                spanned(DecisionItem {
                    kind: d.item.kind.key().to_owned(),
                    text: d.item.text.clone(),
                    inputs: d.item.inputs.iter().map(|k| k.key().to_owned()).collect(),
                })
            })
            .collect(),
        actions: m
            .actions
            .values()
            .map(|a| {
                spanned(ActionItem {
                    id: a.item.action.to_string(),
                    owner: a.item.owner.to_string(),
                    due: a.item.due.to_string(),
                    text: a.item.text.clone(),
                    decision: a.item.decision,
                })
            })
            .collect(),
        assessments: m
            .assessments
            .values()
            .map(|a| {
                spanned(AssessmentItem {
                    objective: a.item.objective.to_string(),
                    met: a.item.met,
                    why: a.item.why.clone(),
                })
            })
            .collect(),
        objectives: m
            .objectives
            .values()
            .map(|o| {
                spanned(ObjectiveItem {
                    id: o.item.objective.to_string(),
                    text: o.item.text.clone(),
                    owner: o.item.owner.to_string(),
                    measure: o.item.measure.clone(),
                    target: o.item.target.clone(),
                    due: o.item.due.to_string(),
                })
            })
            .collect(),
        close: m.close.as_ref().map(|c| CloseItem {
            next_review: c.item.next_review.to_string(),
        }),
    })
}
