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
/// destination.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub read: Duration,
    pub write: Duration,
}

async fn fill<R: AsyncRead + Unpin>(
    buf: &mut InBuf,
    src: &mut R,
    t: Duration,
) -> Result<(), RelayError> {
    match timed(t, buf.fill(src)).await {
        Ok(0) => Err(RelayError::Read(io::ErrorKind::UnexpectedEof.into())),
        Ok(_) => Ok(()),
        Err(e) => Err(RelayError::Read(e)),
    }
}

async fn send<W: AsyncWrite + Unpin>(
    dst: &mut W,
    prefix: &mut &[u8],
    data: &[u8],
    t: Duration,
) -> Result<(), RelayError> {
    let write = async {
        write_two(dst, prefix, data).await?;
        // TLS keeps what it accepted until flushed (see `write_flush`).
        dst.flush().await
    };
    timed(t, write).await.map_err(RelayError::Write)?;
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
    lim: Limits,
) -> Result<u64, RelayError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    match body.kind {
        BodyKind::Empty => {
            send(dst, prefix, &[], lim.write).await?;
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
    lim: Limits,
) -> Result<u64, RelayError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut left = n;
    while left > 0 {
        if buf.is_empty() {
            if !prefix.is_empty() {
                send(dst, prefix, &[], lim.write).await?;
            }
            fill(buf, src, lim.read).await?;
        }
        let take = usize::try_from(left)
            .unwrap_or(usize::MAX)
            .min(buf.data().len());
        send(dst, prefix, &buf.data()[..take], lim.write).await?;
        buf.consume(take);
        left -= take as u64;
    }
    if !prefix.is_empty() {
        send(dst, prefix, &[], lim.write).await?;
    }
    Ok(n)
}

/// Relays a chunked body, checked but not re-framed, trailers included; with `decode`,
/// only the data is written (for HTTP/1.0 peers). Stops with [`RelayError::TooLarge`] once
/// the data exceeds `max`. Returns the number of bytes written.
async fn chunked<R, W>(
    buf: &mut InBuf,
    src: &mut R,
    dst: &mut W,
    prefix: &mut &[u8],
    decode: bool,
    max: Option<u64>,
    lim: Limits,
) -> Result<u64, RelayError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut dec = Decoder::new();
    let mut data_total: u64 = 0;
    let mut written: u64 = 0;
    while !dec.is_done() {
        if buf.is_empty() {
            if !prefix.is_empty() {
                send(dst, prefix, &[], lim.write).await?;
            }
            fill(buf, src, lim.read).await?;
        }
        let data = buf.data();
        let mut used = 0;
        while used < data.len() && !dec.is_done() {
            let (k, seg) = dec.advance(&data[used..]).map_err(RelayError::Framing)?;
            if seg == Segment::Data {
                data_total += k as u64;
                if max.is_some_and(|m| data_total > m) {
                    return Err(RelayError::TooLarge);
                }
                if decode {
                    send(dst, prefix, &data[used..used + k], lim.write).await?;
                    written += k as u64;
                }
            }
            used += k;
        }
        if !decode {
            send(dst, prefix, &data[..used], lim.write).await?;
            written += used as u64;
        }
        buf.consume(used);
    }
    if !prefix.is_empty() {
        send(dst, prefix, &[], lim.write).await?;
    }
    Ok(written)
}

/// Relays everything until the source closes (responses without a length).
async fn until_eof<R, W>(
    buf: &mut InBuf,
    src: &mut R,
    dst: &mut W,
    prefix: &mut &[u8],
    lim: Limits,
) -> Result<u64, RelayError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut written = 0;
    loop {
        if !buf.is_empty() {
            let n = buf.data().len();
            send(dst, prefix, buf.data(), lim.write).await?;
            buf.consume(n);
            written += n as u64;
        }
        if !prefix.is_empty() {
            send(dst, prefix, &[], lim.write).await?;
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
