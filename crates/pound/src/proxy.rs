//! One client connection: read requests, check them, pick a service and a backend, forward,
//! relay the response, log — until the client or the server ends the connection.
//!
//! Requests on a connection are handled one after the other, so pipelined requests are
//! answered in order: whatever follows a request in the client buffer simply waits there.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use crate::backend::{Address, Backend, Conn};
use crate::http::request::{self, Request};
use crate::http::response::{self, Response};
use crate::http::{combine, location, methods, BodyKind, Version};
use crate::io::{timed, write_flush, InBuf, Stream};
use crate::log::format::{Entry, Named};
use crate::log::{self, Priority};
use crate::logmsg;
use crate::pace::Pace;
use crate::relay::{self, RelayError};
use crate::reply;
use crate::rules::{self, Cx, EvalError, Matches};
use crate::state::{Listener, Service, Special};
use crate::tls::server::ClientTls;

mod special;

/// Largest backend response head.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;
/// Interim (1xx) responses a backend may send before its final one; beyond, the exchange
/// fails rather than relaying an endless stream of them.
const MAX_INTERIM: usize = 32;
const CLIENT_BUF: usize = 8 * 1024;
const BACKEND_BUF: usize = 64 * 1024;
/// How much of a request body must have arrived (or all of it, if less) before the request
/// takes a worker slot and a backend connection: a client that announces a body and then
/// trickles it holds neither.
const BODY_READY: usize = 8 * 1024;
/// How long, and how much, to read and discard after an error before closing.
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1 << 20;

/// Whether `data` holds the end of a request head, looking only at bytes after `scanned`
/// (and the three before, which may start the blank line).
fn head_complete(data: &[u8], scanned: usize) -> bool {
    let from = scanned.saturating_sub(3);
    let tail = &data[from..];
    tail.windows(2).any(|w| w == b"\n\n") || tail.windows(3).any(|w| w == b"\n\r\n")
}

/// The client's side of a connection, as logs and built-in headers show it.
#[derive(Clone)]
pub struct Peer {
    /// The client address without port (`%h`); `socket` for UNIX-socket clients.
    pub ip: String,
    /// The client address, for `ACL` conditions; `None` for UNIX-socket clients.
    pub addr: Option<std::net::IpAddr>,
    /// The listener address the client reached (`%A`).
    pub local_ip: Arc<str>,
    /// The listener port as text, made once per connection for `X-Forwarded-Port`.
    pub port_text: Arc<str>,
    /// The listener address the client reached, for `RewriteLocation`.
    pub local_addr: Option<std::net::SocketAddr>,
    pub unix: bool,
    /// Set for HTTPS clients: the facts `X-SSL-*` headers pass on.
    pub tls: Option<Arc<ClientTls>>,
    /// The request came as an HTTP/2 stream (see `h2`), which logs show as such.
    pub h2: bool,
    /// For HTTP/2 streams: the connection's places for streams waiting on the client.
    pub slow: Option<std::sync::Arc<crate::pace::SlowStreams>>,
}

