//! The command line: `poundctl [-hjVv] [-f FILE] [-i N] [-s SOCKET] [-W FEATURE] [-T NAME]
//! [COMMAND [/L/S/B] [ARG]]`.
//!
//! Parsed the way the original poundctl's getopt(3) does, by hand, because scripts depend on
//! it: bundled flags (`-jv`), attached values (`-s/run/pound.sock`), options anywhere among
//! the words (GNU getopt permutes, so `poundctl list /1 -j` works), `--` to end the options
//! (needed for a session key that starts with `-`), and getopt's own error texts.
//!
//! Options of newer pound releases that this poundctl does not implement (templates, TLS
//! connections to remote servers) are recognised and refused with a reason, never ignored.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::command::Command;

pub use pound_config::dirs::SYSCONFDIR;

/// pound's default configuration file, where the control socket is looked up.
pub fn default_config_file() -> String {
    format!("{SYSCONFDIR}/pound.cfg")
}

/// How to reach pound and how to show what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `-f FILE`: pound's configuration file, read for its `Control` statement.
    pub config_file: String,
    /// Whether `-f` was given: a missing default file is not worth a message of its own.
    pub config_given: bool,
    /// `-W include-dir=DIR` / `-W no-include-dir`: where relative names in the
    /// configuration resolve, as for pound (`None`: the current directory).
    pub include_dir: Option<PathBuf>,
    /// `-s SOCKET`: the control socket, overriding the configuration.
    pub socket: Option<PathBuf>,
    /// `-j`: print the reply as JSON instead of the human-readable layout.
    pub json: bool,
    /// `-i N`: indent JSON output by N spaces per level (0: all on one line).
    pub indent: usize,
    /// `-v`, repeatable: say what is being done on standard error.
    pub verbose: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config_file: default_config_file(),
            config_given: false,
            include_dir: Some(PathBuf::from(SYSCONFDIR)),
            socket: None,
            json: false,
            indent: 0,
            verbose: 0,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// `-h`.
    Help,
    /// `-V`.
    Version,
    /// Talk to pound.
    Run(Options, Command),
}

/// Parses the arguments after the program name. The error is the message to print after
/// `poundctl: `.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Invocation, String> {
    let mut opts = Options::default();
    let mut words = Vec::new();
    let mut args = args.into_iter().map(utf8);
    while let Some(arg) = args.next() {
        let arg = arg?;
        if arg == "--" {
            for rest in args.by_ref() {
                words.push(rest?);
            }
            break;
        }
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            words.push(arg);
            continue;
        };
        for (i, c) in flags.char_indices() {
            if !matches!(c, 'f' | 'i' | 's' | 'T' | 't' | 'W' | 'C' | 'K' | 'S') {
                match c {
                    'h' => return Ok(Invocation::Help),
                    'V' => return Ok(Invocation::Version),
                    'j' => opts.json = true,
                    'v' => opts.verbose += 1,
                    'k' => return Err(remote_only('k')),
                    _ => return Err(format!("invalid option -- '{c}'")),
                }
                continue;
            }
            let attached = &flags[i + c.len_utf8()..];
            let value = if attached.is_empty() {
                match args.next() {
                    Some(v) => v?,
                    None => return Err(format!("option requires an argument -- '{c}'")),
                }
            } else {
                attached.to_string()
            };
            with_value(&mut opts, c, value)?;
            break;
        }
    }
    Ok(Invocation::Run(opts, Command::parse(&words)?))
}

/// Arguments are names, paths and session keys: refuse what is not text rather than alter it.
fn utf8(arg: OsString) -> Result<String, String> {
    arg.into_string()
        .map_err(|a| format!("argument is not valid UTF-8: {}", a.to_string_lossy()))
}

/// Applies an option that takes a value.
fn with_value(opts: &mut Options, c: char, value: String) -> Result<(), String> {
    match c {
        'f' => {
            opts.config_file = value;
            opts.config_given = true;
        }
        's' => {
            if value.contains("://") {
                return Err(format!(
                    "-s {value}: URLs are not supported; give the path of the control socket"
                ));
            }
            if value.is_empty() {
                return Err("-s: empty socket name".into());
            }
            opts.socket = Some(PathBuf::from(value));
        }
        'i' => {
            opts.indent = value
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= 64)
                .ok_or_else(|| format!("invalid indentation: {value} (expected 0 to 64)"))?;
        }
        'W' => feature(opts, &value)?,
        // The original's default template is built in; it is the only one there is.
        'T' if value == "default" => {}
        'T' => {
            return Err(format!(
                "template {value} not defined (this poundctl has only the built-in \
                 \"default\" layout; use -j for JSON)"
            ))
        }
        't' => {
            return Err(format!(
                "-t {value}: template files are not supported (the built-in layout \
                 follows pound's default template; use -j for JSON)"
            ))
        }
        _ => return Err(remote_only(c)),
    }
    Ok(())
}

