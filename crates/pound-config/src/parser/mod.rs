//! The recursive-descent parser: tokens into the typed [`Config`].
//!
//! One statement per line. Each block (`ListenHTTP`, `Service`, `Backend`, ...) is parsed by
//! [`Parser::block`], which knows `End`, `Include` and empty lines and hands every other
//! keyword to the block's handler; the handler reads the arguments and the end of line.
//! Parsing stops at the first error, as pound's does; warnings are collected on the way.

mod address;
mod backend;
pub(crate) mod condition;
mod constant;
mod global;
mod listener;
mod logformat;
pub(crate) mod modify;
mod resolver;
mod service;
mod values;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::{Diagnostic, Pos, Span};
use crate::env::{describe_io_error, Environment};
use crate::lexer::{Lexer, Token, TokenKind};
use crate::model::{
    Acl, Config, Global, Listener, LogFormat, NamedBackend, NamedCondition, Service, Statement,
};

/// How to parse: the include directory and which warnings to give.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where relative file names are looked up; `None` means the current directory
    /// (`-W no-include-dir`).
    pub include_dir: Option<PathBuf>,
    /// Warn about deprecated statements (`-W warn-deprecated`, the default).
    pub warn_deprecated: bool,
}

/// The result of loading a configuration: the model if it is valid, and every diagnostic
/// (warnings, and the error that stopped it) in the order they arose.
#[derive(Debug)]
pub struct Loaded {
    pub config: Option<Config>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Loads the configuration file `path` (as given on the command line) and everything it
/// includes.
pub fn load(env: &dyn Environment, path: &str, options: &Options) -> Loaded {
    let mut p = Parser::new(env, options);
    let config = match env.read_file(Path::new(path)) {
        Err(e) => {
            p.diags.push(Diagnostic::plain(format!(
                "can't stat {path}: {}",
                describe_io_error(&e)
            )));
            None
        }
        Ok(src) => {
            p.included.push((PathBuf::from(path), None));
            p.stack.push(Lexer::new(path.into(), src));
            match p.parse_top().and_then(|()| p.finish(path)) {
                Ok(config) => Some(config),
                Err(e) => {
                    p.diags.push(e);
                    None
                }
            }
        }
    };
    Loaded {
        config,
        diagnostics: p.diags,
    }
}

type PResult<T> = Result<T, Diagnostic>;

/// The deepest nesting of sections (`Match` inside `Match` ...) accepted.
const MAX_DEPTH: usize = 128;

/// What ends a block.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BlockEnd {
    /// The top level: end of the main file.
    Eof,
    /// A section: the `End` keyword.
    End,
}

pub(crate) struct Parser<'e> {
    env: &'e dyn Environment,
    include_dir: Option<PathBuf>,
    warn_deprecated: bool,
    /// The include stack: the innermost file last.
    stack: Vec<Lexer>,
    /// Parallel to `stack`: the files a wildcard `Include` still has to read after that one
    /// (the next last), each with its name in messages and where a loop is reported.
    siblings: Vec<Vec<(PathBuf, Arc<str>, Span)>>,
    /// The files being read, parallel to `stack`, each with the `Include` that opened it: a
    /// file that includes one of these again is an include loop.
    included: Vec<(PathBuf, Option<Span>)>,
    peeked: Option<Token>,
    /// How many sections are open; bounded so that a hostile file cannot exhaust the stack.
    depth: usize,
    diags: Vec<Diagnostic>,
    global: Global,
    listeners: Vec<Listener>,
    services: Vec<Service>,
    backends: Vec<NamedBackend>,
    /// Named backends without `Address`: pound accepts them as long as no service uses
    /// them; the error is given at the first use.
    unusable_backends: Vec<(String, Diagnostic)>,
    acls: Vec<Arc<Acl>>,
    /// Detached conditions, each with the span pound cites for it when it is redefined.
    conditions: Vec<(Arc<NamedCondition>, Span)>,
    watched: Vec<crate::model::watch::Watched>,
    /// Where services are being read: `None` at top level, else whether the listener is
    /// `ListenHTTPS`.
    in_listener: Option<bool>,
    /// Set by a `ClientCert` condition of the service being read (not in its `Rewrite`s,
    /// which pound does not check).
    client_cert_condition: bool,
    log_formats: Vec<LogFormat>,
    statements: Vec<Statement>,
    /// The regular-expression language of `-re` and of conditions without a mode option
    /// (`RegexType`): in force from where it is set to the next `RegexType`.
    regex_type: pound_regex::Dialect,
}

