//! The parts of a request target that conditions, accessors and `Set*` directives work on:
//! path and query, and the parameters of the query. Everything stays raw (percent-encoded),
//! as pound compares and sets it.

/// A request target split into its parts. For an absolute-form target
/// (`http://host/path?q`) `origin` holds `http://host`; otherwise it is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts<'a> {
    pub origin: &'a [u8],
    pub path: &'a [u8],
    /// After the first `?`, without it; `None` when there is no `?`.
    pub query: Option<&'a [u8]>,
}

impl<'a> Parts<'a> {
    /// The host (and port) of an absolute-form target; empty for other forms.
    pub fn authority(&self) -> &'a [u8] {
        let scheme = self
            .origin
            .iter()
            .position(|&b| b == b':')
            .map_or(0, |c| c + 3);
        self.origin.get(scheme..).unwrap_or(&[])
    }
}

pub fn split(target: &[u8]) -> Parts<'_> {
    let skip = ["http://", "https://"]
        .iter()
        .find(|p| target.len() > p.len() && target[..p.len()].eq_ignore_ascii_case(p.as_bytes()))
        .map(|p| p.len());
    let origin_len = match skip {
        Some(n) => {
            n + target[n..]
                .iter()
                .position(|&b| b == b'/' || b == b'?')
                .unwrap_or(target.len() - n)
        }
        None => 0,
    };
    let rest = &target[origin_len..];
    let (path, query) = match rest.iter().position(|&b| b == b'?') {
        Some(q) => (&rest[..q], Some(&rest[q + 1..])),
        None => (rest, None),
    };
    Parts {
        origin: &target[..origin_len],
        path,
        query,
    }
}

/// Writes `origin`, `path` and, when present, `?query` to `out`.
pub fn join(origin: &[u8], path: &[u8], query: Option<&[u8]>, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(origin);
    out.extend_from_slice(path);
    if let Some(q) = query {
        out.push(b'?');
        out.extend_from_slice(q);
    }
}

/// The raw value of the first parameter called `name`: `Some(None)` when it appears
/// without `=`, `None` when it does not appear.
pub fn param<'a>(query: &'a [u8], name: &[u8]) -> Option<Option<&'a [u8]>> {
    query.split(|&b| b == b'&').find_map(|pair| {
        let (n, v) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], Some(&pair[eq + 1..])),
            None => (pair, None),
        };
        (n == name).then_some(v)
    })
}

/// The `&`-separated segments of a query as pound lists them: empty ones included, except
/// an empty last one (`a=1&` has one segment, `a=1&&` two).
fn segments(query: &[u8]) -> impl Iterator<Item = &[u8]> {
    let query = query.strip_suffix(b"&").unwrap_or(query);
    query
        .split(|&b| b == b'&')
        .take(if query.is_empty() { 0 } else { usize::MAX })
}

fn segment_name(pair: &[u8]) -> &[u8] {
    pair.split(|&b| b == b'=').next().unwrap_or(pair)
}

/// Writes the query's segments with the first parameter called `name` set to `value` (or
/// the parameter added at the end) to `out`.
pub fn set_param(query: &[u8], name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut done = false;
    for (i, pair) in segments(query).enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        if !done && segment_name(pair) == name {
            out.extend_from_slice(name);
            out.push(b'=');
            out.extend_from_slice(value);
            done = true;
        } else {
            out.extend_from_slice(pair);
        }
    }
    if !done {
        if !out.is_empty() || segments(query).next().is_some() {
            out.push(b'&');
        }
        out.extend_from_slice(name);
        out.push(b'=');
        out.extend_from_slice(value);
    }
}

/// `SetQueryParam "NAME"`: the query's segments without the first parameter called `name`,
/// written to `out`. `None` when there is no such parameter (the URL stays as it is); an
/// empty list of segments is `Some(None)` (the URL loses its `?`).
pub fn delete_param(query: &[u8], name: &[u8], out: &mut Vec<u8>) -> Option<Option<()>> {
    out.clear();
    let found = segments(query).position(|pair| segment_name(pair) == name)?;
    let mut kept = 0;
    for (i, pair) in segments(query).enumerate() {
        if i == found {
            continue;
        }
        if kept > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(pair);
        kept += 1;
    }
    Some((kept > 0).then_some(()))
}

/// `-encode`: every byte but the unreserved characters of RFC 3986 (and `/` when
/// `keep_slash`, for a path) as `%XX`.
pub fn percent_encode(v: &[u8], keep_slash: bool, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.clear();
    for &b in v {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
    }
}

/// The host and the `:port` part of a Host value (`[v6]:port` included).
pub fn host_port(host: &[u8]) -> (&[u8], &[u8]) {
    let colon = if host.first() == Some(&b'[') {
        host.iter()
            .position(|&b| b == b']')
            .and_then(|e| host[e..].iter().position(|&b| b == b':').map(|c| c + e))
    } else {
        host.iter().position(|&b| b == b':')
    };
    match colon {
        Some(c) => (&host[..c], &host[c..]),
        None => (host, &[]),
    }
}

