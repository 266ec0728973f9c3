//! The `expand` target: templates (pound-config model/template.rs) expanded for a request
//! (rules/eval.rs).

use super::*;

const DEFAULT_REQUEST: &[u8] =
    b"GET /a/b.html?x=1&y&z=%41 HTTP/1.1\r\nHost: www.example.com:8080\r\nX-A: one\r\n\r\n";
const EXPAND_LIMITS: Limits = Limits {
    max_head: 64 * 1024,
    max_line: 64 * 1024,
    xhttp: 3,
    max_body: None,
};

fn expand_request(bytes: &[u8]) -> Request {
    let mut req = Request::default();
    if let Ok(Some(_)) = request::parse(bytes, &EXPAND_LIMITS, &mut req) {
        return req;
    }
    let r = request::parse(DEFAULT_REQUEST, &EXPAND_LIMITS, &mut req);
    assert!(matches!(r, Ok(Some(_))), "{r:?}");
    req
}

fn matcher(pattern: &str, icase: bool) -> Matcher {
    let regex = pound_regex::compile(pattern, icase).ok();
    Matcher {
        mode: if regex.is_some() {
            MatchMode::Regex
        } else {
            MatchMode::Prefix
        },
        icase,
        patterns: pound_config::model::Live::new(vec![Pattern {
            text: pattern.to_string(),
            regex,
        }]),
        file: None,
        tag: None,
        decode: false,
    }
}

/// Serialises a request as pound forwards it: request line, fields, empty line.
fn serialise(req: &Request) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(req.method());
    out.push(b' ');
    out.extend_from_slice(req.target());
    out.push(b' ');
    out.extend_from_slice(req.version.as_str().as_bytes());
    out.extend_from_slice(b"\r\n");
    req.head.write_fields(&mut out, |_| true);
    out.extend_from_slice(b"\r\n");
    out
}

/// Reasons for which the parser refuses a head as syntactically malformed.
const SYNTAX_ERRORS: &[&str] = &[
    "malformed request line",
    "malformed header field name",
    "malformed header field value",
    "malformed request",
    "malformed request target",
];

