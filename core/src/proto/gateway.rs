//! The gateway protocol (links between clusters): the incremental parser for what a gateway
//! peer sends, and the encoders for what we send one. See `shared/docs/gateway-protocol.md` §3
//! and §6.1; the shared framing rules are those of `client-protocol.md` §3.
//!
//! The parser works like the client one ([`crate::proto::client`]): [`GatewayParser::parse`]
//! takes complete frames off the front of the read buffer and returns them as [`GatewayOp`]s
//! whose fields are `Bytes` slices of that buffer (no copy, no allocation per frame). An
//! incomplete frame is `Ok(None)` and the next call resumes where it stopped; limits are
//! enforced before anything is buffered beyond them; errors are sticky.
//!
//! The encoders append to a caller-owned buffer with a single reservation each.

use std::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use memchr::memchr;

use crate::proto::encode::Decimal;
use crate::proto::frames::{self, FrameParser, is_space, parse_size};

/// Parser limits for one gateway connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GatewayLimits {
    /// Longest argument of a control line (bytes after the op name and its separator, CR
    /// dropped). nats-server allows 16 × `max_control_line` on gateway connections: 65 536
    /// with the default 4096.
    pub max_control_line: usize,
    /// Largest RMSG/HMSG total size accepted.
    ///
    /// **Deliberate difference**: nats-server does not check the size of messages that arrive
    /// from a gateway at all (2.15.1 delivered a 2 MiB `RMSG` on a 1 MiB server; any size of
    /// up to 9 digits is accepted). Strait keeps a pending payload bounded with this hard
    /// safety cap (default 64 MiB), far above any sane `max_payload`, and answers a larger one
    /// with [`GatewayParseError::PayloadTooLarge`].
    pub max_payload: usize,
}

impl Default for GatewayLimits {
    fn default() -> Self {
        Self { max_control_line: 16 * 4096, max_payload: 64 * 1024 * 1024 }
    }
}

/// One frame from a gateway peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayOp {
    /// `INFO <json>`: the raw argument (may be empty).
    Info(Bytes),
    /// `CONNECT <json>`: the raw argument (may be empty).
    Connect(Bytes),
    /// `PING`.
    Ping,
    /// `PONG`.
    Pong,
    /// `+OK`.
    Ok,
    /// `-ERR <text>`: the raw argument, quotes included.
    Err(Bytes),
    /// `RS+ <account> <subject> [<queue> <weight>]` (also spelled `SUB …` on a gateway
    /// connection, a nats-server quirk kept here).
    RsPlus {
        /// Account name.
        account: Bytes,
        /// Subject (not validated by the parser).
        subject: Bytes,
        /// Queue group and its weight. nats-server parses the weight but does not use it; an
        /// unparsable weight is accepted (as there) and reported as 0.
        queue: Option<(Bytes, u32)>,
    },
    /// `RS- <account> <subject> [<queue>]` (also spelled `UNSUB …`).
    RsMinus {
        /// Account name.
        account: Bytes,
        /// Subject.
        subject: Bytes,
        /// Queue group, if any.
        queue: Option<Bytes>,
    },
    /// `A+ <account>`: the whole argument, taken verbatim as nats-server does (so it may
    /// contain spaces or be empty; such a name matches no account).
    APlus(Bytes),
    /// `A- <account>` (also `Au <account>`, a nats-server quirk): the whole argument verbatim.
    AMinus(Bytes),
    /// `RMSG` or `HMSG`.
    Msg(RoutedMsg),
}

/// A message routed over a gateway (`RMSG`, or `HMSG` when `header_len > 0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutedMsg {
    /// Account name.
    pub account: Bytes,
    /// Subject (not validated by the parser; may carry the `_GR_.` prefix).
    pub subject: Bytes,
    /// Reply subject, if any.
    pub reply: Option<Bytes>,
    /// The queue-group list as it arrived: names separated by spaces, tabs or CRs, never
    /// empty when present. Iterate it with [`RoutedMsg::queue_names`]. `None` when the message
    /// has no queue list (then it must not be delivered to queue subscribers).
    pub queues: Option<Bytes>,
    /// Length of the header block at the start of `payload`; 0 for RMSG. An HMSG with a
    /// header size of 0 is reported like an RMSG, as nats-server treats it (2.15.1 delivered
    /// `HMSG $G foo 0 2` to a client as `MSG`).
    pub header_len: usize,
    /// Headers followed by the body, exactly `size` bytes (the trailing CRLF removed).
    pub payload: Bytes,
}

impl RoutedMsg {
    /// The queue-group names of [`RoutedMsg::queues`], in wire order (empty when there are
    /// none).
    pub fn queue_names(&self) -> impl Iterator<Item = &[u8]> + Clone {
        self.queues
            .as_deref()
            .unwrap_or_default()
            .split(is_arg_sep as fn(&u8) -> bool)
            .filter(|name| !name.is_empty())
    }
}

/// Why a gateway byte stream cannot be parsed. Errors are sticky: once returned, every later
/// call returns the same error. Every error closes the connection; [`GatewayParseError::err_text`]
/// gives the `-ERR` text to send first, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayParseError {
    /// An unknown op (including `MSG`, `LMSG`, `LS+`, `LS-`, which nats-server accepts only
    /// on other connection kinds), a bad letter inside an op name, a missing separator after
    /// it, or bad bytes after a payload. Wire answer: `-ERR 'Unknown Protocol Operation'`,
    /// close (`Protocol Violation`).
    UnknownOp,
    /// A control-line argument longer than `max_control_line`.
    /// Wire answer: `-ERR 'maximum control line exceeded'`, close
    /// (`Maximum Control Line Exceeded`).
    MaxControlLine,
    /// Malformed arguments of RS+/RS-/RMSG/HMSG (wrong count, bad reply indicator, bad size,
    /// header size above total size), of a PUB, or any HPUB; the text names the op and the
    /// reason, for logs. nats-server closes without `-ERR` (`Protocol Violation`).
    BadArgs(&'static str),
    /// An RMSG/HMSG larger than [`GatewayLimits::max_payload`] (Strait's safety cap, see
    /// there), or a `PUB` with a non-empty payload (nats-server 2.15.1 answers those with
    /// `-ERR 'Maximum Payload Violation'`: a gateway connection's own payload limit is 0).
    /// Wire answer: `-ERR 'Maximum Payload Violation'`, close.
    PayloadTooLarge,
}

impl GatewayParseError {
    /// The text to send in `-ERR '…'` before closing, or `None` to close without one.
    pub fn err_text(self) -> Option<&'static str> {
        match self {
            Self::UnknownOp => Some("Unknown Protocol Operation"),
            Self::MaxControlLine => Some("maximum control line exceeded"),
            Self::PayloadTooLarge => Some("Maximum Payload Violation"),
            Self::BadArgs(_) => None,
        }
    }
}

impl fmt::Display for GatewayParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadArgs(why) => write!(f, "gateway parse error: {why}"),
            other => f.write_str(other.err_text().unwrap_or("gateway parse error")),
        }
    }
}

impl std::error::Error for GatewayParseError {}

/// The incremental parser for one gateway connection (either direction).
///
/// Call [`GatewayParser::parse`] in a loop after appending bytes to the read buffer until it
/// returns `Ok(None)` (need more bytes) or an error (fatal: send
/// [`GatewayParseError::err_text`] if any, then close). The parser does not know the
/// connection's direction or handshake state: which ops are acceptable when is the link's job
/// (e.g. nats-server answers an inbound connection whose first op does not start with `C`
/// with `Authorization Violation`; see [`GatewayParser::at_frame_start`]).
///
/// Behaviour on ops that only misbehaving peers send (checked against nats-server 2.15.1):
/// * `SUB` and `UNSUB` parse as `RS+` and `RS-`, `Au` (lower-case `u` only) as `A-`.
/// * `MSG`, `LMSG`, `LS+`, `LS-` are [`GatewayParseError::UnknownOp`].
/// * `PUB` with a well-formed line and a non-zero size is
///   [`GatewayParseError::PayloadTooLarge`] (2.15.1: `-ERR 'Maximum Payload Violation'`,
///   because a gateway connection's payload limit is 0); any other `PUB` is `BadArgs`.
///   **Deviation**: 2.15.1 processes `PUB <subject> 0` as a message for the empty account
///   (it answers `A- `); Strait closes the link instead.
/// * `HPUB` is `BadArgs` once its line is complete (2.15.1: `message headers not supported`,
///   closed without `-ERR`).
///
/// Other deviations, on input no peer sends (shared with the client parser): a control line
/// ends at the first `\n` and only a `\r` right before it is dropped (nats-server keeps the
/// first byte after the op's separator in the argument even when it is `\n`, and a `\r`
/// elsewhere in the argument makes it drop the argument's last byte); the size texts of a
/// received message are not kept, so they are re-encoded without leading zeros.
#[derive(Debug)]
pub struct GatewayParser {
    limits: GatewayLimits,
    state: State,
    /// The error returned once; every later call returns it again.
    failed: Option<GatewayParseError>,
}

