//! The checks behind pound-rs's fuzz targets.
//!
//! Each target takes arbitrary bytes, runs one of the pure cores over them and asserts
//! invariants that must hold whatever the input, beyond "it does not panic": lengths stay
//! within the input, spans within the head, the framing a decoder reports does not depend on
//! how the input was split into reads, a head parses the same with or without what follows
//! it, and a parser state reused from an earlier message gives the same result as a fresh
//! one. A failed assertion panics, which AFL records as a crash.
//!
//! Several targets read their first byte as a selector (limits, method) and the rest as the
//! input proper; `tests/corpus.rs` replays the committed seed corpus through every check.

use pound::http::chunked::{ChunkError, Decoder, Segment};
use pound::http::head::{Head, Span};
use pound::http::request::{self, Limits, Reject, Request};
use pound::http::response::{self, Response};
use pound::http::{methods, parse_content_length, trim, BodyKind, Version};
use pound::rules::{self, Action, Cond, Cx, Matches};
use pound_config::env::MemoryFs;
use pound_config::model::{Accessor, MatchMode, Matcher, Part, Pattern, Template};
use pound_config::{load, Options, Severity};

/// The targets, by name.
pub const TARGETS: &[&str] = &["request", "chunked", "response", "config", "expand"];

/// The check of target `name`.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    Some(match name {
        "request" => request,
        "chunked" => chunked,
        "response" => response,
        "config" => config,
        "expand" => expand,
        _ => return None,
    })
}

/// Runs the files named on the command line through target `name`'s checks (the targets'
/// binaries do this when built without AFL).
pub fn replay_args(name: &str) {
    let check = target(name).expect("a known target");
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: {name} FILE...  (runs each file through the {name} checks)");
        std::process::exit(2);
    }
    for file in files {
        let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        eprintln!("{name}: {file} ({} bytes)", data.len());
        check(&data);
    }
}

// ---------------------------------------------------------------------------------------
// Shared helpers

fn in_bounds(buf: &[u8], s: Span) -> bool {
    s.start <= s.end && (s.end as usize) <= buf.len()
}

fn check_head_spans(head: &Head, n: usize) {
    assert_eq!(head.buf.len(), n, "the head buffer holds exactly the head");
    for (i, f) in head.fields.iter().enumerate() {
        assert!(in_bounds(&head.buf, f.name), "field {i} name out of bounds");
        assert!(
            in_bounds(&head.buf, f.value),
            "field {i} value out of bounds"
        );
        let name = head.name(i);
        let value = head.value(i);
        assert!(!name.is_empty(), "field {i} has an empty name");
        assert!(
            name.iter().all(|&b| b > b' ' && b != b':' && b != 0x7f),
            "field {i} name {name:?} is not a token"
        );
        assert!(
            !value.contains(&b'\r') && !value.contains(&b'\n'),
            "field {i} value {value:?} holds a line ending"
        );
        assert_eq!(trim(value), value, "field {i} value is not trimmed");
    }
}

fn count_fields(head: &Head, name: &str) -> usize {
    head.find(name).count()
}

/// A tiny deterministic generator (xorshift), for read sizes chosen from the input.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

// ---------------------------------------------------------------------------------------
// request: the sanitizer (http/request.rs)

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

// ---------------------------------------------------------------------------------------
// chunked: the chunked-coding checker (http/chunked.rs)

/// What a decoder reported over one input fed in some way.
#[derive(Debug)]
struct Framing {
    /// For each consumed byte, whether it is data.
    data: Vec<bool>,
    done: bool,
    /// The error, and the input range that was handed to the call that returned it.
    error: Option<(ChunkError, usize, usize)>,
}

