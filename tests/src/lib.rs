//! Shared pieces of the end-to-end tests: a small organisation's keys, a
//! ledger built through the real store and writer, and the `review-ledger`
//! binary run as a user would run it.
//!
//! ```no_run
//! let org = e2e::Org::new(3);
//! let dir = tempfile_dir();
//! # fn tempfile_dir() -> std::path::PathBuf { unimplemented!() }
//! let ledger = org.found(&dir).unwrap();
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result};
use ledger_core::{EventId, Hash, KeyPair, LedgerId, SignedEvent, UnixMicros};
use ledger_store::{Ledger, SledStore, system_clock};
use review::{Genesis, LedgerState, MemberId, MemberRecord, Payload, Policy, RosterChange};

/// A ledger open for appending, with the real admission rules.
pub type OpenLedger = Ledger<SledStore, LedgerState>;

/// Keys of an organisation: member `i` has handle `m{i}` and key seed `i + 1`;
/// members 0 and 1 are top management. The checkpoint key has seed 200.
pub struct Org {
    /// The members' keys.
    pub keys: Vec<KeyPair>,
    /// The ledger's checkpoint key.
    pub checkpoint: KeyPair,
}

/// A fixed, deterministic event id from a counter.
pub fn event_id(n: u64) -> EventId {
    let mut id = [0xa5u8; 16];
    id[..8].copy_from_slice(&n.to_be_bytes());
    EventId(id)
}

/// The handle of member `i`.
pub fn handle(i: usize) -> MemberId {
    MemberId::new(format!("m{i}")).expect("valid handle")
}

impl Org {
    /// An organisation of `n` members.
    pub fn new(n: usize) -> Org {
        Org {
            keys: (0..n)
                .map(|i| KeyPair::from_seed([i as u8 + 1; 32]))
                .collect(),
            checkpoint: KeyPair::from_seed([200; 32]),
        }
    }

    /// The roster record of member `i`.
    pub fn record(&self, i: usize) -> MemberRecord {
        MemberRecord {
            handle: handle(i),
            name: format!("Member {i}"),
            role: if i < 2 {
                "Director".into()
            } else {
                "Manager".into()
            },
            top_management: i < 2,
            key: self.keys[i].public(),
        }
    }

    /// The signed genesis, founded by member 0.
    pub fn genesis(&self) -> SignedEvent {
        let payload = Payload::Genesis(Genesis {
            organisation: "Example Ltd".into(),
            founder: self.record(0),
            checkpoint_key: self.checkpoint.public(),
            policy: Policy::default(),
        });
        review::compose(
            Hash::ZERO,
            event_id(0),
            &self.keys[0],
            UnixMicros(1),
            &payload,
        )
        .sign(&self.keys[0])
    }

    /// Creates a ledger in `dir` with every member enrolled: member 1
    /// enrolled by member 0 alone, the rest proposed by 0 and approved by 1.
    pub fn found(&self, dir: &Path) -> Result<(OpenLedger, LedgerId)> {
        self.found_in(SledStore::create(dir, &self.checkpoint)?)
    }

    /// [`Org::found`] on a new, empty `store` of any kind.
    pub fn found_in<S: ledger_store::Store>(
        &self,
        store: S,
    ) -> Result<(Ledger<S, LedgerState>, LedgerId)> {
        let ledger = Ledger::start(
            store,
            LedgerState::new(),
            self.checkpoint.clone(),
            system_clock(),
        )?;
        let id = ledger.append(self.genesis())?.hash;
        let mut n = 1;
        for i in 1..self.keys.len() {
            let propose = self.sign(
                id,
                0,
                n,
                &Payload::Propose(RosterChange::Enrol(self.record(i))),
            );
            ledger.append(propose)?;
            if i > 1 {
                let approve = self.sign(id, 1, n + 1, &Payload::Approve(event_id(n)));
                ledger.append(approve)?;
                n += 1;
            }
            n += 1;
        }
        Ok((ledger, id))
    }

    /// Member `who` signs `payload` as event number `n` of ledger `ledger`.
    pub fn sign(&self, ledger: LedgerId, who: usize, n: u64, payload: &Payload) -> SignedEvent {
        review::compose(
            ledger,
            event_id(n),
            &self.keys[who],
            UnixMicros(n as i64),
            payload,
        )
        .sign(&self.keys[who])
    }
}

/// The `review-ledger` binary that cargo built beside this test, or the
/// one `REVIEW_LEDGER_BIN` names. Cargo builds it for `cargo test --workspace`
/// because the `cli` package has integration tests.
pub fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("REVIEW_LEDGER_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests run from target/<profile>/deps");
    let bin = profile_dir.join("review-ledger");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo test --workspace`, which builds it",
        bin.display()
    );
    bin
}

/// Runs the binary with `args`; returns its exit code, stdout and stderr.
/// Each run has a verified cache of its own (`REVIEW_LEDGER_CACHE`), so
/// that no run trusts what another verified of a ledger that happens to
/// share its id and a reused port: [`run_cached`] shares one.
pub fn run(args: &[&str]) -> Result<(i32, String, String)> {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let cache = std::env::temp_dir().join(format!("rl-cache-{}-{n}", std::process::id()));
    let result = run_cached(args, &cache);
    let _ = std::fs::remove_dir_all(&cache);
    result
}

/// [`run`] with the verified cache in `cache`, kept between runs.
pub fn run_cached(args: &[&str], cache: &Path) -> Result<(i32, String, String)> {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(binary())
        .args(args)
        .env_remove("REVIEW_LEDGER_DIR")
        .env("REVIEW_LEDGER_CACHE", cache)
        .output()
        .context("cannot start review-ledger")?;
    let code = status.code().unwrap_or(-1);
    Ok((
        code,
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    ))
}

/// Runs the binary, expecting exit code `code` and no panic; returns stdout
/// parsed as JSON (`Null` when it is not JSON) and all it printed.
pub fn rl(args: &[&str], code: i32) -> (serde_json::Value, String) {
    let (got, stdout, stderr) = run(args).unwrap();
    assert_eq!(got, code, "{args:?}\nstdout: {stdout}\nstderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null),
        stdout + &stderr,
    )
}

/// Copies a ledger directory as an auditor would take it away: every file
/// but the writer's `LOCK`.
pub fn copy_ledger(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for e in std::fs::read_dir(from).expect("read the ledger directory") {
        let e = e.expect("a directory entry");
        if e.file_name() == "LOCK" {
            continue;
        }
        let target = to.join(e.file_name());
        if e.file_type().expect("a file type").is_dir() {
            copy_ledger(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("copy a file");
        }
    }
}

/// A PostgreSQL cluster that `start` starts, or `None` after saying that
/// `test` was skipped because the server's binaries are missing here.
pub fn postgres(
    test: &str,
    start: impl FnOnce() -> ledger_pg::cluster::Result<ledger_pg::cluster::Postgres>,
) -> Option<ledger_pg::cluster::Postgres> {
    match start() {
        Ok(pg) => Some(pg),
        Err(why) if why.starts_with("no PostgreSQL server binaries") => {
            eprintln!("skipped: {test}: {why}");
            None
        }
        Err(why) => panic!("cannot start PostgreSQL: {why}"),
    }
}
