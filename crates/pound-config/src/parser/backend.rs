//! `Backend`, `Emergency` and `Session` sections, and global named backends (pound.8,
//! Backend, Global and per-service backends, Emergency, Session).

use super::address::{AddressPort, Endpoint};
use super::service::ServiceDefaults;
use super::{BlockEnd, PResult, Parser};
use crate::diag::{Diagnostic, Span};
use crate::lexer::Token;
use crate::model::backend::BackendAddr;
use crate::model::dns::{Dynamic, Family, ResolveMode};
use crate::model::{
    Backend, BackendKind, BackendTls, NamedBackend, NamedRef, RegularBackend, Session, SessionType,
};

/// Statements of a `Backend` section; since pound 4.14 an `Emergency` section takes them
/// all.
const BACKEND: &[&str] = &[
    "Priority",
    "Disabled",
    "Address",
    "Port",
    "HTTPS",
    "Cert",
    "Disable",
    "Ciphers",
    "TimeOut",
    "ConnTO",
    "WSTimeOut",
    "ServerName",
    // Dynamic backends (pound 4.14).
    "Resolve",
    "Family",
    "IgnoreSRVWeight",
    "OverrideTTL",
    "RetryInterval",
];

/// Statements of a `Tunnel`'s `Backend` (pound 4.23).
pub(super) const TUNNEL_BACKEND: &[&str] = &["Address", "Port", "TimeOut", "ConnTO", "Disabled"];

