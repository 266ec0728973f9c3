//! `User`, `Group` and `RootJail`: the identity pound switches to and the directory it
//! chroots to once everything it needs from the file system is open.
//!
//! Names are resolved when pound starts, before it detaches, so an unknown name is an error on
//! the terminal, and nothing needs the user and group databases afterwards (a jail needs no
//! `/etc/passwd`). The switch itself happens in the process that serves (the worker, when a
//! supervisor runs): chroot first, then supplementary groups, group and user, in that order.

use std::ffi::{CStr, CString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use pound_config::diag::Span;
use pound_config::env::describe_io_error;
use pound_config::Config;

/// The user and group of the `User` and `Group` statements, resolved to numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `User`: its name and UID.
    user: Option<(CString, libc::uid_t)>,
    /// The GID to run as: `Group`'s, or the primary group of `User` when `Group` is absent.
    gid: Option<libc::gid_t>,
    /// The supplementary groups to run with: `User`'s groups, or just the GID.
    groups: Vec<libc::gid_t>,
}

/// The location of the last `keyword` statement, for messages.
fn location(config: &Config, keyword: &str) -> Option<Span> {
    config
        .statements
        .iter()
        .rev()
        .find(|s| s.keyword == keyword)
        .map(|s| s.span.clone())
}

/// `"FILE:L.C-C: message"`, or the message alone when the location is unknown.
fn at(span: Option<Span>, message: String) -> String {
    match span {
        Some(s) => format!("{s}: {message}"),
        None => message,
    }
}

impl Identity {
    /// Looks up the names of `User` and `Group`. The error is the message to print.
    pub fn resolve(config: &Config) -> Result<Identity, String> {
        let global = &config.global;
        let mut id = Identity::default();
        let mut primary = None;
        if let Some(name) = &global.user {
            let c = CString::new(name.as_bytes()).map_err(|_| format!("no such user {name}"))?;
            match lookup_user(&c) {
                Ok(Some((uid, gid))) => {
                    id.user = Some((c, uid));
                    primary = Some(gid);
                }
                Ok(None) => return Err(format!("no such user {name}")),
                Err(e) => {
                    return Err(at(
                        location(config, "User"),
                        format!("can't look up user {name}: {}", describe_io_error(&e)),
                    ))
                }
            }
        }
        if let Some(name) = &global.group {
            let c = CString::new(name.as_bytes()).map_err(|_| format!("no such group {name}"))?;
            match lookup_group(&c) {
                Ok(Some(gid)) => id.gid = Some(gid),
                Ok(None) => return Err(format!("no such group {name}")),
                Err(e) => {
                    return Err(at(
                        location(config, "Group"),
                        format!("can't look up group {name}: {}", describe_io_error(&e)),
                    ))
                }
            }
        }
        id.gid = id.gid.or(primary);
        if let Some(gid) = id.gid {
            id.groups = match &id.user {
                Some((name, _)) => group_list(name, gid),
                None => vec![gid],
            };
        }
        Ok(id)
    }

    /// Whether `User` or `Group` asks for a switch.
    pub fn is_set(&self) -> bool {
        self.user.is_some() || self.gid.is_some()
    }

    /// The UID pound will run as, if `User` is set.
    pub fn uid(&self) -> Option<libc::uid_t> {
        self.user.as_ref().map(|u| u.1)
    }

    /// The GID pound will run as: `Group`'s, else the primary group of `User`.
    pub fn gid(&self) -> Option<libc::gid_t> {
        self.gid
    }

