//! The exchange with a backend: connecting (or taking a pooled connection), sending the
//! request, reading the response head (interim responses passed on), modifying it and
//! having the client side relay it; a stale pooled connection is retried, a backend that
//! cannot be reached passes the request to the next one (pound.8, HIGH-AVAILABILITY).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::downstream::{Cut, Downstream, Respond};
use super::failure::{Failure, HeadError, Party, Then};
use super::{Exchange, Outcome};
use crate::backend::{Address, Backend, Conn};
use crate::http::request;
use crate::http::response::{self, Response};
use crate::http::{combine, location, BodyKind};
use crate::io::{timed, write_flush, InBuf};
use crate::logmsg;
use crate::relay::{self, RelayError};
use crate::state::Service;

/// Largest backend response head.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;
/// Interim (1xx) responses a backend may send before its final one; beyond, the exchange
/// fails rather than relaying an endless stream of them.
const MAX_INTERIM: usize = 32;
const BACKEND_BUF: usize = 64 * 1024;

/// pound's words for a backend that closed or went silent before its response head.
const EOF_FROM_BACKEND: &str = "eof from backend";

/// pound's words for a response head it cannot use.
const MALFORMED_RESPONSE: &str = "malformed response";

/// How an exchange with a backend ended.
enum Exchanged {
    /// The request was answered (or failed for good); the flag says whether the backend
    /// connection may be pooled.
    Done(Outcome, bool),
    /// The backend could not be reached again after a stale pooled connection, before
    /// any of the request was consumed: another backend may take it.
    Untouched,
}

impl<C: Downstream> Exchange<C> {
    pub(super) async fn forward(&mut self, service: &Service) -> Outcome {
        // Built-in headers come first, so that modifications can trim them.
        self.add_forwarded();
        if let Err(e) = self.modify_request(service) {
            return self.eval_failed(&e).await;
        }
        let mut tried = Vec::new();
        let mut continued = false;
        loop {
            let Some((index, backend, mut conn)) = self.connect(service, &mut tried).await else {
                return self.failed(503, "no backend found").await;
            };
            if self.listener.rewrite_destination {
                self.rewrite_destination(&backend);
            }
            // `ServerName`: the backend gets its own `Host` (and logs show it, as pound's).
            if let Some(name) = &backend.server_name {
                match self.req.head.position("host") {
                    Some(i) => self.req.head.set_value(i, name.as_bytes()),
                    None => self.req.head.push("Host", name.as_bytes()),
                }
            }
            self.backend_head();
            if self.req.expect_continue && !continued {
                continued = true;
                if self
                    .client
                    .proceed(self.listener.client_timeout)
                    .await
                    .is_err()
                {
                    return Outcome::gone(Some(backend));
                }
            }
            let mut bin = crate::io::take_buffer(BACKEND_BUF, MAX_RESPONSE_HEAD + 1024);
            let exchanged = self
                .exchange(service, index, &backend, &mut conn, &mut bin)
                .await;
            let reusable = bin.is_empty();
            // The buffer goes back to this thread's cache rather than staying with a
            // connection that may now sit idle.
            crate::io::give_buffer(bin);
            match exchanged {
                Exchanged::Done(outcome, true) if reusable => {
                    backend.release(conn.stream, conn.sni);
                    return outcome;
                }
                Exchanged::Done(outcome, _) => return outcome,
                // Nothing of the request was consumed: another backend can take it.
                Exchanged::Untouched => tried.push(index),
            }
        }
    }

