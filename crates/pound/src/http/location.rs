//! `RewriteLocation` (pound.8, HTTP Listener): a `Location` or `Content-Location` in a
//! response that points at the backend itself (or, in mode 1, at this listener with the
//! wrong protocol) is changed to point at the virtual host the client asked for.

use std::net::{IpAddr, SocketAddr};

/// What the location is compared with.
pub struct Context<'a> {
    /// `RewriteLocation`: 0 off, 1 backend and listener, 2 backend only.
    pub mode: u8,
    /// The request's `Host`.
    pub host: &'a [u8],
    /// The listener's protocol, `http` or `https`.
    pub proto: &'a str,
    pub backend: Option<SocketAddr>,
    pub listener: Option<SocketAddr>,
}

/// The rewritten value, or `None` to leave `value` as it is.
pub fn rewrite(value: &[u8], cx: &Context<'_>) -> Option<Vec<u8>> {
    if cx.mode == 0 || cx.host.is_empty() {
        return None;
    }
    let lower =
        |p: &str| value.len() >= p.len() && value[..p.len()].eq_ignore_ascii_case(p.as_bytes());
    let (scheme, rest) = if lower("http://") {
        ("http", &value[7..])
    } else if lower("https://") {
        ("https", &value[8..])
    } else {
        return None;
    };
    let end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = std::str::from_utf8(authority).ok()?;
    let default_port = if scheme == "https" { 443 } else { 80 };
    let (host, port) = split_host_port(authority, default_port)?;
    let ip: IpAddr = host.parse().ok()?;
    let at = SocketAddr::new(ip, port);
    let to_backend = cx.backend == Some(at);
    let to_listener = cx.mode == 1 && cx.listener == Some(at) && scheme != cx.proto;
    if !to_backend && !to_listener {
        return None;
    }
    let mut out = Vec::with_capacity(value.len() + cx.host.len());
    out.extend_from_slice(cx.proto.as_bytes());
    out.extend_from_slice(b"://");
    out.extend_from_slice(cx.host);
    out.extend_from_slice(tail);
    Some(out)
}

fn split_host_port(authority: &str, default_port: u16) -> Option<(&str, u16)> {
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return Some((host, port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((h, p.parse().ok()?)),
        None => Some((authority, default_port)),
    }
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
            listener: Some("192.0.2.1:80".parse().unwrap()),
        }
    }

    fn rw(v: &str, mode: u8) -> Option<String> {
        rewrite(v.as_bytes(), &cx(mode)).map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn backend_addresses_become_the_virtual_host() {
        assert_eq!(
            rw("http://10.0.0.5:8080/a?b", 1).as_deref(),
            Some("http://www.example.org/a?b")
        );
        assert_eq!(
            rw("https://10.0.0.5:8080", 2).as_deref(),
            Some("http://www.example.org")
        );
        assert_eq!(rw("http://10.0.0.5/a", 1), None);
        assert_eq!(rw("http://10.0.0.5:8080/a", 0), None);
        assert_eq!(rw("/relative", 1), None);
        assert_eq!(rw("http://other.example/a", 1), None);
    }

    #[test]
    fn listener_with_wrong_protocol_only_in_mode_1() {
        assert_eq!(
            rw("https://192.0.2.1:80/x", 1).as_deref(),
            Some("http://www.example.org/x")
        );
        assert_eq!(rw("https://192.0.2.1:80/x", 2), None);
        assert_eq!(rw("http://192.0.2.1/x", 1), None);
    }
}
