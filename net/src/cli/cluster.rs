//! The cluster flags (`--cluster`, `--routes`, `--cluster_name`, …) applied to the options as
//! nats-server applies them (`ConfigureOptions` and `overrideCluster` in server/opts.go): a
//! flag that was given overrides the file's `cluster {}` value, even when given empty.
//!
//! - `--cluster URL` (`--cluster_listen`): `nats://[user:pass@]host:port` sets the route
//!   listen host and port (`:-1` a random port) and the route authorization from the URL's
//!   credentials (none in the URL clears the file's user and password); an empty URL sets
//!   the port to 0, which turns clustering off.
//! - `--routes A,B`: the route URLs, replacing the file's (white space around each is
//!   ignored; empty: none). Routes need a cluster listener: from the flag or the file.
//! - `--cluster_name`, `--cluster_advertise`, `--no_advertise`, `--connect_retries`: the
//!   block's `name`, `advertise`, `no_advertise` and `connect_retries`.
//!
//! The result is checked like a file's cluster block: the flags are never refused by name.

use strait_conf::Options;
use strait_conf::options::{Authorization, Cluster, Url};

use super::Args;

/// Whether any cluster flag was given.
pub fn given(args: &Args) -> bool {
    args.routes.is_some()
        || args.cluster.is_some()
        || args.cluster_name.is_some()
        || args.cluster_advertise.is_some()
        || args.no_advertise.is_some()
        || args.connect_retries.is_some()
}

/// Apply the cluster flags of `args` to `o`; the error is nats-server's for the same flags
/// where it has one. Without cluster flags `o` is unchanged.
pub fn apply(args: &Args, o: &mut Options) -> Result<(), String> {
    if !given(args) {
        return Ok(());
    }
    let gateway_name = o.gateway.as_ref().and_then(|g| g.name.clone());
    let c = o.cluster.get_or_insert_with(Cluster::default);
    if let Some(name) = &args.cluster_name {
        c.name = non_empty(name);
        // nats-server's `validateCluster` on the merged options (the file's own block is
        // checked with positions by the configuration).
        if name.contains(' ') {
            return Err("cluster name cannot contain spaces".into());
        }
        if !name.is_empty() && gateway_name.as_ref().is_some_and(|g| g != name) {
            return Err("cluster name conflicts between cluster and gateway definitions".into());
        }
    }
    if let Some(advertise) = &args.cluster_advertise {
        c.advertise = non_empty(advertise);
    }
    if let Some(no) = args.no_advertise {
        c.no_advertise = Some(no);
    }
    if let Some(n) = args.connect_retries {
        c.connect_retries = Some(n);
    }
    if let Some(listen) = &args.cluster {
        listen_url(listen, c)?;
    }
    if let Some(routes) = &args.routes {
        c.routes = if routes.is_empty() { Vec::new() } else { route_urls(routes)? };
        // nats-server checks the flag's string: routes need somewhere to listen for them.
        let listens = args.cluster.as_deref().is_some_and(|l| !l.is_empty())
            || c.host.as_deref().is_some_and(|h| !h.is_empty())
            || c.port.is_some_and(|p| p != 0);
        if !routes.is_empty() && !listens {
            return Err("solicited routes require cluster capabilities, e.g. --cluster".into());
        }
    }
    Ok(())
}

fn non_empty(s: &str) -> Option<String> {
    Some(s.to_owned()).filter(|s| !s.is_empty())
}

/// `--cluster URL`: host, port and credentials (nats-server `overrideCluster`).
fn listen_url(text: &str, c: &mut Cluster) -> Result<(), String> {
    if text.is_empty() {
        // "This one is enough to disable clustering."
        c.port = Some(0);
        return Ok(());
    }
    // A port of -1 (random) is not a URL port: parse it as 0, then put -1 back.
    let random = text.strip_suffix(":-1");
    let parsed = match random {
        Some(head) => Url::parse(&format!("{head}:0")),
        None => Url::parse(text),
    };
    let url = parsed.map_err(|e| format!("parse {text:?}: {e}"))?;
    let Some(port) = url.port else {
        return Err(match url.host.as_str() {
            "" => "missing port in address".to_owned(),
            h => format!("address {h}: missing port in address"),
        });
    };
    c.host = Some(url.host.clone());
    c.port = Some(if random.is_some() { -1 } else { i32::from(port) });
    match (&url.user, &url.password) {
        (Some(_), None) => return Err("expected cluster password to be set".into()),
        (user, password) => {
            // Credentials in the URL replace the file's; none clear them (the file's route
            // authorization `timeout` stays).
            if user.is_some() || c.authorization.is_some() {
                let a = c.authorization.get_or_insert_with(Authorization::default);
                a.user = user.clone();
                a.password = password.clone();
            }
        }
    }
    Ok(())
}

