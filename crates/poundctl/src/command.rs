//! The commands (`list`, `enable`, `disable`, `delete`, `add` and their short forms) and the
//! HTTP request each one sends (control-api.md, the command table).

use pound_control::Object;

use crate::address::Address;

/// One thing poundctl can ask of pound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `list [/L[/S[/B]]]`: everything, or one object and what it contains.
    List(Option<Address>),
    /// `enable /L[/S[/B]]` (`on`).
    Enable(Address),
    /// `disable /L[/S[/B]]` (`off`).
    Disable(Address),
    /// `delete /L/S KEY` (`del`): forget a session.
    DeleteSession(Address, String),
    /// `add /L/S/B KEY`: pin a session key to a backend.
    AddSession(Address, String),
    /// `core` (pound 4.18): the process's figures.
    Core,
    /// `log [-d] [[/]L] [LEVEL]` (pound 4.23): show, set or clear the request-log level of
    /// the server (no listener) or of listener L.
    Log {
        listener: Option<String>,
        level: Option<String>,
        clear: bool,
    },
}

/// What a successful reply carries, which decides how it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// A listing (the whole state, a listener, a service or a backend).
    Object,
    /// `true` or `false`: whether the change was made.
    Flag,
    /// The process's figures.
    Core,
    /// A log level.
    Log,
}

impl Command {
    /// Builds the command from the words after the options: the command name (none means
    /// `list`) and its arguments.
    pub fn parse(words: &[String]) -> Result<Command, String> {
        let Some((name, args)) = words.split_first() else {
            return Ok(Command::List(None));
        };
        match name.as_str() {
            "list" => match args {
                [] => Ok(Command::List(None)),
                // `/` alone is the whole listing, as with the original poundctl.
                [a] if a == "/" => Ok(Command::List(None)),
                [a] => Ok(Command::List(Some(Address::parse(a)?))),
                _ => Err("too many arguments".into()),
            },
            "enable" | "on" => Ok(Command::Enable(one_address(args)?)),
            "disable" | "off" => Ok(Command::Disable(one_address(args)?)),
            "delete" | "del" => {
                let (address, key) = address_and_key(args)?;
                match address.depth() {
                    1 => Err("bad address: service not specified".into()),
                    2 => Ok(Command::DeleteSession(address, key)),
                    _ => Err("bad address: a session is deleted from a service; \
                              leave out the backend"
                        .into()),
                }
            }
            "add" => {
                let (address, key) = address_and_key(args)?;
                if address.depth() == 3 {
                    Ok(Command::AddSession(address, key))
                } else {
                    Err("bad address: backend not specified".into())
                }
            }
            "core" if args.is_empty() => Ok(Command::Core),
            "core" => Err("too many arguments".into()),
            "log" => {
                let (clear, args) = match args.split_first() {
                    Some((d, rest)) if d == "-d" => (true, rest),
                    _ => (false, args),
                };
                // The leading slash is optional; `/` alone is the server.
                let listener = |a: &str| {
                    let l = a.strip_prefix('/').unwrap_or(a);
                    (!l.is_empty()).then(|| l.to_string())
                };
                match (args, clear) {
                    ([], _) => Ok(Command::Log {
                        listener: None,
                        level: None,
                        clear,
                    }),
                    ([l], _) => Ok(Command::Log {
                        listener: listener(l),
                        level: None,
                        clear,
                    }),
                    ([l, level], false) => Ok(Command::Log {
                        listener: listener(l),
                        level: Some(level.clone()),
                        clear,
                    }),
                    _ => Err("too many arguments".into()),
                }
            }
            other => Err(format!(
                "unknown command: {other} (try 'poundctl -h' for the list)"
            )),
        }
    }

    /// The request method and target, exactly as pound expects them.
    pub fn request(&self) -> (&'static str, String) {
        match self {
            Command::List(None) => ("GET", Object::Pound.target()),
            Command::List(Some(a)) => ("GET", a.object().target()),
            Command::Enable(a) => ("PUT", a.object().target()),
            Command::Disable(a) => ("DELETE", a.object().target()),
            Command::DeleteSession(a, key) => ("DELETE", a.session(key).target()),
            Command::AddSession(a, key) => ("PUT", a.session(key).target()),
            Command::Core => ("GET", Object::Core.target()),
            Command::Log {
                listener,
                level,
                clear,
            } => {
                let method = match (clear, level) {
                    (true, _) => "DELETE",
                    (false, Some(_)) => "PUT",
                    (false, None) => "GET",
                };
                let object = Object::Log {
                    listener: listener.clone(),
                    level: level.clone(),
                };
                (method, object.target())
            }
        }
    }

    /// What the reply to this command holds.
    pub fn reply_kind(&self) -> ReplyKind {
        match self {
            Command::Enable(_) | Command::Disable(_) => ReplyKind::Flag,
            Command::Core => ReplyKind::Core,
            Command::Log { .. } => ReplyKind::Log,
            _ => ReplyKind::Object,
        }
    }
}

