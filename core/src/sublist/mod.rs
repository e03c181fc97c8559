//! The interest index (placeholder until the subject/sublist work lands).

use std::sync::Arc;

use bytes::Bytes;

use crate::subject::{self, SubjectError};

/// Everything matching one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match<T> {
    /// Plain subscriptions.
    pub plain: Vec<T>,
    /// Queue groups.
    pub queues: Vec<QueueGroup<T>>,
}

/// Members of one queue group matching a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueGroup<T> {
    /// Queue name.
    pub name: Bytes,
    /// Members.
    pub members: Vec<T>,
}

/// The interest index.
#[derive(Debug)]
pub struct Sublist<T> {
    entries: Vec<(Bytes, Option<Bytes>, T)>,
}

impl<T: Copy + Eq + std::hash::Hash + Ord + std::fmt::Debug> Sublist<T> {
    /// New index.
    pub fn new(_hash_seed: u64) -> Self {
        Self { entries: Vec::new() }
    }

    /// Insert.
    pub fn insert(
        &mut self,
        subject: &[u8],
        queue: Option<&[u8]>,
        value: T,
    ) -> Result<bool, SubjectError> {
        subject::validate_subscribe(subject)?;
        let e = (Bytes::copy_from_slice(subject), queue.map(Bytes::copy_from_slice), value);
        if self.entries.contains(&e) {
            return Ok(false);
        }
        self.entries.push(e);
        Ok(true)
    }

    /// Remove.
    pub fn remove(&mut self, subject: &[u8], queue: Option<&[u8]>, value: T) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(s, q, v)| !(s == subject && q.as_deref() == queue && *v == value));
        before != self.entries.len()
    }

    /// Match.
    pub fn matches(&mut self, subject: &[u8]) -> Arc<Match<T>> {
        let mut m = Match { plain: Vec::new(), queues: Vec::new() };
        for (s, q, v) in &self.entries {
            if !subject::matches(s, subject) {
                continue;
            }
            match q {
                None => m.plain.push(*v),
                Some(q) => match m.queues.iter_mut().find(|g| g.name == q) {
                    Some(g) => g.members.push(*v),
                    None => m.queues.push(QueueGroup { name: q.clone(), members: vec![*v] }),
                },
            }
        }
        Arc::new(m)
    }

    /// Any interest?
    pub fn has_interest(&mut self, subject: &[u8]) -> bool {
        self.entries.iter().any(|(s, _, _)| subject::matches(s, subject))
    }

    /// Count.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Empty?
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
