//! TLS in the simulation, through the production code path: every server host builds its
//! gateway `tls {}` from PEM files with `strait_net::tls_setup::build` and serves with
//! `strait_net::server::run_tls`; the harness rotates certificates by rewriting the files and
//! calling `ServerTls::reload`, as SIGHUP does in the daemon.
//!
//! Certificate time is simulated time: the [`sim_clock`] reads turmoil's clock of the host it
//! runs on (the simulation epoch plus the simulated time elapsed), so a leaf whose `not_after`
//! lies inside a run expires during it.
//!
//! Keys are Ed25519 and serial numbers have a fixed width. rcgen draws fresh keys every run and
//! TLS handshakes draw fresh randoms and key shares, so the bytes differ between two runs of
//! one seed — but their *lengths* do not: Ed25519 keys and signatures, X25519 shares and
//! TLS 1.3 records of a fixed suite all have fixed sizes. Turmoil's schedule depends on
//! segment sizes and timing, never on their content, so a run stays a pure function of its
//! seed (checked by the determinism test of the rotation suites). RSA or ECDSA keys would break
//! this: their DER signatures vary in length.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use rustls_pki_types::UnixTime;
use strait_conf::options::{Gateway, Tls};
use strait_net::tls::{self, Clock, Joined, Role, TlsHandle};
use strait_net::tls_setup::{self, ServerTls};
use strait_net::transport::Connection;
use tokio::io::AsyncReadExt;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::transport::SimConn;

/// The simulation's wall-clock epoch (`turmoil::Builder::epoch`), as time since 1970.
pub const SIM_EPOCH: Duration = Duration::from_secs(1_700_000_000);

/// The time certificates are judged at: the simulated clock of the host the handshake runs on.
/// Outside any host (the harness building a configuration to reload, which reads no time) the
/// epoch itself.
pub fn sim_clock() -> Clock {
    Arc::new(|| UnixTime::since_unix_epoch(turmoil::since_epoch().unwrap_or(SIM_EPOCH)))
}

/// A certificate authority.
pub struct Ca {
    /// Short name, e.g. `CA1` (also its subject CN).
    pub name: String,
    /// Its self-signed certificate (PEM).
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca").field("name", &self.name).finish_non_exhaustive()
    }
}

/// A leaf certificate and its key (PEM).
#[derive(Clone)]
pub struct Leaf {
    /// Certificate.
    pub cert: String,
    /// Private key.
    pub key: String,
}

impl fmt::Debug for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Leaf { .. }")
    }
}

/// A serial number of fixed width (9 bytes, first byte 1: positive and minimal in DER).
fn serial(n: u64) -> SerialNumber {
    let mut bytes = vec![1u8];
    bytes.extend_from_slice(&n.to_be_bytes());
    SerialNumber::from_slice(&bytes)
}

fn ed25519() -> KeyPair {
    // Only fails if ring cannot generate a key at all.
    KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("Ed25519 key generation")
}

impl Ca {
    /// A self-signed root named `name`; `serial_no` keeps serials unique within a run.
    pub fn root(name: &str, serial_no: u64) -> Ca {
        let (key, p) = Self::params(name, serial_no);
        let cert = p.self_signed(&key).expect("self-sign a CA");
        Ca { name: name.to_owned(), pem: cert.pem(), issuer: Issuer::new(p, key) }
    }

    /// An intermediate CA named `name`, signed by this one (its PEM is the intermediate's
    /// certificate alone; a chain is the leaf's PEM followed by it).
    pub fn intermediate(&self, name: &str, serial_no: u64) -> Ca {
        let (key, p) = Self::params(name, serial_no);
        let cert = p.signed_by(&key, &self.issuer).expect("sign an intermediate");
        Ca { name: name.to_owned(), pem: cert.pem(), issuer: Issuer::new(p, key) }
    }

