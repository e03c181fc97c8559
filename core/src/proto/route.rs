//! The route protocol (servers of one cluster): the route flavour of the server-to-server
//! parser ([`crate::proto::server`]) for what a route peer sends, and the encoders routes need
//! beyond the shared ones. See `shared/docs/route-protocol.md` §3 and §5.1.
//!
//! A pooled or no-pool route speaks exactly the gateway's `RS±`/`RMSG`/`HMSG` wire (account
//! field included): use the shared encoders re-exported here. A pinned-account route
//! (`route_account` in INFO) drops the account field: [`RouteParser::set_pinned_account`] and
//! the `*_pinned` encoders.

use bytes::{Bytes, BytesMut};

use crate::proto::encode::Decimal;
use crate::proto::frames::{self, FrameParser};
use crate::proto::server::{Flavour, Frame, MsgLine, ServerParser, interest_line};

pub use crate::proto::server::{
    NO_QUEUES, RoutedMsg, connect, hmsg, hmsg_line, info, rmsg, rmsg_line, rs_minus, rs_plus,
};

/// Parser limits for one route: build them with [`RouteLimits::route`] (16 × the control line,
/// no payload limit beyond the 9-digit size field, as nats-server).
pub type RouteLimits = crate::proto::server::ServerLimits;

/// Why a route byte stream cannot be parsed (see the variants for nats-server's answers:
/// `UnknownOp` and `MaxControlLine` get an `-ERR`, `BadArgs` closes without one).
pub type RouteParseError = crate::proto::server::ServerParseError;

/// One frame from a route peer. `SUB`, `UNSUB`, `A+`, `A-`, `PUB` and `HPUB` never appear:
/// the parser consumes them without a frame (see [`RouteParser`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteOp {
    /// `INFO <json>`: the raw argument (may be empty; a trailing space before the CRLF, as in
    /// the initial route INFO, is kept and is valid JSON whitespace).
    Info(Bytes),
    /// `CONNECT <json>`: the raw argument (may be empty).
    Connect(Bytes),
    /// `PING`.
    Ping,
    /// `PONG`.
    Pong,
    /// `+OK` (nats-server ignores it on a route).
    Ok,
    /// `-ERR <text>`: the raw argument, quotes included.
    Err(Bytes),
    /// `RS+ <account> <subject> [<queue> <weight>]`.
    RsPlus {
        /// Account name (the pinned account on a pinned route).
        account: Bytes,
        /// Subject (not validated by the parser).
        subject: Bytes,
        /// Queue group and its weight (the number of members behind the peer). The weight is
        /// −1 when its text is not 1–9 digits (nats-server 2.15.1 accepts `RS+ $G foo q x`
        /// that way); 0 is possible too. nats-server only uses a weight above 1, so the route
        /// layer should count any weight below 1 as 1.
        queue: Option<(Bytes, i32)>,
    },
    /// `RS- <account> <subject> [<queue>]`.
    RsMinus {
        /// Account name (the pinned account on a pinned route).
        account: Bytes,
        /// Subject.
        subject: Bytes,
        /// Queue group, if any.
        queue: Option<Bytes>,
    },
    /// `LS+ <origin> <account> <subject> [<queue> <weight>]`: interest of a leafnode of
    /// cluster `origin` behind the peer.
    LsPlus {
        /// The leaf's origin cluster (`_` when the peer does not know it, 2.15.1 `ln`).
        origin: Bytes,
        /// Account name (the pinned account on a pinned route).
        account: Bytes,
        /// Subject.
        subject: Bytes,
        /// Queue group and weight, as for [`RouteOp::RsPlus`].
        queue: Option<(Bytes, i32)>,
    },
    /// `LS- <origin> <account> <subject> [<queue>]`, or `LS- <account> <subject> [<queue>]`
    /// from a peer that did not announce `lnocu` (see [`RouteParser::set_ls_minus_origin`]).
    LsMinus {
        /// The origin cluster, when the line has one.
        origin: Option<Bytes>,
        /// Account name (the pinned account on a pinned route).
        account: Bytes,
        /// Subject.
        subject: Bytes,
        /// Queue group, if any.
        queue: Option<Bytes>,
    },
    /// `RMSG` or `HMSG`.
    Msg(RoutedMsg),
    /// `LMSG <origin> <account> <subject> [reply-part] <hdr_len> <total>`: a message from a
    /// leafnode of cluster `origin`; `msg.header_len` 0 means no headers.
    Lmsg {
        /// The leaf's origin cluster.
        origin: Bytes,
        /// The message.
        msg: RoutedMsg,
    },
}

