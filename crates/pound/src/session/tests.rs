use super::*;
use crate::http::request::{self, Limits};

fn request(text: &str) -> Request {
    let mut r = Request::default();
    request::parse(text.as_bytes(), &Limits::default(), &mut r)
        .expect("valid")
        .expect("complete");
    r
}

fn sessions(kind: SessionType, id: Option<&str>) -> Sessions {
    Sessions::new(&SessionCfg {
        span: pound_config::Span {
            file: "t".into(),
            start: Default::default(),
            end: Default::default(),
        },
        kind,
        ttl: 60,
        id: id.map(str::to_string),
    })
}

fn key(kind: SessionType, id: Option<&str>, head: &str) -> Option<String> {
    let req = request(&format!("{head}\r\n"));
    sessions(kind, id)
        .key(&req, "192.0.2.7")
        .map(|k| String::from_utf8_lossy(&k).into_owned())
}

#[test]
fn ip_sessions_use_the_client_address() {
    let k = key(SessionType::Ip, None, "GET / HTTP/1.1\r\nHost: h\r\n");
    assert_eq!(k.as_deref(), Some("192.0.2.7"));
}

#[test]
fn basic_sessions_use_the_user_name() {
    // alice:secret and alice:other are the same session.
    let h = "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Basic YWxpY2U6c2VjcmV0\r\n";
    assert_eq!(key(SessionType::Basic, None, h).as_deref(), Some("alice"));
    let h = "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: basic YWxpY2U6b3RoZXI=\r\n";
    assert_eq!(key(SessionType::Basic, None, h).as_deref(), Some("alice"));
    let h = "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer xyz\r\n";
    assert_eq!(key(SessionType::Basic, None, h), None);
    assert_eq!(
        key(SessionType::Basic, None, "GET / HTTP/1.1\r\nHost: h\r\n"),
        None
    );
}

#[test]
fn url_sessions_use_a_query_parameter() {
    let k = |t: &str| {
        key(
            SessionType::Url,
            Some("sessid"),
            &format!("GET {t} HTTP/1.1\r\nHost: h\r\n"),
        )
    };
    assert_eq!(
        k("/a?x=1&sessid=ab%20c&sessid=2").as_deref(),
        Some("ab%20c")
    );
    assert_eq!(k("/a?SESSID=1"), None);
    assert_eq!(k("/a?sessid"), None);
    assert_eq!(k("/a?sessid="), None);
    assert_eq!(k("/a;sessid=1"), None);
}

#[test]
fn parm_sessions_use_the_last_path_parameter() {
    let k = |t: &str| {
        key(
            SessionType::Parm,
            None,
            &format!("GET {t} HTTP/1.1\r\nHost: h\r\n"),
        )
    };
    assert_eq!(
        k("/app;jsessionid=AB12?x=1").as_deref(),
        Some("jsessionid=AB12")
    );
    assert_eq!(k("/a;b/c;d").as_deref(), Some("d"));
    assert_eq!(k("/app?x=;y"), None);
    assert_eq!(k("/app"), None);
}

#[test]
fn cookie_sessions_use_a_cookie_from_any_cookie_field() {
    let k = |h: &str| {
        key(
            SessionType::Cookie,
            Some("userid"),
            &format!("GET / HTTP/1.1\r\nHost: h\r\n{h}"),
        )
    };
    assert_eq!(
        k("Cookie: a=1; userid=u42; b=2\r\n").as_deref(),
        Some("u42")
    );
    assert_eq!(
        k("Cookie: a=1\r\nCookie: USERID=\"q\" \r\n").as_deref(),
        Some("\"q\"")
    );
    assert_eq!(k("Cookie: xuserid=1; user=2\r\n"), None);
    assert_eq!(k("X-Cookie: userid=1\r\n"), None);
}

#[test]
fn header_sessions_use_the_first_such_header() {
    let k = |h: &str| {
        key(
            SessionType::Header,
            Some("X-Session"),
            &format!("GET / HTTP/1.1\r\nHost: h\r\n{h}"),
        )
    };
    assert_eq!(
        k("x-session: one\r\nX-Session: two\r\n").as_deref(),
        Some("one")
    );
    assert_eq!(k("X-Sessions: one\r\n"), None);
}

#[test]
fn long_keys_are_cut() {
    let long = "k".repeat(MAX_KEY + 50);
    let h = format!("GET / HTTP/1.1\r\nHost: h\r\nX-S: {long}\r\n");
    assert_eq!(
        key(SessionType::Header, Some("X-S"), &h).map(|k| k.len()),
        Some(MAX_KEY)
    );
}

#[test]
fn responses_name_cookie_and_header_keys() {
    let mut head = Head::with_capacity(256, 8);
    head.push("Set-Cookie", b"other=1; Path=/");
    head.push("Set-Cookie", b"userid=u7; Path=/; userid=no");
    head.push("X-Session", b"s9");
    let s = sessions(SessionType::Cookie, Some("userid"));
    assert_eq!(s.response_key(&head).as_deref(), Some(&b"u7"[..]));
    let s = sessions(SessionType::Header, Some("x-session"));
    assert_eq!(s.response_key(&head).as_deref(), Some(&b"s9"[..]));
    let s = sessions(SessionType::Ip, None);
    assert_eq!(s.response_key(&head), None);
    // An attribute is never taken for the cookie.
    assert_eq!(set_cookie(b"a=1; userid=2", b"userid"), None);
}
