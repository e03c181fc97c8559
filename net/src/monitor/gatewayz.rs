//! `/gatewayz`: gateway links and per-account interest (gateway-protocol.md §11.1), shaped as
//! nats-server 2.15.1's `Gatewayz`, `RemoteGatewayz` and `AccountGatewayz`.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::connz::{ConnInfo, SubDetail};
use super::format::Timestamp;

/// The `/gatewayz` response. Go prints map keys sorted, as the `BTreeMap`s here do.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Gatewayz {
    /// This server's id.
    pub server_id: String,
    /// When the response was made.
    pub now: Timestamp,
    /// This server's gateway name (omitted when gateways are off).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The gateway listener's host (omitted when gateways are off).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// The gateway listener's port (omitted when gateways are off).
    #[serde(skip_serializing_if = "is_zero_port")]
    pub port: u16,
    /// Outbound links by remote gateway name. `None` prints `null`: nats-server's answer when
    /// `gw_name` names a gateway without an outbound link.
    pub outbound_gateways: Option<BTreeMap<String, RemoteGatewayz>>,
    /// Inbound links by remote gateway name; several per name are possible.
    pub inbound_gateways: BTreeMap<String, Vec<RemoteGatewayz>>,
}

impl Gatewayz {
    /// The answer of a server with gateways off: id, time and two empty maps.
    pub fn disabled(server_id: impl Into<String>, now: Timestamp) -> Self {
        Self {
            server_id: server_id.into(),
            now,
            name: String::new(),
            host: String::new(),
            port: 0,
            outbound_gateways: Some(BTreeMap::new()),
            inbound_gateways: BTreeMap::new(),
        }
    }
}

/// One gateway link.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RemoteGatewayz {
    /// Outbound: the remote was configured explicitly (not discovered); inbound: always false.
    pub configured: bool,
    /// The link's connection (`kind` `"Gateway"`, `name` the remote server id, no `type`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnInfo>,
    /// Per-account interest, only with `accs`/`acc_name` (omitted when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountGatewayz>,
}

/// One account's interest state on a gateway link.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AccountGatewayz {
    /// Account name.
    pub name: String,
    /// The interest mode.
    pub interest_mode: InterestMode,
    /// Size of the no-interest (`RS-`) set, in optimistic mode.
    #[serde(skip_serializing_if = "is_zero")]
    pub no_interest_count: u64,
    /// Negative-interest entries before switching to interest-only (nats-server: 1000).
    #[serde(skip_serializing_if = "is_zero")]
    pub interest_only_threshold: u64,
    /// Outbound only: subscriptions the remote registered (interest-only mode).
    #[serde(rename = "num_subs", skip_serializing_if = "is_zero")]
    pub total_subscriptions: u64,
    /// Outbound only: queue subscriptions among them.
    #[serde(rename = "num_queue_subs", skip_serializing_if = "is_zero")]
    pub num_queue_subscriptions: u64,
    /// Subjects (`subs=1`, outbound).
    #[serde(rename = "subscriptions_list", skip_serializing_if = "Vec::is_empty")]
    pub subs: Vec<String>,
    /// Subscription details (`subs=detail`, outbound; `sid` empty).
    #[serde(rename = "subscriptions_list_detail", skip_serializing_if = "Vec::is_empty")]
    pub subs_detail: Vec<SubDetail>,
}

/// A gateway account's interest mode, printed as nats-server names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InterestMode {
    /// `"Optimistic"`: send unless told there is no interest.
    #[default]
    Optimistic,
    /// `"Transitioning"`: switching to interest-only.
    Transitioning,
    /// `"Interest-Only"`: send only on registered interest.
    InterestOnly,
}

impl InterestMode {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Optimistic => "Optimistic",
            Self::Transitioning => "Transitioning",
            Self::InterestOnly => "Interest-Only",
        }
    }
}

impl Serialize for InterestMode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_zero_port(v: &u16) -> bool {
    *v == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::format::to_go_json;

    fn gateway_conn(cid: u64, port: u16, out_msgs: u64, subscriptions: u32) -> ConnInfo {
        ConnInfo {
            cid,
            kind: "Gateway".into(),
            ip: "127.0.0.1".into(),
            port,
            start: Timestamp::from_unix(1_795_581_617, 882_107_586),
            last_activity: Timestamp::from_unix(1_795_581_618, 131_082_338),
            rtt: "536µs".into(),
            uptime: "1s".into(),
            idle: "0s".into(),
            out_msgs,
            out_bytes: 867 * out_msgs,
            subscriptions,
            name: "NACSQ".into(),
            ..ConnInfo::default()
        }
    }

    fn account(name: &str, num_subs: u64) -> AccountGatewayz {
        AccountGatewayz {
            name: name.into(),
            interest_mode: InterestMode::InterestOnly,
            interest_only_threshold: 1000,
            total_subscriptions: num_subs,
            ..AccountGatewayz::default()
        }
    }

