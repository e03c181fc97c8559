//! The corpus under `tests/corpus/`: valid files load with the expected values, invalid ones
//! fail with the expected error text at the expected position.

mod common;

use std::path::Path;
use std::time::Duration;

use strait_conf::options::{HandshakeFirst, TlsVersion, WriteTimeoutPolicy};
use strait_conf::{Options, check_file};

fn load(name: &str) -> Options {
    let path = Path::new("tests/corpus/valid").join(name);
    check_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_file_meets_its_header() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in common::corpus() {
        let result = check_file(&case.path);
        let accepts = match case.dir {
            "valid" => true,
            "differs" => case
                .strait_accepts
                .unwrap_or_else(|| panic!("{}: no '# strait:' header", case.path.display())),
            _ => false,
        };
        match (&result, accepts) {
            (Ok(_), true) => {}
            (Ok(_), false) => panic!("{}: should be rejected", case.path.display()),
            (Err(e), true) => panic!("{}: should be accepted: {e}", case.path.display()),
            (Err(errors), false) => {
                let Some((line, col, text)) = &case.error else {
                    panic!(
                        "{}: rejected files need an '# error: L:C: text' header",
                        case.path.display()
                    )
                };
                let found = errors.iter().any(|e| {
                    e.pos.as_ref().is_some_and(|p| p.line == *line && p.col == *col)
                        && e.to_string().contains(text)
                });
                if !found {
                    failures.push(format!(
                        "{}: want {line}:{col}: {text}\ngot:\n{errors}",
                        case.path.display()
                    ));
                }
                // Every error names the file and a 1-based position first.
                for e in errors {
                    let p = e.pos.as_ref().expect("positioned");
                    assert!(p.line >= 1 && p.col >= 1, "{e}");
                    assert!(
                        e.to_string().starts_with(&format!("{}:{}:{}: ", p.file, p.line, p.col))
                    );
                }
            }
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(checked >= 40);
}

#[test]
fn every_corpus_file_survives_the_fuzzing_properties() {
    for case in common::corpus() {
        strait_conf::fuzzing::parse(&std::fs::read(&case.path).unwrap());
    }
}

#[test]
fn basic_values() {
    let o = load("basic.conf");
    assert_eq!(o.server_name.as_deref(), Some("basic-1"));
    assert_eq!((o.host.as_deref(), o.port), (Some("127.0.0.1"), Some(4333)));
    assert_eq!(o.client_advertise.as_deref(), Some("basic.example.net:4333"));
    assert_eq!(o.max_payload, Some(2 << 20));
    assert_eq!(o.max_control_line, Some(8000));
    assert_eq!(o.max_pending, Some(64 << 20));
    assert_eq!(o.max_connections, Some(1000));
    assert_eq!(o.max_subscriptions, Some(100));
    assert_eq!(o.ping_interval, Some(Duration::from_secs(30)));
    assert_eq!(o.ping_max, Some(3));
    assert_eq!(o.write_deadline, Some(Duration::from_secs(2)));
    assert_eq!(o.write_timeout, Some(WriteTimeoutPolicy::Close));
    assert_eq!(o.lame_duck_duration, Some(Duration::from_secs(60)));
    assert_eq!(o.lame_duck_grace_period, Some(Duration::from_secs(5)));
    assert_eq!(
        (o.debug, o.trace, o.logtime, o.logtime_utc),
        (Some(true), Some(false), Some(true), Some(true))
    );
    assert_eq!(o.log_file.as_deref(), Some("/tmp/strait-basic.log"));
    assert_eq!((o.log_size_limit, o.log_max_num), (Some(10 << 20), Some(5)));
    assert_eq!(o.pid_file.as_deref(), Some("/tmp/strait-basic.pid"));
    assert_eq!((o.http_host.as_deref(), o.http_port), (Some("127.0.0.1"), Some(8333)));
    assert_eq!((o.no_header_support, o.disable_sublist_cache), (Some(false), Some(false)));
    // Everything not written stays unset, for defaults and flags to fill in.
    assert_eq!(
        (o.syslog, o.tls.is_none(), o.cluster.is_none(), o.gateway.is_none()),
        (None, true, true, true)
    );
    assert!(o.warnings.is_empty());
}

#[test]
fn json_values() {
    let o = load("json.conf");
    assert_eq!((o.port, o.http_port), (Some(4224), Some(8224)));
    let c = o.cluster.unwrap();
    assert_eq!(c.name.as_deref(), Some("J"));
    assert_eq!(c.routes.iter().map(|u| u.host.as_str()).collect::<Vec<_>>(), ["j2", "j3"]);
    assert_eq!(o.authorization.unwrap().users.unwrap().len(), 2);
}

#[test]
fn include_values() {
    let o = load("include.conf");
    let names: Vec<&str> = o.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["APP", "OPS"]);
    assert_eq!(o.accounts[0].users[0].password.as_deref(), Some("s3cret"));
    assert_eq!(o.no_auth_user.as_deref(), Some("app"));
    let g = o.gateway.unwrap();
    let a = g.authorization.unwrap();
    assert_eq!((a.user.as_deref(), a.password.as_deref()), (Some("gw"), Some("gw-pw")));
    assert_eq!(a.timeout, Some(Duration::from_secs(2)));
}

#[test]
fn gateway_full_values() {
    let o = load("gateway-full.conf");
    let g = o.gateway.unwrap();
    assert_eq!(g.name.as_deref(), Some("G"));
    assert_eq!((g.host.as_deref(), g.port), (Some("127.0.0.1"), Some(7226)));
    assert_eq!(g.advertise.as_deref(), Some("gw.example.net:7226"));
    assert_eq!(
        (g.connect_retries, g.connect_backoff, g.reject_unknown_cluster),
        (Some(5), Some(true), Some(true))
    );
    assert_eq!(g.write_timeout, Some(WriteTimeoutPolicy::Retry));
    let a = g.authorization.unwrap();
    assert_eq!((a.user.as_deref(), a.password.as_deref()), (Some("gw"), Some("pw")));
    assert_eq!(a.timeout, Some(Duration::from_millis(1500)));
    let t = g.tls.unwrap();
    assert!(t.verify);
    assert_eq!(t.timeout, Some(Duration::from_secs(3)));
    assert_eq!(t.ca_file.as_deref(), Some("tests/corpus/certs/ca.pem"));
    assert_eq!(g.gateways.len(), 3);
    let h = &g.gateways[1];
    assert_eq!(h.name, "H");
    assert_eq!(h.urls[0].user.as_deref(), Some("gw"));
    assert_eq!(h.urls[0].password.as_deref(), Some("pw"));
    assert_eq!((h.urls[0].host.as_str(), h.urls[0].port), ("h1.example.net", Some(7226)));
    assert!(h.tls.as_ref().is_some_and(|t| !t.insecure));
    assert_eq!(g.gateways[2].urls.len(), 2);
    // reject_unknown is the short spelling.
    assert_eq!(load("gateway-listen.conf").gateway.unwrap().reject_unknown_cluster, Some(true));
}

#[test]
fn cluster_values() {
    let c = load("cluster.conf").cluster.unwrap();
    assert_eq!((c.name.as_deref(), c.host.as_deref(), c.port), (Some("C"), Some("0.0.0.0"), None));
    assert_eq!((c.no_advertise, c.connect_retries, c.pool_size), (Some(true), Some(3), Some(5)));
    assert_eq!(c.compression.as_deref(), Some("s2_auto"));
    assert_eq!((c.ping_interval, c.ping_max), (Some(Duration::from_secs(20)), Some(4)));
    assert_eq!(c.routes.len(), 2);
    assert_eq!(c.routes[1].host, "c3.example.net");
    let p = c.permissions.unwrap();
    assert_eq!(p.publish.unwrap().allow, ["foo.>"]);
    assert_eq!(p.subscribe.unwrap().deny, ["bar.secret"]);
}

#[test]
fn authorization_values() {
    let a = load("auth-users.conf").authorization.unwrap();
    assert_eq!(a.timeout, Some(Duration::from_secs(3)));
    let users = a.users.unwrap();
    assert_eq!(
        users[0].password.as_deref(),
        Some("$2a$11$3kIDaCxw.Glsl1.u5nKa6eUnNDLV5HV9tIuUp7EHhMt6Nm9myW1aS")
    );
    let bob = users[1].permissions.as_ref().unwrap();
    assert_eq!(bob.publish.as_ref().unwrap().deny, ["req.admin"]);
    assert_eq!(bob.subscribe.as_ref().unwrap().allow, ["resp.* q1"]);
    assert_eq!(bob.allow_responses.unwrap().max, 2);
    assert_eq!(users[2].allowed_connection_types, ["STANDARD", "WEBSOCKET"]);
    let t = load("auth-token.conf").authorization.unwrap();
    assert_eq!(
        (t.token.as_deref(), t.timeout),
        (Some("s3cr3t-t0ken"), Some(Duration::from_secs(1)))
    );
}

#[test]
fn variable_values() {
    let g = load("variables.conf").gateway.unwrap();
    assert_eq!((g.name.as_deref(), g.port), (Some("V"), Some(7229)));
    assert_eq!(g.gateways[0].urls[0].host, "v2.example.net");
}

#[test]
fn syntax_mix_and_case_values() {
    let o = load("syntax-mix.conf");
    assert_eq!(
        (o.port, o.server_name.as_deref(), o.debug, o.trace),
        (Some(4230), Some("mix"), Some(true), Some(false))
    );
    assert_eq!((o.logtime, o.http_port, o.max_payload), (Some(true), Some(8230), Some(1 << 20)));
    assert_eq!(o.authorization.unwrap().password.as_deref(), Some("p\\w"));
    assert_eq!(o.cluster.unwrap().routes.len(), 2);
    let o = load("case.conf");
    assert_eq!((o.port, o.server_name.as_deref()), (Some(4231), Some("CASE")));
    let g = o.gateway.unwrap();
    assert_eq!((g.name.as_deref(), g.port, g.gateways[0].urls.len()), (Some("CS"), Some(7231), 1));
    assert_eq!(load("block-string.conf").server_name.as_deref(), Some("\nstrait-block\n"));
}

#[test]
fn tls_values() {
    let t = load("tls.conf").tls.unwrap();
    assert_eq!(t.cert_file.as_deref(), Some("tests/corpus/certs/server-cert.pem"));
    assert!(t.verify && !t.insecure);
    assert_eq!(t.timeout, Some(Duration::from_secs(2)));
    assert_eq!(t.min_version, Some(TlsVersion::Tls13));
    assert_eq!(t.cipher_suites.len(), 2);
    assert_eq!(t.curve_preferences, ["X25519", "CurveP256"]);
    assert_eq!(t.handshake_first, Some(HandshakeFirst::Fallback(Duration::from_millis(50))));
    assert_eq!(t.pinned_certs.len(), 1);
}

#[test]
fn accounts_and_ignored_values() {
    let o = load("accounts-array.conf");
    assert_eq!(o.accounts.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["A", "B"]);
    let o = load("ignored.conf");
    let names: Vec<&str> = o.ignored.iter().map(|i| i.option.as_str()).collect();
    assert_eq!(
        names,
        [
            "server_tags",
            "http_base_path",
            "disable_sublist_cache",
            "logtime_utc",
            "websocket",
            "cluster.no_advertise"
        ]
    );
    assert_eq!(
        o.ignored[0].to_string(),
        "tests/corpus/valid/ignored.conf:4:1: server_tags: ignored by strait: server tags only \
         place JetStream assets and show in monitoring"
    );
}

#[test]
fn seed_examples_load() {
    for name in ["A", "B", "C"] {
        let path = Path::new("../examples").join(format!("{name}.conf"));
        let o = check_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let g = o.gateway.unwrap();
        assert_eq!(g.name.as_deref(), Some(name));
        assert_eq!(g.gateways.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["A", "B", "C"]);
        assert_eq!(g.authorization.unwrap().user.as_deref(), Some("gwu"));
    }
    for dc in ["a", "b", "c"] {
        let path = Path::new("../examples").join(format!("dc-{dc}.conf"));
        let o = check_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let g = o.gateway.unwrap();
        assert_eq!(g.name, Some(format!("DC-{}", dc.to_uppercase())));
        assert!(g.gateways.iter().all(|r| r.urls.len() == 1));
    }
}
