//! The route flavour of the server-to-server parser, byte by byte: every parsing row of
//! `route-protocol.md` §3.2 and the captured frames of §5.1, pinned-account routes, `LS±` and
//! `LMSG`, the ops a route ignores or swallows, and frames split at every byte.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use strait_core::proto::frames::{parse_chunks, split_at};
use strait_core::proto::route::{
    self, NO_QUEUES, RouteLimits, RouteOp, RouteParseError, RouteParser, RoutedMsg, parse_all,
};

type Parsed = Vec<Result<RouteOp, RouteParseError>>;

fn limits() -> RouteLimits {
    RouteLimits::route(4096)
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn all(data: &[u8]) -> Parsed {
    parse_all(data, limits(), None)
}

fn pinned(data: &[u8]) -> Parsed {
    parse_all(data, limits(), Some(b("$SYS")))
}

fn rs_plus(account: &str, subject: &str, queue: Option<(&str, i32)>) -> RouteOp {
    RouteOp::RsPlus {
        account: b(account),
        subject: b(subject),
        queue: queue.map(|(q, w)| (b(q), w)),
    }
}

fn rs_minus(account: &str, subject: &str, queue: Option<&str>) -> RouteOp {
    RouteOp::RsMinus { account: b(account), subject: b(subject), queue: queue.map(b) }
}

fn ls_plus(origin: &str, account: &str, subject: &str, queue: Option<(&str, i32)>) -> RouteOp {
    RouteOp::LsPlus {
        origin: b(origin),
        account: b(account),
        subject: b(subject),
        queue: queue.map(|(q, w)| (b(q), w)),
    }
}

fn ls_minus(origin: Option<&str>, account: &str, subject: &str, queue: Option<&str>) -> RouteOp {
    RouteOp::LsMinus {
        origin: origin.map(b),
        account: b(account),
        subject: b(subject),
        queue: queue.map(b),
    }
}

fn routed(
    account: &str,
    subject: &str,
    reply: Option<&str>,
    queues: Option<&str>,
    header_len: usize,
    payload: &str,
) -> RoutedMsg {
    RoutedMsg::new(
        account.as_bytes(),
        subject.as_bytes(),
        reply.map(str::as_bytes),
        queues.map(str::as_bytes),
        header_len,
        payload.as_bytes(),
    )
}

fn msg(
    account: &str,
    subject: &str,
    reply: Option<&str>,
    queues: Option<&str>,
    header_len: usize,
    payload: &str,
) -> RouteOp {
    RouteOp::Msg(routed(account, subject, reply, queues, header_len, payload))
}

const BAD: fn(&'static str) -> RouteParseError = RouteParseError::BadArgs;

/// The captured handshake and message frames of §2.1 and §5.1, and one of every other op.
#[test]
fn captured_frames_and_every_op() {
    let data = b"CONNECT {\"echo\":true,\"name\":\"N\",\"cluster\":\"C1\"}\r\n\
        INFO {\"server_id\":\"A\"} \r\nINFO {\"server_id\":\"G\"}\r\nPING\r\nPONG\r\n+OK\r\n\
        -ERR 'Unknown Protocol Operation'\r\n\
        RS+ $G foo\r\nRS+ $G qq grp 2\r\nRS- $G qq grp\r\nRS- $G foo\r\nRS+ $G w.*\r\n\
        RMSG $G bar 5\r\nhello\r\nRMSG $G bar rep.1 2\r\nhi\r\n\
        HMSG $G bar 12 14\r\nNATS/1.0\r\n\r\nhi\r\n\
        RMSG $G rq | g1 1\r\nx\r\nRMSG $G rq + r2 g1 1\r\ny\r\n\
        LS+ L1 $G foo\r\nLS+ _ $G foo q 3\r\nLS- L1 $G foo\r\nLS- L1 $G foo q\r\n\
        LMSG L1 $G foo 0 2\r\nhi\r\nLMSG L1 $G foo + r g1 g2 12 14\r\nNATS/1.0\r\n\r\nhi\r\n";
    assert_eq!(
        all(data),
        vec![
            Ok(RouteOp::Connect(b("{\"echo\":true,\"name\":\"N\",\"cluster\":\"C1\"}"))),
            // The initial INFO's space before CRLF stays in the argument (JSON whitespace).
            Ok(RouteOp::Info(b("{\"server_id\":\"A\"} "))),
            Ok(RouteOp::Info(b("{\"server_id\":\"G\"}"))),
            Ok(RouteOp::Ping),
            Ok(RouteOp::Pong),
            Ok(RouteOp::Ok),
            Ok(RouteOp::Err(b("'Unknown Protocol Operation'"))),
            Ok(rs_plus("$G", "foo", None)),
            Ok(rs_plus("$G", "qq", Some(("grp", 2)))),
            Ok(rs_minus("$G", "qq", Some("grp"))),
            Ok(rs_minus("$G", "foo", None)),
            Ok(rs_plus("$G", "w.*", None)),
            Ok(msg("$G", "bar", None, None, 0, "hello")),
            Ok(msg("$G", "bar", Some("rep.1"), None, 0, "hi")),
            Ok(msg("$G", "bar", None, None, 12, "NATS/1.0\r\n\r\nhi")),
            Ok(msg("$G", "rq", None, Some("g1"), 0, "x")),
            Ok(msg("$G", "rq", Some("r2"), Some("g1"), 0, "y")),
            Ok(ls_plus("L1", "$G", "foo", None)),
            Ok(ls_plus("_", "$G", "foo", Some(("q", 3)))),
            Ok(ls_minus(Some("L1"), "$G", "foo", None)),
            Ok(ls_minus(Some("L1"), "$G", "foo", Some("q"))),
            Ok(RouteOp::Lmsg { origin: b("L1"), msg: routed("$G", "foo", None, None, 0, "hi") }),
            Ok(RouteOp::Lmsg {
                origin: b("L1"),
                msg: routed("$G", "foo", Some("r"), Some("g1 g2"), 12, "NATS/1.0\r\n\r\nhi"),
            }),
        ]
    );
}

/// Every row of §3.2 that is about parsing (what the node does with a parsed op, e.g. an
/// unknown account, is not the parser's business: those rows parse).
#[test]
fn hostile_input_rows() {
    let rows: &[(&[u8], Parsed)] = &[
        (b"RMSG NOACC foo 2\r\nhi\r\n", vec![Ok(msg("NOACC", "foo", None, None, 0, "hi"))]),
        (b"RS+ NOACC foo\r\n", vec![Ok(rs_plus("NOACC", "foo", None))]),
        (b"RS- NOACC foo\r\n", vec![Ok(rs_minus("NOACC", "foo", None))]),
        (b"RS+ $G foo q\r\n", vec![Err(BAD("RS+: wrong argument count"))]),
        (b"RS+ $G foo q 1 x\r\n", vec![Err(BAD("RS+: wrong argument count"))]),
        (b"RS+ $G\r\n", vec![Err(BAD("RS+: wrong argument count"))]),
        (b"RS- $G foo q x\r\n", vec![Err(BAD("RS-: wrong argument count"))]),
        (b"RS+ $G foo..bar\r\n", vec![Ok(rs_plus("$G", "foo..bar", None))]),
        // Non-numeric (or 10-digit) weight: −1, as 2.15.1 reads it.
        (b"RS+ $G foo q x\r\n", vec![Ok(rs_plus("$G", "foo", Some(("q", -1))))]),
        (b"RS+ $G foo q 1234567890\r\n", vec![Ok(rs_plus("$G", "foo", Some(("q", -1))))]),
        (b"RS+ $G foo q 0\r\n", vec![Ok(rs_plus("$G", "foo", Some(("q", 0))))]),
        (b"RS+ $G foo q 999999999\r\n", vec![Ok(rs_plus("$G", "foo", Some(("q", 999_999_999))))]),
        (b"XYZ\r\n", vec![Err(RouteParseError::UnknownOp)]),
        (b"MSG foo 1 2\r\nhi\r\n", vec![Err(RouteParseError::UnknownOp)]),
        (b"\r\n", vec![Err(RouteParseError::UnknownOp)]),
        (b"LX+ a b\r\n", vec![Err(RouteParseError::UnknownOp)]),
        // SUB, UNSUB, A+, A- (and the Au spelling) are consumed silently.
        (
            b"SUB foo 1\r\nsub foo q 2\r\nUNSUB 1\r\nA+ X\r\nA- X\r\nAu X\r\nPING\r\n",
            vec![Ok(RouteOp::Ping)],
        ),
        // PUB/HPUB are swallowed with their payload.
        (b"PUB foo 2\r\nhi\r\nPUB foo r 0\r\n\r\nPING\r\n", vec![Ok(RouteOp::Ping)]),
        (b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPONG\r\n", vec![Ok(RouteOp::Pong)]),
        (b"PUB foo\r\n", vec![Err(BAD("PUB: wrong argument count"))]),
        (b"PUB foo x\r\n", vec![Err(BAD("PUB: bad or missing size"))]),
        (b"HPUB foo 3 2\r\n", vec![Err(BAD("HPUB: header size larger than total size"))]),
        (b"PUB foo 2\r\nhello\r\n", vec![Err(RouteParseError::UnknownOp)]),
        (b"LS+ ORIG $G foo\r\n", vec![Ok(ls_plus("ORIG", "$G", "foo", None))]),
        (b"LS+ ORIG $G foo q\r\n", vec![Err(BAD("LS+: wrong argument count"))]),
        (b"RMSG $G foo x r q 2\r\nhi\r\n", vec![Err(BAD("RMSG: bad or missing reply indicator"))]),
        (b"RMSG $G foo -1\r\n", vec![Err(BAD("RMSG: bad or missing size"))]),
        (b"RMSG $G foo abc\r\n", vec![Err(BAD("RMSG: bad or missing size"))]),
        (b"RMSG $G foo 2000000000\r\n", vec![Err(BAD("RMSG: bad or missing size"))]),
        (b"HMSG $G foo 20 10\r\n", vec![Err(BAD("HMSG: header size larger than total size"))]),
        (b"LMSG O $G foo 20 10\r\n", vec![Err(BAD("LMSG: header size larger than total size"))]),
        (b"LMSG O $G foo 10\r\n", vec![Err(BAD("LMSG: too few arguments"))]),
        (b"LMSG O $G foo x r 0 1\r\n", vec![Err(BAD("LMSG: bad or missing reply indicator"))]),
        (b"RMSG $G\r\n", vec![Err(BAD("RMSG: too few arguments"))]),
        (b"RMSG $G foo 2\r\nhello\r\n", vec![Err(RouteParseError::UnknownOp)]),
        (
            b"RMSG $G _GR_.AAAAAA.BBBBBB.foo 1\r\nx\r\n",
            vec![Ok(msg("$G", "_GR_.AAAAAA.BBBBBB.foo", None, None, 0, "x"))],
        ),
        // INFO JSON is checked by the link, not the parser.
        (b"INFO {not json\r\n", vec![Ok(RouteOp::Info(b("{not json")))]),
    ];
    for (input, want) in rows {
        assert_eq!(&all(input), want, "{:?}", String::from_utf8_lossy(input));
    }

    // A control line longer than 16 × 4096.
    let mut long = b"RS+ $G ".to_vec();
    long.extend(std::iter::repeat_n(b'a', 65_537));
    long.extend(b"\r\n");
    assert_eq!(all(&long), vec![Err(RouteParseError::MaxControlLine)]);
    // Exactly 65 536 bytes of argument are fine.
    long.truncate(4 + 65_536);
    long.extend(b"\r\n");
    let subject = "a".repeat(65_533);
    assert_eq!(all(&long), vec![Ok(rs_plus("$G", &subject, None))]);

    // 300 queue names in one RMSG.
    let names: Vec<String> = (0..300).map(|i| format!("q{i}")).collect();
    let line = format!("RMSG $G foo | {} 1\r\nx\r\n", names.join(" "));
    let out = all(line.as_bytes());
    let [Ok(RouteOp::Msg(m))] = &out[..] else { panic!("{out:?}") };
    assert_eq!(m.queue_names().count(), 300);
}

/// Routes have no payload limit but the 9-digit size field: a 999 999 999-byte RMSG is a
/// pending frame, not an error (a gateway refuses it).
#[test]
fn route_payload_limit_is_the_size_field() {
    assert_eq!(all(b"RMSG $G foo 999999999\r\n"), vec![]);
    assert_eq!(
        strait_core::proto::gateway::parse_all(b"RMSG $G foo 999999999\r\n", Default::default()),
        vec![Err(strait_core::proto::gateway::GatewayParseError::PayloadTooLarge)]
    );
    let capped = RouteLimits { max_control_line: 4096, max_payload: 10 };
    assert_eq!(
        parse_all(b"RMSG $G foo 11\r\n", capped, None),
        vec![Err(RouteParseError::PayloadTooLarge)]
    );
}

/// A swallowed PUB is dropped as it arrives: the buffer does not hold its payload.
#[test]
fn swallowed_payload_is_not_buffered() {
    let mut data = b"PUB foo 100000\r\n".to_vec();
    data.extend(std::iter::repeat_n(b'x', 100_000));
    data.extend(b"\r\nPING\r\n");
    let chunks: Vec<&[u8]> = data.chunks(1000).collect();
    let (out, held) = parse_chunks(RouteParser::new(limits()), &chunks);
    assert_eq!(out, vec![Ok(RouteOp::Ping)]);
    assert!(held < 100, "held {held}");
}

#[test]
fn pinned_account_rows() {
    let rows: &[(&[u8], Parsed)] = &[
        (b"RS+ foo\r\n", vec![Ok(rs_plus("$SYS", "foo", None))]),
        (b"RS+ foo q 2\r\n", vec![Ok(rs_plus("$SYS", "foo", Some(("q", 2))))]),
        (b"RS+ $G foo\r\n", vec![Err(BAD("RS+: wrong argument count"))]),
        (b"RS- foo\r\n", vec![Ok(rs_minus("$SYS", "foo", None))]),
        (b"RS- foo q\r\n", vec![Ok(rs_minus("$SYS", "foo", Some("q")))]),
        (
            b"RMSG $SYS.SERVER.X.STATSZ 5\r\nhello\r\n",
            vec![Ok(msg("$SYS", "$SYS.SERVER.X.STATSZ", None, None, 0, "hello"))],
        ),
        (b"RMSG foo r 2\r\nhi\r\n", vec![Ok(msg("$SYS", "foo", Some("r"), None, 0, "hi"))]),
        (b"RMSG foo | g 1\r\nx\r\n", vec![Ok(msg("$SYS", "foo", None, Some("g"), 0, "x"))]),
        (
            b"RMSG foo + r g h 1\r\nx\r\n",
            vec![Ok(msg("$SYS", "foo", Some("r"), Some("g h"), 0, "x"))],
        ),
        (
            b"HMSG foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
            vec![Ok(msg("$SYS", "foo", None, None, 12, "NATS/1.0\r\n\r\nhi"))],
        ),
        (b"RMSG 2\r\n", vec![Err(BAD("RMSG: too few arguments"))]),
        (b"RMSG foo x r 2\r\n", vec![Err(BAD("RMSG: bad or missing reply indicator"))]),
        (b"LS+ O foo\r\n", vec![Ok(ls_plus("O", "$SYS", "foo", None))]),
        (b"LS+ O foo q 1\r\n", vec![Ok(ls_plus("O", "$SYS", "foo", Some(("q", 1))))]),
        (b"LS- O foo\r\n", vec![Ok(ls_minus(Some("O"), "$SYS", "foo", None))]),
        (b"LS- foo\r\n", vec![Ok(ls_minus(None, "$SYS", "foo", None))]),
        (
            b"LMSG O foo 0 2\r\nhi\r\n",
            vec![Ok(RouteOp::Lmsg {
                origin: b("O"),
                msg: routed("$SYS", "foo", None, None, 0, "hi"),
            })],
        ),
    ];
    for (input, want) in rows {
        assert_eq!(&pinned(input), want, "{:?}", String::from_utf8_lossy(input));
    }
}

/// The pinned account is shared, not copied: every frame's account is the same allocation.
#[test]
fn pinned_account_is_refcounted() {
    let acc = b("$SYS");
    let out = parse_all(b"RS+ a\r\nRMSG b 1\r\nx\r\n", limits(), Some(acc.clone()));
    for op in out {
        let account = match &op {
            Ok(RouteOp::RsPlus { account, .. }) => &account[..],
            Ok(RouteOp::Msg(m)) => m.account(),
            other => panic!("{other:?}"),
        };
        assert_eq!(account.as_ptr(), acc.as_ptr());
    }
}

/// `LS-` with and without origin (`lnocu`): only the 3-field line is ambiguous.
#[test]
fn ls_minus_origin_setting() {
    let with = |data: &[u8], origin: bool| {
        let mut p = RouteParser::new(limits());
        p.set_ls_minus_origin(origin);
        strait_core::proto::frames::parse_all(p, data)
    };
    assert_eq!(with(b"LS- O $G foo\r\n", true), vec![Ok(ls_minus(Some("O"), "$G", "foo", None))]);
    assert_eq!(with(b"LS- $G foo q\r\n", false), vec![Ok(ls_minus(None, "$G", "foo", Some("q")))]);
    assert_eq!(with(b"LS- $G foo\r\n", true), vec![Ok(ls_minus(None, "$G", "foo", None))]);
    assert_eq!(with(b"LS- $G foo\r\n", false), vec![Ok(ls_minus(None, "$G", "foo", None))]);
    assert_eq!(
        with(b"LS- O $G foo q\r\n", true),
        vec![Ok(ls_minus(Some("O"), "$G", "foo", Some("q")))]
    );
    assert_eq!(with(b"LS- O $G foo q\r\n", false), vec![Err(BAD("LS-: wrong argument count"))]);
    assert_eq!(with(b"LS- foo\r\n", true), vec![Err(BAD("LS-: wrong argument count"))]);
}

/// A stream with every route op, parsed whole, split at every byte, and byte by byte, with
/// and without a pinned account: same frames.
#[test]
fn split_at_every_byte() {
    let streams: [(&[u8], Option<Bytes>); 2] = [
        (
            b"INFO {\"a\":1} \r\nRS+ $G foo q 2\r\nSUB x 1\r\nPUB a 3\r\nabc\r\nHPUB a 1 3\r\nabc\r\n\
              RMSG $G foo + r q1 q2 5\r\nhello\r\nHMSG $G f 2 3\r\nabc\r\nLS+ O $G s\r\n\
              LS- O $G s q\r\nLMSG O $G s | q 1 3\r\nabc\r\nA+ X\r\nPING\r\nRS- $G foo q\r\n",
            None,
        ),
        (
            b"RS+ foo q 2\r\nRMSG foo + r q1 5\r\nhello\r\nLMSG O s 0 1\r\nx\r\nLS- O s\r\nPONG\r\n",
            Some(b("ACC")),
        ),
    ];
    for (data, pin) in streams {
        let whole = parse_all(data, limits(), pin.clone());
        assert!(whole.iter().all(Result::is_ok), "{whole:?}");
        let parser = || {
            let mut p = RouteParser::new(limits());
            p.set_pinned_account(pin.clone());
            p
        };
        for cut in 0..=data.len() {
            let (out, _) = parse_chunks(parser(), split_at(data, &[cut]));
            assert_eq!(out, whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        assert_eq!(parse_chunks(parser(), &bytes).0, whole);
    }
}

/// Our encoders' frames parse back to the op they encode, pinned or not.
#[test]
fn encoders_parse_back() {
    let mut out = BytesMut::new();
    route::rs_plus(&mut out, b"$G", b"foo", Some((b"q", 7)));
    route::rmsg(&mut out, b"$G", b"foo", Some(b"r"), [&b"g"[..]], b"hi");
    route::ls_plus(&mut out, b"O", Some(b"$G"), b"foo", Some((b"q", 2)));
    route::ls_minus(&mut out, b"O", Some(b"$G"), b"foo", None);
    route::lmsg(&mut out, b"O", Some(b"$G"), b"foo", None, NO_QUEUES, 0, b"x");
    route::initial_info(&mut out, b"{}");
    assert_eq!(
        all(&out),
        vec![
            Ok(rs_plus("$G", "foo", Some(("q", 7)))),
            Ok(msg("$G", "foo", Some("r"), Some("g"), 0, "hi")),
            Ok(ls_plus("O", "$G", "foo", Some(("q", 2)))),
            Ok(ls_minus(Some("O"), "$G", "foo", None)),
            Ok(RouteOp::Lmsg { origin: b("O"), msg: routed("$G", "foo", None, None, 0, "x") }),
            Ok(RouteOp::Info(b("{} "))),
        ]
    );
    let mut out = BytesMut::new();
    route::rs_plus_pinned(&mut out, b"foo", Some((b"q", 3)));
    route::rs_minus_pinned(&mut out, b"foo", None);
    route::rmsg_pinned(&mut out, b"foo", None, [&b"g"[..]], b"hi");
    route::hmsg_pinned(&mut out, b"foo", Some(b"r"), NO_QUEUES, 1, b"hi");
    route::ls_plus(&mut out, b"O", None, b"foo", None);
    route::lmsg(&mut out, b"O", None, b"foo", Some(b"r"), NO_QUEUES, 1, b"hi");
    assert_eq!(
        pinned(&out),
        vec![
            Ok(rs_plus("$SYS", "foo", Some(("q", 3)))),
            Ok(rs_minus("$SYS", "foo", None)),
            Ok(msg("$SYS", "foo", None, Some("g"), 0, "hi")),
            Ok(msg("$SYS", "foo", Some("r"), None, 1, "hi")),
            Ok(ls_plus("O", "$SYS", "foo", None)),
            Ok(RouteOp::Lmsg {
                origin: b("O"),
                msg: routed("$SYS", "foo", Some("r"), None, 1, "hi")
            }),
        ]
    );
}

proptest! {
    /// Any input: split anywhere, the frames are those of the whole input; with small limits
    /// the buffer stays within the documented bound.
    #[test]
    fn fragmentation_does_not_matter(
        data in prop::collection::vec(
            prop_oneof![
                Just(b"RMSG $G a + r q 3\r\nabc\r\n".to_vec()),
                Just(b"LMSG O $G a 1 3\r\nabc\r\n".to_vec()),
                Just(b"LS- O $G a\r\n".to_vec()),
                Just(b"PUB a 2\r\nhi\r\n".to_vec()),
                Just(b"SUB a 1\r\n".to_vec()),
                Just(b"RS+ a q x\r\n".to_vec()),
                prop::collection::vec(any::<u8>(), 0..8),
            ],
            1..8,
        ).prop_map(|v| v.concat()),
        cuts in prop::collection::vec(any::<usize>(), 0..4),
        pin in any::<bool>(),
    ) {
        let pin = pin.then(|| b("P"));
        let whole = parse_all(&data, limits(), pin.clone());
        let mut p = RouteParser::new(limits());
        p.set_pinned_account(pin.clone());
        prop_assert_eq!(parse_chunks(p, split_at(&data, &cuts)).0, whole);

        let small = RouteLimits { max_control_line: 16, max_payload: 8 };
        let mut p = RouteParser::new(small);
        p.set_pinned_account(pin);
        let chunks: Vec<&[u8]> = data.chunks(3).collect();
        let (_, held) = parse_chunks(p, &chunks);
        prop_assert!(held <= small.max_control_line + small.max_payload + 4, "held {}", held);
    }
}

/// The captured 2.15.1 route streams (`route_capture/README.md`): every stream parses to its
/// end; every INFO and CONNECT decodes; our encoders write every frame back byte for byte;
/// and the frames the scenario must produce are there.
#[test]
fn captured_2_15_1_streams() {
    use strait_core::proto::route_json::{RouteConnect, RouteInfo};

    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/route_capture");
    let mut seen = Vec::new();
    for conn in 1..=4 {
        let read = |dir_name: &str| std::fs::read(dir.join(format!("c{conn}_{dir_name}"))).unwrap();
        let (from_b, from_a) = (read("B_to_A"), read("A_to_B"));
        // The solicitor's INFO says whether the connection is pinned to an account.
        let pinned_to = parse_all(&from_b, limits(), None)
            .into_iter()
            .find_map(|op| match op {
                Ok(RouteOp::Info(json)) => Some(RouteInfo::from_json(&json).unwrap().route_account),
                _ => None,
            })
            .filter(|account| !account.is_empty())
            .map(|account| Bytes::from(account.into_bytes()));
        for data in [&from_b, &from_a] {
            let mut parser = RouteParser::new(limits());
            parser.set_pinned_account(pinned_to.clone());
            let mut buf = BytesMut::from(&data[..]);
            let mut again = BytesMut::new();
            while let Some(op) = parser.parse(&mut buf).expect("2.15.1 output parses") {
                reencode(&op, pinned_to.is_some(), &mut again);
                if let RouteOp::Info(json) = &op {
                    let info = RouteInfo::from_json(json).unwrap();
                    assert_eq!((info.cluster.as_str(), info.route_pool_size), ("C1", 3));
                }
                if let RouteOp::Connect(json) = &op {
                    let c = RouteConnect::from_json(json).unwrap();
                    assert!(c.lnoc && c.ln && c.headers && c.lang.is_empty(), "{c:?}");
                }
                seen.push((conn, op));
            }
            assert!(buf.is_empty() && parser.at_frame_start(), "partial frame at the end");
            assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(data));
        }
    }
    let has = |conn: usize, want: &RouteOp| seen.iter().any(|(c, op)| *c == conn && op == want);
    // The $SYS pinned route: no account field, the pinned account on every frame.
    assert!(seen.iter().any(|(c, op)| *c == 1
        && matches!(op, RouteOp::Msg(m) if m.account() == b"$SYS" && m.subject().ends_with(b".STATSZ"))));
    assert!(seen.iter().any(
        |(c, op)| *c == 1 && matches!(op, RouteOp::RsPlus { account, .. } if account == "$SYS")
    ));
    // The pooled route carrying $G.
    assert!(has(4, &msg("$G", "foo.bar", None, None, 0, "hello")));
    assert!(has(4, &msg("$G", "foo.baz", Some("rep.1"), None, 0, "hi")));
    assert!(has(4, &msg("$G", "work", None, Some("grp"), 0, "x")));
    assert!(has(4, &msg("$G", "work", Some("r2"), Some("grp"), 0, "y")));
    assert!(seen.iter().any(|(c, op)| *c == 4
        && matches!(op, RouteOp::Msg(m) if m.subject() == b"foo.hdr" && m.header_len() == 18)));
    let weights: Vec<_> = seen
        .iter()
        .filter_map(|(c, op)| match op {
            RouteOp::RsPlus { subject, queue: Some((_, w)), .. }
                if *c == 4 && subject == "work" =>
            {
                Some(*w)
            }
            _ => None,
        })
        .collect();
    assert_eq!(weights, [1, 2, 1]);
    assert!(has(4, &rs_minus("$G", "work", Some("grp"))));
    assert!(has(4, &rs_minus("$G", "foo.*", None)));
}

/// Our wire form of `op` (INFO keeps its argument as received, so the initial INFO's space
/// comes back too).
fn reencode(op: &RouteOp, pinned: bool, out: &mut BytesMut) {
    match op {
        RouteOp::Info(json) => route::info(out, json),
        RouteOp::Connect(json) => route::connect(out, json),
        RouteOp::Ping => out.extend_from_slice(b"PING\r\n"),
        RouteOp::Pong => out.extend_from_slice(b"PONG\r\n"),
        RouteOp::RsPlus { account, subject, queue } => {
            let queue = queue.as_ref().map(|(q, w)| (&q[..], u32::try_from(*w).unwrap()));
            if pinned {
                route::rs_plus_pinned(out, subject, queue);
            } else {
                route::rs_plus(out, account, subject, queue);
            }
        }
        RouteOp::RsMinus { account, subject, queue } => {
            if pinned {
                route::rs_minus_pinned(out, subject, queue.as_deref());
            } else {
                route::rs_minus(out, account, subject, queue.as_deref());
            }
        }
        RouteOp::Msg(m) => {
            let (reply, queues) = (m.reply(), m.queue_names());
            match (pinned, m.header_len()) {
                (false, 0) => {
                    route::rmsg(out, m.account(), m.subject(), reply, queues, m.payload())
                }
                (false, h) => {
                    route::hmsg(out, m.account(), m.subject(), reply, queues, h, m.payload());
                }
                (true, 0) => route::rmsg_pinned(out, m.subject(), reply, queues, m.payload()),
                (true, h) => route::hmsg_pinned(out, m.subject(), reply, queues, h, m.payload()),
            }
        }
        other => panic!("unexpected op in the capture: {other:?}"),
    }
}
