//! `reviews`, `actions`, `objectives`, `agenda`, `check`: what the ISMS
//! team and auditors read, and what GRC tools import (`--format csv`; the
//! columns are in `docs/EXPORTS.md`).

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use review::render::Format;
use review::{Date, LedgerState, ReviewId, conformance};
use serde_json::{Value, json};
use service::pb;

use crate::Verdict;
use crate::cmd_review::today;
use crate::hosted::{Hosted, Place};
use crate::out::Out;

#[derive(Args)]
pub struct ReviewsArgs {
    #[command(flatten)]
    pub ledger: Place,
}

#[derive(Args)]
pub struct ActionsArgs {
    #[command(flatten)]
    pub ledger: Place,
    /// Report overdue as of this date (default: today).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Only the actions raised by this review.
    #[arg(long)]
    pub review: Option<String>,
    /// Output format (`--json` prints JSON whatever this says).
    #[arg(long, value_enum, default_value = "text")]
    pub format: TableFormat,
}

/// A table as text for people, or CSV for spreadsheets and GRC tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// Aligned text.
    Text,
    /// RFC 4180 CSV with a header row.
    Csv,
}

#[derive(Args)]
pub struct RemindArgs {
    #[command(flatten)]
    pub ledger: Place,
    /// The day to remind as of (default: today).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Also what falls due within this many days.
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u16).range(0..=366))]
    pub within: u16,
}

#[derive(Args)]
pub struct ObjectivesArgs {
    #[command(flatten)]
    pub ledger: Place,
    /// Output format (`--json` prints JSON whatever this says).
    #[arg(long, value_enum, default_value = "text")]
    pub format: TableFormat,
}

/// The CSV columns of `actions --format csv`, in order.
pub const ACTION_COLUMNS: [&str; 9] = [
    "id",
    "review",
    "owner",
    "owner_name",
    "due",
    "status",
    "overdue",
    "text",
    "decision",
];

/// The CSV columns of `objectives --format csv`, in order.
pub const OBJECTIVE_COLUMNS: [&str; 11] = [
    "id",
    "review",
    "text",
    "owner",
    "owner_name",
    "measure",
    "target",
    "due",
    "assessed_by_review",
    "met",
    "assessment",
];

/// `rows` (JSON objects) as CSV with `columns` as the header; a JSON
/// string is written as its text, anything else as its JSON, null as empty.
fn csv_of(columns: &[&str], rows: &[Value]) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(columns)?;
    for r in rows {
        w.write_record(columns.iter().map(|c| match &r[*c] {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }))?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// Text or Markdown.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TextFormat {
    /// Plain text.
    Text,
    /// Markdown.
    Markdown,
}

#[derive(Args)]
pub struct AgendaArgs {
    #[command(flatten)]
    pub ledger: Place,
    /// The review.
    #[arg(long)]
    pub review: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextFormat,
}

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub ledger: Place,
    /// The review.
    #[arg(long)]
    pub review: String,
    /// Judge as of this date (default: today).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Output format: text, or an OSCAL 1.1 assessment-results document
    /// (`--json` prints the check's own JSON).
    #[arg(long, value_enum, default_value = "text")]
    pub format: CheckFormat,
}

/// How `check` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// For people.
    Text,
    /// OSCAL 1.1 assessment-results JSON (docs/EXPORTS.md).
    Oscal,
}

fn as_of(flag: &Option<String>) -> Result<Date> {
    Ok(match flag {
        Some(d) => Date::parse("--as-of", d)?,
        None => today(),
    })
}

