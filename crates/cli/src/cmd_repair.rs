//! `repair`: derive the store's derived records again from verified entries.

use anyhow::Result;
use clap::Args;
use ledger_store::{SledStore, Store, StoreError, derived};
use review::LedgerState;
use serde_json::json;

use crate::out::Out;
use crate::{LedgerDir, Verdict};

#[derive(Args)]
pub struct RepairArgs {
    #[command(flatten)]
    pub ledger: LedgerDir,
}

/// How many rewritten records the text output lists before it counts the rest.
const LISTED: usize = 100;

pub fn run(a: RepairArgs, out: &Out) -> Result<Verdict> {
    if a.ledger.store.is_some() {
        anyhow::bail!(
            "repair mends the derived records of a ledger directory; a PostgreSQL ledger's tables refuse changes in place (docs/POSTGRES.md)"
        );
    }
    // Unchecked: the head may be what is damaged.
    let store = SledStore::open_unchecked(&a.ledger.path)?;
    let total = store.head().map(|h| h.size).unwrap_or(0);
    let bar = crate::out::entries_bar(out, total);
    let now = crate::local::now();
    let outcome = derived::repair(&store, LedgerState::new(), now, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let repaired = match outcome {
        Ok(r) => r,
        Err(StoreError::Unrepairable { seq, reason }) => {
            out.emit(
                &json!({"repaired": false, "fault": {"seq": seq, "reason": reason}, "rewritten": []}),
                || {
                    format!(
                        "REFUSED{}: {reason}\nnothing was rewritten",
                        seq.map(|s| format!(" at entry #{s}")).unwrap_or_default()
                    )
                },
            );
            return Ok(Verdict::Failed);
        }
        Err(e) => return Err(e.into()),
    };
    out.emit(
        &json!({
            "repaired": true,
            "ledger_id": repaired.ledger_id.to_hex(),
            "entries": repaired.entries,
            "rewritten": repaired.rewritten,
        }),
        || {
            let n = repaired.rewritten.len();
            let mut text = if n == 0 {
                format!(
                    "nothing to repair: every derived record agrees with the {} verified entries",
                    repaired.entries
                )
            } else {
                format!(
                    "repaired: {n} derived record{} rewritten from {} verified entries (no entry was written)",
                    if n == 1 { "" } else { "s" },
                    repaired.entries
                )
            };
            for r in repaired.rewritten.iter().take(LISTED) {
                text.push_str(&format!("\n  {:<9}  {}: {}", r.action, r.record, r.reason));
            }
            if n > LISTED {
                text.push_str(&format!("\n  ... and {} more (--json lists all)", n - LISTED));
            }
            text
        },
    );
    Ok(Verdict::Ok)
}
