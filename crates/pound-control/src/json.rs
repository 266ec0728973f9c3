//! The control API's JSON text, laid out as pound writes it (and poundctl `-j` prints it):
//! object members sorted by name, items separated by `, ` on one line, or with an indent
//! (`?indent=N` on a request, `poundctl -i N`) every item on its own line indented by N
//! spaces per level, `"name": value`. Scripts and eyes used to that layout see the same
//! here. Control characters in strings are escaped so that the text is always valid JSON.

use serde_json::Value;

/// The largest indent pound accepts in `?indent=N`.
pub const MAX_INDENT: usize = 80;

/// `value` as text, indented by `indent` spaces per level (0: one line).
pub fn format(value: &Value, indent: usize) -> String {
    let mut out = String::new();
    write_value(&mut out, value, indent, 1);
    out
}

fn write_value(out: &mut String, value: &Value, indent: usize, level: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            let items: Vec<&Value> = items.iter().collect();
            write_items(out, ('[', ']'), &items, indent, level, |out, v, level| {
                write_value(out, v, indent, level)
            });
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            write_items(
                out,
                ('{', '}'),
                &members,
                indent,
                level,
                |out, (k, v), level| {
                    write_string(out, k);
                    out.push(':');
                    if indent > 0 {
                        out.push(' ');
                    }
                    write_value(out, v, indent, level);
                },
            );
        }
    }
}

/// The common shape of arrays and objects: brackets, separators and indentation.
fn write_items<T: Copy>(
    out: &mut String,
    (open, close): (char, char),
    items: &[T],
    indent: usize,
    level: usize,
    mut write_item: impl FnMut(&mut String, T, usize),
) {
    out.push(open);
    if !items.is_empty() {
        if indent > 0 {
            out.push('\n');
        }
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
                if indent == 0 {
                    out.push(' ');
                }
            }
            if indent > 0 {
                if i > 0 {
                    out.push('\n');
                }
                push_spaces(out, level * indent);
            }
            write_item(out, *item, level + 1);
        }
        if indent > 0 {
            out.push('\n');
            push_spaces(out, (level - 1) * indent);
        }
    }
    out.push(close);
}

fn push_spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_line_sorted() {
        let v = json!({"b": [1, 2, {"y": null, "x": true}], "a": "s/t", "c": {}, "d": []});
        assert_eq!(
            format(&v, 0),
            "{\"a\":\"s/t\", \"b\":[1, 2, {\"x\":true, \"y\":null}], \"c\":{}, \"d\":[]}"
        );
        assert_eq!(format(&json!(true), 0), "true");
        assert_eq!(format(&json!(-3), 0), "-3");
    }

    #[test]
    fn indented() {
        let v = json!({"b": [1, {"x": false}], "a": {}});
        assert_eq!(
            format(&v, 2),
            "{\n  \"a\": {},\n  \"b\": [\n    1,\n    {\n      \"x\": false\n    }\n  ]\n}"
        );
        assert_eq!(format(&json!([]), 4), "[]");
    }

    #[test]
    fn escapes() {
        let v = json!("q\"b\\n\n\t\u{1}é");
        assert_eq!(format(&v, 0), "\"q\\\"b\\\\n\\n\\t\\u0001é\"");
        // The output is JSON that reads back to the same value.
        let back: Value = serde_json::from_str(&format(&v, 0)).unwrap_or(Value::Null);
        assert_eq!(back, v);
    }
}
