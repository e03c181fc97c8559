//! A fixed table of deadlines, one slot per timer kind of a link. Every link kind (client,
//! route, gateway) keeps its timers in one, so "the earliest deadline" is computed once.

use std::marker::PhantomData;
use std::time::Instant;

/// Deadlines of the `N` timers named by `K` (an enum whose `usize` value is its slot).
#[derive(Clone, Copy, Debug)]
pub struct Timers<K, const N: usize> {
    at: [Option<Instant>; N],
    kind: PhantomData<K>,
}

impl<K, const N: usize> Default for Timers<K, N> {
    fn default() -> Self {
        Self { at: [None; N], kind: PhantomData }
    }
}

impl<K: Copy + Into<usize>, const N: usize> Timers<K, N> {
    /// Arm `timer` at `at`.
    pub fn set(&mut self, timer: K, at: Instant) {
        self.at[timer.into()] = Some(at);
    }

    /// Disarm `timer`.
    pub fn stop(&mut self, timer: K) {
        self.at[timer.into()] = None;
    }

    /// Whether `timer` is armed and due at `now`.
    pub fn expired(&self, timer: K, now: Instant) -> bool {
        self.at[timer.into()].is_some_and(|at| at <= now)
    }

    /// When `timer` is due, if armed.
    pub fn get(&self, timer: K) -> Option<Instant> {
        self.at[timer.into()]
    }

    /// Earliest armed deadline.
    pub fn earliest(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }
}
