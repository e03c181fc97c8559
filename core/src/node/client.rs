//! What a client's frames do to the node: handshake, subscriptions, publishes, keep-alive.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rand_core::RngCore;

use super::client_log::{self, Arg, Op};
use super::router::{self, Effect, Origin};
use super::{Event, LogLevel, Node, SubKey, Subscription, auth, gateway, login};
use crate::account::AccountId;
use crate::error::{ClientError, CloseReason, GoQuoted};
use crate::hash;
use crate::link::client::{ClientState, ClientTimer, KeepAlive, TimerTable, first_ping_delay};
use crate::link::{ClientLink, Link, Outbox};
use crate::node::LinkId;
use crate::permissions::{ClientPermissions, Permissions};
use crate::proto::client::{ClientOp, Message, Parser};
use crate::proto::encode;
use crate::proto::json::{self, ConnectOptions};
use crate::subject;

/// The RTT is re-measured with a PING at least this often even on a busy connection.
const RTT_MAX_AGE: Duration = Duration::from_secs(3600);

/// Reply prefixes a client may not use (service-import replies, JetStream acks, gateway
/// routed replies).
const RESERVED_REPLY_PREFIXES: [&[u8]; 3] = [b"_R_.", b"$JS.ACK.", b"_GR_."];

/// The gateway routed-reply prefix; clients may not publish to it.
const GATEWAY_REPLY_PREFIX: &[u8] = b"_GR_.";

/// The queue group reserved for the server's own subscriptions (nats-server `sysGroup`); no
/// client may use it.
const SYS_QUEUE: &[u8] = b"_sys_";

pub(super) fn accept(node: &mut Node, now: Instant, peer: Option<SocketAddr>) -> LinkId {
    let cid = node.next_cid;
    node.next_cid += 1;
    node.totals.total_connections += 1;
    let mut timers = TimerTable::default();
    timers.set(ClientTimer::Ping, now + node.config.ping_interval);
    if node.config.auth.required() {
        timers.set(ClientTimer::Auth, now + node.config.auth_timeout);
    }
    // HPUB is refused until CONNECT negotiates headers.
    let mut parser = Parser::new(node.config.limits);
    parser.set_headers(false);
    let mut link = ClientLink {
        cid,
        peer,
        started: now,
        rtt: None,
        counters: Default::default(),
        state: ClientState::ExpectConnect,
        parser,
        opts: ConnectOptions::default(),
        headers: false,
        account: AccountId(0),
        sids: hash::map(node.rng.next_u64()),
        outbox: Outbox::default(),
        timers,
        keepalive: KeepAlive {
            outstanding: 0,
            last_activity: now,
            rtt_measured: None,
            ping_sent: None,
        },
        connect_info_due: false,
        close_reason: None,
        log_label: None,
        transmit_queued: false,
        gateway_replies: None,
        login: None,
        account_counted: false,
        max_subscriptions: None,
        perms: None,
    };
    let mut info = node.client_info(cid, peer);
    if node.config.auth.needs_nonce() {
        info.nonce = auth::nonce(&mut node.rng);
        link.login_mut().nonce = Some(info.nonce.as_str().into());
    }
    encode::info(link.outbox.buf(), &info.to_json());
    let id = node.links.insert(Link::Client(Box::new(link)));
    client_log::log_client(node, id, LogLevel::Debug, "Client connection created");
    // nats-server sends INFO before checking the connection limit, then the error. Routes
    // and gateways do not count.
    if node.links.clients() > node.config.max_connections {
        close(node, id, ClientError::MaxConnectionsExceeded);
    }
    node.wake(id);
    id
}

