//! The reference Rust client (async-nats 0.51) against strait, and the same scenario against
//! nats-server 2.15.1.
//!
//! Every scenario is one `async fn(Kind)` that starts its own server; `scenarios!` turns it into
//! two tests, `<scenario>::nats_server` and `<scenario>::strait`. A scenario that fails against
//! nats-server is a bug in the scenario, one that fails only against strait is a bug in strait.
//!
//! Ordering without sleeps: `Client::flush` is a PING/PONG round trip, so after the publisher's
//! flush the server has processed every publish, and after the subscriber's flush every message
//! routed to that subscriber has been read by its client and handed to the subscription channels
//! (the server writes a connection's output in order). `now_or_never` then tells "nothing more
//! was delivered" without waiting for a timeout.

mod common;

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use async_nats::{
    Client, ConnectErrorKind, ConnectOptions, HeaderMap, Message, PublishErrorKind,
    RequestErrorKind, Subscriber,
};
use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

use common::{Kind, Server};

/// Bound for any single step (connect, flush, one message).
const STEP: Duration = Duration::from_secs(5);
/// Bound for a whole scenario.
const SCENARIO: Duration = Duration::from_secs(30);
/// The default `max_payload` of both servers.
const MAX_PAYLOAD: usize = 1024 * 1024;

/// Generates `mod <name> { nats_server, strait }` tests around `async fn <name>(Kind)`.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn nats_server() {
                super::run(super::common::Kind::NatsServer, super::$name).await;
            }

            #[tokio::test]
            async fn strait() {
                super::run(super::common::Kind::Strait, super::$name).await;
            }
        }
    )*};
}

scenarios!(
    pub_sub,
    wildcards,
    queue_group,
    request_reply,
    headers,
    no_responders,
    unsubscribe_after,
    user_password_auth,
    token_auth,
    max_payload,
    ping_pong,
    no_echo,
    fan_out,
    publish_without_subscribers,
);

