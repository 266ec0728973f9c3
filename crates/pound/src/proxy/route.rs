//! Choosing the service for a request and applying the rules: the request in origin form,
//! the services' conditions in order, the listener's and service's modifications, the
//! built-in headers, the head sent to the backend, and the backend itself.

use std::sync::Arc;

use super::downstream::Downstream;
use super::{headers, Exchange, Outcome};
use crate::backend::{Backend, Conn};
use crate::logmsg;
use crate::rules::{self, Cx, EvalError};
use crate::state::{Service, Special};

impl<C: Downstream> Exchange<C> {
    pub(super) async fn handle(&mut self) -> Outcome {
        let max_uri = self.listener.max_uri as usize;
        if max_uri > 0 && self.req.target().len() > max_uri {
            logmsg!(
                Notice,
                "{}e414: {}: \"{}\": URI too long: {} bytes",
                self.tag,
                self.peer.ip,
                self.request_text(),
                self.req.target().len()
            );
            return self.error(414).await;
        }
        self.origin_form();
        if let Some(m) = &self.listener.check_url {
            if !m.is_match(self.req.target()) {
                logmsg!(
                    Notice,
                    "{}e501: {}: \"{}\": bad URL \"{}\"",
                    self.tag,
                    self.peer.ip,
                    self.request_text(),
                    String::from_utf8_lossy(self.req.target())
                );
                return self.error(501).await;
            }
        }
        let listener = self.listener.clone();
        self.matches.clear();
        // For `%[remoteip 0]` and `%[remoteip 1]`: the client, and the originator behind
        // the listener's trusted proxies (the client itself without `TrustedIP`).
        let client = self.peer.addr;
        let forwarded = listener
            .trusted_ip
            .as_deref()
            .filter(|_| listener.originator)
            .and_then(|acl| {
                crate::log::origin::originator(
                    client,
                    &self.req.head,
                    &listener.forwarded_header,
                    acl,
                )
            });
        let client = client.map(|ip| ip.to_canonical());
        self.matches.origin = [client, forwarded.map(|ip| ip.to_canonical()).or(client)];
        self.matches.peer_cert = self.peer.tls.as_ref().and_then(|t| t.der.clone());
        let mut chosen = None;
        for s in &listener.services {
            // Expansions see the constants of the service being tried, and then of the one
            // chosen (pound 4.23: listener modifications too).
            if s.consts.is_some() || self.matches.consts.is_some() {
                self.matches.consts = s.consts.clone();
            }
            let mut cx = Cx {
                req: &self.req,
                headers: &self.req.head,
                client: self.peer.addr,
                matches: &mut self.matches,
                capture: listener.capture,
            };
            match s.matches(&mut cx) {
                Ok(true) => {
                    chosen = Some(s);
                    break;
                }
                Ok(false) => {}
                // An error is never taken for "no match": the next service could answer
                // what this one was meant to.
                Err(e) => {
                    logmsg!(Warning, "{}", e.0);
                    return self.unavailable(500).await;
                }
            }
        }
        let Some(service) = chosen else {
            return self.unavailable(503).await;
        };
        // A service's own `TrustedIP` or `ForwardedHeader` is the most specific for
        // `%[remoteip 1]` in its modifications and redirects.
        if listener.originator
            && (service.trusted_ip.is_some() || service.forwarded_header.is_some())
        {
            let acl = service
                .trusted_ip
                .as_deref()
                .or(listener.trusted_ip.as_deref());
            let header = service
                .forwarded_header
                .as_deref()
                .unwrap_or(&listener.forwarded_header);
            let client = self.matches.origin[0];
            let forwarded = acl.and_then(|acl| {
                crate::log::origin::originator(self.peer.addr, &self.req.head, header, acl)
            });
            self.matches.origin[1] = forwarded.map(|ip| ip.to_canonical()).or(client);
        }
        let mut outcome = match &service.special {
            None => self.forward(service).await,
            // Redirects mixed with regular backends (deprecated): drawn like backends.
            Some(special @ Special::Redirect(_)) if service.has_regular() => {
                if service.redirect_drawn() {
                    self.answer(service, special).await
                } else {
                    self.forward(service).await
                }
            }
            Some(special) => self.answer(service, special).await,
        };
        outcome.service = Some(service.clone());
        outcome
    }

    /// An absolute-form target names the host itself, and that wins over `Host` (RFC 9112,
    /// 3.2.2). The request is put in origin form with that `Host` before anything looks at
    /// it, so that conditions, modifications and the backend all see the same host and path.
    pub(super) fn origin_form(&mut self) {
        let parts = rules::target::split(self.req.target());
        if parts.origin.is_empty() {
            return;
        }
        let authority = parts.authority().to_vec();
        // The origin ends at the first `/` or `?`, so the path is empty or starts with `/`.
        let path: &[u8] = if parts.path.is_empty() {
            b"/"
        } else {
            parts.path
        };
        let mut target = Vec::new();
        rules::target::join(b"", path, parts.query, &mut target);
        match self.req.head.position("host") {
            Some(i) => self.req.head.set_value(i, &authority),
            None => self.req.head.push("Host", &authority),
        }
        self.req.set_target(&target);
    }

    /// No service takes the request (503), or choosing one failed (500; the reason was
    /// logged): pound's message and page.
    pub(super) async fn unavailable(&mut self, status: u16) -> Outcome {
        self.failed(status, "no suitable service found").await
    }

