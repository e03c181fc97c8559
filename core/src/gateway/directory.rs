//! The directory of remote clusters and the dial policy (`shared/docs/gateway-protocol.md`
//! §4): explicit remotes are dialled after the solicit delay and retried forever; implicit
//! ones are learned from inbound connections and gossip and forgotten after
//! `connect_retries` failed rounds. One round tries every URL once in a fresh random order.

use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;

use super::config::{GatewayConfig, GatewayUrl};
use crate::node::LinkId;

pub use crate::dial::{DialId, DialKind, DialRequest};

/// Cap of the pause between rounds with `connect_backoff`.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where a remote's outbound connection stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DialState {
    /// The next round starts at this time.
    Waiting(Instant),
    /// A dial is in flight; `order` is this round's URL order and `pos` the URL being dialled.
    Dialing { id: DialId, order: Vec<usize>, pos: usize },
    /// An outbound link exists (handshaking or registered).
    Connected(LinkId),
}

/// One remote cluster.
#[derive(Debug)]
pub(crate) struct Remote {
    pub(crate) name: String,
    /// Listed in the configuration (retried forever, never forgotten).
    pub(crate) explicit: bool,
    pub(crate) configured: Vec<GatewayUrl>,
    /// Configured URLs plus discovered ones, deduplicated by `host:port`.
    pub(crate) urls: Vec<GatewayUrl>,
    pub(crate) state: DialState,
    /// Failed rounds since the last connection.
    pub(crate) rounds: u32,
    /// Dial attempts since the last connection (for log lines).
    pub(crate) attempts: u64,
    /// The round (URL order, position) of the outbound link while it handshakes, and after
    /// its handshake failed: the next round start goes on with the URL after it.
    pub(crate) round: Option<(Vec<usize>, usize)>,
}

/// The remotes this server knows, in the order it learned them.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    pub(crate) remotes: Vec<Remote>,
    next_dial: u64,
}

