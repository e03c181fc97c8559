#![no_main]

// A peer certificate as the gateway identity check reads it (`verify_and_map`, pins): any
// bytes are a certificate or `None`, never a panic, and a key hash is always 64 hex digits.
libfuzzer_sys::fuzz_target!(|data: &[u8]| strait_net::tls::check_peer_identity(data));
