//! `/varz`: server identity, options and counters, shaped as nats-server 2.15.1's `Varz` for a
//! server without JetStream, leaf nodes, MQTT or websocket (those sub-objects print as `{}`).
//!
//! Fields Strait has no counterpart for are left out when nats-server omits them at their zero
//! value anyway (`omitempty`): OCSP, operator JWTs, proxies, `gomemlimit`, `feature_flags`, …

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::format::{Timestamp, go_duration_as_nanos, go_float, is_zero_f64};

/// The `/varz` response.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Varz {
    /// Server id.
    pub server_id: String,
    /// Configured server name; the id when not set.
    pub server_name: String,
    /// Version string (`"2.15.1"` in nats-server).
    pub version: String,
    /// Client protocol version (1).
    pub proto: u32,
    /// Build commit.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub git_commit: String,
    /// Toolchain that built the binary (Go's version in nats-server).
    pub go: String,
    /// Client listener host.
    pub host: String,
    /// Client listener port.
    pub port: u16,
    /// Clients must authenticate.
    #[serde(skip_serializing_if = "is_false")]
    pub auth_required: bool,
    /// Clients must use TLS.
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    /// Client certificates are verified.
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    /// The advertised client IP, if set.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ip: String,
    /// URLs clients may connect to (cluster-wide).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connect_urls: Vec<String>,
    /// Client connection limit.
    pub max_connections: u64,
    /// Per-connection subscription limit (0: none, omitted).
    #[serde(skip_serializing_if = "is_zero")]
    pub max_subscriptions: u64,
    /// Client ping interval, printed in nanoseconds (`120000000000`).
    #[serde(serialize_with = "go_duration_as_nanos")]
    pub ping_interval: Duration,
    /// Unanswered pings before a connection is stale.
    pub ping_max: u64,
    /// Monitor listener host.
    pub http_host: String,
    /// Monitor listener port.
    pub http_port: u16,
    /// Monitor path prefix (`""`).
    pub http_base_path: String,
    /// HTTPS monitor port (0).
    pub https_port: u16,
    /// Authentication timeout, seconds (`2`).
    #[serde(serialize_with = "go_float")]
    pub auth_timeout: f64,
    /// Control-line limit, bytes.
    pub max_control_line: u64,
    /// Payload limit, bytes.
    pub max_payload: u64,
    /// Per-connection pending-bytes limit.
    pub max_pending: u64,
    /// Cluster (routes) options; `{}` when clustering is off. With gateways on and no cluster
    /// block, 2.15.1 still prints `{"name":"<gateway name>"}` here (the cluster is named after
    /// the gateway).
    pub cluster: ClusterOptsVarz,
    /// Gateway options; `{}` when gateways are off.
    pub gateway: GatewayOptsVarz,
    /// Leaf-node options: always `{}` in Strait.
    pub leaf: EmptyObject,
    /// MQTT options: always `{}` in Strait.
    pub mqtt: EmptyObject,
    /// Websocket options: always `{}` in Strait.
    pub websocket: EmptyObject,
    /// JetStream: always `{}` in Strait.
    pub jetstream: EmptyObject,
    /// TLS handshake timeout, seconds.
    #[serde(serialize_with = "go_float")]
    pub tls_timeout: f64,
    /// Write deadline, printed in nanoseconds.
    #[serde(serialize_with = "go_duration_as_nanos")]
    pub write_deadline: Duration,
    /// Write-deadline policy name, if configured.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub write_timeout: String,
    /// When the server started.
    pub start: Timestamp,
    /// When the response was made.
    pub now: Timestamp,
    /// Time since start, [`format::uptime`](super::format::uptime).
    pub uptime: String,
    /// Resident memory, bytes.
    pub mem: u64,
    /// CPU cores available.
    pub cores: u32,
    /// Worker threads (Go's GOMAXPROCS).
    pub gomaxprocs: u32,
    /// CPU usage, percent.
    #[serde(serialize_with = "go_float")]
    pub cpu: f64,
    /// Open client connections.
    pub connections: u64,
    /// Client connections accepted since start.
    pub total_connections: u64,
    /// Open routes.
    pub routes: u64,
    /// Configured route remotes.
    pub remotes: u64,
    /// Open leaf-node connections.
    pub leafnodes: u64,
    /// Messages received from all connections.
    pub in_msgs: u64,
    /// Bytes received from all connections.
    pub in_bytes: u64,
    /// Messages received from clients.
    pub in_client_msgs: u64,
    /// Bytes received from clients.
    pub in_client_bytes: u64,
    /// Messages sent on all connections.
    pub out_msgs: u64,
    /// Bytes sent on all connections.
    pub out_bytes: u64,
    /// Messages sent to clients.
    pub out_client_msgs: u64,
    /// Bytes sent to clients.
    pub out_client_bytes: u64,
    /// Slow-consumer disconnections since start.
    pub slow_consumers: u64,
    /// Stale connections detected since start.
    pub stale_connections: u64,
    /// Times clients were stalled.
    pub stalled_clients: u64,
    /// Subscriptions in all accounts.
    pub subscriptions: u32,
    /// Requests per monitor path. [`serve`](super::serve) fills this in from its own counts,
    /// whatever the source returns.
    pub http_req_stats: BTreeMap<String, u64>,
    /// When the configuration was (re)loaded.
    pub config_load_time: Timestamp,
    /// Digest of the configuration file (`""` without one).
    pub config_digest: String,
    /// Configured server tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Configured server metadata.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The system account's name (`"$SYS"`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub system_account: String,
    /// Slow consumers by connection kind.
    pub slow_consumer_stats: ConnKindStats,
    /// Stale connections by connection kind.
    pub stale_connection_stats: ConnKindStats,
    /// Disk I/O semaphore contention: all zero in Strait (no JetStream storage).
    pub disk_io_wait_stats: DiskIoWaitStats,
    /// Expiry of the client TLS certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert_not_after: Option<Timestamp>,
}

