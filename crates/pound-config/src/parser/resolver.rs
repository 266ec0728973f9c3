//! The `Resolver` section (pound 4.14, manual 11.13): how DNS is asked for dynamic
//! backends. `ConfigText`'s body is resolv.conf text, read line by line up to a line that
//! is `End`, not as statements.

use super::{BlockEnd, PResult, Parser};
use crate::diag::Diagnostic;
use crate::lexer::{Token, TokenKind};
use crate::model::dns::ResolverConfig;

/// Statements of a `Resolver` section.
const RESOLVER: &[&str] = &[
    "CNAMEChain",
    "ConfigFile",
    "ConfigText",
    "Debug",
    "RetryInterval",
];

impl Parser<'_> {
    /// `Resolver` ... `End`, after its keyword. Several sections add up, the later
    /// statements winning, as in pound.
    pub(super) fn resolver_section(&mut self, kw: &Token) -> PResult<()> {
        // pound notes a stray argument as a syntax error and goes on.
        let t = self.next()?;
        if !t.ends_line() {
            self.diags.push(Diagnostic::notice(&t.span, "syntax error"));
            self.end_of_line()?;
        } else if t.kind == TokenKind::Eof {
            self.peeked = Some(t);
        }
        let span = self.block(&[RESOLVER], BlockEnd::End, &kw.span, &mut |p, kw, t| {
            match kw {
                "CNAMEChain" => p.global.resolver.cname_chain = p.u32_arg()?,
                "Debug" => p.global.resolver.debug = p.bool_arg()?,
                "RetryInterval" => p.global.resolver.retry_interval = Some(p.u32_arg()?),
                "ConfigFile" => {
                    let name = p.string_arg()?;
                    let path = p.resolve(&name.value);
                    let text = match p.env.stat(&path) {
                        Ok(crate::env::FileKind::File) => p.env.read_file(&path),
                        Ok(_) => {
                            return Err(Diagnostic::error(
                                &name.span,
                                format!("{}: not a regular file", name.value),
                            ))
                        }
                        Err(e) => Err(e),
                    }
                    .map_err(|e| {
                        Diagnostic::error(
                            &name.span,
                            format!(
                                "can't open {}: {}",
                                name.value,
                                crate::env::describe_io_error(&e)
                            ),
                        )
                    })?;
                    p.config_overridden(&t, "ConfigFile", "ConfigText");
                    p.global.resolver.config = Some(ResolverConfig::File {
                        path,
                        text: String::from_utf8_lossy(&text).into_owned(),
                    });
                }
                "ConfigText" => {
                    let next = p.next()?;
                    if next.kind != TokenKind::Newline {
                        return Err(Self::unexpected(&next, "newline"));
                    }
                    let text = p.text_until_end(&t)?;
                    p.config_overridden(&t, "ConfigText", "ConfigFile");
                    p.global.resolver.config = Some(ResolverConfig::Text(text));
                }
                _ => unreachable!("keyword {kw} listed but not handled"),
            }
            Ok(())
        })?;
        self.global.resolver.span = Some(kw.span.to(&span));
        Ok(())
    }

    /// pound's note when a second `ConfigFile` or `ConfigText` replaces the first; its
    /// words name the statement just read and the other kind, whatever came before.
    fn config_overridden(&mut self, at: &Token, this: &str, other: &str) {
        if self.global.resolver.config.is_some() {
            self.diags.push(Diagnostic::notice(
                &at.span,
                format!("{this} statement overrides prior {other}"),
            ));
        }
    }

    /// The lines after `kw` up to one that is `End` (blanks around it allowed), verbatim,
    /// each ending with a newline.
    fn text_until_end(&mut self, kw: &Token) -> PResult<String> {
        let mut text = String::new();
        loop {
            let Some(lexer) = self.stack.last_mut() else {
                return Err(Diagnostic::error(&kw.span, "unexpected end of file"));
            };
            let Some((line, _)) = lexer.raw_line() else {
                return Err(Diagnostic::error(&kw.span, "unexpected end of file"));
            };
            let line = String::from_utf8_lossy(&line);
            if line.trim().eq_ignore_ascii_case("End") {
                return Ok(text);
            }
            text.push_str(&line);
            text.push('\n');
        }
    }
}
