//! Structured inputs for the fuzz targets: `arbitrary` generators that build valid-looking
//! inputs (client op sequences with edge values, sublist scripts, multi-file configurations)
//! and hand them to the property checks in `strait_core::fuzzing` and `strait_conf::fuzzing`.
//! Keeping them here keeps `arbitrary` out of the core and conf builds.

use std::collections::HashMap;

use arbitrary::Arbitrary;
use bytes::Bytes;
use strait_core::fuzzing::SublistOp;
use strait_core::proto::client::{ClientOp, Limits, Publish};
use strait_core::sublist::CACHE_MAX;

/// Replace the bytes a protocol token cannot hold, so a generated token is written as is.
fn token(raw: &[u8]) -> Bytes {
    let t: Vec<u8> =
        raw.iter().take(40).map(|b| if b" \t\r\n".contains(b) { b'_' } else { *b }).collect();
    if t.is_empty() { Bytes::from_static(b"x") } else { Bytes::from(t) }
}

/// A protocol token: a typical one, or arbitrary bytes made writable.
#[derive(Debug, Arbitrary)]
enum Token {
    Known(u8),
    Raw(Vec<u8>),
}

impl Token {
    fn bytes(&self) -> Bytes {
        const KNOWN: &[&str] = &[
            "foo",
            "foo.bar",
            "*",
            ">",
            "foo.*.>",
            "_INBOX.abc",
            "$SYS.REQ",
            "1",
            "0",
            "q",
            "a..b",
            ".",
            "foo.",
            "_R_.x",
            "$G",
        ];
        match self {
            Token::Known(i) => Bytes::from_static(KNOWN[*i as usize % KNOWN.len()].as_bytes()),
            Token::Raw(raw) => token(raw),
        }
    }
}

/// Where an op's control-line argument ends up relative to `max_control_line`.
#[derive(Debug, Arbitrary)]
enum Fill {
    Below,
    At,
    Above,
}

/// A payload: given bytes, or a size at the edge of `max_payload`.
#[derive(Debug, Arbitrary)]
enum Payload {
    Bytes(Vec<u8>),
    Empty,
    BelowMax,
    AtMax,
    AboveMax,
}

impl Payload {
    fn bytes(&self, limits: Limits) -> Bytes {
        let n = match self {
            Payload::Bytes(b) => return Bytes::copy_from_slice(b),
            Payload::Empty => 0,
            Payload::BelowMax => limits.max_payload.saturating_sub(1),
            Payload::AtMax => limits.max_payload,
            Payload::AboveMax => limits.max_payload + 1,
        };
        Bytes::from(vec![b'p'; n.min(1 << 21)])
    }
}

/// A CONNECT/INFO/-ERR argument.
#[derive(Debug, Arbitrary)]
enum Arg {
    Empty,
    Object { verbose: bool, pedantic: bool, headers: bool, echo: bool, name: Token },
    Raw(Vec<u8>),
}

impl Arg {
    fn bytes(&self) -> Bytes {
        match self {
            Arg::Empty => Bytes::new(),
            Arg::Object { verbose, pedantic, headers, echo, name } => Bytes::from(format!(
                r#"{{"verbose":{verbose},"pedantic":{pedantic},"headers":{headers},"echo":{echo},"name":{:?}}}"#,
                String::from_utf8_lossy(&name.bytes())
            )),
            Arg::Raw(raw) => {
                let mut a: Vec<u8> =
                    raw.iter().map(|b| if *b == b'\n' { b'_' } else { *b }).collect();
                while a.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                    a.remove(0);
                }
                while a.last() == Some(&b'\r') {
                    a.pop();
                }
                Bytes::from(a)
            }
        }
    }
}

/// One client op, with the edge values the parser must get right.
#[derive(Debug, Arbitrary)]
enum Op {
    Connect(Arg),
    Info(Arg),
    Err(Arg),
    Pub { subject: Token, reply: Option<Token>, payload: Payload, fill: Option<Fill> },
    Hpub { subject: Token, reply: Option<Token>, payload: Payload, header: u16, fill: Option<Fill> },
    Sub { subject: Token, queue: Option<Token>, sid: Token, fill: Option<Fill> },
    Unsub { sid: Token, max: Option<u32> },
    Ping,
    Pong,
    Ok,
}

/// Length of an op's control-line argument in canonical form (single spaces).
fn arg_len(op: &ClientOp) -> usize {
    let digits = |n: usize| n.to_string().len();
    match op {
        ClientOp::Pub(p) | ClientOp::Hpub(p) => {
            let p = p.message();
            let hdr = matches!(op, ClientOp::Hpub(_)).then(|| 1 + digits(p.header_len));
            p.subject.len()
                + p.reply.map_or(0, |r| r.len() + 1)
                + hdr.unwrap_or(0)
                + 1
                + digits(p.payload.len())
        }
        ClientOp::Sub { subject, queue, sid } => {
            subject.len() + queue.as_ref().map_or(0, |q| q.len() + 1) + 1 + sid.len()
        }
        _ => 0,
    }
}

