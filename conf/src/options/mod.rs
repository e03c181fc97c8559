//! Typed options decoded from the value tree, named after nats-server's option names.
//!
//! Every option the file does not set is `None` (or empty), so the binary can apply
//! nats-server's defaults (given in each field's documentation) and let command-line flags
//! override the file. Option names are matched case-insensitively, as nats-server does; when
//! two spellings of one option are both present (`listen` and `port`, `log_file` and
//! `logfile`), the one written last wins (nats-server's choice is random).

mod auth;
mod cluster;
pub(crate) mod decode;
pub(crate) mod duration;
pub(crate) mod support;
mod tls;
mod url;

use std::time::Duration;

use serde::Serialize;

pub use auth::{
    Account, AccountLimits, Authorization, Permissions, ResponsePermission, SubjectPermission, User,
};
pub use cluster::{Cluster, Gateway, RemoteGateway};
pub use support::Ignored;
pub use tls::{CertPair, HandshakeFirst, Tls, TlsVersion};
pub use url::Url;

use crate::error::Error;
use crate::options::decode::{self as d, Sink};
use crate::options::tls::TlsContext;
use crate::value::{Map, Pos, Value};

/// Where an option block was written. Positions never make two options differ: `==` on
/// `Loc` is always true, so a reload that only moves lines has no changes.
#[derive(Clone, Debug, Default)]
pub struct Loc(pub Option<Pos>);

impl Serialize for Loc {
    /// As `"FILE:LINE:COL"`, or `null`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(p) => s.serialize_some(&p.to_string()),
            None => s.serialize_none(),
        }
    }
}

impl PartialEq for Loc {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// `write_timeout`: what to do when a write deadline passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum WriteTimeoutPolicy {
    /// `default`: close clients, retry for routes/gateways/leafs.
    Default,
    /// `close`: close the connection.
    Close,
    /// `retry`: keep trying.
    Retry,
}

