//! `export` and `verify-bundle`: evidence an auditor takes away and checks offline.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use ledger_core::Hash;
use review::ReviewId;
use review::bundle::Bundle;
use review::render::{self, Format};
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
    /// Also write the auditor's verification report as one self-contained,
    /// printable HTML file: the verdict, what it was checked against, each
    /// check, the signatures, changes after signing and findings, then the
    /// minutes replayed from the bundle's entries. Written when the bundle
    /// is valid evidence, whether or not the review holds.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write the --html report also when the bundle is not valid evidence;
    /// its first line then says that the verification failed. Without it
    /// nothing is written for an invalid bundle, and an existing FILE is
    /// left as it was.
    #[arg(long, requires = "html")]
    pub html_on_failure: bool,
}

pub fn export(a: ExportArgs, out: &Out) -> Result<Verdict> {
    let bytes = match Hosted::of(&a.ledger)? {
        Some(mut client) => client.bundle(&a.review)?,
        None => {
            let store = crate::local::open_for_reading(&a.ledger.at())?;
            let bundle = service::export::bundle(&store, &ReviewId::new(a.review.as_str())?)?;
            service::export::file_bytes(&bundle)?
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
    let file = a.file.display().to_string();
    let v = render::verify_file(
        &file,
        &bytes,
        trusted,
        today(),
        a.html.as_ref().map(|_| Format::Html),
    );
    match (&v.report, &v.fault) {
        (Some(report), _) => {
            let written = match (&a.html, &v.rendered) {
                (Some(path), Some(html)) => {
                    write_report(path, html)?;
                    Some(path)
                }
                _ => None,
            };
            let holds = report.holds();
            out.emit(
                &json!({"valid": true, "holds": holds, "report": report, "html": written}),
                || {
                    let mut t = format!(
                        "bundle valid: {} entries proved against the checkpoint of {} entries of ledger {}\nnothing of the roster or the included reviews is missing\n{}\n{}",
                        report.entries,
                        report.checkpoint_size,
                        report.ledger_id,
                        report.audit.to_text(),
                        crate::cmd_reports::check_text(&report.conformance)
                    );
                    if let Some(path) = written {
                        t.push_str(&format!(
                            "\nwrote the verification report to {}",
                            path.display()
                        ));
                    }
                    t
                },
            );
            Ok(if holds { Verdict::Ok } else { Verdict::Failed })
        }
        (None, fault) => {
            let fault = fault.as_ref().map(ToString::to_string).unwrap_or_default();
            // An invalid bundle gets a report only when asked: a file that
            // looks like a report is easily filed unread.
            let written = match (&a.html, &v.rendered) {
                (Some(path), Some(html)) if a.html_on_failure => {
                    write_report(path, html)?;
                    Some(path)
                }
                _ => None,
            };
            out.emit(
                &json!({"valid": false, "holds": false, "fault": fault, "html": written}),
                || {
                    let mut t = format!("INVALID bundle {}: {fault}", a.file.display());
                    match (&a.html, written) {
                        (_, Some(path)) => t.push_str(&format!(
                            "\nwrote the verification report (VERIFICATION FAILED) to {}",
                            path.display()
                        )),
                        (Some(path), None) => t.push_str(&format!(
                            "\nno report written to {}: the bundle is not valid evidence (--html-on-failure writes one that says so)",
                            path.display()
                        )),
                        (None, None) => {}
                    }
                    t
                },
            );
            Ok(Verdict::Failed)
        }
    }
}

/// Writes the report to `path`.
fn write_report(path: &Path, html: &str) -> Result<()> {
    std::fs::write(path, html)
        .with_context(|| format!("cannot write the verification report {}", path.display()))
}
