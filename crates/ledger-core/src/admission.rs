//! The seam between the format and the domain: who decides what may be appended.

use crate::event::{Event, SignedBy};
use crate::types::{EntryHash, Seq, UnixMicros};

/// A state machine over admitted events, implemented by the domain (`review`).
///
/// The same implementation runs when an event is appended and when an
/// auditor replays the ledger, so there is one copy of every rule. `check`
/// never changes the state, so a refused event leaves it exactly as it was;
/// `apply` takes what `check` computed.
pub trait Admission: Send + Sync {
    /// What `check` decided, ready to apply.
    type Effect: Send;
    /// Why an event was refused; names the field, member or event at fault.
    type Rejection: std::error::Error + Send + Sync + 'static;

    /// Decides whether `event`, whose signature has been verified and was
    /// made as `signed_by` says, may become entry `seq`, received by the
    /// ledger at `received`.
    fn check(
        &self,
        seq: Seq,
        received: UnixMicros,
        event: &Event,
        signed_by: SignedBy,
    ) -> Result<Self::Effect, Self::Rejection>;

    /// The key that signs checkpoints, once genesis has named it.
    fn checkpoint_key(&self) -> Option<crate::PublicKey>;

    /// The root of the domain's subject map, which checkpoints commit to
    /// (see `docs/FORMAT.md`); `None` when the domain keeps none.
    fn subjects(&self) -> Option<crate::Hash> {
        None
    }

    /// Applies an admitted event, now stored as entry `seq` with hash `hash`,
    /// received at `received`.
    fn apply(&mut self, seq: Seq, hash: EntryHash, received: UnixMicros, effect: Self::Effect);

    /// The state as bytes for a snapshot, so that opening the ledger folds
    /// only the entries after it; `None` when the domain keeps none.
    fn snapshot(&self) -> Option<Vec<u8>> {
        None
    }

    /// Lets go of what the state holds decoded and can read again from a
    /// compact form, so that a long pass over the ledger (a verification)
    /// holds its history compactly and only the recently changed parts
    /// decoded. Changes nothing the state answers.
    fn compact(&mut self) {}

    /// The state a snapshot's bytes hold, if they decode to the state after
    /// exactly `size` entries of this version's domain; `None` otherwise.
    /// The bytes are shared, so that a state may keep parts of them to
    /// decode when first read; they were checked against their hash.
    fn restore(bytes: &bytes::Bytes, size: u64) -> Option<Self>
    where
        Self: Sized,
    {
        let _ = (bytes, size);
        None
    }
}
