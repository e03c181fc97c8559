//! Wire codecs: incremental zero-copy parsers and encoders.

pub mod client;
pub mod encode;
pub mod frames;
pub mod from_server;
pub mod gateway;
pub mod gateway_json;
pub mod json;
pub mod route;
pub mod route_json;
pub mod server;