    /// Hands `path` to the identity (`ChangeOwner`): the UID and GID that are set; the owner
    /// or group that is not set stays as it is. Must run before [`Identity::switch`].
    pub fn chown(&self, path: &Path) -> io::Result<()> {
        if !self.is_set() {
            return Ok(());
        }
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // -1 leaves the owner or group unchanged.
        let uid = self.uid().unwrap_or(libc::uid_t::MAX);
        let gid = self.gid().unwrap_or(libc::gid_t::MAX);
        // Never through a symbolic link: the path may be in a directory others can write.
        // SAFETY: a valid NUL-terminated path.
        if unsafe { libc::lchown(c.as_ptr(), uid, gid) } == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Switches to the identity for good: supplementary groups, GID, then UID, and checks that
    /// the switch took (real, effective and saved IDs, and no way back to root). The error is
    /// the message to log.
    pub fn switch(&self) -> Result<(), String> {
        let fail =
            |what: &str| format!("{what}: {}", describe_io_error(&io::Error::last_os_error()));
        if let Some(gid) = self.gid {
            // Only root may set the groups; anyone else keeps theirs (and setgid below fails
            // unless it changes nothing).
            // SAFETY: plain system calls on values and a valid slice.
            unsafe {
                if libc::geteuid() == 0
                    && libc::setgroups(self.groups.len(), self.groups.as_ptr()) == -1
                {
                    return Err(fail("setgroups"));
                }
                if libc::setgid(gid) == -1 {
                    return Err(fail("setgid"));
                }
            }
        }
        if let Some(uid) = self.uid() {
            // SAFETY: a plain system call.
            if unsafe { libc::setuid(uid) } == -1 {
                return Err(fail("setuid"));
            }
        }
        self.verify()
    }

    fn verify(&self) -> Result<(), String> {
        let (mut r, mut e, mut s) = (0, 0, 0);
        if let Some(gid) = self.gid {
            // SAFETY: three valid pointers.
            unsafe { libc::getresgid(&mut r, &mut e, &mut s) };
            if (r, e, s) != (gid, gid, gid) {
                return Err(format!(
                    "setgid: group IDs are {r}, {e}, {s} instead of {gid}"
                ));
            }
        }
        if let Some(uid) = self.uid() {
            // SAFETY: three valid pointers.
            unsafe { libc::getresuid(&mut r, &mut e, &mut s) };
            if (r, e, s) != (uid, uid, uid) {
                return Err(format!(
                    "setuid: user IDs are {r}, {e}, {s} instead of {uid}"
                ));
            }
            // SAFETY: a plain system call; it must fail.
            if uid != 0 && unsafe { libc::setuid(0) } == 0 {
                return Err("setuid: root privileges can still be regained".to_string());
            }
        }
        Ok(())
    }
}

/// The UID and primary GID of user `name`; `None` when there is no such user.
fn lookup_user(name: &CStr) -> io::Result<Option<(libc::uid_t, libc::gid_t)>> {
    let mut size = 1024;
    loop {
        let mut buf = vec![0u8; size];
        // SAFETY: passwd is plain data that getpwnam_r fills in.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: valid pointers; the buffer's length is passed with it.
        let rc = unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                &mut pw,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut found,
            )
        };
        match rc {
            0 if found.is_null() => return Ok(None),
            0 => return Ok(Some((pw.pw_uid, pw.pw_gid))),
            libc::ERANGE if size < 1 << 20 => size *= 4,
            // "Not found" as some NSS modules report it.
            libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM => return Ok(None),
            e => return Err(io::Error::from_raw_os_error(e)),
        }
    }
}

/// The GID of group `name`; `None` when there is no such group.
fn lookup_group(name: &CStr) -> io::Result<Option<libc::gid_t>> {
    let mut size = 1024;
    loop {
        let mut buf = vec![0u8; size];
        // SAFETY: group is plain data that getgrnam_r fills in.
        let mut gr: libc::group = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::group = std::ptr::null_mut();
        // SAFETY: valid pointers; the buffer's length is passed with it.
        let rc = unsafe {
            libc::getgrnam_r(
                name.as_ptr(),
                &mut gr,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut found,
            )
        };
        match rc {
            0 if found.is_null() => return Ok(None),
            0 => return Ok(Some(gr.gr_gid)),
            libc::ERANGE if size < 1 << 20 => size *= 4,
            libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM => return Ok(None),
            e => return Err(io::Error::from_raw_os_error(e)),
        }
    }
}

/// The groups of user `name` (as initgroups(3) would set them), with `gid` among them.
fn group_list(name: &CStr, gid: libc::gid_t) -> Vec<libc::gid_t> {
    let mut n: libc::c_int = 32;
    loop {
        let mut groups = vec![0 as libc::gid_t; n as usize];
        let mut got = n;
        // SAFETY: `groups` has room for `got` entries.
        let rc = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut got) };
        if rc >= 0 {
            groups.truncate(got.max(0) as usize);
            if !groups.contains(&gid) {
                groups.insert(0, gid);
            }
            return groups;
        }
        // Too small: `got` is the size needed (glibc), else grow.
        n = if got > n { got } else { n * 2 };
        if n > 1 << 16 {
            return vec![gid];
        }
    }
}

/// `RootJail`: the directory and where it was set.
#[derive(Debug, Clone)]
pub struct Jail {
    dir: PathBuf,
    span: Option<Span>,
}

impl Jail {
    pub fn new(config: &Config) -> Option<Jail> {
        config.global.root_jail.as_ref().map(|dir| Jail {
            dir: dir.clone(),
            span: location(config, "RootJail"),
        })
    }

    /// Chroots to the directory and changes to its root. The error is the message to log.
    pub fn enter(&self) -> Result<(), String> {
        extern "C" {
            fn tzset();
        }
        // The local time zone is read once; inside the jail /etc/localtime may be missing.
        // SAFETY: tzset takes no arguments and the process has no other thread here, or
        // none that reads the time zone.
        unsafe { tzset() };
        let fail = |what: String| {
            at(
                self.span.clone(),
                format!("{what}: {}", describe_io_error(&io::Error::last_os_error())),
            )
        };
        let c = CString::new(self.dir.as_os_str().as_bytes()).map_err(|_| {
            at(
                self.span.clone(),
                format!("chroot {}: invalid file name", self.dir.display()),
            )
        })?;
        // SAFETY: valid NUL-terminated paths.
        unsafe {
            if libc::chroot(c.as_ptr()) == -1 {
                return Err(fail(format!("chroot {}", self.dir.display())));
            }
            if libc::chdir(c"/".as_ptr()) == -1 {
                return Err(fail("chdir /".to_string()));
            }
        }
        Ok(())
    }
}
