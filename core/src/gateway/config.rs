//! Gateway settings as the node needs them (the daemon builds them from `gateway {}`).

use std::time::Duration;

pub use crate::peer_url::PeerUrl as GatewayUrl;

/// A configured (explicit) remote gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteConfig {
    /// The remote cluster's gateway name.
    pub name: String,
    /// Its URLs.
    pub urls: Vec<GatewayUrl>,
}

/// The `gateway {}` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayConfig {
    /// This cluster's gateway name.
    pub name: String,
    /// The URL we advertise (`advertise`, else the listen address); `host:port`.
    pub advertise: GatewayUrl,
    /// Explicit remotes.
    pub remotes: Vec<RemoteConfig>,
    /// Inbound credentials (`authorization { user, password }`).
    pub user: Option<String>,
    /// Inbound password.
    pub password: Option<String>,
    /// Time an inbound peer has to send CONNECT (default 2 s).
    pub auth_timeout: Duration,
    /// Refuse inbound connections from clusters we do not know.
    pub reject_unknown_cluster: bool,
    /// Dial rounds for an implicit remote before it is forgotten (0: one round).
    pub connect_retries: u32,
    /// Double the pause between dial rounds, up to 30 s.
    pub connect_backoff: bool,
    /// Force every account to interest-only mode on inbound links and say so with
    /// `gateway_iom` (nats-server ≥ 2.9 behaviour, the default). Off, we behave as an older
    /// peer: optimistic per account, `RS-`/`A-` on no interest, interest-only past the
    /// threshold.
    pub interest_only: bool,
    /// Pause before dialling explicit remotes at start (default 1 s).
    pub solicit_delay: Duration,
    /// Pause between dial rounds (default 1 s).
    pub connect_delay: Duration,
    /// Gateway-level TLS: the listener and the remotes without their own `tls` block use it
    /// (INFO `tls_required`/`tls_verify`, CONNECT `tls_required`).
    pub tls: bool,
    /// Remotes with their own `tls` block (their CONNECT says `tls_required`).
    pub tls_remotes: Vec<String>,
    /// `verify_and_map`: an inbound peer's certificate must name `user` (password unused).
    pub tls_map: bool,
    /// `verify_cert_and_check_known_urls`: a DNS SAN of an inbound peer's certificate may
    /// instead match the host of a configured remote URL.
    pub tls_check_known_urls: bool,
}

impl GatewayConfig {
    /// A gateway named `name` advertising `advertise`, with nats-server's defaults.
    pub fn new(name: impl Into<String>, advertise: GatewayUrl) -> Self {
        Self {
            name: name.into(),
            advertise,
            remotes: Vec::new(),
            user: None,
            password: None,
            auth_timeout: Duration::from_secs(2),
            reject_unknown_cluster: false,
            connect_retries: 0,
            connect_backoff: false,
            interest_only: true,
            solicit_delay: Duration::from_secs(1),
            connect_delay: Duration::from_secs(1),
            tls: false,
            tls_remotes: Vec::new(),
            tls_map: false,
            tls_check_known_urls: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_and_without_scheme_and_credentials() {
        let u = GatewayUrl::parse("nats://gw:pw@127.0.0.1:7222").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 7222));
        assert_eq!((u.user.as_deref(), u.password.as_deref()), (Some("gw"), Some("pw")));
        let u = GatewayUrl::parse("10.0.0.1:7000").unwrap();
        assert_eq!(u, GatewayUrl::new("10.0.0.1", 7000));
        assert_eq!(GatewayUrl::parse("[::1]:7222").unwrap().host, "::1");
        assert!(GatewayUrl::parse("nohost").is_none());
        assert!(GatewayUrl::parse("h:notaport").is_none());
    }
}
