//! The auditor's trusted state across audits: a ledger that grows is
//! accepted with a consistency proof; one that forked from the same genesis,
//! or shrank, is reported, and the trusted state keeps what was verified.

use std::path::Path;

use e2e::{Org, run};
use ledger_core::{KeyPair, LedgerId};
use ledger_store::{Ledger, SledStore, system_clock};
use review::{LedgerState, MemberRecord, Payload, RosterChange};
use serde_json::Value;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Enrols `n` new members numbered from `first` on the ledger in `dir`.
fn grow(org: &Org, dir: &Path, id: LedgerId, first: u8, n: u8) {
    let store = SledStore::open(dir).unwrap();
    let ledger = Ledger::start(
        store,
        LedgerState::new(),
        org.checkpoint.clone(),
        system_clock(),
    )
    .unwrap();
    for i in first..first + n {
        let record = MemberRecord {
            handle: review::MemberId::new(format!("new{i}")).unwrap(),
            name: format!("New {i}"),
            role: "Analyst".into(),
            top_management: false,
            key: KeyPair::from_seed([i; 32]).public(),
        };
        ledger
            .append(org.sign(
                id,
                0,
                1000 + u64::from(i),
                &Payload::Propose(RosterChange::Enrol(record)),
            ))
            .unwrap();
    }
    ledger.close();
}

fn verify(dir: &Path, id: LedgerId, state: &Path, code: i32) -> Value {
    let (got, stdout, stderr) = run(&[
        "verify",
        "--json",
        "--ledger",
        dir.to_str().unwrap(),
        "--trust",
        &id.to_hex(),
        "--state",
        state.to_str().unwrap(),
    ])
    .unwrap();
    assert_eq!(got, code, "{stdout}{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn forks_and_truncations_are_reported_against_the_trusted_state() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let state = tmp.path().join("auditor/trusted.json");
    let org = Org::new(1);
    let (ledger, id) = org.found(&a).unwrap();
    ledger.close();
    drop(ledger);
    grow(&org, &a, id, 10, 2);
    // Same genesis, then different histories; and an older copy.
    copy_dir(&a, &b);
    copy_dir(&a, &c);
    grow(&org, &a, id, 20, 2);
    grow(&org, &b, id, 30, 4);

    let v = verify(&a, id, &state, 0);
    assert_eq!(v["trusted_state"]["outcome"], "First", "{v}");
    grow(&org, &a, id, 40, 1);
    let v = verify(&a, id, &state, 0);
    assert_eq!(v["trusted_state"]["outcome"]["Extends"]["from"], 5, "{v}");
    let kept = std::fs::read_to_string(&state).unwrap();

    let v = verify(&b, id, &state, 1);
    let why = v["fault"]["reason"].as_str().unwrap();
    assert!(
        why.contains("fork") && why.contains("the 6 entries you verified"),
        "{why}"
    );
    let v = verify(&c, id, &state, 1);
    let why = v["fault"]["reason"].as_str().unwrap();
    assert!(
        why.contains("truncated") && why.contains("ledger now states 3"),
        "{why}"
    );
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        kept,
        "failures leave the trusted state as it was"
    );
}
