//! A service's session table: session key → backend, kept while in use.
//!
//! The table is split into [`SHARDS`] independently locked parts chosen by a hash of the key,
//! so requests of different sessions rarely wait on each other and no operation ever holds
//! more than one part. Each part keeps its entries in order of last use (an LRU list), which
//! makes both expiry and eviction cheap: the idle-longest entries are always at one end.
//!
//! Memory is bounded: each part holds at most [`MAX_ENTRIES`]` / SHARDS` entries and
//! [`MAX_BYTES`]` / SHARDS` bytes of keys and bookkeeping; beyond that the entry idle longest
//! is dropped (its client is simply balanced afresh next time). An entry costs its key's
//! length plus [`ENTRY_COST`] bytes.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use lru::LruCache;

/// Independently locked parts of a table.
pub const SHARDS: usize = 16;
/// Entries a service's table holds at most.
pub const MAX_ENTRIES: usize = 1 << 18;
/// Bytes a service's table uses at most, keys and bookkeeping together.
pub const MAX_BYTES: usize = 64 << 20;
/// Longest key kept; callers cut longer keys to this length first.
pub use super::MAX_KEY;
/// Expired entries one lookup removes at most (the sweeper takes the rest), so that a
/// request never pays for a mass expiry.
const EXPIRE_PER_CALL: usize = 64;
/// Entries the sweeper removes per lock of a part before letting requests in.
const SWEEP_BATCH: usize = 1024;
/// Memory an entry takes besides its key: the key's box, the backend index and the time
/// of last use (40 bytes), the LRU list node (two links, 16 bytes), and the hash table's
/// slot and control byte with its load-factor slack (about 24 bytes).
pub const ENTRY_COST: usize = 80;

#[derive(Debug, Clone, Copy)]
struct Entry {
    backend: usize,
    last_use: Instant,
}

struct Shard {
    map: LruCache<Box<[u8]>, Entry, RandomState>,
    bytes: usize,
}

impl Shard {
    fn remove_lru(&mut self) {
        if let Some((key, _)) = self.map.pop_lru() {
            self.bytes -= key.len() + ENTRY_COST;
        }
    }

    /// Drops up to `max` entries idle longer than `ttl`, oldest first.
    fn expire(&mut self, ttl: Duration, now: Instant, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let Some((_, e)) = self.map.peek_lru() else {
                break;
            };
            if now.saturating_duration_since(e.last_use) <= ttl {
                break;
            }
            self.remove_lru();
            n += 1;
        }
        n
    }
}

pub struct Table {
    ttl: Duration,
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    max_entries: usize,
    max_bytes: usize,
}

impl Table {
    pub fn new(ttl: Duration) -> Table {
        Table::with_limits(ttl, MAX_ENTRIES, MAX_BYTES)
    }

    /// A table holding at most `max_entries` entries and `max_bytes` bytes in all.
    pub fn with_limits(ttl: Duration, max_entries: usize, max_bytes: usize) -> Table {
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    map: LruCache::unbounded_with_hasher(RandomState::new()),
                    bytes: 0,
                })
            })
            .collect();
        Table {
            ttl,
            shards,
            hasher: RandomState::new(),
            max_entries: (max_entries / SHARDS).max(1),
            max_bytes: (max_bytes / SHARDS).max(MAX_KEY + ENTRY_COST),
        }
    }

    fn shard(&self, key: &[u8]) -> MutexGuard<'_, Shard> {
        let i = (self.hasher.hash_one(key) as usize) % SHARDS;
        lock(&self.shards[i])
    }

    /// The backend of `key`'s session if it is still alive, marking it used at `now`.
    pub fn get(&self, key: &[u8], now: Instant) -> Option<usize> {
        let mut shard = self.shard(key);
        shard.expire(self.ttl, now, EXPIRE_PER_CALL);
        let e = shard.map.get_mut(key)?;
        e.last_use = now;
        Some(e.backend)
    }

    /// Associates `key` with `backend` (a new session, or one moved to another backend).
    pub fn put(&self, key: &[u8], backend: usize, now: Instant) {
        if key.is_empty() || key.len() > MAX_KEY {
            return;
        }
        let mut shard = self.shard(key);
        shard.expire(self.ttl, now, EXPIRE_PER_CALL);
        let entry = Entry {
            backend,
            last_use: now,
        };
        if let Some(e) = shard.map.get_mut(key) {
            *e = entry;
            return;
        }
        while shard.map.len() >= self.max_entries
            || shard.bytes + key.len() + ENTRY_COST > self.max_bytes
        {
            shard.remove_lru();
        }
        shard.bytes += key.len() + ENTRY_COST;
        shard.map.put(key.into(), entry);
    }

    /// Ends `key`'s session; whether there was one.
    pub fn remove(&self, key: &[u8]) -> bool {
        let mut shard = self.shard(key);
        match shard.map.pop(key) {
            Some(_) => {
                shard.bytes -= key.len() + ENTRY_COST;
                true
            }
            None => false,
        }
    }

    /// Every live session as (key, backend, expiry), the one expiring first first. Each
    /// part is locked only while it is copied.
    pub fn list(&self, now: Instant) -> Vec<(Box<[u8]>, usize, Instant)> {
        let mut out = Vec::new();
        for s in self.shards.iter() {
            let shard = lock(s);
            out.extend(shard.map.iter().filter_map(|(k, e)| {
                let expire = e.last_use + self.ttl;
                (expire >= now).then(|| (k.clone(), e.backend, expire))
            }));
        }
        out.sort_by_key(|&(_, _, t)| t);
        out
    }

    /// Drops every expired session, one part at a time, so that no request waits for more
    /// than one part's sweep. Returns how many were dropped.
    pub fn sweep(&self, now: Instant) -> usize {
        let mut total = 0;
        for s in self.shards.iter() {
            loop {
                let n = lock(s).expire(self.ttl, now, SWEEP_BATCH);
                total += n;
                if n < SWEEP_BATCH {
                    break;
                }
            }
        }
        total
    }

    /// Points each session at `f(backend)` instead, dropping those for which it is `None`
    /// (a backend list changed by DNS: indexes moved, backends went away).
    pub fn remap(&self, f: impl Fn(usize) -> Option<usize>) {
        for s in self.shards.iter() {
            let mut shard = lock(s);
            let mut gone = Vec::new();
            for (k, e) in shard.map.iter_mut() {
                match f(e.backend) {
                    Some(i) => e.backend = i,
                    None => gone.push(k.clone()),
                }
            }
            for k in gone {
                if shard.map.pop(&k).is_some() {
                    shard.bytes -= k.len() + ENTRY_COST;
                }
            }
        }
    }

    /// Sessions held, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).map.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| lock(s).map.is_empty())
    }
}

fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // No operation can panic half-way through an update of a part.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(10);

    #[test]
    fn a_session_lives_ttl_after_its_last_use() {
        let t = Table::new(TTL);
        let t0 = Instant::now();
        t.put(b"abc", 2, t0);
        assert_eq!(t.get(b"abc", t0 + Duration::from_secs(9)), Some(2));
        // Used at 9 s: still there at 18 s, gone after 19 s.
        assert_eq!(t.get(b"abc", t0 + Duration::from_secs(18)), Some(2));
        assert_eq!(t.get(b"abc", t0 + Duration::from_secs(29)), None);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn put_moves_a_session() {
        let t = Table::new(TTL);
        let t0 = Instant::now();
        t.put(b"k", 0, t0);
        t.put(b"k", 3, t0);
        assert_eq!(t.get(b"k", t0), Some(3));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn sweep_drops_only_expired_sessions() {
        let t = Table::new(TTL);
        let t0 = Instant::now();
        for i in 0..100u32 {
            t.put(
                &i.to_be_bytes(),
                0,
                t0 + Duration::from_millis(u64::from(i) * 100),
            );
        }
        // At 15 s, sessions last used before 5 s have expired: 0..=49.
        assert_eq!(t.sweep(t0 + Duration::from_millis(15_000)), 50);
        assert_eq!(t.len(), 50);
        let at = t0 + Duration::from_millis(15_000);
        assert_eq!(t.get(&49u32.to_be_bytes(), at), None);
        assert_eq!(t.get(&50u32.to_be_bytes(), at), Some(0));
    }

    #[test]
    fn the_table_is_bounded_by_entries_and_bytes() {
        let t0 = Instant::now();
        let t = Table::with_limits(TTL, SHARDS * 4, usize::MAX);
        for i in 0..10_000u32 {
            t.put(&i.to_be_bytes(), 1, t0);
        }
        assert!(t.len() <= SHARDS * 4);
        // The most recent session survives eviction.
        assert_eq!(t.get(&9_999u32.to_be_bytes(), t0), Some(1));

        let per_shard = 3 * (MAX_KEY + ENTRY_COST);
        let t = Table::with_limits(TTL, usize::MAX, SHARDS * per_shard);
        for i in 0..1_000u32 {
            let key = [i.to_be_bytes().as_slice(), &[b'x'; MAX_KEY - 4]].concat();
            t.put(&key, 1, t0);
        }
        assert!(t.len() <= SHARDS * 3, "{}", t.len());
        for s in t.shards.iter() {
            assert!(lock(s).bytes <= per_shard);
        }
    }

    #[test]
    fn sessions_are_listed_by_expiry_and_removed() {
        let t = Table::new(TTL);
        let t0 = Instant::now();
        t.put(b"b", 2, t0 + Duration::from_secs(2));
        t.put(b"a", 1, t0 + Duration::from_secs(1));
        t.put(b"old", 0, t0);
        let at = t0 + Duration::from_millis(10_500);
        let keys: Vec<_> = t.list(at).into_iter().map(|(k, b, _)| (k, b)).collect();
        assert_eq!(keys, vec![(b"a"[..].into(), 1), (b"b"[..].into(), 2)]);
        assert!(t.remove(b"a"));
        assert!(!t.remove(b"a"));
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(b"a", at), None);
    }

    #[test]
    fn empty_and_oversized_keys_are_not_kept() {
        let t = Table::new(TTL);
        let t0 = Instant::now();
        t.put(b"", 1, t0);
        t.put(&[b'k'; MAX_KEY + 1], 1, t0);
        assert_eq!(t.len(), 0);
        t.put(&[b'k'; MAX_KEY], 1, t0);
        assert_eq!(t.len(), 1);
    }
}
