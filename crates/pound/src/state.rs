//! The running configuration: listeners, services and backends as the proxy uses them,
//! built once from the checked [`pound_config::Config`] at start-up.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use pound_config::model::{
    Acl, BackendAddr, BackendKind, Balancer, HeaderOptions, ListenAddr, Listener as ListenerCfg,
    LogLevel, LogSuppress, Matcher, RegularBackend, Service as ServiceCfg, Template,
};
use pound_config::{Config, Span};

use crate::backend::{address_name, Address, Backend, Tls};
use crate::balance::{self, Iwrr};
use crate::http::request::Limits;
use crate::log::format::{Format, Named, BUILTIN};
use crate::rules::constants::Constants;
use crate::rules::{Action, Branch, Builder, Cond, Cx, EvalError};
use crate::session::Sessions;
use pound_config::model::Page;

pub struct State {
    pub listeners: Vec<Arc<Listener>>,
    /// Services defined outside listeners, which every listener tries after its own.
    pub globals: Vec<Arc<Service>>,
    /// Every regular and emergency backend, for the prober.
    pub backends: Vec<Arc<Backend>>,
    /// Every service, once, for the session sweeper.
    pub services: Vec<Arc<Service>>,
    /// What the configuration asks for that cannot be honoured exactly, to print at start.
    pub warnings: Vec<String>,
    pub alive: Duration,
    pub grace: Duration,
    /// `WorkerMinCount`, `WorkerMaxCount`, `WorkerIdleTimeout`, and the runtime threads
    /// (counted at start, before a `RootJail` hides /sys and /proc).
    pub workers: (u32, u32, u32, usize),
    /// The connection queue's bound (`ConnectionQueueSize`, or computed at start when the
    /// listeners are open) and the runtime threads' stack (`WorkerStackSize`).
    pub queue: usize,
    pub stack: Option<usize>,
    /// How requests to the control socket are logged: the global `LogLevel`, as pound logs
    /// them.
    /// The request-log levels, changed at run time (`poundctl log`, pound 4.23).
    pub log_levels: Arc<crate::log::levels::Levels>,
    /// The runtime objects of this snapshot by identity, for the next one to take over.
    identities: Identities,
    /// The `-filewatch` files and what they feed, the `BasicAuth` files to keep current,
    /// and `WatcherTTL`.
    pub watched: Vec<pound_config::model::watch::Watched>,
    pub htpasswd: Vec<Arc<crate::auth::Htpasswd>>,
    pub watcher_ttl: u32,
    /// The dynamic backends' matrices with their services, for their tasks, and how DNS
    /// is asked (`Resolver`).
    pub matrices: Vec<(Arc<Service>, Arc<Matrix>)>,
    pub resolver: pound_config::model::dns::Resolver,
}

/// Backends and session tables by identity: the service they belong to (by listener and
/// name, or place) and their settings. A backend is the same one when it stands in the same
/// service with the same settings and resolved address; a session table when its service and
/// `Session` block are the same.
#[derive(Default)]
struct Identities {
    backends: Vec<(String, Arc<Backend>)>,
    sessions: Vec<(String, Arc<Sessions>)>,
}

/// What a new snapshot takes over from the one in force: the backends (alive or dead, their
/// pools of idle connections, their counters) and session tables whose identity it finds
/// again. Everything else is new.
#[derive(Default)]
pub struct Carry {
    backends: std::collections::HashMap<String, std::collections::VecDeque<Arc<Backend>>>,
    sessions: std::collections::HashMap<String, Arc<Sessions>>,
}

impl Carry {
    /// What `previous` can hand over.
    pub fn from(previous: &State) -> Carry {
        let mut carry = Carry::default();
        for (key, b) in &previous.identities.backends {
            carry
                .backends
                .entry(key.clone())
                .or_default()
                .push_back(b.clone());
        }
        for (key, s) in &previous.identities.sessions {
            carry.sessions.insert(key.clone(), s.clone());
        }
        carry
    }

    /// The backend `fresh` stands for: the carried one with the same identity, or itself.
    fn backend(&mut self, key: String, fresh: Arc<Backend>, ids: &mut Identities) -> Arc<Backend> {
        let b = self
            .backends
            .get_mut(&key)
            .and_then(|q| q.pop_front())
            .unwrap_or(fresh);
        ids.backends.push((key, b.clone()));
        b
    }

    fn sessions(
        &mut self,
        key: String,
        cfg: &pound_config::model::Session,
        ids: &mut Identities,
    ) -> Arc<Sessions> {
        let s = self
            .sessions
            .remove(&key)
            .unwrap_or_else(|| Arc::new(Sessions::new(cfg)));
        ids.sessions.push((key, s.clone()));
        s
    }
}

