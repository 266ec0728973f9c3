use super::*;

#[test]
fn translations() {
    let table: &[(&str, &str)] = &[
        ("abc", "abc"),
        (".*.(jpg|gif)", ".*.(jpg|gif)"),
        ("^/static(/.*)?", "^/static(/.*)?"),
        ("[]a]", r"[\]a]"),
        ("[^]a]", r"[^\]a]"),
        (r"[\]", r"[\\]"),
        ("[a-]", r"[a\-]"),
        ("[[:space:]]*", "[[:space:]]*"),
        ("[[=a=]b]", "[ab]"),
        ("[[.-.]x]", r"[\-x]"),
        ("a{,2}", "a{0,2}"),
        ("a{2}", "a{2}"),
        ("a{2,}", "a{2,}"),
        ("a{2,3}", "a{2,3}"),
        ("a}", r"a\}"),
        ("a+?", "(?:a+)?"),
        ("(ab)*+", "(?:(ab)*)+"),
        (r"\d", "d"),
        (r"\.", r"\."),
        (r"\<word\>", r"\<word\>"),
        ("Host:[[:space:]]*www", "Host:[[:space:]]*www"),
        ("a b", "a b"),
        ("ab)", r"ab\)"),
        ("a{,}", "a{0,}"),
        (r"a\{x", r"a\{x"),
    ];
    for (posix, perl) in table {
        assert_eq!(translate(posix).as_deref(), Ok(*perl), "pattern {posix}");
    }
}

#[test]
fn rejections() {
    let table: &[(&str, usize)] = &[
        ("[abc", 0),
        ("x(ab", 1),
        ("*a", 0),
        ("a|*", 2),
        (r"(a)\1", 3),
        ("[[:nosuch:]]", 1),
        ("[z-a]", 2),
        ("abc\\", 3),
        ("a{x", 1),
        ("a{}", 1),
        ("a{1,2,3}", 1),
        ("x{", 1),
        ("{a", 0),
    ];
    for (posix, offset) in table {
        let err = translate(posix).expect_err(posix);
        assert_eq!(err.offset, Some(*offset), "pattern {posix}: {err}");
    }
}

#[test]
fn matching_is_posix_like() {
    let re = compile(".*.(jpg|gif)", false).unwrap();
    assert!(re.is_match(b"/img/a.jpg"));
    assert!(!re.is_match(b"/img/a.png"));

    let re = compile("^(www.)?server1.com$", true).unwrap();
    assert!(re.is_match(b"WWW.Server1.com"));

    // `.` crosses newlines as regcomp without REG_NEWLINE does.
    assert!(compile("a.b", false).unwrap().is_match(b"a\nb"));
    // Bytes that are not UTF-8 can still be matched.
    assert!(compile("a.b", false).unwrap().is_match(b"a\xffb"));
    // Non-ASCII characters are characters, in and out of brackets.
    assert!(compile("[é]", false).unwrap().is_match("café".as_bytes()));
    assert!(!compile("^[^é]$", false).unwrap().is_match("é".as_bytes()));
    assert!(compile("[[=é=]]x", false)
        .unwrap()
        .is_match("éx".as_bytes()));
    assert!(compile("[à-ÿ]", false).unwrap().is_match("ü".as_bytes()));
    assert!(compile("^ü.$", false).unwrap().is_match("üé".as_bytes()));
    // A closing brace alone is a literal; a long run of them translates in one pass.
    assert!(compile("x}}", false).unwrap().is_match(b"x}}"));
    assert_eq!(translate(&"}".repeat(200_000)).unwrap().len(), 400_000);
    // `a+?` is greedy in POSIX.
    let caps = compile("(a+?)", false).unwrap();
    let mut spans = Vec::new();
    assert!(caps.captures(b"aaa", &mut spans));
    assert_eq!(spans[1], Some((0, 3)));
}

#[test]
fn compile_errors_are_one_line() {
    let err = compile("(?", false).unwrap_err();
    assert!(!err.message.contains('\n'), "{}", err.message);
}
