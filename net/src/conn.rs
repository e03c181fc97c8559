//! One connection: a reader that feeds the core and a writer that flushes the link's outbox,
//! run together in one task.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use strait_core::error::DriverClose;
use strait_core::node::{LinkId, LogLevel, OutboxStatus};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;
use tokio::time::error::Elapsed;

use crate::server::{ConnHandle, Shared};
use crate::transport::Connection;

/// Read buffer growth step; one read hands the core up to this much at once.
const READ_CHUNK: usize = 64 * 1024;
/// How long a link's writer stays idle before it gives back buffers a burst grew past
/// [`READ_CHUNK`]. While the link is busy its two buffers (the one being written and the
/// outbox filling meanwhile) keep their size: dropping and regrowing them on every write would
/// touch fresh pages each time, as the allocator returns freed large blocks
/// (`fix_mmap_threshold` in `src/bin/strait.rs`).
const IDLE_SHRINK: Duration = Duration::from_secs(1);
/// Bytes a reader whose socket stays full hands the core between two yields (see
/// `read_loop`): enough that the writers it feeds write in large pieces, little enough that
/// they run while it reads on.
const YIELD_AFTER: usize = 256 * 1024;

/// What kind of link a connection carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkKind {
    /// A NATS client.
    Client,
    /// A route to a server of our cluster.
    Route,
    /// A gateway.
    Gateway,
}

/// Serve one accepted connection until it closes.
pub(crate) async fn accept<C: Connection>(
    shared: Arc<Shared>,
    conn: C,
    peer: SocketAddr,
    kind: LinkKind,
) {
    let id = {
        let mut state = shared.lock();
        let now = Instant::now().into_std();
        match kind {
            LinkKind::Client => state.node.accept_client(now, Some(peer)),
            LinkKind::Route => state.node.accept_route(now, Some(peer)),
            LinkKind::Gateway => state.node.accept_gateway(now, Some(peer)),
        }
    };
    match crate::conn_tls::for_kind(&shared, kind) {
        None => serve(shared, conn, id, kind, None).await,
        Some(state) => {
            use crate::conn_tls::Accepted;
            match crate::conn_tls::accept(&shared, conn, id, kind, &state).await {
                Ok(Accepted::Tls(tls)) => {
                    let key = tls.peer().map(|p| p.spki_sha256.clone());
                    serve(shared, *tls, id, kind, key).await;
                }
                Ok(Accepted::Plain(plain)) => serve(shared, plain, id, kind, None).await,
                Err(()) => {}
            }
        }
    }
}

/// Pump bytes between `conn` and link `id` until it closes; `peer_key` is the TLS peer's.
pub(crate) async fn serve<C: Connection>(
    shared: Arc<Shared>,
    conn: C,
    id: LinkId,
    kind: LinkKind,
    peer_key: Option<String>,
) {
    let handle = Arc::new(ConnHandle::new(kind, peer_key));
    {
        let mut state = shared.lock();
        state.register(id, handle.clone());
        state.dispatch();
    }
    // Wake-ups dispatched before the handle existed (the INFO queued at accept, a close) went
    // nowhere: let the writer look at the outbox once regardless.
    handle.writer.notify_one();
    let (rd, wr) = conn.split();
    let driver = shared.driver();
    let deadline = driver.write_deadline;
    let policy = match kind {
        LinkKind::Client => WritePolicy::Close(deadline),
        LinkKind::Route if driver.route_write_close => {
            WritePolicy::Close(driver.route_write_deadline)
        }
        LinkKind::Route => WritePolicy::Retry(driver.route_write_deadline),
        LinkKind::Gateway => WritePolicy::Retry(deadline),
    };
    let reader = read_loop(&shared, id, &handle, rd);
    let writer = write_loop(&shared, id, &handle, wr, policy);
    tokio::pin!(reader);
    tokio::pin!(writer);
    // The reader ending (EOF, error, or the link closing) lets the writer flush what is
    // queued, as nats-server does for a peer that half-closed; the writer ending (write error,
    // flushed after close) ends the reader.
    tokio::select! {
        biased;
        () = &mut writer => {}
        why = &mut reader => {
            {
                let mut state = shared.lock();
                state.node.close_link(id, why);
                state.dispatch();
            }
            // Bounded: a peer that stopped reading (or a partition) must not keep a closed
            // link, and for an outbound gateway its re-dial, waiting forever.
            let _ = tokio::time::timeout(shared.driver().write_deadline, writer).await;
        }
    }
    shared.lock().unregister(id);
}

