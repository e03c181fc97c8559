//! One server's routing state: accounts and their sublists, the links, and the routing
//! decision for each message.
//!
//! # Driving contract
//!
//! The driver (tokio in `strait-net`, turmoil in `strait-sim`) owns the sockets and the clock.
//!
//! 1. On a new connection call [`Node::accept_client`]; it returns the link's [`LinkId`] and
//!    queues the INFO.
//! 2. On bytes read call [`Node::handle_read`] with the link's read buffer; complete frames are
//!    consumed from its front, a partial frame stays there for the next read.
//! 3. When [`Node::poll_timeout`] for a link passes, call [`Node::handle_timeout`].
//! 4. After every call above, drain [`Node::poll_event`] until `None`: a
//!    [`Event::Transmit`] means that link's outbox has bytes (wake its writer), an
//!    [`Event::Close`] means the link is done (its writer flushes what is queued, unless the
//!    reason forbids it, then closes the connection).
//! 5. A writer takes the queued bytes with [`Node::take_outbox`], writes them, and calls it
//!    again: the next call acknowledges the previous batch (until then it counts against
//!    `max_pending`). A call that hands out nothing means the writer may sleep.
//! 6. When the connection is gone (EOF, error, or closed after `Close`) call
//!    [`Node::handle_closed`] once; the link's id is then stale and every call on it is a no-op.
//!
//! Events are bounded: each link has at most one pending `Transmit` and one `Close`.

mod auth;
mod client;
mod client_log;
mod deliver;
mod gateway;
mod lame_duck;
mod links;
mod login;
mod reload;
mod router;
mod snapshot;
mod tls;

pub use snapshot::{
    AccountInterest, ClusterSnapshot, GatewayLinkSnapshot, GatewaySnapshot, LinkSnapshot,
    MemoryUse, RouteSnapshot, SubscriptionSnapshot, Totals,
};

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

pub use auth::{Auth, PasswordCheck, User, is_bcrypt};
pub use lame_duck::{
    CloseSchedule, CloseStep, DEFAULT_LAME_DUCK_DURATION, DEFAULT_LAME_DUCK_GRACE_PERIOD,
    LameDuckPlan, close_schedule,
};
pub use links::LinkId;
pub use login::PendingLogin;
pub use reload::{ReloadError, ReloadSummary};
pub use tls::TlsPeer;
pub(crate) use tls::peer_authorized;

pub use crate::account::AccountLimits;
use crate::account::{Account, AccountId, GLOBAL_ACCOUNT};
use crate::error::{ClientError, CloseReason, DriverClose};
use crate::gateway::DialId;
use crate::gateway::GatewayConfig;
pub use crate::gateway::directory::DialRequest;
use crate::hash::{self, Map};
use crate::link::Link;
use crate::proto::client::Limits;
use crate::proto::json::ServerInfo;
use links::Links;

/// Server-wide settings the node needs (the daemon fills them from flags and config files).
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// `server_name`; defaults to the generated server id.
    pub server_name: Option<String>,
    /// Client listen host as advertised in INFO.
    pub host: String,
    /// Client listen port as advertised in INFO.
    pub port: u16,
    /// Version reported in INFO `version`.
    pub version: String,
    /// Runtime string reported in INFO `go`.
    pub runtime: String,
    /// Parser limits (`max_control_line`, `max_payload`).
    pub limits: Limits,
    /// Bytes a client may have queued before it is a slow consumer (default 64 MiB).
    pub max_pending: usize,
    /// Most client connections at once (default 65536).
    pub max_connections: usize,
    /// Keep-alive interval (default 2 min).
    pub ping_interval: Duration,
    /// Unanswered PINGs before a connection is stale (default 2).
    pub ping_max: u32,
    /// Time a client has to send CONNECT when auth is required (default 2 s).
    pub auth_timeout: Duration,
    /// Client authentication.
    pub auth: Auth,
    /// `no_auth_user`: the user a client without credentials becomes.
    pub no_auth_user: Option<String>,
    /// Client TLS `verify_and_map`: users are named by the client's certificate.
    pub tls_map: bool,
    /// Most subscriptions per client (`max_subscriptions`); 0 is unlimited.
    pub max_subscriptions: u64,
    /// Account `limits` by account name.
    pub account_limits: Vec<(String, AccountLimits)>,
    /// Whether the server supports headers (default true).
    pub headers: bool,
    /// The `gateway {}` block, if this server joins a supercluster.
    pub gateway: Option<GatewayConfig>,
    /// The `cluster {}` block, if this server has routes to others of its cluster.
    pub cluster: Option<crate::route::ClusterConfig>,
    /// Client TLS is configured: INFO says `tls_required`.
    pub tls_required: bool,
    /// Client TLS verifies client certificates: INFO says `tls_verify`.
    pub tls_verify: bool,
    /// Client TLS is offered but not required (`allow_non_tls`): INFO says `tls_available`.
    pub tls_available: bool,
    /// `debug` (`-D`): the node emits [`LogLevel::Debug`] lines about clients (connections
    /// created and closed, keep-alive). Off, they are not even formatted.
    pub debug: bool,
    /// `trace` (`-V`): the node emits [`LogLevel::Trace`] lines for every client protocol op
    /// in and out (`<<- [PUB foo 3]`, `->> [MSG foo 1 3]`). Off, the message path pays one
    /// branch.
    pub trace: bool,
    /// `max_traced_msg_len`: traced payloads are cut after this many bytes; 0 for no limit.
    pub max_traced_msg_len: usize,
    /// `trace_headers`: a traced payload shows only the message's headers.
    pub trace_headers: bool,
}

