//! `/connz`: connections, and the `ConnInfo`/`SubDetail` shapes `/gatewayz` and `/subsz` reuse.
//!
//! Field names, order and `omitempty` rules are nats-server 2.15.1's `Connz`, `ConnInfo`,
//! `TLSPeerCert` and `SubDetail`. Go's `omitempty` on a string, number or slice is mirrored by
//! skipping the empty or zero value, so the source just leaves such fields at their default.

use serde::Serialize;

use super::format::Timestamp;

/// The `/connz` response.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Connz {
    /// This server's id.
    pub server_id: String,
    /// When the response was made.
    pub now: Timestamp,
    /// How many entries `connections` has.
    pub num_connections: usize,
    /// How many connections matched before `offset`/`limit`.
    pub total: usize,
    /// The effective offset ([`ConnzOptions::offset`](super::ConnzOptions)).
    pub offset: usize,
    /// The effective limit ([`ConnzOptions::limit`](super::ConnzOptions)).
    pub limit: usize,
    /// The page of connections; always an array, `[]` when empty.
    pub connections: Vec<ConnInfo>,
}

/// One connection, in `/connz` and as `connection` in `/gatewayz`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ConnInfo {
    /// Connection id.
    pub cid: u64,
    /// `"Client"`, `"Router"`, `"Gateway"`, `"Leafnode"`, … (omitted when empty).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Client type: `"nats"`, `"mqtt"`, `"websocket"` (omitted when empty, as for gateways).
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub client_type: String,
    /// Remote address.
    pub ip: String,
    /// Remote port.
    pub port: u16,
    /// When the connection was accepted or dialled.
    pub start: Timestamp,
    /// Last activity seen.
    pub last_activity: Timestamp,
    /// When a closed connection stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Timestamp>,
    /// Why a closed connection stopped (`"Client Closed"`, …).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Round-trip time, [`format::rtt`](super::format::rtt) (`"536µs"`; `"0s"` before measured).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rtt: String,
    /// Time since `start`, [`format::uptime`](super::format::uptime).
    pub uptime: String,
    /// Time since `last_activity`, [`format::uptime`](super::format::uptime).
    pub idle: String,
    /// Bytes queued for the connection.
    pub pending_bytes: u64,
    /// Messages received from it.
    pub in_msgs: u64,
    /// Messages sent to it.
    pub out_msgs: u64,
    /// Bytes received from it.
    pub in_bytes: u64,
    /// Bytes sent to it.
    pub out_bytes: u64,
    /// Times a producer was stalled by this connection.
    #[serde(skip_serializing_if = "is_zero")]
    pub stalls: u64,
    /// Number of subscriptions (for an outbound gateway: the remote's interest count).
    pub subscriptions: u32,
    /// Client name from CONNECT; for gateways the remote server id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Client library language.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub lang: String,
    /// Client library version.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Negotiated TLS version (`"1.3"`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tls_version: String,
    /// Negotiated cipher suite, Go's name for it.
    #[serde(rename = "tls_cipher_suite", skip_serializing_if = "String::is_empty")]
    pub tls_cipher: String,
    /// Peer certificates (only with `auth`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tls_peer_certs: Vec<TlsPeerCert>,
    /// TLS was started before the INFO (`handshake_first`).
    #[serde(skip_serializing_if = "is_false")]
    pub tls_first: bool,
    /// Authenticated user (only with `auth`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub authorized_user: String,
    /// Bound account (only with `auth`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account: String,
    /// Subscribed subjects (`subs=1`).
    #[serde(rename = "subscriptions_list", skip_serializing_if = "Vec::is_empty")]
    pub subs: Vec<String>,
    /// Subscription details (`subs=detail`); `account` left empty here, as nats-server does.
    #[serde(rename = "subscriptions_list_detail", skip_serializing_if = "Vec::is_empty")]
    pub subs_detail: Vec<SubDetail>,
    /// User JWT (only with `auth`, and never a bearer token).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub jwt: String,
    /// Issuer key of the user JWT.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub issuer_key: String,
    /// Account name tag; 2.15.1 prints `"$G"` here for a `$G` client with `auth=1`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name_tag: String,
    /// JWT tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// MQTT client id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mqtt_client: String,
}