async fn run<F, Fut>(kind: Kind, scenario: F)
where
    F: FnOnce(Kind) -> Fut,
    Fut: Future<Output = ()>,
{
    if timeout(SCENARIO, scenario(kind)).await.is_err() {
        panic!("{}: scenario did not finish within {SCENARIO:?}", kind.label());
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/// A message published on one connection reaches a subscriber on another, intact.
async fn pub_sub(kind: Kind) {
    let server = Server::start(kind);
    let sub_client = connect(&server).await;
    let pub_client = connect(&server).await;
    let mut sub = sub_client.subscribe("greet.joe").await.unwrap();
    sync(&sub_client).await;

    for i in 0..10 {
        let payload = format!("hello {i}");
        pub_client.publish("greet.joe", payload.into()).await.unwrap();
    }
    pub_client.publish("greet.joe", Bytes::new()).await.unwrap();
    sync(&pub_client).await;
    for i in 0..10 {
        let msg = next(&mut sub).await;
        assert_eq!(msg.subject.as_str(), "greet.joe");
        assert_eq!(msg.payload, format!("hello {i}").as_bytes());
        assert!(msg.reply.is_none());
        assert!(msg.headers.is_none());
    }
    assert!(next(&mut sub).await.payload.is_empty(), "empty payload");
    assert_nothing_more(&sub_client, &mut [&mut sub]).await;
}

/// `*` matches one token, `>` one or more; the delivered subject is the published one.
async fn wildcards(kind: Kind) {
    let server = Server::start(kind);
    let client = connect(&server).await;
    let mut star = client.subscribe("a.*.c").await.unwrap();
    let mut gt = client.subscribe("a.>").await.unwrap();
    let mut lone_gt = client.subscribe(">").await.unwrap();
    sync(&client).await;

    let publisher = connect(&server).await;
    for subject in ["a.b.c", "a.b", "a.b.c.d", "a", "x.b.c", "a.bb.c"] {
        publisher.publish(subject, subject.into()).await.unwrap();
    }
    sync(&publisher).await;
    sync(&client).await;

    assert_eq!(drain_now(&mut star), ["a.b.c", "a.bb.c"]);
    assert_eq!(drain_now(&mut gt), ["a.b.c", "a.b", "a.b.c.d", "a.bb.c"]);
    assert_eq!(drain_now(&mut lone_gt), ["a.b.c", "a.b", "a.b.c.d", "a", "x.b.c", "a.bb.c"]);
}

/// Each message to a queue group goes to exactly one member; with many messages every member
/// gets some.
async fn queue_group(kind: Kind) {
    const N: usize = 600;
    let server = Server::start(kind);
    let mut members = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..3 {
        let c = connect(&server).await;
        members.push(c.queue_subscribe("work", "workers".into()).await.unwrap());
        sync(&c).await;
        clients.push(c);
    }
    // A plain subscriber on the same subject still gets every message.
    let watcher_client = connect(&server).await;
    let mut watcher = watcher_client.subscribe("work").await.unwrap();
    sync(&watcher_client).await;

    let publisher = connect(&server).await;
    for i in 0..N {
        publisher.publish("work", i.to_string().into()).await.unwrap();
    }
    sync(&publisher).await;

    let mut seen = HashSet::new();
    let mut counts = Vec::new();
    for (member, client) in members.iter_mut().zip(&clients) {
        sync(client).await;
        let got = drain_now(member);
        counts.push(got.len());
        for m in got {
            assert!(seen.insert(m.clone()), "message {m} delivered to two members");
        }
    }
    assert_eq!(seen.len(), N, "every message reaches the group once (per member: {counts:?})");
    assert!(counts.iter().all(|&c| c > 0), "every member gets some: {counts:?}");
    sync(&watcher_client).await;
    assert_eq!(drain_now(&mut watcher).len(), N);
}

/// `Client::request` gets the responder's reply, for several requests in a row and in parallel.
async fn request_reply(kind: Kind) {
    let server = Server::start(kind);
    let responder = connect(&server).await;
    let mut service = responder.subscribe("svc.echo").await.unwrap();
    sync(&responder).await;
    let responder_task = tokio::spawn(async move {
        while let Some(req) = service.next().await {
            let reply = req.reply.expect("requests carry a reply subject");
            let mut answer = b"re: ".to_vec();
            answer.extend_from_slice(&req.payload);
            responder.publish(reply, answer.into()).await.unwrap();
        }
    });

    let requester = connect(&server).await;
    for i in 0..20 {
        let resp = timeout(STEP, requester.request("svc.echo", format!("q{i}").into()))
            .await
            .expect("request timed out")
            .unwrap();
        assert_eq!(resp.payload, format!("re: q{i}").as_bytes());
    }
    let parallel = (0..20).map(|i| {
        let requester = requester.clone();
        async move {
            let resp = requester.request("svc.echo", format!("p{i}").into()).await.unwrap();
            assert_eq!(resp.payload, format!("re: p{i}").as_bytes());
        }
    });
    timeout(STEP, futures_util::future::join_all(parallel))
        .await
        .expect("parallel requests timed out");
    responder_task.abort();
}

/// Headers (including repeated keys and an empty payload) arrive intact, on plain messages and
/// on requests and replies.
async fn headers(kind: Kind) {
    let server = Server::start(kind);
    let sub_client = connect(&server).await;
    let mut sub = sub_client.subscribe("hdr").await.unwrap();
    sync(&sub_client).await;

    let mut sent = HeaderMap::new();
    sent.insert("X-Trace", "abc-123");
    sent.append("X-Multi", "one");
    sent.append("X-Multi", "two");
    sent.insert("Content-Type", "text/plain; charset=utf-8");
    let pub_client = connect(&server).await;
    pub_client.publish_with_headers("hdr", sent.clone(), "body".into()).await.unwrap();
    pub_client.publish_with_headers("hdr", sent.clone(), Bytes::new()).await.unwrap();
    sync(&pub_client).await;

    let msg = next(&mut sub).await;
    assert_eq!(msg.payload, "body");
    assert_eq!(msg.headers.as_ref(), Some(&sent));
    let multi: Vec<_> = sent.get_all("X-Multi").map(|v| v.as_str()).collect();
    assert_eq!(multi, ["one", "two"]);
    let empty = next(&mut sub).await;
    assert!(empty.payload.is_empty());
    assert_eq!(empty.headers.as_ref(), Some(&sent));

    // Request and reply, both with headers.
    let mut service = sub_client.subscribe("hdr.svc").await.unwrap();
    sync(&sub_client).await;
    let responder = sub_client.clone();
    let task = tokio::spawn(async move {
        let req = service.next().await.expect("a request");
        let mut back = HeaderMap::new();
        back.insert("X-Seen", req.headers.as_ref().unwrap().get("X-Trace").unwrap().as_str());
        responder.publish_with_headers(req.reply.unwrap(), back, "ok".into()).await.unwrap();
        responder.flush().await.unwrap();
    });
    let resp = timeout(STEP, pub_client.request_with_headers("hdr.svc", sent, "q".into()))
        .await
        .expect("request timed out")
        .unwrap();
    assert_eq!(resp.payload, "ok");
    assert_eq!(resp.headers.unwrap().get("X-Seen").unwrap().as_str(), "abc-123");
    task.await.unwrap();
}

/// A request nobody listens to fails fast with the no-responders error (the 503 status), not a
/// timeout.
async fn no_responders(kind: Kind) {
    let server = Server::start(kind);
    let client = connect(&server).await;
    let err = timeout(Duration::from_secs(2), client.request("nobody.home", "?".into()))
        .await
        .expect("no-responders must fail fast, not wait for the request timeout")
        .expect_err("a request without responders must fail");
    assert_eq!(err.kind(), RequestErrorKind::NoResponders, "{err:?}");
    // The connection is still usable.
    sync(&client).await;
}

/// `unsubscribe_after(n)` delivers exactly n messages, then the subscription ends.
async fn unsubscribe_after(kind: Kind) {
    let server = Server::start(kind);
    let client = connect(&server).await;
    let mut sub = client.subscribe("limited").await.unwrap();
    sub.unsubscribe_after(3).await.unwrap();
    // A second subscriber shows the extra messages were published and routed.
    let mut other = client.subscribe("limited").await.unwrap();
    sync(&client).await;

    let publisher = connect(&server).await;
    for i in 0..8 {
        publisher.publish("limited", i.to_string().into()).await.unwrap();
    }
    sync(&publisher).await;
    sync(&client).await;
    for i in 0..3 {
        assert_eq!(next(&mut sub).await.payload, i.to_string().as_bytes());
    }
    let end = timeout(STEP, sub.next()).await.expect("subscription must end after 3");
    assert!(end.is_none(), "a 4th message was delivered: {end:?}");
    assert_eq!(drain_now(&mut other).len(), 8);
}

/// `--user a --pass b`: wrong or missing credentials are refused with an authorization error,
/// the right ones work.
async fn user_password_auth(kind: Kind) {
    let server = Server::start_with(kind, &["--user", "alice", "--pass", "s3cret"]);
    for opts in [
        ConnectOptions::new().user_and_password("alice".into(), "wrong".into()),
        ConnectOptions::new().user_and_password("mallory".into(), "s3cret".into()),
        ConnectOptions::new(),
    ] {
        assert_auth_refused(&server, opts).await;
    }
    let good = ConnectOptions::new().user_and_password("alice".into(), "s3cret".into());
    let client = connect_with(&server, good).await;
    round_trip(&client).await;
}

/// `--auth TOKEN`: a wrong token is refused, the right one works.
async fn token_auth(kind: Kind) {
    let server = Server::start_with(kind, &["--auth", "t0ken"]);
    assert_auth_refused(&server, ConnectOptions::new().token("nope".into())).await;
    assert_auth_refused(&server, ConnectOptions::new()).await;
    let client = connect_with(&server, ConnectOptions::new().token("t0ken".into())).await;
    round_trip(&client).await;
}

/// Payloads up to max_payload pass; one byte more is refused by async-nats itself, and by the
/// server (`-ERR 'Maximum Payload Violation'` and close) when sent over a raw socket.
async fn max_payload(kind: Kind) {
    let server = Server::start(kind);
    let client = connect(&server).await;
    assert_eq!(client.server_info().max_payload, MAX_PAYLOAD);
    let mut sub = client.subscribe("big").await.unwrap();
    sync(&client).await;

    client.publish("big", vec![7u8; MAX_PAYLOAD].into()).await.unwrap();
    sync(&client).await;
    let msg = next(&mut sub).await;
    assert_eq!(msg.payload.len(), MAX_PAYLOAD);
    assert!(msg.payload.iter().all(|&b| b == 7));

    let err = client
        .publish("big", vec![7u8; MAX_PAYLOAD + 1].into())
        .await
        .expect_err("async-nats refuses payloads over max_payload");
    assert_eq!(err.kind(), PublishErrorKind::MaxPayloadExceeded);

    // The same over a raw socket: the server must refuse it itself.
    let mut raw = TcpStream::connect(server.addr()).await.unwrap();
    let mut reader = BufReader::new(&mut raw);
    let mut info = String::new();
    timeout(STEP, reader.read_line(&mut info)).await.unwrap().unwrap();
    assert!(info.starts_with("INFO {"), "{info:?}");
    let over = MAX_PAYLOAD + 1;
    let frame = format!("CONNECT {{\"verbose\":false}}\r\nPUB big {over}\r\n");
    raw.write_all(frame.as_bytes()).await.unwrap();
    let mut rest = Vec::new();
    timeout(STEP, raw.read_to_end(&mut rest))
        .await
        .expect("the server must close the connection")
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&rest), "-ERR 'Maximum Payload Violation'\r\n");
}

