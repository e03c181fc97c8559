//! Subjects: validation and tokenisation (`shared/docs/client-protocol.md` §11).
//! (Placeholder until the subject/sublist work lands.)

/// Subject validity errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectError {
    /// Empty subject.
    Empty,
    /// Empty token.
    EmptyToken,
    /// `>` not last.
    FullWildcardNotLast,
    /// Whitespace inside.
    Whitespace,
}

/// Validate a subscription subject.
pub fn validate_subscribe(subject: &[u8]) -> Result<(), SubjectError> {
    if subject.is_empty() {
        return Err(SubjectError::Empty);
    }
    let n = subject.split(|b| *b == b'.').count();
    for (i, t) in subject.split(|b| *b == b'.').enumerate() {
        if t.is_empty() {
            return Err(SubjectError::EmptyToken);
        }
        if t == b">" && i + 1 != n {
            return Err(SubjectError::FullWildcardNotLast);
        }
    }
    Ok(())
}

/// Valid and without wildcard tokens.
pub fn is_valid_literal(subject: &[u8]) -> bool {
    validate_subscribe(subject).is_ok() && is_literal(subject)
}

/// No wildcard tokens.
pub fn is_literal(subject: &[u8]) -> bool {
    !subject.split(|b| *b == b'.').any(|t| t == b"*" || t == b">")
}

/// Does literal `subject` match `pattern`?
pub fn matches(pattern: &[u8], subject: &[u8]) -> bool {
    let mut p = pattern.split(|b| *b == b'.');
    let mut s = subject.split(|b| *b == b'.');
    loop {
        match (p.next(), s.next()) {
            (None, None) => return true,
            (Some(b">"), Some(_)) => return true,
            (Some(b"*"), Some(t)) if !t.is_empty() => {}
            (Some(a), Some(b)) if a == b && !a.is_empty() => {}
            _ => return false,
        }
    }
}
