//! `export` and `verify-bundle`: evidence an auditor takes away and checks offline.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use ledger_core::Hash;
use ledger_store::SledStore;
use review::ReviewId;
use review::bundle::{self, Bundle};
use review::render::{self, Format};
use review::view::MinutesView;
use serde_json::json;

use crate::Verdict;
use crate::cmd_review::today;
use crate::hosted::{Hosted, Place};
use crate::out::Out;

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub ledger: Place,
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

pub fn export(a: ExportArgs, out: &Out) -> Result<Verdict> {
    let bytes = match Hosted::of(&a.ledger)? {
        Some(mut client) => client.bundle(&a.review)?,
        None => {
            let store = SledStore::open(&a.ledger.path)?;
            service::export::bundle(&store, &ReviewId::new(a.review.as_str())?)?.to_bytes()
        }
    };
    // Read back what is written, as any reader of the file would.
    let bundle = Bundle::from_bytes(&bytes)?;
    std::fs::write(&a.out, &bytes).with_context(|| format!("cannot write {}", a.out.display()))?;
    let reviews: Vec<String> = bundle
        .subjects
        .iter()
        .filter_map(|p| match &p.subject {
            review::subjects::Subject::Review(r) => Some(r.to_string()),
            review::subjects::Subject::Roster => None,
        })
        .collect();
    out.emit(
        &json!({
            "bundle": a.out,
            "bytes": bytes.len(),
            "ledger_id": bundle.ledger_id.to_hex(),
            "review": bundle.review.as_str(),
            "entries": bundle.entries.len(),
            "reviews": reviews,
        }),
        || {
            format!(
                "wrote {} ({} bytes): {} entries of the roster and reviews {}\nverify offline: review-ledger verify-bundle {} --trust {}",
                a.out.display(),
                bytes.len(),
                bundle.entries.len(),
                reviews.join(", "),
                a.out.display(),
                bundle.ledger_id
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
                let view =
                    MinutesView::judged(&state, &b.review, Some(b.checkpoint.clone()), today())?;
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
