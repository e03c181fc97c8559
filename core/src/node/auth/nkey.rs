//! nkey users: the INFO nonce and the Ed25519 signature over it (nats-server `nkey.go` and the
//! nkey branch of `processClientOrLeafAuthentication`). Keys and signatures are checked by the
//! `nkeys` crate, NATS' own implementation.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand_core::RngCore;

/// Random bytes in a nonce; base64url without padding makes them 15 characters, as
/// nats-server's.
const NONCE_BYTES: usize = 11;

/// A fresh nonce for one connection's INFO, from the node's seeded generator.
pub(crate) fn nonce(rng: &mut impl RngCore) -> String {
    let mut raw = [0u8; NONCE_BYTES];
    rng.fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

/// Whether `sig` (base64url, or standard base64 as nats-server also accepts) is `public_key`'s
/// signature of `nonce`.
pub(super) fn verify(public_key: &str, nonce: &str, sig: &str) -> bool {
    if sig.is_empty() {
        return false;
    }
    let Ok(sig) = URL_SAFE_NO_PAD.decode(sig).or_else(|_| STANDARD.decode(sig)) else {
        return false;
    };
    let Ok(key) = nkeys::KeyPair::from_public_key(public_key) else {
        return false;
    };
    key.verify(nonce.as_bytes(), &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    use super::*;

    #[test]
    fn nonces_look_like_nats_servers() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = nonce(&mut rng);
        assert_eq!(n.len(), 15);
        assert!(n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(n, nonce(&mut rng));
    }

    #[test]
    fn only_the_keys_own_signature_passes() {
        let user = nkeys::KeyPair::new_user();
        let other = nkeys::KeyPair::new_user();
        let nonce = "abcdefghijklmno";
        let sig = user.sign(nonce.as_bytes()).unwrap();
        let pk = user.public_key();
        assert!(verify(&pk, nonce, &URL_SAFE_NO_PAD.encode(&sig)));
        assert!(verify(&pk, nonce, &STANDARD.encode(&sig)));
        assert!(!verify(&pk, "another-nonce!!", &URL_SAFE_NO_PAD.encode(&sig)));
        let forged = other.sign(nonce.as_bytes()).unwrap();
        assert!(!verify(&pk, nonce, &URL_SAFE_NO_PAD.encode(forged)));
        assert!(!verify(&pk, nonce, ""));
        assert!(!verify(&pk, nonce, "junk"));
        assert!(!verify("UNOTAKEY", nonce, &URL_SAFE_NO_PAD.encode(&sig)));
    }
}
