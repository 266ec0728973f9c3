//! The `Metrics` backend (pound.8, Metrics): OpenMetrics text about the running state and
//! the traffic served. Every family is listed, with its meaning, in docs/METRICS.md.
//!
//! Counting costs a few relaxed atomic additions per request on counters owned by the
//! listener, service and backend involved; nothing is locked on the request path. The text
//! is built only when scraped.
//!
//! Objects are labelled as the control socket addresses them: `listener` is the listener's
//! index (the control socket, when configured, is listener 0), `service` the service's index
//! within its listener (global services have no `listener` label), `backend` the index
//! within its service, and `*_name` labels carry the names (empty for unnamed objects).
//! Global services have `listener="-"`, as poundctl writes them.

use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use crate::state::{Listener, Service, State};
use crate::stats::{uptime, Counters, BUCKETS};

/// An OpenMetrics exposition being written: families in order, each with its metadata.
struct Out {
    text: String,
}

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
        let _ = writeln!(self.text, "# HELP {name} {help}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        if labels.is_empty() {
            let _ = writeln!(self.text, "{name} {value}");
        } else {
            let _ = writeln!(self.text, "{name}{{{labels}}} {value}");
        }
    }
}

/// A label value, escaped as OpenMetrics requires.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn with(base: &str, more: &str) -> String {
    match (base.is_empty(), more.is_empty()) {
        (true, _) => more.to_string(),
        (_, true) => base.to_string(),
        _ => format!("{base},{more}"),
    }
}

/// `kind="index",kind_name="name"`; the name is empty for unnamed objects, so that every
/// sample of a family has the same labels.
fn named(kind: &str, index: impl std::fmt::Display, name: &str) -> String {
    let name = if name == "-" { "" } else { name };
    format!("{kind}=\"{index}\",{kind}_name=\"{}\"", escape(name))
}

/// Every service with its labels: listeners' own, then the global ones.
fn services(state: &State, first: usize) -> Vec<(String, &Service)> {
    let mut out = Vec::new();
    for (i, l) in state.listeners.iter().enumerate() {
        let ll = named("listener", i + first, &l.named.name);
        for (j, s) in l.services[..l.own_services].iter().enumerate() {
            out.push((with(&ll, &named("service", j, &s.named.name)), &**s));
        }
    }
    let global = named("listener", "-", "-");
    for (j, s) in state.globals.iter().enumerate() {
        out.push((with(&global, &named("service", j, &s.named.name)), &**s));
    }
    out
}

const CLASSES: [&str; 6] = ["other", "1xx", "2xx", "3xx", "4xx", "5xx"];

fn by_class(out: &mut Out, name: &str, labels: &str, c: &Counters) {
    for (i, class) in CLASSES.iter().enumerate() {
        let v = c.by_class[i].load(Ordering::Relaxed);
        out.sample(name, &with(labels, &format!("class=\"{class}\"")), v);
    }
}

/// A family with one sample per object, named `sample` (the family name, or it with
/// `_total` for counters), its value read by `value`.
fn each<T: ?Sized, V: std::fmt::Display>(
    out: &mut Out,
    (name, kind, help): (&str, &str, &str),
    objects: &[(String, &T)],
    value: impl Fn(&T) -> V,
) {
    out.family(name, kind, help);
    let sample = if kind == "counter" {
        format!("{name}_total")
    } else {
        name.to_string()
    };
    for (labels, o) in objects {
        out.sample(&sample, labels, value(o));
    }
}

