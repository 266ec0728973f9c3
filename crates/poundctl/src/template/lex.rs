//! The template's tokens: text outside actions, and the words, literals and punctuation
//! inside `{{ }}`.
//!
//! The whole text is cut into tokens before parsing, which makes the trim markers easy:
//! `{{- ` cuts the white space ending the text before it, ` -}}` the white space starting
//! the text after it. A string or comment left open ends the tokens with an
//! [`Tok::OpenAtEof`], reported as "Unexpected end of file" only if the parser gets there,
//! so that an earlier error is reported first, as in the reference.
//!
//! Positions are byte offsets of the last byte a token takes; [`Source::locate`] turns them
//! into the reference's `LINE:COLUMN` (columns count bytes, and the position just after a
//! newline is column 0 of the next line).

use super::value::{f64_to_i64, is_c_space};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Text(String),
    /// `{{`, with or without its trim marker.
    Open,
    /// `}}` or ` -}}`.
    Close,
    /// A word: keyword, function name, `true` or `false`.
    Ident(String),
    /// `.NAME`
    Field(String),
    /// `.` alone.
    Dot,
    /// `$NAME`
    Var(String),
    Int(i64),
    Str(String),
    Pipe,
    LParen,
    RParen,
    Comma,
    Assign,
    /// Any other character: always a syntax error.
    Bad,
    Eof,
    /// A string or comment not closed before the end of the text.
    OpenAtEof,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Offset of the last byte of the token (for `-}}`, of the white space it trims).
    pub end: Option<usize>,
    /// For `}}`: where the reference reports a missing operand before it, having already
    /// read the text that follows and the next `{{`.
    pub ahead: Option<usize>,
    /// Whether the token touches the one before it (`.a.b`, `$v.x`, `(...).x`).
    pub glued: bool,
}

/// The text, for turning offsets into line and column.
pub(crate) struct Source<'a> {
    pub text: &'a str,
}

impl Source<'_> {
    /// `(line, column)` just after the byte at `end` (none: the very start).
    pub fn locate(&self, end: Option<usize>) -> (usize, usize) {
        let b = self.text.as_bytes();
        let Some(end) = end.filter(|&e| e < b.len()) else {
            return (1, 0);
        };
        let before = &b[..end];
        let line = 1 + before.iter().filter(|&&c| c == b'\n').count();
        if b[end] == b'\n' {
            return (line + 1, 0);
        }
        let start = before
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |k| k + 1);
        (line, end - start + 1)
    }
}

fn is_space(b: u8) -> bool {
    is_c_space(char::from(b))
}

fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphabetic()
}

/// Letters, digits, `_` and `-` continue a word or a field name (`.a-b` is one field).
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Cuts `text` into tokens; the last one is `Eof` or `OpenAtEof`.
pub(crate) fn tokens(text: &str) -> Vec<Token> {
    let mut lx = Lexer {
        s: text,
        b: text.as_bytes(),
        pos: 0,
        out: Vec::new(),
    };
    lx.run();
    lx.out
}

struct Lexer<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    out: Vec<Token>,
}

