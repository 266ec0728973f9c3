//! Semantic rules of the language, each with its exact diagnostics.

use crate::env::MemoryFs;
use crate::model::*;
use crate::{load, Config, Options};

const INC: &str = "/inc";

pub(super) fn load_fs(fs: &MemoryFs) -> (Option<Config>, Vec<String>) {
    let opts = Options {
        include_dir: Some(INC.into()),
        warn_deprecated: true,
    };
    let loaded = load(fs, "p.cfg", &opts);
    let diags = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
    (loaded.config, diags)
}

pub(super) fn run(text: &str) -> (Option<Config>, Vec<String>) {
    load_fs(
        &MemoryFs::new()
            .with_file("p.cfg", text)
            .with_service("http", 80),
    )
}

/// The configuration must be accepted without any diagnostic.
pub(super) fn ok(text: &str) -> Config {
    let (c, d) = run(text);
    assert!(d.is_empty(), "unexpected diagnostics for:\n{text}\n{d:#?}");
    c.expect("config")
}

/// The configuration must be refused with exactly these diagnostics.
pub(super) fn fails(text: &str, expected: &[&str]) {
    let (c, d) = run(text);
    assert!(c.is_none(), "accepted:\n{text}");
    assert_eq!(d, expected, "for:\n{text}");
}

/// The configuration must be accepted with exactly these warnings.
pub(super) fn warns(text: &str, expected: &[&str]) -> Config {
    let (c, d) = run(text);
    assert_eq!(d, expected, "for:\n{text}");
    c.expect("config")
}

pub(super) const BACKEND: &str = "Backend\nAddress 127.0.0.1\nPort 80\nEnd\n";

pub(super) fn service(body: &str) -> String {
    format!("Service\n{body}End\n")
}

#[test]
fn unknown_keyword() {
    fails("FooBar\n", &["p.cfg:1.1-6: unrecognized keyword"]);
    fails(
        "ListenHTTP\nCert \"x\"\nEnd\n",
        &["p.cfg:2.1-4: unrecognized keyword"],
    );
}

#[test]
fn missing_and_extra_arguments() {
    fails(
        "User\n",
        &["p.cfg:1.4-2: expected quoted string, but found end of line"],
    );
    fails(
        "User",
        &["p.cfg:1.4: expected quoted string, but found end of file"],
    );
    fails("Alive 30 40\n", &["p.cfg:1.10-11: unexpected number"]);
    fails(
        "Alive many\n",
        &["p.cfg:1.7-10: expected number, but found identifier"],
    );
    // pound goes on after a syntax error: the token is skipped.
    warns("\"x\"\n", &["p.cfg:1.1-3: syntax error"]);
    warns(
        "Foo-bar 1\nUser \"a\"\n",
        &["p.cfg:1.1-7: syntax error", "p.cfg:1.9: syntax error"],
    );
    fails(
        "123 foo \"bar\"\n",
        &[
            "p.cfg:1.1-3: syntax error",
            "p.cfg:1.5-7: unrecognized keyword",
        ],
    );
}

#[test]
fn the_rest_of_a_section_line_is_its_first_statement() {
    let c = ok("ListenHTTP Address 127.0.0.1\nPort 8080\nEnd\n");
    assert!(
        matches!(&c.listeners[0].addr, ListenAddr::Inet { host, port: 8080 } if host == "127.0.0.1")
    );
    ok("Service \"a\" Error 404\nEnd\n");
    fails("ListenHTTP a\nEnd\n", &["p.cfg:1.12: unrecognized keyword"]);
    warns("Service 1\nError 404\nEnd\n", &["p.cfg:1.9: syntax error"]);
    // `Not` reads on to the next keyword; `Match` defaults to AND.
    ok(&service("Not\n\nURL \"x\"\nError 404\n"));
    let c = ok(&service("Match\nURL \"a\"\nURL \"b\"\nEnd\nError 404\n"));
    assert!(matches!(
        &c.services[0].conditions[0].kind,
        ConditionKind::Match {
            op: BoolOp::And,
            ..
        }
    ));
}

#[test]
fn unterminated_sections() {
    fails(
        "ListenHTTP\nAddress 127.0.0.1\n",
        &["p.cfg:1.10: unexpected end of file"],
    );
    fails("ACL \"a\"\n\"10.0.0.0/8\"\n", &["unexpected end of file"]);
}

#[test]
fn booleans() {
    assert!(!ok("Daemon off\n").global.daemon);
    assert!(ok("Daemon yes\n").global.daemon);
    // Case-sensitive, as in pound.
    fails(
        "Daemon Yes\n",
        &[
            "p.cfg:1.8-10: not a boolean value",
            "p.cfg:1.8-10: valid booleans are: 1, yes, true, on for true value, and 0, no, false, off for false value",
        ],
    );
    assert!(!ok("Daemon 0\n").global.daemon);
    fails(
        "Daemon maybe\n",
        &[
            "p.cfg:1.8-12: not a boolean value",
            "p.cfg:1.8-12: valid booleans are: 1, yes, true, on for true value, and 0, no, \
             false, off for false value",
        ],
    );
}

