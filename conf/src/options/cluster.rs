//! The `cluster { … }` and `gateway { … }` blocks.

use std::time::Duration;

use serde::Serialize;

use crate::options::auth::{self, Authorization, Permissions};
use crate::options::decode::{self as d, Sink, path};
use crate::options::tls::{self, Tls, TlsContext};
use crate::options::{Loc, Url, WriteTimeoutPolicy, write_timeout};
use crate::value::{Kind, Value};

/// The `cluster { … }` block: routes between servers of one cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Cluster {
    /// Cluster name; must not contain spaces. When unset and a gateway is configured, the
    /// gateway name is used; otherwise nats-server picks a random one.
    pub name: Option<String>,
    /// Route listen host (`listen`, `host`, `net`); default `0.0.0.0`.
    pub host: Option<String>,
    /// Route listen port (`listen`, `port`); -1 random. Clustering is off without it, and then
    /// the other route options are ignored (with a warning), as nats-server does not use them
    /// either.
    pub port: Option<i32>,
    /// Address advertised to other servers (`advertise`, `cluster_advertise`).
    pub advertise: Option<String>,
    /// Do not tell clients about other cluster members.
    pub no_advertise: Option<bool>,
    /// Retries for implicit (gossiped) routes; default 0.
    pub connect_retries: Option<i64>,
    /// Exponential back-off between connection attempts.
    pub connect_backoff: Option<bool>,
    /// Route authorization: `user`, `password`, `timeout` only.
    pub authorization: Option<Authorization>,
    /// Explicit routes, retried forever.
    pub routes: Vec<Url>,
    /// TLS for routes (mutual TLS).
    pub tls: Option<Tls>,
    /// Route pool size; default 3, -1 disables pooling.
    pub pool_size: Option<i64>,
    /// Accounts pinned to dedicated routes.
    pub accounts: Vec<String>,
    /// Compression mode as written (`off`, `accept`, `s2_fast`, …; `true` is `s2_fast`).
    pub compression: Option<String>,
    /// Route ping interval; default the client one, capped at 30 s.
    pub ping_interval: Option<Duration>,
    /// Unanswered pings before a route is closed.
    pub ping_max: Option<u64>,
    /// Write deadline for routes.
    pub write_deadline: Option<Duration>,
    /// What to do when a write times out.
    pub write_timeout: Option<WriteTimeoutPolicy>,
    /// Import/export permissions for routes.
    pub permissions: Option<Permissions>,
    /// Where the block is.
    pub loc: Loc,
}

/// The `gateway { … }` block: links between clusters of a super-cluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Gateway {
    /// This cluster's gateway name: required when a port is set; no spaces.
    pub name: Option<String>,
    /// Gateway listen host (`listen`, `host`, `net`); default `0.0.0.0`.
    pub host: Option<String>,
    /// Gateway listen port (`listen`, `port`); -1 random. Gateways are off without it.
    pub port: Option<i32>,
    /// `host[:port]` advertised as this server's gateway URL (port defaults to `port`).
    pub advertise: Option<String>,
    /// Extra failed rounds before an implicit (gossiped) remote is dropped; default 0.
    /// Explicit remotes are retried forever.
    pub connect_retries: Option<i64>,
    /// Double the 1 s reconnect delay each round, up to 30 s.
    pub connect_backoff: Option<bool>,
    /// Inbound gateway authorization: `user`, `password`, `timeout` only.
    pub authorization: Option<Authorization>,
    /// TLS for gateway links (mutual TLS); inherited by remotes without their own.
    pub tls: Option<Tls>,
    /// Remote gateways (`gateways: [ {name, url(s), tls} ]`).
    pub gateways: Vec<RemoteGateway>,
    /// Refuse inbound gateways whose name is not in `gateways` (`reject_unknown` too).
    pub reject_unknown_cluster: Option<bool>,
    /// Write deadline for gateway links. Refused: Strait's gateways use the top-level one.
    pub write_deadline: Option<Duration>,
    /// What to do when a write times out; `close` is refused (Strait's gateways retry).
    pub write_timeout: Option<WriteTimeoutPolicy>,
    /// Where the block is.
    pub loc: Loc,
}

/// One entry of `gateway.gateways`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RemoteGateway {
    /// The remote cluster's gateway name (validation refuses an empty one).
    pub name: String,
    /// Where to dial it: `url` appends one, `urls` replaces the list (in file order).
    pub urls: Vec<Url>,
    /// TLS for this remote; the gateway's `tls` when absent.
    pub tls: Option<Tls>,
    /// Where the entry is.
    pub loc: Loc,
}

const CLUSTER_KNOWN: &[&str] = &[
    "name",
    "listen",
    "port",
    "host",
    "net",
    "authorization",
    "routes",
    "tls",
    "cluster_advertise",
    "advertise",
    "no_advertise",
    "connect_retries",
    "connect_backoff",
    "permissions",
    "pool_size",
    "accounts",
    "compression",
    "ping_interval",
    "ping_max",
    "write_deadline",
    "write_timeout",
];

