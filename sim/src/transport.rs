//! The `strait-net` transport seam over turmoil's simulated TCP.
//!
//! The server under simulation is the production `strait_net::server::run`; only the listener
//! and the connections it hands out are simulated.

use std::io;
use std::net::SocketAddr;

use strait_net::transport::{Connection, Dialer, Listener};
use turmoil::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use turmoil::net::{TcpListener, TcpStream};

/// A turmoil TCP listener serving the `strait-net` accept loop.
pub struct SimListener(TcpListener);

impl std::fmt::Debug for SimListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SimListener").field(&self.0.local_addr().ok()).finish()
    }
}

impl SimListener {
    /// Bind `0.0.0.0:port` on the current simulated host.
    pub async fn bind(port: u16) -> io::Result<Self> {
        Ok(Self(TcpListener::bind(("0.0.0.0", port)).await?))
    }
}

impl Listener for SimListener {
    type Conn = SimConn;

    async fn accept(&mut self) -> io::Result<(Self::Conn, SocketAddr)> {
        let (stream, peer) = self.0.accept().await?;
        Ok((SimConn(stream), peer))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// One simulated TCP connection.
#[derive(Debug)]
pub struct SimConn(pub TcpStream);

impl Connection for SimConn {
    type Read = OwnedReadHalf;
    type Write = OwnedWriteHalf;

    fn split(self) -> (Self::Read, Self::Write) {
        self.0.into_split()
    }
}

/// Dials outbound gateway connections over turmoil TCP (host names resolve through turmoil's
/// DNS, so a gateway URL names a simulated host).
#[derive(Clone, Copy, Debug, Default)]
pub struct SimDialer;

impl Dialer for SimDialer {
    type Conn = SimConn;

    async fn dial(&self, host: &str, port: u16) -> io::Result<(Self::Conn, Option<SocketAddr>)> {
        let stream = TcpStream::connect((host, port)).await?;
        let peer = stream.peer_addr().ok();
        Ok((SimConn(stream), peer))
    }
}
