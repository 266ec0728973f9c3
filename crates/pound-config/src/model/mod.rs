//! The typed configuration model: what a parsed and validated pound.cfg means.
//!
//! Every object that can be named in a message or a log line (`%{listener|service|backend}L`)
//! keeps its source [`Span`]. Global defaults (`Client`, `TimeOut`, `LogLevel`, `HeaderOption`,
//! ...) apply to the objects defined *after* them, as pound's manual says of `LogLevel`; the
//! parser resolves them, so the runtime reads final values here.

pub mod acl;
pub mod backend;
pub mod constant;
pub mod dns;
mod listener;
mod live;
mod matching;
pub mod page;
mod service;
pub mod template;
pub mod watch;

use std::path::PathBuf;
use std::sync::Arc;

pub use acl::{Acl, Cidr};
pub use backend::{
    Backend, BackendAddr, BackendKind, BackendTls, NamedBackend, NamedRef, RegularBackend, Session,
    SessionType, TlsProtocol,
};
pub use constant::Constant;
pub use listener::{
    ClientCert, ClientLimits, ErrorPage, HeaderOptions, Http2, ListenAddr, Listener, TlsListener,
};
pub use live::Live;
pub use matching::{MatchMode, Matcher, Pattern, PatternSpec};
pub use page::Page;
pub use service::{
    BoolOp, Condition, ConditionKind, LogSuppress, Modification, NamedCondition, Rewrite,
    RewriteBranch, Service,
};
pub use template::{Accessor, ConstEncoding, Part, Template, TemplateError};

use crate::diag::Span;

/// A whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The main configuration file name, as given.
    pub file: Arc<str>,
    pub global: Global,
    pub listeners: Vec<Listener>,
    /// Services defined at top level, tried after a listener's own services.
    pub services: Vec<Service>,
    /// Named backends defined at top level (`Backend "name"`), referenced by services.
    pub backends: Vec<NamedBackend>,
    /// Named ACLs, in definition order.
    pub acls: Vec<Arc<Acl>>,
    /// Detached conditions (`Condition "NAME"`), in definition order (their `index`).
    pub conditions: Vec<Arc<NamedCondition>>,
    /// The `-filewatch` files, to be read again when they change.
    pub watched: Vec<watch::Watched>,
    /// User-defined log formats (`LogFormat`).
    pub log_formats: Vec<LogFormat>,
    /// Every statement of the file, in order, by canonical keyword. The runtime consults it to
    /// refuse statements whose behaviour it does not implement yet, naming their location.
    pub statements: Vec<Statement>,
}

/// One statement as written: its canonical keyword and the span of that keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub keyword: &'static str,
    pub span: Span,
}

/// Global settings (pound.8, GLOBAL DIRECTIVES), with the manual's defaults.
#[derive(Debug, Clone)]
pub struct Global {
    pub user: Option<String>,
    pub group: Option<String>,
    pub root_jail: Option<PathBuf>,
    pub daemon: bool,
    pub supervisor: bool,
    pub worker_min_count: u32,
    pub worker_max_count: u32,
    pub worker_idle_timeout: u32,
    /// `ConnectionQueueSize` (pound 4.23): how many requests may wait for a worker before
    /// pound stops accepting connections; `None` computes it from the descriptor limit.
    pub connection_queue: Option<u32>,
    /// `ReserveFD` (pound 4.23): descriptors kept out of that computation.
    pub reserve_fd: u32,
    /// `WorkerStackSize` (pound 4.21): the stack of each runtime thread, in bytes.
    pub worker_stack: Option<u64>,
    pub grace: u32,
    pub log_facility: LogFacility,
    pub log_level: LogLevel,
    pub alive: u32,
    pub client: u32,
    pub client_limits: ClientLimits,
    pub timeout: u32,
    /// `ConnTO`; `None` means "the `TimeOut` value".
    pub conn_to: Option<u32>,
    pub ws_timeout: u32,
    pub ignore_case: bool,
    pub balancer: Balancer,
    pub header_options: HeaderOptions,
    pub forwarded_header: String,
    pub trusted_ip: Option<Arc<Acl>>,
    pub control: Option<Control>,
    pub anonymise: bool,
    pub pid_file: Option<PathBuf>,
    /// `CombineHeaders`: fields whose occurrences are joined into one comma-separated field,
    /// in file order, as written.
    pub combine_headers: Vec<String>,
    /// `Constant` at top level.
    pub constants: Vec<Constant>,
    /// `LineBufferSize` (pound 4.18): the longest request or header line accepted is 3
    /// bytes shorter. The default for listeners defined after it.
    pub line_buffer: u32,
    /// `LogTag` (pound 4.13): the name syslog lines carry; `pound` by default.
    pub log_tag: Option<String>,
    /// `WatcherTTL`: seconds between two looks at the `-filewatch` files when the
    /// system's notifications are not available (pound 4.17).
    pub watcher_ttl: u32,
    /// `Resolver` (pound 4.14): how DNS is asked for dynamic backends.
    pub resolver: dns::Resolver,
}

