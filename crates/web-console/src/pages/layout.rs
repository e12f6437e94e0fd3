//! The frame every page shares, and the headers every answer carries.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// The Content-Security-Policy of every answer: nothing from elsewhere, no
/// inline script or style, forms post only here, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the frame of a ledger's page shows around its content.
pub struct Frame<'a> {
    /// The ledger id, hex.
    pub ledger: &'a str,
    /// The organisation.
    pub organisation: &'a str,
    /// Who is signed in, in words, if anyone.
    pub who: Option<String>,
    /// The session's CSRF token, for the sign-out form and the script.
    pub csrf: Option<String>,
    /// The signed-in member's key (hex), for the script to find in this
    /// browser's key store.
    pub key: Option<String>,
    /// The signed-in member's active passkeys, as JSON for the script
    /// (`[{key_id, credential_id, rp_id, label}]`), if they hold any.
    pub passkeys: Option<String>,
    /// Which page this is: the script looks for it.
    pub page: &'static str,
    /// The ledger size shown: a live page reloads when the ledger grows.
    pub live: Option<u64>,
}

/// A page of a ledger: navigation, who is signed in, then `body`.
pub fn page(frame: &Frame, title: &str, body: Markup) -> Markup {
    let base = format!("/l/{}/", frame.ledger);
    let nav = [
        ("", "Overview"),
        ("actions", "Actions"),
        ("objectives", "Objectives"),
        ("roster", "Roster"),
        ("log", "Ledger"),
        ("record", "Record"),
        ("device", "This device"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                @if let Some(csrf) = &frame.csrf { meta name="csrf" content=(csrf); }
                @if let Some(key) = &frame.key { meta name="member-key" content=(key); }
                @if let Some(passkeys) = &frame.passkeys { meta name="passkeys" content=(passkeys); }
                meta name="ledger" content=(frame.ledger);
                title { (title) " \u{b7} " (frame.organisation) }
                link rel="stylesheet" href="/assets/minutes.css";
                link rel="stylesheet" href="/assets/console.css";
                script type="module" src="/assets/console.js" {}
            }
            body data-page=(frame.page) data-live=[frame.live] {
                a.skip href="#main" { "Skip to content" }
                header.bar {
                    p.org { a href=(base) { (frame.organisation) } }
                    nav aria-label="Ledger" {
                        ul {
                            @for (path, label) in nav {
                                li { a href={ (base) (path) } { (label) } }
                            }
                        }
                    }
                    div.who {
                        @match &frame.who {
                            Some(who) => {
                                span { "Signed in as " strong { (who) } }
                                form method="post" action={ (base) "signout" } {
                                    input type="hidden" name="csrf" value=[&frame.csrf];
                                    button type="submit" { "Sign out" }
                                }
                            }
                            None => a href={ (base) "signin" } { "Sign in" },
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    p #live-notice .notice hidden role="status" {}
                    (body)
                }
                footer.foot {
                    p {
                        "Ledger " code { (frame.ledger) }
                        ". Every entry is signed by its author's own key; verify it offline with "
                        code { "review-ledger verify" } "."
                    }
                }
            }
        }
    }
}

/// A page of a ledger for someone who may not read it yet (signing in,
/// making a key): it names no organisation and shows nothing of the ledger.
pub fn outside(ledger: &str, page_name: &'static str, title: &str, body: Markup) -> Response {
    respond(page(
        &Frame {
            ledger,
            organisation: "review-ledger",
            who: None,
            csrf: None,
            key: None,
            passkeys: None,
            page: page_name,
            live: None,
        },
        title,
        body,
    ))
}

/// A page outside any ledger (the index, an error).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " \u{b7} review-ledger" }
                link rel="stylesheet" href="/assets/console.css";
            }
            body {
                main id="main" { (body) }
            }
        }
    }
}

/// The answer for a page: HTML with the security headers, never cached
/// (a page shows a ledger that grows, and perhaps a CSRF token).
pub fn respond(markup: Markup) -> Response {
    let mut r = axum::response::Html(markup.into_string()).into_response();
    secure(&mut r);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A self-contained HTML document (the minutes, a verification report):
/// it carries its style inline and loads nothing, so its policy allows
/// inline style only; with `attachment`, the browser saves it under that name.
pub fn document(html: String, attachment: Option<&str>) -> Response {
    let mut r = axum::response::Html(html).into_response();
    secure(&mut r);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(name) = attachment {
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                .unwrap_or(HeaderValue::from_static("attachment")),
        );
    }
    r
}

/// Adds the security headers to any answer.
pub fn secure(r: &mut Response) {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}
