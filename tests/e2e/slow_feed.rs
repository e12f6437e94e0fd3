//! A deliberately slow feed subscriber. It first stops reading altogether,
//! then reads one message at a time with pauses, while many clients append.
//! Appends are acknowledged all the same, a fast subscriber gets every entry
//! live meanwhile, and the slow one, once it reads again, gets every entry
//! exactly once and in order: it catches up from the store.

use std::sync::Arc;
use std::time::Duration;

use e2e::Org;
use ledger_core::LedgerId;
use service::pb;
use service::pb::ledger_service_client::LedgerServiceClient;

use crate::service::{Server, enrol, founded, request, size, take, verify_dir};

/// Concurrent appending clients.
const CLIENTS: u64 = 8;

/// Appends per client per round: 8 x 125 = 1,000 entries, far more than a
/// stalled stream holds in the server's buffer and its HTTP/2 window.
const EACH: u64 = 125;

/// The slow subscriber's HTTP/2 receive window, in bytes: a few entries.
const WINDOW: u32 = 8 * 1024;

/// How long a round of appends may take before the test calls it a hang
/// (a guard against blocking forever, not a speed requirement).
const HANG: Duration = Duration::from_secs(300);

/// One round of appends from `CLIENTS` clients of their own, event numbers
/// from `base`; the sequence numbers acknowledged.
async fn round(url: String, org: Arc<Org>, id: LedgerId, base: u64) -> Vec<u64> {
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (url, org) = (url.clone(), org.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = LedgerServiceClient::connect(url).await.unwrap();
            let mut seqs = Vec::new();
            for i in 0..EACH {
                let e = enrol(&org, id, base + c * 1000 + i);
                let ack = client.append(request(&id, &e)).await.unwrap();
                seqs.push(ack.into_inner().seq);
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_holds_back_nobody_and_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let (org, id) = founded(&dir);
    let org = Arc::new(org);
    let server = Server::start(&[&dir], "127.0.0.1:0", &[]);
    let mut client = server.ledger().await;
    let before = size(&mut client, &id).await;
    let open = || pb::FeedRequest {
        ledger_id: id.to_hex(),
        from: 0,
    };
    // The slow subscriber is on a connection of its own with a small HTTP/2
    // window, as over a slow link.
    let mut slow = server
        .slow_link(WINDOW)
        .await
        .feed(open())
        .await
        .unwrap()
        .into_inner();
    let mut fast = server
        .ledger()
        .await
        .feed(open())
        .await
        .unwrap()
        .into_inner();
    // The slow subscriber is live: it has its first entry, then reads no more.
    let mut slow_got = take(&mut slow, 0, 1).await;

    // Every append of a first round is acknowledged while it reads nothing.
    let first = tokio::time::timeout(HANG, round(server.url(), org.clone(), id, 100_000))
        .await
        .expect("appends finish while a subscriber is stalled");
    let n = CLIENTS * EACH;
    let mut seqs: Vec<u64> = first.clone();
    seqs.sort_unstable();
    assert_eq!(seqs, (before..before + n).collect::<Vec<_>>());

    // The fast subscriber has all of them, live, before the slow one reads on.
    let mut fast_got = tokio::time::timeout(HANG, take(&mut fast, 0, before + n))
        .await
        .expect("a fast subscriber is not held back by a stalled one");

    // A second round of appends runs while the slow one reads a message at
    // a time, pausing after each.
    let second = tokio::spawn(round(server.url(), org.clone(), id, 200_000));
    for seq in 1..300 {
        slow_got.extend(take(&mut slow, seq, 1).await);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let second = tokio::time::timeout(HANG, second)
        .await
        .expect("appends finish while a subscriber is slow")
        .unwrap();
    assert_eq!(second.len() as u64, n);
    let total = before + 2 * n;
    assert_eq!(size(&mut client, &id).await, total);
    fast_got.extend(take(&mut fast, before + n, n).await);
    // Only the slow one is left open when the server stops.
    drop(fast);

    // The slow one now has everything, each entry once, in order (`take`
    // checks each sequence number and each entry's hash).
    slow_got.extend(take(&mut slow, 300, total - 300).await);
    assert_eq!(slow_got.len() as u64, total);
    assert_eq!(fast_got.len() as u64, total);
    for (s, f) in slow_got.iter().zip(&fast_got) {
        assert_eq!(
            s.entry.as_ref().unwrap().entry,
            f.entry.as_ref().unwrap().entry,
            "both subscribers got the same bytes for entry {}",
            s.sequence
        );
    }

    // Nothing more was coming: after a graceful stop the stream just ends.
    assert!(server.stop().success());
    let after = slow.message().await;
    assert!(
        !matches!(after, Ok(Some(_))),
        "an entry beyond the ledger's {total}: {after:?}"
    );
    verify_dir(&dir);
}
