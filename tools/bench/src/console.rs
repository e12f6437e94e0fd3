//! `console`: what the web console's pages weigh and how fast they come.
//!
//! A story ledger of `--entries` review events (default 1,000) is served by
//! the real `review-ledger serve --http` on 127.0.0.1 (`cargo build
//! --release -p cli` first). For each main page: its HTML's bytes and the
//! best of [`RUNS`] times to fetch it whole over a fresh connection. The
//! limit measured beside it in the same run is the time to fetch the
//! console's style sheet, a fixed file: the server's cost of answering at
//! all, so `ratio` is how close a page comes to that. The style sheets and
//! the script every page loads are reported once (`assets_bytes`).
//!
//! When Debian's Chromium and ChromeDriver are installed, the review page
//! is also loaded in headless Chromium and the browser's own
//! first-contentful-paint time is reported beside it
//! (`first_contentful_paint_ms`, from the Paint Timing API).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::Options;
use crate::meetings;
use crate::rebuild;
use crate::report::{Report, round};
use crate::scaling::{Serving, binary};

/// Review events of the ledger when `--entries` is not given.
pub const DEFAULT_ENTRIES: u64 = 1_000;

/// Fetches of each page; the best counts.
pub const RUNS: usize = 5;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// One fetch: the body's bytes and the wall time to the last byte.
async fn fetch(url: &str) -> Result<(usize, f64)> {
    // A fresh client each time: a fresh connection, as a first visit.
    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let start = Instant::now();
    let res = client
        .get(url.parse().context("a page address")?)
        .await
        .with_context(|| format!("cannot fetch {url}"))?;
    let status = res.status();
    let body = res.into_body().collect().await?.to_bytes();
    let secs = start.elapsed().as_secs_f64();
    if !status.is_success() {
        bail!("{url} answered {status}");
    }
    Ok((body.len(), secs))
}

async fn best(url: &str) -> Result<(usize, f64)> {
    let mut out = (0, f64::INFINITY);
    for _ in 0..RUNS {
        let (bytes, secs) = fetch(url).await?;
        out = (bytes, out.1.min(secs));
    }
    Ok(out)
}

/// The review page's first contentful paint in headless Chromium, in ms.
async fn first_paint(url: &str) -> Result<Option<f64>> {
    if !std::path::Path::new(CHROMIUM).is_file() || !std::path::Path::new(CHROMEDRIVER).is_file() {
        return Ok(None);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut driver = std::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("cannot start chromedriver")?;
    let result = async {
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(30) {
                bail!("chromedriver never listened");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir()?;
        let caps = serde_json::json!({ "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                     format!("--user-data-dir={}", profile.path().display())],
        }});
        let browser = fantoccini::ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.as_object().cloned().unwrap_or_default())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .context("cannot start a browser session")?;
        let mut paints = Vec::new();
        for _ in 0..RUNS {
            browser.goto(url).await?;
            let v = browser
                .execute(
                    "const p = performance.getEntriesByName('first-contentful-paint')[0]; return p ? p.startTime : null;",
                    vec![],
                )
                .await?;
            if let Some(ms) = v.as_f64() {
                paints.push(ms);
            }
        }
        browser.close().await?;
        Ok(paints.into_iter().reduce(f64::min))
    }
    .await;
    let _ = driver.kill();
    let _ = driver.wait();
    result
}

/// Runs the scenario on a ledger of `review_events` review events.
pub fn run(opts: &Options, review_events: u64) -> Result<Report> {
    let bin = binary()?;
    let ledger = rebuild::story_ledger(opts.tmp.as_deref(), review_events)?;
    let dir = ledger
        .path
        .to_str()
        .context("a UTF-8 ledger path")?
        .to_owned();
    let served = Serving::start(&bin, &dir, true)?;
    let web = served
        .console
        .clone()
        .context("serve printed no console address")?;
    let base = format!("{web}/l/{}", ledger.id.to_hex());
    let review = meetings::review_id(0, 0).as_str().to_owned();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (_, limit) = best(&format!("{web}/assets/console.css")).await?;
        let mut assets = 0;
        for a in ["console.css", "minutes.css", "console.js"] {
            assets += fetch(&format!("{web}/assets/{a}")).await?.0;
        }
        let mut pages = serde_json::Map::new();
        let mut review_secs = 0.0;
        for (name, path) in [
            ("overview", "/".to_owned()),
            ("review", format!("/reviews/{review}")),
            ("actions", "/actions".to_owned()),
            ("objectives", "/objectives".to_owned()),
            ("roster", "/roster".to_owned()),
            ("ledger", "/log".to_owned()),
        ] {
            let (bytes, secs) = best(&format!("{base}{path}")).await?;
            if name == "review" {
                review_secs = secs;
            }
            pages.insert(
                name.to_owned(),
                serde_json::json!({ "bytes": bytes, "ms": round(secs * 1e3, 2) }),
            );
        }
        let paint = first_paint(&format!("{base}/reviews/{review}")).await?;
        let entries = review_events;
        Ok(
            Report::new("console", entries, 1.0 / review_secs, 1.0 / limit, 0)
                .with(
                    "limit_kind",
                    "fetching the style sheet from the same server",
                )
                .with("pages", serde_json::Value::Object(pages))
                .with("assets_bytes", assets)
                .with("review_page_ms", round(review_secs * 1e3, 2))
                .with("first_contentful_paint_ms", paint.map(|p| round(p, 1))),
        )
    })
}
