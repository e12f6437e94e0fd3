//! The CLI as a user runs it: keys, a ledger, the roster, proofs, verification.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use e2e::{rl, run};
use ledger_core::merkle::{ConsistencyProof, InclusionProof, verify_consistency, verify_inclusion};
use ledger_core::{Checkpoint, Hash, PublicKey};
use serde_json::Value;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_hex("path", h.as_str().unwrap()).unwrap())
        .collect()
}

#[test]
fn a_ledger_from_keys_to_verification() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let key = |name: &str| d.join(format!("{name}.pem"));
    for name in ["ceo", "ops", "isms", "isms2", "hr"] {
        let (v, _) = rl(
            &[
                "key",
                "new",
                "--json",
                "--out",
                s(&key(name)),
                "--name",
                name,
            ],
            0,
        );
        let mode = std::fs::metadata(key(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name} private key mode");
        let public = PublicKey::from_text(v["public_key"].as_str().unwrap()).unwrap();
        assert_eq!(v["fingerprint"].as_str().unwrap(), public.fingerprint());
        let (shown, _) = rl(
            &["key", "show", "--json", &format!("{}.pub", s(&key(name)))],
            0,
        );
        assert_eq!(shown["public_key"], v["public_key"]);
        assert_eq!(shown["name"].as_str(), Some(name));
    }
    // A key file is never overwritten.
    rl(&["key", "new", "--out", s(&key("ceo"))], 2);

    let ledger = d.join("ledger");
    let l = s(&ledger);
    let (init, _) = rl(
        &[
            "init",
            "--json",
            "--ledger",
            l,
            "--org",
            "Example Ltd",
            "--key",
            s(&key("ceo")),
            "--id",
            "ceo",
            "--name",
            "Ada Okafor",
            "--role",
            "Chief Executive",
        ],
        0,
    );
    let ledger_id = init["ledger_id"].as_str().unwrap().to_owned();
    // A second init on the same directory is refused and changes nothing.
    let (_, text) = rl(
        &[
            "init",
            "--ledger",
            l,
            "--org",
            "X",
            "--key",
            s(&key("ops")),
            "--id",
            "ops",
            "--name",
            "Ben",
            "--role",
            "COO",
        ],
        2,
    );
    assert!(text.contains("already exists"), "{text}");

    let pubkey = |name: &str| format!("{}.pub", s(&key(name)));
    // While one top manager exists, one signature enrols.
    let (add, _) = rl(
        &[
            "member",
            "add",
            "--json",
            "--ledger",
            l,
            "--key",
            s(&key("ceo")),
            "--id",
            "ops",
            "--name",
            "Ben Marsh",
            "--role",
            "Operations Director",
            "--public-key",
            &pubkey("ops"),
            "--top-management",
        ],
        0,
    );
    assert_eq!(add["applied"].as_array().unwrap().len(), 1, "{add}");
    // Now two must sign: the enrolment waits for the second.
    let (add, _) = rl(
        &[
            "member",
            "add",
            "--json",
            "--ledger",
            l,
            "--key",
            s(&key("ceo")),
            "--id",
            "isms",
            "--name",
            "Chloe Varga",
            "--role",
            "ISMS Lead",
            "--public-key",
            &pubkey("isms"),
        ],
        0,
    );
    assert!(add["applied"].as_array().unwrap().is_empty(), "{add}");
    let proposal = add["pending"]["proposal"].as_str().unwrap().to_owned();
    let (list, _) = rl(&["member", "list", "--json", "--ledger", l], 0);
    assert_eq!(list["members"].as_array().unwrap().len(), 2);
    assert_eq!(
        list["pending"][0]["proposal"].as_str(),
        Some(proposal.as_str())
    );
    // Only a top manager may approve; the proposer cannot approve twice.
    rl(
        &[
            "member",
            "approve",
            "--ledger",
            l,
            "--key",
            s(&key("ceo")),
            "--proposal",
            &proposal,
        ],
        4,
    );
    rl(
        &[
            "member",
            "approve",
            "--ledger",
            l,
            "--key",
            s(&key("ops")),
            "--proposal",
            &proposal,
        ],
        0,
    );
    let (list, _) = rl(&["member", "list", "--json", "--ledger", l], 0);
    assert_eq!(list["members"].as_array().unwrap().len(), 3);
    assert!(list["pending"].as_array().unwrap().is_empty());

    // The ISMS lead rotates to a new key; the old one then signs nothing.
    rl(
        &[
            "member",
            "rotate",
            "--ledger",
            l,
            "--key",
            s(&key("isms")),
            "--new-key",
            s(&key("isms2")),
        ],
        0,
    );
    let (_, text) = rl(
        &[
            "member",
            "revoke",
            "--ledger",
            l,
            "--key",
            s(&key("isms")),
            "--id",
            "isms",
        ],
        4,
    );
    assert!(text.contains("rotated away"), "{text}");
    // A member may revoke their own key at once.
    rl(
        &[
            "member",
            "revoke",
            "--ledger",
            l,
            "--key",
            s(&key("isms2")),
            "--id",
            "isms",
        ],
        0,
    );
    let (list, _) = rl(&["member", "list", "--json", "--ledger", l], 0);
    let isms = list["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "isms")
        .unwrap()
        .clone();
    assert_eq!(isms["public_key"], Value::Null, "{isms}");
    // A stranger's key is refused, naming the key.
    let (_, text) = rl(
        &[
            "member",
            "add",
            "--ledger",
            l,
            "--key",
            s(&key("hr")),
            "--id",
            "hr",
            "--name",
            "Erin",
            "--role",
            "HR",
            "--public-key",
            &pubkey("hr"),
        ],
        4,
    );
    assert!(text.contains("is not enrolled"), "{text}");

    let (log, _) = rl(&["log", "--json", "--ledger", l], 0);
    let kinds: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "genesis",
            "roster.propose",
            "roster.propose",
            "roster.approve",
            "roster.rotate",
            "roster.propose"
        ]
    );
    assert_eq!(log[0]["hash"].as_str(), Some(ledger_id.as_str()));

    // The checkpoint verifies under the key that genesis names.
    let (cp, _) = rl(&["checkpoint", "--json", "--ledger", l], 0);
    assert_eq!(cp["size"], 6);
    let checkpoint_key = PublicKey::from_text(init["checkpoint_key"].as_str().unwrap()).unwrap();
    let checkpoint = Checkpoint::verify(cp["note"].as_str().unwrap(), &checkpoint_key).unwrap();
    assert_eq!(checkpoint.ledger_id.to_hex(), ledger_id);

    // An inclusion proof checks out independently of the ledger.
    let (proof, _) = rl(&["prove", "--json", "--ledger", l, "--seq", "3"], 0);
    let inclusion = InclusionProof {
        index: 3,
        size: 6,
        path: hashes(&proof["path"]),
    };
    let entry = Hash::from_hex("entry", proof["entry_hash"].as_str().unwrap()).unwrap();
    assert_eq!(entry.to_hex(), log[3]["hash"].as_str().unwrap());
    verify_inclusion(&entry, &inclusion, &checkpoint.root).unwrap();
    rl(&["prove", "--ledger", l, "--seq", "6"], 2);
    let (proof, _) = rl(&["prove", "--json", "--ledger", l, "--old-size", "4"], 0);
    let consistency = ConsistencyProof {
        old_size: 4,
        new_size: 6,
        path: hashes(&proof["path"]),
    };
    let old_root = Hash::from_hex("old", proof["old_root"].as_str().unwrap()).unwrap();
    verify_consistency(&consistency, &old_root, &checkpoint.root).unwrap();

    // verify: valid, pinned to the ledger id; a different pin fails with exit 1.
    let (v, _) = rl(
        &["verify", "--json", "--ledger", l, "--trust", &ledger_id],
        0,
    );
    assert_eq!(
        (v["valid"].as_bool(), v["entries"].as_u64()),
        (Some(true), Some(6))
    );
    assert_eq!(v["ledger_id"].as_str(), Some(ledger_id.as_str()));
    let other = "00".repeat(32);
    let (v, _) = rl(&["verify", "--json", "--ledger", l, "--trust", &other], 1);
    assert!(
        v["fault"]["reason"]
            .as_str()
            .unwrap()
            .contains("not the trusted"),
        "{v}"
    );
    rl(&["verify", "--ledger", l, "--trust", "nothex"], 2);

    // REVIEW_LEDGER_DIR stands in for --ledger.
    let out = std::process::Command::new(e2e::binary())
        .args(["verify", "--json"])
        .env("REVIEW_LEDGER_DIR", l)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_second_process_is_told_who_holds_the_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let org = e2e::Org::new(2);
    let (ledger, _) = org.found(&dir).unwrap();
    // This test process holds the directory open; the binary must say so at once.
    let (code, _, stderr) = run(&["verify", "--ledger", s(&dir)]).unwrap();
    assert_eq!(code, 2, "{stderr}");
    let pid = std::process::id().to_string();
    assert!(
        stderr.contains("in use by another process") && stderr.contains(&pid),
        "{stderr}"
    );
    ledger.close();
}

