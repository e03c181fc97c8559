//! The gateway protocol (links between clusters): the gateway flavour of the server-to-server
//! parser ([`crate::proto::server`]) for what a gateway peer sends, and the encoders for what
//! we send one (shared with routes, re-exported here). See `shared/docs/gateway-protocol.md`
//! §3 and §6.1; the shared framing rules are those of `client-protocol.md` §3.
//!
//! The parser works like the client one ([`crate::proto::client`]): [`GatewayParser::parse`]
//! takes complete frames off the front of the read buffer and returns them as [`GatewayOp`]s
//! whose fields are `Bytes` slices of that buffer (no copy, no allocation per frame). An
//! incomplete frame is `Ok(None)` and the next call resumes where it stopped; limits are
//! enforced before anything is buffered beyond them; errors are sticky.
//!
//! The encoders append to a caller-owned buffer with a single reservation each.

use std::fmt;

use bytes::{Bytes, BytesMut};

use crate::proto::frames::{self, FrameParser};
use crate::proto::server::{Flavour, Frame, ServerParseError, ServerParser};

pub use crate::proto::server::{
    NO_QUEUES, RoutedMsg, a_minus, a_plus, connect, hmsg, hmsg_line, info, rmsg, rmsg_line,
    rs_minus, rs_plus,
};

/// Parser limits for one gateway connection: the shared [`crate::proto::server::ServerLimits`],
/// whose [`Default`] is the gateway's (16 × 4096 control line, 64 MiB safety cap on payloads,
/// see there).
pub type GatewayLimits = crate::proto::server::ServerLimits;

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
    inner: ServerParser,
}

impl GatewayParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: GatewayLimits) -> Self {
        Self { inner: ServerParser::new(limits, Flavour::Gateway) }
    }

    /// Change the limits (e.g. after a configuration reload).
    pub fn set_limits(&mut self, limits: GatewayLimits) {
        self.inner.set_limits(limits);
    }

    /// Take the next complete frame off the front of `buf`.
    ///
    /// `Ok(None)`: `buf` holds no complete frame; call again after appending more bytes. Bytes
    /// the parser is done with (op names, separators, what follows `PING`/`PONG`/`+OK` on their
    /// line) may already have been removed from `buf`: the parser remembers them, and this
    /// keeps the buffer bounded however slowly a frame arrives. A pending frame never holds
    /// more than `max_control_line + max_payload + 4` bytes.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<GatewayOp>, GatewayParseError> {
        let Some(frame) = self.inner.parse(buf)? else {
            return Ok(None);
        };
        Ok(Some(match frame {
            Frame::Info(json) => GatewayOp::Info(json),
            Frame::Connect(json) => GatewayOp::Connect(json),
            Frame::Ping => GatewayOp::Ping,
            Frame::Pong => GatewayOp::Pong,
            Frame::Ok => GatewayOp::Ok,
            Frame::Err(text) => GatewayOp::Err(text),
            Frame::RsPlus(i) => GatewayOp::RsPlus {
                account: i.account,
                subject: i.subject,
                // nats-server does not use the weight: an unparsable one is reported as 0.
                queue: i.queue.map(|q| (q, i.weight.map_or(0, |w| w as u32))),
            },
            Frame::RsMinus(i) => {
                GatewayOp::RsMinus { account: i.account, subject: i.subject, queue: i.queue }
            }
            Frame::APlus(account) => GatewayOp::APlus(account),
            Frame::AMinus(account) => GatewayOp::AMinus(account),
            Frame::Msg(msg) => GatewayOp::Msg(msg),
            // The gateway op table has no `L` ops: these cannot come out of it.
            Frame::LsPlus(_) | Frame::LsMinus(_) | Frame::Lmsg(..) => {
                return Err(self.inner.fail(ServerParseError::UnknownOp).into());
            }
        }))
    }

    /// True when the parser is between frames: the next byte in the buffer starts an op.
    pub fn at_frame_start(&self) -> bool {
        self.inner.at_frame_start()
    }
}

impl From<ServerParseError> for GatewayParseError {
    fn from(e: ServerParseError) -> Self {
        match e {
            ServerParseError::UnknownOp => Self::UnknownOp,
            ServerParseError::MaxControlLine => Self::MaxControlLine,
            ServerParseError::BadArgs(why) => Self::BadArgs(why),
            ServerParseError::PayloadTooLarge => Self::PayloadTooLarge,
        }
    }
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
        GatewayOp::Msg(RoutedMsg::new(
            account.as_bytes(),
            subject.as_bytes(),
            reply.map(str::as_bytes),
            queues.map(str::as_bytes),
            header_len,
            payload.as_bytes(),
        ))
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
        assert_eq!(m.reply(), Some(&b"r"[..]));
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
        assert!(matches!(one(&big), Ok(GatewayOp::Msg(m)) if m.payload().len() == 2097152));
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
        for field in
            [m.account(), m.subject(), m.reply().unwrap(), m.queues().unwrap(), m.payload()]
        {
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
