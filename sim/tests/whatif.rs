//! `strait-sim whatif`: the repository's example configurations form every link they should
//! and deliver between every pair of servers; deliberately flawed ones are reported with the
//! pairs that lose delivery and the servers' own words; the report is a function of the
//! files and the seed.

use std::path::PathBuf;

use strait_sim::whatif::{Report, formation, load};

/// The `.conf` files of `dir` (relative to the repository root), sorted.
fn files(dir: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    files.sort();
    files
}

fn report(dir: &str) -> Report {
    let loaded = load(&files(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
    formation(&loaded, 1)
}

#[test]
fn examples_form_every_link() {
    for dir in ["examples/supercluster", "examples/cluster", "examples/gossip"] {
        let r = report(dir);
        println!("{dir}:\n{r}");
        assert!(r.healthy() && r.converged.is_some(), "{dir}:\n{r}");
    }
    let r = report("examples/supercluster");
    let a1 = &r.servers[0].1;
    assert_eq!((a1.routes.len(), a1.outbound.len()), (2, 2), "{r}");
}

/// Each finding is asserted with the words the servers log.
#[test]
fn flawed_configurations_are_reported_with_the_reason() {
    let cases = [
        (
            "sim/tests/whatif/gateway-password",
            "B: no outbound gateway to A",
            "Authorization Violation",
        ),
        ("sim/tests/whatif/cluster-name", "s2: no route to s1", "does not match"),
        (
            "sim/tests/whatif/unreachable",
            "A: no outbound gateway to B",
            "none listens on 127.0.0.1:7999",
        ),
    ];
    for (dir, what, why) in cases {
        let r = report(dir);
        println!("{dir}:\n{r}");
        assert!(
            r.findings.iter().any(|f| f.contains(what) && f.contains(why)),
            "{dir}: no finding {what:?} for {why:?}:\n{r}"
        );
    }
    // Only the broken direction: A's own link to B formed, so A's messages reach B.
    let r = report("sim/tests/whatif/gateway-password");
    let lost = ["no delivery from B to A within 20s".to_owned()];
    assert_eq!(r.findings[..1], lost, "{r}");
    assert_eq!(r.findings.len(), 2, "{r}");
}

#[test]
fn tls_configurations_are_refused_until_simulated() {
    let err = load(&files("examples/tls")).expect_err("TLS files are not simulated yet");
    assert!(err.contains("TLS"), "{err}");
}

#[test]
fn json_report_for_pipelines() {
    let r = report("sim/tests/whatif/unreachable");
    let j = r.to_json();
    assert_eq!(j["healthy"], false, "{j:#}");
    assert_eq!(j["servers"][0]["name"], "A", "{j:#}");
    let finding = j["findings"][0].as_str().unwrap_or_default();
    assert!(finding.contains("none listens on 127.0.0.1:7999"), "{j:#}");
}

#[test]
fn same_files_same_seed_same_report() {
    let loaded = load(&files("examples/supercluster")).expect("examples load");
    let (a, b) = (formation(&loaded, 7), formation(&loaded, 7));
    assert_eq!(a.to_string(), b.to_string());
}
