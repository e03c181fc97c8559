//! The route URLs this server dials and the dial policy (route-protocol §1.4, §7): explicit
//! URLs are dialled at start and retried forever, implicit (gossiped) ones get
//! `connect_retries` extra attempts and are then forgotten; a route that closes is re-dialled
//! after 0–99 ms (plus the connect delay for an explicit one), unless its server is still
//! reachable over another route.

use std::time::{Duration, Instant};

use rand_core::RngCore;

use super::config::ClusterConfig;
use crate::dial::{DialId, DialKind, DialRequest};
use crate::node::LinkId;
use crate::peer_url::PeerUrl;

/// Cap of the pause between attempts with `connect_backoff`.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where one URL's connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntryState {
    /// The next attempt is due at this time.
    Waiting(Instant),
    /// A dial is in flight.
    Dialing(DialId),
    /// A route link exists (handshaking or registered).
    Connected(LinkId),
    /// The server behind the URL is reachable over another route: nothing to dial until that
    /// route goes.
    Parked,
}

/// One URL to keep a route to.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) url: PeerUrl,
    /// Configured (retried forever) rather than gossiped.
    pub(crate) explicit: bool,
    pub(crate) state: EntryState,
    /// Dial attempts since the last connection (for log lines).
    pub(crate) attempts: u64,
    /// Failed attempts in a row (implicit URLs give up after `connect_retries` + 1).
    pub(crate) failures: u32,
    /// The server id the URL led to last time.
    pub(crate) peer_id: Option<String>,
    /// The `gossip_mode` the gossip about this URL carried (0 for a configured route): it
    /// goes into our INFO on the route and decides whether we gossip the route further.
    pub(crate) gossip_mode: u8,
}

/// Every route URL this server dials.
#[derive(Debug, Default)]
pub(crate) struct RouteDirectory {
    pub(crate) entries: Vec<Entry>,
    next_dial: u64,
}

impl RouteDirectory {
    /// The explicit routes of `config`, due at `now`.
    pub(crate) fn new(config: &ClusterConfig, now: Instant) -> Self {
        let mut dir = Self { entries: Vec::new(), next_dial: DialId::ROUTE_BASE };
        for url in &config.routes {
            dir.add(url.clone(), true, 0, now);
        }
        dir
    }

    fn add(&mut self, url: PeerUrl, explicit: bool, gossip_mode: u8, now: Instant) -> bool {
        if self.find(&url).is_some() {
            return false;
        }
        self.entries.push(Entry {
            url,
            explicit,
            state: EntryState::Waiting(now),
            attempts: 0,
            failures: 0,
            peer_id: None,
            gossip_mode,
        });
        true
    }

    fn find(&self, url: &PeerUrl) -> Option<usize> {
        self.entries.iter().position(|e| e.url.host == url.host && e.url.port == url.port)
    }

    /// Whether `url` is one of the configured routes (gossip about it is ignored: we dial it
    /// ourselves).
    pub(crate) fn is_explicit(&self, url: &PeerUrl) -> bool {
        self.find(url).is_some_and(|i| self.entries[i].explicit)
    }

    /// A URL learned by gossip carrying `gossip_mode`: dial it now, unless it is known.
    pub(crate) fn learn(&mut self, url: PeerUrl, gossip_mode: u8, now: Instant) -> bool {
        self.add(url, false, gossip_mode, now)
    }

