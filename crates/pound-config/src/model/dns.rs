//! Dynamic backends (pound 4.14, manual 6.3 and 11.13): the `Resolver` section and the
//! `Backend` statements that make a backend a matrix of backends found in DNS.

use std::path::PathBuf;

use crate::diag::Span;

/// `Resolver` ... `End`: how DNS is asked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resolver {
    /// `CNAMEChain N`: the longest CNAME chain accepted (0 and 1 both accept one CNAME).
    pub cname_chain: u32,
    /// `ConfigFile` or `ConfigText`, the last one given; `None`: `/etc/resolv.conf`.
    pub config: Option<ResolverConfig>,
    /// `Debug BOOL`.
    pub debug: bool,
    /// `RetryInterval N`: seconds before a failed lookup is tried again (default 600);
    /// `Some(0)` retries at once.
    pub retry_interval: Option<u32>,
    /// Where the section was, for messages about it.
    pub span: Option<Span>,
}

/// Where the resolver's configuration (resolv.conf syntax) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolverConfig {
    /// `ConfigFile "FILE"`: its name and its text, read when the configuration is.
    File { path: PathBuf, text: String },
    /// `ConfigText` ... `End`: the lines in between, verbatim.
    Text(String),
}

/// The default `RetryInterval`, seconds.
pub const DEFAULT_RETRY_INTERVAL: u32 = 600;

/// `Resolve TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResolveMode {
    /// The name is looked up once, at start (the static backend of old).
    #[default]
    Immediate,
    /// The first address of the answer makes one backend.
    First,
    /// Each address of the answer makes a backend.
    All,
    /// Each SRV record makes a `Resolve all` backend of its target, in the balancer group
    /// of its priority, with its weight as priority.
    Srv,
}

impl ResolveMode {
    pub fn keyword(self) -> &'static str {
        match self {
            ResolveMode::Immediate => "immediate",
            ResolveMode::First => "first",
            ResolveMode::All => "all",
            ResolveMode::Srv => "srv",
        }
    }

    /// Whether backends come and go with DNS answers.
    pub fn is_dynamic(self) -> bool {
        self != ResolveMode::Immediate
    }
}

/// `Family NAME`: which address records are asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    #[default]
    Any,
    Inet,
    Inet6,
    /// `unix`: pound accepts it, then cannot resolve anything with it (it aborts).
    Unix,
}

impl Family {
    /// The number pound's control interface shows (`AF_UNSPEC`, `AF_INET`, `AF_INET6`).
    pub fn number(self) -> u32 {
        match self {
            Family::Any => 0,
            Family::Inet => 2,
            Family::Inet6 => 10,
            Family::Unix => 1,
        }
    }
}

/// The dynamic settings of a `Backend` (all of them are accepted, and ignored, on a
/// backend without `Resolve first|all|srv`, as pound ignores them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dynamic {
    pub resolve: ResolveMode,
    pub family: Family,
    /// `IgnoreSRVWeight BOOL`: the matrix's `Priority` instead of the SRV weights.
    pub ignore_srv_weight: bool,
    /// `OverrideTTL N` (0: unset): seconds between lookups instead of the records' TTL;
    /// it also replaces the retry interval.
    pub override_ttl: Option<u32>,
    /// `RetryInterval N` (0: unset): seconds before a failed lookup is tried again.
    pub retry_interval: Option<u32>,
}
