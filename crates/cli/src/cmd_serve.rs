//! `serve`: the gRPC server over one or more ledger directories.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use service::host::Hosted;
use service::{Hosts, Tokens, server};
use tonic::transport::Identity;

use crate::Verdict;
use crate::out::Out;

#[derive(Args)]
pub struct ServeArgs {
    /// A ledger directory to host; repeat for several ledgers.
    #[arg(long = "ledger", required_unless_present = "store")]
    pub ledgers: Vec<PathBuf>,
    /// Host every ledger of this PostgreSQL database as well:
    /// `postgres://USER@HOST:PORT/DATABASE` (the password in the address or
    /// in PGPASSWORD; never printed). docs/POSTGRES.md.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// With --store: host only this ledger of the database (repeatable);
    /// without it, every ledger the database holds.
    #[arg(long = "ledger-id", value_name = "ID", requires = "store")]
    pub ledger_ids: Vec<String>,
    /// The address to listen on; port 0 picks a free port (printed on stdout).
    #[arg(long, default_value = "127.0.0.1:7327")]
    pub listen: SocketAddr,
    /// Bearer tokens for reads: `<blake3 hex> <reader|auditor> <ledger id|*>` per line.
    #[arg(long)]
    pub tokens: Option<PathBuf>,
    /// The server's TLS certificate chain (PEM).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The server's TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Listen beyond loopback without TLS.
    #[arg(long)]
    pub allow_plaintext: bool,
    /// Serve the web console on this address; port 0 picks a free port. It serves TLS
    /// with --tls-cert/--tls-key; otherwise plain HTTP, on loopback unless --http-behind-tls.
    #[arg(long)]
    pub http: Option<SocketAddr>,
    /// Browsers reach the console over HTTPS through a proxy: mark its cookies Secure,
    /// and allow it to listen beyond loopback.
    #[arg(long, requires = "http")]
    pub http_behind_tls: bool,
    /// POST every new entry of every hosted ledger, and every reminder as
    /// it falls due, to this URL as a CloudEvent (repeatable; delivered in
    /// order, at least once, retried with backoff; docs/SERVICE.md,
    /// "Webhooks").
    #[arg(long, value_name = "URL")]
    pub webhook: Vec<String>,
    /// A file holding the secret of each --webhook, in the same order: each
    /// body carries its HMAC-SHA256 in the X-Review-Ledger-Signature header.
    #[arg(long, value_name = "FILE")]
    pub webhook_secret: Vec<PathBuf>,
    /// Where webhook delivery cursors are kept, so that a restart resumes
    /// where delivery stopped (default: $XDG_STATE_HOME/review-ledger/webhooks,
    /// or ~/.local/state/review-ledger/webhooks).
    #[arg(long, value_name = "DIR")]
    pub webhook_state: Option<PathBuf>,
    /// The sled cache of the whole server, in MiB, shared evenly between its ledgers (at least 1 MiB each).
    #[arg(long, default_value_t = service::limits::CACHE_BYTES >> 20,
          value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    pub cache_mib: u64,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// The server's limits (docs/SERVICE.md, "Limits"); each defaults to
/// `service::limits::Limits::default()`.
#[derive(Args)]
pub struct LimitArgs {
    /// Connections open at once; keep it below the open-files limit.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
    /// Seconds a connection may send nothing before it is closed.
    #[arg(long, value_parser = clap::value_parser!(u32).range(3..=86_400))]
    pub idle_secs: Option<u32>,
    /// Threads running auditors' calls (verification, bundles, whole-review reads).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub audit_threads: Option<u32>,
    /// Auditors' calls running or waiting on the server; more are refused.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub audit_queue: Option<u32>,
    /// Auditors' calls running or waiting on one ledger.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub audit_queue_per_ledger: Option<u32>,
    /// Feeds open at once on the server.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_feeds: Option<u32>,
    /// Feeds open at once on one connection.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub feeds_per_connection: Option<u32>,
    /// KiB of feed messages waiting for one subscriber.
    #[arg(long, value_parser = clap::value_parser!(u32).range(16..=65_536))]
    pub feed_buffer_kib: Option<u32>,
    /// Seconds a subscriber may leave its feed's buffer full before the feed is dropped.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub feed_stall_secs: Option<u32>,
    /// Seconds calls in flight get to finish once the server is told to stop.
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=3_600))]
    pub grace_secs: Option<u32>,
}