/// All options of a configuration file.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Options {
    /// Client listen host (`listen`, `host`, `net`); default `0.0.0.0`.
    pub host: Option<String>,
    /// Client port (`listen`, `port`); default 4222, -1 random, 0 the default.
    pub port: Option<i32>,
    /// `host[:port]` advertised to clients instead of the listen address.
    pub client_advertise: Option<String>,
    /// Server name; default the server's public nkey. No spaces.
    pub server_name: Option<String>,

    /// Largest message payload; default 1 MiB (1048576), at most 2^31-1 and `max_pending`.
    pub max_payload: Option<u64>,
    /// Longest protocol line; default 4096, at most 2^31-1.
    pub max_control_line: Option<u64>,
    /// Per-connection outbound buffer; default 64 MiB (67108864).
    pub max_pending: Option<u64>,
    /// Most client connections (`max_connections`, `max_conn`); default 65536. nats-server
    /// turns 0 into -1, which refuses every connection.
    pub max_connections: Option<i64>,
    /// Most subscriptions per connection (`max_subscriptions`, `max_subs`); 0 unlimited.
    pub max_subscriptions: Option<u64>,
    /// Most tokens in a subject, 1–255 (`max_sub_tokens`); unset means no limit. Refused:
    /// Strait does not enforce it.
    pub max_sub_tokens: Option<u8>,
    /// Longest traced message shown; 0 unlimited.
    pub max_traced_msg_len: Option<u64>,
    /// Client ping interval; default 2 minutes.
    pub ping_interval: Option<Duration>,
    /// Unanswered pings before a client is closed; default 2.
    pub ping_max: Option<u64>,
    /// Write deadline; default 10 s.
    pub write_deadline: Option<Duration>,
    /// What to do when a client write times out; default `close`. `retry` is refused (Strait
    /// closes clients whose writes miss the deadline).
    pub write_timeout: Option<WriteTimeoutPolicy>,
    /// Turn off message headers (`no_header_support`).
    pub no_header_support: Option<bool>,
    /// Turn off the subject cache (`disable_sublist_cache`, `no_sublist_cache`).
    pub disable_sublist_cache: Option<bool>,
    /// Lame-duck duration; default 2 minutes, at least 30 s.
    pub lame_duck_duration: Option<Duration>,
    /// Lame-duck grace period; default 10 s, below `lame_duck_duration`.
    pub lame_duck_grace_period: Option<Duration>,

    /// Debug logging; default false.
    pub debug: Option<bool>,
    /// Protocol tracing; default false (`trace_verbose` and `trace_headers` set it too).
    pub trace: Option<bool>,
    /// Verbose tracing (system account too).
    pub trace_verbose: Option<bool>,
    /// Trace message headers.
    pub trace_headers: Option<bool>,
    /// Timestamps in log lines; default **true**.
    pub logtime: Option<bool>,
    /// Timestamps in UTC; default false.
    pub logtime_utc: Option<bool>,
    /// Log file (`log_file`, `logfile`); default standard error.
    pub log_file: Option<String>,
    /// Rotate the log file at this size (`log_size_limit`, `logfile_size_limit`); 0 never.
    pub log_size_limit: Option<u64>,
    /// Rotated log files kept (`log_max_num`, `logfile_max_num`); 0 all.
    pub log_max_num: Option<u64>,
    /// Log to syslog.
    pub syslog: Option<bool>,
    /// Remote syslog URL.
    pub remote_syslog: Option<String>,
    /// PID file (`pid_file`, `pidfile`).
    pub pid_file: Option<String>,
    /// Directory for the ports file.
    pub ports_file_dir: Option<String>,

    /// Monitoring host (`http`/`https` as `host:port`); default the client host.
    pub http_host: Option<String>,
    /// Monitoring port (`http`, `http_port`, `monitor_port`); default off (8222 is usual).
    pub http_port: Option<i32>,
    /// HTTPS monitoring port (`https`, `https_port`); needs `tls`.
    pub https_port: Option<i32>,
    /// Base path of the monitoring endpoints; default `/`.
    pub http_base_path: Option<String>,

    /// Client authorization.
    pub authorization: Option<Authorization>,
    /// Accounts.
    pub accounts: Vec<Account>,
    /// User that clients without credentials become.
    pub no_auth_user: Option<String>,
    /// System account (`system_account`, `system`); default `$SYS`.
    pub system_account: Option<String>,
    /// No system account (`no_system_account`, `no_system`, `no_sys_acc`).
    pub no_system_account: Option<bool>,
    /// TLS for clients.
    pub tls: Option<Tls>,
    /// Accept plain-text clients on a TLS port.
    pub allow_non_tls: Option<bool>,

    /// Cluster (routes).
    pub cluster: Option<Cluster>,
    /// Gateway (super-cluster).
    pub gateway: Option<Gateway>,

    /// Recognised nats-server options that Strait ignores safely (tuning, cosmetics,
    /// monitoring extras, WebSocket/MQTT listeners): `strait -t` prints them and passes, the
    /// server logs them as warnings. Options Strait cannot ignore are load errors
    /// ([`crate::ErrorKind::Unsupported`]).
    #[serde(skip)]
    pub ignored: Vec<Ignored>,
    /// What nats-server would warn about; `strait -t` fails on warnings like nats-server -t.
    #[serde(skip)]
    pub warnings: Vec<Error>,
}

const KNOWN: &[&str] = &[
    "listen",
    "port",
    "host",
    "net",
    "client_advertise",
    "server_name",
    "max_payload",
    "max_control_line",
    "max_pending",
    "max_connections",
    "max_conn",
    "max_subscriptions",
    "max_subs",
    "max_sub_tokens",
    "max_subscription_tokens",
    "max_traced_msg_len",
    "ping_interval",
    "ping_max",
    "write_deadline",
    "write_timeout",
    "no_header_support",
    "disable_sublist_cache",
    "no_sublist_cache",
    "lame_duck_duration",
    "lame_duck_grace_period",
    "debug",
    "trace",
    "trace_verbose",
    "trace_headers",
    "logtime",
    "logtime_utc",
    "log_file",
    "logfile",
    "log_size_limit",
    "logfile_size_limit",
    "log_max_num",
    "logfile_max_num",
    "syslog",
    "remote_syslog",
    "pid_file",
    "pidfile",
    "ports_file_dir",
    "http",
    "https",
    "http_port",
    "monitor_port",
    "https_port",
    "http_base_path",
    "authorization",
    "accounts",
    "no_auth_user",
    "system_account",
    "system",
    "no_system_account",
    "no_system",
    "no_sys_acc",
    "tls",
    "allow_non_tls",
    "cluster",
    "gateway",
    "jetstream",
    "no_fast_producer_stall",
    "ocsp",
];

