//! Why a client link answers with `-ERR` or closes, and the one mapping from cause to wire.
//!
//! Every `-ERR` text and every close/keep-open decision for client connections comes from
//! [`ClientError::answer`], so the table in `shared/docs/client-protocol.md` §14 lives in one
//! place and tests compare bytes against it.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;

use crate::proto::client::ParseError;

/// Something a client did (or failed to do) that the server answers or closes for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// The byte stream does not parse (see [`ParseError`]).
    Parse(ParseError),
    /// Authentication failed, an op other than CONNECT arrived while auth was pending, or the
    /// CONNECT used the legacy `account`/`new_account` fields.
    AuthorizationViolation,
    /// No CONNECT within the auth timeout.
    AuthenticationTimeout,
    /// Too many server PINGs went unanswered.
    StaleConnection,
    /// CONNECT `protocol` outside 0..=1.
    InvalidClientProtocol,
    /// CONNECT asked for no_responders without headers.
    NoRespondersRequiresHeaders,
    /// The server is at `max_connections`.
    MaxConnectionsExceeded,
    /// The client's account is at its `max_connections` limit.
    MaxAccountConnectionsExceeded,
    /// SUB over `max_subscriptions` (server or account; link stays open, no subscription).
    MaxSubscriptionsExceeded,
    /// CONNECT JSON did not decode (nats-server closes without `-ERR`).
    BadConnect,
    /// A client INFO did not decode (closed without `-ERR`).
    BadClientInfo,
    /// HPUB on a connection that did not negotiate headers (closed without `-ERR`).
    HeadersNotNegotiated,
    /// The client sent `-ERR` (closed without answer).
    ClientSentError,
    /// The link's outbound queue passed `max_pending` (closed without `-ERR`, nothing more
    /// flushed).
    SlowConsumer,
    /// A write took longer than the write deadline (closed without `-ERR`, nothing more
    /// flushed).
    SlowConsumerWriteDeadline,
    /// Reading from the connection failed (e.g. reset by the peer); nothing more is flushed.
    ReadError,
    /// Writing to the connection failed; nothing more is flushed.
    WriteError,
    /// The server is shutting down (closed without `-ERR` after flushing what is queued).
    ServerShutdown,
    /// The client closed its side of the connection (what is queued is still flushed).
    ClientClosed,
    /// The TLS handshake failed or timed out, or the certificate is not pinned.
    TlsHandshake,
    /// A pedantic client published to a subject that is not a valid literal (link stays open,
    /// the message is still routed, as nats-server does).
    InvalidPublishSubject,
    /// SUB with an invalid subject (link stays open, no subscription).
    InvalidSubject,
    /// Publish to a subject the client may not use, e.g. the `_GR_.` prefix (link stays open,
    /// message dropped).
    PublishViolation(Bytes),
    /// Publish with a reserved reply prefix (`_R_.`, `$JS.ACK.`, `_GR_.`) (link stays open,
    /// message dropped).
    ReplyViolation(Bytes),
    /// SUB the client's permissions forbid, or in the reserved `_sys_` queue (link stays open,
    /// no subscription).
    SubscribeViolation {
        /// The subject.
        subject: Bytes,
        /// The queue group, if any.
        queue: Option<Bytes>,
    },
    /// A configuration reload changed the client's permissions and removed this existing
    /// subscription (link stays open).
    SubscriptionRevoked {
        /// The subject.
        subject: Bytes,
        /// The queue group, if any.
        queue: Option<Bytes>,
        /// The client's sid.
        sid: Bytes,
    },
}

/// What the server sends and does for a [`ClientError`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Text inside `-ERR '…'`, if one is sent.
    pub err: Option<Cow<'static, str>>,
    /// Whether the link closes after the answer is flushed.
    pub close: bool,
    /// Whether queued output is still flushed before closing (false for slow consumers).
    pub flush: bool,
}

