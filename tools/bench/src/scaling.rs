//! `scaling`: what the everyday commands cost as a ledger ages.
//!
//! For each size (`--sizes`, default 1k, 10k, 100k and 1M review events) a
//! story ledger is built as `rebuild` builds its own, and the real
//! `review-ledger` binary (the one built beside this bench: `cargo build
//! --release -p cli`) runs each command of [`COMMANDS`] on it, and a remote
//! append through `review-ledger serve` on 127.0.0.1. Each figure is the
//! best wall time of [`RUNS`] runs (one run at 100k entries and beyond).
//! One report per command and size: `per_s` is runs per second at that size,
//! `limit_per_s` the same at the smallest size, so `ratio` is the smallest
//! size's time over this one's: 1.0 is a cost that does not grow with the
//! ledger, 0.5 a command twice as slow. The target is at least 0.5 at 1M.
//! A remote append is timed with the CLI's verified cache warm (one append
//! before), and once cold, as a machine's first append (`remote append,
//! first from this machine`), and `serve until listening` is the time from
//! starting `review-ledger serve` to its `listening on` line, which it
//! prints once its ledgers are loaded. `--keep DIR` leaves each ledger in
//! DIR.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use ledger_store::keyfile;

use crate::Options;
use crate::meetings;
use crate::rebuild;
use crate::report::{Report, round};

/// Review events of the ledgers when `--sizes` is not given.
pub const DEFAULT_SIZES: [u64; 4] = [1_000, 10_000, 100_000, 1_000_000];

/// Runs of each command at the small sizes.
pub const RUNS: usize = 3;

/// The commands timed, by name: their arguments after the binary, with
/// `{dir}`, `{review}`, `{key}`, `{public}`, `{n}` and `{out}` filled in.
pub const COMMANDS: &[(&str, &[&str])] = &[
    ("checkpoint", &["checkpoint", "--json", "--ledger", "{dir}"]),
    (
        "prove",
        &["prove", "--json", "--ledger", "{dir}", "--seq", "1"],
    ),
    (
        "log",
        &[
            "log", "--json", "--ledger", "{dir}", "--from", "0", "--limit", "10",
        ],
    ),
    ("reviews", &["reviews", "--json", "--ledger", "{dir}"]),
    ("actions", &["actions", "--json", "--ledger", "{dir}"]),
    (
        "member list",
        &["member", "list", "--json", "--ledger", "{dir}"],
    ),
    (
        "agenda",
        &[
            "agenda", "--json", "--ledger", "{dir}", "--review", "{review}",
        ],
    ),
    (
        "minutes show",
        &[
            "minutes", "show", "--ledger", "{dir}", "--review", "{review}",
        ],
    ),
    (
        "check",
        &[
            "check", "--json", "--ledger", "{dir}", "--review", "{review}",
        ],
    ),
    (
        "export",
        &[
            "export", "--ledger", "{dir}", "--review", "{review}", "--out", "{out}",
        ],
    ),
    (
        "local append",
        &[
            "member",
            "add",
            "--json",
            "--ledger",
            "{dir}",
            "--key",
            "{key}",
            "--id",
            "scale{n}",
            "--name",
            "Scaling Probe",
            "--role",
            "Analyst",
            "--public-key",
            "{public}",
        ],
    ),
];

/// The `review-ledger` binary beside this bench.
pub(crate) fn binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the bench executable")?;
    let path = exe.with_file_name("review-ledger");
    if !path.exists() {
        bail!(
            "{} is missing: build it with `cargo build --release -p cli`",
            path.display()
        );
    }
    Ok(path)
}

/// What fills the placeholders of one size's commands.
struct Fill {
    dir: String,
    review: String,
    key: String,
    public: String,
    out: String,
}

impl Fill {
    fn args(&self, template: &[&str], n: usize) -> Vec<String> {
        template
            .iter()
            .map(|a| {
                a.replace("{dir}", &self.dir)
                    .replace("{review}", &self.review)
                    .replace("{key}", &self.key)
                    .replace("{public}", &self.public)
                    .replace("{out}", &self.out)
                    .replace("{n}", &n.to_string())
            })
            .collect()
    }
}

