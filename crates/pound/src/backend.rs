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

struct Idle {
    stream: Stream,
    since: Instant,
}

pub struct Backend {
    pub named: Named,
    pub address: Address,
    pub conn_to: Duration,
    pub timeout: Duration,
    pub ws_timeout: Duration,
    alive: AtomicBool,
    /// Idle connections, most recently used at the back.
    pool: Mutex<VecDeque<Idle>>,
}

/// A connection to a backend and whether it came from the pool.
pub struct Conn {
    pub stream: Stream,
    pub reused: bool,
}

impl Backend {
    pub fn new(
        named: Named,
        address: Address,
        conn_to: Duration,
        timeout: Duration,
        ws_timeout: Duration,
    ) -> Backend {
        Backend {
            named,
            address,
            conn_to,
            timeout,
            ws_timeout,
            alive: AtomicBool::new(true),
            pool: Mutex::new(VecDeque::new()),
        }
    }

    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Relaxed)
    }

    /// Marks the backend dead after a failed connection; logs the change once.
    pub fn kill(&self, tag: impl std::fmt::Display, err: &io::Error) {
        logmsg!(Warning, "{tag}backend {} connect: {err}", self.named.name);
        if self.alive.swap(false, Ordering::AcqRel) {
            logmsg!(Notice, "{tag}Backend {} dead (killed)", self.named.name);
            self.pool_lock().clear();
        }
    }

    fn pool_lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Idle>> {
        // A panic while holding the lock cannot leave the list inconsistent.
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle pooled connection that still looks open, if any: not closed by the backend,
    /// and with no unsolicited bytes waiting (which would be taken for the next response).
    pub fn pooled(&self) -> Option<Conn> {
        let now = Instant::now();
        loop {
            let idle = self.pool_lock().pop_back()?;
            if now.duration_since(idle.since) < IDLE_LIMIT && idle.stream.is_fresh() {
                return Some(Conn {
                    stream: idle.stream,
                    reused: true,
                });
            }
        }
    }

    /// Returns a connection whose last response ended cleanly to the pool, unless the
    /// backend already sent more than that response. Connections idle too long are closed.
    pub fn release(&self, stream: Stream) {
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
        if pool.len() < MAX_IDLE && self.is_alive() {
            pool.push_back(Idle { stream, since: now });
        }
    }

    /// Opens a new connection within `ConnTO`.
    pub async fn connect(&self) -> io::Result<Conn> {
        let stream = match &self.address {
            Address::Inet(a) => {
                let s = timed(self.conn_to, TcpStream::connect(*a)).await?;
                s.set_nodelay(true)?;
                Stream::Tcp(s)
            }
            Address::Unix(p) => Stream::Unix(timed(self.conn_to, UnixStream::connect(p)).await?),
        };
        Ok(Conn {
            stream,
            reused: false,
        })
    }

    /// Connects once to a dead backend; resurrects it when that works.
    async fn probe(&self) {
        match self.connect().await {
            Ok(_) => {
                if !self.alive.swap(true, Ordering::AcqRel) {
                    logmsg!(Notice, "Backend {} resurrected", self.named.name);
                }
            }
            Err(e) => logmsg!(Warning, "Backend {} is still dead: {e}", self.named.name),
        }
    }
}

/// Every `interval`, probes each dead backend. Runs until the runtime stops.
pub async fn probe_dead(backends: Vec<Arc<Backend>>, interval: Duration) {
    let mut tick = tokio::time::interval(interval.max(Duration::from_secs(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let dead: Vec<_> = backends.iter().filter(|b| !b.is_alive()).cloned().collect();
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
