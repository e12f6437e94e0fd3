//! Where a command appends and whose state it builds events from: a local
//! ledger directory, or a ledger on a server.
//!
//! Both modes build, check and sign events with the same code
//! ([`crate::local::prepare`]); they differ only in how the signed event is
//! delivered (the local writer, or `Append` over gRPC) and where the state
//! comes from (a replay of the directory, or a replay of the server's
//! entries verified on this machine).

use anyhow::{Context, Result, anyhow, bail};
use ledger_core::{EventId, KeyPair};
use ledger_store::{Receipt, verify};
use review::{Effect, LedgerState, Payload};

use crate::hosted::{Hosted, Place, Verified};
use crate::local::{Local, prepare, record};

/// An opened ledger, local or remote.
pub enum Target {
    /// A directory this process holds the lock of.
    Local(Box<Local>),
    /// A ledger on a server, and its verified state once fetched.
    Remote(Box<Hosted>, Option<Box<Verified>>),
}

/// What an append did.
pub struct Appended {
    /// The ledger's receipt.
    pub receipt: Receipt,
    /// The event's id.
    pub event_id: EventId,
    /// What the event changed.
    pub effect: Effect,
}

impl Target {
    /// Opens the ledger `place` names: a server when `--server` is given,
    /// else the directory.
    pub fn open(place: &Place) -> Result<Target> {
        Ok(match Hosted::of(place)? {
            Some(remote) => Target::Remote(Box::new(remote), None),
            None => Target::Local(Box::new(Local::open(&place.path)?)),
        })
    }

    /// The state after the ledger's last entry. Remote: every entry up to
    /// the server's checkpoint, fetched and verified here (once, and again
    /// after someone else appended).
    pub fn state(&mut self) -> Result<&LedgerState> {
        match self {
            Target::Local(local) => Ok(&local.state),
            Target::Remote(remote, verified) => {
                if verified.is_none() {
                    *verified = Some(Box::new(remote.replay()?));
                }
                Ok(&verified.as_ref().expect("just fetched").state)
            }
        }
    }

    /// The state after every entry has been verified on this machine:
    /// signatures, chain, rules, Merkle root against the signed checkpoint.
    pub fn verified_state(&mut self) -> Result<&LedgerState> {
        match self {
            Target::Local(local) => {
                let report = verify(
                    local.ledger.store().as_ref(),
                    LedgerState::new(),
                    None,
                    &mut |_, _| {},
                )?;
                if let Some(f) = report.fault {
                    bail!(
                        "the ledger does not verify{}: {}",
                        f.seq.map(|s| format!(" at entry #{s}")).unwrap_or_default(),
                        f.reason
                    );
                }
                Ok(&local.state)
            }
            // The remote state is only ever a verified replay.
            Target::Remote(..) => self.state(),
        }
    }

    /// Builds, checks and signs the event carrying `payload` with `author`,
    /// then delivers it: to the local writer, or to the server's `Append`.
    /// Returns once it is durable.
    pub fn append(&mut self, author: &KeyPair, payload: &Payload) -> Result<Appended> {
        let (event_id, signed, effect) = prepare(self.state()?, author, payload)?;
        let receipt = match self {
            Target::Local(local) => local.ledger.append(signed).map_err(|e| anyhow!("{e}"))?,
            Target::Remote(remote, _) => remote
                .append(&signed)
                .with_context(|| format!("event {event_id} was not appended"))?,
        };
        match self {
            Target::Local(local) => {
                // The lock keeps every other writer out: the entry is the next one.
                record(&mut local.state, &receipt, effect.clone());
            }
            // Read back from the server, verified, when next needed.
            Target::Remote(_, verified) => *verified = None,
        }
        Ok(Appended {
            receipt,
            event_id,
            effect,
        })
    }
}

/// The state after the last entry, for a command that only reads, and the
/// checkpoint to print beside it. Remote: fetched and verified here.
pub fn read_state(place: &Place) -> Result<(LedgerState, Option<String>)> {
    match Hosted::of(place)? {
        Some(mut remote) => {
            let v = remote.replay()?;
            Ok((v.state, Some(v.checkpoint)))
        }
        None => {
            let (store, state) = crate::local::load(&place.path)?;
            let checkpoint = ledger_store::Store::checkpoint(&store)?;
            Ok((state, checkpoint))
        }
    }
}
