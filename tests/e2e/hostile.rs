//! Hostile and careless clients against the real `review-ledger serve` on
//! 127.0.0.1: floods of abandoned verifications, stalled and surplus feeds,
//! silent and half-open connections, over-long streams and ids, a bad
//! certificate, and a server killed while clients append. Each case checks
//! the status code, that the server still answers health, and that the
//! ledger holds exactly what was acknowledged.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use e2e::{event_id, rl};
use ledger_core::{KeyPair, LedgerId, SignedEvent, UnixMicros};
use ledger_store::{Ledger, SledStore, Store, system_clock};
use review::{LedgerState, MemberId, MemberRecord, Payload, RosterChange};
use service::pb;
use service::pb::ledger_service_client::LedgerServiceClient;
use tonic::Code;
use tonic::transport::Endpoint;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::service::{Server, enrol, founded, request, size, verify_dir};

/// How long any one step may take before the test calls it a hang (a guard
/// against waiting forever, not a speed requirement).
const HANG: Duration = Duration::from_secs(120);

/// The server answers `grpc.health.v1` on a fresh connection.
async fn healthy(server: &Server) {
    let channel =
        tokio::time::timeout(HANG, Endpoint::from_shared(server.url()).unwrap().connect())
            .await
            .expect("health connects in time")
            .expect("health connects");
    let mut health = HealthClient::new(channel);
    let answer = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers");
    assert_eq!(answer.into_inner().status(), ServingStatus::Serving);
}

