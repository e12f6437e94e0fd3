//! `feed`: one subscriber following the real server's feed over loopback.
//!
//! A ledger of N entries is built through the real writer (as `verify`
//! builds its own, `reaffirm` events by default) and served by the real
//! server on 127.0.0.1. Two figures, one report each:
//!
//! - `feed-catch-up`: one subscriber opens the feed at 0 and receives all N
//!   stored entries (raw bytes, hash, typed event and CloudEvents
//!   attributes, as any consumer gets them); entries per second from the
//!   call to the N-th message. Target: at least 200,000 a second.
//! - `feed-live`: the same subscriber stays on the feed while clients
//!   append over gRPC at [`LIVE_RATE`] a second for [`LIVE_SECS`] seconds;
//!   for each entry, the delay from the moment its appending client got the
//!   acknowledgement to the moment the subscriber got the entry. An entry
//!   the subscriber got before the acknowledgement reached its client
//!   counts as no delay (`before_ack` counts them). Target: p99 under 20 ms.
//!
//! Both report the one-core limit as every scenario does; the targets are
//! printed beside the figures (`target_per_s`, `target_p99_us`). The
//! catch-up report also gives the process's CPU time per entry (server and
//! subscriber together) and one core's cost of each step on its own
//! (`read_us`, `convert_us`, `encode_us`, `decode_us`, see [`Stages`]), so
//! that a shortfall says where the time went. The server's sled cache is
//! its default unless `--cache-mib` says otherwise (`cache_mib`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use ledger_core::SignedEvent;
use prost::Message;
use service::pb;
use tokio::time::Instant as TokioInstant;

use crate::Options;
use crate::measure::{self, Stats};
use crate::report::{Report, round};
use crate::served::{self, Served};
use crate::verify::{self, SIGNERS};

/// Ledger size when `--entries` is not given.
pub const DEFAULT_ENTRIES: u64 = 100_000;

/// Appends per second in the live phase.
pub const LIVE_RATE: u64 = 1_000;

/// Seconds of live appends.
pub const LIVE_SECS: u64 = 10;

/// Clients appending in the live phase, each on its own connection, so
/// that one slow acknowledgement does not hold back the schedule.
const LIVE_CLIENTS: usize = 8;

/// The catch-up target, entries a second.
const TARGET_PER_S: f64 = 200_000.0;

/// The live target, p99 delay in microseconds.
const TARGET_P99_US: f64 = 20_000.0;

/// Runs both phases on a ledger of `entries` entries.
pub fn run(opts: &Options, entries: u64) -> Result<Vec<Report>> {
    let verify::Built {
        fixture,
        kind,
        build_s,
        sample,
        limit,
    } = verify::Built::new(opts, "feed", entries)?;
    let entry_bytes = sample.iter().map(Vec::len).sum::<usize>() / sample.len();
    let mut stages = Stages::measure(&sample, &fixture.ledger_id)?;
    let live_total = LIVE_RATE * LIVE_SECS;
    let live: Vec<SignedEvent> = (0..SIGNERS)
        .flat_map(|t| fixture.events(kind, t, 1 << 40, live_total / SIGNERS as u64 + 1))
        .take(live_total as usize)
        .collect();
    let id = fixture.ledger_id;
    measure::reset_peak_rss();
    let path = fixture.path();
    let dir = fixture.close();
    stages.read_us = read_us(&path, opts.cache_bytes, entries)?;
    let served = Served::start(&path, opts.cache_bytes)?;
    let url = served.url.clone();
    let (catch_up, live) = served.runtime.block_on(async move {
        let mut subscriber = Served::client(&url).await?;
        let cpu = measure::cpu_secs()?;
        let start = Instant::now();
        let mut stream = subscriber
            .feed(pb::FeedRequest {
                ledger_id: id.to_hex(),
                from: 0,
            })
            .await
            .map_err(|s| anyhow!("feed refused: {}", s.message()))?
            .into_inner();
        for want in 0..entries {
            next(&mut stream, want).await?;
        }
        let catch_up = CatchUp {
            secs: start.elapsed().as_secs_f64(),
            cpu_secs: measure::cpu_secs()? - cpu,
        };
        let live = follow_live(&url, id, live, stream, entries).await?;
        anyhow::Ok((catch_up, live))
    })?;
    let peak = measure::peak_rss_bytes()?;
    let open_s = served.open_secs;
    served.stop()?;
    drop(dir);

    let catch_up_report = Report::new(
        "feed-catch-up",
        entries,
        entries as f64 / catch_up.secs,
        limit,
        peak,
    )
    .with("secs", round(catch_up.secs, 3))
    .with("cpu_secs", round(catch_up.cpu_secs, 2))
    .with(
        "cpu_us_per_entry",
        round(catch_up.cpu_secs * 1e6 / entries as f64, 2),
    )
    .with("target_per_s", TARGET_PER_S)
    .with("read_us", round(stages.read_us, 2))
    .with("convert_us", round(stages.convert_us, 2))
    .with("encode_us", round(stages.encode_us, 2))
    .with("decode_us", round(stages.decode_us, 2))
    .with("entry_bytes", entry_bytes)
    .with("message_bytes", stages.message_bytes)
    .with("server_open_s", round(open_s, 2))
    .with("build_s", round(build_s, 1))
    .with("events", kind.name())
    .with("cache_mib", opts.cache_bytes >> 20)
    .with("cores", opts.cores);

    let mut delays = live.delays_us;
    let stats = Stats::of(&mut delays);
    let max = delays.last().copied().unwrap_or(0.0);
    let live_report = Report::new(
        "feed-live",
        live_total,
        live_total as f64 / live.secs,
        limit,
        peak,
    )
    .with("rate_asked_per_s", LIVE_RATE)
    .with("secs", round(live.secs, 3))
    .with("median_delay_us", round(stats.median, 1))
    .with("p99_delay_us", round(stats.p99, 1))
    .with("max_delay_us", round(max, 1))
    .with("target_p99_us", TARGET_P99_US)
    .with("before_ack", live.before_ack)
    .with("median_ack_us", round(live.ack_median_us, 1))
    .with("ledger_entries", entries)
    .with("events", kind.name())
    .with("cores", opts.cores);
    Ok(vec![catch_up_report, live_report])
}

