//! Messages over routes (route-protocol §5): one `RMSG`/`HMSG` per route the router picked,
//! listing the queue groups whose chosen member sits behind it; a received message is
//! handed to the router as a route-origin message (delivered here only, never relayed to
//! another route).

use std::time::Instant;

use bytes::Bytes;

use super::{prefix, route_mut};
use crate::account::AccountId;
use crate::link::Link;
use crate::message::Message;
use crate::node::{Event, LinkId, LogLevel, Node};
use crate::proto::route::{self as wire, RoutedMsg};

/// The routes one message goes to, filled by the router. Kept in the node and reused, so
/// routing a message allocates nothing once it has warmed up.
#[derive(Debug, Default)]
pub(crate) struct RouteTargets {
    /// Routes with plain interest.
    plain: Vec<LinkId>,
    /// Queue groups whose chosen member is behind a route.
    queues: Vec<(LinkId, Bytes)>,
    /// Servers a message went to, while sending it.
    sent_to: Vec<u64>,
}

impl RouteTargets {
    /// The route `link` has plain interest in the message.
    pub(crate) fn add_plain(&mut self, link: LinkId) {
        if !self.plain.contains(&link) {
            self.plain.push(link);
        }
    }

    /// Queue group `group` chose a member behind route `link`.
    pub(crate) fn add_queue(&mut self, link: LinkId, group: Bytes) {
        self.queues.push((link, group));
    }

    /// Nothing picked.
    pub(crate) fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.queues.is_empty()
    }

    fn clear(&mut self) {
        self.plain.clear();
        self.queues.clear();
    }
}

/// Send `msg` of `account` to every route in `targets` (then cleared); returns whether any
/// route got it (which counts as delivered for no-responders).
pub(crate) fn send(
    node: &mut Node,
    account: AccountId,
    msg: &Message<'_>,
    targets: &mut RouteTargets,
) -> bool {
    if targets.is_empty() {
        return false;
    }
    for i in 0..targets.queues.len() {
        let link = targets.queues[i].0;
        targets.add_plain(link);
    }
    let name = node.accounts[account.0 as usize].name.as_bytes();
    let mut sent = false;
    // One message per server, whatever the number of its connections holding interest.
    targets.sent_to.clear();
    for &link in &targets.plain {
        let Some(Link::Route(r)) = node.links.get_mut(link) else {
            continue;
        };
        if !r.is_established() || targets.sent_to.contains(&r.peer_key) {
            continue;
        }
        targets.sent_to.push(r.peer_key);
        let queues = targets.queues.iter().filter(|(l, _)| *l == link).map(|(_, q)| q);
        let headers = msg.header_len > 0 && r.peer_headers();
        let pinned = matches!(r.slot, Some(super::Slot::Pinned(_)));
        let out = r.outbox.buf();
        let (subject, reply) = (msg.subject, msg.reply);
        match (headers, pinned) {
            (true, false) => {
                wire::hmsg(out, name, subject, reply, queues, msg.header_len, msg.payload)
            }
            (false, false) => wire::rmsg(out, name, subject, reply, queues, msg.body()),
            (true, true) => {
                wire::hmsg_pinned(out, subject, reply, queues, msg.header_len, msg.payload)
            }
            (false, true) => wire::rmsg_pinned(out, subject, reply, queues, msg.body()),
        }
        r.counters.out_msgs += 1;
        r.counters.out_bytes += msg.payload.len() as u64;
        node.totals.out_msgs += 1;
        node.totals.out_bytes += msg.payload.len() as u64;
        if !r.transmit_queued {
            r.transmit_queued = true;
            node.events.push_back(Event::Transmit(link));
        }
        sent = true;
    }
    targets.clear();
    sent
}

/// A reply mapped for another server of our cluster (`_GR_.<our cluster>.<server_hash>.…`)
/// goes on to that server unchanged, over the route that carries `account`; false when no
/// route leads there.
pub(crate) fn send_to_server(
    node: &mut Node,
    account: AccountId,
    server_hash: &[u8],
    msg: &Message<'_>,
) -> bool {
    let Some(cluster) = node.cluster.as_ref() else {
        return false;
    };
    let name = node.accounts[account.0 as usize].name.as_str();
    let pinned = &cluster.config.pinned_accounts;
    let link = cluster
        .peers
        .values()
        .find(|p| p.reply_hash.as_slice() == server_hash)
        .and_then(|p| p.link_for(name, pinned));
    let Some(link) = link else {
        return false;
    };
    let mut targets =
        node.cluster.as_mut().map(|c| std::mem::take(&mut c.targets)).unwrap_or_default();
    targets.add_plain(link);
    let sent = send(node, account, msg, &mut targets);
    if let Some(c) = node.cluster.as_mut() {
        c.targets = targets;
    }
    sent
}

/// A message from route `id`: deliver it to our own clients.
pub(super) fn receive(node: &mut Node, id: LinkId, now: Instant, msg: RoutedMsg) {
    let Some(r) = route_mut(node, id) else {
        return;
    };
    r.counters.in_msgs += 1;
    r.counters.in_bytes += msg.payload().len() as u64;
    if r.peer_verbose {
        r.outbox.buf().extend_from_slice(crate::proto::encode::OK);
    }
    node.totals.in_msgs += 1;
    node.totals.in_bytes += msg.payload().len() as u64;
    let account = std::str::from_utf8(msg.account()).ok().and_then(|n| node.account_ids.get(n));
    let Some(&account) = account else {
        // The log prefix is formatted only here: building it for every message cost about a
        // quarter of a route receiver's CPU.
        if node.config.debug
            && let Some(r) = route_mut(node, id)
        {
            let p = prefix(r);
            let line = format!(
                "{p}Unknown account \"{}\" for routed message on subject: \"{}\"",
                String::from_utf8_lossy(msg.account()),
                String::from_utf8_lossy(msg.subject())
            );
            node.log(LogLevel::Debug, line);
        }
        return;
    };
    // A reply that crossed a gateway to another server of our cluster and was passed on to
    // us, its requester's server: delivered under its real subject.
    let mut subject = msg.subject();
    if let Some(gw) = node.gateway.as_ref()
        && let Some(m) = crate::gateway::reply::parse_mapped(subject)
        && m.cluster_hash == gw.cluster_hash.as_slice()
        && m.server_hash == gw.server_hash.as_slice()
    {
        subject = m.reply;
    }
    let (reply, mapped) = crate::gateway::reply::strip(msg.reply());
    let m = Message { subject, reply, header_len: msg.header_len(), payload: msg.payload() };
    crate::node::route_from_route(node, now, account, &m, msg.queues(), mapped);
}
