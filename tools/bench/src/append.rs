//! `append`: durable appends from many concurrent writer threads.
//!
//! Each thread holds one top-management key and appends its own pre-signed
//! events one at a time, waiting for each to be durable, as a client does.
//! The writer batches whatever is queued (group commit), so the batch size
//! is at most the number of threads. Only the appends are timed: events
//! are generated and signed before the clock starts.

use std::collections::HashSet;
use std::sync::Barrier;
use std::time::Instant;

use anyhow::{Result, anyhow};
use ledger_core::SignedEvent;
use ledger_store::{Ledger, Store};
use review::LedgerState;

use crate::Options;
use crate::fixture::{Events, Fixture};
use crate::measure;
use crate::report::{Report, round};

/// Entries appended when `--entries` is not given.
pub const DEFAULT_ENTRIES: u64 = 20_000;

/// Events appended when `--events` is not given.
pub const DEFAULT_EVENTS: Events = Events::Enrol;

/// `entries` events split among the fixture's writers: writer `t`'s share,
/// signed with its own key, numbered so that no two repeat.
pub fn shares(fixture: &Fixture, kind: Events, entries: u64) -> Vec<Vec<SignedEvent>> {
    let threads = fixture.writers.len();
    let share = |t: usize| (entries + (threads - 1 - t) as u64) / threads as u64;
    let mut first = 0;
    let mut work = Vec::with_capacity(threads);
    for t in 0..threads {
        work.push(fixture.events(kind, t, first, share(t)));
        first += share(t);
    }
    work
}

/// Runs the scenario: `opts.threads` writers append `entries` in all.
pub fn run(opts: &Options, entries: u64) -> Result<Report> {
    let threads = opts.threads.max(1);
    let kind = opts.events.unwrap_or(DEFAULT_EVENTS);
    let fixture = Fixture::create(opts.tmp.as_deref(), threads)?;
    let work = shares(&fixture, kind, entries);

    measure::reset_peak_rss();
    let (secs, checkpoints) = timed(&fixture.ledger, work)?;
    let peak = measure::peak_rss_bytes()?;

    let sample = fixture.sample(2048)?;
    let limit = measure::limit_per_s(&sample)?;
    let entry_bytes = sample.iter().map(Vec::len).sum::<usize>() / sample.len();
    let fsync_us = measure::fsync_us(fixture.dir.path(), 100)?;
    drop(fixture.close());

    // Each batch has its own checkpoint, so distinct checkpoints count batches.
    let batches = checkpoints.len() as u64;
    Ok(
        Report::new("append", entries, entries as f64 / secs, limit, peak)
            .with("threads", threads)
            .with("secs", round(secs, 3))
            .with("batches", batches)
            .with(
                "mean_batch",
                round(entries as f64 / batches.max(1) as f64, 1),
            )
            .with("entry_bytes", entry_bytes)
            .with("fsync_us", round(fsync_us, 1))
            .with("events", kind.name())
            .with("cores", opts.cores),
    )
}

/// Appends each share of `work` from a thread of its own, one event at a
/// time, each waiting until durable; returns the seconds from the moment
/// all threads start and the distinct checkpoints they were given (one a
/// batch).
pub fn timed<S: Store>(
    ledger: &Ledger<S, LedgerState>,
    work: Vec<Vec<SignedEvent>>,
) -> Result<(f64, HashSet<String>)> {
    let barrier = Barrier::new(work.len() + 1);
    std::thread::scope(|scope| -> Result<(f64, HashSet<String>)> {
        let handles: Vec<_> = work
            .into_iter()
            .map(|events| {
                let barrier = &barrier;
                scope.spawn(move || -> Result<HashSet<String>> {
                    let mut checkpoints = HashSet::new();
                    barrier.wait();
                    for signed in events {
                        let receipt = ledger
                            .append(signed)
                            .map_err(|e| anyhow!("append failed: {e}"))?;
                        checkpoints.insert(receipt.checkpoint);
                    }
                    Ok(checkpoints)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let mut all = HashSet::new();
        for h in handles {
            let done = h
                .join()
                .map_err(|_| anyhow!("a writer thread panicked"))??;
            all.extend(done);
        }
        Ok((start.elapsed().as_secs_f64(), all))
    })
}
