//! Client TLS against strait and nats-server 2.15.1: async-nats over TLS (server auth, client
//! certificates with `verify`, `handshake_first`), and what a plaintext client sees on a TLS
//! port, and nats-py (Python's `ssl`) with a client certificate. Every scenario runs against
//! both servers (`<scenario>::nats_server`, `::strait`).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use async_nats::ConnectOptions;
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

use common::certs::{Ca, Dir, Files, LeafSpec};
use common::{Kind, Server, assert_python_ok, run_python, scenarios};

/// Bound for any single step.
const STEP: Duration = Duration::from_secs(5);

scenarios!(
    server_auth,
    client_cert_verified,
    client_without_cert_refused,
    handshake_first,
    handshake_first_auto_falls_back_to_info,
    plaintext_client_gets_info_then_close,
    cli_flags,
    bulk,
    allow_non_tls,
    max_connections_before_tls,
    nats_py_client_cert,
);

/// A CA, a server certificate and a client certificate on disk.
struct Pki {
    dir: Dir,
    server: Files,
    client: Files,
}

fn pki() -> Pki {
    let dir = Dir::new();
    let ca = Ca::root("client-ca");
    let server = Files::write(&dir, "server", &ca.leaf(&LeafSpec::new("server")), &[&ca]);
    let client = Files::write(&dir, "client", &ca.leaf(&LeafSpec::new("client")), &[&ca]);
    Pki { dir, server, client }
}

/// Starts `kind` with the server certificate and `extra` lines in its `tls` block.
fn start(kind: Kind, pki: &Pki, extra: &str) -> Server {
    start_top(kind, pki, "", extra)
}

/// [`start`] with `top` lines at the top level of the config.
fn start_top(kind: Kind, pki: &Pki, top: &str, extra: &str) -> Server {
    let text = format!("{top}\n{}", pki.server.block(extra));
    let conf = pki.dir.write(&format!("{}.conf", kind.label()), &text);
    Server::start_with(kind, &["-c", &conf])
}

fn opts(pki: &Pki) -> ConnectOptions {
    ConnectOptions::new()
        .add_root_certificates(PathBuf::from(&pki.server.ca))
        .require_tls(true)
        .connection_timeout(STEP)
}

/// A TLS client publishes to itself and receives the message.
async fn round_trip(server: &Server, opts: ConnectOptions) {
    let client =
        timeout(STEP, opts.connect(server.url())).await.expect("connect in time").unwrap_or_else(
            |e| panic!("{}: connect: {e}\n{}", server.kind().label(), server.log_tail()),
        );
    let mut sub = client.subscribe("tls.test").await.unwrap();
    client.publish("tls.test", "hello".into()).await.unwrap();
    client.flush().await.unwrap();
    let msg = timeout(STEP, sub.next()).await.expect("message in time").expect("message");
    assert_eq!(&msg.payload[..], b"hello");
}

async fn server_auth(kind: Kind) {
    let pki = pki();
    let server = start(kind, &pki, "");
    round_trip(&server, opts(&pki)).await;
}

async fn client_cert_verified(kind: Kind) {
    let pki = pki();
    let server = start(kind, &pki, "  verify: true");
    let o = opts(&pki)
        .add_client_certificate(PathBuf::from(&pki.client.cert), PathBuf::from(&pki.client.key));
    round_trip(&server, o).await;
}

async fn client_without_cert_refused(kind: Kind) {
    let pki = pki();
    let server = start(kind, &pki, "  verify: true");
    let connected = timeout(STEP, opts(&pki).connect(server.url())).await.expect("answer in time");
    assert!(connected.is_err(), "{}: a client without a certificate connected", kind.label());
}

async fn handshake_first(kind: Kind) {
    let pki = pki();
    let server = start(kind, &pki, "  handshake_first: true");
    round_trip(&server, opts(&pki).tls_first()).await;
}

/// Reads the first line the server sends on a plain TCP connection.
async fn first_line(server: &Server) -> (String, BufReader<TcpStream>) {
    let stream = TcpStream::connect(server.addr()).await.unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    timeout(STEP, reader.read_line(&mut line)).await.expect("INFO in time").unwrap();
    (line, reader)
}

