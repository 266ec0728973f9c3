//! Perl-compatible regular expressions through PCRE2 (the copy bundled with `pcre2-sys`,
//! built into the binary).
//!
//! Patterns are compiled as pound compiles them: bytes, not UTF-8 (a non-UTF-8 header still
//! matches), `.` stopping at a newline, JIT when the machine has it. Diagnostics use the
//! wording operators see from pound, whose messages come from the older PCRE library: where
//! the two libraries word an error differently, the older text is used, followed by
//! ` at byte N` when the error is past the first byte.

use std::sync::Arc;

use crate::Error;

/// A compiled PCRE2 pattern; clones share it (and its per-thread match data).
#[derive(Clone)]
pub(crate) struct Pcre(Arc<pcre2::bytes::Regex>);

impl std::fmt::Debug for Pcre {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Pcre").field(&self.0.as_str()).finish()
    }
}

impl Pcre {
    /// A matching error (a resource limit reached by a pathological pattern) is no match.
    pub(crate) fn is_match(&self, subject: &[u8]) -> bool {
        self.0.is_match(subject).unwrap_or(false)
    }

    pub(crate) fn groups(&self) -> usize {
        self.0.captures_len()
    }

    pub(crate) fn captures(&self, subject: &[u8], spans: &mut Vec<Option<(usize, usize)>>) -> bool {
        let mut locs = self.0.capture_locations();
        match self.0.captures_read(&mut locs, subject) {
            Ok(Some(_)) => {
                spans.extend((0..locs.len()).map(|i| locs.get(i)));
                true
            }
            _ => false,
        }
    }
}

/// The JIT stack a match may use; PCRE2's default (32 KiB) fails on long subjects with
/// nested groups, which would turn a match into a silent miss.
const JIT_STACK: usize = 1 << 20;

/// Compiles a Perl-compatible `pattern`; `icase` ignores case.
pub fn compile_pcre(pattern: &str, icase: bool) -> Result<crate::Regex, Error> {
    pcre2::bytes::RegexBuilder::new()
        .caseless(icase)
        .jit_if_available(true)
        .max_jit_stack_size(Some(JIT_STACK))
        .build(pattern)
        .map(|re| crate::Regex(crate::Engine::Pcre(Pcre(Arc::new(re)))))
        .map_err(|e| describe(&e, pattern))
}

/// The error as pound words it.
fn describe(e: &pcre2::Error, pattern: &str) -> Error {
    let text = e.to_string();
    // The crate's text is "PCRE2: error compiling pattern at offset N: MESSAGE".
    let library = text
        .split_once(": ")
        .map_or(text.as_str(), |(_, rest)| rest);
    let library = library.split_once(": ").map_or(library, |(_, msg)| msg);
    let message = match e.code() {
        101 => "\\ at end of pattern",
        109 => "nothing to repeat",
        114 => "missing )",
        122 => "unmatched parentheses",
        125 => "lookbehind assertion is not fixed length",
        142 => "syntax error in subpattern name (missing terminator)",
        _ => library,
    };
    let mut offset = e.offset();
    if e.code() == 125 {
        // PCRE2 points at the start of the lookbehind, pound's library at its end.
        offset = offset.and_then(|at| group_end(pattern.as_bytes(), at));
    }
    Error {
        message: match offset {
            Some(n) if n > 0 => format!("{message} at byte {n}"),
            _ => message.to_string(),
        },
        offset,
    }
}

/// The offset of the parenthesis that closes the group opening at `open`, skipping escapes
/// and classes.
fn group_end(p: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < p.len() {
        match p[i] {
            b'\\' => i += 1,
            b'[' => {
                // A class: `]` right after `[` or `[^` is a member.
                i += 1;
                if p.get(i) == Some(&b'^') {
                    i += 1;
                }
                if p.get(i) == Some(&b']') {
                    i += 1;
                }
                while i < p.len() && p[i] != b']' {
                    i += usize::from(p[i] == b'\\') + 1;
                }
            }
            b'(' => depth += 1,
            b')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_semantics() {
        let re = compile_pcre("(?<!www\\.)example\\.org", true).unwrap();
        assert!(re.is_match(b"EXAMPLE.org"));
        assert!(!re.is_match(b"www.example.org"));
        let lazy = compile_pcre("^(a+?)(a*)$", false).unwrap();
        let mut spans = Vec::new();
        assert!(lazy.captures(b"aaa", &mut spans));
        assert_eq!(spans, vec![Some((0, 3)), Some((0, 1)), Some((1, 3))]);
        let backref = compile_pcre("^(\\w+)-\\1$", false).unwrap();
        assert!(backref.is_match(b"ab-ab"));
        assert!(!backref.is_match(b"ab-ba"));
        assert!(compile_pcre("(?i)abc", false).unwrap().is_match(b"ABC"));
        // Bytes that are not UTF-8 are just bytes.
        assert!(compile_pcre("a.b", false).unwrap().is_match(b"a\xffb"));
        assert!(!compile_pcre("a.b", false).unwrap().is_match(b"a\nb"));
        let opt = compile_pcre("^/(x)?(y)", false).unwrap();
        assert!(opt.captures(b"/y", &mut spans));
        assert_eq!(spans, vec![Some((0, 2)), None, Some((1, 2))]);
    }

    /// Catastrophic backtracking stops at PCRE2's match limit, as a miss.
    #[test]
    fn runaway_matches_are_misses() {
        let re = compile_pcre("^(a+)+$", false).unwrap();
        let mut subject = vec![b'a'; 64];
        subject.push(b'b');
        assert!(!re.is_match(&subject));
        let mut spans = Vec::new();
        assert!(!re.captures(&subject, &mut spans));
        assert!(re.is_match(&subject[..64]));
    }

    #[test]
    fn errors_are_worded_as_pound_words_them() {
        let table = [
            ("(", "missing ) at byte 1"),
            (
                "(?<=a+)b",
                "lookbehind assertion is not fixed length at byte 6",
            ),
            (
                "x(?<![)]\\)a*)",
                "lookbehind assertion is not fixed length at byte 12",
            ),
            ("a{2,1}", "numbers out of order in {} quantifier at byte 5"),
            ("\\", "\\ at end of pattern at byte 1"),
            ("[a", "missing terminating ] for character class at byte 2"),
            ("*a", "nothing to repeat"),
            ("a)", "unmatched parentheses at byte 1"),
            ("(?z)", "unrecognized character after (? or (?- at byte 2"),
        ];
        for (pattern, message) in table {
            let e = compile_pcre(pattern, false).unwrap_err();
            assert_eq!(e.message, message, "pattern {pattern}");
        }
    }
}
