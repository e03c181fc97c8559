//! Accounts: isolation domains, each with its own subscription index.

use crate::node::SubKey;
use crate::sublist::Sublist;

/// Index of an account in the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub(crate) u32);

/// Name of the global account clients land in when auth does not pick one.
pub const GLOBAL_ACCOUNT: &str = "$G";

/// An account's `limits` (nats-server's meaning; `None` is unlimited).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccountLimits {
    /// Most clients bound to the account at once.
    pub max_connections: Option<u64>,
    /// Most subscriptions per client of the account.
    pub max_subscriptions: Option<u64>,
    /// Largest payload a client of the account may publish.
    pub max_payload: Option<u64>,
}

/// One account.
#[derive(Debug)]
pub struct Account {
    /// Account name.
    pub name: String,
    /// Local subscriptions of the account's clients.
    pub sublist: Sublist<SubKey>,
    /// Its limits.
    pub limits: AccountLimits,
    /// Clients bound to it now (for `limits.max_connections`).
    pub clients: u64,
}

impl Account {
    /// An empty account.
    pub fn new(name: String, hash_seed: u64) -> Self {
        Self {
            name,
            sublist: Sublist::new(hash_seed),
            limits: AccountLimits::default(),
            clients: 0,
        }
    }
}
