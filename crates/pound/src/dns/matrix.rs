//! What a matrix backend generates from DNS answers, and how a new set replaces the old
//! one (pound 4.14, manual 6.3), as pure functions.
//!
//! - `Resolve first`: the first address makes one backend; `Resolve all`: each address
//!   makes one. Both take the matrix's `Port` (80 without one) and `Priority`, in the
//!   matrix's balancer group.
//! - `Resolve srv`: each SRV record's target, resolved as `Resolve all`, makes backends on
//!   the record's port, in the balancer group of the record's priority, with the record's
//!   weight as priority. Within one SRV priority, weights that are all 0 become 1 (so that
//!   the group can be balanced), while a 0 beside positive weights stays 0 and the backend
//!   is never chosen (RFC 2782's "very small chance"). `IgnoreSRVWeight` gives every one
//!   the matrix's priority instead.
//! - A refresh keeps the backends whose address stays in the same group (with their
//!   health, pool, counters and `disabled` flag), updates their priority, drops the
//!   vanished ones, and appends the new ones at the end of their group, as pound orders
//!   them.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use pound_config::model::dns::ResolveMode;

use super::Srv;

/// A backend the answers call for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub addr: SocketAddr,
    pub priority: u16,
    /// The balancer group.
    pub group: u16,
}

/// `Resolve first` or `all` over `addrs`.
pub fn from_addresses(
    mode: ResolveMode,
    addrs: &[IpAddr],
    port: u16,
    priority: u16,
    group: u16,
) -> Vec<Target> {
    let take = if mode == ResolveMode::First {
        1
    } else {
        usize::MAX
    };
    let mut out: Vec<Target> = Vec::new();
    for &ip in addrs.iter() {
        let addr = SocketAddr::new(ip, port);
        // One backend per address, whatever the answer repeats.
        if out.iter().any(|t| t.addr == addr) {
            continue;
        }
        if out.len() == take {
            break;
        }
        out.push(Target {
            addr,
            priority,
            group,
        });
    }
    out
}

/// `Resolve srv`: `records` with their targets' addresses in `resolved` (a target
/// missing there, or with no address, makes nothing).
pub fn from_srv(
    records: &[Srv],
    resolved: &HashMap<String, Vec<IpAddr>>,
    ignore_weight: bool,
    matrix_priority: u16,
) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    for r in records {
        let priority = if ignore_weight {
            matrix_priority
        } else if r.weight == 0
            && records
                .iter()
                .filter(|o| o.priority == r.priority)
                .all(|o| o.weight == 0)
        {
            1
        } else {
            r.weight
        };
        for &ip in resolved.get(&r.target).map_or(&[][..], Vec::as_slice) {
            let addr = SocketAddr::new(ip, r.port);
            if out.iter().any(|t| t.addr == addr && t.group == r.priority) {
                continue;
            }
            out.push(Target {
                addr,
                priority,
                group: r.priority,
            });
        }
    }
    out
}

/// One backend of a refreshed matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The backend at this index of the current list, kept, with this priority now.
    Kept(usize, u16),
    /// A new backend.
    New(Target),
}

