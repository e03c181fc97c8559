//! Command-line flags, read exactly as nats-server 2.15.1 reads them.
//!
//! nats-server parses its command line with Go's `flag` package, whose grammar no
//! general-purpose Rust parser reproduces: `-config` and `--config` are the same flag (one or
//! two dashes), a value follows as the next argument or after `=`, a boolean takes only the
//! `=` form (`-tls=false`), single-letter flags never combine (`-DV` is a flag of its own, and
//! `-tls` is the flag `tls`, not `-t -l -s`), and parsing stops at the first argument that is
//! not a flag or after `--`. [`FLAGS`] is the set nats-server defines (`ConfigureOptions` in
//! server/opts.go); an unknown flag is an error, never another meaning.
//!
//! Strait serves most flags as nats-server does; [`Args::refusals`] lists the ones it cannot
//! honour (JetStream, syslog, …), which the daemon refuses at start, and
//! [`Args::ignored`] the harmless ones it accepts without effect.

pub mod cluster;
mod go_values;
mod usage;

use std::path::PathBuf;

pub use usage::{TLS_USAGE, USAGE};

/// The flags as given on the command line.
///
/// Fields are `None`/`false` when the flag was not given, so the configuration file keeps its
/// value; a flag that was given overrides the file, as in nats-server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    /// `-a`, `--addr`, `--net`: host to bind.
    pub addr: Option<String>,
    /// `-p`, `--port`: client port (-1 random, 0 default).
    pub port: Option<i32>,
    /// `-n`, `--name`, `--server_name`.
    pub name: Option<String>,
    /// `--client_advertise`: the client URL told to cluster peers.
    pub client_advertise: Option<String>,
    /// `-P`, `--pid`: file to write the pid to.
    pub pid: Option<PathBuf>,
    /// `-m`, `--http_port`: monitoring port.
    pub http_port: Option<i32>,
    /// `-ms`, `--https_port`: refused unless 0.
    pub https_port: Option<i32>,
    /// `-c`, `--config` (an empty value means none, as in nats-server).
    pub config: Option<PathBuf>,
    /// `-t`: check the configuration file and exit.
    pub test_config: bool,
    /// `-sl`, `--signal`: signal a running server and exit (an empty value means none).
    pub signal: Option<String>,
    /// `--ports_file_dir`: refused unless empty.
    pub ports_file_dir: Option<String>,

    /// `-l`, `--log`: log file.
    pub log: Option<PathBuf>,
    /// `-T`, `--logtime`: timestamps (default true; `-T=false` turns them off).
    pub logtime: Option<bool>,
    /// `--logtime_utc`: Strait's timestamps are always UTC.
    pub logtime_utc: bool,
    /// `-s`, `--syslog`: refused unless false.
    pub syslog: bool,
    /// `-r`, `--remote_syslog`: refused unless empty.
    pub remote_syslog: Option<String>,
    /// Debug logging from `-D`/`--debug`/`-DV`/`-DVV` (meaningful when `debug_given`).
    pub debug: bool,
    /// Whether a flag set `debug` (`-D=false` turns off the file's `debug: true`).
    pub debug_given: bool,
    /// Trace logging from `-V`/`--trace`/`-VV`/`-DV`/`-DVV` (meaningful when `trace_given`).
    pub trace: bool,
    /// Whether a flag set `trace`.
    pub trace_given: bool,
    /// `-VV`/`-DVV`: also trace the system account (Strait has none, so same as trace).
    pub trace_verbose: bool,
    /// `--log_size_limit`: refused unless 0.
    pub log_size_limit: Option<i64>,
    /// `--max_traced_msg_len`: traced payloads are cut after this many bytes (0 or less: no
    /// limit); overrides the file.
    pub max_traced_msg_len: Option<i64>,

    /// `-js`, `--jetstream`: refused unless false.
    pub jetstream: bool,
    /// `-sd`, `--store_dir`: refused unless empty.
    pub store_dir: Option<String>,

    /// `--user`.
    pub user: Option<String>,
    /// `--pass`.
    pub pass: Option<String>,
    /// `--auth`: token.
    pub auth: Option<String>,

    /// `--tls` as given (see `tls_override` for what the TLS flags mean together).
    pub tls: bool,
    /// `None`: no TLS flag, the file's client `tls {}` stands. `Some(false)`: `--tls=false`,
    /// no client TLS at all. `Some(true)`: the TLS flags replace the file's block.
    pub tls_override: Option<bool>,
    /// `--tlscert`.
    pub tls_cert: Option<String>,
    /// `--tlskey`.
    pub tls_key: Option<String>,
    /// `--tlscacert`.
    pub tls_ca_cert: Option<String>,
    /// `--tlsverify`.
    pub tls_verify: bool,

    /// `--routes`: comma-separated route URLs, replacing the file's (empty: none). See
    /// [`cluster::apply`] for how the cluster flags change the options.
    pub routes: Option<String>,
    /// `--cluster`, `--cluster_listen`: the route listen URL `nats://[user:pass@]host:port`
    /// (empty: clustering off).
    pub cluster: Option<String>,
    /// `--cluster_name`.
    pub cluster_name: Option<String>,
    /// `--cluster_advertise`.
    pub cluster_advertise: Option<String>,
    /// `--no_advertise` (`Some(false)` from `--no_advertise=false` overrides the file too).
    pub no_advertise: Option<bool>,
    /// `--connect_retries`.
    pub connect_retries: Option<i64>,
    /// `--profile`: refused unless 0.
    pub profile: Option<i64>,

    /// `-h`, `--help`.
    pub help: bool,
    /// `-v`, `--version`.
    pub version: bool,
    /// `--help_tls`.
    pub help_tls: bool,
    /// What follows the flags (nats-server takes `version` or `help` there).
    pub rest: Vec<String>,
}

