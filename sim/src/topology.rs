//! The simulated supercluster: clusters of servers, each server a turmoil host running the
//! production `strait_net::server::run` with the daemon's typed [`NodeConfig`].
//!
//! Today a cluster is one server and clusters are not linked (gateways do not exist yet), so
//! [`Topology::reachable`] is "same cluster". When gateways land, a cluster gets its gateway
//! configuration here (explicit and gossiped remotes, `reject_unknown_cluster`,
//! `connect_retries`), `reachable` follows the gateway graph and the partition faults, and the
//! workload and invariants need no change beyond that predicate.

use std::cell::Cell;
use std::future::pending;
use std::rc::Rc;
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use strait_core::node::{Auth, NodeConfig, User};
use strait_net::server::{self, DriverConfig, Listeners};

use crate::invariants::Shared;
use crate::trace::derive_seed;
use crate::transport::{SimDialer, SimListener};

/// The client port every simulated server listens on.
pub const CLIENT_PORT: u16 = 4222;

/// The accounts clients are spread over, with the user and password that binds each one.
pub const ACCOUNTS: [(&str, &str, &str); 2] = [("A", "ua", "pa"), ("B", "ub", "pb")];

/// Server keep-alive interval in the simulation (short so stale links are found in-run).
pub const SERVER_PING_INTERVAL: Duration = Duration::from_secs(3);

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
}

/// One cluster.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// Cluster name (the future `gateway { name }`).
    pub name: String,
    /// Indices into [`Topology::servers`].
    pub servers: Vec<usize>,
}

/// Clusters and servers of one run.
#[derive(Clone, Debug)]
pub struct Topology {
    /// Every cluster.
    pub clusters: Vec<Cluster>,
    /// Every server, in host-registration order.
    pub servers: Vec<ServerSpec>,
}

impl Topology {
    /// `clusters` clusters of `servers_per_cluster` servers each, seeds drawn from `seed`.
    pub fn new(seed: u64, clusters: usize, servers_per_cluster: usize) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut topo = Self { clusters: Vec::new(), servers: Vec::new() };
        for c in 0..clusters {
            let mut cluster = Cluster { name: format!("C{c}"), servers: Vec::new() };
            for s in 0..servers_per_cluster {
                let host = format!("c{c}-s{s}");
                cluster.servers.push(topo.servers.len());
                topo.servers.push(ServerSpec {
                    config: node_config(&host),
                    host,
                    cluster: c,
                    seed: rng.next_u64(),
                });
            }
            topo.clusters.push(cluster);
        }
        topo
    }

    /// Whether a message published in cluster `from` can reach subscribers in cluster `to`
    /// when every link is healthy. Without gateways only within a cluster.
    pub fn reachable(&self, from: usize, to: usize) -> bool {
        from == to
    }

    /// Host names of the servers of cluster `c`.
    pub fn cluster_hosts(&self, c: usize) -> Vec<String> {
        self.clusters[c].servers.iter().map(|&s| self.servers[s].host.clone()).collect()
    }

    /// Register every server as a turmoil host. A host's closure runs again when the host is
    /// bounced (restart after a crash): each run is a new incarnation with a fresh seed.
    pub fn install(&self, sim: &mut turmoil::Sim<'_>, shared: &Shared) {
        for spec in &self.servers {
            let spec = spec.clone();
            let shared = shared.clone();
            let incarnation = Rc::new(Cell::new(0u64));
            sim.host(spec.host.clone(), move || {
                let n = incarnation.get();
                incarnation.set(n + 1);
                let seed = derive_seed(spec.seed, "incarnation", n);
                let config = spec.config.clone();
                let host = spec.host.clone();
                let shared = shared.clone();
                async move {
                    shared.borrow_mut().event(&host, format_args!("server start #{n}"));
                    let client = SimListener::bind(CLIENT_PORT).await?;
                    // Gateway listeners and remotes join here when the topology links clusters.
                    let listeners = Listeners { client, gateway: None, monitor: None };
                    let driver = driver_config();
                    server::run(config, driver, seed, listeners, SimDialer, pending()).await?;
                    Ok(())
                }
            });
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
        ping_max: 2,
        max_pending: 4 * 1024 * 1024,
        auth: Auth::Users(
            ACCOUNTS
                .iter()
                .map(|(account, user, pass)| User {
                    user: (*user).into(),
                    password: (*pass).into(),
                    account: Some((*account).into()),
                })
                .collect(),
        ),
        ..NodeConfig::default()
    }
}

fn driver_config() -> DriverConfig {
    DriverConfig { write_deadline: Duration::from_secs(2), shutdown_grace: Duration::from_secs(1) }
}
