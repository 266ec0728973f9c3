//! The daemon's process model with the real binary: detaching, the PID file, the supervisor
//! and its restarts, `User`/`Group` and `RootJail`.
//!
//! A daemon sends its standard streams to /dev/null, so these tests learn what happened from
//! the exit status of the command, the PID file, /proc and the requests it serves. The test
//! process is a child subreaper, so the detached daemons become its children and their exit
//! statuses can be read. Every pound process a test starts carries the test's configuration
//! file name on its command line; a guard kills all of them when the test ends, passed or
//! failed.

mod common;

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Once;
use std::thread;
use std::time::Instant;

use common::net::{handoff, poll, Backend, Client, PATIENCE};
use common::scratch_dir;

/// Makes this test process the reaper of the daemons it starts.
fn become_subreaper() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a plain prctl on this process.
        let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        assert_eq!(rc, 0, "PR_SET_CHILD_SUBREAPER");
    });
}

fn is_root() -> bool {
    // SAFETY: a plain system call.
    unsafe { libc::geteuid() == 0 }
}

/// A configuration: `globals`, one listener and one service over `backend`.
fn config(globals: &str, listen: &str, backend: &Backend) -> String {
    format!(
        "{globals}\nListenHTTP\n{listen}\nEnd\nService\nBackend\n{}End\nEnd\n",
        backend.config()
    )
}

/// The fields of the `key:` line of /proc/PID/status.
fn status_line(pid: i32, key: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(&format!("{key}:")))?;
    Some(
        line[key.len() + 1..]
            .split_whitespace()
            .map(String::from)
            .collect(),
    )
}

/// Whether `pid` runs (exists and is not a zombie).
fn alive(pid: i32) -> bool {
    status_line(pid, "State").is_some_and(|s| s.first().is_some_and(|st| st != "Z"))
}

/// The live children of `pid`.
fn children(pid: i32) -> Vec<i32> {
    let mut v: Vec<i32> = processes()
        .into_iter()
        .filter(|&p| status_line(p, "PPid").is_some_and(|s| s == [pid.to_string()]) && alive(p))
        .collect();
    v.sort();
    v
}

/// Every process ID in /proc.
fn processes() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The processes whose command line contains `needle`.
fn with_argument(needle: &str) -> Vec<i32> {
    processes()
        .into_iter()
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: a plain system call.
    unsafe { libc::kill(pid, sig) };
}

/// The exit status of `pid`, one of our children (a subreaper's orphan), once it exits.
fn exit_status(pid: i32) -> i32 {
    poll(&format!("process {pid} to exit"), || {
        let mut status = 0;
        // SAFETY: a valid pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(
            r != -1,
            "waitpid {pid}: {}",
            std::io::Error::last_os_error()
        );
        (r == pid).then(|| {
            if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                128 + libc::WTERMSIG(status)
            }
        })
    })
}

/// One pound started in daemon mode, and the guard that kills whatever it left running.
struct Daemon {
    dir: PathBuf,
    cfg: PathBuf,
    pid_file: PathBuf,
    addr: SocketAddr,
    /// The command's exit status and standard error.
    code: Option<i32>,
    stderr: String,
}

