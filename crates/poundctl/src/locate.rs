//! Finding the control socket in the `Control` statement of pound's configuration file,
//! when neither `-s` nor `~/.poundctl` says where pound is.
//!
//! The configuration is read with pound's own parser (the `pound-config` crate), so the
//! socket is exactly the one pound opens: both forms of `Control`, `Include`d files, and
//! relative names resolved against the include directory (`-W include-dir=DIR`, or the
//! current directory with `-W no-include-dir`), as pound resolves them.

use std::path::{Path, PathBuf};

use pound_config::{env::System, load, Options as LoadOptions, Severity};

use crate::args::Options;

/// The socket to connect to. `notes` receives the messages to show on the way (the
/// configuration's errors, and with `-v` what is being read); the error is the final word.
pub fn socket(opts: &Options, notes: &mut Vec<String>) -> Result<PathBuf, String> {
    let file = &opts.config_file;
    let cannot = "can't determine control socket name; use the -s option";
    // A missing file only means "use -s", as pound's poundctl says (with -f too); why is
    // said when asked to.
    if !Path::new(file).exists() {
        if opts.verbose > 0 {
            notes.push(format!("can't open {file}: No such file or directory"));
        }
        return Err(cannot.into());
    }
    if opts.verbose > 0 {
        notes.push(format!("scanning file {file}"));
    }
    let loaded = load(
        &System::default(),
        file,
        &LoadOptions {
            include_dir: opts.include_dir.clone(),
            warn_deprecated: false,
        },
    );
    notes.extend(
        loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.to_string()),
    );
    let Some(config) = loaded.config else {
        return Err(cannot.into());
    };
    match config.global.control {
        Some(control) => Ok(control.socket),
        None => Err(format!("{file} has no Control statement; {cannot}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory holding `files`.
    fn dir_with(files: &[(&str, &str)]) -> PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "poundctl-locate-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("{}: {e}", dir.display());
        }
        for (name, text) in files {
            if let Err(e) = std::fs::write(dir.join(name), text) {
                panic!("{name}: {e}");
            }
        }
        dir
    }

    fn opts(dir: &Path, file: &str) -> Options {
        Options {
            config_file: dir.join(file).display().to_string(),
            config_given: true,
            include_dir: Some(dir.to_path_buf()),
            ..Options::default()
        }
    }

    #[test]
    fn both_forms_and_relative_names() {
        let dir = dir_with(&[
            (
                "a.cfg",
                "Control \"/run/a.sock\"\nListenHTTP\n Address 127.0.0.1\n Port 1\nEnd\n",
            ),
            ("b.cfg", "Control\n  Socket \"b.sock\"\n  Mode 660\nEnd\n"),
            ("c.cfg", "Include \"c-part.cfg\"\n"),
            ("c-part.cfg", "Control \"c.sock\"\n"),
        ]);
        let mut notes = Vec::new();
        assert_eq!(
            socket(&opts(&dir, "a.cfg"), &mut notes),
            Ok("/run/a.sock".into())
        );
        // Relative socket names are used as written, as pound itself uses them.
        assert_eq!(
            socket(&opts(&dir, "b.cfg"), &mut notes),
            Ok(PathBuf::from("b.sock"))
        );
        assert_eq!(
            socket(&opts(&dir, "c.cfg"), &mut notes),
            Ok(PathBuf::from("c.sock"))
        );
        let o = Options {
            include_dir: None,
            ..opts(&dir, "b.cfg")
        };
        assert_eq!(socket(&o, &mut notes), Ok(PathBuf::from("b.sock")));
        assert!(notes.is_empty(), "{notes:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn no_control_statement() {
        let dir = dir_with(&[("p.cfg", "Alive 10\n")]);
        let o = opts(&dir, "p.cfg");
        let mut notes = Vec::new();
        assert_eq!(
            socket(&o, &mut notes),
            Err(format!(
                "{} has no Control statement; can't determine control socket name; \
                 use the -s option",
                o.config_file
            ))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn configuration_errors_are_reported() {
        let dir = dir_with(&[("p.cfg", "Control \"/s\"\nBogus 1\n")]);
        let o = opts(&dir, "p.cfg");
        let mut notes = Vec::new();
        assert_eq!(
            socket(&o, &mut notes),
            Err("can't determine control socket name; use the -s option".into())
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with(&format!("{}:2.", o.config_file)),
            "{notes:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_files() {
        let missing = "/nonexistent-poundctl-dir/pound.cfg";
        let mut o = Options {
            config_file: missing.into(),
            ..Options::default()
        };
        let mut notes = Vec::new();
        let cannot = Err("can't determine control socket name; use the -s option".to_string());
        assert_eq!(socket(&o, &mut notes), cannot);
        assert!(notes.is_empty());
        o.verbose = 1;
        assert_eq!(socket(&o, &mut notes), cannot);
        assert_eq!(
            notes,
            [format!("can't open {missing}: No such file or directory")]
        );
        notes.clear();
        o.verbose = 0;
        o.config_given = true;
        assert_eq!(socket(&o, &mut notes), cannot);
        assert!(notes.is_empty());
    }
}
