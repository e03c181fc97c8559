//! Certificate-rotation suites: a supercluster (5 or 6 clusters of 3 servers, as the standard
//! suite) whose gateways speak mutual TLS (production `run_tls`, certificates from files,
//! judged at simulated time) while the harness rewrites the files and reloads the servers at
//! moments drawn from the seed, with the usual workload and invariants running throughout.
//! Every server has its own certificate files and is rotated on its own: the unit of every
//! step, crash and expectation below is a server.
//!
//! * [`Suite::SafeRoll`]: CA1 → CA2 one server at a time in a seeded order — CA2 added to every
//!   bundle first, then new leaves from CA2, then CA1 dropped. No gateway link may drop, every
//!   pair of servers keeps carrying traffic, and fresh TLS dials made after every step (a
//!   server's current certificate and bundle against every server of the other clusters, both
//!   ways) prove that each intermediate state also handshakes. [`Suite::SafeRollCrash`] adds
//!   server crashes during the roll: restarted servers read the files as they are then and
//!   every link comes back.
//! * [`Suite::Mistake`]: after CA2 is in every bundle and the servers of some clusters present
//!   CA2 leaves, one server drops CA1 from its bundle too early, then restarts (its links
//!   re-handshake). Its own messages no longer reach the clusters whose servers all still
//!   present CA1 leaves — it can link to none of their servers — while everything else keeps
//!   flowing, including those clusters' messages to it (they land on another server of its
//!   cluster, which trusts both CAs, and travel on over a route); handshake errors appear in
//!   the logs of exactly those servers; reloading CA1 into its bundle reconnects everything.
//! * [`Suite::Expiry`]: one server's leaf expires in simulated time. Its links stay up until
//!   they re-handshake (a restart), then every server of the other clusters refuses it: its
//!   messages reach only its own cluster; a renewed leaf applied by reload brings the links
//!   back.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use strait_core::gateway::{GatewayUrl, RemoteConfig};
use tokio::time::{sleep, timeout};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;

use crate::invariants::{Checker, GW_RECOVER, GatewayWindow, MESH_UP, Shared, Stats, Violation};
use crate::probe::Via;
use crate::run::{BASE_LATENCY, LIVENESS_BOUND, QUIET, RECONNECT_BOUND, TICK};
use crate::tls::{Ca, CertDir, HostTls, Leaf, LogLine, LogTap, Logs, probe_dial};
use crate::topology::{GATEWAY_PORT, Topology};
use crate::trace::derive_seed;
use crate::workload::{self, WorkloadParams};

/// When the first rotation step may happen (the mesh is up by [`MESH_UP`]).
pub const ROLL_START: Duration = Duration::from_secs(4);
/// In a roll without faults, no pair of clusters may go longer than this without a probe.
pub const MAX_GAP: Duration = Duration::from_secs(2);
/// After a crash the traffic of a pair may still arrive for this long (in flight).
const IN_FLIGHT: Duration = Duration::from_millis(200);
/// Servers per cluster (each rotated on its own).
const SERVERS_PER_CLUSTER: usize = 3;
/// Handshake deadline of the TLS probe dials.
const DIAL_TIMEOUT: Duration = Duration::from_secs(3);

/// A certificate-rotation suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// CA1 → CA2 in the safe order, no faults: no link drops.
    SafeRoll,
    /// The safe roll with server crashes: every link comes back.
    SafeRollCrash,
    /// One cluster drops CA1 too early.
    Mistake,
    /// A leaf expires, then is renewed.
    Expiry,
}

impl Suite {
    /// Every suite.
    pub const ALL: [Suite; 4] =
        [Suite::SafeRoll, Suite::SafeRollCrash, Suite::Mistake, Suite::Expiry];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Suite::SafeRoll => "safe-roll",
            Suite::SafeRollCrash => "safe-roll-crash",
            Suite::Mistake => "mistake",
            Suite::Expiry => "expiry",
        }
    }

    /// The suite called `name` (see [`Suite::name`]).
    pub fn parse(name: &str) -> Option<Suite> {
        Suite::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct RotationConfig {
    /// The seed everything derives from.
    pub seed: u64,
    /// Which suite.
    pub suite: Suite,
    /// Number of clusters (default: 5 or 6 from the seed).
    pub clusters: Option<usize>,
    /// Number of clients (default: 3 to 5 from the seed).
    pub clients: Option<usize>,
    /// Print the servers' and the harness's events to stderr.
    pub trace: bool,
}

impl RotationConfig {
    /// The standard run of `suite` for `seed`.
    pub fn seeded(suite: Suite, seed: u64) -> Self {
        Self { seed, suite, clusters: None, clients: None, trace: false }
    }
}

/// What one cluster's servers present and trust.
#[derive(Clone, Debug, PartialEq, Eq)]
struct CertState {
    /// Index of the CA that signed the leaf (0: CA1, 1: CA2).
    leaf_ca: usize,
    /// Bumped whenever a new leaf is issued.
    generation: u32,
    /// CAs in the bundle.
    bundle: Vec<usize>,
    /// Leaf expiry after the epoch, if within the run.
    not_after: Option<Duration>,
}

impl CertState {
    /// X.509 times and the verifier's clock have one-second resolution: a leaf is valid
    /// until the second after `not_after` begins.
    fn valid_at(&self, t: Duration) -> bool {
        self.not_after.is_none_or(|n| t.as_secs() <= n.as_secs())
    }
}

impl fmt::Display for CertState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cas: Vec<String> = self.bundle.iter().map(|c| format!("CA{}", c + 1)).collect();
        write!(f, "leaf CA{}#{} bundle {{{}}}", self.leaf_ca + 1, self.generation, cas.join(","))?;
        if let Some(n) = self.not_after {
            write!(f, " expires {:.3}s", n.as_secs_f64())?;
        }
        Ok(())
    }
}

