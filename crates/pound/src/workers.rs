//! The worker model (pound.8, WORKER MODEL) in an asynchronous engine.
//!
//! pound ran each connection on a thread from a pool of `WorkerMinCount` to
//! `WorkerMaxCount` threads and queued connections when all were busy. Here connections are
//! tasks, so the settings keep their operator-visible meaning as bounds:
//!
//! - `WorkerMaxCount` (or `Threads`) bounds the requests in progress at once. A request
//!   past the bound waits in a first-come, first-served queue (`queue_len`) until one ends;
//!   idle keep-alive connections and upgraded (WebSocket) connections hold nothing. Taking
//!   and freeing a slot is one atomic operation each; no lock is taken unless requests wait.
//! - `WorkerMinCount` sets the runtime's worker threads, at most one per CPU (more threads
//!   than CPUs only add switching to an engine that never blocks).
//! - `WorkerIdleTimeout` is how long a thread of the runtime's blocking pool may stay idle.
//! - `ConnectionQueueSize` (pound 4.23) bounds the queue: while that many requests wait,
//!   the listeners stop accepting (new connections wait in the kernel's backlog), as pound
//!   stops taking connections into its queue. Without it the bound is computed from the
//!   descriptor limit as pound computes it ([`queue_size`]), with `ReserveFD`.
//! - `WorkerStackSize` (pound 4.21) is the stack size of the runtime's threads.
//!
//! The control socket reports them in its `workers` object: `active` requests, `count`
//! threads, `min`, `max` and `timeout`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use tokio::sync::Notify;

pub struct Workers {
    /// Requests in progress. Taken and given back with one atomic operation each; the
    /// queue below is touched only when every slot is taken.
    active: AtomicUsize,
    waiting: AtomicUsize,
    /// Wakes waiters in the order they came, one per freed slot.
    freed: Notify,
    limit: usize,
    /// Requests that may wait before accepting pauses.
    queue: usize,
    /// Wakes the paused accept loops when the queue shrinks below its bound.
    room: Notify,
    /// Wakes the accept loops when the queue fills, so that they stop accepting.
    full: Notify,
    blocked: std::sync::atomic::AtomicBool,
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

/// The descriptors each request in progress may hold (client and backend), as pound
/// counts them per worker.
const FDS_PER_WORKER: u64 = 2;

/// The descriptors pound keeps out of the computation before `ReserveFD` adds to them.
const RESERVED_FDS: u64 = 3;

/// Why pound cannot start with its descriptor limit, in pound's words.
pub const TOO_FEW_FDS: &str = "not enough file descriptors or ReserveFD value is set too high";

/// The connection queue's bound as pound 4.23 computes it when `ConnectionQueueSize` is not
/// given: the descriptor limit less what the workers, the descriptors open at start
/// (`open`) and the reserve take. `Err` when the reserve and those open leave nothing.
pub fn queue_size(
    explicit: Option<u32>,
    limit: u64,
    max_workers: u32,
    open: u64,
    reserve: u64,
) -> Result<usize, &'static str> {
    let reserved = RESERVED_FDS + reserve;
    if limit <= open + reserved {
        return Err(TOO_FEW_FDS);
    }
    Ok(match explicit {
        Some(n) => n as usize,
        None => limit
            .saturating_sub(u64::from(max_workers) * FDS_PER_WORKER + open + reserved)
            .max(1) as usize,
    })
}

/// Sets the bounds; called once before serving.
pub fn init(min: u32, max: u32, idle_timeout: u32, threads: usize, queue: usize) {
    let _ = WORKERS.set(Workers {
        active: AtomicUsize::new(0),
        waiting: AtomicUsize::new(0),
        freed: Notify::new(),
        queue,
        room: Notify::new(),
        full: Notify::new(),
        blocked: std::sync::atomic::AtomicBool::new(false),
        limit: (max as usize).max(1),
        min,
        max,
        idle_timeout,
        threads,
    });
}