impl NodeConfig {
    /// The `limits` of account `name` (none unless configured).
    pub fn account_limits(&self, name: &str) -> AccountLimits {
        self.account_limits.iter().find(|(n, _)| n == name).map(|(_, l)| *l).unwrap_or_default()
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            server_name: None,
            host: "0.0.0.0".into(),
            port: 4222,
            version: crate::NATS_COMPAT_VERSION.into(),
            runtime: concat!("strait ", env!("CARGO_PKG_VERSION")).into(),
            limits: Limits::default(),
            max_pending: 64 * 1024 * 1024,
            max_connections: 65536,
            ping_interval: Duration::from_secs(120),
            ping_max: 2,
            auth_timeout: Duration::from_secs(2),
            auth: Auth::None,
            no_auth_user: None,
            tls_map: false,
            max_subscriptions: 0,
            account_limits: Vec::new(),
            headers: true,
            gateway: None,
            cluster: None,
            tls_required: false,
            tls_verify: false,
            tls_available: false,
            debug: false,
            trace: false,
            max_traced_msg_len: 0,
            trace_headers: false,
        }
    }
}

/// What the driver must act on. See the driving contract in the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Event {
    /// The link's outbox has bytes to write.
    Transmit(LinkId),
    /// The link is finished: flush what is queued if `flush`, then close the connection and
    /// call [`Node::handle_closed`].
    Close {
        /// The link.
        link: LinkId,
        /// Why.
        reason: CloseReason,
        /// Whether queued bytes are still written first.
        flush: bool,
    },
    /// Connect to a remote gateway and report with [`Node::handle_dial`].
    Dial(DialRequest),
    /// A line for the server log, in nats-server's words.
    Log(LogLevel, String),
}

/// Severity of an [`Event::Log`] line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// `[ERR]`.
    Error,
    /// `[WRN]`.
    Warn,
    /// `[INF]`.
    Info,
    /// `[DBG]`.
    Debug,
    /// `[TRC]`.
    Trace,
}

/// Handle to a subscription in the node (the value stored in sublists).
///
/// Interest a route peer announced carries the [`SubKey::REMOTE`] bit, so in a sublist's sorted
/// value sets local subscriptions come first and "is any member remote?" is one comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubKey(u32);

impl SubKey {
    /// Marks a subscription owned by a route link.
    const REMOTE: u32 = 1 << 31;

    fn new(slot: u32, remote: bool) -> Self {
        Self(if remote { slot | Self::REMOTE } else { slot })
    }

    /// Index into the node's subscription slab.
    pub(crate) fn slot(self) -> usize {
        (self.0 & !Self::REMOTE) as usize
    }

    /// Whether a route peer announced it (it is not a local client's).
    pub(crate) fn is_remote(self) -> bool {
        self.0 & Self::REMOTE != 0
    }
}

