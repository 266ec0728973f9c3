//! Becoming a daemon, reporting how start-up went, and the PID file.
//!
//! The process started from the shell forks; the child becomes the daemon and the parent waits
//! until the daemon reports that it serves (then exits 0) or that it failed (then prints the
//! reason and exits 1). So `pound` returns only once the PID file is written and the listeners
//! are served, which is what init systems expect of a forking daemon, and a start-up error
//! that happens after the detach (a `RootJail` that cannot be entered, say) still reaches the
//! terminal instead of only the log.

use std::ffi::CString;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use pound_config::env::describe_io_error;

use crate::logmsg;

/// The byte that means "started"; anything else written to a start-up pipe is the text of
/// the error that stopped the start.
const READY: u8 = 0;

/// Whoever waits for this process to finish starting: the shell command that detached, the
/// supervisor, both or neither (in the foreground).
#[derive(Debug, Default)]
pub struct Startup {
    pipes: Vec<std::fs::File>,
    /// Also print a failure on standard error (the foreground, when the log is syslog).
    echo: bool,
}

impl Startup {
    /// Nobody waits (the foreground). `echo`: print a failure on standard error too, because
    /// the log does not go there.
    pub fn foreground(echo: bool) -> Startup {
        Startup {
            pipes: Vec::new(),
            echo,
        }
    }

    /// Adds the write end of a start-up pipe.
    pub fn add(&mut self, pipe: OwnedFd) {
        self.pipes.push(std::fs::File::from(pipe));
    }

    /// Reports that the server is up; the waiters stop waiting.
    pub fn ready(&mut self) {
        for mut p in self.pipes.drain(..) {
            let _ = p.write_all(&[READY]);
        }
    }

    /// Logs `message` as the reason the start failed and hands it to the waiters.
    pub fn failed(&mut self, message: &str) {
        logmsg!(Err, "{message}");
        if self.echo {
            eprintln!("pound: {message}");
        }
        for mut p in self.pipes.drain(..) {
            let _ = p.write_all(message.as_bytes());
        }
    }
}

/// A pipe: (read end, write end).
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 returns.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and belong to nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Whether the process that wrote to the read end `pipe` reported [`Startup::ready`]; reads
/// without waiting.
pub fn reported_ready(pipe: &OwnedFd) -> bool {
    let mut b = [0u8; 1];
    // SAFETY: a valid descriptor and a one-byte buffer. The descriptor is polled first so
    // that the read never waits.
    unsafe {
        let mut p = libc::pollfd {
            fd: pipe.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        libc::poll(&mut p, 1, 0) == 1
            && libc::read(pipe.as_raw_fd(), b.as_mut_ptr().cast(), 1) == 1
            && b[0] == READY
    }
}

/// Detaches from the terminal: forks, starts a new session and points the standard streams
/// at /dev/null. The parent waits for the returned [`Startup`] to report, then exits. Must
/// run before any thread is started.
pub fn detach() -> io::Result<Startup> {
    let (read, write) = pipe()?;
    // SAFETY: called while the process has a single thread. The parent only reads the pipe
    // and exits; the child continues with ordinary Rust code.
    unsafe {
        // A hang-up of the terminal between the fork and setsid must not kill the child.
        let old_hup = libc::signal(libc::SIGHUP, libc::SIG_IGN);
        match libc::fork() {
            -1 => {
                libc::signal(libc::SIGHUP, old_hup);
                return Err(io::Error::last_os_error());
            }
            0 => {}
            _ => {
                drop(write);
                libc::_exit(wait_for_daemon(read));
            }
        }
        drop(read);
        let session = libc::setsid();
        let e = io::Error::last_os_error();
        libc::signal(libc::SIGHUP, old_hup);
        if session == -1 {
            return Err(e);
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
            libc::dup2(null, 2);
            if null > 2 {
                libc::close(null);
            }
        }
    }
    let mut startup = Startup::default();
    startup.add(write);
    Ok(startup)
}

/// The parent's side of [`detach`]: the exit status once the daemon reported.
fn wait_for_daemon(read: OwnedFd) -> i32 {
    let mut pipe = std::fs::File::from(read);
    let mut first = [0u8; 1];
    loop {
        match pipe.read(&mut first) {
            Ok(1) if first[0] == READY => return 0,
            Ok(1) => break,
            Ok(_) => {
                eprintln!("pound: the server exited during start-up; see the log");
                return 1;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                eprintln!("pound: waiting for the server to start: {e}");
                return 1;
            }
        }
    }
    let mut text = vec![first[0]];
    let _ = pipe.read_to_end(&mut text);
    let text = String::from_utf8_lossy(&text);
    for line in text.lines() {
        eprintln!("pound: {line}");
    }
    1
}

/// The PID file, written at start-up and removed at exit. The directory is kept open so that
/// the file can be removed after a `RootJail` chroot, where its path means something else.
#[derive(Debug)]
pub struct PidFile {
    dir: OwnedFd,
    name: CString,
    path: PathBuf,
}

impl PidFile {
    /// Writes this process's PID to `path`. A failure is logged and not fatal, as in pound.
    pub fn create(path: &Path) -> Option<PidFile> {
        if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
            logmsg!(
                Notice,
                "Create \"{}\": {}",
                path.display(),
                describe_io_error(&e)
            );
            return None;
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = path.file_name().map(|n| CString::new(n.as_bytes()));
        let opened = CString::new(dir.as_os_str().as_bytes()).ok().and_then(|d| {
            // SAFETY: a valid NUL-terminated path; the descriptor is owned below.
            let fd = unsafe {
                libc::open(
                    d.as_ptr(),
                    libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
                )
            };
            // SAFETY: a descriptor just opened and owned by nobody else.
            (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
        });
        match (opened, name) {
            (Some(dir), Some(Ok(name))) => Some(PidFile {
                dir,
                name,
                path: path.to_path_buf(),
            }),
            _ => {
                logmsg!(
                    Notice,
                    "can't open directory of {}: the file will not be removed at exit",
                    path.display()
                );
                None
            }
        }
    }

    /// The directory handle, for a forked worker to close: an open directory outside a
    /// `RootJail` would let code running in the jail leave it (`fchdir`).
    pub fn dir_fd(&self) -> std::os::fd::RawFd {
        self.dir.as_raw_fd()
    }

    /// Removes the file; a failure (after a switch to a user who may not write to the
    /// directory, for one) is logged.
    pub fn remove(self) {
        // SAFETY: a directory descriptor and a NUL-terminated name.
        if unsafe { libc::unlinkat(self.dir.as_raw_fd(), self.name.as_ptr(), 0) } == -1 {
            let e = io::Error::last_os_error();
            logmsg!(
                Notice,
                "can't remove file {}: {}",
                self.path.display(),
                describe_io_error(&e)
            );
        }
    }
}

/// Closes every descriptor above 2 that pound inherited (pound 4.23; `-W no-close-extra-fds`
/// keeps them): a descriptor left open by whatever started pound would otherwise stay open
/// for the life of the server, and count against its limit.
pub fn close_extra_fds() {
    // SAFETY: closes descriptors this process owns and nothing in it uses yet.
    let r = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    if r == 0 {
        return;
    }
    // Kernels before 5.9: the open descriptors, from /proc.
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<i32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: as above; the listing's own descriptor is already closed, so this at
        // worst fails with EBADF.
        unsafe { libc::close(fd) };
    }
}
