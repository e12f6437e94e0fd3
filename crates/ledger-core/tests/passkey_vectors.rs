//! Golden vectors for passkey signatures (event version 2), made with fixed
//! software authenticators: `tests/vectors/passkey.json`, described in
//! `docs/FORMAT.md` section 20.
//!
//! The test builds every vector from fixed seeds and compares it with the
//! committed file; `UPDATE_GOLDEN=1` writes the file. It then re-reads the
//! committed file and checks every case through the public API, as an
//! independent verifier would.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ledger_core::passkey::{
    self, CHALLENGE_CONTEXT, FLAG_USER_PRESENT, KEY_ID_CONTEXT, SoftAuthenticator,
};
use ledger_core::{
    Author, Entry, Event, EventId, EventKind, EventSignature, Hash, PASSKEY_FORMAT_VERSION,
    Purpose, Seq, SignedBy, SignedEvent, UnixMicros, VerifiedEntry, codec,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/vectors/passkey.json"
);
const RP: &str = "review.example.org";
const ORIGIN: &str = "https://review.example.org";

fn hx(b: &[u8]) -> String {
    hex::encode(b)
}

fn event(a: &SoftAuthenticator, id: u8) -> Event {
    Event {
        version: PASSKEY_FORMAT_VERSION,
        ledger: Hash([0x1d; 32]),
        id: EventId([id; 16]),
        author: Author::Passkey(a.credential.clone()),
        time: UnixMicros(1_764_547_200_000_000),
        kind: EventKind::new("minutes.sign").unwrap(),
        payload: b"the payload bytes".to_vec(),
    }
}

fn signed(event: &Event, assertion: passkey::Assertion) -> SignedEvent {
    SignedEvent {
        event: event.encode(),
        signature: EventSignature::Passkey(assertion),
    }
}

/// One authenticator's worked example: credential, event, challenge,
/// authenticator data, client data, signature, signed event and entry.
fn example(a: &SoftAuthenticator, seed: [u8; 32]) -> Value {
    let c = &a.credential;
    let e = event(a, 0x2e);
    let bytes = e.encode();
    let challenge = passkey::challenge(Purpose::Event, &bytes);
    let assertion = a.assert(Purpose::Event, &bytes);
    let s = signed(&e, assertion.clone());
    let entry = Entry {
        seq: Seq(5),
        prev: Hash([0x5e; 32]),
        received: UnixMicros(1_764_547_200_000_500),
        event: bytes.clone(),
        signature: s.signature.clone(),
    };
    let client_hash = Sha256::digest(&assertion.client_data_json);
    json!({
        "seed": hx(&seed),
        "credential": {
            "rp_id": c.rp_id,
            "credential_id": hx(&c.credential_id),
            "algorithm": c.algorithm,
            "public_key": hx(&c.public_key),
        },
        "credential_bytes": hx(&codec::encode(c)),
        "key_id": c.key_id().to_hex(),
        "key_id_fingerprint": c.key_id().fingerprint(),
        "event": {
            "version": e.version,
            "ledger": e.ledger.to_hex(),
            "id": e.id.to_hex(),
            "time": e.time.0,
            "kind": e.kind.as_str(),
            "payload": hx(&e.payload),
        },
        "event_bytes": hx(&bytes),
        "challenge_input": hx(&[CHALLENGE_CONTEXT, Purpose::Event.context(), &bytes].concat()),
        "challenge": hx(&challenge),
        "challenge_base64url": URL_SAFE_NO_PAD.encode(challenge),
        "rp_id_hash": hx(&Sha256::digest(c.rp_id.as_bytes())),
        "authenticator_data": hx(&assertion.authenticator_data),
        "client_data_json": String::from_utf8(assertion.client_data_json.clone()).unwrap(),
        "client_data_hash": hx(&client_hash),
        "signed_bytes": hx(&[assertion.authenticator_data.as_slice(), &client_hash].concat()),
        "signature": hx(&assertion.signature),
        "assertion_bytes": hx(&s.signature.encode()),
        "signed_event_bytes": hx(&s.encode()),
        "entry_bytes": hx(&entry.encode()),
        "entry_hash": entry.hash().to_hex(),
        "user_verified": true,
    })
}

