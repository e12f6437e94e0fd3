//! Assembling and running the server: the two services, health,
//! reflection, limits, TLS, and a shutdown that ends within a bounded time.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::transport::server::Router;
use tonic::transport::{Identity, ServerTlsConfig};
use tonic_health::server::HealthReporter;

use crate::audit::Auditors;
use crate::conn;
use crate::error::ServiceError;
use crate::hosts::Hosts;
use crate::ledger_api::LedgerApi;
use crate::limits::{self, Limits};
use crate::pb::ledger_service_server::LedgerServiceServer;
use crate::pb::review_service_server::ReviewServiceServer;
use crate::review_api::ReviewApi;

/// The encoded descriptor set of `proto/reviewledger/v1`, for reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/reviewledger_descriptor.bin"));

/// Refuses to listen beyond loopback in plaintext unless told to.
pub fn check_listen(
    addr: SocketAddr,
    tls: bool,
    allow_plaintext: bool,
) -> Result<(), ServiceError> {
    if tls || allow_plaintext || addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(ServiceError::PlaintextBeyondLoopback(addr))
    }
}

/// A server ready to listen: its certificate, tokens and ledgers are
/// loaded, so nothing is left to fail once it says it is listening.
pub struct Prepared {
    router: Router,
    hosts: Arc<Hosts>,
    auditors: Arc<Auditors>,
    health: HealthReporter,
    limits: Limits,
}

/// Builds the server over `hosts`: the two services, health, reflection,
/// limits and TLS (a bad certificate or key is refused here).
pub async fn prepare(
    hosts: Arc<Hosts>,
    tls: Option<Identity>,
    limits: Limits,
) -> Result<Prepared, ServiceError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<LedgerServiceServer<LedgerApi>>().await;
    health.set_serving::<ReviewServiceServer<ReviewApi>>().await;
    // Reflection in both versions: `v1`, and `v1alpha` for the clients that
    // speak only it (Python's grpcio-reflection, older grpcurl and Postman).
    let reflection_builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection = reflection_builder()
        .build_v1()
        .map_err(|e| ServiceError::Reflection(e.to_string()))?;
    let reflection_v1alpha = reflection_builder()
        .build_v1alpha()
        .map_err(|e| ServiceError::Reflection(e.to_string()))?;
    let auditors = Arc::new(Auditors::new(&limits));
    let ledger = LedgerServiceServer::new(LedgerApi::new(
        hosts.clone(),
        limits.clone(),
        auditors.clone(),
    ))
    .max_decoding_message_size(limits::MAX_REQUEST)
    .max_encoding_message_size(limits::MAX_RESPONSE);
    let review = ReviewServiceServer::new(ReviewApi::new(hosts.clone(), auditors.clone()))
        .max_decoding_message_size(limits::MAX_REQUEST)
        .max_encoding_message_size(limits::MAX_RESPONSE);
    // A live client answers a ping well within the idle limit.
    let ping = limits.idle / 3;
    let mut builder = tonic::transport::Server::builder()
        .max_concurrent_streams(Some(limits::STREAMS_PER_CONNECTION))
        .concurrency_limit_per_connection(limits::CALLS_PER_CONNECTION)
        .http2_keepalive_interval(Some(ping))
        .http2_keepalive_timeout(Some(ping));
    if let Some(identity) = tls {
        let config = ServerTlsConfig::new()
            .identity(identity)
            .timeout(limits.idle);
        builder = builder
            .tls_config(config)
            .map_err(|e| ServiceError::Tls(crate::error::causes(&e)))?;
    }
    let router = builder
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .add_service(ledger)
        .add_service(review);
    Ok(Prepared {
        router,
        hosts,
        auditors,
        health,
        limits,
    })
}

impl Prepared {
    /// The auditors' pool, for another face of the same server (the web
    /// console) whose whole-ledger reads must count against the same limits.
    pub fn auditors(&self) -> Arc<Auditors> {
        self.auditors.clone()
    }

    /// Serves on `listener` until `shutdown` resolves. Then feeds end,
    /// auditors' calls stop at their next read, no new call is taken, and
    /// calls in flight have [`Limits::grace`] to finish before their
    /// connections are dropped; appends handed to a writer complete
    /// durably either way, and every writer is closed.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServiceError> {
        let Prepared {
            router,
            hosts,
            auditors,
            health,
            limits,
        } = self;
        let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
        let stopping = hosts.clone();
        let signal = async move {
            shutdown.await;
            health
                .set_not_serving::<LedgerServiceServer<LedgerApi>>()
                .await;
            health
                .set_not_serving::<ReviewServiceServer<ReviewApi>>()
                .await;
            // End the feeds, or the graceful shutdown would wait for them forever.
            stopping.stop();
            auditors.stop();
            let _ = stopped_tx.send(());
        };
        let (incoming, accepting) = conn::incoming(listener, &limits);
        let serving = router.serve_with_incoming_shutdown(incoming, signal);
        let grace_over = async move {
            if stopped_rx.await.is_ok() {
                tokio::time::sleep(limits.grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let result = tokio::select! {
            result = serving => result.map_err(ServiceError::Transport),
            _ = grace_over => Ok(()),
        };
        accepting.abort();
        let closing = hosts.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for h in closing.all() {
                h.close();
            }
        })
        .await;
        result
    }
}

/// Serves `hosts` on `listener` until `shutdown` resolves ([`prepare`],
/// then [`Prepared::serve`]).
pub async fn serve(
    hosts: Arc<Hosts>,
    listener: TcpListener,
    tls: Option<Identity>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    prepare(hosts, tls, limits)
        .await?
        .serve(listener, shutdown)
        .await
}
