//! The nats-server configuration language and Strait's typed options.
//!
//! Strait reads every configuration file nats-server 2.15 reads, the same way, and reports
//! mistakes with a position, the option's name, what was expected and what was found.
//!
//! * [`parse_file`] / [`parse_str`] give the value tree ([`Map`] of [`Value`]s), every value
//!   with its file, line and column; `include` and `$variables` are resolved.
//! * Deliberate differences from nats-server are listed in `docs/compat.md`.

mod error;
mod include;
mod lex;
mod parse;
mod print;
mod value;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

pub use error::{Error, ErrorKind, Errors};
pub use include::MAX_INCLUDE_DEPTH;
pub use parse::MAX_DEPTH;
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
