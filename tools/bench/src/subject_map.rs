//! `subject-map`: the cost of the checkpoint's subject map as entries
//! arrive, on a map of `--reviews` subjects (27,650 by default, the size at
//! which a rebuild per batch was measured at 36 ms).
//!
//! Each timed step adds one entry to a subject and takes the map root, as
//! the writer does for each batch: to an existing review chosen at random,
//! or (`new_subject_*`) to a new review whose id sorts last. The limit
//! beside it, measured in the same run, is what the map cost before it was
//! incremental: the root rebuilt from every subject's tip
//! (`limit_kind`). `ratio` is how many times faster a step now is.

use std::time::Instant;

use anyhow::{Result, bail};
use ledger_core::merkle::MemoryTree;
use ledger_core::{Hash, Seq};
use review::ReviewId;
use review::subjects::{Subject, Subjects};

use crate::Options;
use crate::measure;
use crate::report::{Report, round};

/// Subjects when `--reviews` is not given.
pub const DEFAULT_REVIEWS: u64 = 27_650;

/// Timed steps of each kind.
const STEPS: u64 = 20_000;

/// Rebuilds timed for the limit.
const REBUILDS: u64 = 20;

fn review(n: u64) -> Subject {
    Subject::Review(ReviewId::new(format!("r{n:09}")).expect("a valid review id"))
}

fn hash(n: u64) -> Hash {
    ledger_core::hash_entry_bytes(&n.to_le_bytes())
}

/// Builds the map, then times entries to existing and to new subjects
/// beside full rebuilds.
pub fn run(_opts: &Options, reviews: u64) -> Result<Report> {
    if reviews == 0 {
        bail!("subject-map needs at least one review");
    }
    measure::reset_peak_rss();
    let mut map = Subjects::default();
    let mut seq = 0u64;
    let mut push = |map: &mut Subjects, subject: Subject| {
        map.push(subject, Seq(seq), &hash(seq));
        seq += 1;
    };
    push(&mut map, Subject::Roster);
    for n in 0..reviews {
        push(&mut map, review(n));
    }

    // Entries of existing reviews, chosen by a fixed pseudo-random walk.
    let mut pick = 0x9e37_79b9_7f4a_7c15u64;
    let start = Instant::now();
    let mut roots = 0u64;
    for _ in 0..STEPS {
        pick = pick
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        push(&mut map, review((pick >> 33) % reviews));
        roots ^= u64::from(map.root().0[0]);
    }
    let existing_per_s = STEPS as f64 / start.elapsed().as_secs_f64();

    let start = Instant::now();
    for n in reviews..reviews + STEPS {
        push(&mut map, review(n));
        roots ^= u64::from(map.root().0[0]);
    }
    let new_per_s = STEPS as f64 / start.elapsed().as_secs_f64();

    // The map as it was computed before: every tip's leaf, then the tree.
    let start = Instant::now();
    for _ in 0..REBUILDS {
        let mut tree = MemoryTree::default();
        for (subject, tip) in map.iter() {
            tree.push(&tip.leaf(subject));
        }
        roots ^= u64::from(tree.root().0[0]);
    }
    let rebuild_s = start.elapsed().as_secs_f64() / REBUILDS as f64;

    Ok(Report::new(
        "subject-map",
        STEPS,
        existing_per_s,
        1.0 / rebuild_s,
        measure::peak_rss_bytes()?,
    )
    .with("subjects", map.len() as u64)
    .with("us_per_entry", round(1e6 / existing_per_s, 3))
    .with("new_subject_per_s", round(new_per_s, 1))
    .with("new_subject_us_per_entry", round(1e6 / new_per_s, 3))
    .with("rebuild_ms", round(rebuild_s * 1e3, 3))
    .with("checksum", roots)
    .with(
        "limit_kind",
        "entries per second when each rebuilds the map from every tip (the cost before)",
    ))
}
