//! The nats-server configuration language: lexer, parser, typed options.
//!
//! Filled in by the configuration issue; the crate exists so the workspace has its final shape.
