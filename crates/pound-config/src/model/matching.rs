//! Patterns of the matching directives and their comparison options (`-re -exact -beg -end
//! -contain -case -icase -posix -pcre -tag -file -decode`).

use std::path::PathBuf;
use std::sync::Arc;

use pound_regex::Regex;

use super::Live;

/// How a pattern is compared with its subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchMode {
    /// `-re`: POSIX extended regular expression.
    Regex,
    /// `-exact`: the whole subject.
    Exact,
    /// `-beg`: a prefix of the subject.
    Prefix,
    /// `-end`: a suffix of the subject.
    Suffix,
    /// `-contain`: a substring of the subject.
    Contain,
}

/// How a directive's patterns are compiled, at load time and when a `-filewatch` file is
/// read again.
#[derive(Debug, Clone, Copy)]
pub struct PatternSpec {
    pub mode: MatchMode,
    pub dialect: pound_regex::Dialect,
    pub icase: bool,
}

impl PatternSpec {
    pub fn compile(&self, text: &str) -> Result<Pattern, pound_regex::Error> {
        let regex = match self.mode {
            MatchMode::Regex => Some(pound_regex::compile_as(self.dialect, text, self.icase)?),
            _ => None,
        };
        Ok(Pattern {
            text: text.to_string(),
            regex,
        })
    }

    /// The patterns of a pattern file: one per line, without surrounding blanks; empty
    /// lines and `#` comments are skipped. A pattern that does not compile is left out and
    /// reported with its line number, as pound does.
    pub fn list(&self, text: &str) -> (Vec<Pattern>, Vec<(usize, String)>) {
        let mut patterns = Vec::new();
        let mut errors = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match self.compile(line) {
                Ok(p) => patterns.push(p),
                Err(e) => errors.push((n + 1, e.message)),
            }
        }
        (patterns, errors)
    }
}

/// One pattern; regular expressions are compiled when the configuration is loaded.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub text: String,
    pub regex: Option<Regex>,
}

/// A compiled matching directive argument: one pattern, or several read with `-file`
/// (any of which may match).
#[derive(Debug, Clone)]
pub struct Matcher {
    pub mode: MatchMode,
    pub icase: bool,
    /// Replaced when the `-filewatch` file changes.
    pub patterns: Live<Vec<Pattern>>,
    /// The pattern file for `-file` and `-filewatch`.
    pub file: Option<PathBuf>,
    /// `-tag "T"`: the name by which templates reach this match (`$1(T)`).
    pub tag: Option<Arc<str>>,
    /// `-decode` (`Path`, `QueryParam`): the subject is percent-decoded before comparison.
    pub decode: bool,
}

impl Matcher {
    /// A matcher of one compiled regular expression, without options.
    pub fn regex(text: &str, regex: Regex, icase: bool) -> Matcher {
        Matcher {
            mode: MatchMode::Regex,
            icase,
            patterns: Live::new(vec![Pattern {
                text: text.to_string(),
                regex: Some(regex),
            }]),
            file: None,
            tag: None,
            decode: false,
        }
    }

    /// Whether any pattern matches `subject`.
    pub fn is_match(&self, subject: &[u8]) -> bool {
        self.patterns
            .load()
            .iter()
            .any(|p| self.pattern_matches(p, subject))
    }

    /// Like [`Matcher::is_match`], and on success fills `spans` with what back-references
    /// may use: `$0` (a string comparison's is the whole subject) and, for a regular
    /// expression, its groups (`None` for a group that took no part) and one more `None`:
    /// pound 4.23 expands the group one past the last to nothing, and refuses only those
    /// beyond (as it refuses `$1` after a string comparison).
    pub fn captures(&self, subject: &[u8], spans: &mut Vec<Option<(usize, usize)>>) -> bool {
        spans.clear();
        for p in self.patterns.load().iter() {
            match (&p.regex, self.mode) {
                (Some(re), MatchMode::Regex) => {
                    if re.captures(subject, spans) {
                        spans.push(None);
                        return true;
                    }
                }
                _ => {
                    if self.pattern_matches(p, subject) {
                        spans.push(Some((0, subject.len())));
                        return true;
                    }
                }
            }
        }
        false
    }

    fn pattern_matches(&self, p: &Pattern, subject: &[u8]) -> bool {
        let text = p.text.as_bytes();
        let eq = |a: &[u8], b: &[u8]| {
            if self.icase {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        match self.mode {
            MatchMode::Regex => p.regex.as_ref().is_some_and(|r| r.is_match(subject)),
            MatchMode::Exact => eq(subject, text),
            MatchMode::Prefix => subject.len() >= text.len() && eq(&subject[..text.len()], text),
            MatchMode::Suffix => {
                subject.len() >= text.len() && eq(&subject[subject.len() - text.len()..], text)
            }
            MatchMode::Contain => {
                text.is_empty() || subject.windows(text.len()).any(|w| eq(w, text))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(mode: MatchMode, icase: bool, text: &str) -> Matcher {
        Matcher {
            mode,
            icase,
            patterns: Live::new(vec![Pattern {
                text: text.to_string(),
                regex: (mode == MatchMode::Regex)
                    .then(|| pound_regex::compile(text, icase).unwrap()),
            }]),
            file: None,
            tag: None,
            decode: false,
        }
    }

    #[test]
    fn modes() {
        assert!(matcher(MatchMode::Exact, true, "www.x").is_match(b"WWW.X"));
        assert!(!matcher(MatchMode::Exact, false, "www.x").is_match(b"WWW.X"));
        assert!(matcher(MatchMode::Prefix, true, "www.").is_match(b"Www.example"));
        assert!(matcher(MatchMode::Suffix, false, ".gif").is_match(b"/a.gif"));
        assert!(!matcher(MatchMode::Suffix, false, ".gif").is_match(b"gif"));
        assert!(matcher(MatchMode::Regex, false, "^/static/").is_match(b"/static/x"));
        assert!(matcher(MatchMode::Contain, true, "ORWARD").is_match(b"X-Forwarded-For: x"));
        assert!(!matcher(MatchMode::Contain, false, "ORWARD").is_match(b"X-Forwarded-For: x"));
        assert!(matcher(MatchMode::Contain, false, "").is_match(b""));
        assert!(!matcher(MatchMode::Contain, false, "abc").is_match(b"ab"));
    }

    #[test]
    fn captured_spans() {
        let mut spans = Vec::new();
        let m = matcher(MatchMode::Regex, false, "^/([a-z]+)(/x)?(/.*)?");
        assert!(m.captures(b"/abc/def", &mut spans));
        assert_eq!(
            spans,
            vec![Some((0, 8)), Some((1, 4)), None, Some((4, 8)), None]
        );
        assert!(!m.captures(b"abc", &mut spans));
        assert!(matcher(MatchMode::Suffix, true, ".GIF").captures(b"/a.gif", &mut spans));
        assert_eq!(spans, vec![Some((0, 6))]);
        assert!(matcher(MatchMode::Prefix, false, "/a").captures(b"/a.gif", &mut spans));
        assert_eq!(spans, vec![Some((0, 6))]);
    }
}
