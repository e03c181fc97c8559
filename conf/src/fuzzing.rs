//! Entry points for the fuzz targets (`fuzz/fuzz_targets/conf_parser.rs`) and corpus replay.

use std::collections::HashMap;
use std::sync::Arc;

use crate::{include, options, parse, print_document};

/// Parses `data` as a configuration and checks properties; panics if one fails.
///
/// * Parsing never panics (any input gives a tree or an error).
/// * A tree that parses prints to text that parses back to the same tree.
/// * Typed decoding and validation of a tree never panic.
///
/// Includes are disabled and `$variables` see an empty environment, so runs are
/// reproducible.
pub fn parse(data: &[u8]) {
    let src = String::from_utf8_lossy(data);
    let Ok(map) = parse_isolated(&src) else {
        return;
    };
    if let Ok(text) = print_document(&map) {
        match parse_isolated(&text) {
            Ok(again) => assert!(map.same_as(&again), "round trip changed the tree:\n{text}"),
            Err(e) => panic!("printed tree does not parse: {e}\n{text}"),
        }
    }
    let mut sink = options::decode::Sink::default();
    let _ = options::Options::decode(&map, &mut sink);
}

fn parse_isolated(src: &str) -> Result<crate::Map, crate::Error> {
    let mut ctx = parse::Ctx::default();
    ctx.env = Some(HashMap::new());
    ctx.no_includes = true;
    include::parse_text(&mut ctx, src, Arc::from("fuzz.conf"))
}
