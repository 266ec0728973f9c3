//! The matching and rewriting statements of pound 4.13 to 4.23, each with pound 4.23's
//! diagnostics.

use super::tests::{fails, ok, run, service, BACKEND};
use crate::model::*;
use pound_regex::Dialect;

fn first_condition(c: &Config) -> &ConditionKind {
    &c.services[0].conditions[0].kind
}

fn matcher(kind: &ConditionKind) -> &Matcher {
    match kind {
        ConditionKind::Url(m)
        | ConditionKind::Host(m)
        | ConditionKind::Header(m)
        | ConditionKind::Path(m)
        | ConditionKind::Query(m)
        | ConditionKind::Method(m)
        | ConditionKind::HeaderField { matcher: m, .. }
        | ConditionKind::QueryParam { matcher: m, .. }
        | ConditionKind::StringMatch { matcher: m, .. } => m,
        other => panic!("not a matcher: {other:?}"),
    }
}

/// A statement and what it must compile to: mode, icase, the dialect of its regex if any,
/// tag, decode.
type Expected<'a> = (
    &'a str,
    MatchMode,
    bool,
    Option<Dialect>,
    Option<&'a str>,
    bool,
);

#[test]
fn options_of_each_directive() {
    use MatchMode::*;
    let table: &[Expected] = &[
        ("Path -contain \"a\"", Contain, false, None, None, false),
        (
            "Path -contain -icase \"a\"",
            Contain,
            true,
            None,
            None,
            false,
        ),
        (
            "Path -pcre \"(?<=a)b\"",
            Regex,
            false,
            Some(Dialect::Pcre),
            None,
            false,
        ),
        (
            "Path -perl \"a\"",
            Regex,
            false,
            Some(Dialect::Pcre),
            None,
            false,
        ),
        (
            "Path -posix \"a\"",
            Regex,
            false,
            Some(Dialect::Posix),
            None,
            false,
        ),
        // The last mode option wins.
        ("Path -pcre -exact \"/a\"", Exact, false, None, None, false),
        (
            "Path -exact -pcre \"^/a$\"",
            Regex,
            false,
            Some(Dialect::Pcre),
            None,
            false,
        ),
        (
            "Path -tag \"t\" \"a\"",
            Regex,
            false,
            Some(Dialect::Posix),
            Some("t"),
            false,
        ),
        (
            "Path -tag \"a\" -tag \"b\" \"a\"",
            Regex,
            false,
            Some(Dialect::Posix),
            Some("b"),
            false,
        ),
        (
            "Path -decode -exact \"/a b\"",
            Exact,
            false,
            None,
            None,
            true,
        ),
        (
            "QueryParam \"n\" -decode \"x\"",
            Regex,
            false,
            Some(Dialect::Posix),
            None,
            true,
        ),
        // Method: an unanchored, case-sensitive regular expression.
        (
            "Method \"GET\"",
            Regex,
            false,
            Some(Dialect::Posix),
            None,
            false,
        ),
        (
            "Method -icase \"get\"",
            Regex,
            true,
            Some(Dialect::Posix),
            None,
            false,
        ),
        // The split Header form: a case-insensitive regular expression on the value.
        (
            "Header \"X-A\" \"b\"",
            Regex,
            true,
            Some(Dialect::Posix),
            None,
            false,
        ),
        ("Header \"X-A\" -beg \"b\"", Prefix, true, None, None, false),
        (
            "Header \"X-A\" -tag \"t\" -pcre \"b(?=c)\"",
            Regex,
            true,
            Some(Dialect::Pcre),
            Some("t"),
            false,
        ),
        ("Host -contain \"amp\"", Contain, true, None, None, false),
        (
            "StringMatch \"%[path]\" -contain \"a\"",
            Contain,
            false,
            None,
            None,
            false,
        ),
    ];
    for &(statement, mode, icase, dialect, tag, decode) in table {
        let c = ok(&service(&format!("{statement}\n{BACKEND}")));
        let m = matcher(first_condition(&c));
        assert_eq!(m.mode, mode, "{statement}");
        assert_eq!(m.icase, icase, "{statement}");
        assert_eq!(
            m.patterns.load()[0].regex.as_ref().map(|r| r.dialect()),
            dialect,
            "{statement}"
        );
        assert_eq!(m.tag.as_deref(), tag, "{statement}");
        assert_eq!(m.decode, decode, "{statement}");
    }
}