/// One client subscription.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub(crate) link: LinkId,
    pub(crate) account: AccountId,
    /// Subject, sid and queue in one allocation (memory per subscription is a feature):
    /// `subject ++ sid ++ queue`.
    pub(crate) text: Box<[u8]>,
    pub(crate) subject_len: u32,
    pub(crate) sid_len: u32,
    pub(crate) has_queue: bool,
    /// Auto-unsubscribe after this many deliveries in total; 0 for never.
    pub(crate) max: u64,
    pub(crate) delivered: u64,
    /// When it was made (a young subscription's requests get their reply mapped across
    /// gateways).
    pub(crate) created: Instant,
    /// 0 for a local client's subscription; for interest a route peer announced, its queue
    /// weight (the peer's member count, saturated: 16 bits keep the struct at 72 bytes, and a
    /// group of more than 65,535 members on one server is only slightly under-weighted), 1 for
    /// a plain subject.
    pub(crate) weight: u16,
}

impl Subscription {
    fn new(
        link: LinkId,
        account: AccountId,
        subject: &[u8],
        queue: Option<&[u8]>,
        sid: &[u8],
        now: Instant,
    ) -> Self {
        let mut text = Vec::with_capacity(subject.len() + sid.len() + queue.map_or(0, <[u8]>::len));
        text.extend_from_slice(subject);
        text.extend_from_slice(sid);
        text.extend_from_slice(queue.unwrap_or_default());
        Self {
            link,
            account,
            text: text.into_boxed_slice(),
            // Both fit: a control line is at most max_control_line bytes.
            subject_len: subject.len() as u32,
            sid_len: sid.len() as u32,
            has_queue: queue.is_some(),
            max: 0,
            delivered: 0,
            created: now,
            weight: 0,
        }
    }

    /// Interest route `link` announced, with the peer's queue `weight` (1 for plain).
    pub(crate) fn remote(
        link: LinkId,
        account: AccountId,
        subject: &[u8],
        queue: Option<&[u8]>,
        weight: u32,
        now: Instant,
    ) -> Self {
        let mut sub = Self::new(link, account, subject, queue, b"", now);
        sub.weight = u16::try_from(weight).unwrap_or(u16::MAX).max(1);
        sub
    }

    /// Update the queue weight a route peer announced.
    pub(crate) fn set_weight(&mut self, weight: u32) {
        self.weight = u16::try_from(weight).unwrap_or(u16::MAX).max(1);
    }

    /// The weight of this member in a queue pick: a local client counts once, a route member
    /// as many times as the peer has members.
    pub(crate) fn pick_weight(&self) -> u64 {
        u64::from(self.weight.max(1))
    }

    pub(crate) fn subject(&self) -> &[u8] {
        &self.text[..self.subject_len as usize]
    }

    pub(crate) fn sid(&self) -> &[u8] {
        let start = self.subject_len as usize;
        &self.text[start..start + self.sid_len as usize]
    }

    pub(crate) fn queue(&self) -> Option<&[u8]> {
        let start = (self.subject_len + self.sid_len) as usize;
        self.has_queue.then(|| &self.text[start..])
    }
}

/// What the writer should do after [`Node::take_outbox`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxStatus {
    /// The link is open: write the bytes (if any) and wait for the next `Transmit`.
    Open,
    /// The link is closing: write the bytes (if any), call again until empty, then close.
    Closing,
    /// The link is gone or must not be flushed: close now without writing.
    Gone,
}

/// One server's protocol and routing state.
#[derive(Debug)]
pub struct Node {
    pub(crate) config: NodeConfig,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) server_id: String,
    pub(crate) accounts: Vec<Account>,
    pub(crate) account_ids: Map<String, AccountId>,
    pub(crate) links: Links,
    pub(crate) subs: Vec<Option<Subscription>>,
    pub(crate) free_subs: Vec<u32>,
    pub(crate) events: VecDeque<Event>,
    pub(crate) next_cid: u64,
    pub(crate) gateway: Option<Box<gateway::GatewayNode>>,
    pub(crate) cluster: Option<Box<crate::route::ClusterNode>>,
    pub(crate) totals: Totals,
    deferred: router::Deferred,
    /// In lame-duck mode (see [`Node::enter_lame_duck`]).
    pub(crate) lame_duck: bool,
    /// Closing every link to stop (see [`Node::shut_down`]).
    pub(crate) shutting_down: bool,
}

