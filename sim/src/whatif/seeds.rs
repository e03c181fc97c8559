//! Random combinations of faults (`strait-sim whatif … --seeds N [--seed S]`): for each seed
//! from `S` (default 0) on, a generator seeded by it alone (ChaCha8; no clock, no global
//! generator) draws two or three faults from the list `--faults` runs one at a time
//! ([`faults::candidates`]), each starting at a random millisecond from the end of formation
//! within twice the partition hold (so they overlap or not), and runs them together with the
//! same seed ([`faults::run_together`]). Per seed, the report says which pairs lost delivery,
//! whether it came back within the heal bound of `--faults` after the last fault was lifted,
//! and whether a probe message arrived twice or out of order; a seed with either is a
//! finding. Its replay command names every fault with its start time (`--fault SPEC@T`), so
//! the exact combination runs again.
//!
//! Two faults never act on the same thing: no host crashes twice, and no two partitions cut
//! the same pair of hosts (lifting one would lift the other).

use std::fmt;
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::faults::{self, Bounds, Fault, Outcome, Timed, timed_spec, write_worst_first};
use super::{FORMATION, Link, ServerFile, Settings};

/// The combination of faults seed `seed` draws from `candidates`: two or three (fewer if there
/// are fewer candidates that do not clash), each starting within `2 × hold` of the end of
/// formation, in time order.
pub fn draw(seed: u64, candidates: &[Fault], hold: Duration) -> Vec<Timed> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let want = 2 + (rng.next_u32() % 2) as usize;
    let mut pool: Vec<&Fault> = candidates.iter().collect();
    let mut chosen: Vec<&Fault> = Vec::new();
    while chosen.len() < want && !pool.is_empty() {
        let pick = pool.swap_remove(rng.next_u32() as usize % pool.len());
        if !chosen.iter().any(|c| clash(c, pick)) {
            chosen.push(pick);
        }
    }
    let spread = 2 * hold.as_millis() as u64 + 1;
    let mut out: Vec<Timed> = chosen
        .into_iter()
        .map(|f| (f.clone(), FORMATION + Duration::from_millis(rng.next_u64() % spread)))
        .collect();
    out.sort_by_key(|(_, at)| *at);
    out
}

/// Whether two faults act on the same host (crashes) or the same pair of hosts (partitions).
fn clash(a: &Fault, b: &Fault) -> bool {
    let crash = |f: &Fault| matches!(f, Fault::Crash(_) | Fault::Down(_));
    if crash(a) != crash(b) {
        return false;
    }
    let (mut x, mut y) = (a.hosts(), b.hosts());
    x.sort_unstable();
    y.sort_unstable();
    x == y
}

/// The report of every seed.
#[derive(Debug)]
pub struct SeedReport {
    /// How long partitions were held and delivery had to be back.
    pub bounds: Bounds,
    /// Per seed, in order: the seed and what its combination did.
    pub runs: Vec<(u64, Outcome)>,
}

impl SeedReport {
    /// Whether no seed is a finding.
    pub fn healed(&self) -> bool {
        !self.runs.iter().any(|(_, o)| o.finding())
    }

    /// For CI pipelines.
    pub fn to_json(&self) -> serde_json::Value {
        let runs: Vec<serde_json::Value> = self
            .runs
            .iter()
            .map(|(seed, o)| {
                let mut j = o.to_json();
                j["seed"] = (*seed).into();
                j
            })
            .collect();
        self.bounds.json(self.healed(), "seeds", runs)
    }
}

impl fmt::Display for SeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Bounds { hold, heal } = self.bounds;
        let (first, n) = (self.runs.first().map_or(0, |(s, _)| *s), self.runs.len());
        writeln!(
            f,
            "random combinations of 2-3 faults, seeds {first}..{} (starting within {:?} of {FORMATION:?}; partitions held {hold:?}, delivery back within {heal:?} of the last lift):",
            first + n as u64,
            2 * hold
        )?;
        let labelled: Vec<(String, &Outcome)> = self
            .runs
            .iter()
            .map(|(seed, o)| {
                let specs: Vec<String> = o.faults.iter().map(timed_spec).collect();
                (format!("seed {seed} ({})", specs.join(" ")), o)
            })
            .collect();
        write_worst_first(f, &labelled)?;
        let found = self.runs.iter().filter(|(_, o)| o.finding()).count();
        writeln!(
            f,
            "{n} seeds, {found} with a loss of delivery that does not heal by itself or a duplicate or reordered message"
        )
    }
}

/// Run `n` seeds from `settings.seed` on: each draws its combination from the faults of
/// `links` (from formation) and runs it with its own seed.
pub fn run_seeds(files: &[ServerFile], settings: &Settings, links: &[Link], n: u64) -> SeedReport {
    let candidates = faults::candidates(files, links);
    let bounds = Bounds::of(files);
    let runs = (settings.seed..settings.seed + n)
        .map(|seed| {
            let combination = draw(seed, &candidates, bounds.hold);
            let settings = Settings { seed, ..settings.clone() };
            (seed, faults::run_together(files, &settings, &combination, bounds))
        })
        .collect();
    SeedReport { bounds, runs }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(a: &str, b: &str) -> Link {
        Link { kind: "gateway", a: a.to_owned(), b: b.to_owned() }
    }

    #[test]
    fn draws_two_or_three_faults_that_do_not_clash_reproducibly() {
        let mut candidates: Vec<Fault> = ["a", "b", "c"].map(|h| Fault::Crash(h.into())).into();
        for l in [link("a", "b"), link("b", "c")] {
            candidates.push(Fault::Partition(l.clone()));
            candidates.push(Fault::OneWay(l.clone(), false));
            candidates.push(Fault::OneWay(l, true));
        }
        let hold = Duration::from_secs(10);
        let mut sizes = Vec::new();
        for seed in 0..50 {
            let drawn = draw(seed, &candidates, hold);
            assert_eq!(drawn, draw(seed, &candidates, hold), "seed {seed}");
            sizes.push(drawn.len());
            for (i, (x, at)) in drawn.iter().enumerate() {
                assert!(*at >= FORMATION && *at <= FORMATION + 2 * hold, "seed {seed}");
                assert!(drawn[i + 1..].iter().all(|(y, _)| !clash(x, y)), "seed {seed}");
            }
            assert!(drawn.windows(2).all(|w| w[0].1 <= w[1].1), "seed {seed}");
        }
        assert!(sizes.contains(&2) && sizes.contains(&3), "{sizes:?}");
        assert!(sizes.iter().all(|n| (2..=3).contains(n)), "{sizes:?}");
    }

    #[test]
    fn a_printed_combination_parses_back() {
        let timed = (Fault::Partition(link("a", "b")), Duration::from_millis(31_250));
        let spec = timed_spec(&timed);
        assert_eq!(spec, "partition:a:b@31.250s");
        let (fault, at) = faults::parse_timed(&spec).expect("parses");
        assert_eq!((fault.spec(), at), (timed.0.spec(), Some(timed.1)));
        assert_eq!(faults::parse_timed("crash:a@20s").and_then(|(_, t)| t), Some(FORMATION));
        assert_eq!(
            faults::parse_timed("down:a").map(|(f, t)| (f.spec(), t)),
            Some(("down:a".into(), None))
        );
        assert!(faults::parse_timed("crash:a@1.2345s").is_none());
    }
}
