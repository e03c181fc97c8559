//! The JSON of the gateway INFO and CONNECT (`shared/docs/gateway-protocol.md` §2.3, §2.4,
//! §4.4, §5.4).
//!
//! Encoding follows nats-server's Go structs (`Info`, `connectInfo`): keys in struct order,
//! `omitempty` keys left out when false, zero or empty, every other key always present.
//! Differences, for values no gateway uses: Go escapes `<`, `>`, `&`, U+2028 and U+2029 inside
//! strings (`\u003c`, …), serde_json writes them as they are; both decode the same.
//!
//! Decoding follows Go's `encoding/json` into those structs, starting from the zero value:
//! object members are applied in document order (a repeated key: the last one wins); a key
//! names a field when it equals the field's name under Go's case folding; unknown keys are
//! ignored whatever their value; `null` leaves a scalar field as it was and empties a list;
//! a value of the wrong JSON type for a field Strait reads is an error. Known difference: a
//! wrong-typed value of an `Info` field Strait does not read (say `"client_id":"x"`) fails in
//! nats-server and is ignored here.

use std::fmt;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::proto::json::JsonError;

/// `gateway_cmd` 1: gossip about another gateway (its name and URLs), §4.
pub const CMD_GOSSIP: u8 = 1;
/// `gateway_cmd` 2: the sender starts sending all subscriptions of the account in
/// `gateway_cmd_payload` (switch to interest-only mode), §5.4.
pub const CMD_ALL_SUBS_START: u8 = 2;
/// `gateway_cmd` 3: all subscriptions of the account in `gateway_cmd_payload` have been sent.
pub const CMD_ALL_SUBS_COMPLETE: u8 = 3;

/// The gateway protocol level nats-server 2.15 announces in INFO `proto` (`MsgTraceProto`).
pub const GATEWAY_PROTO: i64 = 3;

/// A gateway INFO, in nats-server's key order. Serialize it with [`GatewayInfo::to_json`],
/// decode a peer's with [`GatewayInfo::from_json`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GatewayInfo {
    /// Server id (a public nkey in nats-server).
    pub server_id: String,
    /// Configured `server_name`; empty if none is configured (not the id).
    pub server_name: String,
    /// Server version.
    pub version: String,
    /// Protocol level: [`GATEWAY_PROTO`] (nats-server before 2.10 sent 0).
    pub proto: i64,
    /// Runtime version: always empty in nats-server's gateway INFO.
    pub go: String,
    /// Gateway listen (or advertise) host.
    pub host: String,
    /// Gateway listen (or advertise) port. Go `int`, so not range-checked when decoding.
    pub port: i64,
    /// Header support (HMSG).
    pub headers: bool,
    /// The gateway port requires user/password.
    #[serde(skip_serializing_if = "is_false")]
    pub auth_required: bool,
    /// Gateway TLS is configured.
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    /// Gateway TLS verifies certificates (always with `tls_required`).
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    /// The sender's `max_payload` (informational only on gateways).
    pub max_payload: i32,
    /// The sender's gateway name; in a gossip INFO, the gateway gossiped about. Its presence
    /// is what identifies a gateway port.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    /// Gateway URLs (`host:port`, no scheme) of the sender's cluster, or of the gossiped one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gateway_urls: Vec<String>,
    /// The sender's own gateway URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gateway_url: String,
    /// Command code: 0 for a plain INFO, else [`CMD_GOSSIP`], [`CMD_ALL_SUBS_START`],
    /// [`CMD_ALL_SUBS_COMPLETE`] (other values: unknown command, logged by nats-server).
    #[serde(skip_serializing_if = "is_zero")]
    pub gateway_cmd: u8,
    /// Command payload (the account name for commands 2 and 3). Go `[]byte`: standard base64
    /// in JSON (`$G` is `"JEc="`).
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "base64_std")]
    pub gateway_cmd_payload: Vec<u8>,
    /// The sender understands `_GR_.` reply mapping.
    #[serde(skip_serializing_if = "is_false")]
    pub gateway_nrp: bool,
    /// The sender switches every account to interest-only mode at once (since 2.9.0).
    #[serde(skip_serializing_if = "is_false")]
    pub gateway_iom: bool,
}

