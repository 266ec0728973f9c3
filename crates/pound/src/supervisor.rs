//! The supervisor (`Supervisor`, in daemon mode): a process that forks the worker (the
//! process that serves), restarts it when it fails, and stops it when asked.
//!
//! - It never starts a thread or a runtime, so every fork happens in a single-threaded
//!   process, and it logs synchronously ([`crate::log::init_direct`]).
//! - `TERM`, `INT`, `HUP` and `QUIT` are passed on to the worker. The supervisor then waits
//!   for the worker to exit (for `Grace` seconds and one more, after which it kills it) and
//!   exits: 0, or the worker's exit status if it was not 0.
//! - A worker that exits with status 0 ends the supervisor with status 0 (someone stopped the
//!   worker itself); so does one killed by one of the stop signals.
//! - A worker that fails before it reports that it serves (its `RootJail` is gone, say) is
//!   not restarted: such failures repeat. The supervisor exits with the worker's status.
//! - Any other end (a non-zero status, or any other signal: a crash, `kill -9`) is a failure,
//!   and the worker is restarted. A worker that fails within a minute of its start is a quick
//!   failure; the first is restarted at once, each further quick failure in a row waits twice
//!   as long as the one before, from one second up to a minute. A worker that ran for a
//!   minute or more resets the count.

use std::time::{Duration, Instant};

use libc::c_int;
use pound_config::env::describe_io_error;

use crate::daemon::{self, Startup};
use crate::logmsg;

/// The signals that stop pound.
const STOP: [c_int; 4] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT];

/// A worker that runs at least this long before failing is restarted at once.
const STABLE: Duration = Duration::from_secs(60);

/// The longest pause before a restart.
const MAX_PAUSE: Duration = Duration::from_secs(60);

/// Runs the supervisor: forks workers that run `worker` until a stop signal ends the last one.
/// `startup` is the shell command waiting for the first worker to serve. Returns the exit
/// status; `worker` runs only in the children, which exit with its result.
pub fn run(startup: Startup, grace: Duration, mut worker: impl FnMut(Startup) -> i32) -> i32 {
    let mut first = Some(startup);
    let signals = match Signals::block() {
        Ok(s) => s,
        Err(e) => {
            let msg = format!("sigprocmask: {}", describe_io_error(&e));
            if let Some(mut s) = first.take() {
                s.failed(&msg);
            }
            return 1;
        }
    };
    let mut backoff = Backoff::default();
    loop {
        let (read, write) = match daemon::pipe() {
            Ok(p) => p,
            Err(e) => return give_up(&mut first, format!("pipe: {}", describe_io_error(&e))),
        };
        let started = Instant::now();
        // SAFETY: the supervisor has a single thread (it starts none), so the child may go on
        // with ordinary code.
        let pid = unsafe { libc::fork() };
        if pid == -1 {
            let e = std::io::Error::last_os_error();
            return give_up(&mut first, format!("fork: {}", describe_io_error(&e)));
        }
        if pid == 0 {
            signals.restore();
            drop(read);
            let mut startup = first.take().unwrap_or_default();
            startup.add(write);
            std::process::exit(worker(startup));
        }
        drop(write);
        // The worker now holds the only copy: the shell command hears from it alone.
        first = None;

        let (status, stop) = watch(pid, &signals, grace);
        let ready = daemon::reported_ready(&read);
        drop(read);
        status.log();
        if stop.is_some() {
            return match status {
                Status::Exited(code) => code,
                _ => 0,
            };
        }
        match status {
            Status::Exited(0) => return 0,
            Status::Signaled(sig, _) if STOP.contains(&sig) => return 0,
            _ if !ready => {
                logmsg!(Err, "child failed during start-up; not restarting");
                return status.code();
            }
            _ => {}
        }
        let pause = backoff.next(started.elapsed());
        if !pause.is_zero() {
            logmsg!(Notice, "restarting child in {} seconds", pause.as_secs());
            if pause_for(&signals, pause) {
                return 0;
            }
        }
    }
}

/// Reports a failure to fork a worker and returns the exit status.
fn give_up(first: &mut Option<Startup>, message: String) -> i32 {
    match first.take() {
        Some(mut s) => s.failed(&message),
        None => logmsg!(Err, "{message}"),
    }
    1
}

/// How a worker ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Exited(c_int),
    /// The signal, and whether it dumped core.
    Signaled(c_int, bool),
    /// waitpid failed: the worker is gone, nobody knows how.
    Lost,
}

