//! The interest index: literal, `*` and `>` matching, queue groups and a match cache.
//!
//! A [`Sublist`] stores entries `(subject, queue, value)`: `subject` is a subscription subject
//! (wildcards allowed, see [`crate::subject`]), `queue` an optional queue-group name and `value`
//! whatever the caller uses to tell subscriptions apart (a small `Copy` handle). Looking up a
//! published subject yields a [`Match`]: the plain values, and the queue values grouped by queue
//! name.
//!
//! # Matching
//!
//! Exactly [`subject::matches`]: a literal token matches the identical token, `*` one token, `>`
//! one or more remaining tokens; a published subject with an empty token matches nothing. Like
//! nats-server's trie, `*` and `>` subscription tokens live apart from literal tokens, so a `*`
//! or `>` token *in a published subject* is reached only by a subscription whose token at that
//! position is a wildcard (or by an earlier `>`).
//!
//! # Order and duplicates
//!
//! Results are sorted, which makes them independent of hash seeds, pointer values, insertion
//! history and cache state: `plain` by value, `queues` by queue name (byte-wise), each group's
//! `members` by value. Each value appears at most once in `plain` and at most once per queue
//! group, even when several stored patterns match (say `v` under both `foo.*` and `foo.>`);
//! callers are expected to use one value per subscription, and the deduplication only keeps such
//! a caller bug from turning into duplicate deliveries. nats-server orders by Go map iteration
//! (random); anything picking a queue member must draw its own randomness from the node RNG.
//!
//! # Queue weights
//!
//! Route and gateway queue interest carries a weight (`RS+ acc subj queue weight`). The sublist
//! does not model it: it stores one value per remote queue subscription and the caller keeps the
//! weight next to that value (nats-server instead repeats the remote subscription `weight` times
//! in the result). A weight change therefore does not touch the sublist.
//!
//! # Cache
//!
//! Like nats-server, results for literal subjects are cached (at most [`CACHE_MAX`] entries;
//! when full, it is swept down to [`CACHE_SWEEP`] entries). A hit is one seeded hash lookup and
//! an `Arc` clone. Inserting a pattern adds the value to every cached result the pattern matches
//! (as nats-server does); removing one drops those results, because with deduplication a value
//! may still be reachable through another pattern.
//!
//! # Bounds
//!
//! Nothing here recurses: matching, pruning, listing and dropping the trie use explicit stacks,
//! so a subscription with thousands of tokens cannot overflow the stack. The work of one match
//! is bounded by the number of trie levels it can reach.

use std::collections::BTreeMap;

use self::values::Values;
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use bytes::Bytes;

use crate::hash::{Map, map};
use crate::subject::{self, FULL_WILDCARD, PARTIAL_WILDCARD, SEPARATOR, SubjectError};
use children::Children;

/// The most match results kept in the cache (nats-server's `slCacheMax`).
pub const CACHE_MAX: usize = 1024;

/// How many cached results survive a sweep of a full cache (nats-server's `slCacheSweep`).
pub const CACHE_SWEEP: usize = 256;

/// The entries matching one published subject, in sorted order (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match<T> {
    /// Values of the matching non-queue entries, sorted, without duplicates.
    pub plain: Vec<T>,
    /// One group per queue name with at least one matching member, sorted by name.
    pub queues: Vec<QueueGroup<T>>,
}

impl<T> Match<T> {
    /// True if nothing matched.
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.queues.is_empty()
    }
}

impl<T> Default for Match<T> {
    fn default() -> Self {
        Self { plain: Vec::new(), queues: Vec::new() }
    }
}

/// The members of one queue group that match a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueGroup<T> {
    /// The queue group's name.
    pub name: Bytes,
    /// The matching members, sorted, without duplicates; never empty.
    pub members: Vec<T>,
}

