//! `rebuild`: every projection rebuilt from a ledger of N review events.
//!
//! The ledger is built first, on disk, through the real writer: the
//! story's organisation is founded (genesis, then its four other members
//! enrolled and approved), and then up to [`UNITS`] threads append (one
//! for every [`EVENTS_PER_UNIT`] review events or so), each for a unit of
//! its own, that unit's chain of story-like reviews (see
//! [`crate::meetings`]) until N review events are stored in all. Each
//! thread signs its events with the members' keys and mirrors what the
//! ledger admitted in a `LedgerState` of its own, from the seq, hash and
//! receive time of every receipt: that is how it knows the minutes digest
//! and the entry a signature must name. Every event is admitted, or the
//! bench fails. `--entries N` counts the review events; the ledger also
//! holds the eight entries that found it, and the report's `entries`
//! counts every entry replayed.
//!
//! Then the bench re-executes itself as `bench rebuild-child --dir D`,
//! which opens the directory and times `ledger_store::replay` into a
//! fresh `review::LedgerState`: the one fold that rebuilds the roster, the
//! reviews with their minutes, change history and signatures, the action
//! log and the objectives. A child process, so that its peak resident
//! memory is that of the rebuild alone.
//!
//! The limit is decoding alone ([`measure::decode_secs`]): one core
//! running the canonical codec over every stored entry of the same ledger
//! (entry, event and payload), the faster of two passes, timing only the
//! decoding and not the reads. It runs in a second fresh child, `bench
//! rebuild-child --dir D --limit`, once the replay's child has exited, so
//! that each figure comes from a process of its own, neither one inheriting
//! the other's heap. The target is a ratio of at least 0.5.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use ledger_core::{Admission, EventId, Hash, KeyPair, Seq, UnixMicros};
use ledger_store::{Ledger, SledStore, Store, replay, system_clock};
use review::rehearsal::member_key;
use review::story::{ORGANISATION, PEOPLE, Step};
use review::vocab::Sign;
use review::{Date, Genesis, LedgerState, MemberId, MemberRecord, Payload, Policy, RosterChange};
use serde::{Deserialize, Serialize};

use crate::Options;
use crate::fixture::{self, Writer};
use crate::measure;
use crate::meetings::{self, MIN_EVENTS_PER_REVIEW, UnitSteps};
use crate::report::{Report, round};
use crate::verify::disk_usage;

/// Review events when `--entries` is not given.
pub const DEFAULT_ENTRIES: u64 = 100_000;

/// The most units, each with its chain of reviews and its appending
/// thread: the most events one group-commit batch holds while building.
pub const UNITS: usize = 256;

/// Review events each unit gets at least, when there are enough: ten
/// reviews or so, so that a small ledger still has full reviews in it.
const EVENTS_PER_UNIT: u64 = 10 * 36;

/// Entries read and decoded together when measuring the limit.
const CHUNK: usize = 4096;

/// Passes of the limit measurement; the fastest counts.
const LIMIT_PASSES: usize = 2;

/// What the child reports on its stdout, one JSON line.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChildReport {
    /// Entries replayed.
    pub entries: u64,
    /// Seconds spent in `replay`.
    pub secs: f64,
    /// Seconds spent opening the store.
    pub open_secs: f64,
    /// Reviews in the rebuilt state.
    pub reviews: u64,
    /// Changes to minutes across all reviews.
    pub changes: u64,
    /// Minutes signatures across all reviews.
    pub signatures: u64,
    /// Actions in the action log.
    pub actions: u64,
    /// Entries in the action histories.
    pub action_events: u64,
    /// Objectives on the scorecard.
    pub objectives: u64,
    /// Members on the roster.
    pub members: u64,
    /// The child's `VmHWM` after the replay.
    pub peak_rss_bytes: u64,
}

/// What the child run with `--limit` reports on its stdout, one JSON line.
#[derive(Debug, Serialize, Deserialize)]
pub struct LimitReport {
    /// Entries decoded in each pass.
    pub entries: u64,
    /// Entries per second one core decodes, the faster pass.
    pub decode_per_s: f64,
    /// The mean size of a stored entry.
    pub entry_bytes: u64,
}

