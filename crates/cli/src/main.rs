//! `review-ledger`: the command line of the review ledger.
//!
//! Attendees create keys and sign events, the ISMS team keeps the roster,
//! auditors verify. Every command that prints data takes `--json`, and
//! with it says what went wrong as JSON too. Exit codes: [`failure`].
//!
//! ```text
//! review-ledger key new --out ceo.pem --name "Ada Example"
//! review-ledger init --ledger ./ledger --org "Example Ltd" --key ceo.pem \
//!     --id ceo --name "Ada Example" --role "Chief Executive"
//! review-ledger verify --ledger ./ledger
//! review-ledger repair --ledger ./ledger   # after verify names a damaged derived record
//! ```

/// mimalloc, not the system allocator: in a profile of the feed, glibc's
/// malloc and free took about a quarter of the server's time; see
/// ARCHITECTURE.md, "Allocator".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cache;
mod cmd_bundle;
mod cmd_demo;
mod cmd_feed;
mod cmd_inspect;
mod cmd_key;
mod cmd_ledger;
mod cmd_member;
mod cmd_migrate;
mod cmd_minutes;
mod cmd_repair;
mod cmd_reports;
mod cmd_review;
mod cmd_serve;
mod cmd_token;
mod cmd_verify;
mod doc_ref;
mod failure;
mod hosted;
mod local;
mod oscal;
mod out;
mod record_file;
mod stores;
mod target;
mod trusted;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::out::Out;

