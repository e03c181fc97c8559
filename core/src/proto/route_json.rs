//! The JSON of the route INFO and CONNECT (`shared/docs/route-protocol.md` §2.3, §2.4, §1.4,
//! §6).
//!
//! Encoding follows nats-server's Go structs (`Info`, the route `connectInfo`): keys in struct
//! order, `omitempty` keys left out when false, zero or empty, every other key always present
//! (the same rules and the same known escaping difference as
//! [`crate::proto::gateway_json`]).
//!
//! Decoding follows Go's `encoding/json` into those structs, with the helpers of
//! [`crate::proto::gateway_json`]: members applied in document order, keys matched under Go's
//! case folding, unknown keys ignored, `null` keeps a scalar and empties a list (and clears
//! `import`/`export`), a value of the wrong JSON type is an error — also for the `Info` fields
//! Strait does not keep (`client_id`, `xkey`, …), as in nats-server. Known difference: inside
//! `import`/`export`, a key repeated under two spellings (`"allow"` and `"Allow"`) keeps the
//! lexically last one rather than the last in the document.

use serde::Serialize;
use serde_json::Value;

use crate::proto::gateway_json::{
    boolean, bytes, int, key_matches, members, set, string, strings, type_error,
};
use crate::proto::json::{ConnectOptions, JsonError};

/// The route protocol level nats-server 2.15 announces in INFO `proto`.
pub const ROUTE_PROTO: i64 = 3;

/// `gossip_mode` 0: gossip as usual.
pub const GOSSIP_DEFAULT: u8 = 0;
/// `gossip_mode` 1: the receiver must not gossip this route further.
pub const GOSSIP_DISABLED: u8 = 1;
/// `gossip_mode` 2: gossip even a route created by gossip.
pub const GOSSIP_OVERRIDE: u8 = 2;

/// `gateway_cmd` 1 in a gateway gossip INFO sent over a route (§6).
pub const GATEWAY_CMD_GOSSIP: u8 = 1;

/// Cluster permissions as sent in INFO `import`/`export` (Go `SubjectPermission`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SubjectPermission {
    /// Allowed subjects.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Denied subjects.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

impl SubjectPermission {
    /// Decode a JSON value into `into` (a Go `*SubjectPermission`: `null` gives `None`, an
    /// object updates the existing value or a zero one).
    fn decode(
        field: &str,
        v: &Value,
        into: Option<SubjectPermission>,
    ) -> Result<Option<Self>, JsonError> {
        let map = match v {
            Value::Null => return Ok(None),
            Value::Object(map) => map,
            _ => return Err(type_error(field)),
        };
        let mut perm = into.unwrap_or_default();
        for (key, value) in map {
            if key_matches(key, "allow") {
                perm.allow = strings(field, value)?;
            } else if key_matches(key, "deny") {
                perm.deny = strings(field, value)?;
            }
        }
        Ok(Some(perm))
    }
}