/// The authorization of a route or gateway: one user, no token, no users array.
fn link_authorization(s: &mut Sink, v: &Value, option: &str, what: &str) -> Option<Authorization> {
    let a = auth::authorization(s, v, option)?;
    if a.users.is_some() {
        s.conflict(
            &v.pos,
            option,
            format!("{what} authorization does not allow multiple users (users)"),
        );
    }
    if a.token.is_some() {
        s.conflict(&v.pos, option, format!("{what} authorization does not support tokens"));
    }
    if a.auth_callout {
        s.conflict(&v.pos, option, format!("{what} authorization does not support callouts"));
    }
    Some(a)
}

fn no_spaces(s: &mut Sink, v: &Value, option: &str, what: &str) -> Option<String> {
    let n = d::string(s, v, option)?;
    if n.contains(' ') {
        s.error(&v.pos, option, format!("{what} name cannot contain spaces, found {n:?}"));
        return None;
    }
    Some(n)
}

/// Decodes `cluster`.
pub(crate) fn cluster(s: &mut Sink, v: &Value, option: &str) -> Option<Cluster> {
    let m = d::map(s, v, option)?;
    let mut c = Cluster { loc: d::loc(v), ..Cluster::default() };
    // Where the listener was set, and the route-only options (inert without a listener).
    let mut port_at = None;
    let mut route_only = Vec::new();
    for e in m.entries() {
        let p = path(option, &e.key);
        let v = &e.value;
        let key = e.key.to_lowercase();
        match key.as_str() {
            "name" => {}
            "listen" | "port" => port_at = Some((e.key_pos.clone(), p.clone())),
            _ if !e.used_as_variable && CLUSTER_KNOWN.contains(&key.as_str()) => {
                route_only.push((e.key_pos.clone(), p.clone()))
            }
            _ => {}
        }
        match key.as_str() {
            "name" => c.name = no_spaces(s, v, &p, "cluster"),
            "listen" => {
                if let Some((h, port)) = d::listen(s, v, &p) {
                    c.host = h;
                    c.port = Some(port);
                }
            }
            "port" => c.port = d::port(s, v, &p),
            "host" | "net" => c.host = d::string(s, v, &p),
            "authorization" => c.authorization = link_authorization(s, v, &p, "cluster"),
            "routes" => {
                let Some(items) = d::array(s, v, &p) else {
                    continue;
                };
                let mut seen = std::collections::HashSet::new();
                for (i, item) in items.iter().enumerate() {
                    let ip = format!("{p}[{i}]");
                    if let Kind::String(text) = &item.kind
                        && !seen.insert(text.clone())
                    {
                        s.warn(&item.pos, &ip, format!("duplicate route {text:?}"));
                        continue;
                    }
                    if let Some(u) = d::url(s, item, &ip) {
                        c.routes.push(u);
                    }
                }
            }
            "tls" => c.tls = tls::decode(s, v, &p, TlsContext::Link),
            "cluster_advertise" | "advertise" => c.advertise = d::string(s, v, &p),
            "no_advertise" => c.no_advertise = d::boolean(s, v, &p),
            "connect_retries" => c.connect_retries = d::integer(s, v, &p),
            "connect_backoff" => c.connect_backoff = d::boolean(s, v, &p),
            "permissions" => {
                c.permissions = auth::permissions(s, v, &p);
                if c.permissions.as_ref().is_some_and(|p| p.allow_responses.is_some()) {
                    s.error(&v.pos, &p, "cluster permissions do not support allow_responses");
                }
            }
            "pool_size" => c.pool_size = d::integer(s, v, &p),
            "accounts" => c.accounts = d::strings(s, v, &p).unwrap_or_default(),
            "compression" => {
                c.compression = match &v.kind {
                    Kind::Bool(true) => Some("s2_fast".to_owned()),
                    Kind::Bool(false) => Some("off".to_owned()),
                    Kind::String(x) => Some(x.clone()),
                    Kind::Map(cm) => {
                        let mut mode = None;
                        for ce in cm.entries() {
                            let cp = path(&p, &ce.key);
                            match ce.key.to_lowercase().as_str() {
                                "mode" => mode = d::string(s, &ce.value, &cp),
                                "rtt_thresholds" | "thresholds" | "rtts" | "rtt" => {
                                    if let Some(items) = d::array(s, &ce.value, &cp) {
                                        for (i, item) in items.iter().enumerate() {
                                            d::duration(s, item, &format!("{cp}[{i}]"), false);
                                        }
                                    }
                                }
                                _ => s.unknown(ce, &cp, &["mode", "rtt_thresholds"]),
                            }
                        }
                        mode
                    }
                    _ => {
                        s.expected(
                            v,
                            &p,
                            "a boolean, a mode string or a map {mode, rtt_thresholds}",
                        );
                        None
                    }
                };
            }
            "ping_interval" => {
                c.ping_interval = d::duration(s, v, &p, true);
                if c.ping_interval.is_some_and(|t| t > Duration::from_secs(30)) {
                    s.warn(
                        &v.pos,
                        &p,
                        "cluster ping_interval will be reset to 30s, the maximum for routes",
                    );
                }
            }
            "ping_max" => c.ping_max = d::unsigned(s, v, &p),
            "write_deadline" => c.write_deadline = d::duration(s, v, &p, true),
            "write_timeout" => c.write_timeout = write_timeout(s, v, &p),
            _ => s.unknown(e, &p, CLUSTER_KNOWN),
        }
    }
    // nats-server forms routes only with a cluster port (-1 is a random one). Without one the
    // name is still this cluster's (and must be the gateway's); everything else is only for
    // routes. With one, compression is the one route option Strait does not do: it is
    // negotiated off with every peer, which changes only the bytes on the wire.
    let clustering = matches!((c.port.filter(|p| *p != 0), &port_at), (Some(_), Some(_)));
    for (pos, p) in route_only {
        if !clustering {
            s.ignore(
                &pos,
                &p,
                "only used by routes, which nats-server starts only with a cluster port",
            );
        } else if p.rsplit('.').next().is_some_and(|k| k.eq_ignore_ascii_case("compression")) {
            s.ignore(&pos, &p, "routes are not compressed: Strait negotiates compression off");
        }
    }
    Some(c)
}

