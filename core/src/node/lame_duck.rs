//! Lame-duck mode (`SIGUSR2`, `--signal ldm`): the server stops taking clients, tells the
//! ones it has with an INFO carrying `"ldm":true` so they can move elsewhere, and after a
//! grace period closes them a few at a time, spread over the lame-duck duration, so they do
//! not all reconnect to the rest of the cluster at once (nats-server `lameDuckMode`).
//!
//! The core decides what is sent, to whom, and in what order ([`Node::enter_lame_duck`]
//! returns the [`LameDuckPlan`]); the driver owns the listener and the clock: it stops
//! accepting clients before calling in, waits out [`LameDuckPlan::grace`], then closes each
//! [`CloseStep::link`] with `DriverClose::Shutdown` and sleeps its `pause_after`, and finally
//! shuts the server down.

use std::time::Duration;

use rand_core::RngCore;

use super::{LinkId, LogLevel, Node};
use crate::link::Link;
use crate::link::client::ClientState;
use crate::proto::encode;

/// nats-server's default `lame_duck_duration`.
pub const DEFAULT_LAME_DUCK_DURATION: Duration = Duration::from_secs(120);
/// nats-server's default `lame_duck_grace_period`.
pub const DEFAULT_LAME_DUCK_GRACE_PERIOD: Duration = Duration::from_secs(10);

/// The longest pause between two closes: spreading a handful of clients over two minutes
/// would only delay the shutdown.
const MAX_INTERVAL: Duration = Duration::from_secs(1);

/// What the driver does after entering lame-duck mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LameDuckPlan {
    /// How long to wait before the first close. Without clients the plan is empty and the
    /// server shuts down at once, without waiting (as nats-server).
    pub grace: Duration,
    /// The clients to close, in order.
    pub steps: Vec<CloseStep>,
}

/// One client to close, and how long to wait after closing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseStep {
    /// The client.
    pub link: LinkId,
    /// The pause before the next close; `None` to go on at once (the last client, or one
    /// inside a batch).
    pub pause_after: Option<Duration>,
}

/// How closes are spread: `batch` clients per pause of at most `interval` (nats-server's
/// arithmetic in `lameDuckMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseSchedule {
    /// Clients closed between two pauses (1 unless there are more clients than nanoseconds
    /// to spread them over).
    pub batch: u64,
    /// The nominal pause; each actual one is drawn in `[interval / 2, interval)`.
    pub interval: Duration,
}

/// The schedule for closing `clients` clients in `duration - grace` (at least a second).
pub fn close_schedule(duration: Duration, grace: Duration, clients: usize) -> CloseSchedule {
    let spread = duration.as_nanos().saturating_sub(grace.as_nanos());
    // nats-server spreads over at least a second.
    let spread = if spread == 0 { Duration::from_secs(1).as_nanos() } else { spread };
    let n = clients as u128;
    let per_client = spread.checked_div(n).unwrap_or(0);
    let (batch, interval) = if per_client < 1 {
        // More clients than nanoseconds: close several between minimal pauses.
        ((n / spread) as u64, 1)
    } else {
        (1, per_client.min(MAX_INTERVAL.as_nanos()))
    };
    CloseSchedule { batch, interval: Duration::from_nanos(interval as u64) }
}

impl CloseSchedule {
    /// The pause after closing client `index` (from 0) of `total`, drawn from `random`:
    /// none after the last one, nor inside a batch; otherwise `random` modulo the interval,
    /// but at least half of it.
    pub fn pause_after(&self, index: usize, total: usize, random: u64) -> Option<Duration> {
        if index + 1 >= total {
            return None;
        }
        if self.batch != 1 && !(index as u64).is_multiple_of(self.batch.max(1)) {
            return None;
        }
        let interval = self.interval.as_nanos().max(1) as u64;
        let drawn = (random % interval).max(interval / 2);
        Some(Duration::from_nanos(drawn))
    }
}

/// See [`Node::enter_lame_duck`].
pub(super) fn enter(node: &mut Node, duration: Duration, grace: Duration) -> Option<LameDuckPlan> {
    if node.lame_duck {
        return None;
    }
    node.lame_duck = true;
    node.log(LogLevel::Info, "Entering lame duck mode, stop accepting new clients".to_owned());
    // Route peers first (they stop telling their clients about us), then the clients, whose
    // INFO carries the other cluster members' client URLs (unless `no_advertise`).
    crate::route::enter_lame_duck(node);
    let clients: Vec<LinkId> =
        node.link_ids().into_iter().filter(|id| node.is_client(*id)).collect();
    if clients.is_empty() {
        return Some(LameDuckPlan { grace, steps: Vec::new() });
    }
    for &id in &clients {
        tell_client(node, id);
    }
    let schedule = close_schedule(duration, grace, clients.len());
    let total = clients.len();
    let steps = clients
        .into_iter()
        .enumerate()
        .map(|(i, link)| {
            let random = node.rng.next_u64();
            CloseStep { link, pause_after: schedule.pause_after(i, total, random) }
        })
        .collect();
    Some(LameDuckPlan { grace, steps })
}

