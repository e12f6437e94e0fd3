//! A management review through the real binary, from scheduling to signed
//! minutes, then an amendment that the auditor's view and the check report
//! until top management signs again.

use std::path::{Path, PathBuf};

use e2e::rl;
use review::Date;
use serde_json::Value;

pub(crate) struct Org {
    pub(crate) dir: PathBuf,
    /// A server and ledger id: members act through it instead of the directory.
    pub(crate) remote: Option<(String, String)>,
}

/// Who is expected at a meeting, who chairs, who comes, and who signs.
pub(crate) struct Meeting<'a> {
    pub(crate) chair: &'a str,
    pub(crate) expected: &'a str,
    pub(crate) present: &'a str,
    pub(crate) apologies: &'a str,
    /// Members who sign with a key file; others may sign elsewhere.
    pub(crate) signers: &'a [&'a str],
}

/// Northwind's meeting: the chief executive chairs, and both top managers sign.
pub(crate) const NORTHWIND: Meeting = Meeting {
    chair: "ceo",
    expected: "ceo,ops,isms,it,hr",
    present: "ceo,ops,isms,it",
    apologies: "hr",
    signers: &["ceo", "ops"],
};

impl Org {
    pub(crate) fn key(&self, who: &str) -> String {
        self.dir
            .join(format!("{who}.pem"))
            .to_str()
            .unwrap()
            .to_owned()
    }

    pub(crate) fn ledger(&self) -> String {
        self.dir.join("ledger").to_str().unwrap().to_owned()
    }

    /// `review-ledger <args> --ledger L --key K` as member `who`.
    pub(crate) fn by(&self, who: &str, args: &[&str], code: i32) -> (Value, String) {
        let (l, k) = (self.ledger(), self.key(who));
        let mut all: Vec<&str> = args.to_vec();
        match &self.remote {
            Some((server, id)) => all.extend(["--server", server, "--ledger-id", id]),
            None => all.extend(["--ledger", &l]),
        }
        all.extend(["--key", &k]);
        rl(&all, code)
    }

    fn read(&self, args: &[&str], code: i32) -> (Value, String) {
        let l = self.ledger();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--json", "--ledger", &l]);
        rl(&all, code)
    }
}

fn date(d: Date) -> String {
    d.to_string()
}

/// `--doc` for a local copy `path`: titled by its file name, found by others
/// in the document system, digested from the copy.
pub(crate) fn shared(path: &Path) -> String {
    let name = path.file_name().unwrap().to_str().unwrap();
    format!(
        "{name}=https://dms.northwind.example/isms/{name}=@{}",
        path.display()
    )
}

/// Northwind's ledger, founded by its chief executive (`ceo`, top
/// management), and `members` (handle, name, role, top management) each
/// with a key file, enrolled by the chief executive in order; a change
/// that waits for a second top manager is approved by `ops`.
pub(crate) fn found(dir: &Path, members: &[(&str, &str, &str, bool)]) -> Org {
    let org = Org {
        dir: dir.to_owned(),
        remote: None,
    };
    rl(&["key", "new", "--out", &org.key("ceo")], 0);
    let l = org.ledger();
    rl(
        &[
            "init",
            "--ledger",
            &l,
            "--org",
            "Northwind",
            "--key",
            &org.key("ceo"),
            "--id",
            "ceo",
            "--name",
            "Ada Okafor",
            "--role",
            "Chief Executive",
        ],
        0,
    );
    for &(who, name, role, top) in members {
        rl(&["key", "new", "--out", &org.key(who)], 0);
        let pubkey = format!("{}.pub", org.key(who));
        let mut args = vec![
            "member",
            "add",
            "--json",
            "--id",
            who,
            "--name",
            name,
            "--role",
            role,
            "--public-key",
            &pubkey,
        ];
        if top {
            args.push("--top-management");
        }
        let (v, _) = org.by("ceo", &args, 0);
        if let Some(p) = v["pending"]["proposal"].as_str() {
            org.by("ops", &["member", "approve", "--proposal", p], 0);
        }
    }
    org
}

/// Keys and a roster: ceo and ops are top management; isms, it and hr are not.
pub(crate) fn organisation(dir: &Path) -> Org {
    found(
        dir,
        &[
            ("ops", "Ben Marsh", "Operations Director", true),
            ("isms", "Chloe Varga", "ISMS Lead", false),
            ("it", "Dev Patel", "Head of IT", false),
            ("hr", "Erin Walsh", "Head of HR", false),
        ],
    )
}