impl Peer {
    fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

/// pound's words for a backend that closed or went silent before its response head.
const EOF_FROM_BACKEND: &str = "eof from backend";

/// pound's words for a response head it cannot use.
const MALFORMED_RESPONSE: &str = "malformed response";

/// How one request ended.
struct Outcome {
    status: u16,
    /// `%>s`: the backend's status line, or the status pound answered with itself.
    response_line: String,
    bytes: u64,
    service: Option<Arc<Service>>,
    backend: Option<Arc<Backend>>,
    /// What logs show as the backend when a special backend answered.
    special: Option<Named>,
    /// Whether the client connection can take another request.
    keep: bool,
    /// pound answered with an error: close gently, reading what the client still sends, so
    /// that the error page is not lost to a reset.
    linger: bool,
    /// The response was cut short: reset the connection so the client cannot take it for
    /// complete.
    abort: bool,
    /// The request was refused while its head was read: its request line as it came, for
    /// the log (the parsed request is not this one).
    refused_line: Option<String>,
}

impl Outcome {
    fn generated(status: u16) -> Outcome {
        Outcome {
            status,
            response_line: format!("{status} {}", crate::http::status::reason(status)),
            bytes: 0,
            service: None,
            backend: None,
            special: None,
            keep: false,
            linger: true,
            abort: false,
            refused_line: None,
        }
    }
}

/// The memory a request works in: the client read buffer, the request and response heads,
/// the output buffer and the match history. A connection takes a warm set when a request
/// starts arriving and gives it back to its thread when it goes idle, so that an idle
/// keep-alive connection holds none of it, and a busy one allocates nothing.
struct Warm {
    cin: Vec<u8>,
    req: Request,
    resp: Response,
    out: Vec<u8>,
    matches: Matches,
}

/// Warm sets kept per thread.
const WARM_KEPT: usize = 64;

thread_local! {
    static WARM: std::cell::RefCell<Vec<Warm>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Warm {
    fn new() -> Warm {
        Warm {
            cin: Vec::with_capacity(CLIENT_BUF),
            req: Request::default(),
            resp: Response::default(),
            out: Vec::with_capacity(1024),
            matches: Matches::default(),
        }
    }
}

/// How an exchange with a backend ended.
enum Exchanged {
    /// The request was answered (or failed for good); the flag says whether the backend
    /// connection may be pooled.
    Done(Outcome, bool),
    /// The backend could not be reached again after a stale pooled connection, before
    /// any of the request was consumed: another backend may take it.
    Untouched,
}

struct Connection {
    /// The current request's waits on the client, and its place among `WorkerMaxCount`
    /// (see `pace` and `workers`).
    pace: Pace,
    client: Stream,
    cin: InBuf,
    out: Vec<u8>,
    req: Request,
    resp: Response,
    peer: Arc<Peer>,
    listener: Arc<Listener>,
    shutdown: watch::Receiver<bool>,
    tag: Tag,
    /// Recent regex matches of the current request, for back-references.
    matches: Matches,
    /// No request has been read yet, and an HTTP/2 client with prior knowledge (h2c) may
    /// be let in on this plain listener.
    h2c: bool,
    /// An h2c connection preface arrived: the connection goes to the HTTP/2 server.
    preface: bool,
    /// When the current request was taken in, for the times pound gives in some messages.
    started: Instant,
}

/// A connection that turned out to speak HTTP/2 (h2c), with what was already read from it
/// and what the HTTP/2 server needs to go on with it.
pub struct Handoff {
    pub stream: Stream,
    pub buffered: Vec<u8>,
    pub peer: Arc<Peer>,
    pub listener: Arc<Listener>,
    pub shutdown: watch::Receiver<bool>,
}

pub use crate::log::Tag;

/// What an idle connection keeps: who it is with, and nothing to work with. While it waits
/// for its next request, its task holds only this and the wait (see [`Warm`]).
struct Idle {
    client: Stream,
    peer: Arc<Peer>,
    listener: Arc<Listener>,
    shutdown: watch::Receiver<bool>,
    tag: Tag,
    h2c: bool,
}

impl Idle {
    /// Waits until the client sends something; false when the connection is to end
    /// instead (`Client` passed, or pound is stopping).
    async fn wait(&mut self) -> bool {
        if *self.shutdown.borrow() {
            return false;
        }
        let ready = tokio::select! {
            r = timed(self.listener.client_timeout, self.client.ready_to_read()) => r,
            _ = self.shutdown.changed() => return false,
        };
        ready.is_ok()
    }
}

/// Whether a connection that answered its requests waits for more.
enum Next {
    Idle,
    Done,
}

/// Serves one client connection to the end.
pub async fn serve(
    client: Stream,
    peer: Arc<Peer>,
    listener: Arc<Listener>,
    shutdown: watch::Receiver<bool>,
    id: u64,
) -> Option<Handoff> {
    let h2c = listener.http2.is_some() && listener.tls.is_none() && !peer.h2;
    let mut idle = Idle {
        client,
        peer,
        listener,
        shutdown,
        tag: Tag(id),
        h2c,
    };
    loop {
        if !idle.wait().await {
            return None;
        }
        // The working state lives in this box while requests are being answered, and
        // goes back to the thread's cache when the connection is idle again.
        let (c, next) = Box::pin(async move {
            let mut c = Connection::wake(idle);
            let next = c.run().await;
            (c, next)
        })
        .await;
        match next {
            Next::Idle => idle = c.sleep(),
            Next::Done => return c.handoff(),
        }
    }
}

impl Connection {
    /// A connection about to read a request, with a warm set of buffers.
    fn wake(idle: Idle) -> Connection {
        let Idle {
            client,
            peer,
            listener,
            shutdown,
            tag,
            h2c,
        } = idle;
        let w = WARM
            .with(|c| c.borrow_mut().pop())
            .unwrap_or_else(Warm::new);
        let mut cin = InBuf::new(0, listener.limits.max_head + 1024);
        cin.give_storage(w.cin);
        let pace = Pace::new(listener.client_rate, peer.slow.clone());
        Connection {
            client,
            cin,
            out: w.out,
            req: w.req,
            resp: w.resp,
            matches: w.matches,
            peer,
            listener,
            shutdown,
            tag,
            h2c,
            preface: false,
            started: Instant::now(),
            pace,
        }
    }

    /// The connection goes idle: its buffers go back to the thread.
    fn sleep(mut self) -> Idle {
        let mut w = Warm {
            cin: self.cin.take_storage(),
            req: self.req,
            resp: self.resp,
            out: self.out,
            matches: self.matches,
        };
        // A head that made a buffer grow does not keep it large.
        w.cin.shrink_to(CLIENT_BUF);
        w.out.shrink_to(4096);
        for head in [&mut w.req.head, &mut w.resp.head] {
            head.buf.shrink_to(4096);
            head.fields.shrink_to(64);
        }
        WARM.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() < WARM_KEPT {
                c.push(w);
            }
        });
        Idle {
            client: self.client,
            peer: self.peer,
            listener: self.listener,
            shutdown: self.shutdown,
            tag: self.tag,
            h2c: self.h2c,
        }
    }

