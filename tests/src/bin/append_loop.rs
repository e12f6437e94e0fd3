//! Appends to a ledger in a loop from several threads and prints each
//! acknowledged entry as `seq event-id`, until killed. The crash test kills
//! it with SIGKILL at random moments and checks that nothing acknowledged
//! was lost.
//!
//! Usage: `append-loop [--threads N] DIR` (creates the ledger if DIR does
//! not exist); `append-loop --help` says so.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use e2e::Org;
use ledger_core::{EventId, KeyPair};
use ledger_store::{Ledger, SledStore, Store as _, system_clock};
use rand_core::{OsRng, RngCore};
use review::{LedgerState, MemberId, MemberRecord, Payload, RosterChange};

/// Appends to a ledger from several threads until killed, printing each
/// acknowledged entry as `seq event-id`.
#[derive(clap::Parser)]
#[command(name = "append-loop")]
struct Args {
    /// The ledger directory; created (with a one-member roster) if absent.
    dir: std::path::PathBuf,
    /// How many threads append at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    threads: u16,
}

fn main() -> Result<()> {
    let args = <Args as clap::Parser>::parse();
    let dir = args.dir;
    let org = Org::new(1);
    let (ledger, id) = if dir.exists() {
        let store = SledStore::open(&dir)?;
        let id =
            ledger_core::Entry::decode(&store.entry(ledger_core::Seq(0))?.context("no genesis")?)?
                .hash();
        (
            Ledger::start(
                store,
                LedgerState::new(),
                org.checkpoint.clone(),
                system_clock(),
            )?,
            id,
        )
    } else {
        org.found(&dir)?
    };
    let ledger = Arc::new(ledger);
    let counter = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..args.threads)
        .map(|_| {
            let (ledger, counter) = (ledger.clone(), counter.clone());
            let founder = org.keys[0].clone();
            std::thread::spawn(move || -> Result<()> {
                loop {
                    // Each event enrols a fresh member with a fresh key:
                    // admissible every time, with a quorum of one founder.
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let mut seed = [0u8; 32];
                    OsRng.fill_bytes(&mut seed);
                    let record = MemberRecord {
                        handle: MemberId::new(format!("x{n}-{}", hex_of(&seed[..4])))?,
                        name: format!("Loop member {n}"),
                        role: "Tester".into(),
                        top_management: false,
                        key: KeyPair::from_seed(seed).public(),
                    };
                    let mut raw = [0u8; 16];
                    OsRng.fill_bytes(&mut raw);
                    let event = review::compose(
                        id,
                        EventId(raw),
                        &founder,
                        ledger_core::UnixMicros(0),
                        &Payload::Propose(RosterChange::Enrol(record)),
                    );
                    let receipt = ledger.append(event.sign(&founder))?;
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{} {}", receipt.seq.0, EventId(raw))?;
                    out.flush()?;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("append thread")?;
    }
    Ok(())
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
