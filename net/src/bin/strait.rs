//! The `strait` daemon: parse flags and the configuration file, set up logging, bind, run
//! until a signal.

use std::process::ExitCode;

use clap::Parser;
use strait_net::cli::Args;
use strait_net::logging::NatsFormat;
use strait_net::server::{self, Listeners};
use strait_net::setup::{self, Listen, Setup};
use strait_net::transport::TcpDialer;
use tokio::net::TcpListener;
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
            eprintln!("strait: -t needs a configuration file (-c FILE)");
            return ExitCode::FAILURE;
        }
        None => None,
    };
    // `-t` judges the file as nats-server would; what Strait cannot run yet (e.g. bcrypt
    // passwords) is refused at start, below.
    if args.test_config {
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
    if let Err(e) = init_logging(&setup) {
        eprintln!("strait: {e}");
        return ExitCode::FAILURE;
    }
    if let Some(o) = &options {
        for w in &o.warnings {
            tracing::warn!("{w}");
        }
        for u in &o.unsupported {
            tracing::warn!("option {:?} is not supported by strait and is ignored", u.name);
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(setup)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(setup: &Setup) -> Result<(), String> {
    let level = if setup.trace {
        tracing::Level::TRACE
    } else if setup.debug {
        tracing::Level::DEBUG
    } else {
        tracing::Level::INFO
    };
    let builder = tracing_subscriber::fmt().event_format(NatsFormat).with_max_level(level);
    match &setup.log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("cannot open log file {path}: {e}"))?;
            builder.with_writer(std::sync::Mutex::new(file)).init();
        }
        None => builder.with_writer(std::io::stderr).init(),
    }
    Ok(())
}

async fn bind(listen: &Listen, what: &str) -> Result<TcpListener, String> {
    let port = listen.port.unwrap_or(0);
    TcpListener::bind((listen.host.as_str(), port))
        .await
        .map_err(|e| format!("Error listening on {what} port: {}:{port}, {e}", listen.host))
}

async fn run(mut setup: Setup) -> Result<(), String> {
    let client = bind(&setup.client, "client").await?;
    let client_port = client.local_addr().map_err(|e| e.to_string())?.port();
    setup.node.port = client_port;
    let gateway_host = setup.gateway.as_ref().map(|g| g.listen.host.clone()).unwrap_or_default();
    let gateway = match setup.gateway.take() {
        Some(g) => {
            let listener = bind(&g.listen, "gateway").await?;
            let port = listener.local_addr().map_err(|e| e.to_string())?.port();
            setup.node.gateway = Some(g.finish(port)?);
            Some(listener)
        }
        None => None,
    };
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
    let monitor = match &setup.http {
        Some(listen) => {
            let listener = bind(listen, "monitoring").await?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            info!("Starting http monitor on {}:{}", listen.host, addr.port());
            Some(listener)
        }
        None => None,
    };
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
    let listeners = Listeners { client, gateway, monitor };
    let tls = setup.tls;
    server::run_tls(setup.node, setup.driver, tls, seed, listeners, TcpDialer, shutdown_signal())
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
        biased;
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
