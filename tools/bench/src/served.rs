//! The real gRPC server (`service::server::serve`) on 127.0.0.1, port 0,
//! hosting one benchmark ledger, and the clients that talk to it.
//!
//! The server runs in this process on a tokio runtime of its own; clients
//! connect over loopback TCP, each on its own connection, as separate
//! processes would. Nothing is mocked: the server opens the directory the
//! way `review-ledger serve` does (replaying it first) and appends through
//! the same writer.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tempfile::TempDir;

use anyhow::{Context, Result, anyhow};
use ledger_core::{LedgerId, SignedEvent};
use service::pb;
use service::pb::ledger_service_client::LedgerServiceClient;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

use crate::fixture::Fixture;

/// A running server and the runtime it runs on.
pub struct Served {
    /// The runtime the server, and the benchmark's clients, run on.
    pub runtime: Runtime,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Seconds the server took to open (and replay) the ledger.
    pub open_secs: f64,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), service::ServiceError>>>,
}

impl Served {
    /// Opens the ledger in `dir` with a sled cache of `cache_bytes` and
    /// serves it on 127.0.0.1, port 0.
    pub fn start(dir: &Path, cache_bytes: u64) -> Result<Served> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start a tokio runtime")?;
        let start = Instant::now();
        let hosts = Arc::new(service::Hosts::open(&[dir.to_owned()], None, cache_bytes)?);
        let open_secs = start.elapsed().as_secs_f64();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .context("cannot listen on 127.0.0.1")?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = runtime.spawn(service::server::serve(
            hosts,
            listener,
            None,
            service::limits::Limits::default(),
            async {
                let _ = stopped.await;
            },
        ));
        Ok(Served {
            runtime,
            url,
            open_secs,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Closes the fixture's writer (releasing its directory) and serves its
    /// ledger; the directory is removed when the returned guard is dropped.
    pub fn take_over(fixture: Fixture, cache_bytes: u64) -> Result<(Served, TempDir)> {
        let path = fixture.path();
        let dir = fixture.close();
        Ok((Served::start(&path, cache_bytes)?, dir))
    }

    /// A client on a connection of its own.
    pub async fn client(url: &str) -> Result<LedgerServiceClient<Channel>> {
        LedgerServiceClient::connect(url.to_owned())
            .await
            .with_context(|| format!("cannot connect to {url}"))
    }

    /// Stops the server gracefully and waits until its writer is closed.
    pub fn stop(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            self.runtime
                .block_on(task)
                .map_err(|e| anyhow!("the server task failed: {e}"))??;
        }
        Ok(())
    }
}

/// The append request for `signed` to ledger `id`.
pub fn request(id: &LedgerId, signed: &SignedEvent) -> pb::AppendRequest {
    pb::AppendRequest {
        ledger_id: id.to_hex(),
        event: Some(service::convert::signed_event_pb(signed)),
    }
}

/// Appends over gRPC and returns the acknowledged sequence number.
pub async fn append(
    client: &mut LedgerServiceClient<Channel>,
    id: &LedgerId,
    signed: &SignedEvent,
) -> Result<u64> {
    let ack = client
        .append(request(id, signed))
        .await
        .map_err(|s| anyhow!("append refused: {:?}: {}", s.code(), s.message()))?;
    Ok(ack.into_inner().seq)
}
