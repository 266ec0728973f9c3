//! The worker model (pound.8, WORKER MODEL) in an asynchronous engine.
//!
//! pound ran each connection on a thread from a pool of `WorkerMinCount` to
//! `WorkerMaxCount` threads and queued connections when all were busy. Here connections are
//! tasks, so the settings keep their operator-visible meaning as bounds:
//!
//! - `WorkerMaxCount` (or `Threads`) bounds the requests in progress at once. A request
//!   past the bound waits in a first-come, first-served queue (`queue_len`) until one ends;
//!   idle keep-alive connections hold nothing.
//! - `WorkerMinCount` sets the runtime's worker threads, at most one per CPU (more threads
//!   than CPUs only add switching to an engine that never blocks).
//! - `WorkerIdleTimeout` is how long a thread of the runtime's blocking pool may stay idle.
//!
//! The control socket reports them in its `workers` object: `active` requests, `count`
//! threads, `min`, `max` and `timeout`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use tokio::sync::{Semaphore, SemaphorePermit};

pub struct Workers {
    slots: Semaphore,
    waiting: AtomicUsize,
    pub min: u32,
    pub max: u32,
    pub idle_timeout: u32,
    pub threads: usize,
}

static WORKERS: OnceLock<Workers> = OnceLock::new();

/// The runtime threads for `WorkerMinCount`.
pub fn threads(min: u32) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    (min as usize).clamp(1, cpus)
}

/// Sets the bounds; called once before serving.
pub fn init(min: u32, max: u32, idle_timeout: u32, threads: usize) {
    let _ = WORKERS.set(Workers {
        slots: Semaphore::new((max as usize).clamp(1, Semaphore::MAX_PERMITS)),
        waiting: AtomicUsize::new(0),
        min,
        max,
        idle_timeout,
        threads,
    });
}

/// A request in progress; its slot is freed when this is dropped.
pub struct Slot(#[allow(dead_code)] Option<SemaphorePermit<'static>>);

/// Waits for a free slot (at once unless `WorkerMaxCount` requests are in progress).
pub async fn admit() -> Slot {
    let Some(w) = WORKERS.get() else {
        return Slot(None);
    };
    if let Ok(p) = w.slots.try_acquire() {
        return Slot(Some(p));
    }
    w.waiting.fetch_add(1, Ordering::Relaxed);
    let p = w.slots.acquire().await.ok();
    w.waiting.fetch_sub(1, Ordering::Relaxed);
    Slot(p)
}

/// What the control socket and metrics report.
pub struct Snapshot {
    pub active: usize,
    pub waiting: usize,
    pub threads: usize,
    pub min: u32,
    pub max: u32,
    pub idle_timeout: u32,
}

pub fn snapshot() -> Snapshot {
    match WORKERS.get() {
        Some(w) => Snapshot {
            active: (w.max as usize).saturating_sub(w.slots.available_permits()),
            waiting: w.waiting.load(Ordering::Relaxed),
            threads: w.threads,
            min: w.min,
            max: w.max,
            idle_timeout: w.idle_timeout,
        },
        None => Snapshot {
            active: 0,
            waiting: 0,
            threads: 0,
            min: 0,
            max: 0,
            idle_timeout: 0,
        },
    }
}