impl Directory {
    /// Explicit remotes from `config`, first dials after the solicit delay. A remote named
    /// like ourselves is kept for monitoring but never dialled.
    pub(crate) fn new(config: &GatewayConfig, now: Instant) -> Self {
        let mut dir = Self::default();
        for r in &config.remotes {
            if r.name == config.name {
                continue;
            }
            dir.remotes.push(Remote {
                name: r.name.clone(),
                explicit: true,
                configured: r.urls.clone(),
                urls: r.urls.clone(),
                state: DialState::Waiting(now + config.solicit_delay),
                rounds: 0,
                attempts: 0,
                round: None,
            });
        }
        dir
    }

    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        self.remotes.iter().position(|r| r.name == name)
    }

    /// Learned `name` with `urls` (inbound INFO or gossip). Returns true if it is new (an
    /// implicit remote that is dialled at once).
    pub(crate) fn learn(&mut self, name: &str, urls: &[GatewayUrl], now: Instant) -> bool {
        if let Some(i) = self.find(name) {
            add_urls(&mut self.remotes[i].urls, urls);
            return false;
        }
        if urls.is_empty() {
            return false;
        }
        let mut deduped = Vec::new();
        add_urls(&mut deduped, urls);
        self.remotes.push(Remote {
            name: name.to_owned(),
            explicit: false,
            configured: Vec::new(),
            urls: deduped,
            state: DialState::Waiting(now),
            rounds: 0,
            attempts: 0,
            round: None,
        });
        true
    }

    /// The remote's URL set is the configured URLs plus what its own INFO lists.
    pub(crate) fn replace_urls(&mut self, index: usize, urls: &[GatewayUrl]) {
        let r = &mut self.remotes[index];
        let mut all = r.configured.clone();
        add_urls(&mut all, urls);
        if all != r.urls {
            // The round's order indexes the old list.
            r.round = None;
        }
        r.urls = all;
    }

    /// Earliest time a round must start.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.remotes
            .iter()
            .filter_map(|r| match r.state {
                DialState::Waiting(at) => Some(at),
                _ => None,
            })
            .min()
    }

    /// Start every round that is due; the returned dials must be made.
    pub(crate) fn start_due(&mut self, now: Instant, rng: &mut ChaCha8Rng) -> Vec<DialRequest> {
        let mut dials = Vec::new();
        for i in 0..self.remotes.len() {
            if matches!(self.remotes[i].state, DialState::Waiting(at) if at <= now) {
                let resumed = match self.remotes[i].round.take() {
                    Some((order, pos)) => self.dial_at(i, order, pos),
                    None => None,
                };
                if resumed.is_some() {
                    dials.extend(resumed);
                    continue;
                }
                let n = self.remotes[i].urls.len();
                let order = shuffled(n, rng);
                dials.extend(self.dial_at(i, order, 0));
            }
        }
        dials
    }

    fn dial_at(&mut self, index: usize, order: Vec<usize>, pos: usize) -> Option<DialRequest> {
        let id = DialId(self.next_dial);
        let r = &mut self.remotes[index];
        let url = r.urls.get(*order.get(pos)?)?.clone();
        self.next_dial += 1;
        r.attempts += 1;
        r.state = DialState::Dialing { id, order, pos };
        Some(DialRequest {
            id,
            kind: DialKind::Gateway,
            remote: r.name.clone(),
            url,
            explicit: r.explicit,
            attempt: r.attempts,
        })
    }

    /// The remote whose dial `id` is in flight.
    pub(crate) fn dialing(&self, id: DialId) -> Option<usize> {
        self.remotes
            .iter()
            .position(|r| matches!(&r.state, DialState::Dialing { id: d, .. } if *d == id))
    }

    /// The URL dial `id` is dialling.
    pub(crate) fn dialing_url(&self, id: DialId) -> Option<&GatewayUrl> {
        let r = &self.remotes[self.dialing(id)?];
        match &r.state {
            DialState::Dialing { order, pos, .. } => r.urls.get(*order.get(*pos)?),
            _ => None,
        }
    }

    /// Dial `id` connected and became outbound link `link`; returns the remote and the URL
    /// that was dialled (its credentials go into CONNECT).
    pub(crate) fn dial_connected(
        &mut self,
        id: DialId,
        link: LinkId,
    ) -> Option<(usize, GatewayUrl)> {
        let i = self.dialing(id)?;
        let (url, round) = match &self.remotes[i].state {
            DialState::Dialing { order, pos, .. } => (
                order.get(*pos).and_then(|u| self.remotes[i].urls.get(*u)).cloned(),
                (order.clone(), *pos),
            ),
            _ => (None, (Vec::new(), 0)),
        };
        let url = url?;
        self.remotes[i].state = DialState::Connected(link);
        self.remotes[i].round = Some(round);
        Some((i, url))
    }

    /// Dial `id` failed: try the round's next URL, or end the round. Returns the next dial, if
    /// any, and whether an implicit remote was forgotten (its name).
    pub(crate) fn dial_failed(
        &mut self,
        id: DialId,
        now: Instant,
        config: &GatewayConfig,
        inbound_from: impl Fn(&str) -> bool,
    ) -> (Option<DialRequest>, Option<String>) {
        let Some(i) = self.dialing(id) else {
            return (None, None);
        };
        let DialState::Dialing { order, pos, .. } = self.remotes[i].state.clone() else {
            return (None, None);
        };
        if pos + 1 < order.len() {
            return (self.dial_at(i, order, pos + 1), None);
        }
        self.end_round(i, now, config, inbound_from)
    }

    fn end_round(
        &mut self,
        i: usize,
        now: Instant,
        config: &GatewayConfig,
        inbound_from: impl Fn(&str) -> bool,
    ) -> (Option<DialRequest>, Option<String>) {
        let r = &mut self.remotes[i];
        r.rounds += 1;
        if !r.explicit && r.rounds > config.connect_retries && !inbound_from(&r.name) {
            let gone = self.remotes.remove(i);
            return (None, Some(gone.name));
        }
        let pause = if config.connect_backoff {
            config.connect_delay.saturating_mul(1 << r.rounds.min(5)).min(MAX_BACKOFF)
        } else {
            config.connect_delay
        };
        r.state = DialState::Waiting(now + pause);
        (None, None)
    }

    /// The outbound link of remote `index` closed: re-dial after a random 0–99 ms plus the
    /// connect delay. nats-server skips the connect delay for implicit remotes, which makes
    /// a handshake that always fails re-dial in a tight loop; we always wait (see
    /// `docs/compat.md`). A handshake failure moves the round on to its next URL (another
    /// server of the remote cluster may answer); a round whose every URL failed counts as
    /// failed, and an implicit remote is forgotten after `connect_retries` of them.
    pub(crate) fn outbound_closed(
        &mut self,
        link: LinkId,
        registered: bool,
        now: Instant,
        config: &GatewayConfig,
        rng: &mut ChaCha8Rng,
        inbound_from: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let i = self
            .remotes
            .iter()
            .position(|r| matches!(r.state, DialState::Connected(l) if l == link))?;
        let round = self.remotes[i].round.take();
        if registered {
            self.remotes[i].rounds = 0;
            self.remotes[i].attempts = 0;
        } else if let Some((order, pos)) = round.filter(|(order, pos)| pos + 1 < order.len()) {
            self.remotes[i].round = Some((order, pos + 1));
        } else {
            let (_, forgotten) = self.end_round(i, now, config, inbound_from);
            if forgotten.is_some() {
                return forgotten;
            }
        }
        let jitter = Duration::from_millis(rng.next_u64() % 100);
        self.remotes[i].state = DialState::Waiting(now + jitter + config.connect_delay);
        None
    }

    /// A remote added to the configuration by a reload: dialled at `now`. An implicit remote
    /// of that name becomes explicit (retried forever) and keeps its connection if it has one.
    pub(crate) fn add_explicit(&mut self, name: &str, urls: &[GatewayUrl], now: Instant) {
        if let Some(i) = self.find(name) {
            let r = &mut self.remotes[i];
            r.explicit = true;
            r.configured = urls.to_vec();
            add_urls(&mut r.urls, urls);
            return;
        }
        let mut deduped = Vec::new();
        add_urls(&mut deduped, urls);
        self.remotes.push(Remote {
            name: name.to_owned(),
            explicit: true,
            configured: urls.to_vec(),
            urls: deduped,
            state: DialState::Waiting(now),
            rounds: 0,
            attempts: 0,
            round: None,
        });
    }

    /// A configured remote's URLs changed by a reload: the configured URLs are replaced, the
    /// discovered ones kept. The next round uses the new list.
    pub(crate) fn set_configured(&mut self, name: &str, urls: &[GatewayUrl]) {
        let Some(i) = self.find(name) else {
            return;
        };
        let r = &mut self.remotes[i];
        let discovered: Vec<GatewayUrl> = r
            .urls
            .iter()
            .filter(|u| !r.configured.iter().any(|c| c.host_port() == u.host_port()))
            .cloned()
            .collect();
        let mut all = Vec::new();
        add_urls(&mut all, urls);
        add_urls(&mut all, &discovered);
        r.round = None;
        r.configured = urls.to_vec();
        r.urls = all;
    }

    /// A remote removed from the configuration by a reload: forgotten, so it is not dialled
    /// again. Returns its outbound link, which the caller closes. A dial in flight is dropped
    /// when its result comes back (its id is no longer known).
    pub(crate) fn remove(&mut self, name: &str) -> Option<LinkId> {
        let i = self.find(name)?;
        match self.remotes.remove(i).state {
            DialState::Connected(link) => Some(link),
            _ => None,
        }
    }

    /// Whether remote `index` has an outbound link.
    pub(crate) fn outbound(&self, index: usize) -> Option<LinkId> {
        match self.remotes.get(index)?.state {
            DialState::Connected(link) => Some(link),
            _ => None,
        }
    }
}

