//! Reload plumbing: typed differences between two configurations.

use std::time::Duration;

use strait_conf::{Change, diff, load_str};

fn opts(src: &str) -> strait_conf::Options {
    load_str(src, "t.conf").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn no_changes_when_only_layout_moves() {
    let a = opts("port: 4222\ngateway { name: A, port: 7222 }\n");
    let b = opts("# moved\n\n   port = 4222\ngateway {\n name = A\n port = 7222\n}\n");
    assert!(diff(&a, &b).is_empty());
}

#[test]
fn scalar_changes_carry_old_and_new() {
    let a = opts("debug: false\nping_interval: \"2m\"\nmax_payload: 1MB");
    let b = opts("debug: true\nping_interval: \"30s\"\nmax_payload: 1MB\nlogtime: false");
    let changes = diff(&a, &b);
    assert_eq!(
        changes,
        vec![
            Change::PingInterval {
                old: Some(Duration::from_secs(120)),
                new: Some(Duration::from_secs(30))
            },
            Change::Debug { old: Some(false), new: Some(true) },
            Change::Logtime { old: None, new: Some(false) },
        ]
    );
    assert_eq!(
        changes.iter().map(Change::option).collect::<Vec<_>>(),
        ["ping_interval", "debug", "logtime"]
    );
    assert!(changes.iter().all(|c| !c.requires_restart()));
}

#[test]
fn listen_and_gateway_identity_changes_need_a_restart() {
    let a = opts("port: 4222\ngateway { name: A, port: 7222 }");
    let b = opts("port: 4223\ngateway { name: A, port: 7223 }");
    let changes = diff(&a, &b);
    assert_eq!(changes.len(), 2);
    assert!(matches!(&changes[0], Change::Port { old: Some(4222), new: Some(4223) }));
    assert!(matches!(&changes[1], Change::Gateway { .. }));
    assert!(changes.iter().all(Change::requires_restart));
    assert_eq!(changes[0].refusal(), "config reload not supported for Port: old=4222, new=4223");
    assert_eq!(
        changes[1].refusal(),
        "config reload not supported for Gateway: old={A 0.0.0.0 7222 []}, new={A 0.0.0.0 7223 []}"
    );
}

#[test]
fn gateway_remotes_can_be_reloaded() {
    // A deliberate difference: nats-server refuses any gateway change but TLS.
    let a =
        opts("gateway { name: A, port: 7222, gateways: [ {name: B, url: \"nats://b:7222\"} ] }");
    let b = opts(
        "gateway { name: A, port: 7222, gateways: [ {name: B, url: \"nats://b2:7222\"}, \
         {name: C, url: \"nats://c:7222\"} ] }",
    );
    let changes = diff(&a, &b);
    assert!(matches!(changes.as_slice(), [Change::Gateway { .. }]));
    assert!(!changes[0].requires_restart());
}

#[test]
fn options_nats_server_refuses_are_refused_with_its_field_names() {
    for (text, message) in [
        ("server_name: b", "config reload not supported for ServerName: old=, new=b"),
        (
            "max_pending: 100000000",
            "config reload not supported for MaxPending: old=0, new=100000000",
        ),
        ("max_subscriptions: 10", "config reload not supported for MaxSubs: old=0, new=10"),
        (
            "lame_duck_duration: \"30s\"",
            "config reload not supported for LameDuckDuration: old=0s, new=30s",
        ),
        ("write_timeout: close", "config reload not supported for WriteTimeout: old=, new=close"),
        (
            "no_header_support: true",
            "config reload not supported for NoHeaderSupport: old=false, new=true",
        ),
        ("http_port: 8222", "config reload not supported for HTTPPort: old=0, new=8222"),
    ] {
        let changes = diff(&opts("port: 4222"), &opts(&format!("port: 4222\n{text}")));
        assert_eq!(changes.len(), 1, "{text}");
        assert!(changes[0].requires_restart(), "{text}");
        assert_eq!(changes[0].refusal(), message);
    }
}

#[test]
fn limits_and_logging_reload() {
    let changes = diff(
        &opts("port: 4222"),
        &opts(
            "max_connections: 10\nmax_payload: 2000\nmax_control_line: 2000\nping_max: 3\n\
               write_deadline: \"3s\"\ntrace: true\nlog_file: \"/tmp/x.log\"\npid_file: p\nport: 4222",
        ),
    );
    assert_eq!(changes.len(), 8);
    assert!(changes.iter().all(|c| !c.requires_restart()), "{changes:?}");
}

#[test]
fn gateway_tls_alone_can_be_reloaded() {
    let a = opts("gateway { name: A, port: 7222, tls { timeout: 2 } }");
    let b = opts("gateway { name: A, port: 7222, tls { timeout: 3 } }");
    let changes = diff(&a, &b);
    assert_eq!(changes.len(), 1);
    assert!(!changes[0].requires_restart());
}

#[test]
fn authorization_changes_are_reloadable() {
    let a = opts("authorization { users: [ {user: a, password: x} ] }");
    let b = opts("authorization { users: [ {user: a, password: y} ] }");
    let changes = diff(&a, &b);
    assert!(matches!(changes.as_slice(), [Change::Authorization { .. }]));
    assert!(!changes[0].requires_restart());
}
