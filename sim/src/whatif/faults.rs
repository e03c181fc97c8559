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
//! The same measure serves faults that run together ([`run_together`]): `--fault SPEC@T`
//! (a start time in simulated seconds) puts every such fault in one run, and the random
//! combinations of [`super::seeds`] print their replay that way. A server can also be kept
//! down for the rest of the run (`--fault down:HOST`, never drawn by `--faults`): the pairs
//! with it are not counted, and the report says whether the others heal without it.
//!
//! The probes number their publications, so each run also reports probe messages that
//! arrived twice or out of order ([`super::order`]); either is a finding.
//!
//! The runs share this process: after a crash, the timings of a later run may differ by
//! milliseconds from its replay, which runs in a fresh process (tokio numbers tasks per
//! process; see `src/main.rs`).

use std::fmt;
use std::time::Duration;

use super::accounts::in_account;
use super::order::Anomaly;
use super::{Event, FORMATION, Link, Script, ServerFile, Settings, named, run, said};

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
    /// The server on host `.0` crashes and stays down for the rest of the run.
    Down(String),
    /// Traffic between the hosts of a link is dropped both ways.
    Partition(Link),
    /// Traffic from `.0.a` to `.0.b` only is dropped (with `.1`: from `b` to `a`).
    OneWay(Link, bool),
}

impl Fault {
    /// Parse the form [`Fault::spec`] prints as a replay argument (`crash:HOST`,
    /// `down:HOST`, `partition:A:B`, `oneway:FROM:TO`); the kind of link is not needed to
    /// replay one.
    pub fn parse(spec: &str) -> Option<Fault> {
        let parts: Vec<&str> = spec.split(':').collect();
        let link = |a: &str, b: &str| Link { kind: "link", a: a.to_owned(), b: b.to_owned() };
        match parts[..] {
            ["crash", h] => Some(Fault::Crash(h.to_owned())),
            ["down", h] => Some(Fault::Down(h.to_owned())),
            ["partition", a, b] => Some(Fault::Partition(link(a, b))),
            ["oneway", a, b] => Some(Fault::OneWay(link(a, b), false)),
            _ => None,
        }
    }

    /// The argument of `--fault` that replays it.
    pub fn spec(&self) -> String {
        match self {
            Fault::Crash(h) => format!("crash:{h}"),
            Fault::Down(h) => format!("down:{h}"),
            Fault::Partition(l) => format!("partition:{}:{}", l.a, l.b),
            Fault::OneWay(l, false) => format!("oneway:{}:{}", l.a, l.b),
            Fault::OneWay(l, true) => format!("oneway:{}:{}", l.b, l.a),
        }
    }

    /// Whether `self` and `other` are the same fault (a parsed one does not know the kind).
    fn same(&self, other: &Fault) -> bool {
        self.spec() == other.spec()
    }

    /// The hosts it acts on: the crashed one, or both ends of the link.
    pub fn hosts(&self) -> Vec<&str> {
        match self {
            Fault::Crash(h) | Fault::Down(h) => vec![h.as_str()],
            Fault::Partition(l) | Fault::OneWay(l, _) => vec![l.a.as_str(), l.b.as_str()],
        }
    }

