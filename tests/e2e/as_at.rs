//! Verdicts that hold: a signed review keeps its verdict through later
//! roster changes, and the CLI, the server (gRPC) and an offline bundle
//! reach the same one.

use std::path::Path;

use e2e::{rl, run};
use serde_json::Value;
use service::pb;
use service::pb::review_service_client::ReviewServiceClient;

use crate::remote::Serving;

const REVIEW: &str = "mr-current";

/// What every route says about the demo's current review.
#[derive(Debug, PartialEq)]
struct Verdicts {
    /// `verify --review`: holds, and the audit.
    local: (bool, Value),
    /// `export` then `verify-bundle`: holds, and the audit.
    bundle: (bool, Value),
    /// `ReviewService.VerifyReview`: holds, and the audit.
    grpc: (bool, Value),
    /// `verify --server --review` (the server's bundle, verified here).
    server: bool,
}

/// Runs the binary whatever its exit code (0 or 1: a verdict), and parses its JSON.
fn judged(args: &[&str]) -> (Value, String) {
    let (code, stdout, stderr) = run(args).unwrap();
    assert!(code == 0 || code == 1, "{args:?}: {stdout}{stderr}");
    (
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout + &stderr,
    )
}

fn verdicts(dir: &Path, trust: &str) -> Verdicts {
    let ledger = dir.join("ledger");
    let ledger = ledger.to_str().unwrap();
    let (v, text) = judged(&["verify", "--ledger", ledger, "--review", REVIEW, "--json"]);
    let local = (v["holds"].as_bool().expect(&text), v["review"].clone());
    let file = dir.join(format!("{REVIEW}.bundle"));
    let _ = std::fs::remove_file(&file);
    rl(
        &[
            "export",
            "--ledger",
            ledger,
            "--review",
            REVIEW,
            "--out",
            file.to_str().unwrap(),
        ],
        0,
    );
    let (b, text) = judged(&[
        "verify-bundle",
        file.to_str().unwrap(),
        "--trust",
        trust,
        "--json",
    ]);
    let bundle = (
        b["holds"].as_bool().expect(&text),
        b["report"]["audit"].clone(),
    );

    let serving = Serving::start(Path::new(ledger), &[]);
    let state = dir.join("trusted.json");
    let (s, text) = judged(&[
        "verify",
        "--server",
        &serving.url,
        "--ledger-id",
        trust,
        "--trust",
        trust,
        "--review",
        REVIEW,
        "--state",
        state.to_str().unwrap(),
        "--json",
    ]);
    let server = s["holds"].as_bool().expect(&text);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let reply = runtime.block_on(async {
        let mut client = ReviewServiceClient::connect(serving.url.clone())
            .await
            .unwrap();
        client
            .verify_review(pb::VerifyReviewRequest {
                ledger_id: trust.to_owned(),
                review: REVIEW.to_owned(),
                whole_ledger: false,
            })
            .await
            .unwrap()
            .into_inner()
    });
    #[allow(deprecated)] // the deprecated JSON is still filled: compared whole below
    let report: Value = serde_json::from_str(&reply.report_json).unwrap();
    let typed = reply
        .audit
        .as_ref()
        .expect("a valid ledger's review is judged");
    assert_eq!(
        typed.quorum.as_ref().map(|q| q.met),
        report["review"]["quorum"]["met"].as_bool(),
        "the typed audit and its JSON agree"
    );
    assert_eq!(
        reply.minutes_hold,
        report["minutes_hold"].as_bool().unwrap()
    );
    let grpc = (reply.holds, report["review"].clone());
    assert!(serving.stop().success());
    Verdicts {
        local,
        bundle,
        grpc,
        server,
    }
}

#[test]
fn a_signed_review_keeps_its_verdict_everywhere_through_later_roster_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    rl(&["demo", "--dir", dir.to_str().unwrap()], 0);
    let ledger = dir.join("ledger");
    let ledger = ledger.to_str().unwrap();
    let key = |who: &str| dir.join("keys").join(format!("{who}.pem"));
    let (v, _) = rl(&["verify", "--ledger", ledger, "--json"], 0);
    let trust = v["ledger_id"].as_str().unwrap().to_owned();

    let before = verdicts(&dir, &trust);
    assert!(before.local.0, "{before:?}");
    assert_eq!(before.local.1, before.bundle.1, "CLI and bundle audits");
    assert_eq!(before.local.1, before.grpc.1, "CLI and gRPC audits");
    assert_eq!(
        (before.bundle.0, before.grpc.0, before.server),
        (true, true, true),
        "{before:?}"
    );

    // Years later the chief executive, who chaired, steps down from top
    // management (two top managers sign), then leaves; the ISMS lead, who
    // attended, is promoted.
    let (p, text) = rl(
        &[
            "member",
            "demote",
            "--ledger",
            ledger,
            "--key",
            key("ceo").to_str().unwrap(),
            "--id",
            "ceo",
            "--json",
        ],
        0,
    );
    let proposal = p["pending"]["proposal"].as_str().expect(&text).to_owned();
    rl(
        &[
            "member",
            "approve",
            "--ledger",
            ledger,
            "--key",
            key("ops").to_str().unwrap(),
            "--proposal",
            &proposal,
        ],
        0,
    );
    for (command, id) in [("promote", "isms"), ("remove", "ceo")] {
        rl(
            &[
                "member",
                command,
                "--ledger",
                ledger,
                "--key",
                key("ops").to_str().unwrap(),
                "--id",
                id,
            ],
            0,
        );
    }
    let (members, _) = rl(&["member", "list", "--ledger", ledger, "--json"], 0);
    let tops: Vec<&str> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["top_management"] == true && m["removed"] == false)
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(tops, ["isms", "ops"], "{members}");

    // Stricter conformance thresholds, set now, judge later reviews only.
    let (p, text) = rl(
        &[
            "member",
            "thresholds",
            "--ledger",
            ledger,
            "--key",
            key("ops").to_str().unwrap(),
            "--meeting-limit-minutes",
            "30",
            "--boilerplate-share-percent",
            "5",
            "--boilerplate",
            "The",
            "--json",
        ],
        0,
    );
    let proposal = p["pending"]["proposal"].as_str().expect(&text).to_owned();
    let (a, text) = rl(
        &[
            "member",
            "approve",
            "--ledger",
            ledger,
            "--key",
            key("isms").to_str().unwrap(),
            "--proposal",
            &proposal,
            "--json",
        ],
        0,
    );
    assert!(
        a.to_string().contains("set the conformance thresholds"),
        "{text}"
    );

    let after = verdicts(&dir, &trust);
    assert_eq!(after, before, "later roster events changed a verdict");
}
