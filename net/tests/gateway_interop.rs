//! Superclusters of strait and nats-server 2.15.1 clusters joined by gateways.
//!
//! Every scenario is an `async fn(&[Kind])` taking one implementation per cluster (A, B, C in
//! order); `combos!` turns it into one test per listed combination, named by the clusters'
//! kinds (`s_n_s`: A strait, B nats-server, C strait). The all-nats-server combination checks
//! the scenario itself: a scenario that fails there is a bug in the scenario; one that fails
//! only with strait somewhere is a bug in strait.
//!
//! Readiness without sleeps:
//! * links: both servers log `Outbound … registered` and `Inbound … registered` (bounded waits);
//! * interest: a cluster forwards a message only once it knows the remote interest, so a
//!   publisher side knows a subscription when a probe message gets through. Interest updates
//!   of one client travel in order on one link, so a probe for a subscription made *last* on a
//!   connection proves every earlier subscription of that connection known too (`barrier`);
//! * absence: messages on one path arrive in order, so once a *fence* message published after
//!   the others has arrived, anything the others produced on that path has arrived too.

#[macro_use]
mod common;

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, Instant};

use async_nats::{Client, ConnectOptions, HeaderMap, Message, Subscriber};
use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use tokio::time::timeout;

use common::Kind;
use common::gateway::{
    GW_PASS, GW_USER, GwConfig, GwServer, RawClient, RawMsg, describe_all, free_ports, raw_probe,
    wait_full_mesh,
};

/// Strait, in combination lists.
const S: Kind = Kind::Strait;
/// nats-server, in combination lists.
const N: Kind = Kind::NatsServer;

/// Bound for any single client step (connect, flush, one message).
const STEP: Duration = Duration::from_secs(5);
/// Bound for interest to cross a gateway (probe loops).
const PROPAGATION: Duration = Duration::from_secs(10);
/// Bound for a whole scenario.
const SCENARIO: Duration = Duration::from_secs(50);
/// Cluster names by position in a combination.
const NAMES: [&str; 3] = ["A", "B", "C"];

