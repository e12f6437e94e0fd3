//! Roster rules, case by case, through the same admission function the store uses.

use ledger_core::{Admission, EventId, Hash, KeyPair, Seq, UnixMicros};

use crate::*;

/// A ledger state driven event by event, as the writer drives it.
struct Sim {
    state: LedgerState,
    next: u64,
}

fn key(n: u8) -> KeyPair {
    KeyPair::from_seed([n; 32])
}

fn handle(h: &str) -> MemberId {
    MemberId::new(h).unwrap()
}

fn record(h: &str, k: u8, top: bool) -> MemberRecord {
    MemberRecord {
        handle: handle(h),
        name: format!("Member {h}"),
        role: "Head of Something".into(),
        top_management: top,
        key: key(k).public(),
    }
}

impl Sim {
    /// A ledger founded by `ceo` (key 1) with checkpoint key 100.
    fn founded() -> Sim {
        let mut sim = Sim {
            state: LedgerState::new(),
            next: 0,
        };
        sim.step(
            1,
            Payload::Genesis(Genesis {
                organisation: "Example Ltd".into(),
                founder: record("ceo", 1, true),
                checkpoint_key: key(100).public(),
                policy: Policy::default(),
            }),
        )
        .unwrap();
        sim
    }

    /// Offers an event by key `author`; applies it if admitted.
    fn step(&mut self, author: u8, payload: Payload) -> Result<EventId, Rejection> {
        let id = EventId([self.next as u8 + 1; 16]);
        let ledger = self.state.roster.ledger_id.unwrap_or(Hash::ZERO);
        let event = compose(ledger, id, &key(author), UnixMicros(0), &payload);
        let seq = Seq(self.next);
        let effect = self.state.check(
            seq,
            UnixMicros(1_764_547_200_000_000),
            &event,
            ledger_core::SignedBy::Ed25519,
        )?;
        self.state.apply(
            seq,
            Hash([self.next as u8 + 1; 32]),
            UnixMicros(1_764_547_200_000_000),
            effect,
        );
        self.next += 1;
        Ok(id)
    }

    fn enrol(&mut self, by: u8, h: &str, k: u8, top: bool) -> Result<EventId, Rejection> {
        self.step(by, Payload::Propose(RosterChange::Enrol(record(h, k, top))))
    }

    fn is_member(&self, h: &str) -> bool {
        self.state.roster.members.contains_key(&handle(h))
    }
}

/// Runs `f` on a fresh founded ledger and checks that its last step fails
/// with a message containing `expected`, leaving the state as it was.
fn refused(expected: &str, f: impl FnOnce(&mut Sim) -> Result<EventId, Rejection>) {
    let mut sim = Sim::founded();
    // Give every case a second top manager (key 2) and an ordinary member (key 3).
    sim.enrol(1, "coo", 2, true).unwrap();
    let id = sim.enrol(1, "isms", 3, false).unwrap();
    sim.step(2, Payload::Approve(id)).unwrap();
    let err = f(&mut sim).expect_err("the last step should be refused");
    assert!(
        err.to_string().contains(expected),
        "{err} should mention {expected:?}"
    );
}

