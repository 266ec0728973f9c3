//! Files pound reads again while it runs (`-filewatch`, pound 4.17 and later): what each
//! one feeds and how its new contents are read. The server watches the files; this module
//! only turns contents into values, so it can be tested without files.

use std::path::PathBuf;

use super::acl::{parse_acl_file, Cidr};
use super::constant::constant_value;
use super::{Live, Pattern, PatternSpec};

/// One watched file and the value it feeds.
#[derive(Debug, Clone)]
pub struct Watched {
    pub path: PathBuf,
    pub kind: WatchedKind,
}

#[derive(Debug, Clone)]
pub enum WatchedKind {
    /// The patterns of a matching directive.
    Patterns {
        spec: PatternSpec,
        patterns: Live<Vec<Pattern>>,
    },
    /// An ACL (`ACL -filewatch`, named or not, and `TrustedIP -filewatch`).
    Acl(Live<Vec<Cidr>>),
    /// A `Constant -filewatch`, with `-trim`.
    Constant { value: Live<Vec<u8>>, trim: bool },
}

impl Watched {
    /// Installs `contents` as the new value, and returns what there is to say about them.
    /// An invalid file changes nothing (the last good contents stay): an ACL with a bad
    /// line, which at start-up would be left out, since a partial list could let in whom
    /// it should keep out. A pattern that does not compile is left out, as at start-up.
    pub fn reload(&self, contents: Vec<u8>) -> Result<Vec<String>, Vec<String>> {
        let file = self.path.display();
        match &self.kind {
            WatchedKind::Constant { value, trim } => {
                value.store(constant_value(contents, *trim));
                Ok(Vec::new())
            }
            WatchedKind::Acl(entries) => {
                let text = String::from_utf8_lossy(&contents);
                let (cidrs, errors) = parse_acl_file(&text);
                if !errors.is_empty() {
                    let mut why: Vec<String> = errors
                        .into_iter()
                        .map(|(line, message)| format!("{file}:{line}: {message}"))
                        .collect();
                    why.push(format!(
                        "{file}: errors in the file; the previous list stays"
                    ));
                    return Err(why);
                }
                entries.store(cidrs);
                Ok(Vec::new())
            }
            WatchedKind::Patterns { spec, patterns } => {
                let text = String::from_utf8(contents).map_err(|_| {
                    vec![format!(
                        "{file}: invalid UTF-8 in pattern file; the previous patterns stay"
                    )]
                })?;
                let (list, errors) = spec.list(&text);
                patterns.store(list);
                Ok(errors
                    .into_iter()
                    .map(|(line, message)| format!("{file}:{line}: {message}"))
                    .collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MatchMode;

    fn watched(kind: WatchedKind) -> Watched {
        Watched {
            path: "/w/f".into(),
            kind,
        }
    }

    #[test]
    fn patterns_are_compiled_again() {
        let patterns = Live::default();
        let w = watched(WatchedKind::Patterns {
            spec: PatternSpec {
                mode: MatchMode::Regex,
                dialect: pound_regex::Dialect::Posix,
                icase: false,
            },
            patterns: patterns.clone(),
        });
        let notes = w.reload(b"# list\n ^/a \n\n(\n^/b\n".to_vec()).unwrap();
        assert_eq!(notes, ["/w/f:4: Unmatched ( or \\("]);
        let texts: Vec<String> = patterns.load().iter().map(|p| p.text.clone()).collect();
        assert_eq!(texts, ["^/a", "^/b"]);
        assert!(w.reload(vec![0xff]).is_err());
        assert_eq!(patterns.load().len(), 2);
    }

    #[test]
    fn an_invalid_acl_keeps_the_previous_list() {
        let entries = Live::default();
        let w = watched(WatchedKind::Acl(entries.clone()));
        assert!(w
            .reload(b"10.0.0.0/8\n# c\n\"192.0.2.1\"\n".to_vec())
            .is_ok());
        assert_eq!(entries.load().len(), 2);
        assert_eq!(
            w.reload(b"10.0.0.0/8\nnot-an-address\n".to_vec()),
            Err(vec![
                "/w/f:2: invalid IP address: Name or service not known".to_string(),
                "/w/f: errors in the file; the previous list stays".to_string()
            ])
        );
        assert_eq!(entries.load().len(), 2);
    }

    #[test]
    fn constants_take_the_new_contents() {
        let value = Live::new(b"old".to_vec());
        let w = watched(WatchedKind::Constant {
            value: value.clone(),
            trim: true,
        });
        w.reload(b"new \n".to_vec()).unwrap();
        assert_eq!(**value.load(), b"new");
    }
}
