//! The matching and rewriting statements of pound 4.13 to 4.23 end to end, through the real
//! `pound` binary: PCRE and POSIX patterns, the new options, detached conditions, URL
//! rewriting with encoding, constants, ACL forms, and files that change while requests
//! flow. Each expectation was checked against pound 4.23.

mod common;

use common::net::*;
use common::scratch_dir;

fn get(pound: &Pound, target: &str, extra: &str) -> Response {
    let mut c = pound.connect();
    c.send(format!(
        "GET {target} HTTP/1.1\r\nHost: www.example.org\r\n{extra}\r\n"
    ));
    c.response()
}

fn request(pound: &Pound, method: &str, target: &str, extra: &str) -> Response {
    let mut c = pound.connect();
    c.send(format!(
        "{method} {target} HTTP/1.1\r\nHost: www.example.org\r\n{extra}\r\n"
    ));
    c.response_to(method)
}

fn svc(conds: &str, b: &Backend) -> String {
    format!("Service\n{conds}Backend\n{}End\nEnd\n", b.config())
}

/// The body of the answer (a backend's name) or its status.
fn who(r: &Response) -> String {
    if r.status == 200 {
        r.text()
    } else {
        r.status.to_string()
    }
}

#[test]
fn pcre_and_posix_patterns_side_by_side() {
    let backends: Vec<Backend> = ["pcre", "posix", "perl", "regextype", "fallback"]
        .iter()
        .map(|n| Backend::named(n))
        .collect();
    let config = format!(
        "ListenHTTP\nLISTEN\nEnd\n{}{}{}RegexType pcre\n{}RegexType posix\n{}",
        // Look-behind, and a case-insensitive lazy match.
        svc("Path -pcre \"(?<=/pcre/)x\"\n", &backends[0]),
        // POSIX: `+?` is a greedy `+` made optional, and `\\d` is a plain `d`.
        svc("Path -posix \"^/posix/d+?$\"\n", &backends[1]),
        svc("URL -perl -icase \"^/PERL/(a+?)b\"\n", &backends[2]),
        // After `RegexType pcre`, a condition without a mode option is PCRE.
        svc("Path \"^/rt/(\\\\w+)-\\\\1$\"\n", &backends[3]),
        svc("", &backends[4]),
    );
    let pound = Pound::start(&config);
    for (target, expected) in [
        ("/pcre/x", "pcre"),
        ("/other/x", "fallback"),
        ("/posix/ddd", "posix"),
        ("/posix/123", "fallback"),
        ("/perl/aab", "perl"),
        ("/rt/ab-ab", "regextype"),
        ("/rt/ab-ba", "fallback"),
    ] {
        assert_eq!(who(&get(&pound, target, "")), expected, "{target}");
    }
}

#[test]
fn header_method_contain_and_tags() {
    let backends: Vec<Backend> = ["split", "method", "contain", "tagged", "fallback"]
        .iter()
        .map(|n| Backend::named(n))
        .collect();
    let config = format!(
        "ListenHTTP\nLISTEN\nxHTTP 1\nEnd\n{}{}{}{}{}",
        // The split form compares the value: without its leading blanks, with any
        // trailing ones; the name ignores case.
        svc("Header \"x-mode\" -exact \"fast  \"\n", &backends[0]),
        // Method: an unanchored, case-sensitive regular expression.
        svc("Method \"ATC\"\n", &backends[1]),
        svc("Path -contain -icase \"MIDDLE\"\n", &backends[2]),
        svc(
            "Host -tag \"h\" -re \"^(www)\\\\.(.*)$\"\nPath -tag \"p\" \"^/t/(.*)\"\n\
             SetHeader \"X-T: $2(h)|$1(p)|$1(h)|$1\"\n",
            &backends[3]
        ),
        svc("", &backends[4]),
    );
    let pound = Pound::start(&config);
    assert_eq!(who(&get(&pound, "/a", "X-Mode:   fast  \r\n")), "split");
    assert_eq!(who(&get(&pound, "/a", "X-Mode: fast\r\n")), "fallback");
    assert_eq!(who(&request(&pound, "PATCH", "/a", "")), "method");
    assert_eq!(who(&request(&pound, "GET", "/ATC", "")), "fallback");
    assert_eq!(who(&get(&pound, "/in-the-middle-x", "")), "contain");
    assert_eq!(who(&get(&pound, "/t/dir", "")), "tagged");
    let seen = backends[3].requests();
    assert_eq!(
        seen[0].header("X-T").as_deref(),
        Some("example.org|dir|www|dir")
    );
}

