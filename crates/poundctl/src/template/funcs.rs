//! The built-in functions, with the reference's argument rules and messages.

use std::borrow::Cow;

use super::printf::printf;
use super::value::{compare, Cmp, Val};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    And,
    Or,
    Not,
    Len,
    Index,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Even,
    Printf,
    Typeof,
    Exists,
    Add,
    Sub,
    Mul,
    Div,
}

const NAMES: [(&str, Func); 19] = [
    ("and", Func::And),
    ("or", Func::Or),
    ("not", Func::Not),
    ("len", Func::Len),
    ("index", Func::Index),
    ("eq", Func::Eq),
    ("ne", Func::Ne),
    ("lt", Func::Lt),
    ("le", Func::Le),
    ("gt", Func::Gt),
    ("ge", Func::Ge),
    ("even", Func::Even),
    ("printf", Func::Printf),
    ("typeof", Func::Typeof),
    ("exists", Func::Exists),
    ("add", Func::Add),
    ("sub", Func::Sub),
    ("mul", Func::Mul),
    ("div", Func::Div),
];

impl Func {
    pub fn from_name(name: &str) -> Option<Func> {
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }

    /// How many arguments it takes: at least, and at most.
    fn arity(self) -> (usize, usize) {
        use Func::*;
        match self {
            Not | Len | Even | Typeof => (1, 1),
            Eq | Ne | Lt | Le | Gt | Ge | Exists | Div => (2, 2),
            And | Or | Index | Printf | Add | Sub | Mul => (1, usize::MAX),
        }
    }
}

/// Calls `f`; `warnings` collects what the reference prints without failing (`exists`).
pub(crate) fn call<'a>(
    f: Func,
    args: Vec<Val<'a>>,
    warnings: &mut Vec<String>,
) -> Result<Val<'a>, String> {
    let (min, max) = f.arity();
    if args.len() < min {
        return Err(format!("not enough arguments for {}", f.name()));
    }
    if args.len() > max {
        return Err(format!("too many arguments for {}", f.name()));
    }
    let mut args = args;
    let first = args.remove(0);
    Ok(match f {
        // No short cut: every argument was evaluated before the call.
        Func::And => std::iter::once(first)
            .chain(args)
            .reduce(|acc, v| if acc.truthy() { v } else { acc })
            .unwrap_or(Val::Null),
        Func::Or => std::iter::once(first)
            .chain(args)
            .reduce(|acc, v| if acc.truthy() { acc } else { v })
            .unwrap_or(Val::Null),
        Func::Not => Val::Bool(!first.truthy()),
        Func::Len => Val::Int(first.len()),
        Func::Typeof => Val::Str(Cow::Borrowed(first.type_name())),
        Func::Even => Val::Bool(first.to_int() % 2 == 0),
        Func::Index => index(first, &args)?,
        Func::Eq | Func::Ne | Func::Lt | Func::Le | Func::Gt | Func::Ge => {
            let op = match f {
                Func::Eq => Cmp::Eq,
                Func::Ne => Cmp::Ne,
                Func::Lt => Cmp::Lt,
                Func::Le => Cmp::Le,
                Func::Gt => Cmp::Gt,
                _ => Cmp::Ge,
            };
            Val::Bool(compare(op, &first, &args[0])?)
        }
        Func::Printf => match &first {
            Val::Str(fmt) => Val::Str(Cow::Owned(printf(fmt, &args)?)),
            _ => return Err("printf format is not string".into()),
        },
        Func::Exists => exists(&first, &args[0], warnings),
        Func::Add | Func::Sub | Func::Mul | Func::Div => arithmetic(f, &first, &args)?,
    })
}

/// `index A K...`: each key looks up an attribute of an object (the key as text) or an
/// item of an array (the key as an integer; one out of range is skipped, as the
/// reference does).
fn index<'a>(first: Val<'a>, keys: &[Val<'a>]) -> Result<Val<'a>, String> {
    let mut cur = first.clone();
    for k in keys {
        cur = match cur {
            Val::Obj(o) => {
                let name = k.to_text();
                match o.get(name.as_ref()) {
                    Some(v) => Val::from_json(v),
                    None => {
                        return Err(format!(
                            "no such attribute: {name} in: {}",
                            Val::Obj(o).repr()
                        ))
                    }
                }
            }
            Val::Arr(a) => match usize::try_from(k.to_int()).ok().and_then(|i| a.get(i)) {
                Some(v) => Val::from_json(v),
                None => Val::Arr(a),
            },
            _ => return Err(format!("can't be indexed in: {}", first.repr())),
        };
    }
    Ok(cur)
}

/// `exists OBJ NAME`: a wrong argument is only warned about, and gives false.
fn exists(obj: &Val, name: &Val, warnings: &mut Vec<String>) -> Val<'static> {
    let found = match (obj, name) {
        (Val::Obj(o), Val::Str(n)) => o.contains_key(n.as_ref()),
        (Val::Obj(_), _) => {
            warnings.push(format!(
                "argument 2 to exists has wrong type in: {}",
                obj.repr()
            ));
            false
        }
        _ => {
            warnings.push(format!(
                "argument 1 to exists has wrong type in: {}",
                obj.repr()
            ));
            false
        }
    };
    Val::Bool(found)
}

/// `add`, `sub`, `mul` (any number of arguments) and `div` (two): computed in floating
/// point, the result is a "number"; `div` truncates its quotient, as the reference does.
fn arithmetic<'a>(f: Func, first: &Val, rest: &[Val]) -> Result<Val<'a>, String> {
    let num = |i: usize, v: &Val| match v {
        Val::Int(n) => Ok(*n as f64),
        Val::Num(x) => Ok(*x),
        _ => Err(format!("bad type of argument {} to {}", i + 1, f.name())),
    };
    let mut acc = num(0, first)?;
    for (i, v) in rest.iter().enumerate() {
        let x = num(i + 1, v)?;
        acc = match f {
            Func::Add => acc + x,
            Func::Sub => acc - x,
            Func::Mul => acc * x,
            _ => (acc / x).trunc(),
        };
    }
    // x86 makes negative NaNs (printed `-nan`); be the same whatever the compiler folds.
    if acc.is_nan() {
        acc = -f64::NAN.abs();
    }
    Ok(Val::Num(acc))
}