impl Status {
    fn from_wait(status: c_int) -> Status {
        if libc::WIFEXITED(status) {
            Status::Exited(libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            Status::Signaled(libc::WTERMSIG(status), libc::WCOREDUMP(status))
        } else {
            Status::Lost
        }
    }

    /// The supervisor's exit status for a worker that ended this way.
    fn code(self) -> c_int {
        match self {
            Status::Exited(code) => code,
            Status::Signaled(sig, _) => 128 + sig,
            Status::Lost => 1,
        }
    }

    fn log(self) {
        match self {
            Status::Exited(0) | Status::Lost => {}
            Status::Exited(code) => logmsg!(Notice, "child exited with status {code}"),
            Status::Signaled(sig, core) => logmsg!(
                Notice,
                "child terminated on signal {sig}{}",
                if core { " (core dumped)" } else { "" }
            ),
        }
    }
}

/// Waits for worker `pid` to end, passing stop signals on. Returns how it ended and the first
/// stop signal passed on, if any.
fn watch(pid: libc::pid_t, signals: &Signals, grace: Duration) -> (Status, Option<c_int>) {
    let mut stop = None;
    let mut deadline: Option<Instant> = None;
    loop {
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        match signals.wait(timeout) {
            Event::Signal(libc::SIGCHLD) => {
                if let Some(status) = reap(pid) {
                    return (status, stop);
                }
            }
            Event::Signal(sig) => {
                logmsg!(Notice, "got signal {sig}");
                // SAFETY: a plain system call on our own child.
                unsafe { libc::kill(pid, sig) };
                if stop.is_none() {
                    stop = Some(sig);
                    deadline = Some(Instant::now() + grace + Duration::from_secs(1));
                }
            }
            Event::Timeout => {
                logmsg!(
                    Notice,
                    "child did not terminate within {} seconds; killing it",
                    grace.as_secs() + 1
                );
                // SAFETY: a plain system call on our own child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                deadline = None;
            }
        }
    }
}

/// Collects worker `pid` if it has ended.
fn reap(pid: libc::pid_t) -> Option<Status> {
    loop {
        let mut status = 0;
        // SAFETY: a valid pointer.
        match unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } {
            0 => return None,
            -1 => {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                logmsg!(Err, "wait: {}", describe_io_error(&e));
                return Some(Status::Lost);
            }
            _ => return Some(Status::from_wait(status)),
        }
    }
}

/// Waits `pause` before a restart; true when a stop signal came meanwhile.
fn pause_for(signals: &Signals, pause: Duration) -> bool {
    let end = Instant::now() + pause;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        match signals.wait(Some(left)) {
            Event::Signal(libc::SIGCHLD) => {}
            Event::Signal(sig) => {
                logmsg!(Notice, "got signal {sig}");
                return true;
            }
            Event::Timeout => return false,
        }
    }
}

/// The pause before each restart.
#[derive(Debug, Default)]
struct Backoff {
    /// Quick failures in a row, this one included.
    quick: u32,
}

impl Backoff {
    /// The pause before restarting a worker that failed after running for `ran`.
    fn next(&mut self, ran: Duration) -> Duration {
        if ran >= STABLE {
            self.quick = 0;
            return Duration::ZERO;
        }
        self.quick = self.quick.saturating_add(1);
        match self.quick {
            1 => Duration::ZERO,
            n => Duration::from_secs(1u64 << (n - 2).min(16)).min(MAX_PAUSE),
        }
    }
}

enum Event {
    Signal(c_int),
    Timeout,
}

/// The supervisor's signals, blocked and taken with sigtimedwait(2), so that no handler runs.
struct Signals {
    set: libc::sigset_t,
    old_mask: libc::sigset_t,
    old_chld: libc::sigaction,
}

extern "C" fn ignore(_: c_int) {}

impl Signals {
    fn block() -> std::io::Result<Signals> {
        // SAFETY: plain data filled in by the calls below, and valid pointers to it.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in STOP {
                libc::sigaddset(&mut set, s);
            }
            libc::sigaddset(&mut set, libc::SIGCHLD);
            // SIGCHLD is ignored by default, and an ignored signal may be discarded even while
            // blocked; a handler (that never runs) makes sure it stays pending.
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = ignore as extern "C" fn(c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut act.sa_mask);
            act.sa_flags = libc::SA_NOCLDSTOP;
            let mut old_chld: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGCHLD, &act, &mut old_chld) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            let mut old_mask: libc::sigset_t = std::mem::zeroed();
            if libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old_mask) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(Signals {
                set,
                old_mask,
                old_chld,
            })
        }
    }

    /// In a new worker: the signal disposition and mask pound started with.
    fn restore(&self) {
        // SAFETY: pointers to values saved by `block`.
        unsafe {
            libc::sigaction(libc::SIGCHLD, &self.old_chld, std::ptr::null_mut());
            libc::sigprocmask(libc::SIG_SETMASK, &self.old_mask, std::ptr::null_mut());
        }
    }

    /// The next signal, or a timeout.
    fn wait(&self, timeout: Option<Duration>) -> Event {
        loop {
            let ts = timeout.map(|d| libc::timespec {
                tv_sec: d.as_secs().min(i32::MAX as u64) as libc::time_t,
                tv_nsec: d.subsec_nanos() as _,
            });
            let ts_ptr = ts
                .as_ref()
                .map_or(std::ptr::null(), |t| t as *const libc::timespec);
            // SAFETY: a valid signal set and a valid or null timeout.
            let sig = unsafe { libc::sigtimedwait(&self.set, std::ptr::null_mut(), ts_ptr) };
            if sig > 0 {
                return Event::Signal(sig);
            }
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) => return Event::Timeout,
                Some(libc::EINTR) => {}
                _ => {
                    logmsg!(Err, "sigtimedwait: {}", describe_io_error(&e));
                    std::thread::sleep(Duration::from_millis(100));
                    if timeout.is_some() {
                        return Event::Timeout;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_failures_back_off_up_to_a_minute() {
        let mut b = Backoff::default();
        let quick = Duration::from_secs(1);
        let pauses: Vec<u64> = (0..10).map(|_| b.next(quick).as_secs()).collect();
        assert_eq!(pauses, [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
        // A worker that ran long enough starts the count again.
        assert_eq!(b.next(STABLE), Duration::ZERO);
        assert_eq!(b.next(quick), Duration::ZERO);
        assert_eq!(b.next(quick), Duration::from_secs(1));
    }

    #[test]
    fn exit_statuses() {
        assert_eq!(Status::from_wait(3 << 8), Status::Exited(3));
        assert_eq!(Status::from_wait(libc::SIGKILL), Status::Signaled(9, false));
        assert_eq!(Status::Signaled(9, false).code(), 137);
        assert_eq!(Status::Exited(2).code(), 2);
    }
}
