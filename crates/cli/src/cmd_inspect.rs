//! `log`, `checkpoint`, `prove`: read-only views of a ledger.

use anyhow::{Context, Result, bail};
use clap::Args;
use ledger_core::merkle::{
    prove_consistency, prove_inclusion, verify_consistency, verify_inclusion,
};
use ledger_core::{Checkpoint, Entry, Event, Seq};
use ledger_store::{Store, StoreNodes};
use review::{LedgerState, Payload};
use serde_json::{Value, json};

use crate::out::{Out, time};
use crate::{LedgerDir, Verdict};

#[derive(Args)]
pub struct LogArgs {
    #[command(flatten)]
    pub ledger: LedgerDir,
    /// The first entry to list.
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    /// How many entries to list at most.
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    /// Show only the entry holding this event (32 hex digits); exit 1 when
    /// the ledger has none.
    #[arg(long, value_name = "HEX", conflicts_with_all = ["from", "limit"])]
    pub event_id: Option<String>,
}

#[derive(Args)]
pub struct CheckpointArgs {
    #[command(flatten)]
    pub ledger: LedgerDir,
}

#[derive(Args)]
pub struct ProveArgs {
    #[command(flatten)]
    pub ledger: LedgerDir,
    /// The entry to prove included in the latest checkpoint.
    #[arg(
        long,
        conflicts_with = "old_size",
        required_unless_present = "old_size"
    )]
    pub seq: Option<u64>,
    /// Prove instead that the tree of this size is a prefix of the latest one.
    #[arg(long)]
    pub old_size: Option<u64>,
}

/// The latest checkpoint, verified under the key genesis names and for
/// the ledger genesis founds. Reads the genesis entry and the stored note
/// only, whatever the ledger's length.
fn latest_checkpoint(store: &dyn Store) -> Result<(String, Checkpoint)> {
    let bytes = store
        .entry(Seq(0))?
        .context("the ledger has no genesis entry")?;
    let entry = Entry::decode(&bytes).context("the genesis entry")?;
    let event = Event::decode(&entry.event).context("the genesis entry")?;
    let Ok(Payload::Genesis(genesis)) = Payload::decode(&event.kind, &event.payload) else {
        bail!("entry #0 is not a genesis ({})", event.kind.as_str());
    };
    let note = store
        .checkpoint()?
        .context("the ledger has no checkpoint")?;
    let cp = Checkpoint::verify(&note, &genesis.checkpoint_key)?;
    let ledger_id = entry.hash();
    if cp.ledger_id != ledger_id {
        bail!(
            "the stored checkpoint is of ledger {}, not of this ledger {ledger_id}",
            cp.ledger_id
        );
    }
    Ok((note, cp))
}

