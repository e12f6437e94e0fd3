//! `review schedule|circulate|open|input|action-status|decide|act|objective|close`
//! and `action update`: what attendees record about a review.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use ledger_core::{Hash, KeyPair};
use ledger_store::keyfile;
use review::ids::TimeOfDay;
use review::vocab::{
    Act, ActionState, ActionStatus, ActionUpdate, Assess, Circulate, Close, Content, Decision,
    DecisionKind, Input, MeetingTimes, Objective, Open, Schedule,
};
use review::{ActionId, Date, InputKey, LedgerState, MemberId, ObjectiveId, Payload, ReviewId};
use serde_json::json;

use crate::Verdict;
use crate::doc_ref::{self, Digest};
use crate::hosted::Place;
use crate::local::now;
use crate::out::Out;
use crate::target::{Retry, Target};

/// Who signs, where, and whether the event amends signed minutes.
#[derive(Args)]
pub struct Author {
    #[command(flatten)]
    pub ledger: Place,
    /// The private key of the member recording this (it never leaves this machine).
    #[arg(long)]
    pub key: PathBuf,
    /// The review.
    #[arg(long)]
    pub review: String,
    /// Amend minutes already signed, for this reason.
    #[arg(long, value_name = "REASON")]
    pub amend: Option<String>,
    #[command(flatten)]
    pub retry: Retry,
}

