//! The per-connection state of a NATS client: handshake state, negotiated options, timers and
//! keep-alive. Routing decisions that involve other links live in [`crate::node`].

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::account::AccountId;
use crate::error::ClientError;
use crate::hash::Map;
use crate::link::Outbox;
use crate::proto::client::Parser;
use crate::proto::json::ConnectOptions;

/// Handshake state of a client link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientState {
    /// Waiting for CONNECT. With auth required only CONNECT is allowed; without auth a client
    /// may publish and subscribe straight away under the default options.
    ExpectConnect,
    /// CONNECT accepted.
    Established,
    /// An error closed the link: no more input is processed; what is queued is flushed (unless
    /// the error says otherwise) and the driver closes the connection.
    Closing,
}

/// The timers of a client link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientTimer {
    /// Deadline for CONNECT when authentication is required.
    Auth = 0,
    /// Next keep-alive check (send PING or declare the connection stale).
    Ping = 1,
}

impl From<ClientTimer> for usize {
    fn from(t: ClientTimer) -> usize {
        t as usize
    }
}

/// Fixed table of [`ClientTimer`] deadlines: no allocation per timer.
pub type TimerTable = super::Timers<ClientTimer, 2>;

/// Keep-alive bookkeeping (nats-server `processPingTimer`).
#[derive(Clone, Copy, Debug)]
pub struct KeepAlive {
    /// PINGs sent and not yet answered.
    pub outstanding: u32,
    /// Last inbound activity (messages, SUB/UNSUB, PING).
    pub last_activity: Instant,
    /// When the round-trip time was last measured; a PING is due when it is unknown or older
    /// than an hour even if the client is active.
    pub rtt_measured: Option<Instant>,
    /// When the last unanswered PING was sent (to measure the RTT when PONG comes).
    pub ping_sent: Option<Instant>,
}

/// A client connection.
#[derive(Debug)]
pub struct ClientLink {
    /// Connection id (`client_id` in INFO, `cid` in monitoring); starts at 1.
    pub cid: u64,
    /// The peer's address, when the transport knows it.
    pub peer: Option<std::net::SocketAddr>,
    /// When the connection was accepted.
    pub started: Instant,
    /// Last measured round-trip time.
    pub rtt: Option<Duration>,
    /// Traffic counters.
    pub counters: crate::link::Counters,
    /// Handshake state.
    pub state: ClientState,
    /// Incremental parser holding partial frames between reads.
    pub parser: Parser,
    /// Options from CONNECT, or nats-server's defaults before it.
    pub opts: ConnectOptions,
    /// Whether headers were negotiated (server support and CONNECT `headers`).
    pub headers: bool,
    /// Account the link is bound to.
    pub account: AccountId,
    /// Subscriptions by client sid.
    pub sids: Map<Box<[u8]>, crate::node::SubKey>,
    /// Outbound queue.
    pub outbox: Outbox,
    /// Timer deadlines.
    pub timers: TimerTable,
    /// Keep-alive state.
    pub keepalive: KeepAlive,
    /// The next PING answered is the first after CONNECT and, with protocol ≥ 1, is followed
    /// by an INFO carrying `connect_info`.
    pub connect_info_due: bool,
    /// Why the link is closing, once it is.
    pub close_reason: Option<ClientError>,
    /// What nats-server adds to the client's log prefix after its first CONNECT
    /// (`"v1.2:go:name" - "$G/user:a"`); see `node::client_log`.
    pub log_label: Option<Box<str>>,
    /// A `Transmit` event for this link is queued and not yet polled (at most one at a time).
    pub transmit_queued: bool,
    /// Replies this client received stripped of their `_GR_.` prefix: stripped → (full,
    /// when). Publishing to a stripped one within [`GATEWAY_REPLY_TTL`] sends the message back
    /// to the requester's cluster. Boxed and absent until used: most clients never need it.
    pub gateway_replies: Option<Box<Map<Bytes, (Bytes, Instant)>>>,
    /// What authenticating this link needs and produced (boxed: most links never need it).
    pub login: Option<Box<LoginState>>,
    /// The link counts towards its account's `max_connections`.
    pub account_counted: bool,
    /// Most subscriptions this client may hold (server and account limits); `None` unlimited.
    pub max_subscriptions: Option<u64>,
    /// Publish/subscribe permissions of the authenticated user, with this client's caches;
    /// `None` (no restrictions) costs one branch per message.
    pub perms: Option<Box<crate::permissions::ClientPermissions>>,
}

