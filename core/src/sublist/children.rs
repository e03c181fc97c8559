//! The literal children of one trie level.
//!
//! Most levels have one or two children (`orders.<id>.created` gives every id a level with a
//! single child), and a hash map's first allocation already holds four entries — about 340
//! bytes per level here. So a level keeps its children in an exactly-sized vector while they
//! are few, searched linearly, and moves them to a seeded hash map once there are more.

use crate::hash::{Map, map};

/// Above this many children a level switches to a hash map.
const FEW_MAX: usize = 8;

/// Children keyed by their literal token.
pub(super) enum Children<V> {
    /// At most [`FEW_MAX`] children, in insertion order, capacity equal to length.
    Few(Vec<(Box<[u8]>, V)>),
    /// More than [`FEW_MAX`] children (never demoted: a level that was busy may be again).
    Many(Map<Box<[u8]>, V>),
}

impl<V> Children<V> {
    pub(super) fn new() -> Self {
        Children::Few(Vec::new())
    }

    pub(super) fn get(&self, token: &[u8]) -> Option<&V> {
        match self {
            Children::Few(v) => v.iter().find(|(t, _)| **t == *token).map(|(_, n)| n),
            Children::Many(m) => m.get(token),
        }
    }

    pub(super) fn get_mut(&mut self, token: &[u8]) -> Option<&mut V> {
        match self {
            Children::Few(v) => v.iter_mut().find(|(t, _)| **t == *token).map(|(_, n)| n),
            Children::Many(m) => m.get_mut(token),
        }
    }

    /// The child for `token`, created with `make` if absent; `seed` keys the hash map if this
    /// insertion is the one that needs it.
    pub(super) fn get_or_insert_with(
        &mut self,
        token: &[u8],
        seed: u64,
        make: impl FnOnce() -> V,
    ) -> &mut V {
        if let Children::Few(v) = self
            && v.len() == FEW_MAX
            && !v.iter().any(|(t, _)| **t == *token)
        {
            let mut m = map(seed);
            m.reserve(FEW_MAX + 1);
            m.extend(v.drain(..));
            *self = Children::Many(m);
        }
        match self {
            Children::Few(v) => {
                let i = match v.iter().position(|(t, _)| **t == *token) {
                    Some(i) => i,
                    None => {
                        // Exactly one more slot: `push` alone would reserve four.
                        v.reserve_exact(1);
                        v.push((Box::from(token), make()));
                        v.len() - 1
                    }
                };
                &mut v[i].1
            }
            // Look up before inserting so an existing token costs no key allocation.
            Children::Many(m) => {
                if !m.contains_key(token) {
                    m.insert(Box::from(token), make());
                }
                m.get_mut(token).expect("invariant: the token was present or inserted just above")
            }
        }
    }

    pub(super) fn remove(&mut self, token: &[u8]) -> Option<V> {
        match self {
            Children::Few(v) => {
                let i = v.iter().position(|(t, _)| **t == *token)?;
                let (_, node) = v.remove(i);
                v.shrink_to_fit();
                Some(node)
            }
            Children::Many(m) => m.remove(token),
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Children::Few(v) => v.len(),
            Children::Many(m) => m.len(),
        }
    }

    /// The children with their tokens: insertion order while few, hash order after.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        let (few, many) = match self {
            Children::Few(v) => (Some(v.iter().map(|(t, n)| (&**t, n))), None),
            Children::Many(m) => (None, Some(m.iter().map(|(t, n)| (&**t, n)))),
        };
        few.into_iter().flatten().chain(many.into_iter().flatten())
    }

    /// Removes every child, handing each to `take`.
    pub(super) fn drain_into(&mut self, mut take: impl FnMut(V)) {
        match self {
            Children::Few(v) => v.drain(..).for_each(|(_, n)| take(n)),
            Children::Many(m) => m.drain().for_each(|(_, n)| take(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotes_past_few_and_keeps_every_child() {
        let mut c: Children<usize> = Children::new();
        for i in 0..FEW_MAX * 3 {
            *c.get_or_insert_with(format!("t{i}").as_bytes(), 7, || 0) += i;
            assert_eq!(matches!(c, Children::Few(_)), i < FEW_MAX, "after {} children", i + 1);
        }
        assert_eq!(c.len(), FEW_MAX * 3);
        for i in 0..FEW_MAX * 3 {
            assert_eq!(c.get(format!("t{i}").as_bytes()), Some(&i));
        }
        // An existing token does not promote or duplicate.
        let mut few: Children<usize> = Children::new();
        for i in 0..FEW_MAX {
            few.get_or_insert_with(format!("t{i}").as_bytes(), 7, || i);
        }
        *few.get_or_insert_with(b"t0", 7, || 99) += 1;
        assert!(matches!(few, Children::Few(ref v) if v.len() == FEW_MAX));
        assert_eq!(few.get(b"t0"), Some(&1));
    }

    #[test]
    fn few_children_use_exactly_sized_storage() {
        let mut c: Children<u64> = Children::new();
        c.get_or_insert_with(b"only", 1, || 5);
        let Children::Few(v) = &c else { panic!("one child is few") };
        assert_eq!(v.capacity(), 1);
        assert_eq!(c.remove(b"only"), Some(5));
        assert_eq!(c.remove(b"only"), None);
        assert_eq!(c.len(), 0);
    }
}