/// Queue the lame-duck INFO to client `id` if it takes asynchronous INFOs: CONNECT with
/// `protocol` 1 and its first PING answered (nats-server `sendAsyncInfoToClients`; a client
/// not that far yet gets nothing).
fn tell_client(node: &mut Node, id: LinkId) {
    let Some(Link::Client(c)) = node.links.get(id) else {
        return;
    };
    if c.state != ClientState::Established || c.opts.protocol < 1 || c.connect_info_due {
        return;
    }
    let mut info = node.client_info(c.cid, c.peer);
    info.ldm = true;
    let json = info.to_json();
    if let Some(Link::Client(c)) = node.links.get_mut(id) {
        encode::info(c.outbox.buf(), &json);
    }
    node.wake(id);
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn few_clients_are_closed_at_most_a_second_apart() {
        // The defaults: 110 s to spread 10 clients would be 11 s each; capped at 1 s.
        let s = close_schedule(DEFAULT_LAME_DUCK_DURATION, DEFAULT_LAME_DUCK_GRACE_PERIOD, 10);
        assert_eq!(s, CloseSchedule { batch: 1, interval: S });
        // 29 s for 58 clients: half a second each.
        let s = close_schedule(30 * S, S, 58);
        assert_eq!(s, CloseSchedule { batch: 1, interval: S / 2 });
    }

    #[test]
    fn a_grace_period_as_long_as_the_duration_leaves_a_second() {
        let s = close_schedule(30 * S, 30 * S, 4);
        assert_eq!(s, CloseSchedule { batch: 1, interval: S / 4 });
        let s = close_schedule(30 * S, 40 * S, 4);
        assert_eq!(s.interval, S / 4);
    }

    #[test]
    fn more_clients_than_nanoseconds_are_closed_in_batches() {
        let s = close_schedule(Duration::from_nanos(11), Duration::from_nanos(1), 25);
        assert_eq!(s, CloseSchedule { batch: 2, interval: Duration::from_nanos(1) });
        assert_eq!(s.pause_after(0, 25, 7), Some(Duration::from_nanos(0)));
        assert_eq!(s.pause_after(1, 25, 7), None);
        assert_eq!(s.pause_after(2, 25, 7), Some(Duration::from_nanos(0)));
    }

    #[test]
    fn pauses_are_drawn_between_half_and_the_whole_interval() {
        let s = CloseSchedule { batch: 1, interval: Duration::from_nanos(1000) };
        assert_eq!(s.pause_after(0, 3, 10), Some(Duration::from_nanos(500)));
        assert_eq!(s.pause_after(0, 3, 1999), Some(Duration::from_nanos(999)));
        assert_eq!(s.pause_after(1, 3, 1750), Some(Duration::from_nanos(750)));
        assert_eq!(s.pause_after(2, 3, 1750), None, "nothing to wait for after the last");
    }

    /// Everything queued to `id`, as text.
    fn take(node: &mut Node, id: LinkId) -> String {
        let mut out = bytes::BytesMut::new();
        let mut all = Vec::new();
        while node.take_outbox(id, &mut out) != crate::node::OutboxStatus::Gone && !out.is_empty() {
            all.extend_from_slice(&out);
            out.clear();
        }
        String::from_utf8(all).unwrap()
    }

    fn send(node: &mut Node, id: LinkId, now: std::time::Instant, text: &str) {
        let mut buf = bytes::BytesMut::from(text.as_bytes());
        node.handle_read(id, now, &mut buf);
    }

    #[test]
    fn only_clients_ready_for_async_info_are_told_and_all_are_closed() {
        let now = std::time::Instant::now();
        let mut node = Node::new(crate::node::NodeConfig::default(), 3);
        let ready = node.accept_client(now, None);
        send(&mut node, ready, now, "CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n");
        let old_protocol = node.accept_client(now, None);
        send(&mut node, old_protocol, now, "CONNECT {\"verbose\":false}\r\nPING\r\n");
        let no_ping_yet = node.accept_client(now, None);
        send(&mut node, no_ping_yet, now, "CONNECT {\"verbose\":false,\"protocol\":1}\r\n");
        for id in [ready, old_protocol, no_ping_yet] {
            take(&mut node, id);
        }
        while node.poll_event().is_some() {}

        let plan = node.enter_lame_duck(30 * S, S).expect("entered");
        assert!(node.is_lame_duck());
        assert_eq!(plan.grace, S);
        let order: Vec<LinkId> = plan.steps.iter().map(|s| s.link).collect();
        assert_eq!(order, [ready, old_protocol, no_ping_yet]);
        // 29 s over 3 clients, capped at 1 s: pauses in [0.5 s, 1 s), none after the last.
        for step in &plan.steps[..2] {
            let p = step.pause_after.unwrap();
            assert!(p >= S / 2 && p < S, "{p:?}");
        }
        assert_eq!(plan.steps[2].pause_after, None);
        let info = take(&mut node, ready);
        assert!(info.starts_with("INFO {") && info.contains("\"ldm\":true"), "{info}");
        assert!(!info.contains("connect_info"), "{info}");
        assert_eq!(take(&mut node, old_protocol), "");
        assert_eq!(take(&mut node, no_ping_yet), "");
        let mut events = Vec::new();
        while let Some(e) = node.poll_event() {
            events.push(e);
        }
        assert_eq!(
            events[0],
            crate::node::Event::Log(
                LogLevel::Info,
                "Entering lame duck mode, stop accepting new clients".into()
            )
        );
        assert!(node.enter_lame_duck(30 * S, S).is_none(), "a second signal is ignored");
    }

    #[test]
    fn without_clients_there_is_nothing_to_wait_for() {
        let mut node = Node::new(crate::node::NodeConfig::default(), 3);
        let plan = node.enter_lame_duck(DEFAULT_LAME_DUCK_DURATION, DEFAULT_LAME_DUCK_GRACE_PERIOD);
        assert_eq!(plan.map(|p| p.steps.len()), Some(0));
    }
}
