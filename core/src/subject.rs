//! Subjects: validation, tokenisation and pattern matching (`shared/docs/client-protocol.md` §11).
//!
//! A subject is a `.`-separated list of non-empty tokens, compared byte-wise. A token that is
//! exactly `*` (partial wildcard) matches any one token; a token that is exactly `>` (full
//! wildcard) must be last and matches one or more remaining tokens. Wildcards are whole tokens
//! only: `foo*` and `a>b` are ordinary literal tokens.
//!
//! Published subjects are normally literal, but a non-pedantic client may publish to a subject
//! containing `*` or `>` tokens. nats-server's sublist stores wildcard tokens apart from literal
//! ones, so such a token is reached only by a subscription whose token at that position is itself
//! `*` or `>` (or by an earlier `>`): publishing to `foo.*` reaches `foo.*`, `foo.>`, `*.*` and
//! `>`, but not `foo.bar`. [`matches`] implements exactly that, so it agrees with
//! [`crate::sublist::Sublist`] for every input.

/// Why a subject is not a valid subscription subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectError {
    /// The subject is the empty string.
    Empty,
    /// A token is empty: a leading or trailing `.`, or `..`.
    EmptyToken,
    /// A `>` token is followed by more tokens (`foo.>.bar`).
    FullWildcardNotLast,
    /// A token contains a space, tab, CR, LF or form feed (only possible from configs: the
    /// protocol parser splits arguments on whitespace).
    Whitespace,
}

impl std::fmt::Display for SubjectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty subject",
            Self::EmptyToken => "empty token in subject",
            Self::FullWildcardNotLast => "full wildcard '>' is not the last token",
            Self::Whitespace => "whitespace in subject",
        })
    }
}

impl std::error::Error for SubjectError {}

/// The token separator.
pub const SEPARATOR: u8 = b'.';
/// The partial wildcard token: matches exactly one token.
pub const PARTIAL_WILDCARD: &[u8] = b"*";
/// The full wildcard token: matches one or more remaining tokens; must be last.
pub const FULL_WILDCARD: &[u8] = b">";

/// Checks that `subject` is valid for a subscription: non-empty, no empty tokens, `>` only as the
/// last token, no whitespace.
///
/// The first problem found scanning left to right is reported.
pub fn validate_subscribe(subject: &[u8]) -> Result<(), SubjectError> {
    if subject.is_empty() {
        return Err(SubjectError::Empty);
    }
    let mut seen_full_wildcard = false;
    for token in tokens(subject) {
        if token.is_empty() {
            return Err(SubjectError::EmptyToken);
        }
        if seen_full_wildcard {
            return Err(SubjectError::FullWildcardNotLast);
        }
        // The same set nats-server's `IsValidSubject` rejects (it includes form feed).
        if token.iter().any(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0c)) {
            return Err(SubjectError::Whitespace);
        }
        seen_full_wildcard = token == FULL_WILDCARD;
    }
    Ok(())
}

/// True if `subject` is valid (see [`validate_subscribe`]) and has no wildcard token: what a
/// pedantic client may publish to.
pub fn is_valid_literal(subject: &[u8]) -> bool {
    validate_subscribe(subject).is_ok() && is_literal(subject)
}

/// True if no token of `subject` is exactly `*` or `>`. Does not check validity otherwise.
pub fn is_literal(subject: &[u8]) -> bool {
    // Scan for the wildcard bytes first: almost every subject has none, and memchr is far cheaper
    // than splitting into tokens.
    let mut rest = subject;
    let mut offset = 0;
    while let Some(i) = memchr::memchr2(b'*', b'>', rest) {
        let at = offset + i;
        let starts_token = at == 0 || subject[at - 1] == SEPARATOR;
        let ends_token = at + 1 == subject.len() || subject[at + 1] == SEPARATOR;
        if starts_token && ends_token {
            return false;
        }
        offset = at + 1;
        rest = &subject[offset..];
    }
    true
}

/// The tokens of `subject`, split on `.`. Empty tokens are yielded as empty slices (the empty
/// subject yields one empty token), so callers can detect them.
pub fn tokens(subject: &[u8]) -> impl Iterator<Item = &[u8]> {
    subject.split(|b| *b == SEPARATOR)
}

/// True if `subject` has no empty token (and is not empty): the precondition for a published
/// subject to match anything.
pub(crate) fn has_no_empty_token(subject: &[u8]) -> bool {
    !subject.is_empty()
        && subject[0] != SEPARATOR
        && subject[subject.len() - 1] != SEPARATOR
        && memchr::memmem::find(subject, b"..").is_none()
}

