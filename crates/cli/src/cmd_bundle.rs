//! `export` and `verify-bundle`: evidence an auditor takes away and checks offline.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use ledger_core::{Hash, Seq};
use ledger_store::{SledStore, Store, StoreNodes, replay};
use review::ReviewId;
use review::bundle::{self, Bundle, SubjectLog};
use review::render::{self, Format};
use review::subjects::Subject;
use review::view::MinutesView;
use serde_json::json;

use crate::cmd_review::today;
use crate::out::Out;
use crate::{LedgerDir, Verdict};

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub ledger: LedgerDir,
    /// The review to export.
    #[arg(long)]
    pub review: String,
    /// The bundle file to write.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct VerifyBundleArgs {
    /// The bundle file.
    pub file: PathBuf,
    /// The ledger id you trust (the genesis hash).
    #[arg(long)]
    pub trust: String,
    /// Also write the verified minutes, rendered from the bundle's entries, as HTML.
    #[arg(long)]
    pub html: Option<PathBuf>,
}

/// The store's Merkle nodes, with errors as `anyhow` errors.
struct AnyhowNodes<'a>(&'a SledStore);

impl ledger_core::Nodes for AnyhowNodes<'_> {
    type Error = anyhow::Error;
    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        Ok(ledger_core::Nodes::node(&StoreNodes(self.0), level, index)?)
    }
}

pub fn export(a: ExportArgs, out: &Out) -> Result<Verdict> {
    let store = SledStore::open(&a.ledger.path)?;
    let mut t = SubjectLog::default();
    replay(&store, &mut t)?;
    let review = ReviewId::new(a.review)?;
    if !t.state.reviews.reviews.contains_key(&review) {
        bail!("no review {review} in {}", a.ledger.path.display());
    }
    let note = store
        .checkpoint()?
        .context("the ledger has no checkpoint")?;
    let key = t
        .state
        .roster
        .checkpoint_key
        .context("the ledger has no genesis")?;
    let cp = ledger_core::Checkpoint::verify(&note, &key)?;
    if cp.size != t.subjects.len() as u64 {
        bail!(
            "the checkpoint states {} entries but {} are stored",
            cp.size,
            t.subjects.len()
        );
    }
    let view = MinutesView::of(&t.state, &review, Some(note.clone()))?;
    let html = render::minutes(&view, Format::Html);
    let read = |seq: Seq| -> Result<Vec<u8>> {
        store
            .entry(seq)?
            .with_context(|| format!("entry {seq} is missing"))
    };
    let bundle = bundle::assemble(
        &t.state,
        &t.subjects,
        &review,
        note,
        html,
        &read,
        &AnyhowNodes(&store),
    )?;
    let needed = bundle::needed_subjects(&t.state, &review);
    let bytes = bundle.to_bytes();
    std::fs::write(&a.out, &bytes).with_context(|| format!("cannot write {}", a.out.display()))?;
    let reviews: Vec<String> = needed
        .iter()
        .filter_map(|s| match s {
            Subject::Review(r) => Some(r.to_string()),
            Subject::Roster => None,
        })
        .collect();
    out.emit(
        &json!({
            "bundle": a.out,
            "bytes": bytes.len(),
            "ledger_id": cp.ledger_id.to_hex(),
            "review": review.as_str(),
            "entries": bundle.entries.len(),
            "reviews": reviews,
            "checkpoint_size": cp.size,
        }),
        || {
            format!(
                "wrote {} ({} bytes): {} entries of the roster and reviews {} against checkpoint of {} entries\nverify offline: review-ledger verify-bundle {} --trust {}",
                a.out.display(),
                bytes.len(),
                bundle.entries.len(),
                reviews.join(", "),
                cp.size,
                a.out.display(),
                cp.ledger_id
            )
        },
    );
    Ok(Verdict::Ok)
}

pub fn verify_bundle(a: VerifyBundleArgs, out: &Out) -> Result<Verdict> {
    let trusted = Hash::from_hex("--trust", &a.trust)?;
    let bytes =
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let verdict = Bundle::from_bytes(&bytes)
        .and_then(|b| bundle::verify(&b, trusted, today()).map(|r| (b, r)));
    match verdict {
        Err(e) => {
            out.emit(
                &json!({"valid": false, "holds": false, "fault": e.to_string()}),
                || format!("INVALID bundle {}: {e}", a.file.display()),
            );
            Ok(Verdict::Failed)
        }
        Ok((b, (report, state))) => {
            if let Some(path) = &a.html {
                let view = MinutesView::of(&state, &b.review, Some(b.checkpoint.clone()))?;
                std::fs::write(path, render::minutes(&view, Format::Html))
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            let holds = report.holds();
            out.emit(
                &json!({"valid": true, "holds": holds, "report": report}),
                || {
                    format!(
                        "bundle valid: {} entries proved against the checkpoint of {} entries of ledger {}\nnothing of the roster or the included reviews is missing\n{}\n{}",
                        report.entries,
                        report.checkpoint_size,
                        report.ledger_id,
                        report.audit.to_text(),
                        crate::cmd_reports::check_text(&report.conformance)
                    )
                },
            );
            Ok(if holds { Verdict::Ok } else { Verdict::Failed })
        }
    }
}
