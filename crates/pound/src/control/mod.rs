//! The control socket (pound.8, Control socket; the protocol of control-api.md): HTTP/1.1
//! over a UNIX socket, one request per connection, answered with JSON.
//!
//! Requests change the running state through atomics only (enabled flags, session tables),
//! so traffic sees a change at once and never waits for the control socket.

pub mod json;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use crate::state::{Service, State};

/// Longest request head accepted; control requests are a line and a few fields.
const MAX_HEAD: usize = 16 * 1024;
/// How long a control client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest session key accepted, as in pound.
const MAX_KEY: usize = 127;

/// Creates the socket file: a stale socket left by an earlier run is replaced, anything
/// else at the path is refused. `chown` hands the file to `User`/`Group` (`ChangeOwner`).
pub fn open(
    cfg: &pound_config::model::Control,
    chown: impl FnOnce(&std::path::Path) -> std::io::Result<()>,
) -> Result<std::os::unix::net::UnixListener, String> {
    let path = &cfg.socket;
    let fail =
        |what: &str, e: std::io::Error| format!("{}: {what} {}: {e}", cfg.span, path.display());
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(format!(
                "{}: {} exists and is not a socket",
                cfg.span,
                path.display()
            ));
        }
        std::fs::remove_file(path).map_err(|e| fail("cannot remove", e))?;
    }
    let listener =
        std::os::unix::net::UnixListener::bind(path).map_err(|e| fail("cannot bind", e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(cfg.mode))
        .map_err(|e| fail("cannot set the mode of", e))?;
    if cfg.change_owner {
        chown(path).map_err(|e| fail("cannot change the owner of", e))?;
    }
    listener
        .set_nonblocking(true)
        .map_err(|e| fail("cannot use", e))?;
    Ok(listener)
}

/// Serves control requests until pound stops.
pub async fn serve(listener: UnixListener, state: Arc<State>, path: Arc<str>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let state = state.clone();
                let path = path.clone();
                tokio::spawn(async move {
                    let _ = connection(stream, &state, &path).await;
                });
            }
            Err(e) => {
                crate::logmsg!(Warning, "control accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A control reply: status and JSON body.
type Reply = Result<Value, u16>;

async fn connection(mut stream: UnixStream, state: &State, path: &str) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let head = tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream, &mut buf)).await;
    let reply = match head {
        Ok(Ok(Some(n))) => match parse(&buf[..n]) {
            Some((method, target)) => handle(state, path, &method, &target),
            None => Err(400),
        },
        Ok(Ok(None)) => Err(400),
        Ok(Err(e)) => return Err(e),
        Err(_) => return Ok(()),
    };
    let out = match reply {
        Ok(v) => {
            let body = v.to_string();
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            )
        }
        Err(code) => {
            let reason = crate::http::status::reason(code);
            let body = format!(
                "<html><head><title>{reason}</title></head><body><h1>{reason}</h1></body></html>\n"
            );
            format!(
                "HTTP/1.1 {code} {reason}\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            )
        }
    };
    stream.write_all(out.as_bytes()).await?;
    stream.shutdown().await
}

/// Reads up to the end of the head; the length of the head, or `None` when the client
/// closed early or sent too much.
async fn read_head(stream: &mut UnixStream, buf: &mut Vec<u8>) -> std::io::Result<Option<usize>> {
    let mut chunk = [0u8; 2048];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok(Some(end + 4));
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The method and target of a request head.
fn parse(head: &[u8]) -> Option<(String, String)> {
    let mut fields = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut fields);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => Some((req.method?.to_string(), req.path?.to_string())),
        _ => None,
    }
}

/// What a request path names.
#[derive(Debug, PartialEq, Eq)]
enum Object<'a> {
    /// `/listener/L[/S[/B]]` (L `None`: the global services, written `-`).
    Listener(Option<&'a str>, Option<&'a str>, Option<&'a str>),
    /// `/session/L/S[/B]`.
    Session(&'a str, &'a str, Option<&'a str>),
}

fn handle(state: &State, control: &str, method: &str, target: &str) -> Reply {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = path.trim_end_matches('/');
    let mut parts = path.split('/').skip(1);
    let kind = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    if rest.iter().any(|p| p.is_empty()) {
        return Err(404);
    }
    let object = match (kind, rest.as_slice()) {
        ("" | "listener", []) => {
            return match method {
                "GET" => Ok(json::pound(state, control)),
                _ => Err(405),
            }
        }
        ("listener", [l, more @ ..]) if more.len() <= 2 => Object::Listener(
            Some(*l).filter(|l| *l != "-"),
            more.first().copied(),
            more.get(1).copied(),
        ),
        ("service", [s, more @ ..]) if more.len() <= 1 => {
            Object::Listener(None, Some(*s), more.first().copied())
        }
        ("session", [l, s]) => Object::Session(l, s, None),
        ("session", [l, s, b]) => Object::Session(l, s, Some(b)),
        _ => return Err(404),
    };
    match object {
        Object::Listener(l, s, b) => listener_request(state, control, method, l, s, b),
        Object::Session(l, s, b) => session_request(state, method, l, s, b, query),
    }
}

/// A listener by index (0 is the control socket, `None` here) or name.
enum Found<'a> {
    Control,
    Listener(&'a Arc<crate::state::Listener>),
}

fn find_listener<'a>(state: &'a State, id: &str) -> Result<Found<'a>, u16> {
    if let Ok(i) = id.parse::<usize>() {
        return match i {
            0 => Ok(Found::Control),
            i => state.listeners.get(i - 1).map(Found::Listener).ok_or(404),
        };
    }
    state
        .listeners
        .iter()
        .find(|l| l.named.name == id && id != "-")
        .map(Found::Listener)
        .ok_or(404)
}

