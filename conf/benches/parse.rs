//! Parser throughput on a generated 1 MB configuration (plain std timing).
//!
//! `cargo bench -p strait-conf --bench parse`

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A realistic 1 MB file: accounts with users and permissions, and a gateway with many
/// remotes, comments, quoted and unquoted strings, sizes and durations.
fn generate(target: usize) -> String {
    let mut s = String::with_capacity(target + 4096);
    s.push_str(
        "# generated benchmark configuration\nserver_name: bench\nport: 4222\nmax_payload: 1MB\n",
    );
    s.push_str("ping_interval: \"2m\"\nauthorization { timeout: 2 }\naccounts {\n");
    let mut i = 0;
    while s.len() < target / 2 {
        let _ = writeln!(
            s,
            "  ACC{i} {{\n    users: [\n      {{user: \"u{i}a\", password: \"p{i}\", permissions: {{publish: [\"a.{i}.>\"], subscribe: [\"b.{i}.*\", \"_INBOX.>\"]}}}}\n      {{user: u{i}b, password: 'q{i}'}} # second user\n    ]\n  }}"
        );
        i += 1;
    }
    s.push_str("}\ngateway {\n  name: A\n  port: 7222\n  gateways: [\n");
    let mut j = 0;
    while s.len() < target {
        let _ = writeln!(
            s,
            "    {{name: \"G{j}\", urls: [\"nats://g{j}a.example.net:7222\", \"nats://g{j}b.example.net:7222\"]}}"
        );
        j += 1;
    }
    s.push_str("  ]\n}\n");
    s
}

fn time<T>(runs: u32, mut f: impl FnMut() -> T) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        black_box(f());
        best = best.min(start.elapsed());
    }
    best
}

fn main() {
    let src = generate(1 << 20);
    let mb = src.len() as f64 / (1 << 20) as f64;
    let parse = time(20, || strait_conf::parse_str(&src, "bench.conf").expect("parses"));
    let load = time(20, || strait_conf::load_str(&src, "bench.conf").expect("loads"));
    for (what, d) in [("parse (value tree)", parse), ("load (tree + typed + validated)", load)] {
        let ms = d.as_secs_f64() * 1000.0;
        println!(
            "{what:32} {:.2} MB in {ms:7.2} ms = {:7.1} MB/s (best of 20)",
            mb,
            mb / d.as_secs_f64()
        );
    }
}
