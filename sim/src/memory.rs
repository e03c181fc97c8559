//! Memory per server stays bounded (issue 5, item 5).
//!
//! Between simulation steps the harness reads each running server's [`MemoryUse`] through the
//! `strait-net` [`NodeHandle`] (nothing in the server runs then, so the lock is free) and checks
//! it against bounds derived from the workload at that moment:
//!
//! * queued bytes: no client link holds more than `max_pending` plus one frame (the server's
//!   slow-consumer contract); all links together hold at most a small per-link allowance
//!   (control traffic, one in-flight batch) plus what was published in the last
//!   [`QUEUE_HORIZON`] times the server's fan-out. A queue that keeps bytes longer than any
//!   link can stay alive without being dropped grows past this bound;
//! * subscriptions: at most those the checker knows the server may still hold (SUB written,
//!   not confirmed unsubscribed, connection alive or lost less than a keep-alive ago), plus the
//!   probe's;
//! * client links: at most the connections the server may still hold, plus connections in a
//!   handshake; gateway links, remotes and interest tables: at most what the cluster count and
//!   the workload's subject space allow;
//! * at the audit, after every client and probe left: no client link, no subscription, no
//!   remote interest, nothing queued beyond keep-alive traffic.
//!
//! [`check`] is a pure function of one sample and its bounds, so the tests below can feed it
//! the samples a leaking server would produce.

use std::collections::VecDeque;
use std::time::Duration;

use strait_core::node::MemoryUse;
pub use strait_net::server::NodeHandle;

/// How long a published frame may legitimately stay queued at a server: a link that cannot
/// take it is dropped by then (keep-alive: 3 s × (2 + 1), plus the 2 s write deadline, plus
/// slack for the flush of a closing link).
pub const QUEUE_HORIZON: Duration = Duration::from_secs(15);

/// Bytes a server adds to a published message when it forwards it (`MSG`/`RMSG` control line
/// with sid or account, queue names, a `_GR_.` reply prefix).
pub const FRAME_OVERHEAD: usize = 160;

/// Per link: control traffic and one in-flight batch (INFO with gossip, a registration's
/// `RS+` burst, PINGs, the liveness probes' small publications).
pub const LINK_ALLOWANCE: usize = 8 * 1024;

/// Interest entries one peer may announce per account beyond the workload's subject space
/// (the probe subjects are counted separately).
const NO_INTEREST_MAX: usize = 1000;

/// Bounds that do not change during a run.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The servers' `max_pending`.
    pub max_pending: usize,
    /// The largest frame a client of the workload publishes.
    pub max_frame: usize,
    /// Number of clusters.
    pub clusters: usize,
    /// Route connections a server keeps to the others of its cluster when the mesh is
    /// complete (peers × pool size; 0 without routes).
    pub route_peers: usize,
    /// Servers in the other clusters (each may hold an inbound gateway on one server).
    pub remote_servers: usize,
    /// Number of accounts.
    pub accounts: usize,
    /// Distinct (account, subject, queue) subscription keys the workload and probes can make.
    pub interest_keys: usize,
    /// Clients that may connect to one server (its cluster's), probes included.
    pub clients_per_server: usize,
    /// The sublist's match-cache bound per account.
    pub cache_max: usize,
}

/// What the checker knows a server may hold at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct Live {
    /// Subscriptions the server may still hold.
    pub subscriptions: usize,
    /// Client connections the server may still hold.
    pub connections: usize,
    /// Bytes published (as written by clients) within [`QUEUE_HORIZON`].
    pub recent_bytes: usize,
    /// Messages published within [`QUEUE_HORIZON`].
    pub recent_msgs: usize,
    /// Every client and probe left long enough ago for the server to have noticed.
    pub quiet: bool,
}

