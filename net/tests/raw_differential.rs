//! Differential wire tests: the same byte scripts sent to nats-server 2.15.1 and to strait over
//! fresh TCP connections, and the replies compared.
//!
//! A script is a list of byte chunks (written one by one, with a short pause between them so the
//! server sees them in separate reads), normally followed by the sentinel `PING\r\n`. The
//! transcript is everything the server sends until it closes the connection, bounded by
//! [`SCRIPT_TIMEOUT`]; to make the server close, we half-close our side once the sentinel is
//! answered. Reading to EOF rather than stopping at the sentinel's `PONG` keeps transcripts
//! deterministic: with `protocol:1` the server sends an INFO right *after* the first PONG, and a
//! script's own PINGs give PONGs of their own, so "stop at a PONG" would race.
//!
//! "Once the sentinel is answered" is made exact by a reference run against nats-server that
//! half-closes right after the sentinel (nats-server processes and flushes all input before it
//! acts on the EOF; checked with megabytes of queued output): the number of `PONG` frames it
//! produced is how many PONGs the compared runs wait for before half-closing. So a server that
//! drops output queued just before a client's EOF fails only the `eof_right_after_*` scripts,
//! which test exactly that. Whether the sentinel was answered, i.e. whether the server kept the
//! connection open through the script, is part of the transcript.
//!
//! Comparison: the transcript is split into frames (control lines, and `MSG`/`HMSG` with their
//! payloads); `INFO` frames are compared as JSON after dropping [`INFO_IGNORED`]; every other frame
//! byte for byte.
//!
//! `DUMP_TRANSCRIPTS=1 cargo test -p strait-net --test raw_differential -- --nocapture` prints
//! every nats-server transcript.

mod common;

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};

use common::{Kind, Server};

/// Bound for one script (connect, write, read to EOF).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between the chunks of a script, so that they arrive in separate reads.
const CHUNK_PAUSE: Duration = Duration::from_millis(10);
/// After this many consecutive timeouts the remaining scripts are not run against that server
/// (it has stopped answering; every further script would cost [`SCRIPT_TIMEOUT`]).
const MAX_CONSECUTIVE_TIMEOUTS: usize = 3;
/// The default `max_payload` of both servers.
const MAX_PAYLOAD: usize = 1024 * 1024;
/// The default `max_control_line` of both servers.
const MAX_CONTROL_LINE: usize = 4096;
/// Credentials of the auth-requiring servers.
const AUTH_FLAGS: &[&str] = &["--user", "a", "--pass", "b"];

/// INFO keys that legitimately differ between two servers, or between two runs of one server,
/// and are therefore not compared:
/// * `server_id`, `server_name`: a fresh nkey per start (and the name defaults to it);
/// * `version`, `go`, `git_commit`: build identification of the implementation;
/// * `host`, `port`: the listen address (random port);
/// * `client_id`, `client_ip`: per-connection counters and the peer address;
/// * `nonce`, `xkey`: random per connection / per start;
/// * `api_lvl`: the JetStream API level, informational for JetStream clients only (strait has
///   no JetStream, and a single-server plain client never acts on it);
/// * `connect_urls`: host:port lists (absent for a single server anyway).
///
/// Everything else (`proto`, `headers`, `max_payload`, `auth_required`, `connect_info`,
/// `remote_account`, `acc_is_sys`, `tls_*`, …) is compared, as is the framing of the line
/// (`INFO ` prefix, the space before CRLF).
const INFO_IGNORED: &[&str] = &[
    "server_id",
    "server_name",
    "version",
    "go",
    "git_commit",
    "host",
    "port",
    "client_id",
    "client_ip",
    "nonce",
    "xkey",
    "api_lvl",
    "connect_urls",
];

/// Deliberate differences listed in `docs/compat.md`: for the named script, strait must answer
/// with nats-server's transcript in which the first occurrence of `nats` is replaced by `strait`.
const DEVIATIONS: &[(&str, &str, &str)] = &[
    // "Message sizes are normalised": `PUB foo 005` is delivered as `MSG foo 1 5`.
    ("pub_size_leading_zeros", "MSG foo 1 005\r\n", "MSG foo 1 5\r\n"),
];

// ---------------------------------------------------------------------------------------------
// Tests

/// Every script gives the same transcript twice in a row on nats-server, once half-closing
/// right after the sentinel and once after its PONG: the scripts do not depend on timing, and
/// the two ways of ending agree. (A failure here is a bug in the script, not in strait.)
#[tokio::test]
async fn scripts_are_deterministic_on_nats_server() {
    let scripts = scripts();
    let plain = Server::start(Kind::NatsServer);
    let auth = Server::start_with(Kind::NatsServer, AUTH_FLAGS);
    let first = run_all(&scripts, &plain, &auth, None).await;
    let pongs = pong_counts(&first);
    let second = run_all(&scripts, &plain, &auth, Some(&pongs)).await;
    let mut report = String::new();
    for ((script, a), b) in scripts.iter().zip(&first).zip(&second) {
        if std::env::var_os("DUMP_TRANSCRIPTS").is_some() {
            println!("== {}\n{}", script.name, show(a));
        }
        if a.is_err() || b.is_err() || normalise(a) != normalise(b) {
            let _ =
                writeln!(report, "== {}\n  run 1:\n{}  run 2:\n{}", script.name, show(a), show(b));
        }
    }
    assert!(report.is_empty(), "nondeterministic scripts on nats-server:\n{report}");
}

