//! Publish/subscribe permissions, enforced as nats-server 2.15 enforces them.
//!
//! A [`PermissionSpec`] is what the configuration says (`permissions { publish, subscribe,
//! allow_responses }`). [`Permissions::compile`] turns it into matchers once per user; every
//! client that authenticates as that user shares them through an `Arc` and keeps its own small
//! state in a [`ClientPermissions`]: a bounded cache of publish verdicts, the reply subjects it
//! may answer (`allow_responses`) and whether deliveries must be checked against the subscribe
//! deny list.
//!
//! The semantics, all nats-server's (`server/client.go`):
//!
//! * **Publish**: with an allow list, a subject must match an entry; a subject matching a deny
//!   entry is refused. Tokens of the published subject are taken literally, so publishing to
//!   `foo.*` needs an entry `foo.*`, `foo.>` or `>`.
//! * **Subscribe**: the subscription subject is matched against the lists the same way (a
//!   subscription `foo.*` is *not* allowed by an entry `foo.bar`). Entries may name a queue
//!   (`"foo q"`): a queue subscription is allowed by a plain entry unless a queue entry also
//!   matches, in which case the queue must be one of them; a plain subscription needs a plain
//!   entry. Deny entries work the other way round.
//! * **Deny on delivery**: a wildcard subscription that merely overlaps a deny entry is allowed
//!   (`foo.*` with deny `foo.bar`), but messages matching the deny entry are not delivered to
//!   it.
//! * **Responses**: with `allow_responses`, publishing is denied unless allowed (an absent
//!   publish allow list becomes an empty one), except to the reply subjects of messages the
//!   client received, at most `max` times each within `expires`.

mod cache;
mod client;
pub(crate) mod model;
mod replies;
mod trie;

use std::fmt;
use std::time::Duration;

pub use cache::MAX_ENTRIES as MAX_PUBLISH_CACHE;
pub use client::ClientPermissions;
pub use replies::MAX_REPLIES;
use trie::RuleTrie;

/// What a permissions block says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PermissionSpec {
    /// `publish`: subjects the user may publish to.
    pub publish: Option<SubjectRules>,
    /// `subscribe`: subjects the user may subscribe to; entries may be `"subject queue"`.
    pub subscribe: Option<SubjectRules>,
    /// `allow_responses`.
    pub responses: Option<ResponseRule>,
}

/// Allow and deny lists (wildcards allowed). An empty allow list means "no allow list".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubjectRules {
    /// Allowed subjects.
    pub allow: Vec<String>,
    /// Denied subjects.
    pub deny: Vec<String>,
}

/// `allow_responses`: how often and how long a received reply subject may be published to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseRule {
    /// Responses per reply subject (nats-server default 1).
    pub max: u64,
    /// How long after delivery the reply subject may be used (default 2 minutes).
    pub expires: Duration,
}

impl Default for ResponseRule {
    fn default() -> Self {
        Self { max: 1, expires: Duration::from_secs(120) }
    }
}

/// A compiled [`PermissionSpec`], shared by every client of one user.
pub struct Permissions {
    spec: PermissionSpec,
    pub_allow: Option<RuleTrie>,
    pub_deny: Option<RuleTrie>,
    sub_allow: Option<RuleTrie>,
    sub_deny: Option<RuleTrie>,
    /// Subjects of the subscribe deny entries, to tell whether a subscription overlaps one.
    sub_deny_subjects: Vec<Box<[u8]>>,
    /// Entries nats-server would log as invalid and skip.
    skipped: Vec<String>,
}

impl Permissions {
    /// Compile `spec`. Invalid entries are skipped (see [`Permissions::skipped`]); the
    /// configuration loader refuses them before this point.
    pub fn compile(spec: PermissionSpec) -> Self {
        let mut skipped = Vec::new();
        let mut pub_allow = None;
        let mut pub_deny = None;
        if let Some(p) = &spec.publish {
            // `allow_responses` turns an absent allow list into an empty one: deny by default.
            if !p.allow.is_empty() || spec.responses.is_some() {
                let mut t = RuleTrie::default();
                for entry in &p.allow {
                    match valid(entry) {
                        Some(s) => t.insert(s, None),
                        None => skipped.push(format!("invalid publish subject {entry:?}")),
                    }
                }
                pub_allow = Some(t);
            }
            if !p.deny.is_empty() {
                let mut t = RuleTrie::default();
                for entry in &p.deny {
                    // A queue qualifier means nothing here; its subject part is still denied.
                    match split_subject_queue(entry) {
                        Some((s, _)) => t.insert(s, None),
                        None => skipped.push(format!("invalid publish deny subject {entry:?}")),
                    }
                }
                pub_deny = Some(t);
            }
        } else if spec.responses.is_some() {
            pub_allow = Some(RuleTrie::default());
        }
        let mut sub_allow = None;
        let mut sub_deny = None;
        let mut sub_deny_subjects = Vec::new();
        if let Some(s) = &spec.subscribe {
            if !s.allow.is_empty() {
                let mut t = RuleTrie::default();
                for entry in &s.allow {
                    match split_subject_queue(entry) {
                        Some((subj, q)) => t.insert(subj, q),
                        None => skipped.push(format!("invalid subject-queue {entry:?}")),
                    }
                }
                sub_allow = Some(t);
            }
            if !s.deny.is_empty() {
                let mut t = RuleTrie::default();
                for entry in &s.deny {
                    match split_subject_queue(entry) {
                        Some((subj, q)) => {
                            t.insert(subj, q);
                            sub_deny_subjects.push(subj.into());
                        }
                        None => skipped.push(format!("invalid subject-queue {entry:?}")),
                    }
                }
                sub_deny = Some(t);
            }
        }
        Self { spec, pub_allow, pub_deny, sub_allow, sub_deny, sub_deny_subjects, skipped }
    }