    /// Earliest due attempt.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.entries
            .iter()
            .filter_map(|e| match e.state {
                EntryState::Waiting(at) => Some(at),
                _ => None,
            })
            .min()
    }

    /// Start every due attempt; a URL whose server is reachable over another route (per
    /// `connected`) is parked instead.
    pub(crate) fn start_due(
        &mut self,
        now: Instant,
        connected: impl Fn(&str) -> bool,
    ) -> Vec<DialRequest> {
        let mut dials = Vec::new();
        for e in &mut self.entries {
            let EntryState::Waiting(at) = e.state else {
                continue;
            };
            if at > now {
                continue;
            }
            if e.peer_id.as_deref().is_some_and(&connected) {
                e.state = EntryState::Parked;
                continue;
            }
            let id = DialId(self.next_dial.max(DialId::ROUTE_BASE));
            self.next_dial = id.0 + 1;
            e.state = EntryState::Dialing(id);
            e.attempts += 1;
            dials.push(DialRequest {
                id,
                kind: DialKind::Route,
                remote: String::new(),
                url: e.url.clone(),
                explicit: e.explicit,
                attempt: e.attempts,
            });
        }
        dials
    }

    /// A fresh dial id from the route range.
    pub(crate) fn next_id(&mut self) -> DialId {
        let id = DialId(self.next_dial.max(DialId::ROUTE_BASE));
        self.next_dial = id.0 + 1;
        id
    }

    /// The entry dialling `id`, if it is still wanted.
    pub(crate) fn dialing(&self, id: DialId) -> Option<usize> {
        self.entries.iter().position(|e| e.state == EntryState::Dialing(id))
    }

    /// The dial `id` connected and became `link`.
    pub(crate) fn dial_connected(&mut self, id: DialId, link: LinkId) -> Option<PeerUrl> {
        let i = self.dialing(id)?;
        self.entries[i].state = EntryState::Connected(link);
        Some(self.entries[i].url.clone())
    }

    /// The dial `id` failed at `now`; returns the URL if it is now forgotten (an implicit one
    /// out of attempts).
    pub(crate) fn dial_failed(
        &mut self,
        id: DialId,
        now: Instant,
        config: &ClusterConfig,
    ) -> Option<PeerUrl> {
        let i = self.dialing(id)?;
        let e = &mut self.entries[i];
        e.failures += 1;
        if !e.explicit && e.failures > config.connect_retries {
            return Some(self.entries.remove(i).url);
        }
        let delay = retry_delay(config, e.failures);
        e.state = EntryState::Waiting(now + delay);
        None
    }

    /// `link` reached ourselves: never dial its URL again.
    pub(crate) fn forget_self(&mut self, link: LinkId) {
        self.entries.retain(|e| e.state != EntryState::Connected(link));
    }

    /// `link` registered with the server `peer_id`: its URL remembers it.
    pub(crate) fn registered(&mut self, link: LinkId, peer_id: &str) {
        for e in &mut self.entries {
            if e.state == EntryState::Connected(link) {
                e.peer_id = Some(peer_id.to_owned());
                e.failures = 0;
                e.attempts = 0;
            }
        }
    }

    /// `link` is gone at `now`. Its URL is dialled again after 0–99 ms (plus the connect
    /// delay if explicit), or parked if `peer_connected` says its server is still reachable.
    /// An implicit URL whose link never registered counts a failure. Returns a forgotten URL.
    pub(crate) fn link_closed(
        &mut self,
        link: LinkId,
        registered: bool,
        peer_connected: bool,
        now: Instant,
        config: &ClusterConfig,
        rng: &mut impl RngCore,
    ) -> Option<PeerUrl> {
        let i = self.entries.iter().position(|e| e.state == EntryState::Connected(link))?;
        let e = &mut self.entries[i];
        if !registered {
            e.failures += 1;
            if !e.explicit && e.failures > config.connect_retries {
                return Some(self.entries.remove(i).url);
            }
        }
        if peer_connected {
            e.state = EntryState::Parked;
            return None;
        }
        let jitter = Duration::from_millis(rng.next_u64() % 100);
        let base = if registered { Duration::ZERO } else { retry_delay(config, e.failures) };
        let extra = if e.explicit { config.connect_delay } else { Duration::ZERO };
        e.state = EntryState::Waiting(now + jitter + base.max(extra));
        None
    }

    /// The last route to server `peer_id` closed: URLs parked for it are dialled again.
    pub(crate) fn peer_gone(&mut self, peer_id: &str, now: Instant, config: &ClusterConfig) {
        for e in &mut self.entries {
            if e.state == EntryState::Parked && e.peer_id.as_deref() == Some(peer_id) {
                let extra = if e.explicit { config.connect_delay } else { Duration::ZERO };
                e.state = EntryState::Waiting(now + extra);
            }
        }
    }

    /// Keep only the explicit routes in `routes` (a reload) and add new ones; implicit URLs
    /// stay. Returns the links of removed explicit routes.
    pub(crate) fn replace_explicit(&mut self, routes: &[PeerUrl], now: Instant) -> Vec<LinkId> {
        let mut dropped = Vec::new();
        self.entries.retain(|e| {
            let keep =
                !e.explicit || routes.iter().any(|u| u.host == e.url.host && u.port == e.url.port);
            if !keep && let EntryState::Connected(link) = e.state {
                dropped.push(link);
            }
            keep
        });
        for url in routes {
            match self.find(url) {
                Some(i) => {
                    self.entries[i].explicit = true;
                    self.entries[i].url = url.clone();
                }
                None => {
                    self.add(url.clone(), true, 0, now);
                }
            }
        }
        dropped
    }
}

