//! The events the console's forms build: one function from a posted form
//! (field name to text) to the payload of an event kind, with the same
//! vocabulary as the CLI's flags (`review::vocab`'s parsers). The rules
//! about what may be recorded stay in `review`: `sign::build` admits the
//! event against the ledger before the browser is asked to sign it.
//!
//! Lists (attendees, inputs) are written comma- or line-separated; evidence
//! is one `TITLE=LOCATION` a line; a pack's documents come as numbered rows
//! (`doc_title_N`, `doc_location_N`, `doc_digest_N`), the digest computed
//! by the server from an uploaded copy that it does not keep.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ledger_core::{Credential, Hash, PublicKey};
use review::ids::TimeOfDay;
use review::vocab::{
    Act, ActionState, ActionStatus, ActionUpdate, Assess, Circulate, Close, Content, Decision,
    DecisionKind, Document, Evidence, Input, MeetingTimes, Objective, Open, Schedule,
    local_location,
};
use review::{
    ActionId, Date, InputKey, LedgerState, MemberId, ObjectiveId, Payload, Rejection, ReviewId,
    RosterChange,
};

/// A posted form: field name to its text.
pub type Fields = HashMap<String, String>;

/// Document rows of the pack form.
pub const DOCUMENT_ROWS: usize = 6;

/// The event kinds the review forms build.
pub const KINDS: [&str; 13] = [
    "review.schedule",
    "review.circulate",
    "review.open",
    "review.meeting-times",
    "review.input",
    "review.action-status",
    "review.decide",
    "review.act",
    "review.objective-set",
    "review.objective-assess",
    "review.close",
    "action.update",
    "roster.propose",
];

fn bad(field: &str, reason: impl Into<String>) -> Rejection {
    Rejection::Malformed {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The passkey a browser registered: its credential id and DER public key
/// (base64url, as `navigator.credentials.create` gives them), COSE
/// algorithm and relying party id.
fn passkey(f: &Fields) -> Result<Credential, Rejection> {
    let b64 = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(required(f, name)?)
            .map_err(|_| bad(name, "not base64url"))
    };
    let algorithm = required(f, "algorithm")?
        .parse::<i32>()
        .map_err(|_| bad("algorithm", "not a COSE algorithm number"))?;
    Credential::from_registration(
        required(f, "rp_id")?,
        b64("credential_id")?,
        algorithm,
        &b64("public_key_der")?,
    )
    .map_err(|e| Rejection::BadKey {
        field: "passkey",
        reason: e.to_string(),
    })
}

/// The trimmed text of `name`, empty when absent.
fn text<'f>(f: &'f Fields, name: &str) -> &'f str {
    f.get(name).map(|s| s.trim()).unwrap_or("")
}

/// The text of `name`, or `None` when it is empty.
fn optional<'f>(f: &'f Fields, name: &str) -> Option<&'f str> {
    Some(text(f, name)).filter(|t| !t.is_empty())
}

/// The text of `name`, which must be given.
fn required<'f>(f: &'f Fields, name: &str) -> Result<&'f str, Rejection> {
    optional(f, name).ok_or_else(|| bad(name, "is empty"))
}

fn date(f: &Fields, name: &str) -> Result<Date, Rejection> {
    Date::parse(name, required(f, name)?)
}

fn member(f: &Fields, name: &str) -> Result<MemberId, Rejection> {
    MemberId::new(required(f, name)?)
}

/// Comma- or line-separated items of `name`.
fn items<'f>(f: &'f Fields, name: &str) -> impl Iterator<Item = &'f str> {
    text(f, name)
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn members(f: &Fields, name: &str) -> Result<Vec<MemberId>, Rejection> {
    items(f, name).map(MemberId::new).collect()
}

fn inputs(f: &Fields, name: &str) -> Result<Vec<InputKey>, Rejection> {
    items(f, name).map(InputKey::parse).collect()
}

