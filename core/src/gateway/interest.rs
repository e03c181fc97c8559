//! Interest across gateways (`shared/docs/gateway-protocol.md` §5).
//!
//! What this cluster is interested in is the accounts' sublists themselves (counted per exact
//! subject and queue; only 0→1 and 1→0 transitions produce protocol). Two tables here:
//! * [`InboundInterest`] — per inbound link (we are the acceptor): what we told that peer
//!   about each account (nothing, `A-`, or a mode with the subjects we sent `RS-` for).
//! * [`OutboundInterest`] — per outbound link (we are the dialler): what the peer told us,
//!   used to decide whether a message goes to that gateway.

use std::sync::Arc;

use bytes::Bytes;

use crate::hash::{self, Map, Set};
use crate::subject;
use crate::sublist::{Match, Sublist};

/// After this many distinct `RS-` subjects for one account, an optimistic acceptor switches
/// the account to interest-only (`defaultGatewayMaxRUnsubBeforeSwitch`).
pub const INTEREST_ONLY_THRESHOLD: usize = 1000;

/// Interest mode of one account on one gateway link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Send unless told "no interest".
    Optimistic,
    /// The acceptor announced it is sending all subscriptions (`gateway_cmd` 2).
    Transitioning,
    /// Send only what matches an announced subscription.
    InterestOnly,
}

impl Mode {
    /// The name `/gatewayz` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Optimistic => "Optimistic",
            Mode::Transitioning => "Transitioning",
            Mode::InterestOnly => "Interest-Only",
        }
    }
}

/// What we told one inbound peer about one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InboundEntry {
    /// We sent `A-`: the peer sends nothing for the account until `A+`.
    NoInterest,
    /// The account's mode and, while optimistic, the subjects we sent `RS-` for.
    Tracked {
        /// Mode.
        mode: Mode,
        /// Subjects answered with `RS-` (optimistic mode only).
        no_interest: Set<Bytes>,
    },
}

/// Per inbound link: what we told the peer, per account (nats-server `insim`).
#[derive(Debug)]
pub struct InboundInterest {
    seed: u64,
    /// By account name.
    pub accounts: Map<Bytes, InboundEntry>,
}

impl InboundInterest {
    /// Empty.
    pub fn new(seed: u64) -> Self {
        Self { seed, accounts: hash::map(seed) }
    }

    /// The mode of `account` (absent accounts are optimistic).
    pub fn mode(&self, account: &[u8]) -> Mode {
        match self.accounts.get(account) {
            Some(InboundEntry::Tracked { mode, .. }) => *mode,
            _ => Mode::Optimistic,
        }
    }

    /// Set `account` to `mode`, forgetting `RS-` subjects.
    pub fn set_mode(&mut self, account: &[u8], mode: Mode) {
        let no_interest = hash::set_with(self.seed);
        self.accounts
            .insert(Bytes::copy_from_slice(account), InboundEntry::Tracked { mode, no_interest });
    }
}

/// What one outbound peer told us about one account.
#[derive(Debug)]
pub enum OutboundEntry {
    /// The peer sent `A-`.
    NoInterest,
    /// Announced interest.
    Tracked(Box<OutboundAccount>),
}

/// Interest a peer announced for one account.
#[derive(Debug)]
pub struct OutboundAccount {
    /// Mode.
    pub mode: Mode,
    /// Subjects the peer said `RS-` for (optimistic mode only).
    pub no_interest: Set<Bytes>,
    /// Subscriptions announced with `RS+` (value is always 0: presence is what matters).
    pub subs: Sublist<u8>,
    /// Number of queue subscriptions in `subs`.
    pub queue_subs: usize,
    /// Number of plain subscriptions in `subs`.
    pub plain_subs: usize,
}

/// Per outbound link: what the peer told us (nats-server `outsim`).
#[derive(Debug)]
pub struct OutboundInterest {
    seed: u64,
    /// By account name.
    pub accounts: Map<Bytes, OutboundEntry>,
}

