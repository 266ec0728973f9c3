//! The HTTP/1.1 engine end to end: the real `pound` between a raw-socket client and small
//! scripted backends, all on loopback.

mod common;

use std::time::Duration;

use common::net::*;

/// Each sanitizer rule: the status, the connection closed after it, and nothing reaching
/// the backend.
#[test]
fn malformed_requests_are_refused_and_never_forwarded() {
    let backend = Backend::named("ok");
    let pound = Pound::start(&simple("MaxRequest 10\nxHTTP 1", &[&backend]));
    let long_url = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9000));
    let huge_head = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
        format!("X-A: {}\r\n", "b".repeat(4000)).repeat(20)
    );
    let cases: Vec<(String, u16)> = vec![
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n".into(), 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(), 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n".into(), 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo, chunked\r\n\r\n".into(), 501),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nab".into(), 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\nab".into(), 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\na".into(), 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x1\r\na\r\n0\r\n\r\n".into(), 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\na\r\n0\r\n\r\n".into(), 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n".into(), 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXX0\r\n\r\n".into(), 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a\x01b\r\na\r\n0\r\n\r\n".into(), 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n".into(), 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n".into(), 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n".into(), 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n".into(), 400),
        ("GET /\r\nHost: x\r\n\r\n".into(), 400),
        ("G@T / HTTP/1.1\r\nHost: x\r\n\r\n".into(), 400),
        ("GET / HTTP/2.0\r\nHost: x\r\n\r\n".into(), 400),
        ("GET / HTTP/1.1\r\n\r\n".into(), 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".into(), 400),
        (huge_head, 400),
        (long_url, 414),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n01234567890".into(), 413),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n01234567890\r\n0\r\n\r\n".into(), 413),
        ("OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n".into(), 405),
        ("BREW / HTTP/1.1\r\nHost: x\r\n\r\n".into(), 400),
    ];
    for (request, status) in &cases {
        let mut c = pound.connect();
        c.send(request);
        let r = c.response();
        assert_eq!(r.status, *status, "{request:?} got {}", r.head);
        assert!(c.is_closed(), "connection left open after {request:?}");
        if *status == 413 {
            assert!(
                r.text().contains(
                    "The request content is larger than the proxy server is able to process."
                ),
                "{}",
                r.text()
            );
        }
        if *status == 405 {
            // pound's page, and the field RFC 9110 requires (pound sends none).
            assert!(
                r.text()
                    .contains("The request method is not supported for the requested resource."),
                "{}",
                r.text()
            );
            assert_eq!(
                r.header("allow").as_deref(),
                Some("GET, POST, HEAD, PUT, PATCH, DELETE")
            );
        }
    }
    // Chunked 413 is detected while streaming, after the head went to the backend; the
    // backend never receives a complete request, and every other case sent it nothing.
    assert!(backend.requests().is_empty(), "{:?}", backend.requests());
}

#[test]
fn keep_alive_and_pipelining_answer_in_order() {
    let backend = Backend::start(|r| ok(r.line().split(' ').nth(1).unwrap()));
    let pound = Pound::start(&simple("", &[&backend]));
    let mut c = pound.connect();
    c.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /3 HTTP/1.1\r\nHost: x\r\n\r\nGET /4 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response().text(), "/1");
    assert_eq!(c.response().text(), "/2");
    let head = c.response_to("HEAD");
    assert_eq!(head.header("content-length").as_deref(), Some("2"));
    assert_eq!(c.response().text(), "/4");
    // HTTP/1.0 closes after the response; Connection: close too.
    c.send("GET /5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let r = c.response();
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    assert!(c.is_closed());
    let mut c = pound.connect();
    c.send("GET /6 HTTP/1.0\r\n\r\n");
    assert_eq!(c.response().text(), "/6");
    assert!(c.is_closed());
}

