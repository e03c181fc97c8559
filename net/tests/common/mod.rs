//! Shared helpers for the interop suites (and the `bench` example, which includes this file by
//! path): start `strait` or the reference `nats-server` on a random loopback port and stop it on
//! drop.
//!
//! Both servers follow the same contract: `-a 127.0.0.1 -p -1` picks a free port, the log on
//! stderr carries `Listening for client connections on HOST:PORT` and then `Server is ready`.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

pub(crate) mod certs;
#[macro_use]
pub(crate) mod cluster;
pub(crate) mod gateway;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a server may take to print its listening and ready lines.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How many of the last log lines are kept for failure messages.
const LOG_TAIL: usize = 200;

/// `scenarios!(a, b)`: for each `async fn a(kind: Kind)` of the test crate, a module `a` with
/// one tokio test per server, `a::nats_server` and `a::strait`.
#[allow(unused_macros)]
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn nats_server() {
                super::$name(super::common::Kind::NatsServer).await;
            }

            #[tokio::test]
            async fn strait() {
                super::$name(super::common::Kind::Strait).await;
            }
        }
    )*};
}
#[allow(unused_imports)]
pub(crate) use scenarios;

/// Runs the venv's Python (`$NATS_PY`, installed by scripts/test) on `script` with `args`,
/// bounded by `limit`; panics if it does not finish in time or cannot start.
pub(crate) async fn run_python(
    script: &str,
    args: &[&str],
    limit: Duration,
) -> std::process::Output {
    let python = std::env::var("NATS_PY")
        .expect("$NATS_PY is not set: run the tests through scripts/test (it installs nats-py)");
    let run =
        tokio::process::Command::new(python).arg(script).args(args).kill_on_drop(true).output();
    tokio::time::timeout(limit, run)
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish within {limit:?}"))
        .expect("run python")
}

/// Asserts that a Python client printed exactly `ok` and exited 0, with its output and the
/// server's log otherwise.
pub(crate) fn assert_python_ok(out: &std::process::Output, server: &Server, what: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim() == "ok",
        "{}: {what} failed ({}):\n{stdout}\n{}\n{}",
        server.kind().label(),
        out.status,
        String::from_utf8_lossy(&out.stderr),
        server.log_tail()
    );
}

/// Which server implementation to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The server under test, built by cargo alongside the test.
    Strait,
    /// The reference Go server, found through `$NATS_SERVER`.
    NatsServer,
}

impl Kind {
    /// Both implementations, reference first.
    pub(crate) const BOTH: [Kind; 2] = [Kind::NatsServer, Kind::Strait];

    /// A short label for reports.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Kind::Strait => "strait",
            Kind::NatsServer => "nats-server",
        }
    }

    /// The executable to run.
    ///
    /// Panics with an explanation when the reference server is not configured: the interop
    /// suites must never pass by silently skipping the reference.
    pub(crate) fn program(self) -> PathBuf {
        match self {
            // `$STRAIT_BIN` first: worktrees sharing one target directory overwrite each
            // other's binary. Cargo sets the other for integration tests; other users pass a
            // path to `spawn`.
            Kind::Strait if std::env::var_os("STRAIT_BIN").is_some_and(|p| !p.is_empty()) => {
                PathBuf::from(std::env::var_os("STRAIT_BIN").unwrap_or_default())
            }
            Kind::Strait => match option_env!("CARGO_BIN_EXE_strait") {
                Some(p) => PathBuf::from(p),
                None => panic!("the strait binary is unknown here: use Server::spawn"),
            },
            Kind::NatsServer => match std::env::var_os("NATS_SERVER") {
                Some(p) if !p.is_empty() => PathBuf::from(p),
                _ => panic!(
                    "$NATS_SERVER is not set: these tests compare against the reference \
                     nats-server 2.15.1. Run them through scripts/test, or \
                     `export NATS_SERVER=$(scripts/install-nats-server)` first"
                ),
            },
        }
    }
}

/// Sends `name` (a `kill -s` name such as `HUP`) to process `pid`.
pub(crate) fn signal(pid: u32, name: &str) {
    let ok = Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -s {name} {pid}");
}

/// A running server process; killed when dropped.
pub(crate) struct Server {
    kind: Kind,
    program: PathBuf,
    child: Child,
    addr: SocketAddr,
    /// The last [`LOG_TAIL`] lines of stderr, kept by the drain thread for diagnostics.
    log: Arc<Mutex<VecDeque<String>>>,
    /// Notified (with `log`'s lock) on every new line and at the end of stderr.
    news: Arc<Condvar>,
    /// Stderr has ended: the process exited (or closed it).
    ended: Arc<AtomicBool>,
}

