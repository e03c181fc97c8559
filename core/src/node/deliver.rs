//! Delivery to one local client subscription, and the no-responders answer when nobody got a
//! request. Which subscriptions get a message is decided in `router`.

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::router::Effect;
use super::{Event, Node, SubKey, client, client_log};
use crate::error::ClientError;
use crate::link::{ClientLink, Link};
use crate::message::Message;
use crate::node::LinkId;
use crate::proto::encode;

/// Who a delivery is for, beyond the subscription.
#[derive(Clone, Copy, Debug)]
pub(super) struct Target<'a> {
    /// The publishing client, if local (with echo off it does not get its own message).
    pub(super) src: Option<LinkId>,
    /// The publisher's `echo` option.
    pub(super) echo: bool,
    /// The full `_GR_.` reply when the message's reply was stripped of it: the receiving
    /// client's answer on the stripped subject then goes straight back to the requester's
    /// cluster.
    pub(super) mapped: Option<&'a [u8]>,
}

/// Queue `p` to the local client subscription `key`; false if it could not take it. A slow
/// consumer is closed and an auto-unsubscribe applied after the fan-out.
pub(super) fn deliver(
    node: &mut Node,
    key: SubKey,
    to: Target<'_>,
    p: &Message<'_>,
    now: Instant,
) -> bool {
    let Some(sub) = node.subs.get_mut(key.slot()).and_then(Option::as_mut) else {
        return false;
    };
    if Some(sub.link) == to.src && !to.echo {
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
        && perms.delivery_denied(p.subject, sub.queue())
    {
        return false;
    }
    let link = sub.link;
    let with_headers = p.header_len > 0 && c.headers;
    let payload = if with_headers || p.header_len == 0 {
        p.payload
    } else {
        // A receiver that did not negotiate headers gets the body only.
        p.payload.get(p.header_len..).unwrap_or_default()
    };
    let frame_len = frame_len(p, sub.sid(), payload.len());
    if c.outbox.pending() + frame_len > node.config.max_pending {
        client::close(node, link, ClientError::SlowConsumer);
        return false;
    }
    let out = c.outbox.buf();
    let reply = p.reply;
    if with_headers {
        encode::hmsg(out, p.subject, sub.sid(), reply, p.header_len, payload);
    } else {
        encode::msg(out, p.subject, sub.sid(), reply, payload);
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
    if let (Some(full), Some(reply)) = (to.mapped, p.reply) {
        // Copies: slices would keep whole read buffers alive in the map.
        c.remember_gateway_reply(Bytes::copy_from_slice(reply), Bytes::copy_from_slice(full), now);
    }
    // `allow_responses`: the client may now answer on this reply subject.
    if let (Some(perms), Some(reply)) = (c.perms.as_deref_mut(), p.reply) {
        perms.delivered_reply(reply, now);
    }
    c.counters.out_msgs += 1;
    c.counters.out_bytes += payload.len() as u64;
    node.totals.out_msgs += 1;
    node.totals.out_bytes += payload.len() as u64;
    wake(&mut node.events, link, c);
    sub.delivered += 1;
    if sub.max > 0 && sub.delivered >= sub.max {
        node.apply(Effect::Unsubscribe(key));
    }
    true
}

/// Upper bound of the encoded frame size, for the `max_pending` check.
fn frame_len(p: &Message<'_>, sid: &[u8], payload_len: usize) -> usize {
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
pub(super) fn no_responders(node: &mut Node, src: LinkId, reply: &[u8], subject: &[u8]) {
    let Some(Link::Client(c)) = node.links.get(src) else {
        return;
    };
    let account = c.account;
    let result = node.accounts[account.0 as usize].sublist.matches(reply);
    let sid = result.plain.iter().find_map(|key| {
        let sub = node.subs.get(key.slot())?.as_ref()?;
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
