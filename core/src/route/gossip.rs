//! What peers tell each other beyond interest (route-protocol §1.4, §1.6, §3.5): a new peer's
//! INFO is passed to the other peers so they dial it (the mesh completes itself), an INFO
//! naming another server is such gossip (an implicit route to dial), and each peer's client
//! URLs are merged into what our clients are told (`connect_urls`), so they can fail over.

use std::time::Instant;

use super::{close, prefix, route_mut};
use crate::error::RouteError;
use crate::link::Link;
use crate::node::{LinkId, LogLevel, Node};
use crate::peer_url::PeerUrl;
use crate::proto::route as wire;
use crate::proto::route_json::{GATEWAY_CMD_GOSSIP, RouteInfo};

/// `gossip_mode` values (nats-server `gossipDefault`, `gossipDisabled`, `gossipOverride`).
const GOSSIP_DEFAULT: u8 = 0;
const GOSSIP_DISABLED: u8 = 1;
const GOSSIP_OVERRIDE: u8 = 2;

/// Route `id` just registered (its server's pool index 0, its one connection without a pool,
/// or a pinned account's): tell every other peer about it, once each (a
/// nats-server peer told on every pooled connection dials as many times, and its duplicate
/// handling then closes connections it still needs).
pub(super) fn new_peer(node: &mut Node, id: LinkId) {
    let Some(about) = Gossip::of(node, id) else {
        return;
    };
    for other in one_link_per_server(node, Some(id)) {
        about.send(node, other);
    }
}

/// One established route to every server of our cluster except the one behind `except`.
fn one_link_per_server(node: &Node, except: Option<LinkId>) -> Vec<LinkId> {
    let Some(cluster) = node.cluster.as_ref() else {
        return Vec::new();
    };
    let established =
        |l: &LinkId| matches!(node.links.get(*l), Some(Link::Route(r)) if r.is_established());
    cluster
        .peers
        .values()
        .filter(|p| except.is_none_or(|e| !p.links().any(|l| l == e)))
        .filter_map(|p| p.links().find(established))
        .collect()
}

/// Route `id` replaced a duplicate connection to its server: gossip we sent on the old one
/// may have been dropped unread by the peer (it closed its end first), so tell it again
/// about every other server we have a route to. Servers it already knows are ignored.
pub(super) fn resend_to(node: &mut Node, id: LinkId) {
    for source in one_link_per_server(node, Some(id)) {
        if let Some(about) = Gossip::of(node, source) {
            about.send(node, id);
        }
    }
}

/// What we tell other peers about the server behind one route.
struct Gossip {
    /// The peer's INFO rendered with each `gossip_mode` (indexed by the mode).
    json: [Vec<u8>; 3],
    /// We dialled the route…
    solicited: bool,
    /// …from a configured URL.
    explicit: bool,
}

impl Gossip {
    /// The gossip about route `id`'s server. Unlike nats-server, Strait passes every server
    /// on, whatever `gossip_mode` said (see `docs/compat.md`): nats-server's savings made
    /// seeded simulations end with meshes that never completed once a duplicate connection
    /// swallowed the one INFO that would have completed them.
    fn of(node: &Node, id: LinkId) -> Option<Self> {
        let Some(Link::Route(r)) = node.links.get(id) else {
            return None;
        };
        let info = r.info.as_deref()?;
        // Where the others can dial it: its advertised address, else the address it came
        // from with the port its INFO gives.
        let host_port = match PeerUrl::parse(&info.ip) {
            Some(url) if !info.ip.is_empty() => url.to_string(),
            _ => match r.peer {
                Some(addr) => PeerUrl::new(addr.ip().to_string(), info.port as u16).to_string(),
                None => PeerUrl::new(info.host.clone(), info.port as u16).to_string(),
            },
        };
        // The INFO names the connection it came on; what the others should dial is the
        // server's pool (index 0), or its connection for a pinned account.
        let account = match &r.slot {
            Some(super::Slot::Pinned(a)) => a.clone(),
            _ => String::new(),
        };
        let json = [GOSSIP_DEFAULT, GOSSIP_DISABLED, GOSSIP_OVERRIDE].map(|m| {
            let mut g = info.gossip(&host_port, m);
            g.route_pool_idx = 0;
            g.route_account = account.clone();
            g.to_json()
        });
        Some(Self { json, solicited: r.solicited, explicit: r.explicit })
    }

    /// Queue it on route `to`, with the mode nats-server picks from how both routes came
    /// to be.
    fn send(&self, node: &mut Node, to: LinkId) {
        let Some(Link::Route(o)) = node.links.get(to) else {
            return;
        };
        let mode = if (self.solicited && self.explicit) || (!self.solicited && o.explicit) {
            GOSSIP_OVERRIDE
        } else if !self.solicited {
            GOSSIP_DISABLED
        } else {
            GOSSIP_DEFAULT
        };
        tell(node, to, &self.json[usize::from(mode)]);
    }
}

