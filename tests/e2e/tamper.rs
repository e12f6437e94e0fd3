//! Tampering with a stored ledger: `review-ledger verify` exits 1 and names
//! the entry at fault. The attacker here has the disk: it edits sled's
//! records directly, under the key layout `ledger-store` documents.

use std::path::Path;

use e2e::{Org, run};
use ledger_core::{Entry, Frontier, Seq, codec};
use ledger_store::Head;
use serde_json::Value;

const ENTRIES: u64 = 12;

/// A closed ledger of `ENTRIES` entries in `dir`.
fn build(dir: &Path, org: &Org) {
    let (ledger, id) = org.found(dir).unwrap();
    // Org::new(6) founds with 1 + 1 + 4 * 2 = 10 entries; add two rotations.
    for (n, who) in [(900u64, 2usize), (901, 3)] {
        let new = ledger_core::KeyPair::from_seed([n as u8; 32]);
        let p = review::rotation(id, &e2e::handle(who), &org.keys[who], &new);
        ledger.append(org.sign(id, who, n, &p)).unwrap();
    }
    assert_eq!(ledger.store().head().unwrap().size, ENTRIES);
    ledger.close();
}

use ledger_store::Store as _;

fn entry_key(seq: u64) -> Vec<u8> {
    [&[b'e'][..], &seq.to_be_bytes()].concat()
}

/// Opens the ledger's sled tree as the attacker would.
fn with_tree(dir: &Path, f: impl FnOnce(&sled::Tree)) {
    let db = crate::derived::open_db(dir);
    let tree = db.open_tree(b"ledger").unwrap();
    f(&tree);
    db.flush().unwrap();
}

fn get(t: &sled::Tree, seq: u64) -> Vec<u8> {
    t.get(entry_key(seq)).unwrap().unwrap().to_vec()
}

fn entry(t: &sled::Tree, seq: u64) -> Entry {
    Entry::decode(&get(t, seq)).unwrap()
}

/// Runs `verify --json` and returns (exit code, report).
fn verify_json(dir: &Path) -> (i32, Value) {
    let (code, stdout, stderr) =
        run(&["verify", "--json", "--ledger", dir.to_str().unwrap()]).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (code, report)
}

type Tamper = fn(&sled::Tree, &Path);

const CASES: &[(&str, Tamper, Option<u64>, &str)] = &[
    (
        "flipped byte in an event",
        |t, _| {
            let mut b = get(t, 4);
            let at = b.len() - 80;
            b[at] ^= 0x01;
            t.insert(entry_key(4), b).unwrap();
        },
        Some(4),
        "entry #4",
    ),
    (
        "flipped byte in the receive time",
        |t, _| {
            let mut e = entry(t, 4);
            e.received.0 += 1;
            t.insert(entry_key(4), e.encode()).unwrap();
        },
        Some(5),
        "hash of entry #4",
    ),
    (
        "flipped byte in the last entry",
        |t, _| {
            let mut e = entry(t, ENTRIES - 1);
            e.received.0 += 1;
            t.insert(entry_key(ENTRIES - 1), e.encode()).unwrap();
        },
        Some(ENTRIES - 1),
        "but the checkpoint witness's head is",
    ),
    (
        "deleted entry",
        |t, _| {
            t.remove(entry_key(3)).unwrap();
        },
        Some(3),
        "entry #3 is missing",
    ),
    (
        "two entries swapped",
        |t, _| {
            let (a, b) = (get(t, 3), get(t, 4));
            t.insert(entry_key(3), b).unwrap();
            t.insert(entry_key(4), a).unwrap();
        },
        Some(3),
        "says it is #4",
    ),
    (
        "truncated tail",
        |t, _| {
            t.remove(entry_key(ENTRIES - 1)).unwrap();
            t.remove(entry_key(ENTRIES - 2)).unwrap();
        },
        Some(ENTRIES - 2),
        "head records 12 entries but 10 are stored",
    ),
    (
        "truncated tail with a rewritten head",
        |t, _| {
            t.remove(entry_key(ENTRIES - 1)).unwrap();
            let mut frontier = Frontier::default();
            for seq in 0..ENTRIES - 1 {
                frontier.push(&ledger_core::hash_entry_bytes(&get(t, seq)));
            }
            let last = entry(t, ENTRIES - 2);
            let head = Head {
                size: ENTRIES - 1,
                hash: last.hash(),
                received: last.received,
                frontier,
            };
            t.insert(b"mhead", codec::encode(&head)).unwrap();
        },
        Some(ENTRIES - 1),
        "witness records 12 entries but only 11 are stored",
    ),
    (
        "truncated tail with a rewritten head and no witness",
        |t, dir| {
            t.remove(entry_key(ENTRIES - 1)).unwrap();
            let mut frontier = Frontier::default();
            for seq in 0..ENTRIES - 1 {
                frontier.push(&ledger_core::hash_entry_bytes(&get(t, seq)));
            }
            let last = entry(t, ENTRIES - 2);
            let head = Head {
                size: ENTRIES - 1,
                hash: last.hash(),
                received: last.received,
                frontier,
            };
            t.insert(b"mhead", codec::encode(&head)).unwrap();
            std::fs::remove_file(dir.join("checkpoint.witness")).unwrap();
        },
        None,
        "checkpoint states 12 entries but 11 verified",
    ),
    (
        "entry replaced by a validly signed one from another ledger",
        |t, dir| {
            let other = dir.with_extension("other");
            build(&other, &Org::new(6));
            let db = crate::derived::open_db(&other);
            let foreign = Entry::decode(
                &db.open_tree(b"ledger")
                    .unwrap()
                    .get(entry_key(5))
                    .unwrap()
                    .unwrap(),
            )
            .unwrap();
            drop(db);
            let mut e = entry(t, 5);
            e.event = foreign.event;
            e.signature = foreign.signature;
            t.insert(entry_key(5), e.encode()).unwrap();
        },
        Some(5),
        "is for ledger",
    ),
    (
        "replayed entry",
        |t, _| {
            // Entry #6 re-stored at #7 with #7's chain position: same event id twice.
            let mut e = entry(t, 6);
            let seven = entry(t, 7);
            e.seq = Seq(7);
            e.prev = seven.prev;
            e.received = seven.received;
            t.insert(entry_key(7), e.encode()).unwrap();
        },
        Some(7),
        "entry #7",
    ),
];

