//! Live reload with the real `strait` binary: SIGHUP and `strait --signal reload` re-read the
//! `-c` file; credentials, users and logging change in place, a broken file or a change that
//! needs a restart leaves the running configuration alone, `/varz` `config_load_time` moves,
//! and a gateway remote added by a reload is dialled.
//!
//! Every wait is for a log line or a socket event, bounded by [`WAIT`].

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Generous bound for any one thing to happen on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(15);

fn strait() -> &'static str {
    env!("CARGO_BIN_EXE_strait")
}

/// A scratch directory removed at the end of the test.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("strait-reload-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `strait`; its stderr lines arrive on a channel. Killed on drop.
struct Strait {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    port: u16,
}

impl Strait {
    fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(strait())
            .args(["-a", "127.0.0.1", "-p", "-1"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run strait");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut s = Self { child, lines, seen: Vec::new(), port: 0 };
        let listening = s.wait_for("Listening for client connections on ");
        s.port = port_in(&listening);
        s.wait_for("Server is ready");
        s
    }

    /// The first line from now on containing `needle` (panics with the log after [`WAIT`]).
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!("no line with {needle:?} ({e:?}); log:\n{}", self.seen.join("\n")),
            }
        }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -s {name}");
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Strait {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn port_in(line: &str) -> u16 {
    line.trim().rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("{line}"))
}

/// A raw client connection.
struct Client(TcpStream);

impl Client {
    fn connect(port: u16, connect: &str) -> Self {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let mut c = Self(s);
        c.read_until("\r\n");
        c.0.write_all(format!("CONNECT {connect}\r\nPING\r\n").as_bytes()).unwrap();
        c
    }

