//! Slow clients: how long a request may wait on its client, and what it holds meanwhile.
//!
//! `Client` bounds each wait for a client (pound's meaning), but a client that sends or reads
//! a byte just before each wait expires would keep a request, its worker slot and its backend
//! connection forever. Every wait on a client during an exchange therefore also draws on a
//! budget of seconds (`ClientRateGrace`, by default `Client`): the time spent waiting is
//! taken from it and every byte moved gives back `1 / ClientMinRate` of a second, up to the
//! grace again. A client that keeps, on average, at least `ClientMinRate` bytes per second
//! never runs out; one that falls behind by more than the grace in all is cut off. A burst
//! cannot buy a long silence later, since the budget never exceeds the grace.
//!
//! A request that has to wait on its client for longer than [`SLOW_WAIT`] gives its worker
//! slot back for good (see `workers`): `WorkerMaxCount` bounds the requests pound is working
//! on, and slow clients cannot take the slots that others need. On an HTTP/2 connection such
//! a stream also takes one of the connection's `HTTP2MaxSlowStreams` places while it waits,
//! unless the connection as a whole is moving bytes (see [`SlowStreams`]); a stream that
//! finds none is ended.

use std::future::Future;
use std::io::{self, IoSlice};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::io::timed;
use crate::workers::Slot;

/// How long a request may wait on its client before it counts as slow and gives back its
/// worker slot.
pub const SLOW_WAIT: Duration = Duration::from_secs(1);

/// A listener's `ClientMinRate` and `ClientRateGrace`.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Bytes per second; 0 turns the budget off (only `Client` applies).
    pub min: u32,
    pub grace: Duration,
}

/// The places of one HTTP/2 connection's streams that wait on the client.
///
/// A stream that waits for over [`SLOW_WAIT`] is not necessarily the client's doing: many
/// streams share one connection, and on a slow link each waits its turn. So the connection
/// counts the bytes it moves for its streams; a stream whose connection moved at least
/// `ClientMinRate` bytes per second meanwhile takes no place and goes on waiting (within
/// `Client` and its budget). Only streams of a connection that is stalled as a whole count
/// against the limit.
#[derive(Debug)]
pub struct SlowStreams {
    waiting: AtomicUsize,
    limit: usize,
    /// Bytes moved for the connection's streams, both ways.
    moved: AtomicU64,
    /// `ClientMinRate` (at least 1).
    rate: u64,
}

/// What a stream that waited [`SLOW_WAIT`] on its client gets.
pub enum Slow {
    /// The connection is moving bytes: the stream waits on, holding no place.
    Flowing,
    Place(SlowPlace),
    /// Every place is taken: the stream is ended.
    Full,
}

impl SlowStreams {
    pub fn new(limit: u32, rate: u32) -> Arc<SlowStreams> {
        Arc::new(SlowStreams {
            waiting: AtomicUsize::new(0),
            limit: (limit as usize).max(1),
            moved: AtomicU64::new(0),
            rate: u64::from(rate).max(1),
        })
    }

    /// Counts `n` bytes moved for one of the connection's streams.
    pub fn moved(&self, n: usize) {
        self.moved.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The count of bytes moved, to compare with after a wait.
    pub fn mark(&self) -> u64 {
        self.moved.load(Ordering::Relaxed)
    }

    /// For a stream that has waited [`SLOW_WAIT`] since `mark`.
    pub fn slow_since(self: &Arc<Self>, mark: u64) -> Slow {
        let need = self.rate.saturating_mul(SLOW_WAIT.as_secs().max(1));
        if self.mark().wrapping_sub(mark) >= need {
            return Slow::Flowing;
        }
        match self.enter() {
            Some(p) => Slow::Place(p),
            None => Slow::Full,
        }
    }

    /// Takes a place for a stream about to wait on its client; `None` when every place is
    /// taken. The place is given back when dropped.
    pub fn enter(self: &Arc<Self>) -> Option<SlowPlace> {
        self.waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .ok()
            .map(|_| SlowPlace(self.clone()))
    }
}

pub struct SlowPlace(Arc<SlowStreams>);

impl Drop for SlowPlace {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The waits of one request on its client.
pub struct Pace {
    rate: Rate,
    budget: Duration,
    /// The request's worker slot, until it is done or turns out to wait on a slow client.
    slot: Option<Slot>,
    slow: Option<Arc<SlowStreams>>,
}

fn too_slow() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "client too slow")
}