/// `cluster` in `/varz` (nats-server's `ClusterOptsVarz`); every field is omitted at zero.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClusterOptsVarz {
    /// Cluster name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Route listener host.
    #[serde(rename = "addr", skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// Route listener port.
    #[serde(rename = "cluster_port", skip_serializing_if = "is_zero_port")]
    pub port: u16,
    /// Route authentication timeout, seconds.
    #[serde(serialize_with = "go_float", skip_serializing_if = "is_zero_f64")]
    pub auth_timeout: f64,
    /// Configured route URLs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// TLS handshake timeout, seconds.
    #[serde(serialize_with = "go_float", skip_serializing_if = "is_zero_f64")]
    pub tls_timeout: f64,
    /// Routes must use TLS.
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    /// Route certificates are verified.
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    /// Route pool size (-1: pooling off, one connection per peer).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub pool_size: i64,
    /// Write deadline, printed in nanoseconds.
    #[serde(serialize_with = "go_duration_as_nanos", skip_serializing_if = "Duration::is_zero")]
    pub write_deadline: Duration,
    /// Write-deadline policy name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub write_timeout: String,
    /// Expiry of the route TLS certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert_not_after: Option<Timestamp>,
}

/// `gateway` in `/varz` (nats-server's `GatewayOptsVarz`, gateway-protocol.md §11.2); every field
/// is omitted at zero. 2.15.1 with a minimal block prints
/// `{"name":"A","host":"127.0.0.1","port":17222,"auth_timeout":2,"tls_timeout":2,"gateways":[…]}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GatewayOptsVarz {
    /// This server's gateway name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Gateway listener host.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// Gateway listener port.
    #[serde(skip_serializing_if = "is_zero_port")]
    pub port: u16,
    /// Authentication timeout, seconds.
    #[serde(serialize_with = "go_float", skip_serializing_if = "is_zero_f64")]
    pub auth_timeout: f64,
    /// TLS handshake timeout, seconds.
    #[serde(serialize_with = "go_float", skip_serializing_if = "is_zero_f64")]
    pub tls_timeout: f64,
    /// Gateway links must use TLS.
    #[serde(skip_serializing_if = "is_false")]
    pub tls_required: bool,
    /// Gateway certificates are verified.
    #[serde(skip_serializing_if = "is_false")]
    pub tls_verify: bool,
    /// The advertised gateway address.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub advertise: String,
    /// Dial attempts for implicit remotes.
    #[serde(skip_serializing_if = "is_zero")]
    pub connect_retries: u64,
    /// Remote gateways (configured and discovered), excluding this server's own name unless it
    /// is configured.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<RemoteGatewayOptsVarz>,
    /// Unknown gateways are rejected.
    #[serde(skip_serializing_if = "is_false")]
    pub reject_unknown: bool,
    /// Write deadline, printed in nanoseconds.
    #[serde(serialize_with = "go_duration_as_nanos", skip_serializing_if = "Duration::is_zero")]
    pub write_deadline: Duration,
    /// Write-deadline policy name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub write_timeout: String,
    /// Expiry of the gateway TLS certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert_not_after: Option<Timestamp>,
}

