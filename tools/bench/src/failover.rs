//! `failover`: how long a ledger on PostgreSQL cannot take appends when the
//! server that writes it dies.
//!
//! A throwaway cluster is started on 127.0.0.1 (`ledger_pg::cluster`), the
//! usual fixture is copied into it, and two `review-ledger serve --store`
//! processes (the binary beside this bench: `cargo build --release -p cli`)
//! host it: the first writes, the second stands by. Eight clients append
//! pre-signed events through both (the standby refuses, naming the
//! writer). [`ROUNDS`] times, at a random moment, the writer is SIGKILLed
//! and brought back on standby; each round's figure is the time from the
//! kill to the first append the other server acknowledges. `per_s` is one
//! over the median of those times, `limit_per_s` one over the standby's
//! follow interval (`service::host::FOLLOW_EVERY`), the soonest a standby
//! can notice the lock is free.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use ledger_core::SignedEvent;
use ledger_pg::PgStore;
use ledger_pg::cluster::Postgres;
use rand_core::RngCore;

use crate::Options;
use crate::append;
use crate::fixture::{Events, Fixture};
use crate::report::{Report, round};
use crate::scaling::{Serving, binary};
use crate::served;

/// Times the writer is killed.
pub const ROUNDS: usize = 10;

/// Concurrent appending clients.
const CLIENTS: usize = 8;

/// Runs the scenario.
pub fn run(opts: &Options) -> Result<Report> {
    let bin = binary()?;
    let pg = Postgres::start().map_err(|why| anyhow!("failover needs PostgreSQL: {why}"))?;
    let db = pg.database().map_err(|e| anyhow!("{e}"))?;
    let fixture = Fixture::create(opts.tmp.as_deref(), CLIENTS)?;
    let key = fixture.ledger.store().checkpoint_key()?;
    drop(PgStore::import(
        &db.parse()?,
        &**fixture.ledger.store(),
        &key,
        &mut |_, _| {},
    )?);
    let id = fixture.ledger_id;
    // Enough events for the run: 8 clients never run out.
    let work = append::shares(&fixture, Events::Enrol, 200_000);
    let serve = || Serving::start_with(&bin, &["--store", &db], false);
    let mut servers = [Some(serve()?), Some(serve()?)];
    let addrs = Arc::new(RwLock::new([
        servers[0]
            .as_ref()
            .map(|s| s.url.clone())
            .unwrap_or_default(),
        servers[1]
            .as_ref()
            .map(|s| s.url.clone())
            .unwrap_or_default(),
    ]));
    // When each append was acknowledged, and by which server's address.
    let acked: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let used = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = work
        .into_iter()
        .take(CLIENTS)
        .map(|events| {
            let (addrs, acked, stop, used) =
                (addrs.clone(), acked.clone(), stop.clone(), used.clone());
            runtime.spawn(client(events, addrs, acked, stop, used, id))
        })
        .collect();

    let mut writer = 0;
    let mut failovers = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        std::thread::sleep(Duration::from_millis(
            300 + rand_core::OsRng.next_u64() % 300,
        ));
        let killed_at = Instant::now();
        let killed = addrs.read().unwrap()[writer].clone();
        if let Some(s) = servers[writer].take() {
            s.kill();
        }
        // The first acknowledgement after the kill by the other server:
        // one from the killed writer that arrives afterwards was committed
        // before it died.
        let taken_over = |acked: &[(Instant, String)]| {
            acked
                .iter()
                .filter(|(at, by)| *at > killed_at && *by != killed)
                .map(|(at, _)| *at)
                .min()
        };
        let first = loop {
            if let Some(at) = taken_over(&acked.lock().unwrap()) {
                break at;
            }
            if killed_at.elapsed() > Duration::from_secs(60) {
                bail!("no append acknowledged 60 s after the writer died");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        failovers.push((first - killed_at).as_secs_f64());
        let back = serve()?;
        addrs.write().unwrap()[writer] = back.url.clone();
        servers[writer] = Some(back);
        writer = 1 - writer;
    }
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        runtime.block_on(c)??;
    }
    drop(servers);
    drop(fixture.close());
    failovers.sort_by(f64::total_cmp);
    let median = failovers[failovers.len() / 2];
    let worst = failovers[failovers.len() - 1];
    let follow = service::host::FOLLOW_EVERY.as_secs_f64();
    Ok(Report::new(
        "failover postgres",
        acked.lock().unwrap().len() as u64,
        1.0 / median,
        1.0 / follow,
        0,
    )
    .with("median_s", round(median, 3))
    .with("worst_s", round(worst, 3))
    .with("best_s", round(failovers[0], 3))
    .with("rounds", ROUNDS)
    .with("clients", CLIENTS)
    .with("follow_every_s", follow)
    .with("events_sent", used.load(Ordering::SeqCst))
    .with("cores", opts.cores))
}

/// One client: appends its events one at a time, through either server,
/// recording when each was acknowledged.
async fn client(
    events: Vec<SignedEvent>,
    addrs: Arc<RwLock<[String; 2]>>,
    acked: Arc<Mutex<Vec<(Instant, String)>>>,
    stop: Arc<AtomicBool>,
    used: Arc<AtomicUsize>,
    id: ledger_core::LedgerId,
) -> Result<()> {
    let mut turn = 0usize;
    for signed in events {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        used.fetch_add(1, Ordering::SeqCst);
        for _ in 0..2 {
            turn += 1;
            let addr = addrs.read().unwrap()[turn % 2].clone();
            let Ok(mut c) = served::Served::client(&addr).await else {
                continue;
            };
            if served::append(&mut c, &id, &signed).await.is_ok() {
                acked.lock().unwrap().push((Instant::now(), addr));
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    bail!("a client ran out of events")
}
