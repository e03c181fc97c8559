//! The server: accept loops for clients and gateways, a dialer for outbound gateways, and a
//! node timer, all driving one core [`Node`] behind a mutex.
//!
//! The node lock is held only while the core runs (a read batch, a timeout, a buffer swap),
//! never across an `.await`.

use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, SystemTime};

use strait_core::dial::DialKind;
use strait_core::node::{DialRequest, Event, LinkId, LogLevel, Node, NodeConfig};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, error, info, trace, warn};

use crate::conn::{self, LinkKind};
use crate::reload::{self, ReloadReceiver};
use crate::tls_setup::ServerTls;
use crate::transport::{Dialer, Listener};

/// How long one gateway dial may take (`DEFAULT_ROUTE_DIAL`).
const DIAL_TIMEOUT: Duration = Duration::from_secs(1);

/// Driver-side settings that the core does not need.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// A client write taking longer than this makes it a slow consumer (default 10 s).
    pub write_deadline: Duration,
    /// A route write making no progress for this long is stuck (`cluster.write_deadline`,
    /// default the top-level one).
    pub route_write_deadline: Duration,
    /// `cluster.write_timeout: close`: a route write that misses its deadline closes the route,
    /// as a client's does (the default retries while the write makes progress).
    pub route_write_close: bool,
    /// How long shutdown waits for connections to flush (bounded so shutdown cannot hang).
    pub shutdown_grace: Duration,
}

