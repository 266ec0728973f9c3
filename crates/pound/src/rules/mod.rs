//! Request routing and rewriting at run time (pound.8, Service Matching Directives, String
//! expansion, REQUEST MODIFICATION DIRECTIVES, RESPONSE MODIFICATION).
//!
//! The configuration's conditions and modifications are turned into [`Cond`] and [`Action`]
//! trees once, at start-up: `BasicAuth` files are opened then, and whether any template uses
//! back-references is known, so that requests of a configuration without them never pay for
//! recording regex groups.

pub mod constants;
mod eval;
pub mod target;
pub mod tbf;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use pound_config::model::{
    Acl, BoolOp, Condition, ConditionKind, Matcher, Modification, Rewrite, Template,
};

use crate::auth::Htpasswd;

pub use eval::{apply, apply_response, expand, Cx, EvalError, Matches};

/// A condition, ready to evaluate.
pub enum Cond {
    /// The client's address, or with the flag the originator behind trusted proxies, is
    /// in the list.
    Acl(Arc<Acl>, bool),
    BasicAuth(Arc<Htpasswd>),
    Header(Matcher),
    /// The value of each field of that name.
    HeaderField(String, Matcher),
    Method(Matcher),
    /// The client presented this certificate (DER).
    ClientCert(Arc<[u8]>),
    /// A token from the bucket of the expanded key.
    Tbf(Arc<tbf::Tbf>, Template),
    /// A detached condition: its slot in the per-request cache, and its conditions.
    Eval(usize, Arc<[Cond]>),
    Host(Matcher),
    Path(Matcher),
    Query(Matcher),
    QueryParam(Vec<u8>, Matcher),
    StringMatch(Template, Matcher),
    Url(Matcher),
    Not(Box<Cond>),
    All(Vec<Cond>),
    Any(Vec<Cond>),
}

/// A modification, ready to apply.
pub enum Action {
    SetHeader(Template),
    DeleteHeader(Matcher),
    SetUrl(Template),
    /// The path, percent-encoded when the flag says so (`-encode`).
    SetPath(Template, bool),
    SetQuery(Template),
    DeleteQuery,
    /// Sets (percent-encoded under `-encode`) or, without a value, deletes a parameter.
    SetQueryParam(Vec<u8>, Option<Template>, bool),
    Rewrite(Vec<Branch>),
}

/// One branch of a `Rewrite` block: `then` applies when every condition of `when` holds
/// and no earlier branch applied.
pub struct Branch {
    pub when: Vec<Cond>,
    pub then: Vec<Action>,
}

/// Builds the run-time rules, sharing one [`Htpasswd`] per file.
#[derive(Default)]
pub struct Builder {
    files: HashMap<(PathBuf, bool), Arc<Htpasswd>>,
    /// Detached conditions built so far, by index: each is built once and shared.
    detached: HashMap<usize, Arc<[Cond]>>,
    /// Whether some template refers to regex groups, so matches must be recorded.
    pub captures: bool,
    /// Whether some template needs the originator behind trusted proxies.
    pub originator: bool,
}

impl Builder {
    /// The `BasicAuth` files to keep current (all but those read with `-file`).
    pub fn watched_htpasswd(&self) -> Vec<Arc<Htpasswd>> {
        self.files
            .iter()
            .filter(|((_, watch), _)| *watch)
            .map(|(_, h)| h.clone())
            .collect()
    }
}

impl Builder {
    pub fn conds(&mut self, cs: &[Condition]) -> Vec<Cond> {
        cs.iter().map(|c| self.cond(c)).collect()
    }

