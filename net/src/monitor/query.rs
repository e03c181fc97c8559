//! Query-string options of the monitoring endpoints, parsed as nats-server 2.15.1 parses them,
//! with its exact HTTP 400 texts.
//!
//! nats-server reads parameters with Go's `url.Values.Get` (first value wins; pairs with a `;` or
//! a bad `%` escape are dropped silently) and decodes them with `strconv`; the first bad
//! parameter, in the handler's order, is the one reported.

use std::fmt;

use super::connz::{ConnState, SortOpt};

/// nats-server's `DefaultConnListSize`: the `/connz` limit when none (or `<= 0`) is given.
pub const DEFAULT_CONN_LIST_SIZE: usize = 1024;
/// nats-server's `DefaultSubListSize`: the `/subsz` limit when none (or `<= 0`) is given.
pub const DEFAULT_SUB_LIST_SIZE: usize = 1024;

/// A request the endpoint rejects with HTTP 400; [`fmt::Display`] is the exact response body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRequest {
    message: String,
}

impl BadRequest {
    /// The response body, nats-server's wording.
    pub fn message(&self) -> &str {
        &self.message
    }

    fn new(message: String) -> Self {
        Self { message }
    }
}

impl fmt::Display for BadRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BadRequest {}

/// Whether subscriptions are listed: nats-server's `subs=<bool>` or `subs=detail`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SubsOption {
    /// No list (`subs` absent or false).
    #[default]
    None,
    /// `subscriptions_list`: subjects only (`subs=1`).
    List,
    /// `subscriptions_list_detail`: subject, queue, sid, msgs, cid (`subs=detail`, any case).
    Detail,
}

/// `/connz` options. Values are normalized as nats-server's `Connz()` does before use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnzOptions {
    /// `sort`: the order of `connections` (default by cid).
    pub sort: SortOpt,
    /// `auth`: include `authorized_user`, `account`, and TLS peer certificates.
    pub auth: bool,
    /// `subs`: list each connection's subscriptions.
    pub subs: SubsOption,
    /// `offset`: skip this many connections after sorting (negative is 0).
    pub offset: usize,
    /// `limit`: at most this many connections (absent or `<= 0`: 1024; 1 when `cid` is given).
    pub limit: usize,
    /// `cid`: only this connection (absent or 0: no filter).
    pub cid: Option<u64>,
    /// `state`: open (default), closed or all connections.
    pub state: ConnState,
    /// `user`: only connections of this user (nats-server applies it only with `auth`).
    pub user: Option<String>,
    /// `acc`: only connections bound to this account.
    pub acc: Option<String>,
    /// `mqtt_client`: only the MQTT connection with this client id.
    pub mqtt_client: Option<String>,
}

impl Default for ConnzOptions {
    fn default() -> Self {
        Self {
            sort: SortOpt::Cid,
            auth: false,
            subs: SubsOption::None,
            offset: 0,
            limit: DEFAULT_CONN_LIST_SIZE,
            cid: None,
            state: ConnState::Open,
            user: None,
            acc: None,
            mqtt_client: None,
        }
    }
}

impl ConnzOptions {
    /// Parses a raw query string (without the `?`), in `HandleConnz`'s order: `auth`, `subs`,
    /// `offset`, `limit`, `cid`, `state`, then the `sort` checks of `Connz()`.
    pub fn parse(query: &str) -> Result<Self, BadRequest> {
        let q = Query::parse(query);
        let auth = q.bool("auth")?;
        let subs = q.subs()?;
        let offset = q.int("offset")?;
        let limit = q.int("limit")?;
        let cid = q.uint64("cid")?;
        let state = q.state()?;
        let sort_raw = q.get("sort");
        let sort = if sort_raw.is_empty() {
            SortOpt::Cid
        } else {
            SortOpt::from_query(sort_raw).ok_or_else(|| {
                BadRequest::new(format!("invalid sorting option: {}", lossy(sort_raw)))
            })?
        };
        if sort == SortOpt::Stop && state != ConnState::Closed {
            return Err(BadRequest::new("sort by stop only valid on closed connections".into()));
        }
        if sort == SortOpt::Reason && state != ConnState::Closed {
            return Err(BadRequest::new("sort by reason only valid on closed connections".into()));
        }
        let cid = (cid > 0).then_some(cid);
        let limit = match (cid, limit) {
            (Some(_), _) => 1,
            (None, l) if l <= 0 => DEFAULT_CONN_LIST_SIZE,
            (None, l) => usize::try_from(l).unwrap_or(usize::MAX),
        };
        Ok(Self {
            sort,
            auth,
            subs,
            offset: usize::try_from(offset).unwrap_or(0),
            limit,
            cid,
            state,
            user: q.opt_string("user"),
            acc: q.opt_string("acc"),
            mqtt_client: q.opt_string("mqtt_client"),
        })
    }
}