#[test]
fn backend_address_and_port() {
    // pound 4.14 and later: `Port` before `Address`, repeats (the last counts), and a
    // default port (80, 443 with HTTPS); the address is required.
    fails(
        &service("Backend\nPort 80\nEnd\n"),
        &["p.cfg:2.1-4.3: Backend missing Address declaration"],
    );
    fails(
        &service("Backend\nEnd\n"),
        &["p.cfg:2.1-3.3: Backend missing Address declaration"],
    );
    fails(
        &service("Backend\nAddress \"/run/app.sock\"\nPort 80\nEnd\n"),
        &["p.cfg:2.1-5.3: Port is not applicable to this address family"],
    );
    fails(
        &service("Backend\nPort 80\nAddress \"/run/app.sock\"\nEnd\n"),
        &["p.cfg:2.1-5.3: Port is not applicable to this address family"],
    );
    fails(
        &service("Backend\nAddress 10.0.0.1\nPort nosuch\nEnd\n"),
        &["p.cfg:4.6-11: bad port number: Servname not supported for ai_socktype"],
    );
    let addr = |c: &Config, i: usize| match &c.services[0].backends[i].kind {
        BackendKind::Regular(r) => r.address.clone(),
        _ => panic!("regular expected"),
    };
    let c = ok(&service(
        "Backend\nPort 81\nAddress 10.0.0.1\nAddress 10.0.0.2\nPort 82\nEnd\n\
         Backend\nAddress 10.0.0.3\nEnd\nBackend\nAddress 10.0.0.4\nHTTPS\nEnd\n",
    ));
    let inet = |h: &str, port| BackendAddr::Inet {
        host: h.into(),
        port,
    };
    assert_eq!(addr(&c, 0), inet("10.0.0.2", 82));
    assert_eq!(addr(&c, 1), inet("10.0.0.3", 80));
    assert_eq!(addr(&c, 2), inet("10.0.0.4", 443));
    let c = ok(&service(
        "Backend\nAddress ::1\nPort http\nEnd\nBackend\nAddress /run/a.sock\nEnd\n",
    ));
    let kinds: Vec<_> = c.services[0]
        .backends
        .iter()
        .map(|b| match &b.kind {
            BackendKind::Regular(r) => r.address.clone(),
            _ => panic!("regular expected"),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            BackendAddr::Inet {
                host: "::1".into(),
                port: 80
            },
            BackendAddr::Unix("/run/a.sock".into())
        ]
    );
}

#[test]
fn listener_rules() {
    // pound 4.14 and later: `Address` and `Port` are optional (every interface; 80 or 443),
    // in any order, and the last of each counts.
    let c =
        ok("ListenHTTP\nEnd\nListenHTTP\nPort 8080\nAddress 127.0.0.2\nAddress 127.0.0.1\nEnd\n");
    assert_eq!(
        c.listeners[0].addr,
        ListenAddr::Inet {
            host: "::".into(),
            port: 80
        }
    );
    assert_eq!(
        c.listeners[1].addr,
        ListenAddr::Inet {
            host: "127.0.0.1".into(),
            port: 8080
        }
    );
    fails(
        "ListenHTTPS\nAddress 127.0.0.1\nPort 443\nEnd\n",
        &["p.cfg:1.11-4.3: Cert statement is missing"],
    );
    fails(
        "ListenHTTPS\nClientCert 1 2\nEnd\n",
        &["p.cfg:2.1-10: ClientCert may only be used after Cert"],
    );
    // `SocketFrom` after `Address` is a duplicate; before it, it wins.
    fails(
        "ListenHTTP\nAddress 127.0.0.1\nSocketFrom \"/s\"\nEnd\n",
        &["p.cfg:3.1-10: Duplicate Address or SocketFrom statement"],
    );
    let c = ok("ListenHTTP\nSocketFrom \"/s\"\nAddress 127.0.0.1\nPort 1\nEnd\n");
    assert_eq!(c.listeners[0].addr, ListenAddr::SocketFrom("/s".into()));
    fails(
        "ListenHTTP\nAddress 127.0.0.1\nPort 80\nxHTTP 4\nEnd\n",
        &["p.cfg:4.7: value out of allowed range (0..3)"],
    );
    let c = ok("ListenHTTP \"a\"\nAddress 127.0.0.1\nPort 0\nEnd\n");
    assert_eq!(
        c.listeners[0].addr,
        ListenAddr::Inet {
            host: "127.0.0.1".into(),
            port: 0
        }
    );
    assert_eq!(c.listeners[0].name.as_deref(), Some("a"));
    // pound's place for a section starts at the token after its keyword.
    assert_eq!(c.listeners[0].span.to_string(), "p.cfg:1.12-4.3");
}

#[test]
fn emergency_and_session() {
    // pound 4.14 and later: any number of emergency backends, with every backend
    // statement.
    let emergency = "Emergency\nAddress 10.0.0.9\nPort 80\nEnd\n";
    let c = ok(&service(&format!(
        "{BACKEND}{emergency}Emergency\nAddress 10.0.0.8\nPriority 3\nDisabled 1\nEnd\n"
    )));
    let e = &c.services[0].emergency;
    assert_eq!(e.len(), 2);
    assert!(matches!(
        &e[1].kind,
        BackendKind::Regular(r) if r.priority == 3 && r.disabled
            && r.address == BackendAddr::Inet { host: "10.0.0.8".into(), port: 80 }
    ));
    // 120 s time-outs unless set, whatever the global ones (pound 4.23).
    let c = ok(&format!(
        "TimeOut 7\nConnTO 4\n{}",
        service(&format!(
            "{BACKEND}{emergency}Emergency\nAddress 10.0.0.8\nPort 80\nTimeOut 3\nEnd\n"
        ))
    ));
    let times = |b: &Backend| match &b.kind {
        BackendKind::Regular(r) => (r.conn_to, r.timeout, r.ws_timeout),
        _ => (0, 0, 0),
    };
    let e = &c.services[0].emergency;
    assert_eq!(
        (times(&e[0]), times(&e[1])),
        ((120, 120, 120), (120, 3, 120))
    );
    assert_eq!(times(&c.services[0].backends[0]).0, 4);
    fails(
        &service(&format!("{BACKEND}Session\nTTL 10\nEnd\n")),
        &["p.cfg:6.1-8.3: Session type not defined"],
    );
    fails(
        &service(&format!("{BACKEND}Session\nType IP\nEnd\n")),
        &["p.cfg:6.1-8.3: Session TTL not defined"],
    );
    fails(
        &service(&format!("{BACKEND}Session\nType COOKIE\nTTL 5\nEnd\n")),
        &["p.cfg:9.1-3: Session ID not defined"],
    );
    // An `ID` the type has no use for is ignored, as pound ignores it; a second
    // `Session` replaces the first.
    let c = ok(&service(&format!(
        "{BACKEND}Session\nType IP\nTTL 5\nID \"x\"\nEnd\nSession\nType PARM\nTTL 7\nEnd\n"
    )));
    let s = c.services[0].session.clone().unwrap();
    assert_eq!((s.kind, s.ttl, s.id), (SessionType::Parm, 7, None));
    fails(
        &service(&format!("{BACKEND}Session\nType FOO\nEnd\n")),
        &["p.cfg:7.6-8: Unknown Session type"],
    );
    let c = ok(&service(&format!(
        "{BACKEND}Session\nType cookie\nTTL 5\nID \"sid\"\nEnd\n"
    )));
    let s = c.services[0].session.clone().unwrap();
    assert_eq!(
        (s.kind, s.ttl, s.id.as_deref()),
        (SessionType::Cookie, 5, Some("sid"))
    );
}

