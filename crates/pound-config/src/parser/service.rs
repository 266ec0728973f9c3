//! `Service` sections (pound.8, Service, Backend definitions, Other directives) and the checks
//! on a service's backends.

use super::condition::{Scope, CONDITIONS};
use super::modify::{Modified, MODIFICATIONS};
use super::{BlockEnd, PResult, Parser};
use crate::diag::{Diagnostic, Span};
use crate::lexer::{Token, TokenKind};
use crate::model::{Backend, BackendKind, Balancer, Global, LogSuppress, NamedRef, Service};

const SERVICE: &[&str] = &[
    "Balancer",
    "Backend",
    "UseBackend",
    "Redirect",
    "Error",
    "Emergency",
    "Metrics",
    "Success",
    "SendFile",
    "Control",
    "Session",
    "IgnoreCase",
    "Disabled",
    "ForwardedHeader",
    "TrustedIP",
    "LogSuppress",
    "Constant",
    "RewriteErrors",
];

/// Redirect status codes (pound.8, Redirect).
const REDIRECT_CODES: &[u64] = &[301, 302, 303, 307, 308];

/// Status codes an `Error` backend can answer with: those pound has texts for.
pub(super) const ERROR_CODES: &[u64] =
    &[200, 400, 401, 403, 404, 405, 413, 414, 429, 500, 501, 503];

/// `TimeOut`, `ConnTO` and `WSTimeOut` of an `Emergency` backend that sets none (pound 4.23).
const EMERGENCY_TIMEOUT: u32 = 120;

/// What a service inherits from its surroundings when it is defined.
#[derive(Clone)]
pub(super) struct ServiceDefaults {
    pub balancer: Balancer,
    pub ignore_case: bool,
    pub timeout: u32,
    pub conn_to: u32,
    pub ws_timeout: u32,
}

impl ServiceDefaults {
    /// Listeners' services inherit the same: `ForwardedHeader` and `TrustedIP` are left
    /// unset, because the most specific definition wins at run time and a global service
    /// may serve several listeners.
    pub fn global(g: &Global) -> Self {
        ServiceDefaults {
            balancer: g.balancer,
            ignore_case: g.ignore_case,
            timeout: g.timeout,
            conn_to: g.conn_to.unwrap_or(g.timeout),
            ws_timeout: g.ws_timeout,
        }
    }

    pub fn empty_service(&self, span: Span) -> Service {
        Service {
            span,
            name: None,
            conditions: Vec::new(),
            constants: Vec::new(),
            rewrite_errors: None,
            request: Vec::new(),
            response: Vec::new(),
            backends: Vec::new(),
            emergency: Vec::new(),
            session: None,
            balancer: self.balancer,
            disabled: false,
            forwarded_header: None,
            trusted_ip: None,
            log_suppress: LogSuppress::default(),
        }
    }
}