/// The incremental parser for one route connection (either direction).
///
/// Call [`RouteParser::parse`] in a loop after appending bytes to the read buffer until it
/// returns `Ok(None)` (need more bytes) or an error (fatal: close the route, after an `-ERR`
/// for `UnknownOp` and `MaxControlLine`). The grammar is the gateway's (same framing, field
/// count rules, 9-digit sizes, 16× control line); the op table differs, matching what
/// nats-server 2.15.1 does on a route (route-protocol §3.2):
/// * `LS+`, `LS-` and `LMSG` are read (nats-server accepts them even from a peer that never
///   announced `lnoc`).
/// * `SUB`, `UNSUB`, `A+`, `A-` (and `Au`) lines are consumed and yield nothing.
/// * `PUB <subject> [reply] <size>` and `HPUB <subject> [reply] <hdr> <total>` are consumed
///   with their payload (dropped as it arrives, so never buffered) and yield nothing;
///   malformed arguments are `BadArgs`, a payload not followed by CRLF is `UnknownOp`.
/// * `MSG`, any other unknown op and an empty line are `UnknownOp`.
/// * A queue weight that is not 1–9 digits is −1 (see [`RouteOp::RsPlus`]).
///
/// On a pinned-account route ([`RouteParser::set_pinned_account`]) every `RS±`, `LS±`,
/// `RMSG`, `HMSG` and `LMSG` line is read as if the account field were present with the pinned
/// value (after the origin for `L` ops), with the same field-count rules; the account of the
/// frame is a refcounted clone of the pinned `Bytes`.
#[derive(Debug)]
pub struct RouteParser {
    inner: ServerParser,
}

impl RouteParser {
    /// A parser enforcing `limits`, for a pooled or no-pool route whose `LS-` lines carry an
    /// origin (every peer since 2.10 announces `lnocu`).
    pub fn new(limits: RouteLimits) -> Self {
        let flavour = Flavour::Route { pinned: None, ls_minus_origin: true };
        Self { inner: ServerParser::new(limits, flavour) }
    }

    /// Change the limits (e.g. after a configuration reload).
    pub fn set_limits(&mut self, limits: RouteLimits) {
        self.inner.set_limits(limits);
    }

    /// Read every later line as one of a route pinned to `account` (no account field), or
    /// with `None` as a route that carries the account field. Takes effect at the next line.
    pub fn set_pinned_account(&mut self, account: Option<Bytes>) {
        if let Flavour::Route { pinned, .. } = self.inner.flavour_mut() {
            *pinned = account;
        }
    }

    /// The pinned account, if any.
    pub fn pinned_account(&self) -> Option<&Bytes> {
        match self.inner.flavour() {
            Flavour::Route { pinned, .. } => pinned.as_ref(),
            Flavour::Gateway => None,
        }
    }

