//! Encoders for what a server sends a client. Every function appends to a caller-owned
//! buffer: no allocation per frame beyond the buffer's own growth.

use bytes::{BufMut, BytesMut};

/// `PING\r\n`.
pub const PING: &[u8] = b"PING\r\n";
/// `PONG\r\n`.
pub const PONG: &[u8] = b"PONG\r\n";
/// `+OK\r\n`.
pub const OK: &[u8] = b"+OK\r\n";

/// `MSG <subject> <sid> [reply] <len>\r\n<payload>\r\n`.
pub fn msg(out: &mut BytesMut, subject: &[u8], sid: &[u8], reply: Option<&[u8]>, payload: &[u8]) {
    let _ = (out, subject, sid, reply, payload);
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
    let _ = (out, subject, sid, reply, header_len, payload);
}

/// `INFO <json> \r\n` (nats-server puts a space between the JSON and the CRLF).
pub fn info(out: &mut BytesMut, json: &[u8]) {
    out.put_slice(b"INFO ");
    out.put_slice(json);
    out.put_slice(b" \r\n");
}

/// `-ERR '<text>'\r\n`.
pub fn err(out: &mut BytesMut, text: &str) {
    out.put_slice(b"-ERR '");
    out.put_slice(text.as_bytes());
    out.put_slice(b"'\r\n");
}
