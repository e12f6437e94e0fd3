//! The conformance of one review as an OSCAL 1.1 assessment-results
//! document (`check --format oscal`), for GRC tools that read OSCAL.
//!
//! Each of the fifteen rules of docs/RULES.md is an assessment objective:
//! one OSCAL finding per rule, `satisfied` unless the check found a
//! nonconformity under it. Every finding of the check (nonconformity,
//! warning or observation) is an OSCAL observation, linked from its rule's
//! finding, with its severity and entry as properties. UUIDs are derived
//! from the ledger, the review and the day judged, so the same check gives
//! the same document. The mapping is in docs/EXPORTS.md.

use serde_json::{Value, json};

/// The OSCAL version the document declares.
pub const OSCAL_VERSION: &str = "1.1.3";

/// A version-5-shaped UUID from `parts` (blake3, with the version and
/// variant bits OSCAL's pattern asks for).
fn uuid(parts: &[&str]) -> String {
    let mut h = blake3::Hasher::new_derive_key("review-ledger/v1 oscal uuid");
    for p in parts {
        h.update(p.as_bytes());
        h.update(&[0]);
    }
    let mut b = [0u8; 16];
    b.copy_from_slice(&h.finalize().as_bytes()[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    )
}

/// The assessment-results document for `report` (the JSON of `check`:
/// review, as_of, passed, findings), judged on ledger `ledger_id` of
/// `organisation`, written at `now` (RFC 3339).
pub fn assessment_results(report: &Value, ledger_id: &str, organisation: &str, now: &str) -> Value {
    let review = report["review"].as_str().unwrap_or_default();
    let as_of = report["as_of"].as_str().unwrap_or_default();
    let key = |what: &str| uuid(&[ledger_id, review, as_of, what]);
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    let observations: Vec<Value> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut props = vec![
                json!({ "name": "rule", "value": f["rule"] }),
                json!({ "name": "severity", "value": f["severity"] }),
            ];
            if let Some(seq) = f["seq"].as_u64() {
                props.push(json!({ "name": "entry", "value": seq.to_string() }));
            }
            json!({
                "uuid": key(&format!("observation {i}")),
                "title": format!("{}: {}", f["rule"].as_str().unwrap_or_default(), f["severity"].as_str().unwrap_or_default()),
                "description": f["message"],
                "props": props,
                "methods": ["EXAMINE"],
                "collected": now,
            })
        })
        .collect();
    let rule_findings: Vec<Value> = review::conformance::RULES
        .iter()
        .map(|rule| {
            let related: Vec<Value> = findings
                .iter()
                .zip(&observations)
                .filter(|(f, _)| f["rule"] == rule.id)
                .map(|(_, o)| json!({ "observation-uuid": o["uuid"] }))
                .collect();
            let failed = findings
                .iter()
                .any(|f| f["rule"] == rule.id && f["severity"] == "nonconformity");
            let mut finding = json!({
                "uuid": key(&format!("finding {}", rule.id)),
                "title": rule.id,
                "description": format!("Rule {}: {}.", rule.id, rule.checks),
                "target": {
                    "type": "objective-id",
                    "target-id": rule.id,
                    "status": { "state": if failed { "not-satisfied" } else { "satisfied" } },
                },
            });
            if !related.is_empty() {
                finding["related-observations"] = Value::Array(related);
            }
            finding
        })
        .collect();
    let mut result = json!({
        "uuid": key("result"),
        "title": format!("Conformance of management review {review}"),
        "description": format!(
            "The fifteen rules of review-ledger's conformance check (ISO/IEC 27001:2022 clause 9.3), judged as of {as_of} from ledger {ledger_id} of {organisation}: {}.",
            if report["passed"] == true { "no nonconformity" } else { "nonconformity found" }
        ),
        "start": format!("{as_of}T00:00:00Z"),
        "reviewed-controls": {
            "control-selections": [{ "include-controls": [{ "control-id": "iso27001-9.3" }] }],
        },
        "findings": rule_findings,
    });
    if !observations.is_empty() {
        result["observations"] = Value::Array(observations);
    }
    json!({
        "assessment-results": {
            "uuid": key("assessment-results"),
            "metadata": {
                "title": format!("{organisation}: management review {review}, conformance as of {as_of}"),
                "last-modified": now,
                "version": as_of,
                "oscal-version": OSCAL_VERSION,
            },
            "import-ap": { "href": format!("urn:review-ledger:{ledger_id}") },
            "results": [result],
        }
    })
}