/// The server answers PING. async-nats's connect itself waits for the PONG to its first PING;
/// then, with a 10 ms ping interval, the client keeps pinging for ~300 ms while traffic flows,
/// and would drop the connection (an `Event::Disconnected`) after two unanswered PINGs.
async fn ping_pong(kind: Kind) {
    let server = Server::start(kind);
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let opts = ConnectOptions::new().ping_interval(Duration::from_millis(10)).event_callback(
        move |event| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(event.to_string());
            }
        },
    );
    let client = connect_with(&server, opts).await;
    for _ in 0..30 {
        sync(&client).await;
        // Not synchronisation: lets ping ticks happen between round trips.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sync(&client).await;
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(event);
    }
    assert!(seen.iter().all(|e| e == "connected"), "unexpected client events: {seen:?}");
}

/// With `no_echo` a connection's own publishes are not delivered to its own subscriptions (but
/// others' are, and the other connections get it).
async fn no_echo(kind: Kind) {
    let server = Server::start(kind);
    let quiet = connect_with(&server, ConnectOptions::new().no_echo()).await;
    let mut own = quiet.subscribe("echo.test").await.unwrap();
    sync_no_echo(&quiet).await;
    let loud = connect(&server).await;
    let mut loud_sub = loud.subscribe("echo.test").await.unwrap();
    sync(&loud).await;

    quiet.publish("echo.test", "from quiet".into()).await.unwrap();
    sync_no_echo(&quiet).await;
    assert_eq!(next(&mut loud_sub).await.payload, "from quiet");
    // Messages from others still reach the no-echo connection.
    loud.publish("echo.test", "from loud".into()).await.unwrap();
    sync(&loud).await;
    sync_no_echo(&quiet).await;
    assert_eq!(drain_now(&mut own), ["from loud"]);
    // And a default (echo on) connection gets its own message.
    assert_eq!(drain_now(&mut loud_sub), ["from loud"]);
}

