//! Helpers that turn tree values into typed fields, recording positioned errors.

use std::time::Duration;

use crate::error::{Error, ErrorKind};
use crate::options::duration::parse_go_duration;
use crate::options::support::Ignored;
use crate::options::{Loc, Url};
use crate::value::{Entry, Kind, Map, Pos, Value};

/// Collects errors and warnings while decoding.
#[derive(Default)]
pub(crate) struct Sink {
    pub(crate) errors: Vec<Error>,
    pub(crate) warnings: Vec<Error>,
    pub(crate) ignored: Vec<Ignored>,
}

impl Sink {
    pub(crate) fn error(&mut self, pos: &Pos, option: &str, message: impl Into<String>) {
        self.errors.push(Error::new(ErrorKind::InvalidValue, pos, option, message));
    }

    pub(crate) fn conflict(&mut self, pos: &Pos, option: &str, message: impl Into<String>) {
        self.errors.push(Error::new(ErrorKind::Conflict, pos, option, message));
    }

    pub(crate) fn warn(&mut self, pos: &Pos, option: &str, message: impl Into<String>) {
        self.warnings.push(Error::new(ErrorKind::Warning, pos, option, message));
    }

    /// An option Strait does not implement and must not ignore: `what` names the feature
    /// ("leaf node connections"); the message is `WHAT is not supported by strait`.
    pub(crate) fn refuse(&mut self, pos: &Pos, option: &str, what: &str) {
        self.errors.push(Error::new(
            ErrorKind::Unsupported,
            pos,
            option,
            format!("{what} is not supported by strait"),
        ));
    }

    /// An option Strait does not implement but may ignore: it changes nothing about who
    /// connects, who may publish or subscribe, or what is delivered.
    pub(crate) fn ignore(&mut self, pos: &Pos, option: &str, why: &str) {
        self.ignored.push(Ignored {
            option: option.to_owned(),
            pos: Some(pos.clone()),
            why: why.to_owned(),
        });
    }

    /// Expected `what`, found `v`.
    pub(crate) fn expected(&mut self, v: &Value, option: &str, what: &str) {
        let found = found(v);
        self.error(&v.pos, option, format!("expected {what}, found {found}"));
    }

    /// Reports an unknown option, with the nearest known name, unless it was used as a
    /// variable (as nats-server does).
    pub(crate) fn unknown(&mut self, e: &Entry, option: &str, known: &[&str]) {
        if e.used_as_variable {
            return;
        }
        let mut message = "unknown option".to_owned();
        if let Some(near) = nearest(&e.key.to_lowercase(), known) {
            message.push_str(&format!(" (did you mean \"{near}\"?)"));
        }
        self.errors.push(Error::new(ErrorKind::UnknownOption, &e.key_pos, option, message));
    }
}

/// `parent.key` (or `key` at top level).
pub(crate) fn path(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_owned() } else { format!("{parent}.{key}") }
}

/// Describes a value for "found …".
pub(crate) fn found(v: &Value) -> String {
    match &v.kind {
        Kind::String(s) if s.chars().count() > 40 => {
            let short: String = s.chars().take(40).collect();
            format!("string {short:?}…")
        }
        Kind::String(s) => format!("string {s:?}"),
        Kind::Integer(i) => format!("integer {i}"),
        Kind::Float(f) => format!("float {f}"),
        Kind::Bool(b) => format!("boolean {b}"),
        Kind::Datetime(d) => format!("datetime {d}"),
        Kind::Array(a) => format!("an array of {} elements", a.len()),
        Kind::Map(_) => "a map".to_owned(),
    }
}

pub(crate) fn loc(v: &Value) -> Loc {
    Loc(Some(v.pos.clone()))
}

pub(crate) fn string(s: &mut Sink, v: &Value, option: &str) -> Option<String> {
    match &v.kind {
        Kind::String(x) => Some(x.clone()),
        _ => {
            s.expected(v, option, "a string");
            None
        }
    }
}

