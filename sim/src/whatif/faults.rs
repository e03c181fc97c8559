//! Faults, one at a time (`strait-sim whatif … --faults`): after formation, each server is
//! crashed and restarted, and each route and gateway link that formed is partitioned both ways
//! and one way in each direction, each in a run of its own from the same seed. The probes keep
//! publishing between every pair of servers throughout, so for each fault the report says
//! which pairs lost delivery, from when and for how long, and whether delivery came back by
//! itself within the servers' own stale-link time plus [`HEAL`] of the fault being lifted.
//!
//! A partition lasts as long as the servers' own keep-alive needs to notice it
//! (`ping_interval` × (`ping_max` + 1), the longest of any file) plus a margin: turmoil drops
//! the segments of an open stream silently, and a shorter cut would model a TCP stream that
//! lost data without noticing, which real TCP does not do.
//!
//! The runs share this process: after a crash, the timings of a later run may differ by
//! milliseconds from its replay, which runs in a fresh process (tokio numbers tasks per
//! process; see `src/main.rs`).

use std::fmt;
use std::time::Duration;

use super::{Event, FORMATION, Link, Script, ServerFile, Settings, run};

/// How long a crashed server stays down.
pub const DOWN: Duration = Duration::from_secs(5);

/// How long after a fault is lifted delivery must be back for the fault to heal by itself,
/// beyond the servers' own stale-link time (a link opened just before the lift may have lost
/// its first bytes to the cut, which turmoil does not retransmit, and only the server's timers
/// end it).
pub const HEAL: Duration = Duration::from_secs(30);

/// A silence between two probe arrivals longer than this is a loss (probes publish every
/// 250 ms).
const GAP: Duration = Duration::from_secs(1);

/// One fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The server on host `.0` crashes and restarts [`DOWN`] later.
    Crash(String),
    /// Traffic between the hosts of a link is dropped both ways.
    Partition(Link),
    /// Traffic from `.0.a` to `.0.b` only is dropped (with `.1`: from `b` to `a`).
    OneWay(Link, bool),
}

impl Fault {
    /// Parse the form [`Fault`]'s `Display` prints as a replay argument (`crash:HOST`,
    /// `partition:A:B`, `oneway:FROM:TO`); the kind of link is not needed to replay one.
    pub fn parse(spec: &str) -> Option<Fault> {
        let parts: Vec<&str> = spec.split(':').collect();
        let link = |a: &str, b: &str| Link { kind: "link", a: a.to_owned(), b: b.to_owned() };
        match parts[..] {
            ["crash", h] => Some(Fault::Crash(h.to_owned())),
            ["partition", a, b] => Some(Fault::Partition(link(a, b))),
            ["oneway", a, b] => Some(Fault::OneWay(link(a, b), false)),
            _ => None,
        }
    }

    /// The argument of `--fault` that replays it.
    pub fn spec(&self) -> String {
        match self {
            Fault::Crash(h) => format!("crash:{h}"),
            Fault::Partition(l) => format!("partition:{}:{}", l.a, l.b),
            Fault::OneWay(l, false) => format!("oneway:{}:{}", l.a, l.b),
            Fault::OneWay(l, true) => format!("oneway:{}:{}", l.b, l.a),
        }
    }

    /// Whether `self` and `other` are the same fault (a parsed one does not know the kind).
    fn same(&self, other: &Fault) -> bool {
        self.spec() == other.spec()
    }

    /// The events of the fault starting at `at` and lifted after `hold` (a crash: after
    /// [`DOWN`]), and when it is lifted.
    fn events(&self, at: Duration, hold: Duration) -> (Vec<(Duration, Event)>, Duration) {
        let (on, off, lifted) = match self {
            Fault::Crash(h) => (Event::Crash(h.clone()), Event::Restart(h.clone()), at + DOWN),
            Fault::Partition(l) => {
                let (a, b) = (l.a.clone(), l.b.clone());
                (Event::Cut(a.clone(), b.clone(), true), Event::Mend(a, b, true), at + hold)
            }
            Fault::OneWay(l, back) => {
                let (a, b) = if *back { (&l.b, &l.a) } else { (&l.a, &l.b) };
                let (a, b) = (a.clone(), b.clone());
                (Event::Cut(a.clone(), b.clone(), false), Event::Mend(a, b, false), at + hold)
            }
        };
        (vec![(at, on), (lifted, off)], lifted)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Crash(h) => write!(f, "crash of {h} (restarted after {DOWN:?})"),
            Fault::Partition(l) => {
                write!(f, "partition {} <-> {} ({} link, both ways)", l.a, l.b, l.kind)
            }
            Fault::OneWay(l, false) => {
                write!(f, "partition {} -> {} ({} link, one way)", l.a, l.b, l.kind)
            }
            Fault::OneWay(l, true) => {
                write!(f, "partition {} -> {} ({} link, one way)", l.b, l.a, l.kind)
            }
        }
    }
}

