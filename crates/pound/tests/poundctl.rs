//! The `poundctl` binary against a fake control server: the exact HTTP request each command
//! sends (control-api.md), the human-readable and `-j` output of the replies, finding the
//! socket through `-f`, and the messages and exit status of every kind of failure.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The outcome of one run of poundctl.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs poundctl with `args` in `dir`.
fn poundctl_in(dir: &Path, args: &[&str]) -> Run {
    // No ~/.poundctl or template files of the machine's user.
    let out = Command::new(env!("CARGO_BIN_EXE_poundctl"))
        .args(args)
        .env("HOME", "/nonexistent/home")
        .env_remove("POUNDCTL_CONF")
        .env_remove("POUND_TMPL_PATH")
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => panic!("cannot run poundctl: {e}"),
    };
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn poundctl(args: &[&str]) -> Run {
    poundctl_in(&std::env::temp_dir(), args)
}

/// A fresh directory under the system temporary directory (short, so socket paths fit).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "poundctl-it-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("{}: {e}", dir.display());
        }
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        if let Err(e) = std::fs::write(&p, text) {
            panic!("{}: {e}", p.display());
        }
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A control server that answers one connection with a canned reply and records the
/// request it got.
struct Fake {
    dir: TempDir,
    socket: PathBuf,
    server: Option<JoinHandle<String>>,
}

impl Fake {
    /// Listens on `ctl.sock` in a fresh directory. The socket is bound before this returns,
    /// so poundctl can connect at once.
    fn start(reply: impl Into<Vec<u8>>) -> Fake {
        Fake::start_as("ctl.sock", reply)
    }

    fn start_as(name: &str, reply: impl Into<Vec<u8>>) -> Fake {
        let dir = TempDir::new();
        let socket = dir.path().join(name);
        let listener = match UnixListener::bind(&socket) {
            Ok(l) => l,
            Err(e) => panic!("bind {}: {e}", socket.display()),
        };
        let reply = reply.into();
        let server = std::thread::spawn(move || serve_one(&listener, &reply));
        Fake {
            dir,
            socket,
            server: Some(server),
        }
    }

    fn socket(&self) -> &str {
        match self.socket.to_str() {
            Some(s) => s,
            None => panic!("socket path is not UTF-8"),
        }
    }

    /// The request the server received ("" if poundctl never sent one).
    fn request(&mut self) -> String {
        // If poundctl never connected, the server still waits in accept(): an empty
        // connection releases it. If it did connect, this one is never accepted.
        drop(UnixStream::connect(&self.socket));
        match self.server.take().map(JoinHandle::join) {
            Some(Ok(request)) => request,
            _ => panic!("fake server failed"),
        }
    }
}

/// Accepts one connection, reads the request head, sends `reply` and closes.
fn serve_one(listener: &UnixListener, reply: &[u8]) -> String {
    let Ok((mut conn, _)) = listener.accept() else {
        return String::new();
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(20)));
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 65536 {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    if !request.is_empty() {
        let _ = conn.write_all(reply);
    }
    String::from_utf8_lossy(&request).into_owned()
}

/// A 200 reply carrying `body` as JSON.
fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn req(method: &str, target: &str) -> String {
    format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

/// Runs poundctl with `-s SOCKET` and `args` against a server replying `reply`; returns the
/// run and the request the server saw.
fn exchange(reply: &str, args: &[&str]) -> (Run, String) {
    let mut fake = Fake::start(reply);
    let mut all = vec!["-s", fake.socket()];
    all.extend_from_slice(args);
    let run = poundctl(&all);
    (run, fake.request())
}

const CONTROL_LISTENER: &str = r#"{"address": "/run/pound.sock", "enabled": true, "name": null,
  "protocol": "http", "services": [{"name": null, "enabled": true, "session_type": "NONE",
  "sessions": null, "tot_pri": 1, "abs_pri": 1, "max_pri": 1, "emergency": null,
  "backends": [{"type": "control", "priority": 1, "alive": true, "enabled": true}]}]}"#;

