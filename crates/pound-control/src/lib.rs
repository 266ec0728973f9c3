//! The control protocol of pound (control-api.md): the request targets that name the
//! running objects, as pound's control server reads them and `poundctl` writes them.
//!
//! A target is `/listener` (everything), `/listener/L[/S[/B]]`, `/service/S[/B]` (a global
//! service) or `/session/L/S[/B]?key=KEY`. `L` and `S` are indexes or names, `-` in place
//! of `L` stands for the global services, and `B` is an index. Names and keys may hold any
//! byte: those a request line cannot carry as they are, and those that would change its
//! meaning, are percent-encoded, and `%XX` is all that is decoded.
//!
//! The JSON objects of the replies are in [`objects`]: the server serialises them, and
//! `poundctl` reads replies into them.
//!
//! Pure: no I/O; the server and the client both test against it.

use std::fmt::Write as _;

pub mod json;
pub mod objects;

/// The path prefix of listings and of enabling and disabling objects.
pub const LISTENER: &str = "/listener";
/// The path prefix of global services (the server also takes `/listener/-`).
pub const SERVICE: &str = "/service";
/// The path prefix of session commands.
pub const SESSION: &str = "/session";
/// The query parameter that carries a session key.
pub const KEY: &str = "key";

/// What a control request's target names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    /// `/` or `/listener`: the whole running state.
    Pound,
    /// `/listener/L[/S[/B]]` or `/service/S[/B]`; `listener` is `None` for the global
    /// services.
    Listener {
        listener: Option<String>,
        service: Option<String>,
        backend: Option<String>,
    },
    /// `/session/L/S[/B]`, with the `key` of the query, decoded, when there is one;
    /// `listener` is `None` for the global services.
    Session {
        listener: Option<String>,
        service: String,
        backend: Option<String>,
        key: Option<Vec<u8>>,
    },
    /// `/core` (pound 4.18): the process's figures.
    Core,
    /// `/log[/L]` (pound 4.23): the server's request-log level, or listener L's; `level` is
    /// the `level` of the query, to set.
    Log {
        listener: Option<String>,
        level: Option<String>,
    },
}

/// `-`, written in place of a listener, stands for the global services.
fn scope(l: &str) -> Option<String> {
    (l != "-").then(|| l.to_string())
}

impl Object {
    /// What `target` names; `None` when it names nothing (the server answers 404).
    pub fn parse(target: &str) -> Option<Object> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let path = path.trim_end_matches('/');
        let mut parts = path.split('/').skip(1);
        let kind = parts.next().unwrap_or("");
        let rest: Vec<String> = parts
            .map(|p| String::from_utf8_lossy(&decode(p.as_bytes())).into_owned())
            .collect();
        if rest.iter().any(String::is_empty) {
            return None;
        }
        let part = |i: usize| rest.get(i).cloned();
        match (kind, rest.len()) {
            ("" | "listener", 0) => Some(Object::Pound),
            ("listener", 1..=3) => Some(Object::Listener {
                listener: scope(&rest[0]),
                service: part(1),
                backend: part(2),
            }),
            ("service", 1..=2) => Some(Object::Listener {
                listener: None,
                service: part(0),
                backend: part(1),
            }),
            ("core", 0) => Some(Object::Core),
            ("log", 0..=1) => Some(Object::Log {
                listener: part(0),
                level: query_value(query, "level"),
            }),
            ("session", 2..=3) => Some(Object::Session {
                listener: scope(&rest[0]),
                service: rest[1].clone(),
                backend: part(2),
                key: query_key(query),
            }),
            _ => None,
        }
    }

    /// The request target that names this object.
    pub fn target(&self) -> String {
        let mut out = String::new();
        let scope = |out: &mut String, l: &Option<String>| match l {
            Some(l) => push_part(out, l),
            None => out.push_str("/-"),
        };
        match self {
            Object::Pound => out.push_str(LISTENER),
            Object::Listener {
                listener,
                service,
                backend,
            } => {
                out.push_str(LISTENER);
                scope(&mut out, listener);
                for p in [service, backend].into_iter().flatten() {
                    push_part(&mut out, p);
                }
            }
            Object::Session {
                listener,
                service,
                backend,
                key,
            } => {
                out.push_str(SESSION);
                scope(&mut out, listener);
                push_part(&mut out, service);
                if let Some(b) = backend {
                    push_part(&mut out, b);
                }
                if let Some(k) = key {
                    let _ = write!(out, "?{KEY}=");
                    encode_into(&mut out, k, Part::Query);
                }
            }
            Object::Core => out.push_str("/core/"),
            Object::Log { listener, level } => {
                out.push_str("/log/");
                if let Some(l) = listener {
                    encode_into(&mut out, l.as_bytes(), Part::Path);
                }
                if let Some(v) = level {
                    out.push_str("?level=");
                    encode_into(&mut out, v.as_bytes(), Part::Query);
                }
            }
        }
        out
    }
}

