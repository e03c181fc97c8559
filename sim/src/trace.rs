//! The event trace of one run: what happened, where and when in simulated time, folded into a
//! digest so two runs of one seed can be compared (style rule 18).

use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::time::Duration;

/// How many of the latest events a trace keeps for failure reports.
const TAIL: usize = 64;

/// An append-only event log with a running FNV-1a digest.
#[derive(Debug)]
pub struct Trace {
    digest: u64,
    count: u64,
    /// The last [`TAIL`] events, oldest first; once full, the oldest line's buffer is reused
    /// for the next one (no allocation per event).
    tail: VecDeque<String>,
    /// Whether events are also emitted through `tracing` (replay with `--trace`).
    echo: bool,
}

impl Trace {
    /// An empty trace; with `echo` every event is also logged at `debug`.
    pub fn new(echo: bool) -> Self {
        Self { digest: FNV_OFFSET, count: 0, tail: VecDeque::with_capacity(TAIL), echo }
    }

    /// Record that `what` happened on `host` at simulated time `at`.
    pub fn record(&mut self, at: Duration, host: &str, what: fmt::Arguments<'_>) {
        let mut line = if self.tail.len() == TAIL {
            self.tail.pop_front().unwrap_or_default()
        } else {
            String::new()
        };
        line.clear();
        let _ = write!(line, "{:>10.3}s {host:<10} {what}", at.as_secs_f64());
        for b in line.as_bytes().iter().chain(b"\n") {
            self.digest ^= u64::from(*b);
            self.digest = self.digest.wrapping_mul(FNV_PRIME);
        }
        if self.echo {
            tracing::debug!(target: "strait_sim::trace", "{line}");
        }
        self.tail.push_back(line);
        self.count += 1;
    }

    /// The digest of every event so far.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// Number of events so far.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The latest events, oldest first.
    pub fn tail(&self) -> Vec<String> {
        self.tail.iter().cloned().collect()
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A seed for a named child (`tag`, `index`) of `seed`: splitmix64 over the three, so every
/// subsystem and host draws from its own stream (style rule 11).
pub fn derive_seed(seed: u64, tag: &str, index: u64) -> u64 {
    let mut x = seed;
    for b in tag.bytes() {
        x = splitmix(x ^ u64::from(b));
    }
    splitmix(x ^ splitmix(index))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_depends_on_content_and_order() {
        let mut a = Trace::new(false);
        let mut b = Trace::new(false);
        a.record(Duration::from_millis(1), "h", format_args!("x"));
        a.record(Duration::from_millis(2), "h", format_args!("y"));
        b.record(Duration::from_millis(2), "h", format_args!("y"));
        b.record(Duration::from_millis(1), "h", format_args!("x"));
        assert_ne!(a.digest(), b.digest());
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn derived_seeds_differ() {
        assert_ne!(derive_seed(1, "a", 0), derive_seed(1, "b", 0));
        assert_ne!(derive_seed(1, "a", 0), derive_seed(1, "a", 1));
        assert_ne!(derive_seed(1, "a", 0), derive_seed(2, "a", 0));
        assert_eq!(derive_seed(7, "server", 3), derive_seed(7, "server", 3));
    }
}
