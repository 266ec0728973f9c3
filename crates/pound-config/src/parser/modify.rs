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
    "Rewrite",
    "HeaderAdd",
    "AddHeader",
    "HeaderRemove",
    "HeadRemove",
];

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
                let (matcher, _) = self.matcher_arg(MatchMode::Regex, true)?;
                Modification::DeleteHeader { span, matcher }
            }
            "SetURL" => Modification::SetUrl {
                span,
                value: self.template_arg()?,
            },
            "SetPath" => Modification::SetPath {
                span,
                value: self.template_arg()?,
            },
            "SetQuery" => Modification::SetQuery {
                span,
                value: self.template_arg()?,
            },
            "SetQueryParam" => {
                let name = self.string()?.text;
                let value = self.template_arg()?;
                Modification::SetQueryParam { span, name, value }
            }
            "Rewrite" => return self.rewrite(t, scope),
            _ => unreachable!("keyword {kw} listed but not handled"),
        };
        Ok(Modified::Request(m))
    }

    fn set_header(&mut self, span: Span) -> PResult<Modification> {
        let t = self.string()?;
        self.end_of_line()?;
        if !is_header_line(&t.text) {
            return Err(Diagnostic::error(
                &t.span,
                "expected a header line (\"Name: value\")",
            ));
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

    /// `Rewrite [request|response]`, its branches separated by `Else`, up to `End`.
    fn rewrite(&mut self, kw: &Token, scope: Scope) -> PResult<Modified> {
        let t = self.next()?;
        let response = match t.kind {
            TokenKind::Newline => false,
            TokenKind::Ident if t.is_keyword("request") => {
                self.end_of_line()?;
                false
            }
            TokenKind::Ident if t.is_keyword("response") => {
                self.end_of_line()?;
                true
            }
            _ => return Err(Self::unexpected(&t, "response, request, or newline")),
        };
        let scope = Scope { response, ..scope };
        let tables: &[&[&'static str]] = if response {
            &[RESPONSE_CONDITIONS, RESPONSE_ACTIONS, &["Else"]]
        } else {
            &[CONDITIONS, MODIFICATIONS, &["Else"]]
        };
        let mut branches = Vec::new();
        let mut current = RewriteBranch {
            conditions: Vec::new(),
            actions: Vec::new(),
        };
        let end = self.block(tables, BlockEnd::End, &kw.span, &mut |p, kw, t| {
            if kw == "Else" {
                p.end_of_line()?;
                branches.push(std::mem::replace(
                    &mut current,
                    RewriteBranch {
                        conditions: Vec::new(),
                        actions: Vec::new(),
                    },
                ));
            } else if tables[0].contains(&kw) {
                current.conditions.push(p.condition(kw, t, scope)?);
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
        })?;
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
