//! The `config` target: the pound.cfg language (pound-config).

use super::*;

/// Names of the files of a fuzzed configuration: the main file, then files it can include or
/// read with `-file`.
const CONFIG_FILES: &[&str] = &["pound.cfg", "inc.cfg", "a", "b", "c"];

/// Input: the configuration; NUL bytes separate the main file from further files named
/// `inc.cfg`, `a`, `b`, `c`.
pub fn config(data: &[u8]) {
    let mut fs = MemoryFs::new()
        .with_service("http", 80)
        .with_service("https", 443);
    for (name, text) in CONFIG_FILES.iter().zip(data.split(|&b| b == 0)) {
        fs = fs.with_file(*name, text);
    }
    let opts = Options {
        include_dir: None,
        warn_deprecated: true,
    };
    let loaded = load(&fs, "pound.cfg", &opts);
    let errors = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    match &loaded.config {
        Some(c) => {
            assert_eq!(errors, 0, "a model with errors: {:?}", loaded.diagnostics);
            for s in &c.statements {
                let _ = format!("{s:?}");
            }
        }
        None => {
            assert!(
                errors > 0,
                "no model and no error: {:?}",
                loaded.diagnostics
            );
        }
    }
    for d in &loaded.diagnostics {
        let text = d.to_string();
        assert!(!text.is_empty());
        assert!(!d.message.is_empty(), "an empty message: {d:?}");
        if let Some(s) = &d.span {
            assert!(
                CONFIG_FILES.contains(&&*s.file),
                "a span in an unknown file {:?}",
                s.file
            );
            assert!(
                (s.start.line, s.start.col) <= (s.end.line, s.end.col),
                "a span that ends before it starts: {s:?}"
            );
        }
    }
    // Loading is deterministic.
    let again = load(&fs, "pound.cfg", &opts);
    assert_eq!(again.diagnostics, loaded.diagnostics);
    assert_eq!(again.config.is_some(), loaded.config.is_some());
}