impl ClientError {
    /// The wire answer: `-ERR` text (if any) and whether the link closes.
    pub fn answer(&self) -> Answer {
        use ClientError::*;
        let (err, close): (Option<Cow<'static, str>>, bool) = match self {
            Parse(ParseError::UnknownOp) => (Some("Unknown Protocol Operation".into()), true),
            Parse(ParseError::MaxControlLine) => {
                (Some("maximum control line exceeded".into()), true)
            }
            Parse(ParseError::MaxPayload) => (Some("Maximum Payload Violation".into()), true),
            Parse(ParseError::BadArgs(_)) => (None, true),
            AuthorizationViolation => (Some("Authorization Violation".into()), true),
            AuthenticationTimeout => (Some("Authentication Timeout".into()), true),
            StaleConnection => (Some("Stale Connection".into()), true),
            InvalidClientProtocol => (Some("invalid client protocol".into()), true),
            NoRespondersRequiresHeaders => {
                (Some("no responders requires headers support".into()), true)
            }
            MaxConnectionsExceeded => (Some("maximum connections exceeded".into()), true),
            MaxAccountConnectionsExceeded => {
                (Some("maximum account active connections exceeded".into()), true)
            }
            MaxSubscriptionsExceeded => (Some("maximum subscriptions exceeded".into()), false),
            BadConnect
            | BadClientInfo
            | HeadersNotNegotiated
            | ClientSentError
            | SlowConsumer
            | SlowConsumerWriteDeadline
            | ReadError
            | WriteError
            | ServerShutdown
            | ClientClosed
            | TlsHandshake => (None, true),
            InvalidPublishSubject => (Some("Invalid Publish Subject".into()), false),
            InvalidSubject => (Some("Invalid Subject".into()), false),
            PublishViolation(subject) => (
                Some(format!("Permissions Violation for Publish to {}", GoQuoted(subject)).into()),
                false,
            ),
            ReplyViolation(reply) => (
                Some(
                    format!("Permissions Violation for Publish with Reply of {}", GoQuoted(reply))
                        .into(),
                ),
                false,
            ),
            SubscribeViolation { subject, queue } => {
                (Some(subscription_violation(subject, queue.as_deref(), "").into()), false)
            }
            SubscriptionRevoked { subject, queue, sid } => {
                let sid = format!(" (sid {})", GoQuoted(sid));
                (Some(subscription_violation(subject, queue.as_deref(), &sid).into()), false)
            }
        };
        let flush =
            !matches!(self, SlowConsumer | SlowConsumerWriteDeadline | ReadError | WriteError);
        Answer { err, close, flush }
    }

    /// nats-server's name for why a client closed for this cause (its `ClosedState`): the end
    /// of the `Client connection closed: …` log line and the `/connz` `reason`. `None` for the
    /// causes that keep the link open.
    pub fn closed_state(&self) -> Option<&'static str> {
        use ClientError::*;
        Some(match self {
            Parse(ParseError::UnknownOp | ParseError::BadArgs(_))
            | BadConnect
            | BadClientInfo
            | HeadersNotNegotiated => "Protocol Violation",
            Parse(ParseError::MaxControlLine) => "Maximum Control Line Exceeded",
            Parse(ParseError::MaxPayload) => "Maximum Message Payload Exceeded",
            AuthorizationViolation => "Authentication Failure",
            AuthenticationTimeout => "Authentication Timeout",
            StaleConnection => "Stale Connection",
            InvalidClientProtocol => "Bad Client Protocol Version",
            NoRespondersRequiresHeaders => "No Responders Requires Headers",
            MaxConnectionsExceeded => "Maximum Connections Exceeded",
            MaxAccountConnectionsExceeded => "Maximum Account Connections Exceeded",
            ClientSentError => "Parse Error",
            SlowConsumer => "Slow Consumer (Pending Bytes)",
            SlowConsumerWriteDeadline => "Slow Consumer (Write Deadline)",
            ReadError => "Read Error",
            WriteError => "Write Error",
            ServerShutdown => "Server Shutdown",
            ClientClosed => "Client Closed",
            TlsHandshake => "TLS Handshake Failure",
            InvalidPublishSubject
            | InvalidSubject
            | PublishViolation(_)
            | ReplyViolation(_)
            | SubscribeViolation { .. }
            | SubscriptionRevoked { .. }
            | MaxSubscriptionsExceeded => return None,
        })
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ClientError::*;
        match self {
            Parse(ParseError::BadArgs(op)) => write!(f, "malformed {op} arguments"),
            BadConnect => f.write_str("malformed CONNECT JSON"),
            BadClientInfo => f.write_str("malformed client INFO JSON"),
            HeadersNotNegotiated => f.write_str("HPUB without headers negotiated"),
            ClientSentError => f.write_str("client sent -ERR"),
            SlowConsumer => f.write_str("slow consumer"),
            SlowConsumerWriteDeadline => f.write_str("slow consumer (write deadline)"),
            ReadError => f.write_str("read error"),
            WriteError => f.write_str("write error"),
            ServerShutdown => f.write_str("server shutdown"),
            ClientClosed => f.write_str("Client Closed"),
            TlsHandshake => f.write_str("TLS Handshake Failure"),
            other => match other.answer().err {
                Some(text) => f.write_str(&text),
                None => write!(f, "{other:?}"),
            },
        }
    }
}

