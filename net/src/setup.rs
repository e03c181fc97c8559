//! From command-line flags and a configuration file to what the server runs with. Flags
//! override the file, as in nats-server.

use std::sync::Arc;
use std::time::Duration;

use strait_conf::Options;
use strait_conf::options::{Authorization, Cluster, Gateway, HandshakeFirst};
use strait_core::gateway::{GatewayConfig, GatewayUrl, RemoteConfig};
use strait_core::node::{AccountLimits, Auth, NodeConfig, User};
use strait_core::peer_url::PeerUrl;
use strait_core::permissions::Permissions;
use strait_core::proto::client::Limits;
use strait_core::route::{ClusterConfig, MAX_PING_INTERVAL};

use crate::cli::Args;
use crate::logging::LogSettings;
use crate::perm_setup;
use crate::server::DriverConfig;
use crate::tls_setup::{self, ServerTls};

/// Environment variable that makes the gateway act as a pre-2.9 (optimistic) acceptor.
pub const OPTIMISTIC_ENV: &str = "STRAIT_GATEWAY_OPTIMISTIC";

/// A listen address; port `None` asks for a random free port (`-1` in nats-server).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listen {
    /// Host to bind.
    pub host: String,
    /// Port to bind; `None` picks a free one.
    pub port: Option<u16>,
}

/// The gateway listener and what is needed to finish the gateway configuration once it is
/// bound (the advertised URL depends on the bound port).
#[derive(Clone, Debug)]
pub struct GatewaySetup {
    /// Where to listen.
    pub listen: Listen,
    /// `advertise` as written, if any.
    pub advertise: Option<String>,
    /// The gateway configuration; `advertise` is filled in by [`GatewaySetup::finish`].
    pub config: GatewayConfig,
}

impl GatewaySetup {
    /// The gateway configuration once the listener is bound to `bound_port`.
    pub fn finish(mut self, bound_port: u16) -> Result<GatewayConfig, String> {
        let host = advertised_host(&self.listen.host);
        self.config.advertise = match &self.advertise {
            Some(a) => parse_url_advertise(a, bound_port, "gateway", "Gateway")?,
            None => GatewayUrl::new(host, bound_port),
        };
        Ok(self.config)
    }
}

/// The route listener and what is needed to finish the cluster configuration once the
/// listeners are bound (the advertised route URL and the client URLs depend on bound ports).
#[derive(Clone, Debug)]
pub struct ClusterSetup {
    /// Where to listen for routes.
    pub listen: Listen,
    /// `cluster_advertise` as written, if any.
    pub advertise: Option<String>,
    /// Top-level `client_advertise`, if any: the client URL told to peers.
    pub client_advertise: Option<String>,
    /// The cluster configuration; `advertise` and `client_urls` are filled in by
    /// [`ClusterSetup::finish`].
    pub config: ClusterConfig,
}

impl ClusterSetup {
    /// The cluster configuration once the route listener is bound to `route_port` and the
    /// client listener to `client_host`:`client_port`.
    pub fn finish(
        mut self,
        route_port: u16,
        client_host: &str,
        client_port: u16,
    ) -> Result<ClusterConfig, String> {
        let host = advertised_host(&self.listen.host);
        self.config.advertise = match &self.advertise {
            Some(a) => parse_url_advertise(a, route_port, "route", "Cluster")?,
            None => PeerUrl::new(host, route_port),
        };
        self.config.advertise_set = self.advertise.is_some();
        let client = match &self.client_advertise {
            Some(a) => parse_url_advertise(a, client_port, "client", "Client")?,
            None => PeerUrl::new(advertised_host(client_host), client_port),
        };
        self.config.client_urls = vec![client.to_string()];
        Ok(self.config)
    }
}

/// The host told to peers for a listener bound to `listen`: nats-server advertises the first
/// non-loopback IP for a wildcard listen; Strait advertises loopback unless `advertise` says
/// otherwise (see docs/compat.md).
fn advertised_host(listen: &str) -> String {
    match listen {
        "0.0.0.0" | "::" | "" => "127.0.0.1".to_owned(),
        h => h.to_owned(),
    }
}

