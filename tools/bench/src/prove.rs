//! `prove`: inclusion and consistency proofs from a ledger of N entries.
//!
//! The ledger is built as `verify` builds its own (the real writer over
//! the real sled store, `reaffirm` events by default, see
//! [`crate::verify::DEFAULT_EVENTS`]), and closed. Then the bench
//! re-executes itself as `bench prove-child --dir D`, which opens the
//! directory, checks the stored checkpoint's signature and that the root it
//! states is the one the stored Merkle nodes give, and then, for each kind:
//!
//! - inclusion: [`PROOFS`] leaves drawn at random over the whole ledger,
//!   each proved with `merkle::prove_inclusion(&StoreNodes(&store), i,
//!   size)` against the checkpoint's size and verified with
//!   `verify_inclusion` against its root (the entry hashes are read from
//!   the store beforehand, untimed: the auditor holds the entry);
//! - consistency: [`PROOFS`] earlier sizes drawn at random in `1..size`,
//!   each proved with `prove_consistency(&StoreNodes(&store), old, size)`
//!   and verified with `verify_consistency` from the old root to the
//!   checkpoint's (the old roots, which an auditor would hold from an
//!   earlier checkpoint, are computed beforehand from the same stored
//!   nodes, untimed).
//!
//! Building and verifying are timed apart, one proof at a time; `per_s`
//! counts proofs built and verified per second of the two together, and
//! the report gives each alone too (`prove_per_s`, `verify_per_s`). The
//! draws come from a fixed seed ([`SEED`]), so that runs at one size ask
//! for the same proofs. Nothing is cached between proofs but what sled and
//! the kernel cache of themselves (sled's cache is 32 MiB).
//!
//! Each proof is then built once more, untimed, through a node source
//! that counts the stored nodes it reads (`mean_node_reads`,
//! `max_node_reads`): one sled lookup each.
//!
//! Proof sizes are the bytes of the hash path, 32 a node (`mean_bytes`,
//! `max_bytes`), beside `log2_bytes = 32 * ceil(log2(size))`, the issue's
//! "32 bytes times about log2 of the size"; `encoded_*` are the sizes of
//! the whole proof (index or sizes and path) in the canonical codec.
//!
//! The limit is the usual one: entries per second one core decodes,
//! checks with `verify_strict` and hashes with blake3, over entries of
//! the same ledger. A proof is not an entry, so `limit_kind` says so: the
//! ratio is how many proofs cost what one entry's signature check costs,
//! the work a bundle's verifier does beside every proof. The report adds
//! `node_hash_per_s`, one core's rate of Merkle node hashes, the least any
//! verifier must do for each node of a path.

use std::cell::Cell;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ledger_core::merkle::{
    self, node_hash, prove_consistency, prove_inclusion, verify_consistency, verify_inclusion,
};
use ledger_core::{Checkpoint, Hash, Nodes, Seq, codec, hash_entry_bytes};
use ledger_store::{SledStore, Store, StoreNodes};
use serde::{Deserialize, Serialize};

use crate::Options;
use crate::fixture::Fixture;
use crate::measure;
use crate::report::{Report, round};
use crate::verify::{self, SIGNERS, disk_usage};

/// Ledger size when `--entries` is not given.
pub const DEFAULT_ENTRIES: u64 = 100_000;

/// Proofs of each kind built and verified.
pub const PROOFS: usize = 10_000;

/// The seed of the draws of leaves and earlier sizes.
pub const SEED: u64 = 0x5eed_9162;

/// What the child found for one kind of proof.
#[derive(Debug, Serialize, Deserialize)]
pub struct KindReport {
    /// Proofs built and verified.
    pub proofs: u64,
    /// Seconds spent building them.
    pub prove_secs: f64,
    /// Seconds spent verifying them.
    pub verify_secs: f64,
    /// The mean number of hashes in a path.
    pub mean_hashes: f64,
    /// The fewest hashes in a path.
    pub min_hashes: u64,
    /// The most hashes in a path.
    pub max_hashes: u64,
    /// The mean size of a whole proof in the canonical codec.
    pub mean_encoded_bytes: f64,
    /// The largest whole proof in the canonical codec.
    pub max_encoded_bytes: u64,
    /// The mean number of stored nodes read to build a proof.
    pub mean_node_reads: f64,
    /// The most stored nodes read to build a proof.
    pub max_node_reads: u64,
    /// The child's `VmHWM` after this kind (reset before it where the
    /// kernel allows).
    pub peak_rss_bytes: u64,
}

/// What the child reports on its stdout, one JSON line.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChildReport {
    /// Entries in the ledger, and in the checkpoint proved against.
    pub size: u64,
    /// Seconds spent opening the store (and checking its head).
    pub open_secs: f64,
    /// Inclusion proofs of random leaves.
    pub inclusion: KindReport,
    /// Consistency proofs from random earlier sizes.
    pub consistency: KindReport,
    /// Merkle node hashes per second on one core.
    pub node_hash_per_s: f64,
}