#[test]
fn redirects() {
    fails(
        &service("Redirect 305 \"http://x\"\n"),
        &["p.cfg:2.10-12: invalid status code"],
    );
    fails(
        &service("Redirect \"/local\"\n"),
        &["p.cfg:2.10-17: Redirect bad URL"],
    );
    let c = ok(&service("Redirect 308 \"https://x/$1\"\n"));
    assert!(matches!(
        &c.services[0].backends[0].kind,
        BackendKind::Redirect { code: 308, url, append_request: false }
            if url.text == "https://x/$1" && url.has_refs()
    ));
    let c = ok(&service("Redirect \"https://x\"\n"));
    assert!(matches!(
        c.services[0].backends[0].kind,
        BackendKind::Redirect {
            code: 302,
            append_request: true,
            ..
        }
    ));
    let c = ok(&service("Redirect \"https://x/\"\n"));
    assert!(matches!(
        &c.services[0].backends[0].kind,
        BackendKind::Redirect { url, append_request: false, .. } if url.text == "https://x"
    ));
    // pound starts with malformed expansions and answers 500 where they are needed.
    ok(&service("Redirect \"https://x/%[nope]\"\n"));
    warns(
        &service(&format!("Header \"x\"\nSetHeader \"X-A: $1(\"\n{BACKEND}")),
        &["p.cfg:3.11-20: warning: string expansion \"X-A: $1(\": missing closing parenthesis in reference started at offset 6; requests that need it will get 500"],
    );
    warns(
        &service("URL \"/\"\nRedirect \"http://x/$1(8)\"\n"),
        &["p.cfg:3.10-25: warning: string expansion \"http://x/$1(8)\" refers to non-existing group $1(8); requests that need it will get 500"],
    );
}

#[test]
fn priorities() {
    // pound 4.15 and later: 1 to 65535; more is cut to 65535 with pound's warning.
    fails(
        &service("Backend\nAddress 10.0.0.1\nPort 80\nPriority 0\nEnd\n"),
        &["p.cfg:5.10: value out of allowed range (>= 1)"],
    );
    let c = warns(
        &service("Backend\nAddress 10.0.0.1\nPort 80\nPriority 65536\nEnd\nBackend\nAddress 10.0.0.2\nPriority 10\nEnd\n"),
        &["p.cfg:2.1-6.3: backend priority out of allowed range; reset to max. 65535"],
    );
    let prios: Vec<u16> = c.services[0]
        .backends
        .iter()
        .map(|b| match &b.kind {
            BackendKind::Regular(r) => r.priority,
            _ => 0,
        })
        .collect();
    assert_eq!(prios, [65535, 10]);
    fails(
        &format!(
            "{}Backend \"b\"\nAddress 1.2.3.4\nPort 1\nEnd\n",
            service("Backend \"b\"\nPriority 0\nEnd\n")
        ),
        &["p.cfg:3.10: value out of allowed range (>= 1)"],
    );
}

#[test]
fn unique_names() {
    let l = "ListenHTTP \"a\"\nAddress 127.0.0.1\nPort 80\nEnd\n";
    fails(
        &format!("{l}{l}"),
        &["p.cfg:5.12-14: listener name is not unique"],
    );
    let s = format!("Service \"s\"\n{BACKEND}End\n");
    fails(
        &format!("{s}{s}"),
        &["p.cfg:7.9-11: service name is not unique"],
    );
    fails(
        &format!("ListenHTTP\nAddress 127.0.0.1\nPort 80\n{s}{s}End\n"),
        &["p.cfg:10.9-11: service name is not unique"],
    );
    // The same name in a listener and at top level is fine.
    ok(&format!(
        "ListenHTTP\nAddress 127.0.0.1\nPort 80\n{s}End\n{s}"
    ));
    fails(
        "ACL \"a\"\nEnd\nACL \"a\"\nEnd\n",
        &["p.cfg:3.5-7: ACL with that name already defined"],
    );
    fails(
        "LogFormat \"f\" \"%a\"\nLogFormat \"f\" \"%h\"\n",
        &["p.cfg:2.14: format already defined"],
    );
    fails(
        "LogFormat \"combined\" \"%a\"\n",
        &["p.cfg:1.21: format already defined"],
    );
    let b = "Backend \"b\"\nAddress 1.2.3.4\nPort 1\nEnd\n";
    fails(
        &format!("{b}{b}"),
        &[
            "p.cfg:5.1-8.3: redefinition of named backend b",
            "p.cfg:1.1-4.3: original definition was here",
        ],
    );
}

#[test]
fn definitions_before_use() {
    fails(&service("ACL \"x\"\n"), &["p.cfg:2.5-7: no such ACL: x"]);
    fails("TrustedIP \"x\"\n", &["p.cfg:1.11-13: no such ACL: x"]);
    fails(
        "LogLevel \"nope\"\n",
        &["p.cfg:1.10-15: undefined format: nope"],
    );
    fails(
        "LogLevel \"f\"\nLogFormat \"f\" \"%a\"\n",
        &["p.cfg:1.10-12: undefined format: f"],
    );
    let c = ok("LogFormat \"f\" \"%a\"\nLogLevel \"f\"\nLogLevel \"detailed\"\n");
    assert_eq!(c.global.log_level, LogLevel::Builtin(5));
    assert_eq!(ok("LogLevel 2\n").global.log_level, LogLevel::Builtin(2));
    fails("LogLevel 6\n", &["p.cfg:1.10: undefined log level"]);

    // Named backends may be used before they are defined.
    let c = ok(&format!(
        "{}{}Backend \"late\"\nAddress 1.2.3.4\nPort 1\nEnd\n",
        service("UseBackend \"late\"\n"),
        service("Backend \"late\"\nPriority 2\nDisabled yes\nEnd\n"),
    ));
    let BackendKind::Named(r) = &c.services[1].backends[0].kind else {
        panic!("named backend expected")
    };
    assert_eq!((r.index, r.priority, r.disabled), (0, Some(2), Some(true)));
    fails(
        &service("UseBackend \"none\"\n"),
        &["p.cfg:2.12-17: named backend none is not declared"],
    );
}

