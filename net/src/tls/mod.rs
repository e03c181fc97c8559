//! TLS over any [`Connection`]: rustls configurations built from `tls {}` blocks, kept behind
//! a swappable [`TlsHandle`] so a reload changes what new handshakes use without touching
//! established links, and handshakes with nats-server's timeout and pinned-certificate checks.
//!
//! Certificate time comes from a [`Clock`] the driver supplies, so the simulator's clock
//! decides expiry there.

mod config;
mod handshake;
mod identity;
mod stream;
mod transport;
mod verify;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::{ClientConfig, ServerConfig};
use strait_conf::options::{HandshakeFirst, Tls};

pub use handshake::{HANDSHAKE_RECORD, HandshakeError, accept, connect, first_record};
pub use identity::{PeerIdentity, check_peer_identity, peer_identity};
pub use stream::{Inner, Joined, Replayed, TlsConn};
pub use transport::{TlsDialer, TlsListener};
pub use verify::{Clock, system_clock};

/// nats-server's `TLS_TIMEOUT`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// What a `tls {}` block is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The client listener (top level): client certificates only with `verify`.
    Client,
    /// Gateways (and later routes): always mutual, accepting and dialling.
    Link,
    /// A remote gateway's own block: dialling only (mutual all the same).
    Remote,
}

/// One built `tls {}` block.
#[derive(Debug)]
pub struct TlsState {
    /// For accepting; `None` without a certificate.
    pub server: Option<Arc<ServerConfig>>,
    /// For dialling (links only).
    pub client: Option<Arc<ClientConfig>>,
    /// Allowed peer keys (lower-case hex SHA-256 of the SPKI); empty allows any.
    pub pins: Vec<String>,
    /// Handshake deadline.
    pub timeout: Duration,
    /// Client certificates are required and verified.
    pub verify: bool,
    /// TLS before INFO on the client listener.
    pub handshake_first: HandshakeFirst,
    /// Dialling does not verify the server (`insecure`).
    pub insecure: bool,
}

impl TlsState {
    fn build(tls: &Tls, role: Role, clock: &Clock) -> Result<Self, String> {
        let server = match role {
            Role::Client | Role::Link => config::server_config(tls, role, clock)?,
            Role::Remote => None,
        };
        let client = match role {
            Role::Link | Role::Remote => Some(config::client_config(tls, clock)?),
            Role::Client => None,
        };
        if role == Role::Client && server.is_none() {
            return Err("TLS requires a certificate (cert_file and key_file)".into());
        }
        Ok(Self {
            server,
            client,
            pins: tls.pinned_certs.iter().map(|p| p.to_lowercase()).collect(),
            timeout: tls.timeout.unwrap_or(DEFAULT_TIMEOUT),
            verify: role != Role::Client || tls.verify,
            handshake_first: tls.handshake_first.unwrap_or(HandshakeFirst::Off),
            insecure: tls.insecure,
        })
    }
}

/// A `tls {}` block that can be replaced while the server runs: each handshake takes the
/// current [`TlsState`]; links already up keep the one they were made with.
pub struct TlsHandle {
    role: Role,
    clock: Clock,
    current: RwLock<Arc<TlsState>>,
}

impl std::fmt::Debug for TlsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsHandle").field("role", &self.role).finish_non_exhaustive()
    }
}

impl TlsHandle {
    /// Build from `tls`; errors name what is wrong (unreadable files, unsupported suites…).
    pub fn new(tls: &Tls, role: Role, clock: Clock) -> Result<Self, String> {
        let state = TlsState::build(tls, role, &clock)?;
        Ok(Self { role, clock, current: RwLock::new(Arc::new(state)) })
    }

    /// Use `tls` for every new handshake; on error the previous configuration stays.
    pub fn reload(&self, tls: &Tls) -> Result<(), String> {
        let state = self.prepare(tls)?;
        self.install(state);
        Ok(())
    }

    /// Build what [`TlsHandle::reload`] would install, without installing it (to check a
    /// whole reload before changing anything).
    pub fn prepare(&self, tls: &Tls) -> Result<Arc<TlsState>, String> {
        TlsState::build(tls, self.role, &self.clock).map(Arc::new)
    }

    /// Use `state` (from [`TlsHandle::prepare`]) for every new handshake.
    pub fn install(&self, state: Arc<TlsState>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = state;
    }

    /// The configuration new handshakes use.
    pub fn current(&self) -> Arc<TlsState> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests;
