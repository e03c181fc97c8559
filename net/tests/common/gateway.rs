//! Superclusters for the gateway suites and the `bench` example: a server started from a
//! nats-server config file with a `gateway {}` block, whose whole log can be waited on, plus
//! config composition, `/gatewayz` fetching and a small blocking raw-protocol client.
//!
//! Both `strait` and `nats-server` print the same lines, which is what readiness is judged by:
//! `Listening for client connections on H:P`, `Listening for gateways connections on H:P`,
//! `Starting http monitor on H:P`, `Server is ready`, and once linked
//! `Outbound gateway connection to "B" (ID) registered` /
//! `Inbound gateway connection from "A" (ID) registered`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::Kind;
use super::process_log::ProcessLog;

/// How long a server may take to print its listening and ready lines.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long two started servers may take to register a gateway link (nats-server needs ~1 s).
pub(crate) const LINK_TIMEOUT: Duration = Duration::from_secs(10);
/// Lines of log shown in failure messages.
const LOG_SHOWN: usize = 60;

/// Gateway user and password of the seed scenario (`examples/{A,B,C}.conf`).
pub(crate) const GW_USER: &str = "gwu";
/// See [`GW_USER`].
pub(crate) const GW_PASS: &str = "gwp";

// ---------------------------------------------------------------------------------------------
// Config composition

/// One server's config: client, monitor and gateway listeners on loopback, and the gateway block.
#[derive(Clone, Debug)]
pub(crate) struct GwConfig {
    /// Gateway (= cluster) name; the server is named `<name>1`.
    pub(crate) name: String,
    /// Gateway port; `None` is `-1` (random).
    pub(crate) port: Option<u16>,
    /// `authorization { user, password }` of the gateway block.
    pub(crate) auth: Option<(String, String)>,
    /// Remotes as `(name, url)`; `url` may carry `user:pass@`.
    pub(crate) remotes: Vec<(String, String)>,
    /// `reject_unknown_cluster: true`.
    pub(crate) reject_unknown: bool,
    /// Extra lines inside the gateway block.
    pub(crate) gateway_extra: String,
    /// Extra lines inside remote entries, by remote name (e.g. a per-remote `tls` block).
    pub(crate) remote_extra: Vec<(String, String)>,
    /// Extra top-level lines.
    pub(crate) extra: String,
    /// `server_name`; `<name>1` when `None`.
    pub(crate) server: Option<String>,
    /// No `gateway {}` block at all (a server of a cluster, for the route suites).
    pub(crate) no_gateway: bool,
}

impl GwConfig {
    /// A gateway named `name` on a random port with no remotes and no authorization.
    pub(crate) fn new(name: &str) -> GwConfig {
        GwConfig {
            name: name.to_owned(),
            port: None,
            auth: None,
            remotes: Vec::new(),
            reject_unknown: false,
            gateway_extra: String::new(),
            remote_extra: Vec::new(),
            extra: String::new(),
            server: None,
            no_gateway: false,
        }
    }

    /// Leaves the `gateway {}` block out (`name` still names the config file and the server).
    pub(crate) fn without_gateway(mut self) -> GwConfig {
        self.no_gateway = true;
        self
    }

    /// Sets a fixed gateway port.
    pub(crate) fn port(mut self, port: u16) -> GwConfig {
        self.port = Some(port);
        self
    }

    /// Requires `user`/`pass` from diallers.
    pub(crate) fn auth(mut self, user: &str, pass: &str) -> GwConfig {
        self.auth = Some((user.to_owned(), pass.to_owned()));
        self
    }

    /// Adds an explicit remote `name` at `addr`, with credentials if given.
    pub(crate) fn remote(
        mut self,
        name: &str,
        addr: SocketAddr,
        creds: Option<(&str, &str)>,
    ) -> Self {
        let url = match creds {
            Some((u, p)) => format!("nats://{u}:{p}@{addr}"),
            None => format!("nats://{addr}"),
        };
        self.remotes.push((name.to_owned(), url));
        self
    }

    /// Adds `block` (e.g. `tls { … }`) inside the gateway block.
    pub(crate) fn gateway_block(mut self, block: &str) -> GwConfig {
        self.gateway_extra.push_str(block);
        self
    }

