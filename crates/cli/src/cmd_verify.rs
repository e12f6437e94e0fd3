//! `verify`: the auditor's full replay of a ledger directory.

use anyhow::Result;
use clap::Args;
use ledger_core::Hash;
use ledger_store::{Report, SledStore, Store, verify_into};
use review::{LedgerState, ReviewId};
use serde_json::json;

use crate::Verdict;
use crate::hosted::{Hosted, Place};
use crate::out::Out;
use crate::trusted;

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub ledger: Place,
    /// The ledger id you expect (the genesis hash); anything else fails.
    #[arg(long)]
    pub trust: Option<String>,
    /// Also report on one review: who signed, whether top management did, what changed after.
    #[arg(long)]
    pub review: Option<String>,
    /// The auditor's trusted state file (with --trust): the last checkpoint
    /// verified per ledger, which the new one must extend. Default:
    /// `$XDG_CONFIG_HOME/review-ledger/trusted.json`, or
    /// `~/.config/review-ledger/trusted.json`; each run says which it used.
    #[arg(long)]
    pub state: Option<std::path::PathBuf>,
}

pub fn run(a: VerifyArgs, out: &Out) -> Result<Verdict> {
    let trust = a
        .trust
        .as_deref()
        .map(|t| Hash::from_hex("--trust", t))
        .transpose()?;
    if let Some(client) = Hosted::of(&a.ledger)? {
        let trust =
            trust.ok_or_else(|| anyhow::anyhow!("--trust LEDGER_ID is required with --server"))?;
        if trust != client.ledger_id {
            anyhow::bail!(
                "--ledger-id {} is not the trusted {trust} (--trust)",
                client.ledger_id
            );
        }
        return remote(client, trust, &a, out);
    }
    if a.ledger.store.is_some() {
        // A database ledger may be appended to while this runs (by a
        // server): verify it as of one end of its log.
        let store = a.ledger.at().open_for_reading()?;
        let store = ledger_store::AsOf::new(std::sync::Arc::new(store))?;
        return local(&store, None, trust, &a, out);
    }
    let store = SledStore::open_unchecked(&a.ledger.path)?;
    local(&store, Some(&store), trust, &a, out)
}