/// `Permissions Violation for Subscription to "s"[ using queue "q"]{suffix}`.
fn subscription_violation(subject: &[u8], queue: Option<&[u8]>, suffix: &str) -> String {
    let mut text = format!("Permissions Violation for Subscription to {}", GoQuoted(subject));
    if let Some(q) = queue {
        text.push_str(&format!(" using queue {}", GoQuoted(q)));
    }
    text.push_str(suffix);
    text
}

/// Formats bytes as Go's `%q` does for the strings nats-server quotes in error texts (and
/// log lines).
pub struct GoQuoted<'a>(pub &'a [u8]);

impl fmt::Display for GoQuoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '"' => f.write_str("\\\"")?,
                    '\\' => f.write_str("\\\\")?,
                    '\n' => f.write_str("\\n")?,
                    '\r' => f.write_str("\\r")?,
                    '\t' => f.write_str("\\t")?,
                    '\x07' => f.write_str("\\a")?,
                    '\x08' => f.write_str("\\b")?,
                    '\x0c' => f.write_str("\\f")?,
                    '\x0b' => f.write_str("\\v")?,
                    c if (c as u32) < 0x80 && c.is_control() => write!(f, "\\x{:02x}", c as u32)?,
                    c if c.is_control() => write!(f, "\\u{:04x}", c as u32)?,
                    c => write!(f, "{c}")?,
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_texts_quote_like_go() {
        let e = ClientError::PublishViolation(Bytes::from_static(b"_GR_.a\"b"));
        assert_eq!(
            e.answer().err.as_deref(),
            Some(r#"Permissions Violation for Publish to "_GR_.a\"b""#)
        );
        assert!(!e.answer().close);
    }

    #[test]
    fn subscription_texts() {
        let s = Bytes::from_static(b"foo.*");
        let q = Some(Bytes::from_static(b"q"));
        let text = |e: ClientError| e.answer().err.unwrap().into_owned();
        assert_eq!(
            text(ClientError::SubscribeViolation { subject: s.clone(), queue: None }),
            r#"Permissions Violation for Subscription to "foo.*""#
        );
        assert_eq!(
            text(ClientError::SubscribeViolation { subject: s.clone(), queue: q.clone() }),
            r#"Permissions Violation for Subscription to "foo.*" using queue "q""#
        );
        let sid = Bytes::from_static(b"7");
        assert_eq!(
            text(ClientError::SubscriptionRevoked { subject: s, queue: q, sid }),
            r#"Permissions Violation for Subscription to "foo.*" using queue "q" (sid "7")"#
        );
    }

    #[test]
    fn slow_consumer_closes_without_flush() {
        let a = ClientError::SlowConsumer.answer();
        assert_eq!((a.err, a.close, a.flush), (None, true, false));
    }

    #[test]
    fn parse_errors_close() {
        for (e, text) in [
            (ParseError::UnknownOp, Some("Unknown Protocol Operation")),
            (ParseError::MaxControlLine, Some("maximum control line exceeded")),
            (ParseError::MaxPayload, Some("Maximum Payload Violation")),
            (ParseError::BadArgs("PUB"), None),
        ] {
            let a = ClientError::Parse(e).answer();
            assert_eq!(a.err.as_deref(), text);
            assert!(a.close && a.flush);
        }
    }
}

