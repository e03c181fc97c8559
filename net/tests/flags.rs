//! Every flag of `nats-server --help` against Strait: read the same way (Go's `flag` grammar:
//! one or two dashes, `=`, no bundling), with the same meaning or refused by name — never
//! unknown, never another flag. The reference binary comes from `$NATS_SERVER`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Kind, Server};
use strait_net::cli::Args;

/// How long a command-line run may take; none of them starts a server.
const RUN_TIMEOUT: Duration = Duration::from_secs(20);

/// Exit code, stdout and stderr of `program args`, killed (and the test failed) if it does not
/// exit within [`RUN_TIMEOUT`].
fn run(program: &Path, args: &[&str]) -> (i32, String, String) {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(RUN_TIMEOUT) {
        Ok(Ok(out)) => (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ),
        Ok(Err(e)) => panic!("{} {args:?}: {e}", program.display()),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("{} {args:?} did not exit within {RUN_TIMEOUT:?}", program.display())
        }
    }
}

fn nats_server() -> PathBuf {
    Kind::NatsServer.program()
}

fn strait() -> PathBuf {
    Kind::Strait.program()
}

/// The flag spellings of a `--help` page, grouped as the page groups them (one option per
/// line; a line without a description, like `-n, --name`, continues on the next), dashes
/// kept. Strait's page marks lines with `*` (refused) or `~` (ignored) in the margin.
fn help_groups(page: &str) -> Vec<Vec<String>> {
    // Descriptions start in this column on both pages (the flags may run up to it).
    const DESCRIPTION: usize = 37;
    let mut groups = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    for line in page.lines() {
        let (flags, description) = line.split_at(line.len().min(DESCRIPTION));
        let flags = flags.trim_start().trim_start_matches(['*', '~']).trim_start();
        if !flags.starts_with('-') {
            continue;
        }
        pending.extend(flags.split([',', ' ']).filter(|t| t.starts_with('-')).map(str::to_owned));
        if !description.trim().is_empty() {
            groups.push(std::mem::take(&mut pending));
        }
    }
    assert!(pending.is_empty(), "dangling flags {pending:?}");
    groups
}

fn nats_server_groups() -> Vec<Vec<String>> {
    let (code, stdout, _) = run(&nats_server(), &["--help"]);
    assert_eq!(code, 0);
    let groups = help_groups(&stdout);
    assert!(groups.len() > 40, "cannot read nats-server --help:\n{stdout}");
    groups
}

/// What Strait does with a flag given with a probe value (`x` for text, `5` for numbers,
/// nothing for booleans).
enum Meaning {
    /// Served: the parsed arguments satisfy this.
    Serves(fn(&Args) -> bool),
    /// Refused at start with "not supported by strait".
    Refused,
}

