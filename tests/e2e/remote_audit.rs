//! The auditor against a server: the checkpoint pinned by the genesis hash,
//! the trusted state carried across audits, a fork caught, and a review's
//! bundle fetched over gRPC and verified as offline.

use std::path::Path;

use e2e::rl;
use serde_json::Value;

use crate::service::Server;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn verify_over_grpc_keeps_trust_and_catches_a_fork() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    let (v, _) = rl(&["demo", "--json", "--dir", s(&demo)], 0);
    let id = v["ledger_id"].as_str().unwrap().to_owned();
    let (original, fork) = (demo.join("ledger"), tmp.path().join("fork"));
    e2e::copy_ledger(&original, &fork);
    // Both grow by one different entry from the same history.
    for (ledger, who) in [(&original, "x1"), (&fork, "x2")] {
        let key = tmp.path().join(format!("{who}.pem"));
        rl(&["key", "new", "--out", s(&key)], 0);
        let public = format!("{}.pub", s(&key));
        rl(
            &[
                "member",
                "add",
                "--ledger",
                s(ledger),
                "--key",
                s(&demo.join("keys/ceo.pem")),
                "--id",
                who,
                "--name",
                "Newcomer",
                "--role",
                "Analyst",
                "--public-key",
                &public,
            ],
            0,
        );
    }
    let state = tmp.path().join("auditor.json");
    let verify = |server: &Server, extra: &[&str], code: i32| -> Value {
        let url = server.url();
        let mut args = vec![
            "verify",
            "--json",
            "--server",
            &url,
            "--ledger-id",
            &id,
            "--trust",
            &id,
            "--state",
            s(&state),
        ];
        args.extend(extra);
        rl(&args, code).0
    };

    let server = Server::start(&[&original], "127.0.0.1:0", &[]);
    let v = verify(&server, &[], 0);
    assert_eq!(v["trusted_state"]["outcome"], "First", "{v}");
    let v = verify(&server, &["--review", "mr-current"], 0);
    assert_eq!(v["holds"], true, "{v}");
    assert_eq!(
        v["trusted_state"]["outcome"]["Extends"]["from"], v["entries"],
        "{v}"
    );
    // The bundle over gRPC verifies offline.
    let bundle = tmp.path().join("current.bundle");
    let url = server.url();
    rl(
        &[
            "export",
            "--server",
            &url,
            "--ledger-id",
            &id,
            "--review",
            "mr-current",
            "--out",
            s(&bundle),
        ],
        0,
    );
    let (v, _) = rl(&["verify-bundle", s(&bundle), "--trust", &id, "--json"], 0);
    assert_eq!(v["holds"], true, "{v}");
    // A pin on another ledger id is refused before anything else.
    let other = "11".repeat(32);
    let (_, text) = rl(
        &[
            "verify",
            "--server",
            &url,
            "--ledger-id",
            &id,
            "--trust",
            &other,
            "--state",
            s(&state),
        ],
        2,
    );
    assert!(text.contains("not the trusted"), "{text}");
    assert!(server.stop().success());

    let server = Server::start(&[&fork], "127.0.0.1:0", &[]);
    let v = verify(&server, &[], 1);
    let why = v["fault"].as_str().unwrap();
    assert!(why.contains("fork"), "{why}");
    assert!(server.stop().success());
}
