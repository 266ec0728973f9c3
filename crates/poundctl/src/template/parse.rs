//! From tokens to templates: the grammar of chapter 12.5 of the pound manual, with the
//! reference's answers where the manual is silent.
//!
//! - Text outside `{{define}}` is parsed (its errors count) but is no template.
//! - `{{template "NAME"}}` must name a template defined earlier in the file ("No such
//!   template defined"); a later `{{define}}` of the same name replaces it for every call.
//! - Variables are declared only by `{{range $i, $e = P}}` and `{{with $v = P}}`.
//! - `{{break}}` and `{{continue}}` must be inside a `{{range}}` of the same template.
//! - A function name written as an argument calls that function with the arguments that
//!   follow it (`printf "%d" len .a`), as in the reference.
//!
//! Nesting (bodies and parentheses) is limited to [`MAX_NESTING`] levels so that hostile
//! input cannot exhaust the stack.

use std::collections::{HashMap, HashSet};

use super::ast::{Base, Command, Node, Pipeline, Term};
use super::funcs::Func;
use super::lex::{Tok, Token};

/// How deeply bodies and parentheses may nest.
pub const MAX_NESTING: usize = 100;

/// A syntax error: the reference's message and the offset of the byte it points at.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub message: &'static str,
    pub at: Option<usize>,
}

type Parse<T> = Result<T, SyntaxError>;

/// The templates a text defines.
pub(crate) fn parse(toks: &[Token]) -> Parse<HashMap<String, Vec<Node>>> {
    let mut p = Parser {
        toks,
        i: 0,
        defined: HashSet::new(),
        templates: HashMap::new(),
        depth: 0,
        loops: 0,
    };
    p.list(Ctx::Top)?;
    Ok(p.templates)
}

/// What may end the body being read.
#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    /// The top level: only the end of the text.
    Top,
    /// `{{if}}`: `{{end}}`, `{{else}}` or `{{else if}}`.
    If,
    /// `{{range}}`, `{{with}}`: `{{end}}` or `{{else}}`.
    Else,
    /// `{{define}}`, `{{block}}`, an `{{else}}` part: only `{{end}}`.
    End,
}

enum Stop {
    End,
    Else,
    ElseIf(Pipeline),
    Eof,
}

struct Parser<'t> {
    toks: &'t [Token],
    i: usize,
    defined: HashSet<String>,
    templates: HashMap<String, Vec<Node>>,
    depth: usize,
    /// How many `{{range}}` bodies of the current template enclose this point.
    loops: usize,
}

