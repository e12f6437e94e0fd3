//! The payloads of review events: what attendees sign about a management review.

use ledger_core::{Hash, Seq};
use serde::{Deserialize, Serialize};

use crate::error::Rejection;
use crate::ids::{ActionId, Date, ObjectiveId, ReviewId, TimeOfDay};
use crate::inputs::InputKey;
use crate::member::MemberId;

/// Every review event names its review, and says whether it amends minutes
/// already signed. After the first signature, content without an amendment
/// reason is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content<T> {
    /// The review.
    pub review: ReviewId,
    /// Why signed minutes are being changed; `None` before signing.
    pub amendment: Option<String>,
    /// The event's own fields.
    pub body: T,
}

/// `review.schedule`: a review is planned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// E.g. `Q4 2026 ISMS management review`.
    pub title: String,
    /// The planned meeting date.
    pub planned: Date,
    /// First day of the period the review covers.
    pub period_start: Date,
    /// Last day of the period the review covers.
    pub period_end: Date,
    /// Who will chair.
    pub chair: MemberId,
    /// Who is expected to attend.
    pub expected: Vec<MemberId>,
    /// The review before this one (the latest scheduled when `None`).
    pub previous: Option<ReviewId>,
    /// The wider meeting this review is part of, e.g. a board meeting.
    pub part_of: Option<String>,
}

/// A document of the agenda pack: the ledger keeps its digest, not the document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Title, e.g. `Internal audit summary 2026`.
    pub title: String,
    /// Where people find it: a URL or a reference in the document system
    /// (never a path on the author's machine).
    pub location: String,
    /// blake3 of the document's bytes.
    pub digest: Hash,
}

/// `review.circulate`: the agenda pack went out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Circulate {
    /// The date it was sent.
    pub circulated: Date,
    /// The documents.
    pub documents: Vec<Document>,
}

/// `review.open`: the meeting was held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Open {
    /// The meeting date.
    pub held: Date,
    /// Who chaired.
    pub chair: MemberId,
    /// Who was present.
    pub present: Vec<MemberId>,
    /// Who sent apologies.
    pub apologies: Vec<MemberId>,
}

/// `review.meeting-times`: when the meeting started and ended, on the day
/// it was held, as declared. A kind of its own, so that ledgers written
/// before it keep their bytes and digests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingTimes {
    /// When the meeting started.
    pub started: TimeOfDay,
    /// When it ended, after it started on the same day.
    pub ended: TimeOfDay,
}

impl MeetingTimes {
    /// The meeting's length in minutes.
    pub fn minutes(&self) -> u16 {
        self.ended.minutes().saturating_sub(self.started.minutes())
    }
}

/// A reference to evidence behind an input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// What it is.
    pub title: String,
    /// Where people find it, as for a [`Document`].
    pub location: String,
    /// blake3 of the document, when it is a file.
    pub digest: Option<Hash>,
}

/// `review.input`: what the meeting considered for one required input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    /// Which input.
    pub input: InputKey,
    /// What was discussed; when `nothing_to_report`, the statement saying so.
    pub summary: String,
    /// Evidence references.
    pub evidence: Vec<Evidence>,
    /// An explicit "nothing to report" for this input.
    pub nothing_to_report: bool,
}

/// Why `location` is a path on the author's machine, which nobody else can
/// open, if it is one: a document or evidence location must be shared (a
/// URL, or a reference such as `DMS-1234`).
pub fn local_location(location: &str) -> Option<&'static str> {
    let bytes = location.as_bytes();
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("file:") {
        Some("a file: URL")
    } else if location.starts_with("\\\\") {
        None // UNC: \\server\share names a shared location.
    } else if location.starts_with('/') || location.starts_with('\\') {
        Some("an absolute path on this machine")
    } else if location.starts_with('~') {
        Some("a path in a home directory on this machine")
    } else if ["./", "../", ".\\", "..\\"]
        .iter()
        .any(|p| location.starts_with(p))
        || location == "."
        || location == ".."
    {
        Some("a path relative to a directory on this machine")
    } else if bytes.len() >= 3
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && (bytes[2] == b'\\' || bytes[2] == b'/')
    {
        Some("a drive path on this machine")
    } else {
        None
    }
}

/// Where an action stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionState {
    /// Assigned, not started.
    Open,
    /// Under way.
    InProgress,
    /// Done.
    Completed,
    /// Late: with a revised due date and the owner confirmed (or replaced).
    Overdue {
        /// The new due date.
        revised_due: Date,
        /// The owner who confirmed it.
        owner: MemberId,
    },
}

