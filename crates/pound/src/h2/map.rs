//! Between HTTP/2 messages (`http` types, as the `h2` crate gives and takes them) and the
//! engine's protocol-neutral heads: a request stream becomes a [`Request`] field by field,
//! a response head or trailer section becomes a header map. Pure: unit-tested below.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::http::head::Head;
use crate::http::request::{Limits, Reject, Request};
use crate::http::response::Response;

/// Headers that describe an HTTP/1 connection and mean nothing in HTTP/2 (RFC 9113,
/// 8.2.2); `h2` already refuses requests carrying most of them.
pub fn connection_specific(name: &[u8]) -> bool {
    [
        &b"connection"[..],
        b"keep-alive",
        b"proxy-connection",
        b"transfer-encoding",
        b"upgrade",
        b"te",
    ]
    .iter()
    .any(|n| name.eq_ignore_ascii_case(n))
}

/// Whether the pseudo-header fields make a well-formed request (RFC 9113, 8.3.1): a path
/// in origin form (or `*` for OPTIONS), and an authority without user information.
pub fn well_formed(parts: &http::request::Parts) -> bool {
    let path_ok = match parts.uri.path_and_query().map(|p| p.as_str()) {
        Some("*") => parts.method == Method::OPTIONS,
        Some(p) => p.starts_with('/'),
        None => false,
    };
    path_ok
        && parts
            .uri
            .authority()
            .is_none_or(|a| crate::http::valid_authority(a.as_str().as_bytes()))
}

/// Makes `req` the request of an HTTP/2 stream, as the engine sees every request: a
/// request line `METHOD TARGET HTTP/1.1`, `Host` from `:authority` (which wins over a
/// `Host` field, RFC 9113, 8.3.1), the fields in their order less the connection-specific
/// ones, the `cookie` pairs in one field (RFC 9113, 8.2.3), and `transfer-encoding:
/// chunked` when `chunked` (a body without a length, which HTTP/1.1 must frame). Then the
/// head is checked as an HTTP/1 head is.
pub fn request(
    parts: &http::request::Parts,
    chunked: bool,
    limits: &Limits,
    req: &mut Request,
) -> Result<(), Reject> {
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| !p.is_empty())
        .unwrap_or("/");
    req.start(parts.method.as_str().as_bytes(), target.as_bytes());
    let authority = parts.uri.authority();
    if let Some(a) = authority {
        req.add_field(b"Host", a.as_str().as_bytes());
    }
    let mut cookies = 0;
    for (name, value) in &parts.headers {
        let name = name.as_str().as_bytes();
        if connection_specific(name) || (authority.is_some() && name == b"host") {
            continue;
        }
        if name == b"cookie" {
            cookies += 1;
            continue;
        }
        req.add_field(name, value.as_bytes());
    }
    if cookies > 0 {
        let mut joined = Vec::new();
        for v in parts.headers.get_all(http::header::COOKIE) {
            if !joined.is_empty() {
                joined.extend_from_slice(b"; ");
            }
            joined.extend_from_slice(v.as_bytes());
        }
        req.add_field(b"cookie", &joined);
    }
    if chunked {
        req.add_field(b"transfer-encoding", b"chunked");
    }
    req.finish(limits)
}

/// The header map of a response head for an HTTP/2 client: every field but the HTTP/1
/// connection's own (hop-by-hop, the transfer coding, and a length that a transfer coding
/// overrides).
///
/// The values share one copy of the head rather than each being copied on its own.
pub fn response_fields(resp: &Response) -> HeaderMap {
    let head = &resp.head;
    let shared = Bytes::copy_from_slice(&head.buf);
    let mut map = HeaderMap::with_capacity(head.fields.len());
    for (i, f) in head.fields.iter().enumerate() {
        let name = head.name(i);
        if resp.is_hop_by_hop(i)
            || connection_specific(name)
            || (resp.transfer_encoding && name.eq_ignore_ascii_case(b"content-length"))
        {
            continue;
        }
        let value = HeaderValue::from_maybe_shared(shared.slice(f.value.range()));
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), value) {
            map.append(n, v);
        }
    }
    map
}

/// The header map of an answer pound made.
pub fn generated_fields(fields: &Head) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(fields.fields.len());
    for i in 0..fields.fields.len() {
        append(&mut map, fields.name(i), fields.value(i));
    }
    map
}

/// The fields of a trailer section (`name: value` lines, as the chunked coding carries
/// them), those that may not be trailers left out.
pub fn trailer_fields(section: &[u8]) -> HeaderMap {
    let mut kept = Vec::with_capacity(section.len());
    crate::http::chunked::filter_trailers(section, &mut kept);
    let mut map = HeaderMap::new();
    for line in kept.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            let name = crate::http::trim(&line[..colon]);
            let value = crate::http::trim(&line[colon + 1..]);
            append(&mut map, name, value);
        }
    }
    map
}

