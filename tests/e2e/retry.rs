//! Appends are safe to retry: an append whose outcome is unknown is said to
//! be unknown (exit 3) with its event id, and the same command run again
//! with `--event-id` appends the event once, whether or not the first try
//! landed. The unknown outcome comes from a real full disk under the real
//! server: the CLI's event reaches the server's writer, whose write fails.

use std::path::Path;
use std::time::{Duration, Instant};

use e2e::{Org, rl, run};
use ledger_core::EventId;
use service::pb;
use tonic::Code;

use crate::mounts::{Mount, fill};
use crate::service::{Server, enrol, founded, request, size};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Key files for members 0 and 1 of `org`, and a fresh member's public key.
fn keys(org: &Org, dir: &Path) -> (String, String, String) {
    let write = |i: usize| {
        let path = dir.join(format!("m{i}.pem"));
        ledger_store::keyfile::write_private(&path, &org.keys[i]).unwrap();
        s(&path).to_owned()
    };
    let fresh = dir.join("fresh.pem");
    rl(&["key", "new", "--out", s(&fresh)], 0);
    (write(0), write(1), format!("{}.pub", s(&fresh)))
}

/// `member add` of handle `who` by `key`, with `extra` arguments.
fn add<'a>(place: &[&'a str], key: &'a str, who: &'a str, public: &'a str) -> Vec<&'a str> {
    let mut args = vec!["member", "add", "--json"];
    args.extend_from_slice(place);
    args.extend_from_slice(&[
        "--key",
        key,
        "--id",
        who,
        "--name",
        "Retried Member",
        "--role",
        "Analyst",
        "--public-key",
        public,
    ]);
    args
}

#[test]
fn an_append_retried_with_its_event_id_is_appended_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let (org, _) = founded(&dir);
    let (m0, m1, public) = keys(&org, tmp.path());
    let place = ["--ledger", s(&dir)];
    let id = "0123456789abcdef0123456789abcdef";

    let mut first = add(&place, &m0, "x1", &public);
    first.extend(["--event-id", id]);
    let (appended, _) = rl(&first, 0);
    let seq = appended["seq"].as_u64().unwrap();
    // The same command again: found, not appended twice.
    let (again, _) = rl(&first, 0);
    assert_eq!(again["already"], true, "{again}");
    assert_eq!(again["seq"], seq);
    let (log, _) = rl(&["log", "--json", "--ledger", s(&dir), "--event-id", id], 0);
    assert_eq!(log.as_array().unwrap().len(), 1, "{log}");
    assert_eq!(log[0]["seq"], seq);
    let (tail, _) = rl(&["log", "--json", "--ledger", s(&dir)], 0);
    assert_eq!(
        tail.as_array().unwrap().len() as u64,
        seq + 1,
        "one entry more"
    );

    // Another member's event under that id is refused, and nothing is appended.
    let mut other = add(&place, &m1, "x2", &public);
    other.extend(["--event-id", id]);
    let (_, said) = rl(&other, 2);
    assert!(said.contains("is taken"), "{said}");
    // An id the ledger does not have.
    let (_, said) = rl(
        &[
            "log",
            "--ledger",
            s(&dir),
            "--event-id",
            "ffffffffffffffffffffffffffffffff",
        ],
        1,
    );
    assert!(said.contains("is not in the ledger"), "{said}");
    let (_, said) = rl(&["log", "--ledger", s(&dir), "--event-id", "xyz"], 2);
    assert!(said.contains("--event-id"), "{said}");
    let (tail, _) = rl(&["log", "--json", "--ledger", s(&dir)], 0);
    assert_eq!(tail.as_array().unwrap().len() as u64, seq + 1);
}

/// The event id an unknown outcome names.
fn unknown_event(stderr: &str) -> String {
    let after = stderr
        .split("the outcome of event ")
        .nth(1)
        .unwrap_or_else(|| panic!("no unknown outcome in {stderr}"));
    after.split_whitespace().next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_leaves_an_append_unknown_and_its_retry_safe() {
    let root = tempfile::tempdir().unwrap();
    let Some(mount) = Mount::tmpfs(&root.path().join("fs"), "8m", "retry") else {
        return;
    };
    let dir = mount.path().join("ledger");
    let (org, id) = founded(&dir);
    let (m0, _, public) = keys(&org, root.path());
    let server = Server::start(&[&dir], "127.0.0.1:0", &[]);
    let url = server.url();
    let id_hex = id.to_hex();
    let place = ["--server", &url, "--ledger-id", &id_hex];
    let mut client = server.ledger().await;
    let held = size(&mut client, &id).await;
    let ballast = fill(mount.path(), 64 << 20);

    // Appends through the CLI until the full disk refuses one in the
    // server's writer (sled first fills the log segment it zero-filled
    // when it opened, a few hundred appends): the CLI cannot know whether that event landed, so it
    // says its outcome is unknown, and how to retry safely.
    let deadline = Instant::now() + Duration::from_secs(300);
    let handles: Vec<String> = (0..1500).map(|i| format!("late{i}")).collect();
    let mut landed = 0;
    let (args, stderr) = 'fill: {
        for who in &handles {
            assert!(
                Instant::now() < deadline,
                "no append was refused on a full disk"
            );
            let args = add(&place, &m0, who, &public);
            let (code, _, stderr) = run(&args).unwrap();
            match code {
                0 => landed += 1,
                3 => break 'fill (args, stderr),
                _ => panic!("exit {code}: {stderr}"),
            }
        }
        panic!("no append was refused on a full disk");
    };
    assert!(stderr.contains("No space left"), "{stderr}");
    assert!(stderr.contains("--event-id"), "{stderr}");
    let event = unknown_event(&stderr);
    assert!(EventId::from_hex(&event).is_ok(), "{stderr}");
    // The server still answers, and shows nothing it did not acknowledge.
    assert_eq!(size(&mut client, &id).await, held + landed);

    // Space is freed; the server's writer recovers by itself, and the
    // retry appends the event once.
    std::fs::remove_file(&ballast).unwrap();
    let mut retry = args.clone();
    retry.extend(["--event-id", event.as_str()]);
    let (first, _) = rl(&retry, 0);
    let (second, _) = rl(&retry, 0);
    assert_eq!(second["already"], true, "{second}");
    assert_eq!(first["seq"], second["seq"]);
    let found = client
        .get_by_event_id(pb::GetByEventIdRequest {
            ledger_id: id.to_hex(),
            event_id: event.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(Some(found.seq), second["seq"].as_u64());
    // And a fresh append works without a restart.
    let ack = client
        .append(request(&id, &enrol(&org, id, 50_000)))
        .await
        .expect("the writer recovered");
    assert_eq!(ack.into_inner().seq, found.seq + 1);
    let gone = client
        .append(request(&id, &enrol(&org, id, 50_000)))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::AlreadyExists);
    drop(server);
    let (report, _) = rl(&["verify", "--json", "--ledger", s(&dir)], 0);
    assert_eq!(report["entries"], found.seq + 2, "{report}");
}
