//! Golden vectors: the evidence format frozen as bytes.
//!
//! `build` makes every vector from fixed seeds and fixed clocks and nothing
//! else. `tests/vectors/core.json` at the workspace root is the committed
//! copy. With `UPDATE_GOLDEN=1` the test writes that file; without it, any
//! difference fails, because a changed vector means ledgers written before
//! the change no longer verify. The other tests read the committed file and
//! check that every vector in it verifies through the public API, so the
//! file is evidence, not just a snapshot.

use std::sync::OnceLock;

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use ed25519_dalek::{Verifier, VerifyingKey};
use ledger_core::checkpoint::{self, MAX_NOTE_LEN, ORIGIN_PREFIX};
use ledger_core::codec::DECODE_LIMIT;
use ledger_core::entry::ENTRY_HASH_CONTEXT;
use ledger_core::keys::FINGERPRINT_CONTEXT;
use ledger_core::merkle::{self, MAX_PROOF_LEN, MERKLE_CONTEXT};
use ledger_core::{
    Author, Chain, Checkpoint, ConsistencyProof, Entry, Event, EventId, EventKind, EventSignature,
    FORMAT_VERSION, Hash, InclusionProof, KeyPair, MAX_PAYLOAD, MemoryTree, PublicKey, Purpose,
    Seq, Signature, SignedEvent, UnixMicros, VerifiedEntry,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors/core.json");

/// 2025-12-01T00:00:00Z in microseconds.
const T0: i64 = 1_764_547_200_000_000;
const MINUTE: i64 = 60_000_000;
const AUTHOR_SEEDS: [[u8; 32]; 2] = [[1; 32], [2; 32]];
const CHECKPOINT_SEED: [u8; 32] = [3; 32];
/// The chain is seven entries long; its first three are the small ledger.
const CHAIN_LEN: usize = 7;
/// Tree sizes for which proofs and checkpoints are frozen.
const SIZES: [u64; 2] = [3, 7];
/// Which chain entry the worked example of docs/FORMAT.md breaks down.
const EXAMPLE: usize = 1;

// ---------------------------------------------------------------------------
// Building the vectors.

fn hx(bytes: impl AsRef<[u8]>) -> Value {
    Value::String(hex::encode(bytes))
}

fn author(i: usize) -> KeyPair {
    KeyPair::from_seed(AUTHOR_SEEDS[i % 2])
}

/// Entry `i` of the chain: authors alternate, ids are `0x11`, `0x12`, ...,
/// authors sign a minute apart and the ledger receives a quarter second later.
fn chain_event(i: usize, ledger: Hash) -> Event {
    Event {
        version: FORMAT_VERSION,
        ledger,
        id: EventId([0x11 + i as u8; 16]),
        author: Author::Ed25519(author(i).public()),
        time: UnixMicros(T0 + i as i64 * MINUTE),
        kind: EventKind::new(if i == 0 {
            "vector.genesis"
        } else {
            "vector.note"
        })
        .unwrap(),
        payload: format!("entry {i}").into_bytes(),
    }
}

fn received(i: usize) -> UnixMicros {
    UnixMicros(T0 + i as i64 * MINUTE + 250_000)
}

fn build_chain() -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for i in 0..CHAIN_LEN {
        let (ledger, prev) = match entries.last() {
            None => (Hash::ZERO, Hash::ZERO),
            Some(last) => (entries[0].hash(), last.hash()),
        };
        let signed = chain_event(i, ledger).sign(&author(i));
        entries.push(Entry {
            seq: Seq(i as u64),
            prev,
            received: received(i),
            event: signed.event,
            signature: signed.signature,
        });
    }
    entries
}

fn event_fields(e: &Event) -> Value {
    json!({
        "version": e.version,
        "ledger": hx(e.ledger.0),
        "id": hx(e.id.0),
        "author": hx(e.author.key().0),
        "time": e.time.0,
        "kind": e.kind.as_str(),
        "payload": hx(&e.payload),
    })
}

/// The event's bytes field by field, written by hand from docs/FORMAT.md.
fn event_layout(e: &Event) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("version (u16 LE)", e.version.to_le_bytes().to_vec()),
        ("ledger (32 bytes)", e.ledger.0.to_vec()),
        ("id (16 bytes)", e.id.0.to_vec()),
        ("author (32 bytes)", e.author.key().0.to_vec()),
        ("time (i64 LE)", e.time.0.to_le_bytes().to_vec()),
        (
            "kind length (u64 LE)",
            (e.kind.as_str().len() as u64).to_le_bytes().to_vec(),
        ),
        ("kind (UTF-8)", e.kind.as_str().as_bytes().to_vec()),
        (
            "payload length (u64 LE)",
            (e.payload.len() as u64).to_le_bytes().to_vec(),
        ),
        ("payload", e.payload.clone()),
    ]
}

