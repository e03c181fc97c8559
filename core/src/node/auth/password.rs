//! Password and token comparison: constant time for plain secrets, bcrypt for hashes
//! (nats-server `comparePasswords`). A hash is never accepted as the password itself.

use std::sync::Arc;

/// A bcrypt comparison the driver runs away from the node lock, then reports with
/// [`crate::node::Node::handle_password_checked`].
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordCheck {
    hash: Arc<str>,
    candidate: Box<str>,
}

impl std::fmt::Debug for PasswordCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print what the client sent.
        f.debug_struct("PasswordCheck").finish_non_exhaustive()
    }
}

impl PasswordCheck {
    /// Whether the candidate matches the hash. Slow by design (bcrypt's cost).
    pub fn verify(&self) -> bool {
        bcrypt::verify(self.candidate.as_bytes(), &self.hash).unwrap_or(false)
    }

    /// The hash being compared against (remembered on the link once it passed).
    pub(crate) fn hash(&self) -> &str {
        &self.hash
    }
}

/// nats-server's `isBcrypt`: `$2a$`, `$2b$`, `$2x$` or `$2y$`, two cost digits, `$`.
pub fn is_bcrypt(secret: &str) -> bool {
    let b = secret.as_bytes();
    b.len() >= 7
        && b.starts_with(b"$2")
        && matches!(b[2], b'a' | b'b' | b'x' | b'y')
        && b[3] == b'$'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && b[6] == b'$'
}

/// Compare a configured secret with what the client sent: `Err` on a plain mismatch,
/// `Ok(None)` on a plain match (or a hash this link already passed), `Ok(Some(check))` when a
/// bcrypt comparison decides.
pub(super) fn compare(
    configured: &str,
    given: &str,
    verified_hash: Option<&str>,
) -> Result<Option<PasswordCheck>, ()> {
    if is_bcrypt(configured) {
        if verified_hash == Some(configured) {
            return Ok(None);
        }
        return Ok(Some(PasswordCheck { hash: configured.into(), candidate: given.into() }));
    }
    if ct_eq(configured.as_bytes(), given.as_bytes()) { Ok(None) } else { Err(()) }
}

/// Compare secrets in time independent of where they differ.
pub(super) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `bcrypt` of "s3cret" at cost 4 (fast for tests).
    fn hash() -> String {
        bcrypt::hash("s3cret", 4).unwrap()
    }

    #[test]
    fn bcrypt_prefixes_as_nats_server() {
        let h = hash();
        assert!(is_bcrypt(&h));
        for p in ["$2a$11$x", "$2b$04$x", "$2x$10$x", "$2y$12$x"] {
            assert!(is_bcrypt(p), "{p}");
        }
        for p in ["$2c$11$x", "$2a$1$x", "2a$11$x", "$2a11$", "plain"] {
            assert!(!is_bcrypt(p), "{p}");
        }
    }

    #[test]
    fn a_hash_is_compared_by_bcrypt_never_as_text() {
        let h = hash();
        let check = compare(&h, "s3cret", None).unwrap().unwrap();
        assert!(check.verify());
        // The hash itself is not the password.
        assert!(!compare(&h, &h, None).unwrap().unwrap().verify());
        assert!(!compare(&h, "wrong", None).unwrap().unwrap().verify());
        // Already passed on this link: no second comparison.
        assert_eq!(compare(&h, "s3cret", Some(&h)), Ok(None));
    }

    #[test]
    fn plain_secrets_compare_exactly() {
        assert_eq!(compare("a", "a", None), Ok(None));
        assert_eq!(compare("a", "b", None), Err(()));
        assert_eq!(compare("a", "", None), Err(()));
    }
}
