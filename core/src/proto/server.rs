//! The server-to-server grammar shared by gateways and routes: one incremental parser for
//! `RS+`/`RS-`/`RMSG`/`HMSG` (accounts, queue lists, queue weights, 9-digit sizes, the 16×
//! control line), run with one of two op tables, and the encoders of those frames.
//!
//! * The **gateway flavour** ([`crate::proto::gateway`]) also reads `A+`/`A-`, takes `SUB` and
//!   `UNSUB` for `RS+`/`RS-`, and refuses `PUB`/`HPUB` and every `L…` op.
//! * The **route flavour** ([`crate::proto::route`]) also reads `LS+`/`LS-`/`LMSG`, ignores
//!   `SUB`/`UNSUB`/`A±`, swallows `PUB`/`HPUB` with their payload, and can parse the lines of a
//!   pinned-account route, whose frames carry no account field.
//!
//! See `shared/docs/gateway-protocol.md` §3 and `shared/docs/route-protocol.md` §3, §5.1. The
//! framing rules are those of `client-protocol.md` §3. The parser takes complete frames off the
//! front of the read buffer and returns them with fields that are `Bytes` slices of that buffer
//! (no copy, no allocation per frame). An incomplete frame is `Ok(None)` and the next call
//! resumes where it stopped; limits are enforced before anything is buffered beyond them;
//! errors are sticky.

use std::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use memchr::memchr;

use crate::proto::encode::Decimal;
use crate::proto::frames::{ArgSpans, LineFields, Span, is_space, parse_size, scan_line};

/// The largest size a 9-digit size field can announce: nats-server's only bound on what a
/// route sends (route-protocol §5.5).
pub const MAX_SIZE_FIELD: usize = 999_999_999;

/// Parser limits for one gateway or route connection (`GatewayLimits` is this type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// Longest argument of a control line (bytes after the op name and its separator, CR
    /// dropped). nats-server allows 16 × `max_control_line` on gateway and route connections:
    /// 65 536 with the default 4096.
    pub max_control_line: usize,
    /// Largest RMSG/HMSG/LMSG total size accepted.
    ///
    /// **Deliberate difference on gateways**: nats-server does not check the size of messages
    /// that arrive from a gateway at all (2.15.1 delivered a 2 MiB `RMSG` on a 1 MiB server; any
    /// size of up to 9 digits is accepted). Strait keeps a pending gateway payload bounded with
    /// this hard safety cap (the [`Default`], 64 MiB), far above any sane `max_payload`, and
    /// answers a larger one with `PayloadTooLarge`. Routes follow nats-server
    /// ([`ServerLimits::route`]): only the 9-digit size field bounds them.
    pub max_payload: usize,
}

impl Default for ServerLimits {
    /// The gateway limits: 16 × 4096 control line, 64 MiB payload cap.
    fn default() -> Self {
        Self { max_control_line: 16 * 4096, max_payload: 64 * 1024 * 1024 }
    }
}

impl ServerLimits {
    /// The route limits for a `max_control_line` of `base` (4096 by default): 16 × `base`,
    /// and no payload limit beyond the 9-digit size field (route-protocol §5.5).
    pub fn route(base: usize) -> Self {
        Self { max_control_line: base.saturating_mul(16), max_payload: MAX_SIZE_FIELD }
    }
}

/// A message routed over a gateway or a route (`RMSG`, or `HMSG`/`LMSG` when
/// `header_len > 0`).
///
/// One refcounted frame and the offsets of the fields in it: parsing a message takes one
/// reference to the read buffer, not one per field, and the value stays small to move.
#[derive(Clone)]
pub struct RoutedMsg {
    /// The bytes every span below points into.
    frame: Bytes,
    /// On a pinned route: the pinned account (the frame has no account field).
    pinned: Option<Bytes>,
    account: Span,
    subject: Span,
    reply: Option<Span>,
    queues: Option<Span>,
    header_len: u32,
    payload: Span,
}

impl RoutedMsg {
    /// A message from its parts (tests, fuzzing and encoders' round trips): the parts are
    /// copied into one frame.
    pub fn new(
        account: &[u8],
        subject: &[u8],
        reply: Option<&[u8]>,
        queues: Option<&[u8]>,
        header_len: usize,
        payload: &[u8],
    ) -> Self {
        let mut frame = BytesMut::new();
        let mut put = |part: &[u8]| Span::append(&mut frame, part);
        let account = put(account);
        let subject = put(subject);
        let reply = reply.map(&mut put);
        let queues = queues.map(&mut put);
        let payload = put(payload);
        let header_len = u32::try_from(header_len).unwrap_or(u32::MAX);
        Self {
            frame: frame.freeze(),
            pinned: None,
            account,
            subject,
            reply,
            queues,
            header_len,
            payload,
        }
    }

    /// Account name (on a pinned route: the pinned account).
    pub fn account(&self) -> &[u8] {
        match &self.pinned {
            Some(pinned) => pinned,
            None => self.account.of(&self.frame),
        }
    }

    /// Subject (not validated by the parser; may carry the `_GR_.` prefix).
    pub fn subject(&self) -> &[u8] {
        self.subject.of(&self.frame)
    }

    /// Reply subject, if any.
    pub fn reply(&self) -> Option<&[u8]> {
        self.reply.map(|r| r.of(&self.frame))
    }

