//! Log lines about client connections, in nats-server's words and at its levels.
//!
//! One home for the prefix every client line carries (`IP:PORT - cid:N - `, then the
//! `"version:lang:name" - "account/user"` part once the first CONNECT passed authentication,
//! as nats-server adds it) and one emitter, [`log_client`], that other parts of the node call
//! for their client lines (authentication failures, permission violations).
//!
//! Debug and trace lines exist only when `NodeConfig::debug` / `NodeConfig::trace` are on:
//! every emitter checks the level before it formats anything, so with tracing off the message
//! path pays one branch and no allocation.

use std::collections::VecDeque;
use std::fmt::{self, Display};

use super::{Event, LinkId, LogLevel, Node, NodeConfig};
use crate::error::{ClientError, GoQuoted};
use crate::link::{ClientLink, Link};
use crate::proto::client::{ClientOp, Message, ParseError};
use crate::proto::frames::{is_space, parse_size};
use crate::proto::json::ConnectOptions;

/// Whether lines at `level` are wanted under `config`.
pub(super) fn enabled(config: &NodeConfig, level: LogLevel) -> bool {
    match level {
        LogLevel::Debug => config.debug,
        LogLevel::Trace => config.trace,
        LogLevel::Error | LogLevel::Warn | LogLevel::Info => true,
    }
}

/// Log `text` about client `link` at `level` behind the client's prefix. Nothing happens when
/// the level is off or the link is not a client.
///
/// This is the call for any client event: `log_client(node, id, LogLevel::Error,
/// format_args!("authentication error - User {user:?}"))`.
pub(super) fn log_client(node: &mut Node, link: LinkId, level: LogLevel, text: impl Display) {
    if !enabled(&node.config, level) {
        return;
    }
    if let Some(Link::Client(c)) = node.links.get(link) {
        node.events.push_back(Event::Log(level, format!("{}{text}", Prefix(c))));
    }
}

/// [`log_client`] for call sites that hold the client borrowed from `node.links`: pass the
/// node's `events` and check [`enabled`] first.
pub(super) fn push(
    events: &mut VecDeque<Event>,
    c: &ClientLink,
    level: LogLevel,
    text: impl Display,
) {
    events.push_back(Event::Log(level, format!("{}{text}", Prefix(c))));
}

/// nats-server's client prefix, with its trailing ` - `.
pub(crate) struct Prefix<'a>(pub(crate) &'a ClientLink);

impl Display for Prefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        if let Some(peer) = c.peer {
            write!(f, "{peer} - ")?;
        }
        write!(f, "cid:{} - ", c.cid)?;
        if let Some(label) = &c.log_label {
            write!(f, "{label} - ")?;
        }
        Ok(())
    }
}

/// The part nats-server adds to a client's prefix after its first CONNECT passes
/// authentication: `"v1.2.3:go:name"` (whichever of version, lang and name were given) and
/// `"account/user:alice"` (when the CONNECT carried credentials), each quoted as Go's `%q`.
/// `None` when there is neither.
pub(super) fn connect_label(opts: &ConnectOptions, account: &str) -> Option<Box<str>> {
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().filter(|s| !s.is_empty())
    }
    let mut ncs = String::new();
    let parts = [
        given(&opts.version).map(|v| format!("v{v}")),
        given(&opts.lang).map(str::to_owned),
        given(&opts.name).map(str::to_owned),
    ];
    for part in parts.into_iter().flatten() {
        if !ncs.is_empty() {
            ncs.push(':');
        }
        ncs.push_str(&part);
    }
    // nats-server's `getAuthUserLabel`, in its order (a JWT is dropped outside operator mode).
    let user = if let Some(nkey) = given(&opts.nkey) {
        Some(format!("nkey:{nkey}"))
    } else if let Some(user) = given(&opts.user) {
        Some(format!("user:{user}"))
    } else {
        given(&opts.auth_token).map(|_| "token".to_owned())
    };
    let acs = user.map(|u| format!("{account}/{u}"));
    let q = |s: &str| GoQuoted(s.as_bytes()).to_string();
    let label = match (ncs.is_empty(), acs) {
        (false, Some(acs)) => format!("{} - {}", q(&ncs), q(&acs)),
        (false, None) => q(&ncs),
        (true, Some(acs)) => q(&acs),
        (true, None) => return None,
    };
    Some(label.into_boxed_str())
}