#[test]
fn refusals_name_the_fault() {
    refused("not enrolled", |s| s.enrol(9, "x", 10, false));
    refused("not top management, so cannot propose", |s| {
        s.enrol(3, "x", 10, false)
    });
    refused("already on the roster", |s| {
        s.enrol(1, "coo", 10, false)
            .and_then(|id| s.step(2, Payload::Approve(id)))
    });
    refused("already enrolled (for coo)", |s| s.enrol(1, "y", 2, false));
    refused("weak", |s| {
        let mut r = record("weak", 1, false);
        let mut identity = [0u8; 32];
        identity[0] = 1;
        r.key = ledger_core::PublicKey(identity);
        s.step(1, Payload::Propose(RosterChange::Enrol(r)))
    });
    refused("already approved", |s| {
        let id = s.enrol(1, "x", 10, false)?;
        s.step(1, Payload::Approve(id))
    });
    refused("no pending roster change", |s| {
        s.step(1, Payload::Approve(EventId([0xee; 16])))
    });
    refused("not top management, so cannot approve", |s| {
        let id = s.enrol(1, "x", 10, false)?;
        s.step(3, Payload::Approve(id))
    });
    refused("genesis is only allowed as entry #0", |s| {
        s.step(
            1,
            Payload::Genesis(Genesis {
                organisation: "Again".into(),
                founder: record("ceo", 1, true),
                checkpoint_key: key(100).public(),
                policy: Policy::default(),
            }),
        )
    });
    refused("rotated away", |s| {
        s.step(
            3,
            rotation(
                s.state.roster.ledger_id.unwrap(),
                &handle("isms"),
                &key(3),
                &key(30),
            ),
        )?;
        s.enrol(3, "x", 10, false)
    });
    refused("new key's signature does not verify", |s| {
        let ledger = s.state.roster.ledger_id.unwrap();
        // Signed by a key other than the one being introduced.
        let Payload::Rotate(mut r) = rotation(ledger, &handle("isms"), &key(3), &key(31)) else {
            unreachable!()
        };
        r.new_key = key(32).public();
        s.step(3, Payload::Rotate(r))
    });
    refused("was revoked", |s| {
        s.step(
            3,
            Payload::Propose(RosterChange::Revoke {
                handle: handle("isms"),
            }),
        )?;
        s.step(
            3,
            Payload::Propose(RosterChange::Revoke {
                handle: handle("isms"),
            }),
        )
    });
    refused("would leave no top management", |s| {
        let id = s.step(
            1,
            Payload::Propose(RosterChange::Remove {
                handle: handle("coo"),
            }),
        )?;
        s.step(2, Payload::Approve(id))?;
        s.step(
            1,
            Payload::Propose(RosterChange::SetTopManagement {
                handle: handle("ceo"),
                top_management: false,
            }),
        )
    });
    refused("checkpoint key cannot sign", |s| {
        s.enrol(1, "x", 100, false)
    });
}

#[test]
fn a_roster_change_waits_for_its_quorum() {
    let mut sim = Sim::founded();
    // With one top manager, the quorum is one: enrolment is immediate.
    sim.enrol(1, "coo", 2, true).unwrap();
    assert!(sim.is_member("coo"));
    // With two, a change needs both.
    let id = sim.enrol(1, "isms", 3, false).unwrap();
    assert!(!sim.is_member("isms"));
    assert!(sim.state.roster.pending.contains_key(&id));
    // Until then the proposed member's key signs nothing.
    let err = sim.enrol(3, "x", 10, false).unwrap_err();
    assert!(matches!(err, Rejection::UnknownKey { .. }), "{err}");
    sim.step(2, Payload::Approve(id)).unwrap();
    assert!(sim.is_member("isms"));
    assert!(sim.state.roster.pending.is_empty());
}

#[test]
fn rotation_moves_signing_to_the_new_key() {
    let mut sim = Sim::founded();
    let ledger = sim.state.roster.ledger_id.unwrap();
    sim.step(1, rotation(ledger, &handle("ceo"), &key(1), &key(11)))
        .unwrap();
    assert!(sim.enrol(1, "a", 20, false).is_err());
    sim.enrol(11, "a", 20, false).unwrap();
    assert_eq!(
        sim.state.roster.members[&handle("ceo")].keys,
        [key(11).public()]
    );
    // An old key is never enrolled again, for anyone.
    let err = sim.enrol(11, "b", 1, false).unwrap_err();
    assert!(matches!(err, Rejection::KeyTaken { .. }), "{err}");
}

#[test]
fn a_revoked_member_can_be_rekeyed_by_quorum() {
    let mut sim = Sim::founded();
    sim.enrol(1, "isms", 3, false).unwrap();
    sim.step(
        3,
        Payload::Propose(RosterChange::Revoke {
            handle: handle("isms"),
        }),
    )
    .unwrap();
    assert!(sim.state.roster.members[&handle("isms")].keys.is_empty());
    sim.step(
        1,
        Payload::Propose(RosterChange::Rekey {
            handle: handle("isms"),
            key: key(33).public(),
        }),
    )
    .unwrap();
    sim.enrol(1, "other", 40, false).unwrap();
    assert!(sim.enrol(33, "x", 41, false).is_err(), "not top management");
    assert!(sim.state.roster.signer(&key(33).public()).is_ok());
}

