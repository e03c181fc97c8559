//! Proptest strategies for the text of wire protocol frames, shared by the client and gateway
//! parser tests: separators, line ends, op names in mixed case, and payload sizes.

use proptest::prelude::*;

/// One space or tab, or a few.
pub(crate) fn sep() -> impl Strategy<Value = String> {
    prop::collection::vec(prop_oneof![Just(' '), Just('\t')], 1..3)
        .prop_map(|v| v.into_iter().collect())
}

/// `\r\n`, usually; a bare `\n` sometimes.
pub(crate) fn eol() -> impl Strategy<Value = &'static str> {
    prop_oneof![4 => Just("\r\n"), 1 => Just("\n")]
}

/// The op name in a random mix of cases.
pub(crate) fn cased(name: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<bool>(), name.len()).prop_map(move |upper| {
        name.chars()
            .zip(upper)
            .map(|(c, u)| if u { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
            .collect()
    })
}

/// A size near the small limits, written with or without leading zeros, or an invalid one,
/// with the size it announces.
pub(crate) fn size_text() -> impl Strategy<Value = (String, usize)> {
    prop_oneof![
        8 => (0usize..=14, any::<bool>()).prop_map(|(n, zeros)| {
            (if zeros { format!("00{n}") } else { n.to_string() }, n)
        }),
        1 => Just(("x1".to_owned(), 1)),
        1 => Just(("1234567890".to_owned(), 0)),
    ]
}
