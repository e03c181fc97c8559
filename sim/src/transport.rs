//! The `strait-net` transport seam over turmoil's simulated TCP.
//!
//! The server under simulation is the production `strait_net::server::run`; only the listener
//! and the connections it hands out are simulated.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// Dials outbound gateway and route connections over turmoil TCP (host names resolve through
/// turmoil's DNS, so a gateway or route URL names a simulated host).
///
/// It counts dials the server abandoned before they completed (its dial timeout, e.g. to a
/// crashed host) or that failed: turmoil registers the dialling socket when the SYN leaves and ties it to a
/// `TcpStream` only once the SYN-ACK is polled, so an abandoned dial can stay counted among
/// the host's established streams for good, which a real kernel would have freed (seed 287
/// of the route suite: c0-s2's dials to the crashed c0-s1 timed out and the auditor counted
/// them as connections c0-s2 kept).
#[derive(Clone, Debug, Default)]
pub struct SimDialer {
    abandoned: Arc<AtomicUsize>,
}

impl SimDialer {
    /// Dials abandoned so far (see the type's docs).
    pub fn abandoned(&self) -> Arc<AtomicUsize> {
        self.abandoned.clone()
    }
}

/// Counts its dial as abandoned unless defused.
struct DialGuard(Option<Arc<AtomicUsize>>);

impl Drop for DialGuard {
    fn drop(&mut self) {
        if let Some(n) = self.0.take() {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Dialer for SimDialer {
    type Conn = SimConn;

    async fn dial(&self, host: &str, port: u16) -> io::Result<(Self::Conn, Option<SocketAddr>)> {
        let mut guard = DialGuard(Some(self.abandoned.clone()));
        let result = TcpStream::connect((host, port)).await;
        // A dial that failed after its SYN left can stay counted too (seed 305227 of the route
        // suite: c0-s1 dialled c0-s3 while it was down; the dial failed when it came back, and
        // the socket stayed among c0-s1's established streams): the guard counts it.
        if result.is_ok() {
            guard.0 = None;
        }
        let stream = result?;
        let peer = stream.peer_addr().ok();
        Ok((SimConn(stream), peer))
    }
}
