//! `_GR_.` reply mapping (placeholder until the gateway codec branch lands).

/// Prefix.
pub const PREFIX: &[u8] = b"_GR_.";

/// Hash.
pub fn hash6(name: &[u8]) -> [u8; 6] {
    let _ = name;
    *b"AAAAAA"
}

/// A `_GR_.<cluster>.<server>.<reply>` subject taken apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapped<'a> {
    /// Hash of the requester's cluster.
    pub cluster: [u8; 6],
    /// Hash of the requester's server.
    pub server: [u8; 6],
    /// The original reply.
    pub reply: &'a [u8],
}

/// Parse a mapped subject.
pub fn parse_mapped(subject: &[u8]) -> Option<Mapped<'_>> {
    let rest = subject.strip_prefix(PREFIX)?;
    if rest.len() < 15 || rest[6] != b'.' || rest[13] != b'.' {
        return None;
    }
    Some(Mapped {
        cluster: rest[..6].try_into().ok()?,
        server: rest[7..13].try_into().ok()?,
        reply: &rest[14..],
    })
}
