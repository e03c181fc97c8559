//! `_GR_.` reply mapping (placeholder until the gateway codec branch lands).

/// Prefix.
pub const PREFIX: &[u8] = b"_GR_.";

/// Hash.
pub fn hash6(name: &[u8]) -> [u8; 6] {
    let _ = name;
    *b"AAAAAA"
}
