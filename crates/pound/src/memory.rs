//! Giving memory back to the system after a peak of connections.
//!
//! glibc's allocator keeps the memory freed by closed connections in its arenas: without
//! help, a burst of connections (an attack, or a busy minute) would raise pound's resident
//! size for good. Every two seconds this looks at the number of open connections; when it
//! has fallen well below the highest seen since the last look that gave memory back, the
//! free pages are returned with `malloc_trim`, on the blocking pool (it takes the arenas'
//! locks for a few milliseconds). A steady load never triggers it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(2);
/// A fall smaller than this many connections is not worth a trim.
const MIN_FALL: usize = 1000;

/// Whether a fall from `high` to `now` open connections is worth returning memory.
fn worth_trimming(high: usize, now: usize) -> bool {
    high.saturating_sub(now) >= MIN_FALL.max(high / 4)
}

/// Runs until the runtime stops; `open` counts the open client connections.
pub async fn give_back(open: Arc<AtomicUsize>) {
    let mut high = 0;
    loop {
        tokio::time::sleep(EVERY).await;
        let now = open.load(Ordering::Relaxed);
        high = high.max(now);
        if worth_trimming(high, now) {
            high = now;
            let _ = tokio::task::spawn_blocking(trim).await;
        }
    }
}

fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own state.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_large_fall_trims() {
        assert!(!worth_trimming(0, 0));
        assert!(!worth_trimming(800, 0));
        assert!(worth_trimming(10_000, 0));
        assert!(worth_trimming(10_000, 7_000));
        assert!(!worth_trimming(10_000, 9_000));
        assert!(!worth_trimming(100_000, 80_000));
    }
}
