//! The `response` target: backend response heads (http/response.rs).

use super::*;

const USED_RESPONSE: &[u8] = b"HTTP/1.0 200 OK\r\nConnection: keep-alive, X-Old\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";

fn parse_response(
    input: &[u8],
    max_head: usize,
    method: &[u8],
) -> (Result<Option<usize>, &'static str>, Response) {
    let mut resp = Response::default();
    let r = response::parse(input, max_head, method, &mut resp);
    (r, resp)
}

/// Input: one selector byte (the request method, the head limit), then the backend's bytes.
pub fn response(data: &[u8]) {
    let Some((&sel, input)) = data.split_first() else {
        return;
    };
    let method: &[u8] = [&b"GET"[..], b"HEAD", b"CONNECT", b"POST"][usize::from(sel & 3)];
    let max_head = if sel & 4 != 0 { 128 } else { 64 * 1024 };
    let (result, resp) = parse_response(input, max_head, method);
    let n = match result {
        Ok(None) => {
            assert!(
                input.len() <= max_head,
                "more bytes wanted beyond the limit"
            );
            return;
        }
        Err(e) => {
            assert!(!e.is_empty());
            return;
        }
        Ok(Some(n)) => n,
    };
    assert!(n > 0 && n <= input.len() && n <= max_head);
    assert_eq!(resp.head.buf, &input[..n]);
    check_head_spans(&resp.head, n);
    assert!(in_bounds(&resp.head.buf, resp.line));
    assert!(resp.line().starts_with(b"HTTP/1."), "{:?}", resp.line());
    assert!((100..=999).contains(&resp.status));
    assert!(resp.version.is_some());
    let status = resp.status;
    let te = count_fields(&resp.head, "transfer-encoding") > 0;
    let cl = count_fields(&resp.head, "content-length") > 0;
    assert_eq!(resp.transfer_encoding, te);
    assert_eq!(resp.suspect, te && cl);
    assert_eq!(
        resp.tunnel,
        method == b"CONNECT" && (200..300).contains(&status)
    );
    if method == b"HEAD" || (100..200).contains(&status) || status == 204 || status == 304 {
        assert_eq!(resp.body, BodyKind::Empty, "a response that has no body");
    }
    match resp.body {
        BodyKind::Chunked => assert!(te),
        BodyKind::Length(k) => {
            assert!(k > 0 && !te);
            for i in resp.head.find("content-length") {
                assert_eq!(parse_content_length(resp.head.value(i)), Some(k));
            }
        }
        BodyKind::UntilClose => assert!(!resp.reusable),
        BodyKind::Empty => {}
    }
    if resp.suspect || resp.tunnel {
        assert!(!resp.reusable);
    }
    for s in &resp.connection_names {
        assert!(in_bounds(&resp.head.buf, *s));
        assert!(!request::is_protected(resp.head.bytes(*s)));
    }
    for i in 0..resp.head.fields.len() {
        resp.is_hop_by_hop(i);
    }
    let _ = resp.is_interim();

    let fresh = format!("{resp:?}");
    let (alone, r2) = parse_response(&input[..n], max_head, method);
    assert_eq!(alone, Ok(Some(n)), "the head alone");
    assert_eq!(format!("{r2:?}"), fresh);
    let mut longer = input[..n].to_vec();
    longer.extend_from_slice(b"HTTP/1.1 200 OK\r\n\r\nbody");
    let (more, r3) = parse_response(&longer, max_head, method);
    assert_eq!(more, Ok(Some(n)), "the head followed by other bytes");
    assert_eq!(format!("{r3:?}"), fresh);
    for k in [n - 1, n / 2] {
        let (r, _) = parse_response(&input[..k], max_head, method);
        assert!(!matches!(r, Ok(Some(_))), "prefix of {k} bytes: {r:?}");
    }
    let mut reused = Response::default();
    let used = response::parse(USED_RESPONSE, 65536, b"GET", &mut reused);
    assert!(matches!(used, Ok(Some(_))), "{used:?}");
    assert_eq!(
        response::parse(input, max_head, method, &mut reused),
        Ok(Some(n))
    );
    assert_eq!(
        format!("{reused:?}"),
        fresh,
        "a reused response keeps old state"
    );
}
