//! Entry points for the cargo-fuzz targets in `fuzz/`; their corpora are replayed by tests
//! (`fuzz/tests/corpus.rs`).
//!
//! Every entry point panics when a property fails, so a fuzzer and a plain test runner both
//! report it. Structured inputs (op sequences, sublist scripts) are plain core types here; the
//! `arbitrary` generators that build them live in the fuzz crate, so core's build does not
//! depend on `arbitrary`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::error::CloseReason;
use crate::node::{Event, LinkId, Node, NodeConfig, OutboxStatus};
use crate::proto::client::{ClientOp, Limits, Message, ParseError, Parser};
use crate::proto::frames::{parse_chunks, split_at};
use crate::proto::gateway::GatewayLimits;
use crate::proto::gateway_json::{GatewayConnect, GatewayInfo};
use crate::proto::json::{self, ConnectOptions, ServerInfo};
use crate::proto::route::RouteLimits;
use crate::proto::route_json::{RouteConnect, RouteInfo};
use crate::subject;
use crate::sublist::{CACHE_MAX, Match, QueueGroup, Sublist};

/// Small limits so fuzzed streams reach the boundaries often.
const SMALL: Limits = Limits { max_control_line: 32, max_payload: 32 };

/// A tiny deterministic generator (splitmix64) for split points and schedules derived from
/// the input, so a run is reproducible from the input alone.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

/// FNV-1a of `data`: a seed that changes whenever the input does.
fn hash(data: &[u8]) -> u64 {
    data.iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

/// Whether a protocol token can be written as is: not empty, no separator or line end.
fn is_token(t: &[u8]) -> bool {
    !t.is_empty() && !t.iter().any(|b| b" \t\r\n".contains(b))
}

/// Whether a raw CONNECT/INFO/-ERR argument survives a round trip: the parser drops leading
/// separators and ends the line at the first `\n` (dropping only the CR written before it).
fn is_raw_arg(a: &[u8]) -> bool {
    !a.contains(&b'\n') && !a.first().is_some_and(|b| *b == b' ' || *b == b'\t')
}

/// Whether `op` can be written so that it parses back to itself (see [`encode_client_op`]).
fn client_op_encodable(op: &ClientOp) -> bool {
    match op {
        ClientOp::Connect(a) | ClientOp::Info(a) | ClientOp::Err(a) => is_raw_arg(a),
        ClientOp::Pub(p) | ClientOp::Hpub(p) => {
            let p = p.message();
            // PUB arguments are split on spaces and tabs only, so they may hold a CR.
            let token = |t: &[u8]| !t.is_empty() && !t.iter().any(|b| b" \t\n".contains(b));
            token(p.subject)
                && p.reply.is_none_or(token)
                && p.header_len <= p.payload.len()
                && (matches!(op, ClientOp::Hpub(_)) || p.header_len == 0)
                && p.payload.len() <= 999_999_999
        }
        ClientOp::Sub { subject, queue, sid } => {
            is_token(subject) && queue.as_deref().is_none_or(is_token) && is_token(sid)
        }
        ClientOp::Unsub { sid, max } => is_token(sid) && max.is_none_or(|m| m <= 999_999_999),
        ClientOp::Ping | ClientOp::Pong | ClientOp::Ok => true,
    }
}

/// Writes `op` in canonical form (upper-case name, single spaces, CRLF); returns the length
/// of its control-line argument as the parser counts it against `max_control_line` (`None`
/// for ops without one).
fn encode_client_op(out: &mut Vec<u8>, op: &ClientOp) -> Option<usize> {
    fn line(out: &mut Vec<u8>, name: &str, args: &[&[u8]]) -> usize {
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        let start = out.len();
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(a);
        }
        let len = out.len() - start;
        out.extend_from_slice(b"\r\n");
        len
    }
    let publish = |out: &mut Vec<u8>, name: &str, p: &Message<'_>, hpub: bool| {
        let size = p.payload.len().to_string();
        let hdr = p.header_len.to_string();
        let mut args: Vec<&[u8]> = vec![&p.subject];
        args.extend(p.reply);
        if hpub {
            args.push(hdr.as_bytes());
        }
        args.push(size.as_bytes());
        let len = line(out, name, &args);
        out.extend_from_slice(p.payload);
        out.extend_from_slice(b"\r\n");
        len
    };
    Some(match op {
        ClientOp::Connect(a) => line(out, "CONNECT", &[a]),
        ClientOp::Info(a) => line(out, "INFO", &[a]),
        ClientOp::Err(a) => line(out, "-ERR", &[a]),
        ClientOp::Pub(p) => publish(out, "PUB", &p.message(), false),
        ClientOp::Hpub(p) => publish(out, "HPUB", &p.message(), true),
        ClientOp::Sub { subject, queue, sid } => {
            let mut args: Vec<&[u8]> = vec![subject];
            args.extend(queue.as_deref());
            args.push(sid);
            line(out, "SUB", &args)
        }
        ClientOp::Unsub { sid, max } => {
            let max = max.map(|m| m.to_string());
            let mut args: Vec<&[u8]> = vec![sid];
            args.extend(max.as_deref().map(str::as_bytes));
            line(out, "UNSUB", &args)
        }
        ClientOp::Ping | ClientOp::Pong | ClientOp::Ok => {
            out.extend_from_slice(match op {
                ClientOp::Ping => b"PING\r\n",
                ClientOp::Pong => b"PONG\r\n",
                _ => b"+OK\r\n",
            });
            return None;
        }
    })
}

