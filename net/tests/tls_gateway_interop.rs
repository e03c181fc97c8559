//! Gateway TLS between strait and nats-server 2.15.1, both directions: mutual TLS with CA
//! bundles and intermediates, `verify_and_map`, a wrong CA and an expired certificate refused,
//! and `pinned_certs`. Tests are named `<scenario>::<kinds>`, first kind = first server named
//! in the scenario (s = strait, n = nats-server).
//!
//! Waits are on log lines (bounded by the harness' timeouts), never sleeps.

#[macro_use]
mod common;

use std::time::Duration;

use common::Kind;
use common::certs::{Ca, Dir, Files, LeafSpec};
use common::gateway::{
    GwConfig, GwServer, RawClient, describe_all, free_ports, raw_probe, wait_full_mesh,
};

const S: Kind = Kind::Strait;
const N: Kind = Kind::NatsServer;

/// Bound for interest to cross a gateway, and for an expected error line.
const WAIT: Duration = Duration::from_secs(10);

kind_combos! {
    mutual_tls { s_n: [S, N], n_s: [N, S], s_s: [S, S] }
    verify_and_map { s_n_n: [S, N, N], n_s_s: [N, S, S] }
    wrong_ca { s_n: [S, N], n_s: [N, S] }
    expired_cert { s_n: [S, N], n_s: [N, S] }
    pinned_match { s_n: [S, N], n_s: [N, S] }
    pinned_mismatch { s_n: [S, N], n_s: [N, S] }
    check_known_urls { s_n: [S, N], n_s: [N, S] }
    per_remote_tls { s_n: [S, N], n_s: [N, S] }
    plaintext_peer_sees_nothing { s: [S], n: [N] }
    insecure_dialler { s_n: [S, N], n_s: [N, S] }
    reload_rotates_certificates { s_n_n: [S, N, N], s_s_s: [S, S, S] }
    reload_changes_pins { s_n: [S, N], s_s: [S, S] }
}

/// Two roots in every CA bundle; A's certificate comes from an intermediate of the first (its
/// `cert_file` carries the intermediate), the others straight from the second root.
struct Pki {
    dir: Dir,
    root1: Ca,
    inter: Ca,
    root2: Ca,
}

impl Pki {
    fn new() -> Pki {
        let root1 = Ca::root("root-1");
        let inter = root1.intermediate("intermediate-1");
        Pki { dir: Dir::new(), root1, inter, root2: Ca::root("root-2") }
    }

    /// Files for a server whose leaf is `spec`, signed by the intermediate or by root 2.
    fn files(&self, name: &str, spec: &LeafSpec, via_intermediate: bool) -> Files {
        let ca = if via_intermediate { &self.inter } else { &self.root2 };
        Files::write(&self.dir, name, &ca.leaf(spec), &[&self.root1, &self.root2])
    }
}

/// A gateway named `name` with a `tls` block made of `files` and `extra` lines.
fn tls_gateway(name: &str, files: &Files, extra: &str) -> GwConfig {
    GwConfig::new(name).gateway_block(&files.block(extra))
}

/// Messages published on `a` reach a subscriber on `b`.
fn carries_traffic(a: &GwServer, b: &GwServer) {
    let mut sa = ok!(RawClient::connect(a.addr()); a, b);
    let mut sb = ok!(RawClient::connect(b.addr()); a, b);
    ok!(sb.send(b"SUB tls.probe 1\r\n"); a, b);
    ok!(sb.ping_pong(); a, b);
    ok!(raw_probe(&mut sa, &mut sb, "tls.probe", WAIT); a, b);
}

/// Messages sent over the link in one burst (4 KiB each, 8 MiB in all): TLS records must
/// not stall in a session buffer when the socket is full.
const BULK: usize = 2_000;

/// A burst published on `a` all arrives at a subscriber on `b`.
fn carries_bulk(a: &GwServer, b: &GwServer) {
    let mut sa = ok!(RawClient::connect(a.addr()); a, b);
    let mut sb = ok!(RawClient::connect(b.addr()); a, b);
    ok!(sb.send(b"SUB tls.bulk 1\r\n"); a, b);
    ok!(sb.ping_pong(); a, b);
    ok!(raw_probe(&mut sa, &mut sb, "tls.bulk", WAIT); a, b);
    let payload = vec![b'x'; 4096];
    for _ in 0..BULK {
        ok!(sa.publish("tls.bulk", &payload); a, b);
    }
    ok!(sa.ping_pong(); a, b);
    let mut got = 0;
    while got < BULK {
        match ok!(sb.next_msg(WAIT); a, b) {
            Some(m) if m.payload.len() == payload.len() => got += 1,
            Some(_) => {}
            None => panic!("{got} of {BULK} arrived\n{}", describe_all(&[a, b])),
        }
    }
}