/// One core's cost per entry of each step a feed message takes outside the
/// network, in microseconds: reading the whole ledger from the store in
/// the feed's chunks (`read`, from a store opened with the server's cache
/// just before the server opens it), and over the sample the server decoding a stored entry into
/// its feed message (`convert`), encoding it (`encode`), and the subscriber
/// decoding it (`decode`).
struct Stages {
    /// The mean encoded size of the sample's feed messages.
    message_bytes: usize,
    read_us: f64,
    convert_us: f64,
    encode_us: f64,
    decode_us: f64,
}

impl Stages {
    fn measure(sample: &[Vec<u8>], ledger: &ledger_core::LedgerId) -> Result<Stages> {
        const ROUNDS: usize = 8;
        let source = service::convert::feed_source(ledger);
        let n = (sample.len() * ROUNDS) as f64;
        let start = Instant::now();
        let mut messages = Vec::with_capacity(sample.len());
        for round in 0..ROUNDS {
            messages.clear();
            for (i, bytes) in sample.iter().enumerate() {
                let e = service::convert::stored_entry(ledger_core::Seq(i as u64), bytes.clone())
                    .map_err(|s| anyhow!("sample entry {i}: {}", s.message()))?;
                messages.push(service::convert::feed_message(&source, e));
            }
            std::hint::black_box((round, &messages));
        }
        let convert_us = measure::micros(start.elapsed()) / n;
        let start = Instant::now();
        let mut encoded = Vec::new();
        for _ in 0..ROUNDS {
            encoded = messages.iter().map(Message::encode_to_vec).collect();
            std::hint::black_box(&encoded);
        }
        let encode_us = measure::micros(start.elapsed()) / n;
        let message_bytes = encoded.iter().map(Vec::len).sum::<usize>() / encoded.len().max(1);
        let start = Instant::now();
        for _ in 0..ROUNDS {
            for bytes in &encoded {
                std::hint::black_box(pb::FeedMessage::decode(bytes.as_slice())?);
            }
        }
        let decode_us = measure::micros(start.elapsed()) / n;
        Ok(Stages {
            message_bytes,
            read_us: 0.0,
            convert_us,
            encode_us,
            decode_us,
        })
    }
}