    /// Adds `block` inside the entry of remote `name`.
    pub(crate) fn remote_block(mut self, name: &str, block: &str) -> GwConfig {
        self.remote_extra.push((name.to_owned(), block.to_owned()));
        self
    }

    /// Sets `reject_unknown_cluster: true`.
    pub(crate) fn reject_unknown(mut self) -> GwConfig {
        self.reject_unknown = true;
        self
    }

    /// Sets `server_name` (several servers of one cluster share the gateway name).
    pub(crate) fn server_name(mut self, name: &str) -> GwConfig {
        self.server = Some(name.to_owned());
        self
    }

    /// The config file text (nats-server syntax).
    pub(crate) fn render(&self) -> String {
        let server = self.server.clone().unwrap_or_else(|| format!("{}1", self.name));
        let gateway = if self.no_gateway { String::new() } else { self.render_gateway() };
        format!(
            "server_name: {server}\nlisten: 127.0.0.1:-1\nhttp: 127.0.0.1:-1\n{}\n{gateway}",
            self.extra
        )
    }

    /// The `gateway {}` block alone, for a config whose other blocks are written elsewhere
    /// (a server of a cluster).
    pub(crate) fn render_gateway(&self) -> String {
        let mut s = format!(
            "gateway {{\n  name: {name}\n  listen: \"127.0.0.1:{port}\"\n",
            name = self.name,
            port = self.port.map_or(-1, i32::from),
        );
        if let Some((u, p)) = &self.auth {
            s.push_str(&format!("  authorization {{ user: {u}, password: {p} }}\n"));
        }
        if self.reject_unknown {
            s.push_str("  reject_unknown_cluster: true\n");
        }
        s.push_str(&self.gateway_extra);
        if !self.remotes.is_empty() {
            s.push_str("  gateways: [\n");
            for (n, u) in &self.remotes {
                let extra: String = self
                    .remote_extra
                    .iter()
                    .filter(|(r, _)| r == n)
                    .map(|(_, b)| b.as_str())
                    .collect();
                s.push_str(&format!("    {{ name: {n}, url: \"{u}\"\n{extra} }}\n"));
            }
            s.push_str("  ]\n");
        }
        s.push_str("}\n");
        s
    }
}

/// `n` loopback ports that were free a moment ago (bound together, then released).
///
/// Another process may take one before the server binds it; starting then fails with a listen
/// error, which [`GwServer::try_start`] reports so a caller can retry with fresh ports.
pub(crate) fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> =
        (0..n).map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0")).collect();
    listeners.iter().map(|l| l.local_addr().expect("local_addr").port()).collect()
}

// ---------------------------------------------------------------------------------------------
// The server process

/// A server started from a config file; killed on drop, restartable with the same file.
pub(crate) struct GwServer {
    kind: Kind,
    program: PathBuf,
    /// Gateway (cluster) name.
    name: String,
    dir: PathBuf,
    config: PathBuf,
    env: Vec<(String, String)>,
    child: Option<Child>,
    /// The current incarnation's log: a restart starts a fresh one (marks start again at 0).
    log: Arc<ProcessLog>,
    client: SocketAddr,
    /// The gateway listener (port 0 for a server configured without one).
    gateway: SocketAddr,
    has_gateway: bool,
    http: Option<SocketAddr>,
}

static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

impl GwServer {
    /// Starts `kind` with `config`; panics with the log if it does not come up.
    pub(crate) fn start(kind: Kind, config: &GwConfig) -> GwServer {
        GwServer::start_env(kind, &kind.program(), config, &[])
    }

