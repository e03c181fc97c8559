//! The TLS of an operator's files in the simulation: the certificate, key and CA files their
//! `tls {}` blocks name are read by the daemon's own code (`strait_net::tls_setup`), but judged
//! at simulated time, and a probe client speaks TLS to a server that requires it.

use std::path::Path;
use std::sync::Arc;

use strait_conf::Options;
use strait_conf::options::Tls;
use strait_net::cli::Args;
use strait_net::setup::Setup;
use strait_net::tls::{Role, TlsHandle, TlsState};
use strait_net::tls_setup::{self, ServerTls};

use crate::tls::sim_clock;

/// Every `tls {}` block of `options` (top level, gateway, each remote, cluster).
pub(super) fn blocks_mut(options: &mut Options) -> Vec<&mut Tls> {
    let mut out: Vec<&mut Tls> = options.tls.iter_mut().collect();
    if let Some(g) = &mut options.gateway {
        out.extend(g.tls.iter_mut());
        out.extend(g.gateways.iter_mut().filter_map(|r| r.tls.as_mut()));
    }
    if let Some(c) = &mut options.cluster {
        out.extend(c.tls.iter_mut());
    }
    out
}

/// Read relative certificate, key and CA paths from `dir`, the directory the daemon would
/// run in (the daemon reads them relative to its working directory, as nats-server does).
pub(super) fn rebase(options: &mut Options, dir: &Path) {
    let rebased = |path: &mut String| {
        if Path::new(path.as_str()).is_relative() {
            *path = dir.join(path.as_str()).display().to_string();
        }
    };
    for tls in blocks_mut(options) {
        let files = [&mut tls.cert_file, &mut tls.key_file, &mut tls.ca_file];
        files.into_iter().flatten().for_each(rebased);
        for pair in &mut tls.certs {
            rebased(&mut pair.cert_file);
            rebased(&mut pair.key_file);
        }
    }
}

/// The TLS handles `setup` was built with, built again from the same blocks on the simulated
/// clock (the daemon's handles judge certificates at the real time).
pub(super) fn on_sim_clock(options: &Options, setup: &Setup) -> Result<ServerTls, String> {
    let client = tls_setup::client_block(&Args::default(), options)?;
    let mut tls = tls_setup::build(client.as_ref(), options.gateway.as_ref(), sim_clock())?;
    tls.allow_non_tls = setup.tls.allow_non_tls;
    // As the daemon does: `cluster.tls` only with a cluster port.
    if let (Some(_), Some(c)) = (&setup.cluster, &options.cluster)
        && let Some(t) = &c.tls
    {
        tls.set_routes(t, &c.routes, sim_clock())?;
    }
    Ok(tls)
}

/// How a probe client handshakes with a server whose client listener requires TLS: the
/// server's own certificate as a client certificate (for `verify`), the server not verified
/// (the probe checks the links between servers, not the client listener's name), and the
/// name to send.
pub(super) fn probe(options: &Options, host: &str) -> Option<(Arc<TlsState>, String)> {
    let block = options.tls.as_ref()?;
    let tls = Tls { insecure: true, ..block.clone() };
    let handle = TlsHandle::new(&tls, Role::Link, sim_clock()).ok()?;
    let name = match host {
        "0.0.0.0" | "::" | "" => "localhost",
        h => h,
    };
    Some((handle.current(), name.to_owned()))
}
