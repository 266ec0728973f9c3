//! Buffered reading and vectored writing over async streams, with time-outs.
//!
//! One [`InBuf`] per direction of a connection is reused for every message on it: heads are
//! parsed in place and body bytes pass through it on their way to the other side, so a
//! request costs no buffer allocation once a connection is warm.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

/// How long, and how much, a closing connection reads and discards (see [`linger`]).
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1 << 20;

/// Closes a client connection gently: stops writing, then reads and discards what the
/// client is still sending, for a little while. Closing a socket with unread data resets
/// the connection, and a reset can destroy what the client has not read yet: an error
/// page, the last frames of an HTTP/2 connection, its GOAWAY. `buf` holds what arrives.
pub async fn linger<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S, buf: &mut InBuf) {
    let _ = s.shutdown().await;
    buf.consume(buf.data().len());
    let mut left = LINGER_BYTES;
    let until = tokio::time::Instant::now() + LINGER_TIME;
    while left > 0 {
        let limit = until.saturating_duration_since(tokio::time::Instant::now());
        match timed(limit, buf.fill(s)).await {
            Ok(n) if n > 0 => {
                left = left.saturating_sub(n);
                buf.consume(n);
            }
            _ => return,
        }
    }
}

/// A read buffer: `buf[start..]` holds bytes received but not yet used. Reads go into the
/// vector's spare capacity, so the memory is never zero-filled.
pub struct InBuf {
    buf: Vec<u8>,
    start: usize,
    max: usize,
}

impl InBuf {
    /// A buffer of `initial` bytes that may grow to `max` to hold one message head.
    pub fn new(initial: usize, max: usize) -> InBuf {
        InBuf {
            buf: Vec::with_capacity(initial),
            start: 0,
            max: max.max(initial),
        }
    }

    /// Takes the buffer's memory, leaving it empty with none (it allocates again when
    /// filled). Only an empty buffer gives its memory away.
    pub fn take_storage(&mut self) -> Vec<u8> {
        debug_assert!(self.is_empty());
        self.start = 0;
        let mut v = std::mem::take(&mut self.buf);
        v.clear();
        v
    }

    /// Gives an empty buffer memory to read into (from [`InBuf::take_storage`]).
    pub fn give_storage(&mut self, mut v: Vec<u8>) {
        if self.is_empty() && v.capacity() > self.buf.capacity() {
            v.clear();
            self.buf = v;
            self.start = 0;
        }
    }

    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.buf.len()
    }

    pub fn consume(&mut self, n: usize) {
        self.start += n;
        debug_assert!(self.start <= self.buf.len());
        if self.start >= self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
    }

    /// Reads more bytes from `r`; returns how many (0 at end of stream). Makes room first by
    /// moving unused bytes to the front or growing the buffer up to its maximum.
    pub async fn fill<R: AsyncRead + Unpin + ?Sized>(&mut self, r: &mut R) -> io::Result<usize> {
        if self.buf.len() == self.buf.capacity() {
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            } else if self.buf.capacity() < self.max {
                let more = self
                    .buf
                    .capacity()
                    .max(1024)
                    .min(self.max - self.buf.capacity());
                self.buf.reserve_exact(more);
            } else {
                return Err(io::Error::other("buffer full"));
            }
        }
        r.read_buf(&mut self.buf).await
    }
}

