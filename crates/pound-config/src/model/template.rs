//! String expansion (pound.8, String expansion): templates such as `"/images$1%[query]"`,
//! parsed and checked when the configuration is loaded and expanded for each request.

use std::fmt;

/// How many recent matches `$N(M)` can reach: M is 0 to 7, as in pound.
pub const MATCH_HISTORY: usize = 8;

/// A parsed template: literal text, back-references and request accessors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The template as written, for messages.
    pub text: String,
    pub parts: Vec<Part>,
    /// What is wrong with the template, if anything. pound accepts such a configuration and
    /// answers 500 to each request that needs the expansion, logging this error; so does
    /// pound-rs (with a warning at load).
    pub error: Option<TemplateError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    /// `$N`, `$N(M)`, `$N(T)`, `${N}`, `${N(M)}`, and the old `%N` (group N of match 1).
    Ref {
        group: usize,
        /// 0 is the most recent successful match; [`NO_MATCH`] for a match number that can
        /// never exist (`$1(8)`).
        nth: usize,
        /// `$N(T)` (pound 4.17): the most recent match of the condition tagged `T`.
        tag: Option<String>,
        /// The reference as written, for messages.
        text: String,
    },
    Accessor(Accessor),
}

/// The `nth` of a reference to a match that never exists.
pub const NO_MATCH: usize = usize::MAX;

/// `%[name]` and `%[name ARG]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accessor {
    Url,
    Path,
    Query,
    Param(String),
    Header(String),
    Host,
    Port,
    /// `%[remoteip FWD]` (pound 4.18): the client's address (`FWD` 0), or the originator
    /// found in the forwarded header behind `TrustedIP` (else).
    RemoteIp {
        forwarded: bool,
    },
    /// `%[user]`: the user name of `Authorization: Basic` credentials, if any.
    User,
    /// `%[const NAME [ENCODING]]` (pound 4.23): a `Constant`, empty if there is none.
    Const {
        name: String,
        encoding: ConstEncoding,
    },
}

/// How `%[const NAME ENCODING]` writes the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstEncoding {
    /// `none`, or no encoding: as it is.
    None,
    /// `url`: percent-encoded (RFC 3986).
    Url,
    /// `base64`.
    Base64,
    /// Anything else: pound expands to nothing and logs the text.
    Unknown(String),
}

/// What is wrong with a template, with the byte offset pound reports for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: &'static str,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.message, self.offset)
    }
}

impl Template {
    /// A template that expands to `text` itself.
    pub fn literal(text: &str) -> Template {
        Template {
            text: text.to_string(),
            parts: vec![Part::Literal(text.to_string())],
            error: None,
        }
    }

