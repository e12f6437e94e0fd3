//! The admission state machine: one pure function for appending and replaying.

use ledger_core::{Admission, EntryHash, Event, Seq, SignedBy, UnixMicros};
use serde::{Deserialize, Serialize};

use crate::error::Rejection;
use crate::payload::Payload;
use crate::reviews::{Item, ReviewOp, Reviews};
use crate::roster::{Roster, RosterOp};
use crate::subjects::{Subject, Subjects};

/// Everything the rules need to know about the ledger so far. It is
/// serialized only for snapshots ([`crate::rules::snapshot`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerState {
    /// Who may sign.
    pub roster: Roster,
    /// The reviews, the action log and the objectives.
    pub reviews: Reviews,
    /// Each subject's chain of entries, committed to in checkpoints.
    pub subjects: Subjects,
    /// Entries applied so far.
    pub size: u64,
}

/// What an admitted event changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Roster changes.
    Roster(Vec<RosterOp>),
    /// A review event.
    Review(ReviewOp),
}

impl LedgerState {
    /// A state before genesis.
    pub fn new() -> LedgerState {
        LedgerState::default()
    }

    /// Decides whether `event` may be entry `seq`, returning what it changes.
    pub fn admit(
        &self,
        seq: Seq,
        received: UnixMicros,
        event: &Event,
        signed_by: SignedBy,
    ) -> Result<Effect, Rejection> {
        let author = event.author.key();
        let payload = Payload::decode(&event.kind, &event.payload)?;
        let roster = &self.roster;
        if !roster.founded() {
            return match &payload {
                Payload::Genesis(_) if event.author.passkey().is_some() => Err(Rejection::Field {
                    field: "event.author".into(),
                    reason: "genesis is signed by the founder's ed25519 key, not a passkey".into(),
                }),
                Payload::Genesis(g) => Ok(Effect::Roster(roster.check_genesis(seq, &author, g)?)),
                _ => Err(Rejection::NoGenesis {
                    kind: event.kind.to_string(),
                }),
            };
        }
        if let Payload::Genesis(_) = payload {
            return Err(Rejection::GenesisAgain { seq });
        }
        let signer = roster.signer(&author)?;
        // A key id names one kind of key: a passkey's id never verifies an
        // ed25519 signature (nor can an ed25519 key be a passkey's id).
        let passkey = roster.keys.get(&author).and_then(|k| k.kind.passkey());
        if passkey != event.author.passkey() {
            return Err(Rejection::Field {
                field: "event.author".into(),
                reason: format!(
                    "key {} is enrolled as another kind of key than the one that signed",
                    author.fingerprint()
                ),
            });
        }
        check_top_management_key(roster, signer, seq, signed_by, &payload)?;
        let reviews = &self.reviews;
        let content = |review, amendment, item| {
            reviews
                .check_content(roster, signer, received, review, amendment, item)
                .map(Effect::Review)
        };
        match &payload {
            Payload::Genesis(_) => unreachable!("handled above"),
            Payload::Propose(change) => Ok(Effect::Roster(
                roster.check_propose(event.id, signer, change)?,
            )),
            Payload::Approve(id) => Ok(Effect::Roster(roster.check_approve(signer, *id)?)),
            Payload::Rotate(r) => Ok(Effect::Roster(roster.check_rotate(signer, &author, r)?)),
            Payload::Schedule(c) => Ok(Effect::Review(reviews.check_schedule(roster, signer, c)?)),
            Payload::Circulate(c) => {
                content(&c.review, &c.amendment, Item::Circulate(c.body.clone()))
            }
            Payload::Open(c) => content(&c.review, &c.amendment, Item::Open(c.body.clone())),
            Payload::Input(c) => content(&c.review, &c.amendment, Item::Input(c.body.clone())),
            Payload::ActionStatus(c) => {
                content(&c.review, &c.amendment, Item::ActionStatus(c.body.clone()))
            }
            Payload::Decide(c) => content(&c.review, &c.amendment, Item::Decision(c.body.clone())),
            Payload::Act(c) => content(&c.review, &c.amendment, Item::Act(c.body.clone())),
            Payload::Assess(c) => content(&c.review, &c.amendment, Item::Assess(c.body.clone())),
            Payload::Objective(c) => {
                content(&c.review, &c.amendment, Item::Objective(c.body.clone()))
            }
            Payload::Close(c) => content(&c.review, &c.amendment, Item::Close(c.body.clone())),
            Payload::MeetingTimes(c) => {
                content(&c.review, &c.amendment, Item::Times(c.body.clone()))
            }
            Payload::Sign(s) => Ok(Effect::Review(reviews.check_sign(
                roster,
                signer,
                (&author, signed_by),
                (seq, received),
                s,
            )?)),
            Payload::ActionUpdate(u) => {
                Ok(Effect::Review(reviews.check_update(roster, signer, u)?))
            }
        }
    }
}

