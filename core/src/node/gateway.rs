//! What gateway links do to the node: handshakes, discovery, interest propagation and the
//! messages that cross between clusters (`shared/docs/gateway-protocol.md`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;

use super::router::{self, Origin, Outcome};
use super::{Event, LogLevel, Node};
use crate::account::AccountId;
use crate::error::{CloseReason, DriverClose, GatewayError};
use crate::gateway::config::{GatewayConfig, GatewayUrl};
use crate::gateway::directory::{DialRequest, Directory};
use crate::gateway::interest::{
    INTEREST_ONLY_THRESHOLD, InboundEntry, InboundInterest, Mode, OutboundInterest,
};
use crate::gateway::{DialId, reply};
use crate::hash;
use crate::link::gateway::{Direction, GatewayState, GatewayTimer, GatewayTimers};
use crate::link::keepalive::{self, Tick};
use crate::link::{Counters, PeerKeepAlive};
use crate::link::{GatewayLink, Link, Outbox};
use crate::message::Message;
use crate::node::LinkId;
use crate::proto::encode;
use crate::proto::gateway::{self as wire, GatewayLimits, GatewayOp, GatewayParser, RoutedMsg};
use crate::proto::gateway_json::{
    CMD_ALL_SUBS_COMPLETE, CMD_ALL_SUBS_START, CMD_GOSSIP, GATEWAY_PROTO, GatewayConnect,
    GatewayInfo,
};
use crate::proto::route_json::RouteInfo;
use crate::subject;

/// A subscription this young may not be known across a gateway yet
/// (`defaultGatewayRecentSubExpiration`).
const RECENT_SUBSCRIPTION: Duration = Duration::from_secs(2);
/// Gateway PINGs go out at least this often (`gwMaxPingInterval`).
const MAX_PING_INTERVAL: Duration = Duration::from_secs(15);

/// The gateway half of the node.
#[derive(Debug)]
pub(crate) struct GatewayNode {
    pub(crate) config: GatewayConfig,
    pub(crate) directory: Directory,
    /// Registered inbound links, in registration order.
    pub(crate) inbound: Vec<LinkId>,
    /// `_GR_.` hash of our gateway name and of our server id.
    pub(crate) cluster_hash: [u8; 6],
    pub(crate) server_hash: [u8; 6],
    seed: u64,
    pub(crate) started: bool,
    /// The dial schedule changed: the driver re-reads the node deadline.
    pub(crate) timer_changed: bool,
    /// Established outbound links (a cheap "any gateway to forward to?" test per message).
    pub(crate) outbound_count: usize,
    /// The gateway URLs of the other servers of our cluster, learned from their route INFO,
    /// each counted once per server advertising it (gateway-protocol §4.1).
    pub(crate) cluster_urls: BTreeMap<String, usize>,
}

impl GatewayNode {
    pub(crate) fn new(config: GatewayConfig, rng: &mut ChaCha8Rng) -> Self {
        let seed = rng.next_u64();
        Self {
            cluster_hash: reply::hash6(config.name.as_bytes()),
            server_hash: [0; 6],
            directory: Directory::default(),
            inbound: Vec::new(),
            config,
            seed,
            started: false,
            timer_changed: true,
            outbound_count: 0,
            cluster_urls: BTreeMap::new(),
        }
    }
}

pub(super) fn start(node: &mut Node, now: Instant) {
    let server_hash = reply::hash6(node.server_id.as_bytes());
    let Some(gw) = node.gateway.as_mut() else {
        return;
    };
    if gw.started {
        return;
    }
    gw.started = true;
    gw.server_hash = server_hash;
    gw.directory = Directory::new(&gw.config, now);
    gw.timer_changed = true;
    let name = gw.config.name.clone();
    let url = gw.config.advertise.to_string();
    node.log(LogLevel::Info, format!("Gateway name is {name}"));
    node.log(LogLevel::Info, format!("Address for gateway \"{name}\" is {url}"));
}

/// The INFO we send on every gateway connection.
fn our_info(node: &Node) -> GatewayInfo {
    let Some(gw) = node.gateway.as_ref() else {
        return GatewayInfo::default();
    };
    let url = gw.config.advertise.to_string();
    GatewayInfo {
        server_id: node.server_id.clone(),
        // nats-server sends the configured name only, never the id.
        server_name: node.config.server_name.clone().unwrap_or_default(),
        version: node.config.version.clone(),
        proto: GATEWAY_PROTO,
        go: String::new(),
        host: gw.config.advertise.host.clone(),
        port: i64::from(gw.config.advertise.port),
        headers: node.config.headers,
        auth_required: gw.config.user.is_some(),
        tls_required: gw.config.tls,
        tls_verify: gw.config.tls,
        max_payload: i32::try_from(node.config.limits.max_payload).unwrap_or(i32::MAX),
        gateway: gw.config.name.clone(),
        gateway_urls: cluster_gateway_urls(gw),
        gateway_url: url,
        gateway_nrp: true,
        gateway_iom: gw.config.interest_only,
        ..GatewayInfo::default()
    }
}

/// Every gateway URL of our cluster: ours first, then the other servers'.
fn cluster_gateway_urls(gw: &GatewayNode) -> Vec<String> {
    let ours = gw.config.advertise.to_string();
    let others = gw.cluster_urls.keys().filter(|u| **u != ours).cloned();
    std::iter::once(ours.clone()).chain(others).collect()
}

/// A server of our cluster whose route INFO named gateway URL `url` joined (or, with
/// `joined` false, left): when our cluster's set of gateway URLs changes, every inbound
/// gateway hears it in a new INFO, so the remote clusters can dial any of our servers.
pub(crate) fn cluster_url_changed(node: &mut Node, url: &str, joined: bool) {
    let Some(gw) = node.gateway.as_mut() else {
        return;
    };
    if url.is_empty() {
        return;
    }
    let changed = if joined {
        let count = gw.cluster_urls.entry(url.to_owned()).or_insert(0);
        *count += 1;
        *count == 1
    } else {
        match gw.cluster_urls.get_mut(url) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            Some(_) => gw.cluster_urls.remove(url).is_some(),
            None => false,
        }
    };
    if !changed {
        return;
    }
    let json = our_info(node).to_json();
    for id in node.gateway.as_ref().map(|g| g.inbound.clone()).unwrap_or_default() {
        if let Some(g) = gateway_mut(node, id)
            && g.is_established()
        {
            wire::info(g.outbox.buf(), &json);
            node.wake(id);
        }
    }
}

