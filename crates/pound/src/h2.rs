//! HTTP/2 for clients.
//!
//! The `h2` crate speaks the protocol: framing, HPACK, flow control, stream limits and
//! protocol errors (a malformed stream is reset, a broken connection gets GOAWAY with the
//! matching error code). Each request stream is then handed to the HTTP/1 engine
//! ([`crate::proxy`]) as an HTTP/1.1 request over an in-process pipe, so that it goes through
//! exactly the same checks, service selection, rewriting, balancing, backend connection
//! pooling and logging as any other request, and reaches the backend as HTTP/1.1. The
//! engine's response is read back from the pipe and sent as HTTP/2 frames.
//!
//! Bodies stream both ways with backpressure: request data is acknowledged to the client
//! (its flow-control window reopened) only once the engine has taken it, and response data
//! is read from the engine only as fast as the client's window lets it be sent.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use h2::server::SendResponse;
use h2::{Reason, RecvStream, SendStream};
use http::{HeaderName, HeaderValue, Method};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use crate::http::chunked::{Decoder, Segment};
use crate::http::response::{self, Response};
use crate::http::BodyKind;
use crate::io::Stream;
use crate::logmsg;
use crate::pace::{Slow, SlowStreams, SLOW_WAIT};
use crate::proxy::{self, Peer, Tag};
use crate::state::Listener;

/// Bytes the pipe between a stream and the engine holds in each direction.
const PIPE: usize = 32 * 1024;
/// Largest response head read back from the engine (it wrote it itself).
const MAX_RESPONSE_HEAD: usize = 128 * 1024;
/// How much response data is sent in one frame sequence at most.
const CHUNK: usize = 16 * 1024;
/// How long a connection being closed may take to finish its streams' frames.
const CLOSING: Duration = Duration::from_secs(5);

/// Serves one HTTP/2 connection to the end.
pub async fn serve<T>(
    io: T,
    peer: Arc<Peer>,
    listener: Arc<Listener>,
    mut shutdown: watch::Receiver<bool>,
    id: u64,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Some(limits) = listener.http2 else {
        return;
    };
    let idle = listener.client_timeout;
    let max_head = u32::try_from(listener.limits.max_head).unwrap_or(u32::MAX);
    let mut builder = h2::server::Builder::new();
    builder
        .max_concurrent_streams(limits.max_streams)
        .initial_window_size(limits.window)
        // Room for several streams' windows, so that a few uploads the backends are slow to
        // take do not hold up every other stream, without promising memory for all of them.
        .initial_connection_window_size(
            limits
                .window
                .saturating_mul(limits.max_streams.clamp(4, 16))
                .min(i32::MAX as u32),
        )
        .max_header_list_size(max_head)
        .max_send_buffer_size(CHUNK * 4);
    let tag = Tag(id);
    let mut conn = match crate::io::timed(idle, async {
        builder
            .handshake::<_, Bytes>(io)
            .await
            .map_err(std::io::Error::other)
    })
    .await
    {
        Ok(c) => c,
        Err(e) => {
            logmsg!(Notice, "{tag}{}: HTTP/2 handshake failed: {e}", peer.ip);
            return;
        }
    };
    let mut peer = Arc::unwrap_or_clone(peer);
    peer.h2 = true;
    peer.slow = Some(crate::pace::SlowStreams::new(
        limits.slow_streams,
        listener.client_rate.min,
    ));
    let peer = Arc::new(peer);
    // One permit per stream being served. h2 stops counting a stream as soon as the client
    // resets it, so a client resetting streams to open new ones (a "rapid reset" flood)
    // would otherwise start unbounded work. A new stream may wait for a place while another
    // is being wound up (a reset and the next request often arrive together), or while the
    // client has not yet seen pound's stream limit (until then it may assume 100, RFC 9113,
    // 6.5.2); beyond that many waiting, streams are refused.
    let max = limits.max_streams as usize;
    let permits = Arc::new(Semaphore::new(max));
    let waiting = Arc::new(Semaphore::new(max.max(100)));
    let mut closing = false;
    loop {
        let next = if closing {
            match tokio::time::timeout(CLOSING, conn.accept()).await {
                Ok(n) => n,
                Err(_) => return,
            }
        } else {
            tokio::select! {
                n = tokio::time::timeout(idle, conn.accept()) => match n {
                    Ok(n) => n,
                    // Idle for `Client` seconds with no stream being served: closed, as an
                    // idle HTTP/1 connection is.
                    Err(_) => {
                        if permits.available_permits() == max {
                            conn.graceful_shutdown();
                            closing = true;
                        }
                        continue;
                    }
                },
                _ = shutdown.changed() => {
                    conn.graceful_shutdown();
                    closing = true;
                    continue;
                }
            }
        };
        match next {
            Some(Ok((req, mut respond))) => {
                let Ok(place) = waiting.clone().try_acquire_owned() else {
                    respond.send_reset(Reason::REFUSED_STREAM);
                    continue;
                };
                let permits = permits.clone();
                let peer = peer.clone();
                let listener = listener.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(async move {
                    let permit = tokio::select! {
                        p = permits.acquire_owned() => p,
                        _ = std::future::poll_fn(|cx| respond.poll_reset(cx)) => return,
                    };
                    drop(place);
                    if let Ok(permit) = permit {
                        stream(req, respond, peer, listener, shutdown, id, permit).await;
                    }
                });
            }
            Some(Err(e)) => {
                if !e.is_io() && !e.is_go_away() {
                    logmsg!(Notice, "{tag}{}: HTTP/2 error: {e}", peer.ip);
                }
                return;
            }
            None => return,
        }
        if *shutdown.borrow() && !closing {
            conn.graceful_shutdown();
            closing = true;
        }
    }
}