fn signed_event_layout(s: &SignedEvent) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "event length (u64 LE)",
            (s.event.len() as u64).to_le_bytes().to_vec(),
        ),
        ("event", s.event.clone()),
        (
            "signature (64 bytes)",
            s.signature.ed25519().unwrap().0.to_vec(),
        ),
    ]
}

fn entry_layout(e: &Entry) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("seq (u64 LE)", e.seq.0.to_le_bytes().to_vec()),
        ("prev (32 bytes)", e.prev.0.to_vec()),
        ("received (i64 LE)", e.received.0.to_le_bytes().to_vec()),
        (
            "event length (u64 LE)",
            (e.event.len() as u64).to_le_bytes().to_vec(),
        ),
        ("event", e.event.clone()),
        (
            "signature (64 bytes)",
            e.signature.ed25519().unwrap().0.to_vec(),
        ),
    ]
}

fn concat(layout: &[(&'static str, Vec<u8>)]) -> Vec<u8> {
    layout.iter().flat_map(|(_, b)| b.clone()).collect()
}

fn layout_json(layout: &[(&'static str, Vec<u8>)]) -> Value {
    Value::Array(
        layout
            .iter()
            .map(|(name, bytes)| json!([name, hex::encode(bytes)]))
            .collect(),
    )
}

fn context(text: &[u8]) -> Value {
    json!({ "text": String::from_utf8(text.to_vec()).unwrap(), "hex": hx(text) })
}

fn key_json(seed: [u8; 32]) -> Value {
    let public = KeyPair::from_seed(seed).public();
    json!({
        "seed": hx(seed),
        "public": hx(public.0),
        "text": public.to_text(),
        "fingerprint": public.fingerprint(),
    })
}

fn checkpoint_at(entries: &[Entry], tree_roots: &[Hash], size: usize) -> Checkpoint {
    Checkpoint {
        ledger_id: entries[0].hash(),
        size: size as u64,
        root: tree_roots[size],
        head: entries[size - 1].hash(),
        time: UnixMicros(received(size - 1).0 + 1_000_000),
        subjects: None,
    }
}

/// One worked example of a blake3 `derive_key` context: the input bytes and
/// the real code's output.
fn hash_example(context: &str, input: &[u8], output: Hash) -> Value {
    json!({ "context": context, "input": hx(input), "output": hx(output.0) })
}

/// A worked example of every hash context of this crate, each computed by
/// the function the format uses.
fn hash_examples(entries: &[Entry]) -> Value {
    let ex = &entries[EXAMPLE];
    let (h0, h1) = (entries[0].hash(), entries[1].hash());
    let (l0, l1) = (merkle::leaf_hash(&h0), merkle::leaf_hash(&h1));
    let key = author(0).public();
    json!({
        "entry_hash": hash_example(ENTRY_HASH_CONTEXT, &ex.encode(), ex.hash()),
        "merkle_empty": hash_example(MERKLE_CONTEXT, b"", merkle::empty_root()),
        "merkle_leaf": hash_example(MERKLE_CONTEXT, &[&[0u8][..], &h0.0].concat(), l0),
        "merkle_node": hash_example(
            MERKLE_CONTEXT,
            &[&[1u8][..], &l0.0, &l1.0].concat(),
            merkle::node_hash(&l0, &l1),
        ),
        "key_fingerprint": hash_example(FINGERPRINT_CONTEXT, &key.0, key.fingerprint_digest()),
    })
}

/// A worked example of every signature purpose: the same key (author B,
/// seed `02` x 32) over the same message (the example event's bytes).
fn signature_examples(ex: &Entry) -> Value {
    let key = author(EXAMPLE);
    let mut out = serde_json::Map::new();
    for (name, purpose) in [
        ("event_signature", Purpose::Event),
        ("key_rotation_signature", Purpose::KeyRotation),
        ("console_sign_in_signature", Purpose::ConsoleSignIn),
    ] {
        out.insert(
            name.into(),
            json!({
                "context": hx(purpose.context()),
                "public_key": hx(key.public().0),
                "message": hx(&ex.event),
                "signed_bytes": hx([purpose.context(), &ex.event].concat()),
                "signature": hx(key.sign(purpose, &ex.event).0),
            }),
        );
    }
    Value::Object(out)
}

fn build() -> Value {
    let entries = build_chain();
    let hashes: Vec<Hash> = entries.iter().map(Entry::hash).collect();

    // The worked example: a non-genesis entry, so that ledger and prev are not zeros.
    let ex = &entries[EXAMPLE];
    let ex_event = Event::decode(&ex.event).unwrap();
    let ex_signed = ex.signed_event();
    let rotation_sig = author(EXAMPLE).sign(Purpose::KeyRotation, &ex.event);

    let mut tree = MemoryTree::default();
    let mut roots = vec![tree.root()];
    for h in &hashes {
        tree.push(h);
        roots.push(tree.root());
    }
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for size in SIZES {
        for index in 0..size {
            let p = merkle::prove_inclusion(&tree, index, size).unwrap();
            inclusion.push(json!({
                "index": p.index,
                "size": p.size,
                "entry_hash": hx(hashes[index as usize].0),
                "root": hx(roots[size as usize].0),
                "path": p.path.iter().map(|h| hx(h.0)).collect::<Vec<_>>(),
            }));
        }
        for old in 0..=size {
            let p = merkle::prove_consistency(&tree, old, size).unwrap();
            consistency.push(json!({
                "old_size": p.old_size,
                "new_size": p.new_size,
                "old_root": hx(roots[old as usize].0),
                "new_root": hx(roots[size as usize].0),
                "path": p.path.iter().map(|h| hx(h.0)).collect::<Vec<_>>(),
            }));
        }
    }

    let cp_key = KeyPair::from_seed(CHECKPOINT_SEED);
    let checkpoints: Vec<Value> = SIZES
        .iter()
        .map(|&size| {
            let cp = checkpoint_at(&entries, &roots, size as usize);
            let note = cp.sign(&cp_key);
            json!({
                "ledger_id": hx(cp.ledger_id.0),
                "size": cp.size,
                "root": hx(cp.root.0),
                "root_base64": B64.encode(cp.root.0),
                "head": hx(cp.head.0),
                "time": cp.time.0,
                "key_name": cp.origin(),
                "key_id": hx(checkpoint::key_id(&cp.origin(), &cp_key.public())),
                "public_key": cp_key.public().to_text(),
                "body": cp.body(),
                "note": note,
            })
        })
        .collect();

    json!({
        "about": "Golden vectors of the review-ledger evidence format (docs/FORMAT.md). \
                  Generated by crates/ledger-core/tests/golden.rs from fixed seeds and clocks. \
                  Changing any value here is a break of the format.",
        "format_version": FORMAT_VERSION,
        "contexts": {
            "event_signature": context(Purpose::Event.context()),
            "key_rotation_signature": context(Purpose::KeyRotation.context()),
            "console_sign_in_signature": context(Purpose::ConsoleSignIn.context()),
            "entry_hash": context(ENTRY_HASH_CONTEXT.as_bytes()),
            "merkle": context(MERKLE_CONTEXT.as_bytes()),
            "key_fingerprint": context(FINGERPRINT_CONTEXT.as_bytes()),
            "checkpoint_origin_prefix": context(ORIGIN_PREFIX.as_bytes()),
        },
        "limits": {
            "max_payload": MAX_PAYLOAD,
            "event_kind_max_len": EventKind::MAX_LEN,
            "signed_event_max_len": SignedEvent::MAX_LEN,
            "entry_max_len": Entry::MAX_LEN,
            "decode_limit": DECODE_LIMIT,
            "max_note_len": MAX_NOTE_LEN,
            "max_proof_len": MAX_PROOF_LEN,
        },
        "keys": {
            "author_a": key_json(AUTHOR_SEEDS[0]),
            "author_b": key_json(AUTHOR_SEEDS[1]),
            "checkpoint": key_json(CHECKPOINT_SEED),
        },
        "example": {
            "seq": EXAMPLE,
            "event": {
                "fields": event_fields(&ex_event),
                "layout": layout_json(&event_layout(&ex_event)),
                "bytes": hx(&ex.event),
            },
            "signature_message": hx([Purpose::Event.context(), &ex.event].concat()),
            "signature": hx(ex.signature.ed25519().unwrap().0),
            "key_rotation_signature_of_same_bytes": hx(rotation_sig.0),
            "signed_event": {
                "layout": layout_json(&signed_event_layout(&ex_signed)),
                "bytes": hx(ex_signed.encode()),
            },
            "entry": {
                "fields": {
                    "seq": ex.seq.0,
                    "prev": hx(ex.prev.0),
                    "received": ex.received.0,
                },
                "layout": layout_json(&entry_layout(ex)),
                "bytes": hx(ex.encode()),
            },
            "entry_hash": hx(ex.hash().0),
        },
        "chain": entries.iter().map(|e| {
            let event = Event::decode(&e.event).unwrap();
            json!({
                "seq": e.seq.0,
                "event": event_fields(&event),
                "event_bytes": hx(&e.event),
                "signature": hx(e.signature.ed25519().unwrap().0),
                "entry_bytes": hx(e.encode()),
                "hash": hx(e.hash().0),
            })
        }).collect::<Vec<_>>(),
        "merkle": {
            "empty_root": hx(merkle::empty_root().0),
            "leaf_hashes": hashes.iter().map(|h| hx(merkle::leaf_hash(h).0)).collect::<Vec<_>>(),
            "roots": roots.iter().enumerate().map(|(size, r)| json!({"size": size, "root": hx(r.0)})).collect::<Vec<_>>(),
            "inclusion": inclusion,
            "consistency": consistency,
        },
        "checkpoints": checkpoints,
        "hashes": hash_examples(&entries),
        "signatures": signature_examples(ex),
    })
}

// ---------------------------------------------------------------------------
// The committed file.

/// The committed vectors, written first when `UPDATE_GOLDEN=1`. Every test
/// goes through here, so the file is written once before anything reads it.
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
    diff("core", &build(), committed(), &mut differences);
    assert!(
        differences.is_empty(),
        "the golden vectors in {VECTORS} no longer match the code.\n\
         A changed vector is a FORMAT BREAK: signatures and hashes in existing ledgers would \
         stop verifying. If the break is intended, bump FORMAT_VERSION, update docs/FORMAT.md \
         and regenerate with UPDATE_GOLDEN=1.\nDifferences:\n  {}",
        differences.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// Re-verifying the committed vectors through the public API.

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap_or_else(|| panic!("{v} is not a string")))
        .unwrap_or_else(|e| panic!("{v} is not hex: {e}"))
}

fn hash(v: &Value) -> Hash {
    Hash(bytes(v).try_into().expect("32 bytes"))
}

fn u64_of(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("{v} is not a u64"))
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(hash).collect()
}

fn layout_bytes(v: &Value) -> Vec<u8> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|part| bytes(&part[1]))
        .collect()
}

