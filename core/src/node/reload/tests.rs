//! Reloads driven by hand on a fake clock.

use std::time::{Duration, Instant};

use bytes::BytesMut;

use super::*;
use crate::error::CloseReason;
use crate::node::{Event, OutboxStatus, User};
use crate::proto::client::Limits;

struct Harness {
    node: Node,
    now: Instant,
    closed: Vec<(LinkId, ClientError)>,
    logs: Vec<String>,
}

impl Harness {
    fn new(config: NodeConfig) -> Self {
        Self {
            node: Node::new(config, 11),
            now: Instant::now(),
            closed: Vec::new(),
            logs: Vec::new(),
        }
    }

    fn connected(&mut self, opts: &str) -> LinkId {
        let id = self.node.accept_client(self.now, None);
        self.send(id, &format!("CONNECT {opts}\r\nPING\r\n"));
        assert!(self.take(id).ends_with("PONG\r\n"), "not connected");
        id
    }

    fn send(&mut self, id: LinkId, data: &str) {
        let mut buf = BytesMut::from(data.as_bytes());
        self.node.handle_read(id, self.now, &mut buf);
        self.drain();
    }

    fn reload(&mut self, config: NodeConfig) -> Result<ReloadSummary, ReloadError> {
        let r = self.node.reload(self.now, config);
        self.drain();
        r
    }