impl GatewayParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: GatewayLimits) -> Self {
        Self { limits, state: State::Start, failed: None }
    }

    /// Change the limits (e.g. after a configuration reload).
    pub fn set_limits(&mut self, limits: GatewayLimits) {
        self.limits = limits;
    }

    /// Take the next complete frame off the front of `buf`.
    ///
    /// `Ok(None)`: `buf` holds no complete frame; call again after appending more bytes. Bytes
    /// the parser is done with (op names, separators, what follows `PING`/`PONG`/`+OK` on their
    /// line) may already have been removed from `buf`: the parser remembers them, and this
    /// keeps the buffer bounded however slowly a frame arrives. A pending frame never holds
    /// more than `max_control_line + max_payload + 4` bytes.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<GatewayOp>, GatewayParseError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let res = self.step(buf);
        if let Err(e) = res {
            self.failed = Some(e);
        }
        res
    }

    /// True when the parser is between frames: the next byte in the buffer starts an op.
    pub fn at_frame_start(&self) -> bool {
        self.failed.is_none() && matches!(self.state, State::Start)
    }

    fn step(&mut self, buf: &mut BytesMut) -> Result<Option<GatewayOp>, GatewayParseError> {
        // Each arm either moves to the next state with bytes left to look at, or returns. The
        // loop runs at most once per state of one frame: Start, Name, Sep, Arg, Payload.
        loop {
            match self.state {
                State::Start => {
                    let Some(&b) = buf.first() else {
                        return Ok(None);
                    };
                    let op = Op::from_first_letter(b).ok_or(GatewayParseError::UnknownOp)?;
                    buf.advance(1);
                    self.state = State::Name { op, matched: 1 };
                }
                State::Name { mut op, mut matched } => {
                    let mut i = 0;
                    while let Some(&want) = op.name().get(matched) {
                        let Some(&b) = buf.get(i) else {
                            buf.advance(i);
                            self.state = State::Name { op, matched };
                            return Ok(None);
                        };
                        if b.to_ascii_uppercase() != want {
                            // Ops sharing a prefix (PUB/PING/PONG, HPUB/HMSG, RS+/RS-/RMSG,
                            // A+/A-) diverge here, or the op is unknown.
                            op = op.refine(matched, b).ok_or(GatewayParseError::UnknownOp)?;
                        }
                        matched += 1;
                        i += 1;
                    }
                    buf.advance(i);
                    self.state = match op {
                        Op::Ping | Op::Pong | Op::Ok => State::Skip(op),
                        Op::Connect | Op::Info => State::Sep { op, need_space: false },
                        _ => State::Sep { op, need_space: true },
                    };
                }
                State::Skip(op) => {
                    // nats-server ignores everything up to `\n` after these names, with no
                    // length limit: drop it as it comes so the buffer cannot grow.
                    let Some(nl) = memchr(b'\n', buf) else {
                        buf.clear();
                        return Ok(None);
                    };
                    buf.advance(nl + 1);
                    self.state = State::Start;
                    return Ok(Some(match op {
                        Op::Ping => GatewayOp::Ping,
                        Op::Pong => GatewayOp::Pong,
                        _ => GatewayOp::Ok,
                    }));
                }
                State::Sep { op, need_space } => {
                    let ws = buf.iter().take_while(|b| is_space(**b)).count();
                    if need_space && ws == 0 && !buf.is_empty() {
                        return Err(GatewayParseError::UnknownOp);
                    }
                    // Separators do not count towards max_control_line in nats-server, so they
                    // are dropped as they come rather than buffered.
                    buf.advance(ws);
                    if buf.is_empty() {
                        self.state = State::Sep { op, need_space: need_space && ws == 0 };
                        return Ok(None);
                    }
                    self.state = State::Arg { op, scanned: 0 };
                }
                State::Arg { op, scanned } => {
                    let nl = buf
                        .get(scanned..)
                        .and_then(|rest| memchr(b'\n', rest))
                        .map(|i| i + scanned);
                    let Some(nl) = nl else {
                        // A partial line: its last byte may be the CR of the CRLF, which does
                        // not count. A longer complete line fails too, so checking now only
                        // brings the error forward and bounds the buffer.
                        let len = buf.len() - usize::from(buf.last() == Some(&b'\r'));
                        if len > self.limits.max_control_line {
                            return Err(GatewayParseError::MaxControlLine);
                        }
                        self.state = State::Arg { op, scanned: buf.len() };
                        return Ok(None);
                    };
                    let end = if nl > 0 && buf.get(nl - 1) == Some(&b'\r') { nl - 1 } else { nl };
                    if end > self.limits.max_control_line {
                        return Err(GatewayParseError::MaxControlLine);
                    }
                    let arg = buf.get(..end).unwrap_or_default();
                    match op {
                        Op::Rmsg | Op::Hmsg => {
                            let pending = self.msg_line(op == Op::Hmsg, arg)?;
                            self.state = State::Payload(Pending { line_len: nl + 1, ..pending });
                            continue;
                        }
                        Op::Pub => return Err(pub_error(arg)),
                        Op::Hpub => {
                            return Err(GatewayParseError::BadArgs(
                                "HPUB: headers not supported on a gateway connection",
                            ));
                        }
                        _ => {}
                    }
                    let line = buf.split_to(nl + 1).freeze();
                    self.state = State::Start;
                    return control_op(op, &line, end).map(Some);
                }
                State::Payload(p) => {
                    // The payload itself is never scanned: only the two bytes after it are
                    // checked, each as soon as it has arrived.
                    let body_end = p.line_len.saturating_add(p.size);
                    if buf.get(body_end).is_some_and(|b| *b != b'\r')
                        || buf.get(body_end + 1).is_some_and(|b| *b != b'\n')
                    {
                        return Err(GatewayParseError::UnknownOp);
                    }
                    if buf.len() < body_end + 2 {
                        return Ok(None);
                    }
                    let frame = buf.split_to(body_end + 2).freeze();
                    self.state = State::Start;
                    let slice = |(s, e): (usize, usize)| frame.slice(s..e);
                    return Ok(Some(GatewayOp::Msg(RoutedMsg {
                        account: slice(p.account),
                        subject: slice(p.subject),
                        reply: p.reply.map(slice),
                        queues: p.queues.map(slice),
                        header_len: p.header_len,
                        payload: frame.slice(p.line_len..body_end),
                    })));
                }
            }
        }
    }

    /// Checks a complete RMSG/HMSG argument (`arg` starts at the buffer's front) in
    /// nats-server's order (`processRoutedMsgArgs`, `processRoutedHeaderMsgArgs`): argument
    /// count and reply indicator, header size, total size, header size against total; then
    /// Strait's payload cap.
    fn msg_line(&self, hmsg: bool, arg: &[u8]) -> Result<Pending, GatewayParseError> {
        use GatewayParseError::BadArgs;
        let (sizes, few, indicator, bad_size) = if hmsg {
            (
                2,
                "HMSG: too few arguments",
                "HMSG: bad or missing reply indicator",
                "HMSG: bad or missing size",
            )
        } else {
            (
                1,
                "RMSG: too few arguments",
                "RMSG: bad or missing reply indicator",
                "RMSG: bad or missing size",
            )
        };
        let args = Args::split(arg, true);
        let n = args.len;
        let text = |i: usize| {
            let (s, e) = args.get(i);
            arg.get(s..e).unwrap_or_default()
        };
        // Queue names are the arguments from `first` up to (excluding) the sizes.
        let queue_list = |first: usize| {
            let last = n - sizes - 1;
            (first <= last).then(|| (args.get(first).0, args.get(last).1))
        };
        let (reply, queues) = if n < 2 + sizes {
            return Err(BadArgs(few));
        } else if n == 2 + sizes {
            (None, None)
        } else if n == 3 + sizes {
            (Some(args.get(2)), None)
        } else {
            // With more arguments the third one says what follows: `+ reply queues…` or
            // `| queues…`.
            match text(2) {
                b"+" => (Some(args.get(3)), queue_list(4)),
                b"|" => (None, queue_list(3)),
                _ => return Err(BadArgs(indicator)),
            }
        };
        let header_len = if hmsg {
            parse_size(text(n - 2)).ok_or(BadArgs("HMSG: bad or missing header size"))?
        } else {
            0
        };
        let size = parse_size(text(n - 1)).ok_or(BadArgs(bad_size))?;
        if header_len > size {
            return Err(BadArgs("HMSG: header size larger than total size"));
        }
        if size > self.limits.max_payload {
            return Err(GatewayParseError::PayloadTooLarge);
        }
        Ok(Pending {
            line_len: 0,
            account: args.get(0),
            subject: args.get(1),
            reply,
            queues,
            header_len,
            size,
        })
    }
}