/// Microseconds an entry to read all `entries` entries of the ledger in
/// `dir` through `Store::range`, [`service::limits::FEED_CHUNK`] at a time,
/// on one core, from a store freshly opened with the server's cache.
fn read_us(dir: &std::path::Path, cache_bytes: u64, entries: u64) -> Result<f64> {
    use ledger_store::Store;
    let store = ledger_store::SledStore::open_with_cache(dir, cache_bytes)?;
    let start = Instant::now();
    let mut next = 0;
    while next < entries {
        let chunk = store.range(ledger_core::Seq(next), service::limits::FEED_CHUNK)?;
        let Some((last, _)) = chunk.last() else {
            bail!("the store ends at entry #{next}, before its {entries} entries");
        };
        next = last.0 + 1;
        std::hint::black_box(&chunk);
    }
    Ok(measure::micros(start.elapsed()) / entries as f64)
}

/// What the catch-up measured.
struct CatchUp {
    secs: f64,
    cpu_secs: f64,
}

/// What the live phase measured.
struct Live {
    secs: f64,
    delays_us: Vec<f64>,
    before_ack: u64,
    ack_median_us: f64,
}

/// The next feed message, which must be entry `want`.
async fn next(
    stream: &mut tonic::Streaming<pb::FeedMessage>,
    want: u64,
) -> Result<pb::FeedMessage> {
    let m = stream
        .message()
        .await
        .map_err(|s| anyhow!("the feed failed at entry #{want}: {}", s.message()))?
        .ok_or_else(|| anyhow!("the feed ended before entry #{want}"))?;
    let seq = m.entry.as_ref().map(|e| e.seq);
    if seq != Some(want) {
        bail!("the feed sent {seq:?} where entry #{want} was due");
    }
    Ok(m)
}

/// Appends `events` on a schedule of [`LIVE_RATE`] a second from
/// [`LIVE_CLIENTS`] clients while `stream` (already at entry `from`)
/// receives them; pairs each entry's acknowledgement with its delivery.
async fn follow_live(
    url: &str,
    id: ledger_core::LedgerId,
    events: Vec<SignedEvent>,
    mut stream: tonic::Streaming<pb::FeedMessage>,
    from: u64,
) -> Result<Live> {
    let n = events.len() as u64;
    let subscriber = tokio::spawn(async move {
        let mut delivered = Vec::with_capacity(n as usize);
        for want in from..from + n {
            next(&mut stream, want).await?;
            delivered.push(Instant::now());
        }
        anyhow::Ok(delivered)
    });

    let mut parts: Vec<Vec<(u64, SignedEvent)>> = vec![Vec::new(); LIVE_CLIENTS];
    for (i, e) in events.into_iter().enumerate() {
        parts[i % LIVE_CLIENTS].push((i as u64, e));
    }
    let mut clients = Vec::with_capacity(LIVE_CLIENTS);
    for part in parts {
        clients.push((Served::client(url).await?, part));
    }
    let start = Instant::now();
    let t0 = TokioInstant::now();
    let period = Duration::from_secs(1) / LIVE_RATE as u32;
    let appenders: Vec<_> = clients
        .into_iter()
        .map(|(mut client, part)| {
            tokio::spawn(async move {
                let mut acks = Vec::with_capacity(part.len());
                for (i, signed) in part {
                    tokio::time::sleep_until(t0 + period * i as u32).await;
                    let sent = Instant::now();
                    let seq = served::append(&mut client, &id, &signed).await?;
                    acks.push((seq, sent, Instant::now()));
                }
                anyhow::Ok(acks)
            })
        })
        .collect();
    let mut acks = HashMap::with_capacity(n as usize);
    let mut ack_us = Vec::with_capacity(n as usize);
    for a in appenders {
        for (seq, sent, acked) in a.await?? {
            ack_us.push(measure::micros(acked - sent));
            acks.insert(seq, acked);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let delivered = subscriber.await??;
    let mut delays_us = Vec::with_capacity(n as usize);
    let mut before_ack = 0;
    for (k, got) in delivered.into_iter().enumerate() {
        let seq = from + k as u64;
        let acked = acks
            .get(&seq)
            .ok_or_else(|| anyhow!("entry #{seq} was delivered but no client appended it"))?;
        match got.checked_duration_since(*acked) {
            Some(d) => delays_us.push(measure::micros(d)),
            None => {
                before_ack += 1;
                delays_us.push(0.0);
            }
        }
    }
    Ok(Live {
        secs,
        delays_us,
        before_ack,
        ack_median_us: Stats::of(&mut ack_us).median,
    })
}