/// One pair of servers that lost delivery during a fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loss {
    /// Publishing server (name).
    pub from: String,
    /// Receiving server (name).
    pub to: String,
    /// The last arrival before delivery stopped.
    pub lost_at: Duration,
    /// Simulated time without delivery, in total, from the fault on.
    pub lost_for: Duration,
    /// The arrival after which delivery has not stopped again, if delivery is back at the end.
    pub back_at: Option<Duration>,
}

/// What one fault did.
#[derive(Debug)]
pub struct Outcome {
    /// The fault.
    pub fault: Fault,
    /// When it started and when it was lifted.
    pub window: (Duration, Duration),
    /// Pairs that lost delivery, those not back first.
    pub losses: Vec<Loss>,
    /// The command that replays it with tracing.
    pub replay: String,
    /// How long after the lift delivery had to be back.
    pub heal: Duration,
}

impl Outcome {
    /// Whether some pair lost delivery and did not get it back within the heal window.
    pub fn unhealed(&self) -> bool {
        self.losses.iter().any(|l| l.back_at.is_none())
    }

    /// The report lines: one per pair, the replay command last.
    pub fn lines(&self) -> Vec<String> {
        let lifted = self.window.1;
        let mut out = Vec::new();
        for l in &self.losses {
            let back = match l.back_at {
                Some(t) if t <= lifted => format!("back at {t:.2?}, before the fault was lifted"),
                Some(t) => {
                    format!("back at {t:.2?}, {:.2?} after the fault was lifted", t - lifted)
                }
                None => {
                    format!("NOT back {:?} after the fault was lifted (at {lifted:.2?})", self.heal)
                }
            };
            out.push(format!(
                "{} to {}: lost from {:.2?} for {:.2?}; {back}",
                l.from, l.to, l.lost_at, l.lost_for
            ));
        }
        out
    }
}

/// The report of every fault.
#[derive(Debug)]
pub struct FaultReport {
    /// How long partitions were held.
    pub hold: Duration,
    /// How long after the lift delivery had to be back.
    pub heal: Duration,
    /// Per fault, in the order they ran.
    pub outcomes: Vec<Outcome>,
}

impl FaultReport {
    /// Whether every loss healed by itself.
    pub fn healed(&self) -> bool {
        !self.outcomes.iter().any(Outcome::unhealed)
    }

    /// For CI pipelines.
    pub fn to_json(&self) -> serde_json::Value {
        let outcomes: Vec<serde_json::Value> = self
            .outcomes
            .iter()
            .map(|o| {
                let losses: Vec<serde_json::Value> = o
                    .losses
                    .iter()
                    .map(|l| {
                        serde_json::json!({
                            "from": l.from,
                            "to": l.to,
                            "lost_at_ms": l.lost_at.as_millis() as u64,
                            "lost_for_ms": l.lost_for.as_millis() as u64,
                            "back_at_ms": l.back_at.map(|t| t.as_millis() as u64),
                        })
                    })
                    .collect();
                serde_json::json!({
                    "fault": o.fault.to_string(),
                    "spec": o.fault.spec(),
                    "from_ms": o.window.0.as_millis() as u64,
                    "lifted_ms": o.window.1.as_millis() as u64,
                    "healed": !o.unhealed(),
                    "losses": losses,
                    "replay": o.replay,
                })
            })
            .collect();
        serde_json::json!({
            "hold_ms": self.hold.as_millis() as u64,
            "heal_ms": self.heal.as_millis() as u64,
            "healed": self.healed(),
            "faults": outcomes,
        })
    }
}

impl fmt::Display for FaultReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.outcomes.len();
        writeln!(
            f,
            "faults, one at a time from {FORMATION:?} (partitions held {:?}, delivery back within {:?} of the lift):",
            self.hold, self.heal
        )?;
        // The worst first: losses that did not heal, then the longest.
        let mut order: Vec<&Outcome> = self.outcomes.iter().collect();
        order.sort_by_key(|o| {
            let longest = o.losses.iter().map(|l| l.lost_for).max().unwrap_or_default();
            (!o.unhealed(), std::cmp::Reverse(longest))
        });
        for o in order {
            match (o.losses.is_empty(), o.unhealed()) {
                (true, _) => writeln!(f, "  {}: no pair lost delivery", o.fault)?,
                (false, unhealed) => {
                    let verdict = if unhealed { "DOES NOT HEAL" } else { "heals" };
                    writeln!(f, "  {}: {verdict}", o.fault)?;
                    for line in o.lines() {
                        writeln!(f, "    {line}")?;
                    }
                    writeln!(f, "    replay: {}", o.replay)?;
                }
            }
        }
        let unhealed = self.outcomes.iter().filter(|o| o.unhealed()).count();
        writeln!(f, "{n} faults, {unhealed} with a loss of delivery that does not heal by itself")
    }
}