impl Lexer<'_> {
    fn push(&mut self, tok: Tok, end: Option<usize>, glued: bool) {
        self.out.push(Token {
            tok,
            end,
            ahead: None,
            glued,
        });
    }

    fn last(&self) -> Option<usize> {
        self.pos.checked_sub(1)
    }

    fn eof(&mut self) {
        let end = self.b.len().checked_sub(1);
        self.push(Tok::Eof, end, false);
    }

    /// Text, then an action, until the end.
    fn run(&mut self) {
        loop {
            let rest = &self.s[self.pos..];
            let (text_end, open) = match rest.find("{{") {
                Some(k) => (self.pos + k, true),
                None => (self.b.len(), false),
            };
            let trim_left = open
                && self.b.get(text_end + 2) == Some(&b'-')
                && self.b.get(text_end + 3).is_some_and(|&c| is_space(c));
            let mut text = &self.s[self.pos..text_end];
            if trim_left {
                text = text.trim_end_matches(is_c_space);
            }
            if !text.is_empty() {
                let end = Some(self.pos + text.len() - 1);
                self.push(Tok::Text(text.to_string()), end, false);
            }
            if !open {
                self.eof();
                return;
            }
            self.pos = text_end + if trim_left { 3 } else { 2 };
            let end = self.last();
            self.push(Tok::Open, end, false);
            if !self.action() {
                return;
            }
        }
    }

    /// The inside of an action, up to and including its `}}`; false at the end of the text.
    fn action(&mut self) -> bool {
        let mut glued = false;
        loop {
            let start = self.pos;
            while self.b.get(self.pos).is_some_and(|&c| is_space(c)) {
                self.pos += 1;
            }
            let spaced = self.pos > start;
            if spaced {
                glued = false;
            }
            let rest = &self.b[self.pos..];
            let Some(&c) = rest.first() else {
                self.eof();
                return false;
            };
            if rest.starts_with(b"}}") || (spaced && rest.starts_with(b"-}}")) {
                let trim = c == b'-';
                self.pos += if trim { 3 } else { 2 };
                self.close(trim);
                return true;
            }
            if rest.starts_with(b"/*") {
                match self.s[self.pos + 2..].find("*/") {
                    Some(k) => {
                        self.pos += k + 4;
                        continue;
                    }
                    None => {
                        let end = self.b.len().checked_sub(1);
                        self.push(Tok::OpenAtEof, end, false);
                        return false;
                    }
                }
            }
            let begin = self.pos;
            let tok = match c {
                b'"' => match self.s[begin + 1..].find('"') {
                    Some(k) => {
                        self.pos = begin + k + 2;
                        Tok::Str(unescape(&self.s[begin + 1..begin + 1 + k]))
                    }
                    None => {
                        let end = self.b.len().checked_sub(1);
                        self.push(Tok::OpenAtEof, end, false);
                        return false;
                    }
                },
                b'.' if rest.get(1).is_some_and(|&c| is_word_start(c)) => {
                    self.pos += 1;
                    Tok::Field(self.word().to_string())
                }
                b'.' => {
                    self.pos += 1;
                    Tok::Dot
                }
                b'$' if rest.get(1).is_some_and(|&c| is_word_start(c)) => {
                    // Variable names stop at `-`: `$a-b` is `$a` then `-b`.
                    Tok::Var(self.var_name(begin + 1))
                }
                b'0'..=b'9' => self.number(),
                b'-' if rest.get(1).is_some_and(|c| c.is_ascii_digit()) => self.number(),
                c if is_word_start(c) => Tok::Ident(self.word().to_string()),
                b'|' => self.one(Tok::Pipe),
                b'(' => self.one(Tok::LParen),
                b')' => self.one(Tok::RParen),
                b',' => self.one(Tok::Comma),
                b'=' => self.one(Tok::Assign),
                _ => self.one(Tok::Bad),
            };
            let end = if tok == Tok::Bad {
                Some(begin)
            } else {
                self.last()
            };
            self.push(tok, end, glued);
            glued = true;
        }
    }

    fn one(&mut self, tok: Tok) -> Tok {
        self.pos += 1;
        tok
    }

    /// A word from the current position.
    fn word(&mut self) -> &str {
        let start = self.pos;
        while self.b.get(self.pos).is_some_and(|&c| is_word(c)) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    /// A variable's name from `start`: letters, digits and `_`.
    fn var_name(&mut self, start: usize) -> String {
        self.pos = start;
        while self
            .b
            .get(self.pos)
            .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.pos += 1;
        }
        self.s[start..self.pos].to_string()
    }

    /// A number: `-`, digits, a fraction and an exponent, or `0x` and hex digits; the
    /// reference reads it with `strtod` and keeps it as a C `long`.
    fn number(&mut self) -> Tok {
        let start = self.pos;
        let b = self.b;
        let digits = |p: &mut usize, hex: bool| {
            while b.get(*p).is_some_and(|c| {
                if hex {
                    c.is_ascii_hexdigit()
                } else {
                    c.is_ascii_digit()
                }
            }) {
                *p += 1;
            }
        };
        let mut p = start;
        if b[p] == b'-' {
            p += 1;
        }
        let neg = p > start;
        let hex = b.get(p) == Some(&b'0')
            && matches!(b.get(p + 1), Some(b'x' | b'X'))
            && b.get(p + 2).is_some_and(|c| c.is_ascii_hexdigit());
        if hex {
            p += 2;
        }
        let mant_start = p;
        digits(&mut p, hex);
        let int_end = p;
        let mut frac_end = p;
        if b.get(p) == Some(&b'.') {
            p += 1;
            digits(&mut p, hex);
            frac_end = p;
        }
        let exp_char: &[u8] = if hex { b"pP" } else { b"eE" };
        let mut exp: i64 = 0;
        if b.get(p).is_some_and(|c| exp_char.contains(c)) {
            let mut q = p + 1;
            let eneg = b.get(q) == Some(&b'-');
            if matches!(b.get(q), Some(b'-' | b'+')) {
                q += 1;
            }
            if b.get(q).is_some_and(|c| c.is_ascii_digit()) {
                let estart = q;
                digits(&mut q, false);
                let e: i64 = self.s[estart..q].parse().unwrap_or(99_999).min(99_999);
                exp = if eneg { -e } else { e };
                p = q;
            }
        }
        self.pos = p;
        let value = if hex {
            hex_value(
                &self.s[mant_start..int_end],
                &self.s[int_end..frac_end],
                exp,
            )
        } else {
            self.s[mant_start..p].parse::<f64>().unwrap_or(0.0)
        };
        Tok::Int(f64_to_i64(if neg { -value } else { value }))
    }

    /// After `}}`: skips the white space a ` -}}` trims, and notes where the reference
    /// would be after reading the following text and `{{`.
    fn close(&mut self, trim: bool) {
        if trim {
            while self.b.get(self.pos).is_some_and(|&c| is_space(c)) {
                self.pos += 1;
            }
        }
        let end = self.last();
        let rest = &self.s[self.pos..];
        let ahead = match rest.find("{{") {
            Some(k) => {
                let at = self.pos + k;
                let trim_next = self.b.get(at + 2) == Some(&b'-')
                    && self.b.get(at + 3).is_some_and(|&c| is_space(c));
                if trim_next {
                    at.checked_sub(1)
                } else {
                    Some(at + 1)
                }
            }
            None => self.b.len().checked_sub(1),
        };
        self.out.push(Token {
            tok: Tok::Close,
            end,
            ahead,
            glued: false,
        });
    }
}

