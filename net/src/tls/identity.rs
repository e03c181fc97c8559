//! What a peer certificate says about who the peer is: the SHA-256 of its public key (for
//! `pinned_certs`) and the names `verify_and_map` compares with a user, in nats-server's order
//! and spelling (e-mail SANs, DNS SANs, URI SANs, then the subject as Go prints it).

use sha2::{Digest, Sha256};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The parts of a peer's end-entity certificate the server looks at after a handshake.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerIdentity {
    /// Lower-case hex SHA-256 of the DER SubjectPublicKeyInfo (nats-server's pin format).
    pub spki_sha256: String,
    /// Candidate user names, in the order nats-server tries them.
    pub names: Vec<String>,
    /// DNS SANs (for `verify_cert_and_check_known_urls`).
    pub dns_names: Vec<String>,
}

/// Reads `der`; `None` if it is not a certificate.
pub fn peer_identity(der: &[u8]) -> Option<PeerIdentity> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let spki_sha256 = hex(&Sha256::digest(cert.public_key().raw));
    let (mut emails, mut dns_names, mut uris) = (Vec::new(), Vec::new(), Vec::new());
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::RFC822Name(e) => emails.push((*e).to_owned()),
                GeneralName::DNSName(d) => dns_names.push((*d).to_owned()),
                GeneralName::URI(u) => uris.push((*u).to_owned()),
                _ => {}
            }
        }
    }
    let mut names: Vec<String> = Vec::new();
    names.extend(emails);
    names.extend(dns_names.iter().cloned());
    names.extend(uris);
    let (rdn, dcs) = go_subject(&cert);
    if !dcs.is_empty() {
        names.push(format!("{rdn},{dcs}"));
    }
    names.push(rdn);
    Some(PeerIdentity { spki_sha256, names, dns_names })
}

/// The fuzz property of [`peer_identity`]: never panics on any bytes, and what it reads has a
/// well-formed key hash.
pub fn check_peer_identity(der: &[u8]) {
    if let Some(id) = peer_identity(der) {
        assert_eq!(id.spki_sha256.len(), 64, "{id:?}");
        assert!(id.spki_sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!(!id.names.is_empty(), "the subject is always a candidate name");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Go's `cert.Subject.ToRDNSequence().String()` and the `DC=` components nats-server appends:
/// Go keeps only the well-known attributes, in a fixed order, printed last first.
fn go_subject(cert: &X509Certificate<'_>) -> (String, String) {
    const ORDER: &[(&str, &str)] = &[
        ("2.5.4.6", "C"),
        ("2.5.4.8", "ST"),
        ("2.5.4.7", "L"),
        ("2.5.4.9", "STREET"),
        ("2.5.4.17", "POSTALCODE"),
        ("2.5.4.10", "O"),
        ("2.5.4.11", "OU"),
        ("2.5.4.3", "CN"),
        ("2.5.4.5", "SERIALNUMBER"),
    ];
    const DC: &str = "0.9.2342.19200300.100.1.25";
    let mut found: Vec<(String, String)> = Vec::new();
    let mut dcs = Vec::new();
    for rdn in cert.subject().iter_rdn() {
        for atv in rdn.iter() {
            let oid = atv.attr_type().to_id_string();
            let Ok(value) = atv.as_str() else { continue };
            if oid == DC {
                dcs.push(format!("DC={value}"));
            } else {
                found.push((oid, value.to_owned()));
            }
        }
    }
    let mut groups = Vec::new();
    for (oid, short) in ORDER {
        let values: Vec<&str> =
            found.iter().filter(|(o, _)| o == oid).map(|(_, v)| v.as_str()).collect();
        // Go keeps one CN and one serial number (the last seen), all of the others.
        let values = match *short {
            "CN" | "SERIALNUMBER" => values.last().copied().into_iter().collect(),
            _ => values,
        };
        if values.is_empty() {
            continue;
        }
        let parts: Vec<String> = values.iter().map(|v| format!("{short}={}", escape(v))).collect();
        groups.push(parts.join("+"));
    }
    groups.reverse();
    (groups.join(","), dcs.join(","))
}

/// Go's RFC 2253 escaping of an attribute value.
fn escape(v: &str) -> String {
    let chars: Vec<char> = v.chars().collect();
    let mut out = String::with_capacity(v.len());
    for (i, &c) in chars.iter().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == ' ' || c == '#'))
            || (i == chars.len() - 1 && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_is_printed_as_go_does() {
        let mut params = rcgen::CertificateParams::new(vec!["gw.example".to_owned()]).unwrap();
        let dn = &mut params.distinguished_name;
        dn.push(rcgen::DnType::CommonName, "gw, one");
        dn.push(rcgen::DnType::OrganizationName, "Strait");
        dn.push(rcgen::DnType::CountryName, "US");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let id = peer_identity(cert.der()).unwrap();
        assert_eq!(id.names, vec!["gw.example", "CN=gw\\, one,O=Strait,C=US"]);
        assert_eq!(id.spki_sha256.len(), 64);
        let (_, parsed) = X509Certificate::from_der(cert.der()).unwrap();
        assert_eq!(id.spki_sha256, hex(&Sha256::digest(parsed.public_key().raw)));
    }
}