    /// pound's message for an error it answers itself, `(id) eNNN: CLIENT: "REQUEST":
    /// WHY`, and the page.
    pub(super) async fn failed(&mut self, status: u16, why: &str) -> Outcome {
        logmsg!(
            Notice,
            "{}e{status}: {}: \"{}\": {why}",
            self.tag,
            self.peer.ip,
            self.request_text(),
        );
        self.error(status).await
    }

    /// A failed expansion or evaluation: logged in pound's words (the expression and what
    /// is wrong with it), answered with 500.
    pub(super) async fn eval_failed(&mut self, e: &EvalError) -> Outcome {
        logmsg!(Warning, "{}", e.0);
        let f = super::Failure::evaluation();
        let status = match f.then {
            super::failure::Then::Answer(s) => s,
            _ => 500,
        };
        let mut o = self.error(status).await;
        o.failure = Some(f);
        o
    }

    /// Applies the service's, then the listener's `Rewrite response` blocks to `head`, or
    /// to the backend's response head when `head` is `None`.
    pub(super) fn modify_response(
        &mut self,
        service: &Service,
        head: Option<&mut crate::http::head::Head>,
    ) -> Result<(), EvalError> {
        let listener = &self.listener;
        if service.response.is_empty() && listener.response.is_empty() {
            return Ok(());
        }
        let head = match head {
            Some(h) => h,
            None => &mut self.resp.head,
        };
        for blocks in [&service.response, &listener.response] {
            rules::apply_response(
                blocks,
                &self.req,
                head,
                self.peer.addr,
                &mut self.matches,
                listener.capture,
            )?;
        }
        Ok(())
    }

    /// Applies the listener's, then the service's request modifications.
    pub(super) fn modify_request(&mut self, service: &Service) -> Result<(), EvalError> {
        let listener = &self.listener;
        for actions in [&listener.request, &service.request] {
            rules::apply(
                actions,
                &mut self.req,
                self.peer.addr,
                &mut self.matches,
                listener.capture,
            )?;
        }
        Ok(())
    }

    /// Adds the built-in forwarded headers (pound.8, BUILT-IN HEADERS).
    pub(super) fn add_forwarded(&mut self) {
        let req = &mut self.req;
        if self.listener.header_options.forwarded {
            if !self.peer.unix {
                let ip = self.peer.ip.as_bytes();
                headers::merge_forwarded_for(&mut req.head, ip);
            }
            // Only pound's own values reach the backend.
            req.head.remove("X-Forwarded-Proto");
            req.head
                .push("X-Forwarded-Proto", self.peer.scheme().as_bytes());
            req.head.remove("X-Forwarded-Port");
            if !self.peer.unix {
                let port = self.peer.port_text.as_bytes();
                req.head.push("X-Forwarded-Port", port);
            }
        }
        if self.listener.header_options.ssl {
            headers::add_ssl_headers(&mut req.head, self.peer.tls.as_deref());
        }
    }

    /// Writes the head to send to the backend into `self.out`. The target is in origin form
    /// by now ([`Connection::origin_form`]).
    pub(super) fn backend_head(&mut self) {
        let req = &self.req;
        let out = &mut self.out;
        out.clear();
        out.extend_from_slice(req.method());
        out.push(b' ');
        out.extend_from_slice(req.target());
        out.push(b' ');
        out.extend_from_slice(req.version.as_str().as_bytes());
        out.extend_from_slice(b"\r\n");
        for i in 0..req.head.fields.len() {
            let name = req.head.name(i);
            let keep_upgrade = req.upgrade && name.eq_ignore_ascii_case(b"upgrade");
            // `Expect: 100-continue` is pound's to answer (or, in HTTP/1.0 and without a
            // body, meaningless): it never reaches the backend, as in pound.
            let expect_continue = name.eq_ignore_ascii_case(b"expect")
                && crate::http::trim(req.head.value(i)).eq_ignore_ascii_case(b"100-continue");
            if (req.is_hop_by_hop(i) && !keep_upgrade) || expect_continue {
                continue;
            }
            req.head.write_field(i, out);
        }
        if req.upgrade {
            out.extend_from_slice(b"Connection: upgrade\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }

    /// Chooses a backend not in `tried` and connects to it (or takes a pooled connection).
    /// A backend that refuses is marked dead, and one whose TLS handshake fails is passed
    /// over; either way the next one is tried (pound.8, HIGH-AVAILABILITY).
    pub(super) async fn connect(
        &self,
        service: &Service,
        tried: &mut Vec<usize>,
    ) -> Option<(usize, Arc<Backend>, Conn)> {
        let key = match &service.sessions {
            Some(s) => s.key(&self.req, &self.peer.ip),
            None => None,
        };
        loop {
            let (i, member) = service.pick(key.as_deref(), tried)?;
            let backend = member.backend.clone();
            let sni = backend.sni(self.req.head.get("host"));
            if let Some(c) = backend.pooled(&sni) {
                return Some((i, backend, c));
            }
            match backend.connect(sni).await {
                Ok(c) => return Some((i, backend, c)),
                Err(e) => {
                    let request = self.request_text();
                    backend.connect_failed(self.tag, &self.peer.ip, &request, e)
                }
            }
            tried.push(i);
        }
    }
}