/// Headers that describe an HTTP/1 connection and mean nothing in HTTP/2 (RFC 9113,
/// 8.2.2); `h2` already refuses requests carrying most of them.
fn connection_specific(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "proxy-connection" | "transfer-encoding" | "upgrade" | "te"
    )
}

/// The HTTP/1.1 head that stands for an HTTP/2 request, without the empty line that ends
/// it, and whether a body would have to be sent chunked (no `Content-Length` was given).
fn request_head(parts: &http::request::Parts) -> (Vec<u8>, bool) {
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(parts.method.as_str().as_bytes());
    head.push(b' ');
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| !p.is_empty())
        .unwrap_or("/");
    head.extend_from_slice(target.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    // `:authority` wins over `Host` (RFC 9113, 8.3.1).
    let authority = parts.uri.authority();
    if let Some(a) = authority {
        head.extend_from_slice(b"Host: ");
        head.extend_from_slice(a.as_str().as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    let mut cookies: Vec<&[u8]> = Vec::new();
    for (name, value) in &parts.headers {
        if connection_specific(name) || (authority.is_some() && name == http::header::HOST) {
            continue;
        }
        // Cookie pairs may come as separate fields; HTTP/1.1 wants one (RFC 9113, 8.2.3).
        if name == http::header::COOKIE {
            cookies.push(value.as_bytes());
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if !cookies.is_empty() {
        head.extend_from_slice(b"cookie: ");
        head.extend_from_slice(&cookies.join(&b"; "[..]));
        head.extend_from_slice(b"\r\n");
    }
    (
        head,
        !parts.headers.contains_key(http::header::CONTENT_LENGTH),
    )
}

/// Whether the pseudo-header fields make a well-formed request (RFC 9113, 8.3.1): a path
/// in origin form (or `*` for OPTIONS), and an authority without user information.
fn well_formed(parts: &http::request::Parts) -> bool {
    let path_ok = match parts.uri.path_and_query().map(|p| p.as_str()) {
        Some("*") => parts.method == Method::OPTIONS,
        Some(p) => p.starts_with('/'),
        None => false,
    };
    path_ok
        && parts
            .uri
            .authority()
            .is_none_or(|a| crate::http::valid_authority(a.as_str().as_bytes()))
}

/// How relaying a response ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relayed {
    /// The whole response was sent.
    Done,
    /// The engine ended without a complete response: the stream is reset.
    Failed,
    /// The client reset the stream, went away or stopped reading: the exchange behind it
    /// is abandoned.
    Abandoned,
}

/// One request stream: hands it to the engine and relays the answer. `permit` is the
/// stream's place among those being served, given back as soon as the stream is over for
/// the client (h2 then lets the client open another).
async fn stream(
    req: http::Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    peer: Arc<Peer>,
    listener: Arc<Listener>,
    shutdown: watch::Receiver<bool>,
    id: u64,
    permit: OwnedSemaphorePermit,
) {
    let (parts, body) = req.into_parts();
    if parts.method == Method::CONNECT {
        // Neither tunnels nor extended CONNECT are offered over HTTP/2.
        let mut answer = http::Response::new(());
        *answer.status_mut() = http::StatusCode::NOT_IMPLEMENTED;
        let _ = respond.send_response(answer, true);
        return;
    }
    if !well_formed(&parts) {
        respond.send_reset(Reason::PROTOCOL_ERROR);
        return;
    }
    let (head, needs_framing) = request_head(&parts);
    // With `Expect: 100-continue` the client waits for the head to be answered before it
    // sends its body, so the head cannot wait for the body.
    let expects = parts.headers.contains_key(http::header::EXPECT);
    let method = parts.method;
    let (ours, engine_end) = tokio::io::duplex(PIPE);
    let patience = listener.client_timeout;
    let slow = peer.slow.clone();
    let slow_up = slow.clone();
    let engine = proxy::serve(Stream::Pipe(engine_end), peer, listener, shutdown, id);
    // The bridge owns this end of the pipe: when it is done, the pipe closes and the engine
    // sees the end of its "connection".
    let bridge = async move {
        let (mut from_engine, to_engine) = tokio::io::split(ours);
        let relayed = {
            let upload = send_request(head, needs_framing, expects, body, to_engine, &slow_up);
            let download = relay_response(&mut from_engine, &mut respond, &method, patience, slow);
            tokio::pin!(upload);
            tokio::pin!(download);
            let mut uploading = true;
            loop {
                tokio::select! {
                    _ = &mut upload, if uploading => uploading = false,
                    // Once the response is complete, whatever is left of the request body
                    // is no longer wanted.
                    done = &mut download => break done,
                }
            }
        };
        drop(permit);
        match relayed {
            Relayed::Done => {}
            Relayed::Failed => respond.send_reset(Reason::INTERNAL_ERROR),
            Relayed::Abandoned => respond.send_reset(Reason::CANCEL),
        }
        relayed
    };
    tokio::pin!(engine);
    tokio::pin!(bridge);
    tokio::select! {
        _ = &mut engine => {
            bridge.await;
        }
        relayed = &mut bridge => {
            // A stream the client gave up on is not waited for: the backend exchange is
            // dropped with it, and the stream's permit is free at once.
            if relayed != Relayed::Abandoned {
                engine.await;
            }
        }
    }
}

/// Writes the request head and then its body into the pipe, reopening the client's
/// window only for what the engine has taken. Without `Content-Length`, the head waits for
/// the first data (unless the client expects `100 Continue`), so that a request whose
/// stream ends without data is sent without a body rather than as an empty chunked one.
async fn send_request(
    mut head: Vec<u8>,
    needs_framing: bool,
    expects: bool,
    mut body: RecvStream,
    mut pipe: tokio::io::WriteHalf<tokio::io::DuplexStream>,
    slow: &Option<Arc<SlowStreams>>,
) {
    let mut first = None;
    let chunked = if body.is_end_stream() || !needs_framing {
        false
    } else if expects {
        true
    } else {
        first = loop {
            match body.data().await {
                Some(Ok(d)) if d.is_empty() => continue,
                other => break other,
            }
        };
        first.is_some()
    };
    if chunked {
        head.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    head.extend_from_slice(b"\r\n");
    if pipe.write_all(&head).await.is_err() {
        return;
    }
    loop {
        let data = match first.take() {
            Some(d) => d,
            None => match body.data().await {
                Some(d) => d,
                None => break,
            },
        };
        let Ok(data) = data else {
            // The client reset the stream: the engine sees the body end early.
            return;
        };
        let n = data.len();
        if n == 0 {
            continue;
        }
        let written = if chunked {
            let size = format!("{n:x}\r\n");
            pipe.write_all(size.as_bytes()).await.is_ok()
                && pipe.write_all(&data).await.is_ok()
                && pipe.write_all(b"\r\n").await.is_ok()
        } else {
            pipe.write_all(&data).await.is_ok()
        };
        if !written {
            return;
        }
        let _ = body.flow_control().release_capacity(n);
        if let Some(s) = slow {
            s.moved(n);
        }
    }
    if chunked && pipe.write_all(b"0\r\n\r\n").await.is_err() {
        return;
    }
    let _ = pipe.shutdown().await;
}

/// Reads the engine's HTTP/1.1 response from the pipe and sends it on the stream.
async fn relay_response(
    pipe: &mut tokio::io::ReadHalf<tokio::io::DuplexStream>,
    respond: &mut SendResponse<Bytes>,
    method: &Method,
    patience: Duration,
    slow: Option<Arc<SlowStreams>>,
) -> Relayed {
    let mut buf = BytesMut::with_capacity(8 * 1024);
    let mut resp = Response::default();
    loop {
        match response::parse(
            &buf,
            MAX_RESPONSE_HEAD,
            method.as_str().as_bytes(),
            &mut resp,
        ) {
            Ok(Some(n)) => {
                buf.advance(n);
                if resp.is_interim() {
                    // 100 Continue and 103 Early Hints go to the client as they would over
                    // HTTP/1.1.
                    let mut info = http::Response::new(());
                    *info.status_mut() = http::StatusCode::from_u16(resp.status)
                        .unwrap_or(http::StatusCode::CONTINUE);
                    copy_fields(&resp, info.headers_mut());
                    let _ = respond.send_informational(info);
                    continue;
                }
                break;
            }
            Ok(None) => {}
            Err(_) => return Relayed::Failed,
        }
        // While the backend is being asked, a client that resets the stream ends it.
        tokio::select! {
            r = pipe.read_buf(&mut buf) => match r {
                Ok(n) if n > 0 => {}
                _ => return Relayed::Failed,
            },
            _ = std::future::poll_fn(|cx| respond.poll_reset(cx)) => return Relayed::Abandoned,
        }
    }
    let mut head = http::Response::new(());
    *head.status_mut() = match http::StatusCode::from_u16(resp.status) {
        Ok(s) => s,
        Err(_) => return Relayed::Failed,
    };
    copy_fields(&resp, head.headers_mut());
    let empty = matches!(resp.body, BodyKind::Empty | BodyKind::Length(0));
    let Ok(send) = respond.send_response(head, empty) else {
        return Relayed::Abandoned;
    };
    if empty {
        return Relayed::Done;
    }
    let mut out = Out {
        pipe,
        buf,
        send,
        patience,
        slow,
    };
    let copied = match resp.body {
        BodyKind::Length(n) => out.copy_length(n).await,
        BodyKind::Chunked => out.copy_chunked().await,
        _ => out.copy_until_close().await,
    };
    match copied {
        Ok(()) if out.send.send_data(Bytes::new(), true).is_ok() => Relayed::Done,
        Ok(()) => Relayed::Abandoned,
        Err(r) => r,
    }
}

/// The response fields an HTTP/2 client gets: everything but the HTTP/1 connection's own.
fn copy_fields(resp: &Response, headers: &mut http::HeaderMap) {
    for i in 0..resp.head.fields.len() {
        if resp.is_hop_by_hop(i) {
            continue;
        }
        let name = resp.head.name(i);
        if name.eq_ignore_ascii_case(b"transfer-encoding")
            || (resp.transfer_encoding && name.eq_ignore_ascii_case(b"content-length"))
        {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name),
            HeaderValue::from_bytes(resp.head.value(i)),
        ) {
            if !connection_specific(&n) {
                headers.append(n, v);
            }
        }
    }
}

/// A response body on its way from the pipe to the stream.
struct Out<'a> {
    pipe: &'a mut tokio::io::ReadHalf<tokio::io::DuplexStream>,
    buf: BytesMut,
    send: SendStream<Bytes>,
    /// How long the client may keep its window closed (`Client`): one that stops reading
    /// loses the stream, as one that stops reading an HTTP/1 response loses its connection.
    patience: Duration,
    /// The connection's places for streams waiting on their client (`HTTP2MaxSlowStreams`):
    /// a stream whose window stays shut for over a second takes one while it waits.
    slow: Option<Arc<SlowStreams>>,
}

impl Out<'_> {
    /// Reads more of the response into the buffer; `Ok(false)` at the end of the pipe.
    async fn fill(&mut self) -> Result<bool, Relayed> {
        self.buf.reserve(CHUNK);
        let (pipe, buf, send) = (&mut *self.pipe, &mut self.buf, &mut self.send);
        tokio::select! {
            r = pipe.read_buf(buf) => match r {
                Ok(n) => Ok(n > 0),
                Err(_) => Err(Relayed::Failed),
            },
            _ = std::future::poll_fn(|cx| send.poll_reset(cx)) => Err(Relayed::Abandoned),
        }
    }

    /// Sends `data` as the client's flow-control window allows.
    async fn data(&mut self, mut data: Bytes) -> Result<(), Relayed> {
        while !data.is_empty() {
            self.send.reserve_capacity(data.len());
            let send = &mut self.send;
            let capacity = std::future::poll_fn(|cx| send.poll_capacity(cx));
            tokio::pin!(capacity);
            let first = SLOW_WAIT.min(self.patience);
            let mark = self.slow.as_ref().map_or(0, |s| s.mark());
            let got = match tokio::time::timeout(first, &mut capacity).await {
                Ok(got) => got,
                Err(_) => {
                    let _place = match self.slow.as_ref().map(|s| s.slow_since(mark)) {
                        Some(Slow::Full) => return Err(Relayed::Abandoned),
                        Some(Slow::Place(p)) => Some(p),
                        Some(Slow::Flowing) | None => None,
                    };
                    let rest = self.patience.saturating_sub(first);
                    tokio::time::timeout(rest, capacity)
                        .await
                        .map_err(|_| Relayed::Abandoned)?
                }
            };
            let n = match got {
                Some(Ok(n)) => n.min(data.len()),
                _ => return Err(Relayed::Abandoned),
            };
            if n == 0 {
                continue;
            }
            if self.send.send_data(data.split_to(n), false).is_err() {
                return Err(Relayed::Abandoned);
            }
            if let Some(s) = &self.slow {
                s.moved(n);
            }
        }
        Ok(())
    }

    async fn copy_length(&mut self, mut left: u64) -> Result<(), Relayed> {
        while left > 0 {
            if self.buf.is_empty() && !self.fill().await? {
                return Err(Relayed::Failed);
            }
            let n = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            left -= n as u64;
            let part = self.buf.split_to(n).freeze();
            self.data(part).await?;
        }
        Ok(())
    }

    /// The chunked coding is decoded; trailers are not passed on.
    async fn copy_chunked(&mut self) -> Result<(), Relayed> {
        let mut decoder = Decoder::new();
        while !decoder.is_done() {
            if self.buf.is_empty() && !self.fill().await? {
                return Err(Relayed::Failed);
            }
            let Ok((n, segment)) = decoder.advance(&self.buf) else {
                return Err(Relayed::Failed);
            };
            let part = self.buf.split_to(n);
            if segment == Segment::Data {
                self.data(part.freeze()).await?;
            }
        }
        Ok(())
    }

    async fn copy_until_close(&mut self) -> Result<(), Relayed> {
        loop {
            if !self.buf.is_empty() {
                let part = self.buf.split().freeze();
                self.data(part).await?;
            }
            if !self.fill().await? {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_of(req: http::Request<()>) -> (String, bool) {
        let (parts, _) = req.into_parts();
        assert!(well_formed(&parts));
        let (h, framing) = request_head(&parts);
        (String::from_utf8(h).expect("text"), framing)
    }

    #[test]
    fn requests_become_http11_heads() {
        let req = http::Request::builder()
            .method("GET")
            .uri("https://www.example.org:8443/a/b?x=1")
            .header("host", "ignored.example")
            .header("cookie", "a=1")
            .header("user-agent", "t")
            .header("cookie", "b=2")
            .header("te", "trailers")
            .body(())
            .expect("request");
        let (h, framing) = head_of(req);
        assert_eq!(
            h,
            "GET /a/b?x=1 HTTP/1.1\r\nHost: www.example.org:8443\r\nuser-agent: t\r\ncookie: a=1; b=2\r\n"
        );
        assert!(framing);

        let req = http::Request::builder()
            .method("PUT")
            .uri("https://h/up")
            .header("content-length", "5")
            .body(())
            .expect("request");
        let (h, framing) = head_of(req);
        assert_eq!(h, "PUT /up HTTP/1.1\r\nHost: h\r\ncontent-length: 5\r\n");
        assert!(!framing);
    }

    #[test]
    fn malformed_pseudo_headers_are_refused() {
        let parts = |method: &str, uri: &str| {
            let (p, _) = http::Request::builder()
                .method(method)
                .uri(uri)
                .body(())
                .expect("request")
                .into_parts();
            p
        };
        assert!(well_formed(&parts("OPTIONS", "*")));
        assert!(!well_formed(&parts("GET", "*")));
        assert!(!well_formed(&parts("GET", "https://user@h/")));
        assert!(well_formed(&parts("GET", "https://h/")));
    }
}
