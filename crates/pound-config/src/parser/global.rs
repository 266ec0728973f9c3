//! Top-level statements (pound.8, GLOBAL DIRECTIVES and Control socket), and the pieces the
//! other scopes share with it: ACL bodies, `TrustedIP`, `LogLevel`, `HeaderOption`.

use std::sync::Arc;

use super::service::ServiceDefaults;
use super::{BlockEnd, PResult, Parser};
use crate::diag::{Diagnostic, Span};
use crate::lexer::{Token, TokenKind};
use crate::model::acl::OddMask;
use crate::model::{
    Acl, Balancer, Cidr, Control, HeaderOptions, LogFacility, LogFormat, LogLevel,
    BUILTIN_LOG_FORMATS, LOG_FACILITIES,
};

/// What `ACL` and `TrustedIP` options said.
#[derive(Default)]
struct AclOptions {
    forwarded: bool,
    /// `-file` (false) or `-filewatch` (true), and the file name.
    file: Option<(bool, Token)>,
}

const GLOBAL: &[&str] = &[
    "User",
    "Group",
    "RootJail",
    "HeaderOption",
    "Balancer",
    "Daemon",
    "Supervisor",
    "WorkerMinCount",
    "WorkerMaxCount",
    "WorkerIdleTimeout",
    "Threads",
    "LogFacility",
    "LogFormat",
    "LogLevel",
    "ForwardedHeader",
    "TrustedIP",
    "IgnoreCase",
    "RegexType",
    "WatcherTTL",
    "LogTag",
    "LineBufferSize",
    "ConnectionQueueSize",
    "ReserveFD",
    "WorkerStackSize",
    "Alive",
    "Client",
    "ClientMinRate",
    "ClientRateGrace",
    "ClientMaxConnections",
    "ClientMaxRequests",
    "TimeOut",
    "ConnTO",
    "WSTimeOut",
    "Grace",
    "SSLEngine",
    "ECDHcurve",
    "Control",
    "IncludeDir",
    "Anonymise",
    "Anonymize",
    "ACL",
    "Condition",
    "Constant",
    "CombineHeaders",
    "PIDFile",
    "ListenHTTP",
    "ListenHTTPS",
    "Tunnel",
    "Service",
    "Backend",
    "Resolver",
];