/// `/subsz` (and `/subscriptionsz`) options, normalized as nats-server's `Subsz()` does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubszOptions {
    /// `subs`: include `subscriptions_list` (with `total`, `offset` and `limit` applied).
    pub subs: bool,
    /// `offset`: skip this many subscriptions (negative is 0).
    pub offset: usize,
    /// `limit`: at most this many subscriptions (absent or `<= 0`: 1024).
    pub limit: usize,
    /// `test`: only subscriptions a publish to this literal subject would match.
    pub test: Option<String>,
    /// `acc`: only this account.
    pub acc: Option<String>,
}

impl Default for SubszOptions {
    fn default() -> Self {
        Self { subs: false, offset: 0, limit: DEFAULT_SUB_LIST_SIZE, test: None, acc: None }
    }
}

impl SubszOptions {
    /// Parses a raw query string, in `HandleSubsz`'s order: `subs`, `offset`, `limit`, then the
    /// `test` subject check of `Subsz()`.
    pub fn parse(query: &str) -> Result<Self, BadRequest> {
        let q = Query::parse(query);
        let subs = q.bool("subs")?;
        let offset = q.int("offset")?;
        let limit = q.int("limit")?;
        let test = q.opt_string("test");
        if let Some(t) = &test
            && !is_valid_literal_subject(t)
        {
            return Err(BadRequest::new(format!(
                "invalid test subject, must be valid publish subject: {t}"
            )));
        }
        Ok(Self {
            subs,
            offset: usize::try_from(offset).unwrap_or(0),
            limit: if limit <= 0 {
                DEFAULT_SUB_LIST_SIZE
            } else {
                usize::try_from(limit).unwrap_or(usize::MAX)
            },
            test,
            acc: q.opt_string("acc"),
        })
    }
}

/// `/gatewayz` options (gateway-protocol.md §11.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GatewayzOptions {
    /// `gw_name`: only remotes of this gateway name. An unknown name gives
    /// `"outbound_gateways": null` (set [`Gatewayz::outbound_gateways`](super::Gatewayz) to
    /// `None`) and an empty inbound map.
    pub gw_name: Option<String>,
    /// `accs`: include per-account interest (`accounts`); also true when `acc_name` is given.
    pub accs: bool,
    /// `acc_name`: only this account's entry.
    pub acc_name: Option<String>,
    /// `subs`: add subscription lists to (outbound) account entries.
    pub subs: SubsOption,
}

impl GatewayzOptions {
    /// Parses a raw query string, in `HandleGatewayz`'s order: `subs`, then `accs`.
    pub fn parse(query: &str) -> Result<Self, BadRequest> {
        let q = Query::parse(query);
        let subs = q.subs()?;
        let accs = q.bool("accs")?;
        let acc_name = q.opt_string("acc_name");
        Ok(Self {
            gw_name: q.opt_string("gw_name"),
            accs: accs || acc_name.is_some(),
            acc_name,
            subs,
        })
    }
}

/// `/routez` options (route-protocol.md §8.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoutezOptions {
    /// `subs`: `1`/`true` adds `subscriptions_list`, `detail` adds `subscriptions_list_detail`.
    pub subs: SubsOption,
}

impl RoutezOptions {
    /// Parses a raw query string (`HandleRoutez` reads only `subs`).
    pub fn parse(query: &str) -> Result<Self, BadRequest> {
        Ok(Self { subs: Query::parse(query).subs()? })
    }
}

