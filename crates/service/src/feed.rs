//! The live feed: one follower task per subscriber reads entries from the
//! store and hands them to the subscriber's [`Outbox`], which holds at most
//! [`Limits::feed_bytes`] of messages. A subscriber that leaves a full
//! outbox unread for [`Limits::feed_stall`] loses what is waiting (its
//! memory is freed at once) and is told with UNAVAILABLE to resume from the
//! entry after the last one it received.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use prost::Message;
use tokio::sync::{Notify, watch};
use tonic::Status;

use crate::host::Hosted;
use crate::limits::{self, Limits};
use crate::load::Seat;
use crate::{convert, ledger_api, pb};

/// What one subscriber has not read yet.
#[derive(Default)]
struct Waiting {
    queue: VecDeque<pb::FeedMessage>,
    bytes: usize,
    /// How the feed ends once the queue is read: `Some(Ok)` cleanly.
    end: Option<Result<(), Status>>,
    /// The subscriber dropped its stream.
    gone: bool,
    waker: Option<Waker>,
}

/// The messages between a follower and its subscriber's stream.
#[derive(Default)]
pub struct Outbox {
    waiting: Mutex<Waiting>,
    /// Wakes the follower: room freed, or the subscriber gone.
    room: Notify,
}

/// How a push ended.
enum Pushed {
    Sent,
    /// The subscriber went away, or the server is stopping.
    Over,
    /// The outbox stayed full for the stall limit; what waited is dropped.
    Stalled,
}

impl Outbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `message`, waiting while the outbox holds `limits.feed_bytes`.
    async fn push(
        &self,
        message: pb::FeedMessage,
        limits: &Limits,
        stopping: &mut watch::Receiver<bool>,
    ) -> Pushed {
        let size = message.encoded_len();
        let mut message = Some(message);
        let stall = tokio::time::sleep(limits.feed_stall);
        tokio::pin!(stall);
        loop {
            let room = self.room.notified();
            {
                let mut w = self.lock();
                if w.gone {
                    return Pushed::Over;
                }
                if w.queue.is_empty() || w.bytes + size <= limits.feed_bytes {
                    w.bytes += size;
                    w.queue.extend(message.take());
                    if let Some(waker) = w.waker.take() {
                        waker.wake();
                    }
                    return Pushed::Sent;
                }
            }
            tokio::select! {
                _ = room => {
                    // Room was made (or the subscriber left): a reading
                    // subscriber is not stalled, however slow.
                    stall.as_mut().reset(tokio::time::Instant::now() + limits.feed_stall);
                }
                _ = &mut stall => return Pushed::Stalled,
                _ = stopping.wait_for(|s| *s) => return Pushed::Over,
            }
        }
    }

    /// Ends the feed after what is queued (`Ok`), or at once with `status`,
    /// dropping what is queued.
    fn end(&self, how: Result<(), Status>) {
        let mut w = self.lock();
        if how.is_err() {
            w.queue.clear();
            w.bytes = 0;
        }
        w.end = Some(how);
        if let Some(waker) = w.waker.take() {
            waker.wake();
        }
    }

    /// Whether the subscriber has gone.
    fn gone(&self) -> bool {
        self.lock().gone
    }
}

/// The subscriber's side: the response stream of one `Feed` call.
pub struct FeedStream {
    outbox: Arc<Outbox>,
    done: bool,
}