    fn drain(&mut self) {
        while let Some(e) = self.node.poll_event() {
            match e {
                Event::Close { link, reason: CloseReason::Client(reason), .. } => {
                    self.closed.push((link, reason));
                }
                Event::Log(_, line) => self.logs.push(line),
                _ => {}
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

fn user(name: &str, password: &str, account: Option<&str>) -> User {
    User {
        user: name.into(),
        password: password.into(),
        account: account.map(Into::into),
        permissions: None,
    }
}

fn users(list: Vec<User>) -> NodeConfig {
    NodeConfig { auth: Auth::Users(list), ..NodeConfig::default() }
}

fn login(name: &str, password: &str) -> String {
    format!(r#"{{"verbose":false,"user":"{name}","pass":"{password}"}}"#)
}

#[test]
fn changed_password_closes_the_client_with_authorization_violation() {
    let mut h = Harness::new(users(vec![user("a", "1", None), user("b", "2", None)]));
    let a = h.connected(&login("a", "1"));
    let b = h.connected(&login("b", "2"));
    let summary = h.reload(users(vec![user("a", "new", None), user("b", "2", None)])).unwrap();
    assert_eq!(summary.closed_clients, vec![a]);
    assert_eq!(h.closed_reason(a), Some(&ClientError::AuthorizationViolation));
    assert_eq!(h.take(a), "-ERR 'Authorization Violation'\r\n");
    assert!(h.closed_reason(b).is_none());
    assert!(h.logs.iter().any(|l| l == "Reloaded: authorization users"), "{:?}", h.logs);
    assert!(h.logs.iter().any(|l| l.ends_with("authentication error - User \"a\"")));
    // New connections authenticate against the new list.
    let c = h.node.accept_client(h.now, None);
    h.send(c, &format!("CONNECT {}\r\n", login("a", "1")));
    assert_eq!(h.closed_reason(c), Some(&ClientError::AuthorizationViolation));
    h.connected(&login("a", "new"));
}

#[test]
fn removed_or_moved_users_are_closed_without_an_error() {
    let mut h = Harness::new(users(vec![user("a", "1", None), user("b", "2", Some("X"))]));
    let a = h.connected(&login("a", "1"));
    let b = h.connected(&login("b", "2"));
    h.reload(users(vec![user("b", "2", Some("Y"))])).unwrap();
    assert_eq!(h.closed_reason(a), Some(&ClientError::ClientClosed));
    assert_eq!(h.closed_reason(b), Some(&ClientError::ClientClosed));
    assert_eq!(h.take(a), "");
}

#[test]
fn a_client_whose_credentials_now_bind_another_account_is_closed_without_an_error() {
    let mut h = Harness::new(users(vec![user("u", "p", Some("X"))]));
    let c = h.connected(&login("u", "p"));
    h.reload(NodeConfig {
        auth: Auth::UserPassword { user: "u".into(), password: "p".into() },
        ..NodeConfig::default()
    })
    .unwrap();
    assert_eq!(h.closed_reason(c), Some(&ClientError::ClientClosed));
}

#[test]
fn clients_that_still_authenticate_stay() {
    // nats-server closes every single-user client on any reload (its user map is empty in
    // that mode); Strait keeps the ones whose credentials still pass (docs/compat.md).
    let single = |p: &str| NodeConfig {
        auth: Auth::UserPassword { user: "u".into(), password: p.into() },
        ..NodeConfig::default()
    };
    let mut h = Harness::new(single("p"));
    let c = h.connected(&login("u", "p"));
    let mut more = single("p");
    more.limits.max_payload = 2000;
    h.reload(more).unwrap();
    assert!(h.closed.is_empty());
    h.reload(single("q")).unwrap();
    assert_eq!(h.closed_reason(c), Some(&ClientError::AuthorizationViolation));
}

#[test]
fn token_and_added_users_apply_to_new_connections() {
    let mut h = Harness::new(NodeConfig::default());
    let open = h.connected(r#"{"verbose":false}"#);
    h.reload(NodeConfig { auth: Auth::Token("t".into()), ..NodeConfig::default() }).unwrap();
    assert_eq!(h.closed_reason(open), Some(&ClientError::AuthorizationViolation));
    h.connected(r#"{"verbose":false,"auth_token":"t"}"#);
    // A client that had not sent CONNECT yet must now authenticate in time.
    let waiting = h.node.accept_client(h.now, None);
    h.drain();
    h.reload(users(vec![user("x", "y", None)])).unwrap();
    let deadline = h.node.poll_timeout(waiting).unwrap();
    assert!(deadline <= h.now + NodeConfig::default().auth_timeout);
    h.connected(&login("x", "y"));
}

#[test]
fn limits_apply_to_existing_clients() {
    let mut h = Harness::new(NodeConfig::default());
    let c = h.connected(r#"{"verbose":false}"#);
    let mut new = NodeConfig::default();
    new.limits = Limits { max_payload: 4, ..new.limits };
    new.ping_interval = Duration::from_secs(30);
    new.ping_max = 3;
    let summary = h.reload(new).unwrap();
    assert_eq!(summary.changed, ["ping_interval = 30s", "ping_max = 3", "max_payload = 4"]);
    h.send(c, "PUB foo 5\r\nhello\r\n");
    assert_eq!(
        h.closed_reason(c),
        Some(&ClientError::Parse(crate::proto::client::ParseError::MaxPayload))
    );
    assert_eq!(h.node.config().limits.max_payload, 4);
}

#[test]
fn lower_max_connections_closes_the_newest_clients() {
    let mut h = Harness::new(NodeConfig::default());
    let ids: Vec<LinkId> = (0..3).map(|_| h.connected(r#"{"verbose":false}"#)).collect();
    h.reload(NodeConfig { max_connections: 1, ..NodeConfig::default() }).unwrap();
    assert!(h.closed_reason(ids[0]).is_none());
    assert_eq!(h.closed_reason(ids[1]), Some(&ClientError::MaxConnectionsExceeded));
    assert_eq!(h.closed_reason(ids[2]), Some(&ClientError::MaxConnectionsExceeded));
    assert_eq!(h.take(ids[2]), "-ERR 'maximum connections exceeded'\r\n");
}

#[test]
fn identity_changes_are_refused_and_nothing_changes() {
    let base = NodeConfig { server_name: Some("a".into()), ..NodeConfig::default() };
    let mut h = Harness::new(base.clone());
    let mut new = base.clone();
    new.server_name = Some("b".into());
    new.limits.max_payload = 10;
    let err = h.reload(new).unwrap_err();
    assert_eq!(err.to_string(), "config reload not supported for ServerName: old=a, new=b");
    assert_eq!(h.node.config().limits.max_payload, base.limits.max_payload);
    let mut new = base.clone();
    new.port = 5000;
    assert_eq!(
        h.reload(new).unwrap_err().to_string(),
        "config reload not supported for Port: old=4222, new=5000"
    );
    let mut new = base;
    new.headers = false;
    assert_eq!(
        h.reload(new).unwrap_err().to_string(),
        "config reload not supported for NoHeaderSupport: old=false, new=true"
    );
    assert!(h.logs.is_empty(), "{:?}", h.logs);
}

#[test]
fn go_durations() {
    assert_eq!(go_duration(Duration::from_secs(120)), "2m0s");
    assert_eq!(go_duration(Duration::from_secs(30)), "30s");
    assert_eq!(go_duration(Duration::from_secs(3723)), "1h2m3s");
    assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
    assert_eq!(go_duration(Duration::from_millis(250)), "250ms");
}
