//! `migrate --from DIR --to URL`: a ledger directory copied into a
//! PostgreSQL database, verified before and after.
//!
//! The source is verified in full first (`verify`'s checks, the rules
//! replayed); a source that does not verify is not copied. The copy
//! (`PgStore::import`) checks each entry's signature and chain link again
//! as it goes and commits in one transaction, so a migration cut short
//! leaves nothing. The copy is then verified in full, and must have the
//! source's ledger id, size and signed checkpoint.

use anyhow::{Result, bail};
use clap::Args;

use crate::Verdict;
use crate::out::Out;

#[derive(Args)]
pub struct MigrateArgs {
    /// The ledger directory to copy.
    #[arg(long, value_name = "DIR")]
    pub from: std::path::PathBuf,
    /// The PostgreSQL database to copy it into:
    /// `postgres://USER@HOST:PORT/DATABASE` (the password in the address or
    /// in PGPASSWORD; never printed).
    #[arg(long, value_name = "URL")]
    pub to: String,
}

#[cfg(not(feature = "postgres"))]
pub fn run(_a: MigrateArgs, _out: &Out) -> Result<Verdict> {
    bail!("this review-ledger was built without PostgreSQL (cargo feature `postgres`)")
}

#[cfg(feature = "postgres")]
pub fn run(a: MigrateArgs, out: &Out) -> Result<Verdict> {
    use crate::stores::PgStore;
    use ledger_store::{SledStore, Store, verify};
    use review::LedgerState;
    use serde_json::json;

    let url = crate::stores::parse(&a.to)?;
    let source = SledStore::open(&a.from)?;
    let total = source.head()?.size;
    let bar = crate::out::entries_bar(out, total);
    let mut progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let before = verify(&source, LedgerState::new(), None, &mut progress)?;
    if let Some(f) = &before.fault {
        bar.finish_and_clear();
        bail!(
            "{} does not verify{}: {}; nothing was copied",
            a.from.display(),
            f.seq.map(|s| format!(" at entry #{s}")).unwrap_or_default(),
            f.reason
        );
    }
    let id = before.ledger_id.unwrap_or_default();
    bar.set_position(0);
    let copy = PgStore::import(&url, &source, &source.checkpoint_key()?, &mut progress)?;
    bar.set_position(0);
    let after = verify(&copy, LedgerState::new(), Some(id), &mut progress)?;
    bar.finish_and_clear();
    let same_checkpoint = copy.checkpoint()? == source.checkpoint()?;
    let valid = after.valid() && same_checkpoint && after.entries == before.entries;
    let fault = match (&after.fault, same_checkpoint) {
        (Some(f), _) => Some(f.reason.clone()),
        (None, false) => Some("the copy's checkpoint is not the source's".into()),
        (None, true) => None,
    };
    out.emit(
        &json!({
            "ledger_id": id.to_hex(),
            "from": a.from,
            "to": url.to_string(),
            "entries": after.entries,
            "checkpoint_size": after.checkpoint_size,
            "valid": valid,
            "fault": fault,
        }),
        || match &fault {
            None => format!(
                "copied ledger {id} ({} entries) from {} to {url}\nthe copy verifies, with the same signed checkpoint",
                after.entries,
                a.from.display()
            ),
            Some(reason) => format!(
                "copied ledger {id} from {} to {url}, but the copy does NOT verify: {reason}",
                a.from.display()
            ),
        },
    );
    Ok(if valid { Verdict::Ok } else { Verdict::Failed })
}
