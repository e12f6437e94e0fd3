//! `grpc-append`: durable appends from concurrent gRPC clients over loopback,
//! beside the local durable `append` rate measured in the same run.
//!
//! First the local `append` scenario runs as it does on its own (the same
//! number of writer threads, the same events, its own fresh ledger). Then a
//! second fresh ledger is served by the real server on 127.0.0.1, and as
//! many clients as there were threads, each on a connection of its own,
//! append their pre-signed events one at a time, each waiting for its
//! acknowledgement (which the server sends only once the entry is durable).
//! `limit_per_s` is the local rate; the target is a ratio of at least 0.5.

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::{Result, bail};

use crate::Options;
use crate::append;
use crate::fixture::Fixture;
use crate::measure;
use crate::report::{Report, round};
use crate::served::{self, Served};

/// Runs the scenario: `entries` appends locally, then `entries` over gRPC.
pub fn run(opts: &Options, entries: u64) -> Result<Report> {
    let local = append::run(opts, entries)?;
    let kind = opts.events.unwrap_or(append::DEFAULT_EVENTS);
    let fixture = Fixture::create(opts.tmp.as_deref(), opts.threads.max(1))?;
    let clients = fixture.writers.len();
    let setup = Fixture::setup_entries(clients);
    let work = append::shares(&fixture, kind, entries);
    let id = fixture.ledger_id;
    measure::reset_peak_rss();
    let (served, dir) = Served::take_over(fixture, opts.cache_bytes)?;
    let url = served.url.clone();
    let (secs, seqs) = served.runtime.block_on(async move {
        // Every client connects before the clock starts.
        let mut connected = Vec::with_capacity(clients);
        for events in work {
            connected.push((Served::client(&url).await?, events));
        }
        let start = Instant::now();
        let tasks: Vec<_> = connected
            .into_iter()
            .map(|(mut client, events)| {
                tokio::spawn(async move {
                    let mut seqs = Vec::with_capacity(events.len());
                    for signed in &events {
                        seqs.push(served::append(&mut client, &id, signed).await?);
                    }
                    anyhow::Ok(seqs)
                })
            })
            .collect();
        let mut seqs = BTreeSet::new();
        for t in tasks {
            seqs.extend(t.await??);
        }
        anyhow::Ok((start.elapsed().as_secs_f64(), seqs))
    })?;
    let peak = measure::peak_rss_bytes()?;
    served.stop()?;
    drop(dir);

    // Each acknowledgement names its own place, with no gap.
    if seqs.len() as u64 != entries
        || seqs.first() != Some(&setup)
        || seqs.last() != Some(&(setup + entries - 1))
    {
        bail!(
            "{entries} appends were acknowledged at {} distinct places, not #{setup} to #{}",
            seqs.len(),
            setup + entries - 1
        );
    }
    let per_s = entries as f64 / secs;
    Ok(
        Report::new("grpc-append", entries, per_s, local.per_s, peak)
            .with(
                "limit_kind",
                "local durable append from as many threads, same run",
            )
            .with("clients", clients)
            .with("secs", round(secs, 3))
            .with(
                "local_secs",
                local.extra.get("secs").cloned().unwrap_or_default(),
            )
            .with(
                "local_mean_batch",
                local.extra.get("mean_batch").cloned().unwrap_or_default(),
            )
            .with("one_core_limit_per_s", local.limit_per_s)
            .with("target_ratio", 0.5)
            .with("events", kind.name())
            .with("cache_mib", opts.cache_bytes >> 20)
            .with("cores", opts.cores),
    )
}
