//! The ten required inputs of ISO 27001:2022 Clause 9.3.2.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Rejection;

/// One required input, keyed by its clause reference. The guide groups
/// them as nine; [`InputKey::guide_number`] gives its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum InputKey {
    /// a: status of actions from previous management reviews.
    PreviousActions,
    /// b: changes in external and internal issues relevant to the ISMS.
    ContextChanges,
    /// c: changes in needs and expectations of interested parties.
    InterestedPartyNeeds,
    /// d1: nonconformities and corrective actions.
    Nonconformities,
    /// d2: monitoring and measurement results.
    Monitoring,
    /// d3: audit results.
    AuditResults,
    /// d4: fulfilment of information security objectives.
    Objectives,
    /// e: feedback from interested parties.
    InterestedPartyFeedback,
    /// f: results of risk assessment and status of risk treatment plan.
    Risk,
    /// g: opportunities for continual improvement.
    Improvement,
}

impl InputKey {
    /// All ten, in clause order.
    pub const ALL: [InputKey; 10] = [
        InputKey::PreviousActions,
        InputKey::ContextChanges,
        InputKey::InterestedPartyNeeds,
        InputKey::Nonconformities,
        InputKey::Monitoring,
        InputKey::AuditResults,
        InputKey::Objectives,
        InputKey::InterestedPartyFeedback,
        InputKey::Risk,
        InputKey::Improvement,
    ];

    /// `(key, clause, guide's number, title)`.
    fn row(self) -> (&'static str, &'static str, u8, &'static str) {
        match self {
            InputKey::PreviousActions => (
                "previous-actions",
                "a",
                1,
                "Status of actions from previous management reviews",
            ),
            InputKey::ContextChanges => (
                "context-changes",
                "b",
                2,
                "Changes in external and internal issues relevant to the ISMS",
            ),
            InputKey::InterestedPartyNeeds => (
                "interested-party-needs",
                "c",
                8,
                "Changes in needs and expectations of interested parties",
            ),
            InputKey::Nonconformities => (
                "nonconformities",
                "d1",
                3,
                "Nonconformities and corrective actions (trends)",
            ),
            InputKey::Monitoring => (
                "monitoring",
                "d2",
                9,
                "Monitoring and measurement results (trends)",
            ),
            InputKey::AuditResults => ("audit-results", "d3", 3, "Audit results (trends)"),
            InputKey::Objectives => (
                "objectives",
                "d4",
                7,
                "Fulfilment of information security objectives",
            ),
            InputKey::InterestedPartyFeedback => (
                "interested-party-feedback",
                "e",
                4,
                "Feedback from interested parties",
            ),
            InputKey::Risk => (
                "risk",
                "f",
                5,
                "Results of risk assessment and status of risk treatment plan",
            ),
            InputKey::Improvement => (
                "improvement",
                "g",
                6,
                "Opportunities for continual improvement",
            ),
        }
    }

    /// The key as written on the command line, e.g. `context-changes`.
    pub fn key(self) -> &'static str {
        self.row().0
    }

    /// The clause 9.3.2 item, e.g. `d1`.
    pub fn clause(self) -> &'static str {
        self.row().1
    }

    /// The number the practitioner's guide gives it.
    pub fn guide_number(self) -> u8 {
        self.row().2
    }

    /// What the input is.
    pub fn title(self) -> &'static str {
        self.row().3
    }

    /// Parses a key or a clause reference.
    pub fn parse(text: &str) -> Result<InputKey, Rejection> {
        InputKey::ALL
            .into_iter()
            .find(|k| k.key() == text || k.clause() == text)
            .ok_or_else(|| Rejection::Malformed {
                field: "input".into(),
                reason: format!(
                    "{} is not one of {}",
                    crate::ids::quoted(text),
                    InputKey::ALL.map(|k| k.key()).join(", ")
                ),
            })
    }
}

impl fmt::Display for InputKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}