fn signature(v: &Value) -> Signature {
    Signature(bytes(v).try_into().expect("64 bytes"))
}

fn event_from_fields(f: &Value) -> Event {
    Event {
        version: f["version"].as_u64().unwrap() as u16,
        ledger: hash(&f["ledger"]),
        id: EventId(bytes(&f["id"]).try_into().unwrap()),
        author: Author::Ed25519(PublicKey(bytes(&f["author"]).try_into().unwrap())),
        time: UnixMicros(f["time"].as_i64().unwrap()),
        kind: EventKind::new(f["kind"].as_str().unwrap()).unwrap(),
        payload: bytes(&f["payload"]),
    }
}

fn check_context(name: &str, expected: &[u8]) {
    let c = &committed()["contexts"][name];
    assert_eq!(bytes(&c["hex"]), expected, "context {name}");
    assert_eq!(c["text"].as_str().unwrap().as_bytes(), expected, "{name}");
}

#[test]
fn contexts_and_limits_are_the_documented_ones() {
    check_context("event_signature", b"review-ledger/v1 event\0");
    check_context("key_rotation_signature", b"review-ledger/v1 key rotation\0");
    check_context("entry_hash", b"review-ledger/v1 entry");
    check_context("merkle", b"review-ledger/v1 merkle");
    check_context("key_fingerprint", b"review-ledger/v1 key fingerprint");
    check_context("checkpoint_origin_prefix", b"review-ledger.v1/");
    let limits = &committed()["limits"];
    for (name, value) in [
        ("max_payload", 65_536),
        ("event_kind_max_len", 64),
        ("signed_event_max_len", 66_560),
        ("entry_max_len", 66_688),
        ("decode_limit", 4_194_304),
        ("max_note_len", 4096),
        ("max_proof_len", 64),
    ] {
        assert_eq!(u64_of(&limits[name]), value, "limit {name}");
    }
}