/// The best wall time of `runs` runs of `args`, in seconds; exit 0 or 1
/// (a check may find a nonconformity) counts as done.
fn time(bin: &Path, cache: &Path, runs: usize, args: impl Fn(usize) -> Vec<String>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for n in 0..runs {
        let args = args(n);
        let start = Instant::now();
        let out = Command::new(bin)
            .args(&args)
            .env("REVIEW_LEDGER_CACHE", cache)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run review-ledger {}", args.join(" ")))?;
        let secs = start.elapsed().as_secs_f64();
        if !matches!(out.status.code(), Some(0 | 1)) {
            bail!(
                "review-ledger {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        best = best.min(secs);
    }
    Ok(best)
}

/// `review-ledger serve` on 127.0.0.1, stopped when dropped. Its stdout is
/// read to the end on a thread of its own: the server prints a line for
/// each ledger after its address, and would stop at a full pipe.
pub(crate) struct Serving {
    child: Child,
    /// Whether the child was killed and reaped already.
    reaped: bool,
    pub(crate) url: String,
    /// The web console's address, when started with `--http`.
    pub(crate) console: Option<String>,
}

impl Serving {
    /// Serves `dir`, with the web console too when `console` is set.
    pub(crate) fn start(bin: &Path, dir: &str, console: bool) -> Result<Serving> {
        let mut args = vec!["--ledger", dir];
        if console {
            args.extend(["--http", "127.0.0.1:0"]);
        }
        Serving::start_with(bin, &args, console)
    }

    /// Serves with `args` after `serve --listen 127.0.0.1:0`; `console`
    /// says whether they start the web console.
    pub(crate) fn start_with(bin: &Path, args: &[&str], console: bool) -> Result<Serving> {
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--listen", "127.0.0.1:0"]).args(args);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start review-ledger serve")?;
        let stdout = child.stdout.take().context("serve has no stdout")?;
        let mut stdout = BufReader::new(stdout);
        let mut line = || -> Result<String> {
            let mut l = String::new();
            stdout.read_line(&mut l)?;
            Ok(l.trim().to_owned())
        };
        let first = line()?;
        let addr = first
            .strip_prefix("listening on ")
            .with_context(|| format!("serve printed {first:?}"))?
            .to_owned();
        let console = match console {
            true => {
                let second = line()?;
                let web = second
                    .strip_prefix("web console on ")
                    .with_context(|| format!("serve printed {second:?}"))?;
                Some(web.trim_end_matches('/').to_owned())
            }
            false => None,
        };
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Ok(Serving {
            child,
            reaped: false,
            url: format!("http://{addr}"),
            console,
        })
    }
}

impl Serving {
    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, as a machine that dies.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.reaped = true;
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Runs the scenario over ledgers of `sizes` review events.
pub fn run(opts: &Options, sizes: &[u64]) -> Result<Vec<Report>> {
    let bin = binary()?;
    let mut first: Vec<(String, f64)> = Vec::new();
    let mut reports = Vec::new();
    for &size in sizes {
        let built = rebuild::story_ledger(opts.tmp.as_deref(), size)?;
        let keys = rebuild::story_keys();
        let key = built.dir.path().join("ceo.pem");
        keyfile::write_private(
            &key,
            keys.get("ceo").context("the story has a chief executive")?,
        )?;
        let probe = built.dir.path().join("probe.pem");
        keyfile::write_private(&probe, &ledger_core::KeyPair::from_seed([0x51; 32]))?;
        let fill = Fill {
            dir: built.path.to_string_lossy().into_owned(),
            review: meetings::review_id(0, 0).as_str().to_owned(),
            key: key.to_string_lossy().into_owned(),
            public: keyfile::public_path(&probe).to_string_lossy().into_owned(),
            out: built
                .dir
                .path()
                .join("out.bundle")
                .to_string_lossy()
                .into_owned(),
        };
        let runs = if size < 100_000 { RUNS } else { 1 };
        // The CLI's verified cache of remote mode, this size's own.
        let cache = built.dir.path().join("cache");
        let mut figures = Vec::new();
        for (k, (name, template)) in COMMANDS.iter().enumerate() {
            let secs = time(&bin, &cache, runs, |n| fill.args(template, k * 100 + n))?;
            figures.push(((*name).to_owned(), secs));
        }
        // A remote append: the CLI verifies the entries after those it
        // verified before (its cache, warmed by one append first, as on a
        // machine that has appended before), then appends.
        // `serve` prints its address once every ledger is loaded and it
        // answers health checks: the time to that line is its start.
        let start = Instant::now();
        let served = Serving::start(&bin, &fill.dir, false)?;
        let serve_start = start.elapsed().as_secs_f64();
        let id = built.id.to_hex();
        let remote = |n: usize| {
            let mut args = fill.args(COMMANDS[COMMANDS.len() - 1].1, 10_000 + n);
            args.retain(|a| a != "--ledger" && a != &fill.dir);
            args.extend([
                "--server".into(),
                served.url.clone(),
                "--ledger-id".into(),
                id.clone(),
            ]);
            args
        };
        let cold = time(&bin, &cache, 1, |n| remote(1000 + n))?;
        let secs = time(&bin, &cache, runs, remote)?;
        drop(served);
        figures.push(("serve until listening".to_owned(), serve_start));
        figures.push(("remote append, first from this machine".to_owned(), cold));
        figures.push(("remote append".to_owned(), secs));
        for (name, secs) in figures {
            let base = match first.iter().find(|(n, _)| *n == name) {
                Some((_, b)) => *b,
                None => {
                    first.push((name.clone(), secs));
                    secs
                }
            };
            reports.push(
                Report::new(&format!("scaling {name}"), size, 1.0 / secs, 1.0 / base, 0)
                    .with("secs", round(secs, 3))
                    .with("first_secs", round(base, 3))
                    .with("first_size", sizes[0])
                    .with("runs", runs as u64)
                    .with("cores", opts.cores),
            );
        }
        crate::keep(opts, &built.path, &format!("ledger-{size}"))?;
        drop(built);
    }
    Ok(reports)
}