/// `/healthz` options. Only `details` changes Strait's answer (no JetStream); the others are
/// parsed so bad values get nats-server's 400, and `account`/`stream`/`consumer` for its
/// bad-request checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HealthzOptions {
    /// `details`: report problems as an `errors` list of typed entries instead of one `error`.
    pub details: bool,
    /// `js-enabled` (deprecated in nats-server).
    pub js_enabled: bool,
    /// `js-enabled-only`.
    pub js_enabled_only: bool,
    /// `js-server-only`.
    pub js_server_only: bool,
    /// `js-meta-only`.
    pub js_meta_only: bool,
    /// `account`.
    pub account: Option<String>,
    /// `stream`.
    pub stream: Option<String>,
    /// `consumer`.
    pub consumer: Option<String>,
}

impl HealthzOptions {
    /// Parses a raw query string, in `HandleHealthz`'s order.
    pub fn parse(query: &str) -> Result<Self, BadRequest> {
        let q = Query::parse(query);
        Ok(Self {
            js_enabled: q.bool("js-enabled")?,
            js_enabled_only: q.bool("js-enabled-only")?,
            js_server_only: q.bool("js-server-only")?,
            js_meta_only: q.bool("js-meta-only")?,
            details: q.bool("details")?,
            account: q.opt_string("account"),
            stream: q.opt_string("stream"),
            consumer: q.opt_string("consumer"),
        })
    }
}

/// Go's `IsValidLiteralSubject`: no empty token and no `*` or `>` token. Unlike a publish check it
/// accepts whitespace, as nats-server's `/subsz?test=` does.
fn is_valid_literal_subject(subject: &str) -> bool {
    subject.split('.').all(|t| !t.is_empty() && t != "*" && t != ">")
}

/// Decoded query pairs in order, as Go's `url.ParseQuery` keeps them.
struct Query {
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Query {
    /// Bounds the work one request can cause: Go keeps every pair, but only a handful are read.
    const MAX_PAIRS: usize = 1000;

    fn parse(raw: &str) -> Self {
        let mut pairs = Vec::new();
        for segment in raw.split('&').take(Self::MAX_PAIRS) {
            // Go rejects (skips) any segment containing a semicolon, and skips empty ones.
            if segment.is_empty() || segment.contains(';') {
                continue;
            }
            let (key, value) = segment.split_once('=').unwrap_or((segment, ""));
            if let (Some(k), Some(v)) = (unescape(key), unescape(value)) {
                pairs.push((k, v));
            }
        }
        Self { pairs }
    }

    /// `url.Values.Get`: the first value for `name`, or empty.
    fn get(&self, name: &str) -> &[u8] {
        self.pairs.iter().find(|(k, _)| k == name.as_bytes()).map_or(&[], |(_, v)| v.as_slice())
    }

    fn opt_string(&self, name: &str) -> Option<String> {
        let v = self.get(name);
        (!v.is_empty()).then(|| lossy(v))
    }

    /// nats-server's `decodeBool`: empty is false, else `strconv.ParseBool`.
    fn bool(&self, name: &str) -> Result<bool, BadRequest> {
        let v = self.get(name);
        match v {
            b"" => Ok(false),
            b"1" | b"t" | b"T" | b"TRUE" | b"true" | b"True" => Ok(true),
            b"0" | b"f" | b"F" | b"FALSE" | b"false" | b"False" => Ok(false),
            _ => Err(BadRequest::new(format!(
                "Error decoding boolean for '{name}': strconv.ParseBool: parsing {}: invalid syntax",
                go_quote(v)
            ))),
        }
    }

    /// nats-server's `decodeInt`: empty is 0, else `strconv.Atoi` (64-bit `int`).
    fn int(&self, name: &str) -> Result<i64, BadRequest> {
        let v = self.get(name);
        if v.is_empty() {
            return Ok(0);
        }
        let (negative, digits) = match v[0] {
            b'+' => (false, &v[1..]),
            b'-' => (true, &v[1..]),
            _ => (false, v),
        };
        let limit = if negative { 1u64 << 63 } else { (1u64 << 63) - 1 };
        match parse_decimal(digits)
            .and_then(|n| if n > limit { Err(NumError::Range) } else { Ok(n) })
        {
            Ok(n) if negative => Ok((n as i64).wrapping_neg()),
            Ok(n) => Ok(n as i64),
            Err(e) => Err(BadRequest::new(format!(
                "Error decoding int for '{name}': strconv.Atoi: parsing {}: {e}",
                go_quote(v)
            ))),
        }
    }

    /// nats-server's `decodeUint64`: empty is 0, else `strconv.ParseUint(s, 10, 64)` (no sign).
    fn uint64(&self, name: &str) -> Result<u64, BadRequest> {
        let v = self.get(name);
        if v.is_empty() {
            return Ok(0);
        }
        parse_decimal(v).map_err(|e| {
            BadRequest::new(format!(
                "Error decoding uint64 for '{name}': strconv.ParseUint: parsing {}: {e}",
                go_quote(v)
            ))
        })
    }

    /// nats-server's `decodeState`.
    fn state(&self) -> Result<ConnState, BadRequest> {
        let v = self.get("state");
        if v.is_empty() {
            return Ok(ConnState::Open);
        }
        let s = lossy(v);
        match s.to_lowercase().as_str() {
            "open" => Ok(ConnState::Open),
            "closed" => Ok(ConnState::Closed),
            "any" | "all" => Ok(ConnState::All),
            _ => Err(BadRequest::new(format!("Error decoding state for {s}"))),
        }
    }

    /// nats-server's `decodeSubs`: `detail` in any case, else a boolean.
    fn subs(&self) -> Result<SubsOption, BadRequest> {
        if lossy(self.get("subs")).to_lowercase() == "detail" {
            return Ok(SubsOption::Detail);
        }
        Ok(if self.bool("subs")? { SubsOption::List } else { SubsOption::None })
    }
}

/// `strconv` errors, worded as Go words them.
#[derive(Debug)]
enum NumError {
    Syntax,
    Range,
}

impl fmt::Display for NumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Syntax => "invalid syntax",
            Self::Range => "value out of range",
        })
    }
}

