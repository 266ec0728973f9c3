//! What `-s` (or `URL` in `~/.poundctl`) names: a UNIX socket's file name, or since pound
//! 4.14 the URL of a `Control` service, `SCHEME://[USER[:PASSWORD]@]HOST[:PORT][/PATH]`.

use std::path::PathBuf;

/// Where the control interface is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Socket(PathBuf),
    Remote(Remote),
}

/// A control interface reached over TCP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub tls: bool,
    /// The host as written, without brackets for an IPv6 address.
    pub host: String,
    pub port: u16,
    /// The path the API is under, without a trailing `/` (empty for the root).
    pub prefix: String,
    /// `USER:PASSWORD` for basic authentication, as written (percent-decoded).
    pub credentials: Option<String>,
}

impl Remote {
    /// The `Host` of requests: the host as a URL writes it (an IPv6 address in brackets),
    /// without the port, as pound's poundctl sends it.
    pub fn host_header(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }
}

impl Target {
    /// Reads `-s`'s value: anything with `://` is a URL, anything else a socket's name.
    pub fn parse(text: &str) -> Result<Target, String> {
        let Some((scheme, rest)) = text.split_once("://") else {
            return Ok(Target::Socket(PathBuf::from(text)));
        };
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            _ => return Err(format!("unsupported URL scheme: {text}")),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (credentials, hostport) = match authority.rsplit_once('@') {
            Some((user, hp)) => (Some(decode(user)), hp),
            None => (None, authority),
        };
        let bad = || format!("invalid URL: {text}");
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(bad)?;
            match after {
                "" => (host, None),
                _ => (host, Some(after.strip_prefix(':').ok_or_else(bad)?)),
            }
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        let port = match port {
            None | Some("") => {
                if tls {
                    443
                } else {
                    80
                }
            }
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("invalid port in URL: {text}"))?,
        };
        // A query or fragment has no meaning here; the API's own paths follow the prefix.
        let path = path.split(['?', '#']).next().unwrap_or("");
        Ok(Target::Remote(Remote {
            tls,
            host: host.to_string(),
            port,
            prefix: path.trim_end_matches('/').to_string(),
            credentials,
        }))
    }
}

/// `%XX` in the user part, so that a password may hold `@`, `:` or `/`.
fn decode(s: &str) -> String {
    String::from_utf8_lossy(&pound_control::decode(s.as_bytes())).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(text: &str) -> Remote {
        match Target::parse(text) {
            Ok(Target::Remote(r)) => r,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn sockets_and_urls() {
        assert_eq!(
            Target::parse("/run/pound.sock"),
            Ok(Target::Socket("/run/pound.sock".into()))
        );
        // Not a URL: a (strange) file name, as for pound's poundctl.
        assert_eq!(
            Target::parse("127.0.0.1:8080"),
            Ok(Target::Socket("127.0.0.1:8080".into()))
        );
        let r = remote("http://127.0.0.1:8080");
        assert_eq!(
            (r.tls, r.host.as_str(), r.port, r.prefix.as_str()),
            (false, "127.0.0.1", 8080, "")
        );
        let r = remote("https://u:p%40ss@ctl.example/api/");
        assert_eq!(
            (r.tls, r.host.as_str(), r.port, r.prefix.as_str()),
            (true, "ctl.example", 443, "/api")
        );
        assert_eq!(r.credentials.as_deref(), Some("u:p@ss"));
        let r = remote("http://[::1]:9/x/y");
        assert_eq!(
            (r.host.as_str(), r.port, r.prefix.as_str()),
            ("::1", 9, "/x/y")
        );
        assert_eq!(r.host_header(), "[::1]");
        assert_eq!(remote("http://h.example:8080/").host_header(), "h.example");
        assert_eq!(remote("HTTP://h/").prefix, "");
    }

    #[test]
    fn bad_urls() {
        assert_eq!(
            Target::parse("ftp://h/"),
            Err("unsupported URL scheme: ftp://h/".into())
        );
        for bad in ["http://", "http://:80/", "http://[::1/", "http://[::1]x/"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
        for bad in ["http://h:99999/", "http://h:0/", "http://h:x/"] {
            assert_eq!(
                Target::parse(bad),
                Err(format!("invalid port in URL: {bad}"))
            );
        }
    }
}
