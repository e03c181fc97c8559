//! The route handshake in both directions and every op's place in it (route-protocol §2):
//! the acceptor sends its INFO at once and wants CONNECT first, then the peer's INFO; the
//! solicitor sends CONNECT, waits for the acceptor's INFO, answers with its own and
//! registers. Identity checks (ourselves, a duplicate route, a duplicate server name, another
//! cluster) run on the peer's INFO.

use std::time::Instant;

use super::pool::{self, ExtraDial, ExtraState, Peer, Slot};
use super::{ClusterNode, arm_first_ping, close, forward, gossip, interest, prefix, route_mut};
use crate::error::RouteError;
use crate::link::route::{RouteState, RouteTimer};
use crate::node::{LinkId, LogLevel, Node};
use crate::peer_url::PeerUrl;
use crate::proto::route::{self as wire, RouteOp};
use crate::proto::route_json::{RouteConnect, RouteInfo, SubjectPermission};

/// The route protocol level (same as gateways).
const ROUTE_PROTO: i64 = 3;

/// The compression mode our first INFO on a connection names: we do not compress, and
/// saying `off` (rather than leaving the field out, "not supported") is how a nats-server
/// configured for S2 hears it cleanly (route-protocol §2.5).
pub(super) const DECLINED_COMPRESSION: &str = "off";

/// Our route INFO, as every INFO we send on a route starts.
pub(super) fn our_info(node: &Node) -> RouteInfo {
    let Some(cluster) = node.cluster.as_deref() else {
        return RouteInfo::default();
    };
    let c = &cluster.config;
    RouteInfo {
        server_id: node.server_id.clone(),
        server_name: node.server_name().to_owned(),
        version: node.config.version.clone(),
        proto: ROUTE_PROTO,
        go: node.config.runtime.clone(),
        host: c.advertise.host.clone(),
        port: i64::from(c.advertise.port),
        headers: node.config.headers,
        auth_required: c.user.is_some(),
        tls_required: c.tls,
        tls_verify: c.tls,
        max_payload: i32::try_from(node.config.limits.max_payload).unwrap_or(i32::MAX),
        ip: if c.advertise_set { format!("nats-route://{}/", c.advertise) } else { String::new() },
        cluster: c.name.clone(),
        cluster_dynamic: c.dynamic_name,
        connect_urls: if c.no_advertise { Vec::new() } else { c.client_urls.clone() },
        gateway_url: node
            .gateway
            .as_ref()
            .map(|g| g.config.advertise.to_string())
            .unwrap_or_default(),
        route_pool_size: i64::from(c.pool_size.max(0)),
        import: c.permissions.as_ref().and_then(|p| rules(p.publish.as_ref())),
        export: c.permissions.as_ref().and_then(|p| rules(p.subscribe.as_ref())),
        ..RouteInfo::default()
    }
}

/// Permission rules as INFO `import`/`export` carry them.
fn rules(r: Option<&crate::permissions::SubjectRules>) -> Option<SubjectPermission> {
    r.map(|r| SubjectPermission { allow: r.allow.clone(), deny: r.deny.clone() })
}

/// The CONNECT we send on a route we dialled to `url`: its credentials, else our own route
/// authorization (a gossiped URL carries none).
pub(super) fn our_connect(node: &Node, url: &PeerUrl) -> Vec<u8> {
    let Some(cluster) = node.cluster.as_deref() else {
        return Vec::new();
    };
    let c = &cluster.config;
    let (user, pass) = match &url.user {
        Some(u) => (u.as_str(), url.password.as_deref().unwrap_or("")),
        None => (c.user.as_deref().unwrap_or(""), c.password.as_deref().unwrap_or("")),
    };
    RouteConnect::new(&node.server_id, &c.name, c.dynamic_name, user, pass, c.tls).to_json()
}

