//! The engine: one request's exchange, whatever protocol its client speaks. It takes the
//! request in (per-address limits, the body ready to flow, a worker slot), picks a service,
//! applies the rules, chooses and reaches a backend, forwards the request, relays and
//! rewrites the response, and accounts for the result (metrics, the request log).
//!
//! The exchange knows no wire format of the client's: it works on the request head
//! ([`Request`], an ordered list of fields that keeps their bytes and order) and asks its
//! [`Downstream`] to move bodies and send answers. `h1` reads requests off an HTTP/1
//! connection, `crate::h2` makes them from HTTP/2 streams; both hand them to the same
//! engine. To backends the engine speaks HTTP/1.1.
//!
//! The modules: `route` (service choice and request modification), `forward` (the backend
//! exchange), `special` (answers of the special backends), `record` (metrics and the
//! request log), `headers` (the built-in headers).

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::watch;

use crate::backend::Backend;
use crate::http::head::Head;
use crate::http::request::Request;
use crate::http::response::Response;
use crate::http::Version;
use crate::log::format::Named;
use crate::logmsg;
use crate::pace::Pace;
use crate::rules::Matches;
use crate::state::{Listener, Service};
use crate::tls::server::ClientTls;

pub mod downstream;
pub mod failure;
mod forward;
pub mod h1;
mod headers;
mod record;
mod route;
mod special;

pub use crate::log::Tag;
pub use downstream::Downstream;
pub use h1::{serve, Handoff};

use downstream::BodyWait;
pub use failure::Failure;

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
    /// The connection speaks HTTP/2 (see `h2`).
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

/// How one request ended.
pub struct Outcome {
    pub status: u16,
    /// `%>s`: the status pound answered with itself; `None` for the backend's status line,
    /// read from the response head only when a log line needs it.
    response_line: Option<String>,
    bytes: u64,
    service: Option<Arc<Service>>,
    backend: Option<Arc<Backend>>,
    /// What logs show as the backend when a special backend answered.
    special: Option<Named>,
    /// Whether the client connection can take another request.
    pub keep: bool,
    /// pound answered with an error: close gently, reading what the client still sends, so
    /// that the error page is not lost to a reset.
    pub linger: bool,
    /// Why the exchange failed, when it did after the request was taken in: what the
    /// client side does at the end (reset a cut response, and with which code) follows
    /// from it.
    pub failure: Option<Failure>,
    /// The request was refused while its head was read: its request line as it came, for
    /// the log (the parsed request is not this one).
    refused_line: Option<String>,
}

impl Outcome {
    fn generated(status: u16) -> Outcome {
        Outcome {
            status,
            response_line: Some(format!("{status} {}", crate::http::status::reason(status))),
            bytes: 0,
            service: None,
            backend: None,
            special: None,
            keep: false,
            linger: true,
            failure: None,
            refused_line: None,
        }
    }

    /// The client went away: nothing more can be sent to it.
    fn gone(backend: Option<Arc<Backend>>) -> Outcome {
        Outcome {
            backend,
            linger: false,
            failure: Some(Failure {
                party: failure::Party::Client,
                retry: false,
                then: failure::Then::Drop,
            }),
            ..Outcome::generated(499)
        }
    }

    /// Whether the response was cut short: the connection (or stream) is reset so that
    /// the client cannot take it for complete.
    pub fn cut(&self) -> bool {
        self.failure.is_some_and(|f| f.then == failure::Then::Cut)
    }
}

/// The memory a request works in: the client read buffer (HTTP/1), the request and
/// response heads, the output buffer and the match history. A connection takes a warm set
/// when a request starts arriving and gives it back to its thread when it goes idle, so that
/// an idle keep-alive connection holds none of it, and a busy one allocates nothing.
pub struct Warm {
    pub cin: Vec<u8>,
    req: Request,
    resp: Response,
    out: Vec<u8>,
    matches: Matches,
}