/// A route INFO, in nats-server's key order (every field of route-protocol §2.3). Serialize it
/// with [`RouteInfo::to_json`] (and [`crate::proto::route::initial_info`] or
/// [`crate::proto::route::info`]), decode a peer's with [`RouteInfo::from_json`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RouteInfo {
    /// Server id.
    pub server_id: String,
    /// Configured `server_name`, or the id when none is configured.
    pub server_name: String,
    /// Server version.
    pub version: String,
    /// Protocol level: [`ROUTE_PROTO`].
    pub proto: i64,
    /// Runtime version (nats-server: the Go version).
    pub go: String,
    /// Cluster listen (or advertise) host.
    pub host: String,
    /// Cluster listen (or advertise) port. Go `int`, so not range-checked when decoding.
    pub port: i64,
    /// Header support.
    pub headers: bool,
    /// `cluster.authorization` has a user.
    #[serde(skip_serializing_if = "is_false")]
    pub auth_required: bool,
    /// Cluster TLS.
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    /// Cluster TLS verifies certificates.
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    /// The sender's `max_payload` (informational on routes).
    pub max_payload: i32,
    /// JetStream enabled.
    #[serde(skip_serializing_if = "is_false")]
    pub jetstream: bool,
    /// `nats-route://host:port/`: with `cluster_advertise`, and always in gossip.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ip: String,
    /// Random, unused on routes; only in the initial INFO.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nonce: String,
    /// Cluster name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// The cluster name was generated.
    #[serde(skip_serializing_if = "is_false")]
    pub cluster_dynamic: bool,
    /// JetStream domain.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub domain: String,
    /// Client URLs of the sender.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connect_urls: Vec<String>,
    /// Websocket client URLs of the sender.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ws_connect_urls: Vec<String>,
    /// The sender entered lame-duck mode.
    #[serde(skip_serializing_if = "is_false")]
    pub ldm: bool,
    /// Compression mode (configured, or negotiated in a second INFO); empty: no support.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub compression: String,
    /// `cluster.permissions.import`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import: Option<SubjectPermission>,
    /// `cluster.permissions.export`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<SubjectPermission>,
    /// Understands `LS+`/`LMSG` with an origin cluster.
    #[serde(skip_serializing_if = "is_false")]
    pub lnoc: bool,
    /// Understands `LS-` with an origin cluster.
    #[serde(skip_serializing_if = "is_false")]
    pub lnocu: bool,
    /// 2.15.1: sends all leaf interest as `LS±` (origin `_` when unknown).
    #[serde(skip_serializing_if = "is_false")]
    pub ln: bool,
    /// Our `pool_size` (absent with `pool_size: -1`). Go `int`.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub route_pool_size: i64,
    /// Pool index requested by the solicitor (0 omitted). Go `int`.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub route_pool_idx: i64,
    /// Pinned account of this connection.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub route_account: String,
    /// Reload-time "account now pinned" request id (§3.6).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub route_acc_add_reqid: String,
    /// [`GOSSIP_DEFAULT`], [`GOSSIP_DISABLED`] or [`GOSSIP_OVERRIDE`] (Go `byte`).
    #[serde(skip_serializing_if = "is_zero_u8")]
    pub gossip_mode: u8,
    /// Gateway gossip (§6): the gateway gossiped about.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    /// Gateway gossip: that gateway's URLs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gateway_urls: Vec<String>,
    /// Our own gateway URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gateway_url: String,
    /// Gateway gossip: [`GATEWAY_CMD_GOSSIP`].
    #[serde(skip_serializing_if = "is_zero_u8")]
    pub gateway_cmd: u8,
    /// Our leafnode URL (one entry).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub leafnode_urls: Vec<String>,
}

impl RouteInfo {
    /// The JSON text.
    pub fn to_json(&self) -> Vec<u8> {
        // Strings, integers, booleans and lists of strings cannot fail to serialise.
        serde_json::to_vec(self).expect("RouteInfo serialises")
    }

    /// The gossip INFO about this peer (§1.4): this INFO with `ip` =
    /// `nats-route://<host_port>/` (`host_port` is the peer's address as we know it, e.g.
    /// `127.0.0.1:16399`), the nonce cleared and `gossip_mode` set.
    pub fn gossip(&self, host_port: &str, gossip_mode: u8) -> Self {
        Self {
            ip: format!("nats-route://{host_port}/"),
            nonce: String::new(),
            gossip_mode,
            ..self.clone()
        }
    }

    /// The gateway gossip INFO sent over routes (§6, `gateway-protocol.md` §4.2): `server_id`
    /// = `"GW"` + our id (so no peer takes it for an implicit route), our configured
    /// `server_name` (empty if none), the gateway's name and URLs, `gateway_cmd` 1, every
    /// other field zero.
    pub fn gateway_gossip(
        our_id: &str,
        server_name: &str,
        gateway: &str,
        gateway_urls: Vec<String>,
    ) -> Self {
        Self {
            server_id: format!("GW{our_id}"),
            server_name: server_name.to_owned(),
            gateway: gateway.to_owned(),
            gateway_urls,
            gateway_cmd: GATEWAY_CMD_GOSSIP,
            ..Self::default()
        }
    }

