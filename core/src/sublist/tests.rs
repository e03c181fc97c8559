use super::*;

fn sl() -> Sublist<u32> {
    Sublist::new(0x5eed)
}

fn plain(sl: &mut Sublist<u32>, subject: &str) -> Vec<u32> {
    sl.matches(subject.as_bytes()).plain.clone()
}

fn groups(sl: &mut Sublist<u32>, subject: &str) -> Vec<(String, Vec<u32>)> {
    sl.matches(subject.as_bytes())
        .queues
        .iter()
        .map(|g| (String::from_utf8(g.name.to_vec()).unwrap(), g.members.clone()))
        .collect()
}

/// Number of nodes in the trie (test helper; recursion is fine for small tries).
fn trie_nodes<T>(level: &Level<T>) -> usize {
    level.children().map(|(_, node)| 1 + node.next.as_deref().map_or(0, trie_nodes)).sum()
}

#[test]
fn matching_table() {
    // The table of client-protocol.md §11.2, each pattern inserted alone.
    let table: &[(&str, &str, bool)] = &[
        ("foo", "foo", true),
        ("foo", "foo.bar", false),
        ("foo.bar", "foo", false),
        ("foo.*", "foo.bar", true),
        ("foo.*", "foo.bar.baz", false),
        ("foo.*", "foo", false),
        ("*.bar", "foo.bar", true),
        ("*", "foo", true),
        ("*", "foo.bar", false),
        ("foo.>", "foo.bar", true),
        ("foo.>", "foo.bar.baz", true),
        ("foo.>", "foo", false),
        (">", "foo", true),
        (">", "foo.bar.baz", true),
        ("*.>", "foo", false),
        ("*.>", "foo.bar", true),
        ("foo.*.baz", "foo.bar.baz", true),
        ("foo.*.baz", "foo.bar.qux", false),
        ("foo*", "foo*", true),
        ("foo*", "foox", false),
        ("Foo", "foo", false),
        (">", "foo..bar", false),
        ("foo.>", "foo.", false),
        (">", ".foo", false),
        // Published wildcard tokens reach only wildcard subscriptions.
        ("foo.*", "foo.*", true),
        ("foo.>", "foo.*", true),
        ("*.*", "foo.*", true),
        (">", "foo.*", true),
        ("foo.bar", "foo.*", false),
        ("foo.*", "foo.>", true),
        ("foo.*.baz", "foo.>.baz", true),
        ("foo.bar.baz", "foo.>.baz", false),
    ];
    for (pattern, subject, want) in table {
        let mut s = sl();
        assert_eq!(s.insert(pattern.as_bytes(), None, 1), Ok(true));
        let got = !s.matches(subject.as_bytes()).is_empty();
        assert_eq!(got, *want, "{pattern:?} vs {subject:?}");
        assert_eq!(got, subject::matches(pattern.as_bytes(), subject.as_bytes()));
        assert_eq!(s.has_interest(subject.as_bytes()), *want);
    }
}

#[test]
fn invalid_subjects_are_rejected() {
    let mut s = sl();
    assert_eq!(s.insert(b"", None, 1), Err(SubjectError::Empty));
    assert_eq!(s.insert(b"foo..bar", None, 1), Err(SubjectError::EmptyToken));
    assert_eq!(s.insert(b"foo.>.bar", None, 1), Err(SubjectError::FullWildcardNotLast));
    assert_eq!(s.insert(b"foo bar", None, 1), Err(SubjectError::Whitespace));
    assert!(!s.remove(b"foo..bar", None, 1));
    assert!(s.is_empty());
    assert_eq!(trie_nodes(&s.root), 0);
}