#[test]
fn headers_pass_in_order_with_forwarded_headers_and_without_hop_by_hop() {
    let backend = Backend::start(|_| {
        Reply::Send(b"HTTP/1.1 200 OK\r\nX-Back: 1\r\nConnection: X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n".to_vec())
    });
    let pound = Pound::start(&simple("", &[&backend]));
    let mut c = pound.connect();
    c.send("GET /p HTTP/1.1\r\nHost: x\r\nx-Mixed-CASE: v\r\nX-Forwarded-For: 10.0.0.1\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\nProxy-Connection: x\r\nX-Forwarded-Proto: https\r\nX-Last: z\r\n\r\n");
    let r = c.response();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-back").as_deref(), Some("1"));
    assert!(
        r.header("x-secret").is_none() && r.header("keep-alive").is_none(),
        "{}",
        r.head
    );
    let got = &backend.requests()[0];
    let names: Vec<&str> = got
        .head
        .lines()
        .skip(1)
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Host",
            "x-Mixed-CASE",
            "X-Forwarded-For",
            "X-Last",
            "X-Forwarded-Proto",
            "X-Forwarded-Port"
        ]
    );
    assert_eq!(
        got.header("x-forwarded-for").as_deref(),
        Some("10.0.0.1, 127.0.0.1")
    );
    assert_eq!(got.header("x-forwarded-proto").as_deref(), Some("http"));
    assert_eq!(
        got.header("x-forwarded-port").unwrap(),
        pound.addr.port().to_string()
    );

    let plain = Pound::start(&simple("HeaderOption no-forwarded", &[&backend]));
    plain.connect().get("/q");
    let got = backend.requests().pop().unwrap();
    assert!(got.header("x-forwarded-for").is_none(), "{}", got.head);
}

#[test]
fn chunked_bodies_are_relayed_chunk_for_chunk() {
    let response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n5;ext=1\r\nde\r\nf\r\n1\r\ng\r\n0\r\nX-Trailer: t\r\n\r\n".to_vec();
    let resp = response.clone();
    let backend = Backend::start(move |_| Reply::Send(resp.clone()));
    let pound = Pound::start(&simple("xHTTP 1", &[&backend]));
    let mut c = pound.connect();
    let body = "4\r\nwxyz\r\n2;a=\"b c\"\r\nuv\r\n0\r\nT: 1\r\n\r\n";
    c.send(format!(
        "PUT /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{body}"
    ));
    let r = c.response();
    let body_start = find(&response, b"\r\n\r\n").unwrap() + 4;
    assert_eq!(r.raw_body, &response[body_start..]);
    assert_eq!(r.text(), "abcde\r\nfg");
    assert_eq!(backend.requests()[0].raw_body, body.as_bytes());
    // An HTTP/1.0 client gets the data without framing, and the connection closes.
    let mut c = pound.connect();
    c.send("GET / HTTP/1.0\r\n\r\n");
    let r = c.response();
    assert!(r.header("transfer-encoding").is_none());
    assert_eq!(r.text(), "abcde\r\nfg");
}