impl Parser<'_> {
    /// The body of `Backend` or `Emergency`, after its keyword (and name). `opener` is where
    /// an unterminated section is reported.
    pub(super) fn regular_backend(
        &mut self,
        kw: &Token,
        opener: &Span,
        d: &ServiceDefaults,
    ) -> PResult<(RegularBackend, Span)> {
        self.backend_with(kw, opener, d, BACKEND)
    }

    /// [`Parser::regular_backend`] with the statements of `table` only.
    pub(super) fn backend_with(
        &mut self,
        kw: &Token,
        opener: &Span,
        d: &ServiceDefaults,
        table: &[&'static str],
    ) -> PResult<(RegularBackend, Span)> {
        let mut addr = AddressPort::default();
        let mut b = RegularBackend {
            address: BackendAddr::Unix(Default::default()),
            priority: 5,
            disabled: false,
            timeout: d.timeout,
            conn_to: d.conn_to,
            ws_timeout: d.ws_timeout,
            tls: None,
            server_name: None,
            dynamic: Dynamic::default(),
        };
        let mut clamped = false;
        let end = self.block(&[table], BlockEnd::End, opener, &mut |p, kw, t| {
            if matches!(kw, "Cert" | "Disable" | "Ciphers") && b.tls.is_none() {
                return Err(Diagnostic::error(
                    &t.span,
                    "HTTPS must be used before this statement",
                ));
            }
            match kw {
                "Address" => addr.address(p)?,
                "Port" => addr.port(p, false)?,
                "HTTPS" => {
                    p.end_of_line()?;
                    b.tls.get_or_insert_with(BackendTls::default);
                }
                "Cert" => tls(&mut b).cert = Some(p.file_arg()?.value),
                "Disable" => tls(&mut b).disable = Some(p.tls_protocol()?),
                "Ciphers" => {
                    let t = tls(&mut b);
                    p.ciphers(&mut t.ciphers, &mut t.ciphersuites)?
                }
                "Priority" => {
                    let (priority, cut) = p.priority_arg()?;
                    b.priority = priority;
                    clamped |= cut;
                }
                "TimeOut" => b.timeout = p.u32_arg()?,
                "ConnTO" => b.conn_to = p.u32_arg()?,
                "WSTimeOut" => b.ws_timeout = p.u32_arg()?,
                "ServerName" => b.server_name = Some(p.string_arg()?.value),
                "Disabled" => b.disabled = p.bool_arg()?,
                "Resolve" => {
                    b.dynamic.resolve = p.exact_choice(
                        &[
                            ("immediate", ResolveMode::Immediate),
                            ("first", ResolveMode::First),
                            ("all", ResolveMode::All),
                            ("srv", ResolveMode::Srv),
                        ],
                        "unrecognized backend resolve mode",
                    )?;
                    p.end_of_line()?;
                    // The static lookup of old is implemented; the others wait for the
                    // runtime of dynamic backends (`support.rs` names them).
                    if b.dynamic.resolve == ResolveMode::Immediate {
                        p.rename_statement("Resolve immediate");
                    }
                }
                "Family" => {
                    b.dynamic.family = p.exact_choice(
                        &[
                            ("any", Family::Any),
                            ("inet", Family::Inet),
                            ("inet6", Family::Inet6),
                            ("unix", Family::Unix),
                        ],
                        "unrecognized address family name",
                    )?;
                    p.end_of_line()?;
                }
                "IgnoreSRVWeight" => b.dynamic.ignore_srv_weight = p.bool_arg()?,
                // 0 leaves them unset, as in pound.
                "OverrideTTL" => b.dynamic.override_ttl = Some(p.u32_arg()?).filter(|&n| n > 0),
                "RetryInterval" => b.dynamic.retry_interval = Some(p.u32_arg()?).filter(|&n| n > 0),
                _ => unreachable!("keyword {kw} listed but not handled"),
            }
            Ok(())
        })?;
        let span = kw.span.to(&end);
        if clamped {
            p_warn_priority(self, &span);
        }
        // pound says "Backend" for emergency backends too.
        let default_port = if b.tls.is_some() { 443 } else { 80 };
        b.address = match addr.finish("Backend", &span, default_port, false)? {
            Endpoint::Inet { host, port } => BackendAddr::Inet { host, port },
            Endpoint::Unix(path) => BackendAddr::Unix(path),
        };
        Ok((b, span))
    }

    /// `Backend "name" [Priority N] [Disabled B] End` inside a service.
    pub(super) fn backend_override(&mut self, kw: Token) -> PResult<Backend> {
        let name = self.string()?;
        let mut priority = None;
        let mut disabled = None;
        let mut clamped = false;
        let end = self.block(
            &[&["Priority", "Disabled"]],
            BlockEnd::End,
            &name.span,
            &mut |p, kw, _| {
                if kw == "Priority" {
                    let (value, cut) = p.priority_arg()?;
                    priority = Some(value);
                    clamped |= cut;
                } else {
                    disabled = Some(p.bool_arg()?);
                }
                Ok(())
            },
        )?;
        let span = kw.span.to(&end);
        if clamped {
            p_warn_priority(self, &span);
        }
        Ok(Backend {
            span,
            kind: BackendKind::Named(NamedRef {
                name: name.text,
                index: usize::MAX,
                priority,
                disabled,
            }),
        })
    }

    /// A global `Backend "name" ... End`.
    pub(super) fn named_backend(&mut self, kw: Token) -> PResult<()> {
        let name = self.string()?;
        let defaults = ServiceDefaults::global(&self.global);
        let (backend, span) = match self.regular_backend(&kw, &name.span, &defaults) {
            Ok(b) => b,
            Err(e) if e.message == "Backend missing Address declaration" => {
                self.unusable_backends.push((name.text, e));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if let Some(original) = self.backends.iter().find(|b| b.name == name.text) {
            let original = original.span.clone();
            self.diags.push(Diagnostic::error(
                &span,
                format!("redefinition of named backend {}", name.text),
            ));
            return Err(Diagnostic::error(&original, "original definition was here"));
        }
        self.backends.push(NamedBackend {
            span,
            name: name.text,
            backend,
        });
        Ok(())
    }

    /// The body of `Session`, after its first line.
    pub(super) fn session(&mut self, kw: &Token) -> PResult<Session> {
        let mut kind = None;
        let mut ttl = None;
        let mut id: Option<Token> = None;
        let end = self.block(
            &[&["Type", "TTL", "ID"]],
            BlockEnd::End,
            &kw.span,
            &mut |p, kw, _| {
                match kw {
                    "Type" => {
                        kind = Some(p.choice(SessionType::NAMES, "Unknown Session type")?);
                        p.end_of_line()?;
                    }
                    "TTL" => ttl = Some(p.u32_arg()?),
                    _ => {
                        let t = p.string()?;
                        p.end_of_line()?;
                        id = Some(t);
                    }
                }
                Ok(())
            },
        )?;
        let span = kw.span.to(&end);
        let Some(kind) = kind else {
            return Err(Diagnostic::error(&span, "Session type not defined"));
        };
        // pound takes `TTL 0` for no TTL at all.
        let Some(ttl) = ttl.filter(|t| *t != 0) else {
            return Err(Diagnostic::error(&span, "Session TTL not defined"));
        };
        if id.is_none() && kind.needs_id() {
            // pound reports it at the section's `End`.
            return Err(Diagnostic::error(&end, "Session ID not defined"));
        }
        // pound ignores an `ID` the type has no use for.
        let id = id.filter(|_| kind.needs_id());
        Ok(Session {
            span,
            kind,
            ttl,
            id: id.map(|t| t.text),
        })
    }
}

/// pound's warning for a priority above 65535, over the whole backend.
fn p_warn_priority(p: &mut Parser<'_>, span: &Span) {
    p.diags.push(Diagnostic::notice(
        span,
        "backend priority out of allowed range; reset to max. 65535",
    ));
}

fn tls(b: &mut RegularBackend) -> &mut BackendTls {
    b.tls.get_or_insert_with(BackendTls::default)
}