/// Warm sets kept per thread.
const WARM_KEPT: usize = 64;
/// The client read buffer's usual size.
pub const CLIENT_BUF: usize = 8 * 1024;

thread_local! {
    static WARM: std::cell::RefCell<Vec<Warm>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Warm {
    /// A set from this thread's cache, or a new one.
    pub fn take() -> Warm {
        WARM.with(|c| c.borrow_mut().pop()).unwrap_or_else(|| Warm {
            cin: Vec::with_capacity(CLIENT_BUF),
            req: Request::default(),
            resp: Response::default(),
            out: Vec::with_capacity(1024),
            matches: Matches::default(),
        })
    }

    /// Gives the set back to this thread's cache; a head that made a buffer grow does not
    /// keep it large.
    fn give(mut self) {
        self.cin.shrink_to(CLIENT_BUF);
        self.out.shrink_to(4096);
        for head in [&mut self.req.head, &mut self.resp.head] {
            head.buf.shrink_to(4096);
            head.fields.shrink_to(64);
        }
        WARM.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() < WARM_KEPT {
                c.push(self);
            }
        });
    }
}

/// One request's exchange, with its client's side `C`.
pub struct Exchange<C> {
    client: C,
    /// The current request's waits on the client, and its place among `WorkerMaxCount`
    /// (see `pace` and `workers`).
    pace: Pace,
    out: Vec<u8>,
    req: Request,
    resp: Response,
    peer: Arc<Peer>,
    listener: Arc<Listener>,
    shutdown: watch::Receiver<bool>,
    tag: Tag,
    /// Recent regex matches of the current request, for back-references.
    matches: Matches,
    /// When the current request was taken in, for the times pound gives in some messages.
    started: Instant,
    /// The client buffer of the warm set, when the client side has none of its own.
    spare: Vec<u8>,
}

impl<C: Downstream> Exchange<C> {
    /// An exchange with the client side `client`, working in the warm set `w`; `w.cin` is
    /// kept aside for when the set goes back (see [`Exchange::finish`]).
    pub fn new(
        client: C,
        w: Warm,
        peer: Arc<Peer>,
        listener: Arc<Listener>,
        shutdown: watch::Receiver<bool>,
        tag: Tag,
    ) -> Exchange<C> {
        let pace = Pace::new(listener.client_rate, peer.slow.clone());
        Exchange {
            client,
            pace,
            out: w.out,
            req: w.req,
            resp: w.resp,
            matches: w.matches,
            spare: w.cin,
            peer,
            listener,
            shutdown,
            tag,
            started: Instant::now(),
        }
    }

    /// Ends the exchange: its buffers go back to the thread (with `cin` as the set's client
    /// buffer), and the client side is returned.
    pub fn finish(self, cin: Option<Vec<u8>>) -> C {
        Warm {
            cin: cin.unwrap_or(self.spare),
            req: self.req,
            resp: self.resp,
            out: self.out,
            matches: self.matches,
        }
        .give();
        self.client
    }

    /// The request head the engine works on, for the client side to fill in.
    pub fn request_mut(&mut self) -> &mut Request {
        &mut self.req
    }

    pub fn client_mut(&mut self) -> &mut C {
        &mut self.client
    }

