//! Object addresses (`/L/S/B`) and the request targets they become.
//!
//! poundctl names a listener, service or backend as `/L`, `/L/S` or `/L/S/B`: each part is a
//! 0-based index, listeners and services may also be given by name, and `-` in place of `L`
//! means the global services (control-api.md, "Addressing objects"). The address is checked
//! here, before anything is sent, so that a typo gets a precise message instead of whatever
//! the server makes of a malformed path.
//!
//! Names and session keys are sent as given, like the original poundctl does, except for
//! the bytes that cannot appear in an HTTP request line (space, control characters,
//! non-ASCII), which are percent-encoded so that the request stays well-formed: the
//! request targets are `pound-control`'s, which pound's control server reads.

use pound_control::Object;

/// A listener or service: by position or by the name given in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ident {
    Index(u32),
    Name(String),
}

/// The first part of an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `-`: the services defined outside any listener.
    Global,
    Listener(Ident),
}

/// A parsed `/L[/S[/B]]`. A backend is only ever given with its service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub scope: Scope,
    pub service: Option<Ident>,
    pub backend: Option<u32>,
}

impl Address {
    /// Parses `/L`, `/L/S` or `/L/S/B`. The error is the text to print after `poundctl: `.
    pub fn parse(text: &str) -> Result<Address, String> {
        let bad = |why: &str| format!("bad address {text}: {why}");
        let Some(rest) = text.strip_prefix('/') else {
            return Err(bad("should start with a / (for example /0/1/2)"));
        };
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() > 3 {
            return Err(bad("too many parts (at most /LISTENER/SERVICE/BACKEND)"));
        }
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad("empty part"));
        }
        let scope = match parts[0] {
            "-" => Scope::Global,
            p => Scope::Listener(ident(p).map_err(|e| bad(&e))?),
        };
        let service = match parts.get(1) {
            None => None,
            Some(&"-") => {
                return Err(bad(
                    "'-' stands for the global services only in place of the listener",
                ))
            }
            Some(p) => Some(ident(p).map_err(|e| bad(&e))?),
        };
        let backend = match parts.get(2) {
            None => None,
            Some(p) => match ident(p).map_err(|e| bad(&e))? {
                Ident::Index(n) => Some(n),
                Ident::Name(_) => return Err(bad("the backend must be given by its number")),
            },
        };
        Ok(Address {
            scope,
            service,
            backend,
        })
    }

    /// How many parts the address has: 1 (listener), 2 (service) or 3 (backend).
    pub fn depth(&self) -> usize {
        1 + usize::from(self.service.is_some()) + usize::from(self.backend.is_some())
    }

    /// The object the address names, for a listing, enabling or disabling.
    pub fn object(&self) -> Object {
        Object::Listener {
            listener: self.listener(),
            service: self.service.as_ref().map(Ident::text),
            backend: self.backend.map(|n| n.to_string()),
        }
    }

    /// The session `key` of the service (and backend) the address names. Only addresses
    /// with a service name sessions (the commands check it).
    pub fn session(&self, key: &str) -> Object {
        Object::Session {
            listener: self.listener(),
            service: self.service.as_ref().map(Ident::text).unwrap_or_default(),
            backend: self.backend.map(|n| n.to_string()),
            key: Some(key.as_bytes().to_vec()),
        }
    }

    fn listener(&self) -> Option<String> {
        match &self.scope {
            Scope::Global => None,
            Scope::Listener(id) => Some(id.text()),
        }
    }
}

impl Ident {
    /// As the control protocol names it: the index in decimal, or the name.
    fn text(&self) -> String {
        match self {
            Ident::Index(n) => n.to_string(),
            Ident::Name(name) => name.clone(),
        }
    }
}

/// A part that is all digits is an index; anything else is a name.
fn ident(part: &str) -> Result<Ident, String> {
    if part.bytes().all(|b| b.is_ascii_digit()) {
        part.parse::<u32>()
            .map(Ident::Index)
            .map_err(|_| format!("{part} is out of range"))
    } else {
        Ok(Ident::Name(part.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Address {
        match Address::parse(s) {
            Ok(a) => a,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn indexes() {
        let a = parse("/1/0/2");
        assert_eq!(a.scope, Scope::Listener(Ident::Index(1)));
        assert_eq!(a.service, Some(Ident::Index(0)));
        assert_eq!(a.backend, Some(2));
        assert_eq!(a.depth(), 3);
        assert_eq!(a.object().target(), "/listener/1/0/2");
        assert_eq!(parse("/0").depth(), 1);
        assert_eq!(parse("/0").object().target(), "/listener/0");
        assert_eq!(parse("/007/01").object().target(), "/listener/7/1");
    }

    #[test]
    fn names_and_global_scope() {
        let a = parse("/main/web");
        assert_eq!(a.scope, Scope::Listener(Ident::Name("main".into())));
        assert_eq!(a.service, Some(Ident::Name("web".into())));
        assert_eq!(a.object().target(), "/listener/main/web");
        let a = parse("/-/1/0");
        assert_eq!(a.scope, Scope::Global);
        assert_eq!(a.object().target(), "/listener/-/1/0");
        assert_eq!(parse("/-").object().target(), "/listener/-");
        assert_eq!(parse("/-/static").object().target(), "/listener/-/static");
    }

    #[test]
    fn awkward_names_are_encoded() {
        assert_eq!(
            parse("/my site/a?b").object().target(),
            "/listener/my%20site/a%3Fb"
        );
        assert_eq!(parse("/caf\u{e9}").object().target(), "/listener/caf%C3%A9");
        // A name holding `%` is sent so that pound's decoding gives it back.
        assert_eq!(parse("/a%20b").object().target(), "/listener/a%2520b");
    }

    #[test]
    fn keys() {
        let key_query = |key: &str| {
            let t = parse("/1/0").session(key).target();
            t.strip_prefix("/session/1/0")
                .map(String::from)
                .unwrap_or(t)
        };
        assert_eq!(key_query("abc"), "?key=abc");
        assert_eq!(key_query("192.0.2.1"), "?key=192.0.2.1");
        assert_eq!(key_query("2001:db8::1"), "?key=2001:db8::1");
        assert_eq!(key_query("a+b/c=="), "?key=a+b/c==");
        assert_eq!(key_query("a?b"), "?key=a?b");
        assert_eq!(key_query("a&b%c#"), "?key=a%26b%25c%23");
        assert_eq!(key_query("two words\r\n"), "?key=two%20words%0D%0A");
    }

    #[test]
    fn errors() {
        for (text, why) in [
            ("1/2", "should start with a / (for example /0/1/2)"),
            ("", "should start with a / (for example /0/1/2)"),
            ("/", "empty part"),
            ("/1//2", "empty part"),
            ("/1/", "empty part"),
            (
                "/1/2/3/4",
                "too many parts (at most /LISTENER/SERVICE/BACKEND)",
            ),
            ("/1/2/x", "the backend must be given by its number"),
            (
                "/1/-",
                "'-' stands for the global services only in place of the listener",
            ),
            ("/99999999999", "99999999999 is out of range"),
        ] {
            assert_eq!(
                Address::parse(text),
                Err(format!("bad address {text}: {why}")),
                "{text}"
            );
        }
    }
}
