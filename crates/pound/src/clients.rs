//! Per-client-address limits: `ClientMaxConnections` (open connections) and
//! `ClientMaxRequests` (requests in progress, HTTP/2 streams included).
//!
//! One table for the whole server, so that a client cannot multiply its share by spreading
//! over listeners; each listener applies its own limits to it. The table is split in parts
//! locked on their own, and is touched only when a limit is set: with both limits at 0 (the
//! default) no request ever looks at it. An address's entry is removed when its last
//! connection and request end, so the table holds only addresses with something open.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, OnceLock};

const PARTS: usize = 16;

#[derive(Default, Clone, Copy)]
struct Counts {
    connections: u32,
    requests: u32,
}

type Part = Mutex<HashMap<IpAddr, Counts>>;

struct Table {
    parts: Vec<Part>,
    hasher: std::collections::hash_map::RandomState,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| Table {
        parts: (0..PARTS).map(|_| Mutex::new(HashMap::new())).collect(),
        hasher: Default::default(),
    })
}

/// IPv4 clients of a dual-stack listener arrive as IPv4-mapped addresses: one client, one
/// entry.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

fn part(addr: &IpAddr) -> MutexGuard<'static, HashMap<IpAddr, Counts>> {
    let t = table();
    let p = &t.parts[(t.hasher.hash_one(addr) as usize) % PARTS];
    // No operation can panic half-way through an update.
    p.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Clone, Copy)]
enum Kind {
    Connection,
    Request,
}

/// The client address already has as many as its limit allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverLimit;

/// An open connection or a request in progress, counted against its address until dropped.
pub struct Held {
    addr: IpAddr,
    kind: Kind,
}

fn take(addr: IpAddr, limit: u32, kind: Kind) -> Option<Held> {
    let addr = canonical(addr);
    let mut p = part(&addr);
    let c = p.entry(addr).or_default();
    let n = match kind {
        Kind::Connection => &mut c.connections,
        Kind::Request => &mut c.requests,
    };
    if *n >= limit {
        if c.connections == 0 && c.requests == 0 {
            p.remove(&addr);
        }
        return None;
    }
    *n += 1;
    Some(Held { addr, kind })
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut p = part(&self.addr);
        if let Some(c) = p.get_mut(&self.addr) {
            match self.kind {
                Kind::Connection => c.connections = c.connections.saturating_sub(1),
                Kind::Request => c.requests = c.requests.saturating_sub(1),
            }
            if c.connections == 0 && c.requests == 0 {
                p.remove(&self.addr);
            }
        }
    }
}

/// Counts a new connection from `addr`; `Err` when `limit` (non-zero) are already open.
/// Nothing is counted without a limit or an address (UNIX-socket clients).
pub fn connection(addr: Option<IpAddr>, limit: u32) -> Result<Option<Held>, OverLimit> {
    match addr {
        Some(a) if limit > 0 => take(a, limit, Kind::Connection).map(Some).ok_or(OverLimit),
        _ => Ok(None),
    }
}

/// Counts a new request from `addr`; `Err` when `limit` (non-zero) are already in progress.
pub fn request(addr: Option<IpAddr>, limit: u32) -> Result<Option<Held>, OverLimit> {
    match addr {
        Some(a) if limit > 0 => take(a, limit, Kind::Request).map(Some).ok_or(OverLimit),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_per_address_and_entries_go_when_empty() {
        let a: IpAddr = "192.0.2.77".parse().expect("address");
        let mapped: IpAddr = "::ffff:192.0.2.77".parse().expect("address");
        let b: IpAddr = "192.0.2.78".parse().expect("address");
        let c1 = connection(Some(a), 2).expect("first");
        let c2 = connection(Some(mapped), 2).expect("second, same client");
        assert!(connection(Some(a), 2).is_err());
        assert!(connection(Some(b), 2).is_ok());
        let r = request(Some(a), 1).expect("requests count apart");
        assert!(request(Some(a), 1).is_err());
        drop((c1, c2, r));
        assert!(!part(&a).contains_key(&a));
        assert!(connection(Some(a), 0).expect("no limit").is_none());
        assert!(request(None, 1).expect("no address").is_none());
    }
}
