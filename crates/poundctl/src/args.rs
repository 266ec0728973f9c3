//! The command line: `poundctl [-hjkVv] [-C FILE] [-f FILE] [-i N] [-K FILE] [-S NAME]
//! [-s SOCKET|URL] [-T NAME] [-t FILE] [-W FEATURE] [COMMAND [/L/S/B] [ARG]]`.
//!
//! Parsed the way the original poundctl's getopt(3) does, by hand, because scripts depend on
//! it: bundled flags (`-jv`), attached values (`-s/run/pound.sock`), options only before the
//! command (everything after it is the command's: `log -d /1`, a session key `-k`), `--` to
//! end the options, and getopt's own error texts.

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
    /// `-s SOCKET` or `-s URL`: the control socket or interface, overriding `~/.poundctl`
    /// and the configuration.
    pub socket: Option<String>,
    /// `-S NAME`: the `Server "NAME"` section of `~/.poundctl` to use.
    pub server: Option<String>,
    /// `-C FILE|DIR`: certificate authorities for an `https://` interface.
    pub ca: Option<PathBuf>,
    /// `-K FILE`: client certificate and key for an `https://` interface.
    pub client_cert: Option<PathBuf>,
    /// `-k`: do not verify the `https://` interface's certificate.
    pub insecure: bool,
    /// `-t FILE`: the template file, instead of searching the template path.
    pub template_file: Option<String>,
    /// `-T NAME`: the template to run, instead of `default`.
    pub template_name: Option<String>,
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
            server: None,
            ca: None,
            client_cert: None,
            insecure: false,
            template_file: None,
            template_name: None,
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
    Run(Box<Options>, Command),
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
            // Options end at the command: what follows is its arguments, as for pound's
            // poundctl (`log -d /1`, a session key that starts with `-`).
            words.push(arg);
            for rest in args.by_ref() {
                words.push(rest?);
            }
            break;
        };
        for (i, c) in flags.char_indices() {
            if !matches!(c, 'f' | 'i' | 's' | 'T' | 't' | 'W' | 'C' | 'K' | 'S') {
                match c {
                    'h' => return Ok(Invocation::Help),
                    'V' => return Ok(Invocation::Version),
                    'j' => opts.json = true,
                    'v' => opts.verbose += 1,
                    'k' => opts.insecure = true,
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
    Ok(Invocation::Run(Box::new(opts), Command::parse(&words)?))
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
            if value.is_empty() {
                return Err("-s: empty socket name".into());
            }
            opts.socket = Some(value);
        }
        'S' => opts.server = Some(value),
        'C' => opts.ca = Some(PathBuf::from(value)),
        'K' => opts.client_cert = Some(PathBuf::from(value)),
        'i' => {
            opts.indent = value
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= 64)
                .ok_or_else(|| format!("invalid indentation: {value} (expected 0 to 64)"))?;
        }
        'W' => feature(opts, &value)?,
        'T' => opts.template_name = Some(value),
        't' => opts.template_file = Some(value),
        _ => return Err(format!("invalid option -- '{c}'")),
    }
    Ok(())
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
Show the state of a running pound and change it through its control socket
or its control service.

/L/S/B names an object: L is a listener, S a service within it, B a backend
within that service. L and S are numbers (counting from 0) or the names given
in the configuration; B is a number. '-' in place of L means the services
defined outside any listener. Commands need either /L, /L/S or /L/S/B.

Commands:

   core              show the server's figures
   list [/L/S/B]     show everything (the default), or one object
   enable /L/S/B     enable a listener, service or backend (also: on)
   disable /L/S/B    disable a listener, service or backend (also: off)
   delete /L/S KEY   delete the session KEY from a service (also: del)
   add /L/S/B KEY    add a session KEY pinned to a backend
   log [/L]          show the request-log level of the server or listener L
   log /[L] LEVEL    set it
   log -d /L         make listener L follow the server's level
   log -d            set the server's level to \"null\"