impl Default for DriverConfig {
    fn default() -> Self {
        Self {
            write_deadline: Duration::from_secs(10),
            route_write_deadline: Duration::from_secs(10),
            route_write_close: false,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Per-connection wake-ups, indexed by the link's slot, and what a reload needs to know of the
/// connection.
#[derive(Debug)]
pub(crate) struct ConnHandle {
    /// The link's outbox has bytes, or the link is closing: the writer should look.
    pub(crate) writer: Notify,
    /// The link is closing: the reader should stop.
    pub(crate) reader: Notify,
    /// Client or gateway.
    pub(crate) kind: LinkKind,
    /// The TLS peer's key (hex SHA-256 of its SubjectPublicKeyInfo), for `pinned_certs`
    /// changed by a reload; `None` for plaintext or a peer without a certificate.
    pub(crate) peer_key: Option<String>,
}

impl ConnHandle {
    pub(crate) fn new(kind: LinkKind, peer_key: Option<String>) -> Self {
        Self { writer: Notify::new(), reader: Notify::new(), kind, peer_key }
    }
}

/// The node and the driver's table of connection handles, under one lock.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) node: Node,
    handles: Vec<Option<(LinkId, Arc<ConnHandle>)>>,
    dials: mpsc::UnboundedSender<DialRequest>,
    node_timer: Arc<Notify>,
    /// When the configuration in force was loaded (start, then each successful reload).
    pub(crate) config_loaded: SystemTime,
}

impl State {
    pub(crate) fn register(&mut self, id: LinkId, handle: Arc<ConnHandle>) {
        let index = id.index();
        if self.handles.len() <= index {
            self.handles.resize_with(index + 1, || None);
        }
        self.handles[index] = Some((id, handle));
    }

    pub(crate) fn unregister(&mut self, id: LinkId) {
        self.node.handle_closed(id, Instant::now().into_std());
        if let Some(slot) = self.handles.get_mut(id.index())
            && slot.as_ref().is_some_and(|(held, _)| *held == id)
        {
            *slot = None;
        }
        self.dispatch();
    }

    /// Drain the node's events into wake-ups, dials and log lines. Call after every node
    /// mutation.
    pub(crate) fn dispatch(&mut self) {
        while let Some(event) = self.node.poll_event() {
            match event {
                Event::Transmit(id) => {
                    if let Some(h) = self.handle(id) {
                        h.writer.notify_one();
                    }
                }
                Event::Close { link, .. } => {
                    if let Some(h) = self.handle(link) {
                        h.writer.notify_one();
                        h.reader.notify_one();
                    }
                }
                Event::Dial(request) => {
                    // The receiver lives as long as the server; a send after shutdown is moot.
                    let _ = self.dials.send(request);
                }
                Event::Log(level, line) => match level {
                    LogLevel::Error => error!("{line}"),
                    LogLevel::Warn => warn!("{line}"),
                    LogLevel::Info => info!("{line}"),
                    LogLevel::Debug => debug!("{line}"),
                    LogLevel::Trace => trace!("{line}"),
                },
            }
        }
        if self.node.take_node_timer_changed() {
            self.node_timer.notify_one();
        }
    }

    /// Every registered connection.
    pub(crate) fn connections(&self) -> impl Iterator<Item = (LinkId, &ConnHandle)> {
        self.handles.iter().flatten().map(|(id, h)| (*id, &**h))
    }

    fn handle(&self, id: LinkId) -> Option<&ConnHandle> {
        match self.handles.get(id.index()) {
            Some(Some((held, h))) if *held == id => Some(h),
            _ => None,
        }
    }
}

/// State shared by every task of one server.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    driver: RwLock<DriverConfig>,
    pub(crate) tls: ServerTls,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a bug in core; keep serving the others.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The driver settings in force (a reload may change them; connections read them when
    /// they start).
    pub(crate) fn driver(&self) -> DriverConfig {
        self.driver.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub(crate) fn set_driver(&self, driver: DriverConfig) {
        *self.driver.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = driver;
    }
}

/// The sockets a server serves.
#[derive(Debug)]
pub struct Listeners<L> {
    /// Client connections.
    pub client: L,
    /// Inbound gateway connections, when the node has a gateway.
    pub gateway: Option<L>,
    /// Route connections from the other servers of the cluster, when the node has one.
    pub route: Option<L>,
    /// The HTTP monitor (`/varz`, `/gatewayz`, …), when enabled.
    pub monitor: Option<tokio::net::TcpListener>,
}

/// A read-only view of a running server's node (for simulations and tests).
#[derive(Clone, Debug)]
pub struct NodeHandle(Arc<Shared>);

impl NodeHandle {
    /// Call `f` with the node under the driver's lock. Only from outside the server's tasks
    /// (e.g. between simulation steps): the lock is not re-entrant.
    pub fn inspect<R>(&self, f: impl FnOnce(&Node) -> R) -> R {
        f(&self.0.lock().node)
    }
}

/// Serve until `shutdown` completes, then close every connection after flushing what is
/// queued to it (bounded by `shutdown_grace`). The configuration never changes; see
/// [`run_with`] for TLS and reloads.
pub async fn run<L: Listener, D: Dialer>(
    config: NodeConfig,
    driver: DriverConfig,
    seed: u64,
    listeners: Listeners<L>,
    dialer: D,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    run_with(config, driver, seed, listeners, dialer, shutdown, Extras::default()).await
}

/// What a server may have beyond plain transports and a fixed configuration.
pub struct Extras<O = fn(NodeHandle)> {
    /// Which listeners and remote gateways handshake TLS, and with what. The listeners and
    /// the dialer stay plain transports; the handshakes happen per connection in
    /// nats-server's order (plaintext INFO first for clients, TLS first for gateways).
    pub tls: ServerTls,
    /// Configurations to apply while running (SIGHUP in the daemon, a scheduled reload in the
    /// simulation). Dropping every sender just stops reloads.
    pub reloads: Option<ReloadReceiver>,
    /// Called once with a [`NodeHandle`] as soon as the node exists (the simulation's
    /// observer reads the node between steps).
    pub observe: Option<O>,
    /// Lame-duck requests (`SIGUSR2` in the daemon); `None`: never.
    pub lame_duck: Option<crate::lame_duck::LameDuck>,
}

impl Default for Extras {
    fn default() -> Self {
        Self { tls: ServerTls::default(), reloads: None, observe: None, lame_duck: None }
    }
}

impl<O> std::fmt::Debug for Extras<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extras")
            .field("tls", &self.tls)
            .field("reloads", &self.reloads)
            .field("observe", &self.observe.is_some())
            .field("lame_duck", &self.lame_duck)
            .finish()
    }
}

/// [`run`] with [`Extras`].
pub async fn run_with<L: Listener, D: Dialer, O: FnOnce(NodeHandle)>(
    config: NodeConfig,
    driver: DriverConfig,
    seed: u64,
    listeners: Listeners<L>,
    dialer: D,
    shutdown: impl Future<Output = ()>,
    extras: Extras<O>,
) -> io::Result<()> {
    let Extras { tls, reloads, observe, lame_duck } = extras;
    // Without reloads, a channel whose sender lives as long as the server: never ready.
    let (_keep, idle) = reload::channel();
    let mut reloads = reloads.unwrap_or(idle);
    let grace = driver.shutdown_grace;
    let (dial_tx, dial_rx) = mpsc::unbounded_channel();
    let node_timer = Arc::new(Notify::new());
    let state = State {
        node: Node::new(config, seed),
        handles: Vec::new(),
        dials: dial_tx,
        node_timer: node_timer.clone(),
        config_loaded: SystemTime::now(),
    };
    let shared = Arc::new(Shared { state: Mutex::new(state), driver: RwLock::new(driver), tls });
    if let Some(observe) = observe {
        observe(NodeHandle(shared.clone()));
    }
    {
        let mut state = shared.lock();
        state.node.start(Instant::now().into_std());
        state.dispatch();
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut background = JoinSet::new();
    background.spawn(node_timer_loop(shared.clone(), node_timer, stop_rx.clone()));
    background.spawn(dial_loop(shared.clone(), dialer, dial_rx, stop_rx.clone(), grace));

    let Listeners { client, gateway: mut gateway_listener, route: mut route_listener, monitor } =
        listeners;
    // `None` once in lame-duck mode: no client is accepted any more.
    let mut client_listener = Some(client);
    let (ldm_times, mut ldm_requests) = match lame_duck {
        Some(l) => (l.times, Some(l.requests)),
        None => (Default::default(), None),
    };
    let mut lame_duck_run = None;
    if let Some(listener) = monitor {
        let addr = listener.local_addr()?;
        let source = crate::monitor::source::NodeSource {
            shared: shared.clone(),
            http_host: addr.ip().to_string(),
            http_port: addr.port(),
            route_listen: route_listener.as_ref().and_then(|l| l.local_addr().ok()),
            started: (std::time::Instant::now(), SystemTime::now()),
        };
        let mut stop = stop_rx.clone();
        background.spawn(async move {
            let stopped = async move {
                let _ = stop.changed().await;
            };
            if let Err(e) = crate::monitor::serve(listener, Arc::new(source), stopped).await {
                error!("monitor: {e}");
            }
        });
    }
    let mut tasks = JoinSet::new();
    let mut client_pace = AcceptPace::new("Client");
    let mut gateway_pace = AcceptPace::new("Gateway");
    let mut route_pace = AcceptPace::new("Route");
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(request) = reloads.recv() => reload::apply(&shared, request),
            Some(()) = recv_optional(&mut ldm_requests) => {
                // A second request while in lame-duck mode is ignored, as in nats-server.
                if lame_duck_run.is_none() {
                    client_listener = None;
                    let run = crate::lame_duck::run(shared.clone(), ldm_times);
                    lame_duck_run = Some(Box::pin(run));
                }
            }
            () = finish_optional(&mut lame_duck_run) => {
                info!("Initiating Shutdown...");
                break;
            }
            accepted = accept_optional(&mut client_pace, &mut client_listener) => match accepted {
                Ok((conn, peer)) => {
                    client_pace.succeeded();
                    tasks.spawn(conn::accept(shared.clone(), conn, peer, LinkKind::Client));
                }
                Err(e) => client_pace.failed(&e),
            },
            accepted = accept_optional(&mut route_pace, &mut route_listener) => match accepted {
                Ok((conn, peer)) => {
                    route_pace.succeeded();
                    tasks.spawn(conn::accept(shared.clone(), conn, peer, LinkKind::Route));
                }
                Err(e) => route_pace.failed(&e),
            },
            accepted = accept_optional(&mut gateway_pace, &mut gateway_listener) => match accepted {
                Ok((conn, peer)) => {
                    gateway_pace.succeeded();
                    tasks.spawn(conn::accept(shared.clone(), conn, peer, LinkKind::Gateway));
                }
                Err(e) => gateway_pace.failed(&e),
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    drop(client_listener);
    drop(gateway_listener);
    drop(route_listener);
    {
        let mut state = shared.lock();
        state.node.shut_down();
        state.dispatch();
    }
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(grace, async {
        while tasks.join_next().await.is_some() {}
        while background.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        info!("Shutdown grace period over; closing remaining connections");
        tasks.shutdown().await;
        background.shutdown().await;
    }
    Ok(())
}

/// The next request of an optional channel; pending forever without one.
async fn recv_optional<T>(rx: &mut Option<mpsc::UnboundedReceiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Completes when the optional future does; pending forever without one.
async fn finish_optional<F: Future<Output = ()> + Unpin>(f: &mut Option<F>) {
    match f {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

async fn accept_optional<L: Listener>(
    pace: &mut AcceptPace,
    listener: &mut Option<L>,
) -> io::Result<(L::Conn, std::net::SocketAddr)> {
    match listener {
        Some(l) => pace.accept(l).await,
        None => std::future::pending().await,
    }
}

/// The first pause after an accept error (nats-server's `ACCEPT_MIN_SLEEP`).
const ACCEPT_MIN_PAUSE: Duration = Duration::from_millis(10);
/// The longest pause after repeated accept errors (nats-server's `ACCEPT_MAX_SLEEP`).
const ACCEPT_MAX_PAUSE: Duration = Duration::from_secs(1);

/// Paces one accept loop after errors. An accept error (usually EMFILE: out of descriptors)
/// tends to repeat at once, so retrying immediately would spin; the listener instead rests
/// for a pause that doubles with each error in a row, up to a second, and is reset by a
/// success. Only this listener rests: the loop keeps serving shutdown, reloads and the other
/// listener meanwhile.
struct AcceptPace {
    /// `Client` or `Gateway`, as nats-server names its accept loops in logs.
    name: &'static str,
    /// The pause after the next error.
    pause: Duration,
    /// No accept before this instant.
    resume_at: Option<Instant>,
}

impl AcceptPace {
    fn new(name: &'static str) -> Self {
        Self { name, pause: ACCEPT_MIN_PAUSE, resume_at: None }
    }

    /// Waits out a pending pause, then accepts. Cancel-safe: a dropped call leaves the pause
    /// (an absolute instant) for the next one.
    async fn accept<L: Listener>(
        &mut self,
        listener: &mut L,
    ) -> io::Result<(L::Conn, std::net::SocketAddr)> {
        if let Some(at) = self.resume_at {
            tokio::time::sleep_until(at).await;
            self.resume_at = None;
        }
        listener.accept().await
    }

    fn succeeded(&mut self) {
        self.pause = ACCEPT_MIN_PAUSE;
    }

    fn failed(&mut self, e: &io::Error) {
        // nats-server's words for the errors it retries; it retries only "temporary" ones and
        // loops at once on others, we pause on every error so none can spin.
        error!("Temporary {} Accept Error({e}), sleeping {}ms", self.name, self.pause.as_millis());
        self.resume_at = Some(Instant::now() + self.pause);
        self.pause = (self.pause * 2).min(ACCEPT_MAX_PAUSE);
    }
}

/// Sleeps until the node's next deadline (gateway dial rounds) and hands it the time.
async fn node_timer_loop(
    shared: Arc<Shared>,
    changed: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let deadline = shared.lock().node.poll_node_timeout().map(Instant::from_std);
        tokio::select! {
            biased;
            _ = stop.changed() => return,
            () = changed.notified() => {}
            () = conn::sleep(deadline) => {
                let mut state = shared.lock();
                state.node.handle_node_timeout(Instant::now().into_std());
                state.dispatch();
            }
        }
    }
}

/// Makes the dials the node asks for, and runs the connections they produce.
/// A dial failure in Go's words, as nats-server logs it: `dial tcp 127.0.0.1:4222: connect:
/// connection refused` (the OS text without Rust's ` (os error N)` and with Go's lower-case
/// first letter). Errors without an OS code (name resolution) keep their own text.
fn go_dial_error(host: &str, port: u16, e: &io::Error) -> String {
    let Some(code) = e.raw_os_error() else {
        return e.to_string();
    };
    let text = e.to_string();
    let text = text.strip_suffix(&format!(" (os error {code})")).unwrap_or(&text);
    let mut chars = text.chars();
    let text: String = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    format!("dial tcp {}: connect: {text}", go_host_port(host, port))
}

/// `host:port` as Go's `net.JoinHostPort` prints it (IPv6 literals in brackets).
fn go_host_port(host: &str, port: u16) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

async fn dial_loop<D: Dialer>(
    shared: Arc<Shared>,
    dialer: D,
    mut requests: mpsc::UnboundedReceiver<DialRequest>,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let dialer = Arc::new(dialer);
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            request = requests.recv() => {
                let Some(request) = request else { break };
                let (shared, dialer) = (shared.clone(), dialer.clone());
                tasks.spawn(async move {
                    let url = &request.url;
                    let result = match tokio::time::timeout(DIAL_TIMEOUT, dialer.dial(&url.host, url.port)).await {
                        Ok(Ok((conn, peer))) => Ok((conn, peer)),
                        Ok(Err(e)) => Err(go_dial_error(&url.host, url.port, &e)),
                        Err(_) => Err(format!("dial tcp {}: i/o timeout", go_host_port(&url.host, url.port))),
                    };
                    match result {
                        Ok((conn, peer)) => {
                            let id = {
                                let mut state = shared.lock();
                                let id = state.node.handle_dial(Instant::now().into_std(), request.id, Ok(peer));
                                state.dispatch();
                                id
                            };
                            let Some(id) = id else { return };
                            let kind = match request.kind {
                                DialKind::Route => LinkKind::Route,
                                DialKind::Gateway => LinkKind::Gateway,
                            };
                            match crate::conn_tls::for_dial(&shared, kind, &request.remote) {
                                None => conn::serve(shared, conn, id, kind, None).await,
                                Some(state) => {
                                    let link = (kind, request.remote.as_str());
                                    let tls = crate::conn_tls::connect(&shared, conn, id, link, &request.url.host, &state).await;
                                    if let Ok(tls) = tls {
                                        let key = tls.peer().map(|p| p.spki_sha256.clone());
                                        conn::serve(shared, tls, id, kind, key).await;
                                    }
                                }
                            }
                        }
                        Err(reason) => {
                            let mut state = shared.lock();
                            state.node.handle_dial(Instant::now().into_std(), request.id, Err(reason));
                            state.dispatch();
                        }
                    }
                });
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    let _ = tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
}