/// Signed events a verifier must judge: valid, or refused mentioning a word.
fn cases() -> Value {
    let a = SoftAuthenticator::new([0xa1; 32], RP, ORIGIN);
    let e = event(&a, 0x2e);
    let bytes = e.encode();
    let other = event(&a, 0x2f).encode();
    let case = |name: &str, s: SignedEvent, verdict: Value| json!({ "case": name, "signed_event_bytes": hx(&s.encode()), "expect": verdict });
    let good = a.assert(Purpose::Event, &bytes);
    let mut unverified = SoftAuthenticator::new([0xa1; 32], RP, ORIGIN);
    unverified.flags = FLAG_USER_PRESENT;
    let elsewhere = SoftAuthenticator::new([0xa1; 32], "evil.example", "https://evil.example");
    let mut other_client = good.clone();
    other_client.client_data_json = String::from_utf8(good.client_data_json.clone())
        .unwrap()
        .replace("\"crossOrigin\":false", "\"crossOrigin\":false ")
        .into_bytes();
    json!([
        case(
            "valid",
            signed(&e, good.clone()),
            json!({ "valid": true, "user_verified": true })
        ),
        case(
            "challenge of another event",
            signed(&e, a.assert(Purpose::Event, &other)),
            json!({ "valid": false, "mentions": "challenge" }),
        ),
        case(
            "challenge for another purpose",
            signed(&e, a.assert(Purpose::ConsoleSignIn, &bytes)),
            json!({ "valid": false, "mentions": "challenge" }),
        ),
        case(
            "RP id of another site",
            signed(
                &e,
                a.assert_raw(
                    elsewhere.authenticator_data(),
                    elsewhere.client_data(&passkey::challenge(Purpose::Event, &bytes)),
                ),
            ),
            json!({ "valid": false, "mentions": "another relying party" }),
        ),
        case(
            "user-verified flag cleared",
            signed(&e, unverified.assert(Purpose::Event, &bytes)),
            json!({ "valid": true, "user_verified": false }),
        ),
        case(
            "signature over other client data",
            signed(&e, other_client),
            json!({ "valid": false, "mentions": "does not verify" }),
        ),
    ])
}

fn build() -> Value {
    let es256 = SoftAuthenticator::new([0xa1; 32], RP, ORIGIN);
    let eddsa = SoftAuthenticator::ed25519([0xa2; 32], RP, ORIGIN);
    json!({
        "contexts": {
            "challenge": {
                "text": String::from_utf8_lossy(CHALLENGE_CONTEXT),
                "hex": hx(CHALLENGE_CONTEXT),
            },
            "key_id": { "text": KEY_ID_CONTEXT },
        },
        "es256": example(&es256, [0xa1; 32]),
        "eddsa": example(&eddsa, [0xa2; 32]),
        "cases": cases(),
    })
}

fn committed() -> Value {
    let text = std::fs::read_to_string(VECTORS).expect("tests/vectors/passkey.json");
    serde_json::from_str(&text).expect("the vector file is JSON")
}

#[test]
fn vectors_match_the_committed_file() {
    let built = build();
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        let text = serde_json::to_string_pretty(&built).unwrap() + "\n";
        std::fs::write(VECTORS, text).unwrap();
    }
    assert_eq!(
        built,
        committed(),
        "the passkey vectors in {VECTORS} no longer match the code: a changed vector is a format \
         break (regenerate with UPDATE_GOLDEN=1 only to add vectors)"
    );
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("a hex string")).expect("hex")
}

