//! The client side of the client protocol: a parser for what a server sends a client (INFO MSG
//! HMSG PING PONG +OK -ERR). See `shared/docs/client-protocol.md`.
//!
//! Like [`super::client::Parser`] it is incremental and zero-copy: [`Parser::parse`] takes
//! complete frames off the front of the read buffer and returns them as [`ServerOp`]s whose
//! fields are `Bytes` slices of that buffer. An incomplete frame is `Ok(None)`: the bytes stay
//! in place and the next call resumes scanning where the previous one stopped. Limits are
//! checked before anything is buffered beyond them.
//!
//! Used by the simulated clients of `strait-sim`, and by anything else that needs to read a
//! server's output (tests, tools). A client trusts its server more than a server trusts a
//! client, so the defaults ([`Limits::default`]) are generous, but a limit is still enforced.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr;

use crate::proto::frames::{self, FrameParser, is_space, parse_size};

/// Parser limits for the client side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest control line, op name included, CRLF excluded. INFO lines carry
    /// `connect_urls` and can be long, so the default is 64 KiB.
    pub max_control_line: usize,
    /// Largest MSG/HMSG total size (default 64 MiB).
    pub max_payload: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_control_line: 64 * 1024, max_payload: 64 * 1024 * 1024 }
    }
}

/// One frame from a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerOp {
    /// `INFO <json>`: the raw JSON argument (surrounding whitespace removed).
    Info(Bytes),
    /// `MSG subject sid [reply] size` and its payload.
    Msg(Message),
    /// `HMSG subject sid [reply] hdr_size total_size` and its headers + payload.
    Hmsg(Message),
    /// `PING`.
    Ping,
    /// `PONG`.
    Pong,
    /// `+OK`.
    Ok,
    /// `-ERR <text>`: the raw argument, quotes included (e.g. `'Stale Connection'`).
    Err(Bytes),
}

/// A delivered message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Subject it was published to.
    pub subject: Bytes,
    /// The subscription id it was delivered for.
    pub sid: Bytes,
    /// Reply subject, if any.
    pub reply: Option<Bytes>,
    /// Length of the header block at the start of `payload` (0 for MSG).
    pub header_len: usize,
    /// Headers followed by the body, exactly `total size` bytes (trailing CRLF removed).
    pub payload: Bytes,
}

impl Message {
    /// The header block (empty for MSG).
    pub fn headers(&self) -> &[u8] {
        self.payload.get(..self.header_len).unwrap_or_default()
    }

    /// The body after the headers.
    pub fn body(&self) -> &[u8] {
        self.payload.get(self.header_len..).unwrap_or_default()
    }
}

/// Why the server's byte stream cannot be parsed. Errors are sticky: once returned, every
/// later call returns the same error, and the client should drop the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// An op name a server never sends, or bad bytes after a payload.
    UnknownOp,
    /// A control line longer than `max_control_line`.
    MaxControlLine,
    /// A MSG/HMSG size above `max_payload`.
    MaxPayload,
    /// Wrong argument count or an invalid size in MSG/HMSG (which op is named).
    BadArgs(&'static str),
}

/// The incremental parser for one connection's server → client stream.
///
/// Call [`Parser::parse`] in a loop after appending bytes to the read buffer until it returns
/// `Ok(None)` (need more bytes) or an error (fatal for the connection).
#[derive(Debug)]
pub struct Parser {
    limits: Limits,
    state: State,
    /// The error returned once; every later call returns it again.
    failed: Option<ParseError>,
}

