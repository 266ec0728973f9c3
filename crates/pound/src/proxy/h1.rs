//! HTTP/1 clients: one connection, its requests read and answered one after the other (so
//! pipelined requests are answered in order: whatever follows a request in the client
//! buffer simply waits there), kept alive between them, until the client or the server
//! ends it. The connection is the [`Downstream`] of each of its exchanges.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use super::downstream::{BodyWait, Cut, Downstream, Relayed, Respond};
use super::{Exchange, Peer, Tag, Warm};
use crate::http::head::Head;
use crate::http::request::{self, Request};
use crate::http::response::Response;
use crate::http::{combine, BodyKind, Version};
use crate::io::{timed, write_flush, write_two, InBuf, Stream};
use crate::pace::Pace;
use crate::relay::{self, RelayError};
use crate::state::Listener;

/// Whether `data` holds the end of a request head, looking only at bytes after `scanned`
/// (and the three before, which may start the blank line).
fn head_complete(data: &[u8], scanned: usize) -> bool {
    let from = scanned.saturating_sub(3);
    let tail = &data[from..];
    tail.windows(2).any(|w| w == b"\n\n") || tail.windows(3).any(|w| w == b"\n\r\n")
}

/// The client's side of an HTTP/1 connection.
pub struct H1 {
    stream: Stream,
    cin: InBuf,
    /// No request has been read yet, and an HTTP/2 client with prior knowledge (h2c) may
    /// be let in on this plain listener.
    h2c: bool,
    /// An h2c connection preface arrived: the connection goes to the HTTP/2 server.
    preface: bool,
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

    /// A connection about to read a request, with a warm set of buffers.
    fn wake(self) -> Exchange<H1> {
        let mut w = Warm::take();
        let mut cin = InBuf::new(0, self.listener.limits.max_head + 1024);
        cin.give_storage(std::mem::take(&mut w.cin));
        let client = H1 {
            stream: self.client,
            cin,
            h2c: self.h2c,
            preface: false,
        };
        Exchange::new(client, w, self.peer, self.listener, self.shutdown, self.tag)
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
            let mut c = idle.wake();
            let next = c.run().await;
            (c, next)
        })
        .await;
        let (peer, listener, shutdown, tag) = (
            c.peer.clone(),
            c.listener.clone(),
            c.shutdown.clone(),
            c.tag,
        );
        if let Next::Done = next {
            let buffered = c.client.preface.then(|| c.client.cin.data().to_vec());
            let h1 = c.sleep();
            return buffered.map(|buffered| Handoff {
                buffered,
                stream: h1.stream,
                peer,
                listener,
                shutdown,
            });
        }
        let h1 = c.sleep();
        idle = Idle {
            client: h1.stream,
            peer,
            listener,
            shutdown,
            tag,
            h2c: h1.h2c,
        };
    }
}

