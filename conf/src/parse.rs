//! The structure of the language: documents, entries, maps, arrays, `include` and `$variables`.
//!
//! A recursive-descent parser that follows nats-server's lexer state by state (`conf/lex.go`),
//! with the quirks decided in `docs/compat.md`. Nesting (maps, arrays, includes, environment
//! variables, document braces) shares one depth budget, [`MAX_DEPTH`], so recursion is bounded.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, ErrorKind};
use crate::include;
use crate::lex::{Cursor, Scalar, describe, is_any_space};
use crate::value::{Entry, Kind, Map, Pos, Value};

/// Deepest nesting accepted: maps, arrays, document braces, includes and environment variables
/// that hold values together. Real configurations nest fewer than ten levels.
pub const MAX_DEPTH: usize = 100;

/// Most values that `$variable` references may copy in one configuration (each reference
/// copies the whole value it names, so references to references could otherwise grow a small
/// file into an enormous tree).
pub const MAX_EXPANSION: usize = 1_000_000;

/// State shared by every file and environment value parsed for one configuration.
#[derive(Default)]
pub(crate) struct Ctx {
    /// Canonical paths of the files being parsed, outermost first (for cycle detection).
    pub(crate) include_stack: Vec<PathBuf>,
    /// Environment variables being expanded, outermost first (for cycle detection).
    env_refs: Vec<String>,
    /// Current nesting depth; never above [`MAX_DEPTH`].
    depth: usize,
    /// Variables to use instead of the process environment (tests, fuzzing).
    pub(crate) env: Option<HashMap<String, String>>,
    /// Refuse `include` (fuzzing must not read files).
    pub(crate) no_includes: bool,
    /// Values copied by variable references so far; at most [`MAX_EXPANSION`].
    expanded: usize,
}

impl Ctx {
    pub(crate) fn enter(&mut self, pos: &Pos) -> Result<(), Error> {
        if self.depth >= MAX_DEPTH {
            return Err(Error::syntax(
                pos.clone(),
                format!(
                    "nested too deeply: at most {MAX_DEPTH} levels of maps, arrays and includes"
                ),
            )
            .at(ErrorKind::TooDeep));
        }
        self.depth += 1;
        Ok(())
    }

    pub(crate) fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Accounts for copying `v` at the current depth: the copy must stay within
    /// [`MAX_DEPTH`] and the total copied within [`MAX_EXPANSION`].
    fn expand(&mut self, v: &Value, pos: &Pos) -> Result<(), Error> {
        let budget = MAX_EXPANSION.saturating_sub(self.expanded);
        let (depth, nodes) = measure(v, budget);
        if self.depth + depth > MAX_DEPTH {
            return Err(Error::syntax(
                pos.clone(),
                format!(
                    "this variable makes the value nested too deeply: at most {MAX_DEPTH} levels"
                ),
            )
            .at(ErrorKind::TooDeep));
        }
        if nodes > budget {
            return Err(Error::syntax(
                pos.clone(),
                format!("variables copy too many values (more than {MAX_EXPANSION} in all)"),
            )
            .at(ErrorKind::TooDeep));
        }
        self.expanded += nodes;
        Ok(())
    }
}

/// Nesting depth (containers) and node count of `v`, counting stops above `limit`.
///
/// Recursion is bounded: every value in a tree is nested at most [`MAX_DEPTH`] deep (the
/// parser and [`Ctx::expand`] keep that invariant).
fn measure(v: &Value, limit: usize) -> (usize, usize) {
    match &v.kind {
        Kind::Array(items) => {
            let (mut depth, mut nodes) = (0, 1);
            for item in items {
                let (d, n) = measure(item, limit.saturating_sub(nodes));
                depth = depth.max(d);
                nodes += n;
                if nodes > limit {
                    break;
                }
            }
            (depth + 1, nodes)
        }
        Kind::Map(m) => {
            let (mut depth, mut nodes) = (0, 1);
            for e in m.entries() {
                let (d, n) = measure(&e.value, limit.saturating_sub(nodes));
                depth = depth.max(d);
                nodes += n;
                if nodes > limit {
                    break;
                }
            }
            (depth + 1, nodes)
        }
        _ => (0, 1),
    }
}

