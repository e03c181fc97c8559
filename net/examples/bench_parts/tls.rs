//! Gateway cases over mutual TLS: A→B raw throughput through a TLS gateway pair, and TLS
//! handshakes per second on a gateway listener. Certificates are generated per run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::common::certs::{Ca, Dir, Files, LeafSpec};
use super::common::gateway::{GwConfig, GwServer, wait_full_mesh};
use super::load::raw_fanout;
use super::{Metric, ORDER, Opts, Unit, metric, record};

/// Concurrent handshaking clients.
const HANDSHAKERS: usize = 8;

/// The TLS cases, for both implementations.
pub(super) fn tls_cases(
    runtime: &tokio::runtime::Runtime,
    programs: &[std::path::PathBuf; 2],
    opts: &Opts,
) -> Vec<Metric> {
    let dir = Dir::new();
    let ca = Ca::root("Strait Bench CA");
    let files_a = Files::write(&dir, "A", &ca.leaf(&LeafSpec::new("A")), &[&ca]);
    let files_b = Files::write(&dir, "B", &ca.leaf(&LeafSpec::new("B")), &[&ca]);
    let pairs: Vec<(GwServer, GwServer)> = ORDER
        .iter()
        .zip(programs)
        .map(|(&kind, program)| {
            let b = GwServer::start_env(
                kind,
                program,
                &GwConfig::new("B").gateway_block(&files_b.block("")),
                &[],
            );
            let a = GwServer::start_env(
                kind,
                program,
                &GwConfig::new("A")
                    .remote("B", b.gateway_addr(), None)
                    .gateway_block(&files_a.block("")),
                &[],
            );
            wait_full_mesh(&[&a, &b]);
            (a, b)
        })
        .collect();
    let sizes: Vec<usize> = opts.sizes.iter().copied().filter(|&s| s <= 128).collect();
    let mut cases: Vec<Metric> = sizes
        .iter()
        .map(|s| metric(&format!("gw TLS A→B pub→sub raw socket {s} B"), Unit::MsgsPerSec))
        .collect();
    let mut handshakes = metric("gw TLS handshakes (8 dialers)", Unit::PerSec);
    let client = client_config(&files_a);
    for run in 0..opts.runs {
        let order: Vec<usize> = if run % 2 == 0 { vec![0, 1] } else { vec![1, 0] };
        for (c, &size) in sizes.iter().enumerate() {
            for &i in &order {
                let (a, b) = &pairs[i];
                record(&mut cases[c], i, raw_fanout(a.addr(), &[b.addr()], size, opts));
            }
        }
        for &i in &order {
            let target = pairs[i].1.gateway_addr();
            let r = runtime.block_on(handshake_rate(target, client.clone(), opts));
            record(&mut handshakes, i, r);
        }
    }
    cases.push(handshakes);
    cases
}

/// A dialling gateway's client configuration: trusts the bench CA, presents A's certificate.
fn client_config(files: &Files) -> Arc<rustls::ClientConfig> {
    let roots_pem = std::fs::read(&files.ca).expect("read the CA bundle");
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&roots_pem) {
        roots.add(cert.expect("a CA certificate")).expect("add the CA");
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .expect("cert file")
        .map(|c| c.expect("cert"))
        .collect();
    let key = PrivateKeyDer::from_pem_file(&files.key).expect("key file");
    let mut config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .expect("client certificate");
    // Full handshakes, as a gateway dials (nats-server keeps no client session cache), and no
    // ticket from one server offered to the other.
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

/// Full mutual handshakes per second against the gateway listener at `target`: each dialer
/// connects, completes the handshake, reads the INFO the server sends once it has verified the
/// client certificate, and hangs up.
async fn handshake_rate(
    target: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
    opts: &Opts,
) -> Result<f64, String> {
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + Duration::from_secs_f64(opts.warmup + opts.duration);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..HANDSHAKERS {
        let (done, failed, config) = (done.clone(), failed.clone(), config.clone());
        tasks.spawn(async move {
            let connector = tokio_rustls::TlsConnector::from(config);
            let name = ServerName::try_from("127.0.0.1").expect("an IP server name");
            while Instant::now() < stop {
                match one_handshake(&connector, name.clone(), target).await {
                    Ok(()) => done.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        });
    }
    tokio::time::sleep(Duration::from_secs_f64(opts.warmup)).await;
    let (c0, t0) = (done.load(Ordering::Relaxed), Instant::now());
    tokio::time::sleep(Duration::from_secs_f64(opts.duration)).await;
    let rate = (done.load(Ordering::Relaxed) - c0) as f64 / t0.elapsed().as_secs_f64();
    while tasks.join_next().await.is_some() {}
    let failed = failed.load(Ordering::Relaxed);
    if rate == 0.0 {
        return Err(format!("no handshake completed ({failed} failed)"));
    }
    Ok(rate)
}

async fn one_handshake(
    connector: &tokio_rustls::TlsConnector,
    name: ServerName<'static>,
    target: std::net::SocketAddr,
) -> Result<(), String> {
    let bound = Duration::from_secs(5);
    let tcp = tokio::time::timeout(bound, tokio::net::TcpStream::connect(target))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    let tls = tokio::time::timeout(bound, connector.connect(name, tcp))
        .await
        .map_err(|_| "handshake timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    tokio::time::timeout(bound, BufReader::new(tls).read_line(&mut line))
        .await
        .map_err(|_| "no INFO".to_owned())?
        .map_err(|e| e.to_string())?;
    if line.starts_with("INFO ") { Ok(()) } else { Err(format!("expected INFO, got {line:?}")) }
}