    /// Whether `LS-` lines carry an origin: true (the default) when the peer announced `lnocu`
    /// in its INFO, false otherwise, as nats-server decides (`LS- <origin> <acc> <subj> [q]`
    /// against `LS- <acc> <subj> [q]`). Only a 3-field line (2 on a pinned route) is
    /// ambiguous, and only this setting decides it; with origins on, a 2-field line (1 on a
    /// pinned route), which nats-server would refuse, is read as `<acc> <subj>` without
    /// origin rather than closing the route.
    pub fn set_ls_minus_origin(&mut self, with_origin: bool) {
        if let Flavour::Route { ls_minus_origin, .. } = self.inner.flavour_mut() {
            *ls_minus_origin = with_origin;
        }
    }

    /// Take the next complete frame off the front of `buf`.
    ///
    /// `Ok(None)`: `buf` holds no complete frame; call again after appending more bytes. Bytes
    /// the parser is done with may already have been removed from `buf` (the parser remembers
    /// them), which keeps the buffer bounded however slowly a frame arrives: a pending frame
    /// never holds more than `max_control_line + max_payload + 4` bytes.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<RouteOp>, RouteParseError> {
        let Some(frame) = self.inner.parse(buf)? else {
            return Ok(None);
        };
        // A weight is at most 9 digits, so it fits in an i32.
        let weighted = |queue: Option<Bytes>, weight: Option<usize>| {
            queue.map(|q| (q, weight.map_or(-1, |w| w as i32)))
        };
        Ok(Some(match frame {
            Frame::Info(json) => RouteOp::Info(json),
            Frame::Connect(json) => RouteOp::Connect(json),
            Frame::Ping => RouteOp::Ping,
            Frame::Pong => RouteOp::Pong,
            Frame::Ok => RouteOp::Ok,
            Frame::Err(text) => RouteOp::Err(text),
            Frame::RsPlus(i) => RouteOp::RsPlus {
                account: i.account,
                subject: i.subject,
                queue: weighted(i.queue, i.weight),
            },
            Frame::RsMinus(i) => {
                RouteOp::RsMinus { account: i.account, subject: i.subject, queue: i.queue }
            }
            Frame::LsPlus(i) => RouteOp::LsPlus {
                origin: i.origin.unwrap_or_default(),
                account: i.account,
                subject: i.subject,
                queue: weighted(i.queue, i.weight),
            },
            Frame::LsMinus(i) => RouteOp::LsMinus {
                origin: i.origin,
                account: i.account,
                subject: i.subject,
                queue: i.queue,
            },
            Frame::Msg(msg) => RouteOp::Msg(msg),
            Frame::Lmsg(origin, msg) => RouteOp::Lmsg { origin, msg },
            // The route op table consumes A+/A- without a frame.
            Frame::APlus(_) | Frame::AMinus(_) => {
                return Err(self.inner.fail(RouteParseError::UnknownOp));
            }
        }))
    }

    /// True when the parser is between frames: the next byte in the buffer starts an op.
    pub fn at_frame_start(&self) -> bool {
        self.inner.at_frame_start()
    }
}

impl FrameParser for RouteParser {
    type Frame = RouteOp;
    type Error = RouteParseError;

    fn next_frame(&mut self, buf: &mut BytesMut) -> Result<Option<RouteOp>, RouteParseError> {
        self.parse(buf)
    }
}

/// Parse a whole byte string: every frame up to the first error or the end of the input
/// (test and fuzz helper). `pinned`: the account of a pinned route.
pub fn parse_all(
    data: &[u8],
    limits: RouteLimits,
    pinned: Option<Bytes>,
) -> Vec<Result<RouteOp, RouteParseError>> {
    let mut parser = RouteParser::new(limits);
    parser.set_pinned_account(pinned);
    frames::parse_all(parser, data)
}

// ---------------------------------------------------------------------------------------------
// Encoders beyond the shared ones

/// `INFO <json> \r\n`: the *initial* route INFO, which nats-server 2.15.1 writes with a space
/// before the CRLF (later INFOs use [`info`], without it).
pub fn initial_info(out: &mut BytesMut, json: &[u8]) {
    use bytes::BufMut;
    out.reserve(json.len() + 8);
    out.put_slice(b"INFO ");
    out.put_slice(json);
    out.put_slice(b" \r\n");
}

