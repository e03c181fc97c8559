//! Rough timings of the sublist's hot paths: `cargo bench -p strait-core --bench sublist`.
//!
//! std only (no bench framework): each case runs a fixed number of iterations and prints the
//! mean time per operation.

use std::hint::black_box;
use std::time::Instant;

use strait_core::sublist::Sublist;

/// Runs `f` `iterations` times and prints the mean nanoseconds per call.
fn time(name: &str, iterations: u32, mut f: impl FnMut(u32)) {
    let start = Instant::now();
    for i in 0..iterations {
        f(i);
    }
    let ns = start.elapsed().as_nanos() as f64 / f64::from(iterations);
    println!("{name:<48} {ns:>10.1} ns/op");
}

/// A sublist shaped like a busy account: 10 000 literal subscriptions over three levels, some
/// wildcards and a queue group.
fn populated() -> Sublist<u32> {
    let mut sl = Sublist::new(7);
    let mut value = 0;
    for a in 0..10 {
        for b in 0..10 {
            for c in 0..100 {
                sl.insert(format!("svc{a}.op{b}.item{c}").as_bytes(), None, value)
                    .expect("valid subject");
                value += 1;
            }
        }
        sl.insert(format!("svc{a}.*.item1").as_bytes(), None, value).expect("valid subject");
        value += 1;
        sl.insert(format!("svc{a}.>").as_bytes(), Some(b"workers"), value).expect("valid subject");
        value += 1;
    }
    sl
}

fn main() {
    let mut sl = populated();
    let subjects: Vec<Vec<u8>> = (0..512)
        .map(|i| format!("svc{}.op{}.item{}", i % 10, i % 7, i % 100).into_bytes())
        .collect();

    // Warm the cache, then measure hits.
    for s in &subjects {
        black_box(sl.matches(s));
    }
    time("matches, cache hit", 2_000_000, |i| {
        black_box(sl.matches(&subjects[i as usize % subjects.len()]));
    });
    time("has_interest, cache hit", 2_000_000, |i| {
        black_box(sl.has_interest(&subjects[i as usize % subjects.len()]));
    });

    // Misses: more distinct subjects than the cache holds, cycled so nearly every lookup misses
    // (this includes the periodic sweeps).
    let many: Vec<Vec<u8>> = (0..20_000)
        .map(|i| format!("svc{}.op{}.item{}", i % 10, (i / 10) % 10, (i / 100) % 100).into_bytes())
        .collect();
    time("matches, cache miss (trie walk + cache insert)", 200_000, |i| {
        black_box(sl.matches(&many[(i as usize * 7919) % many.len()]));
    });

    // Inserts and removes against a warm cache (literal: one cache probe; wildcard: cache scan).
    for s in &subjects {
        black_box(sl.matches(s));
    }
    let fresh: Vec<Vec<u8>> =
        (0..100_000).map(|i| format!("inbox.{i}.reply").into_bytes()).collect();
    time("insert literal (new subject)", 100_000, |i| {
        black_box(sl.insert(&fresh[i as usize], None, 1_000_000 + i).expect("valid subject"));
    });
    time("remove literal", 100_000, |i| {
        black_box(sl.remove(&fresh[i as usize], None, 1_000_000 + i));
    });
    time("insert literal (existing subject)", 100_000, |i| {
        black_box(sl.insert(b"svc1.op1.item1", None, 2_000_000 + i).expect("valid subject"));
    });
    let wild: Vec<Vec<u8>> =
        (0..10_000).map(|i| format!("svc{}.*.item{i}", i % 10).into_bytes()).collect();
    time("insert wildcard (scans the full cache)", 10_000, |i| {
        black_box(sl.insert(&wild[i as usize], None, 3_000_000 + i).expect("valid subject"));
    });
}