/// Does the published subject `subject` match the subscription pattern `pattern`?
///
/// `pattern` must be a valid subscription subject and `subject` must have no empty token;
/// otherwise the answer is `false`. A `*` or `>` token in `subject` is matched only by a
/// wildcard token of `pattern` (see the module docs). This is the reference the sublist is
/// tested against, and what its match cache uses to find the entries a pattern affects.
pub fn matches(pattern: &[u8], subject: &[u8]) -> bool {
    validate_subscribe(pattern).is_ok()
        && has_no_empty_token(subject)
        && matches_checked(pattern, subject)
}

/// [`matches`] without the validity checks: `pattern` must be a valid subscription subject and
/// `subject` must have no empty token (the sublist's cache keys and patterns are known to be).
pub(crate) fn matches_checked(pattern: &[u8], subject: &[u8]) -> bool {
    let mut subject_tokens = tokens(subject);
    for p in tokens(pattern) {
        if p == FULL_WILDCARD {
            // `>` needs at least one token left; it is last, so this ends the comparison.
            return subject_tokens.next().is_some();
        }
        let Some(s) = subject_tokens.next() else {
            return false;
        };
        let is_wildcard_token = s == PARTIAL_WILDCARD || s == FULL_WILDCARD;
        if p != PARTIAL_WILDCARD && (is_wildcard_token || p != s) {
            return false;
        }
    }
    subject_tokens.next().is_none()
}

