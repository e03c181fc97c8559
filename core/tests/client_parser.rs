//! Properties of the client protocol parser: fragmentation does not matter, encoded frames
//! parse back, a pending frame stays bounded.

mod wire;

use bytes::BytesMut;
use proptest::prelude::*;
use strait_core::proto::client::{ClientOp, Limits, Parser, Publish, parse_all};
use strait_core::proto::encode;
use strait_core::proto::frames::{parse_chunks, split_at};
use wire::{cased, eol, sep, size_text};

/// Small limits so generated streams hit the boundaries often.
const SMALL: Limits = Limits { max_control_line: 24, max_payload: 12 };

/// A token: usually short, sometimes long enough to cross the small control-line limit.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[a-z.*>]{1,6}", 1 => "[a-z]{8,20}"]
}

/// One frame of a valid-looking stream, with the edge cases around it: payloads of the
/// announced size or one off, every op, odd whitespace, garbage.
fn frame() -> impl Strategy<Value = Vec<u8>> {
    let publish = (
        cased("pub"),
        sep(),
        token(),
        prop::option::of((sep(), token())),
        sep(),
        size_text(),
        eol(),
        -1i64..=1,
    )
        .prop_map(|(op, s1, subject, reply, s2, (size, n), eol, off)| {
            let reply = reply.map(|(s, r)| format!("{s}{r}")).unwrap_or_default();
            let len = (n as i64 + if off == 1 { 1 } else { 0 }).max(0) as usize;
            let mut f = format!("{op}{s1}{subject}{reply}{s2}{size}{eol}").into_bytes();
            f.extend(std::iter::repeat_n(b'p', len));
            f.extend(b"\r\n");
            f
        });
    let hpub = (cased("hpub"), token(), 0usize..=14, 0usize..=14, eol()).prop_map(
        |(op, subject, h, t, eol)| {
            let mut f = format!("{op} {subject} {h} {t}{eol}").into_bytes();
            f.extend(std::iter::repeat_n(b'h', t));
            f.extend(b"\r\n");
            f
        },
    );
    let sub = (cased("sub"), sep(), token(), prop::option::of(token()), eol()).prop_map(
        |(op, s, subject, queue, eol)| {
            let queue = queue.map(|q| format!(" {q}")).unwrap_or_default();
            format!("{op}{s}{subject}{queue} 1{eol}").into_bytes()
        },
    );
    let unsub = (cased("unsub"), "[a-z0-9]{1,3}", prop::option::of("[0-9x]{1,3}"), eol()).prop_map(
        |(op, sid, max, eol)| {
            let max = max.map(|m| format!(" {m}")).unwrap_or_default();
            format!("{op} {sid}{max}{eol}").into_bytes()
        },
    );
    let simple = (
        prop_oneof![
            Just("PING"),
            Just("PONG"),
            Just("+OK"),
            Just("pingpong"),
            Just("CONNECT {}"),
            Just("CONNECT{\"verbose\":false}"),
            Just("INFO {}"),
            Just("-ERR 'x'"),
            Just("CONNECT"),
            Just("PUB"),
            Just("MSG a 1 1"),
            Just(" PING"),
            Just("SUB a"),
        ],
        eol(),
    )
        .prop_map(|(s, eol)| format!("{s}{eol}").into_bytes());
    let garbage = prop::collection::vec(any::<u8>(), 0..6);
    prop_oneof![
        4 => publish,
        2 => hpub,
        2 => sub,
        2 => unsub,
        3 => simple,
        1 => garbage,
    ]
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(frame(), 1..8).prop_map(|frames| frames.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn fragmentation_does_not_matter_for_arbitrary_bytes(
        data in prop::collection::vec(any::<u8>(), 0..200),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        for limits in [SMALL, Limits::default()] {
            let whole = parse_all(&data, limits);
            let chunks = split_at(&data, &cuts);
            prop_assert_eq!(&whole, &parse_chunks(Parser::new(limits), &chunks).0);
        }
    }

    #[test]
    fn fragmentation_does_not_matter_for_op_streams(
        data in stream(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        for limits in [SMALL, Limits::default()] {
            let whole = parse_all(&data, limits);
            let chunks = split_at(&data, &cuts);
            prop_assert_eq!(&whole, &parse_chunks(Parser::new(limits), &chunks).0);
            // Byte by byte, the most fragmented case.
            let bytes: Vec<&[u8]> = data.chunks(1).collect();
            prop_assert_eq!(&whole, &parse_chunks(Parser::new(limits), &bytes).0);
        }
    }

    #[test]
    fn pending_frames_stay_bounded(
        data in prop_oneof![stream(), prop::collection::vec(any::<u8>(), 0..200)],
        chunk in 1usize..16,
    ) {
        let chunks: Vec<&[u8]> = data.chunks(chunk).collect();
        let (_, held) = parse_chunks(Parser::new(SMALL), &chunks);
        prop_assert!(held <= SMALL.max_control_line + SMALL.max_payload + 4, "held {}", held);
    }

    #[test]
    fn encoded_publishes_parse_back(
        subject in prop::collection::vec(any::<u8>().prop_filter("sep", |b| !b" \t\n".contains(b)), 1..12),
        reply in prop::option::of(
            prop::collection::vec(any::<u8>().prop_filter("sep", |b| !b" \t\n".contains(b)), 1..12)
        ),
        payload in prop::collection::vec(any::<u8>(), 0..64),
        header_len in any::<prop::sample::Index>(),
        hpub in any::<bool>(),
        (op_upper, crlf) in (any::<bool>(), any::<bool>()),
        s in sep(),
    ) {
        let header_len = if hpub { header_len.index(payload.len() + 1) } else { 0 };
        let mut text = Vec::new();
        let op = match (hpub, op_upper) {
            (true, true) => "HPUB",
            (true, false) => "hpub",
            (false, true) => "PUB",
            (false, false) => "pub",
        };
        text.extend(op.as_bytes());
        text.extend(s.as_bytes());
        text.extend(&subject);
        if let Some(reply) = &reply {
            text.extend(s.as_bytes());
            text.extend(reply);
        }
        if hpub {
            text.extend(format!(" {header_len}").as_bytes());
        }
        text.extend(format!("{s}{}", payload.len()).as_bytes());
        text.extend(if crlf { &b"\r\n"[..] } else { b"\n" });
        text.extend(&payload);
        text.extend(b"\r\n");
        let publish = Publish::new(&subject, reply.as_deref(), header_len, &payload);
        let want = if hpub { ClientOp::Hpub(publish) } else { ClientOp::Pub(publish) };
        prop_assert_eq!(parse_all(&text, Limits::default()), vec![Ok(want)]);
    }

    #[test]
    fn msg_encoders_match_the_wire_format(
        subject in "[a-z.]{1,10}",
        sid in "[0-9a-z]{0,4}",
        reply in prop::option::of("[a-z_.]{1,10}"),
        payload in prop::collection::vec(any::<u8>(), 0..300),
        header_len in any::<prop::sample::Index>(),
    ) {
        let sid_part = if sid.is_empty() { String::new() } else { format!("{sid} ") };
        let reply_part = reply.as_ref().map(|r| format!("{r} ")).unwrap_or_default();
        let mut out = BytesMut::new();
        encode::msg(&mut out, subject.as_bytes(), sid.as_bytes(), reply.as_deref().map(str::as_bytes), &payload);
        let mut want = format!("MSG {subject} {sid_part}{reply_part}{}\r\n", payload.len()).into_bytes();
        want.extend(&payload);
        want.extend(b"\r\n");
        prop_assert_eq!(&out[..], &want[..]);

        let header_len = header_len.index(payload.len() + 1);
        let mut out = BytesMut::new();
        encode::hmsg(&mut out, subject.as_bytes(), sid.as_bytes(), reply.as_deref().map(str::as_bytes), header_len, &payload);
        let mut want = format!("HMSG {subject} {sid_part}{reply_part}{header_len} {}\r\n", payload.len()).into_bytes();
        want.extend(&payload);
        want.extend(b"\r\n");
        prop_assert_eq!(&out[..], &want[..]);
    }
}
