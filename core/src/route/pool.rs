//! Route pooling (route-protocol §1.2, §1.3): two servers are joined by `pool_size`
//! connections, each carrying the accounts whose FNV-1a hash falls on its index, plus one
//! connection per pinned account (`cluster.accounts`). A peer that announces no pool (or a
//! server with `pool_size: -1`) gets one connection for everything. The solicitor fills every
//! index: nats-server sends an account's interest only on the account's index, so an index
//! left empty would silently cut those accounts off.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::dial::DialId;
use crate::error::RouteError;
use crate::node::LinkId;
use crate::peer_url::PeerUrl;
use crate::proto::route_json::RouteInfo;

/// The account nats-server always pins (its system account's default name).
const SYSTEM_ACCOUNT: &str = "$SYS";

/// nats-server's `DEFAULT_ROUTE_POOL_SIZE`.
pub const DEFAULT_POOL_SIZE: i32 = 3;

/// Which accounts one route connection carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Every account (no pooling on one side).
    NoPool,
    /// The accounts whose pool index is this.
    Pool(usize),
    /// One account only; its name is left out of the protocol lines.
    Pinned(String),
}

/// The pool index of `account` for a pool of `size` (nats-server `computeRoutePoolIdx`).
pub fn pool_index(account: &[u8], size: usize) -> usize {
    if size <= 1 {
        return 0;
    }
    let mut h: u32 = 0x811c_9dc5;
    for b in account {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h % size as u32) as usize
}

/// Every route connection to one server of our cluster.
#[derive(Debug)]
pub(crate) struct Peer {
    /// One connection carries everything.
    pub(crate) no_pool: bool,
    /// Pooled connections by index (one entry without pooling).
    pub(crate) pool: Vec<Option<LinkId>>,
    /// Connections pinned to one account.
    pub(crate) pinned: BTreeMap<String, LinkId>,
    /// Where we dialled it, if we did: missing pool connections are dialled there.
    pub(crate) url: Option<PeerUrl>,
    /// The hash of its server id in `_GR_.` replies that are its to deliver.
    pub(crate) reply_hash: [u8; 6],
}

impl Peer {
    /// Every registered connection.
    pub(crate) fn links(&self) -> impl Iterator<Item = LinkId> + '_ {
        self.pool.iter().flatten().copied().chain(self.pinned.values().copied())
    }

    /// No connection left.
    pub(crate) fn is_empty(&self) -> bool {
        self.links().next().is_none()
    }

    /// The connection that carries `account` (its interest and messages), if it is up.
    pub(crate) fn link_for(&self, account: &str, our_pinned: &[String]) -> Option<LinkId> {
        if let Some(&l) = self.pinned.get(account) {
            return Some(l);
        }
        if self.no_pool {
            return self.pool.first().copied().flatten();
        }
        let slot = Slot::Pool(pool_index(account.as_bytes(), self.pool.len()));
        let Slot::Pool(i) = slot else {
            return None;
        };
        self.carries(&slot, account, our_pinned).then(|| self.pool[i]).flatten()
    }

    /// Whether the connection in `slot` carries `account`: its pinned connection, or (not
    /// pinned by either side, and the system account never is pooled, as nats-server pins
    /// it) the pool index the account hashes to.
    pub(crate) fn carries(&self, slot: &Slot, account: &str, our_pinned: &[String]) -> bool {
        match slot {
            Slot::NoPool => true,
            Slot::Pinned(a) => a == account,
            Slot::Pool(i) => {
                let pinned = account == SYSTEM_ACCOUNT
                    || self.pinned.contains_key(account)
                    || our_pinned.iter().any(|a| a == account);
                !pinned && pool_index(account.as_bytes(), self.pool.len()) == *i
            }
        }
    }

    /// The connection in `slot` (without pooling: the one connection), if any.
    pub(crate) fn get(&self, slot: &Slot) -> Option<LinkId> {
        match slot {
            Slot::NoPool => self.links().next(),
            Slot::Pool(i) => self.pool.get(*i).copied().flatten(),
            Slot::Pinned(a) => self.pinned.get(a).copied(),
        }
    }

    /// Put `link` in `slot`.
    pub(crate) fn set(&mut self, slot: &Slot, link: LinkId) {
        match slot {
            Slot::NoPool => self.pool = vec![Some(link)],
            Slot::Pool(i) => {
                if let Some(s) = self.pool.get_mut(*i) {
                    *s = Some(link);
                }
            }
            Slot::Pinned(a) => {
                self.pinned.insert(a.clone(), link);
            }
        }
    }

    /// Take `link` out; returns the slot it had.
    pub(crate) fn remove(&mut self, link: LinkId) -> Option<Slot> {
        if let Some(i) = self.pool.iter().position(|l| *l == Some(link)) {
            self.pool[i] = None;
            return Some(if self.no_pool { Slot::NoPool } else { Slot::Pool(i) });
        }
        let account = self.pinned.iter().find(|(_, l)| **l == link).map(|(a, _)| a.clone())?;
        self.pinned.remove(&account);
        Some(Slot::Pinned(account))
    }

    /// The slots a solicitor still has to dial: empty pool indexes and our pinned accounts.
    pub(crate) fn missing(&self, pinned: &[String]) -> Vec<Slot> {
        if self.no_pool {
            return Vec::new();
        }
        let pool = (0..self.pool.len()).filter(|i| self.pool[*i].is_none()).map(Slot::Pool);
        let pinned = pinned.iter().filter(|a| !self.pinned.contains_key(*a)).cloned();
        pool.chain(pinned.map(Slot::Pinned)).collect()
    }
}

