//! URLs of routes and remote gateways: `scheme://[user[:password]@]host[:port]`.

use std::fmt;

use serde::Serialize;

/// A parsed `nats://user:pass@host:port` URL (routes, remote gateways).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Url {
    /// `nats`, `nats-route`, `tls`, … (lower-cased).
    pub scheme: String,
    /// User name, percent-decoded.
    pub user: Option<String>,
    /// Password, percent-decoded. Never shown by `Display`.
    #[serde(skip)]
    pub password: Option<String>,
    /// Host name or IP address (IPv6 without brackets); may be empty.
    pub host: String,
    /// Port, if written.
    pub port: Option<u16>,
}

impl Url {
    /// Parses a URL; surrounding white space is ignored (as nats-server does).
    pub fn parse(text: &str) -> Result<Url, String> {
        let text = text.trim();
        if let Some(c) = text.chars().find(|c| c.is_control()) {
            return Err(format!("it contains the control character {c:?}"));
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err("a URL starts with a scheme such as nats://".to_owned());
        };
        let mut chars = scheme.chars();
        let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !scheme_ok {
            return Err(format!("{scheme:?} is not a valid scheme"));
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((n, p)) => (Some(percent_decode(n)?), Some(percent_decode(p)?)),
                None => (Some(percent_decode(u)?), None),
            },
        };
        let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
            let Some(end) = inner.find(']') else {
                return Err("missing ']' after an IPv6 address".to_owned());
            };
            let after = &inner[end + 1..];
            let port = match after {
                "" => None,
                p => match p.strip_prefix(':') {
                    Some(p) => Some(p),
                    None => return Err(format!("unexpected {after:?} after the IPv6 address")),
                },
            };
            (&inner[..end], port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if let Some(c) =
            host.chars().find(|c| !(c.is_alphanumeric() || "-._~%!$&'()*+,;=:".contains(*c)))
        {
            return Err(format!("the host contains {c:?}"));
        }
        let port = match port {
            None | Some("") => None,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
                _ => return Err(format!("invalid port {p:?}")),
            },
        };
        Ok(Url { scheme: scheme.to_ascii_lowercase(), user, password, host: host.to_owned(), port })
    }
}

impl fmt::Display for Url {
    /// Shows the URL with the password redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if self.password.is_some() {
                f.write_str(":xxxxx")?;
            }
            f.write_str("@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(v) => out.push(v),
                None => return Err(format!("invalid escape in {s:?}")),
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("escapes in {s:?} are not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse(" nats://gw:s%40cret@b1:7222 ").unwrap();
        assert_eq!(
            (u.scheme.as_str(), u.user.as_deref(), u.password.as_deref()),
            ("nats", Some("gw"), Some("s@cret"))
        );
        assert_eq!((u.host.as_str(), u.port), ("b1", Some(7222)));
        assert_eq!(u.to_string(), "nats://gw:xxxxx@b1:7222");
        let u = Url::parse("nats://[::1]:4222").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", Some(4222)));
        assert_eq!(Url::parse("nats-route://h").unwrap().port, None);
        for bad in
            ["h:4222", "nats://h:x", "nats://h:99999", "nats://a b:1", "1nats://h", "nats://[::1"]
        {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }
}
