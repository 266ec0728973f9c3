//! POSIX bracket expressions (`[...]`), which differ from Perl classes: `]` first is literal,
//! a backslash is an ordinary character, and `[:class:]`, `[=c=]`, `[.c.]` are the only
//! nested forms.

use crate::{push_literal, Error};

/// glibc's text for a bracket expression without its `]`.
const UNMATCHED_BRACKET: &str = "Unmatched [, [^, [:, [., or [=";

/// Character classes of POSIX.1, all of which the `regex` crate knows by the same names.
const CLASSES: &[&str] = &[
    "alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space",
    "upper", "xdigit",
];

/// Translates the bracket expression whose `[` is at byte `open`; `pos` indexes the character
/// after it. Appends the Perl class to `out` and returns the index just past the closing `]`.
pub(crate) fn translate(
    chars: &[(usize, char)],
    mut pos: usize,
    open: usize,
    out: &mut String,
) -> Result<usize, Error> {
    let unterminated = || Error::at(open, UNMATCHED_BRACKET);
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    out.push('[');
    if at(pos) == Some('^') {
        out.push('^');
        pos += 1;
    }
    // glibc: a pattern that ends right after `[` or `[^` is merely invalid.
    if at(pos).is_none() {
        return Err(Error::at(open, "Invalid regular expression"));
    }
    let mut first = true;
    loop {
        let c = at(pos).ok_or_else(unterminated)?;
        if c == ']' && !first {
            out.push(']');
            return Ok(pos + 1);
        }
        first = false;
        if c == '[' && matches!(at(pos + 1), Some(':' | '=' | '.')) {
            let kind = at(pos + 1).unwrap_or(':');
            let (name, next) = delimited(chars, pos + 2, kind).ok_or_else(unterminated)?;
            let name_at = chars[pos].0;
            pos = next;
            match kind {
                ':' => {
                    if !CLASSES.contains(&name.as_str()) {
                        return Err(Error::at(name_at, "Invalid character class name"));
                    }
                    out.push_str(&format!("[:{name}:]"));
                    continue;
                }
                _ => {
                    // Equivalence classes and collating symbols: in the C locale both name a
                    // single character.
                    let mut it = name.chars();
                    match (it.next(), it.next()) {
                        (Some(single), None) => {
                            pos = range_or_single(chars, pos, single, out)?;
                            continue;
                        }
                        _ => return Err(Error::at(name_at, "Invalid collation character")),
                    }
                }
            }
        }
        pos = range_or_single(chars, pos + 1, c, out)?;
    }
}

/// Emits `c` alone, or the range `c-d` when a `-` and an end point follow.
fn range_or_single(
    chars: &[(usize, char)],
    pos: usize,
    c: char,
    out: &mut String,
) -> Result<usize, Error> {
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    if at(pos) == Some('-') && !matches!(at(pos + 1), Some(']') | None) {
        let (end, next) = match (at(pos + 1), at(pos + 2)) {
            (Some('['), Some('.' | '=')) => {
                let kind = at(pos + 2).unwrap_or('.');
                let (name, next) = delimited(chars, pos + 3, kind)
                    .ok_or_else(|| Error::at(chars[pos].0, UNMATCHED_BRACKET))?;
                let mut it = name.chars();
                match (it.next(), it.next()) {
                    (Some(single), None) => (single, next),
                    _ => return Err(Error::at(chars[pos].0, "Invalid range end")),
                }
            }
            (Some(e), _) => (e, pos + 2),
            (None, _) => unreachable!("checked above"),
        };
        if end < c {
            return Err(Error::at(chars[pos].0, "Invalid range end"));
        }
        push_literal(out, c);
        out.push('-');
        push_literal(out, end);
        return Ok(next);
    }
    push_literal(out, c);
    Ok(pos)
}

/// Reads a `[:name:]`-style body starting at `pos`, up to the two-character terminator
/// `kind` + `]`. Returns the name and the index past the terminator.
fn delimited(chars: &[(usize, char)], pos: usize, kind: char) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut i = pos;
    loop {
        let c = chars.get(i)?.1;
        if c == kind && chars.get(i + 1).map(|&(_, c)| c) == Some(']') {
            return Some((name, i + 2));
        }
        name.push(c);
        i += 1;
    }
}