    /// The spec this was compiled from.
    pub fn spec(&self) -> &PermissionSpec {
        &self.spec
    }

    /// Entries that were skipped, in nats-server's log words (`invalid publish subject "…"`).
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// Whether any publish rule applies (otherwise every publish is allowed at no cost).
    pub fn restricts_publish(&self) -> bool {
        self.pub_allow.is_some() || self.pub_deny.is_some()
    }

    /// The allow/deny verdict for publishing to `subject`, without response permissions.
    pub fn publish_allowed(&self, subject: &[u8]) -> bool {
        let allowed = self.pub_allow.as_ref().is_none_or(|t| t.matches_plain(subject));
        allowed && !self.pub_deny.as_ref().is_some_and(|t| t.matches_plain(subject))
    }

    /// Whether a subscription to `subject` (in `queue`, if any) is allowed (nats-server
    /// `canSubscribe`, without the `_sys_` queue rule, which applies to every client).
    pub fn subscribe_allowed(&self, subject: &[u8], queue: Option<&[u8]>) -> bool {
        let mut allowed = true;
        if let Some(allow) = &self.sub_allow {
            let m = allow.summary(subject, queue);
            allowed = m.plain;
            if queue.is_some() && m.queues {
                allowed = m.queue_matches;
            }
        }
        if allowed && let Some(deny) = &self.sub_deny {
            let m = deny.summary(subject, queue);
            allowed = !m.plain;
            if allowed && queue.is_some() && m.queues {
                allowed = !m.queue_matches;
            }
        }
        allowed
    }

    /// Whether a subscription to `subject` could receive messages a deny entry forbids, so
    /// that deliveries must be filtered (nats-server `loadMsgDenyFilterIfNeeded`).
    pub fn overlaps_deny(&self, subject: &[u8], queue: bool) -> bool {
        (queue || trie::has_wildcard(subject))
            && self
                .sub_deny_subjects
                .iter()
                .any(|d| **d == *subject || crate::subject::intersects(d, subject))
    }

    /// Whether a message on `subject` must not be delivered to a subscription in `queue`
    /// (nats-server `checkDenySub`).
    pub fn delivery_denied(&self, subject: &[u8], queue: Option<&[u8]>) -> bool {
        let Some(deny) = &self.sub_deny else {
            return false;
        };
        let m = deny.summary(subject, queue);
        m.plain || (queue.is_some() && m.queue_matches)
    }

    /// `allow_responses`, if set.
    pub fn responses(&self) -> Option<ResponseRule> {
        self.spec.responses
    }
}

impl PartialEq for Permissions {
    fn eq(&self, other: &Self) -> bool {
        self.spec == other.spec
    }
}

impl Eq for Permissions {}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Permissions").field(&self.spec).finish()
    }
}

/// A valid subject (nats-server `IsValidSubject`: no white space, no empty token, `>` last).
fn valid(entry: &str) -> Option<&[u8]> {
    let b = entry.as_bytes();
    let ok = !b.iter().any(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c'))
        && crate::subject::validate_subscribe(b).is_ok();
    ok.then_some(b)
}

/// nats-server `splitSubjectQueue`: `"subject"` or `"subject queue"`, both valid subjects.
fn split_subject_queue(entry: &str) -> Option<(&[u8], Option<&[u8]>)> {
    let mut fields = entry.split_ascii_whitespace();
    let subject = valid(fields.next()?)?;
    let queue = match fields.next() {
        None => None,
        Some(q) => Some(valid(q)?),
    };
    if fields.next().is_some() {
        return None;
    }
    Some((subject, queue))
}

#[cfg(test)]
mod tests;
