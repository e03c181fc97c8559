//! Read-only views of the node for monitoring (`/varz`, `/connz`, `/gatewayz`): plain data
//! copied out under the driver's lock, so serving HTTP never holds it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::Node;
use crate::gateway::interest::{InboundEntry, Mode, OutboundEntry};
use crate::link::Counters;
use crate::link::Link;
use crate::link::gateway::Direction;

/// One client subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionSnapshot {
    /// Subject.
    pub subject: Bytes,
    /// Queue group.
    pub queue: Option<Bytes>,
    /// The client's subscription id.
    pub sid: Bytes,
    /// Messages delivered so far.
    pub delivered: u64,
    /// Auto-unsubscribe maximum; 0 for none.
    pub max: u64,
}

/// Server-wide counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Messages received from clients and gateways.
    pub in_msgs: u64,
    /// Payload bytes received.
    pub in_bytes: u64,
    /// Messages delivered to clients and gateways.
    pub out_msgs: u64,
    /// Payload bytes delivered.
    pub out_bytes: u64,
    /// Client connections accepted since start.
    pub total_connections: u64,
    /// Connections closed as slow consumers.
    pub slow_consumers: u64,
    /// Routes closed as slow consumers (also counted in `slow_consumers`).
    pub slow_routes: u64,
    /// Connections closed as stale.
    pub stale_connections: u64,
    /// Routes closed as stale (also counted in `stale_connections`).
    pub stale_routes: u64,
}

/// One connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkSnapshot {
    /// Connection id.
    pub cid: u64,
    /// Peer address.
    pub peer: Option<SocketAddr>,
    /// When it was accepted or dialled.
    pub started: Instant,
    /// Last inbound activity.
    pub last_activity: Instant,
    /// Last measured round-trip time.
    pub rtt: Option<Duration>,
    /// Bytes queued for it.
    pub pending_bytes: usize,
    /// Traffic.
    pub counters: Counters,
    /// Subscriptions (clients).
    pub subscriptions: usize,
    /// Client name, or the remote server id for gateways.
    pub name: String,
    /// Client library language.
    pub lang: String,
    /// Client library version.
    pub version: String,
    /// Bound account (clients).
    pub account: String,
}

/// Interest state of one account on one gateway link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountInterest {
    /// Account name.
    pub name: String,
    /// Mode.
    pub mode: Mode,
    /// Subjects in the no-interest set.
    pub no_interest_count: usize,
    /// Subscriptions the peer announced (outbound).
    pub num_subs: usize,
    /// Queue subscriptions among them (outbound).
    pub num_queue_subs: usize,
    /// The announced subscriptions, sorted: subject and queue (outbound).
    pub subscriptions: Vec<(Bytes, Option<Bytes>)>,
}

/// One gateway link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayLinkSnapshot {
    /// The remote gateway name.
    pub remote: String,
    /// Listed in our configuration (outbound only).
    pub configured: bool,
    /// The connection.
    pub link: LinkSnapshot,
    /// Per-account interest, sorted by name.
    pub accounts: Vec<AccountInterest>,
}

/// The gateway side of the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewaySnapshot {
    /// Our gateway name.
    pub name: String,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: u16,
    /// Registered outbound links, by remote name.
    pub outbound: Vec<GatewayLinkSnapshot>,
    /// Registered inbound links.
    pub inbound: Vec<GatewayLinkSnapshot>,
    /// Known remotes with their URLs (`host:port`), explicit first as configured.
    pub remotes: Vec<(String, bool, Vec<String>)>,
}

/// One route link (`/routez`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteSnapshot {
    /// The connection (`cid` is the route's `rid`; `subscriptions` counts the remote
    /// subscriptions held on it; `name` is the remote server id; `account` the pinned account,
    /// empty since Strait pins none).
    pub link: LinkSnapshot,
    /// The peer's server id.
    pub remote_id: String,
    /// The peer's server name.
    pub remote_name: String,
    /// We dialled it.
    pub did_solicit: bool,
    /// We dialled it from a configured route URL.
    pub is_configured: bool,
    /// Compression on the link as nats-server names it: `"off"` when the peer's INFO named a
    /// mode (we always say `off`, so that is the result), `"not supported"` when it had none.
    pub compression: &'static str,
    /// The remote subscriptions held on the link, sorted by sid (only when asked for).
    pub subs: Vec<SubscriptionSnapshot>,
}

