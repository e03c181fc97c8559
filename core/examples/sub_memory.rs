//! Live heap bytes per subscription in the core (counting allocator): 100k subscriptions on
//! one client, with and without a gateway. `cargo run --release -p strait-core --example
//! sub_memory`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use bytes::BytesMut;
use strait_core::gateway::{GatewayConfig, GatewayUrl};
use strait_core::node::{Node, NodeConfig};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: defers to the system allocator; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn measure(config: NodeConfig, label: &str, subject: fn(usize) -> String) {
    const N: usize = 100_000;
    let now = Instant::now();
    let mut node = Node::new(config, 1);
    node.start(now);
    let c = node.accept_client(now, None);
    let mut buf = BytesMut::from(&b"CONNECT {\"verbose\":false}\r\n"[..]);
    node.handle_read(c, now, &mut buf);
    while node.poll_event().is_some() {}
    let before = LIVE.load(Ordering::Relaxed);
    for i in 0..N {
        let mut buf = BytesMut::from(format!("SUB {} {i}\r\n", subject(i)).as_bytes());
        node.handle_read(c, now, &mut buf);
    }
    while node.poll_event().is_some() {}
    let after = LIVE.load(Ordering::Relaxed);
    println!("{label}: {} bytes per subscription", (after - before) / N as isize);
}

fn main() {
    // Unique last token, and a unique middle token (one single-child trie level per subject).
    type Shape = (&'static str, fn(usize) -> String);
    let shapes: [Shape; 2] = [
        ("bench.sub.<i>", |i| format!("bench.sub.{i}")),
        ("bench.subs.<i>.x", |i| format!("bench.subs.{i}.x")),
    ];
    for (shape, subject) in shapes {
        measure(NodeConfig::default(), &format!("{shape}, no gateway"), subject);
        let gateway = GatewayConfig::new("A", GatewayUrl::new("127.0.0.1", 7222));
        let config = NodeConfig { gateway: Some(gateway), ..NodeConfig::default() };
        measure(config, &format!("{shape}, with gateway"), subject);
    }
}