/// Authentication state of a client beyond its CONNECT options.
#[derive(Debug, Default)]
pub struct LoginState {
    /// The nonce sent in INFO (nkey users sign it).
    pub nonce: Option<Box<str>>,
    /// The verified client certificate (`verify_and_map`).
    pub tls_peer: Option<crate::node::TlsPeer>,
    /// A CONNECT waiting for a bcrypt comparison: no input is processed until it is decided.
    pub pending: Option<crate::node::PendingLogin>,
    /// The bcrypt hash this link passed (a reload that keeps it need not compare again).
    pub verified_hash: Option<std::sync::Arc<str>>,
}

/// How long a mapped gateway reply is remembered (`defaultGatewayRecentSubExpiration`).
pub const GATEWAY_REPLY_TTL: Duration = Duration::from_secs(2);

/// Most mapped replies remembered per client; older ones are dropped first.
const MAX_GATEWAY_REPLIES: usize = 4096;

impl ClientLink {
    /// Whether the link takes no more input.
    pub fn is_closing(&self) -> bool {
        self.state == ClientState::Closing
    }

    /// Whether the client takes asynchronous INFOs: CONNECT with `protocol` 1 and its first
    /// PING answered (nats-server `sendAsyncInfoToClients`).
    pub fn takes_async_info(&self) -> bool {
        self.state == ClientState::Established && self.opts.protocol >= 1 && !self.connect_info_due
    }

    /// Remember that `stripped` stands for the mapped reply `full`.
    pub fn remember_gateway_reply(&mut self, stripped: Bytes, full: Bytes, now: Instant) {
        let map = self.gateway_replies.get_or_insert_with(|| Box::new(crate::hash::map(self.cid)));
        if map.len() >= MAX_GATEWAY_REPLIES {
            map.retain(|_, (_, at)| now.saturating_duration_since(*at) < GATEWAY_REPLY_TTL);
        }
        if map.len() < MAX_GATEWAY_REPLIES {
            map.insert(stripped, (full, now));
        }
    }

    /// The full `_GR_.` subject `subject` stands for, if it is a fresh mapped reply.
    pub fn gateway_reply(&mut self, subject: &[u8], now: Instant) -> Option<Bytes> {
        let map = self.gateway_replies.as_mut()?;
        let (full, at) = map.get(subject)?;
        if now.saturating_duration_since(*at) < GATEWAY_REPLY_TTL {
            return Some(full.clone());
        }
        map.remove(subject);
        if map.is_empty() {
            self.gateway_replies = None;
        }
        None
    }

    /// Whether a CONNECT waits for a bcrypt comparison (input stays unread until it is done).
    pub fn login_pending(&self) -> bool {
        self.login.as_ref().is_some_and(|l| l.pending.is_some())
    }

    /// The login state, created when first needed.
    pub fn login_mut(&mut self) -> &mut LoginState {
        self.login.get_or_insert_with(Default::default)
    }

    /// Whether authentication is still pending (only CONNECT is allowed).
    pub fn auth_pending(&self) -> bool {
        self.state == ClientState::ExpectConnect && self.timers.get(ClientTimer::Auth).is_some()
    }
}

/// The first keep-alive check after CONNECT: `min(ping_interval, 2 s)` plus up to 20 % more,
/// so a crowd of clients that connected together does not ping in lockstep.
pub fn first_ping_delay(ping_interval: Duration, random: u64) -> Duration {
    let base = ping_interval.min(Duration::from_secs(2));
    let spread = base.as_nanos() as u64 / 5;
    let extra = if spread == 0 { 0 } else { random % spread };
    base + Duration::from_nanos(extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_table_earliest() {
        let now = Instant::now();
        let mut t = TimerTable::default();
        assert_eq!(t.earliest(), None);
        t.set(ClientTimer::Ping, now + Duration::from_secs(5));
        t.set(ClientTimer::Auth, now + Duration::from_secs(2));
        assert_eq!(t.earliest(), Some(now + Duration::from_secs(2)));
        assert!(t.expired(ClientTimer::Auth, now + Duration::from_secs(2)));
        t.stop(ClientTimer::Auth);
        assert_eq!(t.earliest(), Some(now + Duration::from_secs(5)));
    }

    #[test]
    fn first_ping_is_short_and_spread() {
        let two = Duration::from_secs(2);
        assert_eq!(first_ping_delay(Duration::from_secs(120), 0), two);
        let d = first_ping_delay(Duration::from_secs(120), u64::MAX);
        assert!(d >= two && d < two + two / 5);
        assert_eq!(first_ping_delay(Duration::from_millis(100), 7).as_millis(), 100);
    }
}