    /// The queue-group list as it arrived: names separated by spaces, tabs or CRs, never
    /// empty when present. Iterate it with [`RoutedMsg::queue_names`]. `None` when the message
    /// has no queue list (then it must not be delivered to queue subscribers).
    pub fn queues(&self) -> Option<&[u8]> {
        self.queues.map(|q| q.of(&self.frame))
    }

    /// The queue-group names of [`RoutedMsg::queues`], in wire order (empty when there are
    /// none).
    pub fn queue_names(&self) -> impl Iterator<Item = &[u8]> + Clone {
        self.queues()
            .unwrap_or_default()
            .split(is_arg_sep as fn(&u8) -> bool)
            .filter(|name| !name.is_empty())
    }

    /// Length of the header block at the start of the payload; 0 for RMSG. An HMSG with a
    /// header size of 0 is reported like an RMSG, as nats-server treats it (2.15.1 delivered
    /// `HMSG $G foo 0 2` to a client as `MSG`).
    pub fn header_len(&self) -> usize {
        self.header_len as usize
    }

    /// Headers followed by the body, exactly `size` bytes (the trailing CRLF removed).
    pub fn payload(&self) -> &[u8] {
        self.payload.of(&self.frame)
    }

    /// The same message with the queue list of `other` (round-trip checks: encoders write the
    /// names with single spaces between them).
    pub fn with_queues_of(&self, other: &Self) -> Self {
        Self::new(
            self.account(),
            self.subject(),
            self.reply(),
            other.queues(),
            self.header_len(),
            self.payload(),
        )
    }
}

impl PartialEq for RoutedMsg {
    fn eq(&self, other: &Self) -> bool {
        self.account() == other.account()
            && self.subject() == other.subject()
            && self.reply() == other.reply()
            && self.queues() == other.queues()
            && self.header_len == other.header_len
            && self.payload() == other.payload()
    }
}

impl Eq for RoutedMsg {}

impl fmt::Debug for RoutedMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        f.debug_struct("RoutedMsg")
            .field("account", &text(self.account()))
            .field("subject", &text(self.subject()))
            .field("reply", &self.reply().map(text))
            .field("queues", &self.queues().map(text))
            .field("header_len", &self.header_len)
            .field("payload", &text(self.payload()))
            .finish()
    }
}

/// Why a server-to-server byte stream cannot be parsed. Every error closes the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerParseError {
    /// An unknown op (or one of another flavour), a bad letter inside an op name, a missing
    /// separator after it, an empty line, or bad bytes after a payload. nats-server answers
    /// `-ERR 'Unknown Protocol Operation'` and closes (`Protocol Violation`).
    UnknownOp,
    /// A control-line argument longer than `max_control_line`. nats-server answers
    /// `-ERR 'maximum control line exceeded'` and closes (`Maximum Control Line Exceeded`).
    MaxControlLine,
    /// Malformed arguments (wrong count, bad reply indicator, bad size, header size above
    /// total size) of an interest or message op, or of a `PUB`/`HPUB`; the text names the op
    /// and the reason, for logs. nats-server closes without `-ERR` (`Protocol Violation`).
    BadArgs(&'static str),
    /// A message larger than [`ServerLimits::max_payload`], or (gateway flavour) a `PUB` with
    /// a non-empty payload. nats-server answers `-ERR 'Maximum Payload Violation'` and closes.
    PayloadTooLarge,
}

impl fmt::Display for ServerParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownOp => f.write_str("Unknown Protocol Operation"),
            Self::MaxControlLine => f.write_str("maximum control line exceeded"),
            Self::BadArgs(why) => write!(f, "parse error: {why}"),
            Self::PayloadTooLarge => f.write_str("Maximum Payload Violation"),
        }
    }
}

impl std::error::Error for ServerParseError {}

/// Which op table the parser runs, and the route-only settings.
#[derive(Clone, Debug)]
pub(crate) enum Flavour {
    Gateway,
    Route {
        /// The account of a pinned route: inserted where the account field would be.
        pinned: Option<Bytes>,
        /// `LS-` lines carry an origin (the peer announced `lnocu`).
        ls_minus_origin: bool,
    },
}

/// An interest line (`RS±`, `LS±`, gateway `SUB`/`UNSUB`), its fields sliced from the line.
#[derive(Clone, Debug)]
pub(crate) struct Interest {
    /// `LS±` origin cluster, if the line has one.
    pub(crate) origin: Option<Bytes>,
    pub(crate) account: Bytes,
    pub(crate) subject: Bytes,
    pub(crate) queue: Option<Bytes>,
    /// The queue weight of a `+` line with a queue: `None` when it is not 1–9 digits.
    pub(crate) weight: Option<usize>,
}

/// A frame of either flavour; each flavour's parser turns it into its public op type.
#[derive(Clone, Debug)]
pub(crate) enum Frame {
    Info(Bytes),
    Connect(Bytes),
    Ping,
    Pong,
    Ok,
    Err(Bytes),
    /// `RS+` (or a gateway's `SUB`).
    RsPlus(Interest),
    /// `RS-` (or a gateway's `UNSUB`).
    RsMinus(Interest),
    /// `LS+` (route only).
    LsPlus(Interest),
    /// `LS-` (route only).
    LsMinus(Interest),
    /// `A+` (gateway only).
    APlus(Bytes),
    /// `A-` (gateway only).
    AMinus(Bytes),
    Msg(RoutedMsg),
    /// `LMSG` (route only).
    Lmsg(Bytes, RoutedMsg),
}

