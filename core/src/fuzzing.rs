//! Entry points for the cargo-fuzz targets in `fuzz/`; their corpora are replayed by tests.

use bytes::BytesMut;

use crate::proto::client::{Limits, Parser};

/// Parse `data` as a client byte stream, whole and split at a point derived from the data, and
/// check both parses agree.
pub fn client_parser(data: &[u8]) {
    let whole = crate::proto::client::parse_all(data, Limits::default());
    let split_at = data.first().map_or(0, |b| *b as usize % (data.len() + 1));
    let mut parser = Parser::new(Limits::default());
    let mut buf = BytesMut::new();
    let mut split = Vec::new();
    for chunk in [&data[..split_at], &data[split_at..]] {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&mut buf) {
                Ok(Some(op)) => split.push(Ok(op)),
                Ok(None) => break,
                Err(e) => {
                    split.push(Err(e));
                    break;
                }
            }
        }
        if matches!(split.last(), Some(Err(_))) {
            break;
        }
    }
    assert_eq!(whole, split, "split parse differs from whole parse");
}

/// Parse `data` as a gateway byte stream: whole and split at a point derived from the data
/// (both parses must agree); with small limits, fed in small chunks (the buffer must stay
/// within the documented bound); and every frame parsed is encoded again and must parse back
/// to the same frame.
pub fn gateway_parser(data: &[u8]) {
    use crate::proto::gateway::{self, GatewayLimits, GatewayOp, GatewayParser};

    /// Feed `chunks` to one parser; the frames up to the first error, and the most bytes the
    /// buffer held after the parser took what it could.
    fn run(
        chunks: &[&[u8]],
        limits: GatewayLimits,
    ) -> (Vec<Result<GatewayOp, gateway::GatewayParseError>>, usize) {
        let mut parser = GatewayParser::new(limits);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut held = 0;
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                match parser.parse(&mut buf) {
                    Ok(Some(op)) => out.push(Ok(op)),
                    Ok(None) => break,
                    Err(e) => {
                        out.push(Err(e));
                        return (out, held);
                    }
                }
            }
            held = held.max(buf.len());
        }
        (out, held)
    }

    let limits = GatewayLimits::default();
    let whole = gateway::parse_all(data, limits);
    let split_at = data.first().map_or(0, |b| *b as usize % (data.len() + 1));
    let (a, b) = data.split_at(split_at);
    assert_eq!(whole, run(&[a, b], limits).0, "split parse differs from whole parse");

    let small = GatewayLimits { max_control_line: 32, max_payload: 32 };
    let chunks: Vec<&[u8]> = data.chunks(7).collect();
    let (_, held) = run(&chunks, small);
    assert!(held <= small.max_control_line + small.max_payload + 4, "buffer held {held}");

    for op in whole.iter().flatten() {
        let mut out = BytesMut::new();
        match op {
            GatewayOp::Msg(m) if m.header_len == 0 => gateway::rmsg(
                &mut out,
                &m.account,
                &m.subject,
                m.reply.as_deref(),
                m.queue_names(),
                &m.payload,
            ),
            GatewayOp::Msg(m) => gateway::hmsg(
                &mut out,
                &m.account,
                &m.subject,
                m.reply.as_deref(),
                m.queue_names(),
                m.header_len,
                &m.payload,
            ),
            GatewayOp::RsPlus { account, subject, queue } => gateway::rs_plus(
                &mut out,
                account,
                subject,
                queue.as_ref().map(|(q, w)| (&q[..], *w)),
            ),
            GatewayOp::RsMinus { account, subject, queue } => {
                gateway::rs_minus(&mut out, account, subject, queue.as_deref())
            }
            GatewayOp::APlus(account) => gateway::a_plus(&mut out, account),
            GatewayOp::AMinus(account) => gateway::a_minus(&mut out, account),
            GatewayOp::Info(json) => gateway::info(&mut out, json),
            GatewayOp::Connect(json) => gateway::connect(&mut out, json),
            GatewayOp::Ping | GatewayOp::Pong | GatewayOp::Ok | GatewayOp::Err(_) => continue,
        }
        let again = gateway::parse_all(&out, limits);
        let [Ok(back)] = &again[..] else {
            panic!("{op:?} encoded as {out:?} parsed as {again:?}");
        };
        match (op, back) {
            // The queue list comes back with single spaces between the names.
            (GatewayOp::Msg(m), GatewayOp::Msg(n)) => {
                assert!(m.queue_names().eq(n.queue_names()), "{m:?} came back as {n:?}");
                let n = gateway::RoutedMsg { queues: m.queues.clone(), ..n.clone() };
                assert_eq!(m, &n);
            }
            _ => assert_eq!(op, back),
        }
    }
}
