//! Which TLS configuration each listener, each remote gateway and the routes use, built from
//! the `tls {}` blocks and the `--tls*` flags as nats-server resolves them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use strait_conf::Options;
use strait_conf::options::{Gateway, Tls, Url};

use crate::cli::Args;
use crate::tls::{Clock, Role, TlsHandle, TlsState};

/// The TLS handles of one server; `None` means plaintext.
#[derive(Clone, Debug, Default)]
pub struct ServerTls {
    /// The client listener (top-level `tls {}` or `--tls*` flags).
    pub client: Option<Arc<TlsHandle>>,
    /// The gateway listener, implicit remotes and remotes without their own block.
    pub gateway: Option<Arc<TlsHandle>>,
    /// Remotes with their own `tls {}` block, by gateway name.
    pub remotes: HashMap<String, Arc<TlsHandle>>,
    /// Routes, both directions (`cluster.tls`, only with a cluster port).
    pub route: Option<Arc<TlsHandle>>,
    /// `allow_non_tls`: clients may stay in plaintext (the server sniffs the first byte).
    pub allow_non_tls: bool,
    /// Per remote, the first host name seen among its URLs: the TLS server name when one of
    /// its URLs is an IP address (nats-server's `tlsName`; routes under [`ROUTES`]).
    names: Arc<Mutex<HashMap<String, String>>>,
}

/// The key of the routes' saved TLS server name among the remotes' ones (a gateway name
/// cannot contain a space, so no remote has it).
pub const ROUTES: &str = " routes";

impl ServerTls {
    /// Add route TLS from `cluster.tls` (mutual, both directions); the first host name among
    /// `routes` is verified when a route is dialled by IP address (nats-server's
    /// `routeTLSName`).
    pub fn set_routes(&mut self, tls: &Tls, routes: &[Url], clock: Clock) -> Result<(), String> {
        self.route = Some(Arc::new(TlsHandle::new(tls, Role::Link, clock)?));
        if let Some(u) = routes.iter().find(|u| u.host.parse::<IpAddr>().is_err()) {
            let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
            names.insert(ROUTES.to_owned(), u.host.clone());
        }
        Ok(())
    }

    /// The configuration to dial remote gateway `name` with, if TLS.
    pub fn for_remote(&self, name: &str) -> Option<Arc<TlsState>> {
        self.remotes.get(name).or(self.gateway.as_ref()).map(|h| h.current())
    }

    /// The name to verify when dialling `host` of remote `remote`: `host` itself unless it
    /// is an IP address and a host name of that remote is known. Dialled host names are
    /// remembered.
    pub fn server_name(&self, remote: &str, host: &str) -> String {
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        if host.parse::<IpAddr>().is_err() {
            names.entry(remote.to_owned()).or_insert_with(|| host.to_owned());
            return host.to_owned();
        }
        names.get(remote).cloned().unwrap_or_else(|| host.to_owned())
    }

    /// The certificate of `remote` did not match `name`: forget it if it was a saved name.
    pub fn name_failed(&self, remote: &str, name: &str) {
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        if names.get(remote).is_some_and(|n| n == name) {
            names.remove(remote);
        }
    }

    /// Reload certificates, keys, CAs and pins from reloaded options: [`ServerTls::prepare`]
    /// then [`StagedTls::install`].
    pub fn reload(
        &self,
        client: Option<&Tls>,
        gateway: Option<&Gateway>,
        route: Option<&Tls>,
    ) -> Result<(), String> {
        self.prepare(client, gateway, route)?.install();
        Ok(())
    }

    /// Build every block of reloaded options (`route`: `cluster.tls` when the cluster has a
    /// port) without using any: nothing changes unless all build. Adding or removing a `tls`
    /// block needs a restart.
    pub fn prepare(
        &self,
        client: Option<&Tls>,
        gateway: Option<&Gateway>,
        route: Option<&Tls>,
    ) -> Result<StagedTls, String> {
        let mut staged = Vec::new();
        let mut stage =
            |handle: &Option<Arc<TlsHandle>>, tls: Option<&Tls>, what: &str| match (handle, tls) {
                (Some(h), Some(t)) => {
                    staged.push((h.clone(), h.prepare(t)?));
                    Ok(())
                }
                (None, None) => Ok(()),
                _ => Err(format!("adding or removing {what} TLS needs a restart")),
            };
        stage(&self.client, client, "client")?;
        stage(&self.gateway, gateway.and_then(|g| g.tls.as_ref()), "gateway")?;
        stage(&self.route, route, "route")?;
        for (name, h) in &self.remotes {
            let tls = gateway
                .and_then(|g| g.gateways.iter().find(|r| &r.name == name))
                .and_then(|r| r.tls.as_ref());
            stage(&Some(h.clone()), tls, &format!("gateway \"{name}\""))?;
        }
        Ok(StagedTls { staged })
    }

