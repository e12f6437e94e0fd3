//! `append-latency`: one writer, one append at a time.
//!
//! With nothing else queued every append is a batch of one, so its latency
//! is the writer's fixed cost: verify, admit, chain, one sled batch and one
//! flush. It is reported beside the median write(4 KiB) + fsync of a plain
//! file on the same disk, the floor that any durable append pays.

use std::time::Instant;

use anyhow::Result;

use crate::Options;
use crate::fixture::{self, Events, Fixture};
use crate::measure::{self, Stats, micros};
use crate::report::{Report, round};

/// Appends timed when `--entries` is not given.
pub const DEFAULT_ENTRIES: u64 = 2_000;

/// Events appended when `--events` is not given.
pub const DEFAULT_EVENTS: Events = Events::Enrol;

/// Runs the scenario with `entries` sequential appends.
pub fn run(opts: &Options, entries: u64) -> Result<Report> {
    let kind = opts.events.unwrap_or(DEFAULT_EVENTS);
    let fixture = Fixture::create(opts.tmp.as_deref(), 1)?;
    let events = fixture.events(kind, 0, 0, entries);

    measure::reset_peak_rss();
    let mut times = Vec::with_capacity(events.len());
    for signed in events {
        let start = Instant::now();
        fixture::append(&fixture.ledger, signed)?;
        times.push(micros(start.elapsed()));
    }
    let peak = measure::peak_rss_bytes()?;
    let stats = Stats::of(&mut times);

    let sample = fixture.sample(2048)?;
    let limit = measure::limit_per_s(&sample)?;
    let fsync_us = measure::fsync_us(fixture.dir.path(), 200)?;
    drop(fixture.close());

    Ok(
        Report::new("append-latency", entries, 1e6 / stats.mean, limit, peak)
            .with("mean_us", round(stats.mean, 1))
            .with("median_us", round(stats.median, 1))
            .with("p99_us", round(stats.p99, 1))
            .with("fsync_us", round(fsync_us, 1))
            .with("median_over_fsync", round(stats.median / fsync_us, 2))
            .with("events", kind.name())
            .with("cores", opts.cores),
    )
}
