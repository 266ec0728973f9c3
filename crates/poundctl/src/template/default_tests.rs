//! The `default` template of `poundctl.tmpl` must print every reply exactly as
//! `render.rs` lays it out (the source of truth for the layout). The samples are the
//! replies of `render.rs`'s tests, replies recorded from pound 4.23 itself (`poundctl -j`
//! against a running pound 4.23), and odd ones.

use serde_json::{json, Value};

use super::default_recorded::RECORDED;
use super::{Templates, DEFAULT_TEMPLATES};
use crate::render;

/// What `show` in lib.rs prints for a reply of this kind.
fn expected(v: &Value) -> String {
    match v["kind"].as_str() {
        Some("core") => render::core(v),
        Some("log") => render::log_level(v),
        _ if v.get("global").is_some() => render::log_level(v),
        _ if v.get("uptime").is_some() && v.get("listeners").is_none() => render::core(v),
        _ => render::render(v).unwrap_or_else(|e| panic!("{e}")),
    }
}

fn check(samples: &[Value]) {
    let templates = match Templates::parse_named("poundctl.tmpl", DEFAULT_TEMPLATES) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    for v in samples {
        let run = templates.run("default", v);
        assert_eq!(run.error, None, "on {v}");
        assert_eq!(run.warnings, Vec::<String>::new(), "on {v}");
        assert_eq!(run.output, expected(v), "on {v}");
    }
}

// pound 4.23's replies (`poundctl -j`), for a configuration with a control listener,
// a listener with a session service and a redirect, one with a matrix and an error
// backend, and a disabled global service.

fn core_423() -> Value {
    json!({"kind": "core", "pid": 5670, "queue": {"len": 0, "max": 19735}, "queue_len": 0,
           "timestamp": "2026-12-03T19:18:29.148132", "uptime": 7306601, "version": "4.23",
           "workers": {"active": 1, "count": 5, "max": 128, "min": 5, "timeout": 30}})
}

fn stats(count: u64) -> Value {
    json!({"request_count": count})
}

fn backend_423(port: u16, weight: u64) -> Value {
    json!({"address": format!("127.0.0.1:{port}"), "alive": true, "conn_to": 15,
           "enabled": true, "io_to": 15, "kind": "backend", "priority": 5, "protocol": "http",
           "servername": null, "stats": stats(0), "type": "backend", "weight": weight,
           "ws_to": 600})
}

fn web_423() -> Value {
    json!({"backends": [backend_423(19001, 0), backend_423(19002, 0), backend_423(19003, 65535)],
           "enabled": true, "kind": "service", "name": "web", "session_type": "IP",
           "sessions": [
               {"backend": 2, "expire": "2026-12-03T19:23:26.163689", "key": "10.1.2.3"},
               {"backend": 1, "expire": "2026-12-03T19:23:26.166440", "key": "192.0.2.9"}]})
}

fn matrix_423() -> Value {
    json!({"alive": false, "enabled": true, "expire": "2026-12-03T19:28:21.000000",
           "family": 0, "hostname": "localhost", "kind": "backend", "priority": 5,
           "resolve_mode": "all", "servername": null, "type": "matrix", "weight": 0})
}

fn error_423() -> Value {
    json!({"alive": true, "enabled": true, "kind": "backend", "priority": 1,
           "stats": stats(0), "status": 503, "text": null, "type": "error", "weight": 0})
}

fn fallback_423() -> Value {
    json!({"backends": [{"alive": true, "code": 302, "enabled": true, "has_uri": true,
                         "kind": "backend", "priority": 1, "stats": stats(0),
                         "type": "redirect", "url": "https://x.example", "weight": 0}],
           "enabled": false, "kind": "service", "name": "fallback", "session_type": "NONE",
           "sessions": null})
}

fn service_423(name: Value, backend: Value) -> Value {
    json!({"backends": [backend], "enabled": true, "kind": "service", "name": name,
           "session_type": "NONE", "sessions": null})
}