#[derive(Subcommand)]
pub enum ReviewCommand {
    /// Plan a review: title, date, period covered, chair, expected attendees.
    Schedule {
        #[command(flatten)]
        author: Author,
        /// E.g. "Annual ISMS management review 2026".
        #[arg(long)]
        title: String,
        /// The planned meeting date (YYYY-MM-DD).
        #[arg(long)]
        planned: String,
        /// First day of the period covered.
        #[arg(long)]
        period_start: String,
        /// Last day of the period covered.
        #[arg(long)]
        period_end: String,
        /// Who will chair (a handle).
        #[arg(long)]
        chair: String,
        /// Expected attendees (handles, comma-separated).
        #[arg(long, value_delimiter = ',')]
        expected: Vec<String>,
        /// The previous review (default: the latest one planned before this).
        #[arg(long)]
        previous: Option<String>,
        /// The wider meeting this review is part of, e.g. "Board meeting, March".
        #[arg(long)]
        part_of: Option<String>,
    },
    /// Record that the agenda pack went out: each document's title, shared location and digest.
    Circulate {
        #[command(flatten)]
        author: Author,
        /// A document of the pack as "TITLE=LOCATION=@FILE" (repeat for each).
        ///
        /// TITLE is everything before the first `=`. FILE, after the last `=@`, is a local
        /// copy of what was sent: its blake3 digest is stored, its path is not. LOCATION,
        /// in between, is where the other attendees and the auditor find the document: a
        /// URL (its `=` signs need no escaping; write `@` as %40 if `=@` would occur) or a
        /// reference such as `DMS-1234` or `SharePoint: ISMS/Pack/risk.xlsx`. A path on
        /// this machine (`/…`, `~/…`, `./…`, `C:\…`, `file:`) is refused as a location.
        /// Spaces around each part are dropped.
        ///
        /// Example: --doc "Risk register=https://dms.example/doc?id=42=@risk-register.xlsx"
        #[arg(long = "doc", value_name = "TITLE=LOCATION=@FILE", required = true)]
        docs: Vec<String>,
        /// The date it was sent (default: today).
        #[arg(long)]
        date: Option<String>,
    },
    /// Record the meeting: date, chair, who was present, apologies.
    Open {
        #[command(flatten)]
        author: Author,
        /// The meeting date.
        #[arg(long)]
        held: String,
        /// Who chaired.
        #[arg(long)]
        chair: String,
        /// Who was present (handles, comma-separated).
        #[arg(long, value_delimiter = ',', required = true)]
        present: Vec<String>,
        /// Who sent apologies.
        #[arg(long, value_delimiter = ',')]
        apologies: Vec<String>,
    },
    /// Record what was considered for one required input.
    Input {
        #[command(flatten)]
        author: Author,
        /// The input: a key such as `risk` or its clause, such as `f`.
        #[arg(long)]
        input: String,
        /// What was discussed.
        #[arg(long, required_unless_present = "nothing_to_report")]
        summary: Option<String>,
        /// Evidence as "TITLE=LOCATION" or "TITLE=LOCATION=@FILE" (repeat for each).
        ///
        /// Read as `review circulate --doc` reads a document: TITLE before the first `=`,
        /// LOCATION where others find it (a URL or a reference such as `DMS-1234`; a path
        /// on this machine is refused), and optionally FILE after the last `=@`, a local
        /// copy whose blake3 digest is stored (its path is not).
        #[arg(long, value_name = "TITLE=LOCATION[=@FILE]")]
        evidence: Vec<String>,
        /// State explicitly that there is nothing to report (the summary, if given, says why).
        #[arg(long)]
        nothing_to_report: bool,
    },
    /// Record the status of an earlier review's action.
    ActionStatus {
        #[command(flatten)]
        author: Author,
        #[command(flatten)]
        status: StatusArgs,
    },
    /// Record a decision.
    Decide {
        #[command(flatten)]
        author: Author,
        /// improvement, isms-change, resources or other.
        #[arg(long, value_parser = parse_kind)]
        kind: DecisionKind,
        /// The decision.
        #[arg(long)]
        text: String,
        /// The inputs it answers (keys or clauses, comma-separated).
        #[arg(long, value_delimiter = ',')]
        inputs: Vec<String>,
    },
    /// Assign an action with an owner and a due date.
    Act {
        #[command(flatten)]
        author: Author,
        /// The action's id (default: <review>-a<n>).
        #[arg(long)]
        action: Option<String>,
        /// The owner (a handle).
        #[arg(long)]
        owner: String,
        /// The due date.
        #[arg(long)]
        due: String,
        /// What is to be done.
        #[arg(long)]
        text: String,
        /// The number of the decision it serves.
        #[arg(long)]
        decision: Option<u16>,
    },
    /// Set an objective for the next period, or `--assess` one from the last.
    Objective {
        #[command(flatten)]
        author: Author,
        /// The objective's id.
        #[arg(long)]
        objective: String,
        /// Assess last period's objective: `met` or `not-met`.
        #[arg(long, value_parser = ["met", "not-met"], conflicts_with_all = ["text", "owner", "measure", "target", "due"])]
        assess: Option<String>,
        /// Why it was met or not (with --assess).
        #[arg(long, requires = "assess")]
        why: Option<String>,
        /// What the objective is.
        #[arg(long, required_unless_present = "assess")]
        text: Option<String>,
        /// Who owns it.
        #[arg(long, required_unless_present = "assess")]
        owner: Option<String>,
        /// How it is measured.
        #[arg(long, required_unless_present = "assess")]
        measure: Option<String>,
        /// The target.
        #[arg(long, required_unless_present = "assess")]
        target: Option<String>,
        /// When it is due.
        #[arg(long, required_unless_present = "assess")]
        due: Option<String>,
    },
    /// Record when the meeting started and ended (24-hour HH:MM, on the day it was held).
    Times {
        #[command(flatten)]
        author: Author,
        /// When the meeting started, e.g. 10:00.
        #[arg(long)]
        started: String,
        /// When it ended, e.g. 11:30.
        #[arg(long)]
        ended: String,
    },
    /// Close the meeting with the date of the next review.
    Close {
        #[command(flatten)]
        author: Author,
        /// The next review's date.
        #[arg(long)]
        next_review: String,
    },
    /// Record a whole review from one TOML file (docs/RECORD.md): checks
    /// every field and every event against the rules first, naming each
    /// problem with its line, then appends what the ledger does not hold
    /// yet, each event signed with --key. Run again after a failure, it
    /// appends only what is missing.
    Record {
        #[command(flatten)]
        ledger: Place,
        /// The private key of the member recording it (it never leaves this machine).
        #[arg(long)]
        key: PathBuf,
        /// The review file.
        #[arg(long)]
        from: PathBuf,
    },
}