/// A location others can open, or why it is not one.
fn shared(field: &str, location: &str) -> Result<String, Rejection> {
    match local_location(location) {
        Some(what) => Err(bad(
            field,
            format!(
                "{location:?} is {what}, which nobody else can open: give a URL or a reference such as DMS-1234"
            ),
        )),
        None => Ok(location.to_owned()),
    }
}

fn documents(f: &Fields) -> Result<Vec<Document>, Rejection> {
    let mut out = Vec::new();
    for n in 1..=DOCUMENT_ROWS {
        let (title, location, digest) = (
            text(f, &format!("doc_title_{n}")),
            text(f, &format!("doc_location_{n}")),
            text(f, &format!("doc_digest_{n}")),
        );
        if title.is_empty() && location.is_empty() && digest.is_empty() {
            continue;
        }
        let field = |what: &str| format!("document {n} {what}");
        if title.is_empty() {
            return Err(bad(&field("title"), "is empty"));
        }
        if location.is_empty() {
            return Err(bad(
                &field("location"),
                "is empty: give where others find it",
            ));
        }
        let digest = Hash::from_hex("digest", digest).map_err(|_| {
            bad(
                &field("digest"),
                "is not a blake3 digest: choose the file to compute it",
            )
        })?;
        out.push(Document {
            title: title.to_owned(),
            location: shared(&field("location"), location)?,
            digest,
        });
    }
    Ok(out)
}

fn evidence(f: &Fields) -> Result<Vec<Evidence>, Rejection> {
    items(f, "evidence")
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (title, location) = line
                .split_once('=')
                .ok_or_else(|| bad("evidence", format!("{line:?} is not TITLE=LOCATION")))?;
            Ok(Evidence {
                title: title.trim().to_owned(),
                location: shared("evidence", location.trim())?,
                digest: None,
            })
        })
        .collect()
}

fn status(f: &Fields) -> Result<ActionState, Rejection> {
    ActionState::parse(
        required(f, "status")?,
        optional(f, "revised_due"),
        optional(f, "owner"),
    )
}

fn content<T>(f: &Fields, body: T) -> Result<Content<T>, Rejection> {
    Ok(Content {
        review: ReviewId::new(required(f, "review")?)?,
        amendment: optional(f, "amendment").map(str::to_owned),
        body,
    })
}

