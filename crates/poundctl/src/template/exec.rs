//! Running a parsed template over a reply.
//!
//! Variables are scoped dynamically, as in the reference: a template called from inside
//! `{{with $x = ...}}` sees `$x`, and an undeclared variable is null. Bodies and template
//! calls may nest [`MAX_DEPTH`] deep; beyond that (a template made to call itself by
//! redefining its name) execution stops with an error instead of exhausting the stack.

use std::borrow::Cow;
use std::collections::HashMap;

use super::ast::{Base, Command, Node, Pipeline, Term};
use super::funcs;
use super::value::{sorted, Val};

/// How deeply bodies and template calls may nest while running.
pub const MAX_DEPTH: usize = 200;

/// How many nodes one run may execute, and how much it may print: a template whose calls
/// fan out (each calling the next twice) stops with an error instead of running for ever.
pub const MAX_STEPS: u64 = 10_000_000;
pub const MAX_OUTPUT: usize = 64 * 1024 * 1024;

/// How a body ended: normally, or by `{{break}}` / `{{continue}}` for the enclosing range.
enum Flow {
    Normal,
    Break,
    Continue,
}

type Run<T> = Result<T, String>;

pub(crate) struct Exec<'a> {
    templates: &'a HashMap<String, Vec<Node>>,
    vars: Vec<(&'a str, Val<'a>)>,
    pub out: String,
    pub warnings: Vec<String>,
    depth: usize,
    steps: u64,
}

