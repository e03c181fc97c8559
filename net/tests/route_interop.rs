//! Clusters of three servers joined by routes, all Strait and mixed with the real
//! nats-server 2.15.1: `s_s_s`, `s_s_n` (two Strait, one nats-server) and `s_n_n`.
//!
//! Each shape is one test running its cluster through every phase in turn: the mesh formed by
//! gossip from partial route lists (s1 lists nobody, s2 lists s1, s3 lists s2), delivery in
//! every direction with wildcards and headers, request/reply across every pair, queue groups
//! exactly once, 10,000 subscriptions known on every server, an async-nats client, a server
//! killed and restarted, and a rolling lame-duck restart of every server under a nats-py
//! publisher and subscriber holding all three URLs. Wrong route passwords are checked per
//! pair of implementations in a test of their own.
//!
//! Readiness without sleeps:
//! * the mesh: a probe from every server reaches a subscriber on every other one. Routes never
//!   relay (a message crosses one route at most), so delivery proves a direct route;
//! * interest: a server forwards a message only once it knows the remote interest, and one
//!   client's subscriptions travel in order on a route, so a probe for the subscription made
//!   *last* on a connection proves the earlier ones known (`raw_probe`);
//! * completeness: messages on one path arrive in order, so once a *fence* published after
//!   the others arrives, everything before it on that path has arrived (or never will).
//!
//! The one fixed-length wait is the dial-storm window of the password test: it measures how
//! often a refused peer re-dials, which no event can stand in for.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::Kind;
use common::cluster::{
    MANY, MESH_TIMEOUT, Member, RouteServer, chain, describe_all, poll, reaches_many, start_all,
    subscribe_many, until_fences, wait_mesh,
};
use common::gateway::{RawClient, RawMsg, raw_probe};

/// Strait, in shape lists.
const S: Kind = Kind::Strait;
/// nats-server, in shape lists.
const N: Kind = Kind::NatsServer;

/// Bound for any one thing to happen on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(20);

#[test]
fn s_s_s() {
    shape(&[S, S, S]);
}

#[test]
fn s_s_n() {
    shape(&[S, S, N]);
}

#[test]
fn s_n_n() {
    shape(&[S, N, N]);
}

/// Every phase on one cluster of `kinds` (s1, s2, s3 in order).
fn shape(kinds: &[Kind]) {
    let started = Instant::now();
    let mut servers = start_all(&chain(kinds));
    let s = &mut servers[..];
    ok!(gossip_mesh(s), s);
    let mesh = started.elapsed();
    ok!(delivery(s), s);
    ok!(request_reply(s), s);
    ok!(queue_group(s), s);
    // Bulk interest from a Strait server, and from a nats-server one where there is one.
    ok!(many_subscriptions(s, 0), s);
    if let Some(n) = kinds.iter().rposition(|k| *k == N) {
        ok!(many_subscriptions(s, n), s);
    }
    ok!(async_nats_client(s), s);
    // s1 has no route of its own (its peers must come back to it), s3 only a partial one.
    ok!(kill_and_restart(s, 0), s);
    ok!(kill_and_restart(s, 2), s);
    let before_ldm = started.elapsed();
    let report = ok!(rolling_lame_duck(s), s);
    eprintln!(
        "{kinds:?}: mesh in {mesh:?}, phases before lame duck {before_ldm:?}, total {:?}; \
         lame duck: {report}",
        started.elapsed()
    );
}

/// A nats-server that wants S2 compression (`compression: s2_fast`, either side of the dial)
/// hears Strait's `"compression":"off"` and routes in plain text: the mesh forms, messages
/// cross both ways, and both sides' `/routez` say `off`.
#[test]
fn compression_is_declined_cleanly() {
    for nats_dials in [false, true] {
        let mut members = vec![Member::new(S, "s1"), Member::new(N, "s2")];
        let (dialler, acceptor) = if nats_dials { (1, 0) } else { (0, 1) };
        let url = members[acceptor].route_url(None);
        members[dialler].routes.push(url);
        let text =
            members[1].render().replace("cluster {\n", "cluster {\n  compression: s2_fast\n");
        members[1].text = Some(text);
        let servers = start_all(&members);
        let s = &servers[..];
        ok!(wait_mesh(s, "s2"), s);
        ok!(delivery(s), s);
        for server in s {
            let routez = ok!(server.monitor("/routez"), s);
            let mode = &routez["routes"][0]["compression"];
            assert_eq!(mode, "off", "{}: {routez:#}", server.label());
        }
    }
}

