//! Applying a new configuration to a running node (SIGHUP in the daemon, a scheduled reload in
//! the simulation).
//!
//! What reloads follows nats-server 2.15 (`server/reload.go`): limits, keep-alive settings and
//! client authorization apply at once; the server's identity and listeners do not. One
//! deliberate improvement: gateway *remotes* may be added (dialled at once) and removed (the
//! outbound link is closed and not re-dialled), where nats-server refuses any gateway change.

use std::fmt;
use std::time::{Duration, Instant};

use std::sync::Arc;

use bytes::Bytes;
use rand_core::RngCore;

use super::{Auth, LogLevel, Node, NodeConfig, SubKey, auth, client, gateway, login};
use crate::account::GLOBAL_ACCOUNT;
use crate::error::{ClientError, GatewayError, GoQuoted};
use crate::gateway::{GatewayConfig, RemoteConfig};
use crate::link::Link;
use crate::link::client::{ClientState, ClientTimer};
use crate::node::LinkId;
use crate::permissions::ClientPermissions;
use crate::permissions::Permissions;
use crate::proto::encode;
use crate::proto::json::ConnectOptions;
use crate::route::ClusterConfig;

/// A reload the node refused; the configuration in force is unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReloadError {
    /// An option that needs a restart changed. `field` is nats-server's name for it
    /// (`ServerName`, `Port`, `Gateway`, …).
    NotSupported {
        /// The option, as nats-server names it.
        field: &'static str,
        /// The value in force.
        old: String,
        /// The value asked for.
        new: String,
    },
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReloadError::NotSupported { field, old, new } => {
                write!(f, "config reload not supported for {field}: old={old}, new={new}")
            }
        }
    }
}

impl std::error::Error for ReloadError {}

/// What a successful reload did. Every item was also logged (`Reloaded: …`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    /// One entry per option that changed, as in the log (`max_payload = 2000`).
    pub changed: Vec<String>,
    /// Clients closed because they no longer authenticate, moved accounts, or are over the new
    /// `max_connections`.
    pub closed_clients: Vec<LinkId>,
    /// Remote gateways added (now dialled).
    pub gateways_added: Vec<String>,
    /// Remote gateways removed (outbound link closed, no longer dialled).
    pub gateways_removed: Vec<String>,
}

pub(super) fn reload(
    node: &mut Node,
    now: Instant,
    mut new: NodeConfig,
) -> Result<ReloadSummary, ReloadError> {
    // Not configuration: what the binary reports about itself.
    new.version = node.config.version.clone();
    new.runtime = node.config.runtime.clone();
    check(&node.config, &new)?;
    let old = std::mem::replace(&mut node.config, new);
    let mut summary = ReloadSummary::default();
    apply_limits(node, &old, &mut summary);
    if old.auth_timeout != node.config.auth_timeout {
        let secs = node.config.auth_timeout.as_secs_f64();
        changed(node, &mut summary, format!("authorization timeout = {secs}"));
    }
    if old.account_limits != node.config.account_limits {
        // Applies to clients that bind from now on; nats-server does the same for config
        // accounts.
        for a in &mut node.accounts {
            a.limits = node.config.account_limits(&a.name);
        }
        changed(node, &mut summary, "accounts".to_owned());
    }
    let login_changed =
        old.no_auth_user != node.config.no_auth_user || old.tls_map != node.config.tls_map;
    if old.auth != node.config.auth || login_changed {
        let what = match &node.config.auth {
            Auth::None => "authorization removed",
            Auth::UserPassword { .. } => "authorization username and password",
            Auth::Token(_) => "authorization token",
            Auth::Users(_) => "authorization users",
        };
        changed(node, &mut summary, what.to_owned());
        recheck_clients(node, now, !old.auth.required(), &mut summary);
    }
    if node.config.max_connections < old.max_connections {
        enforce_max_connections(node, &mut summary);
    }
    reload_gateway_remotes(node, now, &old, &mut summary);
    reload_routes(node, now, &old, &mut summary);
    Ok(summary)
}

