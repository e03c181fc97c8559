//! The JSON of INFO and CONNECT, decoded and encoded the way nats-server's Go structs do.
//!
//! Decoding follows Go's `encoding/json` into nats-server's `ClientOpts` and `Info` structs:
//! object members are applied in document order (a repeated key: the last one wins); a key
//! names a field when it equals the field's name under Go's case folding (ASCII letters in
//! either case, and `ſ`/`K` for `s`/`k`); unknown keys are ignored whatever their value;
//! `null` leaves a field as it was; any other value of the wrong JSON type is an error, also
//! for fields Strait does not use. A top-level `null` is accepted and changes nothing (checked
//! on nats-server 2.15.1: `CONNECT null` gets `+OK`). Invalid UTF-8 inside strings is accepted
//! (Go replaces it with U+FFFD).
//!
//! Known differences, for input no client sends: serde_json rejects lone UTF-16 surrogate
//! escapes (`"\ud800"`), the integer `-0` and nesting deeper than 128, which Go accepts.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A client's CONNECT options, decoded from defaults `verbose = pedantic = echo = true` (all
/// else zero) as nats-server does. Keys match case-insensitively; unknown keys are ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Send `+OK` after each accepted op.
    pub verbose: bool,
    /// Reject non-literal publish subjects with `-ERR 'Invalid Publish Subject'`.
    pub pedantic: bool,
    /// Informational only.
    pub tls_required: bool,
    /// Token for token auth.
    pub auth_token: Option<String>,
    /// User name.
    pub user: Option<String>,
    /// Password.
    pub pass: Option<String>,
    /// Client name.
    pub name: Option<String>,
    /// Client library language.
    pub lang: Option<String>,
    /// Client library version.
    pub version: Option<String>,
    /// Protocol level: 0 or 1; anything else is `invalid client protocol`.
    pub protocol: i64,
    /// Deliver this connection's own publishes to its own subscriptions.
    pub echo: bool,
    /// Nonce signature (nkeys).
    pub sig: Option<String>,
    /// User JWT.
    pub jwt: Option<String>,
    /// User nkey.
    pub nkey: Option<String>,
    /// Ask for 503 no-responders status messages.
    pub no_responders: bool,
    /// The client understands HPUB/HMSG.
    pub headers: bool,
    /// Legacy `account` field: non-empty means Authorization Violation.
    pub account: Option<String>,
    /// Legacy `new_account` field: true means Authorization Violation.
    pub new_account: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            verbose: true,
            pedantic: true,
            tls_required: false,
            auth_token: None,
            user: None,
            pass: None,
            name: None,
            lang: None,
            version: None,
            protocol: 0,
            echo: true,
            sig: None,
            jwt: None,
            nkey: None,
            no_responders: false,
            headers: false,
            account: None,
            new_account: false,
        }
    }
}

/// Why a CONNECT (or client INFO) argument is not acceptable JSON for its struct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError(pub String);

impl ConnectOptions {
    /// Decode a CONNECT argument. Empty input, malformed JSON, a non-object or a field of the
    /// wrong type is an error (nats-server then closes without `-ERR`).
    pub fn from_json(json: &[u8]) -> Result<Self, JsonError> {
        let mut opts = Self::default();
        opts.merge_json(json)?;
        Ok(opts)
    }