/// Parse `data` as a client byte stream and check:
///
/// * split invariance: whole, and cut at several points derived from the data, the parser
///   yields the same frames (and the same error);
/// * bounded buffering: with small limits, fed in small chunks, the buffer never holds more
///   than `max_control_line + max_payload + 4` bytes after the parser took what it could;
/// * every frame parsed, written again in canonical form, parses back to itself.
pub fn client_parser(data: &[u8]) {
    let whole = crate::proto::client::parse_all(data, Limits::default());
    let split_at_first = data.first().map_or(0, |b| *b as usize % (data.len() + 1));
    let mut rng = Rng::new(hash(data));
    let cuts: Vec<usize> = (0..4).map(|_| rng.below(data.len() + 1)).collect();
    for cuts in [&[split_at_first][..], &cuts] {
        let chunks = split_at(data, cuts);
        assert_eq!(
            whole,
            parse_chunks(Parser::new(Limits::default()), &chunks).0,
            "split at {cuts:?}"
        );
    }

    let small_whole = crate::proto::client::parse_all(data, SMALL);
    let chunk = 1 + rng.below(8);
    let chunks: Vec<&[u8]> = data.chunks(chunk).collect();
    let (small_split, held) = parse_chunks(Parser::new(SMALL), &chunks);
    assert_eq!(small_whole, small_split, "small limits, chunks of {chunk}");
    assert!(held <= SMALL.max_control_line + SMALL.max_payload + 4, "buffer held {held}");

    for op in whole.iter().flatten() {
        assert!(client_op_encodable(op), "parsed {op:?} cannot be written back");
        let mut out = Vec::new();
        encode_client_op(&mut out, op);
        let again = crate::proto::client::parse_all(&out, Limits::default());
        assert_eq!(
            again,
            [Ok(op.clone())],
            "{op:?} written as {:?}",
            String::from_utf8_lossy(&out)
        );
    }
}

/// Write the (generated) client `ops` in canonical form, feed them to a parser with `limits`
/// cut at `cuts`, and check the parser returns exactly those ops, in order, up to the first op
/// that breaks a limit, which must give `MaxControlLine` (argument too long) or `MaxPayload`
/// (size too large), in that order of precedence. Ops that cannot be written so that they
/// parse back (empty or whitespace-containing tokens, ...) are skipped. Also checks split
/// invariance and the buffering bound.
pub fn client_ops(limits: Limits, ops: &[ClientOp], cuts: &[usize]) {
    let mut wire = Vec::new();
    let mut want = Vec::new();
    for op in ops.iter().filter(|op| client_op_encodable(op)) {
        let arg_len = encode_client_op(&mut wire, op).unwrap_or(0);
        if arg_len > limits.max_control_line {
            want.push(Err(ParseError::MaxControlLine));
            break;
        }
        if let ClientOp::Pub(p) | ClientOp::Hpub(p) = op
            && p.message().payload.len() > limits.max_payload
        {
            want.push(Err(ParseError::MaxPayload));
            break;
        }
        want.push(Ok(op.clone()));
    }
    let whole = crate::proto::client::parse_all(&wire, limits);
    assert_eq!(whole, want, "wire {:?}", String::from_utf8_lossy(&wire));
    let chunks = split_at(&wire, cuts);
    let (split, held) = parse_chunks(Parser::new(limits), &chunks);
    assert_eq!(split, want, "split at {cuts:?}");
    let bound = limits.max_control_line.saturating_add(limits.max_payload).saturating_add(4);
    // The bound holds from the frame's start; a chunk larger than it can add at most itself.
    let largest = chunks.iter().map(|c| c.len()).max().unwrap_or(0);
    assert!(held <= bound.max(largest), "buffer held {held}");
}

/// Parse `data` as a gateway byte stream: whole and split at a point derived from the data
/// (both parses must agree); with small limits, fed in small chunks (the buffer must stay
/// within the documented bound); and every frame parsed is encoded again and must parse back
/// to the same frame.
pub fn gateway_parser(data: &[u8]) {
    use crate::proto::gateway::{self, GatewayLimits, GatewayOp, GatewayParser};

    let limits = GatewayLimits::default();
    let whole = gateway::parse_all(data, limits);
    let split_at = data.first().map_or(0, |b| *b as usize % (data.len() + 1));
    let (a, b) = data.split_at(split_at);
    assert_eq!(
        whole,
        parse_chunks(GatewayParser::new(limits), [a, b]).0,
        "split parse differs from whole parse"
    );

    let small = GatewayLimits { max_control_line: 32, max_payload: 32 };
    let chunks: Vec<&[u8]> = data.chunks(7).collect();
    let (_, held) = parse_chunks(GatewayParser::new(small), &chunks);
    assert!(held <= small.max_control_line + small.max_payload + 4, "buffer held {held}");

    for op in whole.iter().flatten() {
        let mut out = BytesMut::new();
        match op {
            GatewayOp::Msg(m) if m.header_len() == 0 => gateway::rmsg(
                &mut out,
                m.account(),
                m.subject(),
                m.reply(),
                m.queue_names(),
                m.payload(),
            ),
            GatewayOp::Msg(m) => gateway::hmsg(
                &mut out,
                m.account(),
                m.subject(),
                m.reply(),
                m.queue_names(),
                m.header_len(),
                m.payload(),
            ),
            GatewayOp::RsPlus { account, subject, queue } => gateway::rs_plus(
                &mut out,
                account,
                subject,
                queue.as_ref().map(|(q, w)| (&q[..], *w)),
            ),
            GatewayOp::RsMinus { account, subject, queue } => {
                gateway::rs_minus(&mut out, account, subject, queue.as_deref())
            }
            GatewayOp::APlus(account) => gateway::a_plus(&mut out, account),
            GatewayOp::AMinus(account) => gateway::a_minus(&mut out, account),
            GatewayOp::Info(json) => gateway::info(&mut out, json),
            GatewayOp::Connect(json) => gateway::connect(&mut out, json),
            GatewayOp::Ping | GatewayOp::Pong | GatewayOp::Ok | GatewayOp::Err(_) => continue,
        }
        let again = gateway::parse_all(&out, limits);
        let [Ok(back)] = &again[..] else {
            panic!("{op:?} encoded as {out:?} parsed as {again:?}");
        };
        match (op, back) {
            // The queue list comes back with single spaces between the names.
            (GatewayOp::Msg(m), GatewayOp::Msg(n)) => {
                assert!(m.queue_names().eq(n.queue_names()), "{m:?} came back as {n:?}");
                let n = n.with_queues_of(m);
                assert_eq!(m, &n);
            }
            _ => assert_eq!(op, back),
        }
    }
}

