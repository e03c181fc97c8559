//! The transport seam: listeners and connections as the server sees them. Tokio TCP
//! implements it here; the simulation implements it over turmoil, and TLS wraps either.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite};

/// A connected byte stream that can be split into independently driven halves.
pub trait Connection: Send + 'static {
    /// Read half.
    type Read: AsyncRead + Send + Unpin + 'static;
    /// Write half.
    type Write: AsyncWrite + Send + Unpin + 'static;
    /// Split into read and write halves.
    fn split(self) -> (Self::Read, Self::Write);
}

/// Something that accepts connections.
pub trait Listener: Send + 'static {
    /// The accepted connection type.
    type Conn: Connection;
    /// Wait for the next connection.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Conn, SocketAddr)>> + Send;
    /// The bound address.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

impl Connection for tokio::net::TcpStream {
    type Read = tokio::net::tcp::OwnedReadHalf;
    type Write = tokio::net::tcp::OwnedWriteHalf;

    fn split(self) -> (Self::Read, Self::Write) {
        self.into_split()
    }
}

impl Listener for tokio::net::TcpListener {
    type Conn = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<(Self::Conn, SocketAddr)> {
        let (stream, peer) = tokio::net::TcpListener::accept(self).await?;
        // Frames are batched per write already; Nagle would only add latency.
        stream.set_nodelay(true)?;
        Ok((stream, peer))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        tokio::net::TcpListener::local_addr(self)
    }
}

/// Something that dials connections (outbound gateways).
pub trait Dialer: Send + Sync + 'static {
    /// The dialled connection type.
    type Conn: Connection;
    /// Connect to `host:port`; the peer address is returned when known.
    fn dial(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = io::Result<(Self::Conn, Option<SocketAddr>)>> + Send;
}

/// Dials with tokio TCP.
#[derive(Clone, Copy, Debug, Default)]
pub struct TcpDialer;

impl Dialer for TcpDialer {
    type Conn = tokio::net::TcpStream;

    async fn dial(&self, host: &str, port: u16) -> io::Result<(Self::Conn, Option<SocketAddr>)> {
        let stream = tokio::net::TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        let peer = stream.peer_addr().ok();
        Ok((stream, peer))
    }
}
