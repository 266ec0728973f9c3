//! `Include` with wildcards (pound 4.18): file names expanded as glob(3) expands them, in
//! sorted order, through the parser's [`Environment`] so that tests need no files.
//!
//! `*` matches any run of characters and `?` any one, `[...]` a set (`!` or `^` negates it,
//! `a-z` is a range), `\` makes the next character ordinary; none of them matches `/`, and a
//! name starting with `.` is matched only by a pattern whose component starts with `.`.
//! Wildcards may stand in any component (`conf.d/*/site.cfg`).

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use crate::env::{Environment, FileKind};

/// Whether `name` has wildcards, so `Include` expands it.
pub fn has_wildcards(name: &str) -> bool {
    name.contains(['*', '?', '['])
}

/// The existing paths that `pattern` names, sorted.
pub fn expand(env: &dyn Environment, pattern: &Path) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    let components: Vec<Component> = pattern.components().collect();
    for (i, c) in components.iter().enumerate() {
        let last = i + 1 == components.len();
        let Component::Normal(part) = c else {
            for p in &mut found {
                p.push(c.as_os_str());
            }
            continue;
        };
        let text = part.to_string_lossy();
        if !has_wildcards(&text) {
            found = found
                .into_iter()
                .map(|p| p.join(part))
                .filter(|p| !last || env.stat(p).is_ok())
                .collect();
            continue;
        }
        let mut next = Vec::new();
        for dir in found {
            let listed = if dir.as_os_str().is_empty() {
                env.list_dir(Path::new("."))
            } else {
                env.list_dir(&dir)
            };
            let Ok(mut names) = listed else {
                continue;
            };
            names.sort();
            for name in names {
                let n = name.to_string_lossy();
                if matches(text.as_bytes(), n.as_bytes()) {
                    let p = dir.join(&name);
                    if last || env.stat(&p).ok() == Some(FileKind::Directory) {
                        next.push(p);
                    }
                }
            }
        }
        found = next;
    }
    found.sort();
    found
}

/// Whether one path component `name` matches the pattern component `pat`.
pub fn matches(pat: &[u8], name: &[u8]) -> bool {
    // A leading dot is matched only by a leading dot.
    if name.first() == Some(&b'.') && pat.first() != Some(&b'.') {
        return false;
    }
    fnmatch(pat, name)
}

fn fnmatch(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // Where to resume after the last `*`: its pattern position and the name position.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pat.get(p) {
            Some(b'*') => {
                star = Some((p + 1, n));
                p += 1;
                continue;
            }
            Some(b'?') => Some(1),
            // A `[` that opens no complete set is itself.
            Some(b'[') => class(&pat[p..], name[n]).unwrap_or((name[n] == b'[').then_some(1)),
            Some(b'\\') if p + 1 < pat.len() => (pat[p + 1] == name[n]).then_some(2),
            Some(&c) => (c == name[n]).then_some(1),
            None => None,
        };
        match step {
            Some(len) => {
                p += len;
                n += 1;
            }
            None => match star {
                Some((sp, sn)) => {
                    p = sp;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// Matches `c` against the set at the start of `pat` (which starts with `[`): `None` if the
/// set is not complete, else the set's length in the pattern if `c` is in it.
fn class(pat: &[u8], c: u8) -> Option<Option<usize>> {
    let mut i = 1;
    let negate = matches!(pat.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let &x = pat.get(i)?;
        if x == b']' && !first {
            break;
        }
        first = false;
        if pat.get(i + 1) == Some(&b'-') && pat.get(i + 2).is_some_and(|&e| e != b']') {
            hit |= (x..=pat[i + 2]).contains(&c);
            i += 3;
        } else {
            hit |= x == c;
            i += 1;
        }
    }
    Some((hit != negate).then_some(i + 1))
}

/// Where `Include` reads directories from, for [`Environment::list_dir`].
pub(crate) fn list(dir: &Path) -> std::io::Result<Vec<OsString>> {
    std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::MemoryFs;

    #[test]
    fn component_matching() {
        for (pat, name, expected) in [
            ("*.cfg", "a.cfg", true),
            ("*.cfg", "a.cfgx", false),
            ("*.cfg", ".hidden.cfg", false),
            (".*", ".hidden.cfg", true),
            ("?.cfg", "ab.cfg", false),
            ("[ab].cfg", "b.cfg", true),
            ("[!ab].cfg", "b.cfg", false),
            ("[^ab].cfg", "c.cfg", true),
            ("[a-c]x", "bx", true),
            ("[]]", "]", true),
            ("\\*", "*", true),
            ("\\*", "a", false),
            ("*a*b*", "xxaxxbxx", true),
            ("*a*b", "xxaxxbxc", false),
            ("[ab", "[ab", true),
            ("*", "", true),
        ] {
            assert_eq!(
                matches(pat.as_bytes(), name.as_bytes()),
                expected,
                "{pat} {name}"
            );
        }
    }

    #[test]
    fn expansion_is_sorted_and_skips_what_does_not_exist() {
        let fs = MemoryFs::new()
            .with_file("/c/b.cfg", "")
            .with_file("/c/a.cfg", "")
            .with_file("/c/.h.cfg", "")
            .with_file("/c/x.txt", "")
            .with_file("/s1/site.cfg", "")
            .with_file("/s2/site.cfg", "")
            .with_file("/s3/other.cfg", "");
        let paths = |p: &str| -> Vec<String> {
            expand(&fs, Path::new(p))
                .iter()
                .map(|p| p.display().to_string())
                .collect()
        };
        assert_eq!(paths("/c/*.cfg"), ["/c/a.cfg", "/c/b.cfg"]);
        assert_eq!(paths("/s*/site.cfg"), ["/s1/site.cfg", "/s2/site.cfg"]);
        assert!(paths("/c/*.none").is_empty());
        assert!(paths("/nodir/*.cfg").is_empty());
    }
}