/// The labels of a cluster, for messages.
fn labels(servers: &[RouteServer]) -> String {
    servers.iter().map(RouteServer::label).collect::<Vec<_>>().join(" ")
}

/// Gossip completes the mesh from partial route lists; nats-server members list both others
/// in `/routez` by name.
fn gossip_mesh(servers: &[RouteServer]) -> Result<(), String> {
    wait_mesh(servers, "gossip").map_err(|e| format!("{}: mesh: {e}", labels(servers)))?;
    for (i, s) in servers.iter().enumerate() {
        if s.kind() != N {
            continue;
        }
        let want: Vec<String> = servers
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, o)| o.member().name.clone())
            .collect();
        let mut seen = Vec::new();
        poll(WAIT, || {
            let routez = s.monitor("/routez")?;
            let mut names: Vec<String> = routez["routes"]
                .as_array()
                .ok_or("no routes in /routez")?
                .iter()
                .filter_map(|r| r["remote_name"].as_str().map(str::to_owned))
                .collect();
            names.sort();
            names.dedup();
            seen = names.clone();
            Ok(names == want)
        })
        .map_err(|e| format!("{}: /routez names {seen:?}, want {want:?}: {e}", s.label()))?;
    }
    Ok(())
}

/// `(subject, sid, payload)` of messages, sorted, for exact comparison.
fn triples(msgs: &[RawMsg]) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = msgs
        .iter()
        .map(|m| (m.subject.clone(), m.sid.clone(), String::from_utf8_lossy(&m.payload).into()))
        .collect();
    v.sort();
    v
}

/// The header block every HPUB of [`delivery`] carries.
fn header_block(from: usize) -> String {
    format!("NATS/1.0\r\nX-From: s{}\r\n\r\n", from + 1)
}

/// Publishers on every server, subscribers on every server: `*`, `>` and headers, each
/// message exactly once on every subscriber it matches and nowhere else.
fn delivery(servers: &[RouteServer]) -> Result<(), String> {
    let n = servers.len();
    let mut subs = Vec::new();
    for (i, s) in servers.iter().enumerate() {
        let mut c = RawClient::connect(s.addr())?;
        // `sync.i` last: its probe proves the three before it known too.
        c.send(
            format!("SUB all.* 1\r\nSUB tree.> 2\r\nSUB hdr.to.{i} 3\r\nSUB sync.{i} 9\r\n")
                .as_bytes(),
        )?;
        c.ping_pong()?;
        subs.push(c);
    }
    let mut pubs: Vec<RawClient> =
        servers.iter().map(|s| RawClient::connect(s.addr())).collect::<Result<_, _>>()?;
    for (p, publisher) in pubs.iter_mut().enumerate() {
        for (s, sub) in subs.iter_mut().enumerate() {
            if p != s {
                raw_probe(publisher, sub, &format!("sync.{s}"), MESH_TIMEOUT)
                    .map_err(|e| format!("s{} → s{}: {e}", p + 1, s + 1))?;
            }
        }
    }
    for (p, publisher) in pubs.iter_mut().enumerate() {
        let mut out = Vec::new();
        out.extend(format!("PUB all.p{p} 2\r\nm{p}\r\n").bytes());
        // Matched by neither `all.*` (one token too many) nor `tree.>`.
        out.extend(format!("PUB all.p{p}.deep 4\r\nnone\r\n").bytes());
        out.extend(format!("PUB tree.p{p}.a.b 2\r\nt{p}\r\n").bytes());
        // `>` needs at least one more token.
        out.extend(b"PUB tree 4\r\nnone\r\n");
        let hdr = header_block(p);
        for s in 0..n {
            let body = format!("h{p}");
            out.extend(
                format!(
                    "HPUB hdr.to.{s} {} {}\r\n{hdr}{body}\r\n",
                    hdr.len(),
                    hdr.len() + body.len()
                )
                .bytes(),
            );
        }
        for s in 0..n {
            out.extend(format!("PUB sync.{s} 6\r\nfence{p}\r\n").bytes());
        }
        publisher.send(&out)?;
    }
    let fences: Vec<String> = (0..n).map(|p| format!("fence{p}")).collect();
    for (s, sub) in subs.iter_mut().enumerate() {
        let got = until_fences(sub, &fences, WAIT).map_err(|e| format!("on s{}: {e}", s + 1))?;
        let mut want = Vec::new();
        for p in 0..n {
            let msg = |subject: String, sid: &str, payload: String| RawMsg {
                subject,
                sid: sid.to_owned(),
                reply: None,
                payload: payload.into_bytes(),
            };
            want.push(msg(format!("all.p{p}"), "1", format!("m{p}")));
            want.push(msg(format!("tree.p{p}.a.b"), "2", format!("t{p}")));
            want.push(msg(format!("hdr.to.{s}"), "3", format!("{}h{p}", header_block(p))));
        }
        if triples(&got) != triples(&want) {
            return Err(format!(
                "subscriber on {}: got {:#?}\nwant {:#?}",
                servers[s].label(),
                triples(&got),
                triples(&want)
            ));
        }
    }
    Ok(())
}