    /// Decode a CONNECT argument on top of `self`: fields absent from the JSON keep their
    /// current values. nats-server decodes a second CONNECT on a connection this way, into the
    /// options of the first. On error `self` is unchanged.
    pub fn merge_json(&mut self, json: &[u8]) -> Result<(), JsonError> {
        let Some(members) = members(json)? else {
            return Ok(());
        };
        let mut opts = self.clone();
        for (key, value) in &members {
            let Some(&(name, kind)) =
                CONNECT_FIELDS.iter().find(|(name, _)| key_matches(key, name))
            else {
                continue;
            };
            check(name, kind, value)?;
            // `check` accepted the value for its kind, so only `null` (keep) or the right
            // type can be here.
            match (name, value) {
                (_, Json::Null) => {}
                ("verbose", Json::Bool(b)) => opts.verbose = *b,
                ("pedantic", Json::Bool(b)) => opts.pedantic = *b,
                ("tls_required", Json::Bool(b)) => opts.tls_required = *b,
                ("echo", Json::Bool(b)) => opts.echo = *b,
                ("no_responders", Json::Bool(b)) => opts.no_responders = *b,
                ("headers", Json::Bool(b)) => opts.headers = *b,
                ("new_account", Json::Bool(b)) => opts.new_account = *b,
                ("auth_token", Json::String(s)) => opts.auth_token = Some(s.clone()),
                ("user", Json::String(s)) => opts.user = Some(s.clone()),
                ("pass", Json::String(s)) => opts.pass = Some(s.clone()),
                ("name", Json::String(s)) => opts.name = Some(s.clone()),
                ("lang", Json::String(s)) => opts.lang = Some(s.clone()),
                ("version", Json::String(s)) => opts.version = Some(s.clone()),
                ("sig", Json::String(s)) => opts.sig = Some(s.clone()),
                ("jwt", Json::String(s)) => opts.jwt = Some(s.clone()),
                ("nkey", Json::String(s)) => opts.nkey = Some(s.clone()),
                ("account", Json::String(s)) => opts.account = Some(s.clone()),
                ("protocol", Json::Number(n)) => opts.protocol = n.as_i64().unwrap_or_default(),
                // Fields nats-server decodes for routes, leaf nodes or proxies: type-checked
                // above, not kept.
                _ => {}
            }
        }
        *self = opts;
        Ok(())
    }
}

/// Check that a client's INFO argument decodes into nats-server's `Info` struct: a JSON object
/// (or `null`) whose known keys have values of the right type. Its content is otherwise
/// ignored. Empty input is an error.
pub fn check_client_info(json: &[u8]) -> Result<(), JsonError> {
    for (key, value) in members(json)?.iter().flatten() {
        if let Some(&(name, kind)) = INFO_FIELDS.iter().find(|(name, _)| key_matches(key, name)) {
            check(name, kind, value)?;
        }
    }
    Ok(())
}

/// The INFO a server sends a client, in nats-server's key order; `omitempty` fields are
/// skipped when false, zero or empty.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ServerInfo {
    /// Server id (regenerated each start).
    pub server_id: String,
    /// `server_name` option, else the server id.
    pub server_name: String,
    /// Version string.
    pub version: String,
    /// Protocol level, 1.
    pub proto: i32,
    /// Runtime version; any string.
    pub go: String,
    /// Client listen host.
    pub host: String,
    /// Client listen port.
    pub port: u16,
    /// Headers supported.
    pub headers: bool,
    /// Authentication required.
    #[serde(skip_serializing_if = "is_false")]
    pub auth_required: bool,
    /// TLS required.
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    /// Client certificates verified.
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    /// TLS available but optional.
    #[serde(skip_serializing_if = "is_false")]
    pub tls_available: bool,
    /// Max payload for this connection.
    pub max_payload: usize,
    /// Per-connection id.
    #[serde(skip_serializing_if = "is_zero")]
    pub client_id: u64,
    /// Peer IP as seen by the server.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_ip: String,
    /// Random text nkey users sign to log in.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nonce: String,
    /// Cluster name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// Client URLs of this cluster's servers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connect_urls: Vec<String>,
    /// Lame-duck mode.
    #[serde(skip_serializing_if = "is_false")]
    pub ldm: bool,
    /// Set in the INFO that answers the first PING after CONNECT.
    #[serde(skip_serializing_if = "is_false")]
    pub connect_info: bool,
    /// With `connect_info`: the bound account.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub remote_account: String,
    /// With `connect_info`: whether the bound account is the system account.
    #[serde(skip_serializing_if = "is_false")]
    pub acc_is_sys: bool,
    /// JetStream API level (always present in nats-server 2.15).
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub api_lvl: i32,
}

