//! Test PKI generated with rcgen at run time (no key is ever committed): roots, intermediates
//! and leaf certificates for 127.0.0.1/localhost, written as PEM files into a directory that is
//! removed on drop.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use sha2::{Digest, Sha256};

/// A directory of PEM files, removed on drop.
pub(crate) struct Dir {
    path: PathBuf,
}

impl Dir {
    /// A fresh directory under the system temp dir.
    pub(crate) fn new() -> Dir {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "strait-tls-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create the cert directory");
        Dir { path }
    }

    /// Writes `contents` to `name` and returns its path.
    pub(crate) fn write(&self, name: &str, contents: &str) -> String {
        let p = self.path.join(name);
        std::fs::write(&p, contents).expect("write a PEM file");
        p.display().to_string()
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A certificate authority (root or intermediate).
pub(crate) struct Ca {
    issuer: Issuer<'static, KeyPair>,
    /// This CA's certificate (PEM).
    pub(crate) pem: String,
    /// Certificates between this CA and its root, this one first (PEM), for leaf chains.
    chain: String,
}

/// A leaf certificate and its key.
pub(crate) struct Leaf {
    /// Certificate followed by any intermediates (PEM).
    pub(crate) cert: String,
    /// Private key (PEM).
    pub(crate) key: String,
    /// Lower-case hex SHA-256 of the SubjectPublicKeyInfo (a `pinned_certs` entry).
    pub(crate) spki_sha256: String,
}

/// What a leaf looks like.
#[derive(Clone, Debug)]
pub(crate) struct LeafSpec {
    /// Subject common name.
    pub(crate) cn: String,
    /// DNS SANs (127.0.0.1 is always added as an IP SAN).
    pub(crate) dns: Vec<String>,
    /// Already expired (valid 2020-01-01 to 2021-01-01).
    pub(crate) expired: bool,
}

impl LeafSpec {
    /// A server+client certificate for `cn`, valid for localhost and 127.0.0.1.
    pub(crate) fn new(cn: &str) -> LeafSpec {
        LeafSpec { cn: cn.to_owned(), dns: vec!["localhost".to_owned()], expired: false }
    }
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name.push(DnType::OrganizationName, "Strait Test");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p
}

impl Ca {
    /// A self-signed root.
    pub(crate) fn root(cn: &str) -> Ca {
        let key = KeyPair::generate().expect("key");
        let params = ca_params(cn);
        let cert = params.self_signed(&key).expect("self-sign");
        Ca { pem: cert.pem(), chain: String::new(), issuer: Issuer::new(params, key) }
    }

    /// An intermediate signed by this CA.
    pub(crate) fn intermediate(&self, cn: &str) -> Ca {
        let key = KeyPair::generate().expect("key");
        let params = ca_params(cn);
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        let pem = cert.pem();
        Ca { chain: format!("{pem}{}", self.chain), pem, issuer: Issuer::new(params, key) }
    }

    /// A leaf for gateways and clients (server and client auth), signed by this CA.
    pub(crate) fn leaf(&self, spec: &LeafSpec) -> Leaf {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::new(spec.dns.clone()).expect("leaf params");
        p.subject_alt_names.push(SanType::IpAddress([127, 0, 0, 1].into()));
        p.distinguished_name.push(DnType::CommonName, spec.cn.as_str());
        p.extended_key_usages =
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        if spec.expired {
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = p.signed_by(&key, &self.issuer).expect("sign");
        let (_, parsed) = x509_parser::parse_x509_certificate(cert.der()).expect("parse");
        let spki = Sha256::digest(parsed.public_key().raw);
        let spki_sha256 = spki.iter().map(|b| format!("{b:02x}")).collect();
        Leaf {
            cert: format!("{}{}", cert.pem(), self.chain),
            key: key.serialize_pem(),
            spki_sha256,
        }
    }
}

/// Paths of one server's TLS files.
#[derive(Clone, Debug)]
pub(crate) struct Files {
    /// `cert_file`.
    pub(crate) cert: String,
    /// `key_file`.
    pub(crate) key: String,
    /// `ca_file`.
    pub(crate) ca: String,
}

impl Files {
    /// Writes `leaf` and the CA bundle `cas` (concatenated) under `name` in `dir`.
    pub(crate) fn write(dir: &Dir, name: &str, leaf: &Leaf, cas: &[&Ca]) -> Files {
        let bundle: String = cas.iter().map(|c| c.pem.as_str()).collect();
        Files {
            cert: dir.write(&format!("{name}-cert.pem"), &leaf.cert),
            key: dir.write(&format!("{name}-key.pem"), &leaf.key),
            ca: dir.write(&format!("{name}-ca.pem"), &bundle),
        }
    }

    /// A `tls { … }` block with these files and `extra` lines.
    pub(crate) fn block(&self, extra: &str) -> String {
        format!(
            "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  ca_file: \"{}\"\n  timeout: 2\n{extra}\n}}\n",
            self.cert, self.key, self.ca
        )
    }
}
