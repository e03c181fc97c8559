//! Supercluster cases: per implementation two three-server clusters, A and B, joined by routes
//! within and gateways between (every server of A lists B by B1's gateway address and every
//! server of B lists A by A1's; the rest comes from gossip). The publisher sits on A1 and one
//! subscriber on each of B2 and B3, so every message crosses the gateway and then a route; the
//! requester is on A1 and the responder on B3; 100k subscriptions made on B2 are timed until a
//! probe from each of A1, A2 and A3 reaches them. Clusters are started by
//! [`super::cluster::start_cluster`], gateway blocks rendered by the test suites' [`GwConfig`],
//! and the load and run loop are [`super::load`]'s.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::cluster::{Cluster, start_cluster};
use super::common::Kind;
use super::common::gateway::{GwConfig, free_ports};
use super::load::{Interest, Placement, placed_cases};
use super::{Metric, ORDER, Opts};

/// How long every server may take to register its outbound gateway.
const LINK_TIMEOUT: Duration = Duration::from_secs(30);

/// Clusters A and B of one implementation.
fn start_supercluster(kind: Kind, program: &Path, flags: &[&str]) -> [Cluster; 2] {
    let ports = free_ports(2);
    let gateway = |name: &'static str, port: u16, other: &'static str, other_port: u16| {
        move |n: usize| {
            let addr = SocketAddr::from(([127, 0, 0, 1], other_port));
            let config = GwConfig::new(name).server_name(&format!("{name}{n}"));
            // Only the first server's gateway port is fixed: the other cluster lists it.
            let config = if n == 1 { config.port(port) } else { config };
            config.remote(other, addr, None).render()
        }
    };
    let a = start_cluster(kind, program, flags, "A", &gateway("A", ports[0], "B", ports[1]));
    let b = start_cluster(kind, program, flags, "B", &gateway("B", ports[1], "A", ports[0]));
    for (cluster, other) in [(&a, "B"), (&b, "A")] {
        for s in &cluster.servers {
            s.wait_for_log(&format!("Outbound gateway connection to \"{other}\""), LINK_TIMEOUT);
        }
    }
    [a, b]
}

/// The supercluster cases for both implementations.
pub(super) fn supercluster_cases(
    runtime: &tokio::runtime::Runtime,
    programs: &[PathBuf; 2],
    flags: &[&str],
    opts: &Opts,
    started: Instant,
) -> Vec<Metric> {
    let superclusters: Vec<[Cluster; 2]> =
        ORDER.iter().zip(programs).map(|(&k, p)| start_supercluster(k, p, flags)).collect();
    // A1, A2, A3, B1, B2, B3.
    let servers = |[a, b]: &[Cluster; 2]| -> Vec<SocketAddr> {
        a.addrs().into_iter().chain(b.addrs()).collect()
    };
    let placement = Placement {
        part: "supercluster",
        fanout: "sc A1→B2,B3".to_owned(),
        publisher: 0,
        subscribers: vec![4, 5],
        latency: "sc A1→B3".to_owned(),
        requester: 0,
        responder: 5,
        interest: Some(Interest {
            name: format!("sc {}k subs on B2 known on A1..A3", opts.gateway_subs / 1000),
            subscriber: 4,
            publishers: vec![0, 1, 2],
            subs: opts.gateway_subs,
        }),
    };
    let servers = [servers(&superclusters[0]), servers(&superclusters[1])];
    placed_cases(runtime, &servers, &placement, opts, started)
}
