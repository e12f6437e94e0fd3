//! Golden vectors of the review domain's hashes and signatures: the minutes
//! digest, the subject chain and leaf, and the key-rotation statement.
//!
//! Like `ledger-core`'s `tests/golden.rs` for `tests/vectors/core.json`:
//! `build` makes every vector from fixed values through the real code, and
//! `tests/vectors/review.json` at the workspace root is the committed copy.
//! With `UPDATE_GOLDEN=1` the test writes that file; without it, any
//! difference fails, because a changed vector means signed minutes and
//! checkpoints written before the change no longer verify. The other tests
//! re-check the committed file from the definitions in docs/FORMAT.md.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use ed25519_dalek::VerifyingKey;
use ledger_core::{Hash, KeyPair, PublicKey, Purpose, Seq, Signature, codec};
use review::minutes::{MINUTES_CONTEXT, Recorded};
use review::subjects::{CHAIN_CONTEXT, LEAF_CONTEXT, Subject, Subjects, Tip};
use review::vocab::{
    Act, ActionState, ActionStatus, Assess, Circulate, Close, Decision, DecisionKind, Document,
    Evidence, Input, Objective, Open, Schedule,
};
use review::{
    ActionId, Date, InputKey, MemberId, Minutes, ObjectiveId, Payload, ReviewId, RosterChange,
    RotationStatement,
};
use serde_json::{Value, json};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/vectors/review.json"
);

/// The keys of `core.json`: author A (seed `01` x 32) rotates to author B's key
/// (seed `02` x 32).
const OLD_SEED: [u8; 32] = [1; 32];
const NEW_SEED: [u8; 32] = [2; 32];
/// A fixed ledger id for the rotation statement.
const LEDGER: Hash = Hash([0x1d; 32]);

// ---------------------------------------------------------------------------
// Building the vectors.

fn hx(bytes: impl AsRef<[u8]>) -> Value {
    Value::String(hex::encode(bytes))
}

fn context(text: &[u8]) -> Value {
    json!({ "text": String::from_utf8(text.to_vec()).unwrap(), "hex": hx(text) })
}

fn date(text: &str) -> Date {
    Date::parse("date", text).unwrap()
}

fn member(h: &str) -> MemberId {
    MemberId::new(h).unwrap()
}

fn rec<T>(seq: u64, by: &str, item: T) -> Recorded<T> {
    Recorded {
        seq: Seq(seq),
        by: member(by),
        item,
    }
}

/// The smallest minutes: a review just scheduled. Section 12.4's example.
fn scheduled() -> Minutes {
    Minutes::new(
        ReviewId::new("2026").unwrap(),
        rec(
            5,
            "isms",
            Schedule {
                title: "Annual ISMS review".into(),
                planned: date("2026-11-26"),
                period_start: date("2025-11-27"),
                period_end: date("2026-11-25"),
                chair: member("ceo"),
                expected: vec![member("ceo"), member("isms")],
                previous: None,
                part_of: None,
            },
        ),
    )
}

