//! Parsing and checking a request head: the sanitizer of pound's "HTTP sanitizer" role.
//!
//! A request that is not well formed (RFC 9110, RFC 9112) is refused with the status a client
//! should see, and the connection is closed after the error response, so that nothing of an
//! ambiguous message can reach a backend or be taken for the next request.

use std::mem::MaybeUninit;

use super::head::{Field, Head, Span};
use super::{methods, parse_content_length, trim, BodyKind, Version};

/// At most this many header fields in a request. pound sets no such bound (only its head
/// size bounds them); 1024 fields within the 64 KiB head serve any real client, and the
/// parser's table of them (32 KiB) lives on the stack only while a head is parsed.
pub const MAX_FIELDS: usize = 1024;

/// pound's line buffer (its `LineBufferSize`, 4096 by default): a line and its line ending
/// must fit in it with a byte to spare, so a line holds at most 4093 bytes.
pub const LINE_BUFFER: usize = 4096;

/// Size bounds applied while reading a request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The whole head, request line and fields.
    pub max_head: usize,
    /// The longest request line (414 beyond it) and header line (413 beyond it), as pound
    /// bounds them.
    pub max_line: usize,
    /// `xHTTP`.
    pub xhttp: u8,
    /// `MaxRequest`: largest body.
    pub max_body: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: 64 * 1024,
            max_line: LINE_BUFFER - 3,
            xhttp: 0,
            max_body: None,
        }
    }
}

/// Why a request was refused: the status to answer and a reason for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reject {
    pub status: u16,
    pub reason: &'static str,
}

fn reject<T>(status: u16, reason: &'static str) -> Result<T, Reject> {
    Err(Reject { status, reason })
}

/// A checked request head. Reused from one request of a connection to the next.
#[derive(Debug)]
pub struct Request {
    pub head: Head,
    pub method: Span,
    pub target: Span,
    /// The request line without its line ending (`%r`).
    pub line: Span,
    pub version: Version,
    pub body: BodyKind,
    /// Whether the client wants the connection kept open after this request.
    pub keep_alive: bool,
    /// `Upgrade` with `Connection: upgrade` (WebSocket and the like).
    pub upgrade: bool,
    /// `Expect: 100-continue` with a body to come.
    pub expect_continue: bool,
    /// Field names listed in `Connection`: hop-by-hop, not forwarded.
    pub connection_names: Vec<Span>,
}

impl Default for Request {
    fn default() -> Self {
        Request::with_head(Head::with_capacity(1024, 32))
    }
}

impl Request {
    fn with_head(head: Head) -> Request {
        Request {
            head,
            method: Span::default(),
            target: Span::default(),
            line: Span::default(),
            version: Version::Http11,
            body: BodyKind::Empty,
            keep_alive: false,
            upgrade: false,
            expect_continue: false,
            connection_names: Vec::new(),
        }
    }
}

/// Transfer codings pound knows; any other is answered with 501.
const KNOWN_CODINGS: &[&str] = &[
    "chunked",
    "gzip",
    "x-gzip",
    "deflate",
    "compress",
    "x-compress",
];

impl Request {
    pub fn method(&self) -> &[u8] {
        self.head.bytes(self.method)
    }

    pub fn target(&self) -> &[u8] {
        self.head.bytes(self.target)
    }

    pub fn line(&self) -> &[u8] {
        self.head.bytes(self.line)
    }

    /// Replaces the request target (`SetURL` and friends). The request line that `%r` logs
    /// stays as the client sent it.
    pub fn set_target(&mut self, target: &[u8]) {
        self.target = self.head.append(target);
    }

    /// Whether field `i` is hop-by-hop for this request: not to be forwarded as is.
    pub fn is_hop_by_hop(&self, i: usize) -> bool {
        let name = self.head.name(i);
        is_hop_by_hop(name)
            || self
                .connection_names
                .iter()
                .any(|s| self.head.bytes(*s).eq_ignore_ascii_case(name))
    }
}

/// Header fields that never travel beyond one connection (RFC 9110, section 7.6.1).
pub fn is_hop_by_hop(name: &[u8]) -> bool {
    [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h.as_bytes()))
}

/// Fields that `Connection` may not declare hop-by-hop: the message's framing and target,
/// and the fields pound sets itself. Honouring such a token would let a client strip them
/// from what the backend sees (and smuggle a body as a request).
const PROTECTED: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "host",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-port",
];

pub fn is_protected(name: &[u8]) -> bool {
    PROTECTED
        .iter()
        .any(|p| name.eq_ignore_ascii_case(p.as_bytes()))
}

/// Methods that may be sent again when a pooled connection fails before any response
/// (RFC 9110, section 9.2.2).
pub fn is_idempotent(method: &[u8]) -> bool {
    [
        &b"GET"[..],
        b"HEAD",
        b"OPTIONS",
        b"TRACE",
        b"PUT",
        b"DELETE",
    ]
    .contains(&method)
}