/// A command line Go's `flag` package rejects; `Display` is its exact message (which
/// nats-server prints to stderr, followed by the usage on stdout and exit code 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagError(pub String);

impl std::fmt::Display for FlagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FlagError {}

/// What the command line asks for, once parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Print the version and exit 0.
    Version,
    /// Print [`USAGE`] and exit 0.
    Help,
    /// Print [`TLS_USAGE`] and exit 0.
    HelpTls,
    /// Run (or `-t`, or `--signal`).
    Run,
}

/// How a flag takes its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `-name` (true) or `-name=VALUE` (Go's `ParseBool`); never the next argument.
    Bool,
    /// A Go integer literal (`ParseInt(s, 0, 64)`).
    Int,
    /// Any text.
    Text,
}

/// A parsed flag value.
enum Value {
    Bool(bool),
    Int(i64),
    Text(String),
}

impl Value {
    fn flag(&self) -> bool {
        matches!(self, Value::Bool(true))
    }

    fn int(&self) -> i64 {
        match self {
            Value::Int(i) => *i,
            _ => 0,
        }
    }

    /// Ports: Go's `int` is 64 bits; anything outside i32 is out of any port range anyway
    /// and is refused later as an invalid port.
    fn port(&self) -> i32 {
        let i = self.int();
        i32::try_from(i).unwrap_or(if i < 0 { i32::MIN } else { i32::MAX })
    }

    fn text(self) -> String {
        match self {
            Value::Text(s) => s,
            _ => String::new(),
        }
    }

    /// `None` for the empty text, which nats-server treats as "not given" for these flags.
    fn non_empty(self) -> Option<String> {
        Some(self.text()).filter(|s| !s.is_empty())
    }
}

/// The state while parsing: the flags that resolve together once all are read.
#[derive(Default)]
struct Parse {
    args: Args,
    debug: Option<bool>,
    trace: Option<bool>,
    debug_trace: Option<bool>,
    debug_trace_verbose: Option<bool>,
    trace_verbose: Option<bool>,
    tls: Option<bool>,
    other_tls: bool,
}