/// strait answers every script exactly as nats-server does.
#[tokio::test]
async fn strait_matches_nats_server() {
    let scripts = scripts();
    let expected = {
        let plain = Server::start(Kind::NatsServer);
        let auth = Server::start_with(Kind::NatsServer, AUTH_FLAGS);
        let reference = run_all(&scripts, &plain, &auth, None).await;
        let pongs = pong_counts(&reference);
        let expected = run_all(&scripts, &plain, &auth, Some(&pongs)).await;
        (expected, pongs)
    };
    let (expected, pongs) = expected;
    let plain = Server::start(Kind::Strait);
    let auth = Server::start_with(Kind::Strait, AUTH_FLAGS);
    let got = run_all(&scripts, &plain, &auth, Some(&pongs)).await;

    let mut report = String::new();
    let mut failed = Vec::new();
    for ((script, want), got) in scripts.iter().zip(&expected).zip(&got) {
        if want.is_err() {
            panic!("{}: nats-server did not finish the script:\n{}", script.name, show(want));
        }
        let want = &apply_deviation(script.name, want);
        let want_frames = normalise(want);
        if normalise(got) != want_frames || got.is_err() {
            failed.push(script.name);
            let _ = writeln!(
                report,
                "== {}\n  script: {}\n  nats-server:\n{}  strait:\n{}",
                script.name,
                escape(&script.chunks.concat(), 300),
                show(want),
                show(got)
            );
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} scripts differ: {failed:?}\n{report}\n  strait log (tail):\n{}",
        failed.len(),
        scripts.len(),
        plain.log_tail()
    );
}

/// nats-server's transcript with the documented deviation for `name`, if any, applied.
fn apply_deviation(name: &str, transcript: &Transcript) -> Transcript {
    let Ok(bytes) = transcript else { return transcript.clone() };
    let Some((_, nats, strait)) = DEVIATIONS.iter().find(|d| d.0 == name) else {
        return transcript.clone();
    };
    let Some(at) = bytes.windows(nats.len()).position(|w| w == nats.as_bytes()) else {
        panic!("{name}: the deviation no longer applies: nats-server did not send {nats:?}");
    };
    let mut out = bytes[..at].to_vec();
    out.extend_from_slice(strait.as_bytes());
    out.extend_from_slice(&bytes[at + nats.len()..]);
    Ok(out)
}

