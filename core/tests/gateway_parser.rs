//! Properties of the gateway protocol codec: fragmentation does not matter, every encoder's
//! output parses back, a pending frame stays bounded, INFO/CONNECT JSON round-trips.

mod wire;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use strait_core::proto::frames::{parse_chunks, split_at};
use strait_core::proto::gateway::{
    self, GatewayLimits, GatewayOp, GatewayParser, NO_QUEUES, RoutedMsg, parse_all,
};
use strait_core::proto::gateway_json::{GatewayConnect, GatewayInfo};
use wire::{cased, eol, sep, size_text};

/// Small limits so generated streams hit the boundaries often.
const SMALL: GatewayLimits = GatewayLimits { max_control_line: 24, max_payload: 12 };

/// A token: usually short, sometimes long enough to cross the small control-line limit.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[a-z.*>$]{1,6}", 1 => "[a-z]{8,20}"]
}

/// The middle part of an RMSG/HMSG line: nothing, a reply, `| queues`, `+ reply queues`, or a
/// bad indicator.
fn middle() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just(String::new()),
        2 => token().prop_map(|r| format!(" {r}")),
        2 => prop::collection::vec(token(), 1..4).prop_map(|q| format!(" | {}", q.join(" "))),
        2 => (token(), prop::collection::vec(token(), 0..3))
            .prop_map(|(r, q)| format!(" + {r} {}", q.join(" "))),
        1 => Just(" x r q".to_owned()),
    ]
}

/// One frame of a valid-looking gateway stream, with the edge cases around it: payloads of the
/// announced size or one off, every op, odd whitespace, ops of other connection kinds, garbage.
fn frame() -> impl Strategy<Value = Vec<u8>> {
    let rmsg = (cased("rmsg"), sep(), token(), token(), middle(), size_text(), eol(), -1i64..=1)
        .prop_map(|(op, s, account, subject, middle, (size, n), eol, off)| {
            let len = (n as i64 + off).max(0) as usize;
            let mut f = format!("{op}{s}{account} {subject}{middle} {size}{eol}").into_bytes();
            f.extend(std::iter::repeat_n(b'p', len));
            f.extend(b"\r\n");
            f
        });
    let hmsg = (cased("hmsg"), token(), middle(), 0usize..=14, 0usize..=14, eol()).prop_map(
        |(op, subject, middle, h, t, eol)| {
            let mut f = format!("{op} $G {subject}{middle} {h} {t}{eol}").into_bytes();
            f.extend(std::iter::repeat_n(b'h', t));
            f.extend(b"\r\n");
            f
        },
    );
    let interest = (
        prop_oneof![cased("rs+"), cased("rs-"), cased("sub"), cased("unsub")],
        sep(),
        prop::collection::vec(token(), 1..6),
        eol(),
    )
        .prop_map(|(op, s, args, eol)| format!("{op}{s}{}{eol}", args.join(" ")).into_bytes());
    let account = (prop_oneof![cased("a+"), cased("a-"), Just("Au".to_owned())], token(), eol())
        .prop_map(|(op, acc, eol)| format!("{op} {acc}{eol}").into_bytes());
    let simple = (
        prop_oneof![
            Just("PING"),
            Just("PONG"),
            Just("+OK"),
            Just("pingpong"),
            Just("CONNECT {\"gateway\":\"A\"}"),
            Just("INFO {\"gateway\":\"A\",\"gateway_cmd\":2,\"gateway_cmd_payload\":\"JEc=\"}"),
            Just("-ERR 'x'"),
            Just("INFO"),
            Just("PUB foo 1"),
            Just("PUB foo 0"),
            Just("HPUB foo 0 0"),
            Just("MSG a 1 1"),
            Just("LS+ $G a"),
            Just(" PING"),
            Just("A+"),
        ],
        eol(),
    )
        .prop_map(|(s, eol)| format!("{s}{eol}").into_bytes());
    let garbage = prop::collection::vec(any::<u8>(), 0..6);
    prop_oneof![
        4 => rmsg,
        2 => hmsg,
        3 => interest,
        2 => account,
        3 => simple,
        1 => garbage,
    ]
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(frame(), 1..8).prop_map(|frames| frames.concat())
}

/// A protocol token as a peer sends it: no whitespace, no `\n`.
fn wire_token() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>().prop_filter("sep", |b| !b" \t\r\n".contains(b)), 1..12)
}

