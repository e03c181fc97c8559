//! Replays every fuzz target's checked-in corpus (`fuzz/corpus/TARGET/`) and regression inputs
//! (`fuzz/regressions/TARGET/`) through the entry point the fuzzer calls, decoding typed inputs
//! exactly as `fuzz_target!` does, so `cargo test` keeps what the fuzzer found without
//! running it.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use strait_fuzz::{ClientScript, ConfScript, SublistScript};

/// The files of `fuzz/<dir>/<target>/`, sorted (none when the folder does not exist).
fn inputs(dir: &str, target: &str) -> Vec<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(target);
    let Ok(entries) = std::fs::read_dir(&path) else {
        return Vec::new();
    };
    let mut files: Vec<_> =
        entries.map(|e| e.expect("directory entry").path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

/// Feeds every corpus and regression input of `target` to `run`, reporting a panic with the
/// input's file name. The corpus must not be empty; regressions may be.
fn replay(target: &str, run: impl Fn(&[u8])) {
    let corpus = inputs("corpus", target);
    assert!(!corpus.is_empty(), "no corpus files for {target}");
    for file in corpus.iter().chain(&inputs("regressions", target)) {
        let data = std::fs::read(file).expect("fuzz input");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| run(&data))) {
            eprintln!("fuzz input {} fails", file.display());
            resume_unwind(panic);
        }
    }
}

/// What `fuzz_target!` does with a typed input: decode it, skip it if it does not decode.
fn typed<T: for<'a> Arbitrary<'a>>(run: fn(&T)) -> impl Fn(&[u8]) {
    move |data| {
        if let Ok(input) = T::arbitrary_take_rest(Unstructured::new(data)) {
            run(&input);
        }
    }
}

#[test]
fn client_parser() {
    replay("client_parser", strait_core::fuzzing::client_parser);
}

#[test]
fn client_ops() {
    replay("client_ops", typed(ClientScript::run));
}

#[test]
fn gateway_parser() {
    replay("gateway_parser", strait_core::fuzzing::gateway_parser);
}

#[test]
fn route_parser() {
    replay("route_parser", strait_core::fuzzing::route_parser);
}

#[test]
fn json() {
    replay("json", strait_core::fuzzing::json);
}

#[test]
fn sublist() {
    replay("sublist", typed(SublistScript::run));
}

#[test]
fn client_link() {
    replay("client_link", strait_core::fuzzing::client_link);
}

#[test]
fn permissions() {
    replay("permissions", strait_core::fuzzing::permissions);
}

#[test]
fn route_link() {
    replay("route_link", strait_core::fuzzing::route_link);
}

#[test]
fn gateway_link() {
    replay("gateway_link", strait_core::fuzzing::gateway_link);
}

#[test]
fn conf_parser() {
    replay("conf_parser", strait_conf::fuzzing::parse);
}

#[test]
fn conf_structured() {
    replay("conf_structured", typed(ConfScript::run));
}

#[test]
fn tls_identity() {
    replay("tls_identity", strait_net::tls::check_peer_identity);
}

/// The seed certificate is read as the gateway identity check reads it, with the names
/// `verify_and_map` would try: the fuzz target starts from a certificate that gets far.
#[test]
fn tls_identity_seed_is_read() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/tls_identity/ed25519-sans.der");
    let der = std::fs::read(seed).expect("seed certificate");
    let id = strait_net::tls::peer_identity(&der).expect("a certificate");
    // E-mail, DNS and URI SANs first, in that order; the subject (as Go prints it) last.
    assert_eq!(id.names[..3], ["gw@example.com", "gw.example.com", "nats://gw.example.com"]);
    assert!(id.names[3].starts_with("CN=gw-x,OU=Gateways,O=Strait,C=US"), "{:?}", id.names);
    assert_eq!(id.dns_names, ["gw.example.com"]);
}