#[test]
fn keys_derive_from_their_seeds() {
    for (name, key) in committed()["keys"].as_object().unwrap() {
        let seed: [u8; 32] = bytes(&key["seed"]).try_into().unwrap();
        let public = KeyPair::from_seed(seed).public();
        assert_eq!(
            hex::encode(public.0),
            key["public"].as_str().unwrap(),
            "{name}"
        );
        let text = key["text"].as_str().unwrap();
        assert_eq!(PublicKey::from_text(text).unwrap(), public, "{name}");
        assert_eq!(text, format!("ed25519:{}", hex::encode(public.0)), "{name}");
        // The fingerprint, recomputed from its definition.
        let digest = blake3::derive_key("review-ledger/v1 key fingerprint", &public.0);
        let h = hex::encode(&digest[..8]);
        let fingerprint = format!("{}:{}:{}:{}", &h[0..4], &h[4..8], &h[8..12], &h[12..16]);
        assert_eq!(key["fingerprint"].as_str().unwrap(), fingerprint, "{name}");
        assert_eq!(public.fingerprint(), fingerprint, "{name}");
    }
}

#[test]
fn example_event_decodes_and_its_signature_verifies() {
    let ex = &committed()["example"];
    let event_bytes = bytes(&ex["event"]["bytes"]);
    let event = Event::decode(&event_bytes).unwrap();
    assert_eq!(event, event_from_fields(&ex["event"]["fields"]));
    assert_eq!(event.encode(), event_bytes);
    // The hand-written layout, concatenated, is the canonical encoding.
    assert_eq!(layout_bytes(&ex["event"]["layout"]), event_bytes);
    assert_eq!(concat(&event_layout(&event)), event_bytes);

    // The signature message is the context, NUL included, then the event bytes.
    let message = bytes(&ex["signature_message"]);
    assert_eq!(
        message,
        [&b"review-ledger/v1 event\0"[..], &event_bytes].concat()
    );
    let sig = signature(&ex["signature"]);
    event
        .author
        .key()
        .verify(Purpose::Event, &event_bytes, &sig)
        .unwrap();
    // Plain ed25519 over the message, checked with dalek directly.
    let vk = VerifyingKey::from_bytes(&event.author.key().0).unwrap();
    vk.verify_strict(&message, &ed25519_dalek::Signature::from_bytes(&sig.0))
        .unwrap();
    vk.verify(&message, &ed25519_dalek::Signature::from_bytes(&sig.0))
        .unwrap();

    // The same key over the same bytes for another purpose gives a signature
    // that does not verify as an event signature, and vice versa.
    let rotation = signature(&ex["key_rotation_signature_of_same_bytes"]);
    assert_ne!(rotation, sig);
    event
        .author
        .key()
        .verify(Purpose::KeyRotation, &event_bytes, &rotation)
        .unwrap();
    assert!(
        event
            .author
            .key()
            .verify(Purpose::Event, &event_bytes, &rotation)
            .is_err()
    );
    assert!(
        event
            .author
            .key()
            .verify(Purpose::KeyRotation, &event_bytes, &sig)
            .is_err()
    );

    // The transport form carries the same event and signature.
    let signed_bytes = bytes(&ex["signed_event"]["bytes"]);
    assert_eq!(layout_bytes(&ex["signed_event"]["layout"]), signed_bytes);
    let signed = SignedEvent::decode(&signed_bytes).unwrap();
    assert_eq!(signed.event, event_bytes);
    assert_eq!(signed.signature, EventSignature::Ed25519(sig));
    assert_eq!(signed.verify().unwrap(), event);
}

