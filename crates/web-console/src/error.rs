//! Refusals, as a page for a person or as JSON for the console's script.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tonic::{Code, Status};

use crate::pages::layout;

/// A refused request: what was wrong, and how it is answered.
#[derive(Debug)]
pub struct WebError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What was wrong, for a person.
    pub message: String,
    /// Answer with JSON (`{"error": message}`) rather than a page.
    pub json: bool,
    /// Send the browser here instead (a page that needs a session sends
    /// one without it to sign in).
    pub location: Option<String>,
}

impl WebError {
    /// A refusal with `status` and `message`, answered as a page.
    pub fn new(status: StatusCode, message: impl Into<String>) -> WebError {
        WebError {
            status,
            message: message.into(),
            json: false,
            location: None,
        }
    }

    /// Sends the browser to `to` (303 See Other).
    pub fn see_other(to: String, message: impl Into<String>) -> WebError {
        let mut e = WebError::new(StatusCode::SEE_OTHER, message);
        e.location = Some(to);
        e
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::NOT_FOUND, message)
    }

    /// 400.
    pub fn bad(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::FORBIDDEN, message)
    }

    /// 500: the server's fault.
    pub fn internal(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// 503: try again later.
    pub fn unavailable(message: impl Into<String>) -> WebError {
        WebError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// The same refusal, answered as JSON.
    pub fn as_json(mut self) -> WebError {
        self.json = true;
        self
    }
}

impl From<Status> for WebError {
    /// A status of the service, for the same refusal on the web.
    fn from(s: Status) -> WebError {
        let status = match s.code() {
            Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted => StatusCode::CONFLICT,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        WebError::new(status, s.message())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let (Some(to), false) = (&self.location, self.json) {
            return axum::response::Redirect::to(to).into_response();
        }
        if self.json {
            let body = Json(serde_json::json!({ "error": self.message }));
            return (self.status, body).into_response();
        }
        let title = self.status.canonical_reason().unwrap_or("Refused");
        let page = layout::bare(
            title,
            maud::html! {
                h1 { (title) }
                p.notice role="alert" { (self.message) }
                @if let Some(to) = &self.location {
                    p { a href=(to) { "Continue" } }
                }
            },
        );
        let mut response = layout::respond(page);
        *response.status_mut() = self.status;
        response
    }
}
