//! Checks across options, with nats-server's rules: what `validateOptions` refuses at startup,
//! and the TLS files that nats-server loads while reading the configuration.

use std::collections::HashSet;
use std::time::Duration;

use crate::options::decode::Sink;
use crate::options::{Options, Tls};
use crate::value::Pos;

/// Runs every check; `keys` gives the position of each top-level option (lower-cased name),
/// `file` the position used when an option has none.
pub(crate) fn validate(o: &Options, s: &mut Sink, keys: &dyn Fn(&str) -> Option<Pos>, file: &Pos) {
    let at = |name: &str| keys(name).unwrap_or_else(|| file.clone());

    // Lame duck: grace period strictly below the duration (defaults 10 s and 2 min).
    let ldd = o.lame_duck_duration.unwrap_or(Duration::from_secs(120));
    let ldg = o.lame_duck_grace_period.unwrap_or(Duration::from_secs(10));
    if ldg >= ldd {
        let pos = keys("lame_duck_grace_period").unwrap_or_else(|| at("lame_duck_duration"));
        s.conflict(
            &pos,
            "lame_duck_grace_period",
            format!("expected less than lame_duck_duration ({ldd:?}), found {ldg:?}"),
        );
    }

    // max_payload <= max_pending (defaults 1 MiB and 64 MiB).
    let payload = o.max_payload.unwrap_or(1 << 20);
    let pending = o.max_pending.unwrap_or(64 << 20);
    if payload > pending {
        let pos = keys("max_payload").unwrap_or_else(|| at("max_pending"));
        s.conflict(
            &pos,
            "max_payload",
            format!("max_payload ({payload}) cannot be higher than max_pending ({pending})"),
        );
    }

    auth(o, s, &at);
    gateway(o, s, &at);

    if let (Some(c), Some(g)) = (&o.cluster, &o.gateway)
        && let (Some(cn), Some(gn)) = (&c.name, &g.name)
        && cn != gn
    {
        let pos = c.loc.0.clone().unwrap_or_else(|| at("cluster"));
        s.conflict(
            &pos,
            "cluster.name",
            format!("the cluster name {cn:?} must equal the gateway name {gn:?} (or be left out)"),
        );
    }
    if let Some(c) = &o.cluster
        && !c.accounts.is_empty()
    {
        let pos = c.loc.0.clone().unwrap_or_else(|| at("cluster"));
        if c.pool_size.is_some_and(|p| p < 0) {
            s.conflict(
                &pos,
                "cluster.pool_size",
                "pool_size cannot be negative when accounts are pinned",
            );
        }
        let mut seen = HashSet::new();
        for a in &c.accounts {
            if !seen.insert(a) {
                s.conflict(&pos, "cluster.accounts", format!("account {a:?} is listed twice"));
            }
        }
    }

    // TLS material: nats-server loads it while reading the file, so `-t` fails without it.
    let mut tls_blocks: Vec<(&Tls, String)> = Vec::new();
    if let Some(t) = &o.tls {
        tls_blocks.push((t, "tls".to_owned()));
    }
    if let Some(c) = &o.cluster
        && let Some(t) = &c.tls
    {
        tls_blocks.push((t, "cluster.tls".to_owned()));
    }
    if let Some(g) = &o.gateway {
        if let Some(t) = &g.tls {
            tls_blocks.push((t, "gateway.tls".to_owned()));
        }
        for (i, r) in g.gateways.iter().enumerate() {
            if let Some(t) = &r.tls {
                tls_blocks.push((t, format!("gateway.gateways[{i}].tls")));
            }
        }
    }
    for (t, name) in tls_blocks {
        let pos = t.loc.0.clone().unwrap_or_else(|| file.clone());
        tls_files(t, s, &pos, &name);
    }
}

