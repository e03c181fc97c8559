//! What an operator's own configuration files do, before production finds out
//! (`strait-sim whatif A.conf B.conf …`).
//!
//! Every file is read by the daemon's own code (`strait_conf` and `strait_net::setup`, so
//! includes, variables and every refusal are the daemon's) and becomes one simulated host
//! running the production server. Every listen and advertise address of every file is mapped
//! to its host; a route or gateway URL is resolved to the host that listens on that address
//! (by port, and by host unless either side is loopback or a wildcard), and a URL no file
//! listens on is reported as unreachable, not guessed. The certificate, key and CA files of
//! `tls {}` blocks are read as the daemon reads them and judged at simulated time, which
//! starts at the date the run is asked about ([`Settings::start`]).
//!
//! **Formation**: a probe client on every server publishes to every other from the start, so
//! the report says when every pair of servers meant to reach each other (joined by expected
//! links, directly or not) first delivered, which pairs never did, which routes and gateway
//! links formed, and for each expected one that did not, what the servers at both ends logged
//! about it. Probes log in per account, so each pair is checked in every account its servers
//! both serve (`accounts`).
//!
//! The probes number their publications, so every run also tells a probe message that
//! arrived twice or out of order ([`order`]); either is a finding.
//!
//! Then, on request, each in runs of its own from the same seed: [`faults`] (each crash and
//! partition, and whether delivery heals), [`seeds`] (random combinations of them, one per
//! seed, each run with its seed), [`expiry`] (what each certificate date breaks, and
//! whether established links hide it until a reconnect) and [`plan`] (a sequence of reloads,
//! and the first step that would lose a link). Every finding carries the command that replays
//! it with `--trace`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::future::pending;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use strait_conf::Options;
use strait_net::cli::Args;
use strait_net::server::{self, Extras, Listeners, NodeHandle};
use strait_net::setup::{self, Setup};
use strait_net::transport::Dialer;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;

use self::accounts::{Accounts, Pair, in_account};
use crate::invariants::{Checker, Shared};
use crate::probe::{self, Via};
use crate::tls::{LogLine, LogTap, SIM_EPOCH};
use crate::transport::{SimConn, SimDialer, SimListener};

mod accounts;
pub mod dates;
pub mod expiry;
pub mod faults;
pub mod order;
pub mod plan;
pub mod seeds;
mod tls;

/// What a run is asked: from which seed, at which date.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Seeds turmoil and every server.
    pub seed: u64,
    /// The date simulated time starts at, as time since 1970 (certificates are judged by it).
    pub start: Duration,
    /// Log every server's debug lines to stderr (`--trace`).
    pub trace: bool,
    /// Where relative certificate paths are read from (see [`load`]); only for the replay
    /// command here.
    pub dir: Option<PathBuf>,
}

impl Settings {
    /// Seed `seed`, starting at the simulation's usual epoch ([`SIM_EPOCH`]).
    pub fn seeded(seed: u64) -> Self {
        Self { seed, start: SIM_EPOCH, trace: false, dir: None }
    }

    /// The command that runs `files` with these settings again, with `extra` arguments.
    pub fn command(&self, files: &[ServerFile], extra: &str) -> String {
        let mut cmd = String::from("strait-sim whatif");
        for f in files {
            cmd.push(' ');
            cmd.push_str(&f.path.display().to_string());
        }
        cmd.push_str(&format!(" --seed {} --at {}", self.seed, self.start.as_secs()));
        if let Some(dir) = &self.dir {
            cmd.push_str(&format!(" --dir {}", dir.display()));
        }
        if !extra.is_empty() {
            cmd.push(' ');
            cmd.push_str(extra);
        }
        cmd
    }
}

/// The simulation's time step.
const TICK: Duration = Duration::from_millis(10);

/// How long the servers get to form their links (gateways dial after a 1 s solicit delay,
/// routes gossip, implicit links follow).
pub const FORMATION: Duration = Duration::from_secs(20);

/// One configuration file, read as the daemon reads it.
#[derive(Debug)]
pub struct ServerFile {
    /// The file.
    pub path: PathBuf,
    /// The simulated host it runs on (its file stem).
    pub host: String,
    /// `server_name`, or the host.
    pub name: String,
    /// What the daemon would run with.
    pub setup: Setup,
    /// The options the file gives (relative certificate paths made absolute).
    pub options: Options,
}

