//! Matching directives (pound.8, Service Matching Directives, Negation, Match statement, and
//! the response conditions of RESPONSE MODIFICATION).

use std::sync::Arc;

use pound_regex::Dialect;

use super::{BlockEnd, PResult, Parser};
use crate::diag::{Diagnostic, Span};
use crate::lexer::{Token, TokenKind};
use crate::model::watch::{Watched, WatchedKind};
use crate::model::{
    BoolOp, Condition, ConditionKind, Live, MatchMode, Matcher, NamedCondition, PatternSpec,
    Statement,
};

/// Request conditions: in services, `Match` blocks and request `Rewrite` branches.
pub const CONDITIONS: &[&str] = &[
    "ACL",
    "BasicAuth",
    "Header",
    "Host",
    "Path",
    "Query",
    "QueryParam",
    "StringMatch",
    "URL",
    "HeadRequire",
    "HeadDeny",
    "Method",
    "Eval",
    "ClientCert",
    "TBF",
    "Not",
    "Match",
];

/// Response conditions: in `Rewrite response` branches.
pub(super) const RESPONSE_CONDITIONS: &[&str] = &["Header", "StringMatch", "Match", "Not"];

/// What a condition is parsed against.
#[derive(Clone, Copy)]
pub(super) struct Scope {
    /// The `IgnoreCase` default in force (global or service).
    pub ignore_case: bool,
    /// Whether this is a response rewrite, where only header conditions exist.
    pub response: bool,
    /// Whether this is inside a `Rewrite` (where a nested `Rewrite` takes no direction).
    pub in_rewrite: bool,
}

impl Scope {
    fn table(self) -> &'static [&'static str] {
        if self.response {
            RESPONSE_CONDITIONS
        } else {
            CONDITIONS
        }
    }
}