/// A harness action on one server (an index into [`Topology::servers`]).
#[derive(Clone, Debug)]
enum Action {
    /// Rewrite the server's files to `state` and reload it if it runs.
    Reload { server: usize, state: CertState, why: &'static str },
    /// Crash the server.
    Crash { server: usize },
    /// Restart it (it reads the files as they are now).
    Restart { server: usize },
}

/// Traffic expectation over a window.
#[derive(Clone, Debug)]
struct Window {
    start: Duration,
    end: Duration,
    /// Ordered pairs of servers that must carry no traffic in the window.
    cut: Vec<(usize, usize)>,
    /// Every other pair must carry at least one probe in the window.
    others_up: bool,
}

/// Everything a suite does and expects, drawn from the seed.
#[derive(Debug)]
struct Plan {
    initial: Vec<CertState>,
    actions: Vec<(Duration, Action)>,
    /// TLS probe dials: (at, from server, to server).
    dials: Vec<(Duration, usize, usize)>,
    /// Gateway paths the checker must not expect up (crashes, cut pairs).
    windows: Vec<GatewayWindow>,
    /// Traffic expectations.
    traffic: Vec<Window>,
    /// When the last action is over.
    healed_at: Duration,
    /// A cluster that lists every other as an explicit remote (re-dialled forever).
    explicit_all: Option<usize>,
    /// The cluster of each server.
    cluster_of: Vec<usize>,
    /// Gateway links may not close nor register anew in `[start, end)`.
    no_drops: Option<(Duration, Duration)>,
    /// Some TLS probe dials in the `no_drops` window are meant to be refused (so handshake
    /// errors there are not link churn).
    refusals_expected: bool,
    /// Handshake errors containing this text must be logged in `[start, end)`.
    expect_error: Option<(&'static str, Duration, Duration)>,
    /// Only these servers may log gateway handshake errors (`None`: any).
    errors_only_on: Option<Vec<usize>>,
}

impl Plan {
    /// The state of `server` at `t` (the last reload at or before `t`).
    fn state_at(&self, server: usize, t: Duration) -> &CertState {
        let mut s = &self.initial[server];
        for (at, a) in &self.actions {
            if *at > t {
                break;
            }
            if let Action::Reload { server: x, state, .. } = a
                && *x == server
            {
                s = state;
            }
        }
        s
    }

    /// Whether a dial from `from` to `to` at `t` should handshake.
    fn dial_ok(&self, from: usize, to: usize, t: Duration) -> bool {
        let (a, b) = (self.state_at(from, t), self.state_at(to, t));
        a.bundle.contains(&b.leaf_ca)
            && b.bundle.contains(&a.leaf_ca)
            && a.valid_at(t)
            && b.valid_at(t)
    }

    /// Whether `server` is down (crashed, or restarted less than `margin` ago) around `t`.
    fn down_near(&self, server: usize, t: Duration, margin: Duration) -> bool {
        let mut down_since = None;
        for (at, a) in &self.actions {
            match a {
                Action::Crash { server: x } if *x == server => down_since = Some(*at),
                Action::Restart { server: x } if *x == server => {
                    if let Some(s) = down_since.take()
                        && s <= t + margin
                        && t <= *at + margin
                    {
                        return true;
                    }
                }
                _ => {}
            }
        }
        down_since.is_some_and(|s| s <= t + margin)
    }

    /// The host name of server `x` (`c<cluster>-s<k>`, as [`Topology::new`] names them).
    fn server_name(&self, x: usize) -> String {
        let c = self.cluster_of[x];
        let k = self.cluster_of[..x].iter().filter(|&&d| d == c).count();
        format!("c{c}-s{k}")
    }

    /// The servers of cluster `c`.
    fn servers_of(&self, c: usize) -> Vec<usize> {
        (0..self.cluster_of.len()).filter(|&x| self.cluster_of[x] == c).collect()
    }

