//! `bench`: the review-ledger benchmark harness.
//!
//! Every figure is printed beside a limit measured in the same run: the
//! rate at which ONE core, with no thread pool, decodes a stored entry,
//! checks its author's signature with `verify_strict` and computes its
//! blake3 entry hash (`VerifiedEntry::from_bytes`), over entries of the
//! same kind the scenario writes. `rebuild` and `check` say in
//! `limit_kind` that theirs is decoding alone (`Entry::decode`,
//! `Event::decode`, `Payload::decode`). `ratio = per_s / limit_per_s` is
//! the figure to compare across machines and runs; the raw rates are not.
//!
//! Scenarios, each on a fresh ledger in a temporary directory with the real
//! sled store, the real group-commit writer and the real admission rules:
//!
//! - `append`: durable appends from 16 concurrent writer threads
//!   ([`append`]);
//! - `verify`: full verification of an N-entry ledger in a child process,
//!   with that child's peak memory ([`verify`]);
//! - `append-latency`: one append at a time, its median and p99 beside the
//!   disk's own write + fsync ([`latency`]);
//! - `rebuild`: every projection (roster, reviews and their minutes, the
//!   action log, the objectives) rebuilt by replaying a ledger of N review
//!   events into a fresh `LedgerState`, in a child process ([`rebuild`]);
//! - `check`: the conformance check over `--reviews` reviews (1,000 by
//!   default) built in memory, in reviews per second ([`check`]);
//! - `prove`: inclusion proofs of random leaves and consistency proofs
//!   from random earlier sizes, built from the Merkle nodes of an N-entry
//!   sled ledger and verified, in a child process; one report per kind
//!   (`prove-inclusion`, `prove-consistency`), with the proof sizes beside
//!   32 bytes times `ceil(log2(size))` ([`prove`]);
//! - `verify-bundle`: the evidence bundle of one review of about 200
//!   entries in an N-entry ledger of reviews, exported as `export` does and
//!   verified offline (`Bundle::from_bytes` + `review::bundle::verify`) in
//!   a child process, in seconds beside its signatures over the one-core
//!   limit ([`verify_bundle`]);
//! - `grpc-append`: durable appends from 16 concurrent gRPC clients over
//!   loopback to the real server, beside the local `append` rate measured
//!   first in the same run ([`grpc_append`]);
//! - `feed`: one subscriber catching up on an N-entry ledger through the
//!   real server's feed, then following it live while clients append at
//!   1,000 a second; one report per phase (`feed-catch-up`, `feed-live`)
//!   ([`feed`]);
//! - `subject-map`: one entry's cost to the checkpoint's subject map of
//!   `--reviews` subjects, beside rebuilding the map from every tip, as it
//!   was before the map was incremental ([`subject_map`]); not in `all`;
//! - `hosting`: one server hosting `--entries` small ledgers (1,000 by
//!   default), its start and resident memory beside the 2 GB a thousand
//!   may take ([`hosting`]); not in `all`;
//! - `all`: the nine in turn, each in a process of its own.
//!
//! The targets (reported, never asserted: speed lives here, not in tests)
//! are a ratio of at least 1.5 for `append`, of at least 1.7 with a peak
//! RSS under 100 MiB for `verify`, and of at least 0.5 for `rebuild`;
//! compare `verify` runs at different `--entries` to see whether its
//! memory grows with the ledger. `check` has no target beyond reporting
//! its rate. `prove` reports its proof sizes beside 32 bytes times
//! `ceil(log2(size))` (`max_over_log2`), and its `limit_kind` says that its
//! limit is the entries/s one, not a limit of proofs; `verify-bundle`
//! reports its seconds beside `limit_secs`, the bundle's signatures over
//! `limit_per_s`, with `ratio = limit_secs / secs`. `grpc-append`'s
//! `limit_per_s` is the local append rate of the same run (its
//! `limit_kind` says so), with a target ratio of at least 0.5; `feed`
//! prints its targets beside its figures: at least 200,000 entries a second
//! to catch up (`target_per_s`) and a p99 delay from acknowledgement to
//! delivery under 20 ms live (`target_p99_us`).
//!
//! The benchmark events are `--events enrol`, each proposing a fresh
//! member (the default for `append` and `append-latency`), or `--events
//! reaffirm`, each leaving the roster as it is (the default for `verify`,
//! since a roster of a million members is no real ledger); see [`fixture`].
//! `rebuild` and `check` write story-like reviews instead ([`meetings`]).
//!
//! ```text
//! cargo run --release -p bench -- all --entries 20000 --json
//! cargo run --release -p bench -- verify --entries 1000000 --json
//! cargo run --release -p bench -- rebuild --entries 1000000 --json
//! cargo run --release -p bench -- check --reviews 1000 --json
//! cargo run --release -p bench -- prove --entries 1000000 --json
//! cargo run --release -p bench -- verify-bundle --entries 1000000 --json
//! cargo run --release -p bench -- grpc-append --entries 20000 --json
//! cargo run --release -p bench -- feed --entries 1000000 --json
//! ```
//!
//! With `--json` each scenario prints one JSON object on one line of
//! stdout (`prove` and `feed` print two each), with at least `scenario`, `entries`, `per_s`, `limit_per_s`,
//! `ratio` and `peak_rss_bytes`, and the `events` they used; without it,
//! a table. Progress goes to stderr.

