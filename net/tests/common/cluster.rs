//! Clusters for the route suite: servers started from a nats-server config file with a
//! `cluster {}` block on fixed loopback ports (so a killed server comes back where its peers
//! and its clients look for it), whose whole log can be waited on, plus mesh and interest
//! probes over the raw client of [`super::gateway`].
//!
//! `strait` and `nats-server` print the same lines, which is what readiness is judged by:
//! `Listening for client connections on H:P`, `Listening for route connections on H:P`,
//! `Starting http monitor on H:P`, `Server is ready`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::Kind;
use super::gateway::{RawClient, RawMsg, free_ports, http_get, raw_probe};
use super::process_log::ProcessLog;

/// How long a server may take to print its listening and ready lines.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a cluster may take to form (or re-form) its full mesh; nats-server re-dials an
/// explicit route after 1 s, gossip adds a round trip per hop.
pub(crate) const MESH_TIMEOUT: Duration = Duration::from_secs(30);
/// Cluster name of every suite cluster.
pub(crate) const CLUSTER: &str = "RT";
/// Lines of log shown in failure messages.
const LOG_SHOWN: usize = 60;

/// One server of a cluster, as written to its config file.
#[derive(Clone, Debug)]
pub(crate) struct Member {
    pub(crate) kind: Kind,
    /// `server_name`, e.g. `s1`.
    pub(crate) name: String,
    /// `cluster.name`, [`CLUSTER`] unless set.
    pub(crate) cluster: String,
    /// Fixed client port.
    pub(crate) client_port: u16,
    /// Fixed route port.
    pub(crate) route_port: u16,
    /// `cluster.routes`, as URLs.
    pub(crate) routes: Vec<String>,
    /// `cluster.authorization { user, password }`.
    pub(crate) auth: Option<(String, String)>,
    /// Extra command-line flags (e.g. `-D`).
    pub(crate) flags: Vec<String>,
    /// The config file's text when given as is (e.g. an example file), instead of rendered.
    pub(crate) text: Option<String>,
}

impl Member {
    /// `kind` named `name` on fresh fixed ports, with no routes.
    pub(crate) fn new(kind: Kind, name: &str) -> Member {
        let ports = free_ports(2);
        Member {
            kind,
            name: name.to_owned(),
            cluster: CLUSTER.to_owned(),
            client_port: ports[0],
            route_port: ports[1],
            routes: Vec::new(),
            auth: None,
            flags: Vec::new(),
            text: None,
        }
    }

    /// The URL peers list to reach this server's route port, with `creds` if given.
    pub(crate) fn route_url(&self, creds: Option<(&str, &str)>) -> String {
        match creds {
            Some((u, p)) => format!("nats://{u}:{p}@127.0.0.1:{}", self.route_port),
            None => format!("nats://127.0.0.1:{}", self.route_port),
        }
    }

    /// The client URL (fixed across restarts).
    pub(crate) fn client_url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.client_port)
    }

    /// The config file text (nats-server syntax). Lame-duck times are the shortest
    /// nats-server accepts (a 30 s duration), with a 1 s grace period.
    pub(crate) fn render(&self) -> String {
        if let Some(text) = &self.text {
            return text.clone();
        }
        let mut s = format!(
            "server_name: {name}\nlisten: \"127.0.0.1:{client}\"\nhttp: \"127.0.0.1:-1\"\n\
             lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"1s\"\n\
             cluster {{\n  name: {cluster}\n  listen: \"127.0.0.1:{route}\"\n",
            name = self.name,
            cluster = self.cluster,
            client = self.client_port,
            route = self.route_port,
        );
        if let Some((u, p)) = &self.auth {
            s.push_str(&format!("  authorization {{ user: {u}, password: {p} }}\n"));
        }
        if !self.routes.is_empty() {
            let urls: Vec<String> = self.routes.iter().map(|u| format!("\"{u}\"")).collect();
            s.push_str(&format!("  routes: [{}]\n", urls.join(", ")));
        }
        s.push_str("}\n");
        s
    }
}

/// Three members whose route lists are partial, as in `examples/cluster`: the first lists
/// nobody, each next one lists only the one before it; gossip must complete the mesh.
pub(crate) fn chain(kinds: &[Kind]) -> Vec<Member> {
    let mut members: Vec<Member> =
        kinds.iter().enumerate().map(|(i, k)| Member::new(*k, &format!("s{}", i + 1))).collect();
    for i in 1..members.len() {
        let url = members[i - 1].route_url(None);
        members[i].routes.push(url);
    }
    members
}

// ---------------------------------------------------------------------------------------------
// The server process

/// A cluster member's process; killed on drop, restartable with the same file and ports.
pub(crate) struct RouteServer {
    member: Member,
    dir: PathBuf,
    config: PathBuf,
    child: Option<Child>,
    /// The current incarnation's log: a restart starts a fresh one.
    log: Arc<ProcessLog>,
    http: Option<SocketAddr>,
}