/// Minutes with every field present, so that the digest freezes the
/// encoding of every review payload and of each map.
fn complete() -> Minutes {
    let mut m = scheduled();
    m.schedule.item.previous = Some(ReviewId::new("2025").unwrap());
    m.schedule.item.part_of = Some("Board meeting, November".into());
    m.pack = Some(rec(
        6,
        "isms",
        Circulate {
            circulated: date("2026-11-17"),
            documents: vec![Document {
                title: "Internal audit summary".into(),
                location: "DMS-1234".into(),
                digest: Hash(*blake3::hash(b"audit summary").as_bytes()),
            }],
        },
    ));
    m.meeting = Some(rec(
        7,
        "isms",
        Open {
            held: date("2026-11-26"),
            chair: member("ceo"),
            present: vec![member("ceo"), member("isms")],
            apologies: vec![member("ops")],
        },
    ));
    m.inputs = BTreeMap::from([
        (
            InputKey::Risk,
            rec(
                8,
                "isms",
                Input {
                    input: InputKey::Risk,
                    summary: "Two risks above appetite; treatment on plan.".into(),
                    evidence: vec![
                        Evidence {
                            title: "Risk register".into(),
                            location: "https://dms.example/doc?id=42".into(),
                            digest: Some(Hash(*blake3::hash(b"risk register").as_bytes())),
                        },
                        Evidence {
                            title: "Treatment plan".into(),
                            location: "SharePoint: ISMS/Risk/plan.docx".into(),
                            digest: None,
                        },
                    ],
                    nothing_to_report: false,
                },
            ),
        ),
        (
            InputKey::InterestedPartyFeedback,
            rec(
                9,
                "isms",
                Input {
                    input: InputKey::InterestedPartyFeedback,
                    summary: "No feedback was received in the period.".into(),
                    evidence: vec![],
                    nothing_to_report: true,
                },
            ),
        ),
    ]);
    let a1 = ActionId::new("2025-a1").unwrap();
    let a2 = ActionId::new("2025-a2").unwrap();
    m.action_statuses = BTreeMap::from([
        (
            a1.clone(),
            rec(
                10,
                "isms",
                ActionStatus {
                    action: a1,
                    status: ActionState::Completed,
                    note: "Closed in June.".into(),
                },
            ),
        ),
        (
            a2.clone(),
            rec(
                11,
                "isms",
                ActionStatus {
                    action: a2,
                    status: ActionState::Overdue {
                        revised_due: date("2027-01-31"),
                        owner: member("it"),
                    },
                    note: "Supplier delay.".into(),
                },
            ),
        ),
    ]);
    m.decisions = vec![rec(
        12,
        "isms",
        Decision {
            kind: DecisionKind::Resources,
            text: "The ISMS is adequately resourced.".into(),
            inputs: vec![InputKey::Risk, InputKey::Monitoring],
        },
    )];
    let act = ActionId::new("2026-a1").unwrap();
    m.actions = BTreeMap::from([(
        act.clone(),
        rec(
            13,
            "isms",
            Act {
                action: act,
                owner: member("isms"),
                due: date("2027-02-01"),
                text: "Bring the two risks within appetite.".into(),
                decision: Some(1),
            },
        ),
    )]);
    let o1 = ObjectiveId::new("obj-2025-1").unwrap();
    m.assessments = BTreeMap::from([(
        o1.clone(),
        rec(
            14,
            "isms",
            Assess {
                objective: o1,
                met: false,
                why: "Phishing click rate 6%, target 5%.".into(),
            },
        ),
    )]);
    let o2 = ObjectiveId::new("obj-2026-1").unwrap();
    m.objectives = BTreeMap::from([(
        o2.clone(),
        rec(
            15,
            "isms",
            Objective {
                objective: o2,
                text: "Phishing click rate under 5%".into(),
                owner: member("hr"),
                measure: "Quarterly simulation".into(),
                target: "Under 5% in each quarter".into(),
                due: date("2027-11-30"),
            },
        ),
    )]);
    m.close = Some(rec(
        16,
        "isms",
        Close {
            next_review: date("2027-11-25"),
        },
    ));
    m
}

fn string(s: &str) -> Vec<u8> {
    [&(s.len() as u64).to_le_bytes()[..], s.as_bytes()].concat()
}

