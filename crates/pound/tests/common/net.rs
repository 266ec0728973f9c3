//! Running the real `pound` on loopback for integration tests: a listening socket handed
//! over with `SocketFrom`, small scripted backends, and a client speaking raw bytes.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::scratch_dir;

/// How long tests wait for anything before failing.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `f` until it returns `Some`, for at most [`PATIENCE`].
pub fn poll<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < PATIENCE, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// A loopback listening socket handed to pound with `SocketFrom`: the `Listen` lines to put
/// in a listener, and the address.
pub fn handoff(dir: &Path) -> (String, SocketAddr) {
    let socket = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = socket.local_addr().expect("local address");
    let path = dir.join("listen.sock");
    let unix = UnixListener::bind(&path).expect("bind unix");
    thread::spawn(move || {
        let Ok((conn, _)) = unix.accept() else { return };
        send_fd(&conn, socket.as_raw_fd());
        // Keep our copy until pound has its own (it closes the connection).
        let mut b = [0u8; 1];
        let _ = (&conn).read(&mut b);
    });
    (format!("SocketFrom \"{}\"", path.display()), addr)
}

/// Sends `fd` over the connected UNIX socket `sock` with SCM_RIGHTS (for `SocketFrom`).
pub fn send_fd(sock: &std::os::unix::net::UnixStream, fd: i32) {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut control = [0u64; 8];
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(4) as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(4) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<i32>(), fd);
        assert!(libc::sendmsg(sock.as_raw_fd(), &msg, 0) >= 0, "sendmsg");
    }
}

/// Lines a child process wrote, collected by a reader thread.
#[derive(Clone, Default)]
pub struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn collect(self, r: impl Read + Send + 'static) {
        thread::spawn(move || {
            for line in BufReader::new(r).lines() {
                let Ok(line) = line else { break };
                self.0.lock().unwrap().push(line);
            }
        });
    }

    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Waits for a line containing `needle` and returns it.
    pub fn wait_for(&self, needle: &str) -> String {
        poll(
            &format!("a line with {needle:?} in {:?}", self.all()),
            || self.all().into_iter().find(|l| l.contains(needle)),
        )
    }

    pub fn count(&self, needle: &str) -> usize {
        self.all().iter().filter(|l| l.contains(needle)).count()
    }
}

/// A running `pound -F -e`.
pub struct Pound {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    /// Request log lines (standard output).
    pub out: Lines,
    /// pound's own messages (standard error).
    pub err: Lines,
}

impl Pound {
    /// Starts pound with `config`, in which `LISTEN` is replaced by a listener address
    /// (a socket handed over with `SocketFrom`). `LISTEN` should stand where `Address` and
    /// `Port` would.
    pub fn start(config: &str) -> Pound {
        let dir = scratch_dir("pound");
        let socket = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = socket.local_addr().unwrap();
        let unix_path = dir.join("listen.sock");
        let unix = UnixListener::bind(&unix_path).expect("bind unix");
        let handoff = thread::spawn(move || {
            let (conn, _) = unix.accept().expect("accept SocketFrom");
            send_fd(&conn, socket.as_raw_fd());
            // Keep our copy open until pound has its own.
            let mut b = [0u8; 1];
            let _ = (&conn).read(&mut b);
        });
        let config = config.replace("LISTEN", &format!("SocketFrom \"{}\"", unix_path.display()));
        let mut p = Self::spawn(&dir, &config, addr);
        let _ = &mut p;
        drop(handoff);
        p
    }

