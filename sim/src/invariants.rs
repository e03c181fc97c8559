//! What must hold in every run, and the record of the run it is checked against.
//!
//! Clients report what they send and receive to one shared [`Checker`] (the simulation is
//! single-threaded, so an `Rc<RefCell<_>>` is enough). Safety properties are checked online, at
//! each delivery: no duplicate per subscription, per-publisher order, matching interest, no
//! cross-account delivery, no delivery after a confirmed UNSUB, at most one queue member per
//! message. Liveness properties are checked by [`Checker::finish`]: every message published
//! while a path to a confirmed subscriber existed is delivered, a queue group with only stable
//! members gets each message exactly once, every client is connected again after the last
//! heal, and servers hold no connection nobody uses.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use strait_core::node::ReloadSummary;

use crate::memory::{self, NodeHandle, Recent};
use crate::topology::Topology;
use crate::trace::Trace;

/// The checker shared by every simulated client and the harness.
pub type Shared = Rc<RefCell<Checker>>;

/// How long after its publication a message on a healthy path must have been delivered.
pub const SETTLE: Duration = Duration::from_millis(1500);

/// How long a confirmed subscription needs to reach the other clusters over an up gateway.
pub const PROPAGATE: Duration = Duration::from_millis(1500);

/// How long after a gateway disturbance ends (partition healed, server restarted) the links
/// may take to form again and exchange interest.
pub const GW_RECOVER: Duration = Duration::from_secs(5);

/// The gateway mesh forms after the solicit delay and gossip; no cross-cluster delivery is
/// required before this.
pub const MESH_UP: Duration = Duration::from_secs(3);

/// How long a dialler waits for the acceptor's INFO on a fresh outbound gateway connection
/// before it gives up on it: `ping_interval × (ping_max + 1)` of the simulated servers
/// (nats-server `createGateway` → `watchForStaleConnection`; Strait's `GatewayTimer::Info`).
///
/// Why the checker needs it: in a one-way server partition `a -> b` (segments from `a` to `b`
/// dropped), `b` keeps re-dialling `a`, and turmoil completes the TCP connect anyway (its
/// SYN-ACK is a channel outside the simulated network, unlike real TCP where the SYN-ACK would
/// be lost too). `a`'s INFO on that connection is lost, and turmoil never retransmits: the
/// receiver reorders by sequence number, so everything `a` sends later on that stream (its
/// `-ERR 'Authentication Timeout'`, its FIN) waits behind the gap for good, even after the
/// heal. Like nats-server, `b` sends nothing before the INFO and only abandons the connection
/// when this wait expires, then re-dials. A dial can start just before the heal, so `b`'s
/// outbound to `a` — the path of messages published in `b` for subscribers in `a` — may stay
/// down until `heal + HANDSHAKE_STALL`, and [`GW_RECOVER`] more for the re-dial, handshake and
/// interest. Seeds 362 and 556 hit exactly this (c4's and c2's dials at 10.3 s and 12.1 s were
/// abandoned at 19.3 s and 21.1 s). The other direction is affected only if `a` knows `b` by
/// gossip alone: `a`'s SYN to `b` is dropped, so its dials fail at once; an explicit remote is
/// re-dialled within [`GW_RECOVER`] of the heal, but an implicit one may have been forgotten
/// after `connect_retries` failures (gateway-protocol.md §4.6) and is learned again only from
/// `b`'s next inbound, which waits for the same stall.
pub const HANDSHAKE_STALL: Duration = Duration::from_secs(
    crate::topology::SERVER_PING_INTERVAL.as_secs() * (crate::topology::SERVER_PING_MAX as u64 + 1),
);

/// A window in which the gateway path between two clusters may be down (recovery included).
#[derive(Clone, Debug)]
pub struct GatewayWindow {
    /// One cluster.
    pub a: usize,
    /// The other; `None`: every cluster (a's server was down).
    pub b: Option<usize>,
    /// Only the direction `b` → `a` may be down (messages published in `b` for subscribers in
    /// `a`, which travel on `b`'s outbound gateway to `a`): a handshake stalled behind a
    /// one-way partition, see [`HANDSHAKE_STALL`].
    pub only_b_to_a: bool,
    /// The window is the allowance for a stalled handshake ([`HANDSHAKE_STALL`]).
    pub stall: bool,
    /// Start.
    pub start: Duration,
    /// End, recovery allowance included (`Duration::MAX`: never required again).
    pub end: Duration,
}

impl GatewayWindow {
    /// A window on the path between `a` and `b` (both directions, or every cluster when `b`
    /// is `None`).
    pub fn both_ways(a: usize, b: Option<usize>, start: Duration, end: Duration) -> Self {
        Self { a, b, only_b_to_a: false, stall: false, start, end }
    }

    /// The allowance for a handshake stalled behind the one-way partition `a -> b`, ending at
    /// `end` (see [`HANDSHAKE_STALL`]).
    pub fn stall(a: usize, b: usize, only_b_to_a: bool, start: Duration, end: Duration) -> Self {
        Self { a, b: Some(b), only_b_to_a, stall: true, start, end }
    }

    /// Whether the window covers messages published in cluster `x` for subscribers in `y`.
    fn covers(&self, x: usize, y: usize) -> bool {
        match self.b {
            None => self.a == usize::MAX || self.a == x || self.a == y,
            Some(b) if self.only_b_to_a => b == x && self.a == y,
            Some(b) => (self.a == x && b == y) || (self.a == y && b == x),
        }
    }
}

/// How long a server may keep a connection whose client is gone without a clean close
/// (server keep-alive: 3 s interval, 2 unanswered PINGs; plus the write deadline).
pub const ZOMBIE: Duration = Duration::from_secs(15);

/// A published message: the publishing client and its sequence number (unique per client).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MsgId {
    /// Publishing client.
    pub client: u32,
    /// Per-client sequence number, increasing across reconnects.
    pub seq: u64,
}

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cl{}#{}", self.client, self.seq)
    }
}

/// One connection of one client (a client's connections are numbered from 1).
pub type ConnKey = (u32, u32);

/// One subscription on one connection: client, connection epoch, sid.
pub type SubId = (u32, u32, u32);

/// What a client published.
#[derive(Clone, Debug)]
pub struct Publication {
    /// Its id.
    pub id: MsgId,
    /// The publisher's connection epoch.
    pub epoch: u32,
    /// Subject.
    pub subject: String,
    /// Reply subject.
    pub reply: Option<String>,
    /// Index of the publisher's account.
    pub account: usize,
    /// The publisher's cluster.
    pub cluster: usize,
    /// Simulated time the PUB was written.
    pub sent_at: Duration,
    /// For a response, the request it answers.
    pub in_reply_to: Option<MsgId>,
    /// Bytes of the PUB/HPUB frame as written.
    pub size: usize,
}

