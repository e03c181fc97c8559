//! Interest over routes (route-protocol §4): what our own clients subscribe to is announced
//! to every peer (the full set on registration, then every change: `RS+`/`RS-` for plain
//! subjects on 0↔1, `RS+ … <queue> <weight>` with the local member count for queue groups);
//! what a peer announces becomes subscriptions owned by its route, in the account's sublist,
//! so one match finds local and remote interest alike. Interest learned from a route is never
//! announced to another route.

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::{prefix, route_mut};
use crate::account::AccountId;
use crate::link::Link;
use crate::node::{LinkId, LogLevel, Node, SubKey, Subscription};
use crate::proto::route as wire;

/// How many of `account`'s subscriptions on `subject` (and `queue`) belong to local clients.
fn local_count(node: &Node, account: AccountId, subject: &[u8], queue: Option<&[u8]>) -> usize {
    node.accounts[account.0 as usize].sublist.count_where(subject, queue, |k| !k.is_remote())
}

/// A local client subscription was added (`added`) or removed on `subject`/`queue` of
/// `account` (call after the sublist changed): tell every peer when it changes what we
/// announce.
pub(crate) fn local_changed(
    node: &mut Node,
    account: AccountId,
    subject: &[u8],
    queue: Option<&[u8]>,
    added: bool,
) {
    let Some(cluster) = node.cluster.as_ref() else {
        return;
    };
    if cluster.routes.is_empty() || !cluster.imports(subject) {
        return;
    }
    let count = local_count(node, account, subject, queue);
    let mut line = BytesMut::new();
    let name = node.accounts[account.0 as usize].name.as_bytes();
    match queue {
        Some(q) if count > 0 => wire::rs_plus(&mut line, name, subject, Some((q, weight(count)))),
        Some(q) => wire::rs_minus(&mut line, name, subject, Some(q)),
        None if added && count == 1 => wire::rs_plus(&mut line, name, subject, None),
        None if !added && count == 0 => wire::rs_minus(&mut line, name, subject, None),
        None => return,
    }
    let Some(cluster) = node.cluster.as_ref() else {
        return;
    };
    let account_name = node.accounts[account.0 as usize].name.as_str();
    let pinned = &cluster.config.pinned_accounts;
    for peer in cluster.peers.values() {
        let Some(id) = peer.link_for(account_name, pinned) else {
            // Its pool connection is not up yet: the dump on registration tells it.
            continue;
        };
        if let Some(Link::Route(r)) = node.links.get_mut(id) {
            write_interest(r, &line, slot_is_pinned(r));
            if !r.transmit_queued {
                r.transmit_queued = true;
                node.events.push_back(crate::node::Event::Transmit(id));
            }
        }
    }
}

/// Whether `r` is pinned to one account (its lines leave the account out).
fn slot_is_pinned(r: &crate::link::RouteLink) -> bool {
    matches!(r.slot, Some(super::Slot::Pinned(_)))
}

/// Queue one `RS±` line built with the account; on a pinned connection without it.
fn write_interest(r: &mut crate::link::RouteLink, line: &[u8], pinned: bool) {
    let out = r.outbox.buf();
    if !pinned {
        out.extend_from_slice(line);
        return;
    }
    // `RS+ <account> <rest>` → `RS+ <rest>`.
    let op = &line[..4];
    let rest = &line[4..];
    let after_account = rest.iter().position(|b| *b == b' ').map_or(rest.len(), |i| i + 1);
    out.extend_from_slice(op);
    out.extend_from_slice(&rest[after_account..]);
}