#[test]
fn detached_conditions_and_their_groups() {
    let backends: Vec<Backend> = ["api", "admin", "fallback"]
        .iter()
        .map(|n| Backend::named(n))
        .collect();
    let config = format!(
        "Condition \"api\"\nPath \"^/api/(v[0-9])/\"\nEnd\n\
         Condition \"internal\"\nMatch OR\nHeader \"X-Internal\" \"yes\"\nEval \"api\"\nEnd\nEnd\n\
         ListenHTTP\nLISTEN\nEnd\n{}{}{}",
        // The groups of a detached condition stay inside it: `$1` is the Host's.
        svc(
            "Host -re \"^(www)\\\\.\"\nEval \"api\"\nSetHeader \"X-G: $1\"\n",
            &backends[0]
        ),
        svc("Not Eval \"internal\"\nPath \"^/admin\"\n", &backends[1]),
        svc("", &backends[2]),
    );
    let pound = Pound::start(&config);
    assert_eq!(who(&get(&pound, "/api/v2/x", "")), "api");
    assert_eq!(
        backends[0].requests()[0].header("X-G").as_deref(),
        Some("www")
    );
    assert_eq!(who(&get(&pound, "/admin", "")), "admin");
    assert_eq!(
        who(&get(&pound, "/admin", "X-Internal: yes\r\n")),
        "fallback"
    );
    assert_eq!(who(&get(&pound, "/other", "")), "fallback");
}

#[test]
fn url_rewriting_with_encoding_and_decoding() {
    let backend = Backend::named("ok");
    let config = format!(
        "ListenHTTP\nLISTEN\nEnd\n\
         Service\nPath -decode -exact \"/a b/c\"\nSetPath -encode \"/new path/é\"\nDeleteQuery\nBackend\n{b}End\nEnd\n\
         Service\nQueryParam \"q\" -decode \"^x/y$\"\nSetQueryParam \"drop\"\nSetQueryParam -encode \"v\" \"a b&c/d\"\nBackend\n{b}End\nEnd\n\
         Service\nPath \"^/only\"\nSetQueryParam \"n\"\nBackend\n{b}End\nEnd\n",
        b = backend.config()
    );
    let pound = Pound::start(&config);
    let line = |target: &str| {
        let before = backend.requests().len();
        assert_eq!(get(&pound, target, "").status, 200, "{target}");
        backend.requests()[before].line().to_string()
    };
    assert_eq!(line("/a%20b%2Fc?x=1"), "GET /new%20path/%C3%A9 HTTP/1.1");
    assert_eq!(
        line("/p?drop=1&q=x%2Fy&drop=2"),
        "GET /p?q=x%2Fy&drop=2&v=a%20b%26c%2Fd HTTP/1.1"
    );
    // Only the first parameter of that name goes; a query left empty goes with its `?`.
    assert_eq!(line("/only?n=1"), "GET /only HTTP/1.1");
    assert_eq!(line("/only?m=1&&n=2"), "GET /only?m=1& HTTP/1.1");
    assert_eq!(line("/only?m=1"), "GET /only?m=1 HTTP/1.1");
}

#[test]
fn constants_in_every_scope() {
    let dir = scratch_dir("constants");
    std::fs::write(dir.join("key.txt"), "s3cret \n\n").unwrap();
    let backend = Backend::named("ok");
    let config = format!(
        "Constant \"scope\" \"global\"\nConstant \"key\" -trim -file \"{}/key.txt\"\n\
         Constant \"q\" \"a b/c\"\n\
         ListenHTTP\nLISTEN\nConstant \"scope\" \"listener\"\nSetHeader \"X-L: %[const scope]\"\nEnd\n\
         Service\nPath \"^/svc\"\nConstant \"scope\" \"service\"\n\
         SetHeader \"X-C: %[const scope]|%[const key]|%[const none]\"\n\
         SetHeader \"X-E: %[const q url]|%[const q base64]|%[const q NONE]\"\nBackend\n{b}End\nEnd\n\
         Service\nStringMatch \"%[const scope]\" \"^global$\"\nSetHeader \"X-C: %[const scope]\"\nBackend\n{b}End\nEnd\n",
        dir.display(),
        b = backend.config()
    );
    let pound = Pound::start(&config);
    assert_eq!(get(&pound, "/svc", "").status, 200);
    let r = &backend.requests()[0];
    // The listener's modification sees the chosen service's constants, as in pound.
    assert_eq!(r.header("X-L").as_deref(), Some("service"));
    assert_eq!(r.header("X-C").as_deref(), Some("service|s3cret|"));
    assert_eq!(r.header("X-E").as_deref(), Some("a%20b%2Fc|YSBiL2M=|a b/c"));
    // A global service sees the top-level constants, not the listener's.
    assert_eq!(get(&pound, "/other", "").status, 200);
    assert_eq!(
        backend.requests()[1].header("X-C").as_deref(),
        Some("global")
    );
}