/// Many subscribers (several per connection, several connections) each get every message.
async fn fan_out(kind: Kind) {
    const CONNS: usize = 5;
    const SUBS_PER_CONN: usize = 20;
    const MSGS: usize = 50;
    let server = Server::start(kind);
    let mut clients = Vec::new();
    let mut subs = Vec::new();
    for c in 0..CONNS {
        let client = connect(&server).await;
        for s in 0..SUBS_PER_CONN {
            // Mix literal and wildcard subscriptions that all match.
            let subject = match s % 3 {
                0 => "fan.out.x",
                1 => "fan.*.x",
                _ => "fan.>",
            };
            subs.push((c, client.subscribe(subject).await.unwrap()));
        }
        sync(&client).await;
        clients.push(client);
    }
    let publisher = connect(&server).await;
    for i in 0..MSGS {
        publisher.publish("fan.out.x", i.to_string().into()).await.unwrap();
    }
    sync(&publisher).await;
    for client in &clients {
        sync(client).await;
    }
    let want: Vec<String> = (0..MSGS).map(|i| i.to_string()).collect();
    for (c, sub) in &mut subs {
        assert_eq!(drain_now(sub), want, "subscriber on connection {c}");
    }
}

/// Publishing to a subject nobody subscribes to is silently dropped; the connection stays
/// healthy and later messages flow.
async fn publish_without_subscribers(kind: Kind) {
    let server = Server::start(kind);
    let client = connect(&server).await;
    for i in 0..100 {
        client.publish("void.x", i.to_string().into()).await.unwrap();
    }
    client.publish_with_reply("void.y", "void.reply", "r".into()).await.unwrap();
    sync(&client).await;
    let mut sub = client.subscribe("void.after").await.unwrap();
    sync(&client).await;
    client.publish("void.after", "alive".into()).await.unwrap();
    assert_eq!(next(&mut sub).await.payload, "alive");
    assert_eq!(client.connection_state(), async_nats::connection::State::Connected);
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// What every scenario adds to its options: a subscription buffer larger than any scenario's
/// burst, a bounded connect, and at most one reconnect attempt (a dropped connection must surface
/// as a failure, not be papered over).
fn harden(opts: ConnectOptions) -> ConnectOptions {
    opts.subscription_capacity(1 << 16).connection_timeout(STEP).max_reconnects(Some(1))
}

async fn connect(server: &Server) -> Client {
    connect_with(server, ConnectOptions::new()).await
}

async fn connect_with(server: &Server, opts: ConnectOptions) -> Client {
    let url = server.url();
    match timeout(STEP, harden(opts).connect(&url)).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => panic!(
            "{}: connect to {url}: {e:?}\n  server log:\n{}",
            server.kind().label(),
            server.log_tail()
        ),
        Err(_) => panic!("{}: connect to {url} timed out", server.kind().label()),
    }
}

