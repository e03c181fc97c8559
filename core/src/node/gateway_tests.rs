//! Gateways driven by hand: several nodes wired through in-memory pipes on a fake clock.

use std::time::Duration;

use super::world::{self, World};
use super::*;
use crate::gateway::interest::Mode;
use crate::gateway::{GatewayUrl, RemoteConfig};

fn config(name: &str, port: u16, remotes: &[(&str, u16)]) -> NodeConfig {
    let g = world::gateway_config(name, port, remotes);
    NodeConfig { server_name: Some(format!("s{name}")), gateway: Some(g), ..NodeConfig::default() }
}

fn two_clusters() -> World {
    let mut w = World::new(vec![
        config("A", 7001, &[("A", 7001), ("B", 7002)]),
        config("B", 7002, &[("A", 7001), ("B", 7002)]),
    ]);
    w.advance(Duration::from_secs(2));
    w
}

#[test]
fn explicit_gateways_register_both_ways() {
    let w = two_clusters();
    assert!(w.registered(0, "Outbound gateway connection to \"B\""), "{:?}", w.logs);
    assert!(w.registered(0, "Inbound gateway connection from \"B\""));
    assert!(w.registered(1, "Outbound gateway connection to \"A\""));
    let g = w.gateway(0);
    assert_eq!((g.outbound.len(), g.inbound.len()), (1, 1));
    assert!(g.outbound[0].configured);
}

#[test]
fn messages_follow_interest_across_the_gateway() {
    let mut w = two_clusters();
    let sub = w.client(1);
    let publisher = w.client(0);
    w.send(sub, "SUB foo.* 1\r\n");
    w.settle();
    // A's view of B's interest lists the subscription (what `/gatewayz?subs=1` shows).
    let announced = &w.gateway(0).outbound[0].accounts[0].subscriptions;
    assert_eq!(announced, &[(bytes::Bytes::from_static(b"foo.*"), None)]);
    w.send(publisher, "PUB foo.bar 2\r\nhi\r\nPUB other 2\r\nno\r\n");
    assert_eq!(w.take(sub), "MSG foo.bar 1 2\r\nhi\r\n");
    // Interest-only: nothing without interest crosses.
    let b_inbound = &w.gateway(1).inbound[0];
    assert_eq!(b_inbound.link.counters.in_msgs, 1);
    // An unsubscribe stops the flow.
    w.send(sub, "UNSUB 1\r\n");
    w.settle();
    w.send(publisher, "PUB foo.bar 2\r\nhi\r\n");
    assert_eq!(w.take(sub), "");
    assert_eq!(w.gateway(1).inbound[0].link.counters.in_msgs, 1);
}

#[test]
fn gateway_messages_are_never_forwarded_to_another_gateway() {
    let mut w = World::new(vec![
        config("A", 7001, &[("B", 7002), ("C", 7003)]),
        config("B", 7002, &[("A", 7001), ("C", 7003)]),
        config("C", 7003, &[("A", 7001), ("B", 7002)]),
    ]);
    w.advance(Duration::from_secs(2));
    let on_b = w.client(1);
    let on_c = w.client(2);
    let publisher = w.client(0);
    w.send(on_b, "SUB > 1\r\n");
    w.send(on_c, "SUB > 1\r\n");
    w.settle();
    w.send(publisher, "PUB foo 3\r\nbar\r\n");
    assert_eq!(w.take(on_b), "MSG foo 1 3\r\nbar\r\n");
    assert_eq!(w.take(on_c), "MSG foo 1 3\r\nbar\r\n", "exactly once, not relayed via B");
}

#[test]
fn queue_groups_prefer_local_members_and_cross_once() {
    let mut w = two_clusters();
    let remote_member = w.client(1);
    w.send(remote_member, "SUB work q 1\r\n");
    w.settle();
    let publisher = w.client(0);
    for _ in 0..10 {
        w.send(publisher, "PUB work 1\r\nx\r\n");
    }
    assert_eq!(w.take(remote_member).matches("MSG work 1 1").count(), 10);
    let local_member = w.client(0);
    w.send(local_member, "SUB work q 7\r\n");
    w.settle();
    for _ in 0..10 {
        w.send(publisher, "PUB work 1\r\nx\r\n");
    }
    assert_eq!(w.take(local_member).matches("MSG work 7 1").count(), 10);
    assert_eq!(w.take(remote_member), "");
}

#[test]
fn request_reply_with_a_fresh_inbox_comes_back_through_the_mapping() {
    let mut w = two_clusters();
    let responder = w.client(1);
    w.send(responder, "SUB svc 1\r\n");
    w.settle();
    let requester = w.client(0);
    // The inbox is brand new: B does not know it, so the reply must use the _GR_ mapping.
    w.send(requester, "SUB _INBOX.r1 9\r\nPUB svc _INBOX.r1 4\r\nping\r\n");
    let got = w.take(responder);
    assert_eq!(got, "MSG svc 1 _INBOX.r1 4\r\nping\r\n", "clients see the reply stripped");
    w.send(responder, "PUB _INBOX.r1 4\r\npong\r\n");
    assert_eq!(w.take(requester), "MSG _INBOX.r1 9 4\r\npong\r\n");
}