pub(super) fn handle_read(node: &mut Node, id: LinkId, now: Instant, buf: &mut BytesMut) {
    // Where this read's bytes start, for the position in a parser error line.
    let batch_len = buf.len();
    loop {
        let Some(Link::Client(c)) = node.links.get_mut(id) else {
            buf.clear();
            return;
        };
        if c.is_closing() {
            buf.clear();
            return;
        }
        // A CONNECT waits for its bcrypt comparison: the rest stays in `buf` until then.
        if c.login_pending() {
            break;
        }
        // While auth is pending every op must be CONNECT (or log in as `no_auth_user`);
        // nats-server decides on the first byte, before parsing the rest.
        if c.auth_pending()
            && c.parser.at_frame_start()
            && buf.first().is_some_and(|b| !matches!(b, b'C' | b'c'))
        {
            login::first_op_without_connect(node, id, now);
            continue;
        }
        match c.parser.parse(buf) {
            Ok(None) => break,
            Ok(Some(op)) => {
                if node.config.trace {
                    client_log::trace_op(node, id, &op);
                }
                process(node, id, now, op)
            }
            Err(e) => {
                let detail =
                    client_log::parse_error_detail(node, id, e, buf, batch_len - buf.len());
                close_with(node, id, ClientError::Parse(e), detail)
            }
        }
    }
    // Anything queued counts against max_pending, not only messages: a client that sends
    // PINGs and never reads its PONGs is a slow consumer too (nats-server `queueOutbound`).
    let max_pending = node.config.max_pending;
    if let Some(Link::Client(c)) = node.links.get(id)
        && !c.is_closing()
        && c.outbox.pending() > max_pending
    {
        close(node, id, ClientError::SlowConsumer);
    }
    node.wake(id);
}

pub(super) fn handle_timeout(node: &mut Node, id: LinkId, now: Instant) {
    let interval = node.config.ping_interval;
    let ping_max = node.config.ping_max;
    let Some(Link::Client(c)) = node.links.get_mut(id) else {
        return;
    };
    if c.is_closing() {
        return;
    }
    if c.timers.expired(ClientTimer::Auth, now) {
        close(node, id, ClientError::AuthenticationTimeout);
        return;
    }
    if !c.timers.expired(ClientTimer::Ping, now) {
        return;
    }
    c.timers.set(ClientTimer::Ping, now + interval);
    if node.config.debug {
        client_log::push(&mut node.events, c, LogLevel::Debug, "Client Ping Timer");
    }
    let ka = &mut c.keepalive;
    let need_rtt = ka.rtt_measured.is_none_or(|at| now.saturating_duration_since(at) > RTT_MAX_AGE);
    // An active client with a fresh RTT needs no PING (nats-server `processPingTimer`).
    let idle = now.saturating_duration_since(ka.last_activity);
    if idle < interval && !need_rtt {
        if node.config.debug {
            // Go's Duration.Round(time.Second): halves round away from zero.
            let secs = (idle + Duration::from_millis(500)).as_secs();
            let text = format_args!(
                "Delaying PING due to remote client data or ping {} ago",
                client_log::go_seconds(secs)
            );
            client_log::push(&mut node.events, c, LogLevel::Debug, text);
        }
        return;
    }
    if ka.outstanding + 1 > ping_max {
        close(node, id, ClientError::StaleConnection);
        return;
    }
    ka.outstanding += 1;
    ka.ping_sent.get_or_insert(now);
    c.outbox.buf().extend_from_slice(encode::PING);
    if node.config.trace {
        client_log::trace_out(&mut node.events, c, "PING");
    }
    node.wake(id);
}

/// Drop the link and everything it owns.
pub(super) fn remove(node: &mut Node, id: LinkId) {
    if let Some(Link::Client(c)) = node.links.get(id)
        && !c.is_closing()
    {
        // Gone without a close (the driver's contract is broken or the peer vanished): the
        // log still gets its closed line.
        client_log::log_client(
            node,
            id,
            LogLevel::Debug,
            "Client connection closed: Client Closed",
        );
    }
    remove_subscriptions(node, id);
    if let Some(Link::Client(c)) = node.links.remove(id) {
        login::release(node, &c);
    }
}

/// Stop the link: queue the error answer, drop its subscriptions so nothing more is queued to
/// it, and tell the driver.
pub(super) fn close(node: &mut Node, id: LinkId, reason: ClientError) {
    close_with(node, id, reason, None);
}