#[test]
fn special_responses_and_http10_backends() {
    let backend = Backend::start(|r| {
        match r.line().split(' ').nth(1).unwrap() {
        "/204" => Reply::Send(b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()),
        "/304" => Reply::Send(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n".to_vec()),
        "/103" => Reply::Send(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx".to_vec()),
        "/10" => Reply::SendClose(b"HTTP/1.0 200 OK\r\n\r\nold server".to_vec()),
        _ => ok("?"),
    }
    });
    let pound = Pound::start(&simple("", &[&backend]));
    let mut c = pound.connect();
    assert_eq!(c.get("/204").status, 204);
    assert_eq!(c.get("/304").status, 304);
    c.send("GET /103 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.response().status, 103);
    assert_eq!(c.response().text(), "x");
    let r = c.get("/10");
    assert_eq!(r.text(), "old server");
    assert!(
        c.is_closed(),
        "a response delimited by close ends the client connection"
    );
    // A length-delimited HTTP/1.0 response keeps the 1.1 client connection.
    let b10 = Backend::start(|_| {
        Reply::SendClose(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi".to_vec())
    });
    let pound = Pound::start(&simple("", &[&b10]));
    let mut c = pound.connect();
    assert_eq!(c.get("/a").text(), "hi");
    assert_eq!(c.get("/b").text(), "hi");
}

#[test]
fn expect_continue_does_not_deadlock() {
    let backend = Backend::start(|r| ok(&String::from_utf8_lossy(&r.raw_body)));
    let pound = Pound::start(&simple("", &[&backend]));
    let mut c = pound.connect();
    c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(c.response().status, 100);
    c.send("hello");
    assert_eq!(c.response().text(), "hello");
    assert!(backend.requests()[0].header("expect").is_none());
}

#[test]
fn pooled_connections_are_reused_and_stale_ones_retried() {
    let backend = Backend::named("pooled");
    let pound = Pound::start(&simple("", &[&backend]));
    for i in 1..=3 {
        assert_eq!(pound.connect().get("/").text(), "pooled");
        // The request is logged after its backend connection went back to the pool; the
        // next client must not race that.
        poll("the request logged", || {
            (pound.out.count("GET / HTTP/1.1 - HTTP/1.1 200") == i).then_some(())
        });
    }
    assert_eq!(
        backend.accepted.load(std::sync::atomic::Ordering::SeqCst),
        1
    );

    // This backend silently closes every connection after one response.
    let closing = Backend::start(|_| {
        Reply::SendClose(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh".to_vec())
    });
    let pound = Pound::start(&simple("", &[&closing]));
    for _ in 0..3 {
        let r = pound.connect().get("/");
        assert_eq!((r.status, r.text().as_str()), (200, "fresh"));
    }
    assert_eq!(
        closing.accepted.load(std::sync::atomic::Ordering::SeqCst),
        3
    );
}

#[test]
fn websocket_upgrade_becomes_a_tunnel() {
    let backend = Backend::start(|_| {
        Reply::Tunnel(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".to_vec())
    });
    let pound = Pound::start(&simple("", &[&backend]));
    let mut c = pound.connect();
    c.send("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nearly");
    let r = c.response_to("GET");
    assert_eq!(r.status, 101);
    assert_eq!(r.header("upgrade").as_deref(), Some("websocket"));
    let got = &backend.requests()[0];
    assert_eq!(got.header("upgrade").as_deref(), Some("websocket"));
    assert_eq!(got.header("connection").as_deref(), Some("upgrade"));
    c.send(" frames");
    // The echo may already have arrived behind the 101.
    let mut seen = c.take_buffered();
    c.s.set_nonblocking(true).unwrap();
    poll("tunnelled echo", || {
        let mut b = [0u8; 64];
        if let Ok(n) = std::io::Read::read(&mut c.s, &mut b) {
            seen.extend_from_slice(&b[..n]);
        }
        (seen == b"early frames").then_some(())
    });
}

#[test]
fn streaming_does_not_buffer_large_bodies() {
    const SIZE: usize = 64 << 20;
    let backend = Backend::start(|r| ok(&r.raw_body.len().to_string()));
    let pound = Pound::start(&simple("", &[&backend]));
    let mut c = pound.connect();
    c.send(format!(
        "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: {SIZE}\r\n\r\n"
    ));
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..SIZE >> 20 {
        c.send(&chunk);
    }
    assert_eq!(c.response().text(), SIZE.to_string());
    let big = Backend::start(|_| {
        let mut r = format!("HTTP/1.1 200 OK\r\nContent-Length: {SIZE}\r\n\r\n").into_bytes();
        r.resize(r.len() + SIZE, b'y');
        Reply::Send(r)
    });
    let pound2 = Pound::start(&simple("", &[&big]));
    assert_eq!(pound2.connect().get("/").body.len(), SIZE);
    for p in [&pound, &pound2] {
        let rss = p.peak_rss_kib();
        assert!(
            rss < 32 * 1024,
            "pound held {rss} KiB while relaying {SIZE} bytes"
        );
    }
}

#[test]
fn dead_backends_are_skipped_and_resurrected() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let other = Backend::named("other");
    let config = format!(
        "Alive 1\nListenHTTP\nLISTEN\nEnd\nService\nBackend\nAddress 127.0.0.1\nPort {}\nEnd\nBackend\n{}End\nEnd\n",
        addr.port(),
        other.config()
    );
    let pound = Pound::start(&config);
    // Whatever the random choice, every request is served by the live backend.
    for _ in 0..10 {
        assert_eq!(pound.connect().get("/").text(), "other");
    }
    pound
        .err
        .wait_for(&format!("Backend 127.0.0.1:{} dead (killed)", addr.port()));
    assert_eq!(pound.err.count("dead (killed)"), 1);
    // Now the dead one comes back on its port and gets traffic again.
    let revived = Backend::on(
        std::net::TcpListener::bind(addr).unwrap(),
        std::sync::Arc::new(|_: &Received| ok("revived")),
    );
    pound.err.wait_for("resurrected");
    poll("traffic to the revived backend", || {
        (pound.connect().get("/").text() == "revived").then_some(())
    });
    other.stop();
    drop(revived);
}

#[test]
fn no_backend_or_service_gives_503_with_error_pages() {
    let dir = scratch_dir("errpage");
    std::fs::write(dir.join("503.html"), "custom 503").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = format!(
        "ListenHTTP\nLISTEN\nErr503 \"{}/503.html\"\nEnd\nService\nBackend\nAddress 127.0.0.1\nPort {port}\nEnd\nEnd\n",
        dir.display()
    );
    let pound = Pound::start(&config);
    let r = pound.connect().get("/");
    assert_eq!((r.status, r.text().as_str()), (503, "custom 503"));
    let pound = Pound::start("ListenHTTP\nLISTEN\nEnd\nService\nDisabled 1\nBackend\nAddress 127.0.0.1\nPort 1\nEnd\nEnd\n");
    let r = pound.connect().get("/");
    assert_eq!(r.status, 503);
    assert!(r.text().contains("Service Unavailable"));
    pound
        .err
        .wait_for("e503: 127.0.0.1: \"GET / HTTP/1.1\": no suitable service found");
}

#[test]
fn check_url_refuses_other_urls() {
    let backend = Backend::named("ok");
    let pound = Pound::start(&simple("CheckURL \"^/ok\"", &[&backend]));
    assert_eq!(pound.connect().get("/ok/1").status, 200);
    let mut c = pound.connect();
    assert_eq!(c.get("/no").status, 501);
    assert!(c.is_closed());
}

#[test]
fn timeouts_end_stalled_exchanges() {
    let slow = Backend::start(|_| Reply::Delay(Duration::from_secs(3), ok("late").into_bytes()));
    let config = format!(
        "Client 1\nListenHTTP\nLISTEN\nEnd\nService\nBackend\n{}TimeOut 1\nEnd\nEnd\n",
        slow.config()
    );
    let pound = Pound::start(&config);
    // pound 4.23 answers 503 for a backend that does not answer in time.
    let r = pound.connect().get("/");
    assert_eq!(r.status, 503);
    pound.err.wait_for("\": eof from backend");
    // A client that stops in the middle of its request is dropped after Client seconds,
    // without a word, as pound drops it.
    let mut c = pound.connect();
    c.send("GET / HTTP/1.1\r\nHost:");
    assert!(c.is_closed());
}

impl Reply {
    fn into_bytes(self) -> Vec<u8> {
        match self {
            Reply::Send(b) => b,
            _ => unreachable!(),
        }
    }
}

#[test]
fn graceful_shutdown_finishes_requests_in_flight() {
    let slow =
        Backend::start(|_| Reply::Delay(Duration::from_millis(700), ok("finished").into_bytes()));
    let mut pound = Pound::start(&simple("", &[&slow]));
    let mut c = pound.connect();
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    poll("the request to reach the backend", || {
        (!slow.requests().is_empty()).then_some(())
    });
    pound.signal(libc::SIGINT);
    pound.err.wait_for("shutting down...");
    // pound's words, though the requests run on tasks rather than threads.
    pound
        .err
        .wait_for("waiting for 1 active threads to terminate");
    let r = c.response();
    assert_eq!(r.text(), "finished");
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    assert_eq!(pound.wait(), Some(0));
    assert!(!pound.dir.join("pound.pid").exists());
}

#[test]
fn term_exits_at_once() {
    let slow = Backend::start(|_| Reply::Delay(Duration::from_secs(30), Vec::new()));
    let mut pound = Pound::start(&simple("", &[&slow]));
    let mut c = pound.connect();
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    poll("the request to reach the backend", || {
        (!slow.requests().is_empty()).then_some(())
    });
    pound.signal(libc::SIGTERM);
    assert_eq!(pound.wait(), Some(0));
    assert!(c.is_closed());
}

#[test]
fn log_levels_write_the_builtin_formats() {
    let backend = Backend::named("body");
    let expect: [Option<&str>; 6] = [
        None,
        Some("pound: 127.0.0.1 GET /l?q=1 HTTP/1.1 - HTTP/1.1 200 OK"),
        Some("pound: 127.0.0.1 GET /l?q=1 HTTP/1.1 - HTTP/1.1 200 OK (test/- -> BACKEND) "),
        Some("pound: test:PORT 127.0.0.1 - - ["),
        Some("pound: 127.0.0.1 - - ["),
        Some("pound: test:PORT 127.0.0.1 - - ["),
    ];
    for (level, want) in expect.iter().enumerate() {
        let pound = Pound::start(&format!("LogLevel {level}\n{}", simple("", &[&backend])));
        let mut c = pound.connect();
        c.send("GET /l?q=1 HTTP/1.1\r\nHost: test\r\nReferer: r\r\nUser-Agent: ua\r\n\r\n");
        assert_eq!(c.response().text(), "body");
        let Some(want) = want else {
            // Let a line appear if one were coming, via a second request whose response
            // follows the first request's log line.
            c.get("/again");
            assert!(pound.out.all().is_empty(), "{:?}", pound.out.all());
            continue;
        };
        let want = want
            .replace("BACKEND", &format!("127.0.0.1:{}", backend.port()))
            .replace("PORT", &pound.addr.port().to_string());
        let line = pound.out.wait_for("GET /l");
        assert!(line.starts_with(&want), "level {level}: {line}");
        match level {
            2 | 5 => assert!(line.ends_with(" sec"), "{line}"),
            3 | 4 => assert!(
                line.ends_with("] \"GET /l?q=1 HTTP/1.1\" 200 4 \"r\" \"ua\""),
                "{line}"
            ),
            _ => {}
        }
    }
}

#[test]
fn listens_on_address_and_port_and_unix_sockets() {
    let backend = Backend::named("direct");
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let dir = scratch_dir("listen");
    let sock = dir.join("pound.sock");
    let config = format!(
        "ListenHTTP\nAddress 127.0.0.1\nPort {}\nEnd\nListenHTTP\nAddress \"{}\"\nEnd\n{}",
        addr.port(),
        sock.display(),
        service(&[&backend])
    );
    let pound = Pound::spawn(&dir, &config, addr);
    assert_eq!(pound.connect().get("/").text(), "direct");
    let mut u = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    std::io::Write::write_all(&mut u, b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut u, &mut out).unwrap();
    assert!(
        out.starts_with("HTTP/1.1 200 OK") && out.ends_with("direct"),
        "{out}"
    );
}

#[test]
fn silent_connections_log_nothing() {
    let backend = Backend::named("x");
    let pound = Pound::start(&simple("", &[&backend]));
    drop(pound.connect());
    pound.connect().get("/marker");
    pound.out.wait_for("/marker");
    let errs: Vec<String> = pound
        .err
        .all()
        .into_iter()
        .filter(|l| !l.contains("starting"))
        .collect();
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(pound.out.all().len(), 1);
}

use common::scratch_dir;

/// `RewriteLocation` as pound 4.23 does it: mode 1 (the default) points every absolute
/// location at the host the client asked for; mode 2 only those naming the backend, by
/// address or by a name resolving to it; mode 0 none.
#[test]
fn locations_are_rewritten_as_pound_does() {
    let backend = Backend::start(|r| {
        let port = r.header("x-port").unwrap();
        Reply::Send(
            format!("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}/next?a=1\r\nContent-Location: http://elsewhere/x\r\nX-Other: http://localhost:{port}/y\r\nContent-Length: 0\r\n\r\n")
                .into_bytes(),
        )
    });
    let named = Backend::start(|r| {
        let port = r.header("x-port").unwrap();
        Reply::Send(
            format!("HTTP/1.1 301 Moved\r\nLocation: http://localhost:{port}\r\nContent-Location: https://10.1.2.3:{port}/z\r\nContent-Length: 0\r\n\r\n")
                .into_bytes(),
        )
    });
    let get = |pound: &Pound, port: u16| {
        let mut c = pound.connect();
        c.send(format!(
            "GET / HTTP/1.1\r\nHost: www.example.org:8080\r\nX-Port: {port}\r\n\r\n",
        ));
        c.response()
    };
    let pound = Pound::start(&simple("", &[&backend]));
    let r = get(&pound, backend.port());
    assert_eq!(
        r.header("location").as_deref(),
        Some("http://www.example.org:8080/next?a=1")
    );
    assert_eq!(
        r.header("content-location").as_deref(),
        Some("http://www.example.org:8080/x")
    );
    assert_eq!(
        r.header("x-other"),
        Some(format!("http://localhost:{}/y", backend.port()))
    );
    drop(pound);

    let two = Pound::start(&simple("RewriteLocation 2", &[&named]));
    let r = get(&two, named.port());
    assert_eq!(
        r.header("location").as_deref(),
        Some("http://www.example.org:8080/")
    );
    assert_eq!(
        r.header("content-location"),
        Some(format!("https://10.1.2.3:{}/z", named.port()))
    );
    drop(two);

    let off = Pound::start(&simple("RewriteLocation 0", &[&backend]));
    let r = get(&off, backend.port());
    assert_eq!(
        r.header("location"),
        Some(format!("http://127.0.0.1:{}/next?a=1", backend.port()))
    );
}

/// `Connection` cannot make the framing, `Host` or pound's own fields hop-by-hop: a body
/// must never turn into a second request at the backend.
#[test]
fn connection_cannot_strip_framing_or_forwarded_fields() {
    let backend = Backend::start(|r| ok(r.line()));
    let pound = Pound::start(&simple("", &[&backend]));
    let mut c = pound.connect();
    let smuggled = "GET /admin HTTP/1.1\r\nHost: internal\r\n\r\n";
    c.send(format!(
        "POST / HTTP/1.1\r\nHost: x\r\nConnection: Content-Length, Host, X-Forwarded-For\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Proto: https\r\nContent-Length: {}\r\n\r\n{smuggled}",
        smuggled.len()
    ));
    assert_eq!(c.response().text(), "POST / HTTP/1.1");
    let got = backend.requests();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].raw_body, smuggled.as_bytes());
    assert_eq!(got[0].header("host").as_deref(), Some("x"));
    let xff: Vec<&str> = got[0]
        .head
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("x-forwarded-for"))
        .collect();
    assert_eq!(xff, ["X-Forwarded-For: 1.1.1.1, 2.2.2.2, 127.0.0.1"]);
    let proto: Vec<&str> = got[0]
        .head
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("x-forwarded-proto"))
        .collect();
    assert_eq!(proto, ["X-Forwarded-Proto: http"]);
}

/// A backend that sends more than its response (here a body after 204) must not have the
/// extra bytes taken as the next client's response.
#[test]
fn extra_backend_bytes_never_reach_another_request() {
    let backend = Backend::start(|r| {
        if r.line().contains("/bad") {
            let mut b = b"HTTP/1.1 204 No Content\r\n\r\n".to_vec();
            b.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nPOISONED");
            Reply::Send(b)
        } else {
            ok("clean")
        }
    });
    let pound = Pound::start(&simple("", &[&backend]));
    assert_eq!(pound.connect().get("/bad").status, 204);
    for _ in 0..3 {
        assert_eq!(pound.connect().get("/next").text(), "clean");
    }
}

/// A request that is not idempotent is never sent twice, even when its pooled connection
/// fails before the response.
#[test]
fn non_idempotent_requests_are_not_retried() {
    let backend = Backend::start(|r| {
        if r.line().starts_with("POST") {
            Reply::Close
        } else {
            ok("warm")
        }
    });
    let pound = Pound::start(&simple("", &[&backend]));
    assert_eq!(pound.connect().get("/warm").text(), "warm");
    let mut c = pound.connect();
    c.send("POST /pay HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(c.response().status, 503);
    let posts = backend
        .requests()
        .iter()
        .filter(|r| r.line().starts_with("POST"))
        .count();
    assert_eq!(posts, 1);
}

#[test]
fn suspect_or_odd_backend_responses_are_made_safe() {
    let backend = Backend::start(|r| {
        match r.line().split(' ').nth(1).unwrap() {
        "/both" => Reply::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".to_vec()),
        "/blank" => Reply::Send(b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec()),
        "/ws" => Reply::Send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n".to_vec()),
        _ => ok("?"),
    }
    });
    let pound = Pound::start(&simple("", &[&backend]));
    let mut c = pound.connect();
    let r = c.get("/both");
    assert_eq!(r.text(), "hello");
    assert!(r.header("content-length").is_none(), "{}", r.head);
    assert!(c.is_closed());
    let mut c = pound.connect();
    let r = c.get("/blank");
    assert!(r.head.starts_with("HTTP/1.1 200 OK"), "{}", r.head);
    let mut c = pound.connect();
    c.send("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
    assert_eq!(c.response().status, 500);
}

#[test]
fn term_during_the_grace_period_exits_at_once() {
    let slow = Backend::start(|_| Reply::Delay(Duration::from_secs(30), Vec::new()));
    let mut pound = Pound::start(&format!("Grace 60\n{}", simple("", &[&slow])));
    let mut c = pound.connect();
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    poll("the request to reach the backend", || {
        (!slow.requests().is_empty()).then_some(())
    });
    pound.signal(libc::SIGINT);
    pound.err.wait_for("waiting for 1 active threads");
    pound.signal(libc::SIGTERM);
    assert_eq!(pound.wait(), Some(0));
}

#[test]
fn unix_socket_backends_and_emergency() {
    let dir = scratch_dir("unixbe");
    let path = dir.join("backend.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(4) {
            let Ok(mut s) = conn else { return };
            let mut buf = Vec::new();
            let mut b = [0u8; 1024];
            while find(&buf, b"\r\n\r\n").is_none() {
                match std::io::Read::read(&mut s, &mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&b[..n]),
                }
            }
            let _ = std::io::Write::write_all(
                &mut s,
                b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nunix",
            );
        }
    });
    let config = format!(
        "ListenHTTP\nLISTEN\nEnd\nService\nBackend\nAddress \"{}\"\nEnd\nEnd\n",
        path.display()
    );
    let pound = Pound::start(&config);
    assert_eq!(pound.connect().get("/").text(), "unix");

    // Emergency serves only when every regular backend is dead.
    let spare = Backend::named("emergency");
    let config = format!(
        "ListenHTTP\nLISTEN\nEnd\nService\nBackend\nAddress 127.0.0.1\nPort 1\nEnd\nEmergency\n{}End\nEnd\n",
        spare.config()
    );
    let pound = Pound::start(&config);
    assert_eq!(pound.connect().get("/").text(), "emergency");
}

