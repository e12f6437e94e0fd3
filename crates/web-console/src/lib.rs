//! `web-console`: the web console of `review-ledger serve`, for the people who
//! take part in a review without a command line.
//!
//! Server-rendered HTML (maud), one style sheet and one ES module embedded
//! in the binary ([`assets`]), no outside resource, and a strict
//! Content-Security-Policy on every answer. Every page reads without
//! JavaScript; JavaScript is needed only where a member's key must act,
//! because the key never leaves their browser: creating a device key
//! (WebCrypto Ed25519, non-extractable, kept in IndexedDB), signing in with
//! it, and signing events.
//!
//! - [`session`]: sessions opened by a key's signature over a challenge, or
//!   by a bearer token of `--tokens`; the CSRF token of each.
//! - [`pages`]: the pages of a hosted ledger, built from the same
//!   projections and judgements as the CLI and the gRPC service.
//! - [`sign`]: signing in, and the two steps of an append from the browser
//!   (the server builds the event, the browser checks and signs its bytes,
//!   the server appends it by the same path as gRPC `Append`).
//! - [`live`]: server-sent events that tell a page the ledger grew.
//!
//! It holds no business rule and no key: the writer of `ledger-store`
//! decides every append, `review` computes every page, and the console's
//! sessions only say whose key a built event names.

pub mod assets;
pub mod error;
pub mod forms;
pub mod live;
pub mod pages;
pub mod session;
pub mod sign;
pub mod tls;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use service::Hosts;
use service::audit::Auditors;
use service::conn::Gate;
use service::limits::Limits;

use crate::session::Sessions;

/// The largest form a browser may post, in bytes: an event's bytes (at most
/// 65 KiB) as hex, with room to spare.
pub const MAX_FORM: usize = 160 * 1024;

/// The console of one server.
pub struct Console {
    hosts: Arc<Hosts>,
    auditors: Arc<Auditors>,
    sessions: Sessions,
    secure_cookies: bool,
}

impl Console {
    /// The console over `hosts`, whose whole-ledger reads (a bundle, a
    /// verification) queue in `auditors` beside the gRPC service's.
    /// `secure_cookies` marks its cookies `Secure`: set it when browsers
    /// reach the console over TLS.
    pub fn new(hosts: Arc<Hosts>, auditors: Arc<Auditors>, secure_cookies: bool) -> Console {
        Console {
            hosts,
            auditors,
            sessions: Sessions::default(),
            secure_cookies,
        }
    }
}

/// The console's routes. Every ledger's pages live under `/l/<ledger id>/`.
pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .route("/assets/{name}", get(assets::asset))
        .route("/l/{ledger}", get(pages::to_overview))
        .route("/l/{ledger}/", get(pages::overview))
        .route("/l/{ledger}/reviews/{review}", get(pages::review))
        .route(
            "/l/{ledger}/reviews/{review}/minutes.html",
            get(pages::minutes_file),
        )
        .route(
            "/l/{ledger}/reviews/{review}/bundle",
            get(pages::bundle_file),
        )
        .route("/l/{ledger}/reviews/{review}/report", get(pages::report))
        .route(
            "/l/{ledger}/check",
            get(pages::check_form)
                .post(pages::check_bundle)
                .layer(DefaultBodyLimit::max(pages::MAX_UPLOAD)),
        )
        .route(
            "/l/{ledger}/reviews/{review}/sign",
            get(pages::sign_minutes),
        )
        .route("/l/{ledger}/record", get(pages::record))
        .route(
            "/l/{ledger}/reviews/{review}/record",
            get(pages::record_review),
        )
        .route("/l/{ledger}/actions", get(pages::actions))
        .route("/l/{ledger}/objectives", get(pages::objectives))
        .route("/l/{ledger}/roster", get(pages::roster))
        .route("/l/{ledger}/log", get(pages::log))
        .route("/l/{ledger}/log/{seq}", get(pages::entry))
        .route("/l/{ledger}/device", get(pages::device))
        .route("/l/{ledger}/signin", get(pages::sign_in))
        .route("/l/{ledger}/signin/token", post(sign::token))
        .route("/l/{ledger}/signin/challenge", post(sign::challenge))
        .route("/l/{ledger}/signin/key", post(sign::key))
        .route("/l/{ledger}/signout", post(sign::sign_out))
        .route("/l/{ledger}/prepare", post(sign::prepare))
        .route(
            "/l/{ledger}/digest",
            post(sign::digest).layer(DefaultBodyLimit::max(pages::MAX_UPLOAD)),
        )
        .route("/l/{ledger}/append", post(sign::append))
        .route("/l/{ledger}/live", get(live::live))
        .layer(DefaultBodyLimit::max(MAX_FORM))
        .with_state(console)
}

/// Serves the console on `listener`, under the connection cap and idle
/// limit of `limits` (through the server's [`Gate`]; what is written
/// counts as activity, so a live page's stream, written to every 20
/// seconds, stays), over TLS when `tls` is given, until `shutdown`
/// resolves; live pages' event streams end when the server begins to stop.
pub async fn serve(
    console: Arc<Console>,
    listener: tokio::net::TcpListener,
    limits: &Limits,
    tls: Option<tls::Tls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let gate = Gate::new(listener, limits.connections, limits.idle, true);
    let app = router(console);
    match tls {
        None => {
            axum::serve(tls::Plain(gate), app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        Some(tls) => {
            axum::serve(tls.listen(gate, limits.idle), app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}
