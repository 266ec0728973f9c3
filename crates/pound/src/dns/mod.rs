//! DNS lookups for dynamic backends (pound 4.14, manual 6.3): the addresses of a name (A,
//! AAAA, as `Family` asks) and the SRV records of a service, each with the time its answer
//! may be kept (the smallest TTL).
//!
//! Lookups are asynchronous (hickory-resolver) and never run on the request path: the
//! matrices' own tasks make them. The resolver keeps no cache, so each refresh asks the
//! servers, as pound does when a TTL expires. How a failure is told matters to the caller:
//! a name that does not exist or has no such records empties the matrix (pound drops its
//! backends), while a server that does not answer, or answers with an error, keeps the
//! last good set.

mod conf;
pub mod matrix;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::{ResolveError, TokioResolver};
use pound_config::model::dns::{Family, Resolver, ResolverConfig as Source};

pub use conf::ResolvConf;

/// Where the system's resolver configuration is.
const SYSTEM_CONF: &str = "/etc/resolv.conf";

/// Why a lookup gave nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No server answered in time: the last good set stays. The message is pound's
    /// (`Querying for A records of NAME: DNS query timed out`).
    Timeout(String),
    /// The server failed or refused to answer (`SERVFAIL`, `REFUSED`...): the last good
    /// set stays too, and the message says why.
    Error(String),
    /// The name does not exist or has no such records (`NXDOMAIN`, no data): the set is
    /// emptied, as pound empties it.
    Nothing,
}

/// The addresses of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addresses {
    /// In the order of the answers: IPv4 first, then IPv6.
    pub addrs: Vec<IpAddr>,
    /// How long the answer may be kept: the smallest TTL of the records used.
    pub ttl: Duration,
}

/// One SRV record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// The target host, without the final dot.
    pub target: String,
}

/// The SRV records of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Services {
    pub records: Vec<Srv>,
    pub ttl: Duration,
}

/// The resolver of dynamic backends, built from the `Resolver` section.
pub struct Dns {
    resolver: TokioResolver,
    /// `CNAMEChain`: the most CNAME records an answer may go through (at least 1).
    cname_chain: usize,
    /// `Debug true`: each query is logged, with the server asked first.
    debug: Option<String>,
}

impl Dns {
    /// Builds the resolver; the error is pound's message for a configuration it cannot
    /// use (`can't initialize DNS state: ...`, after the line at fault).
    pub fn new(settings: &Resolver) -> Result<Dns, String> {
        let (text, origin) = match &settings.config {
            Some(Source::Text(text)) => (text.clone(), "<supplied configuration text>".into()),
            Some(Source::File { text, .. }) => {
                (text.clone(), "<supplied configuration text>".to_string())
            }
            None => match std::fs::read_to_string(SYSTEM_CONF) {
                Ok(text) => (text, SYSTEM_CONF.to_string()),
                // No resolv.conf: the local server, as the C resolver assumes.
                Err(_) => (String::new(), SYSTEM_CONF.to_string()),
            },
        };
        let conf = ResolvConf::parse(&text, &origin)
            .map_err(|e| format!("can't initialize DNS state: {e}"))?;
        let mut dns = Dns::with(&conf, settings.cname_chain);
        if settings.debug {
            dns.debug = conf.nameservers.first().map(|a| a.ip().to_string());
        }
        Ok(dns)
    }

