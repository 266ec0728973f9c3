//! `ListenHTTP` and `ListenHTTPS` sections (pound.8, HTTP Listener, HTTPS Listener).

use std::collections::BTreeMap;

use super::address::{AddressPort, Endpoint};
use super::condition::Scope;
use super::modify::{Modified, MODIFICATIONS, OLD_MODIFICATIONS};
use super::service::ServiceDefaults;
use super::{BlockEnd, PResult, Parser};
use crate::diag::{Diagnostic, Span, Spanned};
use crate::lexer::{Token, TokenKind};
use crate::model::{
    BackendKind, ClientCert, ListenAddr, Listener, Matcher, Service, TlsListener, TlsProtocol,
};

/// The statuses `ErrorFile` takes (pound 4.23).
const ERROR_FILE_CODES: &[u64] = &[200, 400, 401, 403, 404, 405, 413, 414, 429, 500, 501, 503];

const LISTENER: &[&str] = &[
    "Address",
    "Port",
    "SocketFrom",
    "xHTTP",
    "Client",
    "ClientMinRate",
    "ClientRateGrace",
    "ClientMaxConnections",
    "ClientMaxRequests",
    "CheckURL",
    "MaxURI",
    "ErrorFile",
    "RewriteErrors",
    "LineBufferSize",
    "Err400",
    "Err401",
    "Err403",
    "Err404",
    "Err413",
    "Err414",
    "Err500",
    "Err501",
    "Err503",
    "MaxRequest",
    "RewriteLocation",
    "RewriteDestination",
    "LogLevel",
    "ForwardedHeader",
    "TrustedIP",
    "Constant",
    "Service",
    "ACME",
    "HeaderOption",
    "HTTP2",
    "HTTP2MaxStreams",
    "HTTP2WindowSize",
    "HTTP2MaxSlowStreams",
];

/// Statements only `ListenHTTPS` accepts.
const HTTPS_ONLY: &[&str] = &[
    "Cert",
    "ClientCert",
    "Disable",
    "Ciphers",
    "SSLHonorCipherOrder",
    "SSLAllowClientRenegotiation",
    "CAlist",
    "VerifyList",
    "CRLlist",
    "NoHTTPS11",
];

/// The path an `ACME` statement in a listener answers.
pub(super) const ACME_CHALLENGE_PATH: &str = r"^/\.well-known/acme-challenge/(.+)";

