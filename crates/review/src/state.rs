//! The admission state machine: one pure function for appending and replaying.

use ledger_core::{Admission, EntryHash, Event, Seq};

use crate::error::Rejection;
use crate::payload::Payload;
use crate::roster::{Roster, RosterOp};

/// Everything the rules need to know about the ledger so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LedgerState {
    /// Who may sign.
    pub roster: Roster,
    /// Entries applied so far.
    pub size: u64,
}

/// What an admitted event changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Roster changes.
    Roster(Vec<RosterOp>),
}

impl LedgerState {
    /// A state before genesis.
    pub fn new() -> LedgerState {
        LedgerState::default()
    }

    /// Decides whether `event` may be entry `seq`, returning what it changes.
    pub fn admit(&self, seq: Seq, event: &Event) -> Result<Effect, Rejection> {
        let payload = Payload::decode(&event.kind, &event.payload)?;
        let roster = &self.roster;
        if !roster.founded() {
            return match &payload {
                Payload::Genesis(g) => Ok(Effect::Roster(roster.check_genesis(
                    seq,
                    &event.author,
                    g,
                )?)),
                _ => Err(Rejection::NoGenesis {
                    kind: event.kind.to_string(),
                }),
            };
        }
        if let Payload::Genesis(_) = payload {
            return Err(Rejection::GenesisAgain { seq });
        }
        let signer = roster.signer(&event.author)?;
        let ops = match &payload {
            Payload::Genesis(_) => unreachable!("handled above"),
            Payload::Propose(change) => roster.check_propose(event.id, signer, change)?,
            Payload::Approve(id) => roster.check_approve(signer, *id)?,
            Payload::Rotate(r) => roster.check_rotate(signer, &event.author, r)?,
        };
        Ok(Effect::Roster(ops))
    }
}

impl Admission for LedgerState {
    type Effect = Effect;
    type Rejection = Rejection;

    fn check(&self, seq: Seq, event: &Event) -> Result<Effect, Rejection> {
        self.admit(seq, event)
    }

    fn checkpoint_key(&self) -> Option<ledger_core::PublicKey> {
        self.roster.checkpoint_key
    }

    fn apply(&mut self, seq: Seq, hash: EntryHash, effect: Effect) {
        if seq == Seq(0) {
            self.roster.ledger_id = Some(hash);
        }
        match effect {
            Effect::Roster(ops) => self.roster.apply(seq, ops),
        }
        self.size = seq.0 + 1;
    }
}
