//! Lame-duck mode against the real nats-server 2.15.1, side by side: `SIGUSR2` or
//! `--signal ldm=PID` makes the server stop taking clients, send its clients an INFO with
//! `"ldm":true`, close them after the grace period with `Server Shutdown`, and exit 0, with
//! nats-server's log lines. The smallest durations nats-server accepts keep the runs short
//! (`lame_duck_duration` has a 30 s minimum; a 1 s grace period leaves the clients at most a
//! second apart).
//!
//! Every wait is for a log line, a socket event or the process exit, bounded.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{Kind, Server, assert_python_ok, run_python, scenarios};

/// Generous bound for any one thing to happen on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(20);

fn conf(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("strait-ldm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file
}

/// A raw client that completed CONNECT (protocol 1) and its first PING, with the INFO that
/// answered it (`connect_info`).
struct Client(BufReader<TcpStream>, String);

impl Client {
    fn connect(server: &Server) -> Self {
        let stream = TcpStream::connect(server.addr()).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut c = Self(BufReader::new(stream), String::new());
        assert!(c.line().starts_with("INFO "));
        c.0.get_mut().write_all(b"CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n").unwrap();
        assert_eq!(c.line(), "PONG\r\n");
        // Protocol 1: the first PONG is followed by an INFO with connect_info.
        c.1 = c.line();
        assert!(c.1.contains(",\"connect_info\":true,\"remote_account\":\"$G\""), "{}", c.1);
        c
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.0.read_line(&mut line).expect("a line before the read timeout");
        line
    }

    /// What arrives until the server closes the connection.
    fn rest(&mut self) -> String {
        let mut rest = String::new();
        while let Ok(n) = self.0.read_line(&mut rest) {
            if n == 0 {
                return rest;
            }
        }
        panic!("no EOF within {WAIT:?}; got {rest:?}")
    }
}

/// `[INF]` lines with `text`, how many.
fn count_info(server: &Server, text: &str) -> usize {
    server.log_lines().iter().filter(|l| l.contains("[INF]") && l.contains(text)).count()
}

#[test]
fn sigusr2_tells_clients_then_closes_them_and_exits_0() {
    let file = conf("ldm.conf", "lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"1s\"\n");
    for kind in Kind::BOTH {
        let mut s = Server::start_with(kind, &["-c", file.to_str().unwrap(), "-D"]);
        let label = kind.label();
        let mut clients: Vec<Client> = (0..3).map(|_| Client::connect(&s)).collect();

        s.signal("USR2");
        for c in &mut clients {
            // The server's INFO for this client, with `ldm` where the first one had
            // `connect_info` and the account (and no `connect_urls`: no cluster).
            let info = c.line();
            let expected =
                c.1.replace(",\"connect_info\":true,\"remote_account\":\"$G\"", ",\"ldm\":true");
            assert_eq!(info, expected, "{label}");
        }
        // By the time clients are told, the listener is closed.
        let refused = TcpStream::connect(s.addr());
        assert!(refused.is_err(), "{label}: a new client was accepted in lame-duck mode");
        // A second request and SIGTERM change nothing while in lame-duck mode.
        s.signal("USR2");
        s.signal("TERM");
        s.wait_for_log("Trapped \"terminated\" signal", WAIT);

        for c in &mut clients {
            // Only keep-alive PINGs (nats-server's first one comes ~2 s after CONNECT) may
            // follow the ldm INFO: no -ERR, the close reason is not sent.
            let rest = c.rest().replace("PING\r\n", "");
            assert_eq!(rest, "", "{label}: after the ldm INFO");
        }
        let status = s.wait_exit(WAIT).unwrap_or_else(|| panic!("{label} did not exit"));
        assert!(status.success(), "{label}: {status:?}\n{}", s.log_tail());

        assert_eq!(count_info(&s, "Trapped \"user defined signal 2\" signal"), 2, "{label}");
        assert_eq!(count_info(&s, "Entering lame duck mode, stop accepting new clients"), 1);
        assert_eq!(count_info(&s, "Closing existing clients"), 1, "{label}");
        assert_eq!(count_info(&s, "Initiating Shutdown..."), 1, "{label}");
        assert_eq!(count_info(&s, "Server Exiting.."), 1, "{label}");
        let closed = s
            .log_lines()
            .iter()
            .filter(|l| {
                l.contains("[DBG]") && l.contains("Client connection closed: Server Shutdown")
            })
            .count();
        assert_eq!(closed, 3, "{label}: {}", s.log_tail());
        // The order: told, grace, closing, shutdown.
        let lines = s.log_lines();
        let at = |t: &str| lines.iter().position(|l| l.contains(t)).unwrap();
        assert!(at("Entering lame duck mode") < at("Closing existing clients"), "{label}");
        assert!(at("Closing existing clients") < at("Initiating Shutdown..."), "{label}");
    }
}

#[test]
fn signal_ldm_flag_without_clients_exits_at_once() {
    let file =
        conf("ldm-none.conf", "lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"10s\"\n");
    for kind in Kind::BOTH {
        let mut s = Server::start_with(kind, &["-c", file.to_str().unwrap()]);
        let label = kind.label();
        let out =
            Command::new(kind.program()).arg(format!("--signal=ldm={}", s.pid())).output().unwrap();
        assert!(out.status.success(), "{label}: {out:?}");
        // No client: no grace period to wait out (well within the 10 s one).
        let status = s
            .wait_exit(Duration::from_secs(8))
            .unwrap_or_else(|| panic!("{label} did not exit at once\n{}", s.log_tail()));
        assert!(status.success(), "{label}: {status:?}");
        assert_eq!(count_info(&s, "Entering lame duck mode, stop accepting new clients"), 1);
        assert_eq!(count_info(&s, "Closing existing clients"), 0, "{label}");
        assert_eq!(count_info(&s, "Server Exiting.."), 1, "{label}: {}", s.log_tail());
    }
}

/// nats-py connected to the first of two servers signals it into lame-duck mode, sees the
/// ldm INFO (its `lame_duck_mode_cb`), and is moved to the second server when closed.
const NATS_PY_MOVES: &str = r#"
import asyncio, os, signal, sys
import nats

async def main(first, second, pid):
    ldm, moved = asyncio.Event(), asyncio.Event()
    async def on_ldm():
        ldm.set()
    async def on_reconnect():
        moved.set()
    nc = await nats.connect(
        servers=[first, second], dont_randomize=True, connect_timeout=5,
        reconnect_time_wait=0.1, max_reconnect_attempts=50,
        lame_duck_mode_cb=on_ldm, reconnected_cb=on_reconnect)
    port = lambda url: int(url.rsplit(":", 1)[1])
    assert nc.connected_url.port == port(first), nc.connected_url
    os.kill(int(pid), signal.SIGUSR2)
    await asyncio.wait_for(ldm.wait(), 10)
    await asyncio.wait_for(moved.wait(), 20)
    assert nc.connected_url.port == port(second), nc.connected_url
    sub = await nc.subscribe("py.ldm")
    await nc.publish("py.ldm", b"moved")
    msg = await sub.next_msg(timeout=5)
    assert msg.data == b"moved", msg.data
    await nc.close()
    print("ok")

asyncio.run(asyncio.wait_for(main(*sys.argv[1:4]), 40))
"#;

async fn nats_py_moves_to_the_next_server(kind: Kind) {
    let file = conf(
        &format!("py-{}.conf", kind.label()),
        "lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"1s\"\n",
    );
    let mut first = Server::start_with(kind, &["-c", file.to_str().unwrap()]);
    let second = Server::start(kind);
    let script = conf(&format!("moves-{}.py", kind.label()), NATS_PY_MOVES);
    let (a, b, pid) = (first.url(), second.url(), first.pid().to_string());
    let out = run_python(script.to_str().unwrap(), &[&a, &b, &pid], Duration::from_secs(50)).await;
    assert_python_ok(&out, &first, "nats-py in lame-duck mode");
    let status = first.wait_exit(WAIT).expect("the lame duck exits");
    assert!(status.success(), "{status:?}");
}

scenarios!(nats_py_moves_to_the_next_server);
