//! Cluster cases: per implementation a three-server cluster joined by routes (server 1 is the
//! seed; servers 2 and 3 list it and find each other by gossip). The publisher sits on server 1
//! and one subscriber on each of servers 2 and 3, so every message crosses a route twice (once
//! per subscriber's server); the requester is on server 1 and the responder on server 2, so a
//! request and its reply each cross the route once. The load and the run loop are
//! [`super::load`]'s.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::common::{Kind, Server};
use super::load::{Placement, placed_cases};
use super::{Metric, ORDER, Opts, STEP};

/// The cluster's name in every configuration.
const CLUSTER: &str = "BENCH";

/// A three-server cluster of one implementation; the servers are killed on drop.
pub(super) struct Cluster {
    pub(super) servers: Vec<Server>,
    dir: PathBuf,
}

impl Cluster {
    /// The servers' client addresses, in order.
    pub(super) fn addrs(&self) -> Vec<SocketAddr> {
        self.servers.iter().map(Server::addr).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.servers.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts cluster `name`'s seed (server 1), reads its route port from its log, then starts
/// servers 2 and 3 routing to it. `head(n)` is the start of server `n`'s config file (its
/// `server_name` and anything else, e.g. a `gateway {}` block); the `cluster {}` block follows.
pub(super) fn start_cluster(
    kind: Kind,
    program: &Path,
    flags: &[&str],
    name: &str,
    head: &dyn Fn(usize) -> String,
) -> Cluster {
    let dir = std::env::temp_dir().join(format!(
        "strait-bench-cluster-{}-{name}-{}",
        kind.label(),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spawn = |n: usize, routes: &str| -> Server {
        let path = dir.join(format!("s{n}.conf"));
        let conf = format!(
            "{}\ncluster {{\n  name: {name}\n  listen: \"127.0.0.1:-1\"\n{routes}}}\n",
            head(n)
        );
        std::fs::write(&path, conf).expect("config file");
        let path = path.display().to_string();
        let mut args = vec!["-c", path.as_str()];
        args.extend_from_slice(flags);
        Server::spawn(kind, program, &args)
    };
    let seed = spawn(1, "");
    let line = seed.wait_for_log("Listening for route connections on ", STEP);
    let port: u16 = line
        .rsplit(':')
        .next()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("{}: no route port in {line:?}", kind.label()));
    let routes = format!("  routes: [\"nats://127.0.0.1:{port}\"]\n");
    let servers = vec![seed, spawn(2, &routes), spawn(3, &routes)];
    Cluster { servers, dir }
}

/// The cluster cases for both implementations.
pub(super) fn cluster_cases(
    runtime: &tokio::runtime::Runtime,
    programs: &[PathBuf; 2],
    flags: &[&str],
    opts: &Opts,
    started: Instant,
) -> Vec<Metric> {
    let clusters: Vec<Cluster> = ORDER
        .iter()
        .zip(programs)
        .map(|(&k, p)| {
            start_cluster(k, p, flags, CLUSTER, &|n| format!("server_name: {CLUSTER}{n}"))
        })
        .collect();
    let placement = Placement {
        part: "cluster",
        fanout: "cluster 1→2,3".to_owned(),
        publisher: 0,
        subscribers: vec![1, 2],
        latency: "cluster 1→2".to_owned(),
        requester: 0,
        responder: 1,
        interest: None,
    };
    let servers = [clusters[0].addrs(), clusters[1].addrs()];
    placed_cases(runtime, &servers, &placement, opts, started)
}