/// Feed the link until it closes; the result says why reading stopped (an EOF or a failed
/// read, in nats-server's words `Client Closed` or `Read Error`).
async fn read_loop<R: AsyncRead + Unpin>(
    shared: &Shared,
    id: LinkId,
    handle: &ConnHandle,
    mut rd: R,
) -> DriverClose {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut deadline = shared.lock().node.poll_timeout(id);
    // One timer for the connection's life, moved only when the deadline moves: re-arming a
    // fresh sleep on every read would cost a timer-wheel insert per batch.
    let timer = tokio::time::sleep_until(timer_target(deadline));
    tokio::pin!(timer);
    let mut since_yield = 0usize;
    loop {
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        let room = buf.capacity() - buf.len();
        let more_waiting: bool;
        let before = deadline;
        tokio::select! {
            biased;
            () = handle.reader.notified() => return DriverClose::PeerClosed,
            read = rd.read_buf(&mut buf) => {
                match read {
                    Ok(0) => return DriverClose::PeerClosed,
                    // A TLS peer that closes without close_notify: Go reads that as EOF too.
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        return DriverClose::PeerClosed;
                    }
                    Err(_) => return DriverClose::ReadError,
                    Ok(n) => {
                        more_waiting = n == room;
                        since_yield += n;
                    }
                }
                let (mut check, mut open);
                {
                    let mut state = shared.lock();
                    state.node.handle_read(id, Instant::now().into_std(), &mut buf);
                    check = state.node.take_password_check(id);
                    deadline = state.node.poll_timeout(id);
                    open = state.node.is_open(id);
                    state.dispatch();
                }
                // A bcrypt comparison runs on a blocking thread, never under the node lock;
                // what the client sent meanwhile waits in `buf`.
                while let Some(c) = check.take() {
                    let ok = tokio::task::spawn_blocking(move || c.verify()).await.unwrap_or(false);
                    let mut state = shared.lock();
                    let now = Instant::now().into_std();
                    state.node.handle_password_checked(id, now, ok);
                    state.node.handle_read(id, now, &mut buf);
                    check = state.node.take_password_check(id);
                    deadline = state.node.poll_timeout(id);
                    open = state.node.is_open(id);
                    state.dispatch();
                }
                if !open {
                    return DriverClose::PeerClosed;
                }
            }
            () = &mut timer => {
                let mut state = shared.lock();
                state.node.handle_timeout(id, Instant::now().into_std());
                deadline = state.node.poll_timeout(id);
                let open = state.node.is_open(id);
                state.dispatch();
                if !open {
                    return DriverClose::PeerClosed;
                }
                // The deadline may be unchanged (e.g. a ping skipped): re-arm all the same.
                timer.as_mut().reset(timer_target(deadline));
                continue;
            }
        }
        if deadline != before {
            timer.as_mut().reset(timer_target(deadline));
        }
        if !more_waiting {
            since_yield = 0;
        } else if since_yield >= YIELD_AFTER {
            // Reads that fill the buffer leave more waiting on the socket. Reading on and on
            // would keep the writers these reads woke (other links' tasks, parked in this
            // worker's LIFO slot where no other worker may take them) waiting until the
            // socket runs dry or the task's budget is spent: the whole backlog would move as
            // one wave, each server of a path busy in turn instead of together.
            since_yield = 0;
            tokio::task::yield_now().await;
        }
    }
}

/// Where the connection timer points: the link's deadline, or far away without one.
fn timer_target(deadline: Option<std::time::Instant>) -> Instant {
    deadline.map(Instant::from_std).unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400))
}

