//! Publish/subscribe permissions, differentially: the same configuration and the same raw bytes
//! go to nats-server 2.15.1 and to strait, and every connection's transcript must be the same.
//!
//! Each step writes bytes on one connection and then syncs it with `PING`: once its `PONG` is
//! back the server has processed the step, and what it delivered to other connections is
//! queued ahead of their next `PONG`. So a transcript is deterministic without sleeps. INFO
//! lines are dropped (they carry ids and ports).
//!
//! `DUMP_TRANSCRIPTS=1 cargo test -p strait-net --test permissions_interop -- --nocapture`
//! prints nats-server's transcripts.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Kind, Server};

/// Bound for every wait on a server.
const WAIT: Duration = Duration::from_secs(5);

const CONFIG: &str = r#"
authorization {
  default_permissions { publish: ["dflt.>"], subscribe: ["dflt.>"] }
  users: [
    { user: all, password: p, permissions: { publish: ">", subscribe: ">" } }
    { user: pub, password: p, permissions: {
        publish: { allow: ["foo", "bar.*", "baz.>"], deny: ["baz.secret"] } } }
    { user: sub, password: p, permissions: { subscribe: {
        allow: ["foo.*", "q.one", "grp v1", "grp.* v2.*", "both", "both qb"],
        deny: ["foo.secret"] } } }
    { user: dny, password: p, permissions: { subscribe: { deny: ["foo.secret", "work slow"] } } }
    { user: svc, password: p, permissions: { subscribe: ["svc"], allow_responses: true } }
    { user: svc2, password: p, permissions: {
        publish: ["svc2.>"], subscribe: ["svc"], allow_responses: { max: 2 } } }
    { user: plain, password: p }
  ]
}
accounts { A { users: [ { user: acc, password: p } ] } }
"#;

/// A scratch directory for configuration files, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("strait-perms-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A raw client connection and everything it has received (INFO lines dropped).
struct Conn {
    stream: TcpStream,
    pending: Vec<u8>,
    transcript: String,
}

impl Conn {
    fn login(addr: SocketAddr, user: &str) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut c = Self { stream, pending: Vec::new(), transcript: String::new() };
        let connect = format!(r#"CONNECT {{"verbose":false,"user":"{user}","pass":"p"}}"#);
        c.step(&format!("{connect}\r\n"));
        assert_eq!(c.take(), "", "{user} did not log in");
        c
    }

    /// Write `bytes`, then wait until the server has processed them.
    fn step(&mut self, bytes: &str) {
        self.stream.write_all(bytes.as_bytes()).unwrap();
        self.sync();
    }

    /// `PING` and read up to its `PONG`.
    fn sync(&mut self) {
        self.stream.write_all(b"PING\r\n").unwrap();
        self.read_until(|got| got.ends_with("PONG\r\n"));
        let t = self.transcript.len();
        self.transcript.truncate(t - "PONG\r\n".len());
    }

    /// Read until `done` holds for what arrived since the last [`Conn::take`].
    fn read_until(&mut self, done: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + WAIT;
        let mut buf = [0u8; 4096];
        while !done(&self.transcript) {
            assert!(Instant::now() < deadline, "timed out; got {:?}", self.transcript);
            match self.stream.read(&mut buf) {
                Ok(0) => panic!("connection closed; got {:?}", self.transcript),
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) => panic!("read: {e}; got {:?}", self.transcript),
            }
            while let Some(at) = self.pending.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.pending.drain(..at + 2).collect();
                let line = String::from_utf8(line).unwrap();
                if !line.starts_with("INFO ") {
                    self.transcript.push_str(&line);
                }
            }
        }
    }

    /// What arrived since the last call.
    fn take(&mut self) -> String {
        std::mem::take(&mut self.transcript)
    }
}

/// Run `scenario` against both servers started with `config`; their transcripts must agree.
/// Returns them with the servers, for log checks.
fn differential(
    name: &str,
    config: &str,
    scenario: impl Fn(&Server, &Dir) -> Vec<String>,
) -> Vec<(Server, Vec<String>)> {
    let mut runs = Vec::new();
    for kind in Kind::BOTH {
        let dir = Dir::new(&format!("{name}-{}", kind.label()));
        let path = dir.file("server.conf", config);
        let server = Server::start_with(kind, &["-c", &path]);
        let transcript = scenario(&server, &dir);
        runs.push((server, transcript));
    }
    let (nats, strait) = (&runs[0].1, &runs[1].1);
    if std::env::var_os("DUMP_TRANSCRIPTS").is_some() {
        println!("== {name}\n{}", nats.join("\n--\n"));
    }
    assert_eq!(
        nats,
        strait,
        "{name}: nats-server (left) and strait (right) differ\n  strait log:\n{}",
        runs[1].0.log_tail()
    );
    runs
}

