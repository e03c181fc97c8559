//! The simulated supercluster: clusters of servers, each server a turmoil host running the
//! production `strait_net::server::run` with the daemon's typed [`NodeConfig`].
//!
//! Clusters are joined by gateways: every server listens for gateways on [`GATEWAY_PORT`] and
//! advertises its host name. Explicit remotes form a seeded connected graph (a random spanning
//! tree plus extra edges); every other pair is found by gossip. Some seeds give one cluster
//! every other as an explicit remote and `reject_unknown_cluster`; `connect_retries` differs
//! per cluster. [`Topology::reachable`] is the static part of reachability (same account
//! space, gateway mesh); the checker adds the time windows in which a gateway path was down.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::pending;
use std::rc::Rc;
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use strait_core::gateway::{GatewayConfig, GatewayUrl, RemoteConfig};
use strait_core::node::{Auth, NodeConfig, User};
use strait_core::peer_url::PeerUrl;
use strait_core::route::ClusterConfig;
use strait_net::lame_duck::{LameDuckSender, LameDuckTimes};
use strait_net::server::{self, DriverConfig, Listeners};

use crate::faults::LAME_DUCK;

use crate::invariants::Shared;
use crate::reload::Files;
use crate::trace::derive_seed;
use crate::transport::{SimDialer, SimListener};

/// The client port every simulated server listens on.
pub const CLIENT_PORT: u16 = 4222;

/// The gateway port every simulated server listens on.
pub const GATEWAY_PORT: u16 = 7222;

/// The route port every server of a route suite listens on.
pub const ROUTE_PORT: u16 = 6222;

/// The accounts clients are spread over, with the user and password that binds each one.
pub const ACCOUNTS: [(&str, &str, &str); 2] = [("A", "ua", "pa"), ("B", "ub", "pb")];

/// Server keep-alive interval in the simulation (short so stale links are found in-run).
pub const SERVER_PING_INTERVAL: Duration = Duration::from_secs(3);

/// Unanswered server PINGs before a connection is stale.
pub const SERVER_PING_MAX: u32 = 2;

/// One server host.
#[derive(Clone, Debug)]
pub struct ServerSpec {
    /// Turmoil host name, e.g. `c1-s0`.
    pub host: String,
    /// Index of its cluster in [`Topology::clusters`].
    pub cluster: usize,
    /// The configuration the daemon would build from flags and files.
    pub config: NodeConfig,
    /// Root of the server's seeds; each incarnation (start or restart) derives its own.
    pub seed: u64,
    /// Gateway TLS from files (`None`: plaintext gateways, the default).
    pub tls: Option<crate::tls::HostTls>,
    /// Servers (indices into [`Topology::servers`]) this one lists in `cluster { routes }`
    /// (route suite only; the rest of the mesh is found by gossip).
    pub routes: Vec<usize>,
}

/// One cluster.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// Cluster name (the future `gateway { name }`).
    pub name: String,
    /// Indices into [`Topology::servers`].
    pub servers: Vec<usize>,
    /// Clusters this one lists as explicit remotes.
    pub explicit: Vec<usize>,
    /// `reject_unknown_cluster`.
    pub reject_unknown: bool,
    /// `connect_retries`.
    pub connect_retries: u32,
}

/// Clusters and servers of one run.
#[derive(Clone, Debug)]
pub struct Topology {
    /// Every cluster.
    pub clusters: Vec<Cluster>,
    /// Every server, in host-registration order.
    pub servers: Vec<ServerSpec>,
    /// Route suite: one cluster of several servers joined by routes, no gateways. The
    /// checker's unit of place (a "location") is then a server, not a cluster: a message
    /// crosses a route exactly where it would cross a gateway between one-server clusters.
    pub routes: bool,
}

/// How the explicit route lists of a route suite are drawn (each shape leaves gossip to
/// complete the mesh).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteShape {
    /// Server k lists only server k-1.
    Chain,
    /// Server k lists only server 0.
    Star,
    /// Server k lists one random earlier server (k ≥ 1), sometimes also a later one.
    Random,
}

