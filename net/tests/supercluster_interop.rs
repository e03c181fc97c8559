//! Superclusters of three-server clusters joined by gateways, all Strait and mixed with the
//! real nats-server 2.15.1 inside clusters and across gateways: two clusters, three clusters,
//! failover of the one server another cluster lists, and `reject_unknown_cluster`.
//!
//! Each cluster is a chain of routes (s1 lists nobody, s2 lists s1, s3 lists s2), and every
//! server lists at most ONE other cluster, by the gateway URL of that cluster's *first* server
//! only (two clusters: A→B, B→A; three: A→B, B→C, C→A): the other clusters, the rest of their
//! URLs, and so the whole gateway mesh come from gossip.
//!
//! Readiness without sleeps:
//! * a link: a server forwards a client's message to a gateway only on its *own* outbound link
//!   to that cluster (a message from a route or a gateway never goes to a gateway), so a probe
//!   from every server of X reaching a subscriber on every server of Y proves each server of X
//!   linked to Y and Y's interest known there (`raw_probe`);
//! * completeness: messages on one path arrive in order, so once a *fence* published after the
//!   others arrives, everything before it on that path has arrived (`until_fences`).
//!
//! The one fixed-length wait is [`ABSENCE`]: no event stands for a message that must never
//! arrive from a refused cluster.

#[macro_use]
mod common;

use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::Kind;
use common::cluster::{
    MANY, MESH_TIMEOUT, Member, RouteServer, chain, reaches_many, subscribe_many, until_fences,
    wait_mesh, with_fresh_ports,
};
use common::gateway::{GwConfig, RawClient, free_ports, raw_probe};

const S: Kind = Kind::Strait;
const N: Kind = Kind::NatsServer;

/// Bound for one thing to happen on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(20);
/// Bound for traffic to resume once the listed server is gone (both re-dial an explicit
/// remote 1 s after its link closes).
const RESUME: Duration = Duration::from_secs(15);
/// How long a message that must never arrive is waited for.
const ABSENCE: Duration = Duration::from_millis(500);

/// Subject of the rolling-restart test's steady traffic.
const ROLL_SUBJECT: &str = "ldm.roll";

/// Cluster (gateway) names, by index.
const NAMES: [&str; 3] = ["A", "B", "C"];

// ---------------------------------------------------------------------------------------------
// Starting a supercluster

/// One cluster as configured.
struct Spec<'a> {
    kinds: &'a [Kind],
    /// The one cluster its servers list, by the gateway URL of that cluster's first server.
    lists: Option<usize>,
    /// `reject_unknown_cluster: true`.
    reject_unknown: bool,
}

/// The servers of a supercluster, cluster after cluster; cluster `c` is named `NAMES[c]`.
struct Supercluster {
    servers: Vec<RouteServer>,
    /// Where each cluster's servers are in `servers`.
    clusters: Vec<Range<usize>>,
}

