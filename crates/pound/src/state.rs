//! The running configuration: listeners, services and backends as the proxy uses them,
//! built once from the checked [`pound_config::Config`] at start-up.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use pound_config::model::{
    BackendAddr, BackendKind, HeaderOptions, Listener as ListenerCfg, LogLevel, Matcher,
    RegularBackend, Service as ServiceCfg,
};
use pound_config::{Config, Span};

use crate::backend::{address_name, Address, Backend};
use crate::http::request::Limits;
use crate::log::format::{Format, Named, BUILTIN};

pub struct State {
    pub listeners: Vec<Arc<Listener>>,
    /// Every regular backend, for the prober.
    pub backends: Vec<Arc<Backend>>,
    pub alive: Duration,
    pub grace: Duration,
}

pub struct Listener {
    pub named: Named,
    pub limits: Limits,
    pub client_timeout: Duration,
    pub check_url: Option<Matcher>,
    pub error_pages: BTreeMap<u16, Arc<[u8]>>,
    pub log: Format,
    pub header_options: HeaderOptions,
    /// `RewriteLocation`: 0, 1 or 2.
    pub rewrite_location: u8,
    /// The listener's own services, then the global ones.
    pub services: Vec<Arc<Service>>,
}

pub struct Service {
    pub named: Named,
    pub disabled: bool,
    pub members: Vec<Member>,
    pub emergency: Option<Member>,
}

/// A backend as one service uses it, with that service's priority and state for it.
pub struct Member {
    pub backend: Arc<Backend>,
    pub priority: u8,
    pub disabled: bool,
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
        let mut backends = Vec::new();
        let named_backends = config
            .backends
            .iter()
            .map(|nb| {
                let b = new_backend(&nb.backend, &nb.span, dns)?;
                backends.push(b.clone());
                Ok(b)
            })
            .collect::<Result<Vec<_>, String>>()?;
        let mut build_service = |s: &ServiceCfg| -> Result<Arc<Service>, String> {
            let mut member = |b: &pound_config::model::Backend| -> Result<Member, String> {
                match &b.kind {
                    BackendKind::Regular(r) => {
                        let be = new_backend(r, &b.span, dns)?;
                        backends.push(be.clone());
                        Ok(Member {
                            backend: be,
                            priority: r.priority,
                            disabled: r.disabled,
                        })
                    }
                    BackendKind::Named(n) => {
                        let be = named_backends
                            .get(n.index)
                            .cloned()
                            .ok_or_else(|| format!("backend {} is not defined", n.name))?;
                        let cfg = &config.backends[n.index].backend;
                        Ok(Member {
                            backend: be,
                            priority: n.priority.unwrap_or(cfg.priority),
                            disabled: n.disabled.unwrap_or(cfg.disabled),
                        })
                    }
                    other => Err(format!(
                        "{}: {} is not supported yet",
                        b.span,
                        other.keyword()
                    )),
                }
            };
            let members = s
                .backends
                .iter()
                .map(&mut member)
                .collect::<Result<_, _>>()?;
            let emergency = s.emergency.as_ref().map(&mut member).transpose()?;
            Ok(Arc::new(Service {
                named: named(s.name.as_deref(), &s.span),
                disabled: s.disabled,
                members,
                emergency,
            }))
        };
        let globals = config
            .services
            .iter()
            .map(&mut build_service)
            .collect::<Result<Vec<_>, _>>()?;
        let mut listeners = Vec::new();
        for l in &config.listeners {
            let mut services = l
                .services
                .iter()
                .map(&mut build_service)
                .collect::<Result<Vec<_>, _>>()?;
            services.extend(globals.iter().cloned());
            listeners.push(Arc::new(new_listener(config, l, services)?));
        }
        Ok(State {
            listeners,
            backends,
            alive: secs(config.global.alive),
            grace: secs(config.global.grace),
        })
    }
}

/// A regular backend; logs name it by its address, as pound does, whether or not the
/// configuration gave it a name.
fn new_backend(r: &RegularBackend, span: &Span, dns: bool) -> Result<Arc<Backend>, String> {
    let address = match &r.address {
        BackendAddr::Inet { host, port } => {
            Address::Inet(resolve(host, *port, dns).map_err(|e| format!("{span}: {e}"))?)
        }
        BackendAddr::Unix(p) => Address::Unix(p.clone()),
    };
    let named = Named {
        name: address_name(&address),
        location: location(span),
    };
    Ok(Arc::new(Backend::new(
        named,
        address,
        secs(r.conn_to),
        secs(r.timeout),
        secs(r.ws_timeout),
    )))
}

fn new_listener(
    config: &Config,
    l: &ListenerCfg,
    services: Vec<Arc<Service>>,
) -> Result<Listener, String> {
    let log_spec = match &l.log_level {
        LogLevel::Builtin(n) => BUILTIN.get(usize::from(*n)).copied().unwrap_or(BUILTIN[1]),
        LogLevel::Named(i) => config
            .log_formats
            .get(*i)
            .map(|f| f.format.as_str())
            .unwrap_or(BUILTIN[1]),
    };
    let log = Format::compile(log_spec).map_err(|e| format!("{}: {e}", l.span))?;
    Ok(Listener {
        named: named(l.name.as_deref(), &l.span),
        limits: Limits {
            xhttp: l.xhttp,
            max_body: l.max_request.filter(|&n| n > 0),
            ..Limits::default()
        },
        client_timeout: secs(l.client.max(1)),
        check_url: l.check_url.clone(),
        error_pages: l
            .error_pages
            .iter()
            .map(|(code, page)| (*code, page.content.clone()))
            .collect(),
        log,
        header_options: l.header_options,
        rewrite_location: l.rewrite_location,
        services,
    })
}

impl Service {
    /// Whether this service takes the request. Matching conditions arrive with request
    /// routing; until then a service without conditions matches every request.
    pub fn matches(&self) -> bool {
        !self.disabled
    }

    /// Chooses a live, enabled backend not in `tried`, by weighted random choice over
    /// priorities; the emergency backend when no regular one is left.
    pub fn pick(&self, tried: &[usize]) -> Option<(usize, &Member)> {
        let usable =
            |i: usize, m: &Member| !m.disabled && m.backend.is_alive() && !tried.contains(&i);
        let total: u32 = self
            .members
            .iter()
            .enumerate()
            .filter(|(i, m)| usable(*i, m))
            .map(|(_, m)| u32::from(m.priority))
            .sum();
        let candidates = self
            .members
            .iter()
            .enumerate()
            .filter(|(i, m)| usable(*i, m));
        if total > 0 {
            let mut r = fastrand::u32(..total);
            for (i, m) in candidates {
                let p = u32::from(m.priority);
                if r < p {
                    return Some((i, m));
                }
                r -= p;
            }
        } else if let Some(found) = candidates
            .clone()
            .nth(fastrand::usize(..candidates.count().max(1)))
        {
            return Some(found);
        }
        let e = self.emergency.as_ref()?;
        let idx = self.members.len();
        (usable(idx, e)).then_some((idx, e))
    }
}