async fn handshake_first_auto_falls_back_to_info(kind: Kind) {
    let pki = pki();
    let server = start(kind, &pki, "  handshake_first: auto");
    // A client that does not start TLS gets the INFO after the 50 ms fallback delay.
    let (line, _) = first_line(&server).await;
    assert!(line.starts_with("INFO {"), "{}: {line:?}", kind.label());
    assert!(line.contains(r#""tls_required":true"#), "{}: {line:?}", kind.label());
    // And a TLS-first client still connects.
    round_trip(&server, opts(&pki).tls_first()).await;
}

async fn plaintext_client_gets_info_then_close(kind: Kind) {
    let pki = pki();
    let server = start(kind, &pki, "  verify: true");
    let (line, mut reader) = first_line(&server).await;
    assert!(line.contains(r#""tls_required":true"#), "{}: {line:?}", kind.label());
    assert!(line.contains(r#""tls_verify":true"#), "{}: {line:?}", kind.label());
    reader.get_mut().write_all(b"CONNECT {}\r\nPING\r\n").await.unwrap();
    // Nothing more is said: the connection is closed.
    let mut rest = Vec::new();
    timeout(STEP, reader.read_to_end(&mut rest)).await.expect("closed in time").ok();
    assert_eq!(String::from_utf8_lossy(&rest), "", "{}", kind.label());
}

async fn cli_flags(kind: Kind) {
    let pki = pki();
    let (s, c) = (&pki.server, &pki.client);
    let flags = ["--tlsverify", "--tlscert", &s.cert, "--tlskey", &s.key, "--tlscacert", &s.ca];
    let server = Server::start_with(kind, &flags);
    let o = opts(&pki).add_client_certificate(PathBuf::from(&c.cert), PathBuf::from(&c.key));
    round_trip(&server, o).await;
    let refused = timeout(STEP, opts(&pki).connect(server.url())).await.expect("answer in time");
    assert!(refused.is_err(), "{}: --tlsverify let a client without certificate in", kind.label());
}

/// 5,000 messages of 1 KiB through one TLS connection and back.
async fn bulk(kind: Kind) {
    const N: usize = 5_000;
    let pki = pki();
    let server = start(kind, &pki, "");
    let client = timeout(STEP, opts(&pki).connect(server.url())).await.unwrap().unwrap();
    let mut sub = client.subscribe("tls.bulk").await.unwrap();
    client.flush().await.unwrap();
    let payload = bytes::Bytes::from(vec![b'x'; 1024]);
    for _ in 0..N {
        client.publish("tls.bulk", payload.clone()).await.unwrap();
    }
    client.flush().await.unwrap();
    for i in 0..N {
        let msg = timeout(STEP, sub.next()).await.unwrap_or_else(|_| panic!("message {i} late"));
        assert_eq!(msg.expect("message").payload.len(), 1024);
    }
}

/// `allow_non_tls`: INFO offers TLS (`tls_available`), a plaintext client is served in
/// plaintext and a TLS client over TLS.
async fn allow_non_tls(kind: Kind) {
    let pki = pki();
    let server = start_top(kind, &pki, "allow_non_tls: true", "");
    let (line, mut reader) = first_line(&server).await;
    assert!(line.contains(r#""tls_available":true"#), "{}: {line:?}", kind.label());
    assert!(!line.contains("tls_required"), "{}: {line:?}", kind.label());
    reader.get_mut().write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n").await.unwrap();
    let mut pong = String::new();
    timeout(STEP, reader.read_line(&mut pong)).await.expect("PONG in time").unwrap();
    assert_eq!(pong, "PONG\r\n", "{}\n{}", kind.label(), server.log_tail());
    round_trip(&server, opts(&pki)).await;
}

/// Past `max_connections` the INFO and then `-ERR 'maximum connections exceeded'` arrive in
/// plaintext, before any TLS.
async fn max_connections_before_tls(kind: Kind) {
    let pki = pki();
    let server = start_top(kind, &pki, "max_connections: 1", "");
    let client = timeout(STEP, opts(&pki).connect(server.url())).await.unwrap().unwrap();
    client.flush().await.unwrap();
    let (line, mut reader) = first_line(&server).await;
    assert!(line.starts_with("INFO {"), "{}: {line:?}", kind.label());
    let mut err = String::new();
    timeout(STEP, reader.read_line(&mut err)).await.expect("-ERR in time").unwrap();
    assert_eq!(err, "-ERR 'maximum connections exceeded'\r\n", "{}", kind.label());
}

/// A nats-py client: TLS with a client certificate, then its own message back.
const NATS_PY_CLIENT: &str = r#"
import asyncio, ssl, sys
import nats

async def main(url, ca, cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    ctx.load_cert_chain(cert, key)
    nc = await nats.connect(url, tls=ctx, connect_timeout=5, allow_reconnect=False)
    sub = await nc.subscribe("py.tls")
    await nc.publish("py.tls", b"hello")
    msg = await sub.next_msg(timeout=5)
    assert msg.data == b"hello", msg.data
    info = nc._server_info
    assert info.get("tls_required") and info.get("tls_verify"), info
    await nc.close()
    print("ok")

asyncio.run(asyncio.wait_for(main(*sys.argv[1:5]), 20))
"#;

/// nats-py connects to a `verify` listener with a client certificate and gets its own
/// message back; the INFO it saw says `tls_required` and `tls_verify`.
async fn nats_py_client_cert(kind: Kind) {
    let pki = pki();
    let server = start(kind, &pki, "  verify: true");
    let script = pki.dir.write("nats_py_client.py", NATS_PY_CLIENT);
    let url = server.url();
    let args = [url.as_str(), &pki.server.ca, &pki.client.cert, &pki.client.key];
    let out = run_python(&script, &args, Duration::from_secs(30)).await;
    assert_python_ok(&out, &server, "nats-py");
}
