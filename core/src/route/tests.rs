//! Routes driven by hand: clusters of nodes wired through in-memory pipes on a fake clock.

use std::time::Duration;

use crate::node::NodeConfig;
use crate::node::world::World;
use crate::peer_url::PeerUrl;
use crate::route::ClusterConfig;

/// Server `i` of cluster "C", route port 6000 + i, with explicit routes to `routes`.
fn server(i: u16, routes: &[u16]) -> NodeConfig {
    let mut c = ClusterConfig::new("C", PeerUrl::new("127.0.0.1", 6000 + i));
    c.routes = routes.iter().map(|r| PeerUrl::new("127.0.0.1", 6000 + r)).collect();
    c.client_urls = vec![format!("127.0.0.1:{}", 4000 + i)];
    NodeConfig {
        server_name: Some(format!("S{i}")),
        port: 4000 + i,
        cluster: Some(c),
        ..NodeConfig::default()
    }
}

/// Three servers; only the first lists the others, so gossip must complete the mesh.
fn three() -> World {
    let mut w = World::new(vec![server(0, &[1]), server(1, &[2]), server(2, &[])]);
    w.advance(Duration::from_secs(3));
    w
}

fn routes(w: &World, node: usize) -> usize {
    w.nodes[node].cluster.as_ref().map_or(0, |c| c.peers.len())
}

#[test]
fn gossip_completes_the_mesh_from_a_partial_route_list() {
    let w = three();
    for n in 0..3 {
        assert_eq!(routes(&w, n), 2, "server {n} reaches both others");
    }
    assert!(w.logs.iter().any(|(_, l)| l.contains("Route connection created")));
}

#[test]
fn messages_cross_once_and_are_never_relayed() {
    let mut w = three();
    let subs: Vec<usize> = (0..3).map(|n| w.client(n)).collect();
    for &c in &subs {
        w.send(c, "SUB foo 1\r\nSUB foo.* 2\r\n");
    }
    w.settle();
    let publisher = w.client(1);
    w.send(publisher, "PUB foo.bar 2\r\nhi\r\nPUB foo 3\r\nabc\r\n");
    for &c in &subs {
        let got = w.take(c);
        assert_eq!(got, "MSG foo.bar 2 2\r\nhi\r\nMSG foo 1 3\r\nabc\r\n", "client {c}");
    }
}

#[test]
fn queue_groups_deliver_exactly_once_across_the_cluster() {
    let mut w = three();
    let members: Vec<usize> = (0..3).map(|n| w.client(n)).collect();
    for &c in &members {
        w.send(c, "SUB work q 1\r\n");
    }
    w.settle();
    let publisher = w.client(0);
    for _ in 0..60 {
        w.send(publisher, "PUB work 1\r\nx\r\n");
    }
    let counts: Vec<usize> =
        members.iter().map(|&c| w.take(c).matches("MSG work").count()).collect();
    assert_eq!(counts.iter().sum::<usize>(), 60, "{counts:?}");
    assert!(counts.iter().all(|&n| n > 5), "members are picked at random: {counts:?}");
}

#[test]
fn request_reply_and_no_responders_across_routes() {
    let mut w = three();
    let responder = w.client(2);
    w.send(responder, "SUB svc 1\r\n");
    let requester = w.client(0);
    w.send(requester, "SUB _INBOX.a 9\r\n");
    w.settle();
    w.send(requester, "PUB svc _INBOX.a 2\r\nhi\r\n");
    assert_eq!(w.take(responder), "MSG svc 1 _INBOX.a 2\r\nhi\r\n");
    w.send(responder, "PUB _INBOX.a 2\r\nok\r\n");
    assert_eq!(w.take(requester), "MSG _INBOX.a 9 2\r\nok\r\n");
    // Nobody anywhere in the cluster: a 503 from the publisher's own server.
    w.send(requester, "HPUB nobody _INBOX.a 12 12\r\nNATS/1.0\r\n\r\n\r\n");
    assert!(w.take(requester).contains("NATS/1.0 503"));
}