impl Node {
    /// A node with `config`; every random choice (server id, hash keys, queue member picks,
    /// timer jitter) derives from `seed`.
    pub fn new(config: NodeConfig, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let server_id = generate_server_id(&mut rng);
        let gateway =
            config.gateway.clone().map(|c| Box::new(gateway::GatewayNode::new(c, &mut rng)));
        let cluster = config.cluster.clone().map(|mut c| {
            if c.name.is_empty() {
                // nats-server makes up a name and adopts a configured peer's (not yet here).
                c.name = generate_cluster_name(&mut rng);
                c.dynamic_name = true;
            }
            Box::new(crate::route::ClusterNode::new(c))
        });
        let mut node = Self {
            gateway,
            cluster,
            config,
            server_id,
            account_ids: hash::map(rng.next_u64()),
            accounts: Vec::new(),
            links: Links::default(),
            subs: Vec::new(),
            free_subs: Vec::new(),
            events: VecDeque::new(),
            next_cid: 1,
            totals: Totals::default(),
            deferred: router::Deferred::default(),
            lame_duck: false,
            shutting_down: false,
            rng,
        };
        node.account(GLOBAL_ACCOUNT);
        node
    }

    /// Start the gateway and route machinery at `now` (schedules the first dials). Call once,
    /// after the listeners are bound.
    pub fn start(&mut self, now: Instant) {
        gateway::start(self, now);
        crate::route::start(self, now);
    }

    /// Apply a new configuration at `now` (SIGHUP, or a reload in the simulation).
    ///
    /// Limits, keep-alive settings, client authorization and the list of remote gateways
    /// change in place; clients whose credentials no longer pass are closed as nats-server
    /// closes them, a removed remote's outbound link is closed and an added one dialled.
    /// Changing the server name, the client host or port, header support, or the gateway
    /// block other than its remotes is refused with [`ReloadError::NotSupported`] and
    /// nothing changes. `version` and `runtime` are kept. Drain [`Node::poll_event`] after.
    pub fn reload(&mut self, now: Instant, new: NodeConfig) -> Result<ReloadSummary, ReloadError> {
        reload::reload(self, now, new)
    }

    /// Enter lame-duck mode (`SIGUSR2`): log it, queue every client that takes asynchronous
    /// INFOs an INFO with `"ldm":true`, and return the order and pacing in which the driver
    /// closes the clients (`duration` and `grace` are `lame_duck_duration` and
    /// `lame_duck_grace_period`). The driver has stopped accepting clients before calling.
    /// `None` when already in lame-duck mode: a second signal changes nothing. Routes, once
    /// they exist, are told here too. Drain [`Node::poll_event`] after.
    pub fn enter_lame_duck(&mut self, duration: Duration, grace: Duration) -> Option<LameDuckPlan> {
        lame_duck::enter(self, duration, grace)
    }

    /// Whether the server is in lame-duck mode.
    pub fn is_lame_duck(&self) -> bool {
        self.lame_duck
    }

    /// A new inbound gateway connection from `peer`: queues our gateway INFO.
    pub fn accept_gateway(&mut self, now: Instant, peer: Option<SocketAddr>) -> LinkId {
        gateway::accept(self, now, peer)
    }

    /// A new route connection from `peer` (a server of our cluster dialled us): queues our
    /// route INFO.
    pub fn accept_route(&mut self, now: Instant, peer: Option<SocketAddr>) -> LinkId {
        crate::route::accept(self, now, peer)
    }

    /// The result of an [`Event::Dial`]: `Ok(peer)` creates the link (returned) — a route or
    /// an outbound gateway, as the request's `kind` said — and `Err(reason)` schedules the
    /// next attempt.
    pub fn handle_dial(
        &mut self,
        now: Instant,
        dial: DialId,
        result: Result<Option<SocketAddr>, String>,
    ) -> Option<LinkId> {
        if dial.is_route() {
            crate::route::handle_dial(self, now, dial, result)
        } else {
            gateway::handle_dial(self, now, dial, result)
        }
    }

    /// Earliest node-wide deadline (route and gateway dials).
    pub fn poll_node_timeout(&self) -> Option<Instant> {
        let gateway = self.gateway.as_ref().and_then(|g| g.directory.poll_timeout());
        let routes = self.cluster.as_ref().and_then(|c| c.poll_timeout());
        gateway.into_iter().chain(routes).min()
    }

