//! `init`: create a ledger.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use ed25519_dalek::SigningKey;
use ledger_core::KeyPair;
use ledger_store::keyfile;
use rand_core::OsRng;
use review::{Genesis, MemberId, MemberRecord, Payload, Policy, Quorum};
use serde_json::json;

use crate::local::Local;
use crate::out::Out;
use crate::{LedgerDir, Verdict};

#[derive(Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub ledger: LedgerDir,
    /// The organisation's name.
    #[arg(long)]
    pub org: String,
    /// The founder's private key file.
    #[arg(long)]
    pub key: PathBuf,
    /// The founder's handle.
    #[arg(long)]
    pub id: String,
    /// The founder's full name.
    #[arg(long)]
    pub name: String,
    /// The founder's role title.
    #[arg(long)]
    pub role: String,
    /// Signatures a roster change needs: `default` (1 while one top manager exists, else 2), a number, or `all`.
    #[arg(long, default_value = "default", value_parser = parse_quorum)]
    pub roster_quorum: Quorum,
    /// Top-management signatures the minutes need: `all` who attended, a number, or `default`.
    #[arg(long, default_value = "all", value_parser = parse_quorum)]
    pub minutes_quorum: Quorum,
}

/// Parses `default`, `all` or a positive number.
pub fn parse_quorum(s: &str) -> Result<Quorum, String> {
    match s {
        "default" => Ok(Quorum::Default),
        "all" => Ok(Quorum::All),
        n => match n.parse::<u16>() {
            Ok(n) if n > 0 => Ok(Quorum::AtLeast(n)),
            _ => Err(format!(
                "{s:?} is not `default`, `all` or a positive number"
            )),
        },
    }
}

pub fn init(a: InitArgs, out: &Out) -> Result<Verdict> {
    let founder = keyfile::read_private(&a.key)?;
    let handle = MemberId::new(a.id.as_str())?;
    let policy = Policy {
        roster_quorum: a.roster_quorum,
        minutes_quorum: a.minutes_quorum,
        ..Policy::default()
    };
    let checkpoint_key = KeyPair::from_signing_key(SigningKey::generate(&mut OsRng));
    let genesis = Payload::Genesis(Genesis {
        organisation: a.org.clone(),
        founder: MemberRecord {
            handle,
            name: a.name,
            role: a.role,
            top_management: true,
            key: founder.public(),
        },
        checkpoint_key: checkpoint_key.public(),
        policy,
    });
    // Check the genesis before anything is written to disk.
    let probe = review::compose(
        ledger_core::Hash::ZERO,
        crate::local::new_event_id(),
        &founder,
        crate::local::now(),
        &genesis,
    );
    if let Err(e) = review::LedgerState::new().admit(
        ledger_core::Seq(0),
        crate::local::now(),
        &probe,
        ledger_core::SignedBy::Ed25519,
    ) {
        return Err(anyhow::Error::new(crate::failure::Refused::by_rules(&e)).context("genesis"));
    }
    let at = a.ledger.at();
    let store = at.create(&checkpoint_key)?;
    let mut local = Local::start(store, checkpoint_key.clone(), at.clone())?;
    let (receipt, _) = local.append(&founder, &genesis)?;
    let ledger_id = receipt.hash;
    out.emit(
        &json!({
            "ledger_id": ledger_id.to_hex(),
            "ledger": at.to_string(),
            "organisation": a.org,
            "checkpoint_key": checkpoint_key.public().to_text(),
            "checkpoint": receipt.checkpoint,
        }),
        || {
            format!(
                "created ledger {} for {}\nledger id {}\n(auditors pin this id: `review-ledger verify --trust {}`)",
                at,
                a.org,
                ledger_id,
                ledger_id
            )
        },
    );
    Ok(Verdict::Ok)
}
