//! Regular backends at run time: where they are, whether they are alive, and their pools of
//! idle keep-alive connections.
//!
//! A backend that cannot be connected to is marked dead and skipped by every service until
//! the prober ([`probe_dead`], every `Alive` seconds) connects to it again.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::net::{TcpStream, UnixStream};

use crate::io::{timed, Stream};
use crate::log::format::Named;
use crate::logmsg;

/// Idle connections kept per backend.
const MAX_IDLE: usize = 256;
/// An idle connection older than this is closed rather than reused.
const IDLE_LIMIT: Duration = Duration::from_secs(30);

/// Where a backend listens.
#[derive(Debug, Clone)]
pub enum Address {
    Inet(SocketAddr),
    Unix(PathBuf),
}

/// The SNI name a TLS connection was opened with; `None` for plain connections (and TLS
/// ones to an address). Pooled TLS connections are only reused for the same name.
pub type Sni = Option<ServerName<'static>>;

struct Idle {
    stream: Stream,
    since: Instant,
    sni: Sni,
}

/// `HTTPS`: the client configuration, and the configured host name, which SNI falls back
/// to when a request has no usable host.
#[derive(Clone)]
pub struct Tls {
    pub config: Arc<rustls::ClientConfig>,
    pub host: Option<String>,
}

pub struct Backend {
    pub named: Named,
    pub address: Address,
    pub conn_to: Duration,
    pub timeout: Duration,
    pub ws_timeout: Duration,
    pub tls: Option<Tls>,
    /// `ServerName`: the `Host` requests to this backend carry, and its SNI name.
    pub server_name: Option<Arc<str>>,
    alive: AtomicBool,
    pub stats: crate::stats::BackendStats,
    /// Idle connections, most recently used at the back.
    pool: Mutex<VecDeque<Idle>>,
}

/// A connection to a backend, whether it came from the pool, and its SNI name.
pub struct Conn {
    pub stream: Stream,
    pub reused: bool,
    pub sni: Sni,
}

/// Why a new connection could not be made.
pub enum ConnectError {
    /// The backend refused or did not answer within `ConnTO`: it is dead.
    Connect(io::Error),
    /// It answered, but the TLS handshake failed: not dead (it listens), but unusable for
    /// this request.
    Handshake(io::Error),
}

impl Backend {
    pub fn new(
        named: Named,
        address: Address,
        timeouts: [Duration; 3],
        tls: Option<Tls>,
    ) -> Backend {
        let [conn_to, timeout, ws_timeout] = timeouts;
        Backend {
            named,
            address,
            server_name: None,
            conn_to,
            timeout,
            ws_timeout,
            tls,
            alive: AtomicBool::new(true),
            stats: Default::default(),
            pool: Mutex::new(VecDeque::new()),
        }
    }

    /// What stands in a service's list for a matrix of dynamic backends: named by its host,
    /// never alive, so never chosen (pound 4.23 shows a matrix as not alive).
    pub fn matrix(named: Named) -> Backend {
        let b = Backend::new(
            named,
            Address::Unix(Default::default()),
            [Duration::ZERO; 3],
            None,
        );
        b.alive.store(false, Ordering::Relaxed);
        b
    }

    /// A backend with the same settings and a state of its own: alive, with an empty pool
    /// (each service's use of a named backend).
    pub fn copy(&self) -> Backend {
        let mut b = Backend::new(
            self.named.clone(),
            self.address.clone(),
            [self.conn_to, self.timeout, self.ws_timeout],
            self.tls.clone(),
        );
        b.server_name = self.server_name.clone();
        b
    }

    /// The SNI name for a request with this `Host` (see [`crate::tls::client::server_name`]);
    /// `ServerName` wins.
    pub fn sni(&self, host: Option<&[u8]>) -> Sni {
        let tls = self.tls.as_ref()?;
        let host = self.server_name.as_deref().map(str::as_bytes).or(host);
        crate::tls::client::server_name(host, tls.host.as_deref())
    }