#[test]
fn backend_mixing() {
    let see = "p.cfg:1.7-7.3: see section \"DEPRECATED FEATURES\" in pound(8)";
    warns(
        &service(&format!("{BACKEND}Redirect \"http://x\"\n")),
        &[
            "p.cfg:1.7-7.3: warning: service mixes regular and redirect backends",
            see,
        ],
    );
    let see = "p.cfg:1.7-4.3: see section \"DEPRECATED FEATURES\" in pound(8)";
    warns(
        &service("Redirect \"http://x\"\nRedirect \"http://y\"\n"),
        &[
            "p.cfg:1.7-4.3: warning: service uses multiple redirect backends",
            see,
        ],
    );
    fails(
        &service(&format!("{BACKEND}Error 404\n")),
        &["p.cfg:1.7-7.3: service mixes backends of different types"],
    );
    fails(
        &service("Metrics\nMetrics\n"),
        &["p.cfg:1.7-4.3: multiple backends of this type are not allowed"],
    );
    fails(
        &service("Metrics\nACME \"/x\"\n"),
        &["p.cfg:3.1-4: unrecognized keyword"],
    );
    // pound accepts an `Emergency` beside a special backend.
    ok(&service(
        "Error 404\nEmergency\nAddress 1.2.3.4\nPort 80\nEnd\n",
    ));
    fails(
        &service("Error 299\n"),
        &["p.cfg:2.7-9: unsupported status code"],
    );
    // pound 4.23 takes 429 (its `TBF` example answers it).
    ok(&service("Error 429\n"));
    warns(
        "Service\nEnd\n",
        &["p.cfg:1.7-2.3: warning: no backends defined"],
    );
}

#[test]
fn regular_expressions_compile_at_load() {
    fails(
        &service("URL \"(abc\"\n"),
        &["p.cfg:2.5-10: Unmatched ( or \\("],
    );
    fails(
        &service("Header -re \"[[:bogus:]]\"\n"),
        &["p.cfg:2.12-24: Invalid character class name"],
    );
    // Exact matches are not regular expressions.
    ok(&service(&format!("Host -exact \"(abc\"\n{BACKEND}")));
    fails(
        &service("URL -bogus \"x\"\n"),
        &["p.cfg:2.5-10: unexpected token: -bogus"],
    );
}

#[test]
fn matching_defaults_and_options() {
    let c = ok(&service(&format!(
        "URL \"^/A\"\nHost \"www.x\"\nHeader \"^X:\"\nPath -icase -beg \"/a\"\n{BACKEND}"
    )));
    let m = |i: usize| match &c.services[0].conditions[i].kind {
        ConditionKind::Url(m)
        | ConditionKind::Host(m)
        | ConditionKind::Header(m)
        | ConditionKind::Path(m) => (m.mode, m.icase),
        _ => panic!(),
    };
    assert_eq!(m(0), (MatchMode::Regex, false));
    assert_eq!(m(1), (MatchMode::Exact, true));
    assert_eq!(m(2), (MatchMode::Regex, true));
    assert_eq!(m(3), (MatchMode::Prefix, true));

    // IgnoreCase applies to the matching directives that follow it.
    let (c, _) = run("IgnoreCase 1\nService\nURL \"x\"\nEnd\n");
    let ConditionKind::Url(m) = &c.unwrap().services[0].conditions[0].kind else {
        panic!()
    };
    assert!(m.icase);
}

#[test]
fn negation_and_match_blocks() {
    let c = ok(&service(&format!(
        "Not Match OR\nHost \"a\"\nNot URL \"^/x\"\nMatch AND\nPath \"/p\"\nEnd\nEnd\n{BACKEND}"
    )));
    let cond = &c.services[0].conditions[0];
    assert_eq!(cond.span.to_string(), "p.cfg:2.1-8.3");
    let ConditionKind::Not(inner) = &cond.kind else {
        panic!()
    };
    let ConditionKind::Match { op, conditions } = &inner.kind else {
        panic!()
    };
    assert_eq!(*op, BoolOp::Or);
    assert_eq!(conditions.len(), 3);
    assert!(matches!(conditions[1].kind, ConditionKind::Not(_)));
    fails(
        &service("Match XOR\nEnd\n"),
        &["p.cfg:2.7-9: expected AND or OR, but found XOR"],
    );
    fails(
        &service("Not Balancer random\n"),
        &["p.cfg:2.5-12: unrecognized keyword"],
    );
}

#[test]
fn rewrite_blocks() {
    let c = ok(&service(&format!(
        "Rewrite\nPath \"a\"\nSetPath \"/1\"\nElse\nPath \"b\"\nSetPath \"/2\"\nElse\nSetPath \"/3\"\nEnd\nRewrite response\nHeader \"^Server:\"\nDeleteHeader \"^Server:\"\nEnd\n{BACKEND}"
    )));
    let s = &c.services[0];
    let Modification::Rewrite(r) = &s.request[0] else {
        panic!()
    };
    assert_eq!(r.branches.len(), 3);
    assert_eq!(r.branches[2].conditions.len(), 0);
    assert_eq!(s.response.len(), 1);
    fails(
        &service("Rewrite response\nURL \"x\"\nEnd\n"),
        &["p.cfg:3.1-3: unrecognized keyword"],
    );
    fails(
        &service("Rewrite sideways\nEnd\n"),
        &["p.cfg:2.9-16: expected response, request, or newline, but found identifier"],
    );
    warns(
        &service("SetHeader \"no colon\"\n"),
        &[
            "p.cfg:2.11-20: warning: not a header line (\"Name: value\"); requests that need it will get 500",
            "p.cfg:1.7-3.3: warning: no backends defined",
        ],
    );
}