/// One flag of nats-server's set: its spellings (without dashes), how it takes a value, and
/// where the value goes.
pub struct Flag {
    /// Every name nats-server defines for it.
    pub names: &'static [&'static str],
    /// How it takes its value.
    pub kind: Kind,
    set: fn(&mut Parse, Value),
}

const fn flag(names: &'static [&'static str], kind: Kind, set: fn(&mut Parse, Value)) -> Flag {
    Flag { names, kind, set }
}

/// Every flag nats-server 2.15.1 defines, in `ConfigureOptions` order.
pub const FLAGS: &[Flag] = &[
    flag(&["h", "help"], Kind::Bool, |p, v| p.args.help = v.flag()),
    flag(&["port", "p"], Kind::Int, |p, v| p.args.port = Some(v.port())),
    flag(&["n", "name", "server_name"], Kind::Text, |p, v| p.args.name = Some(v.text())),
    flag(&["addr", "a", "net"], Kind::Text, |p, v| p.args.addr = Some(v.text())),
    flag(&["client_advertise"], Kind::Text, |p, v| p.args.client_advertise = v.non_empty()),
    flag(&["D", "debug"], Kind::Bool, |p, v| p.debug = Some(v.flag())),
    flag(&["V", "trace"], Kind::Bool, |p, v| p.trace = Some(v.flag())),
    flag(&["VV"], Kind::Bool, |p, v| p.trace_verbose = Some(v.flag())),
    flag(&["DV"], Kind::Bool, |p, v| p.debug_trace = Some(v.flag())),
    flag(&["DVV"], Kind::Bool, |p, v| p.debug_trace_verbose = Some(v.flag())),
    flag(&["T", "logtime"], Kind::Bool, |p, v| p.args.logtime = Some(v.flag())),
    flag(&["logtime_utc"], Kind::Bool, |p, v| p.args.logtime_utc = v.flag()),
    flag(&["user"], Kind::Text, |p, v| p.args.user = Some(v.text())),
    flag(&["pass"], Kind::Text, |p, v| p.args.pass = Some(v.text())),
    flag(&["auth"], Kind::Text, |p, v| p.args.auth = Some(v.text())),
    flag(&["m", "http_port"], Kind::Int, |p, v| p.args.http_port = Some(v.port())),
    flag(&["ms", "https_port"], Kind::Int, |p, v| p.args.https_port = Some(v.port())),
    flag(&["c", "config"], Kind::Text, |p, v| p.args.config = v.non_empty().map(PathBuf::from)),
    flag(&["t"], Kind::Bool, |p, v| p.args.test_config = v.flag()),
    flag(&["sl", "signal"], Kind::Text, |p, v| p.args.signal = v.non_empty()),
    flag(&["P", "pid"], Kind::Text, |p, v| p.args.pid = Some(PathBuf::from(v.text()))),
    flag(&["ports_file_dir"], Kind::Text, |p, v| p.args.ports_file_dir = v.non_empty()),
    flag(&["l", "log"], Kind::Text, |p, v| p.args.log = Some(PathBuf::from(v.text()))),
    flag(&["log_size_limit"], Kind::Int, |p, v| p.args.log_size_limit = Some(v.int())),
    flag(&["s", "syslog"], Kind::Bool, |p, v| p.args.syslog = v.flag()),
    flag(&["r", "remote_syslog"], Kind::Text, |p, v| p.args.remote_syslog = v.non_empty()),
    flag(&["version", "v"], Kind::Bool, |p, v| p.args.version = v.flag()),
    flag(&["profile"], Kind::Int, |p, v| p.args.profile = Some(v.int())),
    // The cluster flags override the file even when given empty, as in nats-server.
    flag(&["routes"], Kind::Text, |p, v| p.args.routes = Some(v.text())),
    flag(&["cluster", "cluster_listen"], Kind::Text, |p, v| p.args.cluster = Some(v.text())),
    flag(&["cluster_advertise"], Kind::Text, |p, v| p.args.cluster_advertise = Some(v.text())),
    flag(&["no_advertise"], Kind::Bool, |p, v| p.args.no_advertise = Some(v.flag())),
    flag(&["connect_retries"], Kind::Int, |p, v| p.args.connect_retries = Some(v.int())),
    flag(&["cluster_name"], Kind::Text, |p, v| p.args.cluster_name = Some(v.text())),
    flag(&["help_tls"], Kind::Bool, |p, v| p.args.help_tls = v.flag()),
    flag(&["tls"], Kind::Bool, |p, v| p.tls = Some(v.flag())),
    flag(&["tlsverify"], Kind::Bool, |p, v| {
        p.other_tls = true;
        p.args.tls_verify = v.flag();
    }),
    flag(&["tlscert"], Kind::Text, |p, v| {
        p.other_tls = true;
        p.args.tls_cert = Some(v.text());
    }),
    flag(&["tlskey"], Kind::Text, |p, v| {
        p.other_tls = true;
        p.args.tls_key = Some(v.text());
    }),
    flag(&["tlscacert"], Kind::Text, |p, v| {
        p.other_tls = true;
        p.args.tls_ca_cert = Some(v.text());
    }),
    flag(&["max_traced_msg_len"], Kind::Int, |p, v| p.args.max_traced_msg_len = Some(v.int())),
    flag(&["js", "jetstream"], Kind::Bool, |p, v| p.args.jetstream = v.flag()),
    flag(&["sd", "store_dir"], Kind::Text, |p, v| p.args.store_dir = v.non_empty()),
];