#[test]
fn header_forms() {
    let c = ok(&service(&format!("Header \"X-A: b\"\n{BACKEND}")));
    assert!(matches!(first_condition(&c), ConditionKind::Header(_)));
    let c = ok(&service(&format!("Header -icase \"X-A: b\"\n{BACKEND}")));
    assert!(matches!(first_condition(&c), ConditionKind::Header(_)));
    let c = ok(&service(&format!("Header \"X-A\" \"b\"\n{BACKEND}")));
    let ConditionKind::HeaderField { name, .. } = first_condition(&c) else {
        panic!()
    };
    assert_eq!(name, "X-A");
    fails(
        &service("Header \"X-A\" -pcre \"(\"\n"),
        &["p.cfg:2.20-22: missing ) at byte 1"],
    );
}

#[test]
fn regex_type() {
    let c = ok(&format!(
        "RegexType pcre\nService\nPath \"(?<=a)b\"\nPath -re \"x\"\nPath -posix \"y\"\n\
         {BACKEND}End\nRegexType posix\nService\nPath \"a\"\n{BACKEND}End\n"
    ));
    let dialects = |s: &Service| -> Vec<Dialect> {
        s.conditions
            .iter()
            .map(|c| {
                matcher(&c.kind).patterns.load()[0]
                    .regex
                    .as_ref()
                    .unwrap()
                    .dialect()
            })
            .collect()
    };
    assert_eq!(
        dialects(&c.services[0]),
        [Dialect::Pcre, Dialect::Pcre, Dialect::Posix]
    );
    assert_eq!(dialects(&c.services[1]), [Dialect::Posix]);
    ok("RegexType perl\n");
    // Case-sensitive, whatever pound's manual says; global only.
    fails(
        "RegexType PCRE\n",
        &["p.cfg:1.11-14: unrecognized regex type"],
    );
    fails(
        "RegexType foo\n",
        &["p.cfg:1.11-13: unrecognized regex type"],
    );
    fails(
        "RegexType \"pcre\"\n",
        &["p.cfg:1.11-16: expected identifier, but found quoted string"],
    );
    fails(
        "Service\nRegexType pcre\nEnd\n",
        &["p.cfg:2.1-9: unrecognized keyword"],
    );
    // A POSIX pattern after `RegexType posix` has POSIX's errors.
    fails(
        "RegexType pcre\nRegexType posix\nService\nPath \"(?<=/)a\"\nEnd\n",
        &["p.cfg:4.6-14: Invalid preceding regular expression"],
    );
}

#[test]
fn option_errors() {
    fails(
        &service("Query -decode \"x\"\n"),
        &["p.cfg:2.7-13: unsupported option: -decode"],
    );
    fails(
        &service("URL -decode \"x\"\n"),
        &["p.cfg:2.5-11: unsupported option: -decode"],
    );
    fails(
        &service("Path -tag p \"/a\"\n"),
        &["p.cfg:2.11: expected quoted string, but found identifier"],
    );
    fails(
        &service("Path -tag\n"),
        &["p.cfg:2.9-3: expected quoted string, but found end of line"],
    );
    fails(
        &service("Path -pcre \"(?<=a+)b\"\n"),
        &["p.cfg:2.12-21: lookbehind assertion is not fixed length at byte 6"],
    );
}