/// Refuse what needs a restart, with nats-server's field names.
fn check(old: &NodeConfig, new: &NodeConfig) -> Result<(), ReloadError> {
    let refuse =
        |field, old: String, new: String| Err(ReloadError::NotSupported { field, old, new });
    if old.server_name != new.server_name {
        let show = |s: &Option<String>| s.clone().unwrap_or_default();
        return refuse("ServerName", show(&old.server_name), show(&new.server_name));
    }
    if old.host != new.host {
        return refuse("Host", old.host.clone(), new.host.clone());
    }
    if old.port != new.port {
        return refuse("Port", old.port.to_string(), new.port.to_string());
    }
    if old.headers != new.headers {
        return refuse("NoHeaderSupport", (!old.headers).to_string(), (!new.headers).to_string());
    }
    let fixed = |g: &Option<GatewayConfig>| {
        g.clone().map(|mut g| {
            g.remotes.clear();
            g
        })
    };
    if fixed(&old.gateway) != fixed(&new.gateway) {
        return refuse("Gateway", gateway_summary(&old.gateway), gateway_summary(&new.gateway));
    }
    // Of the cluster block only the routes may change without a restart.
    let without_routes = |c: &Option<ClusterConfig>| {
        c.clone().map(|mut c| {
            c.routes.clear();
            c
        })
    };
    if without_routes(&old.cluster) != without_routes(&new.cluster) {
        let show = |c: &Option<ClusterConfig>| {
            c.as_ref().map_or("{}".to_owned(), |c| format!("{{{} {}}}", c.name, c.advertise))
        };
        return refuse("Cluster", show(&old.cluster), show(&new.cluster));
    }
    Ok(())
}

/// Explicit routes added (dialled at once) and removed (closed, no longer dialled).
fn reload_routes(node: &mut Node, now: Instant, old: &NodeConfig, summary: &mut ReloadSummary) {
    let (Some(before), Some(after)) = (old.cluster.as_ref(), node.config.cluster.clone()) else {
        return;
    };
    if before.routes == after.routes {
        return;
    }
    let Some(cluster) = node.cluster.as_mut() else {
        return;
    };
    cluster.config.routes = after.routes.clone();
    let dropped = cluster.directory.replace_explicit(&after.routes, now);
    cluster.timer_changed = true;
    for link in dropped {
        crate::route::close(node, link, crate::error::RouteError::Removed);
    }
    changed(node, summary, "cluster routes".to_owned());
    crate::route::handle_node_timeout(node, now);
}

/// The gateway block without secrets, for refusal messages.
fn gateway_summary(g: &Option<GatewayConfig>) -> String {
    match g {
        None => "{}".into(),
        Some(g) => {
            let remotes: Vec<&str> = g.remotes.iter().map(|r| r.name.as_str()).collect();
            format!("{{{} {} [{}]}}", g.name, g.advertise, remotes.join(" "))
        }
    }
}

fn changed(node: &mut Node, summary: &mut ReloadSummary, what: String) {
    node.log(LogLevel::Info, format!("Reloaded: {what}"));
    summary.changed.push(what);
}

fn apply_limits(node: &mut Node, old: &NodeConfig, summary: &mut ReloadSummary) {
    let new = node.config.clone();
    if old.max_connections != new.max_connections {
        changed(node, summary, format!("max_connections = {}", new.max_connections));
    }
    if old.ping_interval != new.ping_interval {
        // Timers already armed keep their deadline; every later tick uses the new interval.
        changed(node, summary, format!("ping_interval = {}", go_duration(new.ping_interval)));
    }
    if old.ping_max != new.ping_max {
        changed(node, summary, format!("ping_max = {}", new.ping_max));
    }
    if old.limits.max_control_line != new.limits.max_control_line {
        changed(node, summary, format!("max_control_line = {}", new.limits.max_control_line));
    }
    if old.limits.max_payload != new.limits.max_payload {
        changed(node, summary, format!("max_payload = {}", new.limits.max_payload));
    }
    if old.limits != new.limits {
        for id in node.links.ids() {
            if let Some(Link::Client(c)) = node.links.get_mut(id) {
                c.parser.set_limits(new.limits);
            }
        }
    }
    if old.max_pending != new.max_pending {
        // Checked on every read and queue, so it applies to existing clients too.
        changed(node, summary, format!("max_pending = {}", new.max_pending));
    }
}

