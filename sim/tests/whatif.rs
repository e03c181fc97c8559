//! `strait-sim whatif`: the repository's example configurations form every link they should
//! and deliver between every pair of servers; deliberately flawed ones are reported with the
//! pairs that lose delivery and the servers' own words; the report is a function of the
//! files and the seed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use strait_sim::tls::{Ca, CertDir};
use strait_sim::whatif::{Report, Settings, formation, load};

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
    let loaded = load(&files(dir), None).unwrap_or_else(|e| panic!("{dir}: {e}"));
    formation(&loaded, &Settings::seeded(1))
}

/// The report on `dir`'s files with relative certificate paths read from `certs`.
fn report_in(dir: &str, certs: &Path) -> Report {
    let loaded = load(&files(dir), Some(certs)).unwrap_or_else(|e| panic!("{dir}: {e}"));
    formation(&loaded, &Settings::seeded(1))
}

/// Write `examples/tls/certs` as `scripts/gen-certs` lays it out (a root, an intermediate,
/// per cluster a chain and a key, the bundle `ca.pem`), with Ed25519 keys dated around the
/// simulation's epoch, under `dir`.
fn example_pki(dir: &Path) {
    let certs = dir.join("examples/tls/certs");
    std::fs::create_dir_all(&certs).expect("certificate directory");
    let root = Ca::root("Example Root", 1);
    let inter = root.intermediate("Example Intermediate", 2);
    let write = |name: &str, text: &str| std::fs::write(certs.join(name), text).expect("write");
    write("ca.pem", &format!("{}{}", root.pem, inter.pem));
    for (i, x) in ["a", "b", "c"].iter().enumerate() {
        let hosts = ["localhost".to_owned(), "127.0.0.1".to_owned()];
        let leaf = inter.leaf(&hosts, None, 10 + i as u64);
        write(&format!("gw-{x}.pem"), &format!("{}{}", leaf.cert, inter.pem));
        write(&format!("gw-{x}-key.pem"), &leaf.key);
    }
}

/// `sim/tests/whatif/ca-bundle`'s certificates: a root per cluster; C's bundle lacks B's.
fn ca_bundle_pki(dir: &Path) {
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).expect("certificate directory");
    let roots: Vec<Ca> =
        ["CA-A", "CA-B", "CA-C"].iter().zip(1..).map(|(n, i)| Ca::root(n, i)).collect();
    let write = |name: &str, text: &str| std::fs::write(certs.join(name), text).expect("write");
    let hosts = ["localhost".to_owned(), "127.0.0.1".to_owned()];
    for (i, x) in ["a", "b", "c"].iter().enumerate() {
        let leaf = roots[i].leaf(&hosts, None, 10 + i as u64);
        write(&format!("{x}.pem"), &leaf.cert);
        write(&format!("{x}-key.pem"), &leaf.key);
        let trusted = if *x == "c" { vec![0, 2] } else { vec![0, 1, 2] };
        let bundle: String = trusted.iter().map(|&t| roots[t].pem.as_str()).collect();
        write(&format!("{x}-ca.pem"), &bundle);
    }
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
            "sim/tests/whatif/reject-unknown",
            "C: no outbound gateway to A",
            "a: Rejecting connection from gateway \"C\"",
        ),
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

/// `examples/tls` as written (paths relative to the repository root), with certificates laid
/// out as `scripts/gen-certs` writes them: mutual TLS on every gateway, TLS for the probes.
#[test]
fn tls_example_forms_every_link() {
    let dir = CertDir::new("whatif-tls-example", 1);
    example_pki(dir.path());
    let r = report_in("examples/tls", dir.path());
    println!("{r}");
    assert!(r.healthy() && r.converged.is_some(), "{r}");
    assert!(r.servers.iter().all(|(_, f)| f.outbound.len() == 2 && f.inbound.len() == 2), "{r}");
    // rcgen's certificates expire in 4096: reported, not a finding.
    let loaded = load(&files("examples/tls"), Some(dir.path())).expect("loads");
    let d = strait_sim::whatif::expiry::run_dates(&loaded, &Settings::seeded(1), &[]);
    println!("{d}");
    assert!(!d.dates.is_empty() && !d.breaks_within(strait_sim::whatif::expiry::HORIZON), "{d}");
}