/// The scheduled minutes field by field, written by hand from docs/FORMAT.md
/// sections 3.1, 12.3 and 12.4.
fn scheduled_layout(m: &Minutes) -> Vec<(&'static str, Vec<u8>)> {
    let s = &m.schedule.item;
    let mut expected = (s.expected.len() as u64).to_le_bytes().to_vec();
    for e in &s.expected {
        expected.extend(string(e.as_str()));
    }
    vec![
        ("review (string)", string(m.review.as_str())),
        (
            "schedule.seq (u64 LE)",
            m.schedule.seq.0.to_le_bytes().to_vec(),
        ),
        ("schedule.by (string)", string(m.schedule.by.as_str())),
        ("schedule.item.title (string)", string(&s.title)),
        (
            "schedule.item.planned (string)",
            string(&s.planned.to_string()),
        ),
        (
            "schedule.item.period_start (string)",
            string(&s.period_start.to_string()),
        ),
        (
            "schedule.item.period_end (string)",
            string(&s.period_end.to_string()),
        ),
        ("schedule.item.chair (string)", string(s.chair.as_str())),
        ("schedule.item.expected (vec of strings)", expected),
        ("schedule.item.previous (none)", vec![0]),
        ("schedule.item.part_of (none)", vec![0]),
        ("pack (none)", vec![0]),
        ("meeting (none)", vec![0]),
        ("inputs (empty map)", 0u64.to_le_bytes().to_vec()),
        ("action_statuses (empty map)", 0u64.to_le_bytes().to_vec()),
        ("decisions (empty vec)", 0u64.to_le_bytes().to_vec()),
        ("actions (empty map)", 0u64.to_le_bytes().to_vec()),
        ("assessments (empty map)", 0u64.to_le_bytes().to_vec()),
        ("objectives (empty map)", 0u64.to_le_bytes().to_vec()),
        ("close (none)", vec![0]),
    ]
}

