//! Differential tests against the C library: each pattern is compiled both by
//! [`pound_regex::compile`] and by `regcomp(3)` with `REG_EXTENDED`, and run on each subject.
//! Whether a subject matches must agree, and so must the whole match (`$0`) and the groups,
//! except where POSIX leftmost-longest and the `regex` crate's leftmost-first rules are known
//! to choose different text; those cases are listed with the texts each side gives.

use std::ffi::CString;
use std::mem::MaybeUninit;

/// A `regcomp`ed pattern.
struct Posix(libc::regex_t);

impl Posix {
    fn new(pattern: &str, icase: bool) -> Option<Posix> {
        let c = CString::new(pattern).ok()?;
        let mut re = MaybeUninit::<libc::regex_t>::uninit();
        let flags = libc::REG_EXTENDED | if icase { libc::REG_ICASE } else { 0 };
        // SAFETY: `re` is written by regcomp before use; `c` is NUL-terminated.
        let rc = unsafe { libc::regcomp(re.as_mut_ptr(), c.as_ptr(), flags) };
        // SAFETY: regcomp returned 0, so it initialised `re`.
        (rc == 0).then(|| Posix(unsafe { re.assume_init() }))
    }

    /// The spans of the whole match and its groups, or `None` when there is no match.
    /// `n` is the number of spans wanted (the whole match and `n - 1` groups).
    fn exec(&self, subject: &str, n: usize) -> Option<Vec<Option<(usize, usize)>>> {
        let c = CString::new(subject).ok()?;
        let mut m = vec![
            libc::regmatch_t {
                rm_so: -1,
                rm_eo: -1
            };
            n
        ];
        // SAFETY: the pattern is compiled; `m` has room for `n` entries.
        let rc = unsafe { libc::regexec(&self.0, c.as_ptr(), n, m.as_mut_ptr(), 0) };
        (rc == 0).then(|| {
            m.iter()
                .map(|r| (r.rm_so >= 0).then_some((r.rm_so as usize, r.rm_eo as usize)))
                .collect()
        })
    }
}

impl Drop for Posix {
    fn drop(&mut self) {
        // SAFETY: compiled by regcomp and freed once.
        unsafe { libc::regfree(&mut self.0) }
    }
}

fn ours(pattern: &str, icase: bool, subject: &str) -> Option<Vec<Option<(usize, usize)>>> {
    let re = pound_regex::compile(pattern, icase).expect(pattern);
    let mut spans = Vec::new();
    re.captures(subject.as_bytes(), &mut spans).then_some(spans)
}