impl Parser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Self { limits, state: State::Line { scanned: 0 }, failed: None }
    }

    /// Take the next complete frame off the front of `buf`.
    ///
    /// `Ok(None)`: no complete frame yet; nothing was consumed. A pending frame never holds
    /// more than `max_control_line + max_payload + 4` bytes.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<ServerOp>, ParseError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let res = self.step(buf);
        if let Err(e) = res {
            self.failed = Some(e);
        }
        res
    }

    fn step(&mut self, buf: &mut BytesMut) -> Result<Option<ServerOp>, ParseError> {
        // At most two iterations: the control line, then (for MSG/HMSG) the payload.
        loop {
            match self.state {
                State::Line { scanned } => {
                    let nl = buf.get(scanned..).and_then(|r| memchr(b'\n', r)).map(|i| i + scanned);
                    let Some(nl) = nl else {
                        let len = buf.len() - usize::from(buf.last() == Some(&b'\r'));
                        if len > self.limits.max_control_line {
                            return Err(ParseError::MaxControlLine);
                        }
                        self.state = State::Line { scanned: buf.len() };
                        return Ok(None);
                    };
                    let end = if nl > 0 && buf.get(nl - 1) == Some(&b'\r') { nl - 1 } else { nl };
                    if end > self.limits.max_control_line {
                        return Err(ParseError::MaxControlLine);
                    }
                    let line = buf.get(..end).unwrap_or_default();
                    let name_end = line.iter().position(|b| is_space(*b)).unwrap_or(line.len());
                    let op = Op::from_name(line.get(..name_end).unwrap_or_default())?;
                    match op {
                        Op::Msg | Op::Hmsg => {
                            let p = self.msg_line(op, line, name_end)?;
                            self.state = State::Payload(Pending { line_len: nl + 1, ..p });
                        }
                        Op::Ping | Op::Pong | Op::Ok => {
                            buf.advance(nl + 1);
                            self.state = State::Line { scanned: 0 };
                            return Ok(Some(match op {
                                Op::Ping => ServerOp::Ping,
                                Op::Pong => ServerOp::Pong,
                                _ => ServerOp::Ok,
                            }));
                        }
                        Op::Info | Op::Err => {
                            let (s, e) = trim(line, name_end);
                            let frame = buf.split_to(nl + 1).freeze();
                            self.state = State::Line { scanned: 0 };
                            let arg = frame.slice(s..e);
                            return Ok(Some(if op == Op::Info {
                                ServerOp::Info(arg)
                            } else {
                                ServerOp::Err(arg)
                            }));
                        }
                    }
                }
                State::Payload(p) => {
                    let body_end = p.line_len.saturating_add(p.size);
                    if buf.get(body_end).is_some_and(|b| *b != b'\r')
                        || buf.get(body_end + 1).is_some_and(|b| *b != b'\n')
                    {
                        return Err(ParseError::UnknownOp);
                    }
                    if buf.len() < body_end + 2 {
                        return Ok(None);
                    }
                    let frame = buf.split_to(body_end + 2).freeze();
                    self.state = State::Line { scanned: 0 };
                    let slice = |(s, e): (usize, usize)| frame.slice(s..e);
                    let msg = Message {
                        subject: slice(p.subject),
                        sid: slice(p.sid),
                        reply: p.reply.map(slice),
                        header_len: p.header_len,
                        payload: frame.slice(p.line_len..body_end),
                    };
                    return Ok(Some(if p.hmsg { ServerOp::Hmsg(msg) } else { ServerOp::Msg(msg) }));
                }
            }
        }
    }

    /// Checks the arguments of a complete MSG/HMSG line (`line[name_end..]`).
    fn msg_line(&self, op: Op, line: &[u8], name_end: usize) -> Result<Pending, ParseError> {
        let hmsg = op == Op::Hmsg;
        let name = if hmsg { "HMSG" } else { "MSG" };
        let bad = ParseError::BadArgs(name);
        let mut args = [(0usize, 0usize); 5];
        let mut n = 0;
        let mut start = None;
        for (i, b) in line.iter().copied().chain([b' ']).enumerate().skip(name_end) {
            match (is_space(b), start) {
                (true, Some(s)) => {
                    *args.get_mut(n).ok_or(bad)? = (s, i);
                    n += 1;
                    start = None;
                }
                (false, None) => start = Some(i),
                _ => {}
            }
        }
        let sizes = if hmsg { 2 } else { 1 };
        let reply = match n.checked_sub(sizes) {
            Some(2) => None,
            Some(3) => Some(args[2]),
            _ => return Err(bad),
        };
        let size_at = |i: usize| {
            let (s, e) = args[n - sizes + i];
            parse_size(line.get(s..e).unwrap_or_default()).ok_or(bad)
        };
        let (header_len, size) = if hmsg { (size_at(0)?, size_at(1)?) } else { (0, size_at(0)?) };
        if header_len > size {
            return Err(bad);
        }
        if size > self.limits.max_payload {
            return Err(ParseError::MaxPayload);
        }
        Ok(Pending { hmsg, line_len: 0, subject: args[0], sid: args[1], reply, header_len, size })
    }
}

/// Where the parser is inside the current frame.
#[derive(Clone, Copy, Debug)]
enum State {
    /// A control line starts at the buffer's front; its first `scanned` bytes hold no `\n`.
    Line { scanned: usize },
    /// A checked MSG/HMSG control line at the buffer's front, waiting for its payload.
    Payload(Pending),
}

