//! Reply subjects a client may publish to under `allow_responses` (nats-server `replies`).

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::ResponseRule;
use crate::hash::{self, Map};

/// Records between sweeps of used and expired entries (nats-server `replyPermLimit`).
const SWEEP_EVERY: usize = 4096;

/// Longest time between sweeps (nats-server `replyPruneTime`).
const SWEEP_AFTER: Duration = Duration::from_secs(1);

/// Hard bound on remembered replies. nats-server has none (a burst of requests within
/// `expires` grows its map without limit); past this bound a new reply is not remembered and
/// an answer to it is refused (see docs/compat.md).
pub const MAX_REPLIES: usize = 65_536;

/// One remembered reply subject.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// When the message carrying it was delivered.
    at: Instant,
    /// Responses published to it so far.
    used: u64,
}

/// The reply subjects a client received and may answer.
#[derive(Debug)]
pub(crate) struct Replies {
    rule: ResponseRule,
    map: Map<Bytes, Entry>,
    since_sweep: usize,
    last_sweep: Option<Instant>,
}

impl Replies {
    pub(crate) fn new(rule: ResponseRule, seed: u64) -> Self {
        Self { rule, map: hash::map(seed), since_sweep: 0, last_sweep: None }
    }

    /// A message with reply subject `reply` was delivered at `now`.
    pub(crate) fn record(&mut self, reply: &[u8], now: Instant) {
        let due = self.last_sweep.is_none_or(|at| now.saturating_duration_since(at) > SWEEP_AFTER);
        if self.map.len() >= MAX_REPLIES && !self.map.contains_key(reply) {
            // Full: sweep at most once per SWEEP_AFTER, so a flood costs no more than that.
            if due {
                self.sweep(now);
            }
            if self.map.len() >= MAX_REPLIES {
                return;
            }
        }
        // A copy, not a slice: a slice would keep the whole read buffer it came in alive.
        self.map.insert(Bytes::copy_from_slice(reply), Entry { at: now, used: 0 });
        self.since_sweep += 1;
        if self.since_sweep > SWEEP_EVERY || due {
            self.sweep(now);
        }
    }

    /// Publishing to `subject` at `now`: allowed if it is a remembered reply still within its
    /// count and lifetime; each call counts as one response (nats-server `responseAllowed`).
    pub(crate) fn allow(&mut self, subject: &[u8], now: Instant) -> bool {
        let Some(e) = self.map.get_mut(subject) else {
            return false;
        };
        e.used += 1;
        let spent = self.rule.max > 0 && e.used > self.rule.max;
        let expired =
            !self.rule.expires.is_zero() && now.saturating_duration_since(e.at) > self.rule.expires;
        if spent || expired {
            self.map.remove(subject);
            return false;
        }
        true
    }

    /// Drop used-up and expired entries (nats-server `pruneReplyPerms`).
    fn sweep(&mut self, now: Instant) {
        let (max, ttl) = (self.rule.max, self.rule.expires);
        self.map.retain(|_, e| {
            let spent = max > 0 && e.used >= max;
            let expired = !ttl.is_zero() && now.saturating_duration_since(e.at) > ttl;
            !spent && !expired
        });
        self.since_sweep = 0;
        self.last_sweep = Some(now);
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
    fn once_then_denied_and_expiry() {
        let now = Instant::now();
        let rule = ResponseRule { max: 1, expires: Duration::from_secs(10) };
        let mut r = Replies::new(rule, 1);
        let reply = Bytes::from_static(b"_INBOX.1");
        r.record(&reply, now);
        assert!(r.allow(b"_INBOX.1", now));
        assert!(!r.allow(b"_INBOX.1", now));
        r.record(&reply, now);
        assert!(!r.allow(b"_INBOX.1", now + Duration::from_secs(11)));
        assert!(!r.allow(b"_INBOX.2", now));
    }

    #[test]
    fn bounded() {
        let now = Instant::now();
        let mut r = Replies::new(ResponseRule::default(), 1);
        for i in 0..MAX_REPLIES + 10 {
            r.record(&Bytes::from(format!("r.{i}")), now);
        }
        assert_eq!(r.len(), MAX_REPLIES);
    }
}
