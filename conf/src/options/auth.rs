//! `authorization { … }`, users, permissions and `accounts { … }`.

use std::collections::HashSet;
use std::time::Duration;

use serde::Serialize;

use crate::options::Loc;
use crate::options::decode::{self as d, Sink, path};
use crate::options::support;
use crate::value::{Kind, Value};

/// An `authorization { … }` block (client, cluster or gateway).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Authorization {
    /// Single user name (`user` or `username`).
    pub user: Option<String>,
    /// Single user's password (`password` or `pass`), plain or bcrypt.
    #[serde(skip)]
    pub password: Option<String>,
    /// Token (plain or bcrypt).
    #[serde(skip)]
    pub token: Option<String>,
    /// Authentication deadline; default 2 s, or the TLS timeout + 1 s with TLS.
    pub timeout: Option<Duration>,
    /// The `users` array; `Some` even when written as `users: []` (which counts as present).
    pub users: Option<Vec<User>>,
    /// Permissions for users without their own (`default_permissions`/`permissions`).
    pub default_permissions: Option<Permissions>,
    /// Connections must come through a trusted proxy.
    pub proxy_required: Option<bool>,
    /// `auth_callout` is set (Strait does not implement it).
    pub auth_callout: bool,
    /// Where the block is.
    pub loc: Loc,
}

/// One entry of a `users` array.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct User {
    /// User name; `None` for nkey users.
    pub user: Option<String>,
    /// Password, plain or bcrypt.
    #[serde(skip)]
    pub password: Option<String>,
    /// Public nkey (`U…`) for nkey users.
    pub nkey: Option<String>,
    /// The user's own permissions (default permissions apply otherwise).
    pub permissions: Option<Permissions>,
    /// `allowed_connection_types` (`STANDARD`, `WEBSOCKET`, `LEAFNODE`, `MQTT`, …).
    pub allowed_connection_types: Vec<String>,
    /// Connections must come through a trusted proxy.
    pub proxy_required: Option<bool>,
    /// Where the entry is.
    pub loc: Loc,
}

/// Publish/subscribe permissions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Permissions {
    /// What may be published (`publish`/`pub`/`import`).
    pub publish: Option<SubjectPermission>,
    /// What may be subscribed to (`subscribe`/`sub`/`export`); entries may be `"subject queue"`.
    pub subscribe: Option<SubjectPermission>,
    /// `allow_responses`: publishing to reply subjects of received requests.
    pub allow_responses: Option<ResponsePermission>,
}

/// Allow and deny lists of subjects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SubjectPermission {
    /// Allowed subjects (wildcards allowed).
    pub allow: Vec<String>,
    /// Denied subjects.
    pub deny: Vec<String>,
}

/// `allow_responses`: how many responses, for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ResponsePermission {
    /// Responses allowed per request; default 1.
    pub max: u64,
    /// How long the permission lasts; default 2 minutes.
    pub expires: Duration,
}

impl Default for ResponsePermission {
    fn default() -> Self {
        Self { max: 1, expires: Duration::from_secs(120) }
    }
}

/// An account from `accounts`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Account {
    /// Account name.
    pub name: String,
    /// Users bound to the account.
    pub users: Vec<User>,
    /// Public account nkey (validated; nats-server uses it for nothing without operator mode).
    pub nkey: Option<String>,
    /// Permissions for the account's users that have none of their own
    /// (`default_permissions`); the top-level authorization's defaults do not apply to them.
    pub default_permissions: Option<Permissions>,
    /// `limits { … }`.
    pub limits: AccountLimits,
    /// Where the account is defined.
    pub loc: Loc,
}

/// An account's `limits { … }`, with nats-server's meaning: unset or -1 is unlimited (0 is
/// taken literally). nats-server keeps each as a 32-bit number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AccountLimits {
    /// Most client connections of the account at once (`max_connections`, `max_conn`).
    pub max_connections: Option<i64>,
    /// Most subscriptions per connection of the account (`max_subscriptions`, `max_subs`).
    pub max_subscriptions: Option<i64>,
    /// Largest message payload the account's clients may publish (`max_payload`, `max_pay`).
    pub max_payload: Option<i64>,
}

const AUTH_KNOWN: &[&str] = &[
    "user",
    "username",
    "pass",
    "password",
    "token",
    "timeout",
    "users",
    "default_permission",
    "default_permissions",
    "permissions",
    "auth_callout",
    "auth_hook",
    "proxy_required",
];