fn one_address(args: &[String]) -> Result<Address, String> {
    match args {
        [] => Err("required argument missing".into()),
        [a] => Address::parse(a),
        _ => Err("too many arguments".into()),
    }
}

fn address_and_key(args: &[String]) -> Result<(Address, String), String> {
    match args {
        [] | [_] => Err("required argument missing".into()),
        [a, key] => Ok((Address::parse(a)?, key.clone())),
        _ => Err("too many arguments".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(words: &[&str]) -> Result<(&'static str, String), String> {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        Command::parse(&words).map(|c| c.request())
    }

    fn ok(words: &[&str]) -> (&'static str, String) {
        match request(words) {
            Ok(r) => r,
            Err(e) => panic!("{words:?}: {e}"),
        }
    }

    #[test]
    fn requests() {
        assert_eq!(ok(&[]), ("GET", "/listener".into()));
        assert_eq!(ok(&["list"]), ("GET", "/listener".into()));
        assert_eq!(ok(&["list", "/"]), ("GET", "/listener".into()));
        assert_eq!(ok(&["list", "/1"]), ("GET", "/listener/1".into()));
        assert_eq!(ok(&["list", "/-/0"]), ("GET", "/listener/-/0".into()));
        assert_eq!(
            ok(&["list", "/main/web/2"]),
            ("GET", "/listener/main/web/2".into())
        );
        assert_eq!(ok(&["enable", "/1/0/2"]), ("PUT", "/listener/1/0/2".into()));
        assert_eq!(ok(&["on", "/1"]), ("PUT", "/listener/1".into()));
        assert_eq!(ok(&["disable", "/1/0"]), ("DELETE", "/listener/1/0".into()));
        assert_eq!(ok(&["off", "/-/0/1"]), ("DELETE", "/listener/-/0/1".into()));
        assert_eq!(
            ok(&["delete", "/1/0", "abc"]),
            ("DELETE", "/session/1/0?key=abc".into())
        );
        assert_eq!(
            ok(&["del", "/main/web", "10.0.0.1"]),
            ("DELETE", "/session/main/web?key=10.0.0.1".into())
        );
        assert_eq!(
            ok(&["add", "/1/0/1", "abc"]),
            ("PUT", "/session/1/0/1?key=abc".into())
        );
        assert_eq!(ok(&["core"]), ("GET", "/core/".into()));
        assert_eq!(ok(&["log"]), ("GET", "/log/".into()));
        assert_eq!(ok(&["log", "/"]), ("GET", "/log/".into()));
        assert_eq!(ok(&["log", "/3"]), ("GET", "/log/3".into()));
        assert_eq!(ok(&["log", "3"]), ("GET", "/log/3".into()));
        assert_eq!(ok(&["log", "/", "2"]), ("PUT", "/log/?level=2".into()));
        assert_eq!(
            ok(&["log", "/3", "combined"]),
            ("PUT", "/log/3?level=combined".into())
        );
        assert_eq!(ok(&["log", "-d", "/3"]), ("DELETE", "/log/3".into()));
        assert_eq!(ok(&["log", "-d"]), ("DELETE", "/log/".into()));
    }

    #[test]
    fn reply_kinds() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let kind = |w: &[&str]| Command::parse(&words(w)).map(|c| c.reply_kind());
        assert_eq!(kind(&["list"]), Ok(ReplyKind::Object));
        assert_eq!(kind(&["on", "/1"]), Ok(ReplyKind::Flag));
        assert_eq!(kind(&["off", "/1"]), Ok(ReplyKind::Flag));
        assert_eq!(kind(&["add", "/1/0/0", "k"]), Ok(ReplyKind::Object));
        assert_eq!(kind(&["del", "/1/0", "k"]), Ok(ReplyKind::Object));
    }

    #[test]
    fn errors() {
        let err = |w: &[&str]| request(w).err().unwrap_or_default();
        assert_eq!(err(&["list", "/1", "/2"]), "too many arguments");
        assert_eq!(err(&["enable"]), "required argument missing");
        assert_eq!(err(&["disable", "/1", "/2"]), "too many arguments");
        assert_eq!(err(&["delete", "/1/0"]), "required argument missing");
        assert_eq!(
            err(&["delete", "/1", "k"]),
            "bad address: service not specified"
        );
        assert_eq!(
            err(&["delete", "/1/0/0", "k"]),
            "bad address: a session is deleted from a service; leave out the backend"
        );
        assert_eq!(
            err(&["add", "/1/0", "k"]),
            "bad address: backend not specified"
        );
        assert_eq!(err(&["add", "/1/0/0", "k", "x"]), "too many arguments");
        assert_eq!(
            err(&["enable", "1"]),
            "bad address 1: should start with a / (for example /0/1/2)"
        );
        assert_eq!(
            err(&["stop"]),
            "unknown command: stop (try 'poundctl -h' for the list)"
        );
    }
}