static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

impl RouteServer {
    /// Starts `member`; panics with the log if it does not come up.
    pub(crate) fn start(member: &Member) -> RouteServer {
        RouteServer::try_start(member).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts `member`, or says why it did not come up (with the log).
    pub(crate) fn try_start(member: &Member) -> Result<RouteServer, String> {
        let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("strait-rt-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let config = dir.join(format!("{}.conf", member.name));
        std::fs::write(&config, member.render()).expect("write config");
        let mut s = RouteServer {
            member: member.clone(),
            dir,
            config,
            child: None,
            log: Arc::default(),
            http: None,
        };
        s.spawn()?;
        Ok(s)
    }

    fn program(&self) -> PathBuf {
        self.member.kind.program()
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut child = Command::new(self.program())
            .arg("-c")
            .arg(&self.config)
            .args(&self.member.flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.program().display()))?;
        self.log = ProcessLog::drain(child.stderr.take().expect("stderr is piped"));
        self.child = Some(child);
        if let Err(e) = self.wait_line(0, "Server is ready", START_TIMEOUT) {
            return Err(self.describe(&format!("did not start: {e}")));
        }
        // nats-server opens its route listener just after `Server is ready`.
        if let Err(e) = self.wait_line(0, "Listening for route connections on", START_TIMEOUT) {
            return Err(self.describe(&format!("no route listener: {e}")));
        }
        self.http = self.log.listen_addr("Starting http monitor on ");
        Ok(())
    }

    /// The member this server runs.
    pub(crate) fn member(&self) -> &Member {
        &self.member
    }

    /// Which implementation this is.
    pub(crate) fn kind(&self) -> Kind {
        self.member.kind
    }

    /// Client address.
    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.member.client_port))
    }

    /// `nats://` URL for clients.
    pub(crate) fn url(&self) -> String {
        self.member.client_url()
    }

    /// Process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// A short label such as `s2(nats-server)`.
    pub(crate) fn label(&self) -> String {
        format!("{}({})", self.member.name, self.member.kind.label())
    }

    /// A raw client connected to this server, or the reason (with the log) in a panic.
    pub(crate) fn raw(&self) -> RawClient {
        RawClient::connect(self.addr()).unwrap_or_else(|e| panic!("{}", self.describe(&e)))
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the process again with the same config file and ports.
    pub(crate) fn restart(&mut self) {
        self.kill();
        if let Err(e) = self.spawn() {
            panic!("restarting: {e}");
        }
    }

    /// Sends `signal` (a `kill -s` name such as `USR2`) to the process.
    pub(crate) fn signal(&self, signal: &str) {
        super::signal(self.pid(), signal);
    }

    /// Waits up to `limit` for the process to exit by itself; its status, or `None`.
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        if !self.log.wait_closed(limit) {
            return None;
        }
        let status = self.child.as_mut()?.wait().ok();
        self.child = None;
        status
    }

    /// Index of the next log line.
    pub(crate) fn mark(&self) -> usize {
        self.log.mark()
    }

    /// Waits until a line at index ≥ `from` contains every one of `parts`.
    pub(crate) fn wait_all(
        &self,
        from: usize,
        parts: &[&str],
        within: Duration,
    ) -> Result<String, String> {
        self.log.wait_all(from, parts, within)
    }

    /// [`RouteServer::wait_all`] for one substring.
    pub(crate) fn wait_line(
        &self,
        from: usize,
        part: &str,
        within: Duration,
    ) -> Result<String, String> {
        self.wait_all(from, &[part], within)
    }

    /// Lines at index ≥ `from` containing every one of `parts`.
    pub(crate) fn lines_with(&self, from: usize, parts: &[&str]) -> Vec<String> {
        self.log.lines_with(from, parts)
    }

    /// `GET <path>` from the monitor, as JSON.
    pub(crate) fn monitor(&self, path: &str) -> Result<serde_json::Value, String> {
        let http = self.http.ok_or("monitoring is off")?;
        let body = http_get(http, path)?;
        serde_json::from_str(&body).map_err(|e| format!("{path} is not JSON ({e}): {body}"))
    }

    /// The last lines of the log, indented.
    pub(crate) fn log_tail(&self) -> String {
        self.log.tail(LOG_SHOWN)
    }

    /// `what`, the server's label, its config and its log tail.
    pub(crate) fn describe(&self, what: &str) -> String {
        let config: String = std::fs::read_to_string(&self.config)
            .unwrap_or_default()
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect();
        format!("{}: {what}\n  config:\n{config}  log:\n{}", self.label(), self.log_tail())
    }

    /// The config file's path.
    pub(crate) fn config_path(&self) -> &Path {
        &self.config
    }
}

impl Drop for RouteServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------------
// Clusters

/// Every server's description, for failure messages.
pub(crate) fn describe_all(servers: &[RouteServer]) -> String {
    servers.iter().map(|s| s.describe("")).collect::<Vec<_>>().join("\n")
}

