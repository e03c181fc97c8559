//! A link's outbound byte queue: frames are appended to one buffer that the driver swaps out
//! and writes with a single call, so no allocation happens per message in steady state.

use bytes::BytesMut;

/// Outbound queue of one link.
#[derive(Debug, Default)]
pub struct Outbox {
    /// Frames not yet handed to the driver.
    buf: BytesMut,
    /// Bytes handed to the driver by the last [`Outbox::swap`]; the driver swaps again after
    /// writing them, so until then they count against `max_pending`, as nats-server counts
    /// bytes until flushed.
    in_flight: usize,
}

impl Outbox {
    /// Buffer to append frames to.
    pub fn buf(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Bytes queued or in flight.
    pub fn pending(&self) -> usize {
        self.buf.len() + self.in_flight
    }

    /// Whether nothing is queued (in-flight bytes do not count).
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Exchange the queued bytes with the driver's (empty) buffer; the swapped-out bytes count
    /// as in flight until the next swap.
    pub fn swap(&mut self, spare: &mut BytesMut) {
        debug_assert!(spare.is_empty(), "the driver hands back an empty buffer");
        spare.clear();
        std::mem::swap(&mut self.buf, spare);
        self.in_flight = spare.len();
    }

    /// Drop everything queued (a slow consumer's queue is not flushed).
    pub fn discard(&mut self) {
        self.buf = BytesMut::new();
        self.in_flight = 0;
    }
}