/// [`close`], with the text of the cause's log line when the cause alone does not give it
/// (see [`client_log::cause_line`]).
pub(super) fn close_with(node: &mut Node, id: LinkId, reason: ClientError, detail: Option<String>) {
    let Some(Link::Client(c)) = node.links.get_mut(id) else {
        return;
    };
    if c.is_closing() {
        return;
    }
    match reason {
        ClientError::SlowConsumer => node.totals.slow_consumers += 1,
        ClientError::StaleConnection => node.totals.stale_connections += 1,
        _ => {}
    }
    // The cause's own line, the traced -ERR and the closed line, in nats-server's order.
    let line = client_log::cause_line(&reason, node.config.max_pending, detail)
        .filter(|(level, ..)| client_log::enabled(&node.config, *level));
    let log_at = |node: &mut Node, order| {
        if let Some((level, at, text)) = &line
            && *at == order
        {
            client_log::log_client(node, id, *level, text);
        }
    };
    log_at(node, client_log::Order::BeforeErr);
    let Some(Link::Client(c)) = node.links.get_mut(id) else {
        return;
    };
    let answer = reason.answer();
    if let Some(text) = &answer.err {
        encode::err(c.outbox.buf(), text);
        // nats-server queues the stale-connection -ERR without tracing it.
        if node.config.trace && reason != ClientError::StaleConnection {
            client_log::trace_err(&mut node.events, c, text);
        }
    }
    log_at(node, client_log::Order::AfterErr);
    if let Some(state) = reason.closed_state() {
        let text = format_args!("Client connection closed: {state}");
        client_log::log_client(node, id, LogLevel::Debug, text);
    }
    log_at(node, client_log::Order::AfterClosed);
    if reason == ClientError::MaxAccountConnectionsExceeded {
        // nats-server's read loop logs the error CONNECT returned once more.
        log_at(node, client_log::Order::AfterErr);
    }
    let Some(Link::Client(c)) = node.links.get_mut(id) else {
        return;
    };
    if !answer.flush {
        c.outbox.discard();
    }
    c.state = ClientState::Closing;
    c.timers = TimerTable::default();
    c.close_reason = Some(reason.clone());
    node.events.push_back(Event::Close {
        link: id,
        reason: CloseReason::Client(reason),
        flush: answer.flush,
    });
    node.apply(Effect::DropSubscriptions(id));
}

fn process(node: &mut Node, id: LinkId, now: Instant, op: ClientOp) {
    match op {
        ClientOp::Connect(json) => connect(node, id, now, &json),
        ClientOp::Info(json) => {
            if let Err(e) = json::check_client_info(&json) {
                close_with(node, id, ClientError::BadClientInfo, Some(e.0));
            }
        }
        ClientOp::Pub(p) => publish(node, id, now, p.message(), false),
        ClientOp::Hpub(p) => publish(node, id, now, p.message(), true),
        ClientOp::Sub { subject, queue, sid } => subscribe(node, id, now, subject, queue, sid),
        ClientOp::Unsub { sid, max } => unsubscribe(node, id, now, sid, max),
        ClientOp::Ping => ping(node, id, now),
        ClientOp::Pong => {
            if let Some(Link::Client(c)) = node.links.get_mut(id) {
                c.keepalive.outstanding = 0;
                if let Some(sent) = c.keepalive.ping_sent.take() {
                    c.keepalive.rtt_measured = Some(now);
                    c.rtt = Some(now.saturating_duration_since(sent));
                }
            }
        }
        ClientOp::Ok => {}
        ClientOp::Err(text) => {
            let detail = format!("Client Error {}", String::from_utf8_lossy(&text));
            close_with(node, id, ClientError::ClientSentError, Some(detail))
        }
    }
}

