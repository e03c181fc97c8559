//! Subscriptions made in the last two seconds, per account: a request whose reply subject
//! matches one gets its reply mapped to `_GR_.` so the answer comes straight back even before
//! the new interest has crossed the gateway (`shared/docs/gateway-protocol.md` §6.6).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::sublist::Sublist;

/// How long a subscription counts as recent (`defaultGatewayRecentSubExpiration`).
pub const RECENT: Duration = Duration::from_secs(2);

/// Recent subscriptions of one account.
#[derive(Debug)]
pub struct RecentSubs {
    subs: Sublist<u64>,
    /// In creation order, so expiry pops from the front.
    order: VecDeque<(Instant, Bytes, u64)>,
    next: u64,
}

impl RecentSubs {
    /// Empty, with map keys from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { subs: Sublist::new(seed), order: VecDeque::new(), next: 0 }
    }

    /// A subscription to `subject` was made at `now`.
    pub fn insert(&mut self, now: Instant, subject: &[u8]) {
        self.expire(now);
        let id = self.next;
        self.next += 1;
        if self.subs.insert(subject, None, id).is_ok() {
            self.order.push_back((now, Bytes::copy_from_slice(subject), id));
        }
    }

    /// Whether a subscription made within [`RECENT`] of `now` matches `reply`.
    pub fn matches(&mut self, now: Instant, reply: &[u8]) -> bool {
        self.expire(now);
        !self.order.is_empty() && self.subs.has_interest(reply)
    }

    fn expire(&mut self, now: Instant) {
        while let Some((at, _, _)) = self.order.front() {
            if now.saturating_duration_since(*at) < RECENT {
                break;
            }
            if let Some((_, subject, id)) = self.order.pop_front() {
                self.subs.remove(&subject, None, id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_stop_being_recent_after_two_seconds() {
        let t0 = Instant::now();
        let mut r = RecentSubs::new(3);
        r.insert(t0, b"_INBOX.abc.*");
        assert!(r.matches(t0 + Duration::from_millis(1999), b"_INBOX.abc.1"));
        assert!(!r.matches(t0 + Duration::from_millis(1999), b"_INBOX.x.1"));
        assert!(!r.matches(t0 + RECENT, b"_INBOX.abc.1"));
    }
}
