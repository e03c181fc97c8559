//! Deterministic simulation of Strait superclusters under turmoil.
//!
//! The simulation issue fills this crate in: it will drive the real `strait-net` server over
//! turmoil sockets through the `Transport` seam.
