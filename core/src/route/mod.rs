//! Routes: the servers of one cluster joined in a full mesh (`shared/docs/route-protocol.md`).
//!
//! Every server keeps one route to every other server of its cluster, announces the interest
//! of its own clients on it and forwards its own clients' messages over it; nothing learned
//! from a route is passed on to another route, so gossip completes the mesh.
//!
//! * `handshake` — CONNECT/INFO in both directions and the identity checks;
//! * `interest` — the interest dump on registration, incremental `RS+`/`RS-` with queue
//!   weights, the remote subscriptions a route holds;
//! * `forward` — `RMSG`/`HMSG` out for the router's choices, and messages received;
//! * `gossip` — new peers told to the others, implicit routes learned, client URLs;
//! * `directory` — which URLs to dial, when, and when to give up.
//!
//! * `pool` — pooled and pinned connections per peer (nats-server's `pool_size`, `accounts`).
//!
//! Routes decline compression: our INFO says `"compression":"off"`, so a nats-server peer
//! configured for S2 negotiates `off` and speaks plain text.

mod config;
mod directory;
mod forward;
mod gossip;
mod handshake;
mod interest;
mod pool;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rand_core::RngCore;

pub use config::{ClusterConfig, MAX_PING_INTERVAL};
pub(crate) use forward::{RouteTargets, send as send_to_routes, send_to_server};
pub(crate) use gossip::{connect_urls, enter_lame_duck, tell_peers};
pub(crate) use interest::local_changed;
pub use pool::{DEFAULT_POOL_SIZE, Slot, pool_index};

use crate::dial::{DialId, DialRequest};
use crate::error::{CloseReason, DriverClose, RouteError};
use crate::hash;
use crate::link::keepalive::{self, Tick};
use crate::link::route::{RouteState, RouteTimer};
use crate::link::{Counters, Link, Outbox, PeerKeepAlive, RouteLink, Timers};
use crate::node::{Event, LinkId, LogLevel, Node};
use crate::proto::encode;
use crate::proto::route::{RouteLimits, RouteParser};
use directory::RouteDirectory;
use pool::{ExtraDial, ExtraState, Peer};

/// The route half of the node.
#[derive(Debug)]
pub(crate) struct ClusterNode {
    pub(crate) config: ClusterConfig,
    pub(crate) directory: RouteDirectory,
    /// The registered routes to each peer, by server id.
    pub(crate) peers: BTreeMap<String, Peer>,
    /// Pool connections still to be made to registered peers.
    pub(crate) extras: Vec<ExtraDial>,
    /// Registered routes in registration order (fan-out and announcements walk it).
    pub(crate) routes: Vec<LinkId>,
    /// Client URLs each peer told us (`connect_urls`), by server id.
    pub(crate) peer_client_urls: BTreeMap<String, Vec<String>>,
    /// Dials are scheduled (after [`Node::start`]).
    pub(crate) started: bool,
    /// The dial schedule changed: the driver re-reads the node deadline.
    pub(crate) timer_changed: bool,
    /// Reused per message: the routes the router picked and the queue groups behind each.
    pub(crate) targets: RouteTargets,
    /// `cluster.permissions`, compiled.
    pub(crate) permissions: Option<crate::permissions::Permissions>,
}

impl ClusterNode {
    pub(crate) fn new(config: ClusterConfig) -> Self {
        let permissions = config.permissions.clone().map(crate::permissions::Permissions::compile);
        Self {
            permissions,
            config,
            directory: RouteDirectory::default(),
            peers: BTreeMap::new(),
            extras: Vec::new(),
            routes: Vec::new(),
            peer_client_urls: BTreeMap::new(),
            started: false,
            timer_changed: true,
            targets: RouteTargets::default(),
        }
    }

    /// Whether our clients' interest in `subject` is announced to routes (`import`).
    pub(crate) fn imports(&self, subject: &[u8]) -> bool {
        self.permissions.as_ref().is_none_or(|p| p.publish_allowed(subject))
    }

    /// Whether a peer's interest in `subject` is accepted (`export`).
    pub(crate) fn exports(&self, subject: &[u8], queue: Option<&[u8]>) -> bool {
        self.permissions.as_ref().is_none_or(|p| p.subscribe_allowed(subject, queue))
    }

