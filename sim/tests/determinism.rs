//! Every run is a pure function of its seed: the same seed twice gives the same event trace
//! (compared by digest), and another seed gives another one (style rule 18).

use strait_sim::{RunConfig, run};

#[test]
fn same_seed_same_trace_other_seed_other_trace() {
    let seed = 42;
    let a = run(&RunConfig::seeded(seed));
    let b = run(&RunConfig::seeded(seed));
    assert!(a.events > 1000, "a run that does little proves little: {a}");
    assert_eq!(
        (a.digest, a.events, a.simulated),
        (b.digest, b.events, b.simulated),
        "seed {seed} is not deterministic:\n{a}\n{b}"
    );
    let c = run(&RunConfig::seeded(seed + 1));
    assert_ne!(a.digest, c.digest, "seeds {seed} and {} gave the same trace", seed + 1);
}
