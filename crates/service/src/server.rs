//! Assembling and running the server: the two services, health,
//! reflection, limits, TLS and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, ServerTlsConfig};

use crate::error::ServiceError;
use crate::hosts::Hosts;
use crate::ledger_api::LedgerApi;
use crate::limits;
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

/// Serves `hosts` on `listener` until `shutdown` resolves. Then feeds end,
/// no new call is taken, calls in flight finish (appends handed to a
/// writer complete durably), and every writer is closed.
pub async fn serve(
    hosts: Arc<Hosts>,
    listener: TcpListener,
    tls: Option<Identity>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<LedgerServiceServer<LedgerApi>>().await;
    health.set_serving::<ReviewServiceServer<ReviewApi>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServiceError::Reflection(e.to_string()))?;
    let ledger = LedgerServiceServer::new(LedgerApi::new(hosts.clone()))
        .max_decoding_message_size(limits::MAX_REQUEST)
        .max_encoding_message_size(limits::MAX_RESPONSE);
    let review = ReviewServiceServer::new(ReviewApi::new(hosts.clone()))
        .max_decoding_message_size(limits::MAX_REQUEST)
        .max_encoding_message_size(limits::MAX_RESPONSE);
    let mut builder = tonic::transport::Server::builder()
        .max_concurrent_streams(Some(limits::STREAMS_PER_CONNECTION))
        .concurrency_limit_per_connection(limits::CALLS_PER_CONNECTION);
    if let Some(identity) = tls {
        builder = builder.tls_config(ServerTlsConfig::new().identity(identity))?;
    }
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
    };
    // Every acknowledgement is one small response: with Nagle's algorithm
    // on, it waits for the client's delayed ACK (tens of milliseconds).
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let result = builder
        .add_service(health_service)
        .add_service(reflection)
        .add_service(ledger)
        .add_service(review)
        .serve_with_incoming_shutdown(incoming, signal)
        .await;
    let closing = hosts.clone();
    let _ = tokio::task::spawn_blocking(move || {
        for h in closing.all() {
            h.close();
        }
    })
    .await;
    result.map_err(ServiceError::Transport)
}
