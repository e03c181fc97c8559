//! Node behaviour driven by hand on a fake clock: bytes in, bytes and events out.

use std::time::{Duration, Instant};

use bytes::BytesMut;

use super::*;
use crate::error::CloseReason;
use crate::proto::client::ParseError;

struct Harness {
    node: Node,
    now: Instant,
    closed: Vec<(LinkId, ClientError)>,
}

impl Harness {
    fn new(config: NodeConfig) -> Self {
        Self { node: Node::new(config, 7), now: Instant::now(), closed: Vec::new() }
    }

    fn client(&mut self) -> LinkId {
        let id = self.node.accept_client(self.now, None);
        let info = self.take(id);
        assert!(info.starts_with("INFO {") && info.ends_with("} \r\n"), "{info}");
        id
    }

    /// A client that sent CONNECT with `opts` (JSON object body) and drained the reply.
    fn connected(&mut self, opts: &str) -> LinkId {
        let id = self.client();
        self.send(id, &format!("CONNECT {opts}\r\n"));
        self.take(id);
        id
    }

    fn send(&mut self, id: LinkId, data: &str) {
        let mut buf = BytesMut::from(data.as_bytes());
        self.node.handle_read(id, self.now, &mut buf);
        self.drain();
    }

    fn advance(&mut self, by: Duration, id: LinkId) {
        self.now += by;
        self.node.handle_timeout(id, self.now);
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(e) = self.node.poll_event() {
            if let Event::Close { link, reason: CloseReason::Client(reason), .. } = e {
                self.closed.push((link, reason));
            }
        }
    }

    fn take(&mut self, id: LinkId) -> String {
        let mut out = BytesMut::new();
        let mut all = Vec::new();
        loop {
            if self.node.take_outbox(id, &mut out) == OutboxStatus::Gone || out.is_empty() {
                break;
            }
            all.extend_from_slice(&out);
            out.clear();
        }
        String::from_utf8(all).unwrap()
    }

    fn closed_reason(&self, id: LinkId) -> Option<&ClientError> {
        self.closed.iter().find(|(l, _)| *l == id).map(|(_, r)| r)
    }
}

const QUIET: &str =
    r#"{"verbose":false,"pedantic":false,"protocol":1,"headers":true,"no_responders":true}"#;

#[test]
fn info_then_verbose_ok_by_default() {
    let mut h = Harness::new(NodeConfig::default());
    let c = h.client();
    h.send(c, "CONNECT {}\r\nSUB foo 1\r\nPING\r\n");
    assert_eq!(h.take(c), "+OK\r\n+OK\r\nPONG\r\n");
}

#[test]
fn publish_reaches_literal_and_wildcard_subscribers() {
    let mut h = Harness::new(NodeConfig::default());
    let sub = h.connected(QUIET);
    let publisher = h.connected(QUIET);
    h.send(sub, "SUB foo.bar 1\r\nSUB foo.* 2\r\nSUB > 3\r\nSUB foo 4\r\n");
    h.send(publisher, "PUB foo.bar reply 5\r\nhello\r\n");
    assert_eq!(
        h.take(sub),
        "MSG foo.bar 1 reply 5\r\nhello\r\nMSG foo.bar 2 reply 5\r\nhello\r\n\
         MSG foo.bar 3 reply 5\r\nhello\r\n"
    );
    assert_eq!(h.take(publisher), "");
}

#[test]
fn queue_group_gets_one_copy() {
    let mut h = Harness::new(NodeConfig::default());
    let members: Vec<_> = (0..3).map(|_| h.connected(QUIET)).collect();
    for m in &members {
        h.send(*m, "SUB work q 1\r\n");
    }
    let publisher = h.connected(QUIET);
    for _ in 0..60 {
        h.send(publisher, "PUB work 1\r\nx\r\n");
    }
    let counts: Vec<usize> = members.iter().map(|m| h.take(*m).matches("MSG").count()).collect();
    assert_eq!(counts.iter().sum::<usize>(), 60);
    assert!(counts.iter().all(|c| *c > 0), "{counts:?}");
}