fn listing_423() -> Value {
    let control = json!({"alive": true, "enabled": true, "kind": "backend", "priority": 1,
        "stats": {"request_count": 13, "request_time_avg": 73293, "request_time_stddev": 51692},
        "type": "control", "weight": 0});
    let redirect = json!({"alive": true, "code": 301, "enabled": true, "has_uri": false,
        "kind": "backend", "priority": 1, "stats": stats(0), "type": "redirect",
        "url": "http://example.org", "weight": 0});
    json!({"core": core_423(), "kind": "pound",
        "listeners": [
            {"address": "/tmp/tt/pnd/ctl.sock", "enabled": true, "kind": "listener",
             "name": null, "protocol": "http", "services": [service_423(Value::Null, control)]},
            {"address": "127.0.0.1:28480", "enabled": true, "kind": "listener", "name": "main",
             "protocol": "http", "services": [web_423(), service_423(Value::Null, redirect)]},
            {"address": "127.0.0.1:28481", "enabled": true, "kind": "listener", "name": null,
             "protocol": "http",
             "services": [service_423(json!("m"), matrix_423()),
                          service_423(json!("err"), error_423())]}],
        "services": [fallback_423()]})
}

fn samples_423() -> Vec<Value> {
    let mut listener = listing_423()["listeners"][1].clone();
    let mut samples = vec![
        listing_423(),
        listener.clone(),
        web_423(),
        backend_423(19001, 0),
        matrix_423(),
        error_423(),
        fallback_423(),
        core_423(),
        json!({"global": "null", "kind": "log", "level": "null"}),
        json!({"global": "null", "kind": "log", "level": null, "listener_index": 1}),
        json!({"global": "null", "kind": "log", "level": "extended", "listener_index": 2}),
    ];
    listener["enabled"] = json!(false);
    listener["services"] = json!([]);
    samples.push(listener);
    samples
}

#[test]
fn replies_of_pound_423() {
    check(&samples_423());
}

/// The replies of render.rs's tests (control-api.md's layout, without `kind`).
fn samples_render() -> Vec<Value> {
    let control = json!({
        "address": "/run/pound.sock", "enabled": true, "name": null, "protocol": "http",
        "services": [{
            "name": null, "enabled": true, "session_type": "NONE", "sessions": null,
            "tot_pri": 1, "abs_pri": 1, "max_pri": 1, "emergency": null,
            "backends": [{"type": "control", "priority": 1, "alive": true, "enabled": true}]
        }]
    });
    let web = json!({
        "name": "web", "enabled": true, "session_type": "IP",
        "sessions": [
            {"key": "192.0.2.1", "backend": 0, "expire": "2026-11-21T12:57:23.924073"},
            {"key": "192.0.2.7", "backend": 1, "expire": "2026-11-21T12:58:00.000001"}
        ],
        "tot_pri": 5, "abs_pri": 12, "max_pri": 7, "emergency": null,
        "backends": [
            {"type": "backend", "address": "127.0.0.1:9001", "protocol": "http",
             "priority": 5, "alive": true, "enabled": true},
            {"type": "backend", "address": "[::1]:9443", "protocol": "https",
             "priority": 7, "alive": false, "enabled": false}
        ]
    });
    let everything = json!({
        "listeners": [
            control.clone(),
            {"address": "127.0.0.1:8080", "enabled": true, "name": "main",
             "protocol": "http", "services": [web.clone()]},
            {"address": "0.0.0.0:8443", "enabled": false, "name": null,
             "protocol": "https", "services": []}
        ],
        "services": [{
            "name": "fallback", "enabled": false, "session_type": "NONE", "sessions": null,
            "backends": [
                {"type": "redirect", "code": 301, "url": "http://example.org",
                 "has_uri": false, "priority": 1, "alive": true, "enabled": true},
                {"type": "error", "status": 503, "priority": 1, "alive": true, "enabled": true}
            ]
        }],
        "pid": 1234, "queue_len": 0, "timestamp": "2026-11-21T12:52:23.942828",
        "version": "4.16",
        "workers": {"active": 1, "count": 5, "max": 128, "min": 5, "timeout": 30}
    });
    let mut bare = everything.clone();
    bare["services"] = json!([]);
    bare["listeners"] = json!([control.clone()]);
    if let Some(o) = bare.as_object_mut() {
        o.remove("workers");
    }
    vec![
        everything,
        bare,
        control,
        web,
        json!({"type": "backend", "address": "127.0.0.1:9001", "protocol": "http",
               "priority": 5, "alive": true, "enabled": true}),
        json!({"type": "redirect", "code": 302, "url": "https://x/", "has_uri": true,
               "priority": 1, "alive": true, "enabled": false, "redir_req": true}),
        json!({"type": "metrics", "priority": 1, "alive": true, "enabled": true}),
        json!({"type": "backend", "weight": 3, "parent": 0, "address": "a:1",
               "protocol": "http", "priority": 2, "alive": true, "enabled": true,
               "expire": "2026-01-01T00:00:00",
               "stats": {"request_count": 4, "request_time_avg": 1_500_000.0,
                         "request_time_stddev": 250_000}}),
        json!({"type": "matrix", "hostname": "be.example", "resolve_mode": "all",
               "family": "any", "priority": 1, "enabled": true,
               "stats": {"request_count": 0}}),
        json!({}),
        json!({"backends": 3, "sessions": "x", "name": ""}),
        json!({"listeners": {"a": 1}, "services": null, "workers": {}}),
    ]
}

