//! Modification directives and `Rewrite` blocks (pound.8, REQUEST MODIFICATION DIRECTIVES,
//! RESPONSE MODIFICATION, and the compatibility spellings `HeaderAdd AddHeader HeaderRemove
//! HeadRemove`).

use super::condition::{Scope, CONDITIONS, RESPONSE_CONDITIONS};
use super::{BlockEnd, PResult, Parser};
use crate::diag::{Diagnostic, Span};
use crate::lexer::{Token, TokenKind};
use crate::model::{MatchMode, Modification, Rewrite, RewriteBranch, Template};

/// Modification statements allowed in listeners, services and request rewrites.
pub const MODIFICATIONS: &[&str] = &[
    "SetHeader",
    "DeleteHeader",
    "SetURL",
    "SetPath",
    "SetQuery",
    "SetQueryParam",
    "DeleteQuery",
    "Rewrite",
];

/// The old spellings, which pound 4.23 accepts directly in listeners only.
pub const OLD_MODIFICATIONS: &[&str] = &["HeaderAdd", "AddHeader", "HeaderRemove", "HeadRemove"];

const RESPONSE_ACTIONS: &[&str] = &["SetHeader", "DeleteHeader"];

/// A parsed modification statement: a request modification, or a `Rewrite response` block.
pub(super) enum Modified {
    Request(Modification),
    Response(Rewrite),
}