/// `-C`, `-K`, `-k`, `-S`: TLS and `~/.poundctl` servers of newer pound releases.
fn remote_only(c: char) -> String {
    format!(
        "option -{c} is not supported: this poundctl talks to pound over its local \
         control socket only"
    )
}

/// `-W include-dir=DIR` and `-W no-include-dir`, as for pound.
fn feature(opts: &mut Options, spec: &str) -> Result<(), String> {
    match spec {
        "no-include-dir" => opts.include_dir = None,
        _ => match spec.strip_prefix("include-dir=") {
            Some(dir) if !dir.is_empty() => opts.include_dir = Some(PathBuf::from(dir)),
            _ => {
                return Err(format!(
                    "invalid feature name: {spec} (poundctl knows include-dir=DIR and \
                     no-include-dir)"
                ))
            }
        },
    }
    Ok(())
}

/// The `-h` text.
pub fn usage() -> String {
    let cfg = default_config_file();
    format!(
        "usage: poundctl [OPTIONS] [COMMAND [/L/S/B] [ARG]]
Show the state of a running pound and change it through its control socket.

/L/S/B names an object: L is a listener, S a service within it, B a backend
within that service. L and S are numbers (counting from 0) or the names given
in the configuration; B is a number. '-' in place of L means the services
defined outside any listener. Commands need either /L, /L/S or /L/S/B.

Commands:

   list [/L/S/B]     show everything (the default), or one object
   enable /L/S/B     enable a listener, service or backend (also: on)
   disable /L/S/B    disable a listener, service or backend (also: off)
   delete /L/S KEY   delete the session KEY from a service (also: del)
   add /L/S/B KEY    add a session KEY pinned to a backend

Options:

   -f FILE           read the Control statement from FILE
                     (default: {cfg})
   -h                print this help and exit
   -i N              indent JSON output by N spaces per level
   -j                print the reply as JSON
   -s SOCKET         use the control socket SOCKET
   -T default        use the default layout (the only built-in one)
   -V                print the version and built-in defaults, and exit
   -v                describe what is done on standard error
   -W include-dir=DIR
                     resolve relative names in FILE against DIR
                     (default: {SYSCONFDIR})
   -W no-include-dir resolve relative names in FILE against the current
                     directory

Use -- before a KEY that starts with '-'.
"
    )
}