/// `-decode` (`Path`, `QueryParam`): `%XX` becomes the byte it names; a `%` that does not
/// start two hex digits stays as it is, and so does `+`. As in pound, whose strings end at
/// NUL, a decoded `%00` ends the value.
pub fn percent_decode(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            v[i],
            v.get(i + 1).copied().and_then(hex),
            v.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(0), Some(0)) => break,
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits() {
        let p = split(b"/a/b?x=1&y");
        assert_eq!(
            (p.origin, p.path, p.query),
            (&b""[..], &b"/a/b"[..], Some(&b"x=1&y"[..]))
        );
        let p = split(b"http://h:8/p?q");
        assert_eq!(
            (p.origin, p.path, p.query),
            (&b"http://h:8"[..], &b"/p"[..], Some(&b"q"[..]))
        );
        let p = split(b"HTTPS://h?q");
        assert_eq!(
            (p.origin, p.path, p.query),
            (&b"HTTPS://h"[..], &b""[..], Some(&b"q"[..]))
        );
        assert_eq!(split(b"HTTPS://h?q").authority(), b"h");
        assert_eq!(split(b"http://h:8/p").authority(), b"h:8");
        assert_eq!(split(b"/p").authority(), b"");
        assert_eq!(split(b"/x").query, None);
        assert_eq!(split(b"*").path, b"*");
    }

    #[test]
    fn params() {
        assert_eq!(param(b"a=1&b&c=3&a=4", b"a"), Some(Some(&b"1"[..])));
        assert_eq!(param(b"a=1&b&c=3", b"b"), Some(None));
        assert_eq!(param(b"a=1", b"z"), None);
        assert_eq!(param(b"a=%20", b"a"), Some(Some(&b"%20"[..])));
        let mut out = Vec::new();
        set_param(b"a=1&b&a=2", b"a", b"x", &mut out);
        assert_eq!(out, b"a=x&b&a=2");
        set_param(b"b", b"a", b"x", &mut out);
        assert_eq!(out, b"b&a=x");
        set_param(b"", b"a", b"", &mut out);
        assert_eq!(out, b"a=");
        // Segments as pound counts them (pound 4.23 answers for each of these).
        for (query, set, deleted) in [
            ("m=1&n=2&", "m=1&n=v", Some(Some("m=1"))),
            ("x=1&&", "x=1&&n=v", None),
            ("m=1&n=2&&", "m=1&n=v&", Some(Some("m=1&"))),
            ("&&", "&&n=v", None),
            ("a&&b", "a&&b&n=v", None),
            ("m=1&&n=2&&x=3", "m=1&&n=v&&x=3", Some(Some("m=1&&&x=3"))),
            ("&n=2", "&n=v", Some(Some(""))),
            ("n=2&", "n=v", Some(None)),
            ("n", "n=v", Some(None)),
            ("n=2&&m=1", "n=v&&m=1", Some(Some("&m=1"))),
            ("n=1&m=2&n=3&n", "n=v&m=2&n=3&n", Some(Some("m=2&n=3&n"))),
            ("nn=1&n=2", "nn=1&n=v", Some(Some("nn=1"))),
            ("N=1", "N=1&n=v", None),
        ] {
            set_param(query.as_bytes(), b"n", b"v", &mut out);
            assert_eq!(String::from_utf8_lossy(&out), set, "set in {query}");
            let left = delete_param(query.as_bytes(), b"n", &mut out)
                .map(|kept| kept.map(|()| String::from_utf8_lossy(&out).into_owned()));
            assert_eq!(
                left.as_ref().map(|k| k.as_deref()),
                deleted,
                "delete in {query}"
            );
        }
        join(b"", b"/p", Some(b"q"), &mut out);
        assert_eq!(out, b"/p?q");
    }

    #[test]
    fn encoding_and_decoding() {
        let mut out = Vec::new();
        percent_encode("a b/c?d&e=f#g+i~j-k_l.mé".as_bytes(), true, &mut out);
        assert_eq!(out, b"a%20b/c%3Fd%26e%3Df%23g%2Bi~j-k_l.m%C3%A9");
        percent_encode(b"a/b", false, &mut out);
        assert_eq!(out, b"a%2Fb");
        assert_eq!(percent_decode(b"/a%2Fb%2f+%20c"), b"/a/b/+ c");
        assert_eq!(percent_decode(b"x%zzy%2"), b"x%zzy%2");
        assert_eq!(percent_decode(b"%"), b"%");
        assert_eq!(percent_decode(b"a%00b"), b"a");
        assert_eq!(percent_decode(b"%41%62%c3%a9"), "Abé".as_bytes());
    }

    #[test]
    fn hosts() {
        assert_eq!(host_port(b"a.org:8080"), (&b"a.org"[..], &b":8080"[..]));
        assert_eq!(host_port(b"a.org"), (&b"a.org"[..], &b""[..]));
        assert_eq!(host_port(b"[::1]:80"), (&b"[::1]"[..], &b":80"[..]));
        assert_eq!(host_port(b"[::1]"), (&b"[::1]"[..], &b""[..]));
    }
}
