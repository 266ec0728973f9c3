//! The values a template computes with, and how they turn into text.
//!
//! pound's poundctl keeps every JSON number as a C `double` ("number") and every numeric
//! literal of the template as a C `long` ("integer"); `typeof` tells them apart and they
//! print differently, so both kinds are kept here. The conversions between kinds
//! (`to_int`, `to_text`) reproduce what poundctl 4.23 does, facts recorded in the tests.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::printf;

/// A value during execution: borrowed from the reply or the template when it can be.
#[derive(Debug, Clone)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    /// A template literal, `len`, or a `range` index.
    Int(i64),
    /// A JSON number, or the result of arithmetic.
    Num(f64),
    Str(Cow<'a, str>),
    Arr(&'a [Value]),
    Obj(&'a Map<String, Value>),
}

impl<'a> Val<'a> {
    /// A member of the reply as a value; every JSON number is a "number".
    pub fn from_json(v: &'a Value) -> Val<'a> {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => Val::Num(n.as_f64().unwrap_or(0.0)),
            Value::String(s) => Val::Str(Cow::Borrowed(s)),
            Value::Array(a) => Val::Arr(a),
            Value::Object(o) => Val::Obj(o),
        }
    }

    /// The name `typeof` gives, also used in comparison errors.
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Bool(_) => "bool",
            Val::Int(_) => "integer",
            Val::Num(_) => "number",
            Val::Str(_) => "string",
            Val::Arr(_) => "array",
            Val::Obj(_) => "object",
        }
    }

    /// Emptiness as `if`, `with`, `and`, `or` and `not` see it.
    pub fn truthy(&self) -> bool {
        match self {
            Val::Null => false,
            Val::Bool(b) => *b,
            Val::Int(i) => *i != 0,
            // NaN is not zero, so it is true (as in the reference).
            Val::Num(f) => *f != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::Arr(a) => !a.is_empty(),
            Val::Obj(o) => !o.is_empty(),
        }
    }

    /// The integer poundctl makes of a value for `index`, `even`, comparisons with an
    /// integer and `*` widths: numbers truncate, strings must be wholly a decimal number
    /// (else 0), booleans are 0 or 1, arrays and objects their length.
    pub fn to_int(&self) -> i64 {
        match self {
            Val::Null => 0,
            Val::Bool(b) => i64::from(*b),
            Val::Int(i) => *i,
            Val::Num(f) => f64_to_i64(*f),
            Val::Str(s) => parse_long(s),
            Val::Arr(a) => len_i64(a.len()),
            Val::Obj(o) => len_i64(o.len()),
        }
    }

    /// The text poundctl makes of a value for `%s`, `len` and object keys in `index`:
    /// numbers as `%g`, `false` and null as nothing, arrays and objects as their length.
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            Val::Null | Val::Bool(false) => Cow::Borrowed(""),
            Val::Bool(true) => Cow::Borrowed("true"),
            Val::Int(i) => Cow::Owned(i.to_string()),
            Val::Num(f) => Cow::Owned(printf::general(*f)),
            Val::Str(s) => Cow::Borrowed(s),
            Val::Arr(a) => Cow::Owned(a.len().to_string()),
            Val::Obj(o) => Cow::Owned(o.len().to_string()),
        }
    }

    /// `len`: bytes of a string, items of an array or object, else the length of the text.
    pub fn len(&self) -> i64 {
        match self {
            Val::Str(s) => len_i64(s.len()),
            Val::Arr(a) => len_i64(a.len()),
            Val::Obj(o) => len_i64(o.len()),
            other => len_i64(other.to_text().len()),
        }
    }

    /// What `{{PIPELINE}}` prints: strings bare, null as nothing, the rest as `%v` does.
    pub fn write_plain(&self, out: &mut String) {
        match self {
            Val::Null => {}
            Val::Str(s) => out.push_str(s),
            other => other.write_repr(out),
        }
    }

    /// What `%v` prints, and how members of arrays and objects print: JSON-like, with
    /// members sorted by name and `, ` between items.
    pub fn write_repr(&self, out: &mut String) {
        match self {
            Val::Null => out.push_str("null"),
            Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Val::Int(i) => out.push_str(&i.to_string()),
            Val::Num(f) => out.push_str(&number(*f)),
            Val::Str(s) => quote(out, s),
            Val::Arr(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    Val::from_json(v).write_repr(out);
                }
                out.push(']');
            }
            Val::Obj(o) => {
                out.push('{');
                for (i, (k, v)) in sorted(o).into_iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    quote(out, k);
                    out.push(':');
                    Val::from_json(v).write_repr(out);
                }
                out.push('}');
            }
        }
    }

    /// The value as `%v` shows it, for messages.
    pub fn repr(&self) -> String {
        let mut s = String::new();
        self.write_repr(&mut s);
        s
    }
}

