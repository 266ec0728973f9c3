//! Parsing a backend's response head and working out how its body is delimited.

use std::mem::MaybeUninit;

use super::head::{Field, Head, Span};
use super::{parse_content_length, tokens, BodyKind, Version};

/// At most this many header fields in a response.
pub const MAX_FIELDS: usize = 1024;

/// A backend response head. Reused from one response to the next.
#[derive(Debug)]
pub struct Response {
    pub head: Head,
    pub status: u16,
    /// The status line without its line ending (`%>s`).
    pub line: Span,
    pub version: Option<Version>,
    pub body: BodyKind,
    /// Whether the backend connection can carry another request after this response.
    pub reusable: bool,
    /// Field names listed in `Connection`.
    pub connection_names: Vec<Span>,
    /// A `Transfer-Encoding` field is present: any `Content-Length` is not passed on.
    pub transfer_encoding: bool,
    /// Both `Transfer-Encoding` and `Content-Length`: the framing is suspect, so neither the
    /// backend nor the client connection is kept.
    pub suspect: bool,
    /// A `2xx` answer to CONNECT: the connection becomes a tunnel.
    pub tunnel: bool,
}

impl Default for Response {
    fn default() -> Self {
        Response::with_head(Head::with_capacity(1024, 32))
    }
}

impl Response {
    fn with_head(head: Head) -> Response {
        Response {
            head,
            status: 0,
            line: Span::default(),
            version: None,
            body: BodyKind::Empty,
            reusable: false,
            connection_names: Vec::new(),
            transfer_encoding: false,
            suspect: false,
            tunnel: false,
        }
    }
}

impl Response {
    pub fn line(&self) -> &[u8] {
        self.head.bytes(self.line)
    }

    /// Whether field `i` must not be passed on to the client.
    pub fn is_hop_by_hop(&self, i: usize) -> bool {
        let name = self.head.name(i);
        super::request::is_hop_by_hop(name)
            || self
                .connection_names
                .iter()
                .any(|s| self.head.bytes(*s).eq_ignore_ascii_case(name))
    }

    /// An interim (1xx) response other than `101 Switching Protocols`.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }
}