pub(crate) fn boolean(s: &mut Sink, v: &Value, option: &str) -> Option<bool> {
    match &v.kind {
        Kind::Bool(b) => Some(*b),
        _ => {
            s.expected(v, option, "a boolean (true/false, yes/no, on/off)");
            None
        }
    }
}

pub(crate) fn integer(s: &mut Sink, v: &Value, option: &str) -> Option<i64> {
    match &v.kind {
        Kind::Integer(i) => Some(*i),
        _ => {
            s.expected(v, option, "an integer");
            None
        }
    }
}

/// A non-negative integer (sizes accept suffixes: `1MB`).
pub(crate) fn unsigned(s: &mut Sink, v: &Value, option: &str) -> Option<u64> {
    let i = integer(s, v, option)?;
    match u64::try_from(i) {
        Ok(u) => Some(u),
        Err(_) => {
            s.error(&v.pos, option, format!("expected a number of at least 0, found {i}"));
            None
        }
    }
}

/// A port: -1 (random), 0 (default) or 1–65535.
pub(crate) fn port(s: &mut Sink, v: &Value, option: &str) -> Option<i32> {
    let i = integer(s, v, option)?;
    check_port(s, &v.pos, option, i)
}

pub(crate) fn check_port(s: &mut Sink, pos: &Pos, option: &str, i: i64) -> Option<i32> {
    if (-1..=65535).contains(&i) {
        // In range just checked.
        Some(i as i32)
    } else {
        s.error(
            pos,
            option,
            format!("expected a port from 0 to 65535 (or -1 for a random port), found {i}"),
        );
        None
    }
}

pub(crate) fn map<'a>(s: &mut Sink, v: &'a Value, option: &str) -> Option<&'a Map> {
    match &v.kind {
        Kind::Map(m) => Some(m),
        _ => {
            s.expected(v, option, "a map { … }");
            None
        }
    }
}

pub(crate) fn array<'a>(s: &mut Sink, v: &'a Value, option: &str) -> Option<&'a [Value]> {
    match &v.kind {
        Kind::Array(a) => Some(a),
        _ => {
            s.expected(v, option, "an array [ … ]");
            None
        }
    }
}

/// A string or an array of strings.
pub(crate) fn strings(s: &mut Sink, v: &Value, option: &str) -> Option<Vec<String>> {
    match &v.kind {
        Kind::String(x) => Some(vec![x.clone()]),
        Kind::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(string(s, item, &format!("{option}[{i}]"))?);
            }
            Some(out)
        }
        _ => {
            s.expected(v, option, "a string or an array of strings");
            None
        }
    }
}

/// A Go duration string (`"500ms"`, `"1h30m"`); for `ping_interval` and `write_deadline`
/// nats-server also takes an integer number of seconds, with a warning.
pub(crate) fn duration(
    s: &mut Sink,
    v: &Value,
    option: &str,
    int_seconds: bool,
) -> Option<Duration> {
    match &v.kind {
        Kind::String(text) => match parse_go_duration(text) {
            Ok(d) => Some(d),
            Err(e) => {
                s.error(
                    &v.pos,
                    option,
                    format!("expected a duration such as \"10s\" or \"2m\", found {text:?} ({e})"),
                );
                None
            }
        },
        Kind::Integer(i) if int_seconds => {
            let name = option.rsplit('.').next().unwrap_or(option);
            let mut msg = format!(
                "{name} should be converted to a duration: write \"{i}s\" (a bare number means seconds)"
            );
            if *i >= 1000 {
                msg.push_str(
                    "; note that an unquoted 2m is the number 2000000, write \"2m\" for minutes",
                );
            }
            s.warn(&v.pos, option, msg);
            match u64::try_from(*i) {
                Ok(u) => Some(Duration::from_secs(u)),
                Err(_) => {
                    s.error(
                        &v.pos,
                        option,
                        format!("expected a duration of at least 0, found {i}"),
                    );
                    None
                }
            }
        }
        _ => {
            s.expected(v, option, "a duration string such as \"10s\" or \"2m\"");
            None
        }
    }
}

