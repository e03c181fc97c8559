//! The load every throughput case puts on the servers, and the run loop of the multi-server
//! parts (cluster, gateway, supercluster), which differ only in how their servers are joined
//! and where the clients sit.
//!
//! Load: a raw-socket publisher (pre-built batches of PUB frames in large writes) or an
//! async-nats publisher → one subscriber per listed server, each counting what it receives.
//! Throughput is what the slowest subscriber received in the measured window (after the
//! warm-up); the publisher is held back when more than a window of bytes is in flight to the
//! slowest subscriber, so a server that falls behind shows a lower rate instead of buffering
//! without bound or dropping the subscriber as a slow consumer. A subscriber on another server
//! than the publisher's is probed for first: its interest reaches the publisher's server over a
//! route or a gateway a little after its subscription round trip.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::time::timeout;

use super::{
    Metric, Opts, QUIET_CONNECT, STEP, Unit, count_msgs, expect_pong, latency_between, metric,
    probe_async, probe_raw, raw_connect, raw_connect_with, record, record_latency, round_trip,
    window_msgs,
};

/// The subject of every throughput case.
const SUBJECT: &str = "bench.load";

// ---------------------------------------------------------------------------------------------
// Load generators

/// Raw-socket publisher on `pub_addr` → one raw subscriber per address in `sub_addrs` (the
/// publisher's own server included), msgs/s received by the slowest subscriber.
pub(super) fn raw_fanout(
    pub_addr: SocketAddr,
    sub_addrs: &[SocketAddr],
    size: usize,
    opts: &Opts,
) -> Result<f64, String> {
    raw_fanout_as(pub_addr, sub_addrs, size, opts, QUIET_CONNECT, QUIET_CONNECT)
}

/// [`raw_fanout`] with the given CONNECT JSON for the publisher and the subscribers.
pub(super) fn raw_fanout_as(
    pub_addr: SocketAddr,
    sub_addrs: &[SocketAddr],
    size: usize,
    opts: &Opts,
    pub_connect: &str,
    sub_connect: &str,
) -> Result<f64, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut counters = Vec::new();
    let mut sockets = Vec::new();
    let mut threads = Vec::new();
    for &addr in sub_addrs {
        let mut sub = raw_connect_with(addr, sub_connect)?;
        sub.write_all(format!("SUB {SUBJECT} 1\r\nPING\r\n").as_bytes())
            .map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(sub.try_clone().map_err(|e| e.to_string())?);
        expect_pong(&mut reader)?;
        if addr != pub_addr {
            probe_raw(pub_addr, &mut reader, SUBJECT, Duration::from_millis(100))?;
        }
        let received = Arc::new(AtomicU64::new(0));
        let writer = sub.try_clone().map_err(|e| e.to_string())?;
        let (r, s) = (Arc::clone(&received), Arc::clone(&stop));
        threads.push(thread::spawn(move || count_msgs(reader, writer, &r, &s)));
        counters.push(received);
        sockets.push(sub);
    }

    let publ = raw_connect_with(pub_addr, pub_connect)?;
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

