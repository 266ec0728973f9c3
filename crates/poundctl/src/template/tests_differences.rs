//! Where this implementation departs from poundctl 4.23 on purpose. Each case gives what
//! we do; the comment says what the reference does (recorded from poundctl 4.23 with the
//! same reply and a template file named `case.tmpl`).

use super::tests::{check_bodies, check_files, E, J};

/// The reference crashes (SIGSEGV or a failed assertion); we report an error.
#[test]
fn crashes_become_errors() {
    check_bodies(&[
        // SIGSEGV for all three.
        ("{{and}}", E, "", "not enough arguments for and", 1),
        ("{{or}}", E, "", "not enough arguments for or", 1),
        ("{{index}}", E, "", "not enough arguments for index", 1),
        // SIGSEGV when the first argument is missing (the second gives this message).
        (
            "{{printf \"%d\"}}",
            E,
            "",
            "not enough arguments in call to printf: argument 0 requested by format string",
            1,
        ),
        (
            "{{printf \"%d\" | len}}",
            E,
            "",
            "not enough arguments in call to printf: argument 0 requested by format string",
            1,
        ),
        // "Assertion `n > 0' failed": positional arguments are not supported; the
        // specification is written out as an unknown conversion is.
        ("{{printf \"%1$d\" 7}}", E, "%1$d", "", 0),
        // "Assertion `inp->ready == 0' failed" for an open comment.
        (
            "{{/*/ .i}}",
            E,
            "",
            "case.tmpl:1:37: Unexpected end of file",
            1,
        ),
    ]);
    check_files(&[
        // "Assertion `inp->ready == 0' failed" for a string open at the end.
        (
            "{{define \"default\"}}{{\"abc",
            E,
            "",
            "case.tmpl:1:26: Unexpected end of file",
            1,
        ),
        // SIGSEGV (endless recursion): "t" calls itself once redefined.
        (
            "{{define \"t\"}}x{{end}}{{define \"t\"}}{{template \"t\" .}}{{end}}\
             {{define \"default\"}}{{template \"t\" .}}{{end}}",
            E,
            "",
            "template nesting too deep (more than 200)",
            1,
        ),
    ]);
}

/// The reference contradicts the manual; we follow the manual.
#[test]
fn manual_over_reference() {
    check_bodies(&[
        // "ACACAC": the reference's {{continue}} only leaves the {{if}}.
        (
            "{{range .a}}{{if 1}}A{{continue}}B{{end}}C{{end}}",
            J,
            "AAA",
            "",
            0,
        ),
        (
            "{{range .a}}{{with 1}}A{{continue}}B{{end}}C{{end}}",
            J,
            "AAA",
            "",
            0,
        ),
    ]);
    check_files(&[
        // "case.tmpl:1:68: Unexpected token": the reference wants a value.
        (
            "{{define \"t\"}}T[{{.}}]{{end}}{{define \"default\"}}{{template \"t\"}}|{{end}}",
            J,
            "T[]|",
            "",
            0,
        ),
        // "x": for a name already defined, the reference's {{block}} is a plain
        // {{template}} without a body (so here the {{end}} closes "default").
        (
            "{{define \"t\"}}x{{end}}{{define \"default\"}}{{block \"t\" .}}{{end}}",
            E,
            "",
            "case.tmpl:1:64: Unexpected token",
            1,
        ),
        // "case.tmpl:1:70: Unexpected token", for the same reason.
        (
            "{{define \"t\"}}x{{end}}{{define \"default\"}}{{block \"t\" .}}B{{end}}{{end}}",
            E,
            "B",
            "",
            0,
        ),
    ]);
}

/// printf flags mean what they mean to glibc, as the manual promises.
#[test]
fn printf_as_in_c() {
    check_bodies(&[
        // "   1.500|  -2.500": the reference ignores `0` for floating point.
        (
            "{{printf \"%08.3f|%08.3f\" .f .neg}}",
            r#"{"f":1.5,"neg":-2.5}"#,
            "0001.500|-002.500",
            "",
            0,
        ),
        // "0004|2.00|": the reference reads `.*` without using up the argument.
        (
            "{{printf \"%.*d|%.*f|\" 4 3 2 .f}}",
            r#"{"f":3.14159}"#,
            "0003|3.14|",
            "",
            0,
        ),
        // "   3|": the reference does not left-justify for a negative `*` width.
        ("{{printf \"%*d|\" -4 3}}", E, "3   |", "", 0),
        // "0|0|0": the reference prints a zero even with precision 0.
        ("{{printf \"%.0d|%.0x|%#.0o\" 0 0 0}}", E, "||0", "", 0),
        // "--9223372036854775808".
        ("{{printf \"%d\" 1e20}}", E, "-9223372036854775808", "", 0),
        // The first byte of "é": the output here is a Rust string.
        ("{{printf \"%.1s|\" \"é\"}}", E, "|", "", 0),
    ]);
}

/// Words the reference silently drops are syntax errors here.
#[test]
fn unknown_words_are_errors() {
    check_bodies(&[
        // "3": the reference ignores a word that names no function after the arguments.
        (
            "{{len .a foo}}",
            J,
            "",
            "case.tmpl:1:32: Unexpected token",
            1,
        ),
        // "not enough arguments for typeof": `null` is no literal, and was dropped.
        (
            "{{typeof null}}",
            E,
            "",
            "case.tmpl:1:33: Unexpected token",
            1,
        ),
        // "case.tmpl:1:49: Unexpected end of file": after dropping `b` the reference
        // reads on to the unterminated string `"}}{{end}}`.
        (
            "{{printf \"%q\" \"a\\\"b\"}}",
            E,
            "",
            "case.tmpl:1:39: Unexpected token",
            1,
        ),
    ]);
}

/// A few positions the reference computes otherwise.
#[test]
fn positions() {
    check_files(&[
        // "case.tmpl:1:23": the reference steps back one column at the end of the file.
        (
            "{{define \"default\"}}{{.i",
            E,
            "",
            "case.tmpl:1:24: Unexpected token",
            1,
        ),
    ]);
}

/// Work is bounded: calls that fan out (each template calling the previous one twice, 2^40
/// calls in all) stop with an error, as does output that would grow without bound.
#[test]
fn runaway_templates_stop() {
    let mut text = String::from("{{define \"t0\"}}x{{end}}");
    for i in 1..=40 {
        text.push_str(&format!(
            "{{{{define \"t{i}\"}}}}{{{{template \"t{p}\" .}}}}{{{{template \"t{p}\" .}}}}{{{{end}}}}",
            p = i - 1
        ));
    }
    text.push_str("{{define \"default\"}}{{template \"t40\" .}}{{end}}");
    let t = super::Templates::parse(&text).unwrap_or_else(|e| panic!("{e}"));
    let run = t.run("default", &serde_json::json!({}));
    let error = run.error.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        error.starts_with("template runs too long")
            || error.starts_with("template output too large"),
        "{error}"
    );
}