impl ActionState {
    /// One word for tables.
    pub fn label(&self) -> &'static str {
        match self {
            ActionState::Open => "open",
            ActionState::InProgress => "in progress",
            ActionState::Completed => "completed",
            ActionState::Overdue { .. } => "overdue",
        }
    }

    /// Parses `completed`, `in-progress`, `open` or `overdue`; `overdue`
    /// needs the revised due date and the owner who confirmed it.
    pub fn parse(
        status: &str,
        revised_due: Option<&str>,
        owner: Option<&str>,
    ) -> Result<ActionState, Rejection> {
        let missing = |field: &str| Rejection::Malformed {
            field: format!("action.{field}"),
            reason: "an overdue action needs its revised due date and the owner who confirmed it"
                .into(),
        };
        Ok(match status {
            "completed" => ActionState::Completed,
            "in-progress" => ActionState::InProgress,
            "open" => ActionState::Open,
            "overdue" => ActionState::Overdue {
                revised_due: Date::parse(
                    "action.revised_due",
                    revised_due.ok_or_else(|| missing("revised_due"))?,
                )?,
                owner: MemberId::new(owner.ok_or_else(|| missing("owner"))?)?,
            },
            other => {
                return Err(Rejection::Malformed {
                    field: "action.status".into(),
                    reason: format!(
                        "{} is not completed, in-progress, open or overdue",
                        crate::ids::quoted(other)
                    ),
                });
            }
        })
    }
}

/// `review.action-status`: the status of an earlier review's action, as this review recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionStatus {
    /// The action.
    pub action: ActionId,
    /// Its status.
    pub status: ActionState,
    /// What was said.
    pub note: String,
}

/// What a decision is about (Clause 9.3.3 outputs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DecisionKind {
    /// Opportunities for continual improvement.
    ContinualImprovement,
    /// Any need for changes to the ISMS.
    IsmsChange,
    /// Resource needs, or a statement that the ISMS is adequately resourced.
    Resources,
    /// Anything else.
    Other,
}

impl DecisionKind {
    /// Every kind.
    pub const ALL: [DecisionKind; 4] = [
        DecisionKind::ContinualImprovement,
        DecisionKind::IsmsChange,
        DecisionKind::Resources,
        DecisionKind::Other,
    ];

    /// Parses [`DecisionKind::key`]'s spelling.
    pub fn parse(text: &str) -> Result<DecisionKind, Rejection> {
        DecisionKind::ALL
            .into_iter()
            .find(|k| k.key() == text)
            .ok_or_else(|| Rejection::Malformed {
                field: "decision.kind".into(),
                reason: format!(
                    "{} is not improvement, isms-change, resources or other",
                    crate::ids::quoted(text)
                ),
            })
    }

    /// The spelling on the command line and in reports.
    pub fn key(self) -> &'static str {
        match self {
            DecisionKind::ContinualImprovement => "improvement",
            DecisionKind::IsmsChange => "isms-change",
            DecisionKind::Resources => "resources",
            DecisionKind::Other => "other",
        }
    }
}

/// `review.decide`: a decision, numbered 1, 2, ... within its review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// What it is about.
    pub kind: DecisionKind,
    /// The decision.
    pub text: String,
    /// The inputs it answers.
    pub inputs: Vec<InputKey>,
}

/// `review.act`: an action with an owner and a due date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Act {
    /// The action's id.
    pub action: ActionId,
    /// Who owns it.
    pub owner: MemberId,
    /// When it is due.
    pub due: Date,
    /// What is to be done.
    pub text: String,
    /// The number of the decision it serves.
    pub decision: Option<u16>,
}

/// `action.update`: an action's progress between reviews.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionUpdate {
    /// The action.
    pub action: ActionId,
    /// Its new status.
    pub status: ActionState,
    /// What happened.
    pub note: String,
}

/// `review.objective-assess`: was last period's objective met, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assess {
    /// The objective.
    pub objective: ObjectiveId,
    /// Whether it was met.
    pub met: bool,
    /// Why, or why not.
    pub why: String,
}

/// `review.objective-set`: an objective for the next period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objective {
    /// The objective's id.
    pub objective: ObjectiveId,
    /// What it is.
    pub text: String,
    /// Who owns it.
    pub owner: MemberId,
    /// How it is measured.
    pub measure: String,
    /// The target value.
    pub target: String,
    /// When it is due.
    pub due: Date,
}

/// `review.close`: the meeting closed, with the next review's date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Close {
    /// The date of the next review.
    pub next_review: Date,
}

/// `minutes.sign`: a top-management attendee signs the minutes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sign {
    /// The review.
    pub review: ReviewId,
    /// The minutes digest (see `docs/FORMAT.md`) the signer saw.
    pub digest: Hash,
    /// The last entry that changed those minutes.
    pub covers: Seq,
}
