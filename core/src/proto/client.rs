//! The client protocol parser (client → server): CONNECT PUB HPUB SUB UNSUB PING PONG, and the
//! INFO, +OK and -ERR a client may send. See `shared/docs/client-protocol.md` §3.
//!
//! The parser is incremental and zero-copy: [`Parser::parse`] takes complete frames off the
//! front of the read buffer and returns them as [`ClientOp`]s whose fields are `Bytes` slices of
//! that buffer. An incomplete frame is not an error: `Ok(None)` keeps the frame's argument and
//! payload bytes in the buffer (op names and separators are consumed and remembered) and the
//! next call resumes without rescanning what it already saw. Limits are enforced before
//! anything is buffered beyond them.

use std::fmt;

use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr;

use crate::proto::frames::{
    self, ArgSpans, FrameParser, LineFields, Span, is_space, parse_size, scan_line,
};

/// Parser limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest argument of a control line (bytes after the op name and its separator, CR
    /// dropped). nats-server default 4096.
    pub max_control_line: usize,
    /// Largest PUB/HPUB total size. nats-server default 1 MiB.
    pub max_payload: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_control_line: 4096, max_payload: 1024 * 1024 }
    }
}

/// One frame from a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientOp {
    /// `CONNECT <json>`: the raw JSON argument (may be empty).
    Connect(Bytes),
    /// `INFO <json>` sent by a client: the raw argument.
    Info(Bytes),
    /// `PUB subject [reply] size` and its payload.
    Pub(Publish),
    /// `HPUB subject [reply] hdr_size total_size` and its headers + payload.
    Hpub(Publish),
    /// `SUB subject [queue] sid`.
    Sub {
        /// Subject (not validated by the parser).
        subject: Bytes,
        /// Queue group, if any.
        queue: Option<Bytes>,
        /// Client-chosen subscription id.
        sid: Bytes,
    },
    /// `UNSUB sid [max]`.
    Unsub {
        /// Subscription id.
        sid: Bytes,
        /// `None` when absent; `Some(0)` when present but not a valid size (nats-server then
        /// removes the subscription at once).
        max: Option<u64>,
    },
    /// `PING`.
    Ping,
    /// `PONG`.
    Pong,
    /// `+OK`.
    Ok,
    /// `-ERR <text>`: the raw argument.
    Err(Bytes),
}

/// A published message as it arrived (the node's neutral message type).
pub use crate::message::Message;

/// A publication as parsed: its frame, held once, and the places of its fields in it. See
/// [`Publish::message`].
#[derive(Clone)]
pub struct Publish {
    frame: Bytes,
    subject: Span,
    reply: Option<Span>,
    header_len: usize,
    payload: Span,
}

impl Publish {
    /// A publication from its parts (tests and fuzzing), copied into one frame.
    pub fn new(subject: &[u8], reply: Option<&[u8]>, header_len: usize, payload: &[u8]) -> Self {
        let mut frame = BytesMut::new();
        let mut put = |part: &[u8]| Span::append(&mut frame, part);
        let subject = put(subject);
        let reply = reply.map(&mut put);
        let payload = put(payload);
        Self { frame: frame.freeze(), subject, reply, header_len, payload }
    }

    /// The message, borrowed from the frame.
    pub fn message(&self) -> Message<'_> {
        Message {
            subject: self.subject.of(&self.frame),
            reply: self.reply.map(|r| r.of(&self.frame)),
            header_len: self.header_len,
            payload: self.payload.of(&self.frame),
        }
    }
}

impl PartialEq for Publish {
    fn eq(&self, other: &Self) -> bool {
        self.message() == other.message()
    }
}

impl Eq for Publish {}

impl fmt::Debug for Publish {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.message();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        f.debug_struct("Publish")
            .field("subject", &text(m.subject))
            .field("reply", &m.reply.map(text))
            .field("header_len", &m.header_len)
            .field("payload", &text(m.payload))
            .finish()
    }
}

/// Why the byte stream cannot be parsed. Errors are sticky: once returned, every later call
/// returns the same error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// An unknown op, a bad letter inside an op name, or bad bytes after a payload.
    /// Wire answer: `-ERR 'Unknown Protocol Operation'`, close.
    UnknownOp,
    /// A control-line argument longer than `max_control_line`.
    /// Wire answer: `-ERR 'maximum control line exceeded'`, close.
    MaxControlLine,
    /// A PUB/HPUB size above `max_payload`. Wire answer: `-ERR 'Maximum Payload Violation'`,
    /// close.
    MaxPayload,
    /// Wrong argument count or an invalid size in PUB/HPUB/SUB/UNSUB (which op is named).
    /// nats-server closes without an `-ERR`.
    BadArgs(&'static str),
}