    /// A node-wide deadline may have passed.
    pub fn handle_node_timeout(&mut self, now: Instant) {
        gateway::handle_node_timeout(self, now);
        crate::route::handle_node_timeout(self, now);
    }

    /// Whether the node-wide deadline may have changed since the last call (the driver then
    /// re-reads [`Node::poll_node_timeout`]).
    pub fn take_node_timer_changed(&mut self) -> bool {
        let gateway = self.gateway.as_mut().is_some_and(|g| std::mem::take(&mut g.timer_changed));
        let routes = self.cluster.as_mut().is_some_and(|c| std::mem::take(&mut c.timer_changed));
        gateway | routes
    }

    /// A new client connection from `peer`: queues the INFO and arms its timers.
    pub fn accept_client(&mut self, now: Instant, peer: Option<SocketAddr>) -> LinkId {
        client::accept(self, now, peer)
    }

    /// Bytes arrived on `link`: consume every complete frame at the front of `buf`.
    pub fn handle_read(&mut self, link: LinkId, now: Instant, buf: &mut BytesMut) {
        match self.links.get(link) {
            Some(Link::Client(_)) => client::handle_read(self, link, now, buf),
            Some(Link::Route(_)) => crate::route::handle_read(self, link, now, buf),
            Some(Link::Gateway(_)) => gateway::handle_read(self, link, now, buf),
            None => buf.clear(),
        }
    }

    /// The bcrypt comparison a client's CONNECT waits for, if any: run it off the node (it
    /// takes tens of milliseconds), then report with [`Node::handle_password_checked`] and call
    /// [`Node::handle_read`] again with the link's buffer, whose rest was left unread. Call after
    /// every `handle_read` of a client.
    pub fn take_password_check(&mut self, link: LinkId) -> Option<PasswordCheck> {
        login::take_check(self, link)
    }

    /// The result of the comparison from [`Node::take_password_check`].
    pub fn handle_password_checked(&mut self, link: LinkId, now: Instant, ok: bool) {
        login::checked(self, link, now, ok);
        self.wake(link);
    }

    /// A deadline of `link` may have passed.
    pub fn handle_timeout(&mut self, link: LinkId, now: Instant) {
        match self.links.get(link) {
            Some(Link::Client(_)) => client::handle_timeout(self, link, now),
            Some(Link::Route(_)) => crate::route::handle_timeout(self, link, now),
            Some(Link::Gateway(_)) => gateway::handle_timeout(self, link, now),
            None => {}
        }
    }

    /// Move `link`'s queued bytes into `spare` (which must be empty) for writing.
    pub fn take_outbox(&mut self, link: LinkId, spare: &mut BytesMut) -> OutboxStatus {
        let Some(l) = self.links.get_mut(link) else {
            return OutboxStatus::Gone;
        };
        if let Link::Client(c) = l
            && c.close_reason.as_ref().is_some_and(|r| !r.answer().flush)
        {
            return OutboxStatus::Gone;
        }
        l.outbox_mut().swap(spare);
        if l.is_closing() { OutboxStatus::Closing } else { OutboxStatus::Open }
    }

    /// Close `link` at the driver's request.
    pub fn close_link(&mut self, link: LinkId, reason: DriverClose) {
        match (self.links.get(link), reason) {
            (Some(Link::Client(_)), reason) => {
                let cause = match reason {
                    DriverClose::Shutdown => ClientError::ServerShutdown,
                    DriverClose::WriteDeadline => ClientError::SlowConsumerWriteDeadline,
                    DriverClose::PeerClosed => ClientError::ClientClosed,
                    DriverClose::ReadError => ClientError::ReadError,
                    DriverClose::WriteError => ClientError::WriteError,
                };
                client::close(self, link, cause)
            }
            (Some(Link::Route(_)), _) => crate::route::close_for_driver(self, link, reason),
            (Some(Link::Gateway(_)), _) => gateway::close_for_driver(self, link, reason),
            (None, _) => {}
        }
    }