/// One remote gateway in `gateway.gateways`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RemoteGatewayOptsVarz {
    /// Remote gateway name.
    pub name: String,
    /// Per-remote TLS timeout, seconds.
    #[serde(serialize_with = "go_float", skip_serializing_if = "is_zero_f64")]
    pub tls_timeout: f64,
    /// `host:port` URLs, configured and discovered (no scheme, as 2.15.1 prints them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
}

/// `{}`: a sub-object for a subsystem Strait does not have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EmptyObject {}

/// Counts by connection kind (`slow_consumer_stats`, `stale_connection_stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConnKindStats {
    /// Client connections.
    pub clients: u64,
    /// Route connections.
    pub routes: u64,
    /// Gateway connections.
    pub gateways: u64,
    /// Leaf-node connections.
    pub leafs: u64,
}

/// `disk_io_wait_stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DiskIoWaitStats {
    /// Tasks waiting.
    pub waiters: u64,
    /// Acquisitions that waited.
    pub waits: u64,
    /// Total wait, nanoseconds.
    pub wait_time: u64,
    /// Longest wait, nanoseconds.
    pub max_wait_time: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

fn is_zero_port(v: &u16) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::format::to_go_json;

    /// A `Varz` with the values nats-server 2.15.1 printed for `-a 127.0.0.1 -p -1 -m 18222`.
    fn plain_varz() -> Varz {
        let start = Timestamp::from_unix(1_795_581_592, 439_098_559);
        Varz {
            server_id: "NABC".into(),
            server_name: "NABC".into(),
            version: "2.15.1".into(),
            proto: 1,
            git_commit: "b2fd3ef".into(),
            go: "go1.27.2".into(),
            host: "127.0.0.1".into(),
            port: 40131,
            auth_required: false,
            tls_required: false,
            tls_verify: false,
            ip: String::new(),
            connect_urls: Vec::new(),
            max_connections: 65536,
            max_subscriptions: 0,
            ping_interval: Duration::from_secs(120),
            ping_max: 2,
            http_host: "127.0.0.1".into(),
            http_port: 18222,
            http_base_path: String::new(),
            https_port: 0,
            auth_timeout: 2.0,
            max_control_line: 4096,
            max_payload: 1_048_576,
            max_pending: 67_108_864,
            cluster: ClusterOptsVarz::default(),
            gateway: GatewayOptsVarz::default(),
            leaf: EmptyObject {},
            mqtt: EmptyObject {},
            websocket: EmptyObject {},
            jetstream: EmptyObject {},
            tls_timeout: 2.0,
            write_deadline: Duration::from_secs(10),
            write_timeout: String::new(),
            start,
            now: Timestamp::from_unix(1_795_581_592, 502_900_937),
            uptime: "0s".into(),
            mem: 14_180_352,
            cores: 2,
            gomaxprocs: 2,
            cpu: 0.0,
            connections: 0,
            total_connections: 0,
            routes: 0,
            remotes: 0,
            leafnodes: 0,
            in_msgs: 0,
            in_bytes: 0,
            in_client_msgs: 0,
            in_client_bytes: 0,
            out_msgs: 0,
            out_bytes: 0,
            out_client_msgs: 0,
            out_client_bytes: 0,
            slow_consumers: 0,
            stale_connections: 0,
            stalled_clients: 0,
            subscriptions: 60,
            http_req_stats: BTreeMap::from([("/healthz".into(), 1), ("/varz".into(), 1)]),
            config_load_time: start,
            config_digest: String::new(),
            tags: Vec::new(),
            metadata: BTreeMap::new(),
            system_account: "$SYS".into(),
            slow_consumer_stats: ConnKindStats::default(),
            stale_connection_stats: ConnKindStats::default(),
            disk_io_wait_stats: DiskIoWaitStats::default(),
            tls_cert_not_after: None,
        }
    }

    /// nats-server 2.15.1's `/varz` verbatim, less `feature_flags` (JetStream flags; omitted by
    /// Strait on purpose).
    #[test]
    fn plain_varz_matches_nats_server() {
        let want = r#"{
  "server_id": "NABC",
  "server_name": "NABC",
  "version": "2.15.1",
  "proto": 1,
  "git_commit": "b2fd3ef",
  "go": "go1.27.2",
  "host": "127.0.0.1",
  "port": 40131,
  "max_connections": 65536,
  "ping_interval": 120000000000,
  "ping_max": 2,
  "http_host": "127.0.0.1",
  "http_port": 18222,
  "http_base_path": "",
  "https_port": 0,
  "auth_timeout": 2,
  "max_control_line": 4096,
  "max_payload": 1048576,
  "max_pending": 67108864,
  "cluster": {},
  "gateway": {},
  "leaf": {},
  "mqtt": {},
  "websocket": {},
  "jetstream": {},
  "tls_timeout": 2,
  "write_deadline": 10000000000,
  "start": "2026-11-25T04:39:52.439098559Z",
  "now": "2026-11-25T04:39:52.502900937Z",
  "uptime": "0s",
  "mem": 14180352,
  "cores": 2,
  "gomaxprocs": 2,
  "cpu": 0,
  "connections": 0,
  "total_connections": 0,
  "routes": 0,
  "remotes": 0,
  "leafnodes": 0,
  "in_msgs": 0,
  "in_bytes": 0,
  "in_client_msgs": 0,
  "in_client_bytes": 0,
  "out_msgs": 0,
  "out_bytes": 0,
  "out_client_msgs": 0,
  "out_client_bytes": 0,
  "slow_consumers": 0,
  "stale_connections": 0,
  "stalled_clients": 0,
  "subscriptions": 60,
  "http_req_stats": {
    "/healthz": 1,
    "/varz": 1
  },
  "config_load_time": "2026-11-25T04:39:52.439098559Z",
  "config_digest": "",
  "system_account": "$SYS",
  "slow_consumer_stats": {
    "clients": 0,
    "routes": 0,
    "gateways": 0,
    "leafs": 0
  },
  "stale_connection_stats": {
    "clients": 0,
    "routes": 0,
    "gateways": 0,
    "leafs": 0
  },
  "disk_io_wait_stats": {
    "waiters": 0,
    "waits": 0,
    "wait_time": 0,
    "max_wait_time": 0
  }
}"#;
        assert_eq!(String::from_utf8(to_go_json(&plain_varz(), true)).unwrap(), want);
    }

    #[test]
    fn gateway_sub_object_matches_nats_server() {
        let gw = GatewayOptsVarz {
            name: "A".into(),
            host: "127.0.0.1".into(),
            port: 17222,
            auth_timeout: 2.0,
            tls_timeout: 2.0,
            gateways: vec![RemoteGatewayOptsVarz {
                name: "B".into(),
                tls_timeout: 0.0,
                urls: vec!["127.0.0.1:17333".into()],
            }],
            ..GatewayOptsVarz::default()
        };
        // 2.15.1, gateway "A" with one explicit remote "B".
        assert_eq!(
            String::from_utf8(to_go_json(&gw, false)).unwrap(),
            r#"{"name":"A","host":"127.0.0.1","port":17222,"auth_timeout":2,"tls_timeout":2,"gateways":[{"name":"B","urls":["127.0.0.1:17333"]}]}"#
        );
        let full = GatewayOptsVarz {
            tls_required: true,
            tls_verify: true,
            advertise: "10.0.0.1:7222".into(),
            connect_retries: 3,
            reject_unknown: true,
            write_deadline: Duration::from_millis(1500),
            write_timeout: "close".into(),
            tls_cert_not_after: Some(Timestamp::from_unix(0, 0)),
            ..GatewayOptsVarz::default()
        };
        assert_eq!(
            String::from_utf8(to_go_json(&full, false)).unwrap(),
            concat!(
                r#"{"tls_required":true,"tls_verify":true,"advertise":"10.0.0.1:7222","#,
                r#""connect_retries":3,"reject_unknown":true,"write_deadline":1500000000,"#,
                r#""write_timeout":"close","tls_cert_not_after":"1970-01-01T00:00:00Z"}"#
            )
        );
    }

    #[test]
    fn cluster_sub_object_names() {
        let c = ClusterOptsVarz {
            name: "C".into(),
            host: "0.0.0.0".into(),
            port: 6222,
            auth_timeout: 2.0,
            urls: vec!["a:6222".into()],
            tls_timeout: 2.0,
            pool_size: 3,
            ..ClusterOptsVarz::default()
        };
        assert_eq!(
            String::from_utf8(to_go_json(&c, false)).unwrap(),
            concat!(
                r#"{"name":"C","addr":"0.0.0.0","cluster_port":6222,"auth_timeout":2,"#,
                r#""urls":["a:6222"],"tls_timeout":2,"pool_size":3}"#
            )
        );
    }
}