pub(crate) const INPUTS: [&str; 10] = [
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

/// Runs one review: schedule, pack, meeting, every input, outputs, close,
/// and the signatures of `meeting.signers`.
pub(crate) fn hold(
    org: &Org,
    review: &str,
    held: Date,
    previous: Option<&str>,
    statuses: &[(&str, &str)],
    pack: &[PathBuf],
    meeting: &Meeting,
) {
    let planned = date(held);
    let mut schedule = vec![
        "review",
        "schedule",
        "--review",
        review,
        "--title",
        "Annual ISMS management review",
        "--planned",
        &planned,
        "--period-start",
        "2025-01-01",
        "--period-end",
        "2025-12-31",
        "--chair",
        meeting.chair,
        "--expected",
        meeting.expected,
    ];
    if let Some(p) = previous {
        schedule.extend(["--previous", p]);
    }
    org.by("isms", &schedule, 0);
    let sent = date(held.working_days_before(6));
    let mut circulate = vec!["review", "circulate", "--review", review, "--date", &sent];
    let docs: Vec<String> = pack.iter().map(|p| shared(p)).collect();
    for d in &docs {
        circulate.extend(["--doc", d]);
    }
    org.by("isms", &circulate, 0);
    org.by(
        "isms",
        &[
            "review",
            "open",
            "--review",
            review,
            "--held",
            &planned,
            "--chair",
            meeting.chair,
            "--present",
            meeting.present,
            "--apologies",
            meeting.apologies,
        ],
        0,
    );
    for (action, status) in statuses {
        let mut args = vec![
            "review",
            "action-status",
            "--review",
            review,
            "--action",
            action,
            "--status",
            status,
            "--note",
            "Reported by the owner at the meeting.",
        ];
        let revised = date(held.plus_months(2));
        if *status == "overdue" {
            args.extend(["--revised-due", &revised, "--owner", "it"]);
        }
        org.by("isms", &args, 0);
    }
    if let Some(p) = previous {
        org.by(
            "isms",
            &[
                "review",
                "objective",
                "--review",
                review,
                "--objective",
                &format!("{p}-o1"),
                "--assess",
                "met",
                "--why",
                "The median time to patch was five days against a target of seven.",
            ],
            0,
        );
    }
    for key in INPUTS {
        let summary = format!(
            "The {key} input was presented with its trend over the period, challenged by the chair and accepted with follow-up actions where needed."
        );
        org.by(
            "isms",
            &[
                "review",
                "input",
                "--review",
                review,
                "--input",
                key,
                "--summary",
                &summary,
                "--evidence",
                "Report=https://docs.example/isms",
            ],
            0,
        );
    }
    org.by(
        "isms",
        &[
            "review",
            "decide",
            "--review",
            review,
            "--kind",
            "resources",
            "--text",
            "The ISMS is adequately resourced for the coming year.",
            "--inputs",
            "monitoring,risk",
        ],
        0,
    );
    org.by(
        "isms",
        &[
            "review",
            "decide",
            "--review",
            review,
            "--kind",
            "improvement",
            "--text",
            "Automate quarterly access reviews.",
            "--inputs",
            "g",
        ],
        0,
    );
    let (a, _) = org.by(
        "isms",
        &[
            "review",
            "act",
            "--json",
            "--review",
            review,
            "--owner",
            "it",
            "--due",
            &date(held.plus_months(3)),
            "--text",
            "Automate access reviews on all production systems.",
            "--decision",
            "2",
        ],
        0,
    );
    assert!(
        a["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("{review}-a1")),
        "{a}"
    );
    org.by(
        "isms",
        &[
            "review",
            "act",
            "--review",
            review,
            "--owner",
            "hr",
            "--due",
            &date(held.plus_months(4)),
            "--text",
            "Run phishing training for two departments.",
        ],
        0,
    );
    org.by(
        "isms",
        &[
            "review",
            "objective",
            "--review",
            review,
            "--objective",
            &format!("{review}-o1"),
            "--text",
            "Patch critical vulnerabilities quickly",
            "--owner",
            "it",
            "--measure",
            "Median days to patch",
            "--target",
            "7 days",
            "--due",
            &date(held.plus_months(12)),
        ],
        0,
    );
    org.by(
        "isms",
        &[
            "review",
            "close",
            "--review",
            review,
            "--next-review",
            &date(held.plus_months(12)),
        ],
        0,
    );
    for who in meeting.signers {
        org.by(who, &["minutes", "sign", "--review", review, "--yes"], 0);
    }
}

#[test]
fn a_review_from_schedule_to_signed_minutes_and_an_amendment() {
    let tmp = tempfile::tempdir().unwrap();
    let org = organisation(tmp.path());
    let today = Date::of_micros(ledger_store::system_clock()()).unwrap();
    let pack: Vec<PathBuf> = [
        "performance-report.pdf",
        "audit-summary.pdf",
        "risk-register.xlsx",
    ]
    .iter()
    .map(|n| {
        let p = tmp.path().join(n);
        std::fs::write(&p, format!("contents of {n}")).unwrap();
        p
    })
    .collect();

    // Last year's review, then progress on its actions between reviews.
    hold(
        &org,
        "mr-2025",
        today.plus_days(-360),
        None,
        &[],
        &pack,
        &NORTHWIND,
    );
    org.by(
        "it",
        &[
            "action",
            "update",
            "--action",
            "mr-2025-a1",
            "--status",
            "in-progress",
            "--note",
            "Half of the systems are automated.",
        ],
        0,
    );
    // A status for an action that does not exist is refused, naming it.
    let (_, text) = org.by(
        "it",
        &[
            "action",
            "update",
            "--action",
            "nope",
            "--status",
            "completed",
            "--note",
            "x",
        ],
        4,
    );
    assert!(text.contains("no action nope"), "{text}");

    // This year's review reports on last year's actions.
    hold(
        &org,
        "mr-2026",
        today.plus_days(-5),
        Some("mr-2025"),
        &[("mr-2025-a1", "completed"), ("mr-2025-a2", "overdue")],
        &pack,
        &NORTHWIND,
    );

    let (reviews, _) = org.read(&["reviews"], 0);
    let ids: Vec<&str> = reviews
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["mr-2025", "mr-2026"]);
    assert_eq!(reviews[1]["status"], "signed");

    // The action log across reviews, with an overdue one moved to its revised date.
    let (actions, _) = org.read(&["actions"], 0);
    let find = |id: &str| {
        actions["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .cloned()
            .unwrap()
    };
    assert!(
        find("mr-2025-a1")["status"]
            .as_str()
            .unwrap()
            .starts_with("completed")
    );
    assert!(
        find("mr-2025-a2")["status"]
            .as_str()
            .unwrap()
            .starts_with("overdue")
    );
    assert_eq!(
        find("mr-2025-a2")["due"].as_str().unwrap(),
        date(today.plus_days(-5).plus_months(2))
    );
    assert_eq!(find("mr-2026-a1")["owner"], "it");

    // The check finds no nonconformity.
    let (check, text) = org.read(&["check", "--review", "mr-2026"], 0);
    assert_eq!(check["review"], "mr-2026", "{text}");

    // The pack's documents carry their shared locations and blake3 digests.
    let (minutes, _) = org.read(&["minutes", "show", "--review", "mr-2026"], 0);
    let docs = minutes["minutes"]["pack"]["item"]["documents"]
        .as_array()
        .unwrap()
        .clone();
    let expected = blake3::hash(b"contents of audit-summary.pdf")
        .to_hex()
        .to_string();
    assert!(
        docs.iter()
            .any(|d| d["digest"].as_str() == Some(expected.as_str())
                && d["location"] == "https://dms.northwind.example/isms/audit-summary.pdf"),
        "{docs:?}"
    );
    let html = tmp.path().join("minutes.html");
    org.read(
        &[
            "minutes",
            "show",
            "--review",
            "mr-2026",
            "--format",
            "html",
            "--out",
            html.to_str().unwrap(),
        ],
        0,
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("Ada Okafor") && page.contains("Ben Marsh"),
        "signers are named in the HTML"
    );
    // The first screen says the minutes hold, before the minutes themselves.
    status(
        &minutes_html(&org, "mr-2026"),
        &["THE MINUTES HOLD", "Not signed", "none"],
        &["DO NOT HOLD"],
    );

    // The auditor's view: both top managers signed, nothing changed after.
    let (v, _) = org.read(&["verify", "--review", "mr-2026"], 0);
    assert_eq!(v["holds"], true, "{v}");

    // Content added after signing without an amendment reason is refused.
    let (_, text) = org.by(
        "isms",
        &[
            "review",
            "input",
            "--review",
            "mr-2026",
            "--input",
            "risk",
            "--summary",
            "Changed later.",
        ],
        4,
    );
    assert!(text.contains("must be marked as an amendment"), "{text}");
    // An amendment is accepted; the auditor sees what changed, where and by whom; the check flags it.
    let (amend, _) = org.by("isms", &["review", "input", "--json", "--review", "mr-2026", "--input", "risk", "--amend",
        "Risk treatment figures corrected after the meeting", "--summary",
        "The risk treatment plan is 80 percent complete, not 90 as first minuted; two treatments slipped to next quarter."], 0);
    let amended_at = amend["seq"].as_u64().unwrap();
    let page = minutes_html(&org, "mr-2026");
    status(
        &page,
        &[
            "THE MINUTES DO NOT HOLD",
            "1, 1 NOT signed again",
            "Ada Okafor (ceo), Ben Marsh (ops)",
        ],
        &["THE MINUTES HOLD"],
    );
    let (v, text) = org.read(&["verify", "--review", "mr-2026"], 1);
    assert_eq!(v["holds"], false, "{text}");
    let report = v["review"].to_string();
    assert!(
        report.contains(&amended_at.to_string()) && report.contains("isms"),
        "{report}"
    );
    let (check, _) = org.read(&["check", "--review", "mr-2026"], 1);
    let rules: Vec<&str> = check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.iter().any(|r| r.contains("unsigned-changes")),
        "{rules:?}"
    );
    // A signature on the old digest is refused; fresh signatures by both restore the verdict.
    org.by(
        "ceo",
        &["minutes", "sign", "--review", "mr-2026", "--yes"],
        0,
    );
    // Partly signed again: the status names who has not.
    status(
        &minutes_html(&org, "mr-2026"),
        &[
            "THE MINUTES DO NOT HOLD",
            "1, each signed again by top management",
            "Ben Marsh (ops)",
        ],
        &["THE MINUTES HOLD"],
    );
    org.by(
        "ops",
        &["minutes", "sign", "--review", "mr-2026", "--yes"],
        0,
    );
    status(
        &minutes_html(&org, "mr-2026"),
        &["THE MINUTES HOLD"],
        &["DO NOT HOLD"],
    );
    let (v, _) = org.read(&["verify", "--review", "mr-2026"], 0);
    assert_eq!(v["holds"], true, "{v}");
    let (check, _) = org.read(&["check", "--review", "mr-2026"], 0);
    let rules: Vec<&str> = check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        !rules.iter().any(|r| r.contains("unsigned-changes")),
        "{rules:?}"
    );
}