#[test]
fn interest_of_a_closed_route_goes_with_it() {
    let mut w = three();
    let sub = w.client(2);
    w.send(sub, "SUB foo 1\r\n");
    w.settle();
    let remote_subs = |w: &World| w.nodes[0].memory_use().route_interest;
    assert!(remote_subs(&w) >= 1);
    // Server 2 goes away: its interest leaves server 0's sublist.
    let links: Vec<_> = w.nodes[2].link_ids();
    for l in links {
        w.nodes[2].close_link(l, crate::error::DriverClose::Shutdown);
    }
    w.settle();
    assert_eq!(remote_subs(&w), 0);
}

#[test]
fn wrong_cluster_name_and_password_are_refused() {
    let mut other = server(1, &[]);
    other.cluster.as_mut().unwrap().name = "OTHER".into();
    let mut w = World::new(vec![server(0, &[1]), other]);
    w.advance(Duration::from_secs(2));
    assert_eq!(routes(&w, 0), 0);
    assert!(w.logs.iter().any(|(_, l)| l.contains("cluster name \"C\" does not match \"OTHER\"")));

    let mut guarded = server(1, &[]);
    guarded.cluster.as_mut().unwrap().user = Some("ru".into());
    guarded.cluster.as_mut().unwrap().password = Some("rp".into());
    let mut w = World::new(vec![server(0, &[1]), guarded]);
    w.advance(Duration::from_secs(2));
    assert_eq!(routes(&w, 0), 0);
    assert!(w.logs.iter().any(|(n, l)| *n == 1 && l.contains("authentication error")));
}