/// The gateway gossip we tell route peers (route-protocol §6): for each remote cluster we
/// have an outbound connection to (or only `remote`), its name and URLs.
pub(crate) fn route_gossip(node: &Node, remote: Option<&str>) -> Vec<Vec<u8>> {
    let Some(gw) = node.gateway.as_ref() else {
        return Vec::new();
    };
    let name = node.config.server_name.as_deref().unwrap_or_default();
    gw.directory
        .remotes
        .iter()
        .filter(|r| remote.is_none_or(|n| n == r.name))
        .filter(|r| matches!(r.state, crate::gateway::directory::DialState::Connected(l) if is_established(node, l)))
        .map(|r| {
            let urls = r.urls.iter().map(ToString::to_string).collect();
            RouteInfo::gateway_gossip(&node.server_id, name, &r.name, urls).to_json()
        })
        .collect()
}

fn is_established(node: &Node, id: LinkId) -> bool {
    matches!(node.links.get(id), Some(Link::Gateway(g)) if g.is_established())
}

/// Gateway gossip that came over a route (`gateway_cmd` 1): another server of our cluster
/// has an outbound connection to `info.gateway`, so we dial it too (an implicit gateway).
/// With `reject_unknown_cluster`, a cluster we are not configured for is ignored, as on a
/// gateway (nats-server takes it from a route regardless; see `docs/compat.md`).
pub(crate) fn learned_over_route(node: &mut Node, now: Instant, info: &RouteInfo) {
    let Some(gw) = node.gateway.as_mut() else {
        return;
    };
    if info.gateway == gw.config.name {
        return;
    }
    if gw.config.reject_unknown_cluster && gw.directory.find(&info.gateway).is_none() {
        return;
    }
    let urls: Vec<GatewayUrl> =
        info.gateway_urls.iter().filter_map(|u| GatewayUrl::parse(u)).collect();
    if gw.directory.learn(&info.gateway, &urls, now) {
        gw.timer_changed = true;
        handle_node_timeout(node, now);
    }
}

fn new_link(node: &mut Node, now: Instant, direction: Direction, remote: String) -> GatewayLink {
    let cid = node.next_cid;
    node.next_cid += 1;
    let seed = node.rng.next_u64();
    let limits = GatewayLimits {
        max_control_line: node.config.limits.max_control_line.saturating_mul(16),
        ..GatewayLimits::default()
    };
    GatewayLink {
        cid,
        direction,
        state: match direction {
            Direction::Inbound => GatewayState::ExpectConnect,
            Direction::Outbound => GatewayState::ExpectInfo,
        },
        parser: GatewayParser::new(limits),
        remote,
        remote_id: String::new(),
        remote_server_name: String::new(),
        peer: None,
        started: now,
        last_activity: now,
        outbox: Outbox::default(),
        timers: GatewayTimers::default(),
        keepalive: PeerKeepAlive::default(),
        peer_iom: false,
        peer_headers: false,
        peer_verbose: false,
        outbound_interest: OutboundInterest::new(seed),
        inbound_interest: InboundInterest::new(seed.rotate_left(17)),
        close_reason: None,
        transmit_queued: false,
        counters: Counters::default(),
        was_registered: false,
        dialled: None,
        tls_peer: None,
    }
}

/// Log prefix for connection-scoped lines: `<ip:port> - gid:<cid> - `.
pub(super) fn prefix(g: &GatewayLink) -> String {
    match g.peer {
        Some(p) => format!("{p} - gid:{} - ", g.cid),
        None => format!("gid:{} - ", g.cid),
    }
}

pub(super) fn accept(node: &mut Node, now: Instant, peer: Option<SocketAddr>) -> LinkId {
    let auth_timeout =
        node.gateway.as_ref().map_or(Duration::from_secs(2), |g| g.config.auth_timeout);
    let info = our_info(node).to_json();
    let mut link = new_link(node, now, Direction::Inbound, String::new());
    link.peer = peer;
    link.timers.set(GatewayTimer::Auth, now + auth_timeout);
    wire::info(link.outbox.buf(), &info);
    let line = format!("{}Processing inbound gateway connection", prefix(&link));
    let id = node.links.insert(Link::Gateway(Box::new(link)));
    node.log(LogLevel::Info, line);
    node.wake(id);
    id
}

pub(super) fn handle_dial(
    node: &mut Node,
    now: Instant,
    dial: DialId,
    result: Result<Option<SocketAddr>, String>,
) -> Option<LinkId> {
    let gw = node.gateway.as_mut()?;
    gw.timer_changed = true;
    let index = gw.directory.dialing(dial)?;
    let remote = gw.directory.remotes[index].name.clone();
    match result {
        Ok(peer) => {
            let mut link = new_link(node, now, Direction::Outbound, remote.clone());
            link.peer = peer;
            // Nothing is sent before the acceptor's INFO; give up if it never comes.
            let interval = node.config.ping_interval.min(MAX_PING_INTERVAL);
            link.timers.set(GatewayTimer::Info, now + interval * (node.config.ping_max + 1));
            let id = node.links.insert(Link::Gateway(Box::new(link)));
            let gw = node.gateway.as_mut()?;
            let dialled = gw.directory.dial_connected(dial, id).map(|(_, url)| url);
            if let Some(g) = gateway_mut(node, id) {
                g.dialled = dialled;
            }
            node.log(
                LogLevel::Info,
                format!("Creating outbound gateway connection to \"{remote}\""),
            );
            Some(id)
        }
        Err(reason) => {
            let r = &gw.directory.remotes[index];
            let kind = if r.explicit { "explicit" } else { "implicit" };
            let attempt = r.attempts;
            let level = if attempt == 1 { LogLevel::Error } else { LogLevel::Debug };
            // The URL that failed, as nats-server names it.
            let url = gw.directory.dialing_url(dial).map(ToString::to_string);
            let (next, forgotten) = {
                let inbound = inbound_names(node);
                let gw = node.gateway.as_mut()?;
                gw.directory.dial_failed(dial, now, &gw.config, |n| inbound.iter().any(|i| i == n))
            };
            node.log(
                level,
                format!(
                    "Error connecting to {kind} gateway \"{remote}\" ({}) (attempt {attempt}): {reason}",
                    url.unwrap_or_default()
                ),
            );
            if let Some(name) = forgotten {
                node.log(
                    LogLevel::Debug,
                    format!("Removing implicit gateway \"{name}\" after failed attempts"),
                );
            }
            if let Some(d) = next {
                emit_dial(node, d);
            }
            None
        }
    }
}

