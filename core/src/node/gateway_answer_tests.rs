//! The gateway cause→wire table, pinned byte for byte: what an inbound gateway link writes and
//! why it closes, for each way a peer can get it wrong (gateway-protocol.md §2.5, §3).

use std::time::Instant;

use bytes::BytesMut;

use super::*;
use crate::gateway::{GatewayConfig, GatewayUrl};

const CONNECT: &str = "CONNECT {\"gateway\":\"B\",\"name\":\"NB\",\"tls_required\":false}\r\n";
const INFO: &str = "INFO {\"server_id\":\"NB\",\"gateway\":\"B\"}\r\n";

/// Feed `input` to a fresh inbound link; return what the node wrote after its first INFO
/// (other INFOs left out) and the close reason's text, if it closed.
fn answer(input: &str) -> (String, Option<String>) {
    let config = NodeConfig {
        gateway: Some(GatewayConfig::new("A", GatewayUrl::new("127.0.0.1", 7222))),
        ..NodeConfig::default()
    };
    let mut node = Node::new(config, 1);
    let now = Instant::now();
    node.start(now);
    let link = node.accept_gateway(now, None);
    let mut out = BytesMut::new();
    let _ = node.take_outbox(link, &mut out);
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
    // Registration chatter (interest-mode INFOs) is not part of the answer.
    let written = String::from_utf8_lossy(&written);
    let answer = written.split_inclusive("\r\n").filter(|l| !l.starts_with("INFO ")).collect();
    (answer, closed)
}

#[test]
fn every_cause_has_its_bytes_and_close_state() {
    let big = "x".repeat(70_000);
    let cases: Vec<(String, &str, Option<&str>)> = vec![
        ("PING\r\n".into(), "-ERR 'Authorization Violation'\r\n", Some("Authentication Failure")),
        (INFO.into(), "-ERR 'Authorization Violation'\r\n", Some("Authentication Failure")),
        (
            "CONNECT {\"name\":\"x\"}\r\n".into(),
            "-ERR 'attempted to connect to gateway port'\r\n",
            Some("Incorrect Port"),
        ),
        (format!("{CONNECT}{INFO}PING\r\n"), "PONG\r\n", None),
        (
            format!("{CONNECT}{INFO}XYZ\r\n"),
            "-ERR 'Unknown Protocol Operation'\r\n",
            Some("Protocol Violation"),
        ),
        (format!("{CONNECT}{INFO}RMSG $G\r\n"), "", Some("Protocol Violation")),
        (format!("{CONNECT}{INFO}RMSG $G foo 2000000000\r\n"), "", Some("Protocol Violation")),
        (
            format!("{CONNECT}{INFO}RMSG $G {big} 1\r\n"),
            "-ERR 'maximum control line exceeded'\r\n",
            Some("Maximum Control Line Exceeded"),
        ),
        (
            format!("{CONNECT}{INFO}RMSG $G foo 999999999\r\n"),
            "-ERR 'Maximum Payload Violation'\r\n",
            Some("Maximum Message Payload Exceeded"),
        ),
        (format!("{CONNECT}{INFO}RS+ $G foo\r\n"), "", Some("Protocol Violation")),
        (format!("{CONNECT}{INFO}-ERR 'boom'\r\n"), "", Some("Parse Error")),
    ];
    for (input, wire, state) in cases {
        let (written, closed) = answer(&input);
        let shown = &input[..input.len().min(60)];
        assert_eq!(written, wire, "bytes for {shown:?}");
        assert_eq!(closed.as_deref(), state, "close state for {shown:?}");
    }
}