/// Parse `data` as a route byte stream, once as a route carrying the account field and once as
/// a route pinned to an account (the `LS-` origin setting is taken from the input's hash), and
/// check:
///
/// * no input panics; split at a point derived from the data, and cut at random points, the
///   frames are those of the whole input;
/// * every frame takes bytes off the buffer (progress), and a message's payload is the
///   announced size: the frame ends with the payload and a CRLF, right after a control line
///   whose last field is the payload's length;
/// * on a pinned route, every frame's account is the pinned one;
/// * with small limits, fed in small chunks, the buffer stays within the documented bound
///   (a swallowed `PUB` payload is never buffered);
/// * every RS±/LS±/RMSG/HMSG/LMSG/INFO/CONNECT frame, encoded again, parses back to itself.
pub fn route_parser(data: &[u8]) {
    use crate::proto::route::RouteParser;

    let seed = hash(data);
    let ls_minus_origin = seed & 1 == 0;
    for pinned in [None, Some(Bytes::from_static(b"$PIN"))] {
        let limits = RouteLimits::route(4096);
        let parser = || {
            let mut p = RouteParser::new(limits);
            p.set_pinned_account(pinned.clone());
            p.set_ls_minus_origin(ls_minus_origin);
            p
        };
        let whole = route_frames(parser(), data);

        let cut = data.first().map_or(0, |b| *b as usize % (data.len() + 1));
        let (a, b) = data.split_at(cut);
        let ops: Vec<_> = whole.iter().map(|(op, _)| op.clone()).collect();
        assert_eq!(ops, parse_chunks(parser(), [a, b]).0, "split parse differs from whole parse");
        let mut rng = Rng::new(seed);
        let cuts: Vec<usize> = (0..rng.below(6)).map(|_| rng.below(data.len() + 1)).collect();
        assert_eq!(ops, parse_chunks(parser(), split_at(data, &cuts)).0, "cuts at {cuts:?}");

        let small = RouteLimits { max_control_line: 32, max_payload: 32 };
        let mut p = parser();
        p.set_limits(small);
        let chunks: Vec<&[u8]> = data.chunks(7).collect();
        let (_, held) = parse_chunks(p, &chunks);
        assert!(held <= small.max_control_line + small.max_payload + 4, "buffer held {held}");

        for (op, frame) in &whole {
            let Ok(op) = op else { continue };
            check_route_frame(op, frame, pinned.as_ref());
            route_op_round_trip(op, pinned.as_ref(), ls_minus_origin);
        }
    }
}

/// Every result of `parser` on `data` as one read, each frame with the bytes it took off the
/// buffer (including ops the route parser consumes silently before it); checks progress.
fn route_frames(
    mut parser: crate::proto::route::RouteParser,
    data: &[u8],
) -> Vec<(Result<crate::proto::route::RouteOp, crate::proto::route::RouteParseError>, Bytes)> {
    let mut buf = BytesMut::from(data);
    let mut out = Vec::new();
    loop {
        let before = buf.len();
        let res = parser.parse(&mut buf);
        let taken = data.len() - buf.len();
        let frame = Bytes::copy_from_slice(&data[data.len() - before..taken]);
        match res {
            Ok(Some(op)) => {
                assert!(buf.len() < before, "{op:?} took no bytes");
                out.push((Ok(op), frame));
            }
            Ok(None) => return out,
            Err(e) => {
                out.push((Err(e), frame));
                return out;
            }
        }
    }
}

/// A message frame ends with `<size>\r\n<payload>\r\n` where `size` is the payload's length;
/// on a pinned route the account is the pinned one.
fn check_route_frame(op: &crate::proto::route::RouteOp, frame: &[u8], pinned: Option<&Bytes>) {
    use crate::proto::route::RouteOp;

    let (account, msg) = match op {
        RouteOp::Msg(m) | RouteOp::Lmsg { msg: m, .. } => (m.account(), Some(m)),
        RouteOp::RsPlus { account, .. }
        | RouteOp::RsMinus { account, .. }
        | RouteOp::LsPlus { account, .. }
        | RouteOp::LsMinus { account, .. } => (&account[..], None),
        _ => return,
    };
    if let Some(pin) = pinned {
        assert_eq!(account, &pin[..], "{op:?} on a pinned route");
    }
    let Some(m) = msg else { return };
    let n = m.payload().len();
    let body_end = frame.len().checked_sub(2).expect("a message frame ends with CRLF");
    assert_eq!(frame.get(body_end..), Some(&b"\r\n"[..]), "{op:?}");
    let line_end = body_end.checked_sub(n).expect("the frame holds the payload");
    assert_eq!(frame.get(line_end..body_end), Some(m.payload()), "{op:?}");
    let line = frame.get(..line_end).unwrap_or_default();
    let line = line.strip_suffix(b"\n").expect("the control line ends before the payload");
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let size = line.split(|b| b" \t\r".contains(b)).rfind(|t| !t.is_empty());
    assert_eq!(size.and_then(crate::proto::frames::parse_size), Some(n), "{op:?}");
}

