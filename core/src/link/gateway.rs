//! The per-connection state of a gateway link, inbound (a remote server dialled us) or
//! outbound (we dialled it). Messages travel only on outbound links; an inbound link carries
//! our interest back to the dialler (`shared/docs/gateway-protocol.md` §1).

use std::net::SocketAddr;
use std::time::Instant;

use crate::error::CloseReason;
use crate::gateway::interest::{InboundInterest, OutboundInterest};
use crate::link::{Counters, Outbox};
use crate::proto::gateway::GatewayParser;

/// Which side dialled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The remote dialled us: we receive messages and send interest.
    Inbound,
    /// We dialled the remote: we send messages and receive interest.
    Outbound,
}

/// Handshake state of a gateway link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayState {
    /// Outbound: waiting for the acceptor's INFO (we send nothing before it).
    ExpectInfo,
    /// Inbound: our INFO is sent; the first op must be CONNECT.
    ExpectConnect,
    /// Inbound: CONNECT accepted; the peer's first INFO names its gateway.
    ExpectFirstInfo,
    /// Registered.
    Established,
    /// Closing: no more input; what is queued is flushed, then the driver closes.
    Closing,
}

/// The timers of a gateway link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayTimer {
    /// Inbound: deadline for CONNECT.
    Auth = 0,
    /// Keep-alive tick: a PING on every tick, stale after `ping_max` unanswered.
    Ping = 1,
    /// Outbound: deadline for the acceptor's INFO.
    Info = 2,
}

impl From<GatewayTimer> for usize {
    fn from(t: GatewayTimer) -> usize {
        t as usize
    }
}

/// Fixed table of [`GatewayTimer`] deadlines.
pub type GatewayTimers = super::Timers<GatewayTimer, 3>;

/// A gateway connection.
#[derive(Debug)]
pub struct GatewayLink {
    /// Connection id (shared numbering with clients).
    pub cid: u64,
    /// Which side dialled.
    pub direction: Direction,
    /// Handshake state.
    pub state: GatewayState,
    /// Incremental parser.
    pub parser: GatewayParser,
    /// The remote gateway's name: the one dialled (outbound) or the one its first INFO gave
    /// (inbound).
    pub remote: String,
    /// The remote server's id (from its INFO).
    pub remote_id: String,
    /// The remote server's name (from its INFO; may be empty).
    pub remote_server_name: String,
    /// Peer address, when known.
    pub peer: Option<SocketAddr>,
    /// When the connection was made.
    pub started: Instant,
    /// Last time anything arrived.
    pub last_activity: Instant,
    /// Outbound queue.
    pub outbox: Outbox,
    /// Timer deadlines.
    pub timers: GatewayTimers,
    /// PINGs in flight and the round-trip time.
    pub keepalive: super::PeerKeepAlive,
    /// Outbound: the peer announced `gateway_iom` (accounts it said nothing about have no
    /// interest).
    pub peer_iom: bool,
    /// Outbound: the peer supports headers (else headers are stripped).
    pub peer_headers: bool,
    /// Inbound: the peer's CONNECT asked for `+OK` after each message.
    pub peer_verbose: bool,
    /// Outbound: interest the peer announced.
    pub outbound_interest: OutboundInterest,
    /// Inbound: what we told the peer.
    pub inbound_interest: InboundInterest,
    /// Why the link is closing, once it is.
    pub close_reason: Option<CloseReason>,
    /// A `Transmit` event is queued and not yet polled.
    pub transmit_queued: bool,
    /// Traffic counters.
    pub counters: Counters,
    /// Outbound: the URL that was dialled (its credentials go into CONNECT).
    pub dialled: Option<crate::gateway::GatewayUrl>,
    /// Inbound over TLS: who the peer's verified certificate says it is.
    pub tls_peer: Option<crate::node::TlsPeer>,
    /// The handshake completed once (the link counted as registered, even while closing).
    pub was_registered: bool,
}

impl GatewayLink {
    /// Whether the link takes no more input.
    pub fn is_closing(&self) -> bool {
        self.state == GatewayState::Closing
    }

    /// Whether the handshake is complete.
    pub fn is_established(&self) -> bool {
        self.state == GatewayState::Established
    }
}
