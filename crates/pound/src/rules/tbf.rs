//! `TBF KEY RATE BURST` (pound 4.18): token-bucket rate limiting as a condition, true when
//! the bucket of the request's key has a token to give.
//!
//! Each bucket is one number, kept as the generic cell rate algorithm keeps it: the time at
//! which the bucket will be full again ("theoretical arrival time"). A request is accepted
//! when that time is at most `(BURST - 1)` intervals ahead of now, and moves it one interval
//! on. A bucket that is full again is the same as no bucket, so it can be dropped: memory
//! holds only keys that were busy in the last `BURST` intervals, and at most
//! [`MAX_KEYS`]; past that, full buckets are swept, then the oldest go.
//!
//! Keys are remembered by a keyed 64-bit hash, so a long key costs no more than a short
//! one. They live in 16 parts, each behind its own lock, chosen by that hash: requests for
//! different keys rarely meet, and none waits on a global lock.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most keys one `TBF` statement remembers.
pub const MAX_KEYS: usize = 65536;

const PARTS: usize = 16;

pub struct Tbf {
    /// Time for one token, in nanoseconds (at least 1).
    interval: u64,
    /// How far ahead of now the bucket's full time may be: `(BURST - 1)` intervals.
    tolerance: u64,
    parts: Vec<Mutex<HashMap<u64, u64>>>,
    hasher: std::collections::hash_map::RandomState,
    /// What nanosecond counts are measured from.
    epoch: Instant,
}

impl Tbf {
    /// `rate` tokens every `per`, at most `burst` at once (a burst of 0 accepts nothing).
    pub fn new(rate: u64, per: Duration, burst: u64) -> Tbf {
        let interval = (per.as_nanos() / u128::from(rate.max(1))).max(1) as u64;
        Tbf {
            interval,
            tolerance: interval.saturating_mul(burst.saturating_sub(1)),
            parts: (0..PARTS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: Default::default(),
            epoch: Instant::now(),
        }
        .with_burst(burst)
    }

    fn with_burst(mut self, burst: u64) -> Tbf {
        if burst == 0 {
            // No token ever: the tolerance is below any wait.
            self.interval = u64::MAX;
        }
        self
    }

    /// Takes a token from `key`'s bucket at `now`; whether there was one.
    pub fn take_at(&self, key: &[u8], now: Instant) -> bool {
        if self.interval == u64::MAX {
            return false;
        }
        let now = now.saturating_duration_since(self.epoch).as_nanos() as u64;
        let key = self.hasher.hash_one(key);
        let part = &self.parts[(key as usize) % PARTS];
        let mut map = match part.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        if let Some(tat) = map.get_mut(&key) {
            let from = (*tat).max(now);
            if from - now > self.tolerance {
                return false;
            }
            *tat = from + self.interval;
            return true;
        }
        if map.len() >= MAX_KEYS / PARTS {
            // Full buckets are as good as none.
            map.retain(|_, tat| *tat > now);
            if map.len() >= MAX_KEYS / PARTS {
                // Still too many: half of them go, those nearest to full first.
                let mut by_tat: Vec<(u64, u64)> = map.iter().map(|(k, t)| (*t, *k)).collect();
                let cut = by_tat.len() / 2;
                by_tat.select_nth_unstable(cut);
                for (_, k) in &by_tat[..cut] {
                    map.remove(k);
                }
            }
        }
        map.insert(key, now + self.interval);
        true
    }

    /// [`Tbf::take_at`] now.
    pub fn take(&self, key: &[u8]) -> bool {
        self.take_at(key, Instant::now())
    }

    /// How many keys are remembered.
    pub fn keys(&self) -> usize {
        self.parts
            .iter()
            .map(|p| p.lock().map_or(0, |m| m.len()))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_the_rate() {
        // 5 a second, bursts of 10.
        let t = Tbf::new(5, Duration::from_secs(1), 10);
        let start = Instant::now() + Duration::from_secs(1);
        let ok = (0..12).filter(|_| t.take_at(b"k", start)).count();
        assert_eq!(ok, 10);
        // One token every 200 ms.
        assert!(!t.take_at(b"k", start + Duration::from_millis(199)));
        assert!(t.take_at(b"k", start + Duration::from_millis(200)));
        assert!(!t.take_at(b"k", start + Duration::from_millis(201)));
        // After two seconds of quiet the bucket is full again.
        let later = start + Duration::from_secs(3);
        assert_eq!((0..12).filter(|_| t.take_at(b"k", later)).count(), 10);
        // Keys have buckets of their own.
        assert!(t.take_at(b"other", later));
    }

    #[test]
    fn rates_per_unit() {
        // 1 per 2 seconds, no burst beyond one.
        let t = Tbf::new(1, Duration::from_secs(2), 1);
        let s = Instant::now() + Duration::from_secs(1);
        assert!(t.take_at(b"k", s));
        assert!(!t.take_at(b"k", s + Duration::from_millis(1999)));
        assert!(t.take_at(b"k", s + Duration::from_secs(2)));
        let none = Tbf::new(5, Duration::from_secs(1), 0);
        assert!(!none.take_at(b"k", s));
    }

    #[test]
    fn memory_is_bounded() {
        let t = Tbf::new(1, Duration::from_secs(3600), 2);
        let s = Instant::now();
        for i in 0..(MAX_KEYS * 3) {
            t.take_at(format!("k{i}").as_bytes(), s);
        }
        assert!(t.keys() <= MAX_KEYS, "{}", t.keys());
        // Buckets full again are dropped first: the busy keys stay.
        let quick = Tbf::new(1000, Duration::from_secs(1), 1);
        for i in 0..MAX_KEYS {
            quick.take_at(format!("k{i}").as_bytes(), s);
        }
        let later = s + Duration::from_secs(10);
        for i in 0..MAX_KEYS {
            quick.take_at(format!("new{i}").as_bytes(), later);
        }
        assert!(quick.keys() <= MAX_KEYS, "{}", quick.keys());
        assert!(quick.keys() > MAX_KEYS / 4, "{}", quick.keys());
        assert!(quick.take_at(b"last", later));
        assert!(!quick.take_at(b"last", later));
    }
}
