//! One test per syntax rule of the configuration language (Part A of the format notes).

use std::collections::HashMap;

use strait_conf::{Error, ErrorKind, Kind, Map, Value, parse_str, parse_str_with_env};

fn ok(src: &str) -> Map {
    match parse_str(src, "t.conf") {
        Ok(m) => m,
        Err(e) => panic!("{src:?} should parse: {e}"),
    }
}

fn err(src: &str) -> Error {
    match parse_str(src, "t.conf") {
        Ok(m) => panic!("{src:?} should fail, got {m:?}"),
        Err(e) => e,
    }
}

fn get<'a>(m: &'a Map, k: &str) -> &'a Value {
    match m.get(k) {
        Some(e) => &e.value,
        None => {
            panic!("no key {k:?} in {:?}", m.entries().iter().map(|e| &e.key).collect::<Vec<_>>())
        }
    }
}

fn s(m: &Map, k: &str) -> String {
    match &get(m, k).kind {
        Kind::String(s) => s.clone(),
        other => panic!("{k}: expected string, got {other:?}"),
    }
}

fn i(m: &Map, k: &str) -> i64 {
    match &get(m, k).kind {
        Kind::Integer(i) => *i,
        other => panic!("{k}: expected integer, got {other:?}"),
    }
}

fn b(m: &Map, k: &str) -> bool {
    match &get(m, k).kind {
        Kind::Bool(b) => *b,
        other => panic!("{k}: expected bool, got {other:?}"),
    }
}

fn arr<'a>(m: &'a Map, k: &str) -> &'a [Value] {
    match &get(m, k).kind {
        Kind::Array(a) => a,
        other => panic!("{k}: expected array, got {other:?}"),
    }
}

fn map<'a>(m: &'a Map, k: &str) -> &'a Map {
    match &get(m, k).kind {
        Kind::Map(m) => m,
        other => panic!("{k}: expected map, got {other:?}"),
    }
}

#[test]
fn separators_equal_colon_and_space() {
    for src in ["foo = 1", "foo: 1", "foo 1", "foo=1", "foo:1", "foo\t1", "foo\n1", "foo\n= 1"] {
        assert_eq!(i(&ok(src), "foo"), 1, "{src:?}");
    }
}

#[test]
fn newline_after_separator_is_an_error_at_top_level_but_not_in_maps() {
    let e = err("a =\n1");
    assert!(e.message.contains("new line"), "{e}");
    let m = ok("m { a =\n 1 }");
    assert_eq!(i(map(&m, "m"), "a"), 1);
}

#[test]
fn top_level_terminators() {
    let m = ok("a: 1; b: 2, c: 3\nd: 4");
    assert_eq!((i(&m, "a"), i(&m, "b"), i(&m, "c"), i(&m, "d")), (1, 2, 3, 4));
    let e = err("a = 1 b = 2");
    assert_eq!((e.pos.as_ref().map(|p| (p.line, p.col))), Some((1, 7)));
    assert!(e.message.contains("found 'b'"), "{e}");
}

