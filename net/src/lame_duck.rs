//! Lame-duck mode in the daemon: the timers around the core's plan.
//!
//! `SIGUSR2` (or `strait --signal ldm`) sends on the [`LameDuckSender`]; the server's accept
//! loop then stops accepting clients (nats-server closes its client listener) and runs
//! [`run`]: the node enters lame-duck mode and says which clients to close and how fast
//! ([`strait_core::node::LameDuckPlan`]); this module waits out the grace period, logs
//! nats-server's `Closing existing clients`, closes them one by one with the `Server
//! Shutdown` reason, and returns, after which the server shuts down as on `SIGINT`.

use std::sync::Arc;
use std::time::Duration;

use strait_conf::Options;
use strait_core::error::DriverClose;
use strait_core::node::{DEFAULT_LAME_DUCK_DURATION, DEFAULT_LAME_DUCK_GRACE_PERIOD};
use tokio::sync::mpsc;
use tracing::info;

use crate::server::Shared;

/// `lame_duck_duration` and `lame_duck_grace_period` (these need a restart to change, as in
/// nats-server, so they are read once at start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LameDuckTimes {
    /// The whole lame-duck period (default 2 min).
    pub duration: Duration,
    /// The wait before the first client is closed (default 10 s).
    pub grace: Duration,
}

impl Default for LameDuckTimes {
    fn default() -> Self {
        Self { duration: DEFAULT_LAME_DUCK_DURATION, grace: DEFAULT_LAME_DUCK_GRACE_PERIOD }
    }
}

impl LameDuckTimes {
    /// The times of a configuration file (none: the defaults). Zero means the default, as in
    /// nats-server.
    pub fn from_options(o: Option<&Options>) -> Self {
        let pick = |v: Option<Duration>, default| v.filter(|d| !d.is_zero()).unwrap_or(default);
        Self {
            duration: pick(o.and_then(|o| o.lame_duck_duration), DEFAULT_LAME_DUCK_DURATION),
            grace: pick(o.and_then(|o| o.lame_duck_grace_period), DEFAULT_LAME_DUCK_GRACE_PERIOD),
        }
    }
}

/// Asks a running server to enter lame-duck mode.
#[derive(Clone, Debug)]
pub struct LameDuckSender(mpsc::UnboundedSender<()>);

impl LameDuckSender {
    /// Enter lame-duck mode (a no-op when already in it, or once the server is gone).
    pub fn enter(&self) {
        let _ = self.0.send(());
    }
}

/// The server's side: the times and the requests.
#[derive(Debug)]
pub struct LameDuck {
    pub(crate) times: LameDuckTimes,
    pub(crate) requests: mpsc::UnboundedReceiver<()>,
}

/// A sender for the signal handler and the receiver for [`crate::server::Extras`].
pub fn channel(times: LameDuckTimes) -> (LameDuckSender, LameDuck) {
    let (tx, requests) = mpsc::unbounded_channel();
    (LameDuckSender(tx), LameDuck { times, requests })
}

/// Enter lame-duck mode and close the clients as the node plans; returns when the server
/// should shut down. The caller has already stopped accepting clients. Dropping the future
/// (a `SIGINT` meanwhile) stops the closing; the shutdown then closes the rest.
pub(crate) async fn run(shared: Arc<Shared>, times: LameDuckTimes) {
    let plan = {
        let mut state = shared.lock();
        let plan = state.node.enter_lame_duck(times.duration, times.grace);
        state.dispatch();
        plan
    };
    let Some(plan) = plan else { return std::future::pending().await };
    if plan.steps.is_empty() {
        return;
    }
    tokio::time::sleep(plan.grace).await;
    info!("Closing existing clients");
    for step in plan.steps {
        {
            let mut state = shared.lock();
            state.node.close_link(step.link, DriverClose::Shutdown);
            state.dispatch();
        }
        if let Some(pause) = step.pause_after {
            tokio::time::sleep(pause).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_default_as_nats_server() {
        assert_eq!(LameDuckTimes::from_options(None), LameDuckTimes::default());
        let o = strait_conf::load_str(
            "lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"1s\"\n",
            "t.conf",
        )
        .unwrap();
        let t = LameDuckTimes::from_options(Some(&o));
        assert_eq!((t.duration, t.grace), (Duration::from_secs(30), Duration::from_secs(1)));
        let o = strait_conf::load_str("lame_duck_grace_period: \"0s\"\n", "t.conf").unwrap();
        assert_eq!(LameDuckTimes::from_options(Some(&o)).grace, DEFAULT_LAME_DUCK_GRACE_PERIOD);
    }
}
