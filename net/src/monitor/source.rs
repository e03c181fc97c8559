//! The monitor's view of a running server: fills nats-server's JSON shapes from snapshots the
//! core hands out under the node lock.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use strait_core::node::{
    GatewayLinkSnapshot, LinkSnapshot, NodeConfig, RouteSnapshot, SubscriptionSnapshot,
};

use super::format::{self, Timestamp};
use super::{
    AccountGatewayz, ClusterOptsVarz, ConnInfo, ConnKindStats, Connz, ConnzOptions,
    DiskIoWaitStats, EmptyObject, GatewayOptsVarz, Gatewayz, GatewayzOptions, Healthz,
    InterestMode, MonitorSource, RemoteGatewayOptsVarz, RemoteGatewayz, RouteInfo, Routez,
    RoutezOptions, SortOpt, SubDetail, SublistStats, SubsOption, Subsz, SubszOptions, Varz,
};
use crate::server::Shared;

/// Static facts fixed at start, plus the shared server state.
#[derive(Debug)]
pub(crate) struct NodeSource {
    pub(crate) shared: Arc<Shared>,
    pub(crate) http_host: String,
    pub(crate) http_port: u16,
    /// The bound route listener, when the server has a cluster (`/varz` `cluster.addr`/`cluster_port`).
    pub(crate) route_listen: Option<SocketAddr>,
    /// The same moment on both clocks, to turn `Instant`s into wall-clock timestamps.
    pub(crate) started: (Instant, SystemTime),
}

impl NodeSource {
    fn timestamp(&self, at: Instant) -> Timestamp {
        let (i0, s0) = self.started;
        Timestamp::from_system_time(s0 + at.saturating_duration_since(i0))
    }

    fn conn_info(&self, l: &LinkSnapshot, kind: &str, now: Instant) -> ConnInfo {
        ConnInfo {
            cid: l.cid,
            kind: kind.to_owned(),
            client_type: if kind == "Client" { "nats".into() } else { String::new() },
            ip: l.peer.map(|p| p.ip().to_string()).unwrap_or_default(),
            port: l.peer.map_or(0, |p| p.port()),
            start: self.timestamp(l.started),
            last_activity: self.timestamp(l.last_activity),
            rtt: l.rtt.map(format::rtt).unwrap_or_default(),
            uptime: format::uptime(now.saturating_duration_since(l.started)),
            idle: format::uptime(now.saturating_duration_since(l.last_activity)),
            pending_bytes: l.pending_bytes as u64,
            in_msgs: l.counters.in_msgs,
            out_msgs: l.counters.out_msgs,
            in_bytes: l.counters.in_bytes,
            out_bytes: l.counters.out_bytes,
            subscriptions: l.subscriptions as u32,
            name: l.name.clone(),
            lang: l.lang.clone(),
            version: l.version.clone(),
            account: l.account.clone(),
            ..ConnInfo::default()
        }
    }

    fn route_info(&self, r: &RouteSnapshot, subs: SubsOption, now: Instant) -> RouteInfo {
        let l = &r.link;
        RouteInfo {
            rid: l.cid,
            remote_id: r.remote_id.clone(),
            remote_name: r.remote_name.clone(),
            did_solicit: r.did_solicit,
            is_configured: r.is_configured,
            ip: l.peer.map(|p| p.ip().to_string()).unwrap_or_default(),
            port: l.peer.map_or(0, |p| p.port()),
            start: self.timestamp(l.started),
            last_activity: self.timestamp(l.last_activity),
            // nats-server prints Go's zero duration before the first PONG.
            rtt: l.rtt.map_or_else(|| "0s".to_owned(), format::rtt),
            uptime: format::uptime(now.saturating_duration_since(l.started)),
            idle: format::uptime(now.saturating_duration_since(l.last_activity)),
            pending: l.pending_bytes as u64,
            in_msgs: l.counters.in_msgs,
            out_msgs: l.counters.out_msgs,
            in_bytes: l.counters.in_bytes,
            out_bytes: l.counters.out_bytes,
            subscriptions: l.subscriptions as u32,
            subs: if subs == SubsOption::List {
                r.subs.iter().map(|s| lossy(&s.subject)).collect()
            } else {
                Vec::new()
            },
            subs_detail: if subs == SubsOption::Detail {
                r.subs.iter().map(|s| sub_detail(s, l.cid)).collect()
            } else {
                Vec::new()
            },
            account: l.account.clone(),
            compression: r.compression.to_owned(),
        }
    }

