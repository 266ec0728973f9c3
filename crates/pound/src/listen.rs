//! Opening the listening sockets at start-up: TCP (address literal or host name), UNIX
//! sockets, and sockets received from another process (`SocketFrom`).

use std::io;
use std::net::TcpListener as StdTcpListener;
use std::os::fd::AsRawFd;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener as StdUnixListener, UnixStream as StdUnixStream};
use std::path::Path;

use pound_config::model::ListenAddr;

use crate::state::resolve;

/// An open listening socket, not yet registered with the runtime.
pub enum Socket {
    Tcp(StdTcpListener),
    Unix(StdUnixListener),
}

/// Checks that a listener's address can be used, before anything is bound: pound reports an
/// address it cannot resolve while reading its configuration, in its words.
pub fn check(addr: &ListenAddr, dns: bool) -> Result<(), String> {
    match addr {
        ListenAddr::Inet { host, port } if dns && host.parse::<std::net::IpAddr>().is_err() => {
            use std::net::ToSocketAddrs;
            match (host.as_str(), *port).to_socket_addrs() {
                Ok(mut a) => match a.next() {
                    Some(_) => Ok(()),
                    None => Err("bad listener address: no address".into()),
                },
                Err(e) => Err(format!(
                    "bad listener address: {}",
                    pound_config::env::describe_io_error(&e)
                )),
            }
        }
        ListenAddr::Inet { host, port } => resolve(host, *port, dns).map(|_| ()),
        _ => Ok(()),
    }
}

/// Opens the socket for one listener. With `defer_secs`, the kernel holds a connection
/// until its first bytes arrive (for up to that long). The error is the message to print.
pub fn open(addr: &ListenAddr, dns: bool, defer_secs: Option<u32>) -> Result<Socket, String> {
    match addr {
        ListenAddr::Inet { host, port } => {
            let sa = resolve(host, *port, dns)?;
            let l = StdTcpListener::bind(sa).map_err(|e| {
                format!(
                    "can't bind HTTP socket to {sa}: {}",
                    pound_config::env::describe_io_error(&e)
                )
            })?;
            l.set_nonblocking(true).map_err(|e| e.to_string())?;
            if let Some(secs) = defer_secs {
                defer_accept(&l, secs);
            }
            Ok(Socket::Tcp(l))
        }
        ListenAddr::Unix(path) => {
            // A socket file left by an earlier run would make bind fail.
            if let Ok(meta) = std::fs::symlink_metadata(path) {
                use std::os::unix::fs::FileTypeExt;
                if meta.file_type().is_socket() {
                    let _ = std::fs::remove_file(path);
                }
            }
            let l = StdUnixListener::bind(path).map_err(|e| {
                format!(
                    "can't bind HTTP socket to {}: {}",
                    path.display(),
                    pound_config::env::describe_io_error(&e)
                )
            })?;
            l.set_nonblocking(true).map_err(|e| e.to_string())?;
            Ok(Socket::Unix(l))
        }
        ListenAddr::SocketFrom(path) => socket_from(path),
    }
}

/// Asks the kernel to hand over a connection only once its first bytes have arrived (for up
/// to `secs`), which saves a wake-up per connection; a connection that never sends anything
/// never reaches pound at all. Best effort: where the option is missing nothing changes.
fn defer_accept(l: &StdTcpListener, secs: u32) {
    let secs = secs.max(1) as libc::c_int;
    // SAFETY: a valid socket descriptor and a correctly sized option value.
    unsafe {
        libc::setsockopt(
            l.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&secs as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// `SocketFrom`: connects to the UNIX socket `path` and receives one listening socket.
fn socket_from(path: &Path) -> Result<Socket, String> {
    let conn =
        StdUnixStream::connect(path).map_err(|e| format!("connect {}: {e}", path.display()))?;
    let fd = receive_fd(conn.as_raw_fd()).map_err(|e| format!("can't get socket: {e}"))?;
    // SAFETY: the descriptor was just received and is owned by nobody else.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let family =
        socket_family(owned.as_raw_fd()).map_err(|e| format!("can't get socket address: {e}"))?;
    let raw = {
        use std::os::fd::IntoRawFd;
        owned.into_raw_fd()
    };
    // SAFETY: `raw` is a socket we own; ownership moves into the listener.
    let socket = unsafe {
        if family == libc::AF_UNIX {
            let l = StdUnixListener::from_raw_fd(raw);
            l.set_nonblocking(true).map_err(|e| e.to_string())?;
            Socket::Unix(l)
        } else {
            let l = StdTcpListener::from_raw_fd(raw);
            l.set_nonblocking(true).map_err(|e| e.to_string())?;
            Socket::Tcp(l)
        }
    };
    Ok(socket)
}

fn socket_family(fd: RawFd) -> io::Result<i32> {
    // SAFETY: getsockname writes at most `len` bytes into `ss`.
    unsafe {
        let mut ss: libc::sockaddr_storage = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        if libc::getsockname(
            fd,
            (&mut ss as *mut libc::sockaddr_storage).cast(),
            &mut len,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok(i32::from(ss.ss_family))
    }
}

/// Receives one descriptor sent with SCM_RIGHTS on the connected socket `sock`.
fn receive_fd(sock: RawFd) -> io::Result<RawFd> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // Room for one descriptor, aligned as cmsghdr requires.
    let mut control = [0u64; 8];
    // SAFETY: msghdr is plain data; every pointer in it refers to live local buffers, and the
    // control data is only read through the CMSG macros within the length the kernel set.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as _;
        let n = libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null()
            || (*cmsg).cmsg_level != libc::SOL_SOCKET
            || (*cmsg).cmsg_type != libc::SCM_RIGHTS
            || (*cmsg).cmsg_len as usize
                != libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize
        {
            return Err(io::Error::other("no socket descriptor received"));
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>());
        Ok(fd)
    }
}