fn layout_json(layout: &[(&'static str, Vec<u8>)]) -> Value {
    Value::Array(
        layout
            .iter()
            .map(|(name, bytes)| json!([name, hex::encode(bytes)]))
            .collect(),
    )
}

fn minutes_json(m: &Minutes) -> Value {
    let bytes = codec::encode(m);
    json!({
        "fields": serde_json::to_value(m).unwrap(),
        "input": hx(&bytes),
        "digest": hx(m.digest().0),
    })
}

/// The entries of the subject example: (subject, seq, entry hash). Any
/// 32 bytes do as entry hashes here; these are `a0` x 32, `a1` x 32, ...
fn subject_entries() -> Vec<(Subject, u64, Hash)> {
    let review = Subject::Review(ReviewId::new("2026").unwrap());
    vec![
        (Subject::Roster, 0, Hash([0xa0; 32])),
        (Subject::Roster, 1, Hash([0xa1; 32])),
        (review, 2, Hash([0xa2; 32])),
    ]
}

/// Each subject's chain step by step, its leaf and its proof in the map.
fn subjects_json() -> Value {
    let entries = subject_entries();
    let mut map = Subjects::default();
    for (subject, seq, hash) in &entries {
        map.push(subject.clone(), Seq(*seq), hash);
    }
    let subjects: Vec<Value> = map
        .iter()
        .map(|(subject, final_tip)| {
            let encoded = codec::encode(subject);
            let mut tip = Tip::start(subject);
            let mut chain = vec![json!({ "input": hx(&encoded), "output": hx(tip.chain.0) })];
            for (_, seq, hash) in entries.iter().filter(|(s, _, _)| s == subject) {
                let input = [&tip.chain.0[..], &seq.to_le_bytes(), &hash.0].concat();
                tip.push(Seq(*seq), hash);
                chain.push(json!({
                    "seq": seq,
                    "entry_hash": hx(hash.0),
                    "input": hx(&input),
                    "output": hx(tip.chain.0),
                }));
            }
            assert_eq!(&tip, final_tip);
            let leaf_input = [&encoded[..], &tip.count.to_le_bytes(), &tip.chain.0].concat();
            let proof = map.prove(subject).unwrap().proof;
            json!({
                "subject": subject_name(subject),
                "encoded": hx(&encoded),
                "chain": chain,
                "count": tip.count,
                "leaf": { "input": hx(&leaf_input), "output": hx(tip.leaf(subject).0) },
                "proof": {
                    "index": proof.index,
                    "size": proof.size,
                    "path": proof.path.iter().map(|h| hx(h.0)).collect::<Vec<_>>(),
                },
            })
        })
        .collect();
    json!({ "subjects": subjects, "map_root": hx(map.root().0) })
}

fn subject_name(subject: &Subject) -> String {
    match subject {
        Subject::Roster => "roster".into(),
        Subject::Review(id) => format!("review {id}"),
    }
}

fn rotation_json() -> Value {
    let (old, new) = (KeyPair::from_seed(OLD_SEED), KeyPair::from_seed(NEW_SEED));
    let handle = member("isms");
    let statement = RotationStatement {
        ledger: LEDGER,
        handle: handle.clone(),
        old_key: old.public(),
        new_key: new.public(),
    };
    let bytes = codec::encode(&statement);
    let Payload::Rotate(rotation) = review::rotation(LEDGER, &handle, &old, &new) else {
        unreachable!("review::rotation builds a rotation")
    };
    json!({
        "ledger": hx(LEDGER.0),
        "handle": handle.as_str(),
        "old_key": hx(old.public().0),
        "new_key": hx(new.public().0),
        "statement": hx(&bytes),
        "signed_bytes": hx([Purpose::KeyRotation.context(), &bytes].concat()),
        "proof": hx(rotation.proof.0),
    })
}

/// The payloads of the two roster changes for members with several keys
/// (`docs/FORMAT.md` section 12.3): the key of seed `02` for `isms`.
fn key_changes_json() -> Value {
    let key = KeyPair::from_seed(NEW_SEED).public();
    let one = |change: RosterChange| {
        let payload = Payload::Propose(change);
        json!({ "kind": payload.kind().to_string(), "payload": hx(payload.encode()) })
    };
    json!({
        "handle": "isms",
        "key": hx(key.0),
        "add_key": one(RosterChange::AddKey { handle: member("isms"), key }),
        "retire_key": one(RosterChange::RetireKey { handle: member("isms"), key }),
    })
}

fn build() -> Value {
    json!({
        "about": "Golden vectors of the review domain's hashes and signatures (docs/FORMAT.md \
                  sections 12.2, 12.4 and 19.1). Generated by crates/review/tests/golden.rs \
                  from fixed values. Changing any value here is a break of the format.",
        "contexts": {
            "minutes": context(MINUTES_CONTEXT.as_bytes()),
            "subject_chain": context(CHAIN_CONTEXT.as_bytes()),
            "subject_leaf": context(LEAF_CONTEXT.as_bytes()),
            "key_rotation_signature": context(Purpose::KeyRotation.context()),
        },
        "minutes": {
            "scheduled": {
                "layout": layout_json(&scheduled_layout(&scheduled())),
                "fields": serde_json::to_value(scheduled()).unwrap(),
                "input": hx(codec::encode(&scheduled())),
                "digest": hx(scheduled().digest().0),
            },
            "complete": minutes_json(&complete()),
        },
        "subjects": subjects_json(),
        "key_rotation": rotation_json(),
        "key_changes": key_changes_json(),
    })
}

// ---------------------------------------------------------------------------
// The committed file.

/// The committed vectors, written first when `UPDATE_GOLDEN=1`.
fn committed() -> &'static Value {
    static FILE: OnceLock<Value> = OnceLock::new();
    FILE.get_or_init(|| {
        if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
            let text = serde_json::to_string_pretty(&build()).unwrap() + "\n";
            std::fs::write(VECTORS, text).unwrap_or_else(|e| panic!("cannot write {VECTORS}: {e}"));
        }
        let text = std::fs::read_to_string(VECTORS).unwrap_or_else(|e| {
            panic!("cannot read {VECTORS}: {e}; generate it once with UPDATE_GOLDEN=1")
        });
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{VECTORS} is not JSON: {e}"))
    })
}

/// Collects the JSON paths at which `new` and `old` differ.
fn diff(path: &str, new: &Value, old: &Value, out: &mut Vec<String>) {
    match (new, old) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    Some(w) => diff(&format!("{path}.{k}"), v, w, out),
                    None => out.push(format!("{path}.{k}: new, not in the file")),
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{path}.{k}: in the file, no longer produced"));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                diff(&format!("{path}[{i}]"), v, w, out);
            }
        }
        _ if new != old => out.push(format!("{path}: file has {old}, code now gives {new}")),
        _ => {}
    }
}

