//! `verify-bundle`: the offline verification of one review's evidence
//! bundle, exported from a ledger of N entries.
//!
//! The ledger is built through the real writer over the real sled store,
//! as `rebuild` builds its own ([`crate::rebuild`]): the story's
//! organisation founded, then up to 256 units appending their chains of
//! story-like reviews ([`crate::meetings`]). Beside them one more thread
//! appends the audited review: a unit's first review whose inputs are
//! recorded again and again before the meeting closes
//! ([`meetings::long_meeting`]), [`REVIEW_ENTRIES`] entries in all. It is
//! scheduled first, before any unit's review, so that it follows no
//! earlier review (a review scheduled without a `previous` follows the
//! latest one planned before it, whatever its unit); its other steps are
//! spread evenly over the build (step `k` goes once the units have
//! appended `k / REVIEW_ENTRIES` of their events), so that they lie all
//! over the ledger as a review's events do in a busy one. `--entries N`
//! counts every entry of the ledger: the eight that found it, the audited
//! review's and the units' `N - 8 - REVIEW_ENTRIES`.
//!
//! The bundle is then exported as `review-ledger export` does
//! (`crates/cli/src/cmd_bundle.rs`): the store replayed into a
//! `SubjectLog`, the checkpoint verified and its size checked, the minutes
//! rendered as HTML, and `review::bundle::assemble` with the store's
//! entries and Merkle nodes; the report gives the replay and the assembly
//! times (`export_replay_s`, `assemble_s`), and the time the subject map's
//! root takes over the whole ledger's `subjects` (`subjects_root_ms`, the
//! best of three), which the writer computes for every batch's checkpoint. The bundle holds the genesis,
//! the roster's entries and the audited review's (it reports on no earlier
//! review), each with its inclusion proof.
//!
//! Then the bench re-executes itself as `bench verify-bundle-child --file F
//! --trust ID`, which reads the file and times `Bundle::from_bytes` and
//! `review::bundle::verify` (every entry's signature and inclusion proof,
//! the checkpoint, the subject proofs, the replay of the rules, the audit
//! and the conformance check), again and again: at least [`MIN_ROUNDS`]
//! rounds and [`MIN_TIME`]. `secs` is the fastest round, since noise only
//! slows; `first_secs` the first (what one `verify-bundle` run sees, cold)
//! and `median_secs` the median.
//!
//! The limit is the usual one: entries per second one core decodes, checks
//! with `verify_strict` and hashes with blake3, measured over the bundle's
//! own entries in the same run. `limit_secs = signatures / limit_per_s`,
//! `signatures` being the bundle's entries, one author signature each, and
//! `ratio = limit_secs / secs` (which is also `per_s / limit_per_s`, with
//! `per_s` the bundle's entries verified per second).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use ledger_core::{Admission, Checkpoint, Hash, KeyPair, Seq};
use ledger_store::{Ledger, SledStore, Store, StoreNodes, replay, system_clock};
use review::bundle::{self, Bundle};
use review::subjects::Subject;
use review::{Date, LedgerState};
use serde::{Deserialize, Serialize};

use crate::Options;
use crate::measure;
use crate::meetings;
use crate::rebuild::{self, Mirror};
use crate::report::{Report, round};
use crate::verify::disk_usage;

/// Ledger size when `--entries` is not given.
pub const DEFAULT_ENTRIES: u64 = 100_000;

/// Entries of the audited review.
pub const REVIEW_ENTRIES: usize = 200;

/// The audited review's unit, beyond the units `rebuild` numbers from 0.
const REVIEW_UNIT: usize = 9_999;

/// The least rounds of the timed verification.
const MIN_ROUNDS: usize = 10;

/// The least time the rounds of the timed verification take together.
const MIN_TIME: Duration = Duration::from_secs(2);

/// How long the audited review's thread waits for the units to move
/// before it appends the rest of the review without waiting (so that
/// failed units cannot stall it).
const STALL: Duration = Duration::from_secs(10);