    fn cond(&mut self, c: &Condition) -> Cond {
        match &c.kind {
            ConditionKind::Acl { acl, forwarded } => {
                self.originator |= *forwarded;
                Cond::Acl(acl.clone(), *forwarded)
            }
            ConditionKind::BasicAuth { path, watch } => {
                let h = self
                    .files
                    .entry((path.clone(), *watch))
                    .or_insert_with(|| Htpasswd::open(path, *watch));
                Cond::BasicAuth(h.clone())
            }
            ConditionKind::Header(m) => Cond::Header(m.clone()),
            ConditionKind::HeaderField { name, matcher } => {
                // pound tolerates colons after the name (`Header "X-Foo:" "bar"`).
                Cond::HeaderField(name.trim_end_matches(':').to_string(), matcher.clone())
            }
            ConditionKind::Method(m) => Cond::Method(m.clone()),
            ConditionKind::ClientCert { der, .. } => Cond::ClientCert(der.clone()),
            ConditionKind::Tbf {
                key,
                count,
                per,
                burst,
            } => Cond::Tbf(
                Arc::new(tbf::Tbf::new(*count, *per, u64::from(*burst))),
                self.template(key),
            ),
            ConditionKind::Eval(named) => {
                let conds = match self.detached.get(&named.index) {
                    Some(c) => c.clone(),
                    None => {
                        let c: Arc<[Cond]> = self.conds(&named.conditions).into();
                        self.detached.insert(named.index, c.clone());
                        c
                    }
                };
                Cond::Eval(named.index, conds)
            }
            ConditionKind::Host(m) => Cond::Host(m.clone()),
            ConditionKind::Path(m) => Cond::Path(m.clone()),
            ConditionKind::Query(m) => Cond::Query(m.clone()),
            ConditionKind::QueryParam { name, matcher } => {
                Cond::QueryParam(name.as_bytes().to_vec(), matcher.clone())
            }
            ConditionKind::StringMatch { template, matcher } => {
                Cond::StringMatch(self.template(template), matcher.clone())
            }
            ConditionKind::Url(m) => Cond::Url(m.clone()),
            ConditionKind::Not(inner) => Cond::Not(Box::new(self.cond(inner))),
            ConditionKind::Match { op, conditions } => {
                let cs = self.conds(conditions);
                match op {
                    BoolOp::And => Cond::All(cs),
                    BoolOp::Or => Cond::Any(cs),
                }
            }
        }
    }

    fn template(&mut self, t: &Template) -> Template {
        self.note(t);
        t.clone()
    }

    pub fn actions(&mut self, ms: &[Modification]) -> Vec<Action> {
        ms.iter()
            .map(|m| match m {
                Modification::SetHeader { value, .. } => Action::SetHeader(self.template(value)),
                Modification::DeleteHeader { matcher, .. } => Action::DeleteHeader(matcher.clone()),
                Modification::SetUrl { value, .. } => Action::SetUrl(self.template(value)),
                Modification::SetPath { value, encode, .. } => {
                    Action::SetPath(self.template(value), *encode)
                }
                Modification::DeleteQuery { .. } => Action::DeleteQuery,
                Modification::SetQuery { value, .. } => Action::SetQuery(self.template(value)),
                Modification::SetQueryParam {
                    name,
                    value,
                    encode,
                    ..
                } => Action::SetQueryParam(
                    name.as_bytes().to_vec(),
                    value.as_ref().map(|v| self.template(v)),
                    *encode,
                ),
                Modification::Rewrite(r) => Action::Rewrite(self.rewrite(r)),
            })
            .collect()
    }

    pub fn rewrite(&mut self, r: &Rewrite) -> Vec<Branch> {
        r.branches
            .iter()
            .map(|b| Branch {
                when: self.conds(&b.conditions),
                then: self.actions(&b.actions),
            })
            .collect()
    }

    /// `Rewrite response` blocks: each is a list of branches.
    pub fn responses(&mut self, rs: &[Rewrite]) -> Vec<Vec<Branch>> {
        rs.iter().map(|r| self.rewrite(r)).collect()
    }

    /// Notes a template used outside conditions and modifications (`Redirect`).
    pub fn note(&mut self, t: &Template) {
        self.captures |= t.has_refs();
        self.originator |= t.uses_originator();
    }
}
