//! The objects of the control API (control-api.md), as the control server writes them and
//! `poundctl` reads them: the whole state, a listener, a service, a backend, a session.
//!
//! The server fills them in and serialises them; members it has no value for are left out,
//! except those pound shows as `null` (`name`, `sessions`, `servername`, `text`). `poundctl` reads
//! replies into the same types, leniently, the way pound's own poundctl reads them through
//! its template: a missing member, or one of an unexpected JSON type, is simply absent
//! (`None`, `false`, an empty list), so that a reply from another pound release, with
//! members added or left out, still shows what it has. Members of pound releases newer
//! than the manual page (`kind`, `weight`, matrix backends, `stats`...) are here too.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The reply to `GET /listener`: the process, its listeners and the global services.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pound {
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub kind: Option<String>,
    /// pound 4.23 keeps the process figures here; control-api.md at the top level.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub core: Option<Core>,
    #[serde(deserialize_with = "list")]
    pub listeners: Vec<Listener>,
    #[serde(deserialize_with = "list")]
    pub services: Vec<Service>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// pound 4.23's `core` object: the process figures, with the queue and the uptime.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Core {
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub queue: Option<Queue>,
    /// Microseconds since the start.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub uptime: Option<u64>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The process figures: where the top-level object and `core` both have them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Figures {
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub pid: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub queue_len: Option<u64>,
    /// Local time with microseconds: `2026-11-21T12:52:23.942828`.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub timestamp: Option<String>,
    /// The pound release whose behaviour is offered.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub version: Option<String>,
    /// pound-rs's own version, beside pound's.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub pound_rs_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub workers: Option<Workers>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Queue {
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub len: Option<u64>,
    /// The bound on connections waiting for a worker (`ConnectionQueueSize`).
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub max: Option<u64>,
}

/// The worker figures (`WorkerMinCount`, `WorkerMaxCount`, `WorkerIdleTimeout`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Workers {
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub active: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub max: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub min: Option<u64>,
    /// Seconds.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub timeout: Option<u64>,
}

impl Workers {
    /// No figure at all: shown as no workers (an empty object is false to the template).
    pub fn is_empty(&self) -> bool {
        *self == Workers::default()
    }
}

/// A listener (`/listener/L`); listener 0 is the control socket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Listener {
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub address: Option<String>,
    #[serde(deserialize_with = "flag")]
    pub enabled: bool,
    #[serde(deserialize_with = "opt")]
    pub name: Option<String>,
    /// `http` or `https`.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub protocol: Option<String>,
    #[serde(deserialize_with = "list")]
    pub services: Vec<Service>,
    /// HTTPS listeners: `NoHTTPS11`.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub nohttps11: Option<u64>,
}

/// A service (`/listener/L/S`, `/service/S`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Service {
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "opt")]
    pub name: Option<String>,
    #[serde(deserialize_with = "flag")]
    pub enabled: bool,
    /// `NONE`, `IP`, `COOKIE`...
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub session_type: Option<String>,
    /// `null` for a service without sessions.
    #[serde(deserialize_with = "opt")]
    pub sessions: Option<Vec<Session>>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub tot_pri: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub abs_pri: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub max_pri: Option<u64>,
    /// control-api.md's `Emergency` backend; pound 4.23 (and the server here) lists
    /// emergency backends among `backends` instead, so it is only read.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub emergency: Option<Box<Backend>>,
    #[serde(deserialize_with = "list")]
    pub backends: Vec<Backend>,
}

/// A session of a service: its key, the index of its backend and when it expires.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Session {
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub backend: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub expire: Option<String>,
}

/// A backend of a service (`/listener/L/S/B`): a regular one, or a special one (`redirect`,
/// `error`, `acme`, `metrics`, `control`), or in newer pound a `matrix` and the backends it
/// generates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Backend {
    /// `backend`, `matrix`, `redirect`, `error`...
    #[serde(
        rename = "type",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt"
    )]
    pub type_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub priority: Option<u64>,
    #[serde(deserialize_with = "flag")]
    pub alive: bool,
    #[serde(deserialize_with = "flag")]
    pub enabled: bool,
    /// Timeouts in seconds: `ConnTO`, `TimeOut`, `WSTimeOut`.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub conn_to: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub io_to: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub ws_to: Option<u64>,
    /// `redirect`: the status, the URL, whether the URL has a path of its own, and
    /// (newer pound) whether the request path is appended.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub code: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub has_uri: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub redir_req: Option<bool>,
    /// `error`: the status answered.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub status: Option<u64>,
    /// Newer pound: the balancing weight, the matrix a generated backend comes from, and
    /// the matrix's own members.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub weight: Option<Scalar>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub parent: Option<Scalar>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub resolve_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub family: Option<Scalar>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub expire: Option<String>,
    /// Regular backends: `ServerName`, `null` when none is set (pound 4.23).
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub servername: Option<Scalar>,
    /// `error` backends: the page given with `Error STATUS FILE`, `null` without one.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub text: Option<Scalar>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub stats: Option<Stats>,
}