#[test]
fn results_are_sorted_and_grouped() {
    let mut s = sl();
    for (subject, queue, value) in [
        ("foo.bar", None, 9),
        ("foo.*", None, 3),
        ("foo.>", None, 5),
        (">", None, 1),
        ("foo.bar", Some("q2"), 20),
        ("foo.*", Some("q1"), 12),
        ("foo.>", Some("q2"), 21),
        ("foo.bar", Some("q1"), 11),
        ("*.bar", Some("q0"), 7),
        ("foo.baz", Some("q3"), 30),
    ] {
        assert_eq!(s.insert(subject.as_bytes(), queue.map(str::as_bytes), value), Ok(true));
    }
    assert_eq!(s.len(), 10);
    assert_eq!(plain(&mut s, "foo.bar"), [1, 3, 5, 9]);
    assert_eq!(
        groups(&mut s, "foo.bar"),
        [
            ("q0".to_owned(), vec![7]),
            ("q1".to_owned(), vec![11, 12]),
            ("q2".to_owned(), vec![20, 21]),
        ]
    );
    // The same answer from a second sublist filled in the reverse order with another seed.
    let mut other = Sublist::new(42);
    for (subject, queue, value) in [
        ("foo.baz", Some("q3"), 30),
        ("*.bar", Some("q0"), 7),
        ("foo.bar", Some("q1"), 11),
        ("foo.>", Some("q2"), 21),
        ("foo.*", Some("q1"), 12),
        ("foo.bar", Some("q2"), 20),
        (">", None, 1),
        ("foo.>", None, 5),
        ("foo.*", None, 3),
        ("foo.bar", None, 9),
    ] {
        other.insert(subject.as_bytes(), queue.map(str::as_bytes), value).unwrap();
    }
    assert_eq!(s.matches(b"foo.bar"), other.matches(b"foo.bar"));
    assert_eq!(s.subjects(), other.subjects());
}

#[test]
fn duplicates() {
    let mut s = sl();
    assert_eq!(s.insert(b"foo", None, 1), Ok(true));
    assert_eq!(s.insert(b"foo", None, 1), Ok(false));
    assert_eq!(s.insert(b"foo", Some(b"q"), 1), Ok(true));
    assert_eq!(s.insert(b"foo", Some(b"q"), 1), Ok(false));
    assert_eq!(s.insert(b"foo", Some(b"r"), 1), Ok(true));
    assert_eq!(s.len(), 3);
    // One value under several matching patterns is reported once per plain list / group.
    s.insert(b"*", None, 1).unwrap();
    s.insert(b">", Some(b"q"), 1).unwrap();
    let m = s.matches(b"foo");
    assert_eq!(m.plain, [1]);
    assert_eq!(m.queues.len(), 2);
    assert!(m.queues.iter().all(|g| g.members == [1]));
    // Removing one of the patterns keeps the value reachable through the other.
    assert!(s.remove(b"*", None, 1));
    assert_eq!(plain(&mut s, "foo"), [1]);
    assert!(s.remove(b"foo", None, 1));
    assert!(!s.remove(b"foo", None, 1));
    assert_eq!(plain(&mut s, "foo"), [] as [u32; 0]);
}

#[test]
fn remove_needs_exact_entry() {
    let mut s = sl();
    s.insert(b"foo.*", Some(b"q"), 1).unwrap();
    assert!(!s.remove(b"foo.*", None, 1));
    assert!(!s.remove(b"foo.*", Some(b"r"), 1));
    assert!(!s.remove(b"foo.*", Some(b"q"), 2));
    assert!(!s.remove(b"foo.bar", Some(b"q"), 1));
    assert!(!s.remove(b"foo", Some(b"q"), 1));
    assert!(!s.remove(b"foo.>", Some(b"q"), 1));
    assert_eq!(s.len(), 1);
    assert!(s.remove(b"foo.*", Some(b"q"), 1));
    assert!(s.is_empty());
}