impl Server {
    /// Starts `kind` on a random loopback port with the default options.
    pub(crate) fn start(kind: Kind) -> Server {
        Server::start_with(kind, &[])
    }

    /// Starts `kind` on a random loopback port with `extra` flags (e.g. `--user a --pass b`).
    ///
    /// Panics (with the log so far) if the server does not report its port and readiness within
    /// [`START_TIMEOUT`].
    pub(crate) fn start_with(kind: Kind, extra: &[&str]) -> Server {
        Server::spawn(kind, &kind.program(), extra)
    }

    /// Starts `program`, an implementation of `kind`, like [`Server::start_with`].
    pub(crate) fn spawn(kind: Kind, program: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(program)
            .args(["-a", "127.0.0.1", "-p", "-1"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, rx) = mpsc::channel::<String>();
        let thread_log = Arc::clone(&log);
        let news = Arc::new(Condvar::new());
        let ended = Arc::new(AtomicBool::new(false));
        let (thread_news, thread_ended) = (Arc::clone(&news), Arc::clone(&ended));
        // The thread drains stderr for the life of the process so the pipe never fills; it ends
        // at EOF, i.e. when the process exits.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                {
                    let mut log = thread_log.lock().unwrap();
                    if log.len() == LOG_TAIL {
                        log.pop_front();
                    }
                    log.push_back(line.clone());
                }
                thread_news.notify_all();
                // The receiver is gone once startup is over; later lines only go to the log.
                let _ = tx.send(line);
            }
            let _guard = thread_log.lock().unwrap();
            thread_ended.store(true, Ordering::SeqCst);
            thread_news.notify_all();
        });

        let mut server = Server {
            kind,
            program: program.to_owned(),
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
            news,
            ended,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let mut port = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
                        let p = rest.trim().rsplit(':').next().and_then(|p| p.parse().ok());
                        port = Some(p.unwrap_or_else(|| {
                            server.fail(&format!("cannot parse the port in {line:?}"))
                        }));
                    } else if line.contains("Server is ready") {
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    server.fail("no `Server is ready` line within 10 s")
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = server.child.wait().ok();
                    server.fail(&format!("the process exited during startup ({status:?})"))
                }
            }
        }
        let Some(port) = port else {
            server.fail("`Server is ready` came before any `Listening for client connections` line")
        };
        server.addr = SocketAddr::from(([127, 0, 0, 1], port));
        server
    }

    /// Which implementation this is.
    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// The client address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A `nats://` URL for clients.
    pub(crate) fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// The process id (for `/proc/PID/status`).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `name` (a `kill -s` name such as `HUP`) to the process.
    pub(crate) fn signal(&self, name: &str) {
        signal(self.pid(), name);
    }

    /// Stops the server with SIGTERM and returns its whole log: every line written before
    /// it exited, so nothing logged just after an awaited line is missed.
    pub(crate) fn stop(&mut self) -> Vec<String> {
        self.signal("TERM");
        if self.wait_exit(START_TIMEOUT).is_none() {
            panic!("{}: still running {START_TIMEOUT:?} after SIGTERM", self.kind.label());
        }
        self.log_lines()
    }

    /// The last lines of the server's log (stderr), oldest first.
    pub(crate) fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().iter().cloned().collect()
    }

    /// The first kept log line containing `needle`, waiting up to `limit` for it; panics with
    /// the log tail if none comes.
    pub(crate) fn wait_for_log(&self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        let mut log = self.log.lock().unwrap();
        loop {
            if let Some(line) = log.iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.ended.load(Ordering::SeqCst) {
                drop(log);
                panic!(
                    "{}: no log line with {needle:?} within {limit:?}\n{}",
                    self.kind.label(),
                    self.log_tail()
                );
            }
            log = self.news.wait_timeout(log, left).unwrap().0;
        }
    }

    /// Waits up to `limit` for the process to exit by itself; its exit status, or `None` if
    /// it is still running then.
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        {
            let mut log = self.log.lock().unwrap();
            while !self.ended.load(Ordering::SeqCst) {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return None;
                }
                log = self.news.wait_timeout(log, left).unwrap().0;
            }
        }
        // Stderr is closed: the process is exiting; reap it.
        self.child.wait().ok()
    }

    /// The last lines of the server's log, for failure messages.
    pub(crate) fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap();
        log.iter().map(|l| format!("    {l}\n")).collect()
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "starting {} ({}): {what}\n  log:\n{}",
            self.kind.label(),
            self.program.display(),
            self.log_tail()
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