    /// What the HTTP/2 server needs when an h2c preface arrived.
    fn handoff(self) -> Option<Handoff> {
        self.preface.then(|| Handoff {
            buffered: self.cin.data().to_vec(),
            stream: self.client,
            peer: self.peer,
            listener: self.listener,
            shutdown: self.shutdown,
        })
    }

    /// Reads and answers requests while the client has sent them (pipelining); then the
    /// connection either waits idle for more or ends.
    async fn run(&mut self) -> Next {
        loop {
            let Some(n) = self.read_head().await else {
                return Next::Done;
            };
            if !self.request(n).await {
                return Next::Done;
            }
            if self.cin.is_empty() {
                return Next::Idle;
            }
        }
    }

    /// Answers the request whose head is the first `n` buffered bytes; whether the
    /// connection goes on.
    async fn request(&mut self, n: usize) -> bool {
        let start = SystemTime::now();
        let t0 = Instant::now();
        self.started = t0;
        self.cin.consume(n);
        self.pace.begin();
        let outcome = match self.admit().await {
            Ok(held) => {
                let o = Box::pin(self.handle()).await;
                drop(held);
                o
            }
            Err(o) => o,
        };
        self.pace.release();
        let elapsed = t0.elapsed();
        self.count(&outcome, elapsed);
        self.log_request(&outcome, start, elapsed);
        // While stopping, requests that already arrived are still answered.
        if !outcome.keep || (*self.shutdown.borrow() && self.cin.is_empty()) {
            if outcome.abort {
                self.client.reset_on_close();
            } else if outcome.linger {
                self.linger().await;
            }
            // Otherwise dropping the stream closes it, which sends the FIN.
            return false;
        }
        true
    }

    /// Takes the request in: within the client's `ClientMaxRequests`, once its body is ready
    /// to flow, and with a slot among the `WorkerMaxCount` requests in progress (waiting when
    /// all are taken; an upgraded connection gives it back when its tunnel starts). `Err` is
    /// the answer already given instead.
    async fn admit(&mut self) -> Result<Option<crate::clients::Held>, Outcome> {
        let held = match crate::clients::request(self.peer.addr, self.listener.max_requests) {
            Ok(h) => h,
            Err(crate::clients::OverLimit) => {
                logmsg!(
                    Notice,
                    "{}e429: {}: \"{}\": too many requests from this address",
                    self.tag,
                    self.peer.ip,
                    self.request_text()
                );
                return Err(self.error(429).await);
            }
        };
        self.body_ready().await?;
        self.pace.hold(crate::workers::admit().await);
        Ok(held)
    }

    /// Waits until [`BODY_READY`] bytes of the body (or all of it) are buffered, at the
    /// client's pace. A client that expects `100 Continue` is taken in at once.
    async fn body_ready(&mut self) -> Result<(), Outcome> {
        let want = match self.req.body {
            BodyKind::Length(n) => usize::try_from(n).unwrap_or(usize::MAX).min(BODY_READY),
            BodyKind::Chunked => BODY_READY,
            BodyKind::Empty | BodyKind::UntilClose => return Ok(()),
        };
        let chunked = self.req.body == BodyKind::Chunked;
        let max = self.listener.limits.max_body;
        let mut settle = crate::http::chunked::Settle::default();
        let mut ready = |data: &[u8]| data.len() >= want || (chunked && settle.settled(data, max));
        // A client that expects `100 Continue` sends its body only once it is told to,
        // which happens once a backend is ready (or never, when pound answers itself): it
        // is taken in at once, and its body is paced like any other.
        if self.req.expect_continue || ready(self.cin.data()) {
            return Ok(());
        }
        while !ready(self.cin.data()) {
            let timeout = self.listener.client_timeout;
            match self
                .pace
                .wait(timeout, self.cin.fill(&mut self.client))
                .await
            {
                Ok(0) => {
                    logmsg!(
                        Notice,
                        "({:x}): {}: request dropped: connection closed in the request body",
                        self.tag.0,
                        self.peer.ip
                    );
                    return Err(Outcome {
                        linger: false,
                        ..Outcome::generated(499)
                    });
                }
                Ok(_) => {}
                Err(e) => {
                    logmsg!(
                        Notice,
                        "{}e408: {}: \"{}\": {e}",
                        self.tag,
                        self.peer.ip,
                        self.request_text()
                    );
                    return Err(self.error(408).await);
                }
            }
        }
        Ok(())
    }

