//! The `verify --review` report: one JSON shape, built here for both the
//! CLI (`review-ledger verify --review`) and `ReviewService.VerifyReview`,
//! so that an auditor reading either reads the same fields. Whether the
//! review holds is [`Judgement::holds`], as for `verify-bundle`.

use ledger_store::Report;
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
    Ok(ReviewVerdict {
        json: json!({
            "ledger_id": ledger_id,
            "entries": report.entries,
            "valid": true,
            "review": judgement.audit,
            "conformance": judgement.conformance,
            "minutes_hold": judgement.audit.holds(),
            "holds": judgement.holds(),
        }),
        judgement: Some(judgement),
    })
}