/// Each broken bound in `m` (one line each).
pub fn check(m: &MemoryUse, live: &Live, limits: &Limits) -> Vec<String> {
    let mut broken = Vec::new();
    let mut bound = |what: &str, value: usize, max: usize| {
        if value > max {
            broken.push(format!("{what} {value} > bound {max}"));
        }
    };
    let remotes = limits.clusters.saturating_sub(1);
    // Probe subscriptions and connections: one of each per probe connection, and a probe may
    // have a lost connection lingering at the server while it uses a new one.
    let probe = 3;
    bound("client-link queue", m.max_client_queued, limits.max_pending + limits.max_frame);
    let links = m.client_links + m.gateway_links + m.route_links;
    // Route interest is counted in `subscriptions` too; a message goes once per route.
    let local_subs = m.subscriptions.saturating_sub(m.route_interest);
    let fanout = local_subs + m.gateway_links + m.route_links;
    let recent = live.recent_bytes + live.recent_msgs * FRAME_OVERHEAD;
    bound("queued bytes", m.queued_bytes, links * LINK_ALLOWANCE + fanout * recent);
    bound("subscriptions", local_subs, live.subscriptions + probe);
    // A client whose connect fails after the server accepted it (INFO lost) leaves a link until
    // the auth timeout; it retries after at most 1.4 s, so at most two such links per client.
    bound("client links", m.client_links, live.connections + 2 * limits.clients_per_server + probe);
    // Per remote cluster one outbound (registered or in its handshake: one dial at a time),
    // per remote server one registered inbound, and a closing link or an inbound waiting for
    // its CONNECT (the peer re-dials at most every second, the auth timeout is 2 s) for each.
    bound("gateway links", m.gateway_links, 2 * (remotes + limits.remote_servers));
    bound("remotes", m.remotes, remotes);
    // Per route peer: one registered route, a duplicate from a simultaneous dial, a dial
    // to the peer's gossiped address, and an inbound waiting for its CONNECT.
    bound("route links", m.route_links, 4 * limits.route_peers);
    bound("route interest", m.route_interest, m.route_links * limits.interest_keys);
    bound("gateway interest", m.gateway_interest, m.gateway_links * limits.interest_keys);
    bound(
        "gateway no-interest",
        m.gateway_no_interest,
        m.gateway_links * limits.accounts * NO_INTEREST_MAX,
    );
    // Our accounts plus the global and system accounts a peer may name.
    bound("gateway accounts", m.gateway_accounts, m.gateway_links * (limits.accounts + 2));
    bound("match cache", m.match_cache, (limits.accounts + 2) * limits.cache_max);
    // The driver polls every event after each mutation: none wait between steps.
    bound("undrained events", m.pending_events, 0);
    if live.quiet {
        bound("client links when quiet", m.client_links, 0);
        bound("subscriptions when quiet", m.subscriptions, 0);
        bound("gateway interest when quiet", m.gateway_interest, 0);
        bound("route interest when quiet", m.route_interest, 0);
        let links = m.gateway_links + m.route_links;
        bound("queued bytes when quiet", m.queued_bytes, links * LINK_ALLOWANCE);
    }
    broken
}

/// Publications in the last [`QUEUE_HORIZON`], as a sliding window over time-ordered records.
#[derive(Debug, Default)]
pub struct Recent {
    window: VecDeque<(Duration, usize)>,
    bytes: usize,
}

impl Recent {
    /// A frame of `bytes` was published at `at` (non-decreasing).
    pub fn push(&mut self, at: Duration, bytes: usize) {
        self.window.push_back((at, bytes));
        self.bytes += bytes;
    }

    /// Bytes and messages published in `[now - QUEUE_HORIZON, now]`.
    pub fn at(&mut self, now: Duration) -> (usize, usize) {
        let from = now.saturating_sub(QUEUE_HORIZON);
        while let Some(&(at, bytes)) = self.window.front() {
            if at >= from {
                break;
            }
            self.window.pop_front();
            self.bytes -= bytes;
        }
        (self.bytes, self.window.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_pending: 4 << 20,
            max_frame: 300,
            clusters: 3,
            route_peers: 2,
            remote_servers: 2,
            accounts: 2,
            interest_keys: 40,
            clients_per_server: 4,
            cache_max: 1024,
        }
    }