#[test]
fn removal_prunes_empty_nodes() {
    let mut s = sl();
    let subjects = ["a.b.c", "a.b", "a.*.c", "a.>", ">", "*", "x.y.z.w", "a.b.c.d.e"];
    for (i, subject) in subjects.iter().enumerate() {
        s.insert(subject.as_bytes(), None, i as u32).unwrap();
        s.insert(subject.as_bytes(), Some(b"q"), i as u32).unwrap();
    }
    assert!(trie_nodes(&s.root) > 0);
    // Remove deepest-last-inserted first and check that only the needed nodes remain.
    s.remove(b"a.b.c.d.e", None, 7);
    s.remove(b"a.b.c.d.e", Some(b"q"), 7);
    let node_c = s.root.child(b"a").unwrap().next.as_ref().unwrap().child(b"b").unwrap();
    let node_c = node_c.next.as_ref().unwrap().child(b"c").unwrap();
    assert!(node_c.next.is_none(), "the chain below a.b.c must be gone");
    for (i, subject) in subjects.iter().enumerate() {
        s.remove(subject.as_bytes(), None, i as u32);
        s.remove(subject.as_bytes(), Some(b"q"), i as u32);
    }
    assert!(s.is_empty());
    assert_eq!(trie_nodes(&s.root), 0);
    assert!(s.subjects().is_empty());
}

#[test]
fn pruning_keeps_nodes_with_values_or_other_children() {
    let mut s = sl();
    s.insert(b"foo", None, 1).unwrap();
    s.insert(b"foo.bar.baz", None, 2).unwrap();
    s.insert(b"foo.bar.qux", None, 3).unwrap();
    assert!(s.remove(b"foo.bar.baz", None, 2));
    assert_eq!(trie_nodes(&s.root), 3);
    assert_eq!(plain(&mut s, "foo.bar.qux"), [3]);
    assert!(s.remove(b"foo.bar.qux", None, 3));
    assert_eq!(trie_nodes(&s.root), 1);
    assert!(s.root.child(b"foo").unwrap().next.is_none());
    assert_eq!(plain(&mut s, "foo"), [1]);
}

#[test]
fn cache_hit_shares_the_result() {
    let mut s = sl();
    s.insert(b"foo.*", None, 1).unwrap();
    let a = s.matches(b"foo.bar");
    let b = s.matches(b"foo.bar");
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(s.cache_len(), 1);
    // Empty results share one allocation.
    let x = s.matches(b"nothing");
    let y = s.matches(b"nothing.else");
    assert!(Arc::ptr_eq(&x, &y));
    // Subjects with empty tokens are not cached.
    assert!(s.matches(b"foo..bar").is_empty());
    assert!(!s.has_interest(b"foo."));
    assert_eq!(s.cache_len(), 3);
}

#[test]
fn cache_follows_inserts_and_removes() {
    let mut s = sl();
    // Prime the cache with results, including empty ones.
    for subject in ["foo.bar", "foo.baz", "foo.bar.baz", "other", "foo.*"] {
        assert!(s.matches(subject.as_bytes()).is_empty());
    }
    let before = s.matches(b"foo.bar");

    s.insert(b"foo.*", None, 1).unwrap();
    assert_eq!(plain(&mut s, "foo.bar"), [1]);
    assert_eq!(plain(&mut s, "foo.baz"), [1]);
    assert_eq!(plain(&mut s, "foo.*"), [1]);
    assert!(!s.has_interest(b"foo.bar.baz"));
    assert!(!s.has_interest(b"other"));
    // A result handed out earlier is not changed behind the caller's back.
    assert!(before.is_empty());

    s.insert(b"foo.>", Some(b"q"), 2).unwrap();
    assert_eq!(groups(&mut s, "foo.bar.baz"), [("q".to_owned(), vec![2])]);
    assert_eq!(groups(&mut s, "foo.bar"), [("q".to_owned(), vec![2])]);
    s.insert(b"foo.>", Some(b"q"), 3).unwrap();
    assert_eq!(groups(&mut s, "foo.bar"), [("q".to_owned(), vec![2, 3])]);

    s.insert(b"foo.bar", None, 0).unwrap();
    assert_eq!(plain(&mut s, "foo.bar"), [0, 1]);
    // A literal `foo.bar` subscription does not reach the published `foo.*`.
    assert_eq!(plain(&mut s, "foo.*"), [1]);

    s.insert(b">", None, 4).unwrap();
    assert_eq!(plain(&mut s, "other"), [4]);

    assert!(s.remove(b"foo.*", None, 1));
    assert_eq!(plain(&mut s, "foo.bar"), [0, 4]);
    assert_eq!(plain(&mut s, "foo.baz"), [4]);
    assert!(s.remove(b"foo.>", Some(b"q"), 2));
    assert_eq!(groups(&mut s, "foo.bar.baz"), [("q".to_owned(), vec![3])]);
    assert!(s.remove(b"foo.>", Some(b"q"), 3));
    assert!(groups(&mut s, "foo.bar.baz").is_empty());
    assert!(s.remove(b"foo.bar", None, 0));
    assert_eq!(plain(&mut s, "foo.bar"), [4]);
    assert!(s.remove(b">", None, 4));
    for subject in ["foo.bar", "foo.baz", "foo.bar.baz", "other", "foo.*"] {
        assert!(!s.has_interest(subject.as_bytes()), "{subject}");
    }
}

