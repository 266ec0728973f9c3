//! Source locations and diagnostics in pound's format.
//!
//! Operators' tooling reads pound's messages, so the location syntax is fixed:
//! `FILE:LINE.COL-COL` for a range on one line, `FILE:LINE.COL-LINE.COL` across lines and
//! `FILE:LINE.COL` for a point. Lines and columns count from 1 and the end column is the column
//! of the last character (inclusive).

use std::fmt;
use std::sync::Arc;

/// A position in a configuration file: 1-based line and column (columns count bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// A range of source text, both ends inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The file name as written (the configuration file name, or the resolved include path).
    pub file: Arc<str>,
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    /// A span from the start of `self` to the end of `other` (same file assumed).
    pub fn to(&self, other: &Span) -> Span {
        if self.file != other.file {
            return self.clone();
        }
        Span {
            file: self.file.clone(),
            start: self.start,
            end: other.end,
        }
    }
}

impl fmt::Display for Span {
    /// `FILE:L.C`, `FILE:L.C-C` or `FILE:L.C-L.C`, the form the `%{obj}L` log specifier and
    /// every diagnostic use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, e) = (self.start, self.end);
        write!(f, "{}:{}", self.file, s)?;
        if s == e {
            Ok(())
        } else if s.line == e.line {
            write!(f, "-{}", e.col)
        } else {
            write!(f, "-{e}")
        }
    }
}

impl fmt::Display for Pos {
    /// `LINE.COL`, or `LINE` alone for column 0 (the start of a line, where an end-of-line
    /// token ends).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.col == 0 {
            write!(f, "{}", self.line)
        } else {
            write!(f, "{}.{}", self.line, self.col)
        }
    }
}

/// A value together with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Printed with the `warning:` label; the configuration is still used.
    Warning,
    /// A message pound prints without a label that does not stop it (`syntax error`,
    /// `unrecognized escape character`, `statement ignored`, ...): the configuration is
    /// still used.
    Notice,
    Error,
}

/// One message about the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Where the problem is; `None` for problems with no place in a file (e.g. the main
    /// configuration file cannot be opened).
    pub span: Option<Span>,
    pub message: String,
}

impl Diagnostic {
    pub fn error(span: &Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            span: Some(span.clone()),
            message: message.into(),
        }
    }

    pub fn warning(span: &Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            span: Some(span.clone()),
            message: message.into(),
        }
    }

    /// A non-fatal message printed without the `warning:` label.
    pub fn notice(span: &Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Notice,
            span: Some(span.clone()),
            message: message.into(),
        }
    }

    /// A non-fatal message with no location, printed without a label.
    pub fn plain_notice(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Notice,
            span: None,
            message: message.into(),
        }
    }

    pub fn plain(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            span: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    /// The text after the `pound: ` prefix: `FILE:L.C-C: [warning: ]message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(span) = &self.span {
            write!(f, "{span}: ")?;
        }
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(l1: u32, c1: u32, l2: u32, c2: u32) -> Span {
        Span {
            file: "pound.cfg".into(),
            start: Pos { line: l1, col: c1 },
            end: Pos { line: l2, col: c2 },
        }
    }

    #[test]
    fn location_forms() {
        assert_eq!(span(3, 1, 3, 1).to_string(), "pound.cfg:3.1");
        assert_eq!(span(3, 1, 3, 10).to_string(), "pound.cfg:3.1-10");
        assert_eq!(span(3, 1, 7, 3).to_string(), "pound.cfg:3.1-7.3");
    }

    #[test]
    fn diagnostic_forms() {
        let d = Diagnostic::warning(&span(2, 5, 2, 9), "deprecated statement");
        assert_eq!(
            d.to_string(),
            "pound.cfg:2.5-9: warning: deprecated statement"
        );
        let d = Diagnostic::error(&span(2, 5, 2, 9), "unrecognized keyword");
        assert_eq!(d.to_string(), "pound.cfg:2.5-9: unrecognized keyword");
        assert_eq!(Diagnostic::plain("oops").to_string(), "oops");
    }
}
