//! `BasicAuth "file"` (pound.8, BASIC AUTHENTICATION): htpasswd files, kept in memory and
//! read again when they change (unless `BasicAuth -file`, pound 4.17).
//!
//! The request path never touches the disk: a check looks at the table in memory. The file
//! watcher (`watch.rs`) installs new contents; a file it cannot watch is looked at instead,
//! at most once a second, by a blocking-pool thread that `stat`s it and reloads it if its
//! modification time changed.
//! Hashes such as `$6$` or bcrypt cost milliseconds of CPU, so successful checks are
//! remembered (as a keyed digest of the password, never the password) until the file changes.

pub mod hash;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use sha1::{Digest, Sha1};

use crate::logmsg;

/// Remembered successful checks per file; the memo is emptied when full.
const MEMO_LIMIT: usize = 4096;

/// One htpasswd file.
pub struct Htpasswd {
    path: PathBuf,
    table: RwLock<Arc<Table>>,
    /// When the file was last looked at, in seconds since the epoch.
    checked: AtomicU64,
    reloading: AtomicBool,
    key: [u8; 16],
}

/// The users of one version of the file, and the checks that passed against it.
#[derive(Default)]
struct Table {
    modified: Option<SystemTime>,
    users: HashMap<Vec<u8>, String>,
    /// Keyed digests of user and password that verified against this table; a new version
    /// of the file starts with none, so a changed password stops working at once.
    memo: Mutex<HashMap<[u8; 20], ()>>,
}

impl Htpasswd {
    /// Reads `path` now (at start-up). A file that cannot be read yet is logged and treated
    /// as empty: nobody passes until it appears. Unless `watch`, it is never read again
    /// (`BasicAuth -file`).
    pub fn open(path: &Path, watch: bool) -> Arc<Htpasswd> {
        let table = read_table(path).unwrap_or_else(|e| {
            logmsg!(Warning, "{}: {e}", path.display());
            Table::default()
        });
        let mut key = [0u8; 16];
        fastrand::fill(&mut key);
        Arc::new(Htpasswd {
            path: path.to_path_buf(),
            table: RwLock::new(Arc::new(table)),
            checked: AtomicU64::new(now()),
            // A file that is not watched is never looked at again.
            reloading: AtomicBool::new(!watch),
            key,
        })
    }

    /// Whether `user` and `password` are in the file.
    pub fn check(self: &Arc<Self>, user: &[u8], password: &[u8]) -> bool {
        self.maybe_reload();
        let table = match self.table.read() {
            Ok(t) => t.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let Some(stored) = table.users.get(user) else {
            return false;
        };
        let mut d = Sha1::new();
        d.update(self.key);
        d.update((user.len() as u64).to_le_bytes());
        d.update(user);
        d.update(password);
        let memo_key: [u8; 20] = d.finalize().into();
        if let Ok(m) = table.memo.lock() {
            if m.contains_key(&memo_key) {
                return true;
            }
        }
        let ok = verify_off_runtime(password, stored);
        if ok {
            if let Ok(mut m) = table.memo.lock() {
                if m.len() >= MEMO_LIMIT {
                    m.clear();
                }
                m.insert(memo_key, ());
            }
        }
        ok
    }

    /// The path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Hands the file over to the file watcher (`watch.rs`): from now on it reads the file
    /// and installs its contents, and requests no longer look at it.
    pub fn watched_by_thread(&self) {
        self.reloading.store(true, Ordering::Release);
    }

    /// Installs new contents of the file (from the file watcher).
    pub fn install(&self, contents: &[u8]) {
        let table = Table {
            modified: None,
            users: parse(contents),
            memo: Mutex::default(),
        };
        if let Ok(mut t) = self.table.write() {
            *t = Arc::new(table);
        }
    }

    /// Starts a background `stat` (and reload) if the file was not looked at this second.
    fn maybe_reload(self: &Arc<Self>) {
        let now = now();
        if self.checked.swap(now, Ordering::Relaxed) == now {
            return;
        }
        if self.reloading.swap(true, Ordering::Acquire) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            self.reload();
            return;
        };
        let me = self.clone();
        rt.spawn_blocking(move || me.reload());
    }

