//! Sessions (pound.8, Session): requests that carry the same key go to the same backend.
//!
//! The key comes from the request ([`Sessions::key`]): the client address, the Basic user
//! name, a query parameter, the `;parameter` of the path, a cookie or a header. A request
//! with a key is sent where its session points, or balanced and the session created. For
//! COOKIE and HEADER sessions a backend's response may also name the key (`Set-Cookie`, or
//! the header itself): that creates the session on the backend that answered, so the
//! client's next request, now carrying the key, goes back there.
//!
//! Keys are compared byte for byte, raw as they appear in the request (not percent-decoded);
//! a key longer than [`MAX_KEY`] is cut to that length.

pub mod table;

use std::borrow::Cow;

use pound_config::model::{Session as SessionCfg, SessionType};

use crate::http::head::Head;
use crate::http::request::Request;
use crate::rules::target;

pub use table::Table;

/// Longest key kept; longer keys are cut (two keys that differ only after this many bytes
/// share a session, which costs balance, never correctness).
pub const MAX_KEY: usize = 256;

pub struct Sessions {
    pub kind: SessionType,
    /// Parameter, cookie or header name (URL, COOKIE, HEADER).
    id: Box<[u8]>,
    pub table: Table,
}

impl Sessions {
    pub fn new(cfg: &SessionCfg) -> Sessions {
        Sessions {
            kind: cfg.kind,
            id: cfg.id.as_deref().unwrap_or("").as_bytes().into(),
            table: Table::new(std::time::Duration::from_secs(u64::from(cfg.ttl))),
        }
    }

    /// The session key of a request, if it has one. `client` is the client address as text.
    pub fn key<'a>(&self, req: &'a Request, client: &'a str) -> Option<Cow<'a, [u8]>> {
        let id = &self.id[..];
        let key = match self.kind {
            SessionType::Ip => Cow::Borrowed(client.as_bytes()),
            SessionType::Basic => {
                let (user, _) = crate::auth::basic_credentials(req.head.get("authorization")?)?;
                Cow::Owned(user)
            }
            SessionType::Url => {
                let query = target::split(req.target()).query?;
                Cow::Borrowed(target::param(query, id)??)
            }
            SessionType::Parm => Cow::Borrowed(path_parameter(target::split(req.target()).path)?),
            SessionType::Cookie => Cow::Borrowed(
                req.head
                    .find("cookie")
                    .find_map(|i| cookie(req.head.value(i), id))?,
            ),
            SessionType::Header => Cow::Borrowed(header(&req.head, id)?),
        };
        usable(key)
    }

    /// The key a backend's response names, for COOKIE (`Set-Cookie`) and HEADER sessions.
    pub fn response_key<'a>(&self, head: &'a Head) -> Option<Cow<'a, [u8]>> {
        let id = &self.id[..];
        let key = match self.kind {
            SessionType::Cookie => head
                .find("set-cookie")
                .find_map(|i| set_cookie(head.value(i), id))?,
            SessionType::Header => header(head, id)?,
            _ => return None,
        };
        usable(Cow::Borrowed(key))
    }
}

/// Empty keys are no session; long ones are cut to [`MAX_KEY`].
fn usable(key: Cow<'_, [u8]>) -> Option<Cow<'_, [u8]>> {
    match key {
        k if k.is_empty() => None,
        Cow::Borrowed(k) => Some(Cow::Borrowed(&k[..k.len().min(MAX_KEY)])),
        Cow::Owned(mut k) => {
            k.truncate(MAX_KEY);
            Some(Cow::Owned(k))
        }
    }
}

/// The value of the first header called `name` (any case).
fn header<'a>(head: &'a Head, name: &[u8]) -> Option<&'a [u8]> {
    let i = (0..head.fields.len()).find(|&i| head.name(i).eq_ignore_ascii_case(name))?;
    Some(head.value(i))
}

/// PARM: what follows the last `;` of the path (`/app;jsessionid=ab12` gives
/// `jsessionid=ab12`).
pub fn path_parameter(path: &[u8]) -> Option<&[u8]> {
    let semi = path.iter().rposition(|&b| b == b';')?;
    Some(&path[semi + 1..])
}

/// The value of cookie `name` in a `Cookie` field: pairs separated by `;`, the name matched
/// without regard to case (as pound does), the value raw up to the next `;` without the
/// surrounding blanks.
pub fn cookie<'a>(value: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    value.split(|&b| b == b';').find_map(|pair| {
        let pair = crate::http::trim(pair);
        let eq = pair.iter().position(|&b| b == b'=')?;
        crate::http::trim(&pair[..eq])
            .eq_ignore_ascii_case(name)
            .then(|| crate::http::trim(&pair[eq + 1..]))
    })
}

/// The value a `Set-Cookie` field gives cookie `name`: only its first pair is the cookie;
/// the rest are attributes.
pub fn set_cookie<'a>(value: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let first = value.split(|&b| b == b';').next()?;
    cookie(first, name)
}

/// How often expired sessions are swept out of every table (lookups also drop expired
/// entries from the part of the table they touch).
const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Sweeps the session tables of what `owners` gives (what `tables` finds in each) every few
/// seconds until the runtime stops. The owners are whatever holds the tables (the services
/// of the snapshot in force), which this module need not know.
pub async fn sweep<T>(owners: impl Fn() -> Vec<T>, tables: impl Fn(&T) -> Option<&Sessions>) {
    let mut tick = tokio::time::interval(SWEEP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = std::time::Instant::now();
        for o in &owners() {
            if let Some(sessions) = tables(o) {
                sessions.table.sweep(now);
            }
        }
    }
}

#[cfg(test)]
mod tests;