/// What the child reports on its stdout, one JSON line.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChildReport {
    /// Whether the bundle verified.
    pub valid: bool,
    /// The fault, if it did not.
    pub fault: Option<String>,
    /// Entries in the bundle, as the verifier's report counts them.
    pub entries: u64,
    /// The checkpoint's size, as the verifier's report states it.
    pub checkpoint_size: u64,
    /// Whether the minutes hold and no nonconformity was found.
    pub holds: bool,
    /// Whether the audit holds (top management signed the current minutes).
    pub audit_holds: bool,
    /// Conformance findings.
    pub findings: u64,
    /// The first conformance finding, if any.
    pub first_finding: Option<String>,
    /// Timed rounds.
    pub rounds: u64,
    /// The fastest round's seconds.
    pub secs: f64,
    /// The first round's seconds.
    pub first_secs: f64,
    /// The median round's seconds.
    pub median_secs: f64,
    /// The child's `VmHWM`.
    pub peak_rss_bytes: u64,
}

/// Builds a ledger of `entries` entries with one review of
/// [`REVIEW_ENTRIES`] entries in it, exports that review's bundle and
/// verifies it in a child.
pub fn run(opts: &Options, entries: u64) -> Result<Report> {
    let dir = match opts.tmp.as_deref() {
        Some(p) => tempfile::Builder::new().prefix("bench-").tempdir_in(p),
        None => tempfile::Builder::new().prefix("bench-").tempdir(),
    }
    .context("cannot create a temporary directory")?;
    let path = dir.path().join("ledger");
    let checkpoint_key = KeyPair::from_seed([0x3f; 32]);
    let store = SledStore::create(&path, &checkpoint_key)?;
    let ledger = Ledger::start(
        store,
        LedgerState::new(),
        checkpoint_key.clone(),
        system_clock(),
    )?;
    let keys = rebuild::story_keys();
    let start = Instant::now();
    let mut founder = Mirror::new(&keys, u32::MAX, LedgerState::new());
    rebuild::found(&ledger, &mut founder, &checkpoint_key)?;
    let setup = founder.state.size;
    let Some(filler) = entries.checked_sub(setup + REVIEW_ENTRIES as u64) else {
        bail!(
            "a verify-bundle ledger needs at least {} entries (its {setup} founding ones and the review's {REVIEW_ENTRIES})",
            setup + REVIEW_ENTRIES as u64
        );
    };
    let today = Date::of_micros(system_clock()()).context("the system clock is out of range")?;
    let steps = meetings::long_meeting(REVIEW_UNIT, 0, today, REVIEW_ENTRIES);
    if steps.len() != REVIEW_ENTRIES {
        bail!(
            "the audited review has {} steps, not {REVIEW_ENTRIES}",
            steps.len()
        );
    }
    let review = meetings::review_id(REVIEW_UNIT, 0);
    let mut mirror = Mirror::new(&keys, u32::MAX - 1, founder.state.clone());
    // Scheduled before any other review, so that it has no previous one
    // (a review scheduled without one follows the latest planned before it).
    let mut steps = steps.into_iter();
    mirror.step(
        &ledger,
        steps.next().context("the audited review has no steps")?,
    )?;
    let audited = |done: &AtomicU64| -> Result<()> {
        let n = REVIEW_ENTRIES as u64;
        let mut patient = true;
        for (k, step) in (1..).zip(steps) {
            let due = filler * k / n;
            let (mut seen, mut moved) = (done.load(Ordering::Relaxed), Instant::now());
            while patient && seen < due {
                if moved.elapsed() >= STALL {
                    eprintln!("verify-bundle: the units stalled; appending the review at once");
                    patient = false;
                }
                std::thread::sleep(Duration::from_millis(2));
                let now = done.load(Ordering::Relaxed);
                if now != seen {
                    (seen, moved) = (now, Instant::now());
                }
            }
            mirror.step(&ledger, step)?;
        }
        Ok(())
    };
    if filler > 0 {
        rebuild::build_beside(&ledger, &founder, filler, audited)?;
    } else {
        audited(&AtomicU64::new(0))?;
    }
    let build_s = start.elapsed().as_secs_f64();
    drop(founder);
    ledger.close();
    drop(ledger);
    let db_bytes = disk_usage(&path);

    // The export, as `review-ledger export` makes it.
    let store = SledStore::open(&path)?;
    let start = Instant::now();
    let mut t = LedgerState::new();
    replay(&store, &mut t)?;
    let replay_s = start.elapsed().as_secs_f64();
    if !t.reviews.reviews.contains_key(&review) {
        bail!("no review {review} in the built ledger");
    }
    let note = store
        .checkpoint()?
        .context("the ledger has no checkpoint")?;
    let key = t
        .roster
        .checkpoint_key
        .context("the ledger has no genesis")?;
    let cp = Checkpoint::verify(&note, &key)?;
    if cp.size != t.size || cp.size != entries {
        bail!(
            "the checkpoint states {} entries, {} are stored and {entries} were built",
            cp.size,
            t.size
        );
    }
    let start = Instant::now();
    let read = |seq: Seq| -> Result<Vec<u8>> {
        store
            .entry(seq)?
            .with_context(|| format!("entry {seq} is missing"))
    };
    let bundle = bundle::assemble(&t, &review, note, &read, &StoreNodes(&store))?;
    let bytes = bundle.to_bytes();
    let assemble_s = start.elapsed().as_secs_f64();
    // What the writer computes for every batch's checkpoint at this size:
    // the subject map's root, over every review's tip and the roster's.
    let subjects_root_ms = (0..3)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(Admission::subjects(&t));
            1e3 * start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    let subjects = t.subjects.len();
    let reviews: Vec<String> = bundle::needed_subjects(&t, &review)
        .into_iter()
        .filter_map(|s| match s {
            Subject::Review(r) => Some(r.to_string()),
            Subject::Roster => None,
        })
        .collect();
    drop(t);
    drop(store);
    let file = dir.path().join("review.bundle");
    std::fs::write(&file, &bytes).with_context(|| format!("cannot write {}", file.display()))?;

    let sample: Vec<Vec<u8>> = bundle.entries.iter().map(|e| e.entry.clone()).collect();
    let limit = measure::limit_per_s(&sample)?;
    let entry_bytes = sample.iter().map(Vec::len).sum::<usize>() / sample.len();
    let proof_bytes = bundle
        .entries
        .iter()
        .map(|e| 32 * e.proof.len())
        .sum::<usize>();
    let signatures = bundle.entries.len() as u64;
    // Where the audited review's entries lie: after the roster's, all of them.
    let seqs = sample
        .iter()
        .map(|b| Ok(ledger_core::Entry::decode(b)?.seq.0))
        .collect::<Result<Vec<u64>>>()?;
    let review_seqs = [seqs[setup as usize..].first(), seqs.last()];
    drop(bundle);

    eprintln!(
        "verify-bundle: verifying a bundle of {signatures} entries, {} bytes",
        bytes.len()
    );
    let trust = cp.ledger_id.to_hex();
    let child: ChildReport = crate::run_child(&[
        "verify-bundle-child".as_ref(),
        "--file".as_ref(),
        file.as_os_str(),
        "--trust".as_ref(),
        trust.as_ref(),
    ])?;
    drop(dir);
    if !child.valid {
        bail!(
            "the exported bundle did not verify: {}",
            child.fault.as_deref().unwrap_or("no fault given")
        );
    }
    if child.entries != signatures || child.checkpoint_size != entries {
        bail!(
            "exported {signatures} entries against {entries} but the child verified {} against {}",
            child.entries,
            child.checkpoint_size
        );
    }
    let limit_secs = signatures as f64 / limit;
    Ok(Report::new(
        "verify-bundle",
        signatures,
        signatures as f64 / child.secs,
        limit,
        child.peak_rss_bytes,
    )
    .with(
        "limit_kind",
        "verify and hash: entries/s one core decodes, verify_strict's and blake3-hashes (VerifiedEntry::from_bytes) over the bundle's entries",
    )
    .with("secs", round(child.secs, 4))
    .with("limit_secs", round(limit_secs, 4))
    .with("first_secs", round(child.first_secs, 4))
    .with("median_secs", round(child.median_secs, 4))
    .with("rounds", child.rounds)
    .with("signatures", signatures)
    .with("review_entries", REVIEW_ENTRIES)
    .with("review_seqs", serde_json::json!(review_seqs))
    .with("reviews", reviews)
    .with("ledger_entries", entries)
    .with("bundle_bytes", bytes.len())
    .with("proof_bytes", proof_bytes)
    .with("entry_bytes", entry_bytes)
    .with("holds", child.holds)
    .with("audit_holds", child.audit_holds)
    .with("findings", child.findings)
    .with("first_finding", child.first_finding)
    .with("export_replay_s", round(replay_s, 2))
    .with("subjects", subjects)
    .with("subjects_root_ms", round(subjects_root_ms, 2))
    .with("assemble_s", round(assemble_s, 3))
    .with("build_s", round(build_s, 1))
    .with("build_per_s", round((entries - setup) as f64 / build_s, 1))
    .with("db_bytes", db_bytes)
    .with("events", "reviews")
    .with("cores", opts.cores))
}

