//! Dials the node asks the driver to make, for routes and gateways alike.

use crate::peer_url::PeerUrl;

/// Identifies one dial request handed to the driver. Route dials have the top bit set, so the
/// route and gateway directories never hand out the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialId(pub(crate) u64);

impl DialId {
    /// The first id of the route directory's range.
    pub(crate) const ROUTE_BASE: u64 = 1 << 63;

    /// Whether the route directory made this dial.
    pub(crate) fn is_route(self) -> bool {
        self.0 & Self::ROUTE_BASE != 0
    }
}

/// What a dialled connection will carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialKind {
    /// A route to a server of our cluster.
    Route,
    /// An outbound gateway to another cluster.
    Gateway,
}

/// A dial the driver must make, then report with `Node::handle_dial`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialRequest {
    /// Hand this back with the result.
    pub id: DialId,
    /// Route or gateway (picks the TLS settings and the connection kind).
    pub kind: DialKind,
    /// The remote gateway's name; empty for routes.
    pub remote: String,
    /// Where to connect.
    pub url: PeerUrl,
    /// Whether the URL is configured rather than gossiped (for log lines).
    pub explicit: bool,
    /// Attempt number since the last connection (for log lines).
    pub attempt: u64,
}