#[test]
fn the_demo_runs_and_runs_again_without_harm() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let (v, _) = rl(&["demo", "--json", "--dir", s(&dir)], 0);
    assert_eq!(v["valid"], Value::Bool(true), "{v}");
    let entries = v["entries"].as_u64().unwrap();
    assert!(dir.join("keys/ceo.pem").is_file());
    let (again, _) = rl(&["demo", "--json", "--dir", s(&dir)], 0);
    assert_eq!(again["already_exists"], Value::Bool(true));
    assert_eq!(again["entries"].as_u64(), Some(entries));
    rl(&["verify", "--ledger", s(&dir.join("ledger"))], 0);
}

/// A script tells failures apart by exit code (2 usage, 4 refused by the
/// rules) and, with `--json`, reads the error as JSON on standard output;
/// a reader that closes the pipe early ends a command quietly.
#[test]
fn scripts_tell_failures_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let org = crate::review::found(tmp.path(), &[("isms", "Chloe Varga", "ISMS Lead", false)]);
    let l = org.ledger();
    let isms = org.key("isms");
    // The exit code, and the JSON error on standard error.
    let fails = |args: &[&str], code: i32| -> Value {
        let (got, stdout, stderr) = run(args).unwrap();
        assert_eq!(got, code, "{args:?}: {stdout}{stderr}");
        assert!(stdout.trim().is_empty(), "no data on stdout: {stdout}");
        serde_json::from_str(&stderr).unwrap_or_else(|e| panic!("{e}: {stderr}"))
    };
    // Refused by the rules: the ISMS lead is not top management.
    let v = fails(
        &[
            "member", "promote", "--id", "isms", "--json", "--ledger", &l, "--key", &isms,
        ],
        4,
    );
    assert_eq!(v["error"]["kind"], "refused", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not top management"),
        "{v}"
    );
    // Refused, naming the field at fault.
    let v = fails(
        &[
            "review",
            "schedule",
            "--json",
            "--review",
            "r1",
            "--title",
            "Annual review",
            "--planned",
            "2026-12-10",
            "--period-start",
            "2026-01-01",
            "--period-end",
            "2026-11-30",
            "--chair",
            "nobody",
            "--expected",
            "ceo,isms",
            "--ledger",
            &l,
            "--key",
            &isms,
        ],
        4,
    );
    assert_eq!(v["error"]["kind"], "refused", "{v}");
    assert!(
        v["error"]["field"]
            .as_str()
            .is_some_and(|f| f.contains("chair")),
        "{v}"
    );
    // Without --json the same is said in words.
    let (_, text) = org.by("isms", &["member", "promote", "--id", "isms"], 4);
    assert!(text.contains("error: refused:"), "{text}");
    // A usage error, as JSON.
    let v = fails(&["member", "promote", "--json"], 2);
    assert_eq!(v["error"]["kind"], "usage", "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("--id"),
        "{v}"
    );
    // An I/O error: a ledger directory that does not exist.
    let missing = tmp.path().join("no-such-ledger");
    let v = fails(&["actions", "--json", "--ledger", s(&missing)], 2);
    assert_eq!(v["error"]["kind"], "error", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no ledger at"),
        "{v}"
    );
    // A reader that goes away before the output is written.
    let mut child = std::process::Command::new(e2e::binary())
        .args(["actions", "--json", "--ledger", &org.ledger()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(done.status.success(), "{:?} {stderr}", done.status);
}

/// The crash test's helper parses its arguments: `--help` is help, not a
/// ledger directory to append to forever.
#[test]
fn the_append_loop_helper_parses_its_arguments() {
    let helper = env!("CARGO_BIN_EXE_append-loop");
    let out = std::process::Command::new(helper)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: append-loop"));
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(helper)
        .current_dir(tmp.path())
        .args(["--threads", "0", "ledger"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!tmp.path().join("ledger").exists(), "nothing was created");
    assert!(!tmp.path().join("--help").exists());
}

/// The action log and the objectives export as CSV with the columns
/// docs/EXPORTS.md lists, read back by a CSV parser.
#[test]
fn actions_and_objectives_export_as_csv() {
    use crate::review::{NORTHWIND, hold, organisation};
    let tmp = tempfile::tempdir().unwrap();
    let org = organisation(tmp.path());
    let pack = tmp.path().join("risk-register.xlsx");
    std::fs::write(&pack, "the risk register").unwrap();
    let held = review::Date::parse("held", "2026-11-20").unwrap();
    hold(&org, "2026", held, None, &[], &[pack], &NORTHWIND);
    let l = org.ledger();
    let read = |args: &[&str]| {
        let (code, stdout, stderr) = run(args).unwrap();
        assert_eq!(code, 0, "{stderr}");
        let mut r = csv::Reader::from_reader(stdout.as_bytes());
        let head: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
        let rows: Vec<Vec<String>> = r
            .records()
            .map(|x| x.unwrap().iter().map(str::to_owned).collect())
            .collect();
        (head, rows)
    };
    let (head, rows) = read(&[
        "actions",
        "--format",
        "csv",
        "--ledger",
        &l,
        "--as-of",
        "2026-12-01",
    ]);
    assert_eq!(
        head,
        [
            "id",
            "review",
            "owner",
            "owner_name",
            "due",
            "status",
            "overdue",
            "text",
            "decision"
        ]
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0][0], "2026-a1");
    assert_eq!(rows[0][3], "Dev Patel");
    assert_eq!(rows[0][6], "false");
    assert_eq!(rows[0][8], "2");
    assert_eq!(rows[1][8], "", "no decision is an empty field");
    let (head, rows) = read(&["objectives", "--format", "csv", "--ledger", &l]);
    assert_eq!(head.len(), 11);
    assert_eq!(head[0], "id");
    assert_eq!(head[9], "met");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][0], "2026-o1");
    assert_eq!(rows[0][9], "", "not assessed yet");
    // --json wins over --format.
    let (v, _) = rl(
        &["objectives", "--json", "--format", "csv", "--ledger", &l],
        0,
    );
    assert_eq!(v["objectives"][0]["id"], "2026-o1");
    // The check as an OSCAL assessment-results document, validated by
    // compliance-trestle's OSCAL 1.1 models where they are installed.
    let (code, oscal, stderr) = run(&[
        "check",
        "--review",
        "2026",
        "--as-of",
        "2026-12-01",
        "--format",
        "oscal",
        "--ledger",
        &l,
    ])
    .unwrap();
    assert!(code <= 1, "{stderr}");
    let doc: Value = serde_json::from_str(&oscal).unwrap();
    let result = &doc["assessment-results"]["results"][0];
    assert_eq!(
        result["findings"].as_array().unwrap().len(),
        15,
        "one a rule"
    );
    let signed = result["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["target"]["target-id"] == "minutes-signed")
        .unwrap();
    assert_eq!(signed["target"]["status"]["state"], "satisfied", "{signed}");
    let file = tmp.path().join("results.json");
    std::fs::write(&file, &oscal).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let pylib = root.join("target/pylib");
    let trestle = std::process::Command::new("python3")
        .args(["-c", "import trestle"])
        .env("PYTHONPATH", &pylib)
        .status()
        .is_ok_and(|s| s.success());
    if trestle {
        let out = std::process::Command::new("python3")
            .arg(root.join("tools/oscal_validate.py"))
            .arg(&file)
            .env("PYTHONPATH", &pylib)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(said.starts_with("valid"), "{said}");
    } else {
        eprintln!(
            "skipped: validating the OSCAL export needs compliance-trestle in target/pylib \
             (pip install --target target/pylib 'compliance-trestle>=3,<4'; .ci/run does)"
        );
    }
    // Reminders: nothing the day after the meeting; an overdue action
    // three months on, with exit 1 for cron.
    let (v, _) = rl(
        &[
            "remind",
            "--json",
            "--ledger",
            &l,
            "--as-of",
            "2026-11-21",
            "--within",
            "7",
        ],
        0,
    );
    assert_eq!(v["overdue"], 0, "{v}");
    let (v, text) = rl(
        &["remind", "--json", "--ledger", &l, "--as-of", "2027-03-01"],
        1,
    );
    assert!(v["overdue"].as_u64().unwrap() >= 1, "{text}");
    assert!(
        v["reminders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "action" && r["id"] == "2026-a1" && r["urgency"] == "overdue"),
        "{v}"
    );
}