#[test]
fn detached_conditions() {
    let c = ok(&format!(
        "Condition \"a\"\nPath \"x\"\nHost \"y\"\nEnd\nCondition \"b\"\nEval \"a\"\nEnd\n\
         Condition \"empty\"\nEnd\n\
         Service\nEval \"b\"\nMatch OR\nEval \"a\"\nNot Eval \"empty\"\nEnd\n\
         Rewrite\nEval \"a\"\nSetHeader \"X: 1\"\nEnd\n{BACKEND}End\n"
    ));
    assert_eq!(c.conditions.len(), 3);
    assert_eq!(c.conditions[1].index, 1);
    let ConditionKind::Eval(b) = first_condition(&c) else {
        panic!()
    };
    assert_eq!(b.name, "b");
    let ConditionKind::Eval(a) = &b.conditions[0].kind else {
        panic!()
    };
    assert!(std::sync::Arc::ptr_eq(a, &c.conditions[0]));

    fails(
        &service("Eval \"nope\"\n"),
        &["p.cfg:2.6-11: nope: no such condition"],
    );
    // Defined later is not defined; a condition cannot name itself.
    fails(
        "Service\nEval \"c\"\nEnd\nCondition \"c\"\nEnd\n",
        &["p.cfg:2.6-8: c: no such condition"],
    );
    fails(
        "Condition \"c\"\nEval \"c\"\nEnd\n",
        &["p.cfg:2.6-8: c: no such condition"],
    );
    fails(
        "Condition \"x\"\nPath \"a\"\nEnd\nCondition \"x\"\nEnd\n",
        &[
            "p.cfg:4.13-5: x redefined",
            "p.cfg:1.13-3.3: originally defined here",
        ],
    );
    fails(
        "Condition \"x\"\nSetHeader \"a: b\"\nEnd\n",
        &["p.cfg:2.1-9: unrecognized keyword"],
    );
    fails(
        "Condition x\nEnd\n",
        &["p.cfg:1.11: expected quoted string, but found identifier"],
    );
    fails(
        "Condition \"x\" \"y\"\nEnd\n",
        &["p.cfg:1.15-17: syntax error"],
    );
    fails(
        "Service\nCondition \"x\"\nEnd\nEnd\n",
        &["p.cfg:2.1-9: unrecognized keyword"],
    );
    fails(
        &service("Eval c\n"),
        &["p.cfg:2.6: expected quoted string, but found identifier"],
    );
    // Not in response rewrites, as in pound 4.23.
    fails(
        "Condition \"x\"\nEnd\nService\nRewrite response\nEval \"x\"\nEnd\nEnd\n",
        &["p.cfg:5.1-4: unrecognized keyword"],
    );
}

#[test]
fn url_modifications() {
    let c = ok(&service(&format!(
        "DeleteQuery\nSetQueryParam \"a\"\nSetQueryParam \"b\" -encode \"x y\"\n\
         SetQueryParam -encode \"c\" \"z\"\nSetPath -encode \"/p q\"\nSetPath \"/r\"\n{BACKEND}"
    )));
    let m = &c.services[0].request;
    assert!(matches!(m[0], Modification::DeleteQuery { .. }));
    let params: Vec<(&str, bool, bool)> = m[1..4]
        .iter()
        .map(|m| match m {
            Modification::SetQueryParam {
                name,
                value,
                encode,
                ..
            } => (name.as_str(), value.is_some(), *encode),
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        params,
        [("a", false, false), ("b", true, true), ("c", true, true)]
    );
    assert!(matches!(m[4], Modification::SetPath { encode: true, .. }));
    assert!(matches!(m[5], Modification::SetPath { encode: false, .. }));
    fails(
        &service("DeleteQuery \"x\"\n"),
        &["p.cfg:2.13-15: unexpected quoted string"],
    );
    let (c, _) = run(&service("SetQueryParam \"a\" \"b\" \"c\"\n"));
    assert!(c.is_none());
}

#[test]
fn include_with_wildcards() {
    use crate::env::MemoryFs;
    let svc = |name: &str| format!("Service \"{name}\"\n{BACKEND}End\n");
    let fs = MemoryFs::new()
        .with_file("p.cfg", "Include \"conf.d/*.cfg\"\nInclude \"s*/x.cfg\"\n")
        .with_file("/inc/conf.d/b.cfg", svc("b"))
        .with_file("/inc/conf.d/a.cfg", svc("a"))
        .with_file("/inc/conf.d/.hidden.cfg", "Bogus\n")
        .with_file("/inc/conf.d/c.txt", "Bogus\n")
        .with_file("/inc/conf.d/sub/d.cfg", "Bogus\n")
        .with_file("/inc/s2/x.cfg", svc("s2"))
        .with_file("/inc/s1/x.cfg", svc("s1"));
    let (c, d) = super::tests::load_fs(&fs);
    assert!(d.is_empty(), "{d:?}");
    let names: Vec<_> = c
        .unwrap()
        .services
        .iter()
        .map(|s| s.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "s1", "s2"]);
    // Files are named as the pattern wrote them; no match is a missing file.
    let fs = MemoryFs::new()
        .with_file("p.cfg", "Include \"conf.d/*\"\n")
        .with_file("/inc/conf.d/a.cfg", "Bogus\n");
    let (_, d) = super::tests::load_fs(&fs);
    assert_eq!(d, ["conf.d/a.cfg:1.1-5: unrecognized keyword"]);
    // The rest of the line is read as more statements, as pound reads it.
    let fs = MemoryFs::new()
        .with_file("p.cfg", "Include \"a.cfg\" \"x\" 5\n")
        .with_file("/inc/a.cfg", "Alive 3\n");
    let (c, d) = super::tests::load_fs(&fs);
    assert_eq!(
        d,
        ["p.cfg:1.17-19: syntax error", "p.cfg:1.21: syntax error"]
    );
    assert_eq!(c.unwrap().global.alive, 3);
    fails(
        "Include \"conf.d/*.none\"\n",
        &["p.cfg:1.9-23: can't stat /inc/conf.d/*.none: No such file or directory"],
    );
}