    /// Answers the request in `self.req` and accounts for it (metrics, the request log).
    pub async fn serve_request(&mut self) -> Outcome {
        let start = SystemTime::now();
        let t0 = Instant::now();
        self.started = t0;
        self.pace.begin();
        let outcome = match self.admit().await {
            Ok(held) => {
                let o = self.handle().await;
                drop(held);
                o
            }
            Err(o) => o,
        };
        self.pace.release();
        let elapsed = t0.elapsed();
        self.count(&outcome, elapsed);
        self.log_request(&outcome, start, elapsed);
        outcome
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

    /// Waits until [`downstream::BODY_READY`] bytes of the body (or all of it) have
    /// arrived, at the client's pace. A client that expects `100 Continue` sends its body
    /// only once it is told to, which happens once a backend is ready (or never, when pound
    /// answers itself): it is taken in at once, and its body is paced like any other.
    async fn body_ready(&mut self) -> Result<(), Outcome> {
        let Some(want) = downstream::body_wanted(&self.req) else {
            return Ok(());
        };
        if self.req.expect_continue {
            return Ok(());
        }
        let chunked = self.req.body == crate::http::BodyKind::Chunked;
        let max = self.listener.limits.max_body;
        let timeout = self.listener.client_timeout;
        match self
            .client
            .body_ready(want, chunked, max, &mut self.pace, timeout)
            .await
        {
            Ok(()) => Ok(()),
            Err(BodyWait::Closed) => {
                logmsg!(
                    Notice,
                    "({:x}): {}: request dropped: connection closed in the request body",
                    self.tag.0,
                    self.peer.ip
                );
                Err(Outcome::gone(None))
            }
            Err(BodyWait::TimedOut(e)) => {
                logmsg!(
                    Notice,
                    "{}e408: {}: \"{}\": {e}",
                    self.tag,
                    self.peer.ip,
                    self.request_text()
                );
                Err(self.error(408).await)
            }
        }
    }

    /// Sends pound's error page for `status` in the head of `version` (with `Allow` for a
    /// 405) and says how it went for the log: `%>s` is the status line sent, `%b` the page.
    async fn send_error_with(&mut self, version: Version, status: u16) -> Outcome {
        // An HTTP/2 stream's answer has a length, as an HTTP/1.1 one.
        let version = if self.client.is_h2() {
            Version::Http11
        } else {
            version
        };
        let custom = self.listener.error_pages.get(&status).cloned();
        let page = crate::reply::page(status, custom.as_deref());
        let allow =
            (status == 405).then(|| crate::http::methods::allow_list(self.listener.limits.xhttp));
        let mut fields = Head::default();
        crate::reply::error_fields(&mut fields, version, page.len(), allow, custom.as_deref());
        let timeout = self.listener.client_timeout;
        let _ = self
            .client
            .deliver(
                version,
                status,
                &fields,
                &page,
                &mut self.out,
                &mut self.pace,
                timeout,
            )
            .await;
        let mut o = Outcome::generated(status);
        o.response_line = Some(format!(
            "{} {status} {}",
            version.as_str(),
            crate::http::status::reason(status)
        ));
        o.bytes = page.len() as u64;
        o
    }

    async fn error(&mut self, status: u16) -> Outcome {
        self.send_error_with(self.req.version, status).await
    }

    fn request_text(&self) -> String {
        String::from_utf8_lossy(self.req.line()).into_owned()
    }

    /// Answers a request head that was refused (`rej`), logs it as pound does (a message
    /// with pound's reason, and a request log line with `line`, the request line as it
    /// came). The connection or stream ends after it.
    pub async fn refuse(&mut self, rej: crate::http::request::Reject, line: String) {
        let start = SystemTime::now();
        let t0 = Instant::now();
        // A body over `MaxRequest` is refused once the head was read whole: pound answers
        // in the request's version and says how large it was.
        if let ("request body too large", crate::http::BodyKind::Length(n)) =
            (rej.reason, self.req.body)
        {
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
            return;
        }
        if rej.status != 414 && rej.reason != "header line too long" {
            logmsg!(
                Notice,
                "{}e{}: {}: \"{line}\": {}",
                self.tag,
                rej.status,
                self.peer.ip,
                h1::pound_reason(&rej)
            );
        }
        // A head that parsed but frames its body wrongly is answered in the request's
        // version, as pound answers it; one that did not parse, in HTTP/1.0.
        let version = if h1::is_framing(&rej) {
            self.req.version
        } else {
            Version::Http10
        };
        let mut o = self.send_error_with(version, rej.status).await;
        o.refused_line = Some(line);
        self.count(&o, t0.elapsed());
        self.log_request(&o, start, t0.elapsed());
    }
}
