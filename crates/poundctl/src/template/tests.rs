//! Table tests of the template language. Every expected text, message and exit status in
//! the tables below was recorded from poundctl 4.23 (`poundctl -s SOCKET -t FILE list`, the
//! socket answering with the reply given), the file being named `case.tmpl`; the cases
//! where this implementation deliberately differs are in `tests_errors.rs`, with what the
//! reference does.

use serde_json::Value;

use super::Templates;

/// The reply most cases run on.
pub(super) const J: &str = r#"{"i":3,"f":1.5,"s":"str","t":true,"F":false,"n":null,"a":[10,20,30],"o":{"y":"why","x":1},"e":"","z":0,"ea":[],"eo":{}}"#;
/// An empty reply.
pub(super) const E: &str = "{}";

/// A case: the template (or its body), the reply, standard output, standard error (the
/// lines after `poundctl: `) and the exit status.
pub(super) type Case<'a> = (&'a str, &'a str, &'a str, &'a str, i32);

/// What poundctl would print: output, messages and exit status.
pub(super) fn run_case(text: &str, data: &str) -> (String, String, i32) {
    let value: Value = match serde_json::from_str(data) {
        Ok(v) => v,
        Err(e) => panic!("bad reply in test {data:?}: {e}"),
    };
    let templates = match Templates::parse_named("case.tmpl", text) {
        Ok(t) => t,
        Err(e) => return (String::new(), e.to_string(), 1),
    };
    let run = templates.run("default", &value);
    let mut lines = run.warnings;
    if let Some(e) = &run.error {
        lines.push(e.to_string());
    }
    let status = i32::from(run.error.is_some());
    (run.output, lines.join("\n"), status)
}