/// Encodes `op` again (on a pinned route without the account field) and checks it parses
/// back to `op`.
fn route_op_round_trip(
    op: &crate::proto::route::RouteOp,
    pinned: Option<&Bytes>,
    ls_minus_origin: bool,
) {
    use crate::proto::route::{self, RouteOp, RouteParser};

    let mut out = BytesMut::new();
    let acc = |a: &[u8]| if pinned.is_some() { None } else { Some(a.to_vec()) };
    let weight = |q: &Option<(Bytes, i32)>| q.as_ref().map(|(q, w)| (q.to_vec(), *w));
    match op {
        RouteOp::RsPlus { account, subject, queue }
        | RouteOp::LsPlus { account, subject, queue, .. } => {
            let origin = match op {
                RouteOp::LsPlus { origin, .. } => Some(origin),
                _ => None,
            };
            let name: &[u8] = if origin.is_some() { b"LS+ " } else { b"RS+ " };
            let weight = weight(queue);
            // A weight that parsed as -1 is written as a non-numeric one, as a peer sent it.
            let w_text = weight
                .as_ref()
                .map(|(_, w)| if *w < 0 { b"x".to_vec() } else { w.to_string().into_bytes() });
            crate::proto::server::interest_line(
                &mut out,
                name,
                origin.map_or(&[][..], |o| &o[..]),
                acc(account).as_deref(),
                subject,
                weight.as_ref().map_or(&[][..], |(q, _)| q),
                w_text.as_deref().unwrap_or_default(),
            );
        }
        RouteOp::RsMinus { account, subject, queue } => match pinned {
            Some(_) => route::rs_minus_pinned(&mut out, subject, queue.as_deref()),
            None => route::rs_minus(&mut out, account, subject, queue.as_deref()),
        },
        RouteOp::LsMinus { origin, account, subject, queue } => route::ls_minus(
            &mut out,
            origin.as_deref().unwrap_or_default(),
            acc(account).as_deref(),
            subject,
            queue.as_deref(),
        ),
        RouteOp::Msg(m) => match (pinned, m.header_len()) {
            (None, 0) => route::rmsg(
                &mut out,
                m.account(),
                m.subject(),
                m.reply(),
                m.queue_names(),
                m.payload(),
            ),
            (None, h) => route::hmsg(
                &mut out,
                m.account(),
                m.subject(),
                m.reply(),
                m.queue_names(),
                h,
                m.payload(),
            ),
            (Some(_), 0) => {
                route::rmsg_pinned(&mut out, m.subject(), m.reply(), m.queue_names(), m.payload())
            }
            (Some(_), h) => route::hmsg_pinned(
                &mut out,
                m.subject(),
                m.reply(),
                m.queue_names(),
                h,
                m.payload(),
            ),
        },
        RouteOp::Lmsg { origin, msg: m } => route::lmsg(
            &mut out,
            origin,
            acc(m.account()).as_deref(),
            m.subject(),
            m.reply(),
            m.queue_names(),
            m.header_len(),
            m.payload(),
        ),
        RouteOp::Info(json) => route::info(&mut out, json),
        RouteOp::Connect(json) => route::connect(&mut out, json),
        RouteOp::Ping | RouteOp::Pong | RouteOp::Ok | RouteOp::Err(_) => return,
    }
    let mut parser = RouteParser::new(RouteLimits::route(4096));
    parser.set_pinned_account(pinned.cloned());
    parser.set_ls_minus_origin(ls_minus_origin);
    let again = crate::proto::frames::parse_all(parser, &out);
    let [Ok(back)] = &again[..] else {
        panic!("{op:?} encoded as {out:?} parsed as {again:?}");
    };
    let same_queues = |m: &route::RoutedMsg, n: &route::RoutedMsg| {
        assert!(m.queue_names().eq(n.queue_names()), "{m:?} came back as {n:?}");
        n.with_queues_of(m)
    };
    match (op, back) {
        // The queue list comes back with single spaces between the names.
        (RouteOp::Msg(m), RouteOp::Msg(n)) => assert_eq!(m, &same_queues(m, n)),
        (RouteOp::Lmsg { origin: o, msg: m }, RouteOp::Lmsg { origin: p, msg: n }) => {
            assert_eq!(o, p);
            assert_eq!(m, &same_queues(m, n));
        }
        _ => assert_eq!(op, back),
    }
}

/// Decode `data` as every JSON argument Strait reads (client CONNECT and INFO, gateway and
/// route INFO and CONNECT) and check:
///
/// * no input panics;
/// * a decoded value, encoded again, decodes to the same value (for client CONNECT through
///   an encoding of all its fields);
/// * merging a CONNECT is idempotent, and a failed merge leaves the options unchanged;
/// * a server INFO built from the input's text encodes to JSON that a client INFO check
///   accepts.
pub fn json(data: &[u8]) {
    let _ = json::check_client_info(data);

    match ConnectOptions::from_json(data) {
        Ok(opts) => {
            let encoded = connect_options_json(&opts);
            assert_eq!(ConnectOptions::from_json(&encoded).as_ref(), Ok(&opts), "{encoded:?}");
            let mut twice = opts.clone();
            twice.merge_json(data).expect("a second merge of accepted JSON");
            assert_eq!(twice, opts, "merging twice changed the options");
        }
        Err(_) => {
            let mut opts =
                ConnectOptions { verbose: false, name: Some("x".into()), ..Default::default() };
            let before = opts.clone();
            assert!(opts.merge_json(data).is_err(), "merge accepts what from_json rejects");
            assert_eq!(opts, before, "a failed merge changed the options");
        }
    }

    if let Ok(info) = GatewayInfo::from_json(data) {
        let encoded = info.to_json();
        assert_eq!(
            GatewayInfo::from_json(&encoded).as_ref(),
            Ok(&info),
            "{:?}",
            String::from_utf8_lossy(&encoded)
        );
    }
    if let Ok(connect) = GatewayConnect::from_json(data) {
        let encoded = connect.to_json();
        assert_eq!(
            GatewayConnect::from_json(&encoded).as_ref(),
            Ok(&connect),
            "{:?}",
            String::from_utf8_lossy(&encoded)
        );
    }
    if let Ok(info) = RouteInfo::from_json(data) {
        let encoded = info.to_json();
        assert_eq!(
            RouteInfo::from_json(&encoded).as_ref(),
            Ok(&info),
            "{:?}",
            String::from_utf8_lossy(&encoded)
        );
    }
    if let Ok(connect) = RouteConnect::from_json(data) {
        // `lang` is read (to spot a client on the route port) but never written.
        let connect = RouteConnect { lang: String::new(), ..connect };
        let encoded = connect.to_json();
        assert_eq!(
            RouteConnect::from_json(&encoded).as_ref(),
            Ok(&connect),
            "{:?}",
            String::from_utf8_lossy(&encoded)
        );
    }

    let text = String::from_utf8_lossy(data).into_owned();
    let info = ServerInfo {
        server_id: text.clone(),
        server_name: text.clone(),
        version: text.clone(),
        host: text.clone(),
        client_ip: text.clone(),
        connect_urls: vec![text.clone()],
        remote_account: text,
        client_id: hash(data),
        ..Default::default()
    };
    let encoded = info.to_json();
    assert!(json::check_client_info(&encoded).is_ok(), "{:?}", String::from_utf8_lossy(&encoded));
}

/// Every field of `opts` as a JSON object (`None` fields left out).
fn connect_options_json(opts: &ConnectOptions) -> Vec<u8> {
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: serde_json::Value| {
        m.insert(k.to_owned(), v);
    };
    put("verbose", opts.verbose.into());
    put("pedantic", opts.pedantic.into());
    put("tls_required", opts.tls_required.into());
    put("protocol", opts.protocol.into());
    put("echo", opts.echo.into());
    put("no_responders", opts.no_responders.into());
    put("headers", opts.headers.into());
    put("new_account", opts.new_account.into());
    for (k, v) in [
        ("auth_token", &opts.auth_token),
        ("user", &opts.user),
        ("pass", &opts.pass),
        ("name", &opts.name),
        ("lang", &opts.lang),
        ("version", &opts.version),
        ("sig", &opts.sig),
        ("jwt", &opts.jwt),
        ("nkey", &opts.nkey),
        ("account", &opts.account),
    ] {
        if let Some(v) = v {
            put(k, v.clone().into());
        }
    }
    serde_json::to_vec(&serde_json::Value::Object(m)).expect("plain JSON serialises")
}