    /// Earliest due dial (configured or gossiped URLs, missing pool connections).
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let extras = self.extras.iter().filter_map(|e| match e.state {
            ExtraState::Waiting(at) => Some(at),
            ExtraState::Dialing(_) => None,
        });
        self.directory.poll_timeout().into_iter().chain(extras).min()
    }

    /// The slot the first connection to a server asks for.
    fn first_slot(&self) -> Slot {
        if self.config.pool_size > 0 { Slot::Pool(0) } else { Slot::NoPool }
    }

    /// Keep-alive interval of routes (capped at 30 s).
    pub(crate) fn ping_interval(&self) -> Duration {
        self.config.ping_interval.min(MAX_PING_INTERVAL)
    }
}

/// Log prefix for connection-scoped lines: `<ip:port> - rid:<cid> - `.
pub(crate) fn prefix(r: &RouteLink) -> String {
    match r.peer {
        Some(p) => format!("{p} - rid:{} - ", r.cid),
        None => format!("rid:{} - ", r.cid),
    }
}

pub(crate) fn route_mut(node: &mut Node, id: LinkId) -> Option<&mut RouteLink> {
    match node.links.get_mut(id) {
        Some(Link::Route(r)) => Some(r),
        _ => None,
    }
}

/// Start the cluster at `now`: log its name and schedule the explicit routes.
pub(crate) fn start(node: &mut Node, now: Instant) {
    let Some(cluster) = node.cluster.as_mut() else {
        return;
    };
    if cluster.started {
        return;
    }
    cluster.started = true;
    cluster.directory = RouteDirectory::new(&cluster.config, now);
    cluster.timer_changed = true;
    let (name, dynamic) = (cluster.config.name.clone(), cluster.config.dynamic_name);
    node.log(LogLevel::Info, format!("Cluster name is {name}"));
    if dynamic {
        node.log(
            LogLevel::Warn,
            "Cluster name was dynamically generated, consider setting one".to_owned(),
        );
    }
}

fn new_link(node: &mut Node, now: Instant, peer: Option<SocketAddr>) -> RouteLink {
    let cid = node.next_cid;
    node.next_cid += 1;
    let limits = RouteLimits::route(node.config.limits.max_control_line);
    RouteLink {
        cid,
        solicited: false,
        dialled: None,
        explicit: false,
        gossip_mode: 0,
        state: RouteState::ExpectConnect,
        parser: RouteParser::new(limits),
        peer,
        started: now,
        last_activity: now,
        outbox: Outbox::default(),
        timers: Timers::default(),
        keepalive: PeerKeepAlive::default(),
        info: None,
        peer_verbose: false,
        subs: hash::map(node.rng.next_u64()),
        close_reason: None,
        transmit_queued: false,
        counters: Counters::default(),
        was_registered: false,
        slot: None,
        peer_key: 0,
        tls_peer: None,
    }
}

/// A peer dialled our route port: send our INFO at once and wait for its CONNECT.
pub(crate) fn accept(node: &mut Node, now: Instant, peer: Option<SocketAddr>) -> LinkId {
    let Some(cluster) = node.cluster.as_ref() else {
        // No cluster: nothing to accept (the driver has no route listener then).
        let link = new_link(node, now, peer);
        let id = node.links.insert(Link::Route(Box::new(link)));
        close(node, id, RouteError::ProtocolViolation("route"));
        return id;
    };
    let auth_timeout = cluster.config.auth_timeout;
    let mut info = handshake::our_info(node);
    info.compression = handshake::DECLINED_COMPRESSION.to_owned();
    let info = info.to_json();
    let mut link = new_link(node, now, peer);
    link.timers.set(RouteTimer::Auth, now + auth_timeout);
    crate::proto::route::initial_info(link.outbox.buf(), &info);
    let line = format!("{}Route connection created", prefix(&link));
    let id = node.links.insert(Link::Route(Box::new(link)));
    node.log(LogLevel::Info, line);
    node.wake(id);
    id
}

