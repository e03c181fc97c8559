//! Client authentication against nats-server 2.15.1: the same configuration file and the same
//! bytes go to both servers, and both must give the same answer (`PONG` for a login that
//! passes, nats-server's `-ERR` otherwise). Each case is one of the bypasses a user found in
//! Strait before it checked nkeys, bcrypt, `no_auth_user`, connection types and account limits.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{Kind, Server};

/// Bound on one exchange with a server.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);

/// How a login attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    /// The server answered the trailing PING: logged in (carries every `-ERR` seen before).
    Pong(Vec<String>),
    /// The server closed the connection; the `-ERR` texts it sent first.
    Closed(Vec<String>),
}

fn violation() -> Outcome {
    Outcome::Closed(vec!["Authorization Violation".into()])
}

fn pong() -> Outcome {
    Outcome::Pong(vec![])
}

/// A configuration file in a fresh temporary directory.
fn config(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("strait-auth-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("server.conf");
    std::fs::write(&path, text).unwrap();
    path
}

fn start(kind: Kind, conf: &Path) -> Server {
    Server::start_with(kind, &["-c", conf.to_str().unwrap()])
}

/// One connection: read INFO, send what `script` makes of it, then `PING`, and read until the
/// answer to that PING or the end of the connection.
struct Conn {
    stream: TcpStream,
    info: serde_json::Value,
    pending: Vec<u8>,
}

impl Conn {
    fn open(server: &Server) -> Conn {
        let stream = TcpStream::connect(server.addr()).unwrap();
        stream.set_read_timeout(Some(EXCHANGE_TIMEOUT)).unwrap();
        let mut conn = Conn { stream, info: serde_json::Value::Null, pending: Vec::new() };
        let line = conn.line().expect("INFO");
        let json = line.strip_prefix("INFO ").expect("INFO first");
        conn.info = serde_json::from_str(json.trim()).unwrap();
        conn
    }

    fn nonce(&self) -> String {
        self.info["nonce"].as_str().unwrap_or_default().to_owned()
    }

    /// The next line the server sends, or `None` at the end of the connection.
    fn line(&mut self) -> Option<String> {
        let deadline = Instant::now() + EXCHANGE_TIMEOUT;
        loop {
            if let Some(i) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=i).collect();
                return Some(String::from_utf8_lossy(&line).trim_end().to_owned());
            }
            assert!(Instant::now() < deadline, "no line within {EXCHANGE_TIMEOUT:?}");
            let mut buf = [0u8; 4096];
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// Send `bytes` then `PING`, and report how the server answered.
    fn send(&mut self, bytes: &str) -> Outcome {
        self.stream.write_all(bytes.as_bytes()).unwrap();
        self.stream.write_all(b"PING\r\n").unwrap();
        let mut errs = Vec::new();
        loop {
            match self.line() {
                None => return Outcome::Closed(errs),
                Some(l) if l == "PONG" => return Outcome::Pong(errs),
                Some(l) => {
                    if let Some(e) = l.strip_prefix("-ERR ") {
                        errs.push(e.trim_matches('\'').to_owned());
                    }
                }
            }
        }
    }
}

/// A named login attempt: the bytes it sends, made from the connection's INFO, and the
/// outcome both servers must give.
type Case<'a> = (&'a str, &'a dyn Fn(&Conn) -> String, Outcome);

fn connect(fields: &str) -> String {
    format!("CONNECT {{\"verbose\":false,\"pedantic\":false{fields}}}\r\n")
}

fn sign(kp: &nkeys::KeyPair, nonce: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(kp.sign(nonce.as_bytes()).unwrap())
}

/// Run `cases` (name, bytes built from the connection's INFO, expected outcome) against both
/// servers started with `conf`, and require both to give the expected outcome.
fn check_both(conf: &Path, cases: &[Case<'_>]) {
    for kind in Kind::BOTH {
        let server = start(kind, conf);
        for (name, script, want) in cases {
            let mut conn = Conn::open(&server);
            let bytes = script(&conn);
            let got = conn.send(&bytes);
            assert_eq!(
                &got,
                want,
                "{}: case {name:?} ({bytes:?})\n  log:\n{}",
                kind.label(),
                server.log_tail()
            );
        }
    }
}

#[test]
fn nkey_users_admit_only_a_signature_of_the_nonce() {
    let kp = nkeys::KeyPair::new_user();
    let other = nkeys::KeyPair::new_user();
    let pk = kp.public_key();
    let conf = config(
        "nkeys",
        &format!("authorization {{ users = [ {{nkey: {pk}}}, {{user: a, password: b}} ] }}\n"),
    );
    let signed =
        |c: &Conn| connect(&format!(",\"nkey\":\"{pk}\",\"sig\":\"{}\"", sign(&kp, &c.nonce())));
    let nothing = |_: &Conn| connect("");
    let empty = |_: &Conn| connect(",\"user\":\"\",\"pass\":\"\"");
    let token = |_: &Conn| connect(",\"auth_token\":\"anything\"");
    let junk = |_: &Conn| connect(&format!(",\"nkey\":\"{pk}\",\"sig\":\"junk\""));
    let no_sig = |_: &Conn| connect(&format!(",\"nkey\":\"{pk}\""));
    let stale = |_: &Conn| {
        connect(&format!(",\"nkey\":\"{pk}\",\"sig\":\"{}\"", sign(&kp, "AAAAAAAAAAAAAAA")))
    };
    let forged =
        |c: &Conn| connect(&format!(",\"nkey\":\"{pk}\",\"sig\":\"{}\"", sign(&other, &c.nonce())));
    let password = |_: &Conn| connect(",\"user\":\"a\",\"pass\":\"b\"");
    let sub_first = |_: &Conn| "SUB > 1\r\n".to_owned();
    check_both(
        &conf,
        &[
            ("signed nonce", &signed, pong()),
            ("no credentials", &nothing, violation()),
            ("empty user and password", &empty, violation()),
            ("any token", &token, violation()),
            ("junk signature", &junk, violation()),
            ("no signature", &no_sig, violation()),
            ("signature of another nonce", &stale, violation()),
            ("another key's signature", &forged, violation()),
            ("password user beside nkeys", &password, pong()),
            ("SUB before CONNECT", &sub_first, violation()),
        ],
    );
}

#[test]
fn info_carries_a_nonce_only_with_nkey_users() {
    let kp = nkeys::KeyPair::new_user();
    let with = config(
        "nonce",
        &format!("authorization {{ users = [ {{nkey: {}}} ] }}\n", kp.public_key()),
    );
    let without = config("no-nonce", "authorization { users = [ {user: a, password: b} ] }\n");
    for kind in Kind::BOTH {
        let s = start(kind, &with);
        let n = Conn::open(&s).nonce();
        assert_eq!(n.len(), 15, "{}: nonce {n:?}", kind.label());
        let s = start(kind, &without);
        assert_eq!(Conn::open(&s).nonce(), "", "{}", kind.label());
    }
}

#[test]
fn bcrypt_passwords_and_tokens_compare_by_bcrypt() {
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let users = config(
        "bcrypt-users",
        &format!("authorization {{ users = [ {{user: a, password: \"{hash}\"}} ] }}\n"),
    );
    let right = |_: &Conn| connect(",\"user\":\"a\",\"pass\":\"s3cret\"");
    let the_hash = |_: &Conn| connect(&format!(",\"user\":\"a\",\"pass\":\"{hash}\""));
    let wrong = |_: &Conn| connect(",\"user\":\"a\",\"pass\":\"nope\"");
    check_both(
        &users,
        &[
            ("password", &right, pong()),
            ("the hash itself", &the_hash, violation()),
            ("wrong", &wrong, violation()),
        ],
    );
    let token = config("bcrypt-token", &format!("authorization {{ token: \"{hash}\" }}\n"));
    let right = |_: &Conn| connect(",\"auth_token\":\"s3cret\"");
    let the_hash = |_: &Conn| connect(&format!(",\"auth_token\":\"{hash}\""));
    check_both(&token, &[("token", &right, pong()), ("the hash itself", &the_hash, violation())]);
}

#[test]
fn a_user_limited_to_websocket_cannot_log_in_here() {
    let conf = config(
        "conn-types",
        "authorization { users = [\n\
           {user: ws, password: p, allowed_connection_types: [\"WEBSOCKET\"]}\n\
           {user: std, password: p, allowed_connection_types: [\"STANDARD\", \"WEBSOCKET\"]}\n\
         ] }\n",
    );
    let ws = |_: &Conn| connect(",\"user\":\"ws\",\"pass\":\"p\"");
    let std = |_: &Conn| connect(",\"user\":\"std\",\"pass\":\"p\"");
    check_both(
        &conf,
        &[("websocket-only user", &ws, violation()), ("standard user", &std, pong())],
    );
}

#[test]
fn no_auth_user_logs_in_clients_without_credentials() {
    let conf = config(
        "no-auth-user",
        "accounts { A { users = [ {user: anon, password: x}, {user: b, password: y} ] } }\n\
         no_auth_user: anon\n",
    );
    let nothing = |_: &Conn| connect("");
    let sub_first = |_: &Conn| "SUB foo 1\r\n".to_owned();
    let wrong = |_: &Conn| connect(",\"user\":\"b\",\"pass\":\"x\"");
    let right = |_: &Conn| connect(",\"user\":\"b\",\"pass\":\"y\"");
    check_both(
        &conf,
        &[
            ("CONNECT without credentials", &nothing, pong()),
            // A telnet user: the first op logs in as no_auth_user, under verbose defaults.
            ("SUB before CONNECT", &sub_first, Outcome::Pong(vec![])),
            ("wrong password", &wrong, violation()),
            ("right password", &right, pong()),
        ],
    );
    for kind in Kind::BOTH {
        let s = start(kind, &conf);
        let info = Conn::open(&s).info;
        assert!(info.get("auth_required").is_none(), "{}: {info}", kind.label());
    }
}

#[test]
fn max_subscriptions_answers_and_keeps_the_connection() {
    let conf = config("max-subs", "max_subscriptions: 1\n");
    let two = |_: &Conn| format!("{}SUB a 1\r\nSUB b 2\r\n", connect(""));
    check_both(
        &conf,
        &[("second SUB", &two, Outcome::Pong(vec!["maximum subscriptions exceeded".into()]))],
    );
}

#[test]
fn account_limits_bound_connections_subscriptions_and_payload() {
    let conf = config(
        "account-limits",
        "accounts { A {\n\
           users = [ {user: a, password: a}, {user: b, password: b} ]\n\
           limits { max_connections: 1, max_subscriptions: 1, max_payload: 8 }\n\
         } }\n",
    );
    for kind in Kind::BOTH {
        let server = start(kind, &conf);
        let label = kind.label();
        let mut first = Conn::open(&server);
        let subs = format!("{}SUB x 1\r\nSUB y 2\r\n", connect(",\"user\":\"a\",\"pass\":\"a\""));
        let want = Outcome::Pong(vec!["maximum subscriptions exceeded".into()]);
        assert_eq!(first.send(&subs), want, "{label}\n{}", server.log_tail());
        let mut second = Conn::open(&server);
        let b = connect(",\"user\":\"b\",\"pass\":\"b\"");
        let want = Outcome::Closed(vec!["maximum account active connections exceeded".into()]);
        assert_eq!(second.send(&b), want, "{label}\n{}", server.log_tail());
        let want = Outcome::Closed(vec!["Maximum Payload Violation".into()]);
        assert_eq!(first.send("PUB x 9\r\n123456789\r\n"), want, "{label}\n{}", server.log_tail());
        // The account's place is free again once the first client is gone.
        let mut third = Conn::open(&server);
        let deadline = Instant::now() + EXCHANGE_TIMEOUT;
        loop {
            let got = third.send(&b);
            if got == pong() {
                break;
            }
            assert!(Instant::now() < deadline, "{label}: {got:?}\n{}", server.log_tail());
            third = Conn::open(&server);
        }
    }
}

#[test]
fn permissions_follow_the_login_and_the_accounts_defaults() {
    let kp = nkeys::KeyPair::new_user();
    let pk = kp.public_key();
    let conf = config(
        "login-permissions",
        &format!(
            "accounts {{ A {{\n\
               default_permissions: {{ publish: \"foo\" }}\n\
               users = [ {{user: a, password: a}}, {{nkey: {pk}, permissions: {{ publish: \"bar\" }}}} ]\n\
             }} }}\n"
        ),
    );
    let denied = |s: &str| format!("Permissions Violation for Publish to \"{s}\"");
    let by_default = |_: &Conn| {
        format!("{}PUB foo 0\r\n\r\nPUB bar 0\r\n\r\n", connect(",\"user\":\"a\",\"pass\":\"a\""))
    };
    let by_nkey = |c: &Conn| {
        let login = format!(",\"nkey\":\"{pk}\",\"sig\":\"{}\"", sign(&kp, &c.nonce()));
        format!("{}PUB foo 0\r\n\r\nPUB bar 0\r\n\r\n", connect(&login))
    };
    check_both(
        &conf,
        &[
            ("account default permissions", &by_default, Outcome::Pong(vec![denied("bar")])),
            ("nkey user's own permissions", &by_nkey, Outcome::Pong(vec![denied("foo")])),
        ],
    );
}