impl Parser<'_> {
    /// A listener with the defaults in force, before its statements.
    pub(super) fn empty_listener(
        &self,
        opener: Span,
        name: Option<String>,
        https: bool,
    ) -> Listener {
        let g = &self.global;
        Listener {
            span: opener,
            name,
            addr: ListenAddr::SocketFrom(Default::default()),
            xhttp: 0,
            client: g.client,
            client_limits: g.client_limits,
            check_url: None,
            max_uri: 0,
            line_buffer: g.line_buffer,
            rewrite_errors: false,
            error_pages: BTreeMap::new(),
            max_request: None,
            rewrite_location: 1,
            rewrite_destination: false,
            log_level: g.log_level.clone(),
            forwarded_header: g.forwarded_header.clone(),
            trusted_ip: g.trusted_ip.clone(),
            header_options: g.header_options,
            request: Vec::new(),
            response: Vec::new(),
            services: Vec::new(),
            constants: Vec::new(),
            http2: Default::default(),
            tunnel: false,
            tls: https.then(|| TlsListener {
                no_https11: 2,
                ..TlsListener::default()
            }),
        }
    }

    pub(super) fn listener(&mut self, https: bool) -> PResult<()> {
        let what = if https { "ListenHTTPS" } else { "ListenHTTP" };
        let (name, opener) = self.section_head()?;
        let name_span = name.as_ref().map(|n| n.span.clone());
        let mut l = self.empty_listener(opener.clone(), name.map(|n| n.text), https);
        let mut addr = AddressPort::default();
        let mut socket_from = None;
        let tables: &[&[&'static str]] = if https {
            &[LISTENER, HTTPS_ONLY, MODIFICATIONS, OLD_MODIFICATIONS]
        } else {
            &[LISTENER, MODIFICATIONS, OLD_MODIFICATIONS]
        };
        let mut check_url = None;
        let mut client_cert_statement = false;
        let mut service_client_cert = false;
        self.in_listener = Some(https);
        let end = self.block(tables, BlockEnd::End, &opener, &mut |p, kw, t| {
            client_cert_statement |= kw == "ClientCert";
            if kw == "Service" {
                let result = p.listener_statement(&mut l, &mut addr, &mut socket_from, kw, t);
                service_client_cert |= p.client_cert_condition;
                p.client_cert_condition = false;
                return result;
            }
            if kw == "CheckURL" {
                if check_url.is_some() {
                    return Err(Diagnostic::error(&t.span, "CheckURL multiple pattern"));
                }
                check_url = Some(t.span.clone());
            }
            p.listener_statement(&mut l, &mut addr, &mut socket_from, kw, t)
        })?;
        self.in_listener = None;
        l.span = opener.to(&end);
        if service_client_cert {
            if client_cert_statement {
                return Err(Diagnostic::error(
                    &l.span,
                    "ClientCert in ListenHTTPS conflicts with that in Service",
                ));
            }
            if let Some(tls) = &mut l.tls {
                tls.service_client_cert = true;
            }
        }
        // `SocketFrom` wins over an `Address` or `Port` that follows it, as in pound.
        l.addr = match socket_from {
            Some(path) => ListenAddr::SocketFrom(path),
            None => match addr.finish(what, &l.span, if https { 443 } else { 80 }, true)? {
                Endpoint::Inet { host, port } => ListenAddr::Inet { host, port },
                Endpoint::Unix(path) => ListenAddr::Unix(path),
            },
        };
        if l.tls.as_ref().is_some_and(|tls| tls.certs.is_empty()) {
            return Err(Diagnostic::error(&l.span, "Cert statement is missing"));
        }
        if let Some(at) = name_span {
            if self.listeners.iter().any(|o| o.name == l.name) {
                return Err(Diagnostic::error(&at, "listener name is not unique"));
            }
        }
        self.listeners.push(l);
        Ok(())
    }

    fn listener_statement(
        &mut self,
        l: &mut Listener,
        addr: &mut AddressPort,
        socket_from: &mut Option<std::path::PathBuf>,
        kw: &'static str,
        t: Token,
    ) -> PResult<()> {
        if let Some(tls) = &mut l.tls {
            if HTTPS_ONLY.contains(&kw) {
                return self.tls_statement(tls, kw, &t);
            }
        }
        match kw {
            "Address" => addr.address(self)?,
            "Port" => addr.port(self, true)?,
            // Passed on as written: pound does not look for it in the include directory.
            "SocketFrom" => {
                if addr.has_address() {
                    return Err(Diagnostic::error(
                        &t.span,
                        "Duplicate Address or SocketFrom statement",
                    ));
                }
                *socket_from = Some(self.string_arg()?.value.into());
            }
            "xHTTP" => l.xhttp = self.level_arg(3)?,
            "Client" => l.client = self.u32_arg()?,
            "ClientMinRate" | "ClientRateGrace" | "ClientMaxConnections" | "ClientMaxRequests" => {
                self.client_limit(&mut l.client_limits, kw)?
            }
            "CheckURL" => {
                let s = self.string_arg()?;
                let icase = self.global.ignore_case;
                let regex = self.compile_regex(&s.value, icase, &s.span)?;
                l.check_url = Some(Matcher::regex(&s.value, regex, icase));
            }
            "MaxRequest" => l.max_request = Some(self.long_arg()?),
            "MaxURI" => l.max_uri = self.u32_arg()?,
            "RewriteErrors" => l.rewrite_errors = self.bool_arg()?,
            "LineBufferSize" => l.line_buffer = self.line_buffer_arg()?,
            "RewriteLocation" => l.rewrite_location = self.level_arg(2)?,
            "RewriteDestination" => l.rewrite_destination = self.bool_arg()?,
            "LogLevel" => l.log_level = self.log_level()?,
            "Constant" => self.constant(&mut l.constants)?,
            "ForwardedHeader" => {
                l.forwarded_header = self.string_arg()?.value;
            }
            "TrustedIP" => l.trusted_ip = Some(self.trusted_ip(&t)?),
            "HeaderOption" => l.header_options = self.header_options(l.header_options)?,
            "HTTP2" => l.http2.enabled = Some(self.bool_arg()?),
            "HTTP2MaxStreams" => l.http2.max_streams = self.number_arg(1, 1 << 16)? as u32,
            "HTTP2MaxSlowStreams" => l.http2.slow_streams = self.number_arg(1, 1 << 16)? as u32,
            "HTTP2WindowSize" => {
                // RFC 9113, 6.9.1: a window may not exceed 2^31-1 octets.
                l.http2.window = self.number_arg(65_535, (1 << 31) / 4 - 1)? as u32
            }
            "Service" => {
                let defaults = ServiceDefaults::global(&self.global);
                let (service, name) = self.service(&defaults)?;
                super::service::add_service(&mut l.services, service, name)?;
            }
            "ACME" => {
                let service = self.acme_service(&t)?;
                l.services.push(service);
            }
            "ErrorFile" => {
                let (code, at) = self.number()?;
                if !ERROR_FILE_CODES.contains(&code) {
                    return Err(Diagnostic::error(&at, "unsupported status code"));
                }
                let file = self.string_arg()?;
                let page = self.read_page(&file.value, &file.span)?;
                l.error_pages.insert(code as u16, page);
            }
            _ if kw.starts_with("Err") => {
                let status: u16 = kw[3..].parse().unwrap_or(500);
                self.deprecated(&t.span, &format!("use \"ErrorFile {status}\" instead"));
                let file = self.string_arg()?;
                let page = self.read_page(&file.value, &file.span)?;
                l.error_pages.insert(status, page);
            }
            _ => {
                let scope = Scope {
                    ignore_case: self.global.ignore_case,
                    response: false,
                    in_rewrite: false,
                };
                match self.modification(kw, &t, scope)? {
                    Modified::Request(m) => l.request.push(m),
                    Modified::Response(r) => l.response.push(r),
                }
            }
        }
        Ok(())
    }

    fn tls_statement(&mut self, tls: &mut TlsListener, kw: &'static str, t: &Token) -> PResult<()> {
        if kw == "Cert" {
            // Errors about the file are reported at its name, and name it as pound does (a
            // relative name joined to the working directory without an include directory).
            let file = self.file_arg()?;
            let shown = std::path::PathBuf::from(self.shown(&file.value));
            tls.certs.push(Spanned::new(shown, file.span));
            return Ok(());
        }
        // pound's spelling of the names in this message.
        let after_cert = match kw {
            "CAlist" => Some("CAList"),
            "CRLlist" => Some("CRlist"),
            "ClientCert" | "Ciphers" | "VerifyList" => Some(kw),
            // These apply to the whole listener, whatever their place.
            _ => None,
        };
        if let Some(name) = after_cert.filter(|_| tls.certs.is_empty()) {
            return Err(Diagnostic::error(
                &t.span,
                format!("{name} may only be used after Cert"),
            ));
        }
        match kw {
            "ClientCert" => {
                // `ClientCert 0` alone; the other modes take a depth, any `int` (deeper
                // chains than 255 do not occur: the model keeps a byte).
                let (mode, _) = self.number_in(0, 3)?;
                let depth = if mode == 0 {
                    9
                } else {
                    self.integer()?.0.min(u64::from(u8::MAX)) as u8
                };
                self.end_of_line()?;
                tls.client_cert = ClientCert {
                    mode: mode as u8,
                    depth,
                };
            }
            "Disable" => tls.disable = Some(self.tls_protocol()?),
            "Ciphers" => self.ciphers(&mut tls.ciphers, &mut tls.ciphersuites)?,
            "SSLHonorCipherOrder" => tls.honor_cipher_order = self.bool_arg()?,
            "SSLAllowClientRenegotiation" => tls.allow_client_renegotiation = self.level_arg(2)?,
            // pound reads these relative to the working directory, not the include
            // directory.
            "CAlist" => tls.ca_list = Some(self.cwd_file_arg()?),
            "VerifyList" => tls.verify_list = Some(self.cwd_file_arg()?),
            "CRLlist" => tls.crl_list = Some(self.cwd_file_arg()?),
            "NoHTTPS11" => tls.no_https11 = self.level_arg(2)?,
            _ => unreachable!("keyword {kw} listed but not handled"),
        }
        Ok(())
    }

    /// `Disable PROTO`.
    pub(super) fn tls_protocol(&mut self) -> PResult<TlsProtocol> {
        let t = self.next()?;
        if !matches!(t.kind, TokenKind::Ident | TokenKind::Literal) {
            return Err(Self::unexpected(&t, "identifier"));
        }
        // Case-sensitive, as in pound.
        let p = TlsProtocol::NAMES
            .iter()
            .find(|(n, _)| t.text == *n)
            .map(|&(_, v)| v)
            .ok_or_else(|| Diagnostic::error(&t.span, "unrecognized protocol name"))?;
        self.end_of_line()?;
        Ok(p)
    }

    /// `ACME "directory"` in a listener: a service answering HTTP-01 challenges under
    /// `/.well-known/acme-challenge/`, placed among the listener's services where written.
    fn acme_service(&mut self, kw: &Token) -> PResult<Service> {
        let dir = self.string_arg()?;
        // pound opens the directory now, relative to the working directory (not the include
        // directory), and takes its name literally.
        match self.directory(&dir.value) {
            Ok(()) => {}
            Err(None) => {
                return Err(Diagnostic::error(
                    &dir.span,
                    format!("{} is not a directory: Bad file descriptor", dir.value),
                ))
            }
            Err(Some(e)) => {
                return Err(Diagnostic::error(
                    &dir.span,
                    format!(
                        "can't stat {}: {}",
                        dir.value,
                        crate::env::describe_io_error(&e)
                    ),
                ))
            }
        }
        let span = kw.span.to(&dir.span);
        let regex = self.compile_regex(ACME_CHALLENGE_PATH, false, &span)?;
        let defaults = ServiceDefaults::global(&self.global);
        let mut service = defaults.empty_service(span.clone());
        service.conditions.push(crate::model::Condition {
            span: span.clone(),
            kind: crate::model::ConditionKind::Path(Matcher::regex(
                ACME_CHALLENGE_PATH,
                regex,
                false,
            )),
        });
        service.backends.push(crate::model::Backend {
            span,
            kind: BackendKind::Acme {
                directory: dir.value,
            },
        });
        Ok(service)
    }

    /// Compiles a POSIX ERE; a bad one is an error at `span`.
    pub(super) fn compile_regex(
        &self,
        pattern: &str,
        icase: bool,
        span: &Span,
    ) -> PResult<pound_regex::Regex> {
        pound_regex::compile(pattern, icase).map_err(|e| Diagnostic::error(span, e.message))
    }
}

