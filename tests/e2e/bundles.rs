//! The conformance suite of evidence bundles, `tests/vectors/bundles/`.
//!
//! A ledger is built through the real store and writer from fixed keys,
//! a fixed clock and fixed event ids, so its bundles are the same bytes on
//! every run. Each case is a bundle file and the verdict an offline
//! verifier must reach (`manifest.json`); the files are compared with what
//! this test builds (`UPDATE_GOLDEN=1` rewrites them) and then verified by
//! the real binary, as an auditor would.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use e2e::run;
use ledger_core::passkey::{FLAG_USER_PRESENT, SoftAuthenticator};
use ledger_core::{
    Admission, Checkpoint, EventId, Hash, KeyPair, LedgerId, Purpose, Seq, UnixMicros,
};
use ledger_store::{Ledger, SledStore, Store, StoreNodes, replay};
use review::bundle::{self, Bundle};
use review::rehearsal::{member_key, noon};
use review::story::{self, ORGANISATION, PEOPLE, Step};
use review::vocab::{Close, Content, Decision, DecisionKind, Input, Open, Schedule, Sign};
use review::{
    Date, Genesis, InputKey, KeyPolicy, LedgerState, MemberId, MemberRecord, Payload, Policy,
    ReviewId, RosterChange,
};
use serde_json::{Value, json};
use service::pb;
use service::pb::review_service_client::ReviewServiceClient;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/bundles")
}

fn d(s: &str) -> Date {
    Date::parse("date", s).unwrap()
}

/// A ledger appended to in a fixed order with fixed ids and clock.
struct Fixed {
    ledger: Ledger<SledStore, LedgerState>,
    state: LedgerState,
    n: u64,
    tag: u8,
    checkpoints: Vec<String>,
}

impl Fixed {
    fn new(dir: &Path, tag: u8) -> Fixed {
        let checkpoint = KeyPair::from_seed([0x3f; 32]);
        let store = SledStore::create(dir, &checkpoint).unwrap();
        // One second per read of the clock, from noon on 2026-11-30 (ledger `tag` starts later).
        let t = Arc::new(AtomicI64::new(
            noon(d("2026-11-30")).0 + i64::from(tag) * 1_000_000_000,
        ));
        let clock = Box::new(move || UnixMicros(t.fetch_add(1_000_000, Ordering::SeqCst)));
        let ledger = Ledger::start(store, LedgerState::new(), checkpoint, clock).unwrap();
        Fixed {
            ledger,
            state: LedgerState::new(),
            n: 0,
            tag,
            checkpoints: Vec::new(),
        }
    }

    fn key(by: &str) -> KeyPair {
        member_key(PEOPLE.iter().position(|p| p.0 == by).unwrap())
    }

    fn append(&mut self, by: &str, payload: &Payload) {
        let mut id = [self.tag; 16];
        id[8..].copy_from_slice(&self.n.to_be_bytes());
        self.n += 1;
        let key = Fixed::key(by);
        let ledger_id = self.state.roster.ledger_id.unwrap_or(Hash::ZERO);
        let event = review::compose(ledger_id, EventId(id), &key, UnixMicros(0), payload);
        let receipt = self
            .ledger
            .append(event.sign(&key))
            .unwrap_or_else(|e| panic!("{}: {e}", review::describe::payload(payload)));
        let effect = self
            .state
            .check(
                receipt.seq,
                receipt.received,
                &event,
                ledger_core::SignedBy::Ed25519,
            )
            .unwrap();
        self.state
            .apply(receipt.seq, receipt.hash, receipt.received, effect);
        self.checkpoints.push(receipt.checkpoint);
    }

    fn sign(&mut self, by: &str, review: &ReviewId) {
        let sign = self.sign_request(review);
        self.append(by, &sign);
    }

    fn sign_request(&self, review: &ReviewId) -> Payload {
        let r = &self.state.reviews.reviews[review];
        Payload::Sign(Sign {
            review: review.clone(),
            digest: r.minutes.digest(),
            covers: r.content_head(),
        })
    }

    /// Appends `payload` signed by the passkey that `a` holds.
    fn append_by_passkey(&mut self, a: &SoftAuthenticator, payload: &Payload) {
        let mut id = [self.tag; 16];
        id[8..].copy_from_slice(&self.n.to_be_bytes());
        self.n += 1;
        let ledger_id = self.state.roster.ledger_id.unwrap_or(Hash::ZERO);
        let event = review::compose_for(
            ledger_id,
            EventId(id),
            ledger_core::Author::Passkey(a.credential.clone()),
            UnixMicros(0),
            payload,
        );
        let bytes = event.encode();
        let signed = ledger_core::SignedEvent {
            signature: ledger_core::EventSignature::Passkey(a.assert(Purpose::Event, &bytes)),
            event: bytes,
        };
        let (_, signed_by) = signed.verify_signer().unwrap();
        let receipt = self.ledger.append(signed).unwrap();
        let effect = self
            .state
            .check(receipt.seq, receipt.received, &event, signed_by)
            .unwrap();
        self.state
            .apply(receipt.seq, receipt.hash, receipt.received, effect);
        self.checkpoints.push(receipt.checkpoint);
    }