impl<'e> Parser<'e> {
    fn new(env: &'e dyn Environment, options: &Options) -> Self {
        Parser {
            env,
            include_dir: options.include_dir.clone(),
            warn_deprecated: options.warn_deprecated,
            stack: Vec::new(),
            siblings: Vec::new(),
            included: Vec::new(),
            peeked: None,
            depth: 0,
            diags: Vec::new(),
            global: Global::default(),
            listeners: Vec::new(),
            services: Vec::new(),
            backends: Vec::new(),
            unusable_backends: Vec::new(),
            acls: Vec::new(),
            conditions: Vec::new(),
            watched: Vec::new(),
            in_listener: None,
            client_cert_condition: false,
            log_formats: Vec::new(),
            statements: Vec::new(),
            regex_type: pound_regex::Dialect::Posix,
        }
    }

    // ---- the token stream -------------------------------------------------------------

    fn next(&mut self) -> PResult<Token> {
        if let Some(t) = self.peeked.take() {
            return Ok(t);
        }
        let depth = self.stack.len();
        let Some(lexer) = self.stack.last_mut() else {
            return Err(Diagnostic::plain("unexpected end of file"));
        };
        let mut t = lexer.next_token(&mut self.diags)?;
        if t.kind == TokenKind::Eof && depth > 1 {
            // An included file ends its last statement even without a final newline; parsing
            // goes on in the including file, or in the next file of the same `Include`.
            self.stack.pop();
            self.included.pop();
            let mut rest = self.siblings.pop().unwrap_or_default();
            if let Some((path, shown, origin)) = rest.pop() {
                let at = origin.clone();
                if self.open_included(path, shown, &at, origin)? {
                    if let Some(frame) = self.siblings.last_mut() {
                        *frame = rest;
                    }
                }
            }
            t.kind = TokenKind::Newline;
        }
        Ok(t)
    }

    fn peek(&mut self) -> PResult<&Token> {
        if self.peeked.is_none() {
            let t = self.next()?;
            self.peeked = Some(t);
        }
        Ok(self.peeked.as_ref().expect("just filled"))
    }

    /// `expected WHAT, but found KIND`.
    fn unexpected(t: &Token, what: &str) -> Diagnostic {
        Diagnostic::error(
            &t.span,
            format!("expected {what}, but found {}", t.kind.describe()),
        )
    }

    /// Reads the end of the statement: a newline (or the end of the file).
    fn end_of_line(&mut self) -> PResult<()> {
        let t = self.next()?;
        if t.ends_line() {
            if t.kind == TokenKind::Eof {
                self.peeked = Some(t);
            }
            Ok(())
        } else {
            Err(Diagnostic::error(
                &t.span,
                format!("unexpected {}", t.kind.describe()),
            ))
        }
    }

    /// pound's note for a file that is missing but may appear later (`-filewatch`,
    /// `BasicAuth`), at `at`.
    fn missing_file(&mut self, path: &Path, at: &Span) {
        let shown = self.shown(path);
        self.diags.push(Diagnostic::notice(
            at,
            format!("{shown}: file does not exist"),
        ));
    }

    fn warn(&mut self, span: &Span, message: impl Into<String>) {
        self.diags.push(Diagnostic::warning(span, message));
    }

    fn deprecated(&mut self, span: &Span, advice: &str) {
        if self.warn_deprecated {
            self.warn(span, format!("deprecated statement, {advice}"));
        }
    }

    // ---- blocks -----------------------------------------------------------------------