/// Every fault of `files` whose links are `links` (from formation): each server's crash, each
/// link's partitions. With `only`, just those faults.
pub fn candidates(files: &[ServerFile], links: &[Link]) -> Vec<Fault> {
    let mut out: Vec<Fault> = files.iter().map(|f| Fault::Crash(f.host.clone())).collect();
    for l in links {
        out.push(Fault::Partition(l.clone()));
        out.push(Fault::OneWay(l.clone(), false));
        out.push(Fault::OneWay(l.clone(), true));
    }
    out
}

/// Run each of `faults` (see [`candidates`]; a fault given by [`Fault::parse`] matches the
/// candidate it names, or runs as given) in a run of its own.
pub fn run_faults(
    files: &[ServerFile],
    settings: &Settings,
    links: &[Link],
    only: &[Fault],
) -> FaultReport {
    let mut faults = candidates(files, links);
    if !only.is_empty() {
        let named = |f: &Fault| only.iter().any(|o| o.same(f));
        let unknown = only.iter().filter(|o| !faults.iter().any(|f| f.same(o))).cloned();
        let unknown: Vec<Fault> = unknown.collect();
        faults.retain(named);
        faults.extend(unknown);
    }
    // The longest stale-link time of any server: a partition lasts past it, and delivery may
    // take it again to come back.
    let keep_alive = |f: &ServerFile| f.setup.node.ping_interval * (f.setup.node.ping_max + 1);
    let keep_alive = files.iter().map(keep_alive).max().unwrap_or_default();
    let (hold, heal) = (keep_alive + Duration::from_secs(5), keep_alive + HEAL);
    let outcomes =
        faults.into_iter().map(|fault| one(files, settings, fault, (hold, heal))).collect();
    FaultReport { hold, heal, outcomes }
}

fn one(
    files: &[ServerFile],
    settings: &Settings,
    fault: Fault,
    (hold, heal): (Duration, Duration),
) -> Outcome {
    let at = FORMATION;
    let (events, lifted) = fault.events(at, hold);
    let end = lifted + heal;
    let simulated = run(files, settings, &Script { until: end, events: &events, steps: &[] });
    let mut losses = Vec::new();
    for (&(x, y), arrivals) in &simulated.arrivals {
        // Pairs that never delivered before the fault are formation findings, not losses.
        if arrivals.first().is_none_or(|t| *t >= at) {
            continue;
        }
        if let Some(loss) = loss(arrivals, at, end) {
            losses.push(Loss { from: files[x].name.clone(), to: files[y].name.clone(), ..loss });
        }
    }
    losses.sort_by_key(|l| (l.back_at.is_some(), std::cmp::Reverse(l.lost_for)));
    let replay = settings.command(files, &format!("--fault {} --trace", fault.spec()));
    Outcome { fault, window: (at, lifted), losses, replay, heal }
}

/// The loss in `arrivals` (sorted) from `from` until `end`, if any silence exceeds [`GAP`].
fn loss(arrivals: &[Duration], from: Duration, end: Duration) -> Option<Loss> {
    let start = arrivals.iter().rev().find(|t| **t < from).copied().unwrap_or(from);
    let after: Vec<Duration> = arrivals.iter().copied().filter(|t| *t >= from).collect();
    let mut prev = start;
    let (mut lost_at, mut lost_for, mut back_at) = (None, Duration::ZERO, None);
    for t in after.iter().copied().chain([end]) {
        if t - prev > GAP {
            lost_at.get_or_insert(prev);
            lost_for += t - prev;
            back_at = (t < end).then_some(t);
        }
        prev = t;
    }
    let lost_at = lost_at?;
    // Still silent at the end: not back.
    let last = after.last().copied().unwrap_or(start);
    let back_at = if end - last > GAP { None } else { back_at };
    Some(Loss { from: String::new(), to: String::new(), lost_at, lost_for, back_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn losses_are_silences_longer_than_the_gap() {
        let (from, end) = (Duration::from_secs(20), Duration::from_secs(30));
        let steady: Vec<u64> = (0..120).map(|i| i * 250).collect();
        assert_eq!(loss(&ms(&steady), from, end), None);
        let healed = loss(&ms(&[19_750, 20_000, 24_000, 24_250, 29_750]), from, end);
        let healed = healed.expect("a loss");
        assert_eq!(healed.lost_at, Duration::from_secs(20));
        assert_eq!(healed.lost_for, Duration::from_millis(4000 + 5500));
        assert_eq!(healed.back_at, Some(Duration::from_millis(29_750)));
        let back = loss(&ms(&[19_750, 23_000, 23_500, 24_000, 29_500, 30_000]), from, end);
        let back = back.expect("a loss");
        assert_eq!((back.lost_at, back.back_at), (ms(&[19_750])[0], Some(ms(&[29_500])[0])));
        let never = loss(&ms(&[19_500, 19_750]), from, end).expect("a loss");
        assert_eq!((never.lost_at, never.back_at), (ms(&[19_750])[0], None));
    }
}
