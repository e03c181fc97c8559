use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;

fn rules(allow: &[&str], deny: &[&str]) -> Option<SubjectRules> {
    let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    Some(SubjectRules { allow: v(allow), deny: v(deny) })
}

fn compile(
    publish: Option<SubjectRules>,
    subscribe: Option<SubjectRules>,
    responses: Option<ResponseRule>,
) -> Arc<Permissions> {
    Arc::new(Permissions::compile(PermissionSpec { publish, subscribe, responses }))
}

#[test]
fn publish_allow_and_deny() {
    let p = compile(rules(&["foo", "bar.*", "baz.>"], &["bar.secret"]), None, None);
    for (s, ok) in [
        ("foo", true),
        ("foo.x", false),
        ("bar.x", true),
        ("bar.secret", false),
        ("baz.a.b", true),
        ("baz", false),
        ("bar.*", true),
        ("foo.*", false),
    ] {
        assert_eq!(p.publish_allowed(s.as_bytes()), ok, "{s}");
    }
    let deny_only = compile(rules(&[], &["x.>"]), None, None);
    assert!(deny_only.publish_allowed(b"y"));
    assert!(!deny_only.publish_allowed(b"x.y"));
    assert!(!compile(None, None, None).restricts_publish());
}

#[test]
fn subscribe_wildcards_and_queues() {
    let p = compile(None, rules(&["foo.bar", "q.*", "only v1", "both", "both v1"], &[]), None);
    let can = |s: &str, q: Option<&str>| p.subscribe_allowed(s.as_bytes(), q.map(str::as_bytes));
    assert!(can("foo.bar", None));
    // A wider subscription is not allowed by a narrower entry.
    assert!(!can("foo.*", None));
    assert!(can("q.x", None));
    assert!(can("q.*", None));
    // nats-server quirk: a `*` entry matches a `>` token of the subscription.
    assert!(can("q.>", None));
    // Queue-only entry: no plain subscription, only that queue.
    assert!(!can("only", None));
    assert!(can("only", Some("v1")));
    assert!(!can("only", Some("v2")));
    // Plain and queue entries: plain allowed, queue restricted.
    assert!(can("both", None));
    assert!(can("both", Some("v1")));
    assert!(!can("both", Some("v2")));
    // A plain entry admits any queue when no queue entry matches.
    assert!(can("foo.bar", Some("any")));
}

#[test]
fn subscribe_deny_and_delivery_filter() {
    let p = compile(None, rules(&[], &["foo.secret", "work slow"]), None);
    let mut c = ClientPermissions::new(p, 1);
    assert!(!c.subscribe_allowed(b"foo.secret", None));
    assert!(!c.delivery_denied(b"foo.secret", None));
    assert!(c.subscribe_allowed(b"foo.*", None));
    assert!(c.delivery_denied(b"foo.secret", None));
    assert!(!c.delivery_denied(b"foo.public", None));
    assert!(!c.subscribe_allowed(b"work", Some(b"slow")));
    assert!(c.subscribe_allowed(b"work", Some(b"fast")));
    assert!(c.subscribe_allowed(b"work", None));
    assert!(c.delivery_denied(b"work", Some(b"slow")));
    assert!(!c.delivery_denied(b"work", Some(b"fast")));
    assert!(!c.delivery_denied(b"work", None));
}

#[test]
fn literal_subscriptions_do_not_turn_on_filtering() {
    let p = compile(None, rules(&[], &["foo.secret"]), None);
    let mut c = ClientPermissions::new(p, 1);
    assert!(c.subscribe_allowed(b"bar.*", None));
    assert!(c.subscribe_allowed(b"foo.public", None));
    assert!(!c.delivery_denied(b"foo.secret", None));
}

#[test]
fn responses_once_then_denied() {
    let now = Instant::now();
    let p = compile(None, None, Some(ResponseRule { max: 1, expires: Duration::from_secs(60) }));
    let mut c = ClientPermissions::new(p, 3);
    // allow_responses alone denies ordinary publishes.
    assert!(!c.publish_allowed(b"foo", now));
    let reply = Bytes::from_static(b"_INBOX.abc");
    assert!(!c.publish_allowed(b"_INBOX.abc", now));
    c.delivered_reply(&reply, now);
    assert!(c.publish_allowed(b"_INBOX.abc", now));
    assert!(!c.publish_allowed(b"_INBOX.abc", now));
    c.delivered_reply(&reply, now);
    assert!(!c.publish_allowed(b"_INBOX.abc", now + Duration::from_secs(61)));
}

#[test]
fn responses_keep_the_allow_list() {
    let now = Instant::now();
    let p = compile(rules(&["svc.>"], &[]), None, Some(ResponseRule::default()));
    let mut c = ClientPermissions::new(p, 3);
    assert!(c.publish_allowed(b"svc.a", now));
    // An allowed reply subject is not tracked.
    c.delivered_reply(&Bytes::from_static(b"svc.reply"), now);
    assert!(c.publish_allowed(b"svc.reply", now));
    assert!(c.publish_allowed(b"svc.reply", now));
}

#[test]
fn invalid_entries_are_skipped() {
    let p = Permissions::compile(PermissionSpec {
        publish: rules(&["foo bar", "ok"], &["x q"]),
        subscribe: rules(&["a b c", "..", "good q"], &[]),
        responses: None,
    });
    assert_eq!(p.skipped().len(), 3);
    assert!(p.publish_allowed(b"ok"));
    assert!(!p.publish_allowed(b"x"));
    assert!(p.subscribe_allowed(b"good", Some(b"q")));
}

#[test]
fn equality_is_by_spec() {
    let a = compile(rules(&["a"], &[]), None, None);
    let b = compile(rules(&["a"], &[]), None, None);
    let c = compile(rules(&["b"], &[]), None, None);
    assert_eq!(*a, *b);
    assert_ne!(*a, *c);
}