    /// Sends the request on `conn` and relays the response; retries once on a fresh
    /// connection when a pooled one turns out to be closed before any of the request could
    /// have reached the backend. `index` is the backend's place in the service.
    async fn exchange(
        &mut self,
        service: &Service,
        index: usize,
        backend: &Arc<Backend>,
        conn: &mut Conn,
        bin: &mut InBuf,
    ) -> Exchanged {
        let client_timeout = self.listener.client_timeout;
        let mut retried = false;
        loop {
            // Only an idempotent request may be sent a second time (RFC 9110, 9.2.2): the
            // backend may have acted on the first before closing.
            let retry = conn.reused && !retried && request::is_idempotent(self.req.method());
            let mut head: &[u8] = &self.out;
            let mut stale = false;
            if retry && self.req.body != BodyKind::Empty {
                // Send the head alone first: if that fails, no body byte was consumed.
                stale = timed(backend.timeout, write_flush(&mut conn.stream, head))
                    .await
                    .is_err();
                head = &[];
            }
            let sent = if stale {
                Err(RelayError::Write(std::io::ErrorKind::BrokenPipe.into()))
            } else {
                let body = relay::Body {
                    kind: self.req.body,
                    decode: false,
                    max: self.listener.limits.max_body,
                };
                self.client
                    .upload(
                        &mut head,
                        &mut conn.stream,
                        body,
                        client_timeout,
                        backend.timeout,
                        &mut self.pace,
                    )
                    .await
            };
            match sent {
                Ok(_) => match self.read_response_head(backend, conn, bin).await {
                    Ok(()) => {
                        let (o, reusable) = self
                            .relay_response(service, index, backend, conn, bin)
                            .await;
                        return Exchanged::Done(o, reusable);
                    }
                    Err(e) => {
                        let resendable = retry && self.req.body == BodyKind::Empty;
                        let f = Failure::response_head(&e, resendable);
                        // Otherwise the pooled connection had been closed by the backend:
                        // nothing was lost, the request goes again on a fresh one.
                        if !f.retry {
                            let o = match f.then {
                                Then::Drop => Outcome::gone(Some(backend.clone())),
                                Then::Answer(status) => {
                                    self.head_failed(backend, e, status, f).await
                                }
                                Then::Cut => self.head_failed(backend, e, 503, f).await,
                            };
                            return Exchanged::Done(o, false);
                        }
                    }
                },
                Err(RelayError::Write(_))
                    if retry && (stale || self.req.body == BodyKind::Empty) => {}
                Err(e) => {
                    return Exchanged::Done(self.request_body_failed(backend, e).await, false)
                }
            }
            retried = true;
            bin.consume(bin.data().len());
            match backend.connect(conn.sni.clone()).await {
                Ok(c) => *conn = c,
                Err(e) => {
                    let request = self.request_text();
                    backend.connect_failed(self.tag, &self.peer.ip, &request, e);
                    return Exchanged::Untouched;
                }
            }
        }
    }

    /// The backend gave no usable response head: pound's message and page.
    async fn head_failed(
        &mut self,
        backend: &Arc<Backend>,
        e: HeadError,
        status: u16,
        f: Failure,
    ) -> Outcome {
        let reason = match e {
            HeadError::Failed(r) => r,
            _ => EOF_FROM_BACKEND.into(),
        };
        // pound gives the time a malformed response took.
        let took = if reason == MALFORMED_RESPONSE {
            format!(" ({:.3} sec)", self.started.elapsed().as_secs_f64())
        } else {
            String::new()
        };
        self.backend_failed(backend, status, "<=", &format!("{reason}{took}"), f)
            .await
    }

    /// pound's message for an exchange with a backend that failed, `(id) eNNN: CLIENT ARROW
    /// BACKEND: "REQUEST": WHY` (`<=` about the response, `=>` about the request), and the
    /// page for `status`.
    async fn backend_failed(
        &mut self,
        backend: &Arc<Backend>,
        status: u16,
        arrow: &str,
        why: &str,
        f: Failure,
    ) -> Outcome {
        logmsg!(
            Notice,
            "{}e{status}: {} {arrow} {}: \"{}\": {why}",
            self.tag,
            self.peer.ip,
            backend.named.name,
            self.request_text()
        );
        let mut o = self.error(status).await;
        o.backend = Some(backend.clone());
        o.failure = Some(f);
        o
    }

    /// The request body could not be passed on; pound's messages: what went wrong, then
    /// `(id) eNNN: CLIENT => BACKEND: "REQUEST": WHY`.
    async fn request_body_failed(&mut self, backend: &Arc<Backend>, e: RelayError) -> Outcome {
        let f = Failure::request_body(&e);
        let why = match &e {
            // The client went away or stalled: nothing can be answered.
            RelayError::Read(err) => {
                logmsg!(
                    Notice,
                    "({:x}): {}: request dropped: {}",
                    self.tag.0,
                    self.peer.ip,
                    pound_config::env::describe_io_error(err)
                );
                return Outcome::gone(Some(backend.clone()));
            }
            RelayError::Write(err) => format!(
                "error copying the request body: {}",
                pound_config::env::describe_io_error(err)
            ),
            RelayError::Framing(chunk) => {
                logmsg!(Notice, "{}{}", self.tag, chunk.message());
                "error sending chunks".to_string()
            }
            RelayError::TooLarge => {
                logmsg!(Notice, "{}chunk content too large", self.tag);
                "error sending chunks".to_string()
            }
        };
        let status = match f.then {
            Then::Answer(s) => s,
            Then::Cut | Then::Drop => 500,
        };
        self.backend_failed(backend, status, "=>", &why, f).await
    }