fn auth(o: &Options, s: &mut Sink, at: &dyn Fn(&str) -> Pos) {
    let mut names: HashSet<String> = HashSet::new();
    let mut any_users = false;
    let single = o.authorization.as_ref().is_some_and(|a| a.user.is_some());
    let token = o.authorization.as_ref().is_some_and(|a| a.token.is_some());
    let mut check = |u: &crate::options::User, where_: &str, s: &mut Sink| {
        let id = u.nkey.as_deref().or(u.user.as_deref()).unwrap_or("");
        let pos = u.loc.0.clone().unwrap_or_else(|| at(where_));
        if !names.insert(id.to_owned()) {
            let what = if u.nkey.is_some() { "nkey" } else { "user" };
            s.conflict(&pos, where_, format!("{what} {id:?} is defined twice"));
        }
    };
    if let Some(users) = o.authorization.as_ref().and_then(|a| a.users.as_ref()) {
        any_users = true;
        for u in users {
            check(u, "authorization.users", s);
        }
    }
    for acc in &o.accounts {
        if acc.users.is_empty() {
            continue;
        }
        any_users = true;
        let pos = acc.loc.0.clone().unwrap_or_else(|| at("accounts"));
        let option = format!("accounts.{}", acc.name);
        if single {
            s.conflict(
                &pos,
                &option,
                "a single authorization user cannot be combined with users in accounts",
            );
        }
        if token {
            s.conflict(
                &pos,
                &option,
                "an authorization token cannot be combined with users in accounts",
            );
        }
        for u in &acc.users {
            check(u, &format!("{option}.users"), s);
        }
    }
    if let Some(nau) = &o.no_auth_user {
        let pos = at("no_auth_user");
        if !any_users {
            s.conflict(
                &pos,
                "no_auth_user",
                format!("{nau:?} is set, but no users or nkeys are defined"),
            );
        } else if !names.contains(nau) {
            s.conflict(
                &pos,
                "no_auth_user",
                format!(
                    "{nau:?} is not a user or nkey of the authorization block or of an account"
                ),
            );
        }
    }
}

fn gateway(o: &Options, s: &mut Sink, at: &dyn Fn(&str) -> Pos) {
    let Some(g) = &o.gateway else { return };
    let pos = g.loc.0.clone().unwrap_or_else(|| at("gateway"));
    let port = g.port.filter(|p| *p != 0);
    match (&g.name, port) {
        (None, None) => return,
        (None, Some(_)) => {
            s.conflict(
                &pos,
                "gateway.name",
                "the gateway has a port but no name: add name: <cluster name>",
            );
            return;
        }
        (Some(n), None) => {
            s.conflict(
                &pos,
                "gateway.port",
                format!("gateway {n:?} has no port: add port (or listen); -1 picks a random port"),
            );
            return;
        }
        (Some(_), Some(_)) => {}
    }
    for (i, r) in g.gateways.iter().enumerate() {
        let rpos = r.loc.0.clone().unwrap_or_else(|| pos.clone());
        let option = format!("gateway.gateways[{i}]");
        if r.name.is_empty() {
            s.conflict(&rpos, &option, "the remote gateway has no name");
        } else if r.urls.is_empty() {
            s.conflict(&rpos, &option, format!("remote gateway {:?} has no url or urls", r.name));
        }
    }
}

/// Certificate, key and CA files must be readable PEM (the certificates are parsed when the
/// listeners start).
fn tls_files(t: &Tls, s: &mut Sink, pos: &Pos, option: &str) {
    let mut check = |file: &Option<String>, name: &str, marker: &str| {
        let Some(f) = file else { return };
        let p = format!("{option}.{name}");
        match std::fs::read(f) {
            Err(e) => s.error(pos, &p, format!("cannot read {f:?}: {e}")),
            Ok(bytes) => {
                if !String::from_utf8_lossy(&bytes).contains(marker) {
                    s.error(pos, &p, format!("expected PEM data with a '{marker}' line in {f:?}"));
                }
            }
        }
    };
    if t.cert_file.is_some() && t.key_file.is_some() {
        check(&t.cert_file, "cert_file", "-----BEGIN CERTIFICATE-----");
        check(&t.key_file, "key_file", "PRIVATE KEY-----");
    }
    check(&t.ca_file, "ca_file", "-----BEGIN CERTIFICATE-----");
    for (i, pair) in t.certs.iter().enumerate() {
        if !pair.cert_file.is_empty() && !pair.key_file.is_empty() {
            check(
                &Some(pair.cert_file.clone()),
                &format!("certs[{i}].cert_file"),
                "-----BEGIN CERTIFICATE-----",
            );
            check(
                &Some(pair.key_file.clone()),
                &format!("certs[{i}].key_file"),
                "PRIVATE KEY-----",
            );
        }
    }
}
