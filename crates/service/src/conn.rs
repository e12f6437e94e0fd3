//! Accepting connections: at most [`Limits::connections`] open at once
//! (the next is closed as soon as it is accepted), and each closed once it
//! has sent nothing for [`Limits::idle`]. The server pings every connection
//! more often than that, so only a peer that is silent, stuck half way
//! through a request or no longer reading is dropped. Running out of file
//! descriptors pauses accepting instead of ending the server.
//!
//! [`Gate`] is that accept loop for any face of the server: the gRPC
//! service takes its connections through [`incoming`], the web console
//! through its own gate (where what the server writes counts as activity
//! too, so that a live page's event stream, which the browser never writes
//! to, is not taken for a silent peer).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::{Instant, Sleep};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::limits::Limits;

/// One accepted connection, counted until it closes.
pub struct Guarded {
    inner: TcpStream,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    /// Whether bytes written to the peer count as activity.
    writes_count: bool,
    _permit: OwnedSemaphorePermit,
}

impl Guarded {
    fn active(&mut self) {
        let next = Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }
}

impl Connected for Guarded {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.inner.connect_info()
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.active();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the peer sent nothing for the idle limit",
                ))),
                Poll::Pending => Poll::Pending,
            },
            other => other,
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, buf);
        if self.writes_count && matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.active();
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if self.writes_count && matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.active();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Accepts connections from a listener, at most `connections` open at
/// once, each closed once idle for `idle`.
pub struct Gate {
    listener: TcpListener,
    open: Arc<Semaphore>,
    idle: Duration,
    writes_count: bool,
}

impl Gate {
    /// A gate over `listener`. With `writes_count`, bytes written to a peer
    /// keep its connection alive as bytes read from it do.
    pub fn new(
        listener: TcpListener,
        connections: usize,
        idle: Duration,
        writes_count: bool,
    ) -> Gate {
        Gate {
            listener,
            open: Arc::new(Semaphore::new(connections.max(1))),
            idle,
            writes_count,
        }
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The next connection within the cap; a connection beyond it is
    /// closed as soon as it is accepted.
    pub async fn accept(&self) -> (Guarded, SocketAddr) {
        loop {
            let (stream, peer): (TcpStream, SocketAddr) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                // Out of file descriptors, or a connection reset before it
                // was accepted: wait a moment and go on accepting.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(permit) = self.open.clone().try_acquire_owned() else {
                drop(stream);
                continue;
            };
            // Every acknowledgement is one small response: with Nagle's
            // algorithm on, it waits for the client's delayed ACK.
            let _ = stream.set_nodelay(true);
            let guarded = Guarded {
                inner: stream,
                idle: self.idle,
                deadline: Box::pin(tokio::time::sleep(self.idle)),
                writes_count: self.writes_count,
                _permit: permit,
            };
            return (guarded, peer);
        }
    }
}

/// The stream of accepted connections for the server, and the task that
/// accepts them (abort it once the server is done).
pub fn incoming(
    listener: TcpListener,
    limits: &Limits,
) -> (
    ReceiverStream<io::Result<Guarded>>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = mpsc::channel(16);
    let gate = Gate::new(listener, limits.connections, limits.idle, false);
    let task = tokio::spawn(async move {
        loop {
            let (guarded, _) = gate.accept().await;
            if tx.send(Ok(guarded)).await.is_err() {
                return;
            }
        }
    });
    (ReceiverStream::new(rx), task)
}
