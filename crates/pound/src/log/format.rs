//! Request log formats (pound.8, REQUEST LOGGING): compiled once, rendered per request.

use std::fmt::Write;
use std::time::{Duration, SystemTime};

use crate::http::request::Request;

/// The built-in formats by `LogLevel` number (0, `null`, logs nothing), as pound 4.18
/// and later define them.
pub const BUILTIN: [&str; 6] = [
    "",
    "%a %r - %>s",
    "%a %r - %>s (%{Host}i/%{service}N -> %{backend}N) %{f}T sec",
    "%v:%p %a %l %u %t \"%r\" %s %b \"%{Referer}i\" \"%{User-Agent}i\"",
    "%a %l %u %t \"%r\" %s %b \"%{Referer}i\" \"%{User-Agent}i\"",
    "%v:%p %a %l %u %t \"%r\" %s %b \"%{Referer}i\" \"%{User-Agent}i\" (%{service}N -> %{backend}N) %{f}T sec",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    Listener,
    Service,
    Backend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Sec,
    Msec,
    Usec,
    Fractional,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Text(String),
    Origin,
    LocalAddr,
    Bytes {
        clf: bool,
    },
    Micros,
    Client,
    Protocol,
    Header {
        name: String,
        dash: bool,
    },
    Location(Object),
    Method,
    Name(Object),
    Thread,
    Query,
    RequestLine,
    Status,
    ResponseLine,
    Time {
        format: Option<String>,
        end: bool,
    },
    Elapsed(Unit),
    User,
    Path,
    /// `%v`: the host of `Host`, without port (else the listener address).
    VirtualHost,
    /// `%p`: the port of the listener.
    ListenerPort,
}

/// A compiled log format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    items: Vec<Item>,
}

/// A named object of the configuration as a log line shows it.
#[derive(Debug, Clone)]
pub struct Named {
    /// `%{obj}N`: the name, `-` when unnamed (the address for a backend).
    pub name: String,
    /// `%{obj}L`: where it is defined.
    pub location: String,
}

/// What one request log line is made of.
pub struct Entry<'a> {
    pub client: &'a str,
    pub origin: &'a str,
    pub local: &'a str,
    /// The listener's port (`%p`), empty for a UNIX socket.
    pub port: &'a str,
    pub request: Option<&'a Request>,
    /// Without a parsed request (one refused while its head was read): the request line as
    /// it came, which `%r` shows, as pound does; empty when there was none.
    pub raw_line: &'a str,
    /// The request came over HTTP/2: `%r` shows `HTTP/2.0`.
    pub http2: bool,
    /// The client connection is TLS: `%H`, the request protocol, is `https` (else `http`).
    pub https: bool,
    pub status: u16,
    pub response_line: &'a str,
    pub bytes: u64,
    pub start: SystemTime,
    pub end: SystemTime,
    pub elapsed: Duration,
    pub listener: &'a Named,
    pub service: Option<&'a Named>,
    pub backend: Option<&'a Named>,
}

impl Format {
    /// Compiles a format string; the error names the offending specification.
    pub fn compile(spec: &str) -> Result<Format, String> {
        let mut items = Vec::new();
        let mut text = String::new();
        let mut chars = spec.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                text.push(c);
                continue;
            }
            let mut arg = None;
            if chars.peek() == Some(&'{') {
                chars.next();
                let mut a = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => a.push(c),
                        None => return Err("unterminated %{ in log format".into()),
                    }
                }
                arg = Some(a);
            }
            let conv = chars.next().ok_or("log format ends with %")?;
            let item = match (conv, arg.as_deref()) {
                ('%', None) => {
                    text.push('%');
                    continue;
                }
                ('>', None) => match chars.next() {
                    Some('s') => Item::ResponseLine,
                    _ => return Err("unknown conversion %> in log format".into()),
                },
                ('a', None) => Item::Origin,
                ('A', None) => Item::LocalAddr,
                ('B', None) => Item::Bytes { clf: false },
                ('b', None) => Item::Bytes { clf: true },
                ('D', None) => Item::Micros,
                ('h', None) => Item::Client,
                ('H', None) => Item::Protocol,
                ('i' | 'I', Some(name)) => Item::Header {
                    name: name.to_string(),
                    dash: conv == 'I',
                },
                ('L' | 'N', Some(obj)) => {
                    let o = match obj {
                        "listener" => Object::Listener,
                        "service" => Object::Service,
                        "backend" => Object::Backend,
                        _ => return Err(format!("unknown object name %{{{obj}}}{conv}")),
                    };
                    if conv == 'L' {
                        Item::Location(o)
                    } else {
                        Item::Name(o)
                    }
                }
                ('m', None) => Item::Method,
                ('P', None) => Item::Thread,
                ('q', None) => Item::Query,
                ('r', None) => Item::RequestLine,
                ('s', None) => Item::Status,
                ('t', a) => {
                    let (end, format) = match a {
                        None => (false, None),
                        Some(a) => match a.split_once(':') {
                            Some(("begin", f)) => (false, Some(f.to_string())),
                            Some(("end", f)) => (true, Some(f.to_string())),
                            _ => (false, Some(a.to_string())),
                        },
                    };
                    Item::Time { format, end }
                }
                ('T', a) => Item::Elapsed(match a {
                    None | Some("s") => Unit::Sec,
                    Some("ms") => Unit::Msec,
                    Some("us") => Unit::Usec,
                    Some("f") => Unit::Fractional,
                    Some(u) => return Err(format!("unknown time unit %{{{u}}}T")),
                }),
                ('u', None) => Item::User,
                ('U', None) => Item::Path,
                ('v', None) => Item::VirtualHost,
                ('p', None) => Item::ListenerPort,
                // `%l`: reserved by pound ("remote logname" in Apache), always `-`.
                ('l', None) => Item::Text("-".into()),
                (c, Some(a)) => return Err(format!("unknown conversion %{{{a}}}{c}")),
                (c, None) => return Err(format!("unknown conversion %{c}")),
            };
            if !text.is_empty() {
                items.push(Item::Text(std::mem::take(&mut text)));
            }
            items.push(item);
        }
        if !text.is_empty() {
            items.push(Item::Text(text));
        }
        Ok(Format { items })
    }

    /// Whether the format produces no line at all (`LogLevel 0`).
    pub fn is_null(&self) -> bool {
        self.items.is_empty()
    }

    /// Appends the line for `e` to `out`.
    pub fn render(&self, e: &Entry<'_>, out: &mut String) {
        for item in &self.items {
            render_item(item, e, out);
        }
    }
}

