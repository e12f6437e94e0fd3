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

/// A PostgreSQL cluster of the test's own with one closed ledger of a
/// three-member organisation: the cluster, the database's address, the
/// parsed address, the organisation and the ledger's id; `None` after
/// saying that `test` was skipped.
fn founded(test: &str) -> Option<(Postgres, String, StoreUrl, Org, ledger_core::LedgerId)> {
    let pg = e2e::postgres(test, Postgres::start)?;
    let db = pg.database().unwrap();
    let url: StoreUrl = db.parse().unwrap();
    let org = Org::new(3);
    let (ledger, id) = org
        .found_in(PgStore::create(&url, &org.checkpoint).unwrap())
        .unwrap();
    ledger.close();
    drop(ledger);
    Some((pg, db, url, org, id))
}

// A plain test with a runtime of its own: the PostgreSQL driver's calls
// block, and may not run on the runtime's own threads.
#[test]
fn the_standby_takes_over_from_a_killed_writer_and_nothing_acknowledged_is_lost() {
    let Some((_pg, db, url, org, id)) =
        founded("the_standby_takes_over_from_a_killed_writer_and_nothing_acknowledged_is_lost")
    else {
        return;
    };
    let org = Arc::new(org);
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
// while it lives notices without an append and stands by, refusing appends
// and naming who holds the lock; once the lock is free one of the two
// servers takes over, the other follows it, and takes over when it dies.
#[test]
fn a_writer_that_loses_its_session_stands_by_and_takes_over_again() {
    let Some((_pg, db, url, org, id)) =
        founded("a_writer_that_loses_its_session_stands_by_and_takes_over_again")
    else {
        return;
    };
    let log = tempfile::NamedTempFile::new().unwrap();
    let a = Server::start_logged(
        &[],
        "127.0.0.1:0",
        &["--store", &db],
        log.reopen().unwrap().into(),
    );
    let b = serve(&db);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut acked = Vec::new();
    runtime.block_on(async {
        append_via(&a, &org, id, 100)
            .await
            .expect("the first server writes");
        acked.push(100);
    });
    // A session of the test's own queues for the writer lock (the first
    // ledger's), then the writer's session is ended from the database's
    // side: the lock passes to the queued session, and neither server can
    // take it.
    let (queued_tx, queued_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = {
        let db = db.clone();
        std::thread::spawn(move || {
            let mut session = postgres::Client::connect(&db, postgres::NoTls).unwrap();
            let pid: i32 = session
                .query_one("SELECT pg_backend_pid()", &[])
                .unwrap()
                .get(0);
            queued_tx.send(pid).unwrap();
            session
                .execute("SELECT pg_advisory_lock(1380734802, 1)", &[])
                .unwrap();
            release_rx.recv().unwrap();
        })
    };
    let queued = queued_rx.recv().unwrap();
    let mut admin = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    let waiting = || -> bool {
        postgres::Client::connect(&db, postgres::NoTls)
            .unwrap()
            .query_one(
                "SELECT count(*) > 0 FROM pg_locks WHERE pid = $1 AND NOT granted",
                &[&queued],
            )
            .unwrap()
            .get(0)
    };
    let since = Instant::now();
    while !waiting() {
        assert!(
            since.elapsed() < Duration::from_secs(15),
            "the test's session never queued"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let ended: bool = admin
        .query_one(
            "SELECT bool_or(pg_terminate_backend(pid)) FROM pg_locks
              WHERE locktype = 'advisory' AND granted AND classid = 1380734802
                AND pid <> $1",
            &[&queued],
        )
        .unwrap()
        .get(0);
    assert!(ended, "no writer session to end");
    // Without an append to find it out, the old writer notices within a
    // few follow steps that its session went, and stands by (it says so);
    // its first answer then refuses the append, naming who writes, rather
    // than failing a write.
    let since = Instant::now();
    while !std::fs::read_to_string(log.path())
        .unwrap()
        .contains("stands by")
    {
        assert!(
            since.elapsed() < Duration::from_secs(15),
            "the old writer never stood by"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    runtime.block_on(async {
        let refused = append_via(&a, &org, id, 200).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
        assert!(
            refused.message().contains("written by another server"),
            "{refused:?}"
        );
    });
    // The lock is let go: one of the two servers takes over.
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let (writer, other) = runtime.block_on(async {
        let mut n = 300;
        let wrote = std::cell::Cell::new(None);
        eventually("a server takes over", || {
            n += 1;
            let (a, b, org, n, wrote) = (&a, &b, &org, n, &wrote);
            async move {
                for (i, server) in [a, b].into_iter().enumerate() {
                    if append_via(server, org, id, n).await.is_ok() {
                        wrote.set(Some(i));
                        return true;
                    }
                }
                false
            }
        })
        .await;
        acked.push(n);
        match wrote.get() {
            Some(0) => (a, b),
            _ => (b, a),
        }
    });
    runtime.block_on(async {
        // The other refuses, naming the writer, serves reads and follows.
        let refused = append_via(&other, &org, id, 400).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
        let size = |s: &Server| {
            let s = s.url();
            async move {
                let mut client = LedgerServiceClient::connect(s).await.unwrap();
                crate::service::size(&mut client, &id).await
            }
        };
        let on_writer = size(&writer).await;
        eventually("the other server follows", || {
            let size = &size;
            let other = &other;
            async move { size(other).await == on_writer }
        })
        .await;
    });
    // The writer dies; the other takes over.
    writer.kill();
    runtime.block_on(async {
        let mut n = 500;
        eventually("the other server takes over", || {
            n += 1;
            let (other, org, n) = (&other, &org, n);
            async move { append_via(other, org, id, n).await.is_ok() }
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
    assert!(other.stop().success());
}

// A standby asks five times a second, for every ledger it hosts, whether
// the writer lock is free: on the session it holds for the ledger's reads,
// opening no connection of its own until the lock is free (a platform
// hosting thousands of ledgers would otherwise open thousands of
// connections a second, each with its TLS handshake, or hold a second
// session a ledger).
#[test]
fn a_standby_holds_one_session_and_opens_none() {
    let Some((pg, db, _url, _org, _)) = founded("a_standby_holds_one_session_and_opens_none")
    else {
        return;
    };
    let a = serve(&db);
    let b = serve(&db);
    std::thread::sleep(Duration::from_secs(2));
    let before = pg.connections().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let opened = pg.connections().unwrap() - before;
    // Fifteen tries in three seconds; none of them connects.
    assert_eq!(opened, 0, "connections opened while standing by");
    // The writer holds two sessions (reads, and the writer's with its
    // lock), the standby one.
    let mut admin = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    let held: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = 'review-ledger'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(held, 3, "sessions held by the two servers");
    assert!(a.stop().success());
    assert!(b.stop().success());
}

// A server that finds a ledger's lock free but cannot write it (here, a
// checkpoint key the database no longer holds intact) stops at start,
// saying why, rather than standing by for a writer that never comes.
#[test]
fn a_server_that_cannot_write_a_free_ledger_stops_at_start() {
    let Some((_pg, db, _url, _org, _)) =
        founded("a_server_that_cannot_write_a_free_ledger_stops_at_start")
    else {
        return;
    };
    let mut admin = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    admin
        .execute("UPDATE rl_ledgers SET checkpoint_key = 'not a key'", &[])
        .unwrap();
    let mut child = std::process::Command::new(e2e::binary())
        .args(["serve", "--store", &db, "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let since = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if since.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("serve kept running on a ledger it cannot write");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("checkpoint key"), "{stderr}");
}
