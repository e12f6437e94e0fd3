//! `verify`: full verification of a ledger of N entries, as an auditor runs it.
//!
//! The ledger is built first through the real writer, as fast as it goes:
//! events are signed on all cores a chunk at a time, and many threads
//! append them at once so that group commit makes large batches. Then the
//! bench re-executes itself as `bench verify-child --dir D`, which opens the
//! directory and runs `ledger_store::verify` with the real admission rules.
//! Running it in a child process makes its peak resident memory that of
//! the verification alone, not of the build.
//!
//! The ledger holds `reaffirm` events by default (see [`DEFAULT_EVENTS`]),
//! so that its size, not the size of its roster, is what is measured.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use ledger_core::SignedEvent;
use ledger_store::{SledStore, verify};
use review::LedgerState;
use serde::{Deserialize, Serialize};

use crate::Options;
use crate::fixture::{self, Events, Fixture};
use crate::measure;
use crate::report::{Report, round};

/// Ledger size when `--entries` is not given.
pub const DEFAULT_ENTRIES: u64 = 100_000;

/// Events the ledger is built of when `--events` is not given. Not
/// enrolments: the roster's rules scan every member on each proposal, so
/// a ledger of a million enrolments takes hours to build and to verify
/// (see the report's `events` field, and run `--events enrol` to see it).
pub const DEFAULT_EVENTS: Events = Events::Reaffirm;

/// Keys that sign the build's events, as in `append`.
pub(crate) const SIGNERS: usize = 16;

/// Threads appending during the build: the most events one batch can hold.
const BUILD_THREADS: usize = 512;

/// Events signed and appended per round of the build, bounding its memory.
const BUILD_CHUNK: u64 = 64 * 1024;

/// What the child reports on its stdout, one JSON line.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChildReport {
    /// Entries verified.
    pub entries: u64,
    /// Seconds spent in `verify`.
    pub secs: f64,
    /// Seconds spent opening the store (and checking its head).
    pub open_secs: f64,
    /// Whether the ledger verified.
    pub valid: bool,
    /// The first fault, if any.
    pub fault: Option<String>,
    /// The child's `VmHWM`.
    pub peak_rss_bytes: u64,
}

/// Builds a ledger of `entries` entries in all and verifies it in a child.
pub fn run(opts: &Options, entries: u64) -> Result<Report> {
    let Built {
        fixture,
        kind,
        build_s,
        sample,
        limit,
    } = Built::new(opts, "verify", entries)?;
    let setup = Fixture::setup_entries(SIGNERS);
    let entry_bytes = sample.iter().map(Vec::len).sum::<usize>() / sample.len();
    let path = fixture.path();
    let dir = fixture.close();
    let db_bytes = disk_usage(&path);

    let child = run_child(&path)?;
    crate::keep(opts, &path, &format!("verify-{entries}"))?;
    drop(dir);
    if !child.valid {
        bail!(
            "the built ledger did not verify: {}",
            child.fault.as_deref().unwrap_or("no fault given")
        );
    }
    if child.entries != entries {
        bail!(
            "built {entries} entries but the child verified {}",
            child.entries
        );
    }
    Ok(Report::new(
        "verify",
        child.entries,
        child.entries as f64 / child.secs,
        limit,
        child.peak_rss_bytes,
    )
    .with("secs", round(child.secs, 3))
    .with("open_s", round(child.open_secs, 3))
    .with("build_s", round(build_s, 1))
    .with("build_per_s", round((entries - setup) as f64 / build_s, 1))
    .with("entry_bytes", entry_bytes)
    .with("db_bytes", db_bytes)
    .with("events", kind.name())
    .with("cores", opts.cores))
}

/// A ledger of N entries built for a scenario, with the one-core limit
/// measured over a sample of its benchmark events.
pub(crate) struct Built {
    /// The ledger, its writer still open.
    pub fixture: Fixture,
    /// The benchmark events it holds.
    pub kind: Events,
    /// Seconds the build took.
    pub build_s: f64,
    /// Up to 2,048 of its benchmark entries, stored bytes.
    pub sample: Vec<Vec<u8>>,
    /// The one-core limit over the sample, entries a second.
    pub limit: f64,
}