pub(crate) fn write_timeout(s: &mut Sink, v: &Value, option: &str) -> Option<WriteTimeoutPolicy> {
    match d::string(s, v, option)?.as_str() {
        "default" => Some(WriteTimeoutPolicy::Default),
        "close" => Some(WriteTimeoutPolicy::Close),
        "retry" => Some(WriteTimeoutPolicy::Retry),
        other => {
            s.error(
                &v.pos,
                option,
                format!("expected \"default\", \"close\" or \"retry\", found {other:?}"),
            );
            None
        }
    }
}

fn size_limited(s: &mut Sink, v: &Value, option: &str) -> Option<u64> {
    let n = d::unsigned(s, v, option)?;
    if n > i32::MAX as u64 {
        s.error(&v.pos, option, format!("expected at most 2147483647 (2^31-1), found {n}"));
        return None;
    }
    Some(n)
}

impl Options {
    /// Decodes the top-level map of a parsed file (no cross-option validation).
    pub(crate) fn decode(m: &Map, s: &mut Sink) -> Options {
        let mut o = Options::default();
        for e in m.entries() {
            let key = e.key.to_lowercase();
            let p = e.key.as_str();
            let v = &e.value;
            if let Some(what) = support::lookup(support::REFUSED_TOP, &key) {
                s.refuse(&e.key_pos, p, what);
                continue;
            }
            if let Some(why) = support::lookup(support::IGNORED_TOP, &key) {
                s.ignore(&e.key_pos, p, why);
            }
            match key.as_str() {
                "listen" => {
                    if let Some((h, port)) = d::listen(s, v, p) {
                        o.host = h;
                        o.port = Some(port);
                    }
                }
                "port" => o.port = d::port(s, v, p),
                "host" | "net" => o.host = d::string(s, v, p),
                "client_advertise" => o.client_advertise = d::string(s, v, p),
                "server_name" => {
                    o.server_name = d::string(s, v, p);
                    if o.server_name.as_deref().is_some_and(|n| n.contains(' ')) {
                        s.error(&v.pos, p, "server name cannot contain spaces");
                    }
                }
                "max_payload" => o.max_payload = size_limited(s, v, p),
                "max_control_line" => o.max_control_line = size_limited(s, v, p),
                "max_pending" => o.max_pending = d::unsigned(s, v, p),
                "max_connections" | "max_conn" => o.max_connections = d::integer(s, v, p),
                "max_subscriptions" | "max_subs" => o.max_subscriptions = d::unsigned(s, v, p),
                "max_sub_tokens" | "max_subscription_tokens" => {
                    if let Some(n) = d::integer(s, v, p) {
                        match u8::try_from(n) {
                            Ok(n) if n > 0 => o.max_sub_tokens = Some(n),
                            _ => s.error(&v.pos, p, format!("expected 1 to 255, found {n}")),
                        }
                    }
                    s.refuse(&e.key_pos, p, "a limit on subject tokens");
                }
                "max_traced_msg_len" => o.max_traced_msg_len = d::unsigned(s, v, p),
                "ping_interval" => o.ping_interval = d::duration(s, v, p, true),
                "ping_max" => o.ping_max = d::unsigned(s, v, p),
                "write_deadline" => o.write_deadline = d::duration(s, v, p, true),
                "write_timeout" => {
                    o.write_timeout = write_timeout(s, v, p);
                    if o.write_timeout == Some(WriteTimeoutPolicy::Retry) {
                        s.refuse(&e.key_pos, p, "write_timeout \"retry\" for clients");
                    }
                }
                "no_header_support" => o.no_header_support = d::boolean(s, v, p),
                "disable_sublist_cache" | "no_sublist_cache" => {
                    o.disable_sublist_cache = d::boolean(s, v, p)
                }
                "lame_duck_duration" => {
                    o.lame_duck_duration = d::duration(s, v, p, false);
                    if let Some(t) = o.lame_duck_duration
                        && t < Duration::from_secs(30)
                    {
                        s.error(&v.pos, p, format!("expected at least 30s, found {t:?}"));
                    }
                }
                "lame_duck_grace_period" => o.lame_duck_grace_period = d::duration(s, v, p, false),
                "debug" => o.debug = d::boolean(s, v, p),
                "trace" => o.trace = d::boolean(s, v, p),
                "trace_verbose" => {
                    o.trace_verbose = d::boolean(s, v, p);
                    o.trace = o.trace_verbose.or(o.trace);
                }
                "trace_headers" => {
                    o.trace_headers = d::boolean(s, v, p);
                    o.trace = o.trace_headers.or(o.trace);
                }
                "logtime" => o.logtime = d::boolean(s, v, p),
                "logtime_utc" => o.logtime_utc = d::boolean(s, v, p),
                "log_file" | "logfile" => o.log_file = d::string(s, v, p),
                "log_size_limit" | "logfile_size_limit" => o.log_size_limit = d::unsigned(s, v, p),
                "log_max_num" | "logfile_max_num" => o.log_max_num = d::unsigned(s, v, p),
                "syslog" => o.syslog = d::boolean(s, v, p),
                "remote_syslog" => o.remote_syslog = d::string(s, v, p),
                "pid_file" | "pidfile" => o.pid_file = d::string(s, v, p),
                "ports_file_dir" => o.ports_file_dir = d::string(s, v, p),
                "http" => {
                    if let Some((h, port)) = d::listen(s, v, p) {
                        o.http_host = h;
                        o.http_port = Some(port);
                    }
                }
                "https" => {
                    if let Some((h, port)) = d::listen(s, v, p) {
                        o.http_host = h;
                        o.https_port = Some(port);
                    }
                }
                "http_port" | "monitor_port" => o.http_port = d::port(s, v, p),
                "https_port" => o.https_port = d::port(s, v, p),
                "http_base_path" => o.http_base_path = d::string(s, v, p),
                "authorization" => o.authorization = auth::authorization(s, v, p),
                "accounts" => o.accounts = auth::accounts(s, v, p),
                "no_auth_user" => o.no_auth_user = d::string(s, v, p),
                "system_account" | "system" => o.system_account = d::string(s, v, p),
                "no_system_account" | "no_system" | "no_sys_acc" => {
                    o.no_system_account = d::boolean(s, v, p)
                }
                "tls" => o.tls = tls::decode(s, v, p, TlsContext::Client),
                "allow_non_tls" => o.allow_non_tls = d::boolean(s, v, p),
                "cluster" => o.cluster = cluster::cluster(s, v, p),
                "gateway" => o.gateway = cluster::gateway(s, v, p),
                "jetstream" => {
                    if !support::turned_off(v) {
                        s.refuse(&e.key_pos, p, "JetStream");
                    }
                }
                "ocsp" => {
                    if !matches!(v.kind, crate::value::Kind::Bool(false)) {
                        s.refuse(&e.key_pos, p, "OCSP stapling");
                    }
                }
                "no_fast_producer_stall" => {
                    if d::boolean(s, v, p) == Some(true) {
                        s.refuse(
                            &e.key_pos,
                            p,
                            "dropping messages for stalled subscribers (no_fast_producer_stall)",
                        );
                    }
                }
                k if support::lookup(support::IGNORED_TOP, k).is_some() => {}
                _ => {
                    let known: Vec<&str> =
                        KNOWN.iter().copied().chain(support::top_level_names()).collect();
                    s.unknown(e, p, &known);
                }
            }
        }
        o
    }
}