/// The cluster side of the node (`/varz` `cluster`, `/routez`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSnapshot {
    /// The cluster name in force (configured, the gateway's, or generated).
    pub name: String,
    /// Configured routes as written (`host:port`).
    pub urls: Vec<String>,
    /// Route authentication timeout.
    pub auth_timeout: Duration,
    /// The cluster's client URLs (ours first, then the peers'), once a peer told its own;
    /// empty before (nats-server's `connect_urls` in `/varz`).
    pub connect_urls: Vec<String>,
    /// Registered route connections.
    pub num_routes: usize,
    /// Servers with a registered route (nats-server's `remotes`).
    pub num_peers: usize,
    /// `pool_size` in force (-1: no pool).
    pub pool_size: i32,
}

/// How much one server holds: counts and byte totals for memory-bound checks (simulation,
/// tests), gathered without copying anything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryUse {
    /// Client connections, in any state.
    pub client_links: usize,
    /// Gateway connections, in any state (handshaking and closing included).
    pub gateway_links: usize,
    /// Open route links.
    pub route_links: usize,
    /// Subscriptions route peers announced (also in `subscriptions`).
    pub route_interest: usize,
    /// Bytes queued or in flight over every link.
    pub queued_bytes: usize,
    /// The most queued or in flight on one client link.
    pub max_client_queued: usize,
    /// The most queued or in flight on one gateway link.
    pub max_gateway_queued: usize,
    /// Client subscriptions.
    pub subscriptions: usize,
    /// Slots of the subscription table (live or free for reuse).
    pub subscription_slots: usize,
    /// Cached match results over every account sublist.
    pub match_cache: usize,
    /// Subscriptions announced by peers, over every outbound gateway link and account.
    pub gateway_interest: usize,
    /// Subjects in no-interest sets, over every gateway link (both directions) and account.
    pub gateway_no_interest: usize,
    /// Accounts with interest state, over every gateway link.
    pub gateway_accounts: usize,
    /// Known remote gateways.
    pub remotes: usize,
    /// Events not yet polled by the driver.
    pub pending_events: usize,
}

impl Node {
    /// What the node holds right now (see [`MemoryUse`]).
    pub fn memory_use(&self) -> MemoryUse {
        let mut m = MemoryUse {
            subscriptions: self.num_subscriptions(),
            subscription_slots: self.subs.len(),
            match_cache: self.accounts.iter().map(|a| a.sublist.cache_len()).sum(),
            remotes: self.gateway.as_ref().map_or(0, |g| g.directory.remotes.len()),
            pending_events: self.events.len(),
            ..MemoryUse::default()
        };
        for l in self.links.iter() {
            match l {
                Link::Client(c) => {
                    let q = c.outbox.pending();
                    m.client_links += 1;
                    m.queued_bytes += q;
                    m.max_client_queued = m.max_client_queued.max(q);
                }
                Link::Route(r) => {
                    m.route_links += 1;
                    m.queued_bytes += r.outbox.pending();
                    m.route_interest += r.subs.len();
                }
                Link::Gateway(g) => {
                    let q = g.outbox.pending();
                    m.gateway_links += 1;
                    m.queued_bytes += q;
                    m.max_gateway_queued = m.max_gateway_queued.max(q);
                    m.gateway_accounts +=
                        g.outbound_interest.accounts.len() + g.inbound_interest.accounts.len();
                    for entry in g.outbound_interest.accounts.values() {
                        if let OutboundEntry::Tracked(a) = entry {
                            m.gateway_interest += a.subs.len();
                            m.gateway_no_interest += a.no_interest.len();
                        }
                    }
                    for entry in g.inbound_interest.accounts.values() {
                        if let InboundEntry::Tracked { no_interest, .. } = entry {
                            m.gateway_no_interest += no_interest.len();
                        }
                    }
                }
            }
        }
        m
    }