/// The error for a complete `PUB` line on a gateway connection, as nats-server 2.15.1 decides
/// it: malformed arguments close without `-ERR`, a non-zero size exceeds the connection's
/// payload limit of 0.
fn pub_error(arg: &[u8]) -> GatewayParseError {
    // nats-server's processPub splits on spaces and tabs only.
    let args = Args::split(arg, false);
    let size = matches!(args.len, 2 | 3)
        .then(|| {
            let (s, e) = args.get(args.len - 1);
            parse_size(arg.get(s..e).unwrap_or_default())
        })
        .flatten();
    match size {
        Some(n) if n > 0 => GatewayParseError::PayloadTooLarge,
        _ => GatewayParseError::BadArgs("PUB on a gateway connection"),
    }
}

/// Builds a frame without payload from its complete control line; `line[..end]` is the
/// argument (trailing CR and LF excluded).
fn control_op(op: Op, line: &Bytes, end: usize) -> Result<GatewayOp, GatewayParseError> {
    let arg = line.get(..end).unwrap_or_default();
    let slice = |(s, e): (usize, usize)| line.slice(s..e);
    Ok(match op {
        Op::Connect => GatewayOp::Connect(line.slice(..end)),
        Op::Info => GatewayOp::Info(line.slice(..end)),
        Op::Err => GatewayOp::Err(line.slice(..end)),
        Op::APlus => GatewayOp::APlus(line.slice(..end)),
        Op::AMinus => GatewayOp::AMinus(line.slice(..end)),
        Op::RsPlus | Op::Sub => {
            let args = Args::split(arg, true);
            let queue = match args.len {
                2 => None,
                4 => {
                    let (s, e) = args.get(3);
                    let weight = parse_size(arg.get(s..e).unwrap_or_default());
                    // At most 9 digits, so it fits.
                    Some((slice(args.get(2)), weight.map_or(0, |w| w as u32)))
                }
                _ => return Err(GatewayParseError::BadArgs("RS+: wrong argument count")),
            };
            GatewayOp::RsPlus { account: slice(args.get(0)), subject: slice(args.get(1)), queue }
        }
        Op::RsMinus | Op::Unsub => {
            let args = Args::split(arg, true);
            let queue = match args.len {
                2 => None,
                3 => Some(slice(args.get(2))),
                _ => return Err(GatewayParseError::BadArgs("RS-: wrong argument count")),
            };
            GatewayOp::RsMinus { account: slice(args.get(0)), subject: slice(args.get(1)), queue }
        }
        // Payload ops, PUB/HPUB and the ops without argument never get here.
        Op::Rmsg | Op::Hmsg | Op::Pub | Op::Hpub | Op::Ping | Op::Pong | Op::Ok => {
            return Err(GatewayParseError::UnknownOp);
        }
    })
}

/// Where the parser is inside the current frame. Bytes already consumed from the buffer
/// (op name, separators, skipped bytes) are represented here, never kept.
#[derive(Clone, Copy, Debug)]
enum State {
    /// Between frames: the next byte starts an op name.
    Start,
    /// Inside an op name: its first `matched` letters have been consumed. `op` is the first
    /// op of its family that matches them; it may still change (see [`Op::refine`]).
    Name { op: Op, matched: usize },
    /// After the name of `op`: skipping spaces and tabs. `need_space`: none seen yet and at
    /// least one is required.
    Sep { op: Op, need_space: bool },
    /// The argument of `op` starts at the buffer's front; its first `scanned` bytes hold no
    /// `\n` (so they are not searched again).
    Arg { op: Op, scanned: usize },
    /// A checked RMSG/HMSG control line at the buffer's front, waiting for its payload.
    Payload(Pending),
    /// After `PING`, `PONG` or `+OK`: discarding bytes up to `\n`.
    Skip(Op),
}

/// An RMSG/HMSG control line whose payload has not fully arrived. Ranges are offsets from the
/// buffer's front, where the argument starts.
#[derive(Clone, Copy, Debug)]
struct Pending {
    /// Length of the control line including its `\n`: the payload starts here.
    line_len: usize,
    account: (usize, usize),
    subject: (usize, usize),
    reply: Option<(usize, usize)>,
    /// From the first queue name's start to the last one's end; never empty.
    queues: Option<(usize, usize)>,
    /// Header size, `<= size`.
    header_len: usize,
    /// Total payload size, `<= max_payload`.
    size: usize,
}

/// The ops the parser recognises on a gateway connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Connect,
    Info,
    Pub,
    Ping,
    Pong,
    Hpub,
    Hmsg,
    Sub,
    Unsub,
    RsPlus,
    RsMinus,
    Rmsg,
    APlus,
    AMinus,
    Ok,
    Err,
}

impl Op {
    /// The first op of the family a first letter starts.
    fn from_first_letter(b: u8) -> Option<Self> {
        Some(match b.to_ascii_uppercase() {
            b'C' => Self::Connect,
            b'I' => Self::Info,
            b'P' => Self::Pub,
            b'H' => Self::Hpub,
            b'S' => Self::Sub,
            b'U' => Self::Unsub,
            b'R' => Self::RsPlus,
            b'A' => Self::APlus,
            b'+' => Self::Ok,
            b'-' => Self::Err,
            // Notably `M` (MSG) and `L` (LMSG, LS+, LS-), which nats-server refuses on
            // gateway connections.
            _ => return None,
        })
    }

    /// The name in upper case (matching is case-insensitive).
    fn name(self) -> &'static [u8] {
        match self {
            Self::Connect => b"CONNECT",
            Self::Info => b"INFO",
            Self::Pub => b"PUB",
            Self::Ping => b"PING",
            Self::Pong => b"PONG",
            Self::Hpub => b"HPUB",
            Self::Hmsg => b"HMSG",
            Self::Sub => b"SUB",
            Self::Unsub => b"UNSUB",
            Self::RsPlus => b"RS+",
            Self::RsMinus => b"RS-",
            Self::Rmsg => b"RMSG",
            Self::APlus => b"A+",
            Self::AMinus => b"A-",
            Self::Ok => b"+OK",
            Self::Err => b"-ERR",
        }
    }

    /// The ops whose names start with the same letter.
    fn family(self) -> &'static [Self] {
        match self {
            Self::Pub | Self::Ping | Self::Pong => &[Self::Pub, Self::Ping, Self::Pong],
            Self::Hpub | Self::Hmsg => &[Self::Hpub, Self::Hmsg],
            Self::RsPlus | Self::RsMinus | Self::Rmsg => &[Self::RsPlus, Self::RsMinus, Self::Rmsg],
            Self::APlus | Self::AMinus => &[Self::APlus, Self::AMinus],
            Self::Connect => &[Self::Connect],
            Self::Info => &[Self::Info],
            Self::Sub => &[Self::Sub],
            Self::Unsub => &[Self::Unsub],
            Self::Ok => &[Self::Ok],
            Self::Err => &[Self::Err],
        }
    }

    /// The op of `self`'s family whose name agrees with `self`'s on the first `matched`
    /// letters and has `b` (any case) next, if any.
    fn refine(self, matched: usize, b: u8) -> Option<Self> {
        // nats-server quirk: after `A`, a lower-case `u` (not `U`) also starts A-.
        if matches!(self, Self::APlus | Self::AMinus) && matched == 1 && b == b'u' {
            return Some(Self::AMinus);
        }
        let b = b.to_ascii_uppercase();
        let prefix = self.name().get(..matched)?;
        self.family().iter().copied().find(|op| {
            op.name().get(..matched) == Some(prefix) && op.name().get(matched) == Some(&b)
        })
    }
}

/// The whitespace-separated arguments of a control line, as ranges into it, without
/// allocating: the first [`Args::FIRST`] and the last [`Args::LAST`] are kept, which covers
/// every position an op looks at (RMSG/HMSG queue lists are taken as one range).
struct Args {
    first: [(usize, usize); Args::FIRST],
    /// The last arguments, the most recent at the end.
    last: [(usize, usize); Args::LAST],
    /// How many arguments there are in all.
    len: usize,
}

impl Args {
    const FIRST: usize = 5;
    const LAST: usize = 3;

