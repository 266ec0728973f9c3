//! Property tests of the HTTP/1 codecs (`proptest`):
//!
//! - request heads: generated method, target, version and fields are serialised, parsed, and
//!   come back the same (bytes, case and order of the fields, trimmed values, framing), with
//!   or without a body after the head, and every shorter prefix asks for more bytes;
//! - response heads: the same for status lines and fields, with how the body is delimited;
//! - the chunked decoder reports the same framing (which bytes are data, where the body ends,
//!   the error) whatever way the input is split into reads, for valid and corrupted bodies.
//!
//! The generated heads stay within what any stricter parser must still accept (plain host
//! names, small chunk sizes), so that tightening the sanitizer does not break them. The fuzz
//! targets under `fuzz/` check the same parsers on arbitrary bytes (docs/SECURITY.md).

use pound::http::chunked::{ChunkError, Decoder, Segment};
use pound::http::request::{self, Limits, Request};
use pound::http::response::{self, Response};
use pound::http::{BodyKind, Version};
use proptest::prelude::*;
use proptest::sample::select;

const TCHARS: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";
/// Characters of a path segment or query (RFC 3986 pchar, without percent-encodings).
const PCHARS: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@";

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn string_of(chars: &'static [u8], len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(select(chars), len).prop_map(|v| String::from_utf8(v).expect("ASCII"))
}

/// A field name that no rule of the parser looks at.
fn extra_name() -> impl Strategy<Value = String> {
    string_of(TCHARS, 1..12).prop_map(|t| format!("X-{t}"))
}

/// A field value as it reads after parsing: visible ASCII with inner blanks, no blank at
/// either end (possibly empty).
fn field_value() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![8 => 0x21u8..=0x7e, 1 => Just(b' '), 1 => Just(b'\t')],
        0..24,
    )
    .prop_map(|v| {
        String::from_utf8(v)
            .expect("ASCII")
            .trim_matches([' ', '\t'])
            .to_string()
    })
}

/// The same name with its letters in some mix of cases (field names are case-insensitive).
fn any_case(name: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<bool>(), name.len()).prop_map(move |upper| {
        name.chars()
            .zip(upper)
            .map(|(c, u)| {
                if u {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    })
}

/// A plain host name with an optional port: valid under any reading of RFC 9110.
fn host() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            string_of(b"abcdefghijklmnopqrstuvwxyz0123456789", 1..10),
            1..4,
        ),
        prop::option::of(1u16..=65535),
    )
        .prop_map(|(labels, port)| match port {
            Some(p) => format!("{}:{p}", labels.join(".")),
            None => labels.join("."),
        })
}

/// One header field to serialise: name, value, and the blanks written around the value.
#[derive(Debug, Clone)]
struct Field {
    name: String,
    value: String,
    before: &'static str,
    after: &'static str,
}

fn field(
    name: impl Strategy<Value = String>,
    value: impl Strategy<Value = String>,
) -> impl Strategy<Value = Field> {
    (
        name,
        value,
        select(&["", " ", "  ", "\t", " \t"][..]),
        select(&["", " ", "\t", " \t "][..]),
    )
        .prop_map(|(name, value, before, after)| Field {
            name,
            value,
            before,
            after,
        })
}

