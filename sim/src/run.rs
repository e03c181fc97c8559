//! One simulation run: everything derived from one seed, driven step by step, then checked.
//!
//! Phase one (until the last fault heals) injects faults while safety invariants are checked
//! online; phase two lets the workload continue on a healed network and requires convergence:
//! every client reconnected, every message on a clean path delivered, no connection left
//! behind on a server, and — observed from outside through probe clients — every pair of
//! clusters carrying traffic over its gateways again within [`LIVENESS_BOUND`] of the heal.
//! Throughout, and once more at the audit after everyone left, every running server's memory
//! is sampled and checked against workload-derived bounds ([`crate::memory`]).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use crate::faults::{Direction, Fault, FaultSchedule};
use crate::invariants::{
    Checker, GW_RECOVER, GatewayWindow, HANDSHAKE_STALL, MESH_UP, Shared, Stats, Violation, host,
};
use crate::memory;
use crate::reload::{ConfigFiles, Files, rotated_password, set_password};
use crate::topology::{ACCOUNTS, LameDucks, Topology};
use crate::trace::derive_seed;
use crate::workload::{self, Action, ClientSpec, WorkloadParams};

/// Simulated time between two memory samples of every server.
pub const MEMORY_SAMPLE: Duration = Duration::from_millis(250);
/// Simulated time per `sim.step()`.
pub const TICK: Duration = Duration::from_millis(5);
/// Base one-way latency range of every link.
pub const BASE_LATENCY: (Duration, Duration) = (Duration::from_millis(1), Duration::from_millis(8));
/// Faults start in this window.
pub const FAULT_WINDOW: (Duration, Duration) = (Duration::from_secs(2), Duration::from_secs(12));
/// Clients stop this long after the last fault healed (at least).
pub const QUIET: Duration = Duration::from_secs(7);
/// After the last heal every client must be connected again within this bound.
pub const RECONNECT_BOUND: Duration = Duration::from_secs(5);
/// After the last heal every pair of clusters must carry a probe again within this bound.
pub const LIVENESS_BOUND: Duration = Duration::from_secs(10);
/// The auditor counts server connections this long after the clients stopped (long enough
/// for the server's keep-alive to drop connections whose peer vanished).
pub const AUDIT_DELAY: Duration = Duration::from_secs(12);

/// Where the faults of a run come from.
#[derive(Clone, Debug)]
pub enum Faults {
    /// Drawn from the run seed.
    Seeded,
    /// None at all.
    None,
    /// Written by hand.
    Manual(FaultSchedule),
}

/// What to run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The seed everything derives from.
    pub seed: u64,
    /// Number of clusters (default: 5 or 6 from the seed).
    pub clusters: Option<usize>,
    /// Number of clients (default: 6 to 10 from the seed).
    pub clients: Option<usize>,
    /// Fault source.
    pub faults: Faults,
    /// Mirror the event trace to `tracing`.
    pub trace: bool,
    /// Injected bug: add a client that re-publishes every message it gets from another
    /// cluster (what a server forwarding gateway traffic to other gateways would cause).
    pub relay: bool,
    /// Route suite: one cluster of several servers joined by routes (partial route lists,
    /// gossip completes the mesh) instead of one-server clusters joined by gateways.
    pub routes: bool,
    /// Servers of the route suite's cluster (default: 3 to 5 from the seed), or of every
    /// cluster of a supercluster (default: 3).
    pub servers: Option<usize>,
}

impl RunConfig {
    /// The standard run of `seed`: seeded topology, workload and faults.
    pub fn seeded(seed: u64) -> Self {
        Self {
            seed,
            clusters: None,
            clients: None,
            faults: Faults::Seeded,
            trace: false,
            relay: false,
            routes: false,
            servers: None,
        }
    }

    /// The gateway suite's run of `seed`: 5 or 6 clusters of one server each (the standard
    /// suite before clusters had routes; its regression seeds keep their meaning).
    pub fn one_server_clusters(seed: u64) -> Self {
        Self { servers: Some(1), ..Self::seeded(seed) }
    }

    /// The standard route-suite run of `seed`: one cluster of 3 to 5 servers joined by
    /// routes, seeded workload and faults (crashes and partitions of single servers and
    /// single routes, one-way and two-way).
    pub fn routes(seed: u64) -> Self {
        Self { routes: true, ..Self::seeded(seed) }
    }
}