#[test]
fn vectors_match_the_committed_file() {
    let mut differences = Vec::new();
    diff("review", &build(), committed(), &mut differences);
    assert!(
        differences.is_empty(),
        "the golden vectors in {VECTORS} no longer match the code.\n\
         A changed vector is a FORMAT BREAK: minutes signatures, checkpoints and bundles \
         written before would stop verifying. If the break is intended, bump FORMAT_VERSION, \
         update docs/FORMAT.md and regenerate with UPDATE_GOLDEN=1.\nDifferences:\n  {}",
        differences.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// Re-checking the committed vectors from their definitions.

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap_or_else(|| panic!("{v} is not a string")))
        .unwrap_or_else(|e| panic!("{v} is not hex: {e}"))
}

fn hash(v: &Value) -> Hash {
    Hash(bytes(v).try_into().expect("32 bytes"))
}

fn derive(context_name: &str, input: &[u8]) -> Hash {
    let c = &committed()["contexts"][context_name];
    Hash(blake3::derive_key(c["text"].as_str().unwrap(), input))
}

#[test]
fn contexts_are_the_documented_ones() {
    let contexts = committed()["contexts"].as_object().unwrap();
    for (name, expected) in [
        ("minutes", &b"review-ledger/v1 minutes"[..]),
        ("subject_chain", b"review-ledger/v1 subject chain"),
        ("subject_leaf", b"review-ledger/v1 subject leaf"),
        ("key_rotation_signature", b"review-ledger/v1 key rotation\0"),
    ] {
        assert_eq!(bytes(&contexts[name]["hex"]), expected, "{name}");
        assert_eq!(
            contexts[name]["text"].as_str().unwrap().as_bytes(),
            expected,
            "{name}"
        );
    }
    assert_eq!(contexts.len(), 4, "every context has a check here");
}

#[test]
fn minutes_digests_follow_their_definition() {
    for name in ["scheduled", "complete"] {
        let m = &committed()["minutes"][name];
        let input = bytes(&m["input"]);
        // The digest, from its definition and through the API.
        assert_eq!(derive("minutes", &input), hash(&m["digest"]), "{name}");
        let minutes: Minutes = serde_json::from_value(m["fields"].clone()).unwrap();
        assert_eq!(codec::encode(&minutes), input, "{name}");
        assert_eq!(minutes.digest(), hash(&m["digest"]), "{name}");
        let decoded: Minutes = codec::decode("minutes", &input).unwrap();
        assert_eq!(decoded, minutes, "{name}");
    }
    // The hand-written layout, concatenated, is the canonical encoding.
    let s = &committed()["minutes"]["scheduled"];
    let from_layout: Vec<u8> = s["layout"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|part| bytes(&part[1]))
        .collect();
    assert_eq!(from_layout, bytes(&s["input"]));
    let layout: Vec<u8> = scheduled_layout(&scheduled())
        .into_iter()
        .flat_map(|(_, b)| b)
        .collect();
    assert_eq!(layout, bytes(&s["input"]));
}