#[test]
fn deprecated_statements_warn() {
    let c = warns(
        &format!(
            "Threads 7\nIgnoreCase 0\n{}ListenHTTP\nPort 80\n\
             HeaderAdd \"X: 1\"\nAddHeader \"Y: 2\"\nHeaderRemove \"^Z:\"\nHeadRemove \"^W:\"\nEnd\n",
            service(&format!(
                "HeadRequire \"^A:\"\nHeadDeny \"^B:\"\nIgnoreCase 1\n{BACKEND}"
            ))
        ),
        &[
            "p.cfg:2.1-10: warning: deprecated statement, use the -icase matching directive flag to request case-insensitive comparison",
            "p.cfg:4.1-11: warning: deprecated statement, use \"Header\" instead",
            "p.cfg:5.1-8: warning: deprecated statement, use \"Not Header\" instead",
            "p.cfg:6.1-10: warning: deprecated statement, use the -icase matching directive flag to request case-insensitive comparison",
            "p.cfg:14.1-9: warning: deprecated statement, use \"SetHeader\" instead",
            "p.cfg:15.1-9: warning: deprecated statement, use \"SetHeader\" instead",
            "p.cfg:16.1-12: warning: deprecated statement, use \"DeleteHeader\" instead",
            "p.cfg:17.1-10: warning: deprecated statement, use \"DeleteHeader\" instead",
        ],
    );
    // pound 4.23 takes the old modification spellings directly in listeners only.
    for old in ["HeaderAdd \"X: 1\"", "HeadRemove \"^W:\""] {
        fails(
            &service(&format!("{old}\n")),
            &[format!("p.cfg:2.1-{}: unrecognized keyword", old.find(' ').unwrap()).as_str()],
        );
    }
    assert_eq!(
        (c.global.worker_min_count, c.global.worker_max_count),
        (7, 7)
    );
    assert!(matches!(
        c.services[0].conditions[1].kind,
        ConditionKind::Not(_)
    ));
    // -W no-warn-deprecated silences them.
    let opts = Options {
        include_dir: None,
        warn_deprecated: false,
    };
    let fs = MemoryFs::new().with_file("p.cfg", "IgnoreCase 1\n");
    assert!(load(&fs, "p.cfg", &opts).diagnostics.is_empty());
}

#[test]
fn escapes_warn_and_keep_the_character() {
    let c = warns(
        "User \"a\\.b\\\\c\\\"d\"\n",
        &["p.cfg:1.9: unrecognized escape character"],
    );
    assert_eq!(c.global.user.as_deref(), Some("a.b\\c\"d"));
}

#[test]
fn includes_resolve_against_the_include_directory() {
    let fs = MemoryFs::new()
        .with_file(
            "p.cfg",
            "Include \"acl.cfg\"\nService\nInclude \"svc.cfg\"\nEnd\nInclude \"/abs/x.cfg\"\n",
        )
        .with_file(format!("{INC}/acl.cfg"), "ACL \"a\"\nInclude \"nets.cfg\"\nEnd\n")
        .with_file(format!("{INC}/nets.cfg"), "\"10.0.0.0/8\"\n\"192.0.2.0/24\"")
        .with_file(
            format!("{INC}/svc.cfg"),
            "ACL \"a\"\nMatch OR\nInclude \"cond.cfg\"\nEnd\nBackend\nAddress 1.2.3.4\nPort 1\nEnd\nSession\nInclude \"sess.cfg\"\nEnd\n",
        )
        .with_file(format!("{INC}/cond.cfg"), "Host \"a\"\nHost \"b\"\n")
        .with_file(format!("{INC}/sess.cfg"), "Type IP\nTTL 30\n")
        .with_file("/abs/x.cfg", "Alive 7\n");
    let (c, d) = load_fs(&fs);
    assert!(d.is_empty(), "{d:?}");
    let c = c.unwrap();
    assert_eq!(c.acls[0].entries.load().len(), 2);
    assert_eq!(c.services[0].conditions.len(), 2);
    assert!(c.services[0].session.is_some());
    assert_eq!(c.global.alive, 7);
    // Objects from an included file carry that file's name, as the `Include` wrote it, in
    // their location (pound 4.23 names it so).
    assert_eq!(c.acls[0].span.file.as_ref(), "acl.cfg");
    assert_eq!(
        c.services[0].backends[0].span.to_string(),
        "svc.cfg:5.1-8.3"
    );
}

#[test]
fn include_errors() {
    let (_, d) = run("Include \"missing.cfg\"\n");
    assert_eq!(
        d,
        vec!["p.cfg:1.9-21: can't stat /inc/missing.cfg: No such file or directory"]
    );
    let fs = MemoryFs::new()
        .with_file("p.cfg", "Include \"a.cfg\"\n")
        .with_file("/inc/a.cfg", "Include \"b.cfg\"\n")
        .with_file("/inc/b.cfg", "Include \"a.cfg\"\n");
    let (c, d) = load_fs(&fs);
    assert!(c.is_none());
    assert_eq!(
        d,
        vec![
            "b.cfg:1.9-15: a.cfg already included",
            "p.cfg:1.15: here is the location of original inclusion",
        ]
    );
    let fs = MemoryFs::new()
        .with_file("p.cfg", "Include \"/top.cfg\"\n")
        .with_file("/top.cfg", "Include \"/top.cfg\"\n");
    let (_, d) = load_fs(&fs);
    assert_eq!(d.len(), 2);
    // The main file itself cannot be included again.
    let fs = MemoryFs::new()
        .with_file("p.cfg", "Include \"/x\"\n")
        .with_file("/x", "Include \"p.cfg\"\n");
    let opts = Options {
        include_dir: None,
        warn_deprecated: true,
    };
    let d: Vec<String> = load(&fs, "p.cfg", &opts)
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(d, vec!["/x:1.9-15: p.cfg already included (at top level)"]);
    // The same file may be included again once it has been read: only loops are refused.
    let fs = MemoryFs::new()
        .with_file(
            "p.cfg",
            "Service\nInclude \"be.cfg\"\nEnd\nService\nInclude \"be.cfg\"\nEnd\n",
        )
        .with_file("/inc/be.cfg", BACKEND);
    let (c, d) = load_fs(&fs);
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(c.unwrap().services[1].backends.len(), 1);
    // IncludeDir changes where later relative names are looked up.
    let fs = MemoryFs::new()
        .with_file("p.cfg", "IncludeDir \"/other\"\nInclude \"x.cfg\"\n")
        .with_file("/other/x.cfg", "Alive 3\n");
    assert_eq!(load_fs(&fs).0.unwrap().global.alive, 3);
}

