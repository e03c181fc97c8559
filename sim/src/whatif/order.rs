//! What the probes can tell about each publisher's messages besides their arrival: every probe
//! numbers its rounds of publications ([`crate::probe::run_with`]), so a receiver that sees a
//! number from a publisher twice got a duplicate, and one that sees a number lower than the
//! highest it saw from that publisher got messages out of order. NATS delivers at most once
//! and in publication order per publisher on one connection; the probes publish and subscribe
//! on one connection to one server at a time, so either is a defect of the routing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

/// What went wrong with one publisher's messages at one receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A number arrived again.
    Duplicate,
    /// A number arrived after a higher one.
    Reordered,
}

/// Every anomaly of one kind between one publisher and one receiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    /// Publishing server (name).
    pub from: String,
    /// Receiving server (name).
    pub to: String,
    /// Which kind.
    pub kind: Kind,
    /// When the first one arrived.
    pub first_at: Duration,
    /// The number of the first one.
    pub first_round: u64,
    /// How many arrived.
    pub count: u64,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Duplicate => "duplicate",
            Kind::Reordered => "out of order",
        })
    }
}

/// The numbers seen per (publisher, receiver) (file indices), and the anomalies found.
#[derive(Debug, Default)]
pub(crate) struct Order {
    /// The servers' names, by file index.
    names: Vec<String>,
    seen: BTreeMap<(usize, usize), BTreeSet<u64>>,
    anomalies: BTreeMap<(usize, usize, Kind), Anomaly>,
}

impl Order {
    /// For the servers named `names`, in file order.
    pub(crate) fn new(names: Vec<String>) -> Self {
        Self { names, ..Self::default() }
    }

    /// Round `round` of publisher `from` arrived at `to` at `at`.
    pub(crate) fn arrived(&mut self, at: Duration, from: usize, to: usize, round: u64) {
        let seen = self.seen.entry((from, to)).or_default();
        let highest = seen.last().copied().unwrap_or(0);
        let kind = match seen.insert(round) {
            false => Kind::Duplicate,
            true if round < highest => Kind::Reordered,
            true => return,
        };
        let name = |i: usize| self.names.get(i).cloned().unwrap_or_else(|| i.to_string());
        let (from_name, to_name) = (name(from), name(to));
        let first = Anomaly {
            from: from_name,
            to: to_name,
            kind,
            first_at: at,
            first_round: round,
            count: 0,
        };
        self.anomalies.entry((from, to, kind)).or_insert(first).count += 1;
    }

    /// The anomalies, per pair and kind, in that order.
    pub(crate) fn anomalies(&self) -> Vec<Anomaly> {
        self.anomalies.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_reorderings_per_pair() {
        let mut o = Order::new(vec!["a".into(), "b".into()]);
        let at = |s| Duration::from_secs(s);
        for (t, from, to, round) in [(1, 0, 1, 1), (2, 0, 1, 2), (3, 1, 0, 1), (4, 0, 1, 5)] {
            o.arrived(at(t), from, to, round);
        }
        assert!(o.anomalies().is_empty(), "gaps are losses, not anomalies");
        o.arrived(at(5), 0, 1, 5);
        o.arrived(at(6), 0, 1, 3);
        o.arrived(at(7), 0, 1, 2);
        let found = o.anomalies();
        let kinds: Vec<(&str, Kind, Duration, u64, u64)> = found
            .iter()
            .map(|a| (a.from.as_str(), a.kind, a.first_at, a.first_round, a.count))
            .collect();
        let want = [("a", Kind::Duplicate, at(5), 5, 2), ("a", Kind::Reordered, at(6), 3, 1)];
        assert_eq!(kinds, want);
    }
}
