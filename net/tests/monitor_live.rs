//! The monitor of a running server, compared with nats-server 2.15.1 under the same traffic.

mod common;

use serde_json::Value;

use common::Kind;
use common::gateway::{GwConfig, GwServer, RawClient};

/// `/connz?subs=1` and `/connz?subs=detail` list a client's subscriptions as nats-server does:
/// subject, queue group, sid, messages delivered, auto-unsubscribe maximum and the owning cid.
#[test]
fn connz_lists_client_subscriptions() {
    let mut seen = Vec::new();
    for kind in [Kind::Strait, Kind::NatsServer] {
        let server = GwServer::start(kind, &GwConfig::new("A"));
        let fail = |e: String| -> ! { panic!("{e}\n{}", server.describe("")) };
        let mut c = RawClient::connect(server.addr()).unwrap_or_else(|e| fail(e));
        c.send(b"SUB foo 1\r\nSUB bar q 2\r\nSUB baz.> 3\r\nUNSUB 3 5\r\n")
            .unwrap_or_else(|e| fail(e));
        c.publish("foo", b"a").unwrap_or_else(|e| fail(e));
        c.publish("foo", b"b").unwrap_or_else(|e| fail(e));
        c.publish("baz.x", b"c").unwrap_or_else(|e| fail(e));
        c.ping_pong().unwrap_or_else(|e| fail(e));

        let list = server.monitor("/connz?subs=1").unwrap_or_else(|e| fail(e));
        let conn = only_connection(&list);
        let mut subjects: Vec<String> = conn["subscriptions_list"]
            .as_array()
            .unwrap_or_else(|| fail(format!("no subscriptions_list: {conn}")))
            .iter()
            .map(|s| s.as_str().unwrap_or_default().to_owned())
            .collect();
        subjects.sort();
        assert_eq!(subjects, ["bar", "baz.>", "foo"], "{}", kind.label());

        let detail = server.monitor("/connz?subs=detail").unwrap_or_else(|e| fail(e));
        let conn = only_connection(&detail);
        let cid = conn["cid"].clone();
        let mut entries: Vec<Value> = conn["subscriptions_list_detail"]
            .as_array()
            .unwrap_or_else(|| fail(format!("no subscriptions_list_detail: {conn}")))
            .clone();
        for e in &entries {
            assert_eq!(e["cid"], cid, "{}: {e}", kind.label());
        }
        entries.sort_by_key(|e| e["subject"].as_str().unwrap_or_default().to_owned());
        let shape: Vec<Value> = entries
            .iter()
            .map(|e| {
                let mut e = e.clone();
                e.as_object_mut().expect("an entry is an object").remove("cid");
                e
            })
            .collect();
        seen.push((kind.label(), shape));
    }
    assert_eq!(seen[0].1, seen[1].1, "{} vs {}", seen[0].0, seen[1].0);
}

/// The one client connection of a `/connz` answer.
fn only_connection(connz: &Value) -> &Value {
    let conns = connz["connections"].as_array().expect("connections is a list");
    assert_eq!(conns.len(), 1, "{connz}");
    &conns[0]
}