/// The shared incremental parser; the flavours wrap it (see the module docs).
#[derive(Debug)]
pub(crate) struct ServerParser {
    limits: ServerLimits,
    flavour: Flavour,
    state: State,
    /// The error returned once; every later call returns it again.
    failed: Option<ServerParseError>,
}

impl ServerParser {
    pub(crate) fn new(limits: ServerLimits, flavour: Flavour) -> Self {
        Self { limits, flavour, state: State::Start, failed: None }
    }

    pub(crate) fn set_limits(&mut self, limits: ServerLimits) {
        self.limits = limits;
    }

    pub(crate) fn flavour_mut(&mut self) -> &mut Flavour {
        &mut self.flavour
    }

    pub(crate) fn flavour(&self) -> &Flavour {
        &self.flavour
    }

    /// Make `e` the sticky error (for a flavour that refuses a frame after the fact).
    pub(crate) fn fail(&mut self, e: ServerParseError) -> ServerParseError {
        self.failed = Some(e);
        e
    }

    /// Take the next complete frame off the front of `buf`. See the flavours' `parse`.
    #[inline]
    pub(crate) fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, ServerParseError> {
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
    pub(crate) fn at_frame_start(&self) -> bool {
        self.failed.is_none() && matches!(self.state, State::Start)
    }

    fn is_route(&self) -> bool {
        matches!(self.flavour, Flavour::Route { .. })
    }

    fn pinned(&self) -> Option<&Bytes> {
        match &self.flavour {
            Flavour::Route { pinned, .. } => pinned.as_ref(),
            Flavour::Gateway => None,
        }
    }

    fn step(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, ServerParseError> {
        // Each arm either moves to the next state with bytes left to look at, or returns. The
        // loop runs at most once per state of one frame (Start, Name, Sep, Arg, Payload),
        // and again from Start after a frame the route flavour ignores.
        loop {
            match self.state {
                State::Start => {
                    if let Some(frame) = self.whole_msg(buf) {
                        return Ok(Some(frame));
                    }
                    let Some(&b) = buf.first() else {
                        return Ok(None);
                    };
                    let op = Op::from_first_letter(b, self.is_route())
                        .ok_or(ServerParseError::UnknownOp)?;
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
                            // LS+/LS-/LMSG, A+/A-) diverge here, or the op is unknown.
                            op = op.refine(matched, b).ok_or(ServerParseError::UnknownOp)?;
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
                        Op::Ping => Frame::Ping,
                        Op::Pong => Frame::Pong,
                        _ => Frame::Ok,
                    }));
                }
                State::Sep { op, need_space } => {
                    let ws = buf.iter().take_while(|b| is_space(**b)).count();
                    if need_space && ws == 0 && !buf.is_empty() {
                        return Err(ServerParseError::UnknownOp);
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
                            return Err(ServerParseError::MaxControlLine);
                        }
                        self.state = State::Arg { op, scanned: buf.len() };
                        return Ok(None);
                    };
                    let end = if nl > 0 && buf.get(nl - 1) == Some(&b'\r') { nl - 1 } else { nl };
                    if end > self.limits.max_control_line {
                        return Err(ServerParseError::MaxControlLine);
                    }
                    let arg = buf.get(..end).unwrap_or_default();
                    match (op, self.is_route()) {
                        (Op::Rmsg | Op::Hmsg | Op::Lmsg, _) => {
                            let pending = self.msg_line(op, arg)?;
                            self.state = State::Payload(Pending { line_len: nl + 1, ..pending });
                            continue;
                        }
                        (Op::Pub, false) => return Err(pub_error(arg)),
                        (Op::Hpub, false) => {
                            return Err(ServerParseError::BadArgs(
                                "HPUB: headers not supported on a gateway connection",
                            ));
                        }
                        (Op::Pub | Op::Hpub, true) => {
                            // nats-server reads a PUB on a route as a message for the empty
                            // account and drops it: its payload is discarded as it arrives.
                            let size = route_pub_size(op == Op::Hpub, arg)?;
                            buf.advance(nl + 1);
                            self.state = State::Swallow { left: size.saturating_add(2) };
                            continue;
                        }
                        (Op::Sub | Op::Unsub | Op::APlus | Op::AMinus, true) => {
                            // nats-server parses these on a route and does nothing with them.
                            buf.advance(nl + 1);
                            self.state = State::Start;
                            continue;
                        }
                        _ => {}
                    }
                    let line = buf.split_to(nl + 1).freeze();
                    self.state = State::Start;
                    return self.control_op(op, &line, end).map(Some);
                }
                State::Payload(p) => {
                    // The payload itself is never scanned: only the two bytes after it are
                    // checked, each as soon as it has arrived.
                    let body_end = p.line_len.saturating_add(p.size);
                    if buf.get(body_end).is_some_and(|b| *b != b'\r')
                        || buf.get(body_end + 1).is_some_and(|b| *b != b'\n')
                    {
                        return Err(ServerParseError::UnknownOp);
                    }
                    if buf.len() < body_end + 2 {
                        return Ok(None);
                    }
                    self.state = State::Start;
                    let spans = p.spans().ok_or(ServerParseError::PayloadTooLarge)?;
                    return Ok(Some(self.take_msg(buf, &p, spans)));
                }
                State::Swallow { left } => {
                    // `left` counts the payload bytes still to drop plus the CRLF after them.
                    let body = left.saturating_sub(2).min(buf.len());
                    buf.advance(body);
                    let mut left = left - body;
                    while left > 0 && left <= 2 {
                        let want = if left == 2 { b'\r' } else { b'\n' };
                        match buf.first() {
                            None => break,
                            Some(b) if *b == want => {
                                buf.advance(1);
                                left -= 1;
                            }
                            Some(_) => return Err(ServerParseError::UnknownOp),
                        }
                    }
                    if left > 0 {
                        self.state = State::Swallow { left };
                        return Ok(None);
                    }
                    self.state = State::Start;
                }
            }
        }
    }

    /// The common case in one pass: a whole `RMSG`/`HMSG` frame, spelled in upper case with
    /// one space after the name, at the buffer's front. Anything else (another op, a partial
    /// frame, an error) is left to the state machine, which reaches the same result byte by
    /// byte; this only skips its steps.
    #[inline]
    fn whole_msg(&self, buf: &mut BytesMut) -> Option<Frame> {
        const NAME: usize = 5;
        let op = match buf.get(..NAME)? {
            b"RMSG " => Op::Rmsg,
            b"HMSG " => Op::Hmsg,
            _ => return None,
        };
        let rest = buf.get(NAME..)?;
        // More separators would be dropped by the `Sep` state: not this path's business.
        if rest.first().is_none_or(|b| is_space(*b)) {
            return None;
        }
        let line = scan_line(rest, true)?;
        if line.end > self.limits.max_control_line || self.pinned().is_some() {
            return None;
        }
        let pending = short_msg_line(op, rest, &line)?;
        let nl = line.nl;
        if pending.size > self.limits.max_payload {
            return None;
        }
        let pending = Pending { line_len: nl + 1, ..pending };
        let spans = pending.spans()?;
        if rest.get(spans.0.end()..spans.0.end() + 2)? != CRLF {
            return None;
        }
        buf.advance(NAME);
        Some(self.take_msg(buf, &pending, spans))
    }

    /// Takes the message `p` describes (complete, CRLF checked, [`Pending::spans`] given)
    /// off the front of `buf`.
    #[inline]
    fn take_msg(
        &self,
        buf: &mut BytesMut,
        p: &Pending,
        (payload, header_len): (Span, u32),
    ) -> Frame {
        let frame = buf.split_to(payload.end() + 2).freeze();
        let (pinned, account) = match p.account {
            Some(span) => (None, span),
            None => (Some(self.pinned().cloned().unwrap_or_default()), Span::default()),
        };
        let msg = RoutedMsg {
            frame,
            pinned,
            account,
            subject: p.subject,
            reply: p.reply,
            queues: p.queues,
            header_len,
            payload,
        };
        match p.origin {
            Some(origin) => Frame::Lmsg(origin.slice(&msg.frame), msg),
            None => Frame::Msg(msg),
        }
    }

    /// Checks a complete RMSG/HMSG/LMSG argument (`arg` starts at the buffer's front) in
    /// nats-server's order (`processRoutedMsgArgs`, `processRoutedHeaderMsgArgs`,
    /// `processRoutedOriginClusterMsgArgs`): argument count and reply indicator, header size,
    /// total size, header size against total; then the payload limit. On a pinned route the
    /// account is inserted first, so the count rules are the same.
    fn msg_line(&self, op: Op, arg: &[u8]) -> Result<Pending, ServerParseError> {
        use ServerParseError::BadArgs;
        if u32::try_from(arg.len()).is_err() {
            return Err(ServerParseError::MaxControlLine);
        }
        let (sizes, lead, texts) = match op {
            Op::Hmsg => (2, 0, &HMSG_TEXTS),
            Op::Lmsg => (2, 1, &LMSG_TEXTS),
            _ => (1, 0, &RMSG_TEXTS),
        };
        let f = Fields::new(arg, self.pinned().map(|_| lead));
        let n = f.len();
        // `[origin] account subject` come first.
        let head = lead + 2;
        // Queue names are the fields from `first` up to (excluding) the sizes.
        let queue_list = |first: usize| {
            let last = n - sizes - 1;
            (first <= last).then(|| f.range(first).through(f.range(last)))
        };
        let (reply, queues) = if n < head + sizes {
            return Err(BadArgs(texts.few));
        } else if n == head + sizes {
            (None, None)
        } else if n == head + sizes + 1 {
            (Some(f.range(head)), None)
        } else {
            // With more fields the one after the subject says what follows: `+ reply queues…`
            // or `| queues…`.
            match f.text(head) {
                b"+" => (Some(f.range(head + 1)), queue_list(head + 2)),
                b"|" => (None, queue_list(head + 1)),
                _ => return Err(BadArgs(texts.indicator)),
            }
        };
        let header_len = if sizes == 2 {
            parse_size(f.text(n - 2)).ok_or(BadArgs(texts.header_size))?
        } else {
            0
        };
        let size = parse_size(f.text(n - 1)).ok_or(BadArgs(texts.size))?;
        if header_len > size {
            return Err(BadArgs(texts.header_larger));
        }
        if size > self.limits.max_payload {
            return Err(ServerParseError::PayloadTooLarge);
        }
        Ok(Pending {
            line_len: 0,
            origin: (lead == 1).then(|| f.range(0)),
            account: f.line_range(lead),
            subject: f.range(lead + 1),
            reply,
            queues,
            header_len,
            size,
        })
    }

    /// Builds a frame without payload from its complete control line; `line[..end]` is the
    /// argument (trailing CR and LF excluded).
    fn control_op(&self, op: Op, line: &Bytes, end: usize) -> Result<Frame, ServerParseError> {
        use ServerParseError::BadArgs;
        let arg = line.get(..end).unwrap_or_default();
        if u32::try_from(arg.len()).is_err() {
            return Err(ServerParseError::MaxControlLine);
        }
        let (lead, counts, why) = match (op, &self.flavour) {
            (Op::Connect, _) => return Ok(Frame::Connect(line.slice(..end))),
            (Op::Info, _) => return Ok(Frame::Info(line.slice(..end))),
            (Op::Err, _) => return Ok(Frame::Err(line.slice(..end))),
            (Op::APlus, _) => return Ok(Frame::APlus(line.slice(..end))),
            (Op::AMinus, _) => return Ok(Frame::AMinus(line.slice(..end))),
            // `[origin] account subject`, then `queue weight` (plus) or `queue` (minus).
            (Op::RsPlus | Op::Sub, _) => (0, [0, 2], "RS+: wrong argument count"),
            (Op::RsMinus | Op::Unsub, _) => (0, [0, 1], "RS-: wrong argument count"),
            (Op::LsPlus, _) => (1, [0, 2], "LS+: wrong argument count"),
            (Op::LsMinus, Flavour::Route { ls_minus_origin: true, .. }) => {
                (1, [0, 1], "LS-: wrong argument count")
            }
            (Op::LsMinus, _) => (0, [0, 1], "LS-: wrong argument count"),
            // Payload ops, PUB/HPUB and the ops without argument never get here.
            _ => return Err(ServerParseError::UnknownOp),
        };
        let pinned = self.pinned();
        // Leniency: an `LS-` with one field too few for an origin is read without one (the
        // form a peer without `lnocu` sends), whatever `ls_minus_origin` says.
        let lead = if op == Op::LsMinus
            && lead == 1
            && Args::split(arg, true).len + usize::from(pinned.is_some()) == 2
        {
            0
        } else {
            lead
        };
        // On a pinned route the account goes after the origin (if any).
        let f = Fields::new(arg, pinned.map(|_| lead));
        let head = lead + 2;
        let extra = f.len().checked_sub(head).filter(|x| counts.contains(x)).ok_or(BadArgs(why))?;
        let slice = |span: Span| span.slice(line);
        let plus = matches!(op, Op::RsPlus | Op::Sub | Op::LsPlus);
        let interest = Interest {
            origin: (lead == 1).then(|| slice(f.range(0))),
            account: match f.line_range(lead) {
                Some(r) => slice(r),
                None => pinned.cloned().unwrap_or_default(),
            },
            subject: slice(f.range(lead + 1)),
            queue: (extra > 0).then(|| slice(f.range(head))),
            weight: (plus && extra > 0).then(|| parse_size(f.text(head + 1))).flatten(),
        };
        Ok(match op {
            Op::RsPlus | Op::Sub => Frame::RsPlus(interest),
            Op::RsMinus | Op::Unsub => Frame::RsMinus(interest),
            Op::LsPlus => Frame::LsPlus(interest),
            _ => Frame::LsMinus(interest),
        })
    }
}