impl Default for Global {
    fn default() -> Self {
        Global {
            user: None,
            group: None,
            root_jail: None,
            daemon: true,
            supervisor: true,
            worker_min_count: 5,
            worker_max_count: 128,
            worker_idle_timeout: 30,
            grace: 30,
            log_facility: LogFacility::Syslog("daemon".to_string()),
            log_level: LogLevel::Builtin(1),
            alive: 30,
            client: 10,
            client_limits: ClientLimits::default(),
            timeout: 15,
            conn_to: None,
            ws_timeout: 600,
            ignore_case: false,
            balancer: Balancer::Random,
            header_options: HeaderOptions::default(),
            forwarded_header: "X-Forwarded-For".to_string(),
            trusted_ip: None,
            control: None,
            anonymise: false,
            pid_file: None,
            constants: Vec::new(),
            watcher_ttl: 60,
            resolver: dns::Resolver::default(),
            log_tag: None,
            connection_queue: None,
            reserve_fd: 0,
            worker_stack: None,
            line_buffer: 4096,
            combine_headers: Vec::new(),
        }
    }
}

/// Where pound's own messages and request logs go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFacility {
    /// A syslog facility by name (`daemon`, `local0`, ...).
    Syslog(String),
    /// `LogFacility -`: standard output and standard error.
    Stderr,
}

/// Syslog facility names accepted by `LogFacility`.
pub const LOG_FACILITIES: &[&str] = &[
    "auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "news", "syslog", "user",
    "uucp", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];

/// The request-log format selected by `LogLevel`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogLevel {
    /// One of the six built-in formats, by index (0 `null` .. 5 `detailed`).
    Builtin(u8),
    /// A user format: index into [`Config::log_formats`].
    Named(usize),
}

/// Built-in log format names, indexed by their `LogLevel` number.
pub const BUILTIN_LOG_FORMATS: &[&str] = &[
    "null",
    "regular",
    "extended",
    "vhost_combined",
    "combined",
    "detailed",
];

/// `LogFormat "name" "format"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFormat {
    pub span: Span,
    pub name: String,
    pub format: String,
}

/// Load-balancing strategy (pound.8, REQUEST BALANCING).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Balancer {
    #[default]
    Random,
    Iwrr,
}

impl Balancer {
    /// The `Balancer` names, global and per service.
    pub const NAMES: &'static [(&'static str, Balancer)] =
        &[("random", Balancer::Random), ("iwrr", Balancer::Iwrr)];
}

/// The control socket (`Control "path"` or the block form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    pub span: Span,
    pub socket: PathBuf,
    /// File mode of the socket; the manual's default is 0600.
    pub mode: u32,
    pub change_owner: bool,
}

/// Fields `CombineHeaders` leaves alone: the request's framing and `Host` are checked before
/// fields are combined, and must reach the backend as checked.
pub fn is_framing_field(name: &str) -> bool {
    ["Content-Length", "Transfer-Encoding", "Host"]
        .iter()
        .any(|f| f.eq_ignore_ascii_case(name))
}