/// `RS+ <subject>\r\n` or `RS+ <subject> <queue> <weight>\r\n` on a pinned-account route.
pub fn rs_plus_pinned(out: &mut BytesMut, subject: &[u8], queue: Option<(&[u8], u32)>) {
    let weight = queue.map(|(_, w)| Decimal::new(w as usize));
    let weight = weight.as_ref().map_or(&[][..], Decimal::as_bytes);
    let queue = queue.map_or(&[][..], |(q, _)| q);
    interest_line(out, b"RS+ ", &[], None, subject, queue, weight);
}

/// `RS- <subject> [<queue>]\r\n` on a pinned-account route.
pub fn rs_minus_pinned(out: &mut BytesMut, subject: &[u8], queue: Option<&[u8]>) {
    interest_line(out, b"RS- ", &[], None, subject, queue.unwrap_or_default(), &[]);
}

/// `LS+ <origin> <account> <subject> [<queue> <weight>]\r\n`; `account` `None` on a pinned
/// route.
pub fn ls_plus(
    out: &mut BytesMut,
    origin: &[u8],
    account: Option<&[u8]>,
    subject: &[u8],
    queue: Option<(&[u8], u32)>,
) {
    let weight = queue.map(|(_, w)| Decimal::new(w as usize));
    let weight = weight.as_ref().map_or(&[][..], Decimal::as_bytes);
    let queue = queue.map_or(&[][..], |(q, _)| q);
    interest_line(out, b"LS+ ", origin, account, subject, queue, weight);
}

/// `LS- [<origin>] <account> <subject> [<queue>]\r\n` (an empty `origin` is left out, for a
/// peer without `lnocu`); `account` `None` on a pinned route.
pub fn ls_minus(
    out: &mut BytesMut,
    origin: &[u8],
    account: Option<&[u8]>,
    subject: &[u8],
    queue: Option<&[u8]>,
) {
    interest_line(out, b"LS- ", origin, account, subject, queue.unwrap_or_default(), &[]);
}

/// `RMSG <subject> [reply-part] <len>\r\n<payload>\r\n` on a pinned-account route (the middle
/// part as for [`rmsg`]).
pub fn rmsg_pinned<Q: AsRef<[u8]>>(
    out: &mut BytesMut,
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: impl IntoIterator<Item = Q, IntoIter: Clone>,
    payload: &[u8],
) {
    let len = Decimal::new(payload.len());
    MsgLine::new(b"RMSG ", None, subject, reply, queues, [&[], len.as_bytes()])
        .put_with(out, payload);
}

/// `HMSG <subject> [reply-part] <hdr_len> <total>\r\n<headers+payload>\r\n` on a pinned-account
/// route.
pub fn hmsg_pinned<Q: AsRef<[u8]>>(
    out: &mut BytesMut,
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: impl IntoIterator<Item = Q, IntoIter: Clone>,
    header_len: usize,
    payload: &[u8],
) {
    let header_len = Decimal::new(header_len);
    let total = Decimal::new(payload.len());
    let sizes = [header_len.as_bytes(), total.as_bytes()];
    MsgLine::new(b"HMSG ", None, subject, reply, queues, sizes).put_with(out, payload);
}

/// The control line of [`rmsg_pinned`] alone: the caller sends `len` payload bytes and `\r\n`.
pub fn rmsg_line_pinned<Q: AsRef<[u8]>>(
    out: &mut BytesMut,
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: impl IntoIterator<Item = Q, IntoIter: Clone>,
    len: usize,
) {
    let len = Decimal::new(len);
    MsgLine::new(b"RMSG ", None, subject, reply, queues, [&[], len.as_bytes()]).put(out);
}