/// A TLS peer certificate summary (`tls_peer_certs`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsPeerCert {
    /// The certificate's subject, as Go's `pkix.Name.String()`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// Hex SHA-256 of the SubjectPublicKeyInfo.
    #[serde(rename = "spki_sha256", skip_serializing_if = "String::is_empty")]
    pub subject_pki_sha256: String,
    /// Hex SHA-256 of the DER certificate.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_sha256: String,
}

/// One subscription in detail lists (`subscriptions_list_detail` of `/connz` and `/gatewayz`,
/// `subscriptions_list` of `/subsz`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SubDetail {
    /// Account name (filled in `/subsz` only).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account: String,
    /// Account name tag (filled in `/subsz` only; equals the name for `$G`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account_tag: String,
    /// Subject.
    pub subject: String,
    /// Queue group.
    #[serde(rename = "qgroup", skip_serializing_if = "String::is_empty")]
    pub queue: String,
    /// Subscription id as the client gave it (empty for gateway interest).
    pub sid: String,
    /// Messages delivered.
    pub msgs: u64,
    /// Auto-unsubscribe maximum.
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    /// Owning connection's id.
    pub cid: u64,
}

/// `/connz?sort=`: nats-server's `SortOpt` values. Only by cid is ascending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortOpt {
    /// `cid` (the default).
    Cid,
    /// `start`: same order as cid.
    Start,
    /// `subs`: number of subscriptions.
    Subs,
    /// `pending`: bytes waiting to be sent.
    Pending,
    /// `msgs_to`: messages sent.
    MsgsTo,
    /// `msgs_from`: messages received.
    MsgsFrom,
    /// `bytes_to`: bytes sent.
    BytesTo,
    /// `bytes_from`: bytes received.
    BytesFrom,
    /// `last`: last activity.
    Last,
    /// `idle`: inactivity.
    Idle,
    /// `uptime`: age.
    Uptime,
    /// `stop`: stop time (closed connections only).
    Stop,
    /// `reason`: close reason (closed connections only).
    Reason,
    /// `rtt`: round-trip time.
    Rtt,
}

impl SortOpt {
    /// The option for a query value (case-sensitive, as nats-server's `IsValid`).
    pub fn from_query(value: &[u8]) -> Option<Self> {
        Some(match value {
            b"cid" => Self::Cid,
            b"start" => Self::Start,
            b"subs" => Self::Subs,
            b"pending" => Self::Pending,
            b"msgs_to" => Self::MsgsTo,
            b"msgs_from" => Self::MsgsFrom,
            b"bytes_to" => Self::BytesTo,
            b"bytes_from" => Self::BytesFrom,
            b"last" => Self::Last,
            b"idle" => Self::Idle,
            b"uptime" => Self::Uptime,
            b"stop" => Self::Stop,
            b"reason" => Self::Reason,
            b"rtt" => Self::Rtt,
            _ => return None,
        })
    }
}