#[test]
fn broken_backend_responses_end_cleanly() {
    let backend = Backend::start(|r| match r.line().split(' ').nth(1).unwrap() {
        "/garbage" => Reply::SendClose(b"SPDY/9 banana\r\n\r\n".to_vec()),
        "/short" => Reply::SendClose(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".to_vec()),
        "/badchunk" => Reply::SendClose(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(),
        ),
        "/silent" => Reply::Close,
        _ => ok("fine"),
    });
    let pound = Pound::start(&simple("", &[&backend]));
    let mut c = pound.connect();
    // A response head pound cannot use: 503, as in pound 4.23.
    assert_eq!(c.get("/garbage").status, 503);
    assert!(c.is_closed());
    let mut c = pound.connect();
    assert_eq!(c.get("/silent").status, 503);
    // A malformed body detected before anything was sent still gets a clean error.
    let mut c = pound.connect();
    assert_eq!(c.get("/badchunk").status, 500);
    assert!(c.is_closed());
    {
        // The head went out with the first bytes; the client sees the connection end
        // before the body does.
        let mut c = pound.connect();
        c.send("GET /short HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut all = Vec::new();
        let mut b = [0u8; 1024];
        loop {
            match std::io::Read::read(&mut c.s, &mut b) {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&b[..n]),
            }
        }
        let text = String::from_utf8_lossy(&all);
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    }
    // pound itself is unharmed.
    assert_eq!(pound.connect().get("/ok").text(), "fine");
}