/// A responder on every server answers a requester on every other one.
fn request_reply(servers: &[RouteServer]) -> Result<(), String> {
    for (r, rs) in servers.iter().enumerate() {
        let mut responder = RawClient::connect(rs.addr())?;
        let svc = format!("svc.{r}");
        responder.send(format!("SUB {svc} 1\r\n").as_bytes())?;
        responder.ping_pong()?;
        for (q, qs) in servers.iter().enumerate() {
            if q == r {
                continue;
            }
            let inbox = format!("_INBOX.rr.{q}.{r}");
            let mut requester = RawClient::connect(qs.addr())?;
            requester.send(format!("SUB {inbox} 1\r\n").as_bytes())?;
            requester.ping_pong()?;
            let pair = format!("{} → {}", qs.label(), rs.label());
            raw_probe(&mut requester, &mut responder, &svc, MESH_TIMEOUT)
                .map_err(|e| format!("{pair}: {e}"))?;
            raw_probe(&mut responder, &mut requester, &inbox, MESH_TIMEOUT)
                .map_err(|e| format!("{pair} (reply path): {e}"))?;
            requester.send(format!("PUB {svc} {inbox} 4\r\nping\r\n").as_bytes())?;
            let req = responder
                .next_msg(WAIT)?
                .ok_or_else(|| format!("{pair}: the request never arrived"))?;
            if req.reply.as_deref() != Some(inbox.as_str()) || req.payload != b"ping" {
                return Err(format!("{pair}: request arrived as {req:?}"));
            }
            responder.publish(&inbox, format!("pong{r}").as_bytes())?;
            let rep = requester
                .next_msg(WAIT)?
                .ok_or_else(|| format!("{pair}: the reply never arrived"))?;
            if rep.subject != inbox || rep.payload != format!("pong{r}").as_bytes() {
                return Err(format!("{pair}: reply arrived as {rep:?}"));
            }
        }
    }
    Ok(())
}

/// Messages published on each server.
const QUEUE_PER_PUBLISHER: usize = 200;

/// One queue member on every server, a publisher on every server: every message reaches
/// exactly one member, and every member gets some.
fn queue_group(servers: &[RouteServer]) -> Result<(), String> {
    let n = servers.len();
    let mut members = Vec::new();
    for (i, s) in servers.iter().enumerate() {
        let mut c = RawClient::connect(s.addr())?;
        c.send(format!("SUB work grp 1\r\nSUB qsync.{i} 2\r\n").as_bytes())?;
        c.ping_pong()?;
        members.push(c);
    }
    let mut pubs: Vec<RawClient> =
        servers.iter().map(|s| RawClient::connect(s.addr())).collect::<Result<_, _>>()?;
    for (p, publisher) in pubs.iter_mut().enumerate() {
        for (i, member) in members.iter_mut().enumerate() {
            if p != i {
                raw_probe(publisher, member, &format!("qsync.{i}"), MESH_TIMEOUT)?;
            }
        }
    }
    for (p, publisher) in pubs.iter_mut().enumerate() {
        let mut out = Vec::new();
        for k in 0..QUEUE_PER_PUBLISHER {
            let body = format!("{p}-{k}");
            out.extend(format!("PUB work {}\r\n{body}\r\n", body.len()).bytes());
        }
        for i in 0..n {
            out.extend(format!("PUB qsync.{i} 6\r\nfence{p}\r\n").bytes());
        }
        publisher.send(&out)?;
    }
    let fences: Vec<String> = (0..n).map(|p| format!("fence{p}")).collect();
    let mut all = Vec::new();
    let mut per_member = Vec::new();
    for (i, member) in members.iter_mut().enumerate() {
        let got = until_fences(member, &fences, WAIT)
            .map_err(|e| format!("member on s{}: {e}", i + 1))?;
        per_member.push(got.len());
        all.extend(got.into_iter().map(|m| String::from_utf8_lossy(&m.payload).into_owned()));
    }
    all.sort();
    let mut want: Vec<String> =
        (0..n).flat_map(|p| (0..QUEUE_PER_PUBLISHER).map(move |k| format!("{p}-{k}"))).collect();
    want.sort();
    if all != want {
        let dup: Vec<_> = all.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0].clone()).collect();
        return Err(format!(
            "{}: {} deliveries for {} messages (per member {per_member:?}); duplicates {dup:?}",
            labels(servers),
            all.len(),
            want.len()
        ));
    }
    if per_member.contains(&0) {
        return Err(format!("{}: a member got nothing: {per_member:?}", labels(servers)));
    }
    Ok(())
}