    /// [`GwServer::start`] with an explicit program and extra environment variables.
    pub(crate) fn start_env(
        kind: Kind,
        program: &Path,
        config: &GwConfig,
        env: &[(&str, &str)],
    ) -> GwServer {
        match GwServer::try_start(kind, program, config, env) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    /// Starts `kind` with `config`, or says why not (with the log).
    pub(crate) fn try_start(
        kind: Kind,
        program: &Path,
        config: &GwConfig,
        env: &[(&str, &str)],
    ) -> Result<GwServer, String> {
        let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("strait-gw-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join(format!("{}.conf", config.name));
        std::fs::write(&path, config.render()).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut server = GwServer {
            kind,
            program: program.to_owned(),
            name: config.name.clone(),
            dir,
            config: path,
            env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            child: None,
            log: Arc::default(),
            client: SocketAddr::from(([127, 0, 0, 1], 0)),
            gateway: SocketAddr::from(([127, 0, 0, 1], 0)),
            has_gateway: !config.no_gateway,
            http: None,
        };
        server.spawn()?;
        Ok(server)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut child = Command::new(&self.program)
            .arg("-c")
            .arg(&self.config)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        self.log = ProcessLog::drain(child.stderr.take().expect("stderr is piped"));
        self.child = Some(child);

        let ready = self.wait_line(0, "Server is ready", START_TIMEOUT);
        if let Err(e) = ready {
            return Err(self.describe(&format!("did not start: {e}")));
        }
        let addr = |what: &str| self.log.listen_addr(what);
        self.client = addr("Listening for client connections on ")
            .ok_or_else(|| self.describe("no client listen line"))?;
        if self.has_gateway {
            self.gateway = addr("Listening for gateways connections on ")
                .ok_or_else(|| self.describe("no gateway listen line"))?;
        }
        self.http = addr("Starting http monitor on ");
        Ok(())
    }

    /// Which implementation this is.
    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// The gateway (cluster) name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Client address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.client
    }

    /// `nats://` URL for clients.
    pub(crate) fn url(&self) -> String {
        format!("nats://{}", self.client)
    }

    /// Gateway listen address.
    pub(crate) fn gateway_addr(&self) -> SocketAddr {
        self.gateway
    }

    /// Process id (for `/proc/PID/status`).
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// A short label such as `B(strait)`.
    pub(crate) fn label(&self) -> String {
        format!("{}({})", self.name, self.kind.label())
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the process again with the same config file (same fixed ports, if any).
    pub(crate) fn restart(&mut self) {
        self.kill();
        if let Err(e) = self.spawn() {
            panic!("restarting: {e}");
        }
    }

    /// Index of the next log line: pass it to [`GwServer::wait_line`] to see only later lines.
    pub(crate) fn mark(&self) -> usize {
        self.log.mark()
    }

    /// Waits until a line at index ≥ `from` contains every one of `parts` (in any place).
    pub(crate) fn wait_all(
        &self,
        from: usize,
        parts: &[&str],
        within: Duration,
    ) -> Result<String, String> {
        self.log.wait_all(from, parts, within)
    }

    /// [`GwServer::wait_all`] for one substring.
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

    /// Waits for `Outbound gateway connection to "<remote>" … registered` after `from`.
    pub(crate) fn wait_outbound(&self, from: usize, remote: &str) -> Result<String, String> {
        let to = format!("Outbound gateway connection to \"{remote}\" (");
        self.wait_all(from, &[&to, "registered"], LINK_TIMEOUT)
    }

    /// Waits for `Inbound gateway connection from "<remote>" … registered` after `from`.
    pub(crate) fn wait_inbound(&self, from: usize, remote: &str) -> Result<String, String> {
        let f = format!("Inbound gateway connection from \"{remote}\" (");
        self.wait_all(from, &[&f, "registered"], LINK_TIMEOUT)
    }

    /// The last lines of the log, indented, for failure messages.
    pub(crate) fn log_tail(&self) -> String {
        self.log.tail(LOG_SHOWN)
    }

    /// `what`, the server's label and its log tail.
    pub(crate) fn describe(&self, what: &str) -> String {
        format!(
            "{}: {what}\n  config:\n{}\n  log:\n{}",
            self.label(),
            self.config_text(),
            self.log_tail()
        )
    }

    fn config_text(&self) -> String {
        std::fs::read_to_string(&self.config)
            .unwrap_or_default()
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect()
    }

    /// Rewrites the configuration file from `config` (same name; ports given as `-1` stay
    /// as bound) and sends SIGHUP so the server reloads it.
    pub(crate) fn reload(&self, config: &GwConfig) -> Result<(), String> {
        std::fs::write(&self.config, config.render()).map_err(|e| e.to_string())?;
        let status = Command::new("kill")
            .args(["-HUP", &self.pid().to_string()])
            .status()
            .map_err(|e| format!("kill -HUP: {e}"))?;
        if status.success() { Ok(()) } else { Err(format!("kill -HUP: {status}")) }
    }

    /// `GET /gatewayz?<query>` from the monitor, as JSON.
    pub(crate) fn gatewayz(&self, query: &str) -> Result<serde_json::Value, String> {
        self.monitor(&format!("/gatewayz?{query}"))
    }

    /// `GET <path>` (with its query) from the monitor, as JSON.
    pub(crate) fn monitor(&self, path: &str) -> Result<serde_json::Value, String> {
        let http = self.http.ok_or("monitoring is off")?;
        let body = http_get(http, path)?;
        serde_json::from_str(&body).map_err(|e| format!("{path} is not JSON ({e}): {body}"))
    }
}

impl Drop for GwServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits until every pair of `servers` has registered its outbound and inbound links, both ways.
///
/// Panics with all logs if a link is missing after [`LINK_TIMEOUT`].
pub(crate) fn wait_full_mesh(servers: &[&GwServer]) {
    for s in servers {
        for o in servers {
            if s.name() == o.name() {
                continue;
            }
            let r = s.wait_outbound(0, o.name()).and_then(|_| s.wait_inbound(0, o.name()));
            if let Err(e) = r {
                panic!("{} ↔ {}: {e}\n{}", s.label(), o.label(), describe_all(servers));
            }
        }
    }
}

/// Every server's description, for failure messages.
pub(crate) fn describe_all(servers: &[&GwServer]) -> String {
    servers.iter().map(|s| s.describe("")).collect::<Vec<_>>().join("\n")
}

/// A bounded HTTP/1.0 GET returning the body.
pub(crate) fn http_get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let mut conn =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    write!(conn, "GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut text = String::new();
    conn.read_to_string(&mut text).map_err(|e| format!("GET {path}: {e}"))?;
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no end of HTTP headers")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(format!("GET {path}: {}", head.lines().next().unwrap_or("")));
    }
    Ok(body.to_owned())
}

// ---------------------------------------------------------------------------------------------
// A blocking raw-protocol client

/// One message received by [`RawClient`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawMsg {
    pub(crate) subject: String,
    pub(crate) sid: String,
    pub(crate) reply: Option<String>,
    pub(crate) payload: Vec<u8>,
}