/// nats-server's reload of authorization: a client whose user is gone or now bound to another
/// account is closed without a word (it reconnects and lands in the right place); a client
/// whose credentials no longer pass gets `-ERR 'Authorization Violation'`.
fn recheck_clients(node: &mut Node, now: Instant, was_open: bool, summary: &mut ReloadSummary) {
    let auth_timeout = node.config.auth_timeout;
    let required = node.config.auth.required();
    for id in node.links.ids() {
        let Some(Link::Client(c)) = node.links.get_mut(id) else {
            continue;
        };
        match c.state {
            ClientState::ExpectConnect => {
                // Auth just became required: a client still to send CONNECT gets the timer;
                // auth no longer required: nothing to wait for.
                if was_open && required {
                    c.timers.set(ClientTimer::Auth, now + auth_timeout);
                } else if !required {
                    c.timers.stop(ClientTimer::Auth);
                }
                continue;
            }
            ClientState::Closing => continue,
            ClientState::Established => {}
        }
        let opts = c.opts.clone();
        let nkey = opts.nkey.as_deref().filter(|k| !k.is_empty());
        let user = nkey.or(opts.user.as_deref()).unwrap_or_default().to_owned();
        let account = node.accounts[c.account.0 as usize].name.clone();
        let Some(Link::Client(c)) = node.links.get(id) else {
            continue;
        };
        // A bcrypt hash the client passed and that did not change is not compared again; a
        // new one is compared here, on the reload's time.
        let verdict = node.config.auth.check(&login::attempt(node, c, &opts, true)).and_then(|l| {
            match &l.slow {
                Some(check) if !check.verify() => Err(()),
                _ => Ok(l),
            }
        });
        let perms = match (&node.config.auth, verdict.as_ref().ok().and_then(|l| l.user)) {
            (Auth::Users(users), Some(i)) => users.get(i).and_then(|u| u.permissions.clone()),
            _ => None,
        };
        let verdict = verdict.map(|l| l.account.as_deref().unwrap_or(GLOBAL_ACCOUNT).to_owned());
        let moved = match &node.config.auth {
            Auth::Users(users) if !user.is_empty() => match users.iter().find(|u| u.user == user) {
                None => true,
                Some(u) => u.account.as_deref().unwrap_or(GLOBAL_ACCOUNT) != account,
            },
            // Credentials that still pass but now bind another account.
            _ => verdict.as_ref().is_ok_and(|bound| *bound != account),
        };
        if moved {
            client::close(node, id, ClientError::ClientClosed);
            summary.closed_clients.push(id);
        } else if verdict.is_err() {
            let line = format!("{}{}", login::prefix(c), auth::failure_text(&opts));
            node.log(LogLevel::Error, line);
            client::close(node, id, ClientError::AuthorizationViolation);
            summary.closed_clients.push(id);
        } else {
            reapply_permissions(node, id, perms);
        }
    }
}

/// A client that still authenticates gets its user's permissions afresh (caches and response
/// permissions start over, as in nats-server's `RegisterUser`), and loses the subscriptions
/// they no longer allow (nats-server `processSubsOnConfigReload`).
fn reapply_permissions(node: &mut Node, id: LinkId, perms: Option<Arc<Permissions>>) {
    let seed = if perms.is_some() { node.rng.next_u64() } else { 0 };
    let Some(Link::Client(c)) = node.links.get_mut(id) else {
        return;
    };
    c.perms = perms.map(|p| Box::new(ClientPermissions::new(p, seed)));
    let Some(perms) = c.perms.as_deref_mut() else {
        return;
    };
    // Sorted so the -ERR lines come out in one order (nats-server's is map order).
    let mut keys: Vec<SubKey> = c.sids.values().copied().collect();
    keys.sort_unstable();
    let mut revoked = Vec::new();
    for key in keys {
        let Some(sub) = node.subs.get(key.slot()).and_then(Option::as_ref) else {
            continue;
        };
        // Also turns delivery filtering back on for the subscriptions that stay.
        if !perms.subscribe_allowed(sub.subject(), sub.queue()) {
            let copy = Bytes::copy_from_slice;
            revoked.push((key, copy(sub.subject()), sub.queue().map(copy), copy(sub.sid())));
        }
    }
    let who = auth_user(&c.opts);
    for (key, subject, queue, sid) in revoked {
        client::unsubscribe_key(node, key);
        let line = match &queue {
            None => format!(
                "Removed sub {} (sid {}) for {who} - not authorized",
                GoQuoted(&subject),
                GoQuoted(&sid)
            ),
            Some(q) => format!(
                "Removed sub {} using queue {} (sid {}) for {who} - not authorized",
                GoQuoted(&subject),
                GoQuoted(q),
                GoQuoted(&sid)
            ),
        };
        let err = ClientError::SubscriptionRevoked { subject, queue, sid };
        if let Some(Link::Client(c)) = node.links.get_mut(id)
            && let Some(text) = err.answer().err
        {
            encode::err(c.outbox.buf(), &text);
        }
        node.log(LogLevel::Info, line);
    }
    node.wake(id);
}