#[test]
fn missing_main_file() {
    let (c, d) = load_fs(&MemoryFs::new());
    assert!(c.is_none());
    assert_eq!(d, vec!["can't stat p.cfg: No such file or directory"]);
}

#[test]
fn pattern_files() {
    let fs = MemoryFs::new()
        .with_file(
            "p.cfg",
            format!("Service\nURL -file \"urls\"\nHost -file -exact \"/hosts\"\n{BACKEND}End\n"),
        )
        .with_file("/inc/urls", "# comment\n\n  ^/a  \n^/b\n")
        .with_file("/hosts", "a.example\nb.example\n");
    let (c, d) = load_fs(&fs);
    assert!(d.is_empty(), "{d:?}");
    let c = c.unwrap();
    let ConditionKind::Url(m) = &c.services[0].conditions[0].kind else {
        panic!()
    };
    let texts: Vec<_> = m.patterns.load().iter().map(|p| p.text.clone()).collect();
    assert_eq!(texts, vec!["^/a", "^/b"]);
    assert!(m.is_match(b"/b/c"));
    assert_eq!(m.file.as_deref(), Some(std::path::Path::new("/inc/urls")));

    let fs = MemoryFs::new()
        .with_file("p.cfg", "Service\nURL -file \"urls\"\nEnd\n")
        .with_file("/inc/urls", "^/ok\n  (bad\n");
    let (_, d) = load_fs(&fs);
    // pound reports a bad expression of a list and goes on without it.
    assert_eq!(
        d,
        vec![
            "/inc/urls:2: Unmatched ( or \\(",
            "p.cfg:1.7-3.3: warning: no backends defined"
        ]
    );
}

#[test]
fn acls() {
    fails(
        "ACL \"a\"\n\"10.0.0.300/8\"\nEnd\n",
        &["p.cfg:2.1-14: invalid IP address: Name or service not known"],
    );
    fails(
        "ACL \"a\"\n\"10.0.0.0/400\"\nEnd\n",
        &["p.cfg:2.1-14: invalid netmask"],
    );
    warns(
        "ACL \"a\"\n\"10.0.0.0/40\" \"::1\"\nEnd\n",
        &["p.cfg:2.1-13: warning: netmask longer than the address; 10.0.0.0/32 used, as pound does"],
    );
    fails(
        "ACL \"a\"\nAddress 1\nEnd\n",
        &["p.cfg:2.1-7: expected CIDR, \"Include\", or \"End\", but found identifier"],
    );
    // A condition naming an ACL spans its own line, not the ACL's definition.
    let c = ok(&format!(
        "ACL \"a\"\n\"10.0.0.0/8\"\nEnd\n{}",
        service(&format!("  ACL \"a\"\nNot ACL\n\"::1\"\nEnd\n{BACKEND}"))
    ));
    assert_eq!(c.services[0].conditions[0].span.to_string(), "p.cfg:5.3-9");
    assert_eq!(
        c.services[0].conditions[1].span.to_string(),
        "p.cfg:6.1-8.3"
    );
    let c = ok("TrustedIP\n\"127.0.0.1/8\"\n\"::1\"\nEnd\n");
    let acl = c.global.trusted_ip.unwrap();
    assert!(acl.contains("127.1.2.3".parse().unwrap()));
    assert!(acl.contains("::1".parse().unwrap()));
}

#[test]
fn control_socket() {
    let c = ok("Control \"/run/p.sock\"\n");
    assert_eq!(c.global.control.unwrap().mode, 0o600);
    let c = ok("Control\nSocket \"/run/p.sock\"\nMode 660\nChangeOwner true\nEnd\n");
    let ctl = c.global.control.unwrap();
    assert_eq!((ctl.mode, ctl.change_owner), (0o660, true));
    fails(
        "Control\nMode 600\nEnd\n",
        &["p.cfg:1.7-3.3: Socket statement is missing"],
    );
    fails(
        "Control\nSocket \"/s\"\nMode 689\nEnd\n",
        &["p.cfg:3.6-8: invalid file mode"],
    );
    // Relative socket names are used as written (pound 4.23).
    let c = ok("Control \"p.sock\"\n");
    assert_eq!(
        c.global.control.unwrap().socket,
        std::path::Path::new("p.sock")
    );
}

#[test]
fn global_values() {
    fails(
        "LogFacility bogus\n",
        &["p.cfg:1.13-17: unknown log facility name"],
    );
    assert_eq!(
        ok("LogFacility -\n").global.log_facility,
        LogFacility::Stderr
    );
    assert_eq!(
        ok("LogFacility LOCAL3\n").global.log_facility,
        LogFacility::Syslog("local3".into())
    );
    fails(
        "Balancer fair\n",
        &["p.cfg:1.10-13: unsupported balancing strategy: fair"],
    );
    assert_eq!(ok("Balancer IWRR\n").global.balancer, Balancer::Iwrr);
    fails("HeaderOption bogus\n", &["p.cfg:1.14-18: unknown option"]);
    let h = ok("HeaderOption none\nHeaderOption ssl\n")
        .global
        .header_options;
    assert_eq!((h.forwarded, h.ssl), (false, true));
    fails(
        "WorkerMinCount 10\nWorkerMaxCount 5\n",
        &[
            "WorkerMinCount is greater than WorkerMaxCount",
            "pound terminated",
        ],
    );
}

