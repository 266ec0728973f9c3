//! The control socket's view of the running state: the objects of control-api.md (shared
//! with poundctl in `pound_control::objects`), filled in from the snapshot in force.
//!
//! The control socket shows itself as listener 0 when it exists, so that indexes match
//! those the original pound gives: the first `ListenHTTP` of the file is `/1`.

use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

use pound_control::objects::{
    Backend, Core, Figures, Listener, Pound, Queue, Scalar, Service, Session, Workers,
};
use serde::Serialize;
use serde_json::Value;

use std::sync::Arc;

use crate::state::{Matrix, Member, Role, Special, State, EMERGENCY_GROUP};

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

/// A reply object as the JSON value the control socket sends.
pub fn value<T: Serialize>(object: &T) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

/// The whole state: the top-level object.
/// The whole state; the control socket, when there is one, is listener 0.
pub fn pound(state: &State, control_path: Option<&str>) -> Pound {
    let mut listeners: Vec<Listener> = control_path.map(control_listener).into_iter().collect();
    listeners.extend(state.listeners.iter().map(|l| listener(l)));
    let w = crate::workers::snapshot();
    let figures = Figures {
        pid: Some(u64::from(std::process::id())),
        queue_len: Some(w.waiting as u64),
        timestamp: Some(timestamp(SystemTime::now())),
        version: Some(crate::POUND_VERSION.into()),
        pound_rs_version: Some(crate::VERSION.into()),
        workers: Some(Workers {
            active: Some(w.active as u64),
            count: Some(w.threads as u64),
            max: Some(w.max as u64),
            min: Some(w.min as u64),
            timeout: Some(u64::from(w.idle_timeout)),
        }),
    };
    Pound {
        kind: Some("pound".into()),
        // pound 4.23's shape: the process figures in `core`, where its poundctl reads them
        // (the same figures stay at the top level, where control-api.md has them).
        core: Some(Core {
            kind: Some("core".into()),
            queue: Some(Queue {
                len: figures.queue_len,
                max: Some(w.queue as u64),
            }),
            uptime: Some(crate::stats::uptime().as_micros() as u64),
            figures: figures.clone(),
        }),
        listeners,
        services: state.globals.iter().map(|s| service(s)).collect(),
        figures,
    }
}

/// Listener 0: the control socket itself.
pub fn control_listener(path: &str) -> Listener {
    Listener {
        kind: Some("listener".into()),
        address: Some(path.into()),
        enabled: true,
        protocol: Some("http".into()),
        services: vec![Service {
            kind: Some("service".into()),
            enabled: true,
            session_type: Some("NONE".into()),
            tot_pri: Some(1),
            abs_pri: Some(1),
            max_pri: Some(1),
            backends: vec![Backend {
                type_: Some("control".into()),
                kind: Some("backend".into()),
                priority: Some(1),
                alive: true,
                enabled: true,
                weight: Some(Scalar(Value::from(0))),
                ..Backend::default()
            }],
            ..Service::default()
        }],
        ..Listener::default()
    }
}

/// `http`, `https` or `tunnel`.
pub fn protocol(l: &crate::state::Listener) -> &'static str {
    if l.tunnel {
        "tunnel"
    } else if l.tls.is_some() {
        "https"
    } else {
        "http"
    }
}

fn name(n: &str) -> Option<String> {
    (n != "-").then(|| n.to_string())
}

pub fn listener(l: &crate::state::Listener) -> Listener {
    Listener {
        kind: Some("listener".into()),
        address: Some(l.address.get().cloned().unwrap_or_default()),
        enabled: l.enabled.load(Ordering::Relaxed),
        name: name(&l.named.name),
        protocol: Some(protocol(l).into()),
        services: l.services[..l.own_services]
            .iter()
            .map(|s| {
                let mut s = service(s);
                // A tunnel's backend speaks the tunnel's protocol, at priority 1, as pound
                // 4.23 lists it.
                if l.tunnel {
                    for b in &mut s.backends {
                        b.protocol = Some("tunnel".into());
                        b.priority = Some(1);
                    }
                }
                s
            })
            .collect(),
        nohttps11: l.tls.as_ref().map(|t| u64::from(t.no_https11)),
    }
}

pub fn service(s: &crate::state::Service) -> Service {
    let table = s.backends.load();
    // pound 4.23 lists the backends by balancer group (`Emergency` ones last, in the last
    // group), and counts them all in the backends' indexes.
    let backends: Vec<Backend> = match &s.special {
        Some(sp) => special_backends(s, sp),
        None => (0..table.list.len())
            .map(|i| entry(&table.list, i))
            .collect(),
    };
    // control-api.md's figures are those of the regular backends.
    let regular = || table.list.iter().filter(|m| m.group != EMERGENCY_GROUP);
    let tot: u64 = regular()
        .filter(|m| !m.disabled.load(Ordering::Relaxed) && m.backend.is_alive())
        .map(|m| u64::from(m.priority))
        .sum();
    let abs: u64 = regular().map(|m| u64::from(m.priority)).sum();
    let max = regular().map(|m| m.priority).max().unwrap_or(0);
    let (tot, abs, max) = if s.special.is_some() {
        let n = backends.len() as u64;
        let on = (0..backends.len())
            .filter(|&i| s.special_enabled(i))
            .count() as u64;
        (on, n, u64::from(n > 0))
    } else {
        (tot, abs, u64::from(max))
    };
    Service {
        kind: Some("service".into()),
        name: name(&s.named.name),
        enabled: !s.disabled.load(Ordering::Relaxed),
        session_type: Some(
            s.sessions
                .as_ref()
                .map_or("NONE", |t| t.kind.keyword())
                .into(),
        ),
        sessions: sessions(s),
        tot_pri: Some(tot),
        abs_pri: Some(abs),
        max_pri: Some(max),
        backends,
        ..Service::default()
    }
}