#[test]
fn echo_off_skips_own_subscription() {
    let mut h = Harness::new(NodeConfig::default());
    let c = h.connected(r#"{"verbose":false,"echo":false}"#);
    h.send(c, "SUB foo 1\r\nPUB foo 2\r\nhi\r\nPING\r\n");
    assert_eq!(h.take(c), "PONG\r\n");
}

#[test]
fn unsub_max_counts_from_creation() {
    let mut h = Harness::new(NodeConfig::default());
    let c = h.connected(r#"{"verbose":false}"#);
    h.send(c, "SUB foo 1\r\nPUB foo 1\r\na\r\nUNSUB 1 2\r\n");
    for _ in 0..3 {
        h.send(c, "PUB foo 1\r\nb\r\n");
    }
    assert_eq!(h.take(c).matches("MSG foo 1").count(), 2);
    assert_eq!(h.node.num_subscriptions(), 0);
}

#[test]
fn headers_are_stripped_for_clients_without_them() {
    let mut h = Harness::new(NodeConfig::default());
    let plain = h.connected(r#"{"verbose":false}"#);
    let rich = h.connected(QUIET);
    h.send(plain, "SUB foo 1\r\n");
    h.send(rich, "SUB foo 1\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
    assert_eq!(h.take(plain), "MSG foo 1 2\r\nhi\r\n");
    assert_eq!(h.take(rich), "HMSG foo 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
}

#[test]
fn hpub_without_headers_closes_silently() {
    let mut h = Harness::new(NodeConfig::default());
    let c = h.connected(r#"{"verbose":false}"#);
    h.send(c, "HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
    assert_eq!(h.closed_reason(c), Some(&ClientError::Parse(ParseError::BadArgs("HPUB"))));
    assert_eq!(h.take(c), "");
}

#[test]
fn no_responders_answer_on_own_reply_subscription() {
    let mut h = Harness::new(NodeConfig::default());
    let c = h.connected(QUIET);
    h.send(c, "SUB _INBOX.x 9\r\nPUB req _INBOX.x 0\r\n\r\n");
    assert_eq!(h.take(c), "HMSG _INBOX.x 9 35 35\r\nNATS/1.0 503\r\nNats-Subject: req\r\n\r\n\r\n");
}

#[test]
fn auth_required_refuses_other_ops_before_connect() {
    let config = NodeConfig {
        auth: Auth::UserPassword { user: "a".into(), password: "b".into() },
        ..NodeConfig::default()
    };
    let mut h = Harness::new(config);
    let c = h.client();
    h.send(c, "PING\r\n");
    assert_eq!(h.take(c), "-ERR 'Authorization Violation'\r\n");
    assert_eq!(h.closed_reason(c), Some(&ClientError::AuthorizationViolation));

    let bad = h.client();
    h.send(bad, "CONNECT {\"user\":\"a\",\"pass\":\"x\"}\r\n");
    assert_eq!(h.take(bad), "-ERR 'Authorization Violation'\r\n");

    let good = h.client();
    h.send(good, "CONNECT {\"user\":\"a\",\"pass\":\"b\",\"verbose\":false}\r\nPING\r\n");
    assert_eq!(h.take(good), "PONG\r\n");
    assert!(h.node.is_open(good));
}

#[test]
fn auth_timeout_closes() {
    let config = NodeConfig { auth: Auth::Token("t".into()), ..NodeConfig::default() };
    let mut h = Harness::new(config);
    let c = h.client();
    assert_eq!(h.node.poll_timeout(c), Some(h.now + Duration::from_secs(2)));
    h.advance(Duration::from_secs(2), c);
    assert_eq!(h.take(c), "-ERR 'Authentication Timeout'\r\n");
    assert_eq!(h.closed_reason(c), Some(&ClientError::AuthenticationTimeout));
}

#[test]
fn unanswered_pings_make_a_stale_connection() {
    let config =
        NodeConfig { ping_interval: Duration::from_secs(10), ping_max: 2, ..Default::default() };
    let mut h = Harness::new(config);
    let c = h.connected(r#"{"verbose":false}"#);
    // The first check comes within 2 s (+20 %) of CONNECT.
    let first = h.node.poll_timeout(c).unwrap();
    assert!(first <= h.now + Duration::from_millis(2400));
    let mut pings = 0;
    for _ in 0..5 {
        let at = h.node.poll_timeout(c).unwrap();
        h.advance(at - h.now, c);
        let out = h.take(c);
        pings += out.matches("PING").count();
        if h.closed_reason(c).is_some() {
            assert!(out.ends_with("-ERR 'Stale Connection'\r\n"), "{out}");
            break;
        }
    }
    assert_eq!(pings, 2);
    assert_eq!(h.closed_reason(c), Some(&ClientError::StaleConnection));
}

#[test]
fn answered_pings_keep_the_connection() {
    let config = NodeConfig { ping_interval: Duration::from_secs(10), ..Default::default() };
    let mut h = Harness::new(config);
    let c = h.connected(r#"{"verbose":false}"#);
    for _ in 0..10 {
        let at = h.node.poll_timeout(c).unwrap();
        h.advance(at - h.now, c);
        if h.take(c).contains("PING") {
            h.send(c, "PONG\r\n");
        }
    }
    assert!(h.node.is_open(c));
}

#[test]
fn slow_consumer_is_closed_without_flush() {
    let config = NodeConfig { max_pending: 1024, ..Default::default() };
    let mut h = Harness::new(config);
    let slow = h.connected(r#"{"verbose":false}"#);
    let publisher = h.connected(r#"{"verbose":false}"#);
    h.send(slow, "SUB foo 1\r\n");
    for _ in 0..100 {
        h.send(publisher, "PUB foo 16\r\n0123456789abcdef\r\n");
    }
    assert_eq!(h.closed_reason(slow), Some(&ClientError::SlowConsumer));
    let mut spare = BytesMut::new();
    assert_eq!(h.node.take_outbox(slow, &mut spare), OutboxStatus::Gone);
    assert_eq!(h.node.num_subscriptions(), 0);
    assert!(h.node.is_open(publisher));
}

#[test]
fn connect_info_follows_first_pong_for_protocol_1() {
    let mut h = Harness::new(NodeConfig::default());
    let c = h.connected(QUIET);
    h.send(c, "PING\r\n");
    let out = h.take(c);
    assert!(out.starts_with("PONG\r\nINFO {"), "{out}");
    assert!(out.contains(r#""connect_info":true"#) && out.contains(r#""remote_account":"$G""#));
    h.send(c, "PING\r\n");
    assert_eq!(h.take(c), "PONG\r\n");
}

#[test]
fn parse_errors_answer_and_close() {
    let mut h = Harness::new(NodeConfig::default());
    let c = h.connected(QUIET);
    h.send(c, "FOO\r\n");
    assert_eq!(h.take(c), "-ERR 'Unknown Protocol Operation'\r\n");
    let mut spare = BytesMut::new();
    assert_eq!(h.node.take_outbox(c, &mut spare), OutboxStatus::Closing);
    h.node.handle_closed(c, h.now);
    assert_eq!(h.node.take_outbox(c, &mut spare), OutboxStatus::Gone);
    assert_eq!(h.node.num_links(), 0);
}

#[test]
fn invalid_and_reserved_subjects_answer_but_keep_open() {
    let mut h = Harness::new(NodeConfig::default());
    let c = h.connected(r#"{"verbose":false}"#);
    h.send(c, "SUB foo..bar 1\r\nPUB _GR_.x 0\r\n\r\nPUB foo _R_.y 0\r\n\r\n");
    assert_eq!(
        h.take(c),
        "-ERR 'Invalid Subject'\r\n\
         -ERR 'Permissions Violation for Publish to \"_GR_.x\"'\r\n\
         -ERR 'Permissions Violation for Publish with Reply of \"_R_.y\"'\r\n"
    );
    assert!(h.node.is_open(c));
}

#[test]
fn max_connections_sends_info_then_error() {
    let config = NodeConfig { max_connections: 1, ..Default::default() };
    let mut h = Harness::new(config);
    let _first = h.connected("{}");
    let second = h.node.accept_client(h.now, None);
    h.drain();
    let out = h.take(second);
    assert!(out.starts_with("INFO ") && out.ends_with("-ERR 'maximum connections exceeded'\r\n"));
}

#[test]
fn closing_a_link_removes_its_subscriptions() {
    let mut h = Harness::new(NodeConfig::default());
    let c = h.connected(QUIET);
    h.send(c, "SUB a 1\r\nSUB b 2\r\nSUB c q 3\r\n");
    assert_eq!(h.node.num_subscriptions(), 3);
    h.node.handle_closed(c, h.now);
    assert_eq!(h.node.num_subscriptions(), 0);
    assert_eq!(h.node.num_links(), 0);
}

#[test]
fn a_bcrypt_login_waits_for_the_driver_and_keeps_what_followed() {
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let config = NodeConfig {
        auth: Auth::UserPassword { user: "a".into(), password: hash },
        ..NodeConfig::default()
    };
    let mut h = Harness::new(config);
    for (password, ok) in [("s3cret", true), ("wrong", false)] {
        let c = h.client();
        let mut buf = BytesMut::from(
            format!(
                "CONNECT {{\"user\":\"a\",\"pass\":\"{password}\",\"verbose\":false}}\r\nPING\r\n"
            )
            .as_bytes(),
        );
        h.node.handle_read(c, h.now, &mut buf);
        // Nothing is answered and the PING stays unread until the comparison is decided.
        assert_eq!(&buf[..], b"PING\r\n");
        let check = h.node.take_password_check(c).expect("a bcrypt comparison");
        assert!(h.node.take_password_check(c).is_none(), "handed out once");
        assert_eq!(h.take(c), "");
        assert_eq!(check.verify(), ok);
        h.node.handle_password_checked(c, h.now, check.verify());
        h.node.handle_read(c, h.now, &mut buf);
        h.drain();
        if ok {
            assert_eq!(h.take(c), "PONG\r\n");
            assert!(h.node.is_open(c));
        } else {
            assert_eq!(h.take(c), "-ERR 'Authorization Violation'\r\n");
            assert_eq!(h.closed_reason(c), Some(&ClientError::AuthorizationViolation));
        }
    }
}

#[test]
fn account_limits_bound_connections_and_subscriptions() {
    let users = vec![
        User {
            user: "a".into(),
            password: "a".into(),
            account: Some("A".into()),
            ..User::default()
        },
        User {
            user: "b".into(),
            password: "b".into(),
            account: Some("A".into()),
            ..User::default()
        },
    ];
    let limits = AccountLimits {
        max_connections: Some(1),
        max_subscriptions: Some(1),
        ..Default::default()
    };
    let config = NodeConfig {
        auth: Auth::Users(users),
        account_limits: vec![("A".into(), limits)],
        ..NodeConfig::default()
    };
    let mut h = Harness::new(config);
    let first = h.connected(r#"{"user":"a","pass":"a","verbose":false}"#);
    h.send(first, "SUB x 1\r\nSUB y 2\r\nPING\r\n");
    assert_eq!(h.take(first), "-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n");
    let second = h.client();
    h.send(second, "CONNECT {\"user\":\"b\",\"pass\":\"b\",\"verbose\":false}\r\n");
    assert_eq!(h.take(second), "-ERR 'maximum account active connections exceeded'\r\n");
    // Once the first is gone its place is free again.
    h.node.handle_closed(first, h.now);
    let third = h.client();
    h.send(third, "CONNECT {\"user\":\"b\",\"pass\":\"b\",\"verbose\":false}\r\nPING\r\n");
    assert_eq!(h.take(third), "PONG\r\n");
}