#[test]
fn no_responders_across_an_interest_only_gateway() {
    let mut w = two_clusters();
    let requester = w.client(0);
    w.send(requester, "SUB _INBOX.x 3\r\nPUB nobody _INBOX.x 0\r\n\r\n");
    assert!(w.take(requester).starts_with("HMSG _INBOX.x 3 "), "503 expected");
}

#[test]
fn gossip_builds_a_full_mesh() {
    // B and C know only A; they learn of each other through A's gossip.
    let mut w = World::new(vec![
        config("A", 7001, &[]),
        config("B", 7002, &[("A", 7001)]),
        config("C", 7003, &[("A", 7001)]),
    ]);
    w.advance(Duration::from_secs(3));
    for (node, others) in [(0, 2), (1, 2), (2, 2)] {
        assert_eq!(w.gateway(node).outbound.len(), others, "node {node}: {:?}", w.logs);
    }
    let on_c = w.client(2);
    w.send(on_c, "SUB x 1\r\n");
    w.settle();
    let on_b = w.client(1);
    w.send(on_b, "PUB x 1\r\n!\r\n");
    assert_eq!(w.take(on_c), "MSG x 1 1\r\n!\r\n");
}

#[test]
fn reject_unknown_cluster_refuses_strangers() {
    let mut a = config("A", 7001, &[]);
    a.gateway.as_mut().unwrap().reject_unknown_cluster = true;
    let mut w = World::new(vec![a, config("B", 7002, &[("A", 7001)])]);
    w.advance(Duration::from_secs(2));
    assert!(w.registered(0, "Rejecting connection from gateway \"B\""));
    assert!(w.gateway(0).inbound.is_empty());
    assert!(w.gateway(1).outbound.is_empty());
}

#[test]
fn wrong_gateway_password_is_refused() {
    let mut a = config("A", 7001, &[]);
    let ga = a.gateway.as_mut().unwrap();
    ga.user = Some("gwu".into());
    ga.password = Some("right".into());
    let mut b = config("B", 7002, &[]);
    b.gateway.as_mut().unwrap().remotes = vec![RemoteConfig {
        name: "A".into(),
        urls: vec![GatewayUrl {
            user: Some("gwu".into()),
            password: Some("wrong".into()),
            ..GatewayUrl::new("127.0.0.1", 7001)
        }],
    }];
    let mut w = World::new(vec![a, b]);
    w.advance(Duration::from_secs(2));
    assert!(w.registered(0, "authentication error"), "{:?}", w.logs);
    assert!(w.gateway(0).inbound.is_empty());
}

#[test]
fn explicit_remote_is_redialled_after_it_comes_back() {
    let mut w =
        World::new(vec![config("A", 7001, &[("B", 7002)]), config("B", 7002, &[("A", 7001)])]);
    w.down.push(1);
    w.advance(Duration::from_secs(5));
    assert!(w.gateway(0).outbound.is_empty());
    w.down.clear();
    w.advance(Duration::from_secs(3));
    assert_eq!(w.gateway(0).outbound.len(), 1, "{:?}", w.logs);
}

#[test]
fn optimistic_acceptor_says_no_interest_then_switches_past_the_threshold() {
    let mut b = config("B", 7002, &[("A", 7001)]);
    b.gateway.as_mut().unwrap().interest_only = false;
    let mut w = World::new(vec![config("A", 7001, &[("B", 7002)]), b]);
    w.advance(Duration::from_secs(2));
    let keep_account_alive = w.client(1);
    w.send(keep_account_alive, "SUB unrelated 1\r\n");
    let publisher = w.client(0);
    // Optimistic: A sends, B answers RS-, A stops sending that subject.
    w.send(publisher, "PUB foo 1\r\nx\r\n");
    w.settle();
    w.send(publisher, "PUB foo 1\r\nx\r\n");
    w.settle();
    assert_eq!(w.gateway(1).inbound[0].link.counters.in_msgs, 1);
    let out = &w.gateway(0).outbound[0].accounts[0];
    assert_eq!((out.mode, out.no_interest_count), (Mode::Optimistic, 1));
    // A new subscription clears the no-interest entry with RS+.
    let sub = w.client(1);
    w.send(sub, "SUB foo 1\r\n");
    w.settle();
    w.send(publisher, "PUB foo 1\r\ny\r\n");
    assert_eq!(w.take(sub), "MSG foo 1 1\r\ny\r\n");
    // Past 1000 distinct no-interest subjects the account goes interest-only.
    for i in 0..1001 {
        w.send(publisher, &format!("PUB n.{i} 0\r\n\r\n"));
        w.settle();
    }
    let out = &w.gateway(0).outbound[0].accounts[0];
    assert_eq!(out.mode, Mode::InterestOnly);
    w.send(publisher, "PUB foo 1\r\nz\r\n");
    assert_eq!(w.take(sub), "MSG foo 1 1\r\nz\r\n", "announced interest survives the switch");
}

