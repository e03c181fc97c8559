//! The route cause→wire table, pinned byte for byte: what an accepted route writes after its
//! INFO and why it closes, for each way a peer can get it wrong (route-protocol §2.6, §3.2).

use std::time::Instant;

use bytes::BytesMut;

use crate::node::{Event, Node, NodeConfig};
use crate::peer_url::PeerUrl;
use crate::route::ClusterConfig;

const CONNECT: &str = "CONNECT {\"name\":\"NB\",\"cluster\":\"C\",\"headers\":true}\r\n";

fn info(extra: &str) -> String {
    format!(
        "INFO {{\"server_id\":\"NB\",\"server_name\":\"B1\",\"cluster\":\"C\",\"port\":6223{extra}}} \r\n"
    )
}

/// Feed `input` to a fresh accepted route; return what the node wrote after its INFO (the
/// interest dump and later INFOs left out) and the close reason, if it closed.
fn answer(input: &str, auth: bool) -> (String, Option<String>) {
    let mut cluster = ClusterConfig::new("C", PeerUrl::new("127.0.0.1", 6222));
    if auth {
        cluster.user = Some("ru".into());
        cluster.password = Some("rp".into());
    }
    let config = NodeConfig {
        server_name: Some("A1".into()),
        cluster: Some(cluster),
        ..NodeConfig::default()
    };
    let mut node = Node::new(config, 1);
    let now = Instant::now();
    node.start(now);
    let link = node.accept_route(now, None);
    let _ = node.take_outbox(link, &mut BytesMut::new());
    let _ = node.take_outbox(link, &mut BytesMut::new());
    node.handle_read(link, now, &mut BytesMut::from(input));
    let mut written = BytesMut::new();
    let _ = node.take_outbox(link, &mut written);
    let mut closed = None;
    while let Some(event) = node.poll_event() {
        if let Event::Close { reason, .. } = event {
            closed = Some(reason.to_string());
        }
    }
    let written = String::from_utf8_lossy(&written);
    let answer = written.split_inclusive("\r\n").filter(|l| !l.starts_with("INFO ")).collect();
    (answer, closed)
}

#[test]
fn every_cause_has_its_bytes_and_close_state() {
    let ok = format!("{CONNECT}{}", info(""));
    let big = "x".repeat(70_000);
    let cases: Vec<(String, bool, &str, Option<&str>)> = vec![
        (
            "PING\r\n".into(),
            false,
            "-ERR 'Authorization Violation'\r\n",
            Some("Authentication Failure"),
        ),
        (
            CONNECT.into(),
            true,
            "-ERR 'Authorization Violation'\r\n",
            Some("Authentication Failure"),
        ),
        (
            "CONNECT {\"lang\":\"go\",\"verbose\":false}\r\n".into(),
            false,
            "-ERR 'attempted to connect to route port'\r\n",
            Some("Incorrect Port"),
        ),
        (
            "CONNECT {\"gateway\":\"G\",\"name\":\"NB\"}\r\n".into(),
            false,
            "-ERR 'Rejecting connection from gateway \"G\" on the Route port'\r\n",
            Some("Wrong Gateway"),
        ),
        (
            CONNECT.replace("\"C\"", "\"OTHER\""),
            false,
            "-ERR 'Rejecting connection, cluster name \"OTHER\" does not match \"C\"'\r\n",
            Some("Cluster Name Conflict"),
        ),
        (
            format!(
                "{CONNECT}{}",
                info(",\"server_name\":\"A1\"").replace("\"server_name\":\"B1\",", "")
            ),
            false,
            "",
            Some("Duplicate Server Name"),
        ),
        (
            format!("{CONNECT}{}", info(",\"route_pool_size\":3,\"route_pool_idx\":5")),
            false,
            "-ERR 'Invalid route pool index: 5 - pool size is 3'\r\n",
            Some("Protocol Violation"),
        ),
        (format!("{ok}PING\r\n"), false, "PONG\r\n", None),
        (
            format!("{ok}XYZ\r\n"),
            false,
            "-ERR 'Unknown Protocol Operation'\r\n",
            Some("Protocol Violation"),
        ),
        (format!("{ok}RS+ $G foo q\r\n"), false, "", Some("Protocol Violation")),
        (format!("{ok}RMSG $G foo 2000000000\r\n"), false, "", Some("Protocol Violation")),
        (
            format!("{ok}RS+ $G {big}\r\n"),
            false,
            "-ERR 'maximum control line exceeded'\r\n",
            Some("Maximum Control Line Exceeded"),
        ),
        (format!("{ok}RS+ $G foo..bar\r\n"), false, "-ERR 'Invalid Subscription'\r\n", None),
        (format!("{ok}-ERR 'boom'\r\n"), false, "", Some("Parse Error")),
    ];
    for (input, auth, wire, state) in cases {
        let (written, closed) = answer(&input, auth);
        let shown = &input[input.len().saturating_sub(70)..];
        assert_eq!(written, wire, "bytes for …{shown:?}");
        assert_eq!(closed.as_deref(), state, "close state for …{shown:?}");
    }
}
