//! The runtime of dynamic backends (pound 4.14, manual 6.3): one task per matrix looks its
//! name up, makes the backends the answers call for (`dns::matrix`), and puts a new list in
//! its service's place, off the request path; requests take whichever list is in force.
//!
//! A refresh comes when the answer's TTL (or `OverrideTTL`) runs out; a failed lookup is
//! tried again after `RetryInterval` (the backend's, else the `Resolver`'s, else 600 s;
//! `OverrideTTL` stands for both). A name that is not there, or has no records, empties the
//! matrix, as pound does; a server that does not answer (as pound) or answers with an error
//! (pound empties the matrix then) leaves it as it was, and is logged.
//! Disabling a matrix through the control interface empties it; enabling it looks again at
//! once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use pound_config::model::dns::{ResolveMode, DEFAULT_RETRY_INTERVAL};
use pound_config::model::BackendAddr;

use crate::dns::matrix::{self, Slot, Target};
use crate::dns::{Dns, Failure};
use crate::logmsg;
use crate::state::{Backends, Matrix, Member, Role, Service};

/// Runs the tasks of `matrices`.
pub fn start(matrices: &[(Arc<Service>, Arc<Matrix>)], dns: Arc<Dns>, resolver_retry: Option<u32>) {
    for (service, matrix) in matrices {
        tokio::spawn(run(
            service.clone(),
            matrix.clone(),
            dns.clone(),
            resolver_retry,
        ));
    }
}

/// The member standing for `matrix` in `service`'s list.
fn matrix_member(service: &Service, matrix: &Arc<Matrix>) -> Option<Arc<Member>> {
    service
        .backends
        .load()
        .list
        .iter()
        .find(|m| matches!(&m.role, Role::Matrix(x) if Arc::ptr_eq(x, matrix)))
        .cloned()
}

async fn run(
    service: Arc<Service>,
    matrix: Arc<Matrix>,
    dns: Arc<Dns>,
    resolver_retry: Option<u32>,
) {
    let d = &matrix.config.dynamic;
    let retry = Duration::from_secs(u64::from(
        d.override_ttl
            .or(d.retry_interval)
            .or(resolver_retry)
            .unwrap_or(DEFAULT_RETRY_INTERVAL),
    ));
    loop {
        let enabled =
            matrix_member(&service, &matrix).is_some_and(|m| !m.disabled.load(Ordering::Relaxed));
        if !enabled {
            matrix.expire.store(0, Ordering::Relaxed);
            apply(&service, &matrix, &[]);
            matrix.wake.notified().await;
            continue;
        }
        matrix.expire.store(0, Ordering::Relaxed);
        let wait = match lookup(&dns, &matrix).await {
            Ok((targets, ttl)) => {
                apply(&service, &matrix, &targets);
                d.override_ttl
                    .map_or(ttl, |s| Duration::from_secs(u64::from(s)))
            }
            Err(Failure::Nothing) => {
                apply(&service, &matrix, &[]);
                retry
            }
            Err(Failure::Timeout(why) | Failure::Error(why)) => {
                logmsg!(Warning, "{why}");
                retry
            }
        };
        // At least a second between lookups: a TTL of 0 must not make a busy loop (pound
        // 4.23 loops with `RetryInterval 0`; this does not).
        let wait = wait.max(Duration::from_secs(1));
        let due = SystemTime::now() + wait;
        let secs = due
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        matrix.expire.store(secs, Ordering::Relaxed);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = matrix.wake.notified() => {}
        }
    }
}