impl Parser<'_> {
    /// A `Service` section, after its keyword. Returns the service and the span of its name.
    pub(super) fn service(&mut self, d: &ServiceDefaults) -> PResult<(Service, Option<Span>)> {
        let (name, opener) = self.section_head()?;
        let mut s = d.empty_service(opener.clone());
        let name_span = name.as_ref().map(|n| n.span.clone());
        s.name = name.map(|n| n.text);
        let mut ignore_case = d.ignore_case;
        self.client_cert_condition = false;
        let end = self.block(
            &[CONDITIONS, MODIFICATIONS, SERVICE],
            BlockEnd::End,
            &opener,
            &mut |p, kw, t| {
                let scope = Scope {
                    ignore_case,
                    response: false,
                    in_rewrite: false,
                };
                if CONDITIONS.contains(&kw) {
                    s.conditions.push(p.condition(kw, t, scope)?);
                } else if MODIFICATIONS.contains(&kw) {
                    let before = p.client_cert_condition;
                    match p.modification(kw, &t, scope)? {
                        Modified::Request(m) => s.request.push(m),
                        Modified::Response(r) => s.response.push(r),
                    }
                    p.client_cert_condition = before;
                } else {
                    p.service_statement(&mut s, &mut ignore_case, d, kw, t)?;
                }
                Ok(())
            },
        )?;
        s.span = opener.to(&end);
        if self.client_cert_condition {
            match self.in_listener {
                None => {
                    return Err(Diagnostic::error(
                        &s.span,
                        "use of SSL features in top-level sections is forbidden",
                    ))
                }
                Some(false) => {
                    return Err(Diagnostic::error(
                        &s.span,
                        "use of SSL features in ListenHTTP sections is forbidden",
                    ))
                }
                Some(true) => {}
            }
        }
        self.check_backends(&s)?;
        Ok((s, name_span))
    }

    fn service_statement(
        &mut self,
        s: &mut Service,
        ignore_case: &mut bool,
        d: &ServiceDefaults,
        kw: &'static str,
        t: Token,
    ) -> PResult<()> {
        match kw {
            "Balancer" => {
                s.balancer =
                    self.word_choice(Balancer::NAMES, "unsupported balancing strategy: %s")?;
                self.end_of_line()?;
            }
            "IgnoreCase" => {
                self.deprecate_ignore_case(&t.span);
                *ignore_case = self.bool_arg()?;
            }
            "Disabled" => s.disabled = self.bool_arg()?,
            "ForwardedHeader" => {
                s.forwarded_header = Some(self.string_arg()?.value);
            }
            "TrustedIP" => s.trusted_ip = Some(self.trusted_ip(&t)?),
            "LogSuppress" => s.log_suppress = self.log_suppress()?,
            "Constant" => self.constant(&mut s.constants)?,
            "RewriteErrors" => s.rewrite_errors = Some(self.bool_arg()?),
            "Backend" => {
                let backend = if self.peek()?.kind == TokenKind::String {
                    self.backend_override(t)?
                } else {
                    let opener = self.next_span()?;
                    let (b, span) = self.regular_backend(&t, &opener, d)?;
                    Backend {
                        span,
                        kind: BackendKind::Regular(b),
                    }
                };
                s.backends.push(backend);
            }
            "UseBackend" => {
                let name = self.string_arg()?;
                s.backends.push(Backend {
                    // pound's place for an undeclared name.
                    span: name.span.clone(),
                    kind: BackendKind::Named(NamedRef {
                        name: name.value,
                        index: usize::MAX,
                        priority: None,
                        disabled: None,
                    }),
                });
            }
            "Emergency" => {
                // pound 4.23 gives emergency backends their own time-outs, 120 s each,
                // whatever the global and service settings say.
                let emergency = ServiceDefaults {
                    timeout: EMERGENCY_TIMEOUT,
                    conn_to: EMERGENCY_TIMEOUT,
                    ws_timeout: EMERGENCY_TIMEOUT,
                    ..d.clone()
                };
                let (b, span) = self.regular_backend(&t, &t.span, &emergency)?;
                s.emergency.push(Backend {
                    span,
                    kind: BackendKind::Regular(b),
                });
            }
            // A second `Session` replaces the first, as in pound.
            "Session" => {
                s.session = Some(self.session(&t)?);
            }
            "Redirect" => s.backends.push(self.redirect(&t)?),
            "Error" => s.backends.push(self.error_backend(&t)?),
            "SendFile" => {
                let name = self.string_arg()?;
                let dir = self.resolve(&name.value);
                // pound names the directory as written.
                match self.env.stat(&dir) {
                    Ok(crate::env::FileKind::Directory) => {}
                    Ok(_) => {
                        return Err(Diagnostic::error(
                            &name.span,
                            format!("can't open {}: Not a directory", name.value),
                        ))
                    }
                    Err(e) => {
                        return Err(Diagnostic::error(
                            &name.span,
                            format!(
                                "can't open {}: {}",
                                name.value,
                                crate::env::describe_io_error(&e)
                            ),
                        ))
                    }
                }
                s.backends.push(Backend {
                    span: t.span.clone(),
                    kind: BackendKind::SendFile { dir },
                });
            }
            "Metrics" => {
                self.end_of_line()?;
                s.backends.push(Backend {
                    span: t.span.clone(),
                    kind: BackendKind::Metrics,
                });
            }
            "Success" => {
                self.end_of_line()?;
                s.backends.push(Backend {
                    span: t.span.clone(),
                    kind: BackendKind::Success,
                });
            }
            "Control" => {
                self.end_of_line()?;
                s.backends.push(Backend {
                    span: t.span.clone(),
                    kind: BackendKind::Control,
                });
            }
            _ => unreachable!("keyword {kw} listed but not handled"),
        }
        Ok(())
    }

    /// `LogSuppress class...`: names, digits 1 to 6, or `all`.
    fn log_suppress(&mut self) -> PResult<LogSuppress> {
        let mut mask = 0u8;
        loop {
            if mask != 0 && self.peek()?.ends_line() {
                self.end_of_line()?;
                return Ok(LogSuppress(mask));
            }
            let t = self.word()?;
            let word = t.text.to_ascii_lowercase();
            let bit = match word.as_str() {
                "all" => 0b11_1110,
                // pound 4.23 takes 6 too; no status is in that class.
                "1" | "2" | "3" | "4" | "5" | "6" => 1 << (word.as_bytes()[0] - b'0'),
                _ => LogSuppress::NAMES
                    .iter()
                    .find(|(n, _)| *n == word)
                    .map(|&(_, class)| 1 << class)
                    .ok_or_else(|| Diagnostic::error(&t.span, "unsupported status mask"))?,
            };
            mask |= bit;
        }
    }

    /// `Redirect [code] "url"`.
    fn redirect(&mut self, kw: &Token) -> PResult<Backend> {
        let t = self.next()?;
        let (code, url) = match t.kind {
            TokenKind::Number => {
                let code: u64 = t.text.parse().unwrap_or(0);
                if !REDIRECT_CODES.contains(&code) {
                    return Err(Diagnostic::error(&t.span, "invalid status code"));
                }
                (code as u16, self.string()?)
            }
            TokenKind::String => (302, t),
            _ => return Err(Self::unexpected(&t, "quoted string")),
        };
        self.end_of_line()?;
        let Some(path) = url_path(&url.text) else {
            return Err(Diagnostic::error(&url.span, "Redirect bad URL"));
        };
        // A lone "/" after the host is dropped and, as any path, keeps the request's URL
        // from being appended.
        let (text, append_request) = match path {
            "" => (url.text.as_str(), true),
            "/" => (&url.text[..url.text.len() - 1], false),
            _ => (url.text.as_str(), false),
        };
        let stripped = Token {
            text: text.to_string(),
            ..url.clone()
        };
        Ok(Backend {
            span: kw.span.to(&url.span),
            kind: BackendKind::Redirect {
                code,
                url: self.template(&stripped)?,
                append_request,
            },
        })
    }

    /// `Error STATUS [FILE]`; the file is read now.
    fn error_backend(&mut self, kw: &Token) -> PResult<Backend> {
        let (status, mut span) = self.number()?;
        if !ERROR_CODES.contains(&status) {
            return Err(Diagnostic::error(&span, "unsupported status code"));
        }
        let t = self.next()?;
        let page = match t.kind {
            TokenKind::String => {
                self.end_of_line()?;
                let page = self.read_page(&t.text, &t.span)?;
                span = t.span;
                Some(page)
            }
            TokenKind::Newline => None,
            TokenKind::Eof => {
                self.peeked = Some(t);
                None
            }
            _ => return Err(Diagnostic::error(&t.span, "string or newline expected")),
        };
        Ok(Backend {
            span: kw.span.to(&span),
            kind: BackendKind::Error {
                status: status as u16,
                page,
            },
        })
    }

    /// The rules on which backends may share a service (pound.8, Backend definitions and
    /// DEPRECATED FEATURES).
    fn check_backends(&mut self, s: &Service) -> PResult<()> {
        let mut regular = 0;
        let mut redirects = 0;
        let mut special: Vec<&'static str> = Vec::new();
        for b in &s.backends {
            match &b.kind {
                BackendKind::Regular(_) | BackendKind::Named(_) => regular += 1,
                BackendKind::Redirect { .. } => redirects += 1,
                kind => {
                    if special.contains(&kind.keyword()) {
                        return Err(Diagnostic::error(
                            &s.span,
                            "multiple backends of this type are not allowed",
                        ));
                    }
                    special.push(kind.keyword());
                }
            }
        }
        // pound lets an `Emergency` stand beside a special backend (which takes every
        // request, so the emergency is never used).
        let others = regular + redirects;
        if !special.is_empty() && (special.len() > 1 || others > 0) {
            return Err(Diagnostic::error(
                &s.span,
                "service mixes backends of different types",
            ));
        }
        let see_also = "see section \"DEPRECATED FEATURES\" in pound(8)";
        if redirects > 0 && regular > 0 {
            self.warn(&s.span, "service mixes regular and redirect backends");
            self.diags.push(Diagnostic::notice(&s.span, see_also));
        } else if redirects > 1 {
            self.warn(&s.span, "service uses multiple redirect backends");
            self.diags.push(Diagnostic::notice(&s.span, see_also));
        }
        if s.backends.is_empty() && s.emergency.is_empty() {
            self.warn(&s.span, "no backends defined");
        }
        Ok(())
    }
}