/// The incremental parser for one client connection.
///
/// Call [`Parser::parse`] in a loop after appending bytes to the read buffer until it returns
/// `Ok(None)` (need more bytes) or an error (fatal: the connection must be closed after the
/// error's wire answer, see [`ParseError`]).
///
/// Deliberate deviations from nats-server, all on input no client sends:
/// * A control line ends at the first `\n`, and only a `\r` right before it is dropped.
///   nats-server keeps the first byte after the op name's separator in the argument even when
///   it is `\n` (so `PUB \nfoo 1\r\n` is a PUB to subject `\nfoo` there, `BadArgs` here), and a
///   `\r` anywhere in the argument makes it drop the argument's last byte.
/// * A PUB/HPUB size written with leading zeros is parsed, but its text is not kept, so a
///   delivery re-encodes it without them.
#[derive(Debug)]
pub struct Parser {
    limits: Limits,
    /// Whether HPUB is acceptable (see [`Parser::set_headers`]).
    headers: bool,
    state: State,
    /// The error returned once; every later call returns it again.
    failed: Option<ParseError>,
}

impl Parser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Self { limits, headers: true, state: State::Start, failed: None }
    }

    /// Change the limits (e.g. after a configuration reload).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Whether HPUB is accepted (default `true`). When `false`, a complete HPUB control line is
    /// answered with `BadArgs("HPUB")` before its arguments are looked at, as nats-server does for
    /// a connection that did not negotiate headers (it closes without `-ERR`, before reading the
    /// payload).
    pub fn set_headers(&mut self, enabled: bool) {
        self.headers = enabled;
    }

    /// Take the next complete frame off the front of `buf`.
    ///
    /// On an error the offending control line (PUB/HPUB/SUB/UNSUB arguments) is left at the
    /// front of `buf`, for the caller's log line.
    ///
    /// `Ok(None)`: `buf` holds no complete frame (nothing consumed that matters; call again
    /// after appending more bytes). Bytes the parser is done with (op names, separators, what
    /// follows `PING`/`PONG`/`+OK` on their line) may already have been removed from `buf`: the
    /// parser remembers them, and this keeps the buffer bounded however slowly a frame arrives.
    /// A pending frame never holds more than `max_control_line + max_payload + 4` bytes.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<ClientOp>, ParseError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let res = self.step(buf);
        if let Err(e) = res {
            self.failed = Some(e);
        }
        res
    }

    /// Where the parser stopped on a [`ParseError::UnknownOp`], in nats-server's terms: its
    /// parser state number (`OP_START` is 0, `OP_PU` 30, `MSG_END_R` 41, …) and the offending
    /// byte's offset in `buf`, the buffer the failing call left. For the
    /// `Client parser ERROR, state=…, i=…` log line.
    pub fn error_position(&self, buf: &[u8]) -> (u8, usize) {
        match self.state {
            State::Start => (0, 0),
            State::Name { op, matched } => (op.nats_state(matched), 0),
            State::Sep { op, .. } => (op.nats_state(op.name().len()), 0),
            State::Payload(p) => {
                let end = p.line_len.saturating_add(p.size);
                // The CR after the payload was right: the LF was not.
                if buf.get(end) == Some(&b'\r') {
                    (MSG_END_R + 1, end + 1)
                } else {
                    (MSG_END_R, end)
                }
            }
            State::Arg { .. } | State::Skip(_) => (0, 0),
        }
    }

    /// An unknown op inside a name: remember how far the name matched (consuming it) so
    /// [`Parser::error_position`] can say where.
    fn fail_in_name(&mut self, buf: &mut BytesMut, i: usize, op: Op, matched: usize) -> ParseError {
        buf.advance(i);
        self.state = State::Name { op, matched };
        ParseError::UnknownOp
    }

    /// True when the parser is between frames: the next byte in the buffer starts an op. A
    /// connection waiting for CONNECT can check the first byte of the next op here (nats-server
    /// answers any op not starting with `C`/`c` with `Authorization Violation` at that byte).
    pub fn at_frame_start(&self) -> bool {
        self.failed.is_none() && matches!(self.state, State::Start)
    }

    fn step(&mut self, buf: &mut BytesMut) -> Result<Option<ClientOp>, ParseError> {
        // Each arm either moves to the next state with bytes left to look at, or returns. The
        // loop runs at most once per state of one frame: Start, Name, Sep, Arg, Payload.
        loop {
            match self.state {
                State::Start => {
                    if let Some(publish) = self.whole_publish(buf) {
                        return Ok(Some(publish));
                    }
                    let Some(&b) = buf.first() else {
                        return Ok(None);
                    };
                    let op = Op::from_first_letter(b).ok_or(ParseError::UnknownOp)?;
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
                        let b = b.to_ascii_uppercase();
                        if matched == 1 && op == Op::Pub {
                            // `P` starts PUB, PING and PONG: the second letter decides.
                            op = match b {
                                b'U' => Op::Pub,
                                b'I' => Op::Ping,
                                b'O' => Op::Pong,
                                _ => return Err(self.fail_in_name(buf, i, op, matched)),
                            };
                        } else if b != want {
                            return Err(self.fail_in_name(buf, i, op, matched));
                        }
                        matched += 1;
                        i += 1;
                    }
                    buf.advance(i);
                    self.state = match op {
                        Op::Ping | Op::Pong | Op::Ok => State::Skip(op),
                        Op::Connect | Op::Info => State::Sep { op, need_space: false },
                        Op::Pub | Op::Hpub | Op::Sub | Op::Unsub | Op::Err => {
                            State::Sep { op, need_space: true }
                        }
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
                        Op::Ping => ClientOp::Ping,
                        Op::Pong => ClientOp::Pong,
                        _ => ClientOp::Ok,
                    }));
                }
                State::Sep { op, need_space } => {
                    let ws = buf.iter().take_while(|b| is_space(**b)).count();
                    if need_space && ws == 0 && !buf.is_empty() {
                        return Err(ParseError::UnknownOp);
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
                            return Err(ParseError::MaxControlLine);
                        }
                        self.state = State::Arg { op, scanned: buf.len() };
                        return Ok(None);
                    };
                    let end = if nl > 0 && buf.get(nl - 1) == Some(&b'\r') { nl - 1 } else { nl };
                    if end > self.limits.max_control_line {
                        return Err(ParseError::MaxControlLine);
                    }
                    if let Op::Pub | Op::Hpub = op {
                        let arg = buf.get(..end).unwrap_or_default();
                        let pending = self.pub_line(op, arg, &Args::split(arg, false))?;
                        self.state = State::Payload(Pending { line_len: nl + 1, ..pending });
                        continue;
                    }
                    let line = buf.split_to(nl + 1).freeze();
                    self.state = State::Start;
                    let parsed = control_op(op, &line, end);
                    if parsed.is_err() {
                        // Leave the bad line at the front, as a PUB's is, for the error's log
                        // line (a copy, on a path that ends the connection).
                        let mut back = BytesMut::from(&line[..]);
                        back.unsplit(std::mem::take(buf));
                        *buf = back;
                    }
                    return parsed.map(Some);
                }
                State::Payload(p) => {
                    // The payload itself is never scanned: only the two bytes after it are
                    // checked, each as soon as it has arrived.
                    let body_end = p.line_len.saturating_add(p.size);
                    if buf.get(body_end).is_some_and(|b| *b != b'\r') {
                        return Err(ParseError::UnknownOp);
                    }
                    if buf.get(body_end + 1).is_some_and(|b| *b != b'\n') {
                        return Err(ParseError::UnknownOp);
                    }
                    if buf.len() < body_end + 2 {
                        return Ok(None);
                    }
                    self.state = State::Start;
                    return Ok(Some(take_publish(buf, &p)));
                }
            }
        }
    }

    /// The common case in one pass: a whole `PUB`/`HPUB` frame, spelled in upper case with
    /// one space after the name, at the buffer's front. Anything else (another op, a partial
    /// frame, an error) is left to the state machine, which reaches the same result byte by
    /// byte; this only skips its steps.
    #[inline]
    fn whole_publish(&self, buf: &mut BytesMut) -> Option<ClientOp> {
        let (op, name) = match buf.get(..4)? {
            b"PUB " => (Op::Pub, 4),
            b"HPUB" if buf.get(4) == Some(&b' ') => (Op::Hpub, 5),
            _ => return None,
        };
        let rest = buf.get(name..)?;
        // More separators would be dropped by the `Sep` state: not this path's business.
        if rest.first().is_none_or(|b| is_space(*b)) {
            return None;
        }
        let line = scan_line(rest, false)?;
        if line.end > self.limits.max_control_line {
            return None;
        }
        let args = Args::from_line(&line);
        let pending = self.pub_line(op, rest.get(..line.end)?, &args).ok()?;
        let pending = Pending { line_len: line.nl + 1, ..pending };
        let body_end = pending.line_len.checked_add(pending.size)?;
        if rest.get(body_end..body_end.checked_add(2)?)? != b"\r\n" {
            return None;
        }
        buf.advance(name);
        Some(take_publish(buf, &pending))
    }

    /// Checks a complete PUB/HPUB argument (`arg` starts at the buffer's front) in nats-server's
    /// order: argument count, sizes, header size against total, then max payload.
    fn pub_line(&self, op: Op, arg: &[u8], args: &Args) -> Result<Pending, ParseError> {
        let hpub = op == Op::Hpub;
        let name = if hpub { "HPUB" } else { "PUB" };
        if hpub && !self.headers {
            return Err(ParseError::BadArgs(name));
        }
        let sizes = if hpub { 2 } else { 1 };
        let (subject, reply) = match args.len.checked_sub(sizes) {
            Some(1) => (args.get(0), None),
            Some(2) => (args.get(0), Some(args.get(1))),
            _ => return Err(ParseError::BadArgs(name)),
        };
        let size_at = |i: usize| {
            let (s, e) = args.get(args.len - sizes + i);
            parse_size(arg.get(s..e).unwrap_or_default()).ok_or(ParseError::BadArgs(name))
        };
        let (header_len, size) = if hpub {
            let header_len = size_at(0)?;
            let size = size_at(1)?;
            if header_len > size {
                return Err(ParseError::BadArgs(name));
            }
            (header_len, size)
        } else {
            (0, size_at(0)?)
        };
        if size > self.limits.max_payload || size >= SPAN_LIMIT {
            return Err(ParseError::MaxPayload);
        }
        if arg.len() >= SPAN_LIMIT {
            return Err(ParseError::MaxControlLine);
        }
        Ok(Pending { hpub, line_len: 0, subject, reply, header_len, size })
    }
}