#[derive(Debug)]
struct SubRecord {
    subject: String,
    queue: Option<String>,
    account: usize,
    cluster: usize,
    sent_at: Duration,
    /// PONG after the SUB arrived: the server has the subscription.
    confirmed_at: Option<Duration>,
    unsub_sent_at: Option<Duration>,
    /// PONG after the UNSUB arrived: nothing more may be delivered.
    unsub_confirmed_at: Option<Duration>,
    delivered: BTreeSet<MsgId>,
    /// Highest sequence delivered per publisher connection.
    last_seq: BTreeMap<ConnKey, u64>,
}

#[derive(Debug)]
struct Epoch {
    host: String,
    opened_at: Duration,
    server: String,
    ended_at: Option<Duration>,
    /// The client closed it on purpose (bounce, stop) rather than losing it.
    clean_end: bool,
    /// The server crashed: its side of the connection, and the subscriptions, are gone.
    server_gone_at: Option<Duration>,
    /// A lossy fault touched the connection: nothing sent after this is expected to arrive.
    tainted_at: Option<Duration>,
}

/// A window in which traffic between a client host and a server may be delayed (not lost).
#[derive(Clone, Debug)]
struct DelayWindow {
    client_host: String,
    server: String,
    start: Duration,
    end: Duration,
}

/// A broken invariant.
#[derive(Clone, Debug)]
pub struct Violation {
    /// Simulated time it was found.
    pub at: Duration,
    /// What broke.
    pub what: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>9.3}s {}", self.at.as_secs_f64(), self.what)
    }
}

/// Counts that show a run exercised something.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Messages published.
    pub published: u64,
    /// Deliveries received.
    pub delivered: u64,
    /// Deliveries the liveness check required (and found).
    pub expected: u64,
    /// Of those, deliveries across a gateway (publisher and subscriber in other clusters).
    pub expected_remote: u64,
    /// Cross-gateway deliveries not required only because a handshake may have been stalled
    /// behind a one-way partition ([`HANDSHAKE_STALL`]); delivered or not.
    pub waived_stall: u64,
    /// Responses delivered to a requester in another cluster than the responder's.
    pub remote_replies: u64,
    /// Connections opened by clients.
    pub connections: u64,
    /// Subscriptions confirmed.
    pub confirmed_subs: u64,
    /// Requests answered with no-responders.
    pub no_responders: u64,
    /// Memory samples taken (each checks every running server).
    pub memory_samples: u64,
    /// Of those, taken after every client and probe left (residue checks).
    pub memory_audits: u64,
    /// Configuration reloads the servers accepted.
    pub reloads: u64,
    /// Remote gateways those reloads removed or added.
    pub gateways_reloaded: u64,
    /// Client logins refused after a password rotation.
    pub turned_away: u64,
}

/// The record of one run and its invariants.
#[derive(Debug)]
pub struct Checker {
    /// The event trace (digest for determinism, tail for failure reports).
    pub trace: Trace,
    /// Time used for events recorded from outside the simulation (by the harness).
    pub harness_now: Duration,
    pubs: BTreeMap<MsgId, Publication>,
    subs: BTreeMap<SubId, SubRecord>,
    epochs: BTreeMap<ConnKey, Epoch>,
    /// Deliveries per (message, account, queue subject, queue name).
    queue_deliveries: BTreeMap<(MsgId, usize, String, String), u32>,
    delays: Vec<DelayWindow>,
    /// Windows in which gateway paths may be down.
    gateway_windows: Vec<GatewayWindow>,
    /// Liveness probes: (from cluster, to cluster) -> first arrival.
    probes: BTreeMap<(usize, usize), Duration>,
    /// Server connection counts seen by the auditor at the end: (server, established).
    audits: Vec<(String, usize)>,
    violations: Vec<Violation>,
    stats: Stats,
    /// Running servers, by host, for the memory checks.
    nodes: BTreeMap<String, NodeHandle>,
    /// Publications within the memory checks' horizon.
    recent: Recent,
    /// Largest publication frame so far.
    max_pub_size: usize,
    /// Memory bounds already reported, by server and bound (each is reported once).
    memory_reported: BTreeSet<(String, String)>,
    /// (client host, server) paths with a lossy fault in force.
    lossy_paths: BTreeSet<(String, String)>,
    /// (server, account) pairs whose password a reload has rotated.
    rotated_passwords: BTreeSet<(String, usize)>,
    /// Turmoil streams on a server host that no incarnation of the server holds, counted at
    /// its last (re)start (see [`Checker::node_started`]).
    orphan_streams: BTreeMap<String, usize>,
    /// Route suite: the location of each server host. Then a publication's or
    /// subscription's `cluster` is the location of the server its connection is on, so the
    /// path checks ([`GatewayWindow`], probes) apply to routes between servers.
    server_locations: Option<BTreeMap<String, usize>>,
    /// The fault domain of each location ([`Topology::domain`]; empty: each location is its
    /// own). [`GatewayWindow`]s name domains, not locations.
    domains: Vec<usize>,
    /// Per server host, the dials its current incarnation abandoned (see
    /// [`crate::transport::SimDialer`]): each may leave a stream only turmoil counts.
    abandoned_dials: BTreeMap<String, std::sync::Arc<std::sync::atomic::AtomicUsize>>,
}

impl Checker {
    /// An empty record; `echo` mirrors the trace to `tracing`.
    pub fn new(echo: bool) -> Self {
        Self {
            trace: Trace::new(echo),
            harness_now: Duration::ZERO,
            pubs: BTreeMap::new(),
            subs: BTreeMap::new(),
            epochs: BTreeMap::new(),
            queue_deliveries: BTreeMap::new(),
            delays: Vec::new(),
            gateway_windows: vec![GatewayWindow::both_ways(
                usize::MAX,
                None,
                Duration::ZERO,
                MESH_UP,
            )],
            probes: BTreeMap::new(),
            audits: Vec::new(),
            violations: Vec::new(),
            stats: Stats::default(),
            nodes: BTreeMap::new(),
            recent: Recent::default(),
            max_pub_size: 0,
            memory_reported: BTreeSet::new(),
            rotated_passwords: BTreeSet::new(),
            lossy_paths: BTreeSet::new(),
            orphan_streams: BTreeMap::new(),
            server_locations: None,
            domains: Vec::new(),
            abandoned_dials: BTreeMap::new(),
        }
    }

    /// Server `host`'s new incarnation dials through a dialer counting abandoned dials in
    /// `abandoned`.
    pub fn dialer_started(
        &mut self,
        host: &str,
        abandoned: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ) {
        self.abandoned_dials.insert(host.to_owned(), abandoned);
    }

    /// Route and supercluster suites: place publications and subscriptions by the server their
    /// connection is on (`places`: server host → location) rather than by the client's home
    /// cluster; `domains`: the fault domain of each location ([`Topology::domain`]).
    pub fn locate_by_server(&mut self, places: BTreeMap<String, usize>, domains: Vec<usize>) {
        self.server_locations = Some(places);
        self.domains = domains;
    }

    /// The fault domain of location `l`.
    fn domain(&self, l: usize) -> usize {
        self.domains.get(l).copied().unwrap_or(l)
    }

