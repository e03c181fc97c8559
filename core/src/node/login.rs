//! Logging a client in: the credentials of a CONNECT (or of a `no_auth_user`'s first op)
//! checked against the configuration, a bcrypt comparison handed to the driver when one
//! decides, then the account bound with its limits.

use std::time::Instant;

use super::auth::{self, Attempt, Auth, Login, PasswordCheck};
use super::{Link, LinkId, LogLevel, Node, client, client_log};
use crate::account::AccountId;
use crate::error::ClientError;
use crate::link::ClientLink;
use crate::link::client::ClientTimer;
use crate::proto::json::ConnectOptions;

/// A CONNECT whose login waits for a bcrypt comparison.
#[derive(Debug)]
pub struct PendingLogin {
    opts: ConnectOptions,
    login: Login,
    /// Taken by the driver with [`Node::take_password_check`].
    check: Option<PasswordCheck>,
    /// The hash the comparison is against.
    hash: std::sync::Arc<str>,
}

/// A decoded CONNECT: authenticate, then finish it, or park it until the driver has run the
/// bcrypt comparison.
pub(super) fn connect(node: &mut Node, id: LinkId, now: Instant, opts: ConnectOptions) {
    let Some(Link::Client(c)) = node.links.get(id) else {
        return;
    };
    let mut login = match check(node, c, &opts) {
        Ok(login) => login,
        Err(()) => return fail(node, id, &opts),
    };
    let claimed = opts.user.as_deref().filter(|u| !u.is_empty());
    if node.config.tls_map
        && matches!(node.config.auth, Auth::Users(_))
        && let Some(user) = claimed
    {
        // nats-server's words (a server warning, without the client prefix).
        let line = format!("User {user:?} found in connect proto, but user required from cert");
        node.log(LogLevel::Warn, line);
    }
    match login.slow.take() {
        None => finish(node, id, now, opts, login, true),
        Some(check) => {
            let hash = check.hash().into();
            if let Some(Link::Client(c)) = node.links.get_mut(id) {
                c.login_mut().pending =
                    Some(PendingLogin { opts, login, check: Some(check), hash });
            }
        }
    }
}

/// A first op other than CONNECT while auth is pending: with a `no_auth_user` that may log in
/// here it logs the client in as that user under the default options (nats-server's parser
/// does the same for telnet users); otherwise it is an authorization violation.
pub(super) fn first_op_without_connect(node: &mut Node, id: LinkId, now: Instant) {
    let no_auth = node.config.no_auth_user.as_deref();
    if !node.config.auth.no_auth_password_user(no_auth) {
        // Logged as a failed login without credentials (`authentication error`).
        return fail(node, id, &ConnectOptions::default());
    }
    let Some(Link::Client(c)) = node.links.get_mut(id) else {
        return;
    };
    c.timers.stop(ClientTimer::Auth);
    let opts = c.opts.clone();
    let Some(Link::Client(c)) = node.links.get(id) else {
        return;
    };
    match check(node, c, &opts) {
        Ok(login) if login.slow.is_none() => finish(node, id, now, opts, login, false),
        _ => fail(node, id, &opts),
    }
}

/// The bcrypt comparison of `id`'s pending login, for the driver to run.
pub(super) fn take_check(node: &mut Node, id: LinkId) -> Option<PasswordCheck> {
    let Some(Link::Client(c)) = node.links.get_mut(id) else {
        return None;
    };
    c.login.as_mut()?.pending.as_mut()?.check.take()
}

/// The driver's verdict on the pending login's bcrypt comparison.
pub(super) fn checked(node: &mut Node, id: LinkId, now: Instant, ok: bool) {
    let Some(Link::Client(c)) = node.links.get_mut(id) else {
        return;
    };
    let closing = c.is_closing();
    let Some(state) = c.login.as_mut() else {
        return;
    };
    let Some(pending) = state.pending.take() else {
        return;
    };
    if closing {
        return;
    }
    if ok {
        state.verified_hash = Some(pending.hash);
        finish(node, id, now, pending.opts, pending.login, true);
    } else {
        fail(node, id, &pending.opts);
    }
}