impl Op {
    fn build(&self, limits: Limits) -> ClientOp {
        let publish = |subject: &Token, reply: &Option<Token>, payload: &Payload, header: u16| {
            let payload = payload.bytes(limits);
            let header_len = usize::from(header) % (payload.len() + 1);
            let reply = reply.as_ref().map(Token::bytes);
            Publish::new(&subject.bytes(), reply.as_deref(), header_len, &payload)
        };
        let (mut op, fill) = match self {
            Op::Connect(a) => (ClientOp::Connect(a.bytes()), &None),
            Op::Info(a) => (ClientOp::Info(a.bytes()), &None),
            Op::Err(a) => (ClientOp::Err(a.bytes()), &None),
            Op::Pub { subject, reply, payload, fill } => {
                (ClientOp::Pub(publish(subject, reply, payload, 0)), fill)
            }
            Op::Hpub { subject, reply, payload, header, fill } => {
                (ClientOp::Hpub(publish(subject, reply, payload, *header)), fill)
            }
            Op::Sub { subject, queue, sid, fill } => (
                ClientOp::Sub {
                    subject: subject.bytes(),
                    queue: queue.as_ref().map(Token::bytes),
                    sid: sid.bytes(),
                },
                fill,
            ),
            Op::Unsub { sid, max } => (
                ClientOp::Unsub {
                    sid: sid.bytes(),
                    max: max.map(|m| u64::from(m % 1_000_000_000)),
                },
                &None,
            ),
            Op::Ping => (ClientOp::Ping, &None),
            Op::Pong => (ClientOp::Pong, &None),
            Op::Ok => (ClientOp::Ok, &None),
        };
        if let Some(fill) = fill {
            // Pad the subject so the argument lands just below, at or just above the limit.
            let want = match fill {
                Fill::Below => limits.max_control_line.saturating_sub(1),
                Fill::At => limits.max_control_line,
                Fill::Above => limits.max_control_line + 1,
            };
            let pad = want.saturating_sub(arg_len(&op)).min(1 << 16);
            let padded = |subject: &[u8]| {
                let mut s = subject.to_vec();
                s.extend(std::iter::repeat_n(b's', pad));
                s
            };
            match &mut op {
                ClientOp::Pub(p) | ClientOp::Hpub(p) => {
                    let m = p.message();
                    *p = Publish::new(&padded(m.subject), m.reply, m.header_len, m.payload);
                }
                ClientOp::Sub { subject, .. } => *subject = Bytes::from(padded(subject)),
                _ => unreachable!("only payload ops and SUB have a fill"),
            }
        }
        op
    }
}

/// Parser limits: small ones (so edges are cheap to reach) or the defaults.
#[derive(Debug, Arbitrary)]
enum LimitsChoice {
    Small { control_line: u8, payload: u8 },
    Default,
}

/// A client op sequence for `strait_core::fuzzing::client_ops`: ops written in canonical form,
/// cut at arbitrary points, must parse back exactly, up to the first op past a limit.
#[derive(Debug, Arbitrary)]
pub struct ClientScript {
    limits: LimitsChoice,
    ops: Vec<Op>,
    cuts: Vec<u16>,
}

impl ClientScript {
    /// Build the ops and check them.
    pub fn run(&self) {
        let limits = match self.limits {
            LimitsChoice::Small { control_line, payload } => Limits {
                max_control_line: 8 + usize::from(control_line % 64),
                max_payload: usize::from(payload % 64),
            },
            LimitsChoice::Default => Limits::default(),
        };
        let ops: Vec<ClientOp> = self.ops.iter().map(|op| op.build(limits)).collect();
        let cuts: Vec<usize> = self.cuts.iter().map(|c| usize::from(*c)).collect();
        strait_core::fuzzing::client_ops(limits, &ops, &cuts);
    }
}

/// One token of a sublist subject: a tiny alphabet so patterns collide and overlap.
#[derive(Debug, Arbitrary)]
enum SubjectToken {
    A,
    B,
    C,
    Star,
    Gt,
    Empty,
    Odd(u8),
}

/// A subject of one to six tokens.
#[derive(Debug, Arbitrary)]
struct Subject(Vec<SubjectToken>);