/// Builds a ledger of `entries` entries in all and proves from it in a
/// child: one report per kind of proof.
pub fn run(opts: &Options, entries: u64) -> Result<Vec<Report>> {
    let verify::Built {
        fixture,
        kind,
        build_s,
        sample: _,
        limit,
    } = verify::Built::new(opts, "prove", entries)?;
    let setup = Fixture::setup_entries(SIGNERS);
    let path = fixture.path();
    let dir = fixture.close();
    let db_bytes = disk_usage(&path);

    eprintln!("prove: {PROOFS} proofs of each kind from {entries} entries");
    let child: ChildReport =
        crate::run_child(&["prove-child".as_ref(), "--dir".as_ref(), path.as_os_str()])?;
    drop(dir);
    if child.size != entries {
        bail!(
            "built {entries} entries but the child proved from {}",
            child.size
        );
    }
    let log2_bytes = 32 * ceil_log2(child.size);
    let report = |name: &str, k: &KindReport| {
        let secs = k.prove_secs + k.verify_secs;
        Report::new(name, child.size, k.proofs as f64 / secs, limit, k.peak_rss_bytes)
            .with(
                "limit_kind",
                "not a proof limit: entries/s one core decodes, verify_strict's and blake3-hashes (VerifiedEntry::from_bytes) over this ledger's entries, the per-entry work a bundle verifier does beside each proof",
            )
            .with("per", "proof")
            .with("proofs", k.proofs)
            .with("secs", round(secs, 3))
            .with("prove_per_s", round(k.proofs as f64 / k.prove_secs, 1))
            .with("verify_per_s", round(k.proofs as f64 / k.verify_secs, 1))
            .with("prove_us", round(1e6 * k.prove_secs / k.proofs as f64, 2))
            .with("verify_us", round(1e6 * k.verify_secs / k.proofs as f64, 2))
            .with("mean_bytes", round(32.0 * k.mean_hashes, 1))
            .with("min_bytes", 32 * k.min_hashes)
            .with("max_bytes", 32 * k.max_hashes)
            .with("log2_bytes", log2_bytes)
            .with("max_over_log2", round((32 * k.max_hashes) as f64 / log2_bytes as f64, 3))
            .with("encoded_mean_bytes", round(k.mean_encoded_bytes, 1))
            .with("encoded_max_bytes", k.max_encoded_bytes)
            .with("mean_node_reads", round(k.mean_node_reads, 2))
            .with("max_node_reads", k.max_node_reads)
            .with("node_hash_per_s", round(child.node_hash_per_s, 1))
            .with("seed", format!("{SEED:#x}"))
            .with("open_s", round(child.open_secs, 3))
            .with("build_s", round(build_s, 1))
            .with("build_per_s", round((entries - setup) as f64 / build_s, 1))
            .with("db_bytes", db_bytes)
            .with("events", kind.name())
            .with("cores", opts.cores)
    };
    Ok(vec![
        report("prove-inclusion", &child.inclusion),
        report("prove-consistency", &child.consistency),
    ])
}

/// `ceil(log2(n))`, 0 for `n <= 1`.
fn ceil_log2(n: u64) -> u64 {
    match n {
        0 | 1 => 0,
        n => u64::from(64 - (n - 1).leading_zeros()),
    }
}

/// splitmix64: a small, seeded stream of well-mixed numbers, enough to draw
/// leaves and sizes without a dependency.
struct Draws(u64);

