//! `Address` and `Port`, shared by listeners, backends and emergency backends.
//!
//! Rules (pound.8, HTTP Listener and Backend): `Address` is an IP literal, a host name or the
//! full path name of a UNIX socket; `Port` (a number or service name) must follow `Address`,
//! is required for network addresses and is meaningless for a UNIX socket. An address is
//! taken as a UNIX socket path when it starts with `/`; host names are resolved when pound
//! starts (unless `-W no-dns`), not while checking the configuration.

use std::path::PathBuf;

use super::{PResult, Parser};
use crate::diag::{Diagnostic, Span};
use crate::lexer::Token;

/// What `Address`/`Port` resolved to.
pub(super) enum Endpoint {
    Inet { host: String, port: u16 },
    Unix(PathBuf),
}

/// `Address` and `Port` as they are read, checked for order and duplicates.
#[derive(Default)]
pub(super) struct AddressPort {
    address: Option<Token>,
    port: Option<(u16, Span)>,
}

impl AddressPort {
    pub(super) fn is_set(&self) -> bool {
        self.address.is_some() || self.port.is_some()
    }

    fn is_unix(t: &Token) -> bool {
        t.text.starts_with('/')
    }

    pub(super) fn address(&mut self, p: &mut Parser<'_>, kw: &Token) -> PResult<()> {
        if self.address.is_some() {
            return Err(Diagnostic::error(&kw.span, "Duplicate Address statement"));
        }
        let t = p.address()?;
        p.end_of_line()?;
        self.address = Some(t);
        Ok(())
    }

    /// `Port`; `min` is 0 for listeners (an ephemeral port) and 1 for backends.
    pub(super) fn port(&mut self, p: &mut Parser<'_>, kw: &Token, min: u16) -> PResult<()> {
        let Some(address) = &self.address else {
            return Err(Diagnostic::error(
                &kw.span,
                "Address statement should precede Port",
            ));
        };
        if self.port.is_some() {
            return Err(Diagnostic::error(&kw.span, "Duplicate port statement"));
        }
        let unix = Self::is_unix(address);
        let port = p.port(min)?;
        if unix {
            return Err(Diagnostic::error(
                &port.1,
                "Port is not applicable to this address family",
            ));
        }
        p.end_of_line()?;
        self.port = Some(port);
        Ok(())
    }

    /// The endpoint once the section is complete; `what` names the section in messages.
    pub(super) fn finish(self, what: &str, section: &Span) -> PResult<Endpoint> {
        let Some(address) = self.address else {
            return Err(Diagnostic::error(
                section,
                format!("{what} missing Address declaration"),
            ));
        };
        if Self::is_unix(&address) {
            return Ok(Endpoint::Unix(PathBuf::from(address.text)));
        }
        match self.port {
            Some((port, _)) => Ok(Endpoint::Inet {
                host: address.text,
                port,
            }),
            None => Err(Diagnostic::error(
                section,
                format!("{what} missing Port declaration"),
            )),
        }
    }
}