/// A backend's settings and resolved address as an identity, within the service `owner`.
fn backend_key(owner: &str, r: &RegularBackend, address: &Address) -> String {
    format!(
        "{owner}|{:?}|{:?}|{}|{}|{}|{:?}|{:?}",
        r.address, address, r.timeout, r.conn_to, r.ws_timeout, r.tls, r.server_name
    )
}

pub struct Listener {
    pub named: Named,
    /// The address as the control socket shows it: `127.0.0.1:80`, `[::1]:80` or a path;
    /// set when the socket is opened (a `SocketFrom` socket's address is known only then).
    pub address: std::sync::OnceLock<String>,
    /// Cleared by the control socket: new connections are closed at once.
    pub enabled: AtomicBool,
    /// How many of `services` are the listener's own (the rest are the global ones).
    pub own_services: usize,
    pub stats: crate::stats::ListenerStats,
    pub limits: Limits,
    pub client_timeout: Duration,
    /// `ClientMinRate` and `ClientRateGrace` (see `pace`).
    pub client_rate: crate::pace::Rate,
    /// `ClientMaxConnections` and `ClientMaxRequests` (see `clients`); 0 means no limit.
    pub max_connections: u32,
    pub max_requests: u32,
    pub check_url: Option<Matcher>,
    /// `MaxURI`: the longest request target, 0 for none of its own.
    pub max_uri: u32,
    /// `RewriteErrors`, unless a service says otherwise.
    pub rewrite_errors: bool,
    pub error_pages: BTreeMap<u16, Arc<Page>>,
    pub log: crate::log::levels::ListenerLog,
    /// `ForwardedHeader` and `TrustedIP` for `%a`, unless the service sets its own.
    pub forwarded_header: String,
    pub trusted_ip: Option<Arc<Acl>>,
    /// `Anonymise`: logs show client addresses with the last byte cleared.
    pub anonymise: bool,
    pub header_options: HeaderOptions,
    /// `CombineHeaders` (global): fields joined in requests and responses.
    pub combine: Arc<[Box<str>]>,
    /// `RewriteLocation`: 0, 1 or 2.
    pub rewrite_location: u8,
    /// Host names may be resolved (not `-W no-dns`): `RewriteLocation 2` compares a
    /// location's host name with the backend's address.
    pub dns: bool,
    /// `RewriteDestination`.
    pub rewrite_destination: bool,
    /// Request modifications, applied before the service's, in file order.
    pub request: Vec<Action>,
    /// `Rewrite response` blocks.
    pub response: Vec<Vec<Branch>>,
    /// Whether matches must be recorded for back-references (some template uses them).
    pub capture: bool,
    /// Whether some template uses `%[remoteip 1]`, the originator behind trusted proxies.
    pub originator: bool,
    /// The listener's own services, then the global ones.
    pub services: Vec<Arc<Service>>,
    /// Present for `ListenHTTPS`.
    pub tls: Option<ListenerTls>,
    /// `Tunnel`: connections are relayed to the one backend of the one service.
    pub tunnel: bool,
    /// HTTP/2 for clients, when enabled: by ALPN on HTTPS listeners, with prior knowledge
    /// (h2c) on plain ones.
    pub http2: Option<Http2>,
}

/// The TLS side of an HTTPS listener.
pub struct ListenerTls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// `ClientCert` mode: certificate headers are sent only when it is above 0.
    pub client_cert: u8,
    /// `NoHTTPS11`: 1 closes every HTTPS connection after one request, 2 only those from
    /// MSIE.
    pub no_https11: u8,
}

/// HTTP/2 limits of a listener.
#[derive(Debug, Clone, Copy)]
pub struct Http2 {
    pub max_streams: u32,
    pub window: u32,
    /// `HTTP2MaxSlowStreams`.
    pub slow_streams: u32,
}

