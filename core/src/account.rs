//! Accounts: isolation domains, each with its own subscription index.

use crate::node::SubKey;
use crate::sublist::Sublist;

/// Index of an account in the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub(crate) u32);

/// Name of the global account clients land in when auth does not pick one.
pub const GLOBAL_ACCOUNT: &str = "$G";

/// One account.
#[derive(Debug)]
pub struct Account {
    /// Account name.
    pub name: String,
    /// Local subscriptions of the account's clients.
    pub sublist: Sublist<SubKey>,
}

impl Account {
    /// An empty account.
    pub fn new(name: String, hash_seed: u64) -> Self {
        Self { name, sublist: Sublist::new(hash_seed) }
    }
}