impl Subject {
    fn bytes(&self) -> Bytes {
        const ODD: &[&str] = &["*a", "a>", "flood", "0", "ab", "b*", "\u{e9}", "a b"];
        let tokens: Vec<&str> = self
            .0
            .iter()
            .take(6)
            .map(|t| match t {
                SubjectToken::A => "a",
                SubjectToken::B => "b",
                SubjectToken::C => "c",
                SubjectToken::Star => "*",
                SubjectToken::Gt => ">",
                SubjectToken::Empty => "",
                SubjectToken::Odd(i) => ODD[*i as usize % ODD.len()],
            })
            .collect();
        if tokens.is_empty() { Bytes::from_static(b"a") } else { Bytes::from(tokens.join(".")) }
    }
}

/// A queue group name.
#[derive(Debug, Arbitrary)]
enum Queue {
    Q1,
    Q2,
    Empty,
}

impl Queue {
    fn bytes(q: &Option<Queue>) -> Option<Bytes> {
        q.as_ref().map(|q| match q {
            Queue::Q1 => Bytes::from_static(b"q1"),
            Queue::Q2 => Bytes::from_static(b"q2"),
            Queue::Empty => Bytes::new(),
        })
    }
}

#[derive(Debug, Arbitrary)]
enum SublistStep {
    Insert(Subject, Option<Queue>, u8),
    Remove(Subject, Option<Queue>, u8),
    Match(Subject),
    HasInterest(Subject),
    Subjects,
    Flood(u8),
}

/// A sublist script for `strait_core::fuzzing::sublist`: inserts, removes and matches with
/// queue groups and wildcards, compared with a naive model.
#[derive(Debug, Arbitrary)]
pub struct SublistScript {
    seed: u64,
    steps: Vec<SublistStep>,
}

impl SublistScript {
    /// Build the ops and check them.
    pub fn run(&self) {
        let ops: Vec<SublistOp> = self
            .steps
            .iter()
            .map(|s| match s {
                SublistStep::Insert(s, q, v) => {
                    SublistOp::Insert(s.bytes(), Queue::bytes(q), v % 8)
                }
                SublistStep::Remove(s, q, v) => {
                    SublistOp::Remove(s.bytes(), Queue::bytes(q), v % 8)
                }
                SublistStep::Match(s) => SublistOp::Match(s.bytes()),
                SublistStep::HasInterest(s) => SublistOp::HasInterest(s.bytes()),
                SublistStep::Subjects => SublistOp::Subjects,
                // Rarely a flood past the cache size: it is slow.
                SublistStep::Flood(n) if *n == 255 => SublistOp::Flood(CACHE_MAX + 8),
                SublistStep::Flood(n) => SublistOp::Flood(usize::from(*n % 16)),
            })
            .collect();
        strait_core::fuzzing::sublist(self.seed, &ops);
    }
}

/// A configuration key: an option Strait knows, a variable name, or something else.
#[derive(Debug, Arbitrary)]
enum Key {
    Known(u8),
    Var(u8),
    Raw(String),
}

impl Key {
    fn text(&self) -> String {
        const KNOWN: &[&str] = &[
            "port",
            "host",
            "listen",
            "server_name",
            "max_payload",
            "max_pending",
            "max_control_line",
            "debug",
            "trace",
            "authorization",
            "user",
            "password",
            "token",
            "timeout",
            "accounts",
            "users",
            "gateway",
            "name",
            "gateways",
            "url",
            "urls",
            "ping_interval",
            "ping_max",
            "write_deadline",
            "http_port",
            "tls",
            "cluster",
            "no_auth_user",
            "system_account",
            "reject_unknown_cluster",
            "connect_retries",
        ];
        match self {
            Key::Known(i) => KNOWN[*i as usize % KNOWN.len()].to_owned(),
            Key::Var(i) => format!("v{}", i % 4),
            Key::Raw(s) => {
                let k: String =
                    s.chars().filter(|c| c.is_alphanumeric() || *c == '_').take(12).collect();
                if k.is_empty() { "k".to_owned() } else { k }
            }
        }
    }
}

/// A value in the configuration language.
#[derive(Debug, Arbitrary)]
enum Value {
    Int(i64),
    Size(u16, u8),
    Duration(u16, u8),
    Bool(u8),
    Quoted(String),
    SingleQuoted(String),
    Bare(u8),
    Var(u8),
    Array(Vec<Value>),
    Map(Vec<(Key, Value)>),
    Raw(String),
}

