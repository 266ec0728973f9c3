//! Keeping `-filewatch` files current while pound runs (pound 4.17 and later: ACLs,
//! `TrustedIP`, pattern files of the matching directives, constants, and `BasicAuth` files,
//! which are watched unless `-file` says otherwise).
//!
//! One thread watches them all, off the runtime: requests never wait for a file, they keep
//! using the value they loaded (see `pound_config::model::Live`). The thread learns of
//! changes from inotify (through the `notify` crate), watching each file's directory so that
//! a file replaced by a rename, created late, or removed is seen too; it reacts to a file
//! closed after writing, created, moved into place or removed, not to each write, so a file
//! is never read half-written by an editor that truncates and then writes. Without inotify
//! (or on top of it, as a safety net) it compares each file's status every `WatcherTTL`
//! seconds.
//!
//! Directories are opened before the worker enters its `RootJail`, and files are read
//! relative to them, so watching goes on inside the jail.

use std::collections::HashMap;
use std::ffi::{CString, OsString};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher as _};
use pound_config::model::watch::Watched;

use crate::auth::Htpasswd;
use crate::logmsg;

/// The largest file read; a bigger one is refused (and the last good contents stay).
const MAX_FILE: u64 = 64 << 20;

/// What identifies one version of a file: `None` when it does not exist.
type Stamp = Option<(u64, u64, i64, i64, i64, i64)>;

struct Entry {
    /// The directory's index in `Prepared::dirs`.
    dir: usize,
    name: CString,
    path: PathBuf,
    feeds: Feeds,
    stamp: Stamp,
}

/// What a file's contents go to.
enum Feeds {
    Config(Watched),
    Htpasswd(Arc<Htpasswd>),
}

/// The watcher, ready to run: directories opened and inotify watches set, before the jail.
pub struct Prepared {
    dirs: Vec<(PathBuf, Option<OwnedFd>)>,
    entries: Vec<Entry>,
    ttl: Duration,
    events: Option<(
        notify::RecommendedWatcher,
        mpsc::Receiver<notify::Result<notify::Event>>,
    )>,
}

impl Prepared {
    /// Prepares watching `files` and the `htpasswd` files, polling every `ttl` seconds.
    /// `None` when there is nothing to watch.
    pub fn new(files: &[Watched], htpasswd: &[Arc<Htpasswd>], ttl: u32) -> Option<Prepared> {
        if files.is_empty() && htpasswd.is_empty() {
            return None;
        }
        let mut dirs: Vec<(PathBuf, Option<OwnedFd>)> = Vec::new();
        let mut index: HashMap<PathBuf, usize> = HashMap::new();
        let mut entries = Vec::new();
        let all = files
            .iter()
            .map(|w| (w.path.clone(), Feeds::Config(w.clone())))
            .chain(
                htpasswd
                    .iter()
                    .map(|h| (h.path().to_path_buf(), Feeds::Htpasswd(h.clone()))),
            );
        for (path, feeds) in all {
            let (dir, name) = split(&path);
            let Ok(name) = CString::new(name.as_bytes()) else {
                continue;
            };
            let d = *index.entry(dir.clone()).or_insert_with(|| {
                dirs.push((dir.clone(), open_dir(&dir)));
                dirs.len() - 1
            });
            let stamp = dirs[d].1.as_ref().and_then(|fd| stat_at(fd, &name));
            if let (Feeds::Htpasswd(h), Some(_)) = (&feeds, &dirs[d].1) {
                h.watched_by_thread();
            }
            entries.push(Entry {
                dir: d,
                name,
                path,
                feeds,
                stamp,
            });
        }
        let events = inotify(&dirs);
        Some(Prepared {
            dirs,
            entries,
            ttl: Duration::from_secs(ttl.max(1).into()),
            events,
        })
    }

    /// Starts the watching thread (after the jail and the change of user).
    pub fn start(self) {
        let spawned = std::thread::Builder::new()
            .name("pound-watch".into())
            .spawn(move || self.run());
        if let Err(e) = spawned {
            logmsg!(Err, "can't start the file watcher: {e}");
        }
    }

    fn run(mut self) {
        // The watcher stops when dropped: it lives as long as this thread.
        let (_watcher, rx) = match self.events.take() {
            Some((w, rx)) => (Some(w), Some(rx)),
            None => (None, None),
        };
        let mut last_poll = std::time::Instant::now();
        loop {
            let wait = self.ttl.saturating_sub(last_poll.elapsed());
            match rx.as_ref().map(|rx| rx.recv_timeout(wait)) {
                Some(Ok(Ok(event))) if wanted(&event.kind) => {
                    // Only the files named: another one in the same directory may be
                    // half-written right now.
                    let named: Vec<usize> = event
                        .paths
                        .iter()
                        .flat_map(|p| self.entries_of(p))
                        .collect();
                    self.check(|i| named.contains(&i));
                }
                Some(Ok(Ok(_))) => {}
                Some(Ok(Err(e))) => logmsg!(Warning, "file watcher: {e}"),
                Some(Err(mpsc::RecvTimeoutError::Timeout)) => {}
                // No events (any more): poll.
                Some(Err(mpsc::RecvTimeoutError::Disconnected)) | None => std::thread::sleep(wait),
            }
            // Every `WatcherTTL`, whatever the events, every file is looked at: a safety
            // net for directories inotify could not watch and for missed events.
            if last_poll.elapsed() >= self.ttl {
                self.check(|_| true);
                last_poll = std::time::Instant::now();
            }
        }
    }

