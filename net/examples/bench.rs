//! Side-by-side benchmark of strait and nats-server (not a test).
//!
//! ```text
//! scripts/bench [--runs N] [--duration SECS] [--only-connects] [--only-cluster] ...
//! cargo build --release -p strait-net --bin strait --example bench && \
//!     NATS_SERVER=$(scripts/install-nats-server) target/release/examples/bench
//! ```
//!
//! Both servers run at the same time on random loopback ports with the same flags; every case is
//! run against both within one run, alternating which server goes first from run to run, and the
//! table reports medians over `--runs`. Throughput is what the subscriber actually received in
//! the measured window (after a warm-up), with the publisher held back when more than a window
//! of bytes is in flight, so a server that falls behind shows a lower rate instead of buffering
//! without bound or dropping the subscriber as a slow consumer. Every wait is bounded: a case
//! that stalls is reported as failed.

#[path = "bench_parts/cluster.rs"]
mod cluster;
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "bench_parts/connects.rs"]
mod connects;
#[path = "bench_parts/load.rs"]
mod load;
#[path = "bench_parts/permissions.rs"]
mod permission_cases;
#[path = "bench_parts/supercluster.rs"]
mod supercluster;
#[path = "bench_parts/tls.rs"]
mod tls_cases;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use futures_util::StreamExt;
use tokio::time::timeout;

use common::gateway::{GwConfig, GwServer, wait_full_mesh};
use common::{Kind, Server};

/// Bytes of wire traffic the publisher may have in flight beyond what the subscriber received.
const IN_FLIGHT_BYTES: u64 = 8 << 20;
/// Bound for setup steps (connect, subscribe round trip) and for stopping a case.
const STEP: Duration = Duration::from_secs(10);

#[derive(Parser, Debug)]
#[command(about = "Compare strait and nats-server: throughput, latency, memory")]
struct Opts {
    /// Runs of every case; the table shows medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Measured seconds per throughput case (after the warm-up).
    #[arg(long, default_value_t = 2.0)]
    duration: f64,
    /// Warm-up seconds per throughput case.
    #[arg(long, default_value_t = 0.5)]
    warmup: f64,
    /// Payload sizes in bytes for the throughput cases.
    #[arg(long, value_delimiter = ',', default_value = "16,128,1024")]
    sizes: Vec<usize>,
    /// Sequential requests measured per latency case (after a tenth as many for warm-up).
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Subscriptions created for the memory-per-subscription case.
    #[arg(long, default_value_t = 100_000)]
    subs: usize,
    /// Subscriptions created on cluster B for the gateway and supercluster interest-propagation
    /// cases.
    #[arg(long, default_value_t = 100_000)]
    gateway_subs: usize,
    /// Leave out the cluster cases (three servers joined by routes).
    #[arg(long)]
    no_cluster: bool,
    /// Only the cluster cases.
    #[arg(long)]
    only_cluster: bool,
    /// Leave out the gateway cases (two-cluster superclusters).
    #[arg(long)]
    no_gateway: bool,
    /// Only the gateway cases.
    #[arg(long)]
    only_gateway: bool,
    /// Leave out the supercluster cases (two 3-server clusters joined by gateways).
    #[arg(long)]
    no_supercluster: bool,
    /// Only the supercluster cases.
    #[arg(long)]
    only_supercluster: bool,
    /// Leave out the TLS gateway cases.
    #[arg(long)]
    no_tls: bool,
    /// Leave out the publish-permissions cases.
    #[arg(long)]
    no_perms: bool,
    /// Only the publish-permissions cases.
    #[arg(long)]
    only_perms: bool,
    /// Only the TLS gateway cases.
    #[arg(long)]
    only_tls: bool,
    /// Clients connecting at once in the connect-storm case.
    #[arg(long, default_value_t = 5000)]
    connects: usize,
    /// Leave out the connect-storm case.
    #[arg(long)]
    no_connects: bool,
    /// Only the connect-storm case.
    #[arg(long)]
    only_connects: bool,
    /// The strait binary (default: `strait` next to this example's directory).
    #[arg(long)]
    strait: Option<PathBuf>,
    /// The nats-server binary (default: $NATS_SERVER).
    #[arg(long)]
    nats_server: Option<PathBuf>,
    /// Extra flags for both servers, e.g. `--server-flag=-D`.
    #[arg(long = "server-flag", allow_hyphen_values = true)]
    server_flags: Vec<String>,
}

