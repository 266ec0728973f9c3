//! One HTTP/2 request stream, the client side of its exchange: the request head made from
//! the stream's (see `map`), the body read from its data frames, the answer sent as
//! HEADERS, DATA and trailer frames, within the client's flow-control window and pace.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h2::server::SendResponse;
use h2::{Reason, RecvStream, SendStream};
use http::{HeaderMap, Method, StatusCode};
use tokio::sync::{watch, OwnedSemaphorePermit};

use super::map;
use crate::http::chunked::{Decoder, Segment};
use crate::http::head::Head;
use crate::http::request::Request;
use crate::http::response::Response;
use crate::http::{BodyKind, Version};
use crate::io::{timed, write_flush, write_two, InBuf, Stream};
use crate::pace::{Pace, SlowStreams};
use crate::proxy::downstream::{BodyWait, Cut, Downstream, Relayed, Respond};
use crate::proxy::failure::CANCEL;
use crate::proxy::{Exchange, Peer, Tag, Warm};
use crate::relay::{self, RelayError};
use crate::state::Listener;

/// Serves one request stream. `permit` is the stream's place among those being served,
/// given back as soon as the stream is over (h2 then lets the client open another).
pub async fn serve(
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
        *answer.status_mut() = StatusCode::NOT_IMPLEMENTED;
        let _ = respond.send_response(answer, true);
        return;
    }
    if !map::well_formed(&parts) {
        respond.send_reset(Reason::PROTOCOL_ERROR);
        return;
    }
    let mut side = H2Stream {
        ended: body.is_end_stream(),
        body,
        early: VecDeque::new(),
        early_len: 0,
        acked: 0,
        respond,
        send: None,
        slow: peer.slow.clone(),
        complete: false,
    };
    // Without `Content-Length` the head waits for the first data (unless the client
    // expects `100 Continue`, which waits for the head to be answered), so that a request
    // whose stream ends without data is sent without a body rather than as an empty
    // chunked one.
    let chunked = if side.ended || parts.headers.contains_key(http::header::CONTENT_LENGTH) {
        false
    } else if parts.headers.contains_key(http::header::EXPECT) {
        true
    } else {
        match tokio::time::timeout(listener.client_timeout, side.receive()).await {
            Ok(Ok(n)) => {
                side.acknowledge(n);
                n > 0
            }
            _ => {
                side.respond.send_reset(Reason::CANCEL);
                return;
            }
        }
    };
    let mut x = Exchange::new(
        side,
        Warm::take(),
        peer,
        listener.clone(),
        shutdown,
        Tag(id),
    );
    let made = map::request(&parts, chunked, &listener.limits, x.request_mut());
    let failure = match made {
        Ok(()) => {
            crate::http::combine::combine(&mut x.request_mut().head, &listener.combine);
            x.serve_request().await.failure
        }
        Err(rej) => {
            let line = if rej.reason == "header line too long" {
                String::new()
            } else {
                String::from_utf8_lossy(x.request_mut().line()).into_owned()
            };
            x.refuse(rej, line).await;
            None
        }
    };
    let mut side = x.finish(None);
    drop(permit);
    if !side.complete {
        // A response cut short by the backend is an error of ours; one the client stopped
        // taking (reset, window shut too long) or gave up on is cancelled.
        let reason = Reason::from(failure.map_or(CANCEL, |f| f.reset_code()));
        match side.send.as_mut() {
            Some(s) => s.send_reset(reason),
            None => side.respond.send_reset(reason),
        }
    }
}

/// The client side of one stream's exchange.
pub struct H2Stream {
    body: RecvStream,
    /// Request data received before the request was forwarded (while its body was awaited),
    /// already acknowledged to the client: at most about [`crate::proxy::downstream::BODY_READY`].
    early: VecDeque<Bytes>,
    early_len: usize,
    /// How much of `early` was acknowledged (the client's window reopened for it) when it
    /// was taken in.
    acked: usize,
    /// The client's half of the stream has ended.
    ended: bool,
    respond: SendResponse<Bytes>,
    /// The response body's stream, once the head was sent.
    send: Option<SendStream<Bytes>>,
    /// The connection's places for streams waiting on their client (`HTTP2MaxSlowStreams`).
    slow: Option<Arc<SlowStreams>>,
    /// The response was sent whole.
    complete: bool,
}