async fn assert_auth_refused(server: &Server, opts: ConnectOptions) {
    match timeout(STEP, harden(opts).connect(server.url())).await {
        Ok(Ok(_)) => panic!("{}: bad credentials were accepted", server.kind().label()),
        Ok(Err(e)) => assert_eq!(e.kind(), ConnectErrorKind::AuthorizationViolation, "{e:?}"),
        Err(_) => panic!("{}: refused connect must fail fast", server.kind().label()),
    }
}

/// A round trip through the server on `client`'s connection: subscribe to a fresh inbox,
/// publish to it, wait for the message. Afterwards the server has processed everything the
/// client sent before (SUBs are registered, PUBs routed), and everything the server queued for
/// the client before has been handed to the subscription channels.
///
/// (`Client::flush` only flushes async-nats's write buffer; it is no round trip. Connections
/// with `no_echo` cannot use this; see [`sync_no_echo`].)
async fn sync(client: &Client) {
    let inbox = client.new_inbox();
    let mut sub = client.subscribe(inbox.clone()).await.unwrap();
    client.publish(inbox, Bytes::new()).await.unwrap();
    timeout(STEP, client.flush()).await.expect("flush timed out").expect("flush failed");
    timeout(STEP, sub.next())
        .await
        .expect("sync: own message not echoed within 5 s")
        .expect("sync: subscription ended");
}

/// [`sync`] for a `no_echo` connection: a request to a subject nobody serves comes back as the
/// server's no-responders status on the same connection.
async fn sync_no_echo(client: &Client) {
    let err = timeout(STEP, client.request(client.new_inbox(), Bytes::new()))
        .await
        .expect("sync: no-responders status not received within 5 s")
        .expect_err("nobody serves a fresh inbox");
    assert_eq!(err.kind(), RequestErrorKind::NoResponders, "{err:?}");
}

async fn next(sub: &mut Subscriber) -> Message {
    timeout(STEP, sub.next())
        .await
        .expect("no message within 5 s")
        .expect("subscription ended early")
}

/// Takes every message already delivered to `sub` without waiting, as payload strings, leaving
/// out [`sync`]'s own messages (which a `>` subscription also sees).
fn drain_now(sub: &mut Subscriber) -> Vec<String> {
    let mut out = Vec::new();
    // `unconstrained`: tokio's cooperative budget would otherwise make the channel report
    // "pending" after 128 messages within one task poll.
    while let Some(Some(msg)) = tokio::task::unconstrained(sub.next()).now_or_never() {
        if !msg.subject.starts_with("_INBOX.") {
            out.push(String::from_utf8_lossy(&msg.payload).into_owned());
        }
    }
    out
}

async fn assert_nothing_more(client: &Client, subs: &mut [&mut Subscriber]) {
    sync(client).await;
    for sub in subs {
        let extra = drain_now(sub);
        assert!(extra.is_empty(), "unexpected extra messages: {extra:?}");
    }
}

/// Subscribe, publish, receive on one connection.
async fn round_trip(client: &Client) {
    let mut sub = client.subscribe("rt").await.unwrap();
    sync(client).await;
    client.publish("rt", "ping".into()).await.unwrap();
    assert_eq!(next(&mut sub).await.payload, "ping");
}