/// Pause before the next attempt after `failures` failed ones.
fn retry_delay(config: &ClusterConfig, failures: u32) -> Duration {
    if !config.connect_backoff {
        return config.connect_delay;
    }
    let doublings = failures.saturating_sub(1).min(16);
    (config.connect_delay * 2u32.pow(doublings)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    fn config(routes: &[u16]) -> ClusterConfig {
        let mut c = ClusterConfig::new("C", PeerUrl::new("127.0.0.1", 6222));
        c.routes = routes.iter().map(|p| PeerUrl::new("127.0.0.1", *p)).collect();
        c
    }

    #[test]
    fn explicit_routes_are_retried_forever_implicit_ones_forgotten() {
        let now = Instant::now();
        let c = config(&[7000]);
        let mut dir = RouteDirectory::new(&c, now);
        assert!(dir.learn(PeerUrl::new("127.0.0.1", 7001), 0, now));
        assert!(
            !dir.learn(PeerUrl::new("127.0.0.1", 7000), 0, now),
            "known URLs are not relearned"
        );
        let dials = dir.start_due(now, |_| false);
        assert_eq!(dials.len(), 2);
        assert!(dials.iter().all(|d| d.id.is_route() && d.kind == DialKind::Route));
        for d in &dials {
            dir.dial_failed(d.id, now, &c);
        }
        assert_eq!(dir.entries.len(), 1, "the implicit URL had its one attempt");
        assert_eq!(dir.poll_timeout(), Some(now + c.connect_delay));
        for round in 1..50 {
            let at = dir.poll_timeout().unwrap();
            let dials = dir.start_due(at, |_| false);
            assert_eq!(dials.len(), 1, "round {round}");
            dir.dial_failed(dials[0].id, at, &c);
        }
    }

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let mut c = config(&[]);
        c.connect_backoff = true;
        let delays: Vec<u64> = (1..=7).map(|f| retry_delay(&c, f).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
    }

    #[test]
    fn a_closed_route_is_parked_while_its_server_is_reachable() {
        let now = Instant::now();
        let c = config(&[7000]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut dir = RouteDirectory::new(&c, now);
        let d = dir.start_due(now, |_| false).remove(0);
        let link = LinkId::for_tests(3);
        dir.dial_connected(d.id, link);
        dir.registered(link, "NPEER");
        dir.link_closed(link, true, true, now, &c, &mut rng);
        assert_eq!(dir.entries[0].state, EntryState::Parked);
        dir.peer_gone("NPEER", now, &c);
        assert_eq!(dir.poll_timeout(), Some(now + c.connect_delay));
        assert!(dir.start_due(now + c.connect_delay, |id| id == "NPEER").is_empty());
        assert_eq!(dir.entries[0].state, EntryState::Parked, "reachable again: parked");
    }
}