/// Names of the remotes with a registered inbound link.
fn inbound_names(node: &Node) -> Vec<String> {
    let Some(gw) = node.gateway.as_ref() else {
        return Vec::new();
    };
    gw.inbound
        .iter()
        .filter_map(|id| match node.links.get(*id) {
            Some(Link::Gateway(g)) => Some(g.remote.clone()),
            _ => None,
        })
        .collect()
}

fn emit_dial(node: &mut Node, d: DialRequest) {
    let kind = if d.explicit { "explicit" } else { "implicit" };
    let level = if d.attempt == 1 { LogLevel::Info } else { LogLevel::Debug };
    node.log(
        level,
        format!(
            "Connecting to {kind} gateway \"{}\" ({}) at {} (attempt {})",
            d.remote, d.url, d.url, d.attempt
        ),
    );
    node.events.push_back(Event::Dial(d));
}

pub(super) fn handle_node_timeout(node: &mut Node, now: Instant) {
    let Some(gw) = node.gateway.as_mut() else {
        return;
    };
    let dials = gw.directory.start_due(now, &mut node.rng);
    if !dials.is_empty()
        && let Some(gw) = node.gateway.as_mut()
    {
        gw.timer_changed = true;
    }
    for d in dials {
        emit_dial(node, d);
    }
}

fn gateway_mut(node: &mut Node, id: LinkId) -> Option<&mut GatewayLink> {
    match node.links.get_mut(id) {
        Some(Link::Gateway(g)) => Some(g),
        _ => None,
    }
}

pub(super) fn handle_read(node: &mut Node, id: LinkId, now: Instant, buf: &mut BytesMut) {
    loop {
        let Some(g) = gateway_mut(node, id) else {
            buf.clear();
            return;
        };
        if g.is_closing() {
            buf.clear();
            return;
        }
        g.last_activity = now;
        match g.parser.parse(buf) {
            Ok(None) => break,
            Ok(Some(op)) => process(node, id, now, op),
            Err(e) => close(node, id, GatewayError::Parse(e)),
        }
    }
    node.wake(id);
}

pub(super) fn handle_timeout(node: &mut Node, id: LinkId, now: Instant) {
    let interval = node.config.ping_interval.min(MAX_PING_INTERVAL);
    let ping_max = node.config.ping_max;
    let Some(g) = gateway_mut(node, id) else {
        return;
    };
    if g.is_closing() {
        return;
    }
    if g.timers.expired(GatewayTimer::Auth, now) {
        return close(node, id, GatewayError::AuthenticationTimeout);
    }
    if g.timers.expired(GatewayTimer::Info, now) {
        return close(node, id, GatewayError::NoInfo);
    }
    if !g.timers.expired(GatewayTimer::Ping, now) {
        return;
    }
    // Gateways PING on every tick, whatever the traffic.
    g.timers.set(GatewayTimer::Ping, now + interval);
    if g.keepalive.tick(now, ping_max) == Tick::Stale {
        return close(node, id, GatewayError::StaleConnection);
    }
    g.outbox.buf().extend_from_slice(encode::PING);
    node.wake(id);
}

fn arm_first_ping(node: &mut Node, id: LinkId, now: Instant) {
    let at = keepalive::first_ping_at(now, node.config.ping_interval, node.rng.next_u64());
    if let Some(g) = gateway_mut(node, id) {
        g.timers.set(GatewayTimer::Ping, at);
    }
}

/// Stop the link: queue the `-ERR` (if any) and tell the driver.
pub(super) fn close(node: &mut Node, id: LinkId, reason: GatewayError) {
    let Some(g) = gateway_mut(node, id) else {
        return;
    };
    if g.is_closing() {
        return;
    }
    if let Some(text) = reason.answer().err {
        encode::err(g.outbox.buf(), &text);
    }
    g.state = GatewayState::Closing;
    g.timers = GatewayTimers::default();
    let reason = CloseReason::Gateway(reason);
    g.close_reason = Some(reason.clone());
    let mut line = format!("{}Gateway connection closed: {reason}", prefix(g));
    if !g.remote_server_name.is_empty() {
        line.push_str(&format!(" - Remote: {}", g.remote_server_name));
    }
    node.events.push_back(Event::Close { link: id, reason, flush: true });
    node.log(LogLevel::Info, line);
}

pub(super) fn close_for_driver(node: &mut Node, id: LinkId, reason: DriverClose) {
    let reason = match reason {
        DriverClose::Shutdown => CloseReason::ServerShutdown,
        DriverClose::PeerClosed | DriverClose::ReadError | DriverClose::WriteError => {
            CloseReason::PeerClosed
        }
        // The driver asks only when a write made no progress at all within the deadline:
        // under nats-server's `retry` policy a slow gateway is kept, a stuck one is closed.
        DriverClose::WriteDeadline => CloseReason::SlowConsumer,
    };
    let Some(g) = gateway_mut(node, id) else {
        return;
    };
    if g.is_closing() {
        return;
    }
    g.state = GatewayState::Closing;
    g.timers = GatewayTimers::default();
    g.close_reason = Some(reason.clone());
    let mut line = format!("{}Gateway connection closed: {reason}", prefix(g));
    if !g.remote_server_name.is_empty() {
        line.push_str(&format!(" - Remote: {}", g.remote_server_name));
    }
    node.events.push_back(Event::Close { link: id, reason, flush: true });
    node.log(LogLevel::Info, line);
}

