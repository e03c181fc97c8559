//! Typed options: names, types, messages.

use strait_conf::{ErrorKind, load_str};

fn errors(src: &str) -> Vec<String> {
    match load_str(src, "t.conf") {
        Ok(o) => panic!("{src:?} should fail, got {o:?}"),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn option_names_are_case_insensitive() {
    let o = load_str("PORT: 1\nMax_Payload: 2\nGATEWAY { NAME: A, PORT: 3 }", "t").unwrap();
    assert_eq!((o.port, o.max_payload, o.gateway.unwrap().port), (Some(1), Some(2), Some(3)));
}

#[test]
fn aliases_last_one_written_wins() {
    let o = load_str("listen: 1.2.3.4:5\nport: 6", "t").unwrap();
    assert_eq!((o.host.as_deref(), o.port), (Some("1.2.3.4"), Some(6)));
    let o = load_str("logfile: a\nlog_file: b", "t").unwrap();
    assert_eq!(o.log_file.as_deref(), Some("b"));
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let e = errors(
        "port: x\nprot: 1\ngateway { name: A, port: 7222, authorization { token: t }, bogus: 1 }\ndebug: 3",
    );
    assert_eq!(e.len(), 5, "{e:#?}");
    assert_eq!(e[0], "t.conf:1:7: port: expected an integer, found string \"x\"");
    assert_eq!(e[1], "t.conf:2:1: prot: unknown option (did you mean \"port\"?)");
    assert!(
        e.iter().any(|m| m.starts_with("t.conf:3:") && m.contains("gateway.bogus: unknown option")),
        "{e:#?}"
    );
    assert!(e.iter().any(|m| m.contains("does not support tokens")), "{e:#?}");
    assert_eq!(
        e[4],
        "t.conf:4:8: debug: expected a boolean (true/false, yes/no, on/off), found integer 3"
    );
}

#[test]
fn used_variables_are_not_unknown_options() {
    let o = load_str("MY_PORT = 4222\nport: $MY_PORT", "t").unwrap();
    assert_eq!(o.port, Some(4222));
    let e = errors("UNUSED = 1\nport: 4222");
    assert!(e[0].contains("UNUSED: unknown option"), "{e:?}");
}

#[test]
fn durations_and_int_seconds() {
    let o = load_str("ping_interval: 30\nwrite_deadline: \"1m30s\"", "t").unwrap();
    assert_eq!(o.ping_interval, Some(std::time::Duration::from_secs(30)));
    assert_eq!(o.write_deadline, Some(std::time::Duration::from_secs(90)));
    assert_eq!(o.warnings.len(), 1);
    assert_eq!(o.warnings[0].kind, ErrorKind::Warning);
    // An unquoted 2m is two million (mega), not two minutes.
    let o = load_str("ping_interval: 2m", "t").unwrap();
    assert!(o.warnings[0].message.contains("write \"2m\" for minutes"), "{:?}", o.warnings);
}

#[test]
fn serializes_to_json() {
    let o = load_str("port: 4222\ngateway { name: A, port: 7222 }", "t").unwrap();
    let json = serde_json::to_string(&o).unwrap();
    assert!(json.contains("\"port\":4222") && json.contains("\"name\":\"A\""), "{json}");
}