/// Lines and payloads of this size or more are refused whatever the configured limits say,
/// so that a frame's offsets fit a [`Span`].
const SPAN_LIMIT: usize = 1 << 31;

/// Takes the publication `p` describes (complete, CRLF checked) off the front of `buf`.
#[inline]
fn take_publish(buf: &mut BytesMut, p: &Pending) -> ClientOp {
    let body_end = p.line_len + p.size;
    let frame = buf.split_to(body_end + 2).freeze();
    // Offsets fit: `pub_line` refuses a line or a size of 2 GiB or more.
    let span = |(s, e): (usize, usize)| Span::new(s, e).unwrap_or_default();
    let publish = Publish {
        frame,
        subject: span(p.subject),
        reply: p.reply.map(span),
        header_len: p.header_len,
        payload: span((p.line_len, body_end)),
    };
    if p.hpub { ClientOp::Hpub(publish) } else { ClientOp::Pub(publish) }
}

/// Builds a frame without payload from its complete control line; `line[..end]` is the
/// argument (trailing CR and LF excluded).
fn control_op(op: Op, line: &Bytes, end: usize) -> Result<ClientOp, ParseError> {
    let arg = line.get(..end).unwrap_or_default();
    let slice = |(s, e): (usize, usize)| line.slice(s..e);
    Ok(match op {
        Op::Connect => ClientOp::Connect(line.slice(..end)),
        Op::Info => ClientOp::Info(line.slice(..end)),
        Op::Err => ClientOp::Err(line.slice(..end)),
        Op::Sub => {
            // nats-server splits SUB and UNSUB (not PUB) on CR and LF too.
            let args = Args::split(arg, true);
            match args.len {
                2 => ClientOp::Sub {
                    subject: slice(args.get(0)),
                    queue: None,
                    sid: slice(args.get(1)),
                },
                3 => ClientOp::Sub {
                    subject: slice(args.get(0)),
                    queue: Some(slice(args.get(1))),
                    sid: slice(args.get(2)),
                },
                _ => return Err(ParseError::BadArgs("SUB")),
            }
        }
        Op::Unsub => {
            let args = Args::split(arg, true);
            let max = match args.len {
                1 => None,
                // An unparsable max means "remove now" in nats-server, like 0.
                2 => {
                    let (s, e) = args.get(1);
                    let max = parse_size(arg.get(s..e).unwrap_or_default());
                    Some(max.map_or(0, |n| n as u64))
                }
                _ => return Err(ParseError::BadArgs("UNSUB")),
            };
            ClientOp::Unsub { sid: slice(args.get(0)), max }
        }
        // Payload ops and the ones without argument never get here.
        Op::Pub | Op::Hpub | Op::Ping | Op::Pong | Op::Ok => return Err(ParseError::UnknownOp),
    })
}