#[test]
fn subject_chains_leaves_and_map_follow_their_definition() {
    let v = &committed()["subjects"];
    let mut leaves = Vec::new();
    for s in v["subjects"].as_array().unwrap() {
        let encoded = bytes(&s["encoded"]);
        let chain = s["chain"].as_array().unwrap();
        // chain_0 = H_chain(encode(subject)).
        assert_eq!(bytes(&chain[0]["input"]), encoded);
        let mut tip = derive("subject_chain", &encoded);
        assert_eq!(tip, hash(&chain[0]["output"]));
        // chain_(k+1) = H_chain(chain_k || seq (u64 LE) || entry_hash).
        for step in &chain[1..] {
            let input = [
                &tip.0[..],
                &step["seq"].as_u64().unwrap().to_le_bytes(),
                &bytes(&step["entry_hash"]),
            ]
            .concat();
            assert_eq!(bytes(&step["input"]), input);
            tip = derive("subject_chain", &input);
            assert_eq!(tip, hash(&step["output"]));
        }
        // leaf = H_leaf(encode(subject) || count (u64 LE) || chain).
        let count = s["count"].as_u64().unwrap();
        assert_eq!(count as usize, chain.len() - 1);
        let input = [&encoded[..], &count.to_le_bytes(), &tip.0].concat();
        assert_eq!(bytes(&s["leaf"]["input"]), input);
        let leaf = derive("subject_leaf", &input);
        assert_eq!(leaf, hash(&s["leaf"]["output"]));
        // Through the API.
        let subject: Subject = codec::decode("subject", &encoded).unwrap();
        let api = Tip { count, chain: tip };
        assert_eq!(api.leaf(&subject), leaf);
        leaves.push((subject, api, &s["proof"]));
    }
    // The map is the Merkle tree of section 10 over the leaves; each proof
    // verifies against its root.
    let root = hash(&v["map_root"]);
    let mut tree = ledger_core::MemoryTree::default();
    for (subject, tip, proof) in &leaves {
        tree.push(&tip.leaf(subject));
        let proof = review::subjects::SubjectProof {
            subject: subject.clone(),
            tip: tip.clone(),
            proof: ledger_core::InclusionProof {
                index: proof["index"].as_u64().unwrap(),
                size: proof["size"].as_u64().unwrap(),
                path: proof["path"].as_array().unwrap().iter().map(hash).collect(),
            },
        };
        proof.verify(&root).unwrap();
    }
    assert_eq!(tree.root(), root);
    let mut map = Subjects::default();
    for (subject, seq, entry) in subject_entries() {
        map.push(subject, Seq(seq), &entry);
    }
    assert_eq!(map.root(), root);
}

#[test]
fn the_rotation_proof_follows_its_definition() {
    let r = &committed()["key_rotation"];
    let statement = RotationStatement {
        ledger: hash(&r["ledger"]),
        handle: member(r["handle"].as_str().unwrap()),
        old_key: PublicKey(bytes(&r["old_key"]).try_into().unwrap()),
        new_key: PublicKey(bytes(&r["new_key"]).try_into().unwrap()),
    };
    let encoded = bytes(&r["statement"]);
    assert_eq!(codec::encode(&statement), encoded);
    // Section 12.2: ledger (32) || handle (u64 LE length, bytes) || old_key (32) || new_key (32).
    let by_hand = [
        &statement.ledger.0[..],
        &(statement.handle.as_str().len() as u64).to_le_bytes(),
        statement.handle.as_str().as_bytes(),
        &statement.old_key.0,
        &statement.new_key.0,
    ]
    .concat();
    assert_eq!(by_hand, encoded);
    let signed = bytes(&r["signed_bytes"]);
    assert_eq!(
        signed,
        [&b"review-ledger/v1 key rotation\0"[..], &encoded].concat()
    );
    let proof = Signature(bytes(&r["proof"]).try_into().unwrap());
    // Plain ed25519 by the new key over context || statement.
    VerifyingKey::from_bytes(&statement.new_key.0)
        .unwrap()
        .verify_strict(&signed, &ed25519_dalek::Signature::from_bytes(&proof.0))
        .unwrap();
    statement
        .new_key
        .verify(Purpose::KeyRotation, &encoded, &proof)
        .unwrap();
    // `review::rotation`, which clients use to build the event, makes this proof.
    let Payload::Rotate(built) = review::rotation(
        statement.ledger,
        &statement.handle,
        &KeyPair::from_seed(OLD_SEED),
        &KeyPair::from_seed(NEW_SEED),
    ) else {
        unreachable!("review::rotation builds a rotation")
    };
    assert_eq!(built.proof, proof);
    assert_eq!(built.new_key, statement.new_key);
    // Not an event signature, and not the old key's.
    assert!(
        statement
            .new_key
            .verify(Purpose::Event, &encoded, &proof)
            .is_err()
    );
    assert!(
        statement
            .old_key
            .verify(Purpose::KeyRotation, &encoded, &proof)
            .is_err()
    );
}