fn connect(node: &mut Node, id: LinkId, now: Instant, json: &[u8]) {
    let first_ping = first_ping_delay(node.config.ping_interval, node.rng.next_u64());
    let Some(Link::Client(c)) = node.links.get_mut(id) else {
        return;
    };
    // Like nats-server: the auth timer stops and the short first ping is armed before the
    // JSON is even decoded.
    c.timers.stop(ClientTimer::Auth);
    c.timers.set(ClientTimer::Ping, now + first_ping);
    c.keepalive.rtt_measured = Some(now);
    // A second CONNECT is decoded over the first one's options, as Go's json.Unmarshal does
    // into nats-server's existing struct.
    let decoded = if c.state == ClientState::Established {
        let mut opts = c.opts.clone();
        opts.merge_json(json).map(|()| opts)
    } else {
        ConnectOptions::from_json(json)
    };
    let opts = match decoded {
        Ok(opts) => opts,
        Err(e) => return close_with(node, id, ClientError::BadConnect, Some(e.0)),
    };
    login::connect(node, id, now, opts);
}

/// The rest of CONNECT once the client is logged in as a user with `perms` and bound to
/// `account`; `answer` is false
/// for a `no_auth_user` login by a first op, which has no CONNECT to answer `+OK` to.
pub(super) fn established(
    node: &mut Node,
    id: LinkId,
    _now: Instant,
    opts: ConnectOptions,
    account: AccountId,
    answer: bool,
    perms: Option<Arc<Permissions>>,
) {
    if opts.account.as_deref().is_some_and(|a| !a.is_empty()) || opts.new_account {
        return close(node, id, ClientError::AuthorizationViolation);
    }
    let headers = node.config.headers && opts.headers;
    // Like nats-server's RegisterUser: every successful CONNECT sets the permissions afresh.
    let perms_seed = if perms.is_some() { node.rng.next_u64() } else { 0 };
    let Some(Link::Client(c)) = node.links.get_mut(id) else {
        return;
    };
    if c.state == ClientState::ExpectConnect {
        let name = &node.accounts[account.0 as usize].name;
        c.log_label = client_log::connect_label(&opts, name);
    }
    c.perms = perms.map(|p| Box::new(ClientPermissions::new(p, perms_seed)));
    let rebind = c.account != account && !c.sids.is_empty();
    c.account = account;
    c.headers = headers;
    c.parser.set_headers(headers);
    let bad = if !(0..=1).contains(&opts.protocol) {
        Some(ClientError::InvalidClientProtocol)
    } else if opts.no_responders && !headers {
        Some(ClientError::NoRespondersRequiresHeaders)
    } else {
        None
    };
    if c.state == ClientState::ExpectConnect {
        c.state = ClientState::Established;
        c.connect_info_due = opts.protocol >= 1;
    }
    c.opts = opts;
    if let Some(e) = bad {
        return close(node, id, e);
    }
    if answer && c.opts.verbose {
        c.outbox.buf().extend_from_slice(encode::OK);
        if node.config.trace {
            client_log::trace_out(&mut node.events, c, "OK");
        }
    }
    if rebind {
        // A second CONNECT that moves accounts drops the old account's subscriptions.
        remove_subscriptions(node, id);
    }
}

fn publish(node: &mut Node, id: LinkId, now: Instant, p: Message<'_>, hpub: bool) {
    let Some(Link::Client(c)) = node.links.get_mut(id) else {
        return;
    };
    if hpub && !c.headers {
        return close(node, id, ClientError::HeadersNotNegotiated);
    }
    c.keepalive.last_activity = now;
    c.counters.in_msgs += 1;
    c.counters.in_bytes += p.payload.len() as u64;
    node.totals.in_msgs += 1;
    node.totals.in_bytes += p.payload.len() as u64;
    if c.opts.pedantic && !subject::is_valid_literal(p.subject) {
        // nats-server answers but still routes the message.
        let text = ClientError::InvalidPublishSubject.answer().err;
        encode::err(c.outbox.buf(), text.as_deref().unwrap_or_default());
        if node.config.trace {
            client_log::trace_err(&mut node.events, c, text.as_deref().unwrap_or_default());
        }
    }
    if node.config.trace {
        // The payload is traced once it has arrived, after the control line's checks.
        if let Some(line) = client_log::payload("<<-", p.payload, p.header_len, &node.config) {
            client_log::push(&mut node.events, c, LogLevel::Trace, line);
        }
    }
    // The order of nats-server `processInboundClientMsg`.
    if p.subject.starts_with(GATEWAY_REPLY_PREFIX)
        || c.perms.as_deref_mut().is_some_and(|perms| !perms.publish_allowed(p.subject, now))
    {
        send_err(node, id, &ClientError::PublishViolation(Bytes::copy_from_slice(p.subject)));
        let text = format_args!("Publish Violation - Subject {}", GoQuoted(p.subject));
        return client_log::log_client(node, id, LogLevel::Error, text);
    }
    if let Some(reply) = p.reply
        && RESERVED_REPLY_PREFIXES.iter().any(|prefix| reply.starts_with(prefix))
    {
        send_err(node, id, &ClientError::ReplyViolation(Bytes::copy_from_slice(reply)));
        let text = format_args!("Publish Violation - Reply {}", GoQuoted(reply));
        return client_log::log_client(node, id, LogLevel::Error, text);
    }
    if c.opts.verbose {
        c.outbox.buf().extend_from_slice(encode::OK);
        if node.config.trace {
            client_log::trace_out(&mut node.events, c, "OK");
        }
    }
    let account = c.account;
    router::route(node, now, Origin::Client(id), account, &p);
}