/// The result of a route dial.
pub(crate) fn handle_dial(
    node: &mut Node,
    now: Instant,
    dial: DialId,
    result: Result<Option<SocketAddr>, String>,
) -> Option<LinkId> {
    let cluster = node.cluster.as_mut()?;
    cluster.timer_changed = true;
    if let Some(i) = cluster.extras.iter().position(|e| e.state == ExtraState::Dialing(dial)) {
        return extra_dialled(node, now, i, result);
    }
    let index = cluster.directory.dialing(dial)?;
    let entry = cluster.directory.entries[index].clone();
    let first_slot = cluster.first_slot();
    match result {
        Ok(peer) => {
            let interval = cluster.ping_interval();
            let ping_max = cluster.config.ping_max;
            let mut link = new_link(node, now, peer);
            link.solicited = true;
            link.explicit = entry.explicit;
            link.gossip_mode = entry.gossip_mode;
            link.dialled = Some(entry.url.clone());
            link.slot = Some(first_slot);
            link.state = RouteState::ExpectInfo;
            // Give up on a peer that never sends its INFO, as on a stale route.
            link.timers.set(RouteTimer::Info, now + interval * (ping_max + 1));
            let connect = handshake::our_connect(node, &entry.url);
            encode_connect(&mut link.outbox, &connect);
            let line = format!("{}Route connection created", prefix(&link));
            let sent = format!("{}Route connect msg sent", prefix(&link));
            let id = node.links.insert(Link::Route(Box::new(link)));
            if let Some(c) = node.cluster.as_mut() {
                c.directory.dial_connected(dial, id);
            }
            // nats-server's order: the CONNECT is written before the creation is logged.
            node.log(LogLevel::Debug, sent);
            node.log(LogLevel::Info, line);
            node.wake(id);
            Some(id)
        }
        Err(reason) => {
            let level = if entry.attempts == 1 || entry.attempts % 3600 == 0 {
                LogLevel::Error
            } else {
                LogLevel::Debug
            };
            node.log(
                level,
                format!("Error trying to connect to route (attempt {}): {reason}", entry.attempts),
            );
            let cluster = node.cluster.as_mut()?;
            if let Some(url) = cluster.directory.dial_failed(dial, now, &cluster.config) {
                node.log(
                    LogLevel::Debug,
                    format!(
                        "Giving up on implicit route nats-route://{url}/ after failed attempts"
                    ),
                );
            }
            None
        }
    }
}

fn encode_connect(outbox: &mut Outbox, json: &[u8]) {
    crate::proto::route::connect(outbox.buf(), json);
}

/// Dials that are due.
pub(crate) fn handle_node_timeout(node: &mut Node, now: Instant) {
    let Some(cluster) = node.cluster.as_mut() else {
        return;
    };
    let peers = &cluster.peers;
    let mut dials = cluster.directory.start_due(now, |id| peers.contains_key(id));
    for e in &mut cluster.extras {
        if matches!(e.state, ExtraState::Waiting(at) if at <= now) {
            let id = cluster.directory.next_id();
            e.state = ExtraState::Dialing(id);
            dials.push(DialRequest {
                id,
                kind: crate::dial::DialKind::Route,
                remote: String::new(),
                url: e.url.clone(),
                explicit: false,
                attempt: 1,
            });
        }
    }
    if dials.is_empty() {
        return;
    }
    cluster.timer_changed = true;
    for d in dials {
        emit_dial(node, d);
    }
}

fn emit_dial(node: &mut Node, d: DialRequest) {
    let url = d.url.to_string();
    node.log(LogLevel::Debug, format!("Trying to connect to route on {url} ({url})"));
    node.events.push_back(Event::Dial(d));
}

/// Bytes arrived on route `id`.
pub(crate) fn handle_read(node: &mut Node, id: LinkId, now: Instant, buf: &mut BytesMut) {
    loop {
        let Some(r) = route_mut(node, id) else {
            buf.clear();
            return;
        };
        if r.is_closing() {
            buf.clear();
            return;
        }
        r.last_activity = now;
        match r.parser.parse(buf) {
            Ok(None) => break,
            Ok(Some(op)) => handshake::process(node, id, now, op),
            Err(e) => {
                let line = format!("{}Router parser ERROR: {e}", prefix(r));
                node.log(LogLevel::Error, line);
                close(node, id, RouteError::Parse(e));
            }
        }
    }
    node.wake(id);
}

