//! An immutable token trie of permission entries, matched the way nats-server's sublist matches
//! a subject against them.
//!
//! Entries are subscription-style subjects (`foo.*`, `foo.>`), each optionally qualified by a
//! queue name (`"foo q"` in a subscribe list). Matching treats every token of the *tested*
//! subject literally: a tested `*` or `>` token is reached only by a `*` or `>` entry token (or
//! an earlier `>`), so a subscription `foo.*` does not match an allow entry `foo.bar`, while it
//! does match `foo.*` and `foo.>`. A tested subject with an empty token matches nothing.
//!
//! The trie is built once per permission set and shared read-only by every client that uses
//! it, so matching takes `&self`, never allocates, and recurses at most as deep as the longest
//! entry (configuration-bounded).

use crate::subject::{FULL_WILDCARD, PARTIAL_WILDCARD, SEPARATOR, has_no_empty_token};

/// The entries stored at one subject.
#[derive(Debug, Default)]
pub(crate) struct Node {
    /// The level below (entries with more tokens).
    next: Option<Box<Level>>,
    /// An entry without a queue ends here.
    pub(crate) plain: bool,
    /// Queue names of the queue-qualified entries ending here.
    pub(crate) queues: Vec<Box<[u8]>>,
}

/// One token position.
#[derive(Debug, Default)]
struct Level {
    /// Literal tokens, sorted for binary search (never `*` or `>`).
    literal: Vec<(Box<[u8]>, Node)>,
    /// The `*` child.
    pwc: Option<Box<Node>>,
    /// The `>` child (always terminal).
    fwc: Option<Box<Node>>,
}

/// A compiled list of permission entries.
#[derive(Debug, Default)]
pub(crate) struct RuleTrie {
    root: Level,
}

impl RuleTrie {
    /// Add an entry. `subject` must be a valid subscription subject (callers check).
    pub(crate) fn insert(&mut self, subject: &[u8], queue: Option<&[u8]>) {
        let mut level = &mut self.root;
        let mut tokens = subject.split(|b| *b == SEPARATOR);
        // `split` yields at least one (possibly empty) token.
        let mut token = tokens.next().unwrap_or_default();
        loop {
            let node: &mut Node = if token == PARTIAL_WILDCARD {
                level.pwc.get_or_insert_with(Box::default)
            } else if token == FULL_WILDCARD {
                level.fwc.get_or_insert_with(Box::default)
            } else {
                let at = match level.literal.binary_search_by(|(t, _)| (**t).cmp(token)) {
                    Ok(at) => at,
                    Err(at) => {
                        level.literal.insert(at, (token.into(), Node::default()));
                        at
                    }
                };
                &mut level.literal[at].1
            };
            match tokens.next() {
                Some(t) => {
                    token = t;
                    level = node.next.get_or_insert_with(Box::default);
                }
                None => {
                    match queue {
                        None => node.plain = true,
                        Some(q) if !node.queues.iter().any(|have| **have == *q) => {
                            node.queues.push(q.into())
                        }
                        Some(_) => {}
                    }
                    return;
                }
            }
        }
    }

    /// Call `f` with every node whose entry matches `subject` (see the module docs).
    pub(crate) fn visit<'a>(&'a self, subject: &[u8], f: &mut impl FnMut(&'a Node)) {
        if has_no_empty_token(subject) {
            walk(&self.root, subject, f);
        }
    }

    /// Whether a queue-less entry matches `subject`.
    pub(crate) fn matches_plain(&self, subject: &[u8]) -> bool {
        let mut found = false;
        self.visit(subject, &mut |n| found |= n.plain);
        found
    }

    /// What matches `subject`: whether a plain entry does, and whether any queue entry does.
    /// With `queue`, also whether one of the matching queue entries admits that queue name
    /// (nats-server `queueMatches`).
    pub(crate) fn summary(&self, subject: &[u8], queue: Option<&[u8]>) -> Summary {
        let mut s = Summary::default();
        self.visit(subject, &mut |n| {
            s.plain |= n.plain;
            if !n.queues.is_empty() {
                s.queues = true;
                if let Some(q) = queue {
                    s.queue_matches |= n.queues.iter().any(|name| queue_matches(q, name));
                }
            }
        });
        s
    }
}

/// See [`RuleTrie::summary`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    /// A plain entry matched.
    pub(crate) plain: bool,
    /// At least one queue entry matched.
    pub(crate) queues: bool,
    /// A matching queue entry admits the queue asked about.
    pub(crate) queue_matches: bool,
}

fn walk<'a>(level: &'a Level, rest: &[u8], f: &mut impl FnMut(&'a Node)) {
    let (token, tail) = match memchr::memchr(SEPARATOR, rest) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    if let Some(fwc) = &level.fwc {
        f(fwc);
    }
    if let Some(pwc) = &level.pwc {
        descend(pwc, tail, f);
    }
    if let Ok(at) = level.literal.binary_search_by(|(t, _)| (**t).cmp(token)) {
        descend(&level.literal[at].1, tail, f);
    }
}

