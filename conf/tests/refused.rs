//! A configuration is served as written or refused: every option Strait does not implement is
//! either a load error naming the option and its position ("… is not supported by strait"),
//! or, when ignoring it is safe, exactly one [`Ignored`](strait_conf::options::Ignored) warning
//! that does not fail `strait -t`. The auth options other parts of Strait implement are
//! neither. The tables here mirror `docs/compat.md`, "Options".

use strait_conf::{ErrorKind, Options, load_str};

const FILE: &str = "t.conf";

/// 1-based line and column (in characters) of the first `needle` in `text`.
fn position(text: &str, needle: &str) -> (u32, u32) {
    let at = text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in {text:?}"));
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line as u32, col as u32)
}

/// Every refused option: (configuration, option path, the key as written where the error
/// must point).
const REFUSED: &[(&str, &str, &str)] = &[
    // Top level, refused whatever the value.
    ("mappings { foo: bar }", "mappings", "mappings"),
    ("maps { foo: bar }", "maps", "maps"),
    ("default_sentinel: \"eyJ0eXAi\"", "default_sentinel", "default_sentinel"),
    ("leafnodes { port: 7422 }", "leafnodes", "leafnodes"),
    ("leaf { port: 7422 }", "leaf", "leaf"),
    ("proxy_protocol: true", "proxy_protocol", "proxy_protocol"),
    ("ocsp { mode: always }", "ocsp", "ocsp"),
    ("operator: \"/etc/nats/op.jwt\"", "operator", "operator"),
    ("operators: [\"/etc/nats/op.jwt\"]", "operators", "operators"),
    ("roots: [\"/etc/nats/op.jwt\"]", "roots", "roots"),
    ("root: \"/etc/nats/op.jwt\"", "root", "root"),
    ("root_operators: [\"/etc/nats/op.jwt\"]", "root_operators", "root_operators"),
    ("root_operator: \"/etc/nats/op.jwt\"", "root_operator", "root_operator"),
    ("resolver: MEMORY", "resolver", "resolver"),
    ("account_resolver: MEMORY", "account_resolver", "account_resolver"),
    ("accounts_resolver: MEMORY", "accounts_resolver", "accounts_resolver"),
    ("resolver_tls { insecure: true }", "resolver_tls", "resolver_tls"),
    ("resolver_preload { ACC: \"jwt\" }", "resolver_preload", "resolver_preload"),
    ("resolver_pinned_accounts: [\"ACC\"]", "resolver_pinned_accounts", "resolver_pinned_accounts"),
    ("trusted: \"OKEY\"", "trusted", "trusted"),
    ("trusted_keys: [\"OKEY\"]", "trusted_keys", "trusted_keys"),
    ("default_js_domain { ACC: hub }", "default_js_domain", "default_js_domain"),
    ("proxies { trusted: [ {key: \"XKEY\"} ] }", "proxies", "proxies"),
    // Top level, refused for the values Strait does not implement.
    ("jetstream {}", "jetstream", "jetstream"),
    ("jetstream: true", "jetstream", "jetstream"),
    ("jetstream: enabled", "jetstream", "jetstream"),
    ("max_sub_tokens: 16", "max_sub_tokens", "max_sub_tokens"),
    ("max_subscription_tokens: 16", "max_subscription_tokens", "max_subscription_tokens"),
    ("write_timeout: retry", "write_timeout", "write_timeout"),
    ("no_fast_producer_stall: true", "no_fast_producer_stall", "no_fast_producer_stall"),
    // Authorization and users.
    (
        "authorization {\n  auth_callout { issuer: AKEY }\n}",
        "authorization.auth_callout",
        "auth_callout",
    ),
    ("authorization {\n  auth_hook { issuer: AKEY }\n}", "authorization.auth_hook", "auth_hook"),
    (
        "authorization {\n  user: a, password: b\n  proxy_required: true\n}",
        "authorization.proxy_required",
        "proxy_required",
    ),
    (
        "authorization {\n  users: [\n    {user: a, password: b, proxy_required: true}\n  ]\n}",
        "authorization.users[0].proxy_required",
        "proxy_required",
    ),
    (
        "accounts {\n  A {\n    users: [ {user: a, password: b, proxy_required: true} ]\n  }\n}",
        "accounts.A.users[0].proxy_required",
        "proxy_required",
    ),
    // Accounts.
    ("accounts {\n  A {\n    imports: []\n  }\n}", "accounts.A.imports", "imports"),
    ("accounts {\n  A {\n    exports: []\n  }\n}", "accounts.A.exports", "exports"),
    ("accounts {\n  A {\n    jetstream: enabled\n  }\n}", "accounts.A.jetstream", "jetstream"),
    ("accounts {\n  A {\n    mappings { a: b }\n  }\n}", "accounts.A.mappings", "mappings"),
    ("accounts {\n  A {\n    maps { a: b }\n  }\n}", "accounts.A.maps", "maps"),
    ("accounts {\n  A {\n    msg_trace { dest: t }\n  }\n}", "accounts.A.msg_trace", "msg_trace"),
    ("accounts {\n  A {\n    trace_dest: t\n  }\n}", "accounts.A.trace_dest", "trace_dest"),
    (
        "accounts {\n  A {\n    limits { max_leafnodes: 1 }\n  }\n}",
        "accounts.A.limits.max_leafnodes",
        "max_leafnodes",
    ),
    (
        "accounts {\n  A {\n    limits { max_leafs: 1 }\n  }\n}",
        "accounts.A.limits.max_leafs",
        "max_leafs",
    ),
    // TLS.
    ("tls {\n  connection_rate_limit: 10\n}", "tls.connection_rate_limit", "connection_rate_limit"),
    ("tls {\n  cert_store: WindowsCurrentUser\n}", "tls.cert_store", "cert_store"),
    ("tls {\n  cert_match_by: Subject\n}", "tls.cert_match_by", "cert_match_by"),
    ("tls {\n  cert_match: \"CN\"\n}", "tls.cert_match", "cert_match"),
    ("tls {\n  ca_certs_match: [\"CA\"]\n}", "tls.ca_certs_match", "ca_certs_match"),
    (
        "tls {\n  cert_match_skip_invalid: true\n}",
        "tls.cert_match_skip_invalid",
        "cert_match_skip_invalid",
    ),
    ("tls {\n  ocsp_peer: true\n}", "tls.ocsp_peer", "ocsp_peer"),
    (
        "gateway {\n  name: A, port: 7222\n  tls { cert_store: WindowsCurrentUser }\n}",
        "gateway.tls.cert_store",
        "cert_store",
    ),
    // Cluster and gateway.
    (
        "gateway {\n  name: A, port: 7222\n  write_deadline: \"5s\"\n}",
        "gateway.write_deadline",
        "write_deadline",
    ),
    (
        "gateway {\n  name: A, port: 7222\n  write_timeout: close\n}",
        "gateway.write_timeout",
        "write_timeout",
    ),
    // Listeners Strait does not serve, when a user may only connect through them.
    (
        "authorization { users: [ {user: a, password: b, allowed_connection_types: [\"WEBSOCKET\"]} ] }\n\
         websocket { port: 8080, no_tls: true }",
        "websocket",
        "websocket",
    ),
    (
        "accounts { A { users: [ {user: a, password: b, allowed_connection_types: [\"MQTT\"]} ] } }\n\
         mqtt { port: 1883 }",
        "mqtt",
        "mqtt",
    ),
];