/// One op from route `id`.
pub(super) fn process(node: &mut Node, id: LinkId, now: Instant, op: RouteOp) {
    let Some(r) = route_mut(node, id) else {
        return;
    };
    let state = r.state;
    // An acceptor takes nothing but CONNECT first, not even PING.
    if state == RouteState::ExpectConnect && !matches!(op, RouteOp::Connect(_)) {
        let line = format!("{}authentication error", prefix(r));
        node.log(LogLevel::Error, line);
        return close(node, id, RouteError::AuthorizationViolation);
    }
    match op {
        RouteOp::Ping => r.outbox.buf().extend_from_slice(crate::proto::encode::PONG),
        RouteOp::Pong => r.keepalive.pong(now),
        RouteOp::Ok => {}
        RouteOp::Err(text) => {
            let text = String::from_utf8_lossy(&text).into_owned();
            let line = format!("{}Route Error {text}", prefix(r));
            node.log(LogLevel::Error, line);
            close(node, id, RouteError::PeerError(text));
        }
        RouteOp::Connect(json) => match state {
            RouteState::ExpectConnect => connect(node, id, now, &json),
            // A later CONNECT is decoded again; another cluster name ends the route.
            _ => match RouteConnect::from_json(&json) {
                Ok(c) if c.cluster == cluster_name(node) => {}
                _ => close(node, id, RouteError::ClusterNameConflict),
            },
        },
        RouteOp::Info(json) => {
            let info = match RouteInfo::from_json(&json) {
                Ok(info) => info,
                Err(e) => {
                    let line = format!("{}{}", prefix(r), e.0);
                    node.log(LogLevel::Error, line);
                    return close(node, id, RouteError::ProtocolViolation("INFO"));
                }
            };
            if state == RouteState::ExpectInfo {
                first_info(node, id, now, info);
            } else {
                gossip::later_info(node, id, now, info);
            }
        }
        _ if state != RouteState::Established => {
            close(node, id, RouteError::ProtocolViolation("message before INFO"))
        }
        RouteOp::RsPlus { account, subject, queue }
        | RouteOp::LsPlus { account, subject, queue, .. } => {
            interest::remote_added(node, id, now, &account, &subject, queue);
        }
        RouteOp::RsMinus { account, subject, queue }
        | RouteOp::LsMinus { account, subject, queue, .. } => {
            interest::remote_removed(node, id, &account, &subject, queue.as_deref());
        }
        RouteOp::Msg(msg) | RouteOp::Lmsg { msg, .. } => forward::receive(node, id, now, msg),
    }
}

fn cluster_name(node: &Node) -> String {
    node.cluster.as_ref().map(|c| c.config.name.clone()).unwrap_or_default()
}

