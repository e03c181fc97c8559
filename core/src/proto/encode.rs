//! Encoders for what a server sends a client. Every function appends to a caller-owned
//! buffer: no allocation per frame beyond the buffer's own growth.
//!
//! [`msg`] and [`hmsg`] copy the payload into the buffer; [`msg_line`] and [`hmsg_line`] write
//! only the control line, for a writer that queues the payload (a `Bytes` slice of the
//! publisher's read buffer) and [`CRLF`] as separate chunks of a vectored write.

use bytes::{BufMut, BytesMut};

/// `PING\r\n`.
pub const PING: &[u8] = b"PING\r\n";
/// `PONG\r\n`.
pub const PONG: &[u8] = b"PONG\r\n";
/// `+OK\r\n`.
pub const OK: &[u8] = b"+OK\r\n";
/// `\r\n`, the end of every control line and of every payload.
pub const CRLF: &[u8] = b"\r\n";

/// `MSG <subject> <sid> [reply] <len>\r\n<payload>\r\n`.
///
/// As in nats-server, an empty `sid` is left out with its separator (internal subscriptions
/// have none) and a `reply` is written when present, even if empty.
pub fn msg(out: &mut BytesMut, subject: &[u8], sid: &[u8], reply: Option<&[u8]>, payload: &[u8]) {
    let len = Decimal::new(payload.len());
    let line = Line { op: b"MSG ", subject, sid, reply, sizes: [&[], len.as_bytes()] };
    out.reserve(line.len() + payload.len() + CRLF.len());
    line.put(out);
    out.put_slice(payload);
    out.put_slice(CRLF);
}

/// `HMSG <subject> <sid> [reply] <hdr_len> <total>\r\n<headers+payload>\r\n`; `payload` holds
/// the headers followed by the body.
pub fn hmsg(
    out: &mut BytesMut,
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    header_len: usize,
    payload: &[u8],
) {
    debug_assert!(header_len <= payload.len(), "header block longer than the payload");
    let header_len = Decimal::new(header_len);
    let total = Decimal::new(payload.len());
    let line = Line {
        op: b"HMSG ",
        subject,
        sid,
        reply,
        sizes: [header_len.as_bytes(), total.as_bytes()],
    };
    out.reserve(line.len() + payload.len() + CRLF.len());
    line.put(out);
    out.put_slice(payload);
    out.put_slice(CRLF);
}

/// The control line of [`msg`] alone, `MSG <subject> <sid> [reply] <len>\r\n`: the caller
/// sends `len` payload bytes and [`CRLF`] after it.
pub fn msg_line(out: &mut BytesMut, subject: &[u8], sid: &[u8], reply: Option<&[u8]>, len: usize) {
    let len = Decimal::new(len);
    let line = Line { op: b"MSG ", subject, sid, reply, sizes: [&[], len.as_bytes()] };
    out.reserve(line.len());
    line.put(out);
}

/// The control line of [`hmsg`] alone, `HMSG <subject> <sid> [reply] <hdr_len> <total>\r\n`:
/// the caller sends `total` bytes (headers, then body) and [`CRLF`] after it.
pub fn hmsg_line(
    out: &mut BytesMut,
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    header_len: usize,
    total: usize,
) {
    let header_len = Decimal::new(header_len);
    let total = Decimal::new(total);
    let line = Line {
        op: b"HMSG ",
        subject,
        sid,
        reply,
        sizes: [header_len.as_bytes(), total.as_bytes()],
    };
    out.reserve(line.len());
    line.put(out);
}

/// `INFO <json> \r\n` (nats-server puts a space between the JSON and the CRLF).
pub fn info(out: &mut BytesMut, json: &[u8]) {
    out.reserve(json.len() + 8);
    out.put_slice(b"INFO ");
    out.put_slice(json);
    out.put_slice(b" \r\n");
}

/// `-ERR '<text>'\r\n`.
pub fn err(out: &mut BytesMut, text: &str) {
    out.reserve(text.len() + 9);
    out.put_slice(b"-ERR '");
    out.put_slice(text.as_bytes());
    out.put_slice(b"'\r\n");
}

/// The parts of a MSG/HMSG control line, measured before writing so the buffer grows once.
struct Line<'a> {
    /// `MSG ` or `HMSG `, with its space.
    op: &'static [u8],
    subject: &'a [u8],
    sid: &'a [u8],
    reply: Option<&'a [u8]>,
    /// Header size (empty for MSG) and total size, as decimal text.
    sizes: [&'a [u8]; 2],
}