fn has_log(server: &Server, level: &str, text: &str) -> bool {
    // Logged asynchronously after the answer: give the drain thread a moment, bounded.
    let deadline = Instant::now() + WAIT;
    loop {
        let tail = server.log_tail();
        if tail.lines().any(|l| l.contains(level) && l.contains(text)) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn publish_allow_and_deny() {
    let runs = differential("pub", CONFIG, |s, _| {
        let mut all = Conn::login(s.addr(), "all");
        let mut p = Conn::login(s.addr(), "pub");
        all.step("SUB > 1\r\n");
        for subject in ["foo", "foo.x", "bar.a", "bar.a.b", "bar.*", "baz.secret", "baz.x.y", "baz"]
        {
            p.step(&format!("PUB {subject} 2\r\nhi\r\n"));
        }
        all.sync();
        vec![p.take(), all.take()]
    });
    for (server, _) in &runs {
        assert!(
            has_log(server, "[ERR]", "Publish Violation - Subject \"foo.x\""),
            "{:?}",
            server.kind()
        );
    }
}

#[test]
fn subscribe_allow_deny_and_queues() {
    differential("sub", CONFIG, |s, _| {
        let mut c = Conn::login(s.addr(), "sub");
        let mut out = Vec::new();
        for (i, sub) in [
            "foo.*",
            "foo.bar",
            "foo.>",
            "foo.secret",
            "q.one",
            "q.*",
            "q.>",
            "grp",
            "grp v1",
            "grp v2",
            "grp.x v2.a",
            "grp.x v3",
            "both",
            "both qb",
            "both qc",
            ">",
            "x _sys_",
        ]
        .iter()
        .enumerate()
        {
            c.step(&format!("SUB {sub} {}\r\n", i + 1));
            out.push(format!("{sub}: {}", c.take()));
        }
        out
    });
}

#[test]
fn wildcard_subscription_overlapping_a_deny_entry() {
    differential("deny", CONFIG, |s, _| {
        let mut all = Conn::login(s.addr(), "all");
        let mut d = Conn::login(s.addr(), "dny");
        let mut sub = Conn::login(s.addr(), "sub");
        d.step("SUB foo.* 1\r\nSUB foo.secret 2\r\nSUB work slow 3\r\nSUB work fast 4\r\nSUB work 5\r\n");
        sub.step("SUB foo.* 1\r\n");
        all.step("PUB foo.secret 1\r\nx\r\nPUB foo.public 1\r\ny\r\nPUB work 1\r\nz\r\n");
        d.sync();
        sub.sync();
        vec![d.take(), sub.take(), all.take()]
    });
}

#[test]
fn allow_responses_once_then_denied() {
    differential("resp", CONFIG, |s, _| {
        let mut all = Conn::login(s.addr(), "all");
        let mut svc = Conn::login(s.addr(), "svc");
        let mut svc2 = Conn::login(s.addr(), "svc2");
        svc.step("SUB svc 1\r\n");
        svc2.step("SUB svc 1\r\n");
        all.step("SUB _INBOX.r 9\r\nPUB svc _INBOX.r 1\r\nq\r\n");
        svc.sync();
        svc2.sync();
        let received = vec![svc.take(), svc2.take()];
        svc.step("PUB _INBOX.r 1\r\na\r\nPUB _INBOX.r 1\r\nb\r\nPUB other 1\r\nc\r\n");
        svc2.step(
            "PUB _INBOX.r 1\r\nd\r\nPUB _INBOX.r 1\r\ne\r\nPUB _INBOX.r 1\r\nf\r\nPUB svc2.x 1\r\ng\r\n",
        );
        all.sync();
        // A reply subject never delivered is not answerable.
        svc.step("PUB _INBOX.other 1\r\nh\r\n");
        let mut out = received;
        out.extend([svc.take(), svc2.take(), all.take()]);
        out
    });
}

#[test]
fn default_permissions_and_reserved_prefixes() {
    differential("default", CONFIG, |s, _| {
        let mut all = Conn::login(s.addr(), "all");
        let mut plain = Conn::login(s.addr(), "plain");
        let mut p = Conn::login(s.addr(), "pub");
        all.step("SUB > 1\r\n");
        plain.step("PUB dflt.x 1\r\na\r\nPUB other 1\r\nb\r\nSUB other 1\r\nSUB dflt.a 2\r\n");
        all.step("PUB _GR_.x 1\r\nc\r\nPUB foo _R_.x 1\r\nd\r\nPUB foo $JS.ACK.x 1\r\ne\r\n");
        p.step("PUB _GR_.foo 1\r\nf\r\nPUB foo $JS.ACK.y 1\r\ng\r\nPUB nope _R_.z 1\r\nh\r\n");
        all.sync();
        // `authorization.default_permissions` do not reach the users of `accounts`.
        let mut acc = Conn::login(s.addr(), "acc");
        acc.step("SUB other 1\r\nPUB other 1\r\ni\r\n");
        vec![plain.take(), all.take(), p.take(), acc.take()]
    });
}

#[test]
fn reload_revokes_subscriptions() {
    let before = r#"
authorization { users: [
  { user: all, password: p }
  { user: r, password: p, permissions: { subscribe: ">" } }
] }
"#;
    let after = before.replace(r#"subscribe: ">""#, r#"subscribe: ["keep", "grp.* ok"]"#);
    let runs = differential("reload", before, |s, dir| {
        let mut all = Conn::login(s.addr(), "all");
        let mut r = Conn::login(s.addr(), "r");
        r.step("SUB foo 1\r\nSUB grp.a bad 2\r\nSUB keep 3\r\nSUB grp.b ok 4\r\n");
        dir.file("server.conf", &after);
        s.signal("HUP");
        r.read_until(|got| got.matches("-ERR").count() >= 2);
        r.sync();
        all.step("PUB foo 1\r\na\r\nPUB grp.a 1\r\nb\r\nPUB keep 1\r\nc\r\nPUB grp.b 1\r\nd\r\n");
        r.sync();
        vec![r.take()]
    });
    for (server, _) in &runs {
        assert!(
            has_log(
                server,
                "[INF]",
                r#"Removed sub "foo" (sid "1") for User "r" - not authorized"#
            ),
            "{:?}:\n{}",
            server.kind(),
            server.log_tail()
        );
    }
}
