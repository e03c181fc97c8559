//! Where a message goes: the one table of fan-out rules, for every origin.
//!
//! | origin  | local plain | local queue groups            | gateways                      |
//! |---------|-------------|-------------------------------|-------------------------------|
//! | client  | yes (echo)  | one member per matching group | every remote that wants it    |
//! | gateway | yes         | one member per *listed* group | only a mapped reply come home |
//!
//! A client's answer on a subject it got as a mapped `_GR_.` reply skips the table: it goes
//! straight back to the requester's cluster (gateway-protocol §6.6).
//!
//! Side effects found during a fan-out (a slow consumer closed, an auto-unsubscribe reaching
//! its count) would change interest while the message is still being routed; they are
//! deferred and applied, in order, once the fan-out is done.

use std::time::Instant;

use bytes::Bytes;
use rand_core::RngCore;

use super::deliver::{self, Target};
use super::{Node, SubKey, client, gateway};
use crate::account::AccountId;
use crate::link::Link;
use crate::message::{self, Message};
use crate::node::LinkId;

/// Where a message came from.
#[derive(Clone, Copy, Debug)]
pub(super) enum Origin<'a> {
    /// A client of this server.
    Client(LinkId),
    /// An inbound gateway link.
    Gateway {
        /// The queue groups the sending cluster left to us (`RMSG … | q…`); none means no
        /// queue subscriber may get it.
        queues: Option<&'a Bytes>,
        /// The full `_GR_.` reply when the message's reply was stripped of it.
        mapped: Option<&'a Bytes>,
        /// The subject was a mapped reply addressed to this cluster (and is now stripped).
        reply_came_home: bool,
    },
}

/// What a fan-out found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Somebody took it (a local subscriber, or a link that forwards it).
    Delivered,
    /// Somebody here is interested but nobody took it (e.g. every member was closing).
    NotDelivered,
    /// Nothing here wants the subject (a gateway peer is then told so).
    NoInterest,
}

/// A side effect held back until the current fan-out is done.
#[derive(Clone, Copy, Debug)]
pub(super) enum Effect {
    /// A link closed during the fan-out: drop its subscriptions.
    DropSubscriptions(LinkId),
    /// A subscription reached its auto-unsubscribe count.
    Unsubscribe(SubKey),
}

/// Held-back effects and whether a fan-out is running.
#[derive(Debug, Default)]
pub(super) struct Deferred {
    active: bool,
    effects: Vec<Effect>,
}

impl Node {
    /// Apply `effect` now, or after the running fan-out.
    pub(super) fn apply(&mut self, effect: Effect) {
        if self.deferred.active {
            self.deferred.effects.push(effect);
            return;
        }
        match effect {
            Effect::DropSubscriptions(link) => client::remove_subscriptions(self, link),
            Effect::Unsubscribe(key) => client::unsubscribe_key(self, key),
        }
    }
}

/// Route `msg` of `account` from `origin`.
pub(super) fn route(
    node: &mut Node,
    now: Instant,
    origin: Origin<'_>,
    account: AccountId,
    msg: &Message,
) -> Outcome {
    let outer = std::mem::replace(&mut node.deferred.active, true);
    let outcome = match origin {
        Origin::Client(src) => from_client(node, now, src, account, msg),
        Origin::Gateway { queues, mapped, reply_came_home } => {
            from_gateway(node, now, account, msg, queues, mapped, reply_came_home)
        }
    };
    if !outer {
        node.deferred.active = false;
        let effects = std::mem::take(&mut node.deferred.effects);
        for effect in &effects {
            node.apply(*effect);
        }
        // Keep the buffer's capacity for the next fan-out.
        let mut effects = effects;
        effects.clear();
        node.deferred.effects = effects;
    }
    outcome
}

fn from_client(
    node: &mut Node,
    now: Instant,
    src: LinkId,
    account: AccountId,
    msg: &Message,
) -> Outcome {
    let Some(Link::Client(c)) = node.links.get_mut(src) else {
        return Outcome::NotDelivered;
    };
    // The answer to a request that came through a gateway goes straight back to it.
    if c.gateway_replies.is_some()
        && let Some(full) = c.gateway_reply(&msg.subject, now)
    {
        return match gateway::send_direct(node, account, &full, msg) {
            true => Outcome::Delivered,
            false => Outcome::NotDelivered,
        };
    }
    let (echo, wants_no_responders) = (c.opts.echo, c.opts.no_responders);
    let target = Target { src: Some(src), echo, mapped: None };
    let result = node.accounts[account.0 as usize].sublist.matches(&msg.subject);
    let mut delivered = false;
    for &key in &result.plain {
        delivered |= deliver::deliver(node, key, target, msg, now);
    }
    // Queue groups served here; gateways only offer the others to remote clusters.
    let mut served = Vec::new();
    for group in &result.queues {
        if pick_member(node, &group.members, |node, key| {
            deliver::deliver(node, key, target, msg, now)
        }) {
            delivered = true;
            if node.gateway.is_some() {
                served.push(group.name.clone());
            }
        }
    }
    if node.gateway.is_some() {
        delivered |= gateway::forward(node, now, account, msg, &mut served);
    }
    if !delivered
        && wants_no_responders
        && let Some(reply) = &msg.reply
    {
        deliver::no_responders(node, src, reply, &msg.subject);
    }
    match (delivered, result.is_empty()) {
        (true, _) => Outcome::Delivered,
        (false, false) => Outcome::NotDelivered,
        (false, true) => Outcome::NoInterest,
    }
}

fn from_gateway(
    node: &mut Node,
    now: Instant,
    account: AccountId,
    msg: &Message,
    queues: Option<&Bytes>,
    mapped: Option<&Bytes>,
    reply_came_home: bool,
) -> Outcome {
    let result = node.accounts[account.0 as usize].sublist.matches(&msg.subject);
    if result.plain.is_empty() && queues.is_none() && !reply_came_home {
        return Outcome::NoInterest;
    }
    let target = Target { src: None, echo: true, mapped };
    let mut delivered = false;
    for &key in &result.plain {
        delivered |= deliver::deliver(node, key, target, msg, now);
    }
    for name in queues.map(|q| message::queue_names(q)).into_iter().flatten() {
        let Some(group) = result.queues.iter().find(|g| g.name.as_ref() == name) else {
            continue;
        };
        delivered |= pick_member(node, &group.members, |node, key| {
            deliver::deliver(node, key, target, msg, now)
        });
    }
    // A reply that came home is also offered to the other clusters under its real subject, so
    // subscribers elsewhere still see it (not for service-import replies).
    if reply_came_home && !msg.subject.starts_with(b"_R_.") {
        let mut served = Vec::new();
        delivered |= gateway::forward(node, now, account, msg, &mut served);
    }
    if delivered { Outcome::Delivered } else { Outcome::NotDelivered }
}

/// One member of a queue group takes the message: a uniformly random start, then forward until
/// one can (nats-server skips members that cannot, such as the publisher with echo off).
fn pick_member(
    node: &mut Node,
    members: &[SubKey],
    mut offer: impl FnMut(&mut Node, SubKey) -> bool,
) -> bool {
    let n = members.len();
    if n == 0 {
        return false;
    }
    let start = (node.rng.next_u64() % n as u64) as usize;
    (0..n).any(|i| offer(node, members[(start + i) % n]))
}
