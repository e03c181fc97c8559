//! Binding TCP listeners as nats-server does: `SO_REUSEADDR`, and the system's accept-queue
//! limit (`net.core.somaxconn`) as the listen backlog.
//!
//! The backlog is how many finished handshakes the kernel holds for a listener before it drops
//! new SYNs. With a short queue (std's and tokio's 128), a fleet of clients reconnecting at once
//! overflows it and every dropped connect waits a SYN retransmission (about a second) before
//! trying again; with the system's limit the burst waits in the queue instead.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// Where Linux publishes the largest backlog it grants a listener.
const SOMAXCONN_PATH: &str = "/proc/sys/net/core/somaxconn";
/// The backlog when the system does not say (Go's `syscall.SOMAXCONN` on Linux).
const DEFAULT_BACKLOG: u32 = 4096;
/// Kernels before 4.1 keep the backlog in 16 bits: a larger value would wrap.
const MAX_BACKLOG: u32 = 65_535;

/// Binds a listener on `host:port` (port 0: any free port) with the system's backlog and
/// `SO_REUSEADDR`, so a restarted server can bind its port while old connections linger in
/// `TIME_WAIT`.
///
/// `host` may be a name; its addresses are tried in order and the first that binds wins, the
/// last error is returned if none does.
pub async fn bind_tcp(host: &str, port: u16) -> io::Result<TcpListener> {
    let backlog = listen_backlog();
    let mut last_error = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        match bind_addr(addr, backlog) {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "could not resolve to any address")
    }))
}

fn bind_addr(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// The backlog [`bind_tcp`] asks for: the system's `somaxconn`, read as Go reads it, at most
/// 65535, or 4096 where the system does not say.
pub fn listen_backlog() -> u32 {
    backlog_from(std::fs::read_to_string(SOMAXCONN_PATH).ok().as_deref())
}

/// The backlog for the contents of the `somaxconn` file (`None`: unreadable).
fn backlog_from(somaxconn: Option<&str>) -> u32 {
    somaxconn
        .and_then(|text| text.split_whitespace().next())
        .and_then(|field| field.parse::<u64>().ok())
        .filter(|&n| n > 0)
        .map_or(DEFAULT_BACKLOG, |n| {
            u32::try_from(n.min(u64::from(MAX_BACKLOG))).unwrap_or(MAX_BACKLOG)
        })
}

/// Raise the open-file soft limit to the hard limit, as the Go runtime does for nats-server at
/// start: with the usual soft limit of 1024 a server could not hold more connections than that.
/// Returns the limit now in force (`None` where it cannot be read).
pub fn raise_open_file_limit() -> Option<u64> {
    rlimit::increase_nofile_limit(u64::MAX).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_follows_somaxconn_within_bounds() {
        assert_eq!(backlog_from(Some("4096\n")), 4096);
        assert_eq!(backlog_from(Some("128")), 128);
        assert_eq!(backlog_from(Some("1000000\n")), 65_535);
        assert_eq!(backlog_from(Some("0\n")), DEFAULT_BACKLOG);
        assert_eq!(backlog_from(Some("garbage")), DEFAULT_BACKLOG);
        assert_eq!(backlog_from(Some("")), DEFAULT_BACKLOG);
        assert_eq!(backlog_from(None), DEFAULT_BACKLOG);
    }

    #[tokio::test]
    async fn binds_a_free_port_that_accepts() {
        let listener = bind_tcp("127.0.0.1", 0).await.expect("bind loopback");
        let addr = listener.local_addr().expect("local_addr");
        assert_ne!(addr.port(), 0);
        let (connected, accepted) =
            tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
        connected.expect("connect");
        accepted.expect("accept");
    }

    #[tokio::test]
    async fn a_port_in_use_is_an_error() {
        let first = bind_tcp("127.0.0.1", 0).await.expect("bind loopback");
        let port = first.local_addr().expect("local_addr").port();
        let second = bind_tcp("127.0.0.1", port).await;
        assert_eq!(second.err().map(|e| e.kind()), Some(io::ErrorKind::AddrInUse));
    }
}