/// Whether `value` starts with `Name:` where Name is an HTTP token (RFC 9110, 5.1).
fn is_header_line(value: &str) -> bool {
    let Some((name, _)) = value.split_once(':') else {
        return false;
    };
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl Parser<'_> {
    /// Parses the modification statement `kw` (one of [`MODIFICATIONS`]).
    pub(super) fn modification(
        &mut self,
        kw: &'static str,
        t: &Token,
        scope: Scope,
    ) -> PResult<Modified> {
        let span = t.span.clone();
        let m = match kw {
            "SetHeader" | "HeaderAdd" | "AddHeader" => {
                if kw != "SetHeader" {
                    self.deprecated(&span, "use \"SetHeader\" instead");
                }
                self.set_header(span)?
            }
            "DeleteHeader" | "HeaderRemove" | "HeadRemove" => {
                if kw != "DeleteHeader" {
                    self.deprecated(&span, "use \"DeleteHeader\" instead");
                }
                // Case-insensitive by default, unlike pound 4.23's `DeleteHeader`: header
                // names are (docs/COMPATIBILITY.md).
                let (matcher, _) = self.matcher_arg(MatchMode::Regex, true)?;
                Modification::DeleteHeader { span, matcher }
            }
            "SetURL" => Modification::SetUrl {
                span,
                value: self.template_arg()?,
            },
            "SetPath" => {
                let encode = self.encode_option()?;
                Modification::SetPath {
                    span,
                    value: self.template_arg()?,
                    encode,
                }
            }
            "DeleteQuery" => {
                self.end_of_line()?;
                Modification::DeleteQuery { span }
            }
            "SetQuery" => Modification::SetQuery {
                span,
                value: self.template_arg()?,
            },
            "SetQueryParam" => {
                // `-encode` may come before the name or after it.
                let mut encode = self.encode_option()?;
                let name = self.string()?.text;
                encode |= self.encode_option()?;
                let value = if matches!(self.peek()?.kind, TokenKind::Newline | TokenKind::Eof) {
                    self.end_of_line()?;
                    None
                } else {
                    Some(self.template_arg()?)
                };
                Modification::SetQueryParam {
                    span,
                    name,
                    value,
                    encode,
                }
            }
            "Rewrite" => return self.rewrite(t, scope),
            _ => unreachable!("keyword {kw} listed but not handled"),
        };
        Ok(Modified::Request(m))
    }

    /// An optional `-encode` (`SetPath`, `SetQueryParam`).
    fn encode_option(&mut self) -> PResult<bool> {
        let t = self.peek()?;
        if t.kind == TokenKind::Literal && t.text == "-encode" {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn set_header(&mut self, span: Span) -> PResult<Modification> {
        let t = self.string()?;
        self.end_of_line()?;
        // pound accepts anything here; such a value gets 500 at run time.
        if !is_header_line(&t.text) {
            self.warn(
                &t.span,
                "not a header line (\"Name: value\"); requests that need it will get 500",
            );
        }
        let value = self.template(&t)?;
        Ok(Modification::SetHeader { span, value })
    }

    /// A string-expansion template that is the statement's last argument.
    pub(super) fn template_arg(&mut self) -> PResult<Template> {
        let t = self.string()?;
        self.end_of_line()?;
        self.template(&t)
    }

    /// Parses the string token `t` as a string-expansion template. A malformed one is
    /// accepted, as pound accepts it: each request that needs it is answered 500 with
    /// pound's message. pound-rs warns at load as well.
    pub(super) fn template(&mut self, t: &Token) -> PResult<Template> {
        let template = Template::parse(&t.text);
        if let Some(e) = &template.error {
            self.warn(
                &t.span,
                format!(
                    "string expansion \"{}\": {e}; requests that need it will get 500",
                    t.text
                ),
            );
        } else if let Some(r) = template.impossible_ref() {
            self.warn(
                &t.span,
                format!(
                    "string expansion \"{}\" refers to non-existing group {r}; requests that need it will get 500",
                    t.text
                ),
            );
        }
        Ok(template)
    }

    /// `Rewrite [request|response]`, its branches separated by `Else`, up to `End`. As in
    /// pound, the rest of the line after the direction (and after `Else`) is read as the
    /// first statement of the branch; a nested `Rewrite` takes no direction.
    fn rewrite(&mut self, kw: &Token, scope: Scope) -> PResult<Modified> {
        let opener = self.next_span()?;
        let mut response = scope.response;
        if !scope.in_rewrite && self.peek()?.kind == TokenKind::Ident {
            let t = self.next()?;
            if t.is_keyword("response") {
                response = true;
            } else if !t.is_keyword("request") {
                return Err(Self::unexpected(&t, "response, request, or newline"));
            }
        }
        let scope = Scope {
            response,
            in_rewrite: true,
            ..scope
        };
        let tables: &[&[&'static str]] = if response {
            &[RESPONSE_CONDITIONS, RESPONSE_ACTIONS, &["Else", "Rewrite"]]
        } else {
            &[CONDITIONS, MODIFICATIONS, &["Else"]]
        };
        let mut branches = Vec::new();
        let mut current = RewriteBranch {
            conditions: Vec::new(),
            actions: Vec::new(),
        };
        let mut last_else = None;
        let end = self.block(tables, BlockEnd::End, &opener, &mut |p, kw, t| {
            if kw == "Else" {
                last_else = Some(t.span.clone());
                branches.push(std::mem::replace(
                    &mut current,
                    RewriteBranch {
                        conditions: Vec::new(),
                        actions: Vec::new(),
                    },
                ));
            } else if tables[0].contains(&kw) {
                current.conditions.push(p.condition(kw, t, scope)?);
            } else if response && kw == "Rewrite" {
                // A nested `Rewrite` in a response rewrite works on the response too; it
                // takes no direction (pound reads one as an unknown statement).
                let next = p.peek()?;
                if next.is_keyword("response") || next.is_keyword("request") {
                    return Err(Diagnostic::error(&next.span, "unrecognized keyword"));
                }
                match p.rewrite(&t, scope)? {
                    Modified::Response(r) => current.actions.push(Modification::Rewrite(r)),
                    Modified::Request(m) => current.actions.push(m),
                }
            } else {
                match p.modification(kw, &t, scope)? {
                    Modified::Request(m) => current.actions.push(m),
                    Modified::Response(r) => {
                        return Err(Diagnostic::error(
                            &r.span,
                            "Rewrite response is not allowed inside another Rewrite",
                        ))
                    }
                }
            }
            Ok(())
        });
        // pound reports a branch left open at its `Else`.
        let end = match (end, last_else) {
            (Err(e), Some(at)) if e.message == "unexpected end of file" => {
                return Err(Diagnostic::error(&Self::point(&at, at.start), e.message));
            }
            (end, _) => end?,
        };
        branches.push(current);
        let rewrite = Rewrite {
            span: kw.span.to(&end),
            branches,
        };
        Ok(if response {
            Modified::Response(rewrite)
        } else {
            Modified::Request(Modification::Rewrite(rewrite))
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn header_lines() {
        assert!(super::is_header_line("X-Foo: bar"));
        assert!(super::is_header_line("X-Foo:"));
        assert!(!super::is_header_line("X Foo: bar"));
        assert!(!super::is_header_line(": bar"));
        assert!(!super::is_header_line("no colon"));
    }
}
