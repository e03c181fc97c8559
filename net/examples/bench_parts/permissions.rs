//! Publish permissions on the hot path: raw pub→sub throughput for a user whose publish allow
//! list has 100 entries (wildcards among them) and one deny entry, on strait and nats-server,
//! and on strait against a user without permissions on the same server.

use std::path::PathBuf;

use super::common::{Kind, Server};
use super::load::raw_fanout_as;
use super::{Metric, ORDER, Opts, Unit, metric, record};

/// The configuration: `p` is restricted, `s` (subscriber) and `free` are not.
fn config() -> String {
    let mut allow: Vec<String> = (0..99)
        .map(|i| match i % 3 {
            0 => format!("\"svc.{i}.*\""),
            1 => format!("\"svc.{i}.>\""),
            _ => format!("\"svc.{i}.x\""),
        })
        .collect();
    // The benchmark subject is allowed through a wildcard entry.
    allow.push("\"bench.*\"".to_owned());
    format!(
        "authorization {{ users: [\n\
         {{ user: p, password: p, permissions: {{ publish: {{ allow: [{}], deny: [\"bench.secret\"] }} }} }}\n\
         {{ user: s, password: p }}\n\
         {{ user: free, password: p }}\n\
         ] }}\n",
        allow.join(", ")
    )
}

fn connect(user: &str) -> String {
    format!(r#"{{"verbose":false,"pedantic":false,"echo":false,"user":"{user}","pass":"p"}}"#)
}

/// Per payload size: strait vs nats-server with the restricted publisher, and strait with the
/// restricted publisher vs strait with an unrestricted one.
pub(super) fn permission_cases(
    programs: &[PathBuf; 2],
    opts: &Opts,
    flags: &[&str],
) -> Vec<Metric> {
    let dir = std::env::temp_dir().join(format!("strait-bench-perms-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("perms.conf");
    std::fs::write(&path, config()).expect("config file");
    let path = path.display().to_string();
    let mut args = vec!["-c", path.as_str()];
    args.extend_from_slice(flags);
    let servers: Vec<Server> =
        ORDER.iter().zip(programs).map(|(&k, p)| Server::spawn(k, p, &args)).collect();
    let restricted = connect("p");
    let free = connect("free");
    let sub = connect("s");
    let mut vs_nats = Vec::new();
    let mut vs_free = Vec::new();
    for &size in &opts.sizes {
        vs_nats
            .push(metric(&format!("pub→sub raw {size} B, 100-entry pub perms"), Unit::MsgsPerSec));
        // Column 1 is strait with permissions, column 2 strait without (same server).
        vs_free.push(metric(&format!("  strait perms / strait none {size} B"), Unit::MsgsPerSec));
    }
    for run in 0..opts.runs {
        let order: Vec<usize> = if run % 2 == 0 { vec![0, 1] } else { vec![1, 0] };
        eprintln!("permissions run {}/{}", run + 1, opts.runs);
        for (c, &size) in opts.sizes.iter().enumerate() {
            for &i in &order {
                let a = servers[i].addr();
                let r = raw_fanout_as(a, &[a], size, opts, &restricted, &sub);
                if ORDER[i] == Kind::Strait {
                    vs_free[c].samples[0].push(r.as_ref().ok().copied());
                }
                record(&mut vs_nats[c], i, r);
            }
            let strait = ORDER.iter().position(|k| *k == Kind::Strait).unwrap_or(0);
            let a = servers[strait].addr();
            let r = raw_fanout_as(a, &[a], size, opts, &free, &sub);
            record(&mut vs_free[c], 1, r);
        }
    }
    drop(servers);
    let _ = std::fs::remove_dir_all(&dir);
    vs_nats.into_iter().zip(vs_free).flat_map(|(a, b)| [a, b]).collect()
}
