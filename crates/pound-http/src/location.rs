//! `RewriteLocation` (pound 4.23, Response Modification): a `Location` or
//! `Content-Location` in a backend's response is changed to point at the host the client
//! asked for.
//!
//! The rules are pound 4.23's, as it behaves: in mode 1 every absolute `http` or `https`
//! URL with a host name or IPv4 address (not an IPv6 literal) and a numeric port is
//! rewritten, wherever it points; in mode 2 only one that names the backend itself (its
//! address and port, a host name resolving to it included). The result is
//! `PROTO://HOST/PATH`: the listener's protocol, the request's `Host` as sent, and the
//! location's path, query and fragment (`/` when it has no path).

use std::net::{IpAddr, SocketAddr};

/// What the location is compared with.
pub struct Context<'a> {
    /// `RewriteLocation`: 0 off, 1 every absolute location, 2 the backend's only.
    pub mode: u8,
    /// The request's `Host`.
    pub host: &'a [u8],
    /// The listener's protocol, `http` or `https`.
    pub proto: &'a str,
    pub backend: Option<SocketAddr>,
    /// Mode 2: the location's host name was resolved and names the backend (see
    /// [`named_host`]).
    pub name_is_backend: bool,
}

/// The parts of an absolute location pound can rewrite.
struct Parsed<'v> {
    /// The host, without user information and port.
    host: &'v str,
    port: u16,
    /// From the first `/` on; empty when the location has no path.
    path: &'v [u8],
}

fn parse(value: &[u8]) -> Option<Parsed<'_>> {
    let starts =
        |p: &str| value.len() >= p.len() && value[..p.len()].eq_ignore_ascii_case(p.as_bytes());
    let (default_port, rest) = if starts("http://") {
        (80, &value[7..])
    } else if starts("https://") {
        (443, &value[8..])
    } else {
        return None;
    };
    let end = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let authority = std::str::from_utf8(authority).ok()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if authority.starts_with('[') {
        return None;
    }
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => {
            let digits = p.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            // As pound reads it: the leading digits, whatever follows them.
            (
                h,
                p[..digits]
                    .parse::<u32>()
                    .map_or(0, |n| n.min(65535) as u16),
            )
        }
        None => (authority, default_port),
    };
    if host.is_empty() {
        return None;
    }
    Some(Parsed { host, port, path })
}

/// For mode 2: the host name and port of an absolute location whose host is a name rather
/// than an address, which must be resolved to be compared with the backend's address.
pub fn named_host(value: &[u8]) -> Option<(&str, u16)> {
    let p = parse(value)?;
    p.host
        .parse::<IpAddr>()
        .is_err()
        .then_some((p.host, p.port))
}

/// The rewritten value, or `None` to leave `value` as it is.
pub fn rewrite(value: &[u8], cx: &Context<'_>) -> Option<Vec<u8>> {
    if cx.mode == 0 || cx.host.is_empty() {
        return None;
    }
    let p = parse(value)?;
    if cx.mode == 2 {
        let at_backend = match p.host.parse::<IpAddr>() {
            Ok(ip) => cx.backend == Some(SocketAddr::new(ip, p.port)),
            Err(_) => cx.name_is_backend,
        };
        if !at_backend {
            return None;
        }
    }
    let mut out = Vec::with_capacity(cx.proto.len() + 3 + cx.host.len() + p.path.len().max(1));
    out.extend_from_slice(cx.proto.as_bytes());
    out.extend_from_slice(b"://");
    out.extend_from_slice(cx.host);
    if p.path.is_empty() {
        out.push(b'/');
    } else {
        out.extend_from_slice(p.path);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(mode: u8) -> Context<'static> {
        Context {
            mode,
            host: b"www.example.org",
            proto: "http",
            backend: Some("10.0.0.5:8080".parse().unwrap()),
            name_is_backend: false,
        }
    }

    fn rw(v: &str, mode: u8) -> Option<String> {
        rewrite(v.as_bytes(), &cx(mode)).map(|v| String::from_utf8(v).unwrap())
    }

    /// Each case was answered so by pound 4.23.
    #[test]
    fn mode_1_rewrites_every_absolute_location() {
        for (from, to) in [
            ("http://10.0.0.5:8080/a?b", "http://www.example.org/a?b"),
            ("https://10.0.0.5:8080", "http://www.example.org/"),
            ("http://10.0.0.5:8080?a", "http://www.example.org/"),
            ("http://10.1.2.3/x", "http://www.example.org/x"),
            ("http://other.example/x#f", "http://www.example.org/x#f"),
            ("HTTPS://h:443/x", "http://www.example.org/x"),
            ("http://u@10.1.2.3/x", "http://www.example.org/x"),
            ("http://10.1.2.3:99999/x", "http://www.example.org/x"),
        ] {
            assert_eq!(rw(from, 1).as_deref(), Some(to), "{from}");
        }
        for kept in [
            "/relative",
            "//10.1.2.3/x",
            "ftp://10.0.0.5:8080/x",
            "http://[2001:db8::1]/x",
            "http://10.1.2.3:abc/x",
            "http:///x",
        ] {
            assert_eq!(rw(kept, 1), None, "{kept}");
        }
        assert_eq!(rw("http://10.0.0.5:8080/a", 0), None);
        let mut no_host = cx(1);
        no_host.host = b"";
        assert_eq!(rewrite(b"http://10.1.2.3/x", &no_host), None);
    }

    #[test]
    fn mode_2_rewrites_only_the_backend() {
        assert_eq!(
            rw("https://10.0.0.5:8080/x", 2).as_deref(),
            Some("http://www.example.org/x")
        );
        assert_eq!(rw("http://10.0.0.5/x", 2), None);
        assert_eq!(rw("http://10.1.2.3:8080/x", 2), None);
        assert_eq!(rw("http://backend.local:8080/x", 2), None);
        let mut named = cx(2);
        named.name_is_backend = true;
        assert_eq!(
            rewrite(b"http://backend.local:8080/x", &named).as_deref(),
            Some(&b"http://www.example.org/x"[..])
        );
        assert_eq!(
            named_host(b"http://backend.local:8080/x"),
            Some(("backend.local", 8080))
        );
        assert_eq!(named_host(b"http://10.0.0.5:8080/x"), None);
    }
}
