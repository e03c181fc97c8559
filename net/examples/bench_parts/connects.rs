//! The connect-storm case: a fleet of clients (re)connecting at once, e.g. after a restart or a
//! network blip. Every connect is started at the same moment; the time is until the last one
//! has received its INFO. A short listen backlog shows here: each overflow of the accept queue
//! costs the dropped client a SYN retransmission (about a second).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use super::common::Server;
use super::{Metric, ORDER, Opts, Unit, metric, record};

/// Bound for one storm, far above any healthy result.
const STORM_BOUND: Duration = Duration::from_secs(60);
/// Descriptors this process needs beyond one per connection (runtime, pipes, servers' logs).
const SPARE_FDS: u64 = 100;

/// The connect-storm case for both implementations, each on a fresh server.
pub(super) fn connect_cases(
    runtime: &tokio::runtime::Runtime,
    programs: &[PathBuf; 2],
    flags: &[&str],
    opts: &Opts,
) -> Vec<Metric> {
    let n = opts.connects;
    let mut storm = metric(&format!("{n} simultaneous connects → INFO"), Unit::Millis);
    let servers: Vec<Server> =
        ORDER.iter().zip(programs).map(|(&k, p)| Server::spawn(k, p, flags)).collect();
    for run in 0..opts.runs {
        let order: Vec<usize> = if run % 2 == 0 { vec![0, 1] } else { vec![1, 0] };
        for &i in &order {
            let r = enough_descriptors(n)
                .and_then(|()| runtime.block_on(connect_storm(servers[i].addr(), n)));
            record(&mut storm, i, r);
        }
    }
    vec![storm]
}

/// Milliseconds from starting `n` connects at once to `addr` until every one has its INFO.
/// All stay open until then, so the server holds `n` connections at the end.
async fn connect_storm(addr: SocketAddr, n: usize) -> Result<f64, String> {
    let started = Instant::now();
    let mut connects = JoinSet::new();
    for _ in 0..n {
        connects.spawn(async move {
            let mut conn = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
            let mut info = Vec::with_capacity(1024);
            while !info.ends_with(b"\r\n") {
                if conn.read_buf(&mut info).await.map_err(|e| format!("reading INFO: {e}"))? == 0 {
                    return Err("closed before INFO".to_owned());
                }
            }
            if !info.starts_with(b"INFO ") {
                return Err(format!("expected INFO, got {:?}", info.escape_ascii().to_string()));
            }
            Ok(conn)
        });
    }
    let mut held = Vec::with_capacity(n);
    let all = tokio::time::timeout(STORM_BOUND, async {
        while let Some(done) = connects.join_next().await {
            held.push(done.map_err(|e| format!("connect task: {e}"))??);
        }
        Ok::<(), String>(())
    })
    .await;
    let elapsed = started.elapsed();
    connects.abort_all();
    drop(held);
    match all {
        Ok(Ok(())) => Ok(elapsed.as_secs_f64() * 1e3),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(format!("not every connect had its INFO within {STORM_BOUND:?}")),
    }
}

/// Fails the case early, with advice, when this process (and so the servers it started) may
/// not hold `n` connections.
fn enough_descriptors(n: usize) -> Result<(), String> {
    let limits = std::fs::read_to_string("/proc/self/limits").map_err(|e| e.to_string())?;
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok());
    match soft {
        Some(soft) if soft < n as u64 + SPARE_FDS => Err(format!(
            "the open-file limit is {soft}; {n} connects need about {}: raise it (`ulimit -n`, \
             as scripts/bench does) or pass a smaller --connects",
            n as u64 + SPARE_FDS
        )),
        // Unlimited or unreadable: let the connects tell.
        _ => Ok(()),
    }
}
