//! Routes seen by operators, compared with nats-server 2.15.1: `/routez` (plain, `subs=1`,
//! `subs=detail`) and the route parts of `/varz` from a 2-server Strait cluster against a
//! 2-server nats-server cluster (JSON key sets and value kinds), Strait and nats-server mixed in
//! one cluster (what each shows of the other), and the route log lines of
//! `route-protocol.md` §8.3 (level and text, addresses and ids normalised).
//!
//! Both clusters run with `pool_size: -1` (one connection per peer carrying every account), so
//! both show the same routes.
//! Every wait polls with a deadline.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::Kind;
use serde_json::Value;

/// Bound for a server to start, a route to form, a line to appear.
const WAIT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------------
// One server process with its whole log

struct Proc {
    child: Child,
    lines: Arc<(Mutex<Vec<String>>, Condvar)>,
    conf: PathBuf,
    label: String,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

impl Proc {
    /// Starts `kind` from `conf_text` and waits for `Server is ready`.
    fn start(kind: Kind, name: &str, conf_text: &str) -> Proc {
        let conf = std::env::temp_dir().join(format!(
            "strait-monitor-routes-{}-{}-{name}.conf",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&conf, conf_text).expect("write config");
        let mut child = Command::new(kind.program())
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn server");
        let stderr = child.stderr.take().expect("piped");
        let lines: Arc<(Mutex<Vec<String>>, Condvar)> = Arc::default();
        let sink = Arc::clone(&lines);
        // Drains stderr for the life of the process so the pipe never fills.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.0.lock().unwrap().push(line);
                sink.1.notify_all();
            }
        });
        let p = Proc { child, lines, conf, label: format!("{} {name}", kind.label()) };
        if let Err(e) = p.wait_line(&["Server is ready"]) {
            panic!("{e}");
        }
        p
    }

    /// The first line holding every part of `parts`, waiting at most [`WAIT`].
    fn wait_line(&self, parts: &[&str]) -> Result<String, String> {
        let deadline = Instant::now() + WAIT;
        let (lock, grew) = &*self.lines;
        let mut lines = lock.lock().unwrap();
        loop {
            if let Some(l) = lines.iter().find(|l| parts.iter().all(|p| l.contains(p))) {
                return Ok(l.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "{}: no line with {parts:?} within {WAIT:?}; log:\n{}",
                    self.label,
                    lines.join("\n")
                ));
            }
            lines = grew.wait_timeout(lines, deadline - now).unwrap().0;
        }
    }

    /// The `host:port` printed after `marker`.
    fn addr_after(&self, marker: &str) -> SocketAddr {
        let line = self.wait_line(&[marker]).unwrap_or_else(|e| panic!("{e}"));
        let rest = line.split(marker).nth(1).unwrap().trim();
        let port: u16 = rest.rsplit(':').next().unwrap().parse().expect("port");
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn http(&self) -> SocketAddr {
        self.addr_after("Starting http monitor on ")
    }

    fn client(&self) -> SocketAddr {
        self.addr_after("Listening for client connections on ")
    }

    fn get(&self, path: &str) -> Value {
        http_get(self.http(), path)
    }

    /// Polls `path` until `done` holds of its JSON, at most [`WAIT`].
    fn poll(&self, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.get(path);
            if done(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "{}: {what} within {WAIT:?}; last {path}:\n{v:#}",
                self.label
            );
            // Polling interval of a bounded wait.
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> Vec<String> {
        self.lines.0.lock().unwrap().clone()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.conf);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A blocking `GET` with `Connection: close`; the body parsed as JSON.
fn http_get(addr: SocketAddr, path: &str) -> Value {
    let mut s = TcpStream::connect(addr).expect("connect monitor");
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read monitor reply");
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP reply");
    assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_owned()
    };
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

/// A client holding `SUB foo` and `SUB bar q` on `addr`, confirmed by a PONG.
fn subscriber(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect client");
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(b"CONNECT {\"verbose\":false}\r\nSUB foo 1\r\nSUB bar q 2\r\nPING\r\n").unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("PONG\r\n") {
        let n = s.read(&mut buf).expect("read PONG");
        assert!(n > 0, "client closed before PONG");
        seen.extend_from_slice(&buf[..n]);
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Clusters

fn conf(_kind: Kind, name: &str, route_port: u16, routes: &[u16], debug: bool) -> String {
    let routes: Vec<String> = routes.iter().map(|p| format!("\"nats://127.0.0.1:{p}\"")).collect();
    let pool = "pool_size: -1\n";
    format!(
        "server_name: {name}\nlisten: 127.0.0.1:-1\nhttp: 127.0.0.1:-1\ndebug: {debug}\n\
         cluster {{\n name: C\n listen: 127.0.0.1:{route_port}\n routes: [{}]\n{pool}}}\n",
        routes.join(", ")
    )
}

/// Servers A and B of `kinds`: A has no routes, B a route to A. Waits until both show one
/// route holding the subscriptions of a client on the other server.
fn cluster(kinds: [Kind; 2]) -> (Proc, Proc, [TcpStream; 2], [u16; 2]) {
    let ports = [free_port(), free_port()];
    let a = Proc::start(kinds[0], "A", &conf(kinds[0], "A", ports[0], &[], false));
    let b = Proc::start(kinds[1], "B", &conf(kinds[1], "B", ports[1], &[ports[0]], false));
    for p in [&a, &b] {
        p.poll("/routez", "one route", |v| v["num_routes"] == 1);
    }
    let clients = [subscriber(a.client()), subscriber(b.client())];
    for p in [&a, &b] {
        p.poll("/routez?subs=1", "the other side's client subscriptions", |v| {
            let list = &v["routes"][0]["subscriptions_list"];
            list.as_array()
                .is_some_and(|l| l.iter().any(|s| s == "foo") && l.iter().any(|s| s == "bar"))
        });
    }
    (a, b, clients, ports)
}

// ---------------------------------------------------------------------------------------------
// Shape comparison

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every key any element has (Go's `omitempty` leaves some out of some elements).
fn union(values: &[Value]) -> Option<Value> {
    let mut merged = serde_json::Map::new();
    for v in values {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    merged.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            other => return Some(other.clone()),
        }
    }
    (!values.is_empty()).then_some(Value::Object(merged))
}

/// Differences of key sets (both ways) and value kinds between `ours` and `theirs`.
fn compare(path: &str, ours: &Value, theirs: &Value, errors: &mut Vec<String>) {
    if kind_of(ours) != kind_of(theirs) {
        errors.push(format!(
            "{path}: ours is {}, nats-server's {}",
            kind_of(ours),
            kind_of(theirs)
        ));
        return;
    }
    match (ours, theirs) {
        (Value::Object(o), Value::Object(t)) => {
            let ok: BTreeSet<&String> = o.keys().collect();
            let tk: BTreeSet<&String> = t.keys().collect();
            for k in ok.difference(&tk) {
                errors.push(format!("{path}.{k}: only in ours"));
            }
            for k in tk.difference(&ok) {
                errors.push(format!("{path}.{k}: only in nats-server's"));
            }
            for k in ok.intersection(&tk) {
                compare(&format!("{path}.{k}"), &o[*k], &t[*k], errors);
            }
        }
        (Value::Array(o), Value::Array(t)) => match (union(o), union(t)) {
            (Some(oe), Some(te)) => compare(&format!("{path}[]"), &oe, &te, errors),
            (None, None) => {}
            _ => errors.push(format!("{path}: one side empty ({} vs {})", o.len(), t.len())),
        },
        _ => {}
    }
}

/// The route parts of `/varz`.
fn varz_routes_part(v: &Value) -> Value {
    serde_json::json!({
        "cluster": v["cluster"],
        "routes": v["routes"],
        "remotes": v["remotes"],
        "connect_urls": v["connect_urls"],
        "slow_consumer_stats": v["slow_consumer_stats"],
        "stale_connection_stats": v["stale_connection_stats"],
    })
}

#[test]
fn routez_and_varz_shapes_match_nats_server() {
    let (na, nb, _nc, nports) = cluster([Kind::NatsServer, Kind::NatsServer]);
    let (sa, sb, _sc, sports) = cluster([Kind::Strait, Kind::Strait]);
    let mut errors = Vec::new();
    for path in ["/routez", "/routez?subs=1", "/routez?subs=detail"] {
        for (ours, theirs, side) in [(&sa, &na, "A"), (&sb, &nb, "B")] {
            compare(&format!("{side}{path}"), &ours.get(path), &theirs.get(path), &mut errors);
        }
    }
    let (sv, nv) = (sb.get("/varz"), nb.get("/varz"));
    compare("B/varz", &varz_routes_part(&sv), &varz_routes_part(&nv), &mut errors);
    assert!(errors.is_empty(), "shape differences from nats-server:\n{}", errors.join("\n"));

    // Values that do not depend on the implementation.
    for (v, ports) in [(&sv, sports), (&nv, nports)] {
        let c = &v["cluster"];
        assert_eq!(c["name"], "C", "{c:#}");
        assert_eq!(c["addr"], "127.0.0.1", "{c:#}");
        assert_eq!(c["cluster_port"], ports[1], "{c:#}");
        assert_eq!(c["urls"], serde_json::json!([format!("127.0.0.1:{}", ports[0])]), "{c:#}");
        assert_eq!(
            (&c["auth_timeout"], &c["tls_timeout"], &c["pool_size"]),
            (&2.into(), &2.into(), &(-1).into())
        );
        assert_eq!((&v["routes"], &v["remotes"]), (&1.into(), &1.into()), "{v:#}");
        assert_eq!(v["connect_urls"].as_array().map(Vec::len), Some(2), "{v:#}");
    }
    // nats-server keys a route subscription `R <account> <subject> [<queue>]` for peers that
    // announce `lnocu` (nats-server), `<account> <subject> [<queue>]` for the others (Strait).
    for (a, b, label, sid) in
        [(&sa, &sb, "strait", "$G bar q"), (&na, &nb, "nats-server", "R $G bar q")]
    {
        let (ra, rb) = (a.get("/routez?subs=detail"), b.get("/routez?subs=detail"));
        let (ra, rb) = (&ra["routes"][0], &rb["routes"][0]);
        assert_eq!(
            (&ra["did_solicit"], &ra["is_configured"]),
            (&false.into(), &false.into()),
            "{label} A: {ra:#}"
        );
        assert_eq!(
            (&rb["did_solicit"], &rb["is_configured"]),
            (&true.into(), &true.into()),
            "{label} B: {rb:#}"
        );
        assert_eq!((&ra["remote_name"], &rb["remote_name"]), (&"B".into(), &"A".into()), "{label}");
        let detail = rb["subscriptions_list_detail"].as_array().unwrap();
        let queue = detail.iter().find(|d| d["subject"] == "bar").expect("bar in detail");
        assert_eq!(
            (&queue["qgroup"], &queue["sid"]),
            (&"q".into(), &sid.into()),
            "{label}: {queue:#}"
        );
        assert_eq!(queue["cid"], rb["rid"], "{label}");
    }
    // Both Strait servers say `"compression":"off"`, so the route is `off` (as between two
    // nats-server servers left at their default).
    assert_eq!(sa.get("/routez")["routes"][0]["compression"], "off");
    // The healthz answer does not change with routes.
    assert_eq!(http_get(sb.http(), "/healthz"), serde_json::json!({"status": "ok"}));
}

#[test]
fn mixed_cluster_each_side_shows_the_other() {
    let (s, n, _c, _ports) = cluster([Kind::Strait, Kind::NatsServer]);
    let (rs, rn) = (s.get("/routez"), n.get("/routez"));
    let (rs, rn) = (&rs["routes"][0], &rn["routes"][0]);
    // nats-server offers compression (`accept`) and Strait declines it with `off`: both
    // sides then agree the route is `off`.
    assert_eq!(rs["compression"], "off", "{rs:#}");
    assert_eq!(rn["compression"], "off", "{rn:#}");
    assert_eq!((&rs["remote_name"], &rn["remote_name"]), (&"B".into(), &"A".into()));
    assert!(rs.get("account").is_none() && rn.get("account").is_none());
    let sv = s.get("/varz");
    assert_eq!((&sv["routes"], &sv["remotes"]), (&1.into(), &1.into()));
    // Neither side announces `lnocu` to the other: both key subscriptions the old way.
    for (p, sid) in [(&s, "$G bar q"), (&n, "$G bar q")] {
        let r = p.get("/routez?subs=detail");
        let detail = r["routes"][0]["subscriptions_list_detail"].as_array().cloned().unwrap();
        assert!(detail.iter().any(|d| d["sid"] == sid), "{sid:?} not in {r:#}");
    }
}

// ---------------------------------------------------------------------------------------------
// Log lines

/// `(level, text)` after the timestamp, with addresses, ids and cids made comparable.
fn normalise(line: &str, ids: &[String]) -> String {
    // `[pid] date time [LVL] text`
    let rest = line.splitn(4, ' ').nth(3).unwrap_or(line).to_owned();
    let mut out = String::new();
    let mut chars = rest.as_str();
    // 127.0.0.1:<port> → 127.0.0.1:P, rid:<n> → rid:N.
    while !chars.is_empty() {
        if let Some(tail) = chars.strip_prefix("127.0.0.1:") {
            out.push_str("127.0.0.1:P");
            chars = tail.trim_start_matches(|c: char| c.is_ascii_digit());
        } else if let Some(tail) = chars.strip_prefix("rid:") {
            out.push_str("rid:N");
            chars = tail.trim_start_matches(|c: char| c.is_ascii_digit());
        } else {
            let c = chars.chars().next().unwrap();
            out.push(c);
            chars = &chars[c.len_utf8()..];
        }
    }
    for id in ids {
        out = out.replace(id.as_str(), "ID");
    }
    out
}

/// The route lines of §8.3 Strait emits, each the first matching line of the scenario: A with a
/// configured route to a dead port, B dialling A, a client on A, then B killed.
const ROUTE_LINES: &[(&str, &[&str])] = &[
    ("A", &["Cluster name is"]),
    ("A", &["Listening for route connections on"]),
    ("A", &["Trying to connect to route on"]),
    ("A", &["Error trying to connect to route (attempt 1)"]),
    ("A", &["Route connection created"]),
    ("A", &["Registering remote route"]),
    ("A", &["Sent local subscriptions to route"]),
    ("A", &["Router connection closed"]),
    ("B", &["Route connection created"]),
    ("B", &["Route connect msg sent"]),
    ("B", &["Registering remote route"]),
];

fn route_log_scenario(kind: Kind) -> Vec<String> {
    let (pa, pb, dead) = (free_port(), free_port(), free_port());
    let a = Proc::start(kind, "A", &conf(kind, "A", pa, &[dead], true));
    a.wait_line(&["Error trying to connect to route (attempt 1)"]).unwrap();
    let mut b = Proc::start(kind, "B", &conf(kind, "B", pb, &[pa], true));
    for p in [&a, &b] {
        p.poll("/routez", "one route", |v| v["num_routes"] == 1);
    }
    let ids: Vec<String> =
        [&a, &b].iter().map(|p| p.get("/varz")["server_id"].as_str().unwrap().to_owned()).collect();
    b.wait_line(&["Registering remote route"]).unwrap();
    a.wait_line(&["Sent local subscriptions to route"]).unwrap();
    b.kill();
    a.wait_line(&["Router connection closed"]).unwrap();
    pick(&[("A", a.log()), ("B", b.log())], ROUTE_LINES, &ids)
}

/// The first line of each `(server, parts)` in `wanted`, normalised, or a `missing` note.
fn pick(logs: &[(&str, Vec<String>)], wanted: &[(&str, &[&str])], ids: &[String]) -> Vec<String> {
    wanted
        .iter()
        .map(|(who, parts)| {
            let log = &logs.iter().find(|(w, _)| w == who).expect("server").1;
            match log.iter().find(|l| parts.iter().all(|p| l.contains(p))) {
                Some(l) => format!("{who}: {}", normalise(l, ids)),
                None => format!("{who}: missing {parts:?}"),
            }
        })
        .collect()
}

/// Refusals: X (named A like the acceptor) and Y (cluster D) dial A of cluster C. Only the
/// acceptor checks names, so X registers A and is then closed by it.
const REFUSAL_LINES: &[(&str, &[&str])] = &[
    ("A", &["Rejecting connection, cluster name \"D\" does not match \"C\""]),
    ("A", &["cluster name from remote server conflicts"]),
    ("A", &["Router connection closed: Cluster Name Conflict"]),
    ("A", &["Remote server has a duplicate name: \"A\""]),
    ("A", &["Router connection closed: Duplicate Server Name"]),
    ("X", &["Registering remote route"]),
    ("X", &["Remote server has a duplicate name"]),
    ("Y", &["Router connection closed"]),
];

fn refusal_log_scenario(kind: Kind) -> Vec<String> {
    let (pa, px, py) = (free_port(), free_port(), free_port());
    let a = Proc::start(kind, "A", &conf(kind, "A", pa, &[], true));
    let x = Proc::start(kind, "X", &conf(kind, "A", px, &[pa], true));
    let y = Proc::start(kind, "Y", &conf(kind, "Y", py, &[pa], true).replace("name: C", "name: D"));
    for line in ["Remote server has a duplicate name", "Router connection closed: Cluster Name"] {
        a.wait_line(&[line]).unwrap();
    }
    x.wait_line(&["Registering remote route"]).unwrap();
    y.wait_line(&["Router connection closed"]).unwrap();
    let ids: Vec<String> = [&a, &x, &y]
        .iter()
        .map(|p| p.get("/varz")["server_id"].as_str().unwrap().to_owned())
        .collect();
    pick(&[("A", a.log()), ("X", x.log()), ("Y", y.log())], REFUSAL_LINES, &ids)
}

#[test]
fn route_refusal_log_lines_match_nats_server() {
    let theirs = refusal_log_scenario(Kind::NatsServer);
    let ours = refusal_log_scenario(Kind::Strait);
    let diff: Vec<String> = theirs
        .iter()
        .zip(&ours)
        .filter(|(t, o)| t != o)
        .map(|(t, o)| format!("nats-server: {t}\nstrait:      {o}"))
        .collect();
    assert!(diff.is_empty(), "route log lines differ:\n{}", diff.join("\n"));
}

#[test]
fn route_log_lines_match_nats_server() {
    let theirs = route_log_scenario(Kind::NatsServer);
    let ours = route_log_scenario(Kind::Strait);
    assert!(!theirs.iter().any(|l| l.contains("missing")), "nats-server:\n{}", theirs.join("\n"));
    let diff: Vec<String> = theirs
        .iter()
        .zip(&ours)
        .filter(|(t, o)| t != o)
        .map(|(t, o)| format!("nats-server: {t}\nstrait:      {o}"))
        .collect();
    assert!(diff.is_empty(), "route log lines differ:\n{}", diff.join("\n"));
}

#[test]
fn normalise_hides_addresses_and_ids() {
    let line = "[42] 2026/12/07 05:00:00.000001 [INF] 127.0.0.1:5555 - rid:7 - Router connection \
                closed: Client Closed - Remote: NABC";
    assert_eq!(
        normalise(line, &["NABC".to_owned()]),
        "[INF] 127.0.0.1:P - rid:N - Router connection closed: Client Closed - Remote: ID"
    );
}
