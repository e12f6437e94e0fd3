//! Bad input gets a clear error and loses nothing: each refused append
//! names the fault, leaves the head where it was, and the ledger still
//! verifies afterwards. Real store on disk, real writer, real rules.

use e2e::{OpenLedger, Org, event_id, handle};
use ledger_core::{Hash, KeyPair, LedgerId, MAX_PAYLOAD, SignedEvent, UnixMicros};
use ledger_store::{SledStore, Store, verify};
use review::{LedgerState, MemberRecord, Payload, RosterChange};

/// Builds the bad event, after appending any valid events the case needs.
type Setup = fn(&Org, &OpenLedger, LedgerId) -> SignedEvent;

fn enrol(org: &Org, id: LedgerId, who: usize, n: u64, seed: u8) -> SignedEvent {
    let record = MemberRecord {
        handle: review::MemberId::new(format!("new{seed}")).unwrap(),
        name: "New Member".into(),
        role: "Analyst".into(),
        top_management: false,
        key: KeyPair::from_seed([seed; 32]).public(),
    };
    org.sign(id, who, n, &Payload::Propose(RosterChange::Enrol(record)))
}

const CASES: &[(&str, Setup, &str)] = &[
    (
        "bad signature",
        |org, _, id| {
            let mut e = enrol(org, id, 0, 100, 50);
            if let ledger_core::EventSignature::Ed25519(s) = &mut e.signature {
                s.0[10] ^= 1;
            }
            e
        },
        "does not verify",
    ),
    (
        "signature over other bytes",
        |org, _, id| {
            let mut e = enrol(org, id, 0, 100, 50);
            e.signature = enrol(org, id, 0, 101, 51).signature;
            e
        },
        "does not verify",
    ),
    (
        "unknown key",
        |_, _, id| {
            let stranger = KeyPair::from_seed([99; 32]);
            let p = Payload::Approve(event_id(1));
            review::compose(id, event_id(100), &stranger, UnixMicros(0), &p).sign(&stranger)
        },
        "is not enrolled",
    ),
    (
        "revoked key",
        |org, ledger, id| {
            ledger
                .append(org.sign(
                    id,
                    2,
                    100,
                    &Payload::Propose(RosterChange::Revoke { handle: handle(2) }),
                ))
                .unwrap();
            org.sign(id, 2, 101, &Payload::Approve(event_id(1)))
        },
        "was revoked at #",
    ),
    (
        "rotated-away key",
        |org, ledger, id| {
            let new = KeyPair::from_seed([77; 32]);
            ledger
                .append(org.sign(
                    id,
                    2,
                    100,
                    &review::rotation(id, &handle(2), &org.keys[2], &new),
                ))
                .unwrap();
            org.sign(id, 2, 101, &Payload::Approve(event_id(1)))
        },
        "rotated away at #",
    ),
    (
        "roster change without the quorum",
        |org, ledger, id| {
            // Proposed by one of two top managers: pending, so the key is not enrolled yet.
            ledger.append(enrol(org, id, 0, 100, 60)).unwrap();
            let newcomer = KeyPair::from_seed([60; 32]);
            let p = Payload::Propose(RosterChange::Revoke {
                handle: review::MemberId::new("new60").unwrap(),
            });
            review::compose(id, event_id(101), &newcomer, UnixMicros(0), &p).sign(&newcomer)
        },
        "is not enrolled",
    ),
    (
        "approval by a member who is not top management",
        |org, ledger, id| {
            ledger.append(enrol(org, id, 0, 100, 61)).unwrap();
            org.sign(id, 2, 101, &Payload::Approve(event_id(100)))
        },
        "m2 is not top management",
    ),
    (
        "replayed event id",
        |org, ledger, id| {
            let e = enrol(org, id, 0, 100, 62);
            ledger.append(e.clone()).unwrap();
            e
        },
        "already in the ledger at #",
    ),
    (
        "new event reusing an event id",
        |org, ledger, id| {
            ledger.append(enrol(org, id, 0, 100, 63)).unwrap();
            enrol(org, id, 1, 100, 64)
        },
        "already in the ledger at #",
    ),
    (
        "event for another ledger",
        |org, _, _| enrol(org, Hash([9; 32]), 0, 100, 65),
        "is for ledger 0909",
    ),
    (
        "malformed event bytes",
        |org, _, id| {
            let mut e = enrol(org, id, 0, 100, 66);
            e.event[0] = 0xff;
            e
        },
        "event.version",
    ),
    (
        "truncated event bytes",
        |org, _, id| {
            let mut e = enrol(org, id, 0, 100, 67);
            e.event.truncate(e.event.len() - 5);
            e
        },
        "cannot decode",
    ),
    (
        "trailing bytes",
        |org, _, id| {
            let mut e = enrol(org, id, 0, 100, 68);
            e.event.push(0);
            e
        },
        "trailing bytes",
    ),
    (
        "oversized payload",
        |org, _, id| {
            let mut ev = review::compose(
                id,
                event_id(100),
                &org.keys[0],
                UnixMicros(0),
                &Payload::Approve(event_id(1)),
            );
            ev.payload = vec![0; MAX_PAYLOAD + 1];
            ev.sign(&org.keys[0])
        },
        "over the limit",
    ),
    (
        "second genesis",
        |org, _, id| {
            let mut g = org.genesis();
            let ev = ledger_core::Event::decode(&g.event).unwrap();
            let again = ledger_core::Event {
                ledger: id,
                id: event_id(100),
                ..ev
            };
            g = again.sign(&org.keys[0]);
            g
        },
        "genesis is only allowed as entry #0",
    ),
];