const WEB_SERVICE: &str = r#"{"name": "web", "enabled": true, "session_type": "COOKIE",
  "sessions": [{"key": "abc", "backend": 1, "expire": "2026-11-21T12:57:23.924073"}],
  "tot_pri": 5, "abs_pri": 12, "max_pri": 7, "emergency": null,
  "backends": [
    {"type": "backend", "address": "127.0.0.1:9001", "protocol": "http", "priority": 5,
     "alive": true, "enabled": true, "conn_to": 15, "io_to": 15, "ws_to": 600},
    {"type": "backend", "address": "127.0.0.1:9002", "protocol": "http", "priority": 7,
     "alive": false, "enabled": false, "conn_to": 15, "io_to": 15, "ws_to": 600}]}"#;

const WEB_SERVICE_TEXT: &str = "\
Service \"web\" active
        0. backend http 127.0.0.1:9001 5 alive active
        1. backend http 127.0.0.1:9002 7 dead disabled
     Session type: COOKIE
       0. Session abc 1 2026-11-21T12:57:23.924073
";

fn everything() -> String {
    format!(
        r#"{{"listeners": [{CONTROL_LISTENER},
             {{"address": "127.0.0.1:8080", "enabled": true, "name": "main",
               "protocol": "http", "services": [{WEB_SERVICE}]}}],
           "services": [{{"name": null, "enabled": true, "session_type": "NONE",
             "sessions": null, "tot_pri": 1, "abs_pri": 1, "max_pri": 1, "emergency": null,
             "backends": [{{"type": "redirect", "code": 301, "url": "http://example.org",
               "has_uri": false, "priority": 1, "alive": true, "enabled": true}}]}}],
           "pid": 1234, "queue_len": 0, "timestamp": "2026-11-21T12:52:23.942828",
           "version": "4.16",
           "workers": {{"active": 1, "count": 5, "max": 128, "min": 5, "timeout": 30}}}}"#
    )
}

const EVERYTHING_TEXT: &str = "\
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
        1. backend http 127.0.0.1:9002 7 dead disabled
     Session type: COOKIE
       0. Session abc 1 2026-11-21T12:57:23.924073

Global services:

     0. Service active
        0. redirect 301 http://example.org active
     Session type: NONE

";

fn assert_success(run: &Run, stdout: &str) {
    assert_eq!(run.stderr, "", "{run:?}");
    assert_eq!(run.stdout, stdout, "{run:?}");
    assert_eq!(run.code, Some(0), "{run:?}");
}

fn assert_failure(run: &Run, stderr: &str) {
    assert_eq!(run.stderr, stderr, "{run:?}");
    assert_eq!(run.code, Some(1), "{run:?}");
}

#[test]
fn list_everything() {
    for args in [
        &[][..],
        &["list"][..],
        &["list", "/"][..],
        &["-T", "default"][..],
    ] {
        let (run, request) = exchange(&ok(&everything()), args);
        assert_eq!(request, req("GET", "/listener"), "{args:?}");
        assert_success(&run, EVERYTHING_TEXT);
    }
}

#[test]
fn list_one_object() {
    let (run, request) = exchange(&ok(CONTROL_LISTENER), &["list", "/0"]);
    assert_eq!(request, req("GET", "/listener/0"));
    assert_success(
        &run,
        "Listener http:///run/pound.sock enabled\n     0. Service active\n        \
         0. control  active\n     Session type: NONE\n",
    );

    let (run, request) = exchange(&ok(WEB_SERVICE), &["list", "/main/web"]);
    assert_eq!(request, req("GET", "/listener/main/web"));
    assert_success(&run, WEB_SERVICE_TEXT);

    let backend = r#"{"type": "backend", "address": "127.0.0.1:9001", "protocol": "http",
        "priority": 5, "alive": true, "enabled": false, "conn_to": 15, "io_to": 15,
        "ws_to": 600}"#;
    let (run, request) = exchange(&ok(backend), &["list", "/1/0/1"]);
    assert_eq!(request, req("GET", "/listener/1/0/1"));
    assert_success(&run, "backend http 127.0.0.1:9001 5 alive disabled\n");

    let (run, request) = exchange(&ok(WEB_SERVICE), &["list", "/-/0"]);
    assert_eq!(request, req("GET", "/listener/-/0"));
    assert_success(&run, WEB_SERVICE_TEXT);
}