fn check(cases: &[Case], wrap: bool) {
    let mut failures = Vec::new();
    for &(text, data, out, err, status) in cases {
        let text = if wrap {
            format!("{{{{define \"default\"}}}}{text}{{{{end}}}}")
        } else {
            text.to_string()
        };
        let got = run_case(&text, data);
        if got != (out.to_string(), err.to_string(), status) {
            failures.push(format!(
                "template {text:?} on {data}\n   want {:?}\n    got {got:?}",
                (out, err, status)
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Cases whose template is the body of `{{define "default"}}...{{end}}` (so that columns
/// are 20 more than they look).
pub(super) fn check_bodies(cases: &[Case]) {
    check(cases, true);
}

/// Cases whose template is the whole file.
pub(super) fn check_files(cases: &[Case]) {
    check(cases, false);
}

/// How values print: `{{.}}`, members, and JSON-like compound values.
#[test]
fn printing() {
    check_bodies(&[
        (
            "{{.}}",
            r#"{"a":1,"b":[1,2.5,"x",null,true],"c":{"z":1,"a":2}}"#,
            r#"{"a":1, "b":[1, 2, "x", null, true], "c":{"a":2, "z":1}}"#,
            "",
            0,
        ),
        (
            "{{.a}}|{{.b}}|{{.c}}|{{.d}}|{{.c.z}}",
            r#"{"a":1,"b":[1,2.5,"x",null,true],"c":{"z":1,"a":2}}"#,
            r#"1|[1, 2, "x", null, true]|{"a":2, "z":1}||1"#,
            "",
            0,
        ),
        (
            "{{.}}",
            r#"{"b":1,"a":2,"c":3,"B":4,"aa":5,"_":6}"#,
            r#"{"B":4, "_":6, "a":2, "aa":5, "b":1, "c":3}"#,
            "",
            0,
        ),
        ("{{.}}", "null", "", "", 0),
        ("{{.}}", "true", "true", "", 0),
        ("{{.}}", "[]", "[]", "", 0),
        ("{{.}}", E, "{}", "", 0),
        (
            "{{.}}",
            r#"[[],{},[{"a":[]}]]"#,
            r#"[[], {}, [{"a":[]}]]"#,
            "",
            0,
        ),
        ("{{.}}", r#""plain\nstring""#, "plain\nstring", "", 0),
        (
            "{{.}}",
            r#"["a\"b","c\nd","\t","\\","/","\b\f\r", "é"]"#,
            r#"["a\"b", "c\nd", "\t", "\\", "/", "\b\f\r", "é"]"#,
            "",
            0,
        ),
        ("{{.}}", r#"{"k\"q":"v"}"#, r#"{"k\"q":"v"}"#, "", 0),
        (
            "{{.missing.deeper}}|{{.s.x}}|{{.a.x}}|{{.n.x}}|{{.i.x}}",
            J,
            "||||",
            "",
            0,
        ),
        ("{{.o.x}} {{.o.y}}", J, "1 why", "", 0),
        (r#"{{(.o).x}}|{{(index . "o").y}}"#, J, "1|why", "", 0),
        (
            "{{.a-b}} {{.a_b}} {{.A}}",
            r#"{"a-b":1,"a_b":2,"A":8}"#,
            "1 2 8",
            "",
            0,
        ),
        ("{{.i-}}", r#"{"i":1}"#, "", "", 0),
    ]);
}

/// Reply numbers are doubles printed `%.0f`; template literals are C longs.
#[test]
fn numbers() {
    check_bodies(&[
        ("{{.a}}|{{.b}}|{{.c}}|{{.e}}|{{.g}}|{{.h}}", r#"{"a":1.5,"b":1e20,"c":-0.0,"e":0.1,"g":-5,"h":3.0}"#, "2|100000000000000000000|-0|0|-5|3", "", 0),
        ("{{.}}", "1e300", "1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523", "", 0),
        ("{{.}}", "-1e300", "-100000000000000005250476025520442024870446858110815915491585411551180245798890819578637137508044786404370444383288387817694252", "", 0),
        ("{{.}}", "[1e300]", "[1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523]", "", 0),
        ("{{.}}", "-7.5", "-8", "", 0),
        ("{{.}}", "0.5", "0", "", 0),
        ("{{.}}", "2.5", "2", "", 0),
        ("{{.}}", "3.5", "4", "", 0),
        ("{{.}}", "9007199254740993", "9007199254740992", "", 0),
        ("{{.}}", "18446744073709551615", "18446744073709551616", "", 0),
        ("{{.}}", "1E2", "100", "", 0),
        ("{{1e3}} {{0x10}} {{010}} {{1.5}} {{-2}} {{5.}} {{1.5e1}} {{-0}} {{0.9}} {{07}} {{08}} {{0x1p3}}", E, "1000 16 10 1 -2 5 15 0 0 7 8 8", "", 0),
        ("{{12345678901234567890}}", E, "-9223372036854775808", "", 0),
        ("{{9223372036854775807}}", E, "-9223372036854775808", "", 0),
        ("{{1e-3}} {{1e+3}} {{1E3}}", E, "0 1000 1000", "", 0),
        (r#"{{typeof 3}} {{typeof 3.5}} {{typeof 1e3}} {{typeof (add 1 2)}} {{typeof (len "x")}}"#, E, "integer integer integer number integer", "", 0),
    ]);
}

/// String literals: C escapes, and the odd end of `\"`.
#[test]
fn strings() {
    check_bodies(&[
        (
            r#"{{"a\nb"}}|{{"a\tb"}}|{{"a\\b"}}|{{"a\qb"}}|{{"a\x41b"}}|{{"a\101b"}}|{{"a\u0041b"}}"#,
            E,
            "a\nb|a\tb|a\\b|a\\qb|a\\x41b|a\\101b|a\\u0041b",
            "",
            0,
        ),
        (
            r#"{{"a\bb\ac\vd\0e\/f\'g\eh\r\f"}}"#,
            E,
            "a\u{8}b\u{7}c\u{b}d\\0e\\/f\\'g\\eh\r\u{c}",
            "",
            0,
        ),
        (r#"{{"a\"}}"#, E, r#"a""#, "", 0),
        (r#"{{"x\"}}{{"y"}}"#, E, r#"x"y"#, "", 0),
        ("{{\"a\nb\"}}", E, "a\nb", "", 0),
        (r#"{{.i}}{{"}}"}}"#, E, "}}", "", 0),
        (r#"{{"{{"}}"#, E, "{{", "", 0),
        ("{ {{.i}} }", E, "{  }", "", 0),
        ("}}", E, "}}", "", 0),
        ("{{.i}}}}", E, "}}", "", 0),
    ]);
}

/// `and`, `or`, `not` and emptiness.
#[test]
fn logic() {
    check_bodies(&[
        ("{{not .i}} {{not .z}} {{not .e}} {{not .n}} {{not .ea}} {{not .eo}} {{not .a}} {{not .F}} {{not .t}} {{not .f}}", J, "false true true true true true false true false false", "", 0),
        ("{{and .i .s}} {{and .i .z}} {{and .z .i}} {{or .z .s}} {{or .z .e}} {{or .i .s}}", J, "str 0 0 str  3", "", 0),
        ("{{and 1 2 3}}", E, "3", "", 0),
        (r#"{{or 0 "" 5}}"#, E, "5", "", 0),
        ("{{and 1}}", E, "1", "", 0),
        ("{{true | not}}", E, "false", "", 0),
        (r#"{{and 0 (index .o "zz")}}"#, J, "", r#"no such attribute: zz in: {"x":1, "y":"why"}"#, 1),
        ("{{if .a}}A{{end}}{{if .o}}O{{end}}{{if .ea}}X{{end}}{{if .eo}}X{{end}}{{if .e}}X{{end}}{{if .n}}X{{end}}", J, "AO", "", 0),
        (r#"{{if 0.0}}Z{{else}}z{{end}} {{if "0"}}S{{end}} {{if " "}}S{{end}}"#, E, "z S S", "", 0),
        ("{{if (div 0 0)}}T{{else}}F{{end}} {{if (mul -1 .z)}}T{{else}}F{{end}}", J, "T F", "", 0),
    ]);
}

/// `len` (bytes, items, or the length of the text) and `typeof`.
#[test]
fn length_and_type() {
    check_bodies(&[
        ("{{len .s}} {{len .a}} {{len .o}} {{len .e}} {{len .i}} {{len .n}} {{len .t}} {{len .F}}", J, "3 3 2 0 1 0 4 0", "", 0),
        (r#"{{len 12345}} {{len 1.25}} {{len -3}} {{len "héllo"}}"#, E, "5 1 2 6", "", 0),
        ("{{len .big}} {{len .tenth}} {{len .neg}} {{len .m}}", r#"{"big":1e20,"tenth":0.1,"neg":-2.5,"m":1234567.0}"#, "5 3 4 11", "", 0),
        (r#"{{typeof .i}} {{typeof .f}} {{typeof .s}} {{typeof .t}} {{typeof .n}} {{typeof .a}} {{typeof .o}} {{typeof .missing}} {{typeof "x"}} {{typeof true}}"#, J, "number number string bool null array object null string bool", "", 0),
        ("{{range $k, $v = .}}{{$k}}:{{typeof $v}} {{end}}", r#"{"a":[],"i":1,"o":{}}"#, "a:array i:number o:object ", "", 0),
        ("{{range $i, $v = .a}}{{$i}}:{{typeof $i}} {{end}}", J, "0:integer 1:integer 2:integer ", "", 0),
    ]);
}

/// `index`: keys as text for objects, as integers for arrays; misses are skipped.
#[test]
fn index() {
    check_bodies(&[
        (r#"{{index .a 0}} {{index .a 2}} {{index .o "y"}} {{index . "a" 1}}"#, J, "10 30 why 20", "", 0),
        ("{{index .a 3}}", J, "[10, 20, 30]", "", 0),
        ("{{index .a -1}}", J, "[10, 20, 30]", "", 0),
        ("{{index .a 1.5}}", J, "20", "", 0),
        (r#"{{index .a "1"}}"#, J, "20", "", 0),
        (r#"{{index .a .f}}|{{index .a 2.9}}|{{index .a "x"}}|{{index .a .t}}|{{index .a .n}}|{{index .a .o}}"#, J, "20|30|10|20|10|30", "", 0),
        (r#"{{index .a "2.9"}}|{{index .a " 1"}}|{{index .a "1abc"}}|{{index .a "+2"}}|{{index .a "4 "}}|{{index .a "99999999999999999999"}}"#, J, "10|20|10|30|10|10", "", 0),
        ("{{index .a 5 0}}", J, "10", "", 0),
        ("{{index .}}", r#"{"x":1}"#, r#"{"x":1}"#, "", 0),
        ("{{index .o 1}}|{{index .o .f}}|{{index .o true}}|{{index .o .n}}|{{index .o (index .a 5)}}|{{index .o (add 1 2)}}", r#"{"a":[10,20,30],"o":{"1":"one","1.5":"x","true":"T","":"E","3":"three"},"f":1.5}"#, "one|x|T|E|three|three", "", 0),
        ("{{index .o false}}", r#"{"o":{"":"E","false":"F"}}"#, "E", "", 0),
    ]);
}

/// `eq ne lt le gt ge`: numbers (as integers beside an integer), strings, booleans, null.
#[test]
fn comparisons() {
    check_bodies(&[
        (r#"{{eq 1 1}} {{eq 1 2}} {{eq "a" "a"}} {{eq "a" "b"}} {{eq .i 3}} {{eq .f 1.5}} {{eq .f 3}}"#, J, "true false true false true true false", "", 0),
        (r#"{{eq .t true}} {{eq .n .n}} {{eq .n .nope}} {{ne 1 2}} {{ne "a" "a"}}"#, J, "true true true true false", "", 0),
        (r#"{{lt 1 2}} {{lt 2 1}} {{le 2 2}} {{gt 3 2}} {{ge 2 3}} {{lt "a" "b"}} {{gt "b" "a"}} {{lt "b" "a"}}"#, E, "true false true true false true true false", "", 0),
        (r#"{{lt "abc" "abd"}} {{lt "ab" "abc"}} {{lt "B" "a"}} {{ge "b" "b"}} {{lt "" "a"}}"#, E, "true true true true true", "", 0),
        ("{{lt .f 2}} {{lt .neg -2}} {{gt .tenth 0}} {{lt .q .r}} {{eq .q .r}} {{lt .big 1}}", r#"{"f":1.5,"neg":-2.5,"tenth":0.1,"q":0.5,"r":0.7,"big":1e19}"#, "true false false true false true", "", 0),
        ("{{lt false true}} {{lt true false}} {{le .t .t}} {{ge .t .F}} {{le .t .F}} {{eq .t .F}} {{ne .t .F}}", J, "false false true true true true false", "", 0),
        ("{{lt .n .n}} {{le .n .n}} {{ge .n .n}} {{ne .n .n}}", J, "false true true false", "", 0),
        ("{{eq (div 0 0) (div 0 0)}} {{lt (div 1 0) 1}}", J, "true true", "", 0),
    ]);
}

/// `even`: the truncated integer, or what the text reads as.
#[test]
fn even() {
    check_bodies(&[
        ("{{range .v}}{{.}}:{{even .}} {{end}}", r#"{"v":[0.5,1.5,2.5,-0.5,-2.5,-3.5,1,2,3,-1,-2,0.9,1.1,2.9,-1.1,100.5]}"#, "0:true 2:false 2:true -0:true -2:true -4:false 1:false 2:true 3:false -1:false -2:true 1:true 1:false 3:true -1:false 100:true ", "", 0),
        (r#"{{even 2}} {{even 3}} {{even 0}} {{even -4}} {{even 2.5}} {{even "4"}} {{even "3"}} {{even "x"}} {{even ""}} {{even " 4"}} {{even "4x"}}"#, E, "true false true true true true false true true true true", "", 0),
        ("{{even .n}} {{even .a}} {{even .t}} {{even .o}} {{even .ea}}", J, "true false false true true", "", 0),
        (r#"{{even .big}} {{even (div 0 0)}} {{even (div 1 0)}} {{even "99999999999999999999"}}"#, r#"{"big":1e20}"#, "true true true true", "", 0),
    ]);
}

/// `exists`: wrong arguments are warned about, not fatal.
#[test]
fn exists() {
    check_bodies(&[
        (
            r#"{{exists .o "x"}} {{exists .o "n"}} {{exists .o "y"}} {{exists . "o"}}"#,
            r#"{"o":{"x":1,"n":null}}"#,
            "true true false true",
            "",
            0,
        ),
        (
            "{{exists .a 0}}",
            J,
            "false",
            "argument 1 to exists has wrong type in: [10, 20, 30]",
            0,
        ),
        (
            "{{exists .o 1}}",
            J,
            "false",
            r#"argument 2 to exists has wrong type in: {"x":1, "y":"why"}"#,
            0,
        ),
        (
            r#"{{exists .s "x"}}"#,
            J,
            "false",
            r#"argument 1 to exists has wrong type in: "str""#,
            0,
        ),
        (
            r#"{{exists .nope "x"}}"#,
            J,
            "false",
            "argument 1 to exists has wrong type in: null",
            0,
        ),
        (
            "{{if exists .o 1}}y{{else}}n{{end}}",
            J,
            "n",
            r#"argument 2 to exists has wrong type in: {"x":1, "y":"why"}"#,
            0,
        ),
    ]);
}

/// `add sub mul div`: floating point, numbers as result; `div` truncates.
#[test]
fn arithmetic() {
    check_bodies(&[
        (r#"{{add 1 2}} {{add 1 2 3 4}} {{add .i .f}} {{add .f .f}} {{add 1}} {{printf "%s" (add .tenth .tenth .tenth)}}"#, r#"{"i":3,"f":1.5,"tenth":0.1}"#, "3 10 4 3 1 0.3", "", 0),
        (r#"{{sub 5 3}} {{sub 3 5}} {{sub .f 1}} {{printf "%s" (sub .f 1)}} {{sub 1}} {{sub 1 2 3}}"#, r#"{"f":1.5}"#, "2 -2 0 0.5 1 -4", "", 0),
        (r#"{{mul 3 4}} {{mul .f 3}} {{printf "%s" (mul .f 3)}} {{mul 2 3 4}} {{mul 1}}"#, r#"{"f":1.5}"#, "12 4 4.5 24 1", "", 0),
        (r#"{{div 7 2}} {{div .f 2}} {{printf "%s" (div .f 2)}} {{div -7 2}} {{printf "%.2f" (div 7 2)}}"#, r#"{"f":1.5}"#, "3 0 0 -3 3.00", "", 0),
        (r#"{{div 1 0}} {{div .f 0}} {{div 1 .z}} {{div 0 0}} {{printf "%s" (div .z .z)}} {{printf "%5.1f|" (div -1 0)}}"#, r#"{"f":1.5,"z":0}"#, "inf inf inf -nan -nan  -inf|", "", 0),
        ("{{typeof (mul 3 4)}} {{typeof (sub 3 4)}} {{typeof (div 8 2)}} {{typeof (add 1)}}", E, "number number number number", "", 0),
        ("{{add 9223372036854775807 1}} {{mul 4611686018427387904 2}} {{mul 3037000500 3037000500}}", E, "-9223372036854775808 9223372036854775808 9223372037000249344", "", 0),
        (r#"{{sub .z 0}} {{printf "%s" (mul -1 .z)}}"#, r#"{"z":0}"#, "0 -0", "", 0),
        ("{{.i | add 1 | mul 2}}", J, "8", "", 0),
    ]);
}

/// `-T NAME` picks any defined template, nested definitions included (recorded from
/// poundctl 4.23 with `-T t`, `-T inner`, `-T nope`).
#[test]
fn selecting_a_template() {
    let text = "{{define \"t\"}}X{{.}}{{end}}{{define \"default\"}}\
                {{define \"inner\"}}I{{.i}}{{end}}{{template \"t\" .i}}{{end}}";
    let t = Templates::parse_named("case.tmpl", text).unwrap_or_else(|e| panic!("{e}"));
    let data = serde_json::json!({"i": 1});
    assert_eq!(t.execute("t", &data).as_deref(), Ok("X{\"i\":1}"));
    assert_eq!(t.execute("inner", &data).as_deref(), Ok("I1"));
    assert_eq!(t.execute("default", &data).as_deref(), Ok("X1"));
    let e = t.execute("nope", &data).unwrap_err();
    assert_eq!(e.to_string(), "template nope not defined");
    assert_eq!(e.line_column(), None);
    assert!(t.has("inner") && !t.has("nope"));
    // Text outside definitions is no template.
    let t = Templates::parse("top level {{.i}}\n").unwrap_or_else(|e| panic!("{e}"));
    let e = t.execute("default", &data).unwrap_err();
    assert_eq!(e.to_string(), "template default not defined");
    // Without a file name, the location alone.
    let e = Templates::parse("\n{{foo}}").unwrap_err();
    assert_eq!(e.to_string(), "2:5: Unexpected token");
    assert_eq!(
        (e.message(), e.line_column()),
        ("Unexpected token", Some((2, 5)))
    );
}
