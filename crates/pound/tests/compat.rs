//! Behaviour pinned to pound 4.23's, found by running the original side by side with
//! `scripts/compare-reference`: each expected output here is what pound itself produces for
//! the same configuration and request.

mod common;

use common::net::{Backend, Pound, Reply};

/// `CombineHeaders`: every occurrence of a listed field, in requests and in responses,
/// becomes one field at the place of the first, its elements trimmed and empty ones
/// dropped; `%{Name}i` logs the combined value.
#[test]
fn combine_headers_joins_listed_fields_both_ways() {
    let backend = Backend::start(|_| {
        Reply::Send(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Foo: a\r\nX-Foo: b ,c\r\n\r\nok\n".to_vec(),
        )
    });
    let pound = Pound::start(&format!(
        "CombineHeaders\n\"X-Foo\"\n\"accept\" \"Via\"\nEnd\n\
         LogFormat \"f\" \"%{{X-Foo}}i|%{{Accept}}i|%{{Via}}i\"\nLogLevel \"f\"\n{}",
        common::net::simple("", &[&backend])
    ));
    let resp = pound
        .connect()
        .send(
            "GET / HTTP/1.1\r\nHost: a\r\nX-Foo: a\r\nAccept: x\r\nX-Bar: 1\r\nx-foo: b ,c\r\n\
             accept: y\r\nVia: 1\r\nX-Foo:\r\nX-Foo:   d  \r\nVia: 2\r\n\r\n",
        )
        .response();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("X-Foo").as_deref(), Some("a, b, c"));
    assert_eq!(resp.head.matches("X-Foo").count(), 1, "{}", resp.head);
    let got = &backend.requests()[0];
    let fields: Vec<&str> = got.head.lines().skip(1).take(4).collect();
    assert_eq!(
        fields,
        ["Host: a", "X-Foo: a, b, c, d", "Accept: x, y", "X-Bar: 1"]
    );
    assert_eq!(got.header("Via").as_deref(), Some("1, 2"));
    assert_eq!(got.head.matches("Via:").count(), 1);
    pound.out.wait_for("a, b, c, d|x, y|1, 2");
}

