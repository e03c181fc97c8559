//! Route TLS (`cluster { tls {} }`) between strait and nats-server 2.15.1, both directions of
//! dial: mutual TLS before any route protocol, a wrong CA refused in nats-server's words,
//! `verify_and_map` to the cluster user, `insecure` with its warning, certificate rotation by
//! reload (SIGHUP) used by new route connections, and `pinned_certs` re-checked on reload.
//! Tests are named `<scenario>::<kinds>`, first kind = first server named in the scenario
//! (s = strait, n = nats-server).
//!
//! Every server is also a gateway "C" with no remotes (the harness needs a gateway listener);
//! the cluster is named "C" too. Waits are on log lines (bounded), never sleeps; both servers
//! run with `debug: true` so that `Registering remote route` (a debug line in both) shows.

#[macro_use]
mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::Kind;
use common::certs::{Ca, Dir, Files, LeafSpec};
use common::gateway::{GwConfig, GwServer, RawClient, describe_all, raw_probe};

const S: Kind = Kind::Strait;
const N: Kind = Kind::NatsServer;

/// Bound for a route to register, for interest to cross it, and for an expected log line.
const WAIT: Duration = Duration::from_secs(10);

/// Logged by both implementations when a route handshake completes.
const REGISTERED: &str = "Registering remote route";
/// nats-server's words for a failed route TLS handshake (strait's too).
const TLS_ERROR: &str = "TLS route handshake error";

kind_combos! {
    mutual_tls { s_s: [S, S], s_n: [S, N], n_s: [N, S] }
    wrong_ca { s_n: [S, N], n_s: [N, S] }
    verify_and_map { s_n_n: [S, N, N], n_s_s: [N, S, S] }
    insecure_dialler { s_n: [S, N], n_s: [N, S] }
    reload_rotates_certificates { s_n_n: [S, N, N], s_s_s: [S, S, S] }
    reload_changes_pins { s_n: [S, N], s_s: [S, S] }
}

/// Two roots in every CA bundle; leaves come from the second root or from an intermediate of
/// the first (whose `cert_file` then carries the intermediate).
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

    /// Files for a server whose leaf has common name `cn`.
    fn files(&self, name: &str, cn: &str, via_intermediate: bool) -> Files {
        let ca = if via_intermediate { &self.inter } else { &self.root2 };
        Files::write(&self.dir, name, &ca.leaf(&LeafSpec::new(cn)), &[&self.root1, &self.root2])
    }
}

/// Server `server` of cluster "C": routes to `routes`, route TLS from `files` with `extra`
/// lines in the `tls` block, `cluster_extra` lines in the cluster block.
fn member(server: &str, files: &Files, extra: &str, routes: &[SocketAddr]) -> GwConfig {
    member_with(server, files, extra, routes, "")
}

fn member_with(
    server: &str,
    files: &Files,
    extra: &str,
    routes: &[SocketAddr],
    cluster_extra: &str,
) -> GwConfig {
    let routes: Vec<String> = routes.iter().map(|a| format!("\"nats://{a}\"")).collect();
    let mut c = GwConfig::new("C").server_name(server).without_gateway();
    c.extra = format!(
        "debug: true\ncluster {{\n  name: C\n  listen: \"127.0.0.1:-1\"\n  routes: [{}]\n{cluster_extra}\n{}}}\n",
        routes.join(", "),
        files.block(extra),
    );
    c
}