/// A bundle missing another cluster's CA: both directions between B and C fail, each with
/// the TLS verification error the servers log; A reaches both.
#[test]
fn ca_bundle_missing_a_cluster_is_reported_with_the_verification_error() {
    let dir = CertDir::new("whatif-ca-bundle", 1);
    ca_bundle_pki(dir.path());
    let r = report_in("sim/tests/whatif/ca-bundle", dir.path());
    println!("{r}");
    for (what, why) in [
        (
            "C: no outbound gateway to B (c: TLS gateway handshake error: tls: failed to verify certificate: x509: certificate signed by unknown authority",
            "b: TLS gateway handshake error: remote error: tls: unknown certificate authority",
        ),
        (
            "B: no outbound gateway to C (b: TLS gateway handshake error: remote error: tls: unknown certificate authority",
            "c: TLS gateway handshake error: tls: failed to verify certificate: x509: certificate signed by unknown authority",
        ),
    ] {
        assert!(
            r.findings.iter().any(|f| f.contains(what) && f.contains(why)),
            "no finding {what:?} for {why:?}:\n{r}"
        );
    }
    let lost: Vec<&String> = r.findings.iter().filter(|f| f.starts_with("no delivery")).collect();
    assert_eq!(lost.len(), 2, "B to C and C to B:\n{r}");
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
    let loaded = load(&files("examples/supercluster"), None).expect("examples load");
    let settings = Settings::seeded(7);
    let (a, b) = (formation(&loaded, &settings), formation(&loaded, &settings));
    assert_eq!(a.to_string(), b.to_string());
    // A crash, TLS and all (Ed25519 keys: handshakes of fixed sizes), in a fresh process each
    // time, as its replay command runs: tokio numbers tasks per process, and the order in which
    // a crashed host's sockets are torn down follows those numbers (see `src/main.rs`).
    let dir = CertDir::new("whatif-determinism", 7);
    ca_bundle_pki(dir.path());
    let cli = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_strait-sim"));
        cmd.arg("whatif").args(files("sim/tests/whatif/ca-bundle"));
        cmd.args(["--seed", "7", "--at", "1700000000", "--fault", "crash:a", "--json", "--dir"]);
        let out = cmd.arg(dir.path()).output().expect("strait-sim runs");
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let first = cli();
    assert!(first.contains("\"spec\": \"crash:a\""), "{first}");
    assert_eq!(first, cli());
}

/// Implicit gateways with `connect_retries: 0`: cut A from C until keep-alive drops both
/// links, and neither ever dials the other again; the finding names both pairs and the
/// command that replays it. A crash and a cut of an explicit link heal by themselves.
#[test]
fn implicit_gateway_cut_off_never_heals() {
    use strait_sim::whatif::faults::{Fault, run_faults};
    let loaded = load(&files("sim/tests/whatif/implicit"), None).expect("fixture loads");
    let settings = Settings::seeded(1);
    let formed = formation(&loaded, &settings);
    assert!(formed.healthy(), "{formed}");
    let only: Vec<Fault> = ["partition:a:c", "crash:a", "partition:a:b"]
        .iter()
        .map(|s| Fault::parse(s).expect("a fault"))
        .collect();
    let r = run_faults(&loaded, &settings, &formed.links, (&only, &[]));
    println!("{r}");
    assert!(!r.healed(), "{r}");
    assert_eq!(r.outcomes.len(), 3, "{r}");
    let outcome = |spec: &str| r.outcomes.iter().find(|o| o.specs() == [spec]).expect(spec);
    let (cut, crash, explicit) =
        (outcome("partition:a:c"), outcome("crash:a"), outcome("partition:a:b"));
    assert!(cut.unhealed(), "{r}");
    let pairs: Vec<(&str, &str)> =
        cut.losses.iter().map(|l| (l.from.as_str(), l.to.as_str())).collect();
    assert_eq!(pairs.len(), 2, "{r}");
    assert!(pairs.contains(&("A", "C")) && pairs.contains(&("C", "A")), "{r}");
    assert!(cut.replay.ends_with("--fault partition:a:c --trace"), "{r}");
    assert!(r.to_string().contains(&cut.replay), "{r}");
    for healed in [crash, explicit] {
        assert!(!healed.losses.is_empty() && !healed.unhealed(), "{r}");
    }
}

