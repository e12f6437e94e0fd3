//! Damage to the records the store derives from its entries (Merkle nodes,
//! the head, the checkpoint, the files beside the database), made on disk
//! behind the program's back: `verify` names the record (exit 1, or a
//! warning where nothing is wrong with the evidence), and opening for
//! append refuses to build on it, leaving the ledger exactly as it was.

use std::collections::BTreeMap;
use std::path::Path;

use e2e::{Org, run};
use ledger_core::KeyPair;
use ledger_store::{Ledger, SledStore, system_clock};
use review::LedgerState;
use serde_json::Value;

/// A closed ledger of 12 entries: peaks of its Merkle tree at (3, 0) and (2, 2).
fn build(dir: &Path, org: &Org) {
    let (ledger, id) = org.found(dir).unwrap();
    for (n, who) in [(900u64, 2usize), (901, 3)] {
        let new = KeyPair::from_seed([n as u8; 32]);
        let p = review::rotation(id, &e2e::handle(who), &org.keys[who], &new);
        ledger.append(org.sign(id, who, n, &p)).unwrap();
    }
    ledger.close();
}

fn node_key(level: u8, index: u64) -> Vec<u8> {
    [&[b'n', level][..], &index.to_be_bytes()].concat()
}

/// Opens the ledger's database as the attacker would, waiting (a bounded
/// while) for a process that just closed it to let go of its lock.
fn open_db(dir: &Path) -> sled::Db {
    let mut tries = 0;
    loop {
        match sled::open(dir.join("db")) {
            Ok(db) => return db,
            Err(e) if tries < 100 => {
                tries += 1;
                let _ = e;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("cannot open the database: {e}"),
        }
    }
}

/// Every key and value of the ledger's tree, as the attacker sees them.
fn dump(dir: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let db = open_db(dir);
    let tree = db.open_tree(b"ledger").unwrap();
    tree.iter()
        .map(|kv| {
            let (k, v) = kv.unwrap();
            (k.to_vec(), v.to_vec())
        })
        .collect()
}

fn with_tree(dir: &Path, f: impl FnOnce(&sled::Tree)) {
    let db = open_db(dir);
    let tree = db.open_tree(b"ledger").unwrap();
    f(&tree);
    db.flush().unwrap();
}

fn flip(t: &sled::Tree, key: &[u8], at: usize) {
    let mut v = t.get(key).unwrap().unwrap().to_vec();
    v[at] ^= 0x01;
    t.insert(key, v).unwrap();
}

type Damage = fn(&sled::Tree, &Path);

/// What verify must say: exit code, and words of its fault (exit 1) or warning (exit 0).
struct Case {
    name: &'static str,
    damage: Damage,
    verify: (i32, &'static str),
    /// Words of the refusal to open for append, or `None` when appending is safe.
    append_refused: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "flipped byte in a peak Merkle node",
            damage: |t, _| flip(t, &node_key(2, 2), 5),
            verify: (1, "stored Merkle node (2, 2)"),
            append_refused: Some("Merkle node (2, 2)"),
        },
        Case {
            name: "flipped byte in an inner Merkle node",
            damage: |t, _| flip(t, &node_key(1, 1), 0),
            verify: (1, "stored Merkle node (1, 1)"),
            // Appends build on the frontier only; proofs through this node
            // are what it breaks, and verify finds it.
            append_refused: None,
        },
        Case {
            name: "top Merkle node deleted",
            damage: |t, _| {
                t.remove(node_key(3, 0)).unwrap();
            },
            verify: (1, "(3, 0) is missing"),
            append_refused: Some("Merkle node (3, 0)"),
        },
        Case {
            name: "flipped byte in the stored head's hash",
            damage: |t, _| flip(t, b"mhead", 12),
            verify: (1, "head"),
            append_refused: Some("head"),
        },
        Case {
            name: "flipped byte in the stored head's frontier",
            damage: |t, _| {
                let v = t.get(b"mhead").unwrap().unwrap();
                let at = v.len() - 3;
                flip(t, b"mhead", at);
            },
            verify: (1, "stored head is damaged"),
            append_refused: Some("Merkle node"),
        },
        Case {
            name: "stored head and checkpoint swapped",
            damage: |t, _| {
                let head = t.get(b"mhead").unwrap().unwrap();
                let cp = t.get(b"mcheckpoint").unwrap().unwrap();
                t.insert(b"mhead", cp).unwrap();
                t.insert(b"mcheckpoint", head).unwrap();
            },
            verify: (1, "head is damaged"),
            append_refused: Some("head"),
        },
        Case {
            name: "checkpoint.witness deleted",
            damage: |_, dir| std::fs::remove_file(dir.join("checkpoint.witness")).unwrap(),
            verify: (0, "checkpoint.witness is missing"),
            append_refused: None,
        },
        Case {
            name: "checkpoint.pem from another ledger",
            damage: |_, dir| {
                ledger_store::keyfile::write_private(
                    &dir.join("checkpoint.pem.new"),
                    &KeyPair::from_seed([77; 32]),
                )
                .unwrap();
                std::fs::rename(dir.join("checkpoint.pem.new"), dir.join("checkpoint.pem"))
                    .unwrap();
            },
            verify: (1, "not the checkpoint key"),
            append_refused: Some("checkpoint.pem"),
        },
        Case {
            name: "checkpoint.pem corrupt",
            damage: |_, dir| std::fs::write(dir.join("checkpoint.pem"), b"not a key\n").unwrap(),
            verify: (1, "checkpoint.pem is damaged"),
            append_refused: Some("checkpoint.pem"),
        },
        Case {
            name: "checkpoint.pem missing",
            damage: |_, dir| std::fs::remove_file(dir.join("checkpoint.pem")).unwrap(),
            verify: (0, "checkpoint.pem is missing"),
            append_refused: Some("checkpoint.pem"),
        },
    ]
}

