//! What is gateway-specific beyond one link: the configuration, the directory of remote
//! clusters and their URLs (explicit and gossiped), the dial/retry policy, the interest this
//! cluster announces and the interest each remote announced, and reply-subject mapping.

pub mod config;
pub mod directory;
pub mod interest;
pub mod reply;

pub use config::{GatewayConfig, GatewayUrl, RemoteConfig};
pub use directory::DialId;
