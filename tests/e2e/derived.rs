//! Damage to the records the store derives from its entries (Merkle nodes,
//! the head, the checkpoint, the event-id index, the files beside the
//! database), made on disk behind the program's back: `verify` names the
//! record (exit 1, or a warning where nothing is wrong with the evidence),
//! opening for append refuses to build on it, leaving the ledger exactly as
//! it was, and `repair` rewrites exactly the damaged records, after which
//! the ledger verifies and appends again. Where the fault is in the
//! evidence itself, `repair` refuses and writes nothing.

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
/// while) for a process that just closed it, or a ledger just dropped, to
/// let go of its lock.
pub(crate) fn open_db(dir: &Path) -> sled::Db {
    let mut tries = 0;
    loop {
        match sled::open(dir.join("db")) {
            Ok(db) => return db,
            Err(e) if tries < 250 => {
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

/// The key of the event-id index record of entry `seq`.
fn index_record_of(t: &sled::Tree, seq: u64) -> Vec<u8> {
    let entry = t
        .get([&b"e"[..], &seq.to_be_bytes()].concat())
        .unwrap()
        .unwrap();
    let entry = ledger_core::Entry::decode(&entry).unwrap();
    let event = ledger_core::Event::decode(&entry.event).unwrap();
    [&b"i"[..], &event.id.0].concat()
}

fn flip(t: &sled::Tree, key: &[u8], at: usize) {
    let mut v = t.get(key).unwrap().unwrap().to_vec();
    v[at] ^= 0x01;
    t.insert(key, v).unwrap();
}

type Damage = fn(&sled::Tree, &Path);

/// What `repair` must do after the damage.
enum Repair {
    /// Rewrite exactly these records (as `repair --json` names them).
    Rewrites(&'static [&'static str]),
    /// Refuse (exit 1) with these words, writing nothing.
    Refuses(&'static str),
}

/// What verify must say: exit code, and words of its fault (exit 1) or warning (exit 0).
struct Case {
    name: &'static str,
    damage: Damage,
    verify: (i32, &'static str),
    /// Words of the refusal to open for append, or `None` when appending is safe.
    append_refused: Option<&'static str>,
    repair: Repair,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "flipped byte in a peak Merkle node",
            damage: |t, _| flip(t, &node_key(2, 2), 5),
            verify: (1, "stored Merkle node (2, 2)"),
            append_refused: Some("Merkle node (2, 2)"),
            repair: Repair::Rewrites(&["Merkle node (2, 2)"]),
        },
        Case {
            name: "flipped byte in an inner Merkle node",
            damage: |t, _| flip(t, &node_key(1, 1), 0),
            verify: (1, "stored Merkle node (1, 1)"),
            // Appends build on the frontier only; proofs through this node
            // are what it breaks, and verify finds it.
            append_refused: None,
            repair: Repair::Rewrites(&["Merkle node (1, 1)"]),
        },
        Case {
            name: "top Merkle node deleted",
            damage: |t, _| {
                t.remove(node_key(3, 0)).unwrap();
            },
            verify: (1, "(3, 0) is missing"),
            append_refused: Some("Merkle node (3, 0)"),
            repair: Repair::Rewrites(&["Merkle node (3, 0)"]),
        },
        Case {
            name: "flipped byte in the stored head's hash",
            damage: |t, _| flip(t, b"mhead", 12),
            verify: (1, "head"),
            append_refused: Some("head"),
            repair: Repair::Rewrites(&["head"]),
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
            repair: Repair::Rewrites(&["head"]),
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
            repair: Repair::Rewrites(&["head", "checkpoint"]),
        },
        Case {
            name: "checkpoint.witness deleted",
            damage: |_, dir| std::fs::remove_file(dir.join("checkpoint.witness")).unwrap(),
            verify: (0, "checkpoint.witness is missing"),
            append_refused: None,
            repair: Repair::Rewrites(&["checkpoint.witness"]),
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
            repair: Repair::Refuses("not the checkpoint key"),
        },
        Case {
            name: "checkpoint.pem corrupt",
            damage: |_, dir| std::fs::write(dir.join("checkpoint.pem"), b"not a key\n").unwrap(),
            verify: (1, "checkpoint.pem is damaged"),
            append_refused: Some("checkpoint.pem"),
            repair: Repair::Refuses("checkpoint.pem"),
        },
        Case {
            name: "checkpoint.pem missing",
            damage: |_, dir| std::fs::remove_file(dir.join("checkpoint.pem")).unwrap(),
            verify: (0, "checkpoint.pem is missing"),
            append_refused: Some("checkpoint.pem"),
            repair: Repair::Refuses("checkpoint.pem"),
        },
        Case {
            name: "an event-id index record deleted",
            damage: |t, _| {
                t.remove(index_record_of(t, 5)).unwrap();
            },
            verify: (1, "is not in the index"),
            append_refused: None,
            repair: Repair::Rewrites(&["event-id index of event"]),
        },
        Case {
            name: "an event-id index record pointing at another entry",
            damage: |t, _| {
                t.insert(index_record_of(t, 5), &7u64.to_be_bytes())
                    .unwrap();
            },
            verify: (1, "is also at #7"),
            append_refused: None,
            repair: Repair::Rewrites(&["event-id index of event"]),
        },
        Case {
            name: "a stray event-id index record",
            damage: |t, _| {
                let key = [&b"i"[..], &e2e::event_id(999).0].concat();
                t.insert(key, &3u64.to_be_bytes()).unwrap();
            },
            // The stray record would refuse that event as a duplicate.
            verify: (1, "event-id index records are stored where the"),
            append_refused: Some("already in the ledger at #3"),
            repair: Repair::Rewrites(&["event-id index of event"]),
        },
        Case {
            name: "a stray Merkle node beyond the tree",
            damage: |t, _| {
                t.insert(node_key(0, 40), &[7u8; 32]).unwrap();
            },
            verify: (1, "Merkle node records are stored where the"),
            append_refused: None,
            repair: Repair::Rewrites(&["Merkle node (0, 40)"]),
        },
        Case {
            name: "a flipped byte in the state snapshot",
            damage: |_, dir| {
                let path = dir.join("state.snapshot");
                let mut bytes = std::fs::read(&path).unwrap();
                let at = bytes.len() - 20;
                bytes[at] ^= 1;
                std::fs::write(&path, bytes).unwrap();
            },
            verify: (1, "the stored snapshot is damaged"),
            // Opening ignores it (with a warning) and replays every entry.
            append_refused: None,
            repair: Repair::Rewrites(&["state.snapshot"]),
        },
        Case {
            name: "the checkpoint deleted",
            damage: |t, _| {
                t.remove(b"mcheckpoint").unwrap();
            },
            verify: (1, "no checkpoint is stored"),
            append_refused: Some("checkpoint"),
            repair: Repair::Rewrites(&["checkpoint"]),
        },
        Case {
            name: "a flipped byte in the checkpoint's signature",
            damage: |t, _| {
                let v = t.get(b"mcheckpoint").unwrap().unwrap();
                let at = v.len() - 10;
                flip(t, b"mcheckpoint", at);
            },
            verify: (1, "checkpoint"),
            append_refused: Some("checkpoint"),
            repair: Repair::Rewrites(&["checkpoint"]),
        },
        Case {
            name: "a flipped byte in an entry's signature",
            damage: |t, _| {
                let key = [&b"e"[..], &5u64.to_be_bytes()].concat();
                let v = t.get(&key).unwrap().unwrap();
                let at = v.len() - 3;
                flip(t, &key, at);
            },
            verify: (1, "signature"),
            // Opening starts from the state snapshot and reads no entry
            // before it again: an append builds only on the head and the
            // Merkle frontier, which it checks. `verify` finds the entry.
            append_refused: None,
            repair: Repair::Refuses("entry #5"),
        },
        Case {
            name: "a middle entry deleted",
            damage: |t, _| {
                t.remove([&b"e"[..], &4u64.to_be_bytes()].concat()).unwrap();
            },
            verify: (1, "entry #4 is missing"),
            // Inside the state snapshot: not read when the ledger opens.
            append_refused: None,
            repair: Repair::Refuses("entry #4 is missing"),
        },
        Case {
            name: "the last entry deleted",
            damage: |t, _| {
                t.remove([&b"e"[..], &11u64.to_be_bytes()].concat())
                    .unwrap();
            },
            verify: (1, "12 entries but 11"),
            append_refused: Some("head"),
            repair: Repair::Refuses("are lost"),
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

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap() {
        let item = item.unwrap();
        let target = to.join(item.file_name());
        if item.file_type().unwrap().is_dir() {
            copy_tree(&item.path(), &target);
        } else if item.file_name() != "LOCK" {
            std::fs::copy(item.path(), &target).unwrap();
        }
    }
}

/// `verify --json`: exit code and report.
fn verify(dir: &Path) -> (i32, Value) {
    json_of("verify", dir)
}

/// `COMMAND --json --ledger DIR`: exit code and output.
fn json_of(command: &str, dir: &Path) -> (i32, Value) {
    let (code, stdout, stderr) =
        run(&[command, "--json", "--ledger", dir.to_str().unwrap()]).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (code, serde_json::from_str(&stdout).unwrap_or(Value::Null))
}

/// The database's keys and values, and the files beside it.
type Everything = (BTreeMap<Vec<u8>, Vec<u8>>, Vec<Option<Vec<u8>>>);

/// The database and the files beside it, byte for byte.
fn everything(dir: &Path) -> Everything {
    let files = ["checkpoint.witness", "checkpoint.pem"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).ok())
        .collect();
    (dump(dir), files)
}

/// Runs `repair` after `case`'s damage and checks what it did.
fn check_repair(case: &Case, dir: &Path, org: &Org) {
    let name = case.name;
    let before = everything(dir);
    let (code, report) = json_of("repair", dir);
    match case.repair {
        Repair::Refuses(words) => {
            assert_eq!(code, 1, "{name}: {report}");
            assert_eq!(report["repaired"], false, "{name}");
            let said = report["fault"].to_string();
            assert!(
                said.contains(words),
                "{name}: {said} should mention {words:?}"
            );
            assert!(everything(dir) == before, "{name}: a refused repair wrote");
        }
        Repair::Rewrites(records) => {
            assert_eq!(code, 0, "{name}: {report}");
            let done: Vec<String> = report["rewritten"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["record"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(done.len(), records.len(), "{name}: {report}");
            for (got, want) in done.iter().zip(records) {
                assert!(
                    got.starts_with(want),
                    "{name}: rewrote {done:?}, not {records:?}"
                );
            }
            let (code, after) = verify(dir);
            assert_eq!(code, 0, "{name}: after repair: {after}");
            assert_eq!(after["warnings"], serde_json::json!([]), "{name}");
            // Repair again: nothing to do, nothing written.
            let repaired = everything(dir);
            let (code, again) = json_of("repair", dir);
            assert_eq!(code, 0, "{name}: {again}");
            assert_eq!(again["rewritten"], serde_json::json!([]), "{name}: {again}");
            assert!(everything(dir) == repaired, "{name}: a second repair wrote");
            assert_eq!(try_append(dir, org), None, "{name}: after repair");
            let (code, after) = verify(dir);
            assert_eq!(code, 0, "{name}: after repair and an append: {after}");
        }
    }
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

        let damaged = root.path().join("damaged");
        copy_tree(&dir, &damaged);
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
        if case.append_refused.is_some() {
            check_repair(&case, &dir, &org);
        } else {
            // The append went on top: repair the copy made before it.
            check_repair(&case, &damaged, &org);
        }
    }
}

#[test]
fn repair_on_a_sound_ledger_rewrites_nothing() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ledger");
    let org = Org::new(6);
    build(&dir, &org);
    let before = everything(&dir);
    let (code, stdout, stderr) = run(&["repair", "--ledger", dir.to_str().unwrap()]).unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("nothing to repair"), "{stdout}");
    assert!(everything(&dir) == before, "repair wrote to a sound ledger");
}

/// `checkpoint` and `prove` read the genesis entry and the stored note
/// only; a note of another ledger under the same checkpoint key is
/// refused all the same.
#[test]
fn checkpoint_and_prove_refuse_another_ledgers_checkpoint() {
    let root = tempfile::tempdir().unwrap();
    let (ours, theirs) = (root.path().join("ours"), root.path().join("theirs"));
    // Two organisations whose genesis names the same checkpoint key.
    build(&ours, &Org::new(6));
    build(&theirs, &Org::new(5));
    let d = ours.to_str().unwrap();
    let (code, _, stderr) = run(&["prove", "--ledger", d, "--seq", "1"]).unwrap();
    assert_eq!(code, 0, "{stderr}");
    let mut note = Vec::new();
    with_tree(&theirs, |t| {
        note = t.get(b"mcheckpoint").unwrap().unwrap().to_vec()
    });
    with_tree(&ours, |t| {
        t.insert(b"mcheckpoint", note.as_slice()).unwrap();
    });
    for args in [
        vec!["checkpoint", "--ledger", d],
        vec!["prove", "--ledger", d, "--seq", "1"],
    ] {
        let (code, _, stderr) = run(&args).unwrap();
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("not of this ledger"), "{args:?}: {stderr}");
    }
}
