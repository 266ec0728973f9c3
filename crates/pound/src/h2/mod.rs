//! HTTP/2 for clients.
//!
//! The `h2` crate speaks the protocol: framing, HPACK, flow control, stream limits and
//! protocol errors (a malformed stream is reset, a broken connection gets GOAWAY with the
//! matching error code). This module serves a connection (its streams, their number, idle
//! and closing times); each request stream is an exchange of the engine ([`crate::proxy`])
//! whose client side is the stream (`stream`), so that it goes through exactly the same
//! checks, service selection, rewriting, balancing, backend connection pooling and logging
//! as any other request. `map` turns stream heads into the engine's heads and back.
//!
//! Bodies stream both ways with backpressure: request data is acknowledged to the client
//! (its flow-control window reopened) only once it was written to the backend, and response
//! data is read from the backend only as fast as the client's window lets it be sent.

mod map;
mod stream;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use h2::Reason;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{watch, Semaphore};

use crate::logmsg;
use crate::proxy::{Peer, Tag};
use crate::state::Listener;

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
    let (io, mut back) = crate::io::Handback::new(io);
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
    // The streams being served run in this task, beside the connection: no task of their
    // own to allocate and schedule, and none of the connection's state shared across threads.
    let mut streams = FuturesUnordered::new();
    // `Client` without a new stream while none is served ends the connection; once
    // closing, `CLOSING` without progress.
    let timer = tokio::time::sleep(idle);
    tokio::pin!(timer);
    let mut closing = false;
    // When the last stream arrived: a firing timer finds whether its whole time has passed
    // since then, and if not is set again for the rest.
    let mut last = tokio::time::Instant::now();
    loop {
        let next = tokio::select! {
            // Streams first, as long as any is ready: their frames then go out together
            // when the connection is polled next, in as few writes as possible.
            biased;
            Some(()) = streams.next(), if !streams.is_empty() => continue,
            n = conn.accept() => n,
            () = &mut timer => {
                // The deadline moves with each new stream, lazily: the timer is only set
                // again when it fires early, not once per stream.
                let due = last + if closing { CLOSING } else { idle };
                if due > tokio::time::Instant::now() {
                    timer.as_mut().reset(due);
                    continue;
                }
                if closing {
                    break;
                }
                // Idle for `Client` seconds with no stream being served: closed, as an
                // idle HTTP/1 connection is.
                if streams.is_empty() {
                    conn.graceful_shutdown();
                    closing = true;
                    timer.as_mut().reset(tokio::time::Instant::now() + CLOSING);
                } else {
                    timer.as_mut().reset(tokio::time::Instant::now() + idle);
                }
                continue;
            }
            _ = shutdown.changed(), if !closing => {
                conn.graceful_shutdown();
                closing = true;
                timer.as_mut().reset(tokio::time::Instant::now() + CLOSING);
                continue;
            }
        };
        last = tokio::time::Instant::now();
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
                streams.push(Box::pin(async move {
                    let permit = tokio::select! {
                        // A free place is taken without asking h2 about a reset first.
                        biased;
                        p = permits.acquire_owned() => p,
                        _ = std::future::poll_fn(|cx| respond.poll_reset(cx)) => return,
                    };
                    drop(place);
                    if let Ok(permit) = permit {
                        stream::serve(req, respond, peer, listener, shutdown, id, permit).await;
                    }
                }));
            }
            Some(Err(e)) => {
                if !e.is_io() && !e.is_go_away() {
                    logmsg!(Notice, "{tag}{}: HTTP/2 error: {e}", peer.ip);
                }
                break;
            }
            None => break,
        }
        if *shutdown.borrow() && !closing {
            conn.graceful_shutdown();
            closing = true;
        }
    }
    // The connection is over: streams still in flight end now, their frames undeliverable,
    // each accounted for as its exchange ends.
    let _ = tokio::time::timeout(CLOSING, async { while streams.next().await.is_some() {} }).await;
    // h2 has sent its GOAWAY and closed its side; the stream comes back to be closed
    // without a reset that could destroy frames the client has not read yet.
    drop(conn);
    if let Ok(mut io) = back.try_recv() {
        let mut buf = crate::io::InBuf::new(4096, 4096);
        crate::io::linger(&mut io, &mut buf).await;
    }
}