    /// The events of the fault starting at `at` and lifted after `hold` (a crash: after
    /// [`DOWN`]; a server kept down: never, and then `at` is returned as its lift).
    fn events(&self, at: Duration, hold: Duration) -> (Vec<(Duration, Event)>, Duration) {
        let (on, off, lifted) = match self {
            Fault::Down(h) => return (vec![(at, Event::Crash(h.clone()))], at),
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
            Fault::Down(h) => write!(f, "crash of {h} (down for the rest of the run)"),
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

/// A fault and when it starts (simulated time since the servers started).
pub type Timed = (Fault, Duration);

/// Parse `SPEC` or `SPEC@T` (`T` in simulated seconds, to the millisecond: `31.25s`, `31s`):
/// the fault, and its start time if one is given.
pub fn parse_timed(text: &str) -> Option<(Fault, Option<Duration>)> {
    let Some((spec, at)) = text.split_once('@') else { return Some((Fault::parse(text)?, None)) };
    let at = at.strip_suffix('s')?;
    let (secs, frac) = at.split_once('.').unwrap_or((at, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis: u64 = format!("{frac:0<3}").parse().ok()?;
    let at = Duration::from_secs(secs.parse().ok()?) + Duration::from_millis(millis);
    Some((Fault::parse(spec)?, Some(at)))
}

/// The `--fault` argument that replays `fault` starting at `at` (see [`parse_timed`]).
pub fn timed_spec((fault, at): &Timed) -> String {
    format!("{}@{}.{:03}s", fault.spec(), at.as_secs(), at.subsec_millis())
}

/// How long partitions are held and how long after the lift delivery must be back: both
/// from the longest stale-link time (`ping_interval` × (`ping_max` + 1)) of any file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// How long a partition is held.
    pub hold: Duration,
    /// How long after the lift delivery must be back.
    pub heal: Duration,
}

impl Bounds {
    /// A report for CI pipelines: these bounds, whether it `healed`, and its runs as `key`.
    pub(crate) fn json(
        &self,
        healed: bool,
        key: &str,
        runs: Vec<serde_json::Value>,
    ) -> serde_json::Value {
        let mut j = serde_json::json!({
            "hold_ms": self.hold.as_millis() as u64,
            "heal_ms": self.heal.as_millis() as u64,
            "healed": healed,
        });
        j[key] = runs.into();
        j
    }

    /// The bounds for `files`.
    pub fn of(files: &[ServerFile]) -> Self {
        let keep_alive = |f: &ServerFile| f.setup.node.ping_interval * (f.setup.node.ping_max + 1);
        let keep_alive = files.iter().map(keep_alive).max().unwrap_or_default();
        Self { hold: keep_alive + Duration::from_secs(5), heal: keep_alive + HEAL }
    }
}

/// One pair of servers that lost delivery during a fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loss {
    /// Publishing server (name).
    pub from: String,
    /// Receiving server (name).
    pub to: String,
    /// The account, when more than one is checked (see `accounts`).
    pub account: Option<String>,
    /// The last arrival before delivery stopped.
    pub lost_at: Duration,
    /// Simulated time without delivery, in total, from the fault on.
    pub lost_for: Duration,
    /// The arrival after which delivery has not stopped again, if delivery is back at the end.
    pub back_at: Option<Duration>,
}

/// What one run of faults (one, or several together) did.
#[derive(Debug)]
pub struct Outcome {
    /// The faults and their start times, in time order.
    pub faults: Vec<Timed>,
    /// When the first started and when the last was lifted (a server kept down: when it went
    /// down).
    pub window: (Duration, Duration),
    /// Pairs that lost delivery, those not back first (pairs with a server kept down are not
    /// counted).
    pub losses: Vec<Loss>,
    /// Probe messages that arrived twice or out of order.
    pub anomalies: Vec<Anomaly>,
    /// Hosts kept down for the rest of the run.
    pub down: Vec<String>,
    /// When some loss does not heal: what the servers of those pairs last logged about
    /// their links.
    pub why: Option<String>,
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

    /// Whether it is a finding: a loss that does not heal, or a message that arrived twice or
    /// out of order.
    pub fn finding(&self) -> bool {
        self.unhealed() || !self.anomalies.is_empty()
    }

    /// The `--fault` arguments that replay it: a single fault at the end of formation as
    /// `--fault SPEC`, anything else with start times (see [`run_together`]).
    pub fn specs(&self) -> Vec<String> {
        match &self.faults[..] {
            [(fault, at)] if *at == FORMATION => vec![fault.spec()],
            all => all.iter().map(timed_spec).collect(),
        }
    }

    /// What ran: the fault, or each with its start time.
    pub fn title(&self) -> String {
        match &self.faults[..] {
            [(fault, at)] if *at == FORMATION => fault.to_string(),
            all => {
                let each = all.iter().map(|(fault, at)| format!("{fault} at {at:.2?}"));
                each.collect::<Vec<String>>().join(" + ")
            }
        }
    }

    /// The report lines: one per pair, then the anomalies, then why it does not heal.
    pub fn lines(&self) -> Vec<String> {
        let lifted = self.window.1;
        // What happened last: a lift, or a server going down for good.
        let last = self.faults.iter().rev().find_map(|(f, at)| match f {
            Fault::Down(h) if *at == lifted => Some(format!("{h} went down for good")),
            _ => None,
        });
        let which = if self.faults.len() == 1 { "the fault" } else { "the last fault" };
        let last = last.unwrap_or_else(|| format!("{which} was lifted"));
        let mut out = Vec::new();
        for l in &self.losses {
            let back = match l.back_at {
                Some(t) if t <= lifted => format!("back at {t:.2?}, before {last}"),
                Some(t) => format!("back at {t:.2?}, {:.2?} after {last}", t - lifted),
                None => format!("NOT back {:?} after {last} (at {lifted:.2?})", self.heal),
            };
            let account = in_account(l.account.as_deref());
            out.push(format!(
                "{} to {}{account}: lost from {:.2?} for {:.2?}; {back}",
                l.from, l.to, l.lost_at, l.lost_for
            ));
        }
        out.extend(self.anomalies.iter().map(|a| format!("{a} (round {})", a.first_round)));
        if !self.down.is_empty() {
            out.push(format!("pairs with {} (kept down) not counted", self.down.join(", ")));
        }
        out.extend(self.why.iter().map(|w| format!("logged: {w}")));
        out
    }

    /// For CI pipelines.
    pub fn to_json(&self) -> serde_json::Value {
        let losses: Vec<serde_json::Value> = self
            .losses
            .iter()
            .map(|l| {
                serde_json::json!({
                    "from": l.from,
                    "to": l.to,
                    "account": l.account,
                    "lost_at_ms": l.lost_at.as_millis() as u64,
                    "lost_for_ms": l.lost_for.as_millis() as u64,
                    "back_at_ms": l.back_at.map(|t| t.as_millis() as u64),
                })
            })
            .collect();
        let anomalies: Vec<serde_json::Value> = self
            .anomalies
            .iter()
            .map(|a| {
                serde_json::json!({
                    "from": a.from,
                    "to": a.to,
                    "account": a.account,
                    "kind": a.kind.to_string(),
                    "first_at_ms": a.first_at.as_millis() as u64,
                    "first_round": a.first_round,
                    "count": a.count,
                })
            })
            .collect();
        let faults: Vec<serde_json::Value> = self
            .faults
            .iter()
            .map(|(fault, at)| {
                serde_json::json!({
                    "fault": fault.to_string(),
                    "spec": fault.spec(),
                    "at_ms": at.as_millis() as u64,
                })
            })
            .collect();
        serde_json::json!({
            "fault": self.title(),
            "spec": self.specs().join(" "),
            "faults": faults,
            "from_ms": self.window.0.as_millis() as u64,
            "lifted_ms": self.window.1.as_millis() as u64,
            "healed": !self.unhealed(),
            "finding": self.finding(),
            "losses": losses,
            "anomalies": anomalies,
            "down": self.down,
            "why": self.why,
            "replay": self.replay,
        })
    }
}

/// Write `outcomes` (each with its label) the worst first: findings, then the longest loss;
/// an outcome without loss or anomaly on one line.
pub(crate) fn write_worst_first(
    f: &mut fmt::Formatter<'_>,
    outcomes: &[(String, &Outcome)],
) -> fmt::Result {
    let mut order: Vec<&(String, &Outcome)> = outcomes.iter().collect();
    order.sort_by_key(|(_, o)| {
        let longest = o.losses.iter().map(|l| l.lost_for).max().unwrap_or_default();
        (!o.unhealed(), o.anomalies.is_empty(), std::cmp::Reverse(longest))
    });
    for (label, o) in order {
        if o.losses.is_empty() && o.anomalies.is_empty() {
            writeln!(f, "  {label}: no pair lost delivery")?;
            continue;
        }
        let verdict = match (o.unhealed(), o.anomalies.is_empty()) {
            (true, _) => "DOES NOT HEAL",
            (false, false) => "DUPLICATES OR REORDERS",
            (false, true) => "heals",
        };
        writeln!(f, "  {label}: {verdict}")?;
        for line in o.lines() {
            writeln!(f, "    {line}")?;
        }
        writeln!(f, "    replay: {}", o.replay)?;
    }
    Ok(())
}

/// The report of every fault.
#[derive(Debug)]
pub struct FaultReport {
    /// How long partitions were held and delivery had to be back.
    pub bounds: Bounds,
    /// Per fault (or faults run together), in the order they ran.
    pub outcomes: Vec<Outcome>,
}

impl FaultReport {
    /// Whether every loss healed by itself and no message arrived twice or out of order.
    pub fn healed(&self) -> bool {
        !self.outcomes.iter().any(Outcome::finding)
    }

    /// For CI pipelines.
    pub fn to_json(&self) -> serde_json::Value {
        let outcomes: Vec<serde_json::Value> = self.outcomes.iter().map(Outcome::to_json).collect();
        self.bounds.json(self.healed(), "faults", outcomes)
    }
}

impl fmt::Display for FaultReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.outcomes.len();
        let Bounds { hold, heal } = self.bounds;
        writeln!(
            f,
            "faults, one at a time from {FORMATION:?} unless given start times (partitions held {hold:?}, delivery back within {heal:?} of the lift):"
        )?;
        let labelled: Vec<(String, &Outcome)> =
            self.outcomes.iter().map(|o| (o.title(), o)).collect();
        write_worst_first(f, &labelled)?;
        let found = self.outcomes.iter().filter(|o| o.finding()).count();
        writeln!(
            f,
            "{n} runs, {found} with a loss of delivery that does not heal by itself or a duplicate or reordered message"
        )
    }
}

/// Every fault of `files` whose links are `links` (from formation): each server's crash, each
/// link's partitions.
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
/// candidate it names, or runs as given) in a run of its own from the end of formation, and
/// then `together` (if any) in one run.
pub fn run_faults(
    files: &[ServerFile],
    settings: &Settings,
    links: &[Link],
    (only, together): (&[Fault], &[Timed]),
) -> FaultReport {
    let mut faults = candidates(files, links);
    // A fault given by its spec takes the kind of link of the candidate it names.
    let known = |given: &Fault| faults.iter().find(|f| f.same(given)).unwrap_or(given).clone();
    let together: Vec<Timed> = together.iter().map(|(f, at)| (known(f), *at)).collect();
    if !only.is_empty() || !together.is_empty() {
        let named = |f: &Fault| only.iter().any(|o| o.same(f));
        let unknown = only.iter().filter(|o| !faults.iter().any(|f| f.same(o))).cloned();
        let unknown: Vec<Fault> = unknown.collect();
        faults.retain(named);
        faults.extend(unknown);
    }
    let bounds = Bounds::of(files);
    let mut outcomes: Vec<Outcome> = faults
        .into_iter()
        .map(|fault| run_together(files, settings, &[(fault, FORMATION)], bounds))
        .collect();
    if !together.is_empty() {
        outcomes.push(run_together(files, settings, &together, bounds));
    }
    FaultReport { bounds, outcomes }
}

/// Run `faults` together, each from its start time (partitions held `bounds.hold`), until
/// `bounds.heal` after the last is lifted; the pairs that delivered before the first are
/// measured from then on.
pub fn run_together(
    files: &[ServerFile],
    settings: &Settings,
    faults: &[Timed],
    bounds: Bounds,
) -> Outcome {
    let mut faults = faults.to_vec();
    faults.sort_by_key(|(_, at)| *at);
    let at = faults.first().map_or(FORMATION, |(_, at)| *at);
    let (mut events, mut lifted) = (Vec::new(), at);
    for (fault, start) in &faults {
        let (e, l) = fault.events(*start, bounds.hold);
        events.extend(e);
        lifted = lifted.max(l);
    }
    events.sort_by_key(|(t, _)| *t);
    let end = lifted + bounds.heal;
    let simulated = run(files, settings, &Script { until: end, events: &events, steps: &[] });
    let mut down: Vec<String> = faults
        .iter()
        .filter_map(|(f, _)| match f {
            Fault::Down(h) => Some(h.clone()),
            _ => None,
        })
        .collect();
    down.sort();
    down.dedup();
    let mut losses = Vec::new();
    for (&pair, arrivals) in &simulated.arrivals {
        // Pairs that never delivered before the fault are formation findings, not losses;
        // pairs with a server kept down cannot deliver.
        if arrivals.first().is_none_or(|t| *t >= at)
            || [pair.from, pair.to].iter().any(|&i| down.contains(&files[i].host))
        {
            continue;
        }
        if let Some(loss) = loss(arrivals, at, end) {
            let (from, to, account) = named(files, &simulated.accounts, pair);
            losses.push(Loss { from, to, account, ..loss });
        }
    }
    losses.sort_by_key(|l| (l.back_at.is_some(), std::cmp::Reverse(l.lost_for)));
    let mut outcome = Outcome {
        faults,
        window: (at, lifted),
        losses,
        anomalies: simulated.anomalies,
        down,
        why: None,
        replay: String::new(),
        heal: bounds.heal,
    };
    outcome.why = outcome.unhealed().then(|| {
        let hosts = |name: &str| files.iter().find(|f| f.name == name).map(|f| f.host.as_str());
        let unhealed = outcome.losses.iter().filter(|l| l.back_at.is_none());
        let mut ends: Vec<&str> =
            unhealed.flat_map(|l| [hosts(&l.from), hosts(&l.to)]).flatten().collect();
        ends.sort_unstable();
        ends.dedup();
        said(&simulated.logs, &ends, &["ateway", "oute"])
    });
    let fault_args: Vec<String> = outcome.specs().iter().map(|s| format!("--fault {s}")).collect();
    outcome.replay = settings.command(files, &format!("{} --trace", fault_args.join(" ")));
    outcome
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
    Some(Loss { from: String::new(), to: String::new(), account: None, lost_at, lost_for, back_at })
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
