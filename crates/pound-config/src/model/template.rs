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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    /// `$N`, `$N(M)`, `${N}`, `${N(M)}`, and the old `%N` (group N of match 1).
    Ref {
        group: usize,
        /// 0 is the most recent successful match.
        nth: usize,
        /// The reference as written, for messages.
        text: String,
    },
    Accessor(Accessor),
}

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
}

/// Why a template was refused, with the byte offset of the offending construct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
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
        }
    }

    /// Parses `text`. `$$` and `$%` are a literal `$` and `%`; `%` followed by two hex
    /// digits is kept as written (a percent-encoded byte); a `$` or `%` at the very end is
    /// literal. Any other `$` or `%` must start a reference or an accessor.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let b = text.as_bytes();
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        let err = |offset: usize, message: &str| TemplateError {
            offset,
            message: message.to_string(),
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
                let close = b[i..]
                    .iter()
                    .position(|&x| x == b']')
                    .ok_or_else(|| err(start, "unclosed %["))?;
                let inner = &text[i + 2..i + close];
                let accessor = parse_accessor(inner)
                    .ok_or_else(|| err(start, &format!("unknown request accessor %[{inner}]")))?;
                flush(&mut lit, &mut parts);
                parts.push(Part::Accessor(accessor));
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
                let what = if c == b'$' {
                    "'$' must start a reference ($N, ${N}), $$ or $%"
                } else {
                    "stray '%': use %[accessor], a reference, or $% for a literal percent sign"
                };
                return Err(err(start, what));
            }
            let group: usize = text[j..j + digits]
                .parse()
                .map_err(|_| err(start, "group number too large"))?;
            j += digits;
            let mut nth = usize::from(c == b'%');
            let paren_allowed = c == b'$';
            if paren_allowed && b.get(j) == Some(&b'(') {
                // `$N(M)` or `${N(M)}`; after `${N}` a parenthesis is ordinary text.
                let m_digits = b[j + 1..].iter().take_while(|x| x.is_ascii_digit()).count();
                if b.get(j + 1 + m_digits) != Some(&b')') {
                    return Err(err(start, "missing closing parenthesis in reference"));
                }
                nth = if m_digits == 0 {
                    0
                } else {
                    text[j + 1..j + 1 + m_digits]
                        .parse()
                        .ok()
                        .filter(|&m: &usize| m < MATCH_HISTORY)
                        .ok_or_else(|| err(start, "match number out of range (0 to 7)"))?
                };
                j += m_digits + 2;
            }
            if braced {
                if b.get(j) != Some(&b'}') {
                    return Err(err(start, "missing closing brace in reference"));
                }
                j += 1;
            }
            flush(&mut lit, &mut parts);
            parts.push(Part::Ref {
                group,
                nth,
                text: text[start..j].to_string(),
            });
            i = j;
        }
        flush(&mut lit, &mut parts);
        Ok(Template {
            text: text.to_string(),
            parts,
        })
    }

    /// Whether the template contains back-references.
    pub fn has_refs(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Ref { .. }))
    }

    /// Whether the template is plain text.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
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
        ("param", false) => Accessor::Param(arg.to_string()),
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
            text: text.to_string(),
        }
    }

    fn lit(s: &str) -> Part {
        Part::Literal(s.to_string())
    }

    #[test]
    fn references_and_accessors() {
        let t = Template::parse("http://$0(1)/$2/$1$3").unwrap();
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
        let t = Template::parse("${1}(text)${12(3)}").unwrap();
        assert_eq!(
            t.parts,
            vec![r(1, 0, "${1}"), lit("(text)"), r(12, 3, "${12(3)}")]
        );
        let t = Template::parse("%[ header  X-Real-IP ]%[url]%[param a b]").unwrap();
        assert_eq!(
            t.parts,
            vec![
                Part::Accessor(Accessor::Header("X-Real-IP".into())),
                Part::Accessor(Accessor::Url),
                Part::Accessor(Accessor::Param("a b".into())),
            ]
        );
        assert_eq!(
            Template::parse("$$5 $% 100%2F %1 %{2}y x$").unwrap().parts,
            vec![
                lit("$5 % 100%2F "),
                r(1, 1, "%1"),
                lit(" "),
                r(2, 1, "%{2}"),
                lit("y x$")
            ]
        );
        assert!(Template::parse("plain é").unwrap().is_literal());
        assert!(Template::parse("%[host]").unwrap().parts.len() == 1);
        assert!(!Template::parse("%[host]").unwrap().has_refs());
        assert!(Template::parse("a$1").unwrap().has_refs());
    }

    #[test]
    fn errors_name_the_offset() {
        for (text, offset, message) in [
            ("/x%[url", 2, "unclosed %["),
            ("%[nosuch]", 0, "unknown request accessor"),
            ("%[header]", 0, "unknown request accessor"),
            ("%[url x]", 0, "unknown request accessor"),
            ("a${1", 1, "missing closing brace"),
            ("a$1(2", 1, "missing closing parenthesis"),
            ("a$1(x)", 1, "missing closing parenthesis"),
            ("ab%%", 2, "stray '%'"),
            ("100% off", 3, "stray '%'"),
            ("$a", 0, "'$' must start"),
            ("x$1(8)", 1, "match number out of range"),
            ("x$0(18446744073709551615)", 1, "match number out of range"),
        ] {
            let e = Template::parse(text).expect_err(text);
            assert_eq!(e.offset, offset, "{text}");
            assert!(e.message.starts_with(message), "{text}: {}", e.message);
        }
    }
}