impl Built {
    /// Builds a ledger of `entries` entries in all (genesis and the
    /// signers' enrolments included) for `scenario`.
    pub(crate) fn new(opts: &Options, scenario: &str, entries: u64) -> Result<Built> {
        let kind = opts.events.unwrap_or(DEFAULT_EVENTS);
        let setup = Fixture::setup_entries(SIGNERS);
        if entries <= setup {
            bail!(
                "a {scenario} ledger needs more than {setup} entries (its genesis and enrolments)"
            );
        }
        let fixture = Fixture::create(opts.tmp.as_deref(), SIGNERS)?;
        let start = Instant::now();
        build(&fixture, kind, entries - setup)?;
        let build_s = start.elapsed().as_secs_f64();
        let sample = fixture.sample(2048)?;
        let limit = measure::limit_per_s(&sample)?;
        Ok(Built {
            fixture,
            kind,
            build_s,
            sample,
            limit,
        })
    }
}

/// Appends `count` benchmark events through the writer, as fast as it
/// goes (also `prove`'s ledger).
fn build(fixture: &Fixture, events: Events, count: u64) -> Result<()> {
    let mut done = 0;
    while done < count {
        let n = BUILD_CHUNK.min(count - done);
        let signed = sign_chunk(fixture, events, done, n);
        append_all(fixture, signed)?;
        done += n;
        eprintln!("verify: built {done}/{count} events");
    }
    Ok(())
}

/// `n` events split evenly among the signers. Each signer numbers its
/// share from `first`, so that handles never repeat across chunks.
fn sign_chunk(fixture: &Fixture, kind: Events, first: u64, n: u64) -> Vec<SignedEvent> {
    let mut events = Vec::with_capacity(n as usize);
    for t in 0..SIGNERS {
        let share = (n + (SIGNERS - 1 - t) as u64) / SIGNERS as u64;
        events.extend(fixture.events(kind, t, first, share));
    }
    events
}

/// Appends `events` from [`BUILD_THREADS`] threads at once.
fn append_all(fixture: &Fixture, events: Vec<SignedEvent>) -> Result<()> {
    let threads = BUILD_THREADS.min(events.len()).max(1);
    let mut parts: Vec<Vec<SignedEvent>> = (0..threads)
        .map(|_| Vec::with_capacity(events.len().div_ceil(threads)))
        .collect();
    for (i, signed) in events.into_iter().enumerate() {
        parts[i % threads].push(signed);
    }
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| {
                let ledger = &fixture.ledger;
                scope.spawn(move || -> Result<()> {
                    for signed in part {
                        fixture::append(ledger, signed)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow!("an appending thread panicked"))??;
        }
        Ok(())
    })
}

/// Runs `verify-child` on `dir` and reads its report.
fn run_child(dir: &Path) -> Result<ChildReport> {
    let exe = std::env::current_exe().context("cannot find the bench executable")?;
    let output = Command::new(exe)
        .arg("verify-child")
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run verify-child")?;
    if !output.status.success() {
        bail!("verify-child failed with {}", output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .last()
        .context("verify-child printed nothing")?;
    serde_json::from_str(line)
        .with_context(|| format!("cannot read verify-child's report {line:?}"))
}

/// The hidden `verify-child` subcommand: verifies the ledger in `dir` and
/// prints a [`ChildReport`] as one line of JSON.
pub fn child(dir: &Path) -> Result<()> {
    let start = Instant::now();
    let store = SledStore::open(dir)?;
    let open_secs = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let report = verify(&store, LedgerState::new(), None, &mut |_, _| {})?;
    let secs = start.elapsed().as_secs_f64();
    let child = ChildReport {
        entries: report.entries,
        secs,
        open_secs,
        valid: report.valid(),
        fault: report.fault.map(|f| match f.seq {
            Some(seq) => format!("entry #{seq}: {}", f.reason),
            None => f.reason,
        }),
        peak_rss_bytes: measure::peak_rss_bytes()?,
    };
    println!("{}", serde_json::to_string(&child)?);
    Ok(())
}

/// Bytes of the files under `dir`, for scale; 0 where unreadable.
pub fn disk_usage(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack: Vec<PathBuf> = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in read.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}
