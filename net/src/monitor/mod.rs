//! The HTTP monitor: nats-server's monitoring endpoints, with the same JSON, so operators' tools
//! can read Strait as they read nats-server 2.15.1.
//!
//! | path | body |
//! |---|---|
//! | `/` | a small HTML index of the endpoints |
//! | `/varz` | [`Varz`] |
//! | `/connz` | [`Connz`] ([`ConnzOptions`]) |
//! | `/subsz`, `/subscriptionsz` | [`Subsz`] ([`SubszOptions`]) |
//! | `/routez` | [`Routez`] ([`RoutezOptions`]) |
//! | `/gatewayz` | [`Gatewayz`] ([`GatewayzOptions`]) |
//! | `/healthz` | [`Healthz`] ([`HealthzOptions`]), compact JSON, HTTP status from the health |
//!
//! JSON bodies are indented as Go's `json.MarshalIndent(v, "", "  ")` and carry
//! `Content-Type: application/json` and `Access-Control-Allow-Origin: *`. A bad query parameter
//! answers 400 with nats-server's plain-text message ([`BadRequest`]); an unknown path answers
//! Go's `404 page not found`. As in nats-server, any method is answered (HEAD without a body).
//!
//! The data comes from a [`MonitorSource`] the owner implements over the node's state; this
//! module only parses queries, counts requests (`http_req_stats`) and formats.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, error};

mod connz;
pub mod format;
mod gatewayz;
mod healthz;
mod query;
mod routez;
pub(crate) mod source;
mod subsz;
mod varz;

pub use connz::{ConnInfo, ConnState, Connz, SortOpt, SubDetail, TlsPeerCert};
pub use format::Timestamp;
pub use gatewayz::{AccountGatewayz, Gatewayz, InterestMode, RemoteGatewayz};
pub use healthz::{Healthz, HealthzError, HealthzErrorType};
pub use query::{
    BadRequest, ConnzOptions, DEFAULT_CONN_LIST_SIZE, DEFAULT_SUB_LIST_SIZE, GatewayzOptions,
    HealthzOptions, RoutezOptions, SubsOption, SubszOptions,
};
pub use routez::{RouteInfo, Routez};
pub use subsz::{SublistStats, Subsz};
pub use varz::{
    ClusterOptsVarz, ConnKindStats, DiskIoWaitStats, EmptyObject, GatewayOptsVarz,
    RemoteGatewayOptsVarz, Varz,
};

/// Where the monitor's data comes from: implemented by the owner over the node's state.
///
/// Each call answers one request; it runs on the connection's task, so it must not block for
/// long (take the node lock, copy, release). Options arrive parsed and normalized; rejecting bad
/// ones is done before the call.
pub trait MonitorSource: Send + Sync + 'static {
    /// `/varz`. `http_req_stats` is overwritten by [`serve`].
    fn varz(&self) -> Varz;
    /// `/connz`.
    fn connz(&self, opts: &ConnzOptions) -> Connz;
    /// `/subsz` and `/subscriptionsz`.
    fn subsz(&self, opts: &SubszOptions) -> Subsz;
    /// `/routez`.
    fn routez(&self, opts: &RoutezOptions) -> Routez;
    /// `/gatewayz`.
    fn gatewayz(&self, opts: &GatewayzOptions) -> Gatewayz;
    /// `/healthz` in the non-detailed form; [`serve`] converts it for `details=true`.
    fn healthz(&self) -> Healthz;
}

/// nats-server's `ReadHeaderTimeout`: a connection that has not sent a complete request head
/// this long after it opened (or after its previous response) is closed, so half-sent requests
/// cannot hold connections forever.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long shutdown waits for in-flight requests before dropping their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// The first pause after an accept error (Go's `http.Server`).
const MIN_ACCEPT_BACKOFF: Duration = Duration::from_millis(5);
/// Longest pause after repeated accept errors (descriptor exhaustion, …).
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Serves the monitor on `listener` until `shutdown` completes.
///
/// Every connection is served by its own task, and there is no cap on how many are open (as
/// with nats-server's Go `http.Server`): a cap would let a few hundred idle or half-sent
/// connections starve `/healthz`, and a liveness probe would then kill a healthy server. What
/// bounds them is [`HEADER_READ_TIMEOUT`] and the process's descriptor limit; when that limit is
/// reached, accepting pauses with back-off and resumes as connections close.
///
/// On shutdown it stops accepting, asks open connections to finish their current request and
/// close, waits for them at most a short grace period, then returns. Accept errors are logged
/// and retried with back-off, so the result is `Ok` unless the runtime fails.
pub async fn serve<F>(
    listener: TcpListener,
    source: Arc<dyn MonitorSource>,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()>,
{
    let shared = Arc::new(Shared { source, req_stats: Mutex::new(BTreeMap::new()) });
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    let mut backoff = MIN_ACCEPT_BACKOFF;
    tokio::pin!(shutdown);

    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
            // Reap finished connection tasks so the set stays as small as the open connections.
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = MIN_ACCEPT_BACKOFF;
                debug!(%peer, "monitor connection");
                conns.spawn(serve_connection(stream, Arc::clone(&shared), closing_rx.clone()));
            }
            Err(e) => {
                // Go's `http.Server` words, behind nats-server's "monitoring: " prefix.
                error!("monitoring: Accept error: {e}; retrying in {}", go_millis(backoff));
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
            }
        }
    }

    drop(listener);
    // Receivers may all be gone already; nothing to tell then.
    let _ = closing_tx.send(true);
    let drained = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drained).await.is_err() {
        debug!("monitor connections still open after the grace period; dropping them");
    }
    conns.abort_all();
    Ok(())
}

