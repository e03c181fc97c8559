//! Keep-alive of a server-to-server link (route or gateway): a PING on every tick whatever the
//! traffic, stale after `ping_max` unanswered, the round-trip time from the PONG.

use std::time::{Duration, Instant};

/// PINGs in flight and the last round-trip time.
#[derive(Clone, Copy, Debug, Default)]
pub struct PeerKeepAlive {
    /// PINGs sent and not answered.
    pub pings_out: u32,
    /// When the oldest unanswered PING was sent.
    pub ping_sent: Option<Instant>,
    /// Last measured round-trip time.
    pub rtt: Option<Duration>,
}

/// What a keep-alive tick asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tick {
    /// Send a PING.
    Ping,
    /// Too many PINGs went unanswered: close the link as stale.
    Stale,
}

impl PeerKeepAlive {
    /// The ping timer fired at `now`.
    pub fn tick(&mut self, now: Instant, ping_max: u32) -> Tick {
        if self.pings_out + 1 > ping_max {
            return Tick::Stale;
        }
        self.pings_out += 1;
        self.ping_sent.get_or_insert(now);
        Tick::Ping
    }

    /// A PONG arrived at `now`.
    pub fn pong(&mut self, now: Instant) {
        self.pings_out = 0;
        if let Some(sent) = self.ping_sent.take() {
            self.rtt = Some(now.saturating_duration_since(sent));
        }
    }
}

/// When the first PING after a handshake is due: within `min(interval, 1 s)`, plus up to 20 %
/// (nats-server `firstPingInterval` with jitter), `random` drawn by the caller.
pub fn first_ping_at(now: Instant, interval: Duration, random: u64) -> Instant {
    let base = interval.min(Duration::from_secs(1));
    let spread = (base.as_nanos() as u64 / 5).max(1);
    now + base + Duration::from_nanos(random % spread)
}
