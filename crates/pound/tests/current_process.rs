//! Process statements of pound 4.13 to 4.23 through the real binary: inherited descriptors
//! closed at start (`-W no-close-extra-fds`), no PID file (`PIDFile "-"`, `-p -`).

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::net::*;
use common::scratch_dir;

struct Running {
    child: Child,
}

impl Running {
    /// Starts `pound -F -e` in `dir` with `globals`, one listener and one service, plus
    /// `args`, and waits until it answers.
    fn start(dir: &Path, globals: &str, args: &[&str], backend: &Backend) -> Running {
        let (listen, addr) = handoff(dir);
        let cfg = dir.join("pound.cfg");
        std::fs::write(
            &cfg,
            format!(
                "{globals}\nListenHTTP\n{listen}\nEnd\nService\nBackend\n{}End\nEnd\n",
                backend.config()
            ),
        )
        .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_pound"))
            .args(["-F", "-e", "-W", "no-include-dir"])
            .args(args)
            .arg("-f")
            .arg(&cfg)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pound");
        let running = Running { child };
        poll("pound to answer", || {
            let mut c = std::net::TcpStream::connect(addr).ok()?;
            use std::io::Write;
            c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .ok()?;
            let mut out = String::new();
            c.read_to_string(&mut out).ok()?;
            out.starts_with("HTTP/1.1 200").then_some(())
        });
        running
    }

