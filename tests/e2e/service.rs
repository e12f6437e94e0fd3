//! The gRPC service end to end: the real `review-ledger serve` binary on
//! 127.0.0.1 (port 0, the bound address read from its stdout), real sled on
//! disk, and real tonic clients: the generated one and `review-ledger feed`.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Lines};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use e2e::{Org, event_id};
use ledger_core::merkle::{verify_consistency, verify_inclusion};
use ledger_core::{Hash, KeyPair, LedgerId, SignedEvent, UnixMicros};
use review::{MemberRecord, Payload, RosterChange};
use service::pb;
use service::pb::ledger_service_client::LedgerServiceClient;
use service::pb::review_service_client::ReviewServiceClient;
use tonic::Code;
use tonic::transport::Channel;

/// A running `review-ledger serve`, stopped with SIGTERM when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: String,
    _out: Lines<BufReader<ChildStdout>>,
}

impl Server {
    pub(crate) fn start(dirs: &[&Path], listen: &str, extra: &[&str]) -> Server {
        Server::start_logged(dirs, listen, extra, Stdio::inherit())
    }

    /// [`Server::start`] with the server's stderr sent to `stderr`.
    pub(crate) fn start_logged(
        dirs: &[&Path],
        listen: &str,
        extra: &[&str],
        stderr: Stdio,
    ) -> Server {
        let mut cmd = Command::new(e2e::binary());
        cmd.arg("serve").args(["--listen", listen]);
        for d in dirs {
            cmd.arg("--ledger").arg(d);
        }
        let mut child = cmd
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("review-ledger serve starts");
        let out = BufReader::new(child.stdout.take().unwrap()).lines();
        // Built before the first line is read, so that a failure stops the child.
        let mut server = Server {
            child,
            addr: String::new(),
            _out: out,
        };
        let first = server
            ._out
            .next()
            .expect("serve prints its address")
            .expect("stdout reads");
        server.addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        server
    }

    /// The id of the first ledger the server lists.
    pub(crate) async fn first_ledger_id(&self) -> String {
        self.ledger()
            .await
            .list_ledgers(pb::ListLedgersRequest {})
            .await
            .unwrap()
            .into_inner()
            .ledgers[0]
            .ledger_id
            .clone()
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) async fn ledger(&self) -> LedgerServiceClient<Channel> {
        LedgerServiceClient::connect(self.url()).await.unwrap()
    }

    /// A client on a connection of its own whose HTTP/2 windows hold
    /// `window` bytes, as over a slow link: the server can have only a few
    /// messages in flight to it before its streams back up.
    pub(crate) async fn slow_link(&self, window: u32) -> LedgerServiceClient<Channel> {
        let channel = tonic::transport::Endpoint::from_shared(self.url())
            .unwrap()
            .initial_stream_window_size(Some(window))
            .initial_connection_window_size(Some(window))
            .connect()
            .await
            .unwrap();
        LedgerServiceClient::new(channel)
    }

    pub(crate) async fn review(&self) -> ReviewServiceClient<Channel> {
        ReviewServiceClient::connect(self.url()).await.unwrap()
    }

    /// SIGTERM, then the exit status, or `None` if it has not exited
    /// within `limit` (it is then killed).
    pub(crate) fn stop_within(
        mut self,
        limit: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        terminate(&self.child);
        let since = std::time::Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break Some(status);
            }
            if since.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        std::mem::forget(self);
        status
    }

    /// SIGKILL, as a power cut would stop it.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::forget(self);
    }

    /// SIGTERM, then the exit status: graceful shutdown exits 0.
    pub(crate) fn stop(mut self) -> std::process::ExitStatus {
        terminate(&self.child);
        let status = self.child.wait().unwrap();
        std::mem::forget(self);
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        terminate(&self.child);
        let _ = self.child.wait();
    }
}