/// Feeds `input` to a decoder in reads of the sizes `next_read` gives. After each read, the
/// decoder is called until it has consumed everything buffered, as the relay does.
fn decode(input: &[u8], mut next_read: impl FnMut() -> usize) -> Framing {
    let mut d = Decoder::new();
    let mut out = Framing {
        data: Vec::with_capacity(input.len()),
        done: false,
        error: None,
    };
    let mut consumed = 0;
    let mut received = 0;
    while received < input.len() && !d.is_done() {
        received = (received + next_read().max(1)).min(input.len());
        while consumed < received && !d.is_done() {
            match d.advance(&input[consumed..received]) {
                Ok((n, seg)) => {
                    assert!(n > 0, "advance consumed nothing of a non-empty buffer");
                    assert!(consumed + n <= received, "advance consumed past its input");
                    out.data
                        .extend(std::iter::repeat_n(seg == Segment::Data, n));
                    consumed += n;
                }
                Err(e) => {
                    out.error = Some((e, consumed, received));
                    return out;
                }
            }
        }
    }
    out.done = d.is_done();
    if out.done {
        // A finished decoder consumes nothing more.
        assert_eq!(d.advance(&input[consumed..]), Ok((0, Segment::Framing)));
        assert_eq!(d.advance(b"0\r\n\r\n"), Ok((0, Segment::Framing)));
    }
    out
}

/// Checks that the framing agrees with the chunk sizes: every data run follows a size line
/// naming its length (a shorter last run when the input ends inside the chunk), and the
/// CRLF after the data comes next.
fn check_sizes(input: &[u8], f: &Framing) {
    let mut runs: Vec<(usize, usize, bool)> = Vec::new();
    for (i, &is_data) in f.data.iter().enumerate() {
        match runs.last_mut() {
            Some(r) if r.2 == is_data => r.1 = i + 1,
            _ => runs.push((i, i + 1, is_data)),
        }
    }
    for (k, &(start, end, is_data)) in runs.iter().enumerate() {
        if !is_data {
            continue;
        }
        assert!(k > 0, "data before any chunk size");
        let (fs, fe, _) = runs[k - 1];
        let framing = &input[fs..fe];
        assert!(framing.ends_with(b"\r\n"), "the size line ends in CRLF");
        let line = &framing[..framing.len() - 2];
        let line = match line.iter().rposition(|&b| b == b'\n') {
            Some(p) => &line[p + 1..],
            None => line,
        };
        let digits: Vec<u8> = line
            .iter()
            .copied()
            .take_while(u8::is_ascii_hexdigit)
            .collect();
        assert!(!digits.is_empty(), "a size line without a size: {line:?}");
        let significant = &digits[digits.iter().take_while(|&&d| d == b'0').count()..];
        let size = std::str::from_utf8(significant)
            .ok()
            .and_then(|s| u128::from_str_radix(s, 16).ok())
            .unwrap_or(if significant.is_empty() { 0 } else { u128::MAX });
        let len = (end - start) as u128;
        if k + 1 < runs.len() {
            assert_eq!(len, size, "data run of {len} bytes after size {size:#x}");
            assert_eq!(input[end], b'\r', "the data is followed by CRLF");
        } else {
            assert!(len <= size, "data run of {len} bytes after size {size:#x}");
        }
    }
    if f.done {
        assert!(
            input[..f.data.len()].ends_with(b"\r\n"),
            "the body ends in CRLF"
        );
        assert!(
            runs.last().is_some_and(|r| !r.2),
            "the body ends with framing"
        );
    }
}

