//! Configuration reload: the channel a running server takes new configurations from, what the
//! server does with one, and the daemon's file reload (SIGHUP, `strait --signal reload`).
//!
//! * [`channel`] pairs a [`ReloadSender`] with the [`ReloadReceiver`] given to
//!   [`run_with`](crate::server::run_with). Anything holding the sender (the
//!   daemon's [`Reloader`], a simulation schedule, a test) applies a [`NodeConfig`] and a
//!   [`DriverConfig`] to the running server and gets the core's verdict back.
//! * [`Reloader`] is the daemon's side: it reads the `-c` file again, lets command-line flags
//!   override it as at start, refuses what nats-server refuses (`config reload not supported
//!   for …`), applies logging changes, and logs `Reloaded server configuration` or
//!   `Failed to reload server configuration: …`, as nats-server does.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use strait_conf::{Change, Options};
use strait_core::node::{LinkId, NodeConfig, ReloadError, ReloadSummary};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{error, info};

use crate::cli::Args;
use crate::conn::LinkKind;
use crate::logging::LogControl;
use crate::server::{DriverConfig, Shared};
use crate::setup;
use crate::tls_setup::{ServerTls, StagedTls};

/// How long a reload waits for the server to answer (it answers at once unless it stopped).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// One configuration for a running server to apply.
#[derive(Debug)]
pub struct ReloadRequest {
    /// The new node configuration (client port and gateway advertise as bound).
    pub node: NodeConfig,
    /// The new driver settings.
    pub driver: DriverConfig,
    /// Reloaded TLS blocks, used from the moment the node accepts the configuration.
    pub tls: Option<StagedTls>,
    /// Where the verdict goes.
    pub done: oneshot::Sender<Result<ReloadSummary, ReloadError>>,
}

/// Why a reload did not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReloadFailure {
    /// The node refused the configuration; the old one stays in force.
    Refused(ReloadError),
    /// The server is not running (any more).
    Stopped,
}

impl std::fmt::Display for ReloadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReloadFailure::Refused(e) => write!(f, "{e}"),
            ReloadFailure::Stopped => f.write_str("the server is not running"),
        }
    }
}

/// Sends configurations to a running server. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ReloadSender(mpsc::UnboundedSender<ReloadRequest>);

/// The server's end of [`channel`]; give it to
/// [`run_with`](crate::server::run_with).
#[derive(Debug)]
pub struct ReloadReceiver(Option<mpsc::UnboundedReceiver<ReloadRequest>>);

/// A connected sender and receiver.
pub fn channel() -> (ReloadSender, ReloadReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    (ReloadSender(tx), ReloadReceiver(Some(rx)))
}

impl ReloadSender {
    /// Apply `node` and `driver` to the running server and wait for its verdict (bounded).
    pub async fn reload(
        &self,
        node: NodeConfig,
        driver: DriverConfig,
    ) -> Result<ReloadSummary, ReloadFailure> {
        self.reload_with_tls(node, driver, None).await
    }

    /// [`ReloadSender::reload`], also switching new handshakes to `tls` (built with
    /// [`ServerTls::prepare`](crate::tls_setup::ServerTls::prepare)) if the node accepts.
    pub async fn reload_with_tls(
        &self,
        node: NodeConfig,
        driver: DriverConfig,
        tls: Option<StagedTls>,
    ) -> Result<ReloadSummary, ReloadFailure> {
        let answer = self.submit(node, driver, tls)?;
        match tokio::time::timeout(ANSWER_TIMEOUT, answer).await {
            Ok(Ok(verdict)) => verdict.map_err(ReloadFailure::Refused),
            _ => Err(ReloadFailure::Stopped),
        }
    }
}

impl ReloadSender {
    /// Hand `node`, `driver` and `tls` to the running server without waiting; the verdict
    /// arrives on the returned receiver once the server has applied them (a caller that
    /// cannot await, such as the simulation's harness between steps, polls it).
    pub fn submit(
        &self,
        node: NodeConfig,
        driver: DriverConfig,
        tls: Option<StagedTls>,
    ) -> Result<Verdict, ReloadFailure> {
        let (done, answer) = oneshot::channel();
        let request = ReloadRequest { node, driver, tls, done };
        self.0.send(request).map_err(|_| ReloadFailure::Stopped)?;
        Ok(answer)
    }
}

/// Where the verdict on a [`ReloadSender::submit`] arrives.
pub type Verdict = oneshot::Receiver<Result<ReloadSummary, ReloadError>>;

impl ReloadReceiver {
    /// The next request; never resolves once every sender is gone.
    pub(crate) async fn recv(&mut self) -> Option<ReloadRequest> {
        let Some(rx) = self.0.as_mut() else {
            return std::future::pending().await;
        };
        match rx.recv().await {
            Some(request) => Some(request),
            None => {
                self.0 = None;
                std::future::pending().await
            }
        }
    }
}

