//! The lexical layer: a cursor that tracks lines and columns, and the scalar tokens (strings,
//! numbers, datetimes, booleans, variable references) with nats-server's exact ending rules.
//!
//! The structure (keys, maps, arrays, separators) lives in `parse.rs`; the language is
//! context-sensitive, so the parser tells the lexer what it expects next.

use std::sync::Arc;

use crate::error::Error;
use crate::value::{Datetime, Pos};

/// A scalar value as lexed, before variables are resolved.
#[derive(Debug)]
pub(crate) enum Scalar {
    Str(String),
    Int(i64),
    Float(f64),
    Datetime(Datetime),
}

/// A position-tracking cursor over one source text.
pub(crate) struct Cursor<'a> {
    src: &'a str,
    b: &'a [u8],
    /// Byte offset of the next character; always on a character boundary.
    pos: usize,
    /// 1-based line of `pos`.
    line: u32,
    /// Byte offset where the current line starts.
    line_start: usize,
    /// Column cache for long lines: `(byte offset, 1-based column)` on the current line.
    col_cache: (usize, u32),
    file: Arc<str>,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(src: &'a str, file: Arc<str>) -> Self {
        Self { src, b: src.as_bytes(), pos: 0, line: 1, line_start: 0, col_cache: (0, 1), file }
    }

    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    pub(crate) fn slice(&self, from: usize) -> &'a str {
        &self.src[from..self.pos]
    }

    /// The next byte, if any.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    /// The byte after the next one.
    pub(crate) fn peek2(&self) -> Option<u8> {
        self.b.get(self.pos + 1).copied()
    }

    /// The next character (decoded), if any.
    pub(crate) fn peek_char(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    /// Advances over one character.
    pub(crate) fn bump(&mut self) {
        if let Some(c) = self.peek_char() {
            self.advance_to(self.pos + c.len_utf8());
        }
    }

    /// Advances to byte offset `to` (a character boundary at or after `pos`), counting lines.
    pub(crate) fn advance_to(&mut self, to: usize) {
        for (i, &c) in self.b[self.pos..to].iter().enumerate() {
            if c == b'\n' {
                self.line += 1;
                self.line_start = self.pos + i + 1;
            }
        }
        self.pos = to;
    }

    /// The position of the next character.
    pub(crate) fn here(&mut self) -> Pos {
        let (cached_at, cached_col) = self.col_cache;
        let (from, mut col) = if cached_at >= self.line_start && cached_at <= self.pos {
            (cached_at, cached_col)
        } else {
            (self.line_start, 1)
        };
        // Count characters, not bytes: skip UTF-8 continuation bytes.
        col += self.b[from..self.pos].iter().filter(|&&c| (c & 0xC0) != 0x80).count() as u32;
        self.col_cache = (self.pos, col);
        Pos { file: self.file.clone(), line: self.line, col }
    }

    pub(crate) fn error(&mut self, message: impl Into<String>) -> Error {
        let pos = self.here();
        Error::syntax(pos, message)
    }

    /// Skips blanks (space and tab) only.
    pub(crate) fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Skips any white space, new lines included (Unicode `White_Space`, as Go's
    /// `unicode.IsSpace`).
    pub(crate) fn skip_any_space(&mut self) {
        while let Some(c) = self.peek_char() {
            if !is_any_space(c) {
                break;
            }
            self.bump();
        }
    }

    /// Skips a comment whose marker (`#` or `//`) is next, up to (not over) the end of line.
    pub(crate) fn skip_comment(&mut self) {
        let end = self.b[self.pos..]
            .iter()
            .position(|&c| c == b'\n' || c == b'\r')
            .map_or(self.b.len(), |i| self.pos + i);
        self.advance_to(end);
    }

    /// Whether a comment starts here: `#` or `//`.
    pub(crate) fn at_comment(&self) -> bool {
        match self.peek() {
            Some(b'#') => true,
            Some(b'/') => self.peek2() == Some(b'/'),
            _ => false,
        }
    }

    /// Lexes a string in `quote`s without escapes (single-quoted values, quoted keys, quoted
    /// include paths); the opening quote is next. It may span lines.
    pub(crate) fn raw_quoted(&mut self, quote: u8) -> Result<String, Error> {
        let open = self.here();
        self.pos += 1;
        let start = self.pos;
        match self.b[start..].iter().position(|&c| c == quote) {
            Some(i) => {
                self.advance_to(start + i);
                let s = self.src[start..start + i].to_owned();
                self.pos += 1;
                Ok(s)
            }
            None => {
                self.advance_to(self.b.len());
                let q = quote as char;
                Err(Error::syntax(open, format!("unterminated quoted text: no closing {q}")))
            }
        }
    }

    /// Lexes a double-quoted string; the opening quote is next. Escapes `\t \n \r \" \\ \xHH`.
    pub(crate) fn double_quoted(&mut self) -> Result<String, Error> {
        let open = self.here();
        self.pos += 1;
        let mut buf: Vec<u8> = Vec::new();
        let mut seg = self.pos;
        loop {
            let rest = &self.b[self.pos..];
            let Some(i) = rest.iter().position(|&c| c == b'"' || c == b'\\') else {
                self.advance_to(self.b.len());
                return Err(Error::syntax(
                    open,
                    "unterminated double-quoted string: no closing \"",
                ));
            };
            self.advance_to(self.pos + i);
            buf.extend_from_slice(&self.b[seg..self.pos]);
            if self.b[self.pos] == b'"' {
                self.pos += 1;
                return into_string(buf, open);
            }
            self.escape(&mut buf)?;
            seg = self.pos;
        }
    }

    /// Lexes an escape; the backslash is next.
    fn escape(&mut self, buf: &mut Vec<u8>) -> Result<(), Error> {
        let at = self.here();
        self.pos += 1;
        let c = self.peek_char();
        let out = match c {
            Some('t') => b'\t',
            Some('n') => b'\n',
            Some('r') => b'\r',
            Some('"') => b'"',
            Some('\\') => b'\\',
            Some('x') => {
                self.pos += 1;
                let hex = |c: Option<u8>| match c {
                    Some(c @ b'0'..=b'9') => Some(c - b'0'),
                    Some(c @ b'a'..=b'f') => Some(c - b'a' + 10),
                    Some(c @ b'A'..=b'F') => Some(c - b'A' + 10),
                    _ => None,
                };
                let (h, l) = (self.peek(), self.peek2());
                if matches!(h, Some(b'\n' | b'\r') | None)
                    || matches!(l, Some(b'\n' | b'\r') | None)
                {
                    return Err(Error::syntax(
                        at,
                        "expected two hexadecimal digits after '\\x', found the end of the line",
                    ));
                }
                match (hex(h), hex(l)) {
                    (Some(h), Some(l)) => {
                        self.pos += 2;
                        buf.push(h << 4 | l);
                        return Ok(());
                    }
                    _ => {
                        let shown: String = self.src[self.pos..].chars().take(2).collect();
                        return Err(Error::syntax(
                            at,
                            format!("expected two hexadecimal digits after '\\x', found '{shown}'"),
                        ));
                    }
                }
            }
            other => {
                return Err(Error::syntax(
                    at,
                    format!(
                        "invalid escape '\\{}': only \\t, \\n, \\r, \\\", \\\\ and \\xHH are allowed \
                         (use single quotes for text with backslashes)",
                        other.map_or_else(
                            || "<end of file>".to_owned(),
                            |c| c.escape_debug().to_string()
                        )
                    ),
                ));
            }
        };
        self.pos += 1;
        buf.push(out);
        Ok(())
    }

    /// Lexes an unquoted string that started at `start` (the cursor may be past `start` when a
    /// number turned out to be a string). Returns the text and whether escapes were processed.
    ///
    /// Ends before a new line, end of file, `;`, `,`, `]`, `}`, space or tab; a `'` also ends it
    /// and is consumed (nats-server quirk, kept: `bar'` is `bar`).
    pub(crate) fn unquoted(&mut self, start: usize) -> Result<(String, bool), Error> {
        let open_pos = self.here();
        let mut buf: Option<Vec<u8>> = None;
        let mut seg = start;
        loop {
            match self.peek() {
                None | Some(b'\n' | b'\r' | b';' | b',' | b']' | b'}' | b' ' | b'\t') => break,
                Some(b'\'') => {
                    let text = self.finish_unquoted(buf, seg, &open_pos)?;
                    self.pos += 1;
                    return Ok(text);
                }
                Some(b'\\') => {
                    let b = buf.get_or_insert_with(Vec::new);
                    b.extend_from_slice(&self.b[seg..self.pos]);
                    self.escape(b)?;
                    seg = self.pos;
                }
                Some(_) => self.pos += 1,
            }
        }
        self.finish_unquoted(buf, seg, &open_pos)
    }

    fn finish_unquoted(
        &self,
        buf: Option<Vec<u8>>,
        seg: usize,
        open: &Pos,
    ) -> Result<(String, bool), Error> {
        match buf {
            None => Ok((self.src[seg..self.pos].to_owned(), false)),
            Some(mut b) => {
                b.extend_from_slice(&self.b[seg..self.pos]);
                Ok((into_string(b, open.clone())?, true))
            }
        }
    }

    /// Lexes a block string; the `(` is next. It ends at a `)` alone on its line.
    pub(crate) fn block(&mut self) -> Result<String, Error> {
        let open = self.here();
        self.pos += 1;
        let start = self.pos;
        let mut from = start;
        loop {
            let Some(i) = self.b[from..].iter().position(|&c| c == b')') else {
                self.advance_to(self.b.len());
                return Err(Error::syntax(
                    open,
                    "unterminated block string: it ends at a ')' alone on its own line",
                ));
            };
            let close = from + i;
            let after = self.b.get(close + 1..).unwrap_or(&[]);
            let alone_before = close > start && self.b[close - 1] == b'\n';
            // `)\r\n` closes too: nats-server cannot close a block in a CRLF file (fixed).
            let alone_after = after.is_empty() || after[0] == b'\n' || after.starts_with(b"\r\n");
            if alone_before && alone_after {
                let text = self.src[start..close].to_owned();
                self.advance_to(close + 1);
                return Ok(text);
            }
            from = close + 1;
        }
    }

    /// Lexes a value that starts with a digit or `-`: an integer (with size suffix), a float,
    /// a datetime, an IP-like string, or an unquoted string that merely starts with a digit.
    pub(crate) fn number(&mut self) -> Result<Scalar, Error> {
        let start = self.pos;
        let start_pos = self.here();
        let neg = self.peek() == Some(b'-');
        if neg {
            self.pos += 1;
            match self.peek() {
                Some(b'0'..=b'9') => {}
                Some(b'.') => {
                    return Err(self.error("a number must start with a digit, not '.' (write 0.5)"));
                }
                _ => {
                    let found = describe(self.peek_char());
                    return Err(self.error(format!("expected a digit after '-', found {found}")));
                }
            }
        }
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'-') if !neg => {
                if self.pos - start != 4 {
                    return Err(self.error(
                        "a datetime must be written in full as YYYY-MM-DDTHH:MM:SSZ (quote the value if it is text)",
                    ));
                }
                self.pos += 1;
                self.datetime(start, start_pos)
            }
            Some(b'.') => {
                self.pos += 1;
                if !matches!(self.peek(), Some(b'0'..=b'9')) {
                    let found = describe(self.peek_char());
                    return Err(self.error(format!(
                        "expected a digit after the '.' of a number, found {found}"
                    )));
                }
                while matches!(self.peek(), Some(b'0'..=b'9')) {
                    self.pos += 1;
                }
                if self.peek() == Some(b'.') {
                    // A second '.': an IP address or version, kept as a string.
                    while matches!(self.peek(), Some(b'0'..=b'9' | b'.' | b':' | b'-')) {
                        self.pos += 1;
                    }
                    return Ok(Scalar::Str(self.src[start..self.pos].to_owned()));
                }
                let text = &self.src[start..self.pos];
                match text.parse::<f64>() {
                    Ok(f) if f.is_finite() => Ok(Scalar::Float(f)),
                    _ => Err(Error::syntax(start_pos, format!("float '{text}' is out of range"))),
                }
            }
            Some(c) if is_suffix(c) => {
                self.pos += 1;
                while matches!(self.peek(), Some(b'b' | b'B' | b'i' | b'I')) {
                    self.pos += 1;
                }
                match self.peek() {
                    c if is_number_end(c) || matches!(c, Some(b'0'..=b'9')) => {
                        integer(&self.src[start..self.pos], start_pos)
                    }
                    _ => self.number_as_string(start),
                }
            }
            _ if neg => integer(&self.src[start..self.pos], start_pos),
            c if is_number_end(c) => integer(&self.src[start..self.pos], start_pos),
            _ => {
                // nats-server takes the character that ends the digits into the string as is,
                // without looking at it (so `1\t` is the three characters `1`, `\`, `t`).
                self.bump();
                self.number_as_string(start)
            }
        }
    }

    fn number_as_string(&mut self, start: usize) -> Result<Scalar, Error> {
        let (s, _) = self.unquoted(start)?;
        Ok(Scalar::Str(s))
    }

    /// Lexes the rest of `YYYY-MM-DDTHH:MM:SSZ`; `YYYY-` has been consumed.
    fn datetime(&mut self, start: usize, start_pos: Pos) -> Result<Scalar, Error> {
        const FORMAT: &[u8] = b"00-00T00:00:00Z";
        for &f in FORMAT {
            let c = self.peek();
            let ok = match f {
                b'0' => matches!(c, Some(b'0'..=b'9')),
                f => c == Some(f),
            };
            if !ok {
                let want =
                    if f == b'0' { "a digit".to_owned() } else { format!("'{}'", f as char) };
                let found = describe(self.peek_char());
                return Err(self.error(format!(
                    "expected {want} in a YYYY-MM-DDTHH:MM:SSZ datetime, found {found} (quote the value if it is text)"
                )));
            }
            self.pos += 1;
        }
        let t = &self.b[start..self.pos];
        let num = |r: std::ops::Range<usize>| {
            t[r].iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'))
        };
        let (year, month, day) = (num(0..4), num(5..7), num(8..10));
        let (hour, minute, second) = (num(11..13), num(14..16), num(17..19));
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => 0,
        };
        if day == 0 || day > days || hour > 23 || minute > 59 || second > 59 {
            let text = &self.src[start..self.pos];
            return Err(Error::syntax(
                start_pos,
                format!("datetime '{text}' is not a valid date and time"),
            ));
        }
        // Each field is at most 9999 and checked above; the narrowing casts cannot truncate.
        Ok(Scalar::Datetime(Datetime {
            year,
            month: month as u8,
            day: day as u8,
            hour: hour as u8,
            minute: minute as u8,
            second: second as u8,
        }))
    }
}