    fn describe(&self) -> String {
        let mut out = String::new();
        let name = |x: usize| self.server_name(x);
        for (x, s) in self.initial.iter().enumerate() {
            let _ = writeln!(out, "  initially {}: {s}", name(x));
        }
        for (at, a) in &self.actions {
            let at = at.as_secs_f64();
            let _ = match a {
                Action::Reload { server, state, why } => {
                    writeln!(out, "  {at:>8.3}s reload {}: {state} ({why})", name(*server))
                }
                Action::Crash { server } => writeln!(out, "  {at:>8.3}s crash {}", name(*server)),
                Action::Restart { server } => {
                    writeln!(out, "  {at:>8.3}s restart {}", name(*server))
                }
            };
        }
        out
    }
}

/// Draws the plan of `suite` for servers in clusters `cluster_of`.
struct Planner {
    rng: ChaCha8Rng,
    /// Number of servers.
    n: usize,
    plan: Plan,
    states: Vec<CertState>,
    t: Duration,
}

impl Planner {
    fn new(seed: u64, cluster_of: Vec<usize>, initial: Vec<CertState>) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            n: cluster_of.len(),
            plan: Plan {
                initial: initial.clone(),
                actions: Vec::new(),
                dials: Vec::new(),
                windows: Vec::new(),
                traffic: Vec::new(),
                healed_at: Duration::ZERO,
                explicit_all: None,
                cluster_of,
                no_drops: None,
                refusals_expected: false,
                expect_error: None,
                errors_only_on: None,
            },
            states: initial,
            t: ROLL_START,
        }
    }

    fn ms(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.rng.next_u64() % (hi - lo + 1))
    }

    fn pick(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n as u64) as usize
    }

    /// `0..n` in a random order.
    fn shuffled_of(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..v.len()).rev() {
            let j = self.pick(i + 1);
            v.swap(i, j);
        }
        v
    }

    /// Every server, in a random order.
    fn shuffled(&mut self) -> Vec<usize> {
        self.shuffled_of(self.n)
    }

    /// Whether servers `a` and `b` are in different clusters (gateway TLS is between those).
    fn across(&self, a: usize, b: usize) -> bool {
        self.plan.cluster_of[a] != self.plan.cluster_of[b]
    }

    /// Advance by a random gap and reload server `x` with `f` applied to its state; then
    /// dial from and to `x` (its new state in both roles) every server of the other clusters.
    fn step(&mut self, x: usize, why: &'static str, f: impl FnOnce(&mut CertState)) {
        let gap = self.ms(200, 700);
        self.t += gap;
        f(&mut self.states[x]);
        let state = self.states[x].clone();
        self.plan.actions.push((self.t, Action::Reload { server: x, state, why }));
        let at = self.t + Duration::from_millis(50);
        let others: Vec<usize> = (0..self.n).filter(|&d| self.across(x, d)).collect();
        for d in others {
            self.plan.dials.push((at, x, d));
            self.plan.dials.push((at, d, x));
        }
    }

    /// Dial every ordered pair of servers in different clusters at `at`.
    fn full_round(&mut self, at: Duration) {
        let pairs: Vec<(usize, usize)> = (0..self.n)
            .flat_map(|a| (0..self.n).map(move |b| (a, b)))
            .filter(|&(a, b)| self.across(a, b))
            .collect();
        for (a, b) in pairs {
            self.plan.dials.push((at, a, b));
        }
    }

    fn new_leaf(s: &mut CertState, ca: usize) {
        s.leaf_ca = ca;
        s.generation += 1;
        s.not_after = None;
    }

    /// Every cluster trusts CA2 too, one at a time.
    fn add_ca2(&mut self) {
        for c in self.shuffled() {
            self.step(c, "add CA2 to the bundle", |s| s.bundle = vec![0, 1]);
        }
    }

    /// Crash server `x` at `at` for `down_for`: its cluster's paths may be down until it is
    /// back and recovered (checker windows are per cluster).
    fn crash(&mut self, x: usize, at: Duration, down_for: Duration) -> Duration {
        let back = at + down_for;
        self.plan.actions.push((at, Action::Crash { server: x }));
        self.plan.actions.push((back, Action::Restart { server: x }));
        let c = self.plan.cluster_of[x];
        self.plan.windows.push(GatewayWindow::both_ways(c, None, at, back + GW_RECOVER));
        back
    }

    /// Server `x` loses its links when it crashes and cannot make those to the servers
    /// `peers` again after its restart (its certificates are refused) until a reload fixes
    /// it: the checker's windows (per cluster), and the traffic windows in which its messages
    /// to them may be lost (while it is down, and after it is back while the others are up).
    /// Their messages to it still flow after its restart: they land on another server of its
    /// cluster and travel on over a route.
    fn cut_off_until_fixed(
        &mut self,
        x: usize,
        peers: &[usize],
        (crash_at, back, fix_at): (Duration, Duration, Duration),
    ) {
        let own = self.plan.cluster_of[x];
        let mut clusters: Vec<usize> = peers.iter().map(|&y| self.plan.cluster_of[y]).collect();
        clusters.dedup();
        for y in clusters {
            let w = GatewayWindow::both_ways(own, Some(y), crash_at, fix_at + GW_RECOVER);
            self.plan.windows.push(w);
        }
        let cut: Vec<(usize, usize)> = peers.iter().map(|&y| (x, y)).collect();
        // While it is down nothing of it is required; the cut pairs must stay silent.
        self.plan.traffic.push(Window {
            start: crash_at + IN_FLIGHT,
            end: fix_at,
            cut: cut.clone(),
            others_up: false,
        });
        self.plan.traffic.push(Window {
            start: back + GW_RECOVER,
            end: fix_at,
            cut,
            others_up: true,
        });
    }

    fn finish(mut self, healed_at: Duration) -> Plan {
        self.plan.actions.sort_by_key(|(at, _)| *at);
        self.plan.dials.sort_by_key(|(at, ..)| *at);
        self.plan.healed_at = healed_at;
        self.plan
    }
}