fn terminate(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

/// A founded ledger of three members, its writer closed so the server can open it.
pub(crate) fn founded(dir: &Path) -> (Org, LedgerId) {
    let org = Org::new(3);
    let (ledger, id) = org.found(dir).unwrap();
    ledger.close();
    drop(ledger);
    (org, id)
}

/// A valid roster proposal by member 0, event number `n`, enrolling a fresh key.
pub(crate) fn enrol(org: &Org, id: LedgerId, n: u64) -> SignedEvent {
    enrol_by(org, id, 0, n)
}

fn enrol_by(org: &Org, id: LedgerId, who: usize, n: u64) -> SignedEvent {
    let mut seed = [0x3cu8; 32];
    seed[..8].copy_from_slice(&n.to_le_bytes());
    let record = MemberRecord {
        handle: review::MemberId::new(format!("n{n}")).unwrap(),
        name: format!("New Member {n}"),
        role: "Analyst".into(),
        top_management: false,
        key: KeyPair::from_seed(seed).public(),
    };
    org.sign(id, who, n, &Payload::Propose(RosterChange::Enrol(record)))
}

pub(crate) fn request(id: &LedgerId, e: &SignedEvent) -> pb::AppendRequest {
    pb::AppendRequest {
        ledger_id: id.to_hex(),
        event: Some(service::convert::signed_event_pb(e)),
    }
}

pub(crate) async fn size(client: &mut LedgerServiceClient<Channel>, id: &LedgerId) -> u64 {
    client
        .get_checkpoint(pb::GetCheckpointRequest {
            ledger_id: id.to_hex(),
        })
        .await
        .unwrap()
        .into_inner()
        .size
}

pub(crate) fn verify_dir(dir: &Path) {
    let (code, out, err) = e2e::run(&["verify", "--ledger", dir.to_str().unwrap()]).unwrap();
    assert_eq!(code, 0, "verify failed: {out}{err}");
}

fn hash(bytes: &[u8]) -> Hash {
    Hash(bytes.try_into().expect("32-byte hash"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_read_and_prove_over_grpc() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let (org, id) = founded(&dir);
    let server = Server::start(&[&dir], "127.0.0.1:0", &[]);
    let mut client = server.ledger().await;
    let before = size(&mut client, &id).await;

    let event = enrol(&org, id, 1000);
    let receipt = client
        .append(request(&id, &event))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(receipt.seq, before);
    assert!(receipt.checkpoint.contains(&format!("\n{}\n", before + 1)));

    let read = client
        .read_range(pb::ReadRangeRequest {
            ledger_id: id.to_hex(),
            start: 0,
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.size, before + 1);
    assert_eq!(read.entries.len() as u64, before + 1);
    let last = read.entries.last().unwrap();
    assert_eq!(last.entry_hash, receipt.entry_hash);
    assert_eq!(
        ledger_core::hash_entry_bytes(&last.entry).0.to_vec(),
        last.entry_hash,
        "the raw bytes hash to the stated entry hash"
    );
    let decoded = last.event.as_ref().unwrap();
    assert_eq!(decoded.kind, "roster.propose");
    assert_eq!(decoded.event_id, event_id(1000).to_hex());

    let by_id = client
        .get_by_event_id(pb::GetByEventIdRequest {
            ledger_id: id.to_hex(),
            event_id: event_id(1000).to_hex(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_id.seq, receipt.seq);

    let proof = client
        .get_inclusion_proof(pb::GetInclusionProofRequest {
            ledger_id: id.to_hex(),
            seq: 1,
            tree_size: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let path: Vec<Hash> = proof.path.iter().map(|h| hash(h)).collect();
    verify_inclusion(
        &hash(&proof.entry_hash),
        &ledger_core::InclusionProof {
            index: 1,
            size: proof.tree_size,
            path,
        },
        &hash(&proof.root),
    )
    .expect("inclusion proof verifies");
    let cons = client
        .get_consistency_proof(pb::GetConsistencyProofRequest {
            ledger_id: id.to_hex(),
            old_size: 2,
            new_size: 0,
        })
        .await
        .unwrap()
        .into_inner();
    verify_consistency(
        &ledger_core::ConsistencyProof {
            old_size: 2,
            new_size: cons.new_size,
            path: cons.path.iter().map(|h| hash(h)).collect(),
        },
        &hash(&cons.old_root),
        &hash(&cons.new_root),
    )
    .expect("consistency proof verifies");

    // The projections follow the append: the pending proposal is visible,
    // and a whole-ledger verification through the server holds.
    let reviews = server
        .review()
        .await
        .list_reviews(pb::ListReviewsRequest {
            ledger_id: id.to_hex(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(reviews.reviews.is_empty());

    assert!(server.stop().success(), "graceful shutdown exits 0");
    verify_dir(&dir);
}

/// One refused call: what to send, the code and a phrase of the message.
struct Case {
    name: &'static str,
    code: Code,
    phrase: &'static str,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_code_and_nothing_appended() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let (org, id) = founded(&dir);
    let server = Server::start(&[&dir], "127.0.0.1:0", &[]);
    let mut client = server.ledger().await;
    let stored = enrol(&org, id, 1000);
    client.append(request(&id, &stored)).await.unwrap();
    let before = size(&mut client, &id).await;

    let mut bad_sig = enrol(&org, id, 1001);
    if let ledger_core::EventSignature::Ed25519(s) = &mut bad_sig.signature {
        s.0[7] ^= 1;
    }
    let stranger = KeyPair::from_seed([99; 32]);
    let unknown_key = review::compose(
        id,
        event_id(1002),
        &stranger,
        UnixMicros(0),
        &Payload::Approve(event_id(1)),
    )
    .sign(&stranger);
    let other_ledger = enrol(&org, Hash([9; 32]), 1003);
    let not_top = enrol_by(&org, id, 2, 1004);
    let mut garbage = enrol(&org, id, 1005);
    garbage.event.truncate(garbage.event.len() - 3);
    // Well signed by top management, but a field no ledger could accept.
    let nameless = org.sign(
        id,
        0,
        1006,
        &Payload::Propose(RosterChange::Enrol(MemberRecord {
            handle: review::MemberId::new("nameless").unwrap(),
            name: " ".into(),
            role: "Analyst".into(),
            top_management: false,
            key: KeyPair::from_seed([0x5e; 32]).public(),
        })),
    );

    let appends: Vec<(Case, pb::AppendRequest)> = vec![
        (
            Case {
                name: "bad signature",
                code: Code::PermissionDenied,
                phrase: "does not verify",
            },
            request(&id, &bad_sig),
        ),
        (
            Case {
                name: "unknown key",
                code: Code::PermissionDenied,
                phrase: "is not enrolled",
            },
            request(&id, &unknown_key),
        ),
        (
            Case {
                name: "rule violation",
                code: Code::FailedPrecondition,
                phrase: "m2 is not top management",
            },
            request(&id, &not_top),
        ),
        (
            Case {
                name: "malformed field",
                code: Code::InvalidArgument,
                phrase: "name: must not be empty",
            },
            request(&id, &nameless),
        ),
        (
            Case {
                name: "duplicate event id",
                code: Code::AlreadyExists,
                phrase: "already in the ledger at #",
            },
            request(&id, &stored),
        ),
        (
            Case {
                name: "event for another ledger",
                code: Code::InvalidArgument,
                phrase: "is for ledger 0909",
            },
            request(&id, &other_ledger),
        ),
        (
            Case {
                name: "truncated event",
                code: Code::InvalidArgument,
                phrase: "cannot decode",
            },
            request(&id, &garbage),
        ),
        (
            Case {
                name: "short signature",
                code: Code::InvalidArgument,
                phrase: "event.signature: 63 bytes",
            },
            pb::AppendRequest {
                ledger_id: id.to_hex(),
                event: Some(pb::SignedEvent {
                    event: stored.event.clone(),
                    signature: vec![0; 63],
                }),
            },
        ),
        (
            Case {
                name: "missing event",
                code: Code::InvalidArgument,
                phrase: "event: missing",
            },
            pb::AppendRequest {
                ledger_id: id.to_hex(),
                event: None,
            },
        ),
        (
            Case {
                name: "oversized event",
                code: Code::InvalidArgument,
                phrase: "over the limit",
            },
            pb::AppendRequest {
                ledger_id: id.to_hex(),
                event: Some(pb::SignedEvent {
                    event: vec![0; 70 * 1024],
                    signature: vec![0; 64],
                }),
            },
        ),
        (
            Case {
                name: "ledger id not hex",
                code: Code::InvalidArgument,
                phrase: "ledger_id",
            },
            pb::AppendRequest {
                ledger_id: "zz".into(),
                event: Some(service::convert::signed_event_pb(&bad_sig)),
            },
        ),
        (
            Case {
                name: "unknown ledger",
                code: Code::NotFound,
                phrase: "no ledger 0707",
            },
            pb::AppendRequest {
                ledger_id: Hash([7; 32]).to_hex(),
                event: Some(service::convert::signed_event_pb(&stored)),
            },
        ),
    ];
    for (case, req) in appends {
        let status = client.append(req).await.expect_err(case.name);
        check(&case, &status);
    }

    // The reads' refusals.
    let status = client
        .get_by_event_id(pb::GetByEventIdRequest {
            ledger_id: id.to_hex(),
            event_id: event_id(4242).to_hex(),
        })
        .await
        .unwrap_err();
    check(
        &Case {
            name: "unknown event id",
            code: Code::NotFound,
            phrase: "no event",
        },
        &status,
    );
    let status = client
        .read_range(pb::ReadRangeRequest {
            ledger_id: id.to_hex(),
            start: before + 5,
            limit: 1,
        })
        .await
        .unwrap_err();
    check(
        &Case {
            name: "sequence beyond the end",
            code: Code::NotFound,
            phrase: "beyond the ledger",
        },
        &status,
    );
    let status = client
        .get_inclusion_proof(pb::GetInclusionProofRequest {
            ledger_id: id.to_hex(),
            seq: before,
            tree_size: 0,
        })
        .await
        .unwrap_err();
    check(
        &Case {
            name: "proof of an entry beyond the tree",
            code: Code::NotFound,
            phrase: "not in the tree",
        },
        &status,
    );
    let status = server
        .review()
        .await
        .get_minutes(pb::GetMinutesRequest {
            ledger_id: id.to_hex(),
            review: "mr-none".into(),
            format: 0,
        })
        .await
        .unwrap_err();
    check(
        &Case {
            name: "unknown review",
            code: Code::NotFound,
            phrase: "no review mr-none",
        },
        &status,
    );

    // A stream stops at its first refused event and names it.
    let events = vec![
        request(&id, &enrol(&org, id, 1100)),
        request(&id, &bad_sig),
        request(&id, &enrol(&org, id, 1101)),
    ];
    let status = client
        .append_stream(tokio_stream::iter(events))
        .await
        .unwrap_err();
    check(
        &Case {
            name: "stream with a bad event",
            code: Code::PermissionDenied,
            phrase: "event #1 of the stream",
        },
        &status,
    );

    assert_eq!(
        size(&mut client, &id).await,
        before + 1,
        "only the stream's first event was appended"
    );
    assert!(server.stop().success());
    verify_dir(&dir);
}

fn check(case: &Case, status: &tonic::Status) {
    assert_eq!(status.code(), case.code, "{}: {status:?}", case.name);
    assert!(
        status.message().contains(case.phrase),
        "{}: {:?} should mention {:?}",
        case.name,
        status.message(),
        case.phrase
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_concurrent_clients_lose_nothing() {
    const CLIENTS: u64 = 16;
    const EACH: u64 = 20;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let (org, id) = founded(&dir);
    let org = std::sync::Arc::new(org);
    let server = Server::start(&[&dir], "127.0.0.1:0", &[]);
    let before = size(&mut server.ledger().await, &id).await;
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let url = server.url();
        let org = org.clone();
        tasks.push(tokio::spawn(async move {
            // Each client has its own connection.
            let mut client = LedgerServiceClient::connect(url).await.unwrap();
            let mut seqs = Vec::new();
            for i in 0..EACH {
                let e = enrol(&org, id, 10_000 + c * 1000 + i);
                seqs.push(
                    client
                        .append(request(&id, &e))
                        .await
                        .unwrap()
                        .into_inner()
                        .seq,
                );
            }
            seqs
        }));
    }
    let mut seqs = BTreeSet::new();
    for t in tasks {
        for s in t.await.unwrap() {
            assert!(seqs.insert(s), "sequence {s} acknowledged twice");
        }
    }
    let expected: BTreeSet<u64> = (before..before + CLIENTS * EACH).collect();
    assert_eq!(seqs, expected, "every append has its own place, no gap");
    let mut client = server.ledger().await;
    assert_eq!(size(&mut client, &id).await, before + CLIENTS * EACH);
    for c in 0..CLIENTS {
        for i in 0..EACH {
            client
                .get_by_event_id(pb::GetByEventIdRequest {
                    ledger_id: id.to_hex(),
                    event_id: event_id(10_000 + c * 1000 + i).to_hex(),
                })
                .await
                .unwrap();
        }
    }
    assert!(server.stop().success());
    verify_dir(&dir);
}

/// Reads `n` feed messages, checking order and the raw bytes against the stated hash.
pub(crate) async fn take(
    stream: &mut tonic::Streaming<pb::FeedMessage>,
    from: u64,
    n: u64,
) -> Vec<pb::FeedMessage> {
    let mut out = Vec::new();
    for want in from..from + n {
        let m = stream.message().await.unwrap().expect("the feed goes on");
        let e = m.entry.as_ref().unwrap();
        assert_eq!(e.seq, want, "feed order");
        assert_eq!(m.sequence, want.to_string());
        assert_eq!(
            ledger_core::hash_entry_bytes(&e.entry).0.to_vec(),
            e.entry_hash
        );
        out.push(m);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_catches_up_then_tails_live() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let (org, id) = founded(&dir);
    let server = Server::start(&[&dir], "127.0.0.1:0", &[]);
    let mut client = server.ledger().await;
    let before = size(&mut client, &id).await;
    let open = |from| pb::FeedRequest {
        ledger_id: id.to_hex(),
        from,
    };
    let mut a = client.feed(open(0)).await.unwrap().into_inner();
    let mut b = server
        .ledger()
        .await
        .feed(open(1))
        .await
        .unwrap()
        .into_inner();

    let caught_up = take(&mut a, 0, before).await;
    assert_eq!(caught_up[0].r#type, "org.reviewledger.v1.genesis");
    assert_eq!(
        caught_up[0].source,
        format!("review-ledger:{}", id.to_hex())
    );
    assert_eq!(caught_up[0].id, event_id(0).to_hex());
    take(&mut b, 1, before - 1).await;

    // Live: both subscribers get each new entry, and only once.
    for n in 0..5 {
        client
            .append(request(&id, &enrol(&org, id, 2000 + n)))
            .await
            .unwrap();
    }
    let live = take(&mut a, before, 5).await;
    take(&mut b, before, 5).await;
    let e = live[0].entry.as_ref().unwrap().event.as_ref().unwrap();
    assert_eq!(e.kind, "roster.propose");
    assert_eq!(e.event_id, event_id(2000).to_hex());
    let Some(pb::event_payload::Body::Propose(pb::RosterChange {
        change: Some(pb::roster_change::Change::Enrol(member)),
    })) = e.payload.as_ref().and_then(|p| p.body.clone())
    else {
        panic!("a typed enrolment: {:?}", e.payload)
    };
    assert_eq!(member.name, "New Member 2000");

    // Stopping the server ends the feeds cleanly.
    let status = server.stop();
    assert!(status.success());
    assert!(a.message().await.map(|m| m.is_none()).unwrap_or(true));
}

#[test]
fn cli_feed_resumes_across_a_server_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let (org, id) = founded(&dir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = Server::start(&[&dir], "127.0.0.1:0", &[]);
    let addr = server.addr.clone();
    let mut feed = Command::new(e2e::binary())
        .args([
            "feed",
            "--server",
            &server.url(),
            "--ledger-id",
            &id.to_hex(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(feed.stdout.take().unwrap()).lines();
    let append = |url: String, from: u64, n: u64| {
        runtime.block_on(async {
            let mut client = LedgerServiceClient::connect(url).await.unwrap();
            for k in from..from + n {
                client
                    .append(request(&id, &enrol(&org, id, k)))
                    .await
                    .unwrap();
            }
        })
    };
    append(server.url(), 3000, 3);
    let mut seen = Vec::new();
    let mut read = |n: usize, seen: &mut Vec<u64>| {
        for _ in 0..n {
            let line = lines.next().expect("feed still running").unwrap();
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            seen.push(v["seq"].as_u64().unwrap());
        }
    };
    // The founded ledger has 4 entries; 3 more were appended.
    read(7, &mut seen);
    assert!(server.stop().success(), "the server stops with a feed open");

    // Same address again: the consumer reconnects from its next sequence number.
    let server = Server::start(&[&dir], &addr, &[]);
    append(server.url(), 3100, 4);
    read(4, &mut seen);
    assert_eq!(
        seen,
        (0..11).collect::<Vec<u64>>(),
        "no gap and no duplicate"
    );
    // A reader that goes away (`review-ledger feed | head`) ends the feed
    // quietly at the next entry, as it ends every command.
    drop(lines);
    append(server.url(), 3200, 1);
    let status = feed.wait().unwrap();
    assert_eq!(status.code(), Some(0), "a feed whose reader went away");
    drop(server);
    verify_dir(&dir);
}

#[test]
fn plaintext_beyond_loopback_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    founded(&dir);
    let d = dir.to_str().unwrap();
    let (code, _, err) = e2e::run(&["serve", "--ledger", d, "--listen", "0.0.0.0:0"]).unwrap();
    assert_eq!(code, 2);
    assert!(err.contains("without TLS"), "{err}");
}

#[test]
fn a_cache_of_no_size_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    founded(&dir);
    let d = dir.to_str().unwrap();
    for bad in ["0", "2000000", "lots"] {
        let (code, _, err) = e2e::run(&[
            "serve",
            "--ledger",
            d,
            "--listen",
            "127.0.0.1:0",
            "--cache-mib",
            bad,
        ])
        .unwrap();
        assert_eq!(code, 2, "--cache-mib {bad}: {err}");
        assert!(err.contains("--cache-mib"), "--cache-mib {bad}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_cache_serves_the_same_entries() {
    // 3,000 enrolments of about 500 bytes, with their index and Merkle
    // nodes, are well over one MiB: most reads go back to the log on disk,
    // and must give back exactly the events that were sent.
    const CLIENTS: u64 = 4;
    const EACH: u64 = 750;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let (org, id) = founded(&dir);
    let org = std::sync::Arc::new(org);
    let server = Server::start(&[&dir], "127.0.0.1:0", &["--cache-mib", "1"]);
    let mut client = server.ledger().await;
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (url, org) = (server.url(), org.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = LedgerServiceClient::connect(url).await.unwrap();
            let mut sent = Vec::new();
            for i in 0..EACH {
                let e = enrol(&org, id, 5000 + c * 1000 + i);
                let ack = client.append(request(&id, &e)).await.unwrap();
                sent.push((ack.into_inner().seq, e.event));
            }
            sent
        }));
    }
    let mut sent = std::collections::BTreeMap::new();
    for t in tasks {
        sent.extend(t.await.unwrap());
    }
    let total = size(&mut client, &id).await;
    assert_eq!(sent.len() as u64, CLIENTS * EACH);
    let mut feed = client
        .feed(pb::FeedRequest {
            ledger_id: id.to_hex(),
            from: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let fed = take(&mut feed, 0, total).await;
    drop(feed);
    assert!(server.stop().success());
    for m in &fed {
        let e = m.entry.as_ref().unwrap();
        if let Some(event) = sent.get(&e.seq) {
            let entry = ledger_core::Entry::decode(&e.entry).unwrap();
            assert_eq!(
                &entry.event, event,
                "entry #{} carries the event sent",
                e.seq
            );
        }
    }
    let store = ledger_store::SledStore::open(&dir).unwrap();
    for m in &fed {
        let e = m.entry.as_ref().unwrap();
        let stored = ledger_store::Store::entry(&store, ledger_core::Seq(e.seq)).unwrap();
        assert_eq!(
            stored.as_deref(),
            Some(e.entry.as_slice()),
            "entry #{}",
            e.seq
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_required_and_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let (org, id) = founded(&dir);
    let tokens = tmp.path().join("tokens");
    std::fs::write(
        &tokens,
        format!(
            "# hashes only\n{} reader {}\n{} auditor *\n{} reader {}\n",
            service::Tokens::hash("read-me"),
            id.to_hex(),
            service::Tokens::hash("audit-me"),
            service::Tokens::hash("elsewhere"),
            Hash([5; 32]).to_hex(),
        ),
    )
    .unwrap();
    assert!(
        !std::fs::read_to_string(&tokens)
            .unwrap()
            .contains("read-me"),
        "the file holds no token in the clear"
    );
    let server = Server::start(
        &[&dir],
        "127.0.0.1:0",
        &["--tokens", tokens.to_str().unwrap()],
    );
    let mut client = server.ledger().await;
    let read = |token: Option<&str>| {
        let mut r = tonic::Request::new(pb::ReadRangeRequest {
            ledger_id: id.to_hex(),
            start: 0,
            limit: 1,
        });
        if let Some(t) = token {
            r.metadata_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        r
    };
    let cases = [
        (None, Some(Code::Unauthenticated), "needs a bearer token"),
        (
            Some("wrong"),
            Some(Code::Unauthenticated),
            "unknown bearer token",
        ),
        (
            Some("elsewhere"),
            Some(Code::PermissionDenied),
            "grants nothing on ledger",
        ),
        (Some("read-me"), None, ""),
        (Some("audit-me"), None, ""),
    ];
    for (token, code, phrase) in cases {
        match (client.read_range(read(token)).await, code) {
            (Ok(r), None) => assert_eq!(r.into_inner().entries.len(), 1),
            (Err(s), Some(code)) => check(
                &Case {
                    name: "token",
                    code,
                    phrase,
                },
                &s,
            ),
            (other, _) => panic!("{token:?}: unexpected {other:?}"),
        }
    }
    // A reader may not run the auditor's whole-ledger verification.
    let mut review = server.review().await;
    let mut verify = tonic::Request::new(pb::VerifyReviewRequest {
        ledger_id: id.to_hex(),
        review: "mr-none".into(),
        whole_ledger: false,
    });
    verify
        .metadata_mut()
        .insert("authorization", "Bearer read-me".parse().unwrap());
    let status = review.verify_review(verify).await.unwrap_err();
    check(
        &Case {
            name: "reader verifies",
            code: Code::PermissionDenied,
            phrase: "needs Auditor",
        },
        &status,
    );
    // Appends need no token: the signature authorises them.
    client
        .append(request(&id, &enrol(&org, id, 5000)))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_generated_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let (_, id) = founded(&dir);
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let server = Server::start(
        &[&dir],
        "127.0.0.1:0",
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(ck.cert.pem()))
        .domain_name("localhost");
    let channel = tonic::transport::Endpoint::from_shared(format!("https://{}", server.addr))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = LedgerServiceClient::new(channel);
    assert!(size(&mut client, &id).await > 0);
    // A plaintext client gets nowhere.
    let plain = LedgerServiceClient::connect(server.url()).await;
    let refused = match plain {
        Err(_) => true,
        Ok(mut c) => c
            .get_checkpoint(pb::GetCheckpointRequest {
                ledger_id: id.to_hex(),
            })
            .await
            .is_err(),
    };
    assert!(refused, "plaintext must not reach a TLS server");
    // The CLI's feed speaks TLS with --ca-cert.
    let (code, out, err) = e2e::run(&[
        "feed",
        "--server",
        &format!(
            "https://localhost:{}",
            server.addr.rsplit(':').next().unwrap()
        ),
        "--ca-cert",
        cert.to_str().unwrap(),
        "--ledger-id",
        &id.to_hex(),
        "--no-follow",
    ])
    .unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count() as u64, size(&mut client, &id).await);
}

/// The projections over gRPC are the CLI's own answers on the same ledger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projections_match_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    let (code, _, err) = e2e::run(&["demo", "--dir", demo.to_str().unwrap()]).unwrap();
    assert_eq!(code, 0, "{err}");
    let dir = demo.join("ledger");
    let d = dir.to_str().unwrap();
    let cli = |args: &[&str]| -> serde_json::Value {
        let (_, out, err) = e2e::run(args).unwrap();
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}{err}"))
    };
    let reviews = cli(&["reviews", "--ledger", d, "--json"]);
    let first = reviews[0]["id"].as_str().unwrap().to_owned();
    let actions = cli(&["actions", "--ledger", d, "--as-of", "2026-01-15", "--json"]);
    let checked = cli(&[
        "check",
        "--ledger",
        d,
        "--review",
        &first,
        "--as-of",
        "2026-01-15",
        "--json",
    ]);
    let verified = cli(&["verify", "--ledger", d, "--review", &first, "--json"]);
    let cli_minutes = cli(&[
        "minutes", "show", "--ledger", d, "--review", &first, "--format", "json",
    ]);
    let (_, markdown, _) = e2e::run(&[
        "minutes", "show", "--ledger", d, "--review", &first, "--format", "markdown",
    ])
    .unwrap();

    let server = Server::start(&[&dir], "127.0.0.1:0", &[]);
    let id = verified["ledger_id"].as_str().unwrap().to_owned();
    let mut client = server.review().await;
    let list = client
        .list_reviews(pb::ListReviewsRequest {
            ledger_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = list.reviews.iter().map(|r| r.id.as_str()).collect();
    let want: Vec<&str> = reviews
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, want);
    assert_eq!(
        list.reviews[0].digest,
        reviews[0]["digest"].as_str().unwrap()
    );

    let minutes = client
        .get_minutes(pb::GetMinutesRequest {
            ledger_id: id.clone(),
            review: first.clone(),
            format: pb::MinutesFormat::Markdown as i32,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        minutes.rendered.trim_end(),
        markdown.trim_end(),
        "same Markdown as the CLI"
    );
    assert_eq!(minutes.digest, reviews[0]["digest"].as_str().unwrap());
    assert!(!minutes.signatures.is_empty());

    let acts = client
        .list_actions(pb::ListActionsRequest {
            ledger_id: id.clone(),
            as_of: "2026-01-15".into(),
            review: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let want = actions["actions"].as_array().unwrap();
    assert_eq!(acts.actions.len(), want.len());
    for (got, want) in acts.actions.iter().zip(want) {
        assert_eq!(got.id, want["id"].as_str().unwrap());
        assert_eq!(
            got.overdue,
            want["overdue"].as_bool().unwrap(),
            "{}",
            got.id
        );
    }

    let check = client
        .check(pb::CheckRequest {
            ledger_id: id.clone(),
            review: first.clone(),
            as_of: "2026-01-15".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(check.passed, checked["passed"].as_bool().unwrap());
    assert_eq!(
        check.findings.len(),
        checked["findings"].as_array().unwrap().len()
    );

    // From the review's bundle and from the whole ledger, the same verdict
    // as `verify --review`; the bundle's entries are fewer.
    let mut verified_entries = Vec::new();
    for whole_ledger in [false, true] {
        let verify = client
            .verify_review(pb::VerifyReviewRequest {
                ledger_id: id.clone(),
                review: first.clone(),
                whole_ledger,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(verify.valid, "{}", verify.fault);
        assert_eq!(verify.holds, verified["holds"].as_bool().unwrap());
        #[allow(deprecated)] // the deprecated JSON is still filled
        let report: serde_json::Value = serde_json::from_str(&verify.report_json).unwrap();
        assert_eq!(
            report["review"], verified["review"],
            "the same audit as `verify --review` (whole ledger: {whole_ledger})"
        );
        typed_audit_is_the_cli_audit(&verify, &verified);
        verified_entries.push(verify.entries);
    }
    assert_eq!(verified_entries[1], verified["entries"].as_u64().unwrap());
    assert!(
        verified_entries[0] < verified_entries[1],
        "{verified_entries:?}"
    );

    typed_minutes_are_the_cli_minutes(&minutes, &cli_minutes);
}

/// The typed verdict of `VerifyReview` says what `verify --review --json` does.
fn typed_audit_is_the_cli_audit(got: &pb::VerifyReviewResponse, want: &serde_json::Value) {
    let audit = got
        .audit
        .as_ref()
        .expect("a valid ledger's review is judged");
    let w = &want["review"];
    assert_eq!(got.ledger_id, want["ledger_id"].as_str().unwrap());
    assert_eq!(got.minutes_hold, want["minutes_hold"].as_bool().unwrap());
    assert_eq!(audit.digest, w["digest"].as_str().unwrap());
    assert_eq!(audit.content_head, w["content_head"].as_u64().unwrap());
    let quorum = audit.quorum.as_ref().unwrap();
    assert_eq!(quorum.met, w["quorum"]["met"].as_bool().unwrap());
    assert_eq!(
        u64::from(quorum.required),
        w["quorum"]["required"].as_u64().unwrap()
    );
    let handles = |people: &[pb::Person]| -> Vec<String> {
        people.iter().map(|p| p.handle.clone()).collect()
    };
    let json_handles = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["handle"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        handles(&quorum.attended),
        json_handles(&w["quorum"]["attended"])
    );
    assert_eq!(
        handles(&quorum.signed),
        json_handles(&w["quorum"]["signed"])
    );
    assert_eq!(
        handles(&quorum.missing),
        json_handles(&w["quorum"]["missing"])
    );
    let signatures: Vec<(u64, &str, bool)> = audit
        .signatures
        .iter()
        .map(|s| (s.seq, s.signed_with.as_str(), s.top_management))
        .collect();
    let want_signatures: Vec<(u64, &str, bool)> = w["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["seq"].as_u64().unwrap(),
                s["signed_with"].as_str().unwrap(),
                s["signer"]["top_management"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(signatures, want_signatures);
    assert!(!signatures.is_empty());
    let changes: Vec<u64> = audit.changes_after_signing.iter().map(|c| c.seq).collect();
    let want_changes: Vec<u64> = w["changes_after_signing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(changes, want_changes);
    let conformance = got.conformance.as_ref().unwrap();
    assert_eq!(
        conformance.passed,
        want["conformance"]["passed"].as_bool().unwrap()
    );
    assert_eq!(
        conformance.findings.len(),
        want["conformance"]["findings"].as_array().unwrap().len()
    );
}

/// The typed minutes of `GetMinutes` hold what `minutes show --format json`
/// does: every item with the entry that recorded it.
fn typed_minutes_are_the_cli_minutes(got: &pb::GetMinutesResponse, want: &serde_json::Value) {
    use std::collections::BTreeMap;
    assert_eq!(got.organisation, want["organisation"].as_str().unwrap());
    assert_eq!(got.ledger_id, want["ledger_id"].as_str().unwrap());
    let m = got.minutes.as_ref().unwrap();
    let w = &want["minutes"];
    assert_eq!(m.review, w["review"].as_str().unwrap());
    let schedule = m.schedule.as_ref().unwrap();
    assert_eq!(
        schedule.item.as_ref().unwrap().title,
        w["schedule"]["item"]["title"].as_str().unwrap()
    );
    assert_eq!(
        schedule.recorded.as_ref().unwrap().seq,
        w["schedule"]["seq"].as_u64().unwrap()
    );
    // Keyed items, by the entry that recorded them: (author, text).
    let by_seq = |v: &serde_json::Value, text: &str| -> BTreeMap<u64, (String, String)> {
        v.as_object()
            .unwrap()
            .values()
            .map(|r| {
                (
                    r["seq"].as_u64().unwrap(),
                    (
                        r["by"].as_str().unwrap().to_owned(),
                        r["item"][text].as_str().unwrap().to_owned(),
                    ),
                )
            })
            .collect()
    };
    let typed = |recorded: Option<&pb::Provenance>, text: &str| {
        let r = recorded.unwrap();
        (r.seq, (r.by.clone(), text.to_owned()))
    };
    let inputs: BTreeMap<_, _> = m
        .inputs
        .iter()
        .map(|r| typed(r.recorded.as_ref(), &r.item.as_ref().unwrap().summary))
        .collect();
    assert_eq!(inputs, by_seq(&w["inputs"], "summary"));
    assert_eq!(inputs.len(), 10, "the demo records every required input");
    let actions: BTreeMap<_, _> = m
        .actions
        .iter()
        .map(|r| typed(r.recorded.as_ref(), &r.item.as_ref().unwrap().text))
        .collect();
    assert_eq!(actions, by_seq(&w["actions"], "text"));
    let objectives: BTreeMap<_, _> = m
        .objectives
        .iter()
        .map(|r| typed(r.recorded.as_ref(), &r.item.as_ref().unwrap().text))
        .collect();
    assert_eq!(objectives, by_seq(&w["objectives"], "text"));
    let decisions: Vec<(u32, String)> = m
        .decisions
        .iter()
        .map(|r| (r.number, r.item.as_ref().unwrap().text.clone()))
        .collect();
    let want_decisions: Vec<(u32, String)> = w["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .zip(1..)
        .map(|(d, n)| (n, d["item"]["text"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(decisions, want_decisions);
    assert!(!decisions.is_empty());
    let present = &m.meeting.as_ref().unwrap().item.as_ref().unwrap().present;
    let want_present: Vec<&str> = w["meeting"]["item"]["present"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(present, &want_present);
    assert_eq!(
        m.close.as_ref().unwrap().item.as_ref().unwrap().next_review,
        w["close"]["item"]["next_review"].as_str().unwrap()
    );
    let changes: Vec<(u64, &str)> = got
        .changes
        .iter()
        .map(|c| (c.seq, c.what.as_str()))
        .collect();
    let want_changes: Vec<(u64, &str)> = want["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["seq"].as_u64().unwrap(), c["what"].as_str().unwrap()))
        .collect();
    assert_eq!(changes, want_changes);
    let signed_with: Vec<&str> = got
        .signatures
        .iter()
        .map(|s| s.signed_with.as_str())
        .collect();
    let want_signed_with: Vec<&str> = want["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["signed_with"].as_str().unwrap())
        .collect();
    assert_eq!(signed_with, want_signed_with);
}

/// A passkey's signature over gRPC: enrolled under the quorum, it signs an
/// event that `Append` admits; an assertion over another event, or 64
/// ed25519 bytes where an assertion belongs, are refused with nothing
/// appended; the ledger then verifies with the passkey's entries in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_signatures_over_grpc() {
    use ledger_core::passkey::SoftAuthenticator;
    use ledger_core::{Author, EventSignature, Purpose};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let (org, id) = founded(&dir);
    let server = Server::start(&[&dir], "127.0.0.1:0", &[]);
    let mut client = server.ledger().await;
    let passkey = SoftAuthenticator::new(
        [0x51; 32],
        "review.example.org",
        "https://review.example.org",
    );
    let add = Payload::Propose(RosterChange::AddPasskey {
        handle: e2e::handle(0),
        credential: passkey.credential.clone(),
    });
    client
        .append(request(&id, &org.sign(id, 0, 700, &add)))
        .await
        .unwrap();
    client
        .append(request(
            &id,
            &org.sign(id, 1, 701, &Payload::Approve(event_id(700))),
        ))
        .await
        .unwrap();
    let by_passkey = |n: u64, sign_over: Option<&[u8]>| {
        let record = MemberRecord {
            handle: review::MemberId::new(format!("p{n}")).unwrap(),
            name: format!("Passkey Enrolled {n}"),
            role: "Analyst".into(),
            top_management: false,
            key: KeyPair::from_seed([n as u8; 32]).public(),
        };
        let event = review::compose_for(
            id,
            event_id(n),
            Author::Passkey(passkey.credential.clone()),
            UnixMicros(0),
            &Payload::Propose(RosterChange::Enrol(record)),
        );
        let bytes = event.encode();
        let assertion = passkey.assert(Purpose::Event, sign_over.unwrap_or(&bytes));
        SignedEvent {
            event: bytes,
            signature: EventSignature::Passkey(assertion),
        }
    };
    let before = size(&mut client, &id).await;
    let forged = by_passkey(703, Some(b"another event".as_slice()));
    let status = client.append(request(&id, &forged)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("challenge"), "{status:?}");
    let mut wrong_shape = service::convert::signed_event_pb(&by_passkey(704, None));
    wrong_shape.signature = vec![7; 64];
    let status = client
        .append(pb::AppendRequest {
            ledger_id: id.to_hex(),
            event: Some(wrong_shape),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("event.signature"), "{status:?}");
    assert_eq!(size(&mut client, &id).await, before, "nothing appended");
    let ack = client
        .append(request(&id, &by_passkey(702, None)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ack.seq, before);
    drop(client);
    server.stop();
    verify_dir(&dir);
}

/// `ListLedgers` shows each hosted ledger a caller may read, with its
/// organisation, size and checkpoint; with tokens, only those the token
/// grants, and nothing without one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_ledgers_shows_what_the_caller_may_read() {
    let tmp = tempfile::tempdir().unwrap();
    let a = crate::review::found(&tmp.path().join("a"), &[]);
    let b = crate::review::found(
        &tmp.path().join("b"),
        &[("isms", "Chloe Varga", "ISMS Lead", false)],
    );
    let (la, lb) = (a.ledger(), b.ledger());
    let id_of = |l: &str| e2e::rl(&["id", "--ledger", l], 0).1.trim().to_owned();
    let (ida, idb) = (id_of(&la), id_of(&lb));
    let list = |server: &Server, token: Option<&'static str>| {
        let url = server.url();
        async move {
            let mut client = pb::ledger_service_client::LedgerServiceClient::connect(url)
                .await
                .unwrap();
            let mut r = tonic::Request::new(pb::ListLedgersRequest {});
            if let Some(t) = token {
                r.metadata_mut()
                    .insert("authorization", format!("Bearer {t}").parse().unwrap());
            }
            client.list_ledgers(r).await.map(|r| r.into_inner().ledgers)
        }
    };
    let open = Server::start(&[Path::new(&la), Path::new(&lb)], "127.0.0.1:0", &[]);
    let all = list(&open, None).await.unwrap();
    let mut ids: Vec<&str> = all.iter().map(|l| l.ledger_id.as_str()).collect();
    ids.sort();
    let mut expected = vec![ida.as_str(), idb.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    let b_row = all.iter().find(|l| l.ledger_id == idb).unwrap();
    assert_eq!(b_row.organisation, "Northwind");
    assert_eq!(b_row.size, 2, "genesis and the enrolment");
    assert_eq!(b_row.checkpoint.as_ref().unwrap().size, 2);
    drop(open);

    let tokens = tmp.path().join("tokens");
    std::fs::write(
        &tokens,
        format!(
            "{} reader {ida}\n{} auditor *\n",
            service::Tokens::hash("a-only"),
            service::Tokens::hash("everything"),
        ),
    )
    .unwrap();
    let guarded = Server::start(
        &[Path::new(&la), Path::new(&lb)],
        "127.0.0.1:0",
        &["--tokens", tokens.to_str().unwrap()],
    );
    let status = list(&guarded, None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let only = list(&guarded, Some("a-only")).await.unwrap();
    let only: Vec<&str> = only.iter().map(|l| l.ledger_id.as_str()).collect();
    assert_eq!(only, [ida.as_str()]);
    assert_eq!(list(&guarded, Some("everything")).await.unwrap().len(), 2);
    assert!(list(&guarded, Some("unknown")).await.unwrap().is_empty());
}

/// The kind each typed payload field stands for (events.proto: "the field's
/// name is the kind's").
fn kind_of(body: &pb::event_payload::Body) -> &'static str {
    use pb::event_payload::Body;
    match body {
        Body::Genesis(_) => "genesis",
        Body::Propose(_) => "roster.propose",
        Body::Approve(_) => "roster.approve",
        Body::Rotate(_) => "roster.rotate",
        Body::Schedule(_) => "review.schedule",
        Body::Circulate(_) => "review.circulate",
        Body::Open(_) => "review.open",
        Body::Input(_) => "review.input",
        Body::ActionStatus(_) => "review.action-status",
        Body::Decide(_) => "review.decide",
        Body::Act(_) => "review.act",
        Body::ObjectiveAssess(_) => "review.objective-assess",
        Body::ObjectiveSet(_) => "review.objective-set",
        Body::Close(_) => "review.close",
        Body::Sign(_) => "minutes.sign",
        Body::ActionUpdate(_) => "action.update",
        Body::MeetingTimes(_) => "review.meeting-times",
    }
}

/// Every entry of the demo ledger comes with a typed payload of its own
/// kind, saying what the deprecated JSON says; the action log and the
/// objectives carry their histories typed, as their JSON records do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(deprecated)] // compares the typed messages with the JSON still filled
async fn typed_messages_say_what_the_json_said() {
    use pb::event_payload::Body;
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    let (code, _, err) = e2e::run(&["demo", "--dir", demo.to_str().unwrap()]).unwrap();
    assert_eq!(code, 0, "{err}");
    let dir = demo.join("ledger");
    let server = Server::start(&[&dir], "127.0.0.1:0", &[]);
    let mut client = server.ledger().await;
    let id = server.first_ledger_id().await;
    let entries = client
        .read_range(pb::ReadRangeRequest {
            ledger_id: id.clone(),
            start: 0,
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    let mut kinds = BTreeSet::new();
    for entry in &entries {
        let event = entry.event.as_ref().unwrap();
        let json: serde_json::Value = serde_json::from_str(&event.payload_json).unwrap();
        let payload = event.payload.as_ref().expect("every demo kind is known");
        let body = payload.body.as_ref().unwrap();
        assert_eq!(kind_of(body), event.kind, "entry {}", entry.seq);
        kinds.insert(event.kind.clone());
        // Review content carries its amendment beside the body; the body's
        // fields are the JSON's.
        let (body_json, amendment) = match json.get("body") {
            Some(b) => (b, json["amendment"].as_str()),
            None => (&json, None),
        };
        assert_eq!(
            payload.amendment.as_deref(),
            amendment,
            "entry {}",
            entry.seq
        );
        let text = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
        match body {
            Body::Genesis(g) => {
                assert_eq!(g.organisation, text(&body_json["organisation"]));
                assert_eq!(
                    g.founder.as_ref().unwrap().handle,
                    text(&body_json["founder"]["handle"])
                );
            }
            Body::Schedule(s) => assert_eq!(s.title, text(&body_json["title"])),
            Body::Input(i) => assert_eq!(i.summary, text(&body_json["summary"])),
            Body::Decide(d) => assert_eq!(d.text, text(&body_json["text"])),
            Body::Act(a) => {
                assert_eq!(a.owner, text(&body_json["owner"]));
                assert_eq!(a.due, text(&body_json["due"]));
            }
            Body::Sign(s) => {
                assert_eq!(s.digest, text(&body_json["digest"]));
                assert_eq!(s.covers, body_json["covers"].as_u64().unwrap());
                assert_eq!(s.review, event.review);
            }
            Body::Open(o) => assert_eq!(o.held, text(&body_json["held"])),
            Body::Close(c) => assert_eq!(c.next_review, text(&body_json["next_review"])),
            _ => {}
        }
    }
    for kind in [
        "genesis",
        "roster.propose",
        "review.schedule",
        "review.input",
        "review.decide",
        "review.act",
        "minutes.sign",
    ] {
        assert!(kinds.contains(kind), "the demo has a {kind}: {kinds:?}");
    }

    // ReadReview gives the entries that name the review, as a scan does.
    let named: BTreeSet<&str> = entries
        .iter()
        .map(|e| e.event.as_ref().unwrap().review.as_str())
        .filter(|r| !r.is_empty())
        .collect();
    assert!(named.len() >= 2, "{named:?}");
    for review in named {
        let want: Vec<u64> = entries
            .iter()
            .filter(|e| e.event.as_ref().unwrap().review == review)
            .map(|e| e.seq)
            .collect();
        let got = client
            .read_review(pb::ReadReviewRequest {
                ledger_id: id.clone(),
                review: review.to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        let seqs: Vec<u64> = got.entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, want, "review {review}");
        assert_eq!(got.size, entries.len() as u64);
    }

    let mut reviews = server.review().await;
    let actions = reviews
        .list_actions(pb::ListActionsRequest {
            ledger_id: id.clone(),
            as_of: "2026-01-15".into(),
            review: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .actions;
    assert!(!actions.is_empty());
    for a in &actions {
        let record: serde_json::Value = serde_json::from_str(&a.record_json).unwrap();
        let history: Vec<(u64, String)> =
            a.history.iter().map(|e| (e.seq, e.note.clone())).collect();
        let want: Vec<(u64, String)> = record["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["seq"].as_u64().unwrap(),
                    e["note"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(history, want, "action {}", a.id);
        assert_eq!(
            a.state.as_ref().unwrap().description,
            a.status,
            "action {}",
            a.id
        );
        assert_eq!(
            a.decision.map(u64::from),
            record["decision"].as_u64(),
            "action {}",
            a.id
        );
    }
    let objectives = reviews
        .list_objectives(pb::ListObjectivesRequest { ledger_id: id })
        .await
        .unwrap()
        .into_inner()
        .objectives;
    assert!(!objectives.is_empty());
    for o in &objectives {
        let record: serde_json::Value = serde_json::from_str(&o.record_json).unwrap();
        assert_eq!(o.measure, record["objective"]["measure"].as_str().unwrap());
        assert_eq!(o.target, record["objective"]["target"].as_str().unwrap());
        assert_eq!(
            o.assessments.len(),
            record["assessments"].as_array().unwrap().len(),
            "objective {}",
            o.id
        );
    }
    assert!(server.stop().success());
}