    /// Server-wide counters.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// Every open client connection, by cid.
    pub fn clients(&self) -> Vec<LinkSnapshot> {
        let mut out: Vec<LinkSnapshot> = self
            .links
            .iter()
            .filter_map(|l| match l {
                Link::Client(c) => Some(LinkSnapshot {
                    cid: c.cid,
                    peer: c.peer,
                    started: c.started,
                    last_activity: c.keepalive.last_activity,
                    rtt: c.rtt,
                    pending_bytes: c.outbox.pending(),
                    counters: c.counters,
                    subscriptions: c.sids.len(),
                    name: c.opts.name.clone().unwrap_or_default(),
                    lang: c.opts.lang.clone().unwrap_or_default(),
                    version: c.opts.version.clone().unwrap_or_default(),
                    account: self.accounts[c.account.0 as usize].name.clone(),
                }),
                Link::Route(_) | Link::Gateway(_) => None,
            })
            .collect();
        out.sort_by_key(|l| l.cid);
        out
    }

    /// Subject (and queue) of every subscription in `account` (all accounts when `None`).
    pub fn subscriptions(&self, account: Option<&str>) -> Vec<(Bytes, Option<Bytes>)> {
        let mut out = Vec::new();
        for a in &self.accounts {
            if account.is_none_or(|n| n == a.name) {
                out.extend(a.sublist.subjects());
            }
        }
        out
    }

    /// The subscriptions of the client with connection id `cid`, sorted by subject then sid
    /// (`/connz?subs=…`); empty if there is no such client.
    pub fn client_subscriptions(&self, cid: u64) -> Vec<SubscriptionSnapshot> {
        let Some(c) = self.links.iter().find_map(|l| match l {
            Link::Client(c) if c.cid == cid => Some(c),
            _ => None,
        }) else {
            return Vec::new();
        };
        let mut out: Vec<SubscriptionSnapshot> = c
            .sids
            .values()
            .filter_map(|key| self.subs.get(key.slot())?.as_ref())
            .map(|sub| SubscriptionSnapshot {
                subject: Bytes::copy_from_slice(sub.subject()),
                queue: sub.queue().map(Bytes::copy_from_slice),
                sid: Bytes::copy_from_slice(sub.sid()),
                delivered: sub.delivered,
                max: sub.max,
            })
            .collect();
        out.sort_by(|a, b| (&a.subject, &a.sid).cmp(&(&b.subject, &b.sid)));
        out
    }

    /// The cluster state, if this server has a `cluster {}` with routes.
    pub fn cluster_snapshot(&self) -> Option<ClusterSnapshot> {
        let cluster = self.cluster.as_ref()?;
        let connect_urls = if cluster.peer_client_urls.is_empty() {
            Vec::new()
        } else {
            let mut urls = cluster.config.client_urls.clone();
            for url in cluster.peer_client_urls.values().flatten() {
                if !urls.contains(url) {
                    urls.push(url.clone());
                }
            }
            urls
        };
        Some(ClusterSnapshot {
            name: cluster.config.name.clone(),
            urls: cluster.config.routes.iter().map(ToString::to_string).collect(),
            auth_timeout: cluster.config.auth_timeout,
            connect_urls,
            num_routes: cluster.routes.len(),
            num_peers: cluster.peers.len(),
            pool_size: if cluster.config.pool_size > 0 { cluster.config.pool_size } else { -1 },
        })
    }

