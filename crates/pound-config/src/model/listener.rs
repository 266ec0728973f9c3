//! Listeners (pound.8, HTTP Listener and HTTPS Listener).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::{Acl, LogLevel, Matcher, Modification, Rewrite, Service, TlsProtocol};
use crate::diag::{Span, Spanned};

#[derive(Debug, Clone)]
pub struct Listener {
    pub span: Span,
    pub name: Option<String>,
    pub addr: ListenAddr,
    /// `xHTTP`: 0 (GET, POST, HEAD) to 3 (MS WebDAV extensions).
    pub xhttp: u8,
    /// `Client` time-out in seconds.
    pub client: u32,
    /// `ClientMinRate`, `ClientRateGrace`, `ClientMaxConnections`, `ClientMaxRequests`.
    pub client_limits: ClientLimits,
    /// `CheckURL`: a request whose URL does not match is refused.
    pub check_url: Option<Matcher>,
    /// `LineBufferSize` (pound 4.18), from the global one unless set here.
    pub line_buffer: u32,
    /// `RewriteErrors` (pound 4.17): a backend's error response whose status has an
    /// `ErrorFile` is replaced by that page.
    pub rewrite_errors: bool,
    /// `MaxURI` (pound 4.12): the longest request target accepted, in bytes; 0 is no
    /// limit of its own.
    pub max_uri: u32,
    /// `ErrNNN` pages by status code.
    pub error_pages: BTreeMap<u16, ErrorPage>,
    /// `MaxRequest`: largest request body in bytes.
    pub max_request: Option<u64>,
    pub rewrite_location: u8,
    pub rewrite_destination: bool,
    pub log_level: LogLevel,
    pub forwarded_header: String,
    pub trusted_ip: Option<Arc<Acl>>,
    pub header_options: HeaderOptions,
    /// Request modifications, in file order.
    pub request: Vec<Modification>,
    /// `Rewrite response` blocks, in file order.
    pub response: Vec<Rewrite>,
    /// The listener's own services, tried before the global ones.
    pub services: Vec<Service>,
    /// `Constant` in the listener.
    pub constants: Vec<super::Constant>,
    /// Present for `ListenHTTPS`.
    pub tls: Option<TlsListener>,
    /// `Tunnel` (pound 4.23): bytes relayed to the one backend of its one service.
    pub tunnel: bool,
    /// HTTP/2 for clients (`HTTP2`, `HTTP2MaxStreams`, `HTTP2WindowSize`).
    pub http2: Http2,
}

impl Listener {
    /// Whether HTTP/2 is served: `HTTP2` if written, else on for `ListenHTTPS` only.
    pub fn http2_enabled(&self) -> bool {
        self.http2.enabled.unwrap_or(self.tls.is_some())
    }
}

/// HTTP/2 for clients: negotiated by ALPN on `ListenHTTPS` (on by default), or cleartext
/// with prior knowledge (h2c) on `ListenHTTP` (off by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Http2 {
    /// `HTTP2 on|off`; `None` when not written, so the listener kind decides.
    pub enabled: Option<bool>,
    /// `HTTP2MaxStreams`: concurrent streams a client may open.
    pub max_streams: u32,
    /// `HTTP2WindowSize`: the flow-control window of each stream, in bytes. The
    /// connection's window is four times as large.
    pub window: u32,
    /// `HTTP2MaxSlowStreams`: streams of one connection that may wait on their slow client
    /// at once; a stream beyond it is ended.
    pub slow_streams: u32,
}

impl Default for Http2 {
    fn default() -> Self {
        Http2 {
            enabled: None,
            max_streams: 100,
            window: 256 * 1024,
            slow_streams: 16,
        }
    }
}

/// Defences against slow and greedy clients (extensions of pound's language, global and per
/// listener; docs/SECURITY.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    /// `ClientMinRate`: the average rate, in bytes per second, below which a client that
    /// sends a request body or reads a response is cut off; 0 turns the check off.
    pub min_rate: u32,
    /// `ClientRateGrace`: how many seconds a client may fall behind `ClientMinRate` in all;
    /// `None` means the `Client` time-out.
    pub rate_grace: Option<u32>,
    /// `ClientMaxConnections`: open connections per client address; 0 means no limit.
    pub max_connections: u32,
    /// `ClientMaxRequests`: requests in progress per client address; 0 means no limit.
    pub max_requests: u32,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            min_rate: 512,
            rate_grace: None,
            max_connections: 0,
            max_requests: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    /// `Address` (IP literal or host name) and `Port` (number; service names are resolved).
    Inet { host: String, port: u16 },
    /// `Address "/path"`: a UNIX socket.
    Unix(PathBuf),
    /// `SocketFrom "path"`: receive an already listening socket over this UNIX socket.
    SocketFrom(PathBuf),
}

/// A custom error page, read when the configuration is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorPage {
    pub path: PathBuf,
    pub page: Arc<super::Page>,
}

/// Which built-in headers pound adds (pound.8, BUILT-IN HEADERS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderOptions {
    /// `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Forwarded-Port`.
    pub forwarded: bool,
    /// `X-SSL-*` for HTTPS clients.
    pub ssl: bool,
}

impl Default for HeaderOptions {
    fn default() -> Self {
        HeaderOptions {
            forwarded: true,
            ssl: true,
        }
    }
}

/// The HTTPS-only part of a listener.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TlsListener {
    /// `Cert` files in order, with where each was written; the first is the default, the
    /// rest are chosen by SNI.
    pub certs: Vec<Spanned<PathBuf>>,
    pub client_cert: ClientCert,
    /// `Disable PROTO`: that protocol and all lower ones are refused.
    pub disable: Option<TlsProtocol>,
    pub ciphers: Option<String>,
    /// `Ciphers -ciphersuites` (pound 4.21): the TLS 1.3 suites, in order.
    pub ciphersuites: Option<Vec<String>>,
    pub honor_cipher_order: bool,
    pub allow_client_renegotiation: u8,
    pub ca_list: Option<Spanned<PathBuf>>,
    pub verify_list: Option<Spanned<PathBuf>>,
    pub crl_list: Option<Spanned<PathBuf>>,
    /// `NoHTTPS11`: 0 off, 1 always, 2 (default) for MSIE clients only.
    pub no_https11: u8,
    /// Some service of the listener has a `ClientCert "FILE"` condition: clients are asked
    /// for a certificate, which they need not present and which is not verified.
    pub service_client_cert: bool,
}

/// `ClientCert MODE DEPTH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientCert {
    /// 0 don't ask, 1 ask, 2 require, 3 ask without verifying.
    pub mode: u8,
    pub depth: u8,
}

impl Default for ClientCert {
    fn default() -> Self {
        ClientCert { mode: 0, depth: 9 }
    }
}
