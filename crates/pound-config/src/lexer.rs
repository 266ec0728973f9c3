//! The pound.cfg lexer: one file's bytes into tokens with exact source ranges.
//!
//! Rules (pound.8, CONFIGURATION FILE), matching pound 4's tokenizer:
//! - a word of letters, digits and `_` starting with a letter or `_` is an *identifier*;
//!   a word of digits only is a *number*; any other unquoted word, running to the next
//!   whitespace, is a *literal* (`192.0.2.1`, `-re`, `/run/pound.sock`, `no-ssl`);
//! - `"..."` is a *quoted string*; `\"` and `\\` stand for `"` and `\`; any other escape
//!   draws the (unlabelled, non-fatal) message `unrecognized escape character` and yields the
//!   escaped character; a string may run over several lines, but not with a backslash
//!   before the end of a line;
//! - `#` at the start of a word comments out the rest of the line;
//! - each end of line is a token of its own, since a line is one statement.
//!
//! Columns are 1-based and a tab advances the column by 8, as pound counts them, except a tab
//! right after an unquoted word, which counts 15 (and ends the word 7 columns later).

use std::sync::Arc;

use crate::diag::{Diagnostic, Pos, Span};

/// White space as C's `isspace` sees it (which, unlike `u8::is_ascii_whitespace`, includes
/// the vertical tab).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    Ident,
    Number,
    String,
    Literal,
    Newline,
    Eof,
}

impl TokenKind {
    /// The name pound uses for the kind in `expected X, but found Y`.
    pub fn describe(&self) -> &'static str {
        match self {
            TokenKind::Ident => "identifier",
            TokenKind::Number => "number",
            TokenKind::String => "quoted string",
            TokenKind::Literal => "literal",
            TokenKind::Newline => "end of line",
            TokenKind::Eof => "end of file",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    /// The word, or the unescaped contents of a quoted string.
    pub text: String,
    pub span: Span,
}

impl Token {
    /// Whether the token is the keyword `kw` (identifiers only, any case).
    pub fn is_keyword(&self, kw: &str) -> bool {
        self.kind == TokenKind::Ident && self.text.eq_ignore_ascii_case(kw)
    }

    /// Whether the token ends a statement.
    pub fn ends_line(&self) -> bool {
        matches!(self.kind, TokenKind::Newline | TokenKind::Eof)
    }
}

/// A tokenizer over one file.
pub struct Lexer {
    file: Arc<str>,
    src: Vec<u8>,
    at: usize,
    line: u32,
    col: u32,
}

impl Lexer {
    pub fn new(file: Arc<str>, src: Vec<u8>) -> Self {
        Lexer {
            file,
            src,
            at: 0,
            line: 1,
            col: 0,
        }
    }

    pub fn file(&self) -> &Arc<str> {
        &self.file
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.at).copied()
    }

    /// Consumes one byte and returns its position.
    fn bump(&mut self) -> Pos {
        let c = self.src[self.at];
        self.at += 1;
        if c == b'\n' {
            // pound places an end of line at the last character of its line (column 0 on an
            // empty line).
            let pos = Pos {
                line: self.line,
                col: self.col,
            };
            self.line += 1;
            self.col = 0;
            pos
        } else {
            self.col += if c == b'\t' { 8 } else { 1 };
            Pos {
                line: self.line,
                col: self.col,
            }
        }
    }

