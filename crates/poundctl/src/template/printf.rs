//! The `printf` built-in: C's conversions as poundctl 4.23 offers them.
//!
//! Supported: flags `- + space # 0`, a width and a precision (digits or `*`), and the
//! conversions `d i u o x X f F e E g G s v` and `%%`. Anything else (`%c`, `%q`, `%ld`,
//! `%5%`) is copied to the output as written, using up an argument if one is left, and a
//! specification cut short by the end of the format is dropped: that is what the reference
//! does. Flags, widths and precisions mean what they mean to glibc's printf, which the
//! manual promises; the reference departs from it in places (it ignores `0` for floating
//! point, reads `.*` without using up the argument, prints `0` for `%.0d`), and those
//! departures are not kept. Two deliberate limits: widths and precisions above [`MAX_FIELD`] are capped, so that
//! `%999999999d` cannot ask for a gigabyte, and `%.Ns` never splits a UTF-8 character
//! (the output is a Rust `String`).

use super::value::{f64_to_i64, Val};

/// The largest width or precision honoured.
pub(crate) const MAX_FIELD: usize = 4096;

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    space: bool,
    alt: bool,
    zero: bool,
    width: usize,
    prec: Option<usize>,
}

/// Formats `args` by `fmt`.
pub(crate) fn printf(fmt: &str, args: &[Val]) -> Result<String, String> {
    let b = fmt.as_bytes();
    let mut out = String::new();
    let mut next = 0usize;
    let mut i = 0usize;
    while i < b.len() {
        let Some(off) = fmt[i..].find('%') else {
            out.push_str(&fmt[i..]);
            break;
        };
        out.push_str(&fmt[i..i + off]);
        let start = i + off;
        let mut j = start + 1;
        let mut spec = Spec::default();
        while let Some(&c) = b.get(j) {
            match c {
                b'-' => spec.minus = true,
                b'+' => spec.plus = true,
                b' ' => spec.space = true,
                b'#' => spec.alt = true,
                b'0' => spec.zero = true,
                _ => break,
            }
            j += 1;
        }
        if b.get(j) == Some(&b'*') {
            j += 1;
            let w = star(args, &mut next)?;
            if w < 0 {
                spec.minus = true;
            }
            spec.width = cap(w.unsigned_abs());
        } else {
            spec.width = digits(b, &mut j);
        }
        if b.get(j) == Some(&b'.') {
            j += 1;
            if b.get(j) == Some(&b'*') {
                j += 1;
                let p = star(args, &mut next)?;
                spec.prec = u64::try_from(p).ok().map(cap);
            } else {
                spec.prec = Some(digits(b, &mut j));
            }
        }
        // The conversion; a specification cut short by the end of the format is dropped.
        let Some(conv) = fmt[j..].chars().next() else {
            break;
        };
        let end = j + conv.len_utf8();
        i = end;
        if conv == '%' && end == start + 2 {
            out.push('%');
            continue;
        }
        if !"diuoxXfFeEgGsv".contains(conv) || conv == '%' {
            // Written as it is; it still uses up an argument if one is left.
            out.push_str(&fmt[start..end]);
            if next < args.len() {
                next += 1;
            }
            continue;
        }
        let arg = take(args, &mut next)?;
        match conv {
            'v' => arg.write_repr(&mut out),
            's' => {
                let text = arg.to_text();
                let mut t: &str = &text;
                if let Some(p) = spec.prec {
                    t = cut(t, p);
                }
                pad(&mut out, "", t, spec.width, spec.minus, false);
            }
            'd' | 'i' | 'u' | 'o' | 'x' | 'X' => {
                let v = match arg {
                    Val::Int(v) => *v,
                    Val::Num(f) => f64_to_i64(*f),
                    _ => return Err(mismatch()),
                };
                integer(&mut out, v, conv, spec);
            }
            _ => {
                let f = match arg {
                    Val::Int(v) => *v as f64,
                    Val::Num(f) => *f,
                    _ => return Err(mismatch()),
                };
                float(&mut out, f, conv, spec);
            }
        }
    }
    Ok(out)
}

fn mismatch() -> String {
    "argument type mismatch".into()
}

