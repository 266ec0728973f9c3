//! Moving message bodies from one side to the other, streamed with backpressure: a body is
//! never held whole, only what one buffer holds at a time.
//!
//! Every function takes a `prefix` (a head not yet written) so that a head and the first
//! bytes of its body leave in one system call; it is left empty once written, so a caller
//! whose relay failed can tell whether anything reached the other side.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::http::chunked::{ChunkError, Decoder, Segment};
use crate::http::BodyKind;
use crate::io::{timed, write_flush, write_two, InBuf};
use crate::pace::Pace;

/// Why relaying stopped early.
#[derive(Debug)]
pub enum RelayError {
    /// Reading the source failed, timed out, or it ended before the body did.
    Read(io::Error),
    /// Writing the destination failed or timed out.
    Write(io::Error),
    /// The chunked framing is malformed.
    Framing(ChunkError),
    /// The body is larger than allowed (`MaxRequest`).
    TooLarge,
}

/// Time limits for one relay: for each read from the source and each write to the
/// destination, and which of the two is the client, whose waits are paced (see `pace`).
pub struct Limits<'p> {
    pub read: Duration,
    pub write: Duration,
    pub client: Client<'p>,
}

/// Which end of a relay is the client.
pub enum Client<'p> {
    Source(&'p mut Pace),
    Destination(&'p mut Pace),
}

async fn fill<R: AsyncRead + Unpin>(
    buf: &mut InBuf,
    src: &mut R,
    lim: &mut Limits<'_>,
) -> Result<(), RelayError> {
    let read = match &mut lim.client {
        Client::Source(pace) => pace.wait(lim.read, buf.fill(src)).await,
        Client::Destination(_) => timed(lim.read, buf.fill(src)).await,
    };
    match read {
        Ok(0) => Err(RelayError::Read(io::ErrorKind::UnexpectedEof.into())),
        Ok(_) => Ok(()),
        Err(e) => Err(RelayError::Read(e)),
    }
}

async fn send<W: AsyncWrite + Unpin>(
    dst: &mut W,
    prefix: &mut &[u8],
    data: &[u8],
    lim: &mut Limits<'_>,
) -> Result<(), RelayError> {
    match &mut lim.client {
        Client::Destination(pace) => pace.write(dst, lim.write, prefix, data).await,
        Client::Source(_) => {
            let write = async {
                write_two(dst, prefix, data).await?;
                // TLS keeps what it accepted until flushed (see `write_flush`).
                dst.flush().await
            };
            timed(lim.write, write).await
        }
    }
    .map_err(RelayError::Write)?;
    *prefix = &[];
    Ok(())
}

/// How to relay one body: its framing as received, whether to strip chunked framing (for
/// HTTP/1.0 peers), and the largest body allowed.
#[derive(Debug, Clone, Copy)]
pub struct Body {
    pub kind: BodyKind,
    pub decode: bool,
    pub max: Option<u64>,
}

/// Relays one body of any framing, writing `prefix` first (alone when there is no body).
/// Returns the number of bytes written after the prefix.
pub async fn body<R, W>(
    buf: &mut InBuf,
    src: &mut R,
    dst: &mut W,
    prefix: &mut &[u8],
    body: Body,
    mut lim: Limits<'_>,
) -> Result<u64, RelayError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    match body.kind {
        BodyKind::Empty => {
            send(dst, prefix, &[], &mut lim).await?;
            Ok(0)
        }
        BodyKind::Length(n) => exact(buf, src, dst, prefix, n, lim).await,
        BodyKind::Chunked => chunked(buf, src, dst, prefix, body.decode, body.max, lim).await,
        BodyKind::UntilClose => until_eof(buf, src, dst, prefix, lim).await,
    }
}

/// Relays exactly `n` body bytes. Returns the number of body bytes written.
async fn exact<R, W>(
    buf: &mut InBuf,
    src: &mut R,
    dst: &mut W,
    prefix: &mut &[u8],
    n: u64,
    mut lim: Limits<'_>,
) -> Result<u64, RelayError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut left = n;
    while left > 0 {
        if buf.is_empty() {
            if !prefix.is_empty() {
                send(dst, prefix, &[], &mut lim).await?;
            }
            fill(buf, src, &mut lim).await?;
        }
        let take = usize::try_from(left)
            .unwrap_or(usize::MAX)
            .min(buf.data().len());
        send(dst, prefix, &buf.data()[..take], &mut lim).await?;
        buf.consume(take);
        left -= take as u64;
    }
    if !prefix.is_empty() {
        send(dst, prefix, &[], &mut lim).await?;
    }
    Ok(n)
}

