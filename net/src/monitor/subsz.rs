//! `/subsz` (also served as `/subscriptionsz`): sublist statistics and, with `subs=1`, a page of
//! subscriptions. Shape of nats-server 2.15.1's `Subsz` with its embedded `SublistStats`.

use serde::Serialize;

use super::connz::SubDetail;
use super::format::{Timestamp, go_float};

/// The `/subsz` response.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Subsz {
    /// This server's id.
    pub server_id: String,
    /// When the response was made.
    pub now: Timestamp,
    /// Sublist counters, summed over the accounts reported (printed inline, as Go embeds them).
    #[serde(flatten)]
    pub stats: SublistStats,
    /// Subscriptions matched (with `subs=1`; 0 without).
    pub total: usize,
    /// The effective offset.
    pub offset: usize,
    /// The effective limit.
    pub limit: usize,
    /// The page of subscriptions, each with `account` and `account_tag` (omitted when empty).
    #[serde(rename = "subscriptions_list", skip_serializing_if = "Vec::is_empty")]
    pub subs: Vec<SubDetail>,
}

/// nats-server's `SublistStats`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SublistStats {
    /// Subscriptions stored.
    pub num_subscriptions: u32,
    /// Entries in the match cache.
    pub num_cache: u32,
    /// Inserts since start.
    pub num_inserts: u64,
    /// Removals since start.
    pub num_removes: u64,
    /// Match calls since start.
    pub num_matches: u64,
    /// Cache hits over matches, 0 to 1.
    #[serde(serialize_with = "go_float")]
    pub cache_hit_rate: f64,
    /// Largest result seen in the cache.
    pub max_fanout: u32,
    /// Mean result size of the cache entries.
    #[serde(serialize_with = "go_float")]
    pub avg_fanout: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::format::to_go_json;

    #[test]
    fn subsz_shape_matches_nats_server() {
        // Values from nats-server 2.15.1's `/subsz?subs=1&test=foo`.
        let subsz = Subsz {
            server_id: "NABC".into(),
            now: Timestamp::from_unix(1_795_581_627, 115_160_448),
            stats: SublistStats {
                num_subscriptions: 62,
                num_cache: 7,
                num_inserts: 62,
                num_removes: 0,
                num_matches: 13,
                cache_hit_rate: 0.46153846153846156,
                max_fanout: 1,
                avg_fanout: 0.7142857142857143,
            },
            total: 1,
            offset: 0,
            limit: 1024,
            subs: vec![SubDetail {
                account: "$G".into(),
                account_tag: "$G".into(),
                subject: "foo".into(),
                sid: "1".into(),
                msgs: 1,
                cid: 5,
                ..SubDetail::default()
            }],
        };
        let want = r#"{
  "server_id": "NABC",
  "now": "2026-11-25T04:40:27.115160448Z",
  "num_subscriptions": 62,
  "num_cache": 7,
  "num_inserts": 62,
  "num_removes": 0,
  "num_matches": 13,
  "cache_hit_rate": 0.46153846153846156,
  "max_fanout": 1,
  "avg_fanout": 0.7142857142857143,
  "total": 1,
  "offset": 0,
  "limit": 1024,
  "subscriptions_list": [
    {
      "account": "$G",
      "account_tag": "$G",
      "subject": "foo",
      "sid": "1",
      "msgs": 1,
      "cid": 5
    }
  ]
}"#;
        assert_eq!(String::from_utf8(to_go_json(&subsz, true)).unwrap(), want);
    }

    #[test]
    fn whole_rates_print_without_fraction() {
        let subsz = Subsz {
            server_id: "N".into(),
            now: Timestamp::from_unix(0, 0),
            stats: SublistStats { cache_hit_rate: 1.0, ..SublistStats::default() },
            total: 0,
            offset: 0,
            limit: 1024,
            subs: Vec::new(),
        };
        let out = String::from_utf8(to_go_json(&subsz, false)).unwrap();
        assert!(
            out.contains(r#""cache_hit_rate":1,"max_fanout":0,"avg_fanout":0,"total":0"#),
            "{out}"
        );
        assert!(!out.contains("subscriptions_list"));
    }
}