/// Bytes that end an integer: new line, end of file, `}`, `;`, `,`, blank, and `]`.
///
/// nats-server omits `]`, which breaks `[1,2]`; Strait accepts it (see `docs/compat.md`).
fn is_number_end(c: Option<u8>) -> bool {
    matches!(c, None | Some(b'\n' | b'\r' | b'}' | b';' | b',' | b' ' | b'\t' | b']'))
}

fn is_suffix(c: u8) -> bool {
    matches!(c.to_ascii_lowercase(), b'k' | b'm' | b'g' | b't' | b'p' | b'e')
}

/// Converts an integer token (`-12`, `64MB`, `1kib`) to its value.
fn integer(text: &str, pos: Pos) -> Result<Scalar, Error> {
    let digits_end =
        text.bytes().position(|c| !(c.is_ascii_digit() || c == b'-')).unwrap_or(text.len());
    let (num, suffix) = text.split_at(digits_end);
    let Ok(n) = num.parse::<i64>() else {
        return Err(Error::syntax(pos, format!("integer '{text}' is out of range")));
    };
    let mult: i64 = match suffix.to_ascii_lowercase().as_str() {
        "" => 1,
        "k" => 1_000,
        "kb" | "ki" | "kib" => 1 << 10,
        "m" => 1_000_000,
        "mb" | "mi" | "mib" => 1 << 20,
        "g" => 1_000_000_000,
        "gb" | "gi" | "gib" => 1 << 30,
        "t" => 1_000_000_000_000,
        "tb" | "ti" | "tib" => 1 << 40,
        "p" => 1_000_000_000_000_000,
        "pb" | "pi" | "pib" => 1 << 50,
        "e" => 1_000_000_000_000_000_000,
        "eb" | "ei" | "eib" => 1 << 60,
        _ => {
            return Err(Error::syntax(
                pos,
                format!(
                    "unknown size suffix '{suffix}' in '{text}': use k, m, g, t, p, e (powers of 1000) \
                     or kb/ki/kib, mb/mi/mib, … (powers of 1024)"
                ),
            ));
        }
    };
    match n.checked_mul(mult) {
        Some(v) => Ok(Scalar::Int(v)),
        None => Err(Error::syntax(pos, format!("integer '{text}' is out of range"))),
    }
}

fn into_string(bytes: Vec<u8>, pos: Pos) -> Result<String, Error> {
    String::from_utf8(bytes)
        .map_err(|_| Error::syntax(pos, "the \\x escapes in this string do not form valid UTF-8"))
}

/// Go's `unicode.IsSpace`: Unicode `White_Space`.
pub(crate) fn is_any_space(c: char) -> bool {
    c.is_whitespace()
}

/// Describes a character for a message: `'x'`, `a new line`, `the end of the file`.
pub(crate) fn describe(c: Option<char>) -> String {
    match c {
        None => "the end of the file".to_owned(),
        Some('\n') | Some('\r') => "a new line".to_owned(),
        Some(c) => format!("'{}'", c.escape_debug()),
    }
}