impl ServerFile {
    /// The cluster name of its `cluster {}` block, if it listens for routes.
    fn cluster(&self) -> Option<&str> {
        self.setup.cluster.as_ref().map(|c| c.config.name.as_str())
    }

    /// The name of its `gateway {}` block.
    fn gateway(&self) -> Option<&str> {
        self.setup.gateway.as_ref().map(|g| g.config.name.as_str())
    }

    /// The addresses it listens on or advertises: (host as written, port).
    fn addresses(&self) -> Vec<(String, u16)> {
        let s = &self.setup;
        let mut out = Vec::new();
        if let Some(p) = s.client.port {
            out.push((s.client.host.clone(), p));
        }
        if let Some(g) = &s.gateway {
            out.extend(g.listen.port.map(|p| (g.listen.host.clone(), p)));
        }
        if let Some(c) = &s.cluster {
            out.extend(c.listen.port.map(|p| (c.listen.host.clone(), p)));
        }
        out
    }
}

/// Read every file (a file the daemon would refuse is an error naming it); relative
/// certificate paths are read from `dir`, the daemon's working directory (default: ours).
///
/// The daemon's configuration code reads relative paths from the process's working
/// directory, so with `dir` the process works in `dir` while the files are read (loads take
/// turns; afterwards every certificate path is absolute and nothing reads relative paths).
pub fn load(paths: &[PathBuf], dir: Option<&Path>) -> Result<Vec<ServerFile>, String> {
    let paths: Vec<PathBuf> = match dir {
        Some(_) => paths.iter().map(std::path::absolute).collect::<io::Result<_>>(),
        None => Ok(paths.to_vec()),
    }
    .map_err(|e| format!("{e}"))?;
    in_dir(dir, || load_here(&paths))?
}

/// Run `f` with the process working in `dir` (see [`load`]), one caller at a time.
pub(crate) fn in_dir<R>(dir: Option<&Path>, f: impl FnOnce() -> R) -> Result<R, String> {
    static CWD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = CWD.lock().unwrap_or_else(|p| p.into_inner());
    let Some(dir) = dir else { return Ok(f()) };
    let back = std::env::current_dir().map_err(|e| format!("the working directory: {e}"))?;
    std::env::set_current_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = f();
    std::env::set_current_dir(&back).map_err(|e| format!("{}: {e}", back.display()))?;
    Ok(out)
}

/// [`load`] in the process's working directory.
fn load_here(paths: &[PathBuf]) -> Result<Vec<ServerFile>, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("the working directory: {e}"))?;
    let mut files = Vec::new();
    for path in paths {
        let at = |e: &dyn fmt::Display| format!("{}: {e}", path.display());
        let mut options = strait_conf::load_file(path).map_err(|e| at(&e))?;
        tls::rebase(&mut options, &cwd);
        let setup = setup::build(&Args::default(), Some(&options)).map_err(|e| at(&e))?;
        // The same blocks on simulated time (refused the same way, too).
        tls::on_sim_clock(&options, &setup).map_err(|e| at(&e))?;
        let host = host_name(path);
        if files.iter().any(|f: &ServerFile| f.host == host) {
            return Err(at(&format!("two files named {host}")));
        }
        let name = setup.node.server_name.clone().unwrap_or_else(|| host.clone());
        files.push(ServerFile { path: path.clone(), host, name, setup, options });
    }
    Ok(files)
}

/// A turmoil host name for `path`: its stem, lowercased, letters, digits and `-` only.
fn host_name(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    if name.is_empty() { "server".to_owned() } else { name }
}

/// Where each written address lives: `(host as written, port)` → simulated host.
#[derive(Clone, Debug, Default)]
pub struct AddressMap(Arc<Vec<((String, u16), String)>>);

impl AddressMap {
    /// Every listen address of every file.
    pub fn of(files: &[ServerFile]) -> Self {
        let entries =
            files.iter().flat_map(|f| f.addresses().into_iter().map(|a| (a, f.host.clone())));
        Self(Arc::new(entries.collect()))
    }

    /// The simulated host that listens on `host:port`, if any file does.
    pub fn resolve(&self, host: &str, port: u16) -> Option<&str> {
        let local = |h: &str| matches!(h, "127.0.0.1" | "localhost" | "::1" | "0.0.0.0" | "::");
        self.0
            .iter()
            .find(|((h, p), _)| *p == port && (h == host || local(h) || local(host)))
            .map(|(_, sim_host)| sim_host.as_str())
    }
}

