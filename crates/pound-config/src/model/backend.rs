//! Backends and sessions (pound.8, Backend, Global and per-service backends, Emergency,
//! Session).

use std::path::PathBuf;

use super::{ErrorPage, Template};
use crate::diag::Span;

/// One entry of a service's backend list.
#[derive(Debug, Clone)]
pub struct Backend {
    pub span: Span,
    pub kind: BackendKind,
}

#[derive(Debug, Clone)]
pub enum BackendKind {
    /// `Backend ... End` inside a service (or `Emergency ... End`).
    Regular(RegularBackend),
    /// `UseBackend "name"` or `Backend "name" [Priority/Disabled] End` inside a service.
    Named(NamedRef),
    /// `Redirect [code] "url"`.
    Redirect {
        code: u16,
        url: Template,
        /// The compatibility rule: the URL names only a scheme and host, so when nothing in
        /// it expands to a value, the request's URL is appended.
        append_request: bool,
    },
    /// `Error STATUS [FILE]`.
    Error {
        status: u16,
        page: Option<ErrorPage>,
    },
    /// `Metrics`: OpenMetrics output.
    Metrics,
    /// `Success` (pound 4.20): an empty 200 answer.
    Success,
    /// `Control` (pound 4.14): the control interface over HTTP(S).
    Control,
    /// `SendFile "DIR"` (pound 4.17): files from DIR (resolved against the include
    /// directory, 4.19).
    SendFile { dir: std::path::PathBuf },
    /// `ACME "directory"`: HTTP-01 challenge responses.
    Acme { directory: String },
}

impl BackendKind {
    /// The statement that defines this kind, for messages.
    pub fn keyword(&self) -> &'static str {
        match self {
            BackendKind::Regular(_) | BackendKind::Named(_) => "Backend",
            BackendKind::Redirect { .. } => "Redirect",
            BackendKind::Error { .. } => "Error",
            BackendKind::Metrics => "Metrics",
            BackendKind::Success => "Success",
            BackendKind::SendFile { .. } => "SendFile",
            BackendKind::Control => "Control",
            BackendKind::Acme { .. } => "ACME",
        }
    }
}

/// A server pound forwards requests to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegularBackend {
    pub address: BackendAddr,
    /// 1..=65535 (pound 4.15 and later), default 5.
    pub priority: u16,
    pub disabled: bool,
    /// Response time-out (`TimeOut`), seconds.
    pub timeout: u32,
    /// Connect time-out (`ConnTO`), seconds.
    pub conn_to: u32,
    /// WebSocket idle time-out (`WSTimeOut`), seconds.
    pub ws_timeout: u32,
    /// Present when the backend speaks HTTPS.
    pub tls: Option<BackendTls>,
    /// `ServerName` (pound 4.11; in `Emergency` since 4.12): the `Host` the backend gets,
    /// and the SNI name when it speaks HTTPS.
    pub server_name: Option<String>,
    /// `Resolve`, `Family`, `IgnoreSRVWeight`, `OverrideTTL`, `RetryInterval` (pound 4.14).
    pub dynamic: super::dns::Dynamic,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendAddr {
    Inet { host: String, port: u16 },
    Unix(PathBuf),
}

/// `HTTPS` and the directives that may follow it in a backend.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackendTls {
    pub cert: Option<PathBuf>,
    pub disable: Option<TlsProtocol>,
    pub ciphers: Option<String>,
    /// `Ciphers -ciphersuites` (pound 4.21): the TLS 1.3 suites, in order.
    pub ciphersuites: Option<Vec<String>>,
}

/// TLS protocol versions, in increasing order, as named by `Disable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsProtocol {
    SslV2,
    SslV3,
    TlsV1,
    TlsV1_1,
    TlsV1_2,
}

impl TlsProtocol {
    pub const NAMES: &'static [(&'static str, TlsProtocol)] = &[
        ("SSLv2", TlsProtocol::SslV2),
        ("SSLv3", TlsProtocol::SslV3),
        ("TLSv1", TlsProtocol::TlsV1),
        ("TLSv1_1", TlsProtocol::TlsV1_1),
        ("TLSv1_2", TlsProtocol::TlsV1_2),
    ];
}

/// A global `Backend "name" ... End`.
#[derive(Debug, Clone)]
pub struct NamedBackend {
    pub span: Span,
    pub name: String,
    pub backend: RegularBackend,
}

/// A service's use of a named backend, with its per-service overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedRef {
    pub name: String,
    /// Index into [`super::Config::backends`], resolved after the whole file is read (the
    /// definition may come after its use).
    pub index: usize,
    pub priority: Option<u16>,
    pub disabled: Option<bool>,
}

/// `Session ... End`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub span: Span,
    pub kind: SessionType,
    /// Idle lifetime in seconds.
    pub ttl: u32,
    /// Parameter, cookie or header name for URL, COOKIE and HEADER sessions.
    pub id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionType {
    Ip,
    Basic,
    Url,
    Parm,
    Cookie,
    Header,
}

impl SessionType {
    pub const NAMES: &'static [(&'static str, SessionType)] = &[
        ("IP", SessionType::Ip),
        ("BASIC", SessionType::Basic),
        ("URL", SessionType::Url),
        ("PARM", SessionType::Parm),
        ("COOKIE", SessionType::Cookie),
        ("HEADER", SessionType::Header),
    ];

    /// The type as the configuration (and the control socket) spells it: `IP`, `COOKIE`...
    pub fn keyword(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("NONE", |(n, _)| n)
    }

    /// Whether the type names something in the request (`ID` required).
    pub fn needs_id(self) -> bool {
        matches!(
            self,
            SessionType::Url | SessionType::Cookie | SessionType::Header
        )
    }
}
