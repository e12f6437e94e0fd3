//! The auditor's verification report: what `verify-bundle` established
//! about one evidence bundle, in words an auditor files.
//!
//! It opens with the verdict, one of three:
//! - `VERIFIED`: the bundle is complete, untampered evidence from the
//!   trusted ledger, and the review holds (top management signed the
//!   current minutes, nothing changed unsigned, no nonconformity);
//! - `VALID EVIDENCE, BUT THE REVIEW DOES NOT HOLD`, with the reasons;
//! - `VERIFICATION FAILED`: the bundle is not valid evidence, with the fault
//!   and the part at fault.
//!
//! Then what it was checked against (the bundle file and its digest, the
//! trusted ledger id, the signed checkpoint), each check made with the
//! counts it covered, who signed with their role and standing as at their
//! signature, the changes after signing, every conformance finding, and,
//! for a valid bundle, the minutes as this verifier replayed them from the
//! bundle's entries (never a rendering carried in the bundle).
//!
//! A failed verification establishes nothing about the review: the report
//! then says only what the bundle claims, marked as unverified.

use ledger_core::{Hash, LedgerId};

use super::{
    Block, Doc, Line, Running, Span, flag, minutes_blocks, mono, muted, rfc3339, signature_table,
    text,
};
use crate::bundle::{Bundle, BundleError, BundleReport};
use crate::conformance::{RULES, Severity};
use crate::subjects::Subject;
use crate::view::{MinutesView, Person};

/// What the verifier was given.
#[derive(Clone, Debug)]
pub struct Checked<'a> {
    /// The bundle file, as the auditor named it.
    pub file: &'a str,
    /// The blake3 digest of the file's bytes, which names the evidence the
    /// report is about.
    pub file_digest: Hash,
    /// The file's length in bytes.
    pub file_len: usize,
    /// The ledger id the auditor trusts.
    pub trusted: LedgerId,
}

/// What the verification found.
#[derive(Clone, Debug)]
pub enum Outcome<'a> {
    /// The bundle verified.
    Valid {
        /// What the verification established.
        report: &'a BundleReport,
        /// The review's minutes, replayed from the bundle's entries.
        minutes: &'a MinutesView<'a>,
        /// The signed checkpoint note every proof was checked against.
        checkpoint: &'a str,
    },
    /// The bundle did not verify.
    Invalid {
        /// The first fault found.
        fault: &'a BundleError,
        /// The bundle, when it decoded at all: what it claims, unverified.
        bundle: Option<&'a Bundle>,
    },
}

/// An auditor's verification of one bundle file: what `verify-bundle`
/// and the web console's auditor pages both run.
#[derive(Clone, Debug)]
pub struct FileVerification {
    /// What the verification established, when the bundle verified.
    pub report: Option<BundleReport>,
    /// The first fault, when it did not.
    pub fault: Option<BundleError>,
    /// The report rendered, when a format was asked for: the verdict first,
    /// `VERIFICATION FAILED` for a bundle that did not verify.
    pub rendered: Option<String>,
}

impl FileVerification {
    /// Whether the bundle verified and its review holds.
    pub fn holds(&self) -> bool {
        self.report.as_ref().is_some_and(BundleReport::holds)
    }
}

/// Decodes and verifies the bundle file `bytes` (named `file` in the
/// report) against the `trusted` ledger id as of `today`, rendering the
/// report in `format` when one is given.
pub fn verify_file(
    file: &str,
    bytes: &[u8],
    trusted: LedgerId,
    today: crate::ids::Date,
    format: Option<super::Format>,
) -> FileVerification {
    let checked = Checked {
        file,
        file_digest: Hash(*blake3::hash(bytes).as_bytes()),
        file_len: bytes.len(),
        trusted,
    };
    let decoded = Bundle::from_bytes(bytes);
    let verified = decoded
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|b| Ok((b, crate::bundle::verify(b, trusted, today)?)));
    match verified {
        Ok((b, (report, state))) => {
            let rendered = format.and_then(|f| {
                let minutes = MinutesView::of(&state, &b.review, None).ok()?;
                let outcome = Outcome::Valid {
                    report: &report,
                    minutes: &minutes,
                    checkpoint: &b.checkpoint,
                };
                Some(super::emit(&doc(&checked, &outcome), f))
            });
            FileVerification {
                report: Some(report),
                fault: None,
                rendered,
            }
        }
        Err(fault) => {
            let rendered = format.map(|f| {
                let outcome = Outcome::Invalid {
                    fault: &fault,
                    bundle: decoded.as_ref().ok(),
                };
                super::emit(&doc(&checked, &outcome), f)
            });
            FileVerification {
                report: None,
                fault: Some(fault),
                rendered,
            }
        }
    }
}