/// Sleep until `at`, or forever without a deadline.
pub(crate) async fn sleep(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    shared: &Shared,
    id: LinkId,
    handle: &ConnHandle,
    mut wr: W,
    policy: WritePolicy,
) {
    let mut spare = BytesMut::with_capacity(READ_CHUNK);
    loop {
        if spare.capacity() <= READ_CHUNK {
            handle.writer.notified().await;
        } else if tokio::time::timeout(IDLE_SHRINK, handle.writer.notified()).await.is_err() {
            // Idle after a burst: trade both buffers for fresh small ones (the outbox's in the
            // exchange). Whatever was queued meanwhile comes back in `spare` and is written
            // below; a buffer that comes back empty is dropped.
            spare = BytesMut::with_capacity(READ_CHUNK);
            let status = shared.lock().node.take_outbox(id, &mut spare);
            if spare.is_empty() && status == OutboxStatus::Open {
                spare = BytesMut::with_capacity(READ_CHUNK);
                continue;
            }
        }
        loop {
            // `spare` holds bytes only when the idle exchange above brought them.
            let status = if spare.is_empty() {
                shared.lock().node.take_outbox(id, &mut spare)
            } else {
                OutboxStatus::Open
            };
            if status == OutboxStatus::Gone {
                return;
            }
            if spare.is_empty() {
                if status == OutboxStatus::Closing {
                    let _ = wr.shutdown().await;
                    return;
                }
                break;
            }
            let written = match policy {
                WritePolicy::Close(d) => {
                    tokio::time::timeout(d, write_flushed(&mut wr, &spare)).await
                }
                WritePolicy::Retry(d) => write_progressing(&mut wr, &spare, d).await,
            };
            match written {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    let mut state = shared.lock();
                    if handle.kind == LinkKind::Client {
                        // nats-server reports a client's failed flush at debug level.
                        let text = format!("Error flushing: {e}");
                        state.node.log_client(id, LogLevel::Debug, &text);
                    }
                    state.node.close_link(id, DriverClose::WriteError);
                    state.dispatch();
                    return;
                }
                Err(_) => {
                    let mut state = shared.lock();
                    if let (LinkKind::Client, WritePolicy::Close(d)) = (handle.kind, policy) {
                        // One buffer per write here, where nats-server counts its chunks.
                        let text = format!(
                            "Slow Consumer Detected: WriteDeadline of {} exceeded with 1 chunks of {} total bytes.",
                            go_duration(d),
                            spare.len()
                        );
                        state.node.log_client(id, LogLevel::Info, &text);
                    }
                    state.node.close_link(id, DriverClose::WriteDeadline);
                    state.dispatch();
                    return;
                }
            }
            spare.clear();
        }
    }
}

/// What a write deadline means for a link (nats-server's `write_timeout` policies).
#[derive(Clone, Copy, Debug)]
enum WritePolicy {
    /// The whole write must finish in time (clients).
    Close(Duration),
    /// Every write must make some progress in time; a slow but moving peer is kept (gateways:
    /// nats-server closes them only when a flush wrote nothing within the deadline).
    Retry(Duration),
}

/// Write `buf` whole and flush. The flush matters under TLS: a write the socket could not
/// take whole stays in the TLS session's buffer until flushed (a no-op for TCP).
async fn write_flushed<W: AsyncWrite + Unpin>(wr: &mut W, buf: &[u8]) -> io::Result<()> {
    wr.write_all(buf).await?;
    wr.flush().await
}

/// [`write_flushed`], giving up only when no byte goes out for `deadline`.
async fn write_progressing<W: AsyncWrite + Unpin>(
    wr: &mut W,
    mut buf: &[u8],
    deadline: Duration,
) -> Result<io::Result<()>, Elapsed> {
    while !buf.is_empty() {
        match tokio::time::timeout(deadline, wr.write(buf)).await? {
            Ok(0) => return Ok(Err(io::ErrorKind::WriteZero.into())),
            Ok(n) => buf = &buf[n..],
            Err(e) => return Ok(Err(e)),
        }
    }
    tokio::time::timeout(deadline, wr.flush()).await
}

/// Go's `Duration.String()` (`10s`, `1.5s`, `500ms`, `2m0s`), as nats-server prints deadlines.
fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    // Below a second: the largest unit that keeps an integer part, with a trimmed fraction.
    let fraction = |value: u128, unit: u128, suffix: &str| {
        let (whole, rest) = (value / unit, value % unit);
        let digits = unit.ilog10() as usize;
        let mut text = format!("{whole}");
        if rest > 0 {
            let frac = format!("{rest:0digits$}");
            text.push('.');
            text.push_str(frac.trim_end_matches('0'));
        }
        text + suffix
    };
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return fraction(nanos, 1_000, "µs");
    }
    if nanos < 1_000_000_000 {
        return fraction(nanos, 1_000_000, "ms");
    }
    let secs = d.as_secs();
    let (h, m) = (secs / 3600, secs / 60 % 60);
    let s = fraction(
        u128::from(secs % 60) * 1_000_000_000 + u128::from(d.subsec_nanos()),
        1_000_000_000,
        "s",
    );
    match (h, m) {
        (0, 0) => s,
        (0, m) => format!("{m}m{s}"),
        (h, m) => format!("{h}h{m}m{s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        let ms = Duration::from_millis;
        assert_eq!(go_duration(Duration::from_secs(10)), "10s");
        assert_eq!(go_duration(ms(1500)), "1.5s");
        assert_eq!(go_duration(ms(500)), "500ms");
        assert_eq!(go_duration(Duration::from_secs(120)), "2m0s");
        assert_eq!(go_duration(Duration::from_secs(3661)), "1h1m1s");
        assert_eq!(go_duration(Duration::from_micros(1500)), "1.5ms");
    }
}
