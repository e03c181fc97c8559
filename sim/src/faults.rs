//! Fault schedules: drawn from the fault seed, or written by hand for regression scenarios.
//!
//! A schedule is a list of timed [`Fault`]s. The harness expands each into primitive network
//! operations applied between `sim.step()` calls (turmoil `partition`/`repair`,
//! `hold`/`release`, per-link latency, `crash`/`bounce`), except client bounces, which are
//! merged into the client's script. Faults on one client–server link never overlap (turmoil
//! does not support hold and partition on one link at once), nor do two crashes of one server.
//!
//! Between clusters: partitions between two server hosts (both ways or one way), long enough
//! (10–14 s) for the servers' keep-alive to drop the gateway links — a turmoil partition loses
//! segments of an open stream silently, so a shorter one would model a TCP stream that lost
//! data without noticing, which real TCP does not do — and server crashes (restart with a new
//! incarnation).
//!
//! Configuration reloads ([`crate::reload`]), drawn from a stream of their own: a server
//! drops one of its explicit remote gateways and adds it back later, or rotates one account's
//! password and rotates it back. Reloads of one server never overlap.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use crate::invariants::host;
use crate::topology::Topology;
use crate::workload::{ClientSpec, chance, ms, pick};

/// The simulated servers' lame-duck period (`lame_duck_duration`; the grace period is a
/// fifth of it): short, so restarts fit in the fault window.
pub const LAME_DUCK: Duration = Duration::from_millis(2500);

/// Which way a partition drops traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Both ways.
    Both,
    /// Only client → server.
    ClientToServer,
    /// Only server → client.
    ServerToClient,
}

/// One fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The client drops its connection and reconnects.
    BounceClient {
        /// Client number.
        client: u32,
    },
    /// The server host crashes and restarts `down_for` later (a new incarnation).
    CrashServer {
        /// Server host.
        server: String,
        /// Downtime.
        down_for: Duration,
    },
    /// The server enters lame-duck mode (stops accepting clients, closes its clients over
    /// [`LAME_DUCK`], shuts down) and starts again `down_for` after the request.
    LameDuckRestart {
        /// Server host.
        server: String,
        /// From the request to the restart.
        down_for: Duration,
    },
    /// Traffic between a client host and a server is dropped for a while.
    Partition {
        /// Client number.
        client: u32,
        /// Server host.
        server: String,
        /// Which way.
        direction: Direction,
        /// How long.
        duration: Duration,
    },
    /// Traffic between two server hosts (so the gateway links between their clusters) is
    /// dropped for a while.
    ServerPartition {
        /// One server host.
        a: String,
        /// The other.
        b: String,
        /// `true`: only a → b is dropped.
        one_way: bool,
        /// How long.
        duration: Duration,
    },
    /// Every segment between a client host and a server takes `latency` for a while.
    Latency {
        /// Client number.
        client: u32,
        /// Server host.
        server: String,
        /// Added latency.
        latency: Duration,
        /// How long.
        duration: Duration,
    },
    /// Traffic between a client host and a server is held, then released.
    Hold {
        /// Client number.
        client: u32,
        /// Server host.
        server: String,
        /// How long.
        duration: Duration,
    },
    /// The server's configuration loses the explicit remote gateway `remote` (a cluster name)
    /// and is reloaded; the remote is put back and reloaded `duration` later.
    RemoveGateway {
        /// Server host.
        server: String,
        /// Name of the remote cluster.
        remote: String,
        /// How long.
        duration: Duration,
    },
    /// The password of `account`'s user on the server becomes
    /// [`rotated_password`](crate::reload::rotated_password) and is reloaded; the old one
    /// comes back `duration` later.
    RotatePassword {
        /// Server host.
        server: String,
        /// Index into [`ACCOUNTS`](crate::topology::ACCOUNTS).
        account: usize,
        /// How long.
        duration: Duration,
    },
}

impl Fault {
    /// The server a crash or lame-duck restart takes down.
    pub fn restarted_server(&self) -> Option<&str> {
        match self {
            Fault::CrashServer { server, .. } | Fault::LameDuckRestart { server, .. } => {
                Some(server)
            }
            _ => None,
        }
    }