/// A back-off pause as Go prints a `time.Duration` of whole milliseconds (`5ms`, `1s`).
fn go_millis(d: Duration) -> String {
    let ms = d.as_millis();
    if ms >= 1000 && ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// State shared by every connection of one [`serve`].
struct Shared {
    source: Arc<dyn MonitorSource>,
    /// nats-server's `httpReqStats`: requests per endpoint path.
    req_stats: Mutex<BTreeMap<String, u64>>,
}

impl Shared {
    fn count(&self, path: &str) {
        // A poisoned lock only means a panic elsewhere mid-increment; the map is still usable.
        let mut stats = self.req_stats.lock().unwrap_or_else(|e| e.into_inner());
        *stats.entry(path.to_owned()).or_insert(0) += 1;
    }

    fn req_stats(&self) -> BTreeMap<String, u64> {
        self.req_stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    mut closing: watch::Receiver<bool>,
) {
    let service = service_fn(move |req: Request<Incoming>| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(respond(&shared, &req)) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        biased;
        result = conn.as_mut() => result,
        // Map the guard `wait_for` returns away: it must not live across the await below.
        () = async { drop(closing.wait_for(|&c| c).await) } => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        debug!(error = %e, "monitor connection ended with an error");
    }
}

/// Routes one request. nats-server counts a request in `http_req_stats` at slightly different
/// points per handler (`/connz` only once its parameters decode); this follows it.
fn respond(shared: &Shared, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let query = req.uri().query().unwrap_or("");
    let source = &*shared.source;
    match req.uri().path() {
        "/" => {
            shared.count("/");
            html(INDEX_HTML)
        }
        "/varz" => {
            shared.count("/varz");
            let mut varz = source.varz();
            varz.http_req_stats = shared.req_stats();
            json(StatusCode::OK, &varz, true)
        }
        "/connz" => match ConnzOptions::parse(query) {
            Ok(opts) => {
                shared.count("/connz");
                json(StatusCode::OK, &source.connz(&opts), true)
            }
            Err(e) => bad_request(&e),
        },
        "/subsz" | "/subscriptionsz" => {
            shared.count("/subsz");
            match SubszOptions::parse(query) {
                Ok(opts) => json(StatusCode::OK, &source.subsz(&opts), true),
                Err(e) => bad_request(&e),
            }
        }
        // As `HandleRoutez`: a bad `subs` is answered before the request is counted.
        "/routez" => match RoutezOptions::parse(query) {
            Ok(opts) => {
                shared.count("/routez");
                json(StatusCode::OK, &source.routez(&opts), true)
            }
            Err(e) => bad_request(&e),
        },
        "/gatewayz" => {
            shared.count("/gatewayz");
            match GatewayzOptions::parse(query) {
                Ok(opts) => json(StatusCode::OK, &source.gatewayz(&opts), true),
                Err(e) => bad_request(&e),
            }
        }
        "/healthz" => {
            shared.count("/healthz");
            match HealthzOptions::parse(query) {
                Ok(opts) => {
                    let health = match healthz_request_error(&opts) {
                        Some(bad) => bad,
                        None => source.healthz(),
                    };
                    let health = if opts.details { health.into_details() } else { health };
                    let status = StatusCode::from_u16(health.status_code).unwrap_or(StatusCode::OK);
                    json(status, &health, false)
                }
                Err(e) => bad_request(&e),
            }
        }
        _ => not_found(),
    }
}

/// nats-server's first `/healthz` checks, made before looking at the server: a stream needs an
/// account, a consumer needs a stream (HTTP 400).
fn healthz_request_error(opts: &HealthzOptions) -> Option<Healthz> {
    let missing = if opts.account.is_none() && opts.stream.is_some() {
        "\"account\" must not be empty when checking stream health"
    } else if opts.stream.is_none() && opts.consumer.is_some() {
        "\"stream\" must not be empty when checking consumer health"
    } else {
        return None;
    };
    Some(Healthz::error(400, HealthzErrorType::BadRequest, missing))
}

fn json<T: serde::Serialize>(status: StatusCode, value: &T, pretty: bool) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(format::to_go_json(value, pretty))));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    resp
}

/// nats-server writes the message without setting a type; Go sniffs it as plain text.
fn bad_request(err: &BadRequest) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(err.message().to_owned())));
    *resp.status_mut() = StatusCode::BAD_REQUEST;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    resp
}

/// Go's `http.NotFound`.
fn not_found() -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(b"404 page not found\n")));
    *resp.status_mut() = StatusCode::NOT_FOUND;
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}

fn html(body: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    resp
}

/// The root page: like nats-server's, a list of relative links to the endpoints.
const INDEX_HTML: &str = r#"<html lang="en">
<head>
<title>Strait monitoring</title>
<style type="text/css">
  body { font-family: ui-sans-serif, system-ui, sans-serif; margin-left: 32px }
  a { display: block; margin-left: 7px; padding-bottom: 6px }
  .endpoint { font-size: 12px; color: #999; font-family: monospace }
</style>
</head>
<body>
<h1>Strait</h1>
<a href=./varz>General<span class="endpoint"> /varz</span></a>
<a href=./connz>Connections<span class="endpoint"> /connz</span></a>
<a href=./subsz>Subscriptions<span class="endpoint"> /subsz</span></a>
<a href=./routez>Routes<span class="endpoint"> /routez</span></a>
<a href=./gatewayz>Gateways<span class="endpoint"> /gatewayz</span></a>
<a href=./healthz>Health Probe<span class="endpoint"> /healthz</span></a>
</body>
</html>
"#;