/// The acceptor's check of CONNECT: a client or gateway on the wrong port, credentials, the
/// cluster name.
fn connect(node: &mut Node, id: LinkId, now: Instant, json: &[u8]) {
    let Some(cluster) = node.cluster.as_deref() else {
        return;
    };
    let (user, password) = (cluster.config.user.clone(), cluster.config.password.clone());
    let ours = cluster.config.name.clone();
    // nats-server's `isRouterAuthorized`: with a TLS map or known-URL check, the verified
    // certificate decides and the CONNECT credentials are not looked at.
    let config = &cluster.config;
    let tls_auth = config.tls_map || config.tls_check_known_urls;
    let tls_ok = tls_auth && {
        let urls: Vec<&PeerUrl> = config.routes.iter().collect();
        let known = config.tls_check_known_urls.then_some(urls.as_slice());
        let peer = match node.links.get(id) {
            Some(crate::link::Link::Route(r)) => r.tls_peer.as_ref(),
            _ => None,
        };
        crate::node::peer_authorized(peer, user.as_deref(), config.tls_map, known)
    };
    let Some(r) = route_mut(node, id) else {
        return;
    };
    r.timers.stop(RouteTimer::Auth);
    let Ok(c) = RouteConnect::from_json(json) else {
        return close(node, id, RouteError::ProtocolViolation("CONNECT"));
    };
    let p = prefix(r);
    if !c.lang.is_empty() {
        node.log(LogLevel::Error, format!("{p}attempted to connect to route port"));
        close(node, id, RouteError::NotARouteConnect);
        // nats-server logs the error that ends parsing once more, after the close line.
        return node.log(LogLevel::Error, format!("{p}attempted to connect to route port"));
    }
    if !c.gateway.is_empty() {
        let err = RouteError::GatewayOnRoutePort(c.gateway.clone());
        let text = err.answer().err.unwrap_or_default();
        node.log(LogLevel::Error, format!("{p}{text}"));
        close(node, id, err);
        return node.log(LogLevel::Error, format!("{p}wrong gateway"));
    }
    if tls_auth && !tls_ok {
        node.log(LogLevel::Error, format!("{p}authentication error"));
        return close(node, id, RouteError::AuthorizationViolation);
    }
    if let Some(user) = user.as_ref().filter(|_| !tls_auth) {
        let ok = crate::node::secret_eq(&c.user, user)
            & crate::node::secret_eq(&c.pass, password.as_deref().unwrap_or(""));
        if !ok {
            let who =
                if c.user.is_empty() { String::new() } else { format!(" - User \"{}\"", c.user) };
            node.log(LogLevel::Error, format!("{p}authentication error{who}"));
            return close(node, id, RouteError::AuthorizationViolation);
        }
    }
    if c.cluster != ours && !adopt_name(node, &c.cluster, c.cluster_dynamic, &c.name) {
        let err = RouteError::ClusterNameMismatch { theirs: c.cluster.clone(), ours };
        let text = err.answer().err.unwrap_or_default();
        node.log(LogLevel::Error, format!("{p}{text}"));
        close(node, id, err);
        return node.log(LogLevel::Error, format!("{p}cluster name from remote server conflicts"));
    }
    let wait = info_deadline(node, now);
    let Some(r) = route_mut(node, id) else {
        return;
    };
    r.peer_verbose = c.verbose;
    r.state = RouteState::ExpectInfo;
    r.timers.set(RouteTimer::Info, wait);
}

/// When a peer that sent CONNECT must have sent its INFO: the stale wait of a route.
fn info_deadline(node: &Node, now: Instant) -> Instant {
    let cluster = node.cluster.as_deref();
    let interval = cluster.map_or(super::MAX_PING_INTERVAL, ClusterNode::ping_interval);
    now + interval * (cluster.map_or(2, |c| c.config.ping_max) + 1)
}

/// A peer names another cluster: a server whose name was generated takes the peer's if the
/// peer's was configured or sorts after its own, and closes its other routes so they form
/// again under the new name (nats-server does the same). Returns whether the names now agree.
pub(super) fn adopt_name(
    node: &mut Node,
    theirs: &str,
    their_dynamic: bool,
    peer_id: &str,
) -> bool {
    let Some(cluster) = node.cluster.as_mut() else {
        return false;
    };
    let ours = &cluster.config.name;
    if theirs.is_empty()
        || !cluster.config.dynamic_name
        || (their_dynamic && ours.as_str() >= theirs)
    {
        return false;
    }
    cluster.config.name = theirs.to_owned();
    let others: Vec<LinkId> = cluster
        .routes
        .iter()
        .copied()
        .filter(|l| match node.links.get(*l) {
            Some(crate::link::Link::Route(r)) => r.remote_id() != peer_id,
            _ => false,
        })
        .collect();
    node.log(LogLevel::Info, format!("Cluster name updated to {theirs}"));
    for link in others {
        close(node, link, RouteError::ClusterNameConflict);
    }
    true
}