/// The subscription index of one account (or one remote's announced interest).
///
/// `T` is the caller's handle for one subscription; see the module docs for the semantics.
pub struct Sublist<T> {
    /// The trie, one level per token position.
    root: Level<T>,
    /// Seed for every hash map created later (trie levels).
    seed: u64,
    /// Number of stored `(subject, queue, value)` entries.
    count: usize,
    /// Published subject → result. Keys never have an empty token (those match nothing and are
    /// not cached); at most [`CACHE_MAX`] entries between calls.
    cache: Map<Box<[u8]>, Arc<Match<T>>>,
    /// The shared empty result, so that misses with no interest and empty cache hits do not
    /// allocate a result.
    empty: Arc<Match<T>>,
}

/// One token position of the trie.
struct Level<T> {
    /// Children by literal token. Never holds a `*` or `>` key: those tokens go to `pwc` and
    /// `fwc`, which is why a published `*` token never reaches a literal subscription.
    literal: Children<Node<T>>,
    /// The child for a `*` token.
    pwc: Option<Box<Node<T>>>,
    /// The child for a `>` token (always the last token, so its `next` is always `None`).
    fwc: Option<Box<Node<T>>>,
}

/// The entries of one subscription subject, and the level below it.
struct Node<T> {
    /// The next token position; `None` rather than an empty level, so pruning frees memory.
    next: Option<Box<Level<T>>>,
    /// Values of plain entries.
    plain: Values<T>,
    /// Values of queue entries by queue name; a group is removed when its last member goes.
    queues: BTreeMap<Bytes, Values<T>>,
}

