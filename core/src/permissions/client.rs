//! One client's view of its permissions: the shared rules plus its own caches.

use std::sync::Arc;
use std::time::Instant;

use super::Permissions;
use super::cache::PubCache;
use super::replies::Replies;

/// Longest subject the one-entry memo in front of the cache holds.
const MEMO_MAX: usize = 64;

/// The permission state of one client connection.
#[derive(Debug)]
pub struct ClientPermissions {
    rules: Arc<Permissions>,
    /// The last subject answered from the allow/deny lists and its verdict, in place: a
    /// publisher mostly repeats one subject, and this skips even the cache's hash.
    memo: [u8; MEMO_MAX],
    /// Length of the subject in `memo`; `None` when it holds nothing.
    memo_len: Option<u8>,
    /// The verdict for the subject in `memo`.
    memo_allowed: bool,
    cache: PubCache,
    replies: Option<Replies>,
    /// Set once a subscription overlapped a subscribe deny entry: from then on every delivery
    /// is checked against the deny list (nats-server `mperms`).
    filter_deliveries: bool,
}

impl ClientPermissions {
    /// Fresh state for `rules`; `seed` keys the per-client hash maps.
    pub fn new(rules: Arc<Permissions>, seed: u64) -> Self {
        let replies = rules.responses().map(|r| Replies::new(r, seed ^ 0x5bd1_e995));
        Self {
            rules,
            memo: [0; MEMO_MAX],
            memo_len: None,
            memo_allowed: false,
            cache: PubCache::new(seed),
            replies,
            filter_deliveries: false,
        }
    }

    /// The shared rules.
    pub fn rules(&self) -> &Arc<Permissions> {
        &self.rules
    }

    /// May the client publish to `subject` at `now`? A verdict from the allow/deny lists is
    /// cached; an answer allowed only by `allow_responses` is not (it counts one response).
    pub fn publish_allowed(&mut self, subject: &[u8], now: Instant) -> bool {
        if !self.rules.restricts_publish() {
            return true;
        }
        if self.memo_len.is_some_and(|n| usize::from(n) == subject.len())
            && self.memo[..subject.len()] == *subject
        {
            return self.memo_allowed;
        }
        if let Some(allowed) = self.cache.get(subject) {
            self.remember(subject, allowed);
            return allowed;
        }
        let allowed = self.rules.publish_allowed(subject);
        match &mut self.replies {
            Some(replies) if !allowed => replies.allow(subject, now),
            _ => {
                self.cache.insert(subject, allowed);
                self.remember(subject, allowed);
                allowed
            }
        }
    }

    /// Put a cacheable verdict in the memo (subjects too long for it are not memoised).
    fn remember(&mut self, subject: &[u8], allowed: bool) {
        if let Some(slot) = self.memo.get_mut(..subject.len()) {
            slot.copy_from_slice(subject);
            self.memo_len = Some(subject.len() as u8);
            self.memo_allowed = allowed;
        }
    }

    /// May the client subscribe to `subject` (in `queue`)? An allowed subscription that can
    /// see denied messages turns on delivery filtering.
    pub fn subscribe_allowed(&mut self, subject: &[u8], queue: Option<&[u8]>) -> bool {
        if !self.rules.subscribe_allowed(subject, queue) {
            return false;
        }
        if !self.filter_deliveries && self.rules.overlaps_deny(subject, queue.is_some()) {
            self.filter_deliveries = true;
        }
        true
    }

    /// Must a message on `subject` be withheld from a subscription in `queue`?
    #[inline]
    pub fn delivery_denied(&self, subject: &[u8], queue: Option<&[u8]>) -> bool {
        self.filter_deliveries && self.rules.delivery_denied(subject, queue)
    }

    /// A message with reply subject `reply` was delivered to the client at `now`: with
    /// `allow_responses`, remember it unless the client may publish there anyway.
    #[inline]
    pub fn delivered_reply(&mut self, reply: &[u8], now: Instant) {
        if self.replies.is_some()
            && !reply.is_empty()
            && !self.publish_allowed(reply, now)
            && let Some(replies) = &mut self.replies
        {
            replies.record(reply, now);
        }
    }

    /// Forget which subscriptions overlapped a deny entry (before re-checking them all).
    pub fn reset_delivery_filter(&mut self) {
        self.filter_deliveries = false;
    }
}
