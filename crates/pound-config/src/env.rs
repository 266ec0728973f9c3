//! Everything the parser needs from the outside world, behind one trait.
//!
//! Parsing reads included files, `-file` pattern lists and error pages, and looks up service
//! names for `Port`. Keeping those behind [`Environment`] makes the parser pure: unit tests and
//! fuzz targets feed it an in-memory file system, the `pound` binary the real one.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

/// What the parser may ask of the system.
pub trait Environment {
    /// Reads a whole file.
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Looks up a TCP service name (as `getservbyname(3)` would, from `/etc/services`).
    fn service_port(&self, name: &str) -> Option<u16>;
    /// What kind of file `path` names (as `stat(2)` would).
    fn stat(&self, path: &Path) -> io::Result<FileKind> {
        self.read_file(path).map(|_| FileKind::File)
    }
    /// The working directory, which pound joins to relative names in its messages when
    /// there is no include directory; `None` leaves them as written.
    fn current_dir(&self) -> Option<PathBuf> {
        None
    }
    /// The names in a directory (for `Include` with wildcards).
    fn list_dir(&self, _dir: &Path) -> io::Result<Vec<std::ffi::OsString>> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// The kind of a file system entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Directory,
    Other,
}

/// The real system: files from disk, service names from `/etc/services`.
#[derive(Debug, Default)]
pub struct System {
    services: std::sync::OnceLock<HashMap<String, u16>>,
}

impl Environment for System {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn current_dir(&self) -> Option<PathBuf> {
        std::env::current_dir().ok()
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<std::ffi::OsString>> {
        crate::glob::list(dir)
    }

    fn stat(&self, path: &Path) -> io::Result<FileKind> {
        let m = std::fs::metadata(path)?;
        Ok(if m.is_file() {
            FileKind::File
        } else if m.is_dir() {
            FileKind::Directory
        } else {
            FileKind::Other
        })
    }

    fn service_port(&self, name: &str) -> Option<u16> {
        self.services
            .get_or_init(|| {
                std::fs::read_to_string("/etc/services")
                    .map(|text| parse_services(&text))
                    .unwrap_or_default()
            })
            .get(name)
            .copied()
    }
}

/// Parses the `/etc/services` format: `name port/proto [aliases...] [# comment]`; TCP only.
pub fn parse_services(text: &str) -> HashMap<String, u16> {
    let mut map = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let (Some(name), Some(port_proto)) = (words.next(), words.next()) else {
            continue;
        };
        let Some((port, "tcp")) = port_proto.split_once('/') else {
            continue;
        };
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        for n in std::iter::once(name).chain(words) {
            map.entry(n.to_string()).or_insert(port);
        }
    }
    map
}

/// An in-memory file system for tests and fuzzing.
#[derive(Debug, Default, Clone)]
pub struct MemoryFs {
    files: HashMap<PathBuf, Vec<u8>>,
    services: HashMap<String, u16>,
}

impl MemoryFs {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_file(mut self, path: impl Into<PathBuf>, text: impl Into<Vec<u8>>) -> Self {
        self.files.insert(path.into(), text.into());
        self
    }

    pub fn with_service(mut self, name: &str, port: u16) -> Self {
        self.services.insert(name.to_string(), port);
        self
    }
}

impl Environment for MemoryFs {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }

    fn service_port(&self, name: &str) -> Option<u16> {
        self.services.get(name).copied()
    }

    /// The files and directories right under `dir`.
    fn list_dir(&self, dir: &Path) -> io::Result<Vec<std::ffi::OsString>> {
        let mut names: Vec<std::ffi::OsString> = self
            .files
            .keys()
            .filter_map(|f| f.strip_prefix(dir).ok()?.components().next())
            .map(|c| c.as_os_str().to_os_string())
            .collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        Ok(names)
    }

    /// Files are the ones added; a directory is any proper prefix of their paths.
    fn stat(&self, path: &Path) -> io::Result<FileKind> {
        if self.files.contains_key(path) {
            Ok(FileKind::File)
        } else if self.files.keys().any(|f| f.starts_with(path)) {
            Ok(FileKind::Directory)
        } else {
            Err(io::Error::from(io::ErrorKind::NotFound))
        }
    }
}

/// Describes an I/O error the way `strerror(3)` does, without Rust's " (os error N)" suffix,
/// so messages read like pound's: `can't open foo: No such file or directory`.
pub fn describe_io_error(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => match e.kind() {
            io::ErrorKind::NotFound => "No such file or directory".to_string(),
            io::ErrorKind::PermissionDenied => "Permission denied".to_string(),
            _ => text,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_file() {
        let map = parse_services(
            "# comment\nhttp\t80/tcp\twww # WorldWideWeb\nhttp 80/udp\nhttps 443/tcp\nbad x/tcp\n",
        );
        assert_eq!(map.get("http"), Some(&80));
        assert_eq!(map.get("www"), Some(&80));
        assert_eq!(map.get("https"), Some(&443));
        assert_eq!(map.get("bad"), None);
    }

    #[test]
    fn io_errors_read_like_strerror() {
        let e = std::fs::read("/nonexistent/file").unwrap_err();
        assert_eq!(describe_io_error(&e), "No such file or directory");
    }
}