impl<T> Sublist<T>
where
    T: Copy + Eq + Hash + Ord + fmt::Debug,
{
    /// An empty sublist whose hash maps are keyed by `hash_seed` (draw it from the node RNG).
    pub fn new(hash_seed: u64) -> Self {
        Self {
            root: Level::new(),
            seed: hash_seed,
            count: 0,
            cache: map(hash_seed),
            empty: Arc::new(Match::default()),
        }
    }

    /// Stores `(subject, queue, value)`.
    ///
    /// Returns `Err` if `subject` is not a valid subscription subject, `Ok(false)` if exactly
    /// this entry is already present (nothing changes), `Ok(true)` if it was added.
    pub fn insert(
        &mut self,
        subject: &[u8],
        queue: Option<&[u8]>,
        value: T,
    ) -> Result<bool, SubjectError> {
        subject::validate_subscribe(subject)?;
        let seed = self.seed;
        let (path, last) = split_last(subject);
        let mut level = &mut self.root;
        for token in path.into_iter().flat_map(subject::tokens) {
            level = level
                .child_or_insert(token, seed)
                .next
                .get_or_insert_with(|| Box::new(Level::new()));
        }
        let node = level.child_or_insert(last, seed);
        let queue_name = match queue {
            None => {
                if !node.plain.insert(value) {
                    return Ok(false);
                }
                None
            }
            Some(q) => {
                let added = match node.queues.get_mut(q) {
                    Some(members) => members.insert(value),
                    None => {
                        node.queues.insert(Bytes::copy_from_slice(q), Values::One(value));
                        true
                    }
                };
                if !added {
                    return Ok(false);
                }
                // Share the stored name with the cached results.
                node.queues.get_key_value(q).map(|(name, _)| name.clone())
            }
        };
        self.count += 1;
        self.add_to_cache(subject, queue_name, value);
        Ok(true)
    }

    /// Removes `(subject, queue, value)`; true if it was present. Trie nodes left empty are
    /// pruned, so memory returns after unsubscribe.
    pub fn remove(&mut self, subject: &[u8], queue: Option<&[u8]>, value: T) -> bool {
        if subject::validate_subscribe(subject).is_err() {
            return false;
        }
        let (path, last) = split_last(subject);
        let mut level = &mut self.root;
        for token in path.into_iter().flat_map(subject::tokens) {
            match level.child_mut(token).and_then(|n| n.next.as_deref_mut()) {
                Some(next) => level = next,
                None => return false,
            }
        }
        let Some(node) = level.child_mut(last) else {
            return false;
        };
        let removed = match queue {
            None => node.plain.remove(&value),
            Some(q) => match node.queues.get_mut(q) {
                Some(members) => {
                    let removed = members.remove(&value);
                    if members.is_empty() {
                        node.queues.remove(q);
                    }
                    removed
                }
                None => false,
            },
        };
        if !removed {
            return false;
        }
        self.count -= 1;
        self.prune(subject);
        self.remove_from_cache(subject);
        true
    }

    /// All entries matching the published subject `subject`, grouped and sorted (see the module
    /// docs). Cached: a hit is a hash lookup and an `Arc` clone.
    pub fn matches(&mut self, subject: &[u8]) -> Arc<Match<T>> {
        if let Some(found) = self.cache.get(subject) {
            return Arc::clone(found);
        }
        self.match_and_cache(subject)
    }

    /// True if anything (plain or queue) matches `subject`. A hit does not allocate; a miss
    /// computes and caches the full result, as [`Sublist::matches`] does.
    pub fn has_interest(&mut self, subject: &[u8]) -> bool {
        if let Some(found) = self.cache.get(subject) {
            return !found.is_empty();
        }
        !self.match_and_cache(subject).is_empty()
    }

    /// Number of values stored under exactly `subject` (and `queue`): the count whose 0→1 and
    /// 1→0 transitions are announced to gateways.
    pub fn count(&self, subject: &[u8], queue: Option<&[u8]>) -> usize {
        if subject::validate_subscribe(subject).is_err() {
            return 0;
        }
        let (path, last) = split_last(subject);
        let mut level = &self.root;
        for token in path.into_iter().flat_map(subject::tokens) {
            match level.child(token).and_then(|n| n.next.as_deref()) {
                Some(next) => level = next,
                None => return 0,
            }
        }
        let Some(node) = level.child(last) else {
            return 0;
        };
        match queue {
            None => node.plain.len(),
            Some(q) => node.queues.get(q).map_or(0, Values::len),
        }
    }

    /// Like [`Sublist::count`], counting only the values `keep` accepts (e.g. the local ones,
    /// whose count is announced to routes). Walks the values stored under the exact key.
    pub fn count_where(
        &self,
        subject: &[u8],
        queue: Option<&[u8]>,
        keep: impl Fn(&T) -> bool,
    ) -> usize {
        if subject::validate_subscribe(subject).is_err() {
            return 0;
        }
        let (path, last) = split_last(subject);
        let mut level = &self.root;
        for token in path.into_iter().flat_map(subject::tokens) {
            match level.child(token).and_then(|n| n.next.as_deref()) {
                Some(next) => level = next,
                None => return 0,
            }
        }
        let Some(node) = level.child(last) else {
            return 0;
        };
        let values = match queue {
            None => Some(&node.plain),
            Some(q) => node.queues.get(q),
        };
        values.map_or(0, |v| v.iter().filter(|t| keep(t)).count())
    }

    /// Number of stored `(subject, queue, value)` entries.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if no entry is stored.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Every `(subject, queue)` stored with at least one value, sorted (byte-wise by subject,
    /// then `None` before queue names in byte-wise order), for re-announcing interest to a peer.
    pub fn subjects(&self) -> Vec<(Bytes, Option<Bytes>)> {
        let mut out = Vec::new();
        // Depth-first with one stack entry per level on the current path: the children still to
        // visit and the length of the path's subject in `subject`, which is shared by all entries
        // so long subjects are not copied once per level.
        let mut subject = Vec::new();
        let mut stack = vec![(self.root.children(), 0)];
        while let Some((children, prefix_len)) = stack.last_mut() {
            let prefix_len = *prefix_len;
            let Some((token, node)) = children.next() else {
                stack.pop();
                continue;
            };
            subject.truncate(prefix_len);
            if prefix_len > 0 {
                subject.push(SEPARATOR);
            }
            subject.extend_from_slice(token);
            if !node.plain.is_empty() || !node.queues.is_empty() {
                let shared = Bytes::copy_from_slice(&subject);
                if !node.plain.is_empty() {
                    out.push((shared.clone(), None));
                }
                for name in node.queues.keys() {
                    out.push((shared.clone(), Some(name.clone())));
                }
            }
            if let Some(next) = &node.next {
                stack.push((next.children(), subject.len()));
            }
        }
        out.sort_unstable();
        out
    }

    /// Number of results currently cached (at most [`CACHE_MAX`]).
    pub fn cache_len(&self) -> usize {
        self.cache.len()
    }

    /// The slow path of [`Sublist::matches`]: walk the trie and cache the result.
    fn match_and_cache(&mut self, subject: &[u8]) -> Arc<Match<T>> {
        // nats-server returns an empty result for these without caching it; so do we, which also
        // keeps the cache-key invariant `matches_checked` relies on.
        if !subject::has_no_empty_token(subject) {
            return Arc::clone(&self.empty);
        }
        let found = self.collect(subject);
        let found = if found.is_empty() { Arc::clone(&self.empty) } else { Arc::new(found) };
        if self.cache.len() >= CACHE_MAX {
            // Which entries go depends on the hash seed, but only costs misses, never changes a
            // result. Amortised over the CACHE_MAX - CACHE_SWEEP misses until the next sweep.
            let mut excess = self.cache.len() - (CACHE_SWEEP - 1);
            self.cache.retain(|_, _| {
                if excess == 0 {
                    return true;
                }
                excess -= 1;
                false
            });
        }
        self.cache.insert(Box::from(subject), Arc::clone(&found));
        found
    }

    /// Walks the trie for `subject` (no empty token) and returns the sorted, deduplicated result.
    fn collect(&self, subject: &[u8]) -> Match<T> {
        let mut plain = Vec::new();
        let mut queued: Vec<(&Bytes, T)> = Vec::new();
        let mut add = |node| add_node(node, &mut plain, &mut queued);
        // Pending branches: a level and the byte offset of the token it must match. Each level
        // is reachable by one path only and visited at most once, which bounds the loop.
        let mut stack: Vec<(&Level<T>, usize)> = vec![(&self.root, 0)];
        while let Some((mut level, mut start)) = stack.pop() {
            loop {
                let end = memchr::memchr(SEPARATOR, &subject[start..])
                    .map_or(subject.len(), |i| start + i);
                let token = &subject[start..end];
                let is_last = end == subject.len();
                // `>` matches this token and everything after it.
                if let Some(fwc) = &level.fwc {
                    add(fwc);
                }
                if let Some(pwc) = &level.pwc {
                    if is_last {
                        add(pwc);
                    } else if let Some(next) = &pwc.next {
                        stack.push((next, end + 1));
                    }
                }
                // A `*`/`>` token of the subject finds nothing here: see `Level::literal`.
                let Some(node) = level.literal.get(token) else {
                    break;
                };
                if is_last {
                    add(node);
                    break;
                }
                let Some(next) = &node.next else {
                    break;
                };
                level = next;
                start = end + 1;
            }
        }

        plain.sort_unstable();
        plain.dedup();
        queued.sort_unstable();
        queued.dedup();
        let mut queues: Vec<QueueGroup<T>> = Vec::new();
        for (name, member) in queued {
            match queues.last_mut() {
                Some(group) if group.name == *name => group.members.push(member),
                _ => queues.push(QueueGroup { name: name.clone(), members: vec![member] }),
            }
        }
        Match { plain, queues }
    }

    /// Adds a newly inserted entry to every cached result its pattern matches.
    fn add_to_cache(&mut self, pattern: &[u8], queue: Option<Bytes>, value: T) {
        let add = |result: &mut Arc<Match<T>>| {
            // Copy-on-write: results handed out earlier stay as they were.
            let result = Arc::make_mut(result);
            match &queue {
                None => insert_sorted(&mut result.plain, value),
                Some(name) => match result.queues.binary_search_by(|g| g.name.cmp(name)) {
                    Ok(i) => insert_sorted(&mut result.queues[i].members, value),
                    Err(i) => result
                        .queues
                        .insert(i, QueueGroup { name: name.clone(), members: vec![value] }),
                },
            }
        };
        if subject::is_literal(pattern) {
            // A literal pattern matches only the identical subject.
            if let Some(result) = self.cache.get_mut(pattern) {
                add(result);
            }
            return;
        }
        for (key, result) in &mut self.cache {
            if subject::matches_checked(pattern, key) {
                add(result);
            }
        }
    }

    /// Drops every cached result the removed pattern matches.
    fn remove_from_cache(&mut self, pattern: &[u8]) {
        if subject::is_literal(pattern) {
            self.cache.remove(pattern);
        } else {
            self.cache.retain(|key, _| !subject::matches_checked(pattern, key));
        }
    }

    /// After a removal from the node of `subject`: cut off the deepest chain of nodes on the path
    /// that now hold nothing and lead to nothing else.
    fn prune(&mut self, subject: &[u8]) {
        let token_count = subject::tokens(subject).count();
        // First pass, read-only: `cut` becomes the depth where the trailing run of removable
        // nodes starts.
        let mut cut = None;
        let mut level = &self.root;
        for (depth, token) in subject::tokens(subject).enumerate() {
            // Invariant: the caller just removed a value at the end of this path, so it exists.
            let Some(node) = level.child(token) else {
                return;
            };
            let removable = node.plain.is_empty()
                && node.queues.is_empty()
                && match &node.next {
                    None => true,
                    // Only the next node on our path below, which must be removable too.
                    Some(next) => depth + 1 < token_count && next.node_count() == 1,
                };
            if removable {
                cut.get_or_insert(depth);
            } else {
                cut = None;
            }
            match &node.next {
                Some(next) => level = next,
                None => break,
            }
        }
        let Some(cut) = cut else {
            return;
        };
        let mut tokens = subject::tokens(subject);
        let removed = if cut == 0 {
            tokens.next().and_then(|t| self.root.remove_child(t))
        } else {
            cut_below(&mut self.root, &mut tokens, cut)
        };
        if let Some(node) = removed {
            dismantle(node);
        }
    }
}