fn unexpected(t: &Token) -> SyntaxError {
    let message = if t.tok == Tok::OpenAtEof {
        "Unexpected end of file"
    } else {
        "Unexpected token"
    };
    SyntaxError { message, at: t.end }
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, k: usize) -> &Token {
        // The lexer always ends with Eof or OpenAtEof; stay on it.
        let last = self.toks.len().saturating_sub(1);
        &self.toks[(self.i + k).min(last)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn fail<T>(&self) -> Parse<T> {
        Err(unexpected(self.peek()))
    }

    fn expect_close(&mut self) -> Parse<Token> {
        if self.peek().tok == Tok::Close {
            Ok(self.bump())
        } else {
            self.fail()
        }
    }

    fn ident_is(&self, k: usize, word: &str) -> bool {
        matches!(&self.peek_at(k).tok, Tok::Ident(w) if w == word)
    }

    fn deeper(&mut self) -> Parse<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(SyntaxError {
                message: "nesting too deep",
                at: self.peek().end,
            });
        }
        Ok(())
    }

    /// A body, up to what ends it in `ctx`.
    fn list(&mut self, ctx: Ctx) -> Parse<(Vec<Node>, Stop)> {
        self.deeper()?;
        let mut nodes = Vec::new();
        let stop = loop {
            let t = self.bump();
            match t.tok {
                Tok::Text(s) => nodes.push(Node::Text(s)),
                Tok::Eof if ctx == Ctx::Top => break Stop::Eof,
                Tok::Open => {
                    if let Some(stop) = self.action(ctx, &mut nodes)? {
                        break stop;
                    }
                }
                _ => return Err(unexpected(&t)),
            }
        };
        self.depth -= 1;
        Ok((nodes, stop))
    }

    /// One action after its `{{`; `Some` when it ends the body.
    fn action(&mut self, ctx: Ctx, nodes: &mut Vec<Node>) -> Parse<Option<Stop>> {
        let word = match &self.peek().tok {
            Tok::Close => {
                self.bump();
                return Ok(None);
            }
            Tok::Ident(w) => w.clone(),
            _ => String::new(),
        };
        match word.as_str() {
            "end" if ctx != Ctx::Top => {
                self.bump();
                self.expect_close()?;
                return Ok(Some(Stop::End));
            }
            "else" if matches!(ctx, Ctx::If | Ctx::Else) => {
                self.bump();
                if ctx == Ctx::If && self.ident_is(0, "if") {
                    self.bump();
                    let pipe = self.pipeline()?;
                    self.expect_close()?;
                    return Ok(Some(Stop::ElseIf(pipe)));
                }
                self.expect_close()?;
                return Ok(Some(Stop::Else));
            }
            "if" => nodes.push(self.if_()?),
            "range" => nodes.push(self.range()?),
            "with" => nodes.push(self.with()?),
            "define" => self.define()?,
            "template" => nodes.push(self.template()?),
            "block" => nodes.push(self.block()?),
            "break" | "continue" if self.loops > 0 => {
                self.bump();
                self.expect_close()?;
                nodes.push(if word == "break" {
                    Node::Break
                } else {
                    Node::Continue
                });
            }
            _ => {
                let pipe = self.pipeline()?;
                self.expect_close()?;
                nodes.push(Node::Print(pipe));
            }
        }
        Ok(None)
    }

    /// The part after `{{else}}`, which only `{{end}}` ends.
    fn else_part(&mut self, stop: Stop) -> Parse<Vec<Node>> {
        match stop {
            Stop::Else => Ok(self.list(Ctx::End)?.0),
            _ => Ok(Vec::new()),
        }
    }

    fn if_(&mut self) -> Parse<Node> {
        self.bump();
        let mut branches = Vec::new();
        let mut pipe = self.pipeline()?;
        self.expect_close()?;
        loop {
            let (body, stop) = self.list(Ctx::If)?;
            branches.push((pipe, body));
            match stop {
                Stop::ElseIf(next) => pipe = next,
                stop => {
                    let otherwise = self.else_part(stop)?;
                    return Ok(Node::If {
                        branches,
                        otherwise,
                    });
                }
            }
        }
    }

    fn var(&mut self) -> Parse<String> {
        match self.peek().tok.clone() {
            Tok::Var(v) => {
                self.bump();
                Ok(v)
            }
            _ => self.fail(),
        }
    }

    fn expect(&mut self, tok: Tok) -> Parse<()> {
        if self.peek().tok == tok {
            self.bump();
            Ok(())
        } else {
            self.fail()
        }
    }

    fn range(&mut self) -> Parse<Node> {
        self.bump();
        let vars = if matches!(self.peek().tok, Tok::Var(_)) {
            let index = self.var()?;
            self.expect(Tok::Comma)?;
            let elem = self.var()?;
            self.expect(Tok::Assign)?;
            Some((index, elem))
        } else {
            None
        };
        let pipe = self.pipeline()?;
        self.expect_close()?;
        self.loops += 1;
        let (body, stop) = self.list(Ctx::Else)?;
        self.loops -= 1;
        let otherwise = self.else_part(stop)?;
        Ok(Node::Range {
            vars,
            pipe,
            body,
            otherwise,
        })
    }

    fn with(&mut self) -> Parse<Node> {
        let with = self.bump();
        let var = if let Tok::Var(v) = self.peek().tok.clone() {
            // The reference blames the `with` itself when `=` does not follow.
            if self.peek_at(1).tok != Tok::Assign {
                return Err(unexpected(&with));
            }
            self.i += 2;
            Some(v)
        } else {
            None
        };
        let pipe = self.pipeline()?;
        self.expect_close()?;
        let (body, stop) = self.list(Ctx::Else)?;
        let otherwise = self.else_part(stop)?;
        Ok(Node::With {
            var,
            pipe,
            body,
            otherwise,
        })
    }

    fn name(&mut self) -> Parse<String> {
        match self.peek().tok.clone() {
            Tok::Str(s) => {
                self.bump();
                Ok(s)
            }
            _ => self.fail(),
        }
    }

    /// A template's body: `{{break}}` cannot reach the caller's loops.
    fn body(&mut self) -> Parse<Vec<Node>> {
        let loops = std::mem::replace(&mut self.loops, 0);
        let (body, _) = self.list(Ctx::End)?;
        self.loops = loops;
        Ok(body)
    }

    fn store(&mut self, name: String, body: Vec<Node>) {
        self.defined.insert(name.clone());
        self.templates.insert(name, body);
    }

    fn define(&mut self) -> Parse<()> {
        self.bump();
        let name = self.name()?;
        self.expect_close()?;
        let body = self.body()?;
        self.store(name, body);
        Ok(())
    }

    /// `{{template "NAME"}}` runs with dot null, as the manual says (the reference wants a
    /// value there).
    fn template(&mut self) -> Parse<Node> {
        self.bump();
        let name = self.name()?;
        let arg = if self.peek().tok == Tok::Close {
            None
        } else {
            Some(self.pipeline()?)
        };
        let close = self.expect_close()?;
        if !self.defined.contains(&name) {
            return Err(SyntaxError {
                message: "No such template defined",
                at: close.end,
            });
        }
        Ok(Node::Call { name, arg })
    }

    /// `{{block "NAME" P}}BODY{{end}}`: defines NAME (replacing any earlier definition, as
    /// the manual says) and calls it.
    fn block(&mut self) -> Parse<Node> {
        self.bump();
        let name = self.name()?;
        let pipe = self.pipeline()?;
        self.expect_close()?;
        let body = self.body()?;
        self.store(name.clone(), body);
        Ok(Node::Call {
            name,
            arg: Some(pipe),
        })
    }

    fn pipeline(&mut self) -> Parse<Pipeline> {
        let mut cmds = vec![self.command()?];
        while self.peek().tok == Tok::Pipe {
            self.bump();
            cmds.push(self.command()?);
        }
        Ok(Pipeline { cmds })
    }

    fn command(&mut self) -> Parse<Command> {
        if let Tok::Ident(w) = &self.peek().tok {
            if let Some(f) = Func::from_name(w) {
                self.bump();
                return Ok(Command::Call(f, self.args()?));
            }
        }
        let term = self.term()?;
        match self.peek().tok {
            Tok::Pipe | Tok::Close | Tok::RParen => Ok(Command::Term(term)),
            _ => self.fail(),
        }
    }

    /// A function's arguments, up to `|`, `)` or `}}`.
    fn args(&mut self) -> Parse<Vec<Term>> {
        let mut args = Vec::new();
        loop {
            match &self.peek().tok {
                Tok::Pipe | Tok::Close | Tok::RParen => return Ok(args),
                Tok::Ident(w) => {
                    if let Some(f) = Func::from_name(w) {
                        self.bump();
                        self.deeper()?;
                        let inner = self.args()?;
                        self.depth -= 1;
                        let cmds = vec![Command::Call(f, inner)];
                        args.push(Term {
                            base: Base::Group(Box::new(Pipeline { cmds })),
                            fields: Vec::new(),
                        });
                        continue;
                    }
                }
                _ => {}
            }
            args.push(self.term()?);
        }
    }

    fn term(&mut self) -> Parse<Term> {
        let t = self.peek().clone();
        let base = match t.tok {
            Tok::Dot => {
                self.bump();
                return Ok(Term {
                    base: Base::Dot,
                    fields: Vec::new(),
                });
            }
            Tok::Field(_) => Base::Dot,
            Tok::Var(v) => {
                self.bump();
                Base::Var(v)
            }
            Tok::Int(n) => {
                self.bump();
                Base::Int(n)
            }
            Tok::Str(s) => {
                self.bump();
                Base::Str(s)
            }
            Tok::Ident(w) if w == "true" || w == "false" => {
                self.bump();
                Base::Bool(w == "true")
            }
            Tok::LParen => {
                self.bump();
                self.deeper()?;
                let pipe = self.pipeline()?;
                self.depth -= 1;
                match self.peek().tok {
                    Tok::RParen => {
                        self.bump();
                    }
                    // The reference lets `{{(1}}` go.
                    Tok::Close => {}
                    _ => return self.fail(),
                }
                Base::Group(Box::new(pipe))
            }
            // A missing operand: the reference notices it only after reading on.
            Tok::Close => {
                return Err(SyntaxError {
                    message: "Unexpected token",
                    at: t.ahead,
                })
            }
            _ => return self.fail(),
        };
        let mut fields = Vec::new();
        loop {
            let t = self.peek();
            match &t.tok {
                Tok::Field(f) if fields.is_empty() && matches!(base, Base::Dot) || t.glued => {
                    fields.push(f.clone());
                    self.bump();
                }
                _ => break,
            }
        }
        Ok(Term { base, fields })
    }
}
