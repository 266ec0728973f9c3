//! The human-readable layout of a reply, stated in Rust: the specification that the
//! built-in template file (`template/poundctl.tmpl`, template `default`) is tested against.
//!
//! The original poundctl formats replies with its "default" template (poundctl.tmpl); its
//! users know that layout and some scripts scrape it, so it is reproduced line for line and
//! space for space. For a full listing:
//!
//! ```text
//! Server time: 2026-11-21T12:52:23.942828
//! Pound version: 4.16
//! PID: 1234
//! Workers:
//!   Min:     5
//!   Max:     128
//!   Current: 5
//!   Active:  1
//! Idle timeout: 30
//!
//! Listeners:
//!
//!   0. Listener http:///run/pound.sock enabled
//!      0. Service active
//!         0. control  active
//!      Session type: NONE
//!   1. Listener "main" http://127.0.0.1:8080 enabled
//!      0. Service "web" active
//!         0. backend http 127.0.0.1:9001 5 alive active
//!      Session type: IP
//!        0. Session 192.0.2.1 0 2026-11-21T12:57:23.924073
//!
//! ```
//!
//! Like the template, the kind of object is told by its members: `listeners` (everything),
//! `services` (a listener), `backends` (a service), otherwise a backend. The reply is then
//! read into the control API's objects (`pound_control::objects`), as leniently as the
//! template reads it: members the reply lacks, or has with another type, print as nothing;
//! members of newer pound releases (`weight`, `expire`, `stats`, matrix backends) are shown
//! as the template shows them.

use std::fmt::{Display, Write as _};

use pound_control::objects::{Backend, Figures, Listener, Pound, Service};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Lays out a reply to `list`, `add` or `delete`.
pub fn render(reply: &Value) -> Result<String, String> {
    let obj = reply.as_object().ok_or_else(|| {
        format!(
            "unexpected reply: expected an object, got {}",
            crate::json::kind(reply)
        )
    })?;
    let mut out = String::new();
    if obj.contains_key("listeners") {
        everything(&mut out, &read(reply));
    } else {
        if obj.contains_key("services") {
            listener(&mut out, &read(reply));
        } else if obj.contains_key("backends") {
            service(&mut out, &read(reply));
        } else {
            backend(&mut out, &read(reply));
        }
        out.push('\n');
    }
    Ok(out)
}