    /// The connection of `link` is gone: drop its subscriptions and state.
    pub fn handle_closed(&mut self, link: LinkId, now: Instant) {
        match self.links.get(link) {
            Some(Link::Client(_)) => client::remove(self, link),
            Some(Link::Route(_)) => crate::route::remove(self, link, now),
            Some(Link::Gateway(_)) => gateway::remove(self, link, now),
            None => {}
        }
    }

    /// Whether `link` is a client.
    pub fn is_client(&self, link: LinkId) -> bool {
        matches!(self.links.get(link), Some(Link::Client(_)))
    }

    /// Earliest deadline of `link`, if any.
    pub fn poll_timeout(&self, link: LinkId) -> Option<Instant> {
        self.links.get(link).and_then(Link::poll_timeout)
    }

    /// Next thing the driver must do.
    pub fn poll_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front()?;
        if let Event::Transmit(id) = &event
            && let Some(link) = self.links.get_mut(*id)
        {
            link.mark_transmit_queued(false);
        }
        Some(event)
    }

    /// The generated server id (INFO `server_id`).
    pub fn server_id(&self) -> &str {
        &self.server_id
    }

    /// The server name (INFO `server_name`).
    pub fn server_name(&self) -> &str {
        self.config.server_name.as_deref().unwrap_or(&self.server_id)
    }

    /// The configuration in force.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// Stop: close every link with `Server Shutdown`. What the closing links would tell the
    /// others while they go (our cluster's gateway URLs shrinking as routes close, sent to
    /// inbound gateways) is not told, as nats-server's `removeGatewayURL` does nothing while
    /// shutting down: a remote told that our cluster is this server alone would forget the
    /// rest (sim seed 508383).
    pub fn shut_down(&mut self) {
        self.shutting_down = true;
        for id in self.link_ids() {
            self.close_link(id, DriverClose::Shutdown);
        }
    }

    /// Ids of every link (e.g. to close them all at shutdown).
    pub fn link_ids(&self) -> Vec<LinkId> {
        self.links.ids()
    }

    /// Number of open links.
    pub fn num_links(&self) -> usize {
        self.links.len()
    }

    /// Number of subscriptions across all accounts.
    pub fn num_subscriptions(&self) -> usize {
        self.subs.len() - self.free_subs.len()
    }

    /// Whether `link` exists and takes input.
    pub fn is_open(&self, link: LinkId) -> bool {
        self.links.get(link).is_some_and(|l| !l.is_closing())
    }

    /// The account named `name`, created if new.
    pub(crate) fn account(&mut self, name: &str) -> AccountId {
        if let Some(id) = self.account_ids.get(name) {
            return *id;
        }
        let id = AccountId(self.accounts.len() as u32);
        let mut account = Account::new(name.to_owned(), self.rng.next_u64());
        account.limits = self.config.account_limits(name);
        self.accounts.push(account);
        self.account_ids.insert(name.to_owned(), id);
        gateway::account_created(self, id);
        id
    }

    /// The INFO for a new client connection.
    pub(crate) fn client_info(&self, cid: u64, peer: Option<SocketAddr>) -> ServerInfo {
        ServerInfo {
            server_id: self.server_id.clone(),
            server_name: self.server_name().to_owned(),
            version: self.config.version.clone(),
            proto: 1,
            go: self.config.runtime.clone(),
            host: self.config.host.clone(),
            port: self.config.port,
            headers: self.config.headers,
            // With `no_auth_user` a client needs no credentials (nats-server clears the flag).
            auth_required: self.config.auth.required() && self.config.no_auth_user.is_none(),
            max_payload: self.config.limits.max_payload,
            tls_required: self.config.tls_required,
            tls_verify: self.config.tls_verify,
            tls_available: self.config.tls_available,
            connect_urls: crate::route::connect_urls(self),
            client_id: cid,
            client_ip: peer.map(|p| p.ip().to_string()).unwrap_or_default(),
            ..Default::default()
        }
    }

    /// Log `text` about client `link` at `level`, behind nats-server's client prefix
    /// (`IP:PORT - cid:N - `, plus the `"version:lang:name"` part once CONNECT gave it). For
    /// what the driver observes itself (TLS steps, write stalls). Lines above the configured
    /// level are dropped; a stale or non-client link logs nothing.
    pub fn log_client(&mut self, link: LinkId, level: LogLevel, text: &str) {
        client_log::log_client(self, link, level, format_args!("{text}"));
    }

    /// Queue a log line.
    pub(crate) fn log(&mut self, level: LogLevel, message: String) {
        self.events.push_back(Event::Log(level, message));
    }

    /// Queue a `Transmit` for `link` unless one is pending.
    pub(crate) fn wake(&mut self, id: LinkId) {
        if let Some(link) = self.links.get_mut(id)
            && !link.outbox().is_empty()
            && !link.mark_transmit_queued(true)
        {
            self.events.push_back(Event::Transmit(id));
        }
    }
}