/// The outcome of one run.
#[derive(Debug)]
pub struct RunReport {
    /// The seed.
    pub seed: u64,
    /// Digest of the full event trace.
    pub digest: u64,
    /// Number of trace events.
    pub events: u64,
    /// Broken invariants.
    pub violations: Vec<Violation>,
    /// The faults that were injected.
    pub schedule: FaultSchedule,
    /// Counters.
    pub stats: Stats,
    /// Clusters and clients.
    pub shape: String,
    /// Simulated time covered.
    pub simulated: Duration,
    /// Wall time taken.
    pub wall: Duration,
    /// The last trace events (for failure reports).
    pub tail: Vec<String>,
    /// How the run was configured, for the replay command.
    manual_faults: bool,
    /// A route-suite run (for the replay command).
    routes: bool,
    /// A run of one-server clusters (for the replay command).
    one_server: bool,
}

impl RunReport {
    /// Whether every invariant held.
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }

    /// Panic with the full failure report unless the run passed.
    pub fn assert_ok(&self) {
        assert!(self.ok(), "{self}");
    }
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.ok() { "ok" } else { "FAILED" };
        writeln!(f, "seed {} {verdict}: {}", self.seed, self.shape)?;
        writeln!(
            f,
            "  {} events, digest {:016x}, {:?} simulated in {:?}; {:?}",
            self.events, self.digest, self.simulated, self.wall, self.stats
        )?;
        writeln!(f, "fault schedule:")?;
        write!(f, "{}", self.schedule)?;
        if !self.ok() {
            write_failure(f, &self.violations, &self.tail)?;
            if self.manual_faults {
                writeln!(
                    f,
                    "replay: cargo test -p strait-sim -- --nocapture (the failing scenario test)"
                )?;
            } else {
                let (flag, test) = match (self.routes, self.one_server) {
                    (true, _) => ("--routes ", Some("routes")),
                    (false, true) => ("--one-server ", None),
                    (false, false) => ("", Some("standard")),
                };
                writeln!(
                    f,
                    "replay: cargo run -p strait-sim -- {flag}--seed {} --trace",
                    self.seed
                )?;
                if let Some(test) = test {
                    writeln!(
                        f,
                        "    or: STRAIT_SIM_SEED={} cargo test -p strait-sim --test {test} replay_seed_from_env -- --nocapture",
                        self.seed
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// The part of a failed run's report that every kind of run prints: the first violations and
/// the last trace events.
pub(crate) fn write_failure(
    f: &mut fmt::Formatter<'_>,
    violations: &[impl fmt::Display],
    tail: &[String],
) -> fmt::Result {
    writeln!(f, "violations ({}):", violations.len())?;
    for v in violations.iter().take(30) {
        writeln!(f, "  {v}")?;
    }
    writeln!(f, "last events:")?;
    for line in tail {
        writeln!(f, "  {line}")?;
    }
    Ok(())
}

/// A primitive network operation the harness applies between steps.
#[derive(Clone, Debug)]
enum Op {
    Start(Fault),
    End(Fault),
}

/// Run one simulation.
pub fn run(cfg: &RunConfig) -> RunReport {
    let wall = Instant::now();
    let seed = cfg.seed;
    let mut shape_rng = derive_seed(seed, "shape", 0);
    let clusters = cfg.clusters.unwrap_or_else(|| 5 + (next(&mut shape_rng) % 2) as usize);
    let nclients = cfg.clients.unwrap_or_else(|| 6 + (next(&mut shape_rng) % 5) as usize);
    let topo = if cfg.routes {
        let servers = cfg.servers.unwrap_or_else(|| 3 + (next(&mut shape_rng) % 3) as usize);
        Topology::with_routes(derive_seed(seed, "topology", 0), servers)
    } else {
        Topology::new(derive_seed(seed, "topology", 0), clusters, cfg.servers.unwrap_or(3))
    };

    // The stop time depends on the faults, and the faults on the clients; draw the clients
    // with the longest possible activity window, then trim their scripts.
    let longest = WorkloadParams {
        clients: nclients,
        active_until: FAULT_WINDOW.1 + Duration::from_secs(5) + QUIET,
        stop_at: FAULT_WINDOW.1 + Duration::from_secs(5) + QUIET,
    };
    let mut clients = workload::generate(derive_seed(seed, "workload", 0), &topo, &longest);
    if cfg.relay {
        clients.push(workload::relay_client(clients.len() as u32, &topo, longest.stop_at));
    }
    let schedule = match &cfg.faults {
        Faults::Seeded => {
            let faults = derive_seed(seed, "faults", 0);
            let mut s =
                FaultSchedule::generate(faults, &topo, &clients, FAULT_WINDOW.0, FAULT_WINDOW.1);
            let reloads = derive_seed(seed, "reloads", 0);
            s.add_reloads(reloads, &topo, FAULT_WINDOW.0, FAULT_WINDOW.1);
            s
        }
        Faults::None => FaultSchedule::none(),
        Faults::Manual(s) => s.clone(),
    };
    let healed_at = schedule.healed_at();
    let stop_at = healed_at.max(FAULT_WINDOW.0) + QUIET;
    for c in &mut clients {
        c.stop_at = stop_at;
        c.script.retain(|s| s.at < stop_at - Duration::from_secs(1));
    }
    schedule.merge_bounces(&mut clients);

    let shared: Shared = Rc::new(RefCell::new(Checker::new(cfg.trace)));
    if topo.by_server() {
        let places = topo.servers.iter().enumerate().map(|(i, s)| (s.host.clone(), i)).collect();
        let domains = (0..topo.locations()).map(|l| topo.domain(l)).collect();
        shared.borrow_mut().locate_by_server(places, domains);
    }
    // Gateway paths that may be down, and the pairs that must carry probes after the heal.
    let mut exempt = Vec::new();
    // (from, to, time): probes from `from` to `to` may only start to flow at `time`.
    let mut stalls: Vec<(usize, usize, Duration)> = Vec::new();
    for t in &schedule.faults {
        match &t.fault {
            Fault::CrashServer { server, down_for }
            | Fault::LameDuckRestart { server, down_for } => {
                let Some(a) = topo.domain_of(server) else { continue };
                let end = t.at + *down_for + GW_RECOVER;
                shared.borrow_mut().gateway_window(GatewayWindow::both_ways(a, None, t.at, end));
            }
            Fault::RemoveGateway { server, remote, duration } => {
                let a = topo.domain_of(server);
                let b = topo.clusters.iter().position(|c| c.name == *remote);
                let (Some(a), Some(b)) = (a, b) else { continue };
                let end = t.at + *duration + GW_RECOVER;
                shared.borrow_mut().gateway_window(GatewayWindow::both_ways(a, Some(b), t.at, end));
            }
            Fault::ServerPartition { a, b, duration, one_way } => {
                let (Some(la), Some(lb)) = (topo.location_of(a), topo.location_of(b)) else {
                    continue;
                };
                let healed = t.at + *duration;
                if topo.supercluster() {
                    for w in supercluster_partition_windows(&topo, la, lb, *one_way, t.at, healed) {
                        shared.borrow_mut().gateway_window(w);
                    }
                    if *one_way {
                        let touched = [topo.domain(la), topo.domain(lb)];
                        let n = topo.locations();
                        for (x, y) in (0..n).flat_map(|x| (0..n).map(move |y| (x, y))) {
                            if touched.contains(&topo.domain(x))
                                || touched.contains(&topo.domain(y))
                            {
                                stalls.push((x, y, healed + HANDSHAKE_STALL));
                            }
                        }
                    }
                    continue;
                }
                let (a, b) = (la, lb);
                if topo.routes {
                    // One route carries both directions, and either end may be the one whose
                    // dial stalls behind a one-way partition: allow the stall both ways.
                    let end = if topo.explicit_pair(a, b) {
                        let stall = if *one_way { HANDSHAKE_STALL } else { Duration::ZERO };
                        healed + stall + GW_RECOVER
                    } else {
                        exempt.push((a, b));
                        exempt.push((b, a));
                        Duration::MAX
                    };
                    let w = GatewayWindow::both_ways(a, Some(b), t.at, end);
                    shared.borrow_mut().gateway_window(w);
                    if *one_way && end != Duration::MAX {
                        stalls.push((a, b, healed + HANDSHAKE_STALL));
                        stalls.push((b, a, healed + HANDSHAKE_STALL));
                    }
                    continue;
                }
                // Two clusters that only know each other by gossip may both give up on the
                // other after `connect_retries` (nats-server behaves so): never required again.
                let end = if topo.explicit_pair(a, b) {
                    healed + GW_RECOVER
                } else {
                    exempt.push((a, b));
                    exempt.push((b, a));
                    Duration::MAX
                };
                let w = GatewayWindow::both_ways(a, Some(b), t.at, end);
                shared.borrow_mut().gateway_window(w);
                if *one_way && end != Duration::MAX {
                    // b's dial to a may hang on a lost INFO past the heal (see HANDSHAKE_STALL).
                    // If a knows b only by gossip, a may have forgotten b after its failed
                    // dials and learns it again only from b's next inbound, so the path a -> b
                    // waits for the same stall.
                    let end = healed + HANDSHAKE_STALL + GW_RECOVER;
                    let only_b_to_a = topo.clusters[a].explicit.contains(&b);
                    let w = GatewayWindow::stall(a, b, only_b_to_a, t.at, end);
                    shared.borrow_mut().gateway_window(w);
                    stalls.push((b, a, healed + HANDSHAKE_STALL));
                    if !only_b_to_a {
                        stalls.push((a, b, healed + HANDSHAKE_STALL));
                    }
                }
            }
            _ => {}
        }
    }
    let probe_from = healed_at.max(MESH_UP);
    let nclusters = topo.locations();
    // Each pair must carry a probe within LIVENESS_BOUND of the last heal, or of the end of a
    // handshake stall on its path if that is later.
    let probe_pairs: Vec<(usize, usize, Duration)> = (0..nclusters)
        .flat_map(|x| (0..nclusters).map(move |y| (x, y)))
        .filter(|&(x, y)| x != y && !exempt.contains(&(x, y)))
        .map(|(x, y)| {
            let stalled = stalls.iter().filter(|s| (s.0, s.1) == (x, y)).map(|s| s.2);
            (x, y, stalled.fold(probe_from, Duration::max))
        })
        .collect();
    let probe_until =
        probe_pairs.iter().map(|p| p.2).fold(probe_from, Duration::max) + LIVENESS_BOUND;
    // The probes' own connections must be closed (and seen closed) before the audit.
    let audit_at = (stop_at + AUDIT_DELAY).max(probe_until + Duration::from_secs(2));
    let shape = describe(&topo, &clients);
    shared.borrow_mut().event("harness", format_args!("seed {seed}: {shape}"));

    let mut sim = turmoil::Builder::new()
        .rng_seed(derive_seed(seed, "turmoil", 0))
        .epoch(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .simulation_duration(audit_at + Duration::from_secs(10))
        .tick_duration(TICK)
        .min_message_latency(BASE_LATENCY.0)
        .max_message_latency(BASE_LATENCY.1)
        .build();
    let files = ConfigFiles::new(&topo);
    let lame_ducks = LameDucks::default();
    topo.install(&mut sim, &shared, &files, &lame_ducks);
    for c in &clients {
        sim.client(c.host(), crate::client::run(c.clone(), shared.clone()));
    }
    // Turmoil keeps counting a stream whose peer host crashed: allow two per crash of another
    // server, on top of a complete gateway mesh. A server-to-server partition leaves turmoil
    // streams whose FIN was dropped (the servers did close them: "Authentication Timeout",
    // "Stale Connection" in their logs), so servers on a partitioned server link are not
    // audited.
    let servers: Vec<(String, usize)> = topo
        .servers
        .iter()
        .map(|s| {
            let crashes = schedule
                .faults
                .iter()
                .filter(|t| t.fault.restarted_server().is_some_and(|r| r != s.host))
                .count();
            let partitioned = schedule.faults.iter().any(|t| {
                matches!(&t.fault, Fault::ServerPartition { a, b, .. } if *a == s.host || *b == s.host)
            });
            let allowed = if partitioned { usize::MAX } else { 2 * crashes };
            (s.host.clone(), allowed)
        })
        .collect();
    let mesh = topo.mesh_streams_per_server();
    let routes = topo.route_streams_per_server();
    let supercluster = topo.supercluster();
    // One observer host runs every cluster's liveness probe, then the audit: turmoil keeps a
    // link per pair of hosts and visits them all on every step, so idle hosts cost
    // O(hosts²) per step. It is registered with the other hosts: registering it only when
    // the probes start was faster still, but made the second run of seed 42 in one process
    // diverge from the first at the registration (turmoil/tokio state that outlives a run).
    let observer = {
        let shared = shared.clone();
        let probe_servers: Vec<String> = if nclusters > 1 {
            (0..nclusters).map(|c| topo.location_host(c)).collect()
        } else {
            Vec::new()
        };
        async move {
            let probes: Vec<_> = probe_servers
                .into_iter()
                .enumerate()
                .map(|(c, server)| {
                    let probe = crate::probe::run(
                        c,
                        nclusters,
                        server,
                        probe_from,
                        probe_until,
                        shared.clone(),
                    );
                    tokio::task::spawn_local(probe)
                })
                .collect();
            for p in probes {
                let _ = p.await;
            }
            let now = shared.borrow().now();
            tokio::time::sleep(audit_at.saturating_sub(now)).await;
            for (s, slack) in &servers {
                // A complete mesh is expected; anything beyond it is a client connection. The
                // inbound gateways a server holds depend on which of its cluster's servers the
                // remote servers picked: count those the server itself holds.
                let n = turmoil::established_tcp_stream_count_on(s.as_str());
                let gateways = supercluster.then(|| shared.borrow().gateway_links(s)).flatten();
                let expected = gateways.map_or(mesh, |g| mesh.min(routes + g));
                shared.borrow_mut().audit(s, n.saturating_sub(expected.saturating_add(*slack)));
            }
            Ok(())
        }
    };
    sim.client(crate::probe::OBSERVER_HOST, observer);

    let mut ops: Vec<(Duration, Op)> = Vec::new();
    for t in &schedule.faults {
        if matches!(t.fault, Fault::BounceClient { .. }) {
            continue;
        }
        ops.push((t.at, Op::Start(t.fault.clone())));
        ops.push((t.at + t.fault.duration(), Op::End(t.fault.clone())));
    }
    ops.sort_by_key(|(at, _)| *at);
    let mut next_op = 0;
    let limits = memory_limits(&topo, &clients);
    let mut next_sample = Duration::ZERO;
    let mut quiet_sampled = false;
    // Bounded by simulation_duration: turmoil fails the step beyond it.
    loop {
        let now = sim.elapsed();
        if now >= next_sample || (!quiet_sampled && now >= audit_at) {
            // Between steps no server task runs, so every node's lock is free.
            let quiet = now >= audit_at;
            quiet_sampled |= quiet;
            let mut checker = shared.borrow_mut();
            checker.harness_now = now;
            checker.sample_memory(&limits, quiet);
            next_sample = now + MEMORY_SAMPLE;
        }
        while let Some((at, op)) = ops.get(next_op) {
            if *at > now {
                break;
            }
            shared.borrow_mut().harness_now = now;
            apply(&mut sim, &shared, &files, &lame_ducks, &topo, op);
            next_op += 1;
        }
        files.borrow_mut().collect_verdicts(&shared);
        match sim.step() {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => {
                let mut s = shared.borrow_mut();
                s.harness_now = sim.elapsed();
                s.violation("harness", format!("simulation failed: {e}"));
                break;
            }
        }
    }
    let simulated = sim.elapsed();
    // The observer ends the simulation right after its audit, usually before the loop above
    // sampled again: the check after everyone left happens here (the nodes are still there).
    if !quiet_sampled && simulated >= audit_at {
        let mut checker = shared.borrow_mut();
        checker.harness_now = simulated;
        checker.sample_memory(&limits, true);
    }
    drop(sim);
    let mut checker = shared.borrow_mut();
    checker.finish(&topo, stop_at, healed_at, RECONNECT_BOUND);
    if nclusters > 1 {
        checker.check_probes(&probe_pairs, LIVENESS_BOUND);
    }
    RunReport {
        seed,
        digest: checker.trace.digest(),
        events: checker.trace.len(),
        violations: checker.violations().to_vec(),
        schedule,
        stats: checker.stats().clone(),
        shape,
        simulated,
        wall: wall.elapsed(),
        tail: checker.trace.tail(),
        manual_faults: matches!(cfg.faults, Faults::Manual(_)),
        routes: cfg.routes,
        one_server: !cfg.routes && cfg.servers == Some(1),
    }
}

/// The windows of a partition between servers `la` and `lb` of a supercluster, from `at` until
/// `healed`, in fault domains (clusters). Inside one cluster it cuts a route, and with it the
/// path of gateway messages that land on one end for subscribers on the other: the whole
/// cluster's traffic may be down. Between clusters it cuts the gateway links between the two
/// servers: each re-dials another server of the other cluster (an implicit remote is not
/// forgotten while any of its URLs answers). A one-way partition may stall a handshake past
/// the heal (see [`HANDSHAKE_STALL`]). Two servers joined only by an implicit route may both
/// give up on each other after `connect_retries`: that cluster is never required again.
fn supercluster_partition_windows(
    topo: &Topology,
    la: usize,
    lb: usize,
    one_way: bool,
    at: Duration,
    healed: Duration,
) -> Vec<GatewayWindow> {
    let (da, db) = (topo.domain(la), topo.domain(lb));
    let other = (da != db).then_some(db);
    let forgotten = da == db && !topo.explicit_route(la, lb);
    let end = if forgotten { Duration::MAX } else { healed + GW_RECOVER };
    let mut windows = vec![GatewayWindow::both_ways(da, other, at, end)];
    if one_way && !forgotten {
        let end = healed + HANDSHAKE_STALL + GW_RECOVER;
        windows.push(GatewayWindow { stall: true, ..GatewayWindow::both_ways(da, other, at, end) });
    }
    windows
}

fn apply(
    sim: &mut turmoil::Sim<'_>,
    shared: &Shared,
    files: &Files,
    lame_ducks: &LameDucks,
    topo: &Topology,
    op: &Op,
) {
    let (start, fault) = match op {
        Op::Start(f) => (true, f),
        Op::End(f) => (false, f),
    };
    let verb = if start { "start" } else { "end" };
    shared.borrow_mut().event("harness", format_args!("{verb} {fault}"));
    let now = sim.elapsed();
    match fault {
        Fault::BounceClient { .. } => {}
        Fault::CrashServer { server, .. } => {
            if start {
                shared.borrow_mut().taint(None, server);
                shared.borrow_mut().node_gone(server);
                sim.crash(server.as_str());
            } else {
                sim.bounce(server.as_str());
            }
        }
        Fault::LameDuckRestart { server, .. } => {
            if start {
                // Its clients are closed on purpose and reconnect elsewhere; what was in
                // flight to them is not required (as for a crash).
                shared.borrow_mut().taint(None, server);
                shared.borrow_mut().node_gone(server);
                lame_ducks.enter(server);
            } else {
                // The server shut down by itself; a bounce starts it again (or ends a lame
                // duck period that has not finished).
                sim.bounce(server.as_str());
            }
        }
        Fault::Partition { client, server, direction, .. } => {
            let c = host(*client);
            let (c, s) = (c.as_str(), server.as_str());
            if start {
                shared.borrow_mut().taint(Some(c), s);
            } else {
                shared.borrow_mut().repaired(c, s);
            }
            match (direction, start) {
                (Direction::Both, true) => sim.partition(c, s),
                (Direction::Both, false) => sim.repair(c, s),
                (Direction::ClientToServer, true) => sim.partition_oneway(c, s),
                (Direction::ClientToServer, false) => sim.repair_oneway(c, s),
                (Direction::ServerToClient, true) => sim.partition_oneway(s, c),
                (Direction::ServerToClient, false) => sim.repair_oneway(s, c),
            }
        }
        Fault::ServerPartition { a, b, one_way, .. } => {
            let (a, b) = (a.as_str(), b.as_str());
            match (one_way, start) {
                (false, true) => sim.partition(a, b),
                (false, false) => sim.repair(a, b),
                (true, true) => sim.partition_oneway(a, b),
                (true, false) => sim.repair_oneway(a, b),
            }
        }
        Fault::Latency { client, server, latency, duration } => {
            let c = host(*client);
            if start {
                shared.borrow_mut().delay(&c, server, now, now + *duration + *latency);
                sim.set_link_latency(c.as_str(), server.as_str(), *latency);
            } else {
                sim.set_link_latency(c.as_str(), server.as_str(), BASE_LATENCY.0);
                sim.set_link_max_message_latency(c.as_str(), server.as_str(), BASE_LATENCY.1);
            }
        }
        Fault::Hold { client, server, duration } => {
            let c = host(*client);
            if start {
                shared.borrow_mut().delay(&c, server, now, now + *duration);
                sim.hold(c.as_str(), server.as_str());
            } else {
                sim.release(c.as_str(), server.as_str());
            }
        }
        Fault::RemoveGateway { server, remote, .. } => {
            let what = format!("gateway {remote} {}", if start { "removed" } else { "back" });
            let original = topo.servers.iter().find(|s| s.host == *server).and_then(|s| {
                s.config.gateway.as_ref()?.remotes.iter().find(|r| r.name == *remote).cloned()
            });
            files.borrow_mut().rewrite(server, &what, |config| {
                let Some(g) = config.gateway.as_mut() else { return };
                g.remotes.retain(|r| r.name != *remote);
                if !start {
                    g.remotes.extend(original);
                }
            });
        }
        Fault::RotatePassword { server, account, .. } => {
            // In the route and supercluster suites a client fails over to any server of its
            // cluster, so the operator rotates the password on every one of them (one reload
            // each).
            let servers: Vec<String> = match (topo.routes, topo.cluster_of(server)) {
                (true, _) => topo.servers.iter().map(|s| s.host.clone()).collect(),
                (false, Some(c)) if topo.by_server() => topo.cluster_hosts(c),
                _ => vec![server.clone()],
            };
            for server in &servers {
                let (password, what) = if start {
                    shared.borrow_mut().password_rotated(server, *account);
                    (rotated_password(*account), "password rotated")
                } else {
                    (ACCOUNTS[*account].2.to_owned(), "password rotated back")
                };
                files.borrow_mut().rewrite(server, what, |c| set_password(c, *account, password));
            }
        }
    }
}

/// Workload-derived bounds for the memory checks.
fn memory_limits(topo: &Topology, clients: &[ClientSpec]) -> memory::Limits {
    let mut keys = BTreeSet::new();
    for c in clients {
        for step in &c.script {
            if let Action::Subscribe { subject, queue, .. } = &step.action {
                keys.insert((c.account, subject.clone(), queue.clone()));
            }
        }
    }
    let nclusters = topo.clusters.len();
    let per_cluster =
        (0..nclusters).map(|k| clients.iter().filter(|c| c.cluster == k).count()).max();
    memory::Limits {
        max_pending: topo.servers.first().map_or(0, |s| s.config.max_pending),
        max_frame: 0,
        clusters: nclusters,
        // One connection per pool index to each other server of the cluster.
        route_peers: topo.route_streams_per_server(),
        remote_servers: topo.servers.len() - topo.clusters[0].servers.len(),
        accounts: ACCOUNTS.len(),
        // One probe subject per location.
        interest_keys: keys.len() + topo.locations(),
        clients_per_server: per_cluster.unwrap_or(0) + 1,
        cache_max: strait_core::sublist::CACHE_MAX,
    }
}

fn describe(topo: &Topology, clients: &[ClientSpec]) -> String {
    if topo.routes {
        let routes: Vec<String> =
            topo.servers.iter().enumerate().map(|(i, s)| format!("s{i}->{:?}", s.routes)).collect();
        return format!(
            "1 cluster x {} servers, {} clients; routes {} retries {}",
            topo.servers.len(),
            clients.len(),
            routes.join(", "),
            topo.clusters[0].connect_retries
        );
    }
    let per_cluster: Vec<usize> = (0..topo.clusters.len())
        .map(|c| clients.iter().filter(|x| x.cluster == c).count())
        .collect();
    let gateways: Vec<String> = topo
        .clusters
        .iter()
        .map(|c| {
            let reject = if c.reject_unknown { " reject-unknown" } else { "" };
            format!("{}->{:?} retries {}{reject}", c.name, c.explicit, c.connect_retries)
        })
        .collect();
    let per_server = topo.clusters[0].servers.len();
    let routes: Vec<String> = topo
        .servers
        .iter()
        .filter(|s| !s.routes.is_empty())
        .map(|s| {
            let to: Vec<&str> = s.routes.iter().map(|&r| topo.servers[r].host.as_str()).collect();
            format!("{}->{to:?}", s.host)
        })
        .collect();
    let routes = match routes.is_empty() {
        true => String::new(),
        false => format!("; routes {}", routes.join(", ")),
    };
    format!(
        "{} clusters x {per_server} servers, {} clients {per_cluster:?}; gateways {}{routes}",
        topo.clusters.len(),
        clients.len(),
        gateways.join(", ")
    )
}

/// A splitmix step for small shape choices.
fn next(state: &mut u64) -> u64 {
    *state = derive_seed(*state, "next", 0);
    *state
}