/// Relays a chunked body, checked but not re-framed, trailers included (less the fields
/// that must not be trailers); with `decode`, only the data is written (for HTTP/1.0 peers).
/// Stops with [`RelayError::TooLarge`] as soon as a chunk size would take the data beyond
/// `max`, before that size line is passed on. Returns the number of bytes written.
async fn chunked<R, W>(
    buf: &mut InBuf,
    src: &mut R,
    dst: &mut W,
    prefix: &mut &[u8],
    decode: bool,
    max: Option<u64>,
    mut lim: Limits<'_>,
) -> Result<u64, RelayError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut dec = Decoder::new();
    let mut data_total: u64 = 0;
    let mut written: u64 = 0;
    // The trailer section, held until it is complete so that it can be filtered.
    let mut trailers: Vec<u8> = Vec::new();
    while !dec.is_done() {
        if buf.is_empty() {
            if !prefix.is_empty() {
                send(dst, prefix, &[], &mut lim).await?;
            }
            fill(buf, src, &mut lim).await?;
        }
        let data = buf.data();
        let mut used = 0;
        // Bytes from here to `used` go out as they are.
        let mut pass = 0;
        while used < data.len() && !dec.is_done() {
            let (k, seg) = dec.advance(&data[used..]).map_err(RelayError::Framing)?;
            match seg {
                Segment::Data => {
                    data_total += k as u64;
                    if decode {
                        send(dst, prefix, &data[used..used + k], &mut lim).await?;
                        written += k as u64;
                    }
                }
                Segment::Framing => {
                    if max.is_some_and(|m| data_total.saturating_add(dec.remaining()) > m) {
                        return Err(RelayError::TooLarge);
                    }
                }
                // The empty line that ends a body without trailers goes out with the rest.
                Segment::Trailer if trailers.is_empty() && dec.is_done() && k == 2 => {}
                Segment::Trailer => {
                    if !decode {
                        send(dst, prefix, &data[pass..used], &mut lim).await?;
                        written += (used - pass) as u64;
                        trailers.extend_from_slice(&data[used..used + k]);
                    }
                    pass = used + k;
                }
            }
            used += k;
        }
        if !decode && used > pass {
            send(dst, prefix, &data[pass..used], &mut lim).await?;
            written += (used - pass) as u64;
        }
        buf.consume(used);
    }
    if !trailers.is_empty() {
        let mut kept = Vec::with_capacity(trailers.len());
        crate::http::chunked::filter_trailers(&trailers, &mut kept);
        send(dst, prefix, &kept, &mut lim).await?;
        written += kept.len() as u64;
    }
    if !prefix.is_empty() {
        send(dst, prefix, &[], &mut lim).await?;
    }
    Ok(written)
}

/// Relays everything until the source closes (responses without a length).
async fn until_eof<R, W>(
    buf: &mut InBuf,
    src: &mut R,
    dst: &mut W,
    prefix: &mut &[u8],
    mut lim: Limits<'_>,
) -> Result<u64, RelayError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut written = 0;
    loop {
        if !buf.is_empty() {
            let n = buf.data().len();
            send(dst, prefix, buf.data(), &mut lim).await?;
            buf.consume(n);
            written += n as u64;
        }
        if !prefix.is_empty() {
            send(dst, prefix, &[], &mut lim).await?;
        }
        match timed(lim.read, buf.fill(src)).await {
            Ok(0) => return Ok(written),
            // A TLS backend that closes without close_notify ends such a body too, as
            // it does with OpenSSL.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(written),
            Ok(_) => {}
            Err(e) => return Err(RelayError::Read(e)),
        }
    }
}

/// A bidirectional byte tunnel (after `101 Switching Protocols`), ended when both sides
/// have closed or nothing has moved in either direction for `idle`.
pub async fn tunnel<A, B>(a: &mut A, b: &mut B, idle: Duration) -> io::Result<()>
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let (mut ar, mut aw) = tokio::io::split(a);
    let (mut br, mut bw) = tokio::io::split(b);
    let mut abuf = vec![0u8; 16 * 1024];
    let mut bbuf = vec![0u8; 16 * 1024];
    let (mut a_open, mut b_open) = (true, true);
    while a_open || b_open {
        tokio::select! {
            r = ar.read(&mut abuf), if a_open => {
                let n = r?;
                if n == 0 {
                    a_open = false;
                    let _ = bw.shutdown().await;
                } else {
                    timed(idle, write_flush(&mut bw, &abuf[..n])).await?;
                }
            }
            r = br.read(&mut bbuf), if b_open => {
                let n = r?;
                if n == 0 {
                    b_open = false;
                    let _ = aw.shutdown().await;
                } else {
                    timed(idle, write_flush(&mut aw, &bbuf[..n])).await?;
                }
            }
            _ = tokio::time::sleep(idle) => {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "idle tunnel timed out"));
            }
        }
    }
    Ok(())
}
