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

/// Writes `query` with the first parameter called `name` set to `value` (or the parameter
/// added at the end) to `out`. Empty pairs (`&&`) stay, as pound keeps them.
pub fn set_param(query: &[u8], name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut done = false;
    let mut first = true;
    for pair in query.split(|&b| b == b'&').filter(|_| !query.is_empty()) {
        if !first {
            out.push(b'&');
        }
        first = false;
        let n = pair.split(|&b| b == b'=').next().unwrap_or(pair);
        if !done && n == name {
            out.extend_from_slice(name);
            out.push(b'=');
            out.extend_from_slice(value);
            done = true;
        } else {
            out.extend_from_slice(pair);
        }
    }
    if !done {
        if !out.is_empty() {
            out.push(b'&');
        }
        out.extend_from_slice(name);
        out.push(b'=');
        out.extend_from_slice(value);
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
        join(b"", b"/p", Some(b"q"), &mut out);
        assert_eq!(out, b"/p?q");
    }

    #[test]
    fn hosts() {
        assert_eq!(host_port(b"a.org:8080"), (&b"a.org"[..], &b":8080"[..]));
        assert_eq!(host_port(b"a.org"), (&b"a.org"[..], &b""[..]));
        assert_eq!(host_port(b"[::1]:80"), (&b"[::1]"[..], &b":80"[..]));
        assert_eq!(host_port(b"[::1]"), (&b"[::1]"[..], &b""[..]));
    }
}
