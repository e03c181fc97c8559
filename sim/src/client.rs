//! A simulated NATS client: turmoil TCP, the core's server-frame parser, and a script.
//!
//! It behaves like a real client where it matters: CONNECT with `verbose:false`,
//! `headers:true`, `no_responders:true`; answers server PINGs; sends its own keep-alive PINGs
//! and drops a connection whose PONGs stop coming; reconnects with jittered back-off and
//! re-subscribes. Every SUB and UNSUB is followed by a PING, and its PONG is the barrier that
//! confirms the server has applied it. Everything it sends and receives is reported to the
//! [`Checker`](crate::invariants::Checker).

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::time::Duration;

use bytes::BytesMut;
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use strait_core::proto::from_server::{Limits, Message, Parser, ServerOp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{sleep, timeout};
use turmoil::net::TcpStream;
use turmoil::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::invariants::{MsgId, Publication, Shared, SubId};
use crate::reload::rotated_password;
use crate::topology::{ACCOUNTS, CLIENT_PORT};
use crate::workload::{Action, ClientSpec, INBOX_SID, ms, pick};

/// Keep-alive PING period of the client.
pub const KEEPALIVE: Duration = Duration::from_secs(1);
/// A PING unanswered this long means the connection is dead.
pub const STALE_AFTER: Duration = Duration::from_secs(3);
/// Bound on connecting and on receiving the INFO.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Bound on one write.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// Most outstanding PINGs (each SUB/UNSUB adds one): beyond that the connection is dropped.
const MAX_PINGS: usize = 1024;

/// Run client `spec` until its `stop_at`.
pub async fn run(spec: ClientSpec, shared: Shared) -> turmoil::Result {
    let mut c = Client {
        rng: ChaCha8Rng::seed_from_u64(spec.seed),
        host: spec.host(),
        spec,
        shared,
        epoch: 0,
        seq: 0,
        next_step: 0,
        subs: BTreeMap::new(),
        conn: None,
        reconnect_at: Duration::ZERO,
        relayed: std::collections::BTreeSet::new(),
        rotated_password: false,
    };
    c.main().await;
    Ok(())
}

/// Why a PING was sent: what its PONG confirms.
#[derive(Debug)]
enum Ping {
    /// These sids were subscribed.
    Subscribed(Vec<u32>),
    /// This sid was unsubscribed.
    Unsubscribed(u32),
    /// Keep-alive.
    KeepAlive,
}

#[derive(Debug)]
struct Conn {
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    buf: BytesMut,
    parser: Parser,
    /// Outstanding PINGs in send order, with their send time.
    pings: VecDeque<(Duration, Ping)>,
    /// Bytes to write at the end of this turn.
    out: BytesMut,
    last_keepalive: Duration,
    /// The server host it is connected to.
    server: String,
}

#[derive(Clone, Debug)]
struct Sub {
    subject: String,
    queue: Option<String>,
    respond: bool,
}

struct Client {
    spec: ClientSpec,
    host: String,
    shared: Shared,
    rng: ChaCha8Rng,
    /// Current (or last) connection number; 0 before the first.
    epoch: u32,
    /// Last sequence number used.
    seq: u64,
    next_step: usize,
    /// Subscriptions the client wants, re-made on every connection.
    subs: BTreeMap<u32, Sub>,
    conn: Option<Conn>,
    reconnect_at: Duration,
    /// Messages a relay client already re-published (each once, or it would loop).
    relayed: std::collections::BTreeSet<MsgId>,
    /// Log in with the rotated password (switched whenever a server turns the client away).
    rotated_password: bool,
}

impl Client {
    async fn main(&mut self) {
        // Every iteration waits for input or a deadline, and simulated time moves on, so the
        // loop ends at stop_at.
        loop {
            let now = self.now();
            if now >= self.spec.stop_at {
                if self.conn.take().is_some() {
                    self.shared.borrow_mut().epoch_ended(
                        (self.spec.id, self.epoch),
                        &self.host,
                        "stop",
                    );
                }
                return;
            }
            if self.conn.is_none() && now >= self.reconnect_at {
                self.connect().await;
                // CONNECT and the re-subscriptions go out at once, as a real client's do.
                self.flush().await;
            }
            let next_step =
                self.spec.script.get(self.next_step).map_or(self.spec.stop_at, |s| s.at);
            let mut wake = next_step.min(self.spec.stop_at);
            match &mut self.conn {
                None => {
                    wake = wake.min(self.reconnect_at.max(now));
                    sleep(wake.saturating_sub(now)).await;
                }
                Some(conn) => {
                    wake = wake.min(conn.last_keepalive + KEEPALIVE);
                    let read = tokio::select! {
                        biased;
                        r = conn.rd.read_buf(&mut conn.buf) => Some(r),
                        () = sleep(wake.saturating_sub(now)) => None,
                    };
                    match read {
                        Some(Ok(0)) => self.lost("eof"),
                        Some(Err(e)) => self.lost(&format!("read error: {e}")),
                        Some(Ok(_)) => self.process(),
                        None => {}
                    }
                }
            }
            self.run_due_steps();
            self.keepalive();
            self.flush().await;
        }
    }

    fn now(&self) -> Duration {
        self.shared.borrow().now()
    }

    async fn connect(&mut self) {
        let server = self.spec.servers[pick(&mut self.rng, self.spec.servers.len())].clone();
        let backoff = ms(&mut self.rng, 100, 400);
        let stream = match timeout(
            CONNECT_TIMEOUT,
            TcpStream::connect((server.as_str(), CLIENT_PORT)),
        )
        .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return self.connect_failed(&server, &e.to_string(), backoff),
            Err(_) => return self.connect_failed(&server, "connect timeout", backoff),
        };
        let (mut rd, wr) = stream.into_split();
        let mut buf = BytesMut::with_capacity(4096);
        let mut parser = Parser::new(Limits::default());
        // The server speaks first: INFO.
        let info = timeout(CONNECT_TIMEOUT, async {
            loop {
                match parser.parse(&mut buf) {
                    Ok(Some(ServerOp::Info(_))) => return Ok(()),
                    Ok(Some(op)) => return Err(format!("expected INFO, got {op:?}")),
                    Ok(None) => {}
                    Err(e) => return Err(format!("parse error {e:?}")),
                }
                match rd.read_buf(&mut buf).await {
                    Ok(0) => return Err("eof before INFO".to_owned()),
                    Ok(_) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        })
        .await;
        match info {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return self.connect_failed(&server, &e, backoff),
            Err(_) => return self.connect_failed(&server, "no INFO", backoff),
        }
        self.epoch += 1;
        let now = self.now();
        let (_, user, pass) = ACCOUNTS[self.spec.account];
        let rotated = rotated_password(self.spec.account);
        let pass = if self.rotated_password { rotated.as_str() } else { pass };
        let mut out = BytesMut::new();
        let _ = write!(
            out,
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"user\":\"{user}\",\"pass\":\"{pass}\",\
             \"name\":\"{}\",\"lang\":\"sim\",\"version\":\"0\",\"protocol\":1,\"headers\":true,\
             \"no_responders\":true}}\r\n",
            self.host
        );
        self.shared.borrow_mut().epoch_opened((self.spec.id, self.epoch), &self.host, &server);
        let mut conn = Conn {
            rd,
            wr,
            buf,
            parser,
            pings: VecDeque::new(),
            out,
            last_keepalive: now,
            server: server.clone(),
        };
        let sids: Vec<u32> = self.subs.keys().copied().collect();
        for (&sid, sub) in &self.subs {
            write_sub(&mut conn.out, sid, sub);
            self.shared.borrow_mut().sub_sent(
                (self.spec.id, self.epoch, sid),
                &sub.subject,
                sub.queue.as_deref(),
                self.spec.account,
                self.spec.cluster,
            );
        }
        conn.out.extend_from_slice(b"PING\r\n");
        conn.pings.push_back((now, Ping::Subscribed(sids)));
        self.conn = Some(conn);
        // Frames that came with the INFO.
        self.process();
    }

    fn connect_failed(&mut self, server: &str, why: &str, backoff: Duration) {
        self.shared
            .borrow_mut()
            .event(&self.host, format_args!("connect to {server} failed: {why}"));
        self.reconnect_at = self.now() + backoff;
    }

    /// The connection is gone: report it and schedule a reconnect.
    fn lost(&mut self, why: &str) {
        if self.conn.take().is_some() {
            self.shared.borrow_mut().epoch_ended((self.spec.id, self.epoch), &self.host, why);
            self.reconnect_at = self.now() + ms(&mut self.rng, 50, 300);
        }
    }

    /// Handle every complete frame in the read buffer.
    fn process(&mut self) {
        // Bounded by the bytes read: every op consumes at least one line.
        loop {
            let Some(conn) = &mut self.conn else { return };
            let op = match conn.parser.parse(&mut conn.buf) {
                Ok(Some(op)) => op,
                Ok(None) => return,
                Err(e) => {
                    let what = format!("unparsable server output: {e:?}");
                    self.shared.borrow_mut().violation(&self.host, what);
                    return self.lost("parse error");
                }
            };
            match op {
                ServerOp::Ping => conn.out.extend_from_slice(b"PONG\r\n"),
                ServerOp::Pong => {
                    let Some((_, ping)) = conn.pings.pop_front() else {
                        self.shared.borrow_mut().violation(&self.host, "PONG without PING".into());
                        continue;
                    };
                    let mut shared = self.shared.borrow_mut();
                    match ping {
                        Ping::Subscribed(sids) => {
                            for sid in sids {
                                shared.sub_confirmed((self.spec.id, self.epoch, sid));
                            }
                        }
                        Ping::Unsubscribed(sid) => {
                            shared.unsub_confirmed((self.spec.id, self.epoch, sid))
                        }
                        Ping::KeepAlive => {}
                    }
                }
                ServerOp::Msg(m) | ServerOp::Hmsg(m) => self.on_message(&m),
                ServerOp::Info(_) => {}
                ServerOp::Ok => {
                    self.shared.borrow_mut().violation(&self.host, "+OK with verbose off".into());
                }
                ServerOp::Err(text) => {
                    let text = String::from_utf8_lossy(&text).into_owned();
                    // The only errors a well-behaved client can get: its connection went stale
                    // or its CONNECT was delayed past the auth timeout by a fault.
                    if text == "'Authorization Violation'" {
                        // A reload rotated our password: log in with the other one next time.
                        let server = conn.server.clone();
                        self.rotated_password = !self.rotated_password;
                        self.shared.borrow_mut().turned_away(
                            &self.host,
                            &server,
                            self.spec.account,
                        );
                    } else if !matches!(
                        text.as_str(),
                        "'Stale Connection'" | "'Authentication Timeout'"
                    ) {
                        self.shared.borrow_mut().violation(&self.host, format!("-ERR {text}"));
                    } else {
                        self.shared.borrow_mut().event(&self.host, format_args!("-ERR {text}"));
                    }
                }
            }
        }
    }

    fn on_message(&mut self, m: &Message) {
        let sid = std::str::from_utf8(&m.sid).ok().and_then(|s| s.parse::<u32>().ok());
        let subject = String::from_utf8_lossy(&m.subject).into_owned();
        let reply = m.reply.as_ref().map(|r| String::from_utf8_lossy(r).into_owned());
        let Some(sid) = sid else {
            let what = format!("message on {subject} with a sid we never used");
            return self.shared.borrow_mut().violation(&self.host, what);
        };
        let id: SubId = (self.spec.id, self.epoch, sid);
        if m.headers().starts_with(b"NATS/1.0 503") {
            return self.shared.borrow_mut().no_responders(id, &subject);
        }
        let msg = parse_body(m.body());
        if self.spec.relay {
            // Injected bug: forward what came from another cluster, unchanged, as if a server
            // had forwarded a gateway message to its other gateways.
            // (From another location: another cluster, or in a supercluster another server,
            // as if a route message had been forwarded to the gateways.)
            let here = self.conn.as_ref().map(|c| c.server.clone()).unwrap_or_default();
            let here = self.shared.borrow().place(&here, self.spec.cluster);
            let foreign = msg
                .filter(|(id, _)| self.relayed.insert(*id))
                .and_then(|(id, _)| self.shared.borrow().published_in(id))
                .is_some_and(|c| c != here);
            if foreign && let Some(conn) = &mut self.conn {
                let body = m.body();
                let _ = write!(conn.out, "PUB {subject} {}\r\n", body.len());
                conn.out.extend_from_slice(body);
                conn.out.extend_from_slice(b"\r\n");
                self.shared.borrow_mut().event(&self.host, format_args!("relay {subject}"));
            }
            return;
        }
        self.shared.borrow_mut().delivered(id, &subject, reply.as_deref(), msg.map(|(id, _)| id));
        let respond = self.subs.get(&sid).is_some_and(|s| s.respond);
        if let (true, Some(reply), Some((req, _))) = (respond, reply, msg) {
            self.publish(reply, None, Some(req), false, 0);
        }
    }

    fn run_due_steps(&mut self) {
        let now = self.now();
        while let Some(step) = self.spec.script.get(self.next_step) {
            if step.at > now {
                break;
            }
            let action = step.action.clone();
            self.next_step += 1;
            self.act(action);
        }
    }

    fn act(&mut self, action: Action) {
        let now = self.now();
        let key = (self.spec.id, self.epoch);
        match action {
            Action::Subscribe { sid, subject, queue, respond } => {
                let sub = Sub { subject, queue, respond };
                if let Some(conn) = &mut self.conn {
                    write_sub(&mut conn.out, sid, &sub);
                    conn.out.extend_from_slice(b"PING\r\n");
                    conn.pings.push_back((now, Ping::Subscribed(vec![sid])));
                    self.shared.borrow_mut().sub_sent(
                        (key.0, key.1, sid),
                        &sub.subject,
                        sub.queue.as_deref(),
                        self.spec.account,
                        self.spec.cluster,
                    );
                }
                self.subs.insert(sid, sub);
            }
            Action::Unsubscribe { sid } => {
                if self.subs.remove(&sid).is_some()
                    && let Some(conn) = &mut self.conn
                {
                    let _ = write!(conn.out, "UNSUB {sid}\r\nPING\r\n");
                    conn.pings.push_back((now, Ping::Unsubscribed(sid)));
                    self.shared.borrow_mut().unsub_sent((key.0, key.1, sid));
                }
            }
            Action::Publish { subject, headers, pad } => {
                self.publish(subject, None, None, headers, pad)
            }
            Action::Request { subject } => {
                if self.subs.contains_key(&INBOX_SID) {
                    let reply = format!("_INBOX.cl{}.{}", self.spec.id, self.seq + 1);
                    self.publish(subject, Some(reply), None, false, 0);
                }
            }
            Action::Bounce => self.lost("bounce"),
        }
    }

    /// Publish the next sequenced message, if connected (a disconnected client drops it, so
    /// nothing is buffered across reconnects).
    fn publish(
        &mut self,
        subject: String,
        reply: Option<String>,
        in_reply_to: Option<MsgId>,
        headers: bool,
        pad: usize,
    ) {
        let now = self.now();
        let Some(conn) = &mut self.conn else {
            return;
        };
        self.seq += 1;
        let id = MsgId { client: self.spec.id, seq: self.seq };
        let mut body = format!("m {} {}", id.client, id.seq);
        if let Some(r) = in_reply_to {
            let _ = write!(body, " re {} {}", r.client, r.seq);
        }
        body.extend(std::iter::repeat_n('.', pad));
        let before = conn.out.len();
        let reply_part = reply.as_deref().map(|r| format!(" {r}")).unwrap_or_default();
        if headers {
            let hdr = format!("NATS/1.0\r\nSim-Seq: {}\r\n\r\n", id.seq);
            let _ = write!(
                conn.out,
                "HPUB {subject}{reply_part} {} {}\r\n{hdr}{body}\r\n",
                hdr.len(),
                hdr.len() + body.len()
            );
        } else {
            let _ = write!(conn.out, "PUB {subject}{reply_part} {}\r\n{body}\r\n", body.len());
        }
        let size = conn.out.len() - before;
        let mut shared = self.shared.borrow_mut();
        shared.event(&self.host, format_args!("send {id} on {subject} #{}", self.epoch));
        shared.published(Publication {
            size,
            id,
            epoch: self.epoch,
            subject,
            reply,
            account: self.spec.account,
            cluster: self.spec.cluster,
            sent_at: now,
            in_reply_to,
        });
    }

    fn keepalive(&mut self) {
        let now = self.now();
        let Some(conn) = &mut self.conn else { return };
        let oldest = conn.pings.front().map(|(at, _)| *at);
        if oldest.is_some_and(|at| now.saturating_sub(at) >= STALE_AFTER)
            || conn.pings.len() > MAX_PINGS
        {
            return self.lost("stale");
        }
        if now >= conn.last_keepalive + KEEPALIVE {
            conn.last_keepalive = now;
            if conn.pings.is_empty() {
                conn.out.extend_from_slice(b"PING\r\n");
                conn.pings.push_back((now, Ping::KeepAlive));
            }
        }
    }

    async fn flush(&mut self) {
        let now = self.now();
        let Some(conn) = &mut self.conn else { return };
        if conn.out.is_empty() {
            return;
        }
        let out = conn.out.split().freeze();
        // A blocked write must not hold up the keep-alive (a real client's ping timer runs
        // beside its flusher): wait at most until the oldest PING goes stale. Seed 3452: a
        // stream wedged by a client partition filled up, the write blocked for the whole
        // WRITE_TIMEOUT past the stale deadline, and the client reconnected 5.4 s after the
        // heal.
        let stale_at = conn.pings.front().map(|(at, _)| *at + STALE_AFTER);
        let limit = stale_at.map_or(WRITE_TIMEOUT, |t| WRITE_TIMEOUT.min(t.saturating_sub(now)));
        match timeout(limit, conn.wr.write_all(&out)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.lost(&format!("write error: {e}")),
            Err(_) if limit < WRITE_TIMEOUT => self.lost("stale"),
            Err(_) => self.lost("write timeout"),
        }
    }
}

fn write_sub(out: &mut BytesMut, sid: u32, sub: &Sub) {
    match &sub.queue {
        Some(q) => {
            let _ = write!(out, "SUB {} {q} {sid}\r\n", sub.subject);
        }
        None => {
            let _ = write!(out, "SUB {} {sid}\r\n", sub.subject);
        }
    }
}

/// `m <client> <seq>[ re <client> <seq>]...`: the message id and the request it answers.
fn parse_body(body: &[u8]) -> Option<(MsgId, Option<MsgId>)> {
    let text = std::str::from_utf8(body).ok()?.trim_end_matches('.');
    let mut words = text.split(' ');
    let mut id = |tag: &str| -> Option<MsgId> {
        if words.next()? != tag {
            return None;
        }
        Some(MsgId { client: words.next()?.parse().ok()?, seq: words.next()?.parse().ok()? })
    };
    let msg = id("m")?;
    Some((msg, id("re")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        assert_eq!(parse_body(b"m 3 17"), Some((MsgId { client: 3, seq: 17 }, None)));
        assert_eq!(
            parse_body(b"m 3 17 re 1 2..."),
            Some((MsgId { client: 3, seq: 17 }, Some(MsgId { client: 1, seq: 2 })))
        );
        assert_eq!(parse_body(b"x 3 17"), None);
        assert_eq!(parse_body(b""), None);
    }
}