/// The connection is gone: forget the link; an outbound one is re-dialled.
pub(super) fn remove(node: &mut Node, id: LinkId, now: Instant) {
    let Some(Link::Gateway(g)) = node.links.remove(id) else {
        return;
    };
    let inbound = inbound_names(node);
    let Some(gw) = node.gateway.as_mut() else {
        return;
    };
    gw.inbound.retain(|l| *l != id);
    if g.direction == Direction::Outbound && g.was_registered {
        gw.outbound_count -= 1;
    }
    if g.direction == Direction::Outbound {
        let registered = g.was_registered;
        gw.timer_changed = true;
        let forgotten =
            gw.directory.outbound_closed(id, registered, now, &gw.config, &mut node.rng, |n| {
                inbound.iter().any(|i| i == n)
            });
        if let Some(name) = forgotten {
            node.log(LogLevel::Debug, format!("Removing implicit gateway \"{name}\""));
        }
    }
}

fn process(node: &mut Node, id: LinkId, now: Instant, op: GatewayOp) {
    let Some(g) = gateway_mut(node, id) else {
        return;
    };
    let (direction, state) = (g.direction, g.state);
    // An acceptor takes nothing but CONNECT first, not even PING (nats-server answers
    // `Authorization Violation`).
    if direction == Direction::Inbound
        && state == GatewayState::ExpectConnect
        && !matches!(op, GatewayOp::Connect(_))
    {
        let line = format!("{}authentication error", prefix(g));
        node.log(LogLevel::Error, line);
        return close(node, id, GatewayError::AuthorizationViolation);
    }
    match op {
        GatewayOp::Ping => {
            g.outbox.buf().extend_from_slice(encode::PONG);
        }
        GatewayOp::Pong => {
            g.keepalive.pong(now);
        }
        GatewayOp::Ok => {}
        GatewayOp::Err(text) => {
            let text = String::from_utf8_lossy(&text).into_owned();
            let line = format!("{}Gateway Error {text}", prefix(g));
            node.log(LogLevel::Error, line);
            close(node, id, GatewayError::PeerError(text));
        }
        GatewayOp::Connect(json) => match (direction, state) {
            (Direction::Inbound, GatewayState::ExpectConnect) => connect(node, id, now, &json),
            (Direction::Inbound, _) => {}
            (Direction::Outbound, _) => close(node, id, GatewayError::ProtocolViolation("CONNECT")),
        },
        GatewayOp::Info(json) => match (direction, state) {
            (Direction::Inbound, GatewayState::ExpectFirstInfo) => {
                inbound_first_info(node, id, now, &json)
            }
            // Later INFOs on an inbound link are ignored, as nats-server does.
            (Direction::Inbound, _) => {}
            (Direction::Outbound, _) => outbound_info(node, id, now, &json),
        },
        GatewayOp::RsPlus { account, subject, queue } => {
            if direction == Direction::Inbound || state != GatewayState::Established {
                let line = format!("{}Received RS+ from gateway on inbound connection", prefix(g));
                node.log(LogLevel::Error, line);
                return close(node, id, GatewayError::ProtocolViolation("RS+"));
            }
            let q = queue.as_ref().map(|(q, _)| q.as_ref());
            g.outbound_interest.handle_rs_plus(&account, &subject, q);
        }
        GatewayOp::RsMinus { account, subject, queue } => {
            if direction == Direction::Inbound || state != GatewayState::Established {
                let line = format!("{}Received RS- from gateway on inbound connection", prefix(g));
                node.log(LogLevel::Error, line);
                return close(node, id, GatewayError::ProtocolViolation("RS-"));
            }
            g.outbound_interest.handle_rs_minus(&account, &subject, queue.as_deref());
        }
        // nats-server 2.15.1 crashes on A+/A- received on an inbound link; we close it.
        GatewayOp::APlus(account) => {
            if direction == Direction::Inbound || state != GatewayState::Established {
                return close(node, id, GatewayError::ProtocolViolation("A+"));
            }
            g.outbound_interest.handle_a_plus(&account);
        }
        GatewayOp::AMinus(account) => {
            if direction == Direction::Inbound || state != GatewayState::Established {
                return close(node, id, GatewayError::ProtocolViolation("A-"));
            }
            g.outbound_interest.handle_a_minus(&account);
        }
        GatewayOp::Msg(msg) => {
            // Messages travel dialler → acceptor only; nats-server delivers (or crashes on)
            // messages received on an outbound link, we refuse them.
            if direction == Direction::Outbound || state != GatewayState::Established {
                return close(node, id, GatewayError::ProtocolViolation("RMSG"));
            }
            receive(node, id, now, msg);
        }
    }
}

fn connect(node: &mut Node, id: LinkId, now: Instant, json: &[u8]) {
    let Some(gw) = node.gateway.as_ref() else {
        return;
    };
    let (user, password) = (gw.config.user.clone(), gw.config.password.clone());
    let tls_auth = gw.config.tls_map || gw.config.tls_check_known_urls;
    let tls_ok = tls_auth && {
        let urls: Vec<&GatewayUrl> = gw.config.remotes.iter().flat_map(|r| &r.urls).collect();
        let known = gw.config.tls_check_known_urls.then_some(urls.as_slice());
        let peer = match node.links.get(id) {
            Some(Link::Gateway(g)) => g.tls_peer.as_ref(),
            _ => None,
        };
        super::tls::peer_authorized(peer, user.as_deref(), gw.config.tls_map, known)
    };
    let reject_unknown = gw.config.reject_unknown_cluster;
    let our_name = gw.config.name.clone();
    let Some(g) = gateway_mut(node, id) else {
        return;
    };
    g.timers.stop(GatewayTimer::Auth);
    let Ok(c) = GatewayConnect::from_json(json) else {
        return close(node, id, GatewayError::ProtocolViolation("CONNECT"));
    };
    if tls_auth && !tls_ok {
        let line = format!("{}authentication error", prefix(g));
        node.log(LogLevel::Error, line);
        return close(node, id, GatewayError::AuthorizationViolation);
    }
    if let Some(user) = user.as_ref().filter(|_| !tls_auth) {
        let ok = super::auth::secret_eq(&c.user, user)
            & super::auth::secret_eq(&c.pass, password.as_deref().unwrap_or(""));
        if !ok {
            let who =
                if c.user.is_empty() { String::new() } else { format!(" - User \"{}\"", c.user) };
            let line = format!("{}authentication error{who}", prefix(g));
            node.log(LogLevel::Error, line);
            return close(node, id, GatewayError::AuthorizationViolation);
        }
    }
    let remote = c.gateway.clone();
    if remote.is_empty() {
        let line = format!("{}attempted to connect to gateway port", prefix(g));
        node.log(LogLevel::Error, line);
        return close(node, id, GatewayError::NotAGatewayConnect);
    }
    let known = node.gateway.as_ref().is_some_and(|gw| gw.directory.find(&remote).is_some());
    if reject_unknown && !known {
        if let Some(g) = gateway_mut(node, id) {
            let line = format!("{}Rejecting connection from gateway \"{remote}\"", prefix(g));
            node.log(LogLevel::Error, line);
        }
        return close(node, id, GatewayError::RejectedUnknown(our_name));
    }
    let Some(g) = gateway_mut(node, id) else {
        return;
    };
    g.peer_verbose = c.verbose;
    g.state = GatewayState::ExpectFirstInfo;
    arm_first_ping(node, id, now);
}

