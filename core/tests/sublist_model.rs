//! Model check of the sublist: random insert/remove/match sequences over a tiny token alphabet
//! (so patterns collide, repeat and overlap), compared with a naive list of entries matched one by
//! one with `subject::matches`.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use proptest::prelude::*;
use strait_core::subject;
use strait_core::sublist::{Match, QueueGroup, Sublist};

#[derive(Debug, Clone)]
enum Op {
    Insert(String, Option<String>, u8),
    Remove(String, Option<String>, u8),
    Match(String),
    HasInterest(String),
    Subjects,
}

/// Subjects of one to four tokens; the empty token is rare so most subjects are valid.
fn subject_strategy() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        4 => Just("a"),
        4 => Just("b"),
        2 => Just("c"),
        3 => Just("*"),
        2 => Just(">"),
        1 => Just(""),
    ];
    prop::collection::vec(token, 1..=4).prop_map(|tokens| tokens.join("."))
}

fn queue_strategy() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some("q1".to_owned())),
        1 => Just(Some("q2".to_owned())),
    ]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (subject_strategy(), queue_strategy(), 0u8..6)
            .prop_map(|(s, q, v)| Op::Insert(s, q, v)),
        2 => (subject_strategy(), queue_strategy(), 0u8..6)
            .prop_map(|(s, q, v)| Op::Remove(s, q, v)),
        4 => subject_strategy().prop_map(Op::Match),
        1 => subject_strategy().prop_map(Op::HasInterest),
        1 => Just(Op::Subjects),
    ]
}

/// The reference: every stored entry in a set, matched by brute force.
#[derive(Default)]
struct Model {
    entries: BTreeSet<(String, Option<String>, u8)>,
}

impl Model {
    fn matches(&self, published: &str) -> Match<u8> {
        let mut plain = BTreeSet::new();
        let mut queues: BTreeMap<&str, BTreeSet<u8>> = BTreeMap::new();
        for (pattern, queue, value) in &self.entries {
            if !subject::matches(pattern.as_bytes(), published.as_bytes()) {
                continue;
            }
            match queue {
                None => {
                    plain.insert(*value);
                }
                Some(q) => {
                    queues.entry(q).or_default().insert(*value);
                }
            }
        }
        Match {
            plain: plain.into_iter().collect(),
            queues: queues
                .into_iter()
                .map(|(name, members)| QueueGroup {
                    name: Bytes::copy_from_slice(name.as_bytes()),
                    members: members.into_iter().collect(),
                })
                .collect(),
        }
    }

    fn subjects(&self) -> Vec<(Bytes, Option<Bytes>)> {
        let keys: BTreeSet<_> = self
            .entries
            .iter()
            .map(|(s, q, _)| {
                (
                    Bytes::copy_from_slice(s.as_bytes()),
                    q.as_ref().map(|q| Bytes::copy_from_slice(q.as_bytes())),
                )
            })
            .collect();
        keys.into_iter().collect()
    }
}

fn run(seed: u64, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut sublist = Sublist::new(seed);
    let mut model = Model::default();
    for op in ops {
        match op {
            Op::Insert(s, q, v) => {
                let got = sublist.insert(s.as_bytes(), q.as_deref().map(str::as_bytes), *v);
                let want = subject::validate_subscribe(s.as_bytes())
                    .map(|()| model.entries.insert((s.clone(), q.clone(), *v)));
                prop_assert_eq!(got, want, "{:?}", op);
            }
            Op::Remove(s, q, v) => {
                let got = sublist.remove(s.as_bytes(), q.as_deref().map(str::as_bytes), *v);
                let want = model.entries.remove(&(s.clone(), q.clone(), *v));
                prop_assert_eq!(got, want, "{:?}", op);
            }
            Op::Match(s) => {
                let got = sublist.matches(s.as_bytes());
                prop_assert_eq!(&*got, &model.matches(s), "{:?}", op);
            }
            Op::HasInterest(s) => {
                let got = sublist.has_interest(s.as_bytes());
                prop_assert_eq!(got, !model.matches(s).is_empty(), "{:?}", op);
            }
            Op::Subjects => prop_assert_eq!(sublist.subjects(), model.subjects()),
        }
        prop_assert_eq!(sublist.len(), model.entries.len());
    }
    // Everything cached must still be right at the end: ask again for every published subject.
    for op in ops {
        if let Op::Match(s) | Op::HasInterest(s) = op {
            prop_assert_eq!(&*sublist.matches(s.as_bytes()), &model.matches(s), "final {}", s);
        }
    }
    prop_assert_eq!(sublist.subjects(), model.subjects());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn sublist_agrees_with_naive_model(
        seed in any::<u64>(),
        ops in prop::collection::vec(op_strategy(), 1..150),
    ) {
        run(seed, &ops)?;
    }
}