#[test]
fn ciphers_options() {
    let https = |line: &str| {
        format!("ListenHTTPS\nAddress 127.0.0.1\nPort 443\nCert \"c.pem\"\n{line}\nEnd\n")
    };
    let c = ok(&https(
        "Ciphers \"HIGH\" -ciphersuites \"TLS_AES_256_GCM_SHA384:TLS_FOO:TLS_CHACHA20_POLY1305_SHA256\"",
    ));
    let tls = c.listeners[0].tls.as_ref().unwrap();
    assert_eq!(tls.ciphers.as_deref(), Some("HIGH"));
    assert_eq!(
        tls.ciphersuites.as_deref(),
        Some(
            &[
                "TLS_AES_256_GCM_SHA384".to_string(),
                "TLS_CHACHA20_POLY1305_SHA256".to_string()
            ][..]
        )
    );
    let c = ok(&https("Ciphers -cipherlist \"A\" \"B\" -ciphersuites \"TLS_AES_128_GCM_SHA256\" -ciphersuites \"\""));
    let tls = c.listeners[0].tls.as_ref().unwrap();
    assert_eq!(tls.ciphers.as_deref(), Some("B"));
    assert_eq!(tls.ciphersuites.as_deref(), Some(&[][..]));
    fails(
        &https("Ciphers -ciphersuites \"TLS_FOO_BAR\""),
        &["p.cfg:5.23-35: failed to set ciphersuites TLS_FOO_BAR"],
    );
    fails(
        &https("Ciphers -foo \"HIGH\""),
        &["p.cfg:5.9-12: unexpected token: -foo"],
    );
    fails(
        &https("Ciphers HIGH"),
        &["p.cfg:5.9-12: expected cipher list, ciphersuites or newline, but found identifier"],
    );
    let backend = "Service\nBackend\nAddress 127.0.0.1\nPort 1\nHTTPS\nCiphers -ciphersuites \"TLS_AES_256_GCM_SHA384\"\nEnd\nEnd\n";
    let c = ok(backend);
    let BackendKind::Regular(b) = &c.services[0].backends[0].kind else {
        panic!()
    };
    assert!(b.tls.as_ref().unwrap().ciphersuites.is_some());
}

#[test]
fn tbf_rates() {
    for (rate, count, nanos) in [
        ("10", 10, 1_000_000_000),
        ("1/2s", 1, 2_000_000_000),
        ("\"200/500ms\"", 200, 500_000_000),
        ("5/us", 5, 1_000),
        ("5/2MS", 5, 2_000_000),
    ] {
        let c = ok(&service(&format!("TBF \"k\" {rate} 3\nError 429\n")));
        let ConditionKind::Tbf {
            count: n,
            per,
            burst,
            ..
        } = first_condition(&c)
        else {
            panic!()
        };
        assert_eq!((*n, per.as_nanos(), *burst), (count, nanos, 3), "{rate}");
    }
    for (rate, message) in [
        ("0", "p.cfg:2.9: bad unsigned number"),
        ("1.5", "p.cfg:2.9-11: invalid rate"),
        ("5/1", "p.cfg:2.12-11: bad interval specifier"),
        ("5/2m", "p.cfg:2.12: bad interval specifier"),
        ("-1", "p.cfg:2.9-10: effective rate is 0"),
        ("1000000001", "p.cfg:2.9-18: effective rate is 0"),
        (
            "1/20000000000s",
            "p.cfg:2.9-22: effective rate is out of range",
        ),
    ] {
        fails(&service(&format!("TBF \"k\" {rate} 3\n")), &[message]);
    }
}
