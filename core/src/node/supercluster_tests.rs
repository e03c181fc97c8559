//! Gateways between clusters of several servers, driven by hand: cluster A is two servers
//! joined by a route, cluster B one server whose gateway lands on A1 only, so whatever B
//! sends to A2's clients must cross A1's route.

use std::time::Duration;

use super::world::{self, World};
use super::*;
use crate::peer_url::PeerUrl;
use crate::route::ClusterConfig;

/// Server `name` of cluster `cluster`: gateway port `gw`, route port `route` (0: no
/// cluster) listing `routes`, and the remote clusters' gateway ports.
fn server(
    cluster: &str,
    name: &str,
    gw: u16,
    route: (u16, &[u16]),
    remotes: &[(&str, u16)],
) -> NodeConfig {
    let g = world::gateway_config(cluster, gw, remotes);
    let cluster = (route.0 != 0).then(|| {
        let mut c = ClusterConfig::new(cluster, PeerUrl::new("127.0.0.1", route.0));
        c.routes = route.1.iter().map(|p| PeerUrl::new("127.0.0.1", *p)).collect();
        c
    });
    NodeConfig {
        server_name: Some(name.into()),
        gateway: Some(g),
        cluster,
        ..NodeConfig::default()
    }
}

/// A1 and A2 (cluster A), B1 (cluster B, dialling A1).
fn a2_b1() -> World {
    let mut w = World::new(vec![
        server("A", "A1", 7001, (6001, &[]), &[("B", 7002)]),
        server("A", "A2", 7011, (6011, &[6001]), &[("B", 7002)]),
        server("B", "B1", 7002, (0, &[]), &[("A", 7001)]),
    ]);
    w.advance(Duration::from_secs(3));
    w
}

#[test]
fn a_message_from_a_gateway_reaches_every_server_of_the_cluster() {
    let mut w = a2_b1();
    let on_a1 = w.client(0);
    let on_a2 = w.client(1);
    w.send(on_a1, "SUB foo 1\r\n");
    w.send(on_a2, "SUB foo 1\r\n");
    w.settle();
    let publisher = w.client(2);
    w.send(publisher, "PUB foo 2\r\nhi\r\n");
    assert_eq!(w.take(on_a1), "MSG foo 1 2\r\nhi\r\n");
    assert_eq!(w.take(on_a2), "MSG foo 1 2\r\nhi\r\n", "forwarded over A1's route");
}

#[test]
fn a_queue_group_across_the_cluster_gets_a_gateway_message_once() {
    let mut w = a2_b1();
    let members: Vec<usize> = (0..2).map(|n| w.client(n)).collect();
    for &m in &members {
        w.send(m, "SUB work q 1\r\n");
    }
    w.settle();
    let publisher = w.client(2);
    for _ in 0..40 {
        w.send(publisher, "PUB work 1\r\nx\r\n");
    }
    let got: Vec<usize> = members.iter().map(|&m| w.take(m).matches("MSG work").count()).collect();
    assert_eq!(got.iter().sum::<usize>(), 40, "exactly once: {got:?}");
    assert!(got.iter().all(|&n| n > 0), "both servers' members are picked: {got:?}");
}

#[test]
fn a_reply_crossing_a_gateway_finds_the_requesters_server() {
    let mut w = a2_b1();
    // The responder is in B; the requester on A2, whose own gateway link to B carries the
    // request, while B answers through its link to A1.
    let responder = w.client(2);
    w.send(responder, "SUB svc 1\r\n");
    w.settle();
    let requester = w.client(1);
    w.send(requester, "SUB _INBOX.r 1\r\nPUB svc _INBOX.r 3\r\nreq\r\n");
    let request = w.take(responder);
    assert!(request.starts_with("MSG svc 1 _INBOX.r 3"), "{request}");
    let mapped = w.lines_sent(1, 2, "RMSG");
    assert!(mapped.iter().any(|l| l.contains(" _GR_.")), "A2 mapped the reply: {mapped:?}");
    w.send(responder, "PUB _INBOX.r 3\r\nans\r\n");
    assert_eq!(w.take(requester), "MSG _INBOX.r 1 3\r\nans\r\n");
    // The answer came back to A1, which passed it on, still mapped, to A2.
    let passed = w.lines_sent(0, 1, "RMSG");
    assert!(passed.iter().any(|l| l.contains("_GR_.")), "over A1's route: {passed:?}");
}

#[test]
fn remote_clusters_learn_every_gateway_url_of_ours() {
    let w = a2_b1();
    // B1 was given A1's URL only; A1's INFO now lists A2's too (learned over the route).
    let remotes = w.gateway(2).remotes;
    let (_, _, urls) = remotes.iter().find(|(n, _, _)| n == "A").expect("A known");
    assert!(urls.contains(&"127.0.0.1:7011".to_owned()), "{urls:?}");
}

#[test]
fn a_server_dials_the_remote_clusters_its_route_peers_reach() {
    // A2 lists no remote cluster at all: A1's gateway gossip over the route makes it dial B.
    let mut w = World::new(vec![
        server("A", "A1", 7001, (6001, &[]), &[("B", 7002)]),
        server("A", "A2", 7011, (6011, &[6001]), &[]),
        server("B", "B1", 7002, (0, &[]), &[("A", 7001)]),
    ]);
    w.advance(Duration::from_secs(4));
    assert!(w.registered(1, "Outbound gateway connection to \"B\""), "{:?}", w.logs);
    let outbound: Vec<String> = w.gateway(1).outbound.iter().map(|o| o.remote.clone()).collect();
    assert_eq!(outbound, ["B"]);
    // B1 now has an inbound from each server of A.
    assert_eq!(w.gateway(2).inbound.len(), 2);
}

#[test]
fn reject_unknown_cluster_ignores_gossip_over_routes_too() {
    let mut a2 = server("A", "A2", 7011, (6011, &[6001]), &[]);
    a2.gateway.as_mut().unwrap().reject_unknown_cluster = true;
    let mut w = World::new(vec![
        server("A", "A1", 7001, (6001, &[]), &[("B", 7002)]),
        a2,
        server("B", "B1", 7002, (0, &[]), &[("A", 7001)]),
    ]);
    w.advance(Duration::from_secs(4));
    assert!(w.gateway(1).outbound.is_empty(), "B is unknown to A2");
}

#[test]
fn when_the_server_a_gateway_lands_on_dies_the_link_moves_to_another() {
    let mut w = a2_b1();
    let on_a2 = w.client(1);
    w.send(on_a2, "SUB foo 1\r\n");
    w.settle();
    // B1's link to A lands on A1, the only URL it was given; it learned A2's since.
    w.crash(0);
    w.advance(Duration::from_secs(3));
    let to_a: Vec<String> = w.gateway(2).outbound.iter().map(|o| o.remote.clone()).collect();
    assert_eq!(to_a, ["A"], "B1 dialled A again");
    let publisher = w.client(2);
    w.send(publisher, "PUB foo 2\r\nhi\r\n");
    assert_eq!(w.take(on_a2), "MSG foo 1 2\r\nhi\r\n", "traffic resumed through A2");
}