fn weight(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Everything our clients are interested in, in the accounts route `id` carries, for a route
/// that just registered.
pub(super) fn dump(node: &mut Node, id: LinkId) {
    let Some(Link::Route(r)) = node.links.get(id) else {
        return;
    };
    let (Some(slot), pinned) = (r.slot.clone(), slot_is_pinned(r)) else {
        return;
    };
    let Some(cluster) = node.cluster.as_ref() else {
        return;
    };
    let Some(peer) = cluster.peers.get(r.remote_id()) else {
        return;
    };
    let mut out = BytesMut::new();
    for (i, account) in node.accounts.iter().enumerate() {
        if !peer.carries(&slot, &account.name, &cluster.config.pinned_accounts) {
            continue;
        }
        let account_id = AccountId(i as u32);
        for (subject, queue) in account.sublist.subjects() {
            let count = local_count(node, account_id, &subject, queue.as_deref());
            if count == 0 || !cluster.imports(&subject) {
                continue;
            }
            let queue = queue.as_deref().map(|q| (q, weight(count)));
            if pinned {
                wire::rs_plus_pinned(&mut out, &subject, queue);
            } else {
                wire::rs_plus(&mut out, account.name.as_bytes(), &subject, queue);
            }
        }
    }
    let Some(r) = route_mut(node, id) else {
        return;
    };
    r.outbox.buf().extend_from_slice(&out);
    let line = format!("{}Sent local subscriptions to route", prefix(r));
    node.log(LogLevel::Debug, line);
}

/// The wire key of a remote subscription: `account subject [queue]`.
fn key(account: &[u8], subject: &[u8], queue: Option<&[u8]>) -> Box<[u8]> {
    let mut k =
        Vec::with_capacity(account.len() + subject.len() + queue.map_or(0, |q| q.len() + 1) + 1);
    k.extend_from_slice(account);
    k.push(b' ');
    k.extend_from_slice(subject);
    if let Some(q) = queue {
        k.push(b' ');
        k.extend_from_slice(q);
    }
    k.into_boxed_slice()
}

/// `RS+` (or `LS+`) from route `id`: a new remote subscription, or a queue weight update.
pub(super) fn remote_added(
    node: &mut Node,
    id: LinkId,
    now: Instant,
    account: &Bytes,
    subject: &Bytes,
    queue: Option<(Bytes, i32)>,
) {
    let q = queue.as_ref().map(|(q, _)| q.as_ref());
    // nats-server reads a weight it cannot parse as -1; any weight below 1 counts as 1.
    let w = queue.as_ref().map_or(1, |(_, w)| u32::try_from(*w).unwrap_or(1).max(1));
    if node.cluster.as_ref().is_some_and(|c| !c.exports(subject, q)) {
        if node.config.debug {
            let line = format!(
                "Can not export {:?}, ignoring remote subscription request",
                String::from_utf8_lossy(subject)
            );
            node.log(LogLevel::Debug, line);
        }
        return;
    }
    let k = key(account, subject, q);
    let Some(r) = route_mut(node, id) else {
        return;
    };
    if let Some(&existing) = r.subs.get(&k) {
        if let Some(sub) = node.subs.get_mut(existing.slot()).and_then(Option::as_mut) {
            sub.set_weight(w);
        }
        return;
    }
    let Ok(name) = std::str::from_utf8(account) else {
        return;
    };
    let account = node.account(name);
    let sub = Subscription::remote(id, account, subject, q, w, now);
    let key = node.alloc_sub(sub);
    if node.accounts[account.0 as usize].sublist.insert(subject, q, key).is_err() {
        node.free_sub(key);
        if let Some(r) = route_mut(node, id) {
            crate::proto::encode::err(r.outbox.buf(), "Invalid Subscription");
            let line =
                format!("{}Could not insert subscription: sublist: invalid subject", prefix(r));
            node.log(LogLevel::Error, line);
        }
        return;
    }
    if let Some(r) = route_mut(node, id) {
        r.subs.insert(k, key);
    }
    crate::node::interest_added(node, account, subject, q);
}

/// `RS-` (or `LS-`) from route `id`.
pub(super) fn remote_removed(
    node: &mut Node,
    id: LinkId,
    account: &[u8],
    subject: &[u8],
    queue: Option<&[u8]>,
) {
    let k = key(account, subject, queue);
    let Some(r) = route_mut(node, id) else {
        return;
    };
    if let Some(key) = r.subs.remove(&k) {
        remove_key(node, key);
    }
}

fn remove_key(node: &mut Node, key: SubKey) {
    let Some(sub) = node.free_sub(key) else {
        return;
    };
    let account = sub.account;
    node.accounts[account.0 as usize].sublist.remove(sub.subject(), sub.queue(), key);
    crate::node::interest_removed(node, account, sub.subject(), sub.queue());
}

/// Route `id` is going: every subscription it announced goes with it.
pub(super) fn drop_all(node: &mut Node, id: LinkId) {
    let Some(r) = route_mut(node, id) else {
        return;
    };
    if r.subs.is_empty() {
        return;
    }
    let keys: Vec<SubKey> = r.subs.drain().map(|(_, k)| k).collect();
    let line = format!("{}Removing {} subscriptions", prefix(r), keys.len());
    for key in keys {
        remove_key(node, key);
    }
    node.log(LogLevel::Debug, line);
}