    /// The entries (indexes) for the file at `path`.
    fn entries_of<'a>(&'a self, path: &'a Path) -> impl Iterator<Item = usize> + 'a {
        let (dir, name) = split(path);
        self.entries.iter().enumerate().filter_map(move |(i, e)| {
            (self.dirs[e.dir].0 == dir && e.name.as_bytes() == name.as_bytes()).then_some(i)
        })
    }

    /// Reads again every file (of the entries `which` selects) whose status changed.
    fn check(&mut self, which: impl Fn(usize) -> bool) {
        for (_, e) in self
            .entries
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| which(*i))
        {
            let Some(fd) = self.dirs[e.dir].1.as_ref() else {
                continue;
            };
            let stamp = stat_at(fd, &e.name);
            if stamp == e.stamp {
                continue;
            }
            e.stamp = stamp;
            let path = e.path.display();
            if stamp.is_none() {
                logmsg!(
                    Warning,
                    "{path}: file removed; the last contents stay in use"
                );
                continue;
            }
            let contents = match read_at(fd, &e.name) {
                Ok(c) => c,
                Err(err) => {
                    logmsg!(Warning, "{path}: {err}; the last contents stay in use");
                    continue;
                }
            };
            let result = match &e.feeds {
                Feeds::Config(w) => w.reload(contents),
                Feeds::Htpasswd(h) => {
                    h.install(&contents);
                    Ok(Vec::new())
                }
            };
            match result {
                Ok(notes) => {
                    for n in notes {
                        logmsg!(Warning, "{n}");
                    }
                    logmsg!(Notice, "{path}: reloaded");
                }
                Err(why) => {
                    for w in why {
                        logmsg!(Warning, "{w}");
                    }
                }
            }
        }
    }
}

/// The events after which a file is complete: closed after writing, created, moved in or
/// out, removed. Plain writes are not: the file is read when the writer closes it.
fn wanted(kind: &EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode, ModifyKind};
    matches!(
        kind,
        EventKind::Access(AccessKind::Close(AccessMode::Write))
            | EventKind::Create(_)
            | EventKind::Remove(_)
            | EventKind::Modify(ModifyKind::Name(_))
            | EventKind::Any
            | EventKind::Other
    )
}

/// A file's directory (the current one for a bare name) and its name.
fn split(path: &Path) -> (PathBuf, OsString) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    (dir, name)
}

fn open_dir(dir: &Path) -> Option<OwnedFd> {
    let c = CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: a valid C string; the descriptor returned is owned here.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        logmsg!(
            Warning,
            "{}: {}; files in it are not watched",
            dir.display(),
            std::io::Error::last_os_error()
        );
        return None;
    }
    // SAFETY: `fd` was just opened and is owned by nothing else.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn inotify(
    dirs: &[(PathBuf, Option<OwnedFd>)],
) -> Option<(
    notify::RecommendedWatcher,
    mpsc::Receiver<notify::Result<notify::Event>>,
)> {
    let (tx, rx) = mpsc::channel();
    let mut watcher = match notify::recommended_watcher(tx) {
        Ok(w) => w,
        Err(e) => {
            logmsg!(Warning, "file watcher: {e}; polling instead");
            return None;
        }
    };
    for (dir, fd) in dirs {
        if fd.is_some() {
            if let Err(e) = watcher.watch(dir, RecursiveMode::NonRecursive) {
                logmsg!(Warning, "{}: {e}; polling instead", dir.display());
            }
        }
    }
    Some((watcher, rx))
}

fn stat_at(dir: &OwnedFd, name: &CString) -> Stamp {
    // SAFETY: `st` is written by fstatat before it is read; the pointers are valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), &mut st, 0) };
    (r == 0).then_some((
        st.st_dev,
        st.st_ino,
        st.st_size,
        st.st_mtime,
        st.st_mtime_nsec,
        st.st_ctime_nsec,
    ))
}

fn read_at(dir: &OwnedFd, name: &CString) -> std::io::Result<Vec<u8>> {
    // SAFETY: valid descriptor and C string; the descriptor returned is owned here.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: just opened, owned by nothing else.
    let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let mut contents = Vec::new();
    file.take(MAX_FILE + 1).read_to_end(&mut contents)?;
    if contents.len() as u64 > MAX_FILE {
        return Err(std::io::Error::other(format!(
            "file larger than {} MiB",
            MAX_FILE >> 20
        )));
    }
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pound_config::model::watch::WatchedKind;
    use pound_config::model::Live;

    /// The look every `WatcherTTL` (all there is without inotify) finds a changed file by
    /// its status and reads it; a file that did not change is not read again.
    #[test]
    fn polling_finds_changed_files() {
        let dir = std::env::temp_dir().join(format!("pound-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("value");
        std::fs::write(&path, "one").unwrap();
        let value = Live::new(b"one".to_vec());
        let files = [Watched {
            path: path.clone(),
            kind: WatchedKind::Constant {
                value: value.clone(),
                trim: false,
            },
        }];
        let mut w = Prepared::new(&files, &[], 60).expect("something to watch");
        // Without the notifications, as on a system that has none.
        w.events = None;
        w.check(|_| true);
        assert_eq!(**value.load(), b"one");
        // Changed behind its back (same size: the time and inode tell).
        value.store(b"stale".to_vec());
        w.check(|_| true);
        assert_eq!(
            **value.load(),
            b"stale",
            "an unchanged file is not read again"
        );
        let tmp = dir.join("value.new");
        std::fs::write(&tmp, "two").unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        w.check(|_| true);
        assert_eq!(**value.load(), b"two");
        // Gone: the last contents stay.
        std::fs::remove_file(&path).unwrap();
        w.check(|_| true);
        assert_eq!(**value.load(), b"two");
        std::fs::write(&path, "three").unwrap();
        w.check(|_| true);
        assert_eq!(**value.load(), b"three");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
