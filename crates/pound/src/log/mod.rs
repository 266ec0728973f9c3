//! pound's own messages and request log lines: to syslog, or to standard output and error
//! (`-e`, `LogFacility -`) with every line prefixed `pound: `.
//!
//! Lines are handed to a writer thread through a bounded queue, so a slow syslog daemon or a
//! full pipe never stalls proxying; a line is written with one system call, so lines are never
//! torn or interleaved. When the queue is full a line is dropped and counted, and the count is
//! reported once the writer catches up.
//!
//! Before the writer thread exists, [`init_direct`] selects the target and lines are written
//! synchronously by the caller. This is how pound logs during start-up and how the supervisor
//! process logs at all: the supervisor forks workers, so it must never start a thread. The
//! syslog socket is connected by [`init_direct`], before any `RootJail` chroot, and handed to
//! the writer thread by [`init`], so syslog keeps working inside a jail without `/dev/log`.

pub mod format;
pub mod levels;
pub mod origin;
pub mod time;

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Mutex, OnceLock};

/// Syslog severities.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Crit = 2,
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

/// Where lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Informational lines to standard output, the rest to standard error.
    Stdio,
    /// Syslog, with this facility number (already shifted, e.g. `3 << 3` for daemon).
    Syslog(i32),
}

struct Logger {
    queue: SyncSender<(Priority, String)>,
    dropped: AtomicU64,
    /// Lines queued and not yet written, for [`flush`].
    pending: AtomicU64,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

const QUEUE: usize = 16 * 1024;

/// Synchronous logging, before (or instead of) the writer thread.
struct Direct {
    target: Target,
    syslog: SyslogSink,
}

static DIRECT: Mutex<Option<Direct>> = Mutex::new(None);

fn direct() -> std::sync::MutexGuard<'static, Option<Direct>> {
    DIRECT.lock().unwrap_or_else(|p| p.into_inner())
}

/// Selects the target for lines logged before [`init`]: they are then written at once, by the
/// calling thread, in the same format as the writer thread's. For syslog the socket is
/// connected now (a failure is retried at the next line). Starts no thread, so a process that
/// forks (the supervisor) logs only this way. Before this, lines go to standard error.
/// The name syslog lines carry (`LogTag`); `pound` unless set.
static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Sets the syslog tag (`LogTag`), once, before logging starts.
pub fn set_tag(tag: &str) {
    let _ = TAG.set(tag.to_string());
}

pub fn init_direct(target: Target) {
    let mut syslog = SyslogSink::new();
    if matches!(target, Target::Syslog(_)) {
        syslog.socket = SyslogSink::connect();
    }
    *direct() = Some(Direct { target, syslog });
}

/// Starts the writer thread. It takes over the syslog socket that [`init_direct`] connected,
/// if any. Lines logged before this are written synchronously (see [`init_direct`]).
pub fn init(target: Target) {
    let syslog = direct()
        .as_mut()
        .map(|d| std::mem::replace(&mut d.syslog, SyslogSink::new()))
        .unwrap_or_else(SyslogSink::new);
    let (tx, rx) = sync_channel(QUEUE);
    let logger = Logger {
        queue: tx,
        dropped: AtomicU64::new(0),
        pending: AtomicU64::new(0),
    };
    if LOGGER.set(logger).is_ok() {
        let spawned = std::thread::Builder::new()
            .name("log".into())
            .spawn(move || writer(target, rx, syslog));
        if let Err(e) = spawned {
            eprintln!("pound: cannot start the log writer: {e}");
        }
    }
}

