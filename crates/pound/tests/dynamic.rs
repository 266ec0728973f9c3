//! Dynamic backends (pound 4.14) through the binary, against the test DNS server: backends
//! made from A records and SRV records while requests flow, refreshed when the TTL runs
//! out, emptied when the name goes, kept when the server stops answering, SRV priorities as
//! balancer groups with fail-over between them, and a matrix switched off and on through
//! the control socket. Every wait polls; nothing sleeps a fixed time.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::dns::{ip, DnsServer, Mode, Rr};
use common::net::*;
use serde_json::Value;

/// Two backends on the same port, at 127.0.0.1 and 127.0.0.2 (a matrix's backends share
/// its `Port`).
fn pair() -> (Backend, Backend) {
    for _ in 0..50 {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = a.local_addr().unwrap().port();
        if let Ok(b) = TcpListener::bind(("127.0.0.2", port)) {
            return (
                Backend::on(a, Arc::new(|_: &Received| ok("one"))),
                Backend::on(b, Arc::new(|_: &Received| ok("two"))),
            );
        }
    }
    panic!("no port free on both 127.0.0.1 and 127.0.0.2");
}

fn poundctl(sock: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_poundctl"))
        .env("HOME", "/nonexistent/home")
        .arg("-s")
        .arg(sock)
        .arg("-j")
        .args(args)
        .output()
        .expect("run poundctl");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The addresses of the backends a matrix made, in list order.
fn generated(service: &Value) -> Vec<String> {
    service["backends"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter(|b| b.get("parent").is_some())
                .map(|b| b["address"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `what` until it holds (bounded by PATIENCE).
fn until(mut what: impl FnMut() -> bool, doing: &str) {
    let end = Instant::now() + PATIENCE;
    while !what() {
        assert!(Instant::now() < end, "gave up waiting: {doing}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn answer(pound: &Pound, path: &str) -> (u16, String) {
    let mut c = pound.connect();
    let r = c.get(path);
    (r.status, r.text())
}

struct Setup {
    pound: Pound,
    sock: PathBuf,
}

fn setup(name: &str, dns: &DnsServer, service: &str) -> Setup {
    let dir = common::scratch_dir(name);
    let sock = dir.join("ctl.sock");
    let pound = Pound::start(&format!(
        "Control \"{}\"\n{}ListenHTTP\nLISTEN\nEnd\n{service}",
        sock.display(),
        dns.resolver()
    ));
    Setup { pound, sock }
}

#[test]
fn backends_follow_the_a_records() {
    let dns = DnsServer::start();
    let (one, _two) = pair();
    let port = one.port();
    dns.set("gen.test", &[(ip("127.0.0.1"), 1), (ip("127.0.0.2"), 1)]);
    let s = setup(
        "dynamic-a",
        &dns,
        &format!(
            "Service\nBackend\nAddress \"gen.test\"\nPort {port}\nResolve all\nFamily inet\n\
             RetryInterval 1\nEnd\nEnd\n"
        ),
    );
    let list = || poundctl(&s.sock, &["list", "/-/0"]);
    until(|| generated(&list()).len() == 2, "two backends");
    let svc = list();
    let matrix = &svc["backends"][0];
    assert_eq!(
        (
            matrix["type"].as_str(),
            matrix["hostname"].as_str(),
            matrix["resolve_mode"].as_str(),
            matrix["family"].as_u64(),
            matrix["alive"].as_bool()
        ),
        (
            Some("matrix"),
            Some("gen.test"),
            Some("all"),
            Some(2),
            Some(false)
        )
    );
    assert_eq!(
        generated(&svc),
        [format!("127.0.0.1:{port}"), format!("127.0.0.2:{port}")]
    );
    assert_eq!(svc["backends"][1]["parent"], 0);
    // `Debug true` logs the queries.
    s.pound
        .err
        .wait_for("dns debug: using nameserver 127.0.0.1 for A records of gen.test");
    // Requests reach both.
    let mut seen = std::collections::HashSet::new();
    until(
        || {
            seen.insert(answer(&s.pound, "/").1);
            seen.contains("one") && seen.contains("two")
        },
        "both backends answering",
    );
    // The zone changes: after the TTL, only .2 is left.
    dns.set("gen.test", &[(ip("127.0.0.2"), 1)]);
    until(
        || generated(&list()) == [format!("127.0.0.2:{port}")],
        "the refreshed set",
    );
    assert_eq!(answer(&s.pound, "/"), (200, "two".into()));
    // The server stops answering: the set stays.
    dns.mode("gen.test", Mode::Silent);
    let asked = dns.query_count();
    until(|| dns.query_count() >= asked + 2, "lookups while silent");
    assert_eq!(generated(&list()), [format!("127.0.0.2:{port}")]);
    s.pound
        .err
        .wait_for("Querying for A records of gen.test: DNS query timed out");
    // A failing server keeps it too (pound 4.23 would empty the matrix), and says why.
    dns.mode("gen.test", Mode::ServFail);
    s.pound
        .err
        .wait_for("Querying for A records of gen.test: server failure");
    assert_eq!(generated(&list()), [format!("127.0.0.2:{port}")]);
    // The name goes: no backends, 503.
    dns.mode("gen.test", Mode::NxDomain);
    until(|| generated(&list()).is_empty(), "an empty matrix");
    assert_eq!(answer(&s.pound, "/").0, 503);
}

#[test]
fn srv_groups_fail_over_and_matrices_switch() {
    let dns = DnsServer::start();
    let live = Backend::named("live");
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = closed.local_addr().unwrap().port();
    drop(closed);
    dns.set("t1.test", &[(ip("127.0.0.1"), 60)]);
    dns.set(
        "_w._tcp.test",
        &[
            (Rr::Srv(10, 5, dead_port, "t1.test".into()), 1),
            (Rr::Srv(20, 0, live.port(), "t1.test".into()), 1),
        ],
    );
    let s = setup(
        "dynamic-srv",
        &dns,
        "Service\nURL \"^/metrics\"\nMetrics\nEnd\n\
         Service\nBackend\nAddress \"_w._tcp.test\"\nResolve srv\nEnd\nEnd\n",
    );
    let list = || poundctl(&s.sock, &["list", "/-/1"]);
    until(|| generated(&list()).len() == 2, "two SRV backends");
    let svc = list();
    // SRV priority → group (`weight`), SRV weight → priority, a lone 0 weight → 1.
    let groups: Vec<(u64, u64)> = svc["backends"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b.get("parent").is_some())
        .map(|b| {
            (
                b["weight"].as_u64().unwrap(),
                b["priority"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(groups, [(10, 5), (20, 1)]);
    // poundctl's listing shows the matrix and, under it, what it made.
    let out = Command::new(env!("CARGO_BIN_EXE_poundctl"))
        .env("HOME", "/nonexistent/home")
        .arg("-s")
        .arg(&s.sock)
        .args(["list", "/-/1"])
        .output()
        .expect("run poundctl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("0. matrix (0) \"_w._tcp.test\" srv 0 5 active [expires "),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "backend (20) [mtx 0] http 127.0.0.1:{} 1 alive active",
            live.port()
        )),
        "{text}"
    );
    // Metrics count the matrix as a backend that is never alive, and list what it made.
    let (status, metrics) = answer(&s.pound, "/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("backend=\"0\",address=\"_w._tcp.test\",state=\"alive\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("address=\"127.0.0.1:{}\"", live.port())),
        "{metrics}"
    );
    // Group 10's backend refuses: the request goes on to group 20.
    assert_eq!(answer(&s.pound, "/"), (200, "live".into()));
    // A new weight re-weights the backend in place, at the next refresh.
    dns.set(
        "_w._tcp.test",
        &[
            (Rr::Srv(10, 5, dead_port, "t1.test".into()), 1),
            (Rr::Srv(20, 9, live.port(), "t1.test".into()), 1),
        ],
    );
    until(
        || {
            let l = list();
            l["backends"]
                .as_array()
                .is_some_and(|b| b.iter().any(|b| b["weight"] == 20 && b["priority"] == 9))
        },
        "the new weight",
    );
    // Disabling the matrix drops what it made; enabling it looks again.
    let _ = poundctl(&s.sock, &["disable", "/-/1/0"]);
    until(
        || generated(&list()).is_empty(),
        "the disabled matrix emptied",
    );
    assert_eq!(list()["backends"][0]["enabled"], false);
    assert_eq!(answer(&s.pound, "/").0, 503);
    let _ = poundctl(&s.sock, &["enable", "/-/1/0"]);
    until(|| generated(&list()).len() == 2, "the matrix again");
    assert_eq!(answer(&s.pound, "/"), (200, "live".into()));
}

#[test]
fn sessions_of_a_backend_that_went_are_dropped() {
    let dns = DnsServer::start();
    let (one, _two) = pair();
    let port = one.port();
    dns.set("s.test", &[(ip("127.0.0.1"), 1), (ip("127.0.0.2"), 1)]);
    let s = setup(
        "dynamic-sessions",
        &dns,
        &format!(
            "Service\nSession\nType IP\nTTL 300\nEnd\nBackend\nAddress \"s.test\"\nPort {port}\n\
             Resolve all\nFamily inet\nEnd\nEnd\n"
        ),
    );
    let list = || poundctl(&s.sock, &["list", "/-/0"]);
    until(|| generated(&list()).len() == 2, "two backends");
    let (_, first) = answer(&s.pound, "/");
    let sessions = list()["sessions"].as_array().map(Vec::len);
    assert_eq!(sessions, Some(1));
    // The session's backend leaves the zone: the session goes with it.
    let stays = if first == "one" {
        "127.0.0.2"
    } else {
        "127.0.0.1"
    };
    dns.set("s.test", &[(ip(stays), 1)]);
    until(|| generated(&list()).len() == 1, "one backend left");
    assert_eq!(list()["sessions"], serde_json::json!([]));
    let (status, body) = answer(&s.pound, "/");
    assert_eq!(status, 200);
    assert_ne!(body, first);
}
