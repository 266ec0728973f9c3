//! The check pound makes on a `LogFormat` definition (pound.8, Log format): which
//! conversions exist, which take an argument and which arguments are known.

/// One problem in a format definition: the character offset pound reports it at, its
/// message, and whether it fails the configuration (pound only notes an argument given to a
/// conversion that takes none).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Problem {
    pub offset: usize,
    pub message: &'static str,
    pub fatal: bool,
}

/// Checks `format`. Returns the problems, and the definition with the arguments pound
/// ignores removed (so that the run-time compiler sees what pound uses).
pub(super) fn check(format: &str) -> (Vec<Problem>, String) {
    let chars: Vec<char> = format.chars().collect();
    let mut problems = Vec::new();
    let mut out = String::new();
    let mut i = 0;
    let mut problem = |offset: usize, message: &'static str, fatal: bool| {
        problems.push(Problem {
            offset,
            message,
            fatal,
        })
    };
    while i < chars.len() {
        if chars[i] != '%' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let percent = i;
        i += 1;
        let mut arg: Option<(usize, String)> = None;
        if chars.get(i) == Some(&'{') {
            let open = i;
            let Some(close) = chars[open..].iter().position(|&c| c == '}') else {
                problem(percent, "missing terminating `}'", true);
                break;
            };
            let close = open + close;
            arg = Some((open, chars[open + 1..close].iter().collect()));
            i = close + 1;
        }
        // pound reports conversion problems at the character before the conversion.
        let at = i - 1;
        let Some(&conv) = chars.get(i) else {
            problem(at, "unknown format char", true);
            break;
        };
        i += 1;
        let conv_text: String = match conv {
            '>' if chars.get(i) == Some(&'s') && arg.is_none() => {
                i += 1;
                ">s".into()
            }
            '%' | 'a' | 'A' | 'B' | 'b' | 'D' | 'h' | 'H' | 'l' | 'm' | 'p' | 'P' | 'q' | 'r'
            | 'u' | 'U' | 'v' => {
                if arg.take().is_some() {
                    problem(at, "format specifier does not take arguments", false);
                }
                conv.to_string()
            }
            // `%{...}s` is the response line, as `%>s` (pound 4.23).
            's' => {
                if arg.take().is_some() {
                    ">s".into()
                } else {
                    conv.to_string()
                }
            }
            'i' | 'I' | 'L' | 'N' => {
                match &arg {
                    None => problem(at, "format specifier requires argument", true),
                    Some((open, obj)) if matches!(conv, 'L' | 'N') => {
                        if !matches!(obj.as_str(), "listener" | "service" | "backend") {
                            problem(*open, "unrecognized Pound object name", true);
                        }
                    }
                    Some(_) => {}
                }
                conv.to_string()
            }
            't' => conv.to_string(),
            'T' => {
                if let Some((open, unit)) = &arg {
                    if !matches!(unit.as_str(), "s" | "ms" | "us" | "f") {
                        problem(*open, "bad process time format", true);
                    }
                }
                conv.to_string()
            }
            _ => {
                problem(at, "unknown format char", true);
                continue;
            }
        };
        out.push('%');
        if let Some((_, a)) = arg {
            out.push('{');
            out.push_str(&a);
            out.push('}');
        }
        out.push_str(&conv_text);
    }
    (problems, out)
}

#[cfg(test)]
mod tests {
    use super::check;

    fn problems(f: &str) -> Vec<(usize, &'static str, bool)> {
        check(f)
            .0
            .into_iter()
            .map(|p| (p.offset, p.message, p.fatal))
            .collect()
    }

    #[test]
    fn pound_formats_pass() {
        for f in [
            "%a %r - %>s",
            "%a %r - %>s (%{Host}i/%{service}N -> %{backend}N) %{f}T sec",
            "%{%Y}t %{end:sec}t %{}i %{x}s %% %{backend}L %{ms}T %T",
        ] {
            assert_eq!(problems(f), vec![], "{f}");
        }
    }

    #[test]
    fn problems_at_pounds_offsets() {
        assert_eq!(problems("%{"), vec![(0, "missing terminating `}'", true)]);
        assert_eq!(problems("%Z"), vec![(0, "unknown format char", true)]);
        assert_eq!(problems("abc%"), vec![(3, "unknown format char", true)]);
        assert_eq!(problems("%{abc}"), vec![(5, "unknown format char", true)]);
        assert_eq!(problems("%>x"), vec![(0, "unknown format char", true)]);
        assert_eq!(
            problems("%{foo}L"),
            vec![(1, "unrecognized Pound object name", true)]
        );
        assert_eq!(
            problems("%{MS}T"),
            vec![(1, "bad process time format", true)]
        );
        assert_eq!(
            problems("%i"),
            vec![(0, "format specifier requires argument", true)]
        );
        assert_eq!(
            problems("%Z%{foo}L"),
            vec![
                (0, "unknown format char", true),
                (3, "unrecognized Pound object name", true)
            ]
        );
    }

    #[test]
    fn ignored_arguments_are_noted_and_dropped() {
        let (p, out) = check("%{x}a-%{y}s-%{z}%");
        assert_eq!(
            p.into_iter()
                .map(|p| (p.offset, p.fatal))
                .collect::<Vec<_>>(),
            vec![(3, false), (15, false)]
        );
        assert_eq!(out, "%a-%>s-%%");
    }
}