    /// Pins checked on every client handshake (the top-level block's).
    pub fn client_pins(&self) -> Vec<String> {
        self.client.as_ref().map(|h| h.current().pins.clone()).unwrap_or_default()
    }

    /// Pins checked on every gateway handshake: the gateway block's, in both directions (a
    /// remote's own `pinned_certs` is not used, as in nats-server).
    pub fn gateway_pins(&self) -> Vec<String> {
        self.gateway.as_ref().map(|h| h.current().pins.clone()).unwrap_or_default()
    }

    /// Pins checked on every route handshake, both directions.
    pub fn route_pins(&self) -> Vec<String> {
        self.route.as_ref().map(|h| h.current().pins.clone()).unwrap_or_default()
    }
}

/// Reloaded TLS blocks, built and waiting to be used.
#[derive(Debug)]
pub struct StagedTls {
    staged: Vec<(Arc<TlsHandle>, Arc<TlsState>)>,
}

impl StagedTls {
    /// From now on new handshakes use the reloaded blocks; established links keep theirs.
    pub fn install(self) {
        for (handle, state) in self.staged {
            handle.install(state);
        }
    }
}

/// The client `tls {}` in force: `--tls*` flags replace the file's block (nats-server's
/// `overrideTLS`), and then need a certificate and a key.
pub fn client_block(args: &Args, o: &Options) -> Result<Option<Tls>, String> {
    match args.tls_override {
        None => return Ok(o.tls.clone()),
        // `--tls=false`: nats-server drops client TLS, the file's block included.
        Some(false) => return Ok(None),
        Some(true) => {}
    }
    let cert = args.tls_cert.clone().ok_or("TLS Server certificate must be present and valid")?;
    let key = args.tls_key.clone().ok_or("TLS Server private key must be present and valid")?;
    Ok(Some(Tls {
        cert_file: Some(cert),
        key_file: Some(key),
        ca_file: args.tls_ca_cert.clone(),
        verify: args.tls_verify,
        ..Tls::default()
    }))
}

/// Every handle the server needs, certificate time taken from `clock`.
pub fn build(
    client: Option<&Tls>,
    gateway: Option<&Gateway>,
    clock: Clock,
) -> Result<ServerTls, String> {
    let handle = |tls: &Tls, role| TlsHandle::new(tls, role, clock.clone()).map(Arc::new);
    let mut out = ServerTls {
        client: client.map(|t| handle(t, Role::Client)).transpose()?,
        ..ServerTls::default()
    };
    if let Some(g) = gateway {
        out.gateway = g.tls.as_ref().map(|t| handle(t, Role::Link)).transpose()?;
        let mut names = HashMap::new();
        for r in &g.gateways {
            if let Some(t) = &r.tls {
                // A remote's block without `timeout` takes the gateway block's.
                let timeout = t.timeout.or(g.tls.as_ref().and_then(|g| g.timeout));
                let t = Tls { timeout, ..t.clone() };
                out.remotes.insert(r.name.clone(), handle(&t, Role::Remote)?);
            }
            if let Some(u) = r.urls.iter().find(|u| u.host.parse::<IpAddr>().is_err()) {
                names.insert(r.name.clone(), u.host.clone());
            }
        }
        out.names = Arc::new(Mutex::new(names));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_dials_verify_a_saved_host_name() {
        let t = ServerTls::default();
        assert_eq!(t.server_name("B", "127.0.0.1"), "127.0.0.1");
        assert_eq!(t.server_name("B", "gw.example"), "gw.example");
        assert_eq!(t.server_name("B", "127.0.0.1"), "gw.example");
        assert_eq!(t.server_name("C", "127.0.0.1"), "127.0.0.1");
        t.name_failed("B", "gw.example");
        assert_eq!(t.server_name("B", "127.0.0.1"), "127.0.0.1");
    }

    #[test]
    fn routes_dialled_by_ip_verify_the_first_route_host_name() {
        let mut t = ServerTls::default();
        let url = |h: &str| Url {
            scheme: "nats".into(),
            user: None,
            password: None,
            host: h.to_owned(),
            port: Some(6222),
        };
        let routes = [url("127.0.0.1"), url("r2.example"), url("r3.example")];
        let tls = Tls { insecure: true, ..Tls::default() };
        t.set_routes(&tls, &routes, crate::tls::system_clock()).expect("route TLS");
        assert_eq!(t.server_name(ROUTES, "127.0.0.1"), "r2.example");
        assert!(t.route.is_some());
    }
}