/// [`ServerParser::msg_line`] for the common line: an RMSG or HMSG argument of at most
/// [`crate::proto::frames::LINE_FIELDS`] fields on a route or gateway without a pinned account, with nothing wrong in it. `None`
/// for anything else, which the state machine then decides (and words the error of).
#[inline]
fn short_msg_line(op: Op, arg: &[u8], line: &LineFields) -> Option<Pending> {
    let (f, n) = (&line.spans, line.len);
    let text = |span: Span| span.of(arg);
    let sizes = if op == Op::Hmsg { 2 } else { 1 };
    // `account subject`, then nothing, a reply, `+ reply queues…` or `| queues…`, then sizes.
    let middle = n.checked_sub(2 + sizes)?;
    let size = parse_size(text(*f.get(n - 1)?))?;
    let header_len = if sizes == 2 { parse_size(text(*f.get(n - 2)?))? } else { 0 };
    if header_len > size {
        return None;
    }
    let queues = |first: usize| Some(f.get(first)?.through(*f.get(n - sizes - 1)?));
    let (reply, queues) = match middle {
        0 => (None, None),
        1 => (Some(f[2]), None),
        _ => match text(f[2]) {
            b"+" => (Some(f[3]), (middle > 2).then(|| queues(4)).flatten()),
            b"|" => (None, queues(3)),
            _ => return None,
        },
    };
    Some(Pending {
        line_len: 0,
        origin: None,
        account: Some(f[0]),
        subject: f[1],
        reply,
        queues,
        header_len,
        size,
    })
}

