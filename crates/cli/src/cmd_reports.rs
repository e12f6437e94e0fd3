//! `reviews`, `actions`, `agenda`, `check`: what the ISMS team and auditors read.

use anyhow::Result;
use clap::{Args, ValueEnum};
use review::render::Format;
use review::{Date, ReviewId, conformance};
use serde_json::{Value, json};

use crate::cmd_review::today;
use crate::out::Out;
use crate::{LedgerDir, Verdict};

#[derive(Args)]
pub struct ReviewsArgs {
    #[command(flatten)]
    pub ledger: LedgerDir,
}

#[derive(Args)]
pub struct ActionsArgs {
    #[command(flatten)]
    pub ledger: LedgerDir,
    /// Report overdue as of this date (default: today).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Only the actions raised by this review.
    #[arg(long)]
    pub review: Option<String>,
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
    pub ledger: LedgerDir,
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
    pub ledger: LedgerDir,
    /// The review.
    #[arg(long)]
    pub review: String,
    /// Judge as of this date (default: today).
    #[arg(long)]
    pub as_of: Option<String>,
}

fn as_of(flag: &Option<String>) -> Result<Date> {
    Ok(match flag {
        Some(d) => Date::parse("--as-of", d)?,
        None => today(),
    })
}

pub fn reviews(a: ReviewsArgs, out: &Out) -> Result<Verdict> {
    let (_, state) = crate::local::load(&a.ledger.path)?;
    let rows: Vec<Value> = state
        .reviews
        .order
        .iter()
        .map(|id| {
            let r = &state.reviews.reviews[id];
            let m = &r.minutes;
            let status = if r.signed() {
                "signed"
            } else if m.close.is_some() {
                "closed"
            } else if m.meeting.is_some() {
                "held"
            } else if m.pack.is_some() {
                "circulated"
            } else {
                "scheduled"
            };
            json!({
                "id": id.as_str(),
                "title": m.schedule.item.title,
                "planned": m.schedule.item.planned.to_string(),
                "held": m.meeting.as_ref().map(|x| x.item.held.to_string()),
                "status": status,
                "inputs": m.inputs.len(),
                "decisions": m.decisions.len(),
                "actions": m.actions.len(),
                "signatures": r.current_signatures().count(),
                "digest": m.digest().to_hex(),
            })
        })
        .collect();
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

pub fn actions(a: ActionsArgs, out: &Out) -> Result<Verdict> {
    let (_, state) = crate::local::load(&a.ledger.path)?;
    let date = as_of(&a.as_of)?;
    let only = a.review.map(ReviewId::new).transpose()?;
    let rows: Vec<Value> = state
        .reviews
        .actions
        .values()
        .filter(|r| only.as_ref().is_none_or(|o| &r.review == o))
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
        .collect();
    out.emit(&json!({"as_of": date.to_string(), "actions": rows}), || {
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

pub fn agenda(a: AgendaArgs, out: &Out) -> Result<Verdict> {
    let (_, state) = crate::local::load(&a.ledger.path)?;
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
    let (_, state) = crate::local::load(&a.ledger.path)?;
    let review = ReviewId::new(a.review)?;
    let report = conformance::check(&state, &review, as_of(&a.as_of)?)?;
    out.emit(&serde_json::to_value(&report)?, || check_text(&report));
    Ok(if report.passed() {
        Verdict::Ok
    } else {
        Verdict::Failed
    })
}

/// The conformance report for people.
pub fn check_text(report: &conformance::Report) -> String {
    let mut s = format!(
        "conformance of {}: {}\n",
        report.review,
        if report.passed() {
            "no nonconformity"
        } else {
            "NONCONFORMITY"
        }
    );
    if report.findings.is_empty() {
        s.push_str("  every rule holds\n");
    }
    for f in &report.findings {
        s.push_str(&format!(
            "  {:<13} {:<28} {}\n",
            format!("{:?}", f.severity).to_lowercase(),
            f.rule,
            f.message
        ));
    }
    s
}
