//! Server-sent events that tell an open page the ledger grew: one `size`
//! event with the applied size at once, then one each time it grows (the
//! same signal that wakes the gRPC feeds, so nothing is announced before
//! it is durable). The page's script reloads when the size passes the one
//! it was rendered at. Streams end when the server begins to stop, and at
//! most [`MAX_LIVE`] are open at once.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use service::Role;
use tokio_stream::wrappers::ReceiverStream;

use crate::Console;
use crate::error::WebError;
use crate::pages::viewer;

/// Live pages open at once on the server.
pub const MAX_LIVE: usize = 1024;

static OPEN: AtomicUsize = AtomicUsize::new(0);

struct Seat;

impl Drop for Seat {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `GET /l/<id>/live`: the ledger's size, now and as it grows.
pub async fn live(
    State(console): State<Arc<Console>>,
    Path(ledger): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let v = viewer(&console, &ledger, &headers, Role::Reader)?;
    if OPEN.fetch_add(1, Ordering::Relaxed) >= MAX_LIVE {
        OPEN.fetch_sub(1, Ordering::Relaxed);
        return Err(WebError::unavailable(format!(
            "{MAX_LIVE} live pages are open on this server; reload later"
        )));
    }
    let seat = Seat;
    let mut sizes = v.host.subscribe();
    let mut stopping = console.hosts.stopping();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Event, Infallible>>(4);
    tokio::spawn(async move {
        let _seat = seat;
        loop {
            let size = *sizes.borrow_and_update();
            if tx
                .send(Ok(Event::default().event("size").data(size.to_string())))
                .await
                .is_err()
            {
                return;
            }
            tokio::select! {
                changed = sizes.changed() => if changed.is_err() { return },
                _ = stopping.wait_for(|s| *s) => return,
                _ = tx.closed() => return,
            }
        }
    });
    let sse = Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(20)));
    let mut r = sse.into_response();
    crate::pages::layout::secure(&mut r);
    Ok(r)
}