    /// Idle pooled connections, for metrics.
    pub fn idle_connections(&self) -> usize {
        self.pool_lock().len()
    }

    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Relaxed)
    }

    /// Marks the backend dead after a failed connection; logs the change once.
    pub fn kill(&self, tag: impl std::fmt::Display) {
        if self.alive.swap(false, Ordering::AcqRel) {
            logmsg!(Notice, "{tag}Backend {} dead (killed)", self.named.name);
            self.pool_lock().clear();
        }
    }

    /// Deals with a failed [`Backend::connect`] for `request` of `client`: a refusal kills
    /// the backend; a failed handshake is logged, the backend left alive. The messages are
    /// pound's (`connect_nb: ...`, `can't connect to backend ...`).
    pub fn connect_failed(
        &self,
        tag: crate::log::Tag,
        client: &str,
        request: &str,
        e: ConnectError,
    ) {
        match e {
            ConnectError::Connect(e) => {
                let err = pound_config::env::describe_io_error(&e);
                let name = &self.named.name;
                logmsg!(Warning, "{tag}connect_nb: {name}: connection failed: {err}");
                logmsg!(
                    Warning,
                    "({:x}): {client}: \"{request}\": can't connect to backend {name}: {err}",
                    tag.0
                );
                self.kill(tag);
            }
            ConnectError::Handshake(e) => logmsg!(
                Warning,
                "{tag}backend {} TLS handshake: {e}",
                self.named.name
            ),
        }
    }

    fn pool_lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Idle>> {
        // A panic while holding the lock cannot leave the list inconsistent.
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle pooled connection for `sni` that still looks open, if any: not closed by the
    /// backend, and with no unsolicited bytes waiting (which would be taken for the next
    /// response).
    pub fn pooled(&self, sni: &Sni) -> Option<Conn> {
        let now = Instant::now();
        loop {
            let mut idle = {
                let mut pool = self.pool_lock();
                let i = pool.iter().rposition(|i| i.sni == *sni)?;
                pool.remove(i)?
            };
            if now.duration_since(idle.since) < IDLE_LIMIT && idle.stream.is_fresh() {
                self.stats.reused.fetch_add(1, Ordering::Relaxed);
                return Some(Conn {
                    stream: idle.stream,
                    reused: true,
                    sni: idle.sni,
                });
            }
        }
    }

    /// Returns a connection whose last response ended cleanly to the pool, unless the
    /// backend already sent more than that response. Connections idle too long are closed.
    pub fn release(&self, mut stream: Stream, sni: Sni) {
        if !stream.is_fresh() {
            return;
        }
        let now = Instant::now();
        let mut pool = self.pool_lock();
        while pool
            .front()
            .is_some_and(|i| now.duration_since(i.since) >= IDLE_LIMIT)
        {
            pool.pop_front();
        }
        // When full, the oldest goes: connections made for requests no longer coming (a
        // name seen once) must not keep the current ones out.
        if pool.len() >= MAX_IDLE {
            pool.pop_front();
        }
        if self.is_alive() {
            pool.push_back(Idle {
                stream,
                since: now,
                sni,
            });
        }
    }

    /// Opens a transport connection within `ConnTO`.
    async fn open(&self) -> io::Result<Stream> {
        Ok(match &self.address {
            Address::Inet(a) => {
                let s = timed(self.conn_to, TcpStream::connect(*a)).await?;
                s.set_nodelay(true)?;
                Stream::Tcp(s)
            }
            Address::Unix(p) => Stream::Unix(timed(self.conn_to, UnixStream::connect(p)).await?),
        })
    }

    /// Opens a new connection, with the TLS handshake for HTTPS backends, each step within
    /// `ConnTO`.
    pub async fn connect(&self, sni: Sni) -> Result<Conn, ConnectError> {
        let stream = self.open().await.map_err(ConnectError::Connect)?;
        let stream = match (&self.tls, stream) {
            (Some(tls), Stream::Tcp(tcp)) => {
                let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
                // Without a name (an address), rustls sends no SNI.
                let name = sni.clone().unwrap_or_else(|| match &self.address {
                    Address::Inet(a) => ServerName::IpAddress(a.ip().into()),
                    Address::Unix(_) => ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
                });
                // A backend that accepts connections but never completes a handshake is as
                // unusable as one that does not answer: it is dead.
                // Boxed: the handshake's state is kilobytes, and inline it would make every
                // exchange's future (plain backends' too) that much larger.
                let tls = Box::pin(timed(self.conn_to, connector.connect(name, tcp)))
                    .await
                    .map_err(|e| match e.kind() {
                        io::ErrorKind::TimedOut => ConnectError::Connect(e),
                        _ => ConnectError::Handshake(e),
                    })?;
                Stream::TlsClient(Box::new(tls))
            }
            (_, stream) => stream,
        };
        self.stats.connects.fetch_add(1, Ordering::Relaxed);
        Ok(Conn {
            stream,
            reused: false,
            sni,
        })
    }

    /// Connects once to a dead backend (the transport only, as pound does); resurrects it
    /// when that works.
    async fn probe(&self) {
        if self.open().await.is_ok() && !self.alive.swap(true, Ordering::AcqRel) {
            logmsg!(Notice, "Backend {} resurrected", self.named.name);
        }
    }
}

/// Every `interval`, probes each dead backend of those `backends` gives (the snapshot in
/// force). Runs until the runtime stops.
pub async fn probe_dead<F>(backends: F, interval: Duration)
where
    F: Fn() -> Vec<Arc<Backend>>,
{
    let mut tick = tokio::time::interval(interval.max(Duration::from_secs(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let dead: Vec<_> = backends().into_iter().filter(|b| !b.is_alive()).collect();
        let probes = dead.into_iter().map(|b| async move { b.probe().await });
        futures_join_all(probes).await;
    }
}

/// Runs futures concurrently and waits for all of them.
async fn futures_join_all<F: std::future::Future<Output = ()> + Send + 'static>(
    futs: impl Iterator<Item = F>,
) {
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    for h in handles {
        let _ = h.await;
    }
}

/// How a backend address is shown in logs: `127.0.0.1:8080`, `[::1]:8080` or the path.
pub fn address_name(a: &Address) -> String {
    match a {
        Address::Inet(sa) => sa.to_string(),
        Address::Unix(p) => p.display().to_string(),
    }
}