/// Whether a message goes to one gateway, and to which of its queue groups.
#[derive(Debug)]
pub struct Decision {
    /// Some plain subscription (or optimism) wants it.
    pub plain: bool,
    /// Remote queue groups matching the subject.
    pub queues: Option<Arc<Match<u8>>>,
}

impl OutboundInterest {
    /// Empty.
    pub fn new(seed: u64) -> Self {
        Self { seed, accounts: hash::map(seed) }
    }

    fn tracked(&mut self, account: &[u8], mode: Mode) -> &mut OutboundAccount {
        let seed = self.seed;
        let entry = self
            .accounts
            .entry(Bytes::copy_from_slice(account))
            .or_insert(OutboundEntry::NoInterest);
        if matches!(entry, OutboundEntry::NoInterest) {
            *entry = OutboundEntry::Tracked(Box::new(OutboundAccount {
                mode,
                no_interest: hash::set_with(seed),
                subs: Sublist::new(seed.rotate_left(13)),
                queue_subs: 0,
                plain_subs: 0,
            }));
        }
        match entry {
            OutboundEntry::Tracked(acc) => acc,
            OutboundEntry::NoInterest => unreachable!("replaced just above"),
        }
    }

    /// `A- account`.
    pub fn handle_a_minus(&mut self, account: &[u8]) {
        match self.accounts.get_mut(account) {
            Some(OutboundEntry::Tracked(acc)) if acc.queue_subs > 0 => acc.no_interest.clear(),
            _ => {
                self.accounts.insert(Bytes::copy_from_slice(account), OutboundEntry::NoInterest);
            }
        }
    }

    /// `A+ account`.
    pub fn handle_a_plus(&mut self, account: &[u8]) {
        match self.accounts.get(account) {
            Some(OutboundEntry::Tracked(acc)) if acc.queue_subs > 0 => {}
            Some(_) => {
                self.accounts.remove(account);
            }
            None => {}
        }
    }

    /// `RS+ account subject [queue weight]`.
    pub fn handle_rs_plus(&mut self, account: &[u8], subject: &[u8], queue: Option<&[u8]>) {
        if let Some(q) = queue {
            let acc = self.tracked(account, Mode::Optimistic);
            if acc.subs.insert(subject, Some(q), 0) == Ok(true) {
                acc.queue_subs += 1;
            }
            return;
        }
        match self.accounts.get_mut(account) {
            // No entry or `A-`: a plain RS+ is ignored until the peer sends `gateway_cmd` 2.
            None | Some(OutboundEntry::NoInterest) => {}
            Some(OutboundEntry::Tracked(acc)) => {
                if acc.mode == Mode::Optimistic {
                    if subject::is_literal(subject) {
                        acc.no_interest.remove(subject);
                    } else {
                        acc.no_interest.retain(|s| !subject::matches(subject, s));
                    }
                } else if acc.subs.insert(subject, None, 0) == Ok(true) {
                    acc.plain_subs += 1;
                }
            }
        }
    }

    /// `RS- account subject [queue]`.
    pub fn handle_rs_minus(&mut self, account: &[u8], subject: &[u8], queue: Option<&[u8]>) {
        if queue.is_none() {
            let optimistic = match self.accounts.get(account) {
                None | Some(OutboundEntry::NoInterest) => true,
                Some(OutboundEntry::Tracked(acc)) => acc.mode == Mode::Optimistic,
            };
            if optimistic {
                if matches!(self.accounts.get(account), Some(OutboundEntry::NoInterest)) {
                    return;
                }
                let acc = self.tracked(account, Mode::Optimistic);
                acc.no_interest.insert(Bytes::copy_from_slice(subject));
                return;
            }
        }
        let Some(OutboundEntry::Tracked(acc)) = self.accounts.get_mut(account) else {
            return;
        };
        if acc.subs.remove(subject, queue, 0) {
            if queue.is_some() {
                acc.queue_subs -= 1;
            } else {
                acc.plain_subs -= 1;
            }
        }
        if acc.subs.is_empty() && acc.mode == Mode::Optimistic && acc.no_interest.is_empty() {
            self.accounts.remove(account);
        }
    }