fn h2_error(e: h2::Error) -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, e)
}

impl H2Stream {
    /// Reopens the client's window for `n` bytes held in `early`.
    fn acknowledge(&mut self, n: usize) {
        let _ = self.body.flow_control().release_capacity(n);
        self.acked += n;
    }

    /// Receives the next data frame into `early`: its size, 0 at the end of the stream.
    async fn receive(&mut self) -> io::Result<usize> {
        loop {
            match self.body.data().await {
                Some(Ok(d)) if d.is_empty() => continue,
                Some(Ok(d)) => {
                    let n = d.len();
                    self.early_len += n;
                    self.early.push_back(d);
                    return Ok(n);
                }
                Some(Err(e)) => return Err(h2_error(e)),
                None => {
                    self.ended = true;
                    return Ok(0);
                }
            }
        }
    }

    /// Sends `data` as the client's flow-control window allows, each wait for the window on
    /// the client's pace (a stream whose window stays shut for over a second takes one of
    /// the connection's places for slow streams while it waits).
    /// With `last`, the last frame ends the stream.
    async fn send_data(
        &mut self,
        mut data: Bytes,
        last: bool,
        pace: &mut Pace,
        timeout: Duration,
    ) -> Result<(), RelayError> {
        let Some(send) = self.send.as_mut() else {
            return Err(RelayError::Write(io::ErrorKind::BrokenPipe.into()));
        };
        while !data.is_empty() {
            send.reserve_capacity(data.len());
            let capacity = async {
                match std::future::poll_fn(|cx| send.poll_capacity(cx)).await {
                    Some(Ok(n)) => Ok(n),
                    Some(Err(e)) => Err(h2_error(e)),
                    None => Err(io::ErrorKind::BrokenPipe.into()),
                }
            };
            let n = match pace.wait(timeout, capacity).await {
                Ok(n) => n.min(data.len()),
                Err(e) => return Err(RelayError::Write(e)),
            };
            if n == 0 {
                continue;
            }
            let part = data.split_to(n);
            let end = last && data.is_empty();
            if let Err(e) = send.send_data(part, end) {
                return Err(RelayError::Write(h2_error(e)));
            }
            self.complete = end;
            if let Some(s) = &self.slow {
                s.moved(n);
            }
        }
        Ok(())
    }

    /// Ends the response: with `trailers` when there are any, else with an empty last DATA
    /// frame.
    fn end(&mut self, trailers: Option<HeaderMap>) -> Result<(), RelayError> {
        let Some(send) = self.send.as_mut() else {
            return Err(RelayError::Write(io::ErrorKind::BrokenPipe.into()));
        };
        let sent = match trailers.filter(|t| !t.is_empty()) {
            Some(t) => send.send_trailers(t),
            None => send.send_data(Bytes::new(), true),
        };
        sent.map_err(|e| RelayError::Write(h2_error(e)))?;
        self.complete = true;
        Ok(())
    }

    /// Sends a response head; `end` when no body follows.
    fn head(&mut self, status: u16, fields: HeaderMap, end: bool) -> Result<(), RelayError> {
        let mut head = http::Response::new(());
        *head.status_mut() = StatusCode::from_u16(status)
            .map_err(|_| RelayError::Read(io::ErrorKind::InvalidData.into()))?;
        *head.headers_mut() = fields;
        match self.respond.send_response(head, end) {
            Ok(send) => {
                self.send = Some(send);
                self.complete = end;
                Ok(())
            }
            Err(e) => Err(RelayError::Write(h2_error(e))),
        }
    }