    fn remote_gatewayz(
        &self,
        g: &GatewayLinkSnapshot,
        opts: &GatewayzOptions,
        now: Instant,
    ) -> RemoteGatewayz {
        let mut accounts = Vec::new();
        if opts.accs {
            for a in &g.accounts {
                if opts.acc_name.as_deref().is_some_and(|n| n != a.name) {
                    continue;
                }
                accounts.push(AccountGatewayz {
                    name: a.name.clone(),
                    interest_mode: match a.mode {
                        strait_core::gateway::interest::Mode::Optimistic => {
                            InterestMode::Optimistic
                        }
                        strait_core::gateway::interest::Mode::Transitioning => {
                            InterestMode::Transitioning
                        }
                        strait_core::gateway::interest::Mode::InterestOnly => {
                            InterestMode::InterestOnly
                        }
                    },
                    no_interest_count: a.no_interest_count as u64,
                    interest_only_threshold: 1000,
                    total_subscriptions: a.num_subs as u64,
                    num_queue_subscriptions: a.num_queue_subs as u64,
                    subs: match opts.subs {
                        SubsOption::List => a
                            .subscriptions
                            .iter()
                            .map(|(s, _)| String::from_utf8_lossy(s).into_owned())
                            .collect(),
                        _ => Vec::new(),
                    },
                    subs_detail: match opts.subs {
                        SubsOption::Detail => a
                            .subscriptions
                            .iter()
                            .map(|(s, q)| SubDetail {
                                subject: String::from_utf8_lossy(s).into_owned(),
                                queue: q
                                    .as_ref()
                                    .map(|q| String::from_utf8_lossy(q).into_owned())
                                    .unwrap_or_default(),
                                ..SubDetail::default()
                            })
                            .collect(),
                        _ => Vec::new(),
                    },
                });
            }
        }
        RemoteGatewayz {
            configured: g.configured,
            connection: Some(self.conn_info(&g.link, "Gateway", now)),
            accounts,
        }
    }
}

