//! Tokio adapters that drive the Strait core, and the pieces of the `strait` daemon.
