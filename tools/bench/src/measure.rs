//! The yardsticks every figure is set beside: the one-core limits (verify
//! and hash, or decode alone), peak memory, the disk's own fsync time, and
//! latency statistics.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ledger_core::{Entry, Event, VerifiedEntry};

/// Rounds of the limit measurement; the fastest one counts.
const LIMIT_ROUNDS: usize = 5;

/// The least time one round of the limit measurement runs for.
const LIMIT_ROUND_TIME: Duration = Duration::from_millis(200);

/// Entries per second that one core can check: decode, `verify_strict` of
/// the author's signature and the blake3 entry hash, on this thread alone
/// (no rayon), over `sample`, which should be stored entries of the kind
/// the scenario writes. The best of a few rounds, since noise only slows.
pub fn limit_per_s(sample: &[Vec<u8>]) -> Result<f64> {
    if sample.is_empty() {
        bail!("no entries to measure the limit on");
    }
    let mut best = 0f64;
    for _ in 0..LIMIT_ROUNDS {
        let start = Instant::now();
        let mut done = 0u64;
        while start.elapsed() < LIMIT_ROUND_TIME {
            for bytes in sample {
                // Decodes, runs `verify_strict` and `hash_entry_bytes`: the
                // per-entry work of any verifier, and nothing else.
                let v = VerifiedEntry::from_bytes(bytes).context("sample entry does not verify")?;
                std::hint::black_box(v);
                done += 1;
            }
        }
        best = best.max(done as f64 / start.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// Seconds that one core takes to decode every entry of `entries` with the
/// canonical codec and nothing else: `Entry::decode`, `Event::decode` of the
/// event it carries and `review::Payload::decode` of that event's payload.
/// No signature check, no hash, no admission: the least any rebuild of the
/// projections from stored entries must do.
pub fn decode_secs(entries: &[Vec<u8>]) -> Result<f64> {
    let start = Instant::now();
    for bytes in entries {
        let entry = Entry::decode(bytes).context("a stored entry does not decode")?;
        let event = Event::decode(&entry.event).context("a stored event does not decode")?;
        let payload = review::Payload::decode(&event.kind, &event.payload)
            .map_err(|e| anyhow::anyhow!("a stored payload does not decode: {e}"))?;
        std::hint::black_box((entry, event, payload));
    }
    Ok(start.elapsed().as_secs_f64())
}

/// This process's peak resident set (`VmHWM`), in bytes.
pub fn peak_rss_bytes() -> Result<u64> {
    status_bytes("self", "VmHWM")
}

/// A figure in bytes of `/proc/<pid>/status` (`VmHWM`, `VmRSS`), of this
/// process (`self`) or another.
pub fn status_bytes(pid: &str, field: &str) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .with_context(|| format!("{path} has no {field} line"))?;
    let kib: u64 = line
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("cannot parse {field} {line:?}"))?;
    Ok(kib * 1024)
}

/// CPU seconds this process has used so far, user and system, from
/// `/proc/self/stat` (in clock ticks of 1/100 s, as Linux reports them).
pub fn cpu_secs() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("cannot read /proc/self/stat")?;
    // The command name may hold spaces; the fields after it do not.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("/proc/self/stat has no command name")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64> {
        let f = fields.get(i).context("/proc/self/stat is too short")?;
        f.parse::<f64>()
            .with_context(|| format!("cannot parse {f:?} in /proc/self/stat"))
    };
    // utime and stime are fields 14 and 15; `rest` starts at field 3.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// Resets the peak resident set to the current one, so that a scenario's
/// peak is its own and not an earlier scenario's. Best effort: kernels
/// without `clear_refs` keep the process-wide peak.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The median time of writing 4 KiB and `sync_all` on a file in `dir`,
/// in microseconds: what one durable write costs on this disk.
pub fn fsync_us(dir: &Path, rounds: usize) -> Result<f64> {
    let path = dir.join("fsync-probe");
    let mut file =
        File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    let block = [0x5au8; 4096];
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds.max(1) {
        let start = Instant::now();
        file.write_all(&block)?;
        file.sync_all()?;
        times.push(micros(start.elapsed()));
    }
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(Stats::of(&mut times).median)
}

/// Microseconds, fractional.
pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Summary of a set of timings.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    /// The mean.
    pub mean: f64,
    /// The median.
    pub median: f64,
    /// The 99th percentile (nearest rank).
    pub p99: f64,
}

impl Stats {
    /// Sorts `values` and summarises them; all zeros when empty.
    pub fn of(values: &mut [f64]) -> Stats {
        if values.is_empty() {
            return Stats {
                mean: 0.0,
                median: 0.0,
                p99: 0.0,
            };
        }
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let rank = |q: f64| values[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        Stats {
            mean: values.iter().sum::<f64>() / n as f64,
            median: if n % 2 == 1 {
                values[n / 2]
            } else {
                (values[n / 2 - 1] + values[n / 2]) / 2.0
            },
            p99: rank(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats() {
        let check = |values: &[f64], mean: f64, median: f64, p99: f64| {
            let s = Stats::of(&mut values.to_vec());
            assert_eq!((s.mean, s.median, s.p99), (mean, median, p99), "{values:?}");
        };
        check(&[], 0.0, 0.0, 0.0);
        check(&[3.0], 3.0, 3.0, 3.0);
        check(&[4.0, 1.0, 3.0, 2.0], 2.5, 2.5, 4.0);
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        check(&hundred, 50.5, 50.5, 99.0);
    }

    #[test]
    fn cpu_time_grows_with_work() {
        let before = cpu_secs().unwrap();
        let mut x = 0u64;
        let start = Instant::now();
        while start.elapsed().as_millis() < 300 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        assert!(cpu_secs().unwrap() > before, "{x}");
    }

    #[test]
    fn peak_rss_is_readable() {
        assert!(peak_rss_bytes().unwrap() > 0);
    }
}