fn lossy(out: &mut String, b: &[u8]) {
    out.push_str(&String::from_utf8_lossy(b));
}

fn render_item(item: &Item, e: &Entry<'_>, out: &mut String) {
    let req = e.request;
    match item {
        Item::Text(t) => out.push_str(t),
        Item::Origin => out.push_str(e.origin),
        Item::Client => out.push_str(e.client),
        Item::LocalAddr => out.push_str(e.local),
        Item::Bytes { clf } => {
            if *clf && e.bytes == 0 {
                out.push('-');
            } else {
                let _ = write!(out, "{}", e.bytes);
            }
        }
        Item::Micros => {
            let _ = write!(out, "{}", e.elapsed.as_micros());
        }
        Item::Protocol => out.push_str(if e.https { "https" } else { "http" }),
        Item::Header { name, dash } => match req.and_then(|r| r.head.get(name)) {
            Some(v) => lossy(out, v),
            None if *dash => out.push('-'),
            None => {}
        },
        Item::Location(o) | Item::Name(o) => {
            let named = match o {
                Object::Listener => Some(e.listener),
                Object::Service => e.service,
                Object::Backend => e.backend,
            };
            match named {
                Some(n) if matches!(item, Item::Name(_)) => out.push_str(&n.name),
                Some(n) => out.push_str(&n.location),
                None => out.push('-'),
            }
        }
        Item::Method => match req {
            Some(r) => lossy(out, r.method()),
            None => out.push('-'),
        },
        Item::Thread => {
            // SAFETY: gettid has no preconditions.
            let tid = unsafe { libc::syscall(libc::SYS_gettid) };
            let _ = write!(out, "{tid}");
        }
        Item::Query => {
            if let Some(q) = req.and_then(|r| query(r.target())) {
                out.push('?');
                lossy(out, q);
            }
        }
        Item::RequestLine => match req {
            Some(r) if e.http2 => {
                lossy(out, r.method());
                out.push(' ');
                lossy(out, r.target());
                out.push_str(" HTTP/2.0");
            }
            Some(r) => lossy(out, r.line()),
            None => out.push_str(e.raw_line),
        },
        Item::Status => {
            let _ = write!(out, "{:3}", e.status);
        }
        Item::ResponseLine => out.push_str(e.response_line),
        Item::Time { format, end } => {
            let t = if *end { e.end } else { e.start };
            match format.as_deref() {
                None => super::time::clf(t, out),
                Some(f) => time_format(t, f, out),
            }
        }
        Item::Elapsed(unit) => {
            let d = e.elapsed;
            let _ = match unit {
                Unit::Sec => write!(out, "{}", d.as_secs()),
                Unit::Msec => write!(out, "{}", d.as_millis()),
                Unit::Usec => write!(out, "{}", d.as_micros()),
                Unit::Fractional => write!(out, "{}.{:03}", d.as_secs(), d.subsec_millis()),
            };
        }
        Item::User => match req.and_then(basic_user) {
            Some(u) => out.push_str(&u),
            None => out.push('-'),
        },
        Item::Path => match req {
            Some(r) => {
                let t = r.target();
                let end = t.iter().position(|&b| b == b'?').unwrap_or(t.len());
                lossy(out, &t[..end]);
            }
            None => out.push('-'),
        },
        Item::VirtualHost => match req.and_then(|r| r.head.get("host")) {
            Some(h) => lossy(out, crate::rules::target::host_port(h).0),
            None => out.push_str(e.local),
        },
        Item::ListenerPort => out.push_str(e.port),
    }
}

/// `%{fmt}t`: strftime(3) plus the manual's `sec msec usec msec_frac usec_frac`.
fn time_format(t: SystemTime, f: &str, out: &mut String) {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let _ = match f {
        "sec" => write!(out, "{}", d.as_secs()),
        "msec" => write!(out, "{}", d.as_millis()),
        "usec" => write!(out, "{}", d.as_micros()),
        "msec_frac" => write!(out, "{:03}", d.subsec_millis()),
        "usec_frac" => write!(out, "{:06}", d.subsec_micros()),
        _ => {
            super::time::strftime(t, f, out);
            Ok(())
        }
    };
}

/// The query of a request target, without the `?`.
fn query(target: &[u8]) -> Option<&[u8]> {
    let q = target.iter().position(|&b| b == b'?')?;
    Some(&target[q + 1..])
}

/// The user name of `Authorization: Basic` credentials, verified or not (as pound logs it).
fn basic_user(r: &Request) -> Option<String> {
    let (user, _) = crate::auth::basic_credentials(r.head.get("authorization")?)?;
    Some(String::from_utf8_lossy(&user).into_owned())
}

#[cfg(test)]
mod tests;
