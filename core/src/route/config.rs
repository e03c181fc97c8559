//! Cluster settings as the node needs them (the daemon builds them from `cluster {}` and the
//! cluster flags; `shared/docs/config-format.md` §B.5).

use std::time::Duration;

use crate::peer_url::PeerUrl;
use crate::permissions::PermissionSpec;

/// Route PINGs go out at least this often (`defaultRouteMaxPingInterval`).
pub const MAX_PING_INTERVAL: Duration = Duration::from_secs(30);

/// The `cluster {}` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The cluster's name (configured, the gateway's, or generated).
    pub name: String,
    /// The name was generated: a configured peer's name wins over it.
    pub dynamic_name: bool,
    /// Our route URL as peers should dial it (INFO `host`/`port`).
    pub advertise: PeerUrl,
    /// `cluster_advertise` was set: INFO also carries `ip`.
    pub advertise_set: bool,
    /// Explicit routes, retried forever.
    pub routes: Vec<PeerUrl>,
    /// Route authorization user; peers must send it in CONNECT.
    pub user: Option<String>,
    /// Route authorization password.
    pub password: Option<String>,
    /// Time a peer has to send CONNECT.
    pub auth_timeout: Duration,
    /// Do not tell clients about the other servers (`no_advertise`).
    pub no_advertise: bool,
    /// Extra attempts for implicit (gossiped) routes; 0 means one attempt.
    pub connect_retries: u32,
    /// Double the pause between attempts up to 30 s.
    pub connect_backoff: bool,
    /// Keep-alive interval of routes (already capped at 30 s).
    pub ping_interval: Duration,
    /// Unanswered PINGs before a route is stale.
    pub ping_max: u32,
    /// Pause between two dial attempts of one URL (`DEFAULT_ROUTE_CONNECT`).
    pub connect_delay: Duration,
    /// Our clients' URLs, told to peers (`connect_urls`) so their clients can fail over here.
    pub client_urls: Vec<String>,
    /// Pooled connections per peer (`pool_size`, default 3); 0 or less: one connection.
    pub pool_size: i32,
    /// Accounts with a connection of their own (`cluster.accounts`).
    pub pinned_accounts: Vec<String>,
    /// `cluster.permissions`: `import` as `publish` (the interest we announce), `export` as
    /// `subscribe` (the interest we accept), as nats-server maps them.
    pub permissions: Option<PermissionSpec>,
    /// `cluster.tls`: every route is mutual TLS (INFO `tls_required`/`tls_verify`, CONNECT
    /// `tls_required`).
    pub tls: bool,
    /// `verify_and_map`: an accepted peer's certificate must name `user` (password unused).
    pub tls_map: bool,
    /// `verify_cert_and_check_known_urls`: a DNS SAN of an accepted peer's certificate may
    /// instead match the host of a configured route.
    pub tls_check_known_urls: bool,
}

impl ClusterConfig {
    /// A cluster named `name` whose route listener is advertised as `advertise`, with
    /// nats-server's defaults.
    pub fn new(name: impl Into<String>, advertise: PeerUrl) -> Self {
        Self {
            name: name.into(),
            dynamic_name: false,
            advertise,
            advertise_set: false,
            routes: Vec::new(),
            user: None,
            password: None,
            auth_timeout: Duration::from_secs(2),
            no_advertise: false,
            connect_retries: 0,
            connect_backoff: false,
            ping_interval: MAX_PING_INTERVAL,
            ping_max: 2,
            connect_delay: Duration::from_secs(1),
            client_urls: Vec::new(),
            pool_size: super::pool::DEFAULT_POOL_SIZE,
            pinned_accounts: Vec::new(),
            permissions: None,
            tls: false,
            tls_map: false,
            tls_check_known_urls: false,
        }
    }
}
