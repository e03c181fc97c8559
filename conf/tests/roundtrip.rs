//! Property: any value tree prints to text that parses back to the same tree.

use proptest::prelude::*;
use strait_conf::{Datetime, Entry, Kind, Map, Pos, Value, parse_str, print_document};

fn pos() -> Pos {
    Pos::new("gen", 1, 1)
}

fn value(kind: Kind) -> Value {
    Value { kind, pos: pos() }
}

fn key() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("a key cannot hold both quote characters", |k| {
        !(k.contains('"') && k.contains('\''))
    })
}

fn datetime() -> impl Strategy<Value = Datetime> {
    (0u16..=9999, 1u8..=12, 1u8..=28, 0u8..24, 0u8..60, 0u8..60).prop_map(
        |(year, month, day, hour, minute, second)| Datetime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        },
    )
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(|s| value(Kind::String(s))),
        any::<i64>().prop_map(|i| value(Kind::Integer(i))),
        (prop::num::f64::NORMAL | prop::num::f64::ZERO | prop::num::f64::SUBNORMAL)
            .prop_map(|f| value(Kind::Float(f))),
        any::<bool>().prop_map(|b| value(Kind::Bool(b))),
        datetime().prop_map(|d| value(Kind::Datetime(d))),
    ]
}

fn map_of(entries: Vec<(String, Value)>) -> Map {
    let mut m = Map::new();
    for (key, value) in entries {
        m.insert(Entry { key, key_pos: pos(), value, used_as_variable: false });
    }
    m
}

fn tree() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|a| value(Kind::Array(a))),
            prop::collection::vec((key(), inner), 0..6).prop_map(|e| value(Kind::Map(map_of(e)))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn print_then_parse_gives_the_same_tree(entries in prop::collection::vec((key(), tree()), 0..8)) {
        let doc = map_of(entries);
        let text = print_document(&doc).expect("printable");
        let back = parse_str(&text, "printed.conf").map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert!(doc.same_as(&back), "tree changed:\n{}", text);
    }
}

#[test]
fn printed_output_is_what_nats_server_reads_too() {
    // The printer keeps a blank before ']' and quotes every key, so its output stays within
    // what nats-server's lexer accepts (checked by hand with `nats-server -t`).
    let doc = parse_str("a = [1,2]\nm { k = [ {x = 1} ] }", "t").unwrap();
    let text = print_document(&doc).unwrap();
    assert!(text.contains("2,\n ]") || text.contains(" ]"), "{text}");
    assert!(text.starts_with("\"a\": ["), "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(768))]

    /// A cheap stand-in for the fuzzer in every test run: text made of the language's own
    /// characters never panics the parser, and what parses round-trips.
    #[test]
    fn config_shaped_noise_never_panics(src in r#"([a-z$ \t\n\r{}\[\]"'#/=:;,()\\.0-9kmKMbBiIeTZ-]|include |true|2016-01-02T03:04:05Z|\$x){0,120}"#) {
        strait_conf::fuzzing::parse(src.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..300)) {
        strait_conf::fuzzing::parse(&data);
    }
}