/// The peer's first INFO: identity checks, then registration.
fn first_info(node: &mut Node, id: LinkId, now: Instant, info: RouteInfo) {
    let Some(cluster) = node.cluster.as_deref() else {
        return;
    };
    let ours = cluster.config.name.clone();
    let Some(r) = route_mut(node, id) else {
        return;
    };
    let (p, solicited, dialled) = (prefix(r), r.solicited, r.dialled.clone());
    if info.server_id == node.server_id {
        // We dialled ourselves (a route list naming every server, us included): stop that URL.
        if let Some(url) = dialled {
            node.log(
                LogLevel::Debug,
                format!("{p}Detected route to self, ignoring \"nats-route://{url}/\""),
            );
            if let Some(c) = node.cluster.as_mut() {
                c.directory.forget_self(id);
            }
        }
        return close(node, id, RouteError::DuplicateRoute);
    }
    // As nats-server, only the acceptor checks names; the dialler registers and is closed.
    if !solicited && !info.server_name.is_empty() && info.server_name == node.server_name() {
        let name = info.server_name.clone();
        node.log(LogLevel::Error, format!("{p}Remote server has a duplicate name: \"{name}\""));
        return close(node, id, RouteError::DuplicateServerName(name));
    }
    if info.cluster != ours
        && !adopt_name(node, &info.cluster, info.cluster_dynamic, &info.server_id)
    {
        if !solicited {
            let err = RouteError::ClusterNameMismatch { theirs: info.cluster.clone(), ours };
            node.log(LogLevel::Error, format!("{p}{}", err.answer().err.unwrap_or_default()));
        }
        return close(node, id, RouteError::ClusterNameConflict);
    }
    let Some(cluster) = node.cluster.as_deref() else {
        return;
    };
    let wanted = match node.links.get(id) {
        Some(crate::link::Link::Route(r)) => r.slot.clone(),
        _ => None,
    };
    let (slot, size) =
        match pool::admit(&info, cluster.config.pool_size, solicited, wanted.as_ref()) {
            Ok(admitted) => admitted,
            Err(err) => {
                node.log(LogLevel::Error, format!("{p}{}", err.answer().err.unwrap_or_default()));
                return close(node, id, err);
            }
        };
    let existing = cluster.peers.get(&info.server_id).and_then(|peer| peer.get(&slot));
    if let Some(existing) = existing {
        // Both servers dialled each other for the same slot: both keep the connection dialled
        // by the server with the smaller id, so they never close both.
        let existing_ours =
            matches!(node.links.get(existing), Some(crate::link::Link::Route(e)) if e.solicited);
        let smaller_is_us = node.server_id < info.server_id;
        let keep_new = existing_ours != solicited && solicited == smaller_is_us;
        if !keep_new {
            let line = if solicited {
                format!(
                    "{p}Route pool size reached, closing extra connection to \"{}\"",
                    info.server_id
                )
            } else {
                format!("{p}Detected duplicate remote route \"{}\"", info.server_id)
            };
            node.log(LogLevel::Debug, line);
            // The URL we dialled leads to a server we already reach: park it, do not re-dial.
            if let Some(c) = node.cluster.as_mut() {
                c.directory.registered(id, &info.server_id);
                if solicited {
                    // The other side fills the pool.
                    c.extras.retain(|e| e.peer_id != info.server_id);
                }
            }
            return close(node, id, RouteError::DuplicateRoute);
        }
        // The new connection replaces the one in its slot.
        if let Some(c) = node.cluster.as_mut()
            && let Some(peer) = c.peers.get_mut(&info.server_id)
        {
            peer.remove(existing);
            if !solicited {
                c.extras.retain(|e| e.peer_id != info.server_id);
            }
        }
        // nats-server keeps a replaced configured route's standing (`upgradeRouteToSolicited`).
        let was_explicit =
            matches!(node.links.get(existing), Some(crate::link::Link::Route(e)) if e.explicit);
        if let Some(r) = route_mut(node, id) {
            r.explicit |= was_explicit;
        }
        register(node, id, now, info, slot, size);
        gossip::resend_to(node, id);
        return close(node, existing, RouteError::DuplicateRoute);
    }
    register(node, id, now, info, slot, size);
}