impl<'a> Exec<'a> {
    pub fn new(templates: &'a HashMap<String, Vec<Node>>) -> Exec<'a> {
        Exec {
            templates,
            vars: Vec::new(),
            out: String::new(),
            warnings: Vec::new(),
            depth: 0,
            steps: 0,
        }
    }

    /// Runs the template `body` with dot `dot`.
    pub fn call(&mut self, body: &'a [Node], dot: &Val<'a>) -> Run<()> {
        self.list(body, dot).map(|_| ())
    }

    fn list(&mut self, nodes: &'a [Node], dot: &Val<'a>) -> Run<Flow> {
        if self.depth >= MAX_DEPTH {
            return Err(format!("template nesting too deep (more than {MAX_DEPTH})"));
        }
        self.depth += 1;
        let flow = self.nodes(nodes, dot);
        self.depth -= 1;
        flow
    }

    fn nodes(&mut self, nodes: &'a [Node], dot: &Val<'a>) -> Run<Flow> {
        for node in nodes {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return Err(format!(
                    "template runs too long (more than {MAX_STEPS} steps)"
                ));
            }
            if self.out.len() > MAX_OUTPUT {
                return Err(format!(
                    "template output too large (more than {MAX_OUTPUT} bytes)"
                ));
            }
            let flow = match node {
                Node::Text(s) => {
                    self.out.push_str(s);
                    Flow::Normal
                }
                Node::Print(p) => {
                    let v = self.pipeline(p, dot)?;
                    v.write_plain(&mut self.out);
                    Flow::Normal
                }
                Node::If {
                    branches,
                    otherwise,
                } => self.if_(branches, otherwise, dot)?,
                Node::Range {
                    vars,
                    pipe,
                    body,
                    otherwise,
                } => self.range(vars.as_ref(), pipe, body, otherwise, dot)?,
                Node::With {
                    var,
                    pipe,
                    body,
                    otherwise,
                } => {
                    let v = self.pipeline(pipe, dot)?;
                    if !v.truthy() {
                        self.list(otherwise, dot)?
                    } else if let Some(name) = var {
                        self.vars.push((name, v));
                        let flow = self.list(body, dot);
                        self.vars.pop();
                        flow?
                    } else {
                        self.list(body, &v)?
                    }
                }
                Node::Call { name, arg } => {
                    let v = match arg {
                        Some(p) => self.pipeline(p, dot)?,
                        None => Val::Null,
                    };
                    let body = self
                        .templates
                        .get(name)
                        .ok_or_else(|| format!("template {name} not defined"))?;
                    self.list(body, &v)?;
                    Flow::Normal
                }
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn if_(
        &mut self,
        branches: &'a [(Pipeline, Vec<Node>)],
        otherwise: &'a [Node],
        dot: &Val<'a>,
    ) -> Run<Flow> {
        for (pipe, body) in branches {
            if self.pipeline(pipe, dot)?.truthy() {
                return self.list(body, dot);
            }
        }
        self.list(otherwise, dot)
    }

    fn range(
        &mut self,
        vars: Option<&'a (String, String)>,
        pipe: &'a Pipeline,
        body: &'a [Node],
        otherwise: &'a [Node],
        dot: &Val<'a>,
    ) -> Run<Flow> {
        let items: Vec<(Val<'a>, Val<'a>)> = match self.pipeline(pipe, dot)? {
            Val::Arr(a) => a
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    (
                        Val::Int(i64::try_from(i).unwrap_or(i64::MAX)),
                        Val::from_json(v),
                    )
                })
                .collect(),
            Val::Obj(o) => sorted(o)
                .into_iter()
                .map(|(k, v)| (Val::Str(Cow::Borrowed(k.as_str())), Val::from_json(v)))
                .collect(),
            _ => Vec::new(),
        };
        if items.is_empty() {
            return self.list(otherwise, dot);
        }
        for (key, item) in items {
            let flow = match vars {
                Some((k, e)) => {
                    self.vars.push((k, key));
                    self.vars.push((e, item));
                    let flow = self.list(body, dot);
                    self.vars.truncate(self.vars.len() - 2);
                    flow?
                }
                None => self.list(body, &item)?,
            };
            if matches!(flow, Flow::Break) {
                break;
            }
        }
        Ok(Flow::Normal)
    }

    fn pipeline(&mut self, p: &'a Pipeline, dot: &Val<'a>) -> Run<Val<'a>> {
        let mut prev: Option<Val<'a>> = None;
        for cmd in &p.cmds {
            let v = match cmd {
                Command::Term(t) => self.term(t, dot)?,
                Command::Call(f, args) => {
                    let mut vals = Vec::with_capacity(args.len() + 1);
                    for a in args {
                        vals.push(self.term(a, dot)?);
                    }
                    vals.extend(prev.take());
                    funcs::call(*f, vals, &mut self.warnings)?
                }
            };
            prev = Some(v);
        }
        Ok(prev.unwrap_or(Val::Null))
    }

