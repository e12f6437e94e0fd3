//! Where a command appends and whose state it builds events from: a local
//! ledger directory, or a ledger on a server.
//!
//! Both modes build, check and sign events with the same code
//! ([`crate::local::prepare`]); they differ only in how the signed event is
//! delivered (the local writer, or `Append` over gRPC) and where the state
//! comes from (a replay of the directory, or a replay of the server's
//! entries verified on this machine).
//!
//! Appends are safe to retry: an append whose outcome is not known (a
//! write that failed part way, a server that went away before answering) is
//! reported as [`OutcomeUnknown`] with its event id, and the same command
//! run again with `--event-id` ([`Retry`]) finds the event if it is there
//! and appends nothing.

use std::fmt;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use ledger_core::{Entry, Event, EventId, KeyPair, Seq};
use ledger_store::{AppendError, Receipt, Store, verify};
use review::{Effect, LedgerState, Payload};
use serde_json::json;

use crate::hosted::{Delivery, Hosted, Place, Verified};
use crate::local::{Local, new_event_id, prepare, record};
use crate::out::Out;

/// How an append is made safe to retry.
#[derive(Args, Clone, Debug, Default)]
pub struct Retry {
    /// Append with this event id (32 hex digits) instead of a fresh one.
    /// Give the id an earlier run printed when its outcome was unknown: if
    /// that event is in the ledger already, nothing is appended and the
    /// command says where it is.
    #[arg(long, value_name = "HEX")]
    pub event_id: Option<String>,
}

/// An append whose outcome is not known: the ledger may or may not hold the
/// event (a write that failed part way, a server that went away before it
/// answered). `main` exits 3 on it.
#[derive(Debug)]
pub struct OutcomeUnknown {
    /// The event.
    pub event_id: EventId,
    /// The options that name the ledger, in local mode (`--ledger DIR`).
    pub place: Option<String>,
    /// What happened.
    pub cause: String,
}

impl fmt::Display for OutcomeUnknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.event_id;
        write!(
            f,
            "the outcome of event {id} is unknown ({}): the ledger may or may not hold it. ",
            self.cause
        )?;
        if let Some(place) = &self.place {
            write!(
                f,
                "Look with `review-ledger log {place} --event-id {id}`, or run"
            )?;
        } else {
            f.write_str("Run")?;
        }
        write!(
            f,
            " the same command again with `--event-id {id}`: if the event is there it is not appended twice"
        )
    }
}

impl std::error::Error for OutcomeUnknown {}

/// Where an append goes.
enum At {
    /// A directory this process holds the lock of.
    Local(Box<Local>),
    /// A ledger on a server, and its verified state once fetched.
    Remote(Box<Hosted>, Option<Box<Verified>>),
}

/// An opened ledger, local or remote, to append one event to.
pub struct Target {
    at: At,
    /// The event id to append with, when the user gave one.
    event_id: Option<EventId>,
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
    /// Opens the ledger `place` names (a server when `--server` is given,
    /// else the directory) to append an event by `author`. `None` when the
    /// event `retry` names is in the ledger already: that is said on `out`,
    /// and nothing is to be appended.
    pub fn open(
        place: &Place,
        retry: &Retry,
        author: &KeyPair,
        out: &Out,
    ) -> Result<Option<Target>> {
        let event_id = retry
            .event_id
            .as_deref()
            .map(EventId::from_hex)
            .transpose()
            .context("--event-id")?;
        let at = match Hosted::of(place)? {
            Some(remote) => At::Remote(Box::new(remote), None),
            None => At::Local(Box::new(Local::open(&place.at())?)),
        };
        let mut target = Target { at, event_id };
        if let Some(id) = event_id
            && let Some((seq, event)) = target.find(id)?
        {
            if event.author.key() != author.public() {
                bail!(
                    "event id {id} is taken: entry #{} holds an event by another key; \
                     leave out --event-id to append under a fresh one",
                    seq.0
                );
            }
            let summary = match Payload::decode(&event.kind, &event.payload) {
                Ok(p) => review::describe::payload(&p),
                Err(_) => event.kind.as_str().to_owned(),
            };
            out.emit(
                &json!({
                    "already": true,
                    "seq": seq.0,
                    "event_id": id.to_hex(),
                    "kind": event.kind.as_str(),
                    "summary": summary,
                }),
                || {
                    format!(
                        "event {id} is already in the ledger at #{}: {summary}",
                        seq.0
                    )
                },
            );
            return Ok(None);
        }
        Ok(Some(target))
    }

