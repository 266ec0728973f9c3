//! The control socket (pound.8, Control socket; the protocol of control-api.md): HTTP/1.1
//! over a UNIX socket, one request per connection, answered with JSON.
//!
//! Requests change the running state through atomics only (enabled flags, session tables),
//! so traffic sees a change at once and never waits for the control socket.

pub mod json;

use std::io::Write;
use std::os::unix::fs::FileTypeExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use pound_control::Object;

use crate::running::Running;
use crate::state::{Service, State};

/// Longest request head accepted; control requests are a line and a few fields.
const MAX_HEAD: usize = 16 * 1024;
/// How long a control client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Control connections served at once; more wait to be accepted.
const MAX_CLIENTS: usize = 16;
/// How long a control client may take to read its reply.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// The control socket once created.
pub struct Socket {
    pub listener: std::os::unix::net::UnixListener,
    /// The path as written in the configuration (listener 0's address).
    pub path: String,
    /// Device and inode of the socket file, so that only this file is removed at exit.
    id: (u64, u64),
}

impl Socket {
    /// Removes the socket file if it is still the one created at start (not a file of the
    /// same name inside a `RootJail`, nor a newer pound's socket).
    pub fn remove_file(path: &str, id: (u64, u64)) {
        use std::os::unix::fs::MetadataExt;
        if let Ok(m) = std::fs::symlink_metadata(path) {
            if (m.dev(), m.ino()) == id && m.file_type().is_socket() {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    pub fn id(&self) -> (u64, u64) {
        self.id
    }
}

/// Creates the socket file: a stale socket left by an earlier run is replaced, anything
/// else at the path is refused. The file is created with its `Mode` (through the umask, so
/// it is never more open, not even for a moment), and `chown` hands it to `User`/`Group`
/// (`ChangeOwner`) without following symbolic links. Must run while the process has one
/// thread (the umask is process-wide).
pub fn open(
    cfg: &pound_config::model::Control,
    chown: impl FnOnce(&std::path::Path) -> std::io::Result<()>,
) -> Result<Socket, String> {
    use std::os::unix::fs::MetadataExt;
    let path = &cfg.socket;
    let fail =
        |what: &str, e: std::io::Error| format!("{}: {what} {}: {e}", cfg.span, path.display());
    let not_socket = || {
        format!(
            "{}: {} exists and is not a socket",
            cfg.span,
            path.display()
        )
    };
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(not_socket());
        }
        std::fs::remove_file(path).map_err(|e| fail("cannot remove", e))?;
    }
    // SAFETY: umask has no preconditions; the previous mask is restored at once.
    let old = unsafe { libc::umask(!(cfg.mode as libc::mode_t) & 0o777) };
    let bound = std::os::unix::net::UnixListener::bind(path);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let listener = bound.map_err(|e| fail("cannot bind", e))?;
    if cfg.change_owner {
        chown(path).map_err(|e| fail("cannot change the owner of", e))?;
    }
    let meta = std::fs::symlink_metadata(path).map_err(|e| fail("cannot use", e))?;
    if !meta.file_type().is_socket() {
        return Err(not_socket());
    }
    listener
        .set_nonblocking(true)
        .map_err(|e| fail("cannot use", e))?;
    Ok(Socket {
        listener,
        path: path.display().to_string(),
        id: (meta.dev(), meta.ino()),
    })
}

/// The running state and the control socket's path, for `Control` services.
static SERVED: std::sync::OnceLock<(Arc<Running>, Option<Arc<str>>)> = std::sync::OnceLock::new();

/// Makes the control interface available to `Control` services (pound 4.14).
pub fn publish(running: Arc<Running>, socket: Option<Arc<str>>) {
    let _ = SERVED.set((running, socket));
}

/// A control request made through a `Control` service: the status and, for 200, the JSON.
/// Built off the runtime's threads, as listings can be large.
pub async fn answer(method: String, target: String) -> Result<String, u16> {
    let Some((running, socket)) = SERVED.get() else {
        return Err(503);
    };
    let state = running.load();
    let socket = socket.clone();
    tokio::task::spawn_blocking(move || reply_text(&state, socket.as_deref(), &method, &target))
        .await
        .unwrap_or(Err(500))
}

/// Serves control requests until pound stops.
pub async fn serve(listener: UnixListener, running: Arc<Running>, path: Arc<str>) {
    let clients = Arc::new(tokio::sync::Semaphore::new(MAX_CLIENTS));
    loop {
        let Ok(permit) = clients.clone().acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, _)) => {
                // Each request works on the snapshot in force when it arrived.
                let state = running.load();
                let path = path.clone();
                tokio::spawn(async move {
                    let _ = connection(stream, state, path).await;
                    drop(permit);
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

async fn connection(
    mut stream: UnixStream,
    state: Arc<State>,
    path: Arc<str>,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let start = std::time::SystemTime::now();
    let t0 = Instant::now();
    let head = tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream, &mut buf)).await;
    let n = match head {
        Ok(Ok(Some(n))) => Some(n),
        Ok(Ok(None)) => None,
        Ok(Err(e)) => return Err(e),
        Err(_) => return Ok(()),
    };
    let reply = match n.and_then(|n| parse(&buf[..n])) {
        // A listing copies session tables and can be megabytes of JSON: it is built off the
        // runtime's threads, which keep serving traffic meanwhile.
        Some((method, target)) => {
            let state = state.clone();
            tokio::task::spawn_blocking(move || reply_text(&state, Some(&path), &method, &target))
                .await
                .unwrap_or(Err(500))
        }
        None => Err(400),
    };
    let mut out = Vec::new();
    // As pound answers: JSON, or its error page; and `%>s` as pound logs each.
    let (status, line, bytes) = match &reply {
        Ok(body) => {
            let _ = write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
            (200, "200 OK".to_string(), body.len())
        }
        Err(code) => {
            let len = crate::reply::error(&mut out, crate::http::Version::Http11, *code, None);
            let reason = crate::http::status::reason(*code);
            (*code, format!("HTTP/1.1 {code} {reason}"), len)
        }
    };
    let write = async {
        stream.write_all(&out).await?;
        stream.shutdown().await
    };
    let written = tokio::time::timeout(WRITE_TIMEOUT, write)
        .await
        .unwrap_or(Ok(()));
    log_request(
        &state,
        &buf[..n.unwrap_or(0)],
        status,
        &line,
        bytes,
        start,
        t0,
    );
    written
}

/// Logs a control request with the global `LogLevel`, as pound logs it: the client is
/// `socket`, and `%>s` what [`connection`] sent.
fn log_request(
    state: &State,
    head: &[u8],
    status: u16,
    response_line: &str,
    bytes: usize,
    start: std::time::SystemTime,
    t0: Instant,
) {
    use crate::log::format::{Entry, Named};
    let format = state.log_levels.global().format.clone();
    if format.is_null() {
        return;
    }
    let mut req = crate::http::request::Request::default();
    let limits = crate::http::request::Limits {
        xhttp: 3,
        ..Default::default()
    };
    let parsed = matches!(
        crate::http::request::parse(head, &limits, &mut req),
        Ok(Some(_))
    );
    let raw = String::from_utf8_lossy(
        head.split(|&b| b == b'\r' || b == b'\n')
            .next()
            .unwrap_or(&[]),
    )
    .into_owned();
    let listener = Named {
        name: "-".into(),
        location: String::new(),
    };
    let entry = Entry {
        client: "socket",
        origin: "socket",
        local: "socket",
        port: "",
        request: parsed.then_some(&req),
        raw_line: &raw,
        http2: false,
        https: false,
        status,
        response_line,
        bytes: bytes as u64,
        start,
        end: std::time::SystemTime::now(),
        elapsed: t0.elapsed(),
        listener: &listener,
        service: None,
        backend: None,
    };
    let mut line = String::with_capacity(128);
    format.render(&entry, &mut line);
    crate::log::log(crate::log::Priority::Info, line);
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

/// The JSON text answering a control request, laid out as `?indent=N` asks (pound 4.23).
fn reply_text(
    state: &State,
    control: Option<&str>,
    method: &str,
    target: &str,
) -> Result<String, u16> {
    let indent = pound_control::indent(target).ok_or(400u16)?;
    handle(state, control, method, target).map(|v| pound_control::json::format(&v, indent))
}

/// Answers a control request: on the control socket (`control` is its path, listener 0),
/// or through a `Control` service (pound 4.14), with or without a control socket.
pub fn handle(state: &State, control: Option<&str>, method: &str, target: &str) -> Reply {
    match Object::parse(target).ok_or(404u16)? {
        Object::Core => match method {
            "GET" => Ok(json::value(&json::pound(state, control).core)),
            _ => Err(405),
        },
        Object::Log { listener, level } => {
            log_level_request(state, control.is_some(), method, listener.as_deref(), level)
        }
        Object::Pound => match method {
            "GET" => Ok(json::value(&json::pound(state, control))),
            _ => Err(405),
        },
        Object::Listener {
            listener,
            service,
            backend,
        } => listener_request(
            state,
            control,
            method,
            listener.as_deref(),
            service.as_deref(),
            backend.as_deref(),
        ),
        Object::Session {
            listener,
            service,
            backend,
            key,
        } => session_request(
            state,
            control.is_some(),
            method,
            listener.as_deref(),
            &service,
            backend.as_deref(),
            key,
        ),
    }
}

/// `/log[/L]` (pound 4.23): `GET` tells the server's level and listener L's own, `PUT`
/// with `?level=` sets it, `DELETE` clears L's (it then follows the server's) or sets the
/// server's to `null`. Answers the object pound answers.
fn log_level_request(
    state: &State,
    control: bool,
    method: &str,
    listener: Option<&str>,
    level: Option<String>,
) -> Reply {
    let levels = &state.log_levels;
    let listener = match listener {
        None => None,
        Some(id) => match find_listener(state, control, id)? {
            Found::Control => return Err(404),
            Found::Listener(l) => Some((id, l)),
        },
    };
    let choice = match (method, &level) {
        ("GET", _) => None,
        ("PUT", Some(name)) => Some(levels.find(name).ok_or(400u16)?),
        ("PUT", None) => return Err(400),
        ("DELETE", _) => None,
        _ => return Err(405),
    };
    match (&listener, method) {
        (Some((_, l)), "PUT") => l.log.set(choice),
        (Some((_, l)), "DELETE") => l.log.set(None),
        (None, "PUT") => levels.set_global(choice.unwrap_or_else(|| levels.none())),
        (None, "DELETE") => levels.set_global(levels.none()),
        _ => {}
    }
    let global = levels.global().name.clone();
    let mut v = serde_json::Map::new();
    v.insert("global".into(), Value::String(global.clone()));
    v.insert("kind".into(), Value::String("log".into()));
    match listener {
        None => {
            v.insert("level".into(), Value::String(global));
        }
        Some((id, l)) => {
            v.insert(
                "level".into(),
                l.log
                    .own()
                    .map_or(Value::Null, |c| Value::String(c.name.clone())),
            );
            let index = id
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or(Value::String(id.into()));
            v.insert("listener_index".into(), index);
        }
    }
    Ok(Value::Object(v))
}

/// A listener by index (0 is the control socket, `None` here) or name.
enum Found<'a> {
    Control,
    Listener(&'a Arc<crate::state::Listener>),
}

fn find_listener<'a>(state: &'a State, control: bool, id: &str) -> Result<Found<'a>, u16> {
    if let Ok(i) = id.parse::<usize>() {
        return match (i, control) {
            (0, true) => Ok(Found::Control),
            (i, true) => state.listeners.get(i - 1).map(Found::Listener).ok_or(404),
            (i, false) => state.listeners.get(i).map(Found::Listener).ok_or(404),
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
fn services<'a>(
    state: &'a State,
    control: bool,
    l: Option<&str>,
) -> Result<Option<&'a [Arc<Service>]>, u16> {
    match l {
        None => Ok(Some(&state.globals)),
        Some(id) => match find_listener(state, control, id)? {
            Found::Control => Ok(None),
            Found::Listener(l) => Ok(Some(&l.services[..l.own_services])),
        },
    }
}

fn listener_request(
    state: &State,
    control: Option<&str>,
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
    let Some(list) = services(state, control.is_some(), l)? else {
        // The control socket's own objects: shown, never switched off.
        let whole = json::value(&json::control_listener(control.unwrap_or_default()));
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
        let Some(Found::Listener(listener)) = l
            .map(|id| find_listener(state, control.is_some(), id))
            .transpose()?
        else {
            return Err(404);
        };
        return match enable {
            None => Ok(json::value(&json::listener(listener))),
            // What serves the control interface cannot be switched off through it, as in
            // pound 4.23: a listener with a `Control` service, that service, its backend.
            Some(_)
                if listener.services[..listener.own_services]
                    .iter()
                    .any(|s| is_control(s)) =>
            {
                Err(400)
            }
            Some(on) => {
                listener.enabled.store(on, Ordering::Relaxed);
                Ok(Value::Bool(true))
            }
        };
    };
    let service = find_service(list, s)?;
    if enable.is_some() && is_control(service) {
        return Err(400);
    }
    let Some(b) = b else {
        return match enable {
            None => Ok(json::value(&json::service(service))),
            Some(on) => {
                service.disabled.store(!on, Ordering::Relaxed);
                Ok(Value::Bool(true))
            }
        };
    };
    let i: usize = b.parse().map_err(|_| 404u16)?;
    let member = match &service.special {
        Some(_) => None,
        None => Some(service.member_at(i).ok_or(404u16)?),
    };
    let flag = match &member {
        Some(m) => &m.disabled,
        None => service.special_off.get(i).ok_or(404u16)?,
    };
    match enable {
        None => match &service.special {
            Some(_) => json::service(service)
                .backends
                .get(i)
                .map(json::value)
                .ok_or(404),
            None => json::member_at(service, i)
                .map(|b| json::value(&b))
                .ok_or(404),
        },
        Some(on) => {
            flag.store(!on, Ordering::Relaxed);
            // A matrix empties when disabled and looks its name up again when enabled.
            if let Some(crate::state::Role::Matrix(m)) = member.as_ref().map(|m| &m.role) {
                m.wake.notify_one();
            }
            Ok(Value::Bool(true))
        }
    }
}

/// A service that answers with the control interface (`Control` as a service directive).
fn is_control(s: &crate::state::Service) -> bool {
    matches!(s.special, Some(crate::state::Special::Control))
}

fn session_request(
    state: &State,
    control: bool,
    method: &str,
    l: Option<&str>,
    s: &str,
    b: Option<&str>,
    key: Option<Vec<u8>>,
) -> Reply {
    let list = services(state, control, l)?.ok_or(400u16)?;
    let service = find_service(list, s)?;
    let key = key.ok_or(400u16)?;
    if key.is_empty() {
        return Err(400);
    }
    // Requests cut longer keys to this length, so the same cut finds their sessions.
    let key = &key[..key.len().min(crate::session::MAX_KEY)];
    // As pound 4.23: deleting a key that is not there, or working on a service without
    // sessions, changes nothing and answers with the service; only a backend that does not
    // exist is an error.
    let sessions = service.sessions.as_ref();
    match (method, b) {
        ("DELETE", None) => {
            if let Some(sessions) = sessions {
                sessions.table.remove(key);
            }
        }
        ("PUT", Some(b)) => {
            let i: usize = b.parse().map_err(|_| 404u16)?;
            if service.member_at(i).is_none() {
                return Err(404);
            }
            if let Some(sessions) = sessions {
                sessions.table.put(key, i, Instant::now());
            }
        }
        ("DELETE" | "PUT", _) => return Err(400),
        _ => return Err(405),
    }
    Ok(json::value(&json::service(service)))
}