/// Dials the simulated host an address maps to; an address no file listens on is refused.
#[derive(Clone, Debug)]
struct MappedDialer {
    map: AddressMap,
    inner: SimDialer,
}

impl Dialer for MappedDialer {
    type Conn = SimConn;

    async fn dial(&self, host: &str, port: u16) -> io::Result<(Self::Conn, Option<SocketAddr>)> {
        let Some(target) = self.map.resolve(host, port) else {
            let e = format!("no configuration file listens on {host}:{port}");
            return Err(io::Error::new(io::ErrorKind::ConnectionRefused, e));
        };
        self.inner.dial(target, port).await
    }
}

/// What formed: per server, its routes and gateway links.
#[derive(Clone, Debug, Default)]
pub struct Formed {
    /// Server names with a registered route.
    pub routes: Vec<String>,
    /// Remote gateway names with a registered outbound link.
    pub outbound: Vec<String>,
    /// Remote gateway names with a registered inbound link, one per link.
    pub inbound: Vec<String>,
}

/// The formation report.
#[derive(Debug)]
pub struct Report {
    /// The date simulated time started at (since 1970).
    pub start: Duration,
    /// Per server (file order): its name and what formed.
    pub servers: Vec<(String, Formed)>,
    /// Every link that formed, once per pair of servers and kind.
    pub links: Vec<Link>,
    /// When every pair of servers meant to reach each other had carried a probe message, if
    /// every one did.
    pub converged: Option<Duration>,
    /// Pairs meant to reach each other that never did, per account they share.
    pub undelivered: Vec<Undelivered>,
    /// Pairs meant to reach each other that never did, then expected links that did not
    /// form, one line each, with what was logged about them.
    pub findings: Vec<String>,
}

/// A pair of servers meant to reach each other in an account that never did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undelivered {
    /// Publishing server (name).
    pub from: String,
    /// Receiving server (name).
    pub to: String,
    /// The account, when more than one is checked (see `accounts`).
    pub account: Option<String>,
}

impl fmt::Display for Undelivered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (from, to, account) = (&self.from, &self.to, in_account(self.account.as_deref()));
        write!(f, "no delivery from {from} to {to}{account} within {FORMATION:?}")
    }
}

impl Report {
    /// Whether every expected link formed and every pair meant to reach each other did.
    pub fn healthy(&self) -> bool {
        self.findings.is_empty()
    }

    /// The report for CI pipelines (`--json`).
    pub fn to_json(&self) -> serde_json::Value {
        let servers: Vec<serde_json::Value> = self
            .servers
            .iter()
            .map(|(name, f)| {
                serde_json::json!({
                    "name": name,
                    "routes": f.routes,
                    "gateways_out": f.outbound,
                    "gateways_in": f.inbound,
                })
            })
            .collect();
        let links: Vec<serde_json::Value> = self
            .links
            .iter()
            .map(|l| serde_json::json!({ "kind": l.kind, "a": l.a, "b": l.b }))
            .collect();
        serde_json::json!({
            "start": dates::format(self.start),
            "simulated_ms": FORMATION.as_millis() as u64,
            "converged_ms": self.converged.map(|t| t.as_millis() as u64),
            "healthy": self.healthy(),
            "servers": servers,
            "links": links,
            "undelivered": self.undelivered.iter().map(|u| serde_json::json!({
                "from": u.from, "to": u.to, "account": u.account,
            })).collect::<Vec<_>>(),
            "findings": self.findings,
        })
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let start = dates::format(self.start);
        writeln!(f, "formation from {start}, after {FORMATION:?} of simulated time:")?;
        for (name, formed) in &self.servers {
            writeln!(
                f,
                "  {name:<12} routes to {:?}; gateways out to {:?}, in from {:?}",
                formed.routes, formed.outbound, formed.inbound
            )?;
        }
        match self.converged {
            Some(t) => writeln!(f, "delivery between every pair of servers from {t:?}")?,
            None => writeln!(f, "some pairs of servers never delivered to each other")?,
        }
        match self.findings.is_empty() {
            true => writeln!(f, "every expected route and gateway link formed")?,
            false => {
                writeln!(f, "{} findings, the worst first:", self.findings.len())?;
                for x in &self.findings {
                    writeln!(f, "  {x}")?;
                }
            }
        }
        Ok(())
    }
}

