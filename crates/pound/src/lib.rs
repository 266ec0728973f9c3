//! The pound proxy engine as a library: the `pound` binary is start-up around it, and the
//! fuzz targets and property tests reach the parsers through it.

pub use pound_config::POUND_VERSION;

/// pound-rs's own version, reported beside [`POUND_VERSION`].
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub mod auth;
pub mod backend;
pub mod balance;
pub mod base64;
pub mod cli;
pub mod clients;
pub mod control;
pub mod daemon;
pub mod h2;
/// The HTTP/1 codec, a crate of its own (`pound-http`).
pub use pound_http as http;
pub mod dns;
pub mod dynamic;
pub mod io;
pub mod listen;
pub mod log;
pub mod memory;
pub mod metrics;
pub mod pace;
pub mod privileges;
pub mod proxy;
pub mod relay;
pub mod reply;
pub mod rules;
pub mod running;
pub mod sendfile;
pub mod server;
pub mod session;
pub mod splice;
pub mod state;
pub mod stats;
pub mod supervisor;
pub mod support;
pub mod tls;
pub mod tunnel;
pub mod watch;
pub mod workers;