/// `mod <scenario> { <test>: [kinds] … }`: one multi-threaded tokio test per combination.
macro_rules! combos {
    ($($scenario:ident { $($(#[$m:meta])* $test:ident: [$($k:ident),+]),+ $(,)? })+) => {$(
        mod $scenario {
            $(
                $(#[$m])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::run(stringify!($scenario), &[$(super::$k),+], super::$scenario).await;
                }
            )+
        }
    )+};
}

combos! {
    seed { s_s_s: [S, S, S], s_n_s: [S, N, S], n_s_n: [N, S, N], n_n_n: [N, N, N] }
    wildcards { s_n: [S, N], n_s: [N, S], s_s: [S, S], n_n: [N, N] }
    headers { s_n: [S, N], n_s: [N, S], s_s: [S, S], n_n: [N, N] }
    request_reply { s_n: [S, N], n_s: [N, S], s_s: [S, S], n_n: [N, N] }
    reserved_reply_prefix { s: [S], n: [N] }
    queue_groups { s_n: [S, N], n_s: [N, S], s_s: [S, S], n_n: [N, N] }
    queue_two_remote_clusters { s_s_s: [S, S, S], s_n_n: [S, N, N], n_s_s: [N, S, S], n_s_n: [N, S, N], n_n_n: [N, N, N] }
    implicit_discovery { s_n: [S, N], n_s: [N, S], s_s: [S, S], n_n: [N, N] }
    gossip { s_s_s: [S, S, S], n_s_s: [N, S, S], s_n_n: [S, N, N], n_s_n: [N, S, N], n_n_n: [N, N, N] }
    reject_unknown_cluster { s_n_n: [S, N, N], n_s_s: [N, S, S], s_s_s: [S, S, S], n_n_n: [N, N, N] }
    wrong_password { s_n_n: [S, N, N], n_s_s: [N, S, S], s_s_s: [S, S, S], n_n_n: [N, N, N] }
    interest_at_scale { s_n: [S, N], n_s: [N, S], s_s: [S, S], n_n: [N, N] }
    interest_before_link { s_n: [S, N], n_s: [N, S], s_s: [S, S], n_n: [N, N] }
    optimistic_acceptor { n_s: [N, S], s_s: [S, S] }
    restart { s_n: [S, N], n_s: [N, S], s_s: [S, S], n_n: [N, N] }
    stuck_peer { s: [S], n: [N] }
}

async fn run<F, Fut>(name: &str, kinds: &'static [Kind], scenario: F)
where
    F: FnOnce(&'static [Kind]) -> Fut,
    Fut: Future<Output = ()>,
{
    let labels: Vec<String> =
        kinds.iter().zip(NAMES).map(|(k, n)| format!("{n}={}", k.label())).collect();
    if timeout(SCENARIO, scenario(kinds)).await.is_err() {
        panic!("{name} [{}]: scenario did not finish within {SCENARIO:?}", labels.join(", "));
    }
}

// ---------------------------------------------------------------------------------------------
// (a) the seed scenario

/// Three clusters with gateway authorization, each listing all three (itself included, which
/// is not dialled): `SUB >` on B receives `PUB foo bar` from C, exactly once, and A relays
/// nothing it got from C.
async fn seed(kinds: &'static [Kind]) {
    let servers = blocking(|| start_seed(kinds));
    let [a, b, c] = [&servers[0], &servers[1], &servers[2]];
    blocking(|| wait_full_mesh(&[a, b, c]));
    for s in [a, b, c] {
        let gwz = ok!(blocking(|| s.gatewayz("")); a, b, c);
        let others: BTreeSet<&str> = NAMES.iter().copied().filter(|n| *n != s.name()).collect();
        let names = |k: &str| -> BTreeSet<&str> {
            gwz[k].as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default()
        };
        assert_eq!(names("outbound_gateways"), others, "{}: /gatewayz\n{gwz:#}", s.label());
        assert_eq!(names("inbound_gateways"), others, "{}: /gatewayz\n{gwz:#}", s.label());
    }

    blocking(|| {
        let mut on_b = ok!(RawClient::connect(b.addr()); a, b, c);
        ok!(on_b.send(b"SUB > 1\r\n"); a, b, c);
        ok!(on_b.ping_pong(); a, b, c);
        let mut on_c = ok!(RawClient::connect(c.addr()); a, b, c);
        ok!(raw_probe(&mut on_c, &mut on_b, "probe.c", PROPAGATION); a, b, c);

        ok!(on_c.publish("foo", b"bar"); a, b, c);
        let got = ok!(on_b.next_msg(STEP); a, b, c);
        assert_eq!(
            got,
            Some(RawMsg {
                subject: "foo".into(),
                sid: "1".into(),
                reply: None,
                payload: b"bar".into()
            }),
            "MSG foo 1 3 bar on B\n{}",
            describe_all(&[a, b, c])
        );

        // No relaying: A also subscribes `>`, so C sends it everything; once A's subscriber has
        // the whole batch, a fence A publishes afterwards follows any relay on A's link to B.
        let mut on_a = ok!(RawClient::connect(a.addr()); a, b, c);
        ok!(on_a.send(b"SUB > 1\r\n"); a, b, c);
        ok!(on_a.ping_pong(); a, b, c);
        ok!(raw_probe(&mut on_c, &mut on_a, "probe.ca", PROPAGATION); a, b, c);
        ok!(raw_probe(&mut on_a, &mut on_b, "probe.ab", PROPAGATION); a, b, c);
        for i in 0..100 {
            ok!(on_c.publish(&format!("seq.{i}"), b"x"); a, b, c);
        }
        let mut at_a = 0;
        let until = Instant::now() + STEP;
        while at_a < 100 && Instant::now() < until {
            match ok!(on_a.next_msg(until - Instant::now()); a, b, c) {
                Some(m) if m.subject.starts_with("seq.") => at_a += 1,
                _ => {}
            }
        }
        assert_eq!(
            at_a,
            100,
            "A's subscriber got {at_a} of C's 100 messages\n{}",
            describe_all(&[a, b, c])
        );
        // B gets C's messages directly, once each and in order (one link)…
        let mut at_b = Vec::new();
        let until = Instant::now() + STEP;
        while at_b.len() < 100 && Instant::now() < until {
            match ok!(on_b.next_msg(until - Instant::now()); a, b, c) {
                Some(m) if m.subject.starts_with("seq.") => at_b.push(m.subject),
                _ => {}
            }
        }
        let want: Vec<String> = (0..100).map(|i| format!("seq.{i}")).collect();
        assert_eq!(at_b, want, "C's messages on B\n{}", describe_all(&[a, b, c]));
        // …and nothing relayed by A: a fence from A follows any relay on A's link to B.
        ok!(on_a.publish("fence", b""); a, b, c);
        loop {
            match ok!(on_b.next_msg(STEP); a, b, c) {
                Some(m) if m.subject == "fence" => break,
                Some(m) if m.subject.starts_with("seq.") => {
                    panic!(
                        "B got {} twice (relayed by A?)\n{}",
                        m.subject,
                        describe_all(&[a, b, c])
                    )
                }
                Some(_) => {}
                None => panic!("fence from A never reached B\n{}", describe_all(&[a, b, c])),
            }
        }
    });
}

/// Starts A, B, C on reserved gateway ports, all with gateway auth and listing each other.
fn start_seed(kinds: &[Kind]) -> Vec<GwServer> {
    let mut last = String::new();
    for _ in 0..3 {
        let ports = free_ports(3);
        let configs: Vec<GwConfig> = NAMES
            .iter()
            .zip(&ports)
            .map(|(name, &port)| {
                let mut c = GwConfig::new(name).port(port).auth(GW_USER, GW_PASS);
                for (n, &p) in NAMES.iter().zip(&ports) {
                    c = c.remote(n, loopback(p), Some((GW_USER, GW_PASS)));
                }
                c
            })
            .collect();
        match start_all(kinds, &configs) {
            Ok(s) => return s,
            // A reserved port was taken in between: try fresh ones.
            Err(e) => last = e,
        }
    }
    panic!("cannot start the seed supercluster: {last}")
}

// ---------------------------------------------------------------------------------------------
// (b) features across a gateway

/// `*` and `>` subscriptions in B get what A publishes, by the usual matching rules.
async fn wildcards(kinds: &'static [Kind]) {
    let (a, b) = blocking(|| start_pair(kinds));
    let (ca, cb) = (connect(&a).await, connect(&b).await);
    let mut star = cb.subscribe("w.*").await.unwrap();
    let mut gt = cb.subscribe("w.>").await.unwrap();
    let mut mid = cb.subscribe("w.*.c").await.unwrap();
    let mut fence = cb.subscribe("fence").await.unwrap();
    barrier(&ca, &cb).await;

    for s in ["w", "w.a", "w.a.b", "w.a.c", "x.a", "w.a.b.c"] {
        ca.publish(s, s.into()).await.unwrap();
    }
    ca.publish("fence", "".into()).await.unwrap();
    next(&mut fence).await;
    assert_eq!(drain_now(&mut star), ["w.a"], "w.*");
    assert_eq!(drain_now(&mut gt), ["w.a", "w.a.b", "w.a.c", "w.a.b.c"], "w.>");
    assert_eq!(drain_now(&mut mid), ["w.a.c"], "w.*.c");
    // Delivered under the published subject, not the subscription's.
    ca.publish("w.z", "z".into()).await.unwrap();
    assert_eq!(next(&mut star).await.subject.as_str(), "w.z");
}

/// Headers cross the gateway both ways intact (async-nats `publish_with_headers`).
async fn headers(kinds: &'static [Kind]) {
    let (a, b) = blocking(|| start_pair(kinds));
    let (ca, cb) = (connect(&a).await, connect(&b).await);
    for (from, to, dir) in [(&ca, &cb, "A→B"), (&cb, &ca, "B→A")] {
        let subject = format!("hdr.{}", dir.len());
        let mut sub = to.subscribe(subject.clone()).await.unwrap();
        barrier(from, to).await;
        let mut h = HeaderMap::new();
        h.insert("X-Trace", "abc 123");
        h.append("X-Multi", "one");
        h.append("X-Multi", "two");
        from.publish_with_headers(subject.clone(), h, "body".into()).await.unwrap();
        let mut only = HeaderMap::new();
        only.insert("X-Only", "header");
        from.publish_with_headers(subject.clone(), only, Bytes::new()).await.unwrap();
        from.publish(subject.clone(), "plain".into()).await.unwrap();

        let m = next(&mut sub).await;
        assert_eq!(m.payload, "body", "{dir}");
        let got = m.headers.unwrap_or_else(|| panic!("{dir}: headers lost"));
        assert_eq!(got.get("X-Trace").map(|v| v.as_str()), Some("abc 123"), "{dir}");
        let multi: Vec<&str> = got.get_all("X-Multi").map(|v| v.as_str()).collect();
        assert_eq!(multi, ["one", "two"], "{dir}");
        let m = next(&mut sub).await;
        assert!(m.payload.is_empty(), "{dir}: header-only message");
        assert_eq!(
            m.headers.as_ref().and_then(|h| h.get("X-Only")).map(|v| v.as_str()),
            Some("header"),
            "{dir}"
        );
        let m = next(&mut sub).await;
        assert_eq!(m.payload, "plain", "{dir}");
        assert!(m.headers.is_none(), "{dir}: a plain message must stay plain");
    }
}

/// A requester in A reaches a responder in B; a brand-new requester (fresh inbox, whose
/// interest B may not know yet: the `_GR_.` reply mapping) is answered at the first try, and
/// neither side ever sees a `_GR_.` subject.
async fn request_reply(kinds: &'static [Kind]) {
    let (a, b) = blocking(|| start_pair(kinds));
    let (ca, cb) = (connect(&a).await, connect(&b).await);
    let mut service = cb.subscribe("svc").await.unwrap();
    barrier(&ca, &cb).await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let responder = {
        let seen = std::sync::Arc::clone(&seen);
        let cb = cb.clone();
        tokio::spawn(async move {
            while let Some(req) = service.next().await {
                let Some(reply) = req.reply else { continue };
                seen.lock().unwrap().push(reply.to_string());
                let mut answer = b"re:".to_vec();
                answer.extend_from_slice(&req.payload);
                let _ = cb.publish(reply, answer.into()).await;
            }
        })
    };

    for i in 0..20 {
        let r = timeout(STEP, ca.request("svc", format!("q{i}").into()))
            .await
            .unwrap_or_else(|_| panic!("request {i} timed out"))
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(r.payload, format!("re:q{i}"));
    }
    for i in 0..5 {
        // A new connection each time: its inbox subscription is a few milliseconds old.
        let fresh = connect(&a).await;
        let r = timeout(STEP, fresh.request("svc", format!("f{i}").into()))
            .await
            .unwrap_or_else(|_| panic!("fresh requester {i} got no reply"))
            .unwrap_or_else(|e| panic!("fresh requester {i}: {e}"));
        assert_eq!(r.payload, format!("re:f{i}"));
        assert!(r.subject.starts_with("_INBOX."), "reply delivered as {}", r.subject);
    }
    // Raw: SUB and PUB in one write, the reply subject one the requester just made up.
    let a_addr = a.addr();
    let got = blocking(move || -> Result<Option<RawMsg>, String> {
        let mut raw = RawClient::connect(a_addr)?;
        raw.send(b"SUB my.own.reply.1 7\r\nPUB svc my.own.reply.1 3\r\nraw\r\n")?;
        raw.next_msg(STEP)
    });
    let got = ok!(got.map_err(|e| format!("raw requester: {e}")); &a, &b);
    assert_eq!(
        got,
        Some(RawMsg {
            subject: "my.own.reply.1".into(),
            sid: "7".into(),
            reply: None,
            payload: b"re:raw".into()
        }),
        "raw requester's reply\n{}",
        describe_all(&[&a, &b])
    );
    responder.abort();
    let seen = seen.lock().unwrap();
    assert!(seen.iter().all(|r| !r.starts_with("_GR_.")), "responder saw mapped replies: {seen:?}");
    assert!(seen.contains(&"my.own.reply.1".to_owned()), "{seen:?}");
}

/// With gateways on, clients may neither publish to `_GR_.…` nor use it as a reply subject;
/// the connection stays open (exact wire answers of nats-server 2.15.1).
async fn reserved_reply_prefix(kinds: &'static [Kind]) {
    let a = blocking(|| GwServer::start(kinds[0], &GwConfig::new("A")));
    let got = blocking(|| -> Result<String, String> {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(a.addr()).map_err(|e| e.to_string())?;
        c.set_read_timeout(Some(STEP)).map_err(|e| e.to_string())?;
        let mut buf = vec![0; 4096];
        let n = c.read(&mut buf).map_err(|e| e.to_string())?;
        if !buf[..n].starts_with(b"INFO ") {
            return Err(format!("no INFO: {:?}", String::from_utf8_lossy(&buf[..n])));
        }
        c.write_all(
            b"CONNECT {\"verbose\":false}\r\nSUB _GR_.> 1\r\nPUB _GR_.abc.def.x 2\r\nhi\r\n\
              PUB foo _GR_.abc.def.r 2\r\nhi\r\nPING\r\n",
        )
        .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        while !out.ends_with(b"PONG\r\n") {
            let n = c
                .read(&mut buf)
                .map_err(|e| format!("{e}; so far {:?}", String::from_utf8_lossy(&out)))?;
            if n == 0 {
                return Err(format!("closed; got {:?}", String::from_utf8_lossy(&out)));
            }
            out.extend_from_slice(&buf[..n]);
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    });
    assert_eq!(
        ok!(got; &a),
        "-ERR 'Permissions Violation for Publish to \"_GR_.abc.def.x\"'\r\n\
         -ERR 'Permissions Violation for Publish with Reply of \"_GR_.abc.def.r\"'\r\n\
         PONG\r\n"
    );
}

/// Queue group `q` with members in A and B: each message goes to exactly one member in the
/// whole supercluster, a local member first; with no local member the remote members share
/// every message once.
async fn queue_groups(kinds: &'static [Kind]) {
    let (a, b) = blocking(|| start_pair(kinds));
    let (ca, cb) = (connect(&a).await, connect(&b).await);
    let mut a_fence = ca.subscribe("fence.a").await.unwrap();
    let mut b_fence = cb.subscribe("fence.b").await.unwrap();
    let mut b1 = cb.queue_subscribe("qs", "q".into()).await.unwrap();
    let mut b2 = cb.queue_subscribe("qs", "q".into()).await.unwrap();
    barrier(&ca, &cb).await;
    barrier(&cb, &ca).await;
    // B's queue interest reaches A: with no member in A, a probe lands in B.
    probe_until(&ca, "qs", &mut [&mut b1, &mut b2]).await;

    let mut a1 = ca.queue_subscribe("qs", "q".into()).await.unwrap();
    sync(&ca).await;
    // From A, with a local member: all to A's member, none across.
    for i in 0..100 {
        ca.publish("qs", format!("a{i}").into()).await.unwrap();
    }
    ca.publish("fence.b", "".into()).await.unwrap();
    next(&mut b_fence).await;
    let at_a = collect(&mut a1, 100).await;
    assert_eq!(at_a, (0..100).map(|i| format!("a{i}")).collect::<Vec<_>>(), "A's member");
    let leaked: Vec<String> = drain_now(&mut b1).into_iter().chain(drain_now(&mut b2)).collect();
    assert!(leaked.is_empty(), "a local member exists, yet B's members got {leaked:?}");

    // From B, with local members: B's members share them, A's gets none.
    barrier(&cb, &ca).await;
    for i in 0..100 {
        cb.publish("qs", format!("b{i}").into()).await.unwrap();
    }
    cb.publish("fence.a", "".into()).await.unwrap();
    next(&mut a_fence).await;
    sync(&cb).await;
    assert_once(&mut [&mut b1, &mut b2], "b", 100).await;
    assert!(drain_now(&mut a1).is_empty(), "A's member got B's messages");

    // No member in A any more: every message from A reaches exactly one of B's members.
    a1.unsubscribe().await.unwrap();
    sync(&ca).await;
    for i in 0..100 {
        ca.publish("qs", format!("r{i}").into()).await.unwrap();
    }
    ca.publish("fence.b", "".into()).await.unwrap();
    next(&mut b_fence).await;
    assert_once(&mut [&mut b1, &mut b2], "r", 100).await;
}

/// Queue group members in B and C, none in A: each message A publishes goes to one cluster
/// only, so exactly one member gets it.
async fn queue_two_remote_clusters(kinds: &'static [Kind]) {
    let servers = blocking(|| start_seed(kinds));
    let [a, b, c] = [&servers[0], &servers[1], &servers[2]];
    blocking(|| wait_full_mesh(&[a, b, c]));
    let (ca, cb, cc) = (connect(a).await, connect(b).await, connect(c).await);
    let mut fence_b = cb.subscribe("fence.b").await.unwrap();
    let mut fence_c = cc.subscribe("fence.c").await.unwrap();
    let mut qb = cb.queue_subscribe("q3", "grp".into()).await.unwrap();
    let mut qc = cc.queue_subscribe("q3", "grp".into()).await.unwrap();
    barrier(&ca, &cb).await;
    barrier(&ca, &cc).await;
    for i in 0..200 {
        ca.publish("q3", format!("m{i}").into()).await.unwrap();
    }
    ca.publish("fence.b", "".into()).await.unwrap();
    ca.publish("fence.c", "".into()).await.unwrap();
    next(&mut fence_b).await;
    next(&mut fence_c).await;
    let (at_b, at_c) = (drain_now(&mut qb), drain_now(&mut qc));
    let mut all: Vec<String> = at_b.iter().chain(&at_c).cloned().collect();
    all.sort();
    let mut want: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    want.sort();
    assert_eq!(
        all,
        want,
        "each message once across B ({} msgs) and C ({} msgs)\n{}",
        at_b.len(),
        at_c.len(),
        describe_all(&[a, b, c])
    );
}

// ---------------------------------------------------------------------------------------------
// (c) discovery

/// A knows only B's gateway URL, B knows nothing: B dials back, both outbounds register, and
/// messages flow both ways.
async fn implicit_discovery(kinds: &'static [Kind]) {
    let (a, b) = blocking(|| start_pair(kinds));
    blocking(|| {
        // start_pair already waited for all four lines; B's dial back was to an implicit remote.
        ok!(b.wait_line(0, "Connecting to implicit gateway \"A\"", STEP); &a, &b);
        let mut sa = ok!(RawClient::connect(a.addr()); &a, &b);
        let mut sb = ok!(RawClient::connect(b.addr()); &a, &b);
        ok!(sa.send(b"SUB to.a 1\r\n"); &a, &b);
        ok!(sb.send(b"SUB to.b 1\r\n"); &a, &b);
        ok!(sa.ping_pong(); &a, &b);
        ok!(sb.ping_pong(); &a, &b);
        ok!(raw_probe(&mut sa, &mut sb, "to.b", PROPAGATION); &a, &b);
        ok!(raw_probe(&mut sb, &mut sa, "to.a", PROPAGATION); &a, &b);
    });
}

/// C knows only A, B knows only A: A's gossip makes B and C find each other and link directly.
async fn gossip(kinds: &'static [Kind]) {
    let a = blocking(|| GwServer::start(kinds[0], &GwConfig::new("A")));
    let to_a = a.gateway_addr();
    let bc = blocking(|| {
        start_all(
            &kinds[1..],
            &[
                GwConfig::new("B").remote("A", to_a, None),
                GwConfig::new("C").remote("A", to_a, None),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"))
    });
    let (b, c) = (&bc[0], &bc[1]);
    blocking(|| wait_full_mesh(&[&a, b, c]));
    blocking(|| {
        let mut sb = ok!(RawClient::connect(b.addr()); &a, b, c);
        let mut sc = ok!(RawClient::connect(c.addr()); &a, b, c);
        ok!(sb.send(b"SUB to.b 1\r\n"); &a, b, c);
        ok!(sc.send(b"SUB to.c 1\r\n"); &a, b, c);
        ok!(sb.ping_pong(); &a, b, c);
        ok!(sc.ping_pong(); &a, b, c);
        ok!(raw_probe(&mut sb, &mut sc, "to.c", PROPAGATION); &a, b, c);
        ok!(raw_probe(&mut sc, &mut sb, "to.b", PROPAGATION); &a, b, c);
    });
}

/// B (`reject_unknown_cluster: true`, lists only A) accepts A and refuses Z, which lists B.
async fn reject_unknown_cluster(kinds: &'static [Kind]) {
    // kinds: [acceptor B, dialler A, unknown Z]
    let (kb, ka, kz) = (kinds[0], kinds[1], kinds[2]);
    let a = blocking(|| GwServer::start(ka, &GwConfig::new("A")));
    let b = blocking(|| {
        GwServer::start(
            kb,
            &GwConfig::new("B").reject_unknown().remote("A", a.gateway_addr(), None),
        )
    });
    blocking(|| wait_full_mesh(&[&a, &b]));
    let z =
        blocking(|| GwServer::start(kz, &GwConfig::new("Z").remote("B", b.gateway_addr(), None)));
    blocking(|| {
        ok!(b.wait_line(0, "Rejecting connection from gateway \"Z\"", Duration::from_secs(10)); &a, &b, &z);
        ok!(z.wait_all(0, &["rejected", "\"B\""], Duration::from_secs(10)); &a, &b, &z);
        // Z retries; let it get refused a second time before judging the absence of links.
        let m = z.mark();
        ok!(z.wait_all(m, &["rejected", "\"B\""], Duration::from_secs(10)); &a, &b, &z);
        assert!(
            b.lines_with(0, &["Inbound gateway connection from \"Z\"", "registered"]).is_empty(),
            "{}",
            describe_all(&[&a, &b, &z])
        );
        assert!(
            b.lines_with(0, &["Outbound gateway connection to \"Z\"", "registered"]).is_empty(),
            "{}",
            describe_all(&[&a, &b, &z])
        );
        assert!(
            z.lines_with(0, &["Inbound gateway connection from \"B\"", "registered"]).is_empty(),
            "{}",
            describe_all(&[&a, &b, &z])
        );
    });
}

// ---------------------------------------------------------------------------------------------
// (d) gateway authorization

/// B requires `gwu`/`gwp`: W dials with a wrong password and is refused; A with the right one
/// links both ways.
async fn wrong_password(kinds: &'static [Kind]) {
    // kinds: [acceptor B, good dialler A, wrong dialler W]
    let (kb, ka, kw) = (kinds[0], kinds[1], kinds[2]);
    let b = blocking(|| GwServer::start(kb, &GwConfig::new("B").auth(GW_USER, GW_PASS)));
    let to_b = b.gateway_addr();
    let aw = blocking(|| {
        let a = GwConfig::new("A").remote("B", to_b, Some((GW_USER, GW_PASS)));
        let w = GwConfig::new("W").remote("B", to_b, Some((GW_USER, "wrong")));
        let a = GwServer::start(ka, &a);
        let w = GwServer::start(kw, &w);
        (a, w)
    });
    let (a, w) = (&aw.0, &aw.1);
    blocking(|| wait_full_mesh(&[a, &b]));
    blocking(|| {
        ok!(b.wait_line(0, "authentication error", Duration::from_secs(10)); a, &b, w);
        ok!(w.wait_line(0, "Authorization Violation", Duration::from_secs(10)); a, &b, w);
        let m = w.mark();
        ok!(w.wait_line(m, "Authorization Violation", Duration::from_secs(10)); a, &b, w);
        assert!(
            b.lines_with(0, &["Inbound gateway connection from \"W\"", "registered"]).is_empty(),
            "{}",
            describe_all(&[a, &b, w])
        );
        assert!(
            b.lines_with(0, &["Outbound gateway connection to \"W\"", "registered"]).is_empty(),
            "{}",
            describe_all(&[a, &b, w])
        );
        // The good link carries traffic.
        let mut sa = ok!(RawClient::connect(a.addr()); a, &b, w);
        let mut sb = ok!(RawClient::connect(b.addr()); a, &b, w);
        ok!(sb.send(b"SUB to.b 1\r\n"); a, &b, w);
        ok!(sb.ping_pong(); a, &b, w);
        ok!(raw_probe(&mut sa, &mut sb, "to.b", PROPAGATION); a, &b, w);
    });
}

// ---------------------------------------------------------------------------------------------
// (e) interest propagation

/// Subjects subscribed on B in bulk.
const BULK_SUBS: usize = 10_000;
/// Of those, how many A publishes to.
const SAMPLE: usize = 200;

/// 10,000 subscriptions on B become known on A; a new subscriber gets messages once its
/// interest arrived; after UNSUB, A stops sending.
async fn interest_at_scale(kinds: &'static [Kind]) {
    let (a, b) = blocking(|| start_pair(kinds));
    blocking(|| {
        let mut sb = ok!(RawClient::connect(b.addr()); &a, &b);
        let mut sa = ok!(RawClient::connect(a.addr()); &a, &b);
        ok!(subscribe_bulk(&mut sb); &a, &b);
        // The last one known ⇒ all known (one connection's interest travels in order).
        let t = Instant::now();
        ok!(raw_probe(&mut sa, &mut sb, &format!("bulk.{}", BULK_SUBS - 1), Duration::from_secs(20)); &a, &b);
        let known_after = t.elapsed();

        ok!(publish_sample(&mut sa, &mut sb).map_err(|e| format!("{e} (known after {known_after:?})")); &a, &b);

        let gwz = ok!(a.gatewayz("accs=1&subs=1"); &a, &b);
        let g = account(&gwz["outbound_gateways"]["B"], "$G");
        assert_eq!(g["interest_mode"], "Interest-Only", "A's view of B's $G\n{gwz:#}");
        let num_subs = g["num_subs"].as_u64();
        assert!(
            num_subs.is_some_and(|n| n as usize > BULK_SUBS),
            "A's /gatewayz must count B's {BULK_SUBS}+ subscriptions, shows {num_subs:?}\n{gwz:#}"
        );

        // A new subscriber gets everything once a probe got through.
        ok!(sb.send(b"SUB late 5\r\n"); &a, &b);
        ok!(raw_probe(&mut sa, &mut sb, "late", PROPAGATION); &a, &b);
        for i in 0..10 {
            ok!(sa.publish("late", format!("{i}").as_bytes()); &a, &b);
        }
        for i in 0..10 {
            let m = ok!(sb.next_msg(STEP); &a, &b)
                .unwrap_or_else(|| panic!("late message {i} missing"));
            assert_eq!((m.subject.as_str(), m.payload), ("late", format!("{i}").into_bytes()));
        }

        // UNSUB, then a barrier subscription made after it: once A knows the barrier, it has
        // processed the RS- too, and must send nothing more on `late`.
        ok!(sb.send(b"UNSUB 5\r\nSUB barrier 6\r\n"); &a, &b);
        ok!(sb.ping_pong(); &a, &b);
        ok!(raw_probe(&mut sa, &mut sb, "barrier", PROPAGATION); &a, &b);
        let before = ok!(out_msgs(&a, "B"); &a, &b);
        for _ in 0..1000 {
            ok!(sa.publish("late", b"no"); &a, &b);
        }
        ok!(sa.publish("fence", b""); &a, &b);
        match ok!(sb.next_msg(STEP); &a, &b) {
            Some(m) if m.subject == "fence" => {}
            other => panic!("expected only the fence, got {other:?}\n{}", describe_all(&[&a, &b])),
        }
        let after = ok!(out_msgs(&a, "B"); &a, &b);
        // The fence is one; nats-server may add a few system-account messages of its own.
        assert!(
            after > before && after - before < 100,
            "A sent {} messages to B after the UNSUB (1000 would mean it ignored the RS-)\n{}",
            after - before,
            describe_all(&[&a, &b])
        );
    });
}

/// B is strait as a pre-2.9 acceptor (`STRAIT_GATEWAY_OPTIMISTIC`): A sends optimistically,
/// B answers `A-` for an account without subscriptions (`A+` once one comes), `RS-` for
/// subjects nobody wants (`RS+` when someone subscribes), and after 1000 `RS-` switches the
/// account to interest-only.
async fn optimistic_acceptor(kinds: &'static [Kind]) {
    assert_eq!(kinds[1], S, "the optimistic acceptor is strait's test knob");
    let b = blocking(|| {
        GwServer::start_env(
            S,
            &S.program(),
            &GwConfig::new("B"),
            &[("STRAIT_GATEWAY_OPTIMISTIC", "1")],
        )
    });
    let a = blocking(|| {
        GwServer::start(kinds[0], &GwConfig::new("A").remote("B", b.gateway_addr(), None))
    });
    blocking(|| wait_full_mesh(&[&a, &b]));
    blocking(|| {
        let mode = |gwz: &serde_json::Value| {
            account(&gwz["outbound_gateways"]["B"], "$G")["interest_mode"]
                .as_str()
                .map(str::to_owned)
        };
        let gwz = ok!(a.gatewayz("accs=1"); &a, &b);
        assert_ne!(
            mode(&gwz).as_deref(),
            Some("Interest-Only"),
            "B did not ask for interest-only\n{gwz:#}"
        );

        let mut sa = ok!(RawClient::connect(a.addr()); &a, &b);
        let mut sb = ok!(RawClient::connect(b.addr()); &a, &b);
        // B has no subscription at all: it answers `A- $G`, and subscribing sends `A+`.
        ok!(sa.publish("opt.a", b"lost"); &a, &b);
        ok!(sa.ping_pong(); &a, &b);
        ok!(sb.send(b"SUB opt.a 1\r\n"); &a, &b);
        ok!(raw_probe(&mut sa, &mut sb, "opt.a", PROPAGATION); &a, &b);

        // Now the account has interest, but not in `opt.x`: B answers `RS- $G opt.x`, which A
        // records as no-interest.
        ok!(sa.publish("opt.x", b"lost"); &a, &b);
        ok!(poll(Duration::from_secs(10), || {
            let gwz = a.gatewayz("accs=1")?;
            let n = account(&gwz["outbound_gateways"]["B"], "$G")["no_interest_count"].as_u64();
            if n.unwrap_or(0) >= 1 {
                return Ok(true);
            }
            sa.publish("opt.x", b"lost")?;
            Ok(false)
        }); &a, &b);
        // Subscribing sends `RS+`, clearing it.
        ok!(sb.send(b"SUB opt.x 2\r\n"); &a, &b);
        ok!(raw_probe(&mut sa, &mut sb, "opt.x", PROPAGATION); &a, &b);

        // 1000 distinct unwanted subjects: B switches the account to interest-only.
        for i in 0..1100 {
            ok!(sa.publish(&format!("none.{i}"), b""); &a, &b);
        }
        ok!(poll(Duration::from_secs(10), || {
            Ok(mode(&a.gatewayz("accs=1")?).as_deref() == Some("Interest-Only"))
        }); &a, &b);
        // Existing interest survives the switch.
        ok!(raw_probe(&mut sa, &mut sb, "opt.x", PROPAGATION); &a, &b);
    });
}

/// Publishes to [`SAMPLE`] of the `bulk.N` subjects from `sa`, then `fence`; `sb` (subscribed
/// to all of them and to `fence`) must receive exactly the sample.
fn publish_sample(sa: &mut RawClient, sb: &mut RawClient) -> Result<(), String> {
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut sample = BTreeSet::new();
    while sample.len() < SAMPLE {
        // xorshift64: a fixed sample, the same on every run.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        sample.insert(format!("bulk.{}", rng % BULK_SUBS as u64));
    }
    for s in &sample {
        sa.publish(s, b"s")?;
    }
    sa.publish("fence", b"")?;
    let mut got = BTreeSet::new();
    loop {
        match sb.next_msg(STEP)? {
            Some(m) if m.subject == "fence" => break,
            Some(m) if !got.insert(m.subject.clone()) => {
                return Err(format!("{} twice", m.subject));
            }
            Some(_) => {}
            None => return Err(format!("fence never arrived; got {} of {SAMPLE}", got.len())),
        }
    }
    if got != sample {
        let missing: Vec<_> = sample.difference(&got).take(10).collect();
        return Err(format!(
            "got {} of {SAMPLE} sampled subjects; missing e.g. {missing:?}",
            got.len()
        ));
    }
    Ok(())
}

/// `SUB fence 1` and `SUB bulk.N` for N below [`BULK_SUBS`], in one write, confirmed by PONG.
fn subscribe_bulk(sb: &mut RawClient) -> Result<(), String> {
    let mut bulk = b"SUB fence 1\r\n".to_vec();
    for i in 0..BULK_SUBS {
        bulk.extend_from_slice(format!("SUB bulk.{i} {}\r\n", i + 10).as_bytes());
    }
    sb.send(&bulk)?;
    sb.ping_pong().map(drop)
}

/// 10,000 subscriptions made on B *before* A links to it are all announced at registration
/// (the interest-only switch: INFO cmd 2, the RS+ batch, INFO cmd 3).
async fn interest_before_link(kinds: &'static [Kind]) {
    let b = blocking(|| GwServer::start(kinds[1], &GwConfig::new("B")));
    let mut sb = ok!(blocking(|| RawClient::connect(b.addr())); &b);
    ok!(blocking(|| subscribe_bulk(&mut sb)); &b);
    let a = blocking(|| {
        GwServer::start(kinds[0], &GwConfig::new("A").remote("B", b.gateway_addr(), None))
    });
    blocking(|| {
        wait_full_mesh(&[&a, &b]);
        // A probe can cross while A is still optimistic (it sends everything); nats-server
        // drops messages for subjects whose RS+ has not arrived while the switch is under
        // way. Sample once A reports the account interest-only, i.e. the switch is over.
        ok!(poll(Duration::from_secs(20), || {
            let gwz = a.gatewayz("accs=1")?;
            let mode = account(&gwz["outbound_gateways"]["B"], "$G")["interest_mode"].clone();
            Ok(mode == "Interest-Only")
        }); &a, &b);
        let mut sa = ok!(RawClient::connect(a.addr()); &a, &b);
        ok!(raw_probe(&mut sa, &mut sb, &format!("bulk.{}", BULK_SUBS - 1), Duration::from_secs(20)); &a, &b);
        ok!(publish_sample(&mut sa, &mut sb); &a, &b);
    });
}

// ---------------------------------------------------------------------------------------------
// (f) restart

/// B is killed and restarted with the same config: links, interest and traffic come back.
async fn restart(kinds: &'static [Kind]) {
    let (a, mut b) = blocking(|| {
        let mut last = String::new();
        for _ in 0..3 {
            let ports = free_ports(2);
            let configs = [
                GwConfig::new("A").port(ports[0]).remote("B", loopback(ports[1]), None),
                GwConfig::new("B").port(ports[1]).remote("A", loopback(ports[0]), None),
            ];
            match start_all(kinds, &configs) {
                Ok(mut v) => {
                    let b = v.pop().expect("two servers");
                    return (v.pop().expect("two servers"), b);
                }
                Err(e) => last = e,
            }
        }
        panic!("cannot start: {last}")
    });
    blocking(|| {
        wait_full_mesh(&[&a, &b]);
        let mut sa = ok!(RawClient::connect(a.addr()); &a, &b);
        let mut sb = ok!(RawClient::connect(b.addr()); &a, &b);
        ok!(sa.send(b"SUB from.b 1\r\n"); &a, &b);
        ok!(sb.send(b"SUB from.a 1\r\n"); &a, &b);
        ok!(raw_probe(&mut sa, &mut sb, "from.a", PROPAGATION); &a, &b);
        ok!(raw_probe(&mut sb, &mut sa, "from.b", PROPAGATION); &a, &b);
        drop(sb);

        let mark = a.mark();
        b.restart();
        ok!(a.wait_outbound(mark, "B"); &a, &b);
        ok!(a.wait_inbound(mark, "B"); &a, &b);
        ok!(b.wait_outbound(0, "A"); &a, &b);
        ok!(b.wait_inbound(0, "A"); &a, &b);
        // A's subscription from before the restart is announced to the new B.
        let mut sb = ok!(RawClient::connect(b.addr()); &a, &b);
        ok!(raw_probe(&mut sb, &mut sa, "from.b", PROPAGATION); &a, &b);
        // And the new B's subscriptions reach A.
        ok!(sb.send(b"SUB from.a 1\r\n"); &a, &b);
        ok!(raw_probe(&mut sa, &mut sb, "from.a", PROPAGATION); &a, &b);
    });
}

/// A's remote B is a raw socket that sends its INFO and then never reads: once A's writes to it
/// stop making progress for `write_deadline`, A closes the link (`Slow Consumer (Write
/// Deadline)`) instead of buffering what it publishes to B without bound.
async fn stuck_peer(kinds: &'static [Kind]) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut config = GwConfig::new("A").remote("B", loopback(port), None);
    config.extra.push_str("write_deadline: \"1s\"\n");
    let a = blocking(|| GwServer::start(kinds[0], &config));
    blocking(|| {
        let (mut peer, _) = listener.accept().expect("A dials B");
        let info = format!(
            "INFO {{\"server_id\":\"NBSTUCKPEER\",\"server_name\":\"B1\",\"version\":\"2.15.1\",\
             \"host\":\"127.0.0.1\",\"port\":{port},\"headers\":true,\"max_payload\":1048576,\
             \"proto\":1,\"gateway\":\"B\",\"gateway_url\":\"127.0.0.1:{port}\"}}\r\n"
        );
        std::io::Write::write_all(&mut peer, info.as_bytes()).expect("INFO");
        ok!(a.wait_outbound(0, "B"); &a);
        // Optimistic mode (no interest-only switch from B): everything goes to B.
        let mut publisher = ok!(RawClient::connect(a.addr()); &a);
        let payload = vec![b'x'; 64 * 1024];
        let closed = ["Gateway connection closed", "Slow Consumer"];
        let deadline = Instant::now() + Duration::from_secs(30);
        // Bounded: at most 30 s, at most 1 GiB.
        for _ in 0..64 {
            if !a.lines_with(0, &closed).is_empty() || Instant::now() > deadline {
                break;
            }
            for _ in 0..256 {
                ok!(publisher.publish("to.b", &payload); &a);
            }
            ok!(publisher.ping_pong(); &a);
        }
        ok!(a.wait_all(0, &closed, Duration::from_secs(10)); &a);
        drop(peer);
    });
}

// ---------------------------------------------------------------------------------------------
// The example configs

/// `examples/**/*.conf` are valid for both servers (`-t -c`). The TLS examples name
/// certificates under `examples/tls/certs` (made by `scripts/gen-certs`, never committed): they
/// are checked from a directory where rcgen-made stand-ins sit at those paths.
#[test]
fn example_configs_parse() {
    let tls_cwd = tls_example_certs();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "conf") {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 6, "example configs missing under {}", root.display());
    for kind in [S, N] {
        for f in &files {
            let mut cmd = std::process::Command::new(kind.program());
            if f.parent().is_some_and(|d| d.ends_with("tls")) {
                cmd.current_dir(tls_cwd.path());
            }
            let out = cmd
                .arg("-t")
                .arg("-c")
                .arg(f)
                .output()
                .unwrap_or_else(|e| panic!("{}: {e}", kind.label()));
            assert!(
                out.status.success(),
                "{} -t -c {}: {}",
                kind.label(),
                f.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// A directory holding `examples/tls/certs/{ca,gw-X,gw-X-key}.pem` as `scripts/gen-certs`
/// names them.
fn tls_example_certs() -> common::certs::Dir {
    use common::certs::{Ca, Dir, LeafSpec};
    let dir = Dir::new();
    std::fs::create_dir_all(dir.path().join("examples/tls/certs")).expect("certs dir");
    let root = Ca::root("Example Root");
    let inter = root.intermediate("Example Intermediate");
    dir.write("examples/tls/certs/ca.pem", &format!("{}{}", root.pem, inter.pem));
    for name in ["a", "b", "c"] {
        let leaf = inter.leaf(&LeafSpec::new(&format!("gw-{name}")));
        dir.write(&format!("examples/tls/certs/gw-{name}.pem"), &leaf.cert);
        dir.write(&format!("examples/tls/certs/gw-{name}-key.pem"), &leaf.key);
    }
    dir
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// Runs blocking harness code (log waits, raw sockets) without stalling the runtime.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

fn loopback(port: u16) -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], port))
}

/// Starts one server per config concurrently (kinds by position).
fn start_all(kinds: &[Kind], configs: &[GwConfig]) -> Result<Vec<GwServer>, String> {
    let results: Vec<Result<GwServer, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = kinds
            .iter()
            .zip(configs)
            .map(|(&k, c)| s.spawn(move || GwServer::try_start(k, &k.program(), c, &[])))
            .collect();
        handles.into_iter().map(|h| h.join().expect("start thread")).collect()
    });
    results.into_iter().collect()
}

/// B with no remotes, then A listing B only (B discovers A and dials back); waits for both
/// links in both servers' logs.
fn start_pair(kinds: &[Kind]) -> (GwServer, GwServer) {
    let b = GwServer::start(kinds[1], &GwConfig::new("B"));
    let a = GwServer::start(kinds[0], &GwConfig::new("A").remote("B", b.gateway_addr(), None));
    wait_full_mesh(&[&a, &b]);
    (a, b)
}

/// The entry for `name` in a `/gatewayz` remote's `accounts` list (`Null` if absent).
fn account(remote: &serde_json::Value, name: &str) -> serde_json::Value {
    remote["accounts"]
        .as_array()
        .and_then(|l| l.iter().find(|a| a["name"] == name))
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

/// Messages sent so far on `server`'s outbound link to `remote`, from `/gatewayz`.
fn out_msgs(server: &GwServer, remote: &str) -> Result<u64, String> {
    let gwz = server.gatewayz(&format!("gw_name={remote}"))?;
    gwz["outbound_gateways"][remote]["connection"]["out_msgs"]
        .as_u64()
        .ok_or_else(|| format!("no out_msgs for {remote} in {gwz:#}"))
}

/// Calls `check` every 20 ms until it returns `true`, bounded by `within`.
fn poll(within: Duration, mut check: impl FnMut() -> Result<bool, String>) -> Result<(), String> {
    let deadline = Instant::now() + within;
    loop {
        if check()? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("condition not reached within {within:?}"));
        }
        // Polling interval of a bounded wait on state only observable by asking.
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn connect(server: &GwServer) -> Client {
    let opts = ConnectOptions::new()
        .subscription_capacity(1 << 16)
        .connection_timeout(STEP)
        .max_reconnects(Some(1));
    match timeout(STEP, opts.connect(server.url())).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => panic!("connect to {}: {e}\n{}", server.label(), server.describe("")),
        Err(_) => panic!("connect to {} timed out", server.label()),
    }
}

/// A round trip through `client`'s server: every earlier command of it has been processed.
async fn sync(client: &Client) {
    timeout(STEP, client.flush()).await.expect("flush timed out").expect("flush failed");
}

/// Makes sure `publisher`'s cluster knows every subscription `subscriber` made so far: a fresh
/// subscription made last is probed until a message gets through.
async fn barrier(publisher: &Client, subscriber: &Client) {
    let subject = format!("barrier.{}", subscriber.new_inbox().trim_start_matches("_INBOX."));
    let mut sub = subscriber.subscribe(subject.clone()).await.unwrap();
    sync(subscriber).await;
    probe_until(publisher, &subject, &mut [&mut sub]).await;
    sub.unsubscribe().await.unwrap();
}

/// Publishes probes on `subject` until one of `subs` (all on one connection) gets one, then
/// flushes the stragglers out with an end marker so the subscriptions are left empty.
async fn probe_until(publisher: &Client, subject: &str, subs: &mut [&mut Subscriber]) {
    let deadline = Instant::now() + PROPAGATION;
    loop {
        assert!(Instant::now() < deadline, "no probe on {subject} arrived within {PROPAGATION:?}");
        publisher.publish(subject.to_owned(), "probe".into()).await.unwrap();
        sync(publisher).await;
        let got = timeout(Duration::from_millis(100), first(subs)).await;
        if got.is_ok() {
            break;
        }
    }
    // Probes still in flight travel in order with an end marker (all `subs` share one
    // connection, so this holds across them, e.g. for queue group members).
    publisher.publish(subject.to_owned(), "end".into()).await.unwrap();
    loop {
        let m = timeout(STEP, first(subs)).await.expect("probe end marker never arrived");
        if m.payload == "end" {
            break;
        }
    }
    for sub in subs.iter_mut() {
        drain_now(sub);
    }
}

/// The first message on any of `subs`.
async fn first(subs: &mut [&mut Subscriber]) -> Message {
    let futs = subs.iter_mut().map(|s| s.next().boxed());
    futures_util::future::select_all(futs).await.0.expect("subscription ended")
}

async fn next(sub: &mut Subscriber) -> Message {
    timeout(STEP, sub.next()).await.expect("no message within 5 s").expect("subscription ended")
}

/// `n` messages from `sub` as payload strings.
async fn collect(sub: &mut Subscriber, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(String::from_utf8_lossy(&next(sub).await.payload).into_owned());
    }
    out
}

/// Every message already delivered to `sub`, as payload strings, without waiting.
fn drain_now(sub: &mut Subscriber) -> Vec<String> {
    let mut out = Vec::new();
    // `unconstrained`: tokio's cooperative budget would report "pending" after 128 messages.
    while let Some(Some(m)) = tokio::task::unconstrained(sub.next()).now_or_never() {
        out.push(String::from_utf8_lossy(&m.payload).into_owned());
    }
    out
}

/// `prefix0`..`prefix{n-1}` arrived exactly once across `subs` (already delivered).
async fn assert_once(subs: &mut [&mut Subscriber], prefix: &str, n: usize) {
    let mut all: Vec<String> = Vec::new();
    let deadline = Instant::now() + STEP;
    while all.len() < n && Instant::now() < deadline {
        for s in subs.iter_mut() {
            all.extend(drain_now(s).into_iter().filter(|p| p != "end" && p != "probe"));
        }
        if all.len() < n {
            let _ = timeout(Duration::from_millis(50), first(subs)).await.map(|m| {
                all.push(String::from_utf8_lossy(&m.payload).into_owned());
            });
        }
    }
    let mut sorted = all.clone();
    sorted.sort();
    let mut want: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    want.sort();
    assert_eq!(sorted, want, "each message exactly once across the group's members");
}