impl Line<'_> {
    fn len(&self) -> usize {
        let field = |f: &[u8]| if f.is_empty() { 0 } else { f.len() + 1 };
        self.op.len()
            + self.subject.len()
            + 1
            + field(self.sid)
            + self.reply.map_or(0, |r| r.len() + 1)
            + field(self.sizes[0])
            + self.sizes[1].len()
            + CRLF.len()
    }

    fn put(&self, out: &mut BytesMut) {
        out.put_slice(self.op);
        out.put_slice(self.subject);
        out.put_u8(b' ');
        if !self.sid.is_empty() {
            out.put_slice(self.sid);
            out.put_u8(b' ');
        }
        if let Some(reply) = self.reply {
            out.put_slice(reply);
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

/// A `usize` as decimal text on the stack (`format!` would allocate).
pub(crate) struct Decimal {
    /// Digits right-aligned; `u64::MAX` has 20.
    digits: [u8; 20],
    /// Index of the first digit in `digits`.
    start: usize,
}

impl Decimal {
    pub(crate) fn new(mut n: usize) -> Self {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        // At least one digit is written (for 0), and a usize has at most 20.
        loop {
            start -= 1;
            if let Some(d) = digits.get_mut(start) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || start == 0 {
                break;
            }
        }
        Self { digits, start }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.digits.get(self.start..).unwrap_or_default()
    }
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
    fn decimal() {
        for n in [0, 1, 9, 10, 99, 100, 12345, 1_048_576, usize::MAX] {
            assert_eq!(Decimal::new(n).as_bytes(), n.to_string().as_bytes());
        }
    }

    #[test]
    fn msg_bytes() {
        assert_eq!(
            encoded(|o| msg(o, b"foo.bar", b"1", None, b"hello")),
            b"MSG foo.bar 1 5\r\nhello\r\n"
        );
        assert_eq!(
            encoded(|o| msg(o, b"foo", b"sid9", Some(b"_INBOX.x"), b"")),
            b"MSG foo sid9 _INBOX.x 0\r\n\r\n"
        );
        assert_eq!(encoded(|o| msg(o, b"foo", b"", None, b"ab")), b"MSG foo 2\r\nab\r\n");
    }

    #[test]
    fn hmsg_bytes() {
        let payload = b"NATS/1.0\r\nBar: Baz\r\n\r\nHello";
        assert_eq!(
            encoded(|o| hmsg(o, b"foo", b"2", None, 22, payload)),
            b"HMSG foo 2 22 27\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello\r\n"
        );
        assert_eq!(
            encoded(|o| hmsg(o, b"foo", b"2", Some(b"r"), 12, b"NATS/1.0\r\n\r\n")),
            b"HMSG foo 2 r 12 12\r\nNATS/1.0\r\n\r\n\r\n"
        );
    }

    #[test]
    fn lines_alone() {
        assert_eq!(encoded(|o| msg_line(o, b"a", b"1", Some(b"r"), 10)), b"MSG a 1 r 10\r\n");
        assert_eq!(encoded(|o| hmsg_line(o, b"a", b"1", None, 12, 20)), b"HMSG a 1 12 20\r\n");
    }

    #[test]
    fn one_reservation_fits_exactly() {
        let mut out = BytesMut::new();
        msg(&mut out, b"subject", b"42", Some(b"reply"), &[7; 300]);
        let len = out.len();
        assert_eq!(len, b"MSG subject 42 reply 300\r\n".len() + 300 + 2);
        let mut out = BytesMut::with_capacity(0);
        hmsg(&mut out, b"s", b"1", None, 3, b"abcdef");
        assert_eq!(
            out.len(),
            Line { op: b"HMSG ", subject: b"s", sid: b"1", reply: None, sizes: [b"3", b"6"] }.len()
                + 8
        );
    }

    #[test]
    fn info_and_err() {
        assert_eq!(encoded(|o| info(o, b"{}")), b"INFO {} \r\n");
        assert_eq!(
            encoded(|o| err(o, "Unknown Protocol Operation")),
            b"-ERR 'Unknown Protocol Operation'\r\n"
        );
    }
}