/// Logs one line.
pub fn log(pri: Priority, msg: String) {
    let Some(logger) = LOGGER.get() else {
        log_direct(pri, &msg);
        return;
    };
    logger.pending.fetch_add(1, Ordering::AcqRel);
    match logger.queue.try_send((pri, msg)) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
            logger.pending.fetch_sub(1, Ordering::AcqRel);
            logger.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Writes one line at once, as [`init_direct`] selected (standard error before that).
fn log_direct(pri: Priority, msg: &str) {
    let mut guard = direct();
    match guard.as_mut() {
        Some(Direct {
            target: Target::Syslog(facility),
            syslog,
        }) => syslog.send(*facility | pri as i32, msg),
        Some(Direct {
            target: Target::Stdio,
            ..
        }) if pri >= Priority::Info => {
            let _ = std::io::stdout()
                .lock()
                .write_all(format!("pound: {msg}\n").as_bytes());
        }
        _ => {
            let _ = std::io::stderr()
                .lock()
                .write_all(format!("pound: {msg}\n").as_bytes());
        }
    }
}

/// Waits (up to a second) until every line logged so far is written; used before exiting.
pub fn flush() {
    let Some(logger) = LOGGER.get() else {
        return;
    };
    for _ in 0..1000 {
        if logger.pending.load(Ordering::Acquire) == 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

#[macro_export]
macro_rules! logmsg {
    ($pri:ident, $($arg:tt)*) => {
        $crate::log::log($crate::log::Priority::$pri, format!($($arg)*))
    };
}

fn writer(target: Target, rx: Receiver<(Priority, String)>, mut syslog: SyslogSink) {
    let mut out = Vec::with_capacity(64 * 1024);
    let mut err = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        let mut taken = 0;
        // Take whatever else is queued so that a burst costs one write per stream.
        while let Some((pri, msg)) = next {
            taken += 1;
            match target {
                Target::Stdio => {
                    let buf = if pri >= Priority::Info {
                        &mut out
                    } else {
                        &mut err
                    };
                    buf.extend_from_slice(b"pound: ");
                    buf.extend_from_slice(msg.as_bytes());
                    buf.push(b'\n');
                }
                Target::Syslog(facility) => syslog.send(facility | pri as i32, &msg),
            }
            next = if out.len() < 60 * 1024 {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        if let Some(l) = LOGGER.get() {
            let n = l.dropped.swap(0, Ordering::Relaxed);
            if n > 0 {
                let msg = format!("{n} log messages dropped: the log was too slow");
                match target {
                    Target::Stdio => err.extend_from_slice(format!("pound: {msg}\n").as_bytes()),
                    Target::Syslog(f) => syslog.send(f | Priority::Warning as i32, &msg),
                }
            }
        }
        if !out.is_empty() {
            let _ = std::io::stdout().lock().write_all(&out);
            out.clear();
        }
        if !err.is_empty() {
            let _ = std::io::stderr().lock().write_all(&err);
            err.clear();
        }
        if let Some(l) = LOGGER.get() {
            l.pending.fetch_sub(taken, Ordering::AcqRel);
        }
    }
}

/// The local syslog socket, reconnected when a send fails. A reconnection looks up
/// `/dev/log` again, which inside a `RootJail` means the jail's `/dev/log`.
struct SyslogSink {
    socket: Option<UnixDatagram>,
    line: Vec<u8>,
}

impl SyslogSink {
    fn new() -> SyslogSink {
        SyslogSink {
            socket: None,
            line: Vec::new(),
        }
    }

    fn connect() -> Option<UnixDatagram> {
        let s = UnixDatagram::unbound().ok()?;
        s.connect("/dev/log").ok()?;
        Some(s)
    }

    fn send(&mut self, pri: i32, msg: &str) {
        self.line.clear();
        let _ = write!(
            self.line,
            "<{pri}>{} {}[{}]: {msg}",
            time::syslog_stamp(std::time::SystemTime::now()),
            TAG.get().map_or("pound", String::as_str),
            std::process::id()
        );
        for _ in 0..2 {
            if self.socket.is_none() {
                self.socket = Self::connect();
            }
            match &self.socket {
                Some(s) if s.send(&self.line).is_ok() => return,
                _ => self.socket = None,
            }
        }
    }
}

/// The syslog facility number for a `LogFacility` name.
pub fn facility(name: &str) -> i32 {
    let code = match name {
        "kern" => 0,
        "user" => 1,
        "mail" => 2,
        "daemon" => 3,
        "auth" => 4,
        "syslog" => 5,
        "lpr" => 6,
        "news" => 7,
        "uucp" => 8,
        "cron" => 9,
        "authpriv" => 10,
        "ftp" => 11,
        "local0" => 16,
        "local1" => 17,
        "local2" => 18,
        "local3" => 19,
        "local4" => 20,
        "local5" => 21,
        "local6" => 22,
        "local7" => 23,
        _ => 3,
    };
    code << 3
}

/// The prefix of a connection's messages, `(1f) `: its number in hexadecimal, where pound
/// shows a thread id. Formatted only when a message is logged.
#[derive(Clone, Copy)]
pub struct Tag(pub u64);

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({:x}) ", self.0)
    }
}
