//! The workload: simulated clients and the script each one follows, all drawn from the
//! workload seed before the run starts (so a script can be printed and replayed).
//!
//! Subjects are drawn from a small space so that plain, wildcard and queue subscriptions
//! overlap, plus a large space of subjects nobody subscribes to (what will push gateways into
//! interest-only mode). Requests go to `svc.*`, answered by a queue group of responders.

use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::topology::{ACCOUNTS, Topology};

/// What a client does at one point of its script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `SUB subject [queue] sid`, then a PING whose PONG confirms it. A `respond`ing
    /// subscription answers every message that has a reply subject.
    Subscribe {
        /// Client-chosen sid.
        sid: u32,
        /// Subject or wildcard.
        subject: String,
        /// Queue group.
        queue: Option<String>,
        /// Answer requests.
        respond: bool,
    },
    /// `UNSUB sid`, then a PING whose PONG confirms it.
    Unsubscribe {
        /// The sid.
        sid: u32,
    },
    /// A sequenced PUB (or HPUB) to `subject`, padded with `pad` bytes.
    Publish {
        /// Subject.
        subject: String,
        /// Send HPUB with a header block.
        headers: bool,
        /// Extra payload bytes.
        pad: usize,
    },
    /// A sequenced PUB to `subject` with a reply subject in the client's inbox.
    Request {
        /// Subject.
        subject: String,
    },
    /// Drop the connection (a fault, merged into the script by the fault schedule).
    Bounce,
}

/// One timed action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Simulated time.
    pub at: Duration,
    /// What to do.
    pub action: Action,
}

/// One simulated client.
#[derive(Clone, Debug)]
pub struct ClientSpec {
    /// Client number; its host is `cl{id}`.
    pub id: u32,
    /// Index into [`ACCOUNTS`].
    pub account: usize,
    /// Home cluster.
    pub cluster: usize,
    /// Servers it may connect to (its cluster's).
    pub servers: Vec<String>,
    /// Its script, sorted by time.
    pub script: Vec<Step>,
    /// Seed for its own choices (which server, back-off jitter).
    pub seed: u64,
    /// When it disconnects for good.
    pub stop_at: Duration,
    /// Injected bug: re-publish every message received from another cluster.
    pub relay: bool,
}

impl ClientSpec {
    /// Turmoil host name.
    pub fn host(&self) -> String {
        crate::invariants::host(self.id)
    }
}

/// Workload shape.
#[derive(Clone, Debug)]
pub struct WorkloadParams {
    /// Number of clients.
    pub clients: usize,
    /// Scripted activity runs until this time.
    pub active_until: Duration,
    /// Clients disconnect at this time.
    pub stop_at: Duration,
}

/// The sid of the inbox subscription every requester makes first.
pub const INBOX_SID: u32 = 1;

