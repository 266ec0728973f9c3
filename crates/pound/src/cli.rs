//! The command line: `pound [-FVcehv] [-W [no-]FEATURE] [-f CONF-FILE] [-p PID-FILE]`
//! (pound.8, OPTIONS).
//!
//! Parsed getopt(3)-style by hand rather than with an argument-parsing crate, because
//! operators' scripts see its behaviour and messages: bundled flags (`-cF`), attached values
//! (`-fpound.cfg`, `-Wno-dns`), `--`, and getopt's own error texts.

use std::ffi::OsString;
use std::path::PathBuf;

pub use pound_config::dirs::{LOCALSTATEDIR, SYSCONFDIR};

pub fn default_config_file() -> String {
    format!("{SYSCONFDIR}/pound.cfg")
}

pub fn default_pid_file() -> String {
    format!("{LOCALSTATEDIR}/run/pound.pid")
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub check_only: bool,
    pub log_to_stderr: bool,
    pub foreground: bool,
    pub help: bool,
    pub verbose: bool,
    pub version: bool,
    pub config_file: String,
    pub pid_file: Option<PathBuf>,
    /// `-W [no-]dns`: resolve host names in the configuration.
    pub dns: bool,
    /// `-W include-dir=DIR` / `-W no-include-dir` (`None`: the current directory).
    pub include_dir: Option<PathBuf>,
    /// The include directory was given with `-W include-dir=DIR`: pound checks it before
    /// reading the configuration.
    pub include_dir_given: bool,
    /// `-W [no-]warn-deprecated`.
    pub warn_deprecated: bool,
    /// `-W [no-]close-extra-fds` (pound 4.23): close inherited descriptors above 2 at start.
    pub close_extra_fds: bool,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            check_only: false,
            log_to_stderr: false,
            foreground: false,
            help: false,
            verbose: false,
            version: false,
            config_file: default_config_file(),
            pid_file: None,
            dns: true,
            include_dir: Some(PathBuf::from(SYSCONFDIR)),
            include_dir_given: false,
            warn_deprecated: true,
            close_extra_fds: true,
        }
    }
}

/// Parses the arguments after the program name. The error is the message to print after
/// `pound: `.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Args, String> {
    let mut out = Args::default();
    let mut args = args.into_iter().map(|a| a.to_string_lossy().into_owned());
    let mut extra = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--" {
            extra.extend(args.by_ref());
            break;
        }
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            extra.push(arg);
            continue;
        };
        for (i, c) in flags.char_indices() {
            match c {
                'c' => out.check_only = true,
                'e' => {
                    out.log_to_stderr = true;
                    out.foreground = true;
                }
                'F' => out.foreground = true,
                'h' => out.help = true,
                'v' => out.verbose = true,
                'V' => out.version = true,
                'f' | 'p' | 'W' => {
                    let attached = &flags[i + c.len_utf8()..];
                    let value = if attached.is_empty() {
                        args.next()
                            .ok_or_else(|| format!("option requires an argument -- '{c}'"))?
                    } else {
                        attached.to_string()
                    };
                    match c {
                        'f' => out.config_file = value,
                        'p' => out.pid_file = Some(PathBuf::from(value)),
                        _ => feature(&mut out, &value)?,
                    }
                    break;
                }
                _ => return Err(format!("invalid option -- '{c}'")),
            }
        }
    }
    if !extra.is_empty() {
        return Err(format!("unknown extra arguments ({}...)", extra[0]));
    }
    Ok(out)
}

/// `-W [no-]FEATURE`.
fn feature(out: &mut Args, spec: &str) -> Result<(), String> {
    match spec {
        "dns" => out.dns = true,
        "no-dns" => out.dns = false,
        "warn-deprecated" => out.warn_deprecated = true,
        "no-warn-deprecated" => out.warn_deprecated = false,
        "close-extra-fds" => out.close_extra_fds = true,
        "no-close-extra-fds" => out.close_extra_fds = false,
        "no-include-dir" => {
            out.include_dir = None;
            out.include_dir_given = false;
        }
        _ => match spec.strip_prefix("include-dir=") {
            Some(dir) if !dir.is_empty() => {
                out.include_dir = Some(PathBuf::from(dir));
                out.include_dir_given = true;
            }
            _ => return Err(format!("invalid feature name: {spec}")),
        },
    }
    Ok(())
}