/// Everything the daemon needs to start.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Node settings (the gateway part is added once its listener is bound).
    pub node: NodeConfig,
    /// Driver settings.
    pub driver: DriverConfig,
    /// Client listener.
    pub client: Listen,
    /// Gateway listener and configuration, if a gateway is configured.
    pub gateway: Option<GatewaySetup>,
    /// Route listener and configuration, if the cluster has a port.
    pub cluster: Option<ClusterSetup>,
    /// TLS for clients, gateways and routes.
    pub tls: ServerTls,
    /// Monitoring port, if any.
    pub http: Option<Listen>,
    /// Debug logging.
    pub debug: bool,
    /// Trace logging.
    pub trace: bool,
    /// Log file.
    pub log_file: Option<String>,
    /// Timestamps in log lines (`logtime`, default true).
    pub logtime: bool,
    /// Where to write the pid (`pid_file`, `-P`).
    pub pid_file: Option<String>,
}

impl Setup {
    /// The logging part.
    pub fn log_settings(&self) -> LogSettings {
        LogSettings {
            debug: self.debug,
            trace: self.trace,
            logtime: self.logtime,
            log_file: self.log_file.clone(),
        }
    }
}

/// Build the setup from `args` and, when `-c` was given, the loaded `options`.
pub fn build(args: &Args, options: Option<&Options>) -> Result<Setup, String> {
    let default = Options::default();
    let o = options.unwrap_or(&default);
    let mut node = NodeConfig {
        server_name: args.name.clone().or_else(|| o.server_name.clone()),
        ..NodeConfig::default()
    };
    let host = args.addr.clone().or_else(|| o.host.clone()).unwrap_or_else(|| "0.0.0.0".into());
    let port = port_flag(args.port.or(o.port), 4222)?;
    node.host = host.clone();
    node.limits = Limits {
        max_payload: o.max_payload.map_or(node.limits.max_payload, |v| v as usize),
        max_control_line: o.max_control_line.map_or(node.limits.max_control_line, |v| v as usize),
    };
    if let Some(v) = o.max_pending {
        node.max_pending = v as usize;
    }
    if let Some(v) = o.max_connections.filter(|v| *v > 0) {
        node.max_connections = v as usize;
    }
    if let Some(v) = o.ping_interval {
        node.ping_interval = v;
    }
    if let Some(v) = o.ping_max {
        node.ping_max = v as u32;
    }
    if o.no_header_support == Some(true) {
        node.headers = false;
    }
    node.auth = client_auth(args, o)?;
    node.no_auth_user = o.no_auth_user.clone();
    node.max_subscriptions = o.max_subscriptions.unwrap_or(0);
    node.account_limits = account_limits(o);
    // The node formats its client debug and trace lines only when they are wanted.
    node.debug = if args.debug_given { args.debug } else { o.debug == Some(true) };
    node.trace = if args.trace_given { args.trace } else { o.trace == Some(true) };
    node.max_traced_msg_len = match args.max_traced_msg_len {
        Some(n) => usize::try_from(n).unwrap_or(0),
        None => o.max_traced_msg_len.map_or(0, |v| v as usize),
    };
    node.trace_headers = o.trace_headers == Some(true);
    let client_tls = tls_setup::client_block(args, o)?;
    // nats-server: handshake_first without a fallback delay overrides allow_non_tls.
    let tls_first_only =
        client_tls.as_ref().is_some_and(|t| t.handshake_first == Some(HandshakeFirst::On));
    let allow_non_tls = o.allow_non_tls == Some(true) && !tls_first_only;
    if let Some(t) = &client_tls {
        node.tls_required = !allow_non_tls;
        node.tls_available = allow_non_tls;
        node.tls_verify = t.verify;
        node.tls_map = t.verify_and_map;
        // nats-server: with TLS the auth timeout defaults to the TLS timeout + 1 s.
        node.auth_timeout =
            t.timeout.unwrap_or(crate::tls::DEFAULT_TIMEOUT) + Duration::from_secs(1);
    }
    if let Some(t) = o.authorization.as_ref().and_then(|a| a.timeout) {
        node.auth_timeout = t;
    }
    let mut tls =
        tls_setup::build(client_tls.as_ref(), o.gateway.as_ref(), crate::tls::system_clock())?;
    tls.allow_non_tls = allow_non_tls && client_tls.is_some();
    let mut driver = DriverConfig::default();
    if let Some(d) = o.write_deadline {
        driver.write_deadline = d;
    }
    driver.route_write_deadline = driver.write_deadline;
    if let Some(c) = &o.cluster {
        if let Some(d) = c.write_deadline {
            driver.route_write_deadline = d;
        }
        driver.route_write_close =
            c.write_timeout == Some(strait_conf::options::WriteTimeoutPolicy::Close);
    }
    let gateway = o.gateway.as_ref().map(|g| gateway_setup(g, o)).transpose()?;
    let cluster = match &o.cluster {
        Some(c) if c.port.is_some_and(|p| p != 0) => {
            let client_advertise =
                args.client_advertise.clone().or_else(|| o.client_advertise.clone());
            Some(cluster_setup(c, o, &node, client_advertise)?)
        }
        _ => None,
    };
    if let (Some(_), Some(c)) = (&cluster, &o.cluster)
        && let Some(t) = &c.tls
    {
        tls.set_routes(t, &c.routes, crate::tls::system_clock())?;
    }
    let http = match args.http_port.or(o.http_port) {
        None | Some(0) => None,
        Some(p) => Some(Listen {
            host: o.http_host.clone().unwrap_or_else(|| host.clone()),
            port: port_flag(Some(p), 8222)?,
        }),
    };
    Ok(Setup {
        node,
        driver,
        client: Listen { host, port },
        gateway,
        cluster,
        tls,
        http,
        debug: if args.debug_given { args.debug } else { o.debug == Some(true) },
        trace: if args.trace_given { args.trace } else { o.trace == Some(true) },
        log_file: args.log.as_ref().map(|p| p.display().to_string()).or_else(|| o.log_file.clone()),
        logtime: args.logtime.or(o.logtime).unwrap_or(true),
        pid_file: args.pid.as_ref().map(|p| p.display().to_string()).or_else(|| o.pid_file.clone()),
    })
}