/// The report as a document.
pub(crate) fn doc(c: &Checked, outcome: &Outcome) -> Doc {
    match outcome {
        Outcome::Valid {
            report,
            minutes,
            checkpoint,
        } => valid(c, report, minutes, checkpoint),
        Outcome::Invalid { fault, bundle } => invalid(c, fault, *bundle),
    }
}

const SUBTITLE: &str = "Offline verification of an evidence bundle (review-ledger verify-bundle)";

/// `Ada Okafor (ceo), Ben Marsh (ops)`, or `none`.
fn people(list: &[Person]) -> String {
    if list.is_empty() {
        return "none".to_owned();
    }
    list.iter()
        .map(|p| format!("{} ({})", p.name, p.handle))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Why a valid bundle's review does not hold, each reason a clause.
fn reasons(r: &BundleReport) -> Vec<String> {
    let q = &r.audit.quorum;
    let mut out = Vec::new();
    if q.attended.is_empty() {
        out.push("no member of top management is recorded present at the meeting".to_owned());
    } else if !q.met {
        out.push(format!(
            "{} of the {} top-management signatures required are on the current minutes (not signed: {})",
            q.signed.len(),
            q.required,
            people(&q.missing)
        ));
    }
    let unsigned = r
        .audit
        .changes_after_signing
        .iter()
        .filter(|c| !c.signed_again)
        .count();
    if unsigned > 0 {
        out.push(format!(
            "{} after signing {} not signed again by top management",
            plural(unsigned, "change", "changes"),
            if unsigned == 1 { "was" } else { "were" }
        ));
    }
    let n = r.conformance.count(Severity::Nonconformity);
    if n > 0 {
        out.push(format!(
            "the conformance check found {}",
            plural(n, "nonconformity", "nonconformities")
        ));
    }
    out
}

fn subject_name(s: &Subject) -> String {
    match s {
        Subject::Roster => "the roster".into(),
        Subject::Review(r) => format!("review {r}"),
    }
}

fn valid(c: &Checked, r: &BundleReport, v: &MinutesView, checkpoint: &str) -> Doc {
    let a = &r.audit;
    let review = &a.review;
    let org = v.organisation;
    let holds = r.holds();
    let (short, verdict) = if holds {
        (
            "VERIFIED",
            vec![
                Span::Strong("VERIFIED".into()),
                text(format!(
                    ": the minutes of review {review} of {org} hold. The bundle is complete, untampered evidence from the trusted ledger; top management signed the current minutes, nothing changed after signing without being signed again, and the conformance check found no nonconformity (as of {}).",
                    r.conformance.as_of
                )),
            ],
        )
    } else {
        (
            "VALID EVIDENCE, BUT THE REVIEW DOES NOT HOLD",
            vec![
                flag("VALID EVIDENCE, BUT THE REVIEW DOES NOT HOLD"),
                text(format!(
                    ": the bundle is complete, untampered evidence from the trusted ledger, and it shows that the minutes of review {review} of {org} do not hold: {}.",
                    reasons(r).join("; ")
                )),
            ],
        )
    };
    let title = &v.record.minutes.schedule.item.title;
    let mut b = vec![
        Block::Verdict {
            ok: holds,
            line: verdict,
        },
        Block::Title {
            organisation: org.to_owned(),
            title: format!("Verification report: {title}"),
            subtitle: SUBTITLE.into(),
        },
    ];
    checked_against(c, r, review.as_str(), checkpoint, &mut b);
    checks(r, &mut b);
    signatures(r, &mut b);
    changes(r, &mut b);
    findings(r, &mut b);
    b.push(Block::Heading("The minutes".into()));
    b.push(Block::Para(vec![text(
        "The minutes follow as this verifier replayed them from the bundle's verified entries; the bundle carries no rendering of its own. The signatures above sign their digest.",
    )]));
    b.extend(minutes_blocks(v));
    Doc {
        title: format!("{short}: {org}, review {review}: verification report"),
        running: Some(Running {
            organisation: org.to_owned(),
            review: Some(review.to_string()),
            digest: Some(a.digest.to_hex()),
            footer: format!("Verification report: {short}"),
        }),
        blocks: b,
    }
}

/// The bundle file's name without its folder, for sentences: a long path
/// would break across lines.
fn file_name(c: &Checked) -> String {
    c.file
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(c.file)
        .to_owned()
}

fn bundle_file(c: &Checked) -> Line {
    vec![
        text(format!("{} ({} bytes), blake3 ", c.file, c.file_len)),
        mono(c.file_digest),
    ]
}

fn checked_against(
    c: &Checked,
    r: &BundleReport,
    review: &str,
    checkpoint: &str,
    b: &mut Vec<Block>,
) {
    b.push(Block::Heading("Checked against".into()));
    b.push(Block::Fields(vec![
        ("Bundle file".into(), bundle_file(c)),
        (
            "Trusted ledger id".into(),
            vec![mono(r.ledger_id), muted(" (the genesis entry's hash)")],
        ),
        ("Review".into(), vec![mono(review)]),
        ("Minutes digest".into(), vec![mono(r.audit.digest)]),
        (
            "Checkpoint".into(),
            vec![
                text(format!(
                    "{} entries, signed {} by the checkpoint key ",
                    r.checkpoint_size,
                    rfc3339(r.checkpoint_time)
                )),
                mono(&r.checkpoint_key),
            ],
        ),
        ("Checkpoint root".into(), vec![mono(r.checkpoint_root)]),
        (
            "Conformance as of".into(),
            vec![text(r.conformance.as_of.to_string())],
        ),
    ]));
    b.push(Block::Para(vec![text("The signed checkpoint:")]));
    b.push(Block::Pre(checkpoint.to_owned()));
}

/// Each check made, in words, with what it covered.
fn checks(r: &BundleReport, b: &mut Vec<Block>) {
    let n = r.entries;
    let size = r.checkpoint_size;
    let subjects: Vec<String> = r.subjects.iter().map(subject_name).collect();
    let a = &r.audit;
    let q = &a.quorum;
    let unsigned = a
        .changes_after_signing
        .iter()
        .filter(|c| !c.signed_again)
        .count();
    let c = &r.conformance;
    let passed = || vec![text("passed")];
    let rows: Vec<(String, Line)> = vec![
        (
            "The file is a version-1 evidence bundle in canonical form, for the trusted ledger, and carries evidence only (no rendered minutes).".into(),
            passed(),
        ),
        (
            format!("Every one of the {n} entries decoded canonically, and its author's ed25519 signature verified (verify_strict)."),
            passed(),
        ),
        (
            "The entries are chained: genesis first (its hash is the ledger id), then in ascending sequence order, each linking by hash to the one before wherever the two are consecutive in the ledger; each event names this ledger and no event id repeats.".into(),
            passed(),
        ),
        (
            format!("The checkpoint of {size} entries is signed by the checkpoint key that genesis names, and is for this ledger."),
            passed(),
        ),
        (
            format!("Every one of the {n} entries is proved by inclusion in the signed checkpoint's Merkle tree."),
            passed(),
        ),
        if r.head_checked {
            (
                format!("The bundle holds the checkpoint's last entry (#{}), and its hash is the checkpoint's head.", size.saturating_sub(1)),
                passed(),
            )
        } else {
            (
                format!("The checkpoint's head is the hash of its last entry (#{}): not compared, since that entry belongs to no subject in the bundle.", size.saturating_sub(1)),
                vec![muted("not applicable")],
            )
        },
        (
            format!(
                "Completeness: the checkpoint's subject map proves every entry of {} ({}) present and unchanged; nothing of them is left out.",
                plural(subjects.len(), "subject", "subjects"),
                subjects.join(", ")
            ),
            passed(),
        ),
        (
            format!("The admission rules were replayed over the {n} entries in order, as the ledger ran them when appending: every event was admissible."),
            passed(),
        ),
        (
            "Every role is judged by the roster as at each event: attendance as top management by the meeting's entry, each signature's weight by its own entry. No later roster change alters a verdict.".into(),
            passed(),
        ),
        (
            format!(
                "Top management signed the current minutes: {} of the {} signatures required (policy: {}); {}, {} not signed again.",
                q.signed.len(),
                q.required,
                q.policy.describe(),
                plural(a.changes_after_signing.len(), "change after signing", "changes after signing"),
                unsigned
            ),
            if a.holds() {
                vec![text("holds")]
            } else {
                vec![flag("DOES NOT HOLD")]
            },
        ),
        (
            format!(
                "The {} conformance rules, as of {}: {}, {}, {}.",
                RULES.len(),
                c.as_of,
                plural(c.count(Severity::Nonconformity), "nonconformity", "nonconformities"),
                plural(c.count(Severity::Warning), "warning", "warnings"),
                plural(c.count(Severity::Observation), "observation", "observations"),
            ),
            if c.passed() {
                passed()
            } else {
                vec![flag("FAILED")]
            },
        ),
    ];
    b.push(Block::Heading("Checks made".into()));
    b.push(Block::Table {
        head: vec!["No.".into(), "Check".into(), "Result".into()],
        rows: rows
            .into_iter()
            .enumerate()
            .map(|(i, (check, result))| {
                vec![vec![text((i + 1).to_string())], vec![text(check)], result]
            })
            .collect(),
    });
}

fn signatures(r: &BundleReport, b: &mut Vec<Block>) {
    let a = &r.audit;
    b.push(Block::Heading("Signatures on the minutes".into()));
    if a.signatures.is_empty() {
        b.push(Block::Notice(vec![
            flag("NOT SIGNED"),
            text(": nobody has signed these minutes"),
        ]));
        return;
    }
    let q = &a.quorum;
    let present = match q.roster_at {
        Some(at) => vec![
            text(format!(
                "Top management present at the meeting: {} (roster as at ",
                people(&q.attended)
            )),
            Span::Seq(at),
            text(format!(
                "). Signed the current minutes: {}. Not signed: {}. Each role and standing below is the roster's as at the signature's own entry.",
                people(&q.signed),
                people(&q.missing)
            )),
        ],
        None => vec![text(
            "No meeting is recorded, so nobody attended as top management. Each role and standing below is the roster's as at the signature's own entry.",
        )],
    };
    b.push(Block::Para(present));
    b.push(signature_table(&a.signatures));
}

fn changes(r: &BundleReport, b: &mut Vec<Block>) {
    let a = &r.audit;
    b.push(Block::Heading("Changes after signing".into()));
    if a.changes_after_signing.is_empty() {
        b.push(Block::Para(vec![text(if a.signatures.is_empty() {
            "None: the minutes have not been signed."
        } else {
            "None: nothing in the minutes changed after the first signature."
        })]));
        return;
    }
    b.push(Block::Table {
        head: vec![
            "Entry".into(),
            "Change".into(),
            "By".into(),
            "Received (UTC)".into(),
            "Amendment reason".into(),
            "Signed again".into(),
        ],
        rows: a
            .changes_after_signing
            .iter()
            .map(|ch| {
                let mut again: Line = Vec::new();
                if ch.signed_again {
                    again.push(text("yes, at "));
                    for (i, seq) in ch.signed_again_at.iter().enumerate() {
                        if i > 0 {
                            again.push(text(", "));
                        }
                        again.push(Span::Seq(*seq));
                    }
                } else {
                    again.push(flag("NOT signed again"));
                }
                vec![
                    vec![Span::Seq(ch.seq)],
                    vec![text(ch.what.clone())],
                    vec![text(format!("{} ({})", ch.by.name, ch.by.handle))],
                    vec![text(rfc3339(ch.received))],
                    match &ch.amendment {
                        Some(reason) => vec![text(reason.clone())],
                        None => vec![muted("no reason given")],
                    },
                    again,
                ]
            })
            .collect(),
    });
}

fn findings(r: &BundleReport, b: &mut Vec<Block>) {
    let c = &r.conformance;
    b.push(Block::Heading("Conformance findings".into()));
    let counts = format!(
        "{}, {}, {} under the {} rules, as of {}.",
        plural(
            c.count(Severity::Nonconformity),
            "nonconformity",
            "nonconformities"
        ),
        plural(c.count(Severity::Warning), "warning", "warnings"),
        plural(
            c.count(Severity::Observation),
            "observation",
            "observations"
        ),
        RULES.len(),
        c.as_of
    );
    b.push(Block::Para(if c.passed() {
        vec![text(format!("Passed: {counts}"))]
    } else {
        vec![flag("FAILED"), text(format!(": {counts}"))]
    }));
    if c.findings.is_empty() {
        return;
    }
    b.push(super::findings_table(&c.findings));
}

/// The check a fault belongs to, in words.
fn failed_check(fault: &BundleError) -> String {
    match fault {
        BundleError::Format(_) => {
            "the file's format: a canonical version-1 evidence bundle that carries evidence only"
                .into()
        }
        BundleError::WrongLedger { .. } => {
            "the ledger: the bundle must come from the trusted ledger".into()
        }
        BundleError::Checkpoint(_) => "the checkpoint: signed by the key that genesis names, for this ledger, committing to a subject map, its head the hash of its last entry".into(),
        BundleError::Damaged { position, .. } => format!(
            "the entry at position {position} of the bundle: decoded, signed by its author"
        ),
        BundleError::Entry { seq, .. } => format!(
            "entry #{seq}: decoded, signed by its author, in order and chained, proved in the checkpoint, admissible under the rules"
        ),
        BundleError::Subject { subject, .. } => format!(
            "completeness of {subject}: every entry present and unchanged, as the checkpoint's subject map commits"
        ),
    }
}

fn invalid(c: &Checked, fault: &BundleError, bundle: Option<&Bundle>) -> Doc {
    let short = "VERIFICATION FAILED";
    let mut b = vec![
        Block::Verdict {
            ok: false,
            line: vec![
                flag(short),
                text(format!(
                    ": the bundle {} is not valid evidence, and nothing in it is established. {fault}",
                    file_name(c)
                )),
            ],
        },
        Block::Title {
            organisation: "Organisation not established".into(),
            title: "Verification report: verification failed".into(),
            subtitle: SUBTITLE.into(),
        },
    ];
    b.push(Block::Heading("The fault".into()));
    b.push(Block::Fields(vec![
        ("Failed check".into(), vec![text(failed_check(fault))]),
        ("Fault".into(), vec![flag(fault.to_string())]),
    ]));
    b.push(Block::Para(vec![text(
        "Verification stops at the first fault, so the checks after it were not made. Do not rely on the minutes, the signatures or anything else this bundle carries: ask for the review to be exported again, and verify the new bundle.",
    )]));
    b.push(Block::Heading("Checked against".into()));
    let mut f = vec![
        ("Bundle file".into(), bundle_file(c)),
        ("Trusted ledger id".into(), vec![mono(c.trusted)]),
    ];
    match bundle {
        Some(bundle) => {
            let mut ledger = vec![mono(bundle.ledger_id)];
            if bundle.ledger_id != c.trusted {
                ledger.push(text(" "));
                ledger.push(flag("not the trusted ledger"));
            }
            f.push(("Ledger the bundle names".into(), ledger));
            f.push((
                "Review the bundle names".into(),
                vec![mono(&bundle.review), muted(" (unverified)")],
            ));
            f.push((
                "Entries in the bundle".into(),
                vec![text(bundle.entries.len().to_string())],
            ));
        }
        None => f.push((
            "Contents".into(),
            vec![muted("not read: the file does not decode as a bundle")],
        )),
    }
    b.push(Block::Fields(f));
    let review = bundle.map(|b| format!("{} (unverified)", b.review));
    Doc {
        title: format!("{short}: bundle {}: verification report", file_name(c)),
        running: Some(Running {
            organisation: "Organisation not established".into(),
            review,
            digest: None,
            footer: format!("Verification report: {short}"),
        }),
        blocks: b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReviewId;
    use crate::audit::audit;
    use crate::bundle::BUNDLE_VERSION;
    use crate::conformance::check;
    use crate::conformance::tests::{Script, amend, today};
    use crate::render::{Format, emit};
    use crate::story;
    use ledger_core::UnixMicros;

    fn checked(trusted: LedgerId) -> Checked<'static> {
        Checked {
            file: "audit/2026.bundle",
            file_digest: Hash([0xab; 32]),
            file_len: 12345,
            trusted,
        }
    }

    /// The report on the current review after `edit`, as a verification of
    /// its bundle finds it, in every format.
    fn valid_reports(edit: fn(&mut Script)) -> (BundleReport, Vec<(Format, String)>) {
        let mut script = Script::story();
        edit(&mut script);
        let r = script.run();
        let review = story::current_id();
        let report = BundleReport {
            ledger_id: r.ledger_id(),
            checkpoint_size: r.events.len() as u64,
            checkpoint_root: Hash([0x11; 32]),
            checkpoint_time: UnixMicros(1_764_590_400_000_000),
            checkpoint_key: "aaaa:bbbb:cccc:dddd".into(),
            head_checked: true,
            entries: 40,
            subjects: vec![
                Subject::Roster,
                Subject::Review(review.clone()),
                Subject::Review(story::previous_id()),
            ],
            audit: audit(&r.state, &review).expect("scheduled"),
            conformance: check(&r.state, &review, today()).expect("scheduled"),
        };
        let view = MinutesView::of(&r.state, &review, None).expect("scheduled");
        let d = doc(
            &checked(r.ledger_id()),
            &Outcome::Valid {
                report: &report,
                minutes: &view,
                checkpoint: "review-ledger checkpoint\nsize 60\n",
            },
        );
        let outs = Format::ALL.map(|f| (f, emit(&d, f))).into();
        (report, outs)
    }

    fn invalid_reports(fault: &BundleError, bundle: Option<&Bundle>) -> Vec<(Format, String)> {
        let d = doc(
            &checked(Hash([0x22; 32])),
            &Outcome::Invalid { fault, bundle },
        );
        Format::ALL.map(|f| (f, emit(&d, f))).into()
    }

    /// Tags stripped, entities decoded, Markdown marks and whitespace
    /// squashed, so that every format reads as its words.
    fn words(s: &str) -> String {
        let mut out = String::new();
        let mut tag: Option<String> = None;
        for ch in s.chars() {
            match (&mut tag, ch) {
                (None, '<') => tag = Some(String::new()),
                (Some(t), '>') => {
                    // Blocks and cells are apart; inline elements are not.
                    let name = t.trim_start_matches('/').split(' ').next().unwrap_or("");
                    if !matches!(name, "span" | "code" | "strong" | "a") {
                        out.push(' ');
                    }
                    tag = None;
                }
                (Some(t), ch) => t.push(ch),
                (None, ch) => out.push(ch),
            }
        }
        let out = out
            .replace("&amp;", "&")
            .replace("&#39;", "'")
            .replace("&quot;", "\"")
            .replace(['*', '`', '\\', '>', '!'], "")
            .replace('|', " ");
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The first paragraph of a rendering's content (the first line of
    /// HTML's `<main>`, text's lines up to the first blank one).
    fn opening(format: Format, out: &str) -> String {
        let body = match format {
            Format::Html => out
                .split("<main>")
                .nth(1)
                .and_then(|m| m.lines().find(|l| !l.trim().is_empty()))
                .unwrap_or(""),
            _ => out.split("\n\n").next().unwrap_or(""),
        };
        words(body)
    }

    /// Each `needle`, in order, in `all`. The text back end wraps table
    /// cells in columns side by side, so there a needle that is not found
    /// whole needs only each of its words (or a wrapped digest's start).
    fn says_in_order(name: &str, format: Format, all: &str, needles: &[&str]) {
        let missing = |needle: &str| -> ! {
            panic!("{name} {format:?}: {needle:?} missing or out of order:\n{all}")
        };
        let bare = |w: &str| {
            w.trim_matches(|c: char| c.is_ascii_punctuation())
                .to_owned()
        };
        let mut from = 0;
        for needle in needles {
            match all[from..].find(needle) {
                Some(at) => from += at,
                None if format == Format::Text => {
                    for w in needle.split(' ').map(bare) {
                        if !all.split(' ').any(|x| bare(x).starts_with(&w)) {
                            missing(needle);
                        }
                    }
                }
                None => missing(needle),
            }
        }
    }

    /// A valid bundle: how the story is changed, what the report opens
    /// with, what it says in order, what it must not say.
    type Valid = (
        &'static str,
        fn(&mut Script),
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    );

    #[test]
    fn a_valid_bundle_is_reported_with_its_checks_then_the_minutes() {
        let cases: [Valid; 3] = [
            (
                "holds",
                |_| {},
                "VERIFIED: the minutes of review mr-current of Northwind Analytics Ltd hold. The bundle is complete, untampered evidence",
                &[
                    "Checked against",
                    "Trusted ledger id",
                    "Minutes digest",
                    "signed 2025-12-01T12:00:00Z by the checkpoint key aaaa:bbbb:cccc:dddd",
                    "Checks made",
                    "Every one of the 40 entries decoded canonically, and its author's ed25519 signature verified",
                    "The entries are chained",
                    "signed by the checkpoint key that genesis names",
                    "Every one of the 40 entries is proved by inclusion in the signed checkpoint",
                    "its hash is the checkpoint's head",
                    "3 subjects (the roster, review mr-current, review mr-prev)",
                    "admission rules were replayed over the 40 entries",
                    "roster as at each event",
                    "2 of the 2 signatures required",
                    "holds",
                    "The 15 conformance rules, as of 2026-12-01",
                    "Signatures on the minutes",
                    "Ada Okafor Chief Executive yes",
                    "Ben Marsh Operations Director yes",
                    "Changes after signing",
                    "None: nothing in the minutes changed after the first signature.",
                    "Conformance findings",
                    "Passed: 0 nonconformities",
                    "The minutes",
                    "Minutes of the ISMS management review",
                    "Inputs considered (clause 9.3.2)",
                ],
                &[
                    "DOES NOT HOLD",
                    "FAILED",
                    "NOT signed again",
                    "THE MINUTES HOLD",
                ],
            ),
            (
                "a top manager has not signed",
                |s| s.unsign("ops"),
                "VALID EVIDENCE, BUT THE REVIEW DOES NOT HOLD: the bundle is complete, untampered evidence from the trusted ledger, and it shows that the minutes of review mr-current of Northwind Analytics Ltd do not hold: 1 of the 2 top-management signatures required are on the current minutes (not signed: Ben Marsh (ops)); the conformance check found 1 nonconformity.",
                &[
                    "Checks made",
                    "1 of the 2 signatures required",
                    "DOES NOT HOLD",
                    "Signatures on the minutes",
                    "Not signed: Ben Marsh (ops)",
                    "Ada Okafor Chief Executive yes",
                    "Conformance findings",
                    "FAILED: 1 nonconformity",
                    "minutes-signed",
                    "The minutes",
                ],
                &[
                    "VERIFIED:",
                    "Signed the current minutes: Ada Okafor (ceo), Ben Marsh",
                ],
            ),
            (
                "amended after signing, not signed again",
                |s| s.then([amend()]),
                "VALID EVIDENCE, BUT THE REVIEW DOES NOT HOLD",
                &[
                    "1 change after signing was not signed again by top management",
                    "Checks made",
                    "1 change after signing, 1 not signed again",
                    "Changes after signing",
                    "input risk Chloe Varga (isms)",
                    "the risk treatment status was misstated in the draft",
                    "NOT signed again",
                    "The minutes",
                ],
                &["VERIFIED:"],
            ),
        ];
        for (name, edit, opens, says, hides) in cases {
            let (report, outs) = valid_reports(edit);
            assert_eq!(report.holds(), name == "holds", "{name}");
            for (format, out) in outs {
                let first = opening(format, &out);
                assert!(
                    first.starts_with(opens),
                    "{name} {format:?}: the report opens with {first:?}"
                );
                let all = words(&out);
                says_in_order(name, format, &all, says);
                for needle in hides {
                    assert!(!all.contains(needle), "{name} {format:?} says {needle:?}");
                }
            }
        }
    }

    /// An invalid bundle: the fault, what the report says about the check
    /// it failed.
    type Invalid = (BundleError, &'static str);

    #[test]
    fn an_invalid_bundle_is_reported_as_failed_and_nothing_more() {
        let cases: [Invalid; 5] = [
            (
                BundleError::Format("cannot decode bundle: trailing bytes".into()),
                "the file's format",
            ),
            (
                BundleError::WrongLedger {
                    found: Hash([0x33; 32]),
                    trusted: Hash([0x22; 32]),
                },
                "the ledger: the bundle must come from the trusted ledger",
            ),
            (
                BundleError::Checkpoint("signature does not verify".into()),
                "the checkpoint: signed by the key that genesis names",
            ),
            (
                BundleError::Entry {
                    seq: 41,
                    reason: "inclusion proof does not lead to the root".into(),
                },
                "entry #41: decoded, signed by its author, in order and chained, proved in the checkpoint",
            ),
            (
                BundleError::Subject {
                    subject: "review mr-current".into(),
                    reason: "has entries in the bundle but no proof of its tip".into(),
                },
                "completeness of review mr-current",
            ),
        ];
        let claimed = Bundle {
            version: BUNDLE_VERSION,
            ledger_id: Hash([0x33; 32]),
            review: ReviewId::new("mr-current").expect("valid"),
            checkpoint: String::new(),
            entries: Vec::new(),
            subjects: Vec::new(),
            minutes_html: String::new(),
        };
        for (fault, failed) in cases {
            let name = fault.to_string();
            for bundle in [None, Some(&claimed)] {
                for (format, out) in invalid_reports(&fault, bundle) {
                    let first = opening(format, &out);
                    let opens = format!(
                        "VERIFICATION FAILED: the bundle 2026.bundle is not valid evidence, and nothing in it is established. {name}"
                    );
                    assert!(
                        first.starts_with(&opens),
                        "{name} {format:?}: the report opens with {first:?}"
                    );
                    let all = words(&out);
                    let mut says = vec![
                        "Verification report: verification failed",
                        "The fault",
                        "Failed check",
                        failed,
                        "Fault",
                        name.as_str(),
                        "Verification stops at the first fault",
                        "Checked against",
                        "Bundle file",
                        "audit/2026.bundle (12345 bytes), blake3 abab",
                        "Trusted ledger id",
                        "2222",
                    ];
                    match bundle {
                        Some(_) => says.extend([
                            "Ledger the bundle names",
                            "3333",
                            "not the trusted ledger",
                            "Review the bundle names",
                            "mr-current (unverified)",
                            "Entries in the bundle",
                            "0",
                        ]),
                        None => says.push("the file does not decode as a bundle"),
                    }
                    says_in_order(&name, format, &all, &says);
                    for hides in [
                        "VERIFIED",
                        "VALID EVIDENCE",
                        "Checks made",
                        "Signatures on the minutes",
                        "The minutes",
                        "Inputs considered",
                    ] {
                        assert!(!all.contains(hides), "{name} {format:?} says {hides:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_html_title_and_margins_carry_the_verdict() {
        let html = |outs: Vec<(Format, String)>| {
            outs.into_iter()
                .find(|(f, _)| *f == Format::Html)
                .expect("every format")
                .1
        };
        let title = |page: &str| {
            page.split("<title>")
                .nth(1)
                .and_then(|t| t.split("</title>").next())
                .unwrap_or("")
                .to_owned()
        };
        /// How the story is changed, the page's title, its footer.
        type Case = (fn(&mut Script), &'static str, &'static str);
        let cases: [Case; 2] = [
            (
                |_| {},
                "VERIFIED: Northwind Analytics Ltd, review mr-current: verification report",
                "Verification report: VERIFIED",
            ),
            (
                |s| s.unsign("ops"),
                "VALID EVIDENCE, BUT THE REVIEW DOES NOT HOLD: Northwind Analytics Ltd, review mr-current: verification report",
                "Verification report: VALID EVIDENCE, BUT THE REVIEW DOES NOT HOLD",
            ),
        ];
        for (edit, expected_title, footer) in cases {
            let (report, outs) = valid_reports(edit);
            let page = html(outs);
            crate::render::tests::assert_self_contained(&page);
            assert_eq!(title(&page), expected_title);
            for needle in [
                "@top-left { content: \"Northwind Analytics Ltd \\b7  review mr-current\"; }"
                    .to_owned(),
                format!(
                    "@top-right {{ content: \"minutes digest {}\"; }}",
                    report.audit.digest.to_hex()
                ),
                format!("@bottom-left {{ content: \"{footer}\"; }}"),
                "content: \"Page \" counter(page) \" of \" counter(pages)".to_owned(),
            ] {
                assert!(page.contains(&needle), "the page lacks {needle:?}");
            }
            // The minutes start a printed page of their own.
            assert_eq!(page.matches("<header class=\"part\">").count(), 1);
        }
        let fault = BundleError::Checkpoint("signature does not verify".into());
        let page = html(invalid_reports(&fault, None));
        crate::render::tests::assert_self_contained(&page);
        assert!(
            title(&page).starts_with("VERIFICATION FAILED: bundle 2026.bundle"),
            "{}",
            title(&page)
        );
        assert!(
            page.contains(
                "@bottom-left { content: \"Verification report: VERIFICATION FAILED\"; }"
            )
        );
        assert!(!page.contains("minutes digest"));
    }
}
