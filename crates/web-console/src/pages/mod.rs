//! The pages of a hosted ledger. Each reads the hosted ledger's projection
//! state (what the writer acknowledged durable) under its read lock, builds
//! its markup, and lets go; none writes.
//!
//! Who may read: with `--tokens` off, anyone who reaches the console (as
//! with the gRPC service); with tokens on, a session of a member of the
//! ledger (a reader) or of a token (its role). The bundle download needs
//! the auditor role, as `GetBundle` does.

mod audit;
pub mod layout;
mod ledger;
mod people;
mod record;
mod review_page;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use ledger_core::LedgerId;
use maud::{Markup, html};
use review::{Date, LedgerState};
use service::Role;
use service::host::Hosted;

use crate::Console;
use crate::error::WebError;
use crate::session::{COOKIE, Session, Who, cookie};

pub use audit::{MAX_UPLOAD, bundle_file, check_bundle, check_form, report};
pub use ledger::{entry, log};
pub use people::{device, roster, sign_in};
pub use record::{record, record_review};
pub use review_page::{actions, minutes_file, objectives, overview, review, sign_minutes};

/// A request's view of one ledger: the ledger, the session if any, and the
/// role it reads with.
pub struct Viewer {
    /// The hosted ledger.
    pub host: Arc<Hosted>,
    /// The session (its id, and what it holds), if the browser has one.
    pub session: Option<(String, Session)>,
    /// What it may read.
    pub role: Role,
}

impl Viewer {
    /// The ledger id as hex.
    pub fn ledger_hex(&self) -> String {
        self.host.id.to_hex()
    }

    /// The signed-in member, if the session is a member's.
    pub fn member(&self) -> Option<(&review::MemberId, &ledger_core::PublicKey)> {
        match &self.session {
            Some((
                _,
                Session {
                    who: Who::Member { handle, key },
                    ..
                },
            )) => Some((handle, key)),
            _ => None,
        }
    }

    /// A page of this ledger: `body` in the frame, following the ledger
    /// live (reloading when it grows past `state`'s size) when `live`.
    pub fn page(
        &self,
        state: &LedgerState,
        page: &'static str,
        title: &str,
        live: bool,
        body: Markup,
    ) -> Response {
        let who = self.session.as_ref().map(|(_, s)| match &s.who {
            Who::Member { handle, .. } => match state.roster.members.get(handle) {
                Some(m) => format!("{} ({})", m.name, m.role),
                None => handle.to_string(),
            },
            Who::Token(Role::Auditor) => "auditor (token)".into(),
            Who::Token(Role::Reader) => "reader (token)".into(),
        });
        let ledger = self.ledger_hex();
        layout::respond(layout::page(
            &layout::Frame {
                ledger: &ledger,
                organisation: &state.roster.organisation,
                who,
                csrf: self.session.as_ref().map(|(_, s)| s.csrf.to_hex()),
                key: self.member().map(|(_, k)| k.to_hex()),
                passkeys: self.member().and_then(|(h, _)| passkeys(state, h)),
                page,
                live: live.then_some(state.size),
            },
            title,
            body,
        ))
    }
}

/// The active passkeys of `member`, as the JSON the script reads.
fn passkeys(state: &LedgerState, member: &review::MemberId) -> Option<String> {
    use base64::Engine;
    let m = state.roster.members.get(member)?;
    let list: Vec<serde_json::Value> = m
        .keys
        .iter()
        .filter_map(|k| {
            let c = state.roster.keys.get(k)?.kind.passkey()?;
            Some(serde_json::json!({
                "key_id": k.to_hex(),
                "credential_id": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&c.credential_id),
                "rp_id": c.rp_id,
                "algorithm": c.algorithm,
                "public_key": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&c.public_key),
                "label": format!("{} ({})", k.fingerprint(), c.algorithm_name()),
            }))
        })
        .collect();
    (!list.is_empty()).then(|| serde_json::Value::Array(list).to_string())
}

