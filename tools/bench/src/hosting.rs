//! `hosting`: what a server hosting many small ledgers costs.
//!
//! `--entries N` ledgers (default [`DEFAULT_LEDGERS`]) are created with the
//! real binary's `init` (a genesis each: an organisation's ledger before
//! its first review), then one `review-ledger serve` on 127.0.0.1 hosts
//! them all. Reported: the time from starting it to its `listening on`
//! line (printed once every ledger is open), its resident memory a second
//! later and its threads, beside the same server hosting one of them. The
//! target is that 1,000 small ledgers fit in 2 GB (`target_rss_bytes`,
//! 2 GB for each 1,000 ledgers); `per_s` is ledgers opened per second, and
//! `limit_per_s` the same for the single ledger's start (its `limit_kind`
//! says so), so `ratio` near 1 is a start that grows with the number of
//! ledgers and no faster.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ledger_store::keyfile;

use crate::Options;
use crate::measure;
use crate::report::{Report, round};
use crate::scaling::{Serving, binary};

/// Ledgers hosted when `--entries` is not given.
pub const DEFAULT_LEDGERS: u64 = 1_000;

/// The memory target: bytes for each 1,000 ledgers.
const TARGET_BYTES_PER_1000: u64 = 2_000_000_000;

/// What one `serve` of some ledgers measured.
struct Served {
    secs: f64,
    rss_bytes: u64,
    peak_rss_bytes: u64,
    threads: u64,
}

/// Serves `dirs` and measures its start and memory.
fn serve(bin: &Path, dirs: &[String]) -> Result<Served> {
    let args: Vec<&str> = dirs.iter().flat_map(|d| ["--ledger", d.as_str()]).collect();
    let start = Instant::now();
    let served = Serving::start_with(bin, &args, false)?;
    let secs = start.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(1));
    let pid = served.pid().to_string();
    let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
        .context("cannot read the server's threads")?
        .count() as u64;
    Ok(Served {
        secs,
        rss_bytes: measure::status_bytes(&pid, "VmRSS")?,
        peak_rss_bytes: measure::status_bytes(&pid, "VmHWM")?,
        threads,
    })
}

/// Runs the scenario with `ledgers` ledgers.
pub fn run(opts: &Options, ledgers: u64) -> Result<Report> {
    if ledgers == 0 {
        bail!("hosting needs at least one ledger: give --entries N");
    }
    let bin = binary()?;
    let tmp = match &opts.tmp {
        Some(p) => tempfile::Builder::new().prefix("bench-").tempdir_in(p),
        None => tempfile::Builder::new().prefix("bench-").tempdir(),
    }
    .context("cannot create a temporary directory")?;
    let key = tmp.path().join("founder.pem");
    keyfile::write_private(&key, &ledger_core::KeyPair::from_seed([0x52; 32]))?;
    let key = key.to_string_lossy().into_owned();
    let mut dirs = Vec::new();
    let created = Instant::now();
    for n in 0..ledgers {
        let dir = tmp.path().join(format!("ledger-{n}"));
        let dir = dir.to_string_lossy().into_owned();
        let org = format!("Organisation {n}");
        let out = Command::new(&bin)
            .args(["init", "--ledger", &dir, "--org", &org, "--key", &key])
            .args(["--id", "ceo", "--name", "Chief Executive", "--role", "CEO"])
            .stdin(Stdio::null())
            .output()
            .context("cannot run review-ledger init")?;
        if !out.status.success() {
            bail!(
                "review-ledger init failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        dirs.push(dir);
        if n % 100 == 99 {
            eprintln!("hosting: created {} of {ledgers} ledgers", n + 1);
        }
    }
    let create_secs = created.elapsed().as_secs_f64();
    let one = serve(&bin, &dirs[..1])?;
    let all = serve(&bin, &dirs)?;
    let target = TARGET_BYTES_PER_1000 * ledgers / 1000;
    Ok(Report::new(
        "hosting",
        ledgers,
        ledgers as f64 / all.secs,
        1.0 / one.secs,
        all.peak_rss_bytes,
    )
    .with(
        "limit_kind",
        "one of the ledgers hosted alone: starts per second",
    )
    .with("secs", round(all.secs, 3))
    .with("one_secs", round(one.secs, 3))
    .with("rss_bytes", all.rss_bytes)
    .with("one_rss_bytes", one.rss_bytes)
    .with("target_rss_bytes", target)
    .with("rss_met", all.peak_rss_bytes <= target)
    .with("threads", all.threads)
    .with("one_threads", one.threads)
    .with("create_secs", round(create_secs, 1))
    .with("cores", opts.cores))
}
