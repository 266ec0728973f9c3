//! The running server: accept loops, the backend prober, and signals.
//!
//! `INT`/`HUP` close the listeners at once and let connections finish the request in
//! progress for up to `Grace` seconds; `TERM`/`QUIT` exit without waiting.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UnixListener};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::{watch, Notify};

use crate::io::Stream;
use crate::listen::Socket;
use crate::logmsg;
use crate::proxy::{self, Peer};
use crate::running::Running;
use crate::state::{Listener, State};
use crate::tls::server::{ClientTls, ALPN_H2};

/// Counts open client connections so that a graceful stop can wait for them, and memory
/// can be given back after a peak.
#[derive(Default)]
struct Tracker {
    active: Arc<AtomicUsize>,
    idle: Notify,
}

/// One open connection: counted by the tracker and its listener's metrics until dropped
/// (also when its task panics).
struct Guard(Arc<Tracker>, Arc<Listener>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.1.stats.active.fetch_sub(1, Ordering::Relaxed);
        if self.0.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Runs the server until a signal stops it; returns the exit status.
/// `startup` hears that the server is ready once the listeners accept and the stop signals
/// are handled, or why it could not start.
pub fn run(
    state: State,
    sockets: Vec<Socket>,
    control: Option<crate::control::Socket>,
    pid_file: Option<PathBuf>,
    mut startup: crate::daemon::Startup,
) -> i32 {
    let (min, max, idle, threads) = state.workers;
    crate::workers::init(min, max, idle, threads, state.queue);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .enable_all()
        .worker_threads(threads)
        .thread_keep_alive(Duration::from_secs(u64::from(idle.max(1))))
        .thread_name("pound-worker");
    if let Some(stack) = state.stack {
        builder.thread_stack_size(stack);
    }
    let runtime = match builder.build() {
        Ok(r) => r,
        Err(e) => {
            startup.failed(&format!("cannot start the runtime: {e}"));
            return 1;
        }
    };
    let control_file = control.as_ref().map(|c| (c.path.clone(), c.id()));
    let code = runtime.block_on(serve(state, sockets, control, &mut startup));
    if let Some(p) = pid_file {
        let _ = std::fs::remove_file(p);
    }
    // The control socket goes with a clean stop (when permissions still allow); after a
    // failure a supervisor's next worker goes on serving on it.
    if let Some((path, id)) = control_file.filter(|_| code == 0) {
        crate::control::Socket::remove_file(&path, id);
    }
    crate::log::flush();
    // Connections still open after the grace period are abandoned, not awaited.
    runtime.shutdown_background();
    code
}

async fn serve(
    state: State,
    sockets: Vec<Socket>,
    control: Option<crate::control::Socket>,
    startup: &mut crate::daemon::Startup,
) -> i32 {
    let (stop_tx, stop_rx) = watch::channel(false);
    let tracker = Arc::new(Tracker::default());
    let running = Arc::new(Running::new(state));
    let state = running.load();
    crate::stats::start();
    crate::metrics::publish(running.clone(), control.is_some());
    crate::control::publish(
        running.clone(),
        control.as_ref().map(|c| Arc::from(c.path.as_str())),
    );
    if let Some(c) = control {
        match UnixListener::from_std(c.listener) {
            Ok(l) => {
                tokio::spawn(crate::control::serve(l, running.clone(), c.path.into()));
            }
            Err(e) => {
                startup.failed(&format!("can't listen on the control socket: {e}"));
                return 1;
            }
        }
    }
    for (index, (socket, listener)) in sockets.into_iter().zip(state.listeners.iter()).enumerate() {
        let rx = stop_rx.clone();
        let tracker = tracker.clone();
        let at = (running.clone(), index);
        match socket {
            Socket::Tcp(s) => match TcpListener::from_std(s) {
                Ok(l) => {
                    if let Ok(a) = l.local_addr() {
                        listener.address.get_or_init(|| a.to_string());
                    }
                    tokio::spawn(accept_tcp(l, at, rx, tracker));
                }
                Err(e) => {
                    startup.failed(&format!("can't listen: {e}"));
                    return 1;
                }
            },
            Socket::Unix(s) => match UnixListener::from_std(s) {
                Ok(l) => {
                    if let Some(p) = l.local_addr().ok().as_ref().and_then(|a| a.as_pathname()) {
                        listener.address.get_or_init(|| p.display().to_string());
                    }
                    tokio::spawn(accept_unix(l, at, rx, tracker));
                }
                Err(e) => {
                    startup.failed(&format!("can't listen: {e}"));
                    return 1;
                }
            },
        }
    }
    if !state.matrices.is_empty() {
        match crate::dns::Dns::new(&state.resolver) {
            Ok(dns) => crate::dynamic::start(
                &state.matrices,
                Arc::new(dns),
                state.resolver.retry_interval,
            ),
            Err(e) => {
                startup.failed(&e);
                return 1;
            }
        }
    }
    let current = running.clone();
    tokio::spawn(crate::backend::probe_dead(
        move || current.load().all_backends(),
        state.alive,
    ));
    let current = running.clone();
    tokio::spawn(crate::session::sweep(
        move || current.load().services.clone(),
        |s| s.sessions.as_deref(),
    ));
    tokio::spawn(crate::memory::give_back(tracker.active.clone()));

    let mut signals = match Signals::new() {
        Ok(s) => s,
        Err(e) => {
            startup.failed(&format!("cannot install signal handlers: {e}"));
            return 1;
        }
    };
    startup.ready();
    let graceful = signals.next().await;
    logmsg!(Notice, "shutting down...");
    let _ = stop_tx.send(true);
    if graceful {
        let n = tracker.active.load(Ordering::Acquire);
        if n > 0 {
            logmsg!(Notice, "waiting for {n} active threads to terminate");
        }
        let drained = async {
            loop {
                let idle = tracker.idle.notified();
                if tracker.active.load(Ordering::Acquire) == 0 {
                    break;
                }
                idle.await;
            }
        };
        // TERM or QUIT during the grace period still stops at once.
        tokio::select! {
            _ = tokio::time::timeout(running.load().grace, drained) => {}
            _ = async { while signals.next().await {} } => {}
        }
    }
    0
}

/// The signals that stop pound.
struct Signals {
    int: Signal,
    hup: Signal,
    term: Signal,
    quit: Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            quit: signal(SignalKind::quit())?,
        })
    }

    /// Waits for INT, HUP, TERM or QUIT; true for the graceful ones.
    async fn next(&mut self) -> bool {
        tokio::select! {
            _ = self.int.recv() => true,
            _ = self.hup.recv() => true,
            _ = self.term.recv() => false,
            _ = self.quit.recv() => false,
        }
    }
}