/// The `-V` text.
pub fn version() -> String {
    let mut text = format!(
        "poundctl (pound) {} (pound-rs {})
License GPLv3+: GNU GPL version 3 or later <http://gnu.org/licenses/gpl.html>
This is free software: you are free to change and redistribute it.
There is NO WARRANTY, to the extent permitted by law.

Built-in defaults:

",
        pound_config::POUND_VERSION,
        env!("CARGO_PKG_VERSION")
    );
    for (key, value) in [
        ("Configuration file:", default_config_file()),
        ("Include directory:", SYSCONFDIR.to_string()),
    ] {
        text.push_str(&format!("{key:<28}{value}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;

    fn p(args: &[&str]) -> Result<Invocation, String> {
        parse(args.iter().map(OsString::from))
    }

    fn run(args: &[&str]) -> (Options, Command) {
        match p(args) {
            Ok(Invocation::Run(o, c)) => (o, c),
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn addr(s: &str) -> Address {
        match Address::parse(s) {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn defaults() {
        let (o, c) = run(&[]);
        assert_eq!(o, Options::default());
        assert_eq!(o.config_file, format!("{SYSCONFDIR}/pound.cfg"));
        assert_eq!(o.include_dir, Some(PathBuf::from(SYSCONFDIR)));
        assert!(!o.json && !o.config_given && o.socket.is_none());
        assert_eq!(c, Command::List(None));
    }

    #[test]
    fn options_bundled_attached_and_separate() {
        let (o, c) = run(&["-jv", "-s/run/p.sock", "-i", "2", "-f", "x.cfg", "list"]);
        assert!(o.json);
        assert_eq!(o.verbose, 1);
        assert_eq!(o.socket, Some(PathBuf::from("/run/p.sock")));
        assert_eq!(o.indent, 2);
        assert_eq!(o.config_file, "x.cfg");
        assert!(o.config_given);
        assert_eq!(c, Command::List(None));
        let (o, _) = run(&["-vvjs", "/s"]);
        assert_eq!((o.verbose, o.json), (2, true));
        assert_eq!(o.socket, Some(PathBuf::from("/s")));
    }

    #[test]
    fn options_after_the_command_like_gnu_getopt() {
        let (o, c) = run(&["disable", "/1/0", "-j", "-s", "/s"]);
        assert!(o.json);
        assert_eq!(o.socket, Some(PathBuf::from("/s")));
        assert_eq!(c, Command::Disable(addr("/1/0")));
    }

    #[test]
    fn double_dash_ends_options() {
        let (o, c) = run(&["-s", "/s", "add", "/1/0/0", "--", "-key"]);
        assert!(!o.json);
        assert_eq!(c, Command::AddSession(addr("/1/0/0"), "-key".into()));
        // A lone `-` is a word, not an option.
        let (_, c) = run(&["list", "/-"]);
        assert_eq!(c, Command::List(Some(addr("/-"))));
    }

    #[test]
    fn include_dir_features() {
        let (o, _) = run(&["-W", "include-dir=/x"]);
        assert_eq!(o.include_dir, Some(PathBuf::from("/x")));
        let (o, _) = run(&["-Wno-include-dir"]);
        assert_eq!(o.include_dir, None);
    }

    #[test]
    fn help_and_version_win_at_once() {
        assert_eq!(p(&["-h", "-x"]), Ok(Invocation::Help));
        assert_eq!(p(&["-jV"]), Ok(Invocation::Version));
        assert_eq!(p(&["bogus", "-h"]), Ok(Invocation::Help));
        assert_eq!(p(&["-x", "-h"]), Err("invalid option -- 'x'".into()));
    }

    #[test]
    fn default_template_is_accepted() {
        let (o, _) = run(&["-T", "default"]);
        assert_eq!(o, Options::default());
    }

    #[test]
    fn errors() {
        let err = |args: &[&str]| p(args).err().unwrap_or_default();
        assert_eq!(err(&["-x"]), "invalid option -- 'x'");
        assert_eq!(err(&["-f"]), "option requires an argument -- 'f'");
        assert_eq!(err(&["-j", "-s"]), "option requires an argument -- 's'");
        assert_eq!(
            err(&["-i", "two"]),
            "invalid indentation: two (expected 0 to 64)"
        );
        assert_eq!(
            err(&["-i", "-1"]),
            "invalid indentation: -1 (expected 0 to 64)"
        );
        assert_eq!(
            err(&["-s", "https://host/"]),
            "-s https://host/: URLs are not supported; give the path of the control socket"
        );
        assert_eq!(
            err(&["-T", "xml"]),
            "template xml not defined (this poundctl has only the built-in \"default\" \
             layout; use -j for JSON)"
        );
        assert!(err(&["-t", "my.tmpl"]).starts_with("-t my.tmpl: template files are not"));
        for o in ["-k", "-Cca.pem", "-K", "-S"] {
            let e = if o == "-K" || o == "-S" {
                err(&[o, "x"])
            } else {
                err(&[o])
            };
            assert!(e.contains("is not supported"), "{o}: {e}");
        }
        assert_eq!(
            err(&["-W", "dns"]),
            "invalid feature name: dns (poundctl knows include-dir=DIR and no-include-dir)"
        );
        assert_eq!(
            err(&["list", "x"]),
            "bad address x: should start with a / (for example /0/1/2)"
        );
    }

    #[test]
    fn usage_mentions_defaults() {
        assert!(usage().starts_with("usage: poundctl [OPTIONS] [COMMAND [/L/S/B] [ARG]]\n"));
        assert!(usage().contains(&format!("(default: {SYSCONFDIR}/pound.cfg)")));
        assert!(version().contains(&format!(
            "Configuration file:         {SYSCONFDIR}/pound.cfg\n"
        )));
    }
}
