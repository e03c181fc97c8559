//! The HTTP monitor end to end: `serve` with a fake source, fetched over raw HTTP/1.1; and a
//! differential check of its JSON shapes against the real nats-server 2.15.1 (binary path in
//! `NATS_SERVER`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use strait_net::monitor::{
    AccountGatewayz, ClusterOptsVarz, ConnInfo, ConnKindStats, Connz, ConnzOptions,
    DiskIoWaitStats, EmptyObject, GatewayOptsVarz, Gatewayz, GatewayzOptions, Healthz,
    HealthzErrorType, InterestMode, MonitorSource, RemoteGatewayOptsVarz, RemoteGatewayz, Routez,
    RoutezOptions, SortOpt, SubDetail, SublistStats, SubsOption, Subsz, SubszOptions, Timestamp,
    Varz, serve,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// Bound on every network step of these tests.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// The fake source

/// Fixed data shaped like nats-server gateway "A" linked to gateway "B"; records the options it
/// was called with.
#[derive(Default)]
struct Fake {
    healthy: bool,
    last_connz: Mutex<Option<ConnzOptions>>,
    last_subsz: Mutex<Option<SubszOptions>>,
    last_gatewayz: Mutex<Option<GatewayzOptions>>,
}

fn t(secs: i64, nanos: u32) -> Timestamp {
    Timestamp::from_unix(secs, nanos)
}

fn fake_varz() -> Varz {
    Varz {
        server_id: "NFAKE".into(),
        server_name: "A1".into(),
        version: "0.1.0".into(),
        proto: 1,
        git_commit: "abc1234".into(),
        go: "rustc".into(),
        host: "127.0.0.1".into(),
        port: 4222,
        auth_required: false,
        tls_required: false,
        tls_verify: false,
        ip: String::new(),
        connect_urls: Vec::new(),
        max_connections: 65536,
        max_subscriptions: 0,
        ping_interval: Duration::from_secs(120),
        ping_max: 2,
        http_host: "127.0.0.1".into(),
        http_port: 8222,
        http_base_path: String::new(),
        https_port: 0,
        auth_timeout: 2.0,
        max_control_line: 4096,
        max_payload: 1_048_576,
        max_pending: 67_108_864,
        // nats-server names its cluster after the gateway when gateways are on, routes or not.
        cluster: ClusterOptsVarz { name: "A".into(), ..ClusterOptsVarz::default() },
        gateway: GatewayOptsVarz {
            name: "A".into(),
            host: "127.0.0.1".into(),
            port: 7222,
            auth_timeout: 2.0,
            tls_timeout: 2.0,
            gateways: vec![RemoteGatewayOptsVarz {
                name: "B".into(),
                tls_timeout: 0.0,
                urls: vec!["127.0.0.1:7333".into()],
            }],
            ..GatewayOptsVarz::default()
        },
        leaf: EmptyObject {},
        mqtt: EmptyObject {},
        websocket: EmptyObject {},
        jetstream: EmptyObject {},
        tls_timeout: 2.0,
        write_deadline: Duration::from_secs(10),
        write_timeout: String::new(),
        start: t(1_795_581_592, 439_098_559),
        now: t(1_795_581_652, 0),
        uptime: "1m0s".into(),
        mem: 14_180_352,
        cores: 2,
        gomaxprocs: 2,
        cpu: 0.5,
        connections: 1,
        total_connections: 3,
        routes: 0,
        remotes: 0,
        leafnodes: 0,
        in_msgs: 10,
        in_bytes: 100,
        in_client_msgs: 5,
        in_client_bytes: 50,
        out_msgs: 10,
        out_bytes: 100,
        out_client_msgs: 5,
        out_client_bytes: 50,
        slow_consumers: 0,
        stale_connections: 0,
        stalled_clients: 0,
        subscriptions: 60,
        http_req_stats: BTreeMap::from([("/ignored".to_owned(), 99)]),
        config_load_time: t(1_795_581_592, 439_098_559),
        config_digest: String::new(),
        tags: Vec::new(),
        metadata: BTreeMap::new(),
        system_account: "$SYS".into(),
        slow_consumer_stats: ConnKindStats::default(),
        stale_connection_stats: ConnKindStats { gateways: 1, ..ConnKindStats::default() },
        disk_io_wait_stats: DiskIoWaitStats::default(),
        tls_cert_not_after: None,
    }
}

