//! The `verify --review` report: one JSON shape, built here for both the
//! CLI (`review-ledger verify --review`) and `ReviewService.VerifyReview`,
//! so that an auditor reading either reads the same fields.

use ledger_store::Report;
use review::audit::{self, ReviewAudit};
use review::{LedgerState, Rejection, ReviewId};
use serde_json::{Value, json};

/// A ledger's verification and, when it verified, the audit of one review.
pub struct ReviewVerdict {
    /// The report as JSON: `ledger_id`, `entries`, `valid`, then either
    /// `review` (the audit) and `holds`, or `fault`.
    pub json: Value,
    /// The audit, when the ledger verified (a review on a ledger that does
    /// not verify is not judged).
    pub audit: Option<ReviewAudit>,
}

impl ReviewVerdict {
    /// Whether the ledger verified and the review holds.
    pub fn holds(&self) -> bool {
        self.audit.as_ref().is_some_and(ReviewAudit::holds)
    }
}

/// The verdict on `review` after verifying the ledger into `state`.
pub fn review_verdict(
    report: &Report,
    state: &LedgerState,
    review: &ReviewId,
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
            audit: None,
        });
    }
    let audit = audit::audit(state, review)?;
    Ok(ReviewVerdict {
        json: json!({
            "ledger_id": ledger_id,
            "entries": report.entries,
            "valid": true,
            "review": audit,
            "holds": audit.holds(),
        }),
        audit: Some(audit),
    })
}