/// nats-server's port rules: -1 is random, 0 the default.
fn port_flag(port: Option<i32>, default: u16) -> Result<Option<u16>, String> {
    match port {
        None | Some(0) => Ok(Some(default)),
        Some(-1) => Ok(None),
        Some(p) => u16::try_from(p).map(Some).map_err(|_| format!("invalid port {p}")),
    }
}

fn client_auth(args: &Args, o: &Options) -> Result<Auth, String> {
    if let Some(user) = &args.user {
        return Ok(Auth::UserPassword {
            user: user.clone(),
            password: args.pass.clone().unwrap_or_default(),
        });
    }
    if let Some(token) = &args.auth {
        return Ok(Auth::Token(token.clone()));
    }
    let mut users: Vec<User> = Vec::new();
    for account in &o.accounts {
        // An account's users take its default permissions, never the authorization block's
        // (checked against nats-server in permissions_interop).
        let default = account.default_permissions.as_ref().map(perm_setup::compile);
        users.extend(account.users.iter().map(|u| user(u, Some(&account.name), default.as_ref())));
    }
    if let Some(a) = &o.authorization {
        let default = a.default_permissions.as_ref().map(perm_setup::compile);
        if let Some(list) = &a.users {
            users.extend(list.iter().map(|u| user(u, None, default.as_ref())));
        } else if let Some(user) = &a.user {
            return Ok(Auth::UserPassword {
                user: user.clone(),
                password: a.password.clone().unwrap_or_default(),
            });
        } else if let Some(token) = &a.token {
            return Ok(Auth::Token(token.clone()));
        }
    }
    Ok(if users.is_empty() { Auth::None } else { Auth::Users(users) })
}