/// A trace of an op: `<<- [PUB foo 3]`, `->> [PONG]`, `<-> [DELSUB 1]`.
pub(super) struct Op<'a> {
    /// `<<-` in, `->>` out, `<->` internal.
    pub(super) dir: &'static str,
    /// The op name.
    pub(super) name: &'a str,
    /// Its arguments, each written after a space.
    pub(super) args: &'a [Arg<'a>],
}

/// One argument of a traced op.
pub(super) enum Arg<'a> {
    /// Raw bytes, written as they are (lossy for invalid UTF-8, as Go prints them).
    Bytes(&'a [u8]),
    /// A number.
    Num(usize),
}

impl Display for Op<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}", self.dir, self.name)?;
        for arg in self.args {
            match arg {
                Arg::Bytes(b) => write!(f, " {}", String::from_utf8_lossy(b))?,
                Arg::Num(n) => write!(f, " {n}")?,
            }
        }
        f.write_str("]")
    }
}

/// `<<- MSG_PAYLOAD: ["bar"]` / `->> MSG_PAYLOAD: ["bar"]` for a message whose first
/// `header_len` bytes are headers. As nats-server: no line for an empty payload; with
/// `trace_headers` only the headers (without their closing blank line), and no line without
/// headers; past `max_traced_msg_len` bytes the text is cut and ends in `...`.
pub(super) fn payload<'a>(
    dir: &'static str,
    payload: &'a [u8],
    header_len: usize,
    config: &NodeConfig,
) -> Option<impl Display + 'a> {
    struct Payload<'a>(&'static str, &'a [u8], bool);
    impl Display for Payload<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let Payload(dir, text, cut) = self;
            let quoted = GoQuoted(text).to_string();
            if *cut {
                // `["abc..."]`: the closing quote moves after the dots.
                write!(f, "{dir} MSG_PAYLOAD: [{}...\"]", &quoted[..quoted.len() - 1])
            } else {
                write!(f, "{dir} MSG_PAYLOAD: [{quoted}]")
            }
        }
    }
    let shown =
        if config.trace_headers { payload.get(..header_len.checked_sub(4)?)? } else { payload };
    if shown.is_empty() {
        return None;
    }
    let max = config.max_traced_msg_len;
    let cut = max > 0 && shown.len() > max;
    Some(Payload(dir, if cut { &shown[..max] } else { shown }, cut))
}

/// Trace an op as it arrives (`<<- [SUB foo 1]`, `<<- [CONNECT {…}]` with secrets
/// redacted). Call only with tracing on. A PUB's payload is traced by the publish path, after
/// the control line's checks, as nats-server orders it.
pub(super) fn trace_op(node: &mut Node, id: LinkId, op: &ClientOp) {
    let Some(Link::Client(c)) = node.links.get(id) else {
        return;
    };
    let events = &mut node.events;
    let (name, args): (&str, Vec<Arg<'_>>) = match op {
        ClientOp::Connect(json) => {
            let redacted = redact_connect(json);
            let args = [Arg::Bytes(&redacted)];
            return push(
                events,
                c,
                LogLevel::Trace,
                Op { dir: "<<-", name: "CONNECT", args: &args },
            );
        }
        ClientOp::Pub(p) => return trace_publish(events, c, &p.message(), false),
        ClientOp::Hpub(p) => return trace_publish(events, c, &p.message(), true),
        ClientOp::Sub { subject, queue, sid } => {
            let mut args = vec![Arg::Bytes(subject)];
            if let Some(q) = queue {
                args.push(Arg::Bytes(q));
            }
            args.push(Arg::Bytes(sid));
            ("SUB", args)
        }
        ClientOp::Unsub { sid, max } => {
            let mut args = vec![Arg::Bytes(sid)];
            if let Some(max) = max {
                args.push(Arg::Num(*max as usize));
            }
            ("UNSUB", args)
        }
        ClientOp::Ping => ("PING", Vec::new()),
        ClientOp::Pong => ("PONG", Vec::new()),
        // nats-server does not trace a client's INFO, +OK or -ERR.
        ClientOp::Info(_) | ClientOp::Ok | ClientOp::Err(_) => return,
    };
    push(events, c, LogLevel::Trace, Op { dir: "<<-", name, args: &args });
}

