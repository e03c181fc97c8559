//! Values as Go's `flag` package reads and quotes them (`strconv.ParseBool`,
//! `strconv.ParseInt(s, 0, 64)`, `strconv.Quote`), so `-p 0x1f90` or `-D=T` mean in Strait
//! what they mean to nats-server, and error messages quote the same way.

/// Go's `flag` error text for a value that does not parse.
pub(super) const PARSE_ERROR: &str = "parse error";
/// Go's `flag` error text for an integer outside 64 bits.
pub(super) const RANGE_ERROR: &str = "value out of range";

/// `strconv.ParseBool`: exactly these twelve spellings.
pub(super) fn parse_bool(s: &str) -> Result<bool, &'static str> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(PARSE_ERROR),
    }
}

/// `strconv.ParseInt(s, 0, 64)`: an optional sign, then a Go integer literal — decimal, `0x`
/// hex, `0o` or leading-`0` octal, `0b` binary — with `_` between digits.
pub(super) fn parse_int(s: &str) -> Result<i64, &'static str> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let magnitude = parse_unsigned(body)?;
    let limit = 1u64 << 63;
    match (negative, magnitude) {
        (false, m) if m >= limit => Err(RANGE_ERROR),
        (true, m) if m > limit => Err(RANGE_ERROR),
        // Two's complement: -(1 << 63) is representable.
        (true, m) => Ok((m as i64).wrapping_neg()),
        (false, m) => Ok(m as i64),
    }
}

/// `strconv.ParseUint(s, 0, 64)`; the first bad digit or overflow decides the error.
fn parse_unsigned(s: &str) -> Result<u64, &'static str> {
    if s.is_empty() {
        return Err(PARSE_ERROR);
    }
    let b = s.as_bytes();
    let (radix, digits) = match (b[0], b.get(1).map(u8::to_ascii_lowercase)) {
        (b'0', Some(b'b')) if b.len() >= 3 => (2, &s[2..]),
        (b'0', Some(b'o')) if b.len() >= 3 => (8, &s[2..]),
        (b'0', Some(b'x')) if b.len() >= 3 => (16, &s[2..]),
        (b'0', _) => (8, &s[1..]),
        _ => (10, s),
    };
    let mut value: u64 = 0;
    let mut underscores = false;
    for c in digits.chars() {
        if c == '_' {
            underscores = true;
            continue;
        }
        let digit = c.to_digit(36).filter(|d| *d < radix).ok_or(PARSE_ERROR)?;
        value = value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(digit)))
            .ok_or(RANGE_ERROR)?;
    }
    if underscores && !underscores_separate_digits(s) {
        return Err(PARSE_ERROR);
    }
    Ok(value)
}

/// Go's rule for `_` in literals: only between digits, or right after a base prefix.
fn underscores_separate_digits(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    // What came last: start, a digit (or base prefix), an underscore, something else.
    #[derive(PartialEq)]
    enum Saw {
        Start,
        Digit,
        Underscore,
        Other,
    }
    let mut saw = Saw::Start;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = Saw::Digit;
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    for &c in &b[i..] {
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = Saw::Digit;
        } else if c == b'_' {
            if saw != Saw::Digit {
                return false;
            }
            saw = Saw::Underscore;
        } else if saw == Saw::Underscore {
            return false;
        } else {
            saw = Saw::Other;
        }
    }
    saw != Saw::Underscore
}

/// `strconv.Quote` (`%q`) for the texts flag errors echo back.
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_as_go_reads_them() {
        for (text, want) in [
            ("4222", 4222),
            ("-1", -1),
            ("+7", 7),
            ("0", 0),
            ("010", 8),
            ("0x1F90", 8080),
            ("0o17", 15),
            ("0b101", 5),
            ("1_000", 1000),
            ("0x_ff", 255),
            ("-9223372036854775808", i64::MIN),
            ("9223372036854775807", i64::MAX),
        ] {
            assert_eq!(parse_int(text), Ok(want), "{text}");
        }
        for text in ["", "+", "-", "abc", "0x", "08", "1__0", "_1", "1_", "0b2", "--1", "1e3", " 1"]
        {
            assert_eq!(parse_int(text), Err(PARSE_ERROR), "{text}");
        }
        for text in ["9223372036854775808", "-9223372036854775809", "99999999999999999999"] {
            assert_eq!(parse_int(text), Err(RANGE_ERROR), "{text}");
        }
    }

    #[test]
    fn booleans_as_go_reads_them() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool(t), Ok(true));
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_bool(f), Ok(false));
        }
        for bad in ["", "yes", "on", "tRUE", "2"] {
            assert_eq!(parse_bool(bad), Err(PARSE_ERROR));
        }
    }

    #[test]
    fn quoting_as_go_quotes() {
        assert_eq!(quote("abc"), "\"abc\"");
        assert_eq!(quote("a\"b\\c\n\x01é"), "\"a\\\"b\\\\c\\n\\x01é\"");
    }
}