/// `n` roster proposals by `key`, each enrolling a fresh member, appended
/// through the real writer from several threads before any server starts.
fn grow(dir: &Path, ledger: LedgerId, key: &KeyPair, first: u64, n: u64) {
    let store = SledStore::open(dir).unwrap();
    let checkpoint = store.checkpoint_key().unwrap();
    let writer =
        Arc::new(Ledger::start(store, LedgerState::new(), checkpoint, system_clock()).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (writer, key) = (writer.clone(), key.clone());
            std::thread::spawn(move || {
                for i in (first + t..first + n).step_by(8) {
                    let mut seed = [0x5au8; 32];
                    seed[..8].copy_from_slice(&i.to_le_bytes());
                    let record = MemberRecord {
                        handle: MemberId::new(format!("g{i}")).unwrap(),
                        name: format!("Guest {i}"),
                        role: "Analyst".into(),
                        top_management: false,
                        key: KeyPair::from_seed(seed).public(),
                    };
                    let payload = Payload::Propose(RosterChange::Enrol(record));
                    let event =
                        review::compose(ledger, event_id(i), &key, UnixMicros(i as i64), &payload)
                            .sign(&key);
                    writer.append(event).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    writer.close();
}

/// The demo organisation's ledger, grown by `extra` entries so that one
/// whole verification takes a while; its directory, id and a review.
fn large_demo(root: &Path, extra: u64) -> (std::path::PathBuf, LedgerId, String) {
    let demo = root.join("demo");
    let (v, _) = rl(&["demo", "--json", "--dir", demo.to_str().unwrap()], 0);
    let id = LedgerId::from_hex("ledger_id", v["ledger_id"].as_str().unwrap()).unwrap();
    let ledger = demo.join("ledger");
    let ceo = ledger_store::keyfile::read_private(&demo.join("keys/ceo.pem")).unwrap();
    grow(&ledger, id, &ceo, 1_000_000, extra);
    (ledger, id, review::story::current_id().as_str().to_owned())
}

/// A whole-ledger verification: the costliest call an auditor can make.
fn verify_request(id: &LedgerId, review: &str) -> pb::VerifyReviewRequest {
    pb::VerifyReviewRequest {
        ledger_id: id.to_hex(),
        review: review.to_owned(),
        whole_ledger: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_abandoned_verifications_starves_no_append() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, id, review) = large_demo(tmp.path(), 3_000);
    let server = Server::start(
        &[&dir],
        "127.0.0.1:0",
        &["--audit-threads", "1", "--audit-queue", "8"],
    );
    let mut client = server.ledger().await;
    let before = size(&mut client, &id).await;

    // 64 auditors' calls at once, each given up after 300 ms.
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let (url, req) = (server.url(), verify_request(&id, &review));
        flood.spawn(async move {
            let mut c = service::pb::review_service_client::ReviewServiceClient::connect(url)
                .await
                .unwrap();
            let mut req = tonic::Request::new(req);
            req.set_timeout(Duration::from_millis(300));
            c.verify_review(req).await.map(|_| ()).map_err(|s| s.code())
        });
    }
    // An append goes through while they run.
    let ceo = ledger_store::keyfile::read_private(&dir.join("../keys/ceo.pem")).unwrap();
    let event = one_enrolment(id, &ceo, 2_000_000);
    let ack = tokio::time::timeout(HANG, client.append(request(&id, &event)))
        .await
        .expect("an append completes during the flood")
        .expect("the append is admitted");
    assert_eq!(ack.into_inner().seq, before);

    let mut codes = Vec::new();
    while let Some(done) = flood.join_next().await {
        codes.push(done.unwrap());
    }
    let refused = codes
        .iter()
        .filter(|c| **c == Err(Code::ResourceExhausted))
        .count();
    assert!(
        refused >= 64 - 8 - 1,
        "a queue of 8 refuses the rest at once: {codes:?}"
    );
    assert!(
        codes.iter().all(|c| matches!(
            c,
            Err(Code::ResourceExhausted | Code::DeadlineExceeded | Code::Cancelled) | Ok(())
        )),
        "{codes:?}"
    );

    // The abandoned calls leave the queue: a patient auditor is served.
    let mut answer = None;
    for _ in 0..200 {
        let mut auditor = server.review().await;
        let call = auditor.verify_review(verify_request(&id, &review));
        match tokio::time::timeout(HANG, call)
            .await
            .expect("answered in time")
        {
            Ok(a) => {
                answer = Some(a.into_inner());
                break;
            }
            Err(s) if s.code() == Code::ResourceExhausted => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(s) => panic!("{s:?}"),
        }
    }
    let answer = answer.expect("the queue drains once its callers are gone");
    assert!(answer.valid, "{}", answer.fault);
    assert_eq!(answer.entries, before + 1);
    healthy(&server).await;
    assert_eq!(size(&mut client, &id).await, before + 1);

    // Told to stop during another flood, it stops within its grace period.
    for _ in 0..8 {
        let (url, req) = (server.url(), verify_request(&id, &review));
        flood.spawn(async move {
            let mut c = service::pb::review_service_client::ReviewServiceClient::connect(url)
                .await
                .unwrap();
            c.verify_review(req).await.map(|_| ()).map_err(|s| s.code())
        });
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = tokio::task::spawn_blocking(move || server.stop_within(HANG))
        .await
        .unwrap()
        .expect("serve stops within its grace period");
    assert!(status.success(), "{status:?}");
    flood.abort_all();
    verify_dir(&dir);
}

/// A roster proposal by `key` enrolling one fresh member, event number `n`.
fn one_enrolment(ledger: LedgerId, key: &KeyPair, n: u64) -> SignedEvent {
    let record = MemberRecord {
        handle: MemberId::new(format!("p{n}")).unwrap(),
        name: format!("Probe {n}"),
        role: "Analyst".into(),
        top_management: false,
        key: KeyPair::from_seed([0x77; 32]).public(),
    };
    review::compose(
        ledger,
        event_id(n),
        key,
        UnixMicros(n as i64),
        &Payload::Propose(RosterChange::Enrol(record)),
    )
    .sign(key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_are_capped_and_a_stalled_one_is_dropped_with_a_resume_status() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let (org, id) = founded(&dir);
    grow(&dir, id, &org.keys[0], 10_000, 400);
    let server = Server::start(
        &[&dir],
        "127.0.0.1:0",
        &[
            "--max-feeds",
            "3",
            "--feeds-per-connection",
            "2",
            "--feed-buffer-kib",
            "16",
            "--feed-stall-secs",
            "1",
        ],
    );
    let mut client = server.ledger().await;
    let before = size(&mut client, &id).await;
    let open = || pb::FeedRequest {
        ledger_id: id.to_hex(),
        from: 0,
    };
    // Connection A: a small HTTP/2 window, as over a slow link.
    let mut a = server.slow_link(8 * 1024).await;
    let mut stalled = a.feed(open()).await.unwrap().into_inner();
    let _second = a.feed(open()).await.unwrap().into_inner();
    let third = a.feed(open()).await.unwrap_err();
    assert_eq!(third.code(), Code::ResourceExhausted, "{third:?}");
    assert!(third.message().contains("this connection"), "{third:?}");
    // Connection B takes the server's last feed; connection C finds none.
    let _b = server.ledger().await.feed(open()).await.unwrap();
    let full = server.ledger().await.feed(open()).await.unwrap_err();
    assert_eq!(full.code(), Code::ResourceExhausted, "{full:?}");
    assert!(full.message().contains("this server"), "{full:?}");

    // The stalled subscriber reads nothing for a while, then finds the
    // entries its window held, in order, and a status to resume by.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut next = 0;
    let status = loop {
        let got = tokio::time::timeout(HANG, stalled.message())
            .await
            .expect("the dropped feed ends");
        match got {
            Ok(Some(m)) => {
                assert_eq!(m.entry.unwrap().seq, next, "feed order");
                next += 1;
            }
            Ok(None) => panic!("a dropped feed ends with a status, not OK"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("resume"), "{status:?}");
    assert!(next < before, "it was dropped before it had everything");

    // Its place was freed: a new subscriber resumes from where it stopped.
    let mut resumed = None;
    for _ in 0..100 {
        match server
            .ledger()
            .await
            .feed(pb::FeedRequest {
                ledger_id: id.to_hex(),
                from: next,
            })
            .await
        {
            Ok(s) => {
                resumed = Some(s.into_inner());
                break;
            }
            Err(s) if s.code() == Code::ResourceExhausted => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(s) => panic!("{s:?}"),
        }
    }
    let mut resumed = resumed.expect("the dropped feed's place is freed");
    let m = resumed.message().await.unwrap().unwrap();
    assert_eq!(m.entry.unwrap().seq, next);
    healthy(&server).await;
    assert_eq!(size(&mut client, &id).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_half_open_connections_are_closed_and_capped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let (_, id) = founded(&dir);
    let server = Server::start(
        &[&dir],
        "127.0.0.1:0",
        &["--max-connections", "8", "--idle-secs", "3"],
    );
    let before = size(&mut server.ledger().await, &id).await;
    // That client's connection is closed; let the server see it go.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Twelve connections: six send nothing, six send the HTTP/2 preface and
    // half a frame header, then nothing. The first eight take every place.
    let mut peers = Vec::new();
    for i in 0..12 {
        let mut s = TcpStream::connect(&server.addr).unwrap();
        if i % 2 == 1 {
            s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00")
                .unwrap();
        }
        peers.push(s);
    }
    // With every place held, a real client is turned away.
    let locked_out = tokio::time::timeout(HANG, async {
        let channel = Endpoint::from_shared(server.url())?.connect().await?;
        let mut h = HealthClient::new(channel);
        h.check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map_err(|s| s.into())
        .map(|_| ())
        .map_err(|e: Box<dyn std::error::Error + Send + Sync>| e)
    })
    .await
    .expect("the refusal comes in time");
    assert!(locked_out.is_err(), "the ninth connection is refused");

    // Every one of them is closed by the server: the four beyond the cap
    // at once, the rest once they have been silent for the idle limit.
    let closed = tokio::task::spawn_blocking(move || {
        peers
            .into_iter()
            .map(|mut s| {
                s.set_read_timeout(Some(HANG)).unwrap();
                let mut buf = [0u8; 4096];
                loop {
                    match s.read(&mut buf) {
                        Ok(0) => return true,
                        Ok(_) => continue,
                        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                        Err(_) => return false,
                    }
                }
            })
            .filter(|closed| *closed)
            .count()
    })
    .await
    .unwrap();
    assert_eq!(closed, 12, "every silent connection is closed");
    healthy(&server).await;
    assert_eq!(size(&mut server.ledger().await, &id).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_stream_is_capped_before_it_appends_and_says_what_it_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let (org, id) = founded(&dir);
    let server = Server::start(&[&dir], "127.0.0.1:0", &[]);
    let mut client = server.ledger().await;
    let before = size(&mut client, &id).await;
    let cap = service::limits::STREAM_EVENTS as u64;

    struct Case {
        name: &'static str,
        events: u64,
        bad_at: Option<u64>,
        code: Code,
        kept: u64,
    }
    let cases = [
        Case {
            name: "one event over the cap",
            events: cap + 1,
            bad_at: None,
            code: Code::ResourceExhausted,
            kept: cap,
        },
        Case {
            name: "a bad signature at #5",
            events: 10,
            bad_at: Some(5),
            code: Code::PermissionDenied,
            kept: 5,
        },
    ];
    let mut n = 100_000;
    for case in cases {
        let start = size(&mut client, &id).await;
        let events: Vec<_> = (0..case.events)
            .map(|i| {
                n += 1;
                let mut e = enrol(&org, id, n);
                if Some(i) == case.bad_at
                    && let ledger_core::EventSignature::Ed25519(s) = &mut e.signature
                {
                    s.0[3] ^= 1;
                }
                request(&id, &e)
            })
            .collect();
        let answer = tokio::time::timeout(HANG, client.append_stream(tokio_stream::iter(events)))
            .await
            .expect("the stream is answered in time");
        let status = answer.expect_err(case.name);
        assert_eq!(status.code(), case.code, "{}: {status:?}", case.name);
        let meta = status.metadata();
        let appended: u64 = meta
            .get("appended")
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(appended, case.kept, "{}", case.name);
        let last: u64 = meta
            .get("last-seq")
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(last, start + case.kept - 1, "{}", case.name);
        assert_eq!(
            size(&mut client, &id).await,
            start + case.kept,
            "{}",
            case.name
        );
    }
    // A stream within the cap says what it appended.
    let start = size(&mut client, &id).await;
    let events: Vec<_> = (0..3)
        .map(|i| request(&id, &enrol(&org, id, 200_000 + i)))
        .collect();
    let ok = client
        .append_stream(tokio_stream::iter(events))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((ok.appended, ok.last_seq), (3, Some(start + 2)));
    healthy(&server).await;
    assert!(size(&mut client, &id).await > before);
    drop(server);
    verify_dir(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_id_is_refused_without_being_echoed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let (_, id) = founded(&dir);
    let server = Server::start(&[&dir], "127.0.0.1:0", &[]);
    let long = "x".repeat(100 * 1024);
    let mut ledger = server.ledger().await;
    let mut review = server.review().await;
    let answers = [
        (
            "ReadReview review",
            ledger
                .read_review(pb::ReadReviewRequest {
                    ledger_id: id.to_hex(),
                    review: long.clone(),
                })
                .await
                .map(|_| ()),
        ),
        (
            "GetMinutes review",
            review
                .get_minutes(pb::GetMinutesRequest {
                    ledger_id: id.to_hex(),
                    review: long.clone(),
                    format: 0,
                })
                .await
                .map(|_| ()),
        ),
        (
            "ListActions as_of",
            review
                .list_actions(pb::ListActionsRequest {
                    ledger_id: id.to_hex(),
                    review: String::new(),
                    as_of: long.clone(),
                })
                .await
                .map(|_| ()),
        ),
        (
            "ReadRange ledger_id",
            ledger
                .read_range(pb::ReadRangeRequest {
                    ledger_id: long.clone(),
                    start: 0,
                    limit: 1,
                })
                .await
                .map(|_| ()),
        ),
    ];
    for (name, answer) in answers {
        let status = answer.expect_err(name);
        assert_eq!(status.code(), Code::InvalidArgument, "{name}: {status:?}");
        assert!(
            status.message().len() < 256,
            "{name}: a {} byte message",
            status.message().len()
        );
    }
    healthy(&server).await;
}

#[test]
fn a_bad_certificate_is_refused_before_listening() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    founded(&dir);
    let (cert, key) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    std::fs::write(
        &cert,
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    std::fs::write(&key, "not a key").unwrap();
    let (code, out, err) = e2e::run(&[
        "serve",
        "--ledger",
        dir.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ])
    .unwrap();
    assert_eq!(code, 2, "{out}{err}");
    assert!(!out.contains("listening"), "{out}");
    assert!(err.contains("TLS"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_during_appends_loses_no_acknowledged_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let (org, id) = founded(&dir);
    let org = Arc::new(org);
    let mut acked: Vec<(u64, u64)> = Vec::new();
    for round in 0..3u64 {
        let server = Server::start(&[&dir], "127.0.0.1:0", &[]);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut clients = tokio::task::JoinSet::new();
        for c in 0..8u64 {
            let (url, org, stop) = (server.url(), org.clone(), stop.clone());
            clients.spawn(async move {
                let mut client = LedgerServiceClient::connect(url).await.unwrap();
                let mut mine = Vec::new();
                for i in 0..10_000u64 {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let n = 1_000_000 * (round + 1) + c * 10_000 + i;
                    match client.append(request(&id, &enrol(&org, id, n))).await {
                        Ok(ack) => mine.push((ack.into_inner().seq, n)),
                        Err(_) => break,
                    }
                }
                mine
            });
        }
        tokio::time::sleep(Duration::from_millis(300 + 200 * round)).await;
        server.kill();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        while let Some(mine) = clients.join_next().await {
            acked.extend(mine.unwrap());
        }
    }
    assert!(
        acked.len() > 3,
        "appends were acknowledged before each kill"
    );
    let store = SledStore::open(&dir).unwrap();
    for (seq, n) in &acked {
        let bytes = store
            .entry(ledger_core::Seq(*seq))
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged entry #{seq} is lost"));
        let entry = ledger_core::Entry::decode(&bytes).unwrap();
        let event = ledger_core::Event::decode(&entry.event).unwrap();
        assert_eq!(event.id, event_id(*n), "entry #{seq} holds another event");
    }
    drop(store);
    verify_dir(&dir);
}