pub struct Service {
    pub named: Named,
    /// Set by `Disabled` or the control socket: the service matches no request.
    pub disabled: AtomicBool,
    /// `ForwardedHeader` and `TrustedIP` when set on the service: the most specific wins.
    pub forwarded_header: Option<String>,
    pub trusted_ip: Option<Arc<Acl>>,
    /// `LogSuppress`: status classes not logged.
    pub log_suppress: LogSuppress,
    /// Matching directives, joined by AND.
    pub conds: Vec<Cond>,
    /// The constants the service's expansions see (`None` if there are none).
    pub consts: Option<Arc<Constants>>,
    /// `RewriteErrors` of the service, over its listener's.
    pub rewrite_errors: Option<bool>,
    pub request: Vec<Action>,
    pub response: Vec<Vec<Branch>>,
    /// The backends, sorted by balancer group.
    pub backends: ArcSwap<Backends>,
    /// Taken by whoever replaces `backends` (the matrices' tasks), never by requests.
    pub changing: std::sync::Mutex<()>,
    pub strategy: Strategy,
    /// Shared with the next snapshot when it has the same service and `Session`.
    pub sessions: Option<Arc<Sessions>>,
    /// Set when the service answers by itself instead of forwarding.
    pub special: Option<Special>,
    /// Which special backends the control socket disabled: one flag per redirect, else one.
    pub special_off: Box<[AtomicBool]>,
    /// Requests the service took, for metrics.
    pub stats: crate::stats::Counters,
}

/// `Balancer`, with the state interleaved round robin keeps.
pub enum Strategy {
    Random,
    Iwrr(Iwrr),
}

/// The backends that answer without a server behind them.
pub enum Special {
    /// `Redirect`; with several (deprecated), one is chosen at random for each request.
    Redirect(Vec<Redirect>),
    /// `Error STATUS [FILE]`, with the file's content.
    Error {
        status: u16,
        page: Option<Arc<Page>>,
    },
    /// `ACME "directory"`.
    Acme(std::path::PathBuf),
    /// `Metrics`: OpenMetrics text about the running state.
    Metrics,
    /// `Success` (pound 4.20): 200 with an empty body.
    Success,
    /// `Control` (pound 4.14): the control interface.
    Control,
    /// `SendFile` (pound 4.17): files from a directory opened at start.
    SendFile(Arc<crate::sendfile::SendDir>),
}

pub struct Redirect {
    pub code: u16,
    pub url: Template,
    pub append_request: bool,
    /// `redirect:URL`, as logs show the backend.
    pub named: Named,
}

/// A backend as one service uses it, with that service's priority and state for it. Every
/// use of a named backend is a copy of its own (pound.8: the in-service form "creates a copy
/// of the backend defined elsewhere"), so each service judges its liveness separately.
pub struct Member {
    pub backend: Arc<Backend>,
    pub priority: u16,
    /// Set by `Disabled` or the control socket: no new requests or sessions.
    pub disabled: AtomicBool,
    /// The balancer group (pound 4.14): 0 for `Backend`, [`EMERGENCY_GROUP`] for
    /// `Emergency`; requests go to the first group with a usable backend.
    pub group: u16,
    pub role: Role,
}

/// What a backend of the list is.
#[derive(Clone)]
pub enum Role {
    /// A backend of the configuration.
    Static,
    /// A matrix (`Resolve first|all|srv`): it stands in the list, never alive, and makes
    /// the backends DNS answers call for.
    Matrix(Arc<Matrix>),
    /// A backend a matrix made.
    Generated(Arc<Matrix>),
}

/// A dynamic backend's definition and the state of its lookups (pound 4.14).
pub struct Matrix {
    /// The `Backend` section: host, port, priority, time-outs, TLS, dynamic settings.
    pub config: RegularBackend,
    pub span: Span,
    /// Seconds since the epoch when the next lookup is due (0 while one is in flight or
    /// the matrix is disabled), for the control interface's `expire`.
    pub expire: std::sync::atomic::AtomicU64,
    /// Wakes the matrix's task: enabled again through the control interface.
    pub wake: tokio::sync::Notify,
}

impl Matrix {
    /// The host name asked for.
    pub fn host(&self) -> &str {
        match &self.config.address {
            BackendAddr::Inet { host, .. } => host,
            BackendAddr::Unix(_) => "",
        }
    }

    /// The port of `first`/`all` backends.
    pub fn port(&self) -> u16 {
        match &self.config.address {
            BackendAddr::Inet { port, .. } => *port,
            BackendAddr::Unix(_) => 80,
        }
    }
}

impl Member {
    /// The matrix this member is, or was made by.
    pub fn matrix(&self) -> Option<&Arc<Matrix>> {
        match &self.role {
            Role::Static => None,
            Role::Matrix(m) | Role::Generated(m) => Some(m),
        }
    }
}

impl Member {
    /// Enabled and alive.
    fn usable(&self) -> bool {
        !self.disabled.load(Ordering::Relaxed) && self.backend.is_alive()
    }
}

/// The balancer group of `Emergency` backends.
pub const EMERGENCY_GROUP: u16 = 65535;

