//! poundctl's own configuration file, `~/.poundctl` (pound 4.15, manual 12.3): where pound
//! is (`URL`), how to trust it (`CAFile`, `CAPath`, `ClientCert`, `Verify`), which template
//! to use (`TemplateFile`, `TemplatePath`, `TemplateName`), and `Server "NAME" ... End`
//! sections for `-S NAME`.
//!
//! The file has pound.cfg's syntax, so it is read with pound.cfg's lexer, and its messages
//! are pound's (`FILE:LINE.COL-COL: expected quoted string, but found literal`), as the
//! original poundctl prints them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pound_config::lexer::{Lexer, Token, TokenKind};
use pound_config::{Diagnostic, Span};

/// Where to connect and how: the file's global statements, or one `Server` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `URL`: a UNIX socket's file name or an `http://` / `https://` URL.
    pub url: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub ca_path: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    /// `Verify`: check the server's certificate (the default).
    pub verify: Option<bool>,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conf {
    pub global: Settings,
    pub template_file: Option<String>,
    pub template_path: Option<String>,
    pub template_name: Option<String>,
    /// `Server` sections in file order.
    pub servers: Vec<(String, Settings)>,
}

impl Conf {
    /// The settings of `-S NAME`.
    pub fn server(&self, name: &str) -> Result<&Settings, String> {
        self.servers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
            .ok_or_else(|| format!("{name}: no such server defined in configuration"))
    }
}

/// The file to read: `$POUNDCTL_CONF` (relative to the home directory unless absolute; set
/// but empty: none), else `~/.poundctl`. `None` when there is none to read.
pub fn file_name(env_value: Option<&str>, home: Option<&Path>) -> Option<PathBuf> {
    match env_value {
        Some("") => None,
        Some(name) if Path::new(name).is_absolute() => Some(PathBuf::from(name)),
        Some(name) => Some(home?.join(name)),
        None => Some(home?.join(".poundctl")),
    }
}

/// Included files nest at most this deep, so that a file including itself stops.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Reads the file at `path`; every message is one line for `poundctl: `. A missing
/// `~/.poundctl` is no error (`explicit`: the name came from `POUNDCTL_CONF`, where a
/// missing file is said, but still not fatal).
pub fn read(path: &Path, explicit: bool) -> Result<(Conf, Vec<String>), Vec<String>> {
    let mut notes = Vec::new();
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if explicit {
                notes.push(format!(
                    "can't stat {}: {}",
                    path.display(),
                    crate::client::describe(&e)
                ));
            }
            return Ok((Conf::default(), notes));
        }
        // A directory where the file should be reads as nothing, as a missing file.
        Err(_) if path.is_dir() => return Ok((Conf::default(), notes)),
        Err(e) => {
            return Err(vec![format!(
                "can't open {}: {}",
                path.display(),
                crate::client::describe(&e)
            )])
        }
    };
    let mut p = Reader {
        stack: vec![Lexer::new(Arc::from(path.display().to_string()), text)],
        peeked: None,
        warnings: Vec::new(),
        defined: Vec::new(),
    };
    let mut conf = Conf::default();
    match p.file(&mut conf) {
        Ok(()) => {
            notes.extend(p.warnings.iter().map(|d| d.to_string()));
            Ok((conf, notes))
        }
        Err(errors) => Err(errors.iter().map(|d| d.to_string()).collect()),
    }
}

struct Reader {
    /// The file being read, on top of those that include it.
    stack: Vec<Lexer>,
    peeked: Option<Token>,
    warnings: Vec<Diagnostic>,
    /// Where each `Server` section of `Conf::servers` is, for "previously defined here".
    defined: Vec<Span>,
}

type Res<T> = Result<T, Vec<Diagnostic>>;

fn err<T>(t: &Token, message: impl Into<String>) -> Res<T> {
    Err(vec![Diagnostic::error(&t.span, message)])
}

impl Reader {
    fn next(&mut self) -> Res<Token> {
        if let Some(t) = self.peeked.take() {
            return Ok(t);
        }
        let depth = self.stack.len();
        let Some(lexer) = self.stack.last_mut() else {
            return Err(vec![Diagnostic::plain("unexpected end of file")]);
        };
        let mut t = lexer.next_token(&mut self.warnings).map_err(|d| vec![d])?;
        if t.kind == TokenKind::Eof && depth > 1 {
            // The end of an included file ends its last statement.
            self.stack.pop();
            t.kind = TokenKind::Newline;
        }
        Ok(t)
    }