    /// A fresh key and the parameters of a CA certificate named `name`.
    fn params(name: &str, serial_no: u64) -> (KeyPair, CertificateParams) {
        let key = ed25519();
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        p.distinguished_name.push(DnType::CommonName, name);
        p.distinguished_name.push(DnType::OrganizationName, "Strait Sim");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        p.serial_number = Some(serial(serial_no));
        (key, p)
    }

    /// A server+client leaf for `hosts` (DNS SANs; the first is the CN), valid until
    /// `not_after` after the simulation epoch (`None`: rcgen's far-future default).
    pub fn leaf(&self, hosts: &[String], not_after: Option<Duration>, serial_no: u64) -> Leaf {
        let key = ed25519();
        let mut p = CertificateParams::new(hosts.to_vec()).expect("leaf params");
        p.distinguished_name.push(DnType::CommonName, hosts[0].as_str());
        p.extended_key_usages =
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        p.serial_number = Some(serial(serial_no));
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        p.not_before = epoch + (SIM_EPOCH - Duration::from_secs(86_400));
        if let Some(t) = not_after {
            p.not_after = epoch + (SIM_EPOCH + t);
        }
        let cert = p.signed_by(&key, &self.issuer).expect("sign a leaf");
        Leaf { cert: cert.pem(), key: key.serialize_pem() }
    }
}

/// A per-run directory of PEM files with deterministic names, removed on drop.
#[derive(Debug)]
pub struct CertDir {
    path: PathBuf,
}

impl CertDir {
    /// A fresh directory for run `seed` of `suite` (unique within this process too).
    pub fn new(suite: &str, seed: u64) -> CertDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "strait-sim-{suite}-{seed}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create the certificate directory");
        CertDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The gateway `tls {}` block of server `host`: its files in this directory.
    pub fn block(&self, host: &str) -> Tls {
        let file =
            |what: &str| Some(self.path.join(format!("{host}-{what}.pem")).display().to_string());
        Tls {
            cert_file: file("cert"),
            key_file: file("key"),
            ca_file: file("ca"),
            ..Tls::default()
        }
    }

    /// Write `host`'s files: `leaf` and a bundle of `cas`.
    pub fn write(&self, host: &str, leaf: &Leaf, cas: &[&Ca]) {
        let block = self.block(host);
        let bundle: String = cas.iter().map(|c| c.pem.as_str()).collect();
        for (path, text) in [
            (&block.cert_file, &leaf.cert),
            (&block.key_file, &leaf.key),
            (&block.ca_file, &bundle),
        ] {
            let path = path.as_deref().expect("block() names every file");
            std::fs::write(path, text).expect("write a PEM file");
        }
    }
}

impl Drop for CertDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The TLS of one server host: where its files are, and the handles of its running
/// incarnation (so the harness can reload them).
#[derive(Clone)]
pub struct HostTls {
    /// The gateway `tls {}` block (file paths; the files change, the block does not).
    pub block: Tls,
    /// The handles of the current incarnation; `None` before the first start.
    current: Arc<Mutex<Option<ServerTls>>>,
}

impl fmt::Debug for HostTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostTls").field("cert", &self.block.cert_file).finish_non_exhaustive()
    }
}

impl HostTls {
    /// TLS from `block`'s files.
    pub fn new(block: Tls) -> HostTls {
        HostTls { block, current: Arc::new(Mutex::new(None)) }
    }

    /// The gateway options a reload reads (the daemon re-parses its configuration file into
    /// these).
    pub fn gateway_options(&self) -> Gateway {
        Gateway { tls: Some(self.block.clone()), ..Gateway::default() }
    }

    /// Build the handles of a new incarnation from the files as they are now, on simulated
    /// time, and keep them for [`HostTls::reload`].
    pub fn start(&self) -> Result<ServerTls, String> {
        let tls = tls_setup::build(None, Some(&self.gateway_options()), sim_clock())?;
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(tls.clone());
        Ok(tls)
    }

    /// Reload the running incarnation from the files as they are now (nothing runs: `Ok`).
    pub fn reload(&self) -> Result<(), String> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match current {
            Some(tls) => tls.reload(None, Some(&self.gateway_options()), None),
            None => Ok(()),
        }
    }
}