/// nats-server `getAuthUser` for the modes Strait has.
fn auth_user(opts: &ConnectOptions) -> String {
    match (&opts.user, &opts.auth_token) {
        (Some(u), _) if !u.is_empty() => format!("User {u:?}"),
        (_, Some(t)) if !t.is_empty() => "Token \"[REDACTED]\"".to_owned(),
        _ => "User \"N/A\"".to_owned(),
    }
}

/// Close clients over a lowered `max_connections`, newest first (nats-server picks at random).
fn enforce_max_connections(node: &mut Node, summary: &mut ReloadSummary) {
    let mut open: Vec<(u64, LinkId)> = node
        .links
        .ids()
        .into_iter()
        .filter_map(|id| match node.links.get(id) {
            Some(Link::Client(c)) if !c.is_closing() => Some((c.cid, id)),
            _ => None,
        })
        .collect();
    let excess = open.len().saturating_sub(node.config.max_connections);
    open.sort_unstable_by(|a, b| b.cmp(a));
    for (_, id) in open.into_iter().take(excess) {
        client::close(node, id, ClientError::MaxConnectionsExceeded);
        summary.closed_clients.push(id);
    }
}

/// Add, change and remove configured remote gateways (the rest of the block was checked equal).
fn reload_gateway_remotes(
    node: &mut Node,
    now: Instant,
    old: &NodeConfig,
    summary: &mut ReloadSummary,
) {
    let (Some(before), Some(after)) = (old.gateway.as_ref(), node.config.gateway.clone()) else {
        return;
    };
    let ours = after.name.clone();
    let listed = |list: &[RemoteConfig], name: &str| {
        // Duplicate names: the last entry wins, as in nats-server.
        list.iter().rev().find(|r| r.name == name).cloned()
    };
    let mut names: Vec<&str> = Vec::new();
    for r in &after.remotes {
        if r.name != ours && !names.contains(&r.name.as_str()) {
            names.push(&r.name);
        }
    }
    let mut added = Vec::new();
    let mut updated = Vec::new();
    for name in names {
        let Some(r) = listed(&after.remotes, name) else { continue };
        match listed(&before.remotes, name) {
            None => added.push(r),
            Some(prev) if prev.urls != r.urls => updated.push(r),
            Some(_) => {}
        }
    }
    let mut removed: Vec<String> = before
        .remotes
        .iter()
        .filter(|r| r.name != ours && listed(&after.remotes, &r.name).is_none())
        .map(|r| r.name.clone())
        .collect();
    removed.dedup();
    let Some(gw) = node.gateway.as_mut() else {
        return;
    };
    gw.config.remotes = after.remotes.clone();
    let started = gw.started;
    let mut to_close = Vec::new();
    if started {
        for r in &added {
            gw.directory.add_explicit(&r.name, &r.urls, now);
        }
        for r in &updated {
            gw.directory.set_configured(&r.name, &r.urls);
        }
        for name in &removed {
            to_close.extend(gw.directory.remove(name));
        }
        gw.timer_changed = true;
    }
    for link in to_close {
        gateway::close(node, link, GatewayError::Removed);
    }
    for r in added {
        changed(node, summary, format!("gateway remote {:?} added", r.name));
        summary.gateways_added.push(r.name);
    }
    for r in updated {
        changed(node, summary, format!("gateway remote {:?} URLs", r.name));
    }
    for name in removed {
        changed(node, summary, format!("gateway remote {name:?} removed"));
        summary.gateways_removed.push(name);
    }
}

/// A duration as Go's `time.Duration.String` prints whole seconds and above (`2m0s`, `30s`).
fn go_duration(d: Duration) -> String {
    let total = d.as_secs();
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    let frac = d.subsec_nanos();
    let secs = if frac == 0 {
        format!("{s}s")
    } else {
        let f = format!("{:09}", frac);
        format!("{s}.{}s", f.trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) if total == 0 && frac != 0 && d < Duration::from_secs(1) => {
            format!("{}ms", d.as_millis())
        }
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}

#[cfg(test)]
mod tests;
