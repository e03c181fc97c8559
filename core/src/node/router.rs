//! Where a message goes: the one table of fan-out rules, for every origin.
//!
//! | origin  | local plain | queue groups                                     | routes                    | gateways                      |
//! |---------|-------------|--------------------------------------------------|---------------------------|-------------------------------|
//! | client  | yes (echo)  | one member per group, local or behind a route    | once per route interested | every remote that wants it    |
//! | route   | yes         | one *local* member per group the sender listed   | never                     | never                         |
//! | gateway | yes         | one member per *listed* group, local or by route | once per route interested | only a mapped reply come home |
//!
//! Inside a cluster a queue member is picked at random among all members, each route member
//! weighted by the member count its server announced, with no preference for local ones
//! (nats-server 2.15.1 does the same).
//!
//! A client's answer on a subject it got as a mapped `_GR_.` reply skips the table: it goes
//! straight back to the requester's cluster (gateway-protocol §6.6), and there, if another
//! server of that cluster received it, over the route to the requester's server. A mapped
//! reply travels with a message that a gateway's receiver passes on to its routes.
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
use crate::sublist::Match;

/// Where a message came from.
#[derive(Clone, Copy, Debug)]
pub(super) enum Origin<'a> {
    /// A client of this server.
    Client(LinkId),
    /// A route: the sending server picked the queue members behind us and lists their groups.
    Route {
        /// The queue groups listed (`RMSG … | q…`); none means no queue subscriber gets it.
        queues: Option<&'a [u8]>,
        /// The full `_GR_.` reply when the message's reply was stripped of it.
        mapped: Option<&'a [u8]>,
    },
    /// An inbound gateway link.
    Gateway {
        /// The queue groups the sending cluster left to us (`RMSG … | q…`); none means no
        /// queue subscriber may get it.
        queues: Option<&'a [u8]>,
        /// The full `_GR_.` reply when the message's reply was stripped of it.
        mapped: Option<&'a [u8]>,
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
    msg: &Message<'_>,
) -> Outcome {
    let outer = std::mem::replace(&mut node.deferred.active, true);
    let outcome = match origin {
        Origin::Client(src) => from_client(node, now, src, account, msg),
        Origin::Route { queues, mapped } => from_route(node, now, account, msg, queues, mapped),
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
    msg: &Message<'_>,
) -> Outcome {
    let Some(Link::Client(c)) = node.links.get_mut(src) else {
        return Outcome::NotDelivered;
    };
    // The answer to a request that came through a gateway goes straight back to it.
    if c.gateway_replies.is_some()
        && let Some(full) = c.gateway_reply(msg.subject, now)
    {
        return match gateway::send_direct(node, account, &full, msg) {
            true => Outcome::Delivered,
            false => Outcome::NotDelivered,
        };
    }
    let (echo, wants_no_responders) = (c.opts.echo, c.opts.no_responders);
    let target = Target { src: Some(src), echo, mapped: None };
    let result = node.accounts[account.0 as usize].sublist.matches(msg.subject);
    // Queue groups served in this cluster; gateways only offer the others to remote clusters.
    let (mut delivered, mut served) = in_cluster(node, now, account, msg, target, &result, None);
    if node.gateway.is_some() {
        delivered |= gateway::forward(node, now, account, msg, &mut served);
    }
    if !delivered
        && wants_no_responders
        && let Some(reply) = &msg.reply
    {
        deliver::no_responders(node, src, reply, msg.subject);
    }
    match (delivered, result.is_empty()) {
        (true, _) => Outcome::Delivered,
        (false, false) => Outcome::NotDelivered,
        (false, true) => Outcome::NoInterest,
    }
}

/// A message from an inbound gateway: every subscriber in this cluster (behind routes too),
/// and one member, anywhere in the cluster, of each queue group the sender listed.
fn from_gateway(
    node: &mut Node,
    now: Instant,
    account: AccountId,
    msg: &Message<'_>,
    queues: Option<&[u8]>,
    mapped: Option<&[u8]>,
    reply_came_home: bool,
) -> Outcome {
    let result = node.accounts[account.0 as usize].sublist.matches(msg.subject);
    if result.plain.is_empty() && queues.is_none() && !reply_came_home {
        return Outcome::NoInterest;
    }
    let target = Target { src: None, echo: true, mapped };
    let listed = Some(queues.unwrap_or_default());
    let (mut delivered, _) = in_cluster(node, now, account, msg, target, &result, listed);
    // A reply that came home is also offered to the other clusters under its real subject, so
    // subscribers elsewhere still see it (not for service-import replies).
    if reply_came_home && !msg.subject.starts_with(b"_R_.") {
        let mut served = Vec::new();
        delivered |= gateway::forward(node, now, account, msg, &mut served);
    }
    if delivered { Outcome::Delivered } else { Outcome::NotDelivered }
}

/// This cluster's share of a fan-out: local subscribers get the message now, servers behind
/// routes once each, and each queue group gets one member, local or behind a route — every
/// group, or with `listed` (a queue list as it came over a gateway) only those it names.
/// Returns whether anyone took it and, when gateways are configured, the groups served.
fn in_cluster(
    node: &mut Node,
    now: Instant,
    account: AccountId,
    msg: &Message<'_>,
    target: Target<'_>,
    result: &Match<SubKey>,
    listed: Option<&[u8]>,
) -> (bool, Vec<Bytes>) {
    let mut delivered = false;
    let mut routes = node.cluster.as_mut().map(|c| std::mem::take(&mut c.targets));
    for &key in &result.plain {
        if key.is_remote() {
            if let (Some(routes), Some(sub)) = (routes.as_mut(), node.sub(key)) {
                routes.add_plain(sub.link);
            }
        } else {
            delivered |= deliver::deliver(node, key, target, msg, now);
        }
    }
    let mut served = Vec::new();
    for group in &result.queues {
        if let Some(list) = listed
            && !message::queue_names(list).any(|name| name == group.name.as_ref())
        {
            continue;
        }
        let taken = pick_member(node, &group.members, |node, key| {
            if !key.is_remote() {
                return deliver::deliver(node, key, target, msg, now);
            }
            match (routes.as_mut(), node.sub(key)) {
                (Some(routes), Some(sub)) => {
                    routes.add_queue(sub.link, group.name.clone());
                    true
                }
                _ => false,
            }
        });
        if taken {
            delivered = true;
            if node.gateway.is_some() {
                served.push(group.name.clone());
            }
        }
    }
    if let Some(mut routes) = routes {
        // A reply stripped of its `_GR_.` mapping travels on with it, so the server that
        // delivers it can send the answer straight back too.
        delivered |= match target.mapped {
            Some(full) if !routes.is_empty() => {
                let with_mapping = Message { reply: Some(full), ..*msg };
                crate::route::send_to_routes(node, account, &with_mapping, &mut routes)
            }
            _ => crate::route::send_to_routes(node, account, msg, &mut routes),
        };
        if let Some(c) = node.cluster.as_mut() {
            c.targets = routes;
        }
    }
    (delivered, served)
}

/// A message from a route: our own subscribers, and one local member of each listed group.
fn from_route(
    node: &mut Node,
    now: Instant,
    account: AccountId,
    msg: &Message<'_>,
    queues: Option<&[u8]>,
    mapped: Option<&[u8]>,
) -> Outcome {
    let result = node.accounts[account.0 as usize].sublist.matches(msg.subject);
    let target = Target { src: None, echo: true, mapped };
    let mut delivered = false;
    for &key in result.plain.iter().filter(|k| !k.is_remote()) {
        delivered |= deliver::deliver(node, key, target, msg, now);
    }
    for name in queues.map(message::queue_names).into_iter().flatten() {
        let Some(group) = result.queues.iter().find(|g| g.name.as_ref() == name) else {
            continue;
        };
        // Local members first; the sender already chose us for this group.
        let local = group.members.partition_point(|k| !k.is_remote());
        delivered |= pick_member(node, &group.members[..local], |node, key| {
            deliver::deliver(node, key, target, msg, now)
        });
    }
    if delivered { Outcome::Delivered } else { Outcome::NotDelivered }
}

/// One member of a queue group takes the message: a random start, then forward until one can
/// (nats-server skips members that cannot, such as the publisher with echo off). Members
/// behind a route count with their announced weight; they sort last, so a group without any
/// is picked uniformly in constant time.
fn pick_member(
    node: &mut Node,
    members: &[SubKey],
    mut offer: impl FnMut(&mut Node, SubKey) -> bool,
) -> bool {
    let n = members.len();
    if n == 0 {
        return false;
    }
    let start = if members[n - 1].is_remote() {
        weighted_start(node, members)
    } else {
        (node.rng.next_u64() % n as u64) as usize
    };
    (0..n).any(|i| offer(node, members[(start + i) % n]))
}

/// A member index drawn with each member's weight.
fn weighted_start(node: &mut Node, members: &[SubKey]) -> usize {
    let weight = |node: &Node, key: SubKey| node.sub(key).map_or(1, |s| s.pick_weight());
    let total: u64 = members.iter().map(|&k| weight(node, k)).sum();
    let mut point = node.rng.next_u64() % total.max(1);
    for (i, &key) in members.iter().enumerate() {
        let w = weight(node, key);
        if point < w {
            return i;
        }
        point -= w;
    }
    0
}
