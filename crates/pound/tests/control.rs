//! The control socket against a live pound: every poundctl command, the JSON shapes of
//! control-api.md, and state changes taking effect on live traffic.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::control;
use common::net::{Backend, Pound};
use serde_json::Value;

/// A pound with a control socket, two backends under a COOKIE session, a service without
/// sessions (with an emergency backend) and a global service.
struct Setup {
    pound: Pound,
    sock: PathBuf,
    a: Backend,
    _b: Backend,
}

fn setup(name: &str) -> Setup {
    let a = Backend::named("A");
    let b = Backend::named("B");
    let dir = common::scratch_dir(name);
    let sock = dir.join("ctl.sock");
    let config = format!(
        "Control\nSocket \"{}\"\nMode 660\nEnd\nListenHTTP \"main\"\nLISTEN\n\
         Service \"web\"\nURL \"^/web\"\nSession\nType COOKIE\nID \"sid\"\nTTL 300\nEnd\n\
         Backend\n{}Priority 5\nEnd\nBackend\n{}Priority 7\nEnd\nEnd\n\
         Service \"plain one\"\nURL \"^/plain\"\nBackend\n{}End\nEmergency\n{}End\nEnd\nEnd\n\
         Service \"global\"\nRedirect 301 \"http://example.org\"\nEnd\n",
        sock.display(),
        a.config(),
        b.config(),
        a.config(),
        b.config()
    );
    let pound = Pound::start(&config);
    Setup {
        pound,
        sock,
        a,
        _b: b,
    }
}

fn poundctl(args: &[&str]) -> common::Run {
    Command::new(env!("CARGO_BIN_EXE_poundctl"))
        .args(args)
        .env("HOME", "/nonexistent/home")
        .env_remove("POUNDCTL_CONF")
        .env_remove("POUND_TMPL_PATH")
        .output()
        .expect("run poundctl")
        .into()
}

fn ctl(sock: &Path, args: &[&str]) -> common::Run {
    let mut all = vec!["-s", sock.to_str().unwrap()];
    all.extend_from_slice(args);
    poundctl(&all)
}

fn ok(sock: &Path, args: &[&str]) -> String {
    let r = ctl(sock, args);
    assert_eq!(r.code, Some(0), "{args:?}: {}{}", r.stdout, r.stderr);
    r.stdout
}