    /// Reads the file again if its modification time changed.
    fn reload(&self) {
        let known = match self.table.read() {
            Ok(t) => t.modified,
            Err(p) => p.into_inner().modified,
        };
        let modified = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        if modified != known {
            // A file that cannot be read (gone, unreadable, or outside a `RootJail`) keeps
            // the users last read, with a warning once: a passing problem must not lock
            // everyone out. Emptying the file is how access is revoked.
            let table = read_table(&self.path).unwrap_or_else(|e| {
                logmsg!(
                    Warning,
                    "{}: {e}; keeping the users read before",
                    self.path.display()
                );
                let users = match self.table.read() {
                    Ok(t) => t.users.clone(),
                    Err(p) => p.into_inner().users.clone(),
                };
                Table {
                    modified,
                    users,
                    memo: Mutex::default(),
                }
            });
            if let Ok(mut t) = self.table.write() {
                *t = Arc::new(table);
            }
        }
        self.reloading.store(false, Ordering::Release);
    }
}

/// Verifies a password. `$6$` or bcrypt take milliseconds of CPU, so on the multi-threaded
/// runtime the worker hands its other tasks to another thread while it hashes.
fn verify_off_runtime(password: &[u8], stored: &str) -> bool {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| hash::verify(password, stored))
        }
        _ => hash::verify(password, stored),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn read_table(path: &Path) -> std::io::Result<Table> {
    let meta = std::fs::metadata(path)?;
    let text = std::fs::read(path)?;
    Ok(Table {
        modified: meta.modified().ok(),
        users: parse(&text),
        memo: Mutex::default(),
    })
}

/// `user:hash` lines. Blank lines and lines starting with `#` are skipped, as are lines
/// without a colon; the first line for a user wins.
fn parse(text: &[u8]) -> HashMap<Vec<u8>, String> {
    let mut users = HashMap::new();
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = crate::http::trim(line);
        if line.is_empty() || line[0] == b'#' {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (user, hash) = (&line[..colon], &line[colon + 1..]);
        users
            .entry(user.to_vec())
            .or_insert_with(|| String::from_utf8_lossy(hash).into_owned());
    }
    users
}

/// The user name and password of `Authorization: Basic` credentials.
pub fn basic_credentials(value: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let v = crate::http::trim(value);
    if v.len() < 6 || !v[..6].eq_ignore_ascii_case(b"basic ") {
        return None;
    }
    let decoded = crate::base64::decode(crate::http::trim(&v[6..]))?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_format() {
        let users = parse(b"# comment\n\nalice:secret\r\nbob:$1$x$y\nnocolon\nalice:other\n");
        assert_eq!(users.len(), 2);
        assert_eq!(users[&b"alice"[..]], "secret");
        assert_eq!(users[&b"bob"[..]], "$1$x$y");
    }

    #[test]
    fn credentials() {
        // "alice:se:cret"
        let (u, p) = basic_credentials(b"Basic YWxpY2U6c2U6Y3JldA==").unwrap();
        assert_eq!((&u[..], &p[..]), (&b"alice"[..], &b"se:cret"[..]));
        assert!(basic_credentials(b"Bearer abc").is_none());
        assert!(basic_credentials(b"Basic !!!").is_none());
    }

    #[test]
    fn reloads_when_modified() {
        let dir = std::env::temp_dir().join(format!("pound-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("htpasswd");
        std::fs::write(&path, "alice:one\n").unwrap();
        let h = Htpasswd::open(&path, true);
        assert!(h.check(b"alice", b"one"));
        assert!(!h.check(b"alice", b"two"));
        std::fs::write(&path, "alice:two\n").unwrap();
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        h.checked.store(0, Ordering::Relaxed);
        assert!(h.check(b"alice", b"two"));
        assert!(!h.check(b"alice", b"one"));
        // A file that can no longer be read (as after a chroot) keeps the users; an
        // emptied one revokes them.
        std::fs::remove_file(&path).unwrap();
        h.checked.store(0, Ordering::Relaxed);
        assert!(h.check(b"alice", b"two"));
        std::fs::write(&path, "").unwrap();
        h.checked.store(0, Ordering::Relaxed);
        assert!(!h.check(b"alice", b"two"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