/// A MSG/HMSG control line whose payload has not fully arrived. Offsets are from the
/// buffer's front, where the line starts.
#[derive(Clone, Copy, Debug)]
struct Pending {
    hmsg: bool,
    /// Length of the control line including its `\n`: the payload starts here.
    line_len: usize,
    subject: (usize, usize),
    sid: (usize, usize),
    reply: Option<(usize, usize)>,
    /// Header size, `<= size`.
    header_len: usize,
    /// Total payload size, `<= max_payload`.
    size: usize,
}

/// The ops a server sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Info,
    Msg,
    Hmsg,
    Ping,
    Pong,
    Ok,
    Err,
}

impl Op {
    /// The op named `name` (case-insensitive).
    fn from_name(name: &[u8]) -> Result<Self, ParseError> {
        const OPS: [(&[u8], Op); 7] = [
            (b"INFO", Op::Info),
            (b"MSG", Op::Msg),
            (b"HMSG", Op::Hmsg),
            (b"PING", Op::Ping),
            (b"PONG", Op::Pong),
            (b"+OK", Op::Ok),
            (b"-ERR", Op::Err),
        ];
        OPS.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, op)| *op)
            .ok_or(ParseError::UnknownOp)
    }
}

/// The argument of `line` after the op name, without surrounding spaces and tabs.
fn trim(line: &[u8], name_end: usize) -> (usize, usize) {
    let mut s = name_end;
    let mut e = line.len();
    while s < e && line.get(s).is_some_and(|b| is_space(*b)) {
        s += 1;
    }
    while e > s && line.get(e - 1).is_some_and(|b| is_space(*b)) {
        e -= 1;
    }
    (s, e)
}

/// Parse a whole byte string: every frame up to the first error or the end of the input
/// (test and fuzz helper).
pub fn parse_all(data: &[u8], limits: Limits) -> Vec<Result<ServerOp, ParseError>> {
    frames::parse_all(Parser::new(limits), data)
}

impl FrameParser for Parser {
    type Frame = ServerOp;
    type Error = ParseError;