/// Parses a ledger id from a path.
pub fn ledger_id(text: &str) -> Result<LedgerId, WebError> {
    ledger_core::Hash::from_hex("ledger id", text)
        .map_err(|_| WebError::not_found("no such ledger on this server"))
}

/// The session a request carries for `ledger`, if any. A member's session
/// lasts only while the key it was opened with signs for them: once that
/// key is retired, rotated or revoked, or the member removed, the session
/// is closed, and nothing more is read or signed in it.
pub fn session_of(
    console: &Console,
    ledger: &LedgerId,
    headers: &HeaderMap,
) -> Option<(String, Session)> {
    let header = headers.get(header::COOKIE)?.to_str().ok()?;
    let id = cookie(header, COOKIE)?;
    let session = console.sessions.get(ledger, id)?;
    if let Who::Member { key, .. } = &session.who {
        let signs = console
            .hosts
            .ledger(ledger)
            .is_some_and(|h| h.state().roster.signer(key).is_ok());
        if !signs {
            console.sessions.close(id);
            return None;
        }
    }
    Some((id.to_owned(), session))
}

/// The viewer of `ledger` for a request that needs `need`. Without the
/// access, a page sends the browser to sign in; an unknown ledger and one
/// the caller may not see look alike when tokens are on.
pub fn viewer(
    console: &Console,
    ledger: &str,
    headers: &HeaderMap,
    need: Role,
) -> Result<Viewer, WebError> {
    let id = ledger_id(ledger)?;
    let session = session_of(console, &id, headers);
    let role = match (&session, console.hosts.tokens()) {
        // Without tokens every reader is an auditor, as on the gRPC service.
        (_, None) => Role::Auditor,
        (Some((_, s)), Some(_)) => match s.who {
            Who::Member { .. } => Role::Reader,
            Who::Token(role) => role,
        },
        (None, Some(_)) => {
            return Err(WebError::see_other(
                format!("/l/{}/signin", id.to_hex()),
                "sign in to read this ledger",
            ));
        }
    };
    let host = console
        .hosts
        .ledger(&id)
        .ok_or_else(|| WebError::not_found("no such ledger on this server"))?;
    if role < need {
        return Err(WebError::forbidden(
            "this page needs an auditor's token: sign in with one",
        ));
    }
    Ok(Viewer {
        host,
        session,
        role,
    })
}

/// Today, in UTC: the date conformance is judged as of.
pub fn today() -> Date {
    Date::of_micros(ledger_store::system_clock()())
        .unwrap_or_else(|| Date::parse("today", "1970-01-01").expect("a fixed date parses"))
}

/// `/`: the hosted ledgers, when the server asks for no token; otherwise a
/// pointer to the link an organisation gives its people.
pub async fn index(State(console): State<Arc<Console>>) -> Response {
    let listed: Vec<(String, String, u64)> = if console.hosts.tokens().is_none() {
        let mut v: Vec<_> = console
            .hosts
            .all()
            .map(|h| {
                (
                    h.state().roster.organisation.clone(),
                    h.id.to_hex(),
                    h.size(),
                )
            })
            .collect();
        v.sort();
        v
    } else {
        Vec::new()
    };
    layout::respond(layout::bare(
        "Ledgers",
        html! {
            h1 { "Management review ledgers" }
            @if console.hosts.tokens().is_some() {
                p { "Open the link your organisation gave you: it names your ledger." }
            } @else {
                ul.ledgers {
                    @for (org, id, size) in &listed {
                        li {
                            a href={ "/l/" (id) "/" } { (org) }
                            " " span.muted { (size) " entries" }
                        }
                    }
                }
            }
        },
    ))
}

/// `/l/<id>` to `/l/<id>/`.
pub async fn to_overview(Path(ledger): Path<String>) -> Response {
    Redirect::permanent(&format!(
        "/l/{}/",
        ledger_id(&ledger).map(|l| l.to_hex()).unwrap_or_default()
    ))
    .into_response()
}