fn fake_client() -> ConnInfo {
    ConnInfo {
        cid: 5,
        kind: "Client".into(),
        client_type: "nats".into(),
        ip: "127.0.0.1".into(),
        port: 57018,
        start: t(1_795_581_626, 222_754_572),
        last_activity: t(1_795_581_626, 223_763_055),
        rtt: "795µs".into(),
        uptime: "0s".into(),
        idle: "0s".into(),
        in_msgs: 1,
        out_msgs: 1,
        in_bytes: 2,
        out_bytes: 2,
        subscriptions: 1,
        name: "probe".into(),
        lang: "python".into(),
        version: "0.1".into(),
        ..ConnInfo::default()
    }
}

fn fake_gateway_conn(cid: u64, port: u16) -> ConnInfo {
    ConnInfo {
        cid,
        kind: "Gateway".into(),
        ip: "127.0.0.1".into(),
        port,
        start: t(1_795_581_617, 882_107_586),
        last_activity: t(1_795_581_618, 131_082_338),
        rtt: "536µs".into(),
        uptime: "1s".into(),
        idle: "0s".into(),
        out_msgs: 1,
        out_bytes: 867,
        subscriptions: 53,
        name: "NREMOTE".into(),
        ..ConnInfo::default()
    }
}

fn fake_accounts(opts: &GatewayzOptions, outbound: bool) -> Vec<AccountGatewayz> {
    if !opts.accs {
        return Vec::new();
    }
    let sys = AccountGatewayz {
        name: "$SYS".into(),
        interest_mode: InterestMode::InterestOnly,
        interest_only_threshold: 1000,
        total_subscriptions: if outbound { 53 } else { 0 },
        ..AccountGatewayz::default()
    };
    let global = AccountGatewayz { name: "$G".into(), ..sys.clone() };
    [sys, global]
        .into_iter()
        .filter(|a| opts.acc_name.as_ref().is_none_or(|n| *n == a.name))
        .collect()
}

impl MonitorSource for Fake {
    fn varz(&self) -> Varz {
        fake_varz()
    }

    fn connz(&self, opts: &ConnzOptions) -> Connz {
        *self.last_connz.lock().unwrap() = Some(opts.clone());
        let mut client = fake_client();
        if opts.subs == SubsOption::List {
            client.subs = vec!["foo".into()];
        }
        Connz {
            server_id: "NFAKE".into(),
            now: t(1_795_581_652, 0),
            num_connections: 1,
            total: 1,
            offset: opts.offset,
            limit: opts.limit,
            connections: vec![client],
        }
    }

    fn subsz(&self, opts: &SubszOptions) -> Subsz {
        *self.last_subsz.lock().unwrap() = Some(opts.clone());
        let subs = if opts.subs {
            vec![SubDetail {
                account: "$G".into(),
                account_tag: "$G".into(),
                subject: "foo".into(),
                sid: "1".into(),
                msgs: 1,
                cid: 5,
                ..SubDetail::default()
            }]
        } else {
            Vec::new()
        };
        Subsz {
            server_id: "NFAKE".into(),
            now: t(1_795_581_652, 0),
            stats: SublistStats {
                num_subscriptions: 60,
                num_cache: 4,
                num_inserts: 60,
                num_removes: 0,
                num_matches: 5,
                cache_hit_rate: 0.2,
                max_fanout: 1,
                avg_fanout: 0.75,
            },
            total: subs.len(),
            offset: opts.offset,
            limit: opts.limit,
            subs,
        }
    }

    fn routez(&self, _opts: &RoutezOptions) -> Routez {
        Routez {
            server_id: "NFAKE".into(),
            server_name: "NFAKE".into(),
            now: t(1_795_581_652, 0),
            num_routes: 0,
            routes: Vec::new(),
        }
    }