    fn here(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    fn span(&self, start: Pos, end: Pos) -> Span {
        Span {
            file: self.file.clone(),
            start,
            end,
        }
    }

    /// The next line verbatim, without its newline (which is consumed), and where it is;
    /// `None` at the end of the file. For sections whose body is text, not statements
    /// (`ConfigText`).
    pub fn raw_line(&mut self) -> Option<(Vec<u8>, Span)> {
        self.peek()?;
        let start = self.here();
        let mut line = Vec::new();
        let mut end = start;
        while let Some(c) = self.peek() {
            if c == b'\n' {
                self.bump();
                break;
            }
            end = self.bump();
            line.push(c);
        }
        Some((line, self.span(start, end)))
    }

    /// Returns the next token; warnings (odd escapes) go to `warn`.
    pub fn next_token(&mut self, warn: &mut Vec<Diagnostic>) -> Result<Token, Diagnostic> {
        loop {
            match self.peek() {
                Some(c) if c != b'\n' && is_space(c) => {
                    self.bump();
                }
                Some(b'#') => {
                    while !matches!(self.peek(), None | Some(b'\n')) {
                        self.bump();
                    }
                }
                _ => break,
            }
        }
        let Some(c) = self.peek() else {
            let here = self.here();
            return Ok(Token {
                kind: TokenKind::Eof,
                text: String::new(),
                span: self.span(here, here),
            });
        };
        if c == b'\n' {
            let start = self.bump();
            return Ok(Token {
                kind: TokenKind::Newline,
                text: String::new(),
                span: self.span(start, self.here()),
            });
        }
        if c == b'"' {
            return self.quoted(warn);
        }
        self.word()
    }

    fn quoted(&mut self, warn: &mut Vec<Diagnostic>) -> Result<Token, Diagnostic> {
        let start = self.bump();
        let mut text = Vec::new();
        loop {
            match self.peek() {
                None => {
                    let here = self.here();
                    return Err(Diagnostic::error(
                        &self.span(here, here),
                        "end of file in quoted string",
                    ));
                }
                Some(b'"') => {
                    let end = self.bump();
                    let text = self.utf8(text, start, end)?;
                    return Ok(Token {
                        kind: TokenKind::String,
                        text,
                        span: self.span(start, end),
                    });
                }
                Some(b'\\') => {
                    self.bump();
                    match self.peek() {
                        Some(e @ (b'"' | b'\\')) => {
                            self.bump();
                            text.push(e);
                        }
                        // A backslash before the end of the line is an error; a newline
                        // without one is part of the string, as in pound.
                        Some(b'\n') => {
                            self.bump();
                            let here = self.here();
                            return Err(Diagnostic::error(
                                &self.span(here, here),
                                "end of line in quoted string",
                            ));
                        }
                        None => {}
                        Some(e) => {
                            let at = self.bump();
                            warn.push(Diagnostic::notice(
                                &self.span(at, at),
                                "unrecognized escape character",
                            ));
                            text.push(e);
                        }
                    }
                }
                Some(b) => {
                    self.bump();
                    text.push(b);
                }
            }
        }
    }

    fn word(&mut self) -> Result<Token, Diagnostic> {
        let first = self.at;
        let start = self.bump();
        let mut end = start;
        while let Some(c) = self.peek() {
            if is_space(c) {
                if c == b'\t' {
                    // pound's word reader consumes the tab (8 columns) and pushes it back
                    // (1 column): the word ends 7 columns further and the tab, read again,
                    // counts 15 in all.
                    self.col += 7;
                    end.col = self.col;
                }
                break;
            }
            end = self.bump();
        }
        let bytes = self.src[first..self.at].to_vec();
        let kind = if bytes.iter().all(u8::is_ascii_digit) {
            TokenKind::Number
        } else if (bytes[0].is_ascii_alphabetic() || bytes[0] == b'_')
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            TokenKind::Ident
        } else {
            TokenKind::Literal
        };
        let text = self.utf8(bytes, start, end)?;
        Ok(Token {
            kind,
            text,
            span: self.span(start, end),
        })
    }