/// nats-server's `MSG_END_R` state (`MSG_END_N` is one more).
const MSG_END_R: u8 = 41;

/// Where the parser is inside the current frame. Bytes already consumed from the buffer
/// (op name, separators, skipped bytes) are represented here, never kept.
#[derive(Clone, Copy, Debug)]
enum State {
    /// Between frames: the next byte starts an op name.
    Start,
    /// Inside an op name: its first `matched` letters have been consumed. For the `P` ops `op`
    /// is [`Op::Pub`] until the second letter decides.
    Name { op: Op, matched: usize },
    /// After the name of `op`: skipping spaces and tabs. `need_space`: none seen yet and at
    /// least one is required.
    Sep { op: Op, need_space: bool },
    /// The argument of `op` starts at the buffer's front; its first `scanned` bytes hold no
    /// `\n` (so they are not searched again).
    Arg { op: Op, scanned: usize },
    /// A checked PUB/HPUB control line at the buffer's front, waiting for its payload.
    Payload(Pending),
    /// After `PING`, `PONG` or `+OK`: discarding bytes up to `\n`.
    Skip(Op),
}

/// A PUB/HPUB control line whose payload has not fully arrived. Offsets are from the buffer's
/// front, where the argument starts.
#[derive(Clone, Copy, Debug)]
struct Pending {
    hpub: bool,
    /// Length of the control line including its `\n`: the payload starts here.
    line_len: usize,
    subject: (usize, usize),
    reply: Option<(usize, usize)>,
    /// Header size, `<= size`.
    header_len: usize,
    /// Total payload size, `<= max_payload`.
    size: usize,
}

/// The ops a client may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Connect,
    Info,
    Pub,
    Hpub,
    Sub,
    Unsub,
    Ping,
    Pong,
    Ok,
    Err,
}

impl Op {
    /// The op a first letter starts; `P` gives [`Op::Pub`] provisionally.
    fn from_first_letter(b: u8) -> Option<Self> {
        Some(match b.to_ascii_uppercase() {
            b'C' => Self::Connect,
            b'I' => Self::Info,
            b'P' => Self::Pub,
            b'H' => Self::Hpub,
            b'S' => Self::Sub,
            b'U' => Self::Unsub,
            b'+' => Self::Ok,
            b'-' => Self::Err,
            _ => return None,
        })
    }

    /// nats-server's parser state after the first `matched` letters of this op's name.
    fn nats_state(self, matched: usize) -> u8 {
        // The state of the first letter and of the second; the rest follow in order.
        let (first, second) = match self {
            Self::Ok => (1, 2),
            Self::Err => (4, 5),
            Self::Connect => (10, 11),
            Self::Hpub => (18, 19),
            Self::Pub => (29, 30),
            Self::Ping => (29, 34),
            Self::Pong => (29, 37),
            Self::Sub => (43, 44),
            Self::Unsub => (59, 60),
            Self::Info => (71, 72),
        };
        match matched {
            0 | 1 => first,
            n => second + (n - 2).min(255) as u8,
        }
    }

