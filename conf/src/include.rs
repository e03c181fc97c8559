//! Reading files: the main configuration and `include`d ones, with cycle and depth checks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, ErrorKind};
use crate::parse::{Ctx, Parser};
use crate::value::{Map, Pos};

/// Most files open at once through nested includes.
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// Parses the main configuration file.
pub(crate) fn parse_main(ctx: &mut Ctx, path: &Path) -> Result<Map, Error> {
    let display = path.display().to_string();
    let canonical = std::fs::canonicalize(path)
        .map_err(|e| Error::io(&display, format!("cannot read the configuration file: {e}")))?;
    let bytes = std::fs::read(path)
        .map_err(|e| Error::io(&display, format!("cannot read the configuration file: {e}")))?;
    parse_bytes(ctx, &bytes, display.into(), path, canonical)
}

/// Parses the file that `include PATH` at `at` names, relative to `dir` (the including file's
/// directory) unless absolute.
pub(crate) fn include(ctx: &mut Ctx, dir: &Path, path: &str, at: &Pos) -> Result<Map, Error> {
    let err = |msg: String| Error::new(ErrorKind::Include, at, "include", msg);
    if ctx.no_includes {
        return Err(err("includes are disabled here".to_owned()));
    }
    if path.is_empty() {
        return Err(err("expected a file path".to_owned()));
    }
    // nats-server joins even absolute paths to the directory; Strait honours them.
    let joined: PathBuf =
        if Path::new(path).is_absolute() { PathBuf::from(path) } else { dir.join(path) };
    let display = joined.display().to_string();
    let canonical = std::fs::canonicalize(&joined)
        .map_err(|e| err(format!("cannot include '{display}': {e}")))?;
    if let Some(i) = ctx.include_stack.iter().position(|p| *p == canonical) {
        let chain: Vec<String> =
            ctx.include_stack[i..].iter().map(|p| p.display().to_string()).collect();
        return Err(err(format!(
            "include cycle: '{display}' is already being read ({} -> {display})",
            chain.join(" -> ")
        )));
    }
    if ctx.include_stack.len() >= MAX_INCLUDE_DEPTH {
        return Err(err(format!("includes nested more than {MAX_INCLUDE_DEPTH} files deep")));
    }
    let bytes =
        std::fs::read(&joined).map_err(|e| err(format!("cannot include '{display}': {e}")))?;
    parse_bytes(ctx, &bytes, display.into(), &joined, canonical).map_err(|mut e| {
        if e.kind == ErrorKind::Syntax {
            e.message = format!("{} (in the file included at {at})", e.message);
        }
        e
    })
}

fn parse_bytes(
    ctx: &mut Ctx,
    bytes: &[u8],
    file: Arc<str>,
    path: &Path,
    canonical: PathBuf,
) -> Result<Map, Error> {
    // nats-server reads bytes that are not UTF-8 too (they only ever matter in comments);
    // they become U+FFFD here.
    let src = String::from_utf8_lossy(bytes);
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    ctx.include_stack.push(canonical);
    let result = Parser::new(&src, file, dir, ctx).document();
    ctx.include_stack.pop();
    result
}

/// Parses text held in memory; includes are relative to the current directory.
pub(crate) fn parse_text(ctx: &mut Ctx, src: &str, file: Arc<str>) -> Result<Map, Error> {
    Parser::new(src, file, PathBuf::new(), ctx).document()
}
