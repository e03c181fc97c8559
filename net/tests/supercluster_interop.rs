//! Superclusters of three-server clusters joined by gateways, all Strait and mixed with the
//! real nats-server 2.15.1 inside clusters and across gateways.
//!
//! Each cluster is a chain of routes (s1 lists nobody, s2 lists s1, s3 lists s2), and every
//! server lists the other cluster by the gateway URL of its *first* server only: the rest of
//! that cluster's URLs, and the cluster itself on servers that reach it late, come from
//! gossip. Every wait is bounded; readiness is proved by probes (a message that arrives), not
//! by sleeping.

#[macro_use]
mod common;

use std::time::Duration;

use common::Kind;
use common::cluster::{
    MESH_TIMEOUT, Member, RouteServer, chain, start_all, until_fences, wait_mesh,
};
use common::gateway::{RawClient, free_ports, raw_probe};

const S: Kind = Kind::Strait;
const N: Kind = Kind::NatsServer;

/// Bound for one thing to happen on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(20);

/// One cluster named `name` of `kinds`, with gateway ports, listing `remote` (name, the
/// gateway port of its first server) as its only gateway.
fn cluster(name: &str, kinds: &[Kind], gateway_ports: &[u16], remote: (&str, u16)) -> Vec<Member> {
    let mut members = chain(kinds);
    for (i, m) in members.iter_mut().enumerate() {
        m.name = format!("{}{}", name.to_lowercase(), i + 1);
        let text = m.render().replacen(
            &format!("name: {}", common::cluster::CLUSTER),
            &format!("name: {name}"),
            1,
        );
        let gateway = format!(
            "gateway {{\n  name: {name}\n  listen: \"127.0.0.1:{port}\"\n  gateways: [\n    \
             {{name: {remote}, urls: [\"nats://127.0.0.1:{remote_port}\"]}}\n  ]\n}}\n",
            port = gateway_ports[i],
            remote = remote.0,
            remote_port = remote.1,
        );
        m.text = Some(format!("{text}{gateway}"));
    }
    members
}

/// Clusters A and B of the given kinds; returns every server, A's first.
fn supercluster(a: &[Kind], b: &[Kind]) -> Vec<RouteServer> {
    let ports = free_ports(a.len() + b.len());
    let (pa, pb) = ports.split_at(a.len());
    let mut members = cluster("A", a, pa, ("B", pb[0]));
    members.extend(cluster("B", b, pb, ("A", pa[0])));
    start_all(&members)
}

/// Every server of one cluster reaches a subscriber on every server of the other, both ways.
fn delivery(servers: &[RouteServer], split: usize) -> Result<(), String> {
    let (a, b) = servers.split_at(split);
    for (from, to) in [(a, b), (b, a)] {
        for (t, sub_server) in to.iter().enumerate() {
            let mut sub = RawClient::connect(sub_server.addr())?;
            let subject = format!("sc.{}.{t}", sub_server.label());
            sub.send(format!("SUB {subject} 1\r\n").as_bytes())?;
            sub.ping_pong()?;
            for pub_server in from {
                let mut publisher = RawClient::connect(pub_server.addr())?;
                raw_probe(&mut publisher, &mut sub, &subject, MESH_TIMEOUT)
                    .map_err(|e| format!("{} → {}: {e}", pub_server.label(), sub_server.label()))?;
            }
        }
    }
    Ok(())
}

/// A request from the last server of A to a responder on the second of B, answered.
fn request_reply(servers: &[RouteServer], split: usize) -> Result<(), String> {
    let (a, b) = servers.split_at(split);
    let (req_server, resp_server) = (&a[a.len() - 1], &b[1.min(b.len() - 1)]);
    let mut responder = RawClient::connect(resp_server.addr())?;
    responder.send(b"SUB sc.svc 1\r\n")?;
    responder.ping_pong()?;
    let mut requester = RawClient::connect(req_server.addr())?;
    raw_probe(&mut requester, &mut responder, "sc.svc", MESH_TIMEOUT)?;
    requester.send(b"SUB sc.inbox.1 7\r\nPUB sc.svc sc.inbox.1 4\r\nping\r\n")?;
    let req = responder.next_msg(WAIT)?.ok_or("the request never arrived")?;
    let reply = req.reply.ok_or("the request had no reply subject")?;
    responder.publish(&reply, b"pong")?;
    let rep = requester.next_msg(WAIT)?.ok_or("the reply never arrived")?;
    if rep.subject != "sc.inbox.1" || rep.payload != b"pong" {
        return Err(format!("reply arrived as {rep:?}"));
    }
    Ok(())
}

/// One queue member on every server of B, messages from A: each exactly once.
fn queue_group(servers: &[RouteServer], split: usize) -> Result<(), String> {
    const MSGS: usize = 300;
    let (a, b) = servers.split_at(split);
    let mut members = Vec::new();
    for (i, s) in b.iter().enumerate() {
        let mut c = RawClient::connect(s.addr())?;
        c.send(format!("SUB sc.work grp 1\r\nSUB sc.qsync.{i} 2\r\n").as_bytes())?;
        c.ping_pong()?;
        members.push(c);
    }
    let mut publisher = RawClient::connect(a[0].addr())?;
    for (i, m) in members.iter_mut().enumerate() {
        raw_probe(&mut publisher, m, &format!("sc.qsync.{i}"), MESH_TIMEOUT)?;
    }
    let mut out = Vec::new();
    for k in 0..MSGS {
        let body = format!("{k}");
        out.extend(format!("PUB sc.work {}\r\n{body}\r\n", body.len()).bytes());
    }
    // A fence behind the work on each member's path: once it arrives, so has everything
    // (and any duplicate) sent before it.
    for i in 0..members.len() {
        out.extend(format!("PUB sc.qsync.{i} 5\r\nfence\r\n").bytes());
    }
    publisher.send(&out)?;
    let fences = ["fence".to_owned()];
    let mut got = Vec::new();
    for m in members.iter_mut() {
        let msgs = until_fences(m, &fences, WAIT)?;
        got.extend(
            msgs.into_iter()
                .filter(|msg| msg.subject == "sc.work")
                .map(|msg| String::from_utf8_lossy(&msg.payload).into_owned()),
        );
    }
    got.sort_by_key(|b| b.parse::<usize>().unwrap_or(usize::MAX));
    let want: Vec<String> = (0..MSGS).map(|k| k.to_string()).collect();
    if got != want {
        return Err(format!("queue group got {} of {MSGS} (duplicates or losses)", got.len()));
    }
    Ok(())
}

fn shape(a: &[Kind], b: &[Kind]) {
    let servers = supercluster(a, b);
    let s = &servers[..];
    let split = a.len();
    ok!(wait_mesh(&s[..split], "a"), s);
    ok!(wait_mesh(&s[split..], "b"), s);
    ok!(delivery(s, split), s);
    ok!(request_reply(s, split), s);
    ok!(queue_group(s, split), s);
}

#[test]
fn strait_clusters() {
    shape(&[S, S, S], &[S, S, S]);
}

#[test]
fn mixed_clusters() {
    shape(&[S, N, S], &[N, S, N]);
}

#[test]
fn strait_cluster_and_nats_server_cluster() {
    shape(&[S, S, S], &[N, N, N]);
}