    /// The name in upper case (matching is case-insensitive).
    fn name(self) -> &'static [u8] {
        match self {
            Self::Connect => b"CONNECT",
            Self::Info => b"INFO",
            Self::Pub => b"PUB",
            Self::Hpub => b"HPUB",
            Self::Sub => b"SUB",
            Self::Unsub => b"UNSUB",
            Self::Ping => b"PING",
            Self::Pong => b"PONG",
            Self::Ok => b"+OK",
            Self::Err => b"-ERR",
        }
    }
}

/// The whitespace-separated arguments of a control line, as ranges into it. No op takes more
/// than four; `len` counts one more when there are more, which every caller rejects.
struct Args {
    ranges: [(usize, usize); 4],
    len: usize,
}

impl Args {
    /// Splits `arg` on runs of spaces and tabs (and CRs when `cr_is_space`); counting stops
    /// one past the ranges kept.
    #[inline]
    fn split(arg: &[u8], cr_is_space: bool) -> Self {
        let mut args = Self { ranges: [(0, 0); 4], len: 0 };
        for span in ArgSpans::new(arg, cr_is_space) {
            let Some(slot) = args.ranges.get_mut(args.len) else {
                args.len += 1;
                break;
            };
            *slot = span;
            args.len += 1;
        }
        args
    }

    /// The ranges of a line the fast path scanned, counted as [`Args::split`] counts them.
    #[inline]
    fn from_line(line: &LineFields) -> Self {
        let mut args = Self { ranges: [(0, 0); 4], len: line.len.min(5) };
        for (slot, span) in args.ranges.iter_mut().zip(&line.spans) {
            *slot = (span.start(), span.end());
        }
        args
    }

    /// The `i`-th range (`(0, 0)` past the end, which callers avoid by checking `len`).
    fn get(&self, i: usize) -> (usize, usize) {
        self.ranges.get(i).copied().unwrap_or((0, 0))
    }
}

/// Parse a whole byte string: every frame up to the first error or the end of the input
/// (test and fuzz helper).
pub fn parse_all(data: &[u8], limits: Limits) -> Vec<Result<ClientOp, ParseError>> {
    frames::parse_all(Parser::new(limits), data)
}

impl FrameParser for Parser {
    type Frame = ClientOp;
    type Error = ParseError;