    /// `expected WHAT, but found KIND`.
    fn expected<T>(t: &Token, what: &str) -> Res<T> {
        err(
            t,
            format!("expected {what}, but found {}", t.kind.describe()),
        )
    }

    fn end_of_line(&mut self) -> Res<()> {
        let t = self.next()?;
        match t.kind {
            TokenKind::Newline => Ok(()),
            TokenKind::Eof => {
                self.peeked = Some(t);
                Ok(())
            }
            _ => err(&t, format!("unexpected {}", t.kind.describe())),
        }
    }

    /// A statement's one quoted-string argument.
    fn string(&mut self) -> Res<String> {
        let t = self.next()?;
        if t.kind != TokenKind::String {
            return Self::expected(&t, "quoted string");
        }
        self.end_of_line()?;
        Ok(t.text)
    }

    fn boolean(&mut self) -> Res<bool> {
        let t = self.next()?;
        if !matches!(
            t.kind,
            TokenKind::Ident | TokenKind::Number | TokenKind::Literal
        ) {
            return Self::expected(&t, "identifier, number or literal");
        }
        let value = match t.text.to_ascii_lowercase().as_str() {
            "1" | "yes" | "true" | "on" => true,
            "0" | "no" | "false" | "off" => false,
            _ => {
                return Err(vec![
                    Diagnostic::error(&t.span, "not a boolean value"),
                    Diagnostic::error(
                        &t.span,
                        "valid booleans are: 1, yes, true, on for true value, and 0, no, \
                         false, off for false value",
                    ),
                ])
            }
        };
        self.end_of_line()?;
        Ok(value)
    }