/// Everything the server sends for `request` on a fresh connection, until it closes.
fn exchange(pound: &Pound, request: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(pound.addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

const PAGE_HEAD: &str =
    "Content-Type: text/html\r\nExpires: now\r\nPragma: no-cache\r\nCache-control: no-cache,no-store\r\n\r\n";

/// pound's own answers, byte for byte, with its messages and request log lines: a head it
/// cannot parse is answered in HTTP/1.0 and delimited by the connection's end; errors
/// after a request was read carry their length first; redirects log `302 -`.
#[test]
fn pound_answers_and_logs_its_errors_as_pound_does() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let config = format!(
        "LogFormat \"f\" \"%r|%>s|%b|%s\"\nLogLevel \"f\"\n\
         ListenHTTP\nLISTEN\nCheckURL \"^/[a-z]\"\nEnd\n\
         Service\nURL \"^/err\"\nError 404\nEnd\n\
         Service\nURL \"^/red\"\nRedirect \"http://x/\"\nEnd\n\
         Service\nURL \"^/dead\"\nBackend\nAddress 127.0.0.1\nPort {dead_port}\nEnd\nEnd\n"
    );
    let pound = Pound::start(&config);

    let page = |code: u16, title: &str, text: &str| {
        format!(
            "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\"><html><head><title>{code} {title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>"
        )
    };
    let bad = page(
        400,
        "Bad Request",
        "Your browser (or proxy) sent a request that this server could not understand.",
    );
    assert_eq!(
        exchange(&pound, "GARBAGE\r\n\r\n"),
        format!("HTTP/1.0 400 Bad Request\r\n{PAGE_HEAD}{bad}")
    );
    pound
        .err
        .wait_for("e400: 127.0.0.1: \"GARBAGE\": error parsing request");
    pound.out.wait_for(&format!(
        "pound: GARBAGE|HTTP/1.0 400 Bad Request|{}|400",
        bad.len()
    ));

    let unavailable = page(
        503,
        "Service Unavailable",
        "The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.",
    );
    assert_eq!(
        exchange(&pound, "GET /nosvc HTTP/1.1\r\nHost: a\r\n\r\n"),
        format!(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: {}\r\nConnection: close\r\n{PAGE_HEAD}{unavailable}",
            unavailable.len()
        )
    );
    pound
        .err
        .wait_for("e503: 127.0.0.1: \"GET /nosvc HTTP/1.1\": no suitable service found");
    pound.out.wait_for(&format!(
        "pound: GET /nosvc HTTP/1.1|HTTP/1.1 503 Service Unavailable|{}|503",
        unavailable.len()
    ));

    let not_found = page(
        404,
        "Not Found",
        "The requested URL was not found on this server.",
    );
    assert_eq!(
        exchange(&pound, "GET /err HTTP/1.0\r\n\r\n"),
        format!("HTTP/1.0 404 Not Found\r\n{PAGE_HEAD}{not_found}")
    );
    pound
        .out
        .wait_for("pound: GET /err HTTP/1.0|HTTP/1.0 404 Not Found|189|404");

    let redirect = exchange(&pound, "GET /red HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(
        redirect.starts_with(
            "HTTP/1.1 302 Found\r\nContent-Type: text/html\r\nContent-Length: 134\r\nConnection: close\r\nLocation: http://x\r\n\r\n"
        ),
        "{redirect}"
    );
    pound.out.wait_for("pound: GET /red HTTP/1.1|302 -|-|302");

    assert!(exchange(&pound, "GET /1bad HTTP/1.1\r\nHost: a\r\n\r\n").starts_with("HTTP/1.1 501 "));
    pound
        .err
        .wait_for("e501: 127.0.0.1: \"GET /1bad HTTP/1.1\": bad URL \"/1bad\"");

    assert!(exchange(&pound, "GET /dead HTTP/1.1\r\nHost: a\r\n\r\n").starts_with("HTTP/1.1 503 "));
    let name = format!("127.0.0.1:{dead_port}");
    pound.err.wait_for(&format!(
        "connect_nb: {name}: connection failed: Connection refused"
    ));
    pound.err.wait_for(&format!(
        "): 127.0.0.1: \"GET /dead HTTP/1.1\": can't connect to backend {name}: Connection refused"
    ));
    pound.err.wait_for(&format!("Backend {name} dead (killed)"));
    pound
        .err
        .wait_for("e503: 127.0.0.1: \"GET /dead HTTP/1.1\": no backend found");
}

/// A service that mixes `Redirect` with regular backends (deprecated) starts, as pound
/// starts it, and each redirect takes requests like a backend of priority 1.
#[test]
fn redirects_mixed_with_backends_are_balanced_like_backends() {
    let backend = Backend::named("proxied");
    let pound = Pound::start(&format!(
        "ListenHTTP\nLISTEN\nEnd\nService\nRedirect \"http://x/\"\nBackend\n{}Priority 3\nEnd\nEnd\n",
        backend.config()
    ));
    pound
        .err
        .wait_for("warning: service mixes regular and redirect backends");
    let (mut redirected, mut proxied) = (0, 0);
    for _ in 0..200 {
        match pound.connect().get("/").status {
            302 => redirected += 1,
            200 => proxied += 1,
            other => panic!("status {other}"),
        }
    }
    // 1 in 4 expected (50 ± 6 for one standard deviation); the bounds are over four.
    assert!((25..=75).contains(&redirected), "{redirected} of 200");
    assert_eq!(redirected + proxied, 200);
}

/// `MaxRequest`: a declared length over it is refused once the head is read, in the
/// request's version, with pound's page and words; a chunk over it is refused as pound
/// refuses it when sending chunks.
#[test]
fn max_request_is_refused_in_pounds_words() {
    let backend = Backend::named("ok");
    let pound = Pound::start(&common::net::simple("MaxRequest 10", &[&backend]));
    let text = "The request content is larger than the proxy server is able to process.";
    let r = exchange(
        &pound,
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 20\r\n\r\n01234567890123456789",
    );
    assert!(
        r.starts_with(
            "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 229\r\nConnection: close\r\n"
        ),
        "{r}"
    );
    assert!(r.contains(text), "{r}");
    pound
        .err
        .wait_for("e413: 127.0.0.1: \"POST / HTTP/1.1\": request too large: 20 bytes");
    pound
        .out
        .wait_for("pound: 127.0.0.1 POST / HTTP/1.1 - HTTP/1.1 413 Payload Too Large");
    let r = exchange(
        &pound,
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n01234567890123456789\r\n0\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 413 "), "{r}");
    pound.err.wait_for("chunk content too large");
    pound.err.wait_for(&format!(
        "e413: 127.0.0.1 => 127.0.0.1:{}: \"POST / HTTP/1.1\": error sending chunks",
        backend.port()
    ));
}

/// `ServerName` (pound 4.11, and in `Emergency` since 4.12): the backend gets that `Host`,
/// and the log shows it, as pound's does.
#[test]
fn server_name_sets_the_host_a_backend_gets() {
    let emergency = Backend::named("spare");
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let pound = Pound::start(&format!(
        "LogLevel 2\nListenHTTP\nLISTEN\nEnd\nService \"S\"\n\
         Backend\nAddress 127.0.0.1\nPort {dead_port}\nEnd\n\
         Emergency\n{}ServerName \"emerg.example\"\nEnd\nEnd\n",
        emergency.config()
    ));
    let r = pound
        .connect()
        .send("GET /e HTTP/1.1\r\nHost: orig.example\r\n\r\n")
        .response();
    assert_eq!(r.text(), "spare");
    assert_eq!(
        emergency.requests()[0].header("Host").as_deref(),
        Some("emerg.example")
    );
    pound.out.wait_for(&format!(
        "pound: 127.0.0.1 GET /e HTTP/1.1 - HTTP/1.1 200 OK (emerg.example/S -> 127.0.0.1:{})",
        emergency.port()
    ));
}

/// A `Rewrite` nested in a `Rewrite response` chooses its branch on the response, as in
/// pound 4.23.
#[test]
fn rewrites_nested_in_response_rewrites_apply_to_the_response() {
    let backend = Backend::start(|_| {
        Reply::Send(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        )
    });
    let pound = Pound::start(&format!(
        "ListenHTTP\nLISTEN\nEnd\nService\nRewrite response\nHeader \"Content-Type:\"\n\
         SetHeader \"X-Outer: 1\"\nRewrite\nHeader \"X-Missing:\"\nSetHeader \"X-Inner: no\"\n\
         Else\nSetHeader \"X-Inner: yes\"\nEnd\nEnd\nBackend\n{}End\nEnd\n",
        backend.config()
    ));
    let r = pound.connect().get("/");
    assert_eq!(r.header("X-Outer").as_deref(), Some("1"));
    assert_eq!(r.header("X-Inner").as_deref(), Some("yes"));
}

/// `%[remoteip 0]` (the client), `%[remoteip 1]` (the originator behind the most specific
/// `TrustedIP`/`ForwardedHeader`) and `%[user]`, as pound 4.23 expands them.
#[test]
fn remoteip_and_user_accessors() {
    let backend = Backend::named("ok");
    let pound = Pound::start(&format!(
        "TrustedIP\n\"127.0.0.1\"\nEnd\nListenHTTP\nLISTEN\nEnd\n\
         Service\nPath -beg \"/rh\"\nForwardedHeader \"X-Real-IP\"\n\
         SetHeader \"X-Orig: %[remoteip 1]\"\nBackend\n{0}End\nEnd\n\
         Service\nSetHeader \"X-Acc: ip=%[remoteip 0] ipf=%[remoteip 1] user=%[user]\"\n\
         Backend\n{0}End\nEnd\n",
        backend.config()
    ));
    let get = |req: &str| {
        pound.connect().send(req).response();
        backend.requests().pop().expect("a request")
    };
    let r = get("GET /rh HTTP/1.1\r\nHost: a\r\nX-Real-IP: 5.6.7.8\r\n\r\n");
    assert_eq!(r.header("X-Orig").as_deref(), Some("5.6.7.8"));
    let r = get(
        "GET /x HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.9\r\n\
         Authorization: Basic dXNlcjpwYXNz\r\n\r\n",
    );
    assert_eq!(
        r.header("X-Acc").as_deref(),
        Some("ip=127.0.0.1 ipf=192.0.2.9 user=user")
    );
}

/// A head that parsed but frames its body wrongly is answered in the request's version,
/// with pound 4.23's reasons.
#[test]
fn framing_errors_are_answered_as_pound_answers_them() {
    let backend = Backend::named("ok");
    let pound = Pound::start(&common::net::simple("", &[&backend]));
    for (request, status, why) in [
        (
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "400 Bad Request",
            "both Transfer-Encoding and Content-Length given",
        ),
        (
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
            "400 Bad Request",
            "multiple Content-Length headers",
        ),
        (
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
            "400 Bad Request",
            "bad Content-Length value",
        ),
        (
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
            "501 Not Implemented",
            "unknown Transfer-Encoding",
        ),
    ] {
        let r = exchange(&pound, request);
        assert!(
            r.starts_with(&format!("HTTP/1.1 {status}\r\nContent-Length: ")),
            "{r}"
        );
        pound
            .err
            .wait_for(&format!("127.0.0.1: \"POST / HTTP/1.1\": {why}"));
    }
    assert!(backend.requests().is_empty());
}

/// pound's line buffer: a request line or header line of up to 4093 bytes is taken; a
/// longer request line is answered 414, a longer header line 413, both in HTTP/1.0.
#[test]
fn lines_longer_than_pounds_line_buffer_are_refused() {
    let backend = Backend::named("ok");
    let pound = Pound::start(&common::net::simple("", &[&backend]));
    let line = |n: usize| {
        format!(
            "GET /{} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
            "a".repeat(n - 14)
        )
    };
    assert!(exchange(&pound, &line(4093)).starts_with("HTTP/1.1 200 "));
    assert!(exchange(&pound, &line(4094)).starts_with("HTTP/1.0 414 URI Too Long\r\n"));
    let field = |n: usize| {
        format!(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Long: {}\r\n\r\n",
            "b".repeat(n - 8)
        )
    };
    assert!(exchange(&pound, &field(4093)).starts_with("HTTP/1.1 200 "));
    assert!(exchange(&pound, &field(4094)).starts_with("HTTP/1.0 413 Payload Too Large\r\n"));
    pound
        .out
        .wait_for("pound: 127.0.0.1  - HTTP/1.0 413 Payload Too Large");
}