/// A configured user (or nkey user) as the core checks it; `default` permissions apply when it
/// has none of its own.
fn user(
    u: &strait_conf::options::User,
    account: Option<&str>,
    default: Option<&Arc<Permissions>>,
) -> User {
    User {
        user: u.nkey.clone().or_else(|| u.user.clone()).unwrap_or_default(),
        password: u.password.clone().unwrap_or_default(),
        nkey: u.nkey.is_some(),
        account: account.map(str::to_owned),
        connection_types: u.allowed_connection_types.iter().map(|t| t.to_uppercase()).collect(),
        permissions: perm_setup::for_user(u.permissions.as_ref(), default),
    }
}

/// Account `limits` (nats-server: a negative value is unlimited).
fn account_limits(o: &Options) -> Vec<(String, AccountLimits)> {
    let limit = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok());
    o.accounts
        .iter()
        .map(|a| {
            let l = &a.limits;
            let limits = AccountLimits {
                max_connections: limit(l.max_connections),
                max_subscriptions: limit(l.max_subscriptions),
                max_payload: limit(l.max_payload),
            };
            (a.name.clone(), limits)
        })
        .filter(|(_, l)| *l != AccountLimits::default())
        .collect()
}

fn gateway_setup(g: &Gateway, _o: &Options) -> Result<GatewaySetup, String> {
    let name = g.name.clone().ok_or("gateway has no name")?;
    let listen = Listen {
        host: g.host.clone().unwrap_or_else(|| "0.0.0.0".into()),
        port: port_flag(g.port, 0)?,
    };
    let mut config = GatewayConfig::new(name, GatewayUrl::new("127.0.0.1", 0));
    for r in &g.gateways {
        let urls = r
            .urls
            .iter()
            .filter_map(|u| {
                Some(GatewayUrl {
                    host: u.host.clone(),
                    port: u.port?,
                    user: u.user.clone(),
                    password: u.password.clone(),
                })
            })
            .collect();
        config.remotes.push(RemoteConfig { name: r.name.clone(), urls });
    }
    if let Some(t) = &g.tls {
        config.tls = true;
        config.tls_map = t.verify_and_map;
        config.tls_check_known_urls = t.verify_cert_and_check_known_urls;
        config.auth_timeout =
            t.timeout.unwrap_or(crate::tls::DEFAULT_TIMEOUT) + Duration::from_secs(1);
    }
    config.tls_remotes =
        g.gateways.iter().filter(|r| r.tls.is_some()).map(|r| r.name.clone()).collect();
    if let Some(Authorization { user, password, timeout, .. }) = &g.authorization {
        config.user = user.clone();
        config.password = password.clone();
        if let Some(t) = timeout {
            config.auth_timeout = *t;
        }
    }
    config.reject_unknown_cluster = g.reject_unknown_cluster.unwrap_or(false);
    config.connect_retries = g.connect_retries.unwrap_or(0).max(0) as u32;
    config.connect_backoff = g.connect_backoff.unwrap_or(false);
    // Test-only: behave as a pre-2.9 acceptor (optimistic accounts, no `gateway_iom`) so the
    // optimistic path can be exercised against real peers (see docs/compat.md).
    if std::env::var_os(OPTIMISTIC_ENV).is_some() {
        config.interest_only = false;
    }
    Ok(GatewaySetup { listen, advertise: g.advertise.clone(), config })
}

/// `advertise` values: `host[:port]` (port defaults to the bound one), with nats-server's
/// error text for the listener `kind` (`Gateway.Advertise`, `Cluster.Advertise`).
fn parse_url_advertise(
    text: &str,
    default_port: u16,
    what: &str,
    field: &str,
) -> Result<PeerUrl, String> {
    let bad = || format!("Error setting {what} INFO with {field}.Advertise value of {text}");
    let rest = text.split_once("://").map_or(text, |(_, r)| r);
    match rest.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.starts_with('[') => {
            let port = p.parse().map_err(|_| bad())?;
            Ok(PeerUrl::new(h.trim_start_matches('[').trim_end_matches(']'), port))
        }
        Some(_) => Err(bad()),
        None => Ok(PeerUrl::new(rest, default_port)),
    }
}

