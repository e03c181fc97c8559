//! The routing decision for one published message: local plain subscribers, one member per
//! queue group, and the no-responders answer when nobody got it.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use rand_core::RngCore;

use super::client::{close, unsubscribe_key};
use super::{Event, Node, SubKey, client_log, gateway};
use crate::error::ClientError;
use crate::link::{ClientLink, Link};
use crate::node::LinkId;
use crate::proto::client::Publish;
use crate::proto::encode;

/// Route `p`, published by client `src`, within its account: local subscribers first, then
/// every remote gateway that wants it.
pub(super) fn publish(node: &mut Node, src: LinkId, now: Instant, p: &Publish) {
    let Some(Link::Client(c)) = node.links.get(src) else {
        return;
    };
    let account = c.account;
    let echo = c.opts.echo;
    let wants_no_responders = c.opts.no_responders;
    let result = node.accounts[account.0 as usize].sublist.matches(&p.subject);
    let mut delivered = false;
    for &key in &result.plain {
        delivered |= deliver(node, key, Some(src), echo, p, None, now);
    }
    // Queue groups served here; gateways only offer the others to remote clusters.
    let mut served = Vec::new();
    for group in &result.queues {
        let n = group.members.len();
        if n == 0 {
            continue;
        }
        // A uniformly random start, then walk forward until a member takes it (nats-server
        // skips members that cannot, such as the publisher itself with echo off).
        let start = (node.rng.next_u64() % n as u64) as usize;
        for i in 0..n {
            if deliver(node, group.members[(start + i) % n], Some(src), echo, p, None, now) {
                delivered = true;
                if node.gateway.is_some() {
                    served.push(group.name.clone());
                }
                break;
            }
        }
    }
    if node.gateway.is_some() {
        delivered |= gateway::forward(node, now, account, p, &mut served);
    }
    if !delivered
        && wants_no_responders
        && let Some(reply) = &p.reply
    {
        no_responders(node, src, reply, &p.subject);
    }
}

/// Queue a message that arrived from a gateway to subscription `key`. `mapped` is the full
/// `_GR_.` reply when `p.reply` was stripped of it: the receiving client's answer on the
/// stripped subject then goes straight back to the requester's cluster.
pub(super) fn deliver_routed(
    node: &mut Node,
    key: SubKey,
    p: &Publish,
    mapped: Option<&Bytes>,
    now: Instant,
) -> bool {
    deliver(node, key, None, true, p, mapped, now)
}

/// Queue `p` to subscription `key`; false if it could not take it.
fn deliver(
    node: &mut Node,
    key: SubKey,
    src: Option<LinkId>,
    echo: bool,
    p: &Publish,
    mapped: Option<&Bytes>,
    now: Instant,
) -> bool {
    let Some(sub) = node.subs.get_mut(key.0 as usize).and_then(Option::as_mut) else {
        return false;
    };
    if Some(sub.link) == src && !echo {
        return false;
    }
    let Some(Link::Client(c)) = node.links.get_mut(sub.link) else {
        return false;
    };
    if c.is_closing() {
        return false;
    }
    // A wildcard or queue subscription may overlap a subscribe deny entry; what the deny
    // entry names is withheld (nats-server `checkDenySub`).
    if let Some(perms) = c.perms.as_deref()
        && perms.delivery_denied(&p.subject, sub.queue())
    {
        return false;
    }
    let link = sub.link;
    let with_headers = p.header_len > 0 && c.headers;
    let payload = if with_headers || p.header_len == 0 {
        &p.payload[..]
    } else {
        // A receiver that did not negotiate headers gets the body only.
        p.payload.get(p.header_len..).unwrap_or_default()
    };
    let frame_len = frame_len(p, sub.sid(), payload.len());
    if c.outbox.pending() + frame_len > node.config.max_pending {
        close(node, link, ClientError::SlowConsumer);
        return false;
    }
    let out = c.outbox.buf();
    let reply = p.reply.as_deref();
    if with_headers {
        encode::hmsg(out, &p.subject, sub.sid(), reply, p.header_len, payload);
    } else {
        encode::msg(out, &p.subject, sub.sid(), reply, payload);
    }
    if node.config.trace {
        let header_len = with_headers.then_some(p.header_len);
        let (sid, subject) = (sub.sid(), &p.subject);
        let config = &node.config;
        client_log::trace_delivery(
            &mut node.events,
            config,
            c,
            subject,
            sid,
            reply,
            header_len,
            payload,
        );
    }
    if let (Some(full), Some(reply)) = (mapped, &p.reply) {
        c.remember_gateway_reply(reply.clone(), full.clone(), now);
    }
    // `allow_responses`: the client may now answer on this reply subject.
    if let (Some(perms), Some(reply)) = (c.perms.as_deref_mut(), &p.reply) {
        perms.delivered_reply(reply, now);
    }
    c.counters.out_msgs += 1;
    c.counters.out_bytes += payload.len() as u64;
    node.totals.out_msgs += 1;
    node.totals.out_bytes += payload.len() as u64;
    wake(&mut node.events, link, c);
    sub.delivered += 1;
    if sub.max > 0 && sub.delivered >= sub.max {
        unsubscribe_key(node, key);
    }
    true
}

/// Upper bound of the encoded frame size, for the `max_pending` check.
fn frame_len(p: &Publish, sid: &[u8], payload_len: usize) -> usize {
    // "HMSG " + 4 separators + two 10-digit sizes + 2 CRLFs.
    const OVERHEAD: usize = 5 + 4 + 20 + 4;
    OVERHEAD + p.subject.len() + sid.len() + p.reply.as_ref().map_or(0, |r| r.len()) + payload_len
}

/// Queue a `Transmit` for `link` unless one is pending.
fn wake(events: &mut std::collections::VecDeque<Event>, link: LinkId, c: &mut ClientLink) {
    if !c.transmit_queued {
        c.transmit_queued = true;
        events.push_back(Event::Transmit(link));
    }
}

/// Nobody took a request: answer the publisher with a 503 status message on its own
/// subscription to the reply subject, if it has a plain one.
fn no_responders(node: &mut Node, src: LinkId, reply: &[u8], subject: &[u8]) {
    let Some(Link::Client(c)) = node.links.get(src) else {
        return;
    };
    let account = c.account;
    let result = node.accounts[account.0 as usize].sublist.matches(reply);
    let sid = result.plain.iter().find_map(|key| {
        let sub = node.subs.get(key.0 as usize)?.as_ref()?;
        (sub.link == src).then(|| Bytes::copy_from_slice(sub.sid()))
    });
    let Some(sid) = sid else {
        return;
    };
    let mut headers = BytesMut::with_capacity(32 + subject.len());
    headers.extend_from_slice(b"NATS/1.0 503\r\nNats-Subject: ");
    headers.extend_from_slice(subject);
    headers.extend_from_slice(b"\r\n\r\n");
    let Some(Link::Client(c)) = node.links.get_mut(src) else {
        return;
    };
    encode::hmsg(c.outbox.buf(), reply, &sid, None, headers.len(), &headers);
    wake(&mut node.events, src, c);
}