fn write_fields(out: &mut Vec<u8>, fields: &[Field]) {
    for f in fields {
        out.extend_from_slice(f.name.as_bytes());
        out.push(b':');
        out.extend_from_slice(f.before.as_bytes());
        out.extend_from_slice(f.value.as_bytes());
        // Blanks after an empty value would become blanks before it: the same line.
        out.extend_from_slice(f.after.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

fn assert_fields(head: &pound::http::head::Head, fields: &[Field]) {
    assert_eq!(head.fields.len(), fields.len());
    for (i, f) in fields.iter().enumerate() {
        assert_eq!(head.name(i), f.name.as_bytes(), "name of field {i}");
        assert_eq!(head.value(i), f.value.as_bytes(), "value of field {i}");
    }
}

// ---------------------------------------------------------------------------------------
// Request heads

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked(&'static str),
}

#[derive(Debug, Clone)]
struct RequestHead {
    method: &'static str,
    target: String,
    version: Version,
    framing: Framing,
    close: bool,
    fields: Vec<Field>,
}

impl RequestHead {
    fn line(&self) -> String {
        format!("{} {} {}", self.method, self.target, self.version.as_str())
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.line().into_bytes();
        out.extend_from_slice(b"\r\n");
        write_fields(&mut out, &self.fields);
        out
    }
}

fn origin_target() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(string_of(PCHARS, 0..8), 1..5),
        prop::option::of(string_of(b"abcdefghij0123456789=&/?%-._~", 0..16)),
    )
        .prop_map(|(segments, query)| {
            let mut t = format!("/{}", segments.join("/"));
            if let Some(q) = query {
                t.push('?');
                t.push_str(&q);
            }
            t
        })
}

fn request_head() -> impl Strategy<Value = RequestHead> {
    let method = select(
        &[
            "GET",
            "HEAD",
            "POST",
            "PUT",
            "PATCH",
            "DELETE",
            "OPTIONS",
            "TRACE",
            "PROPFIND",
            "MKCOL",
            "SUBSCRIBE",
            "BDELETE",
        ][..],
    );
    let version = prop_oneof![3 => Just(Version::Http11), 1 => Just(Version::Http10)];
    let framing = prop_oneof![
        2 => Just(Framing::None),
        2 => (0u64..1_000_000_000_000).prop_map(Framing::Length),
        1 => select(&["chunked", "Chunked", "gzip, chunked", "deflate ,chunked"][..])
            .prop_map(Framing::Chunked),
    ];
    (
        method,
        origin_target(),
        any::<bool>(),
        version,
        framing,
        host(),
        prop::option::of(select(&["close", "keep-alive", "Close", "X-Hop"][..])),
        any::<bool>(),
        prop::collection::vec(field(extra_name(), field_value()), 0..8),
        (
            any_case("host"),
            any_case("content-length"),
            any_case("transfer-encoding"),
            any_case("connection"),
        ),
    )
        .prop_flat_map(
            |(
                method,
                origin,
                absolute,
                version,
                framing,
                host,
                connection,
                send_host,
                extra,
                names,
            )| {
                let (host_name, cl_name, te_name, conn_name) = names;
                // HTTP/1.0 has no chunked coding, and may leave the Host out.
                let framing = match (version, framing) {
                    (Version::Http10, Framing::Chunked(_)) => Framing::None,
                    (_, f) => f,
                };
                let target = if absolute {
                    format!("http://{host}{origin}")
                } else {
                    origin
                };
                let mut fields = extra;
                let mut special = Vec::new();
                if send_host || version == Version::Http11 {
                    special.push((host_name, host));
                }
                match framing {
                    Framing::None => {}
                    Framing::Length(n) => special.push((cl_name, n.to_string())),
                    Framing::Chunked(c) => special.push((te_name, c.to_string())),
                }
                if let Some(c) = connection {
                    special.push((conn_name, c.to_string()));
                }
                for (name, value) in special {
                    fields.push(Field {
                        name,
                        value,
                        before: " ",
                        after: "",
                    });
                }
                let close = connection.is_some_and(|c| c.eq_ignore_ascii_case("close"));
                Just(fields)
                    .prop_shuffle()
                    .prop_map(move |fields| RequestHead {
                        method,
                        target: target.clone(),
                        version,
                        framing,
                        close,
                        fields,
                    })
            },
        )
}

fn limits() -> Limits {
    Limits {
        xhttp: 3,
        ..Limits::default()
    }
}

fn parse_request(bytes: &[u8]) -> (Result<Option<usize>, request::Reject>, Request) {
    let mut req = Request::default();
    let r = request::parse(bytes, &limits(), &mut req);
    (r, req)
}

/// Split points of an input of `len` bytes, from arbitrary numbers.
fn cuts(len: usize, picks: &[prop::sample::Index]) -> Vec<usize> {
    let mut v: Vec<usize> = picks.iter().map(|i| i.index(len.max(1))).collect();
    v.sort_unstable();
    v.dedup();
    v
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn request_heads_round_trip(
        h in request_head(),
        body in prop::collection::vec(any::<u8>(), 0..32),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let bytes = h.to_bytes();
        let (r, req) = parse_request(&bytes);
        prop_assert_eq!(r, Ok(Some(bytes.len())), "{}", String::from_utf8_lossy(&bytes));
        prop_assert_eq!(req.method(), h.method.as_bytes());
        prop_assert_eq!(req.target(), h.target.as_bytes());
        let line = h.line();
        prop_assert_eq!(req.line(), line.as_bytes());
        prop_assert_eq!(req.version, h.version);
        assert_fields(&req.head, &h.fields);
        let want = match h.framing {
            Framing::None | Framing::Length(0) => BodyKind::Empty,
            Framing::Length(n) => BodyKind::Length(n),
            Framing::Chunked(_) => BodyKind::Chunked,
        };
        prop_assert_eq!(req.body, want);
        prop_assert_eq!(req.keep_alive, h.version == Version::Http11 && !h.close);

        // What follows the head changes nothing.
        let mut with_body = bytes.clone();
        with_body.extend_from_slice(&body);
        let (r2, req2) = parse_request(&with_body);
        prop_assert_eq!(r2, Ok(Some(bytes.len())));
        prop_assert_eq!(format!("{req2:?}"), format!("{req:?}"));

        // Arriving in pieces, the head is incomplete until its last byte.
        for k in cuts(bytes.len(), &picks) {
            let (r, _) = parse_request(&bytes[..k]);
            prop_assert_eq!(r, Ok(None), "prefix of {} bytes", k);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Response heads

#[derive(Debug, Clone)]
struct ResponseHead {
    version: Version,
    status: u16,
    reason: String,
    framing: Framing,
    /// `Some(true)`: `Connection: close`; `Some(false)`: `Connection: keep-alive`.
    connection: Option<bool>,
    fields: Vec<Field>,
}

impl ResponseHead {
    fn line(&self) -> String {
        format!("{} {} {}", self.version.as_str(), self.status, self.reason)
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.line().into_bytes();
        out.extend_from_slice(b"\r\n");
        write_fields(&mut out, &self.fields);
        out
    }
}

fn response_head() -> impl Strategy<Value = ResponseHead> {
    let status = prop_oneof![
        4 => select(&[200u16, 201, 204, 206, 301, 302, 304, 400, 404, 500, 503][..]),
        2 => 200u16..=599,
        1 => 100u16..200,
    ];
    let framing = prop_oneof![
        2 => Just(Framing::None),
        2 => (0u64..1_000_000_000_000).prop_map(Framing::Length),
        2 => select(&["chunked", "gzip, chunked", "gzip", "chunked, gzip"][..])
            .prop_map(Framing::Chunked),
    ];
    (
        prop_oneof![3 => Just(Version::Http11), 1 => Just(Version::Http10)],
        status,
        string_of(
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -'",
            1..20,
        ),
        framing,
        prop::option::of(any::<bool>()),
        prop::collection::vec(field(extra_name(), field_value()), 0..8),
        (
            any_case("content-length"),
            any_case("transfer-encoding"),
            any_case("connection"),
        ),
    )
        .prop_flat_map(
            |(version, status, reason, framing, connection, extra, names)| {
                let (cl_name, te_name, conn_name) = names;
                let mut fields = extra;
                let mut special = Vec::new();
                match framing {
                    Framing::None => {}
                    Framing::Length(n) => special.push((cl_name, n.to_string())),
                    Framing::Chunked(c) => special.push((te_name, c.to_string())),
                }
                if let Some(close) = connection {
                    let v = if close { "close" } else { "keep-alive" };
                    special.push((conn_name, v.to_string()));
                }
                for (name, value) in special {
                    fields.push(Field {
                        name,
                        value,
                        before: " ",
                        after: "",
                    });
                }
                let reason = reason.trim().to_string();
                let reason = if reason.is_empty() {
                    "R".to_string()
                } else {
                    reason
                };
                Just(fields)
                    .prop_shuffle()
                    .prop_map(move |fields| ResponseHead {
                        version,
                        status,
                        reason: reason.clone(),
                        framing,
                        connection,
                        fields,
                    })
            },
        )
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn response_heads_round_trip(
        h in response_head(),
        head_request in any::<bool>(),
        body in prop::collection::vec(any::<u8>(), 0..32),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let method: &[u8] = if head_request { b"HEAD" } else { b"GET" };
        let bytes = h.to_bytes();
        let parse = |input: &[u8]| {
            let mut resp = Response::default();
            let r = response::parse(input, 64 * 1024, method, &mut resp);
            (r, resp)
        };
        let (r, resp) = parse(&bytes);
        prop_assert_eq!(r, Ok(Some(bytes.len())), "{}", String::from_utf8_lossy(&bytes));
        prop_assert_eq!(resp.status, h.status);
        prop_assert_eq!(resp.version, Some(h.version));
        let line = h.line();
        prop_assert_eq!(resp.line(), line.as_bytes());
        assert_fields(&resp.head, &h.fields);

        let no_body = head_request || (100..200).contains(&h.status) || h.status == 204 || h.status == 304;
        let want = match h.framing {
            _ if no_body => BodyKind::Empty,
            Framing::Chunked(c) if c.ends_with("chunked") => BodyKind::Chunked,
            Framing::Chunked(_) => BodyKind::UntilClose,
            Framing::Length(0) => BodyKind::Empty,
            Framing::Length(n) => BodyKind::Length(n),
            Framing::None => BodyKind::UntilClose,
        };
        prop_assert_eq!(resp.body, want);
        prop_assert_eq!(resp.transfer_encoding, matches!(h.framing, Framing::Chunked(_)));
        if !(100..200).contains(&h.status) {
            let persistent = match h.version {
                Version::Http11 => h.connection != Some(true),
                Version::Http10 => h.connection == Some(false),
            };
            prop_assert_eq!(resp.reusable, want != BodyKind::UntilClose && persistent);
        }

        let mut with_body = bytes.clone();
        with_body.extend_from_slice(&body);
        let (r2, resp2) = parse(&with_body);
        prop_assert_eq!(r2, Ok(Some(bytes.len())));
        prop_assert_eq!(format!("{resp2:?}"), format!("{resp:?}"));
        for k in cuts(bytes.len(), &picks) {
            let (r, _) = parse(&bytes[..k]);
            prop_assert_eq!(r, Ok(None), "prefix of {} bytes", k);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The chunked decoder

/// A chunked body, and for each of its bytes whether it is data.
#[derive(Debug, Clone)]
struct Body {
    bytes: Vec<u8>,
    data: Vec<bool>,
    /// Where the body ends (bytes after it belong to the next message).
    end: usize,
}

fn extension() -> impl Strategy<Value = String> {
    let token = || string_of(TCHARS, 1..8);
    prop_oneof![
        token().prop_map(|n| format!(";{n}")),
        (token(), token()).prop_map(|(n, v)| format!(";{n}={v}")),
        (token(), string_of(b"abc xyz;=\\\"", 0..8)).prop_map(|(n, v)| {
            let quoted: String = v
                .chars()
                .map(|c| match c {
                    '"' | '\\' => format!("\\{c}"),
                    _ => c.to_string(),
                })
                .collect();
            format!(" ;{n}=\"{quoted}\"")
        }),
    ]
}

fn chunk() -> impl Strategy<Value = (Vec<u8>, String)> {
    (
        prop::collection::vec(any::<u8>(), 1..200),
        0usize..3,
        any::<bool>(),
        prop::collection::vec(extension(), 0..3),
    )
        .prop_map(|(data, zeros, upper, ext)| {
            let hex = if upper {
                format!("{:X}", data.len())
            } else {
                format!("{:x}", data.len())
            };
            let size = format!("{}{hex}{}", "0".repeat(zeros), ext.concat());
            (data, size)
        })
}

impl Body {
    fn push(&mut self, bytes: &[u8], data: bool) {
        self.bytes.extend_from_slice(bytes);
        self.data.extend(std::iter::repeat_n(data, bytes.len()));
    }
}

fn chunked_body() -> impl Strategy<Value = Body> {
    (
        prop::collection::vec(chunk(), 0..6),
        prop::collection::vec(extension(), 0..2),
        prop::collection::vec(field(string_of(TCHARS, 1..10), field_value()), 0..3),
        prop::collection::vec(any::<u8>(), 0..16),
    )
        .prop_map(|(chunks, last_ext, trailers, after)| {
            let mut body = Body {
                bytes: Vec::new(),
                data: Vec::new(),
                end: 0,
            };
            for (payload, size) in &chunks {
                body.push(format!("{size}\r\n").as_bytes(), false);
                body.push(payload, true);
                body.push(b"\r\n", false);
            }
            body.push(format!("0{}\r\n", last_ext.concat()).as_bytes(), false);
            for t in &trailers {
                body.push(format!("{}: {}\r\n", t.name, t.value).as_bytes(), false);
            }
            body.push(b"\r\n", false);
            body.end = body.bytes.len();
            body.bytes.extend_from_slice(&after);
            body
        })
}

/// What the decoder reported for one way of feeding it the input.
#[derive(Debug, PartialEq)]
struct Report {
    data: Vec<bool>,
    done: bool,
    /// The error, with the range of input the failing call was given.
    error: Option<(ChunkError, usize, usize)>,
}

/// Feeds `input` in reads ending at `cuts` (and at the end); after each read the decoder is
/// called until it has consumed what was received, as the relay does.
fn feed(input: &[u8], cuts: &[usize]) -> Report {
    let mut d = Decoder::new();
    let mut report = Report {
        data: Vec::new(),
        done: false,
        error: None,
    };
    let mut consumed = 0;
    for &received in cuts.iter().chain(std::iter::once(&input.len())) {
        while consumed < received && !d.is_done() {
            match d.advance(&input[consumed..received]) {
                Ok((n, seg)) => {
                    assert!(n > 0, "nothing consumed of a non-empty read before the end");
                    report
                        .data
                        .extend(std::iter::repeat_n(seg == Segment::Data, n));
                    consumed += n;
                }
                Err(e) => {
                    report.error = Some((e, consumed, received));
                    return report;
                }
            }
        }
    }
    report.done = d.is_done();
    report
}

fn bytewise(input: &[u8]) -> Report {
    let all: Vec<usize> = (1..input.len()).collect();
    feed(input, &all)
}

/// Checks that `other` tells the same story as the byte-by-byte report `exact`.
fn same_framing(exact: &Report, other: &Report) -> Result<(), TestCaseError> {
    match exact.error {
        None => prop_assert_eq!(other, exact),
        Some((kind, at, _)) => {
            let Some((k, start, end)) = other.error else {
                return Err(TestCaseError::fail(format!(
                    "{kind:?} at byte {at} fed bytewise, none otherwise"
                )));
            };
            prop_assert_eq!(k, kind);
            prop_assert!(
                start <= at && at < end,
                "error in read {start}..{end}, at {at}"
            );
            prop_assert_eq!(&other.data[..], &exact.data[..other.data.len()]);
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Corruption {
    Replace(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
}

proptest! {
    #![proptest_config(config(384))]

    #[test]
    fn chunked_framing_is_independent_of_reads(
        body in chunked_body(),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let whole = feed(&body.bytes, &[]);
        prop_assert_eq!(whole.error, None);
        prop_assert!(whole.done);
        prop_assert_eq!(whole.data.len(), body.end);
        prop_assert_eq!(&whole.data[..], &body.data[..]);
        let split = feed(&body.bytes, &cuts(body.bytes.len(), &picks));
        prop_assert_eq!(&split, &whole);
        prop_assert_eq!(&bytewise(&body.bytes), &whole);
    }

    #[test]
    fn corrupted_chunked_bodies_fail_alike_however_split(
        body in chunked_body(),
        damage in prop::collection::vec(
            prop_oneof![
                (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Corruption::Replace(i, b)),
                (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Corruption::Insert(i, b)),
                any::<prop::sample::Index>().prop_map(Corruption::Delete),
            ],
            1..3,
        ),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut input = body.bytes[..body.end].to_vec();
        for d in &damage {
            match d {
                Corruption::Replace(i, b) if !input.is_empty() => {
                    let at = i.index(input.len());
                    input[at] = *b;
                }
                Corruption::Insert(i, b) => input.insert(i.index(input.len() + 1), *b),
                Corruption::Delete(i) if !input.is_empty() => {
                    input.remove(i.index(input.len()));
                }
                _ => {}
            }
        }
        let exact = bytewise(&input);
        same_framing(&exact, &feed(&input, &[]))?;
        same_framing(&exact, &feed(&input, &cuts(input.len(), &picks)))?;
    }
}
