//! Differential test against the real nats-server 2.15.1: for every corpus file (and the
//! examples), `nats-server -t -c FILE` and `strait_conf::check_file` must agree, except for
//! the deliberate differences listed in `tests/corpus/differs/` (each file says which way and
//! why) and the startup checks in `tests/corpus/startup/` (nats-server's `-t` skips them, so
//! there the real server is started and must exit with an error).
//!
//! Needs `NATS_SERVER` (the path of the binary; `scripts/test` sets it):
//! `NATS_SERVER=/work/main/target/nats-server-venv/bin/nats-server cargo test -p strait-conf`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn nats_server() -> PathBuf {
    let Some(path) = std::env::var_os("NATS_SERVER") else {
        panic!(
            "NATS_SERVER is not set: the differential test needs the reference nats-server binary. \
             Run scripts/test, or set NATS_SERVER=$(scripts/install-nats-server)"
        );
    };
    let path = PathBuf::from(path);
    assert!(path.is_file(), "NATS_SERVER={} is not a file", path.display());
    path
}

/// `nats-server -t -c FILE`: exit status 0 means valid (warnings make it fail, as for us).
fn nats_check(bin: &Path, file: &Path) -> (bool, String) {
    let out = Command::new(bin).arg("-t").arg("-c").arg(file).output().expect("run nats-server");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).trim().to_owned())
}

/// `nats-server -c FILE`, which must stop with an error within a few seconds (startup
/// validation happens before any listener is opened).
fn nats_start_fails(bin: &Path, file: &Path) -> (bool, String) {
    let mut child = Command::new(bin)
        .arg("-c")
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nats-server");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait for nats-server") {
            let out = child.wait_with_output().expect("read nats-server output");
            let text = String::from_utf8_lossy(&out.stderr);
            let last = text.lines().last().unwrap_or("").to_owned();
            return (!status.success(), last);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return (false, "nats-server started and kept running".to_owned());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn strait_and_nats_server_agree_on_every_corpus_file() {
    let bin = nats_server();
    let mut cases = common::corpus();
    let mut examples: Vec<PathBuf> = std::fs::read_dir("../examples")
        .expect("examples directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 6, "the seed examples are missing");
    for path in examples {
        cases.push(common::Case {
            path,
            dir: "valid",
            error: None,
            strait_accepts: None,
            nats: None,
            note: String::new(),
        });
    }

    let mut report = Vec::new();
    let mut failures = Vec::new();
    for case in &cases {
        let strait = strait_conf::check_file(&case.path);
        let strait_ok = strait.is_ok();
        let name = case.path.display().to_string();
        match case.dir {
            "valid" | "invalid" => {
                let (nats_ok, msg) = nats_check(&bin, &case.path);
                let want = case.dir == "valid";
                if nats_ok != want || strait_ok != want {
                    failures.push(format!(
                        "{name}: expected both to {}; nats-server: {msg}; strait: {}",
                        if want { "accept" } else { "reject" },
                        strait.err().map_or("accepted".to_owned(), |e| e.to_string())
                    ));
                }
            }
            "startup" => {
                let (t_ok, t_msg) = nats_check(&bin, &case.path);
                let (fails, msg) = nats_start_fails(&bin, &case.path);
                if !t_ok || !fails || strait_ok {
                    failures.push(format!(
                        "{name}: expected nats-server -t to accept ({t_msg}), nats-server to fail at \
                         startup ({msg}) and strait to reject (strait ok: {strait_ok})"
                    ));
                } else {
                    report.push(format!("startup check  {name}: nats-server: {msg}"));
                }
            }
            "differs" => {
                let want_strait = case.strait_accepts.expect("differs files say what strait does");
                let nats = case.nats.as_deref().unwrap_or("");
                if strait_ok != want_strait {
                    failures.push(format!(
                        "{name}: strait should {}",
                        if want_strait { "accept" } else { "reject" }
                    ));
                }
                if nats == "crashes" {
                    report.push(format!(
                        "deliberate     {name}: {} (nats-server not run)",
                        case.note
                    ));
                    continue;
                }
                let (nats_ok, msg) = nats_check(&bin, &case.path);
                let want_nats = nats == "accepts";
                if nats_ok != want_nats {
                    failures.push(format!("{name}: nats-server should {nats}: {msg}"));
                } else {
                    report.push(format!("deliberate     {name}: {}", case.note));
                }
            }
            other => panic!("unknown corpus directory {other}"),
        }
    }
    eprintln!("{} corpus files compared with {}", cases.len(), bin.display());
    for line in &report {
        eprintln!("  {line}");
    }
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
}