    /// How long the fault lasts (0 for a bounce).
    pub fn duration(&self) -> Duration {
        match self {
            Fault::BounceClient { .. } => Duration::ZERO,
            Fault::CrashServer { down_for, .. } | Fault::LameDuckRestart { down_for, .. } => {
                *down_for
            }
            Fault::Partition { duration, .. }
            | Fault::ServerPartition { duration, .. }
            | Fault::Latency { duration, .. }
            | Fault::Hold { duration, .. }
            | Fault::RemoveGateway { duration, .. }
            | Fault::RotatePassword { duration, .. } => *duration,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::BounceClient { client } => write!(f, "bounce {}", host(*client)),
            Fault::CrashServer { server, down_for } => write!(f, "crash {server} for {down_for:?}"),
            Fault::LameDuckRestart { server, down_for } => {
                write!(f, "lame-duck {server}, restart after {down_for:?}")
            }
            Fault::Partition { client, server, direction, duration } => {
                write!(f, "partition {} {direction:?} {server} for {duration:?}", host(*client))
            }
            Fault::ServerPartition { a, b, one_way, duration } => {
                let arrow = if *one_way { "->" } else { "<->" };
                write!(f, "partition servers {a}{arrow}{b} for {duration:?}")
            }
            Fault::Latency { client, server, latency, duration } => {
                write!(f, "latency {latency:?} {}<->{server} for {duration:?}", host(*client))
            }
            Fault::Hold { client, server, duration } => {
                write!(f, "hold {}<->{server} for {duration:?}", host(*client))
            }
            Fault::RemoveGateway { server, remote, duration } => {
                write!(f, "reload {server} without gateway {remote} for {duration:?}")
            }
            Fault::RotatePassword { server, account, duration } => {
                let user = crate::topology::ACCOUNTS[*account].1;
                write!(f, "reload {server} with user {user}'s password rotated for {duration:?}")
            }
        }
    }
}

/// A fault at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timed {
    /// Simulated start time.
    pub at: Duration,
    /// The fault.
    pub fault: Fault,
}

/// Every fault of a run, sorted by start time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultSchedule {
    /// The faults.
    pub faults: Vec<Timed>,
}

impl FaultSchedule {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// A hand-written schedule (sorted here).
    pub fn manual(mut faults: Vec<Timed>) -> Self {
        faults.sort_by_key(|t| t.at);
        Self { faults }
    }

