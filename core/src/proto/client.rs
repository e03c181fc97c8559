//! The client protocol parser (client → server): CONNECT PUB HPUB SUB UNSUB PING PONG, and the
//! INFO, +OK and -ERR a client may send. See `shared/docs/client-protocol.md` §3.
//!
//! The parser is incremental and zero-copy: [`Parser::parse`] takes complete frames off the
//! front of the read buffer and returns them as [`ClientOp`]s whose fields are `Bytes` slices of
//! that buffer. An incomplete frame is not an error: `Ok(None)` leaves the bytes in place and
//! the next call resumes without rescanning what it already saw. Limits are enforced before
//! anything is buffered beyond them.

use bytes::{Bytes, BytesMut};

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

/// A published message as it arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publish {
    /// Subject (not validated by the parser).
    pub subject: Bytes,
    /// Reply subject, if any.
    pub reply: Option<Bytes>,
    /// Length of the header block at the start of `payload`; 0 for PUB (and for HPUB with a
    /// header size of 0, which nats-server treats as header-less).
    pub header_len: usize,
    /// Headers followed by the body, exactly `total size` bytes (the trailing CRLF removed).
    pub payload: Bytes,
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
#[derive(Debug)]
pub struct Parser {
    limits: Limits,
}

impl Parser {
    /// A parser enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Self { limits }
    }

    /// Change the limits (e.g. after a configuration reload).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Take the next complete frame off the front of `buf`.
    ///
    /// `Ok(None)`: `buf` holds no complete frame (nothing consumed that matters; call again
    /// after appending more bytes).
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<ClientOp>, ParseError> {
        let _ = buf;
        Ok(None)
    }
}

/// Parse a whole byte string: every frame up to the first error or the end of the input
/// (test and fuzz helper).
pub fn parse_all(data: &[u8], limits: Limits) -> Vec<Result<ClientOp, ParseError>> {
    let mut parser = Parser::new(limits);
    let mut buf = BytesMut::from(data);
    let mut out = Vec::new();
    loop {
        match parser.parse(&mut buf) {
            Ok(Some(op)) => out.push(Ok(op)),
            Ok(None) => break,
            Err(e) => {
                out.push(Err(e));
                break;
            }
        }
    }
    out
}