fn spawn_connection(
    stream: Stream,
    peer: Arc<Peer>,
    listener: &Arc<Listener>,
    stop: &watch::Receiver<bool>,
    tracker: &Arc<Tracker>,
) {
    // A listener disabled through the control socket closes what it accepts, as pound does.
    if !listener.enabled.load(Ordering::Relaxed) {
        return;
    }
    // `ClientMaxConnections`: the connection is closed at once, before any work is done.
    let Ok(held) = crate::clients::connection(peer.addr, listener.max_connections) else {
        logmsg!(Notice, "{}: too many connections", peer.ip);
        return;
    };
    listener.stats.connections.fetch_add(1, Ordering::Relaxed);
    listener.stats.active.fetch_add(1, Ordering::Relaxed);
    tracker.active.fetch_add(1, Ordering::AcqRel);
    let guard = Guard(tracker.clone(), listener.clone());
    let listener = listener.clone();
    let stop = stop.clone();
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(async move {
        connection(stream, peer, listener, stop, id).await;
        drop(held);
        drop(guard);
    });
}

/// One client connection: the TLS handshake on HTTPS listeners (bounded by `Client`), then
/// HTTP/2 when ALPN chose it, else HTTP/1.
///
/// Every stage but the HTTP/1 loop is boxed, and that loop is awaited in one place only:
/// the task of an idle keep-alive connection is then only as large as the loop's own state.
async fn connection(
    stream: Stream,
    peer: Arc<Peer>,
    listener: Arc<Listener>,
    stop: watch::Receiver<bool>,
    id: u64,
) {
    if listener.tunnel {
        Box::pin(crate::tunnel::serve(stream, peer, listener, id)).await;
        return;
    }
    let (stream, peer) = if listener.tls.is_some() {
        match Box::pin(handshake(stream, peer, &listener, id)).await {
            Some((stream, peer, false)) => (stream, peer),
            Some((stream, peer, true)) => {
                Box::pin(crate::h2::serve(stream, peer, listener, stop, id)).await;
                return;
            }
            None => return,
        }
    } else {
        (stream, peer)
    };
    if let Some(h) = proxy::serve(stream, peer, listener, stop, id).await {
        let stream = crate::io::Prefixed::new(h.buffered, h.stream);
        Box::pin(crate::h2::serve(stream, h.peer, h.listener, h.shutdown, id)).await;
    }
}