/// The log texts of one message op's argument errors.
struct MsgTexts {
    few: &'static str,
    indicator: &'static str,
    header_size: &'static str,
    size: &'static str,
    header_larger: &'static str,
}

const RMSG_TEXTS: MsgTexts = MsgTexts {
    few: "RMSG: too few arguments",
    indicator: "RMSG: bad or missing reply indicator",
    header_size: "RMSG: bad or missing header size",
    size: "RMSG: bad or missing size",
    header_larger: "RMSG: header size larger than total size",
};

const HMSG_TEXTS: MsgTexts = MsgTexts {
    few: "HMSG: too few arguments",
    indicator: "HMSG: bad or missing reply indicator",
    header_size: "HMSG: bad or missing header size",
    size: "HMSG: bad or missing size",
    header_larger: "HMSG: header size larger than total size",
};

const LMSG_TEXTS: MsgTexts = MsgTexts {
    few: "LMSG: too few arguments",
    indicator: "LMSG: bad or missing reply indicator",
    header_size: "LMSG: bad or missing header size",
    size: "LMSG: bad or missing size",
    header_larger: "LMSG: header size larger than total size",
};

/// The error for a complete `PUB` line on a gateway connection, as nats-server 2.15.1 decides
/// it: malformed arguments close without `-ERR`, a non-zero size exceeds the connection's
/// payload limit of 0.
fn pub_error(arg: &[u8]) -> ServerParseError {
    // nats-server's processPub splits on spaces and tabs only.
    let args = Args::split(arg, false);
    let size = matches!(args.len, 2 | 3)
        .then(|| {
            let (s, e) = args.get(args.len - 1);
            parse_size(arg.get(s..e).unwrap_or_default())
        })
        .flatten();
    match size {
        Some(n) if n > 0 => ServerParseError::PayloadTooLarge,
        _ => ServerParseError::BadArgs("PUB on a gateway connection"),
    }
}