fn parse_urls(info: &GatewayInfo) -> Vec<GatewayUrl> {
    info.gateway_urls.iter().filter_map(|u| GatewayUrl::parse(u)).collect()
}

fn inbound_first_info(node: &mut Node, id: LinkId, now: Instant, json: &[u8]) {
    let Ok(info) = GatewayInfo::from_json(json) else {
        return close(node, id, GatewayError::ProtocolViolation("INFO"));
    };
    if info.gateway.is_empty() {
        return close(node, id, GatewayError::ProtocolViolation("INFO"));
    }
    if duplicate_name(node, &info.server_name) {
        return duplicate(node, id, info.server_name);
    }
    let our_name = node.gateway.as_ref().map(|g| g.config.name.clone()).unwrap_or_default();
    let Some(g) = gateway_mut(node, id) else {
        return;
    };
    g.remote = info.gateway.clone();
    g.remote_id = info.server_id.clone();
    g.remote_server_name = info.server_name.clone();
    g.state = GatewayState::Established;
    let line = format!(
        "{}Inbound gateway connection from \"{}\" ({}) registered",
        prefix(g),
        info.gateway,
        info.server_id
    );
    node.log(LogLevel::Info, line);
    let Some(gw) = node.gateway.as_mut() else {
        return;
    };
    gw.inbound.push(id);
    // Implicit discovery: make sure we dial back to the cluster that dialled us.
    if info.gateway != our_name && gw.directory.learn(&info.gateway, &parse_urls(&info), now) {
        gw.timer_changed = true;
        handle_node_timeout(node, now);
    }
    announce_to_inbound(node, id, &info.gateway);
}

/// Everything a freshly registered inbound peer must hear: queue subscriptions, the gossip of
/// the other remotes we know, and (interest-only) every account's plain subscriptions.
fn announce_to_inbound(node: &mut Node, id: LinkId, peer_name: &str) {
    let Some(gw) = node.gateway.as_ref() else {
        return;
    };
    let interest_only = gw.config.interest_only;
    let our_name = gw.config.name.clone();
    let mut out = BytesMut::new();
    // The cluster's interest is the accounts' sublists (local subscriptions today; route-learned
    // ones join them when routes land).
    for account in &node.accounts {
        for (subject, queue) in account.sublist.subjects() {
            if let Some(q) = queue {
                wire::rs_plus(&mut out, account.name.as_bytes(), &subject, Some((&q, 1)));
            }
        }
    }
    for r in &gw.directory.remotes {
        if r.name == peer_name || r.urls.is_empty() {
            continue;
        }
        let urls = r.urls.iter().map(ToString::to_string).collect();
        let gossip = GatewayInfo::gossip(&node.server_id, &r.name, urls);
        wire::info(&mut out, &gossip.to_json());
    }
    let mut switched = Vec::new();
    if interest_only {
        let names: Vec<String> = node.accounts.iter().map(|a| a.name.clone()).collect();
        for name in names {
            all_subs(node, &mut out, &our_name, name.as_bytes());
            switched.push(name);
        }
    }
    if let Some(g) = gateway_mut(node, id) {
        for name in switched {
            g.inbound_interest.set_mode(name.as_bytes(), Mode::InterestOnly);
        }
        g.outbox.buf().extend_from_slice(&out);
    }
    node.wake(id);
}

/// `INFO cmd 2`, every plain subscription of `account`, `INFO cmd 3` (§5.4).
fn all_subs(node: &Node, out: &mut BytesMut, our_name: &str, account: &[u8]) {
    wire::info(out, &GatewayInfo::all_subs_start(our_name, account).to_json());
    let sublist = std::str::from_utf8(account)
        .ok()
        .and_then(|name| node.account_ids.get(name))
        .map(|id| &node.accounts[id.0 as usize].sublist);
    for (subject, queue) in sublist.map(|s| s.subjects()).unwrap_or_default() {
        if queue.is_none() {
            wire::rs_plus(out, account, &subject, None);
        }
    }
    wire::info(out, &GatewayInfo::all_subs_complete(our_name, account).to_json());
}

fn duplicate_name(node: &Node, name: &str) -> bool {
    !name.is_empty() && node.config.server_name.as_deref() == Some(name)
}

fn duplicate(node: &mut Node, id: LinkId, name: String) {
    node.log(LogLevel::Error, format!("Remote server has a duplicate name: \"{name}\""));
    close(node, id, GatewayError::DuplicateServerName(name));
}