    /// Splits `arg` on runs of spaces and tabs (and CRs when `cr_is_space`, as nats-server's
    /// `splitArg` does; the line's `\n` is never inside `arg`).
    fn split(arg: &[u8], cr_is_space: bool) -> Self {
        let mut args = Self { first: [(0, 0); Self::FIRST], last: [(0, 0); Self::LAST], len: 0 };
        let is_sep = |b: u8| is_space(b) || (cr_is_space && b == b'\r');
        let mut start = None;
        // One extra iteration with a separator closes the last argument.
        for (i, b) in arg.iter().copied().chain([b' ']).enumerate() {
            match (is_sep(b), start) {
                (true, Some(s)) => {
                    if let Some(slot) = args.first.get_mut(args.len) {
                        *slot = (s, i);
                    }
                    args.last.rotate_left(1);
                    if let Some(slot) = args.last.last_mut() {
                        *slot = (s, i);
                    }
                    args.len += 1;
                    start = None;
                }
                (false, None) => start = Some(i),
                _ => {}
            }
        }
        args
    }

    /// The `i`-th range; `(0, 0)` for one not kept (callers only ask for kept ones).
    fn get(&self, i: usize) -> (usize, usize) {
        if i >= self.len {
            return (0, 0);
        }
        if let Some(r) = self.first.get(i) {
            return *r;
        }
        let from_end = self.len - 1 - i;
        Self::LAST
            .checked_sub(1 + from_end)
            .and_then(|j| self.last.get(j))
            .copied()
            .unwrap_or((0, 0))
    }
}

/// The separators of the arguments of RS+/RS-/RMSG/HMSG (and so of a queue list).
fn is_arg_sep(b: &u8) -> bool {
    is_space(*b) || *b == b'\r'
}

/// Parse a whole byte string: every frame up to the first error or the end of the input
/// (test and fuzz helper).
pub fn parse_all(data: &[u8], limits: GatewayLimits) -> Vec<Result<GatewayOp, GatewayParseError>> {
    frames::parse_all(GatewayParser::new(limits), data)
}

impl FrameParser for GatewayParser {
    type Frame = GatewayOp;
    type Error = GatewayParseError;

    fn next_frame(&mut self, buf: &mut BytesMut) -> Result<Option<GatewayOp>, GatewayParseError> {
        self.parse(buf)
    }
}

// ---------------------------------------------------------------------------------------------
// Encoders

/// An empty queue list for [`rmsg`] and friends.
pub const NO_QUEUES: &[&[u8]] = &[];

/// `INFO <json>\r\n`. Unlike the INFO nats-server sends clients, the gateway INFO has no space
/// before the CRLF.
pub fn info(out: &mut BytesMut, json: &[u8]) {
    out.reserve(json.len() + 7);
    out.put_slice(b"INFO ");
    out.put_slice(json);
    out.put_slice(CRLF);
}

/// `CONNECT <json>\r\n`.
pub fn connect(out: &mut BytesMut, json: &[u8]) {
    out.reserve(json.len() + 10);
    out.put_slice(b"CONNECT ");
    out.put_slice(json);
    out.put_slice(CRLF);
}

/// `RS+ <account> <subject>\r\n`, or `RS+ <account> <subject> <queue> <weight>\r\n` for a queue
/// subscription (nats-server always sends weight 1).
pub fn rs_plus(out: &mut BytesMut, account: &[u8], subject: &[u8], queue: Option<(&[u8], u32)>) {
    let weight = queue.map(|(_, w)| Decimal::new(w as usize));
    let weight = weight.as_ref().map_or(&[][..], Decimal::as_bytes);
    let queue = queue.map_or(&[][..], |(q, _)| q);
    interest_line(out, b"RS+ ", account, subject, queue, weight);
}

/// `RS- <account> <subject>\r\n`, or `RS- <account> <subject> <queue>\r\n`.
pub fn rs_minus(out: &mut BytesMut, account: &[u8], subject: &[u8], queue: Option<&[u8]>) {
    interest_line(out, b"RS- ", account, subject, queue.unwrap_or_default(), &[]);
}

/// `A+ <account>\r\n`.
pub fn a_plus(out: &mut BytesMut, account: &[u8]) {
    account_line(out, b"A+ ", account);
}

/// `A- <account>\r\n`.
pub fn a_minus(out: &mut BytesMut, account: &[u8]) {
    account_line(out, b"A- ", account);
}

/// `RMSG <account> <subject> [reply-part] <len>\r\n<payload>\r\n`.
///
/// The middle part is nats-server's: nothing; `<reply>`; `| <q1> <q2>…` (queue groups, no
/// reply); or `+ <reply> <q1> <q2>…`. As in nats-server, an empty `reply` counts as none, and
/// empty queue names are skipped. `queues` is iterated twice (to size the line, then to write
/// it); pass [`NO_QUEUES`] for none.
pub fn rmsg<Q: AsRef<[u8]>>(
    out: &mut BytesMut,
    account: &[u8],
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: impl IntoIterator<Item = Q, IntoIter: Clone>,
    payload: &[u8],
) {
    let len = Decimal::new(payload.len());
    let line = MsgLine {
        op: b"RMSG ",
        account,
        subject,
        reply,
        queues: queues.into_iter(),
        sizes: [&[], len.as_bytes()],
    };
    out.reserve(line.len() + payload.len() + CRLF.len());
    line.put(out);
    out.put_slice(payload);
    out.put_slice(CRLF);
}

/// `HMSG <account> <subject> [reply-part] <hdr_len> <total>\r\n<headers+payload>\r\n`;
/// `payload` holds the headers followed by the body. The middle part is as for [`rmsg`].
pub fn hmsg<Q: AsRef<[u8]>>(
    out: &mut BytesMut,
    account: &[u8],
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: impl IntoIterator<Item = Q, IntoIter: Clone>,
    header_len: usize,
    payload: &[u8],
) {
    debug_assert!(header_len <= payload.len(), "header block longer than the payload");
    let header_len = Decimal::new(header_len);
    let total = Decimal::new(payload.len());
    let line = MsgLine {
        op: b"HMSG ",
        account,
        subject,
        reply,
        queues: queues.into_iter(),
        sizes: [header_len.as_bytes(), total.as_bytes()],
    };
    out.reserve(line.len() + payload.len() + CRLF.len());
    line.put(out);
    out.put_slice(payload);
    out.put_slice(CRLF);
}

/// The control line of [`rmsg`] alone: the caller sends `len` payload bytes and `\r\n` after
/// it (e.g. as separate chunks of a vectored write).
pub fn rmsg_line<Q: AsRef<[u8]>>(
    out: &mut BytesMut,
    account: &[u8],
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: impl IntoIterator<Item = Q, IntoIter: Clone>,
    len: usize,
) {
    let len = Decimal::new(len);
    let line = MsgLine {
        op: b"RMSG ",
        account,
        subject,
        reply,
        queues: queues.into_iter(),
        sizes: [&[], len.as_bytes()],
    };
    out.reserve(line.len());
    line.put(out);
}

/// The control line of [`hmsg`] alone: the caller sends `total` bytes (headers, then body) and
/// `\r\n` after it.
pub fn hmsg_line<Q: AsRef<[u8]>>(
    out: &mut BytesMut,
    account: &[u8],
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: impl IntoIterator<Item = Q, IntoIter: Clone>,
    header_len: usize,
    total: usize,
) {
    let header_len = Decimal::new(header_len);
    let total = Decimal::new(total);
    let line = MsgLine {
        op: b"HMSG ",
        account,
        subject,
        reply,
        queues: queues.into_iter(),
        sizes: [header_len.as_bytes(), total.as_bytes()],
    };
    out.reserve(line.len());
    line.put(out);
}

const CRLF: &[u8] = b"\r\n";

/// `<op><account> <subject>[ <queue>[ <weight>]]\r\n`; empty `queue`/`weight` are left out.
fn interest_line(
    out: &mut BytesMut,
    op: &[u8],
    account: &[u8],
    subject: &[u8],
    queue: &[u8],
    weight: &[u8],
) {
    let field = |f: &[u8]| if f.is_empty() { 0 } else { f.len() + 1 };
    out.reserve(op.len() + account.len() + 1 + subject.len() + field(queue) + field(weight) + 2);
    out.put_slice(op);
    out.put_slice(account);
    out.put_u8(b' ');
    out.put_slice(subject);
    for f in [queue, weight] {
        if !f.is_empty() {
            out.put_u8(b' ');
            out.put_slice(f);
        }
    }
    out.put_slice(CRLF);
}

fn account_line(out: &mut BytesMut, op: &[u8], account: &[u8]) {
    out.reserve(op.len() + account.len() + CRLF.len());
    out.put_slice(op);
    out.put_slice(account);
    out.put_slice(CRLF);
}