/// The route is up: send our INFO (solicitor) and our interest; tell the other peers about
/// its server (on its pool index 0 or a pinned connection); for a server's first connection,
/// take in its client and gateway URLs and dial the rest of its pool.
fn register(node: &mut Node, id: LinkId, now: Instant, info: RouteInfo, slot: Slot, size: usize) {
    let mut ours = our_info(node);
    ours.compression = DECLINED_COMPRESSION.to_owned();
    match &slot {
        Slot::Pool(i) => ours.route_pool_idx = *i as i64,
        Slot::Pinned(account) => ours.route_account = account.clone(),
        Slot::NoPool => {}
    }
    // A route dialled because of gossip passes the gossip's mode on, as nats-server does.
    ours.gossip_mode = route_mut(node, id).map_or(0, |r| r.gossip_mode);
    let ours = ours.to_json();
    let peer_id = info.server_id.clone();
    let key = crate::hash::fnv1a64(peer_id.as_bytes());
    let Some(r) = route_mut(node, id) else {
        return;
    };
    if r.solicited {
        wire::info(r.outbox.buf(), &ours);
    }
    r.timers.stop(RouteTimer::Info);
    r.state = RouteState::Established;
    r.was_registered = true;
    r.peer_key = key;
    r.slot = Some(slot.clone());
    if let Slot::Pinned(account) = &slot {
        // The account's name is left out of every line on this connection.
        r.parser.set_pinned_account(Some(bytes::Bytes::from(account.clone())));
    }
    let (solicited, dialled) = (r.solicited, r.dialled.clone());
    let client_urls = info.connect_urls.clone();
    let gateway_url = info.gateway_url.clone();
    let what = match &slot {
        Slot::Pinned(account) => format!(" for account \"{account}\""),
        _ => String::new(),
    };
    let line = format!("{}Registering remote route \"{peer_id}\"{what}", prefix(r));
    r.info = Some(Box::new(info));
    node.log(LogLevel::Debug, line);
    let Some(cluster) = node.cluster.as_mut() else {
        return;
    };
    let first = cluster.peers.get(&peer_id).is_none_or(Peer::is_empty);
    let peer = cluster.peers.entry(peer_id.clone()).or_insert_with(|| Peer {
        no_pool: slot == Slot::NoPool,
        pool: vec![None; size],
        pinned: Default::default(),
        url: None,
        reply_hash: crate::gateway::reply::hash6(peer_id.as_bytes()),
    });
    peer.set(&slot, id);
    if solicited && peer.url.is_none() {
        peer.url = dialled.clone();
    }
    cluster.routes.push(id);
    cluster.directory.registered(id, &peer_id);
    if first
        && solicited
        && let Some(url) = dialled
    {
        // Fill the pool: every index and every pinned account gets its connection.
        let missing = peer.missing(&cluster.config.pinned_accounts);
        for slot in missing {
            let state = ExtraState::Waiting(now);
            cluster.extras.push(ExtraDial {
                peer_id: peer_id.clone(),
                slot,
                url: url.clone(),
                state,
            });
        }
        cluster.timer_changed = true;
    }
    arm_first_ping(node, id, now);
    interest::dump(node, id);
    // A pooled server is gossiped once for its pool and once per pinned account, as
    // nats-server does, so each peer dials both kinds.
    if matches!(slot, Slot::Pool(0) | Slot::NoPool | Slot::Pinned(_)) {
        gossip::new_peer(node, id);
    }
    if first {
        gossip::peer_urls_changed(node, &peer_id, client_urls);
        // Gateways inside the cluster: its gateway URL joins the set we tell remote clusters,
        // and it hears of every remote cluster we have a connection to.
        crate::node::cluster_url_changed(node, &gateway_url, true);
        for json in crate::node::route_gossip(node, None) {
            gossip::tell(node, id, &json);
        }
    }
    node.wake(id);
    super::handle_node_timeout(node, now);
}
