//! Turmoil behaviour the auditor's stream count depends on (see `Checker::node_started`).

use std::cell::Cell;
use std::future::pending;
use std::rc::Rc;
use std::time::Duration;

use turmoil::net::{TcpListener, TcpStream};

/// Host "dialler" dials "server" (first incarnation only), which accepts if `accept`; the
/// dialler crashes and restarts half a second in (past the largest message latency). Returns
/// the turmoil streams counted on the dialler a second later.
fn streams_left_on_dialler(accept: bool) -> usize {
    let mut sim = turmoil::Builder::new().build();
    sim.host("server", move || async move {
        let listener = TcpListener::bind(("0.0.0.0", 7222)).await?;
        let mut held = Vec::new();
        if accept {
            loop {
                held.push(listener.accept().await?);
            }
        }
        pending::<()>().await;
        Ok(())
    });
    let first = Rc::new(Cell::new(true));
    sim.host("dialler", move || {
        let dial = first.replace(false);
        async move {
            let _stream = if dial { TcpStream::connect(("server", 7222)).await.ok() } else { None };
            pending::<()>().await;
            Ok(())
        }
    });
    for _ in 0..500 {
        sim.step().unwrap();
    }
    sim.crash("dialler");
    sim.bounce("dialler");
    let left = Rc::new(Cell::new(usize::MAX));
    let seen = left.clone();
    sim.client("observer", async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        seen.set(turmoil::established_tcp_stream_count_on("dialler"));
        Ok(())
    });
    sim.run().unwrap();
    left.get()
}

/// A dial still waiting for its SYN-ACK when its host crashes leaves a stream that no
/// incarnation holds on that host for good: turmoil registers the socket when `connect` sends
/// the SYN and only a `TcpStream`'s drop removes it (seed 20905).
#[test]
fn a_dial_cut_short_by_a_crash_stays_counted_on_the_dialler() {
    // The server never accepts, so the dial waits for its SYN-ACK until the crash.
    assert_eq!(streams_left_on_dialler(false), 1);
}

/// The contrast: a connected stream is dropped with its crashed process.
#[test]
fn a_connected_stream_goes_with_its_crashed_host() {
    assert_eq!(streams_left_on_dialler(true), 0);
}