/// The exposition for the current state. `control` says whether the control socket is
/// listener 0.
pub fn render(state: &State, control: bool) -> String {
    let first = usize::from(control);
    let mut out = Out {
        text: String::with_capacity(4096),
    };
    let w = crate::workers::snapshot();
    let uptime = uptime();

    out.family(
        "pound_uptime",
        "gauge",
        "Pound uptime, milliseconds since startup.",
    );
    out.sample("pound_uptime", "", uptime.as_millis());
    out.family("pound_workers", "gauge", "Requests in progress (active), runtime threads (count) and the configured bounds (min, max).");
    for (t, v) in [
        ("active", w.active),
        ("count", w.threads),
        ("max", w.max as usize),
        ("min", w.min as usize),
    ] {
        out.sample("pound_workers", &format!("type=\"{t}\""), v);
    }
    out.family(
        "pound_queue_len",
        "gauge",
        "Number of requests waiting in queue.",
    );
    out.sample("pound_queue_len", "", w.waiting);

    let listeners: Vec<(String, &Listener)> = state
        .listeners
        .iter()
        .enumerate()
        .map(|(i, l)| (named("listener", i + first, &l.named.name), &**l))
        .collect();
    each(
        &mut out,
        (
            "pound_listener_enabled",
            "gauge",
            "State of a listener: 1 enabled, 0 disabled.",
        ),
        &listeners,
        |l| u8::from(l.enabled.load(Ordering::Relaxed)),
    );
    out.family("pound_listener", "info", "Description of a listener.");
    for (ll, l) in &listeners {
        let address = l.address.get().map(String::as_str).unwrap_or("");
        let proto = crate::control::json::protocol(l);
        let labels = format!("{ll},address=\"{}\",protocol=\"{proto}\"", escape(address));
        out.sample("pound_listener_info", &labels, 1);
    }
    each(
        &mut out,
        (
            "pound_connections",
            "counter",
            "Client connections accepted by a listener.",
        ),
        &listeners,
        |l| l.stats.connections.load(Ordering::Relaxed),
    );
    each(
        &mut out,
        (
            "pound_connections_active",
            "gauge",
            "Client connections open on a listener.",
        ),
        &listeners,
        |l| l.stats.active.load(Ordering::Relaxed),
    );
    out.family(
        "pound_requests",
        "counter",
        "Requests answered by a listener, by status class of the response.",
    );
    for (ll, l) in &listeners {
        by_class(&mut out, "pound_requests_total", ll, &l.stats.requests);
    }
    each(
        &mut out,
        (
            "pound_response_body_bytes",
            "counter",
            "Response body bytes sent to clients by a listener.",
        ),
        &listeners,
        |l| l.stats.requests.bytes.load(Ordering::Relaxed),
    );
    out.family(
        "pound_request_duration_seconds",
        "histogram",
        "Time from a request's head to the end of its response, per listener.",
    );
    for (ll, l) in &listeners {
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += l.stats.buckets[i].load(Ordering::Relaxed);
            out.sample(
                "pound_request_duration_seconds_bucket",
                &with(ll, &format!("le=\"{b:?}\"")),
                cumulative,
            );
        }
        let count: u64 = l
            .stats
            .requests
            .by_class
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum();
        // Requests counted but not yet in a bucket (a race with the scrape) go in +Inf.
        let count = count.max(cumulative);
        out.sample(
            "pound_request_duration_seconds_bucket",
            &with(ll, "le=\"+Inf\""),
            count,
        );
        let sum = l.stats.duration_us.load(Ordering::Relaxed) as f64 / 1e6;
        out.sample("pound_request_duration_seconds_sum", ll, sum);
        out.sample("pound_request_duration_seconds_count", ll, count);
    }

    let services = services(state, first);
    each(
        &mut out,
        (
            "pound_service_enabled",
            "gauge",
            "State of a service: 1 enabled, 0 disabled.",
        ),
        &services,
        |s| u8::from(!s.disabled.load(Ordering::Relaxed)),
    );
    out.family(
        "pound_service_requests",
        "counter",
        "Requests a service took, by status class of the response.",
    );
    for (sl, s) in &services {
        by_class(&mut out, "pound_service_requests_total", sl, &s.stats);
    }
    out.family(
        "pound_service_sessions",
        "gauge",
        "Sessions a service keeps (expired ones not yet swept included).",
    );
    for (sl, s) in &services {
        if let Some(t) = &s.sessions {
            out.sample("pound_service_sessions", sl, t.table.len());
        }
    }
    out.family("pound_backends", "gauge", "Number of backends per service: total, alive, enabled, and active (both alive and enabled).");
    // The regular backends (the emergency ones are not listed, docs/METRICS.md), held for
    // the backend families below.
    let tables: Vec<(&String, Vec<std::sync::Arc<crate::state::Member>>)> = services
        .iter()
        .map(|(sl, s)| {
            let list = s.backends.load();
            let regular = list
                .list
                .iter()
                .filter(|m| m.group != crate::state::EMERGENCY_GROUP)
                .cloned()
                .collect();
            (sl, regular)
        })
        .collect();
    for (sl, members) in &tables {
        let alive = members.iter().filter(|m| m.backend.is_alive()).count();
        let enabled = members
            .iter()
            .filter(|m| !m.disabled.load(Ordering::Relaxed))
            .count();
        let active = members
            .iter()
            .filter(|m| m.backend.is_alive() && !m.disabled.load(Ordering::Relaxed))
            .count();
        for (st, v) in [
            ("total", members.len()),
            ("alive", alive),
            ("enabled", enabled),
            ("active", active),
        ] {
            out.sample("pound_backends", &with(sl, &format!("state=\"{st}\"")), v);
        }
    }
    let backends: Vec<(String, &crate::state::Member)> = tables
        .iter()
        .flat_map(|(sl, members)| {
            members.iter().enumerate().map(move |(k, m)| {
                let labels = format!(
                    "{sl},backend=\"{k}\",address=\"{}\"",
                    escape(&m.backend.named.name)
                );
                (labels, &**m)
            })
        })
        .collect();
    out.family(
        "pound_backend_state",
        "gauge",
        "Backend states: alive and enabled (1 or 0).",
    );
    for (bl, m) in &backends {
        let alive = u8::from(m.backend.is_alive());
        let enabled = u8::from(!m.disabled.load(Ordering::Relaxed));
        out.sample("pound_backend_state", &with(bl, "state=\"alive\""), alive);
        out.sample(
            "pound_backend_state",
            &with(bl, "state=\"enabled\""),
            enabled,
        );
    }
    out.family(
        "pound_backend_requests",
        "counter",
        "Requests a backend answered, by status class of the response.",
    );
    for (bl, m) in &backends {
        by_class(
            &mut out,
            "pound_backend_requests_total",
            bl,
            &m.backend.stats.requests,
        );
    }
    each(
        &mut out,
        (
            "pound_backend_connections",
            "counter",
            "Connections opened to a backend.",
        ),
        &backends,
        |m| m.backend.stats.connects.load(Ordering::Relaxed),
    );
    each(
        &mut out,
        (
            "pound_backend_connections_reused",
            "counter",
            "Requests sent over a pooled keep-alive connection.",
        ),
        &backends,
        |m| m.backend.stats.reused.load(Ordering::Relaxed),
    );
    each(
        &mut out,
        (
            "pound_backend_pool_idle",
            "gauge",
            "Idle keep-alive connections pooled for a backend.",
        ),
        &backends,
        |m| m.backend.idle_connections(),
    );
    out.text.push_str("# EOF\n");
    out.text
}

/// The running configuration, for the `Metrics` backend, which answers from inside a
/// connection.
static STATE: OnceLock<(std::sync::Arc<crate::running::Running>, bool)> = OnceLock::new();

/// Makes the running configuration visible to `Metrics` backends; `control` as for
/// [`render`].
pub fn publish(running: std::sync::Arc<crate::running::Running>, control: bool) {
    let _ = STATE.set((running, control));
}

/// The exposition of the snapshot in force, or `None` before serving started.
pub fn scrape() -> Option<String> {
    STATE.get().map(|(r, c)| render(&r.load(), *c))
}
