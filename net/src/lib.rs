//! Tokio adapters that drive the Strait core, and the pieces of the `strait` daemon.
//!
//! `net` is a pump: per connection it reads bytes, hands them with `now` to the core's
//! [`Node`](strait_core::node::Node), wakes the writers of every link that got output, and
//! sleeps until the link's next deadline. No protocol decision is made here.

pub mod cli;
mod conn;
mod conn_tls;
pub mod lame_duck;
pub mod listen;
pub mod logging;
pub mod monitor;
pub mod perm_setup;
pub mod reload;
pub mod server;
pub mod setup;
pub mod signal;
pub mod tls;
pub mod tls_setup;
pub mod transport;
