//! A ledger state driven event by event in memory, with the example
//! organisation's fixed keys: what tests and benchmarks use to exercise the
//! rules, the projections and the check without a store. Each event goes
//! through the same [`LedgerState`] admission a real ledger uses.

use std::collections::BTreeMap;

use ledger_core::passkey::SoftAuthenticator;
use ledger_core::{
    Admission, Author, EntryHash, EventId, EventSignature, Hash, KeyPair, Purpose, Seq,
    SignedEvent, UnixMicros,
};

use crate::error::Rejection;
use crate::ids::{Date, ReviewId};
use crate::member::{MemberId, MemberRecord};
use crate::payload::{Genesis, Payload, RosterChange};
use crate::policy::Policy;
use crate::state::LedgerState;
use crate::story::{ORGANISATION, PEOPLE, Step};

/// The in-memory ledger.
pub struct Rehearsal {
    /// The state after the last admitted event.
    pub state: LedgerState,
    /// Each member's key, by handle.
    pub keys: BTreeMap<String, KeyPair>,
    /// Every admitted event, in order, signed.
    pub events: Vec<SignedEvent>,
    /// The ledger time each admitted event was received at.
    pub received: Vec<UnixMicros>,
    clock: UnixMicros,
}

/// The fixed key of the story's member `i`.
pub fn member_key(i: usize) -> KeyPair {
    KeyPair::from_seed([0x40 + i as u8; 32])
}

/// Noon UTC on `date`, as ledger time.
pub fn noon(date: Date) -> UnixMicros {
    let ts = date
        .civil()
        .at(12, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_microsecond())
        .unwrap_or(0);
    UnixMicros(ts)
}

impl Rehearsal {
    /// A founded ledger whose clock reads noon on `today`, with every member
    /// of the story enrolled (the two top managers approving the others).
    pub fn founded(today: Date) -> Rehearsal {
        let mut r = Rehearsal {
            state: LedgerState::new(),
            keys: PEOPLE
                .iter()
                .enumerate()
                .map(|(i, p)| (p.0.to_owned(), member_key(i)))
                .collect(),
            events: Vec::new(),
            received: Vec::new(),
            clock: noon(today),
        };
        let record = |i: usize| MemberRecord {
            handle: MemberId::new(PEOPLE[i].0).expect("valid"),
            name: PEOPLE[i].1.into(),
            role: PEOPLE[i].2.into(),
            top_management: PEOPLE[i].3,
            key: member_key(i).public(),
        };
        let genesis = Payload::Genesis(Genesis {
            organisation: ORGANISATION.into(),
            founder: record(0),
            checkpoint_key: KeyPair::from_seed([0x3f; 32]).public(),
            policy: Policy::default(),
        });
        r.append("ceo", &genesis).expect("genesis");
        r.append("ceo", &Payload::Propose(RosterChange::Enrol(record(1))))
            .expect("enrol ops");
        for i in 2..PEOPLE.len() {
            let id = r
                .append("ceo", &Payload::Propose(RosterChange::Enrol(record(i))))
                .expect("propose");
            r.append("ops", &Payload::Approve(id)).expect("approve");
        }
        r
    }

    /// Rebuilds a state from a log of admitted events and their receive
    /// times, as a reader of the ledger would.
    pub fn rebuild(
        events: &[SignedEvent],
        received: &[UnixMicros],
    ) -> Result<Rehearsal, Rejection> {
        let mut r = Rehearsal {
            state: LedgerState::new(),
            keys: BTreeMap::new(),
            events: Vec::new(),
            received: Vec::new(),
            clock: UnixMicros(0),
        };
        for (e, t) in events.iter().zip(received) {
            r.clock = *t;
            r.offer(e.clone())?;
        }
        Ok(r)
    }

    /// Sets the ledger clock.
    pub fn set_clock(&mut self, t: UnixMicros) {
        self.clock = t;
    }

    /// The ledger id.
    pub fn ledger_id(&self) -> Hash {
        self.state.roster.ledger_id.unwrap_or(Hash::ZERO)
    }