/// Check `opts` against the configuration for link `c`.
fn check(node: &Node, c: &ClientLink, opts: &ConnectOptions) -> Result<Login, ()> {
    node.config.auth.check(&attempt(node, c, opts, false))
}

/// The attempt `opts` makes on link `c`; `recheck` (a reload) trusts a bcrypt hash the link
/// already passed with these same options.
pub(super) fn attempt<'a>(
    node: &'a Node,
    c: &'a ClientLink,
    opts: &'a ConnectOptions,
    recheck: bool,
) -> Attempt<'a> {
    let state = c.login.as_deref();
    Attempt {
        opts,
        nonce: state.and_then(|s| s.nonce.as_deref()).unwrap_or(""),
        tls_peer: state.and_then(|s| s.tls_peer.as_ref()),
        tls_map: node.config.tls_map,
        no_auth_user: node.config.no_auth_user.as_deref(),
        verified_hash: state.and_then(|s| s.verified_hash.as_deref()).filter(|_| recheck),
    }
}

/// Log the failure in nats-server's words and close with `Authorization Violation`.
fn fail(node: &mut Node, id: LinkId, opts: &ConnectOptions) {
    let text = auth::failure_text(opts);
    if let Some(Link::Client(c)) = node.links.get(id) {
        let line = format!("{}{text}", prefix(c));
        node.log(LogLevel::Error, line);
    }
    client::close(node, id, ClientError::AuthorizationViolation);
}

/// nats-server's client log prefix (see [`client_log::Prefix`]).
pub(super) fn prefix(c: &ClientLink) -> String {
    client_log::Prefix(c).to_string()
}

/// Bind the account (within its connection limit), apply its limits, then the rest of CONNECT.
fn finish(
    node: &mut Node,
    id: LinkId,
    now: Instant,
    opts: ConnectOptions,
    login: Login,
    answer: bool,
) {
    let account = match &login.account {
        Some(name) => node.account(name),
        None => AccountId(0),
    };
    let limits = node.accounts[account.0 as usize].limits;
    let bound = node.accounts[account.0 as usize].clients;
    let server_max_subs = node.config.max_subscriptions;
    let server_limits = node.config.limits;
    let Some(Link::Client(c)) = node.links.get_mut(id) else {
        return;
    };
    let already_here = c.account_counted && c.account == account;
    if !already_here && limits.max_connections.is_some_and(|max| bound >= max) {
        return client::close(node, id, ClientError::MaxAccountConnectionsExceeded);
    }
    let old = (c.account_counted && !already_here).then_some(c.account);
    c.account_counted = true;
    c.max_subscriptions = min_limit(server_max_subs, limits.max_subscriptions);
    if let Some(max) = limits.max_payload {
        let mut l = server_limits;
        l.max_payload = l.max_payload.min(max as usize);
        c.parser.set_limits(l);
    }
    if let Some(old) = old {
        node.accounts[old.0 as usize].clients -= 1;
    }
    if !already_here {
        node.accounts[account.0 as usize].clients += 1;
    }
    let perms = match (&node.config.auth, login.user) {
        (Auth::Users(users), Some(i)) => users.get(i).and_then(|u| u.permissions.clone()),
        _ => None,
    };
    client::established(node, id, now, opts, account, answer, perms);
}

/// The tighter of the server's `max_subscriptions` (0 unlimited) and an account's limit;
/// `None` is unlimited.
fn min_limit(server: u64, account: Option<u64>) -> Option<u64> {
    let server = (server != 0).then_some(server);
    match (server, account) {
        (Some(s), Some(a)) => Some(s.min(a)),
        (s, a) => s.or(a),
    }
}

/// The link is gone: it no longer counts towards its account's connections.
pub(super) fn release(node: &mut Node, c: &ClientLink) {
    if c.account_counted
        && let Some(a) = node.accounts.get_mut(c.account.0 as usize)
    {
        a.clients = a.clients.saturating_sub(1);
    }
}