    fn utf8(&self, bytes: Vec<u8>, start: Pos, end: Pos) -> Result<String, Diagnostic> {
        String::from_utf8(bytes).map_err(|_| {
            Diagnostic::error(
                &self.span(start, end),
                "invalid UTF-8 in configuration text",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(src: &str) -> (Vec<(TokenKind, String, String)>, Vec<String>) {
        let mut lx = Lexer::new("t.cfg".into(), src.as_bytes().to_vec());
        let mut warn = Vec::new();
        let mut out = Vec::new();
        loop {
            let t = lx.next_token(&mut warn).unwrap();
            let done = t.kind == TokenKind::Eof;
            out.push((t.kind, t.text, t.span.to_string()));
            if done {
                break;
            }
        }
        (out, warn.iter().map(|w| w.to_string()).collect())
    }

    fn kinds(src: &str) -> Vec<TokenKind> {
        lex(src).0.into_iter().map(|t| t.0).collect()
    }

    #[test]
    fn word_classes() {
        use TokenKind::*;
        assert_eq!(
            kinds("ListenHTTP 80 192.0.2.1 -re TLSv1_2 _x no-ssl /p 0x1"),
            vec![Ident, Number, Literal, Literal, Ident, Ident, Literal, Literal, Literal, Eof]
        );
    }

    #[test]
    fn spans_are_inclusive_and_newlines_reach_the_next_line() {
        let (toks, _) = lex("FooBar\n  Port 80\n");
        assert_eq!(toks[0].2, "t.cfg:1.1-6");
        // The end-of-line token runs from the line's last character to column 0 of the next.
        assert_eq!(toks[1].2, "t.cfg:1.6-2");
        assert_eq!(toks[2].2, "t.cfg:2.3-6");
        assert_eq!(toks[3].2, "t.cfg:2.8-9");
    }

    #[test]
    fn vertical_tab_separates_words() {
        assert_eq!(
            kinds("Alive\x0b5"),
            vec![TokenKind::Ident, TokenKind::Number, TokenKind::Eof]
        );
    }

    #[test]
    fn tabs_count_eight() {
        let (toks, _) = lex("\tPort");
        assert_eq!(toks[0].2, "t.cfg:1.9-12");
    }

    #[test]
    fn a_tab_after_a_word_counts_fifteen() {
        let (toks, _) = lex("Foo\tbar \"x\"\tFoo");
        assert_eq!(toks[0].2, "t.cfg:1.1-10");
        assert_eq!(toks[1].2, "t.cfg:1.19-21");
        assert_eq!(toks[2].2, "t.cfg:1.23-25");
        assert_eq!(toks[3].2, "t.cfg:1.34-36");
    }

    #[test]
    fn comments_anywhere() {
        let (toks, _) = lex("# whole line\nUser \"x\" # trailing\n");
        let texts: Vec<_> = toks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(texts, vec!["", "User", "x", "", ""]);
    }

    #[test]
    fn string_escapes() {
        let (toks, warn) = lex(r#"x "a\"b\\c\.d""#);
        assert_eq!(toks[1].1, r#"a"b\c.d"#);
        assert_eq!(toks[1].0, TokenKind::String);
        assert_eq!(warn, vec!["t.cfg:1.12: unrecognized escape character"]);
    }

    #[test]
    fn unterminated_strings() {
        let mut warn = Vec::new();
        let mut lx = Lexer::new("t.cfg".into(), b"x \"a\\\nb\"".to_vec());
        lx.next_token(&mut warn).unwrap();
        let err = lx.next_token(&mut warn).unwrap_err();
        assert_eq!(err.to_string(), "t.cfg:2: end of line in quoted string");
        // Without the backslash, the string runs on.
        let mut lx = Lexer::new("t.cfg".into(), b"x \"ab\ncd\"".to_vec());
        lx.next_token(&mut warn).unwrap();
        let t = lx.next_token(&mut warn).unwrap();
        assert_eq!(
            (t.text.as_str(), t.span.to_string()),
            ("ab\ncd", "t.cfg:1.3-2.3".into())
        );
        let mut lx = Lexer::new("t.cfg".into(), b"\"abc".to_vec());
        let err = lx.next_token(&mut warn).unwrap_err();
        assert_eq!(err.to_string(), "t.cfg:1.4: end of file in quoted string");
    }
}