    /// Where a client homed in `home` is while connected to server host `server`.
    pub fn place(&self, server: &str, home: usize) -> usize {
        let places = self.server_locations.as_ref();
        places.and_then(|p| p.get(server).copied()).unwrap_or(home)
    }

    /// The location of connection `conn`'s server, when placing by server.
    fn located(&self, conn: ConnKey) -> Option<usize> {
        let places = self.server_locations.as_ref()?;
        places.get(&self.epochs.get(&conn)?.server).copied()
    }

    /// Server `host` started (again): its node can be inspected through `handle`.
    ///
    /// Before the new incarnation has accepted or dialled anything, every turmoil stream left
    /// on its host is an orphan: turmoil registers a dialler's socket when `connect` sends the
    /// SYN but only ties it to a `TcpStream` (whose drop removes it) once the SYN-ACK is
    /// polled, so a dial in flight when the host crashed stays counted for good (seed 20905:
    /// c2-s0 crashed 5 ms after its SYN to c4-s0; the SYN-ACK was never read, and c4-s0's INFO
    /// was answered with a RST after the restart). A killed process's kernel would have freed
    /// that socket; the auditor must not count it as a connection the server kept.
    pub fn node_started(&mut self, host: &str, handle: NodeHandle) {
        self.nodes.insert(host.to_owned(), handle);
        if turmoil::in_simulation() {
            let orphans = turmoil::established_tcp_stream_count_on(host);
            if orphans > 0 {
                self.event(host, format_args!("{orphans} orphaned turmoil streams at restart"));
            }
            self.orphan_streams.insert(host.to_owned(), orphans);
        }
    }

    /// Server `host` crashed: its node is gone.
    pub fn node_gone(&mut self, host: &str) {
        self.nodes.remove(host);
    }

    /// Check every running server's memory against the bounds of this moment (between
    /// simulation steps only). `quiet`: every client and probe left long enough ago for the
    /// servers to have dropped their connections (see [`crate::memory`]).
    pub fn sample_memory(&mut self, limits: &memory::Limits, quiet: bool) {
        let now = self.now();
        let (recent_bytes, recent_msgs) = self.recent.at(now);
        let limits = memory::Limits {
            max_frame: limits.max_frame.max(self.max_pub_size + memory::FRAME_OVERHEAD),
            ..limits.clone()
        };
        self.stats.memory_samples += 1;
        self.stats.memory_audits += u64::from(quiet);
        let mut broken = Vec::new();
        for (server, handle) in &self.nodes {
            let m = handle.inspect(|n| n.memory_use());
            let (subscriptions, connections) = self.held_by(server, now);
            let live =
                memory::Live { subscriptions, connections, recent_bytes, recent_msgs, quiet };
            for what in memory::check(&m, &live, &limits) {
                broken.push((server.clone(), what));
            }
        }
        for (server, what) in broken {
            let kind: String = what.split(|c: char| c.is_ascii_digit()).next().unwrap_or("").into();
            if self.memory_reported.insert((server.clone(), kind)) {
                self.violation(&server, format!("memory: {what}"));
            }
        }
    }

    /// Subscriptions and client connections `server` may still hold at `now` (an upper
    /// bound: a connection a fault touched may still be healthy, so only its end counts).
    fn held_by(&self, server: &str, now: Duration) -> (usize, usize) {
        let conn_until = |e: &Epoch| -> Duration {
            if let Some(g) = e.server_gone_at {
                return g;
            }
            match e.ended_at {
                None => Duration::MAX,
                // The client closed it: the server sees the FIN at once unless a fault may
                // have wedged the stream, then its keep-alive gives up within ZOMBIE.
                Some(t) if e.clean_end && e.tainted_at.is_none() => t + SETTLE,
                Some(t) => t + ZOMBIE,
            }
        };
        let subs = self
            .subs
            .iter()
            .filter(|(id, s)| {
                self.epochs.get(&(id.0, id.1)).is_some_and(|e| {
                    e.server == server
                        && s.sent_at <= now
                        && conn_until(e) >= now
                        && s.unsub_confirmed_at.is_none_or(|u| u >= now)
                })
            })
            .count();
        let conns = self
            .epochs
            .values()
            .filter(|e| e.server == server && e.opened_at <= now && conn_until(e) >= now)
            .count();
        (subs, conns)
    }

    /// Simulated now: the current host's clock inside the simulation, else the harness's.
    pub fn now(&self) -> Duration {
        turmoil::sim_elapsed().unwrap_or(self.harness_now)
    }

    /// The cluster message `id` was published in.
    pub fn published_in(&self, id: MsgId) -> Option<usize> {
        self.pubs.get(&id).map(|p| p.cluster)
    }

    /// Record a trace event.
    pub fn event(&mut self, host: &str, what: fmt::Arguments<'_>) {
        let now = self.now();
        self.trace.record(now, host, what);
    }

    /// Record a broken invariant (also traced).
    pub fn violation(&mut self, host: &str, what: String) {
        let at = self.now();
        self.trace.record(at, host, format_args!("VIOLATION {what}"));
        self.violations.push(Violation { at, what: format!("{host}: {what}") });
    }

    /// Violations so far.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Client `conn` connected to `server` from `host`.
    pub fn epoch_opened(&mut self, conn: ConnKey, host: &str, server: &str) {
        self.stats.connections += 1;
        self.event(host, format_args!("connected #{} to {server}", conn.1));
        let epoch = Epoch {
            host: host.to_owned(),
            opened_at: self.now(),
            server: server.to_owned(),
            ended_at: None,
            clean_end: false,
            server_gone_at: None,
            // A connection that completes its handshake inside a lossy fault may lose its
            // CONNECT or first frames (seed 100020: the SYN and INFO got through just before
            // a client-to-server partition dropped the CONNECT).
            tainted_at: self
                .lossy_paths
                .contains(&(host.to_owned(), server.to_owned()))
                .then(|| self.now()),
        };
        self.epochs.insert(conn, epoch);
    }

    /// Client connection `conn` is gone (`why`: eof, stale, bounce, stop, …).
    pub fn epoch_ended(&mut self, conn: ConnKey, host: &str, why: &str) {
        let now = self.now();
        self.event(host, format_args!("disconnected #{} ({why})", conn.1));
        if let Some(e) = self.epochs.get_mut(&conn)
            && e.ended_at.is_none()
        {
            e.ended_at = Some(now);
            e.clean_end = matches!(why, "bounce" | "stop");
        }
    }

    /// A lossy fault between `client_host` and `server` starts now: every open connection on
    /// that path may lose data from here on.
    pub fn taint(&mut self, client_host: Option<&str>, server: &str) {
        let now = self.now();
        if let Some(h) = client_host {
            self.lossy_paths.insert((h.to_owned(), server.to_owned()));
        }
        for e in self.epochs.values_mut() {
            if e.ended_at.is_none() && e.server == server && client_host.is_none_or(|h| e.host == h)
            {
                e.tainted_at.get_or_insert(now);
                if client_host.is_none() {
                    e.server_gone_at.get_or_insert(now);
                }
            }
        }
    }