impl ServerInfo {
    /// The JSON text.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain strings, integers and booleans cannot fail.
        serde_json::to_vec(self).expect("ServerInfo serialises")
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_i32(n: &i32) -> bool {
    *n == 0
}

/// The JSON type a Go struct field accepts (besides `null`, which every kind accepts).
#[derive(Clone, Copy, Debug)]
enum Kind {
    Bool,
    Str,
    /// A Go signed integer of this many bits: an integer literal (no fraction or exponent).
    Int(u32),
    /// A Go unsigned integer of this many bits.
    Uint(u32),
    /// `[]string`: an array of strings.
    Strings,
    /// `[]byte`: a standard base64 string, or an array of integers 0..=255.
    Bytes,
    /// `*SubjectPermission`: an object with `allow` and `deny` string arrays.
    Permission,
}

/// nats-server's `ClientOpts` fields by JSON name.
const CONNECT_FIELDS: &[(&str, Kind)] = &[
    ("echo", Kind::Bool),
    ("verbose", Kind::Bool),
    ("pedantic", Kind::Bool),
    ("tls_required", Kind::Bool),
    ("nkey", Kind::Str),
    ("jwt", Kind::Str),
    ("sig", Kind::Str),
    ("auth_token", Kind::Str),
    ("user", Kind::Str),
    ("pass", Kind::Str),
    ("name", Kind::Str),
    ("lang", Kind::Str),
    ("version", Kind::Str),
    ("protocol", Kind::Int(64)),
    ("account", Kind::Str),
    ("new_account", Kind::Bool),
    ("headers", Kind::Bool),
    ("no_responders", Kind::Bool),
    ("import", Kind::Permission),
    ("export", Kind::Permission),
    ("remote_account", Kind::Str),
    ("proxy_sig", Kind::Str),
];

/// nats-server's `Info` fields by JSON name.
const INFO_FIELDS: &[(&str, Kind)] = &[
    ("server_id", Kind::Str),
    ("server_name", Kind::Str),
    ("version", Kind::Str),
    ("proto", Kind::Int(64)),
    ("git_commit", Kind::Str),
    ("go", Kind::Str),
    ("host", Kind::Str),
    ("port", Kind::Int(64)),
    ("headers", Kind::Bool),
    ("auth_required", Kind::Bool),
    ("tls_required", Kind::Bool),
    ("tls_verify", Kind::Bool),
    ("tls_available", Kind::Bool),
    ("max_payload", Kind::Int(32)),
    ("jetstream", Kind::Bool),
    ("ip", Kind::Str),
    ("client_id", Kind::Uint(64)),
    ("client_ip", Kind::Str),
    ("nonce", Kind::Str),
    ("cluster", Kind::Str),
    ("cluster_dynamic", Kind::Bool),
    ("domain", Kind::Str),
    ("connect_urls", Kind::Strings),
    ("ws_connect_urls", Kind::Strings),
    ("ldm", Kind::Bool),
    ("compression", Kind::Str),
    ("connect_info", Kind::Bool),
    ("remote_account", Kind::Str),
    ("acc_is_sys", Kind::Bool),
    ("api_lvl", Kind::Int(64)),
    ("import", Kind::Permission),
    ("export", Kind::Permission),
    ("lnoc", Kind::Bool),
    ("lnocu", Kind::Bool),
    ("info_on_connect", Kind::Bool),
    ("route_pool_size", Kind::Int(64)),
    ("route_pool_idx", Kind::Int(64)),
    ("route_account", Kind::Str),
    ("route_acc_add_reqid", Kind::Str),
    ("gossip_mode", Kind::Uint(8)),
    ("gateway", Kind::Str),
    ("gateway_urls", Kind::Strings),
    ("gateway_url", Kind::Str),
    ("gateway_cmd", Kind::Uint(8)),
    ("gateway_cmd_payload", Kind::Bytes),
    ("gateway_nrp", Kind::Bool),
    ("gateway_iom", Kind::Bool),
    ("leafnode_urls", Kind::Strings),
    ("xkey", Kind::Str),
];

/// `SubjectPermission`'s fields.
const PERMISSION_FIELDS: &[(&str, Kind)] = &[("allow", Kind::Strings), ("deny", Kind::Strings)];

/// The members of the top-level JSON object in document order, or `None` for `null`.
fn members(json: &[u8]) -> Result<Option<Vec<(String, Json)>>, JsonError> {
    // Go keeps invalid UTF-8 in strings (as U+FFFD); serde_json would reject it. Outside
    // strings the replacement is still a syntax error, as in Go.
    let text = String::from_utf8_lossy(json);
    match serde_json::from_str::<Json>(&text) {
        Ok(Json::Null) => Ok(None),
        Ok(Json::Object(members)) => Ok(Some(members)),
        Ok(_) => Err(JsonError("not a JSON object".to_owned())),
        Err(e) => Err(JsonError(e.to_string())),
    }
}

/// A JSON value whose objects keep their members in document order, repeated keys included
/// (`serde_json::Value` sorts them and keeps one per key, but Go applies each in turn).
#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    /// A number, as the integer it is if it is written as one.
    Number(Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Number {
    Int(i64),
    Uint(u64),
    /// With a fraction or an exponent, or out of the 64-bit ranges: no Go integer accepts it.
    Float,
}

impl Number {
    fn as_i64(self) -> Option<i64> {
        match self {
            Self::Int(n) => Some(n),
            Self::Uint(n) => i64::try_from(n).ok(),
            Self::Float => None,
        }
    }

    fn as_u64(self) -> Option<u64> {
        match self {
            Self::Int(n) => u64::try_from(n).ok(),
            Self::Uint(n) => Some(n),
            Self::Float => None,
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Json, E> {
        Ok(Json::Number(Number::Int(n)))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Json, E> {
        Ok(Json::Number(Number::Uint(n)))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Json, E> {
        Ok(Json::Number(Number::Float))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Json, E> {
        Ok(Json::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Json, E> {
        Ok(Json::String(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = map.next_entry::<String, Json>()? {
            members.push(member);
        }
        Ok(Json::Object(members))
    }
}

/// Whether JSON key `key` names the field `field` (lower-case ASCII) in Go's `encoding/json`:
/// equal after folding each character to the smallest member of its Unicode case-fold set,
/// which for ASCII field names means ASCII case-insensitivity plus `ſ` (U+017F) for `s` and
/// the Kelvin sign (U+212A) for `k`.
fn key_matches(key: &str, field: &str) -> bool {
    let mut want = field.bytes();
    for c in key.chars() {
        let Some(f) = want.next() else {
            return false;
        };
        let ok = match c {
            '\u{17f}' => f == b's',
            '\u{212a}' => f == b'k',
            c => c.is_ascii() && (c as u8).to_ascii_lowercase() == f,
        };
        if !ok {
            return false;
        }
    }
    want.next().is_none()
}

/// Whether `value` decodes into a Go field of `kind`.
fn check(name: &str, kind: Kind, value: &Json) -> Result<(), JsonError> {
    let ok = match (kind, value) {
        (_, Json::Null) => true,
        (Kind::Bool, Json::Bool(_)) | (Kind::Str, Json::String(_)) => true,
        (Kind::Int(bits), Json::Number(n)) => n.as_i64().is_some_and(|n| {
            let max = i64::MAX >> (64 - bits);
            (-max - 1..=max).contains(&n)
        }),
        (Kind::Uint(bits), Json::Number(n)) => {
            n.as_u64().is_some_and(|n| n <= u64::MAX >> (64 - bits))
        }
        (Kind::Strings, Json::Array(items)) => {
            items.iter().all(|v| matches!(v, Json::String(_) | Json::Null))
        }
        (Kind::Bytes, Json::String(s)) => is_std_base64(s),
        (Kind::Bytes, Json::Array(items)) => items.iter().all(|v| match v {
            Json::Null => true,
            Json::Number(n) => n.as_u64().is_some_and(|n| n <= u64::from(u8::MAX)),
            _ => false,
        }),
        (Kind::Permission, Json::Object(members)) => {
            return members.iter().try_for_each(|(key, value)| {
                match PERMISSION_FIELDS.iter().find(|(n, _)| key_matches(key, n)) {
                    Some(&(n, k)) => check(n, k, value),
                    None => Ok(()),
                }
            });
        }
        _ => false,
    };
    if ok { Ok(()) } else { Err(JsonError(format!("wrong JSON type for field {name:?}"))) }
}

/// Go's `base64.StdEncoding` decoding: padded standard alphabet; CR and LF are skipped.
fn is_std_base64(s: &str) -> bool {
    let chars = s.bytes().filter(|b| *b != b'\r' && *b != b'\n');
    let len = chars.clone().count();
    if len % 4 != 0 {
        return false;
    }
    let pad = chars.clone().rev().take_while(|b| *b == b'=').count();
    pad <= 2 && chars.take(len - pad).all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect(json: &str) -> Result<ConnectOptions, JsonError> {
        ConnectOptions::from_json(json.as_bytes())
    }

    #[test]
    fn defaults_and_fields() {
        assert_eq!(connect("{}"), Ok(ConnectOptions::default()));
        let d = ConnectOptions::default();
        assert!(d.verbose && d.pedantic && d.echo);
        let o = connect(
            r#"{"verbose":false,"pedantic":false,"tls_required":true,"auth_token":"t",
            "user":"u","pass":"p","name":"n","lang":"rust","version":"1.0","protocol":1,
            "echo":false,"sig":"s","jwt":"j","nkey":"k","no_responders":true,"headers":true,
            "account":"a","new_account":true,"unknown":{"deep":[1,2,{"x":null}]}}"#,
        )
        .unwrap();
        assert_eq!(
            o,
            ConnectOptions {
                verbose: false,
                pedantic: false,
                tls_required: true,
                auth_token: Some("t".into()),
                user: Some("u".into()),
                pass: Some("p".into()),
                name: Some("n".into()),
                lang: Some("rust".into()),
                version: Some("1.0".into()),
                protocol: 1,
                echo: false,
                sig: Some("s".into()),
                jwt: Some("j".into()),
                nkey: Some("k".into()),
                no_responders: true,
                headers: true,
                account: Some("a".into()),
                new_account: true,
            }
        );
    }

    #[test]
    fn keys_fold_like_go() {
        assert!(!connect(r#"{"VERBOSE":false}"#).unwrap().verbose);
        assert!(!connect(r#"{"Verbose":false}"#).unwrap().verbose);
        assert_eq!(connect(r#"{"NKEY":"x"}"#).unwrap().nkey.as_deref(), Some("x"));
        // ſ folds to s and the Kelvin sign to k (nats-server 2.15.1: `verboſe` is verbose).
        assert!(!connect("{\"verbo\u{17f}e\":false}").unwrap().verbose);
        assert_eq!(connect("{\"n\u{212a}ey\":\"x\"}").unwrap().nkey.as_deref(), Some("x"));
        // Other look-alikes and partial names are unknown keys.
        assert!(connect("{\"verbos\":false}").unwrap().verbose);
        assert!(connect("{\"verbosee\":false}").unwrap().verbose);
        assert!(connect("{\"verb\u{17f}o\":false}").unwrap().verbose);
        assert!(connect("{\"ver_bose\":false}").unwrap().verbose);
    }

    #[test]
    fn members_apply_in_order() {
        assert!(connect(r#"{"verbose":false,"VERBOSE":true}"#).unwrap().verbose);
        assert!(connect(r#"{"VERBOSE":false,"verbose":true}"#).unwrap().verbose);
        assert!(!connect(r#"{"verbose":true,"verbose":false}"#).unwrap().verbose);
    }

    #[test]
    fn null_keeps_the_default() {
        let o = connect(r#"{"verbose":null,"echo":null,"user":null,"protocol":null}"#).unwrap();
        assert_eq!(o, ConnectOptions::default());
        // A top-level null is no error in Go (nats-server 2.15.1 answers `CONNECT null` with +OK).
        assert_eq!(connect("null"), Ok(ConnectOptions::default()));
        assert_eq!(connect(" null "), Ok(ConnectOptions::default()));
    }

    #[test]
    fn errors() {
        for bad in [
            "",
            " ",
            "{",
            "{}x",
            "{} {}",
            "[]",
            "\"x\"",
            "1",
            "true",
            "{\"verbose\":1}",
            "{\"verbose\":\"true\"}",
            "{\"user\":1}",
            "{\"name\":[]}",
            "{\"protocol\":1.0}",
            "{\"protocol\":1e0}",
            "{\"protocol\":\"1\"}",
            "{\"protocol\":9223372036854775808}",
            "{\"proxy_sig\":1}",
            "{\"remote_account\":false}",
            "{\"import\":\"x\"}",
            "{\"import\":{\"allow\":\"x\"}}",
            "{\"export\":{\"deny\":[1]}}",
            "{\"export\":{\"deny\":[\"a\"],\"Deny\":\"b\"}}",
            "{'verbose':false}",
            "{\"verbose\":false,}",
        ] {
            assert!(connect(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn accepted_oddities() {
        assert_eq!(connect(r#"{"protocol":-5}"#).unwrap().protocol, -5);
        assert_eq!(connect(r#"{"protocol":9223372036854775807}"#).unwrap().protocol, i64::MAX);
        let o = ConnectOptions::from_json(b"{\"name\":\"a\xffb\"}").unwrap();
        assert_eq!(o.name.as_deref(), Some("a\u{fffd}b"));
        assert!(ConnectOptions::from_json(b"{\"name\":1\xff}").is_err());
        assert!(connect(r#"{"import":{"allow":["a",null],"deny":null},"export":null}"#).is_ok());
        assert!(connect("\t{ \"verbose\" : false }\r\n").is_ok());
    }

    #[test]
    fn merge_keeps_earlier_values() {
        let mut o = connect(r#"{"verbose":false,"user":"a"}"#).unwrap();
        o.merge_json(br#"{"pass":"b"}"#).unwrap();
        assert!(!o.verbose);
        assert_eq!(o.user.as_deref(), Some("a"));
        assert_eq!(o.pass.as_deref(), Some("b"));
        let before = o.clone();
        assert!(o.merge_json(br#"{"user":"c","echo":1}"#).is_err());
        assert_eq!(o, before);
    }

    #[test]
    fn client_info() {
        for good in [
            "{}",
            "null",
            r#"{"server_id":"x","port":4222,"max_payload":2147483647,"unknown":[1]}"#,
            r#"{"gossip_mode":255,"client_id":18446744073709551615}"#,
            r#"{"gateway_cmd_payload":"aGk=","connect_urls":["a:1",null]}"#,
            r#"{"gateway_cmd_payload":[1,255,null]}"#,
            r#"{"gateway_cmd_payload":"aGk\r\n="}"#,
            r#"{"import":{"allow":["x"]}}"#,
        ] {
            assert_eq!(check_client_info(good.as_bytes()), Ok(()), "{good}");
        }
        for bad in [
            "",
            "[]",
            "1",
            r#"{"port":"1"}"#,
            r#"{"max_payload":2147483648}"#,
            r#"{"gossip_mode":256}"#,
            r#"{"gateway_cmd":-1}"#,
            r#"{"client_id":-1}"#,
            r#"{"gateway_cmd_payload":"!!"}"#,
            r#"{"gateway_cmd_payload":"aGk"}"#,
            r#"{"gateway_cmd_payload":"a==="}"#,
            r#"{"gateway_cmd_payload":[256]}"#,
            r#"{"connect_urls":"a"}"#,
            r#"{"headers":"true"}"#,
            r#"{"import":[]}"#,
        ] {
            assert!(check_client_info(bad.as_bytes()).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn base64() {
        assert!(is_std_base64(""));
        assert!(is_std_base64("QUJD"));
        assert!(is_std_base64("QUI="));
        assert!(is_std_base64("QQ=="));
        assert!(is_std_base64("Q+/A"));
        assert!(!is_std_base64("QQ"));
        assert!(!is_std_base64("Q-_A"));
        assert!(!is_std_base64("Q=QA"));
        assert!(!is_std_base64("===="));
    }

    #[test]
    fn server_info_key_order_matches_nats_server() {
        // Key order and omitted empty keys of nats-server 2.15.1's first INFO (minus the keys
        // Strait does not send: git_commit, xkey).
        let info = ServerInfo {
            server_id: "ID".into(),
            server_name: "ID".into(),
            version: "2.15.1".into(),
            proto: 1,
            go: "go1.27.2".into(),
            host: "127.0.0.1".into(),
            port: 14222,
            headers: true,
            max_payload: 1048576,
            client_id: 5,
            client_ip: "127.0.0.1".into(),
            api_lvl: 5,
            ..ServerInfo::default()
        };
        assert_eq!(
            String::from_utf8(info.to_json()).unwrap(),
            r#"{"server_id":"ID","server_name":"ID","version":"2.15.1","proto":1,"go":"go1.27.2","host":"127.0.0.1","port":14222,"headers":true,"max_payload":1048576,"client_id":5,"client_ip":"127.0.0.1","api_lvl":5}"#
        );
    }
}