    /// Every registered route, in registration order; with `subs`, each route's remote
    /// subscriptions too (`/routez?subs=…`).
    pub fn routes_snapshot(&self, subs: bool) -> Vec<RouteSnapshot> {
        let Some(cluster) = self.cluster.as_ref() else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(cluster.routes.len());
        for &id in &cluster.routes {
            let Some(Link::Route(r)) = self.links.get(id) else { continue };
            let link = LinkSnapshot {
                cid: r.cid,
                peer: r.peer,
                started: r.started,
                last_activity: r.last_activity,
                rtt: r.keepalive.rtt,
                pending_bytes: r.outbox.pending(),
                counters: r.counters,
                subscriptions: r.subs.len(),
                name: r.remote_id().to_owned(),
                lang: String::new(),
                version: String::new(),
                account: match &r.slot {
                    Some(crate::route::Slot::Pinned(account)) => account.clone(),
                    _ => String::new(),
                },
            };
            let compression = match r.info.as_deref() {
                Some(i) if !i.compression.is_empty() => "off",
                _ => "not supported",
            };
            let mut list = Vec::new();
            if subs {
                list.reserve(r.subs.len());
                for (key, &sub) in &r.subs {
                    let Some(sub) = self.sub(sub) else { continue };
                    list.push(SubscriptionSnapshot {
                        subject: Bytes::copy_from_slice(sub.subject()),
                        queue: sub.queue().map(Bytes::copy_from_slice),
                        sid: Bytes::copy_from_slice(key),
                        delivered: sub.delivered,
                        max: 0,
                    });
                }
                list.sort_by(|a, b| a.sid.cmp(&b.sid));
            }
            out.push(RouteSnapshot {
                link,
                remote_id: r.remote_id().to_owned(),
                remote_name: r.remote_name().to_owned(),
                did_solicit: r.solicited,
                is_configured: r.explicit,
                compression,
                subs: list,
            });
        }
        out
    }

    /// The gateway state, if a gateway is configured.
    pub fn gateway_snapshot(&self) -> Option<GatewaySnapshot> {
        let gw = self.gateway.as_ref()?;
        let mut outbound = Vec::new();
        let mut inbound = Vec::new();
        for l in self.links.iter() {
            let Link::Gateway(g) = l else { continue };
            if !g.is_established() {
                continue;
            }
            let link = LinkSnapshot {
                cid: g.cid,
                peer: g.peer,
                started: g.started,
                last_activity: g.last_activity,
                rtt: g.keepalive.rtt,
                pending_bytes: g.outbox.pending(),
                counters: g.counters,
                subscriptions: 0,
                name: g.remote_id.clone(),
                lang: String::new(),
                version: String::new(),
                account: String::new(),
            };
            let mut accounts = Vec::new();
            match g.direction {
                Direction::Outbound => {
                    for (name, entry) in &g.outbound_interest.accounts {
                        accounts.push(match entry {
                            OutboundEntry::NoInterest => AccountInterest {
                                name: String::from_utf8_lossy(name).into_owned(),
                                mode: Mode::Optimistic,
                                no_interest_count: 0,
                                num_subs: 0,
                                num_queue_subs: 0,
                                subscriptions: Vec::new(),
                            },
                            OutboundEntry::Tracked(a) => AccountInterest {
                                name: String::from_utf8_lossy(name).into_owned(),
                                mode: a.mode,
                                no_interest_count: a.no_interest.len(),
                                num_subs: a.plain_subs + a.queue_subs,
                                num_queue_subs: a.queue_subs,
                                subscriptions: a.subs.subjects(),
                            },
                        });
                    }
                }
                Direction::Inbound => {
                    for (name, entry) in &g.inbound_interest.accounts {
                        let (mode, no_interest_count) = match entry {
                            InboundEntry::NoInterest => (Mode::Optimistic, 0),
                            InboundEntry::Tracked { mode, no_interest } => {
                                (*mode, no_interest.len())
                            }
                        };
                        accounts.push(AccountInterest {
                            name: String::from_utf8_lossy(name).into_owned(),
                            mode,
                            no_interest_count,
                            num_subs: 0,
                            num_queue_subs: 0,
                            subscriptions: Vec::new(),
                        });
                    }
                }
            }
            accounts.sort_by(|a, b| a.name.cmp(&b.name));
            let configured = g.direction == Direction::Outbound
                && gw.directory.find(&g.remote).is_some_and(|i| gw.directory.remotes[i].explicit);
            let snap = GatewayLinkSnapshot { remote: g.remote.clone(), configured, link, accounts };
            match g.direction {
                Direction::Outbound => outbound.push(snap),
                Direction::Inbound => inbound.push(snap),
            }
        }
        outbound.sort_by(|a, b| a.remote.cmp(&b.remote));
        inbound.sort_by_key(|s| s.link.cid);
        let remotes = gw
            .directory
            .remotes
            .iter()
            .map(|r| (r.name.clone(), r.explicit, r.urls.iter().map(ToString::to_string).collect()))
            .collect();
        Some(GatewaySnapshot {
            name: gw.config.name.clone(),
            host: gw.config.advertise.host.clone(),
            port: gw.config.advertise.port,
            outbound,
            inbound,
            remotes,
        })
    }
}

