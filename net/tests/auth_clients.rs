//! Real clients log in to strait and nats-server 2.15.1 with every credential kind Strait now
//! checks: async-nats and nats-py with an nkey seed, a bcrypt-hashed password and a bcrypt
//! token; and a TLS client under `verify_and_map` is the user its certificate names, whatever
//! it claims in CONNECT. Every scenario runs against both servers (`<scenario>::nats_server`,
//! `::strait`).

mod common;

use std::time::Duration;

use async_nats::ConnectOptions;
use futures_util::StreamExt;
use tokio::time::timeout;

use common::certs::{Ca, Dir, Files, LeafSpec};
use common::{Kind, Server, assert_python_ok, run_python, scenarios};

/// Bound for any single step.
const STEP: Duration = Duration::from_secs(10);

scenarios!(async_nats_logins, nats_py_logins, verify_and_map_names_the_user);

/// Credentials of the users every login scenario configures.
struct Credentials {
    seed: String,
    public_key: String,
    password: &'static str,
    token: &'static str,
}

fn credentials() -> Credentials {
    let kp = nkeys::KeyPair::new_user();
    Credentials {
        seed: kp.seed().unwrap(),
        public_key: kp.public_key(),
        password: "pa55word",
        token: "t0ken",
    }
}

/// One server with nkey and bcrypt-password users, and one with a bcrypt token.
fn start_users(kind: Kind, dir: &Dir, c: &Credentials) -> (Server, Server) {
    let hash = bcrypt::hash(c.password, 4).unwrap();
    let users = format!(
        "authorization {{ users = [ {{nkey: {}}}, {{user: alice, password: \"{hash}\"}} ] }}\n",
        c.public_key
    );
    let token = format!("authorization {{ token: \"{}\" }}\n", bcrypt::hash(c.token, 4).unwrap());
    let label = kind.label();
    let users = dir.write(&format!("{label}-users.conf"), &users);
    let token = dir.write(&format!("{label}-token.conf"), &token);
    (Server::start_with(kind, &["-c", &users]), Server::start_with(kind, &["-c", &token]))
}

/// The client publishes to itself and receives the message.
async fn round_trip(server: &Server, opts: ConnectOptions, what: &str) {
    let label = server.kind().label();
    let client = timeout(STEP, opts.connection_timeout(STEP).connect(server.url()))
        .await
        .unwrap_or_else(|_| panic!("{label}: {what}: no answer in time"))
        .unwrap_or_else(|e| panic!("{label}: {what}: connect: {e}\n{}", server.log_tail()));
    let mut sub = client.subscribe("auth.test").await.unwrap();
    client.publish("auth.test", "hello".into()).await.unwrap();
    client.flush().await.unwrap();
    let msg = timeout(STEP, sub.next()).await.expect("message in time").expect("message");
    assert_eq!(&msg.payload[..], b"hello", "{label}: {what}");
}

async fn async_nats_logins(kind: Kind) {
    let c = credentials();
    let dir = Dir::new();
    let (users, token) = start_users(kind, &dir, &c);
    round_trip(&users, ConnectOptions::with_nkey(c.seed.clone()), "nkey").await;
    let alice = ConnectOptions::with_user_and_password("alice".into(), c.password.into());
    round_trip(&users, alice, "bcrypt password").await;
    round_trip(&token, ConnectOptions::with_token(c.token.into()), "bcrypt token").await;
    // The wrong secrets are refused.
    for (server, opts, what) in [
        (&users, ConnectOptions::with_user_and_password("alice".into(), "x".into()), "password"),
        (&token, ConnectOptions::with_token("x".into()), "token"),
        (&users, ConnectOptions::with_nkey(nkeys::KeyPair::new_user().seed().unwrap()), "nkey"),
    ] {
        let r = timeout(STEP, opts.connection_timeout(STEP).connect(server.url())).await;
        let r = r.unwrap_or_else(|_| panic!("{}: wrong {what}: no answer in time", kind.label()));
        assert!(r.is_err(), "{}: a wrong {what} logged in", kind.label());
    }
}

