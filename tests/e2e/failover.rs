//! Two `review-ledger serve` instances on one PostgreSQL database: one
//! writes the ledger, the other stands by, serving reads and the feed.
//! Eight clients append through both while the writer is SIGKILLed at a
//! random moment, round after round; the survivor takes over, the killed
//! one comes back on standby. Every acknowledged entry must be in the
//! ledger once, the ledger must verify, and a subscriber on the surviving
//! instance must see every entry, in order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use e2e::{Org, event_id};
use ledger_core::{Entry, Event, Seq};
use ledger_pg::cluster::Postgres;
use ledger_pg::{Access, PgStore, StoreUrl};
use ledger_store::{Store, verify};
use rand_core::RngCore;
use review::LedgerState;
use service::pb;
use service::pb::ledger_service_client::LedgerServiceClient;

use crate::service::{Server, enrol, request, take};

/// Rounds of killing the writer.
const ROUNDS: usize = 20;
/// Concurrent appending clients.
const CLIENTS: u64 = 8;

fn serve(db: &str) -> Server {
    Server::start(&[], "127.0.0.1:0", &["--store", db])
}

// A plain test with a runtime of its own: the PostgreSQL driver's calls
// block, and may not run on the runtime's own threads.
#[test]
fn the_standby_takes_over_from_a_killed_writer_and_nothing_acknowledged_is_lost() {
    let Some(pg) = e2e::postgres(
        "the_standby_takes_over_from_a_killed_writer_and_nothing_acknowledged_is_lost",
        Postgres::start,
    ) else {
        return;
    };
    let db = pg.database().unwrap();
    let url: StoreUrl = db.parse().unwrap();
    let org = Arc::new(Org::new(3));
    let (ledger, id) = org
        .found_in(PgStore::create(&url, &org.checkpoint).unwrap())
        .unwrap();
    ledger.close();
    drop(ledger);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let (acked, mut feed, mut failovers, servers) = runtime.block_on(async move {
        // The first to start writes; the second stands by.
        let mut servers = [Some(serve(&db)), Some(serve(&db))];
        let mut writer = 0;
        let addrs: Arc<RwLock<[String; 2]>> = Arc::new(RwLock::new([
            servers[0].as_ref().unwrap().url(),
            servers[1].as_ref().unwrap().url(),
        ]));
        let refused = {
            let mut standby = servers[1].as_ref().unwrap().ledger().await;
            standby
                .append(request(&id, &enrol(&org, id, 1)))
                .await
                .expect_err("the standby does not write")
        };
        assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
        assert!(
            refused.message().contains("written by another server"),
            "{refused:?}"
        );

        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicU64::new(100));
        let acked: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
        let mut clients = Vec::new();
        for c in 0..CLIENTS {
            let (stop, next, acked, addrs, org) = (
                stop.clone(),
                next.clone(),
                acked.clone(),
                addrs.clone(),
                org.clone(),
            );
            clients.push(tokio::spawn(async move {
                let mut channels: HashMap<String, LedgerServiceClient<tonic::transport::Channel>> =
                    HashMap::new();
                let mut turn = c as usize;
                while !stop.load(Ordering::SeqCst) {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let e = enrol(&org, id, n);
                    // Through either server: the standby refuses, the writer appends.
                    for _ in 0..2 {
                        turn += 1;
                        let addr = addrs.read().unwrap()[turn % 2].clone();
                        let client = match channels.get_mut(&addr) {
                            Some(c) => c,
                            None => match LedgerServiceClient::connect(addr.clone()).await {
                                Ok(c) => channels.entry(addr).or_insert(c),
                                Err(_) => continue,
                            },
                        };
                        if client.append(request(&id, &e)).await.is_ok() {
                            acked.lock().unwrap().push((n, Instant::now()));
                            break;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }));
        }

        let mut failovers = Vec::new();
        let mut subscriber = None;
        for round in 0..ROUNDS {
            tokio::time::sleep(Duration::from_millis(
                100 + rand_core::OsRng.next_u64() % 300,
            ))
            .await;
            let standby = 1 - writer;
            if round == ROUNDS - 1 {
                // A subscriber on the instance that will survive the last kill.
                let feed = servers[standby]
                    .as_ref()
                    .unwrap()
                    .ledger()
                    .await
                    .feed(pb::FeedRequest {
                        ledger_id: id.to_hex(),
                        from: 0,
                    })
                    .await
                    .unwrap()
                    .into_inner();
                subscriber = Some(feed);
            }
            if round == ROUNDS / 2 {
                // An auditor verifies the database while both servers take
                // appends: the ledger as of one end of its log verifies.
                let (db, id) = (db.clone(), id.to_hex());
                let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
                    e2e::run(&["verify", "--store", &db, "--trust", &id, "--json"]).unwrap()
                })
                .await
                .unwrap();
                assert_eq!(code, 0, "verify during appends: {stdout}{stderr}");
            }
            let before = acked.lock().unwrap().len();
            let killed_at = Instant::now();
            servers[writer].take().unwrap().kill();
            // The standby takes over: appends are acknowledged again.
            let taken = loop {
                let since = acked.lock().unwrap()[before..]
                    .iter()
                    .find(|(_, at)| *at > killed_at)
                    .map(|(_, at)| *at);
                if let Some(at) = since {
                    break at;
                }
                assert!(
                    killed_at.elapsed() < Duration::from_secs(30),
                    "round {round}: no append acknowledged 30 s after the writer died"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            };
            failovers.push(taken - killed_at);
            // The killed one comes back, on standby.
            let back = serve(&db);
            addrs.write().unwrap()[writer] = back.url();
            servers[writer] = Some(back);
            writer = standby;
        }
        stop.store(true, Ordering::SeqCst);
        for c in clients {
            c.await.unwrap();
        }
        let acked = std::mem::take(&mut *acked.lock().unwrap());
        (acked, subscriber.unwrap(), failovers, servers)
    });

    let reads = PgStore::open(&url, Some(id), Access::Read).unwrap();
    let size = reads.head().unwrap().size;
    let mut seen: HashMap<ledger_core::EventId, u32> = HashMap::new();
    for (_, bytes) in reads.range(Seq(0), usize::MAX).unwrap() {
        let entry = Entry::decode(&bytes).unwrap();
        *seen
            .entry(Event::decode(&entry.event).unwrap().id)
            .or_default() += 1;
    }
    assert!(
        acked.len() > 100,
        "only {} appends acknowledged",
        acked.len()
    );
    for (n, _) in acked.iter() {
        assert_eq!(seen.get(&event_id(*n)), Some(&1), "acknowledged event {n}");
    }
    assert!(seen.values().all(|&c| c == 1), "an event stored twice");
    let report = verify(&reads, LedgerState::new(), Some(id), &mut |_, _| {}).unwrap();
    assert!(report.fault.is_none(), "{:?}", report.fault);
    assert_eq!(report.entries, size);

    // The subscriber on the survivor saw every entry, in order.
    runtime.block_on(take(&mut feed, 0, size));
    // Both stop cleanly, the writer and the one on standby.
    for server in servers.into_iter().flatten() {
        assert!(server.stop().success());
    }
    failovers.sort();
    eprintln!(
        "failover over {ROUNDS} rounds: {} appends acknowledged, {size} entries; writer killed to first acknowledged append: median {:?}, worst {:?}",
        acked.len(),
        failovers[failovers.len() / 2],
        failovers[failovers.len() - 1]
    );
}

/// Appends event `n` through `server`, or says why not.
async fn append_via(
    server: &Server,
    org: &Org,
    id: ledger_core::LedgerId,
    n: u64,
) -> Result<u64, tonic::Status> {
    let mut client = server.ledger().await;
    client
        .append(request(&id, &enrol(org, id, n)))
        .await
        .map(|r| r.into_inner().seq)
}

/// Retries `attempt` every 50 ms until it holds, for up to 15 s.
async fn eventually<F, Fut>(what: &str, mut attempt: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let since = Instant::now();
    while !attempt().await {
        assert!(since.elapsed() < Duration::from_secs(15), "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// A writer whose database session ends (a network blip, an administrator)
// while it lives: the standby takes the lock; the old writer's next write
// fails unacknowledged, and it stands by, serving reads, until the new
// writer dies and it takes over again.
#[test]
fn a_writer_that_loses_its_session_stands_by_and_takes_over_again() {
    let Some(pg) = e2e::postgres(
        "a_writer_that_loses_its_session_stands_by_and_takes_over_again",
        Postgres::start,
    ) else {
        return;
    };
    let db = pg.database().unwrap();
    let url: StoreUrl = db.parse().unwrap();
    let org = Org::new(3);
    let (ledger, id) = org
        .found_in(PgStore::create(&url, &org.checkpoint).unwrap())
        .unwrap();
    ledger.close();
    drop(ledger);
    let a = serve(&db);
    let b = serve(&db);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut acked = Vec::new();
    runtime.block_on(async {
        append_via(&a, &org, id, 100)
            .await
            .expect("the first server writes");
        acked.push(100);
    });
    // The writer's session is ended from the database's side.
    let mut admin = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    let ended: bool = admin
        .query_one(
            "SELECT bool_or(pg_terminate_backend(pid)) FROM pg_locks
              WHERE locktype = 'advisory' AND granted AND classid = 1380734802",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(ended, "no writer session to end");
    runtime.block_on(async {
        let mut n = 200;
        eventually("the standby takes over", || {
            n += 1;
            let (b, org, n) = (&b, &org, n);
            async move { append_via(b, org, id, n).await.is_ok() }
        })
        .await;
        acked.push(n);
        // The old writer refuses, first as a failed write, then naming the
        // server that writes now.
        let mut m = 300;
        eventually("the old writer stands by", || {
            m += 1;
            let (a, org, m) = (&a, &org, m);
            async move {
                matches!(append_via(a, org, id, m).await, Err(s) if s.code() == tonic::Code::Unavailable)
            }
        })
        .await;
        // It still serves reads, and follows the new writer.
        let size = |s: &Server| {
            let s = s.url();
            async move {
                let mut client = LedgerServiceClient::connect(s).await.unwrap();
                crate::service::size(&mut client, &id).await
            }
        };
        let on_b = size(&b).await;
        eventually("the old writer follows", || {
            let size = &size;
            let a = &a;
            async move { size(a).await == on_b }
        })
        .await;
    });
    // The new writer dies; the old one takes over again.
    b.kill();
    runtime.block_on(async {
        let mut n = 400;
        eventually("the old writer takes over again", || {
            n += 1;
            let (a, org, n) = (&a, &org, n);
            async move { append_via(a, org, id, n).await.is_ok() }
        })
        .await;
        acked.push(n);
    });
    let reads = PgStore::open(&url, Some(id), Access::Read).unwrap();
    for n in acked {
        assert!(reads.seq_of(&event_id(n)).unwrap().is_some(), "event {n}");
    }
    let report = verify(&reads, LedgerState::new(), Some(id), &mut |_, _| {}).unwrap();
    assert!(report.fault.is_none(), "{:?}", report.fault);
    assert!(a.stop().success());
}

// A standby tries the writer lock five times a second, for every ledger it
// hosts: on one session that waits for it, not on a connection made for
// each try (a platform hosting thousands of ledgers would otherwise open
// thousands of connections a second, each with its TLS handshake).
#[test]
fn a_standby_waits_for_the_lock_on_one_session() {
    let Some(pg) = e2e::postgres(
        "a_standby_waits_for_the_lock_on_one_session",
        Postgres::start,
    ) else {
        return;
    };
    let db = pg.database().unwrap();
    let url: StoreUrl = db.parse().unwrap();
    let org = Org::new(3);
    let (ledger, _) = org
        .found_in(PgStore::create(&url, &org.checkpoint).unwrap())
        .unwrap();
    ledger.close();
    drop(ledger);
    let a = serve(&db);
    let b = serve(&db);
    let mut admin = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    // Sessions ever opened on the database; the statistics may lag by a
    // second.
    let mut sessions = || -> i64 {
        admin
            .query_one(
                "SELECT sessions FROM pg_stat_database WHERE datname = current_database()",
                &[],
            )
            .unwrap()
            .get(0)
    };
    std::thread::sleep(Duration::from_secs(2));
    let before = sessions();
    std::thread::sleep(Duration::from_secs(3));
    let opened = sessions() - before;
    // Fifteen tries in three seconds; none of them connects.
    assert!(opened <= 1, "{opened} sessions opened while standing by");
    assert!(a.stop().success());
    assert!(b.stop().success());
}
