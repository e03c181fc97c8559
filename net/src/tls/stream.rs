//! Byte streams under and over TLS: the two halves of any [`Connection`] joined back into one
//! stream (with bytes already read replayed first), and a TLS stream as a [`Connection`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use super::identity::PeerIdentity;
use crate::transport::Connection;

/// Enough for any ClientHello in one read.
const PEEK_CHUNK: usize = 4096;

/// A connection's halves as one stream; `prefix` is read before `rd`.
#[derive(Debug)]
pub struct Joined<R, W> {
    prefix: Vec<u8>,
    pos: usize,
    rd: R,
    wr: W,
}

impl<R, W> Joined<R, W> {
    /// `rd` and `wr`, with `prefix` (bytes already read from `rd`) replayed first.
    pub fn new(prefix: Vec<u8>, rd: R, wr: W) -> Self {
        Self { prefix, pos: 0, rd, wr }
    }

    /// The first byte still to be read, reading from `rd` when nothing is buffered: as much
    /// as has arrived, so a ClientHello sniffed this way costs no second read. `None` at EOF.
    pub(crate) async fn peek(&mut self) -> io::Result<Option<u8>>
    where
        R: AsyncRead + Unpin,
    {
        if self.pos == self.prefix.len() {
            self.prefix.clear();
            self.pos = 0;
            self.prefix.reserve(PEEK_CHUNK);
            self.rd.read_buf(&mut self.prefix).await?;
        }
        Ok(self.prefix.get(self.pos).copied())
    }

    /// The write half, to send plaintext before the handshake.
    pub fn writer(&mut self) -> &mut W {
        &mut self.wr
    }
}

impl<R: AsyncRead + Unpin, W: Unpin> AsyncRead for Joined<R, W> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.prefix.len() {
            let n = (this.prefix.len() - this.pos).min(buf.remaining());
            buf.put_slice(&this.prefix[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.prefix.len() {
                // Replayed: a link lives long, its buffer need not.
                this.prefix = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.rd).poll_read(cx, buf)
    }
}

impl<R: Unpin, W: AsyncWrite + Unpin> AsyncWrite for Joined<R, W> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().wr).poll_write(cx, b)
    }

    // rustls hands over a handshake flight as one record per buffer: without these, each
    // record would be its own write and segment, and a peer that answers the first alone
    // (a TLS 1.3 client's compatibility ChangeCipherSpec) then waits on Nagle for our ACK.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().wr).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.wr.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().wr).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().wr).poll_shutdown(cx)
    }
}

/// A plaintext connection whose first bytes were already read (sniffed): they are read
/// again first.
pub struct Replayed<C: Connection> {
    prefix: Vec<u8>,
    rd: C::Read,
    wr: C::Write,
}

impl<C: Connection> Replayed<C> {
    /// `rd`/`wr` of a `C`, with `prefix` read from `rd` already.
    pub fn new(prefix: Vec<u8>, rd: C::Read, wr: C::Write) -> Self {
        Self { prefix, rd, wr }
    }
}

impl<C: Connection> std::fmt::Debug for Replayed<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replayed").field("prefix", &self.prefix.len()).finish_non_exhaustive()
    }
}

impl<C: Connection> Connection for Replayed<C> {
    type Read = Joined<C::Read, ()>;
    type Write = C::Write;

    fn split(self) -> (Self::Read, Self::Write) {
        (Joined::new(self.prefix, self.rd, ()), self.wr)
    }
}

/// The stream TLS runs over for a connection of type `C`.
pub type Inner<C> = Joined<<C as Connection>::Read, <C as Connection>::Write>;
type Stream<C> = tokio_rustls::TlsStream<Inner<C>>;

/// An established TLS connection over `C`, and who the peer proved to be.
pub struct TlsConn<C: Connection> {
    stream: Stream<C>,
    peer: Option<PeerIdentity>,
}

impl<C: Connection> std::fmt::Debug for TlsConn<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConn").field("peer", &self.peer).finish_non_exhaustive()
    }
}

impl<C: Connection> TlsConn<C> {
    pub(crate) fn new(stream: Stream<C>) -> Self {
        let certs = match &stream {
            tokio_rustls::TlsStream::Client(s) => s.get_ref().1.peer_certificates(),
            tokio_rustls::TlsStream::Server(s) => s.get_ref().1.peer_certificates(),
        };
        let peer = certs.and_then(|c| c.first()).and_then(|c| super::identity::peer_identity(c));
        Self { stream, peer }
    }

    /// The peer's end-entity certificate, if it showed one.
    pub fn peer(&self) -> Option<&PeerIdentity> {
        self.peer.as_ref()
    }

    /// The negotiated protocol version and cipher suite as Go names them (`1.3`,
    /// `TLS_AES_128_GCM_SHA256`), for nats-server's `TLS version …, cipher suite …` line.
    pub fn negotiated(&self) -> (String, String) {
        let (version, suite) = match &self.stream {
            tokio_rustls::TlsStream::Client(s) => {
                let c = s.get_ref().1;
                (c.protocol_version(), c.negotiated_cipher_suite())
            }
            tokio_rustls::TlsStream::Server(s) => {
                let c = s.get_ref().1;
                (c.protocol_version(), c.negotiated_cipher_suite())
            }
        };
        let version = match version {
            Some(rustls::ProtocolVersion::TLSv1_3) => "1.3".to_owned(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "1.2".to_owned(),
            Some(other) => format!("{other:?}"),
            None => "unknown".to_owned(),
        };
        let suite = suite.map(|s| s.suite()).map_or_else(String::new, |s| match s.as_str() {
            // rustls says TLS13_AES_128_GCM_SHA256 where Go (and IANA) say TLS_AES_…
            Some(name) => name.replacen("TLS13_", "TLS_", 1),
            None => format!("{s:?}"),
        });
        (version, suite)
    }
}

impl<C: Connection> Connection for TlsConn<C> {
    type Read = tokio::io::ReadHalf<Stream<C>>;
    type Write = tokio::io::WriteHalf<Stream<C>>;

    fn split(self) -> (Self::Read, Self::Write) {
        tokio::io::split(self.stream)
    }
}