/// An object's members in key order, whatever order the map keeps them in.
pub(crate) fn sorted(o: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut members: Vec<(&String, &Value)> = o.iter().collect();
    members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    members
}

fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// C's `(long) d` as x86-64 computes it: truncation, and the "integer indefinite"
/// value `LONG_MIN` for NaN and out-of-range values (poundctl prints that for `{{1e20}}`).
pub(crate) fn f64_to_i64(f: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if f.is_nan() || !(-LIMIT..LIMIT).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// A string as poundctl reads an integer from it: optional leading white space and sign,
/// then decimal digits to the very end; anything else, or overflow, is 0.
fn parse_long(s: &str) -> i64 {
    let t = s.trim_start_matches(is_c_space);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    let mut n: i64 = 0;
    for b in digits.bytes() {
        let d = i64::from(b - b'0');
        let next = n.checked_mul(10).and_then(|n| {
            if neg {
                n.checked_sub(d)
            } else {
                n.checked_add(d)
            }
        });
        match next {
            Some(v) => n = v,
            None => return 0,
        }
    }
    n
}

/// C's `isspace` in the "C" locale.
pub(crate) fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

/// A number as poundctl prints it: `%.0f` (rounding half to even), at most 127 bytes (its
/// buffer's size), `inf`, and `-nan` for the NaN that x86 division produces.
pub(crate) fn number(f: f64) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf" } else { "inf" }.into();
    }
    let mut s = format!("{f:.0}");
    s.truncate(127);
    s
}

/// A string in double quotes, with `"`, `\` and the C escapes `\b \f \n \r \t`; other
/// bytes, control characters included, go out as they are (as in the reference).
fn quote(out: &mut String, s: &str) {
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
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Which comparison a built-in asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// `eq`, `ne`, `lt`, `le`, `gt`, `ge`: numbers with numbers (as integers when either is
/// an integer), strings with strings (bytewise). The manual defines no more; the
/// reference also compares booleans with booleans and null with null, and finds them all
/// equal, which is kept.
pub(crate) fn compare(op: Cmp, a: &Val, b: &Val) -> Result<bool, String> {
    let order = match (a, b) {
        (Val::Num(x), Val::Num(y)) => {
            // A three-way test as the reference does: NaN compares equal.
            if x < y {
                Ordering::Less
            } else if x > y {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        (Val::Int(_) | Val::Num(_), Val::Int(_) | Val::Num(_)) => a.to_int().cmp(&b.to_int()),
        (Val::Str(x), Val::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
        // The reference finds any two booleans (or nulls) equal: `eq true false` is true.
        (Val::Bool(_), Val::Bool(_)) | (Val::Null, Val::Null) => Ordering::Equal,
        _ => {
            return Err(format!(
                "{} and {} are not comparable",
                a.type_name(),
                b.type_name()
            ))
        }
    };
    Ok(match op {
        Cmp::Eq => order == Ordering::Equal,
        Cmp::Ne => order != Ordering::Equal,
        Cmp::Lt => order == Ordering::Less,
        Cmp::Le => order != Ordering::Greater,
        Cmp::Gt => order == Ordering::Greater,
        Cmp::Ge => order != Ordering::Less,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(f64_to_i64(1.9), 1);
        assert_eq!(f64_to_i64(-2.5), -2);
        assert_eq!(f64_to_i64(1e20), i64::MIN);
        assert_eq!(f64_to_i64(f64::NAN), i64::MIN);
        assert_eq!(parse_long(" 12"), 12);
        assert_eq!(parse_long("+2"), 2);
        assert_eq!(parse_long("-7"), -7);
        assert_eq!(parse_long("4 "), 0);
        assert_eq!(parse_long("1abc"), 0);
        assert_eq!(parse_long("99999999999999999999"), 0);
        assert_eq!(parse_long("-9223372036854775808"), i64::MIN);
        assert_eq!(parse_long(""), 0);
        assert_eq!(parse_long("-"), 0);
    }

    #[test]
    fn numbers_print_like_the_reference() {
        assert_eq!(number(2.5), "2");
        assert_eq!(number(3.5), "4");
        assert_eq!(number(-0.0), "-0");
        assert_eq!(number(1e300).len(), 127);
        assert_eq!(number(-f64::NAN), "-nan");
        assert_eq!(number(f64::NEG_INFINITY), "-inf");
    }
}