#[derive(Parser)]
#[command(
    name = "review-ledger",
    version,
    about = "Signed, hash-chained evidence of ISO 27001 management reviews",
    after_help = failure::EXIT_CODES
)]
struct Cli {
    /// Print data as JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

/// Where the ledger is: a directory, or a ledger in a PostgreSQL database.
#[derive(Args, Clone, Debug)]
pub struct LedgerDir {
    /// The ledger directory.
    #[arg(long = "ledger", env = "REVIEW_LEDGER_DIR", default_value = "ledger")]
    pub path: PathBuf,
    /// A ledger in a PostgreSQL database instead of a directory:
    /// `postgres://USER@HOST:PORT/DATABASE` (the password in the address or
    /// in PGPASSWORD; never printed). docs/POSTGRES.md.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// With --store: the ledger's id, when the database holds several.
    #[arg(long)]
    pub ledger_id: Option<String>,
}

impl LedgerDir {
    /// Where the ledger is.
    pub fn at(&self) -> stores::Where {
        stores::Where::of(&self.path, self.store.as_deref(), self.ledger_id.as_deref())
    }
}

#[derive(Subcommand)]
enum Command {
    /// Create and inspect signing keys (they never leave this machine).
    #[command(subcommand)]
    Key(cmd_key::KeyCommand),
    /// Create a ledger: its genesis names the organisation, the founder and the policy.
    Init(cmd_ledger::InitArgs),
    /// Keep the roster of who may sign.
    #[command(subcommand)]
    Member(cmd_member::MemberCommand),
    /// Record a management review: schedule, pack, meeting, inputs, outputs, close.
    #[command(subcommand)]
    Review(cmd_review::ReviewCommand),
    /// Show or sign a review's minutes.
    #[command(subcommand)]
    Minutes(cmd_minutes::MinutesCommand),
    /// Record an action's progress between reviews.
    #[command(subcommand)]
    Action(cmd_review::ActionCommand),
    /// The action log across all reviews (`--format csv` for GRC tools).
    Actions(cmd_reports::ActionsArgs),
    /// Every objective the reviews set, with its latest assessment
    /// (`--format csv` for GRC tools).
    Objectives(cmd_reports::ObjectivesArgs),
    /// What falls due: overdue and upcoming actions and objectives, the next
    /// pack deadline, unsigned minutes, the next review (exit 1 when
    /// something is overdue).
    Remind(cmd_reports::RemindArgs),
    /// The agenda of a review: the template, open actions, the pack checklist and deadline.
    Agenda(cmd_reports::AgendaArgs),
    /// Run the conformance check on a review (exit 1 on a nonconformity).
    Check(cmd_reports::CheckArgs),
    /// List the reviews.
    Reviews(cmd_reports::ReviewsArgs),
    /// List the entries of the ledger.
    Log(cmd_inspect::LogArgs),
    /// Print the latest signed checkpoint.
    Checkpoint(cmd_inspect::CheckpointArgs),
    /// The ledger id alone (the hash of entry 0): what auditors pin.
    Id(cmd_inspect::CheckpointArgs),
    /// Print an inclusion proof for one entry, or a consistency proof.
    Prove(cmd_inspect::ProveArgs),
    /// Replay and verify every entry: chain, signatures, rules, checkpoint.
    Verify(cmd_verify::VerifyArgs),
    /// Derive the Merkle nodes, head, event-id index, checkpoint and witness
    /// again from the entries, once they verify, and rewrite those that differ.
    Repair(cmd_repair::RepairArgs),
    /// Copy a ledger directory into a PostgreSQL database, verifying it
    /// before and after: the copy keeps its ledger id and signed checkpoint.
    Migrate(cmd_migrate::MigrateArgs),
    /// Write one review's evidence bundle for offline verification.
    Export(cmd_bundle::ExportArgs),
    /// Verify an evidence bundle offline: signatures, proofs, completeness, rules.
    VerifyBundle(cmd_bundle::VerifyBundleArgs),
    /// Build a small example organisation's ledger and verify it.
    Demo(cmd_demo::DemoArgs),
    /// Serve ledgers over gRPC (appends, reads, the live feed, projections).
    Serve(cmd_serve::ServeArgs),
    /// Follow a ledger on a server: one JSON object per entry, live.
    Feed(cmd_feed::FeedArgs),
    /// The ledgers a server hosts that you may read: id, organisation, size.
    Ledgers(cmd_feed::LedgersArgs),
    /// Mint bearer tokens for a server's `--tokens` file.
    #[command(subcommand)]
    Token(cmd_token::TokenCommand),
}

/// What a command concluded, beyond what it printed.
pub enum Verdict {
    /// Everything held.
    Ok,
    /// A verification or conformance check failed.
    Failed,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let wants_json = std::env::args().any(|a| a == "--json");
            let help = matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion);
            if wants_json && !help {
                // clap's text without its usage lines and hints, on one line.
                let text = e.to_string();
                let said = text.split("\n\nUsage:").next().unwrap_or_default();
                let said = said.strip_prefix("error: ").unwrap_or(said);
                let message = said.split_whitespace().collect::<Vec<_>>().join(" ");
                eprintln!(
                    "{}",
                    serde_json::json!({ "error": { "kind": "usage", "message": message } })
                );
                return ExitCode::from(failure::ERROR);
            }
            e.exit();
        }
    };
    let out = Out { json: cli.json };
    let result = match cli.command {
        Command::Key(c) => cmd_key::run(c, &out),
        Command::Init(a) => cmd_ledger::init(a, &out),
        Command::Member(c) => cmd_member::run(c, &out),
        Command::Review(c) => cmd_review::run(c, &out),
        Command::Minutes(c) => cmd_minutes::run(c, &out),
        Command::Action(c) => cmd_review::run_action(c, &out),
        Command::Actions(a) => cmd_reports::actions(a, &out),
        Command::Objectives(a) => cmd_reports::objectives(a, &out),
        Command::Remind(a) => cmd_reports::remind(a, &out),
        Command::Agenda(a) => cmd_reports::agenda(a, &out),
        Command::Check(a) => cmd_reports::check(a, &out),
        Command::Reviews(a) => cmd_reports::reviews(a, &out),
        Command::Log(a) => cmd_inspect::log(a, &out),
        Command::Checkpoint(a) => cmd_inspect::checkpoint(a, &out),
        Command::Id(a) => cmd_inspect::id(a, &out),
        Command::Prove(a) => cmd_inspect::prove(a, &out),
        Command::Verify(a) => cmd_verify::run(a, &out),
        Command::Repair(a) => cmd_repair::run(a, &out),
        Command::Migrate(a) => cmd_migrate::run(a, &out),
        Command::Export(a) => cmd_bundle::export(a, &out),
        Command::VerifyBundle(a) => cmd_bundle::verify_bundle(a, &out),
        Command::Demo(a) => cmd_demo::run(a, &out),
        Command::Serve(a) => cmd_serve::run(a, &out),
        Command::Feed(a) => cmd_feed::run(a),
        Command::Ledgers(a) => cmd_feed::ledgers(a, &out),
        Command::Token(c) => cmd_token::run(c, &out),
    };
    match result {
        Ok(Verdict::Ok) => ExitCode::SUCCESS,
        Ok(Verdict::Failed) => ExitCode::from(failure::FAILED),
        Err(e) => {
            let text = message(&e);
            let (code, json) = failure::judge(&e, &text);
            // Standard output carries only the data a command asked for.
            if out.json {
                eprintln!(
                    "{}",
                    serde_json::to_string_pretty(&json).unwrap_or_default()
                );
            } else {
                eprintln!("error: {text}");
            }
            ExitCode::from(code)
        }
    }
}

/// The error and its causes, each said once: a cause that its wrapper's
/// message already quotes is not repeated.
fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}