thread_local! {
    /// Backend read buffers not in use, kept per thread so that a request takes a warm buffer
    /// and an idle connection holds none.
    static BUFFERS: std::cell::RefCell<Vec<InBuf>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Buffers kept per thread.
const CACHED_BUFFERS: usize = 64;

/// An empty read buffer of `initial` bytes (growing to `max`), from this thread's cache when
/// it has one.
pub fn take_buffer(initial: usize, max: usize) -> InBuf {
    BUFFERS
        .with(|b| b.borrow_mut().pop())
        .unwrap_or_else(|| InBuf::new(initial, max))
}

/// Returns a buffer to this thread's cache (emptied), or frees it when the cache is full.
pub fn give_buffer(mut buf: InBuf) {
    buf.buf.clear();
    buf.start = 0;
    BUFFERS.with(|b| {
        let mut b = b.borrow_mut();
        if b.len() < CACHED_BUFFERS {
            b.push(buf);
        }
    });
}

/// Runs `f` with a time limit, turning expiry into an `io::ErrorKind::TimedOut` error.
/// Most operations complete at once: those cost no clock reading and no timer.
pub async fn timed<T>(
    limit: Duration,
    f: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    tokio::pin!(f);
    let first = std::future::poll_fn(|cx| match f.as_mut().poll(cx) {
        std::task::Poll::Ready(r) => std::task::Poll::Ready(Some(r)),
        std::task::Poll::Pending => std::task::Poll::Ready(None),
    })
    .await;
    if let Some(r) = first {
        return r;
    }
    match tokio::time::timeout(limit, f).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "Connection timed out",
        )),
    }
}

/// Writes all of `data` and flushes. A TLS stream accepts bytes into its own buffer and
/// sends them only when flushed or written to again, so every message (or the last piece
/// of one) must be flushed before pound waits for the peer.
pub async fn write_flush<W: AsyncWrite + Unpin + ?Sized>(w: &mut W, data: &[u8]) -> io::Result<()> {
    w.write_all(data).await?;
    w.flush().await
}

/// Takes `n` written bytes off the front of `a` then `b`; a write of nothing is an error.
pub fn wrote(a: &mut &[u8], b: &mut &[u8], n: usize) -> io::Result<()> {
    if n == 0 {
        return Err(io::ErrorKind::WriteZero.into());
    }
    if n >= a.len() {
        *b = &b[(n - a.len()).min(b.len())..];
        *a = &[];
    } else {
        *a = &a[n..];
    }
    Ok(())
}

/// Writes `a` then `b` with as few system calls as the stream allows.
pub async fn write_two<W: AsyncWrite + Unpin + ?Sized>(
    w: &mut W,
    mut a: &[u8],
    mut b: &[u8],
) -> io::Result<()> {
    while !a.is_empty() {
        let n = if b.is_empty() {
            w.write(a).await?
        } else {
            w.write_vectored(&[IoSlice::new(a), IoSlice::new(b)])
                .await?
        };
        wrote(&mut a, &mut b, n)?;
    }
    if !b.is_empty() {
        w.write_all(b).await?;
    }
    Ok(())
}

/// A connection: TCP, a UNIX socket, TLS to a backend, or TLS from a client.
#[derive(Debug)]
pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    TlsClient(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    TlsServer(Box<tokio_rustls::server::TlsStream<Stream>>),
}

/// Forwards a call to whichever stream `$s` holds.
macro_rules! each_stream {
    ($s:expr, $v:ident => $e:expr) => {
        match $s {
            Stream::Tcp($v) => $e,
            Stream::Unix($v) => $e,
            Stream::TlsClient($v) => {
                let $v = $v.as_mut();
                $e
            }
            Stream::TlsServer($v) => {
                let $v = $v.as_mut();
                $e
            }
        }
    };
}

