//! Gateway codec (placeholder API until the gateway codec branch lands).

use bytes::{Bytes, BytesMut};

/// Limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GatewayLimits {
    /// Control line limit.
    pub max_control_line: usize,
    /// Payload safety cap.
    pub max_payload: usize,
}

impl Default for GatewayLimits {
    fn default() -> Self {
        Self { max_control_line: 65536, max_payload: 64 << 20 }
    }
}

/// Parse errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayParseError {
    /// Unknown op.
    UnknownOp,
    /// Control line too long.
    MaxControlLine,
    /// Bad arguments.
    BadArgs(&'static str),
    /// Payload over the cap.
    PayloadTooLarge,
}

/// A routed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutedMsg {
    /// Account.
    pub account: Bytes,
    /// Subject.
    pub subject: Bytes,
    /// Reply.
    pub reply: Option<Bytes>,
    /// Raw queue list.
    pub queues: Option<Bytes>,
    /// Header length.
    pub header_len: usize,
    /// Payload.
    pub payload: Bytes,
}

impl RoutedMsg {
    /// Queue names.
    pub fn queue_names(&self) -> impl Iterator<Item = &[u8]> {
        self.queues.as_deref().unwrap_or_default().split(|b| *b == b' ').filter(|q| !q.is_empty())
    }
}

/// Ops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayOp {
    /// INFO.
    Info(Bytes),
    /// CONNECT.
    Connect(Bytes),
    /// PING.
    Ping,
    /// PONG.
    Pong,
    /// +OK.
    Ok,
    /// -ERR.
    Err(Bytes),
    /// RS+.
    RsPlus {
        /// Account.
        account: Bytes,
        /// Subject.
        subject: Bytes,
        /// Queue and weight.
        queue: Option<(Bytes, u32)>,
    },
    /// RS-.
    RsMinus {
        /// Account.
        account: Bytes,
        /// Subject.
        subject: Bytes,
        /// Queue.
        queue: Option<Bytes>,
    },
    /// A+.
    APlus(Bytes),
    /// A-.
    AMinus(Bytes),
    /// RMSG/HMSG.
    Msg(RoutedMsg),
}

/// Parser.
#[derive(Debug)]
pub struct GatewayParser {
    limits: GatewayLimits,
}

impl GatewayParser {
    /// New.
    pub fn new(limits: GatewayLimits) -> Self {
        Self { limits }
    }

    /// Parse.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<GatewayOp>, GatewayParseError> {
        let _ = (buf, self.limits);
        Ok(None)
    }
}

/// RS+.
pub fn rs_plus(out: &mut BytesMut, account: &[u8], subject: &[u8], queue: Option<(&[u8], u32)>) {
    let _ = (out, account, subject, queue);
}
/// RS-.
pub fn rs_minus(out: &mut BytesMut, account: &[u8], subject: &[u8], queue: Option<&[u8]>) {
    let _ = (out, account, subject, queue);
}
/// A+.
pub fn a_plus(out: &mut BytesMut, account: &[u8]) {
    let _ = (out, account);
}
/// A-.
pub fn a_minus(out: &mut BytesMut, account: &[u8]) {
    let _ = (out, account);
}
/// RMSG.
pub fn rmsg(
    out: &mut BytesMut,
    account: &[u8],
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: &[&[u8]],
    payload: &[u8],
) {
    let _ = (out, account, subject, reply, queues, payload);
}
/// HMSG.
pub fn hmsg(
    out: &mut BytesMut,
    account: &[u8],
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: &[&[u8]],
    header_len: usize,
    payload: &[u8],
) {
    let _ = (out, account, subject, reply, queues, header_len, payload);
}
/// INFO (no space before CRLF).
pub fn info(out: &mut BytesMut, json: &[u8]) {
    let _ = (out, json);
}
/// CONNECT.
pub fn connect(out: &mut BytesMut, json: &[u8]) {
    let _ = (out, json);
}