/// Input: a template, a POSIX pattern and a request, separated by NUL bytes (the pattern and
/// the request have defaults). The pattern is matched against the request's URL, path, host
/// and header lines so that `$N(M)` has matches to refer to; the template is parsed, expanded
/// and used by each `Set*` modification.
pub fn expand(data: &[u8]) {
    let mut parts = data.splitn(3, |&b| b == 0);
    let text = String::from_utf8_lossy(parts.next().unwrap_or(b""));
    let pattern_bytes = parts.next();
    let request_bytes = parts.next().unwrap_or(DEFAULT_REQUEST);
    let (pattern, icase) = match pattern_bytes {
        Some([b'i', rest @ ..]) => (String::from_utf8_lossy(rest), true),
        Some(p) => (String::from_utf8_lossy(p), false),
        None => ("^/([^/?]*)(/[^?]*)?(\\?.*)?".into(), false),
    };

    let t = Template::parse(&text);
    check_template(&text, &t);
    let req = expand_request(request_bytes);
    if let Some(e) = &t.error {
        // pound's offsets: at the `%` of an unclosed `%[`, else just after the `$` or `%`.
        let at = |i: usize| matches!(text.as_bytes().get(i), Some(b'$' | b'%'));
        assert!(
            at(e.offset) || (e.offset > 0 && at(e.offset - 1)),
            "error offset {} of {text:?} is not at or after a '$' or '%'",
            e.offset
        );
        assert!(!e.message.is_empty());
        // Such a template is accepted, and fails each request that needs it.
        let mut out = Vec::new();
        let r = rules::expand(&t, "fuzz", &req, &Matches::default(), &mut out);
        assert!(
            r.is_err_and(|e| e.0.contains(&t.text)),
            "a broken template expands"
        );
        return;
    }

    let m = matcher(&pattern, icase);
    let mut matches = Matches::default();
    let conds = [
        Cond::Url(m.clone()),
        Cond::Path(m.clone()),
        Cond::Host(m.clone()),
        Cond::Header(m.clone()),
        Cond::QueryParam(b"x".to_vec(), m.clone()),
        Cond::StringMatch(t.clone(), m.clone()),
    ];
    {
        let mut cx = Cx {
            req: &req,
            headers: &req.head,
            client: None,
            matches: &mut matches,
            capture: true,
        };
        for c in &conds {
            let r = cx.eval(c);
            if r.is_err() {
                assert!(t.has_refs(), "evaluation failed without references: {r:?}");
            }
        }
    }

    let mut out = Vec::new();
    let r = rules::expand(&t, "fuzz", &req, &matches, &mut out);
    match r {
        Err(e) => {
            assert!(t.has_refs(), "expansion failed without references: {e:?}");
            assert!(e.0.contains(&t.text), "the message names the template");
        }
        Ok(values) => {
            let non_literal = t
                .parts
                .iter()
                .filter(|p| !matches!(p, Part::Literal(_)))
                .count();
            assert!(values <= non_literal);
            let literals: usize = t
                .parts
                .iter()
                .map(|p| match p {
                    Part::Literal(s) => s.len(),
                    _ => 0,
                })
                .sum();
            assert!(out.len() >= literals);
            if t.is_literal() {
                let all: String = t
                    .parts
                    .iter()
                    .map(|p| match p {
                        Part::Literal(s) => s.as_str(),
                        _ => "",
                    })
                    .collect();
                assert_eq!(out, all.as_bytes());
            }
            let mut again = vec![b'x'; 3];
            let r2 = rules::expand(&t, "fuzz", &req, &matches, &mut again);
            assert_eq!(r2, Ok(values));
            assert_eq!(again, out, "expansion is deterministic");
        }
    }

    // Each modification with this template must leave a head that parses again.
    let actions = [
        Action::SetHeader(t.clone()),
        Action::SetUrl(t.clone()),
        Action::SetPath(t.clone(), false),
        Action::SetPath(t.clone(), true),
        Action::SetQuery(t.clone()),
        Action::SetQueryParam(b"p".to_vec(), Some(t.clone()), false),
        Action::SetQueryParam(b"p".to_vec(), Some(t.clone()), true),
        Action::SetQueryParam(b"p".to_vec(), None, false),
        Action::DeleteQuery,
    ];
    let original = req.head.buf.clone();
    for action in actions {
        let mut req = expand_request(&original);
        let mut history = Matches::default();
        {
            let mut cx = Cx {
                req: &req,
                headers: &req.head,
                client: None,
                matches: &mut history,
                capture: true,
            };
            for c in &conds {
                let _ = cx.eval(c);
            }
        }
        if rules::apply(
            std::slice::from_ref(&action),
            &mut req,
            None,
            &mut history,
            true,
        )
        .is_err()
        {
            continue;
        }
        let bytes = serialise(&req);
        let mut again = Request::default();
        match request::parse(&bytes, &EXPAND_LIMITS, &mut again) {
            Ok(Some(n)) => {
                assert_eq!(n, bytes.len());
                assert_eq!(again.target(), req.target(), "the target reads back");
                assert_eq!(again.head.fields.len(), req.head.fields.len());
                for i in 0..req.head.fields.len() {
                    assert_eq!(again.head.name(i), req.head.name(i));
                    assert_eq!(again.head.value(i), req.head.value(i));
                }
            }
            Ok(None) => panic!("a rewritten head is incomplete: {bytes:?}"),
            Err(e) => {
                assert!(
                    !SYNTAX_ERRORS.contains(&e.reason),
                    "a rewritten head is malformed ({}): {:?}",
                    e.reason,
                    String::from_utf8_lossy(&bytes)
                );
            }
        }
    }
}

fn check_template(text: &str, t: &Template) {
    assert_eq!(t.text, text);
    let special = text.contains(['$', '%']);
    if !special {
        let want = if text.is_empty() {
            vec![]
        } else {
            vec![Part::Literal(text.to_string())]
        };
        assert_eq!(t.parts, want, "plain text is one literal");
    }
    let mut refs = false;
    for (i, p) in t.parts.iter().enumerate() {
        match p {
            Part::Literal(s) => {
                assert!(!s.is_empty(), "an empty literal");
                assert!(
                    !matches!(t.parts.get(i + 1), Some(Part::Literal(_))),
                    "two literals in a row"
                );
            }
            Part::Ref { nth, text: r, .. } => {
                refs = true;
                assert!(
                    *nth < pound_config::model::template::MATCH_HISTORY
                        || *nth == pound_config::model::template::NO_MATCH
                );
                assert!(
                    text.contains(r.as_str()),
                    "the reference {r:?} is in the text"
                );
                assert!(r.starts_with(['$', '%']));
            }
            Part::Accessor(Accessor::Param(a) | Accessor::Header(a)) => {
                assert!(!a.is_empty());
            }
            Part::Accessor(_) => {}
        }
    }
    assert_eq!(t.has_refs(), refs);
}