    /// Parses `text` as pound does. `$$` and `$%` are a literal `$` and `%`; `%` followed by
    /// two hex digits is kept as written (a percent-encoded byte); a `$` or `%` at the very
    /// end is literal, and so is an accessor pound does not know (`%[nosuch]`). Any other
    /// `$` or `%` must start a reference or an accessor; when one does not, the template
    /// records the error, with the offset pound gives (see [`Template::error`]).
    pub fn parse(text: &str) -> Template {
        let b = text.as_bytes();
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        let mut error = None;
        let mut fail = |offset: usize, message: &'static str| {
            error.get_or_insert(TemplateError { offset, message });
        };
        while i < b.len() {
            let c = b[i];
            if (c != b'$' && c != b'%') || i + 1 == b.len() {
                // Copy a run of ordinary text (whole UTF-8 characters).
                let end = b[i + 1..]
                    .iter()
                    .position(|&x| x == b'$' || x == b'%')
                    .map_or(b.len(), |p| p + i + 1);
                lit.push_str(&text[i..end]);
                i = end;
                continue;
            }
            let next = b[i + 1];
            let start = i;
            if c == b'$' && (next == b'$' || next == b'%') {
                lit.push(char::from(next));
                i += 2;
                continue;
            }
            if c == b'%' && next == b'[' {
                let Some(close) = b[i..].iter().position(|&x| x == b']') else {
                    fail(start, "unclosed %[");
                    lit.push_str(&text[i..]);
                    break;
                };
                let inner = &text[i + 2..i + close];
                match parse_accessor(inner) {
                    Some(accessor) => {
                        flush(&mut lit, &mut parts);
                        parts.push(Part::Accessor(accessor));
                    }
                    None => lit.push_str(&text[i..=i + close]),
                }
                i += close + 1;
                continue;
            }
            if c == b'%'
                && next.is_ascii_hexdigit()
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
            {
                lit.push_str(&text[i..i + 3]);
                i += 3;
                continue;
            }
            // A back-reference: `$N`, `$N(M)`, `${N}`, `${N(M)}`, or `%N`, `%{N}`.
            let braced = next == b'{';
            let mut j = i + 1 + usize::from(braced);
            let digits = b[j..].iter().take_while(|x| x.is_ascii_digit()).count();
            if digits == 0 {
                // pound's words, for `$` as for `%`.
                fail(start + 1, "unescaped % character");
                lit.push(char::from(c));
                i += 1;
                continue;
            }
            let group: usize = text[j..j + digits].parse().unwrap_or(usize::MAX);
            j += digits;
            let mut nth = usize::from(c == b'%');
            let mut tag = None;
            if c == b'$' && b.get(j) == Some(&b'(') {
                // `$N(M)`, `$N(T)` or `${N(M)}`; after `${N}` a parenthesis is ordinary text.
                // A match number that is not one of 0 to 7 names a match that never exists;
                // anything but digits is a tag.
                let Some(close) = b[j..].iter().position(|&x| x == b')') else {
                    fail(
                        start + 1,
                        "missing closing parenthesis in reference started",
                    );
                    lit.push_str(&text[i..]);
                    break;
                };
                let m = &text[j + 1..j + close];
                nth = if m.is_empty() {
                    0
                } else if !m.bytes().all(|d| d.is_ascii_digit()) {
                    tag = Some(m.to_string());
                    0
                } else {
                    m.parse()
                        .ok()
                        .filter(|&m: &usize| m < MATCH_HISTORY)
                        .unwrap_or(NO_MATCH)
                };
                j += close + 1;
            }
            if braced {
                if b.get(j) != Some(&b'}') {
                    fail(start + 1, "missing closing brace in reference started");
                    lit.push_str(&text[i..]);
                    break;
                }
                j += 1;
            }
            flush(&mut lit, &mut parts);
            parts.push(Part::Ref {
                group,
                nth,
                tag,
                text: text[start..j].to_string(),
            });
            i = j;
        }
        flush(&mut lit, &mut parts);
        Template {
            text: text.to_string(),
            parts,
            error,
        }
    }

    /// Whether the template needs the originator behind trusted proxies
    /// (`%[remoteip 1]`), which is then worked out for each request.
    pub fn uses_originator(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Accessor(Accessor::RemoteIp { forwarded: true })))
    }

    /// Whether the template contains back-references.
    pub fn has_refs(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Ref { .. }))
    }

    /// Whether the template is plain text.
    pub fn is_literal(&self) -> bool {
        self.error.is_none() && self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// The tags the template refers to (`$1(T)`).
    pub fn tags(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Ref { tag: Some(t), .. } => Some(t.as_str()),
            _ => None,
        })
    }

    /// The first reference that can never be satisfied (`$1(8)`), if any.
    pub fn impossible_ref(&self) -> Option<&str> {
        self.parts.iter().find_map(|p| match p {
            Part::Ref { nth, text, .. } if *nth == NO_MATCH => Some(text.as_str()),
            _ => None,
        })
    }
}

fn flush(lit: &mut String, parts: &mut Vec<Part>) {
    if !lit.is_empty() {
        parts.push(Part::Literal(std::mem::take(lit)));
    }
}

