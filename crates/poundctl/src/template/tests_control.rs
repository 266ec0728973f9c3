//! More table tests recorded from poundctl 4.23 (see `tests.rs`): printf, control
//! structures, templates and trimming.

use super::tests::{check_bodies, check_files, E, J};

/// `printf`: C conversions, `%v`, and what the reference does with the rest.
#[test]
fn printf_conversions() {
    check_bodies(&[
        (r#"{{printf "%d" 42}}|{{printf "%d" .i}}|{{printf "%d" .f}}|{{printf "%d" .neg}}"#, r#"{"i":3,"f":1.5,"neg":-2.5}"#, "42|3|1|-2", "", 0),
        (r#"{{printf "%5d|%-5d|%05d|%+d|% d" 42 42 42 42 42}}"#, E, "   42|42   |00042|+42| 42", "", 0),
        (r#"{{printf "%x|%X|%o|%#x|%#o|%u|%i" 255 255 8 255 8 65 65}}"#, E, "ff|FF|10|0xff|010|65|65", "", 0),
        (r#"{{printf "%x|%X|%u|%o" -1 5000000000 -1 -1}}"#, E, "ffffffff|2A05F200|18446744073709551615|1777777777777777777777", "", 0),
        (r#"{{printf "%d" 5000000000}}|{{printf "%d" -5000000000}}"#, E, "5000000000|-5000000000", "", 0),
        (r#"{{printf "%5.2f|%f|%e|%g|%.3g|%E|%G|%F" .f .f .f .f .f .big .big .f}}"#, r#"{"f":1.5,"big":1e20}"#, " 1.50|1.500000|1.500000e+00|1.5|1.5|1.000000E+20|1E+20|1.500000", "", 0),
        (r#"{{printf "%5.2f" 3}} {{printf "%e" 3}} {{printf "%g" 100000000}}"#, E, " 3.00 3.000000e+00 1e+08", "", 0),
        (r#"{{printf "%-+8.3f|%#g|%#e|%8.3f|% 05d|" .f .f .f .neg 42}}"#, r#"{"f":1.5,"neg":-2.5}"#, "+1.500  |1.50000|1.500000e+00|  -2.500| 0042|", "", 0),
        (r#"{{printf "%10.4g|%-10e|%.0e|%#.0e|%.0f|%#.0f" .f .f .f .f .f .f}}"#, r#"{"f":1.5}"#, "       1.5|1.500000e+00|2e+00|2.e+00|2|2.", "", 0),
        (r#"{{printf "%.3d|%.0d|%-05d|%05d|%+5s|%05s|" 7 1 -3 -3 "a" "ab"}}"#, E, "007|1|-3   |-0003|    a|   ab|", "", 0),
        (r#"{{printf "%s|%s|%s|%s|%s|%s|%s" false true .f 3 .n .a .o}}"#, J, "|true|1.5|3||3|2", "", 0),
        (r#"{{printf "%10s|%-10s|%.2s|%5.1s|" "abc" "abc" "abc" "abc"}}"#, E, "       abc|abc       |ab|    a|", "", 0),
        (r#"{{printf "%v|%v|%v|%v|%v|%v|%v" .i .f .s .t .n .a .o}}"#, J, r#"3|2|"str"|true|null|[10, 20, 30]|{"x":1, "y":"why"}"#, "", 0),
        (r#"{{printf "%5v|%-8v|" .i .s}}"#, J, r#"3|"str"|"#, "", 0),
        (r#"{{printf "%v" .s}}"#, r#"{"s":"a\tb\\d/e\"f\n\r\b\f"}"#, r#""a\tb\\d/e\"f\n\r\b\f""#, "", 0),
        (r#"{{printf "%v" 1.5}} {{printf "%s" 1.5}}"#, E, "1 1", "", 0),
        (r#"{{printf "%%"}} {{printf "%c %d" 65 66}} {{printf "%q" "ab"}} {{printf "%ld" 65}} {{printf "%y" 3}} {{printf "%p %n" 3}} {{printf "%5%"}} {{printf "%-5q|" "a"}}"#, E, "% %c 66 %q %ld %y %p %n %5% %-5q|", "", 0),
        (r#"{{printf "abc%"}}|{{printf "%-"}}|{{printf "%5"}}|{{printf "a%-5"}}"#, E, "abc|||a", "", 0),
        (r#"{{printf "%*d|" 5 3}}{{printf "%-*d|" 4 7}}"#, E, "    3|7   |", "", 0),
        (r#"{{printf "%c"}}|{{printf "%q %d" 1}}"#, E, "%c|", "not enough arguments in call to printf: argument 1 requested by format string", 1),
        (r#"{{printf "%*d|" .f 3}}"#, r#"{"f":1.5}"#, "3|", "", 0),
        (r#"{{printf "%d" 1 2}}"#, E, "1", "", 0),
        (r#"{{printf "%s" "%d"}}"#, E, "%d", "", 0),
        (r#"{{printf "%f|%e|%g" (div 1 0) (div -1 0) (div 0 0)}}"#, E, "inf|-inf|-nan", "", 0),
        (r#"{{printf "%d" .b}}"#, r#"{"b":9.2e18}"#, "9200000000000000000", "", 0),
        (r#"{{printf "%200d|" 1}}"#, E, "                                                                                                                                                                                                       1|", "", 0),
        (r#"{{"x" | printf "%s-%s" "y"}}|{{printf "%d" 1 | printf "%s-%s" "x"}}"#, E, "y-x|x-1", "", 0),
        ("{{printf .s 5}}", r#"{"s":"%d"}"#, "5", "", 0),
    ]);
}

/// `printf` errors, and the output printed before them.
#[test]
fn printf_errors() {
    check_bodies(&[
        (
            r#"{{printf "%d|" 42}}{{printf "%d" "12"}}"#,
            E,
            "42|",
            "argument type mismatch",
            1,
        ),
        (
            r#"{{printf "%f" "2.5"}}"#,
            E,
            "",
            "argument type mismatch",
            1,
        ),
        (r#"{{printf "%d" .n}}"#, E, "", "argument type mismatch", 1),
        (
            r#"{{printf "%d" true}}"#,
            E,
            "",
            "argument type mismatch",
            1,
        ),
        (r#"{{printf "%d" .o}}"#, J, "", "argument type mismatch", 1),
        (r#"{{printf "%f" .t}}"#, J, "", "argument type mismatch", 1),
        (
            r#"{{printf "%e" true}}"#,
            E,
            "",
            "argument type mismatch",
            1,
        ),
        (r#"{{printf "%g" "1"}}"#, E, "", "argument type mismatch", 1),
        (
            r#"{{printf "%*d" "x" 7}}"#,
            E,
            "",
            "argument type mismatch",
            1,
        ),
        (
            r#"{{printf "%d %d" 1}}"#,
            E,
            "",
            "not enough arguments in call to printf: argument 1 requested by format string",
            1,
        ),
        ("{{printf 3}}", E, "", "printf format is not string", 1),
        ("{{printf}}", E, "", "not enough arguments for printf", 1),
    ]);
}

/// `if`, `else if`, `range`, `with`, `break`, `continue`.
#[test]
fn control() {
    check_bodies(&[
        ("{{if .t}}T{{end}}|{{if .F}}T{{else}}E{{end}}|{{if .z}}A{{else if .i}}B{{else}}C{{end}}|{{if .z}}A{{else if .e}}B{{else}}C{{end}}", J, "T|E|B|C", "", 0),
        ("{{range .a}}<{{.}}>{{end}}", J, "<10><20><30>", "", 0),
        ("{{range .o}}<{{.}}>{{end}}", J, "<1><why>", "", 0),
        ("{{range $i, $e = .a}}{{$i}}={{$e}};{{end}}", J, "0=10;1=20;2=30;", "", 0),
        ("{{range $k, $v = .o}}{{$k}}={{$v}};{{end}}", J, "x=1;y=why;", "", 0),
        ("{{range $i,$e=.a}}{{$i}}{{end}}", J, "012", "", 0),
        ("{{range $i, $e = .a}}{{$i}}{{$e}}{{.i}} {{end}}", J, "0103 1203 2303 ", "", 0),
        ("{{range .ea}}x{{else}}empty{{end}} {{range .eo}}x{{else}}empty{{end}} {{range .n}}x{{else}}empty{{end}} {{range .i}}x{{else}}empty{{end}} {{range .s}}x{{else}}empty{{end}} {{range .t}}x{{else}}empty{{end}}", J, "empty empty empty empty empty empty", "", 0),
        ("{{range .a}}{{if eq . 20}}{{break}}{{end}}{{.}};{{end}}", J, "10;", "", 0),
        ("{{range .a}}A{{continue}}B{{end}}", J, "AAA", "", 0),
        ("{{range .a}}x{{.}}{{break}}y{{end}}z", J, "x10z", "", 0),
        ("{{range .a}}[{{range $.a}}{{end}}]{{end}}", J, "", "case.tmpl:1:42: Unexpected token", 1),
        ("{{range .a}}{{with 1}}{{break}}{{end}}{{.}}{{end}}", J, "", "", 0),
        ("{{with .o}}{{.y}}{{end}}|{{with .z}}X{{else}}E{{.i}}{{end}}|{{with $v = .s}}{{$v}}{{.i}}{{end}}", J, "why|E3|str3", "", 0),
        ("{{with $x = 1}}{{with $x = 2}}{{$x}}{{end}}{{$x}}{{end}}", J, "21", "", 0),
        ("{{with $x = .a}}{{.i}}{{$x}}{{end}}", J, "3[10, 20, 30]", "", 0),
        ("{{with $x = 0}}T{{else}}E{{$x}}{{end}}", J, "E", "", 0),
        ("{{with $v = .o}}{{$v.y}}{{end}}", J, "why", "", 0),
        ("{{$x}}|{{with $x = 1}}{{end}}{{$x}}|{{range $i, $e = .a}}{{end}}{{$i}}", J, "||", "", 0),
        ("{{if .i}}{{if .a}}{{if 1}}deep{{end}}{{end}}{{end}}", J, "deep", "", 0),
        ("{{.i | .i}} {{.i | 3}} {{(1}}", J, "3 3 1", "", 0),
        (r#"{{len (.a)}} {{(len .a) | printf "%d"}} {{index . "a" | len}} {{.a | index 1 | len}}"#, r#"{"a":[10,20,30]}"#, "3 3 3 ", "can't be indexed in: 1", 1),
        ("{{typeof true false}}", J, "", "too many arguments for typeof", 1),
        (r#"{{printf "%s|%d" "x" len "abc"}}"#, J, "x|3", "", 0),
    ]);
}

/// `define`, `template`, `block`: definitions must come first; the last one wins.
#[test]
fn templates() {
    check_files(&[
        (
            r#"{{define "t"}}T[{{.}}]{{end}}{{define "default"}}{{template "t" .}}|{{template "t" .i}}|{{template "t" .o}}|{{template "t" .nope}}{{end}}"#,
            J,
            r#"T[{"F":false, "a":[10, 20, 30], "e":"", "ea":[], "eo":{}, "f":2, "i":3, "n":null, "o":{"x":1, "y":"why"}, "s":"str", "t":true, "z":0}]|T[3]|T[{"x":1, "y":"why"}]|T[]"#,
            "",
            0,
        ),
        (
            "top level text {{.i}}\n{{define \"default\"}}D{{end}}",
            J,
            "D",
            "",
            0,
        ),
        (
            r#"{{define "default"}}1{{end}}{{define "default"}}2{{end}}"#,
            J,
            "2",
            "",
            0,
        ),
        (
            r#"{{define "default"}}{{define "inner"}}I{{.}}{{end}}x{{template "inner" 1}}{{end}}"#,
            J,
            "xI1",
            "",
            0,
        ),
        (
            r#"{{define "t"}}X{{end}}{{define "default"}}{{template "t" .i}}{{end}}{{define "t"}}Y{{end}}"#,
            J,
            "Y",
            "",
            0,
        ),
        (
            r#"{{define "default"}}{{block "b" .i}}B{{.}}{{end}}|{{template "b" 7}}{{end}}"#,
            J,
            "B3|B7",
            "",
            0,
        ),
        (
            r#"{{define "default"}}{{block "b" .i}}B{{.}}{{end}}{{end}}{{define "b"}}LATER{{end}}"#,
            J,
            "LATER",
            "",
            0,
        ),
        (
            r#"{{define "t"}}[{{$x}}]{{end}}{{define "default"}}{{with $x = 5}}{{template "t" .}}{{end}}{{end}}"#,
            J,
            "[5]",
            "",
            0,
        ),
        (
            r#"{{define "t"}}{{.i}}{{end}}{{define "default"}}{{template "t" .}}{{.i}}{{end}}"#,
            J,
            "33",
            "",
            0,
        ),
        (
            r#"{{define "t t"}}E{{end}}{{define ""}}F{{end}}{{define "default"}}{{template "t t" 1}}{{template "" 1}}{{end}}"#,
            J,
            "EF",
            "",
            0,
        ),
        (
            r#"{{define "default"}}{{template "t" .}}{{end}}{{define "t"}}X{{end}}"#,
            J,
            "",
            "case.tmpl:1:38: No such template defined",
            1,
        ),
        (
            r#"{{define "default"}}{{template "default" .}}{{end}}"#,
            J,
            "",
            "case.tmpl:1:44: No such template defined",
            1,
        ),
        (
            r#"{{define "default"}}x{{end}} trailing {{.i}} {{template "nope" .}}"#,
            J,
            "",
            "case.tmpl:1:66: No such template defined",
            1,
        ),
        (
            r#"{{define "default"}}{{template "t" .a | len}}{{end}}{{define "t"}}<{{.}}>{{end}}"#,
            J,
            "",
            "case.tmpl:1:45: No such template defined",
            1,
        ),
        (
            "{{define \"default\"}}{{template \"x\" . -}}  \n {{end}}",
            J,
            "",
            "case.tmpl:2:1: No such template defined",
            1,
        ),
        (r#"{{define "default"}}{{end}}"#, J, "", "", 0),
        ("text only", J, "", "template default not defined", 1),
    ]);
}

/// Trim markers `{{- ` and ` -}}`, comments, white space inside actions.
#[test]
fn trimming() {
    check_bodies(&[
        ("a  \n {{- .i}}  \n b", J, "a3  \n b", "", 0),
        ("a  \n {{.i -}}  \n b", J, "a  \n 3b", "", 0),
        ("a {{- .i -}} b", J, "a3b", "", 0),
        ("a {{- 3}} b", J, "a3 b", "", 0),
        ("a {{-3}} b", J, "a -3 b", "", 0),
        ("a {{3 -}} b", J, "a 3b", "", 0),
        ("a\t\r\n {{- -}} \t\n b", J, "ab", "", 0),
        ("a\u{b} {{- .i}}", J, "a3", "", 0),
        ("a {{- /* c */ -}} b", J, "ab", "", 0),
        ("a {{/* c */ -}} b", J, "a b", "", 0),
        ("a {{- /* c */}} b", J, "a b", "", 0),
        ("x {{- if 1 -}} \n y \n {{- end -}} \n z", J, "xyz", "", 0),
        ("{{range .a -}}\n  {{.}}\n{{- end}}", J, "102030", "", 0),
        ("a {{  .i  }} b|{{\n.i\n}}", J, "a 3 b|3", "", 0),
        ("{{/* c */}}x{{/* c */ .i}}{{- /* c */ -}}{{ /* x */ .i}}{{.i /* x */}}{{len /* x */ .a}}", J, "x3333", "", 0),
        ("{{/* a\nb */}}{{.i}}{{/* }} */ .i}}", J, "33", "", 0),
    ]);
}