#[test]
fn replies_of_render_tests() {
    check(&samples_render());
}

/// Members missing, null or of another type print as render.rs prints them.
fn samples_odd() -> Vec<Value> {
    vec![
        json!({"kind": "backend", "type": "backend", "stats": {}, "weight": null,
               "parent": "x", "redir_req": true, "expire": 5, "priority": -1}),
        json!({"kind": "backend", "type": "redirect", "redir_req": 1, "code": "301",
               "stats": {"request_count": 2}}),
        json!({"kind": "backend", "type": "backend",
               "stats": {"request_count": 3, "request_time_avg": 104_999,
                         "request_time_stddev": 123_456_789_012_u64}}),
        json!({"kind": "backend", "type": "backend", "stats": {"request_time_avg": 5}}),
        json!({"kind": "service", "backends": [], "sessions": [], "enabled": 1, "name": 7}),
        json!({"kind": "listener", "services": [], "name": "", "protocol": 1, "enabled": "y"}),
        json!({"kind": "pound", "listeners": [], "services": [], "core": {"workers": {"min": 1}}}),
        json!({"kind": "pound", "listeners": [], "core": 3, "pid": 9, "workers": {"max": 2}}),
        json!({"kind": "core"}),
        json!({"kind": "core", "pid": null, "version": 4.5, "timestamp": true, "uptime": 999,
               "workers": {"active": -1, "count": 2.5}, "queue": {"len": 7}}),
        json!({"kind": "core", "uptime": 90_061_000_u64}),
        json!({"kind": "core", "uptime": 86_399_999_u64}),
        json!({"kind": "log"}),
        json!({"kind": "log", "level": 3, "global": 4}),
        json!({"global": "info", "level": "detailed"}),
        json!({"pid": 1, "uptime": 5000, "workers": {}}),
        json!({"kind": "weird", "backends": []}),
    ]
}

#[test]
fn odd_replies() {
    check(&samples_odd());
}

fn all_samples() -> Vec<Value> {
    let mut all = samples_423();
    all.extend(samples_render());
    all.extend(samples_odd());
    all
}

/// The reply's `kind` decides, and a non-object prints nothing.
#[test]
fn kinds_and_non_objects() {
    let t = Templates::parse(DEFAULT_TEMPLATES).unwrap_or_else(|e| panic!("{e}"));
    let out = |v: Value| t.execute("default", &v).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out(json!({"kind": "backend", "backends": [], "type": "x"})),
        "x  disabled\n"
    );
    assert_eq!(
        out(json!({"kind": "service", "type": "x"})),
        "Service disabled\n     Session type: \n"
    );
    assert_eq!(out(json!([1])), "");
    assert_eq!(out(json!("text")), "");
    assert!(t.has("default"));
    assert!(!t.has("xml"));
}

/// poundctl 4.23, given our template file, prints for every sample what we print.
#[test]
fn reference_agrees_on_our_template() {
    let t = Templates::parse(DEFAULT_TEMPLATES).unwrap_or_else(|e| panic!("{e}"));
    let samples = all_samples();
    assert_eq!(samples.len(), RECORDED.len());
    for (v, (out, status)) in samples.iter().zip(RECORDED) {
        assert_eq!(*status, 0);
        assert_eq!(t.execute("default", v).as_deref(), Ok(*out), "on {v}");
    }
}

#[test]
#[ignore = "prints the samples, to feed the reference"]
fn dump_samples() {
    for v in all_samples() {
        println!("SAMPLE {v}");
    }
}
