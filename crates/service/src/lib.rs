//! `service`: the review ledger's gRPC face, a thin tonic adapter.
//!
//! One server hosts several ledgers ([`Hosts`]), each addressed by its
//! ledger id. [`ledger_api::LedgerApi`] implements `reviewledger.v1.LedgerService`
//! (appends, reads, the live feed, checkpoints, proofs) and
//! [`review_api::ReviewApi`] implements `reviewledger.v1.ReviewService` (the
//! projections of the `review` crate). Protobuf types live in [`pb`], are
//! generated from `proto/reviewledger/v1` by `build.rs` (protox and
//! tonic-prost-build, no system `protoc`), and are converted from and to domain
//! types only in [`convert`] (requests, entries) and [`messages`] (the
//! domain's values as typed messages). Errors become status codes in [`error`]. No business
//! rule lives here: the writer in `ledger-store` runs `review`'s admission
//! rules, and every projection is `review` code.
//!
//! Each hosted ledger ([`host::Hosted`]) keeps its own projection state,
//! folded from durable entries read back from the store after each append,
//! never the writer's private state. Its applied size is a
//! `tokio::sync::watch` that wakes the feeds; feeds always read entries from
//! the store.
//!
//! ```no_run
//! # async fn demo() -> Result<(), service::ServiceError> {
//! use std::sync::Arc;
//! let hosts = Arc::new(service::Hosts::open(&["ledger".into()], None, service::limits::CACHE_BYTES)?);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! service::server::serve(hosts, listener, None, service::limits::Limits::default(), async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await
//! # }
//! ```

pub mod audit;
pub mod conn;
pub mod convert;
pub mod error;
pub mod export;
pub mod feed;
pub mod host;
pub mod hosts;
pub mod ledger_api;
pub mod limits;
pub mod load;
pub mod messages;
pub mod repeated;
pub mod review_api;
pub mod server;
pub mod verdict;
pub mod webhook;

/// The generated protobuf messages, servers and clients of `reviewledger.v1`.
#[allow(missing_docs, clippy::all)]
pub mod pb {
    tonic::include_proto!("reviewledger.v1");
}

pub use error::ServiceError;
pub use hosts::{Hosts, Role, Tokens};