    fn event_id(&self) -> EventId {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&(self.events.len() as u64).to_be_bytes());
        id[8] = 0xee;
        EventId(id)
    }

    /// Signs `payload` as member `by` and offers it; returns the event id when admitted.
    pub fn append(&mut self, by: &str, payload: &Payload) -> Result<EventId, Rejection> {
        let key = self
            .keys
            .get(by)
            .unwrap_or_else(|| panic!("no key for {by}"))
            .clone();
        let event = crate::compose(self.ledger_id(), self.event_id(), &key, self.clock, payload);
        self.offer(event.sign(&key))
    }

    /// Offers a signed event as the next entry.
    pub fn offer(&mut self, signed: SignedEvent) -> Result<EventId, Rejection> {
        let (event, signed_by) = signed.verify_signer().map_err(|e| Rejection::Field {
            field: "signature".into(),
            reason: e.to_string(),
        })?;
        let seq = Seq(self.events.len() as u64);
        let effect = self.state.check(seq, self.clock, &event, signed_by)?;
        // Stands in for the entry hash, which needs a store: distinct per entry.
        let hash: EntryHash = Hash(*blake3::hash(&signed.encode()).as_bytes());
        self.state.apply(seq, hash, self.clock, effect);
        self.events.push(signed);
        self.received.push(self.clock);
        self.clock.0 += 1_000_000;
        Ok(event.id)
    }

    /// Signs `payload` with the passkey `by` holds (a software
    /// authenticator) and offers it.
    pub fn append_by_passkey(
        &mut self,
        by: &SoftAuthenticator,
        payload: &Payload,
    ) -> Result<EventId, Rejection> {
        let author = Author::Passkey(by.credential.clone());
        let event = crate::compose_for(
            self.ledger_id(),
            self.event_id(),
            author,
            self.clock,
            payload,
        );
        let bytes = event.encode();
        let assertion = by.assert(Purpose::Event, &bytes);
        self.offer(SignedEvent {
            event: bytes,
            signature: EventSignature::Passkey(assertion),
        })
    }

    /// The request to sign the current minutes of `review`.
    pub fn sign_request(&self, review: &ReviewId) -> Result<Payload, Rejection> {
        let r = self
            .state
            .reviews
            .reviews
            .get(review)
            .ok_or_else(|| Rejection::Field {
                field: "review".into(),
                reason: format!("no review {review}"),
            })?;
        Ok(Payload::Sign(r.sign_request()))
    }

    /// `by` signs the current minutes of `review`.
    pub fn sign(&mut self, by: &str, review: &ReviewId) -> Result<EventId, Rejection> {
        let request = self.sign_request(review)?;
        self.append(by, &request)
    }

    /// Runs the steps in order, stopping at the first refusal.
    pub fn run(&mut self, steps: &[Step]) -> Result<(), (usize, Rejection)> {
        for (i, s) in steps.iter().enumerate() {
            let result = match s {
                Step::Append { by, payload } => self.append(by, payload),
                Step::Sign { by, review } => self.sign(by, review),
            };
            result.map_err(|e| (i, e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::story;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The live state, updated event by event and through refusals,
        /// equals a rebuild from the log of admitted events alone.
        #[test]
        fn incremental_state_equals_a_rebuild_from_the_log(
            drops in proptest::collection::vec(0u8..10, 120),
            extra_signs in proptest::collection::vec(any::<bool>(), 8),
        ) {
            let today = Date::parse("today", "2026-12-01").unwrap();
            let mut live = Rehearsal::founded(today);
            // Drop about one step in five; later steps that needed it are refused.
            for (step, d) in story::story(today.plus_days(-5)).iter().zip(drops.iter().chain(std::iter::repeat(&9))) {
                if *d < 2 {
                    continue;
                }
                let _ = match step {
                    Step::Append { by, payload } => live.append(by, payload),
                    Step::Sign { by, review } => live.sign(by, review),
                };
            }
            for (i, sign) in extra_signs.iter().enumerate() {
                if *sign {
                    let by = PEOPLE[i % PEOPLE.len()].0;
                    let _ = live.sign(by, &story::current_id());
                }
            }
            let rebuilt = Rehearsal::rebuild(&live.events, &live.received).unwrap();
            prop_assert_eq!(&rebuilt.state, &live.state);
            for (id, r) in &live.state.reviews.reviews {
                prop_assert_eq!(r.minutes.digest(), rebuilt.state.reviews.reviews[id].minutes.digest());
            }
        }
    }

    #[test]
    fn the_story_is_admissible_from_start_to_end() {
        let today = Date::parse("today", "2026-12-01").unwrap();
        let held = today.plus_days(-5);
        let mut r = Rehearsal::founded(today);
        r.run(&story::story(held))
            .unwrap_or_else(|(i, e)| panic!("step {i}: {e}"));
        let current = &r.state.reviews.reviews[&story::current_id()];
        assert_eq!(current.minutes.inputs.len(), 10);
        assert_eq!(current.current_signatures().count(), 2);
        assert_eq!(r.state.reviews.actions.len(), 5);
    }
}