    /// Decode a peer's INFO argument as nats-server does (see the module docs). Empty input,
    /// malformed JSON, a non-object or a wrong-typed field is an error; `null` gives the zero
    /// INFO. The trailing space of an initial INFO is JSON whitespace.
    pub fn from_json(json: &[u8]) -> Result<Self, JsonError> {
        let mut i = Self::default();
        for (key, value) in members(json)?.into_iter().flatten() {
            let Some(field) = INFO_FIELDS.iter().copied().find(|f| key_matches(&key, f)) else {
                continue;
            };
            let v = &value;
            match field {
                "server_id" => set(&mut i.server_id, string(field, v)?),
                "server_name" => set(&mut i.server_name, string(field, v)?),
                "version" => set(&mut i.version, string(field, v)?),
                "proto" => set(&mut i.proto, int(field, v, i64::MIN, i64::MAX)?),
                "go" => set(&mut i.go, string(field, v)?),
                "host" => set(&mut i.host, string(field, v)?),
                "port" => set(&mut i.port, int(field, v, i64::MIN, i64::MAX)?),
                "headers" => set(&mut i.headers, boolean(field, v)?),
                "auth_required" => set(&mut i.auth_required, boolean(field, v)?),
                "tls_required" => set(&mut i.tls_required, boolean(field, v)?),
                "tls_verify" => set(&mut i.tls_verify, boolean(field, v)?),
                "max_payload" => {
                    let n = int(field, v, i32::MIN.into(), i32::MAX.into())?;
                    // The range was just checked.
                    set(&mut i.max_payload, n.map(|n| n as i32));
                }
                "jetstream" => set(&mut i.jetstream, boolean(field, v)?),
                "ip" => set(&mut i.ip, string(field, v)?),
                "nonce" => set(&mut i.nonce, string(field, v)?),
                "cluster" => set(&mut i.cluster, string(field, v)?),
                "cluster_dynamic" => set(&mut i.cluster_dynamic, boolean(field, v)?),
                "domain" => set(&mut i.domain, string(field, v)?),
                "connect_urls" => i.connect_urls = strings(field, v)?,
                "ws_connect_urls" => i.ws_connect_urls = strings(field, v)?,
                "ldm" => set(&mut i.ldm, boolean(field, v)?),
                "compression" => set(&mut i.compression, string(field, v)?),
                "import" => i.import = SubjectPermission::decode(field, v, i.import.take())?,
                "export" => i.export = SubjectPermission::decode(field, v, i.export.take())?,
                "lnoc" => set(&mut i.lnoc, boolean(field, v)?),
                "lnocu" => set(&mut i.lnocu, boolean(field, v)?),
                "ln" => set(&mut i.ln, boolean(field, v)?),
                "route_pool_size" => {
                    set(&mut i.route_pool_size, int(field, v, i64::MIN, i64::MAX)?)
                }
                "route_pool_idx" => set(&mut i.route_pool_idx, int(field, v, i64::MIN, i64::MAX)?),
                "route_account" => set(&mut i.route_account, string(field, v)?),
                "route_acc_add_reqid" => set(&mut i.route_acc_add_reqid, string(field, v)?),
                "gossip_mode" => {
                    let n = int(field, v, 0, u8::MAX.into())?;
                    // The range was just checked.
                    set(&mut i.gossip_mode, n.map(|n| n as u8));
                }
                "gateway" => set(&mut i.gateway, string(field, v)?),
                "gateway_urls" => i.gateway_urls = strings(field, v)?,
                "gateway_url" => set(&mut i.gateway_url, string(field, v)?),
                "gateway_cmd" => {
                    let n = int(field, v, 0, u8::MAX.into())?;
                    // The range was just checked.
                    set(&mut i.gateway_cmd, n.map(|n| n as u8));
                }
                "leafnode_urls" => i.leafnode_urls = strings(field, v)?,
                // Fields of Go's `Info` Strait does not keep: only their type is checked.
                "git_commit" | "client_ip" | "remote_account" | "xkey" => {
                    string(field, v)?;
                }
                "tls_available" | "connect_info" | "acc_is_sys" | "info_on_connect"
                | "gateway_nrp" | "gateway_iom" => {
                    boolean(field, v)?;
                }
                "client_id" => {
                    int(field, v, 0, i64::MAX)?;
                }
                "api_lvl" => {
                    int(field, v, i64::MIN, i64::MAX)?;
                }
                "gateway_cmd_payload" => {
                    bytes(field, v)?;
                }
                _ => {}
            }
        }
        Ok(i)
    }
}