#[test]
fn example_entry_decodes_and_hashes() {
    let ex = &committed()["example"];
    let entry_bytes = bytes(&ex["entry"]["bytes"]);
    assert_eq!(layout_bytes(&ex["entry"]["layout"]), entry_bytes);
    let v = VerifiedEntry::from_bytes(&entry_bytes).unwrap();
    let fields = &ex["entry"]["fields"];
    assert_eq!(v.entry.seq, Seq(u64_of(&fields["seq"])));
    assert_eq!(v.entry.seq, Seq(u64_of(&ex["seq"])));
    assert_eq!(v.entry.prev, hash(&fields["prev"]));
    assert_eq!(v.entry.received.0, fields["received"].as_i64().unwrap());
    assert_eq!(v.entry.event, bytes(&ex["event"]["bytes"]));
    assert_eq!(
        v.entry.signature,
        EventSignature::Ed25519(signature(&ex["signature"]))
    );
    assert_eq!(concat(&entry_layout(&v.entry)), entry_bytes);
    // The entry hash, from its definition and through the API.
    let expected = hash(&ex["entry_hash"]);
    assert_eq!(
        blake3::derive_key("review-ledger/v1 entry", &entry_bytes),
        expected.0
    );
    assert_eq!(v.hash, expected);
    assert_eq!(v.entry.hash(), expected);
    // The example is one of the chain's entries.
    let in_chain = &committed()["chain"][u64_of(&ex["seq"]) as usize];
    assert_eq!(bytes(&in_chain["entry_bytes"]), entry_bytes);
}

