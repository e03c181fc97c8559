//! One state machine per connection kind. Today: clients; routes and gateways join as more
//! variants of [`Link`].

pub mod client;
pub mod outbox;

use std::time::Instant;

pub use client::ClientLink;
pub use outbox::Outbox;

/// A connection's state machine.
#[derive(Debug)]
pub enum Link {
    /// A NATS client.
    Client(Box<ClientLink>),
}

impl Link {
    /// The link's outbound queue.
    pub fn outbox(&self) -> &Outbox {
        match self {
            Link::Client(c) => &c.outbox,
        }
    }

    /// The link's outbound queue, mutably.
    pub fn outbox_mut(&mut self) -> &mut Outbox {
        match self {
            Link::Client(c) => &mut c.outbox,
        }
    }

    /// Earliest timer deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Link::Client(c) => c.timers.earliest(),
        }
    }
}