    /// A reload rotates the password of `account`'s user on `server` (now or back): from now
    /// on its clients there may be turned away until they switch passwords.
    pub fn password_rotated(&mut self, server: &str, account: usize) {
        self.rotated_passwords.insert((server.to_owned(), account));
    }

    /// Client `host` of `account` got `-ERR 'Authorization Violation'` from `server`: only
    /// right if a reload changed that account's password there.
    pub fn turned_away(&mut self, host: &str, server: &str, account: usize) {
        if self.rotated_passwords.contains(&(server.to_owned(), account)) {
            self.stats.turned_away += 1;
            self.event(host, format_args!("turned away by {server}: password rotated"));
        } else {
            let what = format!("-ERR 'Authorization Violation' from {server}, password unchanged");
            self.violation(host, what);
        }
    }

    /// The lossy fault between `client_host` and `server` is over: connections made from now
    /// on are clean.
    pub fn repaired(&mut self, client_host: &str, server: &str) {
        self.lossy_paths.remove(&(client_host.to_owned(), server.to_owned()));
    }

    /// Server `host` accepted a reload (`what`: the change, for the trace).
    pub fn reloaded(&mut self, host: &str, what: &str, summary: &ReloadSummary) {
        self.stats.reloads += 1;
        let gateways = summary.gateways_added.len() + summary.gateways_removed.len();
        self.stats.gateways_reloaded += gateways as u64;
        let closed = summary.closed_clients.len();
        let changed = &summary.changed;
        self.event(host, format_args!("reloaded ({what}): {changed:?}, {closed} clients closed"));
    }

    /// Traffic between `client_host` and `server` may be delayed between `start` and `end`.
    pub fn delay(&mut self, client_host: &str, server: &str, start: Duration, end: Duration) {
        let w = DelayWindow { client_host: client_host.into(), server: server.into(), start, end };
        self.delays.push(w);
    }

    /// The auditor saw `established` TCP streams on `server` after every client left.
    pub fn audit(&mut self, server: &str, established: usize) {
        // What the server itself holds, to tell its links from streams only turmoil counts.
        let links = self.nodes.get(server).map(|h| {
            let m = h.inspect(|n| n.memory_use());
            (m.client_links, m.route_links, m.gateway_links)
        });
        let (clients, routes, gateways) = links.unwrap_or_default();
        self.event(
            "auditor",
            format_args!(
                "{server}: {established} established streams; node holds {clients} client, \
                 {routes} route, {gateways} gateway links"
            ),
        );
        self.audits.push((server.to_owned(), established));
    }

    /// The gateway links (inbound and outbound) server `server` holds now.
    pub fn gateway_links(&self, server: &str) -> Option<usize> {
        let h = self.nodes.get(server)?;
        Some(h.inspect(|n| n.memory_use().gateway_links))
    }

    /// Gateway paths may be down in `w`.
    pub fn gateway_window(&mut self, w: GatewayWindow) {
        self.gateway_windows.push(w);
    }