    fn healthy() -> (MemoryUse, Live) {
        let m = MemoryUse {
            client_links: 3,
            gateway_links: 4,
            queued_bytes: 900,
            max_client_queued: 300,
            max_gateway_queued: 300,
            subscriptions: 5,
            match_cache: 20,
            gateway_interest: 30,
            gateway_accounts: 8,
            remotes: 2,
            ..MemoryUse::default()
        };
        let live = Live {
            subscriptions: 5,
            connections: 3,
            recent_bytes: 20_000,
            recent_msgs: 200,
            quiet: false,
        };
        (m, live)
    }

    #[test]
    fn a_healthy_sample_passes() {
        let (m, live) = healthy();
        assert_eq!(check(&m, &live, &limits()), Vec::<String>::new());
    }

    /// An unbounded queue: a server that keeps every frame it ever queued (a writer that
    /// never drains, frames kept after a link closed) grows with the run while publications
    /// stop; once they are older than the horizon the bound is links × allowance only.
    #[test]
    fn a_queue_that_outlives_the_horizon_is_caught() {
        let (mut m, mut live) = healthy();
        let mut recent = Recent::default();
        for i in 0..2000u64 {
            recent.push(Duration::from_millis(10 * i), 100);
        }
        // While publishing, 150 kB queued is within the bound...
        (live.recent_bytes, live.recent_msgs) = recent.at(Duration::from_secs(20));
        m.queued_bytes = 150_000;
        assert!(check(&m, &live, &limits()).is_empty());
        // ...but nothing was published for the last 15 s and the queue did not drain.
        (live.recent_bytes, live.recent_msgs) = recent.at(Duration::from_secs(36));
        assert_eq!((live.recent_bytes, live.recent_msgs), (0, 0));
        let broken = check(&m, &live, &limits());
        assert!(broken.iter().any(|b| b.starts_with("queued bytes")), "{broken:?}");
        // One client over max_pending is a broken slow-consumer limit, whatever the traffic.
        let (mut m, live) = healthy();
        m.max_client_queued = (4 << 20) + 301;
        let broken = check(&m, &live, &limits());
        assert!(broken.iter().any(|b| b.starts_with("client-link queue")), "{broken:?}");
    }

    /// Turns a healthy sample into a leaking one.
    type Leak = fn(&mut MemoryUse);

    #[test]
    fn leaked_subscriptions_links_and_interest_are_caught() {
        let cases: [(&str, Leak); 6] = [
            ("subscriptions", |m| m.subscriptions += 4),
            ("client links", |m| m.client_links += 12),
            ("gateway links", |m| m.gateway_links = 9),
            ("remotes", |m| m.remotes = 3),
            ("gateway interest", |m| m.gateway_interest = 161),
            ("undrained events", |m| m.pending_events = 1),
        ];
        for (what, leak) in cases {
            let (mut m, live) = healthy();
            leak(&mut m);
            let broken = check(&m, &live, &limits());
            assert!(broken.iter().any(|b| b.starts_with(what)), "{what}: {broken:?}");
        }
    }

    #[test]
    fn residue_after_everyone_left_is_caught() {
        let (mut m, mut live) = healthy();
        live = Live { quiet: true, ..live };
        m.client_links = 0;
        m.subscriptions = 0;
        m.gateway_interest = 0;
        m.queued_bytes = 0;
        assert!(check(&m, &live, &limits()).is_empty());
        for (what, leak) in [
            ("client links when quiet", (|m| m.client_links = 1) as Leak),
            ("subscriptions when quiet", |m| m.subscriptions = 1),
            ("gateway interest when quiet", |m| m.gateway_interest = 1),
        ] {
            let mut m = m;
            leak(&mut m);
            let broken = check(&m, &live, &limits());
            assert!(broken.iter().any(|b| b.starts_with(what)), "{what}: {broken:?}");
        }
    }
}