/// An action's status, as `review action-status` and `action update` take it.
#[derive(Args)]
pub struct StatusArgs {
    /// The action.
    #[arg(long)]
    pub action: String,
    /// completed, in-progress, open or overdue.
    #[arg(long, value_parser = ["completed", "in-progress", "open", "overdue"])]
    pub status: String,
    /// With `overdue`: the revised due date.
    #[arg(long, required_if_eq("status", "overdue"))]
    pub revised_due: Option<String>,
    /// With `overdue`: the owner who confirmed it.
    #[arg(long, required_if_eq("status", "overdue"))]
    pub owner: Option<String>,
    /// What was said.
    #[arg(long)]
    pub note: String,
}

impl StatusArgs {
    fn state(&self) -> Result<ActionState> {
        Ok(ActionState::parse(
            &self.status,
            self.revised_due.as_deref(),
            self.owner.as_deref(),
        )?)
    }
}

#[derive(Subcommand)]
pub enum ActionCommand {
    /// Record an action's progress between reviews.
    Update {
        #[command(flatten)]
        ledger: Place,
        /// The private key of the member recording this.
        #[arg(long)]
        key: PathBuf,
        #[command(flatten)]
        status: StatusArgs,
        #[command(flatten)]
        retry: Retry,
    },
}

fn parse_kind(s: &str) -> Result<DecisionKind, String> {
    DecisionKind::parse(s).map_err(|e| e.to_string())
}

fn date(flag: &str, text: &str) -> Result<Date> {
    Ok(Date::parse(flag, text)?)
}

fn member(h: &str) -> Result<MemberId> {
    Ok(MemberId::new(h)?)
}

fn members(hs: &[String]) -> Result<Vec<MemberId>> {
    hs.iter().map(|h| member(h)).collect()
}

/// Today's UTC date on this machine.
pub fn today() -> Date {
    Date::of_micros(now()).expect("the system clock is within jiff's range")
}

/// The blake3 digest of a file's bytes.
pub fn file_digest(path: &std::path::Path) -> Result<Hash> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Hash(*blake3::hash(&bytes).as_bytes()))
}

fn content<T>(a: &Author, body: T) -> Result<Content<T>> {
    Ok(Content {
        review: ReviewId::new(a.review.as_str())?,
        amendment: a.amend.clone(),
        body,
    })
}