/// A route CONNECT, in nats-server's key order (the route `connectInfo`). Serialize it with
/// [`RouteConnect::to_json`], decode a peer's with [`RouteConnect::from_json`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RouteConnect {
    /// `true` when sent (ignored).
    pub echo: bool,
    /// `false` when sent; `true` asks for `+OK` after every RS±/RMSG.
    pub verbose: bool,
    /// `false` when sent.
    pub pedantic: bool,
    /// User of the dialled URL (or our cluster credentials for an implicit route).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// Password, likewise.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pass: String,
    /// This connection uses TLS.
    pub tls_required: bool,
    /// Our header support.
    pub headers: bool,
    /// Our **server id** (not the server name).
    pub name: String,
    /// Our cluster name (always present).
    pub cluster: String,
    /// Our cluster name is generated.
    #[serde(skip_serializing_if = "is_false")]
    pub cluster_dynamic: bool,
    /// `true`: we understand `LS+`/`LMSG` with origin.
    #[serde(skip_serializing_if = "is_false")]
    pub lnoc: bool,
    /// Understands `LS-` with origin (2.15.1 does not send it in CONNECT).
    #[serde(skip_serializing_if = "is_false")]
    pub lnocu: bool,
    /// 2.15.1: leaf interest as `LS±` (sent `true`).
    #[serde(skip_serializing_if = "is_false")]
    pub ln: bool,
    /// Must be absent on a route: a gateway dialled the route port (§2.6).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    /// The client CONNECT field `lang`, never sent by a route: a client dialled the route
    /// port (`-ERR 'attempted to connect to route port'`, §2.6). Decoded only.
    #[serde(skip)]
    pub lang: String,
}

impl RouteConnect {
    /// The CONNECT a solicitor sends, as nats-server 2.15.1 (§2.4): `echo`, `headers`,
    /// `lnoc` and `ln` true, `name` our server id, our cluster name, the credentials of the
    /// dialled URL if any (empty strings are left out).
    pub fn new(
        server_id: &str,
        cluster: &str,
        cluster_dynamic: bool,
        user: &str,
        pass: &str,
        tls_required: bool,
    ) -> Self {
        Self {
            echo: true,
            user: user.to_owned(),
            pass: pass.to_owned(),
            tls_required,
            headers: true,
            name: server_id.to_owned(),
            cluster: cluster.to_owned(),
            cluster_dynamic,
            lnoc: true,
            ln: true,
            ..Self::default()
        }
    }

    /// The JSON text (for [`crate::proto::route::connect`]).
    pub fn to_json(&self) -> Vec<u8> {
        // Plain strings and booleans cannot fail to serialise.
        serde_json::to_vec(self).expect("RouteConnect serialises")
    }

    /// Decode a peer's CONNECT argument as nats-server does on the route port: first as a
    /// client CONNECT (whose rules and type errors apply, and which yields `lang`), then into
    /// the route `connectInfo` from zero values. Empty input, malformed JSON, a non-object or
    /// a wrong-typed field is an error.
    pub fn from_json(json: &[u8]) -> Result<Self, JsonError> {
        let lang = ConnectOptions::from_json(json)?.lang.unwrap_or_default();
        let mut c = Self { lang, ..Self::default() };
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
                "cluster_dynamic" => set(&mut c.cluster_dynamic, boolean(field, v)?),
                "lnoc" => set(&mut c.lnoc, boolean(field, v)?),
                "lnocu" => set(&mut c.lnocu, boolean(field, v)?),
                "ln" => set(&mut c.ln, boolean(field, v)?),
                "gateway" => set(&mut c.gateway, string(field, v)?),
                _ => {}
            }
        }
        Ok(c)
    }
}

/// The Go `Info` fields read from a route INFO (kept or only type-checked).
const INFO_FIELDS: &[&str] = &[
    "server_id",
    "server_name",
    "version",
    "proto",
    "git_commit",
    "go",
    "host",
    "port",
    "headers",
    "auth_required",
    "tls_required",
    "tls_verify",
    "tls_available",
    "max_payload",
    "jetstream",
    "ip",
    "client_id",
    "client_ip",
    "nonce",
    "cluster",
    "cluster_dynamic",
    "domain",
    "connect_urls",
    "ws_connect_urls",
    "ldm",
    "compression",
    "connect_info",
    "remote_account",
    "acc_is_sys",
    "api_lvl",
    "import",
    "export",
    "lnoc",
    "lnocu",
    "ln",
    "info_on_connect",
    "route_pool_size",
    "route_pool_idx",
    "route_account",
    "route_acc_add_reqid",
    "gossip_mode",
    "gateway",
    "gateway_urls",
    "gateway_url",
    "gateway_cmd",
    "gateway_cmd_payload",
    "gateway_nrp",
    "gateway_iom",
    "leafnode_urls",
    "xkey",
];