/// Adds a field unless it is connection-specific or not valid in HTTP/2.
fn append(map: &mut HeaderMap, name: &[u8], value: &[u8]) {
    if connection_specific(name) {
        return;
    }
    if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
        map.append(n, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::BodyKind;

    fn made(req: http::Request<()>, chunked: bool) -> Result<Request, Reject> {
        let (parts, _) = req.into_parts();
        assert!(well_formed(&parts));
        let mut r = Request::default();
        let limits = Limits {
            xhttp: 3,
            ..Limits::default()
        };
        request(&parts, chunked, &limits, &mut r)?;
        Ok(r)
    }

    fn lines(r: &Request) -> Vec<String> {
        (0..r.head.fields.len())
            .map(|i| {
                let mut l = Vec::new();
                r.head.write_line(i, &mut l);
                String::from_utf8(l).expect("text")
            })
            .collect()
    }

    #[test]
    fn streams_become_requests_field_by_field() {
        let req = http::Request::builder()
            .method("GET")
            .uri("https://www.example.org:8443/a/b?x=1")
            .header("host", "ignored.example")
            .header("cookie", "a=1")
            .header("user-agent", "t")
            .header("cookie", "b=2")
            .header("te", "trailers")
            .body(())
            .expect("request");
        let r = made(req, false).expect("accepted");
        assert_eq!(r.line(), b"GET /a/b?x=1 HTTP/1.1");
        assert_eq!(r.method(), b"GET");
        assert_eq!(r.target(), b"/a/b?x=1");
        assert_eq!(
            lines(&r),
            [
                "Host: www.example.org:8443",
                "user-agent: t",
                "cookie: a=1; b=2"
            ]
        );
        assert_eq!(r.body, BodyKind::Empty);
        assert!(r.keep_alive);

        let req = http::Request::builder()
            .method("PUT")
            .uri("https://h/up")
            .header("content-length", "5")
            .body(())
            .expect("request");
        let r = made(req, false).expect("accepted");
        assert_eq!(lines(&r), ["Host: h", "content-length: 5"]);
        assert_eq!(r.body, BodyKind::Length(5));

        let req = http::Request::builder()
            .method("POST")
            .uri("https://h/up")
            .header("expect", "100-continue")
            .body(())
            .expect("request");
        let r = made(req, true).expect("accepted");
        assert_eq!(r.body, BodyKind::Chunked);
        assert!(r.expect_continue);
        assert_eq!(
            lines(&r).last().map(String::as_str),
            Some("transfer-encoding: chunked")
        );
    }

    #[test]
    fn stream_heads_are_checked_as_http1_heads() {
        // xHTTP 0 refuses PUT, as it does over HTTP/1.
        let req = http::Request::builder()
            .method("PUT")
            .uri("https://h/")
            .body(())
            .expect("request");
        let (parts, _) = req.into_parts();
        let mut r = Request::default();
        let limits = Limits {
            xhttp: 0,
            ..Limits::default()
        };
        assert_eq!(
            request(&parts, false, &limits, &mut r).map_err(|e| e.status),
            Err(405)
        );
        // A body announced larger than `MaxRequest`.
        let req = http::Request::builder()
            .method("POST")
            .uri("https://h/")
            .header("content-length", "100")
            .body(())
            .expect("request");
        let (parts, _) = req.into_parts();
        let limits = Limits {
            max_body: Some(10),
            ..Limits::default()
        };
        assert_eq!(
            request(&parts, false, &limits, &mut r).map_err(|e| e.status),
            Err(413)
        );
        // No `:authority` and no `Host`: HTTP/1.1 needs one.
        let req = http::Request::builder()
            .method("GET")
            .uri("/x")
            .body(())
            .expect("request");
        let (parts, _) = req.into_parts();
        assert_eq!(
            request(&parts, false, &Limits::default(), &mut r).map_err(|e| e.status),
            Err(400)
        );
    }

    #[test]
    fn malformed_pseudo_headers_are_refused() {
        let parts = |method: &str, uri: &str| {
            let (p, _) = http::Request::builder()
                .method(method)
                .uri(uri)
                .body(())
                .expect("request")
                .into_parts();
            p
        };
        assert!(well_formed(&parts("OPTIONS", "*")));
        assert!(!well_formed(&parts("GET", "*")));
        assert!(!well_formed(&parts("GET", "https://user@h/")));
        assert!(well_formed(&parts("GET", "https://h/")));
    }

    #[test]
    fn response_heads_lose_the_connection_fields() {
        let mut resp = Response::default();
        let head = b"HTTP/1.1 200 OK\r\nConnection: keep-alive, x-hop\r\nX-Hop: 1\r\n\
            Transfer-Encoding: chunked\r\nContent-Length: 3\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n\
            Keep-Alive: timeout=5\r\nLocation: /x\r\n\r\n";
        let n = crate::http::response::parse(head, 4096, b"GET", &mut resp).expect("parsed");
        assert_eq!(n, Some(head.len()));
        let map = response_fields(&resp);
        let names: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["set-cookie", "location"]);
        assert_eq!(map.get_all("set-cookie").iter().count(), 2);
    }

    #[test]
    fn trailer_sections_become_maps() {
        let map = trailer_fields(b"grpc-status: 0\r\nContent-Length: 5\r\nX-Sum:  ab \r\n");
        assert_eq!(
            map.get("grpc-status").map(|v| v.as_bytes()),
            Some(&b"0"[..])
        );
        assert_eq!(map.get("x-sum").map(|v| v.as_bytes()), Some(&b"ab"[..]));
        assert!(map.get("content-length").is_none());
    }
}