impl Stream {
    /// Whether an idle connection still looks usable: no end of stream, no error and no
    /// unsolicited bytes waiting. What this reads is lost, so a connection found not fresh
    /// must be dropped.
    pub fn is_fresh(&mut self) -> bool {
        let mut probe = [0u8; 1];
        let r = match self {
            Stream::Tcp(s) => s.try_read(&mut probe),
            Stream::Unix(s) => s.try_read(&mut probe),
            // Only backend connections are pooled.
            Stream::TlsServer(_) => return false,
            // Through the TLS layer, so that records it already holds (decrypted data, an
            // alert, close_notify) count as well as bytes still in the socket.
            Stream::TlsClient(s) => {
                let mut cx = Context::from_waker(noop_waker());
                let mut buf = ReadBuf::new(&mut probe);
                return Pin::new(s.as_mut())
                    .poll_read(&mut cx, &mut buf)
                    .is_pending();
            }
        };
        matches!(r, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// A waker that does nothing, for polling once without waiting.
fn noop_waker() -> &'static std::task::Waker {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    static WAKER: std::sync::OnceLock<std::task::Waker> = std::sync::OnceLock::new();
    WAKER.get_or_init(|| std::task::Waker::from(std::sync::Arc::new(Noop)))
}

impl Stream {
    /// Waits until reading would find something (data, an end, an error), without a
    /// buffer: an idle connection waits here holding no memory of its own. May return
    /// early; the read that follows then simply waits.
    pub async fn ready_to_read(&mut self) -> io::Result<()> {
        let socket = match self {
            Stream::TlsServer(s) => {
                let (inner, conn) = s.get_mut();
                // Records already received and decrypted are there to read at once.
                match conn.process_new_packets() {
                    Ok(state)
                        if state.plaintext_bytes_to_read() == 0 && !state.peer_has_closed() =>
                    {
                        inner
                    }
                    _ => return Ok(()),
                }
            }
            other => other,
        };
        // Polled in place rather than through `readable()`, whose future is larger: this
        // wait is what every idle connection's task holds.
        std::future::poll_fn(|cx| match socket {
            Stream::Tcp(s) => s.poll_read_ready(cx),
            Stream::Unix(s) => s.poll_read_ready(cx),
            _ => Poll::Ready(Ok(())),
        })
        .await
    }

    /// Makes closing send a reset (SO_LINGER with zero time), so that a peer whose response
    /// was cut short sees an error rather than an ordinary end of stream.
    pub fn reset_on_close(&self) {
        let tcp = match self {
            Stream::Tcp(s) => Some(s),
            Stream::TlsClient(s) => Some(s.get_ref().0),
            Stream::TlsServer(s) => return s.get_ref().0.reset_on_close(),
            Stream::Unix(_) => None,
        };
        if let Some(s) = tcp {
            use std::os::fd::AsRawFd;
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: a valid socket descriptor and a correctly sized option value.
            unsafe {
                libc::setsockopt(
                    s.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&linger as *const libc::linger).cast(),
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                );
            }
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each_stream!(self.get_mut(), s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each_stream!(self.get_mut(), s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each_stream!(self.get_mut(), s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_stream!(self.get_mut(), s => Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_stream!(self.get_mut(), s => Pin::new(s).poll_shutdown(cx))
    }
}

/// A stream whose first bytes were already read: they are read again first.
pub struct Prefixed<S> {
    prefix: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S> Prefixed<S> {
    pub fn new(prefix: Vec<u8>, inner: S) -> Prefixed<S> {
        Prefixed {
            prefix,
            at: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.at < this.prefix.len() {
            let rest = &this.prefix[this.at..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.at += n;
            if this.at == this.prefix.len() {
                this.prefix = Vec::new();
                this.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A stream that goes back to its owner when the user it was lent to drops it: the `h2`
/// crate owns a connection's stream and never returns it, and the server still has to
/// close that stream gently (see [`linger`]) once the connection is over.
pub struct Handback<S> {
    inner: Option<S>,
    back: Option<tokio::sync::oneshot::Sender<S>>,
}

impl<S> Handback<S> {
    /// The stream to lend, and where it comes back.
    pub fn new(inner: S) -> (Handback<S>, tokio::sync::oneshot::Receiver<S>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let lent = Handback {
            inner: Some(inner),
            back: Some(tx),
        };
        (lent, rx)
    }

    fn inner(&mut self) -> io::Result<Pin<&mut S>>
    where
        S: Unpin,
    {
        self.inner
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| io::ErrorKind::NotConnected.into())
    }
}

impl<S> Drop for Handback<S> {
    fn drop(&mut self) {
        if let (Some(inner), Some(back)) = (self.inner.take(), self.back.take()) {
            let _ = back.send(inner);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Handback<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut().inner() {
            Ok(s) => s.poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Handback<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().inner() {
            Ok(s) => s.poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().inner() {
            Ok(s) => s.poll_write_vectored(cx, bufs),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.as_ref().is_some_and(|s| s.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().inner() {
            Ok(s) => s.poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().inner() {
            Ok(s) => s.poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}