/// `/connz?state=`: which connections to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConnState {
    /// `open` (the default).
    #[default]
    Open,
    /// `closed`: recently closed connections.
    Closed,
    /// `all` or `any`.
    All,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::format::to_go_json;

    /// A client as nats-server 2.15.1 printed it for `/connz?subs=detail` (values copied).
    #[test]
    fn conn_info_shape_matches_nats_server() {
        let connz = Connz {
            server_id: "NABC".into(),
            now: Timestamp::from_unix(1_795_581_627, 93_020_928),
            num_connections: 1,
            total: 1,
            offset: 0,
            limit: 1024,
            connections: vec![ConnInfo {
                cid: 5,
                kind: "Client".into(),
                client_type: "nats".into(),
                ip: "127.0.0.1".into(),
                port: 57018,
                start: Timestamp::from_unix(1_795_581_626, 222_754_572),
                last_activity: Timestamp::from_unix(1_795_581_626, 223_763_055),
                rtt: "795µs".into(),
                uptime: "0s".into(),
                idle: "0s".into(),
                in_msgs: 1,
                out_msgs: 1,
                in_bytes: 2,
                out_bytes: 2,
                subscriptions: 2,
                name: "probe".into(),
                lang: "python".into(),
                version: "0.1".into(),
                subs_detail: vec![
                    SubDetail {
                        subject: "foo".into(),
                        sid: "1".into(),
                        msgs: 1,
                        cid: 5,
                        ..SubDetail::default()
                    },
                    SubDetail {
                        subject: "bar".into(),
                        queue: "q".into(),
                        sid: "2".into(),
                        cid: 5,
                        ..SubDetail::default()
                    },
                ],
                name_tag: "$G".into(),
                ..ConnInfo::default()
            }],
        };
        let want = r#"{
  "server_id": "NABC",
  "now": "2026-11-25T04:40:27.093020928Z",
  "num_connections": 1,
  "total": 1,
  "offset": 0,
  "limit": 1024,
  "connections": [
    {
      "cid": 5,
      "kind": "Client",
      "type": "nats",
      "ip": "127.0.0.1",
      "port": 57018,
      "start": "2026-11-25T04:40:26.222754572Z",
      "last_activity": "2026-11-25T04:40:26.223763055Z",
      "rtt": "795µs",
      "uptime": "0s",
      "idle": "0s",
      "pending_bytes": 0,
      "in_msgs": 1,
      "out_msgs": 1,
      "in_bytes": 2,
      "out_bytes": 2,
      "subscriptions": 2,
      "name": "probe",
      "lang": "python",
      "version": "0.1",
      "subscriptions_list_detail": [
        {
          "subject": "foo",
          "sid": "1",
          "msgs": 1,
          "cid": 5
        },
        {
          "subject": "bar",
          "qgroup": "q",
          "sid": "2",
          "msgs": 0,
          "cid": 5
        }
      ],
      "name_tag": "$G"
    }
  ]
}"#;
        assert_eq!(String::from_utf8(to_go_json(&connz, true)).unwrap(), want);
    }

    #[test]
    fn empty_connz_prints_an_empty_array() {
        let connz = Connz {
            server_id: "N".into(),
            now: Timestamp::from_unix(0, 0),
            num_connections: 0,
            total: 0,
            offset: 0,
            limit: 1024,
            connections: Vec::new(),
        };
        assert_eq!(
            String::from_utf8(to_go_json(&connz, false)).unwrap(),
            r#"{"server_id":"N","now":"1970-01-01T00:00:00Z","num_connections":0,"total":0,"offset":0,"limit":1024,"connections":[]}"#
        );
    }

    #[test]
    fn optional_conn_info_fields_appear_when_set() {
        let ci = ConnInfo {
            stop: Some(Timestamp::from_unix(1, 0)),
            reason: "Client Closed".into(),
            stalls: 3,
            tls_first: true,
            tls_peer_certs: vec![TlsPeerCert {
                subject: "CN=x".into(),
                subject_pki_sha256: "aa".into(),
                cert_sha256: "bb".into(),
            }],
            subs: vec!["foo".into()],
            ..ConnInfo::default()
        };
        assert_eq!(
            String::from_utf8(to_go_json(&ci, false)).unwrap(),
            concat!(
                r#"{"cid":0,"ip":"","port":0,"start":"0001-01-01T00:00:00Z","#,
                r#""last_activity":"0001-01-01T00:00:00Z","stop":"1970-01-01T00:00:01Z","#,
                r#""reason":"Client Closed","uptime":"","idle":"","pending_bytes":0,"in_msgs":0,"#,
                r#""out_msgs":0,"in_bytes":0,"out_bytes":0,"stalls":3,"subscriptions":0,"#,
                r#""tls_peer_certs":[{"subject":"CN=x","spki_sha256":"aa","cert_sha256":"bb"}],"#,
                r#""tls_first":true,"subscriptions_list":["foo"]}"#
            )
        );
    }
}
