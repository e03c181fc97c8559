//! One TLS handshake, server or client side, bounded by the block's timeout and followed by
//! the `pinned_certs` check, as nats-server's `doTLSHandshake` does.

use std::fmt;

use rustls_pki_types::ServerName;

use super::TlsState;
use super::stream::{Inner, TlsConn};
use crate::transport::Connection;

/// The first byte of a TLS handshake record (what `allow_non_tls` sniffs for).
pub const HANDSHAKE_RECORD: u8 = 0x16;

/// Why a handshake failed; displayed in the words nats-server logs where they are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// The timeout passed first.
    Timeout,
    /// The peer spoke something other than TLS.
    NotTls,
    /// The peer closed the connection.
    Eof,
    /// rustls refused (bad certificate, unknown CA, no common suite…).
    Tls(String),
    /// The server's certificate is not valid for the name dialled.
    WrongName(String),
    /// The peer's key is not among `pinned_certs`.
    NotPinned,
    /// No TLS configuration for this side (e.g. no certificate to accept with).
    NotConfigured,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Timeout => f.write_str("i/o timeout"),
            HandshakeError::NotTls => {
                f.write_str("tls: first record does not look like a TLS handshake")
            }
            HandshakeError::Eof => f.write_str("EOF"),
            HandshakeError::Tls(e) | HandshakeError::WrongName(e) => f.write_str(e),
            HandshakeError::NotPinned => f.write_str("certificate not pinned"),
            HandshakeError::NotConfigured => f.write_str("TLS is not configured"),
        }
    }
}

impl std::error::Error for HandshakeError {}

fn tls_error(e: std::io::Error) -> HandshakeError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        return HandshakeError::Eof;
    }
    use rustls::{CertificateError as C, Error as E};
    match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(r @ E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. })) => {
            HandshakeError::WrongName(go_words(r))
        }
        Some(r) => HandshakeError::Tls(go_words(r)),
        None => HandshakeError::Tls(e.to_string()),
    }
}

/// The common failures in Go's words (operators grep for them); others in rustls' words.
fn go_words(e: &rustls::Error) -> String {
    use rustls::{AlertDescription as A, CertificateError as C, Error as E};
    let verify = "tls: failed to verify certificate: x509: ";
    match e {
        E::InvalidCertificate(C::UnknownIssuer) => {
            format!("{verify}certificate signed by unknown authority")
        }
        E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            format!("{verify}certificate has expired or is not yet valid ({e})")
        }
        E::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            format!("{verify}certificate has expired or is not yet valid ({e})")
        }
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            format!("{verify}certificate is not valid for the dialled host ({e})")
        }
        E::NoCertificatesPresented => "tls: client didn't provide a certificate".to_owned(),
        E::AlertReceived(A::BadCertificate) => "remote error: tls: bad certificate".to_owned(),
        E::AlertReceived(A::UnknownCA) => {
            "remote error: tls: unknown certificate authority".to_owned()
        }
        E::AlertReceived(A::CertificateExpired) => {
            "remote error: tls: expired certificate".to_owned()
        }
        E::AlertReceived(A::CertificateRequired) => {
            "remote error: tls: certificate required".to_owned()
        }
        other => other.to_string(),
    }
}

/// Reads the peer's first bytes (into `io`'s replay buffer) and checks they open a TLS record.
pub async fn first_record<C: Connection>(io: &mut Inner<C>) -> Result<(), HandshakeError> {
    match io.peek().await {
        Ok(None) => Err(HandshakeError::Eof),
        Ok(Some(HANDSHAKE_RECORD)) => Ok(()),
        Ok(Some(_)) => Err(HandshakeError::NotTls),
        Err(e) => Err(tls_error(e)),
    }
}

/// Server side: the peer must start TLS within the timeout and, with pins, show a pinned key.
pub async fn accept<C: Connection>(
    mut io: Inner<C>,
    state: &TlsState,
    pins: &[String],
) -> Result<TlsConn<C>, HandshakeError> {
    let config = state.server.clone().ok_or(HandshakeError::NotConfigured)?;
    let handshake = async move {
        first_record::<C>(&mut io).await?;
        tokio_rustls::TlsAcceptor::from(config).accept(io).await.map_err(tls_error)
    };
    let stream = tokio::time::timeout(state.timeout, handshake)
        .await
        .map_err(|_| HandshakeError::Timeout)??;
    pinned(TlsConn::new(tokio_rustls::TlsStream::Server(stream)), pins)
}

/// Client side: verify the server as `host` (a DNS name or an IP address).
pub async fn connect<C: Connection>(
    io: Inner<C>,
    host: &str,
    state: &TlsState,
    pins: &[String],
) -> Result<TlsConn<C>, HandshakeError> {
    let config = state.client.clone().ok_or(HandshakeError::NotConfigured)?;
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| HandshakeError::Tls(format!("invalid server name {host:?}: {e}")))?;
    let handshake = tokio_rustls::TlsConnector::from(config).connect(name, io);
    let stream = tokio::time::timeout(state.timeout, handshake)
        .await
        .map_err(|_| HandshakeError::Timeout)?
        .map_err(tls_error)?;
    pinned(TlsConn::new(tokio_rustls::TlsStream::Client(stream)), pins)
}

fn pinned<C: Connection>(conn: TlsConn<C>, pins: &[String]) -> Result<TlsConn<C>, HandshakeError> {
    if pins.is_empty() {
        return Ok(conn);
    }
    match conn.peer() {
        Some(p) if pins.contains(&p.spki_sha256) => Ok(conn),
        _ => Err(HandshakeError::NotPinned),
    }
}
