//! Client authentication for the configured (non-operator) modes, in nats-server's order
//! (`processClientOrLeafAuthentication`): nkey users, then users (by name, by `no_auth_user`, or
//! mapped from a verified TLS certificate), then a token or one user.
//!
//! Passwords and tokens may be bcrypt hashes. A bcrypt comparison takes tens of milliseconds,
//! too long to run while the node is locked, so [`Auth::check`] hands it back as a
//! [`PasswordCheck`] for the driver to run (see [`super::Node::take_password_check`]).

mod nkey;
mod password;

use std::sync::Arc;

pub(super) use nkey::nonce;
pub use password::{PasswordCheck, is_bcrypt};

use super::TlsPeer;
use crate::permissions::Permissions;
use crate::proto::json::ConnectOptions;

/// The only connection type Strait serves (nats-server's `STANDARD`: plain or TLS NATS clients).
pub(crate) const STANDARD_CONNECTION: &str = "STANDARD";

/// How clients authenticate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Auth {
    /// Anyone may connect.
    #[default]
    None,
    /// One user name and password (`--user`/`--pass`, `authorization { user, password }`).
    UserPassword {
        /// User name.
        user: String,
        /// Password, plain or bcrypt.
        password: String,
    },
    /// A shared token, plain or bcrypt (`--auth`, `authorization { token }`).
    Token(String),
    /// Users and nkey users, each bound to an account (by name; created on demand).
    Users(Vec<User>),
}

/// One entry of a `users` list (or of an account's `users`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    /// User name; for an nkey user, its public nkey (`U…`).
    pub user: String,
    /// Password, plain or bcrypt; empty for nkey users and certificate-mapped users.
    pub password: String,
    /// An nkey user: it proves itself by signing the connection's nonce.
    pub nkey: bool,
    /// Account name; `None` binds the global account.
    pub account: Option<String>,
    /// `allowed_connection_types`, upper case; empty allows every type.
    pub connection_types: Vec<String>,
    /// Publish/subscribe permissions (the user's own, else the default ones); `None` allows
    /// everything. nats-server gives the single-user and token modes none.
    pub permissions: Option<Arc<Permissions>>,
}

impl User {
    /// Whether the user may log in on the connection types Strait serves.
    fn allowed_here(&self) -> bool {
        self.connection_types.is_empty()
            || self.connection_types.iter().any(|t| t == STANDARD_CONNECTION)
    }
}

/// What a CONNECT is checked against besides the configuration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Attempt<'a> {
    /// The CONNECT options (or nats-server's defaults for a `no_auth_user` first op).
    pub(crate) opts: &'a ConnectOptions,
    /// The nonce sent in INFO (empty without nkey users).
    pub(crate) nonce: &'a str,
    /// The verified client certificate, if any.
    pub(crate) tls_peer: Option<&'a TlsPeer>,
    /// `verify_and_map`: users come from the certificate, not from CONNECT.
    pub(crate) tls_map: bool,
    /// `no_auth_user`: who a client without credentials becomes.
    pub(crate) no_auth_user: Option<&'a str>,
    /// A bcrypt hash this link already passed (a reload need not compare it again).
    pub(crate) verified_hash: Option<&'a str>,
}

/// A successful check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Login {
    /// Index of the user in [`Auth::Users`], if a user was matched.
    pub(crate) user: Option<usize>,
    /// Account to bind; `None` is the global account.
    pub(crate) account: Option<Arc<str>>,
    /// A bcrypt comparison still to run: the login holds only if it passes.
    pub(crate) slow: Option<PasswordCheck>,
}

impl Login {
    fn anonymous() -> Self {
        Self { user: None, account: None, slow: None }
    }
}

impl Auth {
    /// Whether clients must authenticate (`auth_required` in INFO, before `no_auth_user`).
    pub fn required(&self) -> bool {
        !matches!(self, Auth::None)
    }

    /// Whether any nkey user exists: INFO then carries a nonce to sign.
    pub fn needs_nonce(&self) -> bool {
        matches!(self, Auth::Users(users) if users.iter().any(|u| u.nkey))
    }

    /// The password user a client without credentials becomes with `no_auth_user`, if it may
    /// log in here (a first op other than CONNECT logs in as this user).
    pub(crate) fn no_auth_password_user(&self, no_auth_user: Option<&str>) -> bool {
        let (Auth::Users(users), Some(name)) = (self, no_auth_user) else {
            return false;
        };
        users.iter().any(|u| !u.nkey && u.user == name && u.allowed_here())
    }

    /// Check a login attempt. `Err(())` is an authentication failure.
    pub(crate) fn check(&self, a: &Attempt<'_>) -> Result<Login, ()> {
        let opts = a.opts;
        match self {
            Auth::None => Ok(Login::anonymous()),
            Auth::UserPassword { user, password } => {
                if opts.user.as_deref().unwrap_or("") != user {
                    return Err(());
                }
                let slow = password::compare(password, given(&opts.pass), a.verified_hash)?;
                Ok(Login { slow, ..Login::anonymous() })
            }
            Auth::Token(token) => {
                let slow = password::compare(token, given(&opts.auth_token), a.verified_hash)?;
                Ok(Login { slow, ..Login::anonymous() })
            }
            Auth::Users(users) => check_users(users, a),
        }
    }
}