    fn gatewayz(&self, opts: &GatewayzOptions) -> Gatewayz {
        *self.last_gatewayz.lock().unwrap() = Some(opts.clone());
        let wanted = |name: &str| opts.gw_name.as_deref().is_none_or(|n| n == name);
        Gatewayz {
            server_id: "NFAKE".into(),
            now: t(1_795_581_652, 0),
            name: "A".into(),
            host: "127.0.0.1".into(),
            port: 7222,
            outbound_gateways: wanted("B").then(|| {
                BTreeMap::from([(
                    "B".to_owned(),
                    RemoteGatewayz {
                        configured: true,
                        connection: Some(fake_gateway_conn(6, 7333)),
                        accounts: fake_accounts(opts, true),
                    },
                )])
            }),
            inbound_gateways: if wanted("B") {
                BTreeMap::from([(
                    "B".to_owned(),
                    vec![RemoteGatewayz {
                        configured: false,
                        connection: Some(fake_gateway_conn(5, 49356)),
                        accounts: fake_accounts(opts, false),
                    }],
                )])
            } else {
                BTreeMap::new()
            },
        }
    }

    fn healthz(&self) -> Healthz {
        if self.healthy {
            Healthz::ok()
        } else {
            Healthz::error(500, HealthzErrorType::Connection, "not ready")
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1

struct Reply {
    status: u16,
    /// Header names lower-cased, in order.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }
}

/// One request on a fresh connection with `Connection: close`; reads to EOF.
async fn request(addr: SocketAddr, method: &str, target: &str) -> Reply {
    let raw = timeout(IO_TIMEOUT, async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let req =
            format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(req.as_bytes()).await.expect("write request");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read response");
        raw
    })
    .await
    .unwrap_or_else(|_| panic!("{method} {target} on {addr}: no response within {IO_TIMEOUT:?}"));
    parse_reply(&raw, method == "HEAD")
}

async fn get(addr: SocketAddr, target: &str) -> Reply {
    request(addr, "GET", target).await
}

fn parse_reply(raw: &[u8], head: bool) -> Reply {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("end of headers");
    let head_text = std::str::from_utf8(&raw[..split]).expect("ASCII headers");
    let mut lines = head_text.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status");
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').expect("header line");
            (n.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v == "chunked");
    let body = if head {
        rest.to_vec()
    } else if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Reply { status, headers, body }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    // Each round consumes one chunk; a body has far fewer than this many.
    for _ in 0..100_000 {
        let eol = rest.windows(2).position(|w| w == b"\r\n").expect("chunk size line");
        let size_text = std::str::from_utf8(&rest[..eol]).expect("chunk size");
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("hex chunk size");
        rest = &rest[eol + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
    panic!("too many chunks");
}

// ---------------------------------------------------------------------------------------------
// Our server

struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn start(source: Arc<Fake>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, source, async {
            let _ = stopped.await;
        }));
        Self { addr, stop: Some(stop), task }
    }

    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        timeout(IO_TIMEOUT, &mut self.task)
            .await
            .expect("serve returns after shutdown")
            .expect("serve task")
            .expect("serve result");
    }
}

fn healthy() -> Arc<Fake> {
    Arc::new(Fake { healthy: true, ..Fake::default() })
}

fn assert_json_headers(reply: &Reply) {
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        reply.header("content-length").map(|l| l.parse::<usize>().unwrap()),
        Some(reply.body.len())
    );
    assert!(reply.header("date").is_some(), "Date header, as Go sends");
}

// ---------------------------------------------------------------------------------------------
// Endpoint tests