#[test]
fn document_braces_make_json_configs_valid() {
    let m = ok(r#"{"http_port": 8224,"port": 4224}"#);
    assert_eq!((i(&m, "http_port"), i(&m, "port")), (8224, 4224));
    let m = ok("{ { a = 1 } }");
    assert_eq!(i(&m, "a"), 1);
    let m = ok("{\n  \"a\": [1, 2],\n  \"b\": {\"c\": true}\n}\n");
    assert_eq!(arr(&m, "a").len(), 2);
    assert!(b(map(&m, "b"), "c"));
}

#[test]
fn unclosed_document_brace_is_an_error() {
    let e = err("{ port: 4222\n");
    assert_eq!(e.pos.as_ref().map(|p| (p.line, p.col)), Some((1, 1)));
}

#[test]
fn stray_closing_brace_at_the_end_is_tolerated() {
    assert_eq!(i(&ok("port: 4222\n}\n"), "port"), 4222);
    assert_eq!(i(&ok("a: 1 } b: 2"), "b"), 2);
    err("}\nb = 2");
}

#[test]
fn empty_input_is_an_empty_map() {
    assert!(ok("").is_empty());
    assert!(ok("  # only a comment\n// another\n").is_empty());
}

#[test]
fn keys_bare_quoted_and_case_sensitive() {
    let m = ok("a.b.c = 1\n\"with space\" = 2\n'q' = 3\nA = 4\na = 5\n\"\" = 6");
    assert_eq!(i(&m, "a.b.c"), 1);
    assert_eq!(i(&m, "with space"), 2);
    assert_eq!(i(&m, "q"), 3);
    assert_eq!((i(&m, "A"), i(&m, "a")), (4, 5));
    assert_eq!(i(&m, ""), 6);
    // A '{' directly after a bare key is part of the key (nats-server quirk).
    assert_eq!(i(&ok("a{b=1"), "a{b"), 1);
}

#[test]
fn duplicate_keys_last_wins() {
    assert_eq!(i(&ok("a = 1\na = 2"), "a"), 2);
}

#[test]
fn bare_key_at_end_of_file_is_an_error() {
    let e = err("\n\n  zzz\n");
    assert!(e.message.contains("'zzz' has no value"), "{e}");
    assert_eq!(e.pos.as_ref().map(|p| (p.line, p.col)), Some((3, 3)));
    // With a separator the value is the empty string, as in nats-server.
    assert_eq!(s(&ok("a ="), "a"), "");
}

#[test]
fn key_cannot_start_with_separator() {
    err("= 1");
    err("m { : 1 }");
}

#[test]
fn comments_where_allowed() {
    let m = ok("# c\na = \"x\"# c\nb = 1 # c\nc = 5#c\nd = foo#bar\ne = foo//bar\n// c\n");
    assert_eq!(s(&m, "a"), "x");
    assert_eq!(i(&m, "b"), 1);
    assert_eq!(s(&m, "c"), "5#c");
    assert_eq!(s(&m, "d"), "foo#bar");
    assert_eq!(s(&m, "e"), "foo//bar");
    err("a = x# c");
    let m = ok("a = [ # c\n 1, // c\n 2 ]\nm { # c\n x = 1 // c\n}");
    assert_eq!(arr(&m, "a").len(), 2);
}

#[test]
fn lone_slash_is_an_error() {
    for src in ["/x = 1", "a = 1 /", "a = [ 1 / 2 ]", "a { /b = 1 }", "a = [ /1 ]"] {
        assert_eq!(err(src).kind, ErrorKind::Syntax, "{src:?}");
    }
}

#[test]
fn unquoted_string_endings() {
    let m = ok(
        "a = nats://u:p@h:4222\nb = localhost:4222\nc = x=y\nd = foo\"bar\ne = /path/to/f.conf\nf = bar'",
    );
    assert_eq!(s(&m, "a"), "nats://u:p@h:4222");
    assert_eq!(s(&m, "b"), "localhost:4222");
    assert_eq!(s(&m, "c"), "x=y");
    assert_eq!(s(&m, "d"), "foo\"bar");
    assert_eq!(s(&m, "e"), "/path/to/f.conf");
    assert_eq!(s(&m, "f"), "bar");
    err("a = foo'bar");
    let m = ok("a = [x,y]\nm {k = v}");
    assert_eq!(arr(&m, "a").len(), 2);
    assert_eq!(s(map(&m, "m"), "k"), "v");
}

#[test]
fn unquoted_strings_process_escapes() {
    let m = ok(r"a = C:\\path");
    assert_eq!(s(&m, "a"), r"C:\path");
    err(r"a = C:\path");
    // An escaped unquoted word is never a boolean or a variable.
    let m = ok(r"a = \\true");
    assert_eq!(s(&m, "a"), r"\true");
}

#[test]
fn value_starting_with_dot_is_an_error() {
    err("a = ./rel/path");
    assert_eq!(s(&ok("a = './rel/path'"), "a"), "./rel/path");
}

#[test]
fn double_quoted_strings() {
    let m = ok("a = \"x\\ty\\n\\r\\\"\\\\\\x41\"\nb = \"multi\nline\"\nc = \"true\"\nd = \"$X\"");
    assert_eq!(s(&m, "a"), "x\ty\n\r\"\\A");
    assert_eq!(s(&m, "b"), "multi\nline");
    assert_eq!(s(&m, "c"), "true");
    assert_eq!(s(&m, "d"), "$X");
    assert!(err(r#"a = "\y""#).message.contains("invalid escape"));
    assert!(err(r#"a = "\xZZ""#).message.contains("'ZZ'"));
    assert!(err("a = \"\\x4\n\"").message.contains("end of the line"));
    err("a = \"unterminated");
    err("a = \"x\"y");
}

#[test]
fn single_quoted_strings_are_raw() {
    let m = ok("a = 'x\\ny'\nb = 'two\nlines'");
    assert_eq!(s(&m, "a"), "x\\ny");
    assert_eq!(s(&m, "b"), "two\nlines");
    err("a = 'it''s'");
    err("a = 'open");
}

#[test]
fn block_strings() {
    let m = ok("numbers (\n1234567890\n)\n");
    assert_eq!(s(&m, "numbers"), "\n1234567890\n");
    let m = ok("a (\n  (nested) )\n  still\n)\nb = 1");
    assert_eq!(s(&m, "a"), "\n  (nested) )\n  still\n");
    assert_eq!(i(&m, "b"), 1);
    // At the end of the file, without a new line.
    assert_eq!(s(&ok("a (\nx\n)"), "a"), "\nx\n");
    // CRLF files can close a block (nats-server cannot).
    assert_eq!(s(&ok("a (\r\nx\r\n)\r\n"), "a"), "\r\nx\r\n");
    err("a (inline)");
    err("a (\nx\n  )\n");
}

#[test]
fn integers_and_size_suffixes() {
    let cases: &[(&str, i64)] = &[
        ("0", 0),
        ("-0", 0),
        ("007", 7),
        ("-12", -12),
        ("1k", 1000),
        ("1K", 1000),
        ("1kb", 1024),
        ("1KB", 1024),
        ("1kB", 1024),
        ("1Ki", 1024),
        ("1kib", 1024),
        ("64MB", 64 << 20),
        ("1m", 1_000_000),
        ("2mi", 2 << 20),
        ("1g", 1_000_000_000),
        ("1gb", 1 << 30),
        ("1t", 1_000_000_000_000),
        ("1tib", 1 << 40),
        ("1p", 1_000_000_000_000_000),
        ("1pb", 1 << 50),
        ("1e", 1_000_000_000_000_000_000),
        ("1eb", 1 << 60),
        ("-2k", -2000),
        ("9223372036854775807", i64::MAX),
        ("-9223372036854775808", i64::MIN),
    ];
    for (src, want) in cases {
        assert_eq!(i(&ok(&format!("a = {src}")), "a"), *want, "{src}");
    }
}

#[test]
fn integer_errors() {
    assert!(err("a = 9223372036854775808").message.contains("out of range"));
    assert!(err("a = 9000000000000000000k").message.contains("out of range"));
    assert!(err("a = 1kbb").message.contains("unknown size suffix"));
    err("a = 1k5");
    err("a = -x");
    err("a = -1x");
    err("a = -.5");
}

#[test]
fn digits_followed_by_other_text_are_strings() {
    for src in [
        "3xyz",
        "1h",
        "10s",
        "500ms",
        "1_000",
        "0x10",
        "12:30",
        "4222:4222",
        "2001:db8::1",
        "1Ghz",
        "3Mbs",
        "+5",
    ] {
        assert_eq!(s(&ok(&format!("a = {src}")), "a"), *src, "{src}");
    }
    // The character that ends the digits is taken as is, without escape processing.
    assert_eq!(s(&ok(r"a = 1\t"), "a"), r"1\t");
}

#[test]
fn floats_and_ip_like_strings() {
    let m = ok("a = 1.5\nb = -0.25\nc = 00.5");
    for (k, want) in [("a", 1.5), ("b", -0.25), ("c", 0.5)] {
        match get(&m, k).kind {
            Kind::Float(f) => assert_eq!(f, want),
            ref other => panic!("{other:?}"),
        }
    }
    for src in ["127.0.0.1", "127.0.0.1:4222", "1.2.3.4", "1.2."] {
        assert_eq!(s(&ok(&format!("a = {src}")), "a"), src);
    }
    err("a = 1.x");
    err("a = 1.5e3");
    err("a = 1.5MB");
}

#[test]
fn booleans() {
    for (src, want) in [
        ("true", true),
        ("TRUE", true),
        ("yes", true),
        ("On", true),
        ("false", false),
        ("no", false),
        ("OFF", false),
    ] {
        assert_eq!(b(&ok(&format!("a = {src}")), "a"), want, "{src}");
    }
    assert_eq!(s(&ok("a = truex"), "a"), "truex");
    assert_eq!(s(&ok("a = 'true'"), "a"), "true");
}

#[test]
fn datetimes() {
    match &get(&ok("a = 2016-05-04T18:53:41Z"), "a").kind {
        Kind::Datetime(d) => assert_eq!(d.to_string(), "2016-05-04T18:53:41Z"),
        other => panic!("{other:?}"),
    }
    err("a = 2016-05-04");
    err("a = 2016-05-04T18:53:41+01:00");
    err("a = 2016-13-04T18:53:41Z");
    err("a = 2015-02-29T00:00:00Z");
    err("a = 16-05-04T18:53:41Z");
}

#[test]
fn arrays() {
    let m = ok(
        "a = [1,2]\nb = [[1,2],[3]]\nc = []\nd = [ ]\ne = [1, 2, ]\nf = [\n 1\n 2\n]\ng = [{x=1}, {y=2}]",
    );
    assert_eq!(arr(&m, "a").len(), 2);
    assert_eq!(arr(&m, "b").len(), 2);
    assert!(arr(&m, "c").is_empty() && arr(&m, "d").is_empty());
    assert_eq!(arr(&m, "e").len(), 2);
    assert_eq!(arr(&m, "f").len(), 2);
    assert_eq!(arr(&m, "g").len(), 2);
    // Size suffixes end at ']' too (nats-server makes the last one a string).
    let m = ok("a = [1k,2k]");
    assert!(matches!(arr(&m, "a")[1].kind, Kind::Integer(2000)));
    for src in
        ["a = [,]", "a = [ , 1]", "a = [ x y ]", "a = [ {a=1} {b=2} ]", "a = [1", "a = [1;2]"]
    {
        err(src);
    }
}

#[test]
fn maps() {
    let m = ok("a { b = 1; c = 2, d = 3\n e = 4 }\nf = { g: { h: 1 } }\nk: {}");
    let a = map(&m, "a");
    assert_eq!((i(a, "b"), i(a, "c"), i(a, "d"), i(a, "e")), (1, 2, 3, 4));
    assert_eq!(i(map(map(&m, "f"), "g"), "h"), 1);
    assert!(map(&m, "k").is_empty());
    for src in ["a { b { c = 1 } d = 2 }", "a { b = , }", "a { b }", "a { b = 1", "a { ] }"] {
        err(src);
    }
}

#[test]
fn positions_are_one_based() {
    let m = ok("port = 'x'\n  host: y\n\t\"debug\" = true\nm {\n  k = 1\n}");
    let pos = |k: &str| {
        let e = m.get(k).unwrap();
        (e.key_pos.line, e.key_pos.col, e.value.pos.line, e.value.pos.col)
    };
    assert_eq!(pos("port"), (1, 1, 1, 8));
    assert_eq!(pos("host"), (2, 3, 2, 9));
    assert_eq!(pos("debug"), (3, 2, 3, 12));
    let inner = map(&m, "m").get("k").unwrap();
    assert_eq!((inner.key_pos.line, inner.key_pos.col), (5, 3));
    // Columns count characters, not bytes.
    let m = ok("é = 1\n\"ü\" = 'ö'");
    assert_eq!(m.get("ü").map(|e| e.value.pos.col), Some(7));
    let e = err("a = 'ö' x");
    assert_eq!(e.pos.as_ref().map(|p| p.col), Some(9));
}

#[test]
fn variables_resolve_in_enclosing_maps() {
    let m = ok("x = 1\nm { y = 2\n n { a = $x, b = $y } }\narr = [ { c = $x } ]");
    let n = map(map(&m, "m"), "n");
    assert_eq!((i(n, "a"), i(n, "b")), (1, 2));
    assert_eq!(
        i(
            match &arr(&m, "arr")[0].kind {
                Kind::Map(mm) => mm,
                _ => panic!(),
            },
            "c"
        ),
        1
    );
    assert!(m.get("x").unwrap().used_as_variable);
    // Siblings and later keys are not visible.
    let e = err("m { x = 2 }\nb = $x_not_in_env_hopefully");
    assert_eq!(e.kind, ErrorKind::Variable);
    err("b = $later_strait_test\nlater_strait_test = 1");
    // Variables are not expanded in quotes or mid-string.
    let m = ok("x = 1\na = \"$x\"\nb = a$x");
    assert_eq!((s(&m, "a"), s(&m, "b")), ("$x".into(), "a$x".into()));
}

#[test]
fn variables_fall_back_to_the_environment() {
    let env: HashMap<String, String> = [
        ("STRAIT_CONF_T_INT", "42"),
        ("STRAIT_CONF_T_MAP", "{a: 1k}"),
        ("STRAIT_CONF_T_BAD", "hello world"),
        ("STRAIT_CONF_T_CYC", "$STRAIT_CONF_T_CYC"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let ok = |src: &str| parse_str_with_env(src, "t.conf", &env).unwrap();
    let err = |src: &str| parse_str_with_env(src, "t.conf", &env).unwrap_err();
    let m = ok("a = $STRAIT_CONF_T_INT\nb = $STRAIT_CONF_T_MAP");
    assert_eq!(i(&m, "a"), 42);
    assert_eq!(i(map(&m, "b"), "a"), 1000);
    assert_eq!(get(&m, "b").pos.line, 2);
    assert_eq!(err("a = $STRAIT_CONF_T_BAD").kind, ErrorKind::Variable);
    assert!(err("a = $STRAIT_CONF_T_CYC").message.contains("cycle"));
}

#[test]
fn bcrypt_hash_is_not_a_variable() {
    let m = ok("p = $2a$11$3kIDaCxw.Glsl1.u5nKa6eUnNDLV5HV9tIuUp7EHhMt6Nm9myW1aS");
    assert_eq!(s(&m, "p"), "$2a$11$3kIDaCxw.Glsl1.u5nKa6eUnNDLV5HV9tIuUp7EHhMt6Nm9myW1aS");
}

#[test]
fn include_is_a_keyword_only_before_white_space() {
    assert_eq!(i(&ok("include=5"), "include"), 5);
    assert_eq!(i(&ok("include: 5"), "include"), 5);
    assert_eq!(err("include 5").kind, ErrorKind::Syntax);
    assert_eq!(err("include [x]").kind, ErrorKind::Syntax);
    assert_eq!(err("include no_such_file_strait.conf").kind, ErrorKind::Include);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for open in ["[", "{", "a = {", "x: [", "{ "] {
        let src = open.repeat(100_000);
        let e = err(&src);
        assert!(matches!(e.kind, ErrorKind::TooDeep | ErrorKind::Syntax), "{open:?}: {e}");
    }
    let src = format!("a = {}1{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(err(&src).kind, ErrorKind::TooDeep);
    let ok_depth = format!("a = {}1{}", "[".repeat(50), " ]".repeat(50));
    ok(&ok_depth);
}

#[test]
fn byte_order_mark_is_reported() {
    assert!(err("\u{feff}port: 1").message.contains("byte order mark"));
}