/// Why a gateway link answers with `-ERR` or closes (`shared/docs/gateway-protocol.md` §2.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayError {
    /// The inbound peer's first op was not CONNECT, or its credentials are wrong.
    AuthorizationViolation,
    /// No CONNECT within the gateway auth timeout.
    AuthenticationTimeout,
    /// A CONNECT without a `gateway` field: a client or route reached the gateway port.
    NotAGatewayConnect,
    /// `reject_unknown_cluster` refused a gateway we do not know; carries our own name.
    RejectedUnknown(String),
    /// The peer's INFO has no `gateway` field: we dialled a client or route port; carries the
    /// remote name we wanted.
    WrongPort(String),
    /// The peer's INFO names another gateway than the one we dialled.
    WrongName {
        /// Our gateway name.
        ours: String,
        /// The name we dialled.
        wanted: String,
        /// The name the peer gave.
        got: String,
    },
    /// We already have an outbound connection to this gateway.
    DuplicateOutbound,
    /// The peer's `server_name` equals ours.
    DuplicateServerName(String),
    /// The peer sent an op that is not allowed on this side of the link (e.g. `RS+` on an
    /// inbound connection, `RMSG` on an outbound one); carries the op.
    ProtocolViolation(&'static str),
    /// An interest-mode command INFO without its account payload (`start` or `complete`).
    MissingCommandAccount(&'static str),
    /// The bytes do not parse.
    Parse(crate::proto::gateway::GatewayParseError),
    /// The peer sent `-ERR`.
    PeerError(String),
    /// Too many PINGs unanswered.
    StaleConnection,
    /// No INFO from the acceptor in time after dialling.
    NoInfo,
    /// A configuration reload removed the remote this outbound link goes to.
    Removed,
    /// The TLS handshake failed, timed out, or the peer's certificate is not pinned.
    TlsHandshake,
}

impl GatewayError {
    /// The wire answer: the `-ERR` text sent before closing, if any. A gateway link always
    /// closes, after flushing what is queued. This and [`GatewayError::closed_state`] are the
    /// only gateway cause→wire table (`shared/docs/gateway-protocol.md` §2.5, §3).
    pub fn answer(&self) -> Answer {
        use crate::proto::gateway::GatewayParseError as P;
        use GatewayError::*;
        let err: Option<Cow<'static, str>> = match self {
            AuthorizationViolation => Some("Authorization Violation".into()),
            AuthenticationTimeout => Some("Authentication Timeout".into()),
            NotAGatewayConnect => Some("attempted to connect to gateway port".into()),
            RejectedUnknown(ours) => Some(format!("Connection to gateway \"{ours}\" rejected").into()),
            WrongPort(wanted) => {
                Some(format!("Attempt to connect to gateway \"{wanted}\" using wrong port").into())
            }
            WrongName { ours, wanted, got } => Some(
                format!(
                    "Connection from \"{ours}\" rejected, wanted to connect to \"{wanted}\", this is \"{got}\""
                )
                .into(),
            ),
            MissingCommandAccount(which) => {
                Some(format!("Account absent from receive-all-subscriptions-{which} command").into())
            }
            Parse(P::MaxControlLine) => Some("maximum control line exceeded".into()),
            Parse(P::UnknownOp) => Some("Unknown Protocol Operation".into()),
            Parse(P::PayloadTooLarge) => Some("Maximum Payload Violation".into()),
            StaleConnection => Some("Stale Connection".into()),
            DuplicateOutbound
            | DuplicateServerName(_)
            | ProtocolViolation(_)
            | Parse(P::BadArgs(_))
            | PeerError(_)
            | NoInfo
            | Removed
            | TlsHandshake => None,
        };
        Answer { err, close: true, flush: true }
    }

    /// The closed-connection reason nats-server reports for this error.
    pub fn closed_state(&self) -> &'static str {
        use crate::proto::gateway::GatewayParseError as P;
        use GatewayError::*;
        match self {
            AuthorizationViolation => "Authentication Failure",
            AuthenticationTimeout => "Authentication Timeout",
            NotAGatewayConnect | WrongPort(_) => "Incorrect Port",
            RejectedUnknown(_) | WrongName { .. } | DuplicateOutbound => "Wrong Gateway",
            DuplicateServerName(_) => "Duplicate Server Name",
            ProtocolViolation(_) | MissingCommandAccount(_) => "Protocol Violation",
            Parse(P::UnknownOp | P::BadArgs(_)) => "Protocol Violation",
            Parse(P::MaxControlLine) => "Maximum Control Line Exceeded",
            Parse(P::PayloadTooLarge) => "Maximum Message Payload Exceeded",
            // nats-server closes with `ParseError` when the peer sends `-ERR`.
            PeerError(_) => "Parse Error",
            StaleConnection | NoInfo => "Stale Connection",
            // nats-server's name for a route a reload removed is "Route Removed".
            Removed => "Gateway Removed",
            TlsHandshake => "TLS Handshake Failure",
        }
    }
}

