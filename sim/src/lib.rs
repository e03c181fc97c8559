//! Deterministic simulation of Strait under turmoil.
//!
//! Every simulated server host runs the production `strait_net::server::run` over turmoil
//! TCP through the [`transport`] seam; simulated clients speak the NATS client protocol with
//! the core's own codec. One seed fixes everything: the [`topology`], the [`workload`] each
//! [`client`] follows, the [`faults`] and turmoil's own randomness. Clusters are joined by
//! gateways (seeded explicit remotes and gossip); [`probe`] clients check after the last heal
//! that every pair of clusters is linked again. [`invariants`] are checked
//! during and after each [`run`], and a failure prints the seed, the fault schedule and the
//! command that replays it.
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
pub mod workload;

pub use run::{Faults, RunConfig, RunReport, run};
