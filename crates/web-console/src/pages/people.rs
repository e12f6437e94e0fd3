//! The roster with each member's keys and the changes waiting for their
//! quorum; this device's key and its enrolment request; signing in.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use ledger_core::PublicKey;
use maud::html;
use review::KeyState;
use serde::Deserialize;
use service::Role;

use super::{ledger_id, session_of, viewer};
use crate::Console;
use crate::error::WebError;
use crate::pages::layout;
use crate::session::Who;

/// `/l/<id>/roster`: members, their standing and every key the ledger has
/// enrolled for them; pending roster changes, which top management may
/// approve here.
pub async fn roster(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = viewer(&console, &ledger, &headers, Role::Reader)?;
    let state = v.host.state();
    let roster = &state.roster;
    let me = v.member().map(|(h, _)| h.clone());
    let i_am_top = me.as_ref().is_some_and(|h| {
        roster
            .members
            .get(h)
            .is_some_and(|m| m.top_management && !m.removed)
    });
    let mut keys: Vec<(&PublicKey, &review::roster::KeyRecord)> = roster.keys.iter().collect();
    keys.sort_by_key(|(_, r)| r.since);
    let csrf = v.session.as_ref().map(|(_, s)| s.csrf.to_hex());
    let prepare = format!("/l/{}/prepare", v.ledger_hex());
    let body = html! {
        h1 { "Roster" }
        p {
            "Roster changes need " strong { (roster.roster_quorum()) } " top-management signature(s) now. "
            "Minutes need the quorum of the policy: " (format!("{:?}", roster.policy.minutes_quorum)) "."
        }
        table {
            thead { tr {
                th scope="col" { "Member" } th scope="col" { "Role" } th scope="col" { "Standing" } th scope="col" { "Keys" }
            } }
            tbody {
                @for (handle, m) in &roster.members {
                    tr {
                        td { (m.name) br; code { (handle) } }
                        td { (m.role) }
                        td {
                            @if m.removed { "removed" }
                            @else if m.top_management { "top management" }
                            @else { "member" }
                        }
                        td {
                            ul.keys {
                                @for (key, r) in keys.iter().filter(|(_, r)| &r.member == handle) {
                                    li {
                                        code { (key.fingerprint()) } " "
                                        span.kind {
                                            @match &r.kind {
                                                review::KeyKind::KeyFile => "key file",
                                                review::KeyKind::DeviceKey => "device key",
                                                review::KeyKind::Passkey(c) => { "passkey (" (c.algorithm_name()) ", " (c.rp_id) ")" },
                                            }
                                        }
                                        " "
                                        @match r.state {
                                            KeyState::Active => span.status.good { "active" },
                                            KeyState::Rotated(at) => span.muted { "rotated away at " (at) },
                                            KeyState::Revoked(at) => span.muted { "revoked at " (at) },
                                        }
                                        " since " (r.since)
                                        @if me.as_ref() == Some(handle) && r.state == KeyState::Active {
                                            form.sign-event method="post" action=(prepare) data-kind="roster.propose" {
                                                input type="hidden" name="csrf" value=[&csrf];
                                                input type="hidden" name="kind" value="roster.propose";
                                                input type="hidden" name="change" value="retire-key";
                                                input type="hidden" name="member" value=(handle);
                                                input type="hidden" name="public_key" value=(r.kind.key_text(key));
                                                @let confirm = format!("retire-{}", key.to_hex());
                                                input id=(confirm) type="checkbox" name="confirm" value="yes" required;
                                                " " label for=(confirm) { "It signs nothing more" }
                                                " " button type="submit" disabled { "Retire this key" }
                                                p.sign-status role="status" {}
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if i_am_top {
            section aria-labelledby="add-passkey" {
                h2 #add-passkey { "Register a passkey" }
                p {
                    "A passkey lives in this device's secure hardware or your passkey provider, and each signature it makes says whether it verified you (fingerprint, face or PIN). "
                    "Registering one proposes it as your key; it signs once top management approves it like any key."
                }
                form.sign-event.passkey-enrol method="post" action=(prepare) data-kind="roster.propose" {
                    input type="hidden" name="csrf" value=[&csrf];
                    input type="hidden" name="kind" value="roster.propose";
                    input type="hidden" name="change" value="add-passkey";
                    @if let Some(me) = &me { input type="hidden" name="member" value=(me); }
                    input type="hidden" name="credential_id";
                    input type="hidden" name="algorithm";
                    input type="hidden" name="public_key_der";
                    input type="hidden" name="rp_id";
                    button type="submit" disabled { "Register a passkey and propose it with this browser's key" }
                    p.sign-status role="status" {}
                }
            }
            section aria-labelledby="add-key" {
                h2 #add-key { "Enrol another key for a member" }
                p { "A member's browser on another device shows its key on its " em { "This device" } " page. Compare the fingerprint with them before you enrol it." }
                form.sign-event method="post" action=(prepare) data-kind="roster.propose" {
                    input type="hidden" name="csrf" value=[&csrf];
                    input type="hidden" name="kind" value="roster.propose";
                    input type="hidden" name="change" value="add-device-key";
                    p.field {
                        label for="add-key-member" { "Member" }
                        select #add-key-member name="member" {
                            @for (h, m) in roster.members.iter().filter(|(_, m)| !m.removed) {
                                option value=(h) { (m.name) " (" (h) ")" }
                            }
                        }
                    }
                    p.field {
                        label for="add-key-public_key" { "Public key (ed25519:…)" }
                        input #add-key-public_key type="text" name="public_key" required;
                    }
                    button type="submit" disabled { "Propose with this browser's key" }
                    p.sign-status role="status" {}
                }
            }
        }
        h2 { "Changes waiting for their quorum" }
        @if roster.pending.is_empty() {
            p { "None." }
        } @else {
            table {
                thead { tr { th scope="col" { "Proposed at" } th scope="col" { "Change" } th scope="col" { "Signed by" } th scope="col" {} } }
                tbody {
                    @for (id, p) in &roster.pending {
                        tr {
                            td.nw { (p.seq) }
                            td { (review::describe::roster_change(&p.change)) }
                            td { @for (i, a) in p.approvals.iter().enumerate() { @if i > 0 { ", " } (a) } }
                            td {
                                @if i_am_top && !me.as_ref().is_some_and(|h| p.approvals.contains(h)) {
                                    form.sign-event method="post" action=(prepare) data-kind="roster.approve" {
                                        input type="hidden" name="csrf" value=[&csrf];
                                        input type="hidden" name="kind" value="roster.approve";
                                        input type="hidden" name="proposal" value=(id);
                                        button type="submit" disabled { "Approve with this browser's key" }
                                        p.sign-status role="status" {}
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(v.page(&state, "roster", "Roster", true, body))
}

/// The device page's query: the public key this browser holds, once made.
#[derive(Debug, Default, Deserialize)]
pub struct DeviceQuery {
    /// `ed25519:<hex>` or hex.
    #[serde(default)]
    pub key: String,
}

/// `/l/<id>/device`: this browser's key. The script makes one (WebCrypto
/// Ed25519, non-extractable, kept in IndexedDB) and comes back with its
/// public key; the page then shows its fingerprint, whether and for whom it
/// is enrolled, and the enrolment request to hand to top management.
pub async fn device(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
    Query(q): Query<DeviceQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    // Someone not yet enrolled has no session on a server with tokens: the
    // page still makes their key, without saying what the roster holds.
    let v = match viewer(&console, &ledger, &headers, Role::Reader) {
        Ok(v) => Some(v),
        Err(e) if e.location.is_some() => None,
        Err(e) => return Err(e),
    };
    let key = match q.key.trim() {
        "" => None,
        text => Some(PublicKey::from_text(text).map_err(|e| WebError::bad(e.to_string()))?),
    };
    let state = v.as_ref().map(|v| v.host.state());
    let enrolled = key.and_then(|k| {
        state
            .as_ref()?
            .roster
            .keys
            .get(&k)
            .map(|r| (r.member.clone(), r.state))
    });
    let body = html! {
        h1 { "This device's key" }
        p {
            "You sign with a key that this browser makes and keeps: it cannot be copied out of it, not even by this site. "
            "Losing this browser profile loses only this key; top management can enrol a new one."
        }
        @match key {
            None => {
                p #key-status role="status" { "Looking for a key in this browser\u{2026}" }
                button #make-key type="button" disabled { "Create a key for this browser" }
                noscript { p.notice { "Creating a key needs JavaScript." } }
            }
            Some(k) => {
                dl {
                    dt { "Fingerprint" } dd { code #fingerprint { (k.fingerprint()) } }
                    dt { "Public key" } dd { code #public-key { (k.to_text()) } }
                }
                @match &enrolled {
                    Some((member, KeyState::Active)) => p.verdict.ok { "This key is enrolled for " strong { (member) } ". " a href="signin" { "Sign in" } },
                    Some((member, _)) => p.verdict.failed { "This key was enrolled for " (member) " and no longer signs." },
                    None if state.is_none() => p { "Sign in once it is enrolled to see your ledger." },
                    None => {
                        section aria-labelledby="request" {
                            h2 #request { "Enrolment request" }
                            p { "Send the fingerprint and public key above to a top manager, by a channel they know is yours, and read the fingerprint to them. "
                                "They enrol it from the command line; with more than one top manager, others approve it on the roster page or with " code { "member approve" } "." }
                            p { "For someone joining the roster:" }
                            pre { "review-ledger member add --device --ledger LEDGER --key TOP-MANAGER.pem \\\n  --id YOUR-HANDLE --name \"YOUR NAME\" --role \"YOUR ROLE\" \\\n  --public-key " (k.to_text()) }
                            p { "For a member adding this device beside their other keys (or a top manager enrols it on the roster page):" }
                            pre { "review-ledger member add-key --device --ledger LEDGER --key TOP-MANAGER.pem \\\n  --id YOUR-HANDLE --public-key " (k.to_text()) }
                        }
                    }
                }
            }
        }
    };
    Ok(match (&v, &state) {
        (Some(v), Some(state)) => v.page(state, "device", "This device", true, body),
        _ => layout::outside(&ledger_id(&ledger)?.to_hex(), "device", "This device", body),
    })
}

/// `/l/<id>/signin`: with this browser's key (script), or with a bearer
/// token (a plain form).
pub async fn sign_in(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let id = ledger_id(&ledger)?;
    let hex = id.to_hex();
    let signed_in = session_of(&console, &id, &headers).map(|(_, s)| match s.who {
        Who::Member { handle, .. } => handle.to_string(),
        Who::Token(r) => format!("{r:?} token"),
    });
    let body = html! {
        h1 { "Sign in" }
        @if let Some(who) = &signed_in { p.verdict.ok { "You are signed in (" (who) ")." } }
        section aria-labelledby="with-key" {
            h2 #with-key { "Members: with this browser's key" }
            p { "Your browser proves it holds your enrolled key by signing a one-time challenge. Nothing is typed and no password exists." }
            button #sign-in-key type="button" disabled { "Sign in with this browser's key" }
            p #sign-in-status role="status" {}
            p { "No key in this browser yet? " a href={ "/l/" (hex) "/device" } { "Create one" } "." }
            noscript { p.notice { "Signing in with a key needs JavaScript; a token works without it." } }
        }
        section aria-labelledby="with-token" {
            h2 #with-token { "Readers and auditors: with a token" }
            form method="post" action={ "/l/" (hex) "/signin/token" } {
                label for="token" { "Token" }
                input #token type="password" name="token" autocomplete="off" required;
                button type="submit" { "Sign in" }
            }
        }
    };
    Ok(layout::outside(&hex, "signin", "Sign in", body))
}