/// Why a route link answers with `-ERR` or closes (`shared/docs/route-protocol.md` §2.6,
/// §3.2). [`RouteError::answer`] and [`RouteError::closed_state`] are the one route
/// cause→wire table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// The first op was not CONNECT, or the credentials are wrong.
    AuthorizationViolation,
    /// No CONNECT within the cluster auth timeout.
    AuthenticationTimeout,
    /// A CONNECT with `lang`: a client reached the route port.
    NotARouteConnect,
    /// A CONNECT with `gateway`: a gateway reached the route port; carries its name.
    GatewayOnRoutePort(String),
    /// CONNECT names another cluster.
    ClusterNameMismatch {
        /// The peer's cluster name.
        theirs: String,
        /// Ours.
        ours: String,
    },
    /// An INFO names another cluster (closed without `-ERR`).
    ClusterNameConflict,
    /// The INFO is our own (we dialled ourselves), or the peer already has a route.
    DuplicateRoute,
    /// The peer's `server_name` equals ours.
    DuplicateServerName(String),
    /// A route pinned to an account from a peer we do not pool with.
    PinnedWithoutPool(String),
    /// An accepted route asked for a pool index outside the pool.
    InvalidPoolIndex {
        /// The index asked for.
        index: i64,
        /// The peer's pool size.
        size: i64,
    },
    /// The acceptor of a route we dialled named a pool index.
    PoolIndexSet(i64),
    /// An op the handshake does not allow, or an INFO that does not decode; carries what.
    ProtocolViolation(&'static str),
    /// The bytes do not parse.
    Parse(crate::proto::route::RouteParseError),
    /// The peer sent `-ERR`.
    PeerError(String),
    /// Too many PINGs unanswered.
    StaleConnection,
    /// No INFO from the peer in time after dialling.
    NoInfo,
    /// A reload removed the configured route this link was dialled for.
    Removed,
    /// The TLS handshake failed or timed out.
    TlsHandshake,
}