    /// The structure nats-server 2.15.1 printed for `/gatewayz?accs=1` on gateway "A" linked to
    /// "B" (ids shortened, inbound counters adjusted).
    #[test]
    fn gatewayz_shape_matches_nats_server() {
        let gwz = Gatewayz {
            server_id: "NDZT".into(),
            now: Timestamp::from_unix(1_795_581_619, 80_727_088),
            name: "A".into(),
            host: "127.0.0.1".into(),
            port: 17222,
            outbound_gateways: Some(BTreeMap::from([(
                "B".to_owned(),
                RemoteGatewayz {
                    configured: true,
                    connection: Some(gateway_conn(6, 17333, 1, 53)),
                    accounts: vec![account("$SYS", 53), account("$G", 0)],
                },
            )])),
            inbound_gateways: BTreeMap::from([(
                "B".to_owned(),
                vec![RemoteGatewayz {
                    configured: false,
                    connection: Some(gateway_conn(5, 49356, 0, 0)),
                    accounts: vec![account("$G", 0)],
                }],
            )]),
        };
        let want = r#"{
  "server_id": "NDZT",
  "now": "2026-11-25T04:40:19.080727088Z",
  "name": "A",
  "host": "127.0.0.1",
  "port": 17222,
  "outbound_gateways": {
    "B": {
      "configured": true,
      "connection": {
        "cid": 6,
        "kind": "Gateway",
        "ip": "127.0.0.1",
        "port": 17333,
        "start": "2026-11-25T04:40:17.882107586Z",
        "last_activity": "2026-11-25T04:40:18.131082338Z",
        "rtt": "536µs",
        "uptime": "1s",
        "idle": "0s",
        "pending_bytes": 0,
        "in_msgs": 0,
        "out_msgs": 1,
        "in_bytes": 0,
        "out_bytes": 867,
        "subscriptions": 53,
        "name": "NACSQ"
      },
      "accounts": [
        {
          "name": "$SYS",
          "interest_mode": "Interest-Only",
          "interest_only_threshold": 1000,
          "num_subs": 53
        },
        {
          "name": "$G",
          "interest_mode": "Interest-Only",
          "interest_only_threshold": 1000
        }
      ]
    }
  },
  "inbound_gateways": {
    "B": [
      {
        "configured": false,
        "connection": {
          "cid": 5,
          "kind": "Gateway",
          "ip": "127.0.0.1",
          "port": 49356,
          "start": "2026-11-25T04:40:17.882107586Z",
          "last_activity": "2026-11-25T04:40:18.131082338Z",
          "rtt": "536µs",
          "uptime": "1s",
          "idle": "0s",
          "pending_bytes": 0,
          "in_msgs": 0,
          "out_msgs": 0,
          "in_bytes": 0,
          "out_bytes": 0,
          "subscriptions": 0,
          "name": "NACSQ"
        },
        "accounts": [
          {
            "name": "$G",
            "interest_mode": "Interest-Only",
            "interest_only_threshold": 1000
          }
        ]
      }
    ]
  }
}"#;
        assert_eq!(String::from_utf8(to_go_json(&gwz, true)).unwrap(), want);
    }

    #[test]
    fn disabled_and_unknown_name_forms() {
        let now = Timestamp::from_unix(1_795_581_592, 551_552_098);
        let off = Gatewayz::disabled("NABC", now);
        assert_eq!(
            String::from_utf8(to_go_json(&off, true)).unwrap(),
            "{\n  \"server_id\": \"NABC\",\n  \"now\": \"2026-11-25T04:39:52.551552098Z\",\n  \
             \"outbound_gateways\": {},\n  \"inbound_gateways\": {}\n}"
        );
        let unknown = Gatewayz {
            name: "A".into(),
            host: "127.0.0.1".into(),
            port: 17222,
            outbound_gateways: None,
            ..off
        };
        assert_eq!(
            String::from_utf8(to_go_json(&unknown, false)).unwrap(),
            r#"{"server_id":"NABC","now":"2026-11-25T04:39:52.551552098Z","name":"A","host":"127.0.0.1","port":17222,"outbound_gateways":null,"inbound_gateways":{}}"#
        );
    }

    #[test]
    fn account_optional_fields() {
        let a = AccountGatewayz {
            name: "$G".into(),
            interest_mode: InterestMode::Optimistic,
            no_interest_count: 4,
            interest_only_threshold: 1000,
            total_subscriptions: 2,
            num_queue_subscriptions: 1,
            subs_detail: vec![SubDetail {
                subject: "foo".into(),
                queue: "q".into(),
                cid: 6,
                ..SubDetail::default()
            }],
            ..AccountGatewayz::default()
        };
        assert_eq!(
            String::from_utf8(to_go_json(&a, false)).unwrap(),
            concat!(
                r#"{"name":"$G","interest_mode":"Optimistic","no_interest_count":4,"#,
                r#""interest_only_threshold":1000,"num_subs":2,"num_queue_subs":1,"#,
                r#""subscriptions_list_detail":[{"subject":"foo","qgroup":"q","sid":"","msgs":0,"cid":6}]}"#
            )
        );
        assert_eq!(
            serde_json::to_string(&InterestMode::Transitioning).unwrap(),
            "\"Transitioning\""
        );
    }
}