/// One step of a sublist script (see [`sublist`]).
#[derive(Clone, Debug)]
pub enum SublistOp {
    /// Insert `(subject, queue, value)`.
    Insert(Bytes, Option<Bytes>, u8),
    /// Remove `(subject, queue, value)`.
    Remove(Bytes, Option<Bytes>, u8),
    /// Match a published subject.
    Match(Bytes),
    /// Ask whether a published subject has interest.
    HasInterest(Bytes),
    /// List the stored subjects.
    Subjects,
    /// Match this many distinct literal subjects (more than the cache holds, to force sweeps).
    Flood(usize),
}

/// Run `ops` against a [`Sublist`] seeded with `seed` and a naive model (a set of entries,
/// matched one by one with [`subject::matches`]) and check every answer agrees: insert and
/// remove results, each match (through the cache, and from a second sublist that is only
/// asked at the end, so from a cold cache), `has_interest`, `subjects`, `len`, and that the
/// cache never holds more than [`CACHE_MAX`] results.
pub fn sublist(seed: u64, ops: &[SublistOp]) {
    let mut sl = Sublist::new(seed);
    let mut cold = Sublist::new(seed ^ 1);
    let mut model: BTreeSet<(Bytes, Option<Bytes>, u8)> = BTreeSet::new();
    let mut asked = Vec::new();
    for op in ops {
        match op {
            SublistOp::Insert(s, q, v) => {
                let got = sl.insert(s, q.as_deref(), *v);
                let want = subject::validate_subscribe(s)
                    .map(|()| model.insert((s.clone(), q.clone(), *v)));
                assert_eq!(got, want, "{op:?}");
                assert_eq!(cold.insert(s, q.as_deref(), *v), want, "{op:?} (cold)");
            }
            SublistOp::Remove(s, q, v) => {
                let got = sl.remove(s, q.as_deref(), *v);
                let want = model.remove(&(s.clone(), q.clone(), *v));
                assert_eq!(got, want, "{op:?}");
                assert_eq!(cold.remove(s, q.as_deref(), *v), want, "{op:?} (cold)");
            }
            SublistOp::Match(s) => {
                assert_eq!(*sl.matches(s), model_matches(&model, s), "{op:?}");
                asked.push(s.clone());
            }
            SublistOp::HasInterest(s) => {
                assert_eq!(sl.has_interest(s), !model_matches(&model, s).is_empty(), "{op:?}");
                asked.push(s.clone());
            }
            SublistOp::Subjects => assert_eq!(sl.subjects(), model_subjects(&model)),
            SublistOp::Flood(n) => {
                for i in 0..*n {
                    let s = format!("flood.{i}");
                    assert_eq!(
                        *sl.matches(s.as_bytes()),
                        model_matches(&model, s.as_bytes()),
                        "{s}"
                    );
                }
            }
        }
        assert_eq!(sl.len(), model.len());
        assert!(sl.cache_len() <= CACHE_MAX, "cache holds {}", sl.cache_len());
    }
    for s in &asked {
        let want = model_matches(&model, s);
        assert_eq!(*cold.matches(s), want, "cold {s:?}");
        assert_eq!(*sl.matches(s), want, "final {s:?}");
    }
    assert_eq!(cold.subjects(), model_subjects(&model));
    assert_eq!(cold.len(), model.len());
}

fn model_matches(model: &BTreeSet<(Bytes, Option<Bytes>, u8)>, published: &[u8]) -> Match<u8> {
    let mut plain = BTreeSet::new();
    let mut queues: BTreeMap<Bytes, BTreeSet<u8>> = BTreeMap::new();
    for (pattern, queue, value) in model {
        if !subject::matches(pattern, published) {
            continue;
        }
        match queue {
            None => plain.insert(*value),
            Some(q) => queues.entry(q.clone()).or_default().insert(*value),
        };
    }
    Match {
        plain: plain.into_iter().collect(),
        queues: queues
            .into_iter()
            .map(|(name, members)| QueueGroup { name, members: members.into_iter().collect() })
            .collect(),
    }
}

fn model_subjects(model: &BTreeSet<(Bytes, Option<Bytes>, u8)>) -> Vec<(Bytes, Option<Bytes>)> {
    let keys: BTreeSet<_> = model.iter().map(|(s, q, _)| (s.clone(), q.clone())).collect();
    keys.into_iter().collect()
}

/// A fuzzing driver for one [`Node`]: feeds bytes and timeouts, drains events and outboxes as
/// `strait-net` would, and checks the driving contract on the way.
struct Driver {
    node: Node,
    now: Instant,
    rng: Rng,
    /// Everything taken from each link's outbox, in order.
    wire: HashMap<LinkId, Vec<u8>>,
    /// Links that got their `Close` event.
    closed: HashSet<LinkId>,
    /// Closed links whose last bytes were taken: their outbox must stay empty.
    finished: HashSet<LinkId>,
    /// Links whose writer never takes anything (a peer that does not read).
    stalled: HashSet<LinkId>,
    /// Clients that answer every PING they are sent with a PONG (so they do not go stale).
    ponging: HashSet<LinkId>,
}

impl Driver {
    fn new(node: Node, seed: u64) -> Self {
        Self {
            node,
            // Only an origin: every later time is this plus offsets drawn from the input, so a
            // run is a pure function of its bytes (std offers no other way to make an Instant).
            now: Instant::now(),
            rng: Rng::new(seed),
            wire: HashMap::new(),
            closed: HashSet::new(),
            finished: HashSet::new(),
            stalled: HashSet::new(),
            ponging: HashSet::new(),
        }
    }