/// The plan of `suite` for servers in clusters `cluster_of` (`n` clusters).
fn plan(suite: Suite, seed: u64, n: usize, cluster_of: Vec<usize>) -> Plan {
    let ca1 = CertState { leaf_ca: 0, generation: 1, bundle: vec![0], not_after: None };
    let servers = cluster_of.len();
    let mut initial = vec![ca1; servers];
    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, "expiry", 0));
    // Expiry: the victim and when its leaf expires, fixed before the planner draws the rest.
    let victim = (rng.next_u64() % servers as u64) as usize;
    // Whole seconds: certificate times have no finer resolution.
    let expires = ROLL_START + Duration::from_secs(2 + rng.next_u64() % 2);
    if suite == Suite::Expiry {
        initial[victim].not_after = Some(expires);
    }
    let mut p = Planner::new(derive_seed(seed, "rotation", 0), cluster_of, initial);
    match suite {
        Suite::SafeRoll | Suite::SafeRollCrash => {
            p.add_ca2();
            for c in p.shuffled() {
                p.step(c, "new leaf from CA2", |s| Planner::new_leaf(s, 1));
            }
            for c in p.shuffled() {
                p.step(c, "drop CA1 from the bundle", |s| s.bundle = vec![1]);
            }
            let end = p.t + Duration::from_millis(300);
            p.full_round(end);
            let mut healed = end + Duration::from_secs(1);
            if suite == Suite::SafeRoll {
                p.plan.no_drops = Some((ROLL_START, healed + QUIET));
                p.plan.traffic.push(Window {
                    start: MESH_UP,
                    end: healed + QUIET,
                    cut: Vec::new(),
                    others_up: true,
                });
            } else {
                // Two or three crashes of distinct servers at random moments of the roll.
                let crashes = 2 + p.pick(2);
                let mut victims = p.shuffled();
                victims.truncate(crashes);
                let span = (end - ROLL_START).as_millis() as u64;
                for c in victims {
                    let at = ROLL_START + Duration::from_millis(p.rng.next_u64() % span);
                    let down = p.ms(500, 2000);
                    let back = p.crash(c, at, down);
                    healed = healed.max(back + Duration::from_secs(1));
                }
            }
            p.finish(healed)
        }
        Suite::Mistake => {
            p.add_ca2();
            let x = p.pick(servers);
            let own = p.plan.cluster_of[x];
            p.plan.explicit_all = Some(own);
            // The servers of some other clusters already present CA2 leaves (safe: all trust
            // CA2); at least one other cluster still presents CA1 on every server.
            let mut rolled: Vec<usize> = Vec::new();
            for c in p.shuffled_of(n) {
                if c != own && rolled.len() + 2 < n && p.rng.next_u64() % 100 < 40 {
                    for y in p.plan.servers_of(c) {
                        p.step(y, "new leaf from CA2", |s| Planner::new_leaf(s, 1));
                    }
                    rolled.push(c);
                }
            }
            p.step(x, "MISTAKE: new leaf from CA2 and CA1 dropped before the others rolled", |s| {
                Planner::new_leaf(s, 1);
                s.bundle = vec![1];
            });
            let crash_at = p.t + p.ms(500, 1500);
            let down = p.ms(800, 1500);
            let back = p.crash(x, crash_at, down);
            let fix_at = back + p.ms(6500, 7500);
            // The fix: CA1 back in the bundle.
            p.t = fix_at;
            p.states[x].bundle = vec![0, 1];
            let state = p.states[x].clone();
            let why = "fix: CA1 back in the bundle";
            p.plan.actions.push((fix_at, Action::Reload { server: x, state, why }));
            let ca1_only = |c: usize| c != own && !rolled.contains(&c);
            let peers: Vec<usize> =
                (0..servers).filter(|&y| ca1_only(p.plan.cluster_of[y])).collect();
            p.cut_off_until_fixed(x, &peers, (crash_at, back, fix_at));
            p.plan.expect_error = Some(("unknown", back, fix_at));
            // Refusals happen only between the too-early server and the CA1 presenters.
            let mut on = peers.clone();
            on.push(x);
            on.sort_unstable();
            p.plan.errors_only_on = Some(on);
            p.full_round(back + GW_RECOVER);
            p.full_round(fix_at + Duration::from_millis(300));
            p.finish(fix_at)
        }
        Suite::Expiry => {
            let e = victim;
            let own = p.plan.cluster_of[e];
            p.plan.explicit_all = Some(own);
            p.full_round(expires - Duration::from_millis(500));
            let crash_at = expires + p.ms(2600, 3500);
            // Between expiry and the restart: new handshakes with the victim already fail
            // (judged at simulated time) while its established links stay up.
            p.full_round(expires + Duration::from_millis(1300));
            p.plan.no_drops = Some((ROLL_START, crash_at));
            p.plan.refusals_expected = true;
            let down = p.ms(800, 1500);
            let back = p.crash(e, crash_at, down);
            let renew_at = back + p.ms(6500, 7500);
            p.t = renew_at;
            Planner::new_leaf(&mut p.states[e], 0);
            let state = p.states[e].clone();
            let why = "renewed leaf";
            p.plan.actions.push((renew_at, Action::Reload { server: e, state, why }));
            let peers: Vec<usize> = (0..servers).filter(|&y| p.plan.cluster_of[y] != own).collect();
            p.cut_off_until_fixed(e, &peers, (crash_at, back, renew_at));
            p.plan.expect_error = Some(("expired", back, renew_at));
            p.full_round(back + GW_RECOVER);
            p.full_round(renew_at + Duration::from_millis(300));
            p.finish(renew_at)
        }
    }
}