impl RouteShape {
    /// A shape drawn from `rng`.
    fn draw(rng: &mut ChaCha8Rng) -> Self {
        [Self::Chain, Self::Star, Self::Random][(rng.next_u64() % 3) as usize]
    }

    /// The explicit routes (indices within the cluster) of server `k` of `n`.
    fn routes_of(self, k: usize, n: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
        let mut routes = match (self, k) {
            (_, 0) => Vec::new(),
            (Self::Chain, k) => vec![k - 1],
            (Self::Star, _) => vec![0],
            (Self::Random, k) => vec![(rng.next_u64() % k as u64) as usize],
        };
        if self == Self::Random && k + 1 < n && rng.next_u64() % 100 < 20 {
            routes.push(k + 1 + (rng.next_u64() % (n - k - 1) as u64) as usize);
        }
        routes
    }
}

impl Topology {
    /// `clusters` clusters of `servers_per_cluster` servers each, seeds drawn from `seed`.
    ///
    /// With more than one server per cluster (the supercluster suite) every cluster is also a
    /// route mesh whose explicit route lists are drawn as a [`RouteShape`], and every server
    /// lists each explicit remote cluster by a random non-empty subset of its gateway URLs:
    /// gossip over routes and gateways must complete both meshes.
    pub fn new(seed: u64, clusters: usize, servers_per_cluster: usize) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut topo = Self { clusters: Vec::new(), servers: Vec::new(), routes: false };
        // Explicit remotes: a random spanning tree (each cluster lists an earlier one) plus
        // extra edges; everything else is discovered by gossip.
        let mut explicit: Vec<Vec<usize>> = vec![Vec::new(); clusters];
        for (c, list) in explicit.iter_mut().enumerate().skip(1) {
            list.push((rng.next_u64() % c as u64) as usize);
        }
        for (c, list) in explicit.iter_mut().enumerate() {
            for d in 0..clusters {
                if d != c && !list.contains(&d) && rng.next_u64() % 100 < 15 {
                    list.push(d);
                }
            }
            list.sort_unstable();
        }
        // Some seeds: one cluster lists every other and rejects unknown clusters.
        let rejecting = (clusters > 1 && rng.next_u64() % 100 < 40)
            .then(|| (rng.next_u64() % clusters as u64) as usize);
        if let Some(r) = rejecting {
            explicit[r] = (0..clusters).filter(|&d| d != r).collect();
        }
        // Route lists and URL subsets come from a stream of their own, so one-server
        // topologies (the rotation suites) stay what they were.
        let mut mesh_rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, "mesh", 0));
        for (c, explicit) in explicit.into_iter().enumerate() {
            let connect_retries = [0, 1, 3, 5][(rng.next_u64() % 4) as usize];
            let mut cluster = Cluster {
                name: format!("C{c}"),
                servers: Vec::new(),
                explicit,
                reject_unknown: rejecting == Some(c),
                connect_retries,
            };
            let shape = (servers_per_cluster > 1).then(|| RouteShape::draw(&mut mesh_rng));
            let first = topo.servers.len();
            for s in 0..servers_per_cluster {
                let routes = match shape {
                    Some(shape) => shape.routes_of(s, servers_per_cluster, &mut mesh_rng),
                    None => Vec::new(),
                };
                let host = format!("c{c}-s{s}");
                cluster.servers.push(topo.servers.len());
                topo.servers.push(ServerSpec {
                    config: node_config(&host),
                    host,
                    cluster: c,
                    seed: rng.next_u64(),
                    tls: None,
                    routes: routes.into_iter().map(|r| first + r).collect(),
                });
            }
            topo.clusters.push(cluster);
        }
        for i in 0..topo.servers.len() {
            let c = topo.servers[i].cluster;
            let mut gateway = topo.gateway_config(c, &topo.servers[i].host);
            if servers_per_cluster > 1 {
                for remote in &mut gateway.remotes {
                    keep_some(&mut mesh_rng, &mut remote.urls);
                }
                let cluster = cluster_config(&topo, i, &topo.clusters[c]);
                topo.servers[i].config.cluster = Some(cluster);
            }
            topo.servers[i].config.gateway = Some(gateway);
        }
        topo
    }

    /// The route suite: one cluster `C0` of `servers` servers joined by routes (no gateways),
    /// the explicit route lists drawn from `seed` as a [`RouteShape`] so gossip must complete
    /// the mesh. `connect_retries` for implicit routes is drawn per seed too.
    pub fn with_routes(seed: u64, servers: usize) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let shape = RouteShape::draw(&mut rng);
        let connect_retries = [0, 1, 3, 5][(rng.next_u64() % 4) as usize];
        let cluster = Cluster {
            name: "C0".into(),
            servers: (0..servers).collect(),
            explicit: Vec::new(),
            reject_unknown: false,
            connect_retries,
        };
        let mut topo = Self { clusters: Vec::new(), servers: Vec::new(), routes: true };
        for k in 0..servers {
            let routes = shape.routes_of(k, servers, &mut rng);
            let host = format!("c0-s{k}");
            topo.servers.push(ServerSpec {
                config: node_config(&host),
                host,
                cluster: 0,
                seed: rng.next_u64(),
                tls: None,
                routes,
            });
        }
        for k in 0..servers {
            let c = cluster_config(&topo, k, &cluster);
            topo.servers[k].config.cluster = Some(c);
        }
        topo.clusters.push(cluster);
        topo
    }

    /// Whether the checker places messages by server (route and supercluster suites) rather
    /// than by cluster (one-server clusters).
    pub fn by_server(&self) -> bool {
        self.routes || self.servers.len() > self.clusters.len()
    }

    /// The supercluster suite: clusters of several servers joined by gateways.
    pub fn supercluster(&self) -> bool {
        self.by_server() && !self.routes
    }

    /// The fault domain of location `l`: windows in which paths may be down are kept per
    /// domain. A server in the route suite; a cluster otherwise (in a supercluster, one
    /// server's crash or a partition of one route may cut a remote cluster's traffic to any
    /// server of its cluster: gateway messages land on one server and travel on over routes).
    pub fn domain(&self, l: usize) -> usize {
        match self.supercluster() {
            true => self.servers.get(l).map_or(l, |s| s.cluster),
            false => l,
        }
    }

    /// Number of fault domains (see [`Topology::domain`]).
    pub fn domains(&self) -> usize {
        if self.routes { self.servers.len() } else { self.clusters.len() }
    }

    /// The checker's places: servers in the route and supercluster suites, clusters otherwise.
    pub fn locations(&self) -> usize {
        if self.by_server() { self.servers.len() } else { self.clusters.len() }
    }

    /// The location of server host `host` (see [`Topology::locations`]).
    pub fn location_of(&self, host: &str) -> Option<usize> {
        if self.by_server() {
            self.servers.iter().position(|s| s.host == host)
        } else {
            self.cluster_of(host)
        }
    }

    /// The fault domain of server host `host` (see [`Topology::domain`]).
    pub fn domain_of(&self, host: &str) -> Option<usize> {
        self.location_of(host).map(|l| self.domain(l))
    }

    /// The server host clients and probes of location `l` use.
    pub fn location_host(&self, l: usize) -> String {
        if self.by_server() {
            self.servers[l].host.clone()
        } else {
            self.cluster_hosts(l)[0].clone()
        }
    }

    /// The `gateway {}` block of a server of cluster `c` on `host`.
    fn gateway_config(&self, c: usize, host: &str) -> GatewayConfig {
        let cluster = &self.clusters[c];
        let mut g = GatewayConfig::new(cluster.name.clone(), GatewayUrl::new(host, GATEWAY_PORT));
        g.remotes = cluster
            .explicit
            .iter()
            .map(|&d| RemoteConfig {
                name: self.clusters[d].name.clone(),
                urls: self
                    .cluster_hosts(d)
                    .into_iter()
                    .map(|h| GatewayUrl::new(h, GATEWAY_PORT))
                    .collect(),
            })
            .collect();
        g.reject_unknown_cluster = cluster.reject_unknown;
        g.connect_retries = cluster.connect_retries;
        g
    }

    /// Whether a message published in cluster `from` can reach subscribers in cluster `to`
    /// when every link is healthy: gateways form a full mesh, so always (the checker adds the
    /// windows in which the gateway path between two clusters was down).
    pub fn reachable(&self, from: usize, to: usize) -> bool {
        from < self.locations() && to < self.locations()
    }

    /// Whether either of fault domains `a` and `b` lists the other as an explicit remote
    /// gateway (or, in the route suite, an explicit route): then the link between them is
    /// re-dialled forever; a purely implicit pair may be forgotten by both sides after
    /// `connect_retries` failed rounds.
    pub fn explicit_pair(&self, a: usize, b: usize) -> bool {
        if self.routes {
            return self.servers[a].routes.contains(&b) || self.servers[b].routes.contains(&a);
        }
        self.clusters[a].explicit.contains(&b) || self.clusters[b].explicit.contains(&a)
    }

    /// The cluster of server host `host`.
    pub fn cluster_of(&self, host: &str) -> Option<usize> {
        self.servers.iter().find(|s| s.host == host).map(|s| s.cluster)
    }

    /// Whether two servers (indices into [`Topology::servers`]) of one cluster are joined by
    /// an explicit route (either lists the other).
    pub fn explicit_route(&self, a: usize, b: usize) -> bool {
        self.servers[a].routes.contains(&b) || self.servers[b].routes.contains(&a)
    }

    /// Route streams a server keeps when its cluster's mesh is complete: one per pool index
    /// (one without a pool) to every other server of its cluster.
    pub fn route_streams_per_server(&self) -> usize {
        let Some(c) = self.servers[0].config.cluster.as_ref() else { return 0 };
        (self.clusters[0].servers.len() - 1) * c.pool_size.max(1) as usize
    }

    /// Server-to-server TCP streams a server may hold when the mesh is complete: its routes,
    /// and one outbound gateway per other cluster plus at most one inbound from every server
    /// of the other clusters (each picks one server of ours).
    pub fn mesh_streams_per_server(&self) -> usize {
        let gateways = match self.routes {
            true => 0,
            false => {
                let others = self.servers.len() - self.clusters[0].servers.len();
                self.clusters.len() - 1 + others
            }
        };
        self.route_streams_per_server() + gateways
    }

    /// Host names of the servers of cluster `c`.
    pub fn cluster_hosts(&self, c: usize) -> Vec<String> {
        self.clusters[c].servers.iter().map(|&s| self.servers[s].host.clone()).collect()
    }

    /// Register every server as a turmoil host. A host's closure runs again when the host is
    /// bounced (restart after a crash): each run is a new incarnation with a fresh seed.
    /// Each incarnation starts from its configuration file as it is then (`files`, which the
    /// harness rewrites on reload faults) and takes reloads from the harness.
    /// `lame_ducks` gets each incarnation's lame-duck trigger (the daemon's `SIGUSR2`).
    pub fn install(
        &self,
        sim: &mut turmoil::Sim<'_>,
        shared: &Shared,
        files: &Files,
        lame_ducks: &LameDucks,
    ) {
        for spec in &self.servers {
            let spec = spec.clone();
            let shared = shared.clone();
            let files = files.clone();
            let lame_ducks = lame_ducks.clone();
            let incarnation = Rc::new(Cell::new(0u64));
            sim.host(spec.host.clone(), move || {
                let n = incarnation.get();
                incarnation.set(n + 1);
                let seed = derive_seed(spec.seed, "incarnation", n);
                let (config, reloads) = files.borrow_mut().start(&spec.host);
                let host = spec.host.clone();
                let shared = shared.clone();
                let tls = spec.tls.clone();
                let (ldm_sender, lame_duck) = strait_net::lame_duck::channel(LameDuckTimes {
                    duration: LAME_DUCK,
                    grace: LAME_DUCK / 5,
                });
                lame_ducks.0.borrow_mut().insert(host.clone(), ldm_sender);
                async move {
                    shared.borrow_mut().event(&host, format_args!("server start #{n}"));
                    let client = SimListener::bind(CLIENT_PORT).await?;
                    let gateway = match config.gateway {
                        Some(_) => Some(SimListener::bind(GATEWAY_PORT).await?),
                        None => None,
                    };
                    let route = match config.cluster {
                        Some(_) => Some(SimListener::bind(ROUTE_PORT).await?),
                        None => None,
                    };
                    let listeners = Listeners { client, gateway, route, monitor: None };
                    let driver = driver_config();
                    let observe = |node| shared.borrow_mut().node_started(&host, node);
                    let dialer = SimDialer::default();
                    shared.borrow_mut().dialer_started(&host, dialer.abandoned());
                    // Each incarnation reads the files as they are when it starts.
                    let tls = match tls {
                        Some(tls) => tls.start()?,
                        None => Default::default(),
                    };
                    let extras = server::Extras {
                        tls,
                        reloads: Some(reloads),
                        observe: Some(observe),
                        lame_duck: Some(lame_duck),
                    };
                    server::run_with(config, driver, seed, listeners, dialer, pending(), extras)
                        .await?;
                    Ok(())
                }
            });
        }
    }
}

