//! `demo`: the example organisation's ledger, end to end. Keys for five
//! people, the roster, a previous review with actions, their progress
//! between reviews, and a complete review run along the agenda template and
//! signed by every top-management attendee; then the minutes, the
//! conformance check and the auditor's verification.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use ed25519_dalek::SigningKey;
use ledger_core::KeyPair;
use ledger_store::{SledStore, keyfile, verify, verify_into};
use rand_core::OsRng;
use review::story::{self, ORGANISATION, PEOPLE, Step};
use review::{
    Genesis, LedgerState, MemberId, MemberRecord, Payload, Policy, RosterChange, audit, conformance,
};
use serde_json::json;

use crate::Verdict;
use crate::cmd_minutes::{MinutesFormat, rendered};
use crate::cmd_review::today;
use crate::local::Local;
use crate::out::Out;
use crate::stores::{AnyStore, Where};

#[derive(Args)]
pub struct DemoArgs {
    /// Where to write the keys, the ledger and the minutes.
    #[arg(long, default_value = "demo")]
    pub dir: PathBuf,
    /// Keep the ledger in this PostgreSQL database instead of DIR/ledger
    /// (`postgres://USER@HOST:PORT/DATABASE`; docs/POSTGRES.md).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

fn new_key() -> KeyPair {
    KeyPair::from_signing_key(SigningKey::generate(&mut OsRng))
}

pub fn run(a: DemoArgs, out: &Out) -> Result<Verdict> {
    let ledger_dir = a.dir.join("ledger");
    let keys_dir = a.dir.join("keys");
    let html = a.dir.join("minutes.html");
    let at = Where::of(&ledger_dir, a.store.as_deref(), None);
    let already = match &at {
        Where::Dir(dir) => dir.exists(),
        // The keys are written first: a database ledger of this demo has them.
        Where::Database { .. } => keys_dir.exists(),
    };
    if already {
        let store: AnyStore = match &at {
            Where::Dir(dir) => Box::new(SledStore::open_unchecked(dir)?),
            Where::Database { .. } => at.open_for_reading()?,
        };
        let report = verify(&store, LedgerState::new(), None, &mut |_, _| {})?;
        out.emit(
            &json!({"already_exists": true, "ledger": at.to_string(), "entries": report.entries, "valid": report.valid()}),
            || {
                format!(
                    "{at} already holds a demo ledger ({} entries, {}); left as it is.\nStart afresh with another --dir.",
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
    let mut keys = BTreeMap::new();
    for (handle, name, _, _) in PEOPLE {
        let key = new_key();
        let path = keys_dir.join(format!("{handle}.pem"));
        keyfile::write_private(&path, &key)?;
        std::fs::write(
            keyfile::public_path(&path),
            format!("{} {name}\n", key.public().to_text()),
        )?;
        keys.insert(handle, key);
    }
    let record = |i: usize| {
        let (handle, name, role, top) = PEOPLE[i];
        MemberRecord {
            handle: MemberId::new(handle).expect("demo handles are valid"),
            name: name.into(),
            role: role.into(),
            top_management: top,
            key: keys[handle].public(),
        }
    };

    // The roster: the chief executive founds the ledger and enrols the operations
    // director alone (one top manager, quorum one); from then on both sign.
    let checkpoint_key = new_key();
    let store = at.create(&checkpoint_key)?;
    let mut local = Local::start(store, checkpoint_key.clone(), at.clone())?;
    let genesis = Genesis {
        organisation: ORGANISATION.into(),
        founder: record(0),
        checkpoint_key: checkpoint_key.public(),
        policy: Policy::default(),
    };
    local.append(&keys["ceo"], &Payload::Genesis(genesis))?;
    local.append(
        &keys["ceo"],
        &Payload::Propose(RosterChange::Enrol(record(1))),
    )?;
    for i in 2..PEOPLE.len() {
        let (receipt, _) = local.append(
            &keys["ceo"],
            &Payload::Propose(RosterChange::Enrol(record(i))),
        )?;
        let proposal = local.event_id(receipt.seq)?;
        local.append(&keys["ops"], &Payload::Approve(proposal))?;
    }
    let roster_entries = local.state.size;

    // The reviews, as each member would record and sign them.
    let held = today().plus_days(-5);
    let steps = story::story(held);
    for step in &steps {
        match step {
            Step::Append { by, payload } => {
                local
                    .append(&keys[by], payload)
                    .with_context(|| review::describe::payload(payload))?;
            }
            Step::Sign { by, review } => {
                let sign = local.state.reviews.reviews[review].sign_request();
                local.append(&keys[by], &Payload::Sign(sign))?;
            }
        }
    }
    local.ledger.close();
    drop(local);

    // What an auditor does: verify everything, then look at the current review.
    let store = at.open_for_reading()?;
    let mut state = LedgerState::new();
    let report = verify_into(&store, &mut state, None, &mut |_, _| {})?;
    let current = story::current_id();
    let checkpoint = ledger_store::Store::checkpoint(&store)?;
    let minutes_text = rendered(&state, checkpoint.clone(), &current, MinutesFormat::Text)?;
    std::fs::write(
        &html,
        rendered(&state, checkpoint, &current, MinutesFormat::Html)?,
    )
    .with_context(|| format!("cannot write {}", html.display()))?;
    let check = conformance::check(&state, &current, today())?;
    let audit = audit::audit(&state, &current)?;
    let ok = report.valid() && check.passed() && audit.holds();
    out.emit(
        &json!({
            "ledger": at.to_string(),
            "keys": keys_dir,
            "minutes_html": html,
            "ledger_id": report.ledger_id.map(|h| h.to_hex()),
            "entries": report.entries,
            "roster_entries": roster_entries,
            "valid": report.valid(),
            "fault": report.fault,
            "review": current.as_str(),
            "conformance": check,
            "audit": audit,
        }),
        || {
            format!(
                "{ORGANISATION}: {} entries ({} roster, {} for two reviews and the actions between them)\n\n{minutes_text}\n{}\n{}\nledger {}\n\nwrote {}\n      {}\n      {}\ntry:  review-ledger reviews {}\n      review-ledger verify {} --review {current}\n",
                report.entries,
                roster_entries,
                report.entries - roster_entries,
                crate::cmd_reports::check_text(&check),
                audit.to_text(),
                if report.valid() { format!("valid, ledger id {}", report.ledger_id.unwrap_or_default()) } else { format!("INVALID: {:?}", report.fault) },
                at,
                keys_dir.display(),
                html.display(),
                at.flags(),
                at.flags(),
            )
        },
    );
    Ok(if ok { Verdict::Ok } else { Verdict::Failed })
}