impl GatewayInfo {
    /// The command INFO of §5.4 that opens the interest-only switch of `account`
    /// (`gateway_cmd` 2): every other field zero, `gateway` our own gateway name.
    pub fn all_subs_start(gateway: &str, account: &[u8]) -> Self {
        Self::command(gateway, CMD_ALL_SUBS_START, account)
    }

    /// The command INFO of §5.4 that closes the interest-only switch of `account`
    /// (`gateway_cmd` 3).
    pub fn all_subs_complete(gateway: &str, account: &[u8]) -> Self {
        Self::command(gateway, CMD_ALL_SUBS_COMPLETE, account)
    }

    /// The gossip INFO an acceptor sends a new inbound connection about another gateway it
    /// knows (§4.4, `gateway_cmd` 1): our `server_id`, the other gateway's name and URLs,
    /// every other field zero.
    ///
    /// The gossip nats-server floods over routes (§4.2) is the same with `server_id` =
    /// `"GW" + our id` and, for a gateway just connected, our `server_name`.
    pub fn gossip(server_id: &str, gateway: &str, gateway_urls: Vec<String>) -> Self {
        Self {
            server_id: server_id.to_owned(),
            gateway: gateway.to_owned(),
            gateway_urls,
            gateway_cmd: CMD_GOSSIP,
            ..Self::default()
        }
    }

    fn command(gateway: &str, cmd: u8, account: &[u8]) -> Self {
        Self {
            gateway: gateway.to_owned(),
            gateway_cmd: cmd,
            gateway_cmd_payload: account.to_vec(),
            ..Self::default()
        }
    }

    /// The JSON text (for [`crate::proto::gateway::info`]).
    pub fn to_json(&self) -> Vec<u8> {
        // Plain strings, integers, booleans and a base64 string cannot fail to serialise.
        serde_json::to_vec(self).expect("GatewayInfo serialises")
    }

    /// Decode a peer's INFO argument as nats-server does (see the module docs). Empty input,
    /// malformed JSON, a non-object or a wrong-typed field is an error; `null` gives the zero
    /// INFO.
    pub fn from_json(json: &[u8]) -> Result<Self, JsonError> {
        let mut info = Self::default();
        for (key, value) in members(json)?.into_iter().flatten() {
            let Some(field) = INFO_FIELDS.iter().copied().find(|f| key_matches(&key, f)) else {
                continue;
            };
            let v = &value;
            match field {
                "server_id" => set(&mut info.server_id, string(field, v)?),
                "server_name" => set(&mut info.server_name, string(field, v)?),
                "version" => set(&mut info.version, string(field, v)?),
                "proto" => set(&mut info.proto, int(field, v, i64::MIN, i64::MAX)?),
                "go" => set(&mut info.go, string(field, v)?),
                "host" => set(&mut info.host, string(field, v)?),
                "port" => set(&mut info.port, int(field, v, i64::MIN, i64::MAX)?),
                "headers" => set(&mut info.headers, boolean(field, v)?),
                "auth_required" => set(&mut info.auth_required, boolean(field, v)?),
                "tls_required" => set(&mut info.tls_required, boolean(field, v)?),
                "tls_verify" => set(&mut info.tls_verify, boolean(field, v)?),
                "max_payload" => {
                    let n = int(field, v, i32::MIN.into(), i32::MAX.into())?;
                    // The range was just checked.
                    set(&mut info.max_payload, n.map(|n| n as i32));
                }
                "gateway" => set(&mut info.gateway, string(field, v)?),
                "gateway_urls" => info.gateway_urls = strings(field, v)?,
                "gateway_url" => set(&mut info.gateway_url, string(field, v)?),
                "gateway_cmd" => {
                    let n = int(field, v, 0, u8::MAX.into())?;
                    // The range was just checked.
                    set(&mut info.gateway_cmd, n.map(|n| n as u8));
                }
                "gateway_cmd_payload" => info.gateway_cmd_payload = bytes(field, v)?,
                "gateway_nrp" => set(&mut info.gateway_nrp, boolean(field, v)?),
                "gateway_iom" => set(&mut info.gateway_iom, boolean(field, v)?),
                _ => {}
            }
        }
        Ok(info)
    }