/// A certificate that expires in 30 days: the report names the date and the file, the pairs
/// it breaks on their next handshake (both ways: A cannot verify B, B's client certificate is
/// refused), and that the established links hide it until a reconnect.
#[test]
fn certificate_expiring_in_30_days_breaks_links_at_the_next_handshake() {
    use strait_sim::whatif::dates;
    use strait_sim::whatif::expiry::run_dates;
    let dir = CertDir::new("whatif-expiry", 1);
    let certs = dir.path().join("certs");
    std::fs::create_dir_all(&certs).expect("certificate directory");
    let ca = Ca::root("CA", 1);
    let write = |name: &str, text: &str| std::fs::write(certs.join(name), text).expect("write");
    let hosts = ["localhost".to_owned(), "127.0.0.1".to_owned()];
    let days30 = Duration::from_secs(30 * 86_400);
    for (x, not_after, serial) in [("a", None, 10), ("b", Some(days30), 11)] {
        let leaf = ca.leaf(&hosts, not_after, serial);
        write(&format!("{x}.pem"), &leaf.cert);
        write(&format!("{x}-key.pem"), &leaf.key);
    }
    write("ca.pem", &ca.pem);
    let loaded =
        load(&files("sim/tests/whatif/expiry"), Some(dir.path())).expect("the fixture loads");
    let settings = Settings::seeded(1);
    assert!(formation(&loaded, &settings).healthy());
    let expires = settings.start + days30;
    let r = run_dates(&loaded, &settings, &[expires]);
    println!("{r}");
    assert!(!r.unbroken() && r.breaks_within(Duration::from_secs(31 * 86_400)), "{r}");
    let [d] = &r.dates[..] else { panic!("one date:\n{r}") };
    assert_eq!(dates::format(d.at), "2023-12-14 22:13:20 UTC", "{r}");
    assert!(d.events.iter().any(|e| e.ends_with("b.pem (CN=localhost, used by B) expires")), "{r}");
    let mut pairs: Vec<(&str, &str, bool)> =
        d.changes.iter().map(|c| (c.from.as_str(), c.to.as_str(), c.broken && c.silent)).collect();
    pairs.sort();
    assert_eq!(pairs, [("A", "B", true), ("B", "A", true)], "{r}");
    assert!(d.changes.iter().all(|c| c.why.contains("x509: certificate has expired")), "{r}");
    assert!(d.replay.contains(&format!("--date {} --trace", expires.as_secs())), "{r}");
}

/// A CA rotation by reloads, checked before it is done: removing the old CA from A's bundle
/// first loses A↔B at the first step (the established links hide it until the reconnect);
/// the bundle-first order keeps every pair delivering through every step.
#[test]
fn ca_rotation_plan_that_drops_the_old_ca_first_is_caught() {
    use strait_sim::whatif::plan::{Step, run_plan};
    let dir = CertDir::new("whatif-ca-rotation", 1);
    let certs = dir.path().join("certs");
    std::fs::create_dir_all(&certs).expect("certificate directory");
    let cas = [Ca::root("CA1", 1), Ca::root("CA2", 2)];
    let write = |name: &str, text: &str| std::fs::write(certs.join(name), text).expect("write");
    let hosts = ["localhost".to_owned(), "127.0.0.1".to_owned()];
    for (name, ca, serial) in [("a1", 0, 10), ("b1", 0, 11), ("a2", 1, 12), ("b2", 1, 13)] {
        let leaf = cas[ca].leaf(&hosts, None, serial);
        write(&format!("{name}.pem"), &leaf.cert);
        write(&format!("{name}-key.pem"), &leaf.key);
    }
    write("ca1.pem", &cas[0].pem);
    write("ca2.pem", &cas[1].pem);
    write("ca12.pem", &format!("{}{}", cas[0].pem, cas[1].pem));
    let fixture = "sim/tests/whatif/ca-rotation";
    let loaded = load(&files(fixture), Some(dir.path())).expect("the fixture loads");
    let settings = Settings { dir: Some(dir.path().to_owned()), ..Settings::seeded(1) };
    let step_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(fixture).join("steps");
    let plan = |steps: &[&str]| {
        let steps: Vec<Step> = steps
            .iter()
            .map(|s| {
                let (target, new) = s.split_once('=').expect("F=NEW");
                let spec = format!("{target}={}", step_dir.join(new).display());
                Step::parse(&loaded, &spec, Some(dir.path())).expect("the step loads")
            })
            .collect();
        run_plan(&loaded, &settings, &steps).expect("the plan runs")
    };
    let wrong = plan(&["A.conf=A-new.conf", "B.conf=B-new.conf"]);
    println!("{wrong}");
    assert_eq!(wrong.first_broken(), Some(1), "{wrong}");
    let first = &wrong.steps[0];
    assert!(first.reload.is_ok(), "{wrong}");
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(first.lost, [pair("A", "B"), pair("B", "A")], "{wrong}");
    assert_eq!(first.kept_until_reconnect, first.lost, "{wrong}");
    let why = first.why.as_deref().unwrap_or_default();
    assert!(why.contains("x509: certificate signed by unknown authority"), "{wrong}");
    assert!(wrong.replay.contains("--step A.conf="), "{wrong}");
    let right = plan(&[
        "A.conf=A-both.conf",
        "B.conf=B-new.conf",
        "A.conf=A-new.conf",
        "B.conf=B-only-new.conf",
    ]);
    println!("{right}");
    assert_eq!(right.first_broken(), None, "{right}");
}