#[test]
fn acl_forms_and_forwarded_addresses() {
    let dir = scratch_dir("acls");
    std::fs::write(
        dir.join("office.acl"),
        "# office\n10.1.0.0/16\n\"192.0.2.9\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("proxies.acl"), "127.0.0.1\n").unwrap();
    let backends: Vec<Backend> = ["office", "forwarded", "local", "fallback"]
        .iter()
        .map(|n| Backend::named(n))
        .collect();
    let d = dir.display();
    let config = format!(
        "ACL \"office\" -file \"{d}/office.acl\"\n\
         ListenHTTP\nLISTEN\nTrustedIP -file \"{d}/proxies.acl\"\nEnd\n\
         {}{}{}{}",
        svc("Path \"^/o\"\nACL -forwarded \"office\"\n", &backends[0]),
        svc(
            &format!("Path \"^/f\"\nACL -file \"{d}/office.acl\" -forwarded\n"),
            &backends[1]
        ),
        svc("Path \"^/o\"\nACL\n\"127.0.0.0/8\"\nEnd\n", &backends[2]),
        svc("", &backends[3]),
    );
    let pound = Pound::start(&config);
    // The originator is the last address not among the trusted proxies.
    let xff = |a: &str| format!("X-Forwarded-For: {a}\r\n");
    assert_eq!(who(&get(&pound, "/o", &xff("10.1.2.3"))), "office");
    assert_eq!(
        who(&get(&pound, "/o", &xff("192.0.2.9, 127.0.0.1"))),
        "office"
    );
    assert_eq!(
        who(&get(&pound, "/o", &xff("10.1.2.3, 203.0.113.5"))),
        "local"
    );
    assert_eq!(who(&get(&pound, "/o", "")), "local");
    assert_eq!(who(&get(&pound, "/f", &xff("10.1.9.9"))), "forwarded");
    assert_eq!(who(&get(&pound, "/f", "")), "fallback");
}

/// Files given with `-filewatch` are read again when they change, while requests flow;
/// an invalid one keeps the last good contents. Nothing here sleeps: each change is
/// polled for.
#[test]
fn watched_files_change_behaviour_without_a_restart() {
    let dir = scratch_dir("watched");
    let write = |name: &str, text: &str| {
        // Written aside and renamed into place, as careful tools do; the watcher must
        // see that as well as an in-place write (below).
        let tmp = dir.join(format!("{name}.new"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, dir.join(name)).unwrap();
    };
    write("paths", "^/one\n");
    write("allow.acl", "192.0.2.1\n");
    write("greeting", "hello\n");
    let backends: Vec<Backend> = ["paths", "acl", "fallback"]
        .iter()
        .map(|n| Backend::named(n))
        .collect();
    let d = dir.display();
    let config = format!(
        "Constant \"greeting\" -trim -filewatch \"{d}/greeting\"\n\
         ListenHTTP\nLISTEN\nEnd\n{}{}{}",
        svc(
            &format!("URL -filewatch \"{d}/paths\"\nSetHeader \"X-G: %[const greeting]\"\n"),
            &backends[0]
        ),
        svc(&format!("ACL -filewatch \"{d}/allow.acl\"\n"), &backends[1]),
        svc("", &backends[2]),
    );
    let pound = Pound::start(&config);
    assert_eq!(who(&get(&pound, "/one", "")), "paths");
    assert_eq!(who(&get(&pound, "/two", "")), "fallback");

    write("paths", "# now two\n^/two\n");
    poll("the new pattern", || {
        (who(&get(&pound, "/two", "")) == "paths").then_some(())
    });
    assert_eq!(who(&get(&pound, "/one", "")), "fallback");

    // In place, as an editor writes.
    std::fs::write(dir.join("greeting"), "bonjour \n").unwrap();
    poll("the new constant", || {
        get(&pound, "/two", "");
        let seen = backends[0].requests();
        (seen.last()?.header("X-G")? == "bonjour").then_some(())
    });

    write("allow.acl", "127.0.0.1\n");
    poll("the new ACL", || {
        (who(&get(&pound, "/acl", "")) == "acl").then_some(())
    });

    // A bad line makes the new list invalid: the last good one stays, and pound says why.
    write("allow.acl", "127.0.0.1\nnot-an-address\n");
    pound
        .err
        .wait_for("allow.acl:2: invalid IP address: Name or service not known");
    assert_eq!(who(&get(&pound, "/acl", "")), "acl");
    // A removed file keeps its contents too.
    std::fs::remove_file(dir.join("paths")).unwrap();
    pound
        .err
        .wait_for("paths: file removed; the last contents stay in use");
    assert_eq!(who(&get(&pound, "/two", "")), "paths");
}

/// `BasicAuth -file` reads its file once; without it (or with `-filewatch`), a changed
/// file takes effect.
#[test]
fn basic_auth_files_are_watched_unless_told_otherwise() {
    let dir = scratch_dir("basicauth");
    // Plain-text passwords, which htpasswd files may hold.
    std::fs::write(dir.join("watched"), "joe:one\n").unwrap();
    std::fs::write(dir.join("fixed"), "joe:one\n").unwrap();
    let backends: Vec<Backend> = ["watched", "fixed", "fallback"]
        .iter()
        .map(|n| Backend::named(n))
        .collect();
    let config = format!(
        "ListenHTTP\nLISTEN\nEnd\n{}{}{}",
        svc(
            &format!("Path \"^/w\"\nBasicAuth \"{}/watched\"\n", dir.display()),
            &backends[0]
        ),
        svc(
            &format!(
                "Path \"^/f\"\nBasicAuth -file \"{}/fixed\"\n",
                dir.display()
            ),
            &backends[1]
        ),
        svc("", &backends[2]),
    );
    let pound = Pound::start(&config);
    // joe:two
    let two = "Authorization: Basic am9lOnR3bw==\r\n";
    assert_eq!(who(&get(&pound, "/w", two)), "fallback");
    std::fs::write(dir.join("watched"), "joe:two\n").unwrap();
    std::fs::write(dir.join("fixed"), "joe:two\n").unwrap();
    poll("the new password", || {
        (who(&get(&pound, "/w", two)) == "watched").then_some(())
    });
    assert_eq!(who(&get(&pound, "/f", two)), "fallback");
}

/// Sends `request` on a new connection and reads everything until pound closes it.
fn raw(pound: &Pound, request: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(pound.addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// `ErrorFile` (pound 4.12) pages, with the header lines a file may begin with (4.17),
/// byte for byte as pound 4.23 sends them; the old `ErrNNN` still works.
#[test]
fn error_files_with_and_without_headers() {
    let dir = scratch_dir("errorfile");
    let d = dir.display();
    std::fs::write(
        dir.join("503.txt"),
        "Content-Type: text/plain\nX-Extra: 1\nX-A: 1\nX-A: 2\nContent-Length: 99\n\nbody here\n",
    )
    .unwrap();
    std::fs::write(dir.join("404.html"), "plain page\n").unwrap();
    std::fs::write(dir.join("414.txt"), "X-Why: long\r\n\r\ntoo long").unwrap();
    let config = format!(
        "ListenHTTP\nLISTEN\nMaxURI 8\nErrorFile 503 \"{d}/503.txt\"\nErr404 \"{d}/404.html\"\n\
         ErrorFile 414 \"{d}/414.txt\"\nEnd\n\
         Service\nURL \"^/nf\"\nError 404\nEnd\n"
    );
    let pound = Pound::start(&config);
    pound
        .err
        .wait_for("warning: deprecated statement, use \"ErrorFile 404\" instead");
    assert_eq!(
        raw(&pound, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"),
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 10\r\nConnection: close\r\n\
         Content-Type: text/plain\r\nX-Extra: 1\r\nX-A: 2\r\nExpires: now\r\nPragma: no-cache\r\n\
         Cache-control: no-cache,no-store\r\n\r\nbody here\n"
    );
    // An HTTP/1.0 request gets the page delimited by the end of the connection.
    assert_eq!(
        raw(&pound, "GET /x HTTP/1.0\r\n\r\n"),
        "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\nX-Extra: 1\r\nX-A: 2\r\n\
         Expires: now\r\nPragma: no-cache\r\nCache-control: no-cache,no-store\r\n\r\nbody here\n"
    );
    assert_eq!(
        raw(&pound, "GET /nf HTTP/1.1\r\nHost: a\r\n\r\n"),
        "HTTP/1.1 404 Not Found\r\nContent-Length: 11\r\nConnection: close\r\n\
         Content-Type: text/html\r\nExpires: now\r\nPragma: no-cache\r\n\
         Cache-control: no-cache,no-store\r\n\r\nplain page\n"
    );
    // `MaxURI 8`: eight bytes pass (here to the 404 service), nine do not. A file written
    // with CRLF keeps the LF of its empty line in the body, as in pound.
    assert!(raw(&pound, "GET /nf45678 HTTP/1.1\r\nHost: a\r\n\r\n").starts_with("HTTP/1.1 404"));
    assert_eq!(
        raw(&pound, "GET /nf456789 HTTP/1.1\r\nHost: a\r\n\r\n"),
        "HTTP/1.1 414 URI Too Long\r\nContent-Length: 9\r\nConnection: close\r\nX-Why: long\r\n\
         Content-Type: text/html\r\nExpires: now\r\nPragma: no-cache\r\n\
         Cache-control: no-cache,no-store\r\n\r\n\ntoo long"
    );
    pound
        .err
        .wait_for("e414: 127.0.0.1: \"GET /nf456789 HTTP/1.1\": URI too long: 9 bytes");
}

/// `RewriteErrors` (pound 4.17): a backend's error whose status has an `ErrorFile` page
/// is answered with that page; a service's setting wins over its listener's.
#[test]
fn backend_errors_rewritten_with_error_files() {
    let dir = scratch_dir("rewriteerrors");
    std::fs::write(dir.join("500.html"), "X-Page: ours\n\nsorry\n").unwrap();
    let backend = Backend::start(|r| {
        let status = if r.line().contains("/404") { 404 } else { 500 };
        Reply::Send(
            format!("HTTP/1.1 {status} Oops\r\nX-Backend: yes\r\nContent-Length: 7\r\n\r\nbackend")
                .into_bytes(),
        )
    });
    let config = format!(
        "ListenHTTP\nLISTEN\nErrorFile 500 \"{}/500.html\"\nRewriteErrors on\nEnd\n\
         Service\nURL \"^/off\"\nRewriteErrors off\nBackend\n{b}End\nEnd\n\
         Service\nBackend\n{b}End\nEnd\n",
        dir.display(),
        b = backend.config()
    );
    let pound = Pound::start(&config);
    let r = get(&pound, "/on", "");
    assert_eq!((r.status, r.text().as_str()), (500, "sorry\n"));
    assert_eq!(r.header("X-Page").as_deref(), Some("ours"));
    assert_eq!(r.header("X-Backend"), None);
    // A status without a page, and a service that says off, pass the backend's answer.
    let r = get(&pound, "/404", "");
    assert_eq!((r.status, r.text().as_str()), (404, "backend"));
    let r = get(&pound, "/off", "");
    assert_eq!((r.status, r.text().as_str()), (500, "backend"));
    pound
        .out
        .wait_for("GET /on HTTP/1.1 - HTTP/1.1 500 Internal Server Error");
}

/// `LineBufferSize` (pound 4.18): lines up to three bytes shorter than it pass; a longer
/// request line is 414 and a longer header line 413, as pound answers them.
#[test]
fn line_buffer_size_bounds_each_line() {
    let backend = Backend::named("ok");
    let pound = Pound::start(&format!("LineBufferSize 5000\n{}", simple("", &[&backend])));
    let line = |target_len: usize| {
        let target = format!("/{}", "a".repeat(target_len - 1));
        format!("GET {target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    };
    // "GET " + target + " HTTP/1.1" is 4997 bytes, then 4998.
    let fits = 4997 - "GET  HTTP/1.1".len();
    assert!(raw(&pound, &line(fits)).starts_with("HTTP/1.1 200"));
    assert!(raw(&pound, &line(fits + 1)).starts_with("HTTP/1.0 414 URI Too Long\r\n"));
    let header = |len: usize| {
        format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX-L: {}\r\nConnection: close\r\n\r\n",
            "b".repeat(len - "X-L: ".len())
        )
    };
    assert!(raw(&pound, &header(4997)).starts_with("HTTP/1.1 200"));
    assert!(raw(&pound, &header(4998)).starts_with("HTTP/1.0 413 Payload Too Large\r\n"));
}

/// `Include` with wildcards (pound 4.18): every match, in sorted order, so the first
/// matching service is the one from the first file.
#[test]
fn include_with_wildcards_reads_files_in_order() {
    let dir = scratch_dir("globbed");
    let conf = dir.join("conf.d");
    std::fs::create_dir_all(&conf).unwrap();
    let backends: Vec<Backend> = ["10", "B", "a"].iter().map(|n| Backend::named(n)).collect();
    for (name, b) in ["10", "B", "a"].iter().zip(&backends) {
        std::fs::write(
            conf.join(format!("{name}.cfg")),
            format!(
                "Service\nURL \"^/{name}|^/all\"\nBackend\n{}End\nEnd\n",
                b.config()
            ),
        )
        .unwrap();
    }
    std::fs::write(conf.join(".hidden.cfg"), "Bogus\n").unwrap();
    std::fs::write(conf.join("notes.txt"), "Bogus\n").unwrap();
    let pound = Pound::start(&format!(
        "ListenHTTP\nLISTEN\nInclude \"{}/conf.d/*.cfg\"\nEnd\n",
        dir.display()
    ));
    // Byte order: "10" < "B" < "a".
    assert_eq!(who(&get(&pound, "/all", "")), "10");
    assert_eq!(who(&get(&pound, "/B", "")), "B");
    assert_eq!(who(&get(&pound, "/a", "")), "a");
}

/// `Success` (pound 4.20): an empty 200, through the service's response rewrites, as the
/// manual's example answers CORS preflight requests; `Error 200` is pound's page.
#[test]
fn success_backend() {
    let pound = Pound::start(
        "ListenHTTP\nLISTEN\nxHTTP 2\nEnd\n\
         Service\nMethod \"^OPTIONS$\"\nRewrite response\n\
         SetHeader \"Access-Control-Allow-Origin: example.com\"\nEnd\nSuccess\nEnd\n\
         Service\nError 200\nEnd\n",
    );
    assert_eq!(
        raw(&pound, "OPTIONS /x HTTP/1.1\r\nHost: a\r\n\r\n"),
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\
         Access-Control-Allow-Origin: example.com\r\n\r\n"
    );
    let page = raw(&pound, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(
        page.ends_with("<title>200 OK</title></head><body><h1>OK</h1><p>Success</p></body></html>"),
        "{page}"
    );
}

/// `TBF` (pound 4.18), as the manual's example uses it: a burst passes, the next request
/// goes to the `Error 429` service, and after a while tokens come back (polled for). Keys
/// have buckets of their own.
#[test]
fn tbf_rate_limits_by_key() {
    let backend = Backend::named("ok");
    let pound = Pound::start(&format!(
        "ListenHTTP\nLISTEN\nEnd\n\
         Service \"git\"\nPath -re \"^/git/([^/]+).*\"\nTBF \"$1\" 20 3\nBackend\n{}End\nEnd\n\
         Service \"block\"\nPath -re \"^/git/([^/]+).*\"\nError 429\nEnd\n",
        backend.config()
    ));
    let statuses: Vec<u16> = (0..4).map(|_| get(&pound, "/git/a/x", "").status).collect();
    assert_eq!(statuses, [200, 200, 200, 429]);
    assert_eq!(get(&pound, "/git/b/x", "").status, 200);
    let r = get(&pound, "/git/a/x", "");
    assert!(r.text().contains("Too Many Requests"), "{}", r.text());
    poll("a token for a again", || {
        (get(&pound, "/git/a/x", "").status == 200).then_some(())
    });
}

/// `SendFile` (pound 4.17): files beneath the directory, and nothing outside it, whatever
/// the path tries: `..`, encoded dots, absolute paths, symbolic links leading out.
#[test]
fn send_file_serves_the_directory_and_nothing_else() {
    let root = scratch_dir("sendfile");
    let www = root.join("www");
    std::fs::create_dir_all(www.join("sub")).unwrap();
    std::fs::write(www.join("a.txt"), "hello\n").unwrap();
    std::fs::write(www.join("sub/b.txt"), "bbb\n").unwrap();
    std::fs::write(root.join("secret.txt"), "secret\n").unwrap();
    std::os::unix::fs::symlink(root.join("secret.txt"), www.join("out")).unwrap();
    std::os::unix::fs::symlink(&root, www.join("up")).unwrap();
    std::os::unix::fs::symlink("sub/b.txt", www.join("in")).unwrap();
    // Large enough to need many writes, with recognisable bytes.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(www.join("big.bin"), &big).unwrap();
    let pound = Pound::start(&format!(
        "ListenHTTP\nLISTEN\nEnd\n\
         Service\nPath -re \"^/about/(.+)\"\nSetPath \"/$1\"\nSendFile \"{w}\"\nEnd\n\
         Service\nSendFile \"{w}\"\nEnd\n",
        w = www.display()
    ));
    let ok = |target: &str, body: &str| {
        let r = get(&pound, target, "");
        assert_eq!((r.status, r.text().as_str()), (200, body), "{target}");
        assert_eq!(r.header("Content-Type").as_deref(), Some("text/plain"));
    };
    ok("/a.txt", "hello\n");
    ok("/a.txt?x=1", "hello\n");
    ok("/sub/b.txt", "bbb\n");
    ok("/about/sub/b.txt", "bbb\n");
    ok("/in", "bbb\n");
    for target in [
        "/",
        "/nope",
        "/sub",
        "/../secret.txt",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/a/../a.txt",
        "//etc/passwd",
        "/out",
        "/up/secret.txt",
        "/up/www/a.txt",
    ] {
        assert_eq!(get(&pound, target, "").status, 404, "{target}");
    }
    let r = request(&pound, "HEAD", "/a.txt", "");
    assert_eq!((r.status, r.body.len()), (200, 0));
    assert_eq!(r.header("Content-Length").as_deref(), Some("6"));
    let r = get(&pound, "/big.bin", "");
    assert_eq!(r.status, 200);
    assert!(r.body == big, "the large file arrived altered");
}

/// `Tunnel` (pound 4.23): bytes relayed both ways as they are, a client's half-close
/// passed on, an idle tunnel closed after the backend's `TimeOut`.
#[test]
fn tunnels_relay_bytes() {
    use std::io::{Read, Write};
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in server.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let _ = s.write_all(b"HELLO\n");
                let mut buf = [0u8; 4096];
                loop {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => {
                            let _ = s.write_all(b"BYE\n");
                            return;
                        }
                        Ok(n) => {
                            let mut out = b"ECHO:".to_vec();
                            out.extend_from_slice(&buf[..n]);
                            let _ = s.write_all(&out);
                        }
                    }
                }
            });
        }
    });
    let pound = Pound::start(&format!(
        "Tunnel \"tn\"\nLISTEN\nBackend\nAddress 127.0.0.1\nPort {port}\nTimeOut 1\nEnd\nEnd\n"
    ));
    let mut c = std::net::TcpStream::connect(pound.addr).unwrap();
    c.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut got = [0u8; 6];
    c.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"HELLO\n");
    c.write_all(b"\x00\xffGET / HTTP/1.1\r\n").unwrap();
    let mut echo = [0u8; 23];
    c.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"ECHO:\x00\xffGET / HTTP/1.1\r\n");
    // The client stops writing: the backend sees the end, and its last words arrive.
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"BYE\n");
    // Idle for the backend's `TimeOut`: closed.
    let mut idle = std::net::TcpStream::connect(pound.addr).unwrap();
    idle.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut all = Vec::new();
    idle.read_to_end(&mut all).unwrap();
    assert_eq!(all, b"HELLO\n");
    pound.err.wait_for("I/O time out in tunnel");
}