impl LedgerState {
    /// The subject of an admitted event: the roster, or the review it is
    /// about (for an action update, the review that raised the action).
    pub fn subject_of(&self, effect: &Effect) -> Subject {
        match effect {
            Effect::Roster(_) => Subject::Roster,
            Effect::Review(ReviewOp::Schedule { review, .. })
            | Effect::Review(ReviewOp::Content { review, .. })
            | Effect::Review(ReviewOp::Sign { review, .. }) => Subject::Review(review.clone()),
            Effect::Review(ReviewOp::Update { update, .. }) => self
                .reviews
                .actions
                .get(&update.action)
                .map(|a| Subject::Review(a.review.clone()))
                .unwrap_or(Subject::Roster),
        }
    }
}

impl Admission for LedgerState {
    type Effect = Effect;
    type Rejection = Rejection;

    fn check(
        &self,
        seq: Seq,
        received: UnixMicros,
        event: &Event,
        signed_by: SignedBy,
    ) -> Result<Effect, Rejection> {
        self.admit(seq, received, event, signed_by)
    }

    fn checkpoint_key(&self) -> Option<ledger_core::PublicKey> {
        self.roster.checkpoint_key
    }

    fn subjects(&self) -> Option<ledger_core::Hash> {
        Some(self.subjects.root())
    }

    fn apply(&mut self, seq: Seq, hash: EntryHash, received: UnixMicros, effect: Effect) {
        if seq == Seq(0) {
            self.roster.ledger_id = Some(hash);
        }
        let subject = self.subject_of(&effect);
        self.subjects.push(subject, seq, &hash);
        match effect {
            Effect::Roster(ops) => self.roster.apply(seq, ops),
            Effect::Review(op) => self.reviews.apply(seq, received, op),
        }
        self.size = seq.0.saturating_add(1);
    }

    fn snapshot(&self) -> Option<Vec<u8>> {
        crate::rules::snapshot::encode(self)
    }

    fn compact(&mut self) {
        let r = &mut self.reviews;
        r.reviews.compact();
        r.actions.compact();
        r.objectives.compact();
    }

    fn restore(bytes: &bytes::Bytes, size: u64) -> Option<LedgerState> {
        crate::rules::snapshot::decode(bytes, size)
    }
}

/// Under `KeyPolicy::VerifiedPasskeyForTopManagement`, refuses an event a
/// top manager signed other than with a passkey that verified them, except
/// the steps that enrol a passkey (proposing or approving an `AddPasskey`)
/// and disowning one's own keys, which a member must be able to take with
/// the keys they have.
fn check_top_management_key(
    roster: &crate::roster::Roster,
    signer: &crate::roster::Member,
    seq: Seq,
    signed_by: SignedBy,
    payload: &Payload,
) -> Result<(), Rejection> {
    use crate::payload::RosterChange;
    use crate::policy::KeyPolicy;
    let (policy, set_at) = roster.as_at(seq).key_policy();
    if policy != KeyPolicy::VerifiedPasskeyForTopManagement
        || !signer.top_management
        || signed_by
            == (SignedBy::Passkey {
                user_verified: true,
            })
    {
        return Ok(());
    }
    let enrols_or_disowns = match payload {
        Payload::Propose(RosterChange::AddPasskey { .. }) => true,
        Payload::Propose(
            RosterChange::Revoke { handle } | RosterChange::RetireKey { handle, .. },
        ) => *handle == signer.handle,
        Payload::Approve(id) => roster
            .pending
            .get(id)
            .is_some_and(|p| matches!(p.change, RosterChange::AddPasskey { .. })),
        _ => false,
    };
    if enrols_or_disowns {
        return Ok(());
    }
    let with = match signed_by {
        SignedBy::Passkey { .. } => "a passkey that did not verify them",
        SignedBy::Ed25519 => "an ed25519 key",
    };
    Err(Rejection::Field {
        field: "event.author".into(),
        reason: format!(
            "{} is top management and signed with {with}; the key policy{} requires a passkey that verifies them",
            signer.handle,
            set_at.map(|at| format!(" set at {at}")).unwrap_or_default()
        ),
    })
}