impl<T> Drop for Sublist<T> {
    fn drop(&mut self) {
        // Take the trie apart iteratively: the derived drop would recurse once per token.
        let mut stack = Vec::new();
        detach_children(&mut self.root, &mut stack);
        dismantle_levels(stack);
    }
}

impl<T> fmt::Debug for Sublist<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sublist")
            .field("len", &self.count)
            .field("cached", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl<T> Level<T> {
    fn new() -> Self {
        Self { literal: Children::new(), pwc: None, fwc: None }
    }

    fn child(&self, token: &[u8]) -> Option<&Node<T>> {
        match token {
            PARTIAL_WILDCARD => self.pwc.as_deref(),
            FULL_WILDCARD => self.fwc.as_deref(),
            _ => self.literal.get(token),
        }
    }

    fn child_mut(&mut self, token: &[u8]) -> Option<&mut Node<T>> {
        match token {
            PARTIAL_WILDCARD => self.pwc.as_deref_mut(),
            FULL_WILDCARD => self.fwc.as_deref_mut(),
            _ => self.literal.get_mut(token),
        }
    }

    fn child_or_insert(&mut self, token: &[u8], seed: u64) -> &mut Node<T> {
        match token {
            PARTIAL_WILDCARD => self.pwc.get_or_insert_with(|| Box::new(Node::new())),
            FULL_WILDCARD => self.fwc.get_or_insert_with(|| Box::new(Node::new())),
            _ => self.literal.get_or_insert_with(token, seed, Node::new),
        }
    }

    fn remove_child(&mut self, token: &[u8]) -> Option<Node<T>> {
        match token {
            PARTIAL_WILDCARD => self.pwc.take().map(|n| *n),
            FULL_WILDCARD => self.fwc.take().map(|n| *n),
            _ => self.literal.remove(token),
        }
    }

    fn node_count(&self) -> usize {
        self.literal.len() + usize::from(self.pwc.is_some()) + usize::from(self.fwc.is_some())
    }

    /// Children with their tokens (literal ones in the order of [`Children::iter`]).
    fn children(&self) -> impl Iterator<Item = (&[u8], &Node<T>)> {
        let literal = self.literal.iter();
        let pwc = self.pwc.as_deref().map(|node| (PARTIAL_WILDCARD, node));
        let fwc = self.fwc.as_deref().map(|node| (FULL_WILDCARD, node));
        literal.chain(pwc).chain(fwc)
    }
}

impl<T> Node<T> {
    fn new() -> Self {
        Self { next: None, plain: Values::Empty, queues: BTreeMap::new() }
    }
}

/// Appends the entries of a matching node to the match being collected.
fn add_node<'a, T: Copy>(node: &'a Node<T>, plain: &mut Vec<T>, queued: &mut Vec<(&'a Bytes, T)>) {
    plain.extend(node.plain.iter().copied());
    for (name, members) in &node.queues {
        queued.extend(members.iter().map(|m| (name, *m)));
    }
}

/// Splits a subject into everything before its last token (if any) and its last token.
fn split_last(subject: &[u8]) -> (Option<&[u8]>, &[u8]) {
    match memchr::memrchr(SEPARATOR, subject) {
        Some(i) => (Some(&subject[..i]), &subject[i + 1..]),
        None => (None, subject),
    }
}

/// Walks `tokens` down from `level` to depth `cut - 1` (`cut >= 1`) and removes the child at
/// depth `cut`, dropping the parent's level if that left it empty.
fn cut_below<'s, T>(
    mut level: &mut Level<T>,
    tokens: &mut impl Iterator<Item = &'s [u8]>,
    cut: usize,
) -> Option<Node<T>> {
    for _ in 1..cut {
        level = level.child_mut(tokens.next()?)?.next.as_deref_mut()?;
    }
    let parent = level.child_mut(tokens.next()?)?;
    let below = parent.next.as_deref_mut()?;
    let removed = below.remove_child(tokens.next()?);
    if below.node_count() == 0 {
        parent.next = None;
    }
    removed
}