/// nats-server's order for a users table: nkeys first, then users.
fn check_users(users: &[User], a: &Attempt<'_>) -> Result<Login, ()> {
    let opts = a.opts;
    let no_credentials = given(&opts.user).is_empty()
        && given(&opts.pass).is_empty()
        && given(&opts.auth_token).is_empty();
    let login = |i: usize, slow| Ok(Login { user: Some(i), account: account(&users[i]), slow });
    if users.iter().any(|u| u.nkey) {
        let mut key = given(&opts.nkey);
        let mut signed = true;
        if no_credentials && key.is_empty() {
            // `no_auth_user` naming an nkey user needs no signature.
            if let Some(name) = a.no_auth_user
                && users.iter().any(|u| u.nkey && u.user == name)
            {
                key = name;
                signed = false;
            }
        }
        if !key.is_empty() {
            let i = users.iter().position(|u| u.nkey && u.user == key).ok_or(())?;
            if !users[i].allowed_here() {
                return Err(());
            }
            if signed && !nkey::verify(key, a.nonce, given(&opts.sig)) {
                return Err(());
            }
            return login(i, None);
        }
    }
    if !users.iter().any(|u| !u.nkey) {
        return Err(());
    }
    let (i, pass) = if a.tls_map {
        // The certificate names the user; a user named in CONNECT is not used.
        let peer = a.tls_peer.ok_or(())?;
        let i = mapped_user(users, peer).ok_or(())?;
        (i, given(&opts.pass))
    } else if let Some(name) = a.no_auth_user.filter(|_| no_credentials) {
        let i = users.iter().position(|u| !u.nkey && u.user == name).ok_or(())?;
        if !users[i].allowed_here() {
            return Err(());
        }
        // Logged in by configuration: no password to compare (see docs/compat.md).
        return login(i, None);
    } else {
        let name = given(&opts.user);
        if name.is_empty() {
            return Err(());
        }
        let i = users.iter().position(|u| !u.nkey && u.user == name).ok_or(())?;
        if !users[i].allowed_here() {
            return Err(());
        }
        (i, given(&opts.pass))
    };
    let slow = password::compare(&users[i].password, pass, a.verified_hash)?;
    login(i, slow)
}

/// The user a verified certificate maps to (nats-server's `checkClientTLSCertSubject`): the
/// first candidate name of the certificate, in nats-server's order, that is a user allowed
/// here; then a user whose name is the certificate's distinguished name with its parts in
/// another order.
fn mapped_user(users: &[User], peer: &TlsPeer) -> Option<usize> {
    let allowed = |u: &User| !u.nkey && u.allowed_here();
    for name in &peer.names {
        if let Some(i) = users.iter().position(|u| allowed(u) && u.user == *name) {
            return Some(i);
        }
    }
    let subject = peer.names.last().map(|s| dn_parts(s))?;
    users.iter().position(|u| allowed(u) && u.user.contains('=') && dn_parts(&u.user) == subject)
}

/// The attribute/value pairs of a distinguished name, types upper-cased, sorted: two names
/// with the same parts in any order compare equal (go-ldap's `RDNsMatch`).
fn dn_parts(dn: &str) -> Vec<(String, String)> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    let mut push = |part: &str| {
        if let Some((t, v)) = part.split_once('=') {
            parts.push((t.trim().to_uppercase(), v.trim().to_owned()));
        }
    };
    for ch in dn.chars() {
        match ch {
            _ if escaped => {
                current.push(ch);
                escaped = false;
            }
            '\\' => escaped = true,
            ',' | '+' => push(&std::mem::take(&mut current)),
            _ => current.push(ch),
        }
    }
    push(&current);
    parts.sort();
    parts
}

fn account(u: &User) -> Option<Arc<str>> {
    u.account.as_deref().map(Arc::from)
}

fn given(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

/// The authentication-failure log line's text after the client prefix, as nats-server words
/// it (`authViolation`): who the client claimed to be.
pub(crate) fn failure_text(opts: &ConnectOptions) -> String {
    let who = if !given(&opts.nkey).is_empty() {
        format!("Nkey {:?}", given(&opts.nkey))
    } else if !given(&opts.user).is_empty() {
        format!("User {:?}", given(&opts.user))
    } else if !given(&opts.auth_token).is_empty() {
        "Token \"[REDACTED]\"".to_owned()
    } else {
        return "authentication error".to_owned();
    };
    format!("authentication error - {who}")
}

/// Compare secrets in time independent of where they differ.
pub(crate) fn secret_eq(a: &str, b: &str) -> bool {
    password::ct_eq(a.as_bytes(), b.as_bytes())
}

#[cfg(test)]
mod tests;