/// The payload size of a `PUB <subject> [reply] <size>` or `HPUB <subject> [reply] <hdr>
/// <total>` line on a route, checked as nats-server's `processPub`/`processHeaderPub` do
/// (a route has no payload limit).
fn route_pub_size(hpub: bool, arg: &[u8]) -> Result<usize, ServerParseError> {
    use ServerParseError::BadArgs;
    let args = Args::split(arg, false);
    let text = |i: usize| {
        let (s, e) = args.get(i);
        arg.get(s..e).unwrap_or_default()
    };
    let n = args.len;
    if !hpub {
        if !matches!(n, 2 | 3) {
            return Err(BadArgs("PUB: wrong argument count"));
        }
        return parse_size(text(n - 1)).ok_or(BadArgs("PUB: bad or missing size"));
    }
    if !matches!(n, 3 | 4) {
        return Err(BadArgs("HPUB: wrong argument count"));
    }
    let header = parse_size(text(n - 2)).ok_or(BadArgs("HPUB: bad or missing header size"))?;
    let total = parse_size(text(n - 1)).ok_or(BadArgs("HPUB: bad or missing size"))?;
    if header > total {
        return Err(BadArgs("HPUB: header size larger than total size"));
    }
    Ok(total)
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
    /// A checked RMSG/HMSG/LMSG control line at the buffer's front, waiting for its payload.
    Payload(Pending),
    /// After `PING`, `PONG` or `+OK`: discarding bytes up to `\n`.
    Skip(Op),
    /// A route's `PUB`/`HPUB`: discarding `left` more bytes, the last two of which must be
    /// the CRLF after the payload.
    Swallow { left: usize },
}

/// A message control line whose payload has not fully arrived. Ranges are offsets from the
/// buffer's front, where the argument starts.
#[derive(Clone, Copy, Debug)]
struct Pending {
    /// Length of the control line including its `\n`: the payload starts here.
    line_len: usize,
    /// `LMSG` origin; `None` for RMSG/HMSG.
    origin: Option<Span>,
    /// `None` on a pinned route: the account is the pinned one.
    account: Option<Span>,
    subject: Span,
    reply: Option<Span>,
    /// From the first queue name's start to the last one's end; never empty.
    queues: Option<Span>,
    /// Header size, `<= size`.
    header_len: usize,
    /// Total payload size, `<= max_payload`.
    size: usize,
}

impl Pending {
    /// The payload's span and the header size, if the frame's offsets fit a [`Span`] (with
    /// room for the CRLF after the payload).
    fn spans(&self) -> Option<(Span, u32)> {
        let body_end = self.line_len.checked_add(self.size)?;
        if body_end >= u32::MAX as usize - 2 {
            return None;
        }
        Some((Span::new(self.line_len, body_end)?, u32::try_from(self.header_len).ok()?))
    }
}

/// The ops the parser recognises (each flavour accepts a subset, see
/// [`Op::from_first_letter`]).
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
    LsPlus,
    LsMinus,
    Lmsg,
    APlus,
    AMinus,
    Ok,
    Err,
}

