//! The auditor's pages: a review's evidence bundle, its verification report
//! (what `verify-bundle --html` writes, from a bundle the server builds and
//! verifies in the same run), and the check of a bundle an auditor uploads,
//! against the ledger id they pin, in the server's own verifier. An upload
//! is verified in memory and never stored. All of it runs in the auditors'
//! pool, beside the gRPC service's whole-ledger calls and under its limits.

use std::sync::Arc;

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use ledger_core::LedgerId;
use maud::html;
use review::ReviewId;
use review::render::{Format, verify_file};
use service::Role;
use service::host::Hosted;

use super::review_page::review_id;
use super::{Viewer, today, viewer};
use crate::Console;
use crate::error::WebError;
use crate::pages::layout;

/// The largest bundle an auditor may upload, in bytes.
pub const MAX_UPLOAD: usize = 32 << 20;

/// The evidence bundle of `review`, built in the auditors' pool by the code
/// of `GetBundle` and `export`.
async fn export(
    console: &Console,
    host: Arc<Hosted>,
    review: ReviewId,
) -> Result<Vec<u8>, WebError> {
    Ok(console
        .auditors
        .run(host.id, move |stop| {
            let snapshot = service::review_api::review_snapshot(&host, &review)?;
            let store = service::audit::Stoppable {
                inner: snapshot,
                stop: stop.clone(),
            };
            let bundle = service::export::bundle(&store, &review)
                .map_err(service::review_api::export_status)?;
            service::export::file_bytes(&bundle).map_err(service::review_api::export_status)
        })
        .await?)
}

/// `/l/<id>/reviews/<review>/bundle`: the review's evidence bundle; evidence
/// to verify, not to trust.
pub async fn bundle_file(
    State(console): State<Arc<Console>>,
    Path((ledger, review)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = viewer(&console, &ledger, &headers, Role::Auditor)?;
    let id = review_id(&review)?;
    let name = format!("review-{id}.bundle");
    let bytes = export(&console, v.host.clone(), id).await?;
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
            .unwrap_or(HeaderValue::from_static("attachment")),
    );
    layout::secure(&mut r);
    Ok(r)
}

/// `/l/<id>/reviews/<review>/report`: the auditor's verification report of
/// the review's bundle, as `verify-bundle --html` writes it, pinned to this
/// ledger's id.
pub async fn report(
    State(console): State<Arc<Console>>,
    Path((ledger, review)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = viewer(&console, &ledger, &headers, Role::Auditor)?;
    let id = review_id(&review)?;
    let name = format!("review-{id}.bundle");
    let bytes = export(&console, v.host.clone(), id).await?;
    let html = verified(&console, v.host.id, name, bytes, v.host.id).await?;
    Ok(layout::document(html, None))
}

/// Verifies bundle `bytes` against `trusted` in the auditors' pool and
/// renders the report (the verdict first; `VERIFICATION FAILED` for a
/// bundle that does not verify).
async fn verified(
    console: &Console,
    ledger: LedgerId,
    name: String,
    bytes: Vec<u8>,
    trusted: LedgerId,
) -> Result<String, WebError> {
    let day = today();
    Ok(console
        .auditors
        .run(ledger, move |_| {
            Ok(verify_file(&name, &bytes, trusted, day, Some(Format::Html))
                .rendered
                .unwrap_or_default())
        })
        .await?)
}

fn csrf_of(v: &Viewer) -> Option<String> {
    v.session.as_ref().map(|(_, s)| s.csrf.to_hex())
}

/// `/l/<id>/check`: the form to check a bundle file against a pinned
/// ledger id.
pub async fn check_form(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = viewer(&console, &ledger, &headers, Role::Auditor)?;
    let state = v.host.state();
    let body = html! {
        h1 { "Check an evidence bundle" }
        p {
            "The bundle is verified here, in this server's own verifier, against the ledger id you pin, and is not stored. "
            "The same check runs offline with " code { "review-ledger verify-bundle FILE --trust LEDGER-ID" } "."
        }
        form method="post" enctype="multipart/form-data" action={ "/l/" (v.ledger_hex()) "/check" } {
            input type="hidden" name="csrf" value=[csrf_of(&v)];
            p {
                label for="trust" { "Ledger id you trust (64 hex digits)" } br;
                input #trust type="text" name="trust" size="66" value=(v.ledger_hex()) required;
            }
            p {
                label for="bundle" { "Bundle file" } br;
                input #bundle type="file" name="bundle" required;
            }
            button type="submit" { "Verify" }
        }
    };
    Ok(v.page(&state, "check", "Check a bundle", false, body))
}

/// `POST /l/<id>/check`: verifies the uploaded bundle and answers with the
/// verification report.
pub async fn check_bundle(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let v = viewer(&console, &ledger, &headers, Role::Auditor)?;
    let (mut csrf, mut trust, mut file) = (String::new(), String::new(), None);
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| WebError::bad(format!("the upload is malformed: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "trust" => trust = field.text().await.unwrap_or_default(),
            "bundle" => {
                let file_name = field.file_name().unwrap_or("bundle").to_owned();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| WebError::bad(format!("the bundle did not arrive whole: {e}")))?;
                file = Some((file_name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    if let Some((_, s)) = &v.session
        && !s.csrf.matches(&csrf)
    {
        return Err(WebError::forbidden(
            "the form's CSRF token is not this session's: reload the page and try again",
        ));
    }
    let trusted = ledger_core::Hash::from_hex("trusted ledger id", trust.trim())
        .map_err(|e| WebError::bad(e.to_string()))?;
    let (name, bytes) = file.ok_or_else(|| WebError::bad("no bundle file was sent"))?;
    let html = verified(&console, v.host.id, name, bytes, trusted).await?;
    Ok(layout::document(html, None))
}