/// async-nats publisher on `pub_url` → one async-nats subscriber per URL in `sub_urls` (the
/// publisher's own server included), msgs/s received by the slowest subscriber.
pub(super) async fn async_nats_fanout(
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
        // A round trip on the subscriber's connection, so the subscription exists.
        round_trip(&client).await?;
        if url != pub_url {
            probe_async(&pub_client, &mut sub, SUBJECT).await?;
        }
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

// ---------------------------------------------------------------------------------------------
// Interest propagation

/// Milliseconds from the start of writing `n` `SUB`s on one connection to `sub_addr` until a
/// probe to the last-created subject, published on every one of `pub_addrs` (every
/// millisecond until one of its own arrives), has arrived from each of them. `run` keeps the
/// subjects of one run apart from the last run's.
pub(super) fn interest_propagation(
    pub_addrs: &[SocketAddr],
    sub_addr: SocketAddr,
    n: usize,
    run: usize,
) -> Result<f64, String> {
    let bound = Duration::from_secs(60);
    let mut subs = raw_connect(sub_addr)?;
    let mut reader = BufReader::new(subs.try_clone().map_err(|e| e.to_string())?);
    let mut publishers = Vec::new();
    for &addr in pub_addrs {
        publishers.push(raw_connect(addr)?);
    }
    let mut buf = Vec::with_capacity(n * 40);
    for i in 0..n {
        buf.extend_from_slice(format!("SUB bench.prop.{run}.{i} {}\r\n", i + 1).as_bytes());
    }
    // Each publisher's probes carry its index as the reply subject, which the MSG line shows.
    let probes: Vec<String> = (0..pub_addrs.len())
        .map(|p| format!("PUB bench.prop.{run}.{} {p} 0\r\n\r\n", n - 1))
        .collect();
    let mut arrived = vec![false; pub_addrs.len()];
    subs.set_write_timeout(Some(bound)).map_err(|e| e.to_string())?;
    reader.get_ref().set_read_timeout(Some(Duration::from_millis(1))).map_err(|e| e.to_string())?;

    let t0 = Instant::now();
    subs.write_all(&buf).map_err(|e| format!("writing SUBs: {e}"))?;
    let mut line = String::new();
    while arrived.contains(&false) {
        if t0.elapsed() > bound {
            return Err(format!("no probe from every publisher arrived within {bound:?}"));
        }
        for (p, publ) in publishers.iter_mut().enumerate() {
            if !arrived[p] {
                publ.write_all(probes[p].as_bytes()).map_err(|e| format!("probe: {e}"))?;
            }
        }
        // A timed-out read keeps what it read so far in `line`; the next call continues it.
        match reader.read_line(&mut line) {
            Ok(0) => return Err("the server closed the subscriber connection".to_owned()),
            Ok(_) if line.starts_with("MSG ") => {
                // MSG <subject> <sid> <reply> <size>
                let from = line.split_whitespace().nth(3).and_then(|r| r.parse::<usize>().ok());
                match from {
                    Some(p) if p < arrived.len() => arrived[p] = true,
                    _ => return Err(format!("unexpected probe {:?}", line.trim())),
                }
                line.clear();
            }
            Ok(_) if line.starts_with("-ERR") => return Err(format!("server: {}", line.trim())),
            Ok(_) => line.clear(),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(format!("subscriber: {e}")),
        }
    }
    let elapsed = t0.elapsed().as_secs_f64() * 1e3;
    // Closing the connection drops the subscriptions before the next case.
    let _ = subs.shutdown(Shutdown::Both);
    Ok(elapsed)
}

// ---------------------------------------------------------------------------------------------
// The multi-server run loop

/// Where a multi-server part puts its clients, as indexes into its list of servers, and what
/// its metrics are called.
pub(super) struct Placement {
    /// Names the part in progress lines, e.g. `cluster`.
    pub(super) part: &'static str,
    /// Prefix of the throughput metrics, e.g. `cluster 1→2,3`.
    pub(super) fanout: String,
    pub(super) publisher: usize,
    pub(super) subscribers: Vec<usize>,
    /// Prefix of the latency metrics, e.g. `cluster 1→2`.
    pub(super) latency: String,
    pub(super) requester: usize,
    pub(super) responder: usize,
    /// The interest-propagation case, if the part has one.
    pub(super) interest: Option<Interest>,
}

/// `subs` subscriptions made on one server until a probe from each of others arrives.
pub(super) struct Interest {
    /// The metric's name, e.g. `gw 100k subs on B known on A`.
    pub(super) name: String,
    pub(super) subscriber: usize,
    pub(super) publishers: Vec<usize>,
    pub(super) subs: usize,
}

/// Every case of `placement`, on each implementation's servers (indexed like `ORDER`):
/// async-nats and raw fan-out per payload size, request/reply latency, interest propagation.
pub(super) fn placed_cases(
    runtime: &tokio::runtime::Runtime,
    servers: &[Vec<SocketAddr>; 2],
    placement: &Placement,
    opts: &Opts,
    started: Instant,
) -> Vec<Metric> {
    let pl = placement;
    let url = |a: SocketAddr| format!("nats://{a}");
    let mut cases: Vec<Metric> = Vec::new();
    for &size in &opts.sizes {
        cases.push(metric(&format!("{} async-nats {size} B", pl.fanout), Unit::MsgsPerSec));
    }
    for &size in &opts.sizes {
        cases.push(metric(&format!("{} raw socket {size} B", pl.fanout), Unit::MsgsPerSec));
    }
    let mut p50 = metric(&format!("{} req/reply latency p50", pl.latency), Unit::Micros);
    let mut p99 = metric(&format!("{} req/reply latency p99", pl.latency), Unit::Micros);
    let mut prop = pl.interest.as_ref().map(|i| metric(&i.name, Unit::Millis));
    let n = opts.sizes.len();
    for run in 0..opts.runs {
        // Alternate which implementation goes first so neither gets a systematically warmer
        // machine.
        let order: Vec<usize> = if run % 2 == 0 { vec![0, 1] } else { vec![1, 0] };
        eprintln!(
            "{} run {}/{} ({:.0} s so far)",
            pl.part,
            run + 1,
            opts.runs,
            started.elapsed().as_secs_f64()
        );
        for (c, &size) in opts.sizes.iter().enumerate() {
            for &i in &order {
                let s = &servers[i];
                let subs: Vec<String> = pl.subscribers.iter().map(|&k| url(s[k])).collect();
                let publisher = url(s[pl.publisher]);
                let r = runtime.block_on(async_nats_fanout(&publisher, &subs, size, opts));
                record(&mut cases[c], i, r);
            }
        }
        for (c, &size) in opts.sizes.iter().enumerate() {
            for &i in &order {
                let s = &servers[i];
                let subs: Vec<SocketAddr> = pl.subscribers.iter().map(|&k| s[k]).collect();
                record(&mut cases[n + c], i, raw_fanout(s[pl.publisher], &subs, size, opts));
            }
        }
        for &i in &order {
            let s = &servers[i];
            let (req, resp) = (url(s[pl.requester]), url(s[pl.responder]));
            let r = runtime.block_on(latency_between(&req, &resp, opts));
            record_latency(&mut p50, &mut p99, i, r);
        }
        if let (Some(interest), Some(prop)) = (&pl.interest, &mut prop) {
            for &i in &order {
                let s = &servers[i];
                let pubs: Vec<SocketAddr> = interest.publishers.iter().map(|&k| s[k]).collect();
                let r = interest_propagation(&pubs, s[interest.subscriber], interest.subs, run);
                record(prop, i, r);
            }
        }
    }
    cases.push(p50);
    cases.push(p99);
    cases.extend(prop);
    cases
}
