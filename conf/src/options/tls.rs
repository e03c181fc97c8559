//! `tls { … }` blocks: top level, cluster, gateway and remote gateways.

use std::time::Duration;

use serde::Serialize;

use crate::options::Loc;
use crate::options::decode::{self as d, Sink, path};
use crate::value::{Kind, Value};

/// A `tls { … }` block.
///
/// For cluster and gateway links nats-server always requires and verifies the peer's
/// certificate, and uses `ca_file` for both directions (mutual TLS).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Tls {
    /// Certificate chain (PEM); must be paired with `key_file`.
    pub cert_file: Option<String>,
    /// Private key (PEM).
    pub key_file: Option<String>,
    /// CA bundle used to verify peers.
    pub ca_file: Option<String>,
    /// Require and verify client certificates.
    pub verify: bool,
    /// Skip server certificate verification when dialing.
    pub insecure: bool,
    /// As `verify`, and map the certificate's identity to a user.
    pub verify_and_map: bool,
    /// Verify, and check the certificate against known URLs (cluster/gateway/leaf only).
    pub verify_cert_and_check_known_urls: bool,
    /// Allowed peers: hex SHA-256 of the DER SubjectPublicKeyInfo, lower-cased.
    pub pinned_certs: Vec<String>,
    /// Handshake deadline; default 2 s (nats-server's `TLS_TIMEOUT`).
    pub timeout: Option<Duration>,
    /// Lowest TLS version; default TLS 1.2.
    pub min_version: Option<TlsVersion>,
    /// Go cipher suite names; empty means Go's secure defaults.
    pub cipher_suites: Vec<String>,
    /// Allow the insecure suites named in `cipher_suites`.
    pub allow_insecure_cipher_suites: bool,
    /// Key-exchange curve names, in preference order; empty means the defaults.
    pub curve_preferences: Vec<String>,
    /// TLS before the INFO line (client and leaf listeners).
    pub handshake_first: Option<HandshakeFirst>,
    /// New TLS connections accepted per second (top level only); 0 is unlimited. Strait
    /// refuses a limit on the client listener (it does not enforce one); nats-server ignores
    /// it in other blocks.
    pub connection_rate_limit: Option<u64>,
    /// Several certificate/key pairs (`certs`), instead of `cert_file`/`key_file`.
    pub certs: Vec<CertPair>,
    /// Where the block is.
    pub loc: Loc,
}

/// One `{cert_file, key_file}` entry of `certs`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CertPair {
    /// Certificate chain (PEM).
    pub cert_file: String,
    /// Private key (PEM).
    pub key_file: String,
}

/// A TLS protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// `handshake_first`: TLS first, optionally falling back to INFO-first after a delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum HandshakeFirst {
    /// `false`/`off`.
    Off,
    /// `true`/`on`.
    On,
    /// `auto` (50 ms) or a duration: wait that long for a TLS handshake, then send INFO.
    Fallback(Duration),
}

/// Where a `tls` block is: the top level (client listener) or a link.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsContext {
    Client,
    Link,
}

const SECURE_CIPHERS: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
];

const INSECURE_CIPHERS: &[&str] = &[
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
];

const CURVES: &[&str] = &["X25519MLKEM768", "X25519", "CurveP256", "CurveP384", "CurveP521"];

const KNOWN: &[&str] = &[
    "cert_file",
    "key_file",
    "ca_file",
    "insecure",
    "verify",
    "verify_and_map",
    "verify_cert_and_check_known_urls",
    "allow_insecure_cipher_suites",
    "cipher_suites",
    "curve_preferences",
    "timeout",
    "connection_rate_limit",
    "pinned_certs",
    "cert_store",
    "cert_match_by",
    "cert_match",
    "ca_certs_match",
    "handshake_first",
    "first",
    "immediate",
    "cert_match_skip_invalid",
    "ocsp_peer",
    "certs",
    "certificates",
    "min_version",
];