/// Parses the request head at the start of `input` into `req`.
///
/// Returns `Ok(None)` when more bytes are needed, `Ok(Some(n))` when the head is complete
/// and `n` bytes long, or the rejection to answer.
pub fn parse(input: &[u8], limits: &Limits, req: &mut Request) -> Result<Option<usize>, Reject> {
    let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_FIELDS];
    let mut parsed = httparse::Request::new(&mut []);
    let status = parsed.parse_with_uninit_headers(input, &mut fields);
    let line_len = request_line_len(input);
    if line_len.is_some_and(|n| n > limits.max_line)
        || (line_len.is_none() && input.len() > limits.max_line)
    {
        return reject(414, "request URI too long");
    }
    let n = match status {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            if input.len() > limits.max_head {
                return reject(400, "request header too long");
            }
            return Ok(None);
        }
        Err(httparse::Error::TooManyHeaders) => return reject(400, "too many header fields"),
        Err(httparse::Error::Version) => return reject(400, "unsupported HTTP version"),
        Err(httparse::Error::Token) => return reject(400, "malformed request line"),
        Err(httparse::Error::HeaderName) => return reject(400, "malformed header field name"),
        Err(httparse::Error::HeaderValue) => return reject(400, "malformed header field value"),
        Err(_) => return reject(400, "malformed request"),
    };
    if n > limits.max_head {
        return reject(400, "request header too long");
    }

    let (Some(method), Some(target), Some(minor)) = (parsed.method, parsed.path, parsed.version)
    else {
        return reject(400, "malformed request line");
    };
    let Some(version) = Version::from_minor(minor) else {
        return reject(400, "unsupported HTTP version");
    };

    req.head.clear();
    req.connection_names.clear();
    req.head.buf.extend_from_slice(&input[..n]);
    req.method = Head::span_of(input, method.as_bytes(), 0);
    req.target = Head::span_of(input, target.as_bytes(), 0);
    let line_start = req.method.start as usize;
    let line_end = line_start + line_len.unwrap_or(0);
    req.line = Span {
        start: line_start as u32,
        end: line_end as u32,
    };
    req.version = version;
    for f in parsed.headers.iter() {
        req.head
            .fields
            .push(Field::read(input, f.name.as_bytes(), f.value, 0));
    }
    check(req, limits)?;
    Ok(Some(n))
}

impl Request {
    /// Starts a request made from parts rather than parsed (an HTTP/2 stream): its request
    /// line reads `METHOD TARGET HTTP/1.1`, the version whose semantics the engine applies.
    /// Fields follow with [`Request::add_field`]; [`Request::finish`] checks the whole.
    pub fn start(&mut self, method: &[u8], target: &[u8]) {
        self.head.clear();
        self.connection_names.clear();
        self.method = self.head.append(method);
        self.head.buf.push(b' ');
        self.target = self.head.append(target);
        self.head.buf.extend_from_slice(b" HTTP/1.1");
        self.line = Span {
            start: 0,
            end: self.head.buf.len() as u32,
        };
        self.head.buf.extend_from_slice(b"\r\n");
        self.version = Version::Http11;
    }

    /// Adds a field of a request begun with [`Request::start`]; its line is `name: value`,
    /// which `Header` conditions match as they match a line that came over HTTP/1.
    pub fn add_field(&mut self, name: &[u8], value: &[u8]) {
        let start = self.head.buf.len();
        let name = self.head.append(name);
        self.head.buf.extend_from_slice(b": ");
        let value = self.head.append(value);
        let line = Span {
            start: start as u32,
            end: value.end,
        };
        self.head.buf.extend_from_slice(b"\r\n");
        self.head.fields.push(Field { name, value, line });
    }

    /// Checks a request made with [`Request::start`] and [`Request::add_field`] as
    /// [`parse`] checks a parsed one, and works out its framing and connection options.
    pub fn finish(&mut self, limits: &Limits) -> Result<(), Reject> {
        if self.head.buf.len() > limits.max_head {
            return reject(400, "request header too long");
        }
        if self.line().len() > limits.max_line {
            return reject(414, "request URI too long");
        }
        check(self, limits)
    }
}

