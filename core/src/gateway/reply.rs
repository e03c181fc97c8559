//! Routed reply subjects: `_GR_.<cluster hash>.<server hash>.<original reply>`.
//!
//! A request that crosses a gateway may carry its reply subject mapped with this prefix, so the
//! answer finds its way back to the origin server even before the requester's inbox interest
//! has reached the answering cluster. See `shared/docs/gateway-protocol.md` §6.6.

use bytes::{BufMut, BytesMut};
use sha2::{Digest, Sha256};

/// The routed-reply prefix (nats-server `gwReplyPrefix`).
pub const PREFIX: &[u8] = b"_GR_.";

/// Length of a cluster or server hash (nats-server `gwHashLen`).
pub const HASH_LEN: usize = 6;

/// Length of `_GR_.<cluster hash>.<server hash>.`: where the original reply starts (nats-server
/// `gwSubjectOffset`).
pub const MAPPED_PREFIX_LEN: usize = PREFIX.len() + HASH_LEN + 1 + HASH_LEN + 1;

/// The alphabet the hash bytes are reduced into.
const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The 6-character hash nats-server derives from a gateway name (cluster hash) or a server id
/// (server hash): the first six bytes of the SHA-256 of `name`, each reduced modulo 62 into
/// `0-9A-Za-z` (nats-server `getHashSize(name, 6)`).
pub fn hash6(name: &[u8]) -> [u8; HASH_LEN] {
    let sum = Sha256::digest(name);
    let mut out = [0u8; HASH_LEN];
    for (o, b) in out.iter_mut().zip(sum.iter()) {
        *o = DIGITS[usize::from(*b) % DIGITS.len()];
    }
    out
}

/// Append `_GR_.<cluster_hash>.<server_hash>.<reply>` to `out`.
pub fn map_reply(
    out: &mut BytesMut,
    cluster_hash: &[u8; HASH_LEN],
    server_hash: &[u8; HASH_LEN],
    reply: &[u8],
) {
    out.reserve(MAPPED_PREFIX_LEN + reply.len());
    out.put_slice(PREFIX);
    out.put_slice(cluster_hash);
    out.put_u8(b'.');
    out.put_slice(server_hash);
    out.put_u8(b'.');
    out.put_slice(reply);
}

/// The parts of a routed reply subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapped<'a> {
    /// Hash of the origin cluster's gateway name (6 bytes).
    pub cluster_hash: &'a [u8],
    /// Hash of the origin server's id (6 bytes).
    pub server_hash: &'a [u8],
    /// The original reply subject, prefix stripped (never empty).
    pub reply: &'a [u8],
}

/// Split a `_GR_.` subject into its parts; `None` if `subject` is not one.
///
/// As nats-server's `isGWRoutedReply`, a subject counts as routed when it starts with `_GR_.` and
/// is longer than the 19-byte prefix; the dots after the two hashes are not checked (such a
/// subject then carries a cluster hash that matches no cluster and is dropped by the receiver,
/// as in nats-server).
pub fn parse_mapped(subject: &[u8]) -> Option<Mapped<'_>> {
    if subject.len() <= MAPPED_PREFIX_LEN || !subject.starts_with(PREFIX) {
        return None;
    }
    let cluster_start = PREFIX.len();
    let server_start = cluster_start + HASH_LEN + 1;
    Some(Mapped {
        cluster_hash: subject.get(cluster_start..cluster_start + HASH_LEN)?,
        server_hash: subject.get(server_start..server_start + HASH_LEN)?,
        reply: subject.get(MAPPED_PREFIX_LEN..)?,
    })
}

/// A message's reply as delivered here, and the full `_GR_.` reply it was stripped of: a
/// client sees the original reply, and its answer on it goes straight back to the
/// requester's cluster.
pub fn strip(reply: Option<&[u8]>) -> (Option<&[u8]>, Option<&[u8]>) {
    match reply {
        Some(r) if r.starts_with(PREFIX) => match parse_mapped(r) {
            Some(m) => (Some(m.reply), Some(r)),
            None => (Some(r), None),
        },
        other => (other, None),
    }
}

/// Whether `subject` starts with `_GR_.` and has something after it: the test nats-server
/// applies to refuse client publishes to, and replies on, routed-reply subjects
/// (`hasGWRoutedReplyPrefix`).
pub fn has_prefix(subject: &[u8]) -> bool {
    subject.len() > PREFIX.len() && subject.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_vectors() {
        // shared/docs/gateway-protocol.md §6.6, and the server id of a 2.15.1 capture whose
        // mapped reply was `_GR_.b2oh2L.M5W2RR._INBOX.abc`.
        for (name, hash) in [
            (&b"A"[..], b"NUmM6c"),
            (b"B", b"b2oh2L"),
            (b"C", b"jZ6RvV"),
            (b"NB6YIYCFM6O3IOVZGQXZUBTPYVYOPZ6D7LLNMM4SHTM4C2SEQDWI4TCN", b"7PW0Sx"),
            (b"NCTBBNKZ6UZ52EZIT3FXJHNJHJJ5UEX3QJADIQ4I476CDB4H5LU65L7O", b"M5W2RR"),
        ] {
            assert_eq!(&hash6(name), hash, "{name:?}");
        }
    }

    #[test]
    fn map_then_parse() {
        let mut out = BytesMut::new();
        map_reply(&mut out, &hash6(b"B"), b"7PW0Sx", b"_INBOX.abc");
        assert_eq!(&out[..], b"_GR_.b2oh2L.7PW0Sx._INBOX.abc");
        assert_eq!(
            parse_mapped(&out),
            Some(Mapped { cluster_hash: b"b2oh2L", server_hash: b"7PW0Sx", reply: b"_INBOX.abc" })
        );
        assert_eq!(MAPPED_PREFIX_LEN, 19);
    }

    #[test]
    fn not_mapped() {
        for s in [
            &b""[..],
            b"_GR_.",
            b"_GR_.b2oh2L.7PW0Sx.",
            b"_GR_.b2oh2L.7PW0Sx",
            b"_gr_.b2oh2L.7PW0Sx.x",
            b"$GR.df7e._INBOX.abc",
            b"foo",
        ] {
            assert_eq!(parse_mapped(s), None, "{s:?}");
        }
        // Shortest routed subject; separators are not checked, as in nats-server.
        assert_eq!(parse_mapped(b"_GR_.aaaaaa.bbbbbb.x").map(|m| m.reply), Some(&b"x"[..]));
        assert_eq!(
            parse_mapped(b"_GR_.aaaaaaXbbbbbbYx").map(|m| (m.cluster_hash, m.server_hash)),
            Some((&b"aaaaaa"[..], &b"bbbbbb"[..]))
        );
    }

    #[test]
    fn prefix_check() {
        assert!(has_prefix(b"_GR_.x"));
        assert!(!has_prefix(b"_GR_."));
        assert!(!has_prefix(b"_GR_"));
        assert!(!has_prefix(b"_INBOX.x"));
    }
}