    /// Proposes `change` as `ceo` and approves it as `ops`.
    fn enact(&mut self, change: RosterChange) {
        let proposal = {
            let mut id = [self.tag; 16];
            id[8..].copy_from_slice(&self.n.to_be_bytes());
            EventId(id)
        };
        self.append("ceo", &Payload::Propose(change));
        self.append("ops", &Payload::Approve(proposal));
    }

    fn run(&mut self, steps: &[Step]) {
        for s in steps {
            match s {
                Step::Append { by, payload } => self.append(by, payload),
                Step::Sign { by, review } => self.sign(by, review),
            }
        }
    }

    fn found(&mut self) {
        let record = |i: usize| MemberRecord {
            handle: MemberId::new(PEOPLE[i].0).unwrap(),
            name: PEOPLE[i].1.into(),
            role: PEOPLE[i].2.into(),
            top_management: PEOPLE[i].3,
            key: member_key(i).public(),
        };
        self.append(
            "ceo",
            &Payload::Genesis(Genesis {
                organisation: ORGANISATION.into(),
                founder: record(0),
                checkpoint_key: KeyPair::from_seed([0x3f; 32]).public(),
                policy: Policy::default(),
            }),
        );
        self.append("ceo", &Payload::Propose(RosterChange::Enrol(record(1))));
        for i in 2..PEOPLE.len() {
            let proposal = {
                let mut id = [self.tag; 16];
                id[8..].copy_from_slice(&self.n.to_be_bytes());
                EventId(id)
            };
            self.append("ceo", &Payload::Propose(RosterChange::Enrol(record(i))));
            self.append("ops", &Payload::Approve(proposal));
        }
    }

    /// Schedules review `id`, titled `title`, and opens its meeting: the
    /// ISMS lead and the head of IT, on 2026-11-27.
    fn hold(&mut self, id: &str, title: &str) {
        let r = ReviewId::new(id).unwrap();
        let m = |h: &str| MemberId::new(h).unwrap();
        self.append(
            "isms",
            &Payload::Schedule(Content {
                review: r.clone(),
                amendment: None,
                body: Schedule {
                    title: title.into(),
                    planned: d("2026-11-27"),
                    period_start: d("2026-11-01"),
                    period_end: d("2026-11-26"),
                    chair: m("isms"),
                    expected: vec![m("isms"), m("it")],
                    previous: None,
                    part_of: None,
                },
            }),
        );
        self.append(
            "isms",
            &Payload::Open(Content {
                review: r,
                amendment: None,
                body: Open {
                    held: d("2026-11-27"),
                    chair: m("isms"),
                    present: vec![m("isms"), m("it")],
                    apologies: vec![],
                },
            }),
        );
    }

    /// A small review that only the ISMS lead signs: attended, but not top management.
    fn solo_review(&mut self, id: &str) {
        let r = ReviewId::new(id).unwrap();
        self.hold(id, "Extraordinary review after an incident");
        self.append("isms", &Payload::Input(Content { review: r.clone(), amendment: None, body: Input {
            input: InputKey::Nonconformities, summary: "One incident and its corrective action were reviewed in detail with the head of IT.".into(),
            evidence: vec![], nothing_to_report: false,
        }}));
        self.append(
            "isms",
            &Payload::Close(Content {
                review: r.clone(),
                amendment: None,
                body: Close {
                    next_review: d("2027-11-26"),
                },
            }),
        );
        self.sign("isms", &r);
    }

    /// The bundle of `review` as `export` writes it.
    fn bundle(&self, review: &str) -> Bundle {
        let store = self.ledger.store();
        let mut state = LedgerState::new();
        replay(store.as_ref(), &mut state).unwrap();
        let note = store.checkpoint().unwrap().unwrap();
        let read = |seq: Seq| -> Result<Vec<u8>, ledger_store::StoreError> {
            Ok(store.entry(seq)?.unwrap())
        };
        let review = ReviewId::new(review).unwrap();
        bundle::assemble(&state, &review, note, &read, &StoreNodes(store.as_ref())).unwrap()
    }
}

/// The main ledger: the story's two reviews, an amendment to the current
/// one signed again by both top managers, and an unrelated solo review.
fn main_ledger(dir: &Path) -> Fixed {
    let mut f = Fixed::new(dir, 1);
    f.found();
    f.run(&story::story(d("2026-11-26")));
    let current = story::current_id();
    f.append("isms", &Payload::Input(Content {
        review: current.clone(),
        amendment: Some("Risk treatment figures corrected after the meeting".into()),
        body: Input {
            input: InputKey::Risk,
            summary: "The risk treatment plan is 80 percent complete, not 90 as first minuted; two treatments slipped to the next quarter.".into(),
            evidence: vec![],
            nothing_to_report: false,
        },
    }));
    f.sign("ceo", &current);
    f.sign("ops", &current);
    f.solo_review("mr-solo");
    f
}

fn entry_kind(e: &bundle::BundleEntry) -> (Seq, String, Option<ReviewId>) {
    let entry = ledger_core::Entry::decode(&e.entry).unwrap();
    let event = ledger_core::Event::decode(&entry.event).unwrap();
    let review = review::Payload::decode(&event.kind, &event.payload)
        .unwrap()
        .review()
        .cloned();
    (entry.seq, event.kind.to_string(), review)
}

