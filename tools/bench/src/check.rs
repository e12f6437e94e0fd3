//! `check`: the conformance check over many reviews, in reviews per second.
//!
//! The state is built in memory, with no store: `review::rehearsal`
//! founds the story's organisation and admits, through the same
//! `LedgerState` rules a ledger runs, [`UNITS`] units' chains of
//! story-like reviews ([`crate::meetings`]), `--reviews` in all (1,000 by
//! default: 50 units of 20 annual reviews), each review's events received
//! on its meeting day and the updates between reviews some months later.
//! Then `review::conformance::check` runs on every review, as of 150 days
//! after the last meeting. Sweeps over all of them are timed in
//! [`ROUNDS`] rounds of at least [`ROUND_TIME`] each; the fastest round
//! counts, since noise only slows. Every review is meant to pass clean:
//! `passed` and `findings` say whether they did. The check of one review
//! looks at the reviews and actions before it, so its cost grows with the
//! ledger: compare runs at different `--reviews` (`us_per_review`).
//!
//! The issue asks only for reviews per second, so the limit beside it is a
//! yardstick and says so in `limit_kind`: the reviews per second one core
//! could merely decode the events of (the canonical codec over the ledger's
//! entries, as in `rebuild`, divided by the entries per review). A ratio
//! well below 1 says the check costs more than reading the review does.

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use ledger_core::{Entry, Event, Hash, Seq, hash_entry_bytes};
use review::conformance;
use review::rehearsal::{Rehearsal, noon};
use review::{Date, Severity};

use crate::Options;
use crate::measure;
use crate::meetings;
use crate::report::{Report, round};

/// Reviews checked when `--reviews` is not given.
pub const DEFAULT_REVIEWS: u64 = 1_000;

/// Units the reviews are spread over.
pub const UNITS: u64 = 50;

/// Timed rounds of the check and of the limit; the fastest counts.
const ROUNDS: usize = 3;

/// The least time one round runs for.
const ROUND_TIME: Duration = Duration::from_millis(300);

/// Items per second of `pass`, which handles `items` items each time it
/// runs: the fastest of [`ROUNDS`] rounds, each running `pass` again and
/// again for at least [`ROUND_TIME`].
fn best_rate(items: usize, mut pass: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = 0f64;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let mut done = 0u64;
        while start.elapsed() < ROUND_TIME {
            pass()?;
            done += items as u64;
        }
        best = best.max(done as f64 / start.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// Builds `reviews` reviews in memory and checks every one of them.
pub fn run(opts: &Options, reviews: u64) -> Result<Report> {
    if reviews == 0 {
        bail!("check needs at least one review");
    }
    let units = UNITS.min(reviews);
    let of_unit = |u: u64| (reviews + (units - 1 - u)) / units;
    let per_unit = of_unit(0);
    let today = Date::of_micros((ledger_store::system_clock())())
        .ok_or_else(|| anyhow!("the system clock is out of range"))?;
    let first = today.plus_days(-(meetings::INTERVAL_DAYS * per_unit as i64) - 180);

    measure::reset_peak_rss();
    let start = Instant::now();
    let mut r = Rehearsal::founded(first.plus_days(-30));
    let admit = |r: &mut Rehearsal, steps: &[review::story::Step]| {
        r.run(steps)
            .map_err(|(i, e)| anyhow!("step {i} of a generated review was refused: {e}"))
    };
    let mut last_held = first;
    for j in 0..per_unit {
        let held = meetings::held(first, j);
        last_held = held;
        r.set_clock(noon(held));
        for u in (0..units).filter(|u| j < of_unit(*u)) {
            admit(&mut r, &meetings::meeting(u as usize, j, held))?;
        }
        r.set_clock(noon(held.plus_days(120)));
        for u in (0..units).filter(|u| j < of_unit(*u)) {
            admit(&mut r, &meetings::between(u as usize, j))?;
        }
    }
    let build_s = start.elapsed().as_secs_f64();
    let as_of = last_held.plus_days(150);
    let ids = r.state.reviews.order.clone();
    if ids.len() as u64 != reviews {
        bail!("built {} reviews, not {reviews}", ids.len());
    }

    // The first sweep counts what the check found; the next ones are timed.
    let (mut passed, mut findings, mut nonconformities) = (0u64, 0u64, 0u64);
    let mut first_finding = None;
    for id in &ids {
        let report = conformance::check(&r.state, id, as_of).map_err(|e| anyhow!("{e}"))?;
        passed += u64::from(report.passed());
        findings += report.findings.len() as u64;
        nonconformities += report.count(Severity::Nonconformity) as u64;
        if first_finding.is_none()
            && let Some(f) = report.findings.first()
        {
            first_finding = Some(format!("{id}: {} {}", f.rule, f.message));
        }
    }
    if let Some(f) = &first_finding {
        eprintln!("check: not every review is clean; the first finding: {f}");
    }
    let per_s = best_rate(ids.len(), || {
        for id in &ids {
            let report = conformance::check(&r.state, id, as_of).map_err(|e| anyhow!("{e}"))?;
            std::hint::black_box(report);
        }
        Ok(())
    })?;
    let peak = measure::peak_rss_bytes()?;

    // The ledger's entries as a store would hold them, for the limit.
    let mut entries = Vec::with_capacity(r.events.len());
    let mut prev = Hash::ZERO;
    for (i, signed) in r.events.iter().enumerate() {
        let event = Event::decode(&signed.event)?;
        let bytes = Entry {
            seq: Seq(i as u64),
            prev,
            received: event.time,
            event: signed.event.clone(),
            signature: signed.signature.clone(),
        }
        .encode();
        prev = hash_entry_bytes(&bytes);
        entries.push(bytes);
    }
    let decode_per_s = best_rate(entries.len(), || {
        measure::decode_secs(&entries)?;
        Ok(())
    })?;
    let entries_per_review = entries.len() as f64 / reviews as f64;

    Ok(Report::new(
        "check",
        reviews,
        per_s,
        decode_per_s / entries_per_review,
        peak,
    )
    .with("per", "review")
    .with(
        "limit_kind",
        "a yardstick, not the issue's: reviews/s one core decodes the events of (Entry::decode + Event::decode + Payload::decode over the ledger's entries, / entries per review)",
    )
    .with("us_per_review", round(1e6 / per_s, 1))
    .with("passed", passed)
    .with("findings", findings)
    .with("nonconformities", nonconformities)
    .with("units", units)
    .with("ledger_entries", entries.len())
    .with("entries_per_review", round(entries_per_review, 2))
    .with("decode_per_s", round(decode_per_s, 1))
    .with("actions", r.state.reviews.actions.len())
    .with("as_of", as_of.to_string())
    .with("build_s", round(build_s, 2))
    .with("events", "reviews")
    .with("cores", opts.cores))
}
