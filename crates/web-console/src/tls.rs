//! The console's listeners: plain, or TLS with the server's certificate.
//!
//! Both take connections through the server's [`Gate`] (the connection cap
//! and the idle limit). Over TLS each handshake runs in a task of its own,
//! bounded by the idle limit, so that a client that never finishes one
//! holds a connection slot for that long and delays nobody's accept.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use service::conn::{Gate, Guarded};
use tokio::sync::mpsc;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;

/// Why a certificate or key was refused.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate chain does not parse.
    #[error("the console's certificate chain: {0}")]
    Certificate(String),
    /// The private key does not parse.
    #[error("the console's private key: {0}")]
    Key(String),
    /// rustls refused the pair.
    #[error("the console's certificate and key: {0}")]
    Config(String),
}

/// The console's TLS configuration.
#[derive(Clone)]
pub struct Tls(Arc<ServerConfig>);

impl Tls {
    /// From a PEM certificate chain and private key (the server's own).
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<Tls, TlsError> {
        let certs = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Certificate(e.to_string()))?;
        if certs.is_empty() {
            return Err(TlsError::Certificate("no certificate in the PEM".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| TlsError::Key(e.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls(Arc::new(config)))
    }

    /// Listens through `gate`, each handshake given at most `idle`.
    pub(crate) fn listen(self, gate: Gate, idle: Duration) -> Secure {
        let addr = gate.local_addr();
        let (tx, rx) = mpsc::channel(16);
        let acceptor = tokio_rustls::TlsAcceptor::from(self.0);
        let accepting = tokio::spawn(async move {
            loop {
                let (io, peer) = gate.accept().await;
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    if let Ok(Ok(tls)) = tokio::time::timeout(idle, acceptor.accept(io)).await {
                        let _ = tx.send((tls, peer)).await;
                    }
                });
            }
        });
        Secure {
            rx,
            addr,
            accepting,
        }
    }
}

/// Plain HTTP through the gate.
pub(crate) struct Plain(pub(crate) Gate);

impl axum::serve::Listener for Plain {
    type Io = Guarded;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        self.0.accept().await
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// TLS through the gate: connections whose handshake completed.
pub(crate) struct Secure {
    rx: mpsc::Receiver<(TlsStream<Guarded>, SocketAddr)>,
    addr: std::io::Result<SocketAddr>,
    accepting: tokio::task::JoinHandle<()>,
}

impl Drop for Secure {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for Secure {
    type Io = TlsStream<Guarded>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(accepted) => accepted,
            // The accepting task has ended: nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        match &self.addr {
            Ok(a) => Ok(*a),
            Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
        }
    }
}