/// Patterns and subjects on which both engines must give the same matches and groups.
const AGREE: &[(&str, bool, &[&str])] = &[
    (
        "^/static(/.*)?",
        false,
        &["/static", "/static/a/b", "/statics", "/x/static"],
    ),
    (
        ".*.(jpg|gif)",
        false,
        &["/a.jpg", "/a.png", "/x.gif?y", "jpg"],
    ),
    (
        "^/([^/]+)/([^/]+)(/.*)?",
        false,
        &["/a/b", "/a/b/c/d", "/a", "//b"],
    ),
    (
        "www\\.(.+)",
        false,
        &["www.example.com", "wwwXexample", "www."],
    ),
    (
        "^Content-Type: *(.*)",
        true,
        &[
            "content-type: text/html",
            "Content-Type:x",
            "X-Content-Type: y",
        ],
    ),
    (
        "Host:[[:space:]]*www\\.example\\.com",
        true,
        &[
            "Host: www.example.com",
            "host:\twww.EXAMPLE.com",
            "Host: www-example.com",
        ],
    ),
    ("[]a]+", false, &["]a]", "b", "x]"]),
    ("[^]a]", false, &["]", "a", "b"]),
    ("[a-]x", false, &["-x", "ax", "bx"]),
    ("[[:digit:]]{2,3}", false, &["1", "12", "1234", "a12b"]),
    ("[[:alpha:]][[:alnum:]_]*", false, &["_x9", "x_9", "9"]),
    ("[[:upper:]]+", false, &["abcDEF", "abc"]),
    ("[[:punct:]]", false, &["a.b", "ab"]),
    ("a{,2}b", false, &["b", "ab", "aab", "aaab"]),
    ("^a{2}$", false, &["aa", "a", "aaa"]),
    ("^a{2,}$", false, &["a", "aa", "aaaa"]),
    (
        "\\<word\\>",
        false,
        &["a word here", "swordfish", "word", "words"],
    ),
    ("\\bx\\B", false, &["xy", "x y", "ax"]),
    ("a\\{x", false, &["a{x", "ax"]),
    ("a}", false, &["a}", "a"]),
    ("(a|ab)(c|bcd)(d*)", false, &["abcd", "abc"]),
    ("a{,}b", false, &["b", "aaab"]),
    ("a{2}{3}", false, &["aaaaaa", "aaaaa"]),
    ("a**", false, &["", "aaa"]),
    ("\\.gif$", true, &["/A.GIF", "/a.gif.x"]),
    ("^$", false, &["", "x"]),
    ("a.c", false, &["abc", "a\nc", "ac"]),
    ("^(ab)*$", false, &["", "abab", "aba"]),
    ("x(y)?z", false, &["xz", "xyz"]),
    ("(a)|b", false, &["b", "a"]),
    ("\\$[0-9]+", false, &["cost $15", "15"]),
    ("ab)", false, &["ab)", "ab"]),
    ("^/api/v[0-9]+/", false, &["/api/v12/x", "/api/v/x"]),
    ("[.]", false, &["a.b", "ab"]),
    ("\\w+@\\w+", false, &["me@host", "@host"]),
    ("é", false, &["café", "cafe"]),
];

/// Where the two rules choose different text: (pattern, subject, POSIX `$0|$1|...`, ours).
/// Whether the subject matches still agrees.
const DIFFER: &[(&str, &str, &str, &str)] = &[
    ("a|ab", "abc", "ab", "a"),
    ("x*|y+", "yy", "yy", ""),
    ("a||b", "b", "b", ""),
];

#[test]
fn agrees_with_regexec() {
    for (pattern, icase, subjects) in AGREE {
        let posix = Posix::new(pattern, *icase).unwrap_or_else(|| panic!("regcomp {pattern}"));
        for subject in *subjects {
            let groups = pound_regex::compile(pattern, *icase)
                .expect(pattern)
                .groups();
            assert_eq!(
                ours(pattern, *icase, subject),
                posix.exec(subject, groups),
                "pattern {pattern:?} on {subject:?}"
            );
        }
    }
}

#[test]
fn documented_differences() {
    for (pattern, subject, posix_text, our_text) in DIFFER {
        let posix = Posix::new(pattern, false).expect(pattern);
        let text = |spans: Vec<Option<(usize, usize)>>| {
            spans
                .iter()
                .map(|s| s.map_or("", |(a, b)| &subject[a..b]))
                .collect::<Vec<_>>()
                .join("|")
        };
        let o = ours(pattern, false, subject).expect("we match");
        let p = posix.exec(subject, o.len()).expect("POSIX matches");
        assert_eq!(text(p), *posix_text, "POSIX {pattern}");
        assert_eq!(text(o), *our_text, "ours {pattern}");
    }
}

/// Back-references inside a pattern are a GNU extension that the `regex` crate cannot run;
/// such a pattern is a configuration error here, where regcomp(3) accepts it.
#[test]
fn back_references_are_refused() {
    assert!(Posix::new("(a)\\1", false).is_some());
    assert!(pound_regex::compile("(a)\\1", false).is_err());
}

#[test]
fn both_reject() {
    let refused = [
        "(ab",
        "[a",
        "[[:nope:]]",
        "*a",
        "{a",
        "a{x",
        "a{}",
        "a{1,2,3}",
        "x{",
        "a{1",
        "^*",
        "a{2,1}",
        "[z-a]",
    ];
    for pattern in refused {
        let posix = Posix::new(pattern, false);
        let ours = pound_regex::compile(pattern, false);
        assert!(posix.is_none(), "regcomp accepted {pattern}");
        assert!(ours.is_err(), "we accepted {pattern}");
    }
}