#[test]
fn cache_is_bounded() {
    let mut s = sl();
    s.insert(b"a.*", None, 1).unwrap();
    for i in 0..5 * CACHE_MAX {
        let subject = format!("a.{i}");
        assert_eq!(plain(&mut s, &subject), [1]);
        assert!(s.cache_len() <= CACHE_MAX);
    }
    // Swept entries are recomputed correctly.
    s.insert(b"a.>", None, 2).unwrap();
    for i in 0..5 * CACHE_MAX {
        assert_eq!(plain(&mut s, &format!("a.{i}")), [1, 2]);
    }
}

#[test]
fn subjects_lists_every_stored_key_sorted() {
    let mut s = sl();
    s.insert(b"foo.bar", None, 1).unwrap();
    s.insert(b"foo.bar", None, 2).unwrap();
    s.insert(b"foo.bar", Some(b"q2"), 3).unwrap();
    s.insert(b"foo.bar", Some(b"q1"), 4).unwrap();
    s.insert(b"foo.>", None, 5).unwrap();
    s.insert(b"*", Some(b"q"), 6).unwrap();
    s.insert(b"foo", None, 7).unwrap();
    s.insert(b"bar.baz", None, 8).unwrap();
    let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
    assert_eq!(
        s.subjects(),
        [
            (b("*"), Some(b("q"))),
            (b("bar.baz"), None),
            (b("foo"), None),
            (b("foo.>"), None),
            (b("foo.bar"), None),
            (b("foo.bar"), Some(b("q1"))),
            (b("foo.bar"), Some(b("q2"))),
        ]
    );
    s.remove(b"foo.bar", Some(b"q1"), 4);
    s.remove(b"foo.bar", None, 1);
    assert_eq!(s.subjects().len(), 6);
    s.remove(b"foo.bar", None, 2);
    assert_eq!(s.subjects().len(), 5);
}

#[test]
fn long_subjects_do_not_recurse() {
    // 100 000 tokens: a recursive walk or drop would overflow a test thread's stack.
    let deep = vec!["t"; 100_000].join(".");
    let deep_star = format!("{}.*", vec!["t"; 99_999].join("."));
    let mut s = sl();
    s.insert(deep.as_bytes(), None, 1).unwrap();
    s.insert(deep_star.as_bytes(), Some(b"q"), 2).unwrap();
    let m = s.matches(deep.as_bytes());
    assert_eq!(m.plain, [1]);
    assert_eq!(m.queues[0].members, [2]);
    assert_eq!(s.subjects().len(), 2);
    assert!(s.remove(deep.as_bytes(), None, 1));
    assert!(s.remove(deep_star.as_bytes(), Some(b"q"), 2));
    assert_eq!(trie_nodes(&s.root), 0);
    // And dropping a full deep trie.
    s.insert(deep.as_bytes(), None, 1).unwrap();
    drop(s);
}