/// The parts of an RMSG/HMSG control line, measured before writing so the buffer grows once.
struct MsgLine<'a, I> {
    /// `RMSG ` or `HMSG `, with its space.
    op: &'static [u8],
    account: &'a [u8],
    subject: &'a [u8],
    reply: Option<&'a [u8]>,
    queues: I,
    /// Header size (empty for RMSG) and total size, as decimal text.
    sizes: [&'a [u8]; 2],
}

impl<I, Q> MsgLine<'_, I>
where
    I: Iterator<Item = Q> + Clone,
    Q: AsRef<[u8]>,
{
    fn reply(&self) -> Option<&[u8]> {
        self.reply.filter(|r| !r.is_empty())
    }

    fn queue_names(&self) -> impl Iterator<Item = Q> {
        self.queues.clone().filter(|q| !q.as_ref().is_empty())
    }

    fn len(&self) -> usize {
        let queues: usize = self.queue_names().map(|q| q.as_ref().len() + 1).sum();
        let middle = match (self.reply(), queues) {
            (None, 0) => 0,
            (Some(r), 0) => r.len() + 1,
            (None, q) => 2 + q,
            (Some(r), q) => 2 + r.len() + 1 + q,
        };
        let header = if self.sizes[0].is_empty() { 0 } else { self.sizes[0].len() + 1 };
        self.op.len()
            + self.account.len()
            + 1
            + self.subject.len()
            + 1
            + middle
            + header
            + self.sizes[1].len()
            + CRLF.len()
    }

    fn put(&self, out: &mut BytesMut) {
        out.put_slice(self.op);
        out.put_slice(self.account);
        out.put_u8(b' ');
        out.put_slice(self.subject);
        out.put_u8(b' ');
        let has_queues = self.queue_names().next().is_some();
        match (self.reply(), has_queues) {
            (None, false) => {}
            (Some(r), false) => {
                out.put_slice(r);
                out.put_u8(b' ');
            }
            (None, true) => out.put_slice(b"| "),
            (Some(r), true) => {
                out.put_slice(b"+ ");
                out.put_slice(r);
                out.put_u8(b' ');
            }
        }
        for q in self.queue_names() {
            out.put_slice(q.as_ref());
            out.put_u8(b' ');
        }
        if !self.sizes[0].is_empty() {
            out.put_slice(self.sizes[0]);
            out.put_u8(b' ');
        }
        out.put_slice(self.sizes[1]);
        out.put_slice(CRLF);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: GatewayLimits = GatewayLimits { max_control_line: 16, max_payload: 8 };

    fn all(data: &[u8]) -> Vec<Result<GatewayOp, GatewayParseError>> {
        parse_all(data, GatewayLimits::default())
    }

    /// The single result of parsing `data` (which must yield exactly one op or error).
    fn one(data: &[u8]) -> Result<GatewayOp, GatewayParseError> {
        one_with(data, GatewayLimits::default())
    }

    fn one_with(data: &[u8], limits: GatewayLimits) -> Result<GatewayOp, GatewayParseError> {
        let mut out = parse_all(data, limits);
        assert_eq!(out.len(), 1, "{data:?} gave {out:?}");
        out.remove(0)
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn msg(
        account: &str,
        subject: &str,
        reply: Option<&str>,
        queues: Option<&str>,
        header_len: usize,
        payload: &str,
    ) -> GatewayOp {
        GatewayOp::Msg(RoutedMsg {
            account: b(account),
            subject: b(subject),
            reply: reply.map(b),
            queues: queues.map(b),
            header_len,
            payload: b(payload),
        })
    }

    fn rs_plus_op(account: &str, subject: &str, queue: Option<(&str, u32)>) -> GatewayOp {
        GatewayOp::RsPlus {
            account: b(account),
            subject: b(subject),
            queue: queue.map(|(q, w)| (b(q), w)),
        }
    }

    fn rs_minus_op(account: &str, subject: &str, queue: Option<&str>) -> GatewayOp {
        GatewayOp::RsMinus { account: b(account), subject: b(subject), queue: queue.map(b) }
    }

    fn encoded(f: impl FnOnce(&mut BytesMut)) -> Vec<u8> {
        let mut out = BytesMut::new();
        f(&mut out);
        out.to_vec()
    }

    const BAD_INDICATOR: GatewayParseError =
        GatewayParseError::BadArgs("RMSG: bad or missing reply indicator");
    const BAD_HINDICATOR: GatewayParseError =
        GatewayParseError::BadArgs("HMSG: bad or missing reply indicator");

    #[test]
    fn parses_every_op() {
        let data =
            b"INFO {\"gateway\":\"B\"}\r\nCONNECT {}\r\nPING\r\nPONG\r\n+OK\r\n-ERR 'x y'\r\n\
            RS+ $G foo\r\nRS+ $G bar q1 1\r\nRS- $G foo\r\nRS- $G bar q1\r\nA+ ACC\r\nA- NOACC\r\n\
            RMSG $G foo 2\r\nhi\r\nRMSG $G foo rep 2\r\nhi\r\nRMSG $G qs | grp 2\r\nhi\r\n\
            RMSG $G qs + rq grp 2\r\nhi\r\nHMSG $G foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n";
        assert_eq!(
            all(data),
            vec![
                Ok(GatewayOp::Info(b("{\"gateway\":\"B\"}"))),
                Ok(GatewayOp::Connect(b("{}"))),
                Ok(GatewayOp::Ping),
                Ok(GatewayOp::Pong),
                Ok(GatewayOp::Ok),
                Ok(GatewayOp::Err(b("'x y'"))),
                Ok(rs_plus_op("$G", "foo", None)),
                Ok(rs_plus_op("$G", "bar", Some(("q1", 1)))),
                Ok(rs_minus_op("$G", "foo", None)),
                Ok(rs_minus_op("$G", "bar", Some("q1"))),
                Ok(GatewayOp::APlus(b("ACC"))),
                Ok(GatewayOp::AMinus(b("NOACC"))),
                Ok(msg("$G", "foo", None, None, 0, "hi")),
                Ok(msg("$G", "foo", Some("rep"), None, 0, "hi")),
                Ok(msg("$G", "qs", None, Some("grp"), 0, "hi")),
                Ok(msg("$G", "qs", Some("rq"), Some("grp"), 0, "hi")),
                Ok(msg("$G", "foo", None, None, 12, "NATS/1.0\r\n\r\nhi")),
            ]
        );
    }

    #[test]
    fn op_names_are_case_insensitive() {
        assert_eq!(one(b"pInG\r\n"), Ok(GatewayOp::Ping));
        assert_eq!(one(b"pOnG\r\n"), Ok(GatewayOp::Pong));
        assert_eq!(one(b"+ok\r\n"), Ok(GatewayOp::Ok));
        assert_eq!(one(b"-eRr x\r\n"), Ok(GatewayOp::Err(b("x"))));
        assert_eq!(one(b"cOnNeCt {}\r\n"), Ok(GatewayOp::Connect(b("{}"))));
        assert_eq!(one(b"iNfO {}\r\n"), Ok(GatewayOp::Info(b("{}"))));
        assert_eq!(one(b"rs+ a s\r\n"), Ok(rs_plus_op("a", "s", None)));
        assert_eq!(one(b"rS- a s\r\n"), Ok(rs_minus_op("a", "s", None)));
        assert_eq!(one(b"a+ x\r\n"), Ok(GatewayOp::APlus(b("x"))));
        assert_eq!(one(b"a- x\r\n"), Ok(GatewayOp::AMinus(b("x"))));
        assert_eq!(one(b"rMsG a s 1\r\nx\r\n"), Ok(msg("a", "s", None, None, 0, "x")));
        assert_eq!(one(b"hmsg a s 0 1\r\nx\r\n"), Ok(msg("a", "s", None, None, 0, "x")));
    }

    #[test]
    fn sub_and_unsub_are_rs_plus_and_minus() {
        // nats-server quirk (2.15.1 logged `Received RS+ from gateway on inbound connection`
        // for `SUB $G foo`).
        assert_eq!(one(b"SUB $G foo\r\n"), Ok(rs_plus_op("$G", "foo", None)));
        assert_eq!(one(b"sub $G foo q 1\r\n"), Ok(rs_plus_op("$G", "foo", Some(("q", 1)))));
        assert_eq!(one(b"UNSUB $G foo\r\n"), Ok(rs_minus_op("$G", "foo", None)));
        assert_eq!(one(b"UnSuB $G foo q\r\n"), Ok(rs_minus_op("$G", "foo", Some("q"))));
        assert_eq!(
            one(b"SUB $G\r\n"),
            Err(GatewayParseError::BadArgs("RS+: wrong argument count"))
        );
    }

    #[test]
    fn a_minus_quirk_lower_case_u() {
        // 2.15.1: `Au X` on an inbound connection reached the A- handler (and crashed it);
        // `AU X` is an unknown op.
        assert_eq!(one(b"Au X\r\n"), Ok(GatewayOp::AMinus(b("X"))));
        assert_eq!(one(b"au X\r\n"), Ok(GatewayOp::AMinus(b("X"))));
        assert_eq!(one(b"AU X\r\n"), Err(GatewayParseError::UnknownOp));
    }

    #[test]
    fn account_argument_is_verbatim() {
        assert_eq!(one(b"A+ a b \r\n"), Ok(GatewayOp::APlus(b("a b "))));
        assert_eq!(one(b"A-\t\tACC\n"), Ok(GatewayOp::AMinus(b("ACC"))));
        assert_eq!(one(b"A+ \r\n"), Ok(GatewayOp::APlus(Bytes::new())));
    }

    #[test]
    fn unknown_ops() {
        for data in [
            &b" PING\r\n"[..],
            b"\r\n",
            b"\n",
            b"MSG foo 1 2\r\nhi\r\n",
            b"LMSG x\r\n",
            b"LS+ $G foo\r\n",
            b"LS- $G foo\r\n",
            b"XPING\r\n",
            b"RX\r\n",
            b"RS*\r\n",
            b"RS+\r\n",
            b"RS+x a b\r\n",
            b"RMSGx\r\n",
            b"RMX\r\n",
            b"A\r\n",
            b"A+\r\n",
            b"A+x\r\n",
            b"A* x\r\n",
            b"HX\r\n",
            b"HMS\r\n",
            b"HMSG\r\n",
            b"SUBfoo\r\n",
            b"UNSUB\r\n",
            b"-ERR\r\n",
            b"PIx\r\n",
            b"INF\r\n",
            b"+O\r\n",
            b"\xffPING\r\n",
        ] {
            assert_eq!(one(data), Err(GatewayParseError::UnknownOp), "{data:?}");
        }
        // The error comes at the first bad byte, without waiting for a newline.
        assert_eq!(one(b"RX"), Err(GatewayParseError::UnknownOp));
        assert_eq!(one(b"M"), Err(GatewayParseError::UnknownOp));
        assert_eq!(one(b"L"), Err(GatewayParseError::UnknownOp));
    }

    #[test]
    fn pub_and_hpub() {
        // 2.15.1: `PUB foo 2` → `-ERR 'Maximum Payload Violation'` (the connection's limit is
        // 0); `PUB foo` → closed without -ERR; HPUB → closed without -ERR.
        assert_eq!(one(b"PUB foo 2\r\nhi\r\n"), Err(GatewayParseError::PayloadTooLarge));
        assert_eq!(one(b"pub foo rep 2\r\n"), Err(GatewayParseError::PayloadTooLarge));
        for data in
            [&b"PUB foo\r\n"[..], b"PUB foo 0\r\n\r\n", b"PUB a b c 1\r\n", b"PUB foo x\r\n"]
        {
            assert_eq!(
                one(data),
                Err(GatewayParseError::BadArgs("PUB on a gateway connection")),
                "{data:?}"
            );
        }
        assert!(matches!(one(b"HPUB foo 12 14\r\n"), Err(GatewayParseError::BadArgs(_))));
        assert!(matches!(one(b"HPUB\tx\r\n"), Err(GatewayParseError::BadArgs(_))));
        assert_eq!(one(b"PUB\r\n"), Err(GatewayParseError::UnknownOp));
        // Nothing before the line is complete.
        assert_eq!(parse_all(b"PUB foo 2", GatewayLimits::default()), vec![]);
    }

    #[test]
    fn ping_pong_ok_ignore_the_rest_of_their_line() {
        assert_eq!(one(b"PINGxyz\r\n"), Ok(GatewayOp::Ping));
        assert_eq!(one(b"PONG PING\n"), Ok(GatewayOp::Pong));
        assert_eq!(one(b"+OKAY\r\n"), Ok(GatewayOp::Ok));
        let mut long = b"PING".to_vec();
        long.extend(std::iter::repeat_n(b'x', 10_000));
        long.extend(b"\r\n");
        assert_eq!(one_with(&long, SMALL), Ok(GatewayOp::Ping));
    }

    #[test]
    fn rs_argument_counts() {
        use GatewayParseError::BadArgs;
        let plus = BadArgs("RS+: wrong argument count");
        let minus = BadArgs("RS-: wrong argument count");
        for data in [&b"RS+ a\r\n"[..], b"RS+ a b c\r\n", b"RS+ a b c d e\r\n", b"RS+ \r\n"] {
            assert_eq!(one(data), Err(plus), "{data:?}");
        }
        for data in [&b"RS- a\r\n"[..], b"RS- a b c d\r\n", b"RS- \r\n"] {
            assert_eq!(one(data), Err(minus), "{data:?}");
        }
        // Weight: parsed like a size; an invalid one is accepted as in nats-server.
        assert_eq!(one(b"RS+ a b q 000000007\r\n"), Ok(rs_plus_op("a", "b", Some(("q", 7)))));
        assert_eq!(one(b"RS+ a b q x\r\n"), Ok(rs_plus_op("a", "b", Some(("q", 0)))));
        assert_eq!(one(b"RS+ a b q 1234567890\r\n"), Ok(rs_plus_op("a", "b", Some(("q", 0)))));
        // Arguments split on spaces, tabs and CRs (nats-server's splitArg).
        assert_eq!(one(b"RS+\t a \t b\rq  2 \r\n"), Ok(rs_plus_op("a", "b", Some(("q", 2)))));
        assert_eq!(one(b"RS- a\rb\n"), Ok(rs_minus_op("a", "b", None)));
    }

    #[test]
    fn rmsg_middle_parts() {
        let m = |d: &[u8]| one(d);
        assert_eq!(
            m(b"RMSG $G foo | q1 q2 2\r\nhi\r\n"),
            Ok(msg("$G", "foo", None, Some("q1 q2"), 0, "hi"))
        );
        assert_eq!(
            m(b"RMSG\t$G\tfoo\t\t|\tq1  q2\t2\r\nhi\r\n"),
            Ok(msg("$G", "foo", None, Some("q1  q2"), 0, "hi"))
        );
        assert_eq!(
            m(b"RMSG $G foo + r q 2\r\nhi\r\n"),
            Ok(msg("$G", "foo", Some("r"), Some("q"), 0, "hi"))
        );
        // `+` with a reply and no queue: five fields, no queue list.
        assert_eq!(
            m(b"RMSG $G foo + r 2\r\nhi\r\n"),
            Ok(msg("$G", "foo", Some("r"), None, 0, "hi"))
        );
        // Four fields: the third is the reply, whatever it is (2.15.1 delivered
        // `RMSG $G foo | 2` as `MSG foo 1 | 2`).
        assert_eq!(m(b"RMSG $G foo | 2\r\nhi\r\n"), Ok(msg("$G", "foo", Some("|"), None, 0, "hi")));
        assert_eq!(m(b"RMSG $G foo + 2\r\nhi\r\n"), Ok(msg("$G", "foo", Some("+"), None, 0, "hi")));
        // Five or more fields need the indicator (2.15.1: `Bad or Missing Reply Indicator: 'a'`).
        for data in [
            &b"RMSG $G foo a b 2\r\n"[..],
            b"RMSG $G foo ++ r q 2\r\n",
            b"RMSG $G foo || q 2\r\n",
            b"RMSG $G foo - r q 2\r\n",
        ] {
            assert_eq!(m(data), Err(BAD_INDICATOR), "{data:?}");
        }
        for data in [&b"RMSG $G foo\r\n"[..], b"RMSG $G\r\n", b"RMSG \r\n"] {
            assert_eq!(m(data), Err(GatewayParseError::BadArgs("RMSG: too few arguments")));
        }
        let bad_size = GatewayParseError::BadArgs("RMSG: bad or missing size");
        for data in [
            &b"RMSG $G foo 2x\r\n"[..],
            b"RMSG $G foo + r 0000000002\r\n",
            b"RMSG $G foo -1\r\n",
            b"RMSG $G foo | q x\r\n",
        ] {
            assert_eq!(m(data), Err(bad_size), "{data:?}");
        }
        // Sizes: 1 to 9 digits, leading zeros accepted.
        assert_eq!(m(b"RMSG a s 000000002\r\nhi\r\n"), Ok(msg("a", "s", None, None, 0, "hi")));
        assert_eq!(m(b"RMSG a s 0\r\n\r\n"), Ok(msg("a", "s", None, None, 0, "")));
    }

    #[test]
    fn hmsg_middle_parts_and_sizes() {
        let m = |d: &[u8]| one(d);
        assert_eq!(m(b"HMSG a s r 1 2\r\nhi\r\n"), Ok(msg("a", "s", Some("r"), None, 1, "hi")));
        assert_eq!(m(b"HMSG a s | q 1 2\r\nhi\r\n"), Ok(msg("a", "s", None, Some("q"), 1, "hi")));
        assert_eq!(
            m(b"HMSG a s + r q1 q2 q3 1 2\r\nhi\r\n"),
            Ok(msg("a", "s", Some("r"), Some("q1 q2 q3"), 1, "hi"))
        );
        assert_eq!(m(b"HMSG a s + r 1 2\r\nhi\r\n"), Ok(msg("a", "s", Some("r"), None, 1, "hi")));
        assert_eq!(m(b"HMSG a s x r 1 2\r\n"), Err(BAD_HINDICATOR));
        assert_eq!(
            m(b"HMSG a s 2\r\n"),
            Err(GatewayParseError::BadArgs("HMSG: too few arguments"))
        );
        assert_eq!(
            m(b"HMSG a s 5 3\r\n"),
            Err(GatewayParseError::BadArgs("HMSG: header size larger than total size"))
        );
        assert_eq!(
            m(b"HMSG a s x 3\r\n"),
            Err(GatewayParseError::BadArgs("HMSG: bad or missing header size"))
        );
        assert_eq!(
            m(b"HMSG a s 1 x\r\n"),
            Err(GatewayParseError::BadArgs("HMSG: bad or missing size"))
        );
        // A header size of 0 is a header-less message.
        assert_eq!(m(b"HMSG $G foo 0 2\r\nhi\r\n"), Ok(msg("$G", "foo", None, None, 0, "hi")));
    }

    #[test]
    fn queue_names_iterate_in_order() {
        let Ok(GatewayOp::Msg(m)) = one(b"RMSG a s + r q1\tq2 \t q3 2\r\nhi\r\n") else {
            panic!("no message");
        };
        assert_eq!(m.queue_names().collect::<Vec<_>>(), [&b"q1"[..], b"q2", b"q3"]);
        let Ok(GatewayOp::Msg(m)) = one(b"RMSG a s 2\r\nhi\r\n") else {
            panic!("no message");
        };
        assert_eq!(m.queue_names().count(), 0);
        // A CR between arguments is a separator too.
        let Ok(GatewayOp::Msg(m)) = one(b"RMSG a s | q1\rq2 2\r\nhi\r\n") else {
            panic!("no message");
        };
        assert_eq!(m.queue_names().collect::<Vec<_>>(), [&b"q1"[..], b"q2"]);
    }

    #[test]
    fn many_queues() {
        let mut line = b"RMSG $G foo + r".to_vec();
        for i in 0..100 {
            line.extend(format!(" q{i}").as_bytes());
        }
        line.extend(b" 1\r\nx\r\n");
        let Ok(GatewayOp::Msg(m)) = one(&line) else {
            panic!("no message");
        };
        assert_eq!(m.queue_names().count(), 100);
        assert_eq!(m.queue_names().last(), Some(&b"q99"[..]));
        assert_eq!(m.reply.as_deref(), Some(&b"r"[..]));
    }

    #[test]
    fn payload_must_be_followed_by_crlf() {
        assert_eq!(all(b"RMSG a s 2\r\nhiX"), vec![Err(GatewayParseError::UnknownOp)]);
        assert_eq!(all(b"RMSG a s 2\r\nhi\nPING\r\n"), vec![Err(GatewayParseError::UnknownOp)]);
        assert_eq!(one(b"RMSG a s 1\r\nab\r\n"), Err(GatewayParseError::UnknownOp));
        assert_eq!(parse_all(b"RMSG a s 1\r\na\r", GatewayLimits::default()), vec![]);
        // A bare `\n` ends the control line (2.15.1 delivered `RMSG $G foo 2\nhi\r\n`).
        assert_eq!(one(b"RMSG $G foo 2\nhi\r\n"), Ok(msg("$G", "foo", None, None, 0, "hi")));
    }

    #[test]
    fn payload_cap() {
        assert_eq!(
            one_with(b"RMSG a s 8\r\n12345678\r\n", SMALL),
            Ok(msg("a", "s", None, None, 0, "12345678"))
        );
        // Checked when the control line completes, before any payload arrives, after the
        // argument checks.
        assert_eq!(one_with(b"RMSG a s 9\r\n", SMALL), Err(GatewayParseError::PayloadTooLarge));
        assert_eq!(one_with(b"HMSG a s 1 9\r\n", SMALL), Err(GatewayParseError::PayloadTooLarge));
        assert_eq!(
            one_with(b"HMSG a s 10 9\r\n", SMALL),
            Err(GatewayParseError::BadArgs("HMSG: header size larger than total size"))
        );
        assert_eq!(one(b"RMSG a s 67108865\r\n"), Err(GatewayParseError::PayloadTooLarge));
        // Far above nats-server's client max_payload: no check there for gateways.
        let mut big = b"RMSG $G foo 2097152\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'x', 2097152));
        big.extend(b"\r\n");
        assert!(matches!(one(&big), Ok(GatewayOp::Msg(m)) if m.payload.len() == 2097152));
    }

    #[test]
    fn max_control_line_boundary() {
        // The argument after "RS+ " counts, trailing whitespace included, CR excluded.
        let exact = "a23456789012 b12"; // 16
        assert_eq!(
            one_with(format!("RS+ {exact}\r\n").as_bytes(), SMALL),
            Ok(rs_plus_op("a23456789012", "b12", None))
        );
        assert_eq!(
            one_with(format!("RS+ {exact} \r\n").as_bytes(), SMALL),
            Err(GatewayParseError::MaxControlLine)
        );
        // Partial lines: exactly the limit waits, even with the CR; one more byte fails.
        assert_eq!(parse_all(format!("RS+ {exact}\r").as_bytes(), SMALL), vec![]);
        assert_eq!(
            parse_all(format!("RS+ {exact}x").as_bytes(), SMALL),
            vec![Err(GatewayParseError::MaxControlLine)]
        );
        for op in
            ["RS+", "RS-", "A+", "A-", "RMSG", "HMSG", "CONNECT", "INFO", "-ERR", "PUB", "SUB"]
        {
            let data = format!("{op} {}", "x".repeat(17));
            assert_eq!(
                parse_all(data.as_bytes(), SMALL),
                vec![Err(GatewayParseError::MaxControlLine)],
                "{op}"
            );
        }
        // The default is 16 × 4096 (2.15.1: a 70 000-byte subject exceeded it, 5 000 did not).
        assert_eq!(GatewayLimits::default().max_control_line, 65536);
        let line = format!("RS+ $G {}\r\n", "s".repeat(70_000));
        assert_eq!(one(line.as_bytes()), Err(GatewayParseError::MaxControlLine));
        let line = format!("RS+ $G {}\r\n", "s".repeat(5_000));
        assert!(one(line.as_bytes()).is_ok());
    }

    #[test]
    fn errors_are_sticky() {
        let mut parser = GatewayParser::new(GatewayLimits::default());
        let mut buf = BytesMut::from(&b"RMSG a s x\r\n"[..]);
        let e = GatewayParseError::BadArgs("RMSG: bad or missing size");
        assert_eq!(parser.parse(&mut buf), Err(e));
        buf.extend_from_slice(b"PING\r\n");
        assert_eq!(parser.parse(&mut buf), Err(e));
        assert_eq!(parser.parse(&mut BytesMut::new()), Err(e));
        assert!(!parser.at_frame_start());
    }

    #[test]
    fn error_wire_answers() {
        assert_eq!(GatewayParseError::UnknownOp.err_text(), Some("Unknown Protocol Operation"));
        assert_eq!(
            GatewayParseError::MaxControlLine.err_text(),
            Some("maximum control line exceeded")
        );
        assert_eq!(
            GatewayParseError::PayloadTooLarge.err_text(),
            Some("Maximum Payload Violation")
        );
        assert_eq!(GatewayParseError::BadArgs("x").err_text(), None);
        assert_eq!(GatewayParseError::BadArgs("x").to_string(), "gateway parse error: x");
        assert_eq!(GatewayParseError::UnknownOp.to_string(), "Unknown Protocol Operation");
    }

    #[test]
    fn byte_at_a_time_gives_the_same_ops() {
        let data = b"INFO {}\r\nRS+ $G foo q 1\r\nRMSG $G foo + r q1 q2 5\r\nhello\r\n\
            HMSG a s | q 12 12\r\nNATS/1.0\r\n\r\n\r\nPINGzz\nA- x\r\nAu y\r\n+OK\r\n\
            -ERR 'e'\r\nRMSG a s 1\r\nxy";
        let whole = all(data);
        let (split, _) =
            frames::parse_chunks(GatewayParser::new(GatewayLimits::default()), data.chunks(1));
        assert_eq!(whole, split);
        assert_eq!(whole.len(), 10);
        assert_eq!(whole.last(), Some(&Err(GatewayParseError::UnknownOp)));
    }

    #[test]
    fn fields_are_slices_of_the_read_buffer() {
        let mut buf = BytesMut::from(&b"RMSG acc subject + reply q1 q2 7\r\npayload\r\n"[..]);
        let start = buf.as_ptr() as usize;
        let range = start..start + buf.len();
        let Ok(Some(GatewayOp::Msg(m))) =
            GatewayParser::new(GatewayLimits::default()).parse(&mut buf)
        else {
            panic!("no RMSG");
        };
        for field in [
            &m.account,
            &m.subject,
            m.reply.as_ref().unwrap(),
            m.queues.as_ref().unwrap(),
            &m.payload,
        ] {
            assert!(range.contains(&(field.as_ptr() as usize)));
        }
        assert!(buf.is_empty());
    }

    #[test]
    fn transcripts_from_nats_server() {
        // What a 2.15.1 acceptor sent on a new inbound connection (abridged), and what a
        // 2.15.1 dialler sent (shared/docs/gateway-protocol.md §2.4, §5.4, §6.1).
        let data = b"INFO {\"server_id\":\"\",\"server_name\":\"\",\"version\":\"\",\"proto\":0,\"go\":\"\",\"host\":\"\",\"port\":0,\"headers\":false,\"max_payload\":0,\"gateway\":\"B\",\"gateway_cmd\":2,\"gateway_cmd_payload\":\"JEc=\"}\r\n\
            RS+ $G bar grp 1\r\nRS+ $G foo\r\nRS+ $SYS $SYS.REQ.ACCOUNT.*.STATZ\r\nPING\r\n\
            RMSG $G foo _GR_.b2oh2L.M5W2RR._INBOX.abc 3\r\nabc\r\n";
        let ops = all(data);
        assert_eq!(ops.len(), 6);
        assert!(ops.iter().all(Result::is_ok));
        assert_eq!(
            ops[5],
            Ok(msg("$G", "foo", Some("_GR_.b2oh2L.M5W2RR._INBOX.abc"), None, 0, "abc"))
        );
    }

    #[test]
    fn encoders_produce_nats_server_bytes() {
        let q: &[&[u8]] = &[b"grp"];
        assert_eq!(
            encoded(|o| rmsg(o, b"$G", b"qs", None, q, b"hi")),
            b"RMSG $G qs | grp 2\r\nhi\r\n"
        );
        assert_eq!(
            encoded(|o| rmsg(o, b"$G", b"qs", Some(b"rq"), q, b"hi")),
            b"RMSG $G qs + rq grp 2\r\nhi\r\n"
        );
        assert_eq!(
            encoded(|o| rmsg(o, b"$G", b"foo", None, NO_QUEUES, b"hi")),
            b"RMSG $G foo 2\r\nhi\r\n"
        );
        assert_eq!(
            encoded(|o| rmsg(o, b"$G", b"foo", Some(b"rep.1"), NO_QUEUES, b"ab")),
            b"RMSG $G foo rep.1 2\r\nab\r\n"
        );
        assert_eq!(
            encoded(|o| hmsg(o, b"$G", b"foo", None, NO_QUEUES, 12, b"NATS/1.0\r\n\r\nhi")),
            b"HMSG $G foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
        );
        let qs = [Bytes::from_static(b"q1"), Bytes::from_static(b"q2")];
        assert_eq!(
            encoded(|o| hmsg(o, b"A", b"s", Some(b"r"), &qs, 1, b"xy")),
            b"HMSG A s + r q1 q2 1 2\r\nxy\r\n"
        );
        assert_eq!(
            encoded(|o| hmsg(o, b"A", b"s", None, &qs, 0, b"")),
            b"HMSG A s | q1 q2 0 0\r\n\r\n"
        );
        // An empty reply is none, empty queue names are skipped (nats-server: `len(reply) > 0`).
        assert_eq!(
            encoded(|o| rmsg(o, b"A", b"s", Some(b""), [&b""[..]], b"")),
            b"RMSG A s 0\r\n\r\n"
        );
        assert_eq!(
            encoded(|o| rmsg_line(o, b"A", b"s", Some(b"r"), q, 10)),
            b"RMSG A s + r grp 10\r\n"
        );
        assert_eq!(
            encoded(|o| hmsg_line(o, b"A", b"s", None, NO_QUEUES, 3, 10)),
            b"HMSG A s 3 10\r\n"
        );
        assert_eq!(encoded(|o| rs_plus(o, b"ACC1", b"foo.*", None)), b"RS+ ACC1 foo.*\r\n");
        assert_eq!(
            encoded(|o| rs_plus(o, b"ACC1", b"bar", Some((b"q1", 1)))),
            b"RS+ ACC1 bar q1 1\r\n"
        );
        assert_eq!(encoded(|o| rs_minus(o, b"ACC1", b"foo", None)), b"RS- ACC1 foo\r\n");
        assert_eq!(encoded(|o| rs_minus(o, b"ACC1", b"bar", Some(b"q1"))), b"RS- ACC1 bar q1\r\n");
        assert_eq!(encoded(|o| a_plus(o, b"ACC")), b"A+ ACC\r\n");
        assert_eq!(encoded(|o| a_minus(o, b"NOACC")), b"A- NOACC\r\n");
        assert_eq!(encoded(|o| info(o, b"{\"gateway\":\"B\"}")), b"INFO {\"gateway\":\"B\"}\r\n");
        assert_eq!(encoded(|o| connect(o, b"{}")), b"CONNECT {}\r\n");
    }

    #[test]
    fn encoders_reserve_once_and_exactly() {
        let qs: &[&[u8]] = &[b"q1", b"", b"q22"];
        for reply in [None, Some(&b"r"[..]), Some(b"")] {
            for queues in [qs, NO_QUEUES] {
                let line = MsgLine {
                    op: b"HMSG ",
                    account: b"acc",
                    subject: b"s",
                    reply,
                    queues: queues.iter(),
                    sizes: [b"3", b"10"],
                };
                let mut out = BytesMut::new();
                line.put(&mut out);
                assert_eq!(out.len(), line.len(), "{reply:?} {queues:?}");
                let line = MsgLine { op: b"RMSG ", sizes: [b"", b"10"], ..line };
                let mut out = BytesMut::new();
                line.put(&mut out);
                assert_eq!(out.len(), line.len(), "{reply:?} {queues:?}");
            }
        }
        let mut out = BytesMut::new();
        rs_plus(&mut out, b"a", b"s", Some((b"q", 4_000_000_000)));
        assert_eq!(&out[..], b"RS+ a s q 4000000000\r\n");
        assert_eq!(out.capacity(), out.len());
    }

    #[test]
    fn digits() {
        for n in [0, 1, 9, 10, 99, 100, 12345, 1_048_576, usize::MAX] {
            assert_eq!(Decimal::new(n).as_bytes(), n.to_string().as_bytes());
        }
    }

    #[test]
    fn encoded_frames_parse_back() {
        let qs: &[&[u8]] = &[b"q1", b"q2"];
        let mut out = BytesMut::new();
        rmsg(&mut out, b"$G", b"foo", Some(b"r"), qs, b"hello");
        hmsg(&mut out, b"$G", b"foo", None, qs, 2, b"hello");
        rs_plus(&mut out, b"$G", b"foo", Some((b"q", 1)));
        rs_minus(&mut out, b"$G", b"foo", None);
        a_plus(&mut out, b"A");
        a_minus(&mut out, b"A");
        info(&mut out, b"{}");
        connect(&mut out, b"{}");
        assert_eq!(
            all(&out),
            vec![
                Ok(msg("$G", "foo", Some("r"), Some("q1 q2"), 0, "hello")),
                Ok(msg("$G", "foo", None, Some("q1 q2"), 2, "hello")),
                Ok(rs_plus_op("$G", "foo", Some(("q", 1)))),
                Ok(rs_minus_op("$G", "foo", None)),
                Ok(GatewayOp::APlus(b("A"))),
                Ok(GatewayOp::AMinus(b("A"))),
                Ok(GatewayOp::Info(b("{}"))),
                Ok(GatewayOp::Connect(b("{}"))),
            ]
        );
    }
}