/// The outcome of one rotation run.
#[derive(Debug)]
pub struct RotationReport {
    /// The suite.
    pub suite: Suite,
    /// The seed.
    pub seed: u64,
    /// Digest of the event trace (harness, clients, probes and server log lines).
    pub digest: u64,
    /// Number of trace events.
    pub events: u64,
    /// Broken invariants.
    pub violations: Vec<Violation>,
    /// Workload counters.
    pub stats: Stats,
    /// Clusters, clients and the rotation plan.
    pub shape: String,
    /// TLS probe dials made, and how many of them failed (as expected or not).
    pub dials: (usize, usize),
    /// Gateway link closes and registrations after the mesh first came up, handshake errors.
    pub gateway: (usize, usize, usize),
    /// Simulated time covered.
    pub simulated: Duration,
    /// Wall time taken.
    pub wall: Duration,
    /// The last trace events.
    pub tail: Vec<String>,
}

impl RotationReport {
    /// Whether every invariant held.
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }

    /// Panic with the full report unless the run passed.
    pub fn assert_ok(&self) {
        assert!(self.ok(), "{self}");
    }
}

impl fmt::Display for RotationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.ok() { "ok" } else { "FAILED" };
        writeln!(f, "rotation {} seed {} {verdict}", self.suite, self.seed)?;
        write!(f, "{}", self.shape)?;
        writeln!(
            f,
            "  {} events, digest {:016x}, {:?} simulated in {:?}; dials {} ({} refused); \
             gateway closes {}, registrations {} after the mesh, handshake errors {}; {:?}",
            self.events,
            self.digest,
            self.simulated,
            self.wall,
            self.dials.0,
            self.dials.1,
            self.gateway.0,
            self.gateway.1,
            self.gateway.2,
            self.stats
        )?;
        if !self.ok() {
            crate::run::write_failure(f, &self.violations, &self.tail)?;
            writeln!(
                f,
                "replay: cargo run -p strait-sim -- --rotation {} --seed {} --trace\n    or: \
                 STRAIT_SIM_SUITE={} STRAIT_SIM_SEED={} cargo test -p strait-sim --test rotation \
                 replay_rotation_from_env -- --nocapture",
                self.suite, self.seed, self.suite, self.seed
            )?;
        }
        Ok(())
    }
}

/// Run one rotation suite.
pub fn run(cfg: &RotationConfig) -> RotationReport {
    let tap = LogTap::default();
    let lines = tap.lines.clone();
    let fmt_layer = cfg.trace.then(crate::tls::stderr_layer);
    let subscriber = tracing_subscriber::registry()
        .with(tap.with_filter(tracing_subscriber::filter::LevelFilter::INFO))
        .with(fmt_layer);
    // Turmoil runs every host on this thread: a thread-local subscriber sees all of them, and
    // parallel tests do not share it.
    tracing::subscriber::with_default(subscriber, || run_inner(cfg, &lines))
}

