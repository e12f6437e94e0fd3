//! The forms that record a review, for the ISMS lead and any member: each a
//! `form.sign-event` that the script sends to `prepare`, checks, signs
//! with this browser's key and appends (see `sign`). Without a script they
//! read as what would be recorded, and say that signing needs one.
//!
//! `/l/<id>/record`: schedule a review; an action's progress between
//! reviews. `/l/<id>/reviews/<review>/record`: the pack, the meeting and its
//! times, each required input, earlier actions' status, decisions, actions,
//! objectives and their assessment, the close. Once the minutes are signed,
//! every form asks for the reason of the amendment.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{Markup, html};
use review::vocab::{ActionState, DecisionKind};
use review::{InputKey, LedgerState, ReviewId};
use service::Role;

use super::review_page::review_id;
use super::{Viewer, today, viewer};
use crate::Console;
use crate::error::WebError;
use crate::forms::DOCUMENT_ROWS;

/// One form that builds, signs and records an event of `kind`.
struct Form<'a> {
    ledger: &'a str,
    csrf: Option<String>,
    /// The review it records about, if any.
    review: Option<&'a ReviewId>,
    /// Where the browser goes once it is recorded.
    done: String,
    /// Whether the minutes are signed: an amendment reason is then asked.
    amending: bool,
}

impl Form<'_> {
    fn render(&self, kind: &str, title: &str, fields: Markup) -> Markup {
        let id = kind.replace('.', "-");
        html! {
            section.record aria-labelledby=(id) {
                h2 #(id) { (title) }
                form.sign-event method="post" action={ "/l/" (self.ledger) "/prepare" } data-kind=(kind) data-done=(self.done) {
                    input type="hidden" name="csrf" value=[&self.csrf];
                    input type="hidden" name="kind" value=(kind);
                    @if let Some(r) = self.review { input type="hidden" name="review" value=(r); }
                    (fields)
                    @if self.amending {
                        (field(&id, "amendment", "Why the signed minutes change (required: the signatures stay on the earlier version)", "text", "", true))
                    }
                    button type="submit" disabled { "Record and sign with this browser's key" }
                    p.sign-status role="status" {}
                }
            }
        }
    }
}

/// A labelled input.
fn field(form: &str, name: &str, label: &str, kind: &str, value: &str, required: bool) -> Markup {
    let id = format!("{form}-{name}");
    html! {
        p.field {
            label for=(id) { (label) }
            input id=(id) type=(kind) name=(name) value=(value) required[required];
        }
    }
}

/// A labelled text area.
fn area(form: &str, name: &str, label: &str, required: bool) -> Markup {
    let id = format!("{form}-{name}");
    html! {
        p.field {
            label for=(id) { (label) }
            textarea id=(id) name=(name) rows="3" required[required] {}
        }
    }
}

/// A labelled choice of (value, label).
fn choice(form: &str, name: &str, label: &str, options: &[(String, String)]) -> Markup {
    let id = format!("{form}-{name}");
    html! {
        p.field {
            label for=(id) { (label) }
            select id=(id) name=(name) {
                @for (value, text) in options { option value=(value) { (text) } }
            }
        }
    }
}

fn statuses() -> Vec<(String, String)> {
    ["open", "in-progress", "completed", "overdue"]
        .into_iter()
        .map(|s| (s.to_owned(), s.replace('-', " ")))
        .collect()
}

fn status_fields(form: &str) -> Markup {
    html! {
        (choice(form, "status", "Status", &statuses()))
        (field(form, "revised_due", "If overdue: the revised due date", "date", "", false))
        (field(form, "owner", "If overdue: the owner who confirmed it (handle)", "text", "", false))
        (area(form, "note", "What was said", true))
    }
}