/// The allocator `review-ledger` itself uses, so that figures are the
/// binary's (see ARCHITECTURE.md, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod append;
mod check;
mod console;
mod failover;
mod feed;
mod fixture;
mod grpc_append;
mod hosting;
mod latency;
mod measure;
mod meetings;
mod prove;
mod rebuild;
mod report;
mod scaling;
mod served;
mod stores;
mod subject_map;
mod under_load;
mod verify;
mod verify_bundle;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use crate::fixture::Events;
use crate::report::Report;

#[derive(Parser)]
#[command(
    name = "bench",
    about = "Benchmarks of the review ledger, each beside the one-core limit"
)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Durable appends from concurrent writer threads.
    Append(Common),
    /// Full verification of a ledger of N entries, in a child process.
    Verify(Common),
    /// One append at a time: median and p99 latency beside fsync.
    AppendLatency(Common),
    /// Every projection rebuilt from a ledger of N review events, in a child process.
    Rebuild(Common),
    /// The conformance check over many reviews, in reviews per second.
    Check(Common),
    /// Inclusion and consistency proofs on a ledger of N entries, in a child process.
    Prove(Common),
    /// Offline verification of one review's bundle from a ledger of N entries, in a child process.
    VerifyBundle(Common),
    /// Durable appends from concurrent gRPC clients, beside the local rate.
    GrpcAppend(Common),
    /// The feed: catching up on N entries, then following live appends.
    Feed(Common),
    /// Append latency while 64 clients flood the server with verifications they abandon.
    AppendUnderLoad(Common),
    /// Each everyday command's time on ledgers of growing size (`--sizes`),
    /// beside its time at the smallest; not part of `all` (it builds a ledger
    /// of 1M review events).
    Scaling(Common),
    /// The web console's page weights and times on a ledger of N review
    /// events (default 1000), with the review page's first paint in
    /// Chromium when it is installed; not part of `all`.
    Console(Common),
    /// The checkpoint's subject map: one entry's cost on a map of
    /// `--reviews` subjects (default 27650), beside rebuilding it from every
    /// tip; not part of `all`.
    SubjectMap(Common),
    /// Durable appends and a full verification on PostgreSQL beside sled,
    /// in the same run, on a throwaway cluster of 127.0.0.1 (needs the
    /// postgresql package); not part of `all`.
    Stores(Common),
    /// One server hosting `--entries` small ledgers (default 1000): its
    /// start and resident memory beside the 2 GB a thousand may take; not
    /// part of `all`.
    Hosting(Common),
    /// How long appends stop when the server writing a PostgreSQL ledger is
    /// killed and a standby takes over, over 10 rounds (needs the
    /// postgresql package and `cargo build --release -p cli`); not part of
    /// `all`.
    Failover(Common),
    /// All ten scenarios in turn, each in a process of its own.
    All(Common),
    /// Verifies the ledger in DIR and prints one JSON line (used by `verify`).
    #[command(hide = true)]
    VerifyChild {
        /// The ledger directory.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Rebuilds the projections of the ledger in DIR, or measures the
    /// decode limit over it, and prints one JSON line (used by `rebuild`).
    #[command(hide = true)]
    RebuildChild {
        /// The ledger directory.
        #[arg(long)]
        dir: PathBuf,
        /// Measure the decode limit over its entries instead.
        #[arg(long)]
        limit: bool,
    },
    /// Builds and verifies proofs from the ledger in DIR and prints one
    /// JSON line (used by `prove`).
    #[command(hide = true)]
    ProveChild {
        /// The ledger directory.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Reads and verifies the bundle FILE and prints one JSON line (used by
    /// `verify-bundle`).
    #[command(hide = true)]
    VerifyBundleChild {
        /// The bundle file.
        #[arg(long)]
        file: PathBuf,
        /// The trusted ledger id, in hex.
        #[arg(long)]
        trust: String,
    },
}

#[derive(Args)]
struct Common {
    /// Entries to append or verify (default: 20000 for append and
    /// grpc-append, 100000 for verify, 2000 for append-latency), review
    /// events to rebuild from (default 100000), or entries of the ledger to
    /// prove from, export a bundle from or feed (default 100000 for prove,
    /// verify-bundle and feed); not used by check.
    #[arg(long)]
    entries: Option<u64>,
    /// Ledger sizes in review events for `scaling`, comma-separated
    /// (default: 1000,10000,100000,1000000).
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<u64>,
    /// Reviews to check in `check` (default: 1000).
    #[arg(long)]
    reviews: Option<u64>,
    /// The server's sled cache per ledger in `grpc-append` and `feed`, in
    /// MiB, as `serve --cache-mib` (default: the server's own default).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    cache_mib: Option<u64>,
    /// Concurrent writer threads in `append`.
    #[arg(long, default_value_t = 16)]
    threads: usize,
    /// The benchmark events (default: enrol, but reaffirm for verify; rebuild
    /// and check write reviews and take none).
    #[arg(long, value_enum)]
    events: Option<Events>,
    /// Where to create the temporary ledgers (default: the system temp dir).
    #[arg(long)]
    tmp: Option<PathBuf>,
    /// Leave the ledgers `scaling` and `verify` build in this directory, for
    /// inspection.
    #[arg(long)]
    keep: Option<PathBuf>,
    /// One JSON object per scenario on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

/// The scenarios that measure something.
#[derive(Clone, Copy)]
enum Measure {
    Append,
    Verify,
    AppendLatency,
    Rebuild,
    Check,
    Prove,
    VerifyBundle,
    GrpcAppend,
    Feed,
    AppendUnderLoad,
    Scaling,
    Console,
    SubjectMap,
    Stores,
    Failover,
    Hosting,
}

impl Measure {
    fn name(self) -> &'static str {
        match self {
            Measure::Append => "append",
            Measure::Verify => "verify",
            Measure::AppendLatency => "append-latency",
            Measure::Rebuild => "rebuild",
            Measure::Check => "check",
            Measure::Prove => "prove",
            Measure::VerifyBundle => "verify-bundle",
            Measure::GrpcAppend => "grpc-append",
            Measure::Feed => "feed",
            Measure::AppendUnderLoad => "append-under-load",
            Measure::Scaling => "scaling",
            Measure::Console => "console",
            Measure::SubjectMap => "subject-map",
            Measure::Stores => "stores",
            Measure::Failover => "failover",
            Measure::Hosting => "hosting",
        }
    }

    /// Runs the scenario: one report, or for `prove` one per kind of proof
    /// and for `feed` one per phase.
    fn run(self, opts: &Options, entries: Option<u64>) -> Result<Vec<Report>> {
        let one = match self {
            Measure::Append => append::run(opts, entries.unwrap_or(append::DEFAULT_ENTRIES)),
            Measure::Verify => verify::run(opts, entries.unwrap_or(verify::DEFAULT_ENTRIES)),
            Measure::AppendLatency => {
                latency::run(opts, entries.unwrap_or(latency::DEFAULT_ENTRIES))
            }
            Measure::Rebuild => rebuild::run(opts, entries.unwrap_or(rebuild::DEFAULT_ENTRIES)),
            Measure::Check => {
                if entries.is_some() {
                    bail!("check counts reviews, not entries: give --reviews N");
                }
                check::run(opts, opts.reviews.unwrap_or(check::DEFAULT_REVIEWS))
            }
            Measure::Prove => {
                return prove::run(opts, entries.unwrap_or(prove::DEFAULT_ENTRIES));
            }
            Measure::VerifyBundle => {
                verify_bundle::run(opts, entries.unwrap_or(verify_bundle::DEFAULT_ENTRIES))
            }
            Measure::GrpcAppend => {
                grpc_append::run(opts, entries.unwrap_or(append::DEFAULT_ENTRIES))
            }
            Measure::Feed => return feed::run(opts, entries.unwrap_or(feed::DEFAULT_ENTRIES)),
            Measure::AppendUnderLoad => {
                under_load::run(opts, entries.unwrap_or(under_load::DEFAULT_ENTRIES))
            }
            Measure::Console => console::run(opts, entries.unwrap_or(console::DEFAULT_ENTRIES)),
            Measure::SubjectMap => {
                if entries.is_some() {
                    bail!("subject-map counts reviews, not entries: give --reviews N");
                }
                subject_map::run(opts, opts.reviews.unwrap_or(subject_map::DEFAULT_REVIEWS))
            }
            Measure::Failover => failover::run(opts),
            Measure::Hosting => hosting::run(opts, entries.unwrap_or(hosting::DEFAULT_LEDGERS)),
            Measure::Stores => {
                return stores::run(opts, entries.unwrap_or(stores::DEFAULT_ENTRIES));
            }
            Measure::Scaling => {
                let sizes = match opts.sizes.as_slice() {
                    [] => scaling::DEFAULT_SIZES.to_vec(),
                    given => given.to_vec(),
                };
                return scaling::run(opts, &sizes);
            }
        };
        Ok(vec![one?])
    }
}

/// What every scenario needs to know about the run.
pub struct Options {
    /// Writer threads in `append`.
    pub threads: usize,
    /// The benchmark events, when not the scenario's default.
    pub events: Option<Events>,
    /// Where temporary ledgers go.
    pub tmp: Option<PathBuf>,
    /// Reviews in `check`, when not its default.
    pub reviews: Option<u64>,
    /// The server's sled cache per ledger, in bytes.
    pub cache_bytes: u64,
    /// The cores available, reported since ratios above 1 depend on them.
    pub cores: usize,
    /// Ledger sizes for `scaling`, when given.
    pub sizes: Vec<u64>,
    /// Where `scaling` leaves its ledgers, when given.
    pub keep: Option<PathBuf>,
}

fn main() -> Result<()> {
    use Measure::*;
    let cli = Cli::parse();
    let (common, which) = match cli.scenario {
        Scenario::VerifyChild { dir } => return verify::child(&dir),
        Scenario::RebuildChild { dir, limit } => return rebuild::child(&dir, limit),
        Scenario::ProveChild { dir } => return prove::child(&dir),
        Scenario::VerifyBundleChild { file, trust } => {
            return verify_bundle::child(&file, &trust);
        }
        Scenario::Append(c) => (c, Some(Append)),
        Scenario::Verify(c) => (c, Some(Verify)),
        Scenario::AppendLatency(c) => (c, Some(AppendLatency)),
        Scenario::Rebuild(c) => (c, Some(Rebuild)),
        Scenario::Check(c) => (c, Some(Check)),
        Scenario::Prove(c) => (c, Some(Prove)),
        Scenario::VerifyBundle(c) => (c, Some(VerifyBundle)),
        Scenario::GrpcAppend(c) => (c, Some(GrpcAppend)),
        Scenario::Feed(c) => (c, Some(Feed)),
        Scenario::AppendUnderLoad(c) => (c, Some(AppendUnderLoad)),
        Scenario::Scaling(c) => (c, Some(Scaling)),
        Scenario::Console(c) => (c, Some(Console)),
        Scenario::SubjectMap(c) => (c, Some(SubjectMap)),
        Scenario::Stores(c) => (c, Some(Stores)),
        Scenario::Failover(c) => (c, Some(Failover)),
        Scenario::Hosting(c) => (c, Some(Hosting)),
        Scenario::All(c) => (c, None),
    };
    if !common.json {
        println!("{}", Report::header());
    }
    let print = |report: &Report| match common.json {
        true => println!("{}", report.json()),
        false => println!("{}", report.row()),
    };
    match which {
        Some(scenario) => {
            let opts = Options {
                threads: common.threads,
                events: common.events,
                tmp: common.tmp.clone(),
                reviews: common.reviews,
                cache_bytes: common
                    .cache_mib
                    .map_or(service::limits::CACHE_BYTES, |m| m << 20),
                cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
                sizes: common.sizes.clone(),
                keep: common.keep.clone(),
            };
            for report in scenario.run(&opts, common.entries)? {
                print(&report);
            }
        }
        // A process each, so that one scenario's memory (freed but kept
        // by the allocator) does not count in the next one's peak.
        None => {
            for scenario in [
                Append,
                Verify,
                AppendLatency,
                Rebuild,
                Check,
                Prove,
                VerifyBundle,
                GrpcAppend,
                Feed,
                AppendUnderLoad,
            ] {
                for report in run_apart(scenario, &common)? {
                    print(&report);
                }
            }
        }
    }
    Ok(())
}

/// Runs one scenario in a child process of this binary and reads its
/// reports, one a line.
fn run_apart(scenario: Measure, common: &Common) -> Result<Vec<Report>> {
    let exe = std::env::current_exe().context("cannot find the bench executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg(scenario.name())
        .arg("--json")
        .arg("--threads")
        .arg(common.threads.to_string());
    match (scenario, common.entries, common.reviews) {
        (Measure::Check, _, Some(n)) => {
            cmd.arg("--reviews").arg(n.to_string());
        }
        (Measure::Check, _, None) => {}
        (_, Some(n), _) => {
            cmd.arg("--entries").arg(n.to_string());
        }
        (_, None, _) => {}
    }
    if let Some(e) = common.events {
        cmd.arg("--events").arg(e.name());
    }
    if let Some(t) = &common.tmp {
        cmd.arg("--tmp").arg(t);
    }
    if let Some(m) = common.cache_mib {
        cmd.arg("--cache-mib").arg(m.to_string());
    }
    let output = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run the {} scenario", scenario.name()))?;
    if !output.status.success() {
        bail!(
            "the {} scenario failed with {}",
            scenario.name(),
            output.status
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let reports = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).with_context(|| format!("cannot read the report {line:?}"))
        })
        .collect::<Result<Vec<Report>>>()?;
    if reports.is_empty() {
        bail!("the {} scenario printed nothing", scenario.name());
    }
    Ok(reports)
}

/// Moves the ledger directory `path` to `name` in `--keep`'s directory, if
/// one was given, and says where; otherwise leaves it to be removed.
pub fn keep(opts: &Options, path: &std::path::Path, name: &str) -> Result<()> {
    let Some(keep) = &opts.keep else {
        return Ok(());
    };
    let to = keep.join(name);
    std::fs::create_dir_all(keep).with_context(|| format!("cannot create {}", keep.display()))?;
    std::fs::rename(path, &to)
        .with_context(|| format!("cannot keep the ledger in {}", to.display()))?;
    eprintln!("kept the ledger in {}", to.display());
    Ok(())
}

/// Runs this binary with `args` (a hidden child subcommand), its stderr
/// shown, and reads the one JSON line it prints last.
pub fn run_child<T: serde::de::DeserializeOwned>(args: &[&std::ffi::OsStr]) -> Result<T> {
    let exe = std::env::current_exe().context("cannot find the bench executable")?;
    let name = args
        .first()
        .map_or_else(String::new, |a| a.to_string_lossy().into_owned());
    let output = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {name}"))?;
    if !output.status.success() {
        bail!("{name} failed with {}", output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .last()
        .with_context(|| format!("{name} printed nothing"))?;
    serde_json::from_str(line).with_context(|| format!("cannot read {name}'s report {line:?}"))
}