/// Run `files` on the simulated network for [`FORMATION`] and report which links formed.
pub fn formation(files: &[ServerFile], settings: &Settings) -> Report {
    let Simulated { nodes, ips, arrivals, logs, anomalies, accounts, .. } =
        run(files, settings, &Script { until: FORMATION, events: &[], steps: &[] });
    let links = links(&nodes, &ips);
    let servers: Vec<(String, Formed)> = files
        .iter()
        .map(|f| (f.name.clone(), nodes.get(&f.host).map(formed).unwrap_or_default()))
        .collect();
    let map = AddressMap::of(files);
    let mut converged = Some(Duration::ZERO);
    let mut undelivered = Vec::new();
    // A pair is checked in every account both its servers serve (none shared: not expected).
    for (x, y) in meant_to_reach(files, &map) {
        for account in accounts.shared(x, y) {
            let pair = Pair { account, from: x, to: y };
            match arrivals.get(&pair).and_then(|a| a.first()) {
                Some(t) => converged = converged.map(|c| c.max(*t)),
                None => {
                    converged = None;
                    let (from, to, account) = named(files, &accounts, pair);
                    undelivered.push(Undelivered { from, to, account });
                }
            }
        }
    }
    let mut findings: Vec<String> = undelivered.iter().map(Undelivered::to_string).collect();
    findings.extend(missing(files, &servers, &logs, &map));
    findings.extend(anomalies.iter().map(order::Anomaly::to_string));
    Report { start: settings.start, servers, links, converged, undelivered, findings }
}

/// Ordered pairs of servers (file indices) meant to reach each other: those joined by
/// expected links, directly or through others (see [`missing`] for what is expected).
fn meant_to_reach(files: &[ServerFile], map: &AddressMap) -> Vec<(usize, usize)> {
    let n = files.len();
    let mut group: Vec<usize> = (0..n).collect();
    for a in 0..n {
        for b in (0..n).filter(|&b| b != a) {
            let (fa, fb) = (&files[a], &files[b]);
            let routes = fa.setup.cluster.is_some()
                && fb.setup.cluster.is_some()
                && (fa.cluster() == fb.cluster() || lists_route(fa, fb, map));
            // Every server with a gateway expects a link to every gateway name.
            let gateways = fa.gateway().is_some() && fb.gateway().is_some();
            if routes || gateways {
                let (ra, rb) = (root(&group, a), root(&group, b));
                group[ra] = rb;
            }
        }
    }
    (0..n)
        .flat_map(|x| (0..n).map(move |y| (x, y)))
        .filter(|&(x, y)| x != y && root(&group, x) == root(&group, y))
        .collect()
}

/// The representative of `i`'s group in a union-find forest (`group[i]` is `i`'s parent, a
/// root its own; bounded because the forests here have no cycles).
pub(crate) fn root(group: &[usize], mut i: usize) -> usize {
    while group[i] != i {
        i = group[i];
    }
    i
}

/// Whether `f` lists `peer` in its `cluster { routes }`.
fn lists_route(f: &ServerFile, peer: &ServerFile, map: &AddressMap) -> bool {
    f.setup.cluster.as_ref().is_some_and(|c| {
        c.config.routes.iter().any(|u| map.resolve(&u.host, u.port) == Some(&peer.host))
    })
}

/// A link between two servers (simulated hosts, in file order), as their nodes register it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Link {
    /// `route` or `gateway` (either direction: a partition cuts both).
    pub kind: &'static str,
    /// One end's host.
    pub a: String,
    /// The other end's host.
    pub b: String,
}