    fn term(&mut self, t: &'a Term, dot: &Val<'a>) -> Run<Val<'a>> {
        let mut v = match &t.base {
            Base::Dot => dot.clone(),
            Base::Var(name) => self
                .vars
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map_or(Val::Null, |(_, v)| v.clone()),
            Base::Int(n) => Val::Int(*n),
            Base::Str(s) => Val::Str(Cow::Borrowed(s)),
            Base::Bool(b) => Val::Bool(*b),
            Base::Group(p) => self.pipeline(p, dot)?,
        };
        for f in &t.fields {
            v = match v {
                Val::Obj(o) => o.get(f).map_or(Val::Null, Val::from_json),
                _ => Val::Null,
            };
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use crate::template::{Templates, MAX_DEPTH, MAX_NESTING};
    use serde_json::json;

    fn run(text: &str) -> Result<String, String> {
        let t = Templates::parse(text).map_err(|e| e.to_string())?;
        t.execute("default", &json!({"a": [1, 2], "s": "x"}))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = |open: &str, close: &str, n: usize| {
            format!(
                "{{{{define \"default\"}}}}{}{}{{{{end}}}}",
                open.repeat(n),
                close.repeat(n)
            )
        };
        let parens = |n: usize| {
            format!(
                "{{{{define \"default\"}}}}{{{{{}.a{}}}}}{{{{end}}}}",
                "len (".repeat(n),
                ")".repeat(n)
            )
        };
        // Just inside the limit: fine.
        let ok = deep("{{if 1}}", "{{end}}", MAX_NESTING - 2);
        assert_eq!(run(&ok), Ok(String::new()));
        assert_eq!(run(&parens(MAX_NESTING - 2)), Ok("1".into()));
        for text in [
            deep("{{if 1}}", "{{end}}", 100_000),
            deep("{{range .a}}", "{{end}}", 100_000),
            deep("{{with 1}}", "{{end}}", 100_000),
            deep("{{define \"x\"}}", "{{end}}", 100_000),
            parens(100_000),
            format!(
                "{{{{define \"default\"}}}}{{{{{}}}}}",
                "len ".repeat(100_000)
            ),
        ] {
            let e = run(&text).unwrap_err();
            assert!(e.ends_with("nesting too deep"), "{e}");
        }
    }

    #[test]
    fn recursion_stops() {
        // Each call adds a level; deep bodies inside the calls count too.
        let body = format!(
            "{}{{{{template \"r\" .}}}}{}",
            "{{if 1}}".repeat(90),
            "{{end}}".repeat(90)
        );
        let text = format!(
            "{{{{define \"r\"}}}}{{{{end}}}}{{{{define \"r\"}}}}x{body}{{{{end}}}}\
             {{{{define \"default\"}}}}{{{{template \"r\" .}}}}{{{{end}}}}"
        );
        let t = Templates::parse(&text).unwrap_or_else(|e| panic!("{e}"));
        let e = t.execute("default", &json!(null)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("template nesting too deep (more than {MAX_DEPTH})")
        );
        assert!(e.partial_output().starts_with("xx"));
    }

    #[test]
    fn deepest_run_fits_a_small_stack() {
        // Every limit reached at once: calls and bodies MAX_DEPTH deep, and at each level
        // an expression nested as deep as parsing allows; on a 1 MiB thread, unoptimised.
        let expr = format!(
            "{{{{{}.a{}}}}}",
            "len (".repeat(MAX_NESTING - 3),
            ")".repeat(MAX_NESTING - 3)
        );
        let text = format!(
            "{{{{define \"r\"}}}}{{{{end}}}}{{{{define \"r\"}}}}{expr}{{{{template \"r\" .}}}}{{{{end}}}}\
             {{{{define \"default\"}}}}{{{{template \"r\" .}}}}{{{{end}}}}"
        );
        let worker = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || run(&text));
        let result = worker.map(|w| w.join());
        match result {
            Ok(Ok(Err(e))) => assert!(e.contains("nesting too deep"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for text in [
            "{{",
            "{{-",
            "{{- ",
            "}}{{",
            "{{\"",
            "{{\"\\",
            "{{/*",
            "{{/**/",
            "{{-}}",
            "{{ -}}",
            "{{$",
            "{{.",
            "{{-9",
            "{{0x",
            "{{1e",
            "{{1e-",
            "{{1e999999999999999999999}}",
            "{{0x1p99999999999}}",
            "{{define",
            "{{define \"default\"",
            "{{define \"default\"}}{{else",
            "{{define \"default\"}}{{range $",
            "{{define \"default\"}}{{range $i,",
            "{{define \"default\"}}{{with $v",
            "{{define \"default\"}}{{template",
            "{{define \"default\"}}{{block \"b\"",
            "{{define \"default\"}}{{printf \"%*.*",
            "{{define \"default\"}}{{printf \"%\"}}{{end}}",
            "{{define \"default\"}}{{printf \"%99999999999999999999999999d\" 1}}{{end}}",
            "{{define \"default\"}}{{index .a -9223372036854775808}}{{end}}",
            "{{define \"default\"}}{{div -9223372036854775808 -1}}{{end}}",
            "\u{0}",
            "é{{é}}",
            "{{define \"default\"}}{{.s.é}}{{\"\u{7f}\"}}{{end}}",
        ] {
            let _ = run(text);
        }
    }
}