    /// A statement that both the global scope and `Server` sections have.
    fn setting(&mut self, kw: &Token, s: &mut Settings) -> Res<bool> {
        let kw = kw.text.to_ascii_lowercase();
        match kw.as_str() {
            "url" => s.url = Some(self.string()?),
            "cafile" => s.ca_file = Some(self.string()?.into()),
            "capath" => s.ca_path = Some(self.string()?.into()),
            "clientcert" => s.client_cert = Some(self.string()?.into()),
            "verify" => s.verify = Some(self.boolean()?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The statements of the file, up to its end.
    fn file(&mut self, conf: &mut Conf) -> Res<()> {
        loop {
            let t = self.next()?;
            match t.kind {
                TokenKind::Newline => continue,
                TokenKind::Eof => return Ok(()),
                TokenKind::Ident => {}
                _ => return err(&t, "syntax error"),
            }
            if self.setting(&t, &mut conf.global)? {
                continue;
            }
            match t.text.to_ascii_lowercase().as_str() {
                "templatefile" => conf.template_file = Some(self.string()?),
                "templatepath" => conf.template_path = Some(self.string()?),
                "templatename" => conf.template_name = Some(self.string()?),
                "server" => self.server(conf)?,
                "include" => self.include()?,
                _ => return err(&t, "unrecognized keyword"),
            }
        }
    }

    /// `Server "NAME"` ... `End`.
    fn server(&mut self, conf: &mut Conf) -> Res<()> {
        let name = self.next()?;
        if name.kind != TokenKind::String {
            return Self::expected(&name, "quoted string");
        }
        self.end_of_line()?;
        let mut settings = Settings::default();
        let end = loop {
            let t = self.next()?;
            match t.kind {
                TokenKind::Newline => continue,
                TokenKind::Eof => {
                    // At the start of the section's name, as pound reports it.
                    let at = Span {
                        end: name.span.start,
                        ..name.span.clone()
                    };
                    return Err(vec![Diagnostic::error(&at, "unexpected end of file")]);
                }
                TokenKind::Ident => {}
                _ => return err(&t, "syntax error"),
            }
            if t.is_keyword("End") {
                self.end_of_line()?;
                break t;
            }
            if !self.setting(&t, &mut settings)? {
                return err(&t, "unrecognized keyword");
            }
        };
        if let Some(i) = conf.servers.iter().position(|(n, _)| *n == name.text) {
            let mut errors = vec![Diagnostic::error(
                &name.span,
                format!("redefinition of {}", name.text),
            )];
            if let Some(first) = self.defined.get(i) {
                errors.push(Diagnostic::error(first, "previously defined here"));
            }
            return Err(errors);
        }
        self.defined.push(name.span.to(&end.span));
        conf.servers.push((name.text, settings));
        Ok(())
    }

    /// `Include "FILE"`: relative names are relative to pound's configuration directory.
    fn include(&mut self) -> Res<()> {
        let t = self.next()?;
        if t.kind != TokenKind::String {
            return Self::expected(&t, "quoted string");
        }
        self.end_of_line()?;
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            return err(&t, "includes nested too deeply");
        }
        let path = Path::new(pound_config::dirs::SYSCONFDIR).join(&t.text);
        match std::fs::read(&path) {
            Ok(text) => {
                let name = Arc::from(path.display().to_string());
                self.stack.push(Lexer::new(name, text));
                Ok(())
            }
            Err(e) => err(
                &t,
                format!(
                    "can't stat {}: {}",
                    path.display(),
                    crate::client::describe(&e)
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `text` as a `.poundctl` file named `c`.
    fn parse(text: &str) -> Result<Conf, Vec<String>> {
        let dir = std::env::temp_dir().join(format!(
            "poundctl-conf-{}-{}",
            std::process::id(),
            text.len()
        ));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("c");
        std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
        let r = read(&file, false).map(|(c, _)| c).map_err(|errors| {
            let prefix = format!("{}:", file.display());
            errors
                .into_iter()
                .map(|e| e.replacen(&prefix, "c:", 1))
                .collect()
        });
        let _ = std::fs::remove_dir_all(&dir);
        r
    }

    #[test]
    fn statements_and_servers() {
        let c = parse(
            "# remote\nurl \"https://h/\"\nCAFile \"/ca.pem\"\nVerify off\n\
             TemplateName \"xml\"\nServer \"a\"\n  URL \"/run/a.sock\"\n  Verify yes\nEnd\n\n\
             URL \"https://h2/\" # the last one counts\n",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(c.global.url.as_deref(), Some("https://h2/"));
        assert_eq!(c.global.ca_file, Some(PathBuf::from("/ca.pem")));
        assert_eq!(c.global.verify, Some(false));
        assert_eq!(c.template_name.as_deref(), Some("xml"));
        let a = c.server("a").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (a.url.as_deref(), a.verify, a.ca_file.as_ref()),
            (Some("/run/a.sock"), Some(true), None)
        );
        assert_eq!(
            c.server("b"),
            Err("b: no such server defined in configuration".into())
        );
    }

    #[test]
    fn errors_as_pound_words_them() {
        let err = |text: &str| parse(text).err().unwrap_or_default();
        assert_eq!(
            err("URL http://h/\n"),
            ["c:1.5-13: expected quoted string, but found literal"]
        );
        assert_eq!(err("Bogus 1\n"), ["c:1.1-5: unrecognized keyword"]);
        assert_eq!(
            err("URL\n"),
            ["c:1.3-2: expected quoted string, but found end of line"]
        );
        assert_eq!(
            err("URL \"x\" \"y\"\n"),
            ["c:1.9-11: unexpected quoted string"]
        );
        assert_eq!(
            err("Server \"s\"\n URL \"x\"\n"),
            ["c:1.8: unexpected end of file"]
        );
        assert_eq!(
            err("Server \"s\"\nEnd\nServer \"s\"\nEnd\n"),
            [
                "c:3.8-10: redefinition of s",
                "c:1.8-2.3: previously defined here"
            ]
        );
        assert_eq!(
            err("Verify maybe\n"),
            [
                "c:1.8-12: not a boolean value",
                "c:1.8-12: valid booleans are: 1, yes, true, on for true value, and 0, no, \
                 false, off for false value"
            ]
        );
        assert_eq!(
            err("Server s\nEnd\n"),
            ["c:1.8: expected quoted string, but found identifier"]
        );
    }

    #[test]
    fn which_file() {
        let home = Path::new("/home/op");
        assert_eq!(
            file_name(None, Some(home)),
            Some(PathBuf::from("/home/op/.poundctl"))
        );
        assert_eq!(
            file_name(Some("alt.conf"), Some(home)),
            Some(PathBuf::from("/home/op/alt.conf"))
        );
        assert_eq!(
            file_name(Some("/etc/pc.conf"), None),
            Some(PathBuf::from("/etc/pc.conf"))
        );
        assert_eq!(file_name(Some(""), Some(home)), None);
        assert_eq!(file_name(None, None), None);
    }
}
