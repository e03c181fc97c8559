//! One state machine per connection kind. Today: clients; routes and gateways join as more
//! variants of [`Link`].

pub mod client;
pub mod gateway;
pub mod keepalive;
pub mod outbox;
pub mod timers;

use std::time::Instant;

pub use client::ClientLink;
pub use gateway::GatewayLink;
pub use keepalive::PeerKeepAlive;
pub use outbox::Outbox;
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
    /// A gateway connection to or from another cluster.
    Gateway(Box<GatewayLink>),
}

impl Link {
    /// The link's outbound queue.
    pub fn outbox(&self) -> &Outbox {
        match self {
            Link::Client(c) => &c.outbox,
            Link::Gateway(g) => &g.outbox,
        }
    }

    /// The link's outbound queue, mutably.
    pub fn outbox_mut(&mut self) -> &mut Outbox {
        match self {
            Link::Client(c) => &mut c.outbox,
            Link::Gateway(g) => &mut g.outbox,
        }
    }

    /// Earliest timer deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Link::Client(c) => c.timers.earliest(),
            Link::Gateway(g) => g.timers.earliest(),
        }
    }

    /// Whether the link takes no more input.
    pub fn is_closing(&self) -> bool {
        match self {
            Link::Client(c) => c.is_closing(),
            Link::Gateway(g) => g.is_closing(),
        }
    }

    /// Whether a `Transmit` is queued; set it and return the old value.
    pub(crate) fn mark_transmit_queued(&mut self, queued: bool) -> bool {
        let flag = match self {
            Link::Client(c) => &mut c.transmit_queued,
            Link::Gateway(g) => &mut g.transmit_queued,
        };
        std::mem::replace(flag, queued)
    }
}