#[test]
fn every_refused_option_is_a_positioned_error() {
    let mut failures = Vec::new();
    for &(text, option, key) in REFUSED {
        let (line, col) = position(text, key);
        let errors = match load_str(text, FILE) {
            Ok(_) => {
                failures.push(format!("{option}: accepted:\n{text}"));
                continue;
            }
            Err(errors) => errors,
        };
        let want = format!("{FILE}:{line}:{col}: {option}: ");
        let found = errors.iter().any(|e| {
            let shown = e.to_string();
            e.kind == ErrorKind::Unsupported
                && e.option == option
                && shown.starts_with(&want)
                && shown.ends_with("is not supported by strait")
        });
        if !found {
            failures.push(format!(
                "{option}: wanted \"{want}… is not supported by strait\", got:\n{errors}"
            ));
        }
    }
    assert!(failures.is_empty(), "{} refusals wrong:\n{}", failures.len(), failures.join("\n"));
}

/// Every ignored option, with a value nats-server accepts: (configuration, option path).
const IGNORED: &[(&str, &str)] = &[
    ("disable_sublist_cache: true", "disable_sublist_cache"),
    ("no_sublist_cache: true", "no_sublist_cache"),
    ("logtime_utc: true", "logtime_utc"),
    ("log_size_limit: 1MB", "log_size_limit"),
    ("logfile_size_limit: 1MB", "logfile_size_limit"),
    ("log_max_num: 3", "log_max_num"),
    ("logfile_max_num: 3", "logfile_max_num"),
    ("syslog: true", "syslog"),
    ("remote_syslog: \"udp://127.0.0.1:514\"", "remote_syslog"),
    ("ports_file_dir: \"/tmp\"", "ports_file_dir"),
    ("https: 8443", "https"),
    ("https_port: 8443", "https_port"),
    ("http_base_path: \"/mon\"", "http_base_path"),
    ("prof_port: 6060", "prof_port"),
    ("prof_block_rate: 1", "prof_block_rate"),
    ("connect_error_reports: 10", "connect_error_reports"),
    ("reconnect_error_reports: 10", "reconnect_error_reports"),
    ("accounts { SYS: {} }\nsystem_account: SYS", "system_account"),
    ("accounts { SYS: {} }\nsystem: SYS", "system"),
    ("server_tags: [\"az:1\"]", "server_tags"),
    ("server_metadata { rack: r1 }", "server_metadata"),
    ("feature_flags { js_ack_fc_v2: true }", "feature_flags"),
    ("ocsp_cache: true", "ocsp_cache"),
    ("max_closed_clients: 100", "max_closed_clients"),
    ("store_dir: \"/tmp/js\"", "store_dir"),
    ("storedir: \"/tmp/js\"", "storedir"),
    ("websocket { port: 8080, no_tls: true }", "websocket"),
    ("ws { port: 8080, no_tls: true }", "ws"),
    (
        "authorization { users: [ {user: a, password: b, allowed_connection_types: [\"STANDARD\", \"WEBSOCKET\"]} ] }\n\
         websocket { port: 8080, no_tls: true }",
        "websocket",
    ),
    ("mqtt { port: 1883 }", "mqtt"),
    // A cluster block without a port forms no routes: what only routes use is ignored (the
    // implemented route options warn the same way; their rows say implemented).
    ("cluster { name: C, compression: s2_auto }", "cluster.compression"),
    // With a port: what differs only in the shape of the links.
    ("cluster { port: 6222, compression: s2_auto }", "cluster.compression"),
];