impl Value {
    fn render(&self, out: &mut String, depth: usize) {
        use std::fmt::Write;
        match self {
            Value::Int(n) => write!(out, "{n}").unwrap(),
            Value::Size(n, s) => {
                const SUFFIX: &[&str] = &["", "k", "KB", "M", "mb", "G", "GiB", "T", "x"];
                write!(out, "{n}{}", SUFFIX[*s as usize % SUFFIX.len()]).unwrap();
            }
            Value::Duration(n, u) => {
                const UNIT: &[&str] = &["s", "ms", "m", "h", "us", "ns", "1s", "d"];
                write!(out, "\"{n}{}\"", UNIT[*u as usize % UNIT.len()]).unwrap();
            }
            Value::Bool(b) => {
                const BOOLS: &[&str] =
                    &["true", "false", "yes", "no", "on", "off", "TRUE", "enabled"];
                out.push_str(BOOLS[*b as usize % BOOLS.len()]);
            }
            Value::Quoted(s) => {
                out.push('"');
                for c in s.chars().take(24) {
                    match c {
                        '"' | '\\' => {
                            out.push('\\');
                            out.push(c);
                        }
                        '\n' => out.push_str("\\n"),
                        '$' => out.push_str("$v0"),
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            Value::SingleQuoted(s) => {
                out.push('\'');
                out.extend(s.chars().filter(|c| *c != '\'' && *c != '\n').take(24));
                out.push('\'');
            }
            Value::Bare(i) => {
                const BARE: &[&str] = &[
                    "localhost",
                    "127.0.0.1",
                    "0.0.0.0:4222",
                    "nats://gw:pw@127.0.0.1:7222",
                    "1s",
                    "2m",
                    "A",
                    "$G",
                    "[::1]",
                    "1.5",
                    "-1",
                    "0x10",
                ];
                out.push_str(BARE[*i as usize % BARE.len()]);
            }
            Value::Var(i) => write!(out, "$v{}", i % 4).unwrap(),
            Value::Array(items) if depth < 6 => {
                out.push('[');
                for (i, v) in items.iter().take(8).enumerate() {
                    if i > 0 {
                        out.push_str(if i % 2 == 0 { ", " } else { "\n" });
                    }
                    v.render(out, depth + 1);
                }
                out.push(']');
            }
            Value::Map(entries) if depth < 6 => {
                out.push_str("{\n");
                for (k, v) in entries.iter().take(8) {
                    out.push_str(&k.text());
                    out.push_str(": ");
                    v.render(out, depth + 1);
                    out.push('\n');
                }
                out.push('}');
            }
            Value::Array(_) | Value::Map(_) => out.push_str("deep"),
            Value::Raw(s) => out.extend(s.chars().filter(|c| *c != '\n').take(24)),
        }
    }
}

/// One line of a configuration file.
#[derive(Debug, Arbitrary)]
enum Entry {
    Set { key: Key, sep: u8, value: Value },
    Include { file: u8, quoted: bool },
    Comment(String),
    Blank,
}

/// A configuration file.
#[derive(Debug, Arbitrary)]
struct Doc(Vec<Entry>);

impl Doc {
    fn render(&self) -> String {
        let mut out = String::new();
        for e in self.0.iter().take(24) {
            match e {
                Entry::Set { key, sep, value } => {
                    out.push_str(&key.text());
                    out.push_str(["=", ": ", " ", " = ", ":"][*sep as usize % 5]);
                    value.render(&mut out, 0);
                    if sep % 7 == 0 {
                        out.push(';');
                    }
                }
                Entry::Include { file, quoted } => {
                    let name = format!("inc{}.conf", file % 4);
                    if *quoted {
                        out.push_str(&format!("include \"{name}\""));
                    } else {
                        out.push_str(&format!("include {name}"));
                    }
                }
                Entry::Comment(c) => {
                    out.push_str(if c.len() % 2 == 0 { "# " } else { "// " });
                    out.extend(c.chars().filter(|c| *c != '\n').take(24));
                }
                Entry::Blank => {}
            }
            out.push('\n');
        }
        out
    }
}

/// A configuration in several files with includes and variables, for
/// `strait_conf::fuzzing::parse_files`.
#[derive(Debug, Arbitrary)]
pub struct ConfScript {
    main: Doc,
    /// `inc0.conf` … `inc3.conf`.
    includes: Vec<Doc>,
    /// Environment variables `v0` … `v3` (as values in the language).
    env: Vec<(u8, Value)>,
}

impl ConfScript {
    /// Write the files and check them.
    pub fn run(&self) {
        let files: Vec<(String, String)> = self
            .includes
            .iter()
            .take(4)
            .enumerate()
            .map(|(i, d)| (format!("inc{i}.conf"), d.render()))
            .collect();
        let env: HashMap<String, String> = self
            .env
            .iter()
            .map(|(k, v)| {
                let mut text = String::new();
                v.render(&mut text, 3);
                (format!("v{}", k % 4), text)
            })
            .collect();
        strait_conf::fuzzing::parse_files(&self.main.render(), &files, &env);
    }
}