/// Bulk data both ways at once through a tunnel (relayed with splice between plain
/// sockets): every byte arrives, in order, with backpressure on both sides.
#[test]
fn tunnels_move_bulk_data_both_ways() {
    use std::io::{Read, Write};
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in server.incoming() {
            let Ok(s) = s else { return };
            // An echo server.
            std::thread::spawn(move || {
                let mut r = s.try_clone().unwrap();
                let mut w = s;
                let _ = std::io::copy(&mut r, &mut w);
                let _ = w.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    let pound = Pound::start(&format!(
        "Tunnel\nLISTEN\nBackend\nAddress 127.0.0.1\nPort {port}\nEnd\nEnd\n"
    ));
    let data: Vec<u8> = (0..6 * 1024 * 1024u32)
        .map(|i| (i * 7 + i / 251) as u8)
        .collect();
    let c = std::net::TcpStream::connect(pound.addr).unwrap();
    c.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut w = c.try_clone().unwrap();
    let sent = data.clone();
    let writer = std::thread::spawn(move || {
        for chunk in sent.chunks(100_000) {
            w.write_all(chunk).unwrap();
        }
        w.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut back = Vec::new();
    (&c).read_to_end(&mut back).unwrap();
    writer.join().unwrap();
    assert_eq!(back.len(), data.len());
    assert!(back == data, "the echoed bytes differ");
}

/// A tunnel on its own `Address`/`Port` takes each connection at once: the backend may
/// speak first (SMTP, MySQL), so the listener must not wait for the client's first bytes
/// (`TCP_DEFER_ACCEPT`, which HTTP listeners use, held such connections for `Client`
/// seconds). The greeting must come while the client says nothing.
#[test]
fn tunnel_backends_may_speak_first() {
    use std::io::Read;
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in server.incoming() {
            let Ok(mut s) = s else { return };
            let _ = std::io::Write::write_all(&mut s, b"220 ready\r\n");
        }
    });
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let dir = common::scratch_dir("tunnel-first");
    let pound = Pound::spawn(
        &dir,
        &format!(
            "Client 300\nTunnel\nAddress 127.0.0.1\nPort {}\n\
             Backend\nAddress 127.0.0.1\nPort {port}\nEnd\nEnd\n",
            addr.port()
        ),
        addr,
    );
    let mut c = std::net::TcpStream::connect(pound.addr).unwrap();
    // Far less than `Client`: a deferred accept would leave this read waiting for 300 s.
    c.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut got = [0u8; 11];
    c.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"220 ready\r\n");
}

/// `Control` as a service (pound 4.14): the control interface through a listener, behind
/// the service's conditions; without a control socket the listeners count from 0.
#[test]
fn control_through_a_service() {
    let backend = Backend::named("ok");
    let pound = Pound::start(&format!(
        "ListenHTTP \"ctl\"\nLISTEN\nxHTTP 2\nEnd\n\
         Service \"control\"\nACL\n\"127.0.0.0/8\"\nEnd\nControl\nEnd\n\
         Service \"web\"\nBackend\n{}End\nEnd\n",
        backend.config()
    ));
    let r = request(&pound, "GET", "/listener/0", "");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Content-Type").as_deref(),
        Some("application/json")
    );
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["name"], "ctl");
    let r = request(&pound, "DELETE", "/listener/-/1/0", "");
    assert_eq!((r.status, r.text().as_str()), (200, "true"));
    // The control service and its backend cannot be switched off through it (4.23).
    assert_eq!(request(&pound, "DELETE", "/listener/-/0", "").status, 400);
    assert_eq!(request(&pound, "DELETE", "/listener/-/0/0", "").status, 400);
    let r = request(&pound, "GET", "/listener/-/1/0", "");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["enabled"], false);
    assert_eq!(request(&pound, "GET", "/bogus", "").status, 404);
    assert_eq!(
        request(&pound, "POST", "/listener/0", "Content-Length: 0\r\n").status,
        405
    );
}

