//! `strait -t -c FILE` gives the configuration crate's verdict on every corpus file and every
//! example, with nats-server's exit codes, and `strait -c` refuses a broken file with the
//! position of the mistake.

use std::path::{Path, PathBuf};
use std::process::Command;

fn strait() -> &'static str {
    env!("CARGO_BIN_EXE_strait")
}

fn conf_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    let mut dirs = vec![root.join("conf/tests/corpus"), root.join("examples")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("corpus directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "conf") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn strait_t_agrees_with_the_configuration_crate() {
    let files = conf_files();
    assert!(files.len() > 50, "corpus not found: {files:?}");
    let mut checked = 0;
    for file in files {
        // Include-only fragments are not configurations of their own.
        if file.components().any(|c| c.as_os_str() == "inc") {
            continue;
        }
        let expected = strait_conf::check_file(&file);
        let out =
            Command::new(strait()).arg("-t").arg("-c").arg(&file).output().expect("run strait");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        match expected {
            Ok(_) => {
                assert!(out.status.success(), "{}: strait -t failed: {stderr}", file.display());
                assert!(stdout.contains("is valid"), "{}: {stdout}", file.display());
            }
            Err(errors) => {
                assert_eq!(out.status.code(), Some(1), "{}: {stdout}{stderr}", file.display());
                let first = errors.to_string();
                let first = first.lines().next().unwrap_or_default();
                assert!(stderr.contains(first), "{}: wanted {first:?} in {stderr}", file.display());
            }
        }
        checked += 1;
    }
    assert!(checked > 50);
}

#[test]
fn a_broken_file_stops_the_server_with_its_position() {
    let dir = std::env::temp_dir().join(format!("strait-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.conf");
    std::fs::write(&file, "port: 4222\nmax_payload: banana\n").unwrap();
    let out = Command::new(strait()).arg("-c").arg(&file).output().expect("run strait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("bad.conf:2:"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn sigterm_closes_connections_and_exits_cleanly() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    let mut child = Command::new(strait())
        .args(["-a", "127.0.0.1", "-p", "-1"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run strait");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let port = loop {
        let line = lines.next().expect("strait exited before listening").expect("log line");
        if let Some(addr) = line.split("Listening for client connections on ").nth(1) {
            break addr.rsplit(':').next().unwrap().trim().parse::<u16>().unwrap();
        }
    };
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    client
        .write_all(b"CONNECT {\"verbose\":false}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nPING\r\n")
        .unwrap();
    // Wait until the server has handled everything (PONG comes after the MSG), then signal.
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    while !received.ends_with(b"PONG\r\n") {
        let n = client.read(&mut chunk).expect("bounded by the read timeout");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&received));
        received.extend_from_slice(&chunk[..n]);
    }
    assert!(String::from_utf8_lossy(&received).contains("MSG foo 1 2\r\nhi\r\n"));
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    // The server closes the connection (EOF, not the read timeout) and exits with success.
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).expect("EOF before the read timeout");
    let log: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(log.iter().any(|l| l.contains("[INF] Server Exiting..")), "{log:?}");
    assert!(child.wait().unwrap().success());
}