/// 10,000 subscriptions on `host` become known on every other server: a publish from each
/// reaches the last one made (and nats-server peers count them in `/subsz`).
fn many_subscriptions(servers: &[RouteServer], host: usize) -> Result<(), String> {
    let started = Instant::now();
    let prefix = format!("many.{host}");
    let mut c = subscribe_many(&servers[host], &prefix)?;
    for (p, s) in servers.iter().enumerate() {
        if p == host {
            continue;
        }
        reaches_many(s, &mut c, &prefix)
            .map_err(|e| format!("{} → {}: {e}", s.label(), servers[host].label()))?;
        if s.kind() == N {
            let mut count = 0;
            poll(WAIT, || {
                count = s.monitor("/subsz")?["num_subscriptions"].as_u64().unwrap_or(0);
                Ok(count >= MANY as u64)
            })
            .map_err(|e| format!("{}: /subsz num_subscriptions {count}: {e}", s.label()))?;
        }
    }
    eprintln!(
        "{}: {MANY} subscriptions on {} known everywhere in {:?}",
        labels(servers),
        servers[host].label(),
        started.elapsed()
    );
    // Unsubscribing them all is the client closing: its interest leaves the routes.
    drop(c);
    Ok(())
}

/// async-nats on s1 and s3 (no configured route between them): headers both ways,
/// request/reply with headers, a `>` subscription.
fn async_nats_client(servers: &[RouteServer]) -> Result<(), String> {
    let (a, b) = (servers[0].url(), servers[2].url());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        tokio::time::timeout(Duration::from_secs(60), async_nats_scenario(a, b))
            .await
            .map_err(|_| "async-nats scenario timed out".to_owned())?
    })
}