#[test]
fn globals_apply_to_later_objects() {
    let l = "ListenHTTP\nAddress 127.0.0.1\nPort 80\nEnd\n";
    let c = ok(&format!(
        "{l}LogLevel 3\nClient 20\nHeaderOption no-ssl\n{l}"
    ));
    assert_eq!(c.listeners[0].log_level, LogLevel::Builtin(1));
    assert_eq!(c.listeners[1].log_level, LogLevel::Builtin(3));
    assert_eq!((c.listeners[0].client, c.listeners[1].client), (10, 20));
    assert!(c.listeners[0].header_options.ssl && !c.listeners[1].header_options.ssl);

    let c = ok(&format!("TimeOut 7\n{}", service(BACKEND)));
    let BackendKind::Regular(b) = &c.services[0].backends[0].kind else {
        panic!()
    };
    // ConnTO defaults to the TimeOut value.
    assert_eq!(
        (b.timeout, b.conn_to, b.ws_timeout, b.priority),
        (7, 7, 600, 5)
    );
}

#[test]
fn log_suppress() {
    let c = ok(&service(&format!("LogSuppress success 4\n{BACKEND}")));
    let ls = c.services[0].log_suppress;
    assert!(ls.suppresses(200) && ls.suppresses(404) && !ls.suppresses(500));
    let c = ok(&service(&format!("LogSuppress all\n{BACKEND}")));
    assert!((100..600)
        .step_by(100)
        .all(|s| c.services[0].log_suppress.suppresses(s)));
    fails(
        &service("LogSuppress weird\n"),
        &["p.cfg:2.13-17: unsupported status mask"],
    );
    // pound 4.23 takes 6 (a class without statuses), not 7.
    ok(&service(&format!("LogSuppress 6\n{BACKEND}")));
    fails(
        &service("LogSuppress 7\n"),
        &["p.cfg:2.13: unsupported status mask"],
    );
}

#[test]
fn backend_tls_order() {
    fails(
        &service("Backend\nAddress 1.2.3.4\nPort 443\nCert \"c.pem\"\nEnd\n"),
        &["p.cfg:5.1-4: HTTPS must be used before this statement"],
    );
    let c = ok(&service(
        "Backend\nAddress 1.2.3.4\nPort 443\nHTTPS\nCert \"c.pem\"\nDisable TLSv1_1\nEnd\n",
    ));
    let BackendKind::Regular(b) = &c.services[0].backends[0].kind else {
        panic!()
    };
    let tls = b.tls.clone().unwrap();
    assert_eq!(
        tls.cert.as_deref(),
        Some(std::path::Path::new("/inc/c.pem"))
    );
    assert_eq!(tls.disable, Some(TlsProtocol::TlsV1_1));
    fails(
        &service("Backend\nAddress 1.2.3.4\nPort 443\nHTTPS\nDisable TLSv9\nEnd\n"),
        &["p.cfg:6.9-13: unrecognized protocol name"],
    );
}

#[test]
fn error_pages_are_read_at_load() {
    let fs = MemoryFs::new()
        .with_file(
            "p.cfg",
            "ListenHTTP\nAddress 127.0.0.1\nPort 80\nErr503 \"busy.html\"\nEnd\nService\nError 404 \"/nf.html\"\nEnd\n",
        )
        .with_file("/inc/busy.html", "busy")
        .with_file("/nf.html", "not found");
    let (c, d) = load_fs(&fs);
    // pound 4.23 reads the old spelling, with a warning.
    assert_eq!(
        d,
        ["p.cfg:4.1-6: warning: deprecated statement, use \"ErrorFile 503\" instead"]
    );
    let c = c.unwrap();
    assert_eq!(&*c.listeners[0].error_pages[&503].page.body, b"busy");
    let BackendKind::Error { status, page } = &c.services[0].backends[0].kind else {
        panic!()
    };
    assert_eq!(
        (*status, &*page.as_ref().unwrap().page.body),
        (404, &b"not found"[..])
    );
    fails(
        "ListenHTTP\nErrorFile 404 \"/none.html\"\nEnd\n",
        &["p.cfg:2.15-26: can't open /none.html: No such file or directory"],
    );
    fails(
        "ListenHTTP\nErrorFile 402 \"/nf.html\"\nEnd\n",
        &["p.cfg:2.11-13: unsupported status code"],
    );
    let fs = MemoryFs::new()
        .with_file("p.cfg", "ListenHTTP\nErrorFile 200 \"empty\"\nEnd\n")
        .with_file("/inc/empty", "");
    assert_eq!(load_fs(&fs).1, ["p.cfg:2.15-21: empty: empty file"]);
}

#[test]
fn listener_acme_service() {
    // The directory must exist; it is named relative to the working directory.
    let text = "ListenHTTP\nAddress 127.0.0.1\nPort 80\nACME \"acme\"\nEnd\n";
    let (c, d) = load_fs(
        &MemoryFs::new()
            .with_file("p.cfg", text)
            .with_file("acme/x", ""),
    );
    assert!(d.is_empty(), "{d:?}");
    let c = c.unwrap();
    let s = &c.listeners[0].services[0];
    assert!(matches!(&s.backends[0].kind, BackendKind::Acme { directory } if directory == "acme"));
    let ConditionKind::Path(m) = &s.conditions[0].kind else {
        panic!()
    };
    assert!(m.is_match(b"/.well-known/acme-challenge/token"));
    assert!(!m.is_match(b"/.well-known/acme-challenge/"));
}

#[test]
fn statements_are_recorded_in_order() {
    let c = ok(&service(&format!("Not URL \"x\"\n{BACKEND}")));
    let kws: Vec<_> = c.statements.iter().map(|s| s.keyword).collect();
    assert_eq!(
        kws,
        vec!["Service", "Not", "URL", "Backend", "Address", "Port"]
    );
    assert_eq!(c.statements[2].span.to_string(), "p.cfg:2.5-7");
}