pub fn reviews(a: ReviewsArgs, out: &Out) -> Result<Verdict> {
    let rows: Vec<Value> = match Hosted::of(&a.ledger)? {
        Some(mut remote) => {
            let message = pb::ListReviewsRequest {
                ledger_id: remote.id_hex(),
            };
            let list =
                remote.review_call("ListReviews", message, async |c, r| c.list_reviews(r).await)?;
            list.reviews
                .into_iter()
                .map(|r| {
                    json!({
                        "id": r.id,
                        "title": r.title,
                        "planned": r.planned,
                        "held": (!r.held.is_empty()).then_some(r.held),
                        "status": r.status,
                        "inputs": r.inputs,
                        "decisions": r.decisions,
                        "actions": r.actions,
                        "signatures": r.signatures,
                        "digest": r.digest,
                    })
                })
                .collect()
        }
        None => {
            let (_, state) = crate::local::load(&a.ledger.at())?;
            review_rows(&state)
        }
    };
    out.emit(&Value::Array(rows.clone()), || {
        rows.iter()
            .map(|r| {
                format!(
                    "{:<14} {:<10} {:<11} {} inputs, {} decisions, {} actions, {} signatures  {}",
                    r["id"].as_str().unwrap_or(""),
                    r["held"].as_str().or(r["planned"].as_str()).unwrap_or(""),
                    r["status"].as_str().unwrap_or(""),
                    r["inputs"],
                    r["decisions"],
                    r["actions"],
                    r["signatures"],
                    r["title"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(Verdict::Ok)
}

/// One JSON row per review, in the order scheduled.
fn review_rows(state: &LedgerState) -> Vec<Value> {
    review::listing::reviews(&state.reviews)
        .map(|r| {
            json!({
                "id": r.id.as_str(),
                "title": r.row.title,
                "planned": r.planned.to_string(),
                "held": r.held.map(|d| d.to_string()),
                "status": r.row.status.as_str(),
                "inputs": r.row.inputs,
                "decisions": r.row.decisions,
                "actions": r.row.actions,
                "signatures": r.row.signatures,
                "digest": r.row.digest.to_hex(),
            })
        })
        .collect()
}

// `record_json` is the domain's JSON as the server computed it, printed
// unchanged so that remote and local `--json` agree.
#[allow(deprecated)]
pub fn actions(a: ActionsArgs, out: &Out) -> Result<Verdict> {
    let (date, rows): (String, Vec<Value>) = match Hosted::of(&a.ledger)? {
        Some(mut remote) => {
            let message = pb::ListActionsRequest {
                ledger_id: remote.id_hex(),
                as_of: a.as_of.clone().unwrap_or_else(|| today().to_string()),
                review: a.review.clone().unwrap_or_default(),
            };
            let list =
                remote.review_call("ListActions", message, async |c, r| c.list_actions(r).await)?;
            let rows = list
                .actions
                .into_iter()
                .map(|r| {
                    let record: Value = serde_json::from_str(&r.record_json)
                        .with_context(|| format!("action {}: record_json is not JSON", r.id))?;
                    Ok(json!({
                        "id": r.id,
                        "review": r.review,
                        "owner": r.owner,
                        "owner_name": r.owner_name,
                        "due": r.due,
                        "status": r.status,
                        "overdue": r.overdue,
                        "text": r.text,
                        "decision": record["decision"],
                        "history": record["history"],
                    }))
                })
                .collect::<Result<_>>()?;
            (list.as_of, rows)
        }
        None => {
            let (_, state) = crate::local::load(&a.ledger.at())?;
            let date = as_of(&a.as_of)?;
            let only = a.review.map(ReviewId::new).transpose()?;
            (date.to_string(), action_rows(&state, date, only.as_ref()))
        }
    };
    if a.format == TableFormat::Csv && !out.json {
        crate::out::write_raw(&csv_of(&ACTION_COLUMNS, &rows)?);
        return Ok(Verdict::Ok);
    }
    out.emit(&json!({"as_of": date, "actions": rows}), || {
        let mut s = format!("action log as of {date}\n");
        for r in &rows {
            s.push_str(&format!(
                "{:<14} {:<12} {:<18} due {}{}  {}  [{}]\n",
                r["id"].as_str().unwrap_or(""),
                r["review"].as_str().unwrap_or(""),
                r["owner_name"].as_str().unwrap_or(""),
                r["due"].as_str().unwrap_or(""),
                if r["overdue"] == true { " OVERDUE" } else { "" },
                r["text"].as_str().unwrap_or(""),
                r["status"].as_str().unwrap_or(""),
            ));
        }
        s
    });
    Ok(Verdict::Ok)
}

/// One JSON row per action, by id, judged as of `date`.
pub fn action_rows(state: &LedgerState, date: Date, only: Option<&ReviewId>) -> Vec<Value> {
    state
        .reviews
        .actions
        .values()
        .filter(|r| only.is_none_or(|o| &r.review == o))
        .map(|r| {
            let owner = state
                .roster
                .members
                .get(&r.owner)
                .map(|m| m.name.clone())
                .unwrap_or_else(|| r.owner.to_string());
            json!({
                "id": r.id.as_str(),
                "review": r.review.as_str(),
                "owner": r.owner.as_str(),
                "owner_name": owner,
                "due": r.due.to_string(),
                "status": review::describe::action_state(&r.status),
                "overdue": r.overdue_on(date),
                "text": r.text,
                "decision": r.decision,
                "history": r.history,
            })
        })
        .collect()
}

/// `remind`: what falls due (`review::reminders`); exit 1 when something is
/// overdue, so that cron can alert.
pub fn remind(a: RemindArgs, out: &Out) -> Result<Verdict> {
    let (state, _) = crate::target::read_state(&a.ledger)?;
    let date = as_of(&a.as_of)?;
    let list = review::reminders::reminders(&state, date, i64::from(a.within));
    let overdue = list
        .iter()
        .filter(|r| r.urgency == review::reminders::Urgency::Overdue)
        .count();
    out.emit(
        &json!({
            "as_of": date.to_string(),
            "within_days": a.within,
            "overdue": overdue,
            "reminders": list,
        }),
        || {
            if list.is_empty() {
                return format!("nothing falls due by {}", date.plus_days(a.within.into()));
            }
            let mut s = format!("as of {date} ({overdue} overdue):\n");
            for r in &list {
                let when = match r.urgency {
                    review::reminders::Urgency::Overdue => "OVERDUE",
                    review::reminders::Urgency::DueSoon => "due soon",
                };
                s.push_str(&format!(
                    "{when:<9} {:<11} {:<12} {}  {}\n",
                    r.kind, r.id, r.due, r.text
                ));
            }
            s
        },
    );
    Ok(if overdue > 0 {
        Verdict::Failed
    } else {
        Verdict::Ok
    })
}

/// `objectives`: every objective the reviews set, with its latest assessment.
pub fn objectives(a: ObjectivesArgs, out: &Out) -> Result<Verdict> {
    let (state, _) = crate::target::read_state(&a.ledger)?;
    let rows = objective_rows(&state);
    if a.format == TableFormat::Csv && !out.json {
        crate::out::write_raw(&csv_of(&OBJECTIVE_COLUMNS, &rows)?);
        return Ok(Verdict::Ok);
    }
    out.emit(&json!({ "objectives": rows }), || {
        let mut s = String::from("objectives\n");
        for r in &rows {
            let assessed = match r["met"].as_bool() {
                Some(true) => "met",
                Some(false) => "NOT MET",
                None => "not assessed",
            };
            s.push_str(&format!(
                "{:<14} {:<12} {:<18} due {}  {}  [{assessed}]\n",
                r["id"].as_str().unwrap_or(""),
                r["review"].as_str().unwrap_or(""),
                r["owner_name"].as_str().unwrap_or(""),
                r["due"].as_str().unwrap_or(""),
                r["text"].as_str().unwrap_or(""),
            ));
        }
        s
    });
    Ok(Verdict::Ok)
}

/// One JSON row per objective, by id, with its latest assessment.
pub fn objective_rows(state: &LedgerState) -> Vec<Value> {
    state
        .reviews
        .objectives
        .iter()
        .map(|(id, o)| {
            let owner = state
                .roster
                .members
                .get(&o.objective.owner)
                .map(|m| m.name.clone())
                .unwrap_or_else(|| o.objective.owner.to_string());
            let last = o.assessments.last();
            json!({
                "id": id.as_str(),
                "review": o.review.as_str(),
                "text": o.objective.text,
                "owner": o.objective.owner.as_str(),
                "owner_name": owner,
                "measure": o.objective.measure,
                "target": o.objective.target,
                "due": o.objective.due.to_string(),
                "assessed_by_review": last.map(|(r, _, _, _)| r.as_str()),
                "met": last.map(|(_, met, _, _)| *met),
                "assessment": last.map(|(_, _, why, _)| why.as_str()),
            })
        })
        .collect()
}

pub fn agenda(a: AgendaArgs, out: &Out) -> Result<Verdict> {
    // The service has no agenda call: remote, it is computed here from the
    // server's entries, verified.
    let (state, _) = crate::target::read_state(&a.ledger)?;
    let agenda = review::agenda::agenda(&state, &ReviewId::new(a.review)?)?;
    let format = match a.format {
        TextFormat::Text => Format::Text,
        TextFormat::Markdown => Format::Markdown,
    };
    out.emit(&serde_json::to_value(&agenda)?, || {
        review::agenda::render_agenda(&agenda, format)
    });
    Ok(Verdict::Ok)
}

pub fn check(a: CheckArgs, out: &Out) -> Result<Verdict> {
    let report: Value = match Hosted::of(&a.ledger)? {
        Some(mut remote) => {
            let message = pb::CheckRequest {
                ledger_id: remote.id_hex(),
                review: a.review.clone(),
                as_of: a.as_of.clone().unwrap_or_else(|| today().to_string()),
            };
            let r = remote.review_call("Check", message, async |c, r| c.check(r).await)?;
            json!({
                "review": r.review,
                "as_of": r.as_of,
                "passed": r.passed,
                "findings": r.findings.iter().map(|f| json!({
                    "rule": f.rule,
                    "severity": f.severity,
                    "message": f.message,
                    "seq": f.seq,
                })).collect::<Vec<_>>(),
            })
        }
        None => {
            let (_, state) = crate::local::load(&a.ledger.at())?;
            let review = ReviewId::new(a.review)?;
            let report = conformance::check(&state, &review, as_of(&a.as_of)?)?;
            serde_json::to_value(&report)?
        }
    };
    if a.format == CheckFormat::Oscal && !out.json {
        let (state, _) = crate::target::read_state(&a.ledger)?;
        let ledger_id = state.roster.ledger_id.unwrap_or_default().to_hex();
        let now = crate::out::time(crate::local::now());
        let doc =
            crate::oscal::assessment_results(&report, &ledger_id, &state.roster.organisation, &now);
        crate::out::say(&serde_json::to_string_pretty(&doc)?);
    } else {
        out.emit(&report, || check_text_json(&report));
    }
    Ok(if report["passed"] == true {
        Verdict::Ok
    } else {
        Verdict::Failed
    })
}

/// The conformance report for people.
pub fn check_text(report: &conformance::Report) -> String {
    check_text_json(&serde_json::to_value(report).unwrap_or_default())
}

/// The conformance report for people, from its JSON (the same in both modes).
pub fn check_text_json(report: &Value) -> String {
    let passed = report["passed"] == true;
    let mut s = format!(
        "conformance of {}: {}\n",
        report["review"].as_str().unwrap_or(""),
        if passed {
            "no nonconformity"
        } else {
            "NONCONFORMITY"
        }
    );
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    if findings.is_empty() {
        s.push_str("  every rule holds\n");
    }
    for f in &findings {
        s.push_str(&format!(
            "  {:<13} {:<28} {}\n",
            f["severity"].as_str().unwrap_or(""),
            f["rule"].as_str().unwrap_or(""),
            f["message"].as_str().unwrap_or("")
        ));
    }
    s
}
