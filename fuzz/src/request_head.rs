//! The `request` target: the sanitizer (http/request.rs).

use super::*;

/// A request whose state (fields, `Connection` names, body) a later parse must overwrite.
const USED_REQUEST: &[u8] = b"POST /old?x HTTP/1.1\r\nHost: old\r\nConnection: keep-alive, X-Old, X-Older\r\nContent-Length: 7\r\nExpect: 100-continue\r\n\r\n";

fn request_limits(sel: u8) -> Limits {
    Limits {
        max_head: if sel & 1 != 0 { 256 } else { 64 * 1024 },
        max_line: if sel & 2 != 0 { 64 } else { 8 * 1024 },
        xhttp: (sel >> 2) & 3,
        max_body: if sel & 16 != 0 { Some(1000) } else { None },
    }
}

fn parse_request(input: &[u8], limits: &Limits) -> (Result<Option<usize>, Reject>, Request) {
    let mut req = Request::default();
    let r = request::parse(input, limits, &mut req);
    (r, req)
}

/// Input: one selector byte (limits, `xHTTP` level), then the bytes a client sent.
pub fn request(data: &[u8]) {
    let Some((&sel, input)) = data.split_first() else {
        return;
    };
    let limits = request_limits(sel);
    let (result, req) = parse_request(input, &limits);
    match result {
        Ok(None) => assert!(
            input.len() <= limits.max_head,
            "more bytes wanted beyond the head limit ({} > {})",
            input.len(),
            limits.max_head
        ),
        Err(r) => {
            assert!((400..600).contains(&r.status), "status {}", r.status);
            assert!(!r.reason.is_empty());
        }
        Ok(Some(n)) => check_request(input, &limits, &req, n),
    }
}

fn check_request(input: &[u8], limits: &Limits, req: &Request, n: usize) {
    assert!(
        n > 0 && n <= input.len(),
        "head length {n} of {}",
        input.len()
    );
    assert!(n <= limits.max_head, "head of {n} bytes over the limit");
    assert_eq!(req.head.buf, &input[..n], "the head is copied as sent");
    check_head_spans(&req.head, n);
    for s in [req.method, req.target, req.line] {
        assert!(
            in_bounds(&req.head.buf, s),
            "request line span out of bounds"
        );
    }
    let (method, target, line) = (req.method(), req.target(), req.line());
    assert!(!method.is_empty() && !target.is_empty());
    assert!(line.starts_with(method), "the line starts with the method");
    assert!(
        req.target.end <= req.line.end,
        "the target is inside the line"
    );
    assert!(line.len() <= limits.max_line, "request line over the limit");
    assert!(methods::allowed(method, limits.xhttp), "method not allowed");
    assert!(
        target.iter().all(|&b| b > b' ' && b != 0x7f),
        "target {target:?} holds white space or control bytes"
    );

    let hosts = count_fields(&req.head, "host");
    let lengths = count_fields(&req.head, "content-length");
    let codings = count_fields(&req.head, "transfer-encoding");
    if req.version == Version::Http11 {
        assert_eq!(hosts, 1, "an HTTP/1.1 request has exactly one Host");
    }
    assert!(hosts <= 1 && lengths <= 1 && codings <= 1);
    assert!(
        lengths + codings <= 1,
        "both Content-Length and Transfer-Encoding"
    );
    match req.body {
        BodyKind::Chunked => {
            assert_eq!(codings, 1);
            assert_eq!(req.version, Version::Http11);
        }
        BodyKind::Length(k) => {
            assert!(k > 0);
            let v = req.head.get("content-length").expect("a length field");
            assert_eq!(parse_content_length(v), Some(k));
            assert!(
                limits.max_body.is_none_or(|m| k <= m),
                "body over MaxRequest"
            );
        }
        BodyKind::Empty => {
            assert_eq!(codings, 0);
            if let Some(v) = req.head.get("content-length") {
                assert_eq!(parse_content_length(v), Some(0));
            }
        }
        BodyKind::UntilClose => panic!("a request body delimited by the close"),
    }
    if req.keep_alive || req.upgrade {
        assert_eq!(req.version, Version::Http11);
    }
    if req.expect_continue {
        assert_ne!(req.body, BodyKind::Empty);
    }
    for s in &req.connection_names {
        assert!(in_bounds(&req.head.buf, *s));
        let name = req.head.bytes(*s);
        assert!(!request::is_protected(name), "Connection names {name:?}");
    }
    for i in 0..req.head.fields.len() {
        let hop = req.is_hop_by_hop(i);
        if request::is_protected(req.head.name(i)) {
            assert!(!hop, "a protected field is hop-by-hop");
        }
    }
    // The parts the rules look at.
    let parts = rules::target::split(target);
    assert!(parts.origin.len() + parts.path.len() <= target.len());
    if let Some(h) = req.head.get("host") {
        let (host, port) = rules::target::host_port(h);
        assert!(host.len() + port.len() <= h.len());
    }

    // The head parses the same without what follows it, and with anything after it.
    let fresh = format!("{req:?}");
    let (alone, req2) = parse_request(&input[..n], limits);
    assert_eq!(alone, Ok(Some(n)), "the head alone");
    assert_eq!(format!("{req2:?}"), fresh);
    let mut longer = input[..n].to_vec();
    longer.extend_from_slice(b"GET / HTTP/1.1\r\n\r\nX");
    let (more, req3) = parse_request(&longer, limits);
    assert_eq!(more, Ok(Some(n)), "the head followed by other bytes");
    assert_eq!(format!("{req3:?}"), fresh);
    // No shorter prefix is a complete head.
    for k in [n - 1, n / 2, n.saturating_sub(2)] {
        let (r, _) = parse_request(&input[..k], limits);
        assert!(
            !matches!(r, Ok(Some(_))),
            "the prefix of {k} bytes is complete: {r:?}"
        );
    }
    // A request reused from an earlier one ends up the same as a fresh one.
    let mut reused = Request::default();
    let used = request::parse(USED_REQUEST, &Limits::default(), &mut reused);
    assert!(matches!(used, Ok(Some(_))), "{used:?}");
    assert_eq!(request::parse(input, limits, &mut reused), Ok(Some(n)));
    assert_eq!(
        format!("{reused:?}"),
        fresh,
        "a reused request keeps old state"
    );
}