/// The flag nats-server defines under `name` (spelled without dashes).
pub fn lookup(name: &str) -> Option<&'static Flag> {
    FLAGS.iter().find(|f| f.names.contains(&name))
}

/// A flag Strait does not honour: its long spelling, whether the command line asks for it
/// (anything but the default), and why.
type Unsupported = (&'static str, fn(&Args) -> bool, &'static str);

/// Flags Strait refuses: ignoring them could let a client in, route or keep a message
/// differently than nats-server, or send the logs elsewhere than the operator asked.
const REFUSED: &[Unsupported] = &[
    (
        "--https_port",
        |a| a.https_port.is_some_and(|p| p != 0),
        "the monitor serves plain HTTP only",
    ),
    ("--ports_file_dir", |a| a.ports_file_dir.is_some(), "no ports file is written"),
    ("--syslog", |a| a.syslog, "syslog is not implemented; use --log"),
    ("--remote_syslog", |a| a.remote_syslog.is_some(), "syslog is not implemented; use --log"),
    ("--log_size_limit", |a| a.log_size_limit.is_some_and(|l| l != 0), "log files are not rotated"),
    ("--jetstream", |a| a.jetstream, "JetStream is not implemented"),
    ("--store_dir", |a| a.store_dir.is_some(), "JetStream is not implemented"),
    ("--profile", |a| a.profile.is_some_and(|p| p != 0), "there is no profiling port"),
];