/// The TLS handshake of an HTTPS connection, within `Client`: the stream, the peer with its
/// TLS facts, and whether ALPN chose HTTP/2.
async fn handshake(
    stream: Stream,
    peer: Arc<Peer>,
    listener: &Listener,
    id: u64,
) -> Option<(Stream, Arc<Peer>, bool)> {
    let tls = listener.tls.as_ref()?;
    let accepted = crate::io::timed(listener.client_timeout, tls.acceptor.accept(stream)).await;
    let stream = match accepted {
        Ok(s) => s,
        Err(e) => {
            // pound's form: `(id): CLIENT: handshake failed: REASON`.
            logmsg!(Notice, "({id:x}): {}: handshake failed: {e}", peer.ip);
            return None;
        }
    };
    let conn = stream.get_ref().1;
    let mut peer = Arc::unwrap_or_clone(peer);
    peer.tls = Some(Arc::new(ClientTls::new(conn, tls.client_cert > 0)));
    let h2 = conn.alpn_protocol() == Some(ALPN_H2);
    Some((Stream::TlsServer(Box::new(stream)), Arc::new(peer), h2))
}

/// Pauses after accept(2) fails for lack of descriptors, so the loop does not spin.
async fn accept_failed(e: std::io::Error) {
    logmsg!(Warning, "HTTP accept: {e}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

fn ip_text(a: &SocketAddr) -> String {
    match a {
        SocketAddr::V4(v4) => v4.ip().to_string(),
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.ip().to_string(),
        },
    }
}

/// Which listener a socket serves: its place in the snapshot in force, looked up for each
/// connection accepted.
type ListenerAt = (Arc<Running>, usize);

async fn accept_tcp(
    l: TcpListener,
    (running, index): ListenerAt,
    mut stop: watch::Receiver<bool>,
    tracker: Arc<Tracker>,
) {
    // A listener bound to one address knows the local address of every connection; only a
    // wildcard one has to ask the kernel each time.
    let bound = l.local_addr().ok().filter(|a| !a.ip().is_unspecified());
    // Their texts are then shared by every connection rather than made for each.
    let texts = |a: Option<SocketAddr>| -> (Arc<str>, Arc<str>) {
        (
            a.as_ref().map(ip_text).unwrap_or_default().into(),
            a.map_or(0, |a| a.port()).to_string().into(),
        )
    };
    let bound_texts = texts(bound);
    loop {
        tokio::select! {
            () = crate::workers::room_to_accept() => {}
            _ = stop.changed() => return,
        }
        let accepted = tokio::select! {
            r = l.accept() => r,
            // The queue filled while waiting: pause before taking another connection.
            () = crate::workers::queue_filled() => continue,
            _ = stop.changed() => return,
        };
        match accepted {
            Ok((s, from)) => {
                let _ = s.set_nodelay(true);
                let local = bound.or_else(|| s.local_addr().ok());
                let (local_ip, port_text) = match bound {
                    Some(_) => bound_texts.clone(),
                    None => texts(local),
                };
                let peer = Peer {
                    ip: ip_text(&from),
                    addr: Some(from.ip()),
                    local_ip,
                    port_text,
                    local_addr: local,
                    unix: false,
                    tls: None,
                    h2: false,
                    slow: None,
                };
                if let Some(listener) = running.listener(index) {
                    spawn_connection(Stream::Tcp(s), Arc::new(peer), &listener, &stop, &tracker);
                }
            }
            Err(e) => accept_failed(e).await,
        }
    }
}

async fn accept_unix(
    l: UnixListener,
    (running, index): ListenerAt,
    mut stop: watch::Receiver<bool>,
    tracker: Arc<Tracker>,
) {
    let socket: Arc<str> = "socket".into();
    let no_port: Arc<str> = "".into();
    loop {
        tokio::select! {
            () = crate::workers::room_to_accept() => {}
            _ = stop.changed() => return,
        }
        let accepted = tokio::select! {
            r = l.accept() => r,
            // The queue filled while waiting: pause before taking another connection.
            () = crate::workers::queue_filled() => continue,
            _ = stop.changed() => return,
        };
        match accepted {
            Ok((s, _)) => {
                let peer = Peer {
                    ip: "socket".to_string(),
                    addr: None,
                    local_ip: socket.clone(),
                    port_text: no_port.clone(),
                    local_addr: None,
                    unix: true,
                    tls: None,
                    h2: false,
                    slow: None,
                };
                if let Some(listener) = running.listener(index) {
                    spawn_connection(Stream::Unix(s), Arc::new(peer), &listener, &stop, &tracker);
                }
            }
            Err(e) => accept_failed(e).await,
        }
    }
}
