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
use tokio::sync::watch;

use crate::http::chunked::{Decoder, Segment};
use crate::http::response::{self, Response};
use crate::http::BodyKind;
use crate::io::Stream;
use crate::logmsg;
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

/// The connection preface of HTTP/2 (RFC 9113, 3.4), whose first line looks like a request
/// line: how a cleartext (h2c) client with prior knowledge is recognised.
pub const PREFACE_LINE: &[u8] = b"PRI * HTTP/2.0\r\n";

/// Serves one HTTP/2 connection to the end.
pub async fn serve<T>(
    io: T,
    peer: Peer,
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
        .initial_connection_window_size(limits.window.saturating_mul(4))
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
    let mut peer = peer;
    peer.h2 = true;
    let mut closing = false;
    loop {
        let next = if closing {
            match tokio::time::timeout(CLOSING, conn.accept()).await {
                Ok(n) => n,
                Err(_) => return,
            }
        } else if conn.has_streams() {
            tokio::select! {
                n = conn.accept() => n,
                _ = shutdown.changed() => {
                    conn.graceful_shutdown();
                    closing = true;
                    continue;
                }
            }
        } else {
            // An idle connection is closed after `Client` seconds, as an idle HTTP/1 one is.
            tokio::select! {
                n = tokio::time::timeout(idle, conn.accept()) => match n {
                    Ok(n) => n,
                    Err(_) => {
                        conn.graceful_shutdown();
                        closing = true;
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
            Some(Ok((req, respond))) => {
                let peer = peer.clone();
                let listener = listener.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(stream(req, respond, peer, listener, shutdown, id));
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

/// The HTTP/1.1 head that stands for an HTTP/2 request, and whether its body must be sent
/// chunked (no `Content-Length` was given).
fn request_head(parts: &http::request::Parts, has_body: bool) -> (Vec<u8>, bool) {
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
    let chunked = has_body && !parts.headers.contains_key(http::header::CONTENT_LENGTH);
    if chunked {
        head.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    head.extend_from_slice(b"\r\n");
    (head, chunked)
}

/// One request stream: hands it to the engine and relays the answer.
async fn stream(
    req: http::Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    peer: Peer,
    listener: Arc<Listener>,
    shutdown: watch::Receiver<bool>,
    id: u64,
) {
    let (parts, body) = req.into_parts();
    if parts.method == Method::CONNECT {
        // Neither tunnels nor extended CONNECT are offered over HTTP/2.
        respond.send_reset(Reason::REFUSED_STREAM);
        return;
    }
    let (head, chunked) = request_head(&parts, !body.is_end_stream());
    let method = parts.method;
    let (ours, engine_end) = tokio::io::duplex(PIPE);
    let patience = listener.client_timeout;
    let engine = proxy::serve(Stream::Pipe(engine_end), peer, listener, shutdown, id);
    // The bridge owns this end of the pipe: when it is done, the pipe closes and the engine
    // sees the end of its "connection".
    let bridge = async move {
        let (mut from_engine, to_engine) = tokio::io::split(ours);
        let answered = {
            let upload = send_request(head, chunked, body, to_engine);
            let download = relay_response(&mut from_engine, &mut respond, &method, patience);
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
        if !answered {
            respond.send_reset(Reason::INTERNAL_ERROR);
        }
    };
    tokio::join!(engine, bridge);
}

/// Writes the request head and then its body into the pipe, reopening the client's
/// window only for what the engine has taken.
async fn send_request(
    head: Vec<u8>,
    chunked: bool,
    mut body: RecvStream,
    mut pipe: tokio::io::WriteHalf<tokio::io::DuplexStream>,
) {
    if pipe.write_all(&head).await.is_err() {
        return;
    }
    while let Some(data) = body.data().await {
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
    }
    if chunked && pipe.write_all(b"0\r\n\r\n").await.is_err() {
        return;
    }
    let _ = pipe.shutdown().await;
}

/// Reads the engine's HTTP/1.1 response from the pipe and sends it on the stream; false
/// when no complete response could be sent (the stream is then reset).
async fn relay_response(
    pipe: &mut tokio::io::ReadHalf<tokio::io::DuplexStream>,
    respond: &mut SendResponse<Bytes>,
    method: &Method,
    patience: Duration,
) -> bool {
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
            Err(_) => return false,
        }
        match pipe.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
    }
    let mut out = http::Response::new(());
    *out.status_mut() = match http::StatusCode::from_u16(resp.status) {
        Ok(s) => s,
        Err(_) => return false,
    };
    copy_fields(&resp, out.headers_mut());
    let empty = matches!(resp.body, BodyKind::Empty | BodyKind::Length(0));
    let Ok(mut send) = respond.send_response(out, empty) else {
        return false;
    };
    if empty {
        return true;
    }
    let mut sender = Sender {
        send: &mut send,
        patience,
    };
    let done = match resp.body {
        BodyKind::Length(n) => copy_length(pipe, &mut buf, n, &mut sender).await,
        BodyKind::Chunked => copy_chunked(pipe, &mut buf, &mut sender).await,
        _ => copy_until_close(pipe, &mut buf, &mut sender).await,
    };
    done && sender.finish()
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

/// Sends body data as the client's flow-control window allows. A client that opens no
/// window for `patience` (the `Client` time-out) loses the stream, as a client that stops
/// reading an HTTP/1 response loses its connection.
struct Sender<'a> {
    send: &'a mut SendStream<Bytes>,
    patience: Duration,
}

impl Sender<'_> {
    async fn data(&mut self, mut data: Bytes) -> bool {
        while !data.is_empty() {
            self.send.reserve_capacity(data.len());
            let capacity = std::future::poll_fn(|cx| self.send.poll_capacity(cx));
            let n = match tokio::time::timeout(self.patience, capacity).await {
                Ok(Some(Ok(n))) => n.min(data.len()),
                _ => return false,
            };
            if n == 0 {
                continue;
            }
            if self.send.send_data(data.split_to(n), false).is_err() {
                return false;
            }
        }
        true
    }

    fn finish(&mut self) -> bool {
        self.send.send_data(Bytes::new(), true).is_ok()
    }
}

/// Reads more of the response into `buf`; false at the end of the pipe.
async fn fill(pipe: &mut tokio::io::ReadHalf<tokio::io::DuplexStream>, buf: &mut BytesMut) -> bool {
    buf.reserve(CHUNK);
    matches!(pipe.read_buf(buf).await, Ok(n) if n > 0)
}

async fn copy_length(
    pipe: &mut tokio::io::ReadHalf<tokio::io::DuplexStream>,
    buf: &mut BytesMut,
    mut left: u64,
    out: &mut Sender<'_>,
) -> bool {
    while left > 0 {
        if buf.is_empty() && !fill(pipe, buf).await {
            return false;
        }
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        left -= n as u64;
        if !out.data(buf.split_to(n).freeze()).await {
            return false;
        }
    }
    true
}

async fn copy_chunked(
    pipe: &mut tokio::io::ReadHalf<tokio::io::DuplexStream>,
    buf: &mut BytesMut,
    out: &mut Sender<'_>,
) -> bool {
    let mut decoder = Decoder::new();
    while !decoder.is_done() {
        if buf.is_empty() && !fill(pipe, buf).await {
            return false;
        }
        let Ok((n, segment)) = decoder.advance(buf) else {
            return false;
        };
        let part = buf.split_to(n);
        if segment == Segment::Data && !out.data(part.freeze()).await {
            return false;
        }
    }
    true
}

async fn copy_until_close(
    pipe: &mut tokio::io::ReadHalf<tokio::io::DuplexStream>,
    buf: &mut BytesMut,
    out: &mut Sender<'_>,
) -> bool {
    loop {
        if !buf.is_empty() {
            let part = buf.split().freeze();
            if !out.data(part).await {
                return false;
            }
        }
        if !fill(pipe, buf).await {
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_of(req: http::Request<()>, has_body: bool) -> (String, bool) {
        let (parts, _) = req.into_parts();
        let (h, chunked) = request_head(&parts, has_body);
        (String::from_utf8(h).expect("text"), chunked)
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
        let (h, chunked) = head_of(req, false);
        assert_eq!(
            h,
            "GET /a/b?x=1 HTTP/1.1\r\nHost: www.example.org:8443\r\nuser-agent: t\r\ncookie: a=1; b=2\r\n\r\n"
        );
        assert!(!chunked);

        let req = http::Request::builder()
            .method("POST")
            .uri("/up")
            .header("host", "h")
            .body(())
            .expect("request");
        let (h, chunked) = head_of(req, true);
        assert_eq!(
            h,
            "POST /up HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        assert!(chunked);

        let req = http::Request::builder()
            .method("PUT")
            .uri("https://h/up")
            .header("content-length", "5")
            .body(())
            .expect("request");
        let (h, chunked) = head_of(req, true);
        assert_eq!(
            h,
            "PUT /up HTTP/1.1\r\nHost: h\r\ncontent-length: 5\r\n\r\n"
        );
        assert!(!chunked);
    }
}