/// B listens; A dials B. Both use mutual TLS with the CA bundle; A's chain has an
/// intermediate. The link comes up both ways and carries messages.
fn mutual_tls(kinds: &[Kind]) {
    let pki = Pki::new();
    let b_files = pki.files("b", &LeafSpec::new("gw-b"), false);
    let a_files = pki.files("a", &LeafSpec::new("gw-a"), true);
    let b = GwServer::start(kinds[1], &tls_gateway("B", &b_files, ""));
    let a = GwServer::start(
        kinds[0],
        &tls_gateway("A", &a_files, "").remote("B", b.gateway_addr(), None),
    );
    wait_full_mesh(&[&a, &b]);
    carries_traffic(&a, &b);
    carries_traffic(&b, &a);
    carries_bulk(&a, &b);
}

/// B maps the peer certificate to its gateway user `CN=gw-a`: A (whose certificate says so)
/// links, W (CN=gw-w, same CA) is refused with an authentication error.
fn verify_and_map(kinds: &[Kind]) {
    let pki = Pki::new();
    let b_files = pki.files("b", &LeafSpec::new("gw-b"), false);
    let a_files = pki.files("a", &LeafSpec::new("gw-a"), true);
    let w_files = pki.files("w", &LeafSpec::new("gw-w"), false);
    let b_conf = tls_gateway("B", &b_files, "  verify_and_map: true")
        .gateway_block("  authorization { user: \"CN=gw-a\" }\n");
    let b = GwServer::start(kinds[0], &b_conf);
    let to_b = b.gateway_addr();
    let a = GwServer::start(kinds[1], &tls_gateway("A", &a_files, "").remote("B", to_b, None));
    let w = GwServer::start(kinds[2], &tls_gateway("W", &w_files, "").remote("B", to_b, None));
    ok!(b.wait_inbound(0, "A"); &a, &b, &w);
    ok!(a.wait_outbound(0, "B"); &a, &b, &w);
    ok!(b.wait_line(0, "authentication error", WAIT); &a, &b, &w);
    assert!(
        b.lines_with(0, &["Inbound gateway connection from \"W\"", "registered"]).is_empty(),
        "{}",
        describe_all(&[&a, &b, &w])
    );
    carries_traffic(&a, &b);
}

/// A and B trust different roots: each side refuses the other's certificate, logs
/// `TLS gateway handshake error`, and the dialler keeps retrying.
fn wrong_ca(kinds: &[Kind]) {
    let pki = Pki::new();
    let other = Ca::root("other-root");
    let b_files = pki.files("b", &LeafSpec::new("gw-b"), false);
    let a_leaf = other.leaf(&LeafSpec::new("gw-a"));
    let a_files = Files::write(&pki.dir, "a", &a_leaf, &[&other]);
    let b = GwServer::start(kinds[1], &tls_gateway("B", &b_files, ""));
    let a = GwServer::start(
        kinds[0],
        &tls_gateway("A", &a_files, "").remote("B", b.gateway_addr(), None),
    );
    let err = "TLS gateway handshake error";
    ok!(a.wait_line(0, err, WAIT); &a, &b);
    ok!(b.wait_line(0, err, WAIT); &a, &b);
    // Retried: another attempt fails the same way.
    let mark = a.mark();
    ok!(a.wait_line(mark, err, WAIT); &a, &b);
    assert!(a.lines_with(0, &["registered"]).is_empty(), "{}", describe_all(&[&a, &b]));
    assert!(b.lines_with(0, &["registered"]).is_empty(), "{}", describe_all(&[&a, &b]));
}

/// A's certificate has expired: B refuses it (as client certificate when A dials).
fn expired_cert(kinds: &[Kind]) {
    let pki = Pki::new();
    let b_files = pki.files("b", &LeafSpec::new("gw-b"), false);
    let expired = LeafSpec { expired: true, ..LeafSpec::new("gw-a") };
    let a_files = pki.files("a", &expired, false);
    let b = GwServer::start(kinds[1], &tls_gateway("B", &b_files, ""));
    let a = GwServer::start(
        kinds[0],
        &tls_gateway("A", &a_files, "").remote("B", b.gateway_addr(), None),
    );
    let line = ok!(b.wait_line(0, "TLS gateway handshake error", WAIT); &a, &b);
    assert!(line.to_lowercase().contains("expired"), "{line}\n{}", describe_all(&[&a, &b]));
    assert!(b.lines_with(0, &["registered"]).is_empty(), "{}", describe_all(&[&a, &b]));
}