/// Drops a detached node and everything below it without recursion.
fn dismantle<T>(mut node: Node<T>) {
    dismantle_levels(node.next.take().into_iter().collect());
}

/// Drops detached levels and everything below them without recursion.
#[expect(clippy::vec_box, reason = "the detached levels are already boxed; keep them so")]
fn dismantle_levels<T>(mut stack: Vec<Box<Level<T>>>) {
    // Every level is pushed once and popped once: bounded by the size of the detached trie.
    while let Some(mut level) = stack.pop() {
        detach_children(&mut level, &mut stack);
    }
}

/// Empties `level`, moving the levels below its children onto `stack`, so that dropping the
/// children recurses no further.
#[expect(clippy::vec_box, reason = "the detached levels are already boxed; keep them so")]
fn detach_children<T>(level: &mut Level<T>, stack: &mut Vec<Box<Level<T>>>) {
    level.literal.drain_into(|mut node| stack.extend(node.next.take()));
    for mut node in [level.pwc.take(), level.fwc.take()].into_iter().flatten() {
        stack.extend(node.next.take());
    }
}

/// Inserts `value` into the sorted, duplicate-free `values` unless present.
fn insert_sorted<T: Ord>(values: &mut Vec<T>, value: T) {
    if let Err(i) = values.binary_search(&value) {
        values.insert(i, value);
    }
}

mod children;
#[cfg(test)]
mod tests;
mod values;
