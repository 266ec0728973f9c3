//! Services: conditions, modifications and backends (pound.8, Service, Service Matching
//! Directives, REQUEST MODIFICATION DIRECTIVES, RESPONSE MODIFICATION).

use std::path::PathBuf;
use std::sync::Arc;

use super::{Acl, Backend, Balancer, Matcher, Session, Template};
use crate::diag::Span;

#[derive(Debug, Clone)]
pub struct Service {
    pub span: Span,
    pub name: Option<String>,
    /// Matching directives, joined by an implicit AND.
    pub conditions: Vec<Condition>,
    /// `Constant` in the service.
    pub constants: Vec<super::Constant>,
    /// `RewriteErrors` in the service, over the listener's (pound 4.17).
    pub rewrite_errors: Option<bool>,
    /// Request modifications, in file order.
    pub request: Vec<Modification>,
    /// `Rewrite response` blocks.
    pub response: Vec<Rewrite>,
    pub backends: Vec<Backend>,
    /// `Emergency` backends (any number since pound 4.14), balanced among themselves and
    /// used only when no regular backend can take a request.
    pub emergency: Vec<Backend>,
    pub session: Option<Session>,
    pub balancer: Balancer,
    pub disabled: bool,
    /// `ForwardedHeader`, when the service sets it; else the listener's applies.
    pub forwarded_header: Option<String>,
    /// `TrustedIP`, when the service sets it; else the listener's applies.
    pub trusted_ip: Option<Arc<Acl>>,
    pub log_suppress: LogSuppress,
}

/// A matching directive with its location (for runtime error messages).
#[derive(Debug, Clone)]
pub struct Condition {
    pub span: Span,
    pub kind: ConditionKind,
}

#[derive(Debug, Clone)]
pub enum ConditionKind {
    /// `ACL "name"`, an in-place `ACL ... End` or `ACL -file`: the client address is in
    /// the list; with `-forwarded` (pound 4.18), the originator behind `TrustedIP` proxies.
    Acl {
        acl: Arc<Acl>,
        forwarded: bool,
    },
    /// `BasicAuth "file"`: the request's Basic credentials are in the htpasswd file, read
    /// again when it changes unless `-file` was given.
    BasicAuth {
        path: PathBuf,
        watch: bool,
    },
    /// `Header`: some header line (`Name: value`) matches.
    Header(Matcher),
    /// `Header "NAME" [OPTIONS] "PATTERN"` (pound 4.17, with 4.22's meaning): the value of
    /// some field called NAME matches.
    HeaderField {
        name: String,
        matcher: Matcher,
    },
    /// `ClientCert "FILE"` (pound 4.14): the client presented this certificate (DER).
    ClientCert {
        path: PathBuf,
        der: Arc<[u8]>,
    },
    /// `TBF KEY RATE BURST` (pound 4.18): the bucket of the expanded key has a token.
    Tbf {
        key: Template,
        /// `count` tokens every `per`.
        count: u64,
        per: std::time::Duration,
        burst: u32,
    },
    /// `Method` (pound 4.20): the request method matches.
    Method(Matcher),
    /// `Eval "NAME"` (pound 4.19): the detached condition NAME holds.
    Eval(Arc<NamedCondition>),
    /// `Host`: the Host header's value matches.
    Host(Matcher),
    Path(Matcher),
    Query(Matcher),
    QueryParam {
        name: String,
        matcher: Matcher,
    },
    /// `StringMatch "template"`: the expanded template matches.
    StringMatch {
        template: Template,
        matcher: Matcher,
    },
    Url(Matcher),
    Not(Box<Condition>),
    Match {
        op: BoolOp,
        conditions: Vec<Condition>,
    },
}

/// A detached condition, `Condition "NAME" ... End` (pound 4.19): its conditions, all of
/// which must hold, are evaluated at most once per request however many `Eval`s name it, and
/// their regex groups are not visible outside.
#[derive(Debug)]
pub struct NamedCondition {
    pub name: String,
    /// Its position among the file's detached conditions: the slot of its cached result.
    pub index: usize,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoolOp {
    And,
    Or,
}

/// A request or response modification directive. Values are string-expansion templates.
#[derive(Debug, Clone)]
pub enum Modification {
    SetHeader {
        span: Span,
        value: Template,
    },
    DeleteHeader {
        span: Span,
        matcher: Matcher,
    },
    SetUrl {
        span: Span,
        value: Template,
    },
    SetPath {
        span: Span,
        value: Template,
        /// `-encode` (pound 4.19): the expanded value is percent-encoded (but `/`).
        encode: bool,
    },
    /// `DeleteQuery` (pound 4.19): the URL loses its query and the `?`.
    DeleteQuery {
        span: Span,
    },
    SetQuery {
        span: Span,
        value: Template,
    },
    /// `SetQueryParam "NAME" [-encode] "VALUE"`, or with no value (pound 4.19) the first
    /// parameter NAME is deleted.
    SetQueryParam {
        span: Span,
        name: String,
        value: Option<Template>,
        encode: bool,
    },
    Rewrite(Rewrite),
}

/// `Rewrite [request|response] ... [Else ...] End`: the first branch whose conditions hold has
/// its actions applied.
#[derive(Debug, Clone)]
pub struct Rewrite {
    pub span: Span,
    pub branches: Vec<RewriteBranch>,
}

#[derive(Debug, Clone)]
pub struct RewriteBranch {
    pub conditions: Vec<Condition>,
    pub actions: Vec<Modification>,
}

/// `LogSuppress` classes as a bit set: bit N set means status class Nxx is not logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogSuppress(pub u8);

impl LogSuppress {
    pub const NAMES: &'static [(&'static str, u8)] = &[
        ("info", 1),
        ("success", 2),
        ("redirect", 3),
        ("clterr", 4),
        ("srverr", 5),
    ];

    pub fn suppresses(self, status: u16) -> bool {
        let class = status / 100;
        (1..=5).contains(&class) && self.0 & (1 << class) != 0
    }
}