    fn login(port: u16, user: &str, pass: &str) -> Self {
        Self::connect(port, &format!(r#"{{"verbose":false,"user":"{user}","pass":"{pass}"}}"#))
    }

    /// Bytes up to and including `end`, or everything until EOF.
    fn read_until(&mut self, end: &str) -> String {
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        while !got.ends_with(end.as_bytes()) {
            match self.0.read(&mut byte) {
                Ok(0) => break,
                Ok(_) => got.push(byte[0]),
                Err(e) => panic!("read: {e} after {:?}", String::from_utf8_lossy(&got)),
            }
        }
        String::from_utf8(got).unwrap()
    }

    /// Everything until the server closes the connection.
    fn read_to_eof(&mut self) -> String {
        let mut rest = String::new();
        self.0.read_to_string(&mut rest).expect("EOF before the read timeout");
        rest
    }
}

fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

fn config_load_time(port: u16) -> String {
    let varz = http_get(port, "/varz");
    let start = varz.find("\"config_load_time\"").expect("config_load_time in /varz");
    let value = &varz[start..];
    value.split('"').nth(3).unwrap().to_owned()
}

fn users(list: &str) -> String {
    format!("authorization {{ users: [ {list} ] }}\n")
}

#[test]
fn sighup_changes_passwords_users_and_logging_in_place() {
    let dir = Scratch::new("users");
    let conf = dir.file("s.conf", &users("{user: a, password: one}"));
    let mut s = Strait::start(&["-c", conf.to_str().unwrap(), "-m", "-1"]);
    let http = port_in(&s.wait_for_seen_or("Starting http monitor on "));
    let loaded = config_load_time(http);

    let mut old = Client::login(s.port, "a", "one");
    assert_eq!(old.read_until("PONG\r\n"), "PONG\r\n");
    dir.file(
        "s.conf",
        &format!("{}logtime: false\n", users("{user: a, password: two}, {user: b, password: bee}")),
    );
    s.signal("HUP");
    s.wait_for("Trapped \"hangup\" signal");
    s.wait_for("Reloaded: authorization users");
    let done = s.wait_for("Reloaded server configuration");
    // logtime: false applied before the last line: `[PID] [INF] …` without a timestamp.
    assert!(done.starts_with(&format!("[{}] [INF] ", s.pid())), "{done}");

    // The client whose password changed is told and closed, as nats-server does.
    assert_eq!(old.read_to_eof(), "-ERR 'Authorization Violation'\r\n");
    assert!(Client::login(s.port, "a", "one").read_to_eof().contains("Authorization Violation"));
    assert_eq!(Client::login(s.port, "a", "two").read_until("PONG\r\n"), "PONG\r\n");
    assert_eq!(Client::login(s.port, "b", "bee").read_until("PONG\r\n"), "PONG\r\n");
    let reloaded = config_load_time(http);
    assert!(reloaded > loaded, "config_load_time {loaded} -> {reloaded}");
}

#[test]
fn a_broken_file_keeps_the_running_configuration() {
    let dir = Scratch::new("broken");
    let conf = dir.file("s.conf", &users("{user: a, password: one}"));
    let pid_file = dir.0.join("s.pid");
    let mut s = Strait::start(&["-c", conf.to_str().unwrap(), "-P", pid_file.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), s.pid().to_string());
    dir.file("s.conf", &format!("{}max_payload: banana\n", users("{user: a, password: two}")));
    // `--signal reload=<pid file>` reaches the server named in the file.
    let spec = format!("reload={}", pid_file.display());
    let out = Command::new(strait()).args(["--signal", &spec]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = s.wait_for("Failed to reload server configuration: ");
    assert!(line.contains("[ERR]") && line.contains("s.conf:2:"), "{line}");
    assert_eq!(Client::login(s.port, "a", "one").read_until("PONG\r\n"), "PONG\r\n");
}

#[test]
fn a_change_that_needs_a_restart_is_refused_with_nats_server_words() {
    let dir = Scratch::new("refused");
    let conf = dir.file("s.conf", "server_name: a\nmax_payload: 100\n");
    let mut s = Strait::start(&["-c", conf.to_str().unwrap()]);
    dir.file("s.conf", "server_name: b\nmax_payload: 200\n");
    let spec = format!("reload={}", s.pid());
    let out = Command::new(strait()).args(["-sl", &spec]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = s.wait_for("Failed to reload server configuration: ");
    assert!(line.ends_with("config reload not supported for ServerName: old=a, new=b"), "{line}");
    // Nothing of the refused file applies: max_payload is still 100.
    let mut c = Client::connect(s.port, r#"{"verbose":false}"#);
    c.read_until("PONG\r\n");
    c.0.write_all(b"PUB foo 150\r\n").unwrap();
    assert!(c.read_to_eof().contains("Maximum Payload Violation"));
    // Flags keep overriding the file: a port given with -p is not a change.
    dir.file("s.conf", "server_name: a\nmax_payload: 200\nport: 1\n");
    s.signal("HUP");
    s.wait_for("Reloaded: max_payload = 200");
    s.wait_for("Reloaded server configuration");
}

#[test]
fn a_gateway_remote_added_by_reload_is_dialled_and_one_removed_is_dropped() {
    let dir = Scratch::new("gateway");
    let gateway = |name: &str, remotes: &str| {
        format!("gateway {{ name: {name}, listen: \"127.0.0.1:-1\", gateways: [ {remotes} ] }}\n")
    };
    let b_conf = dir.file("b.conf", &gateway("B", ""));
    let mut b = Strait::start(&["-c", b_conf.to_str().unwrap()]);
    let b_port = port_in(&b.wait_for_seen_or("Listening for gateways connections on "));
    let a_conf = dir.file("a.conf", &gateway("A", ""));
    let mut a = Strait::start(&["-c", a_conf.to_str().unwrap()]);
    let remote = format!("{{name: B, url: \"nats://127.0.0.1:{b_port}\"}}");
    dir.file("a.conf", &gateway("A", &remote));
    let mark = a.mark();
    a.signal("HUP");
    a.wait_for("Reloaded: gateway remote \"B\" added");
    // The dial starts at once: these lines may come in either order.
    a.wait_for_since(mark, "Outbound gateway connection to \"B\"");
    a.wait_for_since(mark, "Reloaded server configuration");
    b.wait_for("Inbound gateway connection from \"A\"");
    // Removing it closes the outbound link; it is not dialled again.
    dir.file("a.conf", &gateway("A", ""));
    let mark = a.mark();
    a.signal("HUP");
    a.wait_for_since(mark, "Reloaded: gateway remote \"B\" removed");
    a.wait_for_since(mark, "Gateway connection closed: Gateway Removed");
    a.wait_for_since(mark, "Reloaded server configuration");
}

impl Strait {
    /// A line already printed during startup, or the next one, containing `needle`.
    fn wait_for_seen_or(&mut self, needle: &str) -> String {
        self.wait_for_since(0, needle)
    }

    /// How many lines were read so far (a mark for [`Strait::wait_for_since`]).
    fn mark(&self) -> usize {
        self.seen.len()
    }

    /// A line containing `needle` read after `mark`, or the next one: for lines that may come
    /// in any order.
    fn wait_for_since(&mut self, mark: usize, needle: &str) -> String {
        match self.seen[mark..].iter().find(|l| l.contains(needle)) {
            Some(line) => line.clone(),
            None => self.wait_for(needle),
        }
    }
}

/// The entry point the simulation and embedders use: no file, no signal.
#[tokio::test]
async fn run_with_applies_reloads_in_process() {
    use strait_core::node::NodeConfig;
    use strait_net::reload::{self, ReloadFailure};
    use strait_net::server::{self, DriverConfig, Listeners};
    use strait_net::transport::TcpDialer;

    let client = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (reloads, receiver) = reload::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listeners = Listeners { client, gateway: None, route: None, monitor: None };
    let config = NodeConfig { server_name: Some("s".into()), ..NodeConfig::default() };
    let shutdown = async move {
        let _ = stopped.await;
    };
    let extras = server::Extras { reloads: Some(receiver), ..server::Extras::default() };
    let serving = tokio::spawn(server::run_with(
        config.clone(),
        DriverConfig::default(),
        1,
        listeners,
        TcpDialer,
        shutdown,
        extras,
    ));
    let mut smaller = config.clone();
    smaller.limits.max_payload = 10;
    let summary = reloads.reload(smaller.clone(), DriverConfig::default()).await.unwrap();
    assert_eq!(summary.changed, ["max_payload = 10"]);
    let mut renamed = smaller;
    renamed.server_name = Some("t".into());
    match reloads.reload(renamed, DriverConfig::default()).await {
        Err(ReloadFailure::Refused(e)) => {
            assert_eq!(e.to_string(), "config reload not supported for ServerName: old=s, new=t")
        }
        other => panic!("{other:?}"),
    }
    stop.send(()).unwrap();
    tokio::time::timeout(WAIT, serving).await.unwrap().unwrap().unwrap();
    assert_eq!(reloads.reload(config, DriverConfig::default()).await, Err(ReloadFailure::Stopped));
}