/// The `cluster {}` block (with a port) as the node needs it.
fn cluster_setup(
    c: &Cluster,
    o: &Options,
    node: &NodeConfig,
    client_advertise: Option<String>,
) -> Result<ClusterSetup, String> {
    let listen = Listen {
        host: c.host.clone().unwrap_or_else(|| "0.0.0.0".into()),
        port: port_flag(c.port, 0)?,
    };
    // Without a name the gateway's is the cluster's; without either, the node makes one up.
    let name = c.name.clone().or_else(|| o.gateway.as_ref().and_then(|g| g.name.clone()));
    let mut config = ClusterConfig::new(name.unwrap_or_default(), PeerUrl::new("127.0.0.1", 0));
    config.routes = c
        .routes
        .iter()
        .filter_map(|u| {
            Some(PeerUrl {
                host: u.host.clone(),
                port: u.port?,
                user: u.user.clone(),
                password: u.password.clone(),
            })
        })
        .collect();
    if let Some(t) = &c.tls {
        config.tls = true;
        config.tls_map = t.verify_and_map;
        config.tls_check_known_urls = t.verify_cert_and_check_known_urls;
        // nats-server: with TLS the route auth timeout defaults to the TLS timeout + 1 s.
        config.auth_timeout =
            t.timeout.unwrap_or(crate::tls::DEFAULT_TIMEOUT) + Duration::from_secs(1);
    }
    if let Some(Authorization { user, password, timeout, .. }) = &c.authorization {
        config.user = user.clone();
        config.password = password.clone();
        if let Some(t) = timeout {
            config.auth_timeout = *t;
        }
    }
    config.no_advertise = c.no_advertise.unwrap_or(false);
    config.connect_retries = c.connect_retries.unwrap_or(0).max(0) as u32;
    config.connect_backoff = c.connect_backoff.unwrap_or(false);
    config.ping_interval = c.ping_interval.unwrap_or(node.ping_interval).min(MAX_PING_INTERVAL);
    config.ping_max = c.ping_max.map_or(node.ping_max, |v| v as u32);
    // nats-server: 0 (or absent) is the default pool size, a negative one no pool.
    config.pool_size = match c.pool_size {
        None | Some(0) => strait_core::route::DEFAULT_POOL_SIZE,
        Some(n) => i32::try_from(n).unwrap_or(i32::MAX),
    };
    config.pinned_accounts = c.accounts.clone();
    config.permissions = c.permissions.as_ref().map(perm_setup::spec);
    Ok(ClusterSetup { listen, advertise: c.advertise.clone(), client_advertise, config })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Options {
        strait_conf::load_str(text, "test.conf").unwrap()
    }

    #[test]
    fn flags_override_the_file() {
        let o = load("port: 5000\nserver_name: file\n");
        let args = Args::try_parse_from(["strait", "-p", "6000"]).unwrap();
        let s = build(&args, Some(&o)).unwrap();
        assert_eq!(s.client.port, Some(6000));
        assert_eq!(s.node.server_name.as_deref(), Some("file"));
    }

    #[test]
    fn gateway_block_becomes_gateway_config() {
        let o = load(
            "gateway { name: A, listen: \"127.0.0.1:-1\", authorization { user: u, password: p }\n\
             gateways: [ {name: B, url: \"nats://u:p@127.0.0.1:7333\"} ] }\n",
        );
        let args = Args::try_parse_from(["strait"]).unwrap();
        let s = build(&args, Some(&o)).unwrap();
        let g = s.gateway.unwrap();
        assert_eq!(g.listen, Listen { host: "127.0.0.1".into(), port: None });
        let c = g.finish(7222).unwrap();
        assert_eq!(c.name, "A");
        assert_eq!(c.advertise, GatewayUrl::new("127.0.0.1", 7222));
        assert_eq!(c.remotes[0].urls[0].user.as_deref(), Some("u"));
        assert_eq!(c.user.as_deref(), Some("u"));
    }

    #[test]
    fn accounts_users_bind_their_account() {
        let o = load("accounts { A { users: [ {user: a, password: x} ] } }\n");
        let args = Args::try_parse_from(["strait"]).unwrap();
        let s = build(&args, Some(&o)).unwrap();
        assert_eq!(
            s.node.auth,
            Auth::Users(vec![User {
                user: "a".into(),
                password: "x".into(),
                account: Some("A".into()),
                ..User::default()
            }])
        );
    }
}