/// The report on `dir`'s files with `faults`, each alone from the end of formation (which
/// must be healthy).
fn with_faults(dir: &str, faults: &[&str]) -> strait_sim::whatif::faults::FaultReport {
    use strait_sim::whatif::faults::{Fault, run_faults};
    let loaded = load(&files(dir), None).unwrap_or_else(|e| panic!("{dir}: {e}"));
    let settings = Settings::seeded(1);
    let formed = formation(&loaded, &settings);
    assert!(formed.healthy(), "{dir}:\n{formed}");
    let only: Vec<Fault> = faults.iter().map(|s| Fault::parse(s).expect("a fault")).collect();
    run_faults(&loaded, &settings, &formed.links, (&only, &[]))
}

/// B lists cluster A by one URL, a1's, and a1 goes down for good. B learned a2's gateway URL
/// from A's INFO and from a2's own link, re-dials it, and b -> a2 heals (as nats-server does).
/// When a2 advertises an address B cannot reach, a1's is the only usable URL of A that B ever
/// knows: b -> a2 never heals, and the report says what b logged dialling A.
#[test]
fn remote_listed_by_one_url_whose_server_is_down() {
    let pairs = |o: &strait_sim::whatif::faults::Outcome, back: bool| -> Vec<(String, String)> {
        let lost = o.losses.iter().filter(|l| l.back_at.is_some() == back);
        lost.map(|l| (l.from.clone(), l.to.clone())).collect()
    };
    let b_to_a2 = vec![("b".to_owned(), "a2".to_owned())];
    let heals = with_faults("sim/tests/whatif/one-url", &["down:a1"]);
    println!("{heals}");
    let [o] = &heals.outcomes[..] else { panic!("one run:\n{heals}") };
    assert!(heals.healed(), "{heals}");
    assert_eq!((pairs(o, true), o.down.clone()), (b_to_a2.clone(), vec!["a1".to_owned()]));
    let never = with_faults("sim/tests/whatif/one-url-advertised", &["down:a1"]);
    println!("{never}");
    let [o] = &never.outcomes[..] else { panic!("one run:\n{never}") };
    assert!(!never.healed() && o.unhealed(), "{never}");
    assert_eq!(pairs(o, false), b_to_a2, "{never}");
    let why = o.why.as_deref().unwrap_or_default();
    let dial = "b: Error connecting to explicit gateway \"A\" (10.0.0.2:17223)";
    assert!(why.contains(dial) && why.contains("no configuration file listens on"), "{never}");
    assert!(o.replay.ends_with("--fault down:a1 --trace"), "{never}");
    assert!(never.to_string().contains("DOES NOT HEAL"), "{never}");
}

