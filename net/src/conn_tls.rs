//! The TLS steps of a connection before it is served, in nats-server's order: clients get
//! the plaintext INFO and then handshake (or handshake first with `handshake_first`);
//! gateways and routes handshake before anything is written, both ways. A failed handshake
//! is logged and closed by the core, which re-dials an outbound gateway or route as after any
//! close.

use std::sync::Arc;

use bytes::BytesMut;
use strait_conf::options::HandshakeFirst;
use strait_core::node::{LinkId, LogLevel, OutboxStatus, TlsPeer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::error;

use crate::conn::LinkKind;
use crate::server::Shared;
use crate::tls::{self, HandshakeError, Joined, Replayed, TlsConn, TlsState};
use crate::tls_setup::ROUTES;
use crate::transport::Connection;

/// What an accepted connection continues as.
pub(crate) enum Accepted<C: Connection> {
    /// TLS was negotiated (boxed: the TLS session is large).
    Tls(Box<TlsConn<C>>),
    /// `allow_non_tls`: the client spoke plaintext (its first bytes are replayed).
    Plain(Replayed<C>),
}

/// Server side of an accepted connection's handshake; `Err` means the link was closed.
pub(crate) async fn accept<C: Connection>(
    shared: &Shared,
    conn: C,
    id: LinkId,
    kind: LinkKind,
    state: &TlsState,
) -> Result<Accepted<C>, ()> {
    let (mut rd, mut wr) = conn.split();
    let mut prefix = Vec::new();
    let pins = match kind {
        LinkKind::Client => state.pins.clone(),
        LinkKind::Route => shared.tls.route_pins(),
        LinkKind::Gateway => shared.tls.gateway_pins(),
    };
    if kind == LinkKind::Client {
        let info_first = match state.handshake_first {
            HandshakeFirst::Off => true,
            HandshakeFirst::On => false,
            // Wait a little for a TLS-first client; a silent one gets the INFO first.
            HandshakeFirst::Fallback(delay) => {
                let mut byte = [0u8; 1];
                match tokio::time::timeout(delay, rd.read(&mut byte)).await {
                    Ok(Ok(n)) if n > 0 => {
                        prefix.push(byte[0]);
                        false
                    }
                    Ok(_) => return fail(shared, id, kind, HandshakeError::Eof),
                    Err(_) => true,
                }
            }
        };
        if info_first {
            match send_info(shared, id, &mut wr).await {
                Ok(OutboxStatus::Open) => {}
                // Closed at accept (e.g. `maximum connections exceeded`, sent after the INFO
                // as nats-server does): no handshake.
                Ok(_) => {
                    let _ = wr.shutdown().await;
                    shared.lock().unregister(id);
                    return Err(());
                }
                Err(_) => return fail(shared, id, kind, HandshakeError::Eof),
            }
        }
        // `allow_non_tls`: the first byte says whether the client starts TLS; silence or EOF
        // within the TLS timeout means plaintext, as in nats-server.
        if info_first && shared.tls.allow_non_tls {
            let mut byte = [0u8; 1];
            match tokio::time::timeout(state.timeout, rd.read(&mut byte)).await {
                Ok(Ok(n)) if n > 0 && byte[0] == tls::HANDSHAKE_RECORD => prefix.push(byte[0]),
                Ok(Ok(n)) if n > 0 => {
                    return Ok(Accepted::Plain(Replayed::new(vec![byte[0]], rd, wr)));
                }
                _ => return Ok(Accepted::Plain(Replayed::new(Vec::new(), rd, wr))),
            }
        }
    }
    if kind == LinkKind::Client {
        let text = "Starting TLS client connection handshake";
        let mut state = shared.lock();
        state.node.log_client(id, LogLevel::Debug, text);
        state.dispatch();
    }
    match tls::accept(Joined::new(prefix, rd, wr), state, &pins).await {
        Ok(conn) => {
            identify(shared, id, kind, &conn);
            if kind == LinkKind::Client {
                let (version, suite) = conn.negotiated();
                let text = format!("TLS version {version}, cipher suite {suite}");
                let mut state = shared.lock();
                state.node.log_client(id, LogLevel::Debug, "TLS handshake complete");
                state.node.log_client(id, LogLevel::Debug, &text);
                state.dispatch();
            }
            Ok(Accepted::Tls(Box::new(conn)))
        }
        Err(e) => fail(shared, id, kind, e),
    }
}

/// The TLS configuration of a dial the core asked for (`remote`: the gateway's name), if TLS.
pub(crate) fn for_dial(shared: &Shared, kind: LinkKind, remote: &str) -> Option<Arc<TlsState>> {
    match kind {
        LinkKind::Route => shared.tls.route.as_ref().map(|h| h.current()),
        _ => shared.tls.for_remote(remote),
    }
}

/// Client side of a dialled gateway's (`remote`) or route's handshake with `url_host`,
/// verifying the server name nats-server would (`tlsName` when dialling an IP address).
pub(crate) async fn connect<C: Connection>(
    shared: &Shared,
    conn: C,
    id: LinkId,
    (kind, remote): (LinkKind, &str),
    url_host: &str,
    state: &TlsState,
) -> Result<TlsConn<C>, ()> {
    let (rd, wr) = conn.split();
    let (key, pins) = match kind {
        LinkKind::Route => (ROUTES, shared.tls.route_pins()),
        _ => (remote, shared.tls.gateway_pins()),
    };
    let host = shared.tls.server_name(key, url_host);
    match tls::connect(Joined::new(Vec::new(), rd, wr), &host, state, &pins).await {
        Ok(conn) => Ok(conn),
        Err(e @ HandshakeError::WrongName(_)) => {
            shared.tls.name_failed(key, &host);
            fail(shared, id, kind, e)
        }
        Err(e) => fail(shared, id, kind, e),
    }
}

/// Write what the core queued at accept (the INFO) in plaintext, before the handshake.
async fn send_info<W: tokio::io::AsyncWrite + Unpin>(
    shared: &Shared,
    id: LinkId,
    wr: &mut W,
) -> std::io::Result<OutboxStatus> {
    let mut buf = BytesMut::new();
    let status = shared.lock().node.take_outbox(id, &mut buf);
    if status == OutboxStatus::Gone {
        return Err(std::io::ErrorKind::NotConnected.into());
    }
    wr.write_all(&buf).await?;
    wr.flush().await?;
    Ok(status)
}

/// Hand the verified peer's names to the core (`verify_and_map` of gateways and routes, and
/// of clients when the client TLS block maps users).
fn identify<C: Connection>(shared: &Shared, id: LinkId, kind: LinkKind, conn: &TlsConn<C>) {
    if let Some(p) = conn.peer() {
        let mut state = shared.lock();
        if kind != LinkKind::Client || state.node.config().tls_map {
            let peer = TlsPeer { names: p.names.clone(), dns_names: p.dns_names.clone() };
            state.node.set_tls_peer(id, peer);
        }
    }
}

fn fail<T>(shared: &Shared, id: LinkId, kind: LinkKind, e: HandshakeError) -> Result<T, ()> {
    let mut state = shared.lock();
    if e == HandshakeError::Timeout {
        // nats-server: ERR for links, DBG for clients (probes are common there).
        match kind {
            LinkKind::Route | LinkKind::Gateway => error!("TLS handshake timeout"),
            LinkKind::Client => state.node.log_client(id, LogLevel::Debug, "TLS handshake timeout"),
        }
    }
    let probe = matches!(e, HandshakeError::Timeout | HandshakeError::NotTls);
    state.node.tls_failed(id, &e.to_string(), probe);
    state.dispatch();
    state.unregister(id);
    Err(())
}

/// The configuration a new connection of `kind` handshakes with, if TLS.
pub(crate) fn for_kind(shared: &Shared, kind: LinkKind) -> Option<Arc<TlsState>> {
    let handle = match kind {
        LinkKind::Client => &shared.tls.client,
        LinkKind::Route => &shared.tls.route,
        LinkKind::Gateway => &shared.tls.gateway,
    };
    handle.as_ref().map(|h| h.current())
}