#[test]
fn nothing_before_genesis() {
    let mut sim = Sim {
        state: LedgerState::new(),
        next: 0,
    };
    let err = sim.enrol(1, "coo", 2, true).unwrap_err();
    assert!(err.to_string().contains("no genesis"), "{err}");
    let mut bad = record("ceo", 1, true);
    bad.top_management = false;
    let err = sim
        .step(
            1,
            Payload::Genesis(Genesis {
                organisation: "X".into(),
                founder: bad,
                checkpoint_key: key(100).public(),
                policy: Policy::default(),
            }),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("founder must be top management"),
        "{err}"
    );
}

#[test]
fn handles_are_checked_on_decode_too() {
    for bad in ["", "Bad", "1abc", "a b", "x".repeat(33).as_str()] {
        assert!(MemberId::new(bad).is_err(), "{bad:?}");
        let bytes = ledger_core::codec::encode(&bad.to_owned());
        assert!(
            ledger_core::codec::decode::<MemberId>("handle", &bytes).is_err(),
            "{bad:?}"
        );
    }
    for good in ["ceo", "head-of-it", "a.b_c9"] {
        assert_eq!(MemberId::new(good).unwrap().as_str(), good);
    }
}

/// A member may hold several keys (a browser on each device, a key file):
/// each signs for them, and each is retired, rotated or revoked on its own.
#[test]
fn a_member_holds_several_keys_each_retired_on_its_own() {
    let mut sim = Sim::founded();
    sim.enrol(1, "isms", 3, false).unwrap();
    let add = |h: &str, k: u8| {
        Payload::Propose(RosterChange::AddKey {
            handle: handle(h),
            key: key(k).public(),
        })
    };
    let retire = |h: &str, k: u8| {
        Payload::Propose(RosterChange::RetireKey {
            handle: handle(h),
            key: key(k).public(),
        })
    };
    // Only top management enrols a key, even one of your own.
    let err = sim.step(3, add("isms", 4)).unwrap_err();
    assert!(matches!(err, Rejection::NotTopManagement { .. }), "{err}");
    sim.step(1, add("isms", 4)).unwrap();
    sim.step(1, add("isms", 5)).unwrap();
    assert_eq!(
        sim.state.roster.members[&handle("isms")].keys,
        [key(3).public(), key(4).public(), key(5).public()]
    );
    // Each key signs for its member.
    for k in [3, 4, 5] {
        let signer = sim.state.roster.signer(&key(k).public()).unwrap();
        assert_eq!(signer.handle, handle("isms"));
    }
    // A key enrolled once is never enrolled again, for anyone.
    let err = sim.step(1, add("ceo", 4)).unwrap_err();
    assert!(matches!(err, Rejection::KeyTaken { .. }), "{err}");
    // A member retires one of their keys at once, with any of them; the
    // others go on signing.
    sim.step(5, retire("isms", 4)).unwrap();
    assert!(matches!(
        sim.state.roster.signer(&key(4).public()),
        Err(Rejection::KeyRevoked { .. })
    ));
    assert_eq!(
        sim.state.roster.members[&handle("isms")].keys,
        [key(3).public(), key(5).public()]
    );
    // Not a key they do not hold, and not someone else's without the quorum's say.
    let err = sim.step(3, retire("isms", 4)).unwrap_err();
    assert!(err.to_string().contains("not an active key"), "{err}");
    let err = sim.step(3, retire("ceo", 1)).unwrap_err();
    assert!(matches!(err, Rejection::NotTopManagement { .. }), "{err}");
    // A rotation replaces the signing key only.
    let ledger = sim.state.roster.ledger_id.unwrap();
    sim.step(5, rotation(ledger, &handle("isms"), &key(5), &key(6)))
        .unwrap();
    assert_eq!(
        sim.state.roster.members[&handle("isms")].keys,
        [key(3).public(), key(6).public()]
    );
    // Revoking a member revokes every key they hold: they have left.
    sim.step(
        3,
        Payload::Propose(RosterChange::Revoke {
            handle: handle("isms"),
        }),
    )
    .unwrap();
    let isms = &sim.state.roster.members[&handle("isms")];
    assert!(isms.keys.is_empty() && isms.standing().left());
    for k in [3, 6] {
        assert!(
            sim.state.roster.signer(&key(k).public()).is_err(),
            "key {k}"
        );
    }
}
