//! `review record --from FILE`: a whole review from the example file in
//! docs/, checked as a whole first, appended, recognised on a second run,
//! and written back by `minutes show --format toml`.

use std::path::Path;

use e2e::{rl, run};

use crate::review::organisation;

fn entries(l: &str) -> usize {
    let (log, _) = rl(&["log", "--json", "--ledger", l], 0);
    log.as_array().unwrap().len()
}

#[test]
fn a_review_is_recorded_from_one_file() {
    let tmp = tempfile::tempdir().unwrap();
    let org = organisation(tmp.path());
    let l = org.ledger();
    let docs = tmp.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/review-example.toml");
    let text = std::fs::read_to_string(&example).unwrap();
    let file = docs.join("review.toml");
    std::fs::write(&file, &text).unwrap();
    for pack in ["audit-summary.pdf", "risk-register.xlsx"] {
        std::fs::write(docs.join(pack), format!("our copy of {pack}")).unwrap();
    }
    let record = |file: &Path, code: i32| {
        org.by(
            "isms",
            &[
                "review",
                "record",
                "--json",
                "--from",
                file.to_str().unwrap(),
            ],
            code,
        )
    };

    // A file with problems: each is named with its line, nothing appended.
    let before = entries(&l);
    let broken = docs.join("broken.toml");
    std::fs::write(
        &broken,
        text.replace("owner = \"hr\"", "owner = \"nobody\"")
            .replace("due = \"2027-11-26\"", "due = \"2027-13-26\""),
    )
    .unwrap();
    let (_, said) = record(&broken, 4);
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert!(
        said.contains(&format!("line {}", line_of("id = \"2026-o1\"") - 1)),
        "the objective's bad date is named with its line: {said}"
    );
    assert!(said.contains("2027-13-26"), "{said}");
    assert_eq!(entries(&l), before, "nothing was appended");
    let (_, said) = record(&broken, 4);
    assert!(said.contains("nothing was recorded"), "{said}");
    // The rules, not only the fields: an owner who is not a member.
    let stranger = docs.join("stranger.toml");
    std::fs::write(
        &stranger,
        text.replace("owner = \"hr\"", "owner = \"nobody\""),
    )
    .unwrap();
    let (_, said) = record(&stranger, 4);
    assert!(said.contains("nobody is not an enrolled member"), "{said}");
    assert!(
        said.contains(&format!("line {}", line_of("id = \"2026-a2\"") - 1)),
        "{said}"
    );
    assert_eq!(entries(&l), before);
    // A TOML error names its line.
    let bad_toml = docs.join("bad.toml");
    std::fs::write(&bad_toml, "review = \"2026\"\ntitle = \n").unwrap();
    let (_, said) = record(&bad_toml, 2);
    assert!(said.contains("line 2"), "{said}");

    // Part of the file first (as a run that stopped half way would leave
    // it), then the whole: only what is missing is appended.
    let head = docs.join("head.toml");
    std::fs::write(&head, &text[..text.find("[meeting]").unwrap()]).unwrap();
    let (v, _) = record(&head, 0);
    assert_eq!(v["appended"].as_array().unwrap().len(), 2, "{v}");
    let (v, _) = record(&file, 0);
    assert_eq!(v["already_recorded"], 2, "{v}");
    let appended = v["appended"].as_array().unwrap().len();
    // Meeting and times, ten inputs, two decisions, two actions, an objective, the close.
    assert_eq!(appended, 2 + 10 + 2 + 2 + 1 + 1, "{v}");
    let (v, _) = record(&file, 0);
    assert_eq!(v["appended"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v["already_recorded"], appended + 2);

    let (reviews, _) = rl(&["reviews", "--json", "--ledger", &l], 0);
    assert_eq!(reviews[0]["status"], "closed", "{reviews}");
    assert_eq!(reviews[0]["inputs"], 10, "{reviews}");

    // Written back in the same shape.
    let (code, toml_text, stderr) = run(&[
        "minutes", "show", "--review", "2026", "--format", "toml", "--ledger", &l,
    ])
    .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(toml_text.contains("review = \"2026\""), "{toml_text}");
    assert_eq!(toml_text.matches("[[input]]").count(), 10, "{toml_text}");
    assert!(toml_text.contains("id = \"2026-a1\""), "{toml_text}");
    assert!(
        toml_text.contains("Internal audit summary=DMS-1234"),
        "{toml_text}"
    );
}
