//! Error pages from files (`ErrorFile`, the old `ErrNNN`, `Error STATUS "FILE"`): a file may
//! begin with header lines (pound 4.17), which go into the response, the rest being the
//! body.

use std::sync::Arc;

/// An error page: the fields it sets and its body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    /// `Name: value` fields from the top of the file, in file order (a repeated name keeps
    /// its last value); never `Content-Length` or `Connection`, which pound sets.
    pub headers: Vec<(String, String)>,
    pub body: Arc<[u8]>,
}

impl Page {
    /// Splits a page file as pound 4.23 does. The file begins with headers only if every
    /// line up to an empty one (or to the end) is a `Name: value` field with a token for a
    /// name; exactly one byte (`\n`, or the `\r` of `\r\n`) is taken as the empty line, and
    /// the rest is the body. Otherwise the whole file is the body.
    pub fn parse(content: &[u8]) -> Page {
        match split(content) {
            Some((headers, body)) => Page {
                headers,
                body: Arc::from(body),
            },
            None => Page {
                headers: Vec::new(),
                body: Arc::from(content),
            },
        }
    }

    /// Whether the page sets the field `name` itself.
    pub fn sets(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

/// Fields as `(name, value)`.
type Fields = Vec<(String, String)>;

fn split(content: &[u8]) -> Option<(Fields, &[u8])> {
    let mut headers: Fields = Vec::new();
    let mut p = 0;
    loop {
        match content.get(p) {
            // The empty line: one byte, as pound takes it.
            Some(b'\n' | b'\r') if !headers.is_empty() => {
                return Some((headers, &content[p + 1..]))
            }
            None if !headers.is_empty() => return Some((headers, &[])),
            _ => {}
        }
        let end = content[p..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(content.len(), |i| p + i);
        let line = &content[p..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let (name, value) = field(line)?;
        let value = value.to_string();
        if !name.eq_ignore_ascii_case("content-length") && !name.eq_ignore_ascii_case("connection")
        {
            match headers
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                Some(h) => h.1 = value,
                None => headers.push((name.to_string(), value)),
            }
        }
        p = (end + 1).min(content.len());
        if end == content.len() {
            return Some((headers, &[]));
        }
    }
}

/// A `Name: value` line with a token for a name.
fn field(line: &[u8]) -> Option<(&str, &str)> {
    let line = std::str::from_utf8(line).ok()?;
    let (name, value) = line.split_once(':')?;
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return None;
    }
    Some((name, value.trim_matches([' ', '\t'])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(content: &str) -> (Vec<(String, String)>, String) {
        let p = Page::parse(content.as_bytes());
        (p.headers, String::from_utf8_lossy(&p.body).into_owned())
    }

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// The splits pound 4.23 makes of the same files.
    #[test]
    fn splits_as_pound_does() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let table: &[Case] = &[
            ("plain error page\n", &[], "plain error page\n"),
            (
                "Content-Type: text/plain\nX-Extra: 1\n\nbody here\n",
                &[("Content-Type", "text/plain"), ("X-Extra", "1")],
                "body here\n",
            ),
            ("X-A: 1\r\n\r\nB", &[("X-A", "1")], "\nB"),
            ("X-A: 1\n\r\nB", &[("X-A", "1")], "\nB"),
            ("X-A: 1\n\rB", &[("X-A", "1")], "B"),
            ("X-A: 1\n\n\nB", &[("X-A", "1")], "\nB"),
            ("X-A:1\n\nB", &[("X-A", "1")], "B"),
            ("X-A: 1", &[("X-A", "1")], ""),
            ("X-A: 1\nX-B: 2", &[("X-A", "1"), ("X-B", "2")], ""),
            ("X-A: 1\nX-A: 2\n\nB", &[("X-A", "2")], "B"),
            (
                "Content-Length: 99\nConnection: keep-alive\nX-A: 1\n\nB",
                &[("X-A", "1")],
                "B",
            ),
            // Anything that is not a field makes the whole file the body.
            (
                "X-A: 1\nno colon line\n\nB",
                &[],
                "X-A: 1\nno colon line\n\nB",
            ),
            ("X-NoBlank: 1\nno blank", &[], "X-NoBlank: 1\nno blank"),
            ("Bad Name: 1\n\nB", &[], "Bad Name: 1\n\nB"),
            (":empty\n\nB", &[], ":empty\n\nB"),
            (" X-A: 1\n\nB", &[], " X-A: 1\n\nB"),
            ("X-A: 1\n continued\n\nB", &[], "X-A: 1\n continued\n\nB"),
            (
                "HTTP/1.1 200 OK\nX-A: 1\n\nB",
                &[],
                "HTTP/1.1 200 OK\nX-A: 1\n\nB",
            ),
            ("\nX-A: 1\n\nB", &[], "\nX-A: 1\n\nB"),
            ("<html>X-A: 1</html>", &[], "<html>X-A: 1</html>"),
        ];
        for &(content, headers, body) in table {
            assert_eq!(
                parts(content),
                (h(headers), body.to_string()),
                "{content:?}"
            );
        }
    }
}