#[cfg(test)]
mod route_tests {
    use std::time::Duration;

    use crate::error::DriverClose;
    use crate::node::NodeConfig;
    use crate::node::world::World;
    use crate::peer_url::PeerUrl;
    use crate::route::ClusterConfig;

    /// Server `i` of cluster "C" (route port 6000 + i) with explicit routes to `routes`.
    fn server(i: u16, routes: &[u16]) -> NodeConfig {
        let mut c = ClusterConfig::new("C", PeerUrl::new("127.0.0.1", 6000 + i));
        c.routes = routes.iter().map(|r| PeerUrl::new("127.0.0.1", 6000 + r)).collect();
        c.client_urls = vec![format!("127.0.0.1:{}", 4000 + i)];
        // One route connection per pair, so each side shows exactly one.
        c.pool_size = -1;
        NodeConfig {
            server_name: Some(format!("S{i}")),
            port: 4000 + i,
            cluster: Some(c),
            ..NodeConfig::default()
        }
    }

    fn pair() -> World {
        let mut w = World::new(vec![server(0, &[]), server(1, &[0])]);
        w.advance(Duration::from_secs(3));
        w
    }

    #[test]
    fn routes_snapshot_shows_each_side_of_a_route() {
        let mut w = pair();
        let c = w.client(0);
        w.send(c, "SUB foo 1\r\nSUB bar q 2\r\n");
        w.settle();

        let accepted = w.nodes[0].routes_snapshot(false);
        assert_eq!(accepted.len(), 1);
        let a = &accepted[0];
        assert_eq!((a.remote_name.as_str(), a.did_solicit, a.is_configured), ("S1", false, false));
        assert_eq!(a.remote_id, w.nodes[1].server_id());
        assert_eq!(a.compression, "off", "both sides said `off`");
        assert!(a.subs.is_empty(), "no list unless asked for");

        let dialled = w.nodes[1].routes_snapshot(true);
        let d = &dialled[0];
        assert_eq!((d.remote_name.as_str(), d.did_solicit, d.is_configured), ("S0", true, true));
        assert_eq!(d.link.subscriptions, 2);
        let subs: Vec<String> = d
            .subs
            .iter()
            .map(|s| {
                let q = s.queue.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
                format!(
                    "{}|{q}|{}",
                    String::from_utf8_lossy(&s.subject),
                    String::from_utf8_lossy(&s.sid)
                )
            })
            .collect();
        assert_eq!(subs, ["bar|q|$G bar q", "foo||$G foo"]);

        let cs = w.nodes[1].cluster_snapshot().expect("cluster");
        assert_eq!((cs.name.as_str(), cs.num_routes, cs.num_peers), ("C", 1, 1));
        assert_eq!(cs.urls, ["127.0.0.1:6000"]);
        assert_eq!(cs.connect_urls, ["127.0.0.1:4001", "127.0.0.1:4000"]);
        assert!(w.nodes[0].cluster_snapshot().unwrap().urls.is_empty());
    }

    #[test]
    fn a_route_closed_at_its_write_deadline_counts_as_a_slow_route() {
        let mut w = pair();
        let id = w.nodes[0].cluster.as_ref().unwrap().routes[0];
        w.nodes[0].close_link(id, DriverClose::WriteDeadline);
        w.settle();
        let t = w.nodes[0].totals();
        assert_eq!((t.slow_consumers, t.slow_routes), (1, 1));
        let closed: Vec<&String> = w
            .logs
            .iter()
            .filter(|(n, l)| *n == 0 && l.contains("Router connection closed"))
            .map(|(_, l)| l)
            .collect();
        assert!(closed.iter().any(|l| l.contains("Slow Consumer")), "{closed:?}");
    }
}
