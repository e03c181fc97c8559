//! Client events in the log, compared with nats-server 2.15.1: the same raw bytes are driven at
//! both servers started with `-DV` (or `-D`), and each connection's log lines are compared line
//! by line, level and text, after the timestamp.
//!
//! Normalisation: the peer address becomes `IP:PORT` and connection ids are numbered in order
//! of first appearance (nats-server's own internal clients take the first cids). Lines are
//! grouped per connection, so lines of different connections may interleave differently.
//! Every wait polls the log with a deadline.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Kind, Server};

/// Bound for a line to appear in a log, or a connection to be closed by the server.
const WAIT: Duration = Duration::from_secs(10);

/// A configuration file for one scenario, in a directory unique to this test process.
fn config_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("strait-client-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.conf"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts `kind` with `flags` and, if given, the configuration `conf`.
fn start(kind: Kind, flags: &[&str], conf: Option<&PathBuf>) -> Server {
    let mut args: Vec<&str> = flags.to_vec();
    let conf_arg;
    if let Some(c) = conf {
        conf_arg = c.display().to_string();
        args.push("-c");
        args.push(&conf_arg);
    }
    Server::start_with(kind, &args)
}

/// A raw client: connects and reads the INFO line.
fn connect(server: &Server) -> TcpStream {
    let s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n") {
        match (&s).read(&mut byte) {
            Ok(1) => got.push(byte[0]),
            _ => panic!("{}: no INFO", server.kind().label()),
        }
    }
    s
}

/// Reads until `want` has arrived (bounded by the read timeout).
fn read_until(s: &mut TcpStream, want: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(want) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Reads until the server closes the connection (bounded by the read timeout).
fn read_to_close(s: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
    }
}

