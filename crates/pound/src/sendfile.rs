//! `SendFile DIR` (pound 4.17): files served from a directory, without letting a request
//! reach anything outside it.
//!
//! The request path, as the request rewrites left it, names the file relative to DIR: one
//! leading `/` is dropped, and a path that is then empty, absolute, or has a `..`
//! component is not found (pound 4.23 does the same; there is no percent-decoding, so
//! `%2e%2e` is a file name). The directory is opened once, at start (also in a
//! `RootJail`), and files are opened relative to it with `openat2(RESOLVE_BENEATH)`, so a
//! symbolic link inside DIR that leads out of it is refused by the kernel, at any depth
//! (pound 4.23 follows such links in directories). Where `openat2` is missing, each
//! component is opened without following links. Only regular files are served.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The directory a `SendFile` serves.
#[derive(Debug)]
pub struct SendDir {
    pub path: PathBuf,
    fd: OwnedFd,
}

/// The file name a request path names, relative to the directory; `None` when it names
/// nothing there.
pub fn relative(path: &[u8]) -> Option<&str> {
    let rel = path.strip_prefix(b"/").unwrap_or(path);
    let rel = std::str::from_utf8(rel).ok()?;
    if rel.is_empty() || rel.starts_with('/') || rel.contains('\0') {
        return None;
    }
    if rel.split('/').any(|c| c == "..") {
        return None;
    }
    Some(rel)
}

/// Whether an error means "no such file here" (404) rather than a failure (500).
pub fn not_found(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT | libc::ENOTDIR | libc::EXDEV | libc::EISDIR)
    )
}

impl SendDir {
    pub fn open(path: &Path) -> io::Result<SendDir> {
        let c = CString::new(path.as_os_str().as_bytes())?;
        // SAFETY: a valid C string; the descriptor returned is owned below.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(SendDir {
            path: path.to_path_buf(),
            // SAFETY: just opened, owned by nothing else.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Opens the regular file `rel` (from [`relative`]) beneath the directory; blocking,
    /// so run it off the runtime. Returns the file and its length.
    pub fn open_file(&self, rel: &str) -> io::Result<(File, u64)> {
        let c = CString::new(rel)?;
        let fd = match self.openat2(&c) {
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => self.walk(rel)?,
            other => other?,
        };
        let file = File::from(fd);
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::from_raw_os_error(libc::EISDIR));
        }
        Ok((file, meta.len()))
    }

    fn openat2(&self, name: &CString) -> io::Result<OwnedFd> {
        // SAFETY: `open_how` is plain data, zeroed then filled in.
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = (libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY) as u64;
        how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
        // SAFETY: valid descriptor, C string and structure of the size given.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                self.fd.as_raw_fd(),
                name.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a descriptor just opened, owned by nothing else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }

    /// Without `openat2`: component by component, following no symbolic link.
    fn walk(&self, rel: &str) -> io::Result<OwnedFd> {
        let parts: Vec<&str> = rel
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        let mut dir: Option<OwnedFd> = None;
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let c = CString::new(*part)?;
            let flags = libc::O_NOFOLLOW
                | libc::O_CLOEXEC
                | if last {
                    libc::O_RDONLY | libc::O_NOCTTY
                } else {
                    libc::O_PATH | libc::O_DIRECTORY
                };
            let at = dir.as_ref().unwrap_or(&self.fd).as_raw_fd();
            // SAFETY: valid descriptor and C string.
            let fd = unsafe { libc::openat(at, c.as_ptr(), flags) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: just opened, owned by nothing else.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            if last {
                return Ok(fd);
            }
            dir = Some(fd);
        }
        Err(io::Error::from_raw_os_error(libc::ENOENT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_paths() {
        assert_eq!(relative(b"/a.txt"), Some("a.txt"));
        assert_eq!(relative(b"/a/b.txt"), Some("a/b.txt"));
        assert_eq!(relative(b"a.txt"), Some("a.txt"));
        assert_eq!(relative(b"/..x"), Some("..x"));
        assert_eq!(relative(b"/%2e%2e/x"), Some("%2e%2e/x"));
        for bad in [
            &b"/"[..],
            b"",
            b"/../x",
            b"/a/../b",
            b"/a/..",
            b"//etc/passwd",
            b"..",
            b"/a\0b",
        ] {
            assert_eq!(relative(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn nothing_outside_the_directory() {
        let root = std::env::temp_dir().join(format!("pound-sendfile-{}", std::process::id()));
        let www = root.join("www");
        std::fs::create_dir_all(www.join("sub")).unwrap();
        std::fs::write(www.join("a.txt"), "hello\n").unwrap();
        std::fs::write(www.join("sub/b.txt"), "b").unwrap();
        std::fs::write(root.join("secret"), "secret").unwrap();
        let _ = std::os::unix::fs::symlink(root.join("secret"), www.join("out"));
        let _ = std::os::unix::fs::symlink(&root, www.join("up"));
        let _ = std::os::unix::fs::symlink("sub/b.txt", www.join("in"));
        let d = SendDir::open(&www).unwrap();
        let read = |rel: &str| -> io::Result<String> {
            let (mut f, len) = d.open_file(rel)?;
            let mut s = String::new();
            io::Read::read_to_string(&mut f, &mut s)?;
            assert_eq!(s.len() as u64, len);
            Ok(s)
        };
        assert_eq!(read("a.txt").unwrap(), "hello\n");
        assert_eq!(read("sub/b.txt").unwrap(), "b");
        assert_eq!(read("./sub//b.txt").unwrap(), "b");
        // Links that stay inside may be followed; those that lead out never are.
        for rel in ["out", "up/secret", "up/www/a.txt"] {
            let e = read(rel).unwrap_err();
            assert!(
                not_found(&e) || e.raw_os_error() == Some(libc::ELOOP),
                "{rel}: {e}"
            );
        }
        // The fallback walk follows no link at all.
        assert!(d.walk("out").is_err());
        assert!(d.walk("up/secret").is_err());
        assert!(d.walk("sub/b.txt").is_ok());
        // Directories are not files.
        assert!(not_found(&read("sub").unwrap_err()));
        assert!(not_found(&read("nope").unwrap_err()));
        let _ = std::fs::remove_dir_all(&root);
    }
}