fn add_urls(set: &mut Vec<GatewayUrl>, urls: &[GatewayUrl]) {
    for u in urls {
        if !set.iter().any(|have| have.host == u.host && have.port == u.port) {
            set.push(u.clone());
        }
    }
}

/// `0..n` in a random order (Fisher–Yates with the node's RNG).
fn shuffled(n: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use rand_core::SeedableRng;

    use super::*;
    use crate::gateway::config::RemoteConfig;

    fn config() -> GatewayConfig {
        let mut c = GatewayConfig::new("A", GatewayUrl::new("127.0.0.1", 7000));
        c.remotes = vec![
            RemoteConfig { name: "A".into(), urls: vec![GatewayUrl::new("127.0.0.1", 7000)] },
            RemoteConfig {
                name: "B".into(),
                urls: vec![GatewayUrl::new("h1", 7001), GatewayUrl::new("h2", 7001)],
            },
        ];
        c
    }

    #[test]
    fn explicit_remotes_wait_the_solicit_delay_and_retry_forever() {
        let c = config();
        let t0 = Instant::now();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut dir = Directory::new(&c, t0);
        assert_eq!(dir.remotes.len(), 1, "self entry is not dialled");
        assert!(dir.start_due(t0, &mut rng).is_empty());
        assert_eq!(dir.poll_timeout(), Some(t0 + c.solicit_delay));
        let mut now = t0 + c.solicit_delay;
        for round in 0..5 {
            let dials = dir.start_due(now, &mut rng);
            assert_eq!(dials.len(), 1, "round {round}");
            let (next, gone) = dir.dial_failed(dials[0].id, now, &c, |_| false);
            let second = next.expect("second URL of the round");
            assert_ne!(second.url, dials[0].url);
            let (next, gone2) = dir.dial_failed(second.id, now, &c, |_| false);
            assert!(next.is_none() && gone.is_none() && gone2.is_none());
            assert_eq!(dir.poll_timeout(), Some(now + c.connect_delay));
            now += c.connect_delay;
        }
    }

    #[test]
    fn implicit_remotes_are_forgotten_after_connect_retries() {
        let mut c = config();
        c.connect_retries = 1;
        let t0 = Instant::now();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut dir = Directory::new(&c, t0);
        assert!(dir.learn("C", &[GatewayUrl::new("h3", 7002)], t0));
        assert!(!dir.learn("C", &[GatewayUrl::new("h4", 7002)], t0));
        assert_eq!(dir.remotes[1].urls.len(), 2);
        let mut now = t0;
        let mut forgotten = None;
        for _ in 0..3 {
            for d in dir.start_due(now, &mut rng).into_iter().filter(|d| d.remote == "C") {
                let mut next = Some(d);
                while let Some(d) = next {
                    let (n, gone) = dir.dial_failed(d.id, now, &c, |_| false);
                    next = n;
                    forgotten = forgotten.or(gone);
                }
            }
            now += c.connect_delay;
        }
        assert_eq!(forgotten.as_deref(), Some("C"));
        assert!(dir.find("C").is_none());
    }

    /// A handshake that fails on one server of a remote cluster (say, its INFO never came)
    /// moves on to the next URL: an implicit remote with `connect_retries: 0` is forgotten
    /// only once every URL of the round failed (sim seed 43: c0-s1 forgot C3 after one
    /// stalled handshake with c3-s1 while c3-s0 and c3-s2 were up).
    #[test]
    fn a_failed_handshake_moves_the_round_to_the_next_url() {
        let c = config();
        let t0 = Instant::now();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut dir = Directory::new(&c, t0);
        let urls = [GatewayUrl::new("h3", 7002), GatewayUrl::new("h4", 7002)];
        assert!(dir.learn("C", &urls, t0));
        let first = dir.start_due(t0, &mut rng).into_iter().find(|d| d.remote == "C").unwrap();
        let link = LinkId::for_tests(7);
        dir.dial_connected(first.id, link);
        assert!(dir.outbound_closed(link, false, t0, &c, &mut rng, |_| false).is_none());
        let later = t0 + c.connect_delay + Duration::from_millis(100);
        let second = dir.start_due(later, &mut rng).into_iter().find(|d| d.remote == "C");
        let second = second.expect("the round goes on");
        assert_ne!(second.url, first.url, "the other server of C");
        let link = LinkId::for_tests(8);
        dir.dial_connected(second.id, link);
        let gone = dir.outbound_closed(link, false, later, &c, &mut rng, |_| false);
        assert_eq!(gone.as_deref(), Some("C"), "every URL failed: the round failed");
    }

    #[test]
    fn reload_adds_explicit_remotes_at_once_and_forgets_removed_ones() {
        let c = config();
        let t0 = Instant::now();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut dir = Directory::new(&c, t0);
        let now = t0 + Duration::from_millis(10);
        dir.add_explicit("C", &[GatewayUrl::new("h5", 7005)], now);
        let dials = dir.start_due(now, &mut rng);
        assert_eq!(dials.len(), 1, "the new remote is dialled before B's solicit delay");
        assert_eq!((dials[0].remote.as_str(), dials[0].explicit), ("C", true));
        let link = LinkId::for_tests(9);
        dir.dial_connected(dials[0].id, link);
        assert_eq!(dir.remove("C"), Some(link));
        assert!(dir.find("C").is_none());
        // The closed link no longer maps to a remote: nothing is re-dialled.
        assert!(dir.outbound_closed(link, true, now, &c, &mut rng, |_| false).is_none());
        assert_eq!(dir.poll_timeout(), Some(t0 + c.solicit_delay), "only B is scheduled");
        // A dial in flight for a removed remote is unknown when it completes.
        let d = dir.start_due(t0 + c.solicit_delay, &mut rng).remove(0);
        assert_eq!(dir.remove("B"), None);
        assert!(dir.dial_connected(d.id, link).is_none());
    }

    #[test]
    fn reload_replaces_configured_urls_and_keeps_discovered_ones() {
        let c = config();
        let mut dir = Directory::new(&c, Instant::now());
        dir.replace_urls(0, &[GatewayUrl::new("g1", 7001)]);
        dir.set_configured("B", &[GatewayUrl::new("h9", 7001)]);
        let hosts: Vec<&str> = dir.remotes[0].urls.iter().map(|u| u.host.as_str()).collect();
        assert_eq!(hosts, ["h9", "g1"]);
    }

    #[test]
    fn closed_outbound_is_redialled_after_a_delay() {
        let c = config();
        let t0 = Instant::now();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut dir = Directory::new(&c, t0);
        let now = t0 + c.solicit_delay;
        let d = dir.start_due(now, &mut rng).remove(0);
        let link = LinkId::for_tests(5);
        assert_eq!(dir.dial_connected(d.id, link).map(|(i, _)| i), Some(0));
        assert_eq!(dir.outbound(0), Some(link));
        assert!(dir.outbound_closed(link, true, now, &c, &mut rng, |_| false).is_none());
        let at = dir.poll_timeout().unwrap();
        assert!(
            at >= now + c.connect_delay && at < now + c.connect_delay + Duration::from_millis(100)
        );
    }
}