    fn next_frame(&mut self, buf: &mut BytesMut) -> Result<Option<ServerOp>, ParseError> {
        self.parse(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::encode;

    const SMALL: Limits = Limits { max_control_line: 16, max_payload: 8 };

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn all(data: &[u8]) -> Vec<Result<ServerOp, ParseError>> {
        parse_all(data, Limits::default())
    }

    fn msg(subject: &str, sid: &str, reply: Option<&str>, hl: usize, payload: &str) -> Message {
        Message {
            subject: b(subject),
            sid: b(sid),
            reply: reply.map(b),
            header_len: hl,
            payload: b(payload),
        }
    }

    #[test]
    fn parses_every_op() {
        let data = b"INFO {\"server_id\":\"x\"} \r\nMSG foo 1 5\r\nhello\r\n\
            MSG foo.bar sid9 _INBOX.x 0\r\n\r\nHMSG a 2 12 14\r\nNATS/1.0\r\n\r\nhi\r\n\
            HMSG a 2 r 12 12\r\nNATS/1.0\r\n\r\n\r\nPING\r\nPONG\r\n+OK\r\n-ERR 'Stale Connection'\r\n";
        assert_eq!(
            all(data),
            vec![
                Ok(ServerOp::Info(b("{\"server_id\":\"x\"}"))),
                Ok(ServerOp::Msg(msg("foo", "1", None, 0, "hello"))),
                Ok(ServerOp::Msg(msg("foo.bar", "sid9", Some("_INBOX.x"), 0, ""))),
                Ok(ServerOp::Hmsg(msg("a", "2", None, 12, "NATS/1.0\r\n\r\nhi"))),
                Ok(ServerOp::Hmsg(msg("a", "2", Some("r"), 12, "NATS/1.0\r\n\r\n"))),
                Ok(ServerOp::Ping),
                Ok(ServerOp::Pong),
                Ok(ServerOp::Ok),
                Ok(ServerOp::Err(b("'Stale Connection'"))),
            ]
        );
    }

    #[test]
    fn round_trips_the_core_encoders() {
        let mut out = BytesMut::new();
        encode::info(&mut out, b"{\"a\":1}");
        encode::msg(&mut out, b"s.t", b"7", Some(b"r.1"), b"payload");
        encode::hmsg(&mut out, b"s", b"8", None, 12, b"NATS/1.0\r\n\r\nbody");
        encode::err(&mut out, "Unknown Protocol Operation");
        out.extend_from_slice(encode::PING);
        out.extend_from_slice(encode::PONG);
        out.extend_from_slice(encode::OK);
        let ops = all(&out);
        assert_eq!(ops.len(), 7);
        assert_eq!(ops[0], Ok(ServerOp::Info(b("{\"a\":1}"))));
        assert_eq!(ops[1], Ok(ServerOp::Msg(msg("s.t", "7", Some("r.1"), 0, "payload"))));
        let Ok(ServerOp::Hmsg(m)) = &ops[2] else { panic!("{:?}", ops[2]) };
        assert_eq!((m.headers(), m.body()), (&b"NATS/1.0\r\n\r\n"[..], &b"body"[..]));
        assert_eq!(ops[3], Ok(ServerOp::Err(b("'Unknown Protocol Operation'"))));
    }

    #[test]
    fn names_are_case_insensitive_and_lines_may_end_in_lf() {
        assert_eq!(
            all(b"ping\npong\n+ok\n"),
            vec![Ok(ServerOp::Ping), Ok(ServerOp::Pong), Ok(ServerOp::Ok)]
        );
        assert_eq!(all(b"msg a 1 1\nx\r\n"), vec![Ok(ServerOp::Msg(msg("a", "1", None, 0, "x")))]);
        assert_eq!(
            all(b"MSG\ta \t 1\t 1 \r\nx\r\n"),
            vec![Ok(ServerOp::Msg(msg("a", "1", None, 0, "x")))]
        );
    }

    #[test]
    fn bad_input() {
        for (data, err) in [
            (&b"PUB a 1\r\nx\r\n"[..], ParseError::UnknownOp),
            (b"\r\n", ParseError::UnknownOp),
            (b"PINGX\r\n", ParseError::UnknownOp),
            (b"MSG a 1\r\n", ParseError::BadArgs("MSG")),
            (b"MSG a 1 2 3 4\r\n", ParseError::BadArgs("MSG")),
            (b"MSG a 1 x\r\n", ParseError::BadArgs("MSG")),
            (b"HMSG a 1 5 3\r\n", ParseError::BadArgs("HMSG")),
            (b"HMSG a 1 3\r\n", ParseError::BadArgs("HMSG")),
            (b"MSG a 1 1\r\nxy\r\n", ParseError::UnknownOp),
            (b"MSG a 1 1\r\nx\rX", ParseError::UnknownOp),
        ] {
            assert_eq!(all(data), vec![Err(err)], "{data:?}");
        }
    }

    #[test]
    fn limits() {
        assert_eq!(parse_all(b"MSG a 1 9\r\n", SMALL), vec![Err(ParseError::MaxPayload)]);
        assert_eq!(parse_all(b"MSG a 1 8\r\n12345678\r\n", SMALL).len(), 1);
        // Checked on a partial line, before the newline arrives.
        assert_eq!(parse_all(b"INFO 123456789012", SMALL), vec![Err(ParseError::MaxControlLine)]);
        assert_eq!(parse_all(b"INFO 12345678901\r", SMALL), vec![]);
        assert_eq!(
            parse_all(b"INFO 12345678901\r\n", SMALL),
            vec![Ok(ServerOp::Info(b("12345678901")))]
        );
    }

    #[test]
    fn errors_are_sticky() {
        let mut p = Parser::new(Limits::default());
        let mut buf = BytesMut::from(&b"XYZ\r\nPING\r\n"[..]);
        assert_eq!(p.parse(&mut buf), Err(ParseError::UnknownOp));
        assert_eq!(p.parse(&mut buf), Err(ParseError::UnknownOp));
    }

    #[test]
    fn byte_at_a_time_gives_the_same_ops() {
        let data =
            b"INFO {} \r\nMSG foo 1 5\r\nhello\r\nHMSG a 2 r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n\
            PING\r\n-ERR 'x'\r\nMSG a 1 1\r\nxy";
        let whole = all(data);
        let (split, _) = frames::parse_chunks(Parser::new(Limits::default()), data.chunks(1));
        assert_eq!(whole, split);
        assert_eq!(whole.len(), 6);
        assert_eq!(whole.last(), Some(&Err(ParseError::UnknownOp)));
    }

    #[test]
    fn fields_are_slices_of_the_read_buffer() {
        let mut buf = BytesMut::from(&b"MSG subject 1 reply 7\r\npayload\r\n"[..]);
        let start = buf.as_ptr() as usize;
        let range = start..start + buf.len();
        let Ok(Some(ServerOp::Msg(m))) = Parser::new(Limits::default()).parse(&mut buf) else {
            panic!("no MSG");
        };
        for field in [&m.subject, &m.sid, m.reply.as_ref().unwrap(), &m.payload] {
            assert!(range.contains(&(field.as_ptr() as usize)));
        }
        assert!(buf.is_empty());
    }
}