fn subscribe(
    node: &mut Node,
    id: LinkId,
    now: Instant,
    subject: Bytes,
    queue: Option<Bytes>,
    sid: Bytes,
) {
    let Some(Link::Client(c)) = node.links.get_mut(id) else {
        return;
    };
    c.keepalive.last_activity = now;
    let q = queue.as_deref();
    if c.perms.as_deref_mut().is_some_and(|perms| !perms.subscribe_allowed(&subject, q))
        || q == Some(SYS_QUEUE)
    {
        return subscribe_violation(node, id, subject, queue, &sid);
    }
    let verbose = c.opts.verbose;
    // A reused sid is ignored, the old subscription kept (nats-server behaviour).
    if !c.sids.contains_key(&sid[..]) {
        if c.max_subscriptions.is_some_and(|max| c.sids.len() as u64 >= max) {
            // nats-server logs the error before it answers.
            let text = "maximum subscriptions exceeded";
            client_log::log_client(node, id, LogLevel::Error, text);
            send_err(node, id, &ClientError::MaxSubscriptionsExceeded);
            return;
        }
        let account = c.account;
        // Owned copies: a slice would pin the whole read buffer for the subscription's life.
        let sub = Subscription::new(id, account, &subject, queue.as_deref(), &sid, now);
        let key = node.alloc_sub(sub);
        let sublist = &mut node.accounts[account.0 as usize].sublist;
        if sublist.insert(&subject, queue.as_deref(), key).is_err() {
            node.free_sub(key);
            send_err(node, id, &ClientError::InvalidSubject);
            return;
        }
        if let Some(Link::Client(c)) = node.links.get_mut(id) {
            c.sids.insert(Box::from(&sid[..]), key);
        }
        gateway::interest_added(node, account, &subject, queue.as_deref());
        crate::route::local_changed(node, account, &subject, queue.as_deref(), true);
    }
    if verbose && let Some(Link::Client(c)) = node.links.get_mut(id) {
        c.outbox.buf().extend_from_slice(encode::OK);
        if node.config.trace {
            client_log::trace_out(&mut node.events, c, "OK");
        }
    }
}

fn unsubscribe(node: &mut Node, id: LinkId, now: Instant, sid: Bytes, max: Option<u64>) {
    let Some(Link::Client(c)) = node.links.get_mut(id) else {
        return;
    };
    c.keepalive.last_activity = now;
    if c.opts.verbose {
        c.outbox.buf().extend_from_slice(encode::OK);
        if node.config.trace {
            client_log::trace_out(&mut node.events, c, "OK");
        }
    }
    let Some(&key) = c.sids.get(&sid[..]) else {
        return;
    };
    let Some(sub) = node.subs[key.slot()].as_mut() else {
        return;
    };
    match max {
        // The limit counts every delivery since the subscription was made, not "n more".
        Some(max) if max > sub.delivered => sub.max = max,
        _ => unsubscribe_key(node, key),
    }
}