/// The server applies one request: the node first (it may refuse), then the driver.
pub(crate) fn apply(shared: &Shared, request: ReloadRequest) {
    let ReloadRequest { node, driver, tls, done } = request;
    let verdict = {
        let mut state = shared.lock();
        let verdict = state.node.reload(Instant::now().into_std(), node);
        if verdict.is_ok() {
            state.config_loaded = SystemTime::now();
        }
        state.dispatch();
        verdict
    };
    if verdict.is_ok() {
        apply_driver(shared, driver, tls);
    }
    // The reloader may have given up waiting; the reload happened all the same.
    let _ = done.send(verdict);
}

/// Driver-level settings that reload, applied after the node accepted the new configuration.
/// The write deadline applies to connections made from now on; TLS blocks to handshakes from
/// now on, except that a change of `pinned_certs` also closes the connections whose peer key
/// the new pins leave out (nats-server's `recheckPinnedCerts`).
fn apply_driver(shared: &Shared, driver: DriverConfig, tls: Option<StagedTls>) {
    shared.set_driver(driver);
    let Some(tls) = tls else { return };
    let pins = |t: &ServerTls| (t.client_pins(), t.gateway_pins(), t.route_pins());
    let before = pins(&shared.tls);
    tls.install();
    let after = pins(&shared.tls);
    let pins = |kind| match kind {
        LinkKind::Client if before.0 != after.0 => Some(&after.0),
        LinkKind::Gateway if before.1 != after.1 => Some(&after.1),
        LinkKind::Route if before.2 != after.2 => Some(&after.2),
        _ => None,
    };
    let mut state = shared.lock();
    let unpinned: Vec<LinkId> = state
        .connections()
        .filter(|(_, h)| {
            pins(h.kind).is_some_and(|p| {
                !p.is_empty() && h.peer_key.as_ref().is_none_or(|k| !p.contains(k))
            })
        })
        .map(|(id, _)| id)
        .collect();
    if unpinned.is_empty() {
        return;
    }
    info!("Disconnect {} clients due to pinned certs reload", unpinned.len());
    for id in unpinned {
        state.node.tls_failed(id, "certificate not pinned", false);
    }
    state.dispatch();
}

/// The daemon's reload of its `-c` file.
#[derive(Debug)]
pub struct Reloader {
    args: Args,
    path: Option<PathBuf>,
    /// The options in force, flags applied over the file.
    current: Options,
    client_port: u16,
    gateway_port: Option<u16>,
    route_port: Option<u16>,
    sender: ReloadSender,
    logs: Option<LogControl>,
    /// The running server's TLS handles, whose blocks a reload replaces.
    tls: ServerTls,
}

impl Reloader {
    /// A reloader for a server started with `args` and the file's `options` (none without
    /// `-c`), listening for clients, gateways and routes on `ports`.
    pub fn new(
        args: Args,
        options: Option<Options>,
        ports: (u16, Option<u16>, Option<u16>),
        sender: ReloadSender,
        logs: Option<LogControl>,
        tls: ServerTls,
    ) -> Self {
        let mut current = options.unwrap_or_default();
        overlay(&args, &mut current);
        Self {
            path: args.config.clone(),
            args,
            current,
            client_port: ports.0,
            gateway_port: ports.1,
            route_port: ports.2,
            sender,
            logs,
            tls,
        }
    }

    /// Reload the file and log the outcome as nats-server does. On error the configuration in
    /// force is unchanged (the error is also returned).
    pub async fn reload(&mut self) -> Result<(), String> {
        match self.try_reload().await {
            Ok(()) => {
                info!("Reloaded server configuration");
                Ok(())
            }
            Err(e) => {
                for line in e.lines() {
                    error!("Failed to reload server configuration: {line}");
                }
                Err(e)
            }
        }
    }