#[test]
fn chain_links_from_genesis() {
    let chain_json = committed()["chain"].as_array().unwrap();
    assert_eq!(chain_json.len(), CHAIN_LEN);
    let mut chain = Chain::default();
    let mut genesis = None;
    for (i, e) in chain_json.iter().enumerate() {
        let entry_bytes = bytes(&e["entry_bytes"]);
        let v = VerifiedEntry::from_bytes(&entry_bytes).unwrap();
        assert_eq!(v.entry.seq, Seq(i as u64));
        assert_eq!(v.hash, hash(&e["hash"]), "hash of entry #{i}");
        assert_eq!(v.entry.event, bytes(&e["event_bytes"]));
        assert_eq!(
            v.entry.signature,
            EventSignature::Ed25519(signature(&e["signature"]))
        );
        assert_eq!(v.event, event_from_fields(&e["event"]));
        // The rules of docs/FORMAT.md, checked directly before the API checks them.
        let expected_ledger = genesis.unwrap_or(Hash::ZERO);
        assert_eq!(v.event.ledger, expected_ledger, "ledger of entry #{i}");
        assert_eq!(v.entry.prev, chain.head, "prev of entry #{i}");
        chain.link(&v).unwrap();
        genesis.get_or_insert(v.hash);
    }
    assert_eq!(chain.size, CHAIN_LEN as u64);
    assert_eq!(chain.ledger_id, Some(hash(&chain_json[0]["hash"])));
    assert_eq!(chain.head, hash(&chain_json[CHAIN_LEN - 1]["hash"]));
}

#[test]
fn chain_refuses_reordered_replayed_and_skipped_entries() {
    let verified: Vec<VerifiedEntry> = committed()["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| VerifiedEntry::from_bytes(&bytes(&e["entry_bytes"])).unwrap())
        .collect();
    let check = |order: &[usize]| {
        let mut chain = Chain::default();
        order.iter().try_for_each(|&i| chain.link(&verified[i]))
    };
    check(&[0, 1, 2, 3, 4, 5, 6]).unwrap();
    for bad in [
        &[1][..],
        &[0, 2],
        &[0, 1, 1],
        &[0, 2, 1],
        &[0, 0],
        &[0, 1, 2, 4],
    ] {
        let err = check(bad).unwrap_err().to_string();
        assert!(err.starts_with("entry #"), "{bad:?}: {err}");
    }
}

#[test]
fn flipping_any_bit_of_an_entry_is_detected() {
    for e in committed()["chain"].as_array().unwrap() {
        let good = bytes(&e["entry_bytes"]);
        let good_hash = hash(&e["hash"]);
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x01;
            // A flip in the event or its signature is refused. The unsigned
            // header (seq, prev, received: the first 48 bytes) may still
            // decode, but as an entry with another hash, which the chain refuses.
            if let Ok(v) = VerifiedEntry::from_bytes(&bad) {
                assert!(i < 48, "a flip at byte {i} went unnoticed");
                assert_ne!(v.hash, good_hash);
            }
        }
    }
}

/// The root of `leaves` straight from the RFC 6962 definition.
fn reference_root(leaves: &[Hash]) -> [u8; 32] {
    match leaves.len() {
        0 => blake3::derive_key("review-ledger/v1 merkle", b""),
        1 => blake3::derive_key(
            "review-ledger/v1 merkle",
            &[&[0u8][..], &leaves[0].0].concat(),
        ),
        n => {
            let k = n.next_power_of_two() / 2;
            let (l, r) = (reference_root(&leaves[..k]), reference_root(&leaves[k..]));
            blake3::derive_key("review-ledger/v1 merkle", &[&[1u8][..], &l, &r].concat())
        }
    }
}

