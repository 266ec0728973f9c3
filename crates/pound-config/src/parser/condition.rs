//! Matching directives (pound.8, Service Matching Directives, Negation, Match statement, and
//! the response conditions of RESPONSE MODIFICATION).

use super::{BlockEnd, PResult, Parser};
use crate::diag::{Diagnostic, Pos, Span};
use crate::lexer::{Token, TokenKind};
use crate::model::{BoolOp, Condition, ConditionKind, MatchMode, Matcher, Pattern, Statement};

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
        let (kind, end) = match kw {
            "ACL" => {
                let (acl, end) = self.acl_ref_or_body(&t)?;
                (ConditionKind::Acl(acl), end)
            }
            "BasicAuth" => {
                let file = self.file_arg()?;
                if self.env.stat(&file.value).is_err() {
                    let shown = self.shown(&file.value);
                    self.diags.push(Diagnostic::notice(
                        &file.span,
                        format!("{shown}: file does not exist"),
                    ));
                }
                (ConditionKind::BasicAuth(file.value), file.span)
            }
            "Header" | "HeadRequire" | "HeadDeny" => {
                if kw == "HeadRequire" {
                    self.deprecated(&t.span, "use \"Header\" instead");
                } else if kw == "HeadDeny" {
                    self.deprecated(&t.span, "use \"Not Header\" instead");
                }
                let (m, end) = self.matcher_arg(MatchMode::Regex, true)?;
                let header = ConditionKind::Header(m);
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
            "Host" => {
                let (m, end) = self.matcher_arg(MatchMode::Exact, true)?;
                (ConditionKind::Host(m), end)
            }
            "Path" | "Query" | "URL" => {
                let (m, end) = self.matcher_arg(MatchMode::Regex, scope.ignore_case)?;
                let kind = match kw {
                    "Path" => ConditionKind::Path(m),
                    "Query" => ConditionKind::Query(m),
                    _ => ConditionKind::Url(m),
                };
                (kind, end)
            }
            "QueryParam" => {
                let name = self.string()?.text;
                let (matcher, end) = self.matcher_arg(MatchMode::Regex, scope.ignore_case)?;
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
            "Not" => {
                // pound reads on, over ends of line and other tokens, to the next keyword.
                let inner_kw = loop {
                    let t = self.next()?;
                    match t.kind {
                        TokenKind::Ident => break t,
                        TokenKind::Newline => {}
                        TokenKind::Eof => {
                            return Err(Diagnostic::error(&t.span, "unexpected end of file"))
                        }
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
                (ConditionKind::Not(Box::new(inner)), end)
            }
            "Match" => {
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
                let end =
                    self.block(&[scope.table()], BlockEnd::End, &opener, &mut |p, kw, t| {
                        conditions.push(p.condition(kw, t, scope)?);
                        Ok(())
                    })?;
                let kind = ConditionKind::Match {
                    op: op_value,
                    conditions,
                };
                (kind, end)
            }
            _ => unreachable!("keyword {kw} listed but not handled"),
        };
        Ok(Condition {
            span: t.span.to(&end),
            kind,
        })
    }

    /// `[options] "pattern"` and the end of line. Returns the matcher and the pattern's span.
    pub(super) fn matcher_arg(
        &mut self,
        default_mode: MatchMode,
        default_icase: bool,
    ) -> PResult<(Matcher, Span)> {
        let mut mode = default_mode;
        let mut icase = default_icase;
        let mut from_file = false;
        let pattern = loop {
            let t = self.next()?;
            match t.kind {
                TokenKind::String => break t,
                // Options are case-sensitive, as in pound.
                TokenKind::Literal if t.text.starts_with('-') => match t.text.as_str() {
                    "-re" => mode = MatchMode::Regex,
                    "-exact" => mode = MatchMode::Exact,
                    "-beg" => mode = MatchMode::Prefix,
                    "-end" => mode = MatchMode::Suffix,
                    "-case" => icase = false,
                    "-icase" => icase = true,
                    "-file" => from_file = true,
                    _ => {
                        return Err(Diagnostic::error(
                            &t.span,
                            format!("unexpected token: {}", t.text),
                        ))
                    }
                },
                _ => return Err(Self::unexpected(&t, "quoted string")),
            }
        };
        let eol = self.next_span()?;
        self.end_of_line()?;
        let mut matcher = Matcher {
            mode,
            icase,
            patterns: Vec::new(),
            file: None,
        };
        if from_file {
            let path = self.resolve(&pattern.text);
            let text = match self.env.stat(&path) {
                // pound takes a directory for an empty list.
                Ok(crate::env::FileKind::Directory) => Vec::new(),
                Ok(_) => self.read(&path, &pattern.span)?,
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
            let file: std::sync::Arc<str> = path.to_string_lossy().into();
            for (n, line) in text.lines().enumerate() {
                let trimmed = line.trim();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    continue;
                }
                let col = (line.len() - line.trim_start().len()) as u32 + 1;
                let at = Span {
                    file: file.clone(),
                    start: Pos {
                        line: n as u32 + 1,
                        col,
                    },
                    end: Pos {
                        line: n as u32 + 1,
                        col: col + trimmed.len() as u32 - 1,
                    },
                };
                // pound reports a bad expression in a list and leaves it out.
                match self.pattern(trimmed, mode, icase, &at) {
                    Ok(p) => matcher.patterns.push(p),
                    Err(e) => self.diags.push(Diagnostic::plain_notice(format!(
                        "{}:{}: {}",
                        self.shown(&path),
                        n + 1,
                        e.message
                    ))),
                }
            }
            matcher.file = Some(path);
        } else {
            matcher
                .patterns
                .push(self.pattern(&pattern.text, mode, icase, &pattern.span)?);
        }
        Ok((matcher, pattern.span))
    }

    fn pattern(&self, text: &str, mode: MatchMode, icase: bool, at: &Span) -> PResult<Pattern> {
        let regex = match mode {
            MatchMode::Regex => Some(self.compile_regex(text, icase, at)?),
            _ => None,
        };
        Ok(Pattern {
            text: text.to_string(),
            regex,
        })
    }
}
