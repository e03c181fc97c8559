//! The per-client cache of publish verdicts (nats-server `pcache`).

use crate::hash::{self, Map};

/// Most verdicts kept per client (nats-server `maxPermCacheSize`).
pub const MAX_ENTRIES: usize = 128;

/// How many entries at least a full cache sheds at once (nats-server `pruneSize`).
const PRUNE: usize = 32;

/// Subject → allowed, at most [`MAX_ENTRIES`] entries.
#[derive(Debug)]
pub(crate) struct PubCache {
    map: Map<Box<[u8]>, bool>,
}

impl PubCache {
    pub(crate) fn new(seed: u64) -> Self {
        Self { map: hash::map(seed) }
    }

    pub(crate) fn get(&self, subject: &[u8]) -> Option<bool> {
        self.map.get(subject).copied()
    }

    /// Remember a verdict; a cache over the bound sheds [`PRUNE`] entries (arbitrary ones, as
    /// nats-server does).
    pub(crate) fn insert(&mut self, subject: &[u8], allowed: bool) {
        self.map.insert(subject.into(), allowed);
        if self.map.len() > MAX_ENTRIES {
            let mut shed = 0;
            self.map.retain(|_, _| {
                shed += 1;
                shed > PRUNE + 1
            });
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded() {
        let mut c = PubCache::new(7);
        for i in 0..1000 {
            c.insert(format!("s.{i}").as_bytes(), i % 2 == 0);
            assert!(c.len() <= MAX_ENTRIES);
        }
        c.insert(b"x", true);
        assert_eq!(c.get(b"x"), Some(true));
    }
}