/// Builds a ledger of `review_events` review events (after its setup) and
/// rebuilds every projection from it in a child.
pub fn run(opts: &Options, review_events: u64) -> Result<Report> {
    if review_events == 0 {
        bail!("a rebuild ledger needs at least one review event");
    }
    let dir = match opts.tmp.as_deref() {
        Some(p) => tempfile::Builder::new().prefix("bench-").tempdir_in(p),
        None => tempfile::Builder::new().prefix("bench-").tempdir(),
    }
    .context("cannot create a temporary directory")?;
    let path = dir.path().join("ledger");
    let checkpoint_key = KeyPair::from_seed([0x3f; 32]);
    let store = SledStore::create(&path, &checkpoint_key)?;
    let ledger = Ledger::start(
        store,
        LedgerState::new(),
        checkpoint_key.clone(),
        system_clock(),
    )?;

    let keys = story_keys();
    let start = Instant::now();
    let mut founder = Mirror::new(&keys, u32::MAX, LedgerState::new());
    found(&ledger, &mut founder, &checkpoint_key)?;
    let setup = founder.state.size;
    let (reviews, units, first) = build(&ledger, &founder, review_events)?;
    let build_s = start.elapsed().as_secs_f64();
    let entries = setup + review_events;

    ledger.close();
    drop(ledger);
    let db_bytes = disk_usage(&path);

    let child: ChildReport = run_child(&path, false)?;
    let limit: LimitReport = run_child(&path, true)?;
    drop(dir);
    if limit.entries != entries {
        bail!(
            "built {entries} entries but the limit decoded {}",
            limit.entries
        );
    }
    if child.entries != entries {
        bail!(
            "built {entries} entries but the child replayed {}",
            child.entries
        );
    }
    if child.reviews != reviews {
        bail!(
            "built {reviews} reviews but the rebuilt state has {}",
            child.reviews
        );
    }
    Ok(Report::new(
        "rebuild",
        child.entries,
        child.entries as f64 / child.secs,
        limit.decode_per_s,
        child.peak_rss_bytes,
    )
    .with(
        "limit_kind",
        "decode only: one core, Entry::decode + Event::decode + Payload::decode over the same stored entries",
    )
    .with("review_events", review_events)
    .with("secs", round(child.secs, 3))
    .with("open_s", round(child.open_secs, 3))
    .with("reviews", child.reviews)
    .with("changes", child.changes)
    .with("signatures", child.signatures)
    .with("actions", child.actions)
    .with("action_events", child.action_events)
    .with("objectives", child.objectives)
    .with("members", child.members)
    .with("units", units)
    .with("first_held", first.to_string())
    .with("build_s", round(build_s, 1))
    .with("build_per_s", round(review_events as f64 / build_s, 1))
    .with("entry_bytes", limit.entry_bytes)
    .with("db_bytes", db_bytes)
    .with("events", "reviews")
    .with("cores", opts.cores))
}

/// A ledger of the story's organisation and `review_events` review events
/// on disk, its writer closed: built as [`run`] builds its own.
pub(crate) struct StoryLedger {
    /// The temporary directory holding it (removed when dropped).
    pub dir: tempfile::TempDir,
    /// The ledger directory.
    pub path: std::path::PathBuf,
    /// Its ledger id.
    pub id: ledger_core::LedgerId,
}

/// Builds a [`StoryLedger`] under `parent` (default: the system temp dir).
pub(crate) fn story_ledger(
    parent: Option<&std::path::Path>,
    review_events: u64,
) -> Result<StoryLedger> {
    let dir = match parent {
        Some(p) => tempfile::Builder::new().prefix("bench-").tempdir_in(p),
        None => tempfile::Builder::new().prefix("bench-").tempdir(),
    }
    .context("cannot create a temporary directory")?;
    let path = dir.path().join("ledger");
    let checkpoint_key = KeyPair::from_seed([0x3f; 32]);
    let ledger = Ledger::start(
        SledStore::create(&path, &checkpoint_key)?,
        LedgerState::new(),
        checkpoint_key.clone(),
        system_clock(),
    )?;
    let keys = story_keys();
    let mut founder = Mirror::new(&keys, u32::MAX, LedgerState::new());
    found(&ledger, &mut founder, &checkpoint_key)?;
    build(&ledger, &founder, review_events)?;
    ledger.close();
    drop(ledger);
    let id = founder
        .state
        .roster
        .ledger_id
        .context("the founded ledger has no id")?;
    Ok(StoryLedger { dir, path, id })
}

/// The story's people's keys, by handle.
pub(crate) fn story_keys() -> BTreeMap<&'static str, KeyPair> {
    PEOPLE
        .iter()
        .enumerate()
        .map(|(i, p)| (p.0, member_key(i)))
        .collect()
}

/// A writer's view of the ledger: its own copy of the admission state,
/// kept in step with what the ledger admitted from each receipt, and the
/// members' keys to sign with.
pub(crate) struct Mirror<'k> {
    pub(crate) state: LedgerState,
    keys: &'k BTreeMap<&'static str, KeyPair>,
    /// Distinguishes this writer's event ids from every other's.
    writer: u32,
    sent: u64,
}

impl<'k> Mirror<'k> {
    pub(crate) fn new(
        keys: &'k BTreeMap<&'static str, KeyPair>,
        writer: u32,
        state: LedgerState,
    ) -> Self {
        Mirror {
            state,
            keys,
            writer,
            sent: 0,
        }
    }