/// The refreshed list of a matrix's backends, given the `current` ones (address and
/// group, in list order) and the `targets` of the new answers: kept ones in their order,
/// new ones at the end of their group; groups in ascending order.
pub fn merge(current: &[(SocketAddr, u16)], targets: &[Target]) -> Vec<(u16, Slot)> {
    let mut out: Vec<(u16, Slot)> = Vec::new();
    for (i, &(addr, group)) in current.iter().enumerate() {
        if let Some(t) = targets.iter().find(|t| t.addr == addr && t.group == group) {
            out.push((group, Slot::Kept(i, t.priority)));
        }
    }
    for t in targets {
        let known = current
            .iter()
            .any(|&(addr, group)| addr == t.addr && group == t.group);
        if !known {
            // After the last one of the same group or a smaller one.
            let at = out
                .iter()
                .rposition(|(g, _)| *g <= t.group)
                .map_or(0, |p| p + 1);
            out.insert(at, (t.group, Slot::New(*t)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter()
            .map(|s| s.parse().unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn srv(priority: u16, weight: u16, port: u16, target: &str) -> Srv {
        Srv {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }

    fn brief(t: &[Target]) -> Vec<(String, u16, u16)> {
        t.iter()
            .map(|t| (t.addr.to_string(), t.priority, t.group))
            .collect()
    }

    #[test]
    fn first_and_all() {
        let a = ips(&["127.0.21.1", "127.0.21.2", "127.0.21.1", "::1"]);
        assert_eq!(
            brief(&from_addresses(ResolveMode::All, &a, 8080, 5, 0)),
            [
                ("127.0.21.1:8080".to_string(), 5, 0),
                ("127.0.21.2:8080".to_string(), 5, 0),
                ("[::1]:8080".to_string(), 5, 0)
            ]
        );
        assert_eq!(
            brief(&from_addresses(ResolveMode::First, &a, 80, 9, 65535)),
            [("127.0.21.1:80".to_string(), 9, 65535)]
        );
        assert!(from_addresses(ResolveMode::All, &[], 80, 5, 0).is_empty());
    }

    #[test]
    fn srv_groups_weights_and_the_zero_rule() {
        let resolved: HashMap<String, Vec<IpAddr>> = [
            ("t1", "127.0.21.1"),
            ("t2", "127.0.21.2"),
            ("t3", "127.0.21.3"),
            ("t4", "127.0.21.4"),
        ]
        .into_iter()
        .map(|(n, a)| (n.to_string(), ips(&[a])))
        .collect();
        // The manual's example.
        let records = [
            srv(10, 40, 8081, "t1"),
            srv(10, 70, 8082, "t2"),
            srv(20, 10, 8081, "t3"),
            srv(20, 10, 8081, "t4"),
        ];
        assert_eq!(
            brief(&from_srv(&records, &resolved, false, 5)),
            [
                ("127.0.21.1:8081".to_string(), 40, 10),
                ("127.0.21.2:8082".to_string(), 70, 10),
                ("127.0.21.3:8081".to_string(), 10, 20),
                ("127.0.21.4:8081".to_string(), 10, 20)
            ]
        );
        // All zero in a priority: 1; a zero beside a positive weight stays 0.
        let mixed = [
            srv(10, 0, 1, "t1"),
            srv(10, 7, 1, "t2"),
            srv(20, 0, 1, "t3"),
        ];
        let prios: Vec<u16> = from_srv(&mixed, &resolved, false, 5)
            .iter()
            .map(|t| t.priority)
            .collect();
        assert_eq!(prios, [0, 7, 1]);
        // IgnoreSRVWeight: the matrix's priority; groups still from the records.
        let ignored = from_srv(&mixed, &resolved, true, 9);
        assert_eq!(
            ignored
                .iter()
                .map(|t| (t.priority, t.group))
                .collect::<Vec<_>>(),
            [(9, 10), (9, 10), (9, 20)]
        );
        // A target that did not resolve makes nothing.
        assert!(from_srv(&[srv(1, 1, 1, "nowhere")], &resolved, false, 5).is_empty());
    }

    #[test]
    fn refresh_keeps_order_and_appends_at_the_end_of_the_group() {
        let current = [
            (sa("127.0.21.1:80"), 0),
            (sa("127.0.21.2:80"), 0),
            (sa("127.0.21.3:80"), 20),
        ];
        let t = |addr: &str, priority: u16, group: u16| Target {
            addr: sa(addr),
            priority,
            group,
        };
        let merged = merge(
            &current,
            &[
                t("127.0.21.4:80", 5, 0),
                t("127.0.21.2:80", 50, 0),
                t("127.0.21.3:80", 1, 20),
                t("127.0.21.5:80", 1, 10),
            ],
        );
        assert_eq!(
            merged,
            [
                (0, Slot::Kept(1, 50)),
                (0, Slot::New(t("127.0.21.4:80", 5, 0))),
                (10, Slot::New(t("127.0.21.5:80", 1, 10))),
                (20, Slot::Kept(2, 1)),
            ]
        );
        // A backend whose record moved to another priority is a new one there.
        let moved = merge(&current[..1], &[t("127.0.21.1:80", 5, 7)]);
        assert_eq!(moved, [(7, Slot::New(t("127.0.21.1:80", 5, 7)))]);
        // Nothing answered: nothing kept.
        assert!(merge(&current, &[]).is_empty());
    }
}