#[test]
fn there_are_enough_scripts_with_unique_names() {
    let scripts = scripts();
    assert!(scripts.len() >= 50, "only {} scripts", scripts.len());
    let mut names: Vec<_> = scripts.iter().map(|s| s.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), scripts.len(), "duplicate script names");
    for (name, ..) in DEVIATIONS {
        assert!(names.contains(name), "deviation for unknown script {name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Scripts

/// How a script ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    /// Send the sentinel `PING\r\n`; half-close once it is answered (see [`Close`]); read to
    /// EOF.
    Sentinel,
    /// Send `PING\r\n` and half-close at once, in both runs: what a client sees that sends its
    /// last request together with its EOF (e.g. `printf 'PING\r\n' | nc`).
    EofRightAfterPing,
    /// Send nothing more and keep our side open: the server must close by itself.
    ServerCloses,
}

struct Script {
    name: &'static str,
    /// Run against the server started with [`AUTH_FLAGS`].
    auth: bool,
    chunks: Vec<Vec<u8>>,
    end: End,
}

/// `CONNECT` without verbose and pedantic, the usual start of a script.
const C: &str = r#"CONNECT {"verbose":false,"pedantic":false}\r\n"#;
/// `CONNECT` with headers and no-responders.
const CH: &str =
    r#"CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n"#;
/// `CONNECT` in verbose mode.
const CV: &str = r#"CONNECT {"verbose":true,"pedantic":false}\r\n"#;

/// Builds the script table. Chunks are written as raw strings in which the two-character
/// sequences `\r`, `\n` and `\t` stand for CR, LF and TAB (and nothing else is escaped).
struct Table(Vec<Script>);

impl Table {
    fn add(&mut self, name: &'static str, chunks: &[&str]) {
        self.push(name, false, chunks.iter().map(|c| unescape(c)).collect(), End::Sentinel);
    }

    fn auth(&mut self, name: &'static str, chunks: &[&str]) {
        self.push(name, true, chunks.iter().map(|c| unescape(c)).collect(), End::Sentinel);
    }

    fn push(&mut self, name: &'static str, auth: bool, chunks: Vec<Vec<u8>>, end: End) {
        self.0.push(Script { name, auth, chunks, end });
    }
}

fn scripts() -> Vec<Script> {
    let mut t = Table(Vec::new());
    let cat = |parts: &[&str]| parts.concat();

    // --- CONNECT variants
    t.add("connect_verbose", &[CV]);
    t.add("connect_quiet", &[C]);
    t.add("connect_empty_object_means_verbose", &[r#"CONNECT {}\r\n"#]);
    t.add("connect_without_space", &[r#"CONNECT{"verbose":false}\r\n"#]);
    t.add("connect_lowercase", &[r#"connect {"verbose":true}\r\n"#]);
    t.add("connect_bad_json", &[r#"CONNECT {"verbose":\r\n"#]);
    t.add("connect_empty", &[r#"CONNECT\r\n"#]);
    t.add("connect_json_array", &[r#"CONNECT [1,2]\r\n"#]);
    t.add("connect_trailing_garbage", &[r#"CONNECT {"verbose":false} x\r\n"#]);
    t.add("connect_wrong_type_verbose", &[r#"CONNECT {"verbose":"yes"}\r\n"#]);
    t.add("connect_wrong_type_protocol", &[r#"CONNECT {"verbose":false,"protocol":"1"}\r\n"#]);
    t.add("connect_protocol_1_info_after_pong", &[r#"CONNECT {"verbose":false,"protocol":1}\r\n"#]);
    t.add(
        "connect_protocol_1_info_only_after_first_pong",
        &[r#"CONNECT {"verbose":false,"protocol":1}\r\nPING\r\nPING\r\n"#],
    );
    t.add("connect_protocol_2", &[r#"CONNECT {"verbose":false,"protocol":2}\r\n"#]);
    t.add("connect_protocol_negative", &[r#"CONNECT {"verbose":false,"protocol":-1}\r\n"#]);
    t.add(
        "connect_no_responders_without_headers",
        &[r#"CONNECT {"verbose":false,"no_responders":true}\r\n"#],
    );
    t.add(
        "connect_unknown_keys_ignored",
        &[r#"CONNECT {"verbose":false,"foo":1,"bar":{"x":[1,"y"]},"lang":"rust"}\r\n"#],
    );
    t.add(
        "connect_keys_case_insensitive",
        &[r#"CONNECT {"VERBOSE":false,"Echo":false}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\n"#],
    );
    t.add("connect_account_field_refused", &[r#"CONNECT {"verbose":false,"account":"x"}\r\n"#]);
    t.add(
        "connect_twice_switches_verbose",
        &[cat(&[C, "SUB a 1\\r\\n", CV, "SUB b 2\\r\\n"]).as_str()],
    );
    t.add(
        "connect_pedantic_invalid_publish_subject",
        &[r#"CONNECT {"verbose":false,"pedantic":true}\r\nSUB foo.> 1\r\nPUB foo.* 2\r\nhi\r\nPUB foo..bar 0\r\n\r\n"#],
    );

    // --- no CONNECT at all: the defaults are verbose, pedantic, echo
    t.add("no_connect_defaults_verbose", &[r#"SUB foo 1\r\nPUB foo 2\r\nhi\r\nUNSUB 1\r\n"#]);
    t.add("no_connect_ping_only", &[]);
    t.push("eof_right_after_ping_still_answered", false, vec![unescape(C)], End::EofRightAfterPing);
    t.push(
        "eof_right_after_pub_still_delivered",
        false,
        vec![unescape(&[C, r#"SUB foo 1\r\nPUB foo 1\r\nx\r\n"#].concat())],
        End::EofRightAfterPing,
    );

    // --- PUB / SUB / UNSUB happy paths
    t.add("pub_sub_basic", &[cat(&[C, r#"SUB foo 1\r\nPUB foo 5\r\nhello\r\n"#]).as_str()]);
    t.add("pub_with_reply", &[cat(&[C, r#"SUB foo 1\r\nPUB foo bar 5\r\nhello\r\n"#]).as_str()]);
    t.add("pub_empty_payload", &[cat(&[C, r#"SUB foo 1\r\nPUB foo 0\r\n\r\n"#]).as_str()]);
    t.add(
        "pub_size_leading_zeros",
        &[cat(&[C, r#"SUB foo 1\r\nPUB foo 005\r\nhello\r\n"#]).as_str()],
    );
    t.add(
        "pub_payload_with_crlf_inside",
        &[cat(&[C, r#"SUB foo 1\r\nPUB foo 6\r\na\r\nb\r\n\r\n"#]).as_str()],
    );
    t.add(
        "pub_extra_whitespace",
        &[cat(&[C, r#"SUB   foo    1  \r\nPUB   foo   bar   2  \r\nhi\r\n"#]).as_str()],
    );
    t.add("pub_no_subscribers", &[cat(&[C, r#"PUB nobody 2\r\nhi\r\n"#]).as_str()]);
    t.add(
        "sub_wildcards",
        &[cat(&[
            C,
            r#"SUB foo.* 1\r\nSUB foo.> 2\r\nSUB > 3\r\nSUB foo.bar 4\r\nSUB *.*.* 5\r\n"#,
            r#"PUB foo.bar 1\r\na\r\nPUB foo.bar.baz 1\r\nb\r\nPUB foo 1\r\nc\r\n"#,
        ])
        .as_str()],
    );
    t.add(
        "sub_queue_and_plain",
        &[cat(&[C, r#"SUB foo q 1\r\nSUB foo 2\r\nPUB foo 1\r\nx\r\n"#]).as_str()],
    );
    t.add("sub_non_numeric_sid", &[cat(&[C, r#"SUB foo abc\r\nPUB foo 1\r\nx\r\n"#]).as_str()]);
    t.add(
        "sub_duplicate_sid_ignored",
        &[cat(&[CV, r#"SUB foo 1\r\nSUB bar 1\r\nPUB bar 1\r\nx\r\nPUB foo 1\r\ny\r\n"#]).as_str()],
    );
    t.add(
        "sub_wildcard_literal_tokens",
        &[cat(&[
            C,
            r#"SUB fo* 1\r\nSUB a>b 2\r\nPUB fo* 1\r\nx\r\nPUB a>b 1\r\ny\r\nPUB foo 1\r\nz\r\n"#,
        ])
        .as_str()],
    );
    t.add("unsub_basic", &[cat(&[C, r#"SUB foo 1\r\nUNSUB 1\r\nPUB foo 1\r\nx\r\n"#]).as_str()]);
    t.add(
        "unsub_max",
        &[cat(&[
            C,
            r#"SUB foo 1\r\nUNSUB 1 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\n"#,
        ])
        .as_str()],
    );
    t.add(
        "unsub_max_counts_from_creation",
        &[cat(&[C, r#"SUB foo 1\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nUNSUB 1 3\r\nPUB foo 1\r\nc\r\nPUB foo 1\r\nd\r\n"#]).as_str()],
    );
    t.add(
        "unsub_max_already_reached",
        &[cat(&[
            C,
            r#"SUB foo 1\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nUNSUB 1 1\r\nPUB foo 1\r\nc\r\n"#,
        ])
        .as_str()],
    );
    t.add(
        "unsub_max_zero",
        &[cat(&[C, r#"SUB foo 1\r\nUNSUB 1 0\r\nPUB foo 1\r\na\r\n"#]).as_str()],
    );
    t.add("unsub_unknown_sid", &[cat(&[CV, r#"UNSUB 99\r\n"#]).as_str()]);
    t.add(
        "verbose_ok_sequence",
        &[cat(&[
            CV,
            r#"SUB foo 1\r\nPUB foo 2\r\nhi\r\nUNSUB 1\r\nPUB foo 0\r\n\r\nPING\r\nPONG\r\n"#,
        ])
        .as_str()],
    );
    t.add(
        "echo_on_own_subscription",
        &[r#"CONNECT {"verbose":false,"echo":true}\r\nSUB foo 1\r\nPUB foo 1\r\nx\r\n"#],
    );
    t.add(
        "echo_off_own_subscription",
        &[r#"CONNECT {"verbose":false,"echo":false}\r\nSUB foo 1\r\nPUB foo 1\r\nx\r\n"#],
    );

    // --- malformed PUB
    t.add(
        "pub_payload_longer_than_size",
        &[cat(&[C, r#"SUB foo 1\r\nPUB foo 3\r\nabcd\r\n"#]).as_str()],
    );
    t.add(
        "pub_payload_shorter_than_size",
        &[cat(&[C, r#"SUB foo 1\r\nPUB foo 5\r\nabc\r\n"#]).as_str()],
    );
    t.add("pub_payload_bare_lf_terminator", &[cat(&[C, r#"PUB foo 3\r\nabc\n"#]).as_str()]);
    t.add("pub_size_not_a_number", &[cat(&[C, r#"PUB foo abc\r\n"#]).as_str()]);
    t.add("pub_size_negative", &[cat(&[C, r#"PUB foo -1\r\n"#]).as_str()]);
    t.add("pub_size_ten_digits", &[cat(&[C, r#"PUB foo 0000000001\r\nx\r\n"#]).as_str()]);
    t.add("pub_size_nine_digits_over_max", &[cat(&[C, r#"PUB foo 999999999\r\n"#]).as_str()]);
    t.add("pub_missing_size", &[cat(&[C, r#"PUB foo\r\n"#]).as_str()]);
    t.add("pub_no_args", &[cat(&[C, r#"PUB \r\n"#]).as_str()]);
    t.add("pub_no_space", &[cat(&[C, r#"PUB\r\n"#]).as_str()]);
    t.add("pub_too_many_args", &[cat(&[C, r#"PUB foo bar baz 3\r\nabc\r\n"#]).as_str()]);
    t.add("pubx_op", &[cat(&[C, r#"PUBX foo 1\r\nx\r\n"#]).as_str()]);
    t.add("pub_gr_subject", &[cat(&[CV, r#"SUB _GR_.> 1\r\nPUB _GR_.x 1\r\nx\r\n"#]).as_str()]);
    t.add(
        "pub_reply_reserved_r",
        &[cat(&[CV, r#"SUB foo 1\r\nPUB foo _R_.x 1\r\nx\r\n"#]).as_str()],
    );
    t.add(
        "pub_reply_reserved_js_ack",
        &[cat(&[CV, r#"SUB foo 1\r\nPUB foo $JS.ACK.x 1\r\nx\r\n"#]).as_str()],
    );
    t.add(
        "pub_reply_reserved_gr",
        &[cat(&[CV, r#"SUB foo 1\r\nPUB foo _GR_.x 1\r\nx\r\n"#]).as_str()],
    );
    t.add(
        "pub_invalid_subject_non_pedantic",
        &[cat(&[CV, r#"SUB foo.> 1\r\nPUB foo..bar 1\r\nx\r\nPUB foo. 1\r\ny\r\n"#]).as_str()],
    );

    // --- malformed SUB / UNSUB
    t.add(
        "sub_invalid_subject_empty_token",
        &[cat(&[CV, r#"SUB foo..bar 1\r\nSUB .foo 2\r\nSUB foo. 3\r\n"#]).as_str()],
    );
    t.add("sub_gt_not_last", &[cat(&[CV, r#"SUB foo.>.bar 1\r\n"#]).as_str()]);
    t.add("sub_missing_sid", &[cat(&[C, r#"SUB foo\r\n"#]).as_str()]);
    t.add("sub_too_many_args", &[cat(&[C, r#"SUB foo q 1 x\r\n"#]).as_str()]);
    t.add("sub_no_space", &[cat(&[C, r#"SUB\r\n"#]).as_str()]);
    t.add("unsub_no_args", &[cat(&[C, r#"UNSUB \r\n"#]).as_str()]);
    t.add("unsub_too_many_args", &[cat(&[C, r#"UNSUB 1 2 3\r\n"#]).as_str()]);
    t.add("unsub_underscore_op", &[cat(&[C, r#"UNSUB_1\r\n"#]).as_str()]);

    // --- HPUB
    t.add(
        "hpub_basic",
        &[cat(&[CH, r#"SUB foo 1\r\nHPUB foo 22 27\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello\r\n"#])
            .as_str()],
    );
    t.add(
        "hpub_with_reply",
        &[cat(&[CH, r#"SUB foo 1\r\nHPUB foo rep 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"#]).as_str()],
    );
    t.add(
        "hpub_header_size_zero",
        &[cat(&[CH, r#"SUB foo 1\r\nHPUB foo 0 5\r\nhello\r\n"#]).as_str()],
    );
    t.add(
        "hpub_without_headers_negotiated",
        &[cat(&[C, r#"SUB foo 1\r\nHPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n"#]).as_str()],
    );
    t.add("hpub_header_larger_than_total", &[cat(&[CH, r#"HPUB foo 22 10\r\n"#]).as_str()]);
    t.add("hpub_missing_total", &[cat(&[CH, r#"HPUB foo 12\r\n"#]).as_str()]);
    t.add("hpub_too_many_args", &[cat(&[CH, r#"HPUB foo a b 12 12\r\n"#]).as_str()]);
    t.add("hpub_bad_header_size", &[cat(&[CH, r#"HPUB foo x 12\r\n"#]).as_str()]);
    // --- op recognition
    t.add("unknown_op", &[cat(&[C, r#"FOO bar\r\n"#]).as_str()]);
    t.add(
        "lowercase_ops",
        &[cat(&[C, r#"sub foo 1\r\npub foo 2\r\nhi\r\nping\r\nunsub 1\r\n"#]).as_str()],
    );
    t.add(
        "mixed_case_ops",
        &[cat(&[C, r#"SuB foo 1\r\npUb foo 2\r\nhi\r\nPiNg\r\nuNsUb 1\r\n"#]).as_str()],
    );
    t.add(
        "tabs_as_separators",
        &[cat(&[C, r#"SUB\tfoo\t1\r\nPUB\tfoo\tbar\t2\r\nhi\r\n"#]).as_str()],
    );
    t.add("bare_lf_line_ends", &[cat(&[C, r#"SUB foo 1\nPUB foo 2\nhi\r\nPING\n"#]).as_str()]);
    t.add("ping_with_suffix", &[cat(&[C, r#"PINGxyz\r\nPING  \r\n"#]).as_str()]);
    t.add("pong_from_client_ignored", &[cat(&[C, r#"PONG\r\n"#]).as_str()]);
    t.add("leading_space_before_op", &[cat(&[C, r#" PING\r\n"#]).as_str()]);
    t.add("empty_line", &[cat(&[C, r#"\r\n"#]).as_str()]);
    t.add("msg_from_client", &[cat(&[C, r#"MSG foo 1 2\r\nhi\r\n"#]).as_str()]);
    t.add(
        "hmsg_from_client",
        &[cat(&[CH, r#"HMSG foo 1 12 12\r\nNATS/1.0\r\n\r\n\r\n"#]).as_str()],
    );
    t.add(
        "info_from_client_valid",
        &[cat(&[C, r#"INFO {"server_id":"x","port":1}\r\n"#]).as_str()],
    );
    t.add("info_from_client_invalid", &[cat(&[C, r#"INFO {bad\r\n"#]).as_str()]);
    t.add("err_from_client_closes", &[cat(&[C, r#"-ERR 'oops'\r\n"#]).as_str()]);
    t.add("ok_from_client_ignored", &[cat(&[C, r#"+OK\r\n"#]).as_str()]);

    // --- control line limit (the argument after the op and its separator is measured)
    let sub_of_len = |arg_len: usize| {
        // `SUB <subject> 1`: the argument is `<subject> 1`.
        format!("SUB {} 1\r\n", "a".repeat(arg_len - 2))
    };
    t.push(
        "control_line_exactly_max",
        false,
        vec![unescape(CV), sub_of_len(MAX_CONTROL_LINE).into_bytes()],
        End::Sentinel,
    );
    t.push(
        "control_line_max_plus_one",
        false,
        vec![unescape(CV), sub_of_len(MAX_CONTROL_LINE + 1).into_bytes()],
        End::Sentinel,
    );
    t.push(
        "control_line_partial_overlong_without_newline",
        false,
        vec![unescape(C), format!("PUB {}", "a".repeat(MAX_CONTROL_LINE + 100)).into_bytes()],
        End::ServerCloses,
    );
    t.push(
        "connect_overlong",
        false,
        vec![
            format!(r#"CONNECT {{"verbose":false,"name":"{}"}}"#, "n".repeat(MAX_CONTROL_LINE))
                .into_bytes(),
        ],
        End::Sentinel,
    );

    // --- payload limit
    let mut exact = unescape(C);
    exact.extend_from_slice(format!("PUB foo {MAX_PAYLOAD}\r\n").as_bytes());
    exact.extend(std::iter::repeat_n(b'p', MAX_PAYLOAD));
    exact.extend_from_slice(b"\r\n");
    t.push("payload_exactly_max", false, vec![exact], End::Sentinel);
    let mut exact_hdr = unescape(CH);
    exact_hdr
        .extend_from_slice(format!("HPUB foo 12 {MAX_PAYLOAD}\r\nNATS/1.0\r\n\r\n").as_bytes());
    exact_hdr.extend(std::iter::repeat_n(b'p', MAX_PAYLOAD - 12));
    exact_hdr.extend_from_slice(b"\r\n");
    t.push("hpub_total_exactly_max", false, vec![exact_hdr], End::Sentinel);
    t.add(
        "payload_max_plus_one",
        &[cat(&[C, &format!("PUB foo {}\\r\\n", MAX_PAYLOAD + 1)]).as_str()],
    );
    t.add(
        "hpub_total_max_plus_one",
        &[cat(&[CH, &format!("HPUB foo 12 {}\\r\\n", MAX_PAYLOAD + 1)]).as_str()],
    );

    // --- split writes
    t.add(
        "split_pub_everywhere",
        &[C, "SUB foo 1\\r\\nPUB fo", "o 5\\r\\nhel", "lo", "\\r", "\\n"],
    );
    t.add("split_connect", &[r#"CONN"#, r#"ECT {"verbose":true"#, r#"}\r"#, r#"\n"#]);
    t.add("split_ping_crlf", &[C, "PI", "NG\\r", "\\n"]);
    t.add(
        "split_hpub",
        &[CH, "SUB foo 1\\r\\nHPUB foo 12", " 14\\r\\nNATS/1.", "0\\r\\n\\r\\nh", "i\\r\\n"],
    );
    let bytewise: Vec<String> =
        "SUB foo 1\r\nPUB foo 1\r\nx\r\n".chars().map(String::from).collect();
    let mut chunks = vec![unescape(C)];
    chunks.extend(bytewise.into_iter().map(String::into_bytes));
    t.push("split_byte_by_byte", false, chunks, End::Sentinel);

    // --- no responders
    t.add(
        "no_responders_503",
        &[cat(&[CH, r#"SUB reply.1 1\r\nPUB nobody.1 reply.1 0\r\n\r\n"#]).as_str()],
    );
    t.add(
        "no_responders_503_with_payload_and_hpub",
        &[cat(&[CH, r#"SUB reply.2 1\r\nHPUB nobody.2 reply.2 12 15\r\nNATS/1.0\r\n\r\nabc\r\n"#])
            .as_str()],
    );
    t.add(
        "no_responders_wildcard_reply_subscription",
        &[cat(&[CH, r#"SUB reply.* 7\r\nPUB nobody.3 reply.3 1\r\nx\r\n"#]).as_str()],
    );
    t.add(
        "no_responders_queue_reply_subscription",
        &[cat(&[CH, r#"SUB reply.4 q 7\r\nPUB nobody.4 reply.4 1\r\nx\r\n"#]).as_str()],
    );
    t.add(
        "no_responders_not_requested",
        &[r#"CONNECT {"verbose":false,"headers":true}\r\nSUB reply.5 1\r\nPUB nobody.5 reply.5 0\r\n\r\n"#],
    );
    t.add(
        "no_responders_but_responder_exists",
        &[cat(&[CH, r#"SUB reply.6 1\r\nSUB svc.6 2\r\nPUB svc.6 reply.6 1\r\nx\r\n"#]).as_str()],
    );

    // --- auth (server started with --user a --pass b)
    t.auth("auth_pub_without_connect", &[r#"PUB foo 1\r\nx\r\n"#]);
    t.auth("auth_ping_without_connect", &[]);
    t.auth("auth_wrong_pass", &[r#"CONNECT {"verbose":false,"user":"a","pass":"x"}\r\n"#]);
    t.auth("auth_wrong_user", &[r#"CONNECT {"verbose":false,"user":"x","pass":"b"}\r\n"#]);
    t.auth("auth_missing_credentials", &[r#"CONNECT {"verbose":false}\r\n"#]);
    t.auth("auth_token_instead_of_user", &[r#"CONNECT {"verbose":false,"auth_token":"b"}\r\n"#]);
    t.auth(
        "auth_right_pass",
        &[r#"CONNECT {"verbose":true,"user":"a","pass":"b"}\r\nSUB foo 1\r\nPUB foo 1\r\nx\r\n"#],
    );
    t.auth(
        "auth_right_pass_protocol_1",
        &[r#"cOnNeCt {"verbose":false,"user":"a","pass":"b","protocol":1}\r\n"#],
    );
    t.auth("auth_bad_json", &[r#"CONNECT {"user":"a",\r\n"#]);

    t.0
}

// ---------------------------------------------------------------------------------------------
// Running

/// What a script produced: the bytes received until EOF, or the failure with the bytes so far.
type Transcript = Result<Vec<u8>, (String, Vec<u8>)>;

/// How a run ends a script that ends with [`End::Sentinel`].
#[derive(Clone, Copy)]
enum Close {
    /// Half-close right after the sentinel `PING` (the reference run, see the module docs).
    Immediately,
    /// Half-close once the transcript holds this many `PONG` frames (or the server closed):
    /// the number the reference run produced, so the sentinel has been answered before our EOF
    /// reaches the server.
    AfterPongs(usize),
}

/// Runs every script, one at a time (scripts share the two servers, and the no-responders ones
/// depend on nobody else subscribing). `pongs` holds the `PONG` counts of a reference run; without
/// it this is the reference run.
async fn run_all(
    scripts: &[Script],
    plain: &Server,
    auth: &Server,
    pongs: Option<&[usize]>,
) -> Vec<Transcript> {
    let mut out = Vec::with_capacity(scripts.len());
    let mut timeouts = 0;
    for (i, script) in scripts.iter().enumerate() {
        if timeouts >= MAX_CONSECUTIVE_TIMEOUTS {
            out.push(Err(("not run: the server stopped answering".to_owned(), Vec::new())));
            continue;
        }
        let server = if script.auth { auth } else { plain };
        let close = match (script.end, pongs) {
            (End::Sentinel, Some(pongs)) => Close::AfterPongs(pongs[i]),
            _ => Close::Immediately,
        };
        let transcript = run(script, server, close).await;
        match &transcript {
            Err((why, _)) if why.starts_with("timeout") => timeouts += 1,
            _ => timeouts = 0,
        }
        out.push(transcript);
    }
    out
}

/// The number of `PONG` frames in each transcript.
fn pong_counts(transcripts: &[Transcript]) -> Vec<usize> {
    transcripts
        .iter()
        .map(|t| {
            let bytes = match t {
                Ok(b) | Err((_, b)) => b,
            };
            split_frames(bytes).into_iter().filter(|f| *f == b"PONG\r\n").count()
        })
        .collect()
}

async fn run(script: &Script, server: &Server, close: Close) -> Transcript {
    let mut got = Vec::new();
    match timeout(SCRIPT_TIMEOUT, exchange(script, server, close, &mut got)).await {
        Ok(Ok(())) => Ok(got),
        Ok(Err(e)) => Err((format!("i/o error: {e}"), got)),
        Err(_) => Err((format!("timeout after {SCRIPT_TIMEOUT:?} without EOF"), got)),
    }
}

async fn exchange(
    script: &Script,
    server: &Server,
    close: Close,
    got: &mut Vec<u8>,
) -> std::io::Result<()> {
    let stream = TcpStream::connect(server.addr()).await?;
    stream.set_nodelay(true)?;
    let (mut rd, mut wr) = stream.into_split();
    let (answered_tx, answered_rx) = tokio::sync::oneshot::channel::<()>();
    // Read concurrently with writing, so a server that answers while we write (or closes early)
    // cannot deadlock us on full socket buffers.
    let reader = async {
        let mut answered_tx = Some(answered_tx);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match rd.read(&mut buf).await {
                Ok(n) => n,
                // A server that closes with unread input resets the connection; the bytes it sent
                // before are still delivered first, so a reset is an EOF here.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(());
            }
            got.extend_from_slice(&buf[..n]);
            if let Close::AfterPongs(want) = close {
                let pongs = split_frames(got).into_iter().filter(|f| *f == b"PONG\r\n").count();
                if pongs >= want
                    && let Some(tx) = answered_tx.take()
                {
                    let _ = tx.send(());
                }
            }
        }
    };
    let writer = async {
        for (i, chunk) in script.chunks.iter().enumerate() {
            if i > 0 {
                sleep(CHUNK_PAUSE).await;
            }
            if wr.write_all(chunk).await.is_err() {
                // The server closed early; what it said is in the transcript.
                return;
            }
        }
        if script.end == End::ServerCloses {
            // Keep our half open; the select below ends when the reader sees the server's EOF.
            std::future::pending::<()>().await;
        }
        if !script.chunks.is_empty() {
            sleep(CHUNK_PAUSE).await;
        }
        if wr.write_all(b"PING\r\n").await.is_err() {
            return;
        }
        if let (End::Sentinel, Close::AfterPongs(_)) = (script.end, close) {
            // Ends early (sender dropped) if the server closes first.
            let _ = answered_rx.await;
        }
        let _ = wr.shutdown().await;
    };
    tokio::pin!(writer);
    tokio::pin!(reader);
    tokio::select! {
        biased;
        r = &mut reader => r,
        () = &mut writer => reader.await,
    }
}

// ---------------------------------------------------------------------------------------------
// Comparing

/// The frames of a transcript, normalised for comparison, plus how it ended.
fn normalise(t: &Transcript) -> Vec<Vec<u8>> {
    let (bytes, tail) = match t {
        Ok(b) => (b, None),
        Err((why, b)) => (b, Some(why.clone().into_bytes())),
    };
    let mut frames: Vec<Vec<u8>> = split_frames(bytes).into_iter().map(normalise_frame).collect();
    sort_copies_of_one_message(&mut frames);
    if let Some(why) = tail {
        frames.push(why);
    }
    frames
}

/// Splits server output into frames: control lines (with their CRLF), and `MSG`/`HMSG` lines
/// together with their payload and its CRLF. An incomplete tail is one last frame.
fn split_frames(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let Some(eol) = bytes.windows(2).position(|w| w == b"\r\n") else {
            frames.push(bytes);
            break;
        };
        let line = &bytes[..eol];
        let mut len = eol + 2;
        if line.starts_with(b"MSG ") || line.starts_with(b"HMSG ") {
            let size = line
                .rsplit(|&b| b == b' ')
                .next()
                .and_then(|s| std::str::from_utf8(s).ok())
                .and_then(|s| s.parse::<usize>().ok());
            if let Some(size) = size {
                len = (len + size + 2).min(bytes.len());
            }
        }
        frames.push(&bytes[..len]);
        bytes = &bytes[len..];
    }
    frames
}

/// One publish matching several subscriptions of a connection gives one `MSG` per subscription,
/// in an order the protocol leaves open (nats-server's follows its subscription index). So runs
/// of consecutive `MSG`/`HMSG` frames that differ only in the sid are sorted; the order of
/// different messages is still compared.
fn sort_copies_of_one_message(frames: &mut [Vec<u8>]) {
    fn without_sid(frame: &[u8]) -> Option<Vec<u8>> {
        if !(frame.starts_with(b"MSG ") || frame.starts_with(b"HMSG ")) {
            return None;
        }
        let eol = frame.iter().position(|&b| b == b'\r')?;
        let mut key: Vec<&[u8]> = frame[..eol].split(|&b| b == b' ').collect();
        if key.len() < 4 {
            return None;
        }
        key.remove(2);
        let mut out = key.join(&b' ');
        out.extend_from_slice(&frame[eol..]);
        Some(out)
    }
    let mut start = 0;
    while start < frames.len() {
        let key = without_sid(&frames[start]);
        let mut end = start + 1;
        while key.is_some() && end < frames.len() && without_sid(&frames[end]) == key {
            end += 1;
        }
        frames[start..end].sort();
        start = end;
    }
}

/// `INFO` frames: the JSON without [`INFO_IGNORED`], re-serialised with sorted keys, keeping the
/// exact framing around it. Other frames unchanged.
fn normalise_frame(frame: &[u8]) -> Vec<u8> {
    let Some(rest) = frame.strip_prefix(b"INFO ") else {
        return frame.to_vec();
    };
    let Some(body) = rest.strip_suffix(b"\r\n") else {
        return frame.to_vec();
    };
    let (json, trailer): (&[u8], &[u8]) = match body.strip_suffix(b" ") {
        Some(j) => (j, b" \r\n"),
        None => (body, b"\r\n"),
    };
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(json) else {
        return frame.to_vec();
    };
    for key in INFO_IGNORED {
        map.remove(*key);
    }
    // serde_json's map is ordered by key, so this is canonical.
    let mut out = b"INFO ".to_vec();
    out.extend_from_slice(Value::Object(map).to_string().as_bytes());
    out.extend_from_slice(trailer);
    out
}

/// A transcript for humans: one escaped frame per line (INFO normalised), then the outcome.
fn show(t: &Transcript) -> String {
    let (bytes, end) = match t {
        Ok(b) => (b, "closed by server after the script".to_owned()),
        Err((why, b)) => (b, format!("FAILED: {why}")),
    };
    let frames = split_frames(bytes);
    let mut out = String::new();
    for f in &frames {
        // INFO as compared (without the ignored keys), so the report shows what differs.
        let _ = writeln!(out, "    {}", escape(&normalise_frame(f), 400));
    }
    let answered = match frames.as_slice() {
        [.., b"PONG\r\n"] => true,
        [.., b"PONG\r\n", last] => last.starts_with(b"INFO "),
        _ => false,
    };
    let _ =
        writeln!(out, "    <{end}; sentinel PING {}answered>", if answered { "" } else { "not " });
    out
}

/// Escapes bytes for display, eliding the middle of long frames.
fn escape(bytes: &[u8], max: usize) -> String {
    if bytes.len() <= max {
        return bytes.escape_ascii().to_string();
    }
    format!(
        "{}…<{} bytes>…{}",
        bytes[..max / 2].escape_ascii(),
        bytes.len() - max,
        bytes[bytes.len() - 20..].escape_ascii()
    )
}

/// Turns the two-character sequences `\r`, `\n`, `\t` into CR, LF, TAB.
fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(other) => out.extend_from_slice(&[b'\\', other]),
            None => out.push(b'\\'),
        }
    }
    out
}