/// Statements of a `Tunnel` (pound 4.23).
const TUNNEL: &[&str] = &["Address", "Port", "SocketFrom", "Backend"];

impl Parser<'_> {
    /// `Tunnel ["NAME"] ... End` (pound 4.23): a listener whose connections are relayed,
    /// bytes as they are, to its one backend. It is a listener (names, places, the control
    /// interface and metrics count it among them) with one service.
    pub(super) fn tunnel(&mut self) -> PResult<()> {
        let (name, opener) = self.section_head()?;
        let name_span = name.as_ref().map(|n| n.span.clone());
        let mut l = self.empty_listener(opener.clone(), name.map(|n| n.text), false);
        l.tunnel = true;
        let mut addr = AddressPort::default();
        let mut socket_from = None;
        let mut backend = None;
        let defaults = ServiceDefaults::global(&self.global);
        let end = self.block(&[TUNNEL], BlockEnd::End, &opener, &mut |p, kw, t| {
            match kw {
                "Address" => addr.address(p)?,
                "Port" => addr.port(p, true)?,
                "SocketFrom" => {
                    if addr.has_address() {
                        return Err(Diagnostic::error(
                            &t.span,
                            "Duplicate Address or SocketFrom statement",
                        ));
                    }
                    socket_from = Some(p.string_arg()?.value.into());
                }
                _ => {
                    if backend.is_some() {
                        return Err(Diagnostic::error(
                            &t.span,
                            "only one backend is allowed in Tunnel",
                        ));
                    }
                    // pound takes a name here with a `syntax error` note, and ignores it.
                    if p.peek()?.kind == TokenKind::String {
                        let n = p.next()?;
                        p.diags.push(Diagnostic::notice(&n.span, "syntax error"));
                    }
                    let opener = p.next_span()?;
                    let (b, span) =
                        p.backend_with(&t, &opener, &defaults, super::backend::TUNNEL_BACKEND)?;
                    backend = Some(crate::model::Backend {
                        span,
                        kind: BackendKind::Regular(b),
                    });
                }
            }
            Ok(())
        })?;
        l.span = opener.to(&end);
        let Some(backend) = backend else {
            return Err(Diagnostic::error(&l.span, "no backend defined"));
        };
        // Without a port pound 4.23 listens on 443.
        l.addr = match socket_from {
            Some(path) => ListenAddr::SocketFrom(path),
            None => match addr.finish("Tunnel", &l.span, 443, true)? {
                Endpoint::Inet { host, port } => ListenAddr::Inet { host, port },
                Endpoint::Unix(path) => ListenAddr::Unix(path),
            },
        };
        let mut service = defaults.empty_service(l.span.clone());
        service.backends.push(backend);
        l.services.push(service);
        if let Some(at) = name_span {
            if self.listeners.iter().any(|o| o.name == l.name) {
                return Err(Diagnostic::error(&at, "listener name is not unique"));
            }
        }
        self.listeners.push(l);
        Ok(())
    }
}
