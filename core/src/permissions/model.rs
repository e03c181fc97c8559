//! A naive model of nats-server's permission matching, token by token over the plain entry
//! lists, and the differential check the `permissions` fuzz target runs against the compiled
//! matchers.

use std::sync::Arc;
use std::time::Instant;

use super::{ClientPermissions, PermissionSpec, Permissions, SubjectRules};

/// Tokens the decoder builds subjects from: literals, wildcards, a wildcard-looking literal
/// and the empty token (which makes entries invalid and tested subjects unmatchable).
const TOKENS: [&str; 8] = ["a", "b", "c", "*", ">", "", "a*", "*b"];

/// Queue names (wildcard ones exercise `queueMatches`' subset rule).
const QUEUES: [&str; 6] = ["q", "r", "q.*", "*", ">", "q.>"];

/// Decode `data` into a permission spec and test subjects; check every verdict of the compiled
/// permissions against the naive model. Panics on a difference.
pub(crate) fn check(data: &[u8]) {
    let mut bytes = data.iter().copied();
    let mut next = move || bytes.next();
    let Some(head) = next() else { return };
    let list = |n: u8, queues: bool, next: &mut dyn FnMut() -> Option<u8>| {
        (0..n).filter_map(|_| entry(next, queues)).collect::<Vec<_>>()
    };
    let counts = next().unwrap_or(0);
    let publish = (head & 1 != 0).then(|| SubjectRules {
        allow: list(counts & 3, head & 8 != 0, &mut next),
        deny: list((counts >> 2) & 3, head & 8 != 0, &mut next),
    });
    let subscribe = (head & 2 != 0).then(|| SubjectRules {
        allow: list((counts >> 4) & 3, true, &mut next),
        deny: list(counts >> 6, true, &mut next),
    });
    let responses = (head & 4 != 0).then(Default::default);
    let spec = PermissionSpec { publish, subscribe, responses };
    let compiled = Arc::new(Permissions::compile(spec.clone()));
    let mut client = ClientPermissions::new(Arc::clone(&compiled), u64::from(head));
    let now = Instant::now();
    while let Some(test) = entry(&mut next, true) {
        let (subject, queue) = match test.split_once(' ') {
            Some((s, q)) => (s, Some(q)),
            None => (test.as_str(), None),
        };
        let (s, q) = (subject.as_bytes(), queue.map(str::as_bytes));
        let want = model_publish(&spec, subject);
        assert_eq!(compiled.publish_allowed(s), want, "publish {subject:?} under {spec:?}");
        if spec.responses.is_none() {
            // Twice: the second answer comes from the cache.
            assert_eq!(client.publish_allowed(s, now), want, "publish {subject:?} (cache miss)");
            assert_eq!(client.publish_allowed(s, now), want, "publish {subject:?} (cache hit)");
        }
        let want = model_subscribe(&spec, subject, queue);
        assert_eq!(compiled.subscribe_allowed(s, q), want, "SUB {test:?} under {spec:?}");
        let want = model_delivery_denied(&spec, subject, queue);
        assert_eq!(compiled.delivery_denied(s, q), want, "deliver {test:?} under {spec:?}");
    }
}

fn entry(next: &mut dyn FnMut() -> Option<u8>, queues: bool) -> Option<String> {
    let b = next()?;
    let mut s = String::new();
    for i in 0..=(b & 3) {
        if i > 0 {
            s.push('.');
        }
        s.push_str(TOKENS[usize::from(next()? % 8)]);
    }
    if queues && b & 0x80 != 0 {
        s.push(' ');
        s.push_str(QUEUES[usize::from(next()? % 6)]);
    }
    Some(s)
}

/// nats-server `IsValidSubject` for the alphabet above (no white space in it).
fn valid(s: &str) -> bool {
    let tokens: Vec<&str> = s.split('.').collect();
    !s.is_empty()
        && tokens.iter().all(|t| !t.is_empty())
        && tokens.iter().position(|t| *t == ">").is_none_or(|at| at == tokens.len() - 1)
}

