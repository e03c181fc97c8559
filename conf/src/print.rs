//! Printing a value tree back as configuration text that both Strait and nats-server read.

use std::fmt::Write as _;

use crate::parse::MAX_DEPTH;
use crate::value::{Kind, Map, Value};

/// Why a tree cannot be printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrintError {
    /// A key holds both `'` and `"`: no quoting can express it (the language has no escapes in
    /// keys).
    UnquotableKey(String),
    /// A float that is infinite or NaN: the language has no spelling for it.
    NonFiniteFloat,
    /// Nested deeper than [`MAX_DEPTH`], so it could not be parsed back.
    TooDeep,
}

/// Prints `map` as a document: one `"key": value` entry per line.
pub fn print_document(map: &Map) -> Result<String, PrintError> {
    let mut out = String::new();
    for e in map.entries() {
        key(&mut out, &e.key)?;
        out.push_str(": ");
        value(&mut out, &e.value, 1, 1)?;
        out.push('\n');
    }
    Ok(out)
}

fn key(out: &mut String, k: &str) -> Result<(), PrintError> {
    let q = if !k.contains('"') {
        '"'
    } else if !k.contains('\'') {
        '\''
    } else {
        return Err(PrintError::UnquotableKey(k.to_owned()));
    };
    out.push(q);
    out.push_str(k);
    out.push(q);
    Ok(())
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// Prints one value. Recursion is bounded by `depth <= MAX_DEPTH`.
fn value(out: &mut String, v: &Value, level: usize, depth: usize) -> Result<(), PrintError> {
    if depth > MAX_DEPTH && matches!(v.kind, Kind::Array(_) | Kind::Map(_)) {
        return Err(PrintError::TooDeep);
    }
    match &v.kind {
        Kind::String(s) => string(out, s),
        Kind::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Kind::Float(f) => {
            if !f.is_finite() {
                return Err(PrintError::NonFiniteFloat);
            }
            // `Display` for f64 never uses an exponent and round-trips; it omits ".0".
            let s = f.to_string();
            out.push_str(&s);
            if !s.contains('.') {
                out.push_str(".0");
            }
        }
        Kind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Kind::Datetime(d) => {
            let _ = write!(out, "{d}");
        }
        Kind::Array(items) => {
            out.push('[');
            for item in items {
                out.push('\n');
                indent(out, level);
                value(out, item, level + 1, depth + 1)?;
                out.push(',');
            }
            if !items.is_empty() {
                out.push('\n');
                indent(out, level - 1);
            }
            // A blank before ']' keeps nats-server (which cannot end an integer at ']') happy.
            out.push_str(" ]");
        }
        Kind::Map(map) => {
            out.push('{');
            for e in map.entries() {
                out.push('\n');
                indent(out, level);
                key(out, &e.key)?;
                out.push_str(": ");
                value(out, &e.value, level + 1, depth + 1)?;
            }
            if !map.is_empty() {
                out.push('\n');
                indent(out, level - 1);
            }
            out.push('}');
        }
    }
    Ok(())
}

/// A double-quoted string; control characters as `\xHH`.
fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