/// The documented meaning of every nats-server flag group, keyed by its first spelling.
fn meaning(first: &str) -> Option<Meaning> {
    use Meaning::*;
    Some(match first {
        "-a" => Serves(|a| a.addr.as_deref() == Some("x")),
        "-p" => Serves(|a| a.port == Some(5)),
        "-n" => Serves(|a| a.name.as_deref() == Some("x")),
        "-P" => Serves(|a| a.pid.as_deref() == Some(Path::new("x"))),
        "-m" => Serves(|a| a.http_port == Some(5)),
        "-c" => Serves(|a| a.config.as_deref() == Some(Path::new("x"))),
        "-t" => Serves(|a| a.test_config),
        "-sl" => Serves(|a| a.signal.as_deref() == Some("x")),
        "-l" => Serves(|a| a.log.as_deref() == Some(Path::new("x"))),
        "-T" => Serves(|a| a.logtime == Some(true)),
        "--logtime_utc" => Serves(|a| a.logtime_utc),
        "-D" => Serves(|a| a.debug && a.debug_given && !a.trace_given),
        "-V" => Serves(|a| a.trace && a.trace_given && !a.debug_given),
        "-VV" => Serves(|a| a.trace && a.trace_verbose && !a.debug_given),
        "-DV" => Serves(|a| a.debug && a.trace && !a.trace_verbose),
        "-DVV" => Serves(|a| a.debug && a.trace && a.trace_verbose),
        "--user" => Serves(|a| a.user.as_deref() == Some("x")),
        "--pass" => Serves(|a| a.pass.as_deref() == Some("x")),
        "--auth" => Serves(|a| a.auth.as_deref() == Some("x")),
        "--tls" => Serves(|a| a.tls && a.tls_override == Some(true)),
        "--tlscert" => Serves(|a| a.tls_cert.as_deref() == Some("x") && a.tls_override.is_some()),
        "--tlskey" => Serves(|a| a.tls_key.as_deref() == Some("x") && a.tls_override.is_some()),
        "--tlsverify" => Serves(|a| a.tls_verify && a.tls_override == Some(true)),
        "--tlscacert" => {
            Serves(|a| a.tls_ca_cert.as_deref() == Some("x") && a.tls_override.is_some())
        }
        "-h" => Serves(|a| a.help),
        "-v" => Serves(|a| a.version),
        "--help_tls" => Serves(|a| a.help_tls),
        "--max_traced_msg_len" => Serves(|a| a.max_traced_msg_len == Some(5)),
        "--client_advertise" => Serves(|a| a.client_advertise.as_deref() == Some("x")),
        // Applied to the options' `cluster {}` block (see `cluster_flags_*` below).
        "--routes" => Serves(|a| a.routes.as_deref() == Some("x")),
        "--cluster" | "--cluster_listen" => Serves(|a| a.cluster.as_deref() == Some("x")),
        "--cluster_name" => Serves(|a| a.cluster_name.as_deref() == Some("x")),
        "--no_advertise" => Serves(|a| a.no_advertise == Some(true)),
        "--cluster_advertise" => Serves(|a| a.cluster_advertise.as_deref() == Some("x")),
        "--connect_retries" => Serves(|a| a.connect_retries == Some(5)),
        "-ms" | "--ports_file_dir" | "-s" | "-r" | "--log_size_limit" | "-js" | "-sd"
        | "--profile" => Refused,
        _ => return None,
    })
}

/// How nats-server takes a flag's value, learnt from the binary: `-NAME=maybe` fails as a
/// boolean, as a number, or passes as text; the undefined flag after it makes the run stop
/// at the flag parser, so no server starts.
#[derive(Clone, Copy, Debug, PartialEq)]
enum ValueKind {
    Bool,
    Int,
    Text,
}

fn probe(program: &Path, spelling: &str) -> (i32, String, String) {
    run(program, &[&format!("{spelling}=maybe"), "-zz_undefined"])
}

fn kind_of(spelling: &str) -> ValueKind {
    let (_, _, stderr) = probe(&nats_server(), spelling);
    let first = stderr.lines().next().unwrap_or_default();
    if first.starts_with("invalid boolean value") {
        ValueKind::Bool
    } else if first.starts_with("invalid value") {
        ValueKind::Int
    } else {
        assert_eq!(first, "flag provided but not defined: -zz_undefined", "{spelling}");
        ValueKind::Text
    }
}

#[test]
fn strait_help_lists_every_nats_server_spelling() {
    let ours: Vec<Vec<String>> = help_groups(&run(&strait(), &["--help"]).1);
    assert_eq!(ours, nats_server_groups(), "strait --help groups the flags differently");
}

#[test]
fn every_flag_is_read_like_nats_server_reads_it() {
    for group in nats_server_groups() {
        for spelling in &group {
            let name = spelling.trim_start_matches('-');
            let kind = kind_of(spelling);
            // Both dash forms, against both binaries: the same message for a bad value (or
            // none for a good one), then the same error for the undefined flag after it.
            for dashed in [format!("-{name}"), format!("--{name}")] {
                let theirs = probe(&nats_server(), &dashed);
                let ours = probe(&strait(), &dashed);
                assert_eq!(ours.0, theirs.0, "{dashed}: exit code");
                assert_eq!(ours.2, theirs.2, "{dashed}: stderr");
                assert!(ours.1.contains("Usage: strait [options]"), "{dashed}: {}", ours.1);
            }
            if kind != ValueKind::Bool {
                // A value flag at the end of the line has no value.
                let theirs = run(&nats_server(), &[spelling]);
                let ours = run(&strait(), &[spelling]);
                assert_eq!((ours.0, &ours.2), (theirs.0, &theirs.2), "{spelling} alone");
                assert_eq!(ours.2.trim(), format!("flag needs an argument: -{name}"));
            }
        }
    }
}

