//! Replays the checked-in corpus and the regression inputs of the structured fuzz targets,
//! decoding each file exactly as libFuzzer's `fuzz_target!` does, so `cargo test` keeps what
//! the fuzzer found without running it.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use strait_fuzz::{ClientScript, ConfScript, SublistScript};

/// Decodes every file of `fuzz/<dir>/<target>/` as a `T` and runs it; returns how many files
/// there were. A panic is reported with the file's name.
fn replay<T: for<'a> Arbitrary<'a>>(dir: &str, target: &str, run: fn(&T)) -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(target);
    let Ok(entries) = std::fs::read_dir(&path) else {
        return 0;
    };
    let mut files: Vec<_> =
        entries.map(|e| e.expect("directory entry").path()).filter(|p| p.is_file()).collect();
    files.sort();
    for file in &files {
        let data = std::fs::read(file).expect("corpus file");
        // What `fuzz_target!` does with a typed input: inputs that do not decode are skipped.
        let Ok(input) = T::arbitrary_take_rest(Unstructured::new(&data)) else {
            continue;
        };
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| run(&input))) {
            eprintln!("fuzz input {} fails", file.display());
            resume_unwind(panic);
        }
    }
    files.len()
}

fn corpus<T: for<'a> Arbitrary<'a>>(target: &str, run: fn(&T)) {
    assert!(replay("corpus", target, run) > 0, "no corpus files for {target}");
}

#[test]
fn client_ops_corpus() {
    corpus("client_ops", ClientScript::run);
}

#[test]
fn client_ops_regressions() {
    replay("regressions", "client_ops", ClientScript::run);
}

#[test]
fn sublist_corpus() {
    corpus("sublist", SublistScript::run);
}

#[test]
fn sublist_regressions() {
    replay("regressions", "sublist", SublistScript::run);
}

#[test]
fn conf_structured_corpus() {
    corpus("conf_structured", ConfScript::run);
}

#[test]
fn conf_structured_regressions() {
    replay("regressions", "conf_structured", ConfScript::run);
}