/// A service's backends, in the control interface's order: by balancer group, in
/// configuration order within a group. The list is replaced whole (dynamic backends change
/// it), so the request path takes it once per choice and keeps what it chose.
#[derive(Default)]
pub struct Backends {
    pub list: Vec<Arc<Member>>,
}

/// `NAME:LN1.COL1-LN2.COL2`, as `%{obj}L` shows a definition.
pub fn location(s: &Span) -> String {
    format!(
        "{}:{}.{}-{}.{}",
        s.file, s.start.line, s.start.col, s.end.line, s.end.col
    )
}

fn named(name: Option<&str>, span: &Span) -> Named {
    Named {
        name: name.unwrap_or("-").to_string(),
        location: location(span),
    }
}

fn secs(n: u32) -> Duration {
    Duration::from_secs(u64::from(n))
}

/// Resolves a host name or address literal; `dns` false refuses names.
pub fn resolve(host: &str, port: u16, dns: bool) -> Result<SocketAddr, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if !dns {
        return Err(format!(
            "{host}: host name resolution is disabled (-W no-dns)"
        ));
    }
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("{host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}: no address"))
}

impl State {
    /// Builds the running state. The error is a message naming the offending object.
    pub fn build(config: &Config, dns: bool) -> Result<State, String> {
        State::build_carrying(config, dns, &mut Carry::default())
    }

