//! What the probes can tell about each publisher's messages besides their arrival: every probe
//! numbers its rounds of publications ([`crate::probe::run_with`]), so a receiver that sees a
//! number from a publisher twice got a duplicate, and one that sees a number lower than the
//! highest it saw from that publisher got messages out of order. NATS delivers at most once
//! and in publication order per publisher on one connection; the probes publish and subscribe
//! on one connection to one server at a time, so either is a defect of the routing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use super::accounts::Pair;

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
    /// The account, when more than one is checked (see `accounts`).
    pub account: Option<String>,
    /// Which kind.
    pub kind: Kind,
    /// When the first one arrived.
    pub first_at: Duration,
    /// The number of the first one.
    pub first_round: u64,
    /// How many arrived.
    pub count: u64,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, kind, at) = (self.count, self.kind, self.first_at);
        let account = super::accounts::in_account(self.account.as_deref());
        let (from, to) = (&self.from, &self.to);
        write!(f, "{from} to {to}{account}: {n} probe messages {kind}, the first at {at:.2?}")
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Duplicate => "duplicate",
            Kind::Reordered => "out of order",
        })
    }
}

/// The numbers seen per publisher, receiver and account, and the anomalies found (named as
/// they are handed out).
#[derive(Debug, Default)]
pub(crate) struct Order {
    seen: BTreeMap<Pair, BTreeSet<u64>>,
    anomalies: BTreeMap<(Pair, Kind), Anomaly>,
}

impl Order {
    /// Round `round` of the publisher of `pair` arrived at its receiver at `at`.
    pub(crate) fn arrived(&mut self, at: Duration, pair: Pair, round: u64) {
        let seen = self.seen.entry(pair).or_default();
        let highest = seen.last().copied().unwrap_or(0);
        let kind = match seen.insert(round) {
            false => Kind::Duplicate,
            true if round < highest => Kind::Reordered,
            true => return,
        };
        let first = Anomaly {
            from: String::new(),
            to: String::new(),
            account: None,
            kind,
            first_at: at,
            first_round: round,
            count: 0,
        };
        self.anomalies.entry((pair, kind)).or_insert(first).count += 1;
    }

    /// The anomalies, per pair and kind, in that order; `named` gives a pair's publisher,
    /// receiver and account label.
    pub(crate) fn anomalies(
        &self,
        named: impl Fn(Pair) -> (String, String, Option<String>),
    ) -> Vec<Anomaly> {
        let name = |(&(pair, _), a): (&(Pair, Kind), &Anomaly)| {
            let (from, to, account) = named(pair);
            Anomaly { from, to, account, ..a.clone() }
        };
        self.anomalies.iter().map(name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_reorderings_per_pair() {
        let mut o = Order::default();
        let at = |s| Duration::from_secs(s);
        let pair = |from, to| Pair { account: 0, from, to };
        for (t, from, to, round) in [(1, 0, 1, 1), (2, 0, 1, 2), (3, 1, 0, 1), (4, 0, 1, 5)] {
            o.arrived(at(t), pair(from, to), round);
        }
        let named = |p: Pair| (["a", "b"][p.from].to_owned(), ["a", "b"][p.to].to_owned(), None);
        assert!(o.anomalies(named).is_empty(), "gaps are losses, not anomalies");
        o.arrived(at(5), pair(0, 1), 5);
        o.arrived(at(6), pair(0, 1), 3);
        o.arrived(at(7), pair(0, 1), 2);
        // Another account's numbers are its own.
        o.arrived(at(8), Pair { account: 1, from: 0, to: 1 }, 1);
        let found = o.anomalies(named);
        let kinds: Vec<(&str, Kind, Duration, u64, u64)> = found
            .iter()
            .map(|a| (a.from.as_str(), a.kind, a.first_at, a.first_round, a.count))
            .collect();
        let want = [("a", Kind::Duplicate, at(5), 5, 2), ("a", Kind::Reordered, at(6), 3, 1)];
        assert_eq!(kinds, want);
    }
}
