//! `demo`: a small organisation's ledger, built and verified end to end.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use ed25519_dalek::SigningKey;
use ledger_core::KeyPair;
use ledger_store::{SledStore, keyfile, verify};
use rand_core::OsRng;
use review::{Genesis, LedgerState, MemberId, MemberRecord, Payload, Policy, RosterChange};
use serde_json::json;

use crate::Verdict;
use crate::local::Local;
use crate::out::Out;

#[derive(Args)]
pub struct DemoArgs {
    /// Where to write the keys and the ledger.
    #[arg(long, default_value = "demo")]
    pub dir: PathBuf,
}

/// The example organisation: handle, name, role, top management.
const PEOPLE: [(&str, &str, &str, bool); 5] = [
    ("ceo", "Ada Okafor", "Chief Executive", true),
    ("ops", "Ben Marsh", "Operations Director", true),
    ("isms", "Chloe Varga", "ISMS Lead", false),
    ("it", "Dev Patel", "Head of IT", false),
    ("hr", "Erin Walsh", "Head of HR", false),
];

fn new_key() -> KeyPair {
    KeyPair::from_signing_key(SigningKey::generate(&mut OsRng))
}

pub fn run(a: DemoArgs, out: &Out) -> Result<Verdict> {
    let ledger_dir = a.dir.join("ledger");
    let keys_dir = a.dir.join("keys");
    if ledger_dir.exists() {
        let store = SledStore::open_unchecked(&ledger_dir)?;
        let report = verify(&store, LedgerState::new(), None, &mut |_, _| {})?;
        out.emit(
            &json!({"already_exists": true, "ledger": ledger_dir, "entries": report.entries, "valid": report.valid()}),
            || {
                format!(
                    "{} already holds a demo ledger ({} entries, {}); left as it is.\nStart afresh with another --dir.",
                    ledger_dir.display(),
                    report.entries,
                    if report.valid() { "valid" } else { "INVALID" }
                )
            },
        );
        return Ok(if report.valid() {
            Verdict::Ok
        } else {
            Verdict::Failed
        });
    }
    std::fs::create_dir_all(&keys_dir)
        .with_context(|| format!("cannot create {}", keys_dir.display()))?;
    let mut keys = Vec::new();
    for (handle, name, _, _) in PEOPLE {
        let key = new_key();
        let path = keys_dir.join(format!("{handle}.pem"));
        keyfile::write_private(&path, &key)?;
        std::fs::write(
            keyfile::public_path(&path),
            format!("{} {name}\n", key.public().to_text()),
        )?;
        keys.push(key);
    }
    let record = |i: usize, key: &KeyPair| {
        let (handle, name, role, top) = PEOPLE[i];
        MemberRecord {
            handle: MemberId::new(handle).expect("demo handles are valid"),
            name: name.into(),
            role: role.into(),
            top_management: top,
            key: key.public(),
        }
    };
    let mut log = Vec::new();
    let checkpoint_key = new_key();
    let store = SledStore::create(&ledger_dir, &checkpoint_key)?;
    let mut local = Local::start(store)?;
    let genesis = Payload::Genesis(Genesis {
        organisation: "Northwind Analytics Ltd".into(),
        founder: record(0, &keys[0]),
        checkpoint_key: checkpoint_key.public(),
        policy: Policy::default(),
    });
    local.append(&keys[0], &genesis)?;
    log.push("genesis: Northwind Analytics Ltd, founded by ceo (top management)".to_owned());
    // While the chief executive is the only top manager, one signature enrols.
    local.append(
        &keys[0],
        &Payload::Propose(RosterChange::Enrol(record(1, &keys[1]))),
    )?;
    log.push("ceo enrolled ops as top management (quorum 1 of 1)".into());
    // From now on two top managers must sign each roster change.
    for i in 2..PEOPLE.len() {
        let (receipt, _) = local.append(
            &keys[0],
            &Payload::Propose(RosterChange::Enrol(record(i, &keys[i]))),
        )?;
        let proposal = local.event_id(receipt.seq)?;
        local.append(&keys[1], &Payload::Approve(proposal))?;
        log.push(format!(
            "ceo proposed and ops approved {} (quorum 2 of 2)",
            PEOPLE[i].0
        ));
    }
    // The head of IT replaces a laptop key: signed by the old and the new key.
    let old = keys[3].clone();
    let new = new_key();
    let handle = MemberId::new("it").expect("valid");
    local.append(
        &old,
        &review::rotation(local.ledger_id(), &handle, &old, &new),
    )?;
    let rotated = keys_dir.join("it-2.pem");
    keyfile::write_private(&rotated, &new)?;
    log.push(format!(
        "it rotated its key to {}",
        new.public().fingerprint()
    ));
    let ledger_id = local.ledger_id();
    local.ledger.close();
    drop(local);

    let store = SledStore::open(&ledger_dir)?;
    let report = verify(&store, LedgerState::new(), Some(ledger_id), &mut |_, _| {})?;
    out.emit(
        &json!({
            "ledger": ledger_dir,
            "keys": keys_dir,
            "ledger_id": ledger_id.to_hex(),
            "steps": log,
            "entries": report.entries,
            "valid": report.valid(),
            "fault": report.fault,
        }),
        || {
            let mut s = String::from("Northwind Analytics Ltd: a ledger of who may sign its management reviews\n\n");
            for l in &log {
                s.push_str(&format!("  - {l}\n"));
            }
            s.push_str(&format!(
                "\nverify: {} entries, {}\nledger id {ledger_id}\n\nwrote {} and {}\ntry: review-ledger member list --ledger {}\n     review-ledger verify --ledger {} --trust {ledger_id}\n",
                report.entries,
                if report.valid() { "valid".to_owned() } else { format!("INVALID: {:?}", report.fault) },
                ledger_dir.display(),
                keys_dir.display(),
                ledger_dir.display(),
                ledger_dir.display(),
            ));
            s
        },
    );
    Ok(if report.valid() {
        Verdict::Ok
    } else {
        Verdict::Failed
    })
}