/// Dial `host`'s gateway listener presenting the certificate and trusting the bundle of
/// `block`, as a server with that block dials a remote gateway. Success means the server
/// accepted us too: with TLS 1.3 the client finishes its handshake before the server has
/// checked the client certificate, so success waits for the server's first bytes (the gateway
/// INFO), which a server that refused us never sends.
pub async fn probe_dial(block: &Tls, host: &str, port: u16) -> Result<(), String> {
    let handle = TlsHandle::new(block, Role::Link, sim_clock())?;
    let state = handle.current();
    let stream = turmoil::net::TcpStream::connect((host, port)).await.map_err(|e| e.to_string())?;
    let conn = SimConn(stream);
    let (rd, wr) = Connection::split(conn);
    let tls = tls::connect::<SimConn>(Joined::new(Vec::new(), rd, wr), host, &state, &[])
        .await
        .map_err(|e| e.to_string())?;
    let (mut rd, _wr) = Connection::split(tls);
    let mut first = [0u8; 4];
    let read = tokio::time::timeout(state.timeout, rd.read_exact(&mut first)).await;
    match read {
        Ok(Ok(_)) if &first == b"INFO" => Ok(()),
        Ok(Ok(_)) => Err(format!("unexpected first bytes {first:?}")),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("i/o timeout waiting for INFO".to_owned()),
    }
}

/// One server log line seen in the simulation.
#[derive(Clone, Debug)]
pub struct LogLine {
    /// Simulated time.
    pub at: Duration,
    /// The server that logged it (its `node` span's name), if known.
    pub host: String,
    /// `ERR`, `WRN` or `INF`.
    pub level: &'static str,
    /// The message.
    pub text: String,
}

/// Server log lines at INFO and above, collected by a [`LogTap`].
pub type Logs = Arc<Mutex<Vec<LogLine>>>;

/// A `tracing` layer keeping the servers' log lines (INFO and above) with their simulated
/// time, so suites can count gateway registrations, closes and handshake errors.
#[derive(Clone, Debug, Default)]
pub struct LogTap {
    /// What was seen.
    pub lines: Logs,
}

/// The server name of a `node` span, kept in the span's extensions.
struct NodeName(String);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for LogTap {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "node" {
            return;
        }
        let mut name = String::new();
        attrs.record(&mut Field_("name", &mut name));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(NodeName(name));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() > Level::INFO || !meta.target().starts_with("strait_net") {
            return;
        }
        let Some(at) = turmoil::sim_elapsed() else { return };
        let mut text = String::new();
        event.record(&mut Field_("message", &mut text));
        let host = ctx
            .event_scope(event)
            .and_then(|scope| {
                scope
                    .into_iter()
                    .find_map(|s| s.extensions().get::<NodeName>().map(|n| n.0.clone()))
            })
            .unwrap_or_default();
        let level = match *meta.level() {
            Level::ERROR => "ERR",
            Level::WARN => "WRN",
            _ => "INF",
        };
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).push(LogLine {
            at,
            host,
            level,
            text,
        });
    }
}

/// The `--trace` output of runs that install their own subscriber: server lines to stderr
/// (`RUST_LOG` filters them; default `info,strait_sim=debug`).
pub fn stderr_layer<S: Subscriber + for<'a> LookupSpan<'a>>() -> impl Layer<S> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,strait_sim=debug"));
    tracing_subscriber::fmt::layer().without_time().with_writer(std::io::stderr).with_filter(filter)
}

/// Records the field called `.0` as text into `.1`.
struct Field_<'a>(&'static str, &'a mut String);

impl Visit for Field_<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == self.0 {
            *self.1 = format!("{value:?}");
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == self.0 {
            *self.1 = value.to_owned();
        }
    }
}

/// The epoch turmoil's builder takes.
pub fn epoch() -> std::time::SystemTime {
    UNIX_EPOCH + SIM_EPOCH
}
