//! Errors: each names a position, the option it concerns and what went wrong.

use std::fmt;

use crate::value::Pos;

/// One problem found in a configuration.
///
/// Displayed as `FILE:LINE:COL: OPTION: MESSAGE` (the option part is left out for syntax errors,
/// which concern no option yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// Where the problem is. `None` only when the file itself could not be read.
    pub pos: Option<Pos>,
    /// The file, when `pos` is `None`.
    pub file: Option<String>,
    /// The option path, e.g. `gateway.gateways[1].url`; empty for syntax errors.
    pub option: String,
    /// What was expected and what was found, or why the value is refused.
    pub message: String,
    /// The kind of problem, for callers and tests that want to match on it.
    pub kind: ErrorKind,
}

/// The kind of a configuration problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read.
    Io,
    /// The text is not valid configuration syntax.
    Syntax,
    /// An `include` failed: missing file, cycle, too deep.
    Include,
    /// A `$variable` could not be resolved.
    Variable,
    /// Nesting deeper than [`crate::MAX_DEPTH`].
    TooDeep,
    /// An option name that nats-server does not know.
    UnknownOption,
    /// A value of the wrong type or out of range.
    InvalidValue,
    /// Options that are valid one by one but not together (nats-server refuses to start).
    Conflict,
    /// Something nats-server only warns about; under `-t` nats-server fails on warnings too.
    Warning,
    /// An option nats-server implements and Strait does not, which Strait cannot ignore
    /// without serving the configuration differently (see `docs/compat.md`, "Options").
    Unsupported,
}

impl Error {
    pub(crate) fn new(
        kind: ErrorKind,
        pos: &Pos,
        option: &str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            pos: Some(pos.clone()),
            file: None,
            option: option.to_owned(),
            message: message.into(),
            kind,
        }
    }

    pub(crate) fn syntax(pos: Pos, message: impl Into<String>) -> Self {
        Self {
            pos: Some(pos),
            file: None,
            option: String::new(),
            message: message.into(),
            kind: ErrorKind::Syntax,
        }
    }

    pub(crate) fn at(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    pub(crate) fn io(file: &str, message: impl Into<String>) -> Self {
        Self {
            pos: None,
            file: Some(file.to_owned()),
            option: String::new(),
            message: message.into(),
            kind: ErrorKind::Io,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.pos, &self.file) {
            (Some(pos), _) => write!(f, "{pos}: ")?,
            (None, Some(file)) => write!(f, "{file}: ")?,
            (None, None) => {}
        }
        if self.kind == ErrorKind::Warning {
            f.write_str("warning: ")?;
        }
        if !self.option.is_empty() {
            write!(f, "{}: ", self.option)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Every problem found in a configuration, in file order; never empty when returned as an error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Errors(pub Vec<Error>);

impl Errors {
    /// The problems.
    pub fn iter(&self) -> std::slice::Iter<'_, Error> {
        self.0.iter()
    }

    /// Number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Error> for Errors {
    fn from(e: Error) -> Self {
        Errors(vec![e])
    }
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}

impl<'a> IntoIterator for &'a Errors {
    type Item = &'a Error;
    type IntoIter = std::slice::Iter<'a, Error>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