    /// Reads the final response head into `self.resp`, passing interim responses on. The
    /// backend's `TimeOut` runs from the moment pound waits for the response to the final
    /// head: interim responses do not restart it.
    async fn read_response_head(
        &mut self,
        backend: &Backend,
        conn: &mut Conn,
        bin: &mut InBuf,
    ) -> Result<(), HeadError> {
        let mut received = false;
        let mut interim = 0;
        let deadline = Instant::now() + backend.timeout;
        loop {
            match response::parse(
                bin.data(),
                MAX_RESPONSE_HEAD,
                self.req.method(),
                &mut self.resp,
            ) {
                Ok(Some(n)) => {
                    bin.consume(n);
                    if !self.resp.is_interim() {
                        combine::combine(&mut self.resp.head, &self.listener.combine);
                        return Ok(());
                    }
                    interim += 1;
                    if interim > MAX_INTERIM {
                        return Err(HeadError::Failed("too many interim responses".into()));
                    }
                    // 100 Continue was answered by pound itself; other interim responses
                    // (103 Early Hints, ...) go to clients that can take them.
                    if self.resp.status != 100 {
                        self.client
                            .interim(
                                &self.req,
                                &self.resp,
                                &mut self.out,
                                self.listener.client_timeout,
                            )
                            .await
                            .map_err(|e| HeadError::Failed(e.to_string()))?;
                    }
                    continue;
                }
                Ok(None) => {}
                Err(_) => return Err(HeadError::Failed(MALFORMED_RESPONSE.into())),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let read = tokio::select! {
                r = timed(left, bin.fill(&mut conn.stream)) => r,
                () = self.client.gone() => return Err(HeadError::Gone),
            };
            match read {
                Ok(0) if !received && bin.is_empty() => return Err(HeadError::Closed),
                Ok(0) => return Err(HeadError::Failed(EOF_FROM_BACKEND.into())),
                Ok(_) => received = true,
                // A reset, or over TLS an end without close_notify: the backend closed the
                // connection before answering (a stale pooled connection).
                Err(e)
                    if !received
                        && matches!(
                            e.kind(),
                            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
                        ) =>
                {
                    return Err(HeadError::Closed)
                }
                // pound says the same of a backend that stays silent.
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    return Err(HeadError::Failed(EOF_FROM_BACKEND.into()))
                }
                Err(e) => return Err(HeadError::Failed(pound_config::env::describe_io_error(&e))),
            }
        }
    }

    /// Modifies the response head (`Rewrite response`, `RewriteLocation`) and has the client
    /// side relay it; the flag says whether the backend connection may serve again.
    async fn relay_response(
        &mut self,
        service: &Service,
        index: usize,
        backend: &Arc<Backend>,
        conn: &mut Conn,
        bin: &mut InBuf,
    ) -> (Outcome, bool) {
        // `RewriteErrors` (pound 4.17): an error status with an `ErrorFile` page gets that
        // page instead of the backend's answer, whose body is left unread (so the
        // connection does not serve again).
        let status = self.resp.status;
        if status >= 400
            && service
                .rewrite_errors
                .unwrap_or(self.listener.rewrite_errors)
            && self.listener.error_pages.contains_key(&status)
        {
            let mut o = self.error(status).await;
            o.backend = Some(backend.clone());
            return (o, false);
        }
        if let Err(e) = self.modify_response(service, None) {
            let mut o = self.eval_failed(&e).await;
            o.backend = Some(backend.clone());
            return (o, false);
        }
        service.note_response(&self.resp.head, index);
        let status = self.resp.status;
        let mut outcome = Outcome {
            status,
            response_line: None,
            bytes: 0,
            service: None,
            backend: Some(backend.clone()),
            special: None,
            keep: false,
            linger: false,
            failure: None,
            refused_line: None,
        };
        let switching = status == 101;
        if switching && !self.upgrade_agreed() {
            logmsg!(
                Notice,
                "{}e500: {} <= {}: \"{}\": 101 without an agreed upgrade",
                self.tag,
                self.peer.ip,
                backend.named.name,
                self.request_text()
            );
            return (self.error(500).await, false);
        }
        self.rewrite_location(backend).await;
        let stopping = *self.shutdown.borrow();
        let relayed = self
            .client
            .respond(Respond {
                req: &self.req,
                resp: &self.resp,
                bin,
                backend: &mut conn.stream,
                read: backend.timeout,
                tunnel: backend.ws_timeout,
                listener: &self.listener,
                upgrade: switching || self.resp.tunnel,
                stopping,
                pace: &mut self.pace,
                out: &mut self.out,
            })
            .await;
        match relayed {
            Ok(r) => {
                outcome.bytes = r.bytes;
                outcome.keep = r.keep;
                (outcome, r.reusable)
            }
            Err(Cut { error, head_sent }) => {
                let f = Failure::response_body(&error, head_sent);
                match &error {
                    _ if f.party == Party::Client => {}
                    other => logmsg!(
                        Notice,
                        "({:x}): {} <= {}: \"{}\": {} ({:.3} sec)",
                        self.tag.0,
                        self.peer.ip,
                        backend.named.name,
                        self.request_text(),
                        describe(other),
                        self.started.elapsed().as_secs_f64()
                    ),
                }
                if let Then::Answer(status) = f.then {
                    let mut o = self.error(status).await;
                    o.backend = Some(backend.clone());
                    o.failure = Some(f);
                    return (o, false);
                }
                outcome.failure = Some(f);
                (outcome, false)
            }
        }
    }