impl Pace {
    pub fn new(rate: Rate, slow: Option<Arc<SlowStreams>>) -> Pace {
        Pace {
            rate,
            budget: rate.grace,
            slot: None,
            slow,
        }
    }

    /// Starts a new request: a full budget, no slot yet.
    pub fn begin(&mut self) {
        self.budget = self.rate.grace;
        self.slot = None;
    }

    /// The request got its worker slot.
    pub fn hold(&mut self, slot: Slot) {
        self.slot = Some(slot);
    }

    /// Gives the worker slot back (the request ended, or became a tunnel).
    pub fn release(&mut self) {
        self.slot = None;
    }

    /// Waits for `op`, a read on the client that moves the bytes it returns, within
    /// `per_op` (`Client`) and the budget.
    pub async fn wait<F>(&mut self, per_op: Duration, op: F) -> io::Result<usize>
    where
        F: Future<Output = io::Result<usize>>,
    {
        self.wait_for(per_op, op, true).await
    }

    /// [`Pace::wait`]; `place` says whether a slow wait takes one of the HTTP/2
    /// connection's places. Writes do not: over HTTP/2 they go into the stream's pipe, and
    /// the stream's relay takes the place when the client's window stays shut.
    async fn wait_for<F>(&mut self, per_op: Duration, op: F, place: bool) -> io::Result<usize>
    where
        F: Future<Output = io::Result<usize>>,
    {
        let paced = self.rate.min > 0;
        tokio::pin!(op);
        // Most operations complete at once: they cost no clock reading and no timer.
        let first = std::future::poll_fn(|cx| match op.as_mut().poll(cx) {
            Poll::Ready(r) => Poll::Ready(Some(r)),
            Poll::Pending => Poll::Ready(None),
        })
        .await;
        if let Some(result) = first {
            if let (true, Ok(n)) = (paced, &result) {
                self.credit(*n, Duration::ZERO);
            }
            return result;
        }
        let limit = if paced {
            per_op.min(self.budget)
        } else {
            per_op
        };
        let started = Instant::now();
        let mark = self.slow.as_ref().map_or(0, |s| s.mark());
        let result = if self.slot.is_none() && self.slow.is_none() {
            timed(limit, op).await
        } else {
            // The timer is armed only when the operation cannot complete at once.
            match tokio::time::timeout(limit.min(SLOW_WAIT), &mut op).await {
                Ok(r) => r,
                Err(_) if limit <= SLOW_WAIT => Err(timed_out()),
                Err(_) => {
                    self.slot = None;
                    let place = match &self.slow {
                        Some(s) if place => match s.slow_since(mark) {
                            Slow::Flowing => None,
                            Slow::Place(p) => Some(p),
                            Slow::Full => return Err(too_many_slow()),
                        },
                        _ => None,
                    };
                    let r = timed(limit - SLOW_WAIT, op).await;
                    drop(place);
                    r
                }
            }
        };
        if !paced {
            return result;
        }
        match result {
            Ok(n) => {
                self.credit(n, started.elapsed());
                Ok(n)
            }
            // The budget, not `Client`, ran out.
            Err(e) if e.kind() == io::ErrorKind::TimedOut && limit < per_op => Err(too_slow()),
            Err(e) => Err(e),
        }
    }

    /// Takes `waited` from the budget and gives back the time `n` bytes are worth.
    fn credit(&mut self, n: usize, waited: Duration) {
        let worth = Duration::from_nanos(
            u64::try_from(n as u128 * 1_000_000_000 / u128::from(self.rate.min))
                .unwrap_or(u64::MAX),
        );
        self.budget = (self.budget.saturating_sub(waited) + worth).min(self.rate.grace);
    }