/// `/log` (pound 4.23, `poundctl log`): the request-log level of the server and of a
/// listener, changed while pound runs; a listener without its own follows the server's.
#[test]
fn log_levels_change_at_run_time() {
    let backend = Backend::named("ok");
    let pound = Pound::start(&format!(
        "ListenHTTP\nLISTEN\nxHTTP 2\nEnd\n\
         Service\nPath \"^/(log|core)\"\nControl\nEnd\n\
         Service\nBackend\n{}End\nEnd\n",
        backend.config()
    ));
    let json = |method: &str, target: &str| {
        let r = request(&pound, method, target, "");
        assert_eq!(r.status, 200, "{method} {target}");
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()
    };
    assert_eq!(
        json("GET", "/log/"),
        serde_json::json!({"global": "regular", "kind": "log", "level": "regular"})
    );
    assert_eq!(json("GET", "/core")["kind"], "core");
    get(&pound, "/one", "");
    pound.out.wait_for("GET /one HTTP/1.1");
    assert_eq!(json("PUT", "/log/0?level=0")["level"], "null");
    get(&pound, "/two", "");
    assert_eq!(
        json("DELETE", "/log/0"),
        serde_json::json!({"global": "regular", "kind": "log", "level": null, "listener_index": 0})
    );
    get(&pound, "/three", "");
    pound.out.wait_for("GET /three HTTP/1.1");
    assert_eq!(pound.out.count("GET /two "), 0);
    // The server's level, which the listener follows.
    assert_eq!(json("PUT", "/log/?level=detailed")["global"], "detailed");
    get(&pound, "/four", "");
    pound.out.wait_for("\"GET /four HTTP/1.1\" 200");
    assert_eq!(request(&pound, "PUT", "/log/?level=bogus", "").status, 400);
    assert_eq!(request(&pound, "GET", "/log/7", "").status, 404);
}