pub fn run(cmd: ReviewCommand, out: &Out) -> Result<Verdict> {
    match cmd {
        ReviewCommand::Schedule {
            author,
            title,
            planned,
            period_start,
            period_end,
            chair,
            expected,
            previous,
            part_of,
        } => {
            let body = Schedule {
                title,
                planned: date("--planned", &planned)?,
                period_start: date("--period-start", &period_start)?,
                period_end: date("--period-end", &period_end)?,
                chair: member(&chair)?,
                expected: members(&expected)?,
                previous: previous.map(ReviewId::new).transpose()?,
                part_of,
            };
            submit(
                &author,
                |a, _| Ok(Payload::Schedule(content(a, body)?)),
                out,
            )
        }
        ReviewCommand::Circulate {
            author,
            docs,
            date: sent,
        } => {
            let documents = docs
                .iter()
                .map(|d| doc_ref::parse("--doc", d, Digest::Required)?.document())
                .collect::<Result<Vec<_>>>()?;
            let circulated = match sent {
                Some(d) => date("--date", &d)?,
                None => today(),
            };
            submit(
                &author,
                |a, _| {
                    Ok(Payload::Circulate(content(
                        a,
                        Circulate {
                            circulated,
                            documents,
                        },
                    )?))
                },
                out,
            )
        }
        ReviewCommand::Open {
            author,
            held,
            chair,
            present,
            apologies,
        } => {
            let body = Open {
                held: date("--held", &held)?,
                chair: member(&chair)?,
                present: members(&present)?,
                apologies: members(&apologies)?,
            };
            submit(&author, |a, _| Ok(Payload::Open(content(a, body)?)), out)
        }
        ReviewCommand::Input {
            author,
            input,
            summary,
            evidence,
            nothing_to_report,
        } => {
            let refs = evidence
                .iter()
                .map(|e| doc_ref::parse("--evidence", e, Digest::Optional)?.evidence())
                .collect::<Result<Vec<_>>>()?;
            let summary = match (summary, nothing_to_report) {
                (Some(s), _) => s,
                (None, _) => "Nothing to report for this input in the period covered.".into(),
            };
            let body = Input {
                input: InputKey::parse(&input)?,
                summary,
                evidence: refs,
                nothing_to_report,
            };
            submit(&author, |a, _| Ok(Payload::Input(content(a, body)?)), out)
        }
        ReviewCommand::ActionStatus { author, status } => {
            let body = ActionStatus {
                action: ActionId::new(status.action.as_str())?,
                status: status.state()?,
                note: status.note,
            };
            submit(
                &author,
                |a, _| Ok(Payload::ActionStatus(content(a, body)?)),
                out,
            )
        }
        ReviewCommand::Decide {
            author,
            kind,
            text,
            inputs,
        } => {
            let inputs = inputs
                .iter()
                .map(|i| InputKey::parse(i))
                .collect::<Result<Vec<_>, _>>()?;
            submit(
                &author,
                |a, _| {
                    Ok(Payload::Decide(content(
                        a,
                        Decision { kind, text, inputs },
                    )?))
                },
                out,
            )
        }
        ReviewCommand::Act {
            author,
            action,
            owner,
            due,
            text,
            decision,
        } => {
            let owner = member(&owner)?;
            let due = date("--due", &due)?;
            submit(
                &author,
                |a, state| {
                    let id = match &action {
                        Some(id) => ActionId::new(id.as_str())?,
                        None => state
                            .reviews
                            .next_action_id(&ReviewId::new(a.review.as_str())?)?,
                    };
                    Ok(Payload::Act(content(
                        a,
                        Act {
                            action: id,
                            owner,
                            due,
                            text,
                            decision,
                        },
                    )?))
                },
                out,
            )
        }
        ReviewCommand::Objective {
            author,
            objective,
            assess,
            why,
            text,
            owner,
            measure,
            target,
            due,
        } => {
            let objective = ObjectiveId::new(objective)?;
            let payload = match assess {
                Some(verdict) => {
                    let why = why.context("--why is required with --assess")?;
                    Payload::Assess(content(
                        &author,
                        Assess {
                            objective,
                            met: verdict == "met",
                            why,
                        },
                    )?)
                }
                None => Payload::Objective(content(
                    &author,
                    Objective {
                        objective,
                        text: text.unwrap_or_default(),
                        owner: member(owner.as_deref().unwrap_or_default())?,
                        measure: measure.unwrap_or_default(),
                        target: target.unwrap_or_default(),
                        due: date("--due", due.as_deref().unwrap_or_default())?,
                    },
                )?),
            };
            submit(&author, |_, _| Ok(payload), out)
        }
        ReviewCommand::Times {
            author,
            started,
            ended,
        } => {
            let body = MeetingTimes {
                started: TimeOfDay::parse("--started", &started)?,
                ended: TimeOfDay::parse("--ended", &ended)?,
            };
            submit(
                &author,
                |a, _| Ok(Payload::MeetingTimes(content(a, body)?)),
                out,
            )
        }
        ReviewCommand::Record { ledger, key, from } => record(&ledger, &key, &from, out),
        ReviewCommand::Close {
            author,
            next_review,
        } => {
            let body = Close {
                next_review: date("--next-review", &next_review)?,
            };
            submit(&author, |a, _| Ok(Payload::Close(content(a, body)?)), out)
        }
    }
}