impl tokio_stream::Stream for FeedStream {
    type Item = Result<pb::FeedMessage, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let outbox = self.outbox.clone();
        let mut w = outbox.lock();
        if let Some(message) = w.queue.pop_front() {
            w.bytes = w.bytes.saturating_sub(message.encoded_len());
            drop(w);
            outbox.room.notify_one();
            return Poll::Ready(Some(Ok(message)));
        }
        match w.end.take() {
            Some(how) => {
                drop(w);
                self.done = true;
                Poll::Ready(how.err().map(Err))
            }
            None => {
                w.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for FeedStream {
    fn drop(&mut self) {
        {
            let mut w = self.outbox.lock();
            w.gone = true;
            w.queue.clear();
            w.bytes = 0;
        }
        self.outbox.room.notify_one();
    }
}

/// Starts following `host` from `cursor` for one subscriber, who holds
/// `seat` (counted against the feed limits) for as long as the feed runs.
pub fn start(
    host: Arc<Hosted>,
    cursor: u64,
    limits: Limits,
    seat: Seat,
    stopping: watch::Receiver<bool>,
) -> FeedStream {
    let outbox = Arc::new(Outbox::default());
    let follower = outbox.clone();
    tokio::spawn(async move {
        let _seat = seat;
        let how = follow(&host, cursor, &follower, &limits, stopping).await;
        follower.end(how);
    });
    FeedStream {
        outbox,
        done: false,
    }
}

/// Feed messages for entries from `start`, at most [`limits::FEED_CHUNK`]
/// of them and [`limits::FEED_CHUNK_BYTES`] of entries, read and converted
/// on a blocking thread.
fn read_ahead(
    host: &Arc<Hosted>,
    source: &Arc<str>,
    start: u64,
) -> tokio::task::JoinHandle<Result<Vec<pb::FeedMessage>, Status>> {
    let (host, source) = (host.clone(), source.clone());
    tokio::task::spawn_blocking(move || {
        let chunk = ledger_api::read(&host, start, limits::FEED_CHUNK, limits::FEED_CHUNK_BYTES)?;
        Ok(chunk
            .into_iter()
            .map(|e| convert::feed_message(&source, e))
            .collect())
    })
}

/// Reads from the store in chunks up to the applied size, then waits for
/// it to grow. The size is only a wake-up; every entry comes from the
/// store, so a slow subscriber holds back nobody but itself. While one
/// chunk is being sent the next is read, so that a subscriber catching up
/// keeps both the store and its connection busy. Returns how the feed
/// ends: `Ok` when the subscriber went away or the server is stopping.
async fn follow(
    host: &Arc<Hosted>,
    mut cursor: u64,
    outbox: &Outbox,
    limits: &Limits,
    mut stopping: watch::Receiver<bool>,
) -> Result<(), Status> {
    let source: Arc<str> = convert::feed_source(&host.id).into();
    let mut applied = host.subscribe();
    loop {
        if *stopping.borrow() || outbox.gone() {
            return Ok(());
        }
        let size = *applied.borrow_and_update();
        let mut ahead = (cursor < size).then(|| read_ahead(host, &source, cursor));
        while let Some(reading) = ahead.take() {
            let chunk = match reading.await {
                Ok(Ok(c)) if !c.is_empty() => c,
                Ok(Ok(_)) => break,
                Ok(Err(status)) => return Err(status),
                Err(e) => return Err(Status::internal(format!("feed reader failed: {e}"))),
            };
            let last = chunk.last().and_then(|m| m.entry.as_ref()).map(|e| e.seq);
            cursor = last.map_or(cursor, |s| s + 1);
            if cursor < size {
                ahead = Some(read_ahead(host, &source, cursor));
            }
            for message in chunk {
                let ended = match outbox.push(message, limits, &mut stopping).await {
                    Pushed::Sent => continue,
                    Pushed::Over => Ok(()),
                    Pushed::Stalled => Err(Status::unavailable(format!(
                        "feed dropped: its subscriber left {} KiB unread for {} s; \
                         resume from the entry after the last one received",
                        limits.feed_bytes >> 10,
                        limits.feed_stall.as_secs(),
                    ))),
                };
                // The read ahead finishes before the feed does, so that no
                // read of the store outlives the subscriber.
                if let Some(reading) = ahead.take() {
                    let _ = reading.await;
                }
                return ended;
            }
        }
        tokio::select! {
            changed = applied.changed() => if changed.is_err() { return Ok(()) },
            _ = stopping.wait_for(|s| *s) => return Ok(()),
            _ = outbox.room.notified() => {}
        }
    }
}