/// Waits until `n` lines containing `needle` are in the log.
fn wait_for(server: &Server, needle: &str, n: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        let count = server.log_lines().iter().filter(|l| l.contains(needle)).count();
        if count >= n {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "{}: {n} line(s) with {needle:?} did not appear in {WAIT:?}\n  log:\n{}",
                server.kind().label(),
                server.log_tail()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The client lines of a log, normalised and grouped by connection (in order of first
/// appearance).
fn client_lines(lines: &[String]) -> Vec<Vec<String>> {
    let mut cids: BTreeMap<String, usize> = BTreeMap::new();
    let mut groups: Vec<Vec<String>> = Vec::new();
    for line in lines {
        // `[pid] date time [LVL] text`: keep from the level on.
        let Some(at) = line.get(1..).and_then(|l| l.find('[')).map(|i| i + 1) else { continue };
        let text = &line[at..];
        let Some(cid_at) = text.find(" - cid:") else { continue };
        let digits: String = text[cid_at + 7..].chars().take_while(char::is_ascii_digit).collect();
        let next = cids.len();
        let index = *cids.entry(digits.clone()).or_insert(next);
        if index == groups.len() {
            groups.push(Vec::new());
        }
        // `[LVL] IP:PORT - cid:N - rest`
        let level = &text[..5];
        let rest = &text[cid_at + 7 + digits.len()..];
        groups[index].push(format!("{level} IP:PORT - cid:{} {}", index + 1, rest.trim_start()));
    }
    groups
}

/// Runs `drive` against nats-server and Strait and compares their client lines; returns
/// nats-server's (normalised) for further checks.
fn compare(
    name: &str,
    flags: &[&str],
    conf: Option<&str>,
    drive: impl Fn(&Server),
) -> Vec<Vec<String>> {
    compare_only(name, flags, conf, None, drive)
}

/// [`compare`], limited to the connection numbered `only` (from 1) when given.
fn compare_only(
    name: &str,
    flags: &[&str],
    conf: Option<&str>,
    only: Option<usize>,
    drive: impl Fn(&Server),
) -> Vec<Vec<String>> {
    let conf = conf.map(|c| config_file(name, c));
    let mut results = Vec::new();
    for kind in Kind::BOTH {
        let mut server = start(kind, flags, conf.as_ref());
        drive(&server);
        // Lines may follow the awaited one (a DELSUB trace, a last error): read to the end.
        results.push(client_lines(&server.stop()));
    }
    if let Some(n) = only {
        let pick = |groups: &Vec<Vec<String>>| groups.get(n - 1).cloned().unwrap_or_default();
        assert_eq!(pick(&results[0]), pick(&results[1]), "{name}: connection {n}");
        return results.swap_remove(0);
    }
    let (reference, ours) = (&results[0], &results[1]);
    assert_eq!(
        reference.len(),
        ours.len(),
        "{name}: connections logged\n  nats-server: {reference:#?}\n  strait: {ours:#?}"
    );
    for (i, (r, o)) in reference.iter().zip(ours).enumerate() {
        assert_eq!(r, o, "{name}: connection {}", i + 1);
    }
    results.swap_remove(0)
}

#[test]
fn connect_traffic_and_close_are_traced_in_nats_server_words() {
    let groups = compare("traffic", &["-DV"], None, |server| {
        let mut s = connect(server);
        s.write_all(
            b"CONNECT {\"verbose\":true,\"pedantic\":false,\"lang\":\"rust\",\"version\":\"0.51.0\",\
              \"name\":\"nm\",\"user\":\"a\",\"pass\":\"secret\"}\r\nPING\r\n",
        )
        .unwrap();
        read_until(&mut s, "PONG");
        s.write_all(b"SUB foo 1\r\nPUB foo 3\r\nbar\r\nPUB foo 0\r\n\r\nUNSUB 1\r\nPING\r\n")
            .unwrap();
        read_until(&mut s, "PONG");
        drop(s);
        wait_for(server, "Client connection closed", 1);
    });
    let lines = &groups[0];
    assert!(lines.iter().any(|l| l.contains(r#""pass":"[REDACTED]""#)), "{lines:#?}");
    assert!(lines.iter().any(|l| l.ends_with("->> [MSG foo 1 3]")), "{lines:#?}");
    assert!(
        lines.last().unwrap().ends_with(
            r#""v0.51.0:rust:nm" - "$G/user:a" - Client connection closed: Client Closed"#
        ),
        "{lines:#?}"
    );
}

#[test]
fn parser_errors_log_the_position_and_close() {
    let scripts: [&[u8]; 7] = [
        b"SUB foo 1\r\nXYZ\r\n",
        b"PUX\r\n",
        b"UNSUB\r\n",
        b"PUB foo 1\r\nab\r\n",
        b"PUB a b c\r\n",
        b"SUB foo\r\n",
        b"CONNECT {\"lang\":\"go\",\"verbose\":false}\r\n-ERR 'boom'\r\n",
    ];
    let groups = compare("parser", &["-DV"], None, |server| {
        for (i, script) in scripts.iter().enumerate() {
            let mut s = connect(server);
            s.write_all(script).unwrap();
            read_to_close(&mut s);
            wait_for(server, "Client connection closed", i + 1);
        }
        // The first connection's subscription goes after its closed line.
        wait_for(server, "<-> [DELSUB 1]", 1);
    });
    let first = &groups[0];
    assert!(
        first
            .iter()
            .any(|l| l.ends_with(r#"Client parser ERROR, state=0, i=11: proto='"XYZ\r"...'"#)),
        "{first:#?}"
    );
    assert!(first.last().unwrap().ends_with("<-> [DELSUB 1]"), "{first:#?}");
}

#[test]
fn limits_and_protocol_errors_log_their_reasons() {
    let conf = "max_payload: 100\nmax_control_line: 64\n";
    let scripts: [&[u8]; 4] = [
        b"PUB foo 200\r\n",
        b"PUB aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        b"CONNECT {\"protocol\":5}\r\n",
        b"CONNECT {\"verbose\":false,\"no_responders\":true}\r\n",
    ];
    compare("limits", &["-DV"], Some(conf), |server| {
        for (i, script) in scripts.iter().enumerate() {
            let mut s = connect(server);
            s.write_all(script).unwrap();
            read_to_close(&mut s);
            wait_for(server, "Client connection closed", i + 1);
        }
    });
}

#[test]
fn keep_open_errors_are_traced() {
    compare("keep-open", &["-DV"], None, |server| {
        let mut s = connect(server);
        s.write_all(
            b"CONNECT {\"pedantic\":true,\"verbose\":false}\r\nPUB foo.* 1\r\nx\r\nSUB a..b 1\r\nPING\r\n",
        )
        .unwrap();
        read_until(&mut s, "PONG");
        drop(s);
        wait_for(server, "Client connection closed", 1);
    });
}

#[test]
fn maximum_connections_exceeded_is_an_error_line() {
    compare("maxconn", &["-DV"], Some("max_connections: 1\n"), |server| {
        let mut first = connect(server);
        first.write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n").unwrap();
        read_until(&mut first, "PONG");
        let mut second = connect(server);
        read_to_close(&mut second);
        wait_for(server, "Maximum Connections Exceeded", 1);
        drop(first);
        wait_for(server, "Client connection closed", 2);
    });
}

#[test]
fn stale_connections_are_logged_at_debug_level() {
    let conf = "ping_interval: \"300ms\"\nping_max: 1\n";
    compare("stale", &["-DV"], Some(conf), |server| {
        let mut s = connect(server);
        s.write_all(b"CONNECT {\"verbose\":false}\r\n").unwrap();
        read_to_close(&mut s);
        wait_for(server, "Client connection closed: Stale Connection", 1);
    });
}

#[test]
fn an_authentication_timeout_is_logged() {
    let conf = "authorization { token: s3cr3t, timeout: 0.5 }\n";
    compare("auth-timeout", &["-DV"], Some(conf), |server| {
        let mut s = connect(server);
        read_to_close(&mut s);
        wait_for(server, "Client connection closed: Authentication Timeout", 1);
    });
}

#[test]
fn a_reset_connection_is_a_read_error() {
    compare("reset", &["-DV"], None, |server| {
        let s = connect(server);
        (&s).write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n").unwrap();
        // The PONG arrives and is never read (peek leaves it queued): closing now resets the
        // connection.
        s.peek(&mut [0u8; 1]).unwrap();
        drop(s);
        wait_for(server, "Client connection closed", 1);
    });
}

#[test]
fn a_slow_consumer_is_detected_at_info_level() {
    let conf = "max_pending: 65536\nmax_payload: 65536\n";
    // Only the subscriber is compared: nats-server also stalls the fast producer (and logs
    // it), which Strait does not do.
    let groups = compare_only("slow", &["-D"], Some(conf), Some(1), |server| {
        let mut sub = connect(server);
        sub.write_all(b"CONNECT {\"verbose\":false}\r\nSUB big 1\r\nPING\r\n").unwrap();
        read_until(&mut sub, "PONG");
        // The subscriber stops reading; 32 MiB fill the socket buffers and then its queue.
        let mut publisher = connect(server);
        publisher.write_all(b"CONNECT {\"verbose\":false}\r\n").unwrap();
        let mut frame = b"PUB big 60000\r\n".to_vec();
        frame.extend(std::iter::repeat_n(b'x', 60_000));
        frame.extend_from_slice(b"\r\n");
        for _ in 0..560 {
            if publisher.write_all(&frame).is_err() {
                break;
            }
            if server.log_lines().iter().any(|l| l.contains("Slow Consumer Detected")) {
                break;
            }
        }
        wait_for(server, "Slow Consumer (Pending Bytes)", 1);
        // Drain to the server's close: dropping unread data would reset a flush still under
        // way, which nats-server then logs as well.
        read_to_close(&mut sub);
        publisher.shutdown(Shutdown::Both).ok();
        drop(publisher);
        wait_for(server, "Client connection closed", 2);
    });
    assert!(
        groups[0]
            .iter()
            .any(|l| l
                == "[INF] IP:PORT - cid:1 - Slow Consumer Detected: MaxPending of 65536 Exceeded"),
        "{groups:#?}"
    );
}

#[test]
fn a_reload_turns_client_debug_and_trace_lines_on() {
    let conf = config_file("reload", "debug: false\ntrace: false\n");
    let server = start(Kind::Strait, &[], Some(&conf));
    let mut quiet = connect(&server);
    quiet.write_all(b"PING\r\n").unwrap();
    read_until(&mut quiet, "PONG");
    std::fs::write(&conf, "debug: true\ntrace: true\n").unwrap();
    server.signal("HUP");
    wait_for(&server, "Reloaded server configuration", 1);
    // The connection made before the reload traces from now on, too.
    quiet.write_all(b"PING\r\n").unwrap();
    read_until(&mut quiet, "PONG");
    let mut loud = connect(&server);
    loud.write_all(b"PING\r\n").unwrap();
    read_until(&mut loud, "PONG");
    wait_for(&server, "->> [PONG]", 2);
    let groups = client_lines(&server.log_lines());
    assert_eq!(groups.len(), 2, "{groups:#?}");
    assert_eq!(
        groups[0],
        ["[TRC] IP:PORT - cid:1 - <<- [PING]", "[TRC] IP:PORT - cid:1 - ->> [PONG]"]
    );
    assert_eq!(groups[1][0], "[DBG] IP:PORT - cid:2 - Client connection created");
}

#[test]
fn traced_payloads_follow_max_traced_msg_len_and_trace_headers() {
    let script: &[u8] = b"CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB foo 1\r\n\
        PUB foo 8\r\nabcdefgh\r\nHPUB foo 18 22\r\nNATS/1.0\r\nA: b\r\n\r\nbody\r\nPING\r\n";
    for (name, conf) in [("short", "max_traced_msg_len: 4\n"), ("headers", "trace_headers: true\n")]
    {
        compare(name, &["-DV"], Some(conf), |server| {
            let mut s = connect(server);
            s.write_all(script).unwrap();
            read_until(&mut s, "PONG");
            drop(s);
            // The last line: the subscription goes after the closed line.
            wait_for(server, "<-> [DELSUB 1]", 1);
        });
    }
}

#[tokio::test]
async fn tls_handshakes_are_logged_at_debug_level() {
    use common::certs::{Ca, Dir, Files, LeafSpec};
    let dir = Dir::new();
    let ca = Ca::root("client-logs-ca");
    let server_files = Files::write(&dir, "server", &ca.leaf(&LeafSpec::new("server")), &[&ca]);
    let conf = server_files.block("");
    let mut results = Vec::new();
    for kind in Kind::BOTH {
        let path = config_file(&format!("tls-{}", kind.label()), &conf);
        let server = start(kind, &["-D"], Some(&path));
        let client = async_nats::ConnectOptions::new()
            .add_root_certificates(PathBuf::from(&server_files.ca))
            .require_tls(true)
            .connection_timeout(WAIT)
            .connect(server.url())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", kind.label(), server.log_tail()));
        client.flush().await.unwrap();
        drop(client);
        let log = tokio::task::spawn_blocking(move || {
            wait_for(&server, "Client connection closed", 1);
            server.log_lines()
        })
        .await
        .unwrap();
        results.push(client_lines(&log));
    }
    assert_eq!(results[0], results[1]);
    assert!(results[0][0].iter().any(|l| l.ends_with("- TLS handshake complete")), "{results:#?}");
}

#[test]
fn account_limits_log_like_nats_server() {
    let conf = "accounts { A {\n\
           users = [ {user: a, password: a}, {user: b, password: b} ]\n\
           limits { max_connections: 1, max_subscriptions: 1 }\n\
         } }\n";
    compare("account-limits", &["-DV"], Some(conf), |server| {
        let mut first = connect(server);
        first
            .write_all(
                b"CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"a\"}\r\nSUB x 1\r\nSUB y 2\r\nPING\r\n",
            )
            .unwrap();
        read_until(&mut first, "PONG");
        let mut second = connect(server);
        second.write_all(b"CONNECT {\"verbose\":false,\"user\":\"b\",\"pass\":\"b\"}\r\n").unwrap();
        read_to_close(&mut second);
        wait_for(server, "Client connection closed", 1);
        drop(first);
        wait_for(server, "<-> [DELSUB 1]", 1);
    });
}

#[test]
fn authentication_failures_log_like_nats_server() {
    let conf = "authorization { user: a, password: b }\n";
    let scripts: [&[u8]; 2] =
        [b"CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"x\"}\r\n", b"PING\r\n"];
    compare("auth-failure", &["-DV"], Some(conf), |server| {
        for (i, script) in scripts.iter().enumerate() {
            let mut s = connect(server);
            s.write_all(script).unwrap();
            read_to_close(&mut s);
            wait_for(server, "Client connection closed", i + 1);
        }
    });
}

#[test]
fn permission_violations_log_like_nats_server() {
    let conf = "authorization { users = [\n\
          {user: a, password: p, permissions: {publish: \"ok.>\", subscribe: \"foo\"}}\n\
        ] }\n";
    compare("permissions", &["-DV"], Some(conf), |server| {
        let mut s = connect(server);
        s.write_all(
            b"CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"p\",\"lang\":\"go\"}\r\n\
              PUB nope 2\r\nhi\r\nSUB bar 1\r\nSUB foo q 2\r\nPING\r\n",
        )
        .unwrap();
        read_until(&mut s, "PONG");
        drop(s);
        wait_for(server, "Client connection closed", 1);
    });
}