/// Decodes a `tls` block at `option`.
pub(crate) fn decode(s: &mut Sink, v: &Value, option: &str, cx: TlsContext) -> Option<Tls> {
    let m = d::map(s, v, option)?;
    let mut t = Tls { loc: d::loc(v), ..Tls::default() };
    let mut insecure_named = Vec::new();
    for e in m.entries() {
        let key = e.key.to_lowercase();
        let p = path(option, &e.key);
        let v = &e.value;
        match key.as_str() {
            "cert_file" => t.cert_file = d::string(s, v, &p),
            "key_file" => t.key_file = d::string(s, v, &p),
            "ca_file" => t.ca_file = d::string(s, v, &p),
            "insecure" => t.insecure = d::boolean(s, v, &p).unwrap_or(false),
            "verify" => t.verify = d::boolean(s, v, &p).unwrap_or(false),
            "verify_and_map" => {
                t.verify_and_map = d::boolean(s, v, &p).unwrap_or(false);
                t.verify |= t.verify_and_map;
            }
            "verify_cert_and_check_known_urls" => {
                let b = d::boolean(s, v, &p).unwrap_or(false);
                if b && cx == TlsContext::Client {
                    s.error(&v.pos, &p, "only allowed in cluster, gateway and leafnode tls blocks");
                }
                t.verify_cert_and_check_known_urls = b;
                t.verify |= b;
            }
            "allow_insecure_cipher_suites" => {
                t.allow_insecure_cipher_suites = d::boolean(s, v, &p).unwrap_or(false);
            }
            "cipher_suites" => {
                let Some(items) = d::array(s, v, &p) else {
                    continue;
                };
                if items.is_empty() {
                    s.error(&v.pos, &p, "expected at least one cipher suite, found an empty array");
                }
                for (i, item) in items.iter().enumerate() {
                    let ip = format!("{p}[{i}]");
                    let Some(name) = d::string(s, item, &ip) else {
                        continue;
                    };
                    if INSECURE_CIPHERS.contains(&name.as_str()) {
                        insecure_named.push(name.clone());
                    } else if !SECURE_CIPHERS.contains(&name.as_str()) {
                        let hint = d::nearest(&name, SECURE_CIPHERS)
                            .map(|n| format!(" (did you mean \"{n}\"?)"))
                            .unwrap_or_default();
                        s.error(&item.pos, &ip, format!("unknown cipher suite {name:?}{hint}"));
                    }
                    t.cipher_suites.push(name);
                }
            }
            "curve_preferences" => {
                let Some(items) = d::array(s, v, &p) else {
                    continue;
                };
                if items.is_empty() {
                    s.error(&v.pos, &p, "expected at least one curve, found an empty array");
                }
                for (i, item) in items.iter().enumerate() {
                    let ip = format!("{p}[{i}]");
                    let Some(name) = d::string(s, item, &ip) else {
                        continue;
                    };
                    if !CURVES.contains(&name.as_str()) {
                        s.error(
                            &item.pos,
                            &ip,
                            format!(
                                "unknown curve {name:?}: expected one of {}",
                                CURVES.join(", ")
                            ),
                        );
                    }
                    t.curve_preferences.push(name);
                }
            }
            "timeout" => t.timeout = d::seconds(s, v, &p),
            "connection_rate_limit" => {
                t.connection_rate_limit = d::unsigned(s, v, &p);
                if cx == TlsContext::Client && t.connection_rate_limit.is_some_and(|n| n > 0) {
                    s.refuse(&e.key_pos, &p, "a TLS connection rate limit");
                }
            }
            "pinned_certs" => {
                let Some(items) = d::array(s, v, &p) else {
                    continue;
                };
                for (i, item) in items.iter().enumerate() {
                    let ip = format!("{p}[{i}]");
                    let Some(h) = d::string(s, item, &ip) else {
                        continue;
                    };
                    let h = h.to_lowercase();
                    if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                        s.error(&item.pos, &ip, format!(
                            "expected the hex SHA-256 (64 digits) of a DER SubjectPublicKeyInfo, found {h:?}"
                        ));
                    }
                    t.pinned_certs.push(h);
                }
            }
            "handshake_first" | "first" | "immediate" => {
                t.handshake_first =
                    match &v.kind {
                        Kind::Bool(true) => Some(HandshakeFirst::On),
                        Kind::Bool(false) => Some(HandshakeFirst::Off),
                        Kind::String(x) => match x.to_lowercase().as_str() {
                            "true" | "on" => Some(HandshakeFirst::On),
                            "false" | "off" => Some(HandshakeFirst::Off),
                            "auto" | "auto_fallback" => {
                                Some(HandshakeFirst::Fallback(Duration::from_millis(50)))
                            }
                            _ => match super::duration::parse_go_duration(x) {
                                Ok(dur) => Some(HandshakeFirst::Fallback(dur)),
                                Err(_) => {
                                    s.error(&v.pos, &p, format!(
                                    "expected true, false, \"auto\" or a duration, found {x:?}"
                                ));
                                    None
                                }
                            },
                        },
                        _ => {
                            s.expected(v, &p, "a boolean or a string");
                            None
                        }
                    }
            }
            "certs" | "certificates" => {
                let Some(items) = d::array(s, v, &p) else {
                    continue;
                };
                for (i, item) in items.iter().enumerate() {
                    let ip = format!("{p}[{i}]");
                    let Some(pm) = d::map(s, item, &ip) else {
                        continue;
                    };
                    let mut pair = CertPair::default();
                    for pe in pm.entries() {
                        let pp = path(&ip, &pe.key);
                        // Case-sensitive here, as in nats-server.
                        match pe.key.as_str() {
                            "cert_file" => {
                                pair.cert_file = d::string(s, &pe.value, &pp).unwrap_or_default()
                            }
                            "key_file" => {
                                pair.key_file = d::string(s, &pe.value, &pp).unwrap_or_default()
                            }
                            _ => s.unknown(pe, &pp, &["cert_file", "key_file"]),
                        }
                    }
                    if pair.cert_file.is_empty() || pair.key_file.is_empty() {
                        s.error(&item.pos, &ip, "expected both cert_file and key_file");
                    }
                    t.certs.push(pair);
                }
            }
            "min_version" => {
                t.min_version = match &v.kind {
                    Kind::String(x) => match x.as_str() {
                        "1.2" => Some(TlsVersion::Tls12),
                        "1.3" => Some(TlsVersion::Tls13),
                        "1.0" | "1.1" => {
                            s.error(
                                &v.pos,
                                &p,
                                format!("TLS {x} is not supported: expected \"1.2\" or \"1.3\""),
                            );
                            None
                        }
                        _ => {
                            s.error(
                                &v.pos,
                                &p,
                                format!("expected \"1.2\" or \"1.3\", found {x:?}"),
                            );
                            None
                        }
                    },
                    _ => {
                        s.expected(v, &p, "\"1.2\" or \"1.3\" (a quoted string)");
                        None
                    }
                }
            }
            "cert_store"
            | "cert_match_by"
            | "cert_match"
            | "ca_certs_match"
            | "cert_match_skip_invalid" => {
                s.refuse(&e.key_pos, &p, "the Windows certificate store")
            }
            "ocsp_peer" => {
                if !matches!(v.kind, Kind::Bool(false)) {
                    s.refuse(&e.key_pos, &p, "OCSP checking of peer certificates");
                }
            }
            // nats-server: unknown TLS fields are errors even when used as variables.
            _ => {
                let hint = d::nearest(&key, KNOWN)
                    .map(|n| format!(" (did you mean \"{n}\"?)"))
                    .unwrap_or_default();
                s.errors.push(crate::error::Error::new(
                    crate::error::ErrorKind::UnknownOption,
                    &e.key_pos,
                    &p,
                    format!("unknown TLS option{hint}"),
                ));
            }
        }
    }
    if !t.certs.is_empty() && t.cert_file.is_some() {
        s.conflict(&v.pos, option, "cert_file and certs cannot be used together");
    }
    match (&t.cert_file, &t.key_file) {
        (Some(_), None) => s.conflict(&v.pos, option, "cert_file is set but key_file is missing"),
        (None, Some(_)) => s.conflict(&v.pos, option, "key_file is set but cert_file is missing"),
        _ => {}
    }
    if !insecure_named.is_empty() && !t.allow_insecure_cipher_suites {
        s.conflict(
            &v.pos,
            option,
            format!(
                "insecure cipher suites need allow_insecure_cipher_suites: true: {}",
                insecure_named.join(", ")
            ),
        );
    }
    Some(t)
}