/// The text of a parser error's log line, from what the parser left at the front of the
/// buffer (`rest`, `offset` bytes into this read): the parser's position for an unknown op,
/// the PUB/HPUB argument (still unconsumed) for a size or argument error, which is traced
/// first as nats-server traces it before checking it.
pub(super) fn parse_error_detail(
    node: &mut Node,
    id: LinkId,
    e: ParseError,
    rest: &[u8],
    offset: usize,
) -> Option<String> {
    let Some(Link::Client(c)) = node.links.get(id) else {
        return None;
    };
    let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
    let arg = rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]);
    let args: Vec<&[u8]> = arg.split(|b| is_space(*b)).filter(|a| !a.is_empty()).collect();
    // A size or payload error does not say which op it was: three arguments with a numeric
    // second one on a connection with headers is an HPUB.
    let guess_hpub =
        c.headers && (args.len() == 4 || args.len() == 3 && parse_size(args[1]).is_some());
    let (name, hpub) = match e {
        ParseError::UnknownOp => {
            let (state, at) = c.parser.error_position(rest);
            // An error after a payload: its control line, still at the front, was traced
            // first in nats-server.
            if node.config.trace && matches!(state, 41 | 42) {
                let name = if guess_hpub { "HPUB" } else { "PUB" };
                let op = Op { dir: "<<-", name, args: &[Arg::Bytes(arg)] };
                push(&mut node.events, c, LogLevel::Trace, op);
            }
            let rest = rest.get(at..).unwrap_or_default();
            return Some(parser_error(rest, offset + at, state));
        }
        ParseError::MaxControlLine => return None,
        ParseError::BadArgs(op) => (op, op == "HPUB"),
        ParseError::MaxPayload if guess_hpub => ("HPUB", true),
        ParseError::MaxPayload => ("PUB", false),
    };
    if node.config.trace {
        push(
            &mut node.events,
            c,
            LogLevel::Trace,
            Op { dir: "<<-", name, args: &[Arg::Bytes(arg)] },
        );
    }
    let size = |i: usize| args.get(i).and_then(|a| parse_size(a));
    let quoted = GoQuoted(arg);
    Some(match e {
        ParseError::MaxPayload => {
            let size = args.last().and_then(|a| parse_size(a)).unwrap_or_default();
            let max = node.config.limits.max_payload;
            format!("maximum payload exceeded: {size} vs {max}")
        }
        ParseError::BadArgs("SUB") => format!("processSub Parse Error: {quoted}"),
        ParseError::BadArgs("UNSUB") => format!("processUnsub Parse Error: {quoted}"),
        _ if hpub && !c.headers => "message headers not supported".to_owned(),
        _ if hpub => match args.len() {
            3 | 4 => {
                let (h, t) = (size(args.len() - 2), size(args.len() - 1));
                match (h, t) {
                    (None, _) => format!("processHeaderPub Bad or Missing Header Size: {quoted}"),
                    (_, None) => format!("processHeaderPub Bad or Missing Total Size: {quoted}"),
                    _ => format!("processHeaderPub Header Size larger then TotalSize: {quoted}"),
                }
            }
            _ => format!("processHeaderPub Parse Error: {quoted}"),
        },
        _ => match args.len() {
            2 | 3 => format!("processPub Bad or Missing Size: {quoted}"),
            _ => format!("processPub Parse Error: {quoted}"),
        },
    })
}

/// Trace a parsed PUB/HPUB control line.
pub(super) fn trace_publish(
    events: &mut VecDeque<Event>,
    c: &ClientLink,
    p: &Message<'_>,
    hpub: bool,
) {
    let mut args = Vec::with_capacity(4);
    args.push(Arg::Bytes(p.subject));
    if let Some(reply) = p.reply {
        args.push(Arg::Bytes(reply));
    }
    if hpub {
        args.push(Arg::Num(p.header_len));
    }
    args.push(Arg::Num(p.payload.len()));
    let name = if hpub { "HPUB" } else { "PUB" };
    push(events, c, LogLevel::Trace, Op { dir: "<<-", name, args: &args });
}

/// Trace an outbound op without arguments (`->> [OK]`, `->> [PONG]`, `->> [PING]`).
pub(super) fn trace_out(events: &mut VecDeque<Event>, c: &ClientLink, name: &str) {
    push(events, c, LogLevel::Trace, Op { dir: "->>", name, args: &[] });
}

/// Trace an outbound `-ERR`: `->> [-ERR Unknown Protocol Operation]`.
pub(super) fn trace_err(events: &mut VecDeque<Event>, c: &ClientLink, text: &str) {
    let args = [Arg::Bytes(text.as_bytes())];
    push(events, c, LogLevel::Trace, Op { dir: "->>", name: "-ERR", args: &args });
}

