//! Replays the checked-in corpus and the regression inputs of the `conf_parser` fuzz target
//! through the same entry point the fuzzer calls, so `cargo test` keeps what the fuzzer found
//! without running it. `conf_structured` is replayed by `fuzz/tests/corpus.rs`.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::Path;

use strait_conf::fuzzing;

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
fn conf_parser_corpus() {
    corpus("conf_parser", fuzzing::parse);
}

#[test]
fn conf_parser_regressions() {
    regressions("conf_parser", fuzzing::parse);
}