/// nats-py logs in with an nkey seed, a password and a token, then gets its own message back.
const NATS_PY_LOGINS: &str = r#"
import asyncio, sys
import nats

async def round_trip(url, **kw):
    nc = await nats.connect(url, connect_timeout=5, allow_reconnect=False, **kw)
    sub = await nc.subscribe("py.auth")
    await nc.publish("py.auth", b"hello")
    msg = await sub.next_msg(timeout=5)
    assert msg.data == b"hello", msg.data
    await nc.close()

async def main(users, token, seed_file, password, tok):
    await round_trip(users, nkeys_seed=seed_file)
    await round_trip(users, user="alice", password=password)
    await round_trip(token, token=tok)
    print("ok")

asyncio.run(asyncio.wait_for(main(*sys.argv[1:6]), 30))
"#;

async fn nats_py_logins(kind: Kind) {
    let c = credentials();
    let dir = Dir::new();
    let (users, token) = start_users(kind, &dir, &c);
    let script = dir.write("nats_py_logins.py", NATS_PY_LOGINS);
    let seed = dir.write("user.nk", &c.seed);
    let (u, t) = (users.url(), token.url());
    let args = [u.as_str(), t.as_str(), seed.as_str(), c.password, c.token];
    let out = run_python(&script, &args, Duration::from_secs(40)).await;
    assert_python_ok(&out, &users, "nats-py");
}

/// A raw TLS client (Python's `ssl`): INFO in plain text, then TLS with a client certificate,
/// a CONNECT that claims `user`, and the `remote_account` of the INFO answering the first PING.
const CLAIM_USER: &str = r#"
import json, socket, ssl, sys

host, port, ca, cert, key, user = sys.argv[1], int(sys.argv[2]), *sys.argv[3:7]
raw = socket.create_connection((host, port), timeout=5)
f = raw.makefile("rb")
assert f.readline().startswith(b"INFO "), "INFO first"
ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
ctx.load_cert_chain(cert, key)
ctx.check_hostname = False
s = ctx.wrap_socket(raw, server_hostname="localhost")
connect = {"verbose": False, "pedantic": False, "protocol": 1, "user": user}
s.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
buf = b""
while b"connect_info" not in buf and not buf.startswith(b"-ERR"):
    chunk = s.recv(4096)
    if not chunk:
        break
    buf += chunk
for line in buf.split(b"\r\n"):
    if line.startswith(b"INFO ") and b"connect_info" in line:
        print(json.loads(line[5:])["remote_account"])
        sys.exit(0)
print("no login: " + buf.decode(errors="replace"))
"#;

async fn verify_and_map_names_the_user(kind: Kind) {
    let dir = Dir::new();
    let ca = Ca::root("map-ca");
    let server_files = Files::write(&dir, "server", &ca.leaf(&LeafSpec::new("server")), &[&ca]);
    let client = Files::write(&dir, "client", &ca.leaf(&LeafSpec::new("alice")), &[&ca]);
    let conf = format!(
        "{}accounts {{\n  A {{ users = [ {{user: \"CN=alice\"}} ] }}\n  \
         B {{ users = [ {{user: \"CN=bob\"}} ] }}\n}}\n",
        server_files.block("  verify_and_map: true")
    );
    let conf = dir.write(&format!("{}.conf", kind.label()), &conf);
    let server = Server::start_with(kind, &["-c", &conf]);
    let script = dir.write("claim_user.py", CLAIM_USER);
    let port = server.addr().port().to_string();
    for claim in ["CN=bob", "CN=alice", ""] {
        let args = ["127.0.0.1", &port, &client.ca, &client.cert, &client.key, claim];
        let out = run_python(&script, &args, STEP).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        // alice's certificate logs in as alice (account A) whoever the CONNECT names.
        assert_eq!(
            stdout.trim(),
            "A",
            "{}: claiming {claim:?}\n{}\n{}",
            kind.label(),
            String::from_utf8_lossy(&out.stderr),
            server.log_tail()
        );
    }
}