#[test]
fn every_ignored_option_loads_with_one_warning() {
    let mut failures = Vec::new();
    for &(text, option) in IGNORED {
        match load_str(text, FILE) {
            Err(errors) => failures.push(format!("{option}: refused:\n{errors}")),
            Ok(o) => {
                let (line, col) = position(text, option.rsplit('.').next().unwrap());
                let want = format!("{FILE}:{line}:{col}: {option}: ignored by strait: ");
                let shown: Vec<String> = o.ignored.iter().map(|i| i.to_string()).collect();
                if shown.len() != 1 || !shown[0].starts_with(&want) || !o.warnings.is_empty() {
                    failures.push(format!(
                        "{option}: wanted one \"{want}…\", got {shown:?} and warnings {:?}",
                        o.warnings
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} ignored options wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Values that keep a feature off are served as written.
#[test]
fn turned_off_features_are_not_refused() {
    for text in [
        "jetstream: false",
        "jetstream: disabled",
        "accounts { A { jetstream: disabled } }",
        "no_fast_producer_stall: false",
        "authorization { user: a, password: b, proxy_required: false }",
        "tls { ocsp_peer: false }",
        "ocsp: false",
        "tls { connection_rate_limit: 0 }",
        "write_timeout: close",
        "write_timeout: default",
        "gateway { name: A, port: 7222, write_timeout: retry }",
        "cluster { name: A, port: 0 }\ngateway { name: A, port: 7222 }",
    ] {
        let o = load_str(text, FILE).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(o.ignored.is_empty(), "{text}: {:?}", o.ignored);
    }
}

/// Route TLS is served: a cluster with a port takes its `tls` block whole, with no warning.
#[test]
fn cluster_tls_is_served() {
    let o = load(
        "cluster {\n  port: 6222\n  tls { timeout: 3, verify_and_map: true, insecure: true }\n}",
    );
    assert!(o.ignored.is_empty(), "{:?}", o.ignored);
    let tls = o.cluster.and_then(|c| c.tls).expect("cluster.tls");
    assert!(tls.verify_and_map && tls.insecure);
    assert_eq!(tls.timeout, Some(std::time::Duration::from_secs(3)));
}

/// A gateway on a server that also listens for routes is served: gateways between clusters
/// of several servers (`net/tests/supercluster_interop.rs`).
#[test]
fn a_gateway_beside_a_route_listener_is_served() {
    let o = load("gateway {\n  name: A, port: 7222\n}\ncluster {\n  name: A, port: 6222\n}");
    assert!(o.ignored.is_empty(), "{:?}", o.ignored);
    assert!(o.gateway.is_some() && o.cluster.is_some());
}

fn load(text: &str) -> Options {
    load_str(text, FILE).unwrap_or_else(|e| panic!("{text}:\n{e}"))
}

/// What other parts of Strait implement (permissions, nkeys, bcrypt, `no_auth_user`,
/// connection types, `verify_and_map`, account limits, `max_subscriptions`) is neither refused
/// nor ignored, and its decoded values are all there.
#[test]
fn implemented_auth_options_are_not_refused() {
    const NKEY: &str = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4";
    const BCRYPT: &str = "$2a$11$3kIDaCxw.Glsl1.u5nKa6eUnNDLV5HV9tIuUp7EHhMt6Nm9myW1aS";
    let o = load(&format!(
        "max_subscriptions: 100\n\
         no_auth_user: guest\n\
         authorization {{\n\
           default_permissions {{ publish: {{ deny: [\"admin.>\"] }}, subscribe: \"pub.>\" }}\n\
           users: [\n\
             {{user: guest, password: \"{BCRYPT}\", allowed_connection_types: [\"STANDARD\"]}}\n\
             {{nkey: {NKEY}, permissions {{ publish: \"a.>\", allow_responses: true }}}}\n\
           ]\n\
         }}\n\
         accounts {{\n\
           A {{\n\
             default_permissions {{ subscribe {{ allow: [\"a.>\"] }} }}\n\
             limits {{ max_connections: 10, max_subs: 20, max_pay: 1024 }}\n\
             users: [ {{user: a, password: p}} ]\n\
           }}\n\
           B {{ limits {{ max_conn: -1, max_subscriptions: 0, max_payload: 2048 }} }}\n\
         }}\n\
         tls {{\n\
           cert_file: \"tests/corpus/certs/server-cert.pem\"\n\
           key_file: \"tests/corpus/certs/server-key.pem\"\n\
           ca_file: \"tests/corpus/certs/ca.pem\"\n\
           verify_and_map: true\n\
         }}\n"
    ));
    assert!(o.ignored.is_empty(), "{:?}", o.ignored);
    assert_eq!(o.max_subscriptions, Some(100));
    assert_eq!(o.no_auth_user.as_deref(), Some("guest"));
    assert!(o.tls.as_ref().is_some_and(|t| t.verify_and_map && t.verify));
    let auth = o.authorization.as_ref().unwrap();
    let defaults = auth.default_permissions.as_ref().unwrap();
    assert_eq!(defaults.publish.as_ref().unwrap().deny, ["admin.>"]);
    assert_eq!(defaults.subscribe.as_ref().unwrap().allow, ["pub.>"]);
    let users = auth.users.as_ref().unwrap();
    assert_eq!(users[0].password.as_deref(), Some(BCRYPT));
    assert_eq!(users[0].allowed_connection_types, ["STANDARD"]);
    assert_eq!(users[1].nkey.as_deref(), Some(NKEY));
    assert!(users[1].permissions.as_ref().unwrap().allow_responses.is_some());
    let a = &o.accounts[0];
    let a_defaults = a.default_permissions.as_ref().unwrap();
    assert_eq!(a_defaults.subscribe.as_ref().unwrap().allow, ["a.>"]);
    assert_eq!(
        (a.limits.max_connections, a.limits.max_subscriptions, a.limits.max_payload),
        (Some(10), Some(20), Some(1024))
    );
    let b = &o.accounts[1];
    assert_eq!(b.default_permissions, None);
    assert_eq!(
        (b.limits.max_connections, b.limits.max_subscriptions, b.limits.max_payload),
        (Some(-1), Some(0), Some(2048))
    );

    let o = load(&format!("authorization {{ token: \"{BCRYPT}\" }}"));
    assert_eq!(o.authorization.unwrap().token.as_deref(), Some(BCRYPT));
}

/// An unknown key in `limits` is an unknown option, as in nats-server.
#[test]
fn unknown_account_limit_is_an_error() {
    let errors = load_str("accounts { A { limits { max_foo: 1 } } }", FILE).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.kind == ErrorKind::UnknownOption && e.option == "accounts.A.limits.max_foo"),
        "{errors}"
    );
}

/// The group of `docs/compat.md`'s option table an option path belongs to.
fn group(path: &str) -> &'static str {
    if path.starts_with("tls.") || path.contains(".tls.") {
        "TLS"
    } else if path.contains(".users[") {
        "Users"
    } else if path.starts_with("authorization.") {
        "Authorization"
    } else if path.starts_with("accounts.") {
        "Accounts"
    } else if path.starts_with("cluster.") {
        "Cluster"
    } else if path.starts_with("gateway.") {
        "Gateway"
    } else {
        "Top level"
    }
}

/// The rows of the option table: (group, option names, status, note). A name written `name: value`
/// counts as `name`; `limits.` is dropped from account limits.
fn documented() -> Vec<(String, Vec<String>, String, String)> {
    let text = std::fs::read_to_string("../docs/compat.md").expect("docs/compat.md");
    let section = text.split("\n## Options\n").nth(1).expect("an Options section");
    let section = section.split("\n## ").next().unwrap();
    let mut rows = Vec::new();
    let mut current = String::new();
    for line in section.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if let Some(rest) = cells[1].strip_prefix("**") {
            current = rest.split("**").next().unwrap().to_owned();
            continue;
        }
        let names = cells[1]
            .split('`')
            .skip(1)
            .step_by(2)
            .map(|n| {
                let n = n.split(':').next().unwrap();
                n.strip_prefix("limits.").unwrap_or(n).to_owned()
            })
            .collect();
        rows.push((current.clone(), names, cells[2].to_owned(), cells[3].to_owned()));
    }
    rows
}

/// The table in `docs/compat.md` and the code agree: every refused and ignored option tested
/// here has its row with that status, and every refused or ignored row of the groups Strait
/// checks option by option is tested here.
#[test]
fn the_documented_table_matches() {
    let rows = documented();
    assert!(rows.len() > 150, "the option table has {} rows", rows.len());
    let tested: Vec<(&str, &str, &str)> = REFUSED
        .iter()
        .map(|&(_, path, _)| (group(path), path, "refused"))
        .chain(IGNORED.iter().map(|&(_, path)| (group(path), path, "ignored")))
        .collect();
    let mut failures = Vec::new();
    for &(grp, path, status) in &tested {
        let name = path.rsplit('.').next().unwrap();
        let name = name.split('[').next().unwrap();
        // An ignored listener is refused in some cases its note names.
        let documented = rows.iter().any(|(g, names, s, note)| {
            let matches = s == status || (status == "refused" && note.contains("refused when"));
            g.starts_with(grp) && matches && names.iter().any(|n| n == name)
        });
        if !documented {
            failures.push(format!("{path}: no {status} row for {name:?} in group {grp}"));
        }
    }
    let checked = ["Top level", "Authorization", "Users", "Accounts", "TLS", "Cluster", "Gateway"];
    for (g, names, s, _) in &rows {
        if s == "implemented" || !checked.iter().any(|c| g.starts_with(c)) {
            continue;
        }
        let covered = tested.iter().any(|&(grp, path, status)| {
            let name = path.rsplit('.').next().unwrap().split('[').next().unwrap();
            g.starts_with(grp) && status == s && names.iter().any(|n| n == name)
        });
        if !covered {
            failures.push(format!("{g}: the {s} row {names:?} has no test here"));
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