    async fn try_reload(&mut self) -> Result<(), String> {
        let Some(path) = &self.path else {
            return Err(
                "can only reload config when a file is provided using -c or --config".into()
            );
        };
        let loaded = strait_conf::load_file(path).map_err(|e| e.to_string())?;
        let mut merged = loaded.clone();
        overlay(&self.args, &mut merged);
        let changes = strait_conf::diff(&self.current, &merged);
        if let Some(refused) = changes.iter().find(|c| c.requires_restart()) {
            return Err(refused.refusal());
        }
        let setup = setup::build(&self.args, Some(&loaded))?;
        let mut node = setup.node.clone();
        node.port = self.client_port;
        node.gateway = match (setup.gateway.clone(), self.gateway_port) {
            (Some(g), Some(port)) => Some(g.finish(port)?),
            _ => None,
        };
        node.cluster = match (setup.cluster.clone(), self.route_port) {
            (Some(c), Some(port)) => Some(c.finish(port, &setup.client.host, self.client_port)?),
            _ => None,
        };
        // Certificates, keys and CA bundles are read now: a file that does not load refuses
        // the whole reload.
        let client_tls = crate::tls_setup::client_block(&self.args, &loaded)?;
        // `cluster.tls` is used only with a cluster port, as at start.
        let route_tls = loaded.cluster.as_ref().and_then(|c| c.tls.as_ref());
        let route_tls = route_tls.filter(|_| setup.cluster.is_some());
        let tls = self.tls.prepare(client_tls.as_ref(), loaded.gateway.as_ref(), route_tls)?;
        self.sender
            .reload_with_tls(node, setup.driver.clone(), Some(tls))
            .await
            .map_err(|e| e.to_string())?;
        if let Some(logs) = &self.logs
            && let Err(e) = logs.apply(&setup.log_settings())
        {
            error!("{e}");
        }
        for change in &changes {
            if let Some(line) = driver_level_line(change) {
                info!("Reloaded: {line}");
            }
        }
        if let Some(Change::PidFile { new: Some(file), .. }) =
            changes.iter().find(|c| matches!(c, Change::PidFile { .. }))
            && let Err(e) = write_pid_file(file)
        {
            error!("Failed to write pidfile: {e}");
        }
        self.current = merged;
        Ok(())
    }
}

/// The `Reloaded: …` line for what the daemon applies itself (the node logs its own).
fn driver_level_line(change: &Change) -> Option<String> {
    match change {
        Change::Debug { .. }
        | Change::Trace { .. }
        | Change::Logtime { .. }
        | Change::LogFile { .. }
        | Change::PidFile { .. }
        | Change::WriteDeadline { .. } => {
            Some(format!("{} = {}", change.option(), change.new_value()))
        }
        _ => None,
    }
}

/// Write our pid to `path` as nats-server does (the number alone).
pub fn write_pid_file(path: &str) -> Result<(), String> {
    std::fs::write(path, std::process::id().to_string()).map_err(|e| format!("{path}: {e}"))
}

/// Flags given on the command line override the file at start; they keep overriding it on
/// reload, so the comparison is made on the options with the flags applied.
fn overlay(args: &Args, o: &mut Options) {
    if let Some(v) = &args.addr {
        o.host = Some(v.clone());
    }
    if let Some(v) = args.port {
        o.port = Some(v);
    }
    if let Some(v) = &args.name {
        o.server_name = Some(v.clone());
    }
    if let Some(v) = args.http_port {
        o.http_port = Some(v);
    }
    if let Some(v) = &args.log {
        o.log_file = Some(v.display().to_string());
    }
    if let Some(v) = &args.pid {
        o.pid_file = Some(v.display().to_string());
    }
    if args.debug_given {
        o.debug = Some(args.debug);
    }
    if args.trace_given {
        o.trace = Some(args.trace);
    }
    if let Some(v) = args.logtime {
        o.logtime = Some(v);
    }
    // Validated at start; the same flags give the same result.
    let _ = crate::cli::cluster::apply(args, o);
    if args.user.is_some() || args.auth.is_some() {
        // The flag's user or token replaces the file's authorization entirely.
        o.authorization = None;
        o.accounts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Options {
        strait_conf::load_str(text, "t.conf").unwrap()
    }

    #[test]
    fn flags_keep_overriding_the_file() {
        let args = Args::try_parse_from(["strait", "-p", "5000", "-D"]).unwrap();
        let mut before = load("port: 4222\ndebug: false");
        overlay(&args, &mut before);
        let mut after = load("port: 4333\ndebug: false");
        overlay(&args, &mut after);
        assert!(strait_conf::diff(&before, &after).is_empty());
    }

    #[test]
    fn logging_changes_are_reported_like_nats_server() {
        let changes = strait_conf::diff(&load("port: 1"), &load("debug: true\nport: 1"));
        assert_eq!(driver_level_line(&changes[0]).as_deref(), Some("debug = true"));
        let changes = strait_conf::diff(&load("port: 1"), &load("write_deadline: \"3s\"\nport: 1"));
        assert_eq!(driver_level_line(&changes[0]).as_deref(), Some("write_deadline = 3s"));
    }

    #[tokio::test]
    async fn a_stopped_server_is_reported() {
        let (tx, rx) = channel();
        drop(rx);
        let verdict = tx.reload(NodeConfig::default(), DriverConfig::default()).await;
        assert_eq!(verdict, Err(ReloadFailure::Stopped));
    }
}