    /// Reads until a whole request head is buffered; `None` ends the connection (after
    /// answering a malformed request).
    ///
    /// The head is parsed only once its end (or a size limit) has arrived, so a head sent a
    /// byte at a time costs linear work; and it must arrive within `Client` of its first
    /// byte.
    async fn read_head(&mut self) -> Option<usize> {
        let limits = self.listener.limits;
        let timeout = self.listener.client_timeout;
        let mut scanned = 0;
        let mut deadline = None;
        loop {
            let data = self.cin.data();
            if !data.is_empty() && (head_complete(data, scanned) || data.len() > limits.max_line) {
                if self.h2c && data.starts_with(crate::http::PREFACE_LINE) {
                    self.preface = true;
                    return None;
                }
                self.h2c = false;
                match request::parse(data, &limits, &mut self.req) {
                    Ok(Some(n)) => {
                        combine::combine(&mut self.req.head, &self.listener.combine);
                        return Some(n);
                    }
                    Ok(None) => {}
                    Err(rej) => {
                        self.refuse(rej).await;
                        return None;
                    }
                }
            }
            scanned = data.len();
            let idle = self.cin.is_empty();
            // Nothing buffered: the client has just shown it is sending (see `Idle::wait`),
            // though readiness may also come early; a stop still ends the wait.
            let read = if idle {
                tokio::select! {
                    r = timed(timeout, self.cin.fill(&mut self.client)) => r,
                    _ = self.shutdown.changed() => return None,
                }
            } else {
                let end = *deadline.get_or_insert_with(|| Instant::now() + timeout);
                let limit = end.saturating_duration_since(Instant::now());
                timed(limit, self.cin.fill(&mut self.client)).await
            };
            match read {
                Ok(0) => return None,
                Ok(_) => {}
                // A connection that goes silent, idle or within a head, ends without a
                // word, as in pound.
                Err(_) => return None,
            }
        }
    }

    /// Answers a malformed request head, logs it as pound does (a message with pound's
    /// reason, and a request log line) and closes. pound answers these in HTTP/1.0.
    async fn refuse(&mut self, rej: request::Reject) {
        let start = SystemTime::now();
        let t0 = Instant::now();
        // pound logs no request line for a head whose line was too long.
        let line = match rej.status {
            413 if rej.reason == "header line too long" => String::new(),
            _ => refused_line(self.cin.data(), self.listener.limits.max_line),
        };
        // A body over `MaxRequest` is refused once the head was read whole: pound answers
        // in the request's version and says how large it was.
        if let ("request body too large", BodyKind::Length(n)) = (rej.reason, self.req.body) {
            logmsg!(
                Notice,
                "{}e413: {}: \"{line}\": request too large: {n} bytes",
                self.tag,
                self.peer.ip
            );
            let mut o = self.error(413).await;
            o.refused_line = Some(line);
            self.count(&o, t0.elapsed());
            self.log_request(&o, start, t0.elapsed());
            self.linger().await;
            return;
        }
        if rej.status != 414 && rej.reason != "header line too long" {
            logmsg!(
                Notice,
                "{}e{}: {}: \"{line}\": {}",
                self.tag,
                rej.status,
                self.peer.ip,
                pound_reason(&rej)
            );
        }
        let extra = match rej.status {
            405 => methods::allow_field(self.listener.limits.xhttp),
            _ => "",
        };
        // A head that parsed but frames its body wrongly is answered in the request's
        // version, as pound answers it; one that did not parse, in HTTP/1.0.
        let version = if is_framing(&rej) {
            self.req.version
        } else {
            Version::Http10
        };
        let mut o = self.send_error_with(version, rej.status, extra).await;
        o.refused_line = Some(line);
        self.count(&o, t0.elapsed());
        self.log_request(&o, start, t0.elapsed());
        self.linger().await;
    }

    /// Closes after an error response: stops writing, then reads and discards what the client
    /// is still sending for a little while, so that closing with unread data does not reset
    /// the connection before the client has read the response.
    async fn linger(&mut self) {
        let _ = self.client.shutdown().await;
        // What is left of the request is of no use any more: the client buffer takes what
        // arrives, and drops it.
        self.cin.consume(self.cin.data().len());
        let mut left = LINGER_BYTES;
        let until = Instant::now() + LINGER_TIME;
        while left > 0 {
            let limit = until.saturating_duration_since(Instant::now());
            match timed(limit, self.cin.fill(&mut self.client)).await {
                Ok(n) if n > 0 => {
                    left = left.saturating_sub(n);
                    self.cin.consume(n);
                }
                _ => return,
            }
        }
    }

