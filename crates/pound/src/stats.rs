//! What the engine counts as it serves: requests and bytes by status class per listener,
//! service and backend, connections, the request duration histogram, and the uptime. The
//! counters are a few relaxed atomic additions per request, owned by the objects they count;
//! `metrics` writes them out when scraped, the control interface reads the uptime.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Upper bounds (seconds) of the request duration histogram's buckets.
pub const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Requests and body bytes by status class: index 1 to 5 for 1xx to 5xx, 0 for anything
/// else (a request that ended before any status).
#[derive(Default)]
pub struct Counters {
    pub(crate) by_class: [AtomicU64; 6],
    pub(crate) bytes: AtomicU64,
}

impl Counters {
    pub fn count(&self, status: u16, bytes: u64) {
        let class = usize::from(status / 100);
        let i = if (1..=5).contains(&class) { class } else { 0 };
        self.by_class[i].fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// What a listener counts besides requests: connections and the duration histogram.
#[derive(Default)]
pub struct ListenerStats {
    pub requests: Counters,
    pub connections: AtomicU64,
    pub active: AtomicU64,
    pub(crate) buckets: [AtomicU64; BUCKETS.len()],
    pub(crate) duration_us: AtomicU64,
}

impl ListenerStats {
    pub fn observe(&self, status: u16, bytes: u64, elapsed: Duration) {
        self.requests.count(status, bytes);
        let secs = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&b| secs <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.duration_us.fetch_add(us, Ordering::Relaxed);
    }
}

/// What a backend counts: requests, and how its connections were obtained.
#[derive(Default)]
pub struct BackendStats {
    pub requests: Counters,
    pub connects: AtomicU64,
    pub reused: AtomicU64,
}

static START: OnceLock<Instant> = OnceLock::new();

/// How long pound has served (`pound_uptime`, and `uptime` in the control interface).
pub fn uptime() -> Duration {
    START.get().map_or(Duration::ZERO, |s| s.elapsed())
}

/// Records the start of serving, for `pound_uptime`.
pub fn start() {
    START.get_or_init(Instant::now);
}