/// Opens the ledger for append as `review-ledger` does and appends one
/// valid event; returns why it was refused, if it was.
fn try_append(dir: &Path, org: &Org) -> Option<String> {
    let store = match SledStore::open(dir) {
        Ok(s) => s,
        Err(e) => return Some(e.to_string()),
    };
    let key = match store.checkpoint_key() {
        Ok(k) => k,
        Err(e) => return Some(e.to_string()),
    };
    let ledger = match Ledger::start(store, LedgerState::new(), key, system_clock()) {
        Ok(l) => l,
        Err(e) => return Some(e.to_string()),
    };
    let id = ledger_core::hash_entry_bytes(
        &ledger
            .store()
            .entry(ledger_core::Seq(0))
            .unwrap()
            .expect("genesis"),
    );
    let p = review::rotation(
        id,
        &e2e::handle(4),
        &org.keys[4],
        &KeyPair::from_seed([99; 32]),
    );
    let out = ledger
        .append(org.sign(id, 4, 999, &p))
        .err()
        .map(|e| e.to_string());
    ledger.close();
    out
}

use ledger_store::Store as _;

/// `verify --json`: exit code and report.
fn verify(dir: &Path) -> (i32, Value) {
    let (code, stdout, stderr) =
        run(&["verify", "--json", "--ledger", dir.to_str().unwrap()]).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (code, serde_json::from_str(&stdout).unwrap_or(Value::Null))
}

#[test]
fn damaged_derived_records_are_named_and_never_built_on() {
    for case in cases() {
        let name = case.name;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ledger");
        let org = Org::new(6);
        build(&dir, &org);
        let (code, report) = verify(&dir);
        assert_eq!(code, 0, "{name}: before the damage: {report}");
        assert_eq!(report["warnings"], serde_json::json!([]), "{name}");

        with_tree(&dir, |t| (case.damage)(t, &dir));
        let (code, report) = verify(&dir);
        let (want_code, words) = case.verify;
        assert_eq!(code, want_code, "{name}: {report}");
        let said = if code == 1 {
            assert_eq!(report["valid"], false, "{name}");
            report["fault"]["reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        } else {
            assert_eq!(report["valid"], true, "{name}");
            report["warnings"].to_string()
        };
        assert!(
            said.contains(words),
            "{name}: {said:?} should mention {words:?}"
        );

        let before = dump(&dir);
        let refused = try_append(&dir, &org);
        match case.append_refused {
            Some(words) => {
                let why = refused.unwrap_or_else(|| panic!("{name}: an append was accepted"));
                assert!(
                    why.contains(words),
                    "{name}: {why:?} should mention {words:?}"
                );
                assert!(
                    dump(&dir) == before,
                    "{name}: the refused append changed the ledger"
                );
            }
            None => assert_eq!(refused, None, "{name}"),
        }
    }
}