    /// A resolver asking `conf`'s servers.
    pub fn with(conf: &ResolvConf, cname_chain: u32) -> Dns {
        let mut config = ResolverConfig::new();
        // UDP, as pound's resolver asks: a server that does not answer is a time-out (the
        // last good set stays), never a refused TCP connection.
        for &addr in &conf.nameservers {
            config.add_name_server(NameServerConfig::new(addr, Protocol::Udp));
        }
        let mut opts = ResolverOpts::default();
        opts.timeout = conf.timeout;
        // resolv.conf counts tries; hickory counts retries after the first.
        opts.attempts = conf.attempts.saturating_sub(1);
        // Each refresh must ask the servers: no cache, and CNAMEs kept so that a chain can
        // be measured.
        opts.cache_size = 0;
        opts.preserve_intermediates = true;
        opts.ndots = 0;
        let mut builder =
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default());
        *builder.options_mut() = opts;
        Dns {
            resolver: builder.build(),
            cname_chain: (cname_chain as usize).max(1),
            debug: None,
        }
    }

    /// The addresses of `name` for `family`: A records, then AAAA records.
    pub async fn addresses(&self, name: &str, family: Family) -> Result<Addresses, Failure> {
        let types: &[RecordType] = match family {
            Family::Any => &[RecordType::A, RecordType::AAAA],
            Family::Inet => &[RecordType::A],
            Family::Inet6 => &[RecordType::AAAA],
            Family::Unix => &[],
        };
        let mut addrs = Vec::new();
        let mut ttl: Option<Duration> = None;
        let mut timeout = None;
        for &kind in types {
            match self.query(name, kind).await {
                Ok((records, t)) => {
                    addrs.extend(records.into_iter().filter_map(|r| match r {
                        RData::A(a) => Some(IpAddr::V4(a.0)),
                        RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                        _ => None,
                    }));
                    ttl = Some(ttl.map_or(t, |old| old.min(t)));
                }
                Err(failed @ (Failure::Timeout(_) | Failure::Error(_))) => timeout = Some(failed),
                Err(Failure::Nothing) => {}
            }
        }
        // A family that did not answer leaves the answer incomplete: the last good set stays
        // rather than losing that family's backends to a passing failure.
        match (addrs.is_empty(), timeout) {
            (_, Some(failed)) => Err(failed),
            (false, None) => Ok(Addresses {
                addrs,
                ttl: ttl.unwrap_or_default(),
            }),
            (true, None) => Err(Failure::Nothing),
        }
    }

    /// The SRV records of `name`.
    pub async fn services(&self, name: &str) -> Result<Services, Failure> {
        let (records, ttl) = self.query(name, RecordType::SRV).await?;
        let records: Vec<Srv> = records
            .into_iter()
            .filter_map(|r| match r {
                RData::SRV(s) => Some(Srv {
                    priority: s.priority(),
                    weight: s.weight(),
                    port: s.port(),
                    target: s.target().to_utf8().trim_end_matches('.').to_string(),
                }),
                _ => None,
            })
            .collect();
        if records.is_empty() {
            return Err(Failure::Nothing);
        }
        Ok(Services { records, ttl })
    }

    /// The records of type `kind` answering `name`, and their smallest TTL (CNAMEs on the
    /// way included); an answer through more CNAMEs than `CNAMEChain` allows is nothing.
    async fn query(&self, name: &str, kind: RecordType) -> Result<(Vec<RData>, Duration), Failure> {
        // An absolute name: no search list, no local domain.
        let fqdn = if name.ends_with('.') {
            name.to_string()
        } else {
            format!("{name}.")
        };
        if let Some(server) = &self.debug {
            // Beside pound's own messages (standard error), where adns's lines went.
            crate::logmsg!(
                Notice,
                "dns debug: using nameserver {server} for {kind} records of {name}"
            );
        }
        let lookup = self
            .resolver
            .lookup(fqdn.as_str(), kind)
            .await
            .map_err(|e| failure(&e, name, kind))?;
        let cnames = lookup
            .record_iter()
            .filter(|r| r.record_type() == RecordType::CNAME)
            .count();
        if cnames > self.cname_chain {
            return Err(Failure::Nothing);
        }
        let now = Instant::now();
        let ttl = lookup
            .record_iter()
            .map(|r| Duration::from_secs(u64::from(r.ttl())))
            .min()
            .unwrap_or_else(|| lookup.valid_until().saturating_duration_since(now));
        let records = lookup
            .record_iter()
            .filter(|r| r.record_type() == kind)
            .map(|r| r.data().clone())
            .collect();
        Ok((records, ttl))
    }
}

/// What a failed lookup means for the matrix.
fn failure(e: &ResolveError, name: &str, kind: RecordType) -> Failure {
    let timed_out = e.proto().is_some_and(|p| {
        matches!(p.kind(), ProtoErrorKind::Timeout)
            || matches!(p.kind(), ProtoErrorKind::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
    }) || e.to_string().contains("timed out");
    if timed_out {
        return Failure::Timeout(format!(
            "Querying for {kind} records of {name}: DNS query timed out"
        ));
    }
    match e.proto().map(|p| p.kind()) {
        Some(ProtoErrorKind::NoRecordsFound { response_code, .. })
            if !matches!(
                response_code,
                ResponseCode::NXDomain | ResponseCode::NoError
            ) =>
        {
            let why = match response_code {
                ResponseCode::ServFail => "server failure".to_string(),
                ResponseCode::Refused => "query refused".to_string(),
                other => format!("error answer ({other})"),
            };
            Failure::Error(format!("Querying for {kind} records of {name}: {why}"))
        }
        _ => Failure::Nothing,
    }
}
