//! The parsed form of a template: what the executor walks.

use super::funcs::Func;

/// A piece of a template body.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Text outside actions, copied as it is.
    Text(String),
    /// `{{PIPELINE}}`: the value is printed.
    Print(Pipeline),
    /// `{{if}}` with its `{{else if}}` branches, and the final `{{else}}` part.
    If {
        branches: Vec<(Pipeline, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    /// `{{range [$i, $e =] PIPELINE}}`.
    Range {
        vars: Option<(String, String)>,
        pipe: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
    /// `{{with [$v =] PIPELINE}}`.
    With {
        var: Option<String>,
        pipe: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
    /// `{{template "NAME" [PIPELINE]}}`, and the call a `{{block}}` makes.
    Call {
        name: String,
        arg: Option<Pipeline>,
    },
    Break,
    Continue,
}

/// Commands joined by `|`; each one's value is the last argument of the next.
#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone)]
pub(crate) enum Command {
    /// A built-in function and its arguments.
    Call(Func, Vec<Term>),
    /// A lone argument; a value piped into it is ignored, as in the reference.
    Term(Term),
}

/// An argument: a base value and the attributes looked up in it (`.a.b`, `$v.x`).
#[derive(Debug, Clone)]
pub(crate) struct Term {
    pub base: Base,
    pub fields: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum Base {
    Dot,
    Var(String),
    Int(i64),
    Str(String),
    Bool(bool),
    /// `( PIPELINE )`, and a function call written as an argument.
    Group(Box<Pipeline>),
}