/// The links registered on `nodes`, each pair of hosts once per kind.
fn links(nodes: &BTreeMap<String, NodeHandle>, ips: &[(String, String)]) -> Vec<Link> {
    let host_of = |peer: Option<SocketAddr>| {
        let ip = peer?.ip().to_string();
        ips.iter().find(|(i, _)| *i == ip).map(|(_, h)| h.clone())
    };
    let mut out = Vec::new();
    for (host, node) in nodes {
        let peers: Vec<(&'static str, Option<SocketAddr>)> = node.inspect(|n| {
            let routes = n.routes_snapshot(false).into_iter().map(|r| ("route", r.link.peer));
            let mut peers: Vec<_> = routes.collect();
            if let Some(g) = n.gateway_snapshot() {
                let gateways = g.outbound.into_iter().chain(g.inbound);
                peers.extend(gateways.map(|l| ("gateway", l.link.peer)));
            }
            peers
        });
        for (kind, peer) in peers {
            if let Some(peer) = host_of(peer).filter(|p| p != host) {
                let (a, b) = if *host < peer { (host.clone(), peer) } else { (peer, host.clone()) };
                out.push(Link { kind, a, b });
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Something done to the simulated network or a host at a given time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// The host crashes (its server and sockets vanish).
    Crash(String),
    /// The crashed host starts again (a new incarnation reads its files).
    Restart(String),
    /// Traffic from `.0` to `.1` is dropped, and the other way too when `.2`.
    Cut(String, String, bool),
    /// Undo a [`Event::Cut`] with the same hosts and direction.
    Mend(String, String, bool),
}

/// Every arrival of a probe message per pair of servers and account, in order.
pub(crate) type Arrivals = BTreeMap<Pair, Vec<Duration>>;

/// What a simulation left.
pub(crate) struct Simulated {
    /// The nodes by host (the latest incarnation of each).
    nodes: BTreeMap<String, NodeHandle>,
    /// Simulated IP → host.
    ips: Vec<(String, String)>,
    /// Every arrival of a probe message per pair of servers and account, in order.
    pub(crate) arrivals: Arrivals,
    /// What the servers logged at INFO and above, with hosts in place of simulated addresses.
    pub(crate) logs: Vec<LogLine>,
    /// The outcome of each reload step, in order.
    pub(crate) reloads: Vec<Result<(), String>>,
    /// Probe messages that arrived twice or out of order.
    pub(crate) anomalies: Vec<order::Anomaly>,
    /// The accounts the probes checked.
    pub(crate) accounts: Accounts,
}

impl Simulated {
    /// Whether `x` delivered to `y` in every account both serve at some time in `from..to`.
    pub(crate) fn delivered(&self, x: usize, y: usize, (from, to): (Duration, Duration)) -> bool {
        self.accounts.shared(x, y).into_iter().all(|account| {
            let arrivals = self.arrivals.get(&Pair { account, from: x, to: y });
            arrivals.is_some_and(|a| a.iter().any(|t| *t >= from && *t < to))
        })
    }
}

/// `pair`'s publisher, receiver and account label (see [`Accounts::label`]).
pub(crate) fn named(
    files: &[ServerFile],
    accounts: &Accounts,
    pair: Pair,
) -> (String, String, Option<String>) {
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let (from, to) = (names[pair.from].to_owned(), names[pair.to].to_owned());
    (from, to, accounts.label(pair, &names))
}

/// What a run does once the servers start.
#[derive(Clone, Copy)]
pub(crate) struct Script<'a> {
    /// When it ends (the probes stop then).
    pub(crate) until: Duration,
    /// Faults and restarts, in time order.
    pub(crate) events: &'a [(Duration, Event)],
    /// Reloads, one every [`plan`] period after formation.
    pub(crate) steps: &'a [plan::Step],
}

/// Runs `files` as `script` says, with a probe client on each server, keeping what the
/// servers log.
pub(crate) fn run(files: &[ServerFile], settings: &Settings, script: &Script<'_>) -> Simulated {
    let tap = LogTap::default();
    let lines = tap.lines.clone();
    let subscriber = tracing_subscriber::registry()
        .with(tap.with_filter(tracing_subscriber::filter::LevelFilter::INFO))
        .with(settings.trace.then(crate::tls::stderr_layer));
    // Turmoil runs every host on this thread: a thread-local subscriber sees all of them.
    let mut run =
        tracing::subscriber::with_default(subscriber, || simulate(files, settings, script));
    run.logs = std::mem::take(&mut *lines.lock().unwrap_or_else(|p| p.into_inner()));
    // The operator knows the hosts, not the simulated addresses.
    for l in &mut run.logs {
        for (ip, host) in &run.ips {
            l.text = l.text.replace(&format!("{ip}:"), &format!("{host}:"));
        }
    }
    run
}

/// Runs every file's server, and a probe client on each, as `script` says.
fn simulate(files: &[ServerFile], settings: &Settings, script: &Script<'_>) -> Simulated {
    let Script { until, events, steps } = *script;
    let seed = settings.seed;
    let mut sim = turmoil::Builder::new()
        .rng_seed(seed)
        .epoch(std::time::UNIX_EPOCH + settings.start)
        .simulation_duration(until + Duration::from_secs(5))
        // Each tick polls every host: 10 ms (twice the seeded suites') halves the cost of the
        // long runs of faults, and is still finer than any timer of the servers or probes.
        .tick_duration(TICK)
        .build();
    let map = AddressMap::of(files);
    let nodes: Rc<RefCell<BTreeMap<String, NodeHandle>>> = Rc::default();
    // Each host starts with the file as it is then (a reload step replaces it) and leaves its
    // reload channel and TLS handles for the steps.
    let current: plan::Current =
        Rc::new(RefCell::new(files.iter().map(|f| (f.setup.clone(), f.options.clone())).collect()));
    let running: plan::Running = Rc::new(RefCell::new(vec![None; files.len()]));
    for (i, file) in files.iter().enumerate() {
        let host = file.host.clone();
        let (map, nodes, current, running) =
            (map.clone(), nodes.clone(), current.clone(), running.clone());
        sim.host(file.host.clone(), move || {
            let (host, map, nodes, running) =
                (host.clone(), map.clone(), nodes.clone(), running.clone());
            let (setup, options) = current.borrow()[i].clone();
            async move {
                let observe = move |n| {
                    nodes.borrow_mut().insert(host, n);
                };
                let (sender, reloads) = strait_net::reload::channel();
                let started = move |tls| running.borrow_mut()[i] = Some((sender, tls));
                let hooks = Hooks { observe, reloads, started };
                run_file(setup, &options, i as u64 ^ seed, map, hooks).await
            }
        });
    }
    let reloads = plan::client(&mut sim, steps, &current, &running);
    let ips: Vec<(String, String)> =
        files.iter().map(|f| (sim.lookup(f.host.as_str()).to_string(), f.host.clone())).collect();
    // A probe client per server publishes to every other's probe subject from the start; all
    // share one simulated host (each host costs the simulation a poll every tick).
    let mut probes = Vec::new();
    let clock: Shared = Rc::new(RefCell::new(Checker::new(false)));
    let arrivals: Rc<RefCell<Arrivals>> = Rc::default();
    let accounts = Accounts::of(files);
    let order = Rc::new(RefCell::new(order::Order::default()));
    // Per server one probe per account it serves (see `accounts`); each subscribes to its
    // server's subject in its own account, so no two probes share a subscription.
    for p in &accounts.probes {
        let (i, account) = (p.server, p.account);
        let f = &files[i];
        let port = f.setup.client.port.unwrap_or(4222);
        let tls = f.setup.node.tls_required.then(|| tls::probe(&f.options, &f.setup.client.host));
        let via = Via { host: f.host.clone(), port, login: p.login.clone(), tls: tls.flatten() };
        let (arrivals, order) = (arrivals.clone(), order.clone());
        let arrived = move |at, from, round| {
            let pair = Pair { account, from, to: i };
            arrivals.borrow_mut().entry(pair).or_default().push(at);
            order.borrow_mut().arrived(at, pair, round);
        };
        let window = (Duration::ZERO, until);
        probes.push(probe::run_with(i, files.len(), via, window, clock.clone(), arrived));
    }
    sim.client("probes", probe::all(probes));
    let mut events = events.iter().peekable();
    // Bounded by simulation_duration (an error ends it); the probes end at `until`.
    loop {
        while let Some((_, e)) = events.next_if(|(at, _)| sim.elapsed() >= *at) {
            apply(&mut sim, e);
        }
        if !matches!(sim.step(), Ok(false)) {
            break;
        }
    }
    drop(sim);
    let arrivals = arrivals.borrow().clone();
    let nodes = Rc::try_unwrap(nodes).map(RefCell::into_inner).unwrap_or_default();
    let reloads = reloads.borrow().clone();
    let anomalies = order.borrow().anomalies(|p| named(files, &accounts, p));
    Simulated { nodes, ips, arrivals, logs: Vec::new(), reloads, anomalies, accounts }
}

fn apply(sim: &mut turmoil::Sim<'_>, event: &Event) {
    match event {
        Event::Crash(h) => sim.crash(h.as_str()),
        Event::Restart(h) => sim.bounce(h.as_str()),
        Event::Cut(a, b, true) => sim.partition(a.as_str(), b.as_str()),
        Event::Cut(a, b, false) => sim.partition_oneway(a.as_str(), b.as_str()),
        Event::Mend(a, b, true) => sim.repair(a.as_str(), b.as_str()),
        Event::Mend(a, b, false) => sim.repair_oneway(a.as_str(), b.as_str()),
    }
}

/// What a server incarnation hands out as it starts.
struct Hooks<O, S> {
    /// Called with its node.
    observe: O,
    /// Where its reloads come from.
    reloads: strait_net::reload::ReloadReceiver,
    /// Called with its TLS handles (which a reload replaces).
    started: S,
}

/// One server as the daemon would start it, on simulated listeners.
async fn run_file(
    setup: Setup,
    options: &Options,
    seed: u64,
    map: AddressMap,
    hooks: Hooks<impl FnOnce(NodeHandle), impl FnOnce(strait_net::tls_setup::ServerTls)>,
) -> turmoil::Result {
    // Each incarnation reads its certificate files as it starts, as the daemon does.
    let tls = tls::on_sim_clock(options, &setup).map_err(io::Error::other)?;
    (hooks.started)(tls.clone());
    let mut node = setup.node;
    let client_port = setup.client.port.unwrap_or(4222);
    // As the daemon does: the node knows the port it serves clients on.
    node.port = client_port;
    let client = SimListener::bind(client_port).await?;
    let gateway = match setup.gateway {
        Some(g) => {
            let port = g.listen.port.unwrap_or(7222);
            let listener = SimListener::bind(port).await?;
            node.gateway = Some(g.finish(port)?);
            Some(listener)
        }
        None => None,
    };
    let route = match setup.cluster {
        Some(c) => {
            let port = c.listen.port.unwrap_or(6222);
            let listener = SimListener::bind(port).await?;
            node.cluster = Some(c.finish(port, &setup.client.host, client_port)?);
            Some(listener)
        }
        None => None,
    };
    let listeners = Listeners { client, gateway, route, monitor: None };
    let dialer = MappedDialer { map, inner: SimDialer::default() };
    let extras =
        Extras { tls, reloads: Some(hooks.reloads), observe: Some(hooks.observe), lame_duck: None };
    server::run_with(node, setup.driver, seed, listeners, dialer, pending(), extras).await?;
    Ok(())
}

/// What a node holds now.
fn formed(handle: &NodeHandle) -> Formed {
    handle.inspect(|n| {
        let mut routes: Vec<String> =
            n.routes_snapshot(false).into_iter().map(|r| r.remote_name).collect();
        routes.sort();
        routes.dedup();
        let (mut outbound, mut inbound) = (Vec::new(), Vec::new());
        if let Some(g) = n.gateway_snapshot() {
            outbound = g.outbound.into_iter().map(|l| l.remote).collect();
            inbound = g.inbound.into_iter().map(|l| l.remote).collect();
        }
        outbound.sort();
        inbound.sort();
        Formed { routes, outbound, inbound }
    })
}

/// Each expected link that did not form, with the last warning or error each server at either
/// end logged about links of its kind (simulated addresses replaced by the files' hosts).
///
/// Expected: a route between two servers whose `cluster {}` blocks share a name or where one
/// lists the other in `routes`, and from every server with a gateway an outbound link to
/// every other gateway name some file serves or lists as a remote.
fn missing(
    files: &[ServerFile],
    servers: &[(String, Formed)],
    logs: &[LogLine],
    map: &AddressMap,
) -> Vec<String> {
    let mut findings = Vec::new();
    let said = |hosts: &[&str], topics: &[&str]| said(logs, hosts, topics);
    for (f, (name, formed)) in files.iter().zip(servers) {
        if let Some(c) = &f.setup.cluster {
            for u in &c.config.routes {
                if map.resolve(&u.host, u.port).is_none() {
                    findings.push(format!(
                        "{name}: route {}:{} is unreachable: no configuration file listens there",
                        u.host, u.port
                    ));
                }
            }
            for peer in files.iter().filter(|p| p.host != f.host && p.setup.cluster.is_some()) {
                let expected = f.cluster() == peer.cluster()
                    || lists_route(f, peer, map)
                    || lists_route(peer, f, map);
                if expected && !formed.routes.contains(&peer.name) {
                    let why = said(&[&f.host, &peer.host], &["oute", "luster"]);
                    findings.push(format!("{name}: no route to {} ({why})", peer.name));
                }
            }
        }
        let Some(g) = &f.setup.gateway else { continue };
        let own = g.config.name.as_str();
        let mut remotes: Vec<&str> = files.iter().filter_map(|f| f.gateway()).collect();
        for other in files.iter().filter_map(|f| f.setup.gateway.as_ref()) {
            remotes.extend(other.config.remotes.iter().map(|r| r.name.as_str()));
        }
        remotes.sort_unstable();
        remotes.dedup();
        for remote in remotes.into_iter().filter(|r| *r != own) {
            if formed.outbound.iter().any(|o| o == remote) {
                continue;
            }
            let served: Vec<&str> = files
                .iter()
                .filter(|p| p.gateway() == Some(remote))
                .map(|p| p.host.as_str())
                .collect();
            let configured = g.config.remotes.iter().find(|r| r.name == remote);
            let unreachable: Vec<String> = configured
                .map(|r| &r.urls[..])
                .unwrap_or_default()
                .iter()
                .filter(|u| map.resolve(&u.host, u.port).is_none())
                .map(|u| format!("{}:{}", u.host, u.port))
                .collect();
            let why = match (served.is_empty(), unreachable.is_empty()) {
                (true, false) => format!(
                    "no configuration file serves {remote}, and none listens on {}",
                    unreachable.join(", ")
                ),
                (true, true) => format!("no configuration file serves {remote}"),
                (false, _) => {
                    let mut hosts = vec![f.host.as_str()];
                    hosts.extend(served);
                    said(&hosts, &["ateway", "uthentication", "uthorization"])
                }
            };
            findings.push(format!("{name}: no outbound gateway to {remote} ({why})"));
        }
    }
    findings
}

/// The last two different warnings or errors each of `hosts` logged about one of `topics`
/// (without the connection's address and id), or that nothing was.
pub(crate) fn said(logs: &[LogLine], hosts: &[&str], topics: &[&str]) -> String {
    let mut parts = Vec::new();
    for h in hosts {
        // The last two different things it said, without the connection's address and id.
        let mut said: Vec<&str> = Vec::new();
        let lines = logs.iter().rev().filter(|l| l.host == *h && l.level != "INF");
        for l in lines.filter(|l| topics.iter().any(|t| l.text.contains(t))) {
            let text = without_connection(&l.text);
            // Retries of one dial differ only in their attempt number.
            if !said.iter().any(|s| without_attempt(s) == without_attempt(text)) {
                said.push(text);
            }
            if said.len() == 2 {
                break;
            }
        }
        if !said.is_empty() {
            said.reverse();
            parts.push(format!("{h}: {}", said.join(" / ")));
        }
    }
    match parts.is_empty() {
        true => "nothing logged about it".to_owned(),
        false => parts.join("; "),
    }
}

/// The first TLS error one of `hosts` logged from `since` on ("host: text"), which says why a
/// link stopped forming.
pub(crate) fn first_tls_error(logs: &[LogLine], since: Duration, hosts: &[&str]) -> String {
    let first = logs.iter().find(|l| {
        l.at >= since
            && hosts.contains(&l.host.as_str())
            && l.level == "ERR"
            && l.text.contains("TLS")
    });
    match first {
        Some(l) => format!("{}: {}", l.host, without_connection(&l.text)),
        None => "nothing logged about TLS".to_owned(),
    }
}

/// A log line without its ` (attempt N)`.
fn without_attempt(text: &str) -> String {
    let Some(i) = text.find(" (attempt ") else { return text.to_owned() };
    match text[i..].find(')') {
        Some(j) => format!("{}{}", &text[..i], &text[i + j + 1..]),
        None => text.to_owned(),
    }
}

/// A log line without its `addr - rid:N - ` (or `gid:`, `cid:`) connection prefix.
fn without_connection(text: &str) -> &str {
    for id in [" - rid:", " - gid:", " - cid:"] {
        if let Some(i) = text.find(id)
            && let Some(j) = text[i + id.len()..].find(" - ")
        {
            return &text[i + id.len() + j + 3..];
        }
    }
    text
}
