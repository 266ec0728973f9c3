//! Edge cases found by probing the HTTP/1 edge (docs/SECURITY.md): hosts that are not
//! hosts, user information in targets, oversized chunk sizes, forbidden trailer fields and
//! backends that flood interim responses. The real `pound` binary on loopback.

mod common;

use std::time::Duration;

use common::net::*;

#[test]
fn malformed_hosts_and_authorities_are_refused_and_never_forwarded() {
    let backend = Backend::named("ok");
    let pound = Pound::start(&simple("", &[&backend]));
    let cases = [
        "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: evil@good\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: good/../evil\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: good:80:80\r\n\r\n",
        "GET http://user@evil.example/x HTTP/1.1\r\nHost: good\r\n\r\n",
        "GET http://user:pw@evil.example/ HTTP/1.1\r\nHost: good\r\n\r\n",
        "GET http:///x HTTP/1.1\r\nHost: good\r\n\r\n",
        // A chunk size a signed 64-bit reader would see as negative.
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8000000000000000\r\na\r\n0\r\n\r\n",
    ];
    for request in cases {
        let mut c = pound.connect();
        c.send(request);
        let r = c.response();
        assert_eq!(r.status, 400, "{request:?} got {}", r.head);
        assert!(c.is_closed(), "connection left open after {request:?}");
    }
    // Well-formed ones still pass.
    let mut c = pound.connect();
    c.send("GET http://h.example:8080/p HTTP/1.1\r\nHost: other\r\n\r\n");
    assert_eq!(c.response().status, 200);
    c.send("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
    assert_eq!(c.response().status, 200);
    let hosts: Vec<String> = backend
        .requests()
        .iter()
        .map(|r| r.header("host").unwrap_or_default())
        .collect();
    assert_eq!(hosts, ["h.example:8080", "[::1]:8080"]);
}

#[test]
fn chunk_sizes_beyond_max_request_are_refused_before_they_are_forwarded() {
    let backend = Backend::named("ok");
    let pound = Pound::start(&simple("MaxRequest 1000", &[&backend]));
    let mut c = pound.connect();
    c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\n");
    assert_eq!(c.response().status, 413);
    assert!(backend.requests().is_empty());
}

#[test]
fn trailers_lose_the_fields_that_must_not_be_trailers() {
    let backend = Backend::named("ok");
    let pound = Pound::start(&simple("", &[&backend]));
    let mut c = pound.connect();
    c.send(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
         3\r\nabc\r\n0\r\nX-Checksum: 42\r\nContent-Length: 5\r\nHost: evil\r\n\
         Transfer-Encoding: chunked\r\nAuthorization: Basic eDp5\r\nX-Forwarded-For: 1.2.3.4\r\n\
         Server-Timing: db;dur=1\r\n\r\n",
    );
    assert_eq!(c.response().status, 200);
    let got = backend.requests();
    assert_eq!(
        String::from_utf8_lossy(&got[0].raw_body),
        "3\r\nabc\r\n0\r\nX-Checksum: 42\r\nServer-Timing: db;dur=1\r\n\r\n"
    );
    // Without trailers the body is passed exactly as it came.
    c.send(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;e=1\r\nz\r\n0\r\n\r\n",
    );
    assert_eq!(c.response().status, 200);
    assert_eq!(
        String::from_utf8_lossy(&backend.requests()[1].raw_body),
        "1;e=1\r\nz\r\n0\r\n\r\n"
    );
}

#[test]
fn interim_response_floods_are_cut_off() {
    let flood = "HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n".repeat(1000);
    let backend = Backend::start(move |_| {
        Reply::Send(
            format!("{flood}{}", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").into_bytes(),
        )
    });
    let pound = Pound::start(&simple("", &[&backend]));
    let mut c = pound.connect();
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut interim = 0;
    let last = loop {
        let r = c.response();
        if r.status != 103 {
            break r;
        }
        interim += 1;
    };
    assert_eq!(last.status, 503);
    assert!(interim <= 32, "{interim} interim responses relayed");
    pound.err.wait_for("too many interim responses");
}

#[test]
fn interim_responses_do_not_restart_the_backend_time_out() {
    // A backend that sends an interim response every 400 ms and never a final one.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut s, _)) = listener.accept() {
            let mut b = [0u8; 4096];
            let _ = s.read(&mut b);
            // Bounded: 20 interim responses, 8 s in all.
            for _ in 0..20 {
                if s.write_all(b"HTTP/1.1 102 Processing\r\n\r\n").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(400));
            }
        }
    });
    let pound = Pound::start(&format!(
        "ListenHTTP\nLISTEN\nEnd\nService\nBackend\nAddress 127.0.0.1\nPort {port}\nTimeOut 2\nEnd\nEnd\n"
    ));
    let mut c = pound.connect();
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut interim = 0;
    let last = loop {
        let r = c.response();
        if r.status != 102 {
            break r;
        }
        interim += 1;
    };
    assert_eq!(last.status, 503);
    // About 2 s worth of them (5), far from the 20 the backend would send.
    assert!(
        interim < 12,
        "{interim} interim responses before the time-out"
    );
}