    /// Handle every pending event. Dials fail (there is no network).
    fn events(&mut self) {
        while let Some(event) = self.node.poll_event() {
            match event {
                Event::Transmit(link) => {
                    assert!(!self.finished.contains(&link), "Transmit for finished {link:?}");
                }
                Event::Close { link, reason, flush } => {
                    assert!(self.closed.insert(link), "second Close for {link:?}: {reason:?}");
                    assert!(!self.node.is_open(link), "{link:?} open after Close");
                    if let CloseReason::Client(e) = &reason {
                        assert_eq!(e.answer().flush, flush, "{reason:?}");
                    }
                }
                Event::Dial(d) => {
                    let _ = self.node.handle_dial(self.now, d.id, Err("fuzz: no network".into()));
                }
                Event::Log(_, line) => assert!(!line.is_empty(), "empty log line"),
            }
        }
    }

    /// Take `link`'s queued bytes as a writer would, until nothing is left (each call
    /// acknowledges the batch before it as written).
    fn take(&mut self, link: LinkId) {
        if self.stalled.contains(&link) && !self.closed.contains(&link) {
            return;
        }
        let mut spare = BytesMut::new();
        loop {
            let status = self.node.take_outbox(link, &mut spare);
            if status == OutboxStatus::Gone || spare.is_empty() {
                spare.clear();
                break;
            }
            assert!(!self.finished.contains(&link), "{link:?} wrote {spare:?} after it closed");
            self.wire.entry(link).or_default().extend_from_slice(&spare);
            let pings = spare.windows(6).any(|w| w == b"PING\r\n");
            spare.clear();
            if pings && self.ponging.contains(&link) {
                let mut pong = BytesMut::from(&b"PONG\r\n"[..]);
                self.node.handle_read(link, self.now, &mut pong);
                self.events();
            }
        }
        if self.closed.contains(&link) {
            self.finished.insert(link);
        }
    }

    /// Maybe move the clock (to the next deadline or by a random step) and fire what is due.
    fn maybe_tick(&mut self, links: &[LinkId]) {
        if self.rng.below(8) != 0 {
            return;
        }
        let deadline = links.iter().filter_map(|l| self.node.poll_timeout(*l)).min();
        self.now = match deadline {
            Some(at) if self.rng.below(4) == 0 => self.now.max(at),
            _ => self.now + Duration::from_millis(self.rng.below(1000) as u64),
        };
        for link in links {
            if self.node.poll_timeout(*link).is_some_and(|at| at <= self.now) {
                self.node.handle_timeout(*link, self.now);
            }
        }
        if self.node.poll_node_timeout().is_some_and(|at| at <= self.now) {
            self.node.handle_node_timeout(self.now);
        }
        self.events();
    }

    /// Feed `stream` to `link` in random chunks, with timeouts and writes in between, and check
    /// after each step: the read buffer stays within `max_buf`, a closed link stays closed and
    /// writes nothing more, and `check` (per-step node invariants) holds.
    fn feed(
        &mut self,
        link: LinkId,
        others: &[LinkId],
        stream: &[u8],
        max_buf: usize,
        check: &dyn Fn(&Node),
    ) {
        let mut all = vec![link];
        all.extend_from_slice(others);
        let mut buf = BytesMut::new();
        let mut pos = 0;
        while pos < stream.len() {
            let span = if self.rng.below(4) == 0 { 512 } else { 16 };
            let n = (1 + self.rng.below(span)).min(stream.len() - pos);
            buf.extend_from_slice(&stream[pos..pos + n]);
            pos += n;
            let was_closed = self.closed.contains(&link);
            self.node.handle_read(link, self.now, &mut buf);
            self.events();
            if self.node.is_open(link) {
                assert!(buf.len() <= max_buf, "read buffer holds {} bytes", buf.len());
            } else {
                // The driver stops reading a closing link.
                buf.clear();
            }
            if was_closed {
                assert!(!self.node.is_open(link), "{link:?} reopened");
            }
            self.maybe_tick(&all);
            for l in &all {
                if self.rng.below(2) == 0 || self.closed.contains(l) {
                    self.take(*l);
                }
            }
            check(&self.node);
        }
        // The peer hangs up: the driver closes the link and flushes what is left.
        for l in &all {
            self.take(*l);
        }
        self.node.close_link(link, crate::error::DriverClose::PeerClosed);
        self.events();
        self.stalled.clear();
        for l in &all {
            self.take(*l);
        }
        self.node.handle_closed(link, self.now);
        self.events();
        check(&self.node);
    }
}

/// The sids the client subscribed with and the number of SUB ops in `stream` (an upper bound:
/// parsing stops at the first error, as the link does).
fn subscriptions_in(stream: &[u8], limits: Limits) -> (HashSet<Bytes>, usize) {
    let mut sids = HashSet::new();
    let mut subs = 0;
    for op in crate::proto::client::parse_all(stream, limits).into_iter().flatten() {
        if let ClientOp::Sub { sid, .. } = op {
            sids.insert(sid);
            subs += 1;
        }
    }
    (sids, subs)
}