/// The HTML minutes of `review`.
fn minutes_html(org: &Org, review: &str) -> String {
    let (_, page) = rl(
        &[
            "minutes",
            "show",
            "--ledger",
            &org.ledger(),
            "--review",
            review,
            "--format",
            "html",
        ],
        0,
    );
    page
}

/// Asserts what the HTML minutes' status section says, and that it comes
/// before the minutes themselves.
fn status(page: &str, shows: &[&str], hides: &[&str]) {
    let start = page.find("<h2>Status</h2>").expect("a status section");
    let end = page.find("<h2>Review</h2>").expect("the review section");
    assert!(start < end, "the status comes first");
    let section = &page[start..end];
    for s in shows {
        assert!(section.contains(s), "status should show {s:?}: {section}");
    }
    for s in hides {
        assert!(
            !section.contains(s),
            "status should not show {s:?}: {section}"
        );
    }
}

#[test]
fn refusals_of_review_events_name_the_fault() {
    let tmp = tempfile::tempdir().unwrap();
    let org = organisation(tmp.path());
    // Each with its exit code: 4 refused by the rules, 2 input the CLI
    // cannot read.
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "isms",
            &[
                "review",
                "open",
                "--review",
                "nope",
                "--held",
                "2026-01-05",
                "--chair",
                "ceo",
                "--present",
                "ceo",
            ],
            "no review nope",
        ),
        (
            "isms",
            &[
                "review",
                "schedule",
                "--review",
                "r1",
                "--title",
                "T",
                "--planned",
                "2026-13-01",
                "--period-start",
                "2026-01-01",
                "--period-end",
                "2026-12-31",
                "--chair",
                "ceo",
                "--expected",
                "ceo",
            ],
            "not a date",
        ),
        (
            "isms",
            &[
                "review",
                "schedule",
                "--review",
                "r1",
                "--title",
                "T",
                "--planned",
                "2026-01-20",
                "--period-start",
                "2025-01-01",
                "--period-end",
                "2025-12-31",
                "--chair",
                "zed",
                "--expected",
                "ceo",
            ],
            "zed is not an enrolled member",
        ),
    ];
    for (who, args, expected) in cases {
        let code = if *expected == "not a date" { 2 } else { 4 };
        let (_, text) = org.by(who, args, code);
        assert!(text.contains(expected), "{args:?}: {text}");
    }
    org.by(
        "isms",
        &[
            "review",
            "schedule",
            "--review",
            "r1",
            "--title",
            "T",
            "--planned",
            "2026-01-20",
            "--period-start",
            "2025-01-01",
            "--period-end",
            "2025-12-31",
            "--chair",
            "ceo",
            "--expected",
            "ceo,ops",
        ],
        0,
    );
    org.by(
        "isms",
        &[
            "review",
            "open",
            "--review",
            "r1",
            "--held",
            "2026-01-20",
            "--chair",
            "ceo",
            "--present",
            "ceo,isms",
        ],
        0,
    );
    let (_, text) = org.by(
        "isms",
        &[
            "review",
            "act",
            "--review",
            "r1",
            "--owner",
            "ghost",
            "--due",
            "2026-03-01",
            "--text",
            "x",
        ],
        4,
    );
    assert!(text.contains("ghost is not an enrolled member"), "{text}");
    // Meeting times: a meeting that ends before it starts, or a time that is
    // not HH:MM, is refused; then the times are recorded and shown.
    for (started, ended, expected, code) in [
        ("11:30", "10:00", "10:00 is not after the start 11:30", 4),
        ("10:00", "10:00", "is not after the start", 4),
        ("9:30", "11:00", "--started", 2),
        ("10:00", "25:00", "--ended", 2),
    ] {
        let (_, text) = org.by(
            "isms",
            &[
                "review",
                "times",
                "--review",
                "r1",
                "--started",
                started,
                "--ended",
                ended,
            ],
            code,
        );
        assert!(text.contains(expected), "{started}-{ended}: {text}");
    }
    org.by(
        "isms",
        &[
            "review",
            "times",
            "--review",
            "r1",
            "--started",
            "09:00",
            "--ended",
            "14:15",
        ],
        0,
    );
    let (_, text) = rl(
        &[
            "minutes",
            "show",
            "--ledger",
            &org.ledger(),
            "--review",
            "r1",
        ],
        0,
    );
    assert!(
        text.contains("09:00 to 14:15 (5 h 15 min, declared)"),
        "{text}"
    );
    let (_, text) = rl(&["check", "--ledger", &org.ledger(), "--review", "r1"], 1);
    assert!(text.contains("meeting-length"), "{text}");
    org.by(
        "isms",
        &[
            "review",
            "close",
            "--review",
            "r1",
            "--next-review",
            "2027-01-20",
        ],
        0,
    );
    // ops did not attend: their signature is refused.
    let (_, text) = org.by("ops", &["minutes", "sign", "--review", "r1", "--yes"], 4);
    assert!(text.contains("did not attend"), "{text}");
    let (entries, _) = org.read(&["log"], 0);
    let before = entries.as_array().unwrap().len();
    rl(&["verify", "--ledger", &org.ledger()], 0);
    let (entries, _) = org.read(&["log"], 0);
    assert_eq!(
        entries.as_array().unwrap().len(),
        before,
        "refusals appended nothing"
    );
}