Options:

   -C FILE|DIR       trust the certificate authorities in FILE or DIR
   -f FILE           read the Control statement from FILE
                     (default: {cfg})
   -h                print this help and exit
   -i N              indent JSON output by N spaces per level
   -j                print the reply as JSON
   -K FILE           present the certificate and key in FILE
   -k                do not verify the server's certificate
   -S NAME           use the Server \"NAME\" section of ~/.poundctl
   -s SOCKET|URL     use the control socket SOCKET, or the control
                     service at URL (http[s]://[USER[:PASS]@]HOST[:PORT][/PATH])
   -T NAME           run the template NAME (default: default)
   -t FILE           read templates from FILE
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
        ("Configuration file:", "~/.poundctl".to_string()),
        ("Pound configuration file:", default_config_file()),
        ("Template search path:", crate::templates::default_path()),
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
            Ok(Invocation::Run(o, c)) => (*o, c),
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
        assert!(!o.json && !o.config_given && o.socket.is_none() && !o.insecure);
        assert_eq!(c, Command::List(None));
    }

    #[test]
    fn options_bundled_attached_and_separate() {
        let (o, c) = run(&["-jv", "-s/run/p.sock", "-i", "2", "-f", "x.cfg", "list"]);
        assert!(o.json);
        assert_eq!(o.verbose, 1);
        assert_eq!(o.socket.as_deref(), Some("/run/p.sock"));
        assert_eq!(o.indent, 2);
        assert_eq!(o.config_file, "x.cfg");
        assert!(o.config_given);
        assert_eq!(c, Command::List(None));
        let (o, _) = run(&["-vvjs", "/s"]);
        assert_eq!((o.verbose, o.json), (2, true));
        assert_eq!(o.socket.as_deref(), Some("/s"));
    }

    #[test]
    fn options_end_at_the_command() {
        // As pound's poundctl: after the command, words are the command's.
        assert_eq!(
            p(&["disable", "/1/0", "-j"]),
            Err("too many arguments".into())
        );
        let (_, c) = run(&["add", "/1/0/0", "-key"]);
        assert_eq!(c, Command::AddSession(addr("/1/0/0"), "-key".into()));
        let (o, c) = run(&["-j", "log", "-d", "/1"]);
        assert!(o.json);
        assert_eq!(c.request(), ("DELETE", "/log/1".into()));
    }

    #[test]
    fn double_dash_ends_options() {
        let (o, c) = run(&["-s", "/s", "--", "add", "/1/0/0", "-key"]);
        assert!(!o.json);
        assert_eq!(c, Command::AddSession(addr("/1/0/0"), "-key".into()));
        // After the command, `--` is a word like any other.
        assert_eq!(
            p(&["add", "/1/0/0", "--", "-key"]),
            Err("too many arguments".into())
        );
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
        // After the command, -h is the command's (and too much for it).
        assert!(p(&["bogus", "-h"]).is_err());
        assert_eq!(p(&["-x", "-h"]), Err("invalid option -- 'x'".into()));
    }

    #[test]
    fn remote_and_template_options() {
        let (o, _) = run(&[
            "-k",
            "-C",
            "ca.pem",
            "-Kme.pem",
            "-S",
            "web",
            "-s",
            "https://h/",
            "-T",
            "xml",
            "-t",
            "my.tmpl",
            "core",
        ]);
        assert!(o.insecure);
        assert_eq!(o.ca, Some(PathBuf::from("ca.pem")));
        assert_eq!(o.client_cert, Some(PathBuf::from("me.pem")));
        assert_eq!(o.server.as_deref(), Some("web"));
        assert_eq!(o.socket.as_deref(), Some("https://h/"));
        assert_eq!(o.template_name.as_deref(), Some("xml"));
        assert_eq!(o.template_file.as_deref(), Some("my.tmpl"));
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
        for o in ["-C", "-K", "-S", "-t", "-T"] {
            let c = &o[1..];
            assert_eq!(err(&[o]), format!("option requires an argument -- '{c}'"));
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
            "Pound configuration file:   {SYSCONFDIR}/pound.cfg\n"
        )));
        assert!(version().contains("Configuration file:         ~/.poundctl\n"));
    }
}
