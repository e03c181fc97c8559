//! The `strait` daemon: parse flags and the configuration file, set up logging, bind, run
//! until a signal.

use std::process::ExitCode;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use strait_conf::Options;
use strait_net::cli::{self, Args, Mode};
use strait_net::lame_duck::{self, LameDuckSender, LameDuckTimes};
use strait_net::logging::LogControl;
use strait_net::reload::{self, Reloader};
use strait_net::server::{self, Listeners};
use strait_net::setup::{self, Listen, Setup};
use strait_net::transport::TcpDialer;
use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing::{error, info};

fn main() -> ExitCode {
    fix_mmap_threshold();
    // Go's flag package reads bytes; a non-UTF-8 argument is read with replacement characters.
    let argv: Vec<String> =
        std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    let args = match Args::parse(&argv) {
        Ok(args) => args,
        // nats-server's answer to a bad command line: the flag package's message on stderr,
        // the usage on stdout, exit code 0.
        Err(e) => {
            eprintln!("{e}");
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
    };
    match args.mode() {
        Ok(Mode::Run) => {}
        Ok(Mode::Version) => {
            println!(
                "strait: v{} (nats-server {} compatible)",
                env!("CARGO_PKG_VERSION"),
                strait_core::NATS_COMPAT_VERSION
            );
            return ExitCode::SUCCESS;
        }
        Ok(Mode::Help) => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Mode::HelpTls) => {
            print!("{}", cli::TLS_USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("strait: {e}");
            return ExitCode::FAILURE;
        }
    }
    let refusals = args.refusals();
    if !refusals.is_empty() {
        for r in refusals {
            eprintln!("strait: {r}");
        }
        return ExitCode::FAILURE;
    }
    if let Some(spec) = &args.signal {
        return match strait_net::signal::run(spec) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("strait: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let options = match &args.config {
        Some(path) => {
            let loaded = if args.test_config {
                strait_conf::check_file(path)
            } else {
                strait_conf::load_file(path)
            };
            match loaded {
                Ok(o) => Some(o),
                Err(errors) => {
                    eprintln!("strait: {errors}");
                    return ExitCode::FAILURE;
                }
            }
        }
        None if args.test_config => {
            eprintln!(
                "strait: must specify [-c, --config] option to check configuration file syntax"
            );
            return ExitCode::FAILURE;
        }
        None => None,
    };
    // The cluster flags change the file's `cluster {}` block (or make one), and the result
    // is judged by the configuration's rule, with `-t` too.
    let options = match cluster_flags(&args, options) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("strait: {e}");
            return ExitCode::FAILURE;
        }
    };
    // `-t` judges the file as nats-server would; what Strait cannot run yet (e.g. bcrypt
    // passwords) is refused at start, below.
    if args.test_config {
        for i in options.iter().flat_map(|o| &o.ignored) {
            eprintln!("strait: {i}");
        }
        if let Some(path) = &args.config {
            println!("strait: {}", strait_conf::valid_message(path));
        }
        return ExitCode::SUCCESS;
    }
    let setup = match setup::build(&args, options.as_ref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("strait: {e}");
            return ExitCode::FAILURE;
        }
    };
    let logs = match LogControl::init(&setup.log_settings()) {
        Ok(logs) => logs,
        Err(e) => {
            eprintln!("strait: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(o) = &options {
        for w in &o.warnings {
            tracing::warn!("{w}");
        }
        // Options Strait cannot ignore made the load fail above; these are safe to ignore.
        for i in &o.ignored {
            tracing::warn!("{i}");
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args, options, setup, logs)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// `options` with the cluster flags applied (see `cli::cluster`), or why they are wrong.
fn cluster_flags(args: &Args, options: Option<Options>) -> Result<Option<Options>, String> {
    if !cli::cluster::given(args) {
        return Ok(options);
    }
    let mut o = options.unwrap_or_default();
    cli::cluster::apply(args, &mut o)?;
    Ok(Some(o))
}

async fn bind(listen: &Listen, what: &str) -> Result<TcpListener, String> {
    let port = listen.port.unwrap_or(0);
    // The system's backlog and SO_REUSEADDR, as nats-server binds (see `listen`).
    strait_net::listen::bind_tcp(&listen.host, port)
        .await
        .map_err(|e| format!("Error listening on {what} port: {}:{port}, {e}", listen.host))
}

async fn run(
    args: Args,
    options: Option<Options>,
    mut setup: Setup,
    logs: LogControl,
) -> Result<(), String> {
    strait_net::listen::raise_open_file_limit();
    let client = bind(&setup.client, "client").await?;
    let client_port = client.local_addr().map_err(|e| e.to_string())?.port();
    setup.node.port = client_port;
    let gateway_host = setup.gateway.as_ref().map(|g| g.listen.host.clone()).unwrap_or_default();
    let mut gateway_port = None;
    let gateway = match setup.gateway.take() {
        Some(g) => {
            let listener = bind(&g.listen, "gateway").await?;
            let port = listener.local_addr().map_err(|e| e.to_string())?.port();
            setup.node.gateway = Some(g.finish(port)?);
            gateway_port = Some(port);
            Some(listener)
        }
        None => None,
    };
    let mut route_port = None;
    let route = match setup.cluster.take() {
        Some(c) => {
            let listener = bind(&c.listen, "route").await?;
            let port = listener.local_addr().map_err(|e| e.to_string())?.port();
            let route_host = c.listen.host.clone();
            setup.node.cluster = Some(c.finish(port, &setup.client.host, client_port)?);
            route_port = Some((route_host, port));
            Some(listener)
        }
        None => None,
    };
    if let Some(file) = &setup.pid_file {
        reload::write_pid_file(file).map_err(|e| format!("Could not write pidfile: {e}"))?;
    }
    let seed = os_seed();
    let preview = strait_core::node::Node::new(setup.node.clone(), seed);
    info!("Starting strait version {}", env!("CARGO_PKG_VERSION"));
    info!("  Protocol: nats-server {} compatible", strait_core::NATS_COMPAT_VERSION);
    info!("  Name:     {}", preview.server_name());
    info!("  ID:       {}", preview.server_id());
    drop(preview);
    if let Some(listener) = &gateway {
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        info!("Listening for gateways connections on {}:{}", gateway_host, addr.port());
        let t = &setup.tls;
        if t.gateway.iter().chain(t.remotes.values()).any(|h| h.current().insecure) {
            tracing::warn!(
                "TLS certificate chain and hostname of solicited gateways will not be verified. DO NOT USE IN PRODUCTION!"
            );
        }
    }
    if let Some((host, port)) = &route_port {
        info!("Listening for route connections on {host}:{port}");
        if setup.tls.route.as_ref().is_some_and(|h| h.current().insecure) {
            tracing::warn!(
                "TLS certificate chain and hostname of solicited routes will not be verified. DO NOT USE IN PRODUCTION!"
            );
        }
    }
    let monitor = match &setup.http {
        Some(listen) => {
            let listener = bind(listen, "monitoring").await?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            info!("Starting http monitor on {}:{}", listen.host, addr.port());
            Some(listener)
        }
        None => None,
    };
    let (reload_tx, reload_rx) = reload::channel();
    let (ldm_tx, ldm_rx) = lame_duck::channel(LameDuckTimes::from_options(options.as_ref()));
    let in_lame_duck = Arc::new(AtomicBool::new(false));
    let ports = (client_port, gateway_port, route_port.as_ref().map(|(_, p)| *p));
    let reloader =
        Reloader::new(args, options, ports, reload_tx, Some(logs.clone()), setup.tls.clone());
    // Installed before "Server is ready": from then on SIGHUP reloads instead of killing us.
    let signals = Signals::install()?;
    tokio::spawn(signals.serve(reloader, logs, ldm_tx, in_lame_duck.clone()));
    info!("Listening for client connections on {}:{client_port}", setup.client.host);
    if let Some(h) = &setup.tls.client {
        if setup.tls.allow_non_tls {
            info!("TLS available for client connections");
        } else {
            info!("TLS required for client connections");
        }
        if h.current().handshake_first == strait_conf::options::HandshakeFirst::On {
            tracing::warn!(
                "Clients that are not using \"TLS Handshake First\" option will fail to connect"
            );
        }
    }
    info!("Server is ready");
    let listeners = Listeners { client, gateway, route, monitor };
    let extras = server::Extras {
        tls: setup.tls,
        reloads: Some(reload_rx),
        lame_duck: Some(ldm_rx),
        ..Default::default()
    };
    server::run_with(
        setup.node,
        setup.driver,
        seed,
        listeners,
        TcpDialer,
        shutdown_signal(in_lame_duck),
        extras,
    )
    .await
    .map_err(|e| e.to_string())?;
    info!("Server Exiting..");
    Ok(())
}

/// SIGHUP (reload), SIGUSR1 (reopen the log file) and SIGUSR2 (lame-duck mode).
struct Signals {
    hangup: Signal,
    reopen: Signal,
    lame_duck: Signal,
}

impl Signals {
    fn install() -> Result<Self, String> {
        let install =
            |kind| signal(kind).map_err(|e| format!("cannot install signal handler: {e}"));
        Ok(Self {
            hangup: install(SignalKind::hangup())?,
            reopen: install(SignalKind::user_defined1())?,
            lame_duck: install(SignalKind::user_defined2())?,
        })
    }

    async fn serve(
        mut self,
        mut reloader: Reloader,
        logs: LogControl,
        lame_duck: LameDuckSender,
        in_lame_duck: Arc<AtomicBool>,
    ) {
        loop {
            tokio::select! {
                Some(()) = self.hangup.recv() => {
                    info!("Trapped \"hangup\" signal");
                    // Logged by the reloader either way.
                    let _ = reloader.reload().await;
                }
                Some(()) = self.reopen.recv() => {
                    info!("Trapped \"user defined signal 1\" signal");
                    match logs.reopen() {
                        Ok(true) => info!("File log re-opened"),
                        Ok(false) => info!("File log re-open ignored, not a file logger"),
                        Err(e) => error!("{e}"),
                    }
                }
                Some(()) = self.lame_duck.recv() => {
                    info!("Trapped \"user defined signal 2\" signal");
                    // The server ignores a second request itself.
                    in_lame_duck.store(true, Ordering::Relaxed);
                    lame_duck.enter();
                }
                else => return,
            }
        }
    }
}

/// Resolves on SIGINT, or on SIGTERM unless in lame-duck mode (nats-server lets a lame-duck
/// shutdown finish rather than cut it short on SIGTERM; SIGINT still stops at once).
async fn shutdown_signal(in_lame_duck: Arc<AtomicBool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (mut int, mut term) =
        match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            (Ok(int), Ok(term)) => (int, term),
            (Err(e), _) | (_, Err(e)) => {
                error!("cannot install SIGINT/SIGTERM handlers: {e}");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
    loop {
        tokio::select! {
            biased;
            _ = int.recv() => {
                info!("Trapped \"interrupt\" signal");
                break;
            }
            _ = term.recv() => {
                info!("Trapped \"terminated\" signal");
                if !in_lame_duck.load(Ordering::Relaxed) {
                    break;
                }
            }
        }
    }
    info!("Initiating Shutdown...");
}

/// A seed for the node from the OS: production runs differ, simulations pass their own.
fn os_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::process::id())
}

/// Large blocks (from 128 KiB) keep being served by `mmap` and so go back to the system when
/// freed: the buffers a burst grows (outboxes of closed connections, and of idle ones, which
/// give theirs back after a second in `conn.rs`).
///
/// glibc's default is a sliding threshold: freeing one mmapped block raises it to that block's
/// size (up to 32 MiB), and its heap-trimming threshold to twice that, so after a first burst
/// the buffers of the next ones come from the heap and stay resident once freed. RSS after the
/// bench's load was 2.7× nats-server's (55 MiB against 20) and is 7 MiB with the fixed
/// threshold, at the same throughput. An operator's `MALLOC_MMAP_THRESHOLD_` is left alone.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn fix_mmap_threshold() {
    const THRESHOLD: libc::c_int = 128 * 1024;
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: mallopt only sets an allocator parameter (under the allocator's own lock);
        // it touches no memory of ours. Its result (1 on success) changes nothing here: a
        // refused setting leaves glibc's default.
        let _ = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD) };
    }
}

/// Other allocators decide for themselves.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_mmap_threshold() {}
