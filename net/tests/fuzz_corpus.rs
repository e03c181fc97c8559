//! Replays the checked-in corpus and regressions of the `tls_identity` fuzz target, so
//! `cargo test` keeps what the fuzzer found without running it.

use std::path::Path;

fn replay(dir: &str) -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz").join(dir).join("tls_identity");
    let Ok(entries) = std::fs::read_dir(&path) else {
        return 0;
    };
    let mut files: Vec<_> = entries.map(|e| e.expect("entry").path()).collect();
    files.sort();
    for file in &files {
        let data = std::fs::read(file).expect("corpus file");
        let outcome = std::panic::catch_unwind(|| strait_net::tls::check_peer_identity(&data));
        assert!(outcome.is_ok(), "fuzz input {} fails", file.display());
    }
    files.len()
}

#[test]
fn tls_identity_corpus() {
    assert!(replay("corpus") > 0, "no corpus files for tls_identity");
}

#[test]
fn tls_identity_regressions() {
    replay("regressions");
}

/// The seed certificates are read, with the names `verify_and_map` would try.
#[test]
fn seed_certificates_are_read() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/tls_identity");
    let der = std::fs::read(dir.join("ed25519-sans.der")).expect("seed certificate");
    let id = strait_net::tls::peer_identity(&der).expect("a certificate");
    // E-mail, DNS and URI SANs first, in that order; the subject (as Go prints it) last.
    assert_eq!(id.names[..3], ["gw@example.com", "gw.example.com", "nats://gw.example.com"]);
    assert!(id.names[3].starts_with("CN=gw-x,OU=Gateways,O=Strait,C=US"), "{:?}", id.names);
    assert_eq!(id.dns_names, ["gw.example.com"]);
}
