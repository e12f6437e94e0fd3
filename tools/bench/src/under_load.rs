//! `append-under-load`: an append's latency while auditors flood the
//! server, beside its latency on the idle server in the same run.
//!
//! The ledger is built as `rebuild` builds its own (the story's
//! organisation founded, then units appending chains of story-like reviews;
//! `--entries N` review events, default [`DEFAULT_ENTRIES`]), closed, and
//! served by the real server on 127.0.0.1 with its default limits. One
//! client then appends [`APPENDS`] roster proposals one at a time, each
//! waiting for its durable acknowledgement: first on the idle server, then
//! while [`FLOODERS`] other clients, each on a connection of its own, ask
//! `VerifyReview` with `whole_ledger` (a whole verification of the ledger) again and again and
//! give each call up after a deadline between 50 ms and 1 s, as impatient
//! auditors would. The report gives the median and p99 of both phases, and
//! what became of the flood's calls (answered, refused as the queue was
//! full, given up). `per_s` is appends per second under load and
//! `limit_per_s` the same on the idle server, so `ratio` is the share of the
//! idle rate an append keeps under the flood.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ledger_core::{KeyPair, LedgerId, SignedEvent};
use review::Payload;
use service::pb;
use service::pb::review_service_client::ReviewServiceClient;
use tonic::Code;

use crate::Options;
use crate::fixture;
use crate::measure::{self, Stats, micros};
use crate::meetings;
use crate::rebuild;
use crate::report::{Report, round};
use crate::served::{self, Served};

/// Review events of the ledger when `--entries` is not given.
pub const DEFAULT_ENTRIES: u64 = 20_000;

/// Appends timed in each phase.
pub const APPENDS: u64 = 300;

/// Clients flooding the server with verifications.
pub const FLOODERS: usize = 64;

/// What became of the flood's calls.
#[derive(Default)]
struct Flood {
    answered: AtomicU64,
    refused: AtomicU64,
    given_up: AtomicU64,
    other: AtomicU64,
}

/// `count` roster proposals by `author`, each enrolling a fresh member.
fn proposals(ledger: LedgerId, author: &KeyPair, first: u64, count: u64) -> Vec<SignedEvent> {
    (first..first + count)
        .map(|i| {
            let payload = Payload::Propose(fixture::enrolment(PROPOSER, i));
            fixture::sign(ledger, author, &payload)
        })
        .collect()
}

/// The writer number in the proposed members' handles.
const PROPOSER: usize = 9_999;

/// Runs the scenario over a ledger of `review_events` review events.
pub fn run(opts: &Options, review_events: u64) -> Result<Report> {
    // As `serve` does, before anything uses rayon.
    let lowered = service::audit::lower_rayon_priority();
    let built = rebuild::story_ledger(opts.tmp.as_deref(), review_events)?;
    let (path, id) = (built.path.clone(), built.id);
    let keys = rebuild::story_keys();
    let ceo = keys.get("ceo").context("the story has a chief executive")?;
    let idle_events = proposals(id, ceo, 0, APPENDS);
    let load_events = proposals(id, ceo, APPENDS, APPENDS);
    let review = meetings::review_id(0, 0).as_str().to_owned();

    measure::reset_peak_rss();
    let served = Served::start(&path, opts.cache_bytes)?;
    let url = served.url.clone();
    let flood = Arc::new(Flood::default());
    let counts = flood.clone();
    let (idle, load, entries) = served.runtime.block_on(async move {
        let mut client = Served::client(&url).await?;
        let mut idle = Vec::with_capacity(idle_events.len());
        for e in &idle_events {
            let start = Instant::now();
            served::append(&mut client, &id, e).await?;
            idle.push(micros(start.elapsed()));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut flooders = Vec::with_capacity(FLOODERS);
        for f in 0..FLOODERS {
            let (url, review, stop, flood) =
                (url.clone(), review.clone(), stop.clone(), flood.clone());
            let mut auditor = ReviewServiceClient::connect(url).await?;
            flooders.push(tokio::spawn(async move {
                let mut k = f as u64;
                while !stop.load(Ordering::Relaxed) {
                    k = k
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let mut request = tonic::Request::new(pb::VerifyReviewRequest {
                        ledger_id: id.to_hex(),
                        review: review.clone(),
                        whole_ledger: true,
                    });
                    request.set_timeout(Duration::from_millis(50 + (k >> 33) % 950));
                    match auditor.verify_review(request).await {
                        Ok(_) => flood.answered.fetch_add(1, Ordering::Relaxed),
                        Err(s) if s.code() == Code::ResourceExhausted => {
                            // A refused auditor waits a moment before asking again.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            flood.refused.fetch_add(1, Ordering::Relaxed)
                        }
                        // The client's own timer says CANCELLED, the server's DEADLINE_EXCEEDED.
                        Err(s) if matches!(s.code(), Code::DeadlineExceeded | Code::Cancelled) => {
                            flood.given_up.fetch_add(1, Ordering::Relaxed)
                        }
                        Err(_) => flood.other.fetch_add(1, Ordering::Relaxed),
                    };
                }
            }));
        }
        // Let the flood build up before timing.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut load = Vec::with_capacity(load_events.len());
        for e in &load_events {
            let start = Instant::now();
            served::append(&mut client, &id, e).await?;
            load.push(micros(start.elapsed()));
        }
        stop.store(true, Ordering::Relaxed);
        for f in flooders {
            let _ = f.await;
        }
        let size = client
            .get_checkpoint(pb::GetCheckpointRequest {
                ledger_id: id.to_hex(),
            })
            .await?
            .into_inner()
            .size;
        anyhow::Ok((idle, load, size))
    })?;
    let peak = measure::peak_rss_bytes()?;
    served.stop()?;
    drop(built);
    let (mut idle, mut load) = (idle, load);
    let (idle, load) = (Stats::of(&mut idle), Stats::of(&mut load));
    Ok(Report::new(
        "append-under-load",
        entries,
        1e6 / load.mean,
        1e6 / idle.mean,
        peak,
    )
    .with(
        "limit_kind",
        "the same appends on the idle server, in the same run",
    )
    .with("idle_median_us", round(idle.median, 1))
    .with("idle_p99_us", round(idle.p99, 1))
    .with("load_median_us", round(load.median, 1))
    .with("load_p99_us", round(load.p99, 1))
    .with("median_over_idle", round(load.median / idle.median, 2))
    .with("p99_over_idle", round(load.p99 / idle.p99, 2))
    .with("flooders", FLOODERS as u64)
    .with("flood_answered", counts.answered.load(Ordering::Relaxed))
    .with("flood_refused", counts.refused.load(Ordering::Relaxed))
    .with("flood_given_up", counts.given_up.load(Ordering::Relaxed))
    .with("flood_other", counts.other.load(Ordering::Relaxed))
    .with("rayon_lowered", lowered)
    .with("review_events", review_events)
    .with("appends", APPENDS)
    .with("cores", opts.cores))
}