fn sessions(s: &crate::state::Service) -> Option<Vec<Session>> {
    let table = &s.sessions.as_ref()?.table;
    let (now, wall) = (Instant::now(), SystemTime::now());
    let list = table.list(now);
    Some(
        list.into_iter()
            .map(|(key, backend, expire)| {
                let at = match expire.checked_duration_since(now) {
                    Some(ahead) => wall + ahead,
                    None => wall - now.duration_since(expire),
                };
                Session {
                    key: Some(String::from_utf8_lossy(&key).into_owned()),
                    backend: Some(backend as u64),
                    expire: Some(timestamp(at)),
                }
            })
            .collect(),
    )
}

/// A service's backend `i`, as the control interface counts them.
pub fn member_at(s: &crate::state::Service, i: usize) -> Option<Backend> {
    let table = s.backends.load();
    (i < table.list.len()).then(|| entry(&table.list, i))
}

/// Backend `i` of a service's `list`: a matrix (pound 4.23's object), or a backend (with
/// its matrix's index as `parent` when one made it).
fn entry(list: &[Arc<Member>], i: usize) -> Backend {
    let m = &list[i];
    match &m.role {
        Role::Matrix(x) => matrix(m, x),
        Role::Generated(x) => Backend {
            parent: list
                .iter()
                .position(|p| matches!(&p.role, Role::Matrix(y) if Arc::ptr_eq(x, y)))
                .map(|p| Scalar(Value::from(p))),
            ..member(m)
        },
        Role::Static => member(m),
    }
}

/// A matrix as pound 4.23 shows it: its name and how it is resolved, never alive, and when
/// it is looked up next (whole seconds; absent while a lookup runs or it is disabled).
fn matrix(m: &Member, x: &Matrix) -> Backend {
    let d = &x.config.dynamic;
    let due = x.expire.load(Ordering::Relaxed);
    Backend {
        type_: Some("matrix".into()),
        kind: Some("backend".into()),
        hostname: Some(x.host().to_string()),
        resolve_mode: Some(d.resolve.keyword().into()),
        family: Some(Scalar(Value::from(d.family.number()))),
        priority: Some(u64::from(m.priority)),
        weight: Some(Scalar(Value::from(m.group))),
        servername: Some(Scalar(
            x.config
                .server_name
                .as_deref()
                .map_or(Value::Null, Value::from),
        )),
        expire: (due > 0)
            .then(|| timestamp(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(due))),
        alive: false,
        enabled: !m.disabled.load(Ordering::Relaxed),
        ..Backend::default()
    }
}

pub fn member(m: &Member) -> Backend {
    let b = &m.backend;
    Backend {
        type_: Some("backend".into()),
        kind: Some("backend".into()),
        // The balancer group (pound 4.23 names it so).
        weight: Some(Scalar(Value::from(m.group))),
        servername: Some(Scalar(
            b.server_name.as_deref().map_or(Value::Null, Value::from),
        )),
        address: Some(b.named.name.clone()),
        protocol: Some(if b.tls.is_some() { "https" } else { "http" }.into()),
        priority: Some(u64::from(m.priority)),
        alive: b.is_alive(),
        enabled: !m.disabled.load(Ordering::Relaxed),
        conn_to: Some(b.conn_to.as_secs()),
        io_to: Some(b.timeout.as_secs()),
        ws_to: Some(b.ws_timeout.as_secs()),
        ..Backend::default()
    }
}

fn special_backends(s: &crate::state::Service, sp: &Special) -> Vec<Backend> {
    let special = |i: usize, kind: &str| Backend {
        type_: Some(kind.into()),
        kind: Some("backend".into()),
        weight: Some(Scalar(Value::from(0))),
        priority: Some(1),
        alive: true,
        enabled: s.special_enabled(i),
        ..Backend::default()
    };
    match sp {
        Special::Redirect(list) => list
            .iter()
            .enumerate()
            .map(|(i, r)| Backend {
                code: Some(u64::from(r.code)),
                url: Some(r.url.text.clone()),
                has_uri: Some(!r.append_request),
                ..special(i, "redirect")
            })
            .collect(),
        Special::Error { status, page } => vec![Backend {
            status: Some(u64::from(*status)),
            text: Some(Scalar(page.as_ref().map_or(Value::Null, |p| {
                Value::from(String::from_utf8_lossy(&p.body).into_owned())
            }))),
            ..special(0, "error")
        }],
        Special::Acme(_) => vec![special(0, "acme")],
        Special::Metrics => vec![special(0, "metrics")],
        Special::Success => vec![special(0, "success")],
        Special::SendFile(_) => vec![special(0, "file")],
        Special::Control => vec![special(0, "control")],
    }
}