impl Draws {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi` (the bias of the modulo is below 2^-40 here).
    fn below(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// Running figures over the proofs of one kind.
#[derive(Default)]
struct Tally {
    prove: Duration,
    verify: Duration,
    hashes: u64,
    min_hashes: Option<u64>,
    max_hashes: u64,
    encoded: u64,
    max_encoded: u64,
    reads: u64,
    max_reads: u64,
    proofs: u64,
}

impl Tally {
    fn add(
        &mut self,
        prove: Duration,
        verify: Duration,
        hashes: usize,
        encoded: usize,
        reads: u64,
    ) {
        self.reads += reads;
        self.max_reads = self.max_reads.max(reads);
        let (hashes, encoded) = (hashes as u64, encoded as u64);
        self.prove += prove;
        self.verify += verify;
        self.hashes += hashes;
        self.min_hashes = Some(self.min_hashes.map_or(hashes, |m| m.min(hashes)));
        self.max_hashes = self.max_hashes.max(hashes);
        self.encoded += encoded;
        self.max_encoded = self.max_encoded.max(encoded);
        self.proofs += 1;
    }

    fn report(self) -> Result<KindReport> {
        let n = self.proofs.max(1) as f64;
        Ok(KindReport {
            proofs: self.proofs,
            prove_secs: self.prove.as_secs_f64(),
            verify_secs: self.verify.as_secs_f64(),
            mean_hashes: self.hashes as f64 / n,
            min_hashes: self.min_hashes.unwrap_or(0),
            max_hashes: self.max_hashes,
            mean_encoded_bytes: self.encoded as f64 / n,
            max_encoded_bytes: self.max_encoded,
            mean_node_reads: self.reads as f64 / n,
            max_node_reads: self.max_reads,
            peak_rss_bytes: measure::peak_rss_bytes()?,
        })
    }
}

/// [`PROOFS`] inclusion proofs of random leaves, built and verified.
fn inclusion(store: &SledStore, size: u64, root: &Hash, draws: &mut Draws) -> Result<KindReport> {
    let nodes = StoreNodes(store);
    let mut leaves = Vec::with_capacity(PROOFS);
    for _ in 0..PROOFS {
        let i = draws.below(0, size);
        let bytes = store
            .entry(Seq(i))?
            .with_context(|| format!("entry {i} is missing"))?;
        leaves.push((i, hash_entry_bytes(&bytes)));
    }
    measure::reset_peak_rss();
    let mut tally = Tally::default();
    for (i, hash) in &leaves {
        let start = Instant::now();
        let proof = prove_inclusion(&nodes, *i, size)?;
        let proved = start.elapsed();
        let start = Instant::now();
        verify_inclusion(hash, &proof, root)
            .with_context(|| format!("the inclusion proof of leaf {i} does not verify"))?;
        let verified = start.elapsed();
        let reads = Counted::new(&nodes);
        prove_inclusion(&reads, *i, size)?;
        let encoded = codec::encode(&proof).len();
        tally.add(
            proved,
            verified,
            proof.path.len(),
            encoded,
            reads.count.get(),
        );
    }
    tally.report()
}

/// [`PROOFS`] consistency proofs from random earlier sizes to `size`,
/// built and verified.
fn consistency(store: &SledStore, size: u64, root: &Hash, draws: &mut Draws) -> Result<KindReport> {
    if size < 2 {
        bail!("consistency proofs need a ledger of two entries or more");
    }
    let nodes = StoreNodes(store);
    let mut olds = Vec::with_capacity(PROOFS);
    for _ in 0..PROOFS {
        let old = draws.below(1, size);
        olds.push((old, merkle::range_root(&nodes, 0, old)?));
    }
    measure::reset_peak_rss();
    let mut tally = Tally::default();
    for (old, old_root) in &olds {
        let start = Instant::now();
        let proof = prove_consistency(&nodes, *old, size)?;
        let proved = start.elapsed();
        let start = Instant::now();
        verify_consistency(&proof, old_root, root).with_context(|| {
            format!("the consistency proof from {old} to {size} does not verify")
        })?;
        let verified = start.elapsed();
        let reads = Counted::new(&nodes);
        prove_consistency(&reads, *old, size)?;
        let encoded = codec::encode(&proof).len();
        tally.add(
            proved,
            verified,
            proof.path.len(),
            encoded,
            reads.count.get(),
        );
    }
    tally.report()
}

/// A node source that counts the nodes asked of it: each proof is built a
/// second time through one, after the timed build, to count its reads.
struct Counted<'n, N> {
    nodes: &'n N,
    count: Cell<u64>,
}

impl<'n, N> Counted<'n, N> {
    fn new(nodes: &'n N) -> Self {
        Counted {
            nodes,
            count: Cell::new(0),
        }
    }
}

impl<N: Nodes> Nodes for Counted<'_, N> {
    type Error = N::Error;
    fn node(&self, level: u32, index: u64) -> Result<Hash, N::Error> {
        self.count.set(self.count.get() + 1);
        self.nodes.node(level, index)
    }
}

/// Merkle node hashes per second on this thread, the best of a few rounds.
fn node_hash_per_s() -> f64 {
    let mut best = 0f64;
    let mut h = Hash([7; 32]);
    let sibling = Hash([9; 32]);
    for _ in 0..5 {
        let start = Instant::now();
        let mut done = 0u64;
        while start.elapsed() < Duration::from_millis(200) {
            for _ in 0..1000 {
                h = node_hash(&sibling, &h);
            }
            done += 1000;
        }
        best = best.max(done as f64 / start.elapsed().as_secs_f64());
    }
    std::hint::black_box(h);
    best
}

/// The hidden `prove-child` subcommand: proves from the ledger in `dir`
/// and prints a [`ChildReport`] as one line of JSON.
pub fn child(dir: &Path) -> Result<()> {
    let start = Instant::now();
    let store = SledStore::open(dir)?;
    let open_secs = start.elapsed().as_secs_f64();
    let size = store.head()?.size;
    let note = store
        .checkpoint()?
        .context("the ledger has no checkpoint")?;
    let cp = Checkpoint::verify(&note, &store.checkpoint_key()?.public())?;
    if cp.size != size {
        bail!(
            "the checkpoint states {} entries but {size} are stored",
            cp.size
        );
    }
    if merkle::range_root(&StoreNodes(&store), 0, size)? != cp.root {
        bail!("the stored Merkle nodes do not give the checkpoint's root");
    }
    let mut draws = Draws(SEED);
    let inclusion = inclusion(&store, size, &cp.root, &mut draws)?;
    let consistency = consistency(&store, size, &cp.root, &mut draws)?;
    let report = ChildReport {
        size,
        open_secs,
        inclusion,
        consistency,
        node_hash_per_s: node_hash_per_s(),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