#[tokio::test]
async fn endpoints_serve_the_source_as_go_json() {
    let fake = healthy();
    let server = Running::start(Arc::clone(&fake)).await;
    let addr = server.addr;

    let varz = get(addr, "/varz").await;
    assert_eq!(varz.status, 200);
    assert_json_headers(&varz);
    assert!(varz.text().starts_with("{\n  \"server_id\": \"NFAKE\",\n  \"server_name\": \"A1\","));
    assert!(varz.text().contains("\n  \"ping_interval\": 120000000000,\n"));
    assert!(varz.text().contains("\n  \"auth_timeout\": 2,\n"));
    let mut want = serde_json::to_value(fake_varz()).unwrap();
    want["http_req_stats"] = serde_json::json!({"/varz": 1});
    assert_eq!(varz.json(), want);

    let connz = get(addr, "/connz?subs=1&offset=0&limit=10&sort=msgs_to").await;
    assert_eq!(connz.status, 200);
    assert_json_headers(&connz);
    let body = connz.json();
    assert_eq!(body["limit"], 10);
    assert_eq!(body["connections"][0]["rtt"], "795µs");
    assert_eq!(body["connections"][0]["subscriptions_list"], serde_json::json!(["foo"]));
    let opts = fake.last_connz.lock().unwrap().clone().unwrap();
    assert_eq!((opts.subs, opts.limit, opts.sort), (SubsOption::List, 10, SortOpt::MsgsTo));

    for path in ["/subsz?subs=1&test=foo", "/subscriptionsz?subs=1&test=foo"] {
        let subsz = get(addr, path).await;
        assert_eq!(subsz.status, 200, "{path}");
        assert_json_headers(&subsz);
        assert!(subsz.text().contains("\n  \"cache_hit_rate\": 0.2,\n  \"max_fanout\": 1,\n"));
        assert_eq!(subsz.json()["subscriptions_list"][0]["account"], "$G");
        assert_eq!(fake.last_subsz.lock().unwrap().as_ref().unwrap().test.as_deref(), Some("foo"));
    }

    let gwz = get(addr, "/gatewayz?acc_name=%24G").await;
    assert_eq!(gwz.status, 200);
    assert_json_headers(&gwz);
    let body = gwz.json();
    assert_eq!(body["outbound_gateways"]["B"]["accounts"][0]["name"], "$G");
    assert_eq!(body["inbound_gateways"]["B"][0]["configured"], false);
    assert!(fake.last_gatewayz.lock().unwrap().as_ref().unwrap().accs, "acc_name implies accs");
    let unknown = get(addr, "/gatewayz?gw_name=Z").await;
    assert!(unknown.text().contains("\n  \"outbound_gateways\": null,\n"), "{}", unknown.text());

    let health = get(addr, "/healthz").await;
    assert_eq!(health.status, 200);
    assert_json_headers(&health);
    assert_eq!(health.text(), r#"{"status":"ok"}"#);

    // Every request above was counted under its endpoint (`/subscriptionsz` as `/subsz`).
    let stats = get(addr, "/varz").await.json()["http_req_stats"].clone();
    assert_eq!(
        stats,
        serde_json::json!({"/connz": 1, "/gatewayz": 2, "/healthz": 1, "/subsz": 2, "/varz": 2})
    );

    server.shutdown().await;
}

#[tokio::test]
async fn bad_queries_get_nats_server_400_texts() {
    let server = Running::start(healthy()).await;
    let cases = [
        (
            "/gatewayz?accs=maybe",
            r#"Error decoding boolean for 'accs': strconv.ParseBool: parsing "maybe": invalid syntax"#,
        ),
        (
            "/connz?limit=99999999999999999999",
            r#"Error decoding int for 'limit': strconv.Atoi: parsing "99999999999999999999": value out of range"#,
        ),
        ("/connz?state=bogus", "Error decoding state for bogus"),
        (
            "/routez?subs=maybe",
            r#"Error decoding boolean for 'subs': strconv.ParseBool: parsing "maybe": invalid syntax"#,
        ),
        ("/connz?sort=stop", "sort by stop only valid on closed connections"),
        ("/subsz?test=foo.*", "invalid test subject, must be valid publish subject: foo.*"),
        (
            "/healthz?details=x",
            r#"Error decoding boolean for 'details': strconv.ParseBool: parsing "x": invalid syntax"#,
        ),
    ];
    for (target, text) in cases {
        let reply = get(server.addr, target).await;
        assert_eq!(reply.status, 400, "{target}");
        assert_eq!(reply.text(), text, "{target}");
        assert_eq!(reply.header("content-type"), Some("text/plain; charset=utf-8"), "{target}");
        assert_eq!(reply.header("access-control-allow-origin"), None, "{target}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn healthz_error_forms_and_status_codes() {
    let server = Running::start(Arc::new(Fake::default())).await;
    let down = get(server.addr, "/healthz").await;
    assert_eq!(down.status, 500);
    assert_json_headers(&down);
    assert_eq!(down.text(), r#"{"status":"error","error":"not ready"}"#);
    let detailed = get(server.addr, "/healthz?details=true").await;
    assert_eq!(detailed.status, 500);
    assert_eq!(
        detailed.text(),
        r#"{"status":"error","errors":[{"type":"CONNECTION","error":"not ready"}]}"#
    );
    // nats-server 2.15.1's answer to a stream without an account, before any other check.
    let bad = get(server.addr, "/healthz?stream=x").await;
    assert_eq!(bad.status, 400);
    assert_json_headers(&bad);
    assert_eq!(
        bad.text(),
        r#"{"status":"error","error":"\"account\" must not be empty when checking stream health"}"#
    );
    server.shutdown().await;
}

#[tokio::test]
async fn root_index_unknown_paths_and_head() {
    let server = Running::start(healthy()).await;
    let root = get(server.addr, "/").await;
    assert_eq!(root.status, 200);
    assert_eq!(root.header("content-type"), Some("text/html; charset=utf-8"));
    for endpoint in ["./varz", "./connz", "./subsz", "./routez", "./gatewayz", "./healthz"] {
        assert!(root.text().contains(endpoint), "index links {endpoint}");
    }
    for path in ["/nope", "/varz/", "/index.html", "/leafz"] {
        let reply = get(server.addr, path).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.text(), "404 page not found\n");
        assert_eq!(reply.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    }
    let head = request(server.addr, "HEAD", "/varz").await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("application/json"));
    assert!(head.body.is_empty());
    // Like Go's mux, the method does not matter.
    assert_eq!(request(server.addr, "POST", "/healthz").await.text(), r#"{"status":"ok"}"#);
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_idle_keep_alive_connections_and_the_listener() {
    let server = Running::start(healthy()).await;
    let addr = server.addr;
    // A keep-alive connection that has finished one request and stays open.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    while !got.ends_with(br#"{"status":"ok"}"#) {
        let n = timeout(IO_TIMEOUT, idle.read(&mut buf)).await.expect("reply in time").unwrap();
        assert!(n > 0, "connection closed early");
        got.extend_from_slice(&buf[..n]);
    }

    server.shutdown().await;
    let n = timeout(IO_TIMEOUT, idle.read(&mut buf)).await.expect("closed in time").unwrap_or(0);
    assert_eq!(n, 0, "idle connection closed by shutdown");
    assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
}

// ---------------------------------------------------------------------------------------------
// Differential shape test against nats-server 2.15.1

/// Keys nats-server prints that Strait deliberately does not, by JSON path.
const OMITTED_BY_STRAIT: &[&str] = &[
    // JetStream feature switches; Strait has no JetStream.
    "varz.feature_flags",
];

struct NatsServer {
    child: Child,
    /// Lines of its log (stderr), as they come.
    log: mpsc::Receiver<String>,
    /// Each config file written for it; removed on drop.
    conf: PathBuf,
}

impl NatsServer {
    /// Starts nats-server with `conf` and waits for its "Server is ready" line, collecting the
    /// log lines before it.
    async fn start(name: &str, conf_text: &str) -> (Self, Vec<String>) {
        let binary = std::env::var_os("NATS_SERVER").unwrap_or_else(|| {
            panic!(
                "NATS_SERVER is not set: it must name the nats-server 2.15.1 binary this test \
                 compares against (CI sets it; locally e.g. \
                 NATS_SERVER=target/nats-server-venv/bin/nats-server)"
            )
        });
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let conf = std::env::temp_dir().join(format!(
            "strait-monitor-shape-{}-{}-{name}.conf",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&conf, conf_text).expect("write nats-server config");
        let mut child = Command::new(&binary)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run NATS_SERVER={}: {e}", binary.display()));
        let stderr = child.stderr.take().unwrap();
        let (tx, mut log) = mpsc::channel(1024);
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                // Once the test stops listening, keep draining so the server never blocks.
                let _ = tx.try_send(line);
            }
        });
        let mut seen = Vec::new();
        let ready = timeout(IO_TIMEOUT, async {
            while let Some(line) = log.recv().await {
                let done = line.contains("Server is ready");
                seen.push(line);
                if done {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(
            matches!(ready, Ok(true)),
            "nats-server {name} did not become ready; its log:\n{}",
            seen.join("\n")
        );
        (Self { child, log, conf }, seen)
    }

    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = timeout(IO_TIMEOUT, self.child.wait()).await;
        self.log.close();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.conf);
    }
}

/// The `host:port` after `marker` in one of `lines`.
fn addr_after(lines: &[String], marker: &str) -> SocketAddr {
    lines
        .iter()
        .find_map(|l| l.split_once(marker).map(|(_, rest)| rest.trim().to_owned()))
        .unwrap_or_else(|| panic!("no {marker:?} in nats-server log:\n{}", lines.join("\n")))
        .parse()
        .expect("host:port")
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// One object holding every key any of `values` (objects) has: what an array element or a map
/// value can look like, given Go's `omitempty`.
fn union_of(values: impl Iterator<Item = Value>) -> Option<Value> {
    let mut merged = serde_json::Map::new();
    let mut any = false;
    for v in values {
        any = true;
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    merged.entry(k).or_insert(v);
                }
            }
            other => return Some(other),
        }
    }
    any.then_some(Value::Object(merged))
}

/// Paths whose object keys are names (gateways, endpoints), not fields.
fn keyed_by_name(path: &str) -> bool {
    path.ends_with(".outbound_gateways")
        || path.ends_with(".inbound_gateways")
        || path.ends_with(".http_req_stats")
}

/// Compares `ours` against `theirs`: every key ours emits must exist in theirs with the same JSON
/// type (recursively); keys theirs has and ours lacks are reported as `missing`.
fn compare_shape(
    path: &str,
    ours: &Value,
    theirs: &Value,
    errors: &mut Vec<String>,
    missing: &mut BTreeSet<String>,
) {
    if json_type(ours) != json_type(theirs) {
        errors.push(format!(
            "{path}: ours is {}, nats-server's is {}",
            json_type(ours),
            json_type(theirs)
        ));
        return;
    }
    match (ours, theirs) {
        (Value::Object(o), Value::Object(t)) if keyed_by_name(path) => {
            if let Some(their_value) = union_of(t.values().cloned()) {
                for (k, v) in o {
                    compare_shape(&format!("{path}[{k}]"), v, &their_value, errors, missing);
                }
            }
        }
        (Value::Object(o), Value::Object(t)) => {
            for (k, v) in o {
                match t.get(k) {
                    Some(tv) => compare_shape(&format!("{path}.{k}"), v, tv, errors, missing),
                    None => errors.push(format!("{path}.{k}: not in nats-server's output")),
                }
            }
            for k in t.keys().filter(|k| !o.contains_key(*k)) {
                missing.insert(format!("{path}.{k}"));
            }
        }
        (Value::Array(o), Value::Array(t)) => {
            if let Some(their_elem) = union_of(t.iter().cloned()) {
                let ours_elem = union_of(o.iter().cloned());
                if let Some(ours_elem) = ours_elem {
                    compare_shape(&format!("{path}[]"), &ours_elem, &their_elem, errors, missing);
                }
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn json_shapes_match_nats_server() {
    // B listens for gateways; A dials it, so A has an outbound and an inbound link to B.
    let (b, b_log) = NatsServer::start(
        "B",
        "listen: 127.0.0.1:-1\nhttp: 127.0.0.1:-1\ngateway { name: B, listen: 127.0.0.1:-1 }\n",
    )
    .await;
    let b_gateway = addr_after(&b_log, "Listening for gateways connections on ");
    let (a, a_log) = NatsServer::start(
        "A",
        &format!(
            "listen: 127.0.0.1:-1\nhttp: 127.0.0.1:-1\n\
             gateway {{ name: A, listen: 127.0.0.1:-1, \
             gateways: [ {{ name: B, url: \"nats://{b_gateway}\" }} ] }}\n"
        ),
    )
    .await;
    let a_http = addr_after(&a_log, "Starting http monitor on ");

    // Wait (bounded) until both directions are registered and every account shows up.
    let mut theirs_gwz = Value::Null;
    let linked = timeout(Duration::from_secs(20), async {
        loop {
            theirs_gwz = get(a_http, "/gatewayz?accs=1").await.json();
            let out_accs =
                theirs_gwz["outbound_gateways"]["B"]["accounts"].as_array().map_or(0, Vec::len);
            let in_accs =
                theirs_gwz["inbound_gateways"]["B"][0]["accounts"].as_array().map_or(0, Vec::len);
            if out_accs >= 2 && in_accs >= 2 {
                return;
            }
            // Polling interval of a bounded wait, not synchronisation by sleeping.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        linked.is_ok(),
        "gateways A and B did not link within 20 s; last /gatewayz:\n{theirs_gwz:#}"
    );

    let server = Running::start(healthy()).await;
    let mut errors = Vec::new();
    let mut missing = BTreeSet::new();
    for (name, target) in [
        ("varz", "/varz"),
        ("gatewayz", "/gatewayz?accs=1"),
        ("connz", "/connz"),
        ("subsz", "/subsz"),
        ("healthz", "/healthz"),
    ] {
        let theirs = get(a_http, target).await;
        let ours = get(server.addr, target).await;
        assert_eq!(theirs.status, 200, "nats-server {target}: {}", theirs.text());
        assert_eq!(ours.status, theirs.status, "{target}");
        assert_eq!(ours.header("content-type"), theirs.header("content-type"), "{target}");
        assert_eq!(
            ours.header("access-control-allow-origin"),
            theirs.header("access-control-allow-origin"),
            "{target}"
        );
        compare_shape(name, &ours.json(), &theirs.json(), &mut errors, &mut missing);
    }
    // The same 400 for the same bad value.
    let (theirs, ours) =
        (get(a_http, "/gatewayz?accs=maybe").await, get(server.addr, "/gatewayz?accs=maybe").await);
    assert_eq!((ours.status, ours.text()), (theirs.status, theirs.text()));

    server.shutdown().await;
    a.stop().await;
    b.stop().await;

    assert!(errors.is_empty(), "shape differences from nats-server:\n{}", errors.join("\n"));
    let expected: BTreeSet<String> = OMITTED_BY_STRAIT.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(
        missing, expected,
        "keys nats-server prints that Strait does not (update OMITTED_BY_STRAIT if deliberate)"
    );
}

#[test]
fn compare_shape_reports_differences() {
    let ours = serde_json::json!({
        "a": 1, "b": "x", "extra": true,
        "list": [{"k": 1}],
        "outbound_gateways": {"B": {"n": "s"}}
    });
    let theirs = serde_json::json!({
        "a": "1", "b": "y", "only_theirs": 0,
        "list": [{"k": 2}, {"j": 3}],
        "outbound_gateways": {"C": {"n": 5}}
    });
    let (mut errors, mut missing) = (Vec::new(), BTreeSet::new());
    compare_shape("x", &ours, &theirs, &mut errors, &mut missing);
    assert_eq!(
        errors,
        [
            "x.a: ours is number, nats-server's is string",
            "x.extra: not in nats-server's output",
            "x.outbound_gateways[B].n: ours is string, nats-server's is number",
        ]
    );
    assert_eq!(missing.into_iter().collect::<Vec<_>>(), ["x.list[].j", "x.only_theirs"]);
}