#[test]
fn keywords_are_case_insensitive() {
    let c = ok("listenhttp\naddress 127.0.0.1\nPORT 80\nend\nSERVICE\nurl \"x\"\nbackend\naddress 1.2.3.4\nport 1\nEND\nEnd\n");
    assert_eq!(c.listeners.len(), 1);
    assert_eq!(c.statements[0].keyword, "ListenHTTP");
}

#[test]
fn client_limits_are_global_defaults_and_per_listener() {
    use crate::model::ClientLimits;
    let c = ok("ClientMinRate 1000\nClientMaxConnections 50\n\
         ListenHTTP\nAddress 127.0.0.1\nPort 80\nClientRateGrace 4\nClientMaxRequests 8\n\
         HTTP2MaxSlowStreams 3\nEnd\n\
         ListenHTTP\nAddress 127.0.0.1\nPort 81\nClientMinRate 0\nEnd\n");
    assert_eq!(
        c.listeners[0].client_limits,
        ClientLimits {
            min_rate: 1000,
            rate_grace: Some(4),
            max_connections: 50,
            max_requests: 8,
        }
    );
    assert_eq!(c.listeners[0].http2.slow_streams, 3);
    assert_eq!(c.listeners[1].client_limits.min_rate, 0);
    assert_eq!(c.listeners[1].client_limits.rate_grace, None);
    assert_eq!(c.listeners[1].http2.slow_streams, 16);
    let d = ok("ListenHTTP\nAddress 127.0.0.1\nPort 80\nEnd\n");
    assert_eq!(d.listeners[0].client_limits, ClientLimits::default());
    assert_eq!(d.listeners[0].client_limits.min_rate, 512);
    fails(
        "ListenHTTP\nAddress 127.0.0.1\nPort 80\nClientMinRate -1\nEnd\n",
        &["p.cfg:4.15-16: expected number, but found literal"],
    );
    fails(
        "ListenHTTP\nAddress 127.0.0.1\nPort 80\nHTTP2MaxSlowStreams 0\nEnd\n",
        &["p.cfg:4.21: value out of allowed range (1..65536)"],
    );
}

#[test]
fn combine_headers() {
    let c = ok("CombineHeaders\n\"Accept\"\n\"x-foo\" \"Via\"\n\n\"accept\"\nEnd\n");
    assert_eq!(c.global.combine_headers, ["Accept", "x-foo", "Via"]);
    let c = load_fs(
        &MemoryFs::new()
            .with_file("p.cfg", "CombineHeaders\nInclude \"mvh.inc\"\nEnd\n")
            .with_file("/inc/mvh.inc", "\"Allow\"\n\"Cache-Control\"\n"),
    );
    assert_eq!(c.1, Vec::<String>::new());
    assert_eq!(
        c.0.expect("config").global.combine_headers,
        ["Allow", "Cache-Control"]
    );
    fails(
        "CombineHeaders\nX-Foo\nEnd\n",
        &["p.cfg:2.1-5: expected quoted string, \"Include\", or \"End\", but found literal"],
    );
    fails(
        "CombineHeaders \"X\"\nEnd\n",
        &["p.cfg:1.16-18: expected newline, but found quoted string"],
    );
    fails(
        "CombineHeaders\n12\nEnd\n",
        &["p.cfg:2.1-2: expected quoted string, \"Include\", or \"End\", but found number"],
    );
    fails(
        "ListenHTTP\nCombineHeaders\nEnd\nEnd\n",
        &["p.cfg:2.1-14: unrecognized keyword"],
    );
    let c = run("CombineHeaders\n\"Content-Length\"\n\"Via\"\nEnd\n");
    assert_eq!(
        c.1,
        ["p.cfg:2.1-16: warning: Content-Length is never combined; ignored"]
    );
    assert_eq!(c.0.expect("config").global.combine_headers, ["Via"]);
}

/// Socket names are used as written: pound does not look for them in the include directory.
#[test]
fn socket_names_are_not_resolved_against_the_include_directory() {
    let c = ok("Control \"ctl.sock\"\nListenHTTP\nSocketFrom \"lst0.sock\"\nEnd\n");
    assert_eq!(
        c.global.control.expect("control").socket,
        std::path::PathBuf::from("ctl.sock")
    );
    assert_eq!(
        c.listeners[0].addr,
        ListenAddr::SocketFrom("lst0.sock".into())
    );
    let c = ok("Control\nSocket \"ctl.sock\"\nEnd\n");
    assert_eq!(
        c.global.control.expect("control").socket,
        std::path::PathBuf::from("ctl.sock")
    );
}

#[test]
fn server_name_in_backends_and_emergency() {
    let c = ok(&service(
        "Backend\nAddress 10.0.0.1\nServerName \"a.example\"\nHTTPS\nEnd\nEmergency\nAddress 10.0.0.2\nServerName \"b.example\"\nEnd\n",
    ));
    let name = |b: &Backend| match &b.kind {
        BackendKind::Regular(r) => r.server_name.clone(),
        _ => None,
    };
    assert_eq!(
        name(&c.services[0].backends[0]).as_deref(),
        Some("a.example")
    );
    assert_eq!(
        name(&c.services[0].emergency[0]).as_deref(),
        Some("b.example")
    );
    fails(
        &service("Backend\nAddress 10.0.0.1\nServerName a\nEnd\n"),
        &["p.cfg:4.12: expected quoted string, but found identifier"],
    );
}

/// pound takes ports above 65535 and uses them modulo 65536 (65537 listens on port 1).
#[test]
fn ports_above_65535_wrap_as_in_pound() {
    let c = warns(
        "ListenHTTP\nAddress 127.0.0.1\nPort 65537\nEnd\n",
        &["p.cfg:3.6-10: warning: port 65537 is out of range; 1 is used, as pound uses it"],
    );
    assert_eq!(
        c.listeners[0].addr,
        ListenAddr::Inet {
            host: "127.0.0.1".into(),
            port: 1
        }
    );
}