/// Trace a delivery to `c`: `->> [MSG foo 1 3]` (or HMSG with its sizes), then the payload.
#[allow(clippy::too_many_arguments)]
pub(super) fn trace_delivery(
    events: &mut VecDeque<Event>,
    config: &NodeConfig,
    c: &ClientLink,
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    header_len: Option<usize>,
    body: &[u8],
) {
    let mut args = Vec::with_capacity(5);
    args.push(Arg::Bytes(subject));
    if !sid.is_empty() {
        args.push(Arg::Bytes(sid));
    }
    if let Some(reply) = reply {
        args.push(Arg::Bytes(reply));
    }
    if let Some(h) = header_len {
        args.push(Arg::Num(h));
    }
    args.push(Arg::Num(body.len()));
    let name = if header_len.is_some() { "HMSG" } else { "MSG" };
    push(events, c, LogLevel::Trace, Op { dir: "->>", name, args: &args });
    if let Some(line) = payload("->>", body, header_len.unwrap_or(0), config) {
        push(events, c, LogLevel::Trace, line);
    }
}

/// nats-server's `removeSecretsFromTrace`: the values of `pass…`/`auth_token…` keys and of
/// `sig`, `proxy_sig` and `nkey` become `[REDACTED]` in a traced CONNECT.
pub(super) fn redact_connect(arg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(arg.len());
    let mut i = 0;
    while i < arg.len() {
        if let Some(value) = secret_value_at(arg, i) {
            out.extend_from_slice(&arg[i..value.0]);
            out.extend_from_slice(b"[REDACTED]");
            // Continue after the value; an empty value still moves on past the key.
            i = value.1.max(value.0);
            if value.0 == value.1 {
                // Copy the byte at the value position so the scan always advances.
                if let Some(&b) = arg.get(i) {
                    out.push(b);
                }
                i += 1;
            }
        } else {
            out.push(arg[i]);
            i += 1;
        }
    }
    out
}

/// If a secret key starts at `i`, the byte range of its value.
fn secret_value_at(s: &[u8], i: usize) -> Option<(usize, usize)> {
    let rest = &s[i..];
    // `auth_token\S*?` and `pass\S*?`: any key starting with these (password, pass_hash, …).
    let prefixed = [&b"auth_token"[..], b"pass"].into_iter().find(|k| rest.starts_with(k));
    if let Some(key) = prefixed {
        // The shortest run of non-space bytes after the key that is followed by the separator.
        let mut j = i + key.len();
        loop {
            if let Some(v) = value_after_separator(s, j) {
                return Some(v);
            }
            match s.get(j) {
                Some(b) if !is_go_space(*b) => j += 1,
                _ => return None,
            }
        }
    }
    // `sig`, `proxy_sig`, `nkey` as whole words.
    let word_start = i == 0 || !s[i - 1].is_ascii_alphanumeric() && s[i - 1] != b'_';
    let exact = [&b"proxy_sig"[..], b"nkey", b"sig"].into_iter().find(|k| rest.starts_with(k));
    match exact {
        Some(key) if word_start || (i > 0 && s[i - 1] == b'"' && quote_word_start(s, i - 1)) => {
            value_after_separator(s, i + key.len())
        }
        _ => None,
    }
}

/// A `"` at `q` that itself follows the start or a non-word byte (the `"?` of the pattern).
fn quote_word_start(s: &[u8], q: usize) -> bool {
    q == 0 || !s[q - 1].is_ascii_alphanumeric() && s[q - 1] != b'_'
}

/// `"?\s*[:=]\s*"?` at `j`, then the value `[^",\r\n}]*`: its range.
fn value_after_separator(s: &[u8], mut j: usize) -> Option<(usize, usize)> {
    if s.get(j) == Some(&b'"') {
        j += 1;
    }
    while s.get(j).is_some_and(|b| is_go_space(*b)) {
        j += 1;
    }
    if !matches!(s.get(j), Some(b':' | b'=')) {
        return None;
    }
    j += 1;
    while s.get(j).is_some_and(|b| is_go_space(*b)) {
        j += 1;
    }
    if s.get(j) == Some(&b'"') {
        j += 1;
    }
    let end =
        j + s[j..].iter().take_while(|b| !matches!(b, b'"' | b',' | b'\r' | b'\n' | b'}')).count();
    Some((j, end))
}