    /// Signs `payload` as `by`, appends it, waits until durable, and
    /// applies it to the mirrored state as the ledger did.
    fn append(&mut self, ledger: &Writer, by: &str, payload: &Payload) -> Result<EventId> {
        let key = self
            .keys
            .get(by)
            .ok_or_else(|| anyhow!("no key for {by}"))?;
        let mut id = [0u8; 16];
        id[..4].copy_from_slice(&self.writer.to_be_bytes());
        id[4..12].copy_from_slice(&self.sent.to_be_bytes());
        id[12] = 0xbe;
        self.sent += 1;
        let ledger_id = self.state.roster.ledger_id.unwrap_or(Hash::ZERO);
        let event = review::compose(ledger_id, EventId(id), key, now(), payload);
        let receipt = fixture::append(ledger, event.sign(key))?;
        let effect = self
            .state
            .check(
                receipt.seq,
                receipt.received,
                &event,
                ledger_core::SignedBy::Ed25519,
            )
            .map_err(|e| {
                anyhow!(
                    "the ledger admitted {} but its mirror refuses it: {e}",
                    receipt.seq
                )
            })?;
        self.state
            .apply(receipt.seq, receipt.hash, receipt.received, effect);
        Ok(event.id)
    }

    /// Runs one step of a unit's story.
    pub(crate) fn step(&mut self, ledger: &Writer, step: Step) -> Result<()> {
        match step {
            Step::Append { by, payload } => self.append(ledger, by, &payload)?,
            Step::Sign { by, review } => {
                let r = self
                    .state
                    .reviews
                    .reviews
                    .get(&review)
                    .ok_or_else(|| anyhow!("no review {review} to sign"))?;
                let sign = Sign {
                    review: review.clone(),
                    digest: r.minutes.digest(),
                    covers: r.content_head(),
                };
                self.append(ledger, by, &Payload::Sign(sign))?
            }
        };
        Ok(())
    }
}

fn now() -> UnixMicros {
    (system_clock())()
}

/// Genesis by the chief executive and the other four members enrolled,
/// as `review::rehearsal` founds the story's ledger.
pub(crate) fn found(ledger: &Writer, founder: &mut Mirror, checkpoint_key: &KeyPair) -> Result<()> {
    let record = |i: usize| MemberRecord {
        handle: MemberId::new(PEOPLE[i].0).expect("story handles are valid"),
        name: PEOPLE[i].1.into(),
        role: PEOPLE[i].2.into(),
        top_management: PEOPLE[i].3,
        key: member_key(i).public(),
    };
    let genesis = Payload::Genesis(Genesis {
        organisation: ORGANISATION.into(),
        founder: record(0),
        checkpoint_key: checkpoint_key.public(),
        policy: Policy::default(),
    });
    founder.append(ledger, "ceo", &genesis)?;
    founder.append(
        ledger,
        "ceo",
        &Payload::Propose(RosterChange::Enrol(record(1))),
    )?;
    for i in 2..PEOPLE.len() {
        let id = founder.append(
            ledger,
            "ceo",
            &Payload::Propose(RosterChange::Enrol(record(i))),
        )?;
        founder.append(ledger, "ops", &Payload::Approve(id))?;
    }
    Ok(())
}

/// Appends `count` review events from one thread per unit, unit `u`'s
/// share of them being the first steps of its reviews. Returns the reviews
/// scheduled, the units and the date of every unit's first review.
fn build(ledger: &Writer, founder: &Mirror, count: u64) -> Result<(u64, usize, Date)> {
    build_beside(ledger, founder, count, |_| Ok(()))
}