impl Daemon {
    /// Runs `pound` (no `-F`) on `globals` plus a listener over `backend`, and waits for the
    /// command to return: a daemon returns once it serves or has failed.
    fn start(name: &str, globals: &str, backend: &Backend) -> Daemon {
        become_subreaper();
        let dir = scratch_dir(name);
        let (listen, addr) = handoff(&dir);
        let cfg = dir.join("pound.cfg");
        std::fs::write(&cfg, config(globals, &listen, backend)).expect("write config");
        let pid_file = dir.join("pound.pid");
        let mut d = Daemon {
            dir,
            cfg,
            pid_file,
            addr,
            code: None,
            stderr: String::new(),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_pound"))
            .args(["-W", "no-include-dir", "-f"])
            .arg(&d.cfg)
            .arg("-p")
            .arg(&d.pid_file)
            .current_dir(&d.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run pound");
        let status = poll("the pound command to return", || {
            child.try_wait().expect("wait for pound")
        });
        if let Some(mut err) = child.stderr.take() {
            let _ = err.read_to_string(&mut d.stderr);
        }
        d.code = status.code();
        d
    }

    /// Asserts that the command succeeded.
    fn started(self) -> Daemon {
        assert_eq!(
            (self.code, self.stderr.as_str()),
            (Some(0), ""),
            "pound did not start"
        );
        self
    }

    /// The PID in the PID file, which must exist.
    fn pid(&self) -> i32 {
        let text = std::fs::read_to_string(&self.pid_file).expect("the PID file exists");
        text.trim().parse().expect("a PID")
    }

    /// The only worker of supervisor `pid`.
    fn worker(&self, pid: i32) -> i32 {
        poll("one worker", || match children(pid).as_slice() {
            [w] => Some(*w),
            _ => None,
        })
    }

    /// The body of a response to `GET /`.
    fn get(&self) -> String {
        let r = Client::connect(self.addr).get("/");
        assert_eq!(r.status, 200);
        r.text()
    }

    /// Waits until the PID file is gone.
    fn pid_file_removed(&self) {
        poll("the PID file to be removed", || {
            (!self.pid_file.exists()).then_some(())
        });
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let needle = self.cfg.to_string_lossy().into_owned();
        let start = Instant::now();
        loop {
            let left: Vec<i32> = with_argument(&needle)
                .into_iter()
                .filter(|&p| p != std::process::id() as i32)
                .collect();
            for &p in &left {
                signal(p, libc::SIGKILL);
            }
            for &p in &left {
                let mut status = 0;
                // SAFETY: a valid pointer; a process that is not our child is ECHILD.
                unsafe { libc::waitpid(p, &mut status, libc::WNOHANG) };
            }
            if left.iter().all(|&p| !alive(p)) || start.elapsed() > PATIENCE {
                break;
            }
            thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// Daemon mode with the default supervisor: the command returns once pound serves, the PID
/// file holds the supervisor, which stays single-threaded; a worker killed with `-9` is
/// replaced; `TERM` stops both and removes the PID file.
#[test]
fn supervisor_restarts_a_killed_worker() {
    let backend = Backend::named("one");
    let d = Daemon::start("supervised", "", &backend).started();
    let supervisor = d.pid();
    assert!(alive(supervisor));
    assert_eq!(
        status_line(supervisor, "Threads"),
        Some(vec!["1".to_string()])
    );
    let first = d.worker(supervisor);
    assert_eq!(d.get(), "one");

    signal(first, libc::SIGKILL);
    let second = poll("a new worker", || {
        children(supervisor).into_iter().find(|&p| p != first)
    });
    assert_eq!(d.get(), "one");
    assert_eq!(d.pid(), supervisor);

    signal(supervisor, libc::SIGTERM);
    assert_eq!(exit_status(supervisor), 0);
    assert!(!alive(second));
    d.pid_file_removed();
}

/// `Supervisor 0`: the PID file holds the process that serves; it has no children.
#[test]
fn without_supervisor_the_pid_file_holds_the_server() {
    let backend = Backend::named("solo");
    let d = Daemon::start("unsupervised", "Supervisor 0", &backend).started();
    let pid = d.pid();
    assert_eq!(d.get(), "solo");
    assert_eq!(children(pid), Vec::<i32>::new());
    signal(pid, libc::SIGTERM);
    assert_eq!(exit_status(pid), 0);
    d.pid_file_removed();
}

/// `INT` is passed on too (a graceful stop), and the supervisor exits with the worker.
#[test]
fn supervisor_passes_int_on() {
    let backend = Backend::named("int");
    let d = Daemon::start("int", "Grace 1", &backend).started();
    let supervisor = d.pid();
    let worker = d.worker(supervisor);
    assert_eq!(d.get(), "int");
    signal(supervisor, libc::SIGINT);
    assert_eq!(exit_status(supervisor), 0);
    assert!(!alive(worker));
    d.pid_file_removed();
}

fn uid_gid(user: &str, group: &str) -> (u32, u32) {
    let u = std::ffi::CString::new(user).expect("name");
    let g = std::ffi::CString::new(group).expect("name");
    // SAFETY: valid names; the results are read at once, in a test.
    unsafe {
        let pw = libc::getpwnam(u.as_ptr());
        let gr = libc::getgrnam(g.as_ptr());
        assert!(!pw.is_null() && !gr.is_null(), "{user} and {group} exist");
        ((*pw).pw_uid, (*gr).gr_gid)
    }
}

/// `User`, `Group` and `RootJail` apply to the worker (real, effective, saved and file-system
/// IDs, no root group left, the jail as its root); the supervisor stays as it was, so it
/// can remove the PID file.
#[test]
fn worker_runs_as_user_and_group_in_the_jail() {
    if !is_root() {
        println!("note: not root, so User, Group and RootJail cannot be tested");
        return;
    }
    let (uid, gid) = uid_gid("nobody", "nogroup");
    let jail = scratch_dir("jail");
    let backend = Backend::named("jailed");
    let globals = format!(
        "User \"nobody\"\nGroup \"nogroup\"\nRootJail \"{}\"",
        jail.display()
    );
    let d = Daemon::start("privileges", &globals, &backend).started();
    let supervisor = d.pid();
    let worker = d.worker(supervisor);

    let ids = |u: u32| vec![u.to_string(); 4];
    assert_eq!(status_line(worker, "Uid"), Some(ids(uid)));
    assert_eq!(status_line(worker, "Gid"), Some(ids(gid)));
    let groups = status_line(worker, "Groups").expect("Groups");
    assert!(!groups.contains(&"0".to_string()), "groups {groups:?}");
    assert_eq!(
        std::fs::read_link(format!("/proc/{worker}/root")).ok(),
        Some(jail.clone())
    );
    no_directory_outside(worker, &jail);
    assert_eq!(status_line(supervisor, "Uid"), Some(ids(0)));
    assert_eq!(
        std::fs::read_link(format!("/proc/{supervisor}/root")).ok(),
        Some(PathBuf::from("/"))
    );
    assert_eq!(d.get(), "jailed");

    // A restarted worker is jailed and switched again.
    signal(worker, libc::SIGKILL);
    let next = poll("a new worker", || {
        children(supervisor).into_iter().find(|&p| p != worker)
    });
    assert_eq!(d.get(), "jailed");
    assert_eq!(status_line(next, "Uid"), Some(ids(uid)));

    signal(supervisor, libc::SIGTERM);
    assert_eq!(exit_status(supervisor), 0);
    d.pid_file_removed();
}

/// `RootJail` without a supervisor: the server itself is jailed, still serves, and still
/// removes the PID file, whose path means something else inside the jail.
#[test]
fn a_jailed_server_holds_no_directory_outside_the_jail() {
    if !is_root() {
        println!("note: not root, so RootJail cannot be tested");
        return;
    }
    let jail = scratch_dir("jail");
    let backend = Backend::named("inside");
    let globals = format!("Supervisor 0\nRootJail \"{}\"", jail.display());
    let d = Daemon::start("jailed", &globals, &backend).started();
    let pid = d.pid();
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/root")).ok(),
        Some(jail.clone())
    );
    assert_eq!(d.get(), "inside");
    no_directory_outside(pid, &jail);
    signal(pid, libc::SIGTERM);
    assert_eq!(exit_status(pid), 0);
    // So the PID file cannot be removed without a supervisor.
    assert!(d.pid_file.exists());
}

/// Unknown names are start-up errors, before pound detaches, in pound's words.
#[test]
fn unknown_user_or_group_stops_the_start() {
    let backend = Backend::named("never");
    let d = Daemon::start("nouser", "User \"no-such-user-for-pound\"", &backend);
    assert_eq!(d.code, Some(1));
    assert_eq!(
        d.stderr,
        "pound: no such user no-such-user-for-pound\npound: pound terminated\n"
    );
    assert!(!d.pid_file.exists());

    let d = Daemon::start(
        "nogroup",
        "Daemon 0\nGroup \"no-such-group-for-pound\"",
        &backend,
    );
    assert_eq!(d.code, Some(1));
    assert_eq!(
        d.stderr,
        "pound: no such group no-such-group-for-pound\npound: pound terminated\n"
    );
}

/// A failure after the detach (a jail that does not exist) still reaches the terminal, the
/// command fails, nothing is left running and the supervisor does not restart the worker.
#[test]
fn failure_after_detach_is_reported() {
    if !is_root() {
        println!("note: not root, so RootJail cannot be tested");
        return;
    }
    let backend = Backend::named("never");
    for globals in [
        "RootJail \"/no/such/jail\"",
        "Supervisor 0\nRootJail \"/no/such/jail\"",
    ] {
        let d = Daemon::start("badjail", globals, &backend);
        let line = globals.lines().count();
        assert_eq!(
            (d.code, d.stderr.as_str()),
            (
                Some(1),
                format!(
                    "pound: {}:{line}.1-8: chroot /no/such/jail: No such file or directory\n",
                    d.cfg.display()
                )
                .as_str()
            ),
            "{globals}"
        );
        d.pid_file_removed();
        let needle = d.cfg.to_string_lossy().into_owned();
        poll("every pound process to exit", || {
            let left: Vec<i32> = with_argument(&needle)
                .into_iter()
                .filter(|&p| {
                    let mut status = 0;
                    // SAFETY: a valid pointer; collects the orphan if it is ours.
                    unsafe { libc::waitpid(p, &mut status, libc::WNOHANG) };
                    alive(p)
                })
                .collect();
            left.is_empty().then_some(())
        });
    }
}

/// In the foreground (`-F -e`) the process itself is jailed and switched, and says so when
/// the new user may not remove the PID file.
#[test]
fn foreground_server_is_jailed_and_switched() {
    if !is_root() {
        println!("note: not root, so User and RootJail cannot be tested");
        return;
    }
    let (uid, _) = uid_gid("nobody", "nogroup");
    let jail = scratch_dir("jail");
    let backend = Backend::named("fg");
    let mut pound = common::net::Pound::start(&format!(
        "User \"nobody\"\nRootJail \"{}\"\n{}",
        jail.display(),
        common::net::simple("", &[&backend])
    ));
    let pid = pound.child.id() as i32;
    assert_eq!(status_line(pid, "Uid"), Some(vec![uid.to_string(); 4]));
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/root")).ok(),
        Some(jail.clone())
    );
    assert_eq!(pound.connect().get("/").text(), "fg");
    no_directory_outside(pid, &jail);
    pound.signal(libc::SIGTERM);
    assert_eq!(pound.wait(), Some(0));
    // A jailed server without a supervisor gives up its handle on the PID file's
    // directory (a way out of the jail), so the file stays.
    let pid_file = pound.dir.join("pound.pid");
    assert!(pid_file.exists());
}

/// The shell commands that give a private mount namespace a /dev with only /dev/null and a
/// /dev/log that is the socket `log` of the test.
fn private_dev(log: &Path) -> String {
    format!(
        "mount -t tmpfs tmpfs /dev && mknod -m 666 /dev/null c 1 3 && touch /dev/log \
         && mount --bind '{}' /dev/log",
        log.display()
    )
}

/// The supervisor's messages and the worker's request log reach syslog, from the jail too
/// (it has no /dev/log: the socket is connected before the chroot and handed on), for the
/// first worker and for a restarted one, tagged with `LogTag`. pound runs in a private mount namespace whose
/// /dev/log is a socket of this test.
#[test]
fn syslog_works_from_the_jail_and_the_supervisor() {
    if !is_root() {
        println!("note: not root, so syslog from a jail cannot be tested");
        return;
    }
    become_subreaper();
    let dir = scratch_dir("syslog");
    let log_path = dir.join("log.sock");
    let log = std::os::unix::net::UnixDatagram::bind(&log_path).expect("bind the log socket");
    log.set_read_timeout(Some(std::time::Duration::from_millis(50)))
        .expect("timeout");
    let probe = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(private_dev(&log_path))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        println!("note: no private mount namespace here, so syslog cannot be tested");
        return;
    }
    let jail = scratch_dir("jail");
    let backend = Backend::named("logged");
    let (listen, addr) = handoff(&dir);
    let cfg = dir.join("pound.cfg");
    std::fs::write(
        &cfg,
        config(
            &format!(
                "RootJail \"{}\"\nLogFacility local3\nLogTag \"edge\"",
                jail.display()
            ),
            &listen,
            &backend,
        ),
    )
    .expect("write config");
    let pid_file = dir.join("pound.pid");
    // The guard of this test: nothing to run, only the clean-up.
    let d = Daemon {
        dir: dir.clone(),
        cfg: cfg.clone(),
        pid_file: pid_file.clone(),
        addr,
        code: None,
        stderr: String::new(),
    };
    let status = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "{} && exec '{}' -W no-include-dir -f '{}' -p '{}'",
            private_dev(&log_path),
            env!("CARGO_BIN_EXE_pound"),
            cfg.display(),
            pid_file.display()
        ))
        .stdin(Stdio::null())
        .status()
        .expect("run unshare");
    assert!(status.success(), "pound did not start: {status}");