/// A plain-text NATS client on a blocking socket, for bulk subscriptions and exact wire checks.
pub(crate) struct RawClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl RawClient {
    /// Connects, reads INFO and sends a quiet CONNECT (verbose off, echo on).
    pub(crate) fn connect(addr: SocketAddr) -> Result<RawClient, String> {
        let conn = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| format!("connect {addr}: {e}"))?;
        conn.set_nodelay(true).map_err(|e| e.to_string())?;
        conn.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
        conn.set_write_timeout(Some(Duration::from_secs(60))).map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(conn.try_clone().map_err(|e| e.to_string())?);
        let mut info = String::new();
        reader.read_line(&mut info).map_err(|e| format!("reading INFO: {e}"))?;
        if !info.starts_with("INFO ") {
            return Err(format!("expected INFO, got {info:?}"));
        }
        let mut c = RawClient { reader, writer: conn };
        c.send(b"CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\n")?;
        Ok(c)
    }

    /// Writes raw protocol bytes.
    pub(crate) fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.writer.write_all(bytes).map_err(|e| format!("write: {e}"))
    }

    /// `PUB subject payload`.
    pub(crate) fn publish(&mut self, subject: &str, payload: &[u8]) -> Result<(), String> {
        let mut b = format!("PUB {subject} {}\r\n", payload.len()).into_bytes();
        b.extend_from_slice(payload);
        b.extend_from_slice(b"\r\n");
        self.send(&b)
    }

    /// PING, then reads until PONG; messages read meanwhile are returned.
    pub(crate) fn ping_pong(&mut self) -> Result<Vec<RawMsg>, String> {
        self.send(b"PING\r\n")?;
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match self.read_op(Duration::from_secs(30))? {
                Some(Op::Pong) => return Ok(got),
                Some(Op::Msg(m)) => got.push(m),
                Some(Op::Other) | None => {}
            }
        }
        Err("no PONG within 30 s".to_owned())
    }

    /// The next message within `within`, answering PINGs; `None` on timeout.
    pub(crate) fn next_msg(&mut self, within: Duration) -> Result<Option<RawMsg>, String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            match self.read_op(left)? {
                Some(Op::Msg(m)) => return Ok(Some(m)),
                Some(_) => {}
                None => return Ok(None),
            }
        }
    }

    /// Reads one protocol op, `None` if nothing arrives within `within`.
    fn read_op(&mut self, within: Duration) -> Result<Option<Op>, String> {
        self.reader
            .get_ref()
            .set_read_timeout(Some(within.max(Duration::from_millis(1))))
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => return Err("server closed the connection".to_owned()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                // A partial line stays in `line` only if the read timed out mid-line; the
                // server writes whole ops, so treat that as nothing yet.
                return Ok(None);
            }
            Err(e) => return Err(format!("read: {e}")),
        }
        // Slow peers could split a line across the timeout; finish it with a generous bound.
        if !line.ends_with('\n') {
            self.reader.get_ref().set_read_timeout(Some(Duration::from_secs(5))).ok();
            self.reader.read_line(&mut line).map_err(|e| format!("read: {e}"))?;
        }
        let l = line.trim_end();
        if l == "PING" {
            self.send(b"PONG\r\n")?;
            return Ok(Some(Op::Other));
        }
        if l == "PONG" {
            return Ok(Some(Op::Pong));
        }
        if l.starts_with("-ERR") {
            return Err(format!("server: {l}"));
        }
        let f: Vec<&str> = l.split_ascii_whitespace().collect();
        let (subject, sid, reply, size) = match f.as_slice() {
            ["MSG", s, i, n] => (s, i, None, n),
            ["MSG", s, i, r, n] => (s, i, Some(r), n),
            ["HMSG", s, i, _, n] => (s, i, None, n),
            ["HMSG", s, i, r, _, n] => (s, i, Some(r), n),
            _ => return Ok(Some(Op::Other)),
        };
        let size: usize = size.parse().map_err(|_| format!("bad size in {l:?}"))?;
        let mut payload = vec![0; size + 2];
        self.reader.get_ref().set_read_timeout(Some(Duration::from_secs(5))).ok();
        self.reader.read_exact(&mut payload).map_err(|e| format!("payload: {e}"))?;
        payload.truncate(size);
        Ok(Some(Op::Msg(RawMsg {
            subject: (*subject).to_owned(),
            sid: (*sid).to_owned(),
            reply: reply.map(|r| (*r).to_owned()),
            payload,
        })))
    }
}