fn outbound_info(node: &mut Node, id: LinkId, now: Instant, json: &[u8]) {
    let Ok(info) = GatewayInfo::from_json(json) else {
        return close(node, id, GatewayError::ProtocolViolation("INFO"));
    };
    let Some(gw) = node.gateway.as_ref() else {
        return;
    };
    let our_name = gw.config.name.clone();
    let reject_unknown = gw.config.reject_unknown_cluster;
    let Some(g) = gateway_mut(node, id) else {
        return;
    };
    let remote = g.remote.clone();
    if g.state == GatewayState::ExpectInfo {
        if info.gateway.is_empty() {
            let text = format!("Attempt to connect to gateway \"{remote}\" using wrong port");
            node.log(LogLevel::Error, text);
            return close(node, id, GatewayError::WrongPort(remote));
        }
        if info.gateway != remote {
            let line = format!(
                "Failing connection to gateway \"{remote}\", remote gateway name is \"{}\"",
                info.gateway
            );
            node.log(LogLevel::Error, line);
            return close(
                node,
                id,
                GatewayError::WrongName { ours: our_name, wanted: remote, got: info.gateway },
            );
        }
        if duplicate_name(node, &info.server_name) {
            return duplicate(node, id, info.server_name);
        }
        return register_outbound(node, id, now, info);
    }
    match info.gateway_cmd {
        0 if info.gateway == remote => {
            update_remote_urls(node, &remote, &info);
            gossip_to_routes(node, &remote);
        }
        CMD_GOSSIP if info.gateway != our_name && info.gateway != remote => {
            let Some(gw) = node.gateway.as_mut() else {
                return;
            };
            if reject_unknown && gw.directory.find(&info.gateway).is_none() {
                return;
            }
            if gw.directory.learn(&info.gateway, &parse_urls(&info), now) {
                gw.timer_changed = true;
                handle_node_timeout(node, now);
            }
        }
        CMD_GOSSIP => {}
        CMD_ALL_SUBS_START | CMD_ALL_SUBS_COMPLETE if info.gateway == remote => {
            let complete = info.gateway_cmd == CMD_ALL_SUBS_COMPLETE;
            if info.gateway_cmd_payload.is_empty() {
                let which = if complete { "complete" } else { "start" };
                return close(node, id, GatewayError::MissingCommandAccount(which));
            }
            g.outbound_interest.handle_all_subs(&info.gateway_cmd_payload, complete);
        }
        0 => {
            close(
                node,
                id,
                GatewayError::WrongName { ours: our_name, wanted: remote, got: info.gateway },
            );
        }
        cmd => {
            let line = format!("Received unknown command {cmd} from gateway \"{remote}\"");
            node.log(LogLevel::Warn, line);
        }
    }
}

fn update_remote_urls(node: &mut Node, remote: &str, info: &GatewayInfo) {
    let urls = parse_urls(info);
    if let Some(gw) = node.gateway.as_mut()
        && let Some(i) = gw.directory.find(remote)
    {
        gw.directory.replace_urls(i, &urls);
    }
}

fn register_outbound(node: &mut Node, id: LinkId, now: Instant, info: GatewayInfo) {
    let our = our_info(node).to_json();
    let Some(gw) = node.gateway.as_ref() else {
        return;
    };
    let (mut user, mut pass) = (gw.config.user.clone(), gw.config.password.clone());
    let remote_index = gw.directory.remotes.iter().position(
        |r| matches!(r.state, crate::gateway::directory::DialState::Connected(l) if l == id),
    );
    if remote_index.is_none() {
        return close(node, id, GatewayError::DuplicateOutbound);
    }
    // Credentials from the dialled URL win over our own gateway authorization.
    if let Some(Link::Gateway(g)) = node.links.get(id)
        && let Some(url) = g.dialled.as_ref().filter(|u| u.user.is_some())
    {
        user = url.user.clone();
        pass = url.password.clone();
    }
    let connect = GatewayConnect::new(
        &node.server_id,
        &gw.config.name,
        user.as_deref().unwrap_or(""),
        pass.as_deref().unwrap_or(""),
        gw.config.tls || gw.config.tls_remotes.contains(&info.gateway),
    );
    let remote = info.gateway.clone();
    update_remote_urls(node, &remote, &info);
    let Some(g) = gateway_mut(node, id) else {
        return;
    };
    wire::connect(g.outbox.buf(), &connect.to_json());
    wire::info(g.outbox.buf(), &our);
    g.timers.stop(GatewayTimer::Info);
    g.state = GatewayState::Established;
    g.peer_iom = info.gateway_iom;
    g.was_registered = true;
    if let Some(gw) = node.gateway.as_mut() {
        gw.outbound_count += 1;
    }
    let Some(g) = gateway_mut(node, id) else {
        return;
    };
    g.peer_headers = info.headers;
    g.remote_id = info.server_id.clone();
    g.remote_server_name = info.server_name.clone();
    let line = format!(
        "{}Outbound gateway connection to \"{remote}\" ({}) registered",
        prefix(g),
        info.server_id
    );
    node.log(LogLevel::Info, line);
    arm_first_ping(node, id, now);
    node.wake(id);
    gossip_to_routes(node, &remote);
}

/// Our outbound connection to `remote` registered or heard new URLs: tell every server of
/// our cluster, so each dials that cluster too (route-protocol §6).
fn gossip_to_routes(node: &mut Node, remote: &str) {
    if node.cluster.is_none() {
        return;
    }
    for json in route_gossip(node, Some(remote)) {
        crate::route::tell_peers(node, &json);
    }
}

/// A new account: with forced interest-only mode, switch it on every inbound link.
pub(super) fn account_created(node: &mut Node, account: AccountId) {
    let Some(gw) = node.gateway.as_mut() else {
        return;
    };
    if !gw.config.interest_only || gw.inbound.is_empty() {
        return;
    }
    let our_name = gw.config.name.clone();
    let name = node.accounts[account.0 as usize].name.clone();
    let inbound = gw.inbound.clone();
    for id in inbound {
        let mut out = BytesMut::new();
        all_subs(node, &mut out, &our_name, name.as_bytes());
        if let Some(g) = gateway_mut(node, id) {
            g.inbound_interest.set_mode(name.as_bytes(), Mode::InterestOnly);
            g.outbox.buf().extend_from_slice(&out);
        }
        node.wake(id);
    }
}

