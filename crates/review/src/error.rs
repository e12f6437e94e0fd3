//! Why the domain refuses an event.

use ledger_core::{EventId, Seq};

use crate::member::MemberId;

/// An event the admission rules refuse. Each names the field, key, member
/// or event at fault. A refused event changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The ledger is empty and the event is not a genesis.
    #[error("the ledger has no genesis yet; its first event must be `genesis`, not `{kind}`")]
    NoGenesis {
        /// The kind that was offered.
        kind: String,
    },
    /// A genesis after entry #0.
    #[error("genesis is only allowed as entry #0, not {seq}")]
    GenesisAgain {
        /// Where it was offered.
        seq: Seq,
    },
    /// An event kind this version does not know.
    #[error("unknown event kind `{0}`")]
    UnknownKind(String),
    /// The payload does not decode as its kind says.
    #[error("payload of `{kind}` does not decode: {reason}")]
    Payload {
        /// The event kind.
        kind: String,
        /// What the decoder said.
        reason: String,
    },
    /// A field is malformed whatever the ledger holds: empty, too long, or
    /// not in its format. (The service answers INVALID_ARGUMENT.)
    #[error("{field}: {reason}")]
    Malformed {
        /// The field, e.g. `member.name`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A field holds a value the ledger's state does not allow (an unknown
    /// review, a member not enrolled, a date out of order). (The service
    /// answers FAILED_PRECONDITION.)
    #[error("{field}: {reason}")]
    Field {
        /// The field, e.g. `member.name`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The author's key is not enrolled in the roster.
    #[error("key {key} is not enrolled in this ledger")]
    UnknownKey {
        /// The key's fingerprint.
        key: String,
    },
    /// The author's key was rotated away before this event.
    #[error("key {key} of {member} was rotated away at {at} and signs nothing after it")]
    KeyRotated {
        /// The key's fingerprint.
        key: String,
        /// Its member.
        member: MemberId,
        /// The rotation entry.
        at: Seq,
    },
    /// The author's key was revoked before this event.
    #[error("key {key} of {member} was revoked at {at} and signs nothing after it")]
    KeyRevoked {
        /// The key's fingerprint.
        key: String,
        /// Its member.
        member: MemberId,
        /// The revocation entry.
        at: Seq,
    },
    /// The author's member was removed from the roster.
    #[error("member {0} was removed from the roster")]
    MemberRemoved(MemberId),
    /// The action needs a top-management signer.
    #[error("{member} is not top management, so cannot {action}")]
    NotTopManagement {
        /// The signer.
        member: MemberId,
        /// What they tried.
        action: &'static str,
    },
    /// A handle that is not on the roster.
    #[error("no member {0} on the roster")]
    UnknownMember(MemberId),
    /// A handle already on the roster.
    #[error("member {0} is already on the roster")]
    HandleTaken(MemberId),
    /// A key that is or was enrolled already.
    #[error("key {key} is already enrolled (for {member})")]
    KeyTaken {
        /// The key's fingerprint.
        key: String,
        /// Who holds or held it.
        member: MemberId,
    },
    /// A key that is not a usable ed25519 key.
    #[error("{field}: {reason}")]
    BadKey {
        /// The field holding the key.
        field: &'static str,
        /// Why it is refused (invalid point, weak key).
        reason: String,
    },
    /// No pending roster change has this id.
    #[error("no pending roster change {0}")]
    UnknownProposal(EventId),
    /// The member already approved this change.
    #[error("{member} already approved roster change {proposal}")]
    AlreadyApproved {
        /// The approver.
        member: MemberId,
        /// The change.
        proposal: EventId,
    },
    /// The rotation statement is not signed by the new key.
    #[error("rotation for {member}: the new key's signature does not verify")]
    BadRotationProof {
        /// The member rotating.
        member: MemberId,
    },
    /// The change would leave the ledger with no top management.
    #[error("removing {0} would leave no top management on the roster")]
    LastTopManagement(MemberId),
}
