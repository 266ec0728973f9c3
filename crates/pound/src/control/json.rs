//! The control socket's view of the running state as JSON (the shapes of control-api.md).
//!
//! The control socket shows itself as listener 0 when it exists, so that indexes match
//! those the original pound gives: the first `ListenHTTP` of the file is `/1`.

use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

use serde_json::{json, Map, Value};

use crate::state::{Listener, Member, Service, Special, State};

/// `2026-11-21T12:52:23.942828`: local time with microseconds, as pound prints times.
pub fn timestamp(t: SystemTime) -> String {
    let mut out = String::with_capacity(26);
    crate::log::time::strftime(t, "%Y-%m-%dT%H:%M:%S", &mut out);
    let micros = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_micros();
    out.push_str(&format!(".{micros:06}"));
    out
}

/// The whole state: the top-level object.
pub fn pound(state: &State, control_path: &str) -> Value {
    let mut listeners = vec![control_listener(control_path)];
    listeners.extend(state.listeners.iter().map(|l| listener(l)));
    let w = crate::workers::snapshot();
    let workers = json!({
        "active": w.active,
        "count": w.threads,
        "max": w.max,
        "min": w.min,
        "timeout": w.idle_timeout,
    });
    let timestamp = timestamp(SystemTime::now());
    json!({
        // pound 4.23's shape: the process figures in `core`, where its poundctl reads them
        // (the same figures stay at the top level, where control-api.md has them).
        "kind": "pound",
        "core": {
            "kind": "core",
            "pid": std::process::id(),
            "queue": { "len": w.waiting },
            "queue_len": w.waiting,
            "timestamp": timestamp.clone(),
            "uptime": crate::stats::uptime().as_millis() as u64,
            "version": crate::POUND_VERSION,
            "pound_rs_version": crate::VERSION,
            "workers": workers.clone(),
        },
        "listeners": listeners,
        "services": state.globals.iter().map(|s| service(s)).collect::<Vec<_>>(),
        "pid": std::process::id(),
        "queue_len": w.waiting,
        "timestamp": timestamp,
        "version": crate::POUND_VERSION,
        "pound_rs_version": crate::VERSION,
        "workers": workers,
    })
}

/// Listener 0: the control socket itself.
pub fn control_listener(path: &str) -> Value {
    json!({
        "address": path,
        "enabled": true,
        "name": null,
        "protocol": "http",
        "services": [{
            "name": null,
            "enabled": true,
            "session_type": "NONE",
            "sessions": null,
            "tot_pri": 1,
            "abs_pri": 1,
            "max_pri": 1,
            "emergency": null,
            "backends": [{"type": "control", "priority": 1, "alive": true, "enabled": true}],
        }],
    })
}

fn name(n: &str) -> Value {
    if n == "-" {
        Value::Null
    } else {
        Value::from(n)
    }
}

pub fn listener(l: &Listener) -> Value {
    let mut v = json!({
        "address": l.address.get().map(String::as_str).unwrap_or(""),
        "enabled": l.enabled.load(Ordering::Relaxed),
        "name": name(&l.named.name),
        "protocol": if l.tls.is_some() { "https" } else { "http" },
        "services": l.services[..l.own_services].iter().map(|s| service(s)).collect::<Vec<_>>(),
    });
    if let (Some(t), Value::Object(m)) = (&l.tls, &mut v) {
        m.insert("nohttps11".into(), t.no_https11.into());
    }
    v
}

pub fn service(s: &Service) -> Value {
    let backends: Vec<Value> = match &s.special {
        Some(sp) => special_backends(s, sp),
        None => s.members.iter().map(member).collect(),
    };
    let usable = s
        .members
        .iter()
        .filter(|m| !m.disabled.load(Ordering::Relaxed) && m.backend.is_alive());
    let tot: u32 = usable.map(|m| u32::from(m.priority)).sum();
    let abs: u32 = s.members.iter().map(|m| u32::from(m.priority)).sum();
    let max = s.members.iter().map(|m| m.priority).max().unwrap_or(0);
    let (tot, abs, max) = if s.special.is_some() {
        let n = backends.len() as u32;
        let on = (0..backends.len())
            .filter(|&i| s.special_enabled(i))
            .count() as u32;
        (on, n, u16::from(n > 0))
    } else {
        (tot, abs, max)
    };
    json!({
        "name": name(&s.named.name),
        "enabled": !s.disabled.load(Ordering::Relaxed),
        "session_type": s.sessions.as_ref().map_or("NONE", |t| t.kind.keyword()),
        "sessions": sessions(s),
        "tot_pri": tot,
        "abs_pri": abs,
        "max_pri": max,
        "emergency": s.emergency.first().map(member),
        "backends": backends,
    })
}

fn sessions(s: &Service) -> Value {
    let Some(table) = s.sessions.as_ref().map(|t| &t.table) else {
        return Value::Null;
    };
    let (now, wall) = (Instant::now(), SystemTime::now());
    let list = table.list(now);
    Value::Array(
        list.into_iter()
            .map(|(key, backend, expire)| {
                let at = match expire.checked_duration_since(now) {
                    Some(ahead) => wall + ahead,
                    None => wall - now.duration_since(expire),
                };
                json!({
                    "key": String::from_utf8_lossy(&key),
                    "backend": backend,
                    "expire": timestamp(at),
                })
            })
            .collect(),
    )
}

pub fn member(m: &Member) -> Value {
    let b = &m.backend;
    json!({
        "type": "backend",
        "address": b.named.name,
        "protocol": if b.tls.is_some() { "https" } else { "http" },
        "priority": m.priority,
        "alive": b.is_alive(),
        "enabled": !m.disabled.load(Ordering::Relaxed),
        "conn_to": b.conn_to.as_secs(),
        "io_to": b.timeout.as_secs(),
        "ws_to": b.ws_timeout.as_secs(),
    })
}

fn special_backends(s: &Service, sp: &Special) -> Vec<Value> {
    let enabled = |i: usize| s.special_enabled(i);
    let mut out = Vec::new();
    match sp {
        Special::Redirect(list) => {
            for (i, r) in list.iter().enumerate() {
                out.push(json!({
                    "type": "redirect",
                    "code": r.code,
                    "url": r.url.text,
                    "has_uri": !r.append_request,
                    "priority": 1,
                    "alive": true,
                    "enabled": enabled(i),
                }));
            }
        }
        other => {
            let mut m = Map::new();
            let kind = match other {
                Special::Error { status, .. } => {
                    m.insert("status".into(), (*status).into());
                    "error"
                }
                Special::Acme(_) => "acme",
                Special::Metrics => "metrics",
                Special::Redirect(_) => "redirect",
            };
            m.insert("type".into(), kind.into());
            m.insert("priority".into(), 1.into());
            m.insert("alive".into(), true.into());
            m.insert("enabled".into(), enabled(0).into());
            out.push(Value::Object(m));
        }
    }
    out
}