    /// Widen each server crash's window for the clusters its cluster shares no explicit
    /// remote with. A restarted server knows only its explicit remotes, and a cluster that knew
    /// it by gossip alone may have forgotten it after `connect_retries` failed dials while it
    /// was down (nats-server `solicitGateway` deletes an implicit remote then). That pair is
    /// found again by gossip only: once the restarted cluster has a link to an explicit partner,
    /// the partner sends it every gateway it knows and it dials them. So the pair may stay
    /// apart until the path to the first explicit partner is back, and a recovery allowance
    /// more for that dial and its interest (seed 25529: C3, listing only C0, restarted at
    /// 11.3 s inside a C3 <-> C0 partition that lasted until 20.65 s; C1 had forgotten C3, so
    /// cl1's messages had no path to cl0 in C3 until C3 reached C0 at 21.35 s).
    fn add_rejoin_windows(&mut self, topo: &Topology) {
        let n = topo.domains();
        let crashes: Vec<GatewayWindow> =
            self.gateway_windows.iter().filter(|w| w.b.is_none() && w.a < n).cloned().collect();
        // Every (crash, pair) starts as "never rejoined" and is lowered until nothing changes:
        // a partner can pass the restarted server on only once it reaches `y` itself, which
        // may be another rejoin (seed 403714 of the route suite: c0-s3 and then c0-s2
        // crashed, c0-s0 forgot both, and each could tell c0-s0 of the other only once
        // c0-s2's explicit route to c0-s1 was out of its partition at 15.9 s).
        let mut pairs: Vec<(GatewayWindow, usize, Duration)> = crashes
            .iter()
            .flat_map(|crash| {
                let c = crash.a;
                (0..n)
                    .filter(move |&y| y != c && !topo.explicit_pair(c, y))
                    .map(move |y| (crash.clone(), y, Duration::MAX))
            })
            .collect();
        let windows = |pairs: &[(GatewayWindow, usize, Duration)]| -> Vec<GatewayWindow> {
            pairs
                .iter()
                .filter(|(crash, _, t)| *t > crash.end)
                .map(|(crash, y, t)| {
                    let end = t.saturating_add(GW_RECOVER);
                    GatewayWindow::both_ways(crash.a, Some(*y), crash.start, end)
                })
                .collect()
        };
        for _ in 0..=pairs.len() {
            let current = windows(&pairs);
            let mut changed = false;
            for entry in &mut pairs {
                let (crash, y) = (&entry.0, entry.1);
                let c = crash.a;
                // Gateways: the partner gossips every gateway it knows to the restarted
                // cluster. Routes: the partner forwards the restarted server's INFO to its
                // other routes, whose servers dial it; so the partner's path to `y` must be
                // back too (seed 156 of the route suite: c0-s1 restarted, c0-s0 could tell
                // c0-s2 about it only once their partition healed).
                let rejoined = (0..n)
                    .filter(|&p| p != c && topo.explicit_pair(c, p))
                    .map(|p| {
                        let back = self.path_back_with(c, p, crash.end, &current);
                        if topo.routes {
                            back.max(self.path_back_with(p, y, crash.end, &current))
                        } else {
                            back
                        }
                    })
                    .min()
                    .unwrap_or(Duration::MAX);
                if rejoined < entry.2 {
                    entry.2 = rejoined;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut rejoins = windows(&pairs);
        // Supercluster: the restarted server rejoins its own cluster over routes too; a
        // cluster mate that forgot it (an implicit route after `connect_retries`) hears of it
        // again only through gossip from its explicit route partner. Windows on the cluster
        // (every route fault is one) may delay that: allow a recovery past the last of them.
        if topo.supercluster() {
            for crash in &crashes {
                let calm = self.path_back_with(crash.a, crash.a, crash.end, &rejoins);
                if calm > crash.end {
                    let end = calm.saturating_add(GW_RECOVER);
                    rejoins.push(GatewayWindow::both_ways(crash.a, None, crash.start, end));
                }
            }
        }
        self.gateway_windows.extend(rejoins);
    }

    /// The first time from `from` on at which no window covers the path between clusters `a`
    /// and `b` in either direction.
    /// `extra` windows count besides the recorded ones.
    fn path_back_with(
        &self,
        a: usize,
        b: usize,
        from: Duration,
        extra: &[GatewayWindow],
    ) -> Duration {
        let mut t = from;
        loop {
            let later = self
                .gateway_windows
                .iter()
                .chain(extra)
                .filter(|w| (w.covers(a, b) || w.covers(b, a)) && w.start <= t && w.end > t)
                .map(|w| w.end)
                .max();
            match later {
                Some(end) => t = end,
                None => return t,
            }
        }
    }

    /// Whether the gateway path for messages published in cluster `x` for subscribers in
    /// cluster `y` was up throughout `[from, to]`.
    pub fn gateway_up(&self, x: usize, y: usize, from: Duration, to: Duration) -> bool {
        self.gateway_up_unless(x, y, from, to, false)
    }

    /// [`Self::gateway_up`], ignoring handshake-stall windows if `ignore_stalls` (to count
    /// what they waive).
    fn gateway_up_unless(
        &self,
        x: usize,
        y: usize,
        from: Duration,
        to: Duration,
        ignore_stalls: bool,
    ) -> bool {
        let (dx, dy) = (self.domain(x), self.domain(y));
        x == y
            || !self.gateway_windows.iter().any(|w| {
                !(ignore_stalls && w.stall) && w.covers(dx, dy) && w.start <= to && w.end >= from
            })
    }

    /// A liveness probe published in cluster `from` arrived in cluster `to`.
    pub fn probe_arrived(&mut self, from: usize, to: usize) {
        let now = self.now();
        if let std::collections::btree_map::Entry::Vacant(e) = self.probes.entry((from, to)) {
            self.trace.record(now, "probe", format_args!("C{from} -> C{to} arrived"));
            e.insert(now);
        }
    }

    /// After the last heal, every pair of clusters `(x, y, from)` in `pairs` must have carried
    /// a probe from `x` to `y` within `bound` of `from`.
    pub fn check_probes(&mut self, pairs: &[(usize, usize, Duration)], bound: Duration) {
        let mut broken = Vec::new();
        for &(x, y, from) in pairs {
            // A pair that may never link again (a restarted server whose introducer lost its
            // own path for good, see `add_rejoin_windows`) is not required to.
            let (dx, dy) = (self.domain(x), self.domain(y));
            if self.gateway_windows.iter().any(|w| w.end == Duration::MAX && w.covers(dx, dy)) {
                continue;
            }
            // Nor before the disturbances on its path are over: a window ends with a recovery
            // allowance after its cause (a heal, a restart, a stalled handshake, a rejoin
            // through an explicit partner). Only a rejoin can end after the last heal and its
            // stalls (route suite seed 2263: c0-s0 restarted behind a one-way partition of its
            // only explicit route; c0-s2 heard of it only once that handshake stall was over).
            let from = self
                .gateway_windows
                .iter()
                .filter(|w| w.covers(dx, dy) && w.end != Duration::MAX)
                .map(|w| w.end.saturating_sub(GW_RECOVER))
                .fold(from, Duration::max);
            match self.probes.get(&(x, y)) {
                Some(t) if *t <= from + bound => {}
                Some(t) => broken.push(format!(
                    "path {x} -> {y} back only at {t:?}, later than {bound:?} after {from:?}"
                )),
                None => broken.push(format!(
                    "path {x} -> {y} never carried a probe after the heal at {from:?}"
                )),
            }
        }
        for what in broken {
            self.violation("liveness", what);
        }
    }

    /// A SUB was written.
    pub fn sub_sent(
        &mut self,
        id: SubId,
        subject: &str,
        queue: Option<&str>,
        account: usize,
        cluster: usize,
    ) {
        let now = self.now();
        let q = queue.map(|q| format!(" queue {q}")).unwrap_or_default();
        self.trace.record(
            now,
            &host(id.0),
            format_args!("sub {subject}{q} sid {} #{}", id.2, id.1),
        );
        let cluster = self.located((id.0, id.1)).unwrap_or(cluster);
        let record = SubRecord {
            subject: subject.to_owned(),
            queue: queue.map(str::to_owned),
            account,
            cluster,
            sent_at: now,
            confirmed_at: None,
            unsub_sent_at: None,
            unsub_confirmed_at: None,
            delivered: BTreeSet::new(),
            last_seq: BTreeMap::new(),
        };
        if self.subs.insert(id, record).is_some() {
            self.violation(&host(id.0), format!("harness reused sid {} on #{}", id.2, id.1));
        }
    }

    /// The PONG after a SUB arrived.
    pub fn sub_confirmed(&mut self, id: SubId) {
        let now = self.now();
        self.trace.record(now, &host(id.0), format_args!("sub confirmed sid {} #{}", id.2, id.1));
        if let Some(s) = self.subs.get_mut(&id) {
            s.confirmed_at.get_or_insert(now);
            self.stats.confirmed_subs += 1;
        }
    }

    /// An UNSUB was written.
    pub fn unsub_sent(&mut self, id: SubId) {
        let now = self.now();
        self.trace.record(now, &host(id.0), format_args!("unsub sid {} #{}", id.2, id.1));
        if let Some(s) = self.subs.get_mut(&id) {
            s.unsub_sent_at.get_or_insert(now);
        }
    }

    /// The PONG after an UNSUB arrived.
    pub fn unsub_confirmed(&mut self, id: SubId) {
        let now = self.now();
        self.trace.record(now, &host(id.0), format_args!("unsub confirmed sid {} #{}", id.2, id.1));
        if let Some(s) = self.subs.get_mut(&id) {
            s.unsub_confirmed_at.get_or_insert(now);
        }
    }

    /// A PUB/HPUB was written.
    pub fn published(&mut self, mut p: Publication) {
        self.stats.published += 1;
        if let Some(l) = self.located((p.id.client, p.epoch)) {
            p.cluster = l;
        }
        if let Some(req) = p.in_reply_to {
            let ok = self.pubs.get(&req).is_some_and(|r| r.reply.as_deref() == Some(&p.subject));
            if !ok {
                let what =
                    format!("response {} to {req} sent to {} (not its reply)", p.id, p.subject);
                self.violation(&host(p.id.client), what);
            }
        }
        self.recent.push(p.sent_at, p.size);
        self.max_pub_size = self.max_pub_size.max(p.size);
        self.pubs.insert(p.id, p);
    }

    /// A no-responders status arrived for `subject` on subscription `sub`.
    pub fn no_responders(&mut self, sub: SubId, subject: &str) {
        self.stats.no_responders += 1;
        let asked =
            self.pubs.values().any(|p| p.id.client == sub.0 && p.reply.as_deref() == Some(subject));
        if !asked {
            self.violation(&host(sub.0), format!("no-responders for {subject}, never requested"));
        }
    }

    /// A message for subscription `sub` arrived; `id` is what its payload names (None if the
    /// payload names no message: itself a violation).
    pub fn delivered(&mut self, sub: SubId, subject: &str, reply: Option<&str>, id: Option<MsgId>) {
        self.stats.delivered += 1;
        let h = host(sub.0);
        let Some(id) = id else {
            return self.violation(&h, format!("sid {} got a payload naming no message", sub.2));
        };
        self.event(&h, format_args!("recv {id} on {subject} sid {} #{}", sub.2, sub.1));
        let Some(p) = self.pubs.get(&id) else {
            return self.violation(&h, format!("got {id}, which was never published"));
        };
        let (p_subject, p_reply, p_account, p_cluster, p_conn) =
            (p.subject.clone(), p.reply.clone(), p.account, p.cluster, (p.id.client, p.epoch));
        let Some(s) = self.subs.get_mut(&sub) else {
            return self.violation(
                &h,
                format!("got {id} on sid {} never subscribed on #{}", sub.2, sub.1),
            );
        };
        let mut broken = Vec::new();
        if p_reply.is_none() && p_subject.starts_with("_INBOX.") && p_cluster != s.cluster {
            self.stats.remote_replies += 1;
        }
        if let Some(at) = s.unsub_confirmed_at {
            broken.push(format!("got {id} on sid {} after UNSUB was confirmed at {at:?}", sub.2));
        }
        if p_subject != subject || p_reply.as_deref() != reply {
            broken.push(format!(
                "got {id} as {subject} reply {reply:?}, published as {p_subject} reply {p_reply:?}"
            ));
        }
        if p_account != s.account {
            broken.push(format!(
                "cross-account delivery of {id} (account {p_account} to {})",
                s.account
            ));
        }
        if !subject_matches(&s.subject, subject) {
            broken.push(format!(
                "got {id} on {subject} for sid {} subscribed to {}",
                sub.2, s.subject
            ));
        }
        if !s.delivered.insert(id) {
            broken.push(format!("duplicate delivery of {id} on sid {} #{}", sub.2, sub.1));
        }
        let last = s.last_seq.entry(p_conn).or_insert(0);
        if id.seq <= *last {
            broken.push(format!(
                "{id} on sid {} after seq {} from the same connection",
                sub.2, *last
            ));
        }
        *last = (*last).max(id.seq);
        let queue = s.queue.clone().map(|q| (s.subject.clone(), q, s.account, s.cluster));
        let _ = p_cluster;
        if let Some((qsubject, qname, account, _)) = queue {
            let n = self
                .queue_deliveries
                .entry((id, account, qsubject.clone(), qname.clone()))
                .or_insert(0);
            *n += 1;
            if *n > 1 {
                broken
                    .push(format!("{id} delivered {n} times to queue group {qname} on {qsubject}"));
            }
        }
        for what in broken {
            self.violation(&h, what);
        }
    }

    /// Liveness checks at the end of a run. `observed_until`: when clients stopped;
    /// `healed_at`: when the last fault ended; `reconnect_bound`: how soon after that every
    /// client must have been connected again.
    pub fn finish(
        &mut self,
        topo: &Topology,
        observed_until: Duration,
        healed_at: Duration,
        reconnect_bound: Duration,
    ) {
        self.harness_now = observed_until;
        self.add_rejoin_windows(topo);
        let mut missing = Vec::new();
        let mut queue_missing = Vec::new();
        let mut expected = 0u64;
        let mut waived = 0u64;
        // Queue groups: (account, subject, queue) -> members.
        let mut groups: BTreeMap<(usize, String, String), Vec<SubId>> = BTreeMap::new();
        for (id, s) in &self.subs {
            if let Some(q) = &s.queue {
                groups.entry((s.account, s.subject.clone(), q.clone())).or_default().push(*id);
            }
        }
        for p in self.pubs.values() {
            let Some(pub_until) = self.alive_until(&(p.id.client, p.epoch), observed_until) else {
                continue;
            };
            for (id, s) in &self.subs {
                if s.account != p.account
                    || !subject_matches(&s.subject, &p.subject)
                    || s.queue.is_some()
                {
                    continue;
                }
                if !topo.reachable(p.cluster, s.cluster) {
                    continue;
                }
                if self.expects(p, *id, s, pub_until, observed_until, false) {
                    expected += 1;
                    if p.cluster != s.cluster {
                        self.stats.expected_remote += 1;
                    }
                    if !s.delivered.contains(&p.id) {
                        missing.push((p.id, *id));
                    }
                } else if self.expects(p, *id, s, pub_until, observed_until, true) {
                    waived += 1;
                }
            }
            for ((account, qsubject, qname), members) in &groups {
                if *account != p.account || !subject_matches(qsubject, &p.subject) {
                    continue;
                }
                // Members that might have been in the group when the server routed the message.
                let present: Vec<&SubId> = members
                    .iter()
                    .filter(|m| {
                        // Members in other clusters count even when their gateway is down: the
                        // publisher's server may route to them (then nothing is required).
                        let s = &self.subs[m];
                        topo.reachable(p.cluster, s.cluster)
                            && s.sent_at <= p.sent_at + SETTLE
                            && self.seen_until(p, m, s) >= p.sent_at
                    })
                    .collect();
                let stable = !present.is_empty()
                    && present.iter().all(|m| {
                        self.expects(p, **m, &self.subs[m], pub_until, observed_until, false)
                    });
                if stable {
                    expected += 1;
                    let n = self.queue_deliveries.get(&(
                        p.id,
                        *account,
                        qsubject.clone(),
                        qname.clone(),
                    ));
                    if n.is_none() {
                        queue_missing.push((p.id, qname.clone(), qsubject.clone()));
                    }
                }
            }
        }
        self.stats.expected = expected;
        self.stats.waived_stall = waived;
        for (m, (c, e, sid)) in missing.iter().take(20) {
            let p = &self.pubs[m];
            let what = format!(
                "{m} ({} sent {:?} on #{}) never reached sid {sid} on #{e}",
                p.subject, p.sent_at, p.epoch
            );
            self.violation(&host(*c), what);
        }
        if missing.len() > 20 {
            self.violation("checker", format!("… {} more missing deliveries", missing.len() - 20));
        }
        for (m, q, subject) in queue_missing.iter().take(20) {
            let what = format!("{m} never reached any member of queue group {q} on {subject}");
            self.violation("checker", what);
        }
        // Convergence: every client connected again within the bound after the last heal.
        let mut last: BTreeMap<u32, (u32, &Epoch)> = BTreeMap::new();
        for (&(c, e), ep) in &self.epochs {
            last.insert(c, (e, ep));
        }
        let mut unconverged = Vec::new();
        for (c, (_, ep)) in &last {
            let opened_late = ep.opened_at > healed_at + reconnect_bound;
            if ep.ended_at.is_some_and(|t| t < observed_until) || opened_late {
                unconverged
                    .push(format!("cl{c} not connected within {reconnect_bound:?} of the heal"));
            }
        }
        for what in unconverged {
            self.violation("checker", what);
        }
        let leaks: Vec<String> = self
            .audits
            .iter()
            .map(|(s, n)| {
                let orphans = self.orphan_streams.get(s).copied().unwrap_or(0);
                let abandoned = self
                    .abandoned_dials
                    .get(s)
                    .map_or(0, |a| a.load(std::sync::atomic::Ordering::Relaxed));
                (s, n.saturating_sub(orphans + abandoned))
            })
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{s} still holds {n} client connections after every client left"))
            .collect();
        for what in leaks {
            self.violation("checker", what);
        }
    }

    /// When connection `conn` stopped being a clean path (ended, tainted, or end of run).
    fn alive_until(&self, conn: &ConnKey, observed_until: Duration) -> Option<Duration> {
        let e = self.epochs.get(conn)?;
        let mut t = observed_until;
        for x in [e.ended_at, e.tainted_at].into_iter().flatten() {
            t = t.min(x);
        }
        Some(t)
    }

    fn sub_end(&self, id: &SubId, s: &SubRecord, observed_until: Duration) -> Duration {
        let mut end = self.alive_until(&(id.0, id.1), observed_until).unwrap_or_default();
        if let Some(u) = s.unsub_sent_at {
            end = end.min(u);
        }
        end
    }

    /// Until when the server may still hold subscription `id` (and route queue messages to
    /// it): a connection the client lost may live on at the server until its keep-alive or
    /// write deadline gives up on it ([`ZOMBIE`]).
    fn server_side_end(&self, id: &SubId, s: &SubRecord) -> Duration {
        let mut end = Duration::MAX;
        if let Some(u) = s.unsub_confirmed_at {
            end = u;
        } else if let Some(u) = s.unsub_sent_at {
            end = u + ZOMBIE;
        }
        let Some(e) = self.epochs.get(&(id.0, id.1)) else {
            return end;
        };
        if let Some(g) = e.server_gone_at {
            return end.min(g);
        }
        // Only the end of the connection bounds it: a lossy fault the connection survived
        // (it was tainted, never ended) left the server holding its subscriptions (seed
        // 510102: a queue member subscribed after a 207 ms partition of its client was
        // counted gone, and the message its server routed to it as it unsubscribed was
        // required of the member in another cluster).
        if let Some(t) = e.ended_at {
            let clean = e.clean_end && e.tainted_at.is_none();
            end = end.min(t + if clean { SETTLE } else { ZOMBIE });
        }
        end
    }

    /// Until when the publisher's server of `p` may still route queue messages to member
    /// `id`. In its own cluster: while the server holds it ([`Self::server_side_end`]). In
    /// another cluster, the publisher's server knows the member only through the `RS+`/`RS-`
    /// the member's cluster sends back on the publisher's outbound gateway (gateway-protocol.md
    /// §5.3, §6.3): its removal reaches the publisher [`PROPAGATE`] later, and not at all while
    /// that path is down — the stale interest lives until the link is dropped, and the next
    /// link starts from scratch, which the path's window (recovery included) covers. Until
    /// then the publisher may pick that cluster for the group (seeds 951, 10001, 10148, 10280,
    /// 10327: a member in another cluster unsubscribed while the path was down, the publisher
    /// still routed the group's messages to that cluster, and they were lost there).
    fn seen_until(&self, p: &Publication, id: &SubId, s: &SubRecord) -> Duration {
        let end = self.server_side_end(id, s);
        if s.cluster == p.cluster || end == Duration::MAX {
            return end;
        }
        let seen = end.saturating_add(PROPAGATE);
        let (dp, ds) = (self.domain(p.cluster), self.domain(s.cluster));
        // The RS- may have been sent into a down path: stale until that window is over.
        self.gateway_windows
            .iter()
            .filter(|w| w.covers(dp, ds) && w.start <= seen && w.end >= end)
            .map(|w| w.end)
            .fold(seen, Duration::max)
    }

    /// Whether subscription `id` must receive `p`: confirmed before it was sent, and both
    /// connections clean until the message had time to arrive (longer across delays).
    /// `ignore_stalls`: as if no handshake-stall window existed (to count what they waive).
    fn expects(
        &self,
        p: &Publication,
        id: SubId,
        s: &SubRecord,
        pub_until: Duration,
        observed_until: Duration,
        ignore_stalls: bool,
    ) -> bool {
        let Some(confirmed) = s.confirmed_at else {
            return false;
        };
        if confirmed > p.sent_at {
            return false;
        }
        if p.cluster != s.cluster {
            // Interest must have had time to cross an up gateway, which must stay up until
            // the message has had time to arrive.
            let propagated = confirmed + PROPAGATE;
            if propagated > p.sent_at
                || !self.gateway_up_unless(
                    p.cluster,
                    s.cluster,
                    p.sent_at.saturating_sub(PROPAGATE),
                    p.sent_at + SETTLE,
                    ignore_stalls,
                )
            {
                return false;
            }
        }
        let (Some(pe), Some(se)) =
            (self.epochs.get(&(p.id.client, p.epoch)), self.epochs.get(&(id.0, id.1)))
        else {
            return false;
        };
        let mut deadline = p.sent_at + SETTLE;
        // Delays on either leg push the deadline out; a few passes reach the fixpoint.
        for _ in 0..4 {
            for w in &self.delays {
                let on_path = (w.client_host == pe.host && w.server == pe.server)
                    || (w.client_host == se.host && w.server == se.server);
                if on_path && w.start <= deadline && w.end >= p.sent_at {
                    deadline = deadline.max(w.end + SETTLE);
                }
            }
        }
        deadline <= pub_until && deadline <= self.sub_end(&id, s, observed_until)
    }
}

/// The turmoil host name of client `c`.
pub fn host(c: u32) -> String {
    format!("cl{c}")
}

/// Whether `subject` (a literal) matches the subscription `pattern` (`*` one token, `>` one or
/// more trailing tokens). An independent oracle: deliberately not the core's matcher.
pub fn subject_matches(pattern: &str, subject: &str) -> bool {
    let mut p = pattern.split('.');
    let mut s = subject.split('.');
    loop {
        match (p.next(), s.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publication(seq: u64, subject: &str, account: usize) -> Publication {
        Publication {
            id: MsgId { client: 0, seq },
            epoch: 1,
            subject: subject.into(),
            reply: None,
            account,
            cluster: 0,
            sent_at: Duration::from_secs(1),
            in_reply_to: None,
            size: 20,
        }
    }

    /// The checker itself must catch each kind of broken delivery (fed by hand, no simulation).
    #[test]
    fn online_checks_catch_bad_deliveries() {
        let mut c = Checker::new(false);
        c.epoch_opened((0, 1), "cl0", "s");
        c.epoch_opened((1, 1), "cl1", "s");
        let sub = (1, 1, 5);
        c.sub_sent(sub, "a.*", None, 0, 0);
        c.sub_confirmed(sub);
        c.published(publication(1, "a.b", 0));
        c.published(publication(2, "a.c", 1));
        c.published(publication(3, "x.y", 0));
        c.delivered(sub, "a.b", None, Some(MsgId { client: 0, seq: 1 }));
        assert!(c.violations().is_empty(), "{:?}", c.violations());
        let cases: [(&str, SubId, &str, u64); 5] = [
            ("duplicate", sub, "a.b", 1),
            ("cross-account", sub, "a.c", 2),
            ("subscribed to a.*", sub, "x.y", 3),
            ("never subscribed", (1, 1, 6), "a.b", 1),
            ("never published", sub, "a.b", 9),
        ];
        for (what, sub, subject, seq) in cases {
            let before = c.violations().len();
            c.delivered(sub, subject, None, Some(MsgId { client: 0, seq }));
            let new = &c.violations()[before..];
            assert!(new.iter().any(|v| v.what.contains(what)), "{what}: {new:?}");
        }
        c.unsub_sent(sub);
        c.unsub_confirmed(sub);
        c.published(publication(4, "a.d", 0));
        c.delivered(sub, "a.d", None, Some(MsgId { client: 0, seq: 4 }));
        assert!(c.violations().last().is_some_and(|v| v.what.contains("after UNSUB")));
    }

    #[test]
    fn queue_groups_get_each_message_at_most_once() {
        let mut c = Checker::new(false);
        c.epoch_opened((1, 1), "cl1", "s");
        c.epoch_opened((2, 1), "cl2", "s");
        for m in [(1, 1, 2), (2, 1, 2)] {
            c.sub_sent(m, "a.>", Some("q"), 0, 0);
            c.sub_confirmed(m);
        }
        c.published(publication(1, "a.b", 0));
        c.delivered((1, 1, 2), "a.b", None, Some(MsgId { client: 0, seq: 1 }));
        assert!(c.violations().is_empty());
        c.delivered((2, 1, 2), "a.b", None, Some(MsgId { client: 0, seq: 1 }));
        assert!(c.violations().iter().any(|v| v.what.contains("queue group q")));
    }

    /// Seeds 951, 10001, 10148, 10280, 10327: a queue member in another cluster leaves while
    /// the gateway path to it is down; the publisher's server cannot learn it (no `RS-` crosses
    /// the partition) and may still route the group there, so no other member is required to
    /// get the message until the path is back.
    #[test]
    fn queue_member_leaving_behind_a_partition_still_counts() {
        let topo = Topology::new(1, 3, 1);
        let at = |c: &mut Checker, ms: u64| c.harness_now = Duration::from_millis(ms);
        let mut c = Checker::new(false);
        for (cl, cluster) in [(0u32, 0usize), (1, 1), (2, 2)] {
            c.epoch_opened((cl, 1), &host(cl), &format!("c{cluster}-s0"));
        }
        at(&mut c, 1000);
        for (cl, cluster) in [(1u32, 1usize), (2, 2)] {
            c.sub_sent((cl, 1, 2), "ev.>", Some("q"), 0, cluster);
            c.sub_confirmed((cl, 1, 2));
        }
        // The path C0 - C2 is down from 5 s; the member in C2 leaves at 6 s.
        c.gateway_window(GatewayWindow::both_ways(
            0,
            Some(2),
            Duration::from_secs(5),
            Duration::from_secs(20),
        ));
        at(&mut c, 6000);
        c.unsub_sent((2, 1, 2));
        c.unsub_confirmed((2, 1, 2));
        let publish = |c: &mut Checker, seq: u64, ms: u64| {
            at(c, ms);
            let p =
                Publication { sent_at: Duration::from_millis(ms), ..publication(seq, "ev.a", 0) };
            c.published(p);
        };
        // During the partition: not required (C0 may still route q to C2).
        publish(&mut c, 1, 8000);
        // After the path is back (window included): the member in C1 must get it.
        publish(&mut c, 2, 25_000);
        c.finish(&topo, Duration::from_secs(30), Duration::ZERO, Duration::from_secs(100));
        let missing: Vec<_> =
            c.violations().iter().filter(|v| v.what.contains("queue group q")).collect();
        assert_eq!(missing.len(), 1, "{missing:?}");
        assert!(missing[0].what.contains("cl0#2"), "{missing:?}");
    }

    /// Seed 25529: a restarted server knows only its explicit remotes, and the clusters that
    /// knew it by gossip may have forgotten it, so they find each other again only once it
    /// reaches an explicit partner, which a partition may keep from it past its restart.
    #[test]
    fn a_restarted_cluster_rejoins_its_gossip_peers_through_an_explicit_partner() {
        // C1 and C2 list only C0: they know each other by gossip.
        let mut topo = Topology::new(1, 3, 1);
        for (c, explicit) in [vec![], vec![0], vec![0]].into_iter().enumerate() {
            topo.clusters[c].explicit = explicit;
        }
        let at = |c: &mut Checker, ms: u64| c.harness_now = Duration::from_millis(ms);
        let mut c = Checker::new(false);
        // C2's server is down 5-7 s, inside a C2 <-> C0 partition of 4-20 s.
        c.gateway_window(GatewayWindow::both_ways(
            2,
            None,
            Duration::from_secs(5),
            Duration::from_secs(7) + GW_RECOVER,
        ));
        c.gateway_window(GatewayWindow::both_ways(
            2,
            Some(0),
            Duration::from_secs(4),
            Duration::from_secs(20) + GW_RECOVER,
        ));
        at(&mut c, 1000);
        c.epoch_opened((1, 1), "cl1", "c1-s0");
        c.sub_sent((1, 1, 2), "ev.>", None, 0, 1);
        c.sub_confirmed((1, 1, 2));
        at(&mut c, 8000);
        c.epoch_opened((0, 1), "cl0", "c2-s0");
        let publish = |c: &mut Checker, seq: u64, ms: u64| {
            at(c, ms);
            let sent_at = Duration::from_millis(ms);
            c.published(Publication { sent_at, cluster: 2, ..publication(seq, "ev.a", 0) });
        };
        // After the restart window, before C2 can reach C0: not required.
        publish(&mut c, 1, 15_000);
        // Once C2 is back with C0 and has dialled C1 (recovery allowance included): required.
        publish(&mut c, 2, 35_000);
        c.finish(&topo, Duration::from_secs(40), Duration::ZERO, Duration::from_secs(100));
        let missing: Vec<_> =
            c.violations().iter().filter(|v| v.what.contains("never reached")).collect();
        assert_eq!(missing.len(), 1, "{missing:?}");
        assert!(missing[0].what.contains("cl0#2"), "{missing:?}");
    }

    #[test]
    fn oracle_matching() {
        assert!(subject_matches("a.b", "a.b"));
        assert!(subject_matches("a.*", "a.b"));
        assert!(subject_matches("*.b", "a.b"));
        assert!(subject_matches("a.>", "a.b.c"));
        assert!(subject_matches(">", "a"));
        assert!(!subject_matches("a.>", "a"));
        assert!(!subject_matches("a.*", "a.b.c"));
        assert!(!subject_matches("a.b", "a.b.c"));
        assert!(!subject_matches("a.b.c", "a.b"));
        assert!(!subject_matches("a.c", "a.b"));
    }
}