/// Could some literal subject match both patterns `a` and `b`?
///
/// Both must be valid subscription subjects; otherwise the answer is `false`. `foo.*` and
/// `foo.>` intersect (`foo.x`), `foo.>` and `foo` do not (`>` needs at least one token), and
/// `foo.*` and `*.bar` do (`foo.bar`).
pub fn intersects(a: &[u8], b: &[u8]) -> bool {
    if validate_subscribe(a).is_err() || validate_subscribe(b).is_err() {
        return false;
    }
    let mut a_tokens = tokens(a);
    let mut b_tokens = tokens(b);
    loop {
        match (a_tokens.next(), b_tokens.next()) {
            (None, None) => return true,
            // One pattern is longer and the shorter one ended without `>`.
            (None, Some(_)) | (Some(_), None) => return false,
            (Some(x), Some(y)) => {
                // Both have a token here, so a `>` on either side can absorb the rest of the
                // other (which has at least this one token).
                if x == FULL_WILDCARD || y == FULL_WILDCARD {
                    return true;
                }
                if x != PARTIAL_WILDCARD && y != PARTIAL_WILDCARD && x != y {
                    return false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_table() {
        use SubjectError::*;
        let table: &[(&str, Result<(), SubjectError>)] = &[
            ("foo", Ok(())),
            ("foo.bar", Ok(())),
            ("foo.*", Ok(())),
            ("*", Ok(())),
            (">", Ok(())),
            ("foo.>", Ok(())),
            ("*.*.>", Ok(())),
            ("foo*", Ok(())),
            ("a>b", Ok(())),
            ("foo.>bar", Ok(())),
            ("foo.b*r.>", Ok(())),
            ("", Err(Empty)),
            (".", Err(EmptyToken)),
            (".foo", Err(EmptyToken)),
            ("foo.", Err(EmptyToken)),
            ("foo..bar", Err(EmptyToken)),
            ("foo.>.bar", Err(FullWildcardNotLast)),
            (">.foo", Err(FullWildcardNotLast)),
            (">.>", Err(FullWildcardNotLast)),
            ("foo bar", Err(Whitespace)),
            ("foo.\tbar", Err(Whitespace)),
            ("foo\r", Err(Whitespace)),
            ("foo.\n", Err(Whitespace)),
            ("foo.\x0c", Err(Whitespace)),
            (" ", Err(Whitespace)),
        ];
        for (subject, want) in table {
            assert_eq!(validate_subscribe(subject.as_bytes()), *want, "{subject:?}");
        }
    }

    #[test]
    fn literal_checks() {
        for s in ["foo", "foo.bar", "foo*", "a>b", "*a.b>", "foo.**", ">>"] {
            assert!(is_literal(s.as_bytes()), "{s}");
            assert!(is_valid_literal(s.as_bytes()), "{s}");
        }
        for s in ["*", ">", "foo.*", "foo.>", "*.foo", "a.*.b"] {
            assert!(!is_literal(s.as_bytes()), "{s}");
            assert!(!is_valid_literal(s.as_bytes()), "{s}");
        }
        // Literal but invalid.
        for s in ["", "foo..bar", "foo.", "foo bar"] {
            assert!(is_literal(s.as_bytes()), "{s}");
            assert!(!is_valid_literal(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn tokens_split_on_dots() {
        let t: Vec<&[u8]> = tokens(b"a.bc..d").collect();
        assert_eq!(t, [&b"a"[..], b"bc", b"", b"d"]);
        assert_eq!(tokens(b"").count(), 1);
    }

    #[test]
    fn matching_table() {
        // (pattern, subject, matches)
        let table: &[(&str, &str, bool)] = &[
            ("foo", "foo", true),
            ("foo", "bar", false),
            ("foo", "foo.bar", false),
            ("foo.bar", "foo", false),
            ("foo.*", "foo.bar", true),
            ("foo.*", "foo.bar.baz", false),
            ("foo.*", "foo", false),
            ("*.bar", "foo.bar", true),
            ("*", "foo", true),
            ("*", "foo.bar", false),
            ("foo.>", "foo.bar", true),
            ("foo.>", "foo.bar.baz", true),
            ("foo.>", "foo", false),
            (">", "foo", true),
            (">", "foo.bar.baz", true),
            ("*.>", "foo", false),
            ("*.>", "foo.bar", true),
            ("foo.*.baz", "foo.bar.baz", true),
            ("foo.*.baz", "foo.bar.qux", false),
            ("foo*", "foo*", true),
            ("foo*", "foox", false),
            ("foo.*", "foo.b*r", true),
            // Case-sensitive.
            ("Foo", "foo", false),
            // Empty tokens in the published subject match nothing.
            (">", "foo..bar", false),
            ("*", "", false),
            (">", ".foo", false),
            ("foo.>", "foo.", false),
            // Wildcard tokens in the published subject reach only wildcard patterns.
            ("foo.*", "foo.*", true),
            ("foo.>", "foo.*", true),
            ("*.*", "foo.*", true),
            (">", "foo.*", true),
            ("foo.bar", "foo.*", false),
            ("foo.*", "foo.>", true),
            ("foo.>", "foo.>", true),
            ("foo.*.baz", "foo.>.baz", true),
            ("foo.bar.baz", "foo.>.baz", false),
            // Invalid patterns match nothing.
            ("foo.>.bar", "foo.x.bar", false),
            ("foo..bar", "foo..bar", false),
            ("", "", false),
        ];
        for (pattern, subject, want) in table {
            assert_eq!(
                matches(pattern.as_bytes(), subject.as_bytes()),
                *want,
                "{pattern:?} vs {subject:?}"
            );
        }
    }

    #[test]
    fn intersection_table() {
        let table: &[(&str, &str, bool)] = &[
            ("foo", "foo", true),
            ("foo", "bar", false),
            ("foo.*", "foo.bar", true),
            ("foo.*", "*.bar", true),
            ("foo.*", "bar.*", false),
            ("foo.*", "foo.*.*", false),
            ("foo.>", "foo", false),
            ("foo.>", "foo.*", true),
            ("foo.>", "foo.bar.baz", true),
            ("foo.>", "*.*.*", true),
            ("foo.>", "bar.>", false),
            (">", "foo", true),
            (">", "*", true),
            ("*.>", "foo", false),
            ("foo.*.baz", "*.bar.*", true),
            ("foo.*.baz", "*.bar.qux", false),
            ("a.b.>", "a.>", true),
            // Invalid input intersects nothing.
            ("foo..bar", "foo..bar", false),
            ("foo.>.bar", ">", false),
        ];
        for (a, b, want) in table {
            assert_eq!(intersects(a.as_bytes(), b.as_bytes()), *want, "{a:?} vs {b:?}");
            assert_eq!(intersects(b.as_bytes(), a.as_bytes()), *want, "{b:?} vs {a:?}");
        }
    }

    #[test]
    fn no_empty_token_check() {
        for s in ["a", "a.b", "*", "a.>"] {
            assert!(has_no_empty_token(s.as_bytes()), "{s}");
        }
        for s in ["", ".", ".a", "a.", "a..b"] {
            assert!(!has_no_empty_token(s.as_bytes()), "{s}");
        }
    }
}
