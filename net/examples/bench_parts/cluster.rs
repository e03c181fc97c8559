//! Cluster cases: per implementation a three-server cluster joined by routes (server 1 is the
//! seed; servers 2 and 3 list it and find each other by gossip). The publisher sits on server 1
//! and one subscriber on each of servers 2 and 3, so every message crosses a route twice (once
//! per subscriber's server); the requester is on server 1 and the responder on server 2, so a
//! request and its reply each cross the route once.
//!
//! Throughput is what each subscriber received in the measured window, reported for the slower
//! of the two; the publisher is held back by the slower subscriber, as in the single-server
//! cases, so a server that falls behind shows a lower rate rather than buffering without bound.

use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::time::timeout;

use super::common::{Kind, Server};
use super::{
    Metric, ORDER, Opts, STEP, Unit, count_msgs, expect_pong, latency_between, metric, probe_async,
    probe_raw, raw_connect, record, round_trip, window_msgs,
};

/// The cluster's name in every configuration.
const CLUSTER: &str = "BENCH";

/// The subject of the throughput cases.
const SUBJECT: &str = "bench.cluster";

/// A three-server cluster of one implementation; the servers are killed on drop.
struct Cluster {
    servers: Vec<Server>,
    dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.servers.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts the seed, reads its route port from its log, then starts two servers routing to it.
fn start_cluster(kind: Kind, program: &std::path::Path, flags: &[&str]) -> Cluster {
    let dir = std::env::temp_dir().join(format!(
        "strait-bench-cluster-{}-{}",
        kind.label(),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spawn = |n: usize, routes: &str| -> Server {
        let path = dir.join(format!("s{n}.conf"));
        let conf = format!(
            "server_name: {CLUSTER}{n}\ncluster {{\n  name: {CLUSTER}\n  listen: \"127.0.0.1:-1\"\n{routes}}}\n"
        );
        std::fs::write(&path, conf).expect("config file");
        let path = path.display().to_string();
        let mut args = vec!["-c", path.as_str()];
        args.extend_from_slice(flags);
        Server::spawn(kind, program, &args)
    };
    let seed = spawn(1, "");
    let line = seed.wait_for_log("Listening for route connections on ", STEP);
    let port: u16 = line
        .rsplit(':')
        .next()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("{}: no route port in {line:?}", kind.label()));
    let routes = format!("  routes: [\"nats://127.0.0.1:{port}\"]\n");
    let servers = vec![seed, spawn(2, &routes), spawn(3, &routes)];
    Cluster { servers, dir }
}

/// The cluster cases for both implementations.
pub(super) fn cluster_cases(
    runtime: &tokio::runtime::Runtime,
    programs: &[PathBuf; 2],
    flags: &[&str],
    opts: &Opts,
    started: Instant,
) -> Vec<Metric> {
    let clusters: Vec<Cluster> =
        ORDER.iter().zip(programs).map(|(&k, p)| start_cluster(k, p, flags)).collect();
    let mut cases: Vec<Metric> = Vec::new();
    for &size in &opts.sizes {
        cases.push(metric(&format!("cluster 1→2,3 async-nats {size} B"), Unit::MsgsPerSec));
    }
    for &size in &opts.sizes {
        cases.push(metric(&format!("cluster 1→2,3 raw socket {size} B"), Unit::MsgsPerSec));
    }
    let mut p50 = metric("cluster 1→2 req/reply latency p50", Unit::Micros);
    let mut p99 = metric("cluster 1→2 req/reply latency p99", Unit::Micros);
    let n = opts.sizes.len();
    for run in 0..opts.runs {
        let order: Vec<usize> = if run % 2 == 0 { vec![0, 1] } else { vec![1, 0] };
        eprintln!(
            "cluster run {}/{} ({:.0} s so far)",
            run + 1,
            opts.runs,
            started.elapsed().as_secs_f64()
        );
        for (c, &size) in opts.sizes.iter().enumerate() {
            for &i in &order {
                let s = &clusters[i].servers;
                let subs = [s[1].url(), s[2].url()];
                let r = runtime.block_on(async_nats_fanout(&s[0].url(), &subs, size, opts));
                record(&mut cases[c], i, r);
            }
        }
        for (c, &size) in opts.sizes.iter().enumerate() {
            for &i in &order {
                let s = &clusters[i].servers;
                let r = raw_fanout(s[0].addr(), &[s[1].addr(), s[2].addr()], size, opts);
                record(&mut cases[n + c], i, r);
            }
        }
        for &i in &order {
            let s = &clusters[i].servers;
            match runtime.block_on(latency_between(&s[0].url(), &s[1].url(), opts)) {
                Ok((x, y)) => {
                    p50.samples[i].push(Some(x));
                    p99.samples[i].push(Some(y));
                }
                Err(e) => {
                    p50.samples[i].push(None);
                    p99.samples[i].push(None);
                    p50.notes.push(format!("{}: {e}", ORDER[i].label()));
                }
            }
        }
    }
    cases.push(p50);
    cases.push(p99);
    cases
}

/// What each of `counters` holds now, and when.
fn snapshot(counters: &[Arc<AtomicU64>]) -> (Vec<u64>, Instant) {
    (counters.iter().map(|c| c.load(Ordering::Relaxed)).collect(), Instant::now())
}

/// The rate of the counter that gained least since `then` (a [`snapshot`]).
fn slowest_since(counters: &[Arc<AtomicU64>], then: (Vec<u64>, Instant)) -> Result<f64, String> {
    let (c0, t0) = then;
    let secs = t0.elapsed().as_secs_f64();
    let got = counters.iter().zip(&c0).map(|(c, &c0)| c.load(Ordering::Relaxed) - c0);
    let slowest = got.min().unwrap_or(0);
    if slowest == 0 {
        return Err("a subscriber received nothing in the measured window".to_owned());
    }
    Ok(slowest as f64 / secs)
}

/// The smallest of `counters` (what every subscriber has received).
fn least(counters: &[Arc<AtomicU64>]) -> u64 {
    counters.iter().map(|c| c.load(Ordering::Relaxed)).min().unwrap_or(0)
}

/// Raw-socket publisher on `pub_addr` (batches of PUB frames in large writes) → one raw
/// subscriber per address in `sub_addrs`, msgs/s received by the slowest subscriber.
fn raw_fanout(
    pub_addr: SocketAddr,
    sub_addrs: &[SocketAddr],
    size: usize,
    opts: &Opts,
) -> Result<f64, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut counters = Vec::new();
    let mut sockets = Vec::new();
    let mut threads = Vec::new();
    for &addr in sub_addrs {
        let mut sub = raw_connect(addr)?;
        sub.write_all(format!("SUB {SUBJECT} 1\r\nPING\r\n").as_bytes())
            .map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(sub.try_clone().map_err(|e| e.to_string())?);
        expect_pong(&mut reader)?;
        // The interest reaches server 1 over the route a little later: probe until it has.
        probe_raw(pub_addr, &mut reader, SUBJECT, Duration::from_millis(100))?;
        let received = Arc::new(AtomicU64::new(0));
        let writer = sub.try_clone().map_err(|e| e.to_string())?;
        let (r, s) = (Arc::clone(&received), Arc::clone(&stop));
        threads.push(thread::spawn(move || count_msgs(reader, writer, &r, &s)));
        counters.push(received);
        sockets.push(sub);
    }

    let publ = raw_connect(pub_addr)?;
    let pub_thread = {
        let counters = counters.clone();
        let stop = Arc::clone(&stop);
        let mut publ = publ.try_clone().map_err(|e| e.to_string())?;
        thread::spawn(move || -> Result<(), String> {
            let head = format!("PUB {SUBJECT} {size}\r\n");
            let frame_len = head.len() + size + 2;
            let per_batch = (64 * 1024 / frame_len).max(1);
            let mut batch = Vec::with_capacity(per_batch * frame_len);
            for _ in 0..per_batch {
                batch.extend_from_slice(head.as_bytes());
                batch.extend(std::iter::repeat_n(b'x', size));
                batch.extend_from_slice(b"\r\n");
            }
            let window = window_msgs(size, 30);
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                publ.write_all(&batch).map_err(|e| format!("publisher: {e}"))?;
                sent += per_batch as u64;
                while sent.saturating_sub(least(&counters)) > window {
                    if stop.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    thread::sleep(Duration::from_micros(200));
                }
            }
            Ok(())
        })
    };

