//! [`Listener`] and [`Dialer`] wrappers that put TLS on any transport (tokio TCP, turmoil).
//! The server itself handshakes per connection (it writes a plaintext INFO first for clients);
//! these serve drivers that want TLS-first streams, such as the simulation.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinSet;
use tracing::error;

use super::TlsHandle;
use super::handshake::{accept, connect};
use super::stream::{Joined, TlsConn};
use crate::transport::{Connection, Dialer, Listener};

type Handshaken<C> = Option<(TlsConn<C>, SocketAddr)>;

/// Accepts TLS connections; handshakes run concurrently, failures are logged and dropped.
pub struct TlsListener<L: Listener> {
    inner: L,
    handle: Arc<TlsHandle>,
    pending: JoinSet<Handshaken<L::Conn>>,
}

impl<L: Listener> TlsListener<L> {
    /// Wrap `inner`; each handshake uses `handle`'s configuration at accept time.
    pub fn new(inner: L, handle: Arc<TlsHandle>) -> Self {
        Self { inner, handle, pending: JoinSet::new() }
    }
}

impl<L: Listener> Listener for TlsListener<L> {
    type Conn = TlsConn<L::Conn>;

    async fn accept(&mut self) -> io::Result<(Self::Conn, SocketAddr)> {
        loop {
            tokio::select! {
                accepted = self.inner.accept() => {
                    let (conn, peer) = accepted?;
                    let state = self.handle.current();
                    self.pending.spawn(async move {
                        let (rd, wr) = conn.split();
                        match accept(Joined::new(Vec::new(), rd, wr), &state, &state.pins).await {
                            Ok(tls) => Some((tls, peer)),
                            Err(e) => {
                                error!("{peer} - TLS handshake error: {e}");
                                None
                            }
                        }
                    });
                }
                Some(done) = self.pending.join_next(), if !self.pending.is_empty() => {
                    if let Ok(Some(accepted)) = done {
                        return Ok(accepted);
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// Dials, then handshakes as a TLS client verifying the dialled host.
pub struct TlsDialer<D> {
    inner: D,
    handle: Arc<TlsHandle>,
}

impl<D: Dialer> TlsDialer<D> {
    /// Wrap `inner`; each handshake uses `handle`'s configuration at dial time.
    pub fn new(inner: D, handle: Arc<TlsHandle>) -> Self {
        Self { inner, handle }
    }
}

impl<D: Dialer> Dialer for TlsDialer<D> {
    type Conn = TlsConn<D::Conn>;

    async fn dial(&self, host: &str, port: u16) -> io::Result<(Self::Conn, Option<SocketAddr>)> {
        let (conn, peer) = self.inner.dial(host, port).await?;
        let state = self.handle.current();
        let (rd, wr) = conn.split();
        let tls = connect(Joined::new(Vec::new(), rd, wr), host, &state, &state.pins)
            .await
            .map_err(io::Error::other)?;
        Ok((tls, peer))
    }
}
