use super::*;

fn limits(xhttp: u8) -> Limits {
    Limits {
        xhttp,
        max_body: Some(1000),
        ..Limits::default()
    }
}

fn try_parse(input: &str) -> Result<Option<(Request, usize)>, Reject> {
    let mut req = Request::default();
    let n = parse(input.as_bytes(), &limits(1), &mut req)?;
    Ok(n.map(|n| (req, n)))
}

fn ok(input: &str) -> Request {
    try_parse(input)
        .unwrap_or_else(|e| panic!("{input:?}: {e:?}"))
        .expect("complete")
        .0
}

fn status(input: &str) -> u16 {
    match try_parse(input) {
        Err(r) => r.status,
        Ok(_) => 0,
    }
}

#[test]
fn simple_requests() {
    let r = ok("GET /a?b HTTP/1.1\r\nHost: x\r\nX-Y:  v v \r\n\r\nrest");
    assert_eq!(r.method(), b"GET");
    assert_eq!(r.target(), b"/a?b");
    assert_eq!(r.line(), b"GET /a?b HTTP/1.1");
    assert_eq!(r.head.get("x-y"), Some(&b"v v"[..]));
    // The lines are kept as they came, to be matched and passed on that way (as pound
    // does); a changed field is written `Name: value`.
    let mut out = Vec::new();
    r.head.write_fields(&mut out, |_| true);
    assert_eq!(out, b"Host: x\r\nX-Y:  v v \r\n");
    let mut r = r;
    r.head.set_value(1, b"w");
    out.clear();
    r.head.write_fields(&mut out, |_| true);
    assert_eq!(out, b"Host: x\r\nX-Y: w\r\n");
    assert_eq!(r.body, BodyKind::Empty);
    assert!(r.keep_alive);
    let r = ok("\r\nPOST / HTTP/1.0\r\nContent-Length: 5\r\n\r\n");
    assert_eq!(r.line(), b"POST / HTTP/1.0");
    assert_eq!(r.body, BodyKind::Length(5));
    assert!(!r.keep_alive);
    let r = ok("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    assert!(!r.keep_alive);
    // Connection cannot make framing or pound's own fields hop-by-hop.
    let r = ok("POST / HTTP/1.1\r\nHost: x\r\nConnection: Content-Length, host, X-Forwarded-For\r\nContent-Length: 1\r\n\r\n");
    assert!(r.connection_names.is_empty());
    let r = ok("PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, Chunked\r\nConnection: close, X-A\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(r.body, BodyKind::Chunked);
    assert!(!r.keep_alive);
    assert!(r.expect_continue);
    let hop: Vec<_> = (0..r.head.fields.len())
        .filter(|&i| r.is_hop_by_hop(i))
        .collect();
    assert_eq!(hop, vec![2]);
    let r = ok("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    assert!(r.upgrade);
    assert!(try_parse("GET / HTTP/1.1\r\nHost: x\r\n")
        .unwrap()
        .is_none());
}

#[test]
fn framing_rules() {
    let h = "POST / HTTP/1.1\r\nHost: x\r\n";
    assert_eq!(
        status(&format!(
            "{h}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
        )),
        400
    );
    assert_eq!(
        status(&format!(
            "{h}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
        )),
        400
    );
    assert_eq!(
        status(&format!("{h}Transfer-Encoding: chunked, gzip\r\n\r\n")),
        400
    );
    assert_eq!(
        status(&format!("{h}Transfer-Encoding: chunked, chunked\r\n\r\n")),
        400
    );
    assert_eq!(status(&format!("{h}Transfer-Encoding: gzip\r\n\r\n")), 400);
    assert_eq!(
        status(&format!("{h}Transfer-Encoding: ,chunked\r\n\r\n")),
        400
    );
    assert_eq!(
        status(&format!("{h}Transfer-Encoding: rot13, chunked\r\n\r\n")),
        501
    );
    assert_eq!(
        status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        400
    );
    assert_eq!(
        status(&format!(
            "{h}Content-Length: 3\r\nContent-Length: 3\r\n\r\n"
        )),
        400
    );
    assert_eq!(status(&format!("{h}Content-Length: 3, 3\r\n\r\n")), 400);
    assert_eq!(status(&format!("{h}Content-Length: 0x3\r\n\r\n")), 400);
    assert_eq!(status(&format!("{h}Content-Length: -3\r\n\r\n")), 400);
    assert_eq!(status(&format!("{h}Content-Length: 1001\r\n\r\n")), 413);
    assert_eq!(status(&format!("{h}Content-Length: 1000\r\n\r\n")), 0);
}

#[test]
fn syntax_rules() {
    for bad in [
        "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX : a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX\t: a\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1 x\r\nHost: x\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.2\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n",
        "GET x HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        assert_eq!(status(bad), 400, "{bad:?}");
    }
    // pound 4.23: a known method outside the class is 405, an unknown one 400.
    assert_eq!(status("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"), 405);
    assert_eq!(status("BREW / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    assert_eq!(status("get / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    assert_eq!(status("GET http://x/y HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
}

#[test]
fn size_bounds() {
    let long_url = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9000));
    assert_eq!(status(&long_url), 414);
    // A request line still arriving is refused as soon as it is too long.
    assert_eq!(status(&format!("GET /{}", "a".repeat(9000))), 414);
    // Up to 1024 fields (pound sets no bound of its own).
    let many = |n: usize| format!("GET / HTTP/1.1\r\nHost: x\r\n{}\r\n", "X: y\r\n".repeat(n));
    assert_eq!(status(&many(1000)), 0);
    assert_eq!(status(&many(1100)), 400);
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}",
        format!("X: {}\r\n", "y".repeat(4000)).repeat(17)
    );
    assert_eq!(status(&big), 400);
}

#[test]
fn host_and_absolute_form_authorities() {
    for host in [
        "x",
        "",
        "example.org:8080",
        "[::1]:80",
        "[2001:db8::1]",
        "192.0.2.1:1",
        "a_b.example",
        "ex%41mple.org",
    ] {
        assert_eq!(
            status(&format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n")),
            0,
            "{host:?}"
        );
    }
    for host in [
        "a b",
        "evil@good",
        "good/../evil",
        "good\\evil",
        "x:80:80",
        "x:8o",
        "[::1",
        "[::1]x",
        "[zz]",
        "ex%4",
        "x:123456",
        "x:99999",
        "[1]",
        "[::::]",
    ] {
        assert_eq!(
            status(&format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n")),
            400,
            "{host:?}"
        );
    }
    assert_eq!(
        status("GET http://h.example/x HTTP/1.1\r\nHost: x\r\n\r\n"),
        0
    );
    assert_eq!(
        status("GET http://h.example HTTP/1.1\r\nHost: x\r\n\r\n"),
        0
    );
    assert_eq!(
        status("GET https://h.example:8443?q HTTP/1.1\r\nHost: x\r\n\r\n"),
        0
    );
    for target in [
        "http://user@evil.example/x",
        "http://user:pw@evil.example/",
        "http:///x",
        "http://a b/",
        "https://evil.example\\@good/",
        "http://good#@evil/x",
    ] {
        assert_eq!(
            status(&format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n")),
            400,
            "{target:?}"
        );
    }
    assert!(valid_target(b"CONNECT", b"h.example:443"));
    assert!(!valid_target(b"CONNECT", b"u@h.example:443"));
}

/// A request made field by field (as from an HTTP/2 stream) and the same request parsed
/// from HTTP/1.1 bytes: the same checks, the same conclusions.
fn built(method: &str, target: &str, fields: &[(&str, &str)]) -> Result<Request, Reject> {
    let mut req = Request::default();
    req.start(method.as_bytes(), target.as_bytes());
    for (n, v) in fields {
        req.add_field(n.as_bytes(), v.as_bytes());
    }
    req.finish(&limits(1)).map(|()| req)
}

#[test]
fn built_requests_are_checked_as_parsed_ones() {
    let fields = [("Host", "h"), ("content-length", "5"), ("x-a", "1")];
    let b = built("PUT", "/up?x=1", &fields).expect("accepted");
    let p = ok("PUT /up?x=1 HTTP/1.1\r\nHost: h\r\ncontent-length: 5\r\nx-a: 1\r\n\r\n");
    assert_eq!(b.line(), p.line());
    assert_eq!(b.method(), p.method());
    assert_eq!(b.target(), p.target());
    assert_eq!(
        (b.body, b.keep_alive, b.version),
        (p.body, p.keep_alive, p.version)
    );
    for i in 0..3 {
        let (mut lb, mut lp) = (Vec::new(), Vec::new());
        b.head.write_line(i, &mut lb);
        p.head.write_line(i, &mut lp);
        assert_eq!(lb, lp);
        assert_eq!(b.head.name(i), p.head.name(i));
        assert_eq!(b.head.value(i), p.head.value(i));
    }

    let chunked = built(
        "POST",
        "/",
        &[
            ("Host", "h"),
            ("expect", "100-continue"),
            ("transfer-encoding", "chunked"),
        ],
    )
    .expect("accepted");
    assert_eq!(chunked.body, BodyKind::Chunked);
    assert!(chunked.expect_continue);

    let reason = |r: Result<Request, Reject>| r.map(|_| ()).map_err(|e| (e.status, e.reason));
    assert_eq!(
        reason(built("GET", "/", &[])),
        Err((400, "missing or repeated Host"))
    );
    assert_eq!(
        reason(built("LOCK", "/", &[("Host", "h")])),
        Err((405, "method not allowed by xHTTP"))
    );
    assert_eq!(
        reason(built(
            "POST",
            "/",
            &[("Host", "h"), ("content-length", "5000")]
        )),
        Err((413, "request body too large"))
    );
    assert_eq!(
        reason(built("GET", "/", &[("Host", "h"), ("content-length", "x")])),
        Err((400, "invalid Content-Length"))
    );
    assert_eq!(
        reason(built("GET", "/", &[("Host", "a b")])),
        Err((400, "invalid Host"))
    );
    let long = "/".repeat(5000);
    assert_eq!(
        reason(built("GET", &long, &[("Host", "h")])).map_err(|e| e.0),
        Err(414)
    );
    // `Connection` names fields hop-by-hop here too, never the protected ones.
    let b = built(
        "GET",
        "/",
        &[
            ("Host", "h"),
            ("Connection", "x-hop, content-length"),
            ("x-hop", "1"),
        ],
    )
    .expect("accepted");
    assert!(b.is_hop_by_hop(2));
    assert_eq!(b.connection_names.len(), 1);
}
