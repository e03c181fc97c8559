//! Shared helpers for the interop suites (and the `bench` example, which includes this file by
//! path): start `strait` or the reference `nats-server` on a random loopback port and stop it on
//! drop.
//!
//! Both servers follow the same contract: `-a 127.0.0.1 -p -1` picks a free port, the log on
//! stderr carries `Listening for client connections on HOST:PORT` and then `Server is ready`.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

/// Unwraps a harness `Result`, or panics with the error and the logs of the servers listed
/// after `;` (through the caller's `describe_all`), or of the cluster slice after `,`.
#[allow(unused_macros)]
macro_rules! ok {
    ($e:expr; $($s:expr),+) => {
        match $e {
            Ok(v) => v,
            Err(e) => panic!("{e}\n{}", describe_all(&[$($s),+])),
        }
    };
    ($e:expr, $servers:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => panic!("{e}\n{}", $crate::common::cluster::describe_all($servers)),
        }
    };
}

/// `kind_combos! { scenario { test: [S, N], … } … }`: a module per scenario with one test per
/// combination of server kinds, each calling `scenario(&[kinds])`.
#[allow(unused_macros)]
macro_rules! kind_combos {
    ($($scenario:ident { $($test:ident: [$($k:ident),+]),+ $(,)? })+) => {$(
        mod $scenario {
            $(
                #[test]
                fn $test() {
                    super::$scenario(&[$(super::$k),+]);
                }
            )+
        }
    )+};
}

pub(crate) mod certs;
#[macro_use]
pub(crate) mod cluster;
pub(crate) mod gateway;
pub(crate) mod process_log;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use process_log::ProcessLog;

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
    log: Arc<ProcessLog>,
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
        let log = ProcessLog::drain(child.stderr.take().expect("stderr is piped"));
        let mut server = Server {
            kind,
            program: program.to_owned(),
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
        };
        if let Err(e) = server.log.wait_all(0, &["Server is ready"], START_TIMEOUT) {
            server.fail(&e);
        }
        match server.log.listen_addr("Listening for client connections on ") {
            Some(addr) => server.addr = addr,
            None => server.fail("no parsable `Listening for client connections` line"),
        }
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

    /// The server's log (stderr), oldest first.
    pub(crate) fn log_lines(&self) -> Vec<String> {
        self.log.all()
    }

    /// The first log line containing `needle`, waiting up to `limit` for it; panics with the
    /// log tail if none comes.
    pub(crate) fn wait_for_log(&self, needle: &str, limit: Duration) -> String {
        self.log.wait_all(0, &[needle], limit).unwrap_or_else(|e| {
            panic!("{}: {e}\n{}", self.kind.label(), self.log_tail());
        })
    }

    /// Waits up to `limit` for the process to exit by itself; its exit status, or `None` if
    /// it is still running then.
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        // Stderr closed: the process is exiting; reap it.
        self.log.wait_closed(limit).then(|| self.child.wait().ok()).flatten()
    }

    /// The last lines of the server's log, for failure messages.
    pub(crate) fn log_tail(&self) -> String {
        self.log.tail(LOG_TAIL)
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