    /// The account a command 2 or 3 is about: `gateway_cmd_payload` as UTF-8 (account names
    /// are strings), `None` if empty (nats-server answers that with
    /// `-ERR 'Account absent from receive-all-subscriptions-start command'`, or `-complete`)
    /// or not UTF-8.
    pub fn cmd_account(&self) -> Option<&str> {
        std::str::from_utf8(&self.gateway_cmd_payload).ok().filter(|a| !a.is_empty())
    }
}

/// A gateway CONNECT, in nats-server's key order (`connectInfo`). Serialize it with
/// [`GatewayConnect::to_json`], decode a peer's with [`GatewayConnect::from_json`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GatewayConnect {
    /// Always `false` when sent.
    pub echo: bool,
    /// Always `false` when sent. When a peer sends `true`, nats-server answers `+OK` to every
    /// RMSG/HMSG it receives afterwards.
    pub verbose: bool,
    /// Always `false` when sent.
    pub pedantic: bool,
    /// User, from the dialled URL or else our own gateway authorization.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// Password, likewise.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pass: String,
    /// This outbound connection uses TLS.
    pub tls_required: bool,
    /// Always `false` (a nats-server quirk: header support is negotiated through INFO only).
    pub headers: bool,
    /// Our server id.
    pub name: String,
    /// Always empty (but present).
    pub cluster: String,
    /// Our gateway name; a CONNECT without it comes from a client or route on the wrong port.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gateway: String,
}

impl GatewayConnect {
    /// The CONNECT a dialler sends: `name` our server id, `gateway` our gateway name, the
    /// credentials if any (empty strings are left out), and whether the link uses TLS.
    pub fn new(name: &str, gateway: &str, user: &str, pass: &str, tls_required: bool) -> Self {
        Self {
            user: user.to_owned(),
            pass: pass.to_owned(),
            tls_required,
            name: name.to_owned(),
            gateway: gateway.to_owned(),
            ..Self::default()
        }
    }

    /// The JSON text (for [`crate::proto::gateway::connect`]).
    pub fn to_json(&self) -> Vec<u8> {
        // Plain strings and booleans cannot fail to serialise.
        serde_json::to_vec(self).expect("GatewayConnect serialises")
    }

    /// Decode a peer's CONNECT argument as nats-server does for a gateway connection: from
    /// all-false/empty defaults (a gateway connection's options start zeroed, unlike a
    /// client's), keys matched case-insensitively, unknown keys ignored. Empty input, malformed
    /// JSON, a non-object or a wrong-typed field is an error.
    pub fn from_json(json: &[u8]) -> Result<Self, JsonError> {
        let mut c = Self::default();
        for (key, value) in members(json)?.into_iter().flatten() {
            let Some(field) = CONNECT_FIELDS.iter().copied().find(|f| key_matches(&key, f)) else {
                continue;
            };
            let v = &value;
            match field {
                "echo" => set(&mut c.echo, boolean(field, v)?),
                "verbose" => set(&mut c.verbose, boolean(field, v)?),
                "pedantic" => set(&mut c.pedantic, boolean(field, v)?),
                "user" => set(&mut c.user, string(field, v)?),
                "pass" => set(&mut c.pass, string(field, v)?),
                "tls_required" => set(&mut c.tls_required, boolean(field, v)?),
                "headers" => set(&mut c.headers, boolean(field, v)?),
                "name" => set(&mut c.name, string(field, v)?),
                "cluster" => set(&mut c.cluster, string(field, v)?),
                "gateway" => set(&mut c.gateway, string(field, v)?),
                _ => {}
            }
        }
        Ok(c)
    }
}