/// An INFO on an established route: gossip about another server, or an update from the
/// peer itself (cluster name, lame-duck mode, client URLs).
pub(super) fn later_info(node: &mut Node, id: LinkId, now: Instant, info: RouteInfo) {
    let Some(r) = route_mut(node, id) else {
        return;
    };
    let p = prefix(r);
    let peer_id = r.remote_id().to_owned();
    if !info.gateway.is_empty() {
        let line = if node.gateway.is_none() {
            format!(
                "{p}Received information about gateway \"{}\" from {}, but gateway is not configured",
                info.gateway, info.server_id
            )
        } else if info.gateway_cmd == GATEWAY_CMD_GOSSIP {
            return crate::node::learned_over_route(node, now, &info);
        } else {
            format!("{p}Unknown command {} from server {}", info.gateway_cmd, info.server_id)
        };
        node.log(LogLevel::Error, line);
        return;
    }
    if info.server_id != peer_id {
        return implicit(node, now, &info);
    }
    let ours = node.cluster.as_ref().map(|c| c.config.name.clone()).unwrap_or_default();
    if info.cluster != ours
        && !super::handshake::adopt_name(node, &info.cluster, info.cluster_dynamic, &peer_id)
    {
        return close(node, id, RouteError::ClusterNameConflict);
    }
    let urls = if info.ldm { Vec::new() } else { info.connect_urls.clone() };
    if let Some(r) = route_mut(node, id)
        && let Some(known) = r.info.as_deref_mut()
    {
        known.ldm = info.ldm;
        known.connect_urls = info.connect_urls.clone();
    }
    peer_urls_changed(node, &peer_id, urls);
}

/// Send `json` as an INFO to every server of our cluster, once each (gateway gossip).
pub(crate) fn tell_peers(node: &mut Node, json: &[u8]) {
    for id in one_link_per_server(node, None) {
        tell(node, id, json);
    }
}

/// Queue INFO `json` on route `id`, if it is up.
pub(super) fn tell(node: &mut Node, id: LinkId, json: &[u8]) {
    if let Some(Link::Route(r)) = node.links.get_mut(id)
        && r.is_established()
    {
        wire::info(r.outbox.buf(), json);
        if !r.transmit_queued {
            r.transmit_queued = true;
            node.events.push_back(crate::node::Event::Transmit(id));
        }
    }
}

/// Gossip about a server we may not know: dial it, unless it is us, already connected, or a
/// configured route (which we dial anyway). Only `ip` says where it is.
fn implicit(node: &mut Node, now: Instant, info: &RouteInfo) {
    if info.server_id == node.server_id || info.ip.is_empty() {
        return;
    }
    let Some(url) = PeerUrl::parse(&info.ip) else {
        return;
    };
    let Some(cluster) = node.cluster.as_mut() else {
        return;
    };
    if cluster.peers.contains_key(&info.server_id) || cluster.directory.is_explicit(&url) {
        return;
    }
    if cluster.directory.learn(url, info.gossip_mode, now) {
        cluster.timer_changed = true;
        super::handle_node_timeout(node, now);
    }
}

/// Peer `peer_id` now advertises `urls` to clients (empty when it left or entered lame-duck
/// mode): when what our clients are told changes, tell them with an async INFO.
pub(super) fn peer_urls_changed(node: &mut Node, peer_id: &str, urls: Vec<String>) {
    let Some(cluster) = node.cluster.as_mut() else {
        return;
    };
    if cluster.config.no_advertise {
        return;
    }
    let before = cluster.peer_client_urls.get(peer_id).cloned().unwrap_or_default();
    if before == urls {
        return;
    }
    if urls.is_empty() {
        cluster.peer_client_urls.remove(peer_id);
    } else {
        cluster.peer_client_urls.insert(peer_id.to_owned(), urls);
    }
    node.send_async_client_info();
}

/// We enter lame-duck mode: every peer hears it in an INFO with `ldm`, so it stops telling
/// its clients about us. Our own URLs are left out of what our clients are told from now on.
pub(crate) fn enter_lame_duck(node: &mut Node) {
    let mut info = super::handshake::our_info(node);
    info.ldm = true;
    let json = info.to_json();
    let Some(cluster) = node.cluster.as_ref() else {
        return;
    };
    for id in cluster.routes.clone() {
        tell(node, id, &json);
    }
}

/// Every client URL of the cluster, ours first, without duplicates (`connect_urls`).
pub(crate) fn connect_urls(node: &Node) -> Vec<String> {
    let Some(cluster) = node.cluster.as_ref() else {
        return Vec::new();
    };
    if cluster.config.no_advertise {
        return Vec::new();
    }
    // A lame duck sends its clients elsewhere.
    let mut urls = if node.lame_duck { Vec::new() } else { cluster.config.client_urls.clone() };
    for peer in cluster.peer_client_urls.values() {
        for url in peer {
            if !urls.contains(url) {
                urls.push(url.clone());
            }
        }
    }
    urls
}
