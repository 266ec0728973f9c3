//! Becoming a daemon and the PID file.

use std::io;
use std::path::Path;

/// Detaches from the terminal: forks (the parent exits), starts a new session and points
/// the standard streams at /dev/null. Must run before any thread is started.
pub fn detach() -> io::Result<()> {
    // SAFETY: called while the process has a single thread; the child only continues with
    // ordinary Rust code, the parent exits at once.
    unsafe {
        match libc::fork() {
            -1 => return Err(io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
        if libc::setsid() == -1 {
            return Err(io::Error::last_os_error());
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
    Ok(())
}

/// Writes this process's PID to `path`; a failure is reported and not fatal, as in pound.
pub fn write_pid_file(path: &Path) -> bool {
    match std::fs::write(path, format!("{}\n", std::process::id())) {
        Ok(()) => true,
        Err(e) => {
            crate::logmsg!(Notice, "Create \"{}\": {e}", path.display());
            false
        }
    }
}