/// The route `connectInfo` fields.
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
    "cluster_dynamic",
    "lnoc",
    "lnocu",
    "ln",
    "gateway",
];

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_u8(n: &u8) -> bool {
    *n == 0
}

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The acceptor INFO of route-protocol §2.1 (2.15.1, ids abridged in the document).
    const A_INFO: &str = r#"{"server_id":"NBS7FUW","server_name":"A1","version":"2.15.1","proto":3,"go":"go1.27.2","host":"127.0.0.1","port":16222,"headers":true,"max_payload":1048576,"nonce":"qyG3xBkjn1QDzVU","cluster":"C1","connect_urls":["192.0.2.2:14222","[fd00::2]:14222"],"compression":"accept","lnoc":true,"lnocu":true,"ln":true,"route_pool_size":3}"#;

    /// The solicitor CONNECT of §2.1.
    const S_CONNECT: &str = r#"{"echo":true,"verbose":false,"pedantic":false,"tls_required":false,"headers":true,"name":"NDQMFTTJ","cluster":"C1","lnoc":true,"ln":true}"#;

    fn a_info() -> RouteInfo {
        RouteInfo {
            server_id: "NBS7FUW".into(),
            server_name: "A1".into(),
            version: "2.15.1".into(),
            proto: ROUTE_PROTO,
            go: "go1.27.2".into(),
            host: "127.0.0.1".into(),
            port: 16222,
            headers: true,
            max_payload: 1048576,
            nonce: "qyG3xBkjn1QDzVU".into(),
            cluster: "C1".into(),
            connect_urls: vec!["192.0.2.2:14222".into(), "[fd00::2]:14222".into()],
            compression: "accept".into(),
            lnoc: true,
            lnocu: true,
            ln: true,
            route_pool_size: 3,
            ..RouteInfo::default()
        }
    }

    fn text(json: Vec<u8>) -> String {
        String::from_utf8(json).unwrap()
    }

    #[test]
    fn info_matches_nats_server_bytes() {
        // Decoded from the wire, with the initial INFO's trailing space.
        let wire = format!("{A_INFO} ");
        assert_eq!(RouteInfo::from_json(wire.as_bytes()), Ok(a_info()));
        assert_eq!(text(a_info().to_json()), A_INFO);
        // Pinned and pool-index variants end as in §2.1.
        let pinned = RouteInfo { route_account: "$SYS".into(), ..a_info() };
        assert!(text(pinned.to_json()).ends_with(r#""route_pool_size":3,"route_account":"$SYS"}"#));
        let idx = RouteInfo { route_pool_idx: 1, ..a_info() };
        assert!(text(idx.to_json()).ends_with(r#""route_pool_size":3,"route_pool_idx":1}"#));
    }

    #[test]
    fn every_field_round_trips() {
        let perm = SubjectPermission { allow: vec!["a.>".into()], deny: vec!["b".into()] };
        let full = RouteInfo {
            auth_required: true,
            tls_required: true,
            tls_verify: true,
            jetstream: true,
            ip: "nats-route://127.0.0.1:16222/".into(),
            cluster_dynamic: true,
            domain: "D".into(),
            ws_connect_urls: vec!["w:1".into()],
            ldm: true,
            import: Some(perm.clone()),
            export: Some(SubjectPermission::default()),
            route_pool_idx: 2,
            route_account: "ACC".into(),
            route_acc_add_reqid: "r1".into(),
            gossip_mode: GOSSIP_OVERRIDE,
            gateway: "GW".into(),
            gateway_urls: vec!["g:1".into()],
            gateway_url: "g:2".into(),
            gateway_cmd: GATEWAY_CMD_GOSSIP,
            leafnode_urls: vec!["l:1".into()],
            ..a_info()
        };
        let json = full.to_json();
        assert_eq!(RouteInfo::from_json(&json), Ok(full.clone()));
        let text = text(json);
        assert!(text.contains(r#""import":{"allow":["a.>"],"deny":["b"]},"export":{},"#), "{text}");
        assert!(text.contains(r#""ldm":true,"compression":"accept","#), "{text}");
        assert!(text.contains(r#""ln":true,"route_pool_size":3,"route_pool_idx":2,"route_account":"ACC","route_acc_add_reqid":"r1","gossip_mode":2,"gateway":"GW","gateway_urls":["g:1"],"gateway_url":"g:2","gateway_cmd":1,"leafnode_urls":["l:1"]}"#), "{text}");
    }

    #[test]
    fn info_decoding_is_go_like() {
        let d = |s: &str| RouteInfo::from_json(s.as_bytes());
        assert_eq!(d("null"), Ok(RouteInfo::default()));
        assert!(d("").is_err());
        assert!(d("[]").is_err());
        assert!(d(r#"{"port":"x"}"#).is_err());
        assert!(d(r#"{"gossip_mode":256}"#).is_err());
        assert!(d(r#"{"max_payload":4294967296}"#).is_err());
        // Fields Strait does not keep are still type-checked, as Go does.
        assert!(d(r#"{"client_id":"x"}"#).is_err());
        assert!(d(r#"{"xkey":1}"#).is_err());
        assert!(d(r#"{"import":[]}"#).is_err());
        assert!(d(r#"{"import":{"allow":"a"}}"#).is_err());
        // Unknown fields ignored; keys case-folded; the last one wins; null keeps scalars.
        assert_eq!(
            d(r#"{"whatever":[1,{}],"SERVER_ID":"a","server_id":"b","Cluster":"C","cluster":null}"#)
                .map(|i| (i.server_id, i.cluster)),
            Ok(("b".into(), "C".into()))
        );
        // `null` clears a permission, an object updates it.
        let i = d(r#"{"import":{"allow":["x"]},"import":{"deny":["y"]}}"#).unwrap();
        assert_eq!(
            i.import,
            Some(SubjectPermission { allow: vec!["x".into()], deny: vec!["y".into()] })
        );
        assert_eq!(d(r#"{"import":{"allow":["x"]},"import":null}"#).unwrap().import, None);
    }

    #[test]
    fn gossip_infos() {
        let g = a_info().gossip("127.0.0.1:16399", GOSSIP_DISABLED);
        let text = text(g.to_json());
        assert!(!text.contains("nonce"), "{text}");
        assert!(
            text.contains(
                r#""max_payload":1048576,"ip":"nats-route://127.0.0.1:16399/","cluster":"C1","#
            ),
            "{text}"
        );
        assert!(text.ends_with(r#""route_pool_size":3,"gossip_mode":1}"#), "{text}");

        let gw = RouteInfo::gateway_gossip("NABC", "A1", "B", vec!["127.0.0.1:7222".into()]);
        assert_eq!(
            String::from_utf8(gw.to_json()).unwrap(),
            r#"{"server_id":"GWNABC","server_name":"A1","version":"","proto":0,"go":"","host":"","port":0,"headers":false,"max_payload":0,"gateway":"B","gateway_urls":["127.0.0.1:7222"],"gateway_cmd":1}"#
        );
    }

    #[test]
    fn connect_matches_nats_server_bytes() {
        let ours = RouteConnect::new("NDQMFTTJ", "C1", false, "", "", false);
        assert_eq!(text(ours.to_json()), S_CONNECT);
        assert_eq!(RouteConnect::from_json(S_CONNECT.as_bytes()), Ok(ours));
        let creds = RouteConnect::new("N", "C", true, "u", "p", true);
        assert_eq!(
            text(creds.to_json()),
            r#"{"echo":true,"verbose":false,"pedantic":false,"user":"u","pass":"p","tls_required":true,"headers":true,"name":"N","cluster":"C","cluster_dynamic":true,"lnoc":true,"ln":true}"#
        );
        assert_eq!(RouteConnect::from_json(&creds.to_json()), Ok(creds));
    }

    #[test]
    fn connect_decoding_is_go_like() {
        let d = |s: &str| RouteConnect::from_json(s.as_bytes());
        assert_eq!(
            d(r#"{"lang":"go","gateway":"G"}"#).map(|c| (c.lang, c.gateway)),
            Ok(("go".into(), "G".into()))
        );
        assert!(d(r#"{"cluster":1}"#).is_err());
        // A client CONNECT field of the wrong type fails too (nats-server decodes both).
        assert!(d(r#"{"protocol":"x"}"#).is_err());
        assert!(d("{").is_err());
        assert_eq!(d(r#"{"LNOCU":true,"x":1}"#).map(|c| c.lnocu), Ok(true));
    }
}
