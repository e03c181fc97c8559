//! Hostile or merely numerous clients must not starve a server, compared with nats-server
//! 2.15.1: half-sent HTTP requests do not block the monitor and are closed after the header
//! read timeout, every listener queues a burst of connects as deep as the system allows, and a
//! server out of file descriptors keeps its accept loop and recovers.

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::Kind;
use common::gateway::{GwConfig, GwServer};

/// Monitor connections holding a half-sent request (the user's report: about 260 sufficed).
const HALF_SENT: usize = 300;
/// How fast `/healthz` and `/varz` must answer beside them (a liveness probe's patience).
const ANSWER_WITHIN: Duration = Duration::from_secs(2);
/// nats-server's `ReadHeaderTimeout` for the monitor.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Slack for closing the half-sent connections once the header timeout has passed.
const CLOSE_SLACK: Duration = Duration::from_secs(5);

/// (a) 300 half-sent requests do not delay `/healthz` or `/varz`; (b) the server closes each of
/// them once the header read timeout has passed, not before. Both servers run at once.
#[test]
fn half_sent_requests_neither_starve_the_monitor_nor_stay_open() {
    let results: Vec<(Kind, Result<(), String>)> = std::thread::scope(|scope| {
        let runs: Vec<_> = Kind::BOTH
            .iter()
            .map(|&kind| scope.spawn(move || (kind, half_sent_requests(kind))))
            .collect();
        runs.into_iter().map(|r| r.join().expect("test thread panicked")).collect()
    });
    let failures: Vec<String> = results
        .iter()
        .filter_map(|(kind, r)| r.as_ref().err().map(|e| format!("{}: {e}", kind.label())))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn half_sent_requests(kind: Kind) -> Result<(), String> {
    let server = GwServer::start(kind, &GwConfig::new("A"));
    let fail = |e: String| format!("{e}\n{}", server.describe(""));
    let http = monitor_addr(&server).map_err(fail)?;

    let opened = Instant::now();
    let mut held = Vec::with_capacity(HALF_SENT);
    for i in 0..HALF_SENT {
        let mut conn = TcpStream::connect_timeout(&http, Duration::from_secs(5))
            .map_err(|e| fail(format!("half-sent connection {i}: connect: {e}")))?;
        // A request head without its final blank line: the server waits for the rest.
        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .map_err(|e| fail(format!("half-sent connection {i}: write: {e}")))?;
        held.push(conn);
    }

    for path in ["/healthz", "/varz"] {
        let asked = Instant::now();
        let status = get_status(http, path, ANSWER_WITHIN)
            .map_err(|e| fail(format!("GET {path} beside {HALF_SENT} half-sent requests: {e}")))?;
        if status != 200 {
            return Err(fail(format!("GET {path}: status {status}, expected 200")));
        }
        if asked.elapsed() > ANSWER_WITHIN {
            return Err(fail(format!("GET {path} took {:?}", asked.elapsed())));
        }
    }

    // Every held connection ends (EOF or reset) after the header timeout, within slack.
    let deadline = opened + HEADER_TIMEOUT + CLOSE_SLACK;
    let mut first_close = None;
    for (i, conn) in held.iter_mut().enumerate() {
        wait_closed(conn, deadline).map_err(|e| fail(format!("half-sent connection {i}: {e}")))?;
        first_close.get_or_insert_with(|| opened.elapsed());
    }
    // The server's clock starts when it accepts, after our first connect began.
    let first = first_close.unwrap_or_default();
    if first < HEADER_TIMEOUT - Duration::from_millis(100) {
        return Err(fail(format!(
            "the first half-sent connection was closed after {first:?}, before the \
             {HEADER_TIMEOUT:?} header timeout"
        )));
    }
    Ok(())
}

/// (c) The client, gateway and monitor listeners of both servers have a backlog of at least the
/// system's `somaxconn` (at most 65535), so a burst of reconnects queues instead of timing out.
#[test]
fn listeners_queue_as_many_connects_as_the_system_allows() {
    let wanted = somaxconn().min(65_535);
    for kind in Kind::BOTH {
        let server = GwServer::start(kind, &GwConfig::new("A"));
        let http = monitor_addr(&server).unwrap_or_else(|e| panic!("{e}"));
        let listeners =
            [("client", server.addr()), ("gateway", server.gateway_addr()), ("monitor", http)];
        for (what, addr) in listeners {
            let backlog = listen_backlog(addr).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                backlog >= wanted,
                "{}: the {what} listener on {addr} has a backlog of {backlog}, wanted at least \
                 {wanted} (somaxconn)",
                kind.label()
            );
        }
    }
}

/// Descriptors the server may hold in [`out_of_descriptors_pauses_and_recovers`]: enough to
/// start and serve a few clients, far fewer than the connects thrown at it.
const FD_LIMIT: usize = 64;
/// Connects thrown at a server limited to [`FD_LIMIT`] descriptors.
const FLOOD: usize = 150;

