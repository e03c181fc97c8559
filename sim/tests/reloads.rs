//! Configuration reload faults written by hand: a remote gateway removed and put back, a
//! password rotated and rotated back, and a server that restarts in between and reads the
//! file as it is then. Every invariant of a seeded run must hold.

use std::time::Duration;

use strait_sim::faults::{Fault, FaultSchedule, Timed};
use strait_sim::{Faults, RunConfig, RunReport, run};

fn at(ms: u64, fault: Fault) -> Timed {
    Timed { at: Duration::from_millis(ms), fault }
}

fn scenario(seed: u64, clusters: usize, clients: usize, faults: Vec<Timed>) -> RunReport {
    let report = run(&RunConfig {
        seed,
        clusters: Some(clusters),
        clients: Some(clients),
        faults: Faults::Manual(FaultSchedule::manual(faults)),
        trace: false,
        relay: false,
    });
    report.assert_ok();
    assert!(report.stats.expected > 0, "nothing was required to arrive:\n{report}");
    report
}

/// Every cluster but the first lists an earlier one, so C1 always lists C0.
fn remove_c0_from_c1(duration: Duration) -> Fault {
    Fault::RemoveGateway { server: "c1-s0".into(), remote: "C0".into(), duration }
}

/// C1 drops its explicit remote C0 (its outbound link closes) and takes it back; the mesh
/// heals and traffic both ways is required again afterwards.
#[test]
fn gateway_removed_and_put_back() {
    let report = scenario(41, 3, 8, vec![at(4000, remove_c0_from_c1(Duration::from_secs(3)))]);
    assert_eq!(report.stats.reloads, 2, "both reloads must be accepted:\n{report}");
    assert_eq!(report.stats.gateways_reloaded, 2, "removed, then added:\n{report}");
    assert!(report.stats.expected_remote > 0, "nothing crossed a gateway:\n{report}");
}

/// A password is rotated on the only server: that account's clients are turned away, log in
/// with the new one, and again when it is rotated back; the other account's clients are not
/// touched (a refusal of theirs is a violation).
#[test]
fn password_rotated_and_back() {
    let faults = vec![at(
        4000,
        Fault::RotatePassword {
            server: "c0-s0".into(),
            account: 0,
            duration: Duration::from_secs(3),
        },
    )];
    let report = scenario(43, 1, 8, faults);
    assert_eq!(report.stats.reloads, 2, "both reloads must be accepted:\n{report}");
    assert!(report.stats.turned_away >= 2, "no client was turned away:\n{report}");
}

/// The server crashes while its file lacks the remote: the restart reads the file as it is
/// (no C0), and the reload that puts C0 back reaches the new incarnation.
#[test]
fn restart_reads_the_reloaded_file() {
    let faults = vec![
        at(3000, remove_c0_from_c1(Duration::from_secs(5))),
        at(4500, Fault::CrashServer { server: "c1-s0".into(), down_for: Duration::from_secs(1) }),
    ];
    let report = scenario(47, 3, 8, faults);
    // The first reload and the one putting C0 back, which adds C0 only if the restarted
    // server read the file without it.
    assert_eq!(report.stats.reloads, 2, "{report}");
    assert_eq!(report.stats.gateways_reloaded, 2, "removed, then added:\n{report}");
}