impl Parser<'_> {
    /// Parses the condition introduced by keyword `kw` (already read as `t`).
    pub(super) fn condition(
        &mut self,
        kw: &'static str,
        t: Token,
        scope: Scope,
    ) -> PResult<Condition> {
        // The nesting statements are kept apart so that the frames of their recursion stay
        // small (a hostile file nests them as deeply as the parser allows).
        let (kind, end) = match kw {
            "Not" => self.not_condition(&t, scope)?,
            "Match" => self.match_condition(scope)?,
            _ => self.simple_condition(kw, &t, scope)?,
        };
        Ok(Condition {
            span: t.span.to(&end),
            kind,
        })
    }

    /// `Not` and the condition it negates.
    fn not_condition(&mut self, t: &Token, scope: Scope) -> PResult<(ConditionKind, Span)> {
        // pound reads on, over ends of line and other tokens, to the next keyword.
        let inner_kw = loop {
            let t = self.next()?;
            match t.kind {
                TokenKind::Ident => break t,
                TokenKind::Newline => {}
                TokenKind::Eof => return Err(Diagnostic::error(&t.span, "unexpected end of file")),
                _ => self.diags.push(Diagnostic::notice(&t.span, "syntax error")),
            }
        };
        let Some(inner) = scope.table().iter().find(|k| inner_kw.is_keyword(k)) else {
            return Err(Diagnostic::error(&inner_kw.span, "unrecognized keyword"));
        };
        self.statements.push(Statement {
            keyword: inner,
            span: inner_kw.span.clone(),
        });
        let at = t.span.clone();
        let inner = self.nested(&at, |p| p.condition(inner, inner_kw, scope))?;
        let end = inner.span.clone();
        Ok((ConditionKind::Not(Box::new(inner)), end))
    }

    /// `Match [AND|OR]` and its conditions, up to `End`.
    fn match_condition(&mut self, scope: Scope) -> PResult<(ConditionKind, Span)> {
        // The operator is optional (AND, as in pound); whatever follows on the line
        // is the first condition.
        let opener = self.next_span()?;
        let op_value = if self.peek()?.kind == TokenKind::Ident {
            let op = self.next()?;
            if op.is_keyword("AND") {
                BoolOp::And
            } else if op.is_keyword("OR") {
                BoolOp::Or
            } else {
                return Err(Diagnostic::error(
                    &op.span,
                    format!("expected AND or OR, but found {}", op.text),
                ));
            }
        } else {
            BoolOp::And
        };
        let mut conditions = Vec::new();
        let end = self.block(&[scope.table()], BlockEnd::End, &opener, &mut |p, kw, t| {
            conditions.push(p.condition(kw, t, scope)?);
            Ok(())
        })?;
        let kind = ConditionKind::Match {
            op: op_value,
            conditions,
        };
        Ok((kind, end))
    }

    /// A condition that does not nest.
    fn simple_condition(
        &mut self,
        kw: &'static str,
        t: &Token,
        scope: Scope,
    ) -> PResult<(ConditionKind, Span)> {
        Ok(match kw {
            "ACL" => {
                let (acl, end, forwarded) = self.acl_ref_or_body(t, true)?;
                (ConditionKind::Acl { acl, forwarded }, end)
            }
            "BasicAuth" => self.basic_auth()?,
            "Header" | "HeadRequire" | "HeadDeny" => {
                if kw == "HeadRequire" {
                    self.deprecated(&t.span, "use \"Header\" instead");
                } else if kw == "HeadDeny" {
                    self.deprecated(&t.span, "use \"Not Header\" instead");
                }
                let (header, end) = self.header_condition()?;
                if kw == "HeadDeny" {
                    let inner = Condition {
                        span: t.span.to(&end),
                        kind: header,
                    };
                    (ConditionKind::Not(Box::new(inner)), end)
                } else {
                    (header, end)
                }
            }
            "ClientCert" => {
                let file = self.string()?;
                self.end_of_line()?;
                let path = self.resolve(&file.text);
                let bytes = self.read(&path, &file.span)?;
                use rustls_pki_types::pem::PemObject;
                let der = match rustls_pki_types::CertificateDer::pem_slice_iter(&bytes).next() {
                    Some(Ok(der)) => der,
                    // OpenSSL's words, which pound prints.
                    None => {
                        return Err(Diagnostic::error(
                            &file.span,
                            format!(
                                "{}: can't load certificate: error:0480006C:PEM routines::no start line",
                                file.text
                            ),
                        ))
                    }
                    Some(Err(e)) => {
                        return Err(Diagnostic::error(
                            &file.span,
                            format!("{}: can't load certificate: {e}", file.text),
                        ))
                    }
                };
                self.client_cert_condition = true;
                let der: Arc<[u8]> = der.as_ref().into();
                (ConditionKind::ClientCert { path, der }, file.span)
            }
            "TBF" => {
                let key = self.string()?;
                let key = self.template(&key)?;
                let t = self.next()?;
                let (count, per) = tbf_rate(&t)?;
                let (burst, end) = self.unsigned()?;
                self.end_of_line()?;
                (
                    ConditionKind::Tbf {
                        key,
                        count,
                        per,
                        burst,
                    },
                    end,
                )
            }
            "Method" => {
                let (m, end) = self.matcher_arg(MatchMode::Regex, false)?;
                (ConditionKind::Method(m), end)
            }
            "Eval" => {
                let name = self.string()?;
                self.end_of_line()?;
                let Some((c, _)) = self.conditions.iter().find(|(c, _)| c.name == name.text) else {
                    return Err(Diagnostic::error(
                        &name.span,
                        format!("{}: no such condition", name.text),
                    ));
                };
                (ConditionKind::Eval(c.clone()), name.span)
            }
            "Host" => {
                let (m, end) = self.matcher_arg(MatchMode::Exact, true)?;
                (ConditionKind::Host(m), end)
            }
            "Path" | "Query" | "URL" => {
                let opts = MatchOptions::new(self, MatchMode::Regex, scope.ignore_case);
                let (m, end) = self.matcher_with(opts, kw == "Path")?;
                let kind = match kw {
                    "Path" => ConditionKind::Path(m),
                    "Query" => ConditionKind::Query(m),
                    _ => ConditionKind::Url(m),
                };
                (kind, end)
            }
            "QueryParam" => {
                let name = self.string()?.text;
                let opts = MatchOptions::new(self, MatchMode::Regex, scope.ignore_case);
                let (matcher, end) = self.matcher_with(opts, true)?;
                (ConditionKind::QueryParam { name, matcher }, end)
            }
            "StringMatch" => {
                let t = self.string()?;
                let template = self.template(&t)?;
                // In response rewrites the manual's default is a case-insensitive regex.
                let icase = scope.ignore_case || scope.response;
                let (matcher, end) = self.matcher_arg(MatchMode::Regex, icase)?;
                (ConditionKind::StringMatch { template, matcher }, end)
            }
            _ => unreachable!("keyword {kw} listed but not handled"),
        })
    }

    /// `BasicAuth [-file|-filewatch] "FILE"`: watched unless `-file` says otherwise
    /// (pound 4.17).
    fn basic_auth(&mut self) -> PResult<(ConditionKind, Span)> {
        let mut option = None;
        let name = loop {
            let t = self.next()?;
            match t.kind {
                TokenKind::String => break t,
                TokenKind::Literal if t.text == "-file" || t.text == "-filewatch" => {
                    option = Some(t.text == "-filewatch");
                }
                TokenKind::Literal if t.text.starts_with('-') => {
                    return Err(Diagnostic::error(
                        &t.span,
                        format!("unexpected token: {}", t.text),
                    ))
                }
                _ => return Err(Self::unexpected(&t, "quoted string")),
            }
        };
        let eol = self.next_span()?;
        self.end_of_line()?;
        let path = self.resolve(&name.text);
        if self.env.stat(&path).is_err() {
            match option {
                Some(false) => {
                    return Err(Diagnostic::error(
                        &eol,
                        format!("file {} does not exist", name.text),
                    ))
                }
                Some(true) => self.missing_file(&path, &eol),
                None => self.missing_file(&path, &name.span),
            }
        }
        let watch = option != Some(false);
        Ok((ConditionKind::BasicAuth { path, watch }, name.span))
    }

    /// `Header [OPTIONS] "PATTERN"` (the whole line) or `Header "NAME" [OPTIONS] "PATTERN"`
    /// (the value of each field NAME): a string followed by more than the end of line is a
    /// field name.
    fn header_condition(&mut self) -> PResult<(ConditionKind, Span)> {
        let opts = MatchOptions::new(self, MatchMode::Regex, true);
        if self.peek()?.kind != TokenKind::String {
            let (m, end) = self.matcher_with(opts, false)?;
            return Ok((ConditionKind::Header(m), end));
        }
        let first = self.next()?;
        if matches!(self.peek()?.kind, TokenKind::Newline | TokenKind::Eof) {
            let (m, end) = self.matcher_from(opts, first)?;
            return Ok((ConditionKind::Header(m), end));
        }
        let (matcher, end) = self.matcher_with(opts, false)?;
        let name = first.text;
        Ok((ConditionKind::HeaderField { name, matcher }, end))
    }

    /// `Condition "NAME"` and its conditions, up to `End` (global scope).
    pub(super) fn named_condition(&mut self) -> PResult<()> {
        let name = self.string()?;
        let eol = self.next()?;
        if eol.kind != TokenKind::Newline {
            return Err(Diagnostic::error(&eol.span, "syntax error"));
        }
        // pound cites a condition from the end of its name.
        let after_name = |to: &Span| Span {
            file: name.span.file.clone(),
            start: name.span.end,
            end: to.end,
        };
        if let Some((_, first)) = self.conditions.iter().find(|(c, _)| c.name == name.text) {
            let first = first.clone();
            self.diags.push(Diagnostic::error(
                &after_name(&eol.span),
                format!("{} redefined", name.text),
            ));
            return Err(Diagnostic::error(&first, "originally defined here"));
        }
        let scope = Scope {
            ignore_case: self.global.ignore_case,
            response: false,
            in_rewrite: false,
        };
        let mut conditions = Vec::new();
        let end = self.block(&[CONDITIONS], BlockEnd::End, &name.span, &mut |p, kw, t| {
            conditions.push(p.condition(kw, t, scope)?);
            Ok(())
        })?;
        let condition = NamedCondition {
            name: name.text.clone(),
            index: self.conditions.len(),
            conditions,
        };
        let span = after_name(&end);
        self.conditions.push((Arc::new(condition), span));
        Ok(())
    }

    /// `[options] "pattern"` and the end of line. Returns the matcher and the pattern's span.
    pub(super) fn matcher_arg(
        &mut self,
        default_mode: MatchMode,
        default_icase: bool,
    ) -> PResult<(Matcher, Span)> {
        let opts = MatchOptions::new(self, default_mode, default_icase);
        self.matcher_with(opts, false)
    }

    /// Reads options up to the pattern, then the pattern and the end of line. `-decode` is
    /// accepted where `decode` says so (`Path`, `QueryParam`).
    pub(super) fn matcher_with(
        &mut self,
        mut opts: MatchOptions,
        decode: bool,
    ) -> PResult<(Matcher, Span)> {
        let pattern = loop {
            let t = self.next()?;
            match t.kind {
                TokenKind::String => break t,
                TokenKind::Literal if t.text.starts_with('-') => {
                    if t.text == "-decode" {
                        if !decode {
                            return Err(Diagnostic::error(&t.span, "unsupported option: -decode"));
                        }
                        opts.decode = true;
                    } else if !self.match_option(&mut opts, &t)? {
                        return Err(Diagnostic::error(
                            &t.span,
                            format!("unexpected token: {}", t.text),
                        ));
                    }
                }
                _ => return Err(Self::unexpected(&t, "quoted string")),
            }
        };
        self.matcher_from(opts, pattern)
    }

    /// Applies the common matching option `t`; `false` if it is not one of them.
    fn match_option(&mut self, opts: &mut MatchOptions, t: &Token) -> PResult<bool> {
        // Options are case-sensitive, as in pound.
        match t.text.as_str() {
            "-re" => opts.regex(self.regex_type),
            "-posix" => opts.regex(Dialect::Posix),
            "-pcre" | "-perl" => opts.regex(Dialect::Pcre),
            "-exact" => opts.mode = MatchMode::Exact,
            "-beg" => opts.mode = MatchMode::Prefix,
            "-end" => opts.mode = MatchMode::Suffix,
            "-contain" => opts.mode = MatchMode::Contain,
            "-case" => opts.icase = false,
            "-icase" => opts.icase = true,
            "-file" => opts.from_file = Some(false),
            "-filewatch" => opts.from_file = Some(true),
            // The tag must be quoted in pound, although its manual shows `-tag host`.
            "-tag" => opts.tag = Some(self.string()?.text.as_str().into()),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The matcher for `pattern` (already read) under `opts`, and the end of line.
    fn matcher_from(&mut self, opts: MatchOptions, pattern: Token) -> PResult<(Matcher, Span)> {
        let eol = self.next_span()?;
        self.end_of_line()?;
        let spec = PatternSpec {
            mode: opts.mode,
            dialect: opts.dialect,
            icase: opts.icase,
        };
        let mut matcher = Matcher {
            mode: opts.mode,
            icase: opts.icase,
            patterns: Live::default(),
            file: None,
            tag: opts.tag.clone(),
            decode: opts.decode,
        };
        let Some(watch) = opts.from_file else {
            let p = spec
                .compile(&pattern.text)
                .map_err(|e| Diagnostic::error(&pattern.span, e.message))?;
            matcher.patterns = Live::new(vec![p]);
            return Ok((matcher, pattern.span));
        };
        let path = self.resolve(&pattern.text);
        let text = match self.env.stat(&path) {
            // pound takes a directory for an empty list.
            Ok(crate::env::FileKind::Directory) => Vec::new(),
            Ok(_) => self.read(&path, &pattern.span)?,
            // A watched file may appear later.
            Err(_) if watch => {
                self.missing_file(&path, &eol);
                Vec::new()
            }
            Err(_) => {
                // pound opens the directory first, then looks for the file in it.
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    if let Err(e) = self.env.stat(dir) {
                        return Err(Diagnostic::plain(format!(
                            "can't open directory {}: {}",
                            dir.display(),
                            crate::env::describe_io_error(&e)
                        )));
                    }
                }
                return Err(Diagnostic::error(
                    &eol,
                    format!("file {} does not exist", pattern.text),
                ));
            }
        };
        let text = String::from_utf8(text).map_err(|_| {
            Diagnostic::error(
                &pattern.span,
                format!("{}: invalid UTF-8 in pattern file", path.display()),
            )
        })?;
        let (patterns, errors) = spec.list(&text);
        for (line, message) in errors {
            let shown = self.shown(&path);
            self.diags.push(Diagnostic::plain_notice(format!(
                "{shown}:{line}: {message}"
            )));
        }
        matcher.patterns = Live::new(patterns);
        if watch {
            self.watched.push(Watched {
                path: path.clone(),
                kind: WatchedKind::Patterns {
                    spec,
                    patterns: matcher.patterns.clone(),
                },
            });
        }
        matcher.file = Some(path);
        Ok((matcher, pattern.span))
    }
}