    /// Reads more of the response from the backend; a client that resets the stream
    /// meanwhile ends the relay.
    async fn fill(
        &mut self,
        bin: &mut InBuf,
        backend: &mut Stream,
        read: Duration,
    ) -> Result<usize, RelayError> {
        let reset = async {
            match self.send.as_mut() {
                Some(s) => {
                    let _ = std::future::poll_fn(|cx| s.poll_reset(cx)).await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = timed(read, bin.fill(backend)) => r.map_err(RelayError::Read),
            () = reset => {
                Err(RelayError::Write(io::ErrorKind::ConnectionReset.into()))
            }
        }
    }

    /// The next part of a response body: up to `max` bytes of what was read from the
    /// backend, reading more when nothing is left.
    async fn take(
        &mut self,
        bin: &mut InBuf,
        backend: &mut Stream,
        read: Duration,
        max: usize,
    ) -> Result<Bytes, RelayError> {
        if bin.is_empty() && self.fill(bin, backend, read).await? == 0 {
            return Err(RelayError::Read(io::ErrorKind::UnexpectedEof.into()));
        }
        let n = max.min(bin.data().len());
        let part = Bytes::copy_from_slice(&bin.data()[..n]);
        bin.consume(n);
        Ok(part)
    }

    /// Relays a response body of `kind` from the backend as DATA frames (a chunked body
    /// decoded, its trailers sent as a trailer section); the body bytes sent.
    async fn relay_body(
        &mut self,
        kind: BodyKind,
        bin: &mut InBuf,
        backend: &mut Stream,
        read: Duration,
        pace: &mut Pace,
        timeout: Duration,
    ) -> Result<u64, RelayError> {
        let mut sent = 0u64;
        match kind {
            BodyKind::Empty => {}
            BodyKind::Length(n) => {
                while sent < n {
                    let left = usize::try_from(n - sent).unwrap_or(usize::MAX);
                    let part = self.take(bin, backend, read, left).await?;
                    sent += part.len() as u64;
                    self.send_data(part, sent == n, pace, timeout).await?;
                }
                return Ok(sent);
            }
            BodyKind::Chunked => {
                let mut dec = Decoder::new();
                let mut trailers = Vec::new();
                while !dec.is_done() {
                    if bin.is_empty() && self.fill(bin, backend, read).await? == 0 {
                        return Err(RelayError::Read(io::ErrorKind::UnexpectedEof.into()));
                    }
                    let (k, segment) = dec.advance(bin.data()).map_err(RelayError::Framing)?;
                    match segment {
                        Segment::Data => {
                            let part = Bytes::copy_from_slice(&bin.data()[..k]);
                            bin.consume(k);
                            sent += k as u64;
                            self.send_data(part, false, pace, timeout).await?;
                        }
                        Segment::Trailer => {
                            trailers.extend_from_slice(&bin.data()[..k]);
                            bin.consume(k);
                        }
                        Segment::Framing => bin.consume(k),
                    }
                }
                return self
                    .end(Some(map::trailer_fields(&trailers)))
                    .map(|()| sent);
            }
            BodyKind::UntilClose => loop {
                if !bin.is_empty() {
                    let part = Bytes::copy_from_slice(bin.data());
                    bin.consume(part.len());
                    sent += part.len() as u64;
                    self.send_data(part, false, pace, timeout).await?;
                }
                match self.fill(bin, backend, read).await {
                    Ok(0) => break,
                    Ok(_) => {}
                    // A TLS backend that closes without close_notify ends such a body too.
                    Err(RelayError::Read(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                    Err(e) => return Err(e),
                }
            },
        }
        self.end(None).map(|()| sent)
    }
}

impl Downstream for H2Stream {
    fn is_h2(&self) -> bool {
        true
    }

    async fn body_ready(
        &mut self,
        want: usize,
        _chunked: bool,
        _max: Option<u64>,
        pace: &mut Pace,
        timeout: Duration,
    ) -> Result<(), BodyWait> {
        while !self.ended && self.early_len < want {
            match pace.wait(timeout, self.receive()).await {
                // What is held here is bounded: the window reopens for it at once.
                Ok(n) => self.acknowledge(n),
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    return Err(BodyWait::Closed)
                }
                Err(e) => return Err(BodyWait::TimedOut(e)),
            }
        }
        Ok(())
    }

    async fn proceed(&mut self, _timeout: Duration) -> io::Result<()> {
        let mut info = http::Response::new(());
        *info.status_mut() = StatusCode::CONTINUE;
        self.respond.send_informational(info).map_err(h2_error)
    }

    async fn interim(
        &mut self,
        _req: &Request,
        resp: &Response,
        _out: &mut Vec<u8>,
        _timeout: Duration,
    ) -> io::Result<()> {
        let mut info = http::Response::new(());
        *info.status_mut() =
            StatusCode::from_u16(resp.status).map_err(|_| io::ErrorKind::InvalidData)?;
        *info.headers_mut() = map::response_fields(resp);
        self.respond.send_informational(info).map_err(h2_error)
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
        let chunked = body.kind == BodyKind::Chunked;
        let mut total = 0u64;
        // The head, chunk framing and the end of the previous chunk go out together with
        // the next data.
        let mut frame: Vec<u8> = Vec::new();
        let mut open_chunk = false;
        loop {
            let (data, acknowledged) = match self.early.pop_front() {
                Some(d) => (d, true),
                None if self.ended => break,
                None => {
                    if !head.is_empty() {
                        timed(write, write_flush(backend, head))
                            .await
                            .map_err(RelayError::Write)?;
                        *head = &[];
                    }
                    pace.wait(read, self.receive())
                        .await
                        .map_err(RelayError::Read)?;
                    continue;
                }
            };
            let n = data.len();
            self.early_len -= n;
            // Data taken in while the body was awaited was acknowledged then.
            let acknowledged = acknowledged && self.acked >= n;
            if acknowledged {
                self.acked -= n;
            }
            total += n as u64;
            if chunked && body.max.is_some_and(|m| total > m) {
                return Err(RelayError::TooLarge);
            }
            frame.clear();
            if open_chunk {
                frame.extend_from_slice(b"\r\n");
            }
            frame.extend_from_slice(head);
            *head = &[];
            if chunked {
                let _ = write!(frame, "{n:x}\r\n");
                open_chunk = true;
            }
            let sent = async {
                write_two(backend, &frame, &data).await?;
                tokio::io::AsyncWriteExt::flush(backend).await
            };
            timed(write, sent).await.map_err(RelayError::Write)?;
            if !acknowledged {
                let _ = self.body.flow_control().release_capacity(n);
            }
            if let Some(s) = &self.slow {
                s.moved(n);
            }
        }
        if !chunked {
            // Without framing there is nothing to add: the head (if it has not gone yet)
            // is written as it is.
            if !head.is_empty() {
                timed(write, write_flush(backend, head))
                    .await
                    .map_err(RelayError::Write)?;
                *head = &[];
            }
            return Ok(total);
        }
        frame.clear();
        if open_chunk {
            frame.extend_from_slice(b"\r\n");
        }
        frame.extend_from_slice(head);
        *head = &[];
        frame.extend_from_slice(b"0\r\n");
        // The client's trailer section, less what may not be a trailer.
        if let Ok(Ok(Some(t))) = tokio::time::timeout(read, self.body.trailers()).await {
            let mut section = Vec::new();
            for (name, value) in &t {
                section.extend_from_slice(name.as_str().as_bytes());
                section.extend_from_slice(b": ");
                section.extend_from_slice(value.as_bytes());
                section.extend_from_slice(b"\r\n");
            }
            crate::http::chunked::filter_trailers(&section, &mut frame);
        }
        frame.extend_from_slice(b"\r\n");
        timed(write, write_flush(backend, &frame))
            .await
            .map_err(RelayError::Write)?;
        Ok(total)
    }

    async fn deliver(
        &mut self,
        _version: Version,
        status: u16,
        fields: &Head,
        body: &[u8],
        _out: &mut Vec<u8>,
        pace: &mut Pace,
        timeout: Duration,
    ) -> Option<u64> {
        self.head(status, map::generated_fields(fields), body.is_empty())
            .ok()?;
        if body.is_empty() {
            return Some(0);
        }
        self.send_data(Bytes::copy_from_slice(body), true, pace, timeout)
            .await
            .ok()?;
        Some(body.len() as u64)
    }

    async fn respond(&mut self, r: Respond<'_>) -> Result<Relayed, Cut> {
        let empty = matches!(r.resp.body, BodyKind::Empty | BodyKind::Length(0));
        self.head(r.resp.status, map::response_fields(r.resp), empty)
            .map_err(|error| Cut {
                error,
                head_sent: false,
            })?;
        let timeout = r.listener.client_timeout;
        let bytes = if empty {
            0
        } else {
            self.relay_body(r.resp.body, r.bin, r.backend, r.read, r.pace, timeout)
                .await
                .map_err(|error| Cut {
                    error,
                    head_sent: true,
                })?
        };
        Ok(Relayed {
            bytes,
            keep: false,
            reusable: r.resp.reusable,
        })
    }

    async fn gone(&mut self) {
        let _ = std::future::poll_fn(|cx| self.respond.poll_reset(cx)).await;
    }
}
