//! Which template file and which template lay out a reply (manual 12.5): `-t FILE` (or
//! `TemplateFile`) names the file; otherwise the template path (`POUND_TMPL_PATH`, else
//! `TemplatePath`, else `~/.poundctl.tmpl:DATADIR/pound`) is searched left to right, a file
//! element being read as it is and a directory element for its `poundctl.tmpl`. `-T NAME`
//! (or `TemplateName`) picks the template, `default` unless told.
//!
//! pound's poundctl cannot print anything but JSON when no template file is installed;
//! this one carries its own `poundctl.tmpl`, used when the search finds none, so that the
//! default layout is always there and an operator's file still takes precedence.

use std::path::{Path, PathBuf};

/// The template file built into the program.
pub const BUILT_IN: &str = crate::template::DEFAULT_TEMPLATES;

/// The template path searched when neither `POUND_TMPL_PATH` nor `TemplatePath` is set.
pub fn default_path() -> String {
    format!("~/.poundctl.tmpl:{}/pound", pound_config::dirs::DATADIR)
}

/// Where the templates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file given or found; its name (for messages) and text.
    File(PathBuf, String),
    /// None found: the built-in file.
    BuiltIn,
}

impl Source {
    pub fn text(&self) -> &str {
        match self {
            Source::File(_, text) => text,
            Source::BuiltIn => BUILT_IN,
        }
    }
}

/// Reads the file named by `-t` or `TemplateFile`.
pub fn named(file: &str) -> Result<Source, String> {
    std::fs::read_to_string(file)
        .map(|text| Source::File(PathBuf::from(file), text))
        .map_err(|e| {
            format!(
                "can't open template file {file}: {}",
                crate::client::describe(&e)
            )
        })
}

/// Searches `path` (`:`-separated; `~` stands for `home`) for a template file.
pub fn search(path: &str, home: Option<&Path>) -> Result<Source, String> {
    for element in path.split(':').filter(|e| !e.is_empty()) {
        let expanded = match (element.strip_prefix('~'), home) {
            (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
                home.join(rest.trim_start_matches('/'))
            }
            _ => PathBuf::from(element),
        };
        let file = if expanded.is_dir() {
            expanded.join("poundctl.tmpl")
        } else {
            expanded
        };
        if !file.is_file() {
            continue;
        }
        return std::fs::read_to_string(&file)
            .map(|text| Source::File(file.clone(), text))
            .map_err(|e| {
                format!(
                    "can't open template file {}: {}",
                    file.display(),
                    crate::client::describe(&e)
                )
            });
    }
    Ok(Source::BuiltIn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_order_and_elements() {
        let dir = std::env::temp_dir().join(format!("poundctl-tmpl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sub = dir.join("sub");
        std::fs::create_dir_all(&sub).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(sub.join("poundctl.tmpl"), "in sub").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("my.tmpl"), "mine").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join(".poundctl.tmpl"), "home").unwrap_or_else(|e| panic!("{e}"));
        let text = |path: &str| {
            search(path, Some(&dir))
                .map(|s| s.text().to_string())
                .unwrap_or_else(|e| e)
        };
        // A directory is searched for poundctl.tmpl; a file is read as it is.
        assert_eq!(text(&format!("/nonexistent:{}", sub.display())), "in sub");
        assert_eq!(
            text(&format!("{}/my.tmpl:{}", dir.display(), sub.display())),
            "mine"
        );
        // `~` is the home directory.
        assert_eq!(text("~/.poundctl.tmpl"), "home");
        assert_eq!(text("~/sub"), "in sub");
        // Nothing found: the built-in file.
        assert_eq!(search("/nonexistent", None), Ok(Source::BuiltIn));
        assert_eq!(search("", None), Ok(Source::BuiltIn));
        assert_eq!(
            named("/nonexistent/x.tmpl"),
            Err("can't open template file /nonexistent/x.tmpl: No such file or directory".into())
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