/// Checks that `wire` is a sequence of complete, well-formed server→client frames: `INFO`
/// with a JSON object a client accepts, `MSG`/`HMSG` with valid sizes (at most
/// `max_payload`), a known sid and their payload, `PING`, `PONG`, `+OK`, `-ERR '…'`.
fn check_server_stream(wire: &[u8], max_payload: usize, sids: &HashSet<Bytes>) {
    let mut rest = wire;
    while !rest.is_empty() {
        let text = || String::from_utf8_lossy(rest).into_owned();
        let nl =
            memchr::memchr(b'\n', rest).unwrap_or_else(|| panic!("incomplete line {:?}", text()));
        assert!(nl > 0 && rest[nl - 1] == b'\r', "line without CRLF: {:?}", text());
        let line = &rest[..nl - 1];
        let after = &rest[nl + 1..];
        let args: Vec<&[u8]> = line.split(|b| *b == b' ').collect();
        match args[0] {
            b"PING" | b"PONG" | b"+OK" if args.len() == 1 => rest = after,
            b"-ERR" => {
                let e = &line[4..];
                assert!(
                    e.len() >= 3 && e.starts_with(b" '") && e.ends_with(b"'"),
                    "bad -ERR {:?}",
                    text()
                );
                rest = after;
            }
            b"INFO" => {
                let json =
                    line[5..].strip_suffix(b" ").unwrap_or_else(|| panic!("INFO {:?}", text()));
                let v: serde_json::Value = serde_json::from_slice(json).expect("INFO is JSON");
                assert!(v.is_object(), "INFO not an object: {:?}", text());
                assert!(
                    json::check_client_info(json).is_ok(),
                    "INFO a client rejects: {:?}",
                    text()
                );
                rest = after;
            }
            b"MSG" | b"HMSG" => {
                let hmsg = args[0] == b"HMSG";
                let n = args.len() - 1 - usize::from(hmsg);
                assert!(n == 3 || n == 4, "bad {:?}", text());
                // A PUB argument may hold a CR (nats-server splits PUB on spaces and tabs
                // only), and it is delivered as it came.
                let token = |a: &&[u8]| !a.is_empty() && !a.iter().any(|b| b" \t\n".contains(b));
                assert!(args[1..].iter().all(token), "empty or bad token {:?}", text());
                assert!(sids.contains(args[2]), "unknown sid in {:?}", text());
                let size = |a: &[u8]| -> usize {
                    std::str::from_utf8(a)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or_else(|| panic!("size {:?}", text()))
                };
                let total = size(args[args.len() - 1]);
                if hmsg {
                    assert!(size(args[args.len() - 2]) <= total, "header > total {:?}", text());
                }
                assert!(total <= max_payload, "payload over max_payload {:?}", text());
                assert!(
                    after.len() >= total + 2 && &after[total..total + 2] == b"\r\n",
                    "bad payload {:?}",
                    text()
                );
                rest = &after[total + 2..];
            }
            _ => panic!("not a server frame: {:?}", text()),
        }
    }
}

/// The users table of the fuzzed CONNECT/auth path: an nkey user (whose signature the input
/// cannot forge, so its CONNECTs exercise the refusals), the observer's password user and a
/// `no_auth_user` candidate, all in account `A` with tight limits.
fn users_with_nkeys() -> crate::node::Auth {
    let user = |name: &str, password: &str, nkey: bool| crate::node::User {
        user: name.into(),
        password: password.into(),
        nkey,
        account: Some("A".into()),
        ..Default::default()
    };
    crate::node::Auth::Users(vec![
        user("UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK", "", true),
        user("u", "p", false),
        user("anon", "", false),
    ])
}

/// Feed `data` to a node with one client link, as a client would send it, and check the link
/// state machine: no panic; events are well-formed (at most one `Close` per link; the flush
/// flag matches the reason); the read buffer stays within `max_control_line + max_payload +
/// 4`; a closed link stays closed and writes nothing after its last flush; what the server
/// writes to the client and to a second, subscribed-to-everything client is valid
/// server→client protocol; subscriptions never outnumber the SUB ops fed; and no client has
/// more than `max_pending` plus one frame queued, even one that never reads.
///
/// The first byte chooses the configuration (auth: none, token, one user, or nkey and password
/// users with `no_auth_user` and account limits; headers; whether the fuzzed client reads what
/// it is sent; client debug/trace logging and its payload cut) and seeds the schedule: chunk
/// sizes, clock steps, writes.
pub fn client_link(data: &[u8]) {
    let Some((&ctl, stream)) = data.split_first() else { return };
    let limits = Limits { max_control_line: 128, max_payload: 256 };
    let auth = match ctl & 3 {
        1 => users_with_nkeys(),
        2 => crate::node::Auth::Token("tok".into()),
        3 => crate::node::Auth::UserPassword { user: "u".into(), password: "p".into() },
        _ => crate::node::Auth::None,
    };
    let users = matches!(auth, crate::node::Auth::Users(_));
    let limits_a = crate::node::AccountLimits {
        max_connections: Some(3),
        max_subscriptions: Some(4),
        max_payload: Some(64),
    };
    let config = NodeConfig {
        limits,
        max_pending: 2048,
        ping_interval: Duration::from_secs(2),
        auth_timeout: Duration::from_secs(1),
        auth,
        no_auth_user: (users && ctl & 16 != 0).then(|| "anon".to_owned()),
        account_limits: vec![("A".to_owned(), limits_a)],
        headers: ctl & 4 == 0,
        // The client log lines (traces, parser error positions) see the fuzzed bytes too.
        debug: ctl & 16 != 0,
        trace: ctl & 16 != 0,
        max_traced_msg_len: if ctl & 32 != 0 { 8 } else { 0 },
        ..NodeConfig::default()
    };
    let max_pending = config.max_pending;
    let mut d = Driver::new(Node::new(config, u64::from(ctl)), u64::from(ctl));
    let now = d.now;
    let observer = d.node.accept_client(now, None);
    let mut setup = BytesMut::from(
        &br#"CONNECT {"verbose":false,"pedantic":false,"headers":true,"user":"u","pass":"p","auth_token":"tok"}
SUB > 1
"#[..],
    );
    d.node.handle_read(observer, now, &mut setup);
    d.ponging.insert(observer);
    let client = d.node.accept_client(now, None);
    d.events();
    if ctl & 8 != 0 {
        d.stalled.insert(client);
    }
    let (sids, subs) = subscriptions_in(stream, limits);
    // A frame: the control line (subject, sid, reply, sizes) and the payload with CRLFs.
    let frame = 2 * limits.max_control_line + limits.max_payload + 32;
    let check = |node: &Node| {
        assert!(node.num_subscriptions() <= subs + 1, "{} subscriptions", node.num_subscriptions());
        for c in node.clients() {
            assert!(
                c.pending_bytes <= max_pending + frame,
                "client {} has {} bytes queued",
                c.cid,
                c.pending_bytes
            );
        }
    };
    d.feed(client, &[observer], stream, limits.max_control_line + limits.max_payload + 4, &check);
    let empty = Vec::new();
    check_server_stream(d.wire.get(&client).unwrap_or(&empty), limits.max_payload, &sids);
    let one = HashSet::from([Bytes::from_static(b"1")]);
    check_server_stream(d.wire.get(&observer).unwrap_or(&empty), limits.max_payload, &one);
}

/// A started node of `config` with one client subscribed to everything (`SUB > 1`,
/// `SUB > q 2`) that answers PINGs: the observer of what a server-to-server link delivers.
fn observed(config: NodeConfig, ctl: u8) -> (Driver, LinkId) {
    let mut d = Driver::new(Node::new(config, u64::from(ctl)), u64::from(ctl));
    let now = d.now;
    d.node.start(now);
    let observer = d.node.accept_client(now, None);
    let mut setup = BytesMut::from(
        &b"CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB > 1\r\nSUB > q 2\r\n"[..],
    );
    d.node.handle_read(observer, now, &mut setup);
    d.ponging.insert(observer);
    (d, observer)
}