    /// Parses statements up to the block's end. `keywords` are the statements allowed here
    /// (canonical spelling); `handle` parses one of them, arguments and end of line included.
    /// `opener` is where an unterminated block is reported (at its start): pound's place for
    /// the section, usually the first token after its keyword. Returns the span of the closing `End` (or of the end of file).
    fn block(
        &mut self,
        keywords: &[&[&'static str]],
        end: BlockEnd,
        opener: &Span,
        handle: &mut dyn FnMut(&mut Self, &'static str, Token) -> PResult<()>,
    ) -> PResult<Span> {
        self.nested(opener, |p| p.block_body(keywords, end, opener, handle))
    }

    /// Runs `parse` one nesting level deeper; past [`MAX_DEPTH`] it is an error at `at`, so
    /// that a hostile file cannot exhaust the stack.
    fn nested<T>(&mut self, at: &Span, parse: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_DEPTH {
            return Err(Diagnostic::error(at, "sections nested too deeply"));
        }
        self.depth += 1;
        let result = parse(self);
        self.depth -= 1;
        result
    }

    fn block_body(
        &mut self,
        keywords: &[&[&'static str]],
        end: BlockEnd,
        opener: &Span,
        handle: &mut dyn FnMut(&mut Self, &'static str, Token) -> PResult<()>,
    ) -> PResult<Span> {
        loop {
            let t = self.next()?;
            match t.kind {
                TokenKind::Newline => continue,
                TokenKind::Eof if end == BlockEnd::Eof => return Ok(t.span),
                TokenKind::Eof => {
                    let at = Self::point(opener, opener.start);
                    return Err(Diagnostic::error(&at, "unexpected end of file"));
                }
                TokenKind::Ident => {}
                // pound reports a statement that does not start with a keyword, skips that
                // one token and goes on: the message alone does not fail the configuration.
                _ => {
                    self.diags.push(Diagnostic::notice(&t.span, "syntax error"));
                    continue;
                }
            }
            if end == BlockEnd::End && t.is_keyword("End") {
                self.end_of_line()?;
                return Ok(t.span);
            }
            if t.is_keyword("Include") {
                self.include(&t)?;
                continue;
            }
            let Some(kw) = keywords
                .iter()
                .flat_map(|k| k.iter())
                .find(|k| t.is_keyword(k))
            else {
                return Err(Diagnostic::error(&t.span, "unrecognized keyword"));
            };
            self.statements.push(Statement {
                keyword: kw,
                span: t.span.clone(),
            });
            handle(self, kw, t)?;
        }
    }

    /// Records the statement being read under another name, for the runtime's list of
    /// what it implements (`Resolve immediate` is, the dynamic modes are not yet).
    fn rename_statement(&mut self, keyword: &'static str) {
        if let Some(s) = self.statements.last_mut() {
            s.keyword = keyword;
        }
    }

    /// `Include "file"`: continues reading from that file.
    fn include(&mut self, kw: &Token) -> PResult<()> {
        self.statements.push(Statement {
            keyword: "Include",
            span: kw.span.clone(),
        });
        let name = self.string()?;
        // Whatever follows the name is read as more statements, as pound reads it (a stray
        // string or number is a `syntax error` note), once the file is included.
        if matches!(self.peek()?.kind, TokenKind::Newline | TokenKind::Eof) {
            self.end_of_line()?;
        }
        let path = self.resolve(&name.text);
        // pound points at the end of the name when it reports a loop.
        let origin = Self::point(&name.span, name.span.end);
        let missing = |p: &Self, e: &std::io::Error| {
            Diagnostic::error(
                &name.span,
                format!("can't stat {}: {}", p.shown(&path), describe_io_error(e)),
            )
        };
        if !crate::glob::has_wildcards(&name.text) {
            // pound names an included file as it was written.
            self.open_included(path, name.text.as_str().into(), &name.span, origin)?;
            return Ok(());
        }
        // Wildcards (pound 4.18): every match, in sorted order, each read when the one
        // before it ends; no match is a missing file.
        let matched = crate::glob::expand(self.env, &path);
        if matched.is_empty() {
            return Err(missing(
                self,
                &std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        // Directories are skipped, as a directory named without wildcards is.
        let mut files: Vec<(PathBuf, Arc<str>)> = matched
            .into_iter()
            .filter(|p| self.env.stat(p).ok() != Some(crate::env::FileKind::Directory))
            .map(|p| {
                let shown = match &self.include_dir {
                    Some(dir) if !name.text.starts_with('/') => {
                        p.strip_prefix(dir).unwrap_or(&p).to_path_buf()
                    }
                    _ => p.clone(),
                };
                let shown: Arc<str> = shown.to_string_lossy().into();
                (p, shown)
            })
            .collect();
        files.reverse();
        let Some((first, shown)) = files.pop() else {
            return Ok(());
        };
        if self.open_included(first, shown, &name.span, origin.clone())? {
            if let Some(frame) = self.siblings.last_mut() {
                *frame = files
                    .into_iter()
                    .map(|(p, s)| (p, s, origin.clone()))
                    .collect();
            }
        }
        Ok(())
    }

    /// Starts reading the included file `path`, named `shown` in messages; `at` is the
    /// `Include` name, `origin` where a loop through it is reported. `false` for a
    /// directory, which pound skips.
    fn open_included(
        &mut self,
        path: PathBuf,
        shown: Arc<str>,
        at: &Span,
        origin: Span,
    ) -> PResult<bool> {
        if let Some((_, first)) = self.included.iter().find(|(p, _)| *p == path) {
            let first = first.clone();
            return Err(match first {
                Some(first) => {
                    self.diags
                        .push(Diagnostic::error(at, format!("{shown} already included")));
                    Diagnostic::error(&first, "here is the location of original inclusion")
                }
                None => Diagnostic::error(at, format!("{shown} already included (at top level)")),
            });
        }
        // pound skips a directory without a word.
        if self.env.stat(&path).ok() == Some(crate::env::FileKind::Directory) {
            return Ok(false);
        }
        let src = self.env.read_file(&path).map_err(|e| {
            Diagnostic::error(
                at,
                format!(
                    "can't stat {}: {}",
                    self.shown(&path),
                    describe_io_error(&e)
                ),
            )
        })?;
        self.included.push((path, Some(origin)));
        self.siblings.push(Vec::new());
        self.stack.push(Lexer::new(shown, src));
        Ok(true)
    }

    /// Resolves a file name from the configuration against the include directory.
    fn resolve(&self, name: &str) -> PathBuf {
        match &self.include_dir {
            Some(dir) if !name.starts_with('/') => dir.join(name),
            _ => PathBuf::from(name),
        }
    }

    /// Whether `name` is a directory, as pound checks `IncludeDir` and `ACME` ones: the
    /// error is `None` for something else than a directory.
    pub(super) fn directory(&self, name: &str) -> Result<(), Option<std::io::Error>> {
        match self.env.stat(Path::new(name)) {
            Ok(crate::env::FileKind::Directory) => Ok(()),
            Ok(_) => Err(None),
            Err(e) => Err(Some(e)),
        }
    }

    /// How pound names a resolved file in messages: a relative name is joined to the working
    /// directory when there is no include directory.
    pub(super) fn shown(&self, path: &Path) -> String {
        match self.env.current_dir() {
            Some(cwd) if self.include_dir.is_none() && path.is_relative() => {
                cwd.join(path).display().to_string()
            }
            _ => path.display().to_string(),
        }
    }

    /// Reads a file named at `span`; failure is an error there.
    fn read(&self, path: &Path, span: &Span) -> PResult<Vec<u8>> {
        self.env.read_file(path).map_err(|e| {
            Diagnostic::error(
                span,
                format!("can't open {}: {}", self.shown(path), describe_io_error(&e)),
            )
        })
    }

    /// The rest of a section's first line: an optional quoted name. Whatever follows is read
    /// as the section's first statement, as pound reads it. Returns the name and pound's
    /// place for the section: the name, or else the token after the keyword.
    fn section_head(&mut self) -> PResult<(Option<Token>, Span)> {
        let t = self.peek()?;
        let at = t.span.clone();
        if t.kind == TokenKind::String {
            let name = self.next()?;
            return Ok((Some(name), at));
        }
        Ok((None, at))
    }

    /// The span of the token after the one just read, without consuming it.
    fn next_span(&mut self) -> PResult<Span> {
        Ok(self.peek()?.span.clone())
    }

    /// Reads an error page named at `span`: pound wants a regular file.
    /// An error page file named `name` (as written) at `span`: read whole and split into
    /// fields and body. pound refuses a directory and an empty file.
    fn read_page(&self, name: &str, span: &Span) -> PResult<crate::model::ErrorPage> {
        let path = self.resolve(name);
        if matches!(
            self.env.stat(&path),
            Ok(crate::env::FileKind::Directory | crate::env::FileKind::Other)
        ) {
            return Err(Diagnostic::error(
                span,
                format!("{name}: not a regular file"),
            ));
        }
        let content = self.read(&path, span)?;
        if content.is_empty() {
            return Err(Diagnostic::error(span, format!("{name}: empty file")));
        }
        Ok(crate::model::ErrorPage {
            path,
            page: Arc::new(crate::model::Page::parse(&content)),
        })
    }

    /// A zero-width span at `pos` in `span`'s file.
    fn point(span: &Span, pos: Pos) -> Span {
        Span {
            file: span.file.clone(),
            start: pos,
            end: pos,
        }
    }

    // ---- the end -----------------------------------------------------------------------

    fn finish(&mut self, path: &str) -> PResult<Config> {
        global::check_global(self)?;
        service::resolve_named_backends(self)?;
        Ok(Config {
            file: path.into(),
            global: std::mem::take(&mut self.global),
            listeners: std::mem::take(&mut self.listeners),
            services: std::mem::take(&mut self.services),
            backends: std::mem::take(&mut self.backends),
            acls: std::mem::take(&mut self.acls),
            conditions: self.conditions.drain(..).map(|(c, _)| c).collect(),
            watched: std::mem::take(&mut self.watched),
            log_formats: std::mem::take(&mut self.log_formats),
            statements: std::mem::take(&mut self.statements),
        })
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_current;
#[cfg(test)]
mod tests_dns;
