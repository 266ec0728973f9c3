//! poundctl's template language (pound manual, chapter 12.5): a subset of Go's
//! text/template that turns a reply of the control socket into text.
//!
//! Users of pound 4.23 keep their own template files (`-t FILE`, `~/.poundctl.tmpl`), so
//! this reads them the way poundctl 4.23 does. Where the manual is silent the reference
//! program was asked, and its answers are recorded in the table tests (`tests*.rs`):
//! numbers from the reply are floating point and print as `%.0f`, numeric literals are
//! integers, templates must be defined before `{{template}}` names them, variables are
//! scoped dynamically, and the error messages and their `FILE:LINE:COLUMN` are the
//! reference's. Where the reference crashes (`{{and}}`, `{{printf "%d"}}`, an open
//! comment, endless recursion) this reports an error instead; where it contradicts the
//! manual (`{{continue}}` inside `{{if}}`, `{{template "NAME"}}` without a value,
//! `{{block}}` of a name already defined, printf's flags) this follows the manual
//! (`tests_differences.rs` lists every such case).
//!
//! Modules: `lex` cuts the text into tokens, `parse` builds the templates (`ast`),
//! `exec` runs one over a reply, with `value` (the values and their conversions),
//! `funcs` (the built-ins) and `printf`.
//!
//! [`DEFAULT_TEMPLATES`] is our own template file, whose `default` template lays replies
//! out as `render` does.

mod ast;
mod exec;
mod funcs;
mod lex;
mod parse;
mod printf;
mod value;

#[cfg(test)]
mod default_recorded;
#[cfg(test)]
mod default_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_control;
#[cfg(test)]
mod tests_differences;
#[cfg(test)]
mod tests_errors;
#[cfg(test)]
mod tests_syntax;

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

use ast::Node;
pub use exec::{MAX_DEPTH, MAX_OUTPUT, MAX_STEPS};
use lex::Source;
pub use parse::MAX_NESTING;

/// Our template file: defines `default` (the layout of [`crate::render`]).
pub const DEFAULT_TEMPLATES: &str = include_str!("poundctl.tmpl");

/// The templates of one template file, by name.
#[derive(Debug, Clone)]
pub struct Templates {
    templates: HashMap<String, Vec<Node>>,
}

/// A template that failed to parse or to run; `Display` gives the message as poundctl
/// prints it after `poundctl: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    message: String,
    /// `(file, line, column)` of a syntax error; `file` is empty when unnamed.
    location: Option<(String, usize, usize)>,
    /// What a failed run printed before the error (the reference has printed it by then).
    partial: String,
}

impl TemplateError {
    /// The message alone, without the location.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `(line, column)` of a syntax error: columns count bytes, as the reference does.
    pub fn line_column(&self) -> Option<(usize, usize)> {
        self.location.as_ref().map(|(_, l, c)| (*l, *c))
    }

    /// The output of a failed run up to the error; the reference prints it before the
    /// message, so poundctl should write it to standard output first.
    pub fn partial_output(&self) -> &str {
        &self.partial
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some((file, line, col)) if file.is_empty() => {
                write!(f, "{line}:{col}: {}", self.message)
            }
            Some((file, line, col)) => write!(f, "{file}:{line}:{col}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for TemplateError {}

/// The result of running a template: its output, the warnings the reference prints on
/// standard error without failing (`exists` given a non-object), and the error if it
/// failed (then `output` is what was printed before it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    pub output: String,
    pub warnings: Vec<String>,
    pub error: Option<TemplateError>,
}

impl Templates {
    /// Parses a template file's text. Only `{{define}}` (and `{{block}}`) make templates;
    /// the text around them is checked but never runs, as in the reference. Syntax errors
    /// are located `LINE:COLUMN`.
    pub fn parse(text: &str) -> Result<Templates, TemplateError> {
        Self::parse_named("", text)
    }

    /// Like [`Templates::parse`], with the file name the reference puts before the
    /// location: `FILE:LINE:COLUMN: Unexpected token`.
    pub fn parse_named(file_name: &str, text: &str) -> Result<Templates, TemplateError> {
        // The reference reads the file as a C string: a NUL byte ends it.
        let text = text.split('\0').next().unwrap_or("");
        let toks = lex::tokens(text);
        match parse::parse(&toks) {
            Ok(templates) => Ok(Templates { templates }),
            Err(e) => {
                let (line, col) = Source { text }.locate(e.at);
                Err(TemplateError {
                    message: e.message.to_string(),
                    location: Some((file_name.to_string(), line, col)),
                    partial: String::new(),
                })
            }
        }
    }

    /// Whether the file defines the template `name`.
    pub fn has(&self, name: &str) -> bool {
        self.templates.contains_key(name)
    }

    /// Executes the template `name` with dot = `data`, returning the output text.
    /// Warnings are dropped; use [`Templates::run`] to show them.
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, TemplateError> {
        let run = self.run(name, data);
        match run.error {
            Some(e) => Err(e),
            None => Ok(run.output),
        }
    }

    /// Executes the template `name` with dot = `data`, keeping the warnings and, on
    /// failure, the output printed before the error.
    pub fn run(&self, name: &str, data: &Value) -> Execution {
        let Some(body) = self.templates.get(name) else {
            return Execution {
                output: String::new(),
                warnings: Vec::new(),
                error: Some(TemplateError {
                    message: format!("template {name} not defined"),
                    location: None,
                    partial: String::new(),
                }),
            };
        };
        let mut exec = exec::Exec::new(&self.templates);
        let result = exec.call(body, &value::Val::from_json(data));
        let error = result.err().map(|message| TemplateError {
            message,
            location: None,
            partial: exec.out.clone(),
        });
        Execution {
            output: exec.out,
            warnings: exec.warnings,
            error,
        }
    }
}
