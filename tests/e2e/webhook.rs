//! `serve --webhook`: every entry, and a reminder that fell due, POSTed as
//! CloudEvents to a real HTTP receiver on 127.0.0.1 that refuses the first
//! attempts; signed with the webhook's secret, in order, at least once, and
//! resumed after a restart from where delivery stopped.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::rl;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::review::found;
use crate::service::Server;

/// One request the receiver took: its signature header and body.
type Taken = (String, Vec<u8>);

/// An HTTP receiver that answers 500 to its first `fail` requests, then 200,
/// and keeps every request it answered 200 to.
fn receiver(fail: usize) -> (String, Arc<Mutex<Vec<Taken>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let taken = Arc::new(Mutex::new(Vec::new()));
    let kept = taken.clone();
    std::thread::spawn(move || {
        let mut seen = 0;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut length, mut signature) = (None, String::new());
            let (mut line, mut headers_ended) = (String::new(), false);
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                let l = line.trim_end().to_owned();
                line.clear();
                if l.is_empty() {
                    headers_ended = true;
                    break;
                }
                if let Some((name, value)) = l.split_once(':') {
                    match name.to_ascii_lowercase().as_str() {
                        "content-length" => length = value.trim().parse().ok(),
                        "x-review-ledger-signature" => signature = value.trim().to_owned(),
                        _ => {}
                    }
                }
            }
            // A request cut short (a server stopped while it posted) is
            // not a request: nothing was delivered.
            let Some(length) = length.filter(|_| headers_ended) else {
                continue;
            };
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            seen += 1;
            let status = if seen <= fail {
                "500 Internal Server Error"
            } else {
                kept.lock().unwrap().push((signature, body));
                "200 OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, taken)
}

/// The CloudEvents taken so far, checked against the secret.
fn events(taken: &Mutex<Vec<Taken>>, secret: &str) -> Vec<Value> {
    taken
        .lock()
        .unwrap()
        .iter()
        .map(|(signature, body)| {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
            mac.update(body);
            let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
            assert_eq!(signature, &expected, "the body's HMAC");
            serde_json::from_slice(body).unwrap()
        })
        .collect()
}

/// Entry sequence numbers taken, in the order first taken, and how often each.
fn entries(events: &[Value]) -> (Vec<u64>, BTreeMap<u64, usize>) {
    let mut order = Vec::new();
    let mut count = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e["type"] == "org.review-ledger.entry")
    {
        let seq: u64 = e["sequence"].as_str().unwrap().parse().unwrap();
        let n = count.entry(seq).or_insert(0);
        if *n == 0 {
            order.push(seq);
        }
        *n += 1;
    }
    (order, count)
}

fn wait_for(what: &str, ok: impl Fn() -> bool) {
    let started = Instant::now();
    while !ok() {
        assert!(started.elapsed() < Duration::from_secs(60), "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn webhooks_deliver_every_entry_in_order_and_resume_after_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let mut org = found(tmp.path(), &[("isms", "Chloe Varga", "ISMS Lead", false)]);
    let l = org.ledger();
    let id = rl(&["id", "--ledger", &l], 0).1.trim().to_owned();
    let secret = "a shared secret of the GRC platform";
    let secret_file = tmp.path().join("hook.secret");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    let state = tmp.path().join("webhook-state");
    let (url, taken) = receiver(2);
    let args = [
        "--webhook",
        url.as_str(),
        "--webhook-secret",
        secret_file.to_str().unwrap(),
        "--webhook-state",
        state.to_str().unwrap(),
    ];
    let server = Server::start(&[Path::new(&l)], "127.0.0.1:0", &args);
    org.remote = Some((server.url(), id.clone()));
    // A review planned for yesterday with no pack: its pack reminder is due.
    let yesterday = review::Date::of_micros(ledger_store::system_clock()())
        .unwrap()
        .plus_days(-1)
        .to_string();
    org.by(
        "isms",
        &[
            "review",
            "schedule",
            "--review",
            "r1",
            "--title",
            "Extraordinary review",
            "--planned",
            &yesterday,
            "--period-start",
            "2026-01-01",
            "--period-end",
            "2026-06-30",
            "--chair",
            "ceo",
            "--expected",
            "ceo,isms",
        ],
        0,
    );
    wait_for("entries 0 to 2 delivered", || {
        entries(&events(&taken, secret)).0.len() >= 3
    });
    wait_for("the pack reminder delivered", || {
        events(&taken, secret)
            .iter()
            .any(|e| e["type"] == "org.review-ledger.reminder" && e["subject"] == "pack")
    });
    let got = events(&taken, secret);
    let (order, _) = entries(&got);
    assert_eq!(order, [0, 1, 2], "in order, after two refused attempts");
    let first = got.iter().find(|e| e["sequence"] == "2").unwrap();
    assert_eq!(first["specversion"], "1.0");
    assert_eq!(first["id"], format!("{id}-2"));
    assert_eq!(first["subject"], "review.schedule");
    assert_eq!(first["data"]["review"], "r1");
    assert_eq!(first["data"]["seq"], 2);
    drop(server);

    // While it is down, one more entry; after the restart, delivery goes on
    // from where it stopped.
    org.remote = None;
    let agenda = tmp.path().join("agenda.pdf");
    std::fs::write(&agenda, "the agenda").unwrap();
    let doc = format!("Agenda=https://dms.example/agenda=@{}", agenda.display());
    org.by(
        "isms",
        &[
            "review",
            "circulate",
            "--review",
            "r1",
            "--date",
            &yesterday,
            "--doc",
            &doc,
        ],
        0,
    );
    let server = Server::start(&[Path::new(&l)], "127.0.0.1:0", &args);
    wait_for("entry 3 delivered after the restart", || {
        entries(&events(&taken, secret)).0.contains(&3)
    });
    let (order, count) = entries(&events(&taken, secret));
    assert_eq!(order, [0, 1, 2, 3]);
    assert_eq!(count[&0], 1, "resumed, not started again: {count:?}");
    drop(server);
}