/// Go's `\s` in regular expressions.
fn is_go_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r')
}

/// Where a close cause's own log line goes relative to the `-ERR` trace and the
/// `Client connection closed` line, as nats-server orders them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Order {
    /// Before the `-ERR` is traced.
    BeforeErr,
    /// After the `-ERR` trace, before the closed line.
    AfterErr,
    /// After the closed line.
    AfterClosed,
}

/// The line nats-server logs for a close cause, its level and where it goes; `detail`
/// replaces the text where the cause alone does not say enough (the parser's position, the
/// published size, a client's `-ERR` text). `None` when nats-server logs nothing of its own
/// (the other causes log at their source, e.g. authentication failures).
pub(super) fn cause_line(
    reason: &ClientError,
    max_pending: usize,
    detail: Option<String>,
) -> Option<(LogLevel, Order, String)> {
    use ClientError::*;
    let fixed = |level, order, text: &str| {
        Some((level, order, detail.clone().unwrap_or_else(|| text.to_owned())))
    };
    match reason {
        Parse(ParseError::UnknownOp) => {
            detail.clone().map(|d| (LogLevel::Error, Order::AfterErr, d))
        }
        Parse(ParseError::MaxPayload) => {
            fixed(LogLevel::Error, Order::BeforeErr, "maximum payload exceeded")
        }
        Parse(ParseError::MaxControlLine) => {
            fixed(LogLevel::Error, Order::AfterClosed, "maximum control line exceeded")
        }
        Parse(ParseError::BadArgs(op)) => {
            let name = match *op {
                "PUB" => "processPub",
                "HPUB" => "processHeaderPub",
                "SUB" => "processSub",
                _ => "processUnsub",
            };
            Some((
                LogLevel::Error,
                Order::BeforeErr,
                detail.unwrap_or_else(|| format!("{name} Parse Error")),
            ))
        }
        BadConnect | BadClientInfo => fixed(LogLevel::Error, Order::BeforeErr, "malformed JSON"),
        HeadersNotNegotiated => {
            fixed(LogLevel::Error, Order::BeforeErr, "message headers not supported")
        }
        ClientSentError => fixed(LogLevel::Error, Order::BeforeErr, "Client Error"),
        InvalidClientProtocol => {
            fixed(LogLevel::Error, Order::AfterClosed, "invalid client protocol")
        }
        NoRespondersRequiresHeaders => {
            fixed(LogLevel::Error, Order::AfterClosed, "no responders requires headers support")
        }
        MaxConnectionsExceeded => {
            fixed(LogLevel::Error, Order::AfterErr, "maximum connections exceeded")
        }
        MaxAccountConnectionsExceeded => {
            fixed(LogLevel::Error, Order::AfterErr, "maximum account active connections exceeded")
        }
        AuthenticationTimeout => fixed(LogLevel::Debug, Order::AfterErr, "Authentication Timeout"),
        StaleConnection => {
            fixed(LogLevel::Debug, Order::BeforeErr, "Stale Client Connection - Closing")
        }
        SlowConsumer => Some((
            LogLevel::Info,
            Order::BeforeErr,
            format!("Slow Consumer Detected: MaxPending of {max_pending} Exceeded"),
        )),
        AuthorizationViolation
        | WriteError
        | SlowConsumerWriteDeadline
        | ReadError
        | ServerShutdown
        | ClientClosed
        | TlsHandshake
        | InvalidPublishSubject
        | InvalidSubject
        | PublishViolation(_)
        | ReplyViolation(_)
        | SubscribeViolation { .. }
        | SubscriptionRevoked { .. }
        | MaxSubscriptionsExceeded => detail.map(|d| (LogLevel::Error, Order::BeforeErr, d)),
    }
}

/// nats-server's parser error line: `Client parser ERROR, state=0, i=11: proto='"XYZ\r"...'`.
/// `rest` is the read's bytes from the offending one on, `at` its offset in the read.
pub(super) fn parser_error(rest: &[u8], at: usize, state: u8) -> String {
    // nats-server's protoSnippet: up to 32 bytes, one short when that reaches the read's end.
    let snippet = if rest.is_empty() {
        "\"\"".to_owned()
    } else {
        let stop = if rest.len() < 32 { rest.len() - 1 } else { 32 };
        GoQuoted(&rest[..stop]).to_string()
    };
    format!("Client parser ERROR, state={state}, i={at}: proto='{snippet}...'")
}