    /// Writes `a` then `b` to the client and flushes, each partial write paced on its own,
    /// so that a client reading steadily but slowly is credited for what it took.
    pub async fn write<W: AsyncWrite + Unpin + ?Sized>(
        &mut self,
        w: &mut W,
        per_op: Duration,
        mut a: &[u8],
        mut b: &[u8],
    ) -> io::Result<()> {
        while !a.is_empty() || !b.is_empty() {
            let n = if a.is_empty() {
                self.wait_for(per_op, w.write(b), false).await?
            } else if b.is_empty() {
                self.wait_for(per_op, w.write(a), false).await?
            } else {
                let bufs = [IoSlice::new(a), IoSlice::new(b)];
                self.wait_for(per_op, w.write_vectored(&bufs), false)
                    .await?
            };
            crate::io::wrote(&mut a, &mut b, n)?;
        }
        self.wait_for(per_op, async { w.flush().await.map(|()| 0) }, false)
            .await
            .map(|_| ())
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "Connection timed out")
}

fn too_many_slow() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "too many slow streams on the connection",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pace(min: u32, grace: u64) -> Pace {
        Pace::new(
            Rate {
                min,
                grace: Duration::from_secs(grace),
            },
            None,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn the_budget_is_spent_waiting_and_earned_by_bytes() {
        let mut p = pace(100, 2);
        // 1.5 s of waiting that brings 50 bytes (0.5 s of credit): 1 s left.
        let r = p
            .wait(Duration::from_secs(10), async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                Ok(50)
            })
            .await;
        assert_eq!(r.expect("within budget"), 50);
        assert_eq!(p.budget, Duration::from_secs(1));
        // A wait longer than what is left is cut off as too slow.
        let r = p
            .wait(Duration::from_secs(10), async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(1)
            })
            .await;
        let e = r.expect_err("out of budget");
        assert_eq!(e.to_string(), "client too slow");
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_does_not_buy_a_long_silence() {
        let mut p = pace(100, 2);
        let r = p
            .wait(Duration::from_secs(10), async { Ok(1_000_000) })
            .await;
        assert!(r.is_ok());
        assert_eq!(p.budget, Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_rate_only_the_per_wait_limit_applies() {
        let mut p = pace(0, 1);
        let r = p
            .wait(Duration::from_secs(10), async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(1)
            })
            .await;
        assert!(r.is_ok());
        let r = p
            .wait(
                Duration::from_secs(2),
                std::future::pending::<io::Result<usize>>(),
            )
            .await;
        assert_eq!(
            r.expect_err("timed out").to_string(),
            "Connection timed out"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn slow_streams_of_a_connection_are_bounded() {
        let slow = SlowStreams::new(1, 1_000_000);
        let held = slow.enter().expect("first place");
        let mut p = Pace::new(
            Rate {
                min: 0,
                grace: Duration::from_secs(5),
            },
            Some(slow.clone()),
        );
        let r = p
            .wait(Duration::from_secs(10), async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                Ok(1)
            })
            .await;
        assert!(r.is_err(), "no place left for a second slow stream");
        drop(held);
        let r = p
            .wait(Duration::from_secs(10), async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                Ok(1)
            })
            .await;
        assert!(r.is_ok());
        assert_eq!(slow.waiting.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn streams_of_a_flowing_connection_take_no_place() {
        let slow = SlowStreams::new(1, 100);
        let mark = slow.mark();
        slow.moved(150);
        assert!(matches!(slow.slow_since(mark), Slow::Flowing));
        let mark = slow.mark();
        slow.moved(10);
        let held = slow.slow_since(mark);
        assert!(matches!(held, Slow::Place(_)));
        assert!(matches!(slow.slow_since(slow.mark()), Slow::Full));
        drop(held);
        assert!(matches!(slow.slow_since(slow.mark()), Slow::Place(_)));
    }
}