/// [`build`], with `beside` run on a thread of its own meanwhile, given the
/// count of review events the units have appended so far (which `beside`'s
/// own appends do not move).
pub(crate) fn build_beside(
    ledger: &Writer,
    founder: &Mirror,
    count: u64,
    beside: impl FnOnce(&AtomicU64) -> Result<()> + Send,
) -> Result<(u64, usize, Date)> {
    let units = (count / EVENTS_PER_UNIT).clamp(1, UNITS as u64) as usize;
    let share = |u: usize| (count + (units - 1 - u) as u64) / units as u64;
    // Enough years back that a unit's last review is still in the past.
    let most_reviews = share(0) / MIN_EVENTS_PER_REVIEW + 2;
    let today = Date::of_micros(now()).context("the system clock is out of range")?;
    let first = today.plus_days(-(meetings::INTERVAL_DAYS * most_reviews as i64) - 30);
    let done = AtomicU64::new(0);
    let reviews = std::thread::scope(|scope| -> Result<u64> {
        let handles: Vec<_> = (0..units)
            .map(|u| {
                let done = &done;
                let mut mirror = Mirror::new(founder.keys, u as u32, founder.state.clone());
                std::thread::Builder::new()
                    .name(format!("unit-{u}"))
                    .spawn_scoped(scope, move || -> Result<u64> {
                        let mut steps = UnitSteps::new(u, first);
                        for _ in 0..share(u) {
                            let step = steps.next().expect("a unit's steps never end");
                            mirror.step(ledger, step)?;
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(steps.reviews())
                    })
                    .context("cannot start an appending thread")
            })
            .collect::<Result<_>>()?;
        let side = std::thread::Builder::new()
            .name("beside".into())
            .spawn_scoped(scope, || beside(&done))
            .context("cannot start the thread beside the units")?;
        let mut last = Instant::now();
        while !handles.iter().all(|h| h.is_finished()) || !side.is_finished() {
            std::thread::sleep(Duration::from_millis(100));
            if last.elapsed() >= Duration::from_secs(10) {
                eprintln!(
                    "rebuild: built {}/{count} review events",
                    done.load(Ordering::Relaxed)
                );
                last = Instant::now();
            }
        }
        side.join()
            .map_err(|_| anyhow!("the thread beside the units panicked"))??;
        let mut reviews = 0;
        for h in handles {
            reviews += h
                .join()
                .map_err(|_| anyhow!("an appending thread panicked"))??;
        }
        Ok(reviews)
    })?;
    eprintln!("rebuild: built {count} review events in {reviews} reviews");
    Ok((reviews, units, first))
}

/// Entries per second one core decodes, the faster of [`LIMIT_PASSES`]
/// passes over all `entries` stored entries, and their mean size.
fn decode_limit(store: &SledStore, entries: u64) -> Result<(f64, u64)> {
    let mut best = 0f64;
    let mut bytes = 0u64;
    for _ in 0..LIMIT_PASSES {
        let (mut secs, mut seen) = (0f64, 0u64);
        bytes = 0;
        while seen < entries {
            let chunk: Vec<Vec<u8>> = store
                .range(Seq(seen), CHUNK)?
                .into_iter()
                .map(|(_, b)| b)
                .collect();
            if chunk.is_empty() {
                break;
            }
            bytes += chunk.iter().map(|b| b.len() as u64).sum::<u64>();
            seen += chunk.len() as u64;
            secs += measure::decode_secs(&chunk)?;
        }
        if seen != entries {
            bail!("the store holds {seen} entries, not {entries}");
        }
        best = best.max(seen as f64 / secs);
    }
    Ok((best, bytes / entries.max(1)))
}

/// Runs `rebuild-child` on `dir` (with `--limit` when `limit`) and reads
/// its report.
fn run_child<T: serde::de::DeserializeOwned>(dir: &Path, limit: bool) -> Result<T> {
    let exe = std::env::current_exe().context("cannot find the bench executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg("rebuild-child").arg("--dir").arg(dir);
    if limit {
        cmd.arg("--limit");
    }
    let output = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run rebuild-child")?;
    if !output.status.success() {
        bail!("rebuild-child failed with {}", output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .last()
        .context("rebuild-child printed nothing")?;
    serde_json::from_str(line)
        .with_context(|| format!("cannot read rebuild-child's report {line:?}"))
}

/// The hidden `rebuild-child` subcommand: replays the ledger in `dir`
/// into a fresh `LedgerState` and prints a [`ChildReport`], or, with
/// `limit`, measures the decode limit over its entries and prints a
/// [`LimitReport`]; one line of JSON either way.
pub fn child(dir: &Path, limit: bool) -> Result<()> {
    let start = Instant::now();
    let store = SledStore::open(dir)?;
    let open_secs = start.elapsed().as_secs_f64();
    let entries = store.head()?.size;
    if limit {
        let (decode_per_s, entry_bytes) = decode_limit(&store, entries)?;
        let report = LimitReport {
            entries,
            decode_per_s,
            entry_bytes,
        };
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let mut state = LedgerState::new();
    let start = Instant::now();
    let chain = replay(&store, &mut state)?;
    let secs = start.elapsed().as_secs_f64();
    let peak_rss_bytes = measure::peak_rss_bytes()?;
    let reviews = &state.reviews;
    let per_review = |f: fn(&review::ReviewRecord) -> usize| -> u64 {
        reviews.reviews.values().map(|r| f(r) as u64).sum()
    };
    let child = ChildReport {
        entries: chain.size,
        secs,
        open_secs,
        reviews: reviews.reviews.len() as u64,
        changes: per_review(|r| r.changes.len()),
        signatures: per_review(|r| r.signatures.len()),
        actions: reviews.actions.len() as u64,
        action_events: reviews
            .actions
            .values()
            .map(|a| a.history.len() as u64)
            .sum(),
        objectives: reviews.objectives.len() as u64,
        members: state.roster.members.len() as u64,
        peak_rss_bytes,
    };
    println!("{}", serde_json::to_string(&child)?);
    Ok(())
}