fn position(b: &Bundle, kind: &str, review: &str) -> usize {
    b.entries
        .iter()
        .position(|e| {
            let (_, k, r) = entry_kind(e);
            k == kind && r.map(|r| r.to_string()).as_deref() == Some(review)
        })
        .unwrap_or_else(|| panic!("no {kind} of {review} in the bundle"))
}

fn last_position(b: &Bundle, kind: &str, review: &str) -> usize {
    b.entries
        .iter()
        .rposition(|e| {
            let (_, k, r) = entry_kind(e);
            k == kind && r.map(|r| r.to_string()).as_deref() == Some(review)
        })
        .unwrap()
}

/// A case: file name, bundle bytes, expected verdict, what the fault names.
type Case = (&'static str, Vec<u8>, &'static str, &'static str);

/// Every case, and the ledger id they are verified against.
fn cases(tmp: &Path) -> (LedgerId, Vec<Case>) {
    let main = main_ledger(&tmp.join("main"));
    let ledger_id = main.state.roster.ledger_id.unwrap();
    let valid = main.bundle("mr-current");
    let mut out = vec![("valid.bundle", valid.to_bytes(), "holds", "")];
    let mutate = |f: &dyn Fn(&mut Bundle)| {
        let mut b = valid.clone();
        f(&mut b);
        b.to_bytes()
    };
    out.push((
        "modified-summary.bundle",
        mutate(&|b| {
            let i = position(b, "review.input", "mr-current");
            let bytes = &mut b.entries[i].entry;
            let at = bytes.len() - 120;
            bytes[at] ^= 0x20;
        }),
        "invalid",
        "entry #",
    ));
    out.push((
        "removed-input.bundle",
        mutate(&|b| {
            let i = position(b, "review.input", "mr-current");
            b.entries.remove(i);
        }),
        "invalid",
        "not admissible",
    ));
    let other = main.bundle("mr-solo");
    out.push((
        "swapped-signature.bundle",
        mutate(&|b| {
            // The current review's last signature replaced by the solo review's, proof and all.
            let i = last_position(b, "minutes.sign", "mr-current");
            let j = position(&other, "minutes.sign", "mr-solo");
            b.entries.remove(i);
            b.entries.push(other.entries[j].clone());
        }),
        "invalid",
        "",
    ));
    out.push((
        "amendment-left-out.bundle",
        mutate(&|b| {
            // The amendment and the two signatures after it: what is left replays
            // cleanly and would show minutes signed and unchanged.
            let i = b
                .entries
                .iter()
                .rposition(|e| {
                    entry_kind(e).1 == "review.input"
                        && entry_kind(e).2 == Some(story::current_id())
                })
                .unwrap();
            b.entries.drain(i..i + 3);
        }),
        "invalid",
        "entries are missing or changed",
    ));
    out.push((
        "last-signature-left-out.bundle",
        mutate(&|b| {
            let i = last_position(b, "minutes.sign", "mr-current");
            b.entries.remove(i);
        }),
        "invalid",
        "entries are missing or changed",
    ));
    out.push((
        "other-checkpoint.bundle",
        mutate(&|b| {
            b.checkpoint = main.checkpoints[main.checkpoints.len() - 3].clone();
        }),
        "invalid",
        "",
    ));
    out.push((
        "wrong-checkpoint-key.bundle",
        mutate(&|b| {
            let body = b.checkpoint.split_once("\n\n").unwrap().0.to_owned() + "\n";
            let cp = Checkpoint::parse_body(&body).unwrap();
            b.checkpoint = cp.sign(&KeyPair::from_seed([0x66; 32]));
        }),
        "invalid",
        "checkpoint",
    ));
    out.push((
        "truncated-proof.bundle",
        mutate(&|b| {
            let i = position(b, "review.decide", "mr-current");
            b.entries[i].proof.pop();
        }),
        "invalid",
        "inclusion proof",
    ));
    let mut garbage = valid.to_bytes();
    garbage.extend_from_slice(b"\x00junk");
    out.push((
        "trailing-garbage.bundle",
        garbage,
        "invalid",
        "trailing bytes",
    ));
    out.push((
        "non-top-management-signer.bundle",
        other.to_bytes(),
        "valid",
        "",
    ));
    let second = {
        let mut f = Fixed::new(&tmp.join("second"), 2);
        f.found();
        f.run(&story::story(d("2026-11-26")));
        f.bundle("mr-current")
    };
    out.push((
        "other-ledger.bundle",
        second.to_bytes(),
        "invalid",
        "not the trusted",
    ));
    out.push((
        "revoked-key-signature.bundle",
        forged_revocation(&main).to_bytes(),
        "invalid",
        "was revoked at #",
    ));
    out.push((
        "rendered-minutes.bundle",
        mutate(&|b| b.minutes_html = "<!doctype html><p>Minutes approved by all.</p>".into()),
        "invalid",
        "rendered minutes",
    ));
    out.push((
        "duplicate-subject-proof.bundle",
        mutate(&|b| {
            let first = b.subjects[0].clone();
            b.subjects.insert(1, first);
        }),
        "invalid",
        "proved twice",
    ));
    out.push((
        "unordered-subject-proofs.bundle",
        mutate(&|b| b.subjects.swap(1, 2)),
        "invalid",
        "subject order",
    ));
    out.push((
        "absent-subject-proof.bundle",
        mutate(&|b| {
            let solo = other
                .subjects
                .iter()
                .find(|p| {
                    p.subject
                        == review::subjects::Subject::Review(ReviewId::new("mr-solo").unwrap())
                })
                .unwrap()
                .clone();
            b.subjects.push(solo);
        }),
        "invalid",
        "no entries in it",
    ));
    // The solo review's bundle holds the ledger's last entry: the
    // checkpoint's head must be its hash.
    let mut wrong_head = other.clone();
    let body = wrong_head
        .checkpoint
        .split_once("\n\n")
        .unwrap()
        .0
        .to_owned()
        + "\n";
    let mut cp = Checkpoint::parse_body(&body).unwrap();
    cp.head.0[0] ^= 1;
    wrong_head.checkpoint = cp.sign(&KeyPair::from_seed([0x3f; 32]));
    out.push((
        "checkpoint-head.bundle",
        wrong_head.to_bytes(),
        "invalid",
        "is not the hash",
    ));
    // A fuzzer's regression input: an entry numbered u64::MAX.
    out.push((
        "fuzz/seq-overflow.bin",
        std::fs::read(vectors().join("fuzz/seq-overflow.bin")).unwrap(),
        "invalid",
        "is beyond the checkpoint",
    ));
    main.ledger.close();
    (ledger_id, out)
}

/// What a hostile operator holding the checkpoint key could build: the
/// main ledger's history rewritten so that the operations director's
/// genuine revocation of their own key comes just before their signature
/// on the current minutes, re-chained, re-proved and re-signed. Only the
/// rules, replayed by the verifier, can refuse it.
fn forged_revocation(main: &Fixed) -> Bundle {
    use ledger_core::{Entry, MemoryTree};
    use review::subjects::{Subject, Subjects};
    let store = main.ledger.store();
    let mut state = LedgerState::new();
    replay(store.as_ref(), &mut state).unwrap();
    // The subject of each entry, from each subject's list of entries.
    let mut subject_of = vec![Subject::Roster; state.size as usize];
    for (subject, _) in state.subjects.iter() {
        for seq in state.subjects.seqs(subject) {
            subject_of[seq.0 as usize] = subject.clone();
        }
    }
    let stored: Vec<Entry> = (0..state.size)
        .map(|i| Entry::decode(&store.entry(Seq(i)).unwrap().unwrap()).unwrap())
        .collect();
    let ops = Fixed::key("ops");
    let ops_sign = stored
        .iter()
        .position(|e| {
            let ev = ledger_core::Event::decode(&e.event).unwrap();
            ev.author.key() == ops.public() && ev.kind.as_str() == "minutes.sign" && {
                let p = Payload::decode(&ev.kind, &ev.payload).unwrap();
                p.review() == Some(&story::current_id())
            }
        })
        .unwrap();
    let revoke = review::compose(
        main.state.roster.ledger_id.unwrap(),
        EventId([0xfe; 16]),
        &ops,
        UnixMicros(0),
        &Payload::Propose(RosterChange::Revoke {
            handle: MemberId::new("ops").unwrap(),
        }),
    )
    .sign(&ops);
    let mut events: Vec<(ledger_core::SignedEvent, UnixMicros, Subject)> = stored
        .iter()
        .zip(&subject_of)
        .map(|(e, s)| (e.signed_event(), e.received, s.clone()))
        .collect();
    events.insert(
        ops_sign,
        (revoke, stored[ops_sign].received, Subject::Roster),
    );
    let (mut prev, mut tree, mut subjects, mut entries) = (
        Hash::ZERO,
        MemoryTree::default(),
        Subjects::default(),
        Vec::new(),
    );
    for (seq, (signed, received, subject)) in events.into_iter().enumerate() {
        let entry = Entry {
            seq: Seq(seq as u64),
            prev,
            received,
            event: signed.event,
            signature: signed.signature,
        };
        prev = entry.hash();
        tree.push(&prev);
        subjects.push(subject.clone(), entry.seq, &prev);
        entries.push((entry, subject));
    }
    let last = &entries.last().unwrap().0;
    let cp = Checkpoint {
        ledger_id: entries[0].0.hash(),
        size: tree.size(),
        root: tree.root(),
        head: last.hash(),
        time: last.received,
        subjects: Some(subjects.root()),
    };
    let needed = [
        Subject::Roster,
        Subject::Review(story::previous_id()),
        Subject::Review(story::current_id()),
    ];
    Bundle {
        version: bundle::BUNDLE_VERSION,
        ledger_id: cp.ledger_id,
        review: story::current_id(),
        checkpoint: cp.sign(&KeyPair::from_seed([0x3f; 32])),
        entries: entries
            .iter()
            .filter(|(_, s)| needed.contains(s))
            .map(|(e, _)| bundle::BundleEntry {
                entry: e.encode(),
                proof: ledger_core::merkle::prove_inclusion(&tree, e.seq.0, tree.size())
                    .unwrap()
                    .path,
            })
            .collect(),
        subjects: needed.iter().map(|s| subjects.prove(s).unwrap()).collect(),
        minutes_html: String::new(),
    }
}

const RP: &str = "review.northwind.example";
const ORIGIN: &str = "https://review.northwind.example";

/// A ledger whose key policy counts only user-verified passkeys for the
/// minutes: the story, with the current minutes signed by the two top
/// managers' passkeys; the operations director's first signature was made
/// without user verification, and they signed again with it. Returns the
/// bundle as it stood between their two signatures, too.
fn passkey_ledger(dir: &Path, tag: u8) -> (Fixed, SoftAuthenticator, Bundle) {
    let mut f = Fixed::new(dir, tag);
    f.found();
    let ceo = SoftAuthenticator::new([0xc1; 32], RP, ORIGIN);
    let mut ops = SoftAuthenticator::new([0xc2; 32], RP, ORIGIN);
    for (handle, a) in [("ceo", &ceo), ("ops", &ops)] {
        f.enact(RosterChange::AddPasskey {
            handle: MemberId::new(handle).unwrap(),
            credential: a.credential.clone(),
        });
    }
    f.enact(RosterChange::SetKeyPolicy(
        KeyPolicy::VerifiedPasskeyForMinutes,
    ));
    let current = story::current_id();
    let steps: Vec<Step> = story::story(d("2026-11-26"))
        .into_iter()
        .filter(|s| !matches!(s, Step::Sign { review, .. } if *review == current))
        .collect();
    f.run(&steps);
    let sign = f.sign_request(&current);
    f.append_by_passkey(&ceo, &sign);
    let verified = ops.flags;
    ops.flags = FLAG_USER_PRESENT;
    f.append_by_passkey(&ops, &sign);
    let unverified = f.bundle("mr-current");
    ops.flags = verified;
    f.append_by_passkey(&ops, &sign);
    (f, ops, unverified)
}

/// The passkey suite (`tests/vectors/bundles/passkeys/`): a review signed
/// with passkeys, and the assertions a verifier must refuse.
fn passkey_cases(tmp: &Path) -> (LedgerId, Vec<Case>) {
    let (main, ops, unverified) = passkey_ledger(&tmp.join("passkeys"), 3);
    let ledger_id = main.state.roster.ledger_id.unwrap();
    let valid = main.bundle("mr-current");
    let mut out = vec![("valid.bundle", valid.to_bytes(), "holds", "")];
    // The operations director's signature, its assertion replaced.
    let reassert = |make: &dyn Fn(&[u8]) -> ledger_core::Assertion| {
        let mut b = valid.clone();
        let i = last_position(&b, "minutes.sign", "mr-current");
        let mut entry = ledger_core::Entry::decode(&b.entries[i].entry).unwrap();
        entry.signature = ledger_core::EventSignature::Passkey(make(&entry.event));
        b.entries[i].entry = entry.encode();
        b.to_bytes()
    };
    out.push((
        "challenge-of-another-event.bundle",
        reassert(&|_| ops.assert(Purpose::Event, b"another event")),
        "invalid",
        "challenge",
    ));
    let elsewhere = SoftAuthenticator::new([0xc2; 32], "evil.example", ORIGIN);
    out.push((
        "rp-id-of-another-site.bundle",
        reassert(&|event| {
            ops.assert_raw(
                elsewhere.authenticator_data(),
                ops.client_data(&ledger_core::passkey::challenge(Purpose::Event, event)),
            )
        }),
        "invalid",
        "another relying party",
    ));
    out.push((
        "signature-over-other-client-data.bundle",
        reassert(&|event| {
            let mut a = ops.assert(Purpose::Event, event);
            let text = String::from_utf8(a.client_data_json).unwrap();
            a.client_data_json = text
                .replace("\"crossOrigin\":false", "\"crossOrigin\":false ")
                .into_bytes();
            a
        }),
        "invalid",
        "does not verify",
    ));
    // The bundle before the second signature: valid evidence of a review
    // whose only top-management signature by `ops` does not count.
    out.push((
        "user-not-verified.bundle",
        unverified.to_bytes(),
        "valid",
        "",
    ));
    main.ledger.close();
    (ledger_id, out)
}

/// Writes (with `UPDATE_GOLDEN`) or compares a suite's files and manifest,
/// then verifies every file with the real binary.
fn check_suite(dir: &Path, ledger_id: LedgerId, cases: &[Case]) {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let manifest = json!({
        "trust": ledger_id.to_hex(),
        "verify_as_of": "2026-12-01",
        "cases": cases.iter().map(|(file, _, expect, fault)| json!({"file": file, "expect": expect, "fault_mentions": fault})).collect::<Vec<_>>(),
    });
    if update {
        std::fs::create_dir_all(dir).unwrap();
        for (file, bytes, _, _) in cases {
            std::fs::write(dir.join(file), bytes).unwrap();
        }
        std::fs::write(
            dir.join("manifest.json"),
            serde_json::to_string_pretty(&manifest).unwrap() + "\n",
        )
        .unwrap();
    }
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        stored, manifest,
        "manifest.json differs: a changed bundle vector is a format break (UPDATE_GOLDEN=1 rewrites)"
    );
    for (file, bytes, expect, fault) in cases {
        let path = dir.join(file);
        let on_disk = std::fs::read(&path).unwrap();
        assert!(
            on_disk == *bytes,
            "{file} differs from what the ledger builds: a changed bundle vector is a format break"
        );
        let (code, stdout, stderr) = run(&[
            "verify-bundle",
            path.to_str().unwrap(),
            "--trust",
            &ledger_id.to_hex(),
            "--json",
        ])
        .unwrap();
        assert!(!stderr.contains("panicked"), "{file}: {stderr}");
        let v: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        match *expect {
            "holds" => assert_eq!(
                (code, v["holds"].as_bool()),
                (0, Some(true)),
                "{file}: {stdout}{stderr}"
            ),
            "valid" => {
                assert_eq!(
                    (code, v["valid"].as_bool(), v["holds"].as_bool()),
                    (1, Some(true), Some(false)),
                    "{file}: {stdout}"
                )
            }
            _ => {
                assert_eq!(
                    (code, v["valid"].as_bool()),
                    (1, Some(false)),
                    "{file}: {stdout}{stderr}"
                );
                let why = v["fault"].as_str().unwrap_or_default();
                assert!(
                    why.contains(fault),
                    "{file}: {why:?} should mention {fault:?}"
                );
            }
        }
    }
}

