//! `review`: the ISO 27001 Clause 9.3 management review, as a pure fold over entries.
//!
//! This crate holds the event vocabulary ([`Payload`]), the [`Roster`] of
//! who may sign and its rules, and [`LedgerState`], the one admission
//! function that the store runs when appending and an auditor runs when
//! replaying. It never touches a file, a socket or a clock.
//!
//! ```
//! use ledger_core::{Admission, Event, EventId, Hash, KeyPair, Seq, SignedBy, UnixMicros};
//! use review::{Genesis, LedgerState, MemberId, MemberRecord, Payload, Policy};
//!
//! let founder = KeyPair::from_seed([1; 32]);
//! let genesis = Payload::Genesis(Genesis {
//!     organisation: "Example Ltd".into(),
//!     founder: MemberRecord {
//!         handle: MemberId::new("ceo").unwrap(),
//!         name: "Ada Example".into(),
//!         role: "Chief Executive".into(),
//!         top_management: true,
//!         key: founder.public(),
//!     },
//!     checkpoint_key: KeyPair::from_seed([2; 32]).public(),
//!     policy: Policy::default(),
//! });
//! let event = review::compose(Hash::ZERO, EventId([7; 16]), &founder, UnixMicros(0), &genesis);
//! let mut state = LedgerState::new();
//! let effect = state.check(Seq(0), UnixMicros(0), &event, SignedBy::Ed25519).unwrap();
//! state.apply(Seq(0), Hash([9; 32]), UnixMicros(0), effect);
//! assert_eq!(state.roster.top_management_count(), 1);
//! ```

// The crate is laid out in rooms named for what they hold; each module
// keeps its path at the crate root, so `review::audit` is where it was.
pub mod error;
pub mod evidence;
pub mod example;
pub mod judgement;
pub mod projections;
pub mod render;
pub mod rules;
pub mod vocabulary;

pub use evidence::{bundle, subjects};
pub use example::{rehearsal, story};
pub use judgement::{audit, conformance, wording};
pub use projections::{agenda, listing, minutes, reminders, view};
pub use render::describe;
pub use rules::{reviews, roster, state};
pub use vocabulary::{ids, inputs, member, payload, policy, vocab};

#[cfg(test)]
mod tests;

use ledger_core::{Author, Event, EventId, KeyPair, LedgerId, UnixMicros};

pub use audit::ReviewAudit;
pub use conformance::{Finding, Report, Severity};
pub use error::Rejection;
pub use ids::{ActionId, Date, ObjectiveId, ReviewId};
pub use inputs::InputKey;
pub use judgement::Judgement;
pub use member::{MemberId, MemberRecord};
pub use minutes::Minutes;
pub use payload::{Genesis, Payload, RosterChange, Rotation, RotationStatement};
pub use policy::{KeyPolicy, Policy, Quorum};
pub use reviews::{ActionRecord, ReviewRecord, Reviews};
pub use roster::{KeyKind, KeyState, Member, Roster};
pub use state::{Effect, LedgerState};

/// Builds the event carrying `payload`, authored by `author`'s key.
pub fn compose(
    ledger: LedgerId,
    id: EventId,
    author: &KeyPair,
    time: UnixMicros,
    payload: &Payload,
) -> Event {
    compose_for(ledger, id, Author::Ed25519(author.public()), time, payload)
}

/// Builds the event carrying `payload` for `author` to sign elsewhere (the
/// web console builds it, the member's browser signs it).
pub fn compose_for(
    ledger: LedgerId,
    id: EventId,
    author: Author,
    time: UnixMicros,
    payload: &Payload,
) -> Event {
    Event {
        version: author.version(),
        ledger,
        id,
        author,
        time,
        kind: payload.kind(),
        payload: payload.encode(),
    }
}

/// Builds the rotation payload: the new key signs the rotation statement.
pub fn rotation(ledger: LedgerId, handle: &MemberId, old: &KeyPair, new: &KeyPair) -> Payload {
    let statement = RotationStatement {
        ledger,
        handle: handle.clone(),
        old_key: old.public(),
        new_key: new.public(),
    };
    let proof = new.sign(
        ledger_core::Purpose::KeyRotation,
        &ledger_core::codec::encode(&statement),
    );
    Payload::Rotate(Rotation {
        new_key: new.public(),
        proof,
    })
}
