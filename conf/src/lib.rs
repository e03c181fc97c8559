//! The nats-server configuration language and Strait's typed options.
//!
//! Strait reads every configuration file nats-server 2.15 reads, the same way, and reports
//! mistakes with a position, the option's name, what was expected and what was found.
//!
//! * [`parse_file`] / [`parse_str`] give the value tree ([`Map`] of [`Value`]s), every value
//!   with its file, line and column; `include` and `$variables` are resolved.
//! * [`load_file`] gives typed, validated [`Options`]; [`check_file`] is what `strait -t` runs.
//! * [`diff`] compares two [`Options`] for reload.
//! * Deliberate differences from nats-server are listed in `docs/compat.md`.

mod diff;
mod error;
pub mod fuzzing;
mod include;
mod lex;
pub mod options;
mod parse;
mod print;
mod validate;
mod value;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

pub use diff::{Change, diff};
pub use error::{Error, ErrorKind, Errors};
pub use include::MAX_INCLUDE_DEPTH;
pub use options::Options;
pub use parse::{MAX_DEPTH, MAX_EXPANSION};
pub use print::{PrintError, print_document};
pub use value::{Datetime, Entry, Kind, Map, Pos, Value};

/// Parses a configuration file into a value tree, following includes and resolving variables.
pub fn parse_file(path: &Path) -> Result<Map, Error> {
    include::parse_main(&mut parse::Ctx::default(), path)
}

/// Parses configuration text held in memory; `file` names it in positions. Includes are
/// relative to the current directory.
pub fn parse_str(src: &str, file: &str) -> Result<Map, Error> {
    include::parse_text(&mut parse::Ctx::default(), src, Arc::from(file))
}

/// Like [`parse_str`], but `$variables` not defined in the text are looked up in `env` instead
/// of the process environment.
pub fn parse_str_with_env(
    src: &str,
    file: &str,
    env: &HashMap<String, String>,
) -> Result<Map, Error> {
    let mut ctx = parse::Ctx::default();
    ctx.env = Some(env.clone());
    include::parse_text(&mut ctx, src, Arc::from(file))
}

/// Reads a configuration file: includes, variables, typed options, and nats-server's
/// validation. Every error found is returned (parsing stops at the first syntax error).
///
/// Warnings (what nats-server prints but starts anyway) are in [`Options::warnings`]. An
/// option Strait does not implement is an error ([`ErrorKind::Unsupported`]) unless ignoring
/// it is safe; the ignored ones are in [`Options::ignored`].
pub fn load_file(path: &Path) -> Result<Options, Errors> {
    let map = parse_file(path)?;
    options_from_map(&map, &path.display().to_string())
}

/// What `strait -t -c FILE` runs: [`load_file`], and warnings count as errors, as they do for
/// `nats-server -t`. On success print [`Options::ignored`] (they do not fail the check) and
/// [`valid_message`].
pub fn check_file(path: &Path) -> Result<Options, Errors> {
    let o = load_file(path)?;
    if o.warnings.is_empty() { Ok(o) } else { Err(Errors(o.warnings)) }
}

/// The line `strait -t` prints on success (nats-server prints
/// `nats-server: configuration file FILE is valid (sha256:…)`).
pub fn valid_message(path: &Path) -> String {
    format!("configuration file {} is valid", path.display())
}

/// [`load_file`] for text held in memory (`file` names it in positions).
pub fn load_str(src: &str, file: &str) -> Result<Options, Errors> {
    let map = parse_str(src, file)?;
    options_from_map(&map, file)
}

fn options_from_map(map: &Map, file: &str) -> Result<Options, Errors> {
    let mut sink = options::decode::Sink::default();
    let file_pos = Pos::new(file, 1, 1);
    if map.is_empty() {
        sink.warn(&file_pos, "", "the configuration has no values or is empty");
    }
    let mut o = Options::decode(map, &mut sink);
    let keys = |name: &str| {
        map.entries().iter().rev().find(|e| e.key.to_lowercase() == name).map(|e| e.key_pos.clone())
    };
    validate::validate(&o, &mut sink, &keys, &file_pos);
    options::support::restricted_listeners(&o, &mut sink);
    if sink.errors.is_empty() {
        o.warnings = sink.warnings;
        o.ignored = sink.ignored;
        Ok(o)
    } else {
        let mut all = sink.errors;
        all.extend(sink.warnings);
        Err(Errors(all))
    }
}