/// The bound route listener, from `Listening for route connections on H:P` (nats-server
/// prints it after `Server is ready`: waited for).
fn route_addr(s: &GwServer) -> SocketAddr {
    let line = ok!(s.wait_line(0, "Listening for route connections on ", WAIT); s);
    let port = line.rsplit(':').next().and_then(|p| p.trim().parse::<u16>().ok());
    let port = port.unwrap_or_else(|| panic!("no port in {line:?}\n{}", s.describe("")));
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Messages published on `a` reach a subscriber on `b`.
fn carries_traffic(a: &GwServer, b: &GwServer) {
    let mut sa = ok!(RawClient::connect(a.addr()); a, b);
    let mut sb = ok!(RawClient::connect(b.addr()); a, b);
    ok!(sb.send(b"SUB tls.route.probe 1\r\n"); a, b);
    ok!(sb.ping_pong(); a, b);
    ok!(raw_probe(&mut sa, &mut sb, "tls.route.probe", WAIT); a, b);
}

/// B listens; A dials B. Both verify each other against the CA bundle (A's chain has an
/// intermediate). The route registers on both sides and carries messages both ways.
fn mutual_tls(kinds: &[Kind]) {
    let pki = Pki::new();
    let b_files = pki.files("b", "route-b", false);
    let a_files = pki.files("a", "route-a", true);
    let b = GwServer::start(kinds[1], &member("B", &b_files, "", &[]));
    let a = GwServer::start(kinds[0], &member("A", &a_files, "", &[route_addr(&b)]));
    ok!(a.wait_line(0, REGISTERED, WAIT); &a, &b);
    ok!(b.wait_line(0, REGISTERED, WAIT); &a, &b);
    carries_traffic(&a, &b);
    carries_traffic(&b, &a);
}

/// A and B trust different roots: each side refuses the other's certificate with
/// `TLS route handshake error`, and A (an explicit route) keeps retrying.
fn wrong_ca(kinds: &[Kind]) {
    let pki = Pki::new();
    let other = Ca::root("other-root");
    let b_files = pki.files("b", "route-b", false);
    let a_files = Files::write(&pki.dir, "a", &other.leaf(&LeafSpec::new("route-a")), &[&other]);
    let b = GwServer::start(kinds[1], &member("B", &b_files, "", &[]));
    let a = GwServer::start(kinds[0], &member("A", &a_files, "", &[route_addr(&b)]));
    ok!(a.wait_line(0, TLS_ERROR, WAIT); &a, &b);
    ok!(b.wait_line(0, TLS_ERROR, WAIT); &a, &b);
    let mark = a.mark();
    ok!(a.wait_line(mark, TLS_ERROR, WAIT); &a, &b);
    assert!(a.lines_with(0, &[REGISTERED]).is_empty(), "{}", describe_all(&[&a, &b]));
    assert!(b.lines_with(0, &[REGISTERED]).is_empty(), "{}", describe_all(&[&a, &b]));
}

/// B maps the peer certificate to its cluster user `CN=route-a`: A (whose certificate says
/// so) registers, W (CN=route-w, same CA) is refused with an authentication error.
fn verify_and_map(kinds: &[Kind]) {
    let pki = Pki::new();
    let b_files = pki.files("b", "route-b", false);
    let a_files = pki.files("a", "route-a", true);
    let w_files = pki.files("w", "route-w", false);
    let auth = "  authorization { user: \"CN=route-a\" }";
    let b =
        GwServer::start(kinds[0], &member_with("B", &b_files, "  verify_and_map: true", &[], auth));
    let to_b = [route_addr(&b)];
    let a = GwServer::start(kinds[1], &member("A", &a_files, "", &to_b));
    ok!(a.wait_line(0, REGISTERED, WAIT); &a, &b);
    ok!(b.wait_line(0, REGISTERED, WAIT); &a, &b);
    let mark = b.mark();
    let w = GwServer::start(kinds[2], &member("W", &w_files, "", &to_b));
    ok!(b.wait_line(mark, "authentication error", WAIT); &a, &b, &w);
    // The acceptor never registers W (a dialler logs its registration when the acceptor's
    // INFO arrives, before the refusal, in both implementations).
    // (A's other pool connections may still register after the mark.)
    let first = b.lines_with(0, &[REGISTERED]);
    // `Registering remote route "ID"[ for account "X"]`: the id is the first quoted part.
    let a_id = first[0].split('"').nth(1).unwrap_or_default().to_owned();
    let others = b.lines_with(mark, &[REGISTERED]);
    assert!(others.iter().all(|l| l.contains(&a_id)), "{}", describe_all(&[&a, &b, &w]));
    carries_traffic(&a, &b);
}

/// A trusts nothing B's certificate chains to but dials with `insecure: true` (and warns at
/// start in nats-server's words): the route registers. B still verifies A's certificate.
fn insecure_dialler(kinds: &[Kind]) {
    let pki = Pki::new();
    let other = Ca::root("other-root");
    let b_leaf = other.leaf(&LeafSpec::new("route-b"));
    let b_files = Files::write(&pki.dir, "b", &b_leaf, &[&pki.root1, &pki.root2]);
    let a_leaf = pki.root2.leaf(&LeafSpec::new("route-a"));
    let a_files = Files::write(&pki.dir, "a", &a_leaf, &[&pki.root2]);
    let b = GwServer::start(kinds[1], &member("B", &b_files, "", &[]));
    let a =
        GwServer::start(kinds[0], &member("A", &a_files, "  insecure: true", &[route_addr(&b)]));
    let warning = "TLS certificate chain and hostname of solicited routes will not be verified. \
                   DO NOT USE IN PRODUCTION!";
    let line = ok!(a.wait_line(0, warning, WAIT); &a, &b);
    assert!(line.contains("[WRN]"), "{line}");
    ok!(a.wait_line(0, REGISTERED, WAIT); &a, &b);
    ok!(b.wait_line(0, REGISTERED, WAIT); &a, &b);
    carries_traffic(&a, &b);
}

/// A (first kind) reloads a leaf from another CA and a bundle holding both: its route with B
/// stays up, and C, which trusts only the new CA, forms a route with A — so new handshakes use
/// the reloaded certificate.
fn reload_rotates_certificates(kinds: &[Kind]) {
    let (dir, old_ca, new_ca) = (Dir::new(), Ca::root("old-ca"), Ca::root("new-ca"));
    let old_a = Files::write(&dir, "a-old", &old_ca.leaf(&LeafSpec::new("route-a")), &[&old_ca]);
    let new_leaf = new_ca.leaf(&LeafSpec::new("route-a"));
    let new_a = Files::write(&dir, "a-new", &new_leaf, &[&old_ca, &new_ca]);
    let b_files = Files::write(&dir, "b", &old_ca.leaf(&LeafSpec::new("route-b")), &[&old_ca]);
    let c_files = Files::write(&dir, "c", &new_ca.leaf(&LeafSpec::new("route-c")), &[&new_ca]);
    // One connection per server pair: B and C trust different CAs and can never route to each
    // other, and a nats-server that keeps failing a gossiped route is slow to open the rest of
    // its pool elsewhere, which is not what this test is about.
    let no_pool = "  pool_size: -1";
    let a = GwServer::start(kinds[0], &member_with("A", &old_a, "", &[], no_pool));
    let to_a = [route_addr(&a)];
    let b = GwServer::start(kinds[1], &member_with("B", &b_files, "", &to_a, no_pool));
    ok!(a.wait_line(0, REGISTERED, WAIT); &a, &b);
    ok!(b.wait_line(0, REGISTERED, WAIT); &a, &b);

    let mark = a.mark();
    ok!(a.reload(&member_with("A", &new_a, "", &[], no_pool)); &a, &b);
    ok!(a.wait_line(mark, "Reloaded server configuration", WAIT); &a, &b);
    let c = GwServer::start(kinds[2], &member_with("C", &c_files, "", &to_a, no_pool));
    ok!(c.wait_line(0, REGISTERED, WAIT); &a, &b, &c);
    ok!(a.wait_line(mark, REGISTERED, WAIT); &a, &b, &c);
    carries_traffic(&c, &a);
    // The established route to B was kept and still carries messages.
    carries_traffic(&a, &b);
}

/// A (strait) pins B's key, then reloads with a pin that leaves it out: the route with B is
/// closed at once (nats-server's `recheckPinnedCerts`) and B's next handshakes are refused
/// with `certificate not pinned`.
fn reload_changes_pins(kinds: &[Kind]) {
    let pki = Pki::new();
    let b_leaf = pki.root2.leaf(&LeafSpec::new("route-b"));
    let b_files = Files::write(&pki.dir, "b", &b_leaf, &[&pki.root1, &pki.root2]);
    let a_files = pki.files("a", "route-a", true);
    let pinned = |key: &str| format!("  pinned_certs: [\"{key}\"]");
    let a = GwServer::start(kinds[0], &member("A", &a_files, &pinned(&b_leaf.spki_sha256), &[]));
    let b = GwServer::start(kinds[1], &member("B", &b_files, "", &[route_addr(&a)]));
    ok!(a.wait_line(0, REGISTERED, WAIT); &a, &b);
    carries_traffic(&a, &b);

    let mark = a.mark();
    ok!(a.reload(&member("A", &a_files, &pinned(&"ab".repeat(32)), &[])); &a, &b);
    // One line for the server's pooled routes (3 by default; nats-server adds its $SYS one).
    ok!(a.wait_line(mark, "clients due to pinned certs reload", WAIT); &a, &b);
    // B dials again: refused for the same reason.
    ok!(a.wait_all(mark, &[TLS_ERROR, "certificate not pinned"], WAIT); &a, &b);
    let again = a.mark();
    ok!(a.wait_all(again, &[TLS_ERROR, "certificate not pinned"], WAIT); &a, &b);
}