/// Starts every member, in order.
pub(crate) fn start_all(members: &[Member]) -> Vec<RouteServer> {
    members.iter().map(RouteServer::start).collect()
}

/// Sets of fresh ports [`with_fresh_ports`] tries.
const PORT_TRIES: usize = 3;

/// `start()`, which picks fresh fixed ports each time it is called, called again while a
/// server could not bind one: another process (any on the machine) may take a port between
/// [`free_ports`] releasing it and the server binding it. Panics on any other error.
pub(crate) fn with_fresh_ports<T>(mut start: impl FnMut() -> Result<T, String>) -> T {
    for _ in 1..PORT_TRIES {
        match start() {
            Ok(v) => return v,
            Err(e) if e.to_lowercase().contains("address already in use") => {
                let first = e.lines().next().unwrap_or_default();
                eprintln!("a port was taken meanwhile, starting again on fresh ports: {first}");
            }
            Err(e) => panic!("{e}"),
        }
    }
    start().unwrap_or_else(|e| panic!("{e}"))
}

/// Waits until every server delivers to every other one: a subscriber on each server, a
/// probe from each other server until it arrives. Routes never relay (a message crosses
/// exactly one route), so this proves a direct route between every pair: the full mesh.
pub(crate) fn wait_mesh(servers: &[RouteServer], tag: &str) -> Result<(), String> {
    wait_mesh_within(servers, tag, MESH_TIMEOUT)
}

/// [`wait_mesh`] with an explicit bound.
pub(crate) fn wait_mesh_within(
    servers: &[RouteServer],
    tag: &str,
    within: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    for (s, sub_server) in servers.iter().enumerate() {
        let mut sub = RawClient::connect(sub_server.addr())?;
        let subject = format!("mesh.{tag}.{s}");
        sub.send(format!("SUB {subject} 1\r\n").as_bytes())?;
        sub.ping_pong()?;
        for (p, pub_server) in servers.iter().enumerate() {
            if p == s {
                continue;
            }
            let mut publisher = RawClient::connect(pub_server.addr())?;
            let left = deadline.saturating_duration_since(Instant::now());
            raw_probe(&mut publisher, &mut sub, &subject, left)
                .map_err(|e| format!("{} → {}: {e}", pub_server.label(), sub_server.label()))?;
        }
    }
    Ok(())
}

/// Subscriptions made on one server in bulk.
pub(crate) const MANY: usize = 10_000;

/// One connection to `host` holding [`MANY`] subscriptions `<prefix>.0` … (sids 1 …), sent
/// in one write and confirmed by PING/PONG.
pub(crate) fn subscribe_many(host: &RouteServer, prefix: &str) -> Result<RawClient, String> {
    let mut c = RawClient::connect(host.addr())?;
    let subs: String = (0..MANY).map(|i| format!("SUB {prefix}.{i} {}\r\n", i + 1)).collect();
    c.send(subs.as_bytes())?;
    c.ping_pong()?;
    Ok(c)
}

/// A publish from `from` reaches the last of [`subscribe_many`]'s subscriptions on
/// `subscriber`: one connection's interest travels in order, so all of them are known there.
/// The first one is probed too (interest is not just the tail of the dump).
pub(crate) fn reaches_many(
    from: &RouteServer,
    subscriber: &mut RawClient,
    prefix: &str,
) -> Result<(), String> {
    let mut publisher = RawClient::connect(from.addr())?;
    for i in [MANY - 1, 0] {
        raw_probe(&mut publisher, subscriber, &format!("{prefix}.{i}"), MESH_TIMEOUT)?;
    }
    Ok(())
}

/// Polls `check` every 50 ms until it says yes, for at most `within`.
pub(crate) fn poll(
    within: Duration,
    mut check: impl FnMut() -> Result<bool, String>,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    let mut last = String::new();
    loop {
        match check() {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last = e,
        }
        if Instant::now() >= deadline {
            return Err(format!("condition not met within {within:?} {last}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads messages from `sub` until one with payload `fence` arrives for each of `fences`
/// (bounded by `within`); returns the others. Messages on one path arrive in order, so every
/// message sent before a fence on its path has arrived by then, and a duplicate too.
pub(crate) fn until_fences(
    sub: &mut RawClient,
    fences: &[String],
    within: Duration,
) -> Result<Vec<RawMsg>, String> {
    let deadline = Instant::now() + within;
    let mut left: Vec<&String> = fences.iter().collect();
    let mut got = Vec::new();
    while !left.is_empty() {
        let m = sub
            .next_msg(deadline.saturating_duration_since(Instant::now()))?
            .ok_or_else(|| format!("fences {left:?} never arrived; got {got:?}"))?;
        match left.iter().position(|f| f.as_bytes() == m.payload.as_slice()) {
            Some(i) => {
                left.swap_remove(i);
            }
            None => got.push(m),
        }
    }
    Ok(got)
}