    let mut lines: Vec<String> = Vec::new();
    let mut wait_for = |needle: &str| -> String {
        let start = Instant::now();
        loop {
            if let Some(l) = lines.iter().find(|l| l.contains(needle)) {
                return l.clone();
            }
            assert!(
                start.elapsed() < PATIENCE,
                "no log line with {needle:?} in {lines:?}"
            );
            let mut buf = [0u8; 4096];
            if let Ok(n) = log.recv(&mut buf) {
                lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
    };

    let supervisor = d.pid();
    // local3 (19) * 8 + notice (5).
    let started = wait_for("starting...");
    assert!(
        started.starts_with("<157>") && started.contains(&format!(" edge[{supervisor}]: ")),
        "{started}"
    );
    let worker = d.worker(supervisor);
    assert_eq!(d.get(), "logged");
    wait_for(&format!("edge[{worker}]: 127.0.0.1 GET / HTTP/1.1"));

    signal(worker, libc::SIGKILL);
    wait_for(&format!("edge[{supervisor}]: child terminated on signal 9"));
    let next = poll("a new worker", || {
        children(supervisor).into_iter().find(|&p| p != worker)
    });
    assert_eq!(d.get(), "logged");
    wait_for(&format!("edge[{next}]: 127.0.0.1 GET / HTTP/1.1"));

    signal(supervisor, libc::SIGTERM);
    wait_for(&format!("edge[{supervisor}]: got signal 15"));
    wait_for(&format!("edge[{next}]: shutting down..."));
    assert_eq!(exit_status(supervisor), 0);
    d.pid_file_removed();
}

/// An open directory outside the jail would be a way out of it (`fchdir`).
fn no_directory_outside(pid: i32, jail: &std::path::Path) {
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        let target = std::fs::read_link(fd.unwrap().path()).unwrap_or_default();
        let is_dir = std::fs::metadata(&target).is_ok_and(|m| m.is_dir());
        assert!(!is_dir || target.starts_with(jail), "{}", target.display());
    }
}