/// `?indent=N` (pound 4.23) of a request target: the JSON reply laid out with N spaces per
/// level; no value, or an empty one, is one line. `None` (400) for anything but a number
/// up to [`json::MAX_INDENT`].
pub fn indent(target: &str) -> Option<usize> {
    let Some((_, query)) = target.split_once('?') else {
        return Some(0);
    };
    match query_value(query, "indent") {
        None => Some(0),
        Some(v) if v.is_empty() => Some(0),
        Some(v) => {
            let digits = v.strip_prefix('+').unwrap_or(&v);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= json::MAX_INDENT)
        }
    }
}

/// The decoded value of `name` in a query.
fn query_value(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
        .map(|v| String::from_utf8_lossy(&decode(v.as_bytes())).into_owned())
}

/// The session key of a query string (`key=...`, decoded).
fn query_key(query: &str) -> Option<Vec<u8>> {
    query
        .split('&')
        .find_map(|p| p.strip_prefix(KEY)?.strip_prefix('='))
        .map(|k| decode(k.as_bytes()))
}

fn push_part(out: &mut String, part: &str) {
    out.push('/');
    encode_into(out, part.as_bytes(), Part::Path);
}

/// Where an encoded string goes: `?` ends a path segment but is fine inside a query.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Path,
    Query,
}

/// Copies `text`, percent-encoding the bytes a request line cannot carry as they are, and
/// those that would change its meaning: `%` itself, `#`, `&` in a query, `?` in a path.
fn encode_into(out: &mut String, text: &[u8], part: Part) {
    for &b in text {
        let special = match part {
            Part::Path => matches!(b, b'?' | b'%' | b'#'),
            Part::Query => matches!(b, b'&' | b'%' | b'#'),
        };
        if matches!(b, 0x21..=0x7e) && !special {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// Decodes `%XX`, and only that: a `%` not followed by two hexadecimal digits stays.
pub fn decode(s: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            if let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn indent_of_a_target() {
        use super::indent;
        assert_eq!(indent("/core"), Some(0));
        assert_eq!(indent("/core?indent="), Some(0));
        assert_eq!(indent("/core?x=1&indent=2"), Some(2));
        assert_eq!(indent("/log/?level=1&indent=+3"), Some(3));
        assert_eq!(indent("/core?indent=80"), Some(80));
        for bad in [
            "/core?indent=81",
            "/core?indent=-1",
            "/core?indent=x",
            "/core?indent=3x",
        ] {
            assert_eq!(indent(bad), None, "{bad}");
        }
    }

    use super::*;

    fn listener(l: Option<&str>, s: Option<&str>, b: Option<&str>) -> Object {
        Object::Listener {
            listener: l.map(String::from),
            service: s.map(String::from),
            backend: b.map(String::from),
        }
    }

    #[test]
    fn targets_name_objects() {
        assert_eq!(Object::parse("/"), Some(Object::Pound));
        assert_eq!(Object::parse("/listener/"), Some(Object::Pound));
        assert_eq!(
            Object::parse("/listener/1/web/0"),
            Some(listener(Some("1"), Some("web"), Some("0")))
        );
        assert_eq!(
            Object::parse("/listener/-/0"),
            Some(listener(None, Some("0"), None))
        );
        assert_eq!(
            Object::parse("/service/static/2"),
            Some(listener(None, Some("static"), Some("2")))
        );
        assert_eq!(
            Object::parse("/session/main/web?key=10.0.0.1"),
            Some(Object::Session {
                listener: Some("main".into()),
                service: "web".into(),
                backend: None,
                key: Some(b"10.0.0.1".to_vec()),
            })
        );
        for nothing in [
            "/listener/1/2/3/4",
            "/service",
            "/session/1",
            "/other",
            "/listener//1",
        ] {
            assert_eq!(Object::parse(nothing), None, "{nothing}");
        }
    }

    #[test]
    fn targets_round_trip_with_awkward_names_and_keys() {
        let objects = [
            Object::Pound,
            listener(Some("my site"), Some("a?b"), Some("0")),
            listener(None, Some("caf\u{e9}"), None),
            listener(Some("a%20b"), None, None),
            Object::Session {
                listener: None,
                service: "web".into(),
                backend: Some("1".into()),
                key: Some(b"a&b%c# two\r\n".to_vec()),
            },
        ];
        for o in objects {
            let t = o.target();
            assert!(t.bytes().all(|b| matches!(b, 0x21..=0x7e)), "{t}");
            assert_eq!(Object::parse(&t), Some(o), "{t}");
        }
        assert_eq!(
            listener(Some("my site"), Some("a?b"), None).target(),
            "/listener/my%20site/a%3Fb"
        );
        let session = Object::Session {
            listener: Some("1".into()),
            service: "0".into(),
            backend: None,
            key: Some(b"a+b/c==?".to_vec()),
        };
        assert_eq!(session.target(), "/session/1/0?key=a+b/c==?");
    }

    #[test]
    fn only_percent_escapes_are_decoded() {
        assert_eq!(decode(b"a%20b+c%2"), b"a b+c%2");
        assert_eq!(decode(b"%zz%41%"), b"%zzA%");
    }
}
