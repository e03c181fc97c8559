//! Typed differences between two configurations, for reload (SIGHUP).

use std::time::Duration;

use crate::options::{Account, Authorization, Cluster, Gateway, Options, Tls, WriteTimeoutPolicy};

macro_rules! changes {
    ($($variant:ident($field:ident: $ty:ty, $restart:expr)),* $(,)?) => {
        /// One option that differs between two configurations, with both values.
        ///
        /// Each variant is named after the option (`Port` is `port`) and carries the old and
        /// the new value as [`Options`] holds them.
        #[derive(Clone, Debug, PartialEq)]
        #[allow(clippy::large_enum_variant, reason = "built once per reload; boxing buys nothing")]
        pub enum Change {
            $(
                #[doc = concat!("`", stringify!($field), "` changed.")]
                $variant {
                    /// The value before.
                    old: $ty,
                    /// The value after.
                    new: $ty,
                },
            )*
        }

        impl Change {
            /// The option's name, as in the configuration file.
            pub fn option(&self) -> &'static str {
                match self {
                    $(Change::$variant { .. } => stringify!($field),)*
                }
            }

            /// Whether applying this change needs a restart: nats-server refuses to reload
            /// listen addresses, the server name, the cluster's identity and listener, and any
            /// gateway change other than TLS (`config reload not supported for …`).
            pub fn requires_restart(&self) -> bool {
                match self {
                    $(Change::$variant { old, new } => {
                        let check: fn(&$ty, &$ty) -> bool = $restart;
                        check(old, new)
                    })*
                }
            }
        }

        /// The options that differ between `old` and `new`, in [`Options`] field order.
        /// Positions, warnings and ignored (unsupported) options are not compared.
        pub fn diff(old: &Options, new: &Options) -> Vec<Change> {
            let mut out = Vec::new();
            $(
                if old.$field != new.$field {
                    out.push(Change::$variant { old: old.$field.clone(), new: new.$field.clone() });
                }
            )*
            out
        }
    };
}

fn no(_: &impl PartialEq, _: &impl PartialEq) -> bool {
    false
}

fn yes(_: &impl PartialEq, _: &impl PartialEq) -> bool {
    true
}

changes! {
    Host(host: Option<String>, yes),
    Port(port: Option<i32>, yes),
    ClientAdvertise(client_advertise: Option<String>, no),
    ServerName(server_name: Option<String>, yes),
    MaxPayload(max_payload: Option<u64>, no),
    MaxControlLine(max_control_line: Option<u64>, no),
    MaxPending(max_pending: Option<u64>, no),
    MaxConnections(max_connections: Option<i64>, no),
    MaxSubscriptions(max_subscriptions: Option<u64>, no),
    MaxSubTokens(max_sub_tokens: Option<u8>, no),
    MaxTracedMsgLen(max_traced_msg_len: Option<u64>, no),
    PingInterval(ping_interval: Option<Duration>, no),
    PingMax(ping_max: Option<u64>, no),
    WriteDeadline(write_deadline: Option<Duration>, no),
    WriteTimeout(write_timeout: Option<WriteTimeoutPolicy>, no),
    NoHeaderSupport(no_header_support: Option<bool>, yes),
    DisableSublistCache(disable_sublist_cache: Option<bool>, yes),
    LameDuckDuration(lame_duck_duration: Option<Duration>, no),
    LameDuckGracePeriod(lame_duck_grace_period: Option<Duration>, no),
    Debug(debug: Option<bool>, no),
    Trace(trace: Option<bool>, no),
    TraceVerbose(trace_verbose: Option<bool>, no),
    TraceHeaders(trace_headers: Option<bool>, no),
    Logtime(logtime: Option<bool>, no),
    LogtimeUtc(logtime_utc: Option<bool>, no),
    LogFile(log_file: Option<String>, no),
    LogSizeLimit(log_size_limit: Option<u64>, no),
    LogMaxNum(log_max_num: Option<u64>, no),
    Syslog(syslog: Option<bool>, no),
    RemoteSyslog(remote_syslog: Option<String>, no),
    PidFile(pid_file: Option<String>, no),
    PortsFileDir(ports_file_dir: Option<String>, no),
    HttpHost(http_host: Option<String>, yes),
    HttpPort(http_port: Option<i32>, yes),
    HttpsPort(https_port: Option<i32>, yes),
    HttpBasePath(http_base_path: Option<String>, yes),
    Authorization(authorization: Option<Authorization>, no),
    Accounts(accounts: Vec<Account>, no),
    NoAuthUser(no_auth_user: Option<String>, no),
    SystemAccount(system_account: Option<String>, yes),
    NoSystemAccount(no_system_account: Option<bool>, yes),
    Tls(tls: Option<Tls>, no),
    AllowNonTls(allow_non_tls: Option<bool>, no),
    Cluster(cluster: Option<Cluster>, cluster_needs_restart),
    Gateway(gateway: Option<Gateway>, gateway_needs_restart),
}

/// The cluster can be reloaded except its name, listener and pool/pinned accounts.
fn cluster_needs_restart(old: &Option<Cluster>, new: &Option<Cluster>) -> bool {
    match (old, new) {
        (Some(a), Some(b)) => {
            a.name != b.name
                || a.host != b.host
                || a.port != b.port
                || a.pool_size != b.pool_size
                || a.accounts != b.accounts
        }
        _ => true,
    }
}

/// Only the gateway's TLS (including its remotes' TLS) can be reloaded.
fn gateway_needs_restart(old: &Option<Gateway>, new: &Option<Gateway>) -> bool {
    let strip = |g: &Option<Gateway>| {
        g.clone().map(|mut g| {
            g.tls = None;
            for r in &mut g.gateways {
                r.tls = None;
            }
            g
        })
    };
    strip(old) != strip(new)
}