#[test]
fn verify_names_the_tampered_entry() {
    for (name, tamper, seq, reason) in CASES {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ledger");
        build(&dir, &Org::new(6));
        let (code, report) = verify_json(&dir);
        assert_eq!(
            (code, &report["valid"]),
            (0, &Value::Bool(true)),
            "{name}: before tampering"
        );
        with_tree(&dir, |t| tamper(t, &dir));
        let (code, report) = verify_json(&dir);
        assert_eq!(code, 1, "{name}: {report}");
        assert_eq!(report["valid"], Value::Bool(false), "{name}");
        assert_eq!(report["fault"]["seq"].as_u64(), *seq, "{name}: {report}");
        let why = report["fault"]["reason"].as_str().unwrap_or_default();
        assert!(
            why.contains(reason),
            "{name}: {why:?} should mention {reason:?}"
        );
    }
}

#[test]
fn a_review_is_not_judged_on_a_tampered_ledger() {
    let (name, tamper, seq, _) = CASES[0];
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ledger");
    build(&dir, &Org::new(6));
    with_tree(&dir, |t| tamper(t, &dir));
    let d = dir.to_str().unwrap();
    let (code, stdout, _) =
        run(&["verify", "--json", "--ledger", d, "--review", "mr-2026"]).unwrap();
    assert_eq!(code, 1, "{name}: {stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["fault"]["seq"].as_u64(), seq, "{report}");
    assert!(
        report.get("review").is_none(),
        "no audit of a review: {report}"
    );
    assert!(report.get("holds").is_none(), "{report}");
    let (code, text, _) = run(&["verify", "--ledger", d, "--review", "mr-2026"]).unwrap();
    assert_eq!(code, 1);
    assert!(text.contains("INVALID"), "{text}");
    assert!(text.contains("cannot be judged"), "{text}");
}

#[test]
fn damaged_database_files_give_an_error_not_a_panic() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ledger");
    build(&dir, &Org::new(6));
    // Overwrite a stretch in the middle of every file sled keeps.
    let mut damaged = 0;
    for file in walk(&dir.join("db")) {
        let mut bytes = std::fs::read(&file).unwrap();
        if bytes.len() < 64 {
            continue;
        }
        let mid = bytes.len() / 2;
        for b in &mut bytes[mid - 16..mid + 16] {
            *b = 0x5a;
        }
        std::fs::write(&file, bytes).unwrap();
        damaged += 1;
    }
    assert!(damaged > 0);
    let (code, stdout, stderr) = run(&["verify", "--ledger", dir.to_str().unwrap()]).unwrap();
    assert!(code == 1 || code == 2, "exit {code}: {stdout}{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !(stdout.trim().is_empty() && stderr.trim().is_empty()),
        "a message is printed"
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A disk attacker flips a byte of the first review's decision: the
/// server's `VerifyReview`, from the review's bundle or from the whole
/// ledger, finds the entry at fault and does not say the review holds; so
/// it does for the current review, whose bundle carries the previous
/// review it reports on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_finds_a_tampered_entry_of_the_review_it_verifies() {
    use service::pb;
    let root = tempfile::tempdir().unwrap();
    let demo = root.path().join("demo");
    let (code, _, err) = run(&["demo", "--dir", demo.to_str().unwrap()]).unwrap();
    assert_eq!(code, 0, "{err}");
    let dir = demo.join("ledger");
    let mut target = None;
    with_tree(&dir, |t| {
        for seq in 0.. {
            let e = entry(t, seq);
            let ev = ledger_core::Event::decode(&e.event).unwrap();
            let p = review::Payload::decode(&ev.kind, &ev.payload).unwrap();
            if ev.kind.as_str() == "review.decide" && p.review().unwrap().as_str() == "mr-prev" {
                let mut b = get(t, seq);
                let at = b.len() - 80;
                b[at] ^= 0x01;
                t.insert(entry_key(seq), b).unwrap();
                target = Some(seq);
                break;
            }
        }
    });
    let target = target.unwrap();
    let server = crate::service::Server::start(&[&dir], "127.0.0.1:0", &[]);
    let id = server.first_ledger_id().await;
    let mut reviews = server.review().await;
    let mut verify = async |review: &str, whole_ledger: bool| {
        reviews
            .verify_review(pb::VerifyReviewRequest {
                ledger_id: id.clone(),
                review: review.to_owned(),
                whole_ledger,
            })
            .await
            .unwrap()
            .into_inner()
    };
    for whole_ledger in [false, true] {
        let v = verify("mr-prev", whole_ledger).await;
        assert!(!v.valid, "whole ledger {whole_ledger}: {v:?}");
        assert_eq!(v.fault_seq, Some(target), "{}", v.fault);
        assert!(!v.holds && v.audit.is_none());
    }
    let current = verify("mr-current", false).await;
    assert!(!current.valid);
    assert_eq!(current.fault_seq, Some(target), "{}", current.fault);
    assert!(server.stop().success());
}