/// Appends `service` to the services of one scope (a listener, or the top level), where
/// names must be unique.
pub(super) fn add_service(
    services: &mut Vec<Service>,
    service: Service,
    name: Option<Span>,
) -> PResult<()> {
    if let Some(at) = name {
        if services.iter().any(|s| s.name == service.name) {
            return Err(Diagnostic::error(&at, "service name is not unique"));
        }
    }
    services.push(service);
    Ok(())
}

/// Whether a redirect target is an absolute http(s) URL with a host part (which may itself
/// be a string expansion).
/// The part of an `http://` or `https://` URL after its host (empty when there is none);
/// `None` when the URL is not absolute.
fn url_path(url: &str) -> Option<&str> {
    let lower = url.to_ascii_lowercase();
    let skip = if lower.starts_with("http://") {
        7
    } else if lower.starts_with("https://") {
        8
    } else {
        return None;
    };
    let rest = &url[skip..];
    let host_end = rest.find('/').unwrap_or(rest.len());
    (host_end > 0).then(|| &rest[host_end..])
}

/// Links every `UseBackend`/`Backend "name"` to its global definition, which may come later in
/// the file than its use.
pub(super) fn resolve_named_backends(p: &mut Parser<'_>) -> PResult<()> {
    let names: Vec<String> = p.backends.iter().map(|b| b.name.clone()).collect();
    let services = p
        .listeners
        .iter_mut()
        .flat_map(|l| l.services.iter_mut())
        .chain(p.services.iter_mut());
    for s in services {
        for b in &mut s.backends {
            if let BackendKind::Named(r) = &mut b.kind {
                r.index = names.iter().position(|n| *n == r.name).ok_or_else(|| {
                    match p.unusable_backends.iter().find(|(n, _)| *n == r.name) {
                        Some((_, e)) => e.clone(),
                        None => Diagnostic::error(
                            &b.span,
                            format!("named backend {} is not declared", r.name),
                        ),
                    }
                })?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn absolute_urls() {
        use super::url_path;
        assert_eq!(url_path("https://xyzzy.com"), Some(""));
        assert_eq!(url_path("http://$0(1)/$2/$1$3"), Some("/$2/$1$3"));
        assert_eq!(url_path("HTTP://%[header host]/x"), Some("/x"));
        assert_eq!(url_path("http://h/"), Some("/"));
        assert_eq!(url_path("/relative"), None);
        assert_eq!(url_path("https://"), None);
        assert_eq!(url_path("ftp://x"), None);
    }
}