/// The `Info` fields Strait reads from a gateway INFO.
const INFO_FIELDS: &[&str] = &[
    "server_id",
    "server_name",
    "version",
    "proto",
    "go",
    "host",
    "port",
    "headers",
    "auth_required",
    "tls_required",
    "tls_verify",
    "max_payload",
    "gateway",
    "gateway_urls",
    "gateway_url",
    "gateway_cmd",
    "gateway_cmd_payload",
    "gateway_nrp",
    "gateway_iom",
];

/// The CONNECT fields Strait reads.
const CONNECT_FIELDS: &[&str] = &[
    "echo",
    "verbose",
    "pedantic",
    "user",
    "pass",
    "tls_required",
    "headers",
    "name",
    "cluster",
    "gateway",
];

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// Go's `base64.StdEncoding`: standard alphabet with padding; on decoding, non-zero trailing
/// bits are accepted as in Go.
const GO_STD_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

fn base64_std<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&GO_STD_BASE64.encode(bytes))
}

/// Store a decoded value; `None` (JSON `null`) keeps the field as it was.
pub(crate) fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}

pub(crate) fn type_error(field: &str) -> JsonError {
    JsonError(format!("wrong JSON type for field {field:?}"))
}

pub(crate) fn boolean(field: &str, v: &Value) -> Result<Option<bool>, JsonError> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        _ => Err(type_error(field)),
    }
}

pub(crate) fn string(field: &str, v: &Value) -> Result<Option<String>, JsonError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(type_error(field)),
    }
}

/// A Go integer in `min..=max`: an integer literal (no fraction, no exponent) in range.
pub(crate) fn int(field: &str, v: &Value, min: i64, max: i64) -> Result<Option<i64>, JsonError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_i64() {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(type_error(field)),
        },
        _ => Err(type_error(field)),
    }
}

/// Go `[]string`: an array of strings (a `null` element gives `""`); `null` empties it.
pub(crate) fn strings(field: &str, v: &Value) -> Result<Vec<String>, JsonError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Null => Ok(String::new()),
                Value::String(s) => Ok(s.clone()),
                _ => Err(type_error(field)),
            })
            .collect(),
        _ => Err(type_error(field)),
    }
}

/// Go `[]byte`: a standard base64 string (CR and LF skipped, as Go's decoder does), or an
/// array of integers 0..=255 (a `null` element gives 0); `null` empties it.
pub(crate) fn bytes(field: &str, v: &Value) -> Result<Vec<u8>, JsonError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => {
            let clean: String = s.chars().filter(|c| *c != '\r' && *c != '\n').collect();
            GO_STD_BASE64.decode(clean).map_err(|_| type_error(field))
        }
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Null => Ok(0),
                Value::Number(n) => {
                    n.as_u64().and_then(|n| u8::try_from(n).ok()).ok_or_else(|| type_error(field))
                }
                _ => Err(type_error(field)),
            })
            .collect(),
        _ => Err(type_error(field)),
    }
}

/// Whether JSON key `key` names the field `field` (lower-case ASCII) in Go's `encoding/json`:
/// equal after Unicode simple case folding, which for ASCII field names means ASCII
/// case-insensitivity plus `ſ` (U+017F) for `s` and the Kelvin sign (U+212A) for `k`.
pub(crate) fn key_matches(key: &str, field: &str) -> bool {
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

/// The members of the top-level JSON object in document order (repeated keys kept), or `None`
/// for `null`.
pub(crate) fn members(json: &[u8]) -> Result<Option<Vec<(String, Value)>>, JsonError> {
    // Go keeps invalid UTF-8 in strings (as U+FFFD); serde_json would reject it. Outside
    // strings the replacement is still a syntax error, as in Go.
    let text = String::from_utf8_lossy(json);
    let mut de = serde_json::Deserializer::from_str(&text);
    let top = TopLevel.deserialize(&mut de).map_err(|e| JsonError(e.to_string()))?;
    de.end().map_err(|e| JsonError(e.to_string()))?;
    top.ok_or_else(|| JsonError("not a JSON object".to_owned()))
}

/// Deserializes the top-level value: `Some(Some(members))` for an object, `Some(None)` for
/// `null`, `None` for any other value.
struct TopLevel;

impl<'de> DeserializeSeed<'de> for TopLevel {
    type Value = Option<Option<Vec<(String, Value)>>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(TopLevelVisitor)
    }
}

