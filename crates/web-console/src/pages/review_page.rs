//! The overview, a review (its status first), the minutes to sign, the
//! action log and the objectives scorecard.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{Markup, PreEscaped, html};
use review::vocab::{ActionState, Sign};
use review::{ActionRecord, Date, Judgement, LedgerState, Payload, ReviewId, ReviewRecord};
use serde::Deserialize;
use service::Role;

use super::{Viewer, today, viewer};
use crate::Console;
use crate::error::WebError;
use crate::pages::layout;

/// A review's standing, in a word or two, with whether it is good news;
/// `judgement` is the review's, when it is closed and could be judged.
pub fn status(record: &ReviewRecord, judgement: Option<&Judgement>) -> (String, bool) {
    let m = &record.minutes;
    if m.meeting.is_none() {
        return match m.pack {
            Some(_) => ("pack circulated".into(), true),
            None => ("scheduled".into(), true),
        };
    }
    if m.close.is_none() {
        return ("meeting being recorded".into(), true);
    }
    let Some(j) = judgement else {
        return ("cannot be judged".into(), false);
    };
    if j.holds() {
        return ("holds".into(), true);
    }
    if !j.audit.holds() {
        let q = &j.audit.quorum;
        return (
            format!(
                "awaiting signatures ({} of {} top management)",
                q.signed.len(),
                q.required
            ),
            false,
        );
    }
    let n = j.conformance.count(review::Severity::Nonconformity);
    (format!("{n} nonconformities"), false)
}

/// An action's due date, revised if it was reported overdue.
fn due(a: &ActionRecord) -> Date {
    match &a.status {
        ActionState::Overdue { revised_due, .. } => *revised_due,
        _ => a.due,
    }
}

/// Whether `a` is open and past its due date on `day`.
fn overdue_on(a: &ActionRecord, day: Date) -> bool {
    !matches!(a.status, ActionState::Completed) && due(a) < day
}

fn person(state: &LedgerState, handle: &review::MemberId) -> String {
    match state.roster.members.get(handle) {
        Some(m) => format!("{} ({})", m.name, m.role),
        None => handle.to_string(),
    }
}

/// `/l/<id>/`: the organisation, the next review and its pack deadline,
/// open and overdue actions, and every review with its status.
pub async fn overview(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = viewer(&console, &ledger, &headers, Role::Reader)?;
    let state = v.host.state();
    let day = today();
    let base = format!("/l/{}/", v.ledger_hex());
    let reviews = &state.reviews;
    let next = reviews
        .order
        .iter()
        .map(|id| &reviews.reviews[id])
        .find(|r| r.minutes.meeting.is_none());
    let announced = reviews
        .order
        .iter()
        .rev()
        .find_map(|id| reviews.reviews[id].minutes.close.as_ref())
        .map(|c| c.item.next_review);
    let open: Vec<&ActionRecord> = reviews
        .actions
        .values()
        .filter(|a| !matches!(a.status, ActionState::Completed))
        .collect();
    let overdue = open.iter().filter(|a| overdue_on(a, day)).count();
    let lead = state.roster.policy.agenda_lead_working_days;
    let body = html! {
        h1 { (state.roster.organisation) }
        section aria-labelledby="next" {
            h2 #next { "Next review" }
            @match next {
                Some(r) => {
                    @let s = &r.minutes.schedule.item;
                    p {
                        a href={ (base) "reviews/" (r.minutes.review) } { (s.title) }
                        " is planned for " strong.nw { (s.planned) } "."
                    }
                    p {
                        "Its pack is due by " strong.nw { (s.planned.working_days_before(lead)) }
                        " (" (lead) " working days before)"
                        @if r.minutes.pack.is_some() { ", and has been circulated." } @else { "; it has not been circulated yet." }
                    }
                }
                None => @match announced {
                    Some(d) => p { "The last meeting set the next review for " strong.nw { (d) } "; it is not scheduled yet." },
                    None => p { "No review is scheduled." },
                },
            }
        }
        section aria-labelledby="acts" {
            h2 #acts { "Actions" }
            p {
                a href={ (base) "actions?status=open" } { (open.len()) " open" }
                ", of which "
                a href={ (base) "actions?overdue_on=" (day) } { (overdue) " overdue" }
                " as of " span.nw { (day) } "."
            }
        }
        section aria-labelledby="reviews" {
            h2 #reviews { "Reviews" }
            @if v.role >= Role::Auditor {
                p { a href={ (base) "check" } { "Check an evidence bundle" } " against a ledger id you pin." }
            }
            table {
                thead { tr { th scope="col" { "Review" } th scope="col" { "Title" } th scope="col" { "Date" } th scope="col" { "Status" } } }
                tbody {
                    @for id in reviews.order.iter().rev() {
                        @let r = &reviews.reviews[id];
                        @let judged = r.minutes.close.as_ref().and_then(|_| Judgement::of(&state, id, day).ok());
                        @let (label, good) = status(r, judged.as_ref());
                        tr {
                            td { a href={ (base) "reviews/" (id) } { code { (id) } } }
                            td { (r.minutes.schedule.item.title) }
                            td.nw {
                                @match &r.minutes.meeting {
                                    Some(m) => { "held " (m.item.held) }
                                    None => { "planned " (r.minutes.schedule.item.planned) }
                                }
                            }
                            td { span class={ "status " @if good { "good" } @else { "bad" } } { (label) } }
                        }
                    }
                }
            }
        }
    };
    Ok(v.page(&state, "overview", "Overview", true, body))
}