enum Op {
    Msg(RawMsg),
    Pong,
    Other,
}

/// Publishes `subject` on `publisher` until `subscriber` (already subscribed to it) receives
/// one, i.e. until the publisher's cluster knows the subscription; returns the probes received.
///
/// Each probe waits up to 100 ms; the whole wait is bounded by `within`.
pub(crate) fn raw_probe(
    publisher: &mut RawClient,
    subscriber: &mut RawClient,
    subject: &str,
    within: Duration,
) -> Result<usize, String> {
    let deadline = Instant::now() + within;
    let mut sent = 0;
    while Instant::now() < deadline {
        publisher.publish(subject, b"probe")?;
        sent += 1;
        let probe_end = Instant::now() + Duration::from_millis(100);
        let mut hit = false;
        // Messages on other subjects (e.g. for a `>` subscriber) are not ours to judge here.
        while let Some(m) =
            subscriber.next_msg(probe_end.saturating_duration_since(Instant::now()))?
        {
            if m.subject == subject {
                hit = true;
                break;
            }
        }
        if !hit {
            continue;
        }
        // Later probes may still be on their way: an end marker behind them on the same path
        // flushes them out, so the subscriber starts clean.
        publisher.publish(subject, b"probe-end")?;
        loop {
            match subscriber.next_msg(deadline.saturating_duration_since(Instant::now()))? {
                Some(m) if m.subject == subject && m.payload == b"probe-end" => return Ok(sent),
                Some(_) => {}
                None => return Err(format!("probe end marker on {subject} never arrived")),
            }
        }
    }
    Err(format!("{sent} probes on {subject} never arrived within {within:?}"))
}