#[test]
fn json_output() {
    let (run, request) = exchange(&ok(CONTROL_LISTENER), &["-j", "list", "/0"]);
    assert_eq!(request, req("GET", "/listener/0"));
    assert_success(
        &run,
        "{\"address\":\"/run/pound.sock\", \"enabled\":true, \"name\":null, \
         \"protocol\":\"http\", \"services\":[{\"abs_pri\":1, \"backends\":[{\"alive\":true, \
         \"enabled\":true, \"priority\":1, \"type\":\"control\"}], \"emergency\":null, \
         \"enabled\":true, \"max_pri\":1, \"name\":null, \"session_type\":\"NONE\", \
         \"sessions\":null, \"tot_pri\":1}]}\n",
    );

    let (run, _) = exchange(
        &ok(r#"{"b": [1, 2], "a": {"x": "y"}}"#),
        &["-j", "-i", "2", "list", "/0/0/0"],
    );
    assert_success(
        &run,
        "{\n  \"a\": {\n    \"x\": \"y\"\n  },\n  \"b\": [\n    1,\n    2\n  ]\n}\n",
    );

    // The whole listing comes back as pound sent it, whatever its size.
    let (run, _) = exchange(&ok(&everything()), &["-j"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let sent: serde_json::Value = serde_json::from_str(&everything()).unwrap_or_default();
    let printed: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    assert_eq!(printed, sent);
}

#[test]
fn options_end_at_the_command() {
    // As pound's poundctl: words after the command are its own, options included.
    let (run, request) = exchange(&ok("true"), &["enable", "/1/0/1", "-j"]);
    assert_eq!(request, "");
    assert_failure(&run, "poundctl: too many arguments\n");
    let (run, request) = exchange(&ok("{}"), &["-j", "add", "/1/0/0", "-key"]);
    assert_eq!(request, req("PUT", "/session/1/0/0?key=-key"));
    assert_eq!(run.code, Some(0), "{run:?}");
}

#[test]
fn enable_and_disable() {
    for (args, method, target) in [
        (&["enable", "/1/0/2"][..], "PUT", "/listener/1/0/2"),
        (&["on", "/main"][..], "PUT", "/listener/main"),
        (&["disable", "/1/web"][..], "DELETE", "/listener/1/web"),
        (&["off", "/-/0/1"][..], "DELETE", "/listener/-/0/1"),
    ] {
        let (run, request) = exchange(&ok("true"), args);
        assert_eq!(request, req(method, target), "{args:?}");
        assert_success(&run, "");
    }
    let (run, _) = exchange(&ok("true"), &["-j", "disable", "/1"]);
    assert_success(&run, "true\n");

    let (run, request) = exchange(&ok("false"), &["disable", "/1"]);
    assert_eq!(request, req("DELETE", "/listener/1"));
    assert_eq!((run.stdout.as_str(), run.code), ("", Some(1)));
    assert_failure(&run, "poundctl: command failed\n");
    let (run, _) = exchange(&ok("false"), &["-j", "enable", "/1"]);
    assert_eq!(run.stdout, "false\n");
    assert_failure(&run, "poundctl: command failed\n");

    let (run, _) = exchange(&ok("{}"), &["enable", "/1"]);
    assert_failure(
        &run,
        "poundctl: unexpected reply: expected true or false, got an object\n",
    );
}

#[test]
fn sessions() {
    let (run, request) = exchange(&ok(WEB_SERVICE), &["delete", "/1/0", "abc"]);
    assert_eq!(request, req("DELETE", "/session/1/0?key=abc"));
    assert_success(&run, WEB_SERVICE_TEXT);

    let (run, request) = exchange(&ok(WEB_SERVICE), &["del", "/main/web", "10.1.2.3"]);
    assert_eq!(request, req("DELETE", "/session/main/web?key=10.1.2.3"));
    assert_success(&run, WEB_SERVICE_TEXT);

    let (run, request) = exchange(&ok(WEB_SERVICE), &["add", "/1/0/1", "abc"]);
    assert_eq!(request, req("PUT", "/session/1/0/1?key=abc"));
    assert_success(&run, WEB_SERVICE_TEXT);

    let (run, request) = exchange(&ok("{}"), &["-j", "add", "/-/0/0", "-k y"]);
    assert_eq!(request, req("PUT", "/session/-/0/0?key=-k%20y"));
    assert_success(&run, "{}\n");
}

#[test]
fn error_statuses_print_the_reason_phrase() {
    for (status, message) in [
        ("404 Not Found", "Not Found"),
        ("400 Bad Request", "Bad Request"),
        ("405 Method Not Allowed", "Method Not Allowed"),
    ] {
        let reply = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
        for args in [&["list", "/9"][..], &["-j", "enable", "/9"][..]] {
            let (run, _) = exchange(&reply, args);
            assert_eq!(run.stdout, "", "{args:?}");
            assert_failure(&run, &format!("poundctl: {message}\n"));
        }
    }
}

#[test]
fn replies_without_length_and_bad_replies() {
    let (run, _) = exchange(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\ntrue",
        &["on", "/1"],
    );
    assert_success(&run, "");
    let (run, _) = exchange("HTTP/1.0 200 OK\r\n\r\ntrue", &["on", "/1"]);
    assert_success(&run, "");

    let (run, _) = exchange(&ok("{not json"), &["list"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.starts_with("poundctl: error parsing JSON: "),
        "{run:?}"
    );
    let (run, _) = exchange("hello\r\n", &["list"]);
    assert_failure(&run, "poundctl: unexpected response: hello\n");
    let (run, _) = exchange("", &["list"]);
    assert_failure(&run, "poundctl: no reply from pound\n");
    let (run, _) = exchange(&ok("[1]"), &["list"]);
    assert_failure(
        &run,
        "poundctl: unexpected reply: expected an object, got an array\n",
    );
}

#[test]
fn socket_from_the_configuration_file() {
    // Absolute path, inline form.
    let mut fake = Fake::start(ok("true"));
    let cfg = fake.dir.write(
        "pound.cfg",
        &format!(
            "Control \"{}\"\nListenHTTP\n Address 127.0.0.1\n Port 8080\nEnd\n",
            fake.socket()
        ),
    );
    let run = poundctl(&["-f", &cfg.display().to_string(), "on", "/1"]);
    assert_eq!(fake.request(), req("PUT", "/listener/1"));
    assert_success(&run, "");

    // A relative path, block form, is used as written (against the current directory),
    // as pound 4.23 and its poundctl use it, whatever the include directory.
    let mut fake = Fake::start_as("rel.sock", ok("true"));
    let conf = fake.dir.write(
        "pound.cfg",
        "Control\n  Socket \"rel.sock\"\n  Mode 600\nEnd\n",
    );
    let run = poundctl_in(
        fake.dir.path(),
        &[
            "-W",
            "include-dir=/nonexistent",
            "-f",
            &conf.display().to_string(),
            "off",
            "/1",
        ],
    );
    assert_eq!(fake.request(), req("DELETE", "/listener/1"));
    assert_success(&run, "");

    // The inline form, with -W no-include-dir.
    let mut fake = Fake::start_as("cwd.sock", ok("true"));
    fake.dir.write("pound.cfg", "Control \"cwd.sock\"\n");
    let run = poundctl_in(
        fake.dir.path(),
        &["-W", "no-include-dir", "-f", "pound.cfg", "on", "/1"],
    );
    assert_eq!(fake.request(), req("PUT", "/listener/1"));
    assert_success(&run, "");

    // -s wins over the configuration.
    let mut fake = Fake::start(ok("true"));
    let run = poundctl(&[
        "-f",
        "/nonexistent/pound.cfg",
        "-s",
        fake.socket(),
        "on",
        "/1",
    ]);
    assert_eq!(fake.request(), req("PUT", "/listener/1"));
    assert_success(&run, "");
}

#[test]
fn no_socket_to_be_found() {
    let dir = TempDir::new();
    let cfg = dir.write(
        "pound.cfg",
        "ListenHTTP\n Address 127.0.0.1\n Port 8080\nEnd\n",
    );
    let cfg = cfg.display().to_string();
    let run = poundctl(&["-f", &cfg, "list"]);
    assert_failure(
        &run,
        &format!(
            "poundctl: {cfg} has no Control statement; can't determine control socket \
             name; use the -s option\n"
        ),
    );

    let bad = dir.write("bad.cfg", "Control \"/x.sock\"\nNoSuchStatement 1\n");
    let bad = bad.display().to_string();
    let run = poundctl(&["-f", &bad, "list"]);
    assert_eq!(run.code, Some(1));
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{run:?}");
    assert!(
        lines[0].starts_with(&format!("poundctl: {bad}:2.")),
        "{run:?}"
    );
    assert_eq!(
        lines[1],
        "poundctl: can't determine control socket name; use the -s option"
    );

    let missing = dir.path().join("missing.cfg").display().to_string();
    let run = poundctl(&["-f", &missing, "list"]);
    // As pound's poundctl says it.
    assert_failure(
        &run,
        "poundctl: can't determine control socket name; use the -s option\n",
    );

    let gone = dir.path().join("gone.sock").display().to_string();
    let run = poundctl(&["-s", &gone, "list"]);
    assert_failure(
        &run,
        &format!("poundctl: can't connect to {gone}: No such file or directory\n"),
    );
}

#[test]
fn verbose_says_what_it_does() {
    let mut fake = Fake::start(ok("true"));
    let cfg = fake
        .dir
        .write("pound.cfg", &format!("Control \"{}\"\n", fake.socket()));
    let cfg = cfg.display().to_string();
    let run = poundctl(&["-v", "-f", &cfg, "on", "/1"]);
    assert_eq!(fake.request(), req("PUT", "/listener/1"));
    assert_eq!(
        run.stderr,
        format!(
            "poundctl: scanning file {cfg}\npoundctl: info: using socket {s}\n\
             poundctl: connecting to {s}\n",
            s = fake.socket()
        )
    );
    assert_eq!(run.code, Some(0));
}

#[test]
fn usage_errors_are_caught_before_connecting() {
    for (args, message) in [
        (&["-x"][..], "invalid option -- 'x'"),
        (&["-s"][..], "option requires an argument -- 's'"),
        (
            &["frobnicate"][..],
            "unknown command: frobnicate (try 'poundctl -h' for the list)",
        ),
        (&["enable"][..], "required argument missing"),
        (&["list", "/1", "/2"][..], "too many arguments"),
        (
            &["disable", "1/2"][..],
            "bad address 1/2: should start with a / (for example /0/1/2)",
        ),
        (
            &["list", "/1/0/web"][..],
            "bad address /1/0/web: the backend must be given by its number",
        ),
        (
            &["delete", "/1", "k"][..],
            "bad address: service not specified",
        ),
        (
            &["add", "/1/0", "k"][..],
            "bad address: backend not specified",
        ),
        (&["-S"][..], "option requires an argument -- 'S'"),
        (
            &["-s", "ftp://localhost/"][..],
            "unsupported URL scheme: ftp://localhost/",
        ),
        (
            &["-W", "no-dns"][..],
            "invalid feature name: no-dns (poundctl knows include-dir=DIR and no-include-dir)",
        ),
    ] {
        // The socket does not exist: none of these may get as far as connecting.
        let mut all = vec!["-s", "/nonexistent/ctl.sock"];
        all.extend_from_slice(args);
        let run = poundctl(&all);
        assert_eq!(run.stdout, "", "{args:?}");
        assert_failure(&run, &format!("poundctl: {message}\n"));
    }
}

#[test]
fn help_and_version() {
    let run = poundctl(&["-h"]);
    assert_eq!(run.code, Some(0));
    assert!(run
        .stdout
        .starts_with("usage: poundctl [OPTIONS] [COMMAND [/L/S/B] [ARG]]\n"));
    let etc = pound_config::dirs::SYSCONFDIR;
    assert!(run.stdout.contains(&format!("(default: {etc}/pound.cfg)")));
    assert_eq!(run.stderr, "");

    let run = poundctl(&["-V"]);
    assert_eq!(run.code, Some(0));
    let first = run.stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("poundctl (pound) 4.23 (pound-rs "),
        "{first}"
    );
    assert!(run
        .stdout
        .contains(&format!("\nPound configuration file:   {etc}/pound.cfg\n")));
    assert!(run
        .stdout
        .contains("\nConfiguration file:         ~/.poundctl\n"));
    assert!(run
        .stdout
        .contains("\nTemplate search path:       ~/.poundctl.tmpl:"));
}
