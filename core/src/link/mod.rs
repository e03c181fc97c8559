//! One state machine per connection kind: clients, routes and gateways, the variants of
//! [`Link`], built from the shared pieces here (outbox, timers, keep-alive, counters).

pub mod client;
pub mod gateway;
pub mod keepalive;
pub mod outbox;
pub mod route;
pub mod timers;

use std::time::Instant;

pub use client::ClientLink;
pub use gateway::GatewayLink;
pub use keepalive::PeerKeepAlive;
pub use outbox::Outbox;
pub use route::RouteLink;
pub use timers::Timers;

/// Traffic counters for monitoring, the same for every link kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Messages received.
    pub in_msgs: u64,
    /// Bytes of payload received.
    pub in_bytes: u64,
    /// Messages sent.
    pub out_msgs: u64,
    /// Bytes of payload sent.
    pub out_bytes: u64,
}

/// A connection's state machine.
#[derive(Debug)]
pub enum Link {
    /// A NATS client.
    Client(Box<ClientLink>),
    /// A route to another server of our cluster.
    Route(Box<RouteLink>),
    /// A gateway connection to or from another cluster.
    Gateway(Box<GatewayLink>),
}

impl Link {
    /// The link's outbound queue.
    pub fn outbox(&self) -> &Outbox {
        match self {
            Link::Client(c) => &c.outbox,
            Link::Route(r) => &r.outbox,
            Link::Gateway(g) => &g.outbox,
        }
    }

    /// The link's outbound queue, mutably.
    pub fn outbox_mut(&mut self) -> &mut Outbox {
        match self {
            Link::Client(c) => &mut c.outbox,
            Link::Route(r) => &mut r.outbox,
            Link::Gateway(g) => &mut g.outbox,
        }
    }

    /// Earliest timer deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Link::Client(c) => c.timers.earliest(),
            Link::Route(r) => r.timers.earliest(),
            Link::Gateway(g) => g.timers.earliest(),
        }
    }

    /// Whether the link takes no more input.
    pub fn is_closing(&self) -> bool {
        match self {
            Link::Client(c) => c.is_closing(),
            Link::Route(r) => r.is_closing(),
            Link::Gateway(g) => g.is_closing(),
        }
    }

    /// Whether a `Transmit` is queued; set it and return the old value.
    pub(crate) fn mark_transmit_queued(&mut self, queued: bool) -> bool {
        let flag = match self {
            Link::Client(c) => &mut c.transmit_queued,
            Link::Route(r) => &mut r.transmit_queued,
            Link::Gateway(g) => &mut g.transmit_queued,
        };
        std::mem::replace(flag, queued)
    }
}