impl Exchange<H1> {
    /// The connection goes idle or ends: its buffers go back to the thread.
    fn sleep(mut self) -> H1 {
        // An ending connection may leave unread bytes behind; an idle one has none.
        let unread = self.client.cin.data().len();
        self.client.cin.consume(unread);
        let storage = self.client.cin.take_storage();
        self.finish(Some(storage))
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
            if self.client.cin.is_empty() {
                return Next::Idle;
            }
        }
    }

    /// Answers the request whose head is the first `n` buffered bytes; whether the
    /// connection goes on.
    async fn request(&mut self, n: usize) -> bool {
        self.client.cin.consume(n);
        let outcome = self.serve_request().await;
        // While stopping, requests that already arrived are still answered.
        if !outcome.keep || (*self.shutdown.borrow() && self.client.cin.is_empty()) {
            if outcome.cut() {
                self.client.stream.reset_on_close();
            } else if outcome.linger {
                self.linger().await;
            }
            // Otherwise dropping the stream closes it, which sends the FIN.
            return false;
        }
        true
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
            let c = &mut self.client;
            let data = c.cin.data();
            if !data.is_empty() && (head_complete(data, scanned) || data.len() > limits.max_line) {
                if c.h2c && data.starts_with(crate::http::PREFACE_LINE) {
                    c.preface = true;
                    return None;
                }
                c.h2c = false;
                match request::parse(data, &limits, &mut self.req) {
                    Ok(Some(n)) => {
                        combine::combine(&mut self.req.head, &self.listener.combine);
                        return Some(n);
                    }
                    Ok(None) => {}
                    Err(rej) => {
                        // pound logs no request line for a head whose line was too long.
                        let line = match rej.status {
                            413 if rej.reason == "header line too long" => String::new(),
                            _ => refused_line(data, limits.max_line),
                        };
                        self.refuse(rej, line).await;
                        self.linger().await;
                        return None;
                    }
                }
            }
            scanned = data.len();
            let idle = c.cin.is_empty();
            // Nothing buffered: the client has just shown it is sending (see `Idle::wait`),
            // though readiness may also come early; a stop still ends the wait.
            let read = if idle {
                tokio::select! {
                    r = timed(timeout, c.cin.fill(&mut c.stream)) => r,
                    _ = self.shutdown.changed() => return None,
                }
            } else {
                let end = *deadline.get_or_insert_with(|| Instant::now() + timeout);
                let limit = end.saturating_duration_since(Instant::now());
                timed(limit, c.cin.fill(&mut c.stream)).await
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

    /// Closes after an error response without resetting the connection (see `io::linger`).
    async fn linger(&mut self) {
        let c = &mut self.client;
        crate::io::linger(&mut c.stream, &mut c.cin).await;
    }
}

/// `NoHTTPS11`: whether this HTTPS connection must close after its response (1: every
/// client; 2: MSIE, whose old versions mishandled keep-alive over TLS).
fn one_request_only(listener: &Listener, req: &Request) -> bool {
    match &listener.tls {
        Some(tls) => match tls.no_https11 {
            1 => true,
            2 => req
                .head
                .get("user-agent")
                .is_some_and(|ua| ua.windows(4).any(|w| w == b"MSIE")),
            _ => false,
        },
        None => false,
    }
}

impl Downstream for H1 {
    fn is_h2(&self) -> bool {
        false
    }

    async fn body_ready(
        &mut self,
        want: usize,
        chunked: bool,
        max: Option<u64>,
        pace: &mut Pace,
        timeout: Duration,
    ) -> Result<(), BodyWait> {
        let mut settle = crate::http::chunked::Settle::default();
        let mut ready = |data: &[u8]| data.len() >= want || (chunked && settle.settled(data, max));
        while !ready(self.cin.data()) {
            match pace.wait(timeout, self.cin.fill(&mut self.stream)).await {
                Ok(0) => return Err(BodyWait::Closed),
                Ok(_) => {}
                Err(e) => return Err(BodyWait::TimedOut(e)),
            }
        }
        Ok(())
    }

    async fn proceed(&mut self, timeout: Duration) -> io::Result<()> {
        timed(
            timeout,
            write_flush(&mut self.stream, b"HTTP/1.1 100 Continue\r\n\r\n"),
        )
        .await
    }

    async fn interim(
        &mut self,
        req: &Request,
        resp: &Response,
        out: &mut Vec<u8>,
        timeout: Duration,
    ) -> io::Result<()> {
        // An HTTP/1.0 client knows no interim responses.
        if req.version != Version::Http11 {
            return Ok(());
        }
        out.clear();
        out.extend_from_slice(resp.line());
        out.extend_from_slice(b"\r\n");
        resp.head.write_fields(out, |i| !resp.is_hop_by_hop(i));
        out.extend_from_slice(b"\r\n");
        timed(timeout, write_flush(&mut self.stream, out)).await
    }

    async fn upload(
        &mut self,
        head: &mut &[u8],
        backend: &mut Stream,
        body: relay::Body,
        read: Duration,
        write: Duration,
        pace: &mut Pace,
    ) -> Result<u64, RelayError> {
        let limits = relay::Limits {
            read,
            write,
            client: relay::Client::Source(pace),
        };
        relay::body(&mut self.cin, &mut self.stream, backend, head, body, limits).await
    }

    async fn deliver(
        &mut self,
        version: Version,
        status: u16,
        fields: &Head,
        body: &[u8],
        out: &mut Vec<u8>,
        _pace: &mut Pace,
        timeout: Duration,
    ) -> Option<u64> {
        out.clear();
        crate::reply::write_head(out, version, status, fields);
        let write = async {
            write_two(&mut self.stream, out, body).await?;
            self.stream.flush().await
        };
        timed(timeout, write).await.ok().map(|()| body.len() as u64)
    }

    async fn respond(&mut self, r: Respond<'_>) -> Result<Relayed, Cut> {
        respond(self, r).await
    }

    async fn gone(&mut self) {
        std::future::pending::<()>().await
    }
}

/// Relays the backend's response to an HTTP/1 client: the head as the client's version
/// takes it, the body as it came (chunked bodies decoded for HTTP/1.0 clients), then a
/// tunnel when the response switches protocols.
async fn respond(c: &mut H1, r: Respond<'_>) -> Result<Relayed, Cut> {
    let Respond {
        req,
        resp,
        bin,
        backend,
        read,
        tunnel,
        listener,
        upgrade,
        stopping,
        pace,
        out,
    } = r;
    let decode = req.version == Version::Http10 && resp.body == BodyKind::Chunked;
    let keep = !upgrade
        && req.keep_alive
        && !one_request_only(listener, req)
        && resp.body != BodyKind::UntilClose
        && !resp.suspect
        && !decode
        && !stopping;
    out.clear();
    out.extend_from_slice(resp.line());
    out.extend_from_slice(b"\r\n");
    for i in 0..resp.head.fields.len() {
        let name = resp.head.name(i);
        let pass_upgrade = upgrade
            && (name.eq_ignore_ascii_case(b"upgrade") || name.eq_ignore_ascii_case(b"connection"));
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
        resp.head.write_field(i, out);
    }
    if !keep && !upgrade {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");

    let to_client = relay::Limits {
        read,
        write: listener.client_timeout,
        client: relay::Client::Destination(pace),
    };
    let mut head: &[u8] = out;
    let body = relay::Body {
        kind: resp.body,
        decode,
        max: None,
    };
    let result = relay::body(bin, backend, &mut c.stream, &mut head, body, to_client).await;
    let head_sent = head.is_empty();
    let bytes = result.map_err(|error| Cut { error, head_sent })?;
    if upgrade {
        pace.release();
        c.tunnel(backend, bin, tunnel).await;
        return Ok(Relayed {
            bytes,
            keep: false,
            reusable: false,
        });
    }
    Ok(Relayed {
        bytes,
        keep,
        reusable: resp.reusable,
    })
}

impl H1 {
    /// Relays bytes both ways after `101 Switching Protocols` (or a `CONNECT` tunnel).
    async fn tunnel(&mut self, backend: &mut Stream, bin: &mut InBuf, idle: Duration) {
        // Bytes that arrived behind the heads belong to the tunnel.
        if !self.cin.is_empty() {
            if timed(idle, write_flush(backend, self.cin.data()))
                .await
                .is_err()
            {
                return;
            }
            let n = self.cin.data().len();
            self.cin.consume(n);
        }
        if !bin.is_empty() {
            if timed(idle, write_flush(&mut self.stream, bin.data()))
                .await
                .is_err()
            {
                return;
            }
            let n = bin.data().len();
            bin.consume(n);
        }
        let _ = relay::tunnel(&mut self.stream, backend, idle).await;
    }
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
pub(super) fn pound_reason(rej: &request::Reject) -> &'static str {
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
pub(super) fn is_framing(rej: &request::Reject) -> bool {
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