/// Go's `Duration.String()` for whole seconds rounded as nats-server prints keep-alive
/// delays (`0s`, `1m30s`, `2h0m0s`).
pub(super) fn go_seconds(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    fn link(peer: Option<&str>, cid: u64) -> ClientLink {
        let Link::Client(mut c) = crate::node::client::test_link() else { unreachable!() };
        c.peer = peer.map(|p| p.parse::<SocketAddr>().unwrap());
        c.cid = cid;
        *c
    }

    fn opts(json: &str) -> ConnectOptions {
        ConnectOptions::from_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn prefix_is_address_and_cid_then_the_connect_label() {
        let mut c = link(Some("127.0.0.1:51234"), 5);
        assert_eq!(Prefix(&c).to_string(), "127.0.0.1:51234 - cid:5 - ");
        c.log_label =
            connect_label(&opts(r#"{"version":"0.51.0","lang":"rust","name":"n"}"#), "$G");
        assert_eq!(Prefix(&c).to_string(), r#"127.0.0.1:51234 - cid:5 - "v0.51.0:rust:n" - "#);
        assert_eq!(Prefix(&link(None, 2)).to_string(), "cid:2 - ");
    }

    #[test]
    fn connect_labels_follow_nats_server() {
        let label = |json: &str| connect_label(&opts(json), "$G").map(String::from);
        assert_eq!(label("{}"), None);
        assert_eq!(label(r#"{"lang":"go"}"#).as_deref(), Some(r#""go""#));
        assert_eq!(label(r#"{"name":"a\"b"}"#).as_deref(), Some(r#""a\"b""#));
        assert_eq!(label(r#"{"version":"1","name":"x"}"#).as_deref(), Some(r#""v1:x""#));
        assert_eq!(
            label(r#"{"lang":"go","user":"a","pass":"p"}"#).as_deref(),
            Some(r#""go" - "$G/user:a""#)
        );
        assert_eq!(label(r#"{"auth_token":"t"}"#).as_deref(), Some(r#""$G/token""#));
    }

    #[test]
    fn ops_trace_in_brackets() {
        let args = [Arg::Bytes(b"foo"), Arg::Num(3)];
        assert_eq!(Op { dir: "<<-", name: "PUB", args: &args }.to_string(), "<<- [PUB foo 3]");
        assert_eq!(Op { dir: "->>", name: "PONG", args: &[] }.to_string(), "->> [PONG]");
        let config = NodeConfig::default();
        assert_eq!(
            payload("<<-", b"a\"b\r\n\x01", 0, &config).unwrap().to_string(),
            r#"<<- MSG_PAYLOAD: ["a\"b\r\n\x01"]"#
        );
        assert!(payload("<<-", b"", 0, &config).is_none());
        let short = NodeConfig { max_traced_msg_len: 2, ..NodeConfig::default() };
        assert_eq!(
            payload("->>", b"abc", 0, &short).unwrap().to_string(),
            r#"->> MSG_PAYLOAD: ["ab..."]"#
        );
        let headers = NodeConfig { trace_headers: true, ..NodeConfig::default() };
        let msg = b"NATS/1.0\r\nA: b\r\n\r\nbody";
        assert_eq!(
            payload("<<-", msg, 18, &headers).unwrap().to_string(),
            r#"<<- MSG_PAYLOAD: ["NATS/1.0\r\nA: b"]"#
        );
        assert!(payload("<<-", b"body", 0, &headers).is_none());
    }

    #[test]
    fn deliveries_trace_the_msg_line_and_payload() {
        let c = link(Some("127.0.0.1:1"), 1);
        let mut events = VecDeque::new();
        let config = NodeConfig::default();
        trace_delivery(&mut events, &config, &c, b"foo", b"1", Some(b"r"), None, b"bar");
        let hmsg = b"NATS/1.0\r\n\r\n";
        trace_delivery(&mut events, &config, &c, b"foo", b"1", None, Some(12), hmsg);
        let lines: Vec<String> = events
            .into_iter()
            .map(|e| match e {
                Event::Log(LogLevel::Trace, l) => l,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            lines,
            [
                "127.0.0.1:1 - cid:1 - ->> [MSG foo 1 r 3]",
                r#"127.0.0.1:1 - cid:1 - ->> MSG_PAYLOAD: ["bar"]"#,
                "127.0.0.1:1 - cid:1 - ->> [HMSG foo 1 12 12]",
                r#"127.0.0.1:1 - cid:1 - ->> MSG_PAYLOAD: ["NATS/1.0\r\n\r\n"]"#,
            ]
        );
    }

    #[test]
    fn connect_secrets_are_redacted_like_nats_server() {
        let r = |s: &str| String::from_utf8(redact_connect(s.as_bytes())).unwrap();
        assert_eq!(
            r(r#"{"user":"a","pass":"secret","auth_token":"tok","verbose":true}"#),
            r#"{"user":"a","pass":"[REDACTED]","auth_token":"[REDACTED]","verbose":true}"#
        );
        assert_eq!(r(r#"{"password": "x y"}"#), r#"{"password": "[REDACTED]"}"#);
        assert_eq!(
            r(r#"{"nkey":"UABC","sig":"s","proxy_sig":"p","signature":"k"}"#),
            r#"{"nkey":"[REDACTED]","sig":"[REDACTED]","proxy_sig":"[REDACTED]","signature":"k"}"#
        );
        assert_eq!(r(r#"{"name":"passive"}"#), r#"{"name":"passive"}"#);
        assert_eq!(r(r#"{"pass":""}"#), r#"{"pass":"[REDACTED]"}"#);
    }

    #[test]
    fn parser_errors_show_nats_server_snippet() {
        assert_eq!(
            parser_error(b"XYZ\r\n", 11, 0),
            r#"Client parser ERROR, state=0, i=11: proto='"XYZ\r"...'"#
        );
        assert_eq!(parser_error(b"", 1, 0), r#"Client parser ERROR, state=0, i=1: proto='""...'"#);
    }

    /// The log lines a node emits while `script` is read by one client.
    fn node_lines(debug: bool, trace: bool, script: &str) -> Vec<(LogLevel, String)> {
        use bytes::BytesMut;
        use std::time::Instant;
        let config = NodeConfig { debug, trace, ..NodeConfig::default() };
        let mut node = Node::new(config, 1);
        let now = Instant::now();
        let id = node.accept_client(now, Some("127.0.0.1:4000".parse().unwrap()));
        node.handle_read(id, now, &mut BytesMut::from(script));
        let mut lines = Vec::new();
        while let Some(e) = node.poll_event() {
            if let Event::Log(level, line) = e {
                lines.push((level, line));
            }
        }
        lines
    }

    #[test]
    fn a_node_traces_ops_in_order_only_when_asked() {
        let script =
            "CONNECT {\"verbose\":true,\"name\":\"n\"}\r\nSUB foo 1\r\nPUB foo 3\r\nbar\r\nXX\r\n";
        let lines = node_lines(true, true, script);
        let texts: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
        let p = r#"127.0.0.1:4000 - cid:1 - "n" - "#;
        assert_eq!(
            texts,
            [
                "127.0.0.1:4000 - cid:1 - Client connection created".to_owned(),
                r#"127.0.0.1:4000 - cid:1 - <<- [CONNECT {"verbose":true,"name":"n"}]"#.to_owned(),
                format!("{p}->> [OK]"),
                format!("{p}<<- [SUB foo 1]"),
                format!("{p}->> [OK]"),
                format!("{p}<<- [PUB foo 3]"),
                format!(r#"{p}<<- MSG_PAYLOAD: ["bar"]"#),
                format!("{p}->> [OK]"),
                format!("{p}->> [MSG foo 1 3]"),
                format!(r#"{p}->> MSG_PAYLOAD: ["bar"]"#),
                format!("{p}->> [-ERR Unknown Protocol Operation]"),
                format!(r#"{p}Client parser ERROR, state=0, i=64: proto='"XX\r"...'"#),
                format!("{p}Client connection closed: Protocol Violation"),
                format!("{p}<-> [DELSUB 1]"),
            ]
        );
        assert_eq!(lines[11].0, LogLevel::Error);
        assert_eq!(lines[12].0, LogLevel::Debug);
        // Without -D/-V only the error is left.
        let quiet = node_lines(false, false, script);
        assert_eq!(quiet.len(), 1, "{quiet:?}");
        assert_eq!(quiet[0].0, LogLevel::Error);
    }

    #[test]
    fn durations_print_like_go() {
        assert_eq!(go_seconds(0), "0s");
        assert_eq!(go_seconds(90), "1m30s");
        assert_eq!(go_seconds(7200), "2h0m0s");
    }
}
