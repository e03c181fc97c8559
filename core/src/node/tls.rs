//! What the driver tells the node about TLS: a handshake that failed (logged and closed in
//! nats-server's words) and who a verified gateway or route peer is (for `verify_and_map`).

use super::{Link, LinkId, LogLevel, Node, client, client_log, gateway};
use crate::error::{ClientError, GatewayError};
use crate::gateway::GatewayUrl;

/// Who a peer's verified certificate says it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsPeer {
    /// Candidate user names in nats-server's order: e-mail SANs, DNS SANs, URI SANs, the
    /// subject with `DC=` parts, the subject (as Go prints it).
    pub names: Vec<String>,
    /// DNS SANs.
    pub dns_names: Vec<String>,
}

impl Node {
    /// The TLS handshake of `link` failed with `err` (or timed out, or the certificate is not
    /// pinned): log it as nats-server does and close the link. `probe` marks what a port
    /// probe or load balancer causes (a timeout, a first record that is not TLS): nats-server
    /// logs those at debug level for clients.
    pub fn tls_failed(&mut self, link: LinkId, err: &str, probe: bool) {
        match self.links.get(link) {
            Some(Link::Client(_)) => {
                let level = if probe { LogLevel::Debug } else { LogLevel::Error };
                let text = format_args!("TLS handshake error: {err}");
                client_log::log_client(self, link, level, text);
                client::close(self, link, ClientError::TlsHandshake);
            }
            Some(Link::Route(r)) => {
                let line = format!("{}TLS route handshake error: {err}", crate::route::prefix(r));
                self.log(LogLevel::Error, line);
                crate::route::close(self, link, crate::error::RouteError::TlsHandshake);
            }
            Some(Link::Gateway(g)) => {
                let line = format!("{}TLS gateway handshake error: {err}", gateway::prefix(g));
                self.log(LogLevel::Error, line);
                gateway::close(self, link, GatewayError::TlsHandshake);
            }
            None => {}
        }
    }

    /// The TLS handshake of `link` (a gateway, a route or a client) completed with a verified
    /// `peer`.
    pub fn set_tls_peer(&mut self, link: LinkId, peer: TlsPeer) {
        match self.links.get_mut(link) {
            Some(Link::Gateway(g)) => g.tls_peer = Some(peer),
            Some(Link::Route(r)) => r.tls_peer = Some(peer),
            Some(Link::Client(c)) => c.login_mut().tls_peer = Some(peer),
            None => {}
        }
    }
}

/// nats-server's `isGatewayAuthorized` (and `isRouterAuthorized`) with a TLS map: some name
/// of the certificate is the link user, or (with `check_known_urls`) a DNS SAN matches a
/// configured remote's (route's) host.
pub(crate) fn peer_authorized(
    peer: Option<&TlsPeer>,
    user: Option<&str>,
    map: bool,
    known_urls: Option<&[&GatewayUrl]>,
) -> bool {
    let Some(peer) = peer else {
        return false;
    };
    if let Some(urls) = known_urls
        && peer.dns_names.iter().any(|d| dns_matches(d, urls))
    {
        return true;
    }
    map && user.is_some_and(|u| !u.is_empty() && peer.names.iter().any(|n| n == u))
}