fn msg(
    account: &[u8],
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: &[Vec<u8>],
    header_len: usize,
    payload: &[u8],
) -> GatewayOp {
    let queues = (!queues.is_empty()).then(|| queues.join(&b' '));
    GatewayOp::Msg(RoutedMsg::new(account, subject, reply, queues.as_deref(), header_len, payload))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn fragmentation_does_not_matter_for_arbitrary_bytes(
        data in prop::collection::vec(any::<u8>(), 0..200),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        for limits in [SMALL, GatewayLimits::default()] {
            let whole = parse_all(&data, limits);
            let chunks = split_at(&data, &cuts);
            prop_assert_eq!(&whole, &parse_chunks(GatewayParser::new(limits), &chunks).0);
        }
    }

    #[test]
    fn fragmentation_does_not_matter_for_op_streams(
        data in stream(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        for limits in [SMALL, GatewayLimits::default()] {
            let whole = parse_all(&data, limits);
            let chunks = split_at(&data, &cuts);
            prop_assert_eq!(&whole, &parse_chunks(GatewayParser::new(limits), &chunks).0);
            // Byte by byte, the most fragmented case.
            let bytes: Vec<&[u8]> = data.chunks(1).collect();
            prop_assert_eq!(&whole, &parse_chunks(GatewayParser::new(limits), &bytes).0);
        }
    }

    #[test]
    fn fuzz_entry_point_holds_on_op_streams(
        data in prop_oneof![4 => stream(), 1 => prop::collection::vec(any::<u8>(), 0..200)],
    ) {
        strait_core::fuzzing::gateway_parser(&data);
    }

    #[test]
    fn pending_frames_stay_bounded(
        data in prop_oneof![stream(), prop::collection::vec(any::<u8>(), 0..200)],
        chunk in 1usize..16,
    ) {
        let chunks: Vec<&[u8]> = data.chunks(chunk).collect();
        let (_, held) = parse_chunks(GatewayParser::new(SMALL), &chunks);
        prop_assert!(held <= SMALL.max_control_line + SMALL.max_payload + 4, "held {}", held);
    }

    #[test]
    fn routed_messages_round_trip(
        account in wire_token(),
        subject in wire_token(),
        reply in prop::option::of(wire_token()),
        queues in prop::collection::vec(wire_token(), 0..4),
        payload in prop::collection::vec(any::<u8>(), 0..64),
        header_len in any::<prop::sample::Index>(),
        lines_only in any::<bool>(),
    ) {
        let header_len = header_len.index(payload.len() + 1);
        let mut out = BytesMut::new();
        if lines_only {
            // Control line, then the payload and CRLF as a vectored writer would send them.
            gateway::rmsg_line(&mut out, &account, &subject, reply.as_deref(), &queues, payload.len());
            out.extend_from_slice(&payload);
            out.extend_from_slice(b"\r\n");
            gateway::hmsg_line(&mut out, &account, &subject, reply.as_deref(), &queues, header_len, payload.len());
            out.extend_from_slice(&payload);
            out.extend_from_slice(b"\r\n");
        } else {
            gateway::rmsg(&mut out, &account, &subject, reply.as_deref(), &queues, &payload);
            gateway::hmsg(&mut out, &account, &subject, reply.as_deref(), &queues, header_len, &payload);
        }
        let want = vec![
            Ok(msg(&account, &subject, reply.as_deref(), &queues, 0, &payload)),
            Ok(msg(&account, &subject, reply.as_deref(), &queues, header_len, &payload)),
        ];
        prop_assert_eq!(parse_all(&out, GatewayLimits::default()), want);
    }

    #[test]
    fn interest_and_account_ops_round_trip(
        account in wire_token(),
        subject in wire_token(),
        queue in prop::option::of(wire_token()),
        weight in 0u32..1_000_000_000,
        json in "[ -~]{0,40}",
    ) {
        let mut out = BytesMut::new();
        gateway::rs_plus(&mut out, &account, &subject, queue.as_deref().map(|q| (q, weight)));
        gateway::rs_minus(&mut out, &account, &subject, queue.as_deref());
        gateway::a_plus(&mut out, &account);
        gateway::a_minus(&mut out, &account);
        // An INFO/CONNECT argument never starts with whitespace and never ends with a CR.
        let json = json.trim_start_matches([' ', '\t']);
        gateway::info(&mut out, json.as_bytes());
        gateway::connect(&mut out, json.as_bytes());
        let b = |v: &[u8]| Bytes::copy_from_slice(v);
        prop_assert_eq!(
            parse_all(&out, GatewayLimits::default()),
            vec![
                Ok(GatewayOp::RsPlus {
                    account: b(&account),
                    subject: b(&subject),
                    queue: queue.as_deref().map(|q| (b(q), weight)),
                }),
                Ok(GatewayOp::RsMinus {
                    account: b(&account),
                    subject: b(&subject),
                    queue: queue.as_deref().map(b),
                }),
                Ok(GatewayOp::APlus(b(&account))),
                Ok(GatewayOp::AMinus(b(&account))),
                Ok(GatewayOp::Info(b(json.as_bytes()))),
                Ok(GatewayOp::Connect(b(json.as_bytes()))),
            ]
        );
    }

    #[test]
    fn msg_encoders_match_the_wire_format(
        subject in "[a-z.]{1,10}",
        reply in prop::option::of("[a-z_.]{1,10}"),
        queues in prop::collection::vec("[a-z]{1,4}", 0..3),
        payload in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let middle = match (&reply, queues.is_empty()) {
            (None, true) => String::new(),
            (Some(r), true) => format!("{r} "),
            (None, false) => format!("| {} ", queues.join(" ")),
            (Some(r), false) => format!("+ {r} {} ", queues.join(" ")),
        };
        let mut out = BytesMut::new();
        gateway::rmsg(&mut out, b"$G", subject.as_bytes(), reply.as_deref().map(str::as_bytes), &queues, &payload);
        let mut want = format!("RMSG $G {subject} {middle}{}\r\n", payload.len()).into_bytes();
        want.extend(&payload);
        want.extend(b"\r\n");
        prop_assert_eq!(&out[..], &want[..]);
    }

    #[test]
    fn info_json_round_trips(
        server_id in "[A-Z0-9]{0,8}",
        name in "[ -~]{0,8}",
        port in any::<u16>(),
        flags in prop::collection::vec(any::<bool>(), 6),
        max_payload in any::<i32>(),
        gateway in "[A-Za-z0-9]{0,4}",
        urls in prop::collection::vec("[a-z0-9.:]{1,12}", 0..3),
        cmd in any::<u8>(),
        payload in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let info = GatewayInfo {
            server_id,
            server_name: name.clone(),
            version: "2.15.1".into(),
            proto: 3,
            go: String::new(),
            host: name,
            port: port.into(),
            headers: flags[0],
            auth_required: flags[1],
            tls_required: flags[2],
            tls_verify: flags[3],
            max_payload,
            gateway,
            gateway_urls: urls,
            gateway_url: "h:1".into(),
            gateway_cmd: cmd,
            gateway_cmd_payload: payload,
            gateway_nrp: flags[4],
            gateway_iom: flags[5],
        };
        prop_assert_eq!(GatewayInfo::from_json(&info.to_json()), Ok(info));
    }

    #[test]
    fn connect_json_round_trips(
        name in "[ -~]{0,8}",
        gateway in "[A-Za-z0-9]{0,4}",
        user in "[ -~]{0,4}",
        pass in "[ -~]{0,4}",
        tls in any::<bool>(),
    ) {
        let c = GatewayConnect::new(&name, &gateway, &user, &pass, tls);
        prop_assert_eq!(GatewayConnect::from_json(&c.to_json()), Ok(c));
    }
}

#[test]
fn no_queues_constant_encodes_no_list() {
    let mut out = BytesMut::new();
    gateway::rmsg(&mut out, b"$G", b"foo", None, NO_QUEUES, b"x");
    assert_eq!(&out[..], b"RMSG $G foo 1\r\nx\r\n");
}

#[test]
fn nats_server_transcripts_parse_cleanly() {
    // Byte streams captured from nats-server 2.15.1 on loopback: what an acceptor sends a new
    // inbound connection, and what a dialler sends on its outbound one.
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/gateway_parser");
    for (name, ops) in [
        ("acceptor_info", 1),
        ("acceptor_interest_and_commands", 60),
        ("dialler_connect_info", 2),
        ("dialler_messages", 5),
    ] {
        let data = std::fs::read(dir.join(name)).expect("corpus file");
        let parsed = parse_all(&data, GatewayLimits::default());
        assert_eq!(parsed.len(), ops, "{name}");
        assert!(parsed.iter().all(Result::is_ok), "{name}: {parsed:?}");
    }
}