/// A backend's request statistics (newer pound): times in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub request_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub request_time_avg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "opt")]
    pub request_time_stddev: Option<f64>,
}

impl Stats {
    /// No figure at all (an empty object is false to the template).
    pub fn is_empty(&self) -> bool {
        *self == Stats::default()
    }
}

/// A member whose JSON type differs between pound releases (`family` is a name in some,
/// a number in others): kept as it came, shown as the template shows it (strings bare).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Scalar(pub Value);

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Value::String(s) => f.write_str(s),
            Value::Null => Ok(()),
            other => write!(f, "{other}"),
        }
    }
}

/// A member of any JSON type: `Some` when it is a `T`, otherwise absent.
fn opt<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

/// A member of any JSON type, as a flag: the template's truth (`false`, `0`, `""`, `null`
/// and empty arrays and objects are false).
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(truthy(&Value::deserialize(d)?))
}

/// A member that should be an array of `T`: its items that are, in order; anything else is
/// an empty list.
fn list<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// The template language's truth.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read<T: DeserializeOwned + Default>(v: Value) -> T {
        serde_json::from_value(v).unwrap_or_default()
    }

    #[test]
    fn what_the_server_writes_reads_back() {
        let s = Service {
            name: Some("web".into()),
            enabled: true,
            session_type: Some("IP".into()),
            sessions: Some(vec![Session {
                key: Some("192.0.2.1".into()),
                backend: Some(0),
                expire: Some("2026-11-21T12:57:23.924073".into()),
            }]),
            tot_pri: Some(5),
            abs_pri: Some(5),
            max_pri: Some(5),
            emergency: None,
            backends: vec![Backend {
                type_: Some("backend".into()),
                address: Some("127.0.0.1:9001".into()),
                protocol: Some("http".into()),
                priority: Some(5),
                alive: true,
                enabled: true,
                conn_to: Some(15),
                ..Backend::default()
            }],
            ..Service::default()
        };
        let v = serde_json::to_value(&s).unwrap_or(Value::Null);
        // Members pound shows as null are there; others without a value are left out.
        assert_eq!(v["sessions"][0]["backend"], 0);
        assert!(v.as_object().is_some_and(|o| o.contains_key("name")));
        assert!(v.as_object().is_some_and(|o| !o.contains_key("emergency")));
        assert!(v["backends"][0].get("io_to").is_none());
        assert_eq!(v["backends"][0]["type"], "backend");
        assert_eq!(read::<Service>(v), s);
    }

    #[test]
    fn top_level_and_core_figures() {
        let p: Pound = read(json!({
            "kind": "pound",
            "core": {"kind": "core", "pid": 7, "queue": {"len": 2}, "uptime": 10,
                     "workers": {"min": 1}},
            "pid": 8, "version": "4.23", "listeners": [], "services": []
        }));
        let core = p.core.unwrap_or_default();
        assert_eq!(core.figures.pid, Some(7));
        assert_eq!(core.queue.and_then(|q| q.len), Some(2));
        assert_eq!(core.figures.workers.map(|w| w.min), Some(Some(1)));
        assert_eq!(p.figures.pid, Some(8));
        assert_eq!(p.figures.version.as_deref(), Some("4.23"));
    }

    #[test]
    fn replies_of_other_releases_read_leniently() {
        // pound 4.23's members, and members of the wrong type.
        let b: Backend = read(json!({
            "alive": 1, "enabled": "", "kind": "backend", "priority": "5", "servername": null,
            "type": "matrix", "weight": 0, "family": 0, "hostname": "h", "extra": [1]
        }));
        assert!(b.alive);
        assert!(!b.enabled);
        assert_eq!(b.priority, None);
        assert_eq!(b.weight.map(|w| w.to_string()).as_deref(), Some("0"));
        assert_eq!(b.servername, Some(Scalar(Value::Null)));
        assert_eq!(b.type_.as_deref(), Some("matrix"));
        let s: Service = read(json!({"backends": 3, "sessions": "x", "name": ""}));
        assert!(s.backends.is_empty());
        assert_eq!(s.sessions, None);
        assert_eq!(s.name.as_deref(), Some(""));
        let l: Listener = read(json!({"services": [1, {"name": "a"}, null]}));
        assert_eq!(l.services.len(), 1);
        let w: Pound = read(json!({"workers": {}, "listeners": {"a": 1}}));
        assert!(w.figures.workers.is_some_and(|w| w.is_empty()));
        assert!(w.listeners.is_empty());
    }
}