/// Base-10 digits into a `u64` as Go's `ParseUint` scans them: overflow is reported as soon as it
/// happens, even if a bad character follows.
fn parse_decimal(digits: &[u8]) -> Result<u64, NumError> {
    if digits.is_empty() {
        return Err(NumError::Syntax);
    }
    let mut n: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(NumError::Syntax);
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(c - b'0')))
            .ok_or(NumError::Range)?;
    }
    Ok(n)
}

/// Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte; a malformed escape is an error.
fn unescape(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = hex_value(*bytes.get(i + 1)?)?;
                let lo = hex_value(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn lossy(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// Go's `strconv.Quote` over raw bytes: invalid UTF-8 as `\xNN`, `"` and `\` escaped, the usual
/// C escapes, other non-printable characters as `\xNN`, `\uNNNN` or `\UNNNNNNNN`.
///
/// Go's printability test is Unicode's categories L, M, N, P, S plus U+0020; this approximates it
/// with control, format, private-use and non-ASCII space characters (unassigned code points are
/// treated as printable).
fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{7}' => out.push_str("\\a"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{b}' => out.push_str("\\v"),
                c if is_go_printable(c) => out.push(c),
                c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
                c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push_str(&format!("\\U{:08x}", c as u32)),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

fn is_go_printable(c: char) -> bool {
    !(c.is_control()
        || matches!(c,
            '\u{a0}' | '\u{ad}' | '\u{61c}' | '\u{1680}' | '\u{180e}' | '\u{2000}'..='\u{200f}'
            | '\u{2028}'..='\u{202f}' | '\u{205f}'..='\u{206f}' | '\u{3000}' | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}' | '\u{fffe}' | '\u{ffff}' | '\u{e000}'..='\u{f8ff}'
            | '\u{f0000}'..)
        || (c as u32 & 0xfffe) == 0xfffe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err<T: fmt::Debug>(r: Result<T, BadRequest>) -> String {
        r.expect_err("should be a 400").message().to_owned()
    }

    #[test]
    fn bad_boolean_has_nats_server_text() {
        // Verbatim from nats-server 2.15.1.
        assert_eq!(
            err(GatewayzOptions::parse("accs=maybe")),
            r#"Error decoding boolean for 'accs': strconv.ParseBool: parsing "maybe": invalid syntax"#
        );
        assert_eq!(
            err(GatewayzOptions::parse("subs=yes&accs=maybe")),
            r#"Error decoding boolean for 'subs': strconv.ParseBool: parsing "yes": invalid syntax"#
        );
        assert_eq!(
            err(ConnzOptions::parse("auth=x")),
            r#"Error decoding boolean for 'auth': strconv.ParseBool: parsing "x": invalid syntax"#
        );
        assert_eq!(
            err(SubszOptions::parse("subs=2")),
            r#"Error decoding boolean for 'subs': strconv.ParseBool: parsing "2": invalid syntax"#
        );
        assert_eq!(
            err(HealthzOptions::parse("details=x")),
            r#"Error decoding boolean for 'details': strconv.ParseBool: parsing "x": invalid syntax"#
        );
    }

    #[test]
    fn quoting_of_odd_values_matches_go() {
        // Each checked against nats-server 2.15.1 (`/connz?auth=<escaped>`).
        let cases = [
            ("auth=%ff", r#""\xff""#),
            ("auth=a%22b", r#""a\"b""#),
            ("auth=%0a", r#""\n""#),
            ("auth=%e2%82%ac", "\"€\""),
            ("auth=+", r#"" ""#),
        ];
        for (query, quoted) in cases {
            assert_eq!(
                err(ConnzOptions::parse(query)),
                format!(
                    "Error decoding boolean for 'auth': strconv.ParseBool: parsing {quoted}: invalid syntax"
                )
            );
        }
        assert_eq!(go_quote(b"\x01\\\x7f\xc2\xa0"), r#""\x01\\\x7f\u00a0""#);
    }

    #[test]
    fn booleans_accept_go_spellings() {
        for t in ["1", "t", "T", "true", "TRUE", "True"] {
            assert!(SubszOptions::parse(&format!("subs={t}")).unwrap().subs, "{t}");
        }
        for f in ["", "0", "f", "F", "false", "FALSE", "False"] {
            assert!(!SubszOptions::parse(&format!("subs={f}")).unwrap().subs, "{f}");
        }
        assert!(SubszOptions::parse("subs=tRUE").is_err());
    }

    #[test]
    fn integers_follow_strconv() {
        assert_eq!(
            err(ConnzOptions::parse("offset=x")),
            r#"Error decoding int for 'offset': strconv.Atoi: parsing "x": invalid syntax"#
        );
        assert_eq!(
            err(ConnzOptions::parse("limit=99999999999999999999")),
            r#"Error decoding int for 'limit': strconv.Atoi: parsing "99999999999999999999": value out of range"#
        );
        assert_eq!(
            err(ConnzOptions::parse("offset=%2B")),
            r#"Error decoding int for 'offset': strconv.Atoi: parsing "+": invalid syntax"#
        );
        // `+` in a query is a space.
        assert_eq!(
            err(ConnzOptions::parse("offset=+5")),
            r#"Error decoding int for 'offset': strconv.Atoi: parsing " 5": invalid syntax"#
        );
        assert_eq!(
            err(ConnzOptions::parse("cid=-1")),
            r#"Error decoding uint64 for 'cid': strconv.ParseUint: parsing "-1": invalid syntax"#
        );
        assert_eq!(
            err(ConnzOptions::parse("cid=1_0")),
            r#"Error decoding uint64 for 'cid': strconv.ParseUint: parsing "1_0": invalid syntax"#
        );
        assert_eq!(
            err(ConnzOptions::parse("cid=18446744073709551616")),
            r#"Error decoding uint64 for 'cid': strconv.ParseUint: parsing "18446744073709551616": value out of range"#
        );
        assert_eq!(ConnzOptions::parse("cid=18446744073709551615").unwrap().cid, Some(u64::MAX));
        assert_eq!(ConnzOptions::parse("offset=%2B7").unwrap().offset, 7);
        assert_eq!(ConnzOptions::parse("limit=-9223372036854775808").unwrap().limit, 1024);
        assert!(ConnzOptions::parse("limit=-9223372036854775809").is_err());
    }

    #[test]
    fn connz_options_normalize_like_connz() {
        assert_eq!(ConnzOptions::parse("").unwrap(), ConnzOptions::default());
        let o = ConnzOptions::parse("offset=-5&limit=0&subs=DeTaiL&auth=1&acc=A&user=u&state=ALL")
            .unwrap();
        assert_eq!((o.offset, o.limit, o.subs, o.auth), (0, 1024, SubsOption::Detail, true));
        assert_eq!(
            (o.acc.as_deref(), o.user.as_deref(), o.state),
            (Some("A"), Some("u"), ConnState::All)
        );
        let o = ConnzOptions::parse("cid=7&limit=50&subs=1&sort=bytes_to").unwrap();
        assert_eq!(
            (o.cid, o.limit, o.subs, o.sort),
            (Some(7), 1, SubsOption::List, SortOpt::BytesTo)
        );
        assert_eq!(ConnzOptions::parse("cid=0").unwrap().cid, None);
        assert_eq!(ConnzOptions::parse("sort=reason&state=closed").unwrap().sort, SortOpt::Reason);
    }

    #[test]
    fn connz_state_and_sort_errors() {
        assert_eq!(err(ConnzOptions::parse("state=bogus")), "Error decoding state for bogus");
        assert_eq!(err(ConnzOptions::parse("sort=bogus")), "invalid sorting option: bogus");
        assert_eq!(
            err(ConnzOptions::parse("sort=stop")),
            "sort by stop only valid on closed connections"
        );
        assert_eq!(
            err(ConnzOptions::parse("sort=reason&state=open")),
            "sort by reason only valid on closed connections"
        );
        // Decoding errors come first, in handler order.
        assert_eq!(
            err(ConnzOptions::parse("sort=bogus&state=x&cid=y")),
            r#"Error decoding uint64 for 'cid': strconv.ParseUint: parsing "y": invalid syntax"#
        );
    }

    #[test]
    fn go_query_parsing_quirks() {
        // First value wins; segments with `;` or a bad escape are dropped, not errors.
        assert!(ConnzOptions::parse("auth=1&auth=x").unwrap().auth);
        assert!(ConnzOptions::parse("auth=x&auth=1").is_err());
        assert!(!ConnzOptions::parse("auth;x=1").unwrap().auth);
        assert!(!ConnzOptions::parse("auth=1;x").unwrap().auth);
        assert!(!ConnzOptions::parse("auth=%zz").unwrap().auth);
        assert!(ConnzOptions::parse("&&a%75th=1&").unwrap().auth);
        assert_eq!(ConnzOptions::parse("acc=%24G").unwrap().acc.as_deref(), Some("$G"));
        assert_eq!(ConnzOptions::parse("acc=").unwrap().acc, None);
    }

    #[test]
    fn subsz_test_subject_must_be_literal() {
        assert_eq!(
            err(SubszOptions::parse("test=foo.*")),
            "invalid test subject, must be valid publish subject: foo.*"
        );
        assert_eq!(
            err(SubszOptions::parse("test=foo..bar")),
            "invalid test subject, must be valid publish subject: foo..bar"
        );
        assert_eq!(SubszOptions::parse("test=").unwrap().test, None);
        // Go's literal check does not look at whitespace.
        assert_eq!(SubszOptions::parse("test=a+b.c").unwrap().test.as_deref(), Some("a b.c"));
        let o = SubszOptions::parse("subs=1&offset=3&limit=-1&acc=A&test=foo").unwrap();
        assert_eq!(
            o,
            SubszOptions {
                subs: true,
                offset: 3,
                limit: 1024,
                test: Some("foo".into()),
                acc: Some("A".into())
            }
        );
    }

    #[test]
    fn gatewayz_options() {
        assert_eq!(GatewayzOptions::parse("").unwrap(), GatewayzOptions::default());
        let o = GatewayzOptions::parse("gw_name=B&acc_name=%24G&subs=detail").unwrap();
        assert_eq!(
            o,
            GatewayzOptions {
                gw_name: Some("B".into()),
                accs: true,
                acc_name: Some("$G".into()),
                subs: SubsOption::Detail
            }
        );
        assert!(GatewayzOptions::parse("accs=true").unwrap().accs);
    }

    #[test]
    fn healthz_options() {
        let o = HealthzOptions::parse("details=1&stream=s&js-server-only=true").unwrap();
        assert!(o.details && o.js_server_only && !o.js_enabled);
        assert_eq!(o.stream.as_deref(), Some("s"));
        assert_eq!(
            err(HealthzOptions::parse("js-enabled-only=2&details=x")),
            r#"Error decoding boolean for 'js-enabled-only': strconv.ParseBool: parsing "2": invalid syntax"#
        );
    }
}