/// `verify` of a store this machine reads: a ledger directory (`dir`, whose
/// files beside the database are checked too) or a database.
fn local<S: Store>(
    store: &S,
    dir: Option<&SledStore>,
    trust: Option<Hash>,
    a: &VerifyArgs,
    out: &Out,
) -> Result<Verdict> {
    let total = store.head().map(|h| h.size).unwrap_or(0);
    let bar = crate::out::entries_bar(out, total);
    let review = a.review.as_deref().map(ReviewId::new).transpose()?;
    let mut state = LedgerState::new();
    let report = verify_into(store, &mut state, trust, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    let mut report = report;
    // The files beside the database: the witness and the checkpoint key.
    let (key_fault, warnings) = match dir {
        Some(dir) => ledger_store::derived::check_directory(dir, state.roster.checkpoint_key),
        None => (None, Vec::new()),
    };
    if report.valid()
        && let Some(reason) = key_fault
    {
        report.fault = Some(ledger_store::Fault { seq: None, reason });
    }
    let mut trusted = json!(null);
    let mut trusted_line = None;
    if report.valid() && trust.is_some() {
        let path = a.state.clone().unwrap_or_else(trusted::default_path);
        match check_trusted(store, &state, &path)? {
            Ok(outcome) => {
                trusted_line = Some(format!(
                    "{outcome} (trusted state kept in {})",
                    path.display()
                ));
                trusted = json!({"state": path, "outcome": outcome});
            }
            Err(reason) => {
                trusted = json!({"state": path, "outcome": "rewritten"});
                report.fault = Some(ledger_store::Fault { seq: None, reason });
            }
        }
    }
    let valid = report.valid();
    if let Some(review) = review {
        return review_report(&state, &review, &report, out);
    }
    out.emit(
        &json!({
            "ledger_id": report.ledger_id.map(|h| h.to_hex()),
            "entries": report.entries,
            "valid": valid,
            "root": report.root.to_hex(),
            "head": report.head.to_hex(),
            "checkpoint_size": report.checkpoint_size,
            "trusted_state": trusted,
            "fault": report.fault,
            "warnings": warnings,
        }),
        || {
            let verdict = match &report.fault {
                None => format!(
                    "valid: {} entries, ledger id {}\nroot {} matches the signed checkpoint",
                    report.entries,
                    report.ledger_id.unwrap_or_default(),
                    report.root
                ),
                Some(f) => format!(
                    "INVALID{}: {}\n({} entries verified before it)",
                    f.seq.map(|s| format!(" at entry #{s}")).unwrap_or_default(),
                    f.reason,
                    report.entries
                ),
            };
            let verdict = match &trusted_line {
                Some(line) if report.fault.is_none() => format!("{verdict}\n{line}"),
                _ => verdict,
            };
            warnings
                .iter()
                .fold(verdict, |s, w| format!("{s}\nwarning: {w}"))
        },
    );
    Ok(if valid { Verdict::Ok } else { Verdict::Failed })
}

/// `verify --review`: the ledger's verdict and the auditor's view of one review.
fn review_report(
    state: &LedgerState,
    review: &ReviewId,
    report: &Report,
    out: &Out,
) -> Result<Verdict> {
    let verdict =
        service::verdict::review_verdict(report, state, review, crate::cmd_review::today())?;
    out.emit(&verdict.json, || {
        match (&verdict.judgement, &report.fault) {
            (Some(j), _) => format!(
                "ledger valid: {} entries, ledger id {}\n{}{}\n{}",
                report.entries,
                report.ledger_id.unwrap_or_default(),
                j.audit.to_text(),
                crate::cmd_reports::check_text(&j.conformance),
                if j.holds() {
                    "the review holds"
                } else {
                    "the review does NOT hold"
                }
            ),
            (None, f) => format!(
                "INVALID{}: {}\nthe review cannot be judged on a ledger that does not verify",
                f.as_ref()
                    .and_then(|f| f.seq)
                    .map(|s| format!(" at entry #{s}"))
                    .unwrap_or_default(),
                f.as_ref().map_or("no fault given", |f| f.reason.as_str())
            ),
        }
    });
    Ok(if verdict.holds() {
        Verdict::Ok
    } else {
        Verdict::Failed
    })
}

/// Checks the ledger's verified checkpoint against the trusted state and records it.
fn check_trusted<S: Store>(
    store: &S,
    state: &LedgerState,
    path: &std::path::Path,
) -> Result<Result<trusted::Outcome, String>> {
    let note = store
        .checkpoint()?
        .ok_or_else(|| anyhow::anyhow!("no checkpoint is stored"))?;
    let key = state
        .roster
        .checkpoint_key
        .ok_or_else(|| anyhow::anyhow!("the ledger has no genesis"))?;
    let cp = ledger_core::Checkpoint::verify(&note, &key)?;
    let mut kept = trusted::TrustedState::load(path)?;
    let nodes = ledger_store::StoreNodes(store);
    let outcome = trusted::advance(&mut kept, &note, &cp, |old| {
        Ok(ledger_core::merkle::prove_consistency(
            &nodes, old, cp.size,
        )?)
    })?;
    if outcome.is_ok() {
        kept.save(path)?;
    }
    Ok(outcome)
}

/// `verify --server`: the server's checkpoint must verify under the key its
/// genesis (pinned by `--trust`) names and extend the one the auditor kept;
/// with `--review`, the review's bundle is fetched and verified as offline.
fn remote(mut client: Hosted, trust: Hash, a: &VerifyArgs, out: &Out) -> Result<Verdict> {
    let (note, cp) = client.verified_checkpoint()?;
    let path = a.state.clone().unwrap_or_else(trusted::default_path);
    let mut kept = trusted::TrustedState::load(&path)?;
    let outcome = trusted::advance(&mut kept, &note, &cp, |old| {
        client.consistency(old, cp.size)
    })?;
    let mut fault = outcome.as_ref().err().cloned();
    if fault.is_none() {
        kept.save(&path)?;
    }
    let mut review_json = json!(null);
    let mut review_text = String::new();
    let mut holds = true;
    if let (None, Some(review)) = (&fault, &a.review) {
        let bytes = client.bundle(review)?;
        match review::bundle::Bundle::from_bytes(&bytes)
            .and_then(|b| review::bundle::verify(&b, trust, crate::cmd_review::today()))
        {
            Ok((report, _)) => {
                holds = report.holds();
                review_json = serde_json::to_value(&report)?;
                review_text = format!(
                    "{}{}",
                    report.audit.to_text(),
                    crate::cmd_reports::check_text(&report.conformance)
                );
            }
            Err(e) => fault = Some(format!("the server's bundle of {review}: {e}")),
        }
    }
    let valid = fault.is_none();
    out.emit(
        &json!({
            "ledger_id": trust.to_hex(),
            "server": client.server(),
            "entries": cp.size,
            "valid": valid,
            "holds": valid && holds,
            "fault": fault,
            "trusted_state": {"state": path, "outcome": outcome.as_ref().ok()},
            "review": review_json,
        }),
        || match &fault {
            Some(f) => format!("INVALID: {f}"),
            None => {
                let mut s = format!(
                    "the server's checkpoint of {} entries verifies under ledger {trust}; {} (trusted state kept in {})",
                    cp.size,
                    outcome
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    path.display()
                );
                if !review_json.is_null() {
                    s.push_str(&format!("\n{review_text}{}", if holds { "the review holds" } else { "the review does NOT hold" }));
                }
                s
            }
        },
    );
    Ok(if valid && holds {
        Verdict::Ok
    } else {
        Verdict::Failed
    })
}
