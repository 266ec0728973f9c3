//! Statement arguments: strings, numbers, booleans, file names, addresses and ports
//! (pound.8, CONFIGURATION FILE: "A value can be ...").

use std::path::PathBuf;

use super::{PResult, Parser};
use crate::diag::{Diagnostic, Span, Spanned};
use crate::lexer::{Token, TokenKind};

const TRUE_WORDS: &[&str] = &["1", "yes", "true", "on"];
const FALSE_WORDS: &[&str] = &["0", "no", "false", "off"];

impl Parser<'_> {
    /// A quoted string.
    pub(super) fn string(&mut self) -> PResult<Token> {
        let t = self.next()?;
        if t.kind == TokenKind::String {
            Ok(t)
        } else {
            Err(Self::unexpected(&t, "quoted string"))
        }
    }

    /// A quoted string that is the statement's only argument.
    pub(super) fn string_arg(&mut self) -> PResult<Spanned<String>> {
        let t = self.string()?;
        self.end_of_line()?;
        Ok(Spanned::new(t.text, t.span))
    }

    /// A file name that is the statement's only argument, resolved against the include
    /// directory.
    pub(super) fn file_arg(&mut self) -> PResult<Spanned<PathBuf>> {
        let s = self.string_arg()?;
        Ok(Spanned::new(self.resolve(&s.value), s.span))
    }

    /// A file name that is the statement's only argument, taken as written (relative to the
    /// working directory).
    pub(super) fn cwd_file_arg(&mut self) -> PResult<Spanned<PathBuf>> {
        let s = self.string_arg()?;
        Ok(Spanned::new(PathBuf::from(s.value), s.span))
    }

    /// A decimal number.
    pub(super) fn number(&mut self) -> PResult<(u64, Span)> {
        let t = self.next()?;
        if t.kind != TokenKind::Number {
            return Err(Self::unexpected(&t, "number"));
        }
        let value = t
            .text
            .parse::<u64>()
            .map_err(|_| Diagnostic::error(&t.span, "bad unsigned number"))?;
        Ok((value, t.span))
    }

    /// A number that fits C's `int`, as pound reads most small settings.
    pub(super) fn integer(&mut self) -> PResult<(u64, Span)> {
        let (value, span) = self.number()?;
        if value > i32::MAX as u64 {
            return Err(Diagnostic::error(&span, "bad integer number"));
        }
        Ok((value, span))
    }

    /// A number that fits C's `unsigned`, as pound reads times and counts.
    pub(super) fn unsigned(&mut self) -> PResult<(u32, Span)> {
        let (value, span) = self.number()?;
        match u32::try_from(value) {
            Ok(v) => Ok((v, span)),
            Err(_) => Err(Diagnostic::error(&span, "bad unsigned number")),
        }
    }

    /// A number that fits C's `long` (`MaxRequest`), the statement's only argument.
    pub(super) fn long_arg(&mut self) -> PResult<u64> {
        let t = self.next()?;
        if t.kind != TokenKind::Number {
            return Err(Self::unexpected(&t, "number"));
        }
        let value = t
            .text
            .parse::<i64>()
            .map_err(|_| Diagnostic::error(&t.span, "bad long number"))?;
        self.end_of_line()?;
        Ok(value as u64)
    }

    /// An `int` within `min..=max`.
    pub(super) fn number_in(&mut self, min: u64, max: u64) -> PResult<(u64, Span)> {
        let (value, span) = self.integer()?;
        check_range(value, min, max, &span)?;
        Ok((value, span))
    }

    /// An `int` that is the statement's only argument, within `min..=max`.
    pub(super) fn number_arg(&mut self, min: u64, max: u64) -> PResult<u64> {
        let (value, _) = self.number_in(min, max)?;
        self.end_of_line()?;
        Ok(value)
    }

    /// `Priority N` (pound 4.15 and later): 1 or more; above 65535 it is cut to 65535, which
    /// the caller reports (`true`) as pound does, for the whole backend.
    pub(super) fn priority_arg(&mut self) -> PResult<(u16, bool)> {
        let (value, span) = self.integer()?;
        if value == 0 {
            return Err(Diagnostic::error(
                &span,
                "value out of allowed range (>= 1)",
            ));
        }
        self.end_of_line()?;
        Ok(match u16::try_from(value) {
            Ok(p) => (p, false),
            Err(_) => (u16::MAX, true),
        })
    }

    /// `Ciphers [-cipherlist] "LIST" [-ciphersuites "SUITES"] ...` (the options are pound
    /// 4.21's): the TLS 1.2 cipher list (checked when TLS is set up) and the TLS 1.3 suites,
    /// checked here as OpenSSL checks them (a list naming no TLS 1.3 suite it knows fails;
    /// unknown names beside known ones are dropped). The last of each counts.
    pub(super) fn ciphers(
        &mut self,
        list: &mut Option<String>,
        suites: &mut Option<Vec<String>>,
    ) -> PResult<()> {
        const TLS13: &[&str] = &[
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_128_CCM_8_SHA256",
            "TLS_AES_128_CCM_SHA256",
        ];
        let mut next_is_suites = false;
        loop {
            let t = self.next()?;
            match t.kind {
                TokenKind::Newline | TokenKind::Eof => {
                    if t.kind == TokenKind::Eof {
                        self.peeked = Some(t);
                    }
                    return Ok(());
                }
                TokenKind::Literal if t.text == "-cipherlist" => next_is_suites = false,
                TokenKind::Literal if t.text == "-ciphersuites" => next_is_suites = true,
                TokenKind::Literal if t.text.starts_with('-') => {
                    return Err(Diagnostic::error(
                        &t.span,
                        format!("unexpected token: {}", t.text),
                    ))
                }
                TokenKind::String if next_is_suites => {
                    let names: Vec<String> = t
                        .text
                        .split(':')
                        .filter(|n| TLS13.contains(n))
                        .map(str::to_string)
                        .collect();
                    if names.is_empty() && !t.text.is_empty() {
                        return Err(Diagnostic::error(
                            &t.span,
                            format!("failed to set ciphersuites {}", t.text),
                        ));
                    }
                    *suites = Some(names);
                    next_is_suites = false;
                }
                TokenKind::String => *list = Some(t.text),
                _ => return Err(Self::unexpected(&t, "cipher list, ciphersuites or newline")),
            }
        }
    }

    /// `LineBufferSize`: at least 4096.
    pub(super) fn line_buffer_arg(&mut self) -> PResult<u32> {
        let (value, span) = self.unsigned()?;
        if value < 4096 {
            return Err(Diagnostic::error(
                &span,
                "value out of allowed range (>= 4096)",
            ));
        }
        self.end_of_line()?;
        Ok(value)
    }

    /// A number of seconds (or a count) that fits in 32 bits.
    pub(super) fn u32_arg(&mut self) -> PResult<u32> {
        let (value, _) = self.unsigned()?;
        self.end_of_line()?;
        Ok(value)
    }

    /// One of the `Client*` limits (global or per listener).
    pub(super) fn client_limit(
        &mut self,
        limits: &mut crate::model::ClientLimits,
        kw: &str,
    ) -> PResult<()> {
        let value = self.u32_arg()?;
        match kw {
            "ClientMinRate" => limits.min_rate = value,
            "ClientRateGrace" => limits.rate_grace = Some(value),
            "ClientMaxConnections" => limits.max_connections = value,
            _ => limits.max_requests = value,
        }
        Ok(())
    }

    /// A small enumerated level such as `xHTTP 0..3`.
    pub(super) fn level_arg(&mut self, max: u8) -> PResult<u8> {
        Ok(self.number_arg(0, u64::from(max))? as u8)
    }

    /// A boolean: `yes true on 1` or `no false off 0`, case-sensitive as in pound.
    pub(super) fn boolean(&mut self) -> PResult<bool> {
        let t = self.next()?;
        if !matches!(
            t.kind,
            TokenKind::Ident | TokenKind::Number | TokenKind::Literal
        ) {
            return Err(Self::unexpected(&t, "identifier, number or literal"));
        }
        if TRUE_WORDS.contains(&t.text.as_str()) {
            Ok(true)
        } else if FALSE_WORDS.contains(&t.text.as_str()) {
            Ok(false)
        } else {
            self.diags
                .push(Diagnostic::error(&t.span, "not a boolean value"));
            Err(Diagnostic::error(
                &t.span,
                "valid booleans are: 1, yes, true, on for true value, and 0, no, false, off \
                 for false value",
            ))
        }
    }

    pub(super) fn bool_arg(&mut self) -> PResult<bool> {
        let b = self.boolean()?;
        self.end_of_line()?;
        Ok(b)
    }

    /// An address argument: IP literal, host name or (quoted) UNIX socket path.
    pub(super) fn address(&mut self) -> PResult<Token> {
        let t = self.next()?;
        match t.kind {
            TokenKind::String | TokenKind::Ident | TokenKind::Literal => Ok(t),
            _ => Err(Self::unexpected(&t, "identifier, quoted string or literal")),
        }
    }

    /// A port: a number (bare or quoted) or a service name from the system's services
    /// database. `listener` selects pound's wording for a listener's `Port`.
    pub(super) fn port(&mut self, listener: bool) -> PResult<(u16, Span)> {
        let t = self.next()?;
        let numeric = !t.text.is_empty() && t.text.bytes().all(|b| b.is_ascii_digit());
        match t.kind {
            TokenKind::Number | TokenKind::String if numeric => {
                let n: u64 = t
                    .text
                    .parse()
                    .map_err(|_| Diagnostic::error(&t.span, "bad unsigned number"))?;
                // pound takes a larger number and uses it modulo 65536; so does pound-rs,
                // with a warning.
                let port = (n % 65536) as u16;
                if n > 65535 {
                    self.warn(
                        &t.span,
                        format!("port {n} is out of range; {port} is used, as pound uses it"),
                    );
                }
                Ok((port, t.span))
            }
            TokenKind::Ident | TokenKind::String | TokenKind::Literal => {
                match self.env.service_port(&t.text) {
                    Some(port) => Ok((port, t.span)),
                    // pound's text is getaddrinfo(3)'s.
                    None if listener => Err(Diagnostic::error(
                        &t.span,
                        format!("bad port number: {}", t.text),
                    )),
                    None => Err(Diagnostic::error(
                        &t.span,
                        "bad port number: Servname not supported for ai_socktype",
                    )),
                }
            }
            _ if listener => Err(Self::unexpected(
                &t,
                "identifier, number, quoted string or literal",
            )),
            _ => Err(Self::unexpected(&t, "port number or service name")),
        }
    }

    /// An identifier that must be one of `names` (any case); `err` is the message otherwise.
    pub(super) fn choice<T: Copy>(&mut self, names: &[(&str, T)], err: &str) -> PResult<T> {
        let t = self.next()?;
        if !matches!(t.kind, TokenKind::Ident | TokenKind::Literal) {
            return Err(Self::unexpected(&t, "identifier"));
        }
        names
            .iter()
            .find(|(n, _)| t.text.eq_ignore_ascii_case(n))
            .map(|&(_, v)| v)
            .ok_or_else(|| Diagnostic::error(&t.span, err.replace("%s", &t.text)))
    }

    /// An identifier that must be one of `names`, exactly (case matters, as pound reads
    /// `Resolve` and `Family`); `err` is the message otherwise.
    pub(super) fn exact_choice<T: Copy>(&mut self, names: &[(&str, T)], err: &str) -> PResult<T> {
        let t = self.next()?;
        if t.kind != TokenKind::Ident {
            return Err(Self::unexpected(&t, "identifier"));
        }
        names
            .iter()
            .find(|(n, _)| t.text == *n)
            .map(|&(_, v)| v)
            .ok_or_else(|| Diagnostic::error(&t.span, err))
    }

    /// A word (identifier, number or literal) that must be one of `names` (any case), as
    /// pound reads `Balancer`; `err` is the message otherwise.
    pub(super) fn word_choice<T: Copy>(&mut self, names: &[(&str, T)], err: &str) -> PResult<T> {
        let t = self.word()?;
        names
            .iter()
            .find(|(n, _)| t.text.eq_ignore_ascii_case(n))
            .map(|&(_, v)| v)
            .ok_or_else(|| Diagnostic::error(&t.span, err.replace("%s", &t.text)))
    }

    /// An unquoted word: identifier, number or literal.
    pub(super) fn word(&mut self) -> PResult<Token> {
        let t = self.next()?;
        if matches!(
            t.kind,
            TokenKind::Ident | TokenKind::Number | TokenKind::Literal
        ) {
            Ok(t)
        } else {
            Err(Self::unexpected(&t, "identifier, number or literal"))
        }
    }
}

pub(super) fn check_range(value: u64, min: u64, max: u64, span: &Span) -> PResult<()> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(Diagnostic::error(
            span,
            format!("value out of allowed range ({min}..{max})"),
        ))
    }
}