fn handles(state: &LedgerState) -> String {
    state
        .roster
        .members
        .values()
        .filter(|m| !m.removed)
        .map(|m| format!("{} ({})", m.handle, m.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn csrf(v: &Viewer) -> Option<String> {
    v.session.as_ref().map(|(_, s)| s.csrf.to_hex())
}

fn who_signs(v: &Viewer) -> Markup {
    html! {
        @if v.member().is_none() {
            p.notice { "Sign in with your key to record: every entry is signed by its author." }
        }
        noscript { p.notice { "Recording needs JavaScript, because your key stays in this browser; the command line records the same events." } }
    }
}

/// `/l/<id>/record`: schedule a review; record an action's progress.
pub async fn record(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = viewer(&console, &ledger, &headers, Role::Reader)?;
    let state = v.host.state();
    let hex = v.ledger_hex();
    let form = Form {
        ledger: &hex,
        csrf: csrf(&v),
        review: None,
        done: format!("/l/{hex}/"),
        amending: false,
    };
    let open: Vec<(String, String)> = state
        .reviews
        .actions
        .values()
        .filter(|a| !matches!(a.status, ActionState::Completed))
        .map(|a| (a.id.to_string(), format!("{}: {}", a.id, a.text)))
        .collect();
    let day = today().to_string();
    let body = html! {
        h1 { "Record" }
        (who_signs(&v))
        p.muted { "Members: " (handles(&state)) }
        (form.render("review.schedule", "Schedule a review", html! {
            (field("review-schedule", "review", "Review id (e.g. 2026)", "text", "", true))
            (field("review-schedule", "title", "Title", "text", "Annual ISMS management review", true))
            (field("review-schedule", "planned", "Planned date", "date", "", true))
            (field("review-schedule", "period_start", "Period covered: first day", "date", "", true))
            (field("review-schedule", "period_end", "Period covered: last day", "date", &day, true))
            (field("review-schedule", "chair", "Chair (handle)", "text", "", true))
            (field("review-schedule", "expected", "Expected attendees (handles, comma-separated)", "text", "", true))
            (field("review-schedule", "previous", "Previous review (optional; the latest by default)", "text", "", false))
        }))
        @if !open.is_empty() {
            (form.render("action.update", "An action's progress between reviews", html! {
                (choice("action-update", "action", "Action", &open))
                (status_fields("action-update"))
            }))
        }
    };
    Ok(v.page(&state, "record", "Record", false, body))
}

/// `/l/<id>/reviews/<review>/record`: every event of one review.
pub async fn record_review(
    State(console): State<Arc<Console>>,
    Path((ledger, review)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = viewer(&console, &ledger, &headers, Role::Reader)?;
    let id = review_id(&review)?;
    let state = v.host.state();
    let record = state
        .reviews
        .reviews
        .get(&id)
        .ok_or_else(|| WebError::not_found(format!("no review {id} in this ledger")))?;
    let hex = v.ledger_hex();
    let form = Form {
        ledger: &hex,
        csrf: csrf(&v),
        review: Some(&id),
        done: format!("/l/{hex}/reviews/{id}/record"),
        amending: record.signed(),
    };
    let m = &record.minutes;
    let schedule = &m.schedule.item;
    let planned = schedule.planned.to_string();
    let inputs: Vec<(String, String)> = InputKey::ALL
        .into_iter()
        .map(|k| {
            let done = if m.inputs.contains_key(&k) {
                " (recorded)"
            } else {
                ""
            };
            (
                k.key().to_owned(),
                format!("{} {}{done}", k.clause(), k.title()),
            )
        })
        .collect();
    let kinds: Vec<(String, String)> = DecisionKind::ALL
        .into_iter()
        .map(|k| (k.key().to_owned(), k.key().replace('-', " ")))
        .collect();
    let earlier: Vec<(String, String)> = state
        .reviews
        .actions
        .values()
        .filter(|a| a.review != id)
        .map(|a| (a.id.to_string(), format!("{}: {}", a.id, a.text)))
        .collect();
    let objectives: Vec<(String, String)> = state
        .reviews
        .objectives
        .iter()
        .filter(|(_, o)| o.review != id)
        .map(|(oid, o)| (oid.to_string(), format!("{oid}: {}", o.objective.text)))
        .collect();
    let expected = schedule
        .expected
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let body = html! {
        h1 { "Record review " (id) ": " (schedule.title) }
        (who_signs(&v))
        p { a href={ "/l/" (hex) "/reviews/" (id) } { "The review as recorded so far" } }
        @if form.amending {
            p.notice { "These minutes are signed: what you record now is an amendment, shown as unsigned until top management signs again." }
        }
        p.muted { "Members: " (handles(&state)) }
        (form.render("review.circulate", "The agenda pack was circulated", html! {
            (field("review-circulate", "circulated", "Date sent", "date", &today().to_string(), true))
            p.muted { "For each document: where others find it, and the file itself, whose blake3 digest is computed by the server and kept; the file is not." }
            @for n in 1..=DOCUMENT_ROWS {
                fieldset.doc {
                    legend { "Document " (n) }
                    (field("review-circulate", &format!("doc_title_{n}"), "Title", "text", "", n == 1))
                    (field("review-circulate", &format!("doc_location_{n}"), "Location (URL or reference)", "text", "", n == 1))
                    p.field {
                        label for={ "review-circulate-doc_file_" (n) } { "File, for its digest" }
                        input id={ "review-circulate-doc_file_" (n) } type="file" class="digest-file" data-digest={ "review-circulate-doc_digest_" (n) };
                    }
                    (field("review-circulate", &format!("doc_digest_{n}"), "Digest (blake3)", "text", "", n == 1))
                }
            }
        }))
        (form.render("review.open", "The meeting was held", html! {
            (field("review-open", "held", "Date held", "date", &planned, true))
            (field("review-open", "chair", "Chair (handle)", "text", schedule.chair.as_str(), true))
            (field("review-open", "present", "Present (handles, comma-separated)", "text", &expected, true))
            (field("review-open", "apologies", "Apologies (handles)", "text", "", false))
        }))
        (form.render("review.meeting-times", "When the meeting ran", html! {
            (field("review-meeting-times", "started", "Started", "time", "", true))
            (field("review-meeting-times", "ended", "Ended", "time", "", true))
        }))
        (form.render("review.input", "A required input (clause 9.3.2)", html! {
            (choice("review-input", "input", "Input", &inputs))
            (area("review-input", "summary", "What the meeting considered", false))
            p.field {
                input #review-input-nothing_to_report type="checkbox" name="nothing_to_report" value="yes";
                " " label for="review-input-nothing_to_report" { "Nothing to report for this input" }
            }
            (area("review-input", "evidence", "Evidence, one TITLE=LOCATION a line", false))
        }))
        @if !earlier.is_empty() {
            (form.render("review.action-status", "An earlier review's action", html! {
                (choice("review-action-status", "action", "Action", &earlier))
                (status_fields("review-action-status"))
            }))
        }
        (form.render("review.decide", "A decision (clause 9.3.3)", html! {
            (choice("review-decide", "decision_kind", "About", &kinds))
            (area("review-decide", "text", "The decision", true))
            (field("review-decide", "inputs", "Inputs it answers (e.g. risk, monitoring)", "text", "", false))
        }))
        (form.render("review.act", "An action", html! {
            (field("review-act", "owner", "Owner (handle)", "text", "", true))
            (field("review-act", "due", "Due", "date", "", true))
            (area("review-act", "text", "What is to be done", true))
            (field("review-act", "decision", "Decision number it serves (optional)", "number", "", false))
            (field("review-act", "action", "Action id (optional; the next free one by default)", "text", "", false))
        }))
        (form.render("review.objective-set", "An objective for the next period", html! {
            (field("review-objective-set", "objective", "Objective id", "text", &format!("{id}-o1"), true))
            (area("review-objective-set", "text", "The objective", true))
            (field("review-objective-set", "owner", "Owner (handle)", "text", "", true))
            (field("review-objective-set", "measure", "How it is measured", "text", "", true))
            (field("review-objective-set", "target", "Target", "text", "", true))
            (field("review-objective-set", "due", "Due", "date", "", true))
        }))
        @if !objectives.is_empty() {
            (form.render("review.objective-assess", "An earlier objective, assessed", html! {
                (choice("review-objective-assess", "objective", "Objective", &objectives))
                (choice("review-objective-assess", "met", "Met?", &[("met".into(), "met".into()), ("not-met".into(), "not met".into())]))
                (area("review-objective-assess", "why", "Why, or why not", true))
            }))
        }
        (form.render("review.close", "The meeting closed", html! {
            (field("review-close", "next_review", "Date of the next review", "date", "", true))
        }))
    };
    Ok(v.page(&state, "record", &format!("Record {id}"), false, body))
}
