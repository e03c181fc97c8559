//! `/routez`: the route links of this server (route-protocol.md §8.1), shaped as nats-server
//! 2.15.1's `Routez` and `RouteInfo`.

use serde::Serialize;

use super::connz::SubDetail;
use super::format::Timestamp;

/// The `/routez` response. Strait has no route permissions, so nats-server's `import` and
/// `export` (omitted when unset) never appear.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Routez {
    /// This server's id.
    pub server_id: String,
    /// This server's name.
    pub server_name: String,
    /// When the response was made.
    pub now: Timestamp,
    /// Registered route connections (not servers: nats-server counts pooled ones apart).
    pub num_routes: usize,
    /// One entry per route connection; `[]` when there are none (clustering off included).
    pub routes: Vec<RouteInfo>,
}

/// One route connection.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RouteInfo {
    /// Connection id (shared numbering with clients).
    pub rid: u64,
    /// The peer's server id.
    pub remote_id: String,
    /// The peer's server name.
    pub remote_name: String,
    /// We dialled it.
    pub did_solicit: bool,
    /// We dialled it from a configured route.
    pub is_configured: bool,
    /// Peer IP.
    pub ip: String,
    /// Peer port.
    pub port: u16,
    /// When it connected.
    pub start: Timestamp,
    /// Last inbound activity.
    pub last_activity: Timestamp,
    /// Last round-trip time (nats-server prints `0s` before the first PONG).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rtt: String,
    /// Time since `start`.
    pub uptime: String,
    /// Time since `last_activity`.
    pub idle: String,
    /// Bytes queued for the peer.
    #[serde(rename = "pending_size")]
    pub pending: u64,
    /// Messages received.
    pub in_msgs: u64,
    /// Messages sent.
    pub out_msgs: u64,
    /// Payload bytes received.
    pub in_bytes: u64,
    /// Payload bytes sent.
    pub out_bytes: u64,
    /// Remote subscriptions held on this connection.
    pub subscriptions: u32,
    /// Their subjects (`subs=1`; omitted when empty).
    #[serde(rename = "subscriptions_list", skip_serializing_if = "Vec::is_empty")]
    pub subs: Vec<String>,
    /// Their details (`subs=detail`; omitted when empty). `sid` is the wire key
    /// `account subject [queue]`, as nats-server shows for peers without `lnocu`.
    #[serde(rename = "subscriptions_list_detail", skip_serializing_if = "Vec::is_empty")]
    pub subs_detail: Vec<SubDetail>,
    /// The account pinned to this route (omitted for pooled routes).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account: String,
    /// `"off"` or `"not supported"` (Strait never compresses).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub compression: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::format::to_go_json;

    /// The structure nats-server 2.15.1 printed for `/routez?subs=detail` with one route
    /// (ids shortened).
    #[test]
    fn routez_shape_matches_nats_server() {
        let rz = Routez {
            server_id: "NA".into(),
            server_name: "A".into(),
            now: Timestamp::from_unix(1_795_581_619, 80_727_088),
            num_routes: 1,
            routes: vec![RouteInfo {
                rid: 5,
                remote_id: "NB".into(),
                remote_name: "B".into(),
                did_solicit: true,
                is_configured: true,
                ip: "127.0.0.1".into(),
                port: 16222,
                start: Timestamp::from_unix(1_795_581_617, 882_107_586),
                last_activity: Timestamp::from_unix(1_795_581_618, 131_082_338),
                rtt: "536µs".into(),
                uptime: "1s".into(),
                idle: "0s".into(),
                pending: 0,
                in_msgs: 1,
                out_msgs: 2,
                in_bytes: 3,
                out_bytes: 4,
                subscriptions: 1,
                subs: Vec::new(),
                subs_detail: vec![SubDetail {
                    subject: "foo".into(),
                    queue: "q".into(),
                    sid: "$G foo q".into(),
                    cid: 5,
                    ..SubDetail::default()
                }],
                account: String::new(),
                compression: "off".into(),
            }],
        };
        let want = r#"{
  "server_id": "NA",
  "server_name": "A",
  "now": "2026-11-25T04:40:19.080727088Z",
  "num_routes": 1,
  "routes": [
    {
      "rid": 5,
      "remote_id": "NB",
      "remote_name": "B",
      "did_solicit": true,
      "is_configured": true,
      "ip": "127.0.0.1",
      "port": 16222,
      "start": "2026-11-25T04:40:17.882107586Z",
      "last_activity": "2026-11-25T04:40:18.131082338Z",
      "rtt": "536µs",
      "uptime": "1s",
      "idle": "0s",
      "pending_size": 0,
      "in_msgs": 1,
      "out_msgs": 2,
      "in_bytes": 3,
      "out_bytes": 4,
      "subscriptions": 1,
      "subscriptions_list_detail": [
        {
          "subject": "foo",
          "qgroup": "q",
          "sid": "$G foo q",
          "msgs": 0,
          "cid": 5
        }
      ],
      "compression": "off"
    }
  ]
}"#;
        assert_eq!(String::from_utf8(to_go_json(&rz, true)).unwrap(), want);
    }

    #[test]
    fn no_routes_prints_an_empty_list() {
        let rz = Routez {
            server_id: "NA".into(),
            server_name: "A".into(),
            now: Timestamp::from_unix(1_795_581_619, 0),
            num_routes: 0,
            routes: Vec::new(),
        };
        assert!(to_go_json(&rz, true).ends_with(b"\"num_routes\": 0,\n  \"routes\": []\n}"));
    }
}
