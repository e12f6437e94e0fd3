//! `stores`: durable appends and a full verification on PostgreSQL beside
//! sled, in the same run.
//!
//! A throwaway PostgreSQL cluster is started on 127.0.0.1 from the
//! `postgresql` package's binaries (`ledger_pg::cluster`): on this same
//! machine, with `fsync` and `synchronous_commit` on, as the store requires.
//! One fixture (genesis and one enrolment per writer) is built on sled and
//! copied into the cluster (`PgStore::import`), so that both ledgers start
//! alike; then the same pre-signed events are appended to each from
//! `--threads` writer threads, one at a time each, as in `append`, and each
//! ledger is verified in full in this process. Every PostgreSQL figure is
//! printed beside sled's (`limit_per_s`), with the one-core limit
//! (`verify_strict` and the entry hash) measured in the same run.

use std::time::Instant;

use anyhow::{Result, anyhow, bail};
use ledger_pg::PgStore;
use ledger_pg::cluster::Postgres;
use ledger_store::{Ledger, Store, system_clock, verify};
use review::LedgerState;

use crate::Options;
use crate::append;
use crate::fixture::Fixture;
use crate::measure;
use crate::report::{Report, round};

/// Events appended when `--entries` is not given.
pub const DEFAULT_ENTRIES: u64 = 20_000;

/// Runs the scenario: two reports, append and verify.
pub fn run(opts: &Options, entries: u64) -> Result<Vec<Report>> {
    let pg = Postgres::start().map_err(|why| anyhow!("stores needs PostgreSQL: {why}"))?;
    let url = pg.database().map_err(|e| anyhow!("{e}"))?.parse()?;
    let threads = opts.threads.max(1);
    let kind = opts.events.unwrap_or(append::DEFAULT_EVENTS);
    let fixture = Fixture::create(opts.tmp.as_deref(), threads)?;
    let key = fixture.ledger.store().checkpoint_key()?;
    let copy = PgStore::import(&url, &**fixture.ledger.store(), &key, &mut |_, _| {})?;
    let on_pg = Ledger::start(copy, LedgerState::new(), key, system_clock())?;
    let work = append::shares(&fixture, kind, entries);

    let (sled_s, sled_batches) = append::timed(&fixture.ledger, work.clone())?;
    let (pg_s, pg_batches) = append::timed(&on_pg, work)?;
    let sled_v = timed_verify(&**fixture.ledger.store(), fixture.ledger_id)?;
    let pg_v = timed_verify(&**on_pg.store(), fixture.ledger_id)?;
    let size = fixture.ledger.store().head()?.size;
    // The writer stores a state snapshot with the batch that reaches each
    // 10,000 entries; verify checked it against the entries.
    let snapshots = (
        fixture.ledger.store().snapshot()?.is_some(),
        on_pg.store().snapshot()?.is_some(),
    );

    let sample = fixture.sample(2048)?;
    let limit = measure::limit_per_s(&sample)?;
    on_pg.close();
    drop(fixture.close());
    Ok(vec![
        Report::new(
            "stores append postgres",
            entries,
            entries as f64 / pg_s,
            entries as f64 / sled_s,
            0,
        )
        .with("secs", round(pg_s, 3))
        .with("sled_secs", round(sled_s, 3))
        .with("batches", pg_batches.len() as u64)
        .with("sled_batches", sled_batches.len() as u64)
        .with("threads", threads)
        .with("one_core_limit_per_s", round(limit, 1))
        .with("events", kind.name())
        .with("cores", opts.cores),
        Report::new(
            "stores verify postgres",
            size,
            size as f64 / pg_v,
            size as f64 / sled_v,
            0,
        )
        .with("secs", round(pg_v, 3))
        .with("sled_secs", round(sled_v, 3))
        .with("sled_snapshot", snapshots.0)
        .with("postgres_snapshot", snapshots.1)
        .with("one_core_limit_per_s", round(limit, 1))
        .with("cores", opts.cores),
    ])
}

/// Seconds a full verification of `store` takes; it must verify.
fn timed_verify<S: Store + ?Sized>(store: &S, id: ledger_core::LedgerId) -> Result<f64> {
    let start = Instant::now();
    let report = verify(store, LedgerState::new(), Some(id), &mut |_, _| {})?;
    let secs = start.elapsed().as_secs_f64();
    if let Some(f) = report.fault {
        bail!("the benchmark ledger did not verify: {}", f.reason);
    }
    Ok(secs)
}