pub fn log(a: LogArgs, out: &Out) -> Result<Verdict> {
    let store = crate::local::open_for_reading(&a.ledger.at())?;
    let mut state = LedgerState::new();
    crate::local::rebuild(&store, &mut state, &a.ledger.at())?;
    let (from, limit) = match a.event_id.as_deref() {
        None => (Seq(a.from), a.limit),
        Some(hex) => {
            let id = ledger_core::EventId::from_hex(hex).context("--event-id")?;
            match store.seq_of(&id)? {
                Some(seq) => (seq, 1),
                None => {
                    out.emit(&Value::Array(Vec::new()), || {
                        format!("event {id} is not in the ledger")
                    });
                    return Ok(Verdict::Failed);
                }
            }
        }
    };
    let mut rows = Vec::new();
    for (seq, bytes) in store.range(from, limit)? {
        let entry = Entry::decode(&bytes).with_context(|| format!("entry {seq}"))?;
        let event = Event::decode(&entry.event).with_context(|| format!("entry {seq}"))?;
        let author = state
            .roster
            .keys
            .get(&event.author.key())
            .map(|k| k.member.to_string());
        let what = match Payload::decode(&event.kind, &event.payload) {
            Ok(p) => review::describe::payload(&p),
            Err(e) => format!("(undecodable: {e})"),
        };
        rows.push(json!({
            "seq": seq.0,
            "hash": entry.hash().to_hex(),
            "received": time(entry.received),
            "received_us": entry.received.0,
            "event_id": event.id.to_hex(),
            "kind": event.kind.as_str(),
            "author": author,
            "author_fingerprint": event.author.key().fingerprint(),
            "summary": what,
        }));
    }
    out.emit(&Value::Array(rows.clone()), || {
        rows.iter()
            .map(|r| {
                format!(
                    "{:>6}  {}  {:<16} {:<10} {}",
                    r["seq"],
                    r["received"].as_str().unwrap_or(""),
                    r["kind"].as_str().unwrap_or(""),
                    r["author"].as_str().unwrap_or("?"),
                    r["summary"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(Verdict::Ok)
}

pub fn checkpoint(a: CheckpointArgs, out: &Out) -> Result<Verdict> {
    let store = crate::local::open_for_reading(&a.ledger.at())?;
    let (note, cp) = latest_checkpoint(&store)?;
    out.emit(
        &json!({
            "ledger_id": cp.ledger_id.to_hex(),
            "size": cp.size,
            "root": cp.root.to_hex(),
            "head": cp.head.to_hex(),
            "time": time(cp.time),
            "note": note,
        }),
        || note.clone(),
    );
    Ok(Verdict::Ok)
}

/// `id`: the ledger id (the hash of entry 0) alone, for scripts and for
/// auditors to pin: `LEDGER_ID=$(review-ledger id)`.
pub fn id(a: CheckpointArgs, out: &Out) -> Result<Verdict> {
    let store = crate::local::open_for_reading(&a.ledger.at())?;
    let (_, cp) = latest_checkpoint(&store)?;
    out.emit(&json!({ "ledger_id": cp.ledger_id.to_hex() }), || {
        cp.ledger_id.to_hex()
    });
    Ok(Verdict::Ok)
}

pub fn prove(a: ProveArgs, out: &Out) -> Result<Verdict> {
    let store = crate::local::open_for_reading(&a.ledger.at())?;
    let (note, cp) = latest_checkpoint(&store)?;
    let nodes = StoreNodes(&store);
    let value = if let Some(seq) = a.seq {
        if seq >= cp.size {
            bail!("entry #{seq} is not in the ledger of {} entries", cp.size);
        }
        let bytes = store
            .entry(Seq(seq))?
            .with_context(|| format!("entry #{seq} is missing"))?;
        let hash = ledger_core::hash_entry_bytes(&bytes);
        let proof = prove_inclusion(&nodes, seq, cp.size)?;
        verify_inclusion(&hash, &proof, &cp.root)
            .context("the stored tree does not prove this entry")?;
        json!({
            "seq": seq,
            "entry_hash": hash.to_hex(),
            "size": cp.size,
            "root": cp.root.to_hex(),
            "path": proof.path.iter().map(|h| h.to_hex()).collect::<Vec<_>>(),
            "checkpoint": note,
        })
    } else {
        let old = a.old_size.expect("clap requires --seq or --old-size");
        if old > cp.size {
            bail!(
                "old size {old} is larger than the ledger's {} entries",
                cp.size
            );
        }
        let proof = prove_consistency(&nodes, old, cp.size)?;
        let old_root = ledger_core::merkle::range_root(&nodes, 0, old)?;
        verify_consistency(&proof, &old_root, &cp.root)
            .context("the stored tree is not consistent")?;
        json!({
            "old_size": old,
            "old_root": old_root.to_hex(),
            "new_size": cp.size,
            "new_root": cp.root.to_hex(),
            "path": proof.path.iter().map(|h| h.to_hex()).collect::<Vec<_>>(),
            "checkpoint": note,
        })
    };
    out.emit(&value, || {
        serde_json::to_string_pretty(&value).expect("JSON prints")
    });
    Ok(Verdict::Ok)
}