/// `--seeds`: each seed draws two or three faults and runs them together; the report is a
/// function of the seeds, and each seed's printed `--fault SPEC@T` arguments run the same
/// combination again, with the same pairs losing and healing (timings may differ by
/// milliseconds within one process, see `src/main.rs`).
#[test]
fn random_fault_combinations_replay_from_their_seed() {
    use strait_sim::whatif::faults::{Bounds, parse_timed, run_together};
    use strait_sim::whatif::seeds::run_seeds;
    let loaded = load(&files("sim/tests/whatif/implicit"), None).expect("fixture loads");
    let links = formation(&loaded, &Settings::seeded(1)).links;
    let r = run_seeds(&loaded, &Settings::seeded(0), &links, 3);
    println!("{r}");
    assert_eq!(r.runs.iter().map(|(s, _)| *s).collect::<Vec<u64>>(), [0, 1, 2], "{r}");
    assert_eq!(r.to_string(), run_seeds(&loaded, &Settings::seeded(0), &links, 3).to_string());
    let verdicts = |o: &strait_sim::whatif::faults::Outcome| -> Vec<(String, String, bool)> {
        let mut v: Vec<_> =
            o.losses.iter().map(|l| (l.from.clone(), l.to.clone(), l.back_at.is_some())).collect();
        v.sort();
        v
    };
    for (seed, o) in &r.runs {
        assert!((2..=3).contains(&o.faults.len()), "seed {seed}:\n{r}");
        assert!(o.replay.contains(&format!("--seed {seed} ")), "{}", o.replay);
        let given: Vec<_> = o
            .replay
            .split(" --fault ")
            .skip(1)
            .map(|a| parse_timed(a.trim_end_matches(" --trace")).expect("a timed fault"))
            .map(|(fault, at)| (fault, at.expect("a start time")))
            .collect();
        assert_eq!(given.len(), o.faults.len(), "{}", o.replay);
        let again = run_together(&loaded, &Settings::seeded(*seed), &given, Bounds::of(&loaded));
        assert_eq!(verdicts(&again), verdicts(o), "seed {seed}:\n{r}");
        assert_eq!(again.unhealed(), o.unhealed(), "seed {seed}");
    }
    // The command line: one entry per seed in --json, the exit status says whether any is a
    // finding.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_strait-sim"))
        .arg("whatif")
        .args(files("sim/tests/whatif/implicit"))
        .args(["--at", "1700000000", "--seeds", "2", "--seed", "5", "--json"])
        .output()
        .expect("strait-sim runs");
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let seeds = j["seeds"]["seeds"].as_array().expect("seeds");
    assert_eq!(seeds.iter().map(|s| s["seed"].as_u64()).collect::<Vec<_>>(), [Some(5), Some(6)]);
    assert!(seeds.iter().all(|s| s["replay"].as_str().is_some_and(|r| r.contains("@"))), "{j:#}");
    assert_eq!(out.status.success(), j["seeds"]["healed"] == true, "{j:#}");
}

/// Per account: cluster B puts TEAM's user in an account named TEAMS. The gateways form and
/// OPS delivers both ways (a crash of b loses and heals it, so it delivered before), while
/// TEAM never does, and the report names that account, where it is misnamed, and the pairs.
#[test]
fn account_misnamed_on_one_cluster_is_reported_in_that_account() {
    use strait_sim::whatif::faults::{Fault, run_faults};
    let r = report("sim/tests/whatif/account-name");
    println!("{r}");
    let team = "TEAM (TEAMS on B)";
    let lost: Vec<(&str, &str, Option<&str>)> = r
        .undelivered
        .iter()
        .map(|u| (u.from.as_str(), u.to.as_str(), u.account.as_deref()))
        .collect();
    assert_eq!(lost, [("A", "B", Some(team)), ("B", "A", Some(team))], "{r}");
    let line = format!("no delivery from A to B in account {team} within 20s");
    assert_eq!(r.findings.len(), 2, "only TEAM's pairs, every link formed:\n{r}");
    assert_eq!(r.findings[0], line, "{r}");
    assert_eq!(r.to_json()["undelivered"][1]["account"], team, "{r}");
    let loaded = load(&files("sim/tests/whatif/account-name"), None).expect("fixture loads");
    let crash = [Fault::parse("crash:b").expect("a fault")];
    let f = run_faults(&loaded, &Settings::seeded(1), &r.links, (&crash, &[]));
    println!("{f}");
    let [o] = &f.outcomes[..] else { panic!("one run:\n{f}") };
    let mut ops: Vec<(&str, &str, Option<&str>, bool)> = o
        .losses
        .iter()
        .map(|l| (l.from.as_str(), l.to.as_str(), l.account.as_deref(), l.back_at.is_some()))
        .collect();
    ops.sort();
    assert_eq!(ops, [("A", "B", Some("OPS"), true), ("B", "A", Some("OPS"), true)], "{f}");
    assert!(f.to_string().contains("A to B in account OPS: lost from"), "{f}");
}