fn json(sock: &Path, args: &[&str]) -> Value {
    let mut all = vec!["-j"];
    all.extend_from_slice(args);
    let out = ok(sock, &all);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Which backend answers `path` with `cookie` (body `A` or `B`), or the status when none.
fn answer(pound: &Pound, path: &str, cookie: Option<&str>) -> String {
    let mut c = pound.connect();
    let cookie = cookie.map_or(String::new(), |k| format!("Cookie: sid={k}\r\n"));
    c.send(format!("GET {path} HTTP/1.1\r\nHost: h\r\n{cookie}\r\n"));
    let r = c.response();
    match r.status {
        200 => r.text(),
        s => s.to_string(),
    }
}

fn is_timestamp(v: &Value) -> bool {
    // 2026-11-21T12:52:23.942828
    let Some(s) = v.as_str() else { return false };
    let b = s.as_bytes();
    s.len() == 26
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'.'
        && s[20..].bytes().all(|c| c.is_ascii_digit())
}

#[test]
fn the_state_has_the_shapes_of_the_control_api() {
    let s = setup("control-shapes");
    let top = json(&s.sock, &["list"]);
    assert_eq!(top["pid"], s.pound.child.id());
    assert_eq!(top["queue_len"], 0);
    assert!(is_timestamp(&top["timestamp"]), "{}", top["timestamp"]);
    // pound's release where pound reports its version, pound-rs's own beside it.
    assert_eq!(top["version"], "4.23");
    assert_eq!(top["pound_rs_version"], env!("CARGO_PKG_VERSION"));
    // pound 4.23's `core` object, where its poundctl reads these figures.
    let core = &top["core"];
    assert_eq!(
        (core["kind"].as_str(), top["kind"].as_str()),
        (Some("core"), Some("pound"))
    );
    assert_eq!(core["version"], "4.23");
    assert_eq!(core["pid"], s.pound.child.id());
    assert!(core["uptime"].is_u64() && core["queue"]["len"].is_u64());
    assert_eq!(core["workers"], top["workers"]);
    let w = &top["workers"];
    for k in ["active", "count", "max", "min", "timeout"] {
        assert!(w[k].is_u64(), "workers.{k}: {w}");
    }
    assert_eq!(
        (w["min"].as_u64(), w["max"].as_u64(), w["timeout"].as_u64()),
        (Some(5), Some(128), Some(30))
    );

    // Listener 0 is the control socket itself.
    let l0 = &top["listeners"][0];
    assert_eq!(l0["address"], s.sock.display().to_string());
    assert_eq!(l0["protocol"], "http");
    assert_eq!(l0["services"][0]["backends"][0]["type"], "control");
    assert_eq!(l0["services"][0]["backends"][0]["priority"], 1);

    let l1 = &top["listeners"][1];
    assert_eq!(l1["name"], "main");
    assert_eq!(l1["enabled"], true);
    assert_eq!(l1["protocol"], "http");
    assert_eq!(l1["address"], s.pound.addr.to_string());
    let web = &l1["services"][0];
    assert_eq!(web["name"], "web");
    assert_eq!(web["session_type"], "COOKIE");
    assert_eq!(web["sessions"], serde_json::json!([]));
    assert_eq!(
        (
            web["tot_pri"].as_u64(),
            web["abs_pri"].as_u64(),
            web["max_pri"].as_u64()
        ),
        (Some(12), Some(12), Some(7))
    );
    // pound 4.23's members: `kind` in every object, a backend's balancer group (`weight`)
    // and `ServerName`; control-api.md's `emergency` member is gone.
    assert!(web.get("emergency").is_none(), "{web}");
    assert_eq!(
        (l1["kind"].as_str(), web["kind"].as_str()),
        (Some("listener"), Some("service"))
    );
    let b0 = &web["backends"][0];
    assert_eq!(
        (b0["kind"].as_str(), b0["weight"].as_u64()),
        (Some("backend"), Some(0))
    );
    assert_eq!(b0["servername"], Value::Null);
    assert_eq!(b0["type"], "backend");
    assert_eq!(b0["address"], format!("127.0.0.1:{}", s.a.port()));
    assert_eq!(b0["protocol"], "http");
    assert_eq!(b0["priority"], 5);
    assert_eq!(
        (b0["alive"].as_bool(), b0["enabled"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(
        (
            b0["conn_to"].as_u64(),
            b0["io_to"].as_u64(),
            b0["ws_to"].as_u64()
        ),
        (Some(15), Some(15), Some(600))
    );
    assert_eq!(l1["services"][1]["session_type"], "NONE");
    assert_eq!(l1["services"][1]["sessions"], Value::Null);

    let global = &top["services"][0];
    assert_eq!(global["name"], "global");
    let r = &global["backends"][0];
    assert_eq!(
        (r["type"].as_str(), r["code"].as_u64()),
        (Some("redirect"), Some(301))
    );
    // A URL without a path: the request's is appended.
    assert_eq!(
        (r["url"].as_str(), r["has_uri"].as_bool()),
        (Some("http://example.org"), Some(false))
    );

    // Objects by index and by name.
    assert_eq!(json(&s.sock, &["list", "/1"])["name"], "main");
    assert_eq!(json(&s.sock, &["list", "/main/web"])["name"], "web");
    assert_eq!(json(&s.sock, &["list", "/1/0/1"])["priority"], 7);
    assert_eq!(json(&s.sock, &["list", "/-/0"])["name"], "global");
    assert_eq!(json(&s.sock, &["list", "/0/0/0"])["type"], "control");

    // The human listing names every object.
    let text = ok(&s.sock, &["list"]);
    for want in [
        "Listener \"main\" http://",
        "Service \"web\" active",
        // The balancer group in parentheses, as pound 4.23 lists it.
        &format!("backend (0) http 127.0.0.1:{} 5 alive active", s.a.port()),
        "Session type: COOKIE",
    ] {
        assert!(text.contains(want), "{want:?} in\n{text}");
    }

    // poundctl -f reads the socket from the configuration.
    let cfg = s.pound.dir.join("pound.cfg");
    let r = poundctl(&["-f", cfg.to_str().unwrap(), "-j", "list", "/1"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("\"main\""), "{}", r.stdout);
}

#[test]
fn enabling_and_disabling_acts_on_live_traffic() {
    let s = setup("control-switch");
    let seen = |n: usize| {
        let mut got = std::collections::BTreeSet::new();
        for _ in 0..n {
            got.insert(answer(&s.pound, "/web", None));
        }
        got.into_iter().collect::<Vec<_>>().join(",")
    };
    assert_eq!(seen(60), "A,B");

    // A disabled backend takes no new requests and leaves the total priority.
    assert_eq!(ok(&s.sock, &["disable", "/1/0/0"]), "");
    assert_eq!(seen(30), "B");
    let web = json(&s.sock, &["list", "/1/0"]);
    assert_eq!(
        (
            web["tot_pri"].as_u64(),
            web["backends"][0]["enabled"].as_bool()
        ),
        (Some(7), Some(false))
    );
    ok(&s.sock, &["enable", "/1/0/0"]);
    assert_eq!(seen(60), "A,B");

    // A disabled service matches nothing: the global service behind it answers.
    // (A name with a space: poundctl encodes it, pound decodes it.)
    ok(&s.sock, &["off", "/main/plain one"]);
    assert_eq!(answer(&s.pound, "/plain", None), "301");
    ok(&s.sock, &["on", "/main/plain one"]);
    assert_eq!(answer(&s.pound, "/plain", None), "A");

    // A disabled listener closes new connections at once.
    ok(&s.sock, &["disable", "/1"]);
    let mut c = s.pound.connect();
    c.send("GET /web HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(c.is_closed());
    assert_eq!(json(&s.sock, &["list", "/1"])["enabled"], false);
    ok(&s.sock, &["enable", "/1"]);
    assert_ne!(answer(&s.pound, "/web", None), "503");

    // The global redirect service can be switched off too.
    ok(&s.sock, &["disable", "/-/0/0"]);
    assert_eq!(json(&s.sock, &["list", "/-/0/0"])["enabled"], false);
    assert_eq!(answer(&s.pound, "/elsewhere", None), "503");
    ok(&s.sock, &["enable", "/-/0/0"]);
    assert_eq!(answer(&s.pound, "/elsewhere", None), "301");
}

#[test]
fn sessions_are_added_and_deleted() {
    let s = setup("control-sessions");
    // Pin "k1" to backend 1 (B) and "k0" to backend 0 (A).
    let web = json(&s.sock, &["add", "/1/0/1", "k1"]);
    assert_eq!(web["name"], "web");
    json(&s.sock, &["add", "/main/web/0", "k0"]);
    for _ in 0..10 {
        assert_eq!(answer(&s.pound, "/web", Some("k1")), "B");
        assert_eq!(answer(&s.pound, "/web", Some("k0")), "A");
    }
    let sessions = json(&s.sock, &["list", "/1/0"])["sessions"].clone();
    let list = sessions.as_array().expect("sessions");
    assert_eq!(list.len(), 2, "{sessions}");
    for e in list {
        assert!(is_timestamp(&e["expire"]), "{e}");
    }
    let k1 = list.iter().find(|e| e["key"] == "k1").expect("k1");
    assert_eq!(k1["backend"], 1);

    // Moving a session, then deleting it.
    json(&s.sock, &["add", "/1/0/0", "k1"]);
    assert_eq!(answer(&s.pound, "/web", Some("k1")), "A");
    let web = json(&s.sock, &["delete", "/1/0", "k1"]);
    assert!(!web["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["key"] == "k1"));
    let text = ok(&s.sock, &["list", "/1/0"]);
    assert!(text.contains("Session k0 0 "), "{text}");
    assert!(!text.contains("Session k1"), "{text}");
    // Keys with bytes that need encoding on the way.
    let odd = "two words&x%y+z#";
    let web = json(&s.sock, &["add", "/1/0/1", odd]);
    assert!(
        web["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["key"] == odd),
        "{web}"
    );
    json(&s.sock, &["delete", "/1/0", odd]);
    // Deleting it again changes nothing and is no error (pound 4.23); a backend that does
    // not exist is.
    let web = json(&s.sock, &["delete", "/1/0", "k1"]);
    assert_eq!(web["name"], "web");
    let r = ctl(&s.sock, &["add", "/1/0/9", "k9"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (Some(1), "poundctl: Not Found\n")
    );
}

#[test]
fn bad_requests_get_the_documented_errors() {
    let s = setup("control-errors");
    let r = ctl(&s.sock, &["list", "/9"]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (Some(1), "poundctl: Not Found\n")
    );
    let r = ctl(&s.sock, &["list", "/main/nosuch"]);
    assert_eq!(r.stderr, "poundctl: Not Found\n");
    // The control socket's own objects cannot be switched off.
    let r = ctl(&s.sock, &["disable", "/0"]);
    assert_eq!(r.stderr, "poundctl: Bad Request\n");
    // Sessions on a service that keeps none: nothing to do, the service is shown (4.23).
    let r = ctl(&s.sock, &["-j", "add", "/1/1/0", "k"]);
    assert_eq!((r.code, r.stderr.as_str()), (Some(0), ""));
    assert!(r.stdout.contains("\"sessions\":null"), "{}", r.stdout);

    let sock = &s.sock;
    assert_eq!(control::request(sock, "POST", "/listener/1").0, 405);
    assert_eq!(control::request(sock, "GET", "/nothing").0, 404);
    assert_eq!(control::request(sock, "GET", "/listener/1/0/x").0, 404);
    assert_eq!(control::request(sock, "PUT", "/session/1/0/0").0, 400);
    assert_eq!(control::request(sock, "PUT", "/session/1/0/9?key=a").0, 404);
    // Keys are cut as requests cut them (256 bytes), so long cookies can be managed.
    let long = "k".repeat(300);
    json(sock, &["add", "/1/0/0", &long]);
    let web = json(sock, &["delete", "/1/0", &long]);
    assert_eq!(web["sessions"], serde_json::json!([]));
    // Garbage is answered, not fatal.
    let mut raw = std::os::unix::net::UnixStream::connect(sock).unwrap();
    std::io::Write::write_all(&mut raw, b"\x00\x01 nonsense\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = std::io::Read::read_to_string(&mut raw, &mut out);
    assert!(out.starts_with("HTTP/1.1 400 "), "{out}");
    assert_eq!(json(sock, &["list", "/1"])["name"], "main");

    // The socket has the configured mode.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);

    // A clean stop removes the socket file.
    let mut s = s;
    s.pound.signal(libc::SIGTERM);
    assert_eq!(s.pound.wait(), Some(0));
    assert!(!s.sock.exists());
}

#[test]
fn requests_past_worker_max_count_wait_in_the_queue() {
    use std::sync::mpsc;
    use std::sync::{Arc, Mutex};
    // A backend that holds /slow until told to answer.
    let (release, held) = mpsc::channel::<()>();
    let held = Arc::new(Mutex::new(held));
    let backend = Backend::start(move |r| {
        if r.line().contains("/slow") {
            let _ = held.lock().unwrap().recv();
        }
        common::net::ok("done")
    });
    let dir = common::scratch_dir("control-workers");
    let sock = dir.join("ctl.sock");
    let config = format!(
        "Control \"{}\"\nWorkerMinCount 1\nWorkerMaxCount 1\nWorkerIdleTimeout 7\n\
         ListenHTTP\nLISTEN\nEnd\nService\nBackend\n{}End\nEnd\n",
        sock.display(),
        backend.config()
    );
    let pound = Pound::start(&config);
    let workers = || control::get(&sock, "/listener")["workers"].clone();
    let w = workers();
    assert_eq!(
        (
            w["min"].as_u64(),
            w["max"].as_u64(),
            w["timeout"].as_u64(),
            w["count"].as_u64()
        ),
        (Some(1), Some(1), Some(7), Some(1))
    );
    let mut slow = pound.connect();
    slow.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
    common::net::poll("the slow request to be in progress", || {
        (workers()["active"] == 1 && backend.requests().len() == 1).then_some(())
    });
    let mut fast = pound.connect();
    fast.send("GET /fast HTTP/1.1\r\nHost: h\r\n\r\n");
    common::net::poll("the second request to queue", || {
        (control::get(&sock, "/listener")["queue_len"] == 1).then_some(())
    });
    // Only one request is in progress: the backend has not seen the second.
    assert_eq!(backend.requests().len(), 1);
    release.send(()).unwrap();
    assert_eq!(slow.response().text(), "done");
    assert_eq!(fast.response().text(), "done");
    // A slot is freed just after its response is sent.
    common::net::poll("the slots to be free", || {
        let top = control::get(&sock, "/listener");
        (top["queue_len"] == 0 && top["workers"]["active"] == 0).then_some(())
    });
}

#[test]
fn an_open_websocket_holds_no_worker_slot() {
    let backend = Backend::start(|r| {
        if r.line().contains("/ws") {
            common::net::Reply::Tunnel(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
                    .to_vec(),
            )
        } else {
            common::net::ok("plain")
        }
    });
    let dir = common::scratch_dir("control-ws");
    let sock = dir.join("ctl.sock");
    let config = format!(
        "Control \"{}\"\nThreads 1\nListenHTTP\nLISTEN\nEnd\nService\nBackend\n{}End\nEnd\n",
        sock.display(),
        backend.config()
    );
    let pound = Pound::start(&config);
    let mut ws = pound.connect();
    ws.send("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    assert_eq!(ws.response_to("GET").status, 101);
    // With one slot, a tunnel that kept it would leave this request queued for good.
    assert_eq!(pound.connect().get("/next").text(), "plain");
    assert_eq!(control::get(&sock, "/listener")["workers"]["max"], 1);
}

/// As in pound 4.23: control requests are logged with the global `LogLevel` (the client is
/// `socket`, a success is `200 OK`), and errors are pound's standard pages.
#[test]
fn control_requests_are_logged_and_errors_are_pounds_pages() {
    let s = setup("control-log");
    let (status, body) = control::request(&s.sock, "GET", "/nosuch");
    assert_eq!(status, 404);
    assert!(
        body.contains("<p>The requested URL was not found on this server.</p>"),
        "{body}"
    );
    s.pound
        .out
        .wait_for("pound: socket GET /nosuch HTTP/1.1 - HTTP/1.1 404 Not Found");
    let (status, _) = control::request(&s.sock, "GET", "/listener/");
    assert_eq!(status, 200);
    s.pound
        .out
        .wait_for("pound: socket GET /listener/ HTTP/1.1 - 200 OK");
}

#[test]
fn emergency_backends_follow_the_others_in_the_last_group() {
    // pound 4.23 lists `Emergency` backends among the service's backends, after the regular
    // ones, with the last balancer group as their weight; they are addressed, shown and
    // switched like the others.
    let s = setup("control-emergency");
    let plain = json(&s.sock, &["list", "/1/1"]);
    let list = plain["backends"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{plain}");
    assert_eq!(
        (list[0]["weight"].as_u64(), list[1]["weight"].as_u64()),
        (Some(0), Some(65535))
    );
    let spare = json(&s.sock, &["list", "/1/1/1"]);
    assert_eq!(spare["weight"], 65535);
    // pound 4.23's own time-outs for emergency backends that set none.
    assert_eq!(
        (
            spare["conn_to"].as_u64(),
            spare["io_to"].as_u64(),
            spare["ws_to"].as_u64()
        ),
        (Some(120), Some(120), Some(120))
    );
    ok(&s.sock, &["disable", "/1/1/1"]);
    assert_eq!(json(&s.sock, &["list", "/1/1/1"])["enabled"], false);
    // With the regular backend off too, nothing is left to answer.
    ok(&s.sock, &["disable", "/1/1/0"]);
    assert_eq!(answer(&s.pound, "/plain", None), "503");
    ok(&s.sock, &["enable", "/1/1/1"]);
    assert_eq!(answer(&s.pound, "/plain", None), "B");
    let r = ctl(&s.sock, &["list", "/1/1/2"]);
    assert_eq!(r.stderr, "poundctl: Not Found\n");
    let text = ok(&s.sock, &["list", "/1/1"]);
    assert!(text.contains("1. backend (65535) http "), "{text}");
}

#[test]
fn replies_are_laid_out_as_pound_writes_them() {
    // Members sorted, items separated by ", " on one line; `?indent=N` (pound 4.23) puts
    // each on its own line; a bad indent is a bad request and changes nothing.
    let s = setup("control-layout");
    let (status, body) = control::request(&s.sock, "GET", "/listener/1/0/0");
    assert_eq!(status, 200);
    let port = s.a.port();
    assert_eq!(
        body,
        format!(
            "{{\"address\":\"127.0.0.1:{port}\", \"alive\":true, \"conn_to\":15, \
             \"enabled\":true, \"io_to\":15, \"kind\":\"backend\", \"priority\":5, \
             \"protocol\":\"http\", \"servername\":null, \"type\":\"backend\", \"weight\":0, \
             \"ws_to\":600}}"
        )
    );
    let (status, body) = control::request(&s.sock, "GET", "/log/?indent=2");
    assert_eq!(status, 200);
    assert_eq!(
        body,
        "{\n  \"global\": \"regular\",\n  \"kind\": \"log\",\n  \"level\": \"regular\"\n}"
    );
    assert_eq!(
        control::request(&s.sock, "DELETE", "/listener/1/0/0?indent=x").0,
        400
    );
    assert_eq!(json(&s.sock, &["list", "/1/0/0"])["enabled"], true);
}