/// B pins A's key: the link comes up.
fn pinned_match(kinds: &[Kind]) {
    let pki = Pki::new();
    let b_files = pki.files("b", &LeafSpec::new("gw-b"), false);
    let a_leaf = pki.inter.leaf(&LeafSpec::new("gw-a"));
    let pin = format!("  pinned_certs: [\"{}\"]", a_leaf.spki_sha256.to_uppercase());
    let a_files = Files::write(&pki.dir, "a", &a_leaf, &[&pki.root1, &pki.root2]);
    let b = GwServer::start(kinds[1], &tls_gateway("B", &b_files, &pin));
    let a = GwServer::start(
        kinds[0],
        &tls_gateway("A", &a_files, "").remote("B", b.gateway_addr(), None),
    );
    wait_full_mesh(&[&a, &b]);
    carries_traffic(&a, &b);
}

/// B pins another key: A's handshake is refused with `certificate not pinned`.
fn pinned_mismatch(kinds: &[Kind]) {
    let pki = Pki::new();
    let b_files = pki.files("b", &LeafSpec::new("gw-b"), false);
    let a_files = pki.files("a", &LeafSpec::new("gw-a"), true);
    let pin = format!("  pinned_certs: [\"{}\"]", "ab".repeat(32));
    let b = GwServer::start(kinds[1], &tls_gateway("B", &b_files, &pin));
    let a = GwServer::start(
        kinds[0],
        &tls_gateway("A", &a_files, "").remote("B", b.gateway_addr(), None),
    );
    ok!(b.wait_all(0, &["TLS gateway handshake error", "certificate not pinned"], WAIT); &a, &b);
    assert!(b.lines_with(0, &["registered"]).is_empty(), "{}", describe_all(&[&a, &b]));
}

/// B has `verify_cert_and_check_known_urls` and a configured remote A at `localhost`: A's
/// certificate (DNS SAN `localhost`) is accepted without any gateway user.
fn check_known_urls(kinds: &[Kind]) {
    let pki = Pki::new();
    let ports = free_ports(2);
    let (pa, pb) = (ports[0], ports[1]);
    let b_files = pki.files("b", &LeafSpec::new("gw-b"), false);
    let a_files = pki.files("a", &LeafSpec::new("gw-a"), true);
    let b_conf = tls_gateway("B", &b_files, "  verify_cert_and_check_known_urls: true")
        .port(pb)
        .gateway_block("  authorization { user: nobody, password: nothing }\n");
    let mut b_conf = b_conf;
    b_conf.remotes.push(("A".into(), format!("nats://localhost:{pa}")));
    let b = GwServer::start(kinds[1], &b_conf);
    let a_conf = tls_gateway("A", &a_files, "").port(pa).remote("B", b.gateway_addr(), None);
    let a = GwServer::start(kinds[0], &a_conf);
    wait_full_mesh(&[&a, &b]);
    carries_traffic(&a, &b);
}

/// A has no gateway-level TLS, only a `tls` block in its entry for B: A dials B over mutual
/// TLS and the link registers (B's dial back to A's plaintext listener fails; not checked).
fn per_remote_tls(kinds: &[Kind]) {
    let pki = Pki::new();
    let b_files = pki.files("b", &LeafSpec::new("gw-b"), false);
    let a_files = pki.files("a", &LeafSpec::new("gw-a"), true);
    let b = GwServer::start(kinds[1], &tls_gateway("B", &b_files, ""));
    let a_conf = GwConfig::new("A")
        .remote("B", b.gateway_addr(), None)
        .remote_block("B", &a_files.block(""));
    let a = GwServer::start(kinds[0], &a_conf);
    ok!(a.wait_outbound(0, "B"); &a, &b);
    ok!(b.wait_inbound(0, "A"); &a, &b);
}

/// A plaintext peer on a TLS gateway port reads nothing (no INFO before TLS); the server
/// gives up after the TLS timeout (`TLS gateway handshake error: … i/o timeout`).
fn plaintext_peer_sees_nothing(kinds: &[Kind]) {
    use std::io::Read;
    let pki = Pki::new();
    let b_files = pki.files("b", &LeafSpec::new("gw-b"), false);
    let b = GwServer::start(kinds[0], &tls_gateway("B", &b_files, ""));
    let mut raw = std::net::TcpStream::connect(b.gateway_addr()).expect("connect");
    raw.set_read_timeout(Some(WAIT)).expect("timeout");
    // The server closes after its 2 s TLS timeout; until then it has sent nothing.
    let mut got = Vec::new();
    let _ = raw.read_to_end(&mut got);
    assert!(got.is_empty(), "{:?}\n{}", String::from_utf8_lossy(&got), b.describe(""));
    // nats-server also logs `TLS handshake timeout` unless its read deadline wins the race
    // against its timer (seen under load), so only the handshake error is required.
    ok!(b.wait_all(0, &["TLS gateway handshake error", "timeout"], WAIT); &b);
}