/// The `cluster {}` block of server `k` of `cluster`: its explicit routes, the cluster's
/// `connect_retries`, the simulation's short keep-alive.
fn cluster_config(topo: &Topology, k: usize, cluster: &Cluster) -> ClusterConfig {
    let host = &topo.servers[k].host;
    let mut c = ClusterConfig::new(cluster.name.clone(), PeerUrl::new(host.clone(), ROUTE_PORT));
    c.connect_retries = cluster.connect_retries;
    c.ping_interval = SERVER_PING_INTERVAL;
    c.ping_max = SERVER_PING_MAX;
    c.client_urls = vec![PeerUrl::new(host.clone(), CLIENT_PORT).to_string()];
    c.routes = topo.servers[k]
        .routes
        .iter()
        .map(|&r| PeerUrl::new(topo.servers[r].host.clone(), ROUTE_PORT))
        .collect();
    c
}

/// Keep a random non-empty subset of `urls`, in their order.
fn keep_some<T>(rng: &mut ChaCha8Rng, urls: &mut Vec<T>) {
    let keep = 1 + (rng.next_u64() % urls.len() as u64) as usize;
    while urls.len() > keep {
        let drop = (rng.next_u64() % urls.len() as u64) as usize;
        urls.remove(drop);
    }
}

/// The lame-duck trigger of every server's current incarnation, by host.
#[derive(Clone, Debug, Default)]
pub struct LameDucks(Rc<RefCell<BTreeMap<String, LameDuckSender>>>);

impl LameDucks {
    /// Put server `host` into lame-duck mode.
    pub fn enter(&self, host: &str) {
        if let Some(s) = self.0.borrow().get(host) {
            s.enter();
        }
    }
}

/// The configuration of one simulated server: daemon defaults, named after its host, with the
/// simulation's accounts and a short keep-alive.
pub fn node_config(host: &str) -> NodeConfig {
    NodeConfig {
        server_name: Some(host.to_owned()),
        port: CLIENT_PORT,
        ping_interval: SERVER_PING_INTERVAL,
        ping_max: SERVER_PING_MAX,
        max_pending: 4 * 1024 * 1024,
        auth: Auth::Users(
            ACCOUNTS
                .iter()
                .map(|(account, user, pass)| User {
                    user: (*user).into(),
                    password: (*pass).into(),
                    account: Some((*account).into()),
                    ..User::default()
                })
                .collect(),
        ),
        ..NodeConfig::default()
    }
}

/// The driver settings of every simulated server.
pub(crate) fn driver_config() -> DriverConfig {
    DriverConfig {
        write_deadline: Duration::from_secs(2),
        route_write_deadline: Duration::from_secs(2),
        shutdown_grace: Duration::from_secs(1),
        ..DriverConfig::default()
    }
}