    /// Starts pound with `config` as is; `addr` is where its listener will be.
    pub fn spawn(dir: &Path, config: &str, addr: SocketAddr) -> Pound {
        let cfg = dir.join("pound.cfg");
        std::fs::write(&cfg, config).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_pound"))
            .args(["-F", "-e", "-W", "no-include-dir", "-p"])
            .arg(dir.join("pound.pid"))
            .arg("-f")
            .arg(&cfg)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pound");
        let out = Lines::default();
        let err = Lines::default();
        out.clone().collect(child.stdout.take().unwrap());
        err.clone().collect(child.stderr.take().unwrap());
        let p = Pound {
            child,
            addr,
            dir: dir.to_path_buf(),
            out,
            err,
        };
        p.err.wait_for("starting...");
        p
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    pub fn signal(&self, sig: i32) {
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    /// Waits for pound to exit and returns its exit code.
    pub fn wait(&mut self) -> Option<i32> {
        poll("pound to exit", || self.child.try_wait().unwrap()).code()
    }

    /// The peak resident memory of pound, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap()
    }
}

impl Drop for Pound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw client connection.
pub struct Client {
    pub s: TcpStream,
    buf: Vec<u8>,
}

/// A parsed response as the client saw it.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
    /// The exact bytes of the body as they came on the wire (chunked framing included).
    pub raw_body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).expect("connect to pound");
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        Client { s, buf: Vec::new() }
    }

    pub fn send(&mut self, bytes: impl AsRef<[u8]>) -> &mut Self {
        self.s.write_all(bytes.as_ref()).expect("send");
        self
    }

    fn fill(&mut self) -> usize {
        let mut b = [0u8; 65536];
        match self.s.read(&mut b) {
            Ok(n) => {
                self.buf.extend_from_slice(&b[..n]);
                n
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
            Err(e) => panic!("read from pound: {e}"),
        }
    }

    /// Reads one response to a request with `method`.
    pub fn response_to(&mut self, method: &str) -> Response {
        let head_end = loop {
            if let Some(p) = find(&self.buf, b"\r\n\r\n") {
                break p + 4;
            }
            assert!(
                self.fill() > 0,
                "connection closed before a response: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end - 4]).into_owned();
        self.buf.drain(..head_end);
        let status: u16 = head[9..12].parse().expect("status");
        let mut r = Response {
            status,
            head,
            body: Vec::new(),
            raw_body: Vec::new(),
        };
        if method == "HEAD" || status == 204 || status == 304 || (100..200).contains(&status) {
            return r;
        }
        if r.header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().ends_with("chunked"))
        {
            loop {
                let line_end = loop {
                    if let Some(p) = find(&self.buf, b"\r\n") {
                        break p;
                    }
                    assert!(self.fill() > 0, "closed in chunked body");
                };
                let line = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
                let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16)
                    .expect("chunk size");
                r.raw_body.extend_from_slice(&self.buf[..line_end + 2]);
                self.buf.drain(..line_end + 2);
                if size == 0 {
                    // Trailers up to the empty line.
                    loop {
                        let e = loop {
                            if let Some(p) = find(&self.buf, b"\r\n") {
                                break p;
                            }
                            assert!(self.fill() > 0, "closed in trailers");
                        };
                        r.raw_body.extend_from_slice(&self.buf[..e + 2]);
                        self.buf.drain(..e + 2);
                        if e == 0 {
                            return r;
                        }
                    }
                }
                while self.buf.len() < size + 2 {
                    assert!(self.fill() > 0, "closed in chunk");
                }
                r.body.extend_from_slice(&self.buf[..size]);
                r.raw_body.extend_from_slice(&self.buf[..size + 2]);
                self.buf.drain(..size + 2);
            }
        } else if let Some(n) = r.header("content-length") {
            let n: usize = n.parse().unwrap();
            while self.buf.len() < n {
                assert!(self.fill() > 0, "closed in body");
            }
            r.body = self.buf.drain(..n).collect();
        } else {
            while self.fill() > 0 {}
            r.body = std::mem::take(&mut self.buf);
        }
        r.raw_body = if r.raw_body.is_empty() {
            r.body.clone()
        } else {
            r.raw_body
        };
        r
    }

    pub fn response(&mut self) -> Response {
        self.response_to("GET")
    }

    /// Bytes received after the last response read, not yet consumed.
    pub fn take_buffered(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Whether the server closed the connection (after any buffered bytes).
    pub fn is_closed(&mut self) -> bool {
        self.buf.is_empty() && self.fill() == 0
    }

    /// Whether the server closes the connection within `d` (false if it stays open, quiet).
    pub fn is_closed_within(&mut self, d: Duration) -> bool {
        self.s.set_read_timeout(Some(d)).unwrap();
        let mut b = [0u8; 1024];
        let closed = match self.s.peek(&mut b) {
            Ok(n) => n == 0,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        };
        self.s.set_read_timeout(Some(PATIENCE)).unwrap();
        closed
    }

    pub fn get(&mut self, path: &str) -> Response {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n"));
        self.response()
    }
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A request as a test backend received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub head: String,
    /// The body bytes exactly as they arrived (chunked framing included).
    pub raw_body: Vec<u8>,
    /// Which accepted connection (0-based) carried it.
    pub conn: usize,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    pub fn line(&self) -> &str {
        self.head.lines().next().unwrap_or("")
    }
}

/// What a test backend does with a request.
pub enum Reply {
    /// Send these bytes and keep the connection.
    Send(Vec<u8>),
    /// Send these bytes and close.
    SendClose(Vec<u8>),
    /// Send these bytes, then echo everything (a tunnel) until the peer closes.
    Tunnel(Vec<u8>),
    /// Wait, then send and keep the connection.
    Delay(Duration, Vec<u8>),
    /// Close without answering.
    Close,
}

type Handler = dyn Fn(&Received) -> Reply + Send + Sync;

/// A small HTTP/1.1 backend in a thread, recording what it receives.
pub struct Backend {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub accepted: Arc<AtomicUsize>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

pub fn ok(body: &str) -> Reply {
    Reply::Send(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl Backend {
    pub fn start(handler: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> Backend {
        Self::on(
            TcpListener::bind("127.0.0.1:0").expect("bind backend"),
            Arc::new(handler),
        )
    }

    /// A backend answering `200 OK` with body `name`.
    pub fn named(name: &'static str) -> Backend {
        Self::start(move |_| ok(name))
    }

    pub fn on(listener: TcpListener, handler: Arc<Handler>) -> Backend {
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (r, a, st) = (received.clone(), accepted.clone(), stop.clone());
        thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let n = a.fetch_add(1, Ordering::SeqCst);
                        let (r, h, st) = (r.clone(), handler.clone(), st.clone());
                        thread::spawn(move || serve_backend(s, n, r, h, st));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Backend {
            addr,
            received,
            accepted,
            stop,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// `Address`/`Port` lines for a `Backend` section.
    pub fn config(&self) -> String {
        format!("Address 127.0.0.1\nPort {}\n", self.port())
    }

    /// Stops accepting and closes the listening socket; each open connection ends when it
    /// next waits for a request (one already being answered is finished).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve_backend(
    mut s: TcpStream,
    conn: usize,
    received: Arc<Mutex<Vec<Received>>>,
    handler: Arc<Handler>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = Vec::new();
    let deadline = Instant::now() + PATIENCE * 3;
    let read_more = |s: &mut TcpStream, buf: &mut Vec<u8>| -> Option<bool> {
        let mut b = [0u8; 65536];
        loop {
            if Instant::now() > deadline || (stop.load(Ordering::Relaxed) && buf.is_empty()) {
                return None;
            }
            match s.read(&mut b) {
                Ok(0) => return None,
                Ok(n) => {
                    buf.extend_from_slice(&b[..n]);
                    return Some(true);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if stop.load(Ordering::Relaxed) && buf.is_empty() {
                        return None;
                    }
                }
                Err(_) => return None,
            }
        }
    };
    loop {
        let head_end = loop {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                break p + 4;
            }
            if read_more(&mut s, &mut buf).is_none() {
                return;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end - 4]).into_owned();
        buf.drain(..head_end);
        let mut req = Received {
            head,
            raw_body: Vec::new(),
            conn,
        };
        if req.header("transfer-encoding").is_some() {
            // Read until the last chunk and the empty line after trailers.
            loop {
                if let Some(p) = find(&buf, b"0\r\n") {
                    if let Some(e) = find(&buf[p..], b"\r\n\r\n") {
                        let end = p + e + 4;
                        req.raw_body = buf.drain(..end).collect();
                        break;
                    }
                }
                if read_more(&mut s, &mut buf).is_none() {
                    return;
                }
            }
        } else if let Some(n) = req.header("content-length") {
            let n: usize = n.parse().unwrap();
            while buf.len() < n {
                if read_more(&mut s, &mut buf).is_none() {
                    return;
                }
            }
            req.raw_body = buf.drain(..n).collect();
        }
        received.lock().unwrap().push(req.clone());
        match handler(&req) {
            Reply::Send(b) => {
                if s.write_all(&b).is_err() {
                    return;
                }
            }
            Reply::Delay(d, b) => {
                thread::sleep(d);
                if s.write_all(&b).is_err() {
                    return;
                }
            }
            Reply::SendClose(b) => {
                let _ = s.write_all(&b);
                return;
            }
            Reply::Close => return,
            Reply::Tunnel(b) => {
                if s.write_all(&b).is_err() {
                    return;
                }
                if !buf.is_empty() && s.write_all(&buf).is_err() {
                    return;
                }
                let mut b = [0u8; 4096];
                loop {
                    match s.read(&mut b) {
                        Ok(0) => return,
                        Ok(n) => {
                            if s.write_all(&b[..n]).is_err() {
                                return;
                            }
                        }
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) =>
                        {
                            if Instant::now() > deadline {
                                return;
                            }
                        }
                        Err(_) => return,
                    }
                }
            }
        }
    }
}

/// A service section with one backend per address.
pub fn service(backends: &[&Backend]) -> String {
    let mut s = String::from("Service\n");
    for b in backends {
        s.push_str(&format!("Backend\n{}End\n", b.config()));
    }
    s.push_str("End\n");
    s
}

/// A configuration with one `SocketFrom` listener and one service over `backends`.
pub fn simple(extra_listener: &str, backends: &[&Backend]) -> String {
    format!(
        "ListenHTTP\nLISTEN\n{extra_listener}\nEnd\n{}",
        service(backends)
    )
}