async fn async_nats_scenario(a: String, b: String) -> Result<(), String> {
    use futures_util::StreamExt;
    let step = Duration::from_secs(5);
    let ca = async_nats::connect(&a).await.map_err(|e| format!("connect {a}: {e}"))?;
    let cb = async_nats::connect(&b).await.map_err(|e| format!("connect {b}: {e}"))?;

    // A responder on s3 echoes the request's header.
    let mut svc = cb.subscribe("an.svc").await.map_err(|e| e.to_string())?;
    cb.flush().await.map_err(|e| e.to_string())?;
    let responder = cb.clone();
    tokio::spawn(async move {
        while let Some(m) = svc.next().await {
            let Some(reply) = m.reply else { continue };
            let mut h = async_nats::HeaderMap::new();
            let echo = m.headers.as_ref().and_then(|h| h.get("X-Req")).map(|v| v.to_string());
            h.insert("X-Echo", echo.unwrap_or_default().as_str());
            let _ = responder.publish_with_headers(reply, h, "pong".into()).await;
            let _ = responder.flush().await;
        }
    });
    // Until the responder's interest has crossed, requests get no responders: retry, bounded.
    let deadline = Instant::now() + MESH_TIMEOUT;
    let reply = loop {
        let mut h = async_nats::HeaderMap::new();
        h.insert("X-Req", "r1");
        let req = ca.request_with_headers("an.svc", h, "ping".into());
        match tokio::time::timeout(step, req).await {
            Ok(Ok(m)) => break m,
            _ if Instant::now() < deadline => {
                // Pacing of a bounded retry loop.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return Err(format!("request s1 → s3 never answered: {other:?}")),
        }
    };
    let echo = reply.headers.as_ref().and_then(|h| h.get("X-Echo")).map(|v| v.to_string());
    if reply.payload.as_ref() != b"pong" || echo.as_deref() != Some("r1") {
        return Err(format!("reply {reply:?}"));
    }

    // s1 subscribes `an.ev.>`; s3 publishes with headers until one arrives, then a marked one.
    let mut ev = ca.subscribe("an.ev.>").await.map_err(|e| e.to_string())?;
    ca.flush().await.map_err(|e| e.to_string())?;
    let deadline = Instant::now() + MESH_TIMEOUT;
    loop {
        cb.publish("an.ev.probe", "probe".into()).await.map_err(|e| e.to_string())?;
        cb.flush().await.map_err(|e| e.to_string())?;
        if tokio::time::timeout(Duration::from_millis(100), ev.next()).await.is_ok() {
            break;
        }
        if Instant::now() > deadline {
            return Err("s1's an.ev.> never known on s3".to_owned());
        }
    }
    let mut h = async_nats::HeaderMap::new();
    h.insert("X-Seq", "42");
    h.append("X-Multi", "a");
    h.append("X-Multi", "b");
    cb.publish_with_headers("an.ev.deep.subject", h, "payload".into())
        .await
        .map_err(|e| e.to_string())?;
    cb.flush().await.map_err(|e| e.to_string())?;
    loop {
        let m = tokio::time::timeout(step, ev.next())
            .await
            .map_err(|_| "the header message never arrived".to_owned())?
            .ok_or("subscription ended")?;
        if m.subject.as_str() == "an.ev.probe" {
            continue;
        }
        let h = m.headers.as_ref().ok_or("no headers")?;
        let multi: Vec<String> = h.get_all("X-Multi").map(|v| v.to_string()).collect();
        if m.subject.as_str() != "an.ev.deep.subject"
            || m.payload.as_ref() != b"payload"
            || h.get("X-Seq").map(|v| v.to_string()).as_deref() != Some("42")
            || multi != ["a", "b"]
        {
            return Err(format!("header message arrived as {m:?}"));
        }
        break;
    }
    Ok(())
}

/// Server `k` is killed (SIGKILL) and started again on the same ports: a subscriber that
/// stayed on a surviving server gets messages from the restarted server's publishers, and the
/// whole mesh is back.
fn kill_and_restart(servers: &mut [RouteServer], k: usize) -> Result<(), String> {
    let survivor = (k + 1) % servers.len();
    let subject = format!("kr.{k}");
    let mut sub = RawClient::connect(servers[survivor].addr())?;
    sub.send(format!("SUB {subject} 1\r\n").as_bytes())?;
    sub.ping_pong()?;
    let started = Instant::now();
    servers[k].kill();
    servers[k].restart();
    let mut publisher = RawClient::connect(servers[k].addr())?;
    raw_probe(&mut publisher, &mut sub, &subject, MESH_TIMEOUT).map_err(|e| {
        format!(
            "after restarting {}: {} → {}: {e}",
            servers[k].label(),
            servers[k].label(),
            servers[survivor].label()
        )
    })?;
    wait_mesh(servers, &format!("kill{k}"))
        .map_err(|e| format!("after restarting {}: {e}", servers[k].label()))?;
    eprintln!(
        "{}: {} back in the mesh {:?} after SIGKILL",
        labels(servers),
        servers[k].label(),
        started.elapsed()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Rolling lame-duck restart under a nats-py publisher and subscriber

/// Acknowledged requests wanted after each restart, proving traffic flows again.
const LDM_PROGRESS: u64 = 20;

/// nats-py: a subscriber connection (URLs in order s1, s2, s3) answers every `ldm.seq`
/// request after recording its sequence number; a publisher connection (s3, s2, s1) sends
/// sequence numbers 1, 2, 3… each as a request, re-sending the same number until it is
/// answered. Prints `ready`, `acked N` every 10, `event …` for the callbacks; on a line on
/// stdin it stops and prints `result {json}` with every number the subscriber missed.
const NATS_PY_LDM: &str = r#"
import asyncio, json, sys
import nats

async def main(urls):
    got = set()
    events = {}
    def cb(name):
        async def f(*args):
            events[name] = events.get(name, 0) + 1
            print("event", name, flush=True)
        return f
    common = dict(dont_randomize=True, connect_timeout=2, reconnect_time_wait=0.1,
                  max_reconnect_attempts=-1, allow_reconnect=True)
    sub_nc = await nats.connect(servers=urls, name="ldm-sub",
        reconnected_cb=cb("sub_reconnected"), disconnected_cb=cb("sub_disconnected"),
        lame_duck_mode_cb=cb("sub_ldm"), error_cb=cb("sub_error"), **common)
    pub_nc = await nats.connect(servers=list(reversed(urls)), name="ldm-pub",
        reconnected_cb=cb("pub_reconnected"), disconnected_cb=cb("pub_disconnected"),
        lame_duck_mode_cb=cb("pub_ldm"), error_cb=cb("pub_error"), **common)

    async def on_msg(msg):
        got.add(int(msg.data))
        await msg.respond(b"ack")
    await sub_nc.subscribe("ldm.seq", cb=on_msg)
    await sub_nc.flush()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_reader(sys.stdin.fileno(), stop.set)
    print("ready", flush=True)
    seq, retries, errors = 0, 0, {}
    while not stop.is_set():
        seq += 1
        while True:
            try:
                await pub_nc.request("ldm.seq", str(seq).encode(), timeout=1)
                break
            except Exception as e:
                retries += 1
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                # Pacing of the retry loop (no responders comes back at once).
                await asyncio.sleep(0.05)
        if seq % 10 == 0:
            print("acked", seq, flush=True)
    missing = [s for s in range(1, seq + 1) if s not in got]
    result = dict(sent=seq, received=len(got), missing=missing[:20], missing_count=len(missing),
                  retries=retries, errors=errors, events=events,
                  sub_url=str(sub_nc.connected_url.netloc), pub_url=str(pub_nc.connected_url.netloc))
    await sub_nc.close()
    await pub_nc.close()
    print("result", json.dumps(result), flush=True)

asyncio.run(main(sys.argv[1].split(",")))
"#;

/// The nats-py process of [`NATS_PY_LDM`], its stdout read line by line on a thread.
struct PyClients {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    acked: u64,
    events: Vec<String>,
}

impl PyClients {
    fn start(urls: &str) -> Result<PyClients, String> {
        let python = std::env::var("NATS_PY").map_err(
            |_| "$NATS_PY is not set: run the tests through scripts/test (it installs nats-py)",
        )?;
        let dir = std::env::temp_dir().join(format!("strait-rt-py-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let script: PathBuf =
            dir.join(format!("ldm-{}.py", urls.len() ^ std::process::id() as usize));
        std::fs::write(&script, NATS_PY_LDM).map_err(|e| e.to_string())?;
        let mut child = Command::new(python)
            .arg(&script)
            .arg(urls)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("run nats-py: {e}"))?;
        let stdout = child.stdout.take().expect("piped");
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut py = PyClients { child, stdin, lines, acked: 0, events: Vec::new() };
        py.wait_line(|l| l == "ready", WAIT).map_err(|e| format!("nats-py start: {e}"))?;
        Ok(py)
    }

    /// Reads lines until `want` matches one (returned), keeping track of acks and events.
    fn wait_line(
        &mut self,
        want: impl Fn(&str) -> bool,
        within: Duration,
    ) -> Result<String, String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).map_err(|e| {
                format!(
                    "no expected line from nats-py within {within:?} ({e}); acked {}, events {:?}",
                    self.acked, self.events
                )
            })?;
            if let Some(n) = line.strip_prefix("acked ") {
                self.acked = n.parse().unwrap_or(self.acked);
            } else if let Some(e) = line.strip_prefix("event ") {
                self.events.push(e.to_owned());
            }
            if want(&line) {
                return Ok(line);
            }
        }
    }

    /// Waits until the publisher has `n` acknowledged sequence numbers.
    fn wait_acked(&mut self, n: u64) -> Result<(), String> {
        if self.acked >= n {
            return Ok(());
        }
        let want = move |l: &str| {
            l.strip_prefix("acked ").and_then(|x| x.parse::<u64>().ok()).is_some_and(|x| x >= n)
        };
        self.wait_line(want, MESH_TIMEOUT).map(|_| ())
    }

    /// Stops the loop; the result line's JSON.
    fn finish(&mut self) -> Result<serde_json::Value, String> {
        let mut stdin = self.stdin.take().ok_or("already finished")?;
        stdin.write_all(b"stop\n").map_err(|e| e.to_string())?;
        drop(stdin);
        let line = self.wait_line(|l| l.starts_with("result "), WAIT)?;
        serde_json::from_str(&line["result ".len()..]).map_err(|e| format!("{e}: {line}"))
    }
}

impl Drop for PyClients {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Each server in turn enters lame-duck mode (SIGUSR2), exits 0 and is started again, while
/// nats-py clients with all three URLs move between servers: every sequence number reaches
/// the subscriber, and traffic flows after each restart.
fn rolling_lame_duck(servers: &mut [RouteServer]) -> Result<String, String> {
    let urls: Vec<String> = servers.iter().map(RouteServer::url).collect();
    let mut py = PyClients::start(&urls.join(","))?;
    py.wait_acked(LDM_PROGRESS)?;
    let mut rounds = Vec::new();
    for k in 0..servers.len() {
        let started = Instant::now();
        let label = servers[k].label();
        servers[k].signal("USR2");
        servers[k]
            .wait_line(0, "Entering lame duck mode, stop accepting new clients", WAIT)
            .map_err(|e| format!("{label}: {e}"))?;
        let status = servers[k]
            .wait_exit(Duration::from_secs(45))
            .ok_or_else(|| format!("{label} did not exit in lame-duck mode"))?;
        if !status.success() {
            return Err(format!("{label} exited with {status:?}"));
        }
        let exited = started.elapsed();
        servers[k].restart();
        wait_mesh(servers, &format!("ldm{k}"))
            .map_err(|e| format!("after restarting {label}: {e}"))?;
        let target = py.acked + LDM_PROGRESS;
        py.wait_acked(target).map_err(|e| format!("after restarting {label}: {e}"))?;
        rounds.push(format!(
            "{label} exited after {exited:?}, back with traffic after {:?}",
            started.elapsed()
        ));
    }
    let result = py.finish()?;
    let missing = result["missing_count"].as_u64().unwrap_or(u64::MAX);
    let sent = result["sent"].as_u64().unwrap_or(0);
    if missing != 0 || sent < (servers.len() as u64 + 1) * LDM_PROGRESS {
        return Err(format!("nats-py: {result}"));
    }
    // The subscriber starts on s1 and moves on to the next URL each time, so it sits on every
    // lame duck in turn and is told by each (INFO `ldm`), whichever implementation it is.
    let told = result["events"]["sub_ldm"].as_u64().unwrap_or(0);
    if told < servers.len() as u64 {
        return Err(format!(
            "nats-py was told of {told} lame ducks, not {}: {result}",
            servers.len()
        ));
    }
    Ok(format!("{}; nats-py {result}", rounds.join("; ")))
}

/// `examples/cluster/s{1,2,3}.conf` (partial route lists, route credentials) form a full mesh,
/// all Strait and with nats-server in the middle; the files' fixed ports are swapped for free
/// ones so the test runs beside anything else.
#[test]
fn example_cluster() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/cluster");
    for kinds in [[S, S, S], [S, N, S]] {
        let members: Vec<Member> = kinds
            .iter()
            .enumerate()
            .map(|(i, &kind)| {
                let mut m = Member::new(kind, &format!("s{}", i + 1));
                m.text =
                    Some(std::fs::read_to_string(dir.join(format!("s{}.conf", i + 1))).unwrap());
                m
            })
            .collect();
        let mut fixed = Vec::new();
        for (i, m) in members.iter().enumerate() {
            fixed.push((format!("127.0.0.1:{}", 4222 + i), m.client_port.to_string()));
            fixed.push((format!("127.0.0.1:{}", 6222 + i), m.route_port.to_string()));
            fixed.push((format!("127.0.0.1:{}", 8222 + i), "-1".to_owned()));
        }
        let members: Vec<Member> = members
            .into_iter()
            .map(|mut m| {
                let mut text = m.text.take().unwrap_or_default();
                for (from, port) in &fixed {
                    text = text.replace(from.as_str(), &format!("127.0.0.1:{port}"));
                }
                m.text = Some(text);
                m
            })
            .collect();
        let servers = start_all(&members);
        ok!(wait_mesh(&servers, "example"), &servers);
    }
}

// ---------------------------------------------------------------------------------------------
// Wrong route password

/// How long a refused dialler is watched for re-dials.
const STORM_WINDOW: Duration = Duration::from_secs(3);
/// Most refused connections the acceptor may see in [`STORM_WINDOW`]: nats-server re-dials
/// an explicit route once a second, with up to 3 pooled connections and a `$SYS` one each time.
const STORM_MAX: usize = 30;

/// `dialer` lists `acceptor` with a wrong password: the route never forms, both logs say why,
/// and the dialler retries at a sane pace.
fn wrong_password(acceptor: Kind, dialer: Kind) -> Result<String, String> {
    let mut a = Member::new(acceptor, "pa");
    a.auth = Some(("ru".to_owned(), "good".to_owned()));
    a.flags = vec!["-D".to_owned()];
    let mut d = Member::new(dialer, "pd");
    d.routes = vec![a.route_url(Some(("ru", "bad")))];
    d.flags = vec!["-D".to_owned()];
    let servers = [RouteServer::start(&a), RouteServer::start(&d)];
    let (sa, sd) = (&servers[0], &servers[1]);
    let pair = format!("{} dialling {}", sd.label(), sa.label());
    let first = sa
        .wait_line(0, "authentication error - User \"ru\"", WAIT)
        .map_err(|e| format!("{pair}: acceptor: {e}\n{}", describe_all(&servers)))?;
    if !first.contains("[ERR]") {
        return Err(format!("{pair}: not an error: {first}"));
    }
    sd.wait_all(0, &["[ERR]", "Route Error 'Authorization Violation'"], WAIT)
        .map_err(|e| format!("{pair}: dialler: {e}\n{}", describe_all(&servers)))?;
    let (ma, md) = (sa.mark(), sd.mark());
    // A measurement, not a synchronisation: how many re-dials fit in the window.
    std::thread::sleep(STORM_WINDOW);
    let refused = sa.lines_with(ma, &["authentication error"]).len();
    let dials = sd.lines_with(md, &["Trying to connect to route on"]).len();
    // Both implementations log `Registering remote route` on the dialling side when the
    // acceptor's INFO arrives, before its -ERR does; the acceptor never may.
    let registered = sa.lines_with(0, &["Registering remote route"]);
    if !registered.is_empty() {
        return Err(format!("{pair}: a route formed: {registered:?}\n{}", describe_all(&servers)));
    }
    if refused > STORM_MAX || dials > STORM_MAX {
        return Err(format!(
            "{pair}: dial storm: {refused} refused connections and {dials} dials in {STORM_WINDOW:?}"
        ));
    }
    if refused == 0 || dials == 0 {
        return Err(format!(
            "{pair}: the explicit route is not retried ({refused} refused, {dials} dials in {STORM_WINDOW:?})\n{}",
            describe_all(&servers)
        ));
    }
    if sa.kind() == N {
        let routes = sa.monitor("/routez")?["num_routes"].as_u64();
        if routes != Some(0) {
            return Err(format!("{}: /routez num_routes {routes:?}", sa.label()));
        }
    }
    Ok(format!("{pair}: {refused} refused, {dials} dials in {STORM_WINDOW:?}"))
}

/// Runs `pairs` of [`wrong_password`] in parallel threads.
fn wrong_passwords(pairs: &[(Kind, Kind)]) {
    let handles: Vec<_> =
        pairs.iter().map(|&(a, d)| std::thread::spawn(move || wrong_password(a, d))).collect();
    let mut failures = BTreeMap::new();
    for (h, (a, d)) in handles.into_iter().zip(pairs) {
        match h.join().expect("thread") {
            Ok(line) => eprintln!("{line}"),
            Err(e) => {
                failures.insert(format!("{} ← {}", a.label(), d.label()), e);
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Every pair, both ways. nats-server 2.15.1 re-dials a peer that declines route pooling at
/// once when the route is refused (thousands of dials a second); Strait pools, so it gets
/// nats-server's one attempt per pool slot and second.
#[test]
fn wrong_route_password_is_refused() {
    wrong_passwords(&[(S, S), (S, N), (N, S), (N, N)]);
}
