//! Which accounts the probes check delivery in, and how a probe logs in to each on each server.
//!
//! A server's accounts are those of its users (a user outside `accounts {}`, a single user, a
//! token or no authorization at all is the global account, `$G`). On each server, each account
//! with a user the probes can log in as (a plain or empty password, or a plain token; not a
//! bcrypt hash, not an nkey) gets a probe logged in as the first such user. Messages cross
//! gateways and routes in the account they were published in, by name, so a pair of servers is
//! checked in every account both serve.
//!
//! One user name in accounts of different names on different servers (`t` in `TEAM` on one
//! cluster, in `TEAMS` on another) is taken as one account misnamed: those accounts are
//! checked as one, under the first name, and the pair's lines say where the user landed.
//! Accounts that import or export each other's streams are out of scope: a probe only
//! expects messages published in the account it checks.

use strait_core::node::{Auth, is_bcrypt};

use super::{ServerFile, root};
use crate::probe::Login;

/// The global account's name, as nats-server calls it.
const GLOBAL: &str = "$G";

/// An ordered pair of servers (file indices) in one checked account (an index of
/// [`Accounts::names`]): what one probe's arrival at another is counted under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Pair {
    /// The account checked.
    pub(crate) account: usize,
    /// The publishing server.
    pub(crate) from: usize,
    /// The receiving server.
    pub(crate) to: usize,
}

/// One probe: where it connects, which account it checks, how it logs in.
#[derive(Clone, Debug)]
pub(crate) struct Probe {
    /// The server (file index).
    pub(crate) server: usize,
    /// The account checked (index of [`Accounts::names`]).
    pub(crate) account: usize,
    /// How it logs in (`None`: without credentials).
    pub(crate) login: Option<Login>,
    /// The account the server puts it in (differs from the checked name when misnamed there).
    pub(crate) home: String,
}

/// The accounts checked and their probes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Accounts {
    /// The accounts checked, in order of first appearance in the files.
    names: Vec<String>,
    /// Per server and checked account at most one probe, in file order. Every server has at
    /// least one (without credentials in the global account when it has no usable user, so
    /// its pairs are still checked and reported as the server answers).
    pub(crate) probes: Vec<Probe>,
}

impl Accounts {
    /// The accounts of `files` and a probe per server and account.
    pub(crate) fn of(files: &[ServerFile]) -> Self {
        let logins: Vec<Vec<(String, String, Option<Login>)>> = files.iter().map(logins).collect();
        // Account names joined by a user name they share, on any servers.
        let mut names: Vec<String> = Vec::new();
        let mut group: Vec<usize> = Vec::new();
        for (account, user, _) in logins.iter().flatten() {
            let i = index(&mut names, &mut group, account);
            let same = |(_, u, _): &&(String, String, Option<Login>)| !u.is_empty() && u == user;
            for (other, _, _) in logins.iter().flatten().filter(same) {
                let j = index(&mut names, &mut group, other);
                let (ri, rj) = (root(&group, i), root(&group, j));
                // The first name seen stays the group's name.
                group[ri.max(rj)] = ri.min(rj);
            }
        }
        let roots: Vec<usize> = (0..names.len()).filter(|&i| root(&group, i) == i).collect();
        let mut probes = Vec::new();
        for (server, own) in logins.into_iter().enumerate() {
            let before = probes.len();
            for (home, _, login) in own {
                let named = names.iter().position(|n| *n == home).unwrap_or_default();
                let account = roots.iter().position(|&r| r == root(&group, named));
                let account = account.unwrap_or_default();
                if !probes[before..].iter().any(|p: &Probe| p.account == account) {
                    probes.push(Probe { server, account, login, home });
                }
            }
            if probes.len() == before {
                let account = names.iter().position(|n| n == GLOBAL).map(|i| root(&group, i));
                let account = account.and_then(|a| roots.iter().position(|&r| r == a));
                let account = account.unwrap_or(roots.len());
                probes.push(Probe { server, account, login: None, home: GLOBAL.to_owned() });
            }
        }
        let mut names: Vec<String> = roots.iter().map(|&r| names[r].clone()).collect();
        if probes.iter().any(|p| p.account == names.len()) {
            names.push(GLOBAL.to_owned());
        }
        Self { names, probes }
    }

    /// The accounts both `x` and `y` are probed in.
    pub(crate) fn shared(&self, x: usize, y: usize) -> Vec<usize> {
        let of = |s: usize| self.probes.iter().filter(move |p| p.server == s).map(|p| p.account);
        of(x).filter(|a| of(y).any(|b| b == *a)).collect()
    }

    /// What a pair's lines say about its account: nothing when one account is checked, else
    /// ` in account NAME`, and where the checked account is misnamed, what it is called on
    /// each end (`names[s]` names server `s`).
    pub(crate) fn label(&self, pair: Pair, names: &[&str]) -> Option<String> {
        if self.names.len() < 2 {
            return None;
        }
        let name = &self.names[pair.account];
        let misnamed: Vec<String> = [pair.from, pair.to]
            .iter()
            .filter_map(|&s| {
                let p = self.probes.iter().find(|p| p.server == s && p.account == pair.account)?;
                (p.home != *name).then(|| format!("{} on {}", p.home, names[s]))
            })
            .collect();
        Some(match misnamed.is_empty() {
            true => name.clone(),
            false => format!("{name} ({})", misnamed.join(", ")),
        })
    }
}

/// ` in account LABEL`, or nothing: the words a pair's line adds for its account.
pub(crate) fn in_account(label: Option<&str>) -> String {
    label.map(|l| format!(" in account {l}")).unwrap_or_default()
}

/// Per account of `f` (in the order its users are listed), a user and how a probe logs in as
/// it: (account, user, login).
fn logins(f: &ServerFile) -> Vec<(String, String, Option<Login>)> {
    let plain = |p: &str| !is_bcrypt(p);
    match &f.setup.node.auth {
        Auth::None => vec![(GLOBAL.to_owned(), String::new(), None)],
        Auth::UserPassword { user, password } if plain(password) => {
            let login = Login::User(user.clone(), password.clone());
            vec![(GLOBAL.to_owned(), user.clone(), Some(login))]
        }
        Auth::Token(token) if plain(token) => {
            vec![(GLOBAL.to_owned(), String::new(), Some(Login::Token(token.clone())))]
        }
        Auth::Users(users) => users
            .iter()
            .filter(|u| !u.nkey && plain(&u.password))
            .map(|u| {
                let account = u.account.clone().unwrap_or_else(|| GLOBAL.to_owned());
                let login = Login::User(u.user.clone(), u.password.clone());
                (account, u.user.clone(), Some(login))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The index of `name` in `names`, added (as its own group) if new.
fn index(names: &mut Vec<String>, group: &mut Vec<usize>, name: &str) -> usize {
    if let Some(i) = names.iter().position(|n| n == name) {
        return i;
    }
    names.push(name.to_owned());
    group.push(group.len());
    names.len() - 1
}