pub(crate) fn review_id(text: &str) -> Result<ReviewId, WebError> {
    ReviewId::new(text).map_err(|e| WebError::bad(e.to_string()))
}

fn record<'s>(state: &'s LedgerState, id: &ReviewId) -> Result<&'s ReviewRecord, WebError> {
    state
        .reviews
        .reviews
        .get(id)
        .ok_or_else(|| WebError::not_found(format!("no review {id} in this ledger")))
}

/// Why the signed-in member may not sign the current minutes now, or the
/// signature they would make: the rules of `review` decide, by admitting
/// the event they would sign against the state as it is.
fn sign_check(v: &Viewer, state: &LedgerState, id: &ReviewId) -> Result<Sign, String> {
    let Some((_, key)) = v.member() else {
        return Err("sign in with your key to sign".into());
    };
    let sign = state
        .reviews
        .reviews
        .get(id)
        .ok_or("no such review")?
        .sign_request();
    crate::sign::build(
        state,
        v.host.id,
        ledger_core::Author::Ed25519(*key),
        &Payload::Sign(sign.clone()),
    )
    .map_err(|e| e.to_string())?;
    Ok(sign)
}

/// `/l/<id>/reviews/<review>`: the status first, then the minutes as the
/// HTML minutes render them, the agenda, the findings and the downloads.
pub async fn review(
    State(console): State<Arc<Console>>,
    Path((ledger, review)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = viewer(&console, &ledger, &headers, Role::Reader)?;
    let id = review_id(&review)?;
    let state = v.host.state();
    let r = record(&state, &id)?;
    let day = today();
    let base = format!("/l/{}/reviews/{}", v.ledger_hex(), id);
    let judgement = Judgement::of(&state, &id, day).ok();
    let (label, good) = status(r, judgement.as_ref());
    let view = review::view::MinutesView::judged(&state, &id, Some(v.host.checkpoint()), day)
        .map_err(|e| WebError::bad(e.to_string()))?;
    let minutes = review::render::minutes_html_body(&view);
    let agenda = review::agenda::agenda(&state, &id)
        .map(|a| review::agenda::agenda_html_body(&a))
        .unwrap_or_default();
    let can_sign = sign_check(&v, &state, &id).is_ok();
    let body = html! {
        div class={ "verdict " @if good { "ok" } @else { "failed" } } role="status" {
            strong { "Review " (id) ": " (label) }
            @if let Some(j) = &judgement {
                @if !j.audit.quorum.missing.is_empty() && r.minutes.close.is_some() {
                    p { "Still to sign: "
                        @for (i, p) in j.audit.quorum.missing.iter().enumerate() {
                            @if i > 0 { ", " } (p.name) " (" (p.role) ")"
                        }
                    }
                }
            }
        }
        nav.actions aria-label="This review" {
            @if can_sign {
                a.button href={ (base) "/sign" } { "Read and sign the minutes" }
            }
            a href={ (base) "/record" } { "Record for this review" }
            a href={ (base) "/minutes.html" } download { "Download the minutes (HTML)" }
            @if v.role >= Role::Auditor {
                a href={ (base) "/bundle" } download { "Download the evidence bundle" }
                a href={ (base) "/report" } { "Verification report" }
            }
        }
        div.minutes { (PreEscaped(minutes)) }
        @if !agenda.is_empty() {
            section.agenda aria-labelledby="agenda" {
                h2 #agenda { "Agenda" }
                (PreEscaped(agenda))
            }
        }
        @if let Some(j) = &judgement {
            section aria-labelledby="findings" {
                h2 #findings { "Conformance findings as of " (day) }
                @if j.conformance.findings.is_empty() {
                    p { "No findings." }
                } @else {
                    table {
                        thead { tr { th scope="col" { "Severity" } th scope="col" { "Rule" } th scope="col" { "Finding" } th scope="col" { "Entry" } } }
                        tbody {
                            @for f in &j.conformance.findings {
                                tr {
                                    td { (f.severity.label()) }
                                    td { code { (f.rule) } }
                                    td { (f.message) }
                                    td.nw { @if let Some(s) = f.seq { (s) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(v.page(&state, "review", &format!("Review {id}"), true, body))
}

/// `/l/<id>/reviews/<review>/sign`: the minutes, what a signature covers,
/// and the deliberate confirmation that signs them with this browser's key.
pub async fn sign_minutes(
    State(console): State<Arc<Console>>,
    Path((ledger, review)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = viewer(&console, &ledger, &headers, Role::Reader)?;
    let id = review_id(&review)?;
    if v.member().is_none() {
        return Err(WebError::see_other(
            format!("/l/{}/signin", v.ledger_hex()),
            "sign in with your key to sign",
        ));
    }
    let state = v.host.state();
    let r = record(&state, &id)?;
    let check = sign_check(&v, &state, &id);
    let view = review::view::MinutesView::judged(&state, &id, Some(v.host.checkpoint()), today())
        .map_err(|e| WebError::bad(e.to_string()))?;
    let minutes = review::render::minutes_html_body(&view);
    let (handle, _) = v.member().expect("checked above");
    let who = person(&state, handle);
    let held = r.minutes.meeting.as_ref().map(|m| m.item.held.to_string());
    let csrf = v.session.as_ref().map(|(_, s)| s.csrf.to_hex());
    let body = html! {
        h1 { "Sign the minutes of " (id) }
        @match &check {
            Err(why) => p.notice role="alert" { "You cannot sign these minutes now: " (why) },
            Ok(sign) => {
                section.what aria-labelledby="what" {
                    h2 #what { "What your signature says" }
                    p {
                        "You, " strong { (who) } ", approve these minutes as the record of the management review"
                        @if let Some(h) = &held { " held on " span.nw { (h) } }
                        ". Your browser signs them with its key; the key never leaves this device."
                    }
                    dl {
                        dt { "Review" } dd { code { (id) } }
                        dt { "Minutes digest" } dd { code #digest { (sign.digest) } }
                        dt { "Covers entries up to" } dd { span.nw { (sign.covers) } }
                    }
                    p.muted {
                        "The digest is computed from every entry of this review; anyone holding the ledger computes it again. "
                        "If the minutes change after you sign, your signature stays on the version you read and the change is shown as unsigned. "
                        "A signature cannot be withdrawn: a correction is a new entry."
                    }
                }
                form.sign-event method="post" action={ "/l/" (v.ledger_hex()) "/prepare" } data-kind="minutes.sign" data-done=(format!("/l/{}/reviews/{}", v.ledger_hex(), id)) {
                    input type="hidden" name="csrf" value=[&csrf];
                    input type="hidden" name="kind" value="minutes.sign";
                    input type="hidden" name="review" value=(id);
                    input type="hidden" name="digest" value=(sign.digest);
                    p {
                        input #confirm type="checkbox" name="confirm" value="yes" required;
                        " "
                        label for="confirm" { "I have read the minutes below and approve them as a true record." }
                    }
                    button type="submit" disabled { "Sign with this browser's key" }
                    p.sign-status role="status" {}
                    noscript {
                        p.notice { "Signing needs JavaScript, because your key stays in this browser. Without it, sign from the command line: "
                            code { "review-ledger minutes sign --review " (id) " --key YOUR-KEY.pem" } }
                    }
                }
            }
        }
        div.minutes { (PreEscaped(minutes)) }
    };
    Ok(v.page(&state, "sign", &format!("Sign {id}"), true, body))
}

/// `/l/<id>/reviews/<review>/minutes.html`: the printable minutes file.
pub async fn minutes_file(
    State(console): State<Arc<Console>>,
    Path((ledger, review)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = viewer(&console, &ledger, &headers, Role::Reader)?;
    let id = review_id(&review)?;
    let state = v.host.state();
    record(&state, &id)?;
    let view = review::view::MinutesView::judged(&state, &id, Some(v.host.checkpoint()), today())
        .map_err(|e| WebError::bad(e.to_string()))?;
    let html = review::render::minutes(&view, review::render::Format::Html);
    Ok(layout::document(html, Some(&format!("minutes-{id}.html"))))
}

/// The action log's filters.
#[derive(Debug, Default, Deserialize)]
pub struct ActionFilter {
    /// Only this owner's actions (a handle).
    #[serde(default)]
    pub owner: String,
    /// `open` (not completed), `completed`, `in-progress`, `overdue` (reported overdue).
    #[serde(default)]
    pub status: String,
    /// Only actions not completed and past due on this date.
    #[serde(default)]
    pub overdue_on: String,
}

fn state_label(s: &ActionState) -> String {
    review::describe::action_state(s)
}

/// `/l/<id>/actions`: every action, filtered by owner, status, or overdue as
/// of a date.
pub async fn actions(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
    Query(f): Query<ActionFilter>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = viewer(&console, &ledger, &headers, Role::Reader)?;
    let overdue_day = match f.overdue_on.trim() {
        "" => None,
        d => Some(Date::parse("overdue_on", d).map_err(|e| WebError::bad(e.to_string()))?),
    };
    let state = v.host.state();
    let base = format!("/l/{}/", v.ledger_hex());
    let rows: Vec<&ActionRecord> = state
        .reviews
        .actions
        .values()
        .filter(|a| f.owner.is_empty() || a.owner.as_str() == f.owner)
        .filter(|a| match f.status.as_str() {
            "" => true,
            "open" => !matches!(a.status, ActionState::Completed),
            "completed" => matches!(a.status, ActionState::Completed),
            "in-progress" => matches!(a.status, ActionState::InProgress),
            "overdue" => matches!(a.status, ActionState::Overdue { .. }),
            _ => false,
        })
        .filter(|a| overdue_day.is_none_or(|d| overdue_on(a, d)))
        .collect();
    let owners: Vec<(&review::MemberId, String)> = state
        .roster
        .members
        .keys()
        .map(|h| (h, person(&state, h)))
        .collect();
    let body = html! {
        h1 { "Action log" }
        form.filters method="get" action={ (base) "actions" } {
            label for="owner" { "Owner" }
            select #owner name="owner" {
                option value="" { "anyone" }
                @for (h, name) in &owners {
                    option value=(h) selected[f.owner == h.as_str()] { (name) }
                }
            }
            label for="status" { "Status" }
            select #status name="status" {
                @for (value, label) in [("", "any"), ("open", "not completed"), ("in-progress", "in progress"), ("overdue", "reported overdue"), ("completed", "completed")] {
                    option value=(value) selected[f.status == value] { (label) }
                }
            }
            label for="overdue_on" { "Overdue as of" }
            input #overdue_on type="date" name="overdue_on" value=(f.overdue_on);
            button type="submit" { "Filter" }
        }
        p { (rows.len()) " actions." }
        table {
            thead { tr {
                th scope="col" { "Action" } th scope="col" { "Review" } th scope="col" { "Owner" }
                th scope="col" { "Due" } th scope="col" { "Status" } th scope="col" { "What" }
            } }
            tbody {
                @for a in &rows {
                    tr {
                        td { code { (a.id) } }
                        td { a href={ (base) "reviews/" (a.review) } { code { (a.review) } } }
                        td { (person(&state, &a.owner)) }
                        td.nw { (due(a)) }
                        td { (state_label(&a.status)) }
                        td { (a.text) }
                    }
                }
            }
        }
    };
    Ok(v.page(&state, "actions", "Actions", true, body))
}

/// `/l/<id>/objectives`: each objective, its owner, measure and target, and
/// its latest assessment.
pub async fn objectives(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = viewer(&console, &ledger, &headers, Role::Reader)?;
    let state = v.host.state();
    let base = format!("/l/{}/", v.ledger_hex());
    let body: Markup = html! {
        h1 { "Objectives" }
        table {
            thead { tr {
                th scope="col" { "Objective" } th scope="col" { "Set at" } th scope="col" { "Owner" }
                th scope="col" { "Measure and target" } th scope="col" { "Due" } th scope="col" { "Last assessed" }
            } }
            tbody {
                @for (id, o) in &state.reviews.objectives {
                    tr {
                        td { code { (id) } br; (o.objective.text) }
                        td { a href={ (base) "reviews/" (o.review) } { code { (o.review) } } }
                        td { (person(&state, &o.objective.owner)) }
                        td { (o.objective.measure) ": " (o.objective.target) }
                        td.nw { (o.objective.due) }
                        td {
                            @match o.assessments.last() {
                                Some((at, met, note, _)) => {
                                    span class={ "status " @if *met { "good" } @else { "bad" } } {
                                        @if *met { "met" } @else { "not met" }
                                    }
                                    " at " code { (at) } ": " (note)
                                }
                                None => span.muted { "not assessed yet" },
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(v.page(&state, "objectives", "Objectives", true, body))
}
