//! The address of a server-to-server peer (route or gateway) as written in a configuration
//! or learned by gossip: `[scheme://][user[:password]@]host:port[/]`.

use std::fmt;

/// One URL of a route or gateway peer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerUrl {
    /// Host name or IP.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User from the URL's user-info, if any.
    pub user: Option<String>,
    /// Password from the URL's user-info, if any.
    pub password: Option<String>,
}

impl PeerUrl {
    /// A URL without credentials.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self { host: host.into(), port, user: None, password: None }
    }

    /// Parse `host:port` or `nats://[user:pass@]host:port` (gossiped URLs carry no scheme).
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.split_once("://").map_or(text, |(_, r)| r);
        let rest = rest.trim_end_matches('/');
        let (creds, hostport) = match rest.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, rest),
        };
        let (host, port) = hostport.rsplit_once(':')?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return None;
        }
        let port = port.parse().ok()?;
        let (user, password) = match creds {
            Some(c) => match c.split_once(':') {
                Some((u, p)) => (Some(u.to_owned()), Some(p.to_owned())),
                None => (Some(c.to_owned()), None),
            },
            None => (None, None),
        };
        Some(Self { host: host.to_owned(), port, user, password })
    }

    /// `host:port`, the key URLs are compared by.
    pub fn host_port(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

impl fmt::Display for PeerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}
