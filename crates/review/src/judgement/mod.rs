//! Judgement: the verdict on one review, and the one definition of
//! "holds". The auditor's view of the signatures ([`audit`]), the
//! conformance rules ([`conformance`]) and what minutes text says
//! ([`wording`]) live here.
//!
//! A review **holds** when its minutes hold (top management present at the
//! meeting signed the current minutes, as the policy's quorum asks, and
//! every change after the first signature was signed again; see
//! [`ReviewAudit::holds`]) and its conformance check found no
//! nonconformity ([`Report::passed`]). `verify --review`, `VerifyReview`,
//! `verify-bundle` and the minutes' first screen all judge by
//! [`Judgement::holds`], so they cannot disagree. `docs/RULES.md` states it.

pub mod audit;
pub mod conformance;
pub mod wording;

#[cfg(test)]
pub(crate) mod as_at_tests;
#[cfg(test)]
mod passkey_tests;

use crate::audit::{ReviewAudit, audit};
use crate::conformance::{Report, check};
use crate::error::Rejection;
use crate::ids::{Date, ReviewId};
use crate::state::LedgerState;

/// Who signed and what changed after, with the conformance check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    /// Who signed, who is missing, what changed after signing.
    pub audit: ReviewAudit,
    /// The conformance check, as of its day.
    pub conformance: Report,
}

impl Judgement {
    /// Judges `review` in `state`, with the conformance check as of `as_of`.
    pub fn of(state: &LedgerState, review: &ReviewId, as_of: Date) -> Result<Judgement, Rejection> {
        Ok(Judgement {
            audit: audit(state, review)?,
            conformance: check(state, review, as_of)?,
        })
    }

    /// Whether the review holds.
    pub fn holds(&self) -> bool {
        holds(&self.audit, &self.conformance)
    }
}

/// Whether a review with this audit and this conformance report holds.
pub fn holds(audit: &ReviewAudit, conformance: &Report) -> bool {
    audit.holds() && conformance.passed()
}
