//! Crash safety: a writer killed with SIGKILL at random moments loses no
//! acknowledged entry and leaves no partial one.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use e2e::run;
use ledger_core::{Entry, Event, Seq};
use ledger_store::{SledStore, Store};
use serde_json::Value;

const ROUNDS: usize = 50;

/// A small xorshift generator: the test prints its seed so a failing round can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn killed_writers_lose_no_acknowledged_entry() {
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash test seed {seed} (rerun with CRASH_SEED={seed})");
    let mut rng = Rng(seed);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("ledger");
    // Every acknowledged (seq, event id) across all rounds.
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_append-loop"))
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait for the first acknowledgement so every round writes, then a random while longer.
        let first = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the writer acknowledges within 30 s");
        std::thread::sleep(Duration::from_millis(rng.next() % 300));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        let mut lines = vec![first];
        lines.extend(rx.try_iter());
        for line in &lines {
            let (seq, id) = line
                .split_once(' ')
                .unwrap_or_else(|| panic!("round {round}: bad line {line:?}"));
            let seq: u64 = seq.parse().unwrap();
            if let Some(old) = acked.insert(seq, id.to_owned()) {
                panic!("round {round}: #{seq} acknowledged twice ({old} and {id})");
            }
        }
        // Every acknowledged entry is there, with the event it acknowledged.
        let store = SledStore::open(&dir).unwrap_or_else(|e| panic!("round {round}: reopen: {e}"));
        let size = store.head().unwrap().size;
        for (seq, id) in &acked {
            assert!(
                *seq < size,
                "round {round}: acknowledged #{seq} lost (size {size})"
            );
            let bytes = store.entry(Seq(*seq)).unwrap().unwrap();
            let event = Event::decode(&Entry::decode(&bytes).unwrap().event).unwrap();
            assert_eq!(
                &event.id.to_hex(),
                id,
                "round {round}: #{seq} holds another event"
            );
        }
        drop(store);
        let (code, stdout, stderr) =
            run(&["verify", "--json", "--ledger", dir.to_str().unwrap()]).unwrap();
        let report: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        assert_eq!(code, 0, "round {round}: {stdout}{stderr}");
        assert_eq!(report["entries"].as_u64(), Some(size), "round {round}");
    }
    assert!(
        acked.len() > ROUNDS,
        "the writer made progress: {} acknowledged",
        acked.len()
    );
}