/// A route link fed hostile bytes from its peer, after a valid handshake prefix or not
/// (`data[0]` picks the options: route auth, pooling, a pinned account): the node must never
/// panic, must write only frames a route parser accepts, and must hand the observing client
/// only well-formed frames within the payload limit.
pub fn route_link(data: &[u8]) {
    use crate::peer_url::PeerUrl;
    use crate::proto::route::{RouteOp, RouteParser};
    use crate::route::ClusterConfig;

    let Some((&ctl, stream)) = data.split_first() else { return };
    let limits = Limits { max_control_line: 128, max_payload: 256 };
    let mut c = ClusterConfig::new("C", PeerUrl::new("127.0.0.1", 6222));
    if ctl & 1 != 0 {
        c.user = Some("ru".into());
        c.password = Some("rp".into());
    }
    if ctl & 2 != 0 {
        c.pool_size = -1;
    }
    if ctl & 4 != 0 {
        c.pinned_accounts = vec!["$G".into()];
    }
    let config = NodeConfig {
        limits,
        max_pending: 4096,
        ping_interval: Duration::from_secs(2),
        server_name: Some("A1".into()),
        cluster: Some(c),
        ..NodeConfig::default()
    };
    let (mut d, observer) = observed(config, ctl);
    let now = d.now;
    let link = d.node.accept_route(now, None);
    d.events();
    let route_limits = RouteLimits::route(limits.max_control_line);
    // A route has no payload limit beyond the size field: bound the buffer by what a frame of
    // this stream can hold.
    let max_buf = route_limits.max_control_line + stream.len() + 4;
    d.feed(link, &[observer], stream, max_buf, &|_| {});

    let empty = Vec::new();
    let wire = d.wire.get(&link).unwrap_or(&empty);
    // The peer may have made it a pinned route: then lines carry no account.
    let parses = |pinned: Option<Bytes>| {
        let mut parser = RouteParser::new(RouteLimits::route(4096));
        parser.set_pinned_account(pinned);
        let mut buf = BytesMut::from(&wire[..]);
        loop {
            match parser.parse(&mut buf) {
                Ok(Some(RouteOp::Info(json))) => {
                    assert!(RouteInfo::from_json(&json).is_ok(), "INFO {json:?}");
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => return Err(format!("{e:?}")),
            }
        }
        if buf.is_empty() && parser.at_frame_start() { Ok(()) } else { Err("partial frame".into()) }
    };
    if let Err(e) = parses(None) {
        let pinned = parses(Some(Bytes::from_static(b"$G")));
        assert!(
            pinned.is_ok(),
            "route output does not parse ({e}): {:?}",
            String::from_utf8_lossy(wire)
        );
    }
    let sids = HashSet::from([Bytes::from_static(b"1"), Bytes::from_static(b"2")]);
    check_server_stream(d.wire.get(&observer).unwrap_or(&empty), limits.max_payload, &sids);
}

/// Feed `data` to a node with one inbound gateway link, as a remote gateway would send it, and
/// check the gateway state machine: no panic; events are well-formed; the read buffer stays
/// within the gateway limits; a closed link stays closed and writes nothing after its last
/// flush; what the node writes on the gateway link parses with the gateway parser into
/// complete frames; what it delivers to a local client subscribed to everything is valid
/// server→client protocol.
///
/// The first byte chooses the configuration (interest-only or optimistic, gateway
/// authorization) and seeds the schedule.
pub fn gateway_link(data: &[u8]) {
    use crate::gateway::{GatewayConfig, GatewayUrl, RemoteConfig};
    use crate::proto::gateway::{GatewayOp, GatewayParser};

    let Some((&ctl, stream)) = data.split_first() else { return };
    let limits = Limits { max_control_line: 128, max_payload: 256 };
    let mut g = GatewayConfig::new("A", GatewayUrl::new("127.0.0.1", 7222));
    g.remotes =
        vec![RemoteConfig { name: "B".into(), urls: vec![GatewayUrl::new("127.0.0.1", 7223)] }];
    g.interest_only = ctl & 1 == 0;
    if ctl & 2 != 0 {
        g.user = Some("gw".into());
        g.password = Some("pw".into());
    }
    let config = NodeConfig {
        limits,
        max_pending: 4096,
        ping_interval: Duration::from_secs(2),
        server_name: Some("A1".into()),
        gateway: Some(g),
        ..NodeConfig::default()
    };
    let (mut d, observer) = observed(config, ctl);
    let now = d.now;
    let link = d.node.accept_gateway(now, None);
    d.events();
    let gw_limits = GatewayLimits {
        max_control_line: 16 * limits.max_control_line,
        ..GatewayLimits::default()
    };
    let max_buf = gw_limits.max_control_line + gw_limits.max_payload + 4;
    d.feed(link, &[observer], stream, max_buf, &|_| {});

    let empty = Vec::new();
    let wire = d.wire.get(&link).unwrap_or(&empty);
    let mut parser = GatewayParser::new(GatewayLimits::default());
    let mut buf = BytesMut::from(&wire[..]);
    loop {
        match parser.parse(&mut buf) {
            Ok(Some(GatewayOp::Info(json))) => {
                assert!(GatewayInfo::from_json(&json).is_ok(), "INFO {json:?}");
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => panic!(
                "gateway output does not parse: {e:?} in {:?}",
                String::from_utf8_lossy(wire)
            ),
        }
    }
    assert!(
        buf.is_empty() && parser.at_frame_start(),
        "partial frame at the end of {:?}",
        String::from_utf8_lossy(wire)
    );
    let sids = HashSet::from([Bytes::from_static(b"1"), Bytes::from_static(b"2")]);
    check_server_stream(d.wire.get(&observer).unwrap_or(&empty), limits.max_payload, &sids);
}

/// Compile permissions decoded from `data` and check every publish, subscribe and delivery
/// verdict (and the publish cache) against a naive token-by-token model of nats-server's rules.
pub fn permissions(data: &[u8]) {
    crate::permissions::model::check(data);
}
