//! `minutes show`, `minutes sign`.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use ledger_store::{Store, keyfile};
use review::render::{self, Format};
use review::view::MinutesView;
use review::{LedgerState, Payload, ReviewId};
use serde_json::json;
use service::pb;

use crate::Verdict;
use crate::hosted::{Hosted, Place};
use crate::out::Out;
use crate::target::Target;

/// How to print minutes.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MinutesFormat {
    /// Plain text for a terminal.
    Text,
    /// Markdown.
    Markdown,
    /// One self-contained HTML file, for printing.
    Html,
    /// The minutes projection and its signatures as JSON.
    Json,
    /// The review as a record file (docs/RECORD.md), to draft the next one from.
    Toml,
}

#[derive(Subcommand)]
pub enum MinutesCommand {
    /// Print the current minutes of a review.
    Show {
        #[command(flatten)]
        ledger: Place,
        /// The review.
        #[arg(long)]
        review: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: MinutesFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify the ledger, show the minutes and their digest, and sign them.
    Sign(SignArgs),
}

#[derive(Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub ledger: Place,
    /// Your private key (it never leaves this machine).
    #[arg(long)]
    pub key: PathBuf,
    /// The review.
    #[arg(long)]
    pub review: String,
    /// Sign without asking.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub retry: crate::target::Retry,
}

/// The minutes of `review` in `format`, with the store's checkpoint under them.
pub fn rendered(
    state: &LedgerState,
    checkpoint: Option<String>,
    review: &ReviewId,
    format: MinutesFormat,
) -> Result<String> {
    let view = MinutesView::judged(state, review, checkpoint, crate::cmd_review::today())?;
    Ok(match format {
        MinutesFormat::Text => render::minutes(&view, Format::Text),
        MinutesFormat::Markdown => render::minutes(&view, Format::Markdown),
        MinutesFormat::Html => render::minutes(&view, Format::Html),
        MinutesFormat::Toml => toml::to_string(&crate::record_file::from_state(state, review)?)?,
        MinutesFormat::Json => {
            let value = json!({
                "ledger_id": view.ledger_id.to_hex(),
                "organisation": view.organisation,
                "review": review.as_str(),
                "digest": view.digest.to_hex(),
                "content_head": view.record.content_head().0,
                "seq_range": [view.seq_range.0.0, view.seq_range.1.0],
                "minutes": view.record.minutes,
                "signatures": view.signatures,
                "changes": view.record.changes,
                "checkpoint": view.checkpoint,
            });
            serde_json::to_string_pretty(&value)? + "\n"
        }
    })
}

pub fn run(cmd: MinutesCommand, out: &Out) -> Result<Verdict> {
    match cmd {
        MinutesCommand::Show {
            ledger,
            review,
            format,
            out: file,
        } => {
            let review = ReviewId::new(review)?;
            let format = if out.json {
                MinutesFormat::Json
            } else {
                format
            };
            let text = match Hosted::of(&ledger)? {
                // The record file is written from the state, verified here.
                Some(_) if matches!(format, MinutesFormat::Toml) => {
                    let (state, _) = crate::target::read_state(&ledger)?;
                    rendered(&state, None, &review, format)?
                }
                Some(mut remote) => rendered_remote(&mut remote, &review, format)?,
                None => {
                    let (store, state) = crate::local::load(&ledger.at())?;
                    rendered(&state, store.checkpoint()?, &review, format)?
                }
            };
            match file {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("wrote {}", path.display());
                }
                None => crate::out::write_raw(&text),
            }
            Ok(Verdict::Ok)
        }
        MinutesCommand::Sign(a) => sign(a, out),
    }
}

/// The minutes as the server renders them (`ReviewService.GetMinutes`).
// `minutes_json` is the domain's JSON as the server computed it, printed
// unchanged so that remote and local `--json` agree.
#[allow(deprecated)]
fn rendered_remote(
    remote: &mut Hosted,
    review: &ReviewId,
    format: MinutesFormat,
) -> Result<String> {
    let format_pb = match format {
        MinutesFormat::Text => pb::MinutesFormat::Text,
        MinutesFormat::Markdown => pb::MinutesFormat::Markdown,
        MinutesFormat::Html => pb::MinutesFormat::Html,
        MinutesFormat::Json | MinutesFormat::Toml => pb::MinutesFormat::Unspecified,
    };
    let message = pb::GetMinutesRequest {
        ledger_id: remote.id_hex(),
        review: review.as_str().to_owned(),
        format: format_pb as i32,
    };
    let m = remote.review_call("GetMinutes", message, async |c, r| c.get_minutes(r).await)?;
    Ok(match format {
        MinutesFormat::Json => {
            let value: serde_json::Value = serde_json::from_str(&m.minutes_json)
                .context("the server's minutes_json is not JSON")?;
            serde_json::to_string_pretty(&value)? + "\n"
        }
        _ => m.rendered,
    })
}

fn sign(a: SignArgs, out: &Out) -> Result<Verdict> {
    let key = keyfile::read_private(&a.key)?;
    let review = ReviewId::new(a.review.as_str())?;
    let Some(mut target) = Target::open(&a.ledger, &a.retry, &key, out)? else {
        return Ok(Verdict::Ok);
    };
    // Sign only what this machine has verified itself: every entry, every
    // signature, every rule, the Merkle root against the signed checkpoint.
    // Remote: the entries are fetched and verified here, and the digest is
    // computed here from them; nothing the server says about the minutes is used.
    let state = target
        .verified_state()
        .map_err(|e| e.context("not signing"))?;
    let record = state
        .reviews
        .reviews
        .get(&review)
        .with_context(|| format!("no review {review} in this ledger"))?;
    let sign = record.sign_request();
    if !a.yes {
        let text = rendered(state, None, &review, MinutesFormat::Text)?;
        eprintln!("{text}");
        eprint!(
            "Sign the minutes of {review} with digest {} (covering entries to {})? [y/N] ",
            sign.digest, sign.covers
        );
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("not signed");
        }
    }
    let receipt = target.append(&key, &Payload::Sign(sign.clone()))?.receipt;
    out.emit(
        &json!({
            "seq": receipt.seq.0,
            "hash": receipt.hash.to_hex(),
            "review": review.as_str(),
            "digest": sign.digest.to_hex(),
            "covers": sign.covers.0,
            "checkpoint": receipt.checkpoint,
        }),
        || {
            format!(
                "signed the minutes of {review} (digest {}) as entry {}",
                sign.digest, receipt.seq
            )
        },
    );
    Ok(Verdict::Ok)
}
