//! Command-line flags, spelled as nats-server spells them.

use std::path::PathBuf;

use clap::Parser;

/// Strait: a NATS-compatible message router for superclusters.
///
/// Run it where you ran nats-server: with no arguments it serves clients on 0.0.0.0:4222;
/// with `-c FILE` it reads a nats-server configuration file (flags override the file).
#[derive(Debug, Clone, Parser)]
#[command(name = "strait", disable_version_flag = true, max_term_width = 100)]
pub struct Args {
    /// Bind to host address.
    #[arg(short = 'a', long = "addr", visible_alias = "net", value_name = "HOST")]
    pub addr: Option<String>,

    /// Use port for clients (-1 picks a random free port).
    #[arg(short = 'p', long = "port", value_name = "PORT", allow_negative_numbers = true)]
    pub port: Option<i32>,

    /// Server name (default: the generated server id).
    #[arg(short = 'n', long = "name", visible_alias = "server_name", value_name = "NAME")]
    pub name: Option<String>,

    /// Configuration file (nats-server format).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Use port for http monitoring.
    #[arg(short = 'm', long = "http_port", value_name = "PORT", allow_negative_numbers = true)]
    pub http_port: Option<i32>,

    /// Test the configuration file and exit.
    #[arg(short = 't')]
    pub test_config: bool,

    /// File to redirect log output to.
    #[arg(short = 'l', long = "log", value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// Enable debugging output.
    #[arg(short = 'D', long = "debug")]
    pub debug: bool,

    /// Trace the raw protocol.
    #[arg(short = 'V', long = "trace")]
    pub trace: bool,

    /// User required for connections.
    #[arg(long = "user", value_name = "USER")]
    pub user: Option<String>,

    /// Password required for connections.
    #[arg(long = "pass", value_name = "PASSWORD")]
    pub pass: Option<String>,

    /// Authorization token required for connections.
    #[arg(long = "auth", value_name = "TOKEN")]
    pub auth: Option<String>,

    /// File to write the server's pid to.
    #[arg(short = 'P', long = "pid", value_name = "FILE")]
    pub pid: Option<PathBuf>,

    /// Send a signal to a running strait and exit: ldm, stop, quit, term, reopen, reload;
    /// `reload=PID` or `reload=PIDFILE` picks the process (also spelled `-sl`).
    #[arg(long = "signal", value_name = "SIGNAL[=PID]")]
    pub signal: Option<String>,
    /// Enable TLS for clients (any --tls* flag replaces the file's `tls {}` block).
    #[arg(long = "tls")]
    pub tls: bool,

    /// Server certificate file.
    #[arg(long = "tlscert", value_name = "FILE")]
    pub tls_cert: Option<String>,

    /// Private key for the server certificate.
    #[arg(long = "tlskey", value_name = "FILE")]
    pub tls_key: Option<String>,

    /// Client certificate CA for verification.
    #[arg(long = "tlscacert", value_name = "FILE")]
    pub tls_ca_cert: Option<String>,

    /// Enable TLS with client verification.
    #[arg(long = "tlsverify")]
    pub tls_verify: bool,

    /// Show version.
    #[arg(short = 'v', long = "version")]
    pub version: bool,
}

/// nats-server spells `--signal` also `-sl` (Go flags take multi-letter single-dash names);
/// turn that spelling into `--signal` before parsing.
pub fn normalize(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .map(|a| match a.strip_prefix("-sl") {
            Some("") => "--signal".to_owned(),
            Some(rest) if rest.starts_with('=') => format!("--signal{rest}"),
            _ => a,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nats_server_spellings_parse() {
        let a = Args::try_parse_from(["strait", "-DV", "-p", "-1", "--net", "127.0.0.1"]).unwrap();
        assert!(a.debug && a.trace);
        assert_eq!(a.port, Some(-1));
        assert_eq!(a.addr.as_deref(), Some("127.0.0.1"));
        let a = Args::try_parse_from(["strait", "--user", "u", "--pass", "p", "-n", "A"]).unwrap();
        assert_eq!((a.user.as_deref(), a.pass.as_deref()), (Some("u"), Some("p")));
        assert_eq!(a.name.as_deref(), Some("A"));
        assert!(Args::try_parse_from(["strait", "-v"]).unwrap().version);
        let a = Args::try_parse_from(["strait", "--tlsverify", "--tlscert", "c", "--tlskey", "k"])
            .unwrap();
        assert!(a.tls_verify && !a.tls);
        assert_eq!((a.tls_cert.as_deref(), a.tls_key.as_deref()), (Some("c"), Some("k")));
    }

    #[test]
    fn signal_and_pid_flags() {
        let args = normalize(["strait", "-sl", "reload=12"].map(String::from));
        let a = Args::try_parse_from(args).unwrap();
        assert_eq!(a.signal.as_deref(), Some("reload=12"));
        let args = normalize(["strait", "-sl=quit", "-P", "/tmp/p"].map(String::from));
        let a = Args::try_parse_from(args).unwrap();
        assert_eq!(a.signal.as_deref(), Some("quit"));
        assert_eq!(a.pid.as_deref(), Some(std::path::Path::new("/tmp/p")));
    }
}