/// `review record --from FILE`.
fn record(
    place: &Place,
    key: &std::path::Path,
    from: &std::path::Path,
    out: &Out,
) -> Result<Verdict> {
    use crate::record_file;
    let key = keyfile::read_private(key)?;
    let (text, file) = record_file::read(from)?;
    let (plan, mut problems) = record_file::plan(&text, &file, &record_file::base_of(from));
    let Some(mut target) = Target::open(place, &Default::default(), &key, out)? else {
        return Ok(Verdict::Ok);
    };
    let ledger_id = target.state()?.roster.ledger_id.unwrap_or(Hash::ZERO);
    let mut held = std::collections::BTreeSet::new();
    if let Some(plan) = &plan {
        for (_, payload) in &plan.events {
            let id = record_file::event_id(ledger_id, &key, payload);
            if target.holds(id)? {
                held.insert(id);
            }
        }
        if problems.is_empty() {
            let state = target.state()?;
            problems = record_file::dry_run(state, &key, plan, &|id| held.contains(&id));
        }
    }
    if !problems.is_empty() {
        let listed: Vec<String> = problems
            .iter()
            .map(|p| match p.line {
                Some(l) => format!("{} line {l}: {}", from.display(), p.message),
                None => format!("{}: {}", from.display(), p.message),
            })
            .collect();
        let e = crate::failure::Refused::by_server(format!(
            "nothing was recorded; {} problem(s):\n  {}",
            listed.len(),
            listed.join("\n  ")
        ));
        return Err(e.into());
    }
    let plan = plan.expect("a plan when there are no problems");
    let mut appended = Vec::new();
    for (_, payload) in &plan.events {
        let id = record_file::event_id(ledger_id, &key, payload);
        if held.contains(&id) {
            continue;
        }
        let r = target.append_as(id, &key, payload)?;
        appended.push(json!({
            "seq": r.receipt.seq.0,
            "event_id": id.to_hex(),
            "summary": review::describe::payload(payload),
        }));
    }
    out.emit(
        &json!({
            "review": plan.review.as_str(),
            "appended": appended,
            "already_recorded": held.len(),
        }),
        || {
            let mut s = format!(
                "review {}: {} event(s) appended, {} already in the ledger\n",
                plan.review,
                appended.len(),
                held.len()
            );
            for a in &appended {
                s.push_str(&format!(
                    "  #{} {}\n",
                    a["seq"],
                    a["summary"].as_str().unwrap_or_default()
                ));
            }
            s
        },
    );
    Ok(Verdict::Ok)
}

pub fn run_action(cmd: ActionCommand, out: &Out) -> Result<Verdict> {
    let ActionCommand::Update {
        ledger,
        key,
        status,
        retry,
    } = cmd;
    let update = ActionUpdate {
        action: ActionId::new(status.action.as_str())?,
        status: status.state()?,
        note: status.note,
    };
    let key = keyfile::read_private(&key)?;
    let Some(mut target) = Target::open(&ledger, &retry, &key, out)? else {
        return Ok(Verdict::Ok);
    };
    append(&mut target, &key, &Payload::ActionUpdate(update), out)
}

fn submit(
    a: &Author,
    build: impl FnOnce(&Author, &LedgerState) -> Result<Payload>,
    out: &Out,
) -> Result<Verdict> {
    let key = keyfile::read_private(&a.key)?;
    let Some(mut target) = Target::open(&a.ledger, &a.retry, &key, out)? else {
        return Ok(Verdict::Ok);
    };
    let payload = build(a, target.state()?)?;
    append(&mut target, &key, &payload, out)
}

/// Signs and appends `payload` with `key`, and reports the entry.
pub fn append(target: &mut Target, key: &KeyPair, payload: &Payload, out: &Out) -> Result<Verdict> {
    let receipt = target.append(key, payload)?.receipt;
    let what = review::describe::payload(payload);
    out.emit(
        &json!({
            "seq": receipt.seq.0,
            "hash": receipt.hash.to_hex(),
            "kind": payload.kind().as_str(),
            "summary": what,
            "checkpoint": receipt.checkpoint,
        }),
        || format!("appended entry {}: {what}", receipt.seq),
    );
    Ok(Verdict::Ok)
}