impl LimitArgs {
    fn limits(&self) -> service::limits::Limits {
        let mut l = service::limits::Limits::default();
        let secs = |s: u32| std::time::Duration::from_secs(s.into());
        if let Some(n) = self.max_connections {
            l.connections = n as usize;
        }
        if let Some(s) = self.idle_secs {
            l.idle = secs(s);
        }
        if let Some(n) = self.audit_threads {
            l.audit_threads = n as usize;
        }
        if let Some(n) = self.audit_queue {
            l.audit_queue = n as usize;
        }
        if let Some(n) = self.audit_queue_per_ledger {
            l.audit_queue_per_ledger = n as usize;
        }
        if let Some(n) = self.max_feeds {
            l.feeds = n as usize;
            l.feeds_per_ledger = l.feeds_per_ledger.min(l.feeds);
        }
        if let Some(n) = self.feeds_per_connection {
            l.feeds_per_connection = n as usize;
        }
        if let Some(k) = self.feed_buffer_kib {
            l.feed_bytes = (k as usize) << 10;
        }
        if let Some(s) = self.feed_stall_secs {
            l.feed_stall = secs(s);
        }
        if let Some(s) = self.grace_secs {
            l.grace = secs(s);
        }
        l
    }
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn run(a: ServeArgs, out: &Out) -> Result<Verdict> {
    // First, before anything uses rayon: a verification's parallel checks
    // must yield the cores to the writers.
    service::audit::lower_rayon_priority();
    let pem = match (&a.tls_cert, &a.tls_key) {
        (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
        _ => None,
    };
    let tls = pem
        .as_ref()
        .map(|(cert, key)| Identity::from_pem(cert, key));
    let tls_on = tls.is_some();
    server::check_listen(a.listen, tls_on, a.allow_plaintext)?;
    // The console serves TLS with the same certificate when the server has one.
    let web_tls = match (&a.http, &pem) {
        (Some(_), Some((cert, key))) => Some(web_console::tls::Tls::from_pem(cert, key)?),
        _ => None,
    };
    if let Some(http) = a.http {
        server::check_listen(http, tls_on || a.http_behind_tls, a.allow_plaintext)?;
    }
    let tokens = match &a.tokens {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Some(Tokens::parse(path, &text)?)
        }
        None => None,
    };
    let webhooks = webhooks(&a)?;
    let each = service::hosts::cache_share(a.cache_mib << 20, a.ledgers.len());
    let mut hosted = a
        .ledgers
        .iter()
        .map(|dir| Hosted::open(dir, each))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(url) = &a.store {
        hosted.extend(database_ledgers(url, &a.ledger_ids)?);
    }
    let hosts = Arc::new(Hosts::of(hosted, tokens)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let limits = a.limits.limits();
    let grace = limits.grace;
    let verdict = runtime.block_on(async move {
        // Installed before the address is printed: a SIGTERM sent as soon as
        // a script or test reads it must stop the server gracefully, not
        // kill it with the default action.
        let shutdown = shutdown_signal()?;
        // Everything that can refuse to start (the certificate and key
        // among them) is loaded before the server says it is listening.
        let web_limits = limits.clone();
        let server = server::prepare(hosts.clone(), tls, limits).await?;
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("cannot listen on {}", a.listen))?;
        let addr = listener.local_addr()?;
        let console = match a.http {
            Some(http) => {
                let listener = tokio::net::TcpListener::bind(http)
                    .await
                    .with_context(|| format!("cannot listen on {http} for the web console"))?;
                let web = Arc::new(web_console::Console::new(
                    hosts.clone(),
                    server.auditors(),
                    tls_on || a.http_behind_tls,
                ));
                Some((listener.local_addr()?, web, listener))
            }
            None => None,
        };
        let console_addr = console.as_ref().map(|(addr, _, _)| *addr);
        let scheme = if tls_on { "https" } else { "http" };
        let ledgers: Vec<_> = hosts
            .all()
            .map(|h| serde_json::json!({"ledger_id": h.id.to_hex(), "dir": h.dir}))
            .collect();
        // The first line on stdout is the bound address, for scripts and
        // tests: `listening on ADDR`, or one JSON object with `--json`.
        if out.json {
            let v = serde_json::json!({
                "listening": addr.to_string(),
                "tls": tls_on,
                "ledgers": ledgers,
                "console": console_addr.map(|c| format!("{scheme}://{c}/")),
            });
            println!("{v}");
        } else {
            println!("listening on {addr}");
            if let Some(c) = console_addr {
                println!("web console on {scheme}://{c}/");
            }
            for h in hosts.all() {
                println!("ledger {} at {}", h.id, h.dir.display());
            }
        }
        std::io::stdout().flush()?;
        if let Some((hooks, state)) = webhooks {
            service::webhook::spawn(&hosts, hooks, state.clone()).with_context(|| {
                format!("cannot keep webhook delivery state in {}", state.display())
            })?;
        }
        if let Some((_, web, listener)) = console {
            let mut stopping = hosts.stopping();
            tokio::spawn(async move {
                let stop = async move {
                    let _ = stopping.wait_for(|s| *s).await;
                };
                if let Err(e) = web_console::serve(web, listener, &web_limits, web_tls, stop).await
                {
                    eprintln!("the web console stopped: {e}");
                }
            });
        }
        server.serve(listener, shutdown).await?;
        eprintln!("stopped");
        Ok::<_, anyhow::Error>(Verdict::Ok)
    });
    // Blocking work still running (a read, an append already handed to a
    // writer) gets the grace period too; the writers were closed above.
    runtime.shutdown_timeout(grace);
    verdict
}

/// The webhooks asked for, each with its secret, and where their cursors live.
fn webhooks(a: &ServeArgs) -> Result<Option<(Vec<service::webhook::Webhook>, PathBuf)>> {
    if a.webhook.is_empty() {
        if !a.webhook_secret.is_empty() {
            anyhow::bail!("--webhook-secret without a --webhook");
        }
        return Ok(None);
    }
    if a.webhook.len() != a.webhook_secret.len() {
        anyhow::bail!(
            "{} --webhook but {} --webhook-secret: give each webhook its secret file, in the same order",
            a.webhook.len(),
            a.webhook_secret.len()
        );
    }
    let mut hooks = Vec::new();
    for (url, secret) in a.webhook.iter().zip(&a.webhook_secret) {
        if !url.starts_with("http://") && !url.starts_with("https://") {
            anyhow::bail!("--webhook {url}: give an http:// or https:// URL");
        }
        let secret = std::fs::read(secret)
            .with_context(|| format!("cannot read --webhook-secret {}", secret.display()))?;
        let secret = String::from_utf8_lossy(&secret).trim().as_bytes().to_vec();
        if secret.len() < 16 {
            anyhow::bail!("--webhook-secret for {url}: use at least 16 characters");
        }
        hooks.push(service::webhook::Webhook {
            url: url.clone(),
            secret,
        });
    }
    let state = match &a.webhook_state {
        Some(dir) => dir.clone(),
        None => std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
            .unwrap_or_else(|| PathBuf::from("."))
            .join("review-ledger/webhooks"),
    };
    Ok(Some((hooks, state)))
}

/// Installs the SIGINT and SIGTERM handlers now; the future resolves on either.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}

/// Every ledger of the database at `url`, each opened for writing (its
/// writer lock taken) and started.
#[cfg(feature = "postgres")]
fn database_ledgers(url: &str, named: &[String]) -> Result<Vec<Hosted>> {
    use crate::stores::PgStore;
    use ledger_store::StoreError;

    let url = crate::stores::parse(url)?;
    if url.password_in_address() {
        eprintln!(
            "warning: the --store address carries a password, which other users of this machine can read in the server's command line; give it in PGPASSWORD or a password file (~/.pgpass) instead"
        );
    }
    let place = std::path::PathBuf::from(url.to_string());
    let held = PgStore::ledgers(&url)?;
    let ids = match named {
        [] => held,
        named => {
            let mut ids = Vec::new();
            for id in named {
                let id = ledger_core::Hash::from_hex("--ledger-id", id)?;
                if !held.contains(&id) {
                    anyhow::bail!("{url} holds no ledger {id}");
                }
                ids.push(id);
            }
            ids
        }
    };
    let mut hosted = Vec::new();
    for id in ids {
        // Called only when the reads' session finds the lock free.
        let takeover = {
            let url = url.clone();
            move || match PgStore::open(&url, Some(id), ledger_pg::Access::Write) {
                Ok(store) => {
                    let key = store.checkpoint_key()?;
                    Ok(Ok((Box::new(store) as service::host::AnyStore, key)))
                }
                Err(StoreError::Busy { holder, .. }) => Ok(Err(holder)),
                Err(e) => Err(e),
            }
        };
        let reads = PgStore::open(&url, Some(id), ledger_pg::Access::Read)?;
        let shared = Hosted::shared(Box::new(reads), &place, Box::new(takeover))?;
        if let Some(writer) = shared.standing_by() {
            eprintln!("ledger {id} at {url}: on standby, written by {writer}");
        }
        hosted.push(shared);
    }
    if hosted.is_empty() {
        anyhow::bail!("{url} holds no ledger (copy one there with `review-ledger migrate`)");
    }
    Ok(hosted)
}

/// Refuses: this binary has no PostgreSQL store.
#[cfg(not(feature = "postgres"))]
fn database_ledgers(_url: &str, _named: &[String]) -> Result<Vec<Hosted>> {
    anyhow::bail!("this review-ledger was built without PostgreSQL (cargo feature `postgres`)")
}