#[test]
fn the_passkey_bundle_suite_gives_every_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let (ledger_id, cases) = passkey_cases(tmp.path());
    let dir = vectors().join("passkeys");
    check_suite(&dir, ledger_id, &cases);
    // What an auditor reads: who signed, and with what.
    let (_, stdout, _) = run(&[
        "verify-bundle",
        dir.join("valid.bundle").to_str().unwrap(),
        "--trust",
        &ledger_id.to_hex(),
    ])
    .unwrap();
    assert!(stdout.contains("passkey, user verified"), "{stdout}");
    let (_, stdout, _) = run(&[
        "verify-bundle",
        dir.join("user-not-verified.bundle").to_str().unwrap(),
        "--trust",
        &ledger_id.to_hex(),
    ])
    .unwrap();
    assert!(
        stdout.contains("passkey, user not verified")
            && stdout
                .contains("requires that minutes are signed with a passkey that verified the user"),
        "{stdout}"
    );
}

#[test]
fn the_bundle_suite_gives_every_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let (ledger_id, cases) = cases(tmp.path());
    check_suite(&vectors(), ledger_id, &cases);
}

#[test]
fn damaged_and_hostile_bundles_are_refused_with_a_message() {
    let valid = std::fs::read(vectors().join("valid.bundle")).unwrap();
    let trust = serde_json::from_str::<Value>(
        &std::fs::read_to_string(vectors().join("manifest.json")).unwrap(),
    )
    .unwrap()["trust"]
        .as_str()
        .unwrap()
        .to_owned();
    let magic = bundle::MAGIC.len();
    let mut huge_length = valid.clone();
    // The checkpoint's length field (after version, ledger id and the review id string).
    let at = magic + 2 + 32 + 8 + "mr-current".len();
    huge_length[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    let mut wrong_version = valid.clone();
    wrong_version[magic] = 2;
    let mut wrong_magic = valid.clone();
    wrong_magic[0] = b'R';
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "not a review-ledger bundle"),
        ("magic only", bundle::MAGIC.to_vec(), "cannot decode"),
        (
            "truncated in the middle",
            valid[..valid.len() / 2].to_vec(),
            "cannot decode",
        ),
        (
            "truncated by one byte",
            valid[..valid.len() - 1].to_vec(),
            "cannot decode",
        ),
        ("huge length field", huge_length, "cannot decode"),
        ("wrong version", wrong_version, "version 2"),
        ("wrong magic", wrong_magic, "does not start with"),
        (
            "random bytes",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
            "not a review-ledger bundle",
        ),
    ];
    // Inputs the fuzzer found panicking once, kept as regressions (with and without the magic).
    let mut cases = cases;
    // Every byte is checked: one flipped anywhere in the body is refused.
    for tenth in 1..10 {
        let mut flipped = valid.clone();
        let at = magic + (valid.len() - magic) * tenth / 10;
        flipped[at] ^= 0x01;
        cases.push(("a flipped byte", flipped, "INVALID"));
    }
    for e in std::fs::read_dir(vectors().join("fuzz")).unwrap() {
        let raw = std::fs::read(e.unwrap().path()).unwrap();
        cases.push(("fuzz regression", raw.clone(), ""));
        cases.push((
            "fuzz regression",
            [bundle::MAGIC.as_slice(), &raw].concat(),
            "",
        ));
    }
    let tmp = tempfile::tempdir().unwrap();
    for (name, bytes, expected) in cases {
        let path = tmp.path().join("b");
        std::fs::write(&path, bytes).unwrap();
        let (code, stdout, stderr) =
            run(&["verify-bundle", path.to_str().unwrap(), "--trust", &trust]).unwrap();
        assert_eq!(code, 1, "{name}: {stdout}{stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(
            stdout.contains(expected),
            "{name}: {stdout:?} should mention {expected:?}"
        );
    }
}

