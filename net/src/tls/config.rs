//! rustls configurations from a `tls {}` block: certificates, CA bundles, versions, cipher
//! suites and curves mapped from nats-server's (Go's) names.

use std::sync::Arc;

use rustls::CipherSuite;
use rustls::crypto::ring::{cipher_suite as cs, kx_group};
use rustls::crypto::{CryptoProvider, SupportedKxGroup};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedCipherSuite};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use strait_conf::options::{Tls, TlsVersion};

use super::verify::{ClockedClientVerifier, ClockedServerVerifier, InsecureServerVerifier};
use super::{Clock, Role};

/// Go's TLS 1.2 suite names that rustls (ring) implements. TLS 1.3 suites are not
/// configurable in Go either; naming one is accepted and changes nothing.
fn tls12_suite(name: &str) -> Option<SupportedCipherSuite> {
    Some(match name {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => {
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => {
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        _ => return None,
    })
}

const TLS13_NAMES: &[&str] =
    &["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"];

fn kx(name: &str) -> Option<&'static dyn SupportedKxGroup> {
    match name {
        "X25519" => Some(kx_group::X25519),
        "CurveP256" => Some(kx_group::SECP256R1),
        "CurveP384" => Some(kx_group::SECP384R1),
        _ => None,
    }
}

/// The ring provider restricted to the block's cipher suites and curves.
pub(crate) fn provider(tls: &Tls) -> Result<Arc<CryptoProvider>, String> {
    let mut p = rustls::crypto::ring::default_provider();
    // Go's order with AES hardware: AES-128-GCM before ChaCha20 before AES-256-GCM (the
    // SHA-384 transcript of the last costs more per handshake for no gain here).
    p.cipher_suites.sort_by_key(|s| match s.suite() {
        CipherSuite::TLS13_AES_128_GCM_SHA256 => 0,
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => 1,
        CipherSuite::TLS13_AES_256_GCM_SHA384 => 2,
        _ => 3,
    });
    if !tls.cipher_suites.is_empty() {
        let mut suites: Vec<SupportedCipherSuite> =
            p.cipher_suites.iter().filter(|s| s.tls13().is_some()).copied().collect();
        for name in &tls.cipher_suites {
            if TLS13_NAMES.contains(&name.as_str()) {
                continue;
            }
            let suite = tls12_suite(name).ok_or_else(|| {
                format!("cipher suite {name} is not supported by strait (rustls has no such suite)")
            })?;
            suites.push(suite);
        }
        p.cipher_suites = suites;
    }
    if !tls.curve_preferences.is_empty() {
        p.kx_groups = tls
            .curve_preferences
            .iter()
            .map(|n| kx(n).ok_or_else(|| format!("curve {n} is not supported by strait (rustls)")))
            .collect::<Result<_, _>>()?;
    }
    Ok(Arc::new(p))
}

static TLS13_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

fn versions(tls: &Tls) -> &'static [&'static rustls::SupportedProtocolVersion] {
    match tls.min_version {
        Some(TlsVersion::Tls13) => TLS13_ONLY,
        _ => rustls::ALL_VERSIONS,
    }
}

/// Certificate chain and key: `cert_file`/`key_file`, else the first `certs` entry.
fn identity(
    tls: &Tls,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, String> {
    let (cert, key) = match (&tls.cert_file, &tls.key_file, tls.certs.first()) {
        (Some(c), Some(k), _) => (c.as_str(), k.as_str()),
        (None, None, Some(pair)) => (pair.cert_file.as_str(), pair.key_file.as_str()),
        _ => return Ok(None),
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("error parsing X509 certificate/key pair: {cert}: {e}"))?;
    if chain.is_empty() {
        return Err(format!("error parsing X509 certificate/key pair: no certificate in {cert}"));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("error parsing X509 certificate/key pair: {key}: {e}"))?;
    Ok(Some((chain, key)))
}

/// Every certificate of `ca_file` (a bundle of roots and intermediates) as a trust anchor.
fn roots(tls: &Tls) -> Result<Option<Arc<RootCertStore>>, String> {
    let Some(path) = &tls.ca_file else {
        return Ok(None);
    };
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("failed to parse root ca certificate: {path}: {e}"))?;
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!("failed to parse root ca certificate: no certificate in {path}"));
    }
    Ok(Some(Arc::new(store)))
}

/// The configuration for accepting: links always verify the peer (mutual TLS), the client
/// listener only with `verify`.
pub(crate) fn server_config(
    tls: &Tls,
    role: Role,
    clock: &Clock,
) -> Result<Option<Arc<ServerConfig>>, String> {
    let Some((chain, key)) = identity(tls)? else {
        return Ok(None);
    };
    let provider = provider(tls)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions(tls))
        .map_err(|e| format!("error parsing tls config: {e}"))?;
    let verify = role != Role::Client || tls.verify;
    let builder = if verify {
        let roots = roots(tls)?.ok_or("ca_file is required to verify peer certificates")?;
        let inner = WebPkiClientVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|e| format!("error parsing tls config: {e}"))?;
        builder.with_client_cert_verifier(Arc::new(ClockedClientVerifier {
            inner,
            clock: clock.clone(),
        }))
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("error parsing X509 certificate/key pair: {e}"))?;
    // Our suite order, not the client's, as Go servers do.
    config.ignore_client_order = true;
    if role == Role::Link {
        // A resumed session skips verifying the peer's certificate, so a link could outlive
        // its certificate's expiry or a CA removed by reload. Gateways dial rarely: always a
        // full handshake (nats-server's dialler keeps no session cache either).
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
    }
    Ok(Some(Arc::new(config)))
}

/// The configuration for dialling (links only): the server is verified against `ca_file`
/// unless `insecure`; our certificate is presented when configured.
pub(crate) fn client_config(tls: &Tls, clock: &Clock) -> Result<Arc<ClientConfig>, String> {
    let provider = provider(tls)?;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions(tls))
        .map_err(|e| format!("error parsing tls config: {e}"))?;
    let builder = if tls.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(InsecureServerVerifier { provider }))
    } else {
        let roots = roots(tls)?.ok_or("ca_file is required to verify peer certificates")?;
        let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|e| format!("error parsing tls config: {e}"))?;
        builder.dangerous().with_custom_certificate_verifier(Arc::new(ClockedServerVerifier {
            inner,
            clock: clock.clone(),
        }))
    };
    let mut config = match identity(tls)? {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("error parsing X509 certificate/key pair: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    // Full handshakes only (see `server_config`).
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}
