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
fn listen_and_gateway_changes_need_a_restart() {
    let a = opts(
        "port: 4222\ngateway { name: A, port: 7222, gateways: [ {name: B, url: \"nats://b:7222\"} ] }",
    );
    let b = opts(
        "port: 4223\ngateway { name: A, port: 7222, gateways: [ {name: B, url: \"nats://b2:7222\"} ] }",
    );
    let changes = diff(&a, &b);
    assert_eq!(changes.len(), 2);
    assert!(matches!(&changes[0], Change::Port { old: Some(4222), new: Some(4223) }));
    match &changes[1] {
        Change::Gateway { old, new } => {
            assert_eq!(old.as_ref().unwrap().gateways[0].urls[0].host, "b");
            assert_eq!(new.as_ref().unwrap().gateways[0].urls[0].host, "b2");
        }
        other => panic!("{other:?}"),
    }
    assert!(changes.iter().all(Change::requires_restart));
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
