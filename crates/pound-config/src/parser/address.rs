//! `Address` and `Port`, shared by listeners, backends and emergency backends.
//!
//! Rules (pound 4.14 and later, as pound 4.23 applies them): `Address` is an IP literal, a
//! host name or the full path name of a UNIX socket; `Port` is a number or a service name.
//! Both may come in any order and be repeated (the last one counts). A listener without
//! `Address` listens on every interface, and without `Port` on 80 (`ListenHTTP`) or 443
//! (`ListenHTTPS`); a backend needs `Address`, and without `Port` connects to 80, or 443
//! with `HTTPS`. An address is taken as a UNIX socket path when it starts with `/`; host
//! names are resolved when pound starts (unless `-W no-dns`), not while checking the
//! configuration.

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
    /// Whether `Address` was given (a later `SocketFrom` is then a duplicate).
    pub(super) fn has_address(&self) -> bool {
        self.address.is_some()
    }

    fn is_unix(t: &Token) -> bool {
        t.text.starts_with('/')
    }

    pub(super) fn address(&mut self, p: &mut Parser<'_>) -> PResult<()> {
        let t = p.address()?;
        p.end_of_line()?;
        self.address = Some(t);
        Ok(())
    }

    /// `Port`: any port number a listener or backend may name (pound checks none).
    pub(super) fn port(&mut self, p: &mut Parser<'_>, listener: bool) -> PResult<()> {
        let port = p.port(listener)?;
        p.end_of_line()?;
        self.port = Some(port);
        Ok(())
    }

    /// The endpoint once the section is complete. `what` names the section in messages;
    /// `default_port` is used without `Port`; a listener (`listener` true) without
    /// `Address` listens on every interface.
    pub(super) fn finish(
        self,
        what: &str,
        section: &Span,
        default_port: u16,
        listener: bool,
    ) -> PResult<Endpoint> {
        let host = match self.address {
            Some(address) => address,
            None if listener => {
                return Ok(Endpoint::Inet {
                    host: "::".to_string(),
                    port: self.port.map_or(default_port, |p| p.0),
                })
            }
            None => {
                return Err(Diagnostic::error(
                    section,
                    format!("{what} missing Address declaration"),
                ))
            }
        };
        if Self::is_unix(&host) {
            if self.port.is_some() {
                return Err(Diagnostic::error(
                    section,
                    "Port is not applicable to this address family",
                ));
            }
            // The size of `sun_path`, with its terminating NUL.
            if host.text.len() >= 108 {
                return Err(Diagnostic::error(section, "UNIX path name too long"));
            }
            return Ok(Endpoint::Unix(PathBuf::from(host.text)));
        }
        Ok(Endpoint::Inet {
            host: host.text,
            port: self.port.map_or(default_port, |p| p.0),
        })
    }
}