/// A subscription was added to `account`'s sublist (call after the insert).
pub(super) fn interest_added(
    node: &mut Node,
    account: AccountId,
    subject: &[u8],
    queue: Option<&[u8]>,
) {
    if node.accounts[account.0 as usize].sublist.count(subject, queue) == 1 {
        local_interest(node, account, subject, queue, true);
    }
}

/// A subscription was removed from `account`'s sublist (call after the removal).
pub(super) fn interest_removed(
    node: &mut Node,
    account: AccountId,
    subject: &[u8],
    queue: Option<&[u8]>,
) {
    if node.accounts[account.0 as usize].sublist.count(subject, queue) == 0 {
        local_interest(node, account, subject, queue, false);
    }
}

/// Tell every inbound peer on a 0→1 or 1→0 transition of the cluster's interest, counted per
/// exact subject and queue (§5.2).
fn local_interest(
    node: &mut Node,
    account: AccountId,
    subject: &[u8],
    queue: Option<&[u8]>,
    added: bool,
) {
    let Some(gw) = node.gateway.as_mut() else {
        return;
    };
    let name = node.accounts[account.0 as usize].name.as_bytes();
    let name = Bytes::copy_from_slice(name);
    for id in gw.inbound.clone() {
        let Some(Link::Gateway(g)) = node.links.get_mut(id) else {
            continue;
        };
        if !g.is_established() {
            continue;
        }
        let out = g.outbox.buf();
        let entries = &mut g.inbound_interest.accounts;
        if let Some(q) = queue {
            if added {
                wire::rs_plus(out, &name, subject, Some((q, 1)));
                // A queue subscription lifts an `A-` without an `A+` (nats-server does so).
                if matches!(entries.get(&name), Some(InboundEntry::NoInterest)) {
                    entries.remove(&name);
                }
            } else {
                wire::rs_minus(out, &name, subject, Some(q));
            }
        } else if added {
            match entries.get_mut(&name) {
                Some(InboundEntry::Tracked { mode: Mode::InterestOnly, .. }) => {
                    wire::rs_plus(out, &name, subject, None);
                }
                Some(InboundEntry::Tracked { mode: Mode::Optimistic, no_interest }) => {
                    let before = no_interest.len();
                    if subject::is_literal(subject) {
                        no_interest.remove(subject);
                    } else {
                        no_interest.retain(|s| !subject::matches(subject, s));
                    }
                    if no_interest.len() != before {
                        wire::rs_plus(out, &name, subject, None);
                    }
                }
                Some(InboundEntry::NoInterest) => {
                    wire::a_plus(out, &name);
                    entries.remove(&name);
                }
                Some(InboundEntry::Tracked { mode: Mode::Transitioning, .. }) | None => {}
            }
        } else if g.inbound_interest.mode(&name) == Mode::InterestOnly {
            wire::rs_minus(out, &name, subject, None);
        }
        node.wake(id);
    }
}

/// Forward a message published by a local client to every outbound gateway that wants it.
/// `served` holds the queue groups that already got it (locally); it grows with the groups
/// each gateway takes, so each group gets the message in exactly one cluster. Returns whether
/// it went to any gateway (which counts as delivered for no-responders).
pub(super) fn forward(
    node: &mut Node,
    now: Instant,
    account: AccountId,
    p: &Message<'_>,
    served: &mut Vec<Bytes>,
) -> bool {
    // Disjoint borrows of the node's parts: no per-message allocation on this path.
    let Node { gateway, links, accounts, events, totals, subs, .. } = node;
    let Some(gw) = gateway.as_mut() else {
        return false;
    };
    if p.subject.is_empty() || gw.outbound_count == 0 {
        return false;
    }
    // Map the reply once per message when a fresh subscription could receive it.
    let mut mapping = BytesMut::new();
    let mapped_reply = match p.reply {
        Some(reply)
            if recently_subscribed(&mut accounts[account.0 as usize].sublist, subs, reply, now) =>
        {
            reply::map_reply(&mut mapping, &gw.cluster_hash, &gw.server_hash, reply);
            Some(&mapping[..])
        }
        other => other,
    };
    let name = accounts[account.0 as usize].name.as_bytes();
    let mut sent = false;
    let mut queues: Vec<Bytes> = Vec::new();
    for i in 0..gw.directory.remotes.len() {
        let Some(id) = gw.directory.outbound(i) else {
            continue;
        };
        let Some(Link::Gateway(g)) = links.get_mut(id) else {
            continue;
        };
        if !g.is_established() {
            continue;
        }
        let decision = g.outbound_interest.decide(name, p.subject, g.peer_iom);
        queues.clear();
        if let Some(m) = &decision.queues {
            for group in &m.queues {
                if !served.contains(&group.name) {
                    served.push(group.name.clone());
                    queues.push(group.name.clone());
                }
            }
        }
        if !decision.plain && queues.is_empty() {
            continue;
        }
        send_routed(g, name, p.subject, mapped_reply, &queues, p);
        totals.out_msgs += 1;
        totals.out_bytes += p.payload.len() as u64;
        if !g.transmit_queued {
            g.transmit_queued = true;
            events.push_back(Event::Transmit(id));
        }
        sent = true;
    }
    sent
}

/// Whether a subscription made in the last two seconds matches `reply`: the requester's
/// inbox may not be known across the gateway yet, so the reply gets the `_GR_.` mapping.
fn recently_subscribed(
    sublist: &mut crate::sublist::Sublist<super::SubKey>,
    subs: &[Option<super::Subscription>],
    reply: &[u8],
    now: Instant,
) -> bool {
    let m = sublist.matches(reply);
    let fresh = |key: &super::SubKey| {
        subs.get(key.slot())
            .and_then(Option::as_ref)
            .is_some_and(|s| now.saturating_duration_since(s.created) < RECENT_SUBSCRIPTION)
    };
    m.plain.iter().any(fresh) || m.queues.iter().any(|g| g.members.iter().any(fresh))
}

fn send_routed(
    g: &mut GatewayLink,
    account: &[u8],
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: &[Bytes],
    p: &Message<'_>,
) {
    let out = g.outbox.buf();
    if p.header_len > 0 && g.peer_headers {
        wire::hmsg(out, account, subject, reply, queues.iter(), p.header_len, p.payload);
    } else {
        let body = p.payload.get(p.header_len..).unwrap_or_default();
        wire::rmsg(out, account, subject, reply, queues.iter(), body);
    }
    g.counters.out_msgs += 1;
    g.counters.out_bytes += p.payload.len() as u64;
}