/// A number of seconds (integer or float) or a duration string: authorization and TLS
/// `timeout`.
pub(crate) fn seconds(s: &mut Sink, v: &Value, option: &str) -> Option<Duration> {
    let secs = match &v.kind {
        // i64 to f64 loses precision only above 2^53 seconds, far beyond any timeout.
        Kind::Integer(i) => *i as f64,
        Kind::Float(f) => *f,
        Kind::String(_) => return duration(s, v, option, false),
        _ => {
            s.expected(v, option, "a number of seconds or a duration string such as \"2s\"");
            return None;
        }
    };
    match Duration::try_from_secs_f64(secs) {
        Ok(d) => Some(d),
        Err(_) => {
            s.error(
                &v.pos,
                option,
                format!("expected a number of seconds of at least 0, found {secs}"),
            );
            None
        }
    }
}

/// `listen`-style address: a port number, or `"host:port"` (`"[::1]:4222"` for IPv6).
/// Returns the host (if any) and the port.
pub(crate) fn listen(s: &mut Sink, v: &Value, option: &str) -> Option<(Option<String>, i32)> {
    match &v.kind {
        Kind::Integer(i) => Some((None, check_port(s, &v.pos, option, *i)?)),
        Kind::String(text) => {
            let Some((host, port)) = split_host_port(text) else {
                s.error(
                    &v.pos,
                    option,
                    format!("expected \"host:port\" or a port number, found {text:?}"),
                );
                return None;
            };
            let Ok(p) = port.parse::<i64>() else {
                s.error(
                    &v.pos,
                    option,
                    format!("expected a port number after the ':', found {port:?}"),
                );
                return None;
            };
            let p = check_port(s, &v.pos, option, p)?;
            Some(((!host.is_empty()).then(|| host.to_owned()), p))
        }
        _ => {
            s.expected(v, option, "\"host:port\" or a port number");
            None
        }
    }
}

/// Go's `net.SplitHostPort`.
pub(crate) fn split_host_port(text: &str) -> Option<(&str, &str)> {
    if let Some(rest) = text.strip_prefix('[') {
        let end = rest.find(']')?;
        let (host, after) = (&rest[..end], &rest[end + 1..]);
        let port = after.strip_prefix(':')?;
        if port.contains(':') || port.contains('[') || port.contains(']') {
            return None;
        }
        return Some((host, port));
    }
    let i = text.rfind(':')?;
    let (host, port) = (&text[..i], &text[i + 1..]);
    if host.contains(':') || host.contains('[') || host.contains(']') || port.contains(']') {
        return None;
    }
    Some((host, port))
}

/// A URL such as `nats://user:pass@host:4222`.
pub(crate) fn url(s: &mut Sink, v: &Value, option: &str) -> Option<Url> {
    let text = string(s, v, option)?;
    match Url::parse(&text) {
        Ok(u) => Some(u),
        Err(why) => {
            s.error(
                &v.pos,
                option,
                format!("expected a URL such as \"nats://host:7222\", found {text:?}: {why}"),
            );
            None
        }
    }
}

/// The nearest name in `known` within a small edit distance.
pub(crate) fn nearest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    known
        .iter()
        .map(|k| (osa_distance(name, k), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Optimal string alignment distance (Levenshtein with adjacent transpositions).
fn osa_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Option names are short; bound the work for pathological keys.
    if a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_names() {
        let known = ["port", "ping_interval", "reject_unknown_cluster", "max_payload"];
        assert_eq!(nearest("prot", &known), Some("port"));
        assert_eq!(nearest("ping_intervall", &known), Some("ping_interval"));
        assert_eq!(nearest("reject_unknown_clusters", &known), Some("reject_unknown_cluster"));
        assert_eq!(nearest("zzzzzz", &known), None);
    }

    #[test]
    fn host_port_split() {
        assert_eq!(split_host_port("0.0.0.0:4222"), Some(("0.0.0.0", "4222")));
        assert_eq!(split_host_port("[::1]:4222"), Some(("::1", "4222")));
        assert_eq!(split_host_port(":4222"), Some(("", "4222")));
        assert_eq!(split_host_port("localhost"), None);
        assert_eq!(split_host_port("::1:4222"), None);
    }
}