#[test]
fn merkle_roots_and_proofs_verify() {
    let v = committed();
    let entries: Vec<Hash> = v["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| hash(&e["hash"]))
        .collect();
    let m = &v["merkle"];
    assert_eq!(hash(&m["empty_root"]), merkle::empty_root());
    for (leaf, entry) in hashes(&m["leaf_hashes"]).iter().zip(&entries) {
        assert_eq!(*leaf, merkle::leaf_hash(entry));
    }
    let roots: Vec<Hash> = m["roots"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(size, r)| {
            assert_eq!(u64_of(&r["size"]), size as u64);
            hash(&r["root"])
        })
        .collect();
    assert_eq!(roots.len(), CHAIN_LEN + 1);
    let mut tree = MemoryTree::default();
    for (size, root) in roots.iter().enumerate() {
        assert_eq!(
            root.0,
            reference_root(&entries[..size]),
            "root of size {size}"
        );
        assert_eq!(tree.root(), *root, "root of size {size}");
        if size < entries.len() {
            tree.push(&entries[size]);
        }
    }

    let inclusion = m["inclusion"].as_array().unwrap();
    assert_eq!(inclusion.len(), 10);
    for p in inclusion {
        let proof = InclusionProof {
            index: u64_of(&p["index"]),
            size: u64_of(&p["size"]),
            path: hashes(&p["path"]),
        };
        let leaf = entries[proof.index as usize];
        let root = roots[proof.size as usize];
        assert_eq!(hash(&p["entry_hash"]), leaf);
        assert_eq!(hash(&p["root"]), root);
        merkle::verify_inclusion(&leaf, &proof, &root).unwrap();
        assert_eq!(
            merkle::prove_inclusion(&tree, proof.index, proof.size).unwrap(),
            proof
        );
        // The proof binds the leaf and its position.
        let other = entries[(proof.index as usize + 1) % entries.len()];
        assert!(merkle::verify_inclusion(&other, &proof, &root).is_err());
        if proof.size > 1 {
            let moved = InclusionProof {
                index: (proof.index + 1) % proof.size,
                ..proof.clone()
            };
            assert!(merkle::verify_inclusion(&leaf, &moved, &root).is_err());
        }
    }

    let consistency = m["consistency"].as_array().unwrap();
    assert_eq!(consistency.len(), 12);
    for p in consistency {
        let proof = ConsistencyProof {
            old_size: u64_of(&p["old_size"]),
            new_size: u64_of(&p["new_size"]),
            path: hashes(&p["path"]),
        };
        let old_root = roots[proof.old_size as usize];
        let new_root = roots[proof.new_size as usize];
        assert_eq!(hash(&p["old_root"]), old_root);
        assert_eq!(hash(&p["new_root"]), new_root);
        merkle::verify_consistency(&proof, &old_root, &new_root).unwrap();
        assert_eq!(
            merkle::prove_consistency(&tree, proof.old_size, proof.new_size).unwrap(),
            proof
        );
        if proof.old_size > 0 && proof.old_size < proof.new_size {
            let forked = roots[proof.old_size as usize - 1];
            assert!(merkle::verify_consistency(&proof, &forked, &new_root).is_err());
            assert!(merkle::verify_consistency(&proof, &old_root, &forked).is_err());
        }
    }
}

#[test]
fn checkpoints_verify_and_agree_with_the_chain() {
    let v = committed();
    let chain_json = v["chain"].as_array().unwrap();
    let key = PublicKey::from_text(v["keys"]["checkpoint"]["text"].as_str().unwrap()).unwrap();
    let checkpoints = v["checkpoints"].as_array().unwrap();
    assert_eq!(checkpoints.len(), SIZES.len());
    let mut verified = Vec::new();
    for c in checkpoints {
        let note = c["note"].as_str().unwrap();
        let body = c["body"].as_str().unwrap();
        assert_eq!(
            PublicKey::from_text(c["public_key"].as_str().unwrap()).unwrap(),
            key
        );
        let cp = Checkpoint::verify(note, &key).unwrap();
        assert_eq!(Checkpoint::parse_body(body).unwrap(), cp);
        let size = u64_of(&c["size"]);
        assert_eq!(cp.size, size);
        assert_eq!(cp.ledger_id, hash(&chain_json[0]["hash"]));
        assert_eq!(cp.ledger_id, hash(&c["ledger_id"]));
        assert_eq!(cp.head, hash(&chain_json[size as usize - 1]["hash"]));
        assert_eq!(cp.head, hash(&c["head"]));
        assert_eq!(cp.root, hash(&v["merkle"]["roots"][size as usize]["root"]));
        assert_eq!(cp.root, hash(&c["root"]));
        assert_eq!(B64.encode(cp.root.0), c["root_base64"].as_str().unwrap());
        assert_eq!(cp.time.0, c["time"].as_i64().unwrap());

        // The signed-note layout, taken apart by hand.
        let name = c["key_name"].as_str().unwrap();
        assert_eq!(name, format!("review-ledger.v1/{}", cp.ledger_id));
        assert_eq!(
            body,
            format!(
                "{name}\n{size}\n{}\nhead {}\ntime {}\n",
                B64.encode(cp.root.0),
                cp.head,
                cp.time.0
            )
        );
        let sig_line = note
            .strip_prefix(body)
            .and_then(|rest| rest.strip_prefix('\n'))
            .and_then(|rest| rest.strip_prefix("\u{2014} "))
            .and_then(|rest| rest.strip_suffix('\n'))
            .expect("body, blank line, one signature line");
        let (line_name, b64) = sig_line.split_once(' ').unwrap();
        assert_eq!(line_name, name);
        let blob = B64.decode(b64).unwrap();
        assert_eq!(blob.len(), 68);
        let key_id: [u8; 32] = Sha256::new()
            .chain_update(name.as_bytes())
            .chain_update([0x0A, 0x01])
            .chain_update(key.0)
            .finalize()
            .into();
        assert_eq!(blob[..4], key_id[..4]);
        assert_eq!(bytes(&c["key_id"]), key_id[..4]);
        assert_eq!(checkpoint::key_id(name, &key), blob[..4]);
        let sig = ed25519_dalek::Signature::from_slice(&blob[4..]).unwrap();
        VerifyingKey::from_bytes(&key.0)
            .unwrap()
            .verify_strict(body.as_bytes(), &sig)
            .unwrap();

        // Another key, or a changed body, is refused.
        let other = KeyPair::from_seed(AUTHOR_SEEDS[0]).public();
        assert!(Checkpoint::verify(note, &other).is_err());
        let forged = note.replacen(&format!("\n{size}\n"), &format!("\n{}\n", size + 1), 1);
        assert!(Checkpoint::verify(&forged, &key).is_err());
        verified.push(cp);
    }
    // The consistency proof between the two checkpoints links their roots.
    let (old, new) = (&verified[0], &verified[1]);
    let proof = v["merkle"]["consistency"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| u64_of(&p["old_size"]) == old.size && u64_of(&p["new_size"]) == new.size)
        .expect("a consistency proof between the checkpoints");
    let proof = ConsistencyProof {
        old_size: old.size,
        new_size: new.size,
        path: hashes(&proof["path"]),
    };
    merkle::verify_consistency(&proof, &old.root, &new.root).unwrap();
}

/// Every context string of `contexts` has a worked example, and each example
/// holds: by the definition (`blake3::derive_key(context, input)`, or plain
/// ed25519 over `context || message`) and through the function the format uses.
#[test]
fn every_context_has_a_worked_example() {
    let v = committed();
    let hashes = v["hashes"].as_object().unwrap();
    let signatures = v["signatures"].as_object().unwrap();
    for (name, c) in v["contexts"].as_object().unwrap() {
        let text = c["text"].as_str().unwrap();
        let covered = hashes.values().any(|h| h["context"] == text)
            || signatures
                .get(name)
                .is_some_and(|s| bytes(&s["context"]) == text.as_bytes());
        // The origin prefix is not a hash or signature context: the
        // checkpoints of section 11 are its examples.
        assert!(
            covered || name == "checkpoint_origin_prefix",
            "context {name} ({text:?}) has no worked example"
        );
    }

    for (name, h) in hashes {
        let context = h["context"].as_str().unwrap();
        let input = bytes(&h["input"]);
        let output = hash(&h["output"]);
        assert_eq!(blake3::derive_key(context, &input), output.0, "{name}");
        let through_api = match name.as_str() {
            "entry_hash" => VerifiedEntry::from_bytes(&input).unwrap().hash,
            "merkle_empty" => {
                assert!(input.is_empty());
                merkle::empty_root()
            }
            "merkle_leaf" => {
                assert_eq!(input[0], 0);
                merkle::leaf_hash(&Hash(input[1..].try_into().unwrap()))
            }
            "merkle_node" => {
                assert_eq!(input[0], 1);
                merkle::node_hash(
                    &Hash(input[1..33].try_into().unwrap()),
                    &Hash(input[33..].try_into().unwrap()),
                )
            }
            "key_fingerprint" => {
                let key = PublicKey(input.clone().try_into().unwrap());
                assert!(key.fingerprint().starts_with(&hex::encode(&output.0[..2])));
                key.fingerprint_digest()
            }
            other => panic!("hash example {other} is not checked through the API"),
        };
        assert_eq!(through_api, output, "{name}");
    }
    assert_eq!(
        hash(&v["hashes"]["entry_hash"]["output"]),
        hash(&v["example"]["entry_hash"])
    );

    for (name, s) in signatures {
        let purpose = match name.as_str() {
            "event_signature" => Purpose::Event,
            "key_rotation_signature" => Purpose::KeyRotation,
            "console_sign_in_signature" => Purpose::ConsoleSignIn,
            other => panic!("signature example {other} has no purpose"),
        };
        assert_eq!(bytes(&s["context"]), purpose.context(), "{name}");
        let message = bytes(&s["message"]);
        let signed = bytes(&s["signed_bytes"]);
        assert_eq!(signed, [purpose.context(), &message].concat(), "{name}");
        let key = PublicKey(bytes(&s["public_key"]).try_into().unwrap());
        let sig = signature(&s["signature"]);
        key.verify(purpose, &message, &sig).unwrap();
        VerifyingKey::from_bytes(&key.0)
            .unwrap()
            .verify_strict(&signed, &ed25519_dalek::Signature::from_bytes(&sig.0))
            .unwrap();
        // Deterministic: the same seed signs the same bytes again.
        assert_eq!(
            KeyPair::from_seed(AUTHOR_SEEDS[EXAMPLE]).sign(purpose, &message),
            sig,
            "{name}"
        );
        for other in Purpose::ALL {
            if other != purpose {
                assert!(key.verify(other, &message, &sig).is_err(), "{name}");
            }
        }
    }
    assert_eq!(
        v["signatures"]["event_signature"]["signature"],
        v["example"]["signature"]
    );
    assert_eq!(
        v["signatures"]["key_rotation_signature"]["signature"],
        v["example"]["key_rotation_signature_of_same_bytes"]
    );
}