/// The inside of `%[...]`: a name, and for `param` and `header` an argument after blanks.
fn parse_accessor(inner: &str) -> Option<Accessor> {
    let inner = inner.trim_start_matches([' ', '\t']);
    let (name, arg) = match inner.find([' ', '\t']) {
        Some(p) => (&inner[..p], inner[p..].trim_matches([' ', '\t'])),
        None => (inner, ""),
    };
    Some(match (name, arg.is_empty()) {
        ("url", true) => Accessor::Url,
        ("path", true) => Accessor::Path,
        ("query", true) => Accessor::Query,
        ("host", true) => Accessor::Host,
        ("port", true) => Accessor::Port,
        ("user", true) => Accessor::User,
        ("remoteip", false) => Accessor::RemoteIp {
            forwarded: arg != "0",
        },
        ("param", false) => Accessor::Param(arg.to_string()),
        ("const", false) => {
            let (name, encoding) = match arg.find([' ', '\t']) {
                Some(p) => (&arg[..p], arg[p..].trim_matches([' ', '\t'])),
                None => (arg, ""),
            };
            let encoding = match encoding.to_ascii_lowercase().as_str() {
                "" | "none" => ConstEncoding::None,
                "url" => ConstEncoding::Url,
                "base64" => ConstEncoding::Base64,
                _ => ConstEncoding::Unknown(encoding.to_string()),
            };
            Accessor::Const {
                name: name.to_string(),
                encoding,
            }
        }
        ("header", false) => Accessor::Header(arg.to_string()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(group: usize, nth: usize, text: &str) -> Part {
        Part::Ref {
            group,
            nth,
            tag: None,
            text: text.to_string(),
        }
    }

    fn lit(s: &str) -> Part {
        Part::Literal(s.to_string())
    }

    #[test]
    fn references_and_accessors() {
        let t = Template::parse("http://$0(1)/$2/$1$3");
        assert_eq!(t.error, None);
        assert_eq!(
            t.parts,
            vec![
                lit("http://"),
                r(0, 1, "$0(1)"),
                lit("/"),
                r(2, 0, "$2"),
                lit("/"),
                r(1, 0, "$1"),
                r(3, 0, "$3")
            ]
        );
        let t = Template::parse("${1}(text)${12(3)}");
        assert_eq!(
            t.parts,
            vec![r(1, 0, "${1}"), lit("(text)"), r(12, 3, "${12(3)}")]
        );
        let t = Template::parse("%[ header  X-Real-IP ]%[url]%[param a b]");
        assert_eq!(
            t.parts,
            vec![
                Part::Accessor(Accessor::Header("X-Real-IP".into())),
                Part::Accessor(Accessor::Url),
                Part::Accessor(Accessor::Param("a b".into())),
            ]
        );
        assert_eq!(
            Template::parse("$$5 $% 100%2F %1 %{2}y x$").parts,
            vec![
                lit("$5 % 100%2F "),
                r(1, 1, "%1"),
                lit(" "),
                r(2, 1, "%{2}"),
                lit("y x$")
            ]
        );
        assert!(Template::parse("plain é").is_literal());
        assert!(Template::parse("%[host]").parts.len() == 1);
        assert!(!Template::parse("%[host]").has_refs());
        assert!(Template::parse("a$1").has_refs());
    }

    #[test]
    fn remoteip_and_user() {
        assert_eq!(
            Template::parse("%[remoteip 0]%[remoteip 1]%[user]").parts,
            vec![
                Part::Accessor(Accessor::RemoteIp { forwarded: false }),
                Part::Accessor(Accessor::RemoteIp { forwarded: true }),
                Part::Accessor(Accessor::User),
            ]
        );
        assert!(Template::parse("%[remoteip 1]").uses_originator());
        assert!(!Template::parse("%[remoteip 0]").uses_originator());
    }

    #[test]
    fn constants() {
        let c = |name: &str, encoding| {
            Part::Accessor(Accessor::Const {
                name: name.into(),
                encoding,
            })
        };
        assert_eq!(
            Template::parse(
                "%[const a]%[const b URL]%[const  c  base64 ]%[const d none]%[const e url x]"
            )
            .parts,
            vec![
                c("a", ConstEncoding::None),
                c("b", ConstEncoding::Url),
                c("c", ConstEncoding::Base64),
                c("d", ConstEncoding::None),
                c("e", ConstEncoding::Unknown("url x".into())),
            ]
        );
    }

    /// Accessors pound does not know are copied as written, as pound does.
    #[test]
    fn unknown_accessors_are_text() {
        for text in [
            "%[nosuch]y",
            "%[header]",
            "%[url x]",
            "%[param]",
            "%[const]",
        ] {
            let t = Template::parse(text);
            assert_eq!(t.error, None, "{text}");
            assert_eq!(t.parts, vec![lit(text)]);
        }
    }

    /// Match numbers outside 0 to 7 make references that never resolve (pound: "refers to
    /// non-existing group $1(8)" at run time).
    #[test]
    fn impossible_references() {
        for (text, r) in [
            ("x$1(8)", "$1(8)"),
            ("$0(99999999999999999999)", "$0(99999999999999999999)"),
        ] {
            let t = Template::parse(text);
            assert_eq!(t.error, None, "{text}");
            assert_eq!(t.impossible_ref(), Some(r));
        }
        assert_eq!(Template::parse("$1(7)").impossible_ref(), None);
        assert_eq!(Template::parse("$1(x)").impossible_ref(), None);
    }

    #[test]
    fn tagged_references() {
        let t = Template::parse("/$3(host)/${1(type)}$1");
        assert_eq!(t.error, None);
        let tagged = |group, tag: &str, text: &str| Part::Ref {
            group,
            nth: 0,
            tag: Some(tag.to_string()),
            text: text.to_string(),
        };
        assert_eq!(
            t.parts,
            vec![
                lit("/"),
                tagged(3, "host", "$3(host)"),
                lit("/"),
                tagged(1, "type", "${1(type)}"),
                r(1, 0, "$1"),
            ]
        );
        assert_eq!(t.tags().collect::<Vec<_>>(), ["host", "type"]);
    }

    /// The errors and offsets pound 4.23 logs for the same templates.
    #[test]
    fn errors_have_pounds_offsets() {
        for (text, expected) in [
            ("http://x/%[host", "unclosed %[ at offset 9"),
            ("/x%[url", "unclosed %[ at offset 2"),
            ("http://x/$a", "unescaped % character at offset 10"),
            ("http://x/100% off", "unescaped % character at offset 13"),
            ("http://x/ab%%c", "unescaped % character at offset 12"),
            ("http://x/$$%$%", "unescaped % character at offset 12"),
            ("http://x/%A", "unescaped % character at offset 10"),
            (
                "http://x/${1",
                "missing closing brace in reference started at offset 10",
            ),
            (
                "http://x/$1(",
                "missing closing parenthesis in reference started at offset 10",
            ),
        ] {
            let t = Template::parse(text);
            assert_eq!(
                t.error.map(|e| e.to_string()).as_deref(),
                Some(expected),
                "{text}"
            );
        }
    }
}