#[test]
fn implicit_remote_is_dialled_back_and_forgotten_when_gone() {
    // Only B knows A; A learns B from the inbound connection and dials back.
    let mut w = World::new(vec![config("A", 7001, &[]), config("B", 7002, &[("A", 7001)])]);
    w.advance(Duration::from_secs(2));
    assert_eq!(w.gateway(0).outbound.len(), 1);
    assert!(!w.gateway(0).outbound[0].configured);
}

#[test]
fn reload_adds_a_remote_and_dials_it_at_once() {
    let mut w = World::new(vec![config("A", 7001, &[]), config("B", 7002, &[])]);
    w.advance(Duration::from_secs(3));
    assert!(w.gateway(0).outbound.is_empty());
    let summary = w.nodes[0].reload(w.now, config("A", 7001, &[("B", 7002)])).unwrap();
    assert_eq!(summary.gateways_added, ["B"]);
    w.advance(Duration::from_millis(100));
    assert!(w.registered(0, "Reloaded: gateway remote \"B\" added"), "{:?}", w.logs);
    assert_eq!(w.gateway(0).outbound.len(), 1, "{:?}", w.logs);
    assert!(w.gateway(0).outbound[0].configured);
    // B learned A from the inbound connection and dialled back.
    w.advance(Duration::from_secs(2));
    assert_eq!(w.gateway(1).outbound.len(), 1, "{:?}", w.logs);
}

#[test]
fn reload_removes_a_remote_closes_its_outbound_and_stops_dialling_it() {
    let mut w = World::new(vec![config("A", 7001, &[("B", 7002)]), config("B", 7002, &[])]);
    w.advance(Duration::from_secs(2));
    assert_eq!(w.gateway(0).outbound.len(), 1);
    let summary = w.nodes[0].reload(w.now, config("A", 7001, &[])).unwrap();
    assert_eq!(summary.gateways_removed, ["B"]);
    w.settle();
    assert!(w.registered(0, "Gateway connection closed: Gateway Removed"), "{:?}", w.logs);
    w.advance(Duration::from_secs(10));
    assert!(w.gateway(0).outbound.is_empty(), "{:?}", w.logs);
    assert!(w.gateway(0).remotes.iter().all(|(name, ..)| name != "B"));
}

#[test]
fn reload_refuses_gateway_name_changes() {
    let mut w = two_clusters();
    let mut renamed = config("Z", 7001, &[("B", 7002)]);
    renamed.server_name = Some("sA".into());
    let err = w.nodes[0].reload(w.now, renamed).unwrap_err();
    assert_eq!(
        err.to_string(),
        "config reload not supported for Gateway: old={A 127.0.0.1:7001 [A B]}, \
         new={Z 127.0.0.1:7001 [B]}"
    );
    assert_eq!(w.gateway(0).name, "A");
}

/// The simulation's checker relies on this bound (`sim::invariants::HANDSHAKE_STALL`): an
/// outbound whose INFO never arrives is given up after ping_interval × (ping_max + 1), as
/// nats-server's `watchForStaleConnection` does for a solicited gateway, and not before; then
/// the remote is dialled again.
#[test]
fn outbound_without_info_is_given_up_after_the_stale_wait() {
    let mut configs = vec![config("A", 7001, &[("B", 7002)]), config("B", 7002, &[("A", 7001)])];
    for c in &mut configs {
        c.ping_interval = Duration::from_secs(3);
        c.ping_max = 2;
    }
    let mut w = World::new(configs);
    w.deaf.push(1);
    // The first dial goes out within the solicit delay; find when A created the link.
    w.advance(Duration::from_secs(2));
    let dials = |w: &World| {
        w.logs.iter().filter(|(n, l)| *n == 0 && l.contains("Creating outbound gateway")).count()
    };
    assert_eq!(dials(&w), 1, "{:?}", w.logs);
    assert!(w.gateway(0).outbound.is_empty());
    // Still waiting just before the bound (dialled at most 2 s ago, bound 9 s)...
    w.advance(Duration::from_secs(6));
    let closed = |w: &World| w.logs.iter().any(|(n, l)| *n == 0 && l.contains("Stale Connection"));
    assert!(!closed(&w), "{:?}", w.logs);
    assert_eq!(dials(&w), 1);
    // ...given up at the bound, then dialled again.
    w.advance(Duration::from_secs(4));
    assert!(closed(&w), "{:?}", w.logs);
    assert_eq!(dials(&w), 2, "{:?}", w.logs);
}
