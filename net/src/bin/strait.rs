//! The `strait` daemon.

fn main() {}
