//! The `strait` daemon: parse flags, set up logging, bind, run until a signal.

use std::process::ExitCode;

use clap::Parser;
use strait_core::node::{Auth, NodeConfig};
use strait_net::cli::Args;
use strait_net::logging::NatsFormat;
use strait_net::server::{self, DriverConfig};
use tracing::{error, info};

fn main() -> ExitCode {
    let args = Args::parse();
    if args.version {
        println!(
            "strait: v{} (nats-server {} compatible)",
            env!("CARGO_PKG_VERSION"),
            strait_core::NATS_COMPAT_VERSION
        );
        return ExitCode::SUCCESS;
    }
    if let Err(e) = init_logging(&args) {
        eprintln!("strait: {e}");
        return ExitCode::FAILURE;
    }
    if args.config.is_some() || args.test_config {
        error!("configuration files are not supported yet (-c); use flags");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(args: &Args) -> Result<(), String> {
    let level = if args.trace {
        tracing::Level::TRACE
    } else if args.debug {
        tracing::Level::DEBUG
    } else {
        tracing::Level::INFO
    };
    let builder = tracing_subscriber::fmt().event_format(NatsFormat).with_max_level(level);
    match &args.log {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("cannot open log file {}: {e}", path.display()))?;
            builder.with_writer(std::sync::Mutex::new(file)).init();
        }
        None => builder.with_writer(std::io::stderr).init(),
    }
    Ok(())
}

async fn run(args: Args) -> Result<(), String> {
    let auth = match (&args.user, &args.pass, &args.auth) {
        (Some(user), pass, _) => {
            Auth::UserPassword { user: user.clone(), password: pass.clone().unwrap_or_default() }
        }
        (None, _, Some(token)) => Auth::Token(token.clone()),
        _ => Auth::None,
    };
    let mut config = NodeConfig {
        server_name: args.name.clone(),
        host: args.addr.clone().unwrap_or_else(|| "0.0.0.0".into()),
        auth,
        ..NodeConfig::default()
    };
    // nats-server: -1 asks for a random port; 0 means the default.
    let port = match args.port {
        None | Some(0) => 4222,
        Some(-1) => 0,
        Some(p) => u16::try_from(p).map_err(|_| format!("invalid port {p}"))?,
    };
    let listener = tokio::net::TcpListener::bind((config.host.as_str(), port))
        .await
        .map_err(|e| format!("Error listening on port: {}:{port}, {e}", config.host))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    config.port = bound.port();
    let seed = os_seed();
    let node_preview = strait_core::node::Node::new(config.clone(), seed);
    info!("Starting strait version {}", env!("CARGO_PKG_VERSION"));
    info!("  Protocol: nats-server {} compatible", strait_core::NATS_COMPAT_VERSION);
    info!("  Name:     {}", node_preview.server_name());
    info!("  ID:       {}", node_preview.server_id());
    drop(node_preview);
    info!("Listening for client connections on {}:{}", config.host, bound.port());
    info!("Server is ready");
    server::run(config, DriverConfig::default(), seed, listener, shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    info!("Server Exiting..");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            error!("cannot install SIGTERM handler: {e}");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    info!("Initiating Shutdown...");
}

/// A seed for the node from the OS: production runs differ, simulations pass their own.
fn os_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::process::id())
}