/// A trusts nothing B's certificate chains to but dials with `insecure: true` (and warns at
/// start): its outbound link to B registers. B still verifies A's certificate.
fn insecure_dialler(kinds: &[Kind]) {
    let pki = Pki::new();
    let other = Ca::root("other-root");
    let b_leaf = other.leaf(&LeafSpec::new("gw-b"));
    // B trusts the bundle (and so A); A trusts only its own root, not B's.
    let b_files = Files::write(&pki.dir, "b", &b_leaf, &[&pki.root1, &pki.root2]);
    let a_leaf = pki.root2.leaf(&LeafSpec::new("gw-a"));
    let a_files = Files::write(&pki.dir, "a", &a_leaf, &[&pki.root2]);
    let b = GwServer::start(kinds[1], &tls_gateway("B", &b_files, ""));
    let a_conf = tls_gateway("A", &a_files, "  insecure: true").remote("B", b.gateway_addr(), None);
    let a = GwServer::start(kinds[0], &a_conf);
    ok!(a.wait_line(0, "DO NOT USE IN PRODUCTION!", WAIT); &a, &b);
    ok!(a.wait_outbound(0, "B"); &a, &b);
    ok!(b.wait_inbound(0, "A"); &a, &b);
}

/// A (first kind) reloads a leaf from another CA and a bundle holding both: its link with B
/// stays up, and C, which trusts only the new CA, links with A — so new handshakes use the
/// reloaded certificate.
fn reload_rotates_certificates(kinds: &[Kind]) {
    let (dir, old_ca, new_ca) = (Dir::new(), Ca::root("old-ca"), Ca::root("new-ca"));
    let old_a = Files::write(&dir, "a-old", &old_ca.leaf(&LeafSpec::new("gw-a")), &[&old_ca]);
    let new_leaf = new_ca.leaf(&LeafSpec::new("gw-a"));
    let new_a = Files::write(&dir, "a-new", &new_leaf, &[&old_ca, &new_ca]);
    let b_files = Files::write(&dir, "b", &old_ca.leaf(&LeafSpec::new("gw-b")), &[&old_ca]);
    let c_files = Files::write(&dir, "c", &new_ca.leaf(&LeafSpec::new("gw-c")), &[&new_ca]);
    let a = GwServer::start(kinds[0], &tls_gateway("A", &old_a, ""));
    let b = GwServer::start(
        kinds[1],
        &tls_gateway("B", &b_files, "").remote("A", a.gateway_addr(), None),
    );
    wait_full_mesh(&[&a, &b]);

    let mark = a.mark();
    ok!(a.reload(&tls_gateway("A", &new_a, "")); &a, &b);
    ok!(a.wait_line(mark, "Reloaded server configuration", WAIT); &a, &b);
    let c = GwServer::start(
        kinds[2],
        &tls_gateway("C", &c_files, "").remote("A", a.gateway_addr(), None),
    );
    ok!(a.wait_outbound(mark, "C"); &a, &b, &c);
    ok!(a.wait_inbound(mark, "C"); &a, &b, &c);
    carries_traffic(&c, &a);
    // The established link to B was not made again.
    assert!(
        a.lines_with(mark, &["gateway connection to \"B\"", "registered"]).is_empty(),
        "{}",
        describe_all(&[&a, &b, &c])
    );
    carries_traffic(&a, &b);
}

/// A (strait) pins B's key, then reloads with a pin that leaves it out: both links with B are
/// closed at once (nats-server's `recheckPinnedCerts`) and A's next handshakes are refused.
fn reload_changes_pins(kinds: &[Kind]) {
    let pki = Pki::new();
    let b_leaf = pki.root2.leaf(&LeafSpec::new("gw-b"));
    let b_files = Files::write(&pki.dir, "b", &b_leaf, &[&pki.root1, &pki.root2]);
    let a_files = pki.files("a", &LeafSpec::new("gw-a"), true);
    let pinned = |key: &str| format!("  pinned_certs: [\"{key}\"]");
    let a = GwServer::start(kinds[0], &tls_gateway("A", &a_files, &pinned(&b_leaf.spki_sha256)));
    let b = GwServer::start(
        kinds[1],
        &tls_gateway("B", &b_files, "").remote("A", a.gateway_addr(), None),
    );
    wait_full_mesh(&[&a, &b]);
    carries_traffic(&a, &b);

    let mark = a.mark();
    ok!(a.reload(&tls_gateway("A", &a_files, &pinned(&"ab".repeat(32)))); &a, &b);
    ok!(a.wait_line(mark, "Disconnect 2 clients due to pinned certs reload", WAIT); &a, &b);
    ok!(a.wait_all(mark, &["TLS gateway handshake error", "certificate not pinned"], WAIT); &a, &b);
    // B dials again (or A does): refused for the same reason.
    let again = a.mark();
    ok!(a.wait_all(again, &["TLS gateway handshake error", "certificate not pinned"], WAIT); &a, &b);
}