/// An HTML page as its words: tags dropped (blocks and cells apart, inline
/// elements not), entities decoded, whitespace squashed.
fn words(html: &str) -> String {
    let mut out = String::new();
    let mut tag: Option<String> = None;
    for c in html.chars() {
        match (&mut tag, c) {
            (None, '<') => tag = Some(String::new()),
            (Some(t), '>') => {
                let name = t.trim_start_matches('/').split(' ').next().unwrap_or("");
                if !matches!(name, "span" | "code" | "strong" | "a") {
                    out.push(' ');
                }
                tag = None;
            }
            (Some(t), c) => t.push(c),
            (None, c) => out.push(c),
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first line of text in the page's body, and its `<title>`.
fn first_line_and_title(html: &str) -> (String, String) {
    let body = html.split("<body>").nth(1).unwrap_or_default();
    let first = body
        .lines()
        .map(words)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let title = html
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .map(words)
        .unwrap_or_default();
    (first, title)
}

#[test]
fn verify_bundle_writes_the_auditors_report() {
    let dir = vectors();
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let trust = manifest["trust"].as_str().unwrap().to_owned();
    let tmp = tempfile::tempdir().unwrap();
    let verify = |bundle: &str, extra: &[&str]| {
        let path = dir.join(bundle);
        let mut args = vec![
            "verify-bundle",
            path.to_str().unwrap(),
            "--trust",
            &trust,
            "--json",
        ];
        args.extend(extra);
        let (code, stdout, stderr) = run(&args).unwrap();
        assert!(!stderr.contains("panicked"), "{bundle}: {stderr}");
        (
            code,
            serde_json::from_str::<Value>(&stdout).unwrap_or(Value::Null),
            stderr,
        )
    };

    // A valid bundle whose review holds.
    let report = tmp.path().join("valid.html");
    let (code, v, stderr) = verify("valid.bundle", &["--html", report.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}{stderr}");
    assert_eq!(v["html"].as_str(), report.to_str());
    let html = std::fs::read_to_string(&report).unwrap();
    let (first, title) = first_line_and_title(&html);
    assert!(
        first.starts_with(
            "VERIFIED: the minutes of review mr-current of Northwind Analytics Ltd hold."
        ),
        "{first}"
    );
    assert!(title.starts_with("VERIFIED: "), "{title}");
    let r = &v["report"];
    let digest = r["audit"]["digest"].as_str().unwrap();
    let all = words(&html);
    let mut expected = vec![
        format!("Trusted ledger id {trust}"),
        format!("Minutes digest {digest}"),
        format!("{} entries, signed", r["checkpoint_size"].as_u64().unwrap()),
        "Checks made".into(),
        format!(
            "Every one of the {} entries decoded canonically, and its author's ed25519 signature verified",
            r["entries"]
        ),
        "The entries are chained".into(),
        format!(
            "The checkpoint of {} entries is signed by the checkpoint key that genesis names",
            r["checkpoint_size"]
        ),
        format!(
            "Every one of the {} entries is proved by inclusion in the signed checkpoint",
            r["entries"]
        ),
        "the roster, review mr-current, review mr-prev".into(),
        "The admission rules were replayed".into(),
        "judged by the roster as at each event".into(),
        "Top management signed the current minutes: 2 of the 2 signatures required".into(),
        format!("The {} conformance rules", review::conformance::RULES.len()),
        "Signatures on the minutes".into(),
    ];
    // Each signature on the current minutes: name, role, top management
    // when signing, key fingerprint.
    for (i, who) in [(0, "ceo"), (1, "ops"), (0, "ceo"), (1, "ops")] {
        let (handle, name, role, top) = PEOPLE[i];
        assert_eq!(handle, who);
        expected.push(format!(
            "{name} {role} {} {}",
            if top { "yes" } else { "no" },
            review::rehearsal::member_key(i).public().fingerprint()
        ));
    }
    expected.extend([
        "Changes after signing".into(),
        "input risk".into(),
        "Risk treatment figures corrected after the meeting".into(),
        "yes, at #".into(),
        "Conformance findings".into(),
        "Passed: 0 nonconformities".into(),
        "The minutes".into(),
        "Inputs considered (clause 9.3.2)".into(),
    ]);
    let mut from = 0;
    for needle in &expected {
        let at = all[from..].find(needle.as_str()).unwrap_or_else(|| {
            panic!("the report lacks {needle:?} (or has it out of order):\n{all}")
        });
        from += at;
    }
    for absent in ["DOES NOT HOLD", "FAILED", "NOT signed again"] {
        assert!(!all.contains(absent), "the report says {absent:?}");
    }
    // Printed, every page names the organisation, the review and the minutes digest.
    assert!(
        html.contains(
            "@top-left { content: \"Northwind Analytics Ltd \\b7  review mr-current\"; }"
        )
    );
    assert!(html.contains(&format!(
        "@top-right {{ content: \"minutes digest {digest}\"; }}"
    )));
    assert!(html.contains("counter(page)"));

    // Valid evidence of a review that does not hold: the report is written.
    let report = tmp.path().join("solo.html");
    let (code, v, _) = verify(
        "non-top-management-signer.bundle",
        &["--html", report.to_str().unwrap()],
    );
    assert_eq!((code, v["valid"].as_bool()), (1, Some(true)), "{v}");
    let html = std::fs::read_to_string(&report).unwrap();
    let (first, _) = first_line_and_title(&html);
    assert!(
        first.starts_with("VALID EVIDENCE, BUT THE REVIEW DOES NOT HOLD: "),
        "{first}"
    );
    assert!(
        words(&html).contains("no member of top management is recorded present"),
        "{first}"
    );

    // An invalid bundle: nothing is written unless asked, and an existing
    // file is left as it was.
    let report = tmp.path().join("invalid.html");
    let absent = tmp.path().join("absent.html");
    std::fs::write(&report, "an earlier report").unwrap();
    for path in [&report, &absent] {
        let (code, v, _) = verify(
            "truncated-proof.bundle",
            &["--html", path.to_str().unwrap()],
        );
        assert_eq!((code, v["valid"].as_bool()), (1, Some(false)), "{v}");
        assert!(v["html"].is_null(), "{v}");
    }
    assert_eq!(
        std::fs::read_to_string(&report).unwrap(),
        "an earlier report"
    );
    assert!(
        !absent.exists(),
        "a report was written for an invalid bundle"
    );

    // Asked, the report says on its first line that verification failed.
    let (code, v, _) = verify(
        "truncated-proof.bundle",
        &["--html", report.to_str().unwrap(), "--html-on-failure"],
    );
    assert_eq!((code, v["valid"].as_bool()), (1, Some(false)), "{v}");
    assert_eq!(v["html"].as_str(), report.to_str());
    let html = std::fs::read_to_string(&report).unwrap();
    let (first, title) = first_line_and_title(&html);
    assert!(
        first.starts_with("VERIFICATION FAILED: the bundle "),
        "{first}"
    );
    assert!(
        first.contains("truncated-proof.bundle is not valid evidence"),
        "{first}"
    );
    assert!(title.starts_with("VERIFICATION FAILED: "), "{title}");
    let all = words(&html);
    let fault = v["fault"].as_str().unwrap();
    assert!(fault.contains("inclusion proof"), "{fault}");
    for needle in [
        format!("Fault {fault}"),
        format!("Trusted ledger id {trust}"),
        format!("Ledger the bundle names {trust}"),
        "Review the bundle names mr-current (unverified)".into(),
    ] {
        assert!(all.contains(&needle), "the report lacks {needle:?}:\n{all}");
    }
    for absent in [
        "VERIFIED:",
        "Signatures on the minutes",
        "Inputs considered",
    ] {
        assert!(!all.contains(absent), "a failed report says {absent:?}");
    }

    // --html-on-failure names where to write only with --html.
    let (code, _, stderr) = verify("valid.bundle", &["--html-on-failure"]);
    assert_eq!(code, 2, "{stderr}");
}

/// A review whose bundle would be over the format's 4 MiB limit is not
/// exported: `export` says how large it would be and how many reviews it
/// carries, and writes nothing.
#[test]
fn a_bundle_over_the_format_limit_is_refused_and_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let mut f = Fixed::new(&dir, 7);
    f.found();
    f.hold("mr-long", "A review minuted at great length");
    let decide = |text: &str| {
        Payload::Decide(Content {
            review: ReviewId::new("mr-long").unwrap(),
            amendment: None,
            body: Decision {
                kind: DecisionKind::Other,
                text: text.into(),
                inputs: vec![],
            },
        })
    };
    // 16 KiB decisions (the longest text) until the entries pass 4 MiB.
    let text = "The board discussed the matter at length. ".repeat(390);
    for _ in 0..(4 * 1024 * 1024 / text.len() + 8) {
        f.append("isms", &decide(&text));
    }
    let ledger_id = f.state.roster.ledger_id.unwrap().to_hex();
    drop(f);
    let out = tmp.path().join("long.bundle");
    let ledger = dir.to_str().unwrap();
    let refused = |err: &str| {
        for part in [
            "the bundle of review mr-long would encode to ",
            "bytes after its magic line, over the bundle format's limit of 4194304",
            "every review held before it or that it reports on, 1 in all",
        ] {
            assert!(err.contains(part), "{part:?} in {err}");
        }
        assert!(!out.exists(), "nothing written");
    };
    let export = |place: &[&str]| {
        let mut args = vec![
            "export",
            "--review",
            "mr-long",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(place);
        run(&args).unwrap()
    };
    let (code, _, err) = export(&["--ledger", ledger]);
    assert_eq!(code, 2, "nothing judged: {err}");
    refused(&err);
    // The ledger is as it was.
    let (code, _, err) = run(&["verify", "--ledger", ledger]).unwrap();
    assert_eq!(code, 0, "{err}");

    // A server refuses it too (GetBundle), and still judges the review
    // where it builds its bundle (VerifyReview), which no file limit binds.
    let server = crate::service::Server::start(&[&dir], "127.0.0.1:0", &[]);
    let (code, _, err) = export(&["--server", &server.url(), "--ledger-id", &ledger_id]);
    assert_eq!(code, 2, "nothing judged: {err}");
    assert!(err.contains("FailedPrecondition"), "{err}");
    refused(&err);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let reply = runtime.block_on(async {
        let mut client = ReviewServiceClient::connect(server.url()).await.unwrap();
        let request = pb::VerifyReviewRequest {
            ledger_id: ledger_id.clone(),
            review: "mr-long".into(),
            whole_ledger: false,
        };
        client.verify_review(request).await.map(|r| r.into_inner())
    });
    let reply = reply.unwrap_or_else(|s| panic!("VerifyReview: {s:?}"));
    assert!(
        reply.valid && reply.audit.is_some(),
        "the review is judged: {reply:?}"
    );
}
