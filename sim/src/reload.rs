//! Configuration reload in the simulation: every server has a configuration "file" the
//! harness rewrites, and a reload channel to its running incarnation, as SIGHUP gives the
//! daemon. A reload fault rewrites the file and sends it; a server that restarts (after a
//! crash) reads the file as it is then, as the daemon would.
//!
//! The faults change what operators change at run time: a remote gateway removed and added
//! back, and a user's password rotated (clients are told the new one and switch to it when
//! the server turns the old one away).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use strait_core::node::{Auth, NodeConfig};
use strait_net::reload::{self, ReloadReceiver, ReloadSender, Verdict};

use crate::invariants::Shared;
use crate::topology::{ACCOUNTS, Topology, driver_config};

/// The password of account `account`'s user while it is rotated.
pub fn rotated_password(account: usize) -> String {
    format!("{}-next", ACCOUNTS[account].2)
}

/// Every server's configuration file and its running incarnation's reload channel.
#[derive(Debug, Default)]
pub struct ConfigFiles {
    servers: BTreeMap<String, File>,
    /// Reloads sent whose verdict has not come back yet: (server, what, verdict).
    pending: Vec<(String, String, Verdict)>,
}

#[derive(Debug)]
struct File {
    config: NodeConfig,
    /// `None` while the server is down.
    running: Option<ReloadSender>,
}

/// Shared between the harness and the server hosts.
pub type Files = Rc<RefCell<ConfigFiles>>;

impl ConfigFiles {
    /// Every server's file as the topology starts it.
    pub fn new(topo: &Topology) -> Files {
        let servers = topo
            .servers
            .iter()
            .map(|s| (s.host.clone(), File { config: s.config.clone(), running: None }))
            .collect();
        Rc::new(RefCell::new(Self { servers, pending: Vec::new() }))
    }

    /// A server incarnation starts: its configuration as the file says now, and the receiver
    /// the harness's reloads arrive on.
    pub fn start(&mut self, host: &str) -> (NodeConfig, ReloadReceiver) {
        let (sender, receiver) = reload::channel();
        let file = self.servers.get_mut(host).expect("every server has a file");
        file.running = Some(sender);
        (file.config.clone(), receiver)
    }

    /// Rewrite `host`'s file with `edit` and reload the running server, if any (`what` says
    /// what changed, for the trace).
    pub fn rewrite(&mut self, host: &str, what: &str, edit: impl FnOnce(&mut NodeConfig)) {
        let Some(file) = self.servers.get_mut(host) else { return };
        edit(&mut file.config);
        let config = file.config.clone();
        // A server that crashed reads the file when it restarts.
        if let Some(verdict) =
            file.running.as_ref().and_then(|s| s.submit(config, driver_config(), None).ok())
        {
            self.pending.push((host.to_owned(), what.to_owned(), verdict));
        }
    }

    /// Report every verdict that came back: an accepted reload is traced, a refused one is a
    /// violation (the harness only makes changes Strait reloads).
    pub fn collect_verdicts(&mut self, shared: &Shared) {
        self.pending.retain_mut(|(host, what, verdict)| match verdict.try_recv() {
            Ok(Ok(summary)) => {
                shared.borrow_mut().reloaded(host, what, &summary);
                false
            }
            Ok(Err(e)) => {
                shared.borrow_mut().violation(host, format!("reload ({what}) refused: {e}"));
                false
            }
            Err(tokio::sync::oneshot::error::TryRecvError::Empty) => true,
            // The incarnation crashed before applying it; the restart reads the file.
            Err(tokio::sync::oneshot::error::TryRecvError::Closed) => false,
        });
    }
}

/// Set the password of `account`'s user in `config`.
pub fn set_password(config: &mut NodeConfig, account: usize, password: String) {
    let (_, user, _) = ACCOUNTS[account];
    if let Auth::Users(users) = &mut config.auth {
        for u in users.iter_mut().filter(|u| u.user == user) {
            u.password = password.clone();
        }
    }
}
