//! Remote mode verifies incrementally: the CLI keeps what it verified of a
//! ledger on a server, and the next command verifies only the entries after
//! it. A server that later shows another history (a fork) or fewer entries
//! (a rollback) under the same address and ledger id is reported, not
//! trusted, also when the fork starts after the state the cache holds (the
//! last entry verified is kept beside it); a machine without that memory
//! verifies the whole ledger again.

use std::path::Path;

use e2e::{Org, run, run_cached};

use crate::service::{Server, enrol, founded};

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Appends `n` proposals of member 0 to the closed ledger in `dir`.
fn grow(dir: &Path, org: &Org, first: u64, n: u64) {
    let store = ledger_store::SledStore::open(dir).unwrap();
    let key = store.checkpoint_key().unwrap();
    let ledger = ledger_store::Ledger::start(
        store,
        review::LedgerState::new(),
        key,
        ledger_store::system_clock(),
    )
    .unwrap();
    let id = ledger_store::Store::entry(ledger.store().as_ref(), ledger_core::Seq(0))
        .unwrap()
        .map(|b| ledger_core::hash_entry_bytes(&b))
        .unwrap();
    for k in first..first + n {
        ledger.append(enrol(org, id, k)).unwrap();
    }
    ledger.close();
}

#[test]
fn a_remote_command_verifies_what_is_new_and_reports_a_fork_or_rollback() {
    let root = tempfile::tempdir().unwrap();
    let (ours, forked, rolled_back) = (
        root.path().join("ours"),
        root.path().join("forked"),
        root.path().join("rolled-back"),
    );
    let (org, id) = founded(&ours);
    e2e::copy_ledger(&ours, &forked);
    e2e::copy_ledger(&ours, &rolled_back);
    // The fork has other entries where ours will have three appends.
    grow(&forked, &org, 70_000, 5);
    let key = root.path().join("m0.pem");
    ledger_store::keyfile::write_private(&key, &org.keys[0]).unwrap();
    let fresh = root.path().join("fresh.pem");
    e2e::rl(&["key", "new", "--out", fresh.to_str().unwrap()], 0);
    let public = format!("{}.pub", fresh.to_str().unwrap());
    let cache = root.path().join("cache");
    let id_hex = id.to_hex();

    let server = Server::start(&[&ours], "127.0.0.1:0", &[]);
    let addr = server.addr.clone();
    let url = server.url();
    let add = |who: &str| -> Vec<String> {
        [
            "member",
            "add",
            "--json",
            "--server",
            &url,
            "--ledger-id",
            &id_hex,
            "--key",
            key.to_str().unwrap(),
            "--id",
            who,
            "--name",
            "Cached Member",
            "--role",
            "Analyst",
            "--public-key",
            &public,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    };
    let kept = |ext: &str| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .collect()
    };
    let mut first = Vec::new();
    for who in ["c1", "c2", "c3"] {
        let a = add(who);
        let (code, _, err) = run_cached(&args(&a), &cache).unwrap();
        assert_eq!(code, 0, "{who}: {err}");
        let files = kept("verified");
        assert_eq!(files.len(), 1, "one cache file for this server and ledger");
        let bytes = std::fs::read(&files[0]).unwrap();
        if first.is_empty() {
            first = bytes;
        } else {
            // A few entries more leave the state file as it was; the last
            // entry verified is kept beside it.
            assert_eq!(bytes, first, "{who}: the state file was written again");
        }
        assert_eq!(kept("seen").len(), 1, "{who}: the last entry verified");
    }
    drop(server);

    // The same address and ledger id, another history after the shared start.
    let server = Server::start(&[&forked], &addr, &[]);
    let a = add("c4");
    let (code, _, err) = run_cached(&args(&a), &cache).unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("does not verify after the") && err.contains("verified before"),
        "{err}"
    );
    // A machine without that memory finds nothing wrong with it on its own.
    let (code, _, err) = run(&args(&a)).unwrap();
    assert_eq!(code, 0, "{err}");
    drop(server);

    // The same address and ledger id, fewer entries than verified before.
    let server = Server::start(&[&rolled_back], &addr, &[]);
    let a = add("c5");
    let (code, _, err) = run_cached(&args(&a), &cache).unwrap();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("rolled back or rewritten"), "{err}");
    // Removing the files the refusal names makes this machine verify the
    // ledger from the start, as one that never saw the longer history.
    let named = err
        .split_once("remove ")
        .and_then(|(_, rest)| rest.split_once(" to verify it from the start"))
        .map(|(files, _)| files.split(" and ").map(str::to_owned).collect::<Vec<_>>())
        .unwrap_or_default();
    assert_eq!(named.len(), 2, "{err}");
    for file in &named {
        std::fs::remove_file(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    let (code, _, err) = run_cached(&args(&a), &cache).unwrap();
    assert_eq!(code, 0, "{err}");
    drop(server);
}