/// Draw every client's script.
pub fn generate(seed: u64, topo: &Topology, params: &WorkloadParams) -> Vec<ClientSpec> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut clients = Vec::new();
    for id in 0..params.clients as u32 {
        let cluster = pick(&mut rng, topo.clusters.len());
        // Mostly account A so most traffic meets; B shares the subjects to catch leaks.
        let account = usize::from(chance(&mut rng, 0.25));
        let mut script = Vec::new();
        let mut next_sid = INBOX_SID + 1;
        let start = ms(&mut rng, 50, 400);
        let requester = chance(&mut rng, 0.3);
        if requester {
            script.push(Step {
                at: start,
                action: Action::Subscribe {
                    sid: INBOX_SID,
                    subject: format!("_INBOX.cl{id}.*"),
                    queue: None,
                    respond: false,
                },
            });
        }
        if chance(&mut rng, 0.3) {
            script.push(Step {
                at: start,
                action: Action::Subscribe {
                    sid: next_sid,
                    subject: "svc.*".into(),
                    queue: Some("svc".into()),
                    respond: true,
                },
            });
            next_sid += 1;
        }
        // Subscriptions with churn: each lives for a random span, some until the end.
        let subs = 1 + pick(&mut rng, 3);
        for _ in 0..subs {
            let mut at = start + ms(&mut rng, 0, 2000);
            while at < params.active_until {
                let (subject, queue) = sub_pattern(&mut rng);
                let sid = next_sid;
                next_sid += 1;
                script.push(Step {
                    at,
                    action: Action::Subscribe { sid, subject, queue, respond: false },
                });
                if chance(&mut rng, 0.5) {
                    break;
                }
                at += ms(&mut rng, 500, 8000);
                script.push(Step { at, action: Action::Unsubscribe { sid } });
                at += ms(&mut rng, 0, 1000);
            }
        }
        if chance(&mut rng, 0.7) {
            let interval = ms(&mut rng, 40, 250);
            let mut at = start + ms(&mut rng, 500, 1500);
            while at < params.active_until {
                let action = if chance(&mut rng, 0.08) {
                    // Subjects nobody is interested in.
                    Action::Publish {
                        subject: format!("noint.{}", pick(&mut rng, 5000)),
                        headers: false,
                        pad: 0,
                    }
                } else {
                    Action::Publish {
                        subject: format!("ev.{}.{}", pick(&mut rng, 3), pick(&mut rng, 3)),
                        headers: chance(&mut rng, 0.3),
                        pad: pick(&mut rng, 64),
                    }
                };
                script.push(Step { at, action });
                at += interval;
            }
        }
        if requester {
            let mut at = start + ms(&mut rng, 500, 1500);
            while at < params.active_until {
                script.push(Step {
                    at,
                    action: Action::Request { subject: format!("svc.{}", pick(&mut rng, 2)) },
                });
                at += ms(&mut rng, 200, 800);
            }
        }
        // Stable sort keeps same-time steps in insertion order (inbox before first request).
        script.sort_by_key(|s| s.at);
        clients.push(ClientSpec {
            id,
            account,
            cluster,
            servers: topo.cluster_hosts(cluster),
            script,
            seed: rng.next_u64(),
            stop_at: params.stop_at,
            relay: false,
        });
    }
    clients
}

/// The injected relay: a client of account A in the last cluster, subscribed to `ev.>`, that
/// re-publishes what it gets from other clusters (see [`ClientSpec::relay`]).
pub fn relay_client(id: u32, topo: &Topology, stop_at: Duration) -> ClientSpec {
    let cluster = topo.clusters.len() - 1;
    ClientSpec {
        id,
        account: 0,
        cluster,
        servers: topo.cluster_hosts(cluster),
        script: vec![Step {
            at: Duration::from_millis(100),
            action: Action::Subscribe {
                sid: 2,
                subject: "ev.>".into(),
                queue: None,
                respond: false,
            },
        }],
        seed: id.into(),
        stop_at,
        relay: true,
    }
}

/// The account name of index `a`.
pub fn account_name(a: usize) -> &'static str {
    ACCOUNTS[a].0
}

fn sub_pattern(rng: &mut ChaCha8Rng) -> (String, Option<String>) {
    let a = pick(rng, 3);
    let b = pick(rng, 3);
    match pick(rng, 8) {
        0 | 1 => (format!("ev.{a}.{b}"), None),
        2 => (format!("ev.{a}.*"), None),
        3 => (format!("ev.*.{b}"), None),
        4 => ("ev.>".into(), None),
        5 => (format!("ev.{a}.*"), Some(format!("q{a}"))),
        6 => ("ev.>".into(), Some("qall".into())),
        _ => (format!("ev.{a}.>"), None),
    }
}

/// A uniform index below `n` (n > 0).
pub(crate) fn pick(rng: &mut ChaCha8Rng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

/// True with probability `p`.
pub(crate) fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
}

/// A duration uniform in `[lo, hi)` milliseconds.
pub(crate) fn ms(rng: &mut ChaCha8Rng, lo: u64, hi: u64) -> Duration {
    Duration::from_millis(lo + rng.next_u64() % (hi - lo).max(1))
}
