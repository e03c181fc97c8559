//! Hash maps whose keys come from the injected RNG.
//!
//! Maps keyed by what a peer sends (subjects, sids, names) need a keyed hash so a peer cannot
//! flood one bucket, and the key must come from the seed so runs stay reproducible. Never use
//! `std::collections::hash_map::RandomState` in core: it reads the OS RNG.

use std::collections::{HashMap, HashSet};

/// The hasher builder for every map in core: foldhash keyed by a seed drawn from the node RNG.
pub type SeededState = foldhash::fast::FixedState;

/// A `HashMap` keyed by [`SeededState`].
pub type Map<K, V> = HashMap<K, V, SeededState>;

/// A `HashSet` keyed by [`SeededState`].
pub type Set<K> = HashSet<K, SeededState>;

/// A hasher builder from a seed (draw the seed from the node's RNG).
pub fn seeded(seed: u64) -> SeededState {
    foldhash::fast::FixedState::with_seed(seed)
}

/// An empty map hashed with `seed`.
pub fn map<K, V>(seed: u64) -> Map<K, V> {
    HashMap::with_hasher(seeded(seed))
}

/// An empty set hashed with `seed`.
pub fn set_with<K>(seed: u64) -> Set<K> {
    HashSet::with_hasher(seeded(seed))
}

/// FNV-1a, 64 bits: a stable, seedless hash for identities that are compared, not keyed.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}