/// The `-h` text.
pub fn usage() -> String {
    let cfg = default_config_file();
    let pid = default_pid_file();
    format!(
        "usage: pound [-FVcehv] [-W [no-]FEATURE] [-f FILE] [-p FILE]
HTTP/HTTPS reverse-proxy and load-balancer

Options are:

   -c               check configuration file syntax and exit
   -e               print errors on stderr (implies -F)
   -F               remain in foreground after startup
   -f FILE          read configuration from FILE
                    (default: {cfg})
   -p FILE          write PID to FILE
                    (default: {pid})
   -V               print program version, compilation settings, and exit
   -v               print log messages to stdout/stderr during startup
   -W [no-]FEATURE  enable or disable optional feature

FEATUREs are:
   dns              resolve host names found in configuration file (default)
   include-dir      include file directory
   warn-deprecated  warn if deprecated configuration statements are used (default)
   close-extra-fds  close file descriptors greater than 2 at startup (default)
"
    )
}

/// The `-V` text: version, licence, and build settings.
pub fn version() -> String {
    let rows = [
        ("Configuration file:", default_config_file()),
        ("Include directory:", SYSCONFDIR.to_string()),
        ("PID file:", default_pid_file()),
        ("Regex types:", "POSIX, PCRE".to_string()),
        // How `-filewatch` files are watched (the manual points operators here).
        ("FS event monitoring:", "inotify".to_string()),
    ];
    let mut text = format!(
        "pound (pound) {} (pound-rs {})
License GPLv3+: GNU GPL version 3 or later <http://gnu.org/licenses/gpl.html>
This is free software: you are free to change and redistribute it.
There is NO WARRANTY, to the extent permitted by law.

Built-in defaults:

",
        crate::POUND_VERSION,
        crate::VERSION
    );
    for (key, value) in rows {
        text.push_str(&format!("{key:<28}{value}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Args, String> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn defaults() {
        let a = p(&[]).unwrap();
        assert_eq!(a.config_file, format!("{SYSCONFDIR}/pound.cfg"));
        assert_eq!(a.include_dir, Some(PathBuf::from(SYSCONFDIR)));
        assert!(a.dns && a.warn_deprecated && !a.check_only);
    }

    #[test]
    fn bundled_and_attached() {
        let a = p(&["-cv", "-fpound.cfg", "-Wno-dns", "-p", "/run/p.pid"]).unwrap();
        assert!(a.check_only && a.verbose);
        assert_eq!(a.config_file, "pound.cfg");
        assert!(!a.dns);
        assert_eq!(a.pid_file, Some(PathBuf::from("/run/p.pid")));
        let a = p(&["-cf", "x.cfg"]).unwrap();
        assert_eq!(a.config_file, "x.cfg");
    }

    #[test]
    fn e_implies_foreground() {
        let a = p(&["-e"]).unwrap();
        assert!(a.log_to_stderr && a.foreground);
    }

    #[test]
    fn include_dir_features() {
        assert_eq!(
            p(&["-W", "include-dir=/x"]).unwrap().include_dir,
            Some(PathBuf::from("/x"))
        );
        assert_eq!(p(&["-Wno-include-dir"]).unwrap().include_dir, None);
    }

    #[test]
    fn errors() {
        assert_eq!(p(&["-x"]), Err("invalid option -- 'x'".into()));
        assert_eq!(p(&["-f"]), Err("option requires an argument -- 'f'".into()));
        assert_eq!(
            p(&["-W", "bogus"]),
            Err("invalid feature name: bogus".into())
        );
        assert_eq!(
            p(&["-W", "include-dir="]),
            Err("invalid feature name: include-dir=".into())
        );
        assert_eq!(p(&["a", "b"]), Err("unknown extra arguments (a...)".into()));
        assert_eq!(
            p(&["--", "-c"]),
            Err("unknown extra arguments (-c...)".into())
        );
    }
}