/// A client published to a subject it got as a mapped reply: send it straight back to the
/// cluster the request came from, ignoring interest (§6.6 direct send).
pub(super) fn send_direct(
    node: &mut Node,
    account: AccountId,
    full: &[u8],
    p: &Message<'_>,
) -> bool {
    let Some(mapped) = reply::parse_mapped(full) else {
        return false;
    };
    let Some(gw) = node.gateway.as_ref() else {
        return false;
    };
    let target = gw.directory.remotes.iter().enumerate().find_map(|(i, r)| {
        (reply::hash6(r.name.as_bytes()).as_slice() == mapped.cluster_hash)
            .then(|| gw.directory.outbound(i))
            .flatten()
    });
    let Some(id) = target else {
        return false;
    };
    let name = node.accounts[account.0 as usize].name.clone();
    let Some(Link::Gateway(g)) = node.links.get_mut(id) else {
        return false;
    };
    send_routed(g, name.as_bytes(), full, p.reply, &[], p);
    node.wake(id);
    true
}

/// A message arrived on an inbound link: strip a mapped reply addressed to us, find the
/// account without allocating, and let the router deliver it in this cluster.
fn receive(node: &mut Node, id: LinkId, now: Instant, msg: RoutedMsg) {
    let Some(g) = gateway_mut(node, id) else {
        return;
    };
    g.counters.in_msgs += 1;
    g.counters.in_bytes += msg.payload().len() as u64;
    if g.peer_verbose {
        g.outbox.buf().extend_from_slice(encode::OK);
    }
    node.totals.in_msgs += 1;
    node.totals.in_bytes += msg.payload().len() as u64;
    let mut subject = msg.subject();
    let mut reply_came_home = false;
    // A reply for a request made on another server of this cluster: on to it, unchanged.
    let mut for_peer = None;
    if subject.starts_with(reply::PREFIX) {
        let Some(gw) = node.gateway.as_ref() else {
            return;
        };
        match reply::parse_mapped(subject) {
            // A reply to a request that left from this server: deliver under the real subject.
            Some(m)
                if m.cluster_hash == gw.cluster_hash.as_slice()
                    && m.server_hash == gw.server_hash.as_slice() =>
            {
                subject = m.reply;
                reply_came_home = true;
            }
            Some(m) if m.cluster_hash == gw.cluster_hash.as_slice() => {
                let mut hash = [0u8; reply::HASH_LEN];
                hash.copy_from_slice(m.server_hash);
                for_peer = Some(hash);
            }
            // Mapped for another cluster: not ours to deliver.
            _ => return,
        }
    }
    let account = std::str::from_utf8(msg.account()).ok().and_then(|n| node.account_ids.get(n));
    let Some(&account) = account else {
        return no_interest(node, id, msg.account(), None);
    };
    if let Some(hash) = for_peer {
        let m = Message {
            subject,
            reply: msg.reply(),
            header_len: msg.header_len(),
            payload: msg.payload(),
        };
        crate::route::send_to_server(node, account, &hash, &m);
        return;
    }
    let (reply, mapped) = reply::strip(msg.reply());
    let m = Message { subject, reply, header_len: msg.header_len(), payload: msg.payload() };
    let origin = Origin::Gateway { queues: msg.queues(), mapped, reply_came_home };
    if router::route(node, now, origin, account, &m) == Outcome::NoInterest {
        no_interest(node, id, msg.account(), Some(m.subject));
    }
}

/// Nothing here wants a message from an optimistic peer: say so, once, with `A-` for an
/// account without interest or `RS-` for the subject; past the threshold switch the account
/// to interest-only instead (§5.2 item 5). Interest-only peers are told nothing.
fn no_interest(node: &mut Node, id: LinkId, account: &[u8], subject: Option<&[u8]>) {
    let Some(gw) = node.gateway.as_ref() else {
        return;
    };
    let our_name = gw.config.name.clone();
    let account_has_interest = std::str::from_utf8(account)
        .ok()
        .and_then(|name| node.account_ids.get(name))
        .is_some_and(|id| !node.accounts[id.0 as usize].sublist.is_empty());
    let seed = gw.seed;
    let Some(g) = gateway_mut(node, id) else {
        return;
    };
    let entries = &mut g.inbound_interest.accounts;
    match entries.get_mut(account) {
        Some(InboundEntry::NoInterest) => {}
        Some(InboundEntry::Tracked { mode: Mode::InterestOnly | Mode::Transitioning, .. }) => {}
        None if subject.is_none() || !account_has_interest => {
            wire::a_minus(g.outbox.buf(), account);
            entries.insert(Bytes::copy_from_slice(account), InboundEntry::NoInterest);
        }
        entry => {
            let Some(subject) = subject else {
                return;
            };
            if entry.is_none() {
                entries.insert(
                    Bytes::copy_from_slice(account),
                    InboundEntry::Tracked {
                        mode: Mode::Optimistic,
                        no_interest: hash::set_with(seed),
                    },
                );
            }
            let Some(InboundEntry::Tracked { no_interest, .. }) = entries.get_mut(account) else {
                return;
            };
            if no_interest.contains(subject) {
                return;
            }
            if no_interest.len() >= INTEREST_ONLY_THRESHOLD {
                let mut out = BytesMut::new();
                all_subs(node, &mut out, &our_name, account);
                if let Some(g) = gateway_mut(node, id) {
                    g.inbound_interest.set_mode(account, Mode::InterestOnly);
                    g.outbox.buf().extend_from_slice(&out);
                }
                node.log(
                    LogLevel::Debug,
                    format!(
                        "Gateway: switching account \"{}\" to Interest-Only mode",
                        String::from_utf8_lossy(account)
                    ),
                );
                return;
            }
            no_interest.insert(Bytes::copy_from_slice(subject));
            wire::rs_minus(g.outbox.buf(), account, subject, None);
        }
    }
}
