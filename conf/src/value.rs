//! The value tree the parser produces: every value and key remembers where it came from.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A position in a configuration file: 1-based line and column.
///
/// Columns count characters (Unicode scalar values), tabs count as one. nats-server counts bytes
/// and starts line 1 at column 0; Strait is 1-based everywhere (see `docs/compat.md`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pos {
    /// The file as it was named: the path given to [`crate::load_file`], or the include path joined
    /// to the including file's directory. Values from environment variables name `$VAR`.
    pub file: Arc<str>,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, in characters.
    pub col: u32,
}

impl Pos {
    /// A position in `file` at `line`:`col`.
    pub fn new(file: impl Into<Arc<str>>, line: u32, col: u32) -> Self {
        Self { file: file.into(), line, col }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// A parsed value with its position (where the value itself starts).
#[derive(Clone, Debug)]
pub struct Value {
    /// What the value is.
    pub kind: Kind,
    /// Where the value starts. A value taken from a variable carries the reference's position.
    pub pos: Pos,
}

/// The kinds of values the configuration language has.
#[derive(Clone, Debug)]
pub enum Kind {
    /// A quoted, unquoted or block string.
    String(String),
    /// A 64-bit signed integer, size suffixes already applied (`1k` is 1000, `1kb` is 1024).
    Integer(i64),
    /// A 64-bit float (`1.5`); the language has no exponents.
    Float(f64),
    /// `true`/`yes`/`on` or `false`/`no`/`off`, unquoted, any case.
    Bool(bool),
    /// An unquoted `YYYY-MM-DDTHH:MM:SSZ` UTC datetime.
    Datetime(Datetime),
    /// `[ … ]`.
    Array(Vec<Value>),
    /// `{ … }`, or a whole document.
    Map(Map),
}

impl Kind {
    /// A short name of the kind, for messages ("string", "integer", …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::String(_) => "string",
            Kind::Integer(_) => "integer",
            Kind::Float(_) => "float",
            Kind::Bool(_) => "boolean",
            Kind::Datetime(_) => "datetime",
            Kind::Array(_) => "array",
            Kind::Map(_) => "map",
        }
    }
}

impl Value {
    /// Structural equality that ignores positions (floats compare by value, so `-0.0 == 0.0`).
    ///
    /// Recursion is bounded by the depth of the tree, which the parser limits to
    /// [`crate::MAX_DEPTH`].
    pub fn same_as(&self, other: &Value) -> bool {
        match (&self.kind, &other.kind) {
            (Kind::String(a), Kind::String(b)) => a == b,
            (Kind::Integer(a), Kind::Integer(b)) => a == b,
            (Kind::Float(a), Kind::Float(b)) => a == b,
            (Kind::Bool(a), Kind::Bool(b)) => a == b,
            (Kind::Datetime(a), Kind::Datetime(b)) => a == b,
            (Kind::Array(a), Kind::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_as(y))
            }
            (Kind::Map(a), Kind::Map(b)) => a.same_as(b),
            _ => false,
        }
    }

    /// Sets the position of this value and everything inside it (used for values parsed from
    /// environment variables, which have no file of their own).
    pub(crate) fn restamp(&mut self, pos: &Pos) {
        self.pos = pos.clone();
        match &mut self.kind {
            Kind::Array(items) => items.iter_mut().for_each(|v| v.restamp(pos)),
            Kind::Map(map) => {
                for e in &mut map.entries {
                    e.key_pos = pos.clone();
                    e.value.restamp(pos);
                }
            }
            _ => {}
        }
    }
}

/// A UTC date and time as written (`2016-05-04T18:53:41Z`); fields are range-checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Datetime {
    /// Year, 0–9999.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31 (checked against the month and leap years).
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–59.
    pub second: u8,
}

impl fmt::Display for Datetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// One `key = value` entry of a map.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The key exactly as written (the parser is case-sensitive; option names are not).
    pub key: String,
    /// Where the key starts (at the opening quote of a quoted key).
    pub key_pos: Pos,
    /// The value.
    pub value: Value,
    /// The entry was referenced as a `$variable`; such entries are not reported as unknown
    /// options (as in nats-server).
    pub used_as_variable: bool,
}

/// A map that keeps its entries in the order they were first written.
///
/// A key written twice keeps its first place and takes the last value, as nats-server does
/// ("last one wins").
#[derive(Clone, Debug, Default)]
pub struct Map {
    entries: Vec<Entry>,
    /// Invariant: `index[k]` is the position in `entries` of the entry whose key is `k`.
    index: HashMap<String, usize>,
}

impl Map {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts or replaces `key`; a replaced entry keeps its place in the order.
    pub fn insert(&mut self, entry: Entry) {
        match self.index.get(&entry.key) {
            Some(&i) => self.entries[i] = entry,
            None => {
                self.index.insert(entry.key.clone(), self.entries.len());
                self.entries.push(entry);
            }
        }
    }

    /// The entry for `key` (case-sensitive).
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.index.get(key).map(|&i| &self.entries[i])
    }

    /// The entry for `key`, mutably.
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Entry> {
        match self.index.get(key) {
            Some(&i) => self.entries.get_mut(i),
            None => None,
        }
    }

    /// The entries in order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Takes the entries out, in order.
    pub fn into_entries(self) -> Vec<Entry> {
        self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Structural equality ignoring positions and order (see [`Value::same_as`]).
    pub fn same_as(&self, other: &Map) -> bool {
        self.len() == other.len()
            && self
                .entries
                .iter()
                .all(|e| other.get(&e.key).is_some_and(|o| e.value.same_as(&o.value)))
    }
}