/// (d) A server out of file descriptors logs nats-server's temporary accept error, keeps its
/// accept loop (neither spinning nor ending it) and serves new clients once descriptors free.
#[test]
fn out_of_descriptors_pauses_and_recovers() {
    for kind in Kind::BOTH {
        let dir = std::env::temp_dir().join(format!("strait-hostile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let wrapper = limited(&dir, kind, &kind.program());
        let server = GwServer::start_env(kind, &wrapper, &GwConfig::new("A"), &[]);
        let fail = |e: String| -> ! { panic!("{}: {e}\n{}", kind.label(), server.describe("")) };
        let from = server.mark();

        let flood: Vec<TcpStream> = (0..FLOOD)
            .map_while(|_| TcpStream::connect_timeout(&server.addr(), Duration::from_secs(5)).ok())
            .collect();
        if let Err(e) = server.wait_line(from, "Temporary Client Accept Error(", START_WAIT) {
            fail(format!("{} connects against {FD_LIMIT} descriptors: {e}", flood.len()));
        }
        // While it is out of descriptors the loop pauses: the retries are few, not a spin.
        std::thread::sleep(Duration::from_millis(500));
        let errors = server.lines_with(from, &["Temporary Client Accept Error("]).len();
        if errors > 50 {
            fail(format!("{errors} accept errors logged in about half a second: a spin"));
        }
        drop(flood);

        let t0 = Instant::now();
        let served = loop {
            match info_and_pong(server.addr()) {
                Ok(()) => break Ok(()),
                Err(e) if t0.elapsed() > RECOVER_WITHIN => break Err(e),
                // Closed connections are reaped by the server as it reads their EOF: retry.
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        };
        if let Err(e) = served {
            fail(format!("no client served within {RECOVER_WITHIN:?} after the flood: {e}"));
        }
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Bound for the first accept error to be logged.
const START_WAIT: Duration = Duration::from_secs(10);
/// Bound for serving a client again once the flood is gone.
const RECOVER_WITHIN: Duration = Duration::from_secs(10);

/// A script that runs `program` with at most [`FD_LIMIT`] descriptors (soft and hard, so Go
/// cannot raise its own limit).
fn limited(dir: &Path, kind: Kind, program: &Path) -> PathBuf {
    let path = dir.join(format!("{}-limited.sh", kind.label()));
    let script =
        format!("#!/bin/sh\nulimit -n {FD_LIMIT} || exit 1\nexec '{}' \"$@\"\n", program.display());
    std::fs::write(&path, script).expect("write the wrapper script");
    let chmod = Command::new("chmod").arg("+x").arg(&path).status().expect("run chmod");
    assert!(chmod.success(), "chmod +x {}", path.display());
    path
}

/// Reads INFO, sends CONNECT and PING, expects PONG (bounded).
fn info_and_pong(addr: SocketAddr) -> Result<(), String> {
    let conn =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    conn.set_read_timeout(Some(Duration::from_secs(2))).map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(conn.try_clone().map_err(|e| e.to_string())?);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| format!("INFO: {e}"))?;
    if !line.starts_with("INFO ") {
        return Err(format!("expected INFO, got {line:?}"));
    }
    (&conn).write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n").map_err(|e| e.to_string())?;
    line.clear();
    reader.read_line(&mut line).map_err(|e| format!("PONG: {e}"))?;
    if line != "PONG\r\n" {
        return Err(format!("expected PONG, got {line:?}"));
    }
    Ok(())
}

/// The monitor's address, from the `Starting http monitor on HOST:PORT` log line.
fn monitor_addr(server: &GwServer) -> Result<SocketAddr, String> {
    let lines = server.lines_with(0, &["Starting http monitor on "]);
    let port = lines.first().and_then(|line| line.rsplit(':').next()?.trim().parse::<u16>().ok());
    let port = port.ok_or_else(|| format!("no monitor port in {lines:?}"))?;
    Ok(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// The status code of `GET path`, all within `within` (connect, write, read).
fn get_status(addr: SocketAddr, path: &str, within: Duration) -> Result<u16, String> {
    let deadline = Instant::now() + within;
    let left = || {
        deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()).ok_or("timed out")
    };
    let mut conn = TcpStream::connect_timeout(&addr, left()?).map_err(|e| e.to_string())?;
    write!(conn, "GET {path} HTTP/1.0\r\nHost: x\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(2).any(|w| w == b"\r\n") {
        conn.set_read_timeout(Some(left()?)).map_err(|e| e.to_string())?;
        match conn.read(&mut buf) {
            Ok(0) => return Err(format!("closed before a status line: {:?}", head.escape_ascii())),
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(format!("no answer within {within:?}"));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok());
    status.ok_or_else(|| format!("bad status line in {text:?}"))
}

/// Waits until the peer closes `conn` (EOF or reset), ignoring anything it sends first.
fn wait_closed(conn: &mut TcpStream, deadline: Instant) -> Result<(), String> {
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero());
        let Some(left) = left else { return Err("still open at the deadline".to_owned()) };
        conn.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        match conn.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// The system's `net.core.somaxconn` (Linux).
fn somaxconn() -> u32 {
    let text = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .unwrap_or_else(|e| panic!("reading /proc/sys/net/core/somaxconn: {e}"));
    text.trim().parse().unwrap_or_else(|e| panic!("somaxconn {text:?}: {e}"))
}

/// The backlog of the TCP socket listening on `addr`: `ss` shows it as the Send-Q of a LISTEN
/// socket.
fn listen_backlog(addr: SocketAddr) -> Result<u32, String> {
    let out = Command::new("ss")
        .args(["-ltnH", &format!("sport = :{}", addr.port())])
        .output()
        .map_err(|e| format!("running `ss` (iproute2) to read listen backlogs: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let wanted = addr.to_string();
    for line in text.lines() {
        // State Recv-Q Send-Q Local-Address:Port Peer-Address:Port
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [state, _recv, send, local, ..] = fields[..]
            && state == "LISTEN"
            && local == wanted
        {
            return send.parse().map_err(|e| format!("Send-Q {send:?} in {line:?}: {e}"));
        }
    }
    Err(format!("no LISTEN socket on {addr} in `ss -ltnH`:\n{text}"))
}