impl MonitorSource for NodeSource {
    fn varz(&self) -> Varz {
        let now = Instant::now();
        let state = self.shared.lock();
        let node = &state.node;
        let totals = node.totals();
        let gateway = node.gateway_snapshot();
        let cluster_snap = node.cluster_snapshot();
        // The configuration in force: a reload may have changed it.
        let config: NodeConfig = node.config().clone();
        let config_loaded = state.config_loaded;
        drop(state);
        let write_deadline = self.shared.driver().write_deadline;
        let c = &config;
        let gateway_varz = match (&gateway, &c.gateway) {
            (Some(g), Some(gc)) => GatewayOptsVarz {
                name: g.name.clone(),
                host: g.host.clone(),
                port: g.port,
                auth_timeout: gc.auth_timeout.as_secs_f64(),
                tls_timeout: 2.0,
                connect_retries: u64::from(gc.connect_retries),
                gateways: g
                    .remotes
                    .iter()
                    .map(|(name, _, urls)| RemoteGatewayOptsVarz {
                        name: name.clone(),
                        urls: urls.clone(),
                        ..RemoteGatewayOptsVarz::default()
                    })
                    .collect(),
                reject_unknown: gc.reject_unknown_cluster,
                ..GatewayOptsVarz::default()
            },
            _ => GatewayOptsVarz::default(),
        };
        let cluster = match (&cluster_snap, &gateway) {
            (Some(cs), _) => ClusterOptsVarz {
                name: cs.name.clone(),
                host: self.route_listen.map(|a| a.ip().to_string()).unwrap_or_default(),
                port: self.route_listen.map_or(0, |a| a.port()),
                auth_timeout: cs.auth_timeout.as_secs_f64(),
                urls: cs.urls.clone(),
                tls_timeout: 2.0,
                pool_size: i64::from(cs.pool_size),
                ..ClusterOptsVarz::default()
            },
            (None, Some(g)) => {
                ClusterOptsVarz { name: g.name.clone(), ..ClusterOptsVarz::default() }
            }
            (None, None) => ClusterOptsVarz::default(),
        };
        let connections = self.shared.lock().node.clients().len() as u64;
        let subscriptions = self.shared.lock().node.num_subscriptions() as u32;
        let (server_id, server_name) = {
            let s = self.shared.lock();
            (s.node.server_id().to_owned(), s.node.server_name().to_owned())
        };
        Varz {
            server_id,
            server_name,
            version: c.version.clone(),
            proto: 1,
            git_commit: String::new(),
            go: c.runtime.clone(),
            host: c.host.clone(),
            port: c.port,
            auth_required: c.auth.required(),
            tls_required: false,
            tls_verify: false,
            ip: String::new(),
            connect_urls: cluster_snap
                .as_ref()
                .map(|cs| cs.connect_urls.clone())
                .unwrap_or_default(),
            max_connections: c.max_connections as u64,
            max_subscriptions: 0,
            ping_interval: c.ping_interval,
            ping_max: u64::from(c.ping_max),
            http_host: self.http_host.clone(),
            http_port: self.http_port,
            http_base_path: String::new(),
            https_port: 0,
            auth_timeout: c.auth_timeout.as_secs_f64(),
            max_control_line: c.limits.max_control_line as u64,
            max_payload: c.limits.max_payload as u64,
            max_pending: c.max_pending as u64,
            cluster,
            gateway: gateway_varz,
            leaf: EmptyObject {},
            mqtt: EmptyObject {},
            websocket: EmptyObject {},
            jetstream: EmptyObject {},
            tls_timeout: 2.0,
            write_deadline,
            write_timeout: String::new(),
            start: self.timestamp(self.started.0),
            now: self.timestamp(now),
            uptime: format::uptime(now.saturating_duration_since(self.started.0)),
            mem: resident_memory(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            gomaxprocs: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            cpu: 0.0,
            connections,
            total_connections: totals.total_connections,
            routes: cluster_snap.as_ref().map_or(0, |cs| cs.num_routes as u64),
            // nats-server's `remotes` counts route peers (servers), not gateways.
            remotes: cluster_snap.as_ref().map_or(0, |cs| cs.num_peers as u64),
            leafnodes: 0,
            in_msgs: totals.in_msgs,
            in_bytes: totals.in_bytes,
            in_client_msgs: totals.in_msgs,
            in_client_bytes: totals.in_bytes,
            out_msgs: totals.out_msgs,
            out_bytes: totals.out_bytes,
            out_client_msgs: totals.out_msgs,
            out_client_bytes: totals.out_bytes,
            slow_consumers: totals.slow_consumers,
            stale_connections: totals.stale_connections,
            stalled_clients: 0,
            subscriptions,
            http_req_stats: BTreeMap::new(),
            config_load_time: Timestamp::from_system_time(config_loaded),
            config_digest: String::new(),
            tags: Vec::new(),
            metadata: BTreeMap::new(),
            system_account: String::new(),
            slow_consumer_stats: ConnKindStats {
                clients: totals.slow_consumers.saturating_sub(totals.slow_routes),
                routes: totals.slow_routes,
                ..ConnKindStats::default()
            },
            stale_connection_stats: ConnKindStats {
                clients: totals.stale_connections.saturating_sub(totals.stale_routes),
                routes: totals.stale_routes,
                ..ConnKindStats::default()
            },
            disk_io_wait_stats: DiskIoWaitStats::default(),
            tls_cert_not_after: None,
        }
    }

    fn connz(&self, opts: &ConnzOptions) -> Connz {
        let now = Instant::now();
        let (server_id, mut clients) = {
            let s = self.shared.lock();
            (s.node.server_id().to_owned(), s.node.clients())
        };
        if let Some(cid) = opts.cid {
            clients.retain(|c| c.cid == cid);
        }
        if let Some(acc) = &opts.acc {
            clients.retain(|c| &c.account == acc);
        }
        match opts.sort {
            SortOpt::Subs => clients.sort_by_key(|c| std::cmp::Reverse(c.subscriptions)),
            SortOpt::Pending => clients.sort_by_key(|c| std::cmp::Reverse(c.pending_bytes)),
            SortOpt::MsgsTo => clients.sort_by_key(|c| std::cmp::Reverse(c.counters.out_msgs)),
            SortOpt::MsgsFrom => clients.sort_by_key(|c| std::cmp::Reverse(c.counters.in_msgs)),
            SortOpt::BytesTo => clients.sort_by_key(|c| std::cmp::Reverse(c.counters.out_bytes)),
            SortOpt::BytesFrom => clients.sort_by_key(|c| std::cmp::Reverse(c.counters.in_bytes)),
            SortOpt::Last => clients.sort_by_key(|c| std::cmp::Reverse(c.last_activity)),
            SortOpt::Idle => clients.sort_by_key(|c| c.last_activity),
            SortOpt::Uptime => clients.sort_by_key(|c| c.started),
            SortOpt::Rtt => clients.sort_by_key(|c| std::cmp::Reverse(c.rtt)),
            _ => {}
        }
        let total = clients.len();
        let mut connections: Vec<ConnInfo> = clients
            .iter()
            .skip(opts.offset)
            .take(opts.limit)
            .map(|c| self.conn_info(c, "Client", now))
            .collect();
        if opts.subs != SubsOption::None {
            let s = self.shared.lock();
            for conn in &mut connections {
                let subs = s.node.client_subscriptions(conn.cid);
                if opts.subs == SubsOption::Detail {
                    conn.subs_detail = subs.iter().map(|sub| sub_detail(sub, conn.cid)).collect();
                } else {
                    conn.subs = subs.iter().map(|sub| lossy(&sub.subject)).collect();
                }
            }
        }
        Connz {
            server_id,
            now: self.timestamp(now),
            num_connections: connections.len(),
            total,
            offset: opts.offset,
            limit: opts.limit,
            connections,
        }
    }

    fn subsz(&self, opts: &SubszOptions) -> Subsz {
        let now = Instant::now();
        let (server_id, subs) = {
            let s = self.shared.lock();
            (s.node.server_id().to_owned(), s.node.subscriptions(opts.acc.as_deref()))
        };
        let total = subs.len();
        let list = if opts.subs {
            subs.iter()
                .skip(opts.offset)
                .take(opts.limit)
                .map(|(subject, queue)| SubDetail {
                    subject: String::from_utf8_lossy(subject).into_owned(),
                    queue: queue
                        .as_ref()
                        .map(|q| String::from_utf8_lossy(q).into_owned())
                        .unwrap_or_default(),
                    ..SubDetail::default()
                })
                .collect()
        } else {
            Vec::new()
        };
        Subsz {
            server_id,
            now: self.timestamp(now),
            stats: SublistStats { num_subscriptions: total as u32, ..SublistStats::default() },
            total,
            offset: opts.offset,
            limit: opts.limit,
            subs: list,
        }
    }

    fn routez(&self, opts: &RoutezOptions) -> Routez {
        let now = Instant::now();
        let (server_id, server_name, routes) = {
            let s = self.shared.lock();
            (
                s.node.server_id().to_owned(),
                s.node.server_name().to_owned(),
                s.node.routes_snapshot(opts.subs != SubsOption::None),
            )
        };
        Routez {
            server_id,
            server_name,
            now: self.timestamp(now),
            num_routes: routes.len(),
            routes: routes.iter().map(|r| self.route_info(r, opts.subs, now)).collect(),
        }
    }

    fn gatewayz(&self, opts: &GatewayzOptions) -> Gatewayz {
        let now = Instant::now();
        let (server_id, snapshot) = {
            let s = self.shared.lock();
            (s.node.server_id().to_owned(), s.node.gateway_snapshot())
        };
        let Some(g) = snapshot else {
            return Gatewayz::disabled(server_id, self.timestamp(now));
        };
        let wanted = |name: &str| opts.gw_name.as_deref().is_none_or(|w| w == name);
        let mut outbound = BTreeMap::new();
        for o in g.outbound.iter().filter(|o| wanted(&o.remote)) {
            outbound.insert(o.remote.clone(), self.remote_gatewayz(o, opts, now));
        }
        let mut inbound: BTreeMap<String, Vec<RemoteGatewayz>> = BTreeMap::new();
        for i in g.inbound.iter().filter(|i| wanted(&i.remote)) {
            inbound.entry(i.remote.clone()).or_default().push(self.remote_gatewayz(i, opts, now));
        }
        // nats-server shows `null` outbound gateways for an unknown `gw_name`.
        let outbound =
            if opts.gw_name.is_some() && outbound.is_empty() { None } else { Some(outbound) };
        Gatewayz {
            server_id,
            now: self.timestamp(now),
            name: g.name,
            host: g.host,
            port: g.port,
            outbound_gateways: outbound,
            inbound_gateways: inbound,
        }
    }

    fn healthz(&self) -> Healthz {
        Healthz::ok()
    }
}

/// Resident set size in bytes (Linux), 0 where unknown.
fn resident_memory() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A client subscription as `/connz?subs=detail` shows it (no account, as nats-server).
fn sub_detail(sub: &SubscriptionSnapshot, cid: u64) -> SubDetail {
    SubDetail {
        subject: lossy(&sub.subject),
        queue: sub.queue.as_deref().map(lossy).unwrap_or_default(),
        sid: lossy(&sub.sid),
        msgs: sub.delivered,
        max: sub.max,
        cid,
        ..SubDetail::default()
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