    /// `RewriteLocation`: a `Location` or `Content-Location` that names the backend (or
    /// pound's listener) is made to name what the client asked for (pound.8).
    async fn rewrite_location(&mut self, backend: &Backend) {
        if self.listener.rewrite_location == 0 {
            return;
        }
        let backend_addr = match &backend.address {
            Address::Inet(a) => Some(*a),
            Address::Unix(_) => None,
        };
        let name_is_backend = match backend_addr {
            Some(a) if self.listener.rewrite_location == 2 && self.listener.dns => {
                location_names_backend(&self.resp, a, backend.timeout).await
            }
            _ => false,
        };
        let cx = location::Context {
            mode: self.listener.rewrite_location,
            host: self.req.head.get("host").unwrap_or(b""),
            proto: self.peer.scheme(),
            backend: backend_addr,
            name_is_backend,
        };
        let head = &mut self.resp.head;
        for i in 0..head.fields.len() {
            let name = head.name(i);
            if !(name.eq_ignore_ascii_case(b"location")
                || name.eq_ignore_ascii_case(b"content-location"))
            {
                continue;
            }
            if let Some(v) = location::rewrite(head.value(i), &cx) {
                head.set_value(i, &v);
            }
        }
    }

    /// Whether a `101` answers this request's `Upgrade`: the request asked for an upgrade,
    /// and the response switches to one of the protocols it named.
    fn upgrade_agreed(&self) -> bool {
        let Some(offered) = self.req.head.get("upgrade") else {
            return false;
        };
        let Some(chosen) = self.resp.head.get("upgrade") else {
            return false;
        };
        self.req.upgrade
            && crate::http::tokens(chosen).all(|c| {
                crate::http::tokens(offered).any(|o| {
                    let name = |t: &[u8]| {
                        t.split(|&b| b == b'/')
                            .next()
                            .unwrap_or(t)
                            .to_ascii_lowercase()
                    };
                    name(o) == name(c)
                })
            })
    }
}

/// A relay failure in words, for the log.
fn describe(e: &RelayError) -> String {
    match e {
        // pound's words for a response cut short.
        RelayError::Read(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => {
            "unexpected end of input while sending backend response".to_string()
        }
        RelayError::Read(err) | RelayError::Write(err) => pound_config::env::describe_io_error(err),
        RelayError::Framing(f) => f.message().to_string(),
        RelayError::TooLarge => "body too large".to_string(),
    }
}

/// `RewriteLocation 2`: whether a `Location` or `Content-Location` of `resp` names the
/// backend at `addr` by a host name that resolves to it (as pound resolves it). Resolution
/// runs off the runtime's threads and is bounded by the backend's time-out; only redirects
/// naming a host at the backend's port pay for it.
async fn location_names_backend(
    resp: &Response,
    addr: std::net::SocketAddr,
    limit: Duration,
) -> bool {
    for i in 0..resp.head.fields.len() {
        let name = resp.head.name(i);
        if !(name.eq_ignore_ascii_case(b"location")
            || name.eq_ignore_ascii_case(b"content-location"))
        {
            continue;
        }
        let Some((host, port)) = location::named_host(resp.head.value(i)) else {
            continue;
        };
        if port != addr.port() {
            continue;
        }
        if let Ok(Ok(mut found)) =
            tokio::time::timeout(limit, tokio::net::lookup_host((host, port))).await
        {
            if found.any(|a| a.ip() == addr.ip()) {
                return true;
            }
        }
    }
    false
}