impl Node {
    /// Store `sub`, returning its key (route-owned ones carry [`SubKey::REMOTE`]).
    pub(crate) fn alloc_sub(&mut self, sub: Subscription) -> SubKey {
        let remote = sub.weight > 0;
        if let Some(slot) = self.free_subs.pop() {
            self.subs[slot as usize] = Some(sub);
            SubKey::new(slot, remote)
        } else {
            self.subs.push(Some(sub));
            SubKey::new(self.subs.len() as u32 - 1, remote)
        }
    }

    /// Subscription `key`, if it exists.
    pub(crate) fn sub(&self, key: SubKey) -> Option<&Subscription> {
        self.subs.get(key.slot()).and_then(Option::as_ref)
    }

    /// Take subscription `key` out of the slab (the caller removes it from its sublist).
    pub(crate) fn free_sub(&mut self, key: SubKey) -> Option<Subscription> {
        let sub = self.subs.get_mut(key.slot())?.take()?;
        self.free_subs.push(key.slot() as u32);
        Some(sub)
    }

    /// Tell every client that takes async INFOs (protocol ≥ 1, established) what the server
    /// INFO now says (`connect_urls` changed).
    pub(crate) fn send_async_client_info(&mut self) {
        for id in self.links.ids() {
            let Some(Link::Client(c)) = self.links.get(id) else {
                continue;
            };
            if !c.takes_async_info() {
                continue;
            }
            let json = self.client_info(c.cid, c.peer).to_json();
            if let Some(Link::Client(c)) = self.links.get_mut(id) {
                crate::proto::encode::info(c.outbox.buf(), &json);
            }
            self.wake(id);
        }
    }
}

/// A subscription (local or route-owned) was added to `account`'s sublist: the cluster's
/// interest may have grown (gateways hear of it).
pub(crate) fn interest_added(
    node: &mut Node,
    account: AccountId,
    subject: &[u8],
    queue: Option<&[u8]>,
) {
    gateway::interest_added(node, account, subject, queue);
}

/// A subscription (local or route-owned) was removed from `account`'s sublist.
pub(crate) fn interest_removed(
    node: &mut Node,
    account: AccountId,
    subject: &[u8],
    queue: Option<&[u8]>,
) {
    gateway::interest_removed(node, account, subject, queue);
}

/// Route a message that arrived over a route: local subscribers only. `mapped` is the full
/// `_GR_.` reply the message's reply was stripped of, if any.
pub(crate) fn route_from_route(
    node: &mut Node,
    now: Instant,
    account: AccountId,
    msg: &crate::message::Message<'_>,
    queues: Option<&[u8]>,
    mapped: Option<&[u8]>,
) {
    router::route(node, now, router::Origin::Route { queues, mapped }, account, msg);
}

pub(crate) use auth::secret_eq;
pub(crate) use gateway::{cluster_url_changed, learned_over_route, route_gossip};

/// A generated cluster name, 22 characters like nats-server's.
fn generate_cluster_name(rng: &mut ChaCha8Rng) -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..22).map(|_| ALPHABET[(rng.next_u32() % 62) as usize] as char).collect()
}

/// A server id shaped like nats-server's (56 characters of base32 starting with `N`, as a
/// server nkey is). It is not a real nkey: Strait has no nkey of its own to sign with.
fn generate_server_id(rng: &mut ChaCha8Rng) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut id = String::with_capacity(56);
    id.push('N');
    for _ in 1..56 {
        id.push(ALPHABET[(rng.next_u32() % 32) as usize] as char);
    }
    id
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod gateway_answer_tests;
#[cfg(test)]
mod gateway_tests;
#[cfg(test)]
mod permission_tests;
#[cfg(test)]
mod supercluster_tests;
#[cfg(test)]
pub(crate) mod world;