/// RFC 6125 §6.4: same number of labels, a `*` only as the whole left-most label.
fn dns_matches(san: &str, urls: &[&GatewayUrl]) -> bool {
    let san = san.to_lowercase();
    let labels: Vec<&str> = san.split('.').collect();
    urls.iter().any(|u| {
        let host = u.host.to_lowercase();
        let host: Vec<&str> = host.split('.').collect();
        host.len() == labels.len()
            && labels
                .iter()
                .zip(&host)
                .enumerate()
                .all(|(i, (l, h))| (i == 0 && *l == "*") || l == h)
    })
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use bytes::BytesMut;

    use super::*;
    use crate::gateway::GatewayConfig;
    use crate::node::{Event, NodeConfig};

    fn mapped_node() -> Node {
        let mut g = GatewayConfig::new("B", GatewayUrl::new("127.0.0.1", 7222));
        g.tls = true;
        g.tls_map = true;
        g.user = Some("CN=gw-a".into());
        let mut node = Node::new(NodeConfig { gateway: Some(g), ..NodeConfig::default() }, 7);
        node.start(Instant::now());
        node
    }

    fn outbox(node: &mut Node, link: LinkId) -> String {
        let mut buf = BytesMut::new();
        let _ = node.take_outbox(link, &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }

    const CONNECT: &str = "CONNECT {\"gateway\":\"A\",\"name\":\"NA\"}\r\n";

    #[test]
    fn tls_gateway_info_and_mapped_identity() {
        let mut node = mapped_node();
        let now = Instant::now();
        let ok = node.accept_gateway(now, None);
        let info = outbox(&mut node, ok);
        assert!(info.contains(r#""tls_required":true,"tls_verify":true"#), "{info}");
        node.set_tls_peer(ok, TlsPeer { names: vec!["CN=gw-a".into()], dns_names: vec![] });
        node.handle_read(ok, now, &mut BytesMut::from(CONNECT));
        assert!(node.is_open(ok));
        // The password is not used, and a peer without the mapped name is refused.
        let bad = node.accept_gateway(now, None);
        node.set_tls_peer(bad, TlsPeer { names: vec!["CN=gw-w".into()], dns_names: vec![] });
        node.handle_read(bad, now, &mut BytesMut::from(CONNECT));
        assert!(!node.is_open(bad));
    }

    #[test]
    fn a_failed_handshake_is_logged_in_nats_server_words() {
        let mut node = mapped_node();
        let link = node.accept_gateway(Instant::now(), None);
        node.tls_failed(link, "certificate not pinned", false);
        let mut logs = Vec::new();
        while let Some(e) = node.poll_event() {
            match e {
                Event::Log(_, line) => logs.push(line),
                Event::Close { reason, .. } => logs.push(reason.to_string()),
                _ => {}
            }
        }
        assert!(
            logs.iter().any(|l| l.ends_with("TLS gateway handshake error: certificate not pinned")),
            "{logs:?}"
        );
        assert!(logs.iter().any(|l| l == "TLS Handshake Failure"), "{logs:?}");
        assert!(!node.is_open(link));
    }

    fn mapped_route_node() -> Node {
        use crate::peer_url::PeerUrl;
        use crate::route::ClusterConfig;
        let mut c = ClusterConfig::new("C", PeerUrl::new("127.0.0.1", 6222));
        c.tls = true;
        c.tls_map = true;
        c.tls_check_known_urls = true;
        c.user = Some("CN=route-a".into());
        c.routes = vec![PeerUrl::new("r1.example.com", 6222)];
        let config = NodeConfig { cluster: Some(c), ..NodeConfig::default() };
        let mut node = Node::new(config, 7);
        node.start(Instant::now());
        node
    }

    const ROUTE_CONNECT: &str = "CONNECT {\"name\":\"NPEER\",\"cluster\":\"C\"}\r\n";

    #[test]
    fn tls_route_info_and_mapped_identity() {
        let mut node = mapped_route_node();
        let now = Instant::now();
        let mapped = node.accept_route(now, None);
        let info = outbox(&mut node, mapped);
        assert!(info.contains(r#""tls_required":true,"tls_verify":true"#), "{info}");
        node.set_tls_peer(mapped, TlsPeer { names: vec!["CN=route-a".into()], dns_names: vec![] });
        node.handle_read(mapped, now, &mut BytesMut::from(ROUTE_CONNECT));
        assert!(node.is_open(mapped));
        // A DNS SAN matching a configured route's host is enough.
        let known = node.accept_route(now, None);
        let peer = TlsPeer { names: vec!["CN=x".into()], dns_names: vec!["*.example.com".into()] };
        node.set_tls_peer(known, peer);
        node.handle_read(known, now, &mut BytesMut::from(ROUTE_CONNECT));
        assert!(node.is_open(known));
        // Neither: refused, as is a route without a verified peer.
        let bad = node.accept_route(now, None);
        node.set_tls_peer(bad, TlsPeer { names: vec!["CN=w".into()], dns_names: vec![] });
        node.handle_read(bad, now, &mut BytesMut::from(ROUTE_CONNECT));
        assert!(!node.is_open(bad));
        let none = node.accept_route(now, None);
        node.handle_read(none, now, &mut BytesMut::from(ROUTE_CONNECT));
        assert!(!node.is_open(none));
    }

    #[test]
    fn dns_sans_match_like_nats_server() {
        let a = GatewayUrl::new("gw1.example.com", 7222);
        let urls = [&a];
        assert!(dns_matches("gw1.example.com", &urls));
        assert!(dns_matches("*.Example.com", &urls));
        assert!(!dns_matches("*.com", &urls));
        assert!(!dns_matches("gw2.example.com", &urls));
    }

    #[test]
    fn a_mapped_peer_must_name_the_user() {
        let peer = TlsPeer { names: vec!["CN=gw".into()], dns_names: vec![] };
        assert!(peer_authorized(Some(&peer), Some("CN=gw"), true, None));
        assert!(!peer_authorized(Some(&peer), Some("CN=other"), true, None));
        assert!(!peer_authorized(None, Some("CN=gw"), true, None));
    }
}