    /// [`State::build`], taking over from `carry` the runtime objects it finds again.
    pub fn build_carrying(config: &Config, dns: bool, carry: &mut Carry) -> Result<State, String> {
        let mut ids = Identities::default();
        let mut backends = Vec::new();
        let mut warnings = Vec::new();
        // Every definition is built once (address resolved, TLS files read), even if no
        // service uses it; each use gets its own copy below.
        let named_backends = config
            .backends
            .iter()
            .map(|nb| new_backend(&nb.backend, &nb.span, dns, &mut warnings))
            .collect::<Result<Vec<_>, String>>()?;
        let mut rules = Builder::default();
        let top_consts = Constants::scope(&Constants::default(), &config.global.constants);
        let mut build_service =
            |s: &ServiceCfg, owner: String, outer: &Constants| -> Result<Service, String> {
                let mut member =
                    |b: &pound_config::model::Backend, group: u16| -> Result<Arc<Member>, String> {
                        match &b.kind {
                            BackendKind::Regular(r) if r.dynamic.resolve.is_dynamic() => {
                                let matrix = Arc::new(Matrix {
                                    config: r.clone(),
                                    span: b.span.clone(),
                                    expire: Default::default(),
                                    wake: tokio::sync::Notify::new(),
                                });
                                let named = Named {
                                    name: matrix.host().to_string(),
                                    location: location(&b.span),
                                };
                                Ok(Arc::new(Member {
                                    backend: Arc::new(Backend::matrix(named)),
                                    priority: r.priority,
                                    disabled: AtomicBool::new(r.disabled),
                                    group,
                                    role: Role::Matrix(matrix),
                                }))
                            }
                            BackendKind::Regular(r) => {
                                let be = new_backend(r, &b.span, dns, &mut warnings)?;
                                let key = backend_key(&owner, r, &be.address);
                                let be = carry.backend(key, be, &mut ids);
                                backends.push(be.clone());
                                Ok(Arc::new(Member {
                                    backend: be,
                                    priority: r.priority,
                                    disabled: AtomicBool::new(r.disabled),
                                    group,
                                    role: Role::Static,
                                }))
                            }
                            BackendKind::Named(n) => {
                                let (nb, definition) = config
                                    .backends
                                    .get(n.index)
                                    .zip(named_backends.get(n.index))
                                    .ok_or_else(|| format!("backend {} is not defined", n.name))?;
                                let cfg = &nb.backend;
                                if cfg.dynamic.resolve.is_dynamic() {
                                    return Err(format!(
                                        "{}: Resolve in a named backend is not supported yet",
                                        nb.span
                                    ));
                                }
                                let key = backend_key(&owner, cfg, &definition.address);
                                let be = carry.backend(key, Arc::new(definition.copy()), &mut ids);
                                backends.push(be.clone());
                                Ok(Arc::new(Member {
                                    backend: be,
                                    priority: n.priority.unwrap_or(cfg.priority),
                                    disabled: AtomicBool::new(n.disabled.unwrap_or(cfg.disabled)),
                                    group,
                                    role: Role::Static,
                                }))
                            }
                            other => Err(format!(
                                "{}: {} is not supported yet",
                                b.span,
                                other.keyword()
                            )),
                        }
                    };
                let special = special(s, &mut rules)?;
                let regular = s
                    .backends
                    .iter()
                    .filter(|b| matches!(b.kind, BackendKind::Regular(_) | BackendKind::Named(_)));
                let mut list = Vec::new();
                for b in regular {
                    list.push(member(b, 0)?);
                }
                for b in &s.emergency {
                    list.push(member(b, EMERGENCY_GROUP)?);
                }
                let specials = match &special {
                    Some(Special::Redirect(list)) => list.len(),
                    Some(_) => 1,
                    None => 0,
                };
                let consts = Constants::scope(outer, &s.constants);
                Ok(Service {
                    named: named(s.name.as_deref(), &s.span),
                    consts: (!consts.is_empty()).then(|| Arc::new(consts)),
                    rewrite_errors: s.rewrite_errors,
                    disabled: AtomicBool::new(s.disabled),
                    special_off: (0..specials).map(|_| AtomicBool::new(false)).collect(),
                    stats: Default::default(),
                    forwarded_header: s.forwarded_header.clone(),
                    trusted_ip: s.trusted_ip.clone(),
                    log_suppress: s.log_suppress,
                    conds: rules.conds(&s.conditions),
                    request: rules.actions(&s.request),
                    response: rules.responses(&s.response),
                    backends: ArcSwap::from_pointee(Backends { list }),
                    changing: Default::default(),
                    strategy: match s.balancer {
                        Balancer::Random => Strategy::Random,
                        Balancer::Iwrr => Strategy::Iwrr(Iwrr::default()),
                    },
                    sessions: s.session.as_ref().map(|cfg| {
                        let key = format!("{owner}|{:?}|{}|{:?}", cfg.kind, cfg.ttl, cfg.id);
                        carry.sessions(key, cfg, &mut ids)
                    }),
                    special,
                })
            };
        let mut all_services = Vec::new();
        // A service is known by its name, or else its place, in its listener (or among
        // the global ones).
        let service_id = |within: &str, s: &ServiceCfg, i: usize| match &s.name {
            Some(n) => format!("{within} service {n:?}"),
            None => format!("{within} service #{i}"),
        };
        let globals = config
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| build_service(s, service_id("global", s, i), &top_consts))
            .map(|s| s.map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        all_services.extend(globals.iter().cloned());
        let log_levels = Arc::new(crate::log::levels::Levels::build(config)?);
        let mut built = Vec::new();
        let mut own = Vec::new();
        for (li, l) in config.listeners.iter().enumerate() {
            let within = match &l.name {
                Some(n) => format!("listener {n:?}"),
                None => format!("listener {:?} #{li}", l.addr),
            };
            let listener_consts = Constants::scope(&top_consts, &l.constants);
            let mut services = l
                .services
                .iter()
                .enumerate()
                .map(|(i, s)| build_service(s, service_id(&within, s, i), &listener_consts))
                .map(|s| s.map(Arc::new))
                .collect::<Result<Vec<_>, _>>()?;
            all_services.extend(services.iter().cloned());
            own.push(services.len());
            services.extend(globals.iter().cloned());
            built.push(services);
        }
        let mut listeners = Vec::new();
        for (l, services) in config.listeners.iter().zip(built) {
            let request = rules.actions(&l.request);
            let response = rules.responses(&l.response);
            listeners.push((l, services, request, response));
        }
        let (capture, originator) = (rules.captures, rules.originator);
        let htpasswd = rules.watched_htpasswd();
        let mut own = own.into_iter();
        warnings.extend(crate::tls::global_warnings(&config.global));
        let listeners = listeners
            .into_iter()
            .map(|(l, services, request, response)| {
                let mut built = new_listener(config, l, services, dns, &log_levels, &mut warnings)?;
                built.own_services = own.next().unwrap_or(0);
                built.request = request;
                built.response = response;
                built.capture = capture;
                built.originator = originator;
                Ok(Arc::new(built))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let matrices = all_services
            .iter()
            .flat_map(|s| {
                let list = s.backends.load_full();
                let s = s.clone();
                (0..list.list.len()).filter_map(move |i| match &list.list[i].role {
                    Role::Matrix(m) => Some((s.clone(), m.clone())),
                    _ => None,
                })
            })
            .collect();
        Ok(State {
            matrices,
            resolver: config.global.resolver.clone(),
            listeners,
            globals,
            backends,
            services: all_services,
            warnings,
            alive: secs(config.global.alive),
            grace: secs(config.global.grace),
            workers: (
                config.global.worker_min_count,
                config.global.worker_max_count,
                config.global.worker_idle_timeout,
                crate::workers::threads(config.global.worker_min_count),
            ),
            log_levels,
            identities: ids,
            queue: usize::MAX,
            stack: None,
            watched: config.watched.clone(),
            htpasswd,
            watcher_ttl: config.global.watcher_ttl,
        })
    }
}

/// A regular backend; logs name it by its address, as pound does, whether or not the
/// configuration gave it a name.
/// `warnings` collects what the backend's TLS settings cannot honour.
fn new_backend(
    r: &RegularBackend,
    span: &Span,
    dns: bool,
    warnings: &mut Vec<String>,
) -> Result<Arc<Backend>, String> {
    let address = match &r.address {
        BackendAddr::Inet { host, port } => match resolve(host, *port, dns) {
            Ok(a) => Address::Inet(a),
            // pound starts all the same and takes the name for a UNIX socket path, which
            // then fails to connect (the backend is dead, its requests get 503).
            Err(e) => {
                warnings.push(format!(
                    "{span}: warning: {e}; the backend is taken for the UNIX socket {host}, as pound does"
                ));
                Address::Unix(host.into())
            }
        },
        BackendAddr::Unix(p) => Address::Unix(p.clone()),
    };
    let tls = match (&r.tls, &r.address) {
        (None, _) => None,
        (Some(_), BackendAddr::Unix(_)) => {
            return Err(format!(
                "{span}: HTTPS to a UNIX-socket backend is not supported"
            ))
        }
        (Some(t), BackendAddr::Inet { host, .. }) => {
            let (config, warned) =
                crate::tls::client::config(t).map_err(|e| format!("{span}: {e}"))?;
            warnings.extend(warned.into_iter().map(|w| format!("{span}: warning: {w}")));
            Some(Tls {
                config,
                host: Some(host.clone()),
            })
        }
    };
    let named = Named {
        name: address_name(&address),
        location: location(span),
    };
    let timeouts = [secs(r.conn_to), secs(r.timeout), secs(r.ws_timeout)];
    let mut backend = Backend::new(named, address, timeouts, tls);
    backend.server_name = r.server_name.as_deref().map(Arc::from);
    Ok(Arc::new(backend))
}

impl State {
    /// Every backend that can be dead, for the prober: the configuration's and those the
    /// matrices made.
    pub fn all_backends(&self) -> Vec<Arc<Backend>> {
        let mut all = self.backends.clone();
        for s in &self.services {
            for m in &s.backends.load().list {
                if matches!(m.role, Role::Generated(_)) {
                    all.push(m.backend.clone());
                }
            }
        }
        all
    }
}

/// A backend a matrix makes: `r` with an IP address, built as the configuration's are.
pub fn dynamic_backend(
    r: &RegularBackend,
    span: &Span,
    warnings: &mut Vec<String>,
) -> Result<Arc<Backend>, String> {
    new_backend(r, span, true, warnings)
}

/// The request log format a `LogLevel` names.
fn log_format(config: &Config, level: &LogLevel) -> Result<Format, String> {
    let spec = match level {
        LogLevel::Builtin(n) => BUILTIN.get(usize::from(*n)).copied().unwrap_or(BUILTIN[1]),
        LogLevel::Named(i) => config
            .log_formats
            .get(*i)
            .map(|f| f.format.as_str())
            .unwrap_or(BUILTIN[1]),
    };
    Format::compile(spec)
}

fn new_listener(
    config: &Config,
    l: &ListenerCfg,
    services: Vec<Arc<Service>>,
    dns: bool,
    levels: &Arc<crate::log::levels::Levels>,
    warnings: &mut Vec<String>,
) -> Result<Listener, String> {
    let http2_on = l.http2_enabled();
    let tls = match &l.tls {
        None => None,
        Some(t) => {
            let built = crate::tls::server::build(t, &config.global, &l.span, http2_on)?;
            crate::tls::add_warnings(warnings, built.warnings);
            Some(ListenerTls {
                acceptor: tokio_rustls::TlsAcceptor::from(built.config),
                client_cert: t.client_cert.mode,
                no_https11: t.no_https11,
            })
        }
    };
    log_format(config, &l.log_level).map_err(|e| format!("{}: {e}", l.span))?;
    // A listener whose level is the server's follows the server's when it changes.
    let own = (l.log_level != config.global.log_level).then(|| levels.of(&l.log_level));
    let log = crate::log::levels::ListenerLog::new(levels.clone(), own);
    Ok(Listener {
        tunnel: l.tunnel,
        named: named(l.name.as_deref(), &l.span),
        address: match &l.addr {
            ListenAddr::Unix(p) => std::sync::OnceLock::from(p.display().to_string()),
            // The bound address, known once the socket is open (a host name resolved, a
            // socket received).
            ListenAddr::Inet { .. } | ListenAddr::SocketFrom(_) => std::sync::OnceLock::new(),
        },
        enabled: AtomicBool::new(true),
        own_services: 0,
        stats: Default::default(),
        limits: Limits {
            xhttp: l.xhttp,
            max_body: l.max_request.filter(|&n| n > 0),
            // `LineBufferSize`: each line may be 3 bytes shorter, as in pound; the head as a
            // whole makes room for a line that long.
            max_line: l.line_buffer as usize - 3,
            max_head: Limits::default().max_head.max(l.line_buffer as usize * 2),
        },
        client_timeout: secs(l.client.max(1)),
        client_rate: crate::pace::Rate {
            min: l.client_limits.min_rate,
            // Unless set, the grace is `Client`: a client may stall as long as pound's own
            // time-out allows, and must keep up on average.
            grace: secs(l.client_limits.rate_grace.unwrap_or(l.client).max(1)),
        },
        max_connections: l.client_limits.max_connections,
        max_requests: l.client_limits.max_requests,
        check_url: l.check_url.clone(),
        max_uri: l.max_uri,
        rewrite_errors: l.rewrite_errors,
        error_pages: l
            .error_pages
            .iter()
            .map(|(code, page)| (*code, page.page.clone()))
            .collect(),
        log,
        forwarded_header: l.forwarded_header.clone(),
        trusted_ip: l.trusted_ip.clone(),
        anonymise: config.global.anonymise,
        header_options: l.header_options,
        combine: config
            .global
            .combine_headers
            .iter()
            .map(|h| h.as_str().into())
            .collect(),
        rewrite_location: l.rewrite_location,
        dns,
        rewrite_destination: l.rewrite_destination,
        request: Vec::new(),
        response: Vec::new(),
        capture: false,
        originator: false,
        services,
        tls,
        http2: http2_on.then_some(Http2 {
            max_streams: l.http2.max_streams,
            window: l.http2.window,
            slow_streams: l.http2.slow_streams,
        }),
    })
}

/// The special backend of a service, if it has one. Regular backends may only be mixed with
/// nothing else.
fn special(s: &ServiceCfg, rules: &mut Builder) -> Result<Option<Special>, String> {
    let mut redirects = Vec::new();
    let mut other = None;
    for b in &s.backends {
        match &b.kind {
            BackendKind::Regular(_) | BackendKind::Named(_) => {}
            BackendKind::Redirect {
                code,
                url,
                append_request,
            } => {
                rules.note(url);
                redirects.push(Redirect {
                    code: *code,
                    url: url.clone(),
                    append_request: *append_request,
                    named: Named {
                        name: format!("redirect:{}", url.text),
                        location: location(&b.span),
                    },
                });
            }
            BackendKind::Error { status, page } => {
                other = Some(Special::Error {
                    status: *status,
                    page: page.as_ref().map(|p| p.page.clone()),
                });
            }
            BackendKind::Acme { directory } => {
                other = Some(Special::Acme(directory.into()));
            }
            BackendKind::Metrics => other = Some(Special::Metrics),
            BackendKind::Success => other = Some(Special::Success),
            BackendKind::Control => other = Some(Special::Control),
            BackendKind::SendFile { dir } => {
                let d = crate::sendfile::SendDir::open(dir)
                    .map_err(|e| format!("{}: can't open {}: {e}", b.span, dir.display()))?;
                other = Some(Special::SendFile(Arc::new(d)));
            }
        }
    }
    // A service mixing `Redirect` with regular backends (deprecated) keeps both: each
    // redirect takes requests like a backend of priority 1, as in pound (see
    // `Service::redirect_drawn`).
    Ok(if redirects.is_empty() {
        other
    } else {
        Some(Special::Redirect(redirects))
    })
}

impl Service {
    /// Whether this service takes the request: it is enabled and its conditions hold.
    pub fn matches(&self, cx: &mut Cx<'_>) -> Result<bool, EvalError> {
        if self.disabled.load(Ordering::Relaxed) {
            return Ok(false);
        }
        cx.all(&self.conds)
    }

    /// Whether special backend `i` (a redirect of the list, else 0) is enabled.
    pub fn special_enabled(&self, i: usize) -> bool {
        self.special_off
            .get(i)
            .is_some_and(|f| !f.load(Ordering::Relaxed))
    }

    /// In a service that mixes `Redirect` with regular backends (deprecated), whether this
    /// request goes to a redirect: each enabled redirect weighs as a backend of priority 1
    /// against the usable regular backends, as pound balances them.
    pub fn redirect_drawn(&self) -> bool {
        let Some(Special::Redirect(list)) = &self.special else {
            return false;
        };
        let redirects = (0..list.len()).filter(|&i| self.special_enabled(i)).count() as u32;
        let regular: u32 = self
            .backends
            .load()
            .list
            .iter()
            .filter(|m| m.group != EMERGENCY_GROUP && m.usable())
            .map(|m| u32::from(m.priority))
            .sum();
        redirects > 0 && fastrand::u32(..redirects + regular) < redirects
    }

    /// Whether the service has backends outside the emergency group.
    pub fn has_regular(&self) -> bool {
        self.backends
            .load()
            .list
            .iter()
            .any(|m| m.group != EMERGENCY_GROUP)
    }

    /// Backend `i` as the control interface counts them.
    pub fn member_at(&self, i: usize) -> Option<Arc<Member>> {
        self.backends.load().list.get(i).cloned()
    }

    /// Chooses a backend not in `tried` for a request with session key `key`: the session's
    /// backend while it is usable, else one chosen by the balancing strategy in the first
    /// balancer group that has a usable one (and the session created or moved there).
    /// Sessions never point to an emergency backend.
    pub fn pick(&self, key: Option<&[u8]>, tried: &[usize]) -> Option<(usize, Arc<Member>)> {
        let table = self.backends.load();
        let list = &table.list;
        // The clock is read only for services with sessions.
        let sessions = self
            .sessions
            .as_ref()
            .zip(key)
            .map(|(s, k)| (s, k, std::time::Instant::now()));
        if let Some((s, key, now)) = sessions {
            if let Some(i) = s.table.get(key, now) {
                if let Some(m) = list.get(i) {
                    if m.group != EMERGENCY_GROUP && m.usable() && !tried.contains(&i) {
                        return Some((i, m.clone()));
                    }
                }
            }
        }
        let mut start = 0;
        while start < list.len() {
            let group = list[start].group;
            let end = list[start..]
                .iter()
                .position(|m| m.group != group)
                .map_or(list.len(), |n| start + n);
            if let Some(i) = self.choose(&list[start..end], start, tried) {
                if group != EMERGENCY_GROUP {
                    if let Some((s, key, now)) = sessions {
                        s.table.put(key, i, now);
                    }
                }
                return Some((i, list[i].clone()));
            }
            start = end;
        }
        None
    }

    /// One backend of a balancer group (`group`, whose first member is backend `base`),
    /// by the service's strategy, among the usable ones not in `tried`.
    fn choose(&self, group: &[Arc<Member>], base: usize, tried: &[usize]) -> Option<usize> {
        // One snapshot of who can take the request: liveness changes under our feet while
        // other requests fail over, and the strategies look at the list twice.
        let mut stack = [(0usize, 0u16); 32];
        let mut heap = Vec::new();
        let mut n = 0;
        for (j, m) in group.iter().enumerate() {
            let i = base + j;
            if m.usable() && !tried.contains(&i) {
                if n < stack.len() {
                    stack[n] = (i, m.priority);
                } else {
                    if heap.is_empty() {
                        heap.extend_from_slice(&stack);
                    }
                    heap.push((i, m.priority));
                }
                n += 1;
            }
        }
        let candidates: &[(usize, u16)] = if n <= stack.len() { &stack[..n] } else { &heap };
        let all = candidates.iter().copied();
        let emergency = group.first().is_some_and(|m| m.group == EMERGENCY_GROUP);
        match &self.strategy {
            Strategy::Random => match balance::total(all.clone()) {
                // Only priority-0 backends are left: a live one beats none (not among
                // emergency backends).
                0 if emergency => None,
                0 => candidates
                    .get(fastrand::usize(..candidates.len().max(1)))
                    .map(|&(i, _)| i),
                total => balance::weighted(all, fastrand::u32(..total)),
            },
            Strategy::Iwrr(state) => state.pick(all),
        }
    }

    /// A backend's response may name a COOKIE or HEADER session key: when no session has
    /// that key yet, it starts on member `index`, the backend that answered.
    pub fn note_response(&self, head: &crate::http::head::Head, index: usize) {
        let Some(s) = &self.sessions else {
            return;
        };
        if self
            .backends
            .load()
            .list
            .get(index)
            .is_none_or(|m| m.group == EMERGENCY_GROUP)
        {
            return;
        }
        if let Some(key) = s.response_key(head) {
            let now = std::time::Instant::now();
            if s.table.get(&key, now).is_none() {
                s.table.put(&key, index, now);
            }
        }
    }
}

#[cfg(test)]
mod tests;