impl Workers {
    fn try_take(&self) -> bool {
        self.active
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .is_ok()
    }
}

/// A request in progress; its slot is freed when this is dropped.
pub struct Slot(Option<&'static Workers>);

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(w) = self.0 {
            // Sequentially consistent with the waiter's increment and second look, so that
            // either the waiter takes this slot or this sees the waiter and wakes it.
            w.active.fetch_sub(1, Ordering::SeqCst);
            if w.waiting.load(Ordering::SeqCst) > 0 {
                w.freed.notify_one();
            }
        }
    }
}

/// Waits for a free slot (at once unless `WorkerMaxCount` requests are in progress).
pub async fn admit() -> Slot {
    let Some(w) = WORKERS.get() else {
        return Slot(None);
    };
    if w.try_take() {
        return Slot(Some(w));
    }
    // Counted while waiting, also when the request is abandoned (the future dropped).
    struct Waiting(&'static Workers);
    impl Drop for Waiting {
        fn drop(&mut self) {
            let w = self.0;
            if w.waiting.fetch_sub(1, Ordering::SeqCst) <= w.queue
                && w.blocked.load(Ordering::SeqCst)
            {
                w.room.notify_waiters();
            }
        }
    }
    if w.waiting.fetch_add(1, Ordering::SeqCst) + 1 >= w.queue {
        w.full.notify_waiters();
    }
    let _waiting = Waiting(w);
    loop {
        let freed = w.freed.notified();
        tokio::pin!(freed);
        // Registered before the second look, so a slot freed in between still wakes us.
        freed.as_mut().enable();
        if w.try_take() {
            return Slot(Some(w));
        }
        freed.await;
    }
}

/// Waits, before a listener accepts, while the connection queue is full (pound: "incoming
/// connections blocked"). One atomic load when it is not.
pub async fn room_to_accept() {
    let Some(w) = WORKERS.get() else {
        return;
    };
    if w.waiting.load(Ordering::SeqCst) < w.queue {
        return;
    }
    if !w.blocked.swap(true, Ordering::SeqCst) {
        crate::logmsg!(
            Notice,
            "connection queue is full; incoming connections blocked"
        );
    }
    loop {
        let room = w.room.notified();
        tokio::pin!(room);
        room.as_mut().enable();
        if w.waiting.load(Ordering::SeqCst) < w.queue {
            break;
        }
        room.await;
    }
    if w.blocked.swap(false, Ordering::SeqCst) {
        crate::logmsg!(Notice, "incoming connections unblocked");
    }
}

/// Resolves when the connection queue fills (never when it is unbounded): an accept loop
/// waiting for a connection then stops waiting and pauses.
pub async fn queue_filled() {
    let Some(w) = WORKERS.get().filter(|w| w.queue != usize::MAX) else {
        return std::future::pending().await;
    };
    loop {
        let full = w.full.notified();
        tokio::pin!(full);
        full.as_mut().enable();
        if w.waiting.load(Ordering::SeqCst) >= w.queue {
            return;
        }
        full.await;
    }
}

/// What the control socket and metrics report.
pub struct Snapshot {
    pub active: usize,
    pub waiting: usize,
    /// The queue's bound.
    pub queue: usize,
    pub threads: usize,
    pub min: u32,
    pub max: u32,
    pub idle_timeout: u32,
}

pub fn snapshot() -> Snapshot {
    match WORKERS.get() {
        Some(w) => Snapshot {
            active: w.active.load(Ordering::Relaxed),
            waiting: w.waiting.load(Ordering::Relaxed),
            queue: w.queue,
            threads: w.threads,
            min: w.min,
            max: w.max,
            idle_timeout: w.idle_timeout,
        },
        None => Snapshot {
            active: 0,
            waiting: 0,
            queue: 0,
            threads: 0,
            min: 0,
            max: 0,
            idle_timeout: 0,
        },
    }
}
