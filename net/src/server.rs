//! The client-serving server: an accept loop feeding connection tasks that share one core
//! [`Node`] behind a mutex.
//!
//! The node lock is held only while the core runs (a read batch, a timeout, a buffer swap),
//! never across an `.await`.

use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use strait_core::error::ClientError;
use strait_core::node::{Event, LinkId, Node, NodeConfig};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tracing::{error, info};

use crate::conn;
use crate::transport::Listener;

/// Driver-side settings that the core does not need.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// A write taking longer than this makes the client a slow consumer (default 10 s).
    pub write_deadline: Duration,
    /// How long shutdown waits for connections to flush (bounded so shutdown cannot hang).
    pub shutdown_grace: Duration,
}

impl Default for DriverConfig {
    fn default() -> Self {
        Self { write_deadline: Duration::from_secs(10), shutdown_grace: Duration::from_secs(5) }
    }
}

/// Per-connection wake-ups, indexed by the link's slot.
#[derive(Debug, Default)]
pub(crate) struct ConnHandle {
    /// The link's outbox has bytes, or the link is closing: the writer should look.
    pub(crate) writer: Notify,
    /// The link is closing: the reader should stop.
    pub(crate) reader: Notify,
}

/// The node and the driver's table of connection handles, under one lock.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) node: Node,
    handles: Vec<Option<(LinkId, Arc<ConnHandle>)>>,
}

impl State {
    pub(crate) fn register(&mut self, id: LinkId, handle: Arc<ConnHandle>) {
        let index = id.index();
        if self.handles.len() <= index {
            self.handles.resize_with(index + 1, || None);
        }
        self.handles[index] = Some((id, handle));
    }

    pub(crate) fn unregister(&mut self, id: LinkId) {
        self.node.handle_closed(id);
        if let Some(slot) = self.handles.get_mut(id.index())
            && slot.as_ref().is_some_and(|(held, _)| *held == id)
        {
            *slot = None;
        }
        self.dispatch();
    }

    /// Drain the node's events into wake-ups. Call after every node mutation.
    pub(crate) fn dispatch(&mut self) {
        while let Some(event) = self.node.poll_event() {
            match event {
                Event::Transmit(id) => {
                    if let Some(h) = self.handle(id) {
                        h.writer.notify_one();
                    }
                }
                Event::Close { link, .. } => {
                    if let Some(h) = self.handle(link) {
                        h.writer.notify_one();
                        h.reader.notify_one();
                    }
                }
            }
        }
    }

    fn handle(&self, id: LinkId) -> Option<&ConnHandle> {
        match self.handles.get(id.index()) {
            Some(Some((held, h))) if *held == id => Some(h),
            _ => None,
        }
    }
}

/// State shared by every task of one server.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    pub(crate) driver: DriverConfig,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a bug in core; keep serving the others.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Serve clients accepted from `listener` until `shutdown` completes, then close every
/// connection after flushing what is queued to it (bounded by `shutdown_grace`).
pub async fn run<L: Listener>(
    config: NodeConfig,
    driver: DriverConfig,
    seed: u64,
    mut listener: L,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let grace = driver.shutdown_grace;
    let shared = Arc::new(Shared {
        state: Mutex::new(State { node: Node::new(config, seed), handles: Vec::new() }),
        driver,
    });
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((conn, peer)) => {
                    tasks.spawn(conn::serve(shared.clone(), conn, peer));
                }
                Err(e) => {
                    // Usually EMFILE: back off instead of spinning.
                    error!("Error accepting client connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    drop(listener);
    {
        let mut state = shared.lock();
        for id in state.node.link_ids() {
            state.node.close_link(id, ClientError::ServerShutdown);
        }
        state.dispatch();
    }
    let drained =
        tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        info!("Shutdown grace period over; closing remaining connections");
        tasks.shutdown().await;
    }
    Ok(())
}