/// What the matrix's name calls for now, and how long that holds.
async fn lookup(dns: &Dns, m: &Matrix) -> Result<(Vec<Target>, Duration), Failure> {
    let d = &m.config.dynamic;
    let priority = m.config.priority;
    // `first`/`all` backends go in group 0, also for an `Emergency` matrix, as pound 4.23
    // places them.
    let group = 0;
    match d.resolve {
        ResolveMode::Srv => {
            let srv = dns.services(m.host()).await?;
            let mut resolved: HashMap<String, Vec<IpAddr>> = HashMap::new();
            let mut ttl = srv.ttl;
            for r in &srv.records {
                if resolved.contains_key(&r.target) {
                    continue;
                }
                // A target that does not resolve makes no backends; the others stand.
                if let Ok(a) = dns.addresses(&r.target, d.family).await {
                    ttl = ttl.min(a.ttl);
                    resolved.insert(r.target.clone(), a.addrs);
                }
            }
            Ok((
                matrix::from_srv(&srv.records, &resolved, d.ignore_srv_weight, priority),
                ttl,
            ))
        }
        mode => {
            let a = dns.addresses(m.host(), d.family).await?;
            Ok((
                matrix::from_addresses(mode, &a.addrs, m.port(), priority, group),
                a.ttl,
            ))
        }
    }
}

/// Puts `targets` in place of `matrix`'s backends in `service`'s list, keeping those that
/// stay (their health, pool and `disabled`), and moves the sessions along.
fn apply(service: &Service, matrix: &Arc<Matrix>, targets: &[Target]) {
    let _changing = service.changing.lock().unwrap_or_else(|p| p.into_inner());
    let old = service.backends.load_full();
    let mine = |m: &Member| matches!(&m.role, Role::Generated(x) if Arc::ptr_eq(x, matrix));
    let current: Vec<(usize, &Arc<Member>)> = old
        .list
        .iter()
        .enumerate()
        .filter(|(_, m)| mine(m))
        .collect();
    let keys: Vec<_> = current
        .iter()
        .filter_map(|(_, m)| match m.backend.address {
            crate::backend::Address::Inet(a) => Some((a, m.group)),
            crate::backend::Address::Unix(_) => None,
        })
        .collect();
    if keys.is_empty() && targets.is_empty() {
        return;
    }
    let merged = matrix::merge(&keys, targets);
    let mut list: Vec<Arc<Member>> = old.list.iter().filter(|m| !mine(m)).cloned().collect();
    for (group, slot) in merged {
        let member = match slot {
            Slot::Kept(i, priority) => {
                let kept = current[i].1;
                if kept.priority == priority {
                    kept.clone()
                } else {
                    Arc::new(Member {
                        backend: kept.backend.clone(),
                        priority,
                        disabled: std::sync::atomic::AtomicBool::new(
                            kept.disabled.load(Ordering::Relaxed),
                        ),
                        group,
                        role: Role::Generated(matrix.clone()),
                    })
                }
            }
            Slot::New(t) => match generated(matrix, t) {
                Some(m) => m,
                None => continue,
            },
        };
        // At the end of its group.
        let at = list
            .iter()
            .rposition(|m| m.group <= group)
            .map_or(0, |p| p + 1);
        list.insert(at, member);
    }
    let new = Arc::new(Backends { list });
    // Sessions follow their backend to its new place; those whose backend went are dropped.
    if let Some(sessions) = &service.sessions {
        let place = |i: usize| -> Option<usize> {
            let m = old.list.get(i)?;
            new.list
                .iter()
                .position(|n| Arc::ptr_eq(&n.backend, &m.backend))
        };
        sessions.table.remap(place);
    }
    service.backends.store(new);
}

/// A backend the matrix makes for `t`: the matrix's settings at `t`'s address.
fn generated(matrix: &Arc<Matrix>, t: Target) -> Option<Arc<Member>> {
    let mut cfg = matrix.config.clone();
    cfg.address = BackendAddr::Inet {
        host: t.addr.ip().to_string(),
        port: t.addr.port(),
    };
    cfg.dynamic = Default::default();
    let mut warnings = Vec::new();
    let backend = crate::state::dynamic_backend(&cfg, &matrix.span, &mut warnings).ok()?;
    Some(Arc::new(Member {
        backend,
        priority: t.priority,
        disabled: std::sync::atomic::AtomicBool::new(false),
        group: t.group,
        role: Role::Generated(matrix.clone()),
    }))
}