#[test]
fn every_refusal_names_the_fault_and_keeps_the_ledger() {
    for (name, setup, expected) in CASES {
        let dir = tempfile::tempdir().unwrap();
        let org = Org::new(3);
        let (ledger, id) = org.found(dir.path()).unwrap();
        let bad = setup(&org, &ledger, id);
        let before = ledger.store().head().unwrap();
        let err = ledger.append(bad).expect_err(name).to_string();
        assert!(
            err.contains(expected),
            "{name}: {err:?} should mention {expected:?}"
        );
        assert_eq!(ledger.store().head().unwrap(), before, "{name}: head moved");
        // The writer still admits a good event after a refusal.
        ledger.append(enrol(&org, id, 0, 500, 90)).unwrap();
        ledger.close();
        drop(ledger);
        let store = SledStore::open(dir.path()).unwrap();
        let report = verify(&store, LedgerState::new(), Some(id), &mut |_, _| {}).unwrap();
        assert!(report.valid(), "{name}: {:?}", report.fault);
        assert_eq!(report.entries, before.size + 1, "{name}");
    }
}

#[test]
fn transport_bytes_are_checked_before_anything_else() {
    let org = Org::new(1);
    let bytes = org.genesis().encode();
    let check = |input: &[u8], expected: &str| {
        let err = SignedEvent::decode(input).unwrap_err().to_string();
        assert!(
            err.contains(expected),
            "{err:?} should mention {expected:?}"
        );
    };
    check(&bytes[..bytes.len() - 1], "cannot decode");
    check(&[bytes.clone(), vec![1, 2]].concat(), "2 trailing bytes");
    check(&vec![0u8; SignedEvent::MAX_LEN + 1], "over the limit");
    check(&[0xff; 16], "cannot decode");
    assert_eq!(SignedEvent::decode(&bytes).unwrap(), org.genesis());
}

#[test]
fn concurrent_copies_of_one_event_are_admitted_once() {
    let dir = tempfile::tempdir().unwrap();
    let org = Org::new(1);
    let (ledger, id) = org.found(dir.path()).unwrap();
    let ledger = std::sync::Arc::new(ledger);
    // Many rounds, each racing copies of one event, so that copies land in
    // the same batch and in consecutive batches still being written.
    for round in 0..20u8 {
        let event = enrol(&org, id, 0, 1000 + u64::from(round), 100 + round);
        let results: Vec<_> = (0..8)
            .map(|_| {
                let (ledger, event) = (ledger.clone(), event.clone());
                std::thread::spawn(move || ledger.append(event).map(|r| r.seq))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        let admitted = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(admitted, 1, "round {round}: {results:?}");
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(
                r.to_string().contains("already in the ledger"),
                "round {round}: {r}"
            );
        }
    }
    let ledger = std::sync::Arc::into_inner(ledger).unwrap();
    ledger.close();
    drop(ledger);
    let store = SledStore::open(dir.path()).unwrap();
    let report = verify(&store, LedgerState::new(), Some(id), &mut |_, _| {}).unwrap();
    assert!(report.valid(), "{:?}", report.fault);
    assert_eq!(report.entries, 1 + 20);
}