fn run_inner(cfg: &RotationConfig, lines: &Logs) -> RotationReport {
    let wall = Instant::now();
    let seed = cfg.seed;
    let mut shape_rng = derive_seed(seed, "shape", 0);
    let n = cfg.clusters.unwrap_or_else(|| 5 + (next(&mut shape_rng) % 2) as usize);
    let nclients = cfg.clients.unwrap_or_else(|| 3 + (next(&mut shape_rng) % 3) as usize);
    let mut topo = Topology::new(derive_seed(seed, "topology", 0), n, SERVERS_PER_CLUSTER);
    let cluster_of: Vec<usize> = topo.servers.iter().map(|s| s.cluster).collect();
    let plan = plan(cfg.suite, seed, n, cluster_of);
    let hosts: Vec<String> = topo.servers.iter().map(|s| s.host.clone()).collect();

    // The PKI: two roots, leaves issued as the plan needs them (every key is fresh and stays
    // in memory and the temp directory; nothing is committed).
    let cas = [Ca::root("CA1", 1), Ca::root("CA2", 2)];
    let dir = CertDir::new(cfg.suite.name(), seed);
    let mut issued: Vec<((usize, CertState), Leaf)> = Vec::new();
    let mut serial = 100;
    let mut write = |x: usize, state: &CertState| {
        let key = (x, CertState { bundle: Vec::new(), ..state.clone() });
        let leaf = match issued.iter().find(|(k, _)| *k == key) {
            Some((_, l)) => l.clone(),
            None => {
                serial += 1;
                let l = cas[state.leaf_ca].leaf(&hosts[x..=x], state.not_after, serial);
                issued.push((key, l.clone()));
                l
            }
        };
        let bundle: Vec<&Ca> = state.bundle.iter().map(|&i| &cas[i]).collect();
        dir.write(&hosts[x], &leaf, &bundle);
    };
    for (x, s) in plan.initial.iter().enumerate() {
        write(x, s);
    }
    let auth_timeout = strait_net::tls::DEFAULT_TIMEOUT + Duration::from_secs(1);
    if let Some(x) = plan.explicit_all {
        let others: Vec<usize> = (0..n).filter(|&d| d != x).collect();
        topo.clusters[x].explicit = others.clone();
        let remotes: Vec<RemoteConfig> = others
            .iter()
            .map(|&d| RemoteConfig {
                name: topo.clusters[d].name.clone(),
                urls: topo
                    .cluster_hosts(d)
                    .into_iter()
                    .map(|h| GatewayUrl::new(h, GATEWAY_PORT))
                    .collect(),
            })
            .collect();
        for &s in &topo.clusters[x].servers.clone() {
            if let Some(g) = topo.servers[s].config.gateway.as_mut() {
                g.remotes = remotes.clone();
            }
        }
    }
    let mut host_tls = Vec::new();
    for s in &mut topo.servers {
        if let Some(g) = s.config.gateway.as_mut() {
            // As the daemon sets it up for a gateway `tls {}` block.
            g.tls = true;
            g.auth_timeout = auth_timeout;
        }
        let t = HostTls::new(dir.block(&s.host));
        host_tls.push(t.clone());
        s.tls = Some(t);
    }

    let healed_at = plan.healed_at;
    let stop_at = healed_at + QUIET;
    let probe_until = (healed_at + LIVENESS_BOUND).max(stop_at);
    let params = WorkloadParams { clients: nclients, active_until: stop_at, stop_at };
    let mut clients = workload::generate(derive_seed(seed, "workload", 0), &topo, &params);
    for c in &mut clients {
        c.script.retain(|s| s.at < stop_at - Duration::from_secs(1));
    }
    let shape = format!(
        "  {n} clusters x {SERVERS_PER_CLUSTER} servers, {} clients; explicit {:?}\n{}",
        clients.len(),
        topo.clusters.iter().map(|c| c.explicit.clone()).collect::<Vec<_>>(),
        plan.describe()
    );

    let shared: Shared = Rc::new(RefCell::new(Checker::new(cfg.trace)));
    let places = hosts.iter().enumerate().map(|(i, h)| (h.clone(), i)).collect();
    let domains = (0..hosts.len()).map(|l| topo.domain(l)).collect();
    shared.borrow_mut().locate_by_server(places, domains);
    for w in &plan.windows {
        shared.borrow_mut().gateway_window(w.clone());
    }
    shared
        .borrow_mut()
        .event("harness", format_args!("rotation {} seed {seed}\n{shape}", cfg.suite));

    let mut sim = turmoil::Builder::new()
        .rng_seed(derive_seed(seed, "turmoil", 0))
        .epoch(crate::tls::epoch())
        .simulation_duration(probe_until + Duration::from_secs(10))
        .tick_duration(TICK)
        .min_message_latency(BASE_LATENCY.0)
        .max_message_latency(BASE_LATENCY.1)
        .build();
    let lame_ducks = crate::topology::LameDucks::default();
    topo.install(&mut sim, &shared, &crate::reload::ConfigFiles::new(&topo), &lame_ducks);
    for c in &clients {
        sim.client(c.host(), crate::client::run(c.clone(), shared.clone()));
    }
    let arrivals: Arrivals = Rc::new(RefCell::new(Vec::new()));
    let servers = hosts.len();
    for (x, server) in hosts.iter().enumerate() {
        let arrivals = arrivals.clone();
        let arrived = move |at, from, _| arrivals.borrow_mut().push((at, from, x));
        let window = (MESH_UP, probe_until);
        let probe = crate::probe::run_with(
            x,
            servers,
            Via::sim_server(server.clone()),
            window,
            shared.clone(),
            arrived,
        );
        sim.client(format!("probe{x}"), probe);
    }
    let dial_results: DialResults = Arc::new(Mutex::new(Vec::new()));
    let blocks: Vec<(String, strait_conf::options::Tls)> =
        hosts.iter().map(|h| (h.clone(), dir.block(h))).collect();
    let dials: Vec<(Duration, usize, usize)> = plan
        .dials
        .iter()
        .copied()
        .filter(|&(at, _, to)| !plan.down_near(to, at, Duration::from_secs(1)))
        .collect();
    sim.client("tlsprobe", tls_prober(dials, blocks, shared.clone(), dial_results.clone()));

    let mut next_action = 0;
    // Bounded by simulation_duration: turmoil fails the step beyond it.
    loop {
        let now = sim.elapsed();
        while let Some((at, action)) = plan.actions.get(next_action) {
            if *at > now {
                break;
            }
            shared.borrow_mut().harness_now = now;
            match action {
                Action::Reload { server, state, why } => {
                    let h = &hosts[*server];
                    shared
                        .borrow_mut()
                        .event("harness", format_args!("reload {h}: {state} ({why})"));
                    write(*server, state);
                    if let Err(e) = host_tls[*server].reload() {
                        shared
                            .borrow_mut()
                            .violation("harness", format!("reload of {h} failed: {e}"));
                    }
                }
                Action::Crash { server } => {
                    let h = &hosts[*server];
                    shared.borrow_mut().event("harness", format_args!("crash {h}"));
                    shared.borrow_mut().taint(None, h);
                    shared.borrow_mut().node_gone(h);
                    sim.crash(h.as_str());
                }
                Action::Restart { server } => {
                    let h = &hosts[*server];
                    shared.borrow_mut().event("harness", format_args!("restart {h}"));
                    sim.bounce(h.as_str());
                }
            }
            next_action += 1;
        }
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
    drop(sim);

    let mut checker = shared.borrow_mut();
    checker.finish(&topo, stop_at, healed_at, RECONNECT_BOUND);
    let logs = std::mem::take(&mut *lines.lock().unwrap_or_else(|p| p.into_inner()));
    // Server log lines join the trace (and so the determinism digest).
    for l in &logs {
        checker.trace.record(l.at, &l.host, format_args!("[{}] {}", l.level, l.text));
    }
    let arrivals = arrivals.borrow();
    let results = std::mem::take(&mut *dial_results.lock().unwrap_or_else(|p| p.into_inner()));
    let mut found = Vec::new();
    check_traffic(&plan, &arrivals, probe_until, &mut found);
    let refused = check_dials(&plan, &results, &mut found);
    let gateway = check_logs(&plan, &logs, |h| topo.location_of(h), &mut found);
    for what in found {
        checker.violation("rotation", what);
    }
    RotationReport {
        suite: cfg.suite,
        seed,
        digest: checker.trace.digest(),
        events: checker.trace.len(),
        violations: checker.violations().to_vec(),
        stats: checker.stats().clone(),
        shape,
        dials: (results.len(), refused),
        gateway,
        simulated,
        wall: wall.elapsed(),
        tail: checker.trace.tail().to_vec(),
    }
}

type Arrivals = Rc<RefCell<Vec<(Duration, usize, usize)>>>;
type DialResults = Arc<Mutex<Vec<(Duration, usize, usize, Result<(), String>)>>>;

fn check_traffic(
    plan: &Plan,
    arrivals: &[(Duration, usize, usize)],
    probe_until: Duration,
    found: &mut Vec<String>,
) {
    let n = plan.cluster_of.len();
    let pairs = (0..n).flat_map(|x| (0..n).map(move |y| (x, y))).filter(|(x, y)| x != y);
    let name = |x: usize| plan.server_name(x);
    let times = |x: usize, y: usize| -> Vec<Duration> {
        arrivals.iter().filter(|(_, a, b)| *a == x && *b == y).map(|(t, ..)| *t).collect()
    };
    for (x, y) in pairs {
        let ts = times(x, y);
        for w in &plan.traffic {
            let inside: Vec<&Duration> =
                ts.iter().filter(|t| **t >= w.start && **t < w.end).collect();
            if w.cut.contains(&(x, y)) {
                if let Some(t) = inside.first() {
                    found.push(format!(
                        "{} -> {} carried traffic at {t:?} while it should be cut ({:?}..{:?})",
                        name(x),
                        name(y),
                        w.start,
                        w.end
                    ));
                }
            } else if w.others_up {
                if inside.is_empty() {
                    found.push(format!(
                        "{} -> {} carried no traffic in {:?}..{:?} (should be unaffected)",
                        name(x),
                        name(y),
                        w.start,
                        w.end
                    ));
                } else if w.cut.is_empty() {
                    // A roll without faults: no gap longer than MAX_GAP.
                    let mut last = w.start;
                    for t in inside.iter().map(|t| **t).chain([w.end]) {
                        if t.saturating_sub(last) > MAX_GAP {
                            found.push(format!(
                                "{} -> {} carried no traffic from {last:?} to {t:?} during the roll",
                                name(x),
                                name(y)
                            ));
                        }
                        last = t;
                    }
                }
            }
        }
        // Liveness after the last action.
        let bound = plan.healed_at + LIVENESS_BOUND;
        if !ts.iter().any(|t| *t >= plan.healed_at && *t <= bound.min(probe_until)) {
            found.push(format!(
                "{} -> {} carried no traffic within {LIVENESS_BOUND:?} of the heal at {:?}",
                name(x),
                name(y),
                plan.healed_at
            ));
        }
    }
}

fn check_dials(
    plan: &Plan,
    results: &[(Duration, usize, usize, Result<(), String>)],
    found: &mut Vec<String>,
) -> usize {
    if results.len() < plan.dials.len() / 2 {
        found.push(format!("only {} of {} TLS probe dials ran", results.len(), plan.dials.len()));
    }
    let mut refused = 0;
    for (at, from, to, r) in results {
        let want = plan.dial_ok(*from, *to, *at);
        if r.is_err() {
            refused += 1;
        }
        match (want, r) {
            (true, Err(e)) => found.push(format!(
                "TLS dial {} -> {} at {at:?} refused, but {} and {} should handshake: {e}",
                plan.server_name(*from),
                plan.server_name(*to),
                plan.state_at(*from, *at),
                plan.state_at(*to, *at)
            )),
            (false, Ok(())) => found.push(format!(
                "TLS dial {} -> {} at {at:?} handshook, but {} and {} should not",
                plan.server_name(*from),
                plan.server_name(*to),
                plan.state_at(*from, *at),
                plan.state_at(*to, *at)
            )),
            _ => {}
        }
    }
    refused
}

/// Counts gateway closes and registrations after the mesh came up, and handshake errors.
fn check_logs(
    plan: &Plan,
    logs: &[LogLine],
    server_of: impl Fn(&str) -> Option<usize>,
    found: &mut Vec<String>,
) -> (usize, usize, usize) {
    // Closes of links that had exchanged CONNECT/INFO carry the remote's name; a TLS probe's
    // link never gets that far.
    let is_close = |l: &LogLine| {
        l.text.contains("Gateway connection closed") && l.text.contains(" - Remote: ")
    };
    let is_reg =
        |l: &LogLine| l.text.contains("gateway connection") && l.text.ends_with("registered");
    let is_hs = |l: &LogLine| l.text.contains("TLS gateway handshake error");
    let after_mesh = |l: &&LogLine| l.at >= ROLL_START;
    let closes = logs.iter().filter(after_mesh).filter(|l| is_close(l)).count();
    let regs = logs.iter().filter(after_mesh).filter(|l| is_reg(l)).count();
    let errors = logs.iter().filter(|l| is_hs(l)).count();
    if let Some((start, end)) = plan.no_drops {
        for l in logs.iter().filter(|l| l.at >= start && l.at < end) {
            if is_close(l) || is_reg(l) || (is_hs(l) && !plan.refusals_expected) {
                found.push(format!("gateway link churn at {:?}: {}", l.at, l.text));
            }
        }
    }
    if let Some((text, start, end)) = plan.expect_error
        && !logs.iter().any(|l| is_hs(l) && l.text.contains(text) && l.at >= start && l.at < end)
    {
        found.push(format!("no handshake error mentioning {text:?} logged in {start:?}..{end:?}"));
    }
    if let Some(on) = &plan.errors_only_on {
        for l in logs.iter().filter(|l| is_hs(l)) {
            if !server_of(&l.host).is_some_and(|x| on.contains(&x)) {
                found.push(format!(
                    "handshake error on {:?} at {:?}, outside the cut-off servers {on:?}: {}",
                    l.host, l.at, l.text
                ));
            }
        }
    }
    (closes, regs, errors)
}

/// Dials every planned (from, to) pair at its time, all of one moment concurrently.
async fn tls_prober(
    dials: Vec<(Duration, usize, usize)>,
    blocks: Vec<(String, strait_conf::options::Tls)>,
    shared: Shared,
    results: DialResults,
) -> turmoil::Result {
    let now = || shared.borrow().now();
    let mut i = 0;
    while i < dials.len() {
        let at = dials[i].0;
        sleep(at.saturating_sub(now())).await;
        let mut set = tokio::task::JoinSet::new();
        while let Some(&(t, from, to)) = dials.get(i) {
            if t != at {
                break;
            }
            i += 1;
            let block = blocks[from].1.clone();
            let host = blocks[to].0.clone();
            let results = results.clone();
            set.spawn(async move {
                let started = turmoil::sim_elapsed().unwrap_or_default();
                let r = match timeout(DIAL_TIMEOUT, probe_dial(&block, &host, GATEWAY_PORT)).await {
                    Ok(r) => r,
                    Err(_) => Err("dial timed out".to_owned()),
                };
                results.lock().unwrap_or_else(|p| p.into_inner()).push((started, from, to, r));
            });
        }
        while set.join_next().await.is_some() {}
        let mut line = String::new();
        for (t, from, to, r) in results.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            if *t >= at {
                let _ = write!(line, " {from}->{to}:{}", if r.is_ok() { "ok" } else { "refused" });
            }
        }
        shared
            .borrow_mut()
            .event("tlsprobe", format_args!("dials at {:.3}s:{line}", at.as_secs_f64()));
    }
    Ok(())
}

/// A splitmix step for small shape choices.
fn next(state: &mut u64) -> u64 {
    *state = derive_seed(*state, "next", 0);
    *state
}
