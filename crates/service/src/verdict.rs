//! The `verify --review` report: one JSON shape, built here for both the
//! CLI (`review-ledger verify --review`) and `ReviewService.VerifyReview`
//! (from the whole ledger, or from the review's evidence bundle), so that
//! an auditor reading either reads the same fields. Whether the
//! review holds is [`Judgement::holds`], as for `verify-bundle`.

use ledger_core::LedgerId;
use ledger_store::Report;
use review::bundle::{Bundle, BundleError};
use review::{Date, Judgement, LedgerState, Rejection, ReviewId};
use serde_json::{Value, json};

/// A ledger's verification and, when it verified, the audit of one review.
pub struct ReviewVerdict {
    /// The report as JSON: `ledger_id`, `entries`, `valid`, then either
    /// `review` (the audit), `conformance`, `minutes_hold` and `holds`, or
    /// `fault`.
    pub json: Value,
    /// The judgement, when the ledger verified (a review on a ledger that
    /// does not verify is not judged).
    pub judgement: Option<Judgement>,
}

impl ReviewVerdict {
    /// Whether the ledger verified and the review holds.
    pub fn holds(&self) -> bool {
        self.judgement.as_ref().is_some_and(Judgement::holds)
    }
}

/// The verdict on `review` after verifying the ledger into `state`, with
/// the conformance check as of `as_of`.
pub fn review_verdict(
    report: &Report,
    state: &LedgerState,
    review: &ReviewId,
    as_of: Date,
) -> Result<ReviewVerdict, Rejection> {
    let ledger_id = report.ledger_id.map(|h| h.to_hex());
    if !report.valid() {
        return Ok(ReviewVerdict {
            json: json!({
                "ledger_id": ledger_id,
                "entries": report.entries,
                "valid": false,
                "fault": report.fault,
            }),
            judgement: None,
        });
    }
    let judgement = Judgement::of(state, review, as_of)?;
    Ok(judged(ledger_id, report.entries, judgement))
}

/// The verdict on entries that verified: the audit and the check.
fn judged(ledger_id: Option<String>, entries: u64, judgement: Judgement) -> ReviewVerdict {
    ReviewVerdict {
        json: json!({
            "ledger_id": ledger_id,
            "entries": entries,
            "valid": true,
            "review": judgement.audit,
            "conformance": judgement.conformance,
            "minutes_hold": judgement.audit.holds(),
            "holds": judgement.holds(),
        }),
        judgement: Some(judgement),
    }
}

/// What verifying one review's evidence bundle found: the verdict, and the
/// bundle's entries verified and its fault, in the terms of a ledger's
/// verification.
pub struct BundleVerdict {
    /// The verdict, in the same JSON shape as [`review_verdict`]'s, with
    /// `entries` the bundle's.
    pub verdict: ReviewVerdict,
    /// The bundle's entries, all verified when there is no fault (none
    /// otherwise: a bundle verifies whole or not at all).
    pub entries: u64,
    /// Why the bundle did not verify, and the entry at fault if one is.
    pub fault: Option<(String, Option<u64>)>,
}

/// The verdict on `bundle`, verified as `verify-bundle` does, against the
/// ledger `trusted` and with the conformance check as of `as_of`.
pub fn bundle_verdict(bundle: &Bundle, trusted: LedgerId, as_of: Date) -> BundleVerdict {
    let ledger_id = trusted.to_hex();
    match review::bundle::verify(bundle, trusted, as_of) {
        Ok((report, _)) => {
            let judgement = Judgement {
                audit: report.audit,
                conformance: report.conformance,
            };
            let entries = report.entries as u64;
            BundleVerdict {
                verdict: judged(Some(ledger_id), entries, judgement),
                entries,
                fault: None,
            }
        }
        Err(e) => {
            let seq = match &e {
                BundleError::Entry { seq, .. } => Some(*seq),
                _ => None,
            };
            let reason = e.to_string();
            BundleVerdict {
                verdict: ReviewVerdict {
                    json: json!({
                        "ledger_id": ledger_id,
                        "entries": 0,
                        "valid": false,
                        "fault": { "seq": seq, "reason": reason },
                    }),
                    judgement: None,
                },
                entries: 0,
                fault: Some((reason, seq)),
            }
        }
    }
}