/// Decodes an `authorization` block.
pub(crate) fn authorization(s: &mut Sink, v: &Value, option: &str) -> Option<Authorization> {
    let m = d::map(s, v, option)?;
    let mut a = Authorization { loc: d::loc(v), ..Authorization::default() };
    for e in m.entries() {
        let p = path(option, &e.key);
        let v = &e.value;
        match e.key.to_lowercase().as_str() {
            "user" | "username" => a.user = d::string(s, v, &p),
            "pass" | "password" => a.password = d::string(s, v, &p),
            "token" => a.token = d::string(s, v, &p),
            "timeout" => {
                a.timeout = d::seconds(s, v, &p);
                if let Some(t) = a.timeout
                    && t > Duration::from_secs(60)
                {
                    s.warn(
                        &v.pos,
                        &p,
                        format!(
                            "timeout of {} seconds is high, consider keeping it under 60 seconds \
                         (an unquoted 1m means 1000000; write '1m')",
                            t.as_secs_f64()
                        ),
                    );
                }
            }
            "users" => a.users = users(s, v, &p),
            "default_permission" | "default_permissions" | "permissions" => {
                a.default_permissions = permissions(s, v, &p);
            }
            "auth_callout" | "auth_hook" => {
                a.auth_callout = true;
                s.refuse(&e.key_pos, &p, "auth callout");
            }
            "proxy_required" => {
                a.proxy_required = d::boolean(s, v, &p);
                if a.proxy_required == Some(true) {
                    s.refuse(&e.key_pos, &p, "requiring connections through a trusted proxy");
                }
            }
            _ => s.unknown(e, &p, AUTH_KNOWN),
        }
    }
    if (a.user.is_some() || a.password.is_some()) && a.token.is_some() {
        s.conflict(&v.pos, option, "user/password and token cannot be used together");
    }
    if a.users.is_some() {
        if a.user.is_some() {
            s.conflict(&v.pos, option, "a single user and a users array cannot be used together");
        }
        if a.token.is_some() {
            s.conflict(&v.pos, option, "a token and a users array cannot be used together");
        }
    }
    Some(a)
}

const USER_KNOWN: &[&str] = &[
    "nkey",
    "user",
    "username",
    "pass",
    "password",
    "permission",
    "permissions",
    "authorization",
    "allowed_connection_types",
    "connection_types",
    "clients",
    "proxy_required",
];

const CONNECTION_TYPES: &[&str] =
    &["STANDARD", "WEBSOCKET", "LEAFNODE", "LEAFNODE_WS", "MQTT", "MQTT_WS", "IN_PROCESS"];

/// Decodes a `users` array.
pub(crate) fn users(s: &mut Sink, v: &Value, option: &str) -> Option<Vec<User>> {
    let items = d::array(s, v, option)?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let ip = format!("{option}[{i}]");
        let Some(m) = d::map(s, item, &ip) else {
            continue;
        };
        let mut u = User { loc: d::loc(item), ..User::default() };
        for e in m.entries() {
            let p = path(&ip, &e.key);
            let v = &e.value;
            match e.key.to_lowercase().as_str() {
                "nkey" => u.nkey = d::string(s, v, &p),
                "user" | "username" => u.user = d::string(s, v, &p),
                "pass" | "password" => u.password = d::string(s, v, &p),
                "permission" | "permissions" | "authorization" => {
                    u.permissions = permissions(s, v, &p)
                }
                "allowed_connection_types" | "connection_types" | "clients" => {
                    for t in d::strings(s, v, &p).unwrap_or_default() {
                        if !CONNECTION_TYPES.contains(&t.to_uppercase().as_str()) {
                            s.error(
                                &v.pos,
                                &p,
                                format!(
                                    "unknown connection type {t:?}: expected one of {}",
                                    CONNECTION_TYPES.join(", ")
                                ),
                            );
                        }
                        u.allowed_connection_types.push(t);
                    }
                }
                "proxy_required" => {
                    u.proxy_required = d::boolean(s, v, &p);
                    if u.proxy_required == Some(true) {
                        s.refuse(&e.key_pos, &p, "requiring connections through a trusted proxy");
                    }
                }
                _ => s.unknown(e, &p, USER_KNOWN),
            }
        }
        match (&u.nkey, &u.user) {
            (None, None) => s.error(&item.pos, &ip, "a user entry needs a user (or an nkey)"),
            (Some(k), _) => {
                if !is_public_nkey(k, b'U') {
                    s.error(&item.pos, &ip, format!("{k:?} is not a valid public user nkey"));
                }
                if u.user.is_some() || u.password.is_some() {
                    s.error(&item.pos, &ip, "nkey users do not take a user name or password");
                }
            }
            _ => {}
        }
        out.push(u);
    }
    Some(out)
}

