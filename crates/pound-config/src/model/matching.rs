//! Patterns of the matching directives and their comparison options (`-re -exact -beg -end
//! -case -icase -file`).

use std::path::PathBuf;

use pound_regex::Regex;

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
    pub patterns: Vec<Pattern>,
    /// The pattern file for `-file`.
    pub file: Option<PathBuf>,
}

impl Matcher {
    /// Whether any pattern matches `subject`.
    pub fn is_match(&self, subject: &[u8]) -> bool {
        self.patterns
            .iter()
            .any(|p| self.pattern_matches(p, subject))
    }

    /// Like [`Matcher::is_match`], and on success fills `spans` with the match (`$0`) and,
    /// for a regular expression, its parenthesized groups (`None` for a group that took no
    /// part). A string comparison's `$0` is the whole subject, as in pound, where such
    /// comparisons are anchored regular expressions.
    pub fn captures(&self, subject: &[u8], spans: &mut Vec<Option<(usize, usize)>>) -> bool {
        spans.clear();
        for p in &self.patterns {
            match (&p.regex, self.mode) {
                (Some(re), MatchMode::Regex) => {
                    let mut locs = re.capture_locations();
                    if re.captures_read(&mut locs, subject).is_some() {
                        spans.extend((0..locs.len()).map(|i| locs.get(i)));
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
            patterns: vec![Pattern {
                text: text.to_string(),
                regex: (mode == MatchMode::Regex)
                    .then(|| pound_regex::compile(text, icase).unwrap()),
            }],
            file: None,
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
    }

    #[test]
    fn captured_spans() {
        let mut spans = Vec::new();
        let m = matcher(MatchMode::Regex, false, "^/([a-z]+)(/x)?(/.*)?");
        assert!(m.captures(b"/abc/def", &mut spans));
        assert_eq!(spans, vec![Some((0, 8)), Some((1, 4)), None, Some((4, 8))]);
        assert!(!m.captures(b"abc", &mut spans));
        assert!(matcher(MatchMode::Suffix, true, ".GIF").captures(b"/a.gif", &mut spans));
        assert_eq!(spans, vec![Some((0, 6))]);
        assert!(matcher(MatchMode::Prefix, false, "/a").captures(b"/a.gif", &mut spans));
        assert_eq!(spans, vec![Some((0, 6))]);
    }
}