    /// Whether pound holds the pipe `pipe` (whatever its descriptor number there).
    fn holds(&self, pipe: &Inherited) -> bool {
        let target = pipe.target();
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .any(|t| t.to_string_lossy() == target)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// A pipe whose ends children inherit (no close-on-exec), closed when dropped.
struct Inherited([i32; 2]);

impl Inherited {
    fn new() -> Inherited {
        let mut fds = [0; 2];
        // SAFETY: a valid array of two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        Inherited(fds)
    }
}

impl Inherited {
    /// What /proc shows for it: `pipe:[INODE]`.
    fn target(&self) -> String {
        std::fs::read_link(format!("/proc/self/fd/{}", self.0[1]))
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }
}

impl Drop for Inherited {
    fn drop(&mut self) {
        for fd in self.0 {
            // SAFETY: our own descriptors.
            unsafe { libc::close(fd) };
        }
    }
}

#[test]
fn inherited_descriptors_are_closed_unless_told_otherwise() {
    let backend = Backend::named("ok");
    let pipe = Inherited::new();
    let pound = Running::start(&scratch_dir("fds"), "", &[], &backend);
    assert!(!pound.holds(&pipe), "inherited descriptor kept");
    drop(pound);
    let pound = Running::start(
        &scratch_dir("fds-kept"),
        "",
        &["-W", "no-close-extra-fds"],
        &backend,
    );
    assert!(pound.holds(&pipe), "inherited descriptor closed");
}

#[test]
fn no_pid_file() {
    let backend = Backend::named("ok");
    // `PIDFile "-"` in the configuration: a file named `-` would land in the working
    // directory.
    let dir = scratch_dir("no-pid-file");
    let pound = Running::start(&dir, "PIDFile \"-\"", &[], &backend);
    assert!(!dir.join("-").exists());
    drop(pound);
    // `-p -` on the command line, over a PID file the configuration names.
    let dir = scratch_dir("no-pid-file-p");
    let named = dir.join("named.pid");
    let pound = Running::start(
        &dir,
        &format!("PIDFile \"{}\"", named.display()),
        &["-p", "-"],
        &backend,
    );
    assert!(!dir.join("-").exists());
    assert!(!named.exists());
    drop(pound);
    // And a PID file is written otherwise.
    let dir = scratch_dir("pid-file");
    let pound = Running::start(
        &dir,
        &format!("PIDFile \"{}\"", named.display()),
        &[],
        &backend,
    );
    let pid = std::fs::read_to_string(&named).expect("PID file");
    assert_eq!(pid.trim(), pound.child.id().to_string());
}

/// `ConnectionQueueSize` (pound 4.23): while that many requests wait for a worker, pound
/// stops accepting; accepting resumes when the queue shrinks, and every request is served.
#[test]
fn a_full_connection_queue_pauses_accepting() {
    let backend = Backend::start(|r| {
        let body = r.line().to_string();
        if r.line().starts_with("GET /slow") {
            let bytes = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            Reply::Delay(std::time::Duration::from_millis(300), bytes.into_bytes())
        } else {
            ok(&body)
        }
    });
    let pound = Pound::start(&format!(
        "WorkerMinCount 1\nWorkerMaxCount 1\nConnectionQueueSize 1\n{}",
        simple("", &[&backend])
    ));
    let send = |target: &'static str| {
        let mut c = pound.connect();
        c.send(format!(
            "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ));
        c
    };
    let mut first = send("/slow/1");
    poll("the first request at the backend", || {
        (!backend.requests().is_empty()).then_some(())
    });
    // The first is in progress, the second waits for the worker; the third connection,
    // accepted before the queue filled, waits too, and the listener then pauses.
    let mut second = send("/slow/2");
    let mut third = send("/third");
    pound
        .err
        .wait_for("connection queue is full; incoming connections blocked");
    let mut fourth = send("/fourth");
    for c in [&mut first, &mut second, &mut third, &mut fourth] {
        assert_eq!(c.response().status, 200);
    }
    pound.err.wait_for("incoming connections unblocked");
}

#[test]
fn worker_settings_pound_refuses_at_start() {
    let backend = Backend::named("ok");
    for (globals, message) in [
        (
            "ReserveFD 2147483644",
            "pound: not enough file descriptors or ReserveFD value is set too high",
        ),
        (
            "WorkerStackSize 1",
            "pound: can't set worker stack size: Invalid argument",
        ),
    ] {
        let dir = scratch_dir("refused");
        let cfg = dir.join("pound.cfg");
        std::fs::write(
            &cfg,
            format!(
                "{globals}\nListenHTTP\nAddress 127.0.0.1\nPort 0\nEnd\nService\nBackend\n{}End\nEnd\n",
                backend.config()
            ),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_pound"))
            .args(["-F", "-e", "-W", "no-include-dir", "-p", "-", "-f"])
            .arg(&cfg)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .expect("run pound");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{globals}: {err}");
        assert!(err.contains(message), "{globals}: {err}");
        assert!(
            err.ends_with("pound: pound terminated\n"),
            "{globals}: {err}"
        );
    }
}

/// Dynamic backends (pound 4.14): `-W no-dns` gives pound's own refusal, for `-c` too;
/// `Resolve immediate` is the static lookup.
#[test]
fn dynamic_backends_and_no_dns() {
    let dir = scratch_dir("dynamic");
    let run = |resolve: &str, args: &[&str]| {
        let cfg = dir.join("pound.cfg");
        std::fs::write(
            &cfg,
            format!(
                "Resolver\nConfigText\nnameserver 127.0.0.1\nEnd\nEnd\n\
                 ListenHTTP\nAddress 127.0.0.1\nPort 0\nEnd\nService\nBackend\n\
                 Address \"localhost\"\nPort 1\nResolve {resolve}\nFamily inet\nEnd\nEnd\n"
            ),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_pound"))
            .args(["-F", "-e", "-W", "no-include-dir", "-p", "-"])
            .args(args)
            .arg("-f")
            .arg(&cfg)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .expect("run pound");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let cfg = dir.join("pound.cfg").display().to_string();
    assert_eq!(run("all", &["-c"]), (Some(0), String::new()));
    let refused = format!(
        "pound: {cfg}:11.1-16.3: Dynamic backend creation is not available: disabled by -Wno-dns\n"
    );
    assert_eq!(
        run("srv", &["-c", "-W", "no-dns"]),
        (Some(1), refused.clone())
    );
    assert_eq!(run("first", &["-W", "no-dns"]), (Some(1), refused));
    assert_eq!(run("immediate", &["-c"]), (Some(0), String::new()));
}