struct TopLevelVisitor;

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = Option<Option<Vec<(String, Value)>>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Some(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = map.next_entry::<String, Value>()? {
            members.push(member);
        }
        Ok(Some(Some(members)))
    }

    // Any other top-level value is valid JSON but not an INFO/CONNECT object: consume it and
    // report `None` so the caller can say so.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server id of a 2.15.1 run.
    const ID: &str = "NCTBBNKZ6UZ52EZIT3FXJHNJHJJ5UEX3QJADIQ4I476CDB4H5LU65L7O";

    fn text(json: Vec<u8>) -> String {
        String::from_utf8(json).unwrap()
    }

    fn b1_info() -> GatewayInfo {
        GatewayInfo {
            server_id: ID.into(),
            server_name: "B1".into(),
            version: "2.15.1".into(),
            proto: GATEWAY_PROTO,
            host: "127.0.0.1".into(),
            port: 29222,
            headers: true,
            max_payload: 1048576,
            gateway: "B".into(),
            gateway_urls: vec!["127.0.0.1:29222".into()],
            gateway_url: "127.0.0.1:29222".into(),
            gateway_nrp: true,
            gateway_iom: true,
            ..GatewayInfo::default()
        }
    }

    #[test]
    fn info_matches_nats_server_bytes() {
        // The INFO a 2.15.1 acceptor sent (captured on loopback).
        let wire = format!(
            r#"{{"server_id":"{ID}","server_name":"B1","version":"2.15.1","proto":3,"go":"","host":"127.0.0.1","port":29222,"headers":true,"max_payload":1048576,"gateway":"B","gateway_urls":["127.0.0.1:29222"],"gateway_url":"127.0.0.1:29222","gateway_nrp":true,"gateway_iom":true}}"#
        );
        assert_eq!(text(b1_info().to_json()), wire);
        assert_eq!(GatewayInfo::from_json(wire.as_bytes()), Ok(b1_info()));
        let tls = GatewayInfo {
            auth_required: true,
            tls_required: true,
            tls_verify: true,
            server_name: String::new(),
            ..b1_info()
        };
        let json = text(tls.to_json());
        assert!(
            json.contains(r#""server_name":"","#)
                && json.contains(r#""headers":true,"auth_required":true,"tls_required":true,"tls_verify":true,"max_payload":1048576,"#),
            "{json}"
        );
        assert_eq!(GatewayInfo::from_json(json.as_bytes()), Ok(tls));
    }

    #[test]
    fn command_infos_match_nats_server_bytes() {
        // §5.4 and a 2.15.1 capture.
        let zero = r#"{"server_id":"","server_name":"","version":"","proto":0,"go":"","host":"","port":0,"headers":false,"max_payload":0,"#;
        for (info, rest) in [
            (
                GatewayInfo::all_subs_start("B", b"$G"),
                r#""gateway":"B","gateway_cmd":2,"gateway_cmd_payload":"JEc="}"#,
            ),
            (
                GatewayInfo::all_subs_complete("B", b"$G"),
                r#""gateway":"B","gateway_cmd":3,"gateway_cmd_payload":"JEc="}"#,
            ),
            (
                GatewayInfo::all_subs_start("B", b"$SYS"),
                r#""gateway":"B","gateway_cmd":2,"gateway_cmd_payload":"JFNZUw=="}"#,
            ),
            (
                GatewayInfo::all_subs_complete("B", b"ACC1"),
                r#""gateway":"B","gateway_cmd":3,"gateway_cmd_payload":"QUNDMQ=="}"#,
            ),
        ] {
            let json = text(info.to_json());
            assert_eq!(json, format!("{zero}{rest}"));
            let back = GatewayInfo::from_json(json.as_bytes()).unwrap();
            assert_eq!(back, info);
            assert_eq!(back.cmd_account(), std::str::from_utf8(&info.gateway_cmd_payload).ok());
        }
    }

    #[test]
    fn gossip_info_matches_nats_server_bytes() {
        // §4.4 (2.15.1 exact, with our id).
        let info = GatewayInfo::gossip(ID, "C", vec!["127.0.0.1:17666".into()]);
        assert_eq!(
            text(info.to_json()),
            format!(
                r#"{{"server_id":"{ID}","server_name":"","version":"","proto":0,"go":"","host":"","port":0,"headers":false,"max_payload":0,"gateway":"C","gateway_urls":["127.0.0.1:17666"],"gateway_cmd":1}}"#
            )
        );
    }

    #[test]
    fn key_order_is_go_struct_order() {
        // nats-server's Info declares gateway_cmd and gateway_cmd_payload before gateway_nrp
        // and gateway_iom.
        let info = GatewayInfo {
            gateway_cmd: 1,
            gateway_cmd_payload: b"x".to_vec(),
            gateway_nrp: true,
            gateway_iom: true,
            ..GatewayInfo::default()
        };
        assert!(text(info.to_json()).ends_with(
            r#""max_payload":0,"gateway_cmd":1,"gateway_cmd_payload":"eA==","gateway_nrp":true,"gateway_iom":true}"#
        ));
    }

    #[test]
    fn connect_matches_nats_server_bytes() {
        // §2.4 (2.15.1 exact).
        let c = GatewayConnect::new(ID, "B", "cu", "cp", false);
        let wire = format!(
            r#"{{"echo":false,"verbose":false,"pedantic":false,"user":"cu","pass":"cp","tls_required":false,"headers":false,"name":"{ID}","cluster":"","gateway":"B"}}"#
        );
        assert_eq!(text(c.to_json()), wire);
        assert_eq!(GatewayConnect::from_json(wire.as_bytes()), Ok(c));
        let c = GatewayConnect::new(ID, "B", "", "", true);
        assert_eq!(
            text(c.to_json()),
            format!(
                r#"{{"echo":false,"verbose":false,"pedantic":false,"tls_required":true,"headers":false,"name":"{ID}","cluster":"","gateway":"B"}}"#
            )
        );
    }

    #[test]
    fn connect_decoding_is_tolerant() {
        // The minimal handshake the Go tests use (accepted by 2.15.1).
        let c = GatewayConnect::from_json(
            br#"{"verbose":false,"pedantic":false,"tls_required":false,"gateway":"A"}"#,
        )
        .unwrap();
        assert_eq!(c, GatewayConnect { gateway: "A".into(), ..GatewayConnect::default() });
        // Zero defaults (not the client's verbose/pedantic/echo = true), Go key folding,
        // unknown keys, null.
        let c = GatewayConnect::from_json(
            "{\"GATEWAY\":\"A\",\"Verbose\":true,\"u\u{17f}er\":\"x\",\"lang\":\"go\",\
             \"import\":{\"allow\":[1]},\"pass\":null,\"cluster_dynamic\":true}"
                .as_bytes(),
        )
        .unwrap();
        assert!(c.verbose && !c.pedantic && !c.echo);
        assert_eq!((c.gateway.as_str(), c.user.as_str(), c.pass.as_str()), ("A", "x", ""));
        assert_eq!(GatewayConnect::from_json(b"null"), Ok(GatewayConnect::default()));
        assert_eq!(GatewayConnect::from_json(b"{}"), Ok(GatewayConnect::default()));
        // A client or route CONNECT decodes; the missing gateway is the link's business.
        assert_eq!(
            GatewayConnect::from_json(br#"{"verbose":true,"lang":"rust","version":"1"}"#)
                .map(|c| c.gateway),
            Ok(String::new())
        );
        for bad in [
            &b""[..],
            b"{",
            b"[]",
            b"\"x\"",
            b"1",
            b"{} {}",
            b"{\"gateway\":1}",
            b"{\"verbose\":\"true\"}",
            b"{'gateway':'A'}",
        ] {
            assert!(GatewayConnect::from_json(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn info_decoding_accepts_what_peers_send() {
        // Minimal INFO of the Go tests.
        let info = GatewayInfo::from_json(br#"{"gateway":"A"}"#).unwrap();
        assert_eq!(info, GatewayInfo { gateway: "A".into(), ..GatewayInfo::default() });
        // A v2.9-era peer: proto 0, no iom; plus keys a gateway INFO never has, ignored.
        let old = br#"{"server_id":"X","server_name":"","version":"2.9.0","proto":0,"go":"go1.19","host":"h","port":7222,"headers":true,"max_payload":1048576,"gateway":"A","gateway_urls":["h:7222",null],"gateway_url":"h:7222","gateway_nrp":true,"connect_urls":["x"],"client_id":5,"jetstream":true,"future_field":{"a":[1,{}]}}"#;
        let info = GatewayInfo::from_json(old).unwrap();
        assert_eq!(info.proto, 0);
        assert!(info.gateway_nrp && !info.gateway_iom);
        assert_eq!(info.gateway_urls, ["h:7222", ""]);
        assert_eq!(info.go, "go1.19");
        // Keys fold like Go; the last repeated key wins; null keeps scalars, empties lists.
        let info = GatewayInfo::from_json(
            br#"{"GATEWAY":"A","Gateway_Cmd":2,"gateway":"B","port":1,"port":null,"gateway_urls":["a"],"gateway_urls":null}"#,
        )
        .unwrap();
        assert_eq!((info.gateway.as_str(), info.gateway_cmd, info.port), ("B", 2, 1));
        assert!(info.gateway_urls.is_empty());
        assert_eq!(GatewayInfo::from_json(b" null "), Ok(GatewayInfo::default()));
        // []byte as Go decodes it: base64 with line breaks skipped, lax trailing bits, or an
        // array of byte values.
        for payload in [r#""JEc=""#, r#""JE\r\nc=""#, r#""JEd=""#, "[36,71]"] {
            let json = format!(r#"{{"gateway_cmd":3,"gateway_cmd_payload":{payload}}}"#);
            let info = GatewayInfo::from_json(json.as_bytes()).unwrap();
            assert_eq!(info.cmd_account(), Some("$G"), "{payload}");
        }
        let info = GatewayInfo::from_json(br#"{"gateway_cmd":2}"#).unwrap();
        assert_eq!(info.cmd_account(), None);
        // Invalid UTF-8 inside a string is replaced, as Go does.
        let info = GatewayInfo::from_json(b"{\"server_name\":\"a\xffb\"}").unwrap();
        assert_eq!(info.server_name, "a\u{fffd}b");
    }

    #[test]
    fn info_decoding_rejects_malformed_input() {
        for bad in [
            &b""[..],
            b" ",
            b"{",
            b"{}x",
            b"[]",
            b"1",
            b"\"x\"",
            b"true",
            b"{\"gateway\":1}",
            b"{\"gateway_urls\":\"a\"}",
            b"{\"gateway_urls\":[1]}",
            b"{\"port\":\"1\"}",
            b"{\"port\":1.0}",
            b"{\"proto\":1e0}",
            b"{\"max_payload\":2147483648}",
            b"{\"gateway_cmd\":256}",
            b"{\"gateway_cmd\":-1}",
            b"{\"headers\":\"true\"}",
            b"{\"gateway_cmd_payload\":\"JEc\"}",
            b"{\"gateway_cmd_payload\":\"!!!!\"}",
            b"{\"gateway_cmd_payload\":[256]}",
            b"{\"gateway_cmd_payload\":{}}",
            b"{\"gateway\":\"A\",}",
            b"{\"server_name\":1\xff}",
        ] {
            assert!(
                GatewayInfo::from_json(bad).is_err(),
                "{:?} accepted",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn keys_fold_like_go() {
        assert!(key_matches("GATEWAY_IOM", "gateway_iom"));
        assert!(key_matches("\u{17f}erver_id", "server_id"));
        assert!(key_matches("as\u{212a}", "ask"));
        assert!(!key_matches("gateway_io", "gateway_iom"));
        assert!(!key_matches("gateway_iomm", "gateway_iom"));
        assert!(!key_matches("gatewayiom", "gateway_iom"));
    }
}
