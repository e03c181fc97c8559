//! The set of values stored under one subject: most subjects have exactly one subscriber, so
//! one value is kept inline and a tree is allocated only for the second.

use std::collections::BTreeSet;

/// A sorted set of values, inline while it holds at most one.
#[derive(Clone, Debug, Default)]
pub(super) enum Values<T> {
    /// No value.
    #[default]
    Empty,
    /// Exactly one value, without an allocation.
    One(T),
    /// Two or more.
    Many(BTreeSet<T>),
}

impl<T: Copy + Ord> Values<T> {
    /// Adds `value`; false if it was present.
    pub(super) fn insert(&mut self, value: T) -> bool {
        match self {
            Values::Empty => {
                *self = Values::One(value);
                true
            }
            Values::One(v) if *v == value => false,
            Values::One(v) => {
                *self = Values::Many(BTreeSet::from([*v, value]));
                true
            }
            Values::Many(set) => set.insert(value),
        }
    }

    /// Removes `value`; true if it was present.
    pub(super) fn remove(&mut self, value: &T) -> bool {
        match self {
            Values::Empty => false,
            Values::One(v) if v == value => {
                *self = Values::Empty;
                true
            }
            Values::One(_) => false,
            Values::Many(set) => {
                let removed = set.remove(value);
                if set.len() == 1 {
                    let last = set.iter().next().copied();
                    if let Some(last) = last {
                        *self = Values::One(last);
                    }
                }
                removed
            }
        }
    }
}

impl<T> Values<T> {
    pub(super) fn len(&self) -> usize {
        match self {
            Values::Empty => 0,
            Values::One(_) => 1,
            Values::Many(set) => set.len(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        matches!(self, Values::Empty)
    }

    /// The values in ascending order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        let (one, many) = match self {
            Values::Empty => (None, None),
            Values::One(v) => (Some(v), None),
            Values::Many(set) => (None, Some(set.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_shrinks_through_the_inline_state() {
        let mut v = Values::default();
        assert!(v.insert(3) && !v.insert(3) && v.insert(1) && v.insert(2));
        assert_eq!(v.iter().copied().collect::<Vec<_>>(), [1, 2, 3]);
        assert!(v.remove(&1) && v.remove(&3) && !v.remove(&3));
        assert!(matches!(v, Values::One(2)));
        assert!(v.remove(&2) && v.is_empty());
        assert_eq!(v.len(), 0);
    }
}