/// Does entry `pattern` match `subject`, taking the subject's tokens literally?
fn matches(pattern: &str, subject: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let s: Vec<&str> = subject.split('.').collect();
    if s.iter().any(|t| t.is_empty()) {
        return false;
    }
    for (i, pt) in p.iter().enumerate() {
        if *pt == ">" {
            return s.len() > i;
        }
        let Some(st) = s.get(i) else { return false };
        if *pt != "*" && pt != st {
            return false;
        }
        // A literal entry token never equals a tested wildcard: entries store `*`/`>` apart.
        if *pt != "*" && (*st == "*" || *st == ">") {
            return false;
        }
    }
    p.len() == s.len()
}

/// Entry string → (subject, queue) when valid (nats-server `splitSubjectQueue`).
fn split(e: &str) -> Option<(&str, Option<&str>)> {
    let mut f = e.split_whitespace();
    let s = f.next().filter(|s| valid(s))?;
    let q = match f.next() {
        None => None,
        Some(q) if valid(q) => Some(q),
        Some(_) => return None,
    };
    Some((s, q))
}

fn model_publish(spec: &PermissionSpec, subject: &str) -> bool {
    let (allow, deny) = match &spec.publish {
        Some(p) => (&p.allow[..], &p.deny[..]),
        None => (&[][..], &[][..]),
    };
    let has_allow = !allow.is_empty() || spec.responses.is_some();
    let allowed =
        !has_allow || allow.iter().any(|e| !e.contains(' ') && valid(e) && matches(e, subject));
    allowed && !deny.iter().filter_map(|e| split(e)).any(|(s, _)| matches(s, subject))
}

/// (a plain entry matched, the queue names of the matching queue entries).
fn lookup<'a>(list: &'a [String], subject: &str) -> (bool, Vec<&'a str>) {
    let mut plain = false;
    let mut queues = Vec::new();
    for (s, q) in list.iter().filter_map(|e| split(e)) {
        if matches(s, subject) {
            match q {
                None => plain = true,
                Some(q) => queues.push(q),
            }
        }
    }
    (plain, queues)
}

fn queue_admits(queue: &str, names: &[&str]) -> bool {
    names.iter().any(|name| {
        let wild = name.split('.').any(|t| t == "*" || t == ">");
        queue == *name || (wild && subset(queue, name))
    })
}

/// nats-server `isSubsetMatchTokenized`, written over token vectors.
fn subset(queue: &str, name: &str) -> bool {
    let a: Vec<&str> = queue.split('.').collect();
    let b: Vec<&str> = name.split('.').collect();
    for (i, t2) in b.iter().enumerate() {
        let Some(t1) = a.get(i) else { return false };
        if t2.is_empty() {
            return false;
        }
        if *t2 == ">" {
            return true;
        }
        if t1.is_empty() || *t1 == ">" {
            return false;
        }
        if *t1 == "*" {
            if *t2 != "*" {
                return false;
            }
        } else if !t2.starts_with('*') && t1 != t2 {
            return false;
        }
    }
    a.len() == b.len()
}

fn model_subscribe(spec: &PermissionSpec, subject: &str, queue: Option<&str>) -> bool {
    let Some(rules) = &spec.subscribe else { return true };
    let mut allowed = true;
    if !rules.allow.is_empty() {
        let (plain, queues) = lookup(&rules.allow, subject);
        allowed = plain;
        if let Some(q) = queue
            && !queues.is_empty()
        {
            allowed = queue_admits(q, &queues);
        }
    }
    if allowed && !rules.deny.is_empty() {
        let (plain, queues) = lookup(&rules.deny, subject);
        allowed = !plain;
        if allowed
            && let Some(q) = queue
            && !queues.is_empty()
        {
            allowed = !queue_admits(q, &queues);
        }
    }
    allowed
}

fn model_delivery_denied(spec: &PermissionSpec, subject: &str, queue: Option<&str>) -> bool {
    let Some(rules) = spec.subscribe.as_ref().filter(|r| !r.deny.is_empty()) else {
        return false;
    };
    let (plain, queues) = lookup(&rules.deny, subject);
    plain || queue.is_some_and(|q| !queues.is_empty() && queue_admits(q, &queues))
}

#[cfg(test)]
mod tests {
    #[test]
    fn some_inputs() {
        let mut seed = 1u64;
        for _ in 0..3000 {
            let data: Vec<u8> = (0..64)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (seed >> 33) as u8
                })
                .collect();
            super::check(&data);
        }
    }
}
