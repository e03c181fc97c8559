//! Typed differences between two configurations, for reload (SIGHUP).

use std::time::Duration;

use crate::options::{Account, Authorization, Cluster, Gateway, Options, Tls, WriteTimeoutPolicy};

macro_rules! changes {
    ($($variant:ident($field:ident: $ty:ty, $restart:expr, $go:literal)),* $(,)?) => {
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

            /// nats-server's name for the option (its `Options` field), as in
            /// `config reload not supported for MaxPending: …`.
            pub fn go_name(&self) -> &'static str {
                match self {
                    $(Change::$variant { .. } => $go,)*
                }
            }

            /// nats-server's refusal: `config reload not supported for <Field>: old=<v>,
            /// new=<v>`, values printed as Go prints them where they are plain (unset is the
            /// zero value); structured options are summarised without secrets.
            pub fn refusal(&self) -> String {
                match self {
                    $(Change::$variant { old, new } => format!(
                        "config reload not supported for {}: old={}, new={}",
                        $go,
                        GoValue::go(old),
                        GoValue::go(new)
                    ),)*
                }
            }

            /// The new value as nats-server prints it in `Reloaded: <option> = <value>`.
            pub fn new_value(&self) -> String {
                match self {
                    $(Change::$variant { new, .. } => GoValue::go(new),)*
                }
            }

            /// Whether applying this change needs a restart, as nats-server 2.15 decides
            /// (`server/reload.go`): listen addresses, the server name, header support,
            /// `max_pending`, `max_subscriptions`, `max_sub_tokens`, `write_timeout`, lame-duck
            /// settings, log rotation limits, `allow_non_tls`, the system account, the
            /// cluster's identity and listener, and the gateway block. Strait deliberately lets
            /// the gateway's *remotes* (and, as nats-server, its TLS) change.
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
        /// Positions, warnings and ignored options (`Options::ignored`) are not compared.
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
    Host(host: Option<String>, yes, "Host"),
    Port(port: Option<i32>, yes, "Port"),
    ClientAdvertise(client_advertise: Option<String>, no, "ClientAdvertise"),
    ServerName(server_name: Option<String>, yes, "ServerName"),
    MaxPayload(max_payload: Option<u64>, no, "MaxPayload"),
    MaxControlLine(max_control_line: Option<u64>, no, "MaxControlLine"),
    MaxPending(max_pending: Option<u64>, yes, "MaxPending"),
    MaxConnections(max_connections: Option<i64>, no, "MaxConn"),
    MaxSubscriptions(max_subscriptions: Option<u64>, yes, "MaxSubs"),
    MaxSubTokens(max_sub_tokens: Option<u8>, yes, "MaxSubTokens"),
    MaxTracedMsgLen(max_traced_msg_len: Option<u64>, no, "MaxTracedMsgLen"),
    PingInterval(ping_interval: Option<Duration>, no, "PingInterval"),
    PingMax(ping_max: Option<u64>, no, "MaxPingsOut"),
    WriteDeadline(write_deadline: Option<Duration>, no, "WriteDeadline"),
    WriteTimeout(write_timeout: Option<WriteTimeoutPolicy>, yes, "WriteTimeout"),
    NoHeaderSupport(no_header_support: Option<bool>, yes, "NoHeaderSupport"),
    DisableSublistCache(disable_sublist_cache: Option<bool>, yes, "NoSublistCache"),
    LameDuckDuration(lame_duck_duration: Option<Duration>, yes, "LameDuckDuration"),
    LameDuckGracePeriod(lame_duck_grace_period: Option<Duration>, yes, "LameDuckGracePeriod"),
    Debug(debug: Option<bool>, no, "Debug"),
    Trace(trace: Option<bool>, no, "Trace"),
    TraceVerbose(trace_verbose: Option<bool>, no, "TraceVerbose"),
    TraceHeaders(trace_headers: Option<bool>, no, "TraceHeaders"),
    Logtime(logtime: Option<bool>, no, "Logtime"),
    LogtimeUtc(logtime_utc: Option<bool>, no, "LogtimeUTC"),
    LogFile(log_file: Option<String>, no, "LogFile"),
    LogSizeLimit(log_size_limit: Option<u64>, yes, "LogSizeLimit"),
    LogMaxNum(log_max_num: Option<u64>, yes, "LogMaxFiles"),
    Syslog(syslog: Option<bool>, no, "Syslog"),
    RemoteSyslog(remote_syslog: Option<String>, no, "RemoteSyslog"),
    PidFile(pid_file: Option<String>, no, "PidFile"),
    PortsFileDir(ports_file_dir: Option<String>, no, "PortsFileDir"),
    HttpHost(http_host: Option<String>, yes, "HTTPHost"),
    HttpPort(http_port: Option<i32>, yes, "HTTPPort"),
    HttpsPort(https_port: Option<i32>, yes, "HTTPSPort"),
    HttpBasePath(http_base_path: Option<String>, yes, "HTTPBasePath"),
    Authorization(authorization: Option<Authorization>, no, "Authorization"),
    Accounts(accounts: Vec<Account>, no, "Accounts"),
    NoAuthUser(no_auth_user: Option<String>, no_auth_user_needs_restart, "NoAuthUser"),
    SystemAccount(system_account: Option<String>, yes, "SystemAccount"),
    NoSystemAccount(no_system_account: Option<bool>, yes, "NoSystemAccount"),
    Tls(tls: Option<Tls>, no, "TLSConfig"),
    AllowNonTls(allow_non_tls: Option<bool>, yes, "AllowNonTLS"),
    Cluster(cluster: Option<Cluster>, cluster_needs_restart, "Cluster"),
    Gateway(gateway: Option<Gateway>, gateway_needs_restart, "Gateway"),
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

/// nats-server reloads only the gateway's TLS; Strait also adds and removes remotes (their
/// URLs and TLS included). The gateway's own name, listener and the rest are fixed.
fn gateway_needs_restart(old: &Option<Gateway>, new: &Option<Gateway>) -> bool {
    let strip = |g: &Option<Gateway>| {
        g.clone().map(|mut g| {
            g.tls = None;
            g.gateways.clear();
            g
        })
    };
    strip(old) != strip(new)
}

/// nats-server lets `no_auth_user` be unset only (and only when that user is gone; Strait does
/// not implement `no_auth_user`, so the user list is not consulted).
fn no_auth_user_needs_restart(old: &Option<String>, new: &Option<String>) -> bool {
    !(old.is_some() && new.is_none())
}

/// How nats-server's `%v` prints an option's value.
trait GoValue {
    fn go(&self) -> String;
}

macro_rules! go_plain {
    ($($t:ty => $zero:expr),* $(,)?) => {
        $(impl GoValue for Option<$t> {
            fn go(&self) -> String {
                self.as_ref().map_or_else(|| $zero.to_string(), ToString::to_string)
            }
        })*
    };
}

go_plain! { String => "", i32 => 0, i64 => 0, u64 => 0, u8 => 0, bool => false }

impl GoValue for Option<Duration> {
    fn go(&self) -> String {
        go_duration(self.unwrap_or_default())
    }
}

impl GoValue for Option<WriteTimeoutPolicy> {
    fn go(&self) -> String {
        match self {
            None => "",
            Some(WriteTimeoutPolicy::Default) => "default",
            Some(WriteTimeoutPolicy::Close) => "close",
            Some(WriteTimeoutPolicy::Retry) => "retry",
        }
        .to_owned()
    }
}

impl GoValue for Option<Authorization> {
    fn go(&self) -> String {
        // Secrets are never printed.
        if self.is_some() { "{…}" } else { "{}" }.to_owned()
    }
}

impl GoValue for Vec<Account> {
    fn go(&self) -> String {
        let names: Vec<&str> = self.iter().map(|a| a.name.as_str()).collect();
        format!("[{}]", names.join(" "))
    }
}

impl GoValue for Option<Tls> {
    fn go(&self) -> String {
        if self.is_some() { "{…}" } else { "<nil>" }.to_owned()
    }
}

impl GoValue for Option<Cluster> {
    fn go(&self) -> String {
        match self {
            None => "{}".to_owned(),
            Some(c) => format!(
                "{{{} {} {}}}",
                c.name.as_deref().unwrap_or_default(),
                c.host.as_deref().unwrap_or("0.0.0.0"),
                c.port.unwrap_or_default()
            ),
        }
    }
}

impl GoValue for Option<Gateway> {
    fn go(&self) -> String {
        match self {
            None => "{}".to_owned(),
            Some(g) => {
                let remotes: Vec<&str> = g.gateways.iter().map(|r| r.name.as_str()).collect();
                format!(
                    "{{{} {} {} [{}]}}",
                    g.name.as_deref().unwrap_or_default(),
                    g.host.as_deref().unwrap_or("0.0.0.0"),
                    g.port.unwrap_or_default(),
                    remotes.join(" ")
                )
            }
        }
    }
}

/// Go's `time.Duration.String` for the values options hold (`2m0s`, `30s`, `1.5s`, `250ms`).
fn go_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".to_owned();
    }
    if d < Duration::from_secs(1) {
        let ms = d.as_secs_f64() * 1000.0;
        return format!("{ms}ms");
    }
    let total = d.as_secs();
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    let frac = d.subsec_nanos();
    let secs = if frac == 0 {
        format!("{s}s")
    } else {
        format!("{s}.{}s", format!("{frac:09}").trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}
