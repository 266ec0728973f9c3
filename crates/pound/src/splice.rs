//! Zero-copy relaying between two plain sockets with splice(2), for `Tunnel` listeners.
//!
//! A tunnel moves bytes it never looks at, so they need not enter user space: each
//! direction splices from the source socket into a pipe and from the pipe into the
//! destination socket, and the kernel moves page references instead of copying. The
//! readiness of both sockets comes from the runtime (`readable`/`writable` and `try_io`),
//! so no thread ever blocks. TLS streams cannot be spliced; `relay::tunnel` copies those.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::Interest;
use tokio::net::{TcpStream, UnixStream};
use tokio::time::Instant;

use crate::io::Stream;

/// The most bytes moved by one splice: a pipe holds 64 KiB by default.
const CHUNK: usize = 64 * 1024;

/// A socket that can be spliced.
#[derive(Clone, Copy)]
pub enum Plain<'a> {
    Tcp(&'a TcpStream),
    Unix(&'a UnixStream),
}

impl<'a> Plain<'a> {
    /// The plain socket under `s`, if it is one.
    pub fn of(s: &'a Stream) -> Option<Plain<'a>> {
        match s {
            Stream::Tcp(t) => Some(Plain::Tcp(t)),
            Stream::Unix(u) => Some(Plain::Unix(u)),
            _ => None,
        }
    }

    fn fd(self) -> RawFd {
        match self {
            Plain::Tcp(t) => t.as_raw_fd(),
            Plain::Unix(u) => u.as_raw_fd(),
        }
    }

    async fn ready(self, interest: Interest) -> io::Result<()> {
        match self {
            Plain::Tcp(t) => t.ready(interest).await.map(|_| ()),
            Plain::Unix(u) => u.ready(interest).await.map(|_| ()),
        }
    }

    fn try_io<R>(self, interest: Interest, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        match self {
            Plain::Tcp(t) => t.try_io(interest, f),
            Plain::Unix(u) => u.try_io(interest, f),
        }
    }
}

/// The two pipes of a tunnel, one per direction: four descriptors, made before relaying so
/// that a process short of descriptors copies instead (`relay::tunnel`).
pub struct Pipes(Pipe, Pipe);

impl Pipes {
    pub fn new() -> io::Result<Pipes> {
        Ok(Pipes(Pipe::new()?, Pipe::new()?))
    }
}

/// A pipe for one direction; both ends close when it is dropped.
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
}

impl Pipe {
    fn new() -> io::Result<Pipe> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 succeeded, so both descriptors are open and owned by no one else.
        Ok(unsafe {
            Pipe {
                read: OwnedFd::from_raw_fd(fds[0]),
                write: OwnedFd::from_raw_fd(fds[1]),
            }
        })
    }
}

fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    // SAFETY: plain descriptors and null offsets (both ends are streams); splice reads and
    // writes no memory of ours.
    let n = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// When either direction last moved a byte, in milliseconds since `Clock::start`.
struct Clock {
    start: Instant,
    last: AtomicU64,
}

impl Clock {
    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last.store(ms, Ordering::Relaxed);
    }

    fn deadline(&self, idle: Duration) -> Instant {
        self.start + Duration::from_millis(self.last.load(Ordering::Relaxed)) + idle
    }
}

/// Waits until `sock` is ready for `interest`, or fails once nothing has moved in either
/// direction for `idle`.
async fn ready(
    sock: Plain<'_>,
    interest: Interest,
    clock: &Clock,
    idle: Duration,
) -> io::Result<()> {
    loop {
        let deadline = clock.deadline(idle);
        match tokio::time::timeout_at(deadline, sock.ready(interest)).await {
            Ok(r) => return r,
            // The other direction may have moved meanwhile, pushing the deadline on.
            Err(_) if clock.deadline(idle) > deadline => continue,
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "idle tunnel timed out",
                ))
            }
        }
    }
}

/// Moves everything `from` sends to `to` through `pipe`, then half-closes `to`.
async fn direction(
    from: Plain<'_>,
    to: Plain<'_>,
    pipe: &Pipe,
    clock: &Clock,
    idle: Duration,
) -> io::Result<()> {
    let (pipe_r, pipe_w) = (pipe.read.as_raw_fd(), pipe.write.as_raw_fd());
    let mut pending = 0usize;
    loop {
        if pending == 0 {
            ready(from, Interest::READABLE, clock, idle).await?;
            match from.try_io(Interest::READABLE, || splice(from.fd(), pipe_w, CHUNK)) {
                Ok(0) => {
                    // SAFETY: a socket descriptor that `to` keeps open.
                    unsafe { libc::shutdown(to.fd(), libc::SHUT_WR) };
                    return Ok(());
                }
                Ok(n) => {
                    pending = n;
                    clock.touch();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        } else {
            ready(to, Interest::WRITABLE, clock, idle).await?;
            match to.try_io(Interest::WRITABLE, || splice(pipe_r, to.fd(), pending)) {
                Ok(n) => {
                    pending -= n.min(pending);
                    clock.touch();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Relays between `a` and `b` through `pipes` until both have closed, or nothing moved for
/// `idle`.
pub async fn tunnel(a: Plain<'_>, b: Plain<'_>, pipes: &Pipes, idle: Duration) -> io::Result<()> {
    let clock = Clock {
        start: Instant::now(),
        last: AtomicU64::new(0),
    };
    tokio::try_join!(
        direction(a, b, &pipes.0, &clock, idle),
        direction(b, a, &pipes.1, &clock, idle)
    )
    .map(|_| ())
}
