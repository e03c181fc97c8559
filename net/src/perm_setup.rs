//! From the configuration's `permissions` blocks to compiled core permissions.

use std::sync::Arc;

use strait_conf::options::{Permissions, SubjectPermission};
use strait_core::permissions::{self, PermissionSpec, ResponseRule, SubjectRules};

/// Compile one `permissions` block.
pub fn compile(p: &Permissions) -> Arc<permissions::Permissions> {
    Arc::new(permissions::Permissions::compile(spec(p)))
}

/// One `permissions` block as the core states it (`import`/`export` of a cluster are its
/// `publish`/`subscribe`).
pub fn spec(p: &Permissions) -> PermissionSpec {
    let rules = |s: &Option<SubjectPermission>| {
        s.as_ref().map(|s| SubjectRules { allow: s.allow.clone(), deny: s.deny.clone() })
    };
    PermissionSpec {
        publish: rules(&p.publish),
        subscribe: rules(&p.subscribe),
        responses: p.allow_responses.map(|r| ResponseRule { max: r.max, expires: r.expires }),
    }
}

/// The permissions a user gets: its own, else the defaults of where it is defined
/// (nats-server `applyDefaultPermissions`: `authorization.default_permissions` for the
/// `authorization.users`, an account's `default_permissions` for that account's users).
/// `default` is the block compiled once, so its users share it.
pub fn for_user(
    own: Option<&Permissions>,
    default: Option<&Arc<permissions::Permissions>>,
) -> Option<Arc<permissions::Permissions>> {
    match own {
        Some(p) => Some(compile(p)),
        None => default.cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_permissions_win_over_defaults() {
        let o = strait_conf::load_str(
            "authorization { default_permissions { publish: [\"d\"] }\n\
             users: [ {user: a, password: x, permissions: { publish: { allow: [\"a.>\"], deny: [\"a.no\"] }, allow_responses: {max: 2} }}, {user: b, password: y} ] }\n",
            "t.conf",
        )
        .unwrap();
        let auth = o.authorization.as_ref().unwrap();
        let default = auth.default_permissions.as_ref().map(compile);
        let users = auth.users.as_ref().unwrap();
        let a = for_user(users[0].permissions.as_ref(), default.as_ref()).unwrap();
        assert!(a.publish_allowed(b"a.x") && !a.publish_allowed(b"a.no"));
        assert_eq!(a.responses().map(|r| r.max), Some(2));
        let b = for_user(users[1].permissions.as_ref(), default.as_ref()).unwrap();
        assert!(b.publish_allowed(b"d") && !b.publish_allowed(b"a.x"));
    }
}