    thread::sleep(Duration::from_secs_f64(opts.warmup));
    let then = snapshot(&counters);
    thread::sleep(Duration::from_secs_f64(opts.duration));
    let rate = slowest_since(&counters, then);
    stop.store(true, Ordering::Relaxed);
    // Unblock every thread whatever it is doing, then collect them. Errors after the stop (from
    // our own shutdown) are expected; earlier ones show in the rate.
    let _ = publ.shutdown(Shutdown::Both);
    for s in &sockets {
        let _ = s.shutdown(Shutdown::Both);
    }
    let _ = pub_thread.join().map_err(|_| "publisher thread panicked".to_owned())?;
    for t in threads {
        let _ = t.join().map_err(|_| "subscriber thread panicked".to_owned())?;
    }
    rate
}

/// async-nats publisher on `pub_url` → one async-nats subscriber per URL in `sub_urls`, msgs/s
/// received by the slowest subscriber.
async fn async_nats_fanout(
    pub_url: &str,
    sub_urls: &[String],
    size: usize,
    opts: &Opts,
) -> Result<f64, String> {
    let connect = |cap: usize, url: String| async move {
        timeout(STEP, async_nats::ConnectOptions::new().subscription_capacity(cap).connect(url))
            .await
            .map_err(|_| "connect timed out".to_owned())?
            .map_err(|e| format!("connect: {e}"))
    };
    let pub_client = connect(1 << 16, pub_url.to_owned()).await?;
    let mut counters = Vec::new();
    let mut tasks = Vec::new();
    for url in sub_urls {
        let client = connect(1 << 20, url.clone()).await?;
        let mut sub = client.subscribe(SUBJECT).await.map_err(|e| e.to_string())?;
        round_trip(&client).await?;
        probe_async(&pub_client, &mut sub, SUBJECT).await?;
        let received = Arc::new(AtomicU64::new(0));
        let r = Arc::clone(&received);
        tasks.push(tokio::spawn(async move {
            // The client lives as long as its subscription is read.
            let _client = client;
            while sub.next().await.is_some() {
                r.fetch_add(1, Ordering::Relaxed);
            }
        }));
        counters.push(received);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let window = window_msgs(size, 40);
    let publisher = {
        let stop = Arc::clone(&stop);
        let counters = counters.clone();
        let payload = Bytes::from(vec![b'x'; size]);
        tokio::spawn(async move {
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..256 {
                    if pub_client.publish(SUBJECT, payload.clone()).await.is_err() {
                        return;
                    }
                }
                sent += 256;
                while sent.saturating_sub(least(&counters)) > window {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_secs_f64(opts.warmup)).await;
    let then = snapshot(&counters);
    tokio::time::sleep(Duration::from_secs_f64(opts.duration)).await;
    let rate = slowest_since(&counters, then);
    stop.store(true, Ordering::Relaxed);
    let _ = timeout(STEP, publisher).await;
    for t in tasks {
        t.abort();
    }
    rate
}