impl Op {
    /// The first op of the family a first letter starts.
    fn from_first_letter(b: u8, route: bool) -> Option<Self> {
        Some(match b.to_ascii_uppercase() {
            b'C' => Self::Connect,
            b'I' => Self::Info,
            b'P' => Self::Pub,
            b'H' => Self::Hpub,
            b'S' => Self::Sub,
            b'U' => Self::Unsub,
            b'R' => Self::RsPlus,
            // LMSG, LS+, LS-: routes only (nats-server refuses them on gateway connections).
            b'L' if route => Self::LsPlus,
            b'A' => Self::APlus,
            b'+' => Self::Ok,
            b'-' => Self::Err,
            // Notably `M` (MSG), which nats-server refuses on both.
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
            Self::LsPlus => b"LS+",
            Self::LsMinus => b"LS-",
            Self::Lmsg => b"LMSG",
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
            Self::LsPlus | Self::LsMinus | Self::Lmsg => &[Self::LsPlus, Self::LsMinus, Self::Lmsg],
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
/// every position an op looks at (message queue lists are taken as one range).
struct Args {
    first: [(usize, usize); Args::FIRST],
    /// The last arguments, as a ring indexed by position modulo [`Args::LAST`].
    last: [(usize, usize); Args::LAST],
    /// How many arguments there are in all.
    len: usize,
}

impl Args {
    /// `LMSG <origin> <account> <subject> + <reply> <queue>…`: the first queue is the sixth.
    const FIRST: usize = 6;
    const LAST: usize = 3;

    /// Splits `arg` on runs of spaces and tabs (and CRs when `cr_is_space`, as nats-server's
    /// `splitArg` does).
    #[inline]
    fn split(arg: &[u8], cr_is_space: bool) -> Self {
        let mut args = Self { first: [(0, 0); Self::FIRST], last: [(0, 0); Self::LAST], len: 0 };
        for span in ArgSpans::new(arg, cr_is_space) {
            if let Some(slot) = args.first.get_mut(args.len) {
                *slot = span;
            }
            // `last` is a ring: argument `i` sits at `i % LAST` until overwritten.
            if let Some(slot) = args.last.get_mut(args.len % Self::LAST) {
                *slot = span;
            }
            args.len += 1;
        }
        args
    }

    /// The `i`-th range; `(0, 0)` for one not kept (callers only ask for kept ones).
    #[inline]
    fn get(&self, i: usize) -> (usize, usize) {
        if i >= self.len {
            return (0, 0);
        }
        if let Some(r) = self.first.get(i) {
            return *r;
        }
        if self.len - i > Self::LAST {
            return (0, 0);
        }
        self.last.get(i % Self::LAST).copied().unwrap_or((0, 0))
    }
}

/// The fields of an interest or message line as nats-server counts them: the line's
/// arguments (split on spaces, tabs and CRs), with a pinned route's account inserted at
/// `pinned_at` where the account field would be.
struct Fields<'a> {
    arg: &'a [u8],
    args: Args,
    pinned_at: Option<usize>,
}

impl<'a> Fields<'a> {
    fn new(arg: &'a [u8], pinned_at: Option<usize>) -> Self {
        Self { arg, args: Args::split(arg, true), pinned_at }
    }

    fn len(&self) -> usize {
        self.args.len + usize::from(self.pinned_at.is_some())
    }

    /// The span of field `i` in the line, or `None` for the inserted account. The line is
    /// checked to fit a span before this is asked.
    fn line_range(&self, i: usize) -> Option<Span> {
        let (s, e) = match self.pinned_at {
            Some(p) if i == p => return None,
            Some(p) if i > p => self.args.get(i - 1),
            _ => self.args.get(i),
        };
        Some(Span::new(s, e).unwrap_or_default())
    }

    /// The span of a field that is never the inserted account.
    fn range(&self, i: usize) -> Span {
        self.line_range(i).unwrap_or_default()
    }

    /// The text of a field that is never the inserted account.
    fn text(&self, i: usize) -> &'a [u8] {
        self.range(i).of(self.arg)
    }
}

/// The separators of the arguments of interest and message lines (and so of a queue list).
fn is_arg_sep(b: &u8) -> bool {
    is_space(*b) || *b == b'\r'
}

// ---------------------------------------------------------------------------------------------
// Encoders

/// An empty queue list for [`rmsg`] and friends.
pub const NO_QUEUES: &[&[u8]] = &[];

const CRLF: &[u8] = b"\r\n";

/// `INFO <json>\r\n`. Unlike the INFO nats-server sends clients, the gateway INFO and a
/// route's later INFOs have no space before the CRLF.
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
/// subscription (gateways always send weight 1; routes send the member count).
pub fn rs_plus(out: &mut BytesMut, account: &[u8], subject: &[u8], queue: Option<(&[u8], u32)>) {
    let weight = queue.map(|(_, w)| Decimal::new(w as usize));
    let weight = weight.as_ref().map_or(&[][..], Decimal::as_bytes);
    let queue = queue.map_or(&[][..], |(q, _)| q);
    interest_line(out, b"RS+ ", &[], Some(account), subject, queue, weight);
}

/// `RS- <account> <subject>\r\n`, or `RS- <account> <subject> <queue>\r\n`.
pub fn rs_minus(out: &mut BytesMut, account: &[u8], subject: &[u8], queue: Option<&[u8]>) {
    interest_line(out, b"RS- ", &[], Some(account), subject, queue.unwrap_or_default(), &[]);
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
    let line = MsgLine::new(b"RMSG ", Some(account), subject, reply, queues, [&[], len.as_bytes()]);
    line.put_with(out, payload);
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
    let sizes = [header_len.as_bytes(), total.as_bytes()];
    MsgLine::new(b"HMSG ", Some(account), subject, reply, queues, sizes).put_with(out, payload);
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
    MsgLine::new(b"RMSG ", Some(account), subject, reply, queues, [&[], len.as_bytes()]).put(out);
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
    let sizes = [header_len.as_bytes(), total.as_bytes()];
    MsgLine::new(b"HMSG ", Some(account), subject, reply, queues, sizes).put(out);
}

/// `<op>[<origin> ][<account> ]<subject>[ <queue>[ <weight>]]\r\n`; an empty `origin`,
/// `queue` or `weight` and a `None` account (pinned route) are left out. `op` ends with its
/// space.
pub(crate) fn interest_line(
    out: &mut BytesMut,
    op: &[u8],
    origin: &[u8],
    account: Option<&[u8]>,
    subject: &[u8],
    queue: &[u8],
    weight: &[u8],
) {
    let field = |f: &[u8]| if f.is_empty() { 0 } else { f.len() + 1 };
    let account_len = account.map_or(0, |a| a.len() + 1);
    out.reserve(
        op.len() + field(origin) + account_len + subject.len() + field(queue) + field(weight) + 2,
    );
    out.put_slice(op);
    if !origin.is_empty() {
        out.put_slice(origin);
        out.put_u8(b' ');
    }
    if let Some(account) = account {
        out.put_slice(account);
        out.put_u8(b' ');
    }
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

/// The parts of a message control line, measured before writing so the buffer grows once.
pub(crate) struct MsgLine<'a, I> {
    /// `RMSG `, `HMSG ` or `LMSG `, with its space.
    op: &'static [u8],
    /// `LMSG` origin (empty for the others).
    origin: &'a [u8],
    /// `None` on a pinned route (no account field).
    account: Option<&'a [u8]>,
    subject: &'a [u8],
    reply: Option<&'a [u8]>,
    queues: I,
    /// Header size (empty for RMSG) and total size, as decimal text.
    sizes: [&'a [u8]; 2],
}

impl<'a, I, Q> MsgLine<'a, I>
where
    I: Iterator<Item = Q> + Clone,
    Q: AsRef<[u8]>,
{
    pub(crate) fn new(
        op: &'static [u8],
        account: Option<&'a [u8]>,
        subject: &'a [u8],
        reply: Option<&'a [u8]>,
        queues: impl IntoIterator<Item = Q, IntoIter = I>,
        sizes: [&'a [u8]; 2],
    ) -> Self {
        Self { op, origin: &[], account, subject, reply, queues: queues.into_iter(), sizes }
    }

    /// The same line with an `LMSG` origin before the account.
    pub(crate) fn with_origin(self, origin: &'a [u8]) -> Self {
        Self { origin, ..self }
    }

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
        let origin = if self.origin.is_empty() { 0 } else { self.origin.len() + 1 };
        self.op.len()
            + origin
            + self.account.map_or(0, |a| a.len() + 1)
            + self.subject.len()
            + 1
            + middle
            + header
            + self.sizes[1].len()
            + CRLF.len()
    }

    /// Write the line alone (one reservation).
    pub(crate) fn put(&self, out: &mut BytesMut) {
        out.reserve(self.len());
        self.write(out);
    }

    /// Write the line, `payload` and the CRLF after it (one reservation).
    pub(crate) fn put_with(&self, out: &mut BytesMut, payload: &[u8]) {
        out.reserve(self.len() + payload.len() + CRLF.len());
        self.write(out);
        out.put_slice(payload);
        out.put_slice(CRLF);
    }

    fn write(&self, out: &mut BytesMut) {
        out.put_slice(self.op);
        if !self.origin.is_empty() {
            out.put_slice(self.origin);
            out.put_u8(b' ');
        }
        if let Some(account) = self.account {
            out.put_slice(account);
            out.put_u8(b' ');
        }
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

    #[test]
    fn encoders_reserve_once_and_exactly() {
        let qs: &[&[u8]] = &[b"q1", b"", b"q22"];
        for reply in [None, Some(&b"r"[..]), Some(b"")] {
            for queues in [qs, NO_QUEUES] {
                for account in [Some(&b"acc"[..]), None] {
                    for origin in [&b""[..], b"L1"] {
                        for sizes in [[&b"3"[..], b"10"], [b"", b"10"]] {
                            let line = MsgLine::new(b"HMSG ", account, b"s", reply, queues, sizes)
                                .with_origin(origin);
                            let mut out = BytesMut::new();
                            line.put(&mut out);
                            assert_eq!(out.len(), line.len(), "{reply:?} {queues:?}");
                            assert_eq!(out.capacity(), out.len());
                        }
                    }
                }
            }
        }
        let mut out = BytesMut::new();
        rs_plus(&mut out, b"a", b"s", Some((b"q", 4_000_000_000)));
        assert_eq!(&out[..], b"RS+ a s q 4000000000\r\n");
        assert_eq!(out.capacity(), out.len());
        for origin in [&b""[..], b"o"] {
            for account in [Some(&b"a"[..]), None] {
                let mut out = BytesMut::new();
                interest_line(&mut out, b"LS+ ", origin, account, b"s", b"q", b"12");
                assert_eq!(out.capacity(), out.len());
            }
        }
    }

    #[test]
    fn digits() {
        for n in [0, 1, 9, 10, 99, 100, 12345, 1_048_576, usize::MAX] {
            assert_eq!(Decimal::new(n).as_bytes(), n.to_string().as_bytes());
        }
    }
}