impl RouteError {
    /// The wire answer: the `-ERR` text sent before closing, if any. A route always closes,
    /// after flushing what is queued.
    pub fn answer(&self) -> Answer {
        use crate::proto::route::RouteParseError as P;
        use RouteError::*;
        let err: Option<Cow<'static, str>> = match self {
            AuthorizationViolation => Some("Authorization Violation".into()),
            AuthenticationTimeout => Some("Authentication Timeout".into()),
            NotARouteConnect => Some("attempted to connect to route port".into()),
            GatewayOnRoutePort(name) => {
                Some(format!("Rejecting connection from gateway \"{name}\" on the Route port").into())
            }
            ClusterNameMismatch { theirs, ours } => Some(
                format!("Rejecting connection, cluster name \"{theirs}\" does not match \"{ours}\"")
                    .into(),
            ),
            PinnedWithoutPool(account) => Some(
                format!(
                    "Not possible to have a dedicated route for account \"{account}\" between those servers"
                )
                .into(),
            ),
            InvalidPoolIndex { index, size } => {
                Some(format!("Invalid route pool index: {index} - pool size is {size}").into())
            }
            PoolIndexSet(index) => {
                Some(format!("Route pool index should not be set but is set to {index}").into())
            }
            Parse(P::UnknownOp) => Some("Unknown Protocol Operation".into()),
            Parse(P::MaxControlLine) => Some("maximum control line exceeded".into()),
            Parse(P::PayloadTooLarge) => Some("Maximum Payload Violation".into()),
            StaleConnection => Some("Stale Connection".into()),
            ClusterNameConflict
            | DuplicateRoute
            | DuplicateServerName(_)
            | ProtocolViolation(_)
            | Parse(P::BadArgs(_))
            | PeerError(_)
            | NoInfo
            | Removed
            | TlsHandshake => None,
        };
        Answer { err, close: true, flush: true }
    }

    /// The closed-connection reason nats-server reports for this error.
    pub fn closed_state(&self) -> &'static str {
        use crate::proto::route::RouteParseError as P;
        use RouteError::*;
        match self {
            AuthorizationViolation => "Authentication Failure",
            AuthenticationTimeout => "Authentication Timeout",
            NotARouteConnect => "Incorrect Port",
            GatewayOnRoutePort(_) => "Wrong Gateway",
            ClusterNameMismatch { .. } | ClusterNameConflict => "Cluster Name Conflict",
            DuplicateRoute => "Duplicate Route",
            DuplicateServerName(_) => "Duplicate Server Name",
            PinnedWithoutPool(_) | InvalidPoolIndex { .. } | PoolIndexSet(_) => {
                "Protocol Violation"
            }
            ProtocolViolation(_) => "Protocol Violation",
            Parse(P::UnknownOp | P::BadArgs(_)) => "Protocol Violation",
            Parse(P::MaxControlLine) => "Maximum Control Line Exceeded",
            Parse(P::PayloadTooLarge) => "Maximum Message Payload Exceeded",
            PeerError(_) => "Parse Error",
            StaleConnection | NoInfo => "Stale Connection",
            Removed => "Route Removed",
            TlsHandshake => "TLS Handshake Failure",
        }
    }
}

/// Why the driver asks the node to close a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriverClose {
    /// The server is shutting down: flush, then close.
    Shutdown,
    /// A client's write missed the write deadline, or a gateway's made no progress in it.
    WriteDeadline,
    /// The peer closed its side (EOF): flush what is queued, then close.
    PeerClosed,
    /// A read failed (e.g. connection reset): close without flushing.
    ReadError,
    /// A write failed: close without flushing.
    WriteError,
}

/// Why a link closed, as reported in [`crate::node::Event::Close`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// A client link.
    Client(ClientError),
    /// A gateway link.
    Gateway(GatewayError),
    /// A route link.
    Route(RouteError),
    /// The server is shutting down.
    ServerShutdown,
    /// A write missed the write deadline, or a client passed `max_pending`.
    SlowConsumer,
    /// The peer closed the connection.
    PeerClosed,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Client(e) => write!(f, "{e}"),
            CloseReason::Gateway(e) => f.write_str(e.closed_state()),
            CloseReason::Route(e) => f.write_str(e.closed_state()),
            CloseReason::ServerShutdown => f.write_str("Server Shutdown"),
            CloseReason::SlowConsumer => f.write_str("Slow Consumer (Write Deadline)"),
            CloseReason::PeerClosed => f.write_str("Client Closed"),
        }
    }
}