const GATEWAY_KNOWN: &[&str] = &[
    "name",
    "listen",
    "port",
    "host",
    "net",
    "authorization",
    "tls",
    "advertise",
    "connect_retries",
    "connect_backoff",
    "gateways",
    "reject_unknown",
    "reject_unknown_cluster",
    "write_deadline",
    "write_timeout",
];

/// Decodes `gateway`.
pub(crate) fn gateway(s: &mut Sink, v: &Value, option: &str) -> Option<Gateway> {
    let m = d::map(s, v, option)?;
    let mut g = Gateway { loc: d::loc(v), ..Gateway::default() };
    for e in m.entries() {
        let p = path(option, &e.key);
        let v = &e.value;
        match e.key.to_lowercase().as_str() {
            "name" => g.name = no_spaces(s, v, &p, "gateway"),
            "listen" => {
                if let Some((h, port)) = d::listen(s, v, &p) {
                    g.host = h;
                    g.port = Some(port);
                }
            }
            "port" => g.port = d::port(s, v, &p),
            "host" | "net" => g.host = d::string(s, v, &p),
            "authorization" => g.authorization = link_authorization(s, v, &p, "gateway"),
            "tls" => g.tls = tls::decode(s, v, &p, TlsContext::Link),
            "advertise" => g.advertise = d::string(s, v, &p),
            "connect_retries" => g.connect_retries = d::integer(s, v, &p),
            "connect_backoff" => g.connect_backoff = d::boolean(s, v, &p),
            "gateways" => g.gateways = remotes(s, v, &p),
            "reject_unknown" | "reject_unknown_cluster" => {
                g.reject_unknown_cluster = d::boolean(s, v, &p)
            }
            "write_deadline" => {
                g.write_deadline = d::duration(s, v, &p, true);
                s.refuse(
                    &e.key_pos,
                    &p,
                    "a gateway write deadline of its own (gateways use the top-level write_deadline)",
                );
            }
            "write_timeout" => {
                g.write_timeout = write_timeout(s, v, &p);
                if g.write_timeout == Some(WriteTimeoutPolicy::Close) {
                    s.refuse(&e.key_pos, &p, "write_timeout \"close\" for gateways");
                }
            }
            _ => s.unknown(e, &p, GATEWAY_KNOWN),
        }
    }
    Some(g)
}

fn remotes(s: &mut Sink, v: &Value, option: &str) -> Vec<RemoteGateway> {
    let Some(items) = d::array(s, v, option) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let ip = format!("{option}[{i}]");
        let Some(m) = d::map(s, item, &ip) else {
            continue;
        };
        let mut r = RemoteGateway { loc: d::loc(item), ..RemoteGateway::default() };
        for e in m.entries() {
            let p = path(&ip, &e.key);
            let v = &e.value;
            match e.key.to_lowercase().as_str() {
                "name" => r.name = d::string(s, v, &p).unwrap_or_default(),
                "tls" => r.tls = tls::decode(s, v, &p, TlsContext::Link),
                "url" => {
                    if let Some(u) = d::url(s, v, &p) {
                        r.urls.push(u);
                    }
                }
                "urls" => {
                    let Some(list) = d::array(s, v, &p) else {
                        continue;
                    };
                    let mut urls = Vec::with_capacity(list.len());
                    let mut seen = std::collections::HashSet::new();
                    for (j, u) in list.iter().enumerate() {
                        let up = format!("{p}[{j}]");
                        if let Kind::String(text) = &u.kind
                            && !seen.insert(text.clone())
                        {
                            s.warn(&u.pos, &up, format!("duplicate gateway URL {text:?}"));
                            continue;
                        }
                        if let Some(u) = d::url(s, u, &up) {
                            urls.push(u);
                        }
                    }
                    r.urls = urls;
                }
                _ => s.unknown(e, &p, &["name", "url", "urls", "tls"]),
            }
        }
        out.push(r);
    }
    out
}