/// The checks of a request head whose line and fields are in `req`, and what follows from
/// its fields: framing, keep-alive, upgrade, `Expect`.
fn check(req: &mut Request, limits: &Limits) -> Result<(), Reject> {
    let version = req.version;
    let mut content_length = None;
    let mut lengths = 0;
    let mut encodings = 0;
    let mut hosts = 0;
    let mut connection = super::ConnectionOptions::default();
    let mut upgrade_field = false;
    let mut expect_continue = false;
    let Request {
        head,
        connection_names,
        ..
    } = req;
    let buf = &head.buf[..];
    for field in &head.fields {
        if (field.line.end - field.line.start) as usize > limits.max_line {
            return reject(413, "header line too long");
        }
        let name = &buf[field.name.range()];
        let v = &buf[field.value.range()];
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => {
                hosts += 1;
                if !super::valid_authority(trim(v)) {
                    return reject(400, "invalid Host");
                }
            }
            6 if name.eq_ignore_ascii_case(b"expect") => {
                expect_continue |= trim(v).eq_ignore_ascii_case(b"100-continue")
            }
            7 if name.eq_ignore_ascii_case(b"upgrade") => upgrade_field = true,
            10 if name.eq_ignore_ascii_case(b"connection") => {
                connection.add(v, buf, connection_names)
            }
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                lengths += 1;
                content_length = Some(parse_content_length(v).ok_or(Reject {
                    status: 400,
                    reason: "invalid Content-Length",
                })?);
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                encodings += 1;
                check_transfer_coding(v)?;
            }
            _ => {}
        }
    }

    if lengths > 1 {
        return reject(400, "several Content-Length fields");
    }
    if encodings > 1 {
        return reject(400, "several Transfer-Encoding fields");
    }
    if encodings == 1 && lengths == 1 {
        return reject(400, "both Transfer-Encoding and Content-Length");
    }
    if encodings == 1 && version == Version::Http10 {
        return reject(400, "Transfer-Encoding in an HTTP/1.0 request");
    }
    if hosts > 1 || (hosts == 0 && version == Version::Http11) {
        return reject(400, "missing or repeated Host");
    }
    let method = req.method();
    match methods::level(method) {
        None => return reject(400, "unknown method"),
        Some(l) if l > limits.xhttp => return reject(405, "method not allowed by xHTTP"),
        Some(_) => {}
    }
    if !valid_target(method, req.target()) {
        return reject(400, "malformed request target");
    }

    req.body = match (encodings, content_length) {
        (1, _) => BodyKind::Chunked,
        (_, Some(0)) | (_, None) => BodyKind::Empty,
        (_, Some(n)) => BodyKind::Length(n),
    };
    if let (BodyKind::Length(n), Some(max)) = (req.body, limits.max_body) {
        if n > max {
            return reject(413, "request body too large");
        }
    }
    req.keep_alive = version == Version::Http11 && !connection.close;
    req.upgrade = upgrade_field && connection.upgrade && version == Version::Http11;
    req.expect_continue =
        expect_continue && version == Version::Http11 && req.body != BodyKind::Empty;
    Ok(())
}

fn check_transfer_coding(v: &[u8]) -> Result<(), Reject> {
    let mut last_chunked = false;
    let mut any = false;
    for t in v.split(|&b| b == b',') {
        let coding = trim(t.split(|&b| b == b';').next().unwrap_or(t));
        if coding.is_empty() {
            return reject(400, "malformed Transfer-Encoding");
        }
        if last_chunked {
            return reject(400, "chunked is not the last transfer coding");
        }
        if !KNOWN_CODINGS
            .iter()
            .any(|k| coding.eq_ignore_ascii_case(k.as_bytes()))
        {
            return reject(501, "unknown transfer coding");
        }
        last_chunked = coding.eq_ignore_ascii_case(b"chunked");
        any = true;
    }
    if !any || !last_chunked {
        return reject(400, "chunked is not the last transfer coding");
    }
    Ok(())
}

/// The four request-target forms of RFC 9112, section 3.2. The authority of the absolute
/// and authority forms follows the rule `Host` follows, and must name a host.
fn valid_target(method: &[u8], target: &[u8]) -> bool {
    let authority = |a: &[u8]| !a.is_empty() && super::valid_authority(a);
    match target.first() {
        Some(b'/') => true,
        Some(b'*') => target.len() == 1 && method == b"OPTIONS",
        _ if method == b"CONNECT" => authority(target),
        _ => {
            let scheme = [&b"http://"[..], b"https://"]
                .into_iter()
                .find(|p| target.len() > p.len() && target[..p.len()].eq_ignore_ascii_case(p));
            let Some(scheme) = scheme else {
                return false;
            };
            let rest = &target[scheme.len()..];
            // The authority ends where `rules::target::split` ends it, so that what is
            // checked here is what becomes `Host`; a `#` inside it is refused.
            let end = rest
                .iter()
                .position(|&b| matches!(b, b'/' | b'?'))
                .unwrap_or(rest.len());
            authority(&rest[..end])
        }
    }
}

/// The length of the request line (without line ending and leading empty lines), if its end
/// has arrived.
fn request_line_len(input: &[u8]) -> Option<usize> {
    let start = input
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(input.len());
    let rest = &input[start..];
    let end = rest.iter().position(|&b| b == b'\n')?;
    Some(if end > 0 && rest[end - 1] == b'\r' {
        end - 1
    } else {
        end
    })
}

#[cfg(test)]
mod tests;