/// Parses the response head at the start of `input` into `resp`, for a request with
/// `method`. `Ok(None)`: more bytes are needed.
pub fn parse(
    input: &[u8],
    max_head: usize,
    method: &[u8],
    resp: &mut Response,
) -> Result<Option<usize>, &'static str> {
    let head_request = method == b"HEAD";
    let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_FIELDS];
    let mut parsed = httparse::Response::new(&mut []);
    let n = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut parsed,
        input,
        &mut fields,
    ) {
        Ok(httparse::Status::Complete(n)) if n <= max_head => n,
        Ok(httparse::Status::Partial) if input.len() <= max_head => return Ok(None),
        Ok(_) => return Err("response header too long"),
        Err(_) => return Err("malformed response header"),
    };
    let (Some(minor), Some(code)) = (parsed.version, parsed.code) else {
        return Err("malformed status line");
    };
    let version = Version::from_minor(minor).ok_or("unsupported response version")?;
    if !(100..=599).contains(&code) {
        return Err("malformed status line");
    }

    resp.head.clear();
    resp.connection_names.clear();
    resp.head.buf.extend_from_slice(&input[..n]);
    // httparse skips empty lines before the status line; so does the recorded line.
    let line_start = input
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(0);
    let line_end = input[line_start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(line_start, |p| line_start + p);
    let line_end = if line_end > line_start && input[line_end - 1] == b'\r' {
        line_end - 1
    } else {
        line_end
    };
    resp.line = Span {
        start: line_start as u32,
        end: line_end as u32,
    };
    resp.status = code;
    resp.version = Some(version);

    let mut length: Option<u64> = None;
    let mut chunked = None;
    let mut connection = super::ConnectionOptions::default();
    for f in parsed.headers.iter() {
        resp.head
            .fields
            .push(Field::read(input, f.name.as_bytes(), f.value, 0));
        if f.name.eq_ignore_ascii_case("content-length") {
            let n = parse_content_length(f.value).ok_or("invalid Content-Length in response")?;
            if length.is_some_and(|l| l != n) {
                return Err("conflicting Content-Length in response");
            }
            length = Some(n);
        } else if f.name.eq_ignore_ascii_case("transfer-encoding") {
            // Only the last coding of the last field decides whether the body is chunked.
            let last = tokens(f.value).last().unwrap_or(b"");
            chunked = Some(last.eq_ignore_ascii_case(b"chunked"));
        } else if f.name.eq_ignore_ascii_case("connection") {
            connection.add(f.value, input, &mut resp.connection_names);
        }
    }

    resp.tunnel = method == b"CONNECT" && (200..300).contains(&code);
    let no_body =
        head_request || resp.tunnel || (100..200).contains(&code) || code == 204 || code == 304;
    resp.transfer_encoding = chunked.is_some();
    resp.suspect = chunked.is_some() && length.is_some();
    resp.body = match (chunked, length) {
        _ if no_body => BodyKind::Empty,
        (Some(true), _) => BodyKind::Chunked,
        (Some(false), _) => BodyKind::UntilClose,
        (None, Some(0)) => BodyKind::Empty,
        (None, Some(n)) => BodyKind::Length(n),
        (None, None) => BodyKind::UntilClose,
    };
    resp.reusable = resp.body != BodyKind::UntilClose
        && !resp.suspect
        && !resp.tunnel
        && match version {
            Version::Http11 => !connection.close,
            Version::Http10 => connection.keep_alive && !connection.close,
        };
    Ok(Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str, head: bool) -> Response {
        let mut r = Response::default();
        let method: &[u8] = if head { b"HEAD" } else { b"GET" };
        parse(input.as_bytes(), 65536, method, &mut r)
            .unwrap()
            .expect("complete");
        r
    }

    #[test]
    fn framing() {
        let r = ok("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false);
        assert_eq!(
            (r.status, r.body, r.reusable),
            (200, BodyKind::Length(5), true)
        );
        assert_eq!(r.line(), b"HTTP/1.1 200 OK");
        let r = ok("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true);
        assert_eq!(r.body, BodyKind::Empty);
        let r = ok(
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
            false,
        );
        assert_eq!(r.body, BodyKind::Empty);
        let r = ok(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            false,
        );
        assert_eq!((r.body, r.reusable), (BodyKind::Chunked, true));
        let r = ok("HTTP/1.1 200 OK\r\n\r\n", false);
        assert_eq!((r.body, r.reusable), (BodyKind::UntilClose, false));
        let r = ok("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false);
        assert!(!r.reusable);
        let r = ok(
            "HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n",
            false,
        );
        assert!(r.reusable);
        let r = ok(
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close, X-Foo\r\nX-Foo: 1\r\n\r\n",
            false,
        );
        assert!(!r.reusable);
        assert!(r.is_hop_by_hop(1) && r.is_hop_by_hop(2));
        assert!(!r.is_hop_by_hop(0));
        let r = ok(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            false,
        );
        assert_eq!((r.body, r.reusable), (BodyKind::Chunked, false));
        let r = ok("HTTP/1.1 100 Continue\r\n\r\n", false);
        assert!(r.is_interim());
        let r = ok("\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false);
        assert_eq!(r.line(), b"HTTP/1.1 200 OK");
        let r = ok("HTTP/1.1 200 OK\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n", false);
        assert!(!r.is_hop_by_hop(1));
        let mut c = Response::default();
        parse(
            b"HTTP/1.1 200 Connection established\r\n\r\n",
            65536,
            b"CONNECT",
            &mut c,
        )
        .unwrap();
        assert!(c.tunnel && c.body == BodyKind::Empty && !c.reusable);
    }

    #[test]
    fn malformed() {
        let mut r = Response::default();
        for bad in [
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            "HTTP/2 200 OK\r\n\r\n",
            "garbage\r\n\r\n",
            "HTTP/1.1 20 OK\r\n\r\n",
        ] {
            assert!(
                parse(bad.as_bytes(), 65536, b"GET", &mut r).is_err(),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\n", 65536, b"GET", &mut r),
            Ok(None)
        );
    }
}
