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
    check_tree(&map);
}

/// What every parsed tree must satisfy: it prints to text that parses back to the same tree,
/// and typed decoding of it never panics.
fn check_tree(map: &crate::Map) {
    if let Ok(text) = print_document(map) {
        match parse_isolated(&text) {
            Ok(again) => assert!(map.same_as(&again), "round trip changed the tree:\n{text}"),
            Err(e) => panic!("printed tree does not parse: {e}\n{text}"),
        }
    }
    let mut sink = options::decode::Sink::default();
    let _ = options::Options::decode(map, &mut sink);
}

fn parse_isolated(src: &str) -> Result<crate::Map, crate::Error> {
    let mut ctx = parse::Ctx::default();
    ctx.env = Some(HashMap::new());
    ctx.no_includes = true;
    include::parse_text(&mut ctx, src, Arc::from("fuzz.conf"))
}

/// Parses a configuration made of several files: `main` includes some of `files` (by name,
/// relative), which may include each other, and `$variables` not defined in the text come from
/// `env`. The files are written to a directory of this process's own under the system
/// temporary directory, emptied first, so a run depends only on its arguments. Files whose
/// name is not a plain file name are skipped.
///
/// Checks the properties of [`parse`] on the result (parsing and decoding never panic; a tree
/// that parses prints to text that parses back to the same tree), and that parsing the same
/// files twice gives the same tree or the same error.
pub fn parse_files(main: &str, files: &[(String, String)], env: &HashMap<String, String>) {
    let dir = std::env::temp_dir().join(format!("strait-conf-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the fuzz directory");
    for (name, text) in files {
        let plain = !name.is_empty()
            && name != "."
            && name != ".."
            && !name.contains(['/', '\\', '\0'])
            && name != "main.conf";
        if plain {
            std::fs::write(dir.join(name), text).expect("write an include file");
        }
    }
    let path = dir.join("main.conf");
    std::fs::write(&path, main).expect("write the main file");
    let parse_main = || {
        let mut ctx = parse::Ctx::default();
        ctx.env = Some(env.clone());
        include::parse_main(&mut ctx, &path)
    };
    let first = parse_main();
    let second = parse_main();
    match (&first, &second) {
        (Ok(a), Ok(b)) => assert!(a.same_as(b), "two parses of the same files differ"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("two parses of the same files disagree: {first:?} / {second:?}"),
    }
    let Ok(map) = first else {
        return;
    };
    check_tree(&map);
}
