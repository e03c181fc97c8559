//! Handshakes over in-memory pipes: the injected clock decides expiry, a reload changes what
//! new handshakes use, pins are enforced, and unsupported cipher names are config errors.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
use rustls_pki_types::UnixTime;
use strait_conf::options::Tls;
use tokio::io::{AsyncWrite, DuplexStream, ReadHalf, WriteHalf};

use super::*;
use crate::transport::Connection;

impl Connection for DuplexStream {
    type Read = ReadHalf<DuplexStream>;
    type Write = WriteHalf<DuplexStream>;

    fn split(self) -> (Self::Read, Self::Write) {
        tokio::io::split(self)
    }
}

struct Files {
    dir: std::path::PathBuf,
}

impl Files {
    fn new(tag: &str) -> Files {
        let dir =
            std::env::temp_dir().join(format!("strait-tls-unit-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Files { dir }
    }

    fn write(&self, name: &str, text: &str) -> String {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A root CA and a leaf it signed (valid 2020-01-01..2021-01-01 when `old`).
fn pki(files: &Files, tag: &str, old: bool) -> Tls {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf.subject_alt_names.push(SanType::IpAddress([127, 0, 0, 1].into()));
    if old {
        leaf.not_before = rcgen::date_time_ymd(2020, 1, 1);
        leaf.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    Tls {
        cert_file: Some(files.write(&format!("{tag}-cert.pem"), &cert.pem())),
        key_file: Some(files.write(&format!("{tag}-key.pem"), &key.serialize_pem())),
        ca_file: Some(files.write(&format!("{tag}-ca.pem"), &ca_cert.pem())),
        timeout: Some(Duration::from_secs(2)),
        ..Tls::default()
    }
}

fn fixed(secs: u64) -> Clock {
    Arc::new(move || UnixTime::since_unix_epoch(Duration::from_secs(secs)))
}

/// 2020-06-01, inside the old certificates' validity.
const IN_2020: u64 = 1_590_969_600;

/// Handshakes `client` (dialling 127.0.0.1) against `server`; the client's result.
async fn handshake(server: &TlsHandle, client: &TlsHandle) -> Result<(), HandshakeError> {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let (s, c) = (server.current(), client.current());
    let srv = async move {
        let (rd, wr) = Connection::split(a);
        accept::<DuplexStream>(Joined::new(Vec::new(), rd, wr), &s, &s.pins).await
    };
    let cli = async move {
        let (rd, wr) = Connection::split(b);
        connect::<DuplexStream>(Joined::new(Vec::new(), rd, wr), "127.0.0.1", &c, &c.pins).await
    };
    // Both ends live until both handshakes are done (a TLS 1.3 server still writes tickets).
    let (s, c) = tokio::join!(srv, cli);
    c.map(drop).and(s.map(drop))
}

#[tokio::test]
async fn the_driver_clock_decides_expiry() {
    let files = Files::new("clock");
    let tls = pki(&files, "old", true);
    let server = TlsHandle::new(&tls, Role::Link, fixed(IN_2020)).unwrap();
    let then = TlsHandle::new(&tls, Role::Link, fixed(IN_2020)).unwrap();
    assert_eq!(handshake(&server, &then).await, Ok(()));
    let now = TlsHandle::new(&tls, Role::Link, system_clock()).unwrap();
    let err = handshake(&server, &now).await.unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
}

#[tokio::test]
async fn a_reload_changes_new_handshakes_only() {
    let files = Files::new("reload");
    let (one, two) = (pki(&files, "one", false), pki(&files, "two", false));
    let server = TlsHandle::new(&one, Role::Link, system_clock()).unwrap();
    let client = TlsHandle::new(&one, Role::Link, system_clock()).unwrap();
    let before = server.current();
    assert_eq!(handshake(&server, &client).await, Ok(()));
    server.reload(&two).unwrap();
    assert!(handshake(&server, &client).await.is_err(), "the old CA still verified");
    // What an established link holds is untouched.
    assert_eq!(before.timeout, Duration::from_secs(2));
    client.reload(&two).unwrap();
    assert_eq!(handshake(&server, &client).await, Ok(()));
    // A bad reload keeps the previous configuration.
    let broken = Tls { ca_file: Some("/nonexistent/ca.pem".into()), ..two.clone() };
    assert!(server.reload(&broken).is_err());
    assert_eq!(handshake(&server, &client).await, Ok(()));
}

#[tokio::test]
async fn pins_are_checked_after_the_handshake() {
    let files = Files::new("pins");
    let tls = pki(&files, "pin", false);
    let der = rustls_pki_types::pem::PemObject::pem_file_iter(tls.cert_file.as_ref().unwrap())
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let der: rustls_pki_types::CertificateDer<'_> = der;
    let spki = peer_identity(&der).unwrap().spki_sha256;
    let server = TlsHandle::new(&tls, Role::Link, system_clock()).unwrap();
    let pinned = Tls { pinned_certs: vec![spki], ..tls.clone() };
    let client = TlsHandle::new(&pinned, Role::Link, system_clock()).unwrap();
    assert_eq!(handshake(&server, &client).await, Ok(()));
    let wrong = Tls { pinned_certs: vec!["ab".repeat(32)], ..tls };
    let client = TlsHandle::new(&wrong, Role::Link, system_clock()).unwrap();
    assert_eq!(handshake(&server, &client).await, Err(HandshakeError::NotPinned));
}

#[test]
fn cipher_names_rustls_lacks_are_config_errors() {
    let files = Files::new("ciphers");
    let tls = pki(&files, "c", false);
    let ok = Tls {
        cipher_suites: vec![
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".into(),
            "TLS_AES_128_GCM_SHA256".into(),
        ],
        ..tls.clone()
    };
    assert!(TlsHandle::new(&ok, Role::Link, system_clock()).is_ok());
    let cbc = Tls { cipher_suites: vec!["TLS_RSA_WITH_AES_128_CBC_SHA".into()], ..tls.clone() };
    let err = TlsHandle::new(&cbc, Role::Link, system_clock()).unwrap_err();
    assert!(err.contains("TLS_RSA_WITH_AES_128_CBC_SHA") && err.contains("not supported"), "{err}");
    let curve = Tls { curve_preferences: vec!["CurveP521".into()], ..tls };
    assert!(TlsHandle::new(&curve, Role::Link, system_clock()).is_err());
}

/// A write half that counts the writes made through it.
struct Counted {
    inner: WriteHalf<DuplexStream>,
    writes: Arc<AtomicUsize>,
}

impl AsyncWrite for Counted {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[io::IoSlice::new(b)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let joined: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
        let written = Pin::new(&mut this.inner).poll_write(cx, &joined);
        if let Poll::Ready(Ok(_)) = written {
            this.writes.fetch_add(1, Ordering::Relaxed);
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

struct CountedConn(DuplexStream, Arc<AtomicUsize>);

impl Connection for CountedConn {
    type Read = ReadHalf<DuplexStream>;
    type Write = Counted;

    fn split(self) -> (Self::Read, Self::Write) {
        let (rd, inner) = tokio::io::split(self.0);
        (rd, Counted { inner, writes: self.1 })
    }
}

#[tokio::test]
async fn the_server_flight_is_one_write() {
    // A client that reads the ServerHello alone sends its compatibility ChangeCipherSpec
    // at once and then waits on Nagle for our ACK before its final flight.
    let files = Files::new("flight");
    let tls = pki(&files, "f", false);
    let server = TlsHandle::new(&tls, Role::Link, system_clock()).unwrap();
    let client = TlsHandle::new(&tls, Role::Link, system_clock()).unwrap();
    let (a, b) = tokio::io::duplex(64 * 1024);
    let writes = Arc::new(AtomicUsize::new(0));
    let (s, c) = (server.current(), client.current());
    let srv = async {
        let (rd, wr) = CountedConn(a, writes.clone()).split();
        accept::<CountedConn>(Joined::new(Vec::new(), rd, wr), &s, &s.pins).await
    };
    let cli = async {
        let (rd, wr) = Connection::split(b);
        connect::<DuplexStream>(Joined::new(Vec::new(), rd, wr), "127.0.0.1", &c, &c.pins).await
    };
    let (s, c) = tokio::join!(srv, cli);
    assert!(s.is_ok() && c.is_ok());
    assert_eq!(writes.load(Ordering::Relaxed), 1, "the flight went out in pieces");
}