fn descend<'a>(node: &'a Node, tail: Option<&[u8]>, f: &mut impl FnMut(&'a Node)) {
    match tail {
        None => f(node),
        Some(rest) => {
            if let Some(next) = &node.next {
                walk(next, rest, f);
            }
        }
    }
}

/// Whether queue entry `name` admits queue `queue`: the same name, or a wildcard name that
/// `queue` is a subset of (nats-server `queueMatches`, so `v1.*` admits `v1.a`).
pub(crate) fn queue_matches(queue: &[u8], name: &[u8]) -> bool {
    queue == name || (has_wildcard(name) && is_subset(queue, name))
}

/// nats-server `subjectHasWildcard`: a token that is exactly `*` or `>`.
pub(crate) fn has_wildcard(subject: &[u8]) -> bool {
    subject.split(|b| *b == SEPARATOR).any(|t| t == PARTIAL_WILDCARD || t == FULL_WILDCARD)
}

/// nats-server `isSubsetMatchTokenized`: is every subject `tokens` can stand for also matched
/// by `test`? Replicates its quirks (a `test` token *starting* with `*` acts as a wildcard).
pub(crate) fn is_subset(tokens: &[u8], test: &[u8]) -> bool {
    let mut mine = tokens.split(|b| *b == SEPARATOR);
    for t2 in test.split(|b| *b == SEPARATOR) {
        let Some(t1) = mine.next() else {
            return false;
        };
        if t2.is_empty() {
            return false;
        }
        if t2 == FULL_WILDCARD {
            return true;
        }
        if t1.is_empty() || t1 == FULL_WILDCARD {
            return false;
        }
        if t1 == PARTIAL_WILDCARD {
            if t2 != PARTIAL_WILDCARD {
                return false;
            }
            continue;
        }
        if t2[0] != b'*' && t1 != t2 {
            return false;
        }
    }
    // Equal token counts: `mine` has nothing left.
    mine.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trie(entries: &[&str]) -> RuleTrie {
        let mut t = RuleTrie::default();
        for e in entries {
            let mut parts = e.split_whitespace();
            let s = parts.next().unwrap();
            t.insert(s.as_bytes(), parts.next().map(str::as_bytes));
        }
        t
    }

    #[test]
    fn literal_and_wildcard_entries() {
        let t = trie(&["foo.bar", "baz.*", "q.>"]);
        assert!(t.matches_plain(b"foo.bar"));
        assert!(!t.matches_plain(b"foo.baz"));
        assert!(t.matches_plain(b"baz.x"));
        assert!(!t.matches_plain(b"baz.x.y"));
        assert!(t.matches_plain(b"q.a.b"));
        assert!(!t.matches_plain(b"q"));
        assert!(!t.matches_plain(b"foo..bar"));
        assert!(!t.matches_plain(b""));
    }

    #[test]
    fn tested_wildcards_are_literal_tokens() {
        let t = trie(&["foo.bar"]);
        assert!(!t.matches_plain(b"foo.*"));
        assert!(!t.matches_plain(b"foo.>"));
        let t = trie(&["foo.*"]);
        assert!(t.matches_plain(b"foo.*"));
        assert!(t.matches_plain(b"foo.>"));
        assert!(!t.matches_plain(b"*.bar"));
        let t = trie(&[">"]);
        assert!(t.matches_plain(b">"));
        assert!(t.matches_plain(b"*.*"));
    }

    #[test]
    fn queue_entries() {
        let t = trie(&["foo", "foo v1", "bar v2.*"]);
        let s = t.summary(b"foo", Some(b"v1"));
        assert!(s.plain && s.queues && s.queue_matches);
        let s = t.summary(b"foo", Some(b"v2"));
        assert!(s.plain && s.queues && !s.queue_matches);
        let s = t.summary(b"bar", Some(b"v2.a"));
        assert!(!s.plain && s.queues && s.queue_matches);
    }

    #[test]
    fn subset_quirks() {
        assert!(is_subset(b"foo.*", b"foo.*"));
        assert!(is_subset(b"foo.*", b">"));
        assert!(!is_subset(b"foo.*", b"foo.bar"));
        assert!(is_subset(b"foo.bar", b"foo.*"));
        assert!(is_subset(b"foo.bar", b"foo.*x"));
        assert!(!is_subset(b"foo", b"foo.*"));
        assert!(!is_subset(b"foo.bar.baz", b"foo.*"));
        assert!(queue_matches(b"v1.a", b"v1.*"));
        assert!(queue_matches(b"v1.*", b"v1.*"));
        assert!(!queue_matches(b"v1.a", b"v1.b"));
    }
}