impl Parser<'_> {
    pub(super) fn parse_top(&mut self) -> PResult<()> {
        let opener = Span {
            file: self.stack[0].file().clone(),
            start: Default::default(),
            end: Default::default(),
        };
        self.block(&[GLOBAL], BlockEnd::Eof, &opener, &mut |p, kw, t| {
            p.global_statement(kw, t)
        })?;
        Ok(())
    }

    fn global_statement(&mut self, kw: &'static str, t: Token) -> PResult<()> {
        match kw {
            "User" => self.global.user = Some(self.string_arg()?.value),
            "Group" => self.global.group = Some(self.string_arg()?.value),
            "RootJail" => self.global.root_jail = Some(self.string_arg()?.value.into()),
            "PIDFile" => self.global.pid_file = Some(self.string_arg()?.value.into()),
            // pound 4.23 ignores both, saying so at the argument.
            "SSLEngine" | "ECDHcurve" => {
                if kw == "ECDHcurve" {
                    self.deprecated(&t.span, "this setting is no longer used");
                }
                let arg = self.string_arg()?;
                self.diags
                    .push(Diagnostic::notice(&arg.span, "statement ignored"));
            }
            "HeaderOption" => {
                self.global.header_options = self.header_options(self.global.header_options)?
            }
            "Balancer" => {
                self.global.balancer =
                    self.word_choice(Balancer::NAMES, "unsupported balancing strategy: %s")?;
                self.end_of_line()?;
            }
            "Daemon" => self.global.daemon = self.bool_arg()?,
            "Supervisor" => self.global.supervisor = self.bool_arg()?,
            "WorkerMinCount" => self.global.worker_min_count = self.u32_arg()?,
            "WorkerMaxCount" => self.global.worker_max_count = self.u32_arg()?,
            "WorkerIdleTimeout" => self.global.worker_idle_timeout = self.u32_arg()?,
            "ConnectionQueueSize" => {
                let (n, _) = self.integer()?;
                self.end_of_line()?;
                self.global.connection_queue = Some(n as u32);
            }
            "ReserveFD" => {
                // pound 4.23 refuses the manual's `-worker` (an unexpected token).
                let t = self.next()?;
                if t.kind == TokenKind::Literal && t.text.starts_with('-') {
                    return Err(Diagnostic::error(
                        &t.span,
                        format!("unexpected token: {}", t.text),
                    ));
                }
                if t.kind != TokenKind::Number {
                    return Err(Self::unexpected(&t, "number"));
                }
                let n: u32 = t
                    .text
                    .parse()
                    .map_err(|_| Diagnostic::error(&t.span, "bad unsigned number"))?;
                // The reserve starts at 3 and must stay an `int`.
                if n > i32::MAX as u32 - 3 {
                    return Err(Diagnostic::error(&t.span, "value out of range"));
                }
                self.end_of_line()?;
                self.global.reserve_fd = n;
            }
            "WorkerStackSize" => {
                let t = self.next()?;
                if t.kind != TokenKind::Number {
                    return Err(Self::unexpected(&t, "number"));
                }
                let n: u64 = t
                    .text
                    .parse()
                    .map_err(|_| Diagnostic::error(&t.span, "bad size number"))?;
                self.end_of_line()?;
                self.global.worker_stack = Some(n);
            }
            // pound 4.23 says nothing about it.
            "Threads" => {
                let n = self.u32_arg()?;
                self.global.worker_min_count = n;
                self.global.worker_max_count = n;
            }
            "LogFacility" => self.global.log_facility = self.log_facility()?,
            "LogFormat" => self.log_format()?,
            "LogLevel" => self.global.log_level = self.log_level()?,
            "ForwardedHeader" => {
                self.global.forwarded_header = self.string_arg()?.value;
            }
            "TrustedIP" => self.global.trusted_ip = Some(self.trusted_ip(&t)?),
            "WatcherTTL" => self.global.watcher_ttl = self.u32_arg()?,
            "LogTag" => self.global.log_tag = Some(self.string_arg()?.value),
            "LineBufferSize" => self.global.line_buffer = self.line_buffer_arg()?,
            "RegexType" => {
                // Case-sensitive in pound, whatever the manual says.
                let t = self.next()?;
                if !matches!(t.kind, TokenKind::Ident | TokenKind::Literal) {
                    return Err(Self::unexpected(&t, "identifier"));
                }
                self.regex_type = match t.text.as_str() {
                    "posix" => pound_regex::Dialect::Posix,
                    "pcre" | "perl" => pound_regex::Dialect::Pcre,
                    _ => return Err(Diagnostic::error(&t.span, "unrecognized regex type")),
                };
                self.end_of_line()?;
            }
            "IgnoreCase" => {
                self.deprecate_ignore_case(&t.span);
                self.global.ignore_case = self.bool_arg()?;
            }
            "Alive" => self.global.alive = self.u32_arg()?,
            "Client" => self.global.client = self.u32_arg()?,
            "ClientMinRate" | "ClientRateGrace" | "ClientMaxConnections" | "ClientMaxRequests" => {
                let mut limits = self.global.client_limits;
                self.client_limit(&mut limits, kw)?;
                self.global.client_limits = limits;
            }
            "TimeOut" => self.global.timeout = self.u32_arg()?,
            "ConnTO" => self.global.conn_to = Some(self.u32_arg()?),
            "WSTimeOut" => self.global.ws_timeout = self.u32_arg()?,
            "Grace" => self.global.grace = self.u32_arg()?,
            "Control" => self.control(&t)?,
            "IncludeDir" => {
                let dir = self.string_arg()?;
                // pound opens the directory at once: one that cannot be opened is an error
                // at its name.
                if let Err(e) = self.directory(&dir.value) {
                    let why = e.map_or("Not a directory".into(), |e| {
                        crate::env::describe_io_error(&e)
                    });
                    return Err(Diagnostic::error(
                        &dir.span,
                        format!("can't open directory {}: {why}", dir.value),
                    ));
                }
                self.include_dir = Some(dir.value.into());
            }
            "Anonymise" | "Anonymize" => {
                self.end_of_line()?;
                self.global.anonymise = true;
            }
            "ACL" => self.named_acl(&t)?,
            "Condition" => self.named_condition()?,
            "Constant" => {
                let mut list = std::mem::take(&mut self.global.constants);
                let result = self.constant(&mut list);
                self.global.constants = list;
                result?
            }
            "CombineHeaders" => self.combine_headers(&t)?,
            "ListenHTTP" => self.listener(false)?,
            "ListenHTTPS" => self.listener(true)?,
            "Tunnel" => self.tunnel()?,
            "Service" => {
                let defaults = ServiceDefaults::global(&self.global);
                let (service, name) = self.service(&defaults)?;
                super::service::add_service(&mut self.services, service, name)?;
            }
            "Backend" => self.named_backend(t)?,
            "Resolver" => self.resolver_section(&t)?,
            _ => unreachable!("keyword {kw} listed but not handled"),
        }
        Ok(())
    }

    pub(super) fn deprecate_ignore_case(&mut self, span: &Span) {
        self.deprecated(
            span,
            "use the -icase matching directive flag to request case-insensitive comparison",
        );
    }

    fn log_facility(&mut self) -> PResult<LogFacility> {
        let t = self.word()?;
        self.end_of_line()?;
        if t.text == "-" {
            return Ok(LogFacility::Stderr);
        }
        let name = t.text.to_ascii_lowercase();
        if LOG_FACILITIES.contains(&name.as_str()) {
            Ok(LogFacility::Syslog(name))
        } else {
            Err(Diagnostic::error(&t.span, "unknown log facility name"))
        }
    }

    fn log_format(&mut self) -> PResult<()> {
        let name = self.string()?;
        let format = self.string()?;
        self.end_of_line()?;
        let taken = BUILTIN_LOG_FORMATS
            .iter()
            .any(|b| b.eq_ignore_ascii_case(&name.text))
            || self.log_formats.iter().any(|f| f.name == name.text);
        if taken {
            // pound's place: just after the name.
            let mut at = name.span.end;
            at.col += 1;
            return Err(Diagnostic::error(
                &Self::point(&name.span, at),
                "format already defined",
            ));
        }
        let (problems, text) = super::logformat::check(&format.text);
        let mut fatal = None;
        for p in problems {
            // Offsets count from the string's first character, after the quote.
            let mut at = format.span.start;
            at.col += 1 + p.offset as u32;
            let at = Self::point(&format.span, at);
            if p.fatal {
                if let Some(previous) = fatal.replace(Diagnostic::error(&at, p.message)) {
                    self.diags.push(previous);
                }
            } else {
                self.diags.push(Diagnostic::notice(&at, p.message));
            }
        }
        if let Some(e) = fatal {
            return Err(e);
        }
        self.log_formats.push(LogFormat {
            span: name.span.to(&format.span),
            name: name.text,
            format: text,
        });
        Ok(())
    }

    /// `LogLevel N` or `LogLevel "name"`; the named format must be defined already.
    pub(super) fn log_level(&mut self) -> PResult<LogLevel> {
        let t = self.next()?;
        let level = match t.kind {
            TokenKind::Number => {
                let n = t.text.parse::<u64>().unwrap_or(u64::MAX);
                if n > i32::MAX as u64 {
                    return Err(Diagnostic::error(&t.span, "unsupported log level number"));
                }
                if n > 5 {
                    return Err(Diagnostic::error(&t.span, "undefined log level"));
                }
                LogLevel::Builtin(n as u8)
            }
            TokenKind::String => {
                if let Some(i) = BUILTIN_LOG_FORMATS
                    .iter()
                    .position(|b| b.eq_ignore_ascii_case(&t.text))
                {
                    LogLevel::Builtin(i as u8)
                } else if let Some(i) = self.log_formats.iter().position(|f| f.name == t.text) {
                    LogLevel::Named(i)
                } else {
                    return Err(Diagnostic::error(
                        &t.span,
                        format!("undefined format: {}", t.text),
                    ));
                }
            }
            _ => return Err(Self::unexpected(&t, "number or quoted string")),
        };
        self.end_of_line()?;
        Ok(level)
    }

    /// `HeaderOption opt...`, applied on top of `current`.
    pub(super) fn header_options(&mut self, current: HeaderOptions) -> PResult<HeaderOptions> {
        let mut opts = current;
        loop {
            let t = self.next()?;
            if t.ends_line() {
                if t.kind == TokenKind::Eof {
                    self.peeked = Some(t);
                }
                return Ok(opts);
            }
            if t.kind == TokenKind::String {
                return Err(Diagnostic::error(&t.span, "unexpected quoted string"));
            }
            let word = t.text.to_ascii_lowercase();
            let (negate, name) = match word.strip_prefix("no-") {
                Some(rest) if rest != "none" => (true, rest),
                _ => (false, word.as_str()),
            };
            match (name, negate) {
                ("none", false) => {
                    opts = HeaderOptions {
                        forwarded: false,
                        ssl: false,
                    }
                }
                ("all", v) => {
                    opts = HeaderOptions {
                        forwarded: !v,
                        ssl: !v,
                    }
                }
                ("forwarded", v) => opts.forwarded = !v,
                ("ssl", v) => opts.ssl = !v,
                _ => return Err(Diagnostic::error(&t.span, "unknown option")),
            }
        }
    }

    /// `TrustedIP "acl-name"` or the section form with CIDR lines.
    pub(super) fn trusted_ip(&mut self, kw: &Token) -> PResult<Arc<Acl>> {
        Ok(self.acl_ref_or_body(kw, false)?.0)
    }

    /// After an `ACL`/`TrustedIP` keyword in a scope that *uses* an ACL: options
    /// (`-forwarded` where `forwarded` allows it, `-file`, `-filewatch`), then a quoted name
    /// of a defined ACL, a file name, or an unnamed list up to `End`. Returns the ACL, the
    /// span of the statement's last token (the name, or the closing `End`), and whether
    /// `-forwarded` was given.
    pub(super) fn acl_ref_or_body(
        &mut self,
        kw: &Token,
        forwarded: bool,
    ) -> PResult<(Arc<Acl>, Span, bool)> {
        let (opts, t) = self.acl_options(forwarded, true)?;
        if let Some((watch, file)) = opts.file {
            let (acl, end) = self.acl_file(&file, None, watch)?;
            return Ok((acl, end, opts.forwarded));
        }
        match t.kind {
            TokenKind::String => {
                self.end_of_line()?;
                let acl = self
                    .acls
                    .iter()
                    .find(|a| a.name.as_deref() == Some(t.text.as_str()))
                    .cloned()
                    .ok_or_else(|| {
                        Diagnostic::error(&t.span, format!("no such ACL: {}", t.text))
                    })?;
                Ok((acl, t.span, opts.forwarded))
            }
            _ => {
                let acl = self.acl_body(kw.span.clone(), None)?;
                let end = acl.span.clone();
                Ok((Arc::new(acl), end, opts.forwarded))
            }
        }
    }

    /// The options of an `ACL` or `TrustedIP` statement, as pound reads them: any number,
    /// `-file`/`-filewatch` taking a file name (the last one counts), `-forwarded` where
    /// allowed. Without a file, they end at a quoted name (when `name` allows one) or at the
    /// end of the line, which is returned; with one, they run to the end of the line.
    fn acl_options(&mut self, forwarded: bool, name: bool) -> PResult<(AclOptions, Token)> {
        let mut opts = AclOptions::default();
        loop {
            let t = self.next()?;
            match t.kind {
                TokenKind::Literal if t.text == "-forwarded" => {
                    if !forwarded {
                        return Err(Diagnostic::error(&t.span, "unsupported option: -forwarded"));
                    }
                    opts.forwarded = true;
                }
                TokenKind::Literal if t.text == "-file" || t.text == "-filewatch" => {
                    let watch = t.text == "-filewatch";
                    opts.file = Some((watch, self.string()?));
                }
                TokenKind::Literal if t.text.starts_with('-') => {
                    return Err(Diagnostic::error(
                        &t.span,
                        format!("unexpected token: {}", t.text),
                    ))
                }
                TokenKind::Newline | TokenKind::Eof if opts.file.is_some() => {
                    // `acl_file` reads the end of line.
                    self.peeked = Some(t.clone());
                    return Ok((opts, t));
                }
                TokenKind::Newline => return Ok((opts, t)),
                TokenKind::Eof => return Err(Diagnostic::plain("unexpected end of file")),
                TokenKind::String if name && opts.file.is_none() => return Ok((opts, t)),
                _ if opts.file.is_some() => {
                    return Err(Diagnostic::error(
                        &t.span,
                        format!("unexpected {}", t.kind.describe()),
                    ))
                }
                _ if name => return Err(Self::unexpected(&t, "ACL name or definition")),
                _ => return Err(Self::unexpected(&t, "newline")),
            }
        }
    }

    /// An ACL read from the file named by `name_token` (`-file`, or `-filewatch` when
    /// `watch`), and the end of line. Returns the ACL and the span of the file name.
    fn acl_file(
        &mut self,
        name_token: &Token,
        name: Option<String>,
        watch: bool,
    ) -> PResult<(Arc<Acl>, Span)> {
        let eol = self.next_span()?;
        self.end_of_line()?;
        let path = self.resolve(&name_token.text);
        let entries = match self.env.read_file(&path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let (entries, errors) = crate::model::acl::parse_acl_file(&text);
                let shown = self.shown(&path);
                for (line, message) in &errors {
                    let text = format!("{shown}:{line}: {message}");
                    self.diags.push(if watch {
                        Diagnostic::plain_notice(text)
                    } else {
                        Diagnostic::plain(text)
                    });
                }
                // A watched file's bad lines are left out; otherwise they are errors.
                if !errors.is_empty() && !watch {
                    return Err(Diagnostic::error(
                        &eol,
                        format!("errors reading {}", name_token.text),
                    ));
                }
                entries
            }
            // A watched file may appear later: until then, the list is empty.
            Err(_) if watch => {
                self.missing_file(&path, &eol);
                Vec::new()
            }
            Err(_) => {
                return Err(Diagnostic::error(
                    &eol,
                    format!("file {} does not exist", name_token.text),
                ))
            }
        };
        let entries = crate::model::Live::new(entries);
        if watch {
            self.watched.push(crate::model::watch::Watched {
                path,
                kind: crate::model::watch::WatchedKind::Acl(entries.clone()),
            });
        }
        let acl = Acl {
            span: name_token.span.clone(),
            name,
            entries,
        };
        Ok((Arc::new(acl), name_token.span.clone()))
    }

    /// `ACL "name"` followed by its CIDR lines, or by `-file`/`-filewatch` and a file name,
    /// at top level.
    fn named_acl(&mut self, kw: &Token) -> PResult<()> {
        let name = self.string()?;
        let (opts, _) = self.acl_options(false, false)?;
        if self
            .acls
            .iter()
            .any(|a| a.name.as_deref() == Some(name.text.as_str()))
        {
            return Err(Diagnostic::error(
                &name.span,
                "ACL with that name already defined",
            ));
        }
        let acl = match opts.file {
            Some((watch, f)) => self.acl_file(&f, Some(name.text), watch)?.0,
            None => Arc::new(self.acl_body(kw.span.to(&name.span), Some(name.text))?),
        };
        self.acls.push(acl);
        Ok(())
    }

    /// The CIDR lines of an ACL, up to `End` (several CIDRs may share a line, as in pound).
    /// `opener` spans the opening line.
    pub(super) fn acl_body(&mut self, opener: Span, name: Option<String>) -> PResult<Acl> {
        let mut entries = Vec::new();
        loop {
            let t = self.next()?;
            match t.kind {
                TokenKind::Newline => {}
                TokenKind::String => {
                    let (cidr, odd) = Cidr::parse_lenient(&t.text)
                        .map_err(|e| Diagnostic::error(&t.span, e.message()))?;
                    match odd {
                        Some(OddMask::TooLong) => self.warn(
                            &t.span,
                            format!("netmask longer than the address; {cidr} used, as pound does"),
                        ),
                        Some(OddMask::Negative) => self.warn(
                            &t.span,
                            format!("negative netmask; {cidr} used, as pound does"),
                        ),
                        None => {}
                    }
                    entries.push(cidr);
                }
                TokenKind::Ident if t.is_keyword("Include") => self.include(&t)?,
                TokenKind::Ident if t.is_keyword("End") => {
                    self.end_of_line()?;
                    return Ok(Acl {
                        span: opener.to(&t.span),
                        name,
                        entries: crate::model::Live::new(entries),
                    });
                }
                // pound gives no place for it.
                TokenKind::Eof => return Err(Diagnostic::plain("unexpected end of file")),
                TokenKind::Ident => {
                    return Err(Self::unexpected(&t, "CIDR, \"Include\", or \"End\""));
                }
                _ => return Err(Self::unexpected(&t, "quoted string")),
            }
        }
    }

    /// `CombineHeaders` up to `End`: quoted header names, any number per line, and
    /// `Include`s.
    fn combine_headers(&mut self, kw: &Token) -> PResult<()> {
        let t = self.next()?;
        if !t.ends_line() {
            return Err(Self::unexpected(&t, "newline"));
        }
        if t.kind == TokenKind::Eof {
            self.peeked = Some(t);
        }
        loop {
            let t = self.next()?;
            match t.kind {
                TokenKind::Newline => {}
                TokenKind::String => {
                    if crate::model::is_framing_field(&t.text) {
                        self.warn(&t.span, format!("{} is never combined; ignored", t.text));
                    } else if !self
                        .global
                        .combine_headers
                        .iter()
                        .any(|h| h.eq_ignore_ascii_case(&t.text))
                    {
                        self.global.combine_headers.push(t.text);
                    }
                }
                TokenKind::Ident if t.is_keyword("Include") => self.include(&t)?,
                TokenKind::Ident if t.is_keyword("End") => return self.end_of_line(),
                TokenKind::Eof => {
                    return Err(Diagnostic::error(
                        &Self::point(&kw.span, kw.span.end),
                        "unexpected end of file",
                    ))
                }
                _ => {
                    return Err(Self::unexpected(
                        &t,
                        "quoted string, \"Include\", or \"End\"",
                    ))
                }
            }
        }
    }

    /// `Control "path"` or `Control` with `Socket`, `Mode`, `ChangeOwner` up to `End`.
    fn control(&mut self, kw: &Token) -> PResult<()> {
        // A second `Control` replaces the first, as in pound.
        let t = self.next()?;
        let control = match t.kind {
            TokenKind::String => {
                self.end_of_line()?;
                Control {
                    span: kw.span.to(&t.span),
                    // As in pound, the socket is where the name says, not in the include
                    // directory.
                    socket: t.text.into(),
                    mode: 0o600,
                    change_owner: false,
                }
            }
            TokenKind::Newline => {
                let mut socket = None;
                let mut mode = 0o600;
                let mut change_owner = false;
                let opener = t.span.clone();
                let end = self.block(
                    &[&["Socket", "Mode", "ChangeOwner"]],
                    BlockEnd::End,
                    &opener,
                    &mut |p, kw, _| {
                        match kw {
                            "Socket" => socket = Some(p.string_arg()?.value.into()),
                            "Mode" => mode = p.file_mode()?,
                            _ => change_owner = p.bool_arg()?,
                        }
                        Ok(())
                    },
                )?;
                let span = opener.to(&end);
                let Some(socket) = socket else {
                    return Err(Diagnostic::error(&span, "Socket statement is missing"));
                };
                Control {
                    span,
                    socket,
                    mode,
                    change_owner,
                }
            }
            _ => return Err(Self::unexpected(&t, "string or newline")),
        };
        self.global.control = Some(control);
        Ok(())
    }

    /// An octal file mode such as `660` or `0600`.
    fn file_mode(&mut self) -> PResult<u32> {
        let t = self.next()?;
        if t.kind != TokenKind::Number {
            return Err(Self::unexpected(&t, "number"));
        }
        let mode = u32::from_str_radix(&t.text, 8)
            .ok()
            .filter(|m| *m <= 0o777)
            .ok_or_else(|| Diagnostic::error(&t.span, "invalid file mode"))?;
        self.end_of_line()?;
        Ok(mode)
    }
}

/// Checks that need the whole top level.
pub(super) fn check_global(p: &mut Parser<'_>) -> PResult<()> {
    let g = &p.global;
    if g.worker_min_count > g.worker_max_count {
        // pound finds it after reading the file, and says so without a place.
        p.diags.push(Diagnostic::plain(
            "WorkerMinCount is greater than WorkerMaxCount",
        ));
        return Err(Diagnostic::plain("pound terminated"));
    }
    Ok(())
}