/// The options of one matching directive, as read so far.
#[derive(Clone)]
pub(super) struct MatchOptions {
    pub mode: MatchMode,
    /// The language of a regular expression (`-posix`, `-pcre`, or `RegexType` for `-re`).
    pub dialect: Dialect,
    pub icase: bool,
    /// `-file` (`Some(false)`) or `-filewatch` (`Some(true)`).
    pub from_file: Option<bool>,
    pub tag: Option<Arc<str>>,
    pub decode: bool,
}

impl MatchOptions {
    /// The defaults of a directive: its mode and case rule, the `RegexType` in force.
    pub(super) fn new(p: &Parser<'_>, mode: MatchMode, icase: bool) -> MatchOptions {
        MatchOptions {
            mode,
            dialect: p.regex_type,
            icase,
            from_file: None,
            tag: None,
            decode: false,
        }
    }

    fn regex(&mut self, dialect: Dialect) {
        self.mode = MatchMode::Regex;
        self.dialect = dialect;
    }
}

/// The `RATE` of `TBF` (pound 4.18): `N` a second, or `N/[M]UNIT` with `s`, `ms` or `us`
/// (any case; M is 1 when left out). pound's messages: the count must be a positive number,
/// the interval a positive number of a known unit, and the time per token at least a
/// nanosecond.
fn tbf_rate(t: &Token) -> PResult<(u64, std::time::Duration)> {
    use std::time::Duration;
    let bad = |m: &str| Diagnostic::error(&t.span, m);
    let text = t.text.as_str();
    let (count, interval) = match text.split_once('/') {
        Some((c, i)) => (c, Some(i)),
        None => (text, None),
    };
    if count.starts_with('-') {
        return Err(bad("effective rate is 0"));
    }
    let digits = count.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(bad("bad unsigned number"));
    }
    if digits < count.len() {
        return Err(bad(if interval.is_some() {
            "bad unsigned number"
        } else {
            "invalid rate"
        }));
    }
    let count_len = count.len();
    let count: u64 = count.parse().map_err(|_| bad("bad unsigned number"))?;
    if count == 0 {
        return Err(bad("bad unsigned number"));
    }
    let per_ns: u128 = match interval {
        None => 1_000_000_000,
        Some(i) => {
            let digits = i.bytes().take_while(u8::is_ascii_digit).count();
            let n: u128 = if digits == 0 {
                1
            } else {
                i[..digits]
                    .parse()
                    .map_err(|_| bad("bad interval specifier"))?
            };
            let unit = match i[digits..].to_ascii_lowercase().as_str() {
                "s" => 1_000_000_000,
                "ms" => 1_000_000,
                "us" => 1_000,
                // pound points at the unit, from where it starts to the token's end.
                _ => {
                    let mut span = t.span.clone();
                    span.start.col += (count_len + 1 + digits) as u32;
                    return Err(Diagnostic::error(&span, "bad interval specifier"));
                }
            };
            if n == 0 {
                return Err(bad("bad interval specifier"));
            }
            n * unit
        }
    };
    if per_ns > u128::from(u64::MAX) {
        return Err(bad("effective rate is out of range"));
    }
    if per_ns / u128::from(count) == 0 {
        return Err(bad("effective rate is 0"));
    }
    Ok((count, Duration::from_nanos(per_ns as u64)))
}
