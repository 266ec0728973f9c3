//! Request routing and rewriting end to end: service selection by every matching directive,
//! string expansion, request and response modification, the special backends and Basic
//! authentication, through the real `pound` binary.

mod common;

use common::net::*;

fn write(pound_dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = pound_dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pound-routing-{}-{}",
        std::process::id(),
        fastrand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fastrand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn get(pound: &Pound, target: &str, extra: &str) -> Response {
    let mut c = pound.connect();
    c.send(format!(
        "GET {target} HTTP/1.1\r\nHost: www.example.org\r\n{extra}\r\n"
    ));
    c.response()
}

/// One service per matching directive, each naming its backend in the body; the first
/// service whose conditions hold answers.
#[test]
fn every_matching_directive_selects_its_service() {
    let dir = scratch();
    write(
        &dir,
        "inc/hosts.txt",
        "# virtual hosts\n\n  files.example.org  \nstatic.example.org\n",
    );
    let names = [
        "url", "path", "query", "param", "header", "host", "file", "string", "acl", "not", "or",
        "icase", "fallback",
    ];
    let backends: Vec<Backend> = names.iter().map(|n| Backend::named(n)).collect();
    let svc = |cond: &str, b: &Backend| format!("Service\n{cond}Backend\n{}End\nEnd\n", b.config());
    let config = format!(
        "IncludeDir \"{}/inc\"\nListenHTTP\nLISTEN\nEnd\n{}{}{}{}{}{}{}{}{}{}{}{}{}Service\nDisabled 1\nBackend\n{}End\nEnd\n",
        dir.display(),
        svc("URL \"^/u/[0-9]+$\"\n", &backends[0]),
        svc("Path -beg \"/p/\"\n", &backends[1]),
        svc("Query \"(^|&)q=1(&|$)\"\n", &backends[2]),
        svc("QueryParam \"id\" -exact \"7\"\n", &backends[3]),
        svc("Header \"^X-Route:[[:space:]]*yes$\"\n", &backends[4]),
        svc("Host \"api.example.org\"\n", &backends[5]),
        svc("Host -file \"hosts.txt\"\n", &backends[6]),
        svc("StringMatch \"%[header X-A]-%[param b]\" \"^a-b$\"\n", &backends[7]),
        svc("ACL\n\"10.0.0.0/8\"\nEnd\n", &backends[8]),
        svc("Not ACL\n\"127.0.0.0/8\"\n\"::1\"\nEnd\n", &backends[8]),
        svc("Not Match OR\nURL \"^/\"\nHost \"x\"\nEnd\n", &backends[9]),
        svc("Match OR\nPath \"^/or1$\"\nMatch AND\nPath \"^/or2$\"\nHeader \"X-Or: 1\"\nEnd\nEnd\n", &backends[10]),
        svc("URL -icase \"^/CASE$\"\n", &backends[11]),
        backends[12].config(),
    );
    // The disabled service comes before the fallback and would take everything.
    let config = config.replace(
        &format!(
            "Service\nDisabled 1\nBackend\n{}End\nEnd\n",
            backends[12].config()
        ),
        &format!(
            "Service\nDisabled 1\nBackend\n{}End\nEnd\nService\nBackend\n{}End\nEnd\n",
            backends[8].config(),
            backends[12].config()
        ),
    );
    let pound = Pound::start(&config);
    let cases = [
        ("/u/12", "", "url"),
        ("/u/12x", "", "fallback"),
        ("/p/x", "", "path"),
        ("/x?a=2&q=1", "", "query"),
        ("/x?q=12", "", "fallback"),
        ("/x?id=7&z", "", "param"),
        ("/x?id=70", "", "fallback"),
        ("/x", "X-Route: yes\r\n", "header"),
        ("/x", "x-route:  yes\r\n", "header"),
        ("/or1", "", "or"),
        ("/or2", "X-Or: 1\r\n", "or"),
        ("/or2", "", "fallback"),
        ("/CaSe", "", "icase"),
        ("/x?b=b", "X-A: a\r\n", "string"),
    ];
    for (target, extra, want) in cases {
        let r = get(&pound, target, extra);
        assert_eq!(r.text(), want, "GET {target} {extra:?}");
    }
    for (host, want) in [
        ("api.example.org", "host"),
        ("API.Example.ORG", "host"),
        ("api.example.org:80", "fallback"),
        ("files.example.org", "file"),
        ("static.example.org", "file"),
        ("virtual", "fallback"),
    ] {
        let mut c = pound.connect();
        c.send(format!("GET /h HTTP/1.1\r\nHost: {host}\r\n\r\n"));
        assert_eq!(c.response().text(), want, "Host {host}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Built-in headers first, then the listener's modifications, then the service's, in file
/// order; later directives see earlier changes.
#[test]
fn modifications_reach_the_backend_in_order() {
    let backend = Backend::named("ok");
    let config = format!(
        "LogLevel 1\nListenHTTP\nLISTEN\nSetHeader \"X-Listener: %[path]\"\nDeleteHeader \"^X-Forwarded-Port:\"\nEnd\n\
         Service\nURL \"^/old/([^/?]+)\"\nSetURL \"/new/$1?%[query]\"\nSetQueryParam \"seen\" \"$1\"\n\
         SetHeader \"X-Path: %[path]\"\nSetHeader \"X-Listener: replaced\"\nDeleteHeader -icase \"^x-secret:\"\n\
         Rewrite\nHeader \"^X-Mode: a\"\nSetPath \"/a%[path]\"\nElse\nHeader \"^X-Mode: b\"\nSetPath \"/b%[path]\"\nElse\nSetQuery \"\"\nEnd\n\
         Backend\n{}End\nEnd\n",
        backend.config()
    );
    let pound = Pound::start(&config);
    let cases = [
        ("X-Mode: a\r\n", "GET /a/new/item?k=v&seen=item HTTP/1.1"),
        ("X-Mode: b\r\n", "GET /b/new/item?k=v&seen=item HTTP/1.1"),
        // `SetQuery ""` leaves an empty query, as in pound 4.23.
        ("", "GET /new/item? HTTP/1.1"),
    ];
    for (extra, line) in cases {
        let r = get(
            &pound,
            "/old/item?k=v",
            &format!("X-Secret: s\r\nX-Listener: client\r\n{extra}"),
        );
        assert_eq!(r.status, 200);
        let got = backend.requests().pop().unwrap();
        assert_eq!(got.line(), line);
        assert_eq!(got.header("X-Path").as_deref(), Some("/new/item"));
        assert_eq!(got.header("X-Listener").as_deref(), Some("replaced"));
        assert_eq!(got.head.matches("X-Listener").count(), 1, "{}", got.head);
        assert_eq!(got.header("X-Secret"), None);
        assert_eq!(got.header("X-Forwarded-Port"), None);
        assert_eq!(got.header("X-Forwarded-For").as_deref(), Some("127.0.0.1"));
    }
    // The log shows the request as the client sent it.
    pound.out.wait_for("GET /old/item?k=v HTTP/1.1");
}

#[test]
fn response_rewrites_service_then_listener() {
    let backend = Backend::start(|_| {
        Reply::Send(
            b"HTTP/1.1 200 OK\r\nServer: Apache/2\r\nX-Powered-By: PHP\r\nContent-Length: 2\r\n\r\nok"
                .to_vec(),
        )
    });
    let config = format!(
        "ListenHTTP\nLISTEN\nRewrite response\nHeader \"^X-Service:\"\nSetHeader \"X-Listener-Saw: %[path]\"\nEnd\nEnd\n\
         Service\nRewrite response\nHeader \"^Server: (.*)\"\nSetHeader \"X-Service: was $1\"\nDeleteHeader \"^(Server|X-Powered-By):\"\nElse\nSetHeader \"X-Else: 1\"\nEnd\n\
         Backend\n{}End\nEnd\n",
        backend.config()
    );
    let pound = Pound::start(&config);
    let r = get(&pound, "/r?x", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "ok");
    assert_eq!(r.header("X-Service").as_deref(), Some("was Apache/2"));
    assert_eq!(r.header("X-Listener-Saw").as_deref(), Some("/r"));
    assert_eq!(r.header("Server"), None);
    assert_eq!(r.header("X-Powered-By"), None);
    assert_eq!(r.header("X-Else"), None);
    assert_eq!(r.header("Content-Length").as_deref(), Some("2"));
}

#[test]
fn redirects_follow_the_manual() {
    let config = "ListenHTTP\nLISTEN\nEnd\n\
        Service\nURL \"^/pure/\"\nRedirect \"http://abc.example\"\nEnd\n\
        Service\nURL \"^/page/\"\nRedirect 301 \"http://abc.example/index.html\"\nEnd\n\
        Service\nURL \"^/slash/\"\nRedirect 303 \"http://example.org/\"\nEnd\n\
        Service\nHost -re \"(.+)\"\nURL \"^/swap/([^/]+)/([^/]+)(/.*)?\"\nRedirect 307 \"http://$0(1)/$2/$1$3\"\nEnd\n\
        Service\nURL \"^/acc/([^/]+)/([^/]+)(/.*)?\"\nRedirect 308 \"http://%[header host]/$2/$1$3\"\nEnd\n\
        Service\nHost -re \".+\"\nURL \".*\"\nRedirect 301 \"https://$0(1)$0\"\nEnd\n";
    let pound = Pound::start(config);
    let cases = [
        ("/pure/a/b?c=d", 302, "http://abc.example/pure/a/b?c=d"),
        ("/page/x", 301, "http://abc.example/index.html"),
        ("/slash/x", 303, "http://example.org"),
        ("/swap/a/b/c", 307, "http://www.example.org/b/a/c"),
        ("/acc/a/b", 308, "http://www.example.org/b/a"),
        ("/any?q", 301, "https://www.example.org/any?q"),
    ];
    for (target, status, location) in cases {
        let mut c = pound.connect();
        c.send(format!(
            "GET {target} HTTP/1.1\r\nHost: www.example.org\r\n\r\n"
        ));
        let r = c.response();
        assert_eq!(r.status, status, "{target}: {}", r.head);
        assert_eq!(r.header("Location").as_deref(), Some(location), "{target}");
        assert_eq!(r.header("Content-Type").as_deref(), Some("text/html"));
        assert_eq!(
            r.text(),
            format!("<html><head><title>Redirect</title></head><body><h1>Redirect</h1><p>You should go to <a href=\"{location}\">{location}</a></p></body></html>")
        );
        assert!(c.is_closed());
    }
    pound.out.wait_for("GET /swap/a/b/c HTTP/1.1 - 307");
}

/// The manual's authentication service: `Not BasicAuth` + `Rewrite response` + `Error 401`,
/// with each kind of htpasswd hash, the file read relative to the include directory.
#[test]
fn basic_authentication_service() {
    let dir = scratch();
    write(
        &dir,
        "inc/htpass",
        "# users\nalice:$apr1$abcdefgh$heejsnde5T6g6eroYlT2k/\n\nbob:{SHA}cRQ3iPZN/cUFUyAxdC91S5hcXvA=\n\
         carol:$6$saltsalt$C4RIzsZQIZD5.VEF3opYL3gpxyszQ5ZhzXA6QVzJgu5AFkGPMkRyVj.ao7MicoMK9iVtJ6ezaZhxMP8Sj1Ymr0\n\
         dave:pa:ss wörd\n",
    );
    let backend = Backend::named("secret");
    let config = format!(
        "IncludeDir \"{}/inc\"\nLogLevel 4\nListenHTTP\nLISTEN\nEnd\n\
         Service \"auth\"\nNot BasicAuth \"htpass\"\nRewrite response\nSetHeader \"WWW-Authenticate: Basic realm=\\\"Restricted access\\\"\"\nEnd\nError 401\nEnd\n\
         Service\nBackend\n{}End\nEnd\n",
        dir.display(),
        backend.config()
    );
    let pound = Pound::start(&config);
    let r = get(&pound, "/", "");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("WWW-Authenticate").as_deref(),
        Some("Basic realm=\"Restricted access\"")
    );
    assert_eq!(r.header("Content-Type").as_deref(), Some("text/html"));
    assert!(
        r.text()
            .contains("could not verify that you are authorized"),
        "{}",
        r.text()
    );
    assert_eq!(
        get(&pound, "/", "Authorization: Basic YWxpY2U6bm9wZQ==\r\n").status,
        401
    );
    for (user, creds) in [
        ("alice", "YWxpY2U6cGE6c3Mgd8O2cmQ="),
        ("bob", "Ym9iOnBhOnNzIHfDtnJk"),
        ("carol", "Y2Fyb2w6cGE6c3Mgd8O2cmQ="),
        ("dave", "ZGF2ZTpwYTpzcyB3w7ZyZA=="),
    ] {
        let r = get(&pound, "/", &format!("Authorization: Basic {creds}\r\n"));
        assert_eq!((r.status, r.text()), (200, "secret".to_string()), "{user}");
        pound.out.wait_for(&format!("127.0.0.1 - {user} ["));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn error_backend_pages() {
    let dir = scratch();
    let page = write(&dir, "gone.html", "<p>gone</p>");
    let err404 = write(&dir, "e404.html", "<p>listener 404</p>");
    let config = format!(
        "ListenHTTP\nLISTEN\nErr404 \"{err404}\"\nEnd\n\
         Service\nURL \"^/file\"\nError 403 \"{page}\"\nEnd\n\
         Service\nURL \"^/listener\"\nError 404\nEnd\n\
         Service\nError 503\nEnd\n"
    );
    let pound = Pound::start(&config);
    let r = get(&pound, "/file", "");
    assert_eq!((r.status, r.text().as_str()), (403, "<p>gone</p>"));
    assert_eq!(
        r.header("Cache-control").as_deref(),
        Some("no-cache,no-store")
    );
    let r = get(&pound, "/listener", "");
    assert_eq!((r.status, r.text().as_str()), (404, "<p>listener 404</p>"));
    let r = get(&pound, "/other", "");
    assert_eq!(r.status, 503);
    assert!(r.text().contains("<title>503 Service Unavailable</title>"));
    std::fs::remove_dir_all(&dir).ok();
}

/// pound 4.23's handling of expansions, checked against it: a reference to a match that does
/// not exist, or a malformed expansion (which does not stop pound from starting), answers
/// 500 with pound's message, and never falls through to the next service; the group one
/// past a pattern's last expands to nothing, and those beyond are errors.
#[test]
fn expansion_errors_answer_500_and_are_logged() {
    let fallback = Backend::named("fallback");
    let config = format!(
        "ListenHTTP\nLISTEN\nEnd\n\
         Service\nURL \"^/set/(.*)\"\nSetHeader \"X-A: $1(1)\"\nBackend\n{}End\nEnd\n\
         Service\nURL \"^/match/(.*)\"\nStringMatch \"$1(4)\" \"x\"\nBackend\n{}End\nEnd\n\
         Service\nURL \"^/redir/(.*)\"\nRedirect \"http://h/%1\"\nEnd\n\
         Service\nURL \"^/unclosed\"\nRedirect \"http://x/%[host\"\nEnd\n\
         Service\nURL \"^/far\"\nSetHeader \"X-A: $1(8)\"\nBackend\n{}End\nEnd\n\
         Service\nURL \"^/empty\"\nSetHeader \"X-A: [$1]\"\nBackend\n{}End\nEnd\n\
         Service\nURL \"^/beyond\"\nSetHeader \"X-A: [$2]\"\nBackend\n{}End\nEnd\n\
         Service\nBackend\n{}End\nEnd\n",
        fallback.config(),
        fallback.config(),
        fallback.config(),
        fallback.config(),
        fallback.config(),
        fallback.config()
    );
    let pound = Pound::start(&config);
    pound
        .err
        .wait_for("warning: string expansion \"http://x/%[host\": unclosed %[ at offset 9");
    for (target, messages) in [
        (
            "/set/x",
            &["Header \"X-A: $1(1)\" refers to non-existing group $1(1)"][..],
        ),
        (
            "/match/x",
            &[
                "string_match \"$1(4)\" refers to non-existing group $1(4)",
                "e500: 127.0.0.1: \"GET /match/x HTTP/1.1\": no suitable service found",
            ],
        ),
        (
            "/redir/x",
            &["Redirect expression \"http://h/%1\" refers to non-existing group %1"],
        ),
        (
            "/unclosed",
            &["Redirect expression \"http://x/%[host\": unclosed %[ at offset 9"],
        ),
        (
            "/far",
            &["Header \"X-A: $1(8)\" refers to non-existing group $1(8)"],
        ),
        (
            "/beyond",
            &["Header \"X-A: [$2]\" refers to non-existing group $2"],
        ),
    ] {
        let r = get(&pound, target, "");
        assert_eq!(r.status, 500, "{target}");
        for m in messages {
            let line = pound.err.wait_for(m);
            // pound's words exactly: the expression messages carry no prefix.
            if m.starts_with("e500") {
                assert!(line.starts_with("pound: ("), "{line}");
            } else {
                assert_eq!(line, format!("pound: {m}"));
            }
        }
    }
    assert!(fallback.requests().is_empty());
    assert_eq!(get(&pound, "/empty", "").status, 200);
    assert_eq!(fallback.requests()[0].header("X-A").as_deref(), Some("[]"));
}

#[test]
fn acme_challenges() {
    let dir = scratch();
    write(&dir, "acme/tok-EN_1", "tok-EN_1.thumbprint");
    write(&dir, "secret.txt", "no");
    let backend = Backend::named("app");
    let config = format!(
        "ListenHTTP\nLISTEN\nACME \"{}/acme\"\nEnd\n{}",
        dir.display(),
        service(&[&backend])
    );
    let pound = Pound::start(&config);
    let r = get(&pound, "/.well-known/acme-challenge/tok-EN_1", "");
    assert_eq!((r.status, r.text().as_str()), (200, "tok-EN_1.thumbprint"));
    for missing in [
        "/.well-known/acme-challenge/nope",
        "/.well-known/acme-challenge/../secret.txt",
        "/.well-known/acme-challenge/%2e%2e%2fsecret.txt",
    ] {
        assert_eq!(get(&pound, missing, "").status, 404, "{missing}");
    }
    assert_eq!(get(&pound, "/index.html", "").text(), "app");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn rewrite_destination_names_the_backend() {
    let backend = Backend::named("dav");
    let config = simple("RewriteDestination 1\nxHTTP 2", &[&backend]);
    let pound = Pound::start(&config);
    let mut c = pound.connect();
    c.send(
        "MOVE /a HTTP/1.1\r\nHost: dav.example\r\nDestination: https://dav.example/b/c?x\r\n\r\n",
    );
    assert_eq!(c.response().status, 200);
    let got = backend.requests().pop().unwrap();
    assert_eq!(
        got.header("Destination"),
        Some(format!("http://127.0.0.1:{}/b/c?x", backend.port()))
    );
}

/// An absolute-form target's host wins over `Host` (RFC 9112, 3.2.2) for routing as much
/// as for the backend: conditions see the same host and path the backend gets.
#[test]
fn absolute_form_targets_are_routed_by_their_own_host_and_path() {
    let admin = Backend::named("admin");
    let www = Backend::named("www");
    let config = format!(
        "ListenHTTP\nLISTEN\nEnd\n\
         Service\nURL \"^/private\"\nError 403\nEnd\n\
         Service\nHost \"admin.example\"\nBackend\n{}End\nEnd\n\
         Service\nBackend\n{}End\nEnd\n",
        admin.config(),
        www.config()
    );
    let pound = Pound::start(&config);
    let mut c = pound.connect();
    c.send("GET http://admin.example/secret?x HTTP/1.1\r\nHost: www.example\r\n\r\n");
    assert_eq!(c.response().text(), "admin");
    let got = admin.requests().pop().unwrap();
    assert_eq!(got.line(), "GET /secret?x HTTP/1.1");
    assert_eq!(got.header("Host").as_deref(), Some("admin.example"));
    let mut c = pound.connect();
    c.send("GET http://www.example/private HTTP/1.1\r\nHost: www.example\r\n\r\n");
    assert_eq!(c.response().status, 403);
    assert!(www.requests().is_empty());
}