#[test]
fn gossip_carries_nats_servers_gossip_mode() {
    // A star: S0, S2 and S3 each list only S1, which lists nobody and accepted all three, so
    // it gossips each to the others with `gossip_mode` 1, as nats-server would.
    let mut w = World::new(vec![server(0, &[1]), server(1, &[]), server(2, &[1]), server(3, &[1])]);
    w.advance(Duration::from_secs(5));
    for n in 0..4 {
        assert_eq!(routes(&w, n), 3, "server {n} reaches every other");
    }
    let gossip = w.lines_sent(1, 0, "INFO");
    assert!(gossip.iter().any(|l| l.contains(r#""gossip_mode":1"#)), "{gossip:#?}");
    // Whoever of S0 and S3 dialled the other because of that gossip passes its mode on in
    // its own INFO.
    let id = |n: usize| w.nodes[n].server_id.clone();
    let told = |from: usize, to: usize| {
        w.lines_sent(from, to, "INFO")
            .iter()
            .any(|l| l.contains(&id(from)) && l.contains(r#""gossip_mode":1"#))
    };
    assert!(told(0, 3) || told(3, 0), "the implicit route carries the gossip's mode");
}

#[test]
fn our_first_info_declines_compression() {
    let w = three();
    for (from, to) in [(0, 1), (1, 0)] {
        let first = w.lines_sent(from, to, "INFO").into_iter().next().unwrap_or_default();
        assert!(first.contains(r#""compression":"off""#), "S{from}→S{to}: {first}");
    }
}

#[test]
fn a_route_list_naming_ourselves_is_dialled_once() {
    let mut w = World::new(vec![server(0, &[0, 1]), server(1, &[0, 1])]);
    w.advance(Duration::from_secs(10));
    assert_eq!(routes(&w, 0), 1);
    assert_eq!(routes(&w, 1), 1);
    let self_dials =
        w.logs.iter().filter(|(n, l)| *n == 0 && l.contains("Detected route to self")).count();
    assert_eq!(self_dials, 1);
}

#[test]
fn clients_learn_the_other_servers_urls() {
    let mut w = World::new(vec![server(0, &[]), server(1, &[0])]);
    let c = w.client(0);
    w.send(c, "CONNECT {\"protocol\":1}\r\nPING\r\n");
    w.take(c);
    w.advance(Duration::from_secs(3));
    let got = w.take(c);
    assert!(got.contains("\"connect_urls\":[\"127.0.0.1:4000\",\"127.0.0.1:4001\"]"), "{got}");
}

#[test]
fn the_pool_is_filled_and_each_account_uses_its_connection() {
    let mut w = World::new(vec![server(0, &[1]), server(1, &[])]);
    w.advance(Duration::from_secs(3));
    let links = |w: &World, n: usize| w.nodes[n].memory_use().route_links;
    assert_eq!((links(&w, 0), links(&w, 1)), (3, 3), "pool_size 3: three connections");
    // $G hashes to index 2: its interest and messages use that connection only.
    let sub = w.client(1);
    w.send(sub, "SUB foo 1\r\n");
    w.settle();
    let publisher = w.client(0);
    w.send(publisher, "PUB foo 2\r\nhi\r\n");
    assert_eq!(w.take(sub), "MSG foo 1 2\r\nhi\r\n");
}

#[test]
fn without_a_pool_one_connection_carries_everything() {
    let mut a = server(0, &[1]);
    a.cluster.as_mut().unwrap().pool_size = -1;
    let mut w = World::new(vec![a, server(1, &[])]);
    w.advance(Duration::from_secs(3));
    assert_eq!(w.nodes[0].memory_use().route_links, 1);
    let sub = w.client(0);
    w.send(sub, "SUB foo 1\r\n");
    w.settle();
    let publisher = w.client(1);
    w.send(publisher, "PUB foo 2\r\nhi\r\n");
    assert_eq!(w.take(sub), "MSG foo 1 2\r\nhi\r\n");
}

#[test]
fn a_pinned_account_gets_its_own_connection() {
    let pin = |mut c: NodeConfig| {
        c.cluster.as_mut().unwrap().pinned_accounts = vec!["$G".into()];
        c
    };
    let mut w = World::new(vec![pin(server(0, &[1])), pin(server(1, &[]))]);
    w.advance(Duration::from_secs(3));
    assert_eq!(w.nodes[0].memory_use().route_links, 4, "three pooled and one pinned");
    let sub = w.client(1);
    w.send(sub, "SUB foo 1\r\nSUB q.* g 2\r\n");
    w.settle();
    let publisher = w.client(0);
    w.send(publisher, "PUB foo 2\r\nhi\r\nPUB q.x 1\r\nx\r\n");
    assert_eq!(w.take(sub), "MSG foo 1 2\r\nhi\r\nMSG q.x 2 1\r\nx\r\n");
}

#[test]
fn cluster_permissions_filter_what_is_announced_and_accepted() {
    use crate::permissions::{PermissionSpec, SubjectRules};
    let rules = |allow: &[&str]| {
        Some(SubjectRules { allow: allow.iter().map(|s| (*s).to_owned()).collect(), deny: vec![] })
    };
    // Server 0 imports only `in.>` (announces only that interest) and exports only `out.>`
    // (accepts only that interest from peers).
    let mut a = server(0, &[1]);
    a.cluster.as_mut().unwrap().permissions = Some(PermissionSpec {
        publish: rules(&["in.>"]),
        subscribe: rules(&["out.>"]),
        responses: None,
    });
    let mut w = World::new(vec![a, server(1, &[])]);
    w.advance(Duration::from_secs(3));
    let on_a = w.client(0);
    w.send(on_a, "SUB in.x 1\r\nSUB other 2\r\n");
    let on_b = w.client(1);
    w.send(on_b, "SUB out.x 1\r\nSUB elsewhere 2\r\n");
    w.settle();
    w.send(on_b, "PUB in.x 1\r\na\r\nPUB other 1\r\nb\r\n");
    assert_eq!(w.take(on_a), "MSG in.x 1 1\r\na\r\n", "only imported interest was announced");
    w.send(on_a, "PUB out.x 1\r\nc\r\nPUB elsewhere 1\r\nd\r\n");
    assert_eq!(w.take(on_b), "MSG out.x 1 1\r\nc\r\n", "only exported interest was accepted");
}

#[test]
fn a_generated_cluster_name_gives_way_to_a_configured_one() {
    let mut unnamed = server(1, &[0]);
    unnamed.cluster.as_mut().unwrap().name = String::new();
    let mut w = World::new(vec![server(0, &[]), unnamed]);
    w.advance(Duration::from_secs(3));
    assert_eq!(routes(&w, 1), 1);
    assert_eq!(w.nodes[1].cluster.as_ref().unwrap().config.name, "C");
    assert!(w.logs.iter().any(|(n, l)| *n == 1 && l == "Cluster name updated to C"));
    assert!(w.logs.iter().any(|(n, l)| *n == 1 && l.contains("consider setting one")));
}
