//! Deterministic simulation of Strait under turmoil.
//!
//! Every simulated server host runs the production `strait_net::server::run` over turmoil
//! TCP through the [`transport`] seam; simulated clients speak the NATS client protocol with
//! the core's own codec. One seed fixes everything: the [`topology`], the [`workload`] each
//! [`client`] follows, the [`faults`] and turmoil's own randomness. [`invariants`] are checked
//! during and after each [`run`], and a failure prints the seed, the fault schedule and the
//! command that replays it.
//!
//! The standard suite ([`RunConfig::seeded`], `strait-sim --seeds`, `tests/standard.rs`) is a
//! supercluster: 5 or 6 clusters of 3 servers. Inside a cluster each server lists one or two
//! others in `cluster { routes }`; between clusters, each cluster lists a seeded set of remotes
//! (a spanning tree plus extra edges) and each server lists every such remote by a random part
//! of its servers' URLs, so gossip over routes and gateways completes both meshes. Faults hit
//! single servers (crashes, lame-duck restarts, reloads), single routes and single gateway
//! links (partitions one way and both ways), and client links. The checker places publications
//! and subscriptions by server; the windows in which a path may be down are kept per cluster
//! (a gateway message lands on one server of a cluster and travels on over a route, so one
//! server's trouble may cut the cluster's inbound traffic). [`probe`] clients check after the
//! last heal that every server reaches every other again.
//!
//! The route suite ([`RunConfig::routes`], `strait-sim --routes`, `tests/routes.rs`) runs one
//! cluster of 3 to 5 servers joined by routes instead: each server lists one other in
//! `cluster { routes }` (a chain, a star or a random tree) so gossip must complete the mesh;
//! faults crash single servers and partition single routes (one way or both ways). The
//! checker then places publications and subscriptions by the server their connection is on,
//! so every invariant above (and the probes) applies to the routes between servers.
//!
//! [`whatif`] runs an operator's own configuration files the same way (`strait-sim whatif
//! A.conf B.conf …`) and reports which routes and gateway links form.
//!
//! The [`rotation`] suites run the same world with mutual-TLS gateways ([`tls`]: production
//! `run_tls`, certificates from PEM files judged at simulated time) and rotate certificates
//! with `ServerTls::reload` at seeded moments.

pub mod client;
pub mod faults;
pub mod invariants;
pub mod memory;
pub mod probe;
pub mod reload;
pub mod rotation;
pub mod run;
pub mod tls;
pub mod topology;
pub mod trace;
pub mod transport;
pub mod whatif;
pub mod workload;

pub use run::{Faults, RunConfig, RunReport, run};
