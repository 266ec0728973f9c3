//! HTTP/1.x message handling that does no I/O: parsing and checking request and response
//! heads, the chunked transfer coding, method classes and status texts.
//!
//! Everything here is pure so that the rules of the sanitizer can be unit-tested byte for byte;
//! the engine (the `pound` crate's `proxy` and `h2`) drives it over sockets. It depends on
//! nothing but `httparse`.

pub mod chunked;
pub mod combine;
pub mod head;
pub mod location;
pub mod methods;
pub mod request;
pub mod response;
pub mod status;

/// Whether `a` is a valid `uri-host [ ":" port ]` (RFC 9112, 3.2; RFC 3986, 3.2.2): a
/// bracketed IP literal, or a name of unreserved, sub-delimiter and percent-encoded
/// characters, with an optional numeric port. User information (`user@host`), paths, white
/// space and control characters are refused: a backend or a log reading such a value could
/// take a different host from the one pound routed by. Empty is valid (RFC 9112, 3.2). The
/// same rule serves `Host`, absolute-form targets and HTTP/2's `:authority`.
pub fn valid_authority(a: &[u8]) -> bool {
    let (host, rest) = if a.first() == Some(&b'[') {
        let Some(end) = a.iter().position(|&b| b == b']') else {
            return false;
        };
        let inner = &a[1..end];
        let ipv6 = std::str::from_utf8(inner)
            .ok()
            .and_then(|t| t.parse::<std::net::Ipv6Addr>().ok());
        if ipv6.is_none() {
            return false;
        }
        (&a[..0], &a[end + 1..])
    } else {
        match a.iter().position(|&b| b == b':') {
            Some(i) => (&a[..i], &a[i..]),
            None => (a, &a[a.len()..]),
        }
    };
    let port_ok = match rest.split_first() {
        None => true,
        Some((b':', port)) => {
            port.iter().all(u8::is_ascii_digit)
                && (port.is_empty()
                    || std::str::from_utf8(port).is_ok_and(|p| p.parse::<u16>().is_ok()))
        }
        Some(_) => false,
    };
    let mut i = 0;
    while i < host.len() {
        let b = host[i];
        if b == b'%' {
            let hex = |j: usize| host.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
            continue;
        }
        if !(b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b)) {
            return false;
        }
        i += 1;
    }
    port_ok
}

/// The connection preface of HTTP/2 (RFC 9113, 3.4), whose first line looks like a request
/// line: how the HTTP/1 reader recognises a cleartext (h2c) client with prior knowledge.
pub const PREFACE_LINE: &[u8] = b"PRI * HTTP/2.0\r\n";

/// The HTTP/1 minor version of a message (`HTTP/1.0` or `HTTP/1.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }

    fn from_minor(minor: u8) -> Option<Version> {
        match minor {
            0 => Some(Version::Http10),
            1 => Some(Version::Http11),
            _ => None,
        }
    }
}

/// How the length of a message body is determined (RFC 9112, section 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyKind {
    /// No body at all.
    #[default]
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// The chunked transfer coding, ending with the last chunk and trailers.
    Chunked,
    /// Responses only: everything until the backend closes the connection.
    UntilClose,
}

/// What a `Connection` field says: the options pound acts on, and the other field names it
/// declares hop-by-hop (as spans of `base`, which `value` is part of).
#[derive(Debug, Default, Clone, Copy)]
pub struct ConnectionOptions {
    pub close: bool,
    pub keep_alive: bool,
    pub upgrade: bool,
}

impl ConnectionOptions {
    /// Adds the tokens of one `Connection` value. Names of the framing fields, `Host` and
    /// pound's forwarded fields are ignored: honouring them would let a peer strip those
    /// fields from the message pound passes on.
    pub fn add(&mut self, value: &[u8], base: &[u8], names: &mut Vec<head::Span>) {
        for t in tokens(value) {
            if t.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if t.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            } else if t.eq_ignore_ascii_case(b"upgrade") {
                self.upgrade = true;
            } else if !request::is_protected(t) {
                names.push(head::Head::span_of(base, t, 0));
            }
        }
    }
}

/// The non-empty elements of a comma-separated header value, trimmed of whitespace.
pub fn tokens(list: &[u8]) -> impl Iterator<Item = &[u8]> {
    list.split(|&b| b == b',')
        .map(trim)
        .filter(|t| !t.is_empty())
}

/// `s` without leading and trailing spaces and tabs.
pub fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |p| p + 1);
    &s[start..end]
}

/// Parses a Content-Length value: one or more decimal digits and nothing else.
pub fn parse_content_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_is_strictly_decimal() {
        assert_eq!(parse_content_length(b"0"), Some(0));
        assert_eq!(parse_content_length(b"0012"), Some(12));
        assert_eq!(parse_content_length(b"18446744073709551615"), None);
        assert_eq!(
            parse_content_length(b"9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        for bad in [&b""[..], b"+1", b"-1", b"1,1", b"0x10", b"1 ", b"1.0"] {
            assert_eq!(parse_content_length(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn token_lists() {
        assert_eq!(
            tokens(b" a ,, b\t").collect::<Vec<_>>(),
            vec![&b"a"[..], b"b"]
        );
    }
}