/// Whether `k` looks like a public nkey with the given prefix (`U` user, `A` account): 56
/// base32 characters. The checksum is not verified.
fn is_public_nkey(k: &str, prefix: u8) -> bool {
    k.len() == 56
        && k.as_bytes()[0] == prefix
        && k.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

/// Decodes a permissions map.
pub(crate) fn permissions(s: &mut Sink, v: &Value, option: &str) -> Option<Permissions> {
    let m = d::map(s, v, option)?;
    let mut p = Permissions::default();
    for e in m.entries() {
        let ep = path(option, &e.key);
        let v = &e.value;
        match e.key.to_lowercase().as_str() {
            "pub" | "publish" | "import" => p.publish = subject_permission(s, v, &ep, false),
            "sub" | "subscribe" | "export" => p.subscribe = subject_permission(s, v, &ep, true),
            "publish_allow_responses" | "allow_responses" => {
                p.allow_responses = match &v.kind {
                    Kind::Bool(true) => Some(ResponsePermission::default()),
                    Kind::Bool(false) => None,
                    Kind::Map(rm) => {
                        let mut r = ResponsePermission::default();
                        for re in rm.entries() {
                            let rp = path(&ep, &re.key);
                            match re.key.to_lowercase().as_str() {
                                "max" | "max_msgs" | "max_messages" | "max_responses" => {
                                    if let Some(n) =
                                        d::unsigned(s, &re.value, &rp).filter(|n| *n != 0)
                                    {
                                        r.max = n;
                                    }
                                }
                                "expires" | "expiration" | "ttl" => {
                                    if let Some(t) = d::duration(s, &re.value, &rp, false)
                                        .filter(|t| !t.is_zero())
                                    {
                                        r.expires = t;
                                    }
                                }
                                _ => s.unknown(re, &rp, &["max", "expires"]),
                            }
                        }
                        Some(r)
                    }
                    _ => {
                        s.expected(v, &ep, "a boolean or a map {max, expires}");
                        None
                    }
                };
            }
            _ => s.unknown(e, &ep, &["publish", "subscribe", "allow_responses"]),
        }
    }
    Some(p)
}

fn subject_permission(
    s: &mut Sink,
    v: &Value,
    option: &str,
    queue: bool,
) -> Option<SubjectPermission> {
    match &v.kind {
        Kind::Map(m) => {
            let mut sp = SubjectPermission::default();
            for e in m.entries() {
                let p = path(option, &e.key);
                match e.key.to_lowercase().as_str() {
                    "allow" => sp.allow = subjects(s, &e.value, &p, queue),
                    "deny" => sp.deny = subjects(s, &e.value, &p, queue),
                    _ => s.unknown(e, &p, &["allow", "deny"]),
                }
            }
            Some(sp)
        }
        _ => Some(SubjectPermission { allow: subjects(s, v, option, queue), deny: Vec::new() }),
    }
}

fn subjects(s: &mut Sink, v: &Value, option: &str, queue: bool) -> Vec<String> {
    let list = match &v.kind {
        Kind::String(x) => vec![x.clone()],
        Kind::Array(_) => d::strings(s, v, option).unwrap_or_default(),
        _ => {
            s.expected(v, option, "a subject or an array of subjects");
            return Vec::new();
        }
    };
    for subj in &list {
        let ok = valid_subject(subj)
            || (queue && {
                let parts: Vec<&str> = subj.split_whitespace().collect();
                parts.len() == 2 && valid_subject(parts[0]) && valid_subject(parts[1])
            });
        if !ok {
            s.error(&v.pos, option, format!("{subj:?} is not a valid subject"));
        }
    }
    list
}

/// nats-server's `IsValidSubject`: non-empty tokens without white space; `>` only last.
fn valid_subject(subj: &str) -> bool {
    if subj.is_empty() {
        return false;
    }
    let mut full_wildcard = false;
    for t in subj.split('.') {
        if t.is_empty() || full_wildcard {
            return false;
        }
        if t.len() > 1 && t.contains([' ', '\t', '\n', '\r', '\x0c']) {
            return false;
        }
        if t == ">" {
            full_wildcard = true;
        }
        if t.contains([' ', '\t', '\n', '\r', '\x0c']) {
            return false;
        }
    }
    true
}

const ACCOUNT_KNOWN: &[&str] = &[
    "users",
    "nkey",
    "imports",
    "exports",
    "jetstream",
    "default_permissions",
    "mappings",
    "maps",
    "limits",
    "msg_trace",
    "trace_dest",
];

/// Decodes `accounts`: an array of names or a map of account blocks.
pub(crate) fn accounts(s: &mut Sink, v: &Value, option: &str) -> Vec<Account> {
    let mut out: Vec<Account> = Vec::new();
    let mut names = HashSet::new();
    match &v.kind {
        Kind::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let ip = format!("{option}[{i}]");
                let Some(name) = d::string(s, item, &ip) else {
                    continue;
                };
                if name == "$G" {
                    s.error(&item.pos, &ip, "\"$G\" is a reserved account name");
                } else if !names.insert(name.clone()) {
                    s.error(&item.pos, &ip, format!("account {name:?} is listed twice"));
                } else {
                    out.push(Account { name, loc: d::loc(item), ..Account::default() });
                }
            }
        }
        Kind::Map(m) => {
            for e in m.entries() {
                if e.used_as_variable {
                    continue;
                }
                let ap = path(option, &e.key);
                let Some(am) = d::map(s, &e.value, &ap) else {
                    continue;
                };
                if e.key == "$G" {
                    s.error(&e.key_pos, &ap, "\"$G\" is a reserved account name");
                    continue;
                }
                let mut acc = Account {
                    name: e.key.clone(),
                    loc: Loc(Some(e.key_pos.clone())),
                    ..Account::default()
                };
                for ae in am.entries() {
                    let p = path(&ap, &ae.key);
                    match ae.key.to_lowercase().as_str() {
                        "users" => acc.users = users(s, &ae.value, &p).unwrap_or_default(),
                        "nkey" => {
                            acc.nkey = d::string(s, &ae.value, &p);
                            if let Some(k) = &acc.nkey
                                && !is_public_nkey(k, b'A')
                            {
                                s.error(
                                    &ae.value.pos,
                                    &p,
                                    format!("{k:?} is not a valid public account nkey"),
                                );
                            }
                        }
                        "default_permissions" => {
                            acc.default_permissions = permissions(s, &ae.value, &p);
                        }
                        "limits" => acc.limits = limits(s, &ae.value, &p),
                        "jetstream" => {
                            if !support::turned_off(&ae.value) {
                                s.refuse(&ae.key_pos, &p, "JetStream");
                            }
                        }
                        "imports" => s.refuse(&ae.key_pos, &p, "importing from other accounts"),
                        "exports" => s.refuse(&ae.key_pos, &p, "exporting to other accounts"),
                        "mappings" | "maps" => s.refuse(&ae.key_pos, &p, "subject mapping"),
                        "msg_trace" | "trace_dest" => s.refuse(&ae.key_pos, &p, "message tracing"),
                        _ => s.unknown(ae, &p, ACCOUNT_KNOWN),
                    }
                }
                out.push(acc);
            }
        }
        _ => s.expected(v, option, "an array of account names or a map of accounts"),
    }
    out
}

/// Decodes an account's `limits`: connections, subscriptions and payload are implemented;
/// `max_leafnodes` is refused (Strait has no leaf nodes).
fn limits(s: &mut Sink, v: &Value, option: &str) -> AccountLimits {
    let mut l = AccountLimits::default();
    let Some(m) = d::map(s, v, option) else {
        return l;
    };
    for e in m.entries() {
        let p = path(option, &e.key);
        let v = &e.value;
        match e.key.to_lowercase().as_str() {
            "max_connections" | "max_conn" => l.max_connections = d::integer(s, v, &p),
            "max_subscriptions" | "max_subs" => l.max_subscriptions = d::integer(s, v, &p),
            "max_payload" | "max_pay" => l.max_payload = d::integer(s, v, &p),
            "max_leafnodes" | "max_leafs" => {
                let _ = d::integer(s, v, &p);
                s.refuse(&e.key_pos, &p, "a limit on leaf node connections");
            }
            _ => s.unknown(
                e,
                &p,
                &["max_connections", "max_subscriptions", "max_payload", "max_leafnodes"],
            ),
        }
    }
    l
}