impl Args {
    /// Parses a whole command line, program name first (the name is skipped).
    pub fn try_parse_from<I, T>(argv: I) -> Result<Args, FlagError>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let argv: Vec<String> = argv.into_iter().skip(1).map(Into::into).collect();
        Args::parse(&argv)
    }

    /// Parses the arguments after the program name with Go `flag` semantics.
    pub fn parse(args: &[String]) -> Result<Args, FlagError> {
        let mut p = Parse::default();
        let mut i = 0;
        while let Some(arg) = args.get(i) {
            // "-" and anything not starting with '-' end the flags.
            if arg.len() < 2 || !arg.starts_with('-') {
                break;
            }
            i += 1;
            if arg == "--" {
                break;
            }
            let name = arg.strip_prefix("--").unwrap_or(&arg[1..]);
            if name.is_empty() || name.starts_with('-') || name.starts_with('=') {
                return Err(FlagError(format!("bad flag syntax: {arg}")));
            }
            let (name, inline) = match name.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (name, None),
            };
            let Some(flag) = lookup(name) else {
                return Err(FlagError(format!("flag provided but not defined: -{name}")));
            };
            let value = match flag.kind {
                Kind::Bool => {
                    let raw = inline.unwrap_or("true");
                    go_values::parse_bool(raw).map(Value::Bool).map_err(|e| {
                        let raw = go_values::quote(raw);
                        FlagError(format!("invalid boolean value {raw} for -{name}: {e}"))
                    })?
                }
                kind => {
                    let raw = match inline {
                        Some(v) => v,
                        None => {
                            let Some(next) = args.get(i) else {
                                return Err(FlagError(format!("flag needs an argument: -{name}")));
                            };
                            i += 1;
                            next.as_str()
                        }
                    };
                    let parsed = match kind {
                        Kind::Int => go_values::parse_int(raw).map(Value::Int),
                        _ => Ok(Value::Text(raw.to_owned())),
                    };
                    parsed.map_err(|e| {
                        let raw = go_values::quote(raw);
                        FlagError(format!("invalid value {raw} for flag -{name}: {e}"))
                    })?
                }
            };
            (flag.set)(&mut p, value);
        }
        p.args.rest = args[i..].to_vec();
        Ok(p.finish())
    }

    /// What to do: nats-server answers `-v`, then `-h`, then `--help_tls`, then a `version` or
    /// `help` command after the flags; any other command is an error.
    pub fn mode(&self) -> Result<Mode, String> {
        if self.version {
            return Ok(Mode::Version);
        }
        if self.help {
            return Ok(Mode::Help);
        }
        if self.help_tls {
            return Ok(Mode::HelpTls);
        }
        match self.rest.first() {
            None => Ok(Mode::Run),
            Some(c) => match c.to_lowercase().as_str() {
                "version" => Ok(Mode::Version),
                "help" => Ok(Mode::Help),
                _ => Err(format!("unrecognized command: {}", go_values::quote(c))),
            },
        }
    }

    /// One error per flag that asks for something Strait does not do
    /// (`flag --jetstream is not supported by strait (JetStream is not implemented)`).
    pub fn refusals(&self) -> Vec<String> {
        REFUSED
            .iter()
            .filter(|(_, given, _)| given(self))
            .map(|(flag, _, why)| format!("flag {flag} is not supported by strait ({why})"))
            .collect()
    }
}

impl Parse {
    /// Resolves the logging and TLS flags as nats-server does after parsing: `-DV`, `-DVV` and
    /// `-VV` (visited in that, lexical, order) override `-D`/`-V`; `--tls=false` switches
    /// client TLS off whatever the other TLS flags say.
    fn finish(mut self) -> Args {
        let (mut debug, mut trace, mut verbose) = (self.debug, self.trace, None);
        if let Some(on) = self.debug_trace {
            (debug, trace) = (Some(on), Some(on));
        }
        if let Some(on) = self.debug_trace_verbose {
            (debug, trace, verbose) = (Some(on), Some(on), Some(on));
        }
        if let Some(on) = self.trace_verbose {
            (trace, verbose) = (Some(on), Some(on));
        }
        let a = &mut self.args;
        (a.debug, a.debug_given) = (debug == Some(true), debug.is_some());
        (a.trace, a.trace_given) = (trace == Some(true), trace.is_some());
        a.trace_verbose = verbose == Some(true);
        a.tls = self.tls == Some(true);
        a.tls_override = match self.tls {
            Some(false) => Some(false),
            _ if self.tls.is_some() || self.other_tls => Some(true),
            _ => None,
        };
        self.args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &[&str]) -> Result<Args, String> {
        let args: Vec<String> = line.iter().map(|s| s.to_string()).collect();
        Args::parse(&args).map_err(|e| e.0)
    }

