//! What Strait does with the options nats-server knows and Strait does not implement.
//!
//! A configuration is served as written or refused. An option Strait does not implement is
//! **refused** (a load error, `FILE:LINE:COL: OPTION: … is not supported by strait`) whenever
//! ignoring it could let in a client nats-server would refuse, let a client publish or
//! subscribe where nats-server would not, send a message nats-server would not send (or not
//! send one it would), split a cluster, or keep less than nats-server keeps. Only options that
//! change none of that (tuning, cosmetics, monitoring extras, listeners for protocols Strait
//! does not serve) are **ignored**, each with an [`Ignored`] warning that does not fail
//! `strait -t`. `docs/compat.md` ("Options") has the whole table with the reasons.

use std::fmt;

use serde::Serialize;

use crate::options::Options;
use crate::options::decode::Sink;
use crate::value::Pos;

/// A recognised nats-server option that Strait ignores, and why that is safe.
///
/// Displayed as `FILE:LINE:COL: OPTION: ignored by strait: WHY`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ignored {
    /// The option path as written (`websocket`, `cluster.routes`).
    pub option: String,
    /// Where it is.
    #[serde(skip)]
    pub pos: Option<Pos>,
    /// Why ignoring it changes nothing that matters.
    pub why: String,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(pos) = &self.pos {
            write!(f, "{pos}: ")?;
        }
        write!(f, "{}: ignored by strait: {}", self.option, self.why)
    }
}

/// Top-level options refused whatever their value, with the feature they name.
pub(crate) const REFUSED_TOP: &[(&[&str], &str)] = &[
    (&["mappings", "maps"], "subject mapping"),
    (&["default_sentinel"], "a default sentinel JWT (operator mode)"),
    (&["leaf", "leafnodes"], "the leaf node protocol"),
    (&["proxy_protocol"], "the PROXY protocol on the client listener"),
    (
        &["operator", "operators", "roots", "root", "root_operators", "root_operator"],
        "operator mode (JWT accounts)",
    ),
    (&["resolver", "account_resolver", "accounts_resolver"], "an account resolver (operator mode)"),
    (&["resolver_tls"], "TLS for the account resolver (operator mode)"),
    (&["resolver_preload"], "preloading account JWTs (operator mode)"),
    (&["resolver_pinned_accounts"], "pinning resolver accounts (operator mode)"),
    (&["trusted", "trusted_keys"], "trusting operator keys (operator mode)"),
    (&["default_js_domain"], "a default JetStream domain (it maps account subjects)"),
    (&["proxies"], "trusting proxies"),
];

/// Top-level options ignored whatever their value, with the reason. Some are decoded (and
/// validated as nats-server does) all the same.
pub(crate) const IGNORED_TOP: &[(&[&str], &str)] = &[
    (&["disable_sublist_cache", "no_sublist_cache"], "a tuning option"),
    (&["logtime_utc"], "log timestamps are always UTC already"),
    (&["log_size_limit", "logfile_size_limit"], "the log file is not rotated"),
    (&["log_max_num", "logfile_max_num"], "the log file is not rotated"),
    (&["syslog"], "logs go to standard error or the log file"),
    (&["remote_syslog"], "logs go to standard error or the log file"),
    (&["ports_file_dir"], "no ports file is written"),
    (&["https", "https_port"], "monitoring over HTTPS is not served (plain `http` is)"),
    (&["http_base_path"], "monitoring endpoints are served at /"),
    (&["prof_port"], "no profiling endpoint is served"),
    (&["prof_block_rate"], "no profiling endpoint is served"),
    (&["connect_error_reports", "reconnect_error_reports"], "every connect error is logged"),
    (
        &["system_account", "system"],
        "Strait has no system account and sends no server events; the account is served as an \
         ordinary one",
    ),
    (&["server_tags"], "server tags only place JetStream assets and show in monitoring"),
    (&["server_metadata"], "server metadata only shows in monitoring and server events"),
    (&["feature_flags"], "every feature flag of nats-server 2.15 concerns JetStream"),
    (&["ocsp_cache"], "only used by tls.ocsp_peer, which Strait refuses"),
    (&["max_closed_clients"], "closed connections are not kept for monitoring"),
    (&["store_dir", "storedir"], "JetStream is off (store_dir alone does not turn it on)"),
    (
        &["websocket", "ws"],
        "WebSocket clients are not served (refused when a user may only connect over WebSocket)",
    ),
    (&["mqtt"], "MQTT clients are not served (refused when a user may only connect over MQTT)"),
];

/// The entry of `table` naming `key` (lower case).
pub(crate) fn lookup(table: &[(&[&str], &'static str)], key: &str) -> Option<&'static str> {
    table.iter().find(|(names, _)| names.contains(&key)).map(|(_, text)| *text)
}

/// Every top-level name of both tables (for "did you mean" hints).
pub(crate) fn top_level_names() -> impl Iterator<Item = &'static str> {
    REFUSED_TOP.iter().chain(IGNORED_TOP).flat_map(|(names, _)| names.iter().copied())
}

/// A WebSocket or MQTT listener is ignored only while no user is restricted to it: such a
/// user could connect to nats-server and never to Strait, so the file is refused instead.
pub(crate) fn restricted_listeners(o: &Options, s: &mut Sink) {
    let users = o
        .authorization
        .iter()
        .flat_map(|a| a.users.iter().flatten())
        .chain(o.accounts.iter().flat_map(|a| a.users.iter()));
    let mut websocket = false;
    let mut mqtt = false;
    for u in users {
        let types: Vec<String> =
            u.allowed_connection_types.iter().map(|t| t.to_uppercase()).collect();
        if types.is_empty() || types.iter().any(|t| t == "STANDARD") {
            continue;
        }
        websocket |= types.iter().any(|t| t == "WEBSOCKET" || t == "MQTT_WS");
        mqtt |= types.iter().any(|t| t == "MQTT" || t == "MQTT_WS");
    }
    let (kept, refused): (Vec<Ignored>, Vec<Ignored>) = std::mem::take(&mut s.ignored)
        .into_iter()
        .partition(|i| match i.option.to_lowercase().as_str() {
            "websocket" | "ws" => !websocket,
            "mqtt" => !mqtt,
            _ => true,
        });
    s.ignored = kept;
    for i in refused {
        let what = if i.option.eq_ignore_ascii_case("mqtt") {
            "an MQTT listener for users restricted to MQTT connections"
        } else {
            "a WebSocket listener for users restricted to WebSocket connections"
        };
        let pos = i.pos.clone().unwrap_or_else(|| Pos::new("", 1, 1));
        s.refuse(&pos, &i.option, what);
    }
}

/// `jetstream: false` or `"disabled"` (top level or in an account): JetStream stays off, as
/// in Strait. Any other value turns it on.
pub(crate) fn turned_off(v: &crate::value::Value) -> bool {
    use crate::value::Kind;
    match &v.kind {
        Kind::Bool(b) => !b,
        Kind::String(x) => matches!(x.to_lowercase().as_str(), "disabled" | "disable"),
        _ => false,
    }
}