    /// Sends pound's error page for `status` in the head of `version` and says how it went
    /// for the log: `%>s` is the status line sent, `%b` the page.
    async fn send_error_with(&mut self, version: Version, status: u16, extra: &str) -> Outcome {
        // An HTTP/2 stream's answer goes through the engine's HTTP/1.1 pipe, which needs
        // its length.
        let version = if self.peer.h2 {
            Version::Http11
        } else {
            version
        };
        self.out.clear();
        let page = self.listener.error_pages.get(&status).cloned();
        let len = reply::error_with(&mut self.out, version, status, page.as_deref(), extra);
        let _ = timed(
            self.listener.client_timeout,
            write_flush(&mut self.client, &self.out),
        )
        .await;
        let mut o = Outcome::generated(status);
        o.response_line = format!(
            "{} {status} {}",
            version.as_str(),
            crate::http::status::reason(status)
        );
        o.bytes = len as u64;
        o
    }

    async fn error(&mut self, status: u16) -> Outcome {
        self.send_error_with(self.req.version, status, "").await
    }

    fn request_text(&self) -> String {
        String::from_utf8_lossy(self.req.line()).into_owned()
    }

    async fn handle(&mut self) -> Outcome {
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
        let mut chosen = None;
        for s in &listener.services {
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
            Some(special @ Special::Redirect(_)) if !service.members.is_empty() => {
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
    fn origin_form(&mut self) {
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
    async fn unavailable(&mut self, status: u16) -> Outcome {
        self.failed(status, "no suitable service found").await
    }

    /// pound's message for an error it answers itself, `(id) eNNN: CLIENT: "REQUEST":
    /// WHY`, and the page.
    async fn failed(&mut self, status: u16, why: &str) -> Outcome {
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
    async fn eval_failed(&mut self, e: &EvalError) -> Outcome {
        logmsg!(Warning, "{}", e.0);
        self.error(500).await
    }

    /// Applies the service's, then the listener's `Rewrite response` blocks to `head`, or
    /// to the backend's response head when `head` is `None`.
    fn modify_response(
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
    fn modify_request(&mut self, service: &Service) -> Result<(), EvalError> {
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
    fn add_forwarded(&mut self) {
        let req = &mut self.req;
        if self.listener.header_options.forwarded {
            if !self.peer.unix {
                let ip = self.peer.ip.as_bytes();
                merge_forwarded_for(&mut req.head, ip);
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
            add_ssl_headers(&mut req.head, self.peer.tls.as_deref());
        }
    }

    /// Writes the head to send to the backend into `self.out`. The target is in origin form
    /// by now ([`Connection::origin_form`]).
    fn backend_head(&mut self) {
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
    async fn connect(
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

    async fn forward(&mut self, service: &Service) -> Outcome {
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
                let cont = b"HTTP/1.1 100 Continue\r\n\r\n";
                if timed(
                    self.listener.client_timeout,
                    write_flush(&mut self.client, cont),
                )
                .await
                .is_err()
                {
                    return self.closed(&backend);
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

    /// An outcome for a client that went away; nothing more can be sent to it.
    fn closed(&self, backend: &Arc<Backend>) -> Outcome {
        Outcome {
            backend: Some(backend.clone()),
            linger: false,
            ..Outcome::generated(499)
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
                let to_backend = relay::Limits {
                    read: client_timeout,
                    write: backend.timeout,
                    client: relay::Client::Source(&mut self.pace),
                };
                relay::body(
                    &mut self.cin,
                    &mut self.client,
                    &mut conn.stream,
                    &mut head,
                    body,
                    to_backend,
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
                    // The pooled connection had been closed by the backend: nothing was lost.
                    Err(None) if retry && self.req.body == BodyKind::Empty => {}
                    // pound 4.23 answers a backend that fails to answer with 503.
                    Err(reason) => {
                        let reason = reason.unwrap_or_else(|| EOF_FROM_BACKEND.into());
                        // pound gives the time a malformed response took.
                        let took = if reason == MALFORMED_RESPONSE {
                            format!(" ({:.3} sec)", self.started.elapsed().as_secs_f64())
                        } else {
                            String::new()
                        };
                        logmsg!(
                            Notice,
                            "{}e503: {} <= {}: \"{}\": {reason}{took}",
                            self.tag,
                            self.peer.ip,
                            backend.named.name,
                            self.request_text()
                        );
                        let mut o = self.error(503).await;
                        o.backend = Some(backend.clone());
                        return Exchanged::Done(o, false);
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

    /// The request body could not be passed on; pound's messages: what went wrong, then
    /// `(id) eNNN: CLIENT => BACKEND: "REQUEST": WHY`.
    async fn request_body_failed(&mut self, backend: &Arc<Backend>, e: RelayError) -> Outcome {
        let (status, why) = match &e {
            RelayError::Read(err) => {
                logmsg!(
                    Notice,
                    "({:x}): {}: request dropped: {}",
                    self.tag.0,
                    self.peer.ip,
                    pound_config::env::describe_io_error(err)
                );
                return self.closed(backend);
            }
            RelayError::Write(err) => (
                500,
                format!(
                    "error copying the request body: {}",
                    pound_config::env::describe_io_error(err)
                ),
            ),
            RelayError::Framing(f) => {
                logmsg!(Notice, "{}{}", self.tag, f.message());
                (400, "error sending chunks".to_string())
            }
            RelayError::TooLarge => {
                logmsg!(Notice, "{}chunk content too large", self.tag);
                (413, "error sending chunks".to_string())
            }
        };
        logmsg!(
            Notice,
            "{}e{status}: {} => {}: \"{}\": {why}",
            self.tag,
            self.peer.ip,
            backend.named.name,
            self.request_text()
        );
        let mut o = self.error(status).await;
        o.backend = Some(backend.clone());
        o
    }

    /// Reads the final response head into `self.resp`, passing interim responses on.
    /// `Err(None)`: the backend closed before sending a byte. The backend's `TimeOut` runs
    /// from the moment pound waits for the response to the final head: interim responses do
    /// not restart it.
    async fn read_response_head(
        &mut self,
        backend: &Backend,
        conn: &mut Conn,
        bin: &mut InBuf,
    ) -> Result<(), Option<String>> {
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
                        return Err(Some("too many interim responses".into()));
                    }
                    // 100 Continue was answered by pound itself; other interim responses
                    // (103 Early Hints, ...) go to HTTP/1.1 clients.
                    if self.resp.status != 100 && self.req.version == Version::Http11 {
                        self.out.clear();
                        self.out.extend_from_slice(self.resp.line());
                        self.out.extend_from_slice(b"\r\n");
                        let resp = &self.resp;
                        resp.head
                            .write_fields(&mut self.out, |i| !resp.is_hop_by_hop(i));
                        self.out.extend_from_slice(b"\r\n");
                        timed(
                            self.listener.client_timeout,
                            write_flush(&mut self.client, &self.out),
                        )
                        .await
                        .map_err(|e| Some(e.to_string()))?;
                    }
                    continue;
                }
                Ok(None) => {}
                Err(_) => return Err(Some(MALFORMED_RESPONSE.into())),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match timed(left, bin.fill(&mut conn.stream)).await {
                Ok(0) if !received && bin.is_empty() => return Err(None),
                Ok(0) => return Err(Some(EOF_FROM_BACKEND.into())),
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
                    return Err(None)
                }
                // pound says the same of a backend that stays silent.
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    return Err(Some(EOF_FROM_BACKEND.into()))
                }
                Err(e) => return Err(Some(pound_config::env::describe_io_error(&e))),
            }
        }
    }

    async fn relay_response(
        &mut self,
        service: &Service,
        index: usize,
        backend: &Arc<Backend>,
        conn: &mut Conn,
        bin: &mut InBuf,
    ) -> (Outcome, bool) {
        if let Err(e) = self.modify_response(service, None) {
            let mut o = self.eval_failed(&e).await;
            o.backend = Some(backend.clone());
            return (o, false);
        }
        service.note_response(&self.resp.head, index);
        let resp = &self.resp;
        let status = resp.status;
        let response_line = String::from_utf8_lossy(resp.line()).into_owned();
        let mut outcome = Outcome {
            status,
            response_line,
            bytes: 0,
            service: None,
            backend: Some(backend.clone()),
            special: None,
            keep: false,
            linger: false,
            abort: false,
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
        let upgrade = switching || resp.tunnel;
        let client10 = self.req.version == Version::Http10;
        let decode = client10 && resp.body == BodyKind::Chunked;
        let keep = !upgrade
            && self.req.keep_alive
            && !self.one_request_only()
            && resp.body != BodyKind::UntilClose
            && !resp.suspect
            && !decode
            && !*self.shutdown.borrow();

        let backend_addr = match &backend.address {
            Address::Inet(a) => Some(*a),
            Address::Unix(_) => None,
        };
        let name_is_backend = match backend_addr {
            Some(a) if self.listener.rewrite_location == 2 && self.listener.dns => {
                location_names_backend(resp, a, backend.timeout).await
            }
            _ => false,
        };
        let location_cx = location::Context {
            mode: self.listener.rewrite_location,
            host: self.req.head.get("host").unwrap_or(b""),
            proto: self.peer.scheme(),
            backend: backend_addr,
            name_is_backend,
        };
        let out = &mut self.out;
        out.clear();
        out.extend_from_slice(resp.line());
        out.extend_from_slice(b"\r\n");
        for i in 0..resp.head.fields.len() {
            let name = resp.head.name(i);
            let pass_upgrade = upgrade
                && (name.eq_ignore_ascii_case(b"upgrade")
                    || name.eq_ignore_ascii_case(b"connection"));
            if resp.is_hop_by_hop(i) && !pass_upgrade {
                continue;
            }
            if decode && name.eq_ignore_ascii_case(b"transfer-encoding") {
                continue;
            }
            // With a transfer coding the length is not the message's (RFC 9112, 6.3).
            if resp.transfer_encoding && name.eq_ignore_ascii_case(b"content-length") {
                continue;
            }
            let value = resp.head.value(i);
            let moved = if name.eq_ignore_ascii_case(b"location")
                || name.eq_ignore_ascii_case(b"content-location")
            {
                location::rewrite(value, &location_cx)
            } else {
                None
            };
            match moved {
                Some(v) => {
                    out.extend_from_slice(name);
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(&v);
                    out.extend_from_slice(b"\r\n");
                }
                None => resp.head.write_field(i, out),
            }
        }
        if !keep && !upgrade {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");

        let to_client = relay::Limits {
            read: backend.timeout,
            write: self.listener.client_timeout,
            client: relay::Client::Destination(&mut self.pace),
        };
        let mut head: &[u8] = &self.out;
        let body = relay::Body {
            kind: resp.body,
            decode,
            max: None,
        };
        let result = relay::body(
            bin,
            &mut conn.stream,
            &mut self.client,
            &mut head,
            body,
            to_client,
        )
        .await;
        let head_sent = head.is_empty();
        match result {
            Ok(n) => outcome.bytes = n,
            Err(e) => {
                match &e {
                    RelayError::Write(_) => {}
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
                if !head_sent && !matches!(e, RelayError::Write(_)) {
                    // Nothing reached the client yet: it gets a clean error instead.
                    let mut o = self.error(500).await;
                    o.backend = Some(backend.clone());
                    return (o, false);
                }
                outcome.abort = true;
                return (outcome, false);
            }
        }
        if upgrade {
            self.tunnel(backend, conn, bin).await;
            return (outcome, false);
        }
        outcome.keep = keep;
        (outcome, self.resp.reusable)
    }

    /// `NoHTTPS11`: whether this HTTPS connection must close after its response (1: every
    /// client; 2: MSIE, whose old versions mishandled keep-alive over TLS). HTTP/2 streams
    /// are not connections and are never affected.
    fn one_request_only(&self) -> bool {
        match &self.listener.tls {
            Some(tls) if self.peer.tls.is_some() && !self.peer.h2 => match tls.no_https11 {
                1 => true,
                2 => self
                    .req
                    .head
                    .get("user-agent")
                    .is_some_and(|ua| ua.windows(4).any(|w| w == b"MSIE")),
                _ => false,
            },
            _ => false,
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

    async fn tunnel(&mut self, backend: &Backend, conn: &mut Conn, bin: &mut InBuf) {
        self.pace.release();
        let idle = backend.ws_timeout;
        // Bytes that arrived behind the heads belong to the tunnel.
        if !self.cin.is_empty() {
            if timed(idle, write_flush(&mut conn.stream, self.cin.data()))
                .await
                .is_err()
            {
                return;
            }
            let n = self.cin.data().len();
            self.cin.consume(n);
        }
        if !bin.is_empty() {
            if timed(idle, write_flush(&mut self.client, bin.data()))
                .await
                .is_err()
            {
                return;
            }
            let n = bin.data().len();
            bin.consume(n);
        }
        let _ = relay::tunnel(&mut self.client, &mut conn.stream, idle).await;
    }

    /// Adds the request to the metrics of the listener, service and backend involved.
    fn count(&self, o: &Outcome, elapsed: std::time::Duration) {
        self.listener.stats.observe(o.status, o.bytes, elapsed);
        if let Some(s) = &o.service {
            s.stats.count(o.status, o.bytes);
        }
        if let Some(b) = &o.backend {
            b.stats.requests.count(o.status, o.bytes);
        }
    }

    fn log_request(&self, o: &Outcome, start: SystemTime, elapsed: std::time::Duration) {
        let format = &self.listener.log;
        if format.is_null() {
            return;
        }
        let service = o.service.as_deref();
        if service.is_some_and(|s| s.log_suppress.suppresses(o.status)) {
            return;
        }
        let l = &*self.listener;
        let trusted = service.and_then(|s| s.trusted_ip.as_deref());
        // A refused head has no fields to read the originator from.
        let trusted = trusted.filter(|_| o.refused_line.is_none());
        let origin = trusted.or(l.trusted_ip.as_deref()).and_then(|acl| {
            let header = service
                .and_then(|s| s.forwarded_header.as_deref())
                .unwrap_or(&l.forwarded_header);
            log::origin::originator(self.peer.addr, &self.req.head, header, acl)
        });
        let origin = origin.map(|ip| ip.to_string());
        let origin = origin.as_deref().unwrap_or(&self.peer.ip);
        let anonymised;
        let (client, origin) = if l.anonymise {
            anonymised = (
                log::origin::anonymise(&self.peer.ip),
                log::origin::anonymise(origin),
            );
            (anonymised.0.as_str(), anonymised.1.as_str())
        } else {
            (self.peer.ip.as_str(), origin)
        };
        let entry = Entry {
            client,
            origin,
            local: &self.peer.local_ip,
            port: &self.peer.port_text,
            request: if o.refused_line.is_some() {
                None
            } else {
                Some(&self.req)
            },
            raw_line: o.refused_line.as_deref().unwrap_or(""),
            status: o.status,
            response_line: &o.response_line,
            bytes: o.bytes,
            start,
            end: SystemTime::now(),
            elapsed,
            listener: &self.listener.named,
            service: o.service.as_ref().map(|s| &s.named),
            backend: o
                .special
                .as_ref()
                .or_else(|| o.backend.as_ref().map(|b| &b.named)),
            http2: self.peer.h2,
            https: self.peer.tls.is_some(),
        };
        let mut line = String::with_capacity(160);
        format.render(&entry, &mut line);
        log::log(Priority::Info, line);
    }
}

/// Folds every `X-Forwarded-For` field into the first one and appends the client address
/// (or adds the field). A client cannot slip in a second field that a backend reading the
/// last one would trust.
fn merge_forwarded_for(head: &mut crate::http::head::Head, ip: &[u8]) {
    let fields: Vec<usize> = head.find("x-forwarded-for").collect();
    let Some(&first) = fields.first() else {
        head.push("X-Forwarded-For", ip);
        return;
    };
    let mut value = Vec::new();
    for &i in &fields {
        let v = head.value(i);
        if !v.is_empty() {
            if !value.is_empty() {
                value.extend_from_slice(b", ");
            }
            value.extend_from_slice(v);
        }
    }
    if !value.is_empty() {
        value.extend_from_slice(b", ");
    }
    value.extend_from_slice(ip);
    head.set_value(first, &value);
    // Drop the others, keeping the first in its place.
    let keep = head.fields[first];
    let buf = &head.buf;
    head.fields
        .retain(|f| *f == keep || !buf[f.name.range()].eq_ignore_ascii_case(b"x-forwarded-for"));
}

/// The `X-SSL-*` headers (pound.8, HTTPS Headers), under the names and in the order pound
/// sends them. Whatever the client sent under any `X-SSL-` (or `X-SSL_`, which CGI-style
/// backends read as the same variable) name is removed first, on every listener, so that a
/// backend can trust these fields.
fn add_ssl_headers(head: &mut crate::http::head::Head, tls: Option<&ClientTls>) {
    let buf = &head.buf;
    head.fields.retain(|f| {
        let name = &buf[f.name.range()];
        !(name.len() >= 6
            && name[..5].eq_ignore_ascii_case(b"x-ssl")
            && matches!(name[5], b'-' | b'_'))
    });
    let Some(tls) = tls else {
        return;
    };
    head.push("X-SSL-cipher", tls.cipher.as_bytes());
    if let Some(c) = &tls.cert {
        head.push("X-SSL-Subject", c.subject.as_bytes());
        head.push("X-SSL-Issuer", c.issuer.as_bytes());
        head.push("X-SSL-notBefore", c.not_before.as_bytes());
        head.push("X-SSL-notAfter", c.not_after.as_bytes());
        head.push("X-SSL-serial", c.serial.as_bytes());
        head.push("X-SSL-certificate", c.pem_folded.as_bytes());
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

/// The request line of a refused head as pound logs it: the first line of what arrived
/// (without empty lines before it), or nothing when it did not end within `max_line` bytes.
fn refused_line(data: &[u8], max_line: usize) -> String {
    let start = data
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(data.len());
    let rest = &data[start..];
    let Some(end) = rest.iter().position(|&b| b == b'\n') else {
        return String::new();
    };
    if end > max_line {
        return String::new();
    }
    let line = rest[..end].strip_suffix(b"\r").unwrap_or(&rest[..end]);
    String::from_utf8_lossy(line).into_owned()
}

/// pound's words for why a request head was refused; pound-rs's own where pound has none
/// (it accepts those heads).
fn pound_reason(rej: &request::Reject) -> &'static str {
    match rej.reason {
        "several Content-Length fields" => "multiple Content-Length headers",
        "invalid Content-Length" => "bad Content-Length value",
        "both Transfer-Encoding and Content-Length" => {
            "both Transfer-Encoding and Content-Length given"
        }
        "unknown transfer coding" => "unknown Transfer-Encoding",
        r if is_framing(rej) => r,
        _ => "error parsing request",
    }
}

/// Whether a refusal is about a head that parsed: its body's framing or its `Host`.
fn is_framing(rej: &request::Reject) -> bool {
    matches!(
        rej.reason,
        "several Content-Length fields"
            | "invalid Content-Length"
            | "both Transfer-Encoding and Content-Length"
            | "unknown transfer coding"
            | "several Transfer-Encoding fields"
            | "malformed Transfer-Encoding"
            | "chunked is not the last transfer coding"
            | "Transfer-Encoding in an HTTP/1.0 request"
            | "invalid Host"
            | "missing or repeated Host"
    )
}
