//! Publish/subscribe permissions at the node: `-ERR` texts, log lines, delivery and reload.

use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;

use super::*;
use crate::permissions::{PermissionSpec, Permissions, ResponseRule, SubjectRules};

struct Harness {
    node: Node,
    now: Instant,
    logs: Vec<(LogLevel, String)>,
    closed: Vec<LinkId>,
}

impl Harness {
    fn new(users: Vec<User>) -> Self {
        let config = NodeConfig { auth: Auth::Users(users), ..NodeConfig::default() };
        Self {
            node: Node::new(config, 5),
            now: Instant::now(),
            logs: Vec::new(),
            closed: Vec::new(),
        }
    }

    fn login(&mut self, user: &str) -> LinkId {
        let id = self.node.accept_client(self.now, None);
        let connect = format!(r#"CONNECT {{"verbose":false,"user":"{user}","pass":"p"}}"#);
        self.send(id, &format!("{connect}\r\nPING\r\n"));
        assert!(self.take(id).ends_with("PONG\r\n"), "not connected");
        id
    }

    fn send(&mut self, id: LinkId, data: &str) {
        let mut buf = BytesMut::from(data.as_bytes());
        self.node.handle_read(id, self.now, &mut buf);
        while let Some(e) = self.node.poll_event() {
            match e {
                Event::Log(level, line) => self.logs.push((level, line)),
                Event::Close { link, .. } => self.closed.push(link),
                _ => {}
            }
        }
    }

    fn take(&mut self, id: LinkId) -> String {
        let mut out = BytesMut::new();
        let mut all = Vec::new();
        while self.node.take_outbox(id, &mut out) != OutboxStatus::Gone && !out.is_empty() {
            all.extend_from_slice(&out);
            out.clear();
        }
        String::from_utf8(all).unwrap()
    }
}

fn rules(allow: &[&str], deny: &[&str]) -> Option<SubjectRules> {
    let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    Some(SubjectRules { allow: v(allow), deny: v(deny) })
}

fn user(name: &str, spec: Option<PermissionSpec>) -> User {
    User {
        user: name.into(),
        password: "p".into(),
        account: None,
        permissions: spec.map(|s| Arc::new(Permissions::compile(s))),
        ..User::default()
    }
}

#[test]
fn publish_violation_drops_the_message_and_keeps_the_link() {
    let spec = PermissionSpec { publish: rules(&["ok.>"], &["ok.no"]), ..Default::default() };
    let mut h = Harness::new(vec![user("a", Some(spec)), user("all", None)]);
    let a = h.login("a");
    let all = h.login("all");
    h.send(all, "SUB > 1\r\nPING\r\n");
    h.take(all);
    h.send(a, "PUB nope 2\r\nhi\r\nPUB ok.no 2\r\nhi\r\nPUB ok.yes 2\r\nhi\r\nPING\r\n");
    assert_eq!(
        h.take(a),
        "-ERR 'Permissions Violation for Publish to \"nope\"'\r\n\
         -ERR 'Permissions Violation for Publish to \"ok.no\"'\r\nPONG\r\n"
    );
    assert_eq!(h.take(all), "MSG ok.yes 1 2\r\nhi\r\n");
    assert!(h.closed.is_empty());
    assert!(h.logs.contains(&(
        LogLevel::Error,
        // The prefix carries the login after CONNECT, as nats-server's does.
        r#"cid:1 - "$G/user:a" - Publish Violation - Subject "nope""#.into()
    )));
}

#[test]
fn subscribe_violations_plain_queue_and_sys_group() {
    let spec = PermissionSpec { subscribe: rules(&["foo", "bar q1"], &[]), ..Default::default() };
    let mut h = Harness::new(vec![user("a", Some(spec)), user("all", None)]);
    let a = h.login("a");
    h.send(a, "SUB foo 1\r\nSUB foo.* 2\r\nSUB bar 3\r\nSUB bar q2 4\r\nSUB bar q1 5\r\nPING\r\n");
    assert_eq!(
        h.take(a),
        "-ERR 'Permissions Violation for Subscription to \"foo.*\"'\r\n\
         -ERR 'Permissions Violation for Subscription to \"bar\"'\r\n\
         -ERR 'Permissions Violation for Subscription to \"bar\" using queue \"q2\"'\r\nPONG\r\n"
    );
    assert!(h.logs.iter().any(|(l, line)| *l == LogLevel::Error
        && line
            == r#"cid:1 - "$G/user:a" - Subscription Violation - Subject "bar", Queue: "q2", SID 4"#));
    // The reserved queue group is refused to everyone.
    let all = h.login("all");
    h.send(all, "SUB x _sys_ 1\r\nPING\r\n");
    assert_eq!(
        h.take(all),
        "-ERR 'Permissions Violation for Subscription to \"x\" using queue \"_sys_\"'\r\nPONG\r\n"
    );
}

#[test]
fn wildcard_subscription_overlapping_a_deny_entry_misses_denied_messages() {
    let spec = PermissionSpec { subscribe: rules(&[], &["foo.secret"]), ..Default::default() };
    let mut h = Harness::new(vec![user("a", Some(spec)), user("all", None)]);
    let a = h.login("a");
    let all = h.login("all");
    h.send(a, "SUB foo.* 1\r\nPING\r\n");
    assert_eq!(h.take(a), "PONG\r\n");
    h.send(all, "PUB foo.secret 1\r\nx\r\nPUB foo.public 1\r\ny\r\n");
    assert_eq!(h.take(a), "MSG foo.public 1 1\r\ny\r\n");
}

#[test]
fn responses_allowed_once_per_request() {
    let spec = PermissionSpec {
        subscribe: rules(&["svc"], &[]),
        responses: Some(ResponseRule::default()),
        ..Default::default()
    };
    let mut h = Harness::new(vec![user("svc", Some(spec)), user("all", None)]);
    let svc = h.login("svc");
    let req = h.login("all");
    h.send(svc, "SUB svc 1\r\nPING\r\n");
    h.send(req, "SUB _INBOX.x 9\r\nPUB svc _INBOX.x 1\r\nq\r\nPING\r\n");
    h.take(req);
    assert_eq!(h.take(svc), "PONG\r\nMSG svc 1 _INBOX.x 1\r\nq\r\n");
    h.send(svc, "PUB _INBOX.x 1\r\na\r\nPUB _INBOX.x 1\r\nb\r\nPUB other 1\r\nc\r\nPING\r\n");
    assert_eq!(
        h.take(svc),
        "-ERR 'Permissions Violation for Publish to \"_INBOX.x\"'\r\n\
         -ERR 'Permissions Violation for Publish to \"other\"'\r\nPONG\r\n"
    );
    assert_eq!(h.take(req), "MSG _INBOX.x 9 1\r\na\r\n");
}

#[test]
fn reload_revokes_subscriptions_the_new_permissions_forbid() {
    let open = PermissionSpec { subscribe: rules(&[">"], &[]), ..Default::default() };
    let mut h = Harness::new(vec![user("a", Some(open)), user("all", None)]);
    let a = h.login("a");
    let all = h.login("all");
    h.send(a, "SUB foo 1\r\nSUB bar q 2\r\nSUB baz 3\r\nPING\r\n");
    assert_eq!(h.take(a), "PONG\r\n");
    let narrow = PermissionSpec { subscribe: rules(&["baz"], &[]), ..Default::default() };
    let config = NodeConfig {
        auth: Auth::Users(vec![user("a", Some(narrow)), user("all", None)]),
        ..NodeConfig::default()
    };
    h.node.reload(h.now, config).unwrap();
    h.send(all, "PUB foo 1\r\nx\r\nPUB bar 1\r\ny\r\nPUB baz 1\r\nz\r\n");
    assert_eq!(
        h.take(a),
        "-ERR 'Permissions Violation for Subscription to \"foo\" (sid \"1\")'\r\n\
         -ERR 'Permissions Violation for Subscription to \"bar\" using queue \"q\" (sid \"2\")'\r\n\
         MSG baz 3 1\r\nz\r\n"
    );
    assert!(h.logs.iter().any(|(l, line)| *l == LogLevel::Info
        && line == "Removed sub \"foo\" (sid \"1\") for User \"a\" - not authorized"));
    assert!(h.closed.is_empty());
}
