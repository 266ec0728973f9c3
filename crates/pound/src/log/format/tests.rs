use super::*;
use crate::http::request::{parse, Limits};

fn request(text: &str) -> Request {
    let mut r = Request::default();
    parse(text.as_bytes(), &Limits::default(), &mut r)
        .expect("valid")
        .expect("complete");
    r
}

fn line(format: &str, req: Option<&Request>) -> String {
    line_as(format, req, false)
}

fn line_as(format: &str, req: Option<&Request>, http2: bool) -> String {
    let listener = Named {
        name: "web".into(),
        location: "p.cfg:1.1-5.3".into(),
    };
    let service = Named {
        name: "-".into(),
        location: "p.cfg:6.1-9.3".into(),
    };
    let backend = Named {
        name: "127.0.0.1:8080".into(),
        location: "p.cfg:7.1-8.3".into(),
    };
    let start = SystemTime::UNIX_EPOCH + Duration::from_millis(1_316_387_908_123);
    let e = Entry {
        client: "192.0.2.1",
        origin: "192.0.2.1",
        local: "127.0.0.1",
        port: "8000",
        request: req,
        raw_line: "",
        status: 200,
        response_line: "HTTP/1.1 200 OK",
        bytes: 1234,
        start,
        end: start + Duration::from_millis(12),
        elapsed: Duration::from_micros(12_345),
        listener: &listener,
        service: Some(&service),
        backend: Some(&backend),
        http2,
        https: http2,
    };
    let mut out = String::new();
    Format::compile(format)
        .expect("valid format")
        .render(&e, &mut out);
    out
}

#[test]
fn builtin_formats() {
    let r = request(
        "GET /a?b=1 HTTP/1.1\r\nHost: example.org\r\nUser-Agent: t/1\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n",
    );
    assert!(Format::compile(BUILTIN[0]).unwrap().is_null());
    assert_eq!(
        line(BUILTIN[1], Some(&r)),
        "192.0.2.1 GET /a?b=1 HTTP/1.1 - HTTP/1.1 200 OK"
    );
    assert_eq!(
        line(BUILTIN[2], Some(&r)),
        "192.0.2.1 GET /a?b=1 HTTP/1.1 - HTTP/1.1 200 OK (example.org/- -> 127.0.0.1:8080) 0.012 sec"
    );
    let l3 = line(BUILTIN[3], Some(&r));
    assert!(
        l3.starts_with("example.org:8000 192.0.2.1 - user ["),
        "{l3}"
    );
    assert!(
        l3.ends_with("] \"GET /a?b=1 HTTP/1.1\" 200 1234 \"\" \"t/1\""),
        "{l3}"
    );
    let l4 = line(BUILTIN[4], Some(&r));
    assert!(l4.starts_with("192.0.2.1 - user ["), "{l4}");
    let l5 = line(BUILTIN[5], Some(&r));
    assert!(
        l5.ends_with("\"t/1\" (- -> 127.0.0.1:8080) 0.012 sec"),
        "{l5}"
    );
}

#[test]
fn conversions() {
    let r = request("POST /p/q?x HTTP/1.0\r\nContent-Length: 1\r\n\r\n");
    assert_eq!(line("%m %U %q %H %%", Some(&r)), "POST /p/q ?x http %");
    assert_eq!(line("%{X}i|%{X}I|%u", Some(&r)), "|-|-");
    assert_eq!(
        line("%v %{listener}L %{backend}L", Some(&r)),
        "127.0.0.1 p.cfg:1.1-5.3 p.cfg:7.1-8.3"
    );
    // pound 4.18: `%v` is the host of `Host` without its port; `%p` the listener's port;
    // `%l` a dash.
    let r = request("GET / HTTP/1.1\r\nHost: Example.org:8080\r\n\r\n");
    assert_eq!(
        line("%v|%p|%l|%{listener}N", Some(&r)),
        "Example.org|8000|-|web"
    );
    let r = request("GET / HTTP/1.1\r\nHost: [::1]:99\r\n\r\n");
    assert_eq!(line("%v", Some(&r)), "[::1]");
    assert_eq!(
        line("%D %{ms}T %{us}T %T %{f}T", None),
        "12345 12 12345 0 0.012"
    );
    assert_eq!(
        line("%{sec}t %{msec_frac}t %{end:msec_frac}t", None),
        "1316387908 123 135"
    );
    assert_eq!(
        line("%B %b %s %h %A", None),
        "1234 1234 200 192.0.2.1 127.0.0.1"
    );
    // Without a parsed request `%r` is the raw line (none here), as pound logs it.
    assert_eq!(line("%r %m %U", None), " - -");
    assert!(Format::compile("%Z").is_err());
    assert!(Format::compile("%{x").is_err());
    assert!(Format::compile("%{zone}N").is_err());
    assert!(Format::compile("%").is_err());
}

#[test]
fn http2_requests_show_their_protocol() {
    // (The helper's HTTP/2 requests come over TLS, as browsers send them.)
    let r = request("GET /a?b HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(line_as("%r %H", Some(&r), true), "GET /a?b HTTP/2.0 https");
    assert_eq!(line_as("%r %H", Some(&r), false), "GET /a?b HTTP/1.1 http");
}
