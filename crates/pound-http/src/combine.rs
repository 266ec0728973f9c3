//! `CombineHeaders`: the fields of a listed name become one field holding every element of
//! their comma-separated lists (RFC 9110, section 5.3), as pound does it.
//!
//! The combined field takes the place and the name spelling of the first occurrence. Each
//! element is trimmed of white space and empty elements are dropped, so `a`, `b ,c` and
//! `d,,` make `a, b, c, d`; commas inside a quoted string do not split it. A single
//! occurrence is normalised the same way, so that a backend (and `%{Name}i` in the log)
//! always sees one form.

use super::head::Head;

/// Combines, in `head`, the fields named in `names` (compared without regard to case).
/// Costs nothing when `names` is empty.
pub fn combine(head: &mut Head, names: &[Box<str>]) {
    for name in names {
        combine_one(head, name);
    }
}

fn combine_one(head: &mut Head, name: &str) {
    let Some(first) = head.position(name) else {
        return;
    };
    let mut value = Vec::new();
    for i in head.find(name) {
        for element in elements(head.value(i)) {
            if !value.is_empty() {
                value.extend_from_slice(b", ");
            }
            value.extend_from_slice(element);
        }
    }
    head.set_value(first, &value);
    // The other occurrences go; the first keeps its place.
    let buf = &head.buf;
    let mut index = 0;
    head.fields.retain(|f| {
        let keep = index <= first || !buf[f.name.range()].eq_ignore_ascii_case(name.as_bytes());
        index += 1;
        keep
    });
}

/// The non-empty, trimmed elements of a comma-separated field value; a comma inside a
/// quoted string (with `\` escapes) does not end an element.
fn elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = value;
    std::iter::from_fn(move || loop {
        if rest.is_empty() {
            return None;
        }
        let mut quoted = false;
        let mut escaped = false;
        let mut end = rest.len();
        for (i, &b) in rest.iter().enumerate() {
            if escaped {
                escaped = false;
            } else if quoted && b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                quoted = !quoted;
            } else if b == b',' && !quoted {
                end = i;
                break;
            }
        }
        let element = super::trim(&rest[..end]);
        rest = rest.get(end + 1..).unwrap_or(&[]);
        if !element.is_empty() {
            return Some(element);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(fields: &[(&str, &str)], names: &[&str]) -> String {
        let mut h = Head::default();
        for (n, v) in fields {
            h.push(n, v.as_bytes());
        }
        let names: Vec<Box<str>> = names.iter().map(|n| (*n).into()).collect();
        combine(&mut h, &names);
        let mut out = Vec::new();
        h.write_fields(&mut out, |_| true);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn joins_in_place_of_the_first() {
        assert_eq!(
            run(
                &[
                    ("Host", "a"),
                    ("X-Foo", "a"),
                    ("Accept", "x"),
                    ("x-foo", "b ,c"),
                    ("X-Foo", ""),
                    ("X-Foo", "  d  "),
                ],
                &["X-Foo"],
            ),
            "Host: a\r\nX-Foo: a, b, c, d\r\nAccept: x\r\n"
        );
    }

    #[test]
    fn a_single_field_is_normalised() {
        assert_eq!(run(&[("Via", "1 ,, 2,")], &["via"]), "Via: 1, 2\r\n");
        assert_eq!(run(&[("Via", ""), ("Via", "")], &["Via"]), "Via: \r\n");
    }

    #[test]
    fn quoted_commas_do_not_split() {
        assert_eq!(
            run(
                &[("Accept", r#""a, b",,  c	, "#), ("Accept", r#" "x\", y" "#)],
                &["Accept"]
            ),
            "Accept: \"a, b\", c, \"x\\\", y\"\r\n"
        );
    }

    #[test]
    fn other_fields_and_absent_names_are_untouched() {
        assert_eq!(
            run(&[("A", "1 ,2"), ("A", "3")], &["B"]),
            "A: 1 ,2\r\nA: 3\r\n"
        );
    }
}