    /// `INFO gateway_cmd 2` (start) or `3` (complete) for `account`.
    pub fn handle_all_subs(&mut self, account: &[u8], complete: bool) {
        if complete {
            if let Some(OutboundEntry::Tracked(acc)) = self.accounts.get_mut(account) {
                acc.mode = Mode::InterestOnly;
                acc.no_interest = hash::set_with(self.seed);
            }
        } else {
            let acc = self.tracked(account, Mode::Transitioning);
            acc.mode = Mode::Transitioning;
            acc.no_interest.clear();
        }
    }

    /// Should a message on `subject` in `account` go to this peer? `peer_iom`: the peer sent
    /// `gateway_iom`, so accounts it said nothing about have no interest.
    pub fn decide(&mut self, account: &[u8], subject: &[u8], peer_iom: bool) -> Decision {
        match self.accounts.get_mut(account) {
            Some(OutboundEntry::NoInterest) => Decision { plain: false, queues: None },
            None => Decision { plain: !peer_iom, queues: None },
            Some(OutboundEntry::Tracked(acc)) => {
                let optimistic = !peer_iom && acc.mode != Mode::InterestOnly;
                let mut plain = optimistic && !acc.no_interest.contains(subject);
                let mut queues = None;
                if !optimistic || acc.queue_subs > 0 || acc.plain_subs > 0 {
                    let m = acc.subs.matches(subject);
                    plain |= !m.plain.is_empty();
                    if !m.queues.is_empty() {
                        queues = Some(m);
                    }
                }
                Decision { plain, queues }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimistic_peer_sends_until_told_no() {
        let mut oi = OutboundInterest::new(1);
        assert!(oi.decide(b"$G", b"foo", false).plain);
        oi.handle_rs_minus(b"$G", b"foo", None);
        assert!(!oi.decide(b"$G", b"foo", false).plain);
        assert!(oi.decide(b"$G", b"bar", false).plain);
        oi.handle_rs_plus(b"$G", b"f*", None);
        assert!(!oi.decide(b"$G", b"foo", false).plain, "f* is a literal token, not a wildcard");
        oi.handle_rs_plus(b"$G", b"*", None);
        assert!(oi.decide(b"$G", b"foo", false).plain);
        oi.handle_a_minus(b"$G");
        assert!(!oi.decide(b"$G", b"bar", false).plain);
        oi.handle_a_plus(b"$G");
        assert!(oi.decide(b"$G", b"bar", false).plain);
    }

    #[test]
    fn interest_only_peer_needs_announcements() {
        let mut oi = OutboundInterest::new(1);
        assert!(!oi.decide(b"$G", b"foo", true).plain);
        // Plain RS+ before `gateway_cmd` 2 is ignored, as nats-server does.
        oi.handle_rs_plus(b"$G", b"foo", None);
        assert!(!oi.decide(b"$G", b"foo", true).plain);
        oi.handle_all_subs(b"$G", false);
        oi.handle_rs_plus(b"$G", b"foo.>", None);
        oi.handle_all_subs(b"$G", true);
        assert!(oi.decide(b"$G", b"foo.bar", true).plain);
        assert!(!oi.decide(b"$G", b"foo", true).plain);
        oi.handle_rs_minus(b"$G", b"foo.>", None);
        assert!(!oi.decide(b"$G", b"foo.bar", true).plain);
    }

    #[test]
    fn queue_interest_is_always_explicit() {
        let mut oi = OutboundInterest::new(1);
        oi.handle_rs_plus(b"$G", b"work", Some(b"q"));
        let d = oi.decide(b"$G", b"work", true);
        assert!(!d.plain);
        assert_eq!(d.queues.unwrap().queues[0].name.as_ref(), b"q");
        // A- keeps an entry that has queue subscriptions.
        oi.handle_a_minus(b"$G");
        assert!(oi.decide(b"$G", b"work", true).queues.is_some());
        oi.handle_rs_minus(b"$G", b"work", Some(b"q"));
        assert!(oi.decide(b"$G", b"work", true).queues.is_none());
    }
}
