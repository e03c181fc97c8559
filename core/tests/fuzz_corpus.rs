//! Replays the checked-in corpus and the regression inputs of every byte-input fuzz target
//! through the same entry point the fuzzer calls, so `cargo test` keeps what the fuzzer found
//! without running it. The structured targets are replayed by `fuzz/tests/corpus.rs`.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::Path;

use strait_core::fuzzing;

/// Feeds every file of `fuzz/<dir>/<target>/` to `run`; returns how many there were. A panic
/// is reported with the file's name.
fn replay(dir: &str, target: &str, run: fn(&[u8])) -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz").join(dir).join(target);
    let Ok(entries) = std::fs::read_dir(&path) else {
        return 0;
    };
    let mut files: Vec<_> =
        entries.map(|e| e.expect("directory entry").path()).filter(|p| p.is_file()).collect();
    files.sort();
    for file in &files {
        let data = std::fs::read(file).expect("corpus file");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| run(&data))) {
            eprintln!("fuzz input {} fails", file.display());
            resume_unwind(panic);
        }
    }
    files.len()
}

fn corpus(target: &str, run: fn(&[u8])) {
    let n = replay("corpus", target, run);
    assert!(n > 0, "no corpus files for {target}");
}

fn regressions(target: &str, run: fn(&[u8])) {
    replay("regressions", target, run);
}

#[test]
fn client_parser_corpus() {
    corpus("client_parser", fuzzing::client_parser);
}

#[test]
fn client_parser_regressions() {
    regressions("client_parser", fuzzing::client_parser);
}

#[test]
fn gateway_parser_corpus() {
    corpus("gateway_parser", fuzzing::gateway_parser);
}

#[test]
fn gateway_parser_regressions() {
    regressions("gateway_parser", fuzzing::gateway_parser);
}

#[test]
fn json_corpus() {
    corpus("json", fuzzing::json);
}

#[test]
fn json_regressions() {
    regressions("json", fuzzing::json);
}

#[test]
fn client_link_corpus() {
    corpus("client_link", fuzzing::client_link);
}

#[test]
fn client_link_regressions() {
    regressions("client_link", fuzzing::client_link);
}

#[test]
fn gateway_link_corpus() {
    corpus("gateway_link", fuzzing::gateway_link);
}

#[test]
fn gateway_link_regressions() {
    regressions("gateway_link", fuzzing::gateway_link);
}