/// `--routes`: comma-separated URLs, each trimmed. nats-server keeps a URL it cannot parse
/// and crashes on it later; Strait refuses the command line instead.
fn route_urls(text: &str) -> Result<Vec<Url>, String> {
    text.split(',')
        .map(str::trim)
        .map(|r| Url::parse(r).map_err(|e| format!("parse {r:?}: {e}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &[&str]) -> Args {
        let argv: Vec<String> = line.iter().map(|s| s.to_string()).collect();
        Args::parse(&argv).unwrap()
    }

    fn merged(file: &str, line: &[&str]) -> Result<Cluster, String> {
        let mut o = strait_conf::load_str(file, "t.conf").unwrap();
        apply(&args(line), &mut o)?;
        Ok(o.cluster.unwrap_or_default())
    }

    fn route_texts(c: &Cluster) -> Vec<String> {
        c.routes.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_cluster_url_sets_host_port_and_credentials() {
        let c = merged("", &["--cluster", "nats://127.0.0.1:6222"]).unwrap();
        assert_eq!((c.host.as_deref(), c.port), (Some("127.0.0.1"), Some(6222)));
        assert_eq!(c.authorization, None);
        let c = merged("", &["--cluster_listen=nats://ruser:rpass@[::1]:-1"]).unwrap();
        assert_eq!((c.host.as_deref(), c.port), (Some("::1"), Some(-1)));
        let a = c.authorization.unwrap();
        assert_eq!((a.user.as_deref(), a.password.as_deref()), (Some("ruser"), Some("rpass")));
    }

    #[test]
    fn bad_cluster_urls_get_nats_server_errors() {
        let err = |url: &str| merged("", &["--cluster", url]).unwrap_err();
        assert_eq!(err("nats://h"), "address h: missing port in address");
        assert_eq!(err("nats://u@h:1"), "expected cluster password to be set");
        assert!(err("nats://h:abc").starts_with("parse \"nats://h:abc\": "), "{}", err("x"));
        assert!(err("nats://[::1").starts_with("parse \"nats://[::1\": "));
    }

    #[test]
    fn flags_override_the_file_even_when_empty() {
        let file = "cluster { name: F, host: 10.0.0.1, port: 0, advertise: \"a:1\", \
                    no_advertise: true, connect_retries: 3, \
                    authorization { user: fu, password: fp, timeout: 2 }, \
                    routes: [nats://r1:1, nats://r2:2] }\n";
        let c = merged(file, &[]).unwrap();
        assert_eq!(c.name.as_deref(), Some("F"));
        assert_eq!(route_texts(&c), ["nats://r1:1", "nats://r2:2"]);

        let c = merged(
            file,
            &[
                "--cluster_name",
                "X",
                "--cluster_advertise=",
                "--no_advertise=false",
                "--connect_retries",
                "0",
                "--cluster",
                "nats://127.0.0.1:6222",
            ],
        )
        .unwrap();
        assert_eq!(c.name.as_deref(), Some("X"));
        assert_eq!(
            (c.advertise.as_deref(), c.no_advertise, c.connect_retries),
            (None, Some(false), Some(0))
        );
        assert_eq!((c.host.as_deref(), c.port), (Some("127.0.0.1"), Some(6222)));
        // No credentials in the URL: the file's are cleared, its timeout stays.
        let a = c.authorization.clone().unwrap();
        assert_eq!((a.user, a.password), (None, None));
        assert!(a.timeout.is_some());
        // The file's routes stand unless --routes is given.
        assert_eq!(route_texts(&c), ["nats://r1:1", "nats://r2:2"]);

        let c = merged(file, &["--cluster_name=", "--routes="]).unwrap();
        assert_eq!(c.name, None);
        assert!(c.routes.is_empty());
        // An empty --cluster turns clustering off.
        let c = merged("cluster { name: F, port: 0 }\n", &["--cluster", ""]).unwrap();
        assert_eq!(c.port, Some(0));
    }

    #[test]
    fn routes_are_a_comma_list_needing_a_cluster_listener() {
        let line =
            ["--cluster", "nats://h:1", "--routes", " nats://a:1 ,nats://u:p@b:2, nats://c:3"];
        let c = merged("", &line).unwrap();
        assert_eq!(route_texts(&c), ["nats://a:1", "nats://u:xxxxx@b:2", "nats://c:3"]);
        assert_eq!(
            merged("", &["--routes", "nats://a:1"]).unwrap_err(),
            "solicited routes require cluster capabilities, e.g. --cluster"
        );
        // A host in the file's block is enough, as in nats-server.
        let c = merged("cluster { host: 127.0.0.1 }\n", &["--routes", "nats://a:1"]).unwrap();
        assert_eq!(route_texts(&c), ["nats://a:1"]);
        assert!(merged("", &["--cluster", "nats://h:1", "--routes", "a:1,"]).is_err());
    }

    #[test]
    fn the_name_is_checked_as_nats_server_checks_it() {
        let err = merged("", &["--cluster_name", "a b"]).unwrap_err();
        assert_eq!(err, "cluster name cannot contain spaces");
        let gateway = "gateway { name: G, port: -1 }\n";
        let err = merged(gateway, &["--cluster_name", "X"]).unwrap_err();
        assert_eq!(err, "cluster name conflicts between cluster and gateway definitions");
        assert_eq!(merged(gateway, &["--cluster_name", "G"]).unwrap().name.as_deref(), Some("G"));
    }

    #[test]
    fn the_name_alone_is_a_cluster_block_with_a_name() {
        let c = merged("", &["--cluster_name", "X"]).unwrap();
        assert_eq!((c.name.as_deref(), c.port), (Some("X"), None));
        let c = merged("", &["--cluster", "nats://127.0.0.1:6222"]).unwrap();
        assert_eq!(c.port, Some(6222));
        let mut o = Options::default();
        apply(&args(&[]), &mut o).unwrap();
        assert_eq!(o.cluster, None, "no flag, no block");
    }
}