#[test]
fn every_committed_vector_verifies_as_stated() {
    let file = committed();
    for name in ["es256", "eddsa"] {
        let ex = &file[name];
        let v = VerifiedEntry::from_bytes(&unhex(&ex["entry_bytes"])).unwrap();
        assert_eq!(
            v.hash.to_hex(),
            ex["entry_hash"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            v.signed_by,
            SignedBy::Passkey {
                user_verified: true
            },
            "{name}"
        );
        assert_eq!(
            v.event.author.key().to_hex(),
            ex["key_id"].as_str().unwrap(),
            "{name}"
        );
        // The challenge is SHA-256 of the challenge input, which is the
        // context, the event context and the event bytes.
        let input = unhex(&ex["challenge_input"]);
        assert_eq!(
            hx(&Sha256::digest(&input)),
            ex["challenge"].as_str().unwrap()
        );
    }
    for case in file["cases"].as_array().unwrap() {
        let name = case["case"].as_str().unwrap();
        let expect = &case["expect"];
        let verdict = SignedEvent::decode(&unhex(&case["signed_event_bytes"]))
            .and_then(|s| s.verify_signer());
        match verdict {
            Ok((_, SignedBy::Passkey { user_verified })) => {
                assert_eq!(expect["valid"], true, "{name}: verified but should not");
                assert_eq!(expect["user_verified"], user_verified, "{name}");
            }
            Ok((_, other)) => panic!("{name}: signed by {other:?}"),
            Err(e) => {
                assert_eq!(expect["valid"], false, "{name}: refused: {e}");
                let mentions = expect["mentions"].as_str().unwrap();
                assert!(e.to_string().contains(mentions), "{name}: {e}");
            }
        }
    }
}

#[test]
fn a_version_two_event_with_an_ed25519_signature_is_refused() {
    let a = SoftAuthenticator::new([0xa1; 32], RP, ORIGIN);
    let e = event(&a, 0x2e);
    let key = ledger_core::KeyPair::from_seed([3; 32]);
    let mut s = e.sign(&key);
    // Its 64 bytes do not decode as an assertion.
    assert!(SignedEvent::decode(&s.encode()).is_err());
    // Nor does a passkey's assertion verify a version-1 event.
    let v1 = Event {
        version: 1,
        author: Author::Ed25519(key.public()),
        ..e.clone()
    };
    s.event = v1.encode();
    s.signature = EventSignature::Passkey(a.assert(Purpose::Event, &s.event));
    assert!(SignedEvent::decode(&s.encode()).is_err());
    assert!(s.verify_signer().is_err());
}

/// `tools/passkey_verifier.py`, written from `docs/FORMAT.md` section 20
/// alone in another language, reaches every verdict of the vector file.
#[test]
fn an_independent_verifier_agrees_with_every_vector() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let ready = std::process::Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        eprintln!(
            "skipped: the independent passkey verifier needs python3 with the cryptography \
             package (Debian's python3-cryptography; .ci/run installs it)"
        );
        return;
    }
    let out = std::process::Command::new("python3")
        .arg(format!("{root}/tools/passkey_verifier.py"))
        .arg(VECTORS)
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("every passkey vector verifies"), "{text}");
}

/// A passkey's event and assertion together are held to the signed-event
/// limit, so that whatever is admitted decodes again as an entry.
#[test]
fn the_limit_counts_the_assertion_too() {
    let mut a = SoftAuthenticator::new([0xa1; 32], RP, ORIGIN);
    a.credential.credential_id = vec![7; passkey::MAX_CREDENTIAL_ID];
    let mut e = event(&a, 0x2e);
    // An event 100 bytes short of the limit: its assertion takes it over.
    e.payload.clear();
    let head = e.encode().len();
    e.payload = vec![0; SignedEvent::MAX_LEN - head - 100];
    let bytes = e.encode();
    assert!(bytes.len() <= SignedEvent::MAX_LEN, "the event alone fits");
    let s = signed(&e, a.assert(Purpose::Event, &bytes));
    let err = s.verify_signer().unwrap_err().to_string();
    assert!(err.contains("over the limit"), "{err}");
    e.payload.truncate(e.payload.len() - 1024);
    let bytes = e.encode();
    let s = signed(&e, a.assert(Purpose::Event, &bytes));
    s.verify_signer().unwrap();
    let entry = Entry {
        seq: Seq(1),
        prev: Hash([1; 32]),
        received: UnixMicros(2),
        event: bytes,
        signature: s.signature.clone(),
    };
    VerifiedEntry::from_bytes(&entry.encode()).expect("an admitted event decodes as an entry");
}