    /// Draw faults starting in `[from, until)` from `seed`.
    pub fn generate(
        seed: u64,
        topo: &Topology,
        clients: &[ClientSpec],
        from: Duration,
        until: Duration,
    ) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut faults = Vec::new();
        // Busy-until per client–server link and per server, so faults do not overlap.
        let mut link_busy: BTreeMap<(u32, String), Duration> = BTreeMap::new();
        let mut server_busy: BTreeMap<String, Duration> = BTreeMap::new();
        let mut server_link_busy: BTreeMap<(String, String), Duration> = BTreeMap::new();
        // Mean gap between faults: 0.4 s (a storm) to 3 s (calm), chosen per seed.
        let mean_gap = ms(&mut rng, 400, 3000);
        let mut at = from;
        // Bounded: time grows by at least 50 ms per iteration.
        loop {
            at += ms(&mut rng, 50, 2 * mean_gap.as_millis() as u64);
            if at >= until || clients.is_empty() {
                break;
            }
            let c = &clients[pick(&mut rng, clients.len())];
            let server = c.servers[pick(&mut rng, c.servers.len())].clone();
            let kind = pick(&mut rng, 100);
            let fault = if kind < 17 {
                Fault::BounceClient { client: c.id }
            } else if kind < 25 && topo.servers.len() > 1 {
                let a = pick(&mut rng, topo.servers.len());
                let b = (a + 1 + pick(&mut rng, topo.servers.len() - 1)) % topo.servers.len();
                let (a, b) = (topo.servers[a].host.clone(), topo.servers[b].host.clone());
                let duration = ms(&mut rng, 10_000, 14_000);
                let one_way = chance(&mut rng, 0.4);
                let key = if a < b { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) };
                if server_link_busy.get(&key).is_some_and(|t| *t > at) {
                    continue;
                }
                server_link_busy.insert(key, at + duration + Duration::from_millis(500));
                Fault::ServerPartition { a, b, one_way, duration }
            } else if kind < 32 {
                let server = topo.servers[pick(&mut rng, topo.servers.len())].host.clone();
                let down_for = ms(&mut rng, 200, 3000);
                // Supercluster: some restarts are lame-duck ones (clients move to the other
                // servers of the cluster first).
                let lame_duck = topo.supercluster() && chance(&mut rng, 0.4);
                let down_for = if lame_duck { LAME_DUCK + down_for } else { down_for };
                if server_busy.get(&server).is_some_and(|b| *b > at) {
                    continue;
                }
                server_busy.insert(server.clone(), at + down_for + Duration::from_millis(500));
                match lame_duck {
                    true => Fault::LameDuckRestart { server, down_for },
                    false => Fault::CrashServer { server, down_for },
                }
            } else {
                let key = (c.id, server.clone());
                if link_busy.get(&key).is_some_and(|b| *b > at) {
                    continue;
                }
                let fault = if kind < 60 {
                    let direction = match pick(&mut rng, 3) {
                        0 => Direction::Both,
                        1 => Direction::ClientToServer,
                        _ => Direction::ServerToClient,
                    };
                    let duration = if chance(&mut rng, 0.5) {
                        ms(&mut rng, 100, 1000)
                    } else {
                        ms(&mut rng, 1000, 5000)
                    };
                    Fault::Partition { client: c.id, server, direction, duration }
                } else if kind < 80 {
                    Fault::Latency {
                        client: c.id,
                        server,
                        latency: ms(&mut rng, 20, 300),
                        duration: ms(&mut rng, 500, 3000),
                    }
                } else {
                    Fault::Hold { client: c.id, server, duration: ms(&mut rng, 100, 1500) }
                };
                link_busy.insert(key, at + fault.duration() + Duration::from_millis(100));
                fault
            };
            faults.push(Timed { at, fault });
        }
        Self { faults }
    }

    /// Draw configuration reloads starting in `[from, until)` from `seed` and merge them in:
    /// one to three per run, each on a random server, 1–5 s long.
    pub fn add_reloads(&mut self, seed: u64, topo: &Topology, from: Duration, until: Duration) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut busy: BTreeMap<String, Duration> = BTreeMap::new();
        for _ in 0..1 + pick(&mut rng, 3) {
            let spec = &topo.servers[pick(&mut rng, topo.servers.len())];
            let span = (until - from).as_millis() as u64;
            let at = from + ms(&mut rng, 0, span);
            let duration = ms(&mut rng, 1000, 5000);
            // The route and supercluster suites rotate passwords cluster-wide: one reload at a
            // time per cluster there.
            let key = match topo.by_server() {
                true => topo.clusters[spec.cluster].name.clone(),
                false => spec.host.clone(),
            };
            if busy.get(&key).is_some_and(|b| *b > at) {
                continue;
            }
            busy.insert(key, at + duration + Duration::from_millis(500));
            let explicit = &topo.clusters[spec.cluster].explicit;
            let server = spec.host.clone();
            let fault = if !explicit.is_empty() && chance(&mut rng, 0.5) {
                let remote = topo.clusters[explicit[pick(&mut rng, explicit.len())]].name.clone();
                Fault::RemoveGateway { server, remote, duration }
            } else {
                let account = pick(&mut rng, crate::topology::ACCOUNTS.len());
                Fault::RotatePassword { server, account, duration }
            };
            self.faults.push(Timed { at, fault });
        }
        self.faults.sort_by_key(|t| t.at);
    }

    /// When the last fault is over (0 without faults).
    pub fn healed_at(&self) -> Duration {
        self.faults.iter().map(|t| t.at + t.fault.duration()).max().unwrap_or_default()
    }

    /// Merge client bounces into the clients' scripts.
    pub fn merge_bounces(&self, clients: &mut [ClientSpec]) {
        for t in &self.faults {
            if let Fault::BounceClient { client } = t.fault
                && let Some(c) = clients.iter_mut().find(|c| c.id == client)
            {
                c.script.push(crate::workload::Step {
                    at: t.at,
                    action: crate::workload::Action::Bounce,
                });
                c.script.sort_by_key(|s| s.at);
            }
        }
    }
}

impl fmt::Display for FaultSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.faults.is_empty() {
            return writeln!(f, "  (no faults)");
        }
        for t in &self.faults {
            writeln!(f, "  {:>8.3}s {}", t.at.as_secs_f64(), t.fault)?;
        }
        Ok(())
    }
}
