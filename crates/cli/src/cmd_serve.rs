//! `serve`: the gRPC server over one or more ledger directories.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use service::{Hosts, Tokens, server};
use tonic::transport::Identity;

use crate::Verdict;
use crate::out::Out;

#[derive(Args)]
pub struct ServeArgs {
    /// A ledger directory to host; repeat for several ledgers.
    #[arg(long = "ledger", required = true)]
    pub ledgers: Vec<PathBuf>,
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
    /// The sled cache of each hosted ledger, in MiB.
    #[arg(long, default_value_t = service::limits::CACHE_BYTES >> 20,
          value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    pub cache_mib: u64,
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn run(a: ServeArgs, out: &Out) -> Result<Verdict> {
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(cert), Some(key)) => Some(Identity::from_pem(read(cert)?, read(key)?)),
        _ => None,
    };
    server::check_listen(a.listen, tls.is_some(), a.allow_plaintext)?;
    let tokens = match &a.tokens {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Some(Tokens::parse(path, &text)?)
        }
        None => None,
    };
    let hosts = Arc::new(Hosts::open(&a.ledgers, tokens, a.cache_mib << 20)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        // Installed before the address is printed: a SIGTERM sent as soon as
        // a script or test reads it must stop the server gracefully, not
        // kill it with the default action.
        let shutdown = shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("cannot listen on {}", a.listen))?;
        let addr = listener.local_addr()?;
        let ledgers: Vec<_> = hosts
            .all()
            .map(|h| serde_json::json!({"ledger_id": h.id.to_hex(), "dir": h.dir}))
            .collect();
        // The first line on stdout is the bound address, for scripts and
        // tests: `listening on ADDR`, or one JSON object with `--json`.
        if out.json {
            let v = serde_json::json!({"listening": addr.to_string(), "tls": tls.is_some(), "ledgers": ledgers});
            println!("{v}");
        } else {
            println!("listening on {addr}");
            for h in hosts.all() {
                println!("ledger {} at {}", h.id, h.dir.display());
            }
        }
        std::io::stdout().flush()?;
        server::serve(hosts, listener, tls, shutdown).await?;
        eprintln!("stopped");
        Ok(Verdict::Ok)
    })
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