/// `--doc` and `--evidence` store a title, a location others can open and
/// the digest of a local copy; a location on this machine is refused before
/// anything is appended.
#[test]
fn documents_are_stored_by_shared_location_and_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let org = organisation(tmp.path());
    let copy = |name: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, format!("contents of {name}")).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let (risk, audit) = (copy("risk-register.xlsx"), copy("audit-summary.pdf"));
    org.by(
        "isms",
        &[
            "review",
            "schedule",
            "--review",
            "r1",
            "--title",
            "Annual ISMS management review",
            "--planned",
            "2026-01-20",
            "--period-start",
            "2025-01-01",
            "--period-end",
            "2025-12-31",
            "--chair",
            "ceo",
            "--expected",
            "ceo,ops,isms",
        ],
        0,
    );
    let circulate = |doc: &str, code: i32| {
        org.by(
            "isms",
            &[
                "review",
                "circulate",
                "--review",
                "r1",
                "--date",
                "2026-01-09",
                "--doc",
                doc,
            ],
            code,
        )
    };

    // A location on this machine is refused, naming the flag and the value,
    // and the ledger is left exactly as it was.
    let (before, _) = org.read(&["log"], 0);
    for (doc, fault) in [
        (format!("Risk register={risk}"), "is an absolute path"),
        (
            format!("Risk register={risk}=@{risk}"),
            "is an absolute path",
        ),
        (
            format!("Risk register=file://{risk}=@{risk}"),
            "is a file: URL",
        ),
        ("Risk register=DMS-1234".to_owned(), "no file to digest"),
        (risk.clone(), "no `=`"),
    ] {
        let (_, text) = circulate(&doc, 2);
        assert!(
            text.contains(&format!("--doc {doc:?}: ")) && text.contains(fault),
            "{doc}: {text}"
        );
    }
    let (after, _) = org.read(&["log"], 0);
    assert_eq!(before, after, "a refused --doc appended nothing");

    // Shared locations are stored as given, with the digests of the copies.
    org.by(
        "isms",
        &[
            "review",
            "circulate",
            "--review",
            "r1",
            "--date",
            "2026-01-09",
            "--doc",
            &format!("Risk register=https://dms.example/doc?id=42&v=3=@{risk}"),
            "--doc",
            &format!("Internal audit summary = DMS-1234 =@ {audit}"),
        ],
        0,
    );
    let (minutes, _) = org.read(&["minutes", "show", "--review", "r1"], 0);
    let digest = |name: &str| {
        blake3::hash(format!("contents of {name}").as_bytes())
            .to_hex()
            .to_string()
    };
    assert_eq!(
        minutes["minutes"]["pack"]["item"]["documents"],
        serde_json::json!([
            {
                "title": "Risk register",
                "location": "https://dms.example/doc?id=42&v=3",
                "digest": digest("risk-register.xlsx"),
            },
            {
                "title": "Internal audit summary",
                "location": "DMS-1234",
                "digest": digest("audit-summary.pdf"),
            },
        ])
    );

    // Evidence reads the same way; its file is optional.
    org.by(
        "isms",
        &[
            "review",
            "open",
            "--review",
            "r1",
            "--held",
            "2026-01-20",
            "--chair",
            "ceo",
            "--present",
            "ceo,ops,isms",
        ],
        0,
    );
    let (_, text) = org.by(
        "isms",
        &[
            "review",
            "input",
            "--review",
            "r1",
            "--input",
            "risk",
            "--summary",
            "Reviewed.",
            "--evidence",
            &format!("Risk register={risk}"),
        ],
        2,
    );
    assert!(
        text.contains("--evidence") && text.contains("is an absolute path"),
        "{text}"
    );
    org.by(
        "isms",
        &[
            "review",
            "input",
            "--review",
            "r1",
            "--input",
            "risk",
            "--summary",
            "Reviewed.",
            "--evidence",
            "Treatment plan=SharePoint: ISMS/Risk/plan.docx",
            "--evidence",
            &format!("Risk register=https://dms.example/doc?id=42=@{risk}"),
        ],
        0,
    );
    let (minutes, _) = org.read(&["minutes", "show", "--review", "r1"], 0);
    let inputs = &minutes["minutes"]["inputs"];
    assert_eq!(
        inputs["Risk"]["item"]["evidence"],
        serde_json::json!([
            {
                "title": "Treatment plan",
                "location": "SharePoint: ISMS/Risk/plan.docx",
                "digest": null,
            },
            {
                "title": "Risk register",
                "location": "https://dms.example/doc?id=42",
                "digest": digest("risk-register.xlsx"),
            },
        ]),
        "{inputs}"
    );
}