/// Parses one source text as a document.
pub(crate) struct Parser<'a, 'c> {
    cur: Cursor<'a>,
    /// Directory that relative include paths are joined to.
    dir: PathBuf,
    ctx: &'c mut Ctx,
    /// The maps being built, outermost first: the scopes `$variables` are looked up in.
    scopes: Vec<Map>,
}

const LONE_SLASH: &str = "a lone '/' is not allowed here (comments start with '#' or '//')";

impl<'a, 'c> Parser<'a, 'c> {
    pub(crate) fn new(src: &'a str, file: Arc<str>, dir: PathBuf, ctx: &'c mut Ctx) -> Self {
        Self { cur: Cursor::new(src, file), dir, ctx, scopes: Vec::new() }
    }

    /// Parses the whole text: entries, optionally inside document braces (`{ … }`, so JSON
    /// objects are configurations too).
    pub(crate) fn document(mut self) -> Result<Map, Error> {
        if self.cur.peek_char() == Some('\u{feff}') {
            return Err(self.cur.error(
                "the file starts with a UTF-8 byte order mark, which nats-server reads as part of \
                 the first option name; save the file without it",
            ));
        }
        self.scopes.push(Map::new());
        let mut braces: Vec<Pos> = Vec::new();
        'entries: loop {
            // Where a key may start.
            self.cur.skip_any_space();
            if self.cur.at_comment() {
                self.cur.skip_comment();
                continue;
            }
            match self.cur.peek() {
                None => {
                    if let Some(open) = braces.pop() {
                        return Err(unclosed_brace(open));
                    }
                    break;
                }
                Some(b'{') => {
                    let pos = self.cur.here();
                    if braces.len() >= MAX_DEPTH {
                        return Err(
                            Error::syntax(pos, "too many nested '{'").at(ErrorKind::TooDeep)
                        );
                    }
                    braces.push(pos);
                    self.cur.bump();
                    continue;
                }
                Some(b'}') => {
                    let pos = self.cur.here();
                    self.cur.bump();
                    if braces.pop().is_some() {
                        self.after_close(&mut braces)?;
                        continue;
                    }
                    // nats-server tolerates one stray '}' at the very end of a file.
                    self.cur.skip_any_space();
                    if self.cur.peek().is_none() {
                        break;
                    }
                    return Err(Error::syntax(pos, "unexpected '}': no '{' is open here"));
                }
                Some(b'/') => return Err(self.cur.error(LONE_SLASH)),
                Some(_) => {}
            }
            let key = self.entry(false)?;
            // After a value: blanks and comments, then a terminator.
            loop {
                self.cur.skip_blanks();
                if self.cur.at_comment() {
                    self.cur.skip_comment();
                    continue;
                }
                match self.cur.peek() {
                    None => continue 'entries,
                    Some(b'\n' | b'\r' | b';' | b',') => {
                        self.cur.bump();
                        continue 'entries;
                    }
                    Some(b'}') => {
                        self.cur.bump();
                        // Without open braces nats-server takes a '}' as a terminator.
                        if braces.pop().is_some() {
                            self.after_close(&mut braces)?;
                        }
                        continue 'entries;
                    }
                    Some(b'/') => return Err(self.cur.error(LONE_SLASH)),
                    Some(_) => {
                        let found = describe(self.cur.peek_char());
                        return Err(self.cur.error(format!(
                            "expected a new line, ';', ',' or a comment after the value of '{key}', found {found}"
                        )));
                    }
                }
            }
        }
        // Invariant: the top-level map pushed above is the only scope left.
        Ok(self.scopes.pop().unwrap_or_default())
    }

    /// After a document brace closed while others are still open: white space and comments,
    /// then `;` or `,` (back to entries) or another `}`.
    fn after_close(&mut self, braces: &mut Vec<Pos>) -> Result<(), Error> {
        while let Some(open) = braces.last() {
            self.cur.skip_any_space();
            if self.cur.at_comment() {
                self.cur.skip_comment();
                return Ok(());
            }
            match self.cur.peek() {
                Some(b';' | b',') => {
                    self.cur.bump();
                    return Ok(());
                }
                Some(b'}') => {
                    self.cur.bump();
                    braces.pop();
                }
                None => return Err(unclosed_brace(open.clone())),
                Some(_) => {
                    let found = describe(self.cur.peek_char());
                    let open = open.clone();
                    return Err(self.cur.error(format!(
                        "expected '}}' to close the '{{' at {open}, or ';' or ',', found {found}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Parses `key [=|:] value` (or an `include`) into the innermost map; returns the key.
    fn entry(&mut self, in_map: bool) -> Result<String, Error> {
        let key_pos = self.cur.here();
        let (key, quoted) = match self.cur.peek() {
            Some(q @ (b'"' | b'\'')) => (self.cur.raw_quoted(q)?, true),
            Some(c @ (b'=' | b':')) => {
                return Err(self.cur.error(format!(
                    "expected an option name, found the separator '{}'",
                    c as char
                )));
            }
            _ => {
                let start = self.cur.offset();
                while let Some(c) = self.cur.peek_char() {
                    if is_any_space(c) || c == '=' || c == ':' {
                        break;
                    }
                    self.cur.bump();
                }
                (self.cur.slice(start).to_owned(), false)
            }
        };
        if !quoted
            && key.eq_ignore_ascii_case("include")
            && self.cur.peek_char().is_some_and(is_any_space)
        {
            self.include()?;
            return Ok(key);
        }
        // Between key and separator any white space is allowed, new lines included.
        self.cur.skip_any_space();
        let separated = matches!(self.cur.peek(), Some(b'=' | b':'));
        if separated {
            self.cur.bump();
        }
        if in_map {
            self.cur.skip_any_space();
            match self.cur.peek() {
                None => {
                    return Err(self
                        .cur
                        .error(format!("'{key}' has no value: the file ends inside a map")));
                }
                Some(b',') => {
                    return Err(self.cur.error(format!("expected a value for '{key}', found ','")));
                }
                // nats-server gives the enclosing map to this key and loses the map's own key.
                Some(b'}') => {
                    return Err(self
                        .cur
                        .error(format!("expected a value for '{key}', found '}}'")));
                }
                Some(_) => {}
            }
        } else if !separated && self.cur.peek().is_none() {
            return Err(Error::syntax(
                key_pos,
                format!("'{key}' has no value: the file ends after it"),
            ));
        }
        let value = self.value()?;
        // Invariant: `document` and `map` push a scope before parsing entries into it.
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(Entry { key: key.clone(), key_pos, value, used_as_variable: false });
        }
        Ok(key)
    }

    /// Parses a value; the cursor is after the key and separator.
    fn value(&mut self) -> Result<Value, Error> {
        self.cur.skip_blanks();
        let pos = self.cur.here();
        let kind = match self.cur.peek() {
            Some(b'[') => self.array(&pos)?,
            Some(b'{') => self.map(&pos)?,
            Some(b'\'') => Kind::String(self.cur.raw_quoted(b'\'')?),
            Some(b'"') => Kind::String(self.cur.double_quoted()?),
            Some(b'(') => Kind::String(self.cur.block()?),
            Some(b'-' | b'0'..=b'9') => match self.cur.number()? {
                Scalar::Str(s) => Kind::String(s),
                Scalar::Int(i) => Kind::Integer(i),
                Scalar::Float(f) => Kind::Float(f),
                Scalar::Datetime(d) => Kind::Datetime(d),
            },
            Some(b'.') => {
                return Err(self
                    .cur
                    .error("a number must start with a digit, not '.' (quote paths like './x')"));
            }
            Some(b'\n' | b'\r') => {
                return Err(self.cur.error("expected a value, found a new line"));
            }
            _ => {
                let start = self.cur.offset();
                let (s, escaped) = self.cur.unquoted(start)?;
                if escaped {
                    Kind::String(s)
                } else if let Some(b) = parse_bool(&s) {
                    Kind::Bool(b)
                } else if let Some(name) = s.strip_prefix('$') {
                    return self.variable(name.to_owned(), pos);
                } else {
                    Kind::String(s)
                }
            }
        };
        Ok(Value { kind, pos })
    }

    fn array(&mut self, open: &Pos) -> Result<Kind, Error> {
        self.ctx.enter(open)?;
        self.cur.bump();
        let mut items = Vec::new();
        'elements: loop {
            self.cur.skip_any_space();
            if self.cur.at_comment() {
                self.cur.skip_comment();
                continue;
            }
            match self.cur.peek() {
                None => {
                    return Err(Error::syntax(open.clone(), "this '[' is never closed with ']'"));
                }
                Some(b']') => {
                    self.cur.bump();
                    break;
                }
                Some(b',') => return Err(self.cur.error("expected an array element, found ','")),
                Some(b'/') => return Err(self.cur.error(LONE_SLASH)),
                Some(_) => {}
            }
            items.push(self.value()?);
            loop {
                self.cur.skip_blanks();
                if self.cur.at_comment() {
                    self.cur.skip_comment();
                    continue;
                }
                match self.cur.peek() {
                    Some(b',' | b'\n' | b'\r') => {
                        self.cur.bump();
                        continue 'elements;
                    }
                    Some(b']') => {
                        self.cur.bump();
                        break 'elements;
                    }
                    None => {
                        return Err(Error::syntax(
                            open.clone(),
                            "this '[' is never closed with ']'",
                        ));
                    }
                    Some(b'/') => return Err(self.cur.error(LONE_SLASH)),
                    Some(_) => {
                        let found = describe(self.cur.peek_char());
                        return Err(self.cur.error(format!(
                            "expected ',', a new line or ']' after an array element, found {found}"
                        )));
                    }
                }
            }
        }
        self.ctx.leave();
        Ok(Kind::Array(items))
    }

    fn map(&mut self, open: &Pos) -> Result<Kind, Error> {
        self.ctx.enter(open)?;
        self.cur.bump();
        self.scopes.push(Map::new());
        'entries: loop {
            self.cur.skip_any_space();
            if self.cur.at_comment() {
                self.cur.skip_comment();
                continue;
            }
            match self.cur.peek() {
                None => {
                    return Err(Error::syntax(open.clone(), "this '{' is never closed with '}'"));
                }
                Some(b'}') => {
                    self.cur.bump();
                    break;
                }
                Some(b']') => return Err(self.cur.error("unexpected ']' in a map")),
                Some(b'/') => return Err(self.cur.error(LONE_SLASH)),
                Some(_) => {}
            }
            let key = self.entry(true)?;
            loop {
                self.cur.skip_blanks();
                if self.cur.at_comment() {
                    self.cur.skip_comment();
                    continue;
                }
                match self.cur.peek() {
                    Some(b',' | b';' | b'\n' | b'\r') => {
                        self.cur.bump();
                        continue 'entries;
                    }
                    Some(b'}') => {
                        self.cur.bump();
                        break 'entries;
                    }
                    None => {
                        return Err(Error::syntax(
                            open.clone(),
                            "this '{' is never closed with '}'",
                        ));
                    }
                    Some(b'/') => return Err(self.cur.error(LONE_SLASH)),
                    Some(_) => {
                        let found = describe(self.cur.peek_char());
                        return Err(self.cur.error(format!(
                            "expected ',', ';', a new line or '}}' after the value of '{key}', found {found}"
                        )));
                    }
                }
            }
        }
        self.ctx.leave();
        // Invariant: the scope pushed above is still the innermost one.
        Ok(Kind::Map(self.scopes.pop().unwrap_or_default()))
    }

    /// Parses the path after `include` and merges that file's entries into the current map.
    fn include(&mut self) -> Result<(), Error> {
        self.cur.skip_blanks();
        let at = self.cur.here();
        let path = match self.cur.peek() {
            Some(q @ (b'\'' | b'"')) => self.cur.raw_quoted(q)?,
            None => {
                return Err(self
                    .cur
                    .error("expected a file path after 'include', found the end of the file"));
            }
            Some(b'[' | b'{' | b'(' | b'0'..=b'9' | b'-' | b'\\' | b'\n' | b'\r') => {
                let found = describe(self.cur.peek_char());
                return Err(self.cur.error(format!(
                    "expected a file path after 'include', found {found} (quote the path)"
                )));
            }
            Some(_) => {
                let start = self.cur.offset();
                while !matches!(
                    self.cur.peek(),
                    None | Some(b'\n' | b'\r' | b';' | b'}' | b' ' | b'\t' | b'\'')
                ) {
                    self.cur.bump();
                }
                let path = self.cur.slice(start).to_owned();
                if self.cur.peek() == Some(b'\'') {
                    self.cur.bump();
                }
                path
            }
        };
        self.ctx.enter(&at)?;
        let map = include::include(self.ctx, &self.dir, &path, &at);
        self.ctx.leave();
        let map = map?;
        // Invariant: `document` and `map` push a scope before parsing entries into it.
        if let Some(scope) = self.scopes.last_mut() {
            for entry in map.into_entries() {
                scope.insert(entry);
            }
        }
        Ok(())
    }

    /// Resolves `$name`: keys written earlier in the enclosing maps (innermost first), then
    /// the environment, whose text is parsed as a value.
    fn variable(&mut self, name: String, pos: Pos) -> Result<Value, Error> {
        // An unquoted bcrypt hash (`$2a$11$…`) is text, not a reference (nats-server rule).
        if name.starts_with("2a$") {
            return Ok(Value { kind: Kind::String(format!("${name}")), pos });
        }
        for scope in self.scopes.iter_mut().rev() {
            if let Some(entry) = scope.get_mut(&name) {
                entry.used_as_variable = true;
                self.ctx.expand(&entry.value, &pos)?;
                let mut v = entry.value.clone();
                v.pos = pos;
                return Ok(v);
            }
        }
        let var_err = |msg: String| Error::syntax(pos.clone(), msg).at(ErrorKind::Variable);
        if self.ctx.env_refs.contains(&name) {
            return Err(var_err(format!(
                "variable reference cycle for '${name}' through the environment"
            )));
        }
        let text = match &self.ctx.env {
            Some(env) => env.get(&name).cloned(),
            None => std::env::var_os(&name).map(|t| t.to_string_lossy().into_owned()),
        };
        let Some(text) = text else {
            return Err(var_err(format!(
                "variable '${name}' is not defined: no key '{name}' before it in this map or the maps \
                 around it, and no environment variable '{name}'"
            )));
        };
        let src = format!("pk={text}");
        let file: Arc<str> = Arc::from(format!("${name}"));
        self.ctx.enter(&pos)?;
        self.ctx.env_refs.push(name.clone());
        let parsed = Parser::new(&src, file, PathBuf::new(), self.ctx).document();
        self.ctx.env_refs.pop();
        self.ctx.leave();
        match parsed {
            Ok(map) => match map.into_entries().into_iter().find(|e| e.key == "pk") {
                Some(entry) => {
                    let mut v = entry.value;
                    self.ctx.expand(&v, &pos)?;
                    v.restamp(&pos);
                    Ok(v)
                }
                None => Err(var_err(format!("environment variable '{name}' holds no value"))),
            },
            Err(e) if e.kind == ErrorKind::Variable => Err(e),
            Err(e) => Err(var_err(format!(
                "environment variable '{name}' could not be parsed as a value: {}",
                e.message
            ))),
        }
    }
}

fn unclosed_brace(open: Pos) -> Error {
    Error::syntax(open, "this '{' is never closed with '}'")
}

/// `true`/`yes`/`on`, `false`/`no`/`off`, any case.
fn parse_bool(s: &str) -> Option<bool> {
    const T: [&str; 3] = ["true", "yes", "on"];
    const F: [&str; 3] = ["false", "no", "off"];
    if T.iter().any(|t| s.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if F.iter().any(|f| s.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}
