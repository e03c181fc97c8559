//! The per-connection state of a route: a link to another server of our cluster. Routes are
//! symmetric once registered (both sides send interest and messages); only the handshake
//! depends on who dialled (`shared/docs/route-protocol.md` §2).

use std::net::SocketAddr;
use std::time::Instant;

use crate::error::CloseReason;
use crate::hash::Map;
use crate::link::{Counters, Outbox, PeerKeepAlive, Timers};
use crate::node::SubKey;
use crate::peer_url::PeerUrl;
use crate::proto::route::RouteParser;
use crate::proto::route_json::RouteInfo;

/// Handshake state of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteState {
    /// Accepted: our INFO is sent; the first op must be CONNECT.
    ExpectConnect,
    /// Waiting for the peer's INFO (after its CONNECT, or after dialling and sending ours).
    ExpectInfo,
    /// Registered: interest and messages flow both ways.
    Established,
    /// Closing: no more input; what is queued is flushed, then the driver closes.
    Closing,
}

/// The timers of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteTimer {
    /// Accepted: deadline for CONNECT.
    Auth = 0,
    /// Keep-alive tick: a PING on every tick, stale after `ping_max` unanswered.
    Ping = 1,
    /// Dialled: deadline for the peer's INFO.
    Info = 2,
}

impl From<RouteTimer> for usize {
    fn from(t: RouteTimer) -> usize {
        t as usize
    }
}

/// A route connection.
#[derive(Debug)]
pub struct RouteLink {
    /// Connection id (`rid` in logs and monitoring; shared numbering with clients).
    pub cid: u64,
    /// We dialled it.
    pub solicited: bool,
    /// The URL dialled (its credentials go into CONNECT), for solicited routes.
    pub dialled: Option<PeerUrl>,
    /// The dialled URL is a configured route.
    pub explicit: bool,
    /// For a route dialled because of gossip, the `gossip_mode` that gossip carried.
    pub gossip_mode: u8,
    /// Handshake state.
    pub state: RouteState,
    /// Incremental parser.
    pub parser: RouteParser,
    /// Peer address, when known.
    pub peer: Option<SocketAddr>,
    /// When the connection was made.
    pub started: Instant,
    /// Last time anything arrived.
    pub last_activity: Instant,
    /// Outbound queue.
    pub outbox: Outbox,
    /// Timer deadlines.
    pub timers: Timers<RouteTimer, 3>,
    /// PINGs in flight and the round-trip time.
    pub keepalive: PeerKeepAlive,
    /// The peer's INFO once it arrived (identity, URLs, gossip).
    pub info: Option<Box<RouteInfo>>,
    /// The peer's CONNECT asked for `+OK` after each message.
    pub peer_verbose: bool,
    /// Interest the peer announced on this link, by its wire key (`account subject [queue]`).
    pub subs: Map<Box<[u8]>, SubKey>,
    /// Why the link is closing, once it is.
    pub close_reason: Option<CloseReason>,
    /// A `Transmit` event is queued and not yet polled.
    pub transmit_queued: bool,
    /// Traffic counters.
    pub counters: Counters,
    /// The handshake completed (the link counted as registered, even while closing).
    pub was_registered: bool,
    /// Which accounts it carries: asked for when dialled, settled at registration.
    pub slot: Option<crate::route::Slot>,
    /// Hash of the peer's server id (one message per server, whatever its connections).
    pub peer_key: u64,
    /// Who the peer's verified TLS certificate says it is (accepted TLS routes), for
    /// `verify_and_map` and `verify_cert_and_check_known_urls`.
    pub tls_peer: Option<crate::node::TlsPeer>,
}

impl RouteLink {
    /// Whether the link takes no more input.
    pub fn is_closing(&self) -> bool {
        self.state == RouteState::Closing
    }

    /// Whether the handshake is complete.
    pub fn is_established(&self) -> bool {
        self.state == RouteState::Established
    }

    /// The peer's server id (empty before its INFO).
    pub fn remote_id(&self) -> &str {
        self.info.as_deref().map_or("", |i| i.server_id.as_str())
    }

    /// The peer's server name (empty before its INFO).
    pub fn remote_name(&self) -> &str {
        self.info.as_deref().map_or("", |i| i.server_name.as_str())
    }

    /// Whether messages to the peer may carry headers.
    pub fn peer_headers(&self) -> bool {
        self.info.as_deref().is_some_and(|i| i.headers)
    }
}
