//! One connection: a reader that feeds the core and a writer that flushes the link's outbox,
//! run together in one task.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use strait_core::error::DriverClose;
use strait_core::node::{LinkId, OutboxStatus};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::server::{ConnHandle, Shared};
use crate::transport::Connection;

/// Read buffer growth step; one read hands the core up to this much at once.
const READ_CHUNK: usize = 64 * 1024;
/// A writer buffer that grew past this is dropped after use so a burst does not pin memory.
const MAX_IDLE_WRITE_BUF: usize = 1024 * 1024;

/// What kind of link a connection carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkKind {
    /// A NATS client.
    Client,
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
    // Clients that stop reading are closed at the write deadline; gateways keep trying, as
    // nats-server's default `retry` policy does.
    let deadline = (kind == LinkKind::Client).then_some(shared.driver().write_deadline);
    let reader = read_loop(&shared, id, &handle, rd);
    let writer = write_loop(&shared, id, &handle, wr, deadline);
    tokio::pin!(reader);
    tokio::pin!(writer);
    // The reader ending (EOF, error, or the link closing) lets the writer flush what is
    // queued, as nats-server does for a peer that half-closed; the writer ending (write error,
    // flushed after close) ends the reader.
    tokio::select! {
        biased;
        () = &mut writer => {}
        () = &mut reader => {
            {
                let mut state = shared.lock();
                state.node.close_link(id, DriverClose::PeerClosed);
                state.dispatch();
            }
            // Bounded: a peer that stopped reading (or a partition) must not keep a closed
            // link, and for an outbound gateway its re-dial, waiting forever.
            let _ = tokio::time::timeout(shared.driver().write_deadline, writer).await;
        }
    }
    shared.lock().unregister(id);
}

async fn read_loop<R: AsyncRead + Unpin>(
    shared: &Shared,
    id: LinkId,
    handle: &ConnHandle,
    mut rd: R,
) {
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut deadline = shared.lock().node.poll_timeout(id);
    // One timer for the connection's life, moved only when the deadline moves: re-arming a
    // fresh sleep on every read would cost a timer-wheel insert per batch.
    let timer = tokio::time::sleep_until(timer_target(deadline));
    tokio::pin!(timer);
    loop {
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        let before = deadline;
        tokio::select! {
            biased;
            () = handle.reader.notified() => return,
            read = rd.read_buf(&mut buf) => {
                match read {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let mut state = shared.lock();
                state.node.handle_read(id, Instant::now().into_std(), &mut buf);
                deadline = state.node.poll_timeout(id);
                let open = state.node.is_open(id);
                state.dispatch();
                if !open {
                    return;
                }
            }
            () = &mut timer => {
                let mut state = shared.lock();
                state.node.handle_timeout(id, Instant::now().into_std());
                deadline = state.node.poll_timeout(id);
                let open = state.node.is_open(id);
                state.dispatch();
                if !open {
                    return;
                }
                // The deadline may be unchanged (e.g. a ping skipped): re-arm all the same.
                timer.as_mut().reset(timer_target(deadline));
                continue;
            }
        }
        if deadline != before {
            timer.as_mut().reset(timer_target(deadline));
        }
    }
}

/// Where the connection timer points: the link's deadline, or far away without one.
fn timer_target(deadline: Option<std::time::Instant>) -> Instant {
    deadline
        .map(Instant::from_std)
        .unwrap_or_else(|| Instant::now() + std::time::Duration::from_secs(86_400))
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
    write_deadline: Option<std::time::Duration>,
) {
    let mut spare = BytesMut::with_capacity(READ_CHUNK);
    loop {
        handle.writer.notified().await;
        loop {
            let status = shared.lock().node.take_outbox(id, &mut spare);
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
            // The flush matters under TLS: a write the socket could not take whole stays in
            // the TLS session's buffer until flushed (a no-op for TCP).
            let write = async {
                wr.write_all(&spare).await?;
                wr.flush().await
            };
            let written = match write_deadline {
                Some(d) => tokio::time::timeout(d, write).await,
                None => Ok(write.await),
            };
            match written {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return,
                Err(_) => {
                    let mut state = shared.lock();
                    state.node.close_link(id, DriverClose::WriteDeadline);
                    state.dispatch();
                    return;
                }
            }
            spare.clear();
            if spare.capacity() > MAX_IDLE_WRITE_BUF {
                spare = BytesMut::with_capacity(READ_CHUNK);
            }
        }
    }
}