fn find_service<'a>(list: &'a [Arc<Service>], id: &str) -> Result<&'a Arc<Service>, u16> {
    if let Ok(i) = id.parse::<usize>() {
        return list.get(i).ok_or(404);
    }
    list.iter().find(|s| s.named.name == id).ok_or(404)
}

/// The services a listener part names: its own, or the global ones.
fn services<'a>(state: &'a State, l: Option<&str>) -> Result<Option<&'a [Arc<Service>]>, u16> {
    match l {
        None => Ok(Some(&state.globals)),
        Some(id) => match find_listener(state, id)? {
            Found::Control => Ok(None),
            Found::Listener(l) => Ok(Some(&l.services[..l.own_services])),
        },
    }
}

fn listener_request(
    state: &State,
    control: &str,
    method: &str,
    l: Option<&str>,
    s: Option<&str>,
    b: Option<&str>,
) -> Reply {
    let enable = match method {
        "GET" => None,
        "PUT" => Some(true),
        "DELETE" => Some(false),
        _ => return Err(405),
    };
    let Some(list) = services(state, l)? else {
        // The control socket's own objects: shown, never switched off.
        let whole = json::control_listener(control);
        let v = match (s, b) {
            (None, _) => whole,
            (Some("0"), None) => whole["services"][0].clone(),
            (Some("0"), Some("0")) => whole["services"][0]["backends"][0].clone(),
            _ => return Err(404),
        };
        return match enable {
            None => Ok(v),
            Some(_) => Err(400),
        };
    };
    let Some(s) = s else {
        // A listener itself (`/listener/-` alone names nothing).
        let Some(Found::Listener(listener)) = l.map(|id| find_listener(state, id)).transpose()?
        else {
            return Err(404);
        };
        return match enable {
            None => Ok(json::listener(listener)),
            Some(on) => {
                listener.enabled.store(on, Ordering::Relaxed);
                Ok(Value::Bool(true))
            }
        };
    };
    let service = find_service(list, s)?;
    let Some(b) = b else {
        return match enable {
            None => Ok(json::service(service)),
            Some(on) => {
                service.disabled.store(!on, Ordering::Relaxed);
                Ok(Value::Bool(true))
            }
        };
    };
    let i: usize = b.parse().map_err(|_| 404u16)?;
    let flag = match &service.special {
        Some(_) => service.special_off.get(i).ok_or(404u16)?,
        None => &service.members.get(i).ok_or(404u16)?.disabled,
    };
    match enable {
        None => match &service.special {
            Some(_) => json::service(service)["backends"]
                .get(i)
                .cloned()
                .ok_or(404),
            None => Ok(json::member(&service.members[i])),
        },
        Some(on) => {
            flag.store(!on, Ordering::Relaxed);
            Ok(Value::Bool(true))
        }
    }
}

fn session_request(
    state: &State,
    method: &str,
    l: &str,
    s: &str,
    b: Option<&str>,
    query: &str,
) -> Reply {
    let list = services(state, Some(l).filter(|l| *l != "-"))?.ok_or(400u16)?;
    let service = find_service(list, s)?;
    let key = query
        .split('&')
        .find_map(|p| p.strip_prefix("key="))
        .map(|k| k.as_bytes().to_vec())
        .ok_or(400u16)?;
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(400);
    }
    let sessions = service.sessions.as_ref().ok_or(400u16)?;
    match (method, b) {
        ("DELETE", None) => {
            if !sessions.table.remove(&key) {
                return Err(404);
            }
        }
        ("PUT", Some(b)) => {
            let i: usize = b.parse().map_err(|_| 404u16)?;
            if i >= service.members.len() {
                return Err(404);
            }
            sessions.table.put(&key, i, Instant::now());
        }
        ("DELETE" | "PUT", _) => return Err(400),
        _ => return Err(405),
    }
    Ok(json::service(service))
}