    fn ok(line: &[&str]) -> Args {
        parse(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    #[test]
    fn one_or_two_dashes_and_equals_are_the_same_flag() {
        for line in [
            &["-config", "f.conf"][..],
            &["--config", "f.conf"],
            &["-config=f.conf"],
            &["--config=f.conf"],
            &["-c", "f.conf"],
            &["--c=f.conf"],
        ] {
            assert_eq!(ok(line).config, Some(PathBuf::from("f.conf")), "{line:?}");
        }
        assert_eq!(ok(&["--net", "::1"]).addr.as_deref(), Some("::1"));
        assert_eq!(ok(&["-server_name=A=B"]).name.as_deref(), Some("A=B"));
    }

    #[test]
    fn single_letters_never_combine() {
        let a = ok(&["-tls", "-c", "f.conf"]);
        assert!(a.tls && !a.test_config && !a.syslog);
        assert_eq!(a.tls_override, Some(true));
        assert_eq!(a.config, Some(PathBuf::from("f.conf")));
        let a = ok(&["-DV"]);
        assert!(a.debug && a.trace && a.debug_given && a.trace_given);
        assert_eq!(parse(&["-tc", "x"]), Err("flag provided but not defined: -tc".into()));
        assert_eq!(parse(&["-Dt"]), Err("flag provided but not defined: -Dt".into()));
        assert_eq!(parse(&["--x=5"]), Err("flag provided but not defined: -x".into()));
    }

    #[test]
    fn booleans_take_only_the_equals_form() {
        let a = ok(&["-tls=false", "--tlscert", "c", "--tlskey=k"]);
        assert_eq!(a.tls_override, Some(false));
        let a = ok(&["-D=false", "-T=0", "-js=F"]);
        assert!(!a.debug && a.debug_given);
        assert_eq!(a.logtime, Some(false));
        assert!(a.refusals().is_empty());
        // A boolean never takes the next argument: "false" ends the flags here.
        let a = ok(&["-D", "false"]);
        assert!(a.debug);
        assert_eq!(a.rest, ["false"]);
        assert_eq!(
            parse(&["-tls=yes"]),
            Err("invalid boolean value \"yes\" for -tls: parse error".into())
        );
    }

    #[test]
    fn combined_logging_flags_resolve_as_nats_server() {
        let a = ok(&["-VV"]);
        assert!(a.trace && a.trace_verbose && !a.debug_given);
        let a = ok(&["-DVV"]);
        assert!(a.debug && a.trace && a.trace_verbose);
        // -DV is applied after -D whatever the order on the line.
        let a = ok(&["-DV=false", "-D"]);
        assert!(!a.debug && a.debug_given && !a.trace && a.trace_given);
        let a = ok(&["-D", "--trace"]);
        assert!(a.debug && a.trace && !a.trace_verbose);
        assert!(!ok(&[]).debug_given);
    }

    #[test]
    fn values_may_start_with_a_dash_and_the_last_one_wins() {
        let a = ok(&["-p", "-1", "-m", "8222", "--port=0x10", "-c", "-t"]);
        assert_eq!(a.port, Some(16));
        assert_eq!(a.http_port, Some(8222));
        assert_eq!(a.config, Some(PathBuf::from("-t")));
        assert!(!a.test_config);
        assert_eq!(ok(&["-n", "a", "--server_name", "b"]).name.as_deref(), Some("b"));
    }

    #[test]
    fn parsing_stops_at_a_non_flag_or_double_dash() {
        let a = ok(&["-D", "--", "-V", "x"]);
        assert!(a.debug && !a.trace);
        assert_eq!(a.rest, ["-V", "x"]);
        let a = ok(&["-D", "run", "-V"]);
        assert!(!a.trace);
        assert_eq!(a.rest, ["run", "-V"]);
        assert_eq!(ok(&["-", "-D"]).rest, ["-", "-D"]);
        assert_eq!(a.mode(), Err("unrecognized command: \"run\"".into()));
        assert_eq!(ok(&["VERSION"]).mode(), Ok(Mode::Version));
        assert_eq!(ok(&["Help"]).mode(), Ok(Mode::Help));
        assert_eq!(ok(&["-help", "-v"]).mode(), Ok(Mode::Version));
        assert_eq!(ok(&["--help_tls"]).mode(), Ok(Mode::HelpTls));
        assert_eq!(ok(&["-h=false"]).mode(), Ok(Mode::Run));
    }

    #[test]
    fn malformed_lines_get_go_flag_messages() {
        assert_eq!(parse(&["-p"]), Err("flag needs an argument: -p".into()));
        assert_eq!(parse(&["--config"]), Err("flag needs an argument: -config".into()));
        assert_eq!(
            parse(&["-p", "abc"]),
            Err("invalid value \"abc\" for flag -p: parse error".into())
        );
        assert_eq!(parse(&["-p="]), Err("invalid value \"\" for flag -p: parse error".into()));
        assert_eq!(
            parse(&["--port", "99999999999999999999"]),
            Err("invalid value \"99999999999999999999\" for flag -port: value out of range".into())
        );
        assert_eq!(parse(&["---x"]), Err("bad flag syntax: ---x".into()));
        assert_eq!(parse(&["-=x"]), Err("bad flag syntax: -=x".into()));
        assert_eq!(parse(&["--=x"]), Err("bad flag syntax: --=x".into()));
    }

    #[test]
    fn unsupported_flags_are_refused_or_ignored_by_name() {
        let a = ok(&["--routes", "nats://h:1", "-js", "-ms", "8443", "--client_advertise", "x"]);
        assert_eq!(
            a.refusals(),
            [
                "flag --https_port is not supported by strait (the monitor serves plain HTTP only)",
                "flag --jetstream is not supported by strait (JetStream is not implemented)",
            ]
        );
        // Their default values ask for nothing Strait lacks.
        let a = ok(&["-ms", "0", "-s=false", "--profile", "0", "-sd", ""]);
        assert!(a.refusals().is_empty());
    }

    #[test]
    fn given_flags_override_the_file_both_ways() {
        let o = strait_conf::Options {
            tls: Some(strait_conf::options::Tls {
                cert_file: Some("c".into()),
                key_file: Some("k".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let line = ["-D=false", "-V", "-T=false", "-tls=false", "--tlscert", "x"];
        let a = ok(&line);
        let client = crate::tls_setup::client_block(&a, &o).unwrap();
        assert_eq!(client, None, "--tls=false drops the file's client TLS");
        // Without TLS in the way, the logging flags win over the file.
        let o = strait_conf::load_str("debug: true\nlogtime: true\n", "t.conf").unwrap();
        let s = crate::setup::build(&a, Some(&o)).unwrap();
        assert!(!s.debug && s.trace && !s.logtime);
        let s = crate::setup::build(&ok(&[]), Some(&o)).unwrap();
        assert!(s.debug && !s.trace && s.logtime);
    }

    #[test]
    fn every_flag_has_one_home_and_unique_names() {
        let mut names: Vec<&str> = FLAGS.iter().flat_map(|f| f.names.iter().copied()).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a name is defined twice");
        // Each flag changes the parse result, and only through its own spellings.
        for f in FLAGS {
            let line = |name: &str| match f.kind {
                Kind::Bool => vec![format!("-{name}")],
                Kind::Int => vec![format!("-{name}"), "7".into()],
                Kind::Text => vec![format!("-{name}"), "x".into()],
            };
            let first = Args::parse(&line(f.names[0])).unwrap();
            assert_ne!(first, Args::default(), "{:?} has no effect", f.names);
            for name in f.names {
                assert_eq!(Args::parse(&line(name)).unwrap(), first, "{name}");
            }
        }
    }

    #[test]
    fn usage_lists_every_spelling() {
        for f in FLAGS {
            for name in f.names {
                let long = format!("--{name} ");
                let short = format!("-{name},");
                let bare = format!("-{name} ");
                assert!(
                    USAGE.contains(&long)
                        || USAGE.contains(&short)
                        || USAGE.contains(&bare)
                        || USAGE.contains(&format!("--{name}\n")),
                    "{name} is missing from the usage"
                );
            }
        }
    }
}