    fn next_frame(&mut self, buf: &mut BytesMut) -> Result<Option<ClientOp>, ParseError> {
        self.parse(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Limits = Limits { max_control_line: 16, max_payload: 8 };

    fn all(data: &[u8]) -> Vec<Result<ClientOp, ParseError>> {
        parse_all(data, Limits::default())
    }

    /// The single result of parsing `data` (which must yield exactly one op or error).
    fn one(data: &[u8]) -> Result<ClientOp, ParseError> {
        one_with(data, Limits::default())
    }

    fn one_with(data: &[u8], limits: Limits) -> Result<ClientOp, ParseError> {
        let mut out = parse_all(data, limits);
        assert_eq!(out.len(), 1, "{data:?} gave {out:?}");
        out.remove(0)
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn publish(subject: &str, reply: Option<&str>, header_len: usize, payload: &str) -> Publish {
        Publish::new(subject.as_bytes(), reply.map(str::as_bytes), header_len, payload.as_bytes())
    }

    fn sub(subject: &str, queue: Option<&str>, sid: &str) -> ClientOp {
        ClientOp::Sub { subject: b(subject), queue: queue.map(b), sid: b(sid) }
    }

    #[test]
    fn parses_every_op() {
        let data = b"CONNECT {\"verbose\":false}\r\nINFO {}\r\nPUB foo 5\r\nhello\r\n\
            PUB foo bar 0\r\n\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nSUB foo 1\r\n\
            SUB foo q 2\r\nUNSUB 1\r\nUNSUB 2 10\r\nPING\r\nPONG\r\n+OK\r\n-ERR 'x y'\r\n";
        assert_eq!(
            all(data),
            vec![
                Ok(ClientOp::Connect(b("{\"verbose\":false}"))),
                Ok(ClientOp::Info(b("{}"))),
                Ok(ClientOp::Pub(publish("foo", None, 0, "hello"))),
                Ok(ClientOp::Pub(publish("foo", Some("bar"), 0, ""))),
                Ok(ClientOp::Hpub(publish("foo", None, 12, "NATS/1.0\r\n\r\nhi"))),
                Ok(sub("foo", None, "1")),
                Ok(sub("foo", Some("q"), "2")),
                Ok(ClientOp::Unsub { sid: b("1"), max: None }),
                Ok(ClientOp::Unsub { sid: b("2"), max: Some(10) }),
                Ok(ClientOp::Ping),
                Ok(ClientOp::Pong),
                Ok(ClientOp::Ok),
                Ok(ClientOp::Err(b("'x y'"))),
            ]
        );
    }

    #[test]
    fn op_names_are_case_insensitive() {
        assert_eq!(one(b"pInG\r\n"), Ok(ClientOp::Ping));
        assert_eq!(one(b"pOnG\r\n"), Ok(ClientOp::Pong));
        assert_eq!(one(b"+ok\r\n"), Ok(ClientOp::Ok));
        assert_eq!(one(b"-eRr x\r\n"), Ok(ClientOp::Err(b("x"))));
        assert_eq!(one(b"cOnNeCt {}\r\n"), Ok(ClientOp::Connect(b("{}"))));
        assert_eq!(one(b"iNfO {}\r\n"), Ok(ClientOp::Info(b("{}"))));
        assert_eq!(one(b"sUb a 1\r\n"), Ok(sub("a", None, "1")));
        assert_eq!(one(b"uNsUb 1\r\n"), Ok(ClientOp::Unsub { sid: b("1"), max: None }));
        assert_eq!(one(b"pUb a 1\r\nx\r\n"), Ok(ClientOp::Pub(publish("a", None, 0, "x"))));
        assert_eq!(one(b"hPuB a 0 1\r\nx\r\n"), Ok(ClientOp::Hpub(publish("a", None, 0, "x"))));
    }

    #[test]
    fn unknown_ops() {
        for data in [
            &b" PING\r\n"[..],
            b"\r\n",
            b"\n",
            b"XPING\r\n",
            b"MSG foo 1 1\r\nx\r\n",
            b"HMSG foo 1 0 1\r\nx\r\n",
            b"PUBx foo 1\r\n",
            b"PUB\r\n",
            b"UNSUB_2\r\n",
            b"SUBfoo 1\r\n",
            b"HPUB\r\n",
            b"-ERR\r\n",
            b"-ERRx\r\n",
            b"PIx\r\n",
            b"PX\r\n",
            b"CONNEXT {}\r\n",
            b"INF\r\n",
            b"+O\r\n",
            b"\xffPING\r\n",
        ] {
            assert_eq!(one(data), Err(ParseError::UnknownOp), "{data:?}");
        }
        // The error comes at the first bad byte, without waiting for a newline.
        assert_eq!(one(b"PUX"), Err(ParseError::UnknownOp));
        assert_eq!(one(b"M"), Err(ParseError::UnknownOp));
    }

    #[test]
    fn ping_pong_ok_ignore_the_rest_of_their_line() {
        assert_eq!(one(b"PINGxyz\r\n"), Ok(ClientOp::Ping));
        assert_eq!(one(b"PING  \r  \n"), Ok(ClientOp::Ping));
        assert_eq!(one(b"PONG PING\n"), Ok(ClientOp::Pong));
        assert_eq!(one(b"+OKAY\r\n"), Ok(ClientOp::Ok));
        // Not subject to max_control_line.
        let mut long = b"PING".to_vec();
        long.extend(std::iter::repeat_n(b'x', 10_000));
        long.extend(b"\r\n");
        assert_eq!(one_with(&long, SMALL), Ok(ClientOp::Ping));
    }

    #[test]
    fn ping_garbage_is_discarded_as_it_arrives() {
        let mut parser = Parser::new(SMALL);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(b"PING");
        assert_eq!(parser.parse(&mut buf), Ok(None));
        for _ in 0..1000 {
            buf.extend_from_slice(&[b'x'; 1000]);
            assert_eq!(parser.parse(&mut buf), Ok(None));
            assert!(buf.is_empty());
        }
        buf.extend_from_slice(b"\r\nPONG\r\n");
        assert_eq!(parser.parse(&mut buf), Ok(Some(ClientOp::Ping)));
        assert_eq!(parser.parse(&mut buf), Ok(Some(ClientOp::Pong)));
        assert_eq!(parser.parse(&mut buf), Ok(None));
    }

    #[test]
    fn separators_are_not_buffered_nor_counted() {
        let mut parser = Parser::new(SMALL);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(b"SUB");
        for _ in 0..100 {
            buf.extend_from_slice(b" \t      ");
            assert_eq!(parser.parse(&mut buf), Ok(None));
            assert!(buf.is_empty());
        }
        buf.extend_from_slice(b"foo 1\r\n");
        assert_eq!(parser.parse(&mut buf), Ok(Some(sub("foo", None, "1"))));
    }

    #[test]
    fn whitespace_and_line_endings() {
        assert_eq!(one(b"SUB\tfoo \t q\t\t1 \t\r\n"), Ok(sub("foo", Some("q"), "1")));
        assert_eq!(
            one(b"PUB  foo   bar  2  \nhi\r\n"),
            Ok(ClientOp::Pub(publish("foo", Some("bar"), 0, "hi")))
        );
        assert_eq!(one(b"SUB foo 1\n"), Ok(sub("foo", None, "1")));
        assert_eq!(one(b"CONNECT{}\n"), Ok(ClientOp::Connect(b("{}"))));
        assert_eq!(one(b"CONNECT \t {} \r\n"), Ok(ClientOp::Connect(b("{} "))));
        assert_eq!(one(b"CONNECT\r\n"), Ok(ClientOp::Connect(Bytes::new())));
        assert_eq!(one(b"CONNECT   \n"), Ok(ClientOp::Connect(Bytes::new())));
        assert_eq!(one(b"INFO\r\n"), Ok(ClientOp::Info(Bytes::new())));
        assert_eq!(one(b"-ERR \r\n"), Ok(ClientOp::Err(Bytes::new())));
        // Form feed, vertical tab and the like are not whitespace.
        assert_eq!(one(b"SUB foo\x0b1\r\n"), Err(ParseError::BadArgs("SUB")));
        // SUB and UNSUB split on CR too (nats-server's splitArg), PUB does not.
        assert_eq!(one(b"SUB foo\r1\r\n"), Ok(sub("foo", None, "1")));
        assert_eq!(one(b"PUB foo\r1\r\n"), Err(ParseError::BadArgs("PUB")));
    }

    #[test]
    fn payload_must_be_followed_by_crlf() {
        assert_eq!(all(b"PUB foo 2\r\nab\nPING\r\n"), vec![Err(ParseError::UnknownOp)]);
        assert_eq!(one(b"PUB foo 1\r\nab\r\n"), Err(ParseError::UnknownOp));
        assert_eq!(one(b"PUB foo 1\r\na\rX"), Err(ParseError::UnknownOp));
        // Each byte is checked as soon as it arrives.
        assert_eq!(one(b"PUB foo 1\r\naX"), Err(ParseError::UnknownOp));
        assert_eq!(parse_all(b"PUB foo 1\r\na\r", Limits::default()), vec![]);
    }

    #[test]
    fn pub_sizes() {
        assert_eq!(
            one(b"PUB foo 005\r\nhello\r\n"),
            Ok(ClientOp::Pub(publish("foo", None, 0, "hello")))
        );
        assert_eq!(
            one(b"PUB foo 000000001\r\nx\r\n"),
            Ok(ClientOp::Pub(publish("foo", None, 0, "x")))
        );
        for data in [
            &b"PUB foo 0000000001\r\n"[..],
            b"PUB foo -1\r\n",
            b"PUB foo +1\r\n",
            b"PUB foo 1x\r\n",
            b"PUB foo\r\n",
            b"PUB \r\n",
            b"PUB a b c 1\r\n",
            b"PUB a b c d e f 1\r\n",
            // The argument count is checked before the size.
            b"PUB a b c 99999999999\r\n",
            b"PUB foo 9999999999\r\n",
        ] {
            assert_eq!(one(data), Err(ParseError::BadArgs("PUB")), "{data:?}");
        }
    }

    #[test]
    fn max_payload_boundary() {
        assert_eq!(
            one_with(b"PUB foo 8\r\n12345678\r\n", SMALL),
            Ok(ClientOp::Pub(publish("foo", None, 0, "12345678")))
        );
        // Checked when the control line completes, before any payload arrives.
        assert_eq!(one_with(b"PUB foo 9\r\n", SMALL), Err(ParseError::MaxPayload));
        assert_eq!(one_with(b"HPUB foo 1 9\r\n", SMALL), Err(ParseError::MaxPayload));
        assert_eq!(one(b"PUB foo 1048577\r\n"), Err(ParseError::MaxPayload));
        // Size syntax comes first.
        assert_eq!(one_with(b"PUB foo 9x\r\n", SMALL), Err(ParseError::BadArgs("PUB")));
    }

    #[test]
    fn hpub() {
        assert_eq!(
            one(b"HPUB foo bar 12 17\r\nNATS/1.0\r\n\r\nhello\r\n"),
            Ok(ClientOp::Hpub(publish("foo", Some("bar"), 12, "NATS/1.0\r\n\r\nhello")))
        );
        assert_eq!(one(b"HPUB foo 0 0\r\n\r\n"), Ok(ClientOp::Hpub(publish("foo", None, 0, ""))));
        for data in [
            &b"HPUB foo 5 3\r\n"[..],
            b"HPUB foo 5\r\n",
            b"HPUB a b c 1 2\r\n",
            b"HPUB foo x 3\r\n",
            b"HPUB foo 1 x\r\n",
            // Header size is checked against total size before max payload.
            b"HPUB foo 2000000 1999999\r\n",
        ] {
            assert_eq!(one(data), Err(ParseError::BadArgs("HPUB")), "{data:?}");
        }
        let mut parser = Parser::new(Limits::default());
        parser.set_headers(false);
        let mut buf = BytesMut::from(&b"HPUB foo 2000000 1\r\n"[..]);
        assert_eq!(parser.parse(&mut buf), Err(ParseError::BadArgs("HPUB")));
    }

    #[test]
    fn sub_and_unsub_arguments() {
        assert_eq!(one(b"SUB foo\r\n"), Err(ParseError::BadArgs("SUB")));
        assert_eq!(one(b"SUB a b c d\r\n"), Err(ParseError::BadArgs("SUB")));
        assert_eq!(one(b"SUB \r\n"), Err(ParseError::BadArgs("SUB")));
        assert_eq!(one(b"UNSUB \r\n"), Err(ParseError::BadArgs("UNSUB")));
        assert_eq!(one(b"UNSUB 1 2 3\r\n"), Err(ParseError::BadArgs("UNSUB")));
        let unsub = |max| Ok(ClientOp::Unsub { sid: b("s"), max });
        assert_eq!(one(b"UNSUB s\r\n"), unsub(None));
        assert_eq!(one(b"UNSUB s 0\r\n"), unsub(Some(0)));
        assert_eq!(one(b"UNSUB s 007\r\n"), unsub(Some(7)));
        assert_eq!(one(b"UNSUB s 999999999\r\n"), unsub(Some(999_999_999)));
        assert_eq!(one(b"UNSUB s x\r\n"), unsub(Some(0)));
        assert_eq!(one(b"UNSUB s 1234567890\r\n"), unsub(Some(0)));
        assert_eq!(one(b"UNSUB s -1\r\n"), unsub(Some(0)));
    }

    #[test]
    fn max_control_line_boundary() {
        // The argument after "SUB " counts, trailing whitespace included, CR excluded.
        let line = |arg: &str| format!("SUB {arg}\r\n").into_bytes();
        let exact = "a234567890123 1"; // 15
        assert_eq!(
            one_with(&line(&format!("{exact} ")), SMALL),
            Ok(sub("a234567890123", None, "1"))
        );
        assert_eq!(one_with(&line(&format!("{exact}  ")), SMALL), Err(ParseError::MaxControlLine));
        assert_eq!(
            one_with(b"CONNECT 12345678901234567\n", SMALL),
            Err(ParseError::MaxControlLine)
        );
        assert_eq!(
            one_with(b"CONNECT 1234567890123456\n", SMALL),
            Ok(ClientOp::Connect(b("1234567890123456")))
        );
        // Checked before the arguments.
        assert_eq!(one_with(b"PUB a b c d e f g h i\r\n", SMALL), Err(ParseError::MaxControlLine));
        // Partial lines: exactly the limit waits, even with the CR; one more byte fails.
        assert_eq!(parse_all(b"SUB a2345678901234 1", SMALL), vec![]);
        assert_eq!(parse_all(b"SUB a2345678901234 1\r", SMALL), vec![]);
        assert_eq!(
            parse_all(b"SUB a2345678901234 12", SMALL),
            vec![Err(ParseError::MaxControlLine)]
        );
        assert_eq!(
            parse_all(b"-ERR 1234567890123456\r\r", SMALL),
            vec![Err(ParseError::MaxControlLine)]
        );
        for op in ["PUB", "HPUB", "SUB", "UNSUB", "CONNECT", "INFO", "-ERR"] {
            let data = format!("{op} {}", "x".repeat(17));
            assert_eq!(
                parse_all(data.as_bytes(), SMALL),
                vec![Err(ParseError::MaxControlLine)],
                "{op}"
            );
        }
    }

    #[test]
    fn errors_are_sticky() {
        let mut parser = Parser::new(Limits::default());
        let mut buf = BytesMut::from(&b"PUB foo x\r\n"[..]);
        assert_eq!(parser.parse(&mut buf), Err(ParseError::BadArgs("PUB")));
        buf.extend_from_slice(b"PING\r\n");
        assert_eq!(parser.parse(&mut buf), Err(ParseError::BadArgs("PUB")));
        assert_eq!(parser.parse(&mut BytesMut::new()), Err(ParseError::BadArgs("PUB")));
        assert!(!parser.at_frame_start());
    }

    #[test]
    fn byte_at_a_time_gives_the_same_ops() {
        let data = b"CONNECT {}\r\nPUB foo 5\r\nhello\r\nHPUB a r 12 12\r\nNATS/1.0\r\n\r\n\r\n\
            SUB x q 1\r\nPINGzz\nUNSUB 1 3\r\n+OK\r\n-ERR 'e'\r\nPUB foo 1\r\nxy";
        let whole = all(data);
        let (split, _) = frames::parse_chunks(Parser::new(Limits::default()), data.chunks(1));
        assert_eq!(whole, split);
        assert_eq!(whole.len(), 9);
        assert_eq!(whole.last(), Some(&Err(ParseError::UnknownOp)));
    }

    #[test]
    fn fields_are_slices_of_the_read_buffer() {
        let mut buf = BytesMut::from(&b"PUB subject reply 7\r\npayload\r\n"[..]);
        let start = buf.as_ptr() as usize;
        let range = start..start + buf.len();
        let Ok(Some(ClientOp::Pub(p))) = Parser::new(Limits::default()).parse(&mut buf) else {
            panic!("no PUB");
        };
        let m = p.message();
        for field in [m.subject, m.reply.unwrap(), m.payload] {
            assert!(range.contains(&(field.as_ptr() as usize)));
        }
        assert!(buf.is_empty());
    }

    #[test]
    fn pending_frames_stay_bounded() {
        let limits = Limits::default();
        let mut parser = Parser::new(limits);
        let mut buf = BytesMut::from(&b"PUB foo 1048576\r\n"[..]);
        assert_eq!(parser.parse(&mut buf), Ok(None));
        buf.extend_from_slice(&[b'x'; 1048576]);
        assert_eq!(parser.parse(&mut buf), Ok(None));
        buf.extend_from_slice(b"\r");
        assert_eq!(parser.parse(&mut buf), Ok(None));
        buf.extend_from_slice(b"\n");
        assert!(
            matches!(parser.parse(&mut buf), Ok(Some(ClientOp::Pub(p))) if p.message().payload.len() == 1048576)
        );
        assert!(buf.is_empty());
        assert!(parser.at_frame_start());
    }
}