    /// Whether the ledger holds event `id` already.
    pub fn holds(&mut self, id: EventId) -> Result<bool> {
        Ok(self.find(id)?.is_some())
    }

    /// Appends `payload` under the event id `id` (see [`Target::append`]).
    pub fn append_as(
        &mut self,
        id: EventId,
        author: &KeyPair,
        payload: &Payload,
    ) -> Result<Appended> {
        self.event_id = Some(id);
        let appended = self.append(author, payload);
        self.event_id = None;
        appended
    }

    /// The entry holding event `id`, if any.
    fn find(&mut self, id: EventId) -> Result<Option<(Seq, Event)>> {
        let found = match &mut self.at {
            At::Local(local) => {
                let store = local.ledger.store();
                match store.seq_of(&id)? {
                    Some(seq) => store.entry(seq)?.map(|bytes| (seq, bytes)),
                    None => None,
                }
            }
            At::Remote(remote, _) => remote.entry_of(id)?,
        };
        let Some((seq, bytes)) = found else {
            return Ok(None);
        };
        let entry = Entry::decode(&bytes).with_context(|| format!("entry {seq}"))?;
        let event = Event::decode(&entry.event).with_context(|| format!("entry {seq}"))?;
        if event.id != id {
            bail!(
                "entry {seq} was found for event {id} but holds event {}",
                event.id
            );
        }
        Ok(Some((seq, event)))
    }

    /// The state after the ledger's last entry. Remote: every entry up to
    /// the server's checkpoint, fetched and verified here (once, and again
    /// after someone else appended).
    pub fn state(&mut self) -> Result<&LedgerState> {
        match &mut self.at {
            At::Local(local) => Ok(&local.state),
            At::Remote(remote, verified) => {
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
        // The remote state is only ever a verified replay.
        if let At::Local(local) = &self.at {
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
        }
        self.state()
    }

    /// Builds, checks and signs the event carrying `payload` with `author`,
    /// then delivers it: to the local writer, or to the server's `Append`.
    /// Returns once it is durable. An error is [`OutcomeUnknown`] when the
    /// event may have been appended all the same.
    pub fn append(&mut self, author: &KeyPair, payload: &Payload) -> Result<Appended> {
        let id = self.event_id.unwrap_or_else(new_event_id);
        let (event_id, signed, effect) = prepare(self.state()?, author, id, payload)?;
        let unknown = |place: Option<String>, cause: String| OutcomeUnknown {
            event_id,
            place,
            cause,
        };
        let receipt = match &mut self.at {
            At::Local(local) => match local.ledger.append(signed) {
                Ok(r) => r,
                Err(e @ AppendError::Store(_)) => {
                    let place = local.at.flags();
                    return Err(unknown(Some(place), e.to_string()).into());
                }
                Err(AppendError::Rejected { source, .. }) => {
                    return Err(crate::failure::Refused::by_rules(&source).into());
                }
                Err(e) => return Err(anyhow!("{e}")),
            },
            At::Remote(remote, _) => match remote.append(&signed) {
                Ok(r) => r,
                Err(Delivery::Unknown(cause)) => return Err(unknown(None, cause).into()),
                Err(Delivery::Refused(e)) => {
                    return Err(e.context(format!("event {event_id} was not appended")));
                }
            },
        };
        match &mut self.at {
            At::Local(local) => {
                // The lock keeps every other writer out: the entry is the next one.
                record(&mut local.state, &receipt, effect.clone());
            }
            // Read back from the server, verified, when next needed.
            At::Remote(_, verified) => *verified = None,
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
            let (store, state) = crate::local::load(&place.at())?;
            let checkpoint = ledger_store::Store::checkpoint(&store)?;
            Ok((state, checkpoint))
        }
    }
}