impl Supercluster {
    /// Starts every cluster of `specs`, in order, on fresh ports.
    fn start(specs: &[Spec<'_>]) -> Supercluster {
        with_fresh_ports(|| Supercluster::try_start(specs))
    }

    fn try_start(specs: &[Spec<'_>]) -> Result<Supercluster, String> {
        let ports: Vec<Vec<u16>> = specs.iter().map(|s| free_ports(s.kinds.len())).collect();
        let mut members = Vec::new();
        let mut clusters = Vec::new();
        for c in 0..specs.len() {
            let first = members.len();
            members.extend(cluster_members(specs, c, &ports));
            clusters.push(first..members.len());
        }
        let servers = members.iter().map(RouteServer::try_start).collect::<Result<_, _>>()?;
        Ok(Supercluster { servers, clusters })
    }

    /// Clusters of `shape`, each listing the next one (the last lists the first).
    fn ring(shape: &[&[Kind]]) -> Supercluster {
        let specs: Vec<Spec<'_>> = (0..shape.len())
            .map(|c| Spec {
                kinds: shape[c],
                lists: Some((c + 1) % shape.len()),
                reject_unknown: false,
            })
            .collect();
        Supercluster::start(&specs)
    }

    /// The servers of cluster `c`.
    fn cluster(&self, c: usize) -> &[RouteServer] {
        &self.servers[self.clusters[c].clone()]
    }

    /// Every ordered pair of different clusters.
    fn pairs(&self) -> Vec<(usize, usize)> {
        let n = self.clusters.len();
        (0..n).flat_map(|x| (0..n).filter(move |y| *y != x).map(move |y| (x, y))).collect()
    }

    /// Each cluster's route mesh.
    fn wait_meshes(&self) -> Result<(), String> {
        (0..self.clusters.len()).try_for_each(|c| wait_mesh(self.cluster(c), NAMES[c]))
    }
}

/// The members of cluster `c` of `specs`, whose gateway ports are `ports[c]`.
fn cluster_members(specs: &[Spec<'_>], c: usize, ports: &[Vec<u16>]) -> Vec<Member> {
    let name = NAMES[c];
    let mut gateway = GwConfig::new(name);
    if let Some(l) = specs[c].lists {
        gateway = gateway.remote(NAMES[l], SocketAddr::from(([127, 0, 0, 1], ports[l][0])), None);
    }
    if specs[c].reject_unknown {
        gateway = gateway.reject_unknown();
    }
    let mut members = chain(specs[c].kinds);
    for (i, m) in members.iter_mut().enumerate() {
        m.name = format!("{}{}", name.to_lowercase(), i + 1);
        m.cluster = name.to_owned();
        let block = gateway.clone().port(ports[c][i]).render_gateway();
        m.text = Some(format!("{}{block}", m.render()));
    }
    members
}

/// A raw client on `server` subscribed to `subject` (sid 1), confirmed by PING/PONG.
fn subscriber(server: &RouteServer, subject: &str) -> Result<RawClient, String> {
    let mut c = RawClient::connect(server.addr())?;
    c.send(format!("SUB {subject} 1\r\n").as_bytes())?;
    c.ping_pong()?;
    Ok(c)
}

// ---------------------------------------------------------------------------------------------
// Checks

/// Every check, on a supercluster of two or more clusters.
fn checks(sc: &Supercluster) {
    let s = &sc.servers[..];
    let started = Instant::now();
    ok!(sc.wait_meshes(), s);
    ok!(delivery(sc), s);
    let mesh = started.elapsed();
    ok!(wildcards(sc), s);
    ok!(requests(sc), s);
    ok!(queue_group(sc), s);
    ok!(many_subscriptions(sc), s);
    ok!(monitoring(sc), s);
    let labels: Vec<String> = s.iter().map(RouteServer::label).collect();
    eprintln!(
        "{}: gateway mesh proved in {mesh:?}, all checks in {:?}",
        labels.join(" "),
        started.elapsed()
    );
}

/// What every server's monitoring says agrees with the supercluster, polled until it does:
/// `/varz` names its cluster in both its `cluster` and `gateway` parts; `/gatewayz` shows one
/// outbound per other cluster, and the inbound links a cluster's servers list from another
/// cluster add up to that cluster's servers (each dials exactly one of them); `/routez` lists
/// every other server of its cluster.
fn monitoring(sc: &Supercluster) -> Result<(), String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let Err(e) = monitoring_agrees(sc) else { return Ok(()) };
        if Instant::now() >= deadline {
            return Err(format!("monitoring within {WAIT:?}: {e}"));
        }
        // Polling interval of a bounded wait.
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn monitoring_agrees(sc: &Supercluster) -> Result<(), String> {
    let n = sc.clusters.len();
    for (c, name) in NAMES.iter().enumerate().take(n) {
        // inbound[r]: links from cluster r over every server of c.
        let mut inbound = vec![0; n];
        for server in sc.cluster(c) {
            let label = server.label();
            let varz = server.monitor("/varz")?;
            for part in ["cluster", "gateway"] {
                if varz[part]["name"] != *name {
                    return Err(format!("{label}: /varz {part}.name is {}", varz[part]["name"]));
                }
            }
            let gw = server.monitor("/gatewayz")?;
            let outbound: Vec<&String> =
                gw["outbound_gateways"].as_object().map(|o| o.keys().collect()).unwrap_or_default();
            let want: Vec<&str> = (0..n).filter(|&r| r != c).map(|r| NAMES[r]).collect();
            if outbound != want {
                return Err(format!("{label}: /gatewayz outbound to {outbound:?}, want {want:?}"));
            }
            for (r, count) in inbound.iter_mut().enumerate() {
                *count += gw["inbound_gateways"][NAMES[r]].as_array().map_or(0, Vec::len);
            }
            let routez = server.monitor("/routez")?;
            let mut peers: Vec<&str> = routez["routes"]
                .as_array()
                .map(|a| a.iter().filter_map(|r| r["remote_name"].as_str()).collect())
                .unwrap_or_default();
            peers.sort_unstable();
            peers.dedup();
            let mut mates: Vec<&str> = sc
                .cluster(c)
                .iter()
                .map(|m| m.member().name.as_str())
                .filter(|m| *m != server.member().name)
                .collect();
            mates.sort_unstable();
            if peers != mates {
                return Err(format!("{label}: /routez routes to {peers:?}, want {mates:?}"));
            }
        }
        for r in (0..n).filter(|&r| r != c) {
            if inbound[r] != sc.cluster(r).len() {
                return Err(format!(
                    "cluster {}: {} inbound links from {} over its servers, want one per server                      of {} ({})",
                    NAMES[c],
                    inbound[r],
                    NAMES[r],
                    NAMES[r],
                    sc.cluster(r).len()
                ));
            }
        }
    }
    Ok(())
}

/// Every server of cluster `x` reaches a subscriber on every server of cluster `y`.
fn reaches(sc: &Supercluster, x: usize, y: usize) -> Result<(), String> {
    for sub_server in sc.cluster(y) {
        let subject = format!("sc.{}", sub_server.member().name);
        let mut sub = subscriber(sub_server, &subject)?;
        for pub_server in sc.cluster(x) {
            let mut publisher = RawClient::connect(pub_server.addr())?;
            raw_probe(&mut publisher, &mut sub, &subject, MESH_TIMEOUT)
                .map_err(|e| format!("{} → {}: {e}", pub_server.label(), sub_server.label()))?;
        }
    }
    Ok(())
}

/// Delivery between every two servers of different clusters, both ways: the full gateway
/// mesh, every server linked to every other cluster.
fn delivery(sc: &Supercluster) -> Result<(), String> {
    sc.pairs().into_iter().try_for_each(|(x, y)| reaches(sc, x, y))
}

/// A `sc.>` and a `sc.*.x` subscriber on the last server of each cluster receive what every
/// server of the other clusters publishes on `sc.<its name>.x`.
fn wildcards(sc: &Supercluster) -> Result<(), String> {
    for (x, y) in sc.pairs() {
        let host = sc.cluster(y).last().ok_or("an empty cluster")?;
        let mut subs = [subscriber(host, "sc.>")?, subscriber(host, "sc.*.x")?];
        for pub_server in sc.cluster(x) {
            let subject = format!("sc.{}.x", pub_server.member().name);
            let mut publisher = RawClient::connect(pub_server.addr())?;
            for sub in &mut subs {
                raw_probe(&mut publisher, sub, &subject, MESH_TIMEOUT)
                    .map_err(|e| format!("{} → {}: {e}", pub_server.label(), host.label()))?;
            }
        }
    }
    Ok(())
}

/// A request from every server of each cluster to a responder in each other cluster, answered.
/// The responder's server sends the reply on its one link to the requester's cluster, which
/// lands on one server there: the other requesters' replies must be routed on from it as
/// `_GR_.<cluster>.<server>.<inbox>` to their own server.
fn requests(sc: &Supercluster) -> Result<(), String> {
    for (x, y) in sc.pairs() {
        let responders = sc.cluster(y);
        let responder = &responders[(x + 1) % responders.len()];
        for requester in sc.cluster(x) {
            request_reply(requester, responder)
                .map_err(|e| format!("{} → {}: {e}", requester.label(), responder.label()))?;
        }
    }
    Ok(())
}

/// A request from a client of `req_server` to a responder on `resp_server`, answered; the
/// responder sees the requester's own inbox as the reply subject.
fn request_reply(req_server: &RouteServer, resp_server: &RouteServer) -> Result<(), String> {
    let tag = format!("{}.{}", req_server.member().name, resp_server.member().name);
    let (service, inbox) = (format!("sc.svc.{tag}"), format!("sc.inbox.{tag}"));
    let mut responder = subscriber(resp_server, &service)?;
    let mut requester = RawClient::connect(req_server.addr())?;
    raw_probe(&mut requester, &mut responder, &service, MESH_TIMEOUT)?;
    // The inbox is fresh when the request leaves: its reply subject is mapped.
    requester.send(format!("SUB {inbox} 7\r\nPUB {service} {inbox} 4\r\nping\r\n").as_bytes())?;
    let req = responder.next_msg(WAIT)?.ok_or("the request never arrived")?;
    let reply = req.reply.ok_or("the request had no reply subject")?;
    if reply != inbox {
        return Err(format!("the responder was told to reply to {reply:?}, not {inbox:?}"));
    }
    responder.publish(&reply, b"pong")?;
    let rep = requester.next_msg(WAIT)?.ok_or("the reply never arrived")?;
    if rep.subject != inbox || rep.payload != b"pong" {
        return Err(format!("reply arrived as {rep:?}"));
    }
    Ok(())
}

/// One queue member on every server of every cluster but the first, messages from the first
/// server of the first (which has none): each exactly once.
fn queue_group(sc: &Supercluster) -> Result<(), String> {
    const MSGS: usize = 300;
    let mut members = Vec::new();
    for (i, s) in sc.servers[sc.clusters[0].end..].iter().enumerate() {
        let mut c = RawClient::connect(s.addr())?;
        c.send(format!("SUB sc.work grp 1\r\nSUB sc.qsync.{i} 2\r\n").as_bytes())?;
        c.ping_pong()?;
        members.push(c);
    }
    let mut publisher = RawClient::connect(sc.servers[0].addr())?;
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

/// [`MANY`] subscriptions on one connection to the second server of B are known on every
/// server of every other cluster.
fn many_subscriptions(sc: &Supercluster) -> Result<(), String> {
    let started = Instant::now();
    let host = &sc.cluster(1)[1];
    let mut c = subscribe_many(host, "sc.many")?;
    for x in (0..sc.clusters.len()).filter(|x| *x != 1) {
        for s in sc.cluster(x) {
            reaches_many(s, &mut c, "sc.many")
                .map_err(|e| format!("{} → {MANY} on {}: {e}", s.label(), host.label()))?;
        }
    }
    eprintln!(
        "{MANY} subscriptions on {} known in every other cluster in {:?}",
        host.label(),
        started.elapsed()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Two and three clusters

fn two_clusters(a: &[Kind], b: &[Kind]) {
    checks(&Supercluster::ring(&[a, b]));
}

#[test]
fn strait_clusters() {
    two_clusters(&[S, S, S], &[S, S, S]);
}

#[test]
fn mixed_clusters() {
    two_clusters(&[S, N, S], &[N, S, N]);
}

#[test]
fn strait_cluster_and_nats_server_cluster() {
    two_clusters(&[S, S, S], &[N, N, N]);
}

#[test]
fn three_strait_clusters() {
    checks(&Supercluster::ring(&[&[S, S, S], &[S, S, S], &[S, S, S]]));
}

/// nats-server inside both Strait-led clusters, and a third cluster of nats-server only.
#[test]
fn three_mixed_clusters() {
    checks(&Supercluster::ring(&[&[S, N, S], &[N, S, N], &[N, N, N]]));
}

// ---------------------------------------------------------------------------------------------
// Failover of the listed server

/// Clients publishing on every server of A to subscribers on every server of B but the first.
struct Traffic {
    /// (label of its server, client).
    publishers: Vec<(String, RawClient)>,
    /// (subject it subscribed to, client).
    subscribers: Vec<(String, RawClient)>,
}

impl Traffic {
    fn connect(sc: &Supercluster) -> Result<Traffic, String> {
        let mut subscribers = Vec::new();
        for server in &sc.cluster(1)[1..] {
            let subject = format!("fo.{}", server.member().name);
            subscribers.push((subject.clone(), subscriber(server, &subject)?));
        }
        let mut publishers = Vec::new();
        for server in sc.cluster(0) {
            publishers.push((server.label(), RawClient::connect(server.addr())?));
        }
        Ok(Traffic { publishers, subscribers })
    }

    /// Probes from each publisher until every subscriber receives one; `within` bounds the
    /// whole.
    fn flows(&mut self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        for (label, publisher) in &mut self.publishers {
            for (subject, sub) in &mut self.subscribers {
                let left = deadline.saturating_duration_since(Instant::now());
                raw_probe(publisher, sub, subject, left).map_err(|e| format!("{label}: {e}"))?;
            }
        }
        Ok(())
    }
}

/// How many links from A `server` accepted; none is an error (nothing would fail over).
fn links_from_a(server: &RouteServer) -> Result<usize, String> {
    match server.lines_with(0, &["Inbound gateway connection from \"A\"", "registered"]).len() {
        0 => Err(format!("{}: no link from A to fail over", server.label())),
        n => Ok(n),
    }
}

/// A lists B by B1's gateway URL only, B lists nobody (so A's first link to B is to B1);
/// once every A server reaches subscribers on B2 and B3, B1 is killed and they must reach
/// them again. Prints how long after the kill the last one did.
fn failover_of_listed_server(a: &[Kind], b: &[Kind]) -> Duration {
    let mut sc = Supercluster::start(&[
        Spec { kinds: a, lists: Some(1), reject_unknown: false },
        Spec { kinds: b, lists: None, reject_unknown: false },
    ]);
    let listed = sc.clusters[1].start;
    let s = &sc.servers[..];
    ok!(sc.wait_meshes(), s);
    let mut traffic = ok!(Traffic::connect(&sc), s);
    ok!(traffic.flows(MESH_TIMEOUT), s);
    let on_listed = ok!(links_from_a(&s[listed]), s);
    let killed = Instant::now();
    sc.servers[listed].kill();
    ok!(traffic.flows(RESUME), &sc.servers);
    let took = killed.elapsed();
    eprintln!(
        "failover A {a:?} / B {b:?}: {on_listed} link(s) from A on B1; every A server reaches \
         B2 and B3 again {took:?} after B1 was killed"
    );
    took
}

/// All Strait, then the same shape all nats-server for reference, in one test so both run
/// under the same load.
#[test]
fn failover_of_listed_server_strait_and_nats_server() {
    let strait = failover_of_listed_server(&[S, S, S], &[S, S, S]);
    let nats = failover_of_listed_server(&[N, N, N], &[N, N, N]);
    eprintln!("failover resume: strait {strait:?}, nats-server {nats:?}");
}

/// The listed server nats-server with Strait servers failing over to B2 and B3, and the
/// listed server Strait with nats-server servers failing over.
#[test]
fn failover_of_listed_server_mixed() {
    let nats_listed = failover_of_listed_server(&[S, N, S], &[N, S, N]);
    let strait_listed = failover_of_listed_server(&[N, S, N], &[S, N, S]);
    eprintln!("failover resume: nats-server B1 {nats_listed:?}, strait B1 {strait_listed:?}");
}

// ---------------------------------------------------------------------------------------------
// reject_unknown_cluster

/// B (`reject_unknown_cluster: true`) lists only A, by A1's URL; A lists B; C, which B does
/// not know, lists B. A2 and A3, servers of A that B was not told of, are accepted (their own
/// links carry their messages to B); C is refused and nothing crosses between B and C.
fn reject_unknown(a: &[Kind], b: &[Kind], c: Kind) {
    let sc = Supercluster::start(&[
        Spec { kinds: a, lists: Some(1), reject_unknown: false },
        Spec { kinds: b, lists: Some(0), reject_unknown: true },
        Spec { kinds: &[c], lists: Some(1), reject_unknown: false },
    ]);
    let s = &sc.servers[..];
    ok!(sc.wait_meshes(), s);
    ok!(reaches(&sc, 0, 1), s);
    ok!(reaches(&sc, 1, 0), s);
    ok!(refused(&sc), s);
    ok!(unreachable(&sc, 2, 1), s);
    ok!(unreachable(&sc, 1, 2), s);
}

/// B refused C (which keeps trying: twice), no server of B ever linked with C, and none
/// refused A. (C's own outbound is registered before B's verdict, so it may be logged.)
fn refused(sc: &Supercluster) -> Result<(), String> {
    let (b, c) = (sc.cluster(1), &sc.cluster(2)[0]);
    b[0].wait_line(0, "Rejecting connection from gateway \"C\"", WAIT)?;
    c.wait_all(0, &["rejected", "\"B\""], WAIT)?;
    let m = c.mark();
    c.wait_all(m, &["rejected", "\"B\""], WAIT)?;
    let mut never: Vec<(&RouteServer, &[&str])> =
        vec![(c, &["Inbound gateway connection from \"B\"", "registered"])];
    for s in b {
        never.push((s, &["Inbound gateway connection from \"C\"", "registered"]));
        never.push((s, &["Outbound gateway connection to \"C\"", "registered"]));
        never.push((s, &["Rejecting connection from gateway \"A\""]));
    }
    let found: Vec<String> = never
        .into_iter()
        .flat_map(|(s, parts)| {
            s.lines_with(0, parts).into_iter().map(|l| format!("{}: {l}", s.label()))
        })
        .collect();
    if found.is_empty() { Ok(()) } else { Err(format!("unexpected: {found:#?}")) }
}

/// A message published on every server of cluster `x` reaches no subscriber on the servers of
/// cluster `y` within [`ABSENCE`].
fn unreachable(sc: &Supercluster, x: usize, y: usize) -> Result<(), String> {
    let mut subs = Vec::new();
    for s in sc.cluster(y) {
        subs.push(subscriber(s, "rj.never")?);
    }
    for s in sc.cluster(x) {
        let mut publisher = RawClient::connect(s.addr())?;
        publisher.publish("rj.never", s.label().as_bytes())?;
        publisher.ping_pong()?;
    }
    for (sub, s) in subs.iter_mut().zip(sc.cluster(y)) {
        if let Some(m) = sub.next_msg(ABSENCE)? {
            return Err(format!("{} received {m:?} from an unknown cluster", s.label()));
        }
    }
    Ok(())
}

/// Strait rejects, nats-server servers in the accepted cluster and as the unknown one.
#[test]
fn strait_rejects_unknown_cluster() {
    reject_unknown(&[N, S, N], &[S, S, S], N);
}

/// nats-server rejects, Strait servers in the accepted cluster and as the unknown one.
#[test]
fn nats_server_rejects_unknown_cluster() {
    reject_unknown(&[S, N, S], &[N, N, N], S);
}

// ---------------------------------------------------------------------------------------------
// Rolling restart in lame-duck mode

/// A publisher on A1 sending a numbered message on [`ROLL_SUBJECT`] every 10 ms until dropped.
struct SteadyPublisher {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl SteadyPublisher {
    fn start(server: &RouteServer) -> Result<SteadyPublisher, String> {
        let mut c = RawClient::connect(server.addr())?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut seq = 0u64;
            while !flag.load(Ordering::Relaxed) {
                seq += 1;
                c.publish(ROLL_SUBJECT, seq.to_string().as_bytes())?;
                // The traffic's pace, not a synchronisation.
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(())
        });
        Ok(SteadyPublisher { stop, thread: Some(thread) })
    }
}

impl Drop for SteadyPublisher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A subscriber on `server` that has received the steady traffic.
fn roll_subscriber(server: &RouteServer) -> Result<RawClient, String> {
    let mut sub = subscriber(server, ROLL_SUBJECT)?;
    sub.next_msg(WAIT)?.ok_or_else(|| format!("{}: no traffic from A", server.label()))?;
    Ok(sub)
}

/// Cluster B is restarted server by server in lame-duck mode (`SIGUSR2`; a 1 s grace period,
/// then the server closes its clients at most a second apart, exits and is started again) under steady traffic from A1,
/// with a subscriber on every B server. The subscriber of the server in lame-duck mode is
/// closed by it and reconnects to the next B server; every subscriber must get the traffic
/// again within [`RESUME`], and the cluster's mesh must be whole again before the next
/// server goes. Returns the longest time from a subscriber's close to its first message on
/// its new server.
fn lame_duck_roll(a: &[Kind], b: &[Kind]) -> Duration {
    let mut sc = Supercluster::start(&[
        Spec { kinds: a, lists: Some(1), reject_unknown: false },
        Spec { kinds: b, lists: None, reject_unknown: false },
    ]);
    ok!(sc.wait_meshes(), &sc.servers);
    let b_range = sc.clusters[1].clone();
    let _publisher = ok!(SteadyPublisher::start(&sc.servers[0]), &sc.servers);
    let mut subs: Vec<RawClient> =
        ok!(sc.cluster(1).iter().map(roll_subscriber).collect::<Result<_, _>>(), &sc.servers);
    let mut longest = Duration::ZERO;
    for k in 0..b_range.len() {
        let (going, next) = (b_range.start + k, b_range.start + (k + 1) % b_range.len());
        sc.servers[going].signal("USR2");
        let closed = ok!(closed_by_server(&mut subs[k]), &sc.servers);
        subs[k] = ok!(roll_subscriber(&sc.servers[next]), &sc.servers);
        longest = longest.max(closed.elapsed());
        if sc.servers[going].wait_exit(WAIT).is_none() {
            panic!("{}", sc.servers[going].describe("did not exit after lame-duck mode"));
        }
        sc.servers[going].restart();
        ok!(sc.wait_meshes(), &sc.servers);
        for (i, sub) in subs.iter_mut().enumerate() {
            let got = ok!(sub.next_msg(RESUME), &sc.servers);
            assert!(got.is_some(), "subscriber {i} got no traffic after {} restarted", k + 1);
        }
    }
    eprintln!(
        "lame-duck roll of B {b:?} (A {a:?}): subscribers moved to the next server got the \
         traffic again at most {longest:?} after their server closed them"
    );
    longest
}

/// Reads `sub` until its server closes it (at most [`WAIT`]); when that happened.
fn closed_by_server(sub: &mut RawClient) -> Result<Instant, String> {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if sub.next_msg(Duration::from_millis(200)).is_err() {
            return Ok(Instant::now());
        }
    }
    Err(format!("not closed by its server in lame-duck mode within {WAIT:?}"))
}

/// A Strait cluster and, for reference under the same load, a nats-server cluster rolled in
/// lame-duck mode; A is mixed in both.
#[test]
fn lame_duck_roll_strait_and_nats_server() {
    let strait = lame_duck_roll(&[S, N, S], &[S, S, S]);
    let nats = lame_duck_roll(&[S, N, S], &[N, N, N]);
    eprintln!("lame-duck roll: longest resume Strait {strait:?}, nats-server {nats:?}");
}