/// A deadline of route `id` may have passed.
pub(crate) fn handle_timeout(node: &mut Node, id: LinkId, now: Instant) {
    let Some(cluster) = node.cluster.as_ref() else {
        return;
    };
    let (interval, ping_max) = (cluster.ping_interval(), cluster.config.ping_max);
    let debug = node.config.debug;
    let Some(r) = route_mut(node, id) else {
        return;
    };
    if r.is_closing() {
        return;
    }
    if r.timers.expired(RouteTimer::Auth, now) {
        return close(node, id, RouteError::AuthenticationTimeout);
    }
    if r.timers.expired(RouteTimer::Info, now) {
        return close(node, id, RouteError::NoInfo);
    }
    if !r.timers.expired(RouteTimer::Ping, now) {
        return;
    }
    // Routes PING on every tick, whatever the traffic.
    r.timers.set(RouteTimer::Ping, now + interval);
    if r.keepalive.tick(now, ping_max) == Tick::Stale {
        node.totals.stale_routes += 1;
        node.totals.stale_connections += 1;
        return close(node, id, RouteError::StaleConnection);
    }
    r.outbox.buf().extend_from_slice(encode::PING);
    let line = debug.then(|| format!("{}Router Ping Timer", prefix(r)));
    node.wake(id);
    if let Some(line) = line {
        node.log(LogLevel::Debug, line);
    }
}

fn arm_first_ping(node: &mut Node, id: LinkId, now: Instant) {
    let interval = node.cluster.as_ref().map_or(MAX_PING_INTERVAL, |c| c.ping_interval());
    let at = keepalive::first_ping_at(now, interval, node.rng.next_u64());
    if let Some(r) = route_mut(node, id) {
        r.timers.set(RouteTimer::Ping, at);
    }
}

/// Stop route `id` for `reason`: queue its `-ERR` (if any) and tell the driver.
pub(crate) fn close(node: &mut Node, id: LinkId, reason: RouteError) {
    if let Some(r) = route_mut(node, id)
        && !r.is_closing()
        && let Some(text) = reason.answer().err
    {
        encode::err(r.outbox.buf(), &text);
    }
    finish(node, id, CloseReason::Route(reason));
}

/// The driver closes route `id`.
pub(crate) fn close_for_driver(node: &mut Node, id: LinkId, reason: DriverClose) {
    let reason = match reason {
        DriverClose::Shutdown => CloseReason::ServerShutdown,
        DriverClose::PeerClosed | DriverClose::ReadError | DriverClose::WriteError => {
            CloseReason::PeerClosed
        }
        // Only when a write made no progress at all within the deadline: under the `retry`
        // policy a slow route is kept, a stuck one is closed.
        DriverClose::WriteDeadline => {
            node.totals.slow_consumers += 1;
            node.totals.slow_routes += 1;
            CloseReason::SlowConsumer
        }
    };
    finish(node, id, reason);
}

fn finish(node: &mut Node, id: LinkId, reason: CloseReason) {
    let Some(r) = route_mut(node, id) else {
        return;
    };
    if r.is_closing() {
        return;
    }
    r.state = RouteState::Closing;
    r.timers = Timers::default();
    r.close_reason = Some(reason.clone());
    let mut line = format!("{}Router connection closed: {reason}", prefix(r));
    if !r.remote_name().is_empty() {
        line.push_str(&format!(" - Remote: {}", r.remote_name()));
    }
    node.events.push_back(Event::Close { link: id, reason, flush: true });
    node.log(LogLevel::Info, line);
    // Interest learned on a closing route stops counting at once.
    unregister(node, id, None);
}

/// The connection is gone: forget the link and schedule its re-dial.
pub(crate) fn remove(node: &mut Node, id: LinkId, now: Instant) {
    unregister(node, id, Some(now));
    let Some(Link::Route(r)) = node.links.remove(id) else {
        return;
    };
    redial_slot(node, &r, now);
    let Some(cluster) = node.cluster.as_mut() else {
        return;
    };
    let peer_id = r.remote_id().to_owned();
    let peer_connected = !peer_id.is_empty() && cluster.peers.contains_key(&peer_id);
    cluster.timer_changed = true;
    let forgotten = cluster.directory.link_closed(
        id,
        r.was_registered,
        peer_connected,
        now,
        &cluster.config,
        &mut node.rng,
    );
    if let Some(url) = forgotten {
        node.log(LogLevel::Debug, format!("Giving up on implicit route nats-route://{url}/"));
    }
}

