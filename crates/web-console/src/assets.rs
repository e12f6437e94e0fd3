//! The console's style sheets and its one script, embedded in the binary:
//! nothing is loaded from anywhere else.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The console's own style sheet.
pub const CONSOLE_CSS: &str = include_str!("../assets/console.css");
/// The console's script: an ES module (keys, signing, live updates).
pub const CONSOLE_JS: &str = include_str!("../assets/console.js");

/// `GET /assets/<name>`.
pub async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "console.css" => (CONSOLE_CSS, "text/css; charset=utf-8"),
        // The minutes' own style, so that the minutes in a page look as
        // their printed file does.
        "minutes.css" => (review::render::HTML_STYLE, "text/css; charset=utf-8"),
        "console.js" => (CONSOLE_JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    crate::pages::layout::secure(&mut r);
    r
}