/// The value of hex digits with an optional fraction and binary exponent.
fn hex_value(int: &str, frac: &str, exp: i64) -> f64 {
    let mut v = 0.0f64;
    for c in int.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16).unwrap_or(0));
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars().skip(1) {
        v += f64::from(c.to_digit(16).unwrap_or(0)) * scale;
        scale /= 16.0;
    }
    v * 2f64.powi(i32::try_from(exp).unwrap_or(0))
}

/// A string literal's content: `\a \b \f \n \r \t \v \\` are escapes, other backslashes
/// stay; a backslash ending the content stands for the closing quote (the reference finds
/// the end of a string at the next `"` whatever precedes it, then reads `\"` as a quote).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => out.push('"'),
            Some('a') => out.push('\u{7}'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('v') => out.push('\u{b}'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Tok> {
        tokens(text).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers() {
        let n = |s: &str| kinds(&format!("{{{{{s}}}}}"));
        assert_eq!(n("1e3")[1], Tok::Int(1000));
        assert_eq!(n("0x10")[1], Tok::Int(16));
        assert_eq!(n("010")[1], Tok::Int(10));
        assert_eq!(n("1.5")[1], Tok::Int(1));
        assert_eq!(n("-2")[1], Tok::Int(-2));
        assert_eq!(n("0x1p3")[1], Tok::Int(8));
        assert_eq!(n("12345678901234567890")[1], Tok::Int(i64::MIN));
        assert_eq!(n("1e99999999999999")[1], Tok::Int(i64::MIN));
        assert_eq!(n("1e")[1..3], [Tok::Int(1), Tok::Ident("e".into())]);
        assert_eq!(n("0x")[1..3], [Tok::Int(0), Tok::Ident("x".into())]);
    }

    #[test]
    fn strings_and_trims() {
        assert_eq!(kinds(r#"{{"a\nb\q"}}"#)[1], Tok::Str("a\nb\\q".into()));
        assert_eq!(kinds(r#"{{"a\"}}"#)[1], Tok::Str("a\"".into()));
        assert_eq!(
            kinds("a \n{{- 1 -}}\n b"),
            [
                Tok::Text("a".into()),
                Tok::Open,
                Tok::Int(1),
                Tok::Close,
                Tok::Text("b".into()),
                Tok::Eof
            ]
        );
        assert_eq!(kinds("{{\"abc")[1], Tok::OpenAtEof);
        assert_eq!(kinds("{{/* abc")[1], Tok::OpenAtEof);
    }

    #[test]
    fn positions() {
        let src = Source { text: "ab\ncd\n" };
        assert_eq!(src.locate(Some(0)), (1, 1));
        assert_eq!(src.locate(Some(2)), (2, 0));
        assert_eq!(src.locate(Some(4)), (2, 2));
        assert_eq!(src.locate(Some(5)), (3, 0));
        assert_eq!(src.locate(None), (1, 0));
    }
}
