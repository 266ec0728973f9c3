//! `Constant "NAME" "VALUE"` and `Constant "NAME" [-trim] -file|-filewatch "FILE"`
//! (pound 4.23), in every scope.

use super::{PResult, Parser};
use crate::diag::Diagnostic;
use crate::env::FileKind;
use crate::lexer::TokenKind;
use crate::model::constant::{constant_value, Constant};

impl Parser<'_> {
    /// Reads a `Constant` statement into `list` (the constants of its scope). Redefining a
    /// constant of the same scope is a warning, and the later value wins.
    pub(super) fn constant(&mut self, list: &mut Vec<Constant>) -> PResult<()> {
        let name = self.string()?;
        let mut value = None;
        let mut file = None;
        let mut trim = false;
        let eol = loop {
            let t = self.next()?;
            match t.kind {
                // A value ends the statement.
                TokenKind::Newline | TokenKind::Eof => {}
                _ if value.is_some() => {
                    return Err(Diagnostic::error(
                        &t.span,
                        format!("unexpected {}", t.kind.describe()),
                    ))
                }
                _ => {}
            }
            match t.kind {
                TokenKind::String if file.is_none() && value.is_none() => {
                    value = Some(t.text.into_bytes());
                }
                TokenKind::Literal if t.text == "-trim" => trim = true,
                TokenKind::Literal if t.text == "-file" || t.text == "-filewatch" => {
                    let f = self.string()?;
                    file = Some((t.text == "-filewatch", f));
                }
                TokenKind::Literal if t.text.starts_with('-') => {
                    return Err(Diagnostic::error(
                        &t.span,
                        format!("unexpected token: {}", t.text),
                    ))
                }
                TokenKind::Newline | TokenKind::Eof if value.is_some() || file.is_some() => {
                    let span = t.span.clone();
                    if t.kind == TokenKind::Eof {
                        self.peeked = Some(t);
                    }
                    break span;
                }
                _ if value.is_some() || file.is_some() => {
                    return Err(Diagnostic::error(
                        &t.span,
                        format!("unexpected {}", t.kind.describe()),
                    ))
                }
                _ => return Err(Self::unexpected(&t, "quoted string")),
            }
        };
        let (value, watch) = match (value, file) {
            (Some(v), None) => (v, None),
            (_, Some((watch, f))) => {
                let path = self.resolve(&f.text);
                let contents = match self.env.stat(&path) {
                    Ok(FileKind::Directory) => Err(format!("{}: not a regular file", f.text)),
                    _ => self.env.read_file(&path).map_err(|e| {
                        format!(
                            "can't open {}: {}",
                            self.shown(&path),
                            crate::env::describe_io_error(&e)
                        )
                    }),
                };
                match contents {
                    Ok(c) => (constant_value(c, trim), watch.then_some(path)),
                    // A watched file may appear later; until then the value is empty.
                    Err(why) if watch => {
                        self.diags.push(Diagnostic::notice(&name.span, why));
                        self.missing_file(&path, &eol);
                        (Vec::new(), Some(path))
                    }
                    Err(why) => return Err(Diagnostic::error(&name.span, why)),
                }
            }
            (None, None) => unreachable!("the loop ends with a value or a file"),
        };
        let constant = Constant {
            name: name.text,
            span: name.span,
            value: crate::model::Live::new(value),
            watch,
            trim,
        };
        if let Some(path) = &constant.watch {
            self.watched.push(crate::model::watch::Watched {
                path: path.clone(),
                kind: crate::model::watch::WatchedKind::Constant {
                    value: constant.value.clone(),
                    trim,
                },
            });
        }
        if let Some(i) = list.iter().position(|c| c.name == constant.name) {
            self.warn(&constant.span, "constant redefined");
            self.diags.push(Diagnostic::notice(
                &list[i].span,
                "This is the place of the previous definition",
            ));
            list[i] = constant;
        } else {
            list.push(constant);
        }
        Ok(())
    }
}