#[test]
fn every_flag_means_what_it_means_to_nats_server_or_is_refused() {
    for group in nats_server_groups() {
        let first = &group[0];
        let meaning = meaning(first)
            .unwrap_or_else(|| panic!("nats-server has a flag Strait does not know: {group:?}"));
        let mut parsed = Vec::new();
        for spelling in &group {
            let line: Vec<&str> = match kind_of(spelling) {
                ValueKind::Bool => vec![spelling],
                ValueKind::Int => vec![spelling, "5"],
                ValueKind::Text => vec![spelling, "x"],
            };
            let args = Args::parse(&line.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap_or_else(|e| panic!("{line:?}: {e}"));
            assert!(args.rest.is_empty(), "{line:?}: the value was not taken");
            assert_ne!(args, Args::default(), "{line:?} has no effect");
            match &meaning {
                Meaning::Serves(check) => {
                    assert!(check(&args), "{line:?} does not mean what it means: {args:?}");
                    assert!(args.refusals().is_empty(), "{line:?}");
                }
                Meaning::Refused => {
                    let refusals = args.refusals();
                    assert_eq!(refusals.len(), 1, "{line:?}: {refusals:?}");
                    assert!(refusals[0].contains("is not supported by strait"), "{refusals:?}");
                    // And the daemon stops on it (the -t after it is never reached).
                    let mut argv = line.clone();
                    argv.push("-t");
                    let (code, _, stderr) = run(&strait(), &argv);
                    assert_eq!(code, 1, "{argv:?}: {stderr}");
                    assert_eq!(stderr.trim(), format!("strait: {}", refusals[0]), "{argv:?}");
                }
            }
            parsed.push(args);
        }
        // All spellings on one line of the page are one flag.
        assert!(parsed.windows(2).all(|w| w[0] == w[1]), "{group:?} differ: {parsed:?}");
    }
}

fn conf_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("strait-flags-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn config_and_test_flags_give_nats_server_verdicts() {
    let good = conf_file("good.conf", "port: 4222\nserver_name: flags\n");
    let bad = conf_file("bad.conf", "port: 4222\nmax_payload: banana\n");
    for file in [&good, &bad] {
        let f = file.to_str().unwrap();
        let eq = format!("--config={f}");
        for line in [
            vec!["-config", f, "-t"],
            vec!["-c", f, "-t"],
            vec![&eq, "-t"],
            vec!["-t", "--config", f],
            vec!["--t", "-c", f],
        ] {
            let theirs = run(&nats_server(), &line);
            let ours = run(&strait(), &line);
            assert_eq!(ours.0, theirs.0, "{line:?}: {ours:?} vs {theirs:?}");
            let valid = |out: &(i32, String, String)| format!("{}{}", out.1, out.2);
            assert_eq!(
                valid(&ours).contains("is valid"),
                valid(&theirs).contains("is valid"),
                "{line:?}"
            );
        }
    }
    // `-tls -c FILE` is TLS plus a file (not `-t -l s`): both need a certificate and stop.
    let g = good.to_str().unwrap();
    for line in [vec!["-tls", "-c", g], vec!["-tlsverify", "-config", g]] {
        let theirs = run(&nats_server(), &line);
        let ours = run(&strait(), &line);
        assert_eq!((ours.0, theirs.0), (1, 1), "{line:?}: {ours:?} vs {theirs:?}");
        assert!(!ours.1.contains("is valid") && !ours.2.contains("is valid"), "{line:?}");
        assert_eq!(ours.2.trim(), "strait: TLS Server certificate must be present and valid");
        assert_eq!(
            theirs.2.trim(),
            "nats-server: TLS Server certificate must be present and valid"
        );
    }
    std::fs::remove_dir_all(good.parent().unwrap()).ok();
}

#[test]
fn commands_help_and_errors_exit_like_nats_server() {
    for line in [
        &["-x"][..],
        &["--bogus=1"],
        &["-p", "abc"],
        &["-tls=yes"],
        &["---p"],
        &["-h"],
        &["--help"],
        &["help"],
        &["-t"],
        &["foo"],
        &["-D", "false"],
        &["-", "-D"],
        &["-p", "1", "--", "extra"],
    ] {
        let theirs = run(&nats_server(), line);
        let ours = run(&strait(), line);
        assert_eq!(ours.0, theirs.0, "{line:?}: {ours:?} vs {theirs:?}");
        let strip = |s: &str, prog: &str| s.replace(prog, "PROG");
        assert_eq!(strip(&ours.2, "strait"), strip(&theirs.2, "nats-server"), "{line:?}");
        assert_eq!(ours.1.contains("Usage:"), theirs.1.contains("Usage:"), "{line:?}");
    }
    let (code, stdout, _) = run(&strait(), &["--version"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("strait: v"), "{stdout}");
    let (code, stdout, _) = run(&strait(), &["--help_tls"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("--tlscert"), "{stdout}");
}

/// The INFO a server sends first, and its answer to `CONNECT {}` + `PING`.
fn connect(server: &Server) -> (String, String) {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut info = String::new();
    reader.read_line(&mut info).unwrap();
    stream.write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n").unwrap();
    let mut answer = String::new();
    reader.read_line(&mut answer).unwrap();
    let _ = reader.read_to_string(&mut String::new());
    (info, answer)
}

#[test]
fn running_servers_honour_go_style_flags_alike() {
    for kind in Kind::BOTH {
        // Single-dash long names, `=` values and `-T=false`: no timestamps in the log.
        let s =
            Server::start_with(kind, &["-server_name=fl_A", "-T=false", "-user", "u", "-pass=p"]);
        let (info, answer) = connect(&s);
        assert!(info.contains("\"server_name\":\"fl_A\""), "{}: {info}", kind.label());
        assert!(info.contains("\"auth_required\":true"), "{}: {info}", kind.label());
        assert_eq!(answer.trim_end(), "-ERR 'Authorization Violation'", "{}", kind.label());
        let tail = s.log_tail();
        let ready = tail.lines().find(|l| l.contains("Server is ready")).unwrap();
        // `[PID] [INF] Server is ready`, no date in between.
        let after_pid = ready.trim().split_once("] ").map(|(_, r)| r).unwrap_or_default();
        assert!(after_pid.starts_with("[INF]"), "{}: {ready}", kind.label());
    }
}

/// The cluster flags change the `cluster {}` block; what it then asks for is judged as a
/// file's block would be: a cluster port is served (routes), a name alone is too.
#[test]
fn cluster_flags_are_judged_like_the_cluster_block() {
    let empty = conf_file("cluster-empty.conf", "port: 4222\n");
    let f = empty.to_str().unwrap();
    let (code, _, stderr) = run(&strait(), &["--cluster", "nats://127.0.0.1:6222", "-c", f, "-t"]);
    assert_eq!(code, 0, "{stderr}");
    // Errors in the flags get nats-server's words.
    for line in [
        &["--cluster", "nats://h", "-c", f][..],
        &["--cluster", "nats://u@h:1", "-c", f],
        &["--routes", "nats://a:1", "-c", f],
        &["--cluster_name", "a b", "-c", f],
    ] {
        let theirs = run(&nats_server(), line);
        let ours = run(&strait(), line);
        assert_eq!(ours.0, 1, "{line:?}: {ours:?}");
        assert_eq!(
            ours.2.trim().replace("strait", "PROG"),
            theirs.2.trim().replace("nats-server", "PROG"),
            "{line:?}"
        );
    }
    // A name alone is a block with a name: valid, and the server runs.
    let (code, stdout, stderr) = run(&strait(), &["--cluster_name", "X", "-c", f, "-t"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let s = Server::start_with(Kind::Strait, &["--cluster_name", "X"]);
    let (info, _) = connect(&s);
    assert!(info.starts_with("INFO "), "{info}");
    // Only this test's files: the directory is shared with the other tests.
    std::fs::remove_file(&empty).ok();
}