/// The next argument, or the reference's message naming it (counted from 0).
fn take<'v, 'a>(args: &'v [Val<'a>], next: &mut usize) -> Result<&'v Val<'a>, String> {
    let arg = args.get(*next).ok_or_else(|| {
        format!(
            "not enough arguments in call to printf: argument {} requested by format string",
            *next
        )
    })?;
    *next += 1;
    Ok(arg)
}

/// A `*` width or precision: a number argument.
fn star(args: &[Val], next: &mut usize) -> Result<i64, String> {
    match take(args, next)? {
        v @ (Val::Int(_) | Val::Num(_)) => Ok(v.to_int()),
        _ => Err(mismatch()),
    }
}

fn cap(n: u64) -> usize {
    usize::try_from(n).map_or(MAX_FIELD, |n| n.min(MAX_FIELD))
}

/// Decimal digits at `*j`, capped (and never overflowing).
fn digits(b: &[u8], j: &mut usize) -> usize {
    let mut n: usize = 0;
    while let Some(c) = b.get(*j).filter(|c| c.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(usize::from(c - b'0'));
        *j += 1;
    }
    n.min(MAX_FIELD)
}

/// At most `n` bytes of `s`, not splitting a character.
fn cut(s: &str, n: usize) -> &str {
    if n >= s.len() {
        return s;
    }
    let mut k = n;
    while !s.is_char_boundary(k) {
        k -= 1;
    }
    &s[..k]
}