/// One measured value per server and run; `None` is a failed run.
struct Metric {
    name: String,
    unit: Unit,
    /// Indexed like [`ORDER`]: strait, nats-server.
    samples: [Vec<Option<f64>>; 2],
    notes: Vec<String>,
}

#[derive(Clone, Copy)]
enum Unit {
    MsgsPerSec,
    PerSec,
    Micros,
    Millis,
    KiB,
    Bytes,
}

const ORDER: [Kind; 2] = [Kind::Strait, Kind::NatsServer];

fn main() {
    let opts = Opts::parse();
    let programs = [strait_path(&opts), nats_path(&opts)];
    for p in &programs {
        assert!(p.exists(), "{} does not exist", p.display());
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let flags: Vec<&str> = opts.server_flags.iter().map(String::as_str).collect();
    let started = Instant::now();
    if opts.only_tls {
        print_table(&tls_cases::tls_cases(&runtime, &programs, &opts), &opts);
        return;
    }
    if opts.only_connects {
        print_table(&connects::connect_cases(&runtime, &programs, &flags, &opts), &opts);
        return;
    }
    if opts.only_cluster {
        print_table(&cluster::cluster_cases(&runtime, &programs, &flags, &opts, started), &opts);
        return;
    }
    if opts.only_gateway {
        print_table(&gateway_cases(&runtime, &programs, &opts, started), &opts);
        return;
    }
    if opts.only_supercluster {
        let cases = supercluster::supercluster_cases(&runtime, &programs, &flags, &opts, started);
        print_table(&cases, &opts);
        return;
    }
    if opts.only_perms {
        print_table(&permission_cases::permission_cases(&programs, &opts, &flags), &opts);
        return;
    }

    let servers: Vec<Server> =
        ORDER.iter().zip(&programs).map(|(&k, p)| Server::spawn(k, p, &flags)).collect();
    let mut metrics = Vec::new();
    let mut idle = metric("RSS idle", Unit::KiB);
    for (i, s) in servers.iter().enumerate() {
        idle.samples[i].push(rss_kib(s.pid()));
    }

    let mut cases: Vec<Metric> = Vec::new();
    for &size in &opts.sizes {
        cases.push(metric(&format!("pub→sub async-nats {size} B"), Unit::MsgsPerSec));
    }
    for &size in &opts.sizes {
        cases.push(metric(&format!("pub→sub raw socket {size} B"), Unit::MsgsPerSec));
    }
    let mut p50 = metric("req/reply latency p50", Unit::Micros);
    let mut p99 = metric("req/reply latency p99", Unit::Micros);

    for run in 0..opts.runs {
        // Alternate which server goes first so neither gets a systematically warmer machine.
        let order: Vec<usize> = if run % 2 == 0 { vec![0, 1] } else { vec![1, 0] };
        eprintln!(
            "run {}/{} ({:.0} s so far)",
            run + 1,
            opts.runs,
            started.elapsed().as_secs_f64()
        );
        for (c, &size) in opts.sizes.iter().enumerate() {
            for &i in &order {
                let url = servers[i].url();
                let subs = std::slice::from_ref(&url);
                let r = runtime.block_on(load::async_nats_fanout(&url, subs, size, &opts));
                record(&mut cases[c], i, r);
            }
        }
        for (c, &size) in opts.sizes.iter().enumerate() {
            for &i in &order {
                let addr = servers[i].addr();
                let r = load::raw_fanout(addr, &[addr], size, &opts);
                record(&mut cases[opts.sizes.len() + c], i, r);
            }
        }
        for &i in &order {
            record_latency(&mut p50, &mut p99, i, runtime.block_on(latency(&servers[i], &opts)));
        }
    }
    let mut after = metric("RSS after load", Unit::KiB);
    for (i, s) in servers.iter().enumerate() {
        after.samples[i].push(rss_kib(s.pid()));
    }
    drop(servers);

    // Memory per subscription on fresh servers, so that memory left over from the load does
    // not hide (or inflate) the growth.
    let mut per_sub =
        metric(&format!("memory per subscription ({}k subs)", opts.subs / 1000), Unit::Bytes);
    for (i, (&kind, program)) in ORDER.iter().zip(&programs).enumerate() {
        let server = Server::spawn(kind, program, &flags);
        match subscription_memory(&server, opts.subs) {
            Ok(b) => per_sub.samples[i].push(Some(b)),
            Err(e) => {
                per_sub.samples[i].push(None);
                per_sub.notes.push(format!("{}: {e}", kind.label()));
            }
        }
    }

    metrics.extend(cases);
    metrics.push(p50);
    metrics.push(p99);
    metrics.push(idle);
    metrics.push(after);
    metrics.push(per_sub);
    if !opts.no_perms {
        metrics.extend(permission_cases::permission_cases(&programs, &opts, &flags));
    }
    if !opts.no_cluster {
        metrics.extend(cluster::cluster_cases(&runtime, &programs, &flags, &opts, started));
    }
    if !opts.no_gateway {
        metrics.extend(gateway_cases(&runtime, &programs, &opts, started));
    }
    if !opts.no_supercluster {
        metrics
            .extend(supercluster::supercluster_cases(&runtime, &programs, &flags, &opts, started));
    }
    if !opts.no_tls {
        metrics.extend(tls_cases::tls_cases(&runtime, &programs, &opts));
    }
    if !opts.no_connects {
        metrics.extend(connects::connect_cases(&runtime, &programs, &flags, &opts));
    }
    print_table(&metrics, &opts);
    println!(
        "machine: nproc={}; {}; {}; async-nats 0.51.0; {} run(s), {:.0} s total",
        thread::available_parallelism().map_or(0, |n| n.get()),
        version(&programs[0]),
        version(&programs[1]),
        opts.runs,
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// Cases

/// Sequential requests from one async-nats client to an async-nats responder: (p50, p99) in µs.
async fn latency(server: &Server, opts: &Opts) -> Result<(f64, f64), String> {
    latency_between(&server.url(), &server.url(), opts).await
}

/// [`latency`] with the requester on `req_url` and the responder on `resp_url`.
async fn latency_between(req_url: &str, resp_url: &str, opts: &Opts) -> Result<(f64, f64), String> {
    let responder = async_nats::connect(resp_url).await.map_err(|e| e.to_string())?;
    let requester = async_nats::connect(req_url).await.map_err(|e| e.to_string())?;
    let mut service = responder.subscribe("bench.rr").await.map_err(|e| e.to_string())?;
    round_trip(&responder).await?;
    let task = tokio::spawn(async move {
        while let Some(req) = service.next().await {
            if let Some(reply) = req.reply {
                let _ = responder.publish(reply, req.payload).await;
            }
        }
    });
    if req_url != resp_url {
        // Until the requester's cluster knows the responder, a request gets "no responders".
        let deadline = Instant::now() + STEP;
        while timeout(Duration::from_secs(1), requester.request("bench.rr", Bytes::new()))
            .await
            .map_or(true, |r| r.is_err())
        {
            if Instant::now() > deadline {
                return Err(
                    "the responder never became reachable from the requester's server".to_owned()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let warmup = (opts.requests / 10).max(1);
    let mut samples = Vec::with_capacity(opts.requests);
    let payload = Bytes::from_static(b"0123456789abcdef");
    for i in 0..warmup + opts.requests {
        let t = Instant::now();
        match timeout(Duration::from_secs(5), requester.request("bench.rr", payload.clone())).await
        {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("request {i}: {e}")),
            Err(_) => return Err(format!("request {i} timed out")),
        }
        if i >= warmup {
            samples.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    task.abort();
    samples.sort_by(f64::total_cmp);
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    Ok((pct(0.50), pct(0.99)))
}

/// RSS growth per subscription: `n` subscriptions on one raw connection, confirmed by a PONG.
fn subscription_memory(server: &Server, n: usize) -> Result<f64, String> {
    let mut conn = raw_connect(server.addr())?;
    let mut reader = BufReader::new(conn.try_clone().map_err(|e| e.to_string())?);
    conn.write_all(b"PING\r\n").map_err(|e| e.to_string())?;
    expect_pong(&mut reader)?;
    let before = rss_kib(server.pid()).ok_or("no VmRSS")?;
    let mut buf = Vec::with_capacity(n * 32);
    for i in 0..n {
        buf.extend_from_slice(format!("SUB bench.subs.{i}.x {i}\r\n").as_bytes());
    }
    buf.extend_from_slice(b"PING\r\n");
    // Write while the reader waits: the server answers nothing but the PONG (verbose is off).
    conn.set_write_timeout(Some(Duration::from_secs(60))).map_err(|e| e.to_string())?;
    conn.write_all(&buf).map_err(|e| format!("writing SUBs: {e}"))?;
    reader.get_ref().set_read_timeout(Some(Duration::from_secs(60))).map_err(|e| e.to_string())?;
    expect_pong(&mut reader)?;
    let after = rss_kib(server.pid()).ok_or("no VmRSS")?;
    Ok((after - before) * 1024.0 / n as f64)
}

// ---------------------------------------------------------------------------------------------
// Gateway cases

/// The two-cluster cases. For each implementation a supercluster of two single-server
/// clusters, A and B (B listens, A dials it, B dials back); publisher and requester on A,
/// subscriber and responder on B, so every message crosses the gateway once.
fn gateway_cases(
    runtime: &tokio::runtime::Runtime,
    programs: &[PathBuf; 2],
    opts: &Opts,
    started: Instant,
) -> Vec<Metric> {
    let pairs: Vec<(GwServer, GwServer)> =
        ORDER.iter().zip(programs).map(|(&k, p)| start_gateway_pair(k, p)).collect();
    let placement = load::Placement {
        part: "gateway",
        fanout: "gw A→B pub→sub".to_owned(),
        publisher: 0,
        subscribers: vec![1],
        latency: "gw A→B".to_owned(),
        requester: 0,
        responder: 1,
        interest: Some(load::Interest {
            name: format!("gw {}k subs on B known on A", opts.gateway_subs / 1000),
            subscriber: 1,
            publishers: vec![0],
            subs: opts.gateway_subs,
        }),
    };
    let addrs = |(a, b): &(GwServer, GwServer)| vec![a.addr(), b.addr()];
    let servers = [addrs(&pairs[0]), addrs(&pairs[1])];
    load::placed_cases(runtime, &servers, &placement, opts, started)
}

/// Starts B, then A listing B, and waits until both links are registered on both sides.
fn start_gateway_pair(kind: Kind, program: &Path) -> (GwServer, GwServer) {
    let b = GwServer::start_env(kind, program, &GwConfig::new("B"), &[]);
    let a = GwServer::start_env(
        kind,
        program,
        &GwConfig::new("A").remote("B", b.gateway_addr(), None),
        &[],
    );
    wait_full_mesh(&[&a, &b]);
    (a, b)
}

/// Publishes empty probes on `subject` from a new connection to `pub_addr` until `reader`'s
/// subscriber gets one (`interval` apart, bounded by [`STEP`]). Later probes still arrive and
/// are counted with the warm-up.
fn probe_raw(
    pub_addr: SocketAddr,
    reader: &mut BufReader<TcpStream>,
    subject: &str,
    interval: Duration,
) -> Result<(), String> {
    let mut publ = raw_connect(pub_addr)?;
    reader.get_ref().set_read_timeout(Some(interval)).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + STEP;
    let mut line = String::new();
    let result = loop {
        if Instant::now() > deadline {
            break Err(format!("no probe on {subject} reached the subscriber within {STEP:?}"));
        }
        publ.write_all(format!("PUB {subject} 0\r\n\r\n").as_bytes())
            .map_err(|e| format!("probe: {e}"))?;
        match reader.read_line(&mut line) {
            Ok(0) => break Err("subscriber connection closed".to_owned()),
            Ok(_) if line.starts_with("MSG ") => break Ok(()),
            Ok(_) => line.clear(),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => break Err(format!("subscriber: {e}")),
        }
    };
    reader.get_ref().set_read_timeout(Some(STEP)).map_err(|e| e.to_string())?;
    result
}

/// [`probe_raw`] for async-nats clients: probes until `sub` receives one.
async fn probe_async(
    publisher: &async_nats::Client,
    sub: &mut async_nats::Subscriber,
    subject: &str,
) -> Result<(), String> {
    let deadline = Instant::now() + STEP;
    loop {
        if Instant::now() > deadline {
            return Err(format!("no probe on {subject} reached the subscriber within {STEP:?}"));
        }
        publisher.publish(subject.to_owned(), Bytes::new()).await.map_err(|e| e.to_string())?;
        if timeout(Duration::from_millis(100), sub.next()).await.is_ok() {
            return Ok(());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The in-flight bound in messages for a payload size (`overhead`: control-line bytes).
fn window_msgs(size: usize, overhead: usize) -> u64 {
    (IN_FLIGHT_BYTES / (size + overhead) as u64).max(64)
}

/// A quiet CONNECT (no echo, so a publisher never sees its own).
const QUIET_CONNECT: &str = r#"{"verbose":false,"pedantic":false,"echo":false}"#;

/// Connects, reads INFO, sends a quiet CONNECT.
fn raw_connect(addr: SocketAddr) -> Result<TcpStream, String> {
    raw_connect_with(addr, QUIET_CONNECT)
}

/// Connects, reads INFO, sends `CONNECT connect`.
fn raw_connect_with(addr: SocketAddr, connect: &str) -> Result<TcpStream, String> {
    let conn = TcpStream::connect_timeout(&addr, STEP).map_err(|e| format!("connect: {e}"))?;
    conn.set_nodelay(true).map_err(|e| e.to_string())?;
    conn.set_read_timeout(Some(STEP)).map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(conn.try_clone().map_err(|e| e.to_string())?);
    let mut info = String::new();
    reader.read_line(&mut info).map_err(|e| format!("reading INFO: {e}"))?;
    if !info.starts_with("INFO ") {
        return Err(format!("expected INFO, got {info:?}"));
    }
    (&conn).write_all(format!("CONNECT {connect}\r\n").as_bytes()).map_err(|e| e.to_string())?;
    Ok(conn)
}

/// Reads lines until `PONG` (answering nothing else), bounded by the socket's read timeout.
fn expect_pong(reader: &mut BufReader<TcpStream>) -> Result<(), String> {
    let mut line = String::new();
    for _ in 0..16 {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => return Err("connection closed while waiting for PONG".to_owned()),
            Ok(_) if line == "PONG\r\n" => return Ok(()),
            Ok(_) if line.starts_with("-ERR") => return Err(format!("server: {}", line.trim())),
            Ok(_) => {}
            Err(e) => return Err(format!("waiting for PONG: {e}")),
        }
    }
    Err(format!("no PONG; last line {line:?}"))
}

/// Counts MSG frames on the subscriber connection until stopped; answers server PINGs.
fn count_msgs(
    mut reader: BufReader<TcpStream>,
    mut writer: TcpStream,
    received: &AtomicU64,
    stop: &AtomicBool,
) -> Result<(), String> {
    let _ = reader.get_ref().set_read_timeout(Some(Duration::from_millis(200)));
    let mut buf = vec![0u8; 256 * 1024];
    let mut line: Vec<u8> = Vec::with_capacity(256);
    let mut skip = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Err("subscriber: server closed the connection".to_owned()),
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => return Err(format!("subscriber: {e}")),
        };
        let mut count = 0u64;
        let mut i = 0;
        while i < n {
            if skip > 0 {
                let k = skip.min(n - i);
                i += k;
                skip -= k;
                continue;
            }
            let Some(p) = buf[i..n].iter().position(|&b| b == b'\n') else {
                line.extend_from_slice(&buf[i..n]);
                break;
            };
            let full: &[u8] = if line.is_empty() {
                &buf[i..=i + p]
            } else {
                line.extend_from_slice(&buf[i..=i + p]);
                &line
            };
            if full.starts_with(b"MSG ") {
                count += 1;
                let size = full
                    .trim_ascii_end()
                    .rsplit(|&b| b == b' ')
                    .next()
                    .and_then(|s| std::str::from_utf8(s).ok())
                    .and_then(|s| s.parse::<usize>().ok())
                    .ok_or_else(|| format!("bad MSG line {:?}", full.escape_ascii().to_string()))?;
                skip = size + 2;
            } else if full.starts_with(b"PING") {
                let _ = writer.write_all(b"PONG\r\n");
            } else if full.starts_with(b"-ERR") {
                return Err(format!("subscriber got {}", full.escape_ascii()));
            }
            line.clear();
            i += p + 1;
        }
        received.fetch_add(count, Ordering::Relaxed);
    }
    Ok(())
}

/// A round trip on `client`'s connection: a message to itself on a fresh inbox.
async fn round_trip(client: &async_nats::Client) -> Result<(), String> {
    let inbox = client.new_inbox();
    let mut sub = client.subscribe(inbox.clone()).await.map_err(|e| e.to_string())?;
    client.publish(inbox, Bytes::new()).await.map_err(|e| e.to_string())?;
    match timeout(STEP, sub.next()).await {
        Ok(Some(_)) => Ok(()),
        _ => Err("round trip through the server timed out".to_owned()),
    }
}

fn rss_kib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn version(program: &Path) -> String {
    for flag in ["--version", "-v"] {
        if let Ok(out) = Command::new(program).arg(flag).output()
            && out.status.success()
        {
            let text = String::from_utf8_lossy(&out.stdout);
            if let Some(line) = text.lines().next() {
                return line.trim().to_owned();
            }
        }
    }
    format!("{} (version unknown)", program.display())
}

fn strait_path(opts: &Opts) -> PathBuf {
    if let Some(p) = &opts.strait {
        return p.clone();
    }
    // target/<profile>/examples/bench → target/<profile>/strait
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target/<profile>/examples/");
    let p = dir.join("strait");
    assert!(
        p.exists(),
        "{} is missing: build it first (`cargo build --release -p strait-net --bin strait`, \
         or use scripts/bench) or pass --strait",
        p.display()
    );
    p
}

fn nats_path(opts: &Opts) -> PathBuf {
    match &opts.nats_server {
        Some(p) => p.clone(),
        None => Kind::NatsServer.program(),
    }
}

fn metric(name: &str, unit: Unit) -> Metric {
    Metric { name: name.to_owned(), unit, samples: [Vec::new(), Vec::new()], notes: Vec::new() }
}

/// A request/reply run's p50 and p99 for `server`, or the failure (noted once, on p50).
fn record_latency(
    p50: &mut Metric,
    p99: &mut Metric,
    server: usize,
    r: Result<(f64, f64), impl std::fmt::Display>,
) {
    match r {
        Ok((a, b)) => {
            p50.samples[server].push(Some(a));
            p99.samples[server].push(Some(b));
        }
        Err(e) => {
            p50.samples[server].push(None);
            p99.samples[server].push(None);
            p50.notes.push(format!("{}: {e}", ORDER[server].label()));
        }
    }
}

fn record(m: &mut Metric, server: usize, r: Result<f64, String>) {
    match r {
        Ok(v) => m.samples[server].push(Some(v)),
        Err(e) => {
            eprintln!("  {} / {}: FAILED: {e}", m.name, ORDER[server].label());
            m.notes.push(format!("{}: {e}", ORDER[server].label()));
            m.samples[server].push(None);
        }
    }
}

fn median(samples: &[Option<f64>]) -> Option<f64> {
    let mut ok: Vec<f64> = samples.iter().flatten().copied().collect();
    if ok.is_empty() {
        return None;
    }
    ok.sort_by(f64::total_cmp);
    Some(ok[ok.len() / 2])
}

fn print_table(metrics: &[Metric], opts: &Opts) {
    let fmt = |unit: Unit, v: Option<f64>| -> String {
        let Some(v) = v else { return "failed".to_owned() };
        match unit {
            Unit::MsgsPerSec => format!("{:.3} M/s", v / 1e6),
            Unit::PerSec => format!("{v:.0} /s"),
            Unit::Micros => format!("{v:.1} µs"),
            Unit::Millis => format!("{v:.0} ms"),
            Unit::KiB => format!("{:.1} MiB", v / 1024.0),
            Unit::Bytes => format!("{v:.0} B"),
        }
    };
    println!();
    println!(
        "{:<40} {:>14} {:>14} {:>8}  (medians of {} run(s); throughput over {} s after {} s warm-up)",
        "case", "strait", "nats-server", "ratio", opts.runs, opts.duration, opts.warmup
    );
    for m in metrics {
        let s = median(&m.samples[0]);
        let n = median(&m.samples[1]);
        let ratio = match (s, n) {
            (Some(s), Some(n)) if n > 0.0 => format!("{:.2}", s / n),
            _ => "-".to_owned(),
        };
        let failed: usize = m.samples.iter().flatten().filter(|v| v.is_none()).count();
        let note = if failed > 0 { format!("  ({failed} failed run(s))") } else { String::new() };
        println!("{:<40} {:>14} {:>14} {:>8}{note}", m.name, fmt(m.unit, s), fmt(m.unit, n), ratio);
        for n in m.notes.iter().take(3) {
            println!("    {n}");
        }
    }
    println!("ratio = strait / nats-server (throughput: higher is better; latency, memory: lower)");
}
