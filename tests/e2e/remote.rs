//! The CLI in remote mode: a whole review recorded through `--server`
//! against the real `review-ledger serve` on 127.0.0.1, events built and
//! signed by the CLI with keys that stay on this machine, minutes signed
//! over the digest the CLI computed from entries it verified itself; then
//! the server's directory verified offline once the server has stopped.

use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use e2e::rl;
use review::Date;
use serde_json::Value;

/// A running `review-ledger serve` on one ledger, stopped with SIGTERM.
pub struct Serving {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The hosted ledger's id, hex.
    pub ledger_id: String,
    out: Lines<BufReader<ChildStdout>>,
}

impl Serving {
    /// Starts the server on `dir`, port 0, and reads the address and the
    /// ledger id it prints.
    pub fn start(dir: &Path, extra: &[&str]) -> Serving {
        let mut child = Command::new(e2e::binary())
            .args(["serve", "--listen", "127.0.0.1:0", "--ledger"])
            .arg(dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("review-ledger serve starts");
        let out = BufReader::new(child.stdout.take().unwrap()).lines();
        // Built before the first line is read, so that a failure stops the child.
        let mut serving = Serving {
            child,
            url: String::new(),
            ledger_id: String::new(),
            out,
        };
        let first = serving.line();
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        serving.url = format!("http://{addr}");
        let second = serving.line();
        serving.ledger_id = second
            .strip_prefix("ledger ")
            .and_then(|s| s.split(' ').next())
            .unwrap_or_else(|| panic!("unexpected second line {second:?}"))
            .to_owned();
        serving
    }

    fn line(&mut self) -> String {
        self.out
            .next()
            .expect("serve prints a line")
            .expect("stdout reads")
    }

    /// SIGTERM, then the exit status: graceful shutdown exits 0.
    pub fn stop(mut self) -> std::process::ExitStatus {
        terminate(&self.child);
        let status = self.child.wait().unwrap();
        std::mem::forget(self);
        status
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        terminate(&self.child);
        let _ = self.child.wait();
    }
}

fn terminate(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

/// Keys in a directory, a ledger founded locally, and a server to talk to.
struct Remote {
    dir: PathBuf,
    url: String,
    id: String,
}

impl Remote {
    fn key(&self, who: &str) -> String {
        self.dir
            .join(format!("{who}.pem"))
            .to_str()
            .unwrap()
            .to_owned()
    }

    fn ledger(&self) -> String {
        self.dir.join("ledger").to_str().unwrap().to_owned()
    }

    /// `review-ledger <args> --json --server URL --ledger-id ID [--key K]`.
    fn call(&self, who: Option<&str>, args: &[&str], code: i32) -> (Value, String) {
        let key = who.map(|w| self.key(w));
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--json", "--server", &self.url, "--ledger-id", &self.id]);
        if let Some(k) = &key {
            all.extend(["--key", k]);
        }
        rl(&all, code)
    }

    /// As member `who`, remotely.
    fn by(&self, who: &str, args: &[&str]) -> Value {
        self.call(Some(who), args, 0).0
    }

    /// A read, remotely.
    fn read(&self, args: &[&str], code: i32) -> Value {
        self.call(None, args, code).0
    }

    /// A read of the directory, locally (the server stopped).
    fn local(&self, args: &[&str], code: i32) -> (Value, String) {
        let l = self.ledger();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--json", "--ledger", &l]);
        rl(&all, code)
    }
}

const INPUTS: [&str; 10] = [
    "previous-actions",
    "context-changes",
    "interested-party-needs",
    "nonconformities",
    "monitoring",
    "audit-results",
    "objectives",
    "interested-party-feedback",
    "risk",
    "improvement",
];

/// Keys for ceo, ops, isms and it; a ledger founded by ceo in `dir/ledger`.
fn founded(dir: &Path) {
    for who in ["ceo", "ops", "isms", "it", "it2"] {
        let out = dir.join(format!("{who}.pem"));
        rl(&["key", "new", "--out", out.to_str().unwrap()], 0);
    }
    let ledger = dir.join("ledger");
    let ceo = dir.join("ceo.pem");
    rl(
        &[
            "init",
            "--ledger",
            ledger.to_str().unwrap(),
            "--org",
            "Northwind",
            "--key",
            ceo.to_str().unwrap(),
            "--id",
            "ceo",
            "--name",
            "Ada Okafor",
            "--role",
            "Chief Executive",
        ],
        0,
    );
}

#[test]
fn a_whole_review_through_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    founded(tmp.path());
    let server = Serving::start(&tmp.path().join("ledger"), &[]);
    let org = Remote {
        dir: tmp.path().to_owned(),
        url: server.url.clone(),
        id: server.ledger_id.clone(),
    };

    // The roster, remotely: ops enrolled by ceo alone (one top manager),
    // the rest proposed by ceo and approved by ops.
    let add = |who: &str, name: &str, top: bool| {
        let public = format!("{}.pub", org.key(who));
        let mut args = vec![
            "member",
            "add",
            "--id",
            who,
            "--name",
            name,
            "--role",
            "Manager",
            "--public-key",
            &public,
        ];
        if top {
            args.push("--top-management");
        }
        let v = org.by("ceo", &args);
        if let Some(p) = v["pending"]["proposal"].as_str() {
            let approved = org.by("ops", &["member", "approve", "--proposal", p]);
            assert_eq!(
                approved["applied"].as_array().unwrap().len(),
                1,
                "{approved}"
            );
        }
        v
    };
    let v = add("ops", "Ben Marsh", true);
    assert_eq!(v["applied"].as_array().unwrap().len(), 1, "{v}");
    let v = add("isms", "Chloe Varga", false);
    assert_eq!(v["pending"]["needed"], 2, "{v}");
    add("it", "Dev Patel", false);
    // A rotation: its statement names the ledger id the CLI got from the server.
    let it2 = org.key("it2");
    let v = org.by("it", &["member", "rotate", "--new-key", &it2]);
    assert!(
        v["applied"][0].as_str().unwrap().contains("it now signs"),
        "{v}"
    );
    let members = org.read(&["member", "list"], 0);
    assert_eq!(members["ledger_id"], org.id.as_str());
    assert_eq!(members["members"].as_array().unwrap().len(), 4, "{members}");

    // A review, every event signed here and sent over Append.
    let today = Date::of_micros(ledger_store::system_clock()()).unwrap();
    let held = today.plus_days(-3).to_string();
    let r = "mr-2026";
    org.by(
        "isms",
        &[
            "review",
            "schedule",
            "--review",
            r,
            "--title",
            "Annual ISMS management review",
            "--planned",
            &held,
            "--period-start",
            "2025-01-01",
            "--period-end",
            "2025-12-31",
            "--chair",
            "ceo",
            "--expected",
            "ceo,ops,isms,it",
        ],
    );
    let pack = tmp.path().join("performance-report.pdf");
    std::fs::write(&pack, "contents of the report").unwrap();
    let sent = today.plus_days(-3).working_days_before(6).to_string();
    org.by(
        "isms",
        &[
            "review",
            "circulate",
            "--review",
            r,
            "--date",
            &sent,
            "--doc",
            &format!(
                "Performance report=https://docs.example/isms/performance-report.pdf=@{}",
                pack.display()
            ),
        ],
    );
    org.by(
        "isms",
        &[
            "review",
            "open",
            "--review",
            r,
            "--held",
            &held,
            "--chair",
            "ceo",
            "--present",
            "ceo,ops,isms,it",
        ],
    );
    for key in INPUTS {
        let summary = format!(
            "The {key} input was presented with its trend over the period, challenged by the chair and accepted."
        );
        org.by(
            "isms",
            &[
                "review",
                "input",
                "--review",
                r,
                "--input",
                key,
                "--summary",
                &summary,
                "--evidence",
                "Report=https://docs.example/isms",
            ],
        );
    }
    org.by(
        "isms",
        &[
            "review",
            "decide",
            "--review",
            r,
            "--kind",
            "resources",
            "--text",
            "The ISMS is adequately resourced for the coming year.",
            "--inputs",
            "monitoring,risk",
        ],
    );
    org.by(
        "isms",
        &[
            "review",
            "decide",
            "--review",
            r,
            "--kind",
            "improvement",
            "--text",
            "Automate quarterly access reviews.",
            "--inputs",
            "g",
        ],
    );
    // Default action ids count the review's actions as the server holds them.
    let due = today.plus_months(3).to_string();
    for (n, text) in [
        (1, "Automate access reviews."),
        (2, "Run phishing training."),
    ] {
        let a = org.by(
            "isms",
            &[
                "review",
                "act",
                "--review",
                r,
                "--owner",
                "it",
                "--due",
                &due,
                "--text",
                text,
                "--decision",
                "2",
            ],
        );
        let id = format!("{r}-a{n}");
        assert!(a["summary"].as_str().unwrap().contains(&id), "{a}");
    }
    org.by(
        "isms",
        &[
            "review",
            "objective",
            "--review",
            r,
            "--objective",
            "mr-2026-o1",
            "--text",
            "Patch critical vulnerabilities quickly",
            "--owner",
            "it",
            "--measure",
            "Median days to patch",
            "--target",
            "7 days",
            "--due",
            &today.plus_months(12).to_string(),
        ],
    );
    org.by(
        "isms",
        &[
            "review",
            "close",
            "--review",
            r,
            "--next-review",
            &today.plus_months(12).to_string(),
        ],
    );

    // Both top managers sign over the digest their CLI computed from the
    // entries it fetched and verified.
    let mut signed = Vec::new();
    for who in ["ceo", "ops"] {
        let s = org.by(who, &["minutes", "sign", "--review", r, "--yes"]);
        signed.push(s);
    }
    assert_eq!(signed[0]["digest"], signed[1]["digest"]);
    // An action's progress after the meeting, by its owner's rotated key.
    let v = org.call(
        Some("it2"),
        &[
            "action",
            "update",
            "--action",
            "mr-2026-a1",
            "--status",
            "in-progress",
            "--note",
            "Half done.",
        ],
        0,
    );
    assert_eq!(v.0["kind"], "action.update", "{}", v.1);
    // The old key is refused by the server, with the rule named.
    let (_, text) = org.call(
        Some("it"),
        &[
            "action",
            "update",
            "--action",
            "mr-2026-a1",
            "--status",
            "completed",
            "--note",
            "x",
        ],
        4,
    );
    assert!(
        text.contains("rotated") || text.contains("refused"),
        "{text}"
    );

    // Reads through the ReviewService.
    let as_of = today.to_string();
    let reviews = org.read(&["reviews"], 0);
    assert_eq!(reviews[0]["status"], "signed", "{reviews}");
    assert_eq!(reviews[0]["signatures"], 2);
    assert_eq!(reviews[0]["digest"], signed[0]["digest"]);
    let actions = org.read(&["actions", "--as-of", &as_of], 0);
    assert_eq!(actions["actions"].as_array().unwrap().len(), 2, "{actions}");
    let check = org.read(&["check", "--review", r, "--as-of", &as_of], 0);
    assert_eq!(check["passed"], true, "{check}");
    let minutes = org.read(&["minutes", "show", "--review", r], 0);
    assert_eq!(minutes["digest"], signed[0]["digest"]);
    org.read(&["agenda", "--review", r], 0);

    assert!(server.stop().success(), "graceful shutdown exits 0");

    // The server's directory, offline: it verifies, the minutes hold, and
    // every remote answer is the local one.
    let (v, text) = org.local(&["verify", "--review", r], 0);
    assert_eq!(v["holds"], true, "{text}");
    let (local, _) = org.local(&["minutes", "show", "--review", r], 0);
    assert_eq!(
        local["digest"], signed[0]["digest"],
        "the digest signed is the one the entries give"
    );
    assert_eq!(org.local(&["reviews"], 0).0, reviews);
    assert_eq!(org.local(&["actions", "--as-of", &as_of], 0).0, actions);
    assert_eq!(
        org.local(&["check", "--review", r, "--as-of", &as_of], 0).0,
        check
    );
    assert_eq!(local["minutes"], minutes["minutes"]);
}

/// The example GRC consumer, built beside `review-ledger`.
fn consumer() -> PathBuf {
    let bin = e2e::binary().with_file_name("feed-consumer");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo test --workspace`, which builds it",
        bin.display()
    );
    bin
}

/// Runs `feed-consumer` to entry `until`; returns the JSON lines it printed.
fn consume(server: &Serving, state: &Path, until: u64) -> Vec<Value> {
    let out = Command::new(consumer())
        .args([
            "--server",
            &server.url,
            "--ledger-id",
            &server.ledger_id,
            "--state",
        ])
        .arg(state)
        .args(["--until", &until.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "feed-consumer failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn size(server: &Serving) -> u64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut client =
            service::pb::ledger_service_client::LedgerServiceClient::connect(server.url.clone())
                .await
                .unwrap();
        client
            .get_checkpoint(service::pb::GetCheckpointRequest {
                ledger_id: server.ledger_id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .size
    })
}

#[test]
fn the_consumer_keeps_an_action_log_and_resumes_without_gap_or_duplicate() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    rl(&["demo", "--dir", demo.to_str().unwrap()], 0);
    let server = Serving::start(&demo.join("ledger"), &[]);
    let n = size(&server);
    assert!(n > 20, "the demo ledger has {n} entries");

    // Stopped part way, then resumed from its state file, then following
    // live until an action update appended after it caught up arrives.
    let state = tmp.path().join("consumer.json");
    let mut split = consume(&server, &state, 12);
    split.extend(consume(&server, &state, n));
    let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved["next"], n);
    let live = std::thread::scope(|s| {
        let follower = s.spawn(|| consume(&server, &state, n + 1));
        let isms = demo.join("keys/isms.pem");
        let (v, text) = rl(
            &[
                "action",
                "update",
                "--json",
                "--server",
                &server.url,
                "--ledger-id",
                &server.ledger_id,
                "--key",
                isms.to_str().unwrap(),
                "--action",
                "cur-a1",
                "--status",
                "in-progress",
                "--note",
                "Under way.",
            ],
            0,
        );
        assert_eq!(v["seq"], n, "{text}");
        follower.join().unwrap()
    });
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0]["seq"], n);
    assert_eq!(live[0]["action"]["id"], "cur-a1");
    assert_eq!(live[0]["action"]["status"], "in progress");
    split.extend(live);

    // No gap, no duplicate: exactly what one uninterrupted run prints.
    let once = consume(&server, &tmp.path().join("fresh.json"), n + 1);
    assert_eq!(split, once);
    let seqs: Vec<u64> = split.iter().map(|v| v["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    // The log it keeps is the server's action log.
    let (actions, _) = rl(
        &[
            "actions",
            "--json",
            "--as-of",
            "2000-01-01",
            "--server",
            &server.url,
            "--ledger-id",
            &server.ledger_id,
        ],
        0,
    );
    let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let kept = saved["actions"].as_object().unwrap();
    let listed = actions["actions"].as_array().unwrap();
    assert_eq!(kept.len(), listed.len(), "{kept:?}\n{listed:?}");
    for a in listed {
        let k = &kept[a["id"].as_str().unwrap()];
        assert_eq!(k["owner"], a["owner"], "{a}");
        assert_eq!(k["due"], a["due"], "{a}");
        let status = k["status"].as_str().unwrap();
        assert!(
            a["status"].as_str().unwrap().starts_with(status),
            "{k} vs {a}"
        );
    }
    assert!(server.stop().success());
}

#[test]
fn a_minted_token_opens_a_server_with_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    founded(tmp.path());
    let dir = tmp.path().join("ledger");
    // The ledger id, from a first server without tokens.
    let id = {
        let s = Serving::start(&dir, &[]);
        let id = s.ledger_id.clone();
        assert!(s.stop().success());
        id
    };
    let (minted, _) = rl(
        &[
            "token",
            "new",
            "--json",
            "--role",
            "reader",
            "--ledger-id",
            &id,
        ],
        0,
    );
    let token = minted["token"].as_str().unwrap();
    let line = minted["tokens_line"].as_str().unwrap();
    assert!(!line.contains(token), "the tokens file holds only the hash");
    let (other, _) = rl(
        &[
            "token",
            "new",
            "--json",
            "--role",
            "auditor",
            "--ledger-id",
            "*",
        ],
        0,
    );
    assert_ne!(other["token"], minted["token"]);
    rl(
        &["token", "new", "--role", "reader", "--ledger-id", "nope"],
        2,
    );
    let tokens = tmp.path().join("tokens");
    std::fs::write(&tokens, format!("# readers\n{line}\n")).unwrap();

    let server = Serving::start(&dir, &["--tokens", tokens.to_str().unwrap()]);
    let base = [
        "reviews",
        "--json",
        "--server",
        &server.url,
        "--ledger-id",
        &id,
    ];
    let (_, text) = rl(&base, 2);
    assert!(text.contains("Unauthenticated"), "{text}");
    let wrong = [&base[..], &["--token", "rlt_wrong"]].concat();
    let (_, text) = rl(&wrong, 2);
    assert!(text.contains("unknown bearer token"), "{text}");
    let right = [&base[..], &["--token", token]].concat();
    let (v, _) = rl(&right, 0);
    assert_eq!(v, serde_json::json!([]));
    // Remote appends read the ledger first (to build and check the event), so they need it too.
    let ceo = tmp.path().join("ceo.pem");
    let (v, text) = rl(
        &[
            "review",
            "schedule",
            "--json",
            "--server",
            &server.url,
            "--ledger-id",
            &id,
            "--token",
            token,
            "--key",
            ceo.to_str().unwrap(),
            "--review",
            "r1",
            "--title",
            "T",
            "--planned",
            "2030-01-10",
            "--period-start",
            "2029-01-01",
            "--period-end",
            "2029-12-31",
            "--chair",
            "ceo",
            "--expected",
            "ceo",
        ],
        0,
    );
    assert_eq!(v["kind"], "review.schedule", "{text}");
    assert!(server.stop().success());
}

/// Re-signs nothing: flips one bit of the last entry's signature and
/// rewrites the head to match, as an attacker with the server's disk would.
/// The server still opens the ledger (it replays chain links and rules, not
/// signatures); only a client that verifies can tell.
fn forge_last_signature(dir: &Path) -> u64 {
    use ledger_core::{Entry, Frontier, codec};
    let db = crate::derived::open_db(dir);
    let t = db.open_tree(b"ledger").unwrap();
    let head: ledger_store::Head =
        codec::decode("head", &t.get(b"mhead").unwrap().unwrap()).unwrap();
    let last = head.size - 1;
    let key = |seq: u64| [&[b'e'][..], &seq.to_be_bytes()].concat();
    let mut e = Entry::decode(&t.get(key(last)).unwrap().unwrap()).unwrap();
    if let ledger_core::EventSignature::Ed25519(s) = &mut e.signature {
        s.0[10] ^= 0x01;
    }
    t.insert(key(last), e.encode()).unwrap();
    // The operator holds the checkpoint key: the Merkle nodes, the head and
    // the checkpoint are rebuilt to match, so the server opens it.
    let mut frontier = Frontier::default();
    for seq in 0..head.size {
        for n in frontier.push(&ledger_core::hash_entry_bytes(
            &t.get(key(seq)).unwrap().unwrap(),
        )) {
            let node_key = [&[b'n', n.level as u8][..], &n.index.to_be_bytes()].concat();
            t.insert(node_key, &n.hash.0[..]).unwrap();
        }
    }
    let note = String::from_utf8(t.get(b"mcheckpoint").unwrap().unwrap().to_vec()).unwrap();
    let body = note.split_once("\n\n").unwrap().0.to_owned() + "\n";
    let mut cp = ledger_core::Checkpoint::parse_body(&body).unwrap();
    cp.head = e.hash();
    cp.root = frontier.root();
    let signer = ledger_store::keyfile::read_private(&dir.join("checkpoint.pem")).unwrap();
    t.insert(b"mcheckpoint", cp.sign(&signer).as_bytes())
        .unwrap();
    let forged = ledger_store::Head {
        size: head.size,
        hash: e.hash(),
        received: e.received,
        frontier,
    };
    t.insert(b"mhead", codec::encode(&forged)).unwrap();
    db.flush().unwrap();
    drop(db);
    std::fs::remove_file(dir.join("checkpoint.witness")).unwrap();
    last
}

#[test]
fn minutes_sign_refuses_a_server_whose_entries_do_not_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    rl(&["demo", "--dir", demo.to_str().unwrap()], 0);
    let forged = forge_last_signature(&demo.join("ledger"));
    let server = Serving::start(&demo.join("ledger"), &[]);
    let remote = ["--server", &server.url, "--ledger-id", &server.ledger_id];
    let (reviews, _) = rl(&[&["reviews", "--json"][..], &remote].concat(), 0);
    let review = reviews.as_array().unwrap().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = size(&server);
    let ceo = demo.join("keys/ceo.pem");
    let sign = [
        &[
            "minutes",
            "sign",
            "--yes",
            "--review",
            &review,
            "--key",
            ceo.to_str().unwrap(),
        ][..],
        &remote,
    ]
    .concat();
    let (_, text) = rl(&sign, 2);
    assert!(
        text.contains(&format!("does not verify at entry #{forged}"))
            && text.contains("not signing"),
        "{text}"
    );
    // Remote appends build on the same verified state, so they refuse too.
    let (_, text) = rl(
        &[
            &[
                "action",
                "update",
                "--action",
                "cur-a1",
                "--status",
                "completed",
                "--note",
                "x",
            ][..],
            &["--key", demo.join("keys/isms.pem").to_str().unwrap()],
            &remote,
        ]
        .concat(),
        2,
    );
    assert!(text.contains(&format!("entry #{forged}")), "{text}");
    assert_eq!(size(&server), before, "nothing was appended");
}

/// A director reads the minutes at `minutes sign`'s prompt for longer than
/// the server lets a connection go unanswered (`--idle-secs 3`: a ping a
/// second, closed when one goes unanswered for a second): the CLI's
/// connection still answers the server's pings, and the signature is
/// appended when they say yes.
#[test]
fn a_signer_who_reads_long_at_the_prompt_still_signs() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    let (code, _, err) = e2e::run(&["demo", "--dir", demo.to_str().unwrap()]).unwrap();
    assert_eq!(code, 0, "{err}");
    let (dir, keys) = (demo.join("ledger"), demo.join("keys"));
    let serving = Serving::start(&dir, &["--idle-secs", "3"]);
    let key = |who: &str| keys.join(format!("{who}.pem")).to_str().unwrap().to_owned();
    let remote = ["--server", &serving.url, "--ledger-id", &serving.ledger_id];
    // An amendment, so that the minutes ask for signatures again.
    let isms = key("isms");
    let mut amend = vec!["review", "input", "--key", &isms, "--review", "mr-current"];
    amend.extend([
        "--input",
        "risk",
        "--summary",
        "The risk treatment plan was reviewed again after the supplier incident and two treatments were brought forward by a quarter.",
        "--amend",
        "The supplier incident came after the meeting.",
    ]);
    amend.extend(remote);
    rl(&amend, 0);

    let ceo = key("ceo");
    let mut sign = Command::new(e2e::binary())
        .args([
            "minutes",
            "sign",
            "--json",
            "--key",
            &ceo,
            "--review",
            "mr-current",
        ])
        .args(remote)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(5));
    sign.stdin.take().unwrap().write_all(b"y\n").unwrap();
    let out = sign.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let signed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(signed["review"], "mr-current");
    assert!(serving.stop().success());
}