/// Take route `id` out of the mesh: its remote interest goes; when it was its server's last
/// connection, the server's client URLs go and URLs parked for it are dialled again (at `now`,
/// once the connection is gone).
fn unregister(node: &mut Node, id: LinkId, now: Option<Instant>) {
    interest::drop_all(node, id);
    let Some(r) = route_mut(node, id) else {
        return;
    };
    let peer_id = r.remote_id().to_owned();
    let gateway_url = r.info.as_ref().map(|i| i.gateway_url.clone()).unwrap_or_default();
    let Some(cluster) = node.cluster.as_mut() else {
        return;
    };
    cluster.routes.retain(|l| *l != id);
    let mut gone = false;
    if let Some(peer) = cluster.peers.get_mut(&peer_id)
        && peer.remove(id).is_some()
        && peer.is_empty()
    {
        cluster.peers.remove(&peer_id);
        cluster.extras.retain(|e| e.peer_id != peer_id);
        gone = true;
    }
    if gone && !node.shutting_down {
        gossip::peer_urls_changed(node, &peer_id, Vec::new());
        crate::node::cluster_url_changed(node, &gateway_url, false);
    }
    if let (Some(now), Some(cluster)) = (now, node.cluster.as_mut())
        && !peer_id.is_empty()
        && !cluster.peers.contains_key(&peer_id)
    {
        cluster.directory.peer_gone(&peer_id, now, &cluster.config);
        cluster.timer_changed = true;
    }
}

/// A pool connection we made to a server that is still there closed: dial it again.
fn redial_slot(node: &mut Node, r: &RouteLink, now: Instant) {
    let (Some(slot), true, true) = (r.slot.clone(), r.solicited, r.was_registered) else {
        return;
    };
    let jitter = Duration::from_millis(node.rng.next_u64() % 100);
    let Some(cluster) = node.cluster.as_mut() else {
        return;
    };
    let Some(peer) = cluster.peers.get(r.remote_id()) else {
        return;
    };
    // Filled meanwhile (the peer's own connection won the slot): nothing to dial.
    let Some(url) = peer.url.clone().filter(|_| peer.get(&slot).is_none()) else {
        return;
    };
    let state = ExtraState::Waiting(now + jitter);
    cluster.extras.push(ExtraDial { peer_id: r.remote_id().to_owned(), slot, url, state });
    cluster.timer_changed = true;
}

/// A pool connection to a registered peer was dialled.
fn extra_dialled(
    node: &mut Node,
    now: Instant,
    index: usize,
    result: Result<Option<SocketAddr>, String>,
) -> Option<LinkId> {
    let cluster = node.cluster.as_mut()?;
    let extra = cluster.extras[index].clone();
    if !cluster.peers.contains_key(&extra.peer_id) {
        cluster.extras.remove(index);
        return None;
    }
    let peer = match result {
        Ok(peer) => peer,
        Err(reason) => {
            let delay = cluster.config.connect_delay;
            cluster.extras[index].state = ExtraState::Waiting(now + delay);
            node.log(LogLevel::Debug, format!("Error trying to connect to route: {reason}"));
            return None;
        }
    };
    cluster.extras.remove(index);
    let wait = cluster.ping_interval() * (cluster.config.ping_max + 1);
    let mut link = new_link(node, now, peer);
    link.solicited = true;
    link.dialled = Some(extra.url.clone());
    link.slot = Some(extra.slot);
    link.state = RouteState::ExpectInfo;
    link.timers.set(RouteTimer::Info, now + wait);
    let connect = handshake::our_connect(node, &extra.url);
    encode_connect(&mut link.outbox, &connect);
    let line = format!("{}Route connection created", prefix(&link));
    let sent = format!("{}Route connect msg sent", prefix(&link));
    let id = node.links.insert(Link::Route(Box::new(link)));
    node.log(LogLevel::Debug, sent);
    node.log(LogLevel::Info, line);
    node.wake(id);
    Some(id)
}

#[cfg(test)]
mod answer_tests;
#[cfg(test)]
mod tests;
