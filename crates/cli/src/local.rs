//! A ledger (a directory, or a ledger in a database) opened by this
//! process for reading and appending.

use anyhow::{Context, Result, anyhow};
use ledger_core::{EventId, Hash, KeyPair, Seq, SignedEvent, UnixMicros};
use ledger_store::{Ledger, Receipt, Store, system_clock};
use rand_core::{OsRng, RngCore};
use review::{Effect, LedgerState, Payload};

use crate::stores::{AnyStore, Where};

/// An open ledger: the writer, and this process's copy of the admission
/// state (kept in step with what it appends, since the ledger's lock keeps
/// every other writer out).
pub struct Local {
    /// The admission state after the last entry.
    pub state: LedgerState,
    /// The writer.
    pub ledger: Ledger<AnyStore, LedgerState>,
    /// Where the ledger is.
    pub at: Where,
}

/// A fresh random event id.
pub fn new_event_id() -> EventId {
    let mut id = [0u8; 16];
    OsRng.fill_bytes(&mut id);
    EventId(id)
}

/// This machine's clock, as the author's clock of an event.
pub fn now() -> UnixMicros {
    (system_clock())()
}

impl Local {
    /// Opens an existing ledger for appending.
    pub fn open(at: &Where) -> Result<Local> {
        let (store, key) = at.open_for_append()?;
        Self::start(store, key, at.clone())
    }

    /// Starts the writer on a store whose checkpoint key is `key`, loading
    /// its state once (from its snapshot and the entries after it).
    pub fn start(store: AnyStore, key: KeyPair, at: Where) -> Result<Local> {
        let mut state = LedgerState::new();
        let loaded = rebuild(&store, &mut state, &at)?;
        let ledger = Ledger::start_loaded(store, state.clone(), loaded, key, system_clock())?;
        Ok(Local { state, ledger, at })
    }

    /// Signs `payload` with `author`, appends it durably and returns the
    /// receipt and what it changed. The admission rules run here first, for
    /// an early error, and again in the writer, which decides.
    pub fn append(&mut self, author: &KeyPair, payload: &Payload) -> Result<(Receipt, Effect)> {
        let (_, signed, effect) = prepare(&self.state, author, new_event_id(), payload)?;
        let receipt = self.ledger.append(signed).map_err(|e| anyhow!("{e}"))?;
        record(&mut self.state, &receipt, effect.clone());
        Ok((receipt, effect))
    }

    /// The event id of the entry at `seq`.
    pub fn event_id(&self, seq: Seq) -> Result<EventId> {
        let bytes = self
            .ledger
            .store()
            .entry(seq)?
            .with_context(|| format!("no entry {seq}"))?;
        let entry = ledger_core::Entry::decode(&bytes)?;
        Ok(ledger_core::Event::decode(&entry.event)?.id)
    }
}

/// Builds and signs the event carrying `payload` for the ledger `state`
/// describes, and runs the admission rules on it for an early, local error
/// (the ledger's writer decides). One code path for both modes: only the
/// delivery of the signed event differs.
pub fn prepare(
    state: &LedgerState,
    author: &KeyPair,
    id: EventId,
    payload: &Payload,
) -> Result<(EventId, SignedEvent, Effect)> {
    let ledger_id = state.roster.ledger_id.unwrap_or(Hash::ZERO);
    let event = review::compose(ledger_id, id, author, now(), payload);
    let effect = state
        .admit(
            Seq(state.size),
            now(),
            &event,
            ledger_core::SignedBy::Ed25519,
        )
        .map_err(|e| anyhow::Error::new(crate::failure::Refused::by_rules(&e)))?;
    Ok((event.id, event.sign(author), effect))
}

/// Applies an appended event's effect to `state`, as the writer did.
pub fn record(state: &mut LedgerState, receipt: &Receipt, effect: Effect) {
    ledger_core::Admission::apply(state, receipt.seq, receipt.hash, receipt.received, effect);
}

/// Opens a ledger for reading (see [`Where::open_for_reading`]).
pub fn open_for_reading(at: &Where) -> Result<AnyStore> {
    at.open_for_reading()
}

/// Opens a ledger for reading and loads it: the store (for checkpoints
/// and entries) and the state after its last entry.
pub fn load(at: &Where) -> Result<(AnyStore, LedgerState)> {
    let store = open_for_reading(at)?;
    let mut state = LedgerState::new();
    rebuild(&store, &mut state, at).with_context(|| format!("cannot replay {at}"))?;
    Ok((store, state))
}

/// The state after the store's last entry, from its snapshot and the
/// entries after it ([`ledger_store::load`]); a snapshot that cannot be
/// used is said on stderr, and every entry is replayed instead.
pub fn rebuild(
    store: &dyn Store,
    state: &mut LedgerState,
    at: &Where,
) -> Result<ledger_store::Loaded> {
    let loaded = ledger_store::load(store, state)?;
    if let Some(why) = &loaded.ignored {
        eprintln!(
            "warning: {at}: {why}; every entry was replayed instead (a new snapshot is stored when the ledger is next appended to)"
        );
    }
    Ok(loaded)
}