/// Input: two bytes seeding the read sizes, then a chunked body and whatever follows it.
pub fn chunked(data: &[u8]) {
    let seed = u64::from(u16::from_le_bytes([
        data.first().copied().unwrap_or(0),
        data.get(1).copied().unwrap_or(0),
    ]));
    let input = data.get(2..).unwrap_or(&[]);
    let whole = decode(input, || usize::MAX / 2);
    let bytewise = decode(input, || 1);
    let mut rng = Rng::new(seed);
    let max_read = 1 + (seed as usize % 64);
    let split = decode(input, || 1 + rng.below(max_read));
    check_sizes(input, &whole);

    match bytewise.error {
        None => {
            for other in [&whole, &split] {
                assert!(
                    other.error.is_none(),
                    "an error in one split only: {other:?}"
                );
                assert_eq!(
                    other.data, bytewise.data,
                    "the framing depends on the split"
                );
                assert_eq!(other.done, bytewise.done);
            }
        }
        Some((kind, at, _)) => {
            // Fed byte by byte, the failing byte is exactly known; any other split must fail
            // the same way in the read holding that byte, and agree on everything before it.
            assert_eq!(bytewise.data.len(), at);
            for other in [&whole, &split] {
                let Some((k, start, end)) = other.error else {
                    panic!("an error in one split only: {kind:?} at {at}");
                };
                assert_eq!(k, kind, "a different error for another split");
                assert!(
                    start <= at && at < end,
                    "error read {start}..{end}, byte {at}"
                );
                assert_eq!(other.data[..], bytewise.data[..other.data.len()]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// response: backend response heads (http/response.rs)

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

// ---------------------------------------------------------------------------------------
// config: the pound.cfg language (pound-config)

/// Names of the files of a fuzzed configuration: the main file, then files it can include or
/// read with `-file`.
const CONFIG_FILES: &[&str] = &["pound.cfg", "inc.cfg", "a", "b", "c"];

/// Input: the configuration; NUL bytes separate the main file from further files named
/// `inc.cfg`, `a`, `b`, `c`.
pub fn config(data: &[u8]) {
    let mut fs = MemoryFs::new()
        .with_service("http", 80)
        .with_service("https", 443);
    for (name, text) in CONFIG_FILES.iter().zip(data.split(|&b| b == 0)) {
        fs = fs.with_file(*name, text);
    }
    let opts = Options {
        include_dir: None,
        warn_deprecated: true,
    };
    let loaded = load(&fs, "pound.cfg", &opts);
    let errors = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    match &loaded.config {
        Some(c) => {
            assert_eq!(errors, 0, "a model with errors: {:?}", loaded.diagnostics);
            for s in &c.statements {
                let _ = format!("{s:?}");
            }
        }
        None => {
            assert!(
                errors > 0,
                "no model and no error: {:?}",
                loaded.diagnostics
            );
        }
    }
    for d in &loaded.diagnostics {
        let text = d.to_string();
        assert!(!text.is_empty());
        assert!(!d.message.is_empty(), "an empty message: {d:?}");
        if let Some(s) = &d.span {
            assert!(
                CONFIG_FILES.contains(&&*s.file),
                "a span in an unknown file {:?}",
                s.file
            );
            assert!(
                (s.start.line, s.start.col) <= (s.end.line, s.end.col),
                "a span that ends before it starts: {s:?}"
            );
        }
    }
    // Loading is deterministic.
    let again = load(&fs, "pound.cfg", &opts);
    assert_eq!(again.diagnostics, loaded.diagnostics);
    assert_eq!(again.config.is_some(), loaded.config.is_some());
}

// ---------------------------------------------------------------------------------------
// expand: templates (pound-config model/template.rs) expanded for a request (rules/eval.rs)

const DEFAULT_REQUEST: &[u8] =
    b"GET /a/b.html?x=1&y&z=%41 HTTP/1.1\r\nHost: www.example.com:8080\r\nX-A: one\r\n\r\n";
const EXPAND_LIMITS: Limits = Limits {
    max_head: 64 * 1024,
    max_line: 64 * 1024,
    xhttp: 3,
    max_body: None,
};

fn expand_request(bytes: &[u8]) -> Request {
    let mut req = Request::default();
    if let Ok(Some(_)) = request::parse(bytes, &EXPAND_LIMITS, &mut req) {
        return req;
    }
    let r = request::parse(DEFAULT_REQUEST, &EXPAND_LIMITS, &mut req);
    assert!(matches!(r, Ok(Some(_))), "{r:?}");
    req
}

fn matcher(pattern: &str, icase: bool) -> Matcher {
    let regex = pound_regex::compile(pattern, icase).ok();
    Matcher {
        mode: if regex.is_some() {
            MatchMode::Regex
        } else {
            MatchMode::Prefix
        },
        icase,
        patterns: vec![Pattern {
            text: pattern.to_string(),
            regex,
        }],
        file: None,
    }
}

/// Serialises a request as pound forwards it: request line, fields, empty line.
fn serialise(req: &Request) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(req.method());
    out.push(b' ');
    out.extend_from_slice(req.target());
    out.push(b' ');
    out.extend_from_slice(req.version.as_str().as_bytes());
    out.extend_from_slice(b"\r\n");
    req.head.write_fields(&mut out, |_| true);
    out.extend_from_slice(b"\r\n");
    out
}

/// Reasons for which the parser refuses a head as syntactically malformed.
const SYNTAX_ERRORS: &[&str] = &[
    "malformed request line",
    "malformed header field name",
    "malformed header field value",
    "malformed request",
    "malformed request target",
];

/// Input: a template, a POSIX pattern and a request, separated by NUL bytes (the pattern and
/// the request have defaults). The pattern is matched against the request's URL, path, host
/// and header lines so that `$N(M)` has matches to refer to; the template is parsed, expanded
/// and used by each `Set*` modification.
pub fn expand(data: &[u8]) {
    let mut parts = data.splitn(3, |&b| b == 0);
    let text = String::from_utf8_lossy(parts.next().unwrap_or(b""));
    let pattern_bytes = parts.next();
    let request_bytes = parts.next().unwrap_or(DEFAULT_REQUEST);
    let (pattern, icase) = match pattern_bytes {
        Some([b'i', rest @ ..]) => (String::from_utf8_lossy(rest), true),
        Some(p) => (String::from_utf8_lossy(p), false),
        None => ("^/([^/?]*)(/[^?]*)?(\\?.*)?".into(), false),
    };

    let t = Template::parse(&text);
    check_template(&text, &t);
    let req = expand_request(request_bytes);
    if let Some(e) = &t.error {
        // pound's offsets: at the `%` of an unclosed `%[`, else just after the `$` or `%`.
        let at = |i: usize| matches!(text.as_bytes().get(i), Some(b'$' | b'%'));
        assert!(
            at(e.offset) || (e.offset > 0 && at(e.offset - 1)),
            "error offset {} of {text:?} is not at or after a '$' or '%'",
            e.offset
        );
        assert!(!e.message.is_empty());
        // Such a template is accepted, and fails each request that needs it.
        let mut out = Vec::new();
        let r = rules::expand(&t, "fuzz", &req, &Matches::default(), &mut out);
        assert!(r.is_err_and(|e| e.0.contains(&t.text)), "a broken template expands");
        return;
    }

    let m = matcher(&pattern, icase);
    let mut matches = Matches::default();
    let conds = [
        Cond::Url(m.clone()),
        Cond::Path(m.clone()),
        Cond::Host(m.clone()),
        Cond::Header(m.clone()),
        Cond::QueryParam(b"x".to_vec(), m.clone()),
        Cond::StringMatch(t.clone(), m.clone()),
    ];
    {
        let mut cx = Cx {
            req: &req,
            headers: &req.head,
            client: None,
            matches: &mut matches,
            capture: true,
        };
        for c in &conds {
            let r = cx.eval(c);
            if r.is_err() {
                assert!(t.has_refs(), "evaluation failed without references: {r:?}");
            }
        }
    }

    let mut out = Vec::new();
    let r = rules::expand(&t, "fuzz", &req, &matches, &mut out);
    match r {
        Err(e) => {
            assert!(t.has_refs(), "expansion failed without references: {e:?}");
            assert!(e.0.contains(&t.text), "the message names the template");
        }
        Ok(values) => {
            let non_literal = t
                .parts
                .iter()
                .filter(|p| !matches!(p, Part::Literal(_)))
                .count();
            assert!(values <= non_literal);
            let literals: usize = t
                .parts
                .iter()
                .map(|p| match p {
                    Part::Literal(s) => s.len(),
                    _ => 0,
                })
                .sum();
            assert!(out.len() >= literals);
            if t.is_literal() {
                let all: String = t
                    .parts
                    .iter()
                    .map(|p| match p {
                        Part::Literal(s) => s.as_str(),
                        _ => "",
                    })
                    .collect();
                assert_eq!(out, all.as_bytes());
            }
            let mut again = vec![b'x'; 3];
            let r2 = rules::expand(&t, "fuzz", &req, &matches, &mut again);
            assert_eq!(r2, Ok(values));
            assert_eq!(again, out, "expansion is deterministic");
        }
    }

    // Each modification with this template must leave a head that parses again.
    let actions = [
        Action::SetHeader(t.clone()),
        Action::SetUrl(t.clone()),
        Action::SetPath(t.clone()),
        Action::SetQuery(t.clone()),
        Action::SetQueryParam(b"p".to_vec(), t.clone()),
    ];
    let original = req.head.buf.clone();
    for action in actions {
        let mut req = expand_request(&original);
        let mut history = Matches::default();
        {
            let mut cx = Cx {
                req: &req,
                headers: &req.head,
                client: None,
                matches: &mut history,
                capture: true,
            };
            for c in &conds {
                let _ = cx.eval(c);
            }
        }
        if rules::apply(
            std::slice::from_ref(&action),
            &mut req,
            None,
            &mut history,
            true,
        )
        .is_err()
        {
            continue;
        }
        let bytes = serialise(&req);
        let mut again = Request::default();
        match request::parse(&bytes, &EXPAND_LIMITS, &mut again) {
            Ok(Some(n)) => {
                assert_eq!(n, bytes.len());
                assert_eq!(again.target(), req.target(), "the target reads back");
                assert_eq!(again.head.fields.len(), req.head.fields.len());
                for i in 0..req.head.fields.len() {
                    assert_eq!(again.head.name(i), req.head.name(i));
                    assert_eq!(again.head.value(i), req.head.value(i));
                }
            }
            Ok(None) => panic!("a rewritten head is incomplete: {bytes:?}"),
            Err(e) => {
                assert!(
                    !SYNTAX_ERRORS.contains(&e.reason),
                    "a rewritten head is malformed ({}): {:?}",
                    e.reason,
                    String::from_utf8_lossy(&bytes)
                );
            }
        }
    }
}

fn check_template(text: &str, t: &Template) {
    assert_eq!(t.text, text);
    let special = text.contains(['$', '%']);
    if !special {
        let want = if text.is_empty() {
            vec![]
        } else {
            vec![Part::Literal(text.to_string())]
        };
        assert_eq!(t.parts, want, "plain text is one literal");
    }
    let mut refs = false;
    for (i, p) in t.parts.iter().enumerate() {
        match p {
            Part::Literal(s) => {
                assert!(!s.is_empty(), "an empty literal");
                assert!(
                    !matches!(t.parts.get(i + 1), Some(Part::Literal(_))),
                    "two literals in a row"
                );
            }
            Part::Ref { nth, text: r, .. } => {
                refs = true;
                assert!(
                    *nth < pound_config::model::template::MATCH_HISTORY
                        || *nth == pound_config::model::template::NO_MATCH
                );
                assert!(
                    text.contains(r.as_str()),
                    "the reference {r:?} is in the text"
                );
                assert!(r.starts_with(['$', '%']));
            }
            Part::Accessor(Accessor::Param(a) | Accessor::Header(a)) => {
                assert!(!a.is_empty());
            }
            Part::Accessor(_) => {}
        }
    }
    assert_eq!(t.has_refs(), refs);
}
