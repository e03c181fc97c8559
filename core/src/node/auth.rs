//! Client authentication for the simple (non-operator) modes of nats-server §5.1.

use std::sync::Arc;

use crate::permissions::Permissions;
use crate::proto::json::ConnectOptions;

/// How clients authenticate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Auth {
    /// Anyone may connect.
    #[default]
    None,
    /// One user name and password (`--user`/`--pass`, `authorization { user, password }`).
    UserPassword {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// A shared token (`--auth`, `authorization { token }`).
    Token(String),
    /// A list of users, each bound to an account (by name; created on demand).
    Users(Vec<User>),
}

/// One entry of a `users` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
    /// Account name; `None` binds the global account.
    pub account: Option<String>,
    /// Publish/subscribe permissions (the user's own, else the default ones); `None` allows
    /// everything. nats-server gives the single-user and token modes none.
    pub permissions: Option<Arc<Permissions>>,
}

impl Auth {
    /// Whether clients must authenticate (`auth_required` in INFO).
    pub fn required(&self) -> bool {
        !matches!(self, Auth::None)
    }

    /// Check a CONNECT. `Ok(Some(name))` binds the named account, `Ok(None)` the global one.
    pub(crate) fn check<'a>(&'a self, opts: &ConnectOptions) -> Result<Option<&'a str>, ()> {
        let given = |s: &Option<String>| s.as_deref().unwrap_or("").as_bytes().to_vec();
        match self {
            Auth::None => Ok(None),
            Auth::UserPassword { user, password } => {
                let ok = ct_eq(&given(&opts.user), user.as_bytes())
                    & ct_eq(&given(&opts.pass), password.as_bytes());
                if ok { Ok(None) } else { Err(()) }
            }
            Auth::Token(token) => {
                if ct_eq(&given(&opts.auth_token), token.as_bytes()) {
                    Ok(None)
                } else {
                    Err(())
                }
            }
            Auth::Users(users) => {
                let name = opts.user.as_deref().unwrap_or("");
                let user = users.iter().find(|u| u.user == name).ok_or(())?;
                if ct_eq(&given(&opts.pass), user.password.as_bytes()) {
                    Ok(user.account.as_deref())
                } else {
                    Err(())
                }
            }
        }
    }
}

impl Auth {
    /// The permissions of the user `opts` authenticates as (call after [`Auth::check`]
    /// passed).
    pub(crate) fn permissions(&self, opts: &ConnectOptions) -> Option<Arc<Permissions>> {
        let Auth::Users(users) = self else {
            return None;
        };
        let name = opts.user.as_deref().unwrap_or("");
        users.iter().find(|u| u.user == name)?.permissions.clone()
    }
}

/// Compare secrets in time independent of where they differ.
pub(crate) fn secret_eq(a: &str, b: &str) -> bool {
    ct_eq(a.as_bytes(), b.as_bytes())
}

/// Compare secrets in time independent of where they differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(user: Option<&str>, pass: Option<&str>, token: Option<&str>) -> ConnectOptions {
        ConnectOptions {
            user: user.map(Into::into),
            pass: pass.map(Into::into),
            auth_token: token.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn user_password() {
        let a = Auth::UserPassword { user: "a".into(), password: "b".into() };
        assert!(a.required());
        assert_eq!(a.check(&opts(Some("a"), Some("b"), None)), Ok(None));
        assert!(a.check(&opts(Some("a"), Some("c"), None)).is_err());
        assert!(a.check(&opts(None, None, None)).is_err());
    }

    #[test]
    fn token() {
        let a = Auth::Token("s3cret".into());
        assert_eq!(a.check(&opts(None, None, Some("s3cret"))), Ok(None));
        assert!(a.check(&opts(None, None, Some("s3cre"))).is_err());
    }

    #[test]
    fn users_bind_accounts() {
        let a = Auth::Users(vec![
            User {
                user: "x".into(),
                password: "1".into(),
                account: Some("A".into()),
                permissions: None,
            },
            User { user: "y".into(), password: "2".into(), account: None, permissions: None },
        ]);
        assert_eq!(a.check(&opts(Some("x"), Some("1"), None)), Ok(Some("A")));
        assert_eq!(a.check(&opts(Some("y"), Some("2"), None)), Ok(None));
        assert!(a.check(&opts(Some("x"), Some("2"), None)).is_err());
        assert!(a.check(&opts(Some("z"), Some("1"), None)).is_err());
    }
}