/// The control line of [`hmsg_pinned`] alone: the caller sends `total` bytes and `\r\n`.
pub fn hmsg_line_pinned<Q: AsRef<[u8]>>(
    out: &mut BytesMut,
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: impl IntoIterator<Item = Q, IntoIter: Clone>,
    header_len: usize,
    total: usize,
) {
    let header_len = Decimal::new(header_len);
    let total = Decimal::new(total);
    let sizes = [header_len.as_bytes(), total.as_bytes()];
    MsgLine::new(b"HMSG ", None, subject, reply, queues, sizes).put(out);
}

/// `LMSG <origin> [<account>] <subject> [reply-part] <hdr_len> <total>\r\n<payload>\r\n`
/// (`header_len` 0 for a message without headers; `account` `None` on a pinned route).
// The parameters are the wire fields in wire order, as for `hmsg`, plus the origin.
#[allow(clippy::too_many_arguments)]
pub fn lmsg<Q: AsRef<[u8]>>(
    out: &mut BytesMut,
    origin: &[u8],
    account: Option<&[u8]>,
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: impl IntoIterator<Item = Q, IntoIter: Clone>,
    header_len: usize,
    payload: &[u8],
) {
    let header_len = Decimal::new(header_len);
    let total = Decimal::new(payload.len());
    let sizes = [header_len.as_bytes(), total.as_bytes()];
    MsgLine::new(b"LMSG ", account, subject, reply, queues, sizes)
        .with_origin(origin)
        .put_with(out, payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(f: impl FnOnce(&mut BytesMut)) -> Vec<u8> {
        let mut out = BytesMut::new();
        f(&mut out);
        out.to_vec()
    }

    #[test]
    fn pinned_and_leaf_encoders() {
        assert_eq!(encoded(|o| rs_plus_pinned(o, b"foo", None)), b"RS+ foo\r\n");
        assert_eq!(encoded(|o| rs_plus_pinned(o, b"foo", Some((b"q", 7)))), b"RS+ foo q 7\r\n");
        assert_eq!(encoded(|o| rs_minus_pinned(o, b"foo", Some(b"q"))), b"RS- foo q\r\n");
        assert_eq!(
            encoded(|o| rs_plus(o, b"$G", b"foo", Some((b"q", u32::MAX)))),
            b"RS+ $G foo q 4294967295\r\n"
        );
        assert_eq!(
            encoded(|o| rmsg_pinned(o, b"$SYS.X", None, NO_QUEUES, b"hi")),
            b"RMSG $SYS.X 2\r\nhi\r\n"
        );
        assert_eq!(
            encoded(|o| hmsg_pinned(o, b"s", Some(b"r"), [&b"g"[..]], 1, b"hi")),
            b"HMSG s + r g 1 2\r\nhi\r\n"
        );
        assert_eq!(
            encoded(|o| rmsg_line_pinned(o, b"s", Some(b"r"), NO_QUEUES, 5)),
            b"RMSG s r 5\r\n"
        );
        assert_eq!(
            encoded(|o| hmsg_line_pinned(o, b"s", None, NO_QUEUES, 1, 5)),
            b"HMSG s 1 5\r\n"
        );
        assert_eq!(
            encoded(|o| ls_plus(o, b"L1", Some(b"$G"), b"foo", Some((b"q", 2)))),
            b"LS+ L1 $G foo q 2\r\n"
        );
        assert_eq!(encoded(|o| ls_minus(o, b"", Some(b"$G"), b"foo", None)), b"LS- $G foo\r\n");
        assert_eq!(encoded(|o| ls_minus(o, b"L1", None, b"foo", None)), b"LS- L1 foo\r\n");
        assert_eq!(
            encoded(|o| lmsg(o, b"L1", Some(b"$G"), b"foo", None, [&b"g1"[..]], 0, b"x")),
            b"LMSG L1 $G foo | g1 0 1\r\nx\r\n"
        );
        assert_eq!(encoded(|o| initial_info(o, b"{}")), b"INFO {} \r\n");
    }
}