/// The hidden `verify-bundle-child` subcommand: reads the bundle `file`,
/// verifies it against the ledger id `trust` again and again, and prints a
/// [`ChildReport`] as one line of JSON.
pub fn child(file: &Path, trust: &str) -> Result<()> {
    let trusted = Hash::from_hex("--trust", trust)?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let today = Date::of_micros(system_clock()()).context("the system clock is out of range")?;
    let once = || -> Result<(Duration, bundle::BundleReport)> {
        let start = Instant::now();
        let outcome = Bundle::from_bytes(&bytes).and_then(|b| bundle::verify(&b, trusted, today));
        let secs = start.elapsed();
        // The state is dropped after the clock stops, the report kept.
        let (report, state) = outcome.map_err(|e| anyhow!("{e}"))?;
        drop(state);
        Ok((secs, report))
    };
    let (first, report) = match once() {
        Ok(r) => r,
        Err(e) => {
            let child = ChildReport {
                valid: false,
                fault: Some(e.to_string()),
                entries: 0,
                checkpoint_size: 0,
                holds: false,
                audit_holds: false,
                findings: 0,
                first_finding: None,
                rounds: 0,
                secs: 0.0,
                first_secs: 0.0,
                median_secs: 0.0,
                peak_rss_bytes: measure::peak_rss_bytes()?,
            };
            println!("{}", serde_json::to_string(&child)?);
            return Ok(());
        }
    };
    let mut times = vec![first.as_secs_f64()];
    let start = Instant::now();
    while times.len() < MIN_ROUNDS || start.elapsed() < MIN_TIME {
        let (secs, r) = once()?;
        std::hint::black_box(r);
        times.push(secs.as_secs_f64());
    }
    let rounds = times.len() as u64;
    let stats = measure::Stats::of(&mut times);
    let child = ChildReport {
        valid: true,
        fault: None,
        entries: report.entries as u64,
        checkpoint_size: report.checkpoint_size,
        holds: report.holds(),
        audit_holds: report.audit.holds(),
        findings: report.conformance.findings.len() as u64,
        first_finding: report
            .conformance
            .findings
            .first()
            .map(|f| format!("{} ({:?}): {}", f.rule, f.severity, f.message)),
        rounds,
        secs: times[0],
        first_secs: first.as_secs_f64(),
        median_secs: stats.median,
        peak_rss_bytes: measure::peak_rss_bytes()?,
    };
    println!("{}", serde_json::to_string(&child)?);
    Ok(())
}