fn ping(node: &mut Node, id: LinkId, now: Instant) {
    let Some(Link::Client(c)) = node.links.get_mut(id) else {
        return;
    };
    c.keepalive.last_activity = now;
    c.outbox.buf().extend_from_slice(encode::PONG);
    if node.config.trace {
        client_log::trace_out(&mut node.events, c, "PONG");
    }
    if c.state == ClientState::Established && std::mem::take(&mut c.connect_info_due) {
        let (cid, peer, account) = (c.cid, c.peer, c.account);
        let mut info = node.client_info(cid, peer);
        info.connect_info = true;
        info.remote_account = node.accounts[account.0 as usize].name.clone();
        let json = info.to_json();
        if let Some(Link::Client(c)) = node.links.get_mut(id) {
            encode::info(c.outbox.buf(), &json);
        }
    }
}

/// Refuse a SUB: `-ERR` and nats-server's log line.
fn subscribe_violation(
    node: &mut Node,
    id: LinkId,
    subject: Bytes,
    queue: Option<Bytes>,
    sid: &[u8],
) {
    let (s, sid) = (GoQuoted(&subject), String::from_utf8_lossy(sid));
    let text = match &queue {
        None => format!("Subscription Violation - Subject {s}, SID {sid}"),
        Some(q) => {
            format!("Subscription Violation - Subject {s}, Queue: {}, SID {sid}", GoQuoted(q))
        }
    };
    send_err(node, id, &ClientError::SubscribeViolation { subject: subject.clone(), queue });
    client_log::log_client(node, id, LogLevel::Error, text);
}

/// Queue a keep-open `-ERR` (traced).
fn send_err(node: &mut Node, id: LinkId, err: &ClientError) {
    let Some(Link::Client(c)) = node.links.get_mut(id) else {
        return;
    };
    if let Some(text) = err.answer().err {
        encode::err(c.outbox.buf(), &text);
        if node.config.trace {
            client_log::trace_err(&mut node.events, c, &text);
        }
    }
}

/// Remove one subscription from its sublist, its link's sid table and the node.
pub(super) fn unsubscribe_key(node: &mut Node, key: SubKey) {
    let Some(sub) = node.free_sub(key) else {
        return;
    };
    let sublist = &mut node.accounts[sub.account.0 as usize].sublist;
    sublist.remove(sub.subject(), sub.queue(), key);
    if let Some(Link::Client(c)) = node.links.get_mut(sub.link) {
        c.sids.remove(sub.sid());
        // nats-server skips the unsubscribes of connections it closes at shutdown.
        if node.config.trace && c.close_reason != Some(ClientError::ServerShutdown) {
            let op = Op { dir: "<->", name: "DELSUB", args: &[Arg::Bytes(sub.sid())] };
            client_log::push(&mut node.events, c, LogLevel::Trace, op);
        }
    }
    gateway::interest_removed(node, sub.account, sub.subject(), sub.queue());
    crate::route::local_changed(node, sub.account, sub.subject(), sub.queue(), false);
}

pub(super) fn remove_subscriptions(node: &mut Node, id: LinkId) {
    let Some(Link::Client(c)) = node.links.get_mut(id) else {
        return;
    };
    let keys: Vec<SubKey> = c.sids.drain().map(|(_, k)| k).collect();
    for key in keys {
        unsubscribe_key(node, key);
    }
}

#[cfg(test)]
pub(crate) fn test_link() -> Link {
    let now = Instant::now();
    Link::Client(Box::new(ClientLink {
        cid: 1,
        peer: None,
        started: now,
        rtt: None,
        counters: Default::default(),
        state: ClientState::ExpectConnect,
        parser: Parser::new(Default::default()),
        opts: ConnectOptions::default(),
        headers: false,
        account: AccountId(0),
        sids: hash::map(0),
        outbox: Outbox::default(),
        timers: TimerTable::default(),
        keepalive: KeepAlive {
            outstanding: 0,
            last_activity: now,
            rtt_measured: None,
            ping_sent: None,
        },
        connect_info_due: false,
        close_reason: None,
        log_label: None,
        transmit_queued: false,
        gateway_replies: None,
        login: None,
        account_counted: false,
        max_subscriptions: None,
        perms: None,
    }))
}