/// Which slot the connection whose first INFO is `info` takes (route-protocol §1.3), given
/// our `pool_size` (≤ 0: no pool), whether we dialled it and the slot we asked for then.
pub(crate) fn admit(
    info: &RouteInfo,
    our_pool_size: i32,
    solicited: bool,
    wanted: Option<&Slot>,
) -> Result<(Slot, usize), RouteError> {
    let ours = usize::try_from(our_pool_size).unwrap_or(0);
    let theirs = usize::try_from(info.route_pool_size).unwrap_or(0);
    if theirs == 0 || ours == 0 {
        if !info.route_account.is_empty() {
            return Err(RouteError::PinnedWithoutPool(info.route_account.clone()));
        }
        return Ok((Slot::NoPool, 1));
    }
    let size = ours.max(theirs);
    if !info.route_account.is_empty() {
        return Ok((Slot::Pinned(info.route_account.clone()), size));
    }
    if solicited {
        if info.route_pool_idx != 0 {
            return Err(RouteError::PoolIndexSet(info.route_pool_idx));
        }
        return Ok((wanted.cloned().unwrap_or(Slot::Pool(0)), size));
    }
    match usize::try_from(info.route_pool_idx) {
        Ok(i) if i < size => Ok((Slot::Pool(i), size)),
        _ => Err(RouteError::InvalidPoolIndex { index: info.route_pool_idx, size: theirs as i64 }),
    }
}

/// A pool connection we still have to make to a registered peer.
#[derive(Clone, Debug)]
pub(crate) struct ExtraDial {
    pub(crate) peer_id: String,
    pub(crate) slot: Slot,
    pub(crate) url: PeerUrl,
    pub(crate) state: ExtraState,
}

/// Where an [`ExtraDial`] stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExtraState {
    /// Due at this time.
    Waiting(Instant),
    /// In flight.
    Dialing(DialId),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_indexes_match_nats_server() {
        // route-protocol §1.2 test vectors, pool size 3.
        for (account, index) in [("$G", 2), ("$SYS", 0), ("ACC1", 2), ("A", 0), ("FOO", 0)] {
            assert_eq!(pool_index(account.as_bytes(), 3), index, "{account}");
        }
        assert_eq!(pool_index(b"$G", 1), 0);
    }

    #[test]
    fn admission_follows_the_pool_rules() {
        let info = |size: i64, idx: i64, account: &str| RouteInfo {
            route_pool_size: size,
            route_pool_idx: idx,
            route_account: account.into(),
            ..RouteInfo::default()
        };
        assert_eq!(admit(&info(0, 0, ""), 3, false, None), Ok((Slot::NoPool, 1)));
        assert_eq!(admit(&info(3, 0, ""), -1, false, None), Ok((Slot::NoPool, 1)));
        assert_eq!(
            admit(&info(0, 0, "$SYS"), 3, false, None),
            Err(RouteError::PinnedWithoutPool("$SYS".into()))
        );
        assert_eq!(admit(&info(3, 2, ""), 3, false, None), Ok((Slot::Pool(2), 3)));
        assert_eq!(admit(&info(5, 4, ""), 3, false, None), Ok((Slot::Pool(4), 5)));
        assert_eq!(
            admit(&info(3, 5, ""), 3, false, None),
            Err(RouteError::InvalidPoolIndex { index: 5, size: 3 })
        );
        assert_eq!(admit(&info(3, 0, "$SYS"), 3, true, None), Ok((Slot::Pinned("$SYS".into()), 3)));
        assert_eq!(admit(&info(3, 1, ""), 3, true, None), Err(RouteError::PoolIndexSet(1)));
        assert_eq!(admit(&info(3, 0, ""), 3, true, Some(&Slot::Pool(2))), Ok((Slot::Pool(2), 3)));
    }
}
