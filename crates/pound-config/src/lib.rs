//! The pound.cfg language: lexer, parser, typed model and semantic checks.
//!
//! This crate does no I/O of its own: files and service names come through
//! [`env::Environment`], so the whole language can be tested and fuzzed in memory.
//!
//! ```
//! use pound_config::{env::MemoryFs, load, Options};
//! let fs = MemoryFs::new().with_file(
//!     "pound.cfg",
//!     "ListenHTTP\n Address 127.0.0.1\n Port 8080\nEnd\n",
//! );
//! let opts = Options { include_dir: None, warn_deprecated: true };
//! let loaded = load(&fs, "pound.cfg", &opts);
//! assert!(loaded.diagnostics.is_empty());
//! assert_eq!(loaded.config.unwrap().listeners.len(), 1);
//! ```

/// The pound release whose language and behaviour this implements: reported wherever pound
/// reports its version (`pound -V`, `poundctl -V`, the control interface), so that operators'
/// scripts see what they expect.
pub const POUND_VERSION: &str = "4.23";

/// The installation directories fixed at build time, like pound's `--sysconfdir` and
/// `--localstatedir` (see build.rs): where `pound` and `poundctl` look for `pound.cfg` and
/// where the PID file goes by default.
pub mod dirs {
    /// `POUND_SYSCONFDIR` at build time, `/etc` by default.
    pub const SYSCONFDIR: &str = env!("POUND_SYSCONFDIR");
    /// `POUND_LOCALSTATEDIR` at build time, `/var` by default.
    pub const LOCALSTATEDIR: &str = env!("POUND_LOCALSTATEDIR");
    /// Read-only data: poundctl's template file is `DATADIR/pound/poundctl.tmpl`.
    pub const DATADIR: &str = env!("POUND_DATADIR");
}

pub mod diag;
pub mod env;
pub mod glob;
pub mod lexer;
pub mod model;
mod parser;

pub use diag::{Diagnostic, Pos, Severity, Span, Spanned};
pub use model::Config;
pub use parser::{load, Loaded, Options};

/// Statement families, for tools that reason about statements by keyword.
pub mod keywords {
    /// Request matching directives (services, `Match`, request `Rewrite` branches).
    pub use crate::parser::condition::CONDITIONS;
    /// Request modification directives (listeners, services, `Rewrite` branches).
    pub use crate::parser::modify::MODIFICATIONS;
    /// Their old spellings (listeners only).
    pub use crate::parser::modify::OLD_MODIFICATIONS;
}