/// The payload of an event of `kind` from form `f`, in a ledger in `state`.
pub fn payload(kind: &str, f: &Fields, state: &LedgerState) -> Result<Payload, Rejection> {
    Ok(match kind {
        "review.schedule" => Payload::Schedule(content(
            f,
            Schedule {
                title: required(f, "title")?.to_owned(),
                planned: date(f, "planned")?,
                period_start: date(f, "period_start")?,
                period_end: date(f, "period_end")?,
                chair: member(f, "chair")?,
                expected: members(f, "expected")?,
                previous: optional(f, "previous").map(ReviewId::new).transpose()?,
                part_of: optional(f, "part_of").map(str::to_owned),
            },
        )?),
        "review.circulate" => Payload::Circulate(content(
            f,
            Circulate {
                circulated: date(f, "circulated")?,
                documents: documents(f)?,
            },
        )?),
        "review.open" => Payload::Open(content(
            f,
            Open {
                held: date(f, "held")?,
                chair: member(f, "chair")?,
                present: members(f, "present")?,
                apologies: members(f, "apologies")?,
            },
        )?),
        "review.meeting-times" => Payload::MeetingTimes(content(
            f,
            MeetingTimes {
                started: TimeOfDay::parse("started", required(f, "started")?)?,
                ended: TimeOfDay::parse("ended", required(f, "ended")?)?,
            },
        )?),
        "review.input" => {
            let nothing = text(f, "nothing_to_report") == "yes";
            let summary = match optional(f, "summary") {
                Some(s) => s.to_owned(),
                None if nothing => "Nothing to report for this input in the period covered.".into(),
                None => return Err(bad("summary", "is empty")),
            };
            Payload::Input(content(
                f,
                Input {
                    input: InputKey::parse(required(f, "input")?)?,
                    summary,
                    evidence: evidence(f)?,
                    nothing_to_report: nothing,
                },
            )?)
        }
        "review.action-status" => Payload::ActionStatus(content(
            f,
            ActionStatus {
                action: ActionId::new(required(f, "action")?)?,
                status: status(f)?,
                note: required(f, "note")?.to_owned(),
            },
        )?),
        "review.decide" => Payload::Decide(content(
            f,
            Decision {
                kind: DecisionKind::parse(required(f, "decision_kind")?)?,
                text: required(f, "text")?.to_owned(),
                inputs: inputs(f, "inputs")?,
            },
        )?),
        "review.act" => {
            let review = ReviewId::new(required(f, "review")?)?;
            let action = match optional(f, "action") {
                Some(id) => ActionId::new(id)?,
                None => state.reviews.next_action_id(&review)?,
            };
            let decision = optional(f, "decision")
                .map(|d| {
                    d.parse::<u16>()
                        .map_err(|_| bad("decision", format!("{d:?} is not a decision number")))
                })
                .transpose()?;
            Payload::Act(content(
                f,
                Act {
                    action,
                    owner: member(f, "owner")?,
                    due: date(f, "due")?,
                    text: required(f, "text")?.to_owned(),
                    decision,
                },
            )?)
        }
        "review.objective-set" => Payload::Objective(content(
            f,
            Objective {
                objective: ObjectiveId::new(required(f, "objective")?)?,
                text: required(f, "text")?.to_owned(),
                owner: member(f, "owner")?,
                measure: required(f, "measure")?.to_owned(),
                target: required(f, "target")?.to_owned(),
                due: date(f, "due")?,
            },
        )?),
        "review.objective-assess" => Payload::Assess(content(
            f,
            Assess {
                objective: ObjectiveId::new(required(f, "objective")?)?,
                met: match required(f, "met")? {
                    "met" => true,
                    "not-met" => false,
                    other => return Err(bad("met", format!("{other:?} is not met or not-met"))),
                },
                why: required(f, "why")?.to_owned(),
            },
        )?),
        "review.close" => Payload::Close(content(
            f,
            Close {
                next_review: date(f, "next_review")?,
            },
        )?),
        "roster.propose" => {
            let handle = member(f, "member")?;
            // A passkey is named by its key id (`passkey:<hex>`).
            let key = || {
                let text = required(f, "public_key")?;
                match text.strip_prefix("passkey:") {
                    Some(id) => PublicKey::from_hex(id),
                    None => PublicKey::from_text(text),
                }
                .map_err(|e| Rejection::BadKey {
                    field: "public_key",
                    reason: e.to_string(),
                })
            };
            Payload::Propose(match required(f, "change")? {
                "add-key" => RosterChange::AddKey {
                    handle,
                    key: key()?,
                },
                "add-device-key" => RosterChange::AddDeviceKey {
                    handle,
                    key: key()?,
                },
                "retire-key" => RosterChange::RetireKey {
                    handle,
                    key: key()?,
                },
                "add-passkey" => RosterChange::AddPasskey {
                    handle,
                    credential: passkey(f)?,
                },
                other => {
                    return Err(bad(
                        "change",
                        format!(
                            "{other:?} is not add-key, add-device-key, retire-key or add-passkey"
                        ),
                    ));
                }
            })
        }
        "action.update" => Payload::ActionUpdate(ActionUpdate {
            action: ActionId::new(required(f, "action")?)?,
            status: status(f)?,
            note: required(f, "note")?.to_owned(),
        }),
        other => {
            return Err(bad(
                "kind",
                format!(
                    "the console cannot build a {} event",
                    review::ids::quoted(other)
                ),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Each form builds the payload of its own kind, so that what the
    /// browser is asked to sign is the event the form named.
    #[test]
    fn each_form_builds_its_kind() {
        let state = LedgerState::new();
        let digest = "ab".repeat(32);
        let key = ledger_core::KeyPair::from_seed([2; 32]).public().to_text();
        let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
            (
                "review.schedule",
                vec![
                    ("title", "Annual review"),
                    ("planned", "2026-11-26"),
                    ("period_start", "2025-11-01"),
                    ("period_end", "2026-10-31"),
                    ("chair", "ceo"),
                    ("expected", "ceo, ops\nisms"),
                ],
            ),
            (
                "review.circulate",
                vec![
                    ("circulated", "2026-11-18"),
                    ("doc_title_1", "Risk register"),
                    ("doc_location_1", "https://dms.example/42"),
                    ("doc_digest_1", &digest),
                ],
            ),
            (
                "review.open",
                vec![
                    ("held", "2026-11-26"),
                    ("chair", "ceo"),
                    ("present", "ceo,ops"),
                    ("apologies", ""),
                ],
            ),
            (
                "review.meeting-times",
                vec![("started", "10:00"), ("ended", "11:30")],
            ),
            (
                "review.input",
                vec![
                    ("input", "risk"),
                    ("summary", "Two risks rose."),
                    ("evidence", "Register=https://dms.example/42"),
                ],
            ),
            (
                "review.action-status",
                vec![
                    ("action", "2025-a1"),
                    ("status", "overdue"),
                    ("revised_due", "2027-01-31"),
                    ("owner", "it"),
                    ("note", "Late"),
                ],
            ),
            (
                "review.decide",
                vec![
                    ("decision_kind", "resources"),
                    ("text", "Adequate."),
                    ("inputs", "risk, monitoring"),
                ],
            ),
            (
                "review.act",
                vec![
                    ("owner", "it"),
                    ("due", "2027-02-01"),
                    ("text", "Do it"),
                    ("decision", "1"),
                ],
            ),
            (
                "review.objective-set",
                vec![
                    ("objective", "o1"),
                    ("text", "Patch"),
                    ("owner", "it"),
                    ("measure", "Days"),
                    ("target", "7"),
                    ("due", "2027-11-01"),
                ],
            ),
            (
                "review.objective-assess",
                vec![("objective", "o1"), ("met", "met"), ("why", "Five days")],
            ),
            ("review.close", vec![("next_review", "2027-11-26")]),
            (
                "action.update",
                vec![
                    ("action", "2025-a1"),
                    ("status", "completed"),
                    ("note", "Done"),
                ],
            ),
            (
                "roster.propose",
                vec![
                    ("change", "add-key"),
                    ("member", "isms"),
                    ("public_key", &key),
                ],
            ),
        ];
        assert_eq!(cases.len(), KINDS.len());
        for (kind, mut fields) in cases {
            fields.push(("review", "2026"));
            let p = payload(kind, &form(&fields), &state).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(p.kind().to_string(), kind);
        }
    }

    #[test]
    fn refusals_name_the_field() {
        let state = LedgerState::new();
        for (kind, fields, field) in [
            ("review.close", vec![("review", "2026")], "next_review"),
            (
                "review.circulate",
                vec![
                    ("review", "2026"),
                    ("circulated", "2026-11-18"),
                    ("doc_title_1", "Pack"),
                    ("doc_location_1", "/home/me/pack.pdf"),
                    ("doc_digest_1", "00"),
                ],
                "document 1 digest",
            ),
            (
                "review.circulate",
                vec![
                    ("review", "2026"),
                    ("circulated", "2026-11-18"),
                    ("doc_title_1", "Pack"),
                    ("doc_location_1", "C:\\pack.pdf"),
                    ("doc_digest_1", &"00".repeat(32)),
                ],
                "document 1 location",
            ),
            (
                "review.input",
                vec![
                    ("review", "2026"),
                    ("input", "risk"),
                    ("summary", "x"),
                    ("evidence", "no equals sign"),
                ],
                "evidence",
            ),
            (
                "review.open",
                vec![("review", "2026"), ("held", "26/11/2026"), ("chair", "ceo")],
                "held",
            ),
            ("minutes.forge", vec![], "kind"),
        ] {
            let e = payload(kind, &form(&fields), &state).expect_err(kind);
            assert!(e.to_string().contains(field), "{kind}: {e}");
        }
    }
}
