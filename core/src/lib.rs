//! Strait's sans-IO core: NATS codecs, the subscription index, per-connection link state
//! machines and the routing decisions of one server.
//!
//! Nothing in this crate reads a clock, touches a socket or draws from a global random
//! generator: time is passed in as `now`, randomness comes from a seed handed to
//! [`node::Node::new`], and everything the outside world must do (write bytes, close a
//! connection, wake up later) is handed out as values. `strait-net` drives it with tokio,
//! `strait-sim` with turmoil.

pub mod account;
pub mod dial;
pub mod error;
pub mod fuzzing;
pub mod gateway;
pub mod hash;
pub mod link;
pub mod message;
pub mod node;
pub mod peer_url;
pub mod permissions;
pub mod proto;
pub mod route;
pub mod subject;
pub mod sublist;

/// The nats-server version whose behaviour Strait implements; reported in INFO `version`
/// because clients gate features on it (see `docs/compat.md`).
pub const NATS_COMPAT_VERSION: &str = "2.15.1";