/// An object of the reply; the objects read every JSON object, so the default is only for
/// the impossible.
fn read<T: DeserializeOwned + Default>(v: &Value) -> T {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// The whole state: the core figures, the listeners, then the global services.
fn everything(out: &mut String, p: &Pound) {
    // pound 4.23 keeps these figures in `core`; control-api.md at the top level.
    let core: &Figures = p.core.as_ref().map_or(&p.figures, |c| &c.figures);
    let _ = writeln!(out, "Server time: {}", text(&core.timestamp));
    let _ = writeln!(out, "Pound version: {}", text(&core.version));
    let _ = writeln!(out, "PID: {}", text(&core.pid));
    if let Some(w) = core.workers.as_ref().filter(|w| !w.is_empty()) {
        let _ = writeln!(out, "Workers:");
        let _ = writeln!(out, "  Min:     {}", text(&w.min));
        let _ = writeln!(out, "  Max:     {}", text(&w.max));
        let _ = writeln!(out, "  Current: {}", text(&w.count));
        let _ = writeln!(out, "  Active:  {}", text(&w.active));
        let _ = writeln!(out, "Idle timeout: {}", text(&w.timeout));
    }
    out.push_str("\nListeners:\n\n");
    for (i, l) in p.listeners.iter().enumerate() {
        let _ = write!(out, "{i:3}. ");
        listener(out, l);
        out.push('\n');
    }
    if !p.services.is_empty() {
        out.push_str("\nGlobal services:\n");
        services(out, &p.services);
        out.push('\n');
    }
    out.push('\n');
}

/// `Listener "NAME" PROTO://ADDRESS enabled`, then its services.
fn listener(out: &mut String, l: &Listener) {
    out.push_str("Listener ");
    name(out, &l.name);
    let _ = write!(
        out,
        "{}://{} {}",
        text(&l.protocol),
        text(&l.address),
        if l.enabled { "enabled" } else { "disabled" }
    );
    services(out, &l.services);
}

/// Each service on its own line, numbered.
fn services(out: &mut String, list: &[Service]) {
    for (i, s) in list.iter().enumerate() {
        let _ = write!(out, "\n   {i:3}. ");
        service(out, s);
    }
}

/// `Service "NAME" active`, its backends, its session type and sessions.
fn service(out: &mut String, s: &Service) {
    out.push_str("Service ");
    name(out, &s.name);
    out.push_str(if s.enabled { "active" } else { "disabled" });
    for (i, b) in s.backends.iter().enumerate() {
        let _ = write!(out, "\n      {i:3}. ");
        backend(out, b);
    }
    let _ = write!(out, "\n     Session type: {}", text(&s.session_type));
    for (i, sess) in s.sessions.iter().flatten().enumerate() {
        let _ = write!(
            out,
            "\n       {i}. Session {} {} {}",
            text(&sess.key),
            text(&sess.backend),
            text(&sess.expire)
        );
    }
}

/// `TYPE DETAILS active`, where the details depend on the type.
fn backend(out: &mut String, b: &Backend) {
    let kind = text(&b.type_);
    out.push_str(&kind);
    if b.weight.is_some() {
        let _ = write!(out, " ({})", text(&b.weight));
    }
    if b.parent.is_some() {
        let _ = write!(out, " [mtx {}]", text(&b.parent));
    }
    out.push(' ');
    match kind.as_str() {
        "backend" => {
            let alive = if b.alive { "alive" } else { "dead" };
            let _ = write!(
                out,
                "{} {} {} {alive}",
                text(&b.protocol),
                text(&b.address),
                text(&b.priority)
            );
        }
        "matrix" => {
            let _ = write!(
                out,
                "\"{}\" {} {} {}",
                text(&b.hostname),
                text(&b.resolve_mode),
                text(&b.family),
                text(&b.priority)
            );
        }
        "redirect" => {
            let _ = write!(out, "{} {}", text(&b.code), text(&b.url));
            if b.redir_req == Some(true) {
                out.push_str(" (redirect request)");
            }
        }
        _ => {}
    }
    out.push(' ');
    out.push_str(if b.enabled { "active" } else { "disabled" });
    if b.expire.is_some() {
        let _ = write!(out, " [expires {}]", text(&b.expire));
    }
    if let Some(stats) = &b.stats {
        out.push_str(" - ");
        if !stats.is_empty() {
            let count = stats.request_count;
            let _ = write!(out, "{} requests", text(&count));
            if count.is_some_and(|n| n > 0) {
                let ms = |ns: Option<f64>| format!("{:.2}", ns.unwrap_or(0.0) / 1_000_000.0);
                let _ = write!(
                    out,
                    ", {} ms avg, {} stddev",
                    ms(stats.request_time_avg),
                    ms(stats.request_time_stddev)
                );
            }
        }
    }
}

/// `"NAME" ` when the object has a name.
fn name(out: &mut String, n: &Option<String>) {
    if let Some(n) = n.as_deref().filter(|n| !n.is_empty()) {
        let _ = write!(out, "\"{n}\" ");
    }
}

/// A member as the template prints it: missing members as nothing.
fn text<T: Display>(v: &Option<T>) -> String {
    v.as_ref().map(T::to_string).unwrap_or_default()
}

/// `poundctl core`: the process's figures, one to a line.
pub fn core(v: &Value) -> String {
    let text = |x: &Value| x.as_str().unwrap_or_default().to_string();
    let num = |x: &Value| x.as_u64().map_or(String::new(), |n| n.to_string());
    let mut out = format!(
        "Server time: {}\nPound version: {}\nPID: {}\nUptime: {}\n",
        text(&v["timestamp"]),
        text(&v["version"]),
        num(&v["pid"]),
        uptime(v["uptime"].as_u64()),
    );
    let w = &v["workers"];
    if w.as_object().is_some_and(|o| !o.is_empty()) {
        let _ = write!(
            out,
            "Workers:\n  Min:     {}\n  Max:     {}\n  Current: {}\n  Active:  {}\n\
             Idle timeout: {}\n",
            num(&w["min"]),
            num(&w["max"]),
            num(&w["count"]),
            num(&w["active"]),
            num(&w["timeout"])
        );
    }
    let q = &v["queue"];
    if q.as_object().is_some_and(|o| !o.is_empty()) {
        let _ = write!(
            out,
            "Queue:\n  Length:  {}\n  Max:     {}\n",
            num(&q["len"]),
            num(&q["max"])
        );
    }
    out
}

/// Microseconds (pound 4.23's `uptime`) as days, hours, minutes and seconds.
fn uptime(us: Option<u64>) -> String {
    let Some(us) = us else {
        return "-".into();
    };
    let s = us / 1_000_000;
    let (d, h, m, s) = (s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d} days {h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

/// `poundctl log`: the level's name, and for a listener that follows the server's,
/// that level followed by `(global)`, as pound 4.23's manual describes.
pub fn log_level(v: &Value) -> String {
    match &v["level"] {
        Value::String(s) => format!("{s}\n"),
        _ => format!("{} (global)\n", v["global"].as_str().unwrap_or("-")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn control_listener() -> Value {
        json!({
            "address": "/run/pound.sock", "enabled": true, "name": null, "protocol": "http",
            "services": [{
                "name": null, "enabled": true, "session_type": "NONE", "sessions": null,
                "tot_pri": 1, "abs_pri": 1, "max_pri": 1, "emergency": null,
                "backends": [{"type": "control", "priority": 1, "alive": true, "enabled": true}]
            }]
        })
    }

    fn web_service() -> Value {
        json!({
            "name": "web", "enabled": true, "session_type": "IP",
            "sessions": [
                {"key": "192.0.2.1", "backend": 0, "expire": "2026-11-21T12:57:23.924073"},
                {"key": "192.0.2.7", "backend": 1, "expire": "2026-11-21T12:58:00.000001"}
            ],
            "tot_pri": 5, "abs_pri": 12, "max_pri": 7, "emergency": null,
            "backends": [
                {"type": "backend", "address": "127.0.0.1:9001", "protocol": "http",
                 "priority": 5, "alive": true, "enabled": true,
                 "conn_to": 15, "io_to": 15, "ws_to": 600},
                {"type": "backend", "address": "[::1]:9443", "protocol": "https",
                 "priority": 7, "alive": false, "enabled": false,
                 "conn_to": 15, "io_to": 15, "ws_to": 600}
            ]
        })
    }

    fn everything_reply() -> Value {
        json!({
            "listeners": [
                control_listener(),
                {"address": "127.0.0.1:8080", "enabled": true, "name": "main",
                 "protocol": "http", "services": [web_service()]},
                {"address": "0.0.0.0:8443", "enabled": false, "name": null,
                 "protocol": "https", "services": []}
            ],
            "services": [{
                "name": "fallback", "enabled": false, "session_type": "NONE", "sessions": null,
                "tot_pri": 1, "abs_pri": 1, "max_pri": 1, "emergency": null,
                "backends": [
                    {"type": "redirect", "code": 301, "url": "http://example.org",
                     "has_uri": false, "priority": 1, "alive": true, "enabled": true},
                    {"type": "error", "status": 503, "priority": 1, "alive": true,
                     "enabled": true}
                ]
            }],
            "pid": 1234, "queue_len": 0, "timestamp": "2026-11-21T12:52:23.942828",
            "version": "4.16",
            "workers": {"active": 1, "count": 5, "max": 128, "min": 5, "timeout": 30}
        })
    }

    fn show(v: &Value) -> String {
        match render(v) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn full_listing() {
        assert_eq!(
            show(&everything_reply()),
            "\
Server time: 2026-11-21T12:52:23.942828
Pound version: 4.16
PID: 1234
Workers:
  Min:     5
  Max:     128
  Current: 5
  Active:  1
Idle timeout: 30

Listeners:

  0. Listener http:///run/pound.sock enabled
     0. Service active
        0. control  active
     Session type: NONE
  1. Listener \"main\" http://127.0.0.1:8080 enabled
     0. Service \"web\" active
        0. backend http 127.0.0.1:9001 5 alive active
        1. backend https [::1]:9443 7 dead disabled
     Session type: IP
       0. Session 192.0.2.1 0 2026-11-21T12:57:23.924073
       1. Session 192.0.2.7 1 2026-11-21T12:58:00.000001
  2. Listener https://0.0.0.0:8443 disabled

Global services:

     0. Service \"fallback\" disabled
        0. redirect 301 http://example.org active
        1. error  active
     Session type: NONE

"
        );
    }

    #[test]
    fn full_listing_without_globals_or_workers() {
        let mut v = everything_reply();
        if let Some(o) = v.as_object_mut() {
            o.insert("services".into(), json!([]));
            o.remove("workers");
            o.insert("listeners".into(), json!([control_listener()]));
        }
        assert_eq!(
            show(&v),
            "\
Server time: 2026-11-21T12:52:23.942828
Pound version: 4.16
PID: 1234

Listeners:

  0. Listener http:///run/pound.sock enabled
     0. Service active
        0. control  active
     Session type: NONE

"
        );
    }

    #[test]
    fn one_listener() {
        assert_eq!(
            show(&control_listener()),
            "\
Listener http:///run/pound.sock enabled
     0. Service active
        0. control  active
     Session type: NONE
"
        );
    }

    #[test]
    fn one_service() {
        assert_eq!(
            show(&web_service()),
            "\
Service \"web\" active
        0. backend http 127.0.0.1:9001 5 alive active
        1. backend https [::1]:9443 7 dead disabled
     Session type: IP
       0. Session 192.0.2.1 0 2026-11-21T12:57:23.924073
       1. Session 192.0.2.7 1 2026-11-21T12:58:00.000001
"
        );
    }

    #[test]
    fn one_backend() {
        let b = json!({"type": "backend", "address": "127.0.0.1:9001", "protocol": "http",
                       "priority": 5, "alive": true, "enabled": true});
        assert_eq!(show(&b), "backend http 127.0.0.1:9001 5 alive active\n");
        let b = json!({"type": "redirect", "code": 302, "url": "https://x/", "has_uri": true,
                       "priority": 1, "alive": true, "enabled": false, "redir_req": true});
        assert_eq!(
            show(&b),
            "redirect 302 https://x/ (redirect request) disabled\n"
        );
        let b = json!({"type": "metrics", "priority": 1, "alive": true, "enabled": true});
        assert_eq!(show(&b), "metrics  active\n");
    }

    #[test]
    fn newer_members() {
        let b = json!({"type": "backend", "weight": 3, "parent": 0, "address": "a:1",
                       "protocol": "http", "priority": 2, "alive": true, "enabled": true,
                       "expire": "2026-01-01T00:00:00",
                       "stats": {"request_count": 4, "request_time_avg": 1_500_000.0,
                                 "request_time_stddev": 250_000}});
        assert_eq!(
            show(&b),
            "backend (3) [mtx 0] http a:1 2 alive active [expires 2026-01-01T00:00:00] \
             - 4 requests, 1.50 ms avg, 0.25 stddev\n"
        );
        let b = json!({"type": "matrix", "hostname": "be.example", "resolve_mode": "all",
                       "family": "any", "priority": 1, "enabled": true,
                       "stats": {"request_count": 0}});
        assert_eq!(
            show(&b),
            "matrix \"be.example\" all any 1 active - 0 requests\n"
        );
    }

    #[test]
    fn odd_replies_do_not_panic() {
        assert_eq!(
            render(&json!(true)),
            Err("unexpected reply: expected an object, got a boolean".into())
        );
        // Missing or mistyped members print as nothing.
        assert_eq!(show(&json!({})), "  disabled\n");
        assert_eq!(
            show(&json!({"backends": 3, "sessions": "x", "name": ""})),
            "Service disabled\n     Session type: \n"
        );
        let v = json!({"listeners": {"a": 1}, "services": null, "workers": {}});
        assert_eq!(
            show(&v),
            "Server time: \nPound version: \nPID: \n\nListeners:\n\n\n"
        );
    }
}
