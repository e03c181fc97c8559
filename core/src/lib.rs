//! Strait's sans-IO core: NATS codecs, the subscription index, per-connection link state
//! machines and the routing decisions of one server.
//!
//! Nothing in this crate reads a clock, touches a socket or draws from a global random
//! generator: time is passed in as `now`, randomness comes from a seed handed to
//! [`node::Node::new`], and everything the outside world must do (write bytes, close a
//! connection, wake up later) is handed out as values. `strait-net` drives it with tokio,
//! `strait-sim` with turmoil.

pub mod fuzzing;
pub mod hash;
pub mod proto;
pub mod subject;
pub mod sublist;
