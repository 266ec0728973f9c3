//! `Backend`, `Emergency` and `Session` sections, and global named backends (pound.8,
//! Backend, Global and per-service backends, Emergency, Session).

use super::address::{AddressPort, Endpoint};
use super::service::ServiceDefaults;
use super::{BlockEnd, PResult, Parser};
use crate::diag::{Diagnostic, Span};
use crate::lexer::Token;
use crate::model::backend::BackendAddr;
use crate::model::{
    Backend, BackendKind, BackendTls, NamedBackend, NamedRef, RegularBackend, Session, SessionType,
};

/// Statements only a regular backend has; an emergency backend has the rest.
const BACKEND_ONLY: &[&str] = &["Priority", "Disabled"];

const EMERGENCY: &[&str] = &[
    "Address",
    "Port",
    "HTTPS",
    "Cert",
    "Disable",
    "Ciphers",
    "TimeOut",
    "ConnTO",
    "WSTimeOut",
];

impl Parser<'_> {
    /// The body of `Backend` (or `Emergency` when `emergency`), after its first line.
    pub(super) fn regular_backend(
        &mut self,
        kw: &Token,
        emergency: bool,
        d: &ServiceDefaults,
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
        };
        let tables: &[&[&'static str]] = if emergency {
            &[EMERGENCY]
        } else {
            &[EMERGENCY, BACKEND_ONLY]
        };
        let end = self.block(tables, BlockEnd::End, &kw.span, &mut |p, kw, t| {
            if matches!(kw, "Cert" | "Disable" | "Ciphers") && b.tls.is_none() {
                return Err(Diagnostic::error(
                    &t.span,
                    "HTTPS must be used before this statement",
                ));
            }
            match kw {
                "Address" => addr.address(p, &t)?,
                "Port" => addr.port(p, &t, 1)?,
                "HTTPS" => {
                    p.end_of_line()?;
                    b.tls.get_or_insert_with(BackendTls::default);
                }
                "Cert" => tls(&mut b).cert = Some(p.file_arg()?.value),
                "Disable" => tls(&mut b).disable = Some(p.tls_protocol()?),
                "Ciphers" => tls(&mut b).ciphers = Some(p.string_arg()?.value),
                "Priority" => b.priority = p.number_arg(0, 9)? as u8,
                "TimeOut" => b.timeout = p.u32_arg()?,
                "ConnTO" => b.conn_to = p.u32_arg()?,
                "WSTimeOut" => b.ws_timeout = p.u32_arg()?,
                "Disabled" => b.disabled = p.bool_arg()?,
                _ => unreachable!("keyword {kw} listed but not handled"),
            }
            Ok(())
        })?;
        let span = kw.span.to(&end);
        let what = if emergency { "Emergency" } else { "Backend" };
        b.address = match addr.finish(what, &span)? {
            Endpoint::Inet { host, port } => BackendAddr::Inet { host, port },
            Endpoint::Unix(path) => BackendAddr::Unix(path),
        };
        Ok((b, span))
    }

    /// `Backend "name" [Priority N] [Disabled B] End` inside a service.
    pub(super) fn backend_override(&mut self, kw: Token) -> PResult<Backend> {
        let name = self.string()?;
        self.end_of_line()?;
        let mut priority = None;
        let mut disabled = None;
        let end = self.block(
            &[&["Priority", "Disabled"]],
            BlockEnd::End,
            &kw.span.to(&name.span),
            &mut |p, kw, _| {
                if kw == "Priority" {
                    priority = Some(p.number_arg(0, 9)? as u8);
                } else {
                    disabled = Some(p.bool_arg()?);
                }
                Ok(())
            },
        )?;
        Ok(Backend {
            span: kw.span.to(&end),
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
        self.end_of_line()?;
        let defaults = ServiceDefaults::global(&self.global);
        let (backend, span) = self.regular_backend(&kw, false, &defaults)?;
        if let Some(original) = self.backends.iter().find(|b| b.name == name.text) {
            let original = original.span.clone();
            self.diags.push(Diagnostic::error(
                &name.span,
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
        let Some(ttl) = ttl else {
            return Err(Diagnostic::error(&span, "Session TTL not defined"));
        };
        match (&id, kind.needs_id()) {
            (None, true) => return Err(Diagnostic::error(&span, "Session ID not defined")),
            (Some(t), false) => {
                return Err(Diagnostic::error(
                    &t.span,
                    "Session ID is not applicable to this session type",
                ))
            }
            _ => {}
        }
        Ok(Session {
            span,
            kind,
            ttl,
            id: id.map(|t| t.text),
        })
    }
}

fn tls(b: &mut RegularBackend) -> &mut BackendTls {
    b.tls.get_or_insert_with(BackendTls::default)
}