/// `prefix` and `body` in a field of `width` bytes: spaces on the left, on the right
/// (`-`), or zeros between prefix and body.
fn pad(out: &mut String, prefix: &str, body: &str, width: usize, left: bool, zeros: bool) {
    let fill = width.saturating_sub(prefix.len() + body.len());
    if left {
        out.push_str(prefix);
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if zeros {
        out.push_str(prefix);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(body);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(prefix);
        out.push_str(body);
    }
}

/// `%d %i %u %o %x %X`: 64 bits, but `%x` and `%X` show the low 32, as in the reference.
fn integer(out: &mut String, v: i64, conv: char, spec: Spec) {
    let mut prefix = String::new();
    let mut body = match conv {
        'd' | 'i' => {
            if v < 0 {
                prefix.push('-');
            } else if spec.plus {
                prefix.push('+');
            } else if spec.space {
                prefix.push(' ');
            }
            v.unsigned_abs().to_string()
        }
        'u' => (v as u64).to_string(),
        'o' => format!("{:o}", v as u64),
        'x' => format!("{:x}", v as u32),
        _ => format!("{:X}", v as u32),
    };
    if let Some(p) = spec.prec {
        if p == 0 && v == 0 {
            body.clear();
        }
        if body.len() < p {
            body = "0".repeat(p - body.len()) + &body;
        }
    }
    if spec.alt {
        match conv {
            'o' if !body.starts_with('0') => body.insert(0, '0'),
            'x' if v as u32 != 0 => prefix.push_str("0x"),
            'X' if v as u32 != 0 => prefix.push_str("0X"),
            _ => {}
        }
    }
    let zeros = spec.zero && spec.prec.is_none();
    pad(out, &prefix, &body, spec.width, spec.minus, zeros);
}

/// `%f %F %e %E %g %G`, as glibc writes them.
fn float(out: &mut String, f: f64, conv: char, spec: Spec) {
    let upper = conv.is_ascii_uppercase();
    let sign = if f.is_sign_negative() {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    if !f.is_finite() {
        let body = if f.is_nan() { "nan" } else { "inf" };
        let body = if upper {
            body.to_ascii_uppercase()
        } else {
            body.into()
        };
        pad(out, sign, &body, spec.width, spec.minus, false);
        return;
    }
    let a = f.abs();
    let p = spec.prec.unwrap_or(6);
    let body = match conv.to_ascii_lowercase() {
        'f' => fixed(a, p, spec.alt),
        'e' => exponent(a, p, spec.alt, upper),
        _ => shortest(a, p, spec.alt, upper),
    };
    pad(out, sign, &body, spec.width, spec.minus, spec.zero);
}

fn fixed(a: f64, p: usize, alt: bool) -> String {
    let mut s = format!("{a:.p$}");
    if alt && p == 0 {
        s.push('.');
    }
    s
}

/// `d.ddde+XX`.
fn exponent(a: f64, p: usize, alt: bool, upper: bool) -> String {
    let s = format!("{a:.p$e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut r = mant.to_string();
    if alt && p == 0 {
        r.push('.');
    }
    r.push(if upper { 'E' } else { 'e' });
    r.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        r.push('0');
    }
    r.push_str(&e.to_string());
    r
}

/// `%g`: fixed or exponent form by the exponent, trailing zeros removed unless `#`.
fn shortest(a: f64, p: usize, alt: bool, upper: bool) -> String {
    let p = p.max(1);
    let x: i64 = if a == 0.0 {
        0
    } else {
        let s = format!("{a:.prec$e}", prec = p - 1);
        s.split_once('e')
            .and_then(|(_, e)| e.parse().ok())
            .unwrap_or(0)
    };
    let p_i = i64::try_from(p).unwrap_or(i64::MAX);
    let mut s = if x < p_i && x >= -4 {
        let prec = usize::try_from(p_i - 1 - x).unwrap_or(0);
        fixed(a, prec, alt)
    } else {
        exponent(a, p - 1, alt, upper)
    };
    if !alt {
        let (mant, tail) = match s.find(['e', 'E']) {
            Some(k) => (s[..k].to_string(), s[k..].to_string()),
            None => (s.clone(), String::new()),
        };
        if mant.contains('.') {
            let m = mant.trim_end_matches('0').trim_end_matches('.');
            s = format!("{m}{tail}");
        }
    }
    s
}

/// A number as `%g` writes it: the text poundctl makes of a number for `%s` and `len`.
pub(crate) fn general(f: f64) -> String {
    let mut s = String::new();
    float(&mut s, f, 'g', Spec::default());
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn pf(fmt: &str, args: &[Val]) -> String {
        printf(fmt, args).unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn c_float_forms() {
        assert_eq!(general(1.5), "1.5");
        assert_eq!(general(1e20), "1e+20");
        assert_eq!(general(1234567.0), "1.23457e+06");
        assert_eq!(general(0.0001), "0.0001");
        assert_eq!(general(0.00001), "1e-05");
        assert_eq!(general(100000.0), "100000");
        assert_eq!(general(-0.0), "-0");
        assert_eq!(general(0.3), "0.3");
        assert_eq!(
            pf(
                "%.3g|%#g|%G",
                &[Val::Num(1.5), Val::Num(1.5), Val::Num(1e-10)]
            ),
            "1.5|1.50000|1E-10"
        );
        assert_eq!(
            pf(
                "%.0e|%#.0e|%#.0f",
                &[Val::Num(1.5), Val::Num(1.5), Val::Num(1.5)]
            ),
            "2e+00|2.e+00|2."
        );
        assert_eq!(pf("%e", &[Val::Num(1e-300)]), "1.000000e-300");
        assert_eq!(
            pf("%08.2f|%-8.1e|", &[Val::Num(-1.5), Val::Num(12345.0)]),
            "-0001.50|1.2e+04 |"
        );
    }

    #[test]
    fn huge_fields_are_capped() {
        let s = pf("%999999999d", &[Val::Int(1)]);
        assert_eq!(s.len(), MAX_FIELD);
        let s = pf("%.99999999999999999999999f", &[Val::Num(1.0)]);
        assert_eq!(s.len(), MAX_FIELD + 2);
        let s = pf("%*d", &[Val::Int(i64::MIN), Val::Int(1)]);
        assert_eq!(s.len(), MAX_FIELD);
        assert_eq!(
            pf("%.*s|", &[Val::Int(-1), Val::Str(Cow::Borrowed("ab"))]),
            "ab|"
        );
    }

    #[test]
    fn never_splits_a_character() {
        assert_eq!(pf("%.1s|", &[Val::Str(Cow::Borrowed("é"))]), "|");
        assert_eq!(pf("%5s|", &[Val::Str(Cow::Borrowed("é"))]), "   é|");
        assert_eq!(pf("%é %", &[]), "%é ");
    }
}
